"""Kim et al.'s multi-step dynamics live (SCIENCE.md §5): thresholded lanes, whose gradients leave
out the items they recover, and the λ_t schedule of regularised Muon.

The oracles are autograd on the unrecovered draws and the multi-step reproduction, which removes
the items from the query batch instead of masking them inside the pass, and runs its own loop.
"""

import dataclasses
import math

import numpy as np
import pytest
import torch

from muonscope.engine.changes import SetField
from muonscope.engine.config import ExperimentConfig, LaneConfig, RunConfig, TaskConfig
from muonscope.engine.errors import ConfigError
from muonscope.engine.experiment import Experiment
from muonscope.engine.headless import final_report
from muonscope.engine.inspection import lane_matrices
from muonscope.engine.memory import item_queries, memory_pass, minibatch_queries
from muonscope.engine.optim.registry import typed_field_problem
from muonscope.engine.presets import load_preset
from muonscope.engine.recovery_law import scheduled_lam
from muonscope.engine.reproduce.base import find_lane
from muonscope.engine.reproduce.multistep_dynamics import (
    Dynamics,
    lambda_schedule,
    population_gradient,
    run_multistep,
    thresholded_gradient,
)
from muonscope.engine.session import Session
from muonscope.engine.task_kinds import TASK_KINDS
from muonscope.engine.tasks.memory_task import MemoryTask
from muonscope.engine.tasks.sampler import BatchSampler

CPU = torch.device("cpu")
#: (dtype, relative tolerance of a gradient against its oracle)
PRECISIONS = [(torch.float64, 1e-10), (torch.float32, 1e-4)]


def _task(dtype: torch.dtype, d: int = 8, n_items: int = 60) -> MemoryTask:
    return MemoryTask(TaskConfig(d=d, n_items=n_items, alpha=1.5, batch_size=0, seed=3), CPU, dtype)


def _memories(task: MemoryTask, lanes: int = 2) -> torch.Tensor:
    """(lanes, d, d): one trained-looking W per lane, recovering some items and not others."""
    d = task.weight_shape[0]
    gen = torch.Generator().manual_seed(5)
    return (4.0 * torch.randn(lanes, d, d, generator=gen, dtype=torch.float64)).to(task.inputs.dtype)


def _recovered(task: MemoryTask, w: torch.Tensor) -> torch.Tensor:
    """(N,) bool: the items W recovers (strict argmax over every output)."""
    every = item_queries(task.probs, torch.arange(task.n_items), 0.0)
    return memory_pass(task.outputs, task.inputs, w[None], every, want_columns=True).recovered[0]


def _autograd(
    task: MemoryTask, w: torch.Tensor, items: torch.Tensor, labels: torch.Tensor, batch_size: int
) -> torch.Tensor:
    """∇_W of (1/B)·Σ_j cross-entropy(U W e_{items_j}, labels_j) over the given draws, by autograd."""
    w = w.detach().clone().requires_grad_(True)
    logits = task.inputs[items] @ w.T @ task.outputs.T  # (m, N)
    per_draw = torch.nn.functional.cross_entropy(logits, labels, reduction="none")  # (m,)
    (per_draw.sum() / batch_size).backward()
    return w.grad


@pytest.mark.parametrize(("dtype", "rtol"), PRECISIONS)
def test_a_flagged_lane_s_gradient_is_autograd_over_the_draws_it_has_not_recovered(dtype, rtol):
    task = _task(dtype)
    weights = _memories(task)  # (2, d, d)
    draws = BatchSampler(task.probs_np, 11).draw(200, 0.0)
    queries = minibatch_queries(draws.items, draws.labels, dtype)
    flags = torch.tensor([True, False])
    result = memory_pass(task.outputs, task.inputs, weights, queries, leave_out_recovered=flags)
    plain = memory_pass(task.outputs, task.inputs, weights, queries)

    known = _recovered(task, weights[0])
    kept = ~known[draws.items]  # (B,) draws of items lane 0 has not recovered
    assert 0 < int(kept.sum()) < draws.items.shape[0], "the test needs recovered and unrecovered draws"
    # the draws kept keep their weight 1/B: nothing is renormalised
    oracle = _autograd(task, weights[0], draws.items[kept], draws.labels[kept], draws.items.shape[0])
    torch.testing.assert_close(result.grad[0], oracle, rtol=rtol, atol=rtol * float(oracle.abs().max()))
    torch.testing.assert_close(result.grad[1], plain.grad[1], rtol=0, atol=0)  # the other lane: untouched
    torch.testing.assert_close(result.loss, plain.loss, rtol=0, atol=0)  # the loss counts every draw


@pytest.mark.parametrize(("dtype", "rtol"), PRECISIONS)
def test_the_masked_pass_agrees_with_removing_the_items_from_the_batch(dtype, rtol):
    task = _task(dtype)
    weights = _memories(task, lanes=1)
    every = item_queries(task.probs, torch.arange(task.n_items), 0.0)
    flags = torch.tensor([True])
    masked = memory_pass(  # small chunks: the mask must follow each chunk's own columns
        task.outputs, task.inputs, weights, every, leave_out_recovered=flags, chunk_elements=300
    )
    removed = population_gradient(task, weights[0], _recovered(task, weights[0]))
    torch.testing.assert_close(masked.grad[0], removed, rtol=rtol, atol=rtol * float(removed.abs().max()))


