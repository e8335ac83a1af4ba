"""Plots drawn for a file rather than for the screen, and put back as they were afterwards."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from muonscope.widgets.pixel_curve import PixelCurve
from muonscope.widgets.portable_svg import PLOT_AREA_END, PLOT_AREA_START

__all__ = ["drawing_for_export", "plot_areas_marked"]


@contextmanager
def drawing_for_export(widget: QtWidgets.QWidget, scale: float = 1.0) -> Iterator[None]:
    """While exporting ``widget``: no pixmap caches, one path per curve, antialiased curves, no plot buttons.

    On screen the axes are cached as pixmaps (their tick text is costly to redraw) and thick solid
    curves are drawn as separate segments (faster without antialiasing); in a file the first would
    turn axes and tick labels into bitmaps and the second a curve into hundreds of loose segments.
    pyqtgraph's export mode antialiases curves and draws symbols as shapes.

    ``scale`` is the painter's scale of a picture drawn larger than the screen: curve, marker-line
    and symbol-outline pens (screen-width, "cosmetic" pens, which a painter's scale does not widen)
    grow by it, as the symbols do with the painter, so that the picture looks like the screen with
    more pixels; a line thinned to the screen's pixel columns is thinned to the picture's.
    """
    with ExitStack() as stack:
        for view in _graphics_views(widget):
            stack.enter_context(_without_caches(view))
            for item in view.scene().items():
                if isinstance(item, pg.PlotCurveItem):
                    stack.enter_context(_unsegmented(item))
                if isinstance(item, pg.GraphicsItem):
                    stack.enter_context(_export_mode(item))
                if isinstance(item, PixelCurve):
                    stack.enter_context(item.drawn_finer(scale))
                if scale != 1.0:
                    stack.enter_context(_widened(item, scale))
        yield


@contextmanager
def plot_areas_marked(widget: QtWidgets.QWidget) -> Iterator[None]:
    """Marker rectangles before and after the items of each plot area (for clipping in the SVG)."""
    markers = []
    for view in _graphics_views(widget):
        for item in view.scene().items():
            if isinstance(item, pg.ViewBox) and item.isVisible():
                markers.append(_PlotAreaMarker(item, PLOT_AREA_START))
                markers.append(_PlotAreaMarker(item, PLOT_AREA_END))
    try:
        yield
    finally:
        for marker in markers:
            marker.scene().removeItem(marker)


class _PlotAreaMarker(QtWidgets.QGraphicsItem):
    """Draws its view box's rectangle in a reserved colour, first (start) or last (end) of its items."""

    def __init__(self, box: pg.ViewBox, colour: str) -> None:
        super().__init__(box)
        self._box = box
        self._pen = QtGui.QPen(QtGui.QColor(colour), 0)
        if colour == PLOT_AREA_START:
            self.setFlag(QtWidgets.QGraphicsItem.GraphicsItemFlag.ItemStacksBehindParent)
            self.setZValue(-1e12)
        else:
            self.setZValue(1e12)

    def boundingRect(self) -> QtCore.QRectF:
        return self._box.rect()

    def paint(self, painter: QtGui.QPainter, _option, _widget=None) -> None:
        painter.setPen(self._pen)
        painter.setBrush(QtCore.Qt.BrushStyle.NoBrush)
        painter.drawRect(self._box.rect())


def _graphics_views(widget: QtWidgets.QWidget) -> list[QtWidgets.QGraphicsView]:
    views = widget.findChildren(QtWidgets.QGraphicsView)
    if isinstance(widget, QtWidgets.QGraphicsView):
        views.insert(0, widget)
    return [view for view in views if view.scene() is not None]


@contextmanager
def _without_caches(view: QtWidgets.QGraphicsView) -> Iterator[None]:
    no_cache = QtWidgets.QGraphicsItem.CacheMode.NoCache
    cached = [(item, item.cacheMode()) for item in view.scene().items() if item.cacheMode() != no_cache]
    background = view.cacheMode()
    view.setCacheMode(QtWidgets.QGraphicsView.CacheModeFlag.CacheNone)
    for item, _mode in cached:
        item.setCacheMode(no_cache)
    try:
        yield
    finally:
        for item, mode in cached:
            item.setCacheMode(mode)
        view.setCacheMode(background)
        view.resetCachedContent()


@contextmanager
def _unsegmented(curve: pg.PlotCurveItem) -> Iterator[None]:
    mode = curve.opts["segmentedLineMode"]
    curve.setSegmentedLineMode("off")
    try:
        yield
    finally:
        curve.setSegmentedLineMode(mode)


@contextmanager
def _export_mode(item: pg.GraphicsItem) -> Iterator[None]:
    """pyqtgraph's export mode at resolution scale 1: a symbol is drawn in device pixels after the
    painter's transform is reset, yet inside the widget's render, whose scaled painter still reaches
    it; a resolution scale on top drew a 2× picture's dots four times as large as the screen's."""
    item.setExportMode(True, {"antialias": True, "resolutionScale": 1.0})
    try:
        yield
    finally:
        item.setExportMode(False)


@contextmanager
def _widened(item: QtWidgets.QGraphicsItem, scale: float) -> Iterator[None]:
    """A curve's, a marker line's or a symbol's outline pen ``scale`` times as wide (hairlines count
    as 1 px)."""
    if isinstance(item, pg.PlotDataItem | pg.ScatterPlotItem) or (
        isinstance(item, pg.PlotCurveItem) and not isinstance(item.parentItem(), pg.PlotDataItem)
    ):
        pen = item.opts["pen"]
    elif isinstance(item, pg.InfiniteLine):
        pen = item.pen
    else:
        pen = None
    if not isinstance(pen, QtGui.QPen) or pen.style() == QtCore.Qt.PenStyle.NoPen:
        yield
        return
    wide = QtGui.QPen(pen)
    wide.setWidthF(max(pen.widthF(), 1.0) * scale)
    item.setPen(wide)
    try:
        yield
    finally:
        item.setPen(pen)
