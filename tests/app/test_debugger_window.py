"""The window's debugger: save and open sessions, go to a step, fork, breakpoints, inspector."""

import dataclasses
import html
import os
import pickle
import threading
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from helpers import (
    WAIT_MS,
    held_experiment,
    open_app,
    small_preset,
    wait_for_frame,
    wait_for_step,
    wait_until_paused,
)
from PySide6 import QtCore, QtWidgets

from muonscope.app.debugger import SetBreakpoints
from muonscope.app.renderer import REDRAW_SHARE
from muonscope.engine import ExperimentConfig, LaneConfig, TaskConfig
from muonscope.engine.experiment import Experiment
from muonscope.engine.inspection import lane_matrices
from muonscope.engine.optim.registry import OPTIMIZERS
from muonscope.engine.presets import Preset, load_preset
from muonscope.engine.session_file import open_session
from muonscope.engine.task_kinds import view_problem
from muonscope.widgets.spectra_heat_map import log_spectra


def _run_to(qtbot, app, step):
    app.debugger.go_to(step)
    qtbot.waitUntil(lambda: app.clock.newest.step == step and not app.clock.playing, timeout=WAIT_MS)


def _saved(qtbot, app, path):
    with qtbot.waitSignal(app.link.saved, timeout=WAIT_MS):
        app.sessions.save_to(path)


def _asked_where(monkeypatch, answer):
    """Answer the save dialog with ``answer``; returns where it started, each time it asked."""
    asked = []

    def where(_parent, _title, start, *_args):
        asked.append(start)
        return str(answer), ""

    monkeypatch.setattr(QtWidgets.QFileDialog, "getSaveFileName", where)
    return asked


def test_ctrl_s_saves_an_opened_session_to_its_own_folder_without_asking(qtbot, tmp_path, monkeypatch):
    """Every Ctrl+S asked where, and the dialog could not pick the folder the session came from:
    choosing it went into it."""
    _run_to(qtbot, first := open_app(qtbot), 4)
    _saved(qtbot, first, tmp_path / "run")
    app = open_app(qtbot)
    with qtbot.waitSignal(app.link.saved, timeout=WAIT_MS):
        app.sessions.open_from(tmp_path / "run")
    _run_to(qtbot, app, 7)
    asked = _asked_where(monkeypatch, tmp_path / "elsewhere")
    with qtbot.waitSignal(app.link.saved, timeout=WAIT_MS):
        app.sessions.save_action.trigger()  # Ctrl+S
    assert asked == [] and open_session(tmp_path / "run").branch.head_step == 7
    with qtbot.waitSignal(app.link.saved, timeout=WAIT_MS):
        app.sessions.save_as_action.trigger()  # Ctrl+Shift+S: another folder, kept from then on
    # offered a new folder beside its own: offered its own, the dialog opened inside it
    assert asked == [str(tmp_path / "run-2")] and app.sessions.session_path == tmp_path / "elsewhere"
    assert open_session(tmp_path / "elsewhere").branch.head_step == 7


def test_ctrl_s_asks_where_for_a_run_with_no_folder_yet(qtbot, tmp_path, monkeypatch):
    app = open_app(qtbot)
    _run_to(qtbot, app, 3)
    asked = _asked_where(monkeypatch, tmp_path / "new")
    with qtbot.waitSignal(app.link.saved, timeout=WAIT_MS):
        app.sessions.save_action.trigger()
    assert len(asked) == 1 and open_session(tmp_path / "new").branch.head_step == 3


def test_the_save_dialog_opens_where_the_user_works_not_in_the_home_folder(qtbot, tmp_path, monkeypatch):
    """A run never saved is offered a folder in the folder the app was started in, then beside the
    session saved last (not the home folder, far from the ``runs/`` folder on the command line)."""
    monkeypatch.chdir(tmp_path)
    app = open_app(qtbot)
    _run_to(qtbot, app, 3)
    asked = _asked_where(monkeypatch, tmp_path / "runs" / "s1")
    with qtbot.waitSignal(app.link.saved, timeout=WAIT_MS):
        app.sessions.save_action.trigger()
    with qtbot.waitSignal(app.link.run_kept, timeout=WAIT_MS):
        app.intents.reset()  # a new run: no folder of its own
    _run_to(qtbot, app, 2)
    asked_next = _asked_where(monkeypatch, tmp_path / "runs" / "s2")
    with qtbot.waitSignal(app.link.saved, timeout=WAIT_MS):
        app.sessions.save_action.trigger()
    assert asked == [str(tmp_path / "muonscope-session")]
    assert asked_next == [str(tmp_path / "runs" / "muonscope-session")]


def test_save_then_open_restores_the_run_and_its_breakpoints(qtbot, tmp_path):
    app = open_app(qtbot)
    _run_to(qtbot, app, 12)
    with qtbot.waitSignal(app.link.breakpoints_changed, timeout=WAIT_MS):
        app.debugger.add_breakpoint("2:recovered >= 60")
    _saved(qtbot, app, tmp_path / "s")
    assert app.sessions.session_path == tmp_path / "s"
    assert str(tmp_path / "s") in app.sessions.recent_sessions()
    losses = app.clock.history.column("batch_loss", lane=1)

    other = open_app(qtbot)
    with qtbot.waitSignal(other.link.saved, timeout=WAIT_MS):
        other.sessions.open_from(tmp_path / "s")
    qtbot.waitUntil(lambda: other.clock.newest.step == 12, timeout=WAIT_MS)
    wait_for_frame(qtbot, other)
    np.testing.assert_array_equal(other.clock.history.column("batch_loss", lane=1), losses)
    assert other.debugger.breakpoints == [("2:recovered >= 60", True)]
    assert other.views.breakpoints.items == [("2:recovered >= 60", True)]


def test_a_save_is_said_while_the_run_plays_on_and_names_the_step_it_opens_at(qtbot, tmp_path):
    """Saved while playing, "session saved: … (step 30)" went with the next step, 60 ms later; saved
    at step 4 behind step 8 it said "(step 4)" and reopened at step 8."""
    app = open_app(qtbot)
    _run_to(qtbot, app, 8)
    _run_to(qtbot, app, 4)
    _saved(qtbot, app, tmp_path / "behind")
    bar = app.window.statusBar()
    assert (
        bar.currentMessage()
        == f"session saved: {tmp_path / 'behind'} (to step 8, where it opens; step 4 was on show)"
    )
    _run_to(qtbot, app, 9)  # at the branch's head: a save opens where it was made
    app.clock.look_at(7)  # looking back, the engine at 9: the save opens at 9, not at the step on show
    _saved(qtbot, app, tmp_path / "looking")
    assert bar.currentMessage() == (
        f"session saved: {tmp_path / 'looking'} (to step 9, where it opens; step 7 was on show)"
    )
    app.clock.follow()
    app.intents.play(True)
    _saved(qtbot, app, tmp_path / "playing")
    said = bar.currentMessage()
    assert said.startswith(f"session saved: {tmp_path / 'playing'} (step ")
    saved_at = app.clock.newest.step
    qtbot.waitUntil(lambda: app.clock.newest.step > saved_at + 3, timeout=WAIT_MS)
    wait_for_frame(qtbot, app)
    assert bar.currentMessage() == said  # true of the save as the run plays on
    app.intents.play(False)


def test_a_session_opened_by_a_relative_path_is_remembered_whole_and_its_step_note_goes_with_the_step(
    qtbot, tmp_path, monkeypatch
):
    """Open recent kept "runs/s1" as typed (from another folder it opened nothing or another session);
    "session opened: … (step 12)" stayed in the status bar after a jump to step 5."""
    app = open_app(qtbot)
    _run_to(qtbot, app, 12)
    _saved(qtbot, app, tmp_path / "s")
    monkeypatch.chdir(tmp_path)
    other = open_app(qtbot)
    with qtbot.waitSignal(other.link.saved, timeout=WAIT_MS):
        other.sessions.open_from(Path("s"))
    assert other.sessions.recent_sessions()[0] == str(tmp_path / "s")
    qtbot.waitUntil(lambda: other.clock.newest.step == 12, timeout=WAIT_MS)
    wait_for_frame(qtbot, other)
    assert other.window.statusBar().currentMessage() == "session opened: s (step 12)"
    _run_to(qtbot, other, 5)
    qtbot.waitUntil(lambda: other.window.statusBar().currentMessage() == "", timeout=WAIT_MS)


def test_a_session_recorded_before_a_redefinition_says_so_on_opening(qtbot, tmp_path):
    """Its gap and tail_filtering were recorded under earlier definitions: drawn in ② beside today's,
    unmarked."""
    import json

    app = open_app(qtbot)
    _run_to(qtbot, app, 6)
    _saved(qtbot, app, tmp_path / "s")
    document = json.loads((tmp_path / "s" / "session.json").read_text())
    del document["measures"], document["notes"]  # as a muonscope from before the number was kept wrote it
    document["version"] = 1
    (tmp_path / "s" / "session.json").write_text(json.dumps(document))
    app.sessions.open_from(tmp_path / "s")
    said = "; its tail_filtering, recorded before the filtering ratio took one floor"
    qtbot.waitUntil(
        lambda: app.views.message.text.startswith("Session s: its gap, recorded"), timeout=WAIT_MS
    )
    assert said in app.views.message.text
    assert "is left out (a step gone to again measures it anew); other metrics" in app.views.message.text
    assert app.views.message.text.endswith(
        "; other metrics may follow an earlier muonscope's definitions (saved before they were numbered)."
    )


def test_a_bad_session_file_changes_nothing_and_runs_nothing(qtbot, tmp_path):
    app = open_app(qtbot)
    _run_to(qtbot, app, 6)
    _saved(qtbot, app, tmp_path / "s")
    marker = tmp_path / "ran"

    class Payload:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    (tmp_path / "s" / "session.json").write_bytes(pickle.dumps(Payload()))
    _run_to(qtbot, app, 9)
    with qtbot.waitSignal(app.link.alert, timeout=WAIT_MS) as alert:
        app.sessions.open_from(tmp_path / "s")
    assert "session.json" in alert.args[0] and "\n" not in alert.args[0]
    assert not marker.exists()
    assert app.clock.newest.step == 9  # the open session is untouched
    assert app.views.message.text.startswith("Not opened: ")
    app.intents.step(1)
    wait_for_step(qtbot, app, 10)
    wait_for_frame(qtbot, app)
    assert app.views.message.text == ""  # said while it was news: the run has moved on since


