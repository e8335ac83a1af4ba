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
def test_spectra_of_a_gpu_stack_match_the_cpus_wherever_they_run():
    from muonscope.engine.metrics import singular_values, spectra_placement

    for size in (64, 1024):
        stack = torch.randn(3, size, size, dtype=torch.float32, generator=torch.Generator().manual_seed(size))
        on_gpu = stack.cuda()
        assert spectra_placement(on_gpu).type in ("cpu", "cuda")
        values = singular_values(on_gpu)
        reference = torch.linalg.svdvals(stack.double()).numpy()
        assert values == pytest.approx(reference, rel=1e-10, abs=1e-12 * reference.max())


@pytest.mark.gpu
def test_batched_lanes_on_the_gpu_match_the_cpu_in_float32():
    from muonscope.engine.presets import load_preset

    base = load_preset("default").config.with_values([("run.eval_every", 5), ("run.spectra_every", 5)])
    runs = {}
    for device in ("cpu", "cuda"):
        exp = Experiment(base.with_values([("run.device", device), ("run.dtype", "float32")]))
        exp.step(10)
        runs[device] = exp
    assert torch.allclose(runs["cpu"].weights, runs["cuda"].weights.cpu(), rtol=1e-3, atol=1e-4)
    for a, b in zip(runs["cpu"].snapshot().lanes, runs["cuda"].snapshot().lanes, strict=True):
        assert abs(a.recovered - b.recovered) <= max(2, a.recovered // 50)


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
