"""Dots on a curve's measured points where its segments bridge steps that were not measured.

A metric taken every 20 steps drew a straight line from step 0 to step 20 that read as a steady
climb measured all along; a dot at each value shows where the curve was measured and where the
line only joins two measurements.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg

from muonscope.widgets.theme import stage_style

__all__ = ["MARKED_UP_TO", "mark_measured_points"]

#: Points a curve is dotted at most: more dots than this merge into a line of their own, and a
#: curve that dense is read as measured wherever it is drawn.
MARKED_UP_TO = 60
#: Diameter of a measured point's dot at scale 1 (a presentation's thicker lines get larger dots).
MEASURED_DOT_PX = 5


def mark_measured_points(curve: pg.PlotDataItem, steps: np.ndarray, hollow: bool = False) -> None:
    """Dot ``curve`` at its points (``steps``, increasing) where two of them lie more than a step apart
    and they are few; a dense or every-step curve is its line alone. ``hollow``: rings, for the
    second curve of a lane (panel ④'s dashed accuracy beside its solid items)."""
    steps = np.asarray(steps, dtype=float)
    spaced = 1 < steps.size <= MARKED_UP_TO and bool(np.any(np.diff(steps) > 1))
    if not spaced:
        if curve.opts["symbol"] is not None:
            curve.setSymbol(None)
        return
    colour, scale = pg.mkPen(curve.opts["pen"]).color(), stage_style().scale
    curve.setSymbol("o")
    curve.setSymbolSize(MEASURED_DOT_PX * scale)
    curve.setSymbolPen(pg.mkPen(colour, width=1.2 * scale) if hollow else None)
    curve.setSymbolBrush(None if hollow else pg.mkBrush(colour))
