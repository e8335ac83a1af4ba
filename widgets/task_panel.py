"""The task form: live fields apply at the next step; the rest are staged until "apply & restart"."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from PySide6 import QtCore, QtWidgets

from muonscope.widgets.enter_key import press_on_enter
from muonscope.widgets.keyed_combo import KeyedCombo
from muonscope.widgets.keyed_slider import KeyedSlider
from muonscope.widgets.number_box import BOX_DECIMALS, CompactDoubleSpinBox, CompactSpinBox
from muonscope.widgets.number_text import number_text
from muonscope.widgets.wheel_guard import guard_wheel

__all__ = ["TaskFieldSpec", "TaskPanel", "typed_numbers"]


#: What the ⚡ beside a field's name means, in its tooltip.
_LIVE_NOTE = " (⚡: changes between steps, without a restart)"


@dataclass(frozen=True)
class TaskFieldSpec:
    """One task field as the application describes it (widgets know no engine)."""

    name: str
    label: str
    kind: str  # "int" | "float" | "choice" | "floats" | "slider"
    lo: float = 0.0
    hi: float = 1.0
    decimals: int = BOX_DECIMALS  # what the box keeps: a configured 0.9999 stays 0.9999, and is shown so
    choices: tuple[str, ...] = ()
    tooltip: str = ""
    lo_open: bool = False  # "floats": each number above lo, not from it
    max_len: int = 0  # "floats": at most this many numbers (0: no bound)
    max_len_words: str = ""  # "floats": a tighter bound other fields set, in words ("min(rows, cols)")


class TaskPanel(QtWidgets.QWidget):
    """A form over the task fields.

    Live fields emit ``live_changed`` as soon as an edit is complete (for the slider: on release).
    Other fields collect into a staged set; ``restart_requested`` carries them when the user
    presses "apply & restart".
    """

    live_changed = QtCore.Signal(str, object)
    staged_changed = QtCore.Signal(str, object)  # a field edited (staged, or back to the value in force)
    restart_requested = QtCore.Signal(dict)
    entry_refused = QtCore.Signal(str, str, str)  # (field, text typed, what is allowed): said in the window

    def __init__(self, fields: list[TaskFieldSpec], parent=None) -> None:
        super().__init__(parent)
        self._specs = {spec.name: spec for spec in fields}
        self._live: set[str] = set()
        self._staged: dict[str, Any] = {}
        self._in_force: dict[str, Any] = {}  # the values of the task running, as last shown
        self._list_texts: dict[str, str] = {}  # "floats" field → the text of the list in force
        self._entry_check: Callable[[str, Any], bool] = lambda _name, _value: True
        self.editors: dict[str, QtWidgets.QWidget] = {}
        self._labels: dict[str, QtWidgets.QLabel] = {}
        form = QtWidgets.QFormLayout()
        form.setFieldGrowthPolicy(QtWidgets.QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        for spec in fields:
            editor = self._editor(spec)
            label = QtWidgets.QLabel(spec.label)
            label.setToolTip(spec.tooltip)
            form.addRow(label, editor)
            named = getattr(editor, "slider", editor)  # a slider's holder is no control of its own
            named.setAccessibleName(spec.label)  # a screen reader said "spin box" for d, N, α, κ and B
            named.setAccessibleDescription(spec.tooltip)
            self.editors[spec.name] = editor
            self._labels[spec.name] = label
        self.apply_button = QtWidgets.QPushButton("apply && restart")
        self.apply_button.setToolTip("these fields change the task itself: the run restarts from W = 0")
        self.apply_button.setEnabled(False)
        self.apply_button.clicked.connect(self._on_apply)
        press_on_enter(self.apply_button)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(form)
        layout.addWidget(self.apply_button)

    # ---- building ----------------------------------------------------------------------------

    def _editor(self, spec: TaskFieldSpec) -> QtWidgets.QWidget:
        if spec.kind == "choice":
            box = KeyedCombo()
            box.addItems(list(spec.choices))
            box.activated.connect(lambda _i, n=spec.name, b=box: self._edited(n, b.currentText()))
            guard_wheel(box)
            return box
        if spec.kind == "int":
            box = CompactSpinBox()
            box.setRange(int(spec.lo), int(spec.hi))
            box.setKeyboardTracking(False)
            box.valueChanged.connect(lambda v, n=spec.name: self._edited(n, v))
            box.refused.connect(lambda text, allowed, n=spec.name: self.entry_refused.emit(n, text, allowed))
            guard_wheel(box)
            return box
        if spec.kind == "float":
            box = CompactDoubleSpinBox()
            box.setDecimals(spec.decimals)
            box.setRange(spec.lo, spec.hi)
            box.setStepType(QtWidgets.QAbstractSpinBox.StepType.AdaptiveDecimalStepType)
            box.setKeyboardTracking(False)
            box.valueChanged.connect(lambda v, n=spec.name: self._edited(n, v))
            box.refused.connect(lambda text, allowed, n=spec.name: self.entry_refused.emit(n, text, allowed))
            guard_wheel(box)
            return box
        if spec.kind == "floats":
            line = QtWidgets.QLineEdit()
            line.setPlaceholderText("comma-separated, e.g. 12, 8, 5")
            line.editingFinished.connect(lambda n=spec.name, e=line: self._edited_list(n, e))
            return line
        return self._slider(spec)

    def _slider(self, spec: TaskFieldSpec) -> QtWidgets.QWidget:
        """A slider in hundredths with its value shown; emits once the handle is released."""
        holder = QtWidgets.QWidget()
        slider = KeyedSlider(QtCore.Qt.Orientation.Horizontal)
        slider.setObjectName(f"{spec.name}_slider")
        slider.setRange(round(spec.lo * 100), round(spec.hi * 100))
        guard_wheel(slider)
        value = QtWidgets.QLabel("0.00")
        value.setMinimumWidth(36)
        slider.valueChanged.connect(lambda v: value.setText(_slider_text(v / 100)))
        slider.valueChanged.connect(
            lambda v, s=slider, n=spec.name: None if s.isSliderDown() else self._edited(n, v / 100)
        )
        slider.sliderReleased.connect(lambda s=slider, n=spec.name: self._edited(n, s.value() / 100))
        layout = QtWidgets.QHBoxLayout(holder)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(slider, 1)
        layout.addWidget(value)
        holder.slider = slider
        holder.value_label = value
        return holder

    # ---- state -------------------------------------------------------------------------------

    def set_values(self, values: dict[str, Any], keep_staged: bool = False) -> None:
        """Show a task's values (no signals); staged edits are dropped unless ``keep_staged``."""
        self._in_force.update((name, value) for name, value in values.items() if name in self.editors)
        for name, editor in self.editors.items():
            if name not in values or (keep_staged and name in self._staged):
                continue
            value = values[name]
            target = editor.slider if hasattr(editor, "slider") else editor
            with QtCore.QSignalBlocker(target):
                if isinstance(editor, QtWidgets.QComboBox):
                    editor.setCurrentText(str(value))
                elif isinstance(editor, QtWidgets.QLineEdit):
                    editor.setText(_list_text(value))
                    self._list_texts[name] = editor.text()
                elif hasattr(editor, "slider"):
                    editor.slider.setValue(round(value * 100))
                    editor.value_label.setText(_slider_text(value))
                else:
                    editor.setValue(value)
        if keep_staged:
            return
        self._staged.clear()
        self.apply_button.setEnabled(False)
        self.apply_button.setText("apply && restart")

    def set_field_states(self, states: dict[str, tuple[bool, bool, str]], live: set[str]) -> None:
        """Per field (visible, enabled, reason when disabled), and which fields apply live."""
        self._live = set(live)
        for name, (visible, enabled, reason) in states.items():
            editor, label = self.editors[name], self._labels[name]
            editor.setVisible(visible)
            label.setVisible(visible)
            editor.setEnabled(enabled)
            tip = self._specs[name].tooltip
            if name in self._live:
                tip += _LIVE_NOTE
            editor.setToolTip(tip if enabled else reason)
            label.setText(self._specs[name].label + (" ⚡" if name in self._live else ""))
            label.setToolTip(_LIVE_NOTE.strip() if name in self._live else "")

    def set_choice_states(self, name: str, disabled: dict[str, str]) -> None:
        """Disable some choices of a combo field, each with the reason as its tooltip."""
        combo = self.editors[name]
        model = combo.model()
        for row in range(combo.count()):
            reason = disabled.get(combo.itemText(row), "")
            model.item(row).setEnabled(not reason)
            combo.setItemData(row, reason or None, QtCore.Qt.ItemDataRole.ToolTipRole)

    def stage(self, values: dict[str, Any]) -> None:
        """Show and stage several values at once (e.g. the defaults of a newly chosen kind)."""
        current = dict(self._staged)
        self.set_values(values)
        current.update(values)
        self._staged = current
        self._show_apply()

    @property
    def staged(self) -> dict[str, Any]:
        return dict(self._staged)

    def set_entry_check(self, allowed: Callable[[str, Any], bool]) -> None:
        """What a list entered must also pass, beside its own field's rule: a bound other fields set
        (a spiked stream holds at most min(rows, cols) strengths), checked with the edits staged."""
        self._entry_check = allowed

    def _edited(self, name: str, value: Any) -> None:
        if name in self._live:
            self.live_changed.emit(name, value)
            return
        if name in self._in_force and _same_value(value, self._in_force[name]):
            # typed back to the value in force: nothing to restart for ("apply" stayed armed, and
            # pressing it restarted from W = 0 with nothing changed)
            self._staged.pop(name, None)
        else:
            self._staged[name] = value
        self._show_apply()
        self.staged_changed.emit(name, value)

    def _show_apply(self) -> None:
        count = len(self._staged)
        self.apply_button.setEnabled(bool(count))
        self.apply_button.setText(
            f"apply && restart ({count} change{'s' if count > 1 else ''})" if count else "apply && restart"
        )

    def _edited_list(self, name: str, line: QtWidgets.QLineEdit) -> None:
        """A list typed and entered: taken when every number is one the field takes, else refused on
        the spot and the list in force shown again, as a spin box does with a number out of range
        (the text stayed, and "apply" stayed armed, until the restart refused it)."""
        text = line.text()
        if text == self._list_texts.get(name):
            return  # focus left without an edit
        values, allowed = _list_values(text, self._specs[name])
        if values is None or not self._entry_check(name, values):
            line.setText(self._list_texts.get(name, ""))
            self.entry_refused.emit(name, text.strip(), allowed)
            return
        line.setText(_list_text(values))  # "12;8;5" shown as every list is: "12, 8, 5"
        if line.text() == self._list_texts.get(name):
            return  # the list already shown, typed again
        self._list_texts[name] = line.text()
        self._edited(name, values)

    def _on_apply(self) -> None:
        if self._staged:
            self.restart_requested.emit(dict(self._staged))


