"""A panel's title: whole where its header has room, else its head kept and the rest cut with "…".

A QLabel squeezed below its text's width clips the text where the next widget begins: on a 1280-pixel
stage the spiked preset's spectra title read "… dotted: G_si" under a mode box, a cut word with no
mark. This label draws what fits, ending in "…", never narrower than the title's head ("① spectra
σ_k", the part before " — " or " · "), and keeps the whole title in its tooltip.
"""

from __future__ import annotations

import re

from PySide6 import QtCore, QtGui, QtWidgets

__all__ = ["TitleLabel", "title_head"]

#: Pixels of slack beside the text, so that a title at exactly its width is not cut by rounding.
_SLACK_PX = 4


def title_head(title: str) -> str:
    """The part of a title that always shows: what comes before " — " or " · "."""
    return re.split(" — | · ", title, maxsplit=1)[0]


class TitleLabel(QtWidgets.QLabel):
    """A bold, one-line, plain-text title that elides to its width."""

    def __init__(self, title: str = "", parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setTextFormat(QtCore.Qt.TextFormat.PlainText)
        self._full = ""
        self._embolden()
        self.set_title(title)

    def set_title(self, title: str, more: str = "") -> None:
        """``more``: said under the title in its tooltip only (a diverged lane's cause)."""
        self._full = title
        self.setToolTip(f"{title}\n{more}" if more else title)
        self.updateGeometry()
        self._show_what_fits()

    @property
    def full_title(self) -> str:
        return self._full

    @property
    def shown_title(self) -> str:
        """The title as drawn ("…" where it is cut)."""
        return self.text()

    def sizeHint(self) -> QtCore.QSize:
        return QtCore.QSize(self._width_of(self._full), super().sizeHint().height())

    def minimumSizeHint(self) -> QtCore.QSize:
        return QtCore.QSize(self._width_of(title_head(self._full)), super().minimumSizeHint().height())

    def resizeEvent(self, event: QtGui.QResizeEvent) -> None:
        super().resizeEvent(event)
        self._show_what_fits()

    def changeEvent(self, event: QtCore.QEvent) -> None:
        super().changeEvent(event)
        if event.type() == QtCore.QEvent.Type.FontChange:
            if not self.font().bold():
                self._embolden()  # a new size from the stage's style; titles stay bold
                return
            self.updateGeometry()
            self._show_what_fits()

    def _embolden(self) -> None:
        font = QtGui.QFont(self.font())
        font.setBold(True)
        self.setFont(font)

    def _width_of(self, text: str) -> int:
        margins = self.contentsMargins()
        return self.fontMetrics().horizontalAdvance(text) + margins.left() + margins.right() + _SLACK_PX

    def _show_what_fits(self) -> None:
        room = self.contentsRect().width()
        whole = self.fontMetrics().horizontalAdvance(self._full) <= room
        shown = (
            self._full
            if whole
            else self.fontMetrics().elidedText(self._full, QtCore.Qt.TextElideMode.ElideRight, room)
        )
        if shown != self.text():
            self.setText(shown)
