"""A dismissable message line above the plots: engine failures, rejected edits, diverged lanes."""

from __future__ import annotations

from PySide6 import QtCore, QtWidgets

__all__ = ["MessageBar"]

_STYLES = {
    "error": "background: #fde2e1; color: #7a1010; border: 1px solid #e8a5a3;",
    "info": "background: #e6f0fa; color: #0c3c6b; border: 1px solid #a9c7e6;",
}


class MessageBar(QtWidgets.QFrame):
    """Shows one message at a time until dismissed or replaced."""

    dismissed = QtCore.Signal()

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.label = QtWidgets.QLabel()
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        close = QtWidgets.QToolButton()
        close.setText("✕")
        close.setToolTip("dismiss")
        close.clicked.connect(self.dismiss)
        layout = QtWidgets.QHBoxLayout(self)
        layout.setContentsMargins(8, 4, 4, 4)
        layout.addWidget(self.label, 1)
        layout.addWidget(close)
        self.hide()

    @property
    def text(self) -> str:
        return self.label.text() if self.isVisible() else ""

    def show_message(self, text: str, level: str = "error") -> None:
        self.setStyleSheet(_STYLES[level])
        self.label.setText(text)
        self.show()

    def dismiss(self) -> None:
        self.hide()
        self.dismissed.emit()
