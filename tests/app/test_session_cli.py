"""``muonscope run --save/--resume/--rewind/--until`` and ``muonscope inspect``: the command-line contract."""

import contextlib
import io
import json
import os
import re
import select
import shlex
import shutil
import signal
import struct
import subprocess
import sys
import threading

import numpy as np
import pyarrow.parquet as pq
import pytest

from muonscope.app.cli import main
from muonscope.engine.breakpoints import parse_breakpoint
from muonscope.engine.config import ExperimentConfig
from muonscope.engine.inspection import lane_matrices
from muonscope.engine.session import Session
from muonscope.engine.session_file import open_session, save_session
from tests.app.helpers import first_line_then_ctrl_c

SMALL = [
    *("--set", "task.d=16"),
    *("--set", "task.n_items=64"),
    *("--set", "task.batch_size=16"),
    *("--set", "run.eval_every=7"),
    *("--set", "run.spectra_every=3"),
]
QUIET = ["--no-progress", "--json"]
#: Two lanes for inspect: SGD without momentum (no M) and Muon.
INSPECT_LANES = ["--lane", "optimizer=sgd,momentum=0,lr=0.5", "--lane", "optimizer=muon"]


def _call(*argv: str) -> tuple[int, str, str]:
    """``main(argv)`` with its stdout and stderr (for module fixtures, where capsys is not available)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in argv])
    return code, out.getvalue(), err.getvalue()


def _run(capsys, *argv) -> tuple[int, str, str]:
    code = main(["run", *(str(a) for a in argv)])
    out, err = capsys.readouterr()
    return code, out, err


#: The lines a run that went to its end writes on stderr for --save and --out.
_DONE_LINES = re.compile(r"muonscope run: (session saved to .+ \(step \d+\)|wrote .+ in .+)\n")


def _notes(err: str) -> str:
    """What a run wrote on stderr besides saying what it saved and wrote."""
    return _DONE_LINES.sub("", err)


def _ok(result: tuple[int, str, str], note: str = "") -> str:
    """The output of a run that succeeded and wrote nothing on stderr but ``note``, a line it begins
    (besides saying what it saved and wrote)."""
    code, out, err = result
    assert code == 0, err
    err = _notes(err)
    if note:
        assert err.count("\n") == 1 and err.startswith(f"muonscope run: {note}"), err
    else:
        assert err == ""
    return out


def _rewound(result: tuple[int, str, str], step: int, fork: str | None) -> str:
    """A run after --rewind: it says where it went back to, and whether the changes forked (``fork``)."""
    out = _ok(result, f"went back to step {step} of 'main'")
    said = "fork " + repr(fork) if fork else "nothing forked"
    assert said in result[2], result[2]
    return out


def _usage_error(result: tuple[int, str, str], *names: str) -> str:
    """Exit 2, nothing on stdout, and one line on stderr naming each of ``names``."""
    code, out, err = result
    assert code == 2, (out, err)
    assert out == ""
    assert err.count("\n") == 1 and err.endswith("\n"), err
    for name in names:
        assert name in err, err
    return err


@pytest.fixture(scope="module")
def saved(tmp_path_factory) -> dict:
    """A straight 60-step run, and sessions saved after 30 and 60 steps of the same run."""
    folder = tmp_path_factory.mktemp("sessions")
    straight = _ok(_call("run", *SMALL, "--steps", "60", *QUIET))
    _ok(_call("run", *SMALL, "--steps", "30", *QUIET, "--save", folder / "s30"))
    assert _ok(_call("run", *SMALL, "--steps", "60", *QUIET, "--save", folder / "s60")) == straight
    _ok(_call("run", *SMALL, *INSPECT_LANES, "--steps", "20", *QUIET, "--save", folder / "lanes"))
    return {"straight": straight, "s30": folder / "s30", "s60": folder / "s60", "lanes": folder / "lanes"}


# ---- resuming is the same run ---------------------------------------------------------------------


def test_resuming_a_saved_run_prints_what_the_straight_run_prints(capsys, saved):
    out = _ok(_run(capsys, "--resume", saved["s30"], "--steps", "60", *QUIET))
    assert out == saved["straight"]
    assert json.loads(out)["step"] == 60


def test_a_streams_table_has_no_item_counts_and_resumed_is_the_straight_runs(capsys, tmp_path):
    """A gradient stream has no items: its table said "recovered 0" at every evaluation step, and a
    run resumed at step 8 added 0s at step 8 where the straight run's table had none."""
    stream = [*("--set", "task.kind=spiked"), *("--set", "task.rows=8"), *("--set", "task.cols=6")]
    table = ["--no-progress", "--format", "csv", "--steps", "20"]
    _ok(_run(capsys, *stream, *table, "--out", tmp_path / "straight"))
    _ok(_run(capsys, *stream, "--no-progress", "--steps", "8", "--save", tmp_path / "s8"))
    _ok(_run(capsys, "--resume", tmp_path / "s8", *table, "--out", tmp_path / "resumed"))
    straight = (tmp_path / "straight" / "metrics.csv").read_text()
    assert (tmp_path / "resumed" / "metrics.csv").read_text() == straight
    header, *rows = [line.split(",") for line in straight.splitlines()]
    counts = [header.index("recovered"), header.index("recovered_prefix")]
    assert rows and all(row[i] == "" for row in rows for i in counts)


def test_set_run_steps_on_resume_is_the_runs_length_and_refused_beside_steps(capsys, saved):
    """It was dropped without a word: the run stayed at the session's 30 steps and exited 0."""
    out = _ok(_run(capsys, "--resume", saved["s30"], "--set", "run.steps=60", *QUIET))
    assert json.loads(out)["step"] == 60 and out == saved["straight"]
    both = _run(capsys, "--resume", saved["s30"], "--steps", "40", "--set", "run.steps=60", *QUIET)
    _usage_error(both, "--steps", "--set run.steps sets the run's length too")
    short = _run(capsys, "--resume", saved["s30"], "--set", "run.steps=20", *QUIET)
    _usage_error(short, "run.steps", "must be at least 30")


def test_resuming_a_session_at_its_length_without_steps_says_there_is_no_step_to_run(capsys, saved):
    code, out, err = _run(capsys, "--resume", saved["s60"], *QUIET)
    assert code == 0 and json.loads(out)["step"] == 60
    assert err == (
        "muonscope run: the session is at its run length, step 60: no step to run "
        "(--steps N runs it on to N steps in all)\n"
    )
    assert _run(capsys, "--resume", saved["s60"], "--steps", "60", *QUIET)[2] == ""  # asked for: no note


def test_rewinding_and_running_again_prints_the_same(capsys, saved):
    result = _run(capsys, "--resume", saved["s60"], "--rewind", "30", "--steps", "60", *QUIET)
    out = _rewound(result, 30, None)
    assert out == saved["straight"]


def test_rewinding_to_a_step_reports_that_step_as_a_run_that_ended_there(capsys, saved):
    result = _run(capsys, "--resume", saved["s60"], "--rewind", "25", "--steps", "25", *QUIET)
    rewound = _rewound(result, 25, None)
    assert rewound == _ok(_run(capsys, *SMALL, "--steps", "25", *QUIET))


def test_a_change_after_a_rewind_forks_and_equals_a_change_made_there(capsys, saved, tmp_path):
    change = ["--set", "lanes[0].lr=0.3"]
    forked = _rewound(
        _run(
            capsys,
            *("--resume", saved["s60"], "--rewind", "30", *change, "--steps", "60"),
            *(*QUIET, "--save", tmp_path / "s2"),
        ),
        30,
        "fork 1 at step 30",
    )
    continued = _ok(_run(capsys, "--resume", saved["s30"], *change, "--steps", "60", *QUIET))
    # the same run, told apart by the branch it ended on
    forked_report, continued_report = json.loads(forked), json.loads(continued)
    assert forked_report.pop("branch") == {"name": "fork 1 at step 30", "parent": "main", "fork_step": 30}
    assert continued_report.pop("branch") == {"name": "main", "parent": None, "fork_step": None}
    assert forked_report == continued_report
    assert forked != saved["straight"]
    assert forked_report["config"]["lanes"][0]["lr"] == 0.3
    session = open_session(tmp_path / "s2")
    assert len(session.branches) == 2
    main_branch, fork = session.branches
    assert (main_branch.head_step, fork.parent, fork.fork_step, fork.head_step) == (60, 0, 30, 60)
    assert session.branch is fork and session.step == 60
    assert [(step, change.path, change.value) for step, change in fork.changes] == [(30, "lanes[0].lr", 0.3)]
    assert main_branch.changes == ()
    assert _ok(_run(capsys, "--resume", tmp_path / "s2", "--steps", "60", *QUIET)) == forked
    # the original branch is kept: continued by --branch, by name or index, it is the straight run
    for branch in ("main", "0"):
        main_run = _ok(_run(capsys, "--resume", tmp_path / "s2", "--branch", branch, "--steps", "60", *QUIET))
        assert main_run == saved["straight"]
    _usage_error(_run(capsys, "--resume", tmp_path / "s2", "--branch", "2", *QUIET), "--branch", "main")
    _usage_error(_run(capsys, "--branch", "main", *SMALL, "--steps", "1", *QUIET), "--branch", "--resume")


