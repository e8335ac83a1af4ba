"""A run whose population is sampled says so in every snapshot and in its final report."""

import numpy as np
import pytest
import torch

from muonscope.engine.config import ExperimentConfig, LaneConfig, RunConfig, TaskConfig
from muonscope.engine.headless import run_session
from muonscope.engine.session import Session


def _config(n_items: int, batch_size: int = 64) -> ExperimentConfig:
    return ExperimentConfig(
        task=TaskConfig(d=16, n_items=n_items, alpha=1.2, batch_size=batch_size),
        lanes=(LaneConfig(optimizer="muon", lr=0.3), LaneConfig(optimizer="sgd", lr=20.0, momentum=0.9)),
        run=RunConfig(steps=4, eval_every=2, exact_eval_items=128),
    )


def test_a_sampled_run_reports_estimates_with_their_sample_and_errors():
    session = Session(_config(n_items=2000))
    outcome = run_session(session, 4)
    lanes = session.snapshot().lanes
    for lane, report in zip(lanes, outcome.report["lanes"], strict=True):
        assert lane.eval_step == 4 and lane.eval_estimated and lane.eval_sampled_items == 128
        assert np.isfinite(lane.class_error).sum() == 128  # the other items were not evaluated
        assert np.array_equal(np.isfinite(lane.class_error), np.isfinite(lane.item_recovered))
        assert lane.group_error.shape == lane.group_loss.shape == lane.group_loss_se.shape
        assert lane.loss_se > 0 and lane.accuracy_se >= 0 and lane.recovered_se >= 0
        assert report["estimated"] is True and report["sampled_items"] == 128
        assert report["recovered"] == lane.recovered and report["loss_se"] == lane.loss_se
        assert report["recovered_se"] == lane.recovered_se and report["accuracy_se"] == lane.accuracy_se
        # the population gradient is known in closed form at W = 0 only: a sampled run has no other
        assert lane.signal_step == 1


def test_an_exact_run_reports_no_errors_and_no_sample():
    session = Session(_config(n_items=100))
    report = run_session(session, 4).report
    for lane, entry in zip(session.snapshot().lanes, report["lanes"], strict=True):
        assert not lane.eval_estimated and lane.eval_sampled_items == 0
        assert lane.loss_se == lane.recovered_se == lane.accuracy_se == 0.0
        assert np.isfinite(lane.class_error).all() and not np.isnan(lane.item_recovered).any()
        assert entry["estimated"] is False and entry["sampled_items"] is None
        assert entry["loss_se"] is entry["accuracy_se"] is entry["recovered_se"] is None  # not 0: none taken


def test_a_stream_without_items_reports_no_item_counts():
    """A spiked stream has no items: "recovered 0" beside "loss n/a" read as a lane that learnt nothing."""
    config = ExperimentConfig(
        task=TaskConfig(kind="spiked", rows=12, cols=10, strengths=(5.0, 3.0)),
        lanes=(LaneConfig(optimizer="muon", lr=0.01, momentum=0.9),),
        run=RunConfig(steps=3),
    )
    report = run_session(Session(config), 3).report["lanes"][0]
    assert report["recovered"] is report["recovered_se"] is report["recovered_prefix"] is None
    assert report["loss"] is None and report["alignment"] is not None  # what a stream does measure
    memory = run_session(Session(_config(n_items=100)), 2).report["lanes"][0]
    assert isinstance(memory["recovered"], int)  # a memory counts its items


def test_what_was_not_computed_or_does_not_apply_is_null_not_a_placeholder():
    """Before any spectra a report read "gap_rank": 0 and "signal_step": -1; an SGD lane "order": "pre"."""
    config = _config(n_items=100).with_values([("run.spectra_every", 5), ("run.eval_every", 5)])
    muon, sgd = run_session(Session(config), 0).report["lanes"]
    assert muon["order"] == "pre" and sgd["order"] is None
    for lane in (muon, sgd):
        assert lane["gap"] is lane["gap_rank"] is lane["signal_step"] is lane["alignment"] is None
    muon, _sgd = run_session(Session(config), 2).report["lanes"]
    assert muon["gap_rank"] is None and muon["signal_step"] == 1  # the update after W = 0's evaluation
    muon, _sgd = run_session(Session(config), 5).report["lanes"]
    assert muon["gap_rank"] >= 1 and muon["gap"] is not None


