"""Closing a window that holds unsaved work asks first; one with nothing to lose closes at once."""

import signal

import pytest
from helpers import WAIT_MS, held_saves, open_app, small_preset
from PySide6 import QtCore, QtWidgets

from muonscope.app.close_guard import REPLACE_QUESTION, close_question
from muonscope.app.debugger import UnsavedWork
from muonscope.app.stop_signals import window_closes_on_ctrl_c
from muonscope.engine.session_file import open_session

_BUTTONS = QtWidgets.QMessageBox.StandardButton


def _asking(monkeypatch, answer):
    """Answer the close question with ``answer``; returns the texts asked."""
    asked = []

    def question(box):
        asked.append(box.text())
        return answer.value

    monkeypatch.setattr(QtWidgets.QMessageBox, "exec", question)
    return asked


def _while_asked(qtbot, action):
    """Do ``action`` once the close question is on show (it waits in a loop of its own); a question
    still there after that is answered "Cancel", as a test must not wait for an answer forever."""

    def act_then_give_up() -> None:
        question = QtWidgets.QApplication.activeModalWidget()
        if question is None:  # not up yet
            QtCore.QTimer.singleShot(50, act_then_give_up)
            return
        action()
        QtCore.QTimer.singleShot(WAIT_MS, question, question.reject)  # (not once the question is gone)

    QtCore.QTimer.singleShot(0, act_then_give_up)


def _close_anyway(monkeypatch, app):
    """Close without saving (a window left open keeps its engine thread running past the test); a
    close asked for while a save is written would wait for it."""
    _asking(monkeypatch, _BUTTONS.Discard)
    assert app.sessions.saving_to is None
    assert app.window.close()


def _run_to(qtbot, app, step):
    app.debugger.go_to(step)
    qtbot.waitUntil(lambda: app.clock.newest.step == step and not app.clock.playing, timeout=WAIT_MS)


def _with_work(qtbot, step=5):
    app = open_app(qtbot, ask_before_closing=True)
    _run_to(qtbot, app, step)
    qtbot.waitUntil(lambda: app.close_guard.unsaved.on_show, timeout=WAIT_MS)
    return app


def test_a_run_with_nothing_computed_closes_without_asking(qtbot, monkeypatch):
    asked = _asking(monkeypatch, _BUTTONS.Cancel)
    app = open_app(qtbot, ask_before_closing=True)
    assert app.window.close() and asked == []


@pytest.mark.parametrize(("answer", "closed"), [(_BUTTONS.Cancel, False), (_BUTTONS.Discard, True)])
def test_unsaved_steps_are_asked_about_and_staying_keeps_the_run(qtbot, monkeypatch, answer, closed):
    """A run of hours closed at a click, with nothing saved and nothing said."""
    app = _with_work(qtbot)
    asked = _asking(monkeypatch, answer)
    assert app.window.close() is closed
    assert asked == [close_question(UnsavedWork(True, False))]
    assert app.window.isVisible() is not closed
    if not closed:  # the engine goes on as before
        _run_to(qtbot, app, 7)
        _close_anyway(monkeypatch, app)


def test_save_then_close_writes_the_session_and_closes_once_it_is_written(qtbot, monkeypatch, tmp_path):
    app = _with_work(qtbot)
    _asking(monkeypatch, _BUTTONS.Save)
    monkeypatch.setattr(QtWidgets.QFileDialog, "getSaveFileName", lambda *_args: (str(tmp_path / "run"), ""))
    assert not app.window.close()  # not yet: the engine writes the session first
    qtbot.waitUntil(lambda: not app.window.isVisible(), timeout=WAIT_MS)
    assert open_session(tmp_path / "run").branch.head_step == 5


def test_a_save_that_ends_while_the_close_question_is_up_takes_the_question_away_and_closes(qtbot, tmp_path):
    """A SIGTERM just after Ctrl+S: the save finished behind the question, which went on saying "This
    run holds work that is not saved"."""
    app = _with_work(qtbot)
    _while_asked(qtbot, lambda: app.sessions.save_to(tmp_path / "run"))
    assert app.window.close()  # nothing left to lose: the close asked for goes on
    assert open_session(tmp_path / "run").branch.head_step == 5


