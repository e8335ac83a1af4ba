"""A lane's settings through a run: its past is named by the settings that drew it, wherever the run went."""

import csv

import numpy as np
import pyarrow.parquet as pq

from muonscope.engine.changes import AddLane, RemoveLane, SetField
from muonscope.engine.config import ExperimentConfig, LaneConfig, RunConfig, TaskConfig
from muonscope.engine.experiment import Experiment
from muonscope.engine.lane_history import lane_histories
from muonscope.engine.session import Session
from muonscope.engine.session_file import open_session, save_session

SGD = LaneConfig(optimizer="sgd", lr=0.5, momentum=0.9, buffer="sum")
ADAM = LaneConfig(optimizer="adam", lr=0.01, momentum=0.9)


def _config() -> ExperimentConfig:
    task = TaskConfig(d=12, n_items=48, batch_size=16, alpha=1.2)
    run = RunConfig(steps=40, eval_every=5, spectra_every=3, dtype="float64", device="cpu")
    return ExperimentConfig(task=task, lanes=(SGD, ADAM), run=run)


def _label(**settings) -> str:
    return LaneConfig(**settings).display_label()


SIGNGD_LABEL = _label(optimizer="signgd", lr=0.01, momentum=0.9, buffer="ema")


def test_a_switch_names_the_steps_before_it_by_the_old_settings():
    history = lane_histories(_config(), [(89, SetField("lanes[0].optimizer", "signgd"))])[0]
    assert history.label_at(40) == history.label_at(89) == SGD.display_label()  # step 89 ran as SGD
    assert history.label_at(90) == history.label == SIGNGD_LABEL
    assert history.settings_at(40).lr == 0.5 and history.settings_at(90).optimizer == "signgd"
    assert history.earlier == ((SGD.display_label(), 89),)
    labels = [history.label_at(step) for step in (0, 40, 89, 90, 200)]
    assert history.labels_at(np.array([0, 40, 89, 90, 200])).tolist() == labels


def test_changes_at_one_boundary_are_one_transition_and_an_undone_one_is_none():
    switch = [(10, SetField("lanes[0].optimizer", "signgd")), (10, SetField("lanes[0].lr", 0.02))]
    history = lane_histories(_config(), switch)[0]
    assert history.steps == (0, 10)
    assert history.label == _label(optimizer="signgd", lr=0.02, momentum=0.9, buffer="ema")
    undone = [(10, SetField("lanes[1].lr", 0.5)), (10, SetField("lanes[1].lr", 0.01))]
    assert lane_histories(_config(), undone)[1].steps == (0,)


def test_added_and_removed_lanes_keep_their_ids():
    changes = [(5, RemoveLane(0)), (8, AddLane(SGD)), (12, SetField("lanes[1].lr", 0.25))]
    histories = {h.lane_id: h for h in lane_histories(_config(), changes)}
    assert sorted(histories) == [0, 1, 2]
    assert histories[0].steps == (0,)  # removed at 5: its curve ended as SGD
    assert histories[2].steps == (8, 12) and histories[2].label_at(8) == SGD.display_label()
    assert histories[2].label_at(13) == _label(optimizer="sgd", lr=0.25, momentum=0.9, buffer="sum")
    assert histories[1].steps == (0,)  # the Adam lane moved to index 0; lanes[1] at 12 is the new one


def test_the_snapshot_carries_the_histories_and_a_restore_takes_back_later_changes():
    experiment = Experiment(_config())
    experiment.step(3)
    before = experiment.checkpoint()
    experiment.apply(SetField("lanes[0].optimizer", "signgd"))
    experiment.step(2)
    history = experiment.snapshot().lane_histories[0]
    now = experiment.config.lanes[0].display_label()
    assert (history.label_at(3), history.label_at(4)) == (SGD.display_label(), now)
    experiment.restore(before)
    assert experiment.snapshot().lane_histories[0].earlier == ()


def test_a_session_names_its_branch_beyond_the_engine_and_keeps_a_fork_through_save_and_open(tmp_path):
    session = Session(_config())
    session.run(6)
    session.apply(SetField("lanes[0].optimizer", "signgd"))
    session.run(10)
    session.go_to(3)  # before the change: the engine's own record ends here, the branch's does not
    assert session.snapshot().lane_histories[0].earlier == ()
    assert session.lane_histories()[0].earlier == ((SGD.display_label(), 6),)
    assert session.apply(SetField("lanes[1].lr", 0.02))  # behind the newest step: a fork at 3
    session.commit()
    forked = session.lane_histories()
    assert forked[0].earlier == () and forked[1].earlier == ((ADAM.display_label(), 3),)
    assert session.lane_histories(session.branches[0])[0].earlier == ((SGD.display_label(), 6),)
    save_session(session, tmp_path / "s")
    reopened = open_session(tmp_path / "s")
    assert reopened.lane_histories() == forked
    assert reopened.snapshot().lane_histories == forked


def test_metric_tables_label_each_row_by_the_settings_of_its_step(tmp_path):
    session = Session(_config())
    session.run(6)
    session.apply(SetField("lanes[0].optimizer", "signgd"))
    session.run(10)
    new = session.config.lanes[0].display_label()
    expected = {step: SGD.display_label() if step <= 6 else new for step in range(11)}
    with session.branch.metrics.write(tmp_path / "metrics.csv").open(encoding="utf-8") as handle:
        rows = [row for row in csv.DictReader(handle) if row["lane"] == "0"]
    assert {int(row["step"]): row["label"] for row in rows} == expected
    save_session(session, tmp_path / "s")
    table = pq.read_table(tmp_path / "s" / "metrics.parquet").to_pydict()
    rows = zip(table["step"], table["lane"], table["label"], strict=True)
    assert {step: label for step, lane, label in rows if lane == 0} == expected