def test_a_folder_it_may_not_enter_is_said_so_when_opening_or_saving_there(qtbot, tmp_path, monkeypatch):
    """Inside a chmod 000 folder, File ▸ Open and Save did nothing a user could see: a
    PermissionError went to stderr from the check of what the path was."""
    app = open_app(qtbot)
    _run_to(qtbot, app, 4)
    _saved(qtbot, app, tmp_path / "closed" / "s")
    closed = tmp_path / "closed"

    def refused(path) -> bool:
        return closed in Path(path).parents

    real_stat, real_mkdir = os.stat, os.mkdir

    def stat(path, *args, **kwargs):  # as the system answers root, who chmod refuses nothing
        if refused(path):
            raise PermissionError(13, "Permission denied", str(path))
        return real_stat(path, *args, **kwargs)

    def mkdir(path, *args, **kwargs):
        if refused(path):
            raise PermissionError(13, "Permission denied", str(path))
        return real_mkdir(path, *args, **kwargs)

    monkeypatch.setattr(os, "stat", stat)
    monkeypatch.setattr(os, "mkdir", mkdir)
    for act, said in (
        (lambda: app.sessions.open_from(closed / "s"), f"Not opened: {closed / 's'}: cannot be read"),
        (lambda: app.sessions.save_to(closed / "new"), f"Not saved: {closed / 'new'}: cannot be saved there"),
    ):
        with qtbot.waitSignal(app.link.alert, timeout=WAIT_MS):
            act()
        assert app.views.message.text.startswith(said) and "permission denied" in app.views.message.text
    assert app.clock.newest.step == 4  # the run on show is untouched


def test_a_save_the_disk_cannot_hold_is_not_made_and_the_run_goes_on(qtbot, tmp_path, monkeypatch):
    """safetensors' own error on a full disk ended the engine thread: nothing could be saved or run
    after it, and everything computed was lost."""
    import safetensors.torch
    from safetensors import SafetensorError

    app = open_app(qtbot)
    _run_to(qtbot, app, 4)
    real_save = safetensors.torch.save_file

    def full(*_args, **_kwargs):
        raise SafetensorError("Error while serializing: I/O error: No space left on device (os error 28)")

    monkeypatch.setattr(safetensors.torch, "save_file", full)
    with qtbot.waitSignal(app.link.alert, timeout=WAIT_MS):
        app.sessions.save_to(tmp_path / "s")
    said = f"Not saved: {tmp_path / 's'}: cannot be saved there (no space left on device)"
    assert app.views.message.text.startswith(said)
    monkeypatch.setattr(safetensors.torch, "save_file", real_save)
    _run_to(qtbot, app, 6)  # the engine goes on
    _saved(qtbot, app, tmp_path / "s")
    assert open_session(tmp_path / "s").step == 6


def test_a_save_over_a_session_another_process_saved_meanwhile_keeps_both(qtbot, tmp_path):
    """Ctrl+S over the window's own session replaced what another process had saved there since
    (the window asks only before replacing a session it did not open); nothing said so."""
    from muonscope.engine.session_file import save_session

    app = open_app(qtbot)
    _run_to(qtbot, app, 4)
    _saved(qtbot, app, tmp_path / "s")
    meanwhile = open_session(tmp_path / "s")
    meanwhile.run(9, stop_on_breakpoints=False)
    save_session(meanwhile, tmp_path / "s")  # as `run --resume s --save s` in a terminal
    _run_to(qtbot, app, 6)
    with qtbot.waitSignal(app.link.saved, timeout=WAIT_MS):
        app.sessions.save_to(tmp_path / "s")
    assert app.views.message.text == (
        f"Saved elsewhere: {tmp_path / 's'}: another process saved a session there meanwhile, which is "
        f"kept; this one is saved to {tmp_path / 's-2'} instead"
    )
    assert app.sessions.session_path == tmp_path / "s-2"  # Ctrl+S goes on saving there
    assert open_session(tmp_path / "s").step == 9 and open_session(tmp_path / "s-2").step == 6


def test_a_config_file_the_window_cannot_run_as_written_is_not_opened(qtbot, tmp_path):
    """A bad [view] replaced the run anyway (a bad [task] refused the file), and a run too large
    for memory was "Not restarted" though nothing had been running it."""
    app = open_app(qtbot)
    _run_to(qtbot, app, 4)
    bad_view = tmp_path / "view.toml"
    bad_view.write_text('[task]\nd = 24\n[view]\nspectrum = "bogus"\n', encoding="utf-8")
    app.sessions.open_from(bad_view)
    said = f"Not opened: {bad_view}: view.spectrum = 'bogus' is not allowed: must be one of"
    assert app.views.message.text.startswith(said)
    too_large = tmp_path / "large.toml"
    too_large.write_text("[task]\nd = 16384\nn_items = 10000000\n", encoding="utf-8")
    app.sessions.open_from(too_large)
    qtbot.waitUntil(lambda: "GiB" in app.views.message.text, timeout=WAIT_MS)
    assert app.views.message.text.startswith("Not opened: ") and ".." not in app.views.message.text
    assert app.clock.newest.step == 4 and app.clock.config.task.d != 24  # the run on show is untouched


def test_a_config_file_opens_in_the_window_and_a_bad_one_is_refused_naming_it(qtbot, tmp_path):
    """File ▸ Open took session folders only: a TOML was "not a session folder", with no way to
    open what ``--config`` opens."""
    app = open_app(qtbot)
    _run_to(qtbot, app, 4)
    bad = tmp_path / "bad.toml"
    bad.write_text("[task]\nd = 'wide'\n", encoding="utf-8")
    app.sessions.open_from(bad)
    assert app.views.message.text.startswith(f"Not opened: {bad}: task.d = 'wide' is not allowed")
    assert app.clock.newest.step == 4  # the run on show is untouched
    good = tmp_path / "mine.toml"
    good.write_text("[task]\nd = 24\nn_items = 96\n[[lanes]]\noptimizer = 'sgd'\n", encoding="utf-8")
    with qtbot.waitSignal(app.link.run_kept, timeout=WAIT_MS):  # the run before is kept
        app.sessions.open_from(good)
    qtbot.waitUntil(lambda: app.clock.config.task.d == 24 and app.clock.newest.step == 0, timeout=WAIT_MS)
    assert [lane.optimizer for lane in app.clock.config.lanes] == ["sgd"]
    assert app.views.message.text == ""  # the refusal before it is past
    assert app.sessions.open_config_action.shortcut().toString() == "Ctrl+Shift+O"


def test_going_to_a_step_before_the_first_is_refused_and_the_engine_goes_on(qtbot):
    """go_to(-3) stopped the engine ("engine stopped (ValueError)") with a traceback."""
    app = open_app(qtbot)
    _run_to(qtbot, app, 4)
    with qtbot.waitSignal(app.link.alert, timeout=WAIT_MS) as alert:
        app.debugger.go_to(-3)
    assert alert.args[0] == "Not gone to step -3: a run's steps start at 0."
    app.debugger.go_to(2)
    qtbot.waitUntil(lambda: app.clock.newest.step == 2, timeout=WAIT_MS)


def test_going_back_and_changing_a_setting_forks_a_branch(qtbot, tmp_path):
    app = open_app(qtbot)
    _run_to(qtbot, app, 20)
    straight = app.clock.history.column("batch_loss", lane=0).copy()
    with qtbot.waitSignal(app.link.history_replaced, timeout=WAIT_MS):
        app.debugger.go_to(8)
    qtbot.waitUntil(lambda: app.clock.newest.step == 8, timeout=WAIT_MS)
    assert app.clock.head_step == 20  # the branch's later steps stay on record
    with qtbot.waitSignal(app.link.branches_changed, timeout=WAIT_MS):
        app.intents.change("lanes[0].lr", 5.0)
    qtbot.waitUntil(lambda: len(app.debugger.branches) == 2, timeout=WAIT_MS)
    fork = next(b for b in app.debugger.branches if b.current)
    assert fork.fork_step == 8
    assert app.views.timeline.branches and len(app.views.timeline.branches) == 2
    _run_to(qtbot, app, 20)
    forked = app.clock.history.column("batch_loss", lane=0)
    np.testing.assert_array_equal(forked[:9], straight[:9])
    assert not np.array_equal(forked, straight)
    _saved(qtbot, app, tmp_path / "s")
    reopened = open_session(tmp_path / "s")
    assert len(reopened.branches) == 2 and reopened.branch.fork_step == 8


def test_going_back_before_a_change_keeps_its_marker_where_the_recorded_curves_part(qtbot):
    """The marker went with the rewind while the curves the change made stayed on screen."""
    app = open_app(qtbot)
    _run_to(qtbot, app, 10)
    app.intents.change("lanes[0].lr", 5.0)
    _run_to(qtbot, app, 20)
    wait_for_frame(qtbot, app)
    (text,) = [t for t in app.views.series.markers.texts if "lr" in t]
    with qtbot.waitSignal(app.link.history_replaced, timeout=WAIT_MS):
        app.debugger.go_to(4)
    qtbot.waitUntil(lambda: app.clock.newest.step == 4, timeout=WAIT_MS)
    wait_for_frame(qtbot, app)
    assert app.clock.newest.events == ()  # the engine has not made the change again, but it is on record
    assert text in app.views.series.markers.texts and text in app.views.capacity.markers.texts
    _run_to(qtbot, app, 20)  # made again, at its step: one marker, not two
    wait_for_frame(qtbot, app)
    assert app.views.series.markers.texts.count(text) == 1


def test_right_arrow_while_looking_back_moves_the_view_not_the_engine(qtbot):
    app = open_app(qtbot)
    _run_to(qtbot, app, 10)
    app.clock.look_at(4)
    app.intents.step(1)
    assert app.clock.cursor_step == 5
    wait_for_frame(qtbot, app)
    assert app.clock.newest.step == 10


