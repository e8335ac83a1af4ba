"""Sessions: checkpoints replay bit for bit, rewinds and forks keep every branch, memory stays bounded."""

from types import SimpleNamespace

import numpy as np
import pytest
import torch

from muonscope.engine.breakpoints import parse_breakpoint
from muonscope.engine.changes import AddLane, RemoveLane, SetField, change_text
from muonscope.engine.checkpoints import MAX_CHECKPOINTS, CheckpointStore
from muonscope.engine.config import ExperimentConfig, LaneConfig, RunConfig, TaskConfig
from muonscope.engine.errors import StepCancelled
from muonscope.engine.experiment import Experiment
from muonscope.engine.inspection import lane_matrices
from muonscope.engine.session import Session
from muonscope.engine.session_file import open_session, save_session

LANES = (
    LaneConfig(optimizer="sgd", lr=0.5, momentum=0.9),
    LaneConfig(optimizer="adam", lr=0.01, momentum=0.9),
    LaneConfig(optimizer="muon", lr=0.05, momentum=0.95, order="pre", polar="ns"),
    LaneConfig(optimizer="muon", lr=0.05, momentum=0.95, order="post", nesterov=True),
)


def _config(dtype="float64", batch=16, kind="zipf", **run) -> ExperimentConfig:
    if kind == "spiked":
        task = TaskConfig(kind="spiked", rows=12, cols=10, strengths=(5.0, 3.0), noise=1.0)
    else:
        task = TaskConfig(d=12, n_items=48, batch_size=batch, alpha=1.2)
    settings = {"steps": 40, "eval_every": 5, "spectra_every": 3, "dtype": dtype, "device": "cpu"} | run
    return ExperimentConfig(task=task, lanes=LANES, run=RunConfig(**settings))


def _state(experiment: Experiment) -> dict[str, np.ndarray]:
    """Everything a step changes, as arrays to compare bit for bit."""
    out = {"W": experiment.weights.cpu().numpy().copy()}
    for i in range(len(experiment.config.lanes)):
        state = experiment.optimizer_state(i)
        for name in ("buffer", "second_moment"):
            held = getattr(state, name)
            if held is not None:
                out[f"{i}.{name}"] = held.cpu().numpy().copy()
    snapshot = experiment.snapshot()
    for lane in snapshot.lanes:
        out[f"{lane.index}.metrics"] = np.array([lane.batch_loss, lane.loss, lane.gap, lane.alignment])
        out[f"{lane.index}.spectra"] = lane.spectra.update.copy()
    return out


