"""float32, the CUDA default, stores what float64 stores (SCIENCE.md §3, §11.9)."""

import dataclasses

import pytest

from muonscope.engine import Experiment, LaneConfig
from muonscope.engine.reproduce.capacity import one_step_config

#: Every polar map the engine offers, without momentum: one step from W = 0.
POLAR_LANES = (
    LaneConfig(optimizer="muon", lr=1.0, momentum=0.0, order="none", polar="exact", label="exact"),
    LaneConfig(optimizer="muon", lr=1.0, momentum=0.0, order="none", polar="ns", ns_steps=5, label="NS5"),
    LaneConfig(optimizer="muon", lr=1.0, momentum=0.0, order="none", polar="ns", ns_steps=10, label="NS10"),
    LaneConfig(optimizer="muon", lr=1.0, momentum=0.0, order="none", polar="reg", lam=1e-6, label="reg"),
)


def _one_step_recovered(dtype: str, d: int, alpha: float) -> dict[str, int]:
    config = one_step_config(d, 8192, alpha, 0, POLAR_LANES)
    config = dataclasses.replace(config, run=dataclasses.replace(config.run, device="cpu", dtype=dtype))
    experiment = Experiment(config)
    experiment.step(1)
    experiment.evaluate(with_signal=False)
    return {lane.label: lane.recovered for lane in experiment.snapshot().lanes}


@pytest.mark.parametrize(("d", "alpha"), [(128, 2.0), (64, 1.5)])
def test_one_step_capacity_in_float32_matches_float64_for_every_polar_map(d, alpha):
    """The population gradient's tail reaches below n·eps·σ₁ in float32; those directions count."""
    reference = _one_step_recovered("float64", d, alpha)
    single = _one_step_recovered("float32", d, alpha)
    for label, count in reference.items():
        assert abs(single[label] - count) <= max(1, count // 100), (label, single[label], count)


def test_newtons_first_step_in_float32_matches_float64_where_the_hessian_is_rank_deficient():
    """With N < d, C_u has round-off eigenvalues near 1.5·eps, which float32 passed at the pseudo-
    inverse's 1e-10 and inverted: Newton's first step came out 10⁹ times too long."""
    import torch

    from muonscope.engine.balance import first_step_direction
    from muonscope.engine.presets import load_preset
    from muonscope.engine.tasks.memory_task import MemoryTask

    task_config = dataclasses.replace(load_preset("default").config.task, d=128, n_items=64)
    newton = LaneConfig(optimizer="newton", lr=1.0, momentum=0.0, order="none")
    directions = [
        first_step_direction(MemoryTask(task_config, torch.device("cpu"), dtype), newton).double()
        for dtype in (torch.float64, torch.float32)
    ]
    exact, single = directions
    assert float((single - exact).norm() / exact.norm()) < 1e-3


#: An SGD lane with a sum buffer and an Adam lane, as the default preset has them.
SGD_AND_ADAM = (
    LaneConfig(optimizer="sgd", lr=128.0, momentum=0.9, buffer="sum"),
    LaneConfig(optimizer="adam", lr=0.1, momentum=0.9),
)


def _default_lanes_in_each_dtype(steps: int, **task) -> list[tuple]:
    """The snapshot lanes, in float64 then float32, of SGD_AND_ADAM on the default preset with
    ``task``'s fields after ``steps`` steps."""
    from muonscope.engine.presets import load_preset

    lanes = []
    for dtype in ("float64", "float32"):
        config = load_preset("default").config.with_values([(f"task.{k}", v) for k, v in task.items()])
        run = dataclasses.replace(config.run, device="cpu", dtype=dtype)  # spectra every step
        experiment = Experiment(dataclasses.replace(config, lanes=SGD_AND_ADAM, run=run))
        experiment.step(steps)
        lanes.append(experiment.snapshot().lanes)
    return lanes


def test_spectral_summaries_in_float32_match_float64_where_the_gradient_is_rank_deficient():
    """A minibatch of fewer items than d leaves G's other singular values at round-off, which in
    float32 passed the ratio gap's and the isotropy's fixed floors: the ratio gap read 10⁵ at the
    batch's rank and W's entropy counted round-off directions."""
    in64, in32 = _default_lanes_in_each_dtype(3, d=96, batch_size=24)
    for lane64, lane32 in zip(in64, in32, strict=True):
        assert lane32.ratio_gap_rank == lane64.ratio_gap_rank
        assert lane32.ratio_gap == pytest.approx(lane64.ratio_gap, rel=1e-3)
        assert lane32.weight_isotropy.entropy == pytest.approx(lane64.weight_isotropy.entropy, rel=1e-3)


def test_the_filtering_ratio_takes_its_median_over_the_same_directions_in_float32_and_float64():
    """Each dtype left out σ_k(G) below its own round-off: on spectra equal to five digits the
    median of σ_k(M)/σ_k(G) read 3.5·10⁶ in float64 and 244 in float32 (d = 64, 30 steps)."""
    in64, in32 = _default_lanes_in_each_dtype(30, d=64, n_items=1024, batch_size=128)
    assert [lane.tail_filtering for lane in in32] == pytest.approx(
        [lane.tail_filtering for lane in in64], rel=1e-4
    )


@pytest.mark.parametrize(
    "task",
    [
        {"kind": "two_level", "d": 64, "n_items": 64, "batch_size": 0},  # ∇L has rank K − 1
        {"d": 256, "n_items": 4096, "batch_size": 256},  # a minibatch of fewer items than d
        {"d": 256, "n_items": 4096, "batch_size": 0},  # a graded tail far below n·eps·σ₁
    ],
    ids=["two-level", "minibatch", "population"],
)
def test_muons_update_in_float32_keeps_the_directions_float64_keeps(task):
    """Round-off in the momentum buffer's null direction reached 3.5·eps·σ₁ in float32, above the
    rank floor of one round-off of σ₁: the map made it a unit step in a direction the gradient
    lacks, and W's effective rank read 63.13 where float64's is 63."""
    from muonscope.engine import ExperimentConfig, RunConfig, TaskConfig

    muon = LaneConfig(optimizer="muon", lr=0.05, momentum=0.95, polar="exact")
    runs = {}
    for dtype in ("float64", "float32"):
        config = ExperimentConfig(
            task=TaskConfig(**task), lanes=(muon,), run=RunConfig(device="cpu", dtype=dtype)
        )
        experiment, ranks = Experiment(config), []
        for _ in range(5):
            experiment.step(1)
            lane = experiment.snapshot().lanes[0]
            ranks.append(int((lane.spectra.update > 0.5).sum()))  # the map's singular values: 1 or 0
        runs[dtype] = (ranks, lane.weight_isotropy.effective_rank)
    (ranks64, erank64), (ranks32, erank32) = runs["float64"], runs["float32"]
    assert ranks32 == ranks64
    assert erank32 == pytest.approx(erank64, rel=1e-4)
