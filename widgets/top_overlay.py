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
        """Put the overlay where it belongs now (on a resize, move, show or hide while it is shown:
        the captions under it ask for a layout at every frame, and a hidden line needs no place)."""
        host, overlay = self._host, self._overlay
        if not overlay.isVisible():
            return
        # a line longer than the cap (a stage note at 2.5×) takes what it needs, up to the host's width:
        # held to the cap, "presentation scale 2.5× · this window holds 2×" lost both its ends
        wanted = max(self._max_width_px, overlay.sizeHint().width())
        width = max(0, min(host.width() - 2 * _MARGIN_PX, wanted))
        top = self._below.geometry().bottom() + 1 + _MARGIN_PX if self._below.isVisible() else _MARGIN_PX
        overlay.setGeometry((host.width() - width) // 2, top, width, overlay.sizeHint().height())

    def eventFilter(self, watched: QtCore.QObject, event: QtCore.QEvent) -> bool:
        if watched is self._overlay and event.type() == QtCore.QEvent.Type.Show:
            self._overlay.raise_()  # above the captions it floats over, each time it comes
        if event.type() in _WATCHED:
            self.place()
        return False