def test_a_breakpoint_pauses_the_run_and_names_itself(qtbot):
    app = open_app(qtbot)
    with qtbot.waitSignal(app.link.breakpoints_changed, timeout=WAIT_MS):
        app.debugger.add_breakpoint("batch_loss < 1e9")
    with qtbot.waitSignal(app.link.note, timeout=WAIT_MS) as note:
        app.intents.play(True)
    assert "batch_loss < 1e9" in note.args[0] and "untick it" in note.args[0]
    wait_until_paused(qtbot, app)
    assert app.clock.newest.step == 1
    assert app.views.breakpoints.highlighted == 0
    assert app.views.message.level == "info"  # a pause asked for, not a failure
    with qtbot.waitSignal(app.link.note, timeout=WAIT_MS) as note:
        app.debugger.add_breakpoint("batch_loss < 2e9")  # holds here, where nothing would show it
    assert note.args[0].startswith("Breakpoint 'batch_loss < 2e9' holds already at step 1 for lane 0")
    with qtbot.waitSignal(app.link.note, timeout=WAIT_MS) as note:
        app.intents.step(1)
    assert note.args[0].endswith("; 'batch_loss < 2e9' holds too")  # both hold: the second is named as well
    app.debugger.add_breakpoint("loss <")
    assert "loss <" in app.views.breakpoints.error


def test_the_fired_mark_goes_when_the_run_leaves_the_step_it_fired_at(qtbot):
    """It stayed bold and coloured after a rewind, and on another branch where it did not hold."""
    app = open_app(qtbot)
    _run_to(qtbot, app, 4)
    with qtbot.waitSignal(app.link.breakpoints_changed, timeout=WAIT_MS):
        app.debugger.add_breakpoint("batch_loss > -inf")
    app.intents.step(1)
    qtbot.waitUntil(lambda: app.views.breakpoints.highlighted == 0, timeout=WAIT_MS)
    wait_for_frame(qtbot, app)
    assert app.views.breakpoints.highlighted == 0  # where it fired, the mark stands
    with qtbot.waitSignal(app.link.breakpoints_changed, timeout=WAIT_MS):
        app.debugger.add_breakpoint("0:loss < -1")  # another, added meanwhile, takes it away no more
    assert app.views.breakpoints.highlighted == 0
    app.debugger.go_to(2)
    qtbot.waitUntil(lambda: app.clock.newest.step == 2, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: app.views.breakpoints.highlighted is None, timeout=WAIT_MS)


def test_a_population_breakpoint_set_between_evaluations_says_it_held_at_the_last(qtbot):
    """Set at step 3 (evaluated every 2 steps), 'accuracy >= 0' was met at step 2 and nothing said so."""
    app = open_app(qtbot)
    _run_to(qtbot, app, 3)
    with qtbot.waitSignal(app.link.note, timeout=WAIT_MS) as note:
        app.debugger.add_breakpoint("accuracy >= 0")
    assert note.args[0].startswith(
        "Breakpoint 'accuracy >= 0' held at step 2, as last evaluated before step 3, for lane 0 ("
    )
    assert note.args[0].endswith("it pauses the run at the next evaluation where it holds.")
    with qtbot.waitSignal(app.link.note, timeout=WAIT_MS) as note:
        app.intents.play(True)
    wait_until_paused(qtbot, app)
    assert app.clock.newest.step == 4 and "'accuracy >= 0'" in note.args[0]


def test_the_breakpoint_panel_refuses_a_metric_the_task_never_measures(qtbot):
    """On a gradient stream "recovered >= 0" was listed, and the run went on past it for ever."""
    stream = ExperimentConfig(
        task=TaskConfig(kind="spiked", rows=12, cols=10, strengths=(5.0, 3.0)),
        lanes=(LaneConfig(optimizer="muon", lr=0.01, momentum=0.9),),
    )
    app = open_app(qtbot, Preset(name="stream", config=stream, title="a stream"))
    app.debugger.add_breakpoint("recovered >= 0")
    assert "a spiked task has no items, so no recovered" in app.views.breakpoints.error
    with qtbot.waitSignal(app.link.breakpoints_changed, timeout=WAIT_MS):
        app.debugger.add_breakpoint("alignment > 0")  # what a stream measures is taken
    assert app.views.breakpoints.error == ""
    app.debugger.add_breakpoint("alignment  >  0")  # the same breakpoint again, however spaced
    assert app.views.breakpoints.error == "breakpoint = 'alignment  >  0' is not allowed: it is set already"
    assert app.views.breakpoints.items == [("alignment > 0", True)]


def test_the_inspector_shows_the_matrix_of_the_step_under_the_cursor(qtbot, tmp_path):
    app = open_app(qtbot)
    _run_to(qtbot, app, 7)
    _saved(qtbot, app, tmp_path / "s")
    app.window.inspector_dock.show()
    app.clock.look_at(5)
    panel = app.views.inspector
    panel.tensor_combo.setCurrentIndex(panel.tensor_combo.findData("update"))
    panel.lane_combo.setCurrentIndex(2)
    with qtbot.waitSignal(app.link.inspected, timeout=WAIT_MS):
        app.debugger.inspector.inspect()
    qtbot.waitUntil(lambda: panel.matrix_view.matrix is not None, timeout=WAIT_MS)
    expected = lane_matrices(open_session(tmp_path / "s").matrices_at(5), 2).matrices["update"]
    np.testing.assert_allclose(panel.matrix_view.matrix, expected, rtol=0, atol=0)
    low, high = panel.matrix_view.levels
    assert low == -high == -np.abs(expected).max()
    assert app.clock.newest.step == 7  # inspecting replays without moving the engine
    # the σ plot shows the direction D the lane stepped along: the update is −lr·D
    lr = app.clock.config.lanes[2].lr
    drawn = panel.spectrum.direction[1]
    np.testing.assert_allclose(lr * drawn, np.linalg.svd(expected, compute_uv=False)[: drawn.size], rtol=1e-9)
    assert panel.spectrum.names[0].startswith("D: ")


def test_the_inspectors_lane_box_names_each_lane_by_the_settings_of_the_step_on_view(qtbot):
    """A lane changed at step 6 is named by its old settings when the view looks back to step 4, as
    the matrix's title names it, and by its new ones again at the head."""
    app = open_app(qtbot)
    _run_to(qtbot, app, 6)
    before = app.clock.newest.lanes[0].label
    app.intents.change("lanes[0].lr", 5.0)
    _run_to(qtbot, app, 9)
    after = app.clock.newest.lanes[0].label
    assert before != after
    app.window.inspector_dock.show()
    combo = app.views.inspector.lane_combo
    app.clock.look_at(4)
    wait_for_frame(qtbot, app)
    qtbot.waitUntil(lambda: combo.itemText(0) == f"0 · {before}", timeout=WAIT_MS)
    app.clock.look_at(8)
    wait_for_frame(qtbot, app)
    qtbot.waitUntil(lambda: combo.itemText(0) == f"0 · {after}", timeout=WAIT_MS)


def test_task_coordinates_are_offered_only_for_a_task_with_bases_and_say_why_not(qtbot):
    stream = ExperimentConfig(
        task=TaskConfig(kind="spiked", rows=12, cols=8, strengths=(3.0,)),
        lanes=(LaneConfig(optimizer="muon", lr=0.1, momentum=0.9, order="pre"),),
    )
    app = open_app(qtbot, Preset(name="stream", config=stream, title="a spiked stream"))
    box = app.views.inspector.task_coordinates_box
    qtbot.waitUntil(lambda: not box.isEnabled(), timeout=WAIT_MS)
    assert box.toolTip() == view_problem(stream.task, "bases") and "no task bases" in box.toolTip()


def test_a_reopened_fork_of_a_fork_is_drawn_beside_the_branch_it_came_from(qtbot, tmp_path):
    """Saved on a fork of a fork, a session reopens comparing with that fork, as it was drawn when
    saved; the window that had it open was comparing with main."""
    app = open_app(qtbot)
    _run_to(qtbot, app, 12)
    for step, lr in ((6, 5.0), (8, 2.0)):  # fork 1 at step 6, then a fork of it at step 8
        with qtbot.waitSignal(app.link.history_replaced, timeout=WAIT_MS):
            app.debugger.go_to(step)
        with qtbot.waitSignal(app.link.comparison, timeout=WAIT_MS):
            app.intents.change("lanes[0].lr", lr)
        _run_to(qtbot, app, 10)
    current = next(b for b in app.debugger.branches if b.current)
    assert current.parent not in (None, 0) and app.debugger.compared_branch == current.parent
    _saved(qtbot, app, tmp_path / "s")
    reopened = open_app(qtbot)
    with qtbot.waitSignal(reopened.link.comparison, timeout=WAIT_MS):
        reopened.sessions.open_from(tmp_path / "s")
    qtbot.waitUntil(lambda: reopened.debugger.compared_branch == current.parent, timeout=WAIT_MS)
    wait_for_frame(qtbot, reopened)
    parent = next(b for b in reopened.debugger.branches if b.id == current.parent)
    assert parent.name in reopened.views.lane_key.note
    with qtbot.waitSignal(reopened.link.comparison, timeout=WAIT_MS):
        reopened.intents.load_preset("default")  # a new run has nothing to compare with
    qtbot.waitUntil(lambda: reopened.debugger.compared_branch is None, timeout=WAIT_MS)


