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


@pytest.mark.gpu
def test_a_sampled_evaluation_on_cuda_matches_the_cpu_one():
    """The sample is drawn on the host; the evaluated items and their one transfer back agree."""
    task = TaskConfig(d=32, n_items=3000, batch_size=64, label_noise=0.1)
    snapshots = {}
    for device in ("cpu", "cuda"):
        run = RunConfig(device=device, dtype="float64", eval_every=5, exact_eval_items=256)
        exp = Experiment(ExperimentConfig(task=task, lanes=(LaneConfig(optimizer="muon", lr=0.3),), run=run))
        exp.step(5)
        snapshots[device] = exp.snapshot().lanes[0]
    cpu, cuda = snapshots["cpu"], snapshots["cuda"]
    assert cuda.eval_sampled_items == cpu.eval_sampled_items == 256
    assert cuda.recovered == cpu.recovered and cuda.recovered_se == pytest.approx(cpu.recovered_se, rel=1e-8)
    assert cuda.loss == pytest.approx(cpu.loss, rel=1e-8) and cuda.loss_se == pytest.approx(
        cpu.loss_se, rel=1e-6
    )
