"""The toolbar that drives a run: preset, play/pause, step, step N, go to step, reset with seed, speed,
record and presentation mode.

Every keyboard shortcut is a QAction (so a shortcut sheet can list them all): the toolbar's buttons,
and a few actions without a button, held by the widget they drive (Ctrl+G by the "go to" box,
Page Up/Page Down by the preset picker).
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6 import QtCore, QtGui, QtWidgets

from muonscope.widgets.keyed_combo import KeyedCombo
from muonscope.widgets.mode_box import ElidingCombo
from muonscope.widgets.number_box import CompactSpinBox

__all__ = ["SPEEDS", "TransportBar", "TransportRanges", "own_settings_name"]

#: (steps per second, text); 0 means as fast as the engine goes.
SPEEDS = [
    (1.0, "1 step/s"),
    (5.0, "5 steps/s"),
    (10.0, "10 steps/s"),
    (30.0, "30 steps/s"),
    (0.0, "max speed"),
]


@dataclass(frozen=True)
class TransportRanges:
    """The bounds of the bar's number boxes: the values the run's settings accept."""

    seed: tuple[int, int]  # the seed the reset box offers
    #: the steps "go to" accepts: any a run may reach, so the box never has to follow the run's length
    step: tuple[int, int]


class _EnterSpinBox(CompactSpinBox):
    """A whole-number box that reports Enter, after it has taken in the typed value, and refuses
    (says, and shows the value in force again) a number outside its range instead of going on with
    another: Qt's box dropped the "−" of −5 and went to step 5, and cut 99999999999 to 999999999."""

    entered = QtCore.Signal()
    #: The keys left the box (Esc, a click elsewhere) with what was typed not entered.
    left_typing = QtCore.Signal()
    #: Digits the box is as wide as, whatever its range: sized for 10⁹ the toolbar's boxes pushed
    #: "present" into the overflow menu at 1280 px (a longer number scrolls in the box).
    SHOWN_DIGITS = 7

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self._typed_ok_at_enter: bool | None = None
        self._typing = False  # typed in since the last Enter or take_typed
        self.lineEdit().installEventFilter(self)
        self.lineEdit().textEdited.connect(self._note_typing)

    @property
    def typing(self) -> bool:
        """Whether what is typed in the box awaits Enter (or the button beside it): a box shown a new
        value then would lose it, or take the new value for it."""
        return self._typing

    def _note_typing(self, _text: str) -> None:
        self._typing = True

    def focusOutEvent(self, event: QtGui.QFocusEvent) -> None:
        super().focusOutEvent(event)
        passing = (QtCore.Qt.FocusReason.ActiveWindowFocusReason, QtCore.Qt.FocusReason.PopupFocusReason)
        if self._typing and event.reason() not in passing:  # another window or a menu: back soon
            self._typing = False
            self.left_typing.emit()

    def sizeHint(self) -> QtCore.QSize:
        hint = super().sizeHint()
        metrics = self.fontMetrics()
        widest = max(metrics.horizontalAdvance(str(bound)) for bound in (self.minimum(), self.maximum()))
        needed = max(
            metrics.horizontalAdvance("0" * self.SHOWN_DIGITS), metrics.horizontalAdvance(self.text())
        )
        return QtCore.QSize(hint.width() - max(0, widest - needed), hint.height())

    def minimumSizeHint(self) -> QtCore.QSize:
        return self.sizeHint()

    def eventFilter(self, watched: QtCore.QObject, event: QtCore.QEvent) -> bool:
        """Enter sent to the line edit itself (not through the box) is fixed up there before the box
        hears of it: "-3" read as the value in force, and went to it. What was typed is noted first."""
        if watched is self.lineEdit() and event.type() == QtCore.QEvent.Type.KeyPress and _is_enter(event):
            self._typed_ok_at_enter = self.hasAcceptableInput()
        return super().eventFilter(watched, event)

    def keyPressEvent(self, event: QtGui.QKeyEvent) -> None:
        enter = _is_enter(event)
        noted, self._typed_ok_at_enter = self._typed_ok_at_enter, None
        typed_ok = self.hasAcceptableInput() if noted is None else noted
        super().keyPressEvent(event)
        if enter:
            self._typing = False
        if enter and typed_ok:
            self.entered.emit()

    def take_typed(self) -> bool:
        """The text typed as the box's value (True), or refused and the value in force shown again: a
        button beside the box acts on what the box shows, not on a number the box did not take."""
        self._typing = False
        if self.hasAcceptableInput():
            self.interpretText()
            return True
        if not self.text().strip():  # an emptied box shows its value again, which "go" then takes:
            self.lineEdit().setText(self.textFromValue(self.value()))  # it did nothing, unsaid
            return True
        self.fixup(self.text())  # says why
        self.lineEdit().setText(self.textFromValue(self.value()))
        return False