def test_a_close_while_a_save_is_written_waits_for_it_and_asks_nothing(qtbot, monkeypatch, tmp_path):
    """The question came up over the save; "Discard" then closed the window and cut off the save
    the user had just asked for, with nothing said."""
    app = _with_work(qtbot)
    asked = _asking(monkeypatch, _BUTTONS.Discard)
    gate = held_saves(monkeypatch)
    app.sessions.save_to(tmp_path / "run")
    qtbot.waitUntil(gate.entered.is_set, timeout=WAIT_MS)
    assert not app.window.close() and asked == []  # not yet: once it is written
    assert "closing once the session is saved to" in app.window.statusBar().currentMessage()
    gate.release.set()
    qtbot.waitUntil(lambda: not app.window.isVisible(), timeout=WAIT_MS)
    assert asked == [] and open_session(tmp_path / "run").branch.head_step == 5


def test_a_second_ctrl_c_while_the_question_is_up_closes_the_window(qtbot):
    """Its handler put the question away and asked the window to close again: where that came while
    the first close still waited on the question, Qt dropped it, and the window played on."""
    app = _with_work(qtbot)

    def insist() -> None:  # what a second Ctrl-C does
        app.close_guard.stop_asking()
        QtWidgets.QApplication.activeModalWidget().close()

    _while_asked(qtbot, insist)
    assert app.window.close()


def test_a_saved_run_closes_without_asking_until_it_moves_on(qtbot, monkeypatch, tmp_path):
    app = _with_work(qtbot)
    with qtbot.waitSignal(app.link.saved, timeout=WAIT_MS):
        app.sessions.save_to(tmp_path / "run")
    qtbot.waitUntil(lambda: not app.close_guard.unsaved.on_show, timeout=WAIT_MS)
    _run_to(qtbot, app, 2)  # going back through the record changes nothing a save keeps
    _run_to(qtbot, app, 5)
    assert not app.close_guard.unsaved.on_show
    _run_to(qtbot, app, 6)
    qtbot.waitUntil(lambda: app.close_guard.unsaved.on_show, timeout=WAIT_MS)
    asked = _asking(monkeypatch, _BUTTONS.Cancel)
    assert not app.window.close() and len(asked) == 1
    _close_anyway(monkeypatch, app)


def test_a_kept_run_with_unsaved_work_is_asked_about_too(qtbot, monkeypatch):
    """Another preset replaced the run, which is kept: closing lost it as well."""
    app = _with_work(qtbot)
    with qtbot.waitSignal(app.link.run_kept, timeout=WAIT_MS):
        app.intents.run_preset(small_preset(label_noise=0.1))
    qtbot.waitUntil(lambda: app.close_guard.unsaved == UnsavedWork(False, True), timeout=WAIT_MS)
    asked = _asking(monkeypatch, _BUTTONS.Cancel)
    assert not app.window.close()
    assert asked == [close_question(UnsavedWork(False, True))] and "kept before" in asked[0]
    _close_anyway(monkeypatch, app)


def test_save_in_the_close_question_saves_the_kept_run_to_its_own_folder_and_closes(
    qtbot, monkeypatch, tmp_path
):
    """It offered only Discard or Cancel: saving the run before meant staying, bringing it back,
    saving it, and closing again."""
    app = _with_work(qtbot)
    with qtbot.waitSignal(app.link.saved, timeout=WAIT_MS):
        app.sessions.save_to(tmp_path / "win1")
    _run_to(qtbot, app, 8)  # work its save lacks
    with qtbot.waitSignal(app.link.run_kept, timeout=WAIT_MS):
        app.intents.run_preset(small_preset(label_noise=0.1))
    qtbot.waitUntil(lambda: app.close_guard.unsaved == UnsavedWork(False, True), timeout=WAIT_MS)
    asked = _asking(monkeypatch, _BUTTONS.Save)
    assert not app.window.close()  # not yet: the engine writes the kept run first
    qtbot.waitUntil(lambda: not app.window.isVisible(), timeout=WAIT_MS)
    assert asked == [close_question(UnsavedWork(False, True))]
    assert open_session(tmp_path / "win1").branch.head_step == 8
    assert app.sessions.session_path is None  # the run on show was never saved, and still is not


