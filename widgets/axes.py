"""Axes whose tick labels never run into each other.

pyqtgraph labels every minor tick of a log axis ("2·10¹ 3·10¹ 4·10¹ …"); on a panel a quarter of a
window wide, across two or more decades, those labels overlap into an unreadable run. Here the minor
ticks stay as marks and only the decades carry text, unless the axis spans less than a decade (then
the minor labels are all there is to read).
"""

from __future__ import annotations

import math

import pyqtgraph as pg

__all__ = ["DecadeAxis", "decade_axes"]


class DecadeAxis(pg.AxisItem):
    """A linear axis as pyqtgraph draws it; on a log axis, text at decades only."""

    def logTickValues(self, minVal, maxVal, size, stdTicks):
        """pyqtgraph's levels, with a decade level first whenever the range holds a decade.

        Given a wide axis pyqtgraph may choose only sub-decade spacings, which it drops on a log
        axis, leaving the minor level alone; the decades would then go unlabelled here.
        """
        levels = super().logTickValues(minVal, maxVal, size, stdTicks)
        if not any(spacing is not None and spacing >= 1.0 for spacing, _values in levels):
            decades = [float(v) for v in range(math.ceil(minVal), math.floor(maxVal) + 1)]
            if decades:
                levels.insert(0, (1.0, decades))
        return levels

    def logTickStrings(self, values, scale, spacing):
        low, high = self.range
        if spacing is None and abs(high - low) >= 1.0:
            return [""] * len(values)  # the minor level: marks without text
        return super().logTickStrings(values, scale, spacing)


def decade_axes() -> dict[str, DecadeAxis]:
    """Axis items for a PlotWidget's left and bottom sides (the two a plot shows by default)."""
    return {side: DecadeAxis(side) for side in ("left", "bottom")}
