"""Reproduction figures: what a figure shows (panels of series and guide lines), and drawing it to a PNG.

The per-preset builders (``app/*_figures.py``) turn a reproduction's plain data into these
descriptions: titles, axis labels, log axes, legend text, lane colours and line styles are decided
there and nowhere in the engine. ``render_figure`` draws a description headless with pyqtgraph, for
``muonscope reproduce``: the window is built offscreen, laid out as one row of panels, each with its
legend underneath (inside the plot a legend hides curves: there is no mouse to move it in a still
picture), and grabbed. Series keep the lane palette; guides are grey dashed lines.
"""

from __future__ import annotations

import html
import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np

from muonscope.engine.reproduce import Curve, Reproduction

__all__ = [
    "Figure",
    "Guide",
    "Panel",
    "Presentation",
    "Series",
    "guide",
    "lane_series",
    "render_figure",
    "series",
]


@dataclass(frozen=True)
class Series:
    """One measured curve as drawn: its legend text, lane colour and line style."""

    label: str
    x: np.ndarray
    y: np.ndarray
    lo: np.ndarray | None = None  # seed spread (min over seeds), drawn as a band
    hi: np.ndarray | None = None
    style: str = "solid"  # solid | dash | points
    colour: int = 0  # index into the lane palette


@dataclass(frozen=True)
class Guide:
    """A theory line, drawn dashed in grey and labelled."""

    label: str
    x: np.ndarray
    y: np.ndarray


@dataclass(frozen=True)
class Panel:
    title: str
    x_label: str
    y_label: str
    series: tuple[Series, ...]
    guides: tuple[Guide, ...] = ()
    log_x: bool = False
    log_y: bool = False
    #: Whether the axes' ranges take the guides in too: for a panel whose point is how far the data
    #: sit from the theory line (otherwise ranges follow the data and a long guide is cut).
    range_with_guides: bool = False
    #: Named positions on the y axis instead of numbers (a strip of one row per lane read "1.2, 1.4").
    y_ticks: tuple[tuple[float, str], ...] = ()
    #: A detail: curves another panel of the figure draws, again on a scale of their own (GD's decade
    #: of decay beside losses down to 1e-85).
    detail: bool = False


@dataclass(frozen=True)
class Figure:
    name: str  # file stem
    title: str
    panels: tuple[Panel, ...]


class Presentation(NamedTuple):
    """How one preset's reproduction is shown: the summary's title and its figures."""

    title: str
    figures: Callable[[Reproduction], list[Figure]]


def series(label: str, curve: Curve, colour: int, style: str = "solid") -> Series:
    """A measured curve (with its seed spread, if any) drawn in lane colour ``colour``."""
    return Series(label, curve.x, curve.y, curve.lo, curve.hi, style, colour)


def lane_series(curves: Mapping[str, Curve], legend: Mapping[str, str] | None = None) -> tuple[Series, ...]:
    """One series per named curve in lane colour order; ``legend`` shortens names where given."""
    legend = legend or {}
    return tuple(
        series(legend.get(name, name), curve, colour) for colour, (name, curve) in enumerate(curves.items())
    )


def guide(label: str, curve: Curve) -> Guide:
    """A theory curve drawn as a labelled guide line."""
    return Guide(label, curve.x, curve.y)


PANEL_SIZE = (620, 460)
LEGEND_COLUMNS = 2
LEGEND_ROW_PX = 20