def test_save_with_both_runs_unsaved_saves_this_run_then_asks_where_the_run_before_goes(
    qtbot, monkeypatch, tmp_path
):
    app = _kept_with_work(qtbot)  # the kept run at step 5, this one at 3, neither ever saved
    asked = _asking(monkeypatch, _BUTTONS.Save)
    folders = iter([tmp_path / "now", tmp_path / "before"])
    monkeypatch.setattr(QtWidgets.QFileDialog, "getSaveFileName", lambda *_args: (str(next(folders)), ""))
    assert not app.window.close()
    qtbot.waitUntil(lambda: not app.window.isVisible(), timeout=WAIT_MS)
    assert asked == [close_question(UnsavedWork(True, True)), close_question(UnsavedWork(False, True))]
    assert open_session(tmp_path / "now").branch.head_step == 3
    assert open_session(tmp_path / "before").branch.head_step == 5


def _kept_with_work(qtbot):
    """A window whose run kept before holds unsaved steps, and whose run on show holds some too."""
    app = _with_work(qtbot)
    with qtbot.waitSignal(app.link.run_kept, timeout=WAIT_MS):
        app.intents.reset()
    qtbot.waitUntil(lambda: app.close_guard.unsaved.kept, timeout=WAIT_MS)
    _run_to(qtbot, app, 3)
    return app


@pytest.mark.parametrize(("answer", "replaced"), [(_BUTTONS.Cancel, False), (_BUTTONS.Discard, True)])
def test_a_replace_that_would_let_an_unsaved_kept_run_go_asks_first(qtbot, monkeypatch, answer, replaced):
    """Only one run before is kept: Open recent, a reset or another preset dropped one holding
    unsaved work without a word, where closing the window asked first."""
    app = _kept_with_work(qtbot)
    asked = _asking(monkeypatch, answer)
    app.intents.reset()
    assert asked == [REPLACE_QUESTION]
    if replaced:
        qtbot.waitUntil(lambda: app.clock.newest.step == 0, timeout=WAIT_MS)
    else:
        assert app.clock.head_step == 3 and app.close_guard.unsaved.kept  # both runs as they were
    _close_anyway(monkeypatch, app)


def test_declining_another_preset_puts_the_preset_box_back(qtbot, monkeypatch):
    app = _kept_with_work(qtbot)
    box = app.views.transport.preset_combo
    shown = box.currentText()
    asked = _asking(monkeypatch, _BUTTONS.Cancel)
    app.views.transport.preset_chosen.emit("default")  # as picked in the box
    assert len(asked) == 1 and box.currentText() == shown and app.clock.head_step == 3
    _close_anyway(monkeypatch, app)


def test_opening_a_session_asks_too_and_a_run_with_nothing_to_lose_does_not(qtbot, monkeypatch, tmp_path):
    app = _kept_with_work(qtbot)
    asked = _asking(monkeypatch, _BUTTONS.Cancel)
    app.sessions.open_from(tmp_path / "any")  # Open recent
    assert asked == [REPLACE_QUESTION]
    fresh = open_app(qtbot, ask_before_closing=True)  # nothing kept: nothing to ask about
    fresh_asked = _asking(monkeypatch, _BUTTONS.Cancel)
    with qtbot.waitSignal(fresh.link.run_kept, timeout=WAIT_MS):
        _run_to(qtbot, fresh, 2)
        fresh.intents.reset()
    assert fresh_asked == []
    for window_app in (app, fresh):
        _close_anyway(monkeypatch, window_app)


def test_a_window_for_pictures_and_tests_never_asks(qtbot, monkeypatch):
    asked = _asking(monkeypatch, _BUTTONS.Cancel)
    app = open_app(qtbot)
    _run_to(qtbot, app, 3)
    assert app.window.close() and asked == []


def _ctrl_c(presses=1, signum=signal.SIGINT):
    """Ctrl-C in the terminal, ``presses`` times before the window gets to act on the first."""
    for _ in range(presses):
        signal.raise_signal(signum)  # the handler runs here, in the main thread


