"""The lane table: one row per optimizer lane, every setting one click or one edit away."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

from PySide6 import QtCore, QtGui, QtWidgets

from muonscope.widgets.enter_key import press_on_enter
from muonscope.widgets.keyed_combo import KeyedCombo
from muonscope.widgets.number_box import CompactDoubleSpinBox, CompactSpinBox
from muonscope.widgets.theme import lane_colour
from muonscope.widgets.title_label import TitleLabel
from muonscope.widgets.wheel_guard import guard_wheel

__all__ = ["LANE_ROW_FIELDS", "LaneFieldSpec", "LaneRow", "LaneTable"]


@dataclass(frozen=True)
class LaneFieldSpec:
    """Choices and ranges of the lane fields, supplied by the application (widgets know no engine)."""

    optimizers: list[tuple[str, str]]
    orders: list[str] = field(default_factory=lambda: ["pre", "post", "none"])
    polars: list[str] = field(default_factory=lambda: ["exact", "ns", "reg"])
    ranges: dict[str, tuple[float, float]] = field(default_factory=dict)
    #: optimizer → what its momentum is called, where not μ (Adam's β₁)
    momentum_symbols: dict[str, str] = field(default_factory=dict)
    #: field → what it does, as its control's tooltip says while it applies ("lr": "Learning rate η…")
    helps: dict[str, str] = field(default_factory=dict)


#: Keys that move the keyboard's pick over a choice's grid of buttons: (columns, rows) moved.
_PICK_MOVES = {
    QtCore.Qt.Key.Key_Left: (-1, 0),
    QtCore.Qt.Key.Key_Right: (1, 0),
    QtCore.Qt.Key.Key_Up: (0, -1),
    QtCore.Qt.Key.Key_Down: (0, 1),
}
_CHOOSE_KEYS = (QtCore.Qt.Key.Key_Return, QtCore.Qt.Key.Key_Enter)


class _ChoiceButton(QtWidgets.QToolButton):
    """A choice's button; the keyboard's pick is ringed in the highlight colour."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.setText(text)
        self.setCheckable(True)
        self.setFocusPolicy(QtCore.Qt.FocusPolicy.NoFocus)  # the choice as a whole is one Tab stop
        self.setSizePolicy(QtWidgets.QSizePolicy.Policy.Expanding, QtWidgets.QSizePolicy.Policy.Fixed)
        self.picked = False

    def paintEvent(self, event: QtGui.QPaintEvent) -> None:
        super().paintEvent(event)
        if self.picked:
            painter = QtGui.QPainter(self)
            pen = QtGui.QPen(self.palette().color(QtGui.QPalette.ColorRole.Highlight), 2)
            painter.setPen(pen)
            painter.drawRect(self.rect().adjusted(1, 1, -1, -1))