def _assert_identical(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for key in a:
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize(("kind", "batch"), [("zipf", 16), ("zipf", 0), ("spiked", 16)])
def test_restoring_a_checkpoint_replays_bit_for_bit(dtype, kind, batch):
    experiment = Experiment(_config(dtype, batch, kind))
    experiment.step(7)
    checkpoint = experiment.checkpoint()
    experiment.apply(SetField("lanes[0].lr", 0.25))
    experiment.step(13)
    original = _state(experiment)
    experiment.restore(checkpoint)
    assert experiment.step_count == 7
    assert experiment.config.lanes[0].lr == 0.5
    experiment.apply(SetField("lanes[0].lr", 0.25))
    experiment.step(13)
    _assert_identical(original, _state(experiment))


def test_rewinding_and_running_again_gives_the_same_run():
    session = Session(_config(checkpoint_mb=1.0))
    session.run(40, stop_on_breakpoints=False)
    original = _state(session.experiment)
    for target in (0, 17, 33):
        session.go_to(target)
        assert session.step == target
        assert session.snapshot().step == target
        session.go_to(40)
        _assert_identical(original, _state(session.experiment))
    assert len(session.branches) == 1  # rewinding alone forks nothing


def _noise_changed_at_10_run_to_25() -> Session:
    session = Session(_config())
    session.run(10, stop_on_breakpoints=False)
    session.apply(SetField("task.label_noise", 0.3))
    session.commit()
    session.run(25, stop_on_breakpoints=False)
    return session


def test_a_rewound_branch_replays_its_own_changes():
    session = _noise_changed_at_10_run_to_25()
    original = _state(session.experiment)
    session.go_to(4)
    assert session.config.task.label_noise == 0.0
    session.go_to(25)
    assert session.config.task.label_noise == 0.3
    _assert_identical(original, _state(session.experiment))


def test_a_rewound_branch_still_holds_the_events_of_its_record_ahead_of_the_engine():
    """Seen from step 4, the change at step 10 is on record (the window marks it where its curves part)."""
    session = _noise_changed_at_10_run_to_25()
    at_head = session.recorded_events
    assert [(e.step, e.field) for e in at_head] == [(10, "task.label_noise")]
    session.go_to(4)
    assert session.experiment.events == ()  # the engine has not made it again
    assert session.recorded_events == at_head
    session.go_to(12)
    assert session.recorded_events == session.experiment.events == at_head
    session.apply(SetField("task.label_noise", 0.1))  # behind the head: a fork, whose record ends here
    session.commit()
    assert [(e.step, e.new) for e in session.recorded_events] == [(10, 0.3), (12, 0.1)]


def test_a_fork_keeps_the_original_branch_and_equals_a_run_changed_there():
    config = _config()
    straight = Session(config)
    straight.run(12, stop_on_breakpoints=False)
    straight.apply(SetField("lanes[2].optimizer", "adam"))
    straight.commit()
    straight.run(30, stop_on_breakpoints=False)

    session = Session(config)
    session.run(30, stop_on_breakpoints=False)
    original = _state(session.experiment)
    session.go_to(12)
    forked = session.apply(SetField("lanes[2].optimizer", "adam"))
    session.commit()
    assert forked and len(session.branches) == 2
    assert session.branch.parent == 0 and session.branch.fork_step == 12
    session.run(30, stop_on_breakpoints=False)
    _assert_identical(_state(straight.experiment), _state(session.experiment))
    session.switch(0)
    assert session.step == 30 and session.config.lanes[2].optimizer == "muon"
    _assert_identical(original, _state(session.experiment))
    # each branch keeps its own metrics, sharing the steps before the fork
    main, fork = session.branches
    shared = main.metrics.column("batch_loss", lane=2)[:13]
    np.testing.assert_array_equal(shared, fork.metrics.column("batch_loss", lane=2)[:13])
    assert not np.array_equal(
        main.metrics.column("batch_loss", lane=2), fork.metrics.column("batch_loss", lane=2)
    )


def test_a_fork_before_its_branch_began_is_a_fork_of_the_branch_that_holds_that_step():
    """Forked at step 10 while on a branch begun at step 20: "forked at step 10 from fork 1 at step
    20" named a step fork 1 never had; its step 10 is main's."""
    session = Session(_config())
    session.run(30, stop_on_breakpoints=False)
    session.go_to(20)
    session.apply(SetField("lanes[0].lr", 0.25))
    session.commit()
    session.run(30, stop_on_breakpoints=False)
    session.go_to(10)
    session.apply(SetField("task.label_noise", 0.2))
    session.commit()
    first_fork, second_fork = session.branches[1:]
    assert (first_fork.parent, first_fork.fork_step) == (0, 20)
    assert (second_fork.parent, second_fork.fork_step) == (0, 10)
    assert session.config.lanes[0].lr == LANES[0].lr  # the line before step 10 is main's
    assert [change for _step, change in session.own_changes(second_fork)] == [
        SetField("task.label_noise", 0.2)
    ]
    session.run(30, stop_on_breakpoints=False)
    session.go_to(15)
    session.apply(SetField("lanes[1].lr", 0.02))  # within the branch's own steps: its own child
    session.commit()
    assert session.branch.parent == second_fork.id


def test_each_branch_names_the_changes_made_on_it_not_those_it_inherited():
    session = Session(_config())

    def change_at(step: int, path: str, value) -> SetField:
        if step < session.branch.head_step:
            session.go_to(step)
        else:
            session.run(step, stop_on_breakpoints=False)
        change = SetField(path, value)
        session.apply(change)
        session.commit()
        return change

    on_main = change_at(3, "task.label_noise", 0.1)
    session.run(10, stop_on_breakpoints=False)
    main_later = change_at(10, "lanes[0].lr", 0.4)  # at the head: main goes on
    first_fork = change_at(5, "lanes[1].lr", 0.02)
    on_fork = change_at(8, "lanes[2].momentum", 0.5)
    session.run(12, stop_on_breakpoints=False)
    second_fork = change_at(6, "lanes[0].lr", 2.0)
    main, fork, fork_of_fork = session.branches
    assert (fork.parent, fork_of_fork.parent) == (0, 1)
    assert session.own_changes(main) == ((3, on_main), (10, main_later))
    assert session.own_changes(fork) == ((5, first_fork), (8, on_fork))
    assert session.own_changes(fork_of_fork) == ((6, second_fork),)
    assert [change_text(c) for _, c in session.own_changes(fork)] == [
        "lanes[1].lr = 0.02",
        "lanes[2].momentum = 0.5",
    ]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("batch", [16, 0])
@pytest.mark.parametrize("added_at", [6, 5])  # 5: an evaluation step, whose signal the next step uses
@pytest.mark.parametrize("copy_from", [0, None])
def test_adding_a_lane_is_replayed_too(dtype, batch, added_at, copy_from):
    session = Session(_config(dtype, batch))
    session.run(added_at, stop_on_breakpoints=False)
    session.apply(AddLane(LaneConfig(optimizer="signgd", lr=0.01), copy_from=copy_from))
    session.commit()
    session.run(added_at + 1, stop_on_breakpoints=False)
    just_after = _state(session.experiment)
    session.run(20, stop_on_breakpoints=False)
    original = _state(session.experiment)
    session.go_to(3)
    assert len(session.config.lanes) == 4
    session.go_to(added_at + 1)
    _assert_identical(just_after, _state(session.experiment))
    session.go_to(20)
    _assert_identical(original, _state(session.experiment))


def test_inspected_matrices_are_those_of_the_step():
    session = Session(_config())
    session.run(9, stop_on_breakpoints=False)
    weights_8 = None
    probe = Experiment(_config())
    probe.step(8)
    weights_8 = probe.weights.clone()
    probe.step(1)
    found = session.matrices_at(9)
    assert session.step == 9  # the engine is back where it was
    for lane in range(4):
        inspected = lane_matrices(found, lane)
        np.testing.assert_array_equal(inspected.matrices["W"], probe.weights[lane].numpy())
        np.testing.assert_array_equal(inspected.matrices["G"], probe.last_gradient[lane].numpy())
        applied = probe.weights[lane] - weights_8[lane]
        np.testing.assert_allclose(inspected.matrices["update"], applied.numpy(), atol=1e-12)
    muon_ns = lane_matrices(found, 2)
    assert muon_ns.map_input == "M" and muon_ns.residual > 0  # five NS steps are not the polar factor
    assert np.all(muon_ns.polar_sv[: np.linalg.matrix_rank(muon_ns.matrices["M"])] == pytest.approx(1.0))
    assert lane_matrices(found, 3).residual == pytest.approx(0.0, abs=1e-12)  # exact polar
    assert lane_matrices(session.matrices_at(0), 0).matrices["G"] is None


def test_a_recalled_step_has_the_snapshot_and_spectra_an_unpaced_run_had_there():
    """Played runs skip spectra at most steps; the snapshot of a step, recalled, has its own."""
    config = _config(spectra_every=1)
    unpaced = Session(config)
    recorded = {0: unpaced.snapshot()}
    for step in range(1, 25):
        recorded[step] = unpaced.step_once()
        if step == 18:  # a change at step 18, shown with that step
            unpaced.apply(SetField("lanes[1].lr", 0.02))
            unpaced.commit()
            recorded[step] = unpaced.snapshot()
    paced = Session(config)
    paced.set_checkpoint_budget(40_000)  # checkpoints a few steps apart
    paced.experiment.spectra_gate = lambda step: step % 7 == 0
    paced.run(18, stop_on_breakpoints=False)
    paced.apply(SetField("lanes[1].lr", 0.02))
    paced.commit()
    paced.run(24, stop_on_breakpoints=False)
    assert paced.branch.checkpoints.spacing > 1
    before = _state(paced.experiment)
    for step in (0, 5, 13, 18, 24):
        recalled, original = paced.snapshot_at(step), recorded[step]
        assert recalled.step == step and recalled.config == original.config
        assert recalled.events == original.events
        for mine, theirs in zip(recalled.lanes, original.lanes, strict=True):
            assert mine.spectra_step == theirs.spectra_step == (step if step else -1)
            for matrix in ("gradient", "momentum", "update", "weights"):
                np.testing.assert_array_equal(getattr(mine.spectra, matrix), getattr(theirs.spectra, matrix))
            np.testing.assert_array_equal(mine.class_error, theirs.class_error)
            assert mine.recovered == theirs.recovered and mine.eval_step == theirs.eval_step
    _assert_identical(before, _state(paced.experiment))  # the engine is back where it stood
    assert paced.experiment.spectra_gate(14) and not paced.experiment.spectra_gate(15)  # its gate too
    with pytest.raises(ValueError, match="between 0 and 24"):
        paced.snapshot_at(25)


def test_a_recalled_step_completes_the_branchs_record_of_it(tmp_path):
    """Played, a step is recorded without its spectral metrics; recalled, it has them, and the
    branch's record (and so a save, and the window after a rewind) keeps them."""
    session = Session(_config(spectra_every=3))
    session.experiment.spectra_gate = lambda _step: False  # played: none computed at all
    session.run(12, stop_on_breakpoints=False)
    lane_id = session.snapshot().lanes[0].lane_id
    (before,) = session.branch.metrics.columns(("gap",), lane_id)
    steps = session.branch.metrics.columns(("step",), lane_id)[0]
    assert np.isnan(before[steps == 9]).all()
    recalled = session.snapshot_at(9)
    (after,) = session.branch.metrics.columns(("gap",), lane_id)
    assert after[steps == 9].tolist() == [recalled.lanes[0].gap]
    assert np.isnan(after[steps == 6]).all()  # only the step recalled
    save_session(session, tmp_path / "s")
    reopened = open_session(tmp_path / "s")
    (kept,) = reopened.branch.metrics.columns(("gap",), lane_id)
    assert kept[steps == 9].tolist() == [recalled.lanes[0].gap]


def test_a_recalled_step_off_the_spectra_cadence_has_the_cadence_step_before_it():
    session = Session(_config(spectra_every=3))
    session.experiment.spectra_gate = lambda _step: False  # played: none computed at all
    session.run(11, stop_on_breakpoints=False)
    assert {lane.spectra_step for lane in session.snapshot_at(11).lanes} == {9}
    assert {lane.spectra_step for lane in session.snapshot_at(9).lanes} == {9}
    assert {lane.spectra_step for lane in session.snapshot_at(2).lanes} == {-1}


@pytest.mark.parametrize("replay", ["snapshot_at", "matrices_at"])
def test_a_replay_given_up_midway_leaves_the_engine_where_it_stood(replay):
    session = Session(_config())
    session.set_checkpoint_budget(40_000)  # a replay of a few steps
    session.run(20, stop_on_breakpoints=False)
    before = _state(session.experiment)
    asked = []

    def cancelled() -> bool:
        asked.append(session.experiment.step_count)
        return len(asked) > 20  # a few steps into the replay

    with pytest.raises(StepCancelled):
        getattr(session, replay)(15, cancelled)
    assert asked and session.step == 20
    _assert_identical(before, _state(session.experiment))
    again = getattr(session, replay)(15)  # and it can be asked again
    assert (again["step"] if replay == "matrices_at" else again.step) == 15


def test_breakpoints_pause_at_the_first_step_that_meets_them():
    session = Session(_config())
    losses = []
    probe = Session(_config())
    for _ in range(40):
        losses.append(probe.step_once().lanes[1].batch_loss)
    threshold = sorted(losses)[len(losses) // 2]
    expected = next(i + 1 for i, loss in enumerate(losses) if loss < threshold)
    session.set_breakpoints([parse_breakpoint(f"1:batch_loss < {threshold!r}")])
    hit = session.run(40)
    assert hit is not None and hit.step == expected == session.step
    assert "1:batch_loss" in hit.message


def test_a_breakpoint_naming_a_lane_by_label_follows_it_through_a_relabelling_change():
    session = Session(_config())
    old_label = session.config.lanes[1].display_label()
    session.set_breakpoints([parse_breakpoint(f"{old_label}: batch_loss > -inf", [old_label])])
    session.apply(SetField("lanes[1].lr", 0.02))
    session.commit()
    new_label = session.config.lanes[1].display_label()
    assert new_label != old_label  # the label shows the learning rate
    hit = session.run(5)
    assert hit is not None and hit.step == 1 and hit.lane_index == 1
    assert session.breakpoints[0].text == f"{new_label}: batch_loss > -inf"
    session.go_to(0)  # before the change: the lane bears its old label again
    assert session.follow_lane_labels()
    assert session.breakpoints[0].text == f"{old_label}: batch_loss > -inf"


def test_a_breakpoint_naming_a_lane_by_index_follows_it_when_a_lane_before_it_is_removed():
    """ "2:…" went on naming index 2 after lane 1 was removed: another lane, with nothing said."""
    session = Session(_config())
    labels = [lane.display_label() for lane in session.config.lanes]
    session.set_breakpoints(
        [parse_breakpoint("2: batch_loss > -inf"), parse_breakpoint("1: batch_loss > -inf")]
    )
    session.run(2, stop_on_breakpoints=False)
    session.apply(RemoveLane(1))
    session.commit()
    hit = session.run(5)
    # the removed lane's breakpoint names it by its settings: it holds for no lane now
    texts = [b.text for b in session.breakpoints]
    assert texts == ["1: batch_loss > -inf", f"{labels[1]}: batch_loss > -inf"]  # the conditions as typed
    assert hit is not None and hit.step == 3 and hit.lane_index == 1 and hit.lane_label == labels[2]
    assert session.breakpoints[1].check(session.snapshot()) is None
    session.go_to(1)  # before the removal: both lanes stand where they stood
    assert session.follow_lane_labels()
    assert session.breakpoints[0].text == "2: batch_loss > -inf"
    assert session.breakpoints[1].check(session.snapshot()).lane_index == 1


def test_a_removed_lanes_breakpoint_holds_for_no_lane_even_when_another_takes_its_label():
    """Lane 2 switched to the removed lane 3's order bore its label, and the removed lane's breakpoint
    paused the run for lane 2 at every step."""
    session = Session(_config())
    removed = session.config.lanes[3].display_label()
    session.set_breakpoints([parse_breakpoint("3: batch_loss > -inf")])
    session.run(2, stop_on_breakpoints=False)
    session.apply(RemoveLane(3))
    session.apply(SetField("lanes[2].order", "post"))
    session.apply(SetField("lanes[2].polar", "exact"))
    session.apply(SetField("lanes[2].nesterov", True))
    session.commit()
    assert session.config.lanes[2].display_label() == removed  # lane 2 now reads as lane 3 did
    assert session.run(6) is None  # no lane met it
    assert session.breakpoints[0].text == f"{removed}: batch_loss > -inf"
    session.go_to(1)  # before the removal: the lane is back, and so is its breakpoint
    session.follow_lane_labels()
    assert session.breakpoints[0].text == "3: batch_loss > -inf"
    assert session.breakpoints[0].check(session.snapshot()).lane_index == 3


def test_adam_with_an_infinite_second_moment_counts_as_diverged():
    """g² overflows float32 while W stays finite: the lane would silently stop learning."""
    task = TaskConfig(kind="spiked", rows=6, cols=5, strengths=(1e25,), noise=0.0)
    run = RunConfig(steps=5, dtype="float32", device="cpu")
    lanes = (LaneConfig(optimizer="adam", lr=0.01), LaneConfig(optimizer="signgd", lr=0.01))
    experiment = Experiment(ExperimentConfig(task=task, lanes=lanes, run=run))
    experiment.step()
    snapshot = experiment.snapshot()
    assert snapshot.lanes[0].diverged and snapshot.lanes[0].diverged_step == 1
    assert [lane.index for lane in snapshot.newly_diverged] == [0]
    assert bool(torch.isfinite(experiment.weights[0]).all())  # the last finite W is kept
    assert not snapshot.lanes[1].diverged


def test_checkpoints_stay_within_budget_over_100000_steps():
    """Fake checkpoints of 1 KiB on a 64 KiB budget: bounded, and every step within one spacing."""
    checkpoint_bytes = 1024
    store = CheckpointStore(budget_bytes=64 * checkpoint_bytes)
    for step in range(100_001):
        if store.wants(step):
            store.add(SimpleNamespace(step=step, nbytes=checkpoint_bytes))
        assert len(store) <= 64
    assert store.steps[0] == 0
    for wanted in (1_000, 50_000, 99_000, 100_000):
        assert 0 <= wanted - store.at_or_before(wanted).step <= store.spacing
    assert store.spacing <= 100_000 / 64 * 4


def test_tiny_checkpoints_are_kept_no_more_often_than_the_count_allows():
    """A 16×16 lane's checkpoints (11 KB) fit a 256 MiB budget at every step: 20,000 steps held
    20,000 of them, a 240 MB session file with a 57 MB index, for replays of one step each."""
    store = CheckpointStore(budget_bytes=256 * 2**20)
    for step in range(20_001):
        if store.wants(step):
            store.add(SimpleNamespace(step=step, nbytes=11_000))
        assert len(store) <= MAX_CHECKPOINTS
    assert store.steps[0] == 0 and len(store) > MAX_CHECKPOINTS // 2  # the count binds, not the bytes
    for wanted in (1, 10_000, 19_999, 20_000):
        assert 0 <= wanted - store.at_or_before(wanted).step <= store.spacing


def test_a_long_session_keeps_its_memory_bounded():
    lanes = (LaneConfig(optimizer="sgd", lr=0.5, momentum=0.9), LaneConfig(optimizer="muon", lr=0.05))
    task = TaskConfig(d=8, n_items=32, batch_size=8)
    run = RunConfig(steps=600, eval_every=50, spectra_every=25, device="cpu")
    session = Session(ExperimentConfig(task=task, lanes=lanes, run=run))
    budget = 20 * session.branch.checkpoints.all()[0].nbytes
    session.set_checkpoint_budget(budget)
    session.branch.metrics.max_rows = 500
    session.branch.spectra.max_steps = 8
    sizes = []
    for target in (200, 400, 600):
        session.run(target, stop_on_breakpoints=False)
        sizes.append((session.checkpoint_bytes, len(session.branch.metrics), len(session.branch.spectra)))
    assert all(nbytes <= budget for nbytes, _, _ in sizes)
    assert all(rows <= 500 and spectra <= 8 for _, rows, spectra in sizes)
    assert session.branch.checkpoints.spacing >= 16  # the grid coarsened to stay within budget
    session.go_to(477)
    assert session.step == 477


def test_going_forward_through_the_record_replays_only_from_the_nearest_stored_state():
    """After a rewind to step 0, going to a late step replayed every step from 0 (some 50 minutes at
    step 99,000 of a 100,000-step run); the checkpoint before it, or the kept head, is as good."""
    config = _config(steps=120)
    straight, expected = Session(config), {}
    for step in (77, 120):
        straight.run(step, stop_on_breakpoints=False)
        expected[step] = _state(straight.experiment)
    session = Session(config)
    session.set_checkpoint_budget(40_000)  # checkpoints a few steps apart
    session.run(120, stop_on_breakpoints=False)
    session.go_to(0)
    nearest = session.branch.checkpoints.at_or_before(77).step
    assert 0 < nearest < 77 and session.replay_steps(77) == 77 - nearest
    computed = []
    session.go_to(77, on_step=lambda snapshot: computed.append(snapshot.step))
    assert computed == list(range(nearest + 1, 78))
    _assert_identical(expected[77], _state(session.experiment))
    assert session.replay_steps(120) == 0  # the head, kept when the engine left it
    session.go_to(120, on_step=lambda snapshot: computed.append(snapshot.step))
    assert computed[-1] == 77 and session.at_head
    _assert_identical(expected[120], _state(session.experiment))
    session.run(125, stop_on_breakpoints=False)  # and the branch goes on from there
    straight.run(125, stop_on_breakpoints=False)
    _assert_identical(_state(straight.experiment), _state(session.experiment))


def test_a_rewind_stopped_midway_stands_at_the_last_step_replayed_and_can_finish():
    """The window's Cancel on a long rewind: the steps replayed stay, the one under way is undone."""
    session = Session(_config())
    session.set_checkpoint_budget(40_000)  # checkpoints a few steps apart
    session.run(30, stop_on_breakpoints=False)
    original = _state(session.experiment)
    session.go_to(25)
    expected = _state(session.experiment)
    session.go_to(30)
    nearest = session.branch.checkpoints.at_or_before(25).step
    assert session.replay_steps(25) == 25 - nearest >= 3

    def cancelled() -> bool:
        return session.experiment.step_count == nearest + 3  # a few steps into the replay

    with pytest.raises(StepCancelled):
        session.go_to(25, cancelled=cancelled)
    stood, stood_state = session.step, _state(session.experiment)
    assert nearest < stood < 25 and not session.at_head
    session.go_to(25)  # the rewind can be finished
    _assert_identical(expected, _state(session.experiment))
    session.go_to(stood)  # and where it stopped was that step of the run, whole
    _assert_identical(stood_state, _state(session.experiment))
    session.go_to(30)
    _assert_identical(original, _state(session.experiment))


def _settings_at_5(*changes: SetField, checkpoint_between: bool = False) -> Experiment:
    """An experiment with ``changes`` made one after another at step 5, then run to step 12."""
    experiment = Experiment(_config())
    experiment.step(5)
    for change in changes:
        if checkpoint_between:
            experiment.checkpoint()
        experiment.apply(change)
        experiment.commit()  # as the window does: each shown before the next is made
    experiment.step(7)
    return experiment


@pytest.mark.parametrize(
    ("path", "values", "text"),
    [
        ("lanes[0].lr", (0.6, 0.7, 0.8), "lane 0 lr 0.5 → 0.8"),
        ("task.label_noise", (0.1, 0.3), "label noise 0 → 0.3"),
    ],
)
def test_settings_of_one_field_made_at_one_step_are_one_change_and_run_as_the_last_alone(path, values, text):
    """Clicks on a rate's arrow at one step left a marker each, covering one another."""
    clicked = _settings_at_5(*(SetField(path, value) for value in values))
    assert clicked.changes == ((5, SetField(path, values[-1])),)
    assert [(event.step, event.text) for event in clicked.events] == [(5, text)]
    _assert_identical(_state(_settings_at_5(SetField(path, values[-1]))), _state(clicked))


def test_a_learning_rate_set_back_at_the_same_step_leaves_no_change_and_runs_as_if_untouched():
    clicked = _settings_at_5(SetField("lanes[1].lr", 0.02), SetField("lanes[1].lr", 0.01))
    assert clicked.changes == () and clicked.events == ()
    _assert_identical(_state(_settings_at_5()), _state(clicked))


@pytest.mark.parametrize(
    ("path", "values"), [("lanes[2].order", ("post", "pre")), ("task.label_noise", (0.2, 0.0))]
)
def test_a_setting_whose_change_touched_the_run_stays_on_record_when_set_back(path, values):
    """A switch of order clears the lane's buffer, and a noise level tells the task's stream, once made:
    set back, the run is not the one without them, and a replay must make both again."""
    clicked = _settings_at_5(*(SetField(path, value) for value in values))
    assert [change.value for _step, change in clicked.changes] == list(values)
    assert len(clicked.events) == 2


def test_a_change_already_in_a_checkpoint_is_not_folded_into():
    clicked = _settings_at_5(
        SetField("lanes[0].lr", 0.6), SetField("lanes[0].lr", 0.7), checkpoint_between=True
    )
    assert [change.value for _step, change in clicked.changes] == [0.6, 0.7]
    straight = _settings_at_5(SetField("lanes[0].lr", 0.7))
    _assert_identical(_state(straight), _state(clicked))


def _lr_set_at_10_run_to_20(lr: float) -> Session:
    session = Session(_config(checkpoint_mb=1.0))
    session.run(10, stop_on_breakpoints=False)
    session.apply(SetField("lanes[0].lr", lr))
    session.commit()
    session.run(20, stop_on_breakpoints=False)
    return session


def test_a_fork_setting_a_field_again_at_the_step_of_an_inherited_change_replays_bit_for_bit():
    """Set again on a fork at the step of an inherited change, a field replays from every checkpoint
    of the fork as the run made it, and the fork runs as a run changed there once."""
    session = _lr_set_at_10_run_to_20(0.6)
    session.go_to(10)
    assert session.apply(SetField("lanes[0].lr", 0.7))  # behind the head: a fork
    session.commit()
    session.run(20, stop_on_breakpoints=False)
    forked = _state(session.experiment)
    assert [change.value for _step, change in session.own_changes(session.branch)] == [0.7]
    for rewound_to in (10, 3):  # from the fork's checkpoint at its step, and from one before
        session.go_to(rewound_to)
        session.go_to(20)
        assert session.config.lanes[0].lr == 0.7
        _assert_identical(forked, _state(session.experiment))
    _assert_identical(_state(_lr_set_at_10_run_to_20(0.7).experiment), forked)
