"""A line that answers a key press on the stage for a moment, then goes by itself.

On the stage the menus are hidden, so Ctrl+= at the largest scale a window holds changed nothing
and said nothing: the speaker could not tell a missed key from a full window. The note says what
the key did ("presentation scale 2× · this window holds 1.5×") for a couple of seconds; it floats
(see :mod:`top_overlay`), so no plot moves for it, and it never asks to be dismissed.
"""

from __future__ import annotations

from PySide6 import QtCore, QtGui, QtWidgets

from muonscope.widgets.theme import StageStyle

__all__ = ["SHOWN_MS", "PassingNote"]

#: How long a note stays: long enough to read a line of a few words twice.
SHOWN_MS = 2500


class PassingNote(QtWidgets.QLabel):
    """Hidden until :meth:`say`; each :meth:`say` shows its text for ``SHOWN_MS`` afresh."""

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
        self.setObjectName("passing_note")
        self.setAutoFillBackground(True)
        self.setMargin(6)
        self._timer = QtCore.QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self.hide)
        self.apply_style(StageStyle())
        self.hide()

    def say(self, text: str) -> None:
        """Show ``text`` now, replacing what was shown, and hide it ``SHOWN_MS`` later."""
        self.setText(text)
        self.show()
        self._timer.start(SHOWN_MS)

    def apply_style(self, style: StageStyle) -> None:
        """The stage's type size, in its colours the other way round, so it stands out from the plots."""
        font = QtGui.QFont(QtWidgets.QApplication.font())
        font.setPointSizeF(style.font_pt(font.pointSizeF()))
        self.setFont(font)
        palette = self.palette()
        colours = style.colours
        palette.setColor(QtGui.QPalette.ColorRole.Window, QtGui.QColor(colours.foreground))
        palette.setColor(QtGui.QPalette.ColorRole.WindowText, QtGui.QColor(colours.background))
        self.setPalette(palette)
