"""The window's debugger: go to step, breakpoints and branches.

The inspector dock has a controller of its own (:mod:`inspector_controller`), which this one holds;
saving and opening sessions are :mod:`session_controller`'s.

User intents become engine commands (:mod:`muonscope.app.debugger`); the engine's answers come back
as link signals and are shown in the panels, the menus and the status bar.
"""

from __future__ import annotations

from PySide6 import QtCore, QtGui, QtWidgets

from muonscope.app.debugger import CompareBranch, GoTo, RecallStep, SetBreakpoints, SwitchBranch
from muonscope.app.inspector_controller import InspectorController
from muonscope.app.step_status import StepStatus
from muonscope.engine.breakpoints import parse_breakpoint
from muonscope.engine.errors import ConfigError

__all__ = ["DebuggerController"]


class DebuggerController(QtCore.QObject):
    """Wires the debugger's widgets and menus to the engine link.

    ``clock`` is the frame clock (the config in force, the step shown, the newest snapshot).
    """

    def __init__(self, window, link, clock, parent=None) -> None:
        super().__init__(parent)
        self._window = window
        self._views = window.views
        self._link = link
        self._clock = clock
        self._breakpoints: list[tuple[str, bool]] = []
        self._breakpoints_sent = 0  # the serial of the latest list sent to the engine
        self._branches: tuple = ()
        self._compared: int | None = None  # the branch drawn faded beside the current one
        self._switch_asked: int | None = None  # a branch asked for in the Branch menu, until it is on
        self._branch_actions: dict[int, QtGui.QAction] = {}  # the Branch menu's entry of each branch
        self.inspector = InspectorController(window, link, clock, parent=self)
        self._step_status = StepStatus(window.statusBar(), clock)  # "on branch …", until the view moves
        self._fired_at: tuple[int, int] | None = None  # (branch id, step) where the marked breakpoint fired
        self._fired_text: str | None = None  # the marked breakpoint, found again in an edited list
        self._build_menus()
        self._connect()

    # ---- menus -----------------------------------------------------------------------------------

    def _build_menus(self) -> None:
        view_menu = self._window.menu("View")
        for dock in (self._window.breakpoints_dock, self._window.inspector_dock):
            view_menu.addAction(dock.toggleViewAction())
        for dock, key, what in (
            (self._window.breakpoints_dock, "Ctrl+B", "breakpoints"),
            (self._window.inspector_dock, "Ctrl+I", "inspector"),
        ):
            dock.toggleViewAction().setShortcut(QtGui.QKeySequence(key))
            dock.toggleViewAction().setStatusTip(f"show / hide the {what}")
            # opened by the user as a tab behind the other dock it would stay out of sight: bring it
            # to the front. Only when the user opens it: raised whenever it is shown, it also came
            # to the front when a saved layout was put back, over the tab the user had left there
            dock.toggleViewAction().triggered.connect(lambda shown, d=dock: shown and _raise_soon(d))
        # opened by its key or menu entry (not when a breakpoint that holds opens it), the breakpoints'
        # field takes the keys: a keyboard user had to Tab round the window to reach it
        field = self._views.breakpoints.edit
        self._window.breakpoints_dock.toggleViewAction().triggered.connect(
            lambda shown: shown and QtCore.QTimer.singleShot(0, field, field.setFocus)
        )
        self.branch_menu = self._window.menu("Branch")
        self.branch_menu.setToolTipsVisible(True)  # each branch's tooltip says what was changed on it
        self._show_branches()

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
        link.snapshot.connect(lambda snapshot: self._unmark_fired(step=snapshot.step))
        link.branches_changed.connect(lambda message: self._unmark_fired(branch=_current_branch(message)))
        link.comparison.connect(self._clock.on_comparison)

    def _on_frame(self, _step: int) -> None:
        self._show_branch_heads()

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
        texts = [text for text, _enabled in self._breakpoints]
        if message.hit is not None:
            self._fired_at, self._fired_text = message.hit_at, texts[message.hit]
        elif self._fired_text not in texts:  # removed: nothing left to mark
            self._fired_at = self._fired_text = None
        # the mark stands while the run does (another breakpoint added meanwhile took it away)
        self._views.breakpoints.highlight(None if self._fired_at is None else texts.index(self._fired_text))
        if message.hit is not None:
            self._window.breakpoints_dock.show()
            _raise_soon(self._window.breakpoints_dock)

    def _unmark_fired(self, step: int | None = None, branch: int | None = None) -> None:
        """The fired mark stands while the run stands where the breakpoint paused it: it stayed on
        after a rewind and on another branch, where the condition did not hold."""
        if self._fired_at is None:
            return
        fired_branch, fired_step = self._fired_at
        if (step is not None and step != fired_step) or (branch is not None and branch != fired_branch):
            self._fired_at = self._fired_text = None
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
        elif previous is not None and current != previous:
            # switched: beside where the branch came from, as an opened session is (main: beside the
            # branch left); kept on the branch compared before, fork 3 was drawn beside an unrelated fork 1
            parent = next((branch.parent for branch in self._branches if branch.current), None)
            self.compare_with(previous if parent is None else parent)
        if self._switch_asked is not None and current == self._switch_asked:  # the plots' change, said
            branch = next(b for b in self._branches if b.current)
            text = f"on branch {self._branch_text(branch)}"  # its steps go stale once the run moves on
            self._step_status.show(text, self._clock.view_step, 10_000)
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


def _raise_soon(dock: QtWidgets.QDockWidget) -> None:
    """Bring ``dock``'s tab to the front once the dock layout has taken it in (raised at once, a
    dock shown for the first time stays behind the tab in front)."""
    QtCore.QTimer.singleShot(0, dock, dock.raise_)
