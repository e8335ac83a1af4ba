"""Number boxes that show what the configuration holds, to the digit, and say why they refuse a value."""

from __future__ import annotations

from decimal import Decimal

from PySide6 import QtCore, QtGui, QtWidgets

__all__ = ["BOX_DECIMALS", "CompactDoubleSpinBox", "CompactSpinBox"]

#: Decimals a floating-point box keeps: a learning rate of 10⁻⁹ or a μ of 0.9995 is held as it is,
#: not rounded to 0 or refused as above 0.999 (an open bound such as μ < 1 steps in by one unit).
BOX_DECIMALS = 12
#: A box is as wide as this number needs, whatever its bounds: 1 − 10⁻¹² need not widen a column.
_TYPICAL_TEXT = "0.000001"


class CompactDoubleSpinBox(QtWidgets.QDoubleSpinBox):
    """A spin box that shows 128, 0.0003 and 0.9995 alike: the value to the digits it holds, with no
    trailing zeros.

    A number typed outside its range goes back to the value in force, as in any spin box, and is
    said: ``refused`` carries the text typed and the range (1e9 for a learning rate reverted in
    silence).
    """

    refused = QtCore.Signal(str, str)  # (text typed, what is allowed)

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setDecimals(BOX_DECIMALS)
        self.valueChanged.connect(self.updateGeometry)  # a longer value asks for the room to show it

    def textFromValue(self, value: float) -> str:
        """Plain digits, as the lane key and the messages write the value ("0.000000001", not the
        "1e-09" of Python's ``g``): the box holds at most BOX_DECIMALS of them."""
        text = f"{Decimal(repr(round(value, self.decimals()))):f}"  # the shortest digits that give it back
        return text.rstrip("0").rstrip(".") if "." in text else text

    def valueFromText(self, text: str) -> float:
        try:
            return float(text)
        except ValueError:
            return self.value()

    def validate(self, text: str, pos: int):
        """Any text stays as typed until Enter: a key dropped as it was typed (the "e" of 1e12, the
        "." of 12.5 in a whole-number box) made another number (112, 125) that was then applied."""
        try:
            value = float(text)
        except ValueError:
            return QtGui.QValidator.State.Intermediate, text, pos
        ok = self.minimum() <= value <= self.maximum() and not self._reads_as_zero(text)
        return (QtGui.QValidator.State.Acceptable if ok else QtGui.QValidator.State.Intermediate), text, pos

    def fixup(self, text: str) -> str:
        """Called on Enter or leaving the box with text that is not a value it takes: refused, said."""
        if text.strip() not in ("", self.textFromValue(self.value())):
            # the bounds to the digit the box holds: μ < 1 read "from 0 to 1" beside 0.9999999999999 refused
            low, high = self.textFromValue(self.minimum()), self.textFromValue(self.maximum())
            allowed = f"must be a number from {low} to {high}"
            if self._reads_as_zero(text):
                least = f"{10.0 ** -self.decimals():g}"  # as it can be typed
                allowed = f"must be 0 or at least {least} in size (the box holds {self.decimals()} decimals)"
            self.refused.emit(text.strip(), allowed)
            return self.textFromValue(self.value())  # the value in force, not one made of the refused text
        return super().fixup(text)

    def _reads_as_zero(self, text: str) -> bool:
        """A number written with nonzero digits that the box would hold as 0 (1e-400, or 10⁻¹³ at 12
        decimals): a learning rate typed that small became 0, a lane that never moves, unsaid."""
        try:
            value = float(text)
        except ValueError:
            return False
        digits = text.strip().lower().split("e")[0]
        return round(value, self.decimals()) == 0 and any(d in digits for d in "123456789")

    def sizeHint(self) -> QtCore.QSize:
        return self._typical(super().sizeHint())

    def minimumSizeHint(self) -> QtCore.QSize:
        return self._typical(super().minimumSizeHint())

    def _typical(self, hint: QtCore.QSize) -> QtCore.QSize:
        """Qt sizes a box for its bounds' text; 0.999999999999 made the μ column twice as wide. The
        box asks for room for a typical number or the value it holds, whichever is longer (a
        learning rate of 0.0243685 showed as "0.02436")."""
        metrics = self.fontMetrics()
        bounds = (self.minimum(), self.maximum())
        widest = max(metrics.horizontalAdvance(self.textFromValue(bound)) for bound in bounds)
        needed = max(metrics.horizontalAdvance(text) for text in (_TYPICAL_TEXT, self.text()))
        return QtCore.QSize(hint.width() - (widest - needed), hint.height())


class CompactSpinBox(QtWidgets.QSpinBox):
    """A whole-number box that takes any whole number typed and says when it refuses one.

    Qt's box dropped the keys that would leave its range as they were typed: 100000 typed into
    d (at most 16384) became 10000 and was staged, −5 became 5, and 1 for N went back in silence.
    Here the text stays as typed until Enter; a number outside the range then goes back to the
    value in force and ``refused`` carries the text and the range.
    """

    refused = QtCore.Signal(str, str)  # (text typed, what is allowed)

    def validate(self, text: str, pos: int):
        """Any text stays as typed until Enter: a key dropped as it was typed (the "e" of 1e12, the
        "." of 12.5 in a whole-number box) made another number (112, 125) that was then applied."""
        try:
            value = int(text.strip())
        except ValueError:
            return QtGui.QValidator.State.Intermediate, text, pos
        ok = self.minimum() <= value <= self.maximum()
        return (QtGui.QValidator.State.Acceptable if ok else QtGui.QValidator.State.Intermediate), text, pos

    def fixup(self, text: str) -> str:
        """Called on Enter or leaving the box with text that is not a value it takes: refused, said."""
        if text.strip() not in ("", str(self.value())):
            # the bounds exact (a seed's 2147483647 read "2.14748·10⁹", which no one can type)
            self.refused.emit(text.strip(), f"must be an integer from {self.minimum()} to {self.maximum()}")
            return str(self.value())  # Qt's own fixup made "1,000" the 1000 just refused, and took it
        return super().fixup(text)