def _legend_rows(panel: Panel) -> int:
    entries = len(panel.series) + len(panel.guides)
    return -(-entries // LEGEND_COLUMNS)


def render_figure(figure: Figure, path: Path) -> Path:
    """Write ``figure`` as a PNG (one row of panels) and return the path."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    import pyqtgraph as pg
    from PySide6 import QtWidgets

    from muonscope.widgets.axes import decade_axes
    from muonscope.widgets.export import png_bytes, write_bytes
    from muonscope.widgets.theme import configure_pyqtgraph

    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([])
    configure_pyqtgraph()
    pg.setConfigOptions(antialias=True)  # a still picture: quality over speed
    view = pg.GraphicsLayoutWidget()
    legend_px = LEGEND_ROW_PX * max(_legend_rows(panel) for panel in figure.panels) + 10
    view.resize(PANEL_SIZE[0] * len(figure.panels), PANEL_SIZE[1] + 30 + legend_px)
    view.addLabel(f"<b>{html.escape(figure.title)}</b>", row=0, col=0, colspan=len(figure.panels))
    for column, panel in enumerate(figure.panels):
        plot = view.addPlot(row=1, col=column, axisItems=decade_axes())
        legend = pg.LegendItem(labelTextSize="8pt", colCount=LEGEND_COLUMNS)
        view.addItem(legend, row=2, col=column)
        _draw_panel(plot, legend, panel)
        for row in range(legend.layout.rowCount()):  # a legend of fewer rows than its neighbour's kept
            legend.layout.setRowFixedHeight(row, LEGEND_ROW_PX)  # its swatches centred below their text
    view.ci.layout.setRowFixedHeight(2, legend_px)
    view.show()
    app.processEvents()
    _widen_to_fit(view, app)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_bytes(path, png_bytes(view.grab().toImage(), path))  # whole or not at all
    view.close()
    view.deleteLater()
    app.processEvents()
    pg.setConfigOptions(antialias=False)
    return path


def _widen_to_fit(view, app) -> None:
    """Widen the picture to the layout's minimum width: a legend longer than its panel pushed the
    layout past the picture's edge, and the grab cut off the right panel's axis and legend."""
    from PySide6 import QtCore

    needed_px = math.ceil(view.ci.effectiveSizeHint(QtCore.Qt.SizeHint.MinimumSize).width())
    if needed_px > view.width():
        view.resize(needed_px, view.height())
        app.processEvents()


def _positive(x: np.ndarray, y: np.ndarray, panel: Panel) -> tuple[np.ndarray, np.ndarray]:
    """Drop points a log axis cannot show (and NaN), then map log axes to log10 coordinates.

    The transform is done here rather than with pyqtgraph's log mode so that bands (fills between
    curves) and guides share exactly the same coordinates as the curves.
    """
    keep = np.isfinite(x) & np.isfinite(y)
    if panel.log_x:
        keep &= x > 0
    if panel.log_y:
        keep &= y > 0
    x, y = x[keep], y[keep]
    return (np.log10(x) if panel.log_x else x), (np.log10(y) if panel.log_y else y)


def _draw_panel(plot, legend, panel: Panel) -> None:
    """One figure panel: its titles, series (with seed bands), guide lines and axes."""
    from muonscope.widgets.axis_style import plain_units
    from muonscope.widgets.guide_legend import guide_label, guide_pen

    plain_units(plot)
    plot.setTitle(html.escape(panel.title), size="10pt")  # pyqtgraph reads titles as HTML: "λ < …"
    plot.setLabel("bottom", panel.x_label)
    plot.setLabel("left", panel.y_label)
    plot.showGrid(x=True, y=True, alpha=0.15)
    xs, ys = [], []
    points = [_positive(np.asarray(s.x, float), np.asarray(s.y, float), panel) for s in panel.series]
    for series, (x, y), label in zip(panel.series, points, _legend_labels(panel, points), strict=True):
        xs.append(x)
        ys.append(y)
        legend.addItem(_draw_series(plot, series, x, y), label)
        if series.lo is not None and series.hi is not None:
            band_x, band_y = _band(plot, series, panel)
            xs.append(band_x)
            ys.append(band_y)
    for index, guide in enumerate(panel.guides):  # a dash each, as in the window: two read as one line
        x, y = _positive(np.asarray(guide.x, float), np.asarray(guide.y, float), panel)
        legend.addItem(plot.plot(x, y, pen=guide_pen(index)), guide_label(guide.label))
        if panel.range_with_guides:
            xs.append(x)
            ys.append(y)
    _set_axes(
        plot, panel, np.concatenate(xs) if xs else np.zeros(0), np.concatenate(ys) if ys else np.zeros(0)
    )
    if panel.y_ticks:
        _name_rows(plot, panel.y_ticks)
    if panel.log_x and points:
        _tick_measured_x(plot, np.concatenate([x for x, _y in points]))


def _legend_labels(panel: Panel, points: list[tuple[np.ndarray, np.ndarray]]) -> list[str]:
    """The series' labels, a hidden one saying which line lies on it: series drawn later cover
    earlier ones with equal values, and the two Muon lanes of a panel vanished under SGD's at 1.0."""
    from muonscope.widgets.coinciding import equal_curves

    labels = [series.label for series in panel.series]
    for group in equal_curves(dict(enumerate(points))):
        for hidden in group[:-1]:
            labels[hidden] = f"{panel.series[hidden].label} (under {panel.series[group[-1]].label})"
    return labels


