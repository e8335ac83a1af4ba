"""A session recorded before a metric was redefined opens with that metric left out, says so, and
measures it anew where a step is gone to again; one whose rule changed says its replays may part."""

import json

import numpy as np
import pytest

from muonscope.engine.changes import AddLane
from muonscope.engine.config import ExperimentConfig, LaneConfig, RunConfig, TaskConfig
from muonscope.engine.divergence import UNRECORDED_CAUSE
from muonscope.engine.measure_changes import MEASURES
from muonscope.engine.session import Session
from muonscope.engine.session_file import open_session, save_session

SGD_SUM = LaneConfig(optimizer="sgd", lr=0.5, momentum=0.9)  # a sum buffer: its gap was redefined


def _saved(tmp_path, lanes=(SGD_SUM,), add=None, steps=12, task=None, dtype="float64"):
    task = task or TaskConfig(d=10, n_items=40, batch_size=16)
    run = RunConfig(steps=40, eval_every=4, spectra_every=3, device="cpu", dtype=dtype)
    session = Session(ExperimentConfig(task=task, lanes=tuple(lanes), run=run))
    session.run(4, stop_on_breakpoints=False)
    if add is not None:
        session.apply(AddLane(add))
        session.commit()
    session.run(steps, stop_on_breakpoints=False)
    return session, save_session(session, tmp_path / "s")


def _as_recorded_earlier(folder, edit=None, drop_measures=True) -> None:
    """The session.json a muonscope from before ``measures`` was kept wrote: no such field."""
    path = folder / "session.json"
    document = json.loads(path.read_text())
    if drop_measures:  # and its notes, and its format version: 1 had neither
        del document["measures"], document["notes"]
        document["version"] = 1
    if edit is not None:
        edit(document)
    path.write_text(json.dumps(document))


def test_a_session_saves_the_number_of_what_its_steps_measure(tmp_path):
    _, folder = _saved(tmp_path)
    assert json.loads((folder / "session.json").read_text())["measures"] == MEASURES
    assert open_session(folder).opened_notes == ()


def test_a_version_two_session_without_its_measures_is_refused_not_read_as_an_earlier_one(tmp_path):
    """Read as recorded before the gap's redefinition, its gap was converted a second time."""
    from muonscope.engine.session_file import SessionError

    _, folder = _saved(tmp_path)
    document = json.loads((folder / "session.json").read_text())
    del document["measures"]  # by a tool that kept only what it knew
    (folder / "session.json").write_text(json.dumps(document))
    with pytest.raises(SessionError, match='lacks its field "measures"'):
        open_session(folder)


