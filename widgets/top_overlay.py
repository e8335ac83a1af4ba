"""Float a transient line over the top of a panel instead of inserting it into the layout.

A line that comes and goes with the work it reports (a step that takes seconds shows it, the next
quick one hides it) would push the plots down and up again each time if it took a row of the
layout: a jump the eye follows and a recording keeps. Floating it over the top of its host, below
an anchor line that does take its row (the standing message), leaves every plot where it was.
"""

from __future__ import annotations

from PySide6 import QtCore, QtWidgets

__all__ = ["TopOverlay"]

_MARGIN_PX = 4
_WATCHED = frozenset(
    {
        QtCore.QEvent.Type.Resize,
        QtCore.QEvent.Type.Move,
        QtCore.QEvent.Type.Show,
        QtCore.QEvent.Type.Hide,
        QtCore.QEvent.Type.LayoutRequest,
    }
)


class TopOverlay(QtCore.QObject):
    """Keeps ``overlay`` over the top of ``host``, centred, at most ``max_width_px`` wide, just below
    ``below`` while that is visible (at the host's top otherwise), and above its siblings."""

    def __init__(
        self,
        overlay: QtWidgets.QWidget,
        host: QtWidgets.QWidget,
        below: QtWidgets.QWidget,
        max_width_px: int = 760,
    ) -> None:
        super().__init__(host)
        self._overlay = overlay
        self._host = host
        self._below = below
        self._max_width_px = max_width_px
        overlay.setParent(host)
        for watched in (host, below, overlay):
            watched.installEventFilter(self)
        self.place()

    def place(self) -> None:
        """Put the overlay where it belongs now (called on every resize, move, show or hide)."""
        host, overlay = self._host, self._overlay
        width = max(0, min(host.width() - 2 * _MARGIN_PX, self._max_width_px))
        top = self._below.geometry().bottom() + 1 + _MARGIN_PX if self._below.isVisible() else _MARGIN_PX
        overlay.setGeometry((host.width() - width) // 2, top, width, overlay.sizeHint().height())
        overlay.raise_()

    def eventFilter(self, watched: QtCore.QObject, event: QtCore.QEvent) -> bool:
        if event.type() in _WATCHED:
            self.place()
        return False