def test_ctrl_c_in_the_terminal_closes_a_window_with_nothing_to_lose_and_says_so(qtbot, capsys):
    """It raised KeyboardInterrupt in the frame clock's slot: a traceback, and the window stayed."""
    app = open_app(qtbot, ask_before_closing=True)
    with window_closes_on_ctrl_c(app.window, app.close_guard) as ctrl_c:
        _ctrl_c()
        qtbot.waitUntil(lambda: not app.window.isVisible(), timeout=WAIT_MS)
    assert ctrl_c.is_set()  # the program then exits 130
    assert capsys.readouterr().err == (
        "muonscope: closing the window (it asks first where work is not saved) (again: without asking)\n"
    )


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_a_window_without_a_screen_closes_on_the_first_ctrl_c_without_asking(
    qtbot, monkeypatch, capsys, signum
):
    """Offscreen, a Ctrl-C's question waited ten minutes for an answer no one could see or give, the
    run playing on behind it; the window opened there asks nothing, and says so. SIGTERM, as the
    headless commands take it: it ended the window with status 143, without a word."""
    from PySide6 import QtWidgets

    from muonscope.app.composition import shows_questions

    assert not shows_questions(QtWidgets.QApplication.instance())  # the tests' offscreen platform
    app = _with_work(qtbot)
    asked = _asking(monkeypatch, _BUTTONS.Cancel)
    with window_closes_on_ctrl_c(app.window, app.close_guard, asks=False) as ctrl_c:
        _ctrl_c(signum=signum)
        qtbot.waitUntil(lambda: not app.window.isVisible(), timeout=WAIT_MS)
    assert ctrl_c.is_set() and asked == []
    assert capsys.readouterr().err == (
        "muonscope: closing the window (no screen to ask on whether to save first: it closes as it is)\n"
    )


def test_ctrl_c_asks_about_unsaved_work_and_staying_forgets_it(qtbot, monkeypatch):
    app = _with_work(qtbot)
    asked = _asking(monkeypatch, _BUTTONS.Cancel)
    with window_closes_on_ctrl_c(app.window, app.close_guard) as ctrl_c:
        _ctrl_c()
        qtbot.waitUntil(lambda: len(asked) == 1, timeout=WAIT_MS)
        assert app.window.isVisible() and not ctrl_c.is_set()  # a later Ctrl-C asks again
    _close_anyway(monkeypatch, app)


def test_ctrl_c_answered_with_save_closes_once_saved_and_exits_as_interrupted(qtbot, monkeypatch, tmp_path):
    """Put off until the save was written, the close was taken for the user's choice to stay: the
    Ctrl-C was forgotten, and the program exited 0."""
    app = _with_work(qtbot)
    _asking(monkeypatch, _BUTTONS.Save)
    monkeypatch.setattr(QtWidgets.QFileDialog, "getSaveFileName", lambda *_args: (str(tmp_path / "run"), ""))
    with window_closes_on_ctrl_c(app.window, app.close_guard) as ctrl_c:
        _ctrl_c()
        qtbot.waitUntil(lambda: not app.window.isVisible(), timeout=WAIT_MS)
    assert ctrl_c.is_set()  # the program exits 130
    assert open_session(tmp_path / "run").branch.head_step == 5


def test_ctrl_c_answered_with_a_save_that_fails_is_forgotten(qtbot, monkeypatch, tmp_path):
    """The window stays, saying why it was not saved; a later Ctrl-C asks again."""
    app = _with_work(qtbot)
    asked = _asking(monkeypatch, _BUTTONS.Save)
    (tmp_path / "a file").write_text("not a session")
    monkeypatch.setattr(
        QtWidgets.QFileDialog, "getSaveFileName", lambda *_args: (str(tmp_path / "a file"), "")
    )
    with window_closes_on_ctrl_c(app.window, app.close_guard) as ctrl_c:
        with qtbot.waitSignal(app.close_guard.close_called_off, timeout=WAIT_MS):
            _ctrl_c()
        assert app.window.isVisible() and not ctrl_c.is_set()
        with qtbot.waitSignal(app.close_guard.close_called_off, timeout=WAIT_MS):  # (its save fails too)
            _ctrl_c()
        assert len(asked) == 2
    _close_anyway(monkeypatch, app)