def _recorded_gap_on_the_sum(folder, momentum: float) -> None:
    """metrics.parquet as a muonscope from before the gap's redefinition wrote it: a sum buffer's gap
    read on the sum, 1/(1 − μ) times today's (every lane of these sessions keeps a sum buffer)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = folder / "metrics.parquet"
    table = pq.read_table(path)
    gap = table.column("gap").to_numpy(zero_copy_only=False) / (1 - momentum)
    index = table.column_names.index("gap")
    pq.write_table(table.set_column(index, "gap", pa.array(gap)), path)

    def on_the_sum(document):  # and each checkpoint's latest gap
        for checkpoint in document["checkpoints"]:
            for lane in checkpoint["lanes"]:
                lane["gap"] = "nan" if lane["gap"] == "nan" else lane["gap"] / (1 - momentum)

    _as_recorded_earlier(folder, on_the_sum, drop_measures=False)


def test_metrics_redefined_since_are_converted_or_left_out_and_measured_anew_where_a_step_is_gone_to(
    tmp_path,
):
    original, folder = _saved(tmp_path)
    before = original.branch.metrics.table()
    measured = np.flatnonzero(np.isfinite(before["gap"]))
    assert measured.size
    _as_recorded_earlier(folder)
    _recorded_gap_on_the_sum(folder, SGD_SUM.momentum)
    reopened = open_session(folder)
    unnumbered = (
        "other metrics may follow an earlier muonscope's definitions (saved before they were numbered)"
    )
    assert reopened.opened_notes == (
        "its gap, recorded before a sum buffer's gap was read as the EMA's, is converted",
        "its tail_filtering, recorded before the filtering ratio took one floor in every dtype, is left out "
        "(a step gone to again measures it anew)",
        unnumbered,
    )
    table = reopened.branch.metrics.table()
    np.testing.assert_allclose(table["gap"], before["gap"], rtol=1e-14)  # as a step measures it today
    head, head_before = reopened.snapshot().lanes[0], original.snapshot().lanes[0]
    assert head.spectra_step == head_before.spectra_step and np.isfinite(head_before.gap)
    np.testing.assert_allclose(head.gap, head_before.gap, rtol=1e-14)  # a checkpoint's, as its step's
    assert np.isnan(table["tail_filtering"]).all()  # left out: it does not convert
    np.testing.assert_array_equal(table["loss"], before["loss"])  # what was not redefined stays
    step = int(before["step"][measured[-1]])
    reopened.snapshot_at(step)  # a replay measures it under today's definition
    again = reopened.branch.metrics.table()
    row = np.flatnonzero(again["step"] == step)
    np.testing.assert_array_equal(again["gap"][row], before["gap"][before["step"] == step])

    resaved = save_session(reopened, tmp_path / "resaved")
    assert json.loads((resaved / "session.json").read_text())["measures"] == MEASURES
    # its converted and left-out metrics are today's now; rows of earlier definitions stay, and say so
    assert open_session(resaved).opened_notes == (unnumbered,)
    resaved_again = save_session(open_session(resaved), tmp_path / "again")
    assert open_session(resaved_again).opened_notes == (unnumbered,)


def test_an_ema_lanes_gap_converts_to_itself(tmp_path):
    """Only a sum buffer's gap was read differently: an EMA lane's, Adam's and a lane without a
    buffer's are today's already."""
    lanes = (
        LaneConfig(optimizer="muon", lr=0.05, momentum=0.95, buffer="ema"),
        LaneConfig(optimizer="adam", lr=0.01),
        LaneConfig(optimizer="sgd", lr=0.5, momentum=0.0),
    )
    original, folder = _saved(tmp_path, lanes=lanes)
    _as_recorded_earlier(folder)
    reopened = open_session(folder)
    np.testing.assert_array_equal(
        reopened.branch.metrics.table()["gap"], original.branch.metrics.table()["gap"]
    )
    assert not any("gap" in note for note in reopened.opened_notes)  # nothing converted: nothing said


@pytest.mark.parametrize("added", [LaneConfig(optimizer="signgd", lr=0.01), None])
def test_lanes_whose_rule_changed_since_are_said_to_replay_under_todays(tmp_path, added):
    """A lane added as SignGD at step 4 ran SignGD's earlier rule in such a session."""
    _, folder = _saved(tmp_path, add=added)
    _as_recorded_earlier(folder)
    notes = open_session(folder).opened_notes
    rule = [note for note in notes if "replay" in note]
    if added is None:
        assert rule == []
    else:
        assert rule == [
            "its SignGD lanes replay under today's rule (its round-off floor follows each entry's row "
            "and column), which may part from the steps recorded"
        ]


def test_a_diverged_lane_recorded_without_its_cause_says_it_was_not_recorded(tmp_path):
    huge = TaskConfig(kind="spiked", rows=6, cols=5, strengths=(1e25,), noise=0.0)  # G² past float32's
    lanes = (LaneConfig(optimizer="adam", lr=0.01), LaneConfig(optimizer="muon", lr=0.01))
    original, folder = _saved(tmp_path, lanes=lanes, task=huge, steps=6, dtype="float32")
    assert original.snapshot().lanes[0].diverged_cause.startswith("its second moment v is not finite")

    def without_causes(document):
        for checkpoint in document["checkpoints"]:
            for lane in checkpoint["lanes"]:
                del lane["diverged_cause"]

    _as_recorded_earlier(folder, without_causes)
    lanes = open_session(folder).snapshot().lanes
    assert lanes[0].diverged and lanes[0].diverged_cause == UNRECORDED_CAUSE
    assert not lanes[1].diverged and lanes[1].diverged_cause == ""
