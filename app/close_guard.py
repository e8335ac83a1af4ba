"""Closing the window asks first when a run holds work its last save does not.

A run of hours, its forks and its breakpoints lived only in the window: closing it, by a click or by
habit, dropped them without a word. The engine says which runs hold unsaved work
(:class:`~muonscope.app.debugger.UnsavedWork`); while either does, a close asks to save the run on
show (then the run kept before it), to close anyway, or to stay, and follows that work while it is
on show (a save that ends meanwhile leaves nothing to ask about: the window closes). Saving closes
once the engine says the session is written, and stays open if it could not be.

Windows built for pictures and tests (``shot``, ``record``, the suite) close without asking: nobody
is there to answer.
"""

from __future__ import annotations

from PySide6 import QtCore, QtWidgets

from muonscope.app.debugger import UnsavedWork

__all__ = ["REPLACE_QUESTION", "CloseGuard", "close_question"]

_BUTTONS = QtWidgets.QMessageBox.StandardButton


#: What replacing the run on show would lose, where the run kept before it holds unsaved work.
REPLACE_QUESTION = (
    "The run kept before this one holds work that is not saved, and replacing this run lets it go "
    "(File ▸ Back to the run before brings it back to be saved). Replace this run anyway?"
)


def close_question(unsaved: UnsavedWork) -> str:
    """What the question says of the runs that hold unsaved work (Save saves the run on show first,
    then the close asks about the run kept before it)."""
    if unsaved.on_show and unsaved.kept:
        return (
            "This run and the run kept before it hold work that is not saved. Save this run before "
            "closing? (The run before is asked about next.)"
        )
    if unsaved.on_show:
        return "This run holds work that is not saved. Save it before closing?"
    return "The run kept before this one holds work that is not saved. Save it before closing?"


class CloseGuard(QtCore.QObject):
    """Decides whether the window may close now (:meth:`may_close`), asking where work would be lost."""

    #: A close put off until the save the user chose is written will not happen: the save failed.
    close_called_off = QtCore.Signal()

    def __init__(self, window, link, sessions, ask: bool, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self._window = window
        self._sessions = sessions
        self._ask = ask
        self._unsaved = UnsavedWork(False, False)
        self._close_when_saved = False
        self._question: QtWidgets.QMessageBox | None = None  # the close question, while it is on show
        link.unsaved_changed.connect(self._on_unsaved)
        link.saved.connect(self._on_saved)
        link.alert.connect(self._on_alert)

    def stop_asking(self) -> None:
        """Close without asking from now on (a second Ctrl-C in the terminal: the user insists)."""
        self._ask = False

    @property
    def closes_once_saved(self) -> bool:
        """Whether the window closes as soon as a save is written: one chosen in the question, or one
        under way when the close was asked for."""
        return self._close_when_saved

    @property
    def unsaved(self) -> UnsavedWork:
        """Which runs hold work not saved, as the engine last said."""
        return self._unsaved

    def may_close(self) -> bool:
        """True to close now; False to stay open (the user chose to stay, or a save is under way)."""
        if self._ask and self._sessions.saving_to is not None:
            return self._close_once_saved()
        if not self._ask or not (self._unsaved.on_show or self._unsaved.kept):
            return True
        answer = self._answer()
        if answer == _BUTTONS.Discard or not self._ask:  # (a second Ctrl-C while it asked: it insists)
            return True
        if answer == _BUTTONS.Save:
            save = self._sessions.save if self._unsaved.on_show else self._sessions.save_kept
            self._close_when_saved = save()
        return False

    def may_replace_the_run(self, holds_work: bool) -> bool:
        """Whether a reset, another preset, an opened config or session may replace the run on show
        now. Only one run before is kept: where the run on show ``holds_work`` it takes that place,
        and a kept run holding unsaved work is lost, as closing would lose it; Open recent dropped
        it without a word where closing asked first."""
        if not self._ask or not holds_work or not self._unsaved.kept:
            return True
        question = QtWidgets.QMessageBox(
            QtWidgets.QMessageBox.Icon.Question, "Replace this run?", REPLACE_QUESTION, parent=self._window
        )
        question.setStandardButtons(_BUTTONS.Discard | _BUTTONS.Cancel)
        question.setDefaultButton(_BUTTONS.Cancel)
        try:
            return _BUTTONS(question.exec()) == _BUTTONS.Discard
        finally:
            question.deleteLater()

    def _close_once_saved(self) -> bool:
        """A close asked for while a save is being written waits for it, then closes: "Discard" in
        the question asked then dropped the save the user had just asked for, half written."""
        self._close_when_saved = True
        where = self._sessions.saving_to
        self._window.statusBar().showMessage(f"closing once the session is saved to {where}…")
        return False

    def _answer(self) -> QtWidgets.QMessageBox.StandardButton:
        """Ask what to do about the unsaved work; the question follows it while it is on show."""
        question = QtWidgets.QMessageBox(self._window)
        question.setIcon(QtWidgets.QMessageBox.Icon.Question)
        question.setWindowTitle("Close muonscope?")
        self._question = question
        self._follow_unsaved()
        try:
            return _BUTTONS(question.exec())
        finally:
            self._question = None
            question.deleteLater()

    def _follow_unsaved(self) -> None:
        """Keep the close question true to the work unsaved: a save that finished while it was on
        show left it saying "This run holds work that is not saved"; with nothing left to lose, the
        close asked for goes on."""
        question, unsaved = self._question, self._unsaved
        if not (unsaved.on_show or unsaved.kept):
            question.done(_BUTTONS.Discard.value)
            return
        question.setText(close_question(unsaved))
        question.setStandardButtons(_BUTTONS.Save | _BUTTONS.Discard | _BUTTONS.Cancel)
        question.setDefaultButton(_BUTTONS.Cancel)

    @QtCore.Slot(object)
    def _on_unsaved(self, unsaved: UnsavedWork) -> None:
        self._unsaved = unsaved
        self._window.setWindowModified(unsaved.on_show)  # the title's mark, as an editor's
        if self._question is not None:
            self._follow_unsaved()

    @QtCore.Slot(object)
    def _on_saved(self, message) -> None:
        if self._close_when_saved and not message.opened and not message.restored:
            self._close_when_saved = False
            # the engine's word that all is saved may come after the save's own answer: close on it
            on_show, kept = self._unsaved.on_show, self._unsaved.kept
            self._unsaved = UnsavedWork(on_show, False) if message.kept else UnsavedWork(False, kept)
            QtCore.QTimer.singleShot(0, self._window.close)

    @QtCore.Slot(str, bool)
    def _on_alert(self, _text: str, _until_moved: bool) -> None:
        if self._close_when_saved:  # "Not saved: …": the window stays, with the alert on show
            self._close_when_saved = False
            self.close_called_off.emit()
