"""A number box that shows what the configuration holds, to the digit, without trailing zeros."""

from __future__ import annotations

from PySide6 import QtGui, QtWidgets

__all__ = ["CompactDoubleSpinBox"]


class CompactDoubleSpinBox(QtWidgets.QDoubleSpinBox):
    """A spin box that shows 128 and 0.0003 alike without trailing zeros (format ``%g``)."""

    def textFromValue(self, value: float) -> str:
        return f"{value:.6g}"

    def valueFromText(self, text: str) -> float:
        try:
            return float(text)
        except ValueError:
            return self.value()

    def validate(self, text: str, pos: int):
        try:
            float(text)
        except ValueError:
            partial = text in ("", "-", ".", "e") or text.endswith(("e", "e-", "."))
            state = QtGui.QValidator.State.Intermediate if partial else QtGui.QValidator.State.Invalid
            return state, text, pos
        value = float(text)
        ok = self.minimum() <= value <= self.maximum()
        return (QtGui.QValidator.State.Acceptable if ok else QtGui.QValidator.State.Intermediate), text, pos
