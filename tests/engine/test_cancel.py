"""A cancelled step leaves the experiment as it was: it happens whole or not at all. A ray search
asks to be cancelled before every memory pass, and computes the same numbers when it is not."""

import dataclasses
import itertools
import math

import numpy as np
import pytest
import torch

from muonscope.engine import balance
from muonscope.engine.balance import first_step_ray
from muonscope.engine.changes import SetField
from muonscope.engine.config import ExperimentConfig, LaneConfig, RunConfig, TaskConfig
from muonscope.engine.errors import Cancelled, StepCancelled
from muonscope.engine.experiment import Experiment
from muonscope.engine.memory import chunk_columns
from muonscope.engine.session import Session
from muonscope.engine.tasks.memory_task import MemoryTask

LANES = (
    LaneConfig(optimizer="sgd", lr=20.0, momentum=0.9, buffer="sum"),
    LaneConfig(optimizer="adam", lr=0.05, momentum=0.9),
    LaneConfig(optimizer="muon", lr=0.3, momentum=0.95, order="pre"),
    LaneConfig(optimizer="muon", lr=0.3, momentum=0.95, order="post"),
)
#: Evaluation every second step, spectra every step: a step at an evaluation boundary has them all.
CONFIG = ExperimentConfig(
    task=TaskConfig(d=16, n_items=64, alpha=1.5, batch_size=32),
    lanes=LANES,
    run=RunConfig(eval_every=2, spectra_every=1),
)