def test_the_metrics_table_says_which_rows_are_estimates_with_their_sample_and_errors(tmp_path):
    """The per-step tables of a d = 512 run held its estimates with no sign that they were any."""
    import pyarrow.parquet as pq

    tables = {}
    for name, n_items in (("sampled", 2000), ("exact", 100)):
        session = Session(_config(n_items=n_items))
        run_session(session, 4)
        tables[name] = pq.read_table(session.branch.metrics.write(tmp_path / f"{name}.parquet")).to_pydict()
        lanes = session.snapshot().lanes
        at_end = [i for i, step in enumerate(tables[name]["step"]) if step == 4]
        written = [tables[name]["recovered_se"][i] for i in at_end]
        assert [None if _missing(v) else v for v in written] == [
            lane.recovered_se if lane.eval_estimated else None for lane in lanes
        ]
    sampled, exact = tables["sampled"], tables["exact"]
    evaluated = [i for i, step in enumerate(sampled["step"]) if step in (2, 4)]
    assert {sampled["sampled_items"][i] for i in evaluated} == {128}
    assert all(sampled["loss_se"][i] > 0 and sampled["accuracy_se"][i] >= 0 for i in evaluated)
    for name in ("sampled_items", "loss_se", "accuracy_se", "recovered_se"):
        assert all(map(_missing, exact[name])), name  # exact: no sample, no error (missing, not 0)
        assert _missing(sampled[name][sampled["step"].index(1)])  # not evaluated at step 1


def _missing(value) -> bool:
    """Null (a count) or NaN (a float column): how a table writes a value not computed."""
    return value is None or value != value


def test_a_lane_without_momentum_reports_no_momentum_order():
    """A SignGD lane at μ = 0 (no buffer) was reported with "order": "pre" beside "buffer": null."""
    config = _config(n_items=100).with_values([("lanes[1].optimizer", "signgd"), ("lanes[1].momentum", 0.0)])
    muon, signgd = run_session(Session(config), 1).report["lanes"]
    assert signgd["order"] is None and signgd["buffer"] is None and signgd["momentum"] == 0.0
    assert muon["order"] == "pre"


def _stop_asked_in_step(session: Session, step: int):
    """A stop request (Ctrl-C, SIGTERM) made while ``step`` is under way: asked from then on, it holds."""
    asked = []

    def stop_requested() -> bool:
        if session.experiment.step_under_way == step:
            asked.append(step)
        return bool(asked)

    return stop_requested


@pytest.mark.parametrize("long_step", [True, False], ids=["a long step", "a short step"])
def test_a_stop_during_a_long_step_undoes_it_and_a_short_one_is_finished(long_step):
    """A SIGTERM during a step of minutes was seen only after it: the run went on for ten minutes.
    A step that has run long enough (here: any) is abandoned, undone whole, and the run ends where it
    stood, its metrics said to be of the last evaluation; a short one is finished and evaluated."""
    config = _config(n_items=100).with_values([("run.eval_every", 10)])
    session = Session(config)
    stop = _stop_asked_in_step(session, 3)
    outcome = run_session(session, 50, stop_requested=stop, abandon_after_s=0.0 if long_step else 1e9)
    ended = 2 if long_step else 3
    assert outcome.interrupted and outcome.report["step"] == ended and session.step == ended
    whole = Session(config)
    whole.run(ended)
    assert torch.equal(session.experiment.weights, whole.experiment.weights)  # no trace of a step undone
    evaluated = 0 if long_step else 3  # not since W = 0 (eval_every 10), or at the step finished
    assert {lane["eval_step"] for lane in outcome.report["lanes"]} == {evaluated}
