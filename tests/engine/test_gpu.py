"""The same experiment on CUDA and on the CPU (skipped where there is no GPU)."""

import pytest
import torch

from muonscope.engine import Experiment, ExperimentConfig, LaneConfig, RunConfig, TaskConfig


@pytest.mark.gpu
def test_cuda_run_matches_cpu_run_in_float64():
    lanes = (
        LaneConfig(optimizer="sgd", lr=20.0, momentum=0.9, buffer="sum"),
        LaneConfig(optimizer="adam", lr=0.05),
        LaneConfig(optimizer="muon", lr=0.3, polar="exact"),
        LaneConfig(optimizer="muon", lr=0.3, polar="ns", order="post"),
    )
    task = TaskConfig(d=32, n_items=256, batch_size=64, label_noise=0.1)
    runs = {}
    for device in ("cpu", "cuda"):
        cfg = ExperimentConfig(
            task=task, lanes=lanes, run=RunConfig(device=device, dtype="float64", eval_every=5)
        )
        exp = Experiment(cfg)
        exp.step(10)
        runs[device] = (exp.weights.cpu(), exp.snapshot())
    assert torch.allclose(runs["cpu"][0], runs["cuda"][0], rtol=1e-8, atol=1e-10)
    for a, b in zip(runs["cpu"][1].lanes, runs["cuda"][1].lanes, strict=True):
        assert a.recovered == b.recovered
        assert a.loss == pytest.approx(b.loss, rel=1e-8)
    assert runs["cuda"][1].device.startswith("cuda")
