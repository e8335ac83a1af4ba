"""A sweep's points as panel ④ draws them on its axes, and as its data table names them."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg

from muonscope.widgets.lane_focus import lane_item
from muonscope.widgets.theme import band_brush, lane_colour, lane_pen, stage_style

__all__ = ["SEEDS_COLUMN", "fit_sweep_ranges", "log_mapped", "sweep_columns", "sweep_lane_items"]

#: How a data table's column of seed counts begins ("seeds averaged: Muon").
SEEDS_COLUMN = "seeds averaged"


def log_mapped(x, mean, lo, hi, log_x: bool, log_y: bool) -> tuple[np.ndarray, tuple[np.ndarray, ...]]:
    """(which points are drawn, their (x, mean, lo, hi) in plot coordinates): log10 on a log axis,
    where a point that is not finite or not positive there has no place."""
    x, mean, lo, hi = (np.asarray(v, float) for v in (x, mean, lo, hi))
    keep = np.isfinite(mean) & ((x > 0) if log_x else True) & ((lo > 0) if log_y else True)
    fx = np.log10 if log_x else (lambda v: v)
    fy = np.log10 if log_y else (lambda v: v)
    return keep, (fx(x[keep]), fy(mean[keep]), fy(lo[keep]), fy(hi[keep]))


def sweep_columns(
    y_label: str, label: str, x, mean, lo, hi, seeds=None, whole_seeds: int = 0
) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """A lane's (column name, x, values): its value where the seeds agree, else their mean, min and
    max ("lowest seed" read as the seed with the lowest number); and how many seeds each point
    averages, where a whole point has more than one (a sweep stopped part-way has fewer)."""
    statistics = (("mean", mean), ("min", lo), ("max", hi))
    if np.array_equal(lo, mean) and np.array_equal(hi, mean):
        columns = [(f"{y_label}: {label}", x, mean)]
    else:
        columns = [
            (f"{y_label}, {statistic} over seeds: {label}", x, values) for statistic, values in statistics
        ]
    if seeds is not None and whole_seeds > 1:
        columns.append((f"{SEEDS_COLUMN}: {label}", x, np.asarray(seeds, float)))
    return columns


def sweep_lane_items(lane: int, px, py, plo, phi, partial: np.ndarray) -> list[pg.GraphicsObject]:
    """A lane's sweep curve with its points, then a hollow mark over each point in ``partial``, then
    its seeds' band where it has two points or more; in plot coordinates.

    The hollow marks are items of their own: per-point brushes on the curve drew its legend sample
    in pyqtgraph's grey."""
    colour = lane_colour(lane)
    marks = {"symbol": "o", "symbolSize": 6, "symbolBrush": colour, "symbolPen": None}
    items: list[pg.GraphicsObject] = [pg.PlotDataItem(px, py, pen=lane_pen(lane), **marks)]
    if np.any(partial):
        hollow = pg.mkBrush(stage_style().colours.background)
        ring = pg.mkPen(colour, width=1.5)
        items.append(pg.ScatterPlotItem(px[partial], py[partial], symbol="o", size=7, brush=hollow, pen=ring))
    if px.size > 1:
        low, high = pg.PlotCurveItem(px, plo, pen=None), pg.PlotCurveItem(px, phi, pen=None)
        items.append(pg.FillBetweenItem(low, high, brush=band_brush(lane)))
    return [lane_item(item, lane) for item in items]


def fit_sweep_ranges(
    plot: pg.PlotItem, xs: list[np.ndarray], ys: list[np.ndarray], log_x: bool, log_y: bool
) -> None:
    """Show every drawn point (``xs``, ``ys``: plot coordinates, per curve) with 8 % to spare on each
    side, and tell each axis whether its values are log10-mapped (it labels 10, 100 then)."""
    if not xs:
        return
    x, y = np.concatenate(xs), np.concatenate(ys)
    axes = ((x, plot.setXRange, log_x, "bottom"), (y, plot.setYRange, log_y, "left"))
    for values, setter, log, side in axes:
        lo, hi = float(values.min()), float(values.max())
        pad = 0.08 * (hi - lo) if hi > lo else 0.5
        setter(lo - pad, hi + pad, padding=0)
        plot.getAxis(side).set_log_mapped(log)
