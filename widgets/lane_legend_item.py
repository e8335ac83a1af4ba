"""The legend of lanes under a panel pictured alone: the window names its lanes in its key above the
panels, a figure of one panel must name them itself."""

from __future__ import annotations

import math

import pyqtgraph as pg
from PySide6 import QtCore

from muonscope.widgets.lane_focus import FADED_OPACITY, focused_lane
from muonscope.widgets.theme import lane_pen, stage_style

__all__ = ["LANE_LEGEND_PT", "lane_legend_item", "preferred_height_px"]

#: Point size of the lane legend under a panel drawn alone, at scale 1.
LANE_LEGEND_PT = 8.0
#: The line beside a legend's note on the faint curves (another branch's): grey and dotted, as they are.
_NOTE_PEN = pg.mkPen("#888888", width=2, style=QtCore.Qt.PenStyle.DotLine)
#: Pixels a legend row keeps beside its line sample and between its columns.
_LEGEND_SPACING_PX = 24


def lane_legend_item(lanes: tuple[tuple[int | None, str], ...], room_px: int) -> pg.LegendItem:
    """The legend of (colour position, text) ``lanes`` (position None: a note on the faint curves):
    two columns where they fit ``room_px``, else one, its names wrapped where one alone is wider
    than the room (a lane renamed by a change, say)."""
    style = stage_style()  # on a stage, at its scale and in its colours, as the axes above it
    legend = pg.LegendItem(
        labelTextSize=f"{style.font_pt(LANE_LEGEND_PT):g}pt",
        labelTextColor=style.colours.foreground,
        colCount=min(len(lanes), 2),
    )
    focused = focused_lane()
    for position, text in lanes:
        pen = _NOTE_PEN if position is None else lane_pen(position)
        if focused is not None and position not in (None, focused):  # faint, as its curves are drawn
            colour = pen.color()
            colour.setAlphaF(FADED_OPACITY)
            pen.setColor(colour)
        legend.addItem(pg.PlotDataItem(pen=pen), text)
    if legend.layout.preferredWidth() > room_px:
        legend.setColumnCount(1)
    for sample, label in legend.items:
        text_room = room_px - sample.boundingRect().width() - _LEGEND_SPACING_PX
        if label.itemRect().width() > text_room > 0:
            label.item.setTextWidth(text_room)
            label.updateMin()
    legend.updateSize()
    return legend


def preferred_height_px(legend: pg.LegendItem) -> int:
    """The height a legend's rows ask for, whole pixels."""
    return math.ceil(legend.layout.effectiveSizeHint(QtCore.Qt.SizeHint.PreferredSize).height())
