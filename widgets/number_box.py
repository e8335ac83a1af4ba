"""A number box that shows what the configuration holds, to the digit, without trailing zeros."""

from __future__ import annotations

from PySide6 import QtCore, QtGui, QtWidgets

from muonscope.widgets.number_text import number_text

__all__ = ["CompactDoubleSpinBox"]


class CompactDoubleSpinBox(QtWidgets.QDoubleSpinBox):
    """A spin box that shows 128 and 0.0003 alike without trailing zeros (format ``%g``).

    A number typed outside its range goes back to the value in force, as in any spin box, and is
    said: ``refused`` carries the text typed and the range (1e9 for a learning rate reverted in
    silence).
    """

    refused = QtCore.Signal(str, str)  # (text typed, what is allowed)

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

    def fixup(self, text: str) -> str:
        """Called on Enter or leaving the box with text that is not a value it takes."""
        try:
            float(text)
        except ValueError:
            return super().fixup(text)
        low, high = number_text(self.minimum(), 6), number_text(self.maximum(), 6)
        self.refused.emit(text, f"must be a number from {low} to {high}")
        return super().fixup(text)