def _lane(thresholded: bool) -> LaneConfig:
    return LaneConfig(
        optimizer="muon", lr=4.0, momentum=0.0, order="none", polar="reg", lam=0.016, thresholded=thresholded
    )


def _config(batch_size: int, lanes: tuple[LaneConfig, ...]) -> ExperimentConfig:
    return ExperimentConfig(
        task=TaskConfig(d=12, n_items=160, alpha=1.5, batch_size=batch_size, seed=2),
        lanes=lanes,
        run=RunConfig(steps=20, eval_every=1, dtype="float64"),
    )


@pytest.mark.parametrize("batch_size", [0, 512])
def test_each_step_of_a_thresholded_lane_takes_the_reproduction_s_thresholded_gradient(batch_size):
    experiment = Experiment(_config(batch_size, (_lane(True), _lane(False))))
    task = experiment.task
    parted = False
    for _ in range(6):
        before = experiment.weights.clone()  # (2, d, d)
        experiment.step()
        recovered = _recovered(task, before[0])
        if batch_size == 0:
            expected = population_gradient(task, before[0], recovered)
        else:
            batch = task.last_batch
            queries = minibatch_queries(batch.items, batch.labels, torch.float64)
            expected = thresholded_gradient(task, before[0], queries, recovered)
        torch.testing.assert_close(experiment.last_gradient[0], expected, rtol=1e-9, atol=1e-12)
        parted |= bool(recovered.any()) and not torch.equal(before[0], before[1])
    assert parted, "the thresholded lane never left out an item: the test saw nothing"


def test_turning_thresholding_on_at_an_evaluation_step_changes_the_very_next_exact_step():
    experiment = Experiment(_config(0, (_lane(False),)))
    experiment.step(4)
    task = experiment.task
    recovered = _recovered(task, experiment.weights[0])
    assert recovered.any()
    before = experiment.weights[0].clone()
    experiment.apply(SetField("lanes[0].thresholded", True))
    experiment.step()
    expected = population_gradient(task, before, recovered)
    torch.testing.assert_close(experiment.last_gradient[0], expected, rtol=1e-9, atol=1e-12)
    assert experiment.snapshot().lanes[0].thresholded


def test_a_thresholded_lane_says_so_in_its_label_and_its_report():
    config = _config(0, (_lane(True), LaneConfig(optimizer="sgd", lr=1.0)))
    assert config.lanes[0].display_label().endswith("thresholded")
    experiment = Experiment(config)
    experiment.step(2)
    muon, sgd = final_report(experiment.snapshot(), config)["lanes"]
    assert muon["thresholded"] is True and muon["lam_schedule"] == "fixed"
    assert sgd["thresholded"] is False and sgd["lam_schedule"] is None  # SGD has no h_λ to schedule


def test_a_task_without_items_refuses_a_thresholded_lane_naming_the_field():
    with pytest.raises(ConfigError) as caught:
        ExperimentConfig(task=TaskConfig(kind="spiked"), lanes=(LaneConfig(thresholded=True),))
    text = str(caught.value)
    assert "lanes[0].thresholded" in text and "no items" in text and "zipf" in text


@pytest.mark.parametrize("batch_size", [0, 4096])
def test_a_lane_s_schedule_from_the_literal_first_lambda_is_the_literal_schedule(batch_size):
    d, alpha, n_items = 64, 1.5, 32768
    first = lambda_schedule(d, alpha, 0, n_items, batch_size)
    for t in range(6):
        literal = lambda_schedule(d, alpha, t, n_items, batch_size)
        assert scheduled_lam(first, d, alpha, t, n_items, batch_size) == pytest.approx(literal, rel=1e-12)
    assert scheduled_lam(first, d, alpha, 3, n_items, 0) < first  # λ_t falls as d_(t+1) grows


def _scheduled(d: int, thresholded: bool) -> LaneConfig:
    lam = lambda_schedule(d, 1.5, 0, 512, 0)  # d^(−α): the literal λ_0 at B = ∞
    return LaneConfig(
        optimizer="muon",
        lr=math.sqrt(d),
        momentum=0.0,
        order="none",
        polar="reg",
        lam=lam,
        lam_schedule="kim",
        thresholded=thresholded,
    )


