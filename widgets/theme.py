"""Colours, pens and global pyqtgraph options shared by every view.

Lane colours are the Okabe–Ito palette, readable with the common forms of colour blindness; a lane
keeps its colour in every panel. Line styles, not colours, tell the matrices of one lane apart.
"""

from __future__ import annotations

import pyqtgraph as pg
from PySide6 import QtCore, QtGui

__all__ = ["LANE_COLOURS", "STYLE_BY_NAME", "configure_pyqtgraph", "lane_colour", "lane_pen"]

#: Okabe & Ito (2008), reordered so that the first four lanes are the most distinct.
LANE_COLOURS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442")

STYLE_BY_NAME = {
    "solid": QtCore.Qt.PenStyle.SolidLine,
    "dash": QtCore.Qt.PenStyle.DashLine,
    "dot": QtCore.Qt.PenStyle.DotLine,
    "dashdot": QtCore.Qt.PenStyle.DashDotLine,
}


def lane_colour(index: int) -> str:
    """The colour of lane ``index`` (cycling past eight lanes)."""
    return LANE_COLOURS[index % len(LANE_COLOURS)]


def lane_pen(index: int, style: str = "solid", width: float = 2.0) -> QtGui.QPen:
    """A cosmetic pen in the lane's colour; widths stay ≤ 2 px because thick pens are slow."""
    pen = pg.mkPen(lane_colour(index), width=width)
    pen.setStyle(STYLE_BY_NAME[style])
    pen.setCosmetic(True)
    return pen


def configure_pyqtgraph() -> None:
    """White background for slides and print, no antialiasing while animating."""
    pg.setConfigOptions(antialias=False, background="w", foreground="k", imageAxisOrder="row-major")
