"""How a plot's axes look: tick and label fonts at the stage's scale, colours, cached tick text.

Every panel, the timeline and the colour bars style their axes here, so a stage's scale or theme
changes every axis the same way; the reproduction figures share :func:`plain_units`.
"""

from __future__ import annotations

import math

import pyqtgraph as pg
from PySide6 import QtGui, QtWidgets

from muonscope.widgets.theme import StageStyle

__all__ = [
    "LABEL_PT",
    "TICK_PT",
    "cache_axes",
    "plain_units",
    "room_for_the_top_tick",
    "style_axes",
    "style_axis",
    "tick_font",
]

#: Point sizes of an axis's text at scale 1: tick labels, the axis's label.
TICK_PT, LABEL_PT = 8.0, 9.0
#: The margin around an axis title's text at scale 1 (Qt's own for a text item).
TITLE_MARGIN_PX = 4.0


def cache_axes(plot: pg.PlotItem) -> None:
    """Keep each axis (tick text and grid) as a cached pixmap.

    With the grid on, an axis covers the whole view, so every curve update would otherwise
    re-render all tick labels; the axes' ranges are stable while animating, so the cache holds.
    """
    for name in ("left", "bottom", "right", "top"):
        plot.getAxis(name).setCacheMode(QtWidgets.QGraphicsItem.CacheMode.DeviceCoordinateCache)


def plain_units(plot: pg.PlotItem) -> None:
    """Tick values as they are: no SI prefix scaling of an axis.

    Alignments, errors and ratios have no unit; pyqtgraph would relabel an axis "(×0.001)" and show
    an alignment of 0.75 as 750.
    """
    for name in ("left", "bottom", "right", "top"):
        plot.getAxis(name).enableAutoSIPrefix(False)


def style_axes(plot: pg.PlotItem, style: StageStyle) -> None:
    """Tick text, tick marks, axis lines and labels at the stage's scale and in its colours."""
    for name in ("left", "bottom", "right", "top"):
        style_axis(plot.getAxis(name), style)
    room_for_the_top_tick(plot, tick_font(style))


def style_axis(axis: pg.AxisItem, style: StageStyle) -> None:
    """One axis (a plot's, or a colour bar's scale) at the stage's scale and in its colours."""
    colours = style.colours
    axis.setPen(pg.mkPen(colours.foreground, width=style.scale))
    axis.setTextPen(pg.mkPen(colours.foreground))
    axis.setStyle(
        tickFont=tick_font(style), tickLength=int(-5 * style.scale), tickTextOffset=int(3 * style.scale)
    )
    label_css = {"color": colours.foreground, "font-size": f"{style.font_pt(LABEL_PT):.1f}pt"}
    # pyqtgraph keeps 0.8 of the title's box for it and lets its margin take up the rest: a margin
    # of a fixed 4 px let a 3× title touch the tick labels above it
    axis.label.document().setDocumentMargin(TITLE_MARGIN_PX * style.scale)
    axis.setLabel(axis.labelText, units=axis.labelUnits or None, **label_css)
    if axis.grid is not False:
        axis.setGrid(colours.grid_alpha)


def tick_font(style: StageStyle) -> QtGui.QFont:
    """The tick labels' font at the stage's scale."""
    font = QtGui.QFont()
    font.setPointSizeF(style.font_pt(TICK_PT))
    return font


def room_for_the_top_tick(plot: pg.PlotItem, font: QtGui.QFont) -> None:
    """A y tick at the plot's top edge is centred on it, so half its text stands above the axis: at
    3× the header cut ④'s "1.0" in half. The plot keeps that half's height free above it."""
    if not any(plot.getAxis(name).isVisible() for name in ("left", "right")):
        return
    half_text_px = math.ceil(QtGui.QFontMetricsF(font).height() / 2)
    left, _top, right, bottom = plot.layout.getContentsMargins()
    plot.layout.setContentsMargins(left, max(1, half_text_px), right, bottom)