def _plain(value):
    """A value as something ``==`` compares fully (arrays and tensors as nested lists, NaN as text)."""
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    if isinstance(value, np.ndarray):
        return ("array", value.dtype.str, value.shape, np.where(np.isnan(value), -1.2345e300, value).tolist())
    if isinstance(value, float) and np.isnan(value):
        return "nan"
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return (type(value).__name__, *(_plain(getattr(value, f.name)) for f in dataclasses.fields(value)))
    if isinstance(value, list | tuple):
        return tuple(_plain(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((k, _plain(v)) for k, v in value.items()))
    return value


def _state(experiment: Experiment):
    """Everything a step may change: settings, queued changes, W, optimizer states, stream, snapshot."""
    states = [experiment.optimizer_state(i) for i in range(len(experiment.config.lanes))]
    return _plain(
        {
            "step": experiment.step_count,
            "config": experiment.config,
            "queued": experiment.queued_config,
            "pending": experiment.pending_changes,
            "weights": experiment.weights,
            "states": [(s.buffer, s.second_moment, s.steps_taken) for s in states],
            "stream": experiment.task.random_state(),
            "snapshot": dataclasses.replace(experiment.snapshot(), run_id=0),  # twins differ only here
            "changes": experiment.changes,
        }
    )


def _after(calls: int):
    """A ``cancelled`` that says yes from its ``calls``-th question on (0: at the first point)."""
    counter = itertools.count()
    return lambda: next(counter) >= calls


def _points_in_a_step(experiment: Experiment) -> int:
    counter = itertools.count()
    experiment.step(cancelled=lambda: next(counter) < 0)
    return next(counter)


def _ready(steps: int = 3) -> Experiment:
    """Three steps in, with a change queued for the next boundary (it must survive a cancel)."""
    experiment = Experiment(CONFIG)
    experiment.step(steps)
    experiment.apply(SetField("lanes[0].optimizer", "signgd"))
    experiment.apply(SetField("task.label_noise", 0.1))
    return experiment


@pytest.mark.parametrize("steps_before", [3, 4], ids=["step with evaluation", "step without"])
def test_a_step_cancelled_at_any_point_leaves_the_state_as_before(steps_before):
    points = _points_in_a_step(_ready(steps_before))
    assert points >= 10  # between the lanes' updates, the spectra's SVDs, before the evaluation
    for calls in range(points):
        experiment = _ready(steps_before)
        before = _state(experiment)
        with pytest.raises(StepCancelled):
            experiment.step(cancelled=_after(calls))
        assert _state(experiment) == before, f"cancelled at point {calls}"


@pytest.mark.parametrize("calls", [0, 5, 12])
def test_after_a_cancelled_step_the_run_goes_on_as_its_uncancelled_twin(calls):
    cancelled, twin = _ready(), _ready()
    with pytest.raises(StepCancelled):
        cancelled.step(cancelled=_after(calls))
    cancelled.step(2)
    twin.step(2)
    assert _state(cancelled) == _state(twin)
    assert [e.text for e in cancelled.events] == [e.text for e in twin.events]  # the changes, once


def test_a_cancellable_step_computes_the_same_numbers_as_a_plain_one():
    """Checked matrix by matrix or batched, the spectra and metrics agree bit for bit."""
    checked, plain = _ready(), _ready()
    checked.step(3, cancelled=lambda: False)
    plain.step(3)
    assert _state(checked) == _state(plain)


def test_a_cancelled_replayed_step_queues_its_recorded_changes_once():
    session, straight = Session(CONFIG), Session(CONFIG)
    for s in (session, straight):
        s.run(3)
        s.apply(SetField("task.label_noise", 0.2))
        s.run(6)
    session.go_to(2)
    session.step_once()  # replaying: step 3 is recorded, its change comes at the boundary after it
    with pytest.raises(StepCancelled):
        session.step_once(cancelled=_after(3))
    assert session.step == 3 and not session.experiment.pending_changes
    session.run(6, stop_on_breakpoints=False)
    assert _state(session.experiment) == _state(straight.experiment)
    assert [e.text for e in session.experiment.events] == ["label noise 0 → 0.2"]


# ---- ray searches ---------------------------------------------------------------------------------

RAY_LANES = {
    "gd": LaneConfig(optimizer="sgd", lr=1.0, momentum=0.0),
    "signgd (scanned)": LaneConfig(optimizer="signgd", lr=1.0, momentum=0.0, order="none"),
    "muon": LaneConfig(optimizer="muon", lr=1.0, momentum=0.0, order="none"),
}


def _ray_task() -> MemoryTask:
    config = TaskConfig(kind="two_level", d=24, n_items=24, batch_size=0, embeddings="identity")
    return MemoryTask(config, torch.device("cpu"), torch.float64)


def _questions_in_a_ray(task: MemoryTask, lane: LaneConfig) -> int:
    counter = itertools.count()
    first_step_ray(task, lane, points=10, cancelled=lambda: next(counter) < 0)
    return next(counter)


def _told_at(calls: int):
    """A ``cancelled`` that says yes from its ``calls``-th question on, and the count of its questions."""
    asked = itertools.count()
    return (lambda: next(asked) >= calls), asked


@pytest.fixture
def three_etas_per_pass(monkeypatch):
    """Passes of three η each, as a d = 2048 search has (there: two), so a grid takes several."""
    monkeypatch.setattr(balance, "_PASS_ELEMENTS", 3 * 24 * 24)


@pytest.mark.parametrize("name", list(RAY_LANES))
def test_a_ray_search_is_abandoned_at_once_when_told(name, three_etas_per_pass):
    """Told to stop at its n-th question (the first, every sixth, the last), it asks no more."""
    task, lane = _ray_task(), RAY_LANES[name]
    questions = _questions_in_a_ray(task, lane)
    assert questions >= 5 * 48 // 3  # at least once per pass of the five refinement rounds
    for calls in sorted({*range(0, questions, 6), questions - 1}):
        cancelled, asked = _told_at(calls)
        with pytest.raises(Cancelled):
            first_step_ray(task, lane, points=10, cancelled=cancelled)
        assert next(asked) == calls + 1, f"went on after question {calls}"


@pytest.mark.parametrize("name", list(RAY_LANES))
def test_a_ray_in_passes_computes_the_same_numbers_as_in_one(name, monkeypatch):
    """However many η a pass holds, and whether it is asked to stop or not, the ray is the same."""
    task, lane = _ray_task(), RAY_LANES[name]
    whole = first_step_ray(task, lane, points=10)
    monkeypatch.setattr(balance, "_PASS_ELEMENTS", 3 * 24 * 24)
    split = first_step_ray(task, lane, points=10, cancelled=lambda: False)
    assert _plain(split) == _plain(whole)


def test_an_evaluation_of_a_big_population_can_be_abandoned_chunk_by_chunk():
    """A population pass over many chunks asks before each one, so a change need not wait it out."""
    config = ExperimentConfig(
        task=TaskConfig(d=16, n_items=4096, alpha=1.5, batch_size=32),
        lanes=LANES[:1],
        run=RunConfig(eval_every=2, spectra_every=10**6, exact_eval_items=4096),
    )
    counted, experiment = Experiment(config), Experiment(config)
    counted.step(1)
    experiment.step(1)
    # Step 2 evaluates 4096 columns of 4096 outputs in blocks of at most 128 columns, each asked
    # before, besides the points before the minibatch pass's one block and the lane's update.
    blocks = math.ceil(4096 / chunk_columns(n_out=4096, lanes=1, m_total=4096))
    assert blocks >= 4
    assert _points_in_a_step(counted) == 2 + blocks
    before = _state(experiment)
    with pytest.raises(StepCancelled):
        experiment.step(cancelled=_after(3))  # inside the evaluation
    assert _state(experiment) == before


def test_the_gradient_pass_of_a_big_batch_can_be_abandoned_block_by_block():
    """The minibatch pass asks between its blocks (at d = 1024, N = 65536 it takes seconds); abandoned
    inside it, the step leaves W, the states and the batch stream as they were, and taken again it
    is the step an uncancelled twin takes."""
    config = ExperimentConfig(
        task=TaskConfig(d=16, n_items=4096, alpha=0.5, batch_size=4096),  # thousands of distinct items
        lanes=LANES[:1],  # SGD: one point of its own, before its update
        run=RunConfig(eval_every=10**6, spectra_every=10**6),
    )
    counted, experiment, twin = Experiment(config), Experiment(config), Experiment(config)
    assert _points_in_a_step(counted) >= 1 + 8  # the pass's blocks, then the lane's update
    before = _state(experiment)
    with pytest.raises(StepCancelled):
        experiment.step(cancelled=_after(2))  # inside the gradient pass
    assert _state(experiment) == before
    experiment.step(1)
    twin.step(1)
    assert _state(experiment) == _state(twin)


def test_the_step_under_way_is_named_at_every_cancellation_point_and_none_between_steps():
    """A replay's progress counts finished steps: ``step_count`` already counts a step whose update is
    made while its spectra and evaluation are still being computed."""
    experiment = Experiment(CONFIG)
    experiment.step()
    seen = []
    experiment.step(
        cancelled=lambda: seen.append((experiment.step_count, experiment.step_under_way)) or False
    )
    assert {under_way for _count, under_way in seen} == {2}
    assert {count for count, _under_way in seen} == {1, 2}  # the update is made midway through the step
    assert experiment.step_under_way is None
    with pytest.raises(StepCancelled):
        experiment.step(cancelled=lambda: True)
    assert experiment.step_under_way is None and experiment.step_count == 2


def test_a_stop_during_a_runs_closing_evaluation_abandons_it_and_reports_the_steps_done():
    """Ctrl-C during the closing sampled evaluation (32 s at d = 1024, N = 65536) was held for all of
    it, and the report said the run was not interrupted; a second Ctrl-C then lost the session."""
    from muonscope.engine.headless import run_session

    config = ExperimentConfig(
        task=TaskConfig(d=16, n_items=4096, alpha=1.5, batch_size=32),
        lanes=LANES[:1],
        run=RunConfig(eval_every=10, spectra_every=10**6, exact_eval_items=4096),
    )
    session = Session(config)
    # Ctrl-C once the last step is done, with an evaluation long enough to be abandoned at once
    outcome = run_session(session, 3, stop_requested=lambda: session.step >= 3, abandon_after_s=0.0)
    report = outcome.report
    assert report["step"] == 3 and report["interrupted"] and outcome.interrupted
    assert report["lanes"][0]["eval_step"] == 0  # the metrics are the last evaluation's, and say so
    assert session.step == 3
    finished = Session(config)
    assert run_session(finished, 3).report["lanes"][0]["eval_step"] == 3  # unstopped: evaluated


@pytest.mark.parametrize(("slow_steps", "stopped_at"), [(True, 0), (False, 1)])
def test_a_stop_abandons_a_step_known_to_be_slow_at_its_first_cancellation_point(slow_steps, stopped_at):
    """Ctrl-C sent just after "each step will take about 2 min" landed in the step's first second,
    so the step's first check let it on, and its SVD of minutes ran before the next one."""
    from muonscope.engine.headless import run_session

    config = ExperimentConfig(task=TaskConfig(d=8, n_items=32, batch_size=8), lanes=LANES[:1])
    session = Session(config)
    outcome = run_session(session, 5, stop_requested=lambda: True, slow_steps=slow_steps)
    assert outcome.interrupted and session.step == outcome.report["step"] == stopped_at