def test_after_a_fork_the_original_branch_is_drawn_faded_beside_the_new_one(qtbot):
    app = open_app(qtbot)
    app.views.series.set_mode("metric", "batch_loss")
    _run_to(qtbot, app, 12)
    straight_steps, straight = app.clock.history.columns(("step", "batch_loss"), 0)
    straight_steps, straight = straight_steps.copy(), straight.copy()
    with qtbot.waitSignal(app.link.history_replaced, timeout=WAIT_MS):
        app.debugger.go_to(5)
    with qtbot.waitSignal(app.link.comparison, timeout=WAIT_MS):
        app.intents.change("lanes[0].lr", 5.0)  # forks; the original becomes the comparison
    original = next(b for b in app.debugger.branches if not b.current)
    assert app.debugger.compared_branch == original.id
    wait_for_frame(qtbot, app)
    steps, values = app.views.series.faded_data(0)
    measured = np.isfinite(straight)  # no minibatch loss before the first step
    np.testing.assert_array_equal(steps, straight_steps[measured])
    np.testing.assert_array_equal(values, straight[measured])
    assert app.views.capacity.faded_data(0)[0].size > 0
    assert original.name in app.views.lane_key.note
    fork = next(b for b in app.debugger.branches if b.current)
    with qtbot.waitSignal(app.link.comparison, timeout=WAIT_MS):
        app.debugger.switch_branch(original.id)  # back on the original: the fork is the one faded
    qtbot.waitUntil(lambda: app.debugger.compared_branch == fork.id, timeout=WAIT_MS)
    wait_for_frame(qtbot, app)
    assert fork.name in app.views.lane_key.note and app.views.series.faded_data(0)[0].size > 0
    with qtbot.waitSignal(app.link.comparison, timeout=WAIT_MS):
        app.debugger.compare_with(None)
    wait_for_frame(qtbot, app)
    assert app.views.series.faded_data(0)[0].size == 0 and app.views.lane_key.note == ""


def test_panel_two_says_a_compared_branch_was_measured_at_steps_of_its_own(qtbot, monkeypatch):
    """Paced as each branch played, an unchanged lane's spectral gap was drawn through other steps on
    each: its two curves parted, bit-identical where both were measured, and read as lanes apart."""
    from muonscope.app import renderer

    paced = "measured at 2 of 12 steps, paced as the run played"  # as a run played at speed says
    monkeypatch.setattr(renderer, "thinned_note", lambda *_args: paced)
    app = open_app(qtbot)
    app.views.series.set_mode("metric", "gap")
    _run_to(qtbot, app, 12)
    wait_for_frame(qtbot, app)
    assert paced in app.views.series.note and "compared" not in app.views.series.note
    with qtbot.waitSignal(app.link.history_replaced, timeout=WAIT_MS):
        app.debugger.go_to(5)
    with qtbot.waitSignal(app.link.comparison, timeout=WAIT_MS):
        app.intents.change("lanes[0].lr", 5.0)  # forks; the original is drawn faded beside it
    qtbot.waitUntil(
        lambda: f"{paced}; the compared branch at steps of its own" in app.views.series.note, timeout=WAIT_MS
    )
    with qtbot.waitSignal(app.link.comparison, timeout=WAIT_MS):
        app.debugger.compare_with(None)
    qtbot.waitUntil(lambda: "compared" not in app.views.series.note, timeout=WAIT_MS)


def test_step_axes_fit_the_branch_on_show_once_nothing_is_compared(qtbot):
    """After Compare with ▸ none, ② and ④ kept the 120 steps of the branch no longer drawn, and a
    fork of 10 steps sat squeezed at their left edge."""
    app = open_app(qtbot)
    _run_to(qtbot, app, 120)
    with qtbot.waitSignal(app.link.history_replaced, timeout=WAIT_MS):
        app.debugger.go_to(5)
    with qtbot.waitSignal(app.link.comparison, timeout=WAIT_MS):
        app.intents.change("lanes[0].lr", 5.0)  # forks, and main is drawn faded to its step 120
    _run_to(qtbot, app, 10)
    panels = (app.views.series, app.views.capacity)
    x_end = [lambda panel=panel: panel.plot.getViewBox().viewRange()[0][1] for panel in panels]
    assert all(end() >= 120 for end in x_end)  # the compared branch is drawn whole
    with qtbot.waitSignal(app.link.comparison, timeout=WAIT_MS):
        app.debugger.compare_with(None)
    wait_for_frame(qtbot, app)
    assert all(10 <= end() < 60 for end in x_end), [end() for end in x_end]


def test_step_axes_end_with_a_longer_compared_branch_not_at_the_next_round_number(qtbot):
    """A fork at step 30,000 of a 150,000-step main stretched ②, ④ and the timeline to 200,000: a
    quarter of each plot empty, though main ends where it does and will not grow."""
    preset = small_preset()
    app = open_app(qtbot, replace(preset, config=preset.config.with_value("run.steps", 60)))
    _run_to(qtbot, app, 120)  # main played on past its length: the fork's axes end at 60 of their own
    with qtbot.waitSignal(app.link.history_replaced, timeout=WAIT_MS):
        app.debugger.go_to(5)
    with qtbot.waitSignal(app.link.comparison, timeout=WAIT_MS):
        app.intents.change("lanes[0].lr", 5.0)  # forks, and main is drawn faded to its step 120
    _run_to(qtbot, app, 10)
    wait_for_frame(qtbot, app)
    panels = (app.views.series, app.views.capacity, app.views.timeline)
    ends = [panel.plot.getViewBox().viewRange()[0][1] for panel in panels]
    assert all(120 <= end <= 126 for end in ends), ends  # main's end, with room for its tick label


def _wait_shown(qtbot, app, step):
    """Until the view stands at ``step`` with that step's own snapshot drawn."""
    qtbot.waitUntil(
        lambda: app.clock.shown is not None and app.clock.shown.step == step and not app.clock.recalling,
        timeout=WAIT_MS,
    )
    wait_for_frame(qtbot, app)


def _click_timeline_at(qtbot, app, step):
    line = app.views.timeline
    scene_pos = line.plot.getViewBox().mapViewToScene(QtCore.QPointF(step, 0.5))
    qtbot.mouseClick(
        line.plot_widget.viewport(),
        QtCore.Qt.MouseButton.LeftButton,
        pos=line.plot_widget.mapFromScene(scene_pos),
    )


def _opened(qtbot, path):
    """A second window that opened the session at ``path``, drawn at the session's step."""
    app = open_app(qtbot)
    with qtbot.waitSignal(app.link.saved, timeout=WAIT_MS) as opened:
        app.sessions.open_from(path)
    qtbot.waitUntil(lambda: app.clock.newest.step == opened.args[0].step, timeout=WAIT_MS)
    wait_for_frame(qtbot, app)
    return app


def _step_note(panel) -> str:
    """The part of a panel's corner note that says which step it shows (not what it leaves out)."""
    return " · ".join(part for part in panel.note.split(" · ") if not part.endswith("not drawn"))


def _assert_same_spectra(shown, delivered):
    assert shown.step == delivered.step
    for mine, theirs in zip(shown.lanes, delivered.lanes, strict=True):
        assert mine.spectra_step == theirs.spectra_step == shown.step
        np.testing.assert_allclose(mine.spectra.gradient, theirs.spectra.gradient, rtol=1e-12, atol=0)
        np.testing.assert_allclose(mine.class_error, theirs.class_error, rtol=1e-12, atol=0)


def test_after_opening_a_session_the_arrows_and_the_timeline_move_the_view_over_its_run(qtbot, tmp_path):
    source = open_app(qtbot)
    _run_to(qtbot, source, 12)  # stepped, not played: every delivered step has its own spectra
    delivered = {step: source.clock.store.at_or_before(step) for step in (4, 6, 7, 10)}
    _saved(qtbot, source, tmp_path / "s")
    app = _opened(qtbot, tmp_path / "s")
    app.window.focus_stage()
    qtbot.keyClick(app.window.stage, QtCore.Qt.Key.Key_Left)
    qtbot.keyClick(app.window.stage, QtCore.Qt.Key.Key_Left)
    _wait_shown(qtbot, app, 10)
    _assert_same_spectra(app.clock.shown, delivered[10])
    assert app.views.timeline.cursor.value() == 10 and app.views.timeline.step_label.text() == "step 10 / 12"
    assert app.views.live_caption.text().startswith("step 10 ·")
    assert _step_note(app.views.spectrum) == "" and app.views.class_error.note == ""
    _click_timeline_at(qtbot, app, 4)
    _wait_shown(qtbot, app, 4)
    _assert_same_spectra(app.clock.shown, delivered[4])
    assert app.clock.newest.step == 12  # the view moved, not the engine
    _run_to(qtbot, app, 12)
    with qtbot.waitSignal(app.link.history_replaced, timeout=WAIT_MS):
        app.debugger.go_to(7)  # a rewind: the window keeps no snapshot from before it
    _wait_shown(qtbot, app, 7)
    qtbot.keyClick(app.window.stage, QtCore.Qt.Key.Key_Left)
    _wait_shown(qtbot, app, 6)
    _assert_same_spectra(app.clock.shown, delivered[6])


def test_a_step_played_past_shows_its_own_spectra_once_the_run_is_paused(qtbot):
    """Playing, spectra follow the frame rate; paused, the step in view gets its own (a replay)."""
    app = open_app(qtbot)
    app.intents.play(True)
    wait_for_step(qtbot, app, 40)
    app.intents.play(False)
    wait_until_paused(qtbot, app)
    store = app.clock.store
    played_past = [s for s in store.steps if 0 < s and store.at_or_before(s).lanes[0].spectra_step != s]
    assert played_past  # steps of a few ms: most of them drew no spectra
    step = played_past[-1]
    app.clock.look_at(step)
    _wait_shown(qtbot, app, step)
    stepped = Experiment(small_preset().config)
    stepped.step(step)
    _assert_same_spectra(app.clock.shown, stepped.snapshot())
    assert _step_note(app.views.spectrum) == ""
    app.clock.follow()  # the step the run paused at has its own spectra too
    _wait_shown(qtbot, app, app.clock.newest.step)
    assert {lane.spectra_step for lane in app.clock.shown.lanes} == {app.clock.newest.step}


