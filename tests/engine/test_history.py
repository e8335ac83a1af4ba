"""The per-step metric history: freshness, thinning and file output."""

import csv

import numpy as np
import pyarrow.parquet as pq

from muonscope.engine import Experiment, ExperimentConfig, LaneConfig, RunConfig, TaskConfig
from muonscope.engine.changes import AddLane, RemoveLane
from muonscope.engine.history import MetricHistory, SpectraHistory, SpectraRow, evenly_spaced_indices
from muonscope.engine.snapshot import Spectra


def _experiment(eval_every=3):
    cfg = ExperimentConfig(
        task=TaskConfig(d=8, n_items=32, batch_size=16),
        lanes=(LaneConfig(optimizer="muon", lr=0.2), LaneConfig(optimizer="sgd", lr=5.0)),
        run=RunConfig(eval_every=eval_every),
    )
    return Experiment(cfg)


def _record(exp, steps, history):
    history.append(exp.snapshot())
    for _ in range(steps):
        exp.step()
        history.append(exp.snapshot())


def test_only_fresh_values_are_recorded():
    exp, history = _experiment(eval_every=3), MetricHistory()
    _record(exp, 6, history)
    steps = history.column("step", lane=0)
    loss = history.column("loss", lane=0)
    assert steps.tolist() == [0, 1, 2, 3, 4, 5, 6]
    assert np.isfinite(loss[[0, 3, 6]]).all()
    assert np.isnan(loss[[1, 2, 4, 5]]).all()
    assert np.isfinite(history.column("batch_loss", lane=1)[1:]).all()


def test_thinning_keeps_memory_bounded_and_steps_even():
    exp, history = _experiment(), MetricHistory(max_rows=20)
    _record(exp, 40, history)
    assert len(history) <= 20
    steps = np.unique(history.column("step"))
    assert steps[0] == 0
    assert np.all(steps % history.stride == 0)
    assert history.stride > 1


def _columns_by_mask(history, lane_id):
    """The oracle: one lane's step and loss rows, selected from all rows afresh."""
    table = history.table()
    rows = table["lane_id"] == lane_id
    return table["step"][rows].astype(float), table["loss"][rows]


