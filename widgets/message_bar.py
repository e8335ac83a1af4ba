"""A dismissable message line above the plots: engine failures, rejected edits, diverged lanes."""

from __future__ import annotations

from PySide6 import QtCore, QtGui, QtWidgets

from muonscope.widgets.enter_key import press_on_enter
from muonscope.widgets.theme import StageStyle

__all__ = ["MessageBar"]

_STYLES = {
    "error": "background: #fde2e1; color: #7a1010; border: 1px solid #e8a5a3;",
    "info": "background: #e6f0fa; color: #0c3c6b; border: 1px solid #a9c7e6;",
}
#: On a dark stage: the same hues, dark, with light text (the light bar glared on a dark projector).
_DARK_STYLES = {
    "error": "background: #3b1615; color: #ffd9d6; border: 1px solid #8c3b38;",
    "info": "background: #132b44; color: #d9e9fa; border: 1px solid #3f6c9b;",
}


class MessageBar(QtWidgets.QFrame):
    """Shows one message at a time until dismissed, replaced or withdrawn.

    Each message gets a number, so whoever showed it can take it back later (when what it says is
    no longer true) without removing a newer message that has replaced it.
    """

    dismissed = QtCore.Signal()

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.label = QtWidgets.QLabel()
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        self._close = close = QtWidgets.QToolButton()
        close.setText("✕")
        close.setToolTip("dismiss")
        close.clicked.connect(self.dismiss)
        close.setAccessibleName("dismiss the message")
        press_on_enter(close)
        layout = QtWidgets.QHBoxLayout(self)
        layout.setContentsMargins(8, 4, 4, 4)
        layout.addWidget(self.label, 1)
        layout.addWidget(close)
        self._number = 0
        self._level = ""
        self._styles = _STYLES
        self.hide()

    @property
    def text(self) -> str:
        return self.label.text() if self.isVisible() else ""

    @property
    def level(self) -> str:
        """How the message on show is styled: "error" or "info" ("" when none is)."""
        return self._level if self.isVisible() else ""

    def show_message(self, text: str, level: str = "error") -> int:
        """Show ``text`` (``level`` "error" or "info"); returns its number for :meth:`withdraw`."""
        self._level = level
        self.setStyleSheet(self._styles[level])
        self.label.setText(text)
        self.show()
        self._number += 1
        return self._number

    def withdraw(self, number: int) -> bool:
        """Hide message ``number`` if it is still on show; True if it was."""
        if number != self._number or self.isHidden():
            return False
        self.hide()
        return True

    def apply_style(self, style: StageStyle) -> None:
        """Text at the stage's scale (a message at the desk's size was unreadable on a 3× stage), in
        its theme's colours."""
        font = QtGui.QFont(QtWidgets.QApplication.font())
        font.setPointSizeF(style.font_pt(font.pointSizeF()))
        for widget in (self.label, self._close):
            widget.setFont(font)
        self._styles = _DARK_STYLES if style.theme == "dark" else _STYLES
        if self._level:
            self.setStyleSheet(self._styles[self._level])

    @property
    def colours(self) -> tuple[str, str]:
        """(background, text) of the message bar as styled now."""
        sheet = dict(part.strip().split(": ", 1) for part in self.styleSheet().split(";") if part.strip())
        return sheet.get("background", ""), sheet.get("color", "")

    def dismiss(self) -> None:
        self.hide()
        self.dismissed.emit()