def test_a_setting_given_as_the_session_has_it_is_no_change(capsys, saved, tmp_path):
    """A script that always passes run.dtype was refused its own session's ("changes only with a
    reset"); an lr given as it was forked a branch at a rewind."""
    as_it_is = ("--set", "run.dtype=auto", "--set", "task.d=16", "--lane", "lr=128")
    same = _ok(_run(capsys, "--resume", saved["s30"], *as_it_is, "--steps", "60", *QUIET))
    assert same == saved["straight"]
    rewound = _run(capsys, "--resume", saved["s60"], "--rewind", "30", *as_it_is, "--steps", "60", *QUIET)
    assert _ok(rewound, "went back to step 30 of 'main' and replays from there") == saved["straight"]
    # a lane switched to another optimizer keeps an lr given as it was (else the switch resets it)
    switched = ("--lane", "optimizer=signgd,lr=128", "--steps", "31", *QUIET)
    switched_config = json.loads(_ok_with_notes(_run(capsys, "--resume", saved["s30"], *switched)))["config"]
    assert switched_config["lanes"][0]["optimizer"] == "signgd" and switched_config["lanes"][0]["lr"] == 128
    refused = _run(capsys, "--resume", saved["s30"], "--set", "run.dtype=float32", *QUIET)
    _usage_error(refused, "run.dtype = 'float32'", "changes only with a reset; it is 'auto' in this run")


def test_switching_a_lanes_optimizer_on_resume_sets_its_default_rate_and_says_so(capsys, saved):
    code, out, err = _run(
        capsys, "--resume", saved["s30"], "--set", "lanes[0].optimizer=signgd", "--steps", "31", *QUIET
    )
    assert code == 0, err
    assert err == "muonscope run: lane 0: SGD → SignGD, lr 128 → 0.01, buffer sum → ema (SignGD's defaults)\n"
    lane = json.loads(out)["config"]["lanes"][0]
    assert (lane["optimizer"], lane["lr"]) == ("signgd", 0.01)


def test_a_lane_switched_on_resume_reports_no_alignment_measured_under_its_old_settings(capsys, saved):
    """``--lane optimizer=adam`` on resume printed the SGD lane's step-1 alignment under Adam's name."""
    before = json.loads(_ok(_run(capsys, "--resume", saved["s30"], "--steps", "30", *QUIET)))["lanes"]
    assert all(lane["alignment"] is not None and lane["settings_step"] == 0 for lane in before)
    code, out, err = _run(
        capsys, "--resume", saved["s30"], "--lane", "optimizer=adam", "--steps", "30", *QUIET
    )
    assert code == 0, err
    switched, *others = json.loads(out)["lanes"]
    assert switched["optimizer"] == "adam" and switched["settings_step"] == 30
    assert switched["alignment"] is None and switched["sin_theta"] is None and switched["signal_step"] is None
    assert [lane["alignment"] for lane in others] == [lane["alignment"] for lane in before[1:]]
    code, out, err = _run(capsys, "--resume", saved["s30"], "--lane", "optimizer=adam", "--steps", "30")
    assert "a lane whose settings changed at step 30 has no update measured since" in out
    assert "n/a" in next(line for line in out.splitlines() if line.startswith("Adam"))


def test_a_rate_given_with_a_switch_on_resume_holds_whatever_the_order(capsys, saved):
    changes = ["--set", "lanes[0].lr=0.05", "--set", "lanes[0].optimizer=signgd"]
    code, out, err = _run(capsys, "--resume", saved["s30"], *changes, "--steps", "31", *QUIET)
    assert code == 0, err
    lane = json.loads(out)["config"]["lanes"][0]
    assert (lane["optimizer"], lane["lr"]) == ("signgd", 0.05)
    assert err == "muonscope run: lane 0: SGD → SignGD, buffer sum → ema (SignGD's default)\n"  # not lr 0.01


def test_a_field_of_the_optimizer_a_lane_switches_to_on_resume_is_read(capsys, saved):
    """The fields are checked on the lane as the options leave it: Muon reads its polar map."""
    argv = ["--resume", saved["s30"], "--lane", "polar=ns,ns_steps=3", "--set", "lanes[0].optimizer=muon"]
    lane = json.loads(_ok_with_notes(_run(capsys, *argv, "--steps", "31", *QUIET)))["config"]["lanes"][0]
    assert (lane["optimizer"], lane["polar"], lane["ns_steps"]) == ("muon", "ns", 3)


def _ok_with_notes(result: tuple[int, str, str]) -> str:
    code, out, err = result
    assert code == 0, err
    return out


def test_an_empty_lane_spec_on_resume_leaves_that_lane_so_a_later_one_can_be_added(capsys, saved):
    def report(*argv: str) -> dict:
        return json.loads(_ok(_run(capsys, "--resume", saved["lanes"], *argv, "--steps", "26", *QUIET)))

    by_lane = report("--lane", "", "--lane", "lr=0.2")
    assert by_lane == report("--set", "lanes[1].lr=0.2")
    assert by_lane["config"]["lanes"][1]["lr"] == 0.2
    kept = [lane["label"] for lane in report()["lanes"]]
    added = report("--lane", " ", "--lane", "", "--lane", "optimizer=signgd,lr=0.01")
    assert [lane["label"] for lane in added["lanes"]] == [*kept, "SignGD lr=0.01"]
    _usage_error(
        _run(capsys, "--resume", saved["lanes"], "--lane", "", "--lane", "", "--lane", "", *QUIET),
        "--lane[2] = ''",
        "past the session's 2 lanes",
    )


def test_resuming_keeps_the_sessions_breakpoints_and_says_run_does_not_stop_there(capsys, saved, tmp_path):
    shutil.copytree(saved["lanes"], tmp_path / "s")
    session = open_session(tmp_path / "s")
    session.set_breakpoints([parse_breakpoint("batch_loss < 1e9"), parse_breakpoint("SGD lr=0.5:diverged")])
    save_session(session, tmp_path / "s")
    argv = ("--resume", tmp_path / "s", "--set", "lanes[0].lr=0.25", "--steps", "24", *QUIET)
    code, out, err = _run(capsys, *argv, "--save", tmp_path / "s")
    assert code == 0
    assert json.loads(out)["step"] == 24  # a breakpoint that holds at every step did not stop it
    assert _notes(err).splitlines()[-1] == (
        "muonscope run: the session's breakpoints ('batch_loss < 1e9', 'SGD lr=0.25:diverged') are kept; "
        "run stops at --until"
    )
    # kept, the lane label following the lane's new rate, the condition as typed
    assert [b.text for b in open_session(tmp_path / "s").breakpoints] == [
        "batch_loss < 1e9",
        "SGD lr=0.25:diverged",
    ]


def test_the_config_written_by_a_run_that_changed_settings_lists_the_changes(capsys, saved, tmp_path):
    from muonscope.engine.presets import load_config_file

    _ok(_run(capsys, *SMALL, "--steps", "4", *QUIET, "--out", tmp_path / "plain"))
    assert not (tmp_path / "plain" / "config.toml").read_text().startswith("#")
    argv = ("--resume", saved["s30"], "--rewind", "10", "--set", "task.label_noise=0.2", "--steps", "32")
    result = _run(capsys, *argv, *QUIET, "--out", tmp_path / "changed")
    report = json.loads(_ok(result, "went back to step 10"))
    text = (tmp_path / "changed" / "config.toml").read_text()
    header = [line for line in text.splitlines() if line.startswith("#")]
    assert header[-1] == "#   at step 10: task.label_noise = 0.2" and "another run" in header[0] + header[1]
    written = load_config_file(tmp_path / "changed" / "config.toml").config  # the comments do not hurt
    assert written.to_dict() == report["config"]


def test_the_tables_of_a_run_stopped_before_its_branchs_end_stop_where_it_did(capsys, saved, tmp_path):
    """A rewind to step 10 run on to 25 of a branch that goes on to 60 and changed a setting at 30
    wrote its tables with every row to step 60 and the change at 30 in the config's header: the
    tables are those of the straight 25-step run."""
    changed = ("--resume", saved["s30"], "--set", "task.label_noise=0.2", "--steps", "60")
    _ok(_run(capsys, *changed, *QUIET, "--save", tmp_path / "s"))
    table = ["--no-progress", "--format", "csv", "--steps", "25"]
    _ok(_run(capsys, *SMALL, *table, "--out", tmp_path / "straight"))
    rewind = ("--resume", tmp_path / "s", "--rewind", "10")
    _ok(_run(capsys, *rewind, *table, "--out", tmp_path / "rewound"), "went back to step 10")
    for name in ("metrics.csv", "config.toml"):
        assert (tmp_path / "rewound" / name).read_text() == (tmp_path / "straight" / name).read_text()
    assert open_session(tmp_path / "s").branch.head_step == 60  # the session itself is untouched