def _is_enter(event: QtGui.QKeyEvent) -> bool:
    return event.key() in (QtCore.Qt.Key.Key_Return, QtCore.Qt.Key.Key_Enter)


class TransportBar(QtWidgets.QToolBar):
    """User intents leave as signals; the bar never talks to an engine itself."""

    preset_chosen = QtCore.Signal(str)
    play_toggled = QtCore.Signal(bool)
    step_requested = QtCore.Signal(int)
    goto_requested = QtCore.Signal(int)
    reset_requested = QtCore.Signal(int)
    speed_changed = QtCore.Signal(float)
    record_toggled = QtCore.Signal(bool)  # start (True) or stop recording what the window shows
    presentation_toggled = QtCore.Signal(bool)  # enter (True) or leave presentation mode
    typing_done = QtCore.Signal()  # Enter in one of the bar's boxes: the keys may go back to the plots
    #: Page Up at the first preset or Page Down at the last: the words that say why nothing changed
    presets_end_reached = QtCore.Signal(str)
    entry_refused = QtCore.Signal(str, str, str)  # (box, text typed, what it takes): nothing was done

    def __init__(self, ranges: TransportRanges, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__("transport", parent)
        self.setObjectName("transport")
        self.setMovable(False)
        self.setToolButtonStyle(QtCore.Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self._add_presets()
        self.addSeparator()
        self._add_stepping()
        self._add_goto(ranges.step)
        self.addSeparator()
        self._add_reset(ranges.seed)
        self.addSeparator()
        self._add_speed()
        self.addSeparator()
        self._add_record_and_present()

    def _add_presets(self) -> None:
        """The preset list; Page Up/Page Down load the previous/next preset."""
        # as wide as 22 characters, not as the longest title: at 1280 px the toolbar keeps all its
        # buttons; a longer title ends in "…" (the list shows it whole)
        self.preset_combo = ElidingCombo(22)
        self.preset_combo.setAccessibleName("preset")
        self.preset_combo.setObjectName("preset")
        self.preset_combo.setToolTip("load a preset: its task, lanes and caption")
        self.preset_combo.activated.connect(self._on_preset_activated)
        self.addWidget(QtWidgets.QLabel(" preset "))
        self.addWidget(self.preset_combo)
        self.previous_preset_action = self._hidden_action(
            "previous preset", "PgUp", self.preset_combo, lambda: self._page_key(-1)
        )
        self.next_preset_action = self._hidden_action(
            "next preset", "PgDown", self.preset_combo, lambda: self._page_key(1)
        )

    def _add_stepping(self) -> None:
        """Play/pause, one step, and N steps with the box for N."""
        style, icons = self.style(), QtWidgets.QStyle.StandardPixmap
        self._play_icon = style.standardIcon(icons.SP_MediaPlay)
        self._pause_icon = style.standardIcon(icons.SP_MediaPause)
        self.play_action = self._action("play", "Space", "play / pause (Space)", checkable=True)
        self.play_action.setStatusTip("play / pause")
        self.play_action.setIcon(self._play_icon)
        self.play_action.toggled.connect(self._on_play_toggled)
        self._keep_play_width()
        self.step_action = self._action("step", "Right", "one step (→)")
        self.step_action.setStatusTip("one step (looking back: the view one step on)")
        self.step_action.setIcon(style.standardIcon(icons.SP_MediaSkipForward))
        self.step_action.triggered.connect(lambda: self.step_requested.emit(1))
        self.step_n_spin = self._spin("step N", 1, 1_000_000, 10, "N: steps taken by 'step N'")
        self.step_n_action = self._action("step N", "Shift+Right", "take N steps (Shift+→)")
        self.step_n_action.setStatusTip("take N steps (the box beside it)")
        self.step_n_action.setIcon(style.standardIcon(icons.SP_MediaSeekForward))
        self.step_n_action.triggered.connect(lambda: self._emit_typed(self.step_n_spin, self.step_requested))

    def _add_reset(self, seeds: tuple[int, int]) -> None:
        """The seed box and reset, which restarts from W = 0 with that seed."""
        self.addWidget(QtWidgets.QLabel(" seed "))
        self.seed_spin = self._spin("seed", *seeds, 0, "seed of the data stream and embeddings")
        self.reset_action = self._action(
            "reset", "Ctrl+R", "restart from W = 0 with this seed and the current settings"
        )
        self.reset_action.setIcon(self.style().standardIcon(QtWidgets.QStyle.StandardPixmap.SP_BrowserReload))
        self.reset_action.setStatusTip("restart from W = 0 with the seed in the box")
        self.reset_action.triggered.connect(lambda: self._emit_typed(self.seed_spin, self.reset_requested))

    def _add_speed(self) -> None:
        """The speed limit while playing."""
        self.speed_combo = KeyedCombo()
        self.speed_combo.setAccessibleName("speed limit")
        self.speed_combo.setObjectName("speed")
        self.speed_combo.setToolTip("upper limit on steps per second while playing")
        for rate, text in SPEEDS:
            self.speed_combo.addItem(text, rate)
        self.speed_combo.setCurrentIndex(len(SPEEDS) - 1)
        self.speed_combo.currentIndexChanged.connect(
            lambda _i: self.speed_changed.emit(self.speed_combo.currentData())
        )
        self.addWidget(self.speed_combo)

    def _add_record_and_present(self) -> None:
        """Record (a frame per step) and presentation mode: what a speaker needs."""
        self.record_action = self._action(
            "● record", "Ctrl+Shift+R", "record what the window shows, a frame per step (Ctrl+Shift+R)", True
        )
        self.record_action.setObjectName("record")
        self.record_action.setStatusTip("record what the window shows, a frame per step")
        self.record_action.toggled.connect(self.record_toggled)
        self.presentation_action = self._action(
            "present", "F11", "presentation mode: no chrome, larger type and lines (F11)", True
        )
        # a standard icon: the "⛶" glyph is missing from common fonts and showed as an empty box
        self.presentation_action.setIcon(
            self.style().standardIcon(QtWidgets.QStyle.StandardPixmap.SP_TitleBarMaxButton)
        )
        self.presentation_action.setObjectName("presentation")
        self.presentation_action.setStatusTip("presentation mode")
        self.presentation_action.toggled.connect(self.presentation_toggled)

    def _add_goto(self, steps: tuple[int, int]) -> None:
        """A step box and "go": Ctrl+G jumps into the box; Enter there, or "go", asks for that step."""
        self.addWidget(QtWidgets.QLabel(" go to "))
        self.goto_spin = self._spin("go to step", *steps, 0, "the step to go to (Ctrl+G); Enter goes")
        self.goto_spin.setObjectName("goto_step")
        self.goto_spin.entered.connect(self._on_goto)
        self.goto_spin.left_typing.connect(self._forget_typed_step)
        self._step_on_view = 0
        self.goto_action = QtGui.QAction("go", self)
        self.goto_action.setToolTip("show the run at the step on the left (Enter in the box)")
        self.goto_action.triggered.connect(self._on_goto)
        self.addAction(self.goto_action)
        self.goto_focus_action = self._hidden_action("go to step…", "Ctrl+G", self.goto_spin, self.focus_goto)
        self.goto_focus_action.setStatusTip("go to step: type it in the box, then Enter")

    def show_step(self, step: int) -> None:
        """The step on view, in the "go to" box while no one is typing there, as a page box in a
        reader shows the page: a box that kept the step last typed ("go to 0" on a run at step 400)
        read as where the run stood."""
        self._step_on_view = step
        box = self.goto_spin
        if box.hasFocus() or box.typing or box.value() == step:
            return
        with QtCore.QSignalBlocker(box):
            box.setValue(step)

    def _forget_typed_step(self) -> None:
        """The step typed and left without Enter (Esc) goes: the box shows the step on view again,
        and "go" no longer jumps to an abandoned number."""
        with QtCore.QSignalBlocker(self.goto_spin):
            self.goto_spin.setValue(self._step_on_view)
            self.goto_spin.lineEdit().setText(self.goto_spin.textFromValue(self._step_on_view))

    def focus_goto(self) -> None:
        """Put the keyboard in the "go to" box with its number selected, ready to be typed over; on a
        stage without the toolbar (presentation mode), ask for the step in a small dialog instead."""
        box = self.goto_spin
        if not box.isVisible():
            step = self.ask_step(self.window(), box.value(), box.minimum(), box.maximum())
            if step is not None:
                self.goto_requested.emit(step)
            return
        box.setFocus(QtCore.Qt.FocusReason.ShortcutFocusReason)
        box.selectAll()

    @staticmethod
    def ask_step(parent: QtWidgets.QWidget, current: int, lowest: int, highest: int) -> int | None:
        """The step typed in a dialog, or None if it was cancelled (replaceable, as a file chooser is)."""
        dialog = QtWidgets.QInputDialog
        step, accepted = dialog.getInt(parent, "Go to step", "step:", current, lowest, highest)
        return step if accepted else None

    def _on_goto(self) -> None:
        self._emit_typed(self.goto_spin, self.goto_requested)

    @staticmethod
    def _emit_typed(box: _EnterSpinBox, signal: QtCore.SignalInstance) -> None:
        if box.take_typed():
            signal.emit(box.value())

    def _action(self, text: str, shortcut: str, tip: str, checkable: bool = False) -> QtGui.QAction:
        action = QtGui.QAction(text, self)
        action.setShortcut(QtGui.QKeySequence(shortcut))
        action.setShortcutContext(QtCore.Qt.ShortcutContext.WindowShortcut)
        action.setToolTip(tip)
        action.setCheckable(checkable)
        self.addAction(action)
        return action

    def _hidden_action(self, text: str, shortcut: str, holder: QtWidgets.QWidget, slot) -> QtGui.QAction:
        """A shortcut without a button, active in the whole window while ``holder`` is on show."""
        action = QtGui.QAction(text, self)
        action.setShortcut(QtGui.QKeySequence(shortcut))
        action.setShortcutContext(QtCore.Qt.ShortcutContext.WindowShortcut)
        action.triggered.connect(lambda _checked=False: slot())
        holder.addAction(action)
        return action

    def _spin(self, name: str, lo: int, hi: int, value: int, tip: str) -> _EnterSpinBox:
        spin = _EnterSpinBox()
        spin.entered.connect(self.typing_done.emit)
        spin.refused.connect(lambda text, allowed: self.entry_refused.emit(name, text, allowed))
        spin.setRange(lo, hi)
        spin.setValue(value)
        spin.setToolTip(tip)
        spin.setAccessibleName(name)  # a screen reader said only "spin box": the label beside it is no buddy
        spin.setAccessibleDescription(tip)
        spin.setKeyboardTracking(False)
        self.addWidget(spin)
        return spin

    def set_presets(self, presets: list[tuple[str, str, str]]) -> None:
        """(name, title, group) triples; groups become separator headings in the picker."""
        with QtCore.QSignalBlocker(self.preset_combo):
            self.preset_combo.clear()
            group = None
            for name, title, heading in presets:
                if heading != group:
                    if group is not None:
                        self.preset_combo.insertSeparator(self.preset_combo.count())
                    self.preset_combo.addItem(f"— {heading} —")
                    item = self.preset_combo.model().item(self.preset_combo.count() - 1)
                    item.setEnabled(False)
                    group = heading
                self.preset_combo.addItem(title, name)

    def set_preset(self, name: str, own_settings: bool = False) -> None:
        """Show preset ``name`` as chosen; a run of its own settings (a config file, a session far from
        every preset) shows "NAME · own settings" and no preset: the box showed the heading of the
        first group, "— muonscope —", as if it had been picked, and a file named default.toml showed
        as the bundled Default whatever it held."""
        index = -1 if own_settings else self.preset_combo.findData(name)
        with QtCore.QSignalBlocker(self.preset_combo):
            self.preset_combo.setCurrentIndex(index)  # −1 when it is no bundled preset
        self.preset_combo.setPlaceholderText(own_settings_name(name) if index < 0 else "")

    def set_playing(self, playing: bool) -> None:
        """Reflect the engine's state without emitting ``play_toggled``."""
        with QtCore.QSignalBlocker(self.play_action):
            self.play_action.setChecked(playing)
        self._show_play_state(playing)

    def _keep_play_width(self) -> None:
        """The play button as wide as "pause" needs whichever it says: at 1280 px the wider "pause"
        pushed "present" into the toolbar's overflow menu each time the run played."""
        button = self.widgetForAction(self.play_action)
        text = self.play_action.text()
        widths = []
        for shown in ("play", "pause"):
            self.play_action.setText(shown)
            widths.append(button.sizeHint().width())
        self.play_action.setText(text)
        button.setMinimumWidth(max(widths))

    def changeEvent(self, event: QtCore.QEvent) -> None:
        super().changeEvent(event)
        if event.type() == QtCore.QEvent.Type.FontChange:
            self._keep_play_width()

    def _show_play_state(self, playing: bool) -> None:
        self.play_action.setText("pause" if playing else "play")
        self.play_action.setIcon(self._pause_icon if playing else self._play_icon)

    def set_recording(self, recording: bool) -> None:
        """Reflect whether a recording runs, without emitting ``record_toggled``."""
        with QtCore.QSignalBlocker(self.record_action):
            self.record_action.setChecked(recording)

    def set_presentation(self, on: bool) -> None:
        """Reflect presentation mode, without emitting ``presentation_toggled``."""
        with QtCore.QSignalBlocker(self.presentation_action):
            self.presentation_action.setChecked(on)

    def set_seed(self, seed: int) -> None:
        with QtCore.QSignalBlocker(self.seed_spin):
            self.seed_spin.setValue(seed)

    def _on_play_toggled(self, playing: bool) -> None:
        self._show_play_state(playing)
        self.play_toggled.emit(playing)

    @staticmethod
    def _box_typed_in() -> QtWidgets.QWidget | None:
        """The number box or text field that has the keyboard, if one has."""
        focus = QtWidgets.QApplication.focusWidget()
        parent = None if focus is None else focus.parentWidget()
        if isinstance(parent, QtWidgets.QAbstractSpinBox):  # the box's own line edit
            return parent
        typed_in = (
            QtWidgets.QAbstractSpinBox,
            QtWidgets.QLineEdit,
            QtWidgets.QTextEdit,
            QtWidgets.QPlainTextEdit,
        )
        return focus if isinstance(focus, typed_in) else None

    def _page_key(self, offset: int) -> None:
        """Page Up/Page Down: the previous or next preset, but a box being typed in keeps the key (a
        number box steps by ten, as Qt's do; a text field has no use for it). Page Down in lane 0's
        rate box loaded the next preset, and the lane's row went, focus and all."""
        box = self._box_typed_in()
        if isinstance(box, QtWidgets.QAbstractSpinBox):
            box.stepBy(-10 * offset)  # Page Up (offset −1) steps up
        elif box is None:
            self.step_preset(offset)

    def step_preset(self, offset: int) -> None:
        """Load the preset ``offset`` entries away in the picker (headings skipped); none past the ends."""
        combo = self.preset_combo
        index = combo.currentIndex() + offset
        while 0 <= index < combo.count() and not combo.itemData(index):
            index += 1 if offset > 0 else -1
        if 0 <= index < combo.count():
            combo.setCurrentIndex(index)
            self._on_preset_activated(index)
        else:  # a speaker paging through a talk pressed once too often: silence read as a stuck key
            place = "last" if offset > 0 else "first"
            self.presets_end_reached.emit(f"{combo.currentText()} is the {place} preset")

    def _on_preset_activated(self, index: int) -> None:
        name = self.preset_combo.itemData(index)
        if name:
            self.preset_chosen.emit(name)


def own_settings_name(name: str) -> str:
    """How a run of its own settings (a config file, a session far from every preset) is named."""
    return f"{name} · own settings"