def test_panels_one_and_three_say_which_step_they_show_while_the_view_waits_for_its_own(qtbot):
    preset = small_preset()
    preset = replace(preset, config=preset.config.with_value("run.spectra_every", 3))
    entered, release = threading.Event(), threading.Event()
    release.set()
    app = open_app(qtbot, preset, engine_factory=held_experiment(entered, release))
    try:
        _run_to(qtbot, app, 12)
        with qtbot.waitSignal(app.link.history_replaced, timeout=WAIT_MS):
            app.debugger.go_to(10)
        _wait_shown(qtbot, app, 10)
        assert _step_note(app.views.spectrum) == "spectra of step 9"  # computed every 3 steps
        assert app.views.class_error.note == ""
        release.clear()
        entered.clear()
        app.clock.look_at(8)  # no snapshot of step 8 since the rewind: the engine replays it
        qtbot.waitUntil(entered.is_set, timeout=WAIT_MS)
        wait_for_frame(qtbot, app)
        assert app.views.timeline.cursor.value() == 8
        assert _step_note(app.views.spectrum) == "spectra of step 9 · computing step 8…"
        assert app.views.class_error.note == "errors as at step 10 · computing step 8…"
    finally:
        release.set()
    _wait_shown(qtbot, app, 8)
    assert _step_note(app.views.spectrum) == "spectra of step 6"
    assert app.views.class_error.note == ""


def _rewound_to_10_with_held_steps(qtbot, inspector: bool = False):
    """An app run to step 12 and back to 10 whose steps (replays too) wait while ``release`` is clear;
    with ``inspector``, its dock is open throughout."""
    entered, release = threading.Event(), threading.Event()
    release.set()
    app = open_app(qtbot, engine_factory=held_experiment(entered, release))
    if inspector:
        app.window.inspector_dock.show()
    _run_to(qtbot, app, 12)
    with qtbot.waitSignal(app.link.history_replaced, timeout=WAIT_MS):
        app.debugger.go_to(10)
    return app, entered, release


def test_a_replay_for_the_view_gives_way_when_the_view_moves_on(qtbot):
    app, entered, release = _rewound_to_10_with_held_steps(qtbot)
    answers = []
    app.link.recalled.connect(lambda m: answers.append((m.step, m.snapshot is not None, m.abandoned)))
    try:
        _wait_shown(qtbot, app, 10)
        release.clear()
        entered.clear()
        app.clock.look_at(8)
        qtbot.waitUntil(entered.is_set, timeout=WAIT_MS)  # replaying towards step 8
        app.clock.look_at(5)
        wait_for_frame(qtbot, app)  # the view asks for step 5 meanwhile
    finally:
        release.set()
    _wait_shown(qtbot, app, 5)
    assert answers == [(8, False, True), (5, True, False)]
    assert _step_note(app.views.spectrum) == ""


def _other_work(app) -> None:
    app.link.submit(SetBreakpoints((("loss < 0", True),)))


@pytest.mark.parametrize(
    ("meanwhile", "expected"),
    [
        # the inspector asks for lane 0 again: lane 1's replay gives way, lane 0's is shown
        (lambda app: app.views.inspector.lane_combo.setCurrentIndex(0), [(1, False, True), (0, True, False)]),
        # a breakpoint edited meanwhile leaves what is replayed for as it was: it waits for the replay
        (_other_work, [(1, True, False)]),
    ],
    ids=["another-lane", "a-breakpoint-edit"],
)
def test_an_inspector_replay_gives_way_to_what_the_window_asks_for_since(qtbot, meanwhile, expected):
    app, entered, release = _rewound_to_10_with_held_steps(qtbot, inspector=True)
    answers = []
    app.link.inspected.connect(lambda m: answers.append((m.request.lane, m.matrix is not None, m.abandoned)))
    try:
        _wait_shown(qtbot, app, 10)  # the view's own replay of step 10 is done: only the inspector's runs
        _inspected(qtbot, app, 10)
        answers.clear()
        release.clear()
        entered.clear()
        app.views.inspector.lane_combo.setCurrentIndex(1)  # lane 1's W at step 10: replayed
        qtbot.waitUntil(entered.is_set, timeout=WAIT_MS)
        meanwhile(app)
    finally:
        release.set()
    qtbot.waitUntil(lambda: bool(answers) and answers[-1][1], timeout=WAIT_MS)  # until a matrix is shown
    if len(expected) == 1:
        assert answers == expected  # replayed once, not restarted
    else:
        first, *between, last = answers
        assert [first, last] == expected
        assert all(abandoned for _lane, _shown, abandoned in between)  # any other gave way too
    assert app.views.inspector.matrix_view.title.startswith("W · ")
    if meanwhile is _other_work:  # and the edit was taken once the replay was done
        qtbot.waitUntil(lambda: app.views.breakpoints.items == [("loss < 0", True)], timeout=WAIT_MS)


def test_the_inspector_opened_after_a_rewind_shows_the_step_the_view_rests_on(qtbot):
    """Opened once the view already showed the step, the dock itself must ask for the matrix."""
    app = open_app(qtbot)
    _run_to(qtbot, app, 12)
    with qtbot.waitSignal(app.link.history_replaced, timeout=WAIT_MS):
        app.debugger.go_to(10)
    _wait_shown(qtbot, app, 10)
    wait_for_frame(qtbot, app)
    app.window.inspector_dock.show()
    _inspected(qtbot, app, 10)


def _inspected(qtbot, app, step):
    """Until the inspector shows lane 0's W at ``step``; returns it."""
    panel = app.views.inspector
    qtbot.waitUntil(
        lambda: panel.matrix_view.matrix is not None and panel.matrix_view.title.endswith(f"step {step}"),
        timeout=WAIT_MS,
    )
    assert panel.step == step
    return panel.matrix_view.matrix


def test_the_inspector_follows_an_open_and_a_go_to_made_while_paused(qtbot, tmp_path):
    source = open_app(qtbot)
    _run_to(qtbot, source, 9)
    _saved(qtbot, source, tmp_path / "s")
    saved = open_session(tmp_path / "s")
    app = open_app(qtbot)
    app.window.inspector_dock.show()
    _run_to(qtbot, app, 4)
    _inspected(qtbot, app, 4)
    with qtbot.waitSignal(app.link.saved, timeout=WAIT_MS):
        app.sessions.open_from(tmp_path / "s")
    for step in (9, 3, 6):  # opened; then back (a rewind) and forward, all while paused
        if step != 9:
            _run_to(qtbot, app, step)
        shown = _inspected(qtbot, app, step)
        np.testing.assert_array_equal(shown, lane_matrices(saved.matrices_at(step), 0).matrices["W"])
    app.clock.look_at(2)
    shown = _inspected(qtbot, app, 2)
    np.testing.assert_array_equal(shown, lane_matrices(saved.matrices_at(2), 0).matrices["W"])


def test_the_branch_menu_and_the_timeline_follow_the_run(qtbot):
    app = open_app(qtbot)
    _run_to(qtbot, app, 20)
    wait_for_frame(qtbot, app)

    def entries():
        return [action.text() for action in app.debugger.branch_menu.actions() if action.isCheckable()]

    assert entries() == ["main (steps 0–20)"]
    with qtbot.waitSignal(app.link.history_replaced, timeout=WAIT_MS):
        app.debugger.go_to(8)
    with qtbot.waitSignal(app.link.branches_changed, timeout=WAIT_MS):
        app.intents.change("lanes[0].lr", 5.0)
    _run_to(qtbot, app, 15)
    wait_for_frame(qtbot, app)
    assert entries() == ["main (steps 0–20)", "fork 1 at step 8 (steps 8–15)"]
    current = next(mark for mark in app.views.timeline.branches if mark.current)
    assert (current.fork_step, current.head_step) == (8, 15)
    with qtbot.waitSignal(app.link.branches_changed, timeout=WAIT_MS):
        app.intents.change("lanes[1].optimizer", "signgd")  # at the head: the branch goes on
    tips = [action.toolTip() for action in app.debugger.branch_menu.actions() if action.isCheckable()]
    signgd_lr = OPTIMIZERS["signgd"].default_lr
    assert tips == [  # each change as its marker says it, the learning rate a switch set included
        "the run from step 0\nno changes made on it",
        f"forked at step 8 from main\nat step 8: lane 0 lr 20 → 5\n"
        f"at step 15: lane 1 optimizer Adam → SignGD, lr 0.05 → {signgd_lr:g}",
    ]
    assert app.debugger.branch_menu.toolTipsVisible()
    with qtbot.waitSignal(app.link.branches_changed, timeout=WAIT_MS):
        app.debugger.switch_branch(0)
    assert app.window.statusBar().currentMessage() == "on branch main (steps 0–20)"  # the switch, said
    _run_to(qtbot, app, 30)
    wait_for_frame(qtbot, app)
    assert app.window.statusBar().currentMessage() == ""  # "steps 0–20" no longer true


@pytest.mark.parametrize("preset", ["default", "spectral_filtering"])
def test_the_breakpoint_panels_examples_are_accepted_on_the_task_shown(qtbot, preset):
    """The examples the panel shows are what a new user types first: each must work as shown (on a
    stream, whose task has no items, 'loss < 0.5' and '1:recovered >= 300' were refused)."""
    import re

    from muonscope.engine.breakpoints import parse_breakpoint
    from muonscope.engine.presets import load_preset

    config = load_preset(preset).config
    app = open_app(qtbot, load_preset(preset))
    wait_for_frame(qtbot, app)
    note = app.views.breakpoints.note_label.text()
    examples = [html.unescape(text) for text in re.findall(r"<code>(.*?)</code>", note)]
    assert len(examples) >= 3
    labels = [lane.display_label() for lane in config.lanes]
    for example in [*examples, app.views.breakpoints.edit.placeholderText().removeprefix("e.g. ")]:
        parse_breakpoint(example, labels, task_kind=config.task.kind)  # raises, naming it, if wrong


def test_a_dock_opened_from_its_shortcut_comes_to_the_front_of_its_tabs(qtbot):
    from PySide6 import QtWidgets

    app = open_app(qtbot)
    window = app.window
    window.resize(1280, 720)  # no room beside the plots: the docks are tabs with the controls
    qtbot.waitUntil(lambda: window.width() == 1280, timeout=WAIT_MS)

    def front_tab() -> str:
        bars = [bar for bar in window.findChildren(QtWidgets.QTabBar) if bar.count() > 1]
        return bars[0].tabText(bars[0].currentIndex()) if bars else ""

    window.breakpoints_dock.toggleViewAction().trigger()
    window.inspector_dock.toggleViewAction().trigger()  # Ctrl+I
    qtbot.waitUntil(lambda: front_tab() == "Inspector", timeout=WAIT_MS)  # not a tab behind breakpoints
    window.breakpoints_dock.toggleViewAction().trigger()  # hide
    window.breakpoints_dock.toggleViewAction().trigger()  # Ctrl+B again: now it is in front
    qtbot.waitUntil(lambda: front_tab() == "Breakpoints", timeout=WAIT_MS)


