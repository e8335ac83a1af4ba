"""A legend of lanes and theory guides: lanes side by side, guides on rows of their own.

A guide's label ("guide: slope 1 + 1/(2α) = 1.33") is about twice as long as a lane's. Laid in the
lanes' columns, the guides made the legend wider than a panel in half a 1280-pixel window and the
second one was cut at the window's edge. On rows of their own their labels run under the lane
columns: side by side where the panel is wide enough, one to a row where it is not. Every legend row
is a row the plot above it loses (on a 1280×720 stage panel ④'s axis title shrank to "recov…").
"""

from __future__ import annotations

import math

import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from muonscope.widgets.lane_focus import lane_item, lane_of
from muonscope.widgets.theme import stage_style

__all__ = ["GUIDE_PREFIX", "GuideLegend", "folded_notes_text", "guide_label", "guide_pen"]

#: What a guide's legend entry starts with: it tells a theory line from a measured curve.
GUIDE_PREFIX = "guide: "


def guide_label(label: str) -> str:
    """The legend text of a theory guide."""
    return GUIDE_PREFIX + label


#: The guides' dashes, one per guide in turn: two guides of one dash read as one line in the legend.
_GUIDE_DASHES = (QtCore.Qt.PenStyle.DashLine, QtCore.Qt.PenStyle.DotLine, QtCore.Qt.PenStyle.DashDotLine)


#: No bound on a legend's height (Qt's own for "no maximum").
_ANY_HEIGHT_PX = 16_777_215


def guide_pen(index: int) -> QtGui.QPen:
    """Guide ``index``'s pen: the stage's muted colour at its scale, in a dash of its own."""
    style = stage_style()
    pen = pg.mkPen(
        style.colours.muted, width=1.5 * style.scale, style=_GUIDE_DASHES[index % len(_GUIDE_DASHES)]
    )
    pen.setCosmetic(True)
    return pen


