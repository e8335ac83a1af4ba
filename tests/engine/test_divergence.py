"""A diverged lane says what went non-finite: its gradient, its momentum, Adam's second moment, or
its step; each case made to happen in a real run, in the dtype where it happens."""

import dataclasses
import math
import re

import pytest
import torch

from muonscope.engine import OPTIMIZERS, Experiment, ExperimentConfig, LaneConfig, RunConfig, TaskConfig
from muonscope.engine.divergence import diverged_text, divergence_cause
from muonscope.engine.optim.rules import LaneState
from muonscope.engine.snapshot import LaneSnapshot

#: A rank-one signal of strength 10²⁵: |G| ≈ 10²⁵, whose square passes float32's largest (3.4·10³⁸).
HUGE_SIGNAL = TaskConfig(kind="spiked", rows=6, cols=5, strengths=(1e25,), noise=0.0)


def _diverged(lane: LaneConfig, dtype: str, task: TaskConfig = HUGE_SIGNAL, steps: int = 3):
    config = ExperimentConfig(task=task, lanes=(lane,), run=RunConfig(dtype=dtype, eval_every=1))
    experiment = Experiment(config)
    experiment.step(steps)
    (snapshot,) = experiment.snapshot().lanes
    assert snapshot.diverged
    (event,) = [e for e in experiment.snapshot().events if e.field == "lanes[0].diverged"]
    assert event.text == f"lane 0 diverged ({snapshot.label})"  # short: a caption names it in a line
    return snapshot


def test_adams_second_moment_overflowing_float32_is_named_with_float32s_largest_value():
    lane = _diverged(LaneConfig(optimizer="adam", lr=0.01), "float32")
    assert lane.diverged_step == 1
    assert lane.diverged_cause.startswith("its second moment v is not finite (G² passed float32's largest")
    assert f"{torch.finfo(torch.float32).max:.3g}" in lane.diverged_cause
    largest_gradient = float(re.search(r"; max\|G\| = (\S+)\)$", lane.diverged_cause).group(1))
    assert 1e24 < largest_gradient <= 1e25  # G = 10²⁵·u vᵀ, u and v unit vectors in 6 and 5 dimensions


def test_the_same_adam_lane_in_float64_does_not_diverge():
    config = ExperimentConfig(
        task=HUGE_SIGNAL, lanes=(LaneConfig(optimizer="adam", lr=0.01),), run=RunConfig(dtype="float64")
    )
    experiment = Experiment(config)
    experiment.step(3)
    assert not experiment.snapshot().lanes[0].diverged
    assert experiment.snapshot().lanes[0].diverged_cause == ""


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_a_rule_whose_direction_is_not_finite_names_the_step(monkeypatch, dtype):
    """No optimizer within the settings' bounds overflows float64 (lr ≤ 10⁶, a strength ≤ 10³⁰): a
    rule is made to, as the experiment's own divergence tests do."""
    blow_up = dataclasses.replace(OPTIMIZERS["ngd"], rule=lambda g, state, lane: g * math.inf)
    monkeypatch.setitem(OPTIMIZERS, "ngd", blow_up)
    task = TaskConfig(d=8, n_items=16, batch_size=8)
    lane = _diverged(LaneConfig(optimizer="ngd", lr=0.1), dtype, task)
    assert lane.diverged_step == 1
    assert lane.diverged_cause.startswith(f"its step lr·D is not finite or took W past {dtype}'s largest")


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_a_momentum_buffer_that_overflowed_is_named_with_the_gradients_scale(dtype):
    gradient = torch.tensor([[3e30, -4.0]], dtype=dtype)
    state = LaneState(buffer=torch.tensor([[math.inf, 0.0]], dtype=dtype))
    cause = divergence_cause(gradient, state, torch.zeros(1, 2, dtype=dtype))
    name = str(dtype).removeprefix("torch.")
    largest = f"{torch.finfo(dtype).max:.3g}"
    passed = f"it passed {name}'s largest value, {largest}"
    assert cause == f"its momentum buffer M is not finite ({passed}; max|G| = 3e+30)"


def test_a_gradient_that_is_not_finite_is_named_first():
    """Everything after a non-finite G is non-finite too: G is what to look at."""
    weights = torch.ones(3, 2)
    gradient = torch.tensor([[1.0, float("inf")], [0.0, 2.0], [-5.0, 0.0]])
    state = LaneState(buffer=torch.full((3, 2), float("nan")), second_moment=torch.full((3, 2), float("inf")))
    assert divergence_cause(gradient, state, weights) == "its gradient G is not finite (at max|W| = 1)"


def test_adams_first_moment_is_named_as_adams():
    gradient = torch.tensor([[3.0, -4.0]], dtype=torch.float64)
    state = LaneState(buffer=torch.tensor([[float("inf"), 0.0]]), second_moment=torch.ones(1, 2))
    cause = divergence_cause(gradient, state, torch.zeros(1, 2, dtype=torch.float64))
    assert cause.startswith("its first moment m is not finite (it passed float64's largest value")
    assert cause.endswith("; max|G| = 4)")


def test_lanes_that_diverged_alike_share_one_sentence():
    def lane(index, label, cause):
        return LaneSnapshot(index, label, "adam", "pre", 0.1, 0.9, diverged=True, diverged_cause=cause)

    overflow, step = "its second moment v is not finite (…)", "its step lr·D is not finite (…)"
    lanes = [lane(0, "Adam lr=0.01", overflow), lane(1, "NGD", step), lane(2, "Adam lr=0.1", overflow)]
    assert diverged_text(lanes) == (
        f"lane 0 (Adam lr=0.01) and lane 2 (Adam lr=0.1) diverged, each because {overflow}. "
        f"Lane 1 (NGD) diverged because {step}"
    )
    assert diverged_text(lanes[1:2]) == f"lane 1 (NGD) diverged because {step}"