def test_a_second_ctrl_c_closes_without_asking(qtbot, monkeypatch):
    app = _with_work(qtbot)
    asked = _asking(monkeypatch, _BUTTONS.Cancel)
    with window_closes_on_ctrl_c(app.window, app.close_guard) as ctrl_c:
        _ctrl_c(presses=2)
        qtbot.waitUntil(lambda: not app.window.isVisible(), timeout=WAIT_MS)
    assert ctrl_c.is_set() and asked == []


def test_the_title_names_the_session_and_marks_work_its_save_lacks(qtbot, monkeypatch, tmp_path):
    """Two windows on two sessions of one preset read alike; nothing said the run held unsaved work
    before the close asked."""
    app = _with_work(qtbot)
    try:
        _title_follows_the_session(qtbot, app, tmp_path)
    finally:  # asked on closing, a window left open waits for an answer nobody gives
        _close_anyway(monkeypatch, app)


def test_a_run_of_its_own_settings_is_titled_as_such_not_as_a_folder(qtbot, monkeypatch, tmp_path):
    """A reset of session b, far from every preset, read "muonscope* — b": the folder it no longer had."""
    from muonscope.engine.presets import Preset

    app = open_app(qtbot, Preset(name="b", config=small_preset().config), ask_before_closing=True)
    assert app.window.windowTitle() == "muonscope[*] — b · own settings"  # as the preset box names it
    _run_to(qtbot, app, 2)
    with qtbot.waitSignal(app.link.saved, timeout=WAIT_MS):
        app.sessions.save_to(tmp_path / "b")
    saved_title = "muonscope — b[*] — b · own settings"
    qtbot.waitUntil(lambda: app.window.windowTitle() == saved_title, timeout=WAIT_MS)
    _close_anyway(monkeypatch, app)


def _title_follows_the_session(qtbot, app, tmp_path):
    assert app.window.windowTitle() == "muonscope[*] — small test preset" and app.window.isWindowModified()
    with qtbot.waitSignal(app.link.saved, timeout=WAIT_MS):
        app.sessions.save_to(tmp_path / "probe run")
    qtbot.waitUntil(lambda: not app.window.isWindowModified(), timeout=WAIT_MS)
    assert app.window.windowTitle() == "muonscope — probe run[*] — small test preset"
    _run_to(qtbot, app, 6)
    qtbot.waitUntil(app.window.isWindowModified, timeout=WAIT_MS)
    with qtbot.waitSignal(app.link.run_kept, timeout=WAIT_MS):  # a new run: no folder of its own yet
        app.intents.run_preset(small_preset(label_noise=0.1))
    qtbot.waitUntil(lambda: "probe run" not in app.window.windowTitle(), timeout=WAIT_MS)
    assert not app.window.isWindowModified()
    with qtbot.waitSignal(app.link.saved, timeout=WAIT_MS):
        app.sessions.open_from(tmp_path / "probe run")
    qtbot.waitUntil(lambda: "probe run" in app.window.windowTitle(), timeout=WAIT_MS)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_a_stop_while_the_window_opens_closes_it_once_it_is_up(qtbot, capsys, signum):
    """In the first second a Ctrl-C was swallowed by a library being imported and the window opened
    and played on; a SIGTERM ended it with 143, without a word."""
    from muonscope.app.stop_signals import stops_recorded_while_the_window_opens

    before = {stopping: signal.getsignal(stopping) for stopping in (signal.SIGINT, signal.SIGTERM)}
    try:
        stops_recorded_while_the_window_opens()
        signal.raise_signal(signum)  # recorded, not raised: the code opening the window goes on
        app = open_app(qtbot)
        with window_closes_on_ctrl_c(app.window, app.close_guard, asks=False) as ctrl_c:
            qtbot.waitUntil(lambda: not app.window.isVisible(), timeout=WAIT_MS)
        assert ctrl_c.is_set()  # the program then exits 130
        assert "muonscope: closing the window" in capsys.readouterr().err
    finally:
        for stopping, handler in before.items():
            signal.signal(stopping, handler)
