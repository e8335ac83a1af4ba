"""A legend of lanes and theory guides: lanes side by side, each guide on a row of its own.

A guide's label ("guide: slope 1 + 1/(2α) = 1.33") is about twice as long as a lane's. Laid two to a
row like the lanes, the guides made the legend wider than a panel in half a 1280-pixel window and the
second one was cut at the window's edge; on a row of their own their labels run under both lane
columns, so the legend is as wide as its widest lane pair or its longest guide, whichever is more.
"""

from __future__ import annotations

import pyqtgraph as pg
from PySide6 import QtCore

__all__ = ["GUIDE_PREFIX", "GuideLegend", "guide_label"]

#: What a guide's legend entry starts with: it tells a theory line from a measured curve.
GUIDE_PREFIX = "guide: "


def guide_label(label: str) -> str:
    """The legend text of a theory guide."""
    return GUIDE_PREFIX + label


class GuideLegend(pg.LegendItem):
    """A ``pg.LegendItem`` that puts every entry whose text starts with :data:`GUIDE_PREFIX` on a
    row of its own, its label spanning the columns the lanes use."""

    def _addItemToLayout(self, sample, label) -> None:
        if not label.text.startswith(GUIDE_PREFIX):
            super()._addItemToLayout(sample, label)
            return
        row = self.layout.rowCount()
        self.layout.addItem(sample, row, 0, alignment=QtCore.Qt.AlignmentFlag.AlignVCenter)
        self.layout.addItem(label, row, 1, 1, max(2 * self.columnCount - 1, 1))
        self.rowCount = row + 1

    def fit_columns(self, width_px: float, most: int) -> int:
        """Lay the lanes in as many columns, up to ``most``, as keep the legend within ``width_px``
        (at least one); return how many."""
        for columns in range(max(most, 1), 0, -1):
            self.setColumnCount(columns)
            if self.layout.preferredWidth() <= width_px:
                break
        return self.columnCount

    def updateSize(self) -> None:
        """The legend's size from its layout (pyqtgraph's own sum counts a spanning label once per
        column it spans)."""
        if self.size is not None:
            return
        hint = self.layout.effectiveSizeHint(QtCore.Qt.SizeHint.PreferredSize)
        self.setGeometry(0, 0, hint.width(), hint.height())
