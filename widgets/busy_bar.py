"""A line above the plots while a long computation runs: what it is, for how long, and a Cancel button."""

from __future__ import annotations

from PySide6 import QtCore, QtWidgets

from muonscope.widgets.enter_key import press_on_enter
from muonscope.widgets.time_text import elapsed_text

__all__ = ["BusyBar"]

_STYLE = "BusyBar { background: #fff4d6; border: 1px solid #e0c46c; } QLabel { color: #5a4300; }"


class BusyBar(QtWidgets.QFrame):
    """Hidden until :meth:`show_busy`; Cancel emits ``cancel_requested`` once and waits for the end."""

    cancel_requested = QtCore.Signal()

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("busy")
        self.setStyleSheet(_STYLE)
        self.label = QtWidgets.QLabel()
        self.activity = QtWidgets.QProgressBar()
        self.activity.setRange(0, 0)  # no known end: a moving bar says the work goes on
        self.activity.setTextVisible(False)
        self.activity.setFixedSize(120, 12)
        self.cancel_button = QtWidgets.QPushButton("Cancel")
        self.cancel_button.clicked.connect(self._on_cancel)
        press_on_enter(self.cancel_button)
        layout = QtWidgets.QHBoxLayout(self)
        layout.setContentsMargins(8, 3, 4, 3)
        layout.addWidget(self.activity)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.cancel_button)
        self._cancelling = False
        self.hide()

    @property
    def text(self) -> str:
        """What the bar says ("" while hidden)."""
        return self.label.text() if self.isVisible() else ""

    @property
    def cancelling(self) -> bool:
        """True from a Cancel click until the work ends."""
        return self._cancelling

    def show_busy(self, what: str, elapsed_s: float, cancel_means: str | None = None) -> None:
        """``what`` has run for ``elapsed_s`` seconds: "computing step 1 · 12 s".

        ``cancel_means``: what Cancel would do (its tooltip); None hides Cancel, for work that cannot
        be stopped part-way (building a run, saving).
        """
        suffix = " · cancelling…" if self._cancelling else ""
        self.label.setText(f"{what} · {elapsed_text(elapsed_s)}{suffix}")
        self.cancel_button.setVisible(cancel_means is not None)
        self.cancel_button.setToolTip(cancel_means or "")
        self.cancel_button.setEnabled(not self._cancelling)
        self.show()

    def done(self) -> None:
        """The work ended (finished or cancelled): hide, ready for the next."""
        self._cancelling = False
        self.cancel_button.setEnabled(True)
        self.hide()

    def _on_cancel(self) -> None:
        if self._cancelling:
            return
        self._cancelling = True
        self.cancel_button.setEnabled(False)
        self.label.setText(self.label.text() + " · cancelling…")
        self.cancel_requested.emit()