def test_going_forward_after_a_rewind_starts_from_the_nearest_checkpoint(qtbot):
    """Back at step 0 of a long run, "go to" a late step replayed every step from 0."""
    preset = small_preset()
    settings = {"task.d": 48, "task.n_items": 192, "run.checkpoint_mb": 1.0}  # checkpoints steps apart
    preset = replace(preset, config=preset.config.with_values(list(settings.items())))
    app = open_app(qtbot, preset)
    _run_to(qtbot, app, 60)
    losses = app.clock.history.column("batch_loss", lane=2).copy()
    with qtbot.waitSignal(app.link.history_replaced, timeout=WAIT_MS):
        app.debugger.go_to(0)
    qtbot.waitUntil(lambda: app.clock.newest.step == 0, timeout=WAIT_MS)
    received = []
    app.link.snapshot.connect(lambda snapshot: received.append(snapshot.step))
    _run_to(qtbot, app, 55)
    assert received[0] > 1 and received == list(range(received[0], 56))  # from a checkpoint, then stepped
    wait_for_frame(qtbot, app)
    np.testing.assert_array_equal(app.clock.history.column("batch_loss", lane=2), losses)


def test_breakpoints_added_before_the_engine_answers_are_all_kept(qtbot):
    """Each add sent the list as the engine last reported it: a second add made while the engine
    was busy (a long replay) overwrote the first."""
    app = open_app(qtbot)
    _run_to(qtbot, app, 4)
    app.debugger.add_breakpoint("loss < 0.2")
    app.debugger.add_breakpoint("1:recovered >= 400")  # before the engine has answered the first
    expected = [("loss < 0.2", True), ("1:recovered >= 400", True)]
    assert app.views.breakpoints.items == expected  # shown at once
    app.debugger.remove_breakpoint(0)
    app.debugger.enable_breakpoint(0, False)
    expected = [("1:recovered >= 400", False)]
    answers = []
    app.link.breakpoints_changed.connect(lambda message: answers.append(message.items))
    qtbot.waitUntil(lambda: len(answers) == 4, timeout=WAIT_MS)  # one per edit, in order
    assert list(answers[-1]) == expected
    assert app.debugger.breakpoints == expected and app.views.breakpoints.items == expected


@pytest.mark.parametrize("answer", ["No", "Yes"])
def test_saving_over_another_session_asks_first(qtbot, tmp_path, monkeypatch, answer):
    app = open_app(qtbot)
    _run_to(qtbot, app, 3)
    _saved(qtbot, app, tmp_path / "other")
    other_app = open_app(qtbot)
    _run_to(qtbot, other_app, 5)
    asked = []

    def question(*args, **kwargs):
        asked.append(args[2])
        return getattr(QtWidgets.QMessageBox.StandardButton, answer)

    monkeypatch.setattr(QtWidgets.QMessageBox, "question", question)
    if answer == "Yes":
        _saved(qtbot, other_app, tmp_path / "other")
    else:
        other_app.sessions.save_to(tmp_path / "other")
    assert len(asked) == 1 and "holds another saved session" in asked[0]
    assert open_session(tmp_path / "other").step == (5 if answer == "Yes" else 3)
    if answer == "Yes":
        asked.clear()
        _saved(qtbot, other_app, tmp_path / "other")  # now the window's own session: saved without asking
        assert asked == []


def test_a_breakpoint_naming_a_lane_by_label_follows_the_lane_when_its_label_changes(qtbot):
    app = open_app(qtbot)
    label = app.clock.newest.lanes[0].label
    with qtbot.waitSignal(app.link.breakpoints_changed, timeout=WAIT_MS):
        app.debugger.add_breakpoint(f"{label}: batch_loss > -inf")
    app.intents.change("lanes[0].lr", 5.0)
    paused = qtbot.waitSignal(
        app.link.note, timeout=WAIT_MS, check_params_cb=lambda text, _until: text.startswith("Paused")
    )
    with paused as alert:
        app.intents.step(1)  # the change applies, and the lane's label says the new rate
    relabelled = app.clock.newest.lanes[0].label
    assert relabelled != label and "5" in relabelled
    expected = [(f"{relabelled}: batch_loss > -inf", True)]
    qtbot.waitUntil(lambda: app.views.breakpoints.items == expected, timeout=WAIT_MS)
    assert relabelled in alert.args[0]  # and it held: the lane is still the one it names


def test_a_step_from_before_lane_0_was_removed_draws_and_names_each_lane_as_the_key_does(qtbot):
    """At step 6, before lane 0 (SGD) was removed at step 7, panels ① and ③ drew SGD's data in the
    colour and under the name of Adam, which had moved into its place, and the caption named SGD,
    which no panel draws any more."""
    app = open_app(qtbot)
    _run_to(qtbot, app, 7)
    app.intents.remove_lane(0)
    _run_to(qtbot, app, 10)
    app.clock.look_at(6)
    qtbot.waitUntil(lambda: app.views.spectrum.pictured_step == 6, timeout=WAIT_MS)
    wait_for_frame(qtbot, app)
    keyed = [lane.label for lane in app.clock.newest.lanes]
    assert not any(label.startswith("SGD") for label in keyed)
    for panel in (app.views.spectrum, app.views.class_error):
        columns = panel.data_table()[0][1:]
        named = [label for label in keyed if any(column.endswith(label) for column in columns)]
        assert named == keyed and not any("SGD" in column for column in columns)
    caption = app.views.live_caption.text()
    assert caption.startswith("step 6 ·") and "SGD" not in caption
    assert caption.endswith(" · 1 lane removed since, not drawn")


def test_the_breakpoints_stay_editable_after_the_lane_one_names_is_removed(qtbot):
    """Named by the label of a lane no longer there, a breakpoint made the engine refuse every list
    sent after: each removal, addition and switch showed for a moment and was put back."""
    app = open_app(qtbot)
    for text in ("batch_loss > -inf", "3:recovered >= 5"):
        with qtbot.waitSignal(app.link.breakpoints_changed, timeout=WAIT_MS):
            app.debugger.add_breakpoint(text)
    gone = app.clock.newest.lanes[3].label
    with qtbot.waitSignal(app.link.breakpoints_changed, timeout=WAIT_MS):
        app.intents.remove_lane(3)
    orphan = (f"{gone}:recovered >= 5", True)
    assert app.debugger.breakpoints == [("batch_loss > -inf", True), orphan]
    answers = []
    app.link.breakpoints_changed.connect(lambda message: answers.append(list(message.items)))
    app.debugger.remove_breakpoint(0)
    app.debugger.add_breakpoint("loss < 0.01")
    app.debugger.enable_breakpoint(0, False)
    qtbot.waitUntil(lambda: len(answers) == 3, timeout=WAIT_MS)
    expected = [(orphan[0], False), ("loss < 0.01", True)]
    assert answers[-1] == expected
    assert app.debugger.breakpoints == expected and app.views.breakpoints.items == expected


@pytest.mark.parametrize(("width", "beside"), [(1280, False), (1920, True)])
def test_the_debugger_docks_open_beside_the_plots_only_where_there_is_room(qtbot, width, beside):
    """Placed by the screen's width, they widened a 1280-pixel window for good."""
    app = open_app(qtbot)
    window = app.window
    window.resize(width, 720)
    qtbot.waitUntil(lambda: window.width() == width, timeout=WAIT_MS)
    for dock in (window.breakpoints_dock, window.inspector_dock):
        dock.toggleViewAction().trigger()
        qtbot.waitUntil(dock.isVisible, timeout=WAIT_MS)
    wait_for_frame(qtbot, app)
    right = QtCore.Qt.DockWidgetArea.RightDockWidgetArea
    for dock in (window.breakpoints_dock, window.inspector_dock):
        assert (window.dockWidgetArea(dock) == right) == beside
    assert window.width() == width
    for dock in (window.breakpoints_dock, window.inspector_dock):
        dock.toggleViewAction().trigger()
    window.resize(1920, 720)
    qtbot.waitUntil(lambda: window.width() == 1920, timeout=WAIT_MS)
    window.inspector_dock.show()  # a window made wider has room for it now
    assert window.dockWidgetArea(window.inspector_dock) == right


def test_an_opened_session_is_shown_as_the_preset_it_came_from_with_what_differs(qtbot, tmp_path):
    from muonscope.engine.presets import load_preset
    from muonscope.engine.session import Session
    from muonscope.engine.session_file import save_session

    preset = load_preset("hierarchical_noiseless")
    session = Session(preset.config.with_value("task.label_noise", 0.1))
    session.run(3, stop_on_breakpoints=False)
    save_session(session, tmp_path / "s")
    app = _opened(qtbot, tmp_path / "s")  # a window on the small test preset
    assert app.views.transport.preset_combo.currentData() == "hierarchical_noiseless"
    caption = app.views.caption.text()
    assert html.escape(preset.title) in caption and "label noise ε 0 → 0.1" in caption
    assert app.views.series.mode("metric") == preset.view["series"]
    assert app.views.series.mode("scale") == "log"


def test_a_kept_session_of_a_bundled_preset_is_named_by_its_folder(qtbot, tmp_path):
    """Two sessions of one preset, opened in turn, were both kept as "Muon vs SGD …": which one was
    kept could not be told."""
    from muonscope.engine.presets import load_preset
    from muonscope.engine.session import Session
    from muonscope.engine.session_file import save_session

    session = Session(load_preset("hierarchical_noiseless").config)
    session.run(3, stop_on_breakpoints=False)
    save_session(session, tmp_path / "s1")
    app = _opened(qtbot, tmp_path / "s1")
    with qtbot.waitSignal(app.link.run_kept, timeout=WAIT_MS):
        app.intents.run_preset(small_preset())
    assert app.window.statusBar().currentMessage().startswith("The run before (“s1”, step 3) is kept")