def test_a_session_the_disk_cannot_hold_is_said_and_takes_neither_the_report_nor_the_tables(
    capsys, tmp_path, monkeypatch
):
    """safetensors' own error on a full disk went past the save's message ("SafetensorError: Error
    while serializing …", no file named), and the report and tables it came before were lost."""
    import safetensors.torch
    from safetensors import SafetensorError

    def full(*_args, **_kwargs):
        raise SafetensorError("Error while serializing: I/O error: No space left on device (os error 28)")

    monkeypatch.setattr(safetensors.torch, "save_file", full)
    code, out, err = _run(
        capsys, *SMALL, "--steps", "5", *QUIET, "--save", tmp_path / "s", "--out", tmp_path / "o"
    )
    assert code == 1
    assert json.loads(out)["step"] == 5  # the report, whole
    assert sorted(path.name for path in (tmp_path / "o").iterdir()) == [
        "config.toml",
        "final.json",
        "metrics.parquet",
    ]
    assert err.splitlines()[-1] == (
        f"muonscope run: runtime failure: {tmp_path / 's'}: cannot be saved there (no space left on device)"
    )
    assert not (tmp_path / "s").exists() and sorted(path.name for path in tmp_path.iterdir()) == ["o"]


def test_resuming_and_saving_over_the_same_folder(capsys, saved, tmp_path):
    _ok(_run(capsys, *SMALL, "--steps", "20", *QUIET, "--save", tmp_path / "s"))
    _ok(_run(capsys, "--resume", tmp_path / "s", "--steps", "40", *QUIET, "--save", tmp_path / "s"))
    assert open_session(tmp_path / "s").step == 40
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s"]


def test_a_replay_saved_before_its_branchs_end_says_where_a_resume_continues(capsys, saved, tmp_path):
    """Rewound to 20 and run to 40 without a change, a 60-step session saved "step 40" while a
    resume of it continued from step 60."""
    shutil.copytree(saved["s60"], tmp_path / "s")
    again = ("--resume", tmp_path / "s", "--rewind", "20", "--steps", "40", "--save", tmp_path / "s")
    code, _out, err = _run(capsys, *again, *QUIET)
    assert code == 0 and "went back to step 20 of 'main'" in err, err
    assert "session saved to" in err and "at step 40 of 'main', which runs on to step 60" in err, err
    assert "--resume continues from step 60" in err
    assert open_session(tmp_path / "s").step == 60


def test_outputs_are_refused_in_a_saved_sessions_folder_which_still_opens(capsys, saved, tmp_path):
    session = tmp_path / "s30"
    shutil.copytree(saved["s30"], session)
    _usage_error(_run(capsys, *SMALL, "--steps", "5", "--out", session), "--out", "holds a saved session")
    _usage_error(
        _run(capsys, *SMALL, "--steps", "5", "--out", tmp_path / "both", "--save", tmp_path / "both"),
        "--out",
        "--save",
    )
    assert open_session(session).step == 30
    assert not (tmp_path / "both").exists()


def test_outputs_written_again_in_the_other_format_replace_the_table_before(capsys, tmp_path):
    _ok(_run(capsys, *SMALL, "--steps", "6", *QUIET, "--out", tmp_path / "out"))
    replaced = tmp_path / "out" / "metrics.parquet"
    note = f"removed {replaced}, the same table in the format before"
    _ok(_run(capsys, *SMALL, "--steps", "3", *QUIET, "--out", tmp_path / "out", "--format", "csv"), note)
    written = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert written == ["config.toml", "final.json", "metrics.csv"]


# ---- --until -----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def trace(saved) -> dict:
    """Every step of the straight run through the engine: lane 1's batch loss and lane 2's population loss."""
    config = ExperimentConfig.from_dict(json.loads(saved["straight"])["config"])
    session = Session(config)
    batch_loss, loss = {}, {}
    for _ in range(60):
        snapshot = session.step_once()
        batch_loss[snapshot.step] = snapshot.lanes[1].batch_loss
        if snapshot.step % 7 == 0:  # run.eval_every
            assert snapshot.lanes[2].eval_step == snapshot.step
            loss[snapshot.step] = snapshot.lanes[2].loss
    return {"batch_loss": batch_loss, "loss": loss}


def _first(values: dict, holds) -> int:
    return next(step for step, value in sorted(values.items()) if holds(value))


def test_until_stops_at_the_first_step_a_per_step_metric_holds(capsys, trace, tmp_path):
    threshold = float(np.median(list(trace["batch_loss"].values())))
    expected = _first(trace["batch_loss"], lambda v: v < threshold)
    assert 1 < expected < 60
    text = f"1:batch_loss < {threshold!r}"
    code, out, err = _run(capsys, *SMALL, "--steps", "60", *QUIET, "--until", text, "--save", tmp_path / "s")
    assert code == 0
    report = json.loads(out)
    assert report["stopped_by"] == text
    assert report["step"] == expected
    label = report["lanes"][1]["label"]
    assert report["stopped_at"] == {"lane": 1, "label": label, "value": trace["batch_loss"][expected]}
    stopped, saved_at = err.splitlines()
    assert stopped.startswith(f"muonscope run: Stopped at step {expected}") and text in stopped
    assert saved_at == f"muonscope run: session saved to {tmp_path / 's'} (step {expected})"
    assert "held already" not in err
    assert open_session(tmp_path / "s").branch.head_step == expected


def test_until_that_holds_where_the_run_begins_says_so_when_it_stops_the_run(capsys):
    """ "Stopped at step 7" alone read as if it first held there, not at step 0 (where it is not checked)."""
    code, out, err = _run(capsys, *SMALL, "--steps", "60", *QUIET, "--until", "recovered >= 0")
    assert code == 0 and err.startswith("muonscope run: Stopped at step 7: breakpoint 'recovered >= 0' holds")
    report = json.loads(out)
    held = report["stopped_at"]
    # a count, as the report's lanes give it ("value": 502.0 beside "recovered": 502)
    assert held["value"] == report["lanes"][held["lane"]]["recovered"] and type(held["value"]) is int
    assert err.rstrip().endswith(
        "; it held already at step 0, where the run began: a condition is checked on the steps run"
    )


def test_until_on_a_population_metric_is_checked_where_it_is_evaluated(capsys, trace):
    losses = trace["loss"]
    records = [s for s in losses if s > 7 and losses[s] < min(v for t, v in losses.items() if t < s)]
    assert records, losses
    expected = records[-1]  # the last new low: a threshold just above it first holds there
    threshold = (losses[expected] + min(v for t, v in losses.items() if t < expected)) / 2
    assert _first(losses, lambda v: v < threshold) == expected
    text = f"2:loss < {threshold!r}"
    report = json.loads(_run(capsys, *SMALL, "--steps", "60", *QUIET, "--until", text)[1])
    assert (report["stopped_by"], report["step"]) == (text, expected)


def test_until_any_of_several_stops_at_the_earliest(capsys, trace):
    late = f"0:loss < {min(trace['loss'].values())!r}"  # never strictly below its own minimum
    early_threshold = float(np.median(list(trace["batch_loss"].values())))
    early = f"1:batch_loss < {early_threshold!r}"
    expected = _first(trace["batch_loss"], lambda v: v < early_threshold)
    report = json.loads(_run(capsys, *SMALL, "--steps", "60", *QUIET, "--until", late, "--until", early)[1])
    assert (report["stopped_by"], report["step"]) == (early, expected)


def test_until_that_never_holds_runs_to_the_end_with_stopped_by_null(capsys, saved):
    code, out, err = _run(capsys, *SMALL, "--steps", "60", *QUIET, "--until", "loss < -1")
    assert code == 0 and err == (
        "muonscope run: --until 'loss < -1' never held; the run went on to step 60 (loss, accuracy, "
        "recovered, … are checked where the population is evaluated: every 7 steps, run.eval_every, "
        "and the last step)\n"
    )
    report = json.loads(out)
    assert report["stopped_by"] is None and report["stopped_at"] is None and report["also_held"] == []
    assert report["step"] == 60
    until_keys = ("stopped_by", "stopped_at", "also_held")
    assert {k: v for k, v in report.items() if k not in until_keys} == json.loads(saved["straight"])


def test_until_on_a_population_metric_is_checked_at_the_last_step_the_report_evaluates(capsys):
    """The report evaluates the last step off the cadence: "never held" sat above a loss that met it."""
    code, out, err = _run(capsys, *SMALL, "--steps", "3", *QUIET, "--until", "loss < 1e9")
    report = json.loads(out)
    assert (report["stopped_by"], report["step"]) == ("loss < 1e9", 3)
    # it holds at the run's last step: the run was not stopped, it ran to its end
    assert code == 0
    assert err.startswith("muonscope run: Ran to its end at step 3: breakpoint 'loss < 1e9' holds")


def test_a_stop_names_every_until_that_holds_there(capsys):
    """Where the run stops its population is evaluated for the report: a population condition that
    holds there is named with the one that stopped it; one that does not is left out."""
    holds = ("--until", "0:batch_loss > -inf", "--until", "accuracy >= 0", "--until", "loss < -1")
    code, out, err = _run(capsys, *SMALL, "--steps", "7", *QUIET, *holds)
    report = json.loads(out)
    assert code == 0 and report["stopped_by"] == "0:batch_loss > -inf"
    assert report["also_held"] == ["accuracy >= 0"]  # as stderr says
    assert err.startswith("muonscope run: Stopped at step 1: breakpoint '0:batch_loss > -inf' holds")
    assert err.endswith("; 'accuracy >= 0' holds too\n")
    code, out, err = _run(capsys, *SMALL, "--steps", "7", *QUIET, "--until", "1:batch_loss > -inf", *holds)
    assert err.endswith("; '0:batch_loss > -inf', 'accuracy >= 0' hold too\n")
    assert json.loads(out)["also_held"] == ["0:batch_loss > -inf", "accuracy >= 0"]