def _same_value(shown: Any, in_force: Any) -> bool:
    """Whether a value typed is the one in force (a list as numbers, "12, 8, 5" as (12, 8, 5))."""
    as_list = lambda value: list(value) if isinstance(value, list | tuple) else value  # noqa: E731
    return as_list(shown) == as_list(in_force)


def _slider_text(value: float) -> str:
    """A slider's value in hundredths ("0.21"), or in full when the configuration holds a finer one
    ("0.995"): the handle can only stand on a hundredth, the label says what is in force."""
    if abs(value * 100 - round(value * 100)) < 1e-9:
        return f"{value:.2f}"
    return f"{value:.6g}"


def _list_text(values: Sequence[float]) -> str:
    """A list as the field shows it: each number in the fewest digits that read back as it, so that
    two lists read alike only where they are the same (12.0000001 is not shown as 12)."""
    return ", ".join(repr(float(v)).removesuffix(".0") for v in values)


def typed_numbers(text: str) -> list[float] | None:
    """A list typed as numbers separated by commas (or semicolons), or None where a part is not one:
    an empty part too ("1,,2" was taken as 1, 2, a number lost to a slip unsaid)."""
    if not text.strip():
        return []
    try:
        return [float(part) for part in text.replace(";", ",").split(",")]
    except ValueError:
        return None


def _list_values(text: str, spec: TaskFieldSpec) -> tuple[list[float] | None, str]:
    """The numbers of a comma-separated list, or None when one of them is not one ``spec`` takes;
    and what the field takes, in words."""
    above = "above" if spec.lo_open else "from"
    below = f" and at most {number_text(spec.hi)}" if math.isfinite(spec.hi) else ""
    allowed = f"must be numbers {above} {number_text(spec.lo)}{below} separated by commas, e.g. 12, 8, 5"
    if spec.max_len:
        allowed += f"; at most {spec.max_len_words or spec.max_len} of them"
    values = typed_numbers(text)
    if values is None:
        return None, allowed
    too_low = (lambda v: v <= spec.lo) if spec.lo_open else (lambda v: v < spec.lo)
    if not values or (spec.max_len and len(values) > spec.max_len):
        return None, allowed
    if any(not math.isfinite(v) or too_low(v) or v > spec.hi for v in values):
        return None, allowed
    return values, allowed