def test_a_run_replaced_by_another_preset_is_kept_and_comes_back(qtbot, tmp_path):
    """Page Down in a talk (another preset) replaced a run of 25 steps and a fork with nothing to undo it."""
    app = open_app(qtbot)
    _run_to(qtbot, app, 6)
    _saved(qtbot, app, tmp_path / "first")
    first = app.clock.config
    losses = app.clock.history.column("batch_loss", lane=1)
    with qtbot.waitSignal(app.link.run_kept, timeout=WAIT_MS):
        app.intents.run_preset(small_preset(label_noise=0.1))
    qtbot.waitUntil(lambda: app.clock.config.task.label_noise == 0.1, timeout=WAIT_MS)
    assert (
        app.window.statusBar()
        .currentMessage()
        .startswith("The run before (“first”, step 6) is kept: File ▸ Back")
    )
    assert app.sessions.session_path is None  # Save asks afresh: the new run is not the saved one
    _run_to(qtbot, app, 2)
    with qtbot.waitSignal(app.link.saved, timeout=WAIT_MS) as restored:
        app.sessions.back_action.trigger()
    assert restored.args[0].restored
    qtbot.waitUntil(lambda: app.clock.newest.step == 6 and app.clock.config == first, timeout=WAIT_MS)
    wait_for_frame(qtbot, app)
    np.testing.assert_array_equal(app.clock.history.column("batch_loss", lane=1), losses)
    assert app.sessions.session_path == tmp_path / "first"  # it is its own saved session again
    swapped = app.window.statusBar().currentMessage()  # the return is said, and the run it replaced kept
    assert swapped.startswith(
        "Back to the run before (step 6). The run before (“small test preset”, step 2) is kept"
    )
    with qtbot.waitSignal(app.link.saved, timeout=WAIT_MS):
        app.sessions.back_action.trigger()
    qtbot.waitUntil(
        lambda: app.clock.config.task.label_noise == 0.1 and app.clock.newest.step == 2, timeout=WAIT_MS
    )
    assert app.sessions.session_path is None


def test_a_kept_run_standing_behind_its_newest_step_is_said_to_be_there_both_ways(qtbot):
    """Kept it read "step 27" (its record), and brought back "step 7" (where its engine stood)."""
    app = open_app(qtbot)
    _run_to(qtbot, app, 9)
    _run_to(qtbot, app, 4)
    with qtbot.waitSignal(app.link.run_kept, timeout=WAIT_MS):
        app.intents.run_preset(small_preset(label_noise=0.1))
    assert (
        app.window.statusBar()
        .currentMessage()
        .startswith("The run before (“small test preset”, step 4 of 9) is kept")
    )
    qtbot.waitUntil(lambda: app.clock.config.task.label_noise == 0.1, timeout=WAIT_MS)
    with qtbot.waitSignal(app.link.saved, timeout=WAIT_MS):
        app.sessions.back_action.trigger()  # the new run holds nothing: nothing is kept in its place
    qtbot.waitUntil(lambda: app.clock.newest.step == 4 and app.clock.head_step == 9, timeout=WAIT_MS)
    assert app.window.statusBar().currentMessage() == "Back to the run before (step 4 of 9)"


def test_a_run_brought_back_is_shown_as_it_was_not_as_the_nearest_preset(qtbot):
    """A run of its own settings came back from File ▸ Back to the run before titled and described
    as the bundled preset nearest its settings."""
    app = open_app(qtbot, Preset(name="mine", config=small_preset().config))
    _run_to(qtbot, app, 4)
    with qtbot.waitSignal(app.link.run_kept, timeout=WAIT_MS):
        app.intents.load_preset("default")
    assert "The run before (“mine · own settings”, step 4) is kept" in app.window.statusBar().currentMessage()
    _run_to(qtbot, app, 1)
    with qtbot.waitSignal(app.link.saved, timeout=WAIT_MS):
        app.sessions.back_action.trigger()
    qtbot.waitUntil(lambda: app.window.windowTitle() == "muonscope[*] — mine · own settings", timeout=WAIT_MS)
    assert app.views.transport.preset_combo.shown_text == "mine · own settings"
    with qtbot.waitSignal(app.link.saved, timeout=WAIT_MS):
        app.sessions.back_action.trigger()  # and the run it replaced, back in turn, as it was
    qtbot.waitUntil(lambda: app.window.windowTitle().endswith(load_preset("default").title), timeout=WAIT_MS)


def test_a_kept_run_that_gives_way_to_a_newer_one_is_said_to_be_dropped(qtbot):
    """One run is kept: a second replacement dropped the first run kept without a word."""
    app = open_app(qtbot)
    _run_to(qtbot, app, 6)
    with qtbot.waitSignal(app.link.run_kept, timeout=WAIT_MS):
        app.intents.run_preset(small_preset(label_noise=0.1))
    assert "let go" not in app.window.statusBar().currentMessage()
    qtbot.waitUntil(lambda: app.clock.config.task.label_noise == 0.1, timeout=WAIT_MS)
    _run_to(qtbot, app, 2)
    with qtbot.waitSignal(app.link.run_kept, timeout=WAIT_MS) as kept:
        app.intents.run_preset(small_preset(label_noise=0.2))
    assert kept.args[0].let_go == (6, "", None)
    message = app.window.statusBar().currentMessage()
    # what was lost first: last, a window's width cut it off
    dropped = "The run kept until now (step 6) is let go: it was never saved and is lost. "
    assert message.startswith(dropped)
    kept = "The run before (“small test preset”, step 2) is kept: File ▸ Back to the run before"
    assert message.endswith(f"{kept} (Ctrl+Shift+Z) brings it back.")


def test_a_kept_run_dropped_after_work_past_its_save_says_what_is_lost(qtbot, tmp_path):
    """Saved at step 4 and run on to 9, it was said to stay in its folder: steps 5 to 9 were lost."""
    app = open_app(qtbot)
    _run_to(qtbot, app, 4)
    _saved(qtbot, app, tmp_path / "A")
    _run_to(qtbot, app, 9)
    with qtbot.waitSignal(app.link.run_kept, timeout=WAIT_MS):
        app.intents.run_preset(small_preset(label_noise=0.1))
    qtbot.waitUntil(lambda: app.clock.config.task.label_noise == 0.1, timeout=WAIT_MS)
    _run_to(qtbot, app, 2)
    with qtbot.waitSignal(app.link.run_kept, timeout=WAIT_MS) as kept:
        app.intents.run_preset(small_preset(label_noise=0.2))
    assert kept.args[0].let_go == (9, str(tmp_path / "A"), 4)
    dropped = f"its last save, in {tmp_path / 'A'}, holds it up to step 4; what was done since is lost. "
    assert dropped in app.window.statusBar().currentMessage()


def test_with_no_run_kept_going_back_says_so_and_changes_nothing(qtbot):
    app = open_app(qtbot)
    _run_to(qtbot, app, 3)
    with qtbot.waitSignal(app.link.note, timeout=WAIT_MS) as note:
        app.sessions.back_action.trigger()
    assert note.args[0] == "No run before this one is kept."
    assert app.clock.newest.step == 3


def test_docks_opened_beside_the_plots_of_a_wide_window_let_it_shrink_to_1280(qtbot):
    """Opened at 1920, the inspector and breakpoints sat beside the plots and held the window 1534 wide."""
    from PySide6 import QtCore

    app = open_app(qtbot)
    window = app.window
    window.resize(1920, 1080)
    qtbot.waitUntil(lambda: window.width() == 1920, timeout=WAIT_MS)
    window.inspector_dock.toggleViewAction().trigger()
    window.breakpoints_dock.toggleViewAction().trigger()
    right = QtCore.Qt.DockWidgetArea.RightDockWidgetArea
    qtbot.waitUntil(lambda: window.dockWidgetArea(window.inspector_dock) == right, timeout=WAIT_MS)
    window.resize(1280, 720)
    qtbot.waitUntil(lambda: window.width() == 1280, timeout=WAIT_MS)
    assert not window.inspector_dock.isHidden()  # still open, as a tab in the controls' place
    assert window.dockWidgetArea(window.inspector_dock) != right
    window.resize(1920, 1080)  # moved back to the wide screen: they stayed tabs
    qtbot.waitUntil(lambda: window.dockWidgetArea(window.inspector_dock) == right, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: window.dockWidgetArea(window.breakpoints_dock) == right, timeout=WAIT_MS)


def test_a_window_with_the_inspector_open_fits_a_small_screen(qtbot):
    """Its controls on two rows held the inspector, a tab in the controls' place, 477 pixels wide, and the
    window 1210: past a 1024-pixel screen's edge."""
    app = open_app(qtbot)
    window = app.window
    window.inspector_dock.toggleViewAction().trigger()  # Ctrl+I
    qtbot.waitUntil(window.inspector_dock.isVisible, timeout=WAIT_MS)
    window.resize(1024, 700)
    qtbot.waitUntil(lambda: window.width() == 1024, timeout=WAIT_MS)
    assert not window.inspector_dock.isHidden() and window.minimumSizeHint().width() <= 1024
    window.inspector_dock.raise_()
    qtbot.waitUntil(lambda: app.views.inspector.arrangement == "narrow", timeout=WAIT_MS)


def test_a_branch_asked_for_after_its_run_was_replaced_leaves_the_engine_running(qtbot):
    """The Branch menu still lists the forks of a run that a reset has just replaced: choosing one
    there (before the new run's branches arrive) stopped the engine thread for good."""
    app = open_app(qtbot)
    alerts = []
    app.link.alert.connect(lambda text, _until_moved: alerts.append(text))
    app.debugger.switch_branch(3)  # no such branch in this run
    step = app.clock.newest.step
    app.intents.step(2)
    wait_for_step(qtbot, app, step + 2)
    assert not any("engine thread failed" in text for text in alerts)


def _spectra_over_steps_shown(app) -> np.ndarray:
    """Panel ①'s table over the steps: a row per step, the step then σ_k (NaN where blank)."""
    return np.array(app.views.spectrum.data_table()[1], dtype=float)