def test_without_until_there_is_no_stopped_by(saved):
    assert "stopped_by" not in json.loads(saved["straight"])


def test_until_on_a_resumed_session_checks_from_the_next_step(capsys, saved, trace):
    after_30 = {step: value for step, value in trace["batch_loss"].items() if step > 30}
    threshold = float(np.median(list(after_30.values())))
    expected = _first(after_30, lambda v: v < threshold)
    text = f"1:batch_loss < {threshold!r}"
    report = json.loads(_run(capsys, "--resume", saved["s30"], "--steps", "60", *QUIET, "--until", text)[1])
    assert (report["stopped_by"], report["step"]) == (text, expected)


def test_until_names_a_lane_by_the_label_it_bore_before_set_relabelled_it(capsys, saved):
    """``inspect`` shows "SGD … lr=128"; --set lr=64 made that label refused as "no lane is labelled"."""
    old_label = json.loads(saved["straight"])["lanes"][0]["label"]
    assert old_label.endswith("lr=128")
    typed = f"{old_label}:batch_loss > -inf"
    resumed = ("--resume", saved["s30"], "--set", "lanes[0].lr=64", "--steps", "40", *QUIET)
    code, out, err = _run(capsys, *resumed, "--until", typed)
    report = json.loads(out)
    assert code == 0 and (report["stopped_by"], report["step"]) == (typed, 31)  # as typed, for a script
    assert report["lanes"][0]["label"].endswith("lr=64") and "holds for lane 0" in err
    assert f"(typed as '{typed}':" in err  # stderr names it by the label it bears now, --json as typed
    code, out, err = _run(capsys, *resumed, "--until", typed, "--until", "batch_loss>-inf")
    assert json.loads(out)["also_held"] == ["batch_loss>-inf"]
    assert (
        f"(typed as '{typed}': its lane's label changed with the settings); 'batch_loss>-inf' holds too"
        in err
    )
    code, out, err = _run(capsys, *resumed, "--until", f"{report['lanes'][0]['label']}:batch_loss > -inf")
    assert code == 0 and json.loads(out)["step"] == 31  # the label it bears now names it too
    assert "typed as" not in err


def test_until_on_a_session_already_at_its_length_says_it_took_no_step_to_check(capsys, saved):
    """It read "never held; the run went on to step 60" where no step was taken and it held there."""
    resumed = ("--resume", saved["s60"], "--steps", "60", *QUIET)
    code, _out, err = _run(capsys, *resumed, "--until", "loss < -1")
    not_checked = "muonscope run: --until 'loss < -1' was not checked: no step was taken from step 60"
    assert code == 0 and err == f"{not_checked}; it does not hold there\n"
    code, _out, err = _run(capsys, *resumed, "--until", "0:batch_loss > -inf")
    assert err.startswith(
        "muonscope run: --until '0:batch_loss > -inf' was not checked: no step was taken from step 60; "
        "'0:batch_loss > -inf' holds there already for lane 0 ("
    )


@pytest.mark.parametrize(
    ("rewind", "says"),
    [
        ((), "must be at least 60, the session's step (or --rewind K)"),
        (("--rewind", "20"), "must be at least 20, where --rewind went back to"),
    ],
)
def test_steps_below_where_the_session_stands_names_that_step_and_what_steps_means(
    capsys, saved, rewind, says
):
    message = _usage_error(
        _run(capsys, "--resume", saved["s60"], *rewind, "--steps", "10", *QUIET), "--steps"
    )
    assert says in message and "the run's length" in message


@pytest.mark.parametrize(
    ("expression", "says"),
    [
        ("nonsense < 1", "unknown metric 'nonsense'"),
        ("loss => 1", "is not a comparison"),
        ("loss ~ 1", "is not a comparison"),
        ("loss <", "missing a number"),
        ("loss < many", "is not a number"),
        ("loss < nan", "nan"),
        ("9:loss < 1", "lane 9 does not exist"),
        ("Nobody:loss < 1", "no lane is labelled 'Nobody'"),
        (":loss < 1", "nothing before ':'"),
        ("", "empty"),
    ],
)
def test_a_bad_until_expression_exits_2_naming_it(capsys, tmp_path, expression, says):
    result = _run(capsys, *SMALL, "--steps", "5", *QUIET, "--until", expression, "--save", tmp_path / "s")
    _usage_error(result, "--until", says, repr(expression.strip()))
    assert not (tmp_path / "s").exists()


def test_a_bad_until_on_resume_is_checked_against_the_sessions_lanes(capsys, saved):
    _usage_error(_run(capsys, "--resume", saved["lanes"], "--steps", "25", "--until", "2:loss < 1"), "lane 2")
    adam = "Adam β=(0.9, 0.999) lr=0.1:loss < 1"  # a lane of the default preset, not of this session
    _usage_error(
        _run(capsys, "--resume", saved["lanes"], "--steps", "25", "--until", adam), "no lane is labelled"
    )


# ---- inspect -----------------------------------------------------------------------------------------


def _inspect(capsys, *argv) -> tuple[int, str, str]:
    code = main(["inspect", *(str(a) for a in argv)])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(
    ("step", "lane", "tensor", "index"),
    [
        (0, "0", "W", 0),
        (9, "1", "M", 1),
        (9, "SGD lr=0.5", "G", 0),
        (20, "1", "update", 1),
        (13, "0", "update", 0),
    ],
)
def test_inspect_prints_and_writes_the_matrix_of_the_step(capsys, saved, tmp_path, step, lane, tensor, index):
    out_file = tmp_path / "m.npy"
    argv = (saved["lanes"], "--step", step, "--lane", lane, "--tensor", tensor, "--out", out_file)
    printed = _ok(_inspect(capsys, *argv))
    expected = lane_matrices(open_session(saved["lanes"]).matrices_at(step), index).matrices[tensor]
    written = np.load(out_file, allow_pickle=False)
    assert written.dtype == expected.dtype and written.shape == expected.shape == (16, 16)
    np.testing.assert_array_equal(written, expected)
    lines = printed.splitlines()
    assert lines[0].startswith(f"step {step} · lane {index} (") and lines[0].endswith(f") · {tensor}")
    assert lines[1] == f"shape 16×16 · float64 · Frobenius norm {np.linalg.norm(expected):.6g}"
    sv = np.linalg.svd(expected, compute_uv=False)
    assert lines[2] == "leading singular values: " + " ".join(f"{v:.6g}" for v in sv[:8])
    assert lines[-1] == f"wrote {out_file}"


def test_inspect_writes_and_names_a_float32_sessions_matrices_in_float32(capsys, tmp_path):
    """They were written widened to float64, and the printout did not say the run's dtype."""
    argv = (*SMALL, "--set", "run.dtype=float32", "--steps", "6", *QUIET, "--save", tmp_path / "s")
    _ok(_run(capsys, *argv))
    out_file = tmp_path / "g.npy"
    printed = _ok(_inspect(capsys, tmp_path / "s", "--step", 6, "--tensor", "G", "--out", out_file))
    assert printed.splitlines()[1].startswith("shape 16×16 · float32 · Frobenius norm ")
    written = np.load(out_file, allow_pickle=False)
    expected = lane_matrices(open_session(tmp_path / "s").matrices_at(6), 0).matrices["G"]
    assert written.dtype == np.float32
    np.testing.assert_array_equal(written.astype(np.float64), expected)  # the run's values, unrounded


def test_inspect_reads_the_branch_asked_for(capsys, saved, tmp_path):
    _rewound(
        _run(
            capsys,
            *("--resume", saved["lanes"], "--rewind", "5", "--set", "lanes[1].lr=0.2", "--steps", "20"),
            *(*QUIET, "--save", tmp_path / "s"),
        ),
        5,
        "fork 1 at step 5",
    )
    found = {}
    for branch in (0, 1):
        out_file = tmp_path / f"b{branch}.npy"
        argv = ("--step", 12, "--lane", 1, "--branch", branch, "--out", out_file)
        _ok(_inspect(capsys, tmp_path / "s", *argv))
        session = open_session(tmp_path / "s")
        session.switch(branch)
        expected = lane_matrices(session.matrices_at(12), 1).matrices["W"]
        found[branch] = np.load(out_file)
        np.testing.assert_array_equal(found[branch], expected)
    assert not np.array_equal(found[0], found[1])
    _usage_error(
        _inspect(capsys, tmp_path / "s", "--step", 3, "--branch", 2), "--branch", "0: main; 1: fork 1"
    )
    fork_head = open_session(tmp_path / "s").branches[1].head_step
    _usage_error(  # the branch asked for is named, with its own last step
        _inspect(capsys, tmp_path / "s", "--step", fork_head + 1, "--branch", 1),
        f"--step = {fork_head + 1}",
        "--branch “fork 1 at step 5”",
        f"0 to {fork_head}",
    )
    by_name = tmp_path / "by_name.npy"
    argv = ("--step", 12, "--lane", 1, "--branch", "fork 1 at step 5", "--out", by_name)
    _ok(_inspect(capsys, tmp_path / "s", *argv))
    np.testing.assert_array_equal(np.load(by_name), found[1])