def test_scheduled_lanes_recover_what_the_multistep_reproduction_recovers_step_by_step():
    d, n_items, steps = 16, 512, 5
    both = [Dynamics("muon_reg", True), Dynamics("muon_reg", False)]
    reference = run_multistep(d, n_items, 1.5, steps, both)
    config = ExperimentConfig(
        task=TaskConfig(d=d, n_items=n_items, alpha=1.5, batch_size=0, seed=0),
        lanes=(_scheduled(d, True), _scheduled(d, False)),
        run=RunConfig(steps=steps, eval_every=1, dtype="float64"),
    )
    experiment = Experiment(config)
    counts = [[0, 0]]
    for _ in range(steps):
        experiment.step()
        counts.append([lane.recovered for lane in experiment.snapshot().lanes])
    live = np.array(counts).T  # (2, steps + 1)
    np.testing.assert_array_equal(live[0], reference.recovered["Muon-reg thresholded, B = ∞"][0])
    np.testing.assert_array_equal(live[1], reference.recovered["Muon-reg exact, B = ∞"][0])
    assert live[0].tolist() != live[1].tolist(), "the two dynamics never parted: the test saw nothing"
    assert config.lanes[0].display_label().startswith("Muon reg λ_t from 0.015625")


def test_the_inspector_maps_a_scheduled_lane_s_input_with_that_step_s_lambda():
    config = ExperimentConfig(
        task=TaskConfig(d=16, n_items=512, alpha=1.5, batch_size=0, seed=0),
        lanes=(_scheduled(16, False),),
        run=RunConfig(steps=5, eval_every=1, dtype="float64"),
    )
    session = Session(config)
    session.run(4, stop_on_breakpoints=False)
    inspected = lane_matrices(session.matrices_at(4), 0)
    direction = inspected.matrices["update"] / -config.lanes[0].lr  # D of step 3, mapped with λ_3
    np.testing.assert_allclose(inspected.direction_sv, np.linalg.svd(direction, compute_uv=False), rtol=1e-9)
    assert inspected.label == config.lanes[0].display_label()
    lam_3 = scheduled_lam(config.lanes[0].lam, 16, 1.5, 3, 512, 0)
    assert inspected.lam == pytest.approx(lam_3, rel=1e-12) and inspected.lam < config.lanes[0].lam
    assert inspected.map_text == f"h_λ, λ = {lam_3:.3g}"  # the λ the residual depends on, said


def test_a_schedule_needs_a_zipf_task_and_the_regularised_map():
    task = TaskConfig(**TASK_KINDS["hierarchical"].defaults, kind="hierarchical")
    with pytest.raises(ConfigError) as caught:
        ExperimentConfig(task=task, lanes=(_scheduled(128, False),))
    assert "lanes[0].lam_schedule" in str(caught.value) and "zipf" in str(caught.value)
    exact = LaneConfig(optimizer="muon", polar="exact")
    assert "regularised polar map" in typed_field_problem(exact, "lam_schedule", "kim")


@pytest.mark.parametrize("alpha", [0.0, 0.2, 0.5])
def test_a_schedule_is_refused_where_d_t_does_not_grow(alpha):
    """At α = 0.2 λ_t overflowed past λ's bound at step 7; at α = 0 it divided by zero at step 1."""
    with pytest.raises(ConfigError) as caught:
        ExperimentConfig(task=TaskConfig(alpha=alpha), lanes=(_scheduled(128, False),))
    assert "lanes[0].lam_schedule" in str(caught.value) and "α > 0.5" in str(caught.value)


def test_a_task_change_turns_off_what_the_new_task_cannot_run_and_the_name_that_said_it():
    named = dataclasses.replace(_scheduled(32, True), label="Muon-reg thresholded, λ_t")
    config = ExperimentConfig(task=TaskConfig(d=32, n_items=512), lanes=(named, _lane(False)))
    spiked = config.with_values([("task.kind", "spiked")])
    assert not spiked.lanes[0].thresholded and spiked.lanes[0].lam_schedule == "fixed"
    assert spiked.lanes[0].label == ""  # its name said "thresholded, λ_t": built from the settings now
    assert spiked.lanes[1] == config.lanes[1]  # nothing of the other lane changes
    flat = config.with_values([("task.alpha", 0.4)])
    assert flat.lanes[0].thresholded and flat.lanes[0].lam_schedule == "fixed"  # items still there
    with pytest.raises(ConfigError) as caught:  # what the same change names is refused, as typed
        config.with_values([("task.kind", "spiked"), ("lanes[0].thresholded", True)])
    assert "lanes[0].thresholded" in str(caught.value)


def test_the_multi_step_preset_s_caption_states_what_its_lanes_do():
    """The caption quotes the live run: the thresholded lane swings, the exact one ends ahead."""
    preset = load_preset("multi_step_recovery")
    exact = find_lane(preset.config.lanes, optimizer="muon", thresholded=False)
    thresholded = find_lane(preset.config.lanes, optimizer="muon", thresholded=True)
    assert preset.config.lanes[exact].lam_schedule == preset.config.lanes[thresholded].lam_schedule == "kim"
    experiment = Experiment(preset.config)
    counts = []
    for _ in range(preset.config.run.steps):
        experiment.step()
        counts.append([lane.recovered for lane in experiment.snapshot().lanes])
    last = counts[-1]
    assert f"({last[exact]} against {last[thresholded]} items at step {len(counts)})" in preset.caption
    swings = np.diff([row[thresholded] for row in counts])
    assert (swings < 0).sum() >= 2 and (swings > 0).sum() >= 2  # lost and recovered again
