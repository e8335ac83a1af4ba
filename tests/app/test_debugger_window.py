"""The window's debugger: save and open sessions, go to a step, fork, breakpoints, inspector."""

import pickle

import numpy as np
from helpers import WAIT_MS, open_app, wait_for_frame, wait_for_step, wait_until_paused

from muonscope.engine.inspection import lane_matrices
from muonscope.engine.session_file import open_session


def _run_to(qtbot, app, step):
    app.debugger.go_to(step)
    qtbot.waitUntil(lambda: app.clock.newest.step == step and not app.clock.playing, timeout=WAIT_MS)


def _saved(qtbot, app, path):
    with qtbot.waitSignal(app.link.saved, timeout=WAIT_MS):
        app.debugger.save_to(path)


def test_save_then_open_restores_the_run_and_its_breakpoints(qtbot, tmp_path):
    app = open_app(qtbot)
    _run_to(qtbot, app, 12)
    with qtbot.waitSignal(app.link.breakpoints_changed, timeout=WAIT_MS):
        app.debugger.add_breakpoint("2:recovered >= 60")
    _saved(qtbot, app, tmp_path / "s")
    assert app.debugger.session_path == tmp_path / "s"
    assert str(tmp_path / "s") in app.debugger.recent_sessions()
    losses = app.clock.history.column("batch_loss", lane=1)

    other = open_app(qtbot)
    with qtbot.waitSignal(other.link.saved, timeout=WAIT_MS):
        other.debugger.open_from(tmp_path / "s")
    qtbot.waitUntil(lambda: other.clock.newest.step == 12, timeout=WAIT_MS)
    wait_for_frame(qtbot, other)
    np.testing.assert_array_equal(other.clock.history.column("batch_loss", lane=1), losses)
    assert other.debugger.breakpoints == [("2:recovered >= 60", True)]
    assert other.views.breakpoints.items == [("2:recovered >= 60", True)]


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
        app.debugger.open_from(tmp_path / "s")
    assert "session.json" in alert.args[0] and "\n" not in alert.args[0]
    assert not marker.exists()
    assert app.clock.newest.step == 9  # the open session is untouched
    app.intents.step(1)
    wait_for_step(qtbot, app, 10)


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
    with qtbot.waitSignal(app.link.alert, timeout=WAIT_MS) as alert:
        app.intents.play(True)
    assert "batch_loss < 1e9" in alert.args[0]
    wait_until_paused(qtbot, app)
    assert app.clock.newest.step == 1
    assert app.views.breakpoints.highlighted == 0
    app.debugger.add_breakpoint("loss <")
    assert "loss <" in app.views.breakpoints.error


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
        app.debugger.inspect()
    qtbot.waitUntil(lambda: panel.matrix_view.matrix is not None, timeout=WAIT_MS)
    expected = lane_matrices(open_session(tmp_path / "s").matrices_at(5), 2).matrices["update"]
    np.testing.assert_allclose(panel.matrix_view.matrix, expected, rtol=0, atol=0)
    low, high = panel.matrix_view.levels
    assert low == -high == -np.abs(expected).max()
    assert app.clock.newest.step == 7  # inspecting replays without moving the engine


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
    with qtbot.waitSignal(app.link.comparison, timeout=WAIT_MS):
        app.debugger.compare_with(None)
    wait_for_frame(qtbot, app)
    assert app.views.series.faded_data(0)[0].size == 0 and app.views.lane_key.note == ""