@pytest.mark.parametrize(
    ("argv", "names"),
    [
        (("--step", "21"), ("--step = 21", "the branch saved as current, “main”", "0 to 20")),
        (("--step", "-1"), ("--step = -1",)),
        (("--step", "0", "--tensor", "G"), ("--tensor = 'G'", "step 0")),
        (("--step", "0", "--tensor", "update"), ("--tensor = 'update'", "step 0")),
        (("--step", "0", "--lane", "1", "--tensor", "M"), ("--tensor = 'M'", "step 0", "no step was taken")),
        (("--step", "5", "--lane", "0", "--tensor", "M"), ("--tensor = 'M'", "lane 0", "momentum")),
        (("--step", "5", "--lane", "Nobody"), ("--lane = 'Nobody'", "SGD lr=0.5")),
        (("--step", "5", "--lane", "2"), ("--lane = '2'",)),
        (("--step", "5", "--out", "{tmp}/m.txt"), ("--out", ".npy")),
        (("--step", "5", "--tensor", "X"), ("--tensor", "'X'")),
    ],
)
def test_inspect_errors_exit_2_on_one_line(capsys, saved, tmp_path, argv, names):
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    _usage_error(_inspect(capsys, saved["lanes"], *argv), *names)
    assert list(tmp_path.iterdir()) == []


def test_a_fork_made_before_the_fork_it_was_rewound_on_says_it_forks_from_the_step_s_branch(
    capsys, saved, tmp_path
):
    """Step 5 of a fork made at step 10 is main's: the note named the fork alone, inspect said main."""
    forked = ("--resume", saved["s30"], "--rewind", "10", "--set", "lanes[0].lr=64", "--steps", "12")
    _ok_with_notes(_run(capsys, *forked, *QUIET, "--save", tmp_path / "f1"))
    again = ("--resume", tmp_path / "f1", "--rewind", "5", "--set", "lanes[0].lr=32", "--steps", "7")
    code, _out, err = _run(capsys, *again, *QUIET, "--save", tmp_path / "f2")
    assert code == 0 and _notes(err) == (
        "muonscope run: went back to step 5 of 'fork 1 at step 10' (a step it shares with 'main'); "
        "the changes made there fork 'fork 2 at step 5' from 'main'\n"
    )
    lines = _ok(_inspect(capsys, tmp_path / "f2")).splitlines()
    fork_2 = "* 2 fork 2 at step 5 · forked at step 5 from branch 0 (main) · steps 5–7 · spectra at "
    assert any(line.startswith(fork_2) for line in lines)


def test_inspect_of_a_bad_session_exits_2_naming_the_file(capsys, saved, tmp_path):
    _usage_error(_inspect(capsys, tmp_path / "none", "--step", "1"), str(tmp_path / "none"), "does not exist")


