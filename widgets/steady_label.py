"""A word-wrapped label above the plots whose height does not follow every change of its text.

The captions and the lane key sit above the four panels. Text that comes and goes there (the note
that the settings left the preset's, a longer line after a change) changed the label's line count,
and every change of its height laid out and repainted all four panels below: a visible jump at each
toggle and about 30 ms of the toggle → paint time. So the label keeps the tallest height it has
needed at its width until told that what it shows has started over (a new preset, a new run), or
until its font changes (a presentation scale: heights held at 3× left wide gaps back at 1.5×).
"""

from __future__ import annotations

from PySide6 import QtCore, QtWidgets

__all__ = ["SteadyLabel"]

#: Widths remembered at once; a window dragged through many widths forgets the oldest.
_WIDTHS_KEPT = 32


class SteadyLabel(QtWidgets.QLabel):
    """A word-wrapped QLabel whose height only grows until :meth:`settle` or a new font."""

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWordWrap(True)
        self._tallest_px: dict[int, int] = {}  # width → the tallest height needed at it
        self._headroom_lines = 0

    def set_headroom_lines(self, lines: int) -> None:
        """Hold ``lines`` lines more than the text needs when it starts (at each width, until
        :meth:`settle`): on a stage the live caption wrapped once more partway through a recording,
        and the four panels jumped down 23 px for the rest of it."""
        if lines != self._headroom_lines:
            self._headroom_lines = lines
            self._tallest_px.clear()
            self.updateGeometry()

    def heightForWidth(self, width: int) -> int:
        needed = super().heightForWidth(width)
        first = needed + self._headroom_lines * self.fontMetrics().lineSpacing()
        held = max(needed, self._tallest_px.pop(width, first))
        self._tallest_px[width] = held  # most recently used last
        while len(self._tallest_px) > _WIDTHS_KEPT:
            del self._tallest_px[next(iter(self._tallest_px))]
        return held

    def changeEvent(self, event: QtCore.QEvent) -> None:
        if event.type() == QtCore.QEvent.Type.FontChange:
            self._tallest_px.clear()  # heights held at another font size say nothing about this one
        super().changeEvent(event)

    def settle(self) -> None:
        """Start over: what the label shows begins anew, so its height follows its text again."""
        self._tallest_px.clear()
        self.updateGeometry()
