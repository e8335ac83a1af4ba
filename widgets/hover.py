"""Exact values under the mouse: the nearest data point of any curve in a plot, with its label.

Curves drawn on the same point are named together. The read-out sits beside its point, on whichever
side keeps it inside the plot (right and above by default; left near the right edge, below near the
top), wraps where the plot is narrower than its lines, and goes away when the pointer leaves the
plot, also when it leaves the window in one quick move.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui

from muonscope.widgets.theme import StageStyle, stage_style

__all__ = ["COINCIDE_PX", "HOVER_REACH_PX", "MAX_NAMED", "HoverReadout", "place_beside", "room_inside"]

#: How far from a point (pixels) the mouse may be for the read-out to name it.
HOVER_REACH_PX = 25.0
#: Points of other curves drawn within this many pixels of the named one are named with it: two lanes
#: whose curves coincide are both under the mouse, and naming one would hide the other.
COINCIDE_PX = 3.0
#: The most curves one read-out names; more at the same point are counted.
MAX_NAMED = 4
#: Point size of the read-out's text at scale 1.
READOUT_PT = 9.0
#: Room (px) kept between the read-out and the plot's edge, and between it and its point.
_MARGIN_PX = 4.0
_GAP_PX = 6.0

#: (x, y, index of the point in its series) → the value line of the readout.
Formatter = Callable[[float, float, int], str]
#: A series' name, or x → its name at x (a lane over steps is named by the settings of each step).
Label = str | Callable[[float], str]


@dataclass
class _Series:
    label: Label
    x: np.ndarray
    y: np.ndarray
    formatter: Formatter

    def name_at(self, x: float) -> str:
        return self.label if isinstance(self.label, str) else self.label(x)


def _readout_text(named: list[tuple[_Series, int]], count: int) -> str:
    """The first ``count`` of the (series, point) named, each its name over its value, and how many
    more coincide: in a 90 px plot six lines for three lanes covered it to the axis."""
    blocks = [f"{s.name_at(s.x[j])}\n{s.formatter(s.x[j], s.y[j], j)}" for s, j in named[:count]]
    if len(named) > count:
        more = len(named) - count
        blocks.append(f"and {more} more curve{'s' if more > 1 else ''} on this point")
    return "\n".join(blocks)


def room_inside(box: pg.ViewBox) -> QtCore.QRectF:
    """The part of a view box (scene coordinates) a read-out may cover: all but a margin at each edge."""
    return box.sceneBoundingRect().adjusted(_MARGIN_PX, _MARGIN_PX, -_MARGIN_PX, -_MARGIN_PX)


def place_beside(text: pg.TextItem, box: pg.ViewBox, point: QtCore.QPointF) -> None:
    """Put a text box beside a point (scene coordinates), inside the view box.

    Right of the point and above it by default; left of it where the right edge is too close,
    below it where the top is; then pushed inside wherever the box would still cross an edge.
    """
    area = room_inside(box)
    size = text.textItem.boundingRect()  # px: the text is drawn unscaled
    width, height = size.width(), size.height()
    left = point.x() + _GAP_PX
    if left + width > area.right():
        left = point.x() - _GAP_PX - width
    top = point.y() - _GAP_PX - height
    if top < area.top():
        top = point.y() + _GAP_PX
    left = max(min(left, area.right() - width), area.left())
    top = max(min(top, area.bottom() - height), area.top())
    text.setAnchor((0, 0))
    text.setPos(box.mapSceneToView(QtCore.QPointF(left, top)))


class HoverReadout(QtCore.QObject):
    """Tracks the mouse over a PlotItem and labels the nearest registered point.

    Series are registered with their *data* coordinates; the readout applies the plot's log modes
    itself, so the numbers shown are the data, never their logarithms.
    """

    def __init__(self, plot: pg.PlotItem, max_distance_px: float = HOVER_REACH_PX) -> None:
        super().__init__(plot)
        self._plot = plot
        self._series: dict[object, _Series] = {}
        self._max_px = max_distance_px
        self._text = pg.TextItem(color="k", fill=pg.mkBrush(255, 255, 255, 220))
        self._dot = pg.ScatterPlotItem(size=8, brush=pg.mkBrush(0, 0, 0, 160), pen=None)
        self._style: StageStyle | None = None  # the stage style the read-out was last drawn in
        for item in (self._text, self._dot):
            item.setZValue(1000)
            item.setVisible(False)
            plot.addItem(item, ignoreBounds=True)
        plot.scene().sigMouseMoved.connect(self._on_mouse_moved)
        for view in plot.scene().views():  # the widget the plot is drawn in: leaving it hides us
            view.installEventFilter(self)
        self.last_text = ""

    def set_series(
        self, key: object, label: Label, x: np.ndarray, y: np.ndarray, formatter: Formatter
    ) -> None:
        """Register (or replace) the data of one curve; ``label`` names it, or names each of its points."""
        self._series[key] = _Series(label, np.asarray(x, float), np.asarray(y, float), formatter)

    def set_reach(self, max_distance_px: float) -> None:
        """How far from a point (pixels) the mouse may be for the read-out to name it."""
        self._max_px = max_distance_px

    def set_label(self, key: object, label: Label) -> None:
        """Rename a registered curve (its data stays); unknown keys are ignored."""
        if key in self._series:
            self._series[key].label = label

    def remove_series(self, key: object) -> None:
        self._series.pop(key, None)

    def clear(self) -> None:
        self._series.clear()
        self.hide()

    def hide(self) -> None:
        self._text.setVisible(False)
        self._dot.setVisible(False)

    @property
    def shown(self) -> bool:
        """Whether a read-out is on show."""
        return self._text.isVisible()

    @property
    def label_scene_rect(self) -> QtCore.QRectF:
        """Where the read-out's text box is, in scene coordinates (the plot's: :attr:`plot_scene_rect`)."""
        return self._text.sceneBoundingRect()

    @property
    def plot_scene_rect(self) -> QtCore.QRectF:
        """The plot's data area in scene coordinates: the read-out stays inside it."""
        return self._plot.getViewBox().sceneBoundingRect()

    def _to_view(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        log_x = self._plot.getAxis("bottom").logMode
        log_y = self._plot.getAxis("left").logMode
        with np.errstate(divide="ignore", invalid="ignore"):
            return (np.log10(x) if log_x else x), (np.log10(y) if log_y else y)

    def _pixel_distances2(self, series: _Series, view_x: float, view_y: float) -> np.ndarray:
        """Squared screen distances (px²) from a view position to each of a series' points."""
        px_w, px_h = self._plot.getViewBox().viewPixelSize()
        vx, vy = self._to_view(series.x, series.y)
        with np.errstate(invalid="ignore"):
            return ((vx - view_x) / px_w) ** 2 + ((vy - view_y) / px_h) ** 2

    def _closest(self, view_x: float, view_y: float, reach_px: float) -> list[tuple[float, _Series, int]]:
        """Each series' point closest to a view position within ``reach_px``, nearest first."""
        found = []
        for series in self._series.values():
            d2 = self._pixel_distances2(series, view_x, view_y)
            if d2.size == 0 or np.all(np.isnan(d2)):
                continue
            i = int(np.nanargmin(d2))
            if d2[i] < reach_px**2:
                found.append((float(d2[i]), series, i))
        found.sort(key=lambda hit: hit[0])
        return found

    def nearest(self, view_x: float, view_y: float) -> tuple[_Series, int] | None:
        """The registered point closest to a view position, within the pixel radius."""
        found = self._closest(view_x, view_y, self._max_px)
        return (found[0][1], found[0][2]) if found else None

    def show_at(self, view_x: float, view_y: float) -> str:
        """Label the point nearest a view position, with the points of other curves drawn on it;
        returns the text shown ("" when none)."""
        hit = self.nearest(view_x, view_y)
        if hit is None:
            self.hide()
            self.last_text = ""
            return ""
        series, i = hit
        x, y = series.x[i], series.y[i]
        vx, vy = self._to_view(np.array([x]), np.array([y]))
        coinciding = self._closest(vx[0], vy[0], COINCIDE_PX)
        named = [(series, i)] + [(s, j) for _d2, s, j in coinciding if s is not series]
        self._follow_style()
        for count in range(min(len(named), MAX_NAMED), 0, -1):  # as many as the plot's height holds
            self.last_text = _readout_text(named, count)
            self._text.setText(self.last_text)
            self._wrap_to_plot()
            if (
                count == 1
                or self._text.textItem.boundingRect().height()
                <= room_inside(self._plot.getViewBox()).height()
            ):
                break
        self._place_text(vx[0], vy[0])
        self._dot.setData([vx[0]], [vy[0]])
        self._text.setVisible(True)
        self._dot.setVisible(True)
        return self.last_text

    def _follow_style(self) -> None:
        """The read-out in the stage's size and colours: on a 2× dark stage it stayed desk-sized, black
        on a white box, its dot invisible on the dark plot."""
        style = stage_style()
        if style == self._style:
            return
        self._style = style
        colours = style.colours
        font = QtGui.QFont()
        font.setPointSizeF(style.font_pt(READOUT_PT))
        self._text.setFont(font)
        self._text.setColor(colours.foreground)
        fill = QtGui.QColor(colours.background)
        fill.setAlpha(220)
        self._text.fill = pg.mkBrush(fill)
        dot = QtGui.QColor(colours.foreground)
        dot.setAlpha(160)
        self._dot.setBrush(pg.mkBrush(dot))
        self._dot.setSize(8 * style.scale)

    @property
    def text_style(self) -> tuple[float, str, str]:
        """(point size, text colour, fill colour) the read-out is drawn in."""
        return (
            self._text.textItem.font().pointSizeF(),
            self._text.color.name(),
            self._text.fill.color().name(),
        )

    def _wrap_to_plot(self) -> None:
        """Lines wider than the plot wrap at spaces: in a small panel a sweep point's line ("d = 128:
        147.7, the mean over seeds (lowest 146, highest 150)") ran past the plot and was cut."""
        self._text.setTextWidth(-1)
        room_px = room_inside(self._plot.getViewBox()).width()
        if self._text.textItem.boundingRect().width() > room_px:
            self._text.setTextWidth(max(room_px, 1.0))

    def _place_text(self, view_x: float, view_y: float) -> None:
        box = self._plot.getViewBox()
        place_beside(self._text, box, box.mapViewToScene(QtCore.QPointF(view_x, view_y)))

    def eventFilter(self, watched: QtCore.QObject, event: QtCore.QEvent) -> bool:
        if event.type() == QtCore.QEvent.Type.Leave:
            self.hide()
        return False

    def _on_mouse_moved(self, scene_pos: QtCore.QPointF) -> None:
        box = self._plot.getViewBox()
        if not box.sceneBoundingRect().contains(scene_pos):
            self.hide()
            return
        point = box.mapSceneToView(scene_pos)
        self.show_at(point.x(), point.y())