def test_inspect_without_a_step_maps_the_session(capsys, saved, tmp_path):
    """Branches with their fork and own changes, each branch's lanes at its newest step with the
    metrics the run reported there, and the breakpoints kept in the session."""
    fork = json.loads(
        _rewound(
            _run(
                capsys,
                *("--resume", saved["lanes"], "--rewind", "5", "--set", "lanes[1].lr=0.2", "--steps", "24"),
                *(*QUIET, "--save", tmp_path / "s"),
            ),
            5,
            "fork 1 at step 5",
        )
    )
    main_report = json.loads(_ok(_run(capsys, "--resume", saved["lanes"], "--steps", "20", *QUIET)))
    session = open_session(tmp_path / "s")
    session.set_breakpoints([parse_breakpoint("1:recovered >= 40")])
    session.run(27)  # past the last evaluation (step 24): the summary says where the values are from
    save_session(session, tmp_path / "s")
    lines = _ok(_inspect(capsys, tmp_path / "s")).splitlines()
    ran_on = session.snapshot()
    assert lines[0] == f"session {tmp_path / 's'} · {ran_on.device} {ran_on.dtype} · 2 branches"
    assert "d=16 · n_items=64" in lines[1]
    branches = lines[lines.index("branches (* the current one):") + 1 :]
    spectra = pq.read_table(tmp_path / "s" / "spectra.parquet", columns=["branch", "step"]).to_pydict()
    rows = set(zip(spectra["branch"], spectra["step"], strict=True))
    # each branch's steps with spectra, as the file holds them (a fork's from step 1, as ② counts them),
    # of the steps due: run.spectra_every = 3 (a CLI run measures each)
    measured = [sum(b == branch and step > 0 for b, step in rows) for branch in (0, 1)]
    assert measured == [20 // 3, 27 // 3]
    assert branches[0] == "  0 main · steps 0–20 · spectra at 6 of the 6 steps due (every 3)"
    assert branches[1] == (
        "* 1 fork 1 at step 5 · forked at step 5 from branch 0 (main) · steps 5–27"
        " · spectra at 9 of the 9 steps due (every 3)"
    )
    # each change as the window's markers say it
    assert branches[2] == f"      at step 5: lane 1 lr {session.initial_config.lanes[1].lr:g} → 0.2"
    for head, report in ((20, main_report), (27, fork)):
        at = lines.index(next(line for line in lines if line.startswith(f"lanes at step {head} of branch")))
        for n, lane in enumerate(report["lanes"]):
            shown = lines[at + 1 + n]
            assert shown.startswith(f"  {n} {lane['label']} ")
            assert f"loss {lane['loss']:.4f} " in shown  # as `run` prints it ("1.6262", not "1.626")
            assert f"accuracy {lane['accuracy']:.4f}" in shown
            assert f"recovered {lane['recovered']:.0f}" in shown
            assert shown.endswith("(evaluated at step 24)") == (head == 27)
    assert "breakpoints: 1:recovered >= 40" in lines


def test_inspects_hint_names_a_folder_with_a_space_as_a_shell_takes_it(capsys, saved, tmp_path):
    folder = tmp_path / "runs" / "fork ✓"
    shutil.copytree(saved["s30"], folder)
    hint = _ok(_inspect(capsys, folder)).splitlines()[-1]
    words = shlex.split(hint.split(": ", 1)[1].split(" [", 1)[0])
    assert words == ["muonscope", "inspect", str(folder), "--step", "K"]


def test_inspects_hint_names_a_folder_beginning_with_a_dash_as_a_path(capsys, saved, tmp_path, monkeypatch):
    shutil.copytree(saved["s30"], tmp_path / "-dash")
    monkeypatch.chdir(tmp_path)
    hint = _ok(_inspect(capsys, "./-dash")).splitlines()[-1]
    words = shlex.split(hint.split(": ", 1)[1].split(" [", 1)[0])
    assert words[2] == "./-dash"  # "-dash" alone was read as an option


def test_inspect_maps_a_stream_by_what_it_measures_and_names_a_diverged_lane(capsys, tmp_path):
    """A stream has no items: its lanes read "loss nan  accuracy nan  recovered 0", and Adam, diverged
    at step 1, was not said to be."""
    stream = ("task.kind=spiked", "task.rows=6", "task.cols=5", "task.strengths=[1e25]", "task.noise=0.0")
    settings = [item for setting in (*stream, "run.dtype=float32") for item in ("--set", setting)]
    lanes = ("--lane", "optimizer=adam,lr=0.01", "--lane", "optimizer=signgd,lr=0.01")
    report = json.loads(
        _ok(_run(capsys, *settings, *lanes, "--steps", "5", *QUIET, "--save", tmp_path / "s"))
    )
    assert [lane["diverged"] for lane in report["lanes"]] == [True, False]
    assert [lane["diverged_step"] for lane in report["lanes"]] == [1, None]
    cause = report["lanes"][0]["diverged_cause"]
    assert cause.startswith("its second moment v is not finite (G² passed float32's largest value")
    assert report["lanes"][1]["diverged_cause"] is None
    table = _ok(_run(capsys, *settings, *lanes, "--steps", "5", "--no-progress")).splitlines()
    assert [row.endswith("DIVERGED at step 1") for row in table[1:3]] == [True, False]
    assert (
        table[3] == f"{report['lanes'][0]['label']} diverged at step 1 because {cause}"
    )  # what, not only when
    lines = _ok(_inspect(capsys, tmp_path / "s")).splitlines()
    assert f"  lane 0 diverged because {cause}" in lines  # as saved, and read back
    at = lines.index("lanes at step 5 of branch 0 (main):")
    for n, lane in enumerate(report["lanes"]):
        shown = lines[at + 1 + n]
        assert shown.startswith(f"  {n} {lane['label']} ")
        assert "loss" not in shown and "recovered" not in shown
        # a diverged lane takes no step: no update or buffer of its own to measure
        angle = "n/a" if lane["diverged"] else f"{lane['sin_theta']:.3f}"
        assert f"sin_theta {angle}" in shown
        assert shown.endswith("DIVERGED at step 1") == lane["diverged"]
    # in columns, whatever the values' widths: Muon's sin Θ of 2.11·10⁻⁸ pushed its gap out of line
    muon = ("--lane", "optimizer=muon,lr=0.01")
    _ok(_run(capsys, *settings, *lanes, *muon, "--steps", "5", *QUIET, "--save", tmp_path / "m"))
    summary = _ok(_inspect(capsys, tmp_path / "m")).splitlines()
    rows = summary[summary.index("lanes at step 5 of branch 0 (main):") + 1 :][:3]
    assert "e-" in rows[2]  # a value in powers of ten
    for name in ("sin_theta", "tail_filtering", "gap "):
        assert len({row.index(name) for row in rows}) == 1, rows
    # a diverged lane's update of zeros is said to be no step, not shown as a lane at rest
    frozen = f"lane 0 diverged at step 1 because {cause}; frozen at its last finite W, it takes no step"
    assert frozen in _ok(_inspect(capsys, tmp_path / "s", "--step", "3", "--tensor", "update"))
    assert "diverged" not in _ok(_inspect(capsys, tmp_path / "s", "--step", "3", "--lane", "1"))
    assert "diverged" not in _ok(_inspect(capsys, tmp_path / "s", "--step", "0"))  # not yet
    from muonscope.app.debugger import Inspect, inspection_message

    session = open_session(tmp_path / "s")
    shown = inspection_message(session, Inspect(step=3, lane=0, tensor="update"))
    assert shown.info.endswith(f"diverged at step 1 because {cause}; frozen, no step taken since")


def test_inspect_of_a_lane_at_the_step_it_was_added_says_where_its_matrices_begin(capsys, saved, tmp_path):
    """The branch's map lists the lane added at step 10, and at step 10 it was refused as a lane that
    does not exist, among the other lanes only."""
    added = ("--lane", "", "--lane", "", "--lane", "optimizer=signgd,lr=0.01")
    forked = ("--resume", saved["lanes"], "--rewind", "10", *added, "--steps", "12", *QUIET)
    _ok_with_notes(_run(capsys, *forked, "--save", tmp_path / "s"))
    _usage_error(
        _inspect(capsys, tmp_path / "s", "--step", "10", "--lane", "2"),
        "--lane = '2' is not allowed: lane 2 is added at step 10, after that step's matrices; its own "
        "begin at step 11",
    )
    assert _ok(_inspect(capsys, tmp_path / "s", "--step", "11", "--lane", "2")).startswith(
        "step 11 · lane 2 (SignGD lr=0.01) · W"
    )
    _usage_error(
        _inspect(capsys, tmp_path / "s", "--step", "10", "--lane", "3"), "must be a lane index or label"
    )


def test_inspect_says_the_polar_maps_residual_with_the_matrices_it_concerns_not_with_w(capsys, saved):
    """A line on the map that made the step's update was printed under W too."""
    for tensor in ("G", "M", "update"):
        shown = _ok(_inspect(capsys, saved["lanes"], "--step", "9", "--lane", "1", "--tensor", tensor))
        assert "polar map of M" in shown and "residual ‖map − polar‖/‖polar‖ = " in shown, tensor
    w = _ok(_inspect(capsys, saved["lanes"], "--step", "9", "--lane", "1", "--tensor", "W"))
    assert "polar map" not in w and "residual" not in w


def test_inspect_refuses_a_label_that_several_lanes_bear(capsys, tmp_path):
    """Two lanes labelled "x": ``--lane x`` showed lane 0's matrix, lane 1's never said."""
    lanes = ("--lane", "optimizer=muon,label=x", "--lane", "optimizer=adam,label=x")
    _ok(_run(capsys, *SMALL, *lanes, "--steps", "3", *QUIET, "--save", tmp_path / "s"))
    _usage_error(
        _inspect(capsys, tmp_path / "s", "--step", "2", "--lane", "x"),
        "--lane = 'x' is not allowed: it is the label of lanes 0 and 1; give the lane's index",
    )
    shown = _ok(_inspect(capsys, tmp_path / "s", "--step", "2", "--lane", "1"))
    assert shown.startswith("step 2 · lane 1 (x)")


def test_inspect_options_of_one_matrix_need_a_step(capsys, saved, tmp_path):
    options = (("--lane", "1"), ("--tensor", "M"), ("--branch", "main"), ("--out", str(tmp_path / "m.npy")))
    for option, value in options:
        _usage_error(_inspect(capsys, saved["lanes"], option, value), f"{option} = ", "needs --step")
    assert list(tmp_path.iterdir()) == []


# ---- what run refuses --------------------------------------------------------------------------------


def test_resume_refuses_a_preset(capsys, saved):
    _usage_error(
        _run(capsys, "--resume", saved["s30"], "--preset", "default"), "--preset = 'default'", "--resume"
    )


def test_resume_refuses_a_config_file_naming_it_as_typed(capsys, saved, tmp_path):
    config = tmp_path / "c.toml"
    config.write_text("[run]\nsteps = 3\n")
    err = _usage_error(_run(capsys, "--resume", saved["s30"], "--config", config), f"--config = '{config}'")
    assert "PosixPath" not in err


def test_rewind_without_resume_is_refused(capsys):
    _usage_error(_run(capsys, *SMALL, "--rewind", "3", "--steps", "4"), "--rewind = 3", "--resume")


@pytest.mark.parametrize(
    ("argv", "names"),
    [
        (("--rewind", "61", "--steps", "70"), ("--rewind = 61", "0 to 60")),
        (("--rewind", "-1"), ("--rewind = -1",)),
        (("--steps", "59"), ("--steps = 59", "at least 60, the session's step", "--rewind")),
        (("--steps", "-5"), ("--steps = -5", "at least the session's step")),
        (("--set", "task.d=32", "--steps", "70"), ("task.d = 32", "reset")),
        (("--set", "lanes[0].lr=-1", "--steps", "70"), ("lanes[0].lr = -1",)),
        (("--lane", "optimizer=rmsprop"), ("lanes[0].optimizer = 'rmsprop'",)),
        (("--rewind", "10", "--steps", "5"), ("--steps = 5", "at least 10, where --rewind went back to")),
        (
            ("--set", "lanes[0].polar=ns", "--steps", "70"),
            ("lanes[0].polar = 'ns'", "lane 0 (SGD", "only Muon"),
        ),
        (("--lane", "ns_steps=3", "--steps", "70"), ("--lane[0].ns_steps = 3", "has no effect on lane 0")),
        (("--lane", "", "--lane", "", "--lane", "optimizer=adam,buffer=sum"), ("--lane[2].buffer = 'sum'",)),
    ],
)
def test_resume_refuses_what_cannot_apply(capsys, saved, tmp_path, argv, names):
    result = _run(capsys, "--resume", saved["s60"], *argv, *QUIET, "--save", tmp_path / "s")
    _usage_error(result, *names)
    assert not (tmp_path / "s").exists()


def test_steps_equal_to_the_sessions_step_runs_nothing(capsys, saved):
    report = json.loads(_ok(_run(capsys, "--resume", saved["s60"], "--steps", "60", *QUIET)))
    assert report == json.loads(saved["straight"])


def test_resuming_a_bad_session_exits_2_naming_the_file(capsys, saved, tmp_path):
    bad = tmp_path / "bad"
    bad.mkdir()
    for path in saved["s30"].iterdir():
        (bad / path.name).write_bytes(path.read_bytes())
    tensors = bad / "tensors.safetensors"
    tensors.write_bytes(tensors.read_bytes()[:100])
    _usage_error(_run(capsys, "--resume", bad, "--steps", "40", *QUIET), str(tensors), "safetensors")
    _usage_error(_run(capsys, "--resume", tmp_path / "none", "--steps", "40"), str(tmp_path / "none"))


def test_save_refuses_a_folder_of_other_files_before_running(capsys, tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    _usage_error(_run(capsys, *SMALL, "--steps", "5", *QUIET, "--save", tmp_path), str(tmp_path))
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]


@contextlib.contextmanager
def _read_only(folder):
    """``folder`` made unwritable: chmod for a user, the immutable flag for root (whom modes do not
    stop); skips where neither works."""
    immutable = os.geteuid() == 0 and shutil.which("chattr") is not None
    if immutable:
        subprocess.run(["chattr", "+i", str(folder)], check=False, capture_output=True)
    else:
        folder.chmod(0o555)
    try:
        try:
            (folder / "probe").touch()
        except OSError:
            pass
        else:
            (folder / "probe").unlink()
            pytest.skip("this file system lets the folder be written however it is marked")
        yield
    finally:
        if immutable:
            subprocess.run(["chattr", "-i", str(folder)], check=False, capture_output=True)
        else:
            folder.chmod(0o755)


def test_saving_a_resumed_session_into_its_unwritable_folder_is_refused_first(capsys, saved, tmp_path):
    shutil.copytree(saved["s30"], tmp_path / "s")
    before = (tmp_path / "s" / "session.json").read_bytes()
    with _read_only(tmp_path / "s"):
        argv = ("--resume", tmp_path / "s", "--steps", "40", *QUIET, "--save", tmp_path / "s")
        _usage_error(_run(capsys, *argv), f"--save = '{tmp_path / 's'}'", "cannot be written")
    assert (tmp_path / "s" / "session.json").read_bytes() == before


# ---- Ctrl-C ------------------------------------------------------------------------------------------


def _drain(fd: int, into: list[bytes], seen: threading.Event, marker: bytes) -> None:
    """Read a pseudo-terminal until its other side is closed; ``seen`` is set once ``marker`` shows."""
    try:
        while True:
            ready, _, _ = select.select([fd], [], [], 0.5)
            if ready:
                chunk = os.read(fd, 4096)
                if not chunk:
                    return
                into.append(chunk)
                if marker in b"".join(into):
                    seen.set()
    except OSError:  # EIO: every writer has gone
        return
    finally:
        seen.set()  # the run ended (or the bar showed): the test looks at which


@pytest.mark.parametrize("stopping", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_ctrl_c_or_sigterm_stops_between_steps_reports_and_saves(tmp_path, stopping):
    """stderr is a terminal, so the progress bar appears once steps are running: then Ctrl-C, or the
    SIGTERM a job scheduler sends (which lost the whole run)."""
    if sys.platform == "win32":
        pytest.skip("needs a POSIX pseudo-terminal")
    import fcntl
    import termios

    leader, follower = os.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))  # a bar needs a width
    argv = [sys.executable, "-m", "muonscope", "run", *SMALL, "--steps", "100000", "--json"]
    proc = subprocess.Popen(
        [*argv, "--save", str(tmp_path / "s"), "--out", str(tmp_path / "out")],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=follower,
        text=True,
    )
    os.close(follower)
    terminal: list[bytes] = []
    stepping = threading.Event()  # the bar: "... 1234/100000 [...]"
    reader = threading.Thread(target=_drain, args=(leader, terminal, stepping, b"/100000"), daemon=True)
    reader.start()
    try:
        assert stepping.wait(timeout=120), "no progress bar appeared"
        assert proc.poll() is None, b"".join(terminal).decode(errors="replace")
        proc.send_signal(stopping)
        out, _ = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        reader.join(timeout=10)
        os.close(leader)
    err = b"".join(terminal).decode(errors="replace")
    assert proc.returncode == 130, err
    saved, written = re.escape(str(tmp_path / "s")), re.escape(str(tmp_path / "out"))
    said = rf"interrupted at step (\d+); session saved to {saved}; {written} holds steps 0 to \1"
    found = re.search(said, err)
    assert found, err
    said = "muonscope run: stopping after the step or evaluation under way, or undoing it if it has run a"
    assert said in err  # said at once
    step = int(found.group(1))
    assert 0 < step < 100_000
    report = json.loads(out)
    assert (report["step"], report["interrupted"]) == (step, True)
    final = json.loads((tmp_path / "out" / "final.json").read_text())
    assert (final["step"], final["interrupted"]) == (step, True)
    session = open_session(tmp_path / "s")
    assert session.step == session.branch.head_step == step


