"""A status bar whose temporary message never runs under its permanent fields."""

from __future__ import annotations

from PySide6 import QtCore, QtWidgets

__all__ = ["ElidingStatusBar"]

#: Room kept between the message's end and the first permanent field.
_GAP_PX = 16


class ElidingStatusBar(QtWidgets.QStatusBar):
    """A long message ends in "…" before the step counter and the other fields on the right, with the
    whole text on hover ("Not opened: …/tensors.safetensors: is not a readable safetensors file
    (Error while deserializing header: incomplete metadata, fil" was cut off under "step 120").

    :meth:`currentMessage` still answers the whole text, so a caller that takes its own message
    away again (comparing it with what it showed) finds it.
    """

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self._shown = ("", "")  # (the text drawn, the text given)
        self.messageChanged.connect(self._forget_when_cleared)

    def showMessage(self, text: str, timeout: int = 0) -> None:
        drawn = self._elided(text)
        self._shown = (drawn, text)
        self.setToolTip(text if drawn != text else "")
        super().showMessage(drawn, timeout)

    def currentMessage(self) -> str:
        drawn = super().currentMessage()
        return self._shown[1] if drawn and drawn == self._shown[0] else drawn

    @property
    def drawn_message(self) -> str:
        """The message as drawn: whole, or cut with "…" where it would reach the permanent fields."""
        return super().currentMessage()

    def _forget_when_cleared(self, text: str) -> None:
        if not text:
            self._shown = ("", "")
            self.setToolTip("")

    def _elided(self, text: str) -> str:
        fields = [
            child
            for child in self.findChildren(
                QtWidgets.QWidget, options=QtCore.Qt.FindChildOption.FindDirectChildrenOnly
            )
            if child.isVisible() and child.x() > 0
        ]
        right = min((field.x() for field in fields), default=self.width())
        room = max(right - _GAP_PX - self.contentsMargins().left(), 40)
        return self.fontMetrics().elidedText(text, QtCore.Qt.TextElideMode.ElideRight, room)