class _Segmented(QtWidgets.QWidget):
    """A row of exclusive tool buttons: a one-click choice, and one Tab stop for the keyboard.

    Tabbed to, the choice rings the option it holds; the arrow keys move the ring and Enter
    chooses the ringed option. Arrows do not choose on their own: each choice is a change to the
    run (a marker, a branch when made behind its head), and going from SGD to Muon would have
    made three. Space stays play/pause, as everywhere outside a text box.
    """

    chosen = QtCore.Signal(str)

    def __init__(self, options: list[tuple[str, str]], columns: int = 8, parent=None) -> None:
        super().__init__(parent)
        self.setFocusPolicy(QtCore.Qt.FocusPolicy.TabFocus)  # a click chooses; it does not take the keys
        layout = QtWidgets.QGridLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        self.group = QtWidgets.QButtonGroup(self)
        self.buttons: dict[str, _ChoiceButton] = {}
        self._pick: str | None = None  # the option the keyboard rings (None: the choice has no focus)
        self._columns = columns
        for value, text in options:
            button = _ChoiceButton(text)
            button.setObjectName(value)
            self.group.addButton(button)
            position = len(self.buttons)
            layout.addWidget(button, position // columns, position % columns)
            self.buttons[value] = button
            button.clicked.connect(lambda _c=False, v=value: self.chosen.emit(v))

    def value(self) -> str | None:
        for value, button in self.buttons.items():
            if button.isChecked():
                return value
        return None

    def set_value(self, value: str) -> None:
        self.buttons[value].setChecked(True)

    @property
    def picked(self) -> str | None:
        """The option the keyboard rings: Enter chooses it (None while the choice lacks focus)."""
        return self._pick

    def _ring(self, value: str | None) -> None:
        self._pick = value
        for name, button in self.buttons.items():
            button.picked = name == value
            button.update()

    def focusInEvent(self, event: QtGui.QFocusEvent) -> None:
        super().focusInEvent(event)
        enabled = [name for name, button in self.buttons.items() if button.isEnabled()]
        self._ring(self.value() if self.value() in enabled else next(iter(enabled), None))

    def focusOutEvent(self, event: QtGui.QFocusEvent) -> None:
        super().focusOutEvent(event)
        self._ring(None)

    def event(self, event: QtCore.QEvent) -> bool:
        """Arrows and Enter are the choice's while it has focus, not the window's shortcuts (→ steps)."""
        if event.type() == QtCore.QEvent.Type.ShortcutOverride and self._keys_its_own(event):
            event.accept()
            return True
        return super().event(event)

    @staticmethod
    def _keys_its_own(event: QtGui.QKeyEvent) -> bool:
        modifiers = QtCore.Qt.KeyboardModifier
        plain = event.modifiers() in (modifiers.NoModifier, modifiers.KeypadModifier)
        return plain and (event.key() in _PICK_MOVES or event.key() in _CHOOSE_KEYS)

    def keyPressEvent(self, event: QtGui.QKeyEvent) -> None:
        if not self._keys_its_own(event) or self._pick is None:
            super().keyPressEvent(event)
        elif event.key() in _CHOOSE_KEYS:
            if self._pick != self.value():
                self.buttons[self._pick].click()
        else:
            self._ring(self._moved_pick(*_PICK_MOVES[event.key()]))

    def _moved_pick(self, columns: int, rows: int) -> str:
        """The enabled option ``columns`` on in reading order, or ``rows`` on in the grid (Muon is
        under SGD), past disabled ones; the pick itself where there is none (at the edges)."""
        names = list(self.buttons)
        at = names.index(self._pick)
        stride = columns + rows * self._columns
        while 0 <= at + stride < len(names):
            at += stride
            if self.buttons[names[at]].isEnabled():
                return names[at]
        return self._pick

    def setToolTip(self, text: str) -> None:
        """Each button says it too: the pointer rests on a button, whose own tooltip was empty (a
        greyed "pre post none" on an SGD lane said nothing of why)."""
        super().setToolTip(text)
        for button in self.buttons.values():
            button.setToolTip(text)


class LaneRow(QtWidgets.QFrame):
    """Controls of one lane; edits leave as ``field_changed(field, value)``."""

    field_changed = QtCore.Signal(str, object)
    entry_refused = QtCore.Signal(str, str, str)  # (field, text typed, what is allowed)
    remove_clicked = QtCore.Signal()

    def __init__(self, index: int, spec: LaneFieldSpec, parent=None) -> None:
        super().__init__(parent)
        self.setFrameShape(QtWidgets.QFrame.Shape.StyledPanel)
        self._spec = spec
        self.chip = QtWidgets.QLabel()
        self.chip.setFixedSize(14, 14)
        self.set_colour(lane_colour(index))
        # "0 · label", cut with "…" where the dock is narrow (its tooltip whole): an 80-character
        # label widened the dock past the window's controls, with a scroll bar under them
        self.title = TitleLabel()
        self.optimizer = _Segmented(spec.optimizers, columns=4)
        self.optimizer.chosen.connect(lambda v: self.field_changed.emit("optimizer", v))
        self.order = _Segmented([(o, o) for o in spec.orders])
        self.order.chosen.connect(lambda v: self.field_changed.emit("order", v))
        self.momentum = self._double("momentum", spec, 0.01)  # 0.9995 is shown as such
        self.lr = self._double("lr", spec, 0.0)
        self.polar = KeyedCombo()
        self.polar.addItems(spec.polars)
        self.polar.activated.connect(lambda _i: self.field_changed.emit("polar", self.polar.currentText()))
        self.ns_steps = CompactSpinBox()
        lo, hi = spec.ranges.get("ns_steps", (1, 100))
        self.ns_steps.setRange(int(lo), int(hi))
        self.ns_steps.setKeyboardTracking(False)
        self.ns_steps.valueChanged.connect(lambda v: self.field_changed.emit("ns_steps", v))
        self.ns_steps.refused.connect(lambda text, why: self.entry_refused.emit("ns_steps", text, why))
        self.lam = self._double("lam", spec, 0.0)
        self.beta2 = self._double("beta2", spec, 0.001)  # Adam's second moment: 0.95 in the tail presets
        #: what each check box holds for the lane, shown while the box applies (unticked while not)
        self._ticked = {"thresholded": False, "lam_schedule": False}
        self.thresholded = QtWidgets.QCheckBox("thresholded")
        self.thresholded.toggled.connect(lambda on: self._tick("thresholded", on, on))
        self.lam_schedule = QtWidgets.QCheckBox("λ_t")
        self.lam_schedule.toggled.connect(lambda on: self._tick("lam_schedule", on, "kim" if on else "fixed"))
        guard_wheel(self.polar, self.ns_steps)
        for name in ("momentum", "lr", "polar", "ns_steps", "lam", "beta2"):
            _blank_when_disabled(self.widget_for(name))
        remove = QtWidgets.QToolButton()
        remove.setText("✕")
        remove.setToolTip("remove this lane")
        remove.clicked.connect(self.remove_clicked.emit)
        remove.setAccessibleName(f"remove lane {index}")
        press_on_enter(remove)
        self.remove_button = remove
        self._build_layout()
        for name in LANE_ROW_FIELDS:
            self.widget_for(name).setToolTip(spec.helps.get(name, ""))
            self.widget_for(name).setAccessibleName(name)  # the label's text, where a symbol is shown
        self.optimizer.setAccessibleName("optimizer (arrow keys pick, Enter chooses)")
        self.order.setAccessibleName("momentum order (arrow keys pick, Enter chooses)")

    @property
    def tab_chain(self) -> list[QtWidgets.QWidget]:
        """The row's controls in reading order: the Tab key's path through it."""
        return [self.remove_button, *(self.widget_for(name) for name in LANE_ROW_FIELDS)]

    def _tick(self, name: str, on: bool, value: Any) -> None:
        self._ticked[name] = on
        self.field_changed.emit(name, value)

    def set_colour(self, colour: str) -> None:
        """The lane's colour, on the chip beside its name."""
        self._colour = colour
        self.chip.setStyleSheet(f"background: {colour}; border-radius: 7px;")

    @property
    def colour(self) -> str:
        """The colour on the lane's chip."""
        return self._colour

    def _double(self, name: str, spec: LaneFieldSpec, step: float) -> QtWidgets.QDoubleSpinBox:
        box = CompactDoubleSpinBox()
        guard_wheel(box)
        lo, hi = spec.ranges.get(name, (0.0, 1e6))
        box.setMinimumWidth(72)
        box.setRange(lo, hi)
        if step:
            box.setSingleStep(step)
        else:
            box.setStepType(QtWidgets.QAbstractSpinBox.StepType.AdaptiveDecimalStepType)
        box.setKeyboardTracking(False)
        box.setObjectName(name)
        box.valueChanged.connect(lambda v: self.field_changed.emit(name, v))
        box.refused.connect(lambda text, allowed: self.entry_refused.emit(name, text, allowed))
        return box

    def _build_layout(self) -> None:
        grid = QtWidgets.QGridLayout(self)
        grid.setContentsMargins(4, 2, 4, 2)
        grid.setHorizontalSpacing(6)
        grid.setVerticalSpacing(2)
        head = QtWidgets.QHBoxLayout()
        head.addWidget(self.chip)
        head.addWidget(self.title, 1)
        head.addWidget(self.remove_button)
        grid.addLayout(head, 0, 0, 1, 6)
        grid.addWidget(self.optimizer, 1, 0, 1, 6)
        grid.addWidget(QtWidgets.QLabel("momentum"), 2, 0)
        grid.addWidget(self.order, 2, 1, 1, 3)
        # lr and NS k as wide as the order buttons: a learning rate such as 0.0243685 or
        # 0.000000001 is shown to its last digit; polar and λ under μ
        self.momentum_label = self._pair(grid, 2, 4, "μ", self.momentum)
        self._pair(grid, 3, 0, "lr", self.lr, span=3)
        self._pair(grid, 3, 4, "polar", self.polar)
        self._pair(grid, 4, 0, "NS k", self.ns_steps, span=3)
        self._pair(grid, 4, 4, "λ", self.lam)
        self._pair(grid, 5, 0, "β₂", self.beta2, span=3)
        boxes = QtWidgets.QHBoxLayout()  # λ's schedule under λ, then the gradient's thresholding
        boxes.setSpacing(8)
        boxes.addWidget(self.lam_schedule)
        boxes.addWidget(self.thresholded)
        boxes.addStretch(1)
        grid.addLayout(boxes, 5, 4, 1, 2)

    @staticmethod
    def _pair(
        grid: QtWidgets.QGridLayout, row: int, col: int, text: str, widget: QtWidgets.QWidget, span: int = 1
    ) -> QtWidgets.QLabel:
        label = QtWidgets.QLabel(text)
        label.setBuddy(widget)
        grid.addWidget(label, row, col)
        grid.addWidget(widget, row, col + 1, 1, span)
        return label

    def widget_for(self, name: str) -> QtWidgets.QWidget:
        return {
            "optimizer": self.optimizer,
            "order": self.order,
            "momentum": self.momentum,
            "lr": self.lr,
            "polar": self.polar,
            "ns_steps": self.ns_steps,
            "lam": self.lam,
            "lam_schedule": self.lam_schedule,
            "beta2": self.beta2,
            "thresholded": self.thresholded,
        }[name]

    def set_values(self, values: dict[str, Any]) -> None:
        """Show a lane's settings without emitting ``field_changed``."""
        blockers = [
            QtCore.QSignalBlocker(self.widget_for(n))
            for n in ("momentum", "lr", "polar", "ns_steps", "lam", "lam_schedule", "beta2", "thresholded")
        ]
        self.optimizer.set_value(values["optimizer"])
        # Adam's box holds its first moment's decay: "μ" there read as a momentum buffer's
        self.momentum_label.setText(self._spec.momentum_symbols.get(values["optimizer"], "μ"))
        self.order.set_value(values["order"])
        self.momentum.setValue(values["momentum"])
        self.lr.setValue(values["lr"])
        self.polar.setCurrentText(values["polar"])
        self.ns_steps.setValue(values["ns_steps"])
        self.lam.setValue(values["lam"])
        self.beta2.setValue(values["beta2"])
        self._ticked = {"thresholded": values["thresholded"], "lam_schedule": values["lam_schedule"] == "kim"}
        for name, on in self._ticked.items():
            self.widget_for(name).setChecked(on)
        del blockers

    def set_field_state(self, name: str, enabled: bool, reason: str = "") -> None:
        """Enable a control, or disable it with a tooltip saying why it does not apply."""
        widget = self.widget_for(name)
        widget.setEnabled(enabled)
        if name in self._ticked:  # a greyed tick read as a setting the lane runs: blank while it does not
            with QtCore.QSignalBlocker(widget):
                widget.setChecked(enabled and self._ticked[name])
        widget.setToolTip(self._spec.helps.get(name, "") if enabled else reason)  # what it does, or why not


#: The row's fields in reading order: left to right, top to bottom.
LANE_ROW_FIELDS = (
    "optimizer",
    "order",
    "momentum",
    "lr",
    "polar",
    "ns_steps",
    "lam",
    "beta2",
    "lam_schedule",
    "thresholded",
)


def _chain(widgets: list[QtWidgets.QWidget]) -> None:
    """Make Tab go through ``widgets`` in their order (after the first one's place)."""
    for before, after in itertools.pairwise(widgets):
        QtWidgets.QWidget.setTabOrder(before, after)


def _blank_when_disabled(widget: QtWidgets.QWidget) -> None:
    """Draw no value in ``widget`` while it is disabled: a greyed "0.999" in an SGD lane's β₂ read as
    a setting the lane has (its tooltip says why the field does not apply). The value is kept, and
    shows again when the field applies."""
    palette = widget.palette()
    for role in (QtGui.QPalette.ColorRole.Text, QtGui.QPalette.ColorRole.ButtonText):
        palette.setColor(QtGui.QPalette.ColorGroup.Disabled, role, QtGui.QColor(0, 0, 0, 0))
    widget.setPalette(palette)


class LaneTable(QtWidgets.QWidget):
    """All lanes, plus adding and removing them."""

    lane_changed = QtCore.Signal(int, str, object)
    entry_refused = QtCore.Signal(int, str, str, str)  # (lane, field, text typed, what is allowed)
    add_requested = QtCore.Signal()
    remove_requested = QtCore.Signal(int)

    def __init__(self, spec: LaneFieldSpec, max_lanes: int = 8, parent=None) -> None:
        super().__init__(parent)
        self._spec = spec
        self._max_lanes = max_lanes
        self.rows: list[LaneRow] = []
        self._labels: list[str] = []
        self._diverged: list[tuple[int, str] | None] = []  # per row, the step its lane diverged at, and why
        self._rows_layout = QtWidgets.QVBoxLayout()
        self._rows_layout.setSpacing(4)
        self.add_button = QtWidgets.QPushButton("+ add lane")
        self.add_button.setToolTip("add a lane (from W = 0, on the same minibatches or exact gradient)")
        self.add_button.clicked.connect(self.add_requested.emit)
        press_on_enter(self.add_button)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(self._rows_layout)
        layout.addWidget(self.add_button)
        layout.addStretch(1)

    def set_lanes(self, lanes: list[dict[str, Any]], labels: list[str]) -> None:
        """Rebuild the rows for a new lane list (lanes are dicts of lane fields); none diverged yet
        (:meth:`set_diverged` says otherwise)."""
        self._diverged = []
        for row in self.rows:
            self._rows_layout.removeWidget(row)
            row.deleteLater()
        self.rows = []
        for index, values in enumerate(lanes):
            row = LaneRow(index, self._spec)
            row.set_values(values)
            row.field_changed.connect(lambda name, value, i=index: self.lane_changed.emit(i, name, value))
            row.entry_refused.connect(lambda *refusal, i=index: self.entry_refused.emit(i, *refusal))
            row.remove_clicked.connect(lambda i=index: self.remove_requested.emit(i))
            self._rows_layout.addWidget(row)
            self.rows.append(row)
        self.set_labels(labels)
        # rows made now came last in the window's Tab order, after the plots and the toolbar: Tab
        # went from the task's fields to "+ add lane", then through the window, then to lane 0
        # (Qt orders only widgets that take focus: the rows go in behind "+ add lane", which then
        # moves behind them)
        controls = [widget for row in self.rows for widget in row.tab_chain]
        _chain([self.add_button, *controls])
        _chain([controls[-1], self.add_button] if controls else [])
        self.add_button.setEnabled(len(lanes) < self._max_lanes)
        self.add_button.setToolTip(
            "add a lane" if len(lanes) < self._max_lanes else f"at most {self._max_lanes} lanes"
        )
        removable = len(lanes) > 1
        for row in self.rows:
            row.remove_button.setEnabled(removable)
            row.remove_button.setToolTip(
                "remove this lane" if removable else "the last lane cannot be removed: a run has at least one"
            )

    def recolour(self) -> None:
        """Each row's chip in its lane's colour now (a lane before it was removed: it keeps its own)."""
        for index, row in enumerate(self.rows):
            row.set_colour(lane_colour(index))

    def set_labels(self, labels: list[str]) -> None:
        """Each row titled by its lane's number and label: messages, markers and breakpoints name
        lanes by number ("lane 5: SGD → SignGD"), and five added lanes read alike by label."""
        self._labels = list(labels)
        self._show_titles()

    def set_diverged(self, divergences: list[tuple[int, str] | None]) -> None:
        """The step each lane diverged at and what went non-finite there (None: it has not), said in
        its row's title and tooltip: the lane's controls looked as live as the others' while it stood
        frozen."""
        if list(divergences) != self._diverged:
            self._diverged = list(divergences)
            self._show_titles()

    def _show_titles(self) -> None:
        for index, (row, label) in enumerate(zip(self.rows, self._labels, strict=False)):
            diverged = self._diverged[index] if index < len(self._diverged) else None
            if diverged is None:
                row.title.set_title(f"{index} · {label}")
                continue
            step, cause = diverged  # the step first: a long label is cut
            row.title.set_title(f"{index} · diverged at step {step} · {label}", f"diverged: {cause}")