def test_a_ctrl_c_while_the_session_is_saved_is_answered_and_the_save_finishes(capsys, monkeypatch, tmp_path):
    """A Ctrl-C after the last step, while a big session was being written, went unanswered (and
    the default handler abandoned the save: every step computed was lost)."""
    import muonscope.engine.session_file as session_file

    save = session_file.save_session

    def ctrl_c_then_save(session, path, **how):
        os.kill(os.getpid(), signal.SIGINT)
        save(session, path, **how)

    monkeypatch.setattr(session_file, "save_session", ctrl_c_then_save)
    code, out, err = _run(capsys, *SMALL, "--steps", "9", *QUIET, "--save", tmp_path / "s")
    assert code == 0, err
    said = f"muonscope run: the steps are done: finishing {tmp_path / 's'} first, so that none is lost"
    assert said in err
    assert json.loads(out)["step"] == 9
    assert open_session(tmp_path / "s").step == 9


def test_an_until_never_held_on_a_lane_that_diverged_says_its_conditions_went_unchecked(capsys, monkeypatch):
    """ "never held" alone read as false where the frozen lane's batch loss met the condition at
    every step: a diverged lane's conditions are not checked."""
    import dataclasses

    from muonscope.engine.optim.registry import OPTIMIZERS

    blow_up = dataclasses.replace(OPTIMIZERS["ngd"], rule=lambda g, state, lane: g * float("inf"))
    monkeypatch.setitem(OPTIMIZERS, "ngd", blow_up)
    lanes = ("--lane", "optimizer=muon", "--lane", "optimizer=ngd,lr=0.1")
    code, _out, err = _run(capsys, *SMALL, *lanes, "--steps", "4", *QUIET, "--until", "1: batch_loss > -1")
    assert code == 0, err
    said = "--until '1: batch_loss > -1' never held; the run went on to step 4; diverged (lane 1 at step 1), "
    assert said + "a lane's conditions are not checked after" in err
    code, _out, err = _run(capsys, *SMALL, *lanes, "--steps", "4", *QUIET, "--until", "0: batch_loss < -1")
    assert "never held" in err and "diverged (" not in err  # lane 0 did not diverge


def test_saving_over_another_session_is_refused_but_a_resumed_one_is_replaced(capsys, saved, tmp_path):
    """``run --steps 5 --save s2`` replaced a 200-step session with two branches without a word."""
    other = tmp_path / "other"
    shutil.copytree(saved["s30"], other)
    before = (other / "session.json").read_bytes()
    _usage_error(
        _run(capsys, *SMALL, "--steps", "5", *QUIET, "--save", other), str(other), "another saved session"
    )
    assert (other / "session.json").read_bytes() == before
    _ok(_run(capsys, "--resume", other / "session.json", "--steps", "35", *QUIET, "--save", other))
    assert open_session(other).step == 35  # its own --resume replaces it


@pytest.mark.filterwarnings("error::RuntimeWarning")  # one on stderr is a test failure here
def test_a_session_of_huge_weights_resumes_with_a_readable_table_and_no_warnings(capsys, saved, tmp_path):
    """Weights of 1e300 (a run on its way to diverging) printed a 300-digit loss and numpy's
    overflow warnings."""
    import safetensors.torch

    folder = tmp_path / "huge"
    shutil.copytree(saved["s30"], folder)
    path = folder / "tensors.safetensors"
    tensors = safetensors.torch.load_file(path)
    for name, tensor in tensors.items():
        if name.endswith(".weights"):
            tensor.fill_(1e300)
    safetensors.torch.save_file(tensors, path)
    code, out, err = _run(capsys, "--resume", folder, "--steps", "31", "--no-progress")
    assert code == 0 and err == ""
    losses = re.findall(r"loss (\S+)", out)
    assert losses and all(float(loss) > 1e299 and len(loss) < 12 for loss in losses)


def test_inspect_marks_estimated_metrics_as_run_does(capsys, tmp_path):
    """N = 8192 over run.exact_eval_items = 4096: run's table reads "loss ≈ 1.6666 ± 0.0075"; the
    session's map read "loss 1.6666", as if the whole population had been evaluated."""
    settings = ("--set", "task.d=16", "--set", "task.n_items=600", "--set", "run.exact_eval_items=128")
    report = json.loads(
        _ok(
            _run(
                capsys, *settings, "--lane", "optimizer=sgd", "--steps", "4", *QUIET, "--save", tmp_path / "s"
            )
        )
    )
    [lane] = report["lanes"]
    assert lane["estimated"] and lane["loss_se"] is not None
    lines = _ok(_inspect(capsys, tmp_path / "s")).splitlines()
    at = lines.index("lanes at step 4 of branch 0 (main):")
    sampled = lane["sampled_items"]
    said = f"  population metrics estimated from {sampled} sampled items (± one standard error)"
    assert lines[at + 1] == said
    shown = lines[at + 2]
    assert "loss ≈ " in shown and "accuracy ≈ " in shown and "recovered ≈ " in shown
    assert shown.count("±") == 3


def test_a_path_starting_with_a_dash_is_reported_as_one_to_paste_back(tmp_path, monkeypatch, capsys):
    """The report "session saved to -sess", pasted as --resume -sess, read the name as an option."""
    monkeypatch.chdir(tmp_path)
    assert main(["run", *SMALL, "--steps", "2", "--save=-sess"]) == 0
    said = re.search(r"session saved to (\S+) \(step 2\)", capsys.readouterr().err)
    assert said is not None and said.group(1) == "./-sess"
    assert main(["run", "--resume", said.group(1), "--steps", "3", "--save", said.group(1)]) == 0
    assert "session saved to ./-sess (step 3)" in capsys.readouterr().err


def test_a_run_of_slow_steps_says_how_long_they_will_take_before_the_first(tmp_path):
    """At d = 8192 the first word came after the first step, half an hour in: the note comes first,
    and Ctrl-C after it stops the run without waiting for the step."""
    args = ["run", "--set", "task.d=4096", "--lane", "optimizer=muon", "--steps", "50", "--no-progress"]
    first, rest, status = first_line_then_ctrl_c(args)
    said = r"^muonscope run: note: each step will take about [\d.]+ (s|min|h) on this machine \(estimated\)"
    assert re.match(said + r"; 50 steps: about [\d.]+ (s|min|h|days)$", first.strip()), first + rest
    assert "muonscope run: interrupted" in rest and status == 130, rest


def test_a_run_stopped_at_once_says_its_session_was_not_saved(tmp_path, monkeypatch, capsys):
    """Two Ctrl-C's in a row ended a run with "interrupted" alone, after the first had promised to save."""
    import muonscope.engine.headless as headless

    def at_once(*_args, **_kwargs):
        raise KeyboardInterrupt  # the second Ctrl-C, while the first's stop is on its way

    monkeypatch.setattr(headless, "run_session", at_once)
    assert main(["run", *SMALL, "--steps", "5", "--save", str(tmp_path / "s"), "--no-progress"]) == 130
    said = capsys.readouterr().err.strip().splitlines()[-1]
    assert said == f"muonscope run: interrupted: the session was not saved to {tmp_path / 's'}"
    assert not (tmp_path / "s" / "session.json").exists()