def test_a_lanes_columns_follow_appends_thinning_rewinds_and_lanes_coming_and_going():
    exp, history = _experiment(eval_every=1), MetricHistory(max_rows=60)
    first_id = exp.lane_ids[0]

    def check():
        for lane_id in {*exp.lane_ids, first_id}:
            steps, loss = history.columns(("step", "loss"), lane_id)
            want_steps, want_loss = _columns_by_mask(history, lane_id)
            np.testing.assert_array_equal(steps, want_steps)
            np.testing.assert_array_equal(loss, want_loss)

    for steps in (7, 7, 7, 40, 3):  # asked between appends, as the window asks each frame, and
        _record(exp, steps, history)  # after enough to thin the rows and fill them up again
        check()
    assert history.stride > 1  # thinned along the way
    history.truncate_after(history.last_step // 2)  # a rewind: the rows after it go
    check()
    exp.apply(AddLane(LaneConfig(optimizer="adam", lr=0.01)))  # both at the next step
    exp.apply(RemoveLane(0))
    _record(exp, 9, history)
    assert first_id not in exp.lane_ids and len(exp.lane_ids) == 2
    check()
    steps, _loss = history.columns(("step", "loss"), first_id)
    assert steps.size and steps.max() <= history.last_step  # the removed lane keeps its rows


def test_parquet_and_csv_hold_the_same_table(tmp_path):
    exp, history = _experiment(), MetricHistory()
    _record(exp, 4, history)
    table = pq.read_table(history.write(tmp_path / "m.parquet")).to_pydict()
    with history.write(tmp_path / "m.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == len(table["step"]) == 10
    assert rows[3]["label"] == table["label"][3]
    assert table["label"][0].startswith("Muon")
    assert float(rows[0]["loss"]) == table["loss"][0]  # step 0 is evaluated
    assert rows[2]["loss"] == ""
    assert table["loss"][2] is None  # missing, as in CSV: NaN made the column's mean NaN


def test_counts_are_written_as_integers_and_missing_where_not_computed(tmp_path):
    """Items recovered were written "37.0", a count read as a measurement."""
    exp, history = _experiment(), MetricHistory()
    _record(exp, 4, history)
    recorded = history.column("recovered")
    table = pq.read_table(history.write(tmp_path / "m.parquet"))
    assert str(table.schema.field("recovered").type) == "int64"
    with history.write(tmp_path / "m.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    for row, parquet_value, value in zip(rows, table["recovered"].to_pylist(), recorded, strict=True):
        if np.isnan(value):
            assert row["recovered"] == "" and parquet_value is None
        else:
            assert row["recovered"] == str(int(value)) and parquet_value == value
    assert any(row["recovered"] == "" for row in rows) and any(row["recovered"] for row in rows)


def test_snapshot_store_is_bounded_and_finds_earlier_steps():
    from muonscope.engine.history import SnapshotStore

    exp, store = _experiment(), SnapshotStore(capacity=30, recent=10)
    store.add(exp.snapshot())
    for _ in range(80):
        exp.step()
        store.add(exp.snapshot())
    assert len(store) <= 30
    assert store.at_or_before(80).step == 80
    assert store.at_or_before(79).step == 79  # recent steps at full resolution
    early = store.at_or_before(13)
    assert early.step <= 13 and early.step % store.stride == 0
    exp.reset()
    store.add(exp.snapshot())
    assert len(store) == 1 and store.at_or_before(50).step == 0


def test_snapshot_store_reaches_the_whole_of_a_long_run():
    """At step 30,000 every earlier step is found within one grid spacing (the stride used to run away)."""
    from types import SimpleNamespace

    from muonscope.engine.history import SnapshotStore

    store = SnapshotStore(capacity=2000, recent=200)
    for step in range(30_001):
        store.add(SimpleNamespace(step=step))
    assert len(store) <= 2000
    spacing = 30_000 / (2000 - 200)
    assert store.stride <= 2 * spacing  # the grid is as fine as the capacity allows
    for wanted in (7_500, 15_000, 27_000, 29_900):
        found = store.at_or_before(wanted).step
        assert wanted - store.stride < found <= wanted
    assert store.at_or_before(29_850).step == 29_850  # the newest steps at full resolution


def test_snapshot_store_forgets_the_steps_after_a_rewind():
    from types import SimpleNamespace

    from muonscope.engine.history import SnapshotStore

    store = SnapshotStore(capacity=50, recent=10)
    for step in range(300):
        store.add(SimpleNamespace(step=step))
    store.add(SimpleNamespace(step=120))
    assert max(store.steps) == 120
    assert store.at_or_before(299).step == 120


def test_a_recomputed_step_fills_in_the_metrics_play_skipped():
    """Play computes spectra only as often as frames are drawn; a step recomputed in full (the view
    paused there) completes its rows, and the values are those an unpaced run records."""
    from muonscope.engine.session import Session

    config = _experiment().config
    unpaced, whole = Session(config), MetricHistory()
    whole.append(unpaced.snapshot())
    for _ in range(6):
        whole.append(unpaced.step_once())
    paced, history = Session(config), MetricHistory()
    paced.experiment.spectra_gate = lambda step: step == 2
    history.append(paced.snapshot())
    for _ in range(6):
        history.append(paced.step_once())
    gap, expected = history.column("gap"), whole.column("gap")
    steps = history.column("step")
    assert np.isnan(gap[steps == 5]).all() and np.isfinite(expected[steps == 5]).all()
    assert history.fill_in(paced.snapshot_at(5))
    filled = history.column("gap")
    np.testing.assert_array_equal(filled[steps == 5], expected[steps == 5])
    np.testing.assert_array_equal(filled[steps == 2], gap[steps == 2])  # what was on record stays
    assert np.isnan(filled[steps == 4]).all()  # other steps are not touched
    assert not history.fill_in(paced.snapshot_at(5))  # nothing left to add


def test_a_recomputed_step_fills_in_the_spectra_play_skipped_with_its_metrics():
    """The metrics took a paused step's recomputed gap and the spectra not: a saved session held the
    gap at 76 steps and spectra at 75. Both hold the same steps, in order, with an unpaced run's values."""
    from muonscope.engine.session import Session

    config = _experiment().config
    unpaced, paced = Session(config), Session(config)
    paced.experiment.spectra_gate = lambda step: step == 2
    for _ in range(6):
        unpaced.step_once()
        paced.step_once()
    assert 5 not in paced.branch.spectra.steps
    paced.snapshot_at(5)
    spectra = paced.branch.spectra
    assert spectra.steps == (2, 5) and not spectra.fill_in(paced.snapshot_at(5))
    lane = paced.snapshot().lanes[1].lane_id
    steps, _k, table = spectra.table(lane, "momentum")
    assert steps.tolist() == [2, 5]
    _all_steps, _k, expected = unpaced.branch.spectra.table(lane, "momentum")
    np.testing.assert_array_equal(table, expected[[1, 4]])  # steps 2 and 5 of steps 1–6
    metrics = paced.branch.metrics
    gap_steps = np.unique(metrics.column("step")[np.isfinite(metrics.column("gap"))])
    assert gap_steps.tolist() == list(spectra.steps)


def test_a_lanes_spectra_over_the_steps_are_its_own_at_each_step_on_record():
    exp, spectra = _experiment(), SpectraHistory()
    snapshots = []
    for _ in range(5):
        exp.step()
        snapshots.append(exp.snapshot())
        spectra.append(snapshots[-1])
    lane = snapshots[-1].lanes[1]
    computed = [s for s in snapshots if s.lanes[1].spectra_step == s.step]
    steps, k, table = spectra.table(lane.lane_id, "momentum")
    np.testing.assert_array_equal(k, np.arange(1, table.shape[1] + 1))
    assert steps.tolist() == [s.step for s in computed] and len(computed) >= 2
    for row, snapshot in zip(table, computed, strict=True):
        np.testing.assert_array_equal(row, snapshot.lanes[1].spectra.momentum)
    _steps, _k, other = spectra.table(snapshots[-1].lanes[0].lane_id, "momentum")
    assert not np.array_equal(other, table)  # the other lane's, not this one's
    revision = spectra.revision
    spectra.truncate_after(computed[1].step)
    assert spectra.revision != revision
    assert spectra.table(lane.lane_id, "momentum")[0].tolist() == [s.step for s in computed[:2]]


def test_spectra_of_fewer_values_are_padded_and_a_lane_never_holding_a_matrix_has_none():
    spectra = SpectraHistory()
    spectra.add_rows(
        [
            SpectraRow(1, 0, 7, Spectra(gradient=np.array([3.0, 2.0]))),
            SpectraRow(2, 0, 7, Spectra(gradient=np.array([4.0, 3.0, 1.0]))),
            SpectraRow(3, 0, 7, Spectra()),  # no gradient at step 3: a blank column, not left out
            SpectraRow(2, 1, 8, Spectra(gradient=np.array([9.0]))),
        ]
    )
    steps, k, table = spectra.table(7, "gradient")
    assert steps.tolist() == [1, 2, 3] and k.tolist() == [1, 2, 3]
    np.testing.assert_array_equal(table, [[3.0, 2.0, np.nan], [4.0, 3.0, 1.0], [np.nan] * 3])
    steps, k, table = spectra.table(7, "gradient", most=2)  # the first and the last index
    assert k.tolist() == [1, 3]
    np.testing.assert_array_equal(table, [[3.0, np.nan], [4.0, 1.0], [np.nan] * 2])
    steps, k, table = spectra.table(7, "momentum")
    assert steps.size == 0 and table.size == 0


def test_indices_are_all_kept_up_to_the_most_then_evenly_spaced_with_both_ends():
    np.testing.assert_array_equal(evenly_spaced_indices(5, 256), np.arange(5))
    kept = evenly_spaced_indices(4096, 256)
    assert kept.size == 256 and kept[0] == 0 and kept[-1] == 4095
    assert np.ptp(np.diff(kept)) <= 1  # evenly spaced, to the nearest index