def _draw_series(plot, series, x: np.ndarray, y: np.ndarray):
    """A series as points, or as a line (with its points marked where there are few of them)."""
    from muonscope.widgets.theme import lane_colour, lane_pen

    marks = {"symbol": "o", "symbolSize": 5, "symbolBrush": lane_colour(series.colour), "symbolPen": None}
    if series.style == "points":
        return plot.plot(x, y, pen=None, **marks)
    pen = lane_pen(series.colour, "dash" if series.style == "dash" else "solid", 2.0)
    return plot.plot(x, y, pen=pen, **(marks if x.size <= 30 else {}))


#: A log x axis of at most this many measured values is ticked at them: d = 32, 64, 128 read
#: 30, 40, …, 100 with no tick at the largest.
MOST_MEASURED_TICKS = 8


def measured_ticks(log_x: np.ndarray) -> list[tuple[float, str]] | None:
    """Ticks of a log x axis at the distinct values measured (``log_x``: their log10, labelled in
    data units), where there are two to MOST_MEASURED_TICKS of them; else None (decades)."""
    from muonscope.widgets.number_text import number_text

    log_x = np.unique(log_x[np.isfinite(log_x)])
    if not 2 <= log_x.size <= MOST_MEASURED_TICKS:
        return None
    return [(float(v), number_text(10.0**v)) for v in log_x]


def _tick_measured_x(plot, log_x: np.ndarray) -> None:
    ticks = measured_ticks(log_x)
    if ticks is None:
        return
    axis = plot.getAxis("bottom")
    axis.set_log_mapped(False)  # the ticks are these, not decades chosen at each draw
    axis.setTicks([ticks, []])


def _name_rows(plot, y_ticks) -> None:
    """A panel of named rows: a tick per name, half a row of room around each."""
    import pyqtgraph as pg

    positions = [value for value, _name in y_ticks]
    plot.setYRange(min(positions) - 0.5, max(positions) + 0.5, padding=0)
    axis = plot.getAxis("left")
    axis.setTicks([list(y_ticks), []])
    metrics = pg.QtGui.QFontMetrics(axis.style.get("tickFont") or axis.font())
    names_px = max(metrics.horizontalAdvance(name) for _value, name in y_ticks)
    axis.setWidth(names_px + 40)  # the names and the axis title beside them: a wider name was dropped


def _set_axes(plot, panel: Panel, x: np.ndarray, y: np.ndarray) -> None:
    """Ranges from the data, seed bands included (not from guides unless the panel asks), and decade
    ticks on log axes."""
    for side, values, log in (("bottom", x, panel.log_x), ("left", y, panel.log_y)):
        if values.size == 0:
            continue
        lo, hi = float(values.min()), float(values.max())
        pad = 0.05 * (hi - lo) if hi > lo else 0.5
        if side == "bottom":
            plot.setXRange(lo - pad, hi + pad, padding=0)
        else:
            plot.setYRange(lo - pad, hi + pad, padding=0)
        plot.getAxis(side).set_log_mapped(log)


def _band(plot, series, panel: Panel) -> tuple[np.ndarray, np.ndarray]:
    """Seed spread as a translucent band between the min and max over seeds; returns its corners
    (x and y, in plot coordinates) for the ranges: a seed's value outside the axes was hidden."""
    import pyqtgraph as pg

    from muonscope.widgets.theme import lane_colour

    x = np.asarray(series.x, float)
    lo, hi = np.asarray(series.lo, float), np.asarray(series.hi, float)
    keep = (
        np.isfinite(lo)
        & np.isfinite(hi)
        & ((lo > 0) if panel.log_y else True)
        & ((x > 0) if panel.log_x else True)
    )
    if keep.sum() < 2:
        return np.zeros(0), np.zeros(0)
    bx = np.log10(x[keep]) if panel.log_x else x[keep]
    low_y, high_y = (np.log10(lo[keep]), np.log10(hi[keep])) if panel.log_y else (lo[keep], hi[keep])
    low = pg.PlotCurveItem(bx, low_y, pen=None)
    high = pg.PlotCurveItem(bx, high_y, pen=None)
    colour = pg.mkColor(lane_colour(series.colour))
    colour.setAlpha(50)
    plot.addItem(pg.FillBetweenItem(low, high, brush=pg.mkBrush(colour)))
    return np.concatenate([bx, bx]), np.concatenate([low_y, high_y])
