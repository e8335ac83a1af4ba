"""The window's sessions: File ▸ Save, Open, Open config, Open recent and Back to the run before.

User intents become engine commands (:mod:`muonscope.app.debugger`); the engine's answers (saved,
opened, a run kept) come back as link signals and are said on the status line.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6 import QtCore, QtGui, QtWidgets

from muonscope.app.debugger import BACK_TO_RUN_BEFORE, BackToRunBefore, OpenSession, SaveSession
from muonscope.app.step_status import StepStatus
from muonscope.app.view_settings import current_view

__all__ = ["RECENT_LIMIT", "SessionController", "run_position"]

#: Sessions remembered in File ▸ Open recent.
RECENT_LIMIT = 8
#: How long the status line says where a replaced run is kept.
_KEPT_MESSAGE_MS = 30_000
_RECENT_KEY = "recent_sessions"


class SessionController(QtCore.QObject):
    """Wires the File menu's session entries to the engine link.

    ``clock`` is the frame clock (the step shown, back to following the run).
    """

    config_open_requested = QtCore.Signal(object)  # a config TOML's path: its run replaces this one

    def __init__(self, window, link, clock, settings: QtCore.QSettings | None = None, parent=None) -> None:
        super().__init__(parent)
        self._window = window
        self._views = window.views
        self._link = link
        self._clock = clock
        self._settings = settings if settings is not None else QtCore.QSettings("muonscope", "muonscope")
        self.session_path: Path | None = None
        #: The folder of the run kept before the one on show (None: it has none, or none is kept).
        self.kept_path: Path | None = None
        #: Asked before an open replaces the run on show (the application sets what decides).
        self.may_replace: Callable[[], bool] = lambda: True
        #: How the window named the run just replaced ("" where it cannot say): a run of its own
        #: settings, kept, was named after the preset nearest them.
        self.replaced_run_name: Callable[[], str] = lambda: ""
        #: The folder a save asked of the engine is being written to, until it says how it went.
        self.saving_to: Path | None = None
        self._step_status = StepStatus(window.statusBar(), clock)
        # what an open or a return to the run before said, until the message on the run it replaced
        # (which comes next, if that run is kept) says it again: it replaced the line at once
        self._arrival_said = ""
        self._build_menu()
        link.saved.connect(self._on_saved)
        link.alert.connect(self._on_alert)
        link.run_kept.connect(self._on_run_kept)
        link.snapshot.connect(self._forget_arrival)

    def _build_menu(self) -> None:
        file_menu = self._window.menu("File")
        self.save_action = self._add(file_menu, "&Save session", "Ctrl+S", self.save)
        self.save_action.setStatusTip(
            "save the run to the folder it was opened from or last saved to (asks where, where it has none)"
        )
        self.save_as_action = self._add(file_menu, "Save session &as…", "Ctrl+Shift+S", self.save_dialog)
        self.save_as_action.setStatusTip("save the run to a new folder, asking where")
        self.open_action = self._add(file_menu, "&Open session…", "Ctrl+O", self.open_dialog)
        self.open_config_action = self._add(
            file_menu, "Open &config…", "Ctrl+Shift+O", self.open_config_dialog
        )
        self.open_config_action.setStatusTip("start a run from a config or preset TOML file (as --config)")
        self.recent_menu = file_menu.addMenu("Open &recent")
        item, shortcut = BACK_TO_RUN_BEFORE
        self.back_action = self._add(file_menu, f"&{item}", shortcut, self.back_to_run_before)
        self.back_action.setStatusTip(
            "bring back the run that a reset, another preset or an opened session replaced"
        )
        file_menu.addSeparator()
        self.quit_action = self._add(file_menu, "&Quit", "Ctrl+Q", self._window.close)
        self._show_recent()

    @staticmethod
    def _add(menu, text: str, shortcut: str, slot: Callable) -> QtGui.QAction:
        action = menu.addAction(text)
        action.setShortcut(QtGui.QKeySequence(shortcut))
        action.triggered.connect(lambda _checked=False: slot())
        return action

    def save(self) -> bool:
        """Save to the run's own folder at once, as an editor saves a file; ask where only for a run
        that has none. Every Ctrl+S asked, and the dialog could not choose the folder the session was
        opened from: picking it went into it. True when the save was asked of the engine."""
        if self.session_path is None:
            return self.save_dialog()
        return self.save_to(self.session_path)

    def save_dialog(self) -> bool:
        """Ask where, and save there; False when the user chose nowhere or declined to replace."""
        path = self._ask_for_a_folder("Save session (a folder)", self.session_path)
        return bool(path) and self.save_to(Path(path))

    def save_kept(self) -> bool:
        """Save the run kept before the one on show, to its own folder or (where it has none) one the
        user picks: closing the window offered only to lose it, or to stay and bring it back to save
        it. True when the save was asked of the engine."""
        path = self.kept_path or self._ask_for_a_folder("Save the run before (a folder)", None)
        return bool(path) and self.save_to(Path(path), kept=True)

    def _ask_for_a_folder(self, caption: str, own: Path | None) -> str:
        """A new folder the user names ("" if none); a run with a folder is offered one beside it
        (``NAME-2``): offered its own, the dialog opened inside it, listing its files."""
        from muonscope.engine.save_identity import free_sibling
        from muonscope.engine.session_saving import STAGING_ADDED_BYTES

        beside = free_sibling(own, 255 - STAGING_ADDED_BYTES) if own else None
        start = str(beside or self.start_folder() / "muonscope-session")
        path, _ = QtWidgets.QFileDialog.getSaveFileName(
            self._window, caption, start, "muonscope session folder (*)"
        )
        return path

    def start_folder(self) -> Path:
        """Where the file dialogs open: beside the run's own folder, else beside the session saved or
        opened last, else the folder the app was started in (they opened in the home folder, far
        from the ``runs/`` a user works in)."""
        if self.session_path is not None:
            return self.session_path.parent
        for recent in self.recent_sessions()[:1]:
            if Path(recent).parent.is_dir():
                return Path(recent).parent
        return Path.cwd()

    def open_config_dialog(self) -> None:
        start = str(self.start_folder())
        path, _ = QtWidgets.QFileDialog.getOpenFileName(
            self._window, "Open a config or preset", start, "config or preset (*.toml);;any file (*)"
        )
        if path:
            self.config_open_requested.emit(Path(path))

    def open_dialog(self) -> None:
        start = str(self.start_folder())
        path = QtWidgets.QFileDialog.getExistingDirectory(self._window, "Open session folder", start)
        if path:
            self.open_from(Path(path))

    def save_to(self, path: Path, kept: bool = False) -> bool:
        """Save the run on show (or, ``kept``, the run kept before it) there; a folder holding another
        saved session is replaced only if the user says so. True when the save was asked of the
        engine (its answer: ``link.saved``, or an alert)."""
        replacing = self._may_replace(Path(path), self.kept_path if kept else self.session_path)
        if replacing is None:
            return False
        run = "the run before" if kept else "session"
        self._window.statusBar().showMessage(f"saving {run} to {path}…")
        self._link.submit(SaveSession(path, current_view(self._views), replace_any=replacing, kept=kept))
        self.saving_to = Path(path)
        return True

    def _may_replace(self, path: Path, own: Path | None) -> bool | None:
        """None where the user would not replace another session saved at ``path``; True where they
        said they would; False where there was nothing to ask (the run's ``own`` folder; else the
        engine keeps a session another process saves there meanwhile, and saves this one beside it)."""
        if not _is_file(path / "session.json") or (own is not None and path.resolve() == own.resolve()):
            return False
        answer = QtWidgets.QMessageBox.question(
            self._window,
            "Replace a saved session?",
            f"{path} holds another saved session. Replace it with this one? Its run and branches are lost.",
        )
        return True if answer == QtWidgets.QMessageBox.StandardButton.Yes else None

    def open_from(self, path: Path) -> None:
        """Open a saved session; a TOML file given instead is opened as a config (a session is a folder)."""
        if _is_file(Path(path)) and Path(path).suffix == ".toml":
            self.config_open_requested.emit(Path(path))
            return
        if not self.may_replace():
            return
        self._window.statusBar().showMessage(f"opening session {path}…")
        self._link.submit(OpenSession(path))

    def back_to_run_before(self) -> None:
        """Bring back the run kept when a reset, another preset or an open replaced it (they swap)."""
        self._clock.follow()
        self._link.submit(BackToRunBefore())

    def _on_run_kept(self, message) -> None:
        """Say where the replaced run is kept, on the status line: the message bar above the plots
        keeps what concerns the new run (a problem with its preset), and a talk's stage shows no
        status line. A new run has no folder yet: Save must not write over the replaced run's."""
        self._set_session_path(message.path)
        self.kept_path = Path(message.kept_path) if message.kept_path else None
        item, shortcut = BACK_TO_RUN_BEFORE
        where = run_position(message.at_step, message.step)
        title = message.title if message.saved else self.replaced_run_name() or message.title
        if title:
            where = f"“{title}”, {where}"
        text = f"The run before ({where}) is kept: File ▸ {item} ({shortcut}) brings it back."
        if message.let_go is not None:  # first: last, a window's width cut off what was lost
            step, folder, held = message.let_go
            if not folder:
                kept = "it was never saved and is lost"
            elif held is None:
                kept = f"its last save stays in {folder}"
            else:  # "its last save stays" read as if all of it were there
                kept = f"its last save, in {folder}, holds it up to step {held}; what was done since is lost"
            text = f"The run kept until now (step {step}) is let go: {kept}. {text}"
        if self._arrival_said:
            text = f"{self._arrival_said}. {text}"
            self._arrival_said = ""
        self._window.statusBar().showMessage(text, _KEPT_MESSAGE_MS)

    def _set_session_path(self, path: str | None) -> None:
        """The folder the run on show saves to (None: it has none yet), named in the window's title."""
        self.session_path = Path(path) if path else None
        self._window.show_session_name(self.session_path.name if self.session_path else "")

    def _forget_arrival(self, _snapshot) -> None:
        self._arrival_said = ""

    def _on_alert(self, _text: str, _until_moved: bool) -> None:
        self.saving_to = None  # "Not saved: …" (or the engine failed): no save is being written now

    def _on_saved(self, message) -> None:
        if not message.opened and not message.restored:
            self.saving_to = None
        if message.kept:  # the run on show keeps its folder
            self.kept_path = Path(message.path)
            self._window.statusBar().showMessage(f"the run before saved: {message.path}", 10_000)
            self._remember(message.path)
            return
        self._set_session_path(message.path)
        if message.opened:
            self._views.message.dismiss()
        if message.restored:  # (the run it replaced, if kept, is said next)
            self.kept_path = None
            where = run_position(message.step, message.head_step)
            self._arrival_said = f"Back to the run before ({where})"
            self._window.statusBar().showMessage(self._arrival_said, 10_000)
            return
        if message.opened:  # where the run stands: withdrawn once it moves
            text = f"session opened: {message.path} (step {message.step})"
            self._arrival_said = text
            self._step_status.show(text, message.step, 10_000)
        else:  # what was done, true as the run plays on (withdrawn at the next step, it flashed by)
            # looking back at an earlier step, the engine (and the save) stood at the newest one
            on_show = message.step if self._clock.cursor_step is None else self._clock.cursor_step
            opens_at = max(message.step, message.head_step or 0)
            text = f"session saved: {message.path} ({_saved_position(on_show, opens_at)})"
            self._arrival_said = ""
            self._window.statusBar().showMessage(text, 10_000)
        self._remember(message.path)

    def _remember(self, path: str) -> None:
        """Keep ``path`` first in File ▸ Open recent, as an absolute path: one typed relative to the
        folder the app was started in opened another session (or none) from elsewhere."""
        path = str(Path(path).resolve())
        recent = [p for p in self.recent_sessions() if p != path]
        self._settings.setValue(_RECENT_KEY, [path, *recent][:RECENT_LIMIT])
        self._show_recent()

    def recent_sessions(self) -> list[str]:
        value = self._settings.value(_RECENT_KEY, [])
        if isinstance(value, str):
            value = [value]
        return [str(p) for p in value or []]

    def _show_recent(self) -> None:
        self.recent_menu.clear()
        recent = self.recent_sessions()
        for path in recent:
            action = self.recent_menu.addAction(path)
            action.triggered.connect(lambda _c=False, p=path: self.open_from(Path(p)))
        self.recent_menu.setEnabled(bool(recent))


def _saved_position(step: int, head_step: int | None) -> str:
    """The step a saved session opens at: its branch's newest, which is not the step on show after a
    rewind ("saved … (step 25)" reopened at step 55)."""
    if head_step is None or head_step <= step:
        return f"step {step}"
    return f"to step {head_step}, where it opens; step {step} was on show"


def run_position(step: int | None, head_step: int | None) -> str:
    """Where a run stands, as the messages about a kept run say it: "step 7 of 27" where its engine
    stands behind its newest step (the kept run read "step 27" and, brought back, "step 7")."""
    if step is None or head_step is None or step >= head_step:
        return f"step {head_step if step is None else step}"
    return f"step {step} of {head_step}"


def _is_file(path: Path) -> bool:
    """Whether ``path`` is a file, False where a folder on its way may not be entered: the engine
    then says why the path cannot be read (the click did nothing, a traceback went to stderr)."""
    try:
        return path.is_file()
    except OSError:
        return False