class GuideLegend(pg.LegendItem):
    """A ``pg.LegendItem`` that puts the entries whose text starts with :data:`GUIDE_PREFIX` on rows
    of their own, ``guide_columns`` to a row, each label spanning its share of the lanes' columns."""

    guide_columns = 1
    _guide_row: int | None = None  # the row the next guide may join, None to start a new one
    _guides_in_row = 0
    _lane_entries: tuple = ()  # (item, text) of each lane, as set_entries was given them
    _guide_entries: tuple = ()  # (item, text) of each guide, its text starting with GUIDE_PREFIX
    _lanes_listed = False  # whether the lanes' entries are in the legend now
    _fitted_to: tuple[int, int] | None = None  # the (width, most height) last fitted to

    def set_entries(self, lanes: list[tuple[object, str]], guides: list[tuple[object, str]]) -> None:
        """The lanes' and the guides' (item, text) entries; :meth:`fit` lays them out."""
        self.clear()
        self._lane_entries, self._guide_entries = tuple(lanes), tuple(guides)
        self._fitted_to = None
        self._list(lanes=True)

    @property
    def lanes_folded(self) -> bool:
        """Whether the lanes' entries are left out (the legend would have been too tall with them)."""
        return bool(self._lane_entries) and not self._lanes_listed

    def fit(self, width_px: float, most_height_px: float) -> None:
        """Lay the entries out within ``width_px``; the lanes' entries stay only while the legend is
        at most ``most_height_px`` tall with them. Each legend row is a row the plot loses: six rows
        of long lane names left a 1280×720 window's plot 10 px tall, and a window names its lanes
        in the key above its panels, in the same colours."""
        room = (round(width_px), round(most_height_px))
        if room == self._fitted_to:
            return  # laid out for this room already: a resize its own rows caused changes nothing
        self._fitted_to = room
        self._list(lanes=True)
        self.fit_columns(width_px, len(self._lane_entries) or len(self._guide_entries))
        if self._lane_entries and self.layout.preferredHeight() > most_height_px:
            self._list(lanes=False)
            self.fit_columns(width_px, len(self._guide_entries))
        self.layout.activate()  # entries listed anew are placed now: a picture may be taken at once

    def _list(self, lanes: bool) -> None:
        """Put the lanes' entries (where ``lanes``) and the guides' in the legend, if not so already."""
        if lanes == self._lanes_listed and len(self.items) == self._listed_count(lanes):
            return
        super().clear()
        self._guide_row = None
        for item, text in (*(self._lane_entries if lanes else ()), *self._guide_entries):
            self.addItem(item, text)
            lane = lane_of(item)
            if lane is not None:  # a lane's sample is faint with its curve while another is in focus
                lane_item(self.items[-1][0], lane)
        self._lanes_listed = lanes

    def _listed_count(self, lanes: bool) -> int:
        return (len(self._lane_entries) if lanes else 0) + len(self._guide_entries)

    def _addItemToLayout(self, sample, label) -> None:
        if not label.text.startswith(GUIDE_PREFIX):
            super()._addItemToLayout(sample, label)
            self._guide_row = None
            return
        lane_columns = max(self.columnCount, 1)
        per_row = max(min(self.guide_columns, lane_columns), 1)
        if self._guide_row is None or self._guides_in_row >= per_row:
            self._guide_row, self._guides_in_row = self.layout.rowCount(), 0
        share = self._guides_in_row
        start = 2 * (share * lane_columns // per_row)  # grid columns: (sample, label) per lane column
        end = 2 * ((share + 1) * lane_columns // per_row)
        self.layout.addItem(sample, self._guide_row, start, alignment=QtCore.Qt.AlignmentFlag.AlignVCenter)
        self.layout.addItem(label, self._guide_row, start + 1, 1, max(end - start - 1, 1))
        self._guides_in_row += 1
        self.rowCount = self._guide_row + 1

    def take_row_while_listed(self, layout: QtWidgets.QGraphicsGridLayout, row: int) -> None:
        """Take room in the plot's ``layout`` at ``row`` only while the legend lists entries.

        Its own least height (its margins) outweighed the row's bound: an empty legend kept 18 blank
        pixels under ④'s step axis, and in a picture of the panel alone a band above the lanes' names.
        """
        empty = not self.items
        layout.setRowMaximumHeight(row, 0 if empty else 10_000)
        self.setMaximumHeight(0 if empty else _ANY_HEIGHT_PX)
        self.setVisible(not empty)
        layout.activate()  # the rows placed now: an export draws at once, before any event

    def clear(self) -> None:
        super().clear()
        self._guide_row = None
        self._lane_entries, self._guide_entries, self._lanes_listed = (), (), False
        self._fitted_to = None

    def set_columns(self, lane_columns: int, guide_columns: int) -> None:
        """Lay the entries out again: lanes ``lane_columns`` to a row, guides ``guide_columns``."""
        self.columnCount, self.guide_columns = max(lane_columns, 1), max(guide_columns, 1)
        for index in range(self.layout.count() - 1, -1, -1):
            self.layout.removeAt(index)
        self.rowCount, self._guide_row = 0, None
        for sample, label in self.items:
            self._addItemToLayout(sample, label)
        self.updateSize()

    def fit_columns(self, width_px: float, most: int) -> int:
        """Lay the legend out in the fewest rows that keep it within ``width_px``: lanes in up to
        ``most`` columns, guides side by side where they fit (the more lane columns of equals);
        one of each where nothing fits. Return how many lane columns."""
        lanes = sum(not label.text.startswith(GUIDE_PREFIX) for _sample, label in self.items)
        guides = len(self.items) - lanes
        best: tuple[int, int, int] | None = None  # (rows, lane columns, guide columns)
        for lane_columns in range(max(most, 1), 0, -1):
            for guide_columns in range(max(min(guides, lane_columns), 1), 0, -1):
                self.set_columns(lane_columns, guide_columns)
                if self.layout.preferredWidth() <= width_px:
                    rows = math.ceil(lanes / lane_columns) + math.ceil(guides / guide_columns)
                    if best is None or rows < best[0]:
                        best = (rows, lane_columns, guide_columns)
                    break  # fewer guides to a row only adds rows
        _rows, lane_columns, guide_columns = best or (0, 1, 1)
        self.set_columns(lane_columns, guide_columns)
        return self.columnCount

    def updateSize(self) -> None:
        """The legend's size from its layout (pyqtgraph's own sum counts a spanning label once per
        column it spans)."""
        if self.size is not None:
            return
        hint = self.layout.effectiveSizeHint(QtCore.Qt.SizeHint.PreferredSize)
        self.setGeometry(0, 0, hint.width(), hint.height())


def folded_notes_text(notes: list[tuple[str, str]]) -> str:
    """What a legend that left its lanes out says of them in one line: (label, note) pairs with
    notes of one kind ("fitted slope 1.60") share their words, "fitted slope: GD 0.68; Muon 1.60";
    others keep theirs, "GD: stopped early; Muon: 3 seeds"."""
    if not notes:
        return ""
    heads = {note.rpartition(" ")[0] for _label, note in notes}
    if len(heads) == 1 and (head := heads.pop()):
        return f"{head}: " + "; ".join(f"{label} {note.rpartition(' ')[2]}" for label, note in notes)
    return "; ".join(f"{label}: {note}" for label, note in notes)