def _spectra_on_record(session, floor: float) -> np.ndarray:
    """The saved session's spectra of lane 0's G, blank where the panel leaves round-off out."""
    steps, _k, values = session.branch.spectra.table(session.experiment.lane_ids[0], "gradient")
    return np.column_stack([steps, np.where(np.isfinite(log_spectra(values, floor)), values, np.nan)])


def test_panel_one_over_the_steps_keeps_every_step_on_record_through_a_rewind_and_an_open(qtbot, tmp_path):
    app = open_app(qtbot)
    app.views.spectrum.set_mode("view", "gradient:steps")
    _run_to(qtbot, app, 12)
    wait_for_frame(qtbot, app)
    _saved(qtbot, app, tmp_path / "s")
    on_record = _spectra_on_record(open_session(tmp_path / "s"), app.views.spectrum.noise_floor())
    assert on_record.shape[0] >= 2 and on_record[-1, 0] == 12
    shown = _spectra_over_steps_shown(app)  # what the window was sent while it ran: the same numbers
    np.testing.assert_array_equal(shown, on_record[np.isin(on_record[:, 0], shown[:, 0])])
    with qtbot.waitSignal(app.link.history_replaced, timeout=WAIT_MS):
        app.debugger.go_to(5)  # a rewind: the steps after it stay on record, and in view
    qtbot.waitUntil(lambda: app.clock.newest.step == 5, timeout=WAIT_MS)
    wait_for_frame(qtbot, app)
    np.testing.assert_array_equal(_spectra_over_steps_shown(app), on_record)

    other = open_app(qtbot)
    with qtbot.waitSignal(other.link.saved, timeout=WAIT_MS):
        other.sessions.open_from(tmp_path / "s")
    qtbot.waitUntil(lambda: other.clock.newest.step == 12, timeout=WAIT_MS)
    other.views.spectrum.set_mode("view", "gradient:steps")  # after the open, which sets the views
    wait_for_frame(qtbot, other)
    np.testing.assert_array_equal(_spectra_over_steps_shown(other), on_record)


def test_panel_one_over_the_steps_may_lag_a_playing_run_but_shows_it_whole_once_paused(qtbot, tmp_path):
    preset = small_preset()
    preset = replace(preset, config=replace(preset.config, run=replace(preset.config.run, steps=100_000)))
    app = open_app(qtbot, preset)
    app.views.spectrum.set_mode("view", "gradient:steps")
    app.intents.play(True)  # spectra at the frame rate: past 128 steps on record, the map waits
    qtbot.waitUntil(lambda: _spectra_over_steps_shown(app).shape[0] > 2 * REDRAW_SHARE, timeout=5 * WAIT_MS)
    app.intents.play(False)
    wait_until_paused(qtbot, app)
    _saved(qtbot, app, tmp_path / "s")
    on_record = _spectra_on_record(open_session(tmp_path / "s"), app.views.spectrum.noise_floor())

    def whole() -> bool:  # by the window's own frames: none is asked for here
        shown = _spectra_over_steps_shown(app)
        return shown[-1, 0] == on_record[-1, 0]

    qtbot.waitUntil(whole, timeout=WAIT_MS)
    shown = _spectra_over_steps_shown(app)
    np.testing.assert_array_equal(shown, on_record[np.isin(on_record[:, 0], shown[:, 0])])


def _heat_map_rows(app) -> np.ndarray:
    """Panel ③'s heat map as a table: a row per evaluated step, the step then each bucket's value."""
    return np.array(app.views.class_error.data_table()[1], dtype=float)


def test_panel_three_heat_map_keeps_the_steps_a_rewind_or_fork_leaves_alone(qtbot):
    app = open_app(qtbot)
    app.views.class_error.set_mode("view", "heatmap")
    _run_to(qtbot, app, 12)
    wait_for_frame(qtbot, app)
    before = _heat_map_rows(app)
    assert before[:, 0].tolist() == [0, 2, 4, 6, 8, 10, 12]  # evaluated every 2 steps
    with qtbot.waitSignal(app.link.history_replaced, timeout=WAIT_MS):
        app.debugger.go_to(5)
    qtbot.waitUntil(lambda: app.clock.newest.step == 5, timeout=WAIT_MS)
    wait_for_frame(qtbot, app)
    np.testing.assert_array_equal(_heat_map_rows(app), before)  # a rewind changes no step on record
    with qtbot.waitSignal(app.link.history_replaced, timeout=WAIT_MS):
        app.intents.change("lanes[0].lr", 5.0)  # a fork at step 5: the steps after it are another run's
    wait_for_frame(qtbot, app)
    np.testing.assert_array_equal(_heat_map_rows(app), before[before[:, 0] <= 5])
    _run_to(qtbot, app, 8)
    wait_for_frame(qtbot, app)
    forked = _heat_map_rows(app)
    assert forked[:, 0].tolist() == [0, 2, 4, 6, 8]
    assert not np.array_equal(forked[3:], before[3:5])  # lane 0 learns at another rate after step 5


def test_a_saved_session_opens_on_the_panel_modes_it_was_saved_with(qtbot, tmp_path):
    """It opened on its nearest preset's views: the heat map the user had left was gone."""
    app = open_app(qtbot)
    _run_to(qtbot, app, 6)
    app.views.spectrum.set_mode("view", "momentum:steps")
    app.views.series.set_mode("metric", "alignment")
    app.views.series.set_mode("scale", "log")
    app.views.class_error.set_mode("view", "heatmap")
    app.views.spectrum.lane_combo.setCurrentIndex(2)  # Muon's spectra over the steps, not SGD's
    app.views.class_error.lane_combo.setCurrentIndex(1)
    _saved(qtbot, app, tmp_path / "s")
    other = open_app(qtbot)
    assert other.views.spectrum.mode("view") == "gradient+momentum"
    assert (other.views.spectrum.heat_lane(), other.views.class_error.heat_lane()) == (0, 0)
    with qtbot.waitSignal(other.link.saved, timeout=WAIT_MS):
        other.sessions.open_from(tmp_path / "s")
    qtbot.waitUntil(lambda: other.views.spectrum.mode("view") == "momentum:steps", timeout=WAIT_MS)
    views = other.views
    assert (views.series.mode("metric"), views.series.mode("scale")) == ("alignment", "log")
    assert views.class_error.mode("view") == "heatmap"
    qtbot.waitUntil(lambda: views.spectrum.lane_combo.count() == 4, timeout=WAIT_MS)
    assert (views.spectrum.heat_lane(), views.class_error.heat_lane()) == (2, 1)


def test_an_opened_sessions_heat_map_says_its_columns_begin_where_it_was_opened(qtbot, tmp_path):
    """A session keeps no group errors: the map's cells before the open step were blank, unsaid."""
    app = open_app(qtbot)
    app.views.class_error.set_mode("view", "heatmap")
    _run_to(qtbot, app, 12)
    wait_for_frame(qtbot, app)
    axis = app.views.class_error.plot.getAxis("bottom")
    assert axis.labelText == "step"  # every evaluation has its column
    _saved(qtbot, app, tmp_path / "s")
    other = open_app(qtbot)
    with qtbot.waitSignal(other.link.saved, timeout=WAIT_MS):
        other.sessions.open_from(tmp_path / "s")
    qtbot.waitUntil(lambda: other.clock.newest.step == 12, timeout=WAIT_MS)
    other.views.class_error.set_mode("view", "heatmap")
    wait_for_frame(qtbot, other)
    said = other.views.class_error.plot.getAxis("bottom").labelText
    assert said == "step · columns from step 12: the group errors before it are not on record"


def test_a_fork_with_one_evaluation_draws_the_compared_branchs_capacity_not_a_placeholder(qtbot):
    """Forked at step 4 of a run evaluated every 10 steps, ④ said "A curve needs two evaluations"
    over main's faded curve, which has two."""
    preset = small_preset()
    config = preset.config
    preset = dataclasses.replace(preset, config=config.with_value("run.eval_every", 10))
    app = open_app(qtbot, preset)
    _run_to(qtbot, app, 10)
    with qtbot.waitSignal(app.link.history_replaced, timeout=WAIT_MS):
        app.debugger.go_to(4)
    qtbot.waitUntil(lambda: app.clock.newest.step == 4, timeout=WAIT_MS)
    with qtbot.waitSignal(app.link.branches_changed, timeout=WAIT_MS):
        app.intents.change("lanes[1].lr", 0.01)
    qtbot.waitUntil(lambda: len(app.debugger.branches) == 2, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: app.views.capacity.faded_data(0)[0].size == 2, timeout=WAIT_MS)
    wait_for_frame(qtbot, app)
    assert app.views.capacity.recovered_data(0)[0].size == 1  # the fork's own: step 0 only
    assert app.views.capacity.placeholder is None


def _fork_at(qtbot, app, step, lr):
    with qtbot.waitSignal(app.link.history_replaced, timeout=WAIT_MS):
        app.debugger.go_to(step)
    with qtbot.waitSignal(app.link.comparison, timeout=WAIT_MS):
        app.intents.change("lanes[0].lr", lr)
    return next(branch for branch in app.debugger.branches if branch.current)


def test_a_branch_switched_to_is_drawn_beside_the_branch_it_came_from(qtbot):
    """Switched to fork 3 (from main), the window kept comparing with fork 1, unrelated to it."""
    app = open_app(qtbot)
    _run_to(qtbot, app, 12)
    main = next(branch for branch in app.debugger.branches if branch.current)
    first = _fork_at(qtbot, app, 5, 5.0)
    _run_to(qtbot, app, 10)
    second = _fork_at(qtbot, app, 7, 2.0)  # a fork of the fork
    assert (second.parent, app.debugger.compared_branch) == (first.id, first.id)
    app.debugger.switch_branch(main.id)  # main came from nowhere: beside the branch left
    qtbot.waitUntil(lambda: app.debugger.compared_branch == second.id, timeout=WAIT_MS)
    app.debugger.switch_branch(first.id)
    qtbot.waitUntil(lambda: app.debugger.compared_branch == main.id, timeout=WAIT_MS)
    wait_for_frame(qtbot, app)
    assert main.name in app.views.lane_key.note