@pytest.mark.parametrize("interrupted", [False, True])
def test_a_run_whose_save_folder_was_taken_meanwhile_is_saved_beside_it_and_says_where(
    tmp_path, monkeypatch, capsys, interrupted
):
    """Another command wrote its tables into the folder while the run computed: the run was refused
    at its end and saved nowhere; an interrupted one said "session saved to s" of a folder it had
    not saved to."""
    import muonscope.engine.headless as headless

    run_session, target = headless.run_session, tmp_path / "s"

    def others_write_there(*args, **kwargs):
        target.mkdir()
        (target / "metrics.parquet").write_text("another command's tables")
        return run_session(*args, **{**kwargs, "stop_requested": lambda: interrupted})

    monkeypatch.setattr(headless, "run_session", others_write_there)
    code, _, err = _run(capsys, *SMALL, "--steps", "5", "--save", target, "--no-progress")
    beside = tmp_path / "s-2"
    assert code == 1  # not where it was asked: said last, as a failure of the machine is
    assert err.strip().splitlines()[-1] == (
        f"muonscope run: saved elsewhere: {target}: it became a folder of other files meanwhile, which "
        f"is left as it is; this one is saved to {beside} instead"
    )
    if interrupted:
        assert re.search(rf"interrupted at step \d+; session saved to {re.escape(str(beside))}\n", err), err
    assert f"saved to {target} " not in err and f"saved to {target}\n" not in err
    assert (target / "metrics.parquet").read_text() == "another command's tables"
    assert open_session(beside).step == (open_session(beside).step if interrupted else 5)


def test_tables_for_a_folder_another_command_saved_a_session_in_meanwhile_are_written_beside_it(
    tmp_path, monkeypatch, capsys
):
    """``run --save X`` and ``run --out X`` at once: the tables replaced the session's metrics.parquet,
    and the session no longer opened; both commands said they had written."""
    import muonscope.engine.headless as headless

    run_session, target = headless.run_session, tmp_path / "x"

    def another_saves_there(*args, **kwargs):
        save_session(open_session(saved_small), target)
        return run_session(*args, **kwargs)

    saved_small = tmp_path / "small"
    assert main(["run", *SMALL, "--steps", "2", "--save", str(saved_small), *QUIET]) == 0
    capsys.readouterr()
    monkeypatch.setattr(headless, "run_session", another_saves_there)
    code, _, err = _run(capsys, *SMALL, "--steps", "3", "--out", target, "--no-progress")
    beside = tmp_path / "x-2"
    assert code == 1
    assert err.strip().splitlines()[-1] == (
        f"muonscope run: written elsewhere: {target}: a session was saved there meanwhile, which is kept; "
        f"the tables are in {beside} instead"
    )
    assert open_session(target).step == 2  # whole
    assert (beside / "metrics.parquet").is_file() and (beside / "final.json").is_file()


def test_a_tilde_the_shell_left_is_the_home_folder(capsys, monkeypatch, tmp_path):
    """``--save=~/s1`` (bash expands no ``~`` after ``=``) saved to a folder named ``~`` in the
    current one, said as "saved to ~/s1"; a quoted ``MUONSCOPE_CACHE='~/c'`` did the same."""
    home, elsewhere = tmp_path / "home", tmp_path / "here"
    home.mkdir(), elsewhere.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(elsewhere)
    code, _, err = _run(capsys, *SMALL, "--steps", "2", *QUIET, "--save=~/s1")
    assert code == 0
    assert f"muonscope run: session saved to {home / 's1'} (step 2)" in err.splitlines()
    assert open_session(home / "s1").step == 2 and not (elsewhere / "~").exists()
    monkeypatch.setenv("MUONSCOPE_CACHE", "~/c")
    assert main(["cache", "info"]) == 0
    assert capsys.readouterr().out.splitlines()[0] == f"folder: {home / 'c'} (not created yet)"
    monkeypatch.setenv("HOME", "")  # "~/z" quietly became "/z"
    code, _, err = _run(capsys, *SMALL, "--steps", "2", *QUIET, "--save=~/z")
    assert code == 2
    assert err.endswith("--save = '~/z' is not allowed: its ~ is the home folder, and HOME is set empty\n")


def test_a_current_folder_that_cannot_be_written_is_named_whole(capsys, monkeypatch):
    """``--save s`` in a folder that cannot be written was refused as "cannot be written in ."."""
    if not os.path.isdir("/proc/self"):
        pytest.skip("needs /proc, a folder no one may write in")
    monkeypatch.chdir("/proc")
    code, out, err = _run(capsys, *SMALL, "--steps", "2", "--save", "s")
    assert code == 2 and out == ""
    assert err.startswith("muonscope run: error: --save = 's' is not allowed: cannot be written in /proc (")


def test_a_current_folder_removed_while_a_run_computes_is_said_to_be_why(capsys, monkeypatch, tmp_path):
    """``--out o`` failed with a bare "FileNotFoundError: [Errno 2] No such file or directory: 'o'"."""
    import muonscope.engine.headless as headless

    here = tmp_path / "here"
    here.mkdir()
    monkeypatch.chdir(here)
    writes = headless.write_outputs

    def removed_first(*args, **kwargs):  # as `rm -rf` in another shell while the steps ran
        shutil.rmtree(here)
        return writes(*args, **kwargs)

    monkeypatch.setattr(headless, "write_outputs", removed_first)
    code, _, err = _run(capsys, *SMALL, "--steps", "2", *QUIET, "--out", "o")
    monkeypatch.chdir(tmp_path)
    assert code == 1
    assert err.splitlines()[-1].endswith("(the current folder was removed while the command ran)")


def test_until_diverged_on_a_lane_diverged_before_the_resume_says_so(capsys, tmp_path):
    """ "--until 'diverged' never held" beside a report of lane 0 diverged at step 1: the condition
    stops where a lane diverges, and this one had before the run began."""
    stream = ["--set", "task.kind=spiked", "--set", "task.rows=6", "--set", "task.cols=5"]
    stream += ["--set", "task.strengths=[1e25]", "--set", "task.noise=0.0", "--set", "run.dtype=float32"]
    lanes = ["--lane", "optimizer=adam,lr=0.01", "--lane", "optimizer=muon,lr=0.01"]
    code, out, _ = _run(capsys, *stream, *lanes, "--steps", "10", *QUIET, "--save", tmp_path / "s1")
    assert code == 0 and json.loads(out)["lanes"][0]["diverged_step"] == 1
    code, _, err = _run(capsys, "--resume", tmp_path / "s1", "--until", "diverged", "--steps", "14", *QUIET)
    assert code == 0
    assert err.splitlines()[0] == (
        "muonscope run: --until 'diverged' never held; the run went on to step 14; diverged by step 10, "
        "where the run began (lane 0 at step 1): 'diverged' stops a run where a lane diverges"
    )


def test_a_change_to_a_lane_that_diverged_says_the_lane_stays_frozen(capsys, tmp_path):
    """Its row read "Adam … lr=0.001 … DIVERGED at step 1", where it diverged under lr = 0.01, and
    nothing said that the new lr changed no step of it."""
    stream = ["--set", "task.kind=spiked", "--set", "task.rows=6", "--set", "task.cols=5"]
    stream += ["--set", "task.strengths=[1e25]", "--set", "task.noise=0.0", "--set", "run.dtype=float32"]
    lanes = ["--lane", "optimizer=adam,lr=0.01", "--lane", "optimizer=muon,lr=0.01"]
    assert _run(capsys, *stream, *lanes, "--steps", "10", *QUIET, "--save", tmp_path / "s1")[0] == 0
    code, out, err = _run(
        capsys, "--resume", tmp_path / "s1", "--set", "lanes[0].lr=0.001", "--steps", "12", *QUIET
    )
    assert code == 0 and json.loads(out)["lanes"][0]["diverged_step"] == 1
    assert (
        "muonscope run: note: lane 0 diverged at step 1 and stays frozen: its new lr changes its name, not "
        "its run (--rewind 0 with the same change tries it before the lane diverged)"
    ) in err.splitlines()
    _, _, healthy = _run(
        capsys, "--resume", tmp_path / "s1", "--set", "lanes[1].lr=0.02", "--steps", "12", *QUIET
    )
    assert "frozen" not in healthy


def test_a_session_recorded_before_a_redefinition_is_said_to_be_by_inspect_and_resume(capsys, tmp_path):
    """Its SGD lane's gap was recorded under the earlier definition: left out, and said so."""
    _ok(_run(capsys, *SMALL, "--steps", "6", *QUIET, "--save", tmp_path / "s"))
    document = json.loads((tmp_path / "s" / "session.json").read_text())
    del document["measures"], document["notes"]  # as a muonscope from before the number was kept wrote it
    document["version"] = 1
    (tmp_path / "s" / "session.json").write_text(json.dumps(document))
    said = f"note: {tmp_path / 's'}: its tail_filtering, recorded before the filtering ratio took"
    code, out, err = _inspect(capsys, tmp_path / "s")
    assert code == 0 and "lanes at step 6" in out and f"\nmuonscope inspect: {said}" in f"\n{err}"
    code, _, err = _inspect(capsys, tmp_path / "s", "--step", "3")
    assert code == 0 and f"\nmuonscope inspect: {said}" in f"\n{err}"
    code, out, err = _run(capsys, "--resume", tmp_path / "s", "--steps", "8", *QUIET)
    assert code == 0 and f"\nmuonscope run: {said}" in f"\n{err}"
    assert json.loads(out)["step"] == 8
