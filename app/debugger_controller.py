"""The window's debugger: sessions (save, open, recent), go to step, breakpoints and branches.

The inspector dock has a controller of its own (:mod:`inspector_controller`), which this one holds.

User intents become engine commands (:mod:`muonscope.app.debugger`); the engine's answers come back
as link signals and are shown in the panels, the menus and the status bar.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6 import QtCore, QtGui, QtWidgets

from muonscope.app.debugger import (
    BACK_TO_RUN_BEFORE,
    BackToRunBefore,
    CompareBranch,
    GoTo,
    OpenSession,
    RecallStep,
    SaveSession,
    SetBreakpoints,
    SwitchBranch,
)
from muonscope.app.inspector_controller import InspectorController
from muonscope.engine.breakpoints import parse_breakpoint
from muonscope.engine.errors import ConfigError

__all__ = ["RECENT_LIMIT", "DebuggerController"]

#: Sessions remembered in File ▸ Open recent.
RECENT_LIMIT = 8
#: How long the status line says where a replaced run is kept.
_KEPT_MESSAGE_MS = 30_000
_RECENT_KEY = "recent_sessions"


class DebuggerController(QtCore.QObject):
    """Wires the debugger's widgets and menus to the engine link.

    ``clock`` is the frame clock (the config in force, the step shown, the newest snapshot).
    """

    config_open_requested = QtCore.Signal(object)  # a config TOML's path: its run replaces this one

    def __init__(self, window, link, clock, settings: QtCore.QSettings | None = None, parent=None) -> None:
        super().__init__(parent)
        self._window = window
        self._views = window.views
        self._link = link
        self._clock = clock
        self._settings = settings if settings is not None else QtCore.QSettings("muonscope", "muonscope")
        self._breakpoints: list[tuple[str, bool]] = []
        self._breakpoints_sent = 0  # the serial of the latest list sent to the engine
        self._branches: tuple = ()
        self._compared: int | None = None  # the branch drawn faded beside the current one
        self._switch_asked: int | None = None  # a branch asked for in the Branch menu, until it is on
        self._branch_actions: dict[int, QtGui.QAction] = {}  # the Branch menu's entry of each branch
        self.inspector = InspectorController(window, link, clock, parent=self)
        self.session_path: Path | None = None
        self._step_said: tuple[str, int | None] = ("", None)  # a status message that names a step
        self._fired_at: tuple[int, int] | None = None  # (branch id, step) where the marked breakpoint fired
        # what an open or a return to the run before said, until the message on the run it replaced
        # (which comes next, if that run is kept) says it again: it replaced the line at once
        self._arrival_said = ""
        self._build_menus()
        self._connect()

    # ---- menus -----------------------------------------------------------------------------------

    def _build_menus(self) -> None:
        file_menu = self._window.menu("File")
        self.save_action = self._add(file_menu, "&Save session…", "Ctrl+S", self.save_dialog)
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
        view_menu = self._window.menu("View")
        for dock in (self._window.breakpoints_dock, self._window.inspector_dock):
            view_menu.addAction(dock.toggleViewAction())
        for dock, key, what in (
            (self._window.breakpoints_dock, "Ctrl+B", "breakpoints"),
            (self._window.inspector_dock, "Ctrl+I", "inspector"),
        ):
            dock.toggleViewAction().setShortcut(QtGui.QKeySequence(key))
            dock.toggleViewAction().setStatusTip(f"show / hide the {what}")
            # shown as a tab behind the other dock it would stay out of sight: bring it to the front
            # (once the dock layout has taken it in: raised at once, a first show stays behind)
            dock.toggleViewAction().toggled.connect(
                lambda shown, d=dock: shown and QtCore.QTimer.singleShot(0, d, d.raise_)
            )
        self.branch_menu = self._window.menu("Branch")
        self.branch_menu.setToolTipsVisible(True)  # each branch's tooltip says what was changed on it
        self._show_recent()
        self._show_branches()

    def _add(self, menu, text: str, shortcut: str, slot: Callable) -> QtGui.QAction:
        action = menu.addAction(text)
        action.setShortcut(QtGui.QKeySequence(shortcut))
        action.triggered.connect(lambda _checked=False: slot())
        return action

    def _connect(self) -> None:
        views, link = self._views, self._link
        views.transport.goto_requested.connect(self.go_to)
        views.breakpoints.add_requested.connect(self.add_breakpoint)
        views.breakpoints.remove_requested.connect(self.remove_breakpoint)
        views.breakpoints.enabled_changed.connect(self.enable_breakpoint)
        self._clock.frame_drawn.connect(self._on_frame)
        self._clock.step_wanted.connect(lambda step: link.submit(RecallStep(step)))
        link.recalled.connect(self._clock.on_recalled)
        link.breakpoints_changed.connect(self._on_breakpoints)
        link.branches_changed.connect(self._on_branches)
        link.history_replaced.connect(self._clock.on_history_replaced)
        link.branches_changed.connect(self._clock.on_branches_changed)
        link.saved.connect(self._on_saved)
        link.run_kept.connect(self._on_run_kept)
        link.snapshot.connect(self._forget_arrival)
        link.snapshot.connect(lambda snapshot: self._unmark_fired(step=snapshot.step))
        link.branches_changed.connect(lambda message: self._unmark_fired(branch=_current_branch(message)))
        link.comparison.connect(self._clock.on_comparison)

    def _on_frame(self, _step: int) -> None:
        self._show_branch_heads()
        self._withdraw_step_said(self._clock.view_step)

    # ---- going to a step ---------------------------------------------------------------------------

    @QtCore.Slot(int)
    def go_to(self, step: int) -> None:
        """The engine goes to ``step`` (forward runs, backward rewinds); the view follows it."""
        self._clock.follow()
        self._link.submit(GoTo(step))

    def step_view(self, delta: int = 1) -> bool:
        """Move the view (not the engine) ``delta`` steps: ← and → scrub a paused run.

        Back from the newest step starts looking back (not while playing: the run moves on);
        forward again to the newest step follows the run, so the next → steps the engine. Returns
        False when there is no view to move (→ while following: the engine steps instead).
        """
        cursor, newest = self._clock.cursor_step, self._clock.newest
        if newest is None:
            return False
        if cursor is None:
            if delta >= 0:
                return False
            if self._clock.playing:
                return True
            cursor = newest.step
        target = max(0, min(cursor + delta, self._clock.head_step))
        if target == newest.step:
            self._clock.follow()
        else:
            self._clock.look_at(target)
        return True

    # ---- breakpoints -------------------------------------------------------------------------------

    @QtCore.Slot(str)
    def add_breakpoint(self, text: str) -> None:
        config = self._clock.config
        labels = [lane.display_label() for lane in config.lanes] if config is not None else None
        kind = config.task.kind if config is not None else None
        try:
            parsed = parse_breakpoint(text, labels, task_kind=kind)
        except ConfigError as exc:
            self._views.breakpoints.show_error(str(exc))
            return
        if any(_same_condition(parsed, existing, labels, kind) for existing, _enabled in self._breakpoints):
            twice = f"breakpoint = {text.strip()!r} is not allowed: it is set already"
            self._views.breakpoints.show_error(twice)
            return
        self._send_breakpoints([*self._breakpoints, (parsed.text, True)])

    @QtCore.Slot(int)
    def remove_breakpoint(self, index: int) -> None:
        self._send_breakpoints([item for i, item in enumerate(self._breakpoints) if i != index])

    @QtCore.Slot(int, bool)
    def enable_breakpoint(self, index: int, enabled: bool) -> None:
        items = list(self._breakpoints)
        items[index] = (items[index][0], enabled)
        self._send_breakpoints(items)

    def _send_breakpoints(self, items: list[tuple[str, bool]]) -> None:
        """Send the whole list, and show it now: a second edit made before the engine answers the
        first (it answers between steps, or after a long replay) builds on it instead of dropping it.
        The engine's answer then confirms the list, or puts back the one it keeps."""
        self._breakpoints = list(items)
        self._views.breakpoints.set_breakpoints(self._breakpoints)
        self._breakpoints_sent += 1
        self._link.submit(SetBreakpoints(tuple(items), self._breakpoints_sent))

    def _on_breakpoints(self, message) -> None:
        if message.answer_to is not None and message.answer_to < self._breakpoints_sent:
            return  # an answer to an edit made before the latest: the latest's answer follows
        self._breakpoints = list(message.items)
        self._views.breakpoints.set_breakpoints(self._breakpoints)
        self._views.breakpoints.highlight(message.hit)
        self._fired_at = message.hit_at
        if message.hit is not None:
            self._window.breakpoints_dock.show()

    def _unmark_fired(self, step: int | None = None, branch: int | None = None) -> None:
        """The fired mark stands while the run stands where the breakpoint paused it: it stayed on
        after a rewind and on another branch, where the condition did not hold."""
        if self._fired_at is None:
            return
        fired_branch, fired_step = self._fired_at
        if (step is not None and step != fired_step) or (branch is not None and branch != fired_branch):
            self._fired_at = None
            self._views.breakpoints.highlight(None)

    @property
    def breakpoints(self) -> list[tuple[str, bool]]:
        """The breakpoints as last set here or reported by the engine, whichever came later."""
        return list(self._breakpoints)

    # ---- branches ----------------------------------------------------------------------------------

    def _on_branches(self, message) -> None:
        before = {branch.id for branch in self._branches}
        previous = next((branch.id for branch in self._branches if branch.current), None)
        self._branches = message.branches
        current = next((branch.id for branch in self._branches if branch.current), None)
        if message.new_run:  # an opened session is drawn as it was saved: beside where it came from
            self.compare_with(next((branch.parent for branch in self._branches if branch.current), None))
        elif before and current not in before and previous is not None:
            self.compare_with(previous)  # a fork: show where it came from, faded
        elif self._compared is not None and self._compared == current:
            # switched onto the compared branch: the one left is drawn faded (the comparison went off)
            self.compare_with(previous if previous != current else None)
        if self._switch_asked is not None and current == self._switch_asked:  # the plots' change, said
            branch = next(b for b in self._branches if b.current)
            text = f"on branch {self._branch_text(branch)}"  # its steps go stale once the run moves on
            self._window.statusBar().showMessage(text, 10_000)
            self._step_said = (text, self._clock.view_step)
        self._switch_asked = None
        self._show_branches()

    def _show_branches(self) -> None:
        menu = self.branch_menu
        menu.clear()
        self._branch_actions = {}
        group = QtGui.QActionGroup(menu)
        for branch in self._branches:
            action = menu.addAction(self._branch_text(branch))
            action.setToolTip(self._branch_story(branch))
            action.setCheckable(True)
            action.setChecked(branch.current)
            group.addAction(action)
            action.triggered.connect(lambda _c=False, b=branch.id: self.switch_branch(b))
            self._branch_actions[branch.id] = action
        if not self._branches:
            menu.addAction("one branch: change a setting at an earlier step to fork").setEnabled(False)
            return
        menu.addSeparator()
        compare = menu.addMenu("Compare with (faded in ② and ④)")
        choices = QtGui.QActionGroup(compare)
        for branch_id, text in [(None, "none"), *((b.id, b.name) for b in self._branches if not b.current)]:
            action = compare.addAction(text)
            action.setCheckable(True)
            action.setChecked(branch_id == self._compared)
            choices.addAction(action)
            action.triggered.connect(lambda _c=False, b=branch_id: self.compare_with(b))

    def _branch_text(self, branch) -> str:
        """``main (steps 0–120)``: the branch the run is on reaches as far as the run has."""
        head = max(branch.head_step, self._clock.head_step) if branch.current else branch.head_step
        return f"{branch.name} (steps {branch.fork_step}–{head})"

    def _branch_story(self, branch) -> str:
        """Where ``branch`` came from and what was changed on it (the Branch menu's tooltip)."""
        parents = {b.id: b.name for b in self._branches}
        origin = (
            "the run from step 0"
            if branch.parent is None
            else f"forked at step {branch.fork_step} from {parents.get(branch.parent, branch.parent)}"
        )
        return "\n".join((origin, *(branch.changes or ("no changes made on it",))))

    def _show_branch_heads(self) -> None:
        """The current branch's entry follows the run (the engine reports branches only when they change)."""
        for branch in self._branches:
            action = self._branch_actions.get(branch.id)
            if branch.current and action is not None:
                text = self._branch_text(branch)
                if action.text() != text:
                    action.setText(text)

    def compare_with(self, branch: int | None) -> None:
        """Draw branch ``branch``'s curves faded beside the current branch's (None: stop)."""
        self._compared = branch
        self._link.submit(CompareBranch(branch))

    @property
    def compared_branch(self) -> int | None:
        return self._compared

    @property
    def branches(self) -> tuple:
        return self._branches

    def switch_branch(self, branch: int) -> None:
        self._clock.follow()
        self._switch_asked = branch
        self._link.submit(SwitchBranch(branch))

    # ---- sessions ----------------------------------------------------------------------------------

    def save_dialog(self) -> None:
        start = str(self.session_path or Path.home() / "muonscope-session")
        path, _ = QtWidgets.QFileDialog.getSaveFileName(
            self._window, "Save session (a folder)", start, "muonscope session folder (*)"
        )
        if path:
            self.save_to(Path(path))

    def open_config_dialog(self) -> None:
        start = str(self.session_path.parent if self.session_path else Path.home())
        path, _ = QtWidgets.QFileDialog.getOpenFileName(
            self._window, "Open a config or preset", start, "config or preset (*.toml);;any file (*)"
        )
        if path:
            self.config_open_requested.emit(Path(path))

    def open_dialog(self) -> None:
        start = str(self.session_path.parent if self.session_path else Path.home())
        path = QtWidgets.QFileDialog.getExistingDirectory(self._window, "Open session folder", start)
        if path:
            self.open_from(Path(path))

    def save_to(self, path: Path) -> None:
        """Save there; a folder holding another saved session is replaced only if the user says so."""
        if not self._may_replace(Path(path)):
            return
        self._window.statusBar().showMessage(f"saving session to {path}…")
        self._link.submit(SaveSession(path))

    def _may_replace(self, path: Path) -> bool:
        held = path / "session.json"
        if not held.is_file() or (
            self.session_path is not None and path.resolve() == self.session_path.resolve()
        ):
            return True
        answer = QtWidgets.QMessageBox.question(
            self._window,
            "Replace a saved session?",
            f"{path} holds another saved session. Replace it with this one? Its run and branches are lost.",
        )
        return answer == QtWidgets.QMessageBox.StandardButton.Yes

    def open_from(self, path: Path) -> None:
        """Open a saved session; a TOML file given instead is opened as a config (a session is a folder)."""
        if Path(path).is_file() and Path(path).suffix == ".toml":
            self.config_open_requested.emit(Path(path))
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
        self.session_path = Path(message.path) if message.path else None
        item, shortcut = BACK_TO_RUN_BEFORE
        where = run_position(message.at_step, message.step)
        if message.title:
            where = f"“{message.title}”, {where}"
        text = f"The run before ({where}) is kept: File ▸ {item} ({shortcut}) brings it back."
        if self._arrival_said:
            text = f"{self._arrival_said}. {text}"
            self._arrival_said = ""
        if message.let_go is not None:
            step, folder = message.let_go
            kept = f"its last save stays in {folder}" if folder else "it was never saved and is lost"
            text += f" The run kept before it (step {step}) is no longer kept: {kept}."
        self._window.statusBar().showMessage(text, _KEPT_MESSAGE_MS)

    def _forget_arrival(self, _snapshot) -> None:
        self._arrival_said = ""

    def _on_saved(self, message) -> None:
        self.session_path = Path(message.path) if message.path else None
        if message.opened:
            self._views.message.dismiss()
        if message.restored:  # (the run it replaced, if kept, is said next)
            where = run_position(message.step, message.head_step)
            self._arrival_said = f"Back to the run before ({where})"
            self._window.statusBar().showMessage(self._arrival_said, 10_000)
            return
        if message.opened:  # where the run stands: withdrawn once it moves
            text = f"session opened: {message.path} (step {message.step})"
            self._arrival_said = text
            self._step_said = (text, message.step)
        else:  # what was done, true as the run plays on (withdrawn at the next step, it flashed by)
            text = f"session saved: {message.path} ({_saved_position(message.step, message.head_step)})"
            self._arrival_said = ""
        self._window.statusBar().showMessage(text, 10_000)
        self._remember(message.path)

    def _withdraw_step_said(self, step: int | None) -> None:
        """ "session opened: s2 (step 130)" stayed up for seconds after a jump to step 60."""
        text, said_step = self._step_said
        if step != said_step and self._window.statusBar().currentMessage() == text:
            self._window.statusBar().clearMessage()

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


def _same_condition(parsed, text: str, labels, kind) -> bool:
    """Whether breakpoint ``text`` stops on what ``parsed`` stops on (spacing aside)."""
    try:
        other = parse_breakpoint(text, labels, task_kind=kind)
    except ConfigError:  # set for lanes or a task since changed: not this one
        return False
    key = lambda b: (b.lane, b.metric, b.op, b.threshold)  # noqa: E731
    return key(other) == key(parsed)


def _current_branch(message) -> int | None:
    return next((b.id for b in message.branches if b.current), None)


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
