"""A sweep's (or one-step ray's) curves on panel ④: seed bands, guide lines, and what they hold.

:class:`SweepDrawing` owns the plot items of one drawn sweep and remembers, in data units, what
they show, so that the panel's read-outs, data table and "curves coincide" note say the numbers
that were drawn rather than the logarithms a log axis plots.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pyqtgraph as pg

from muonscope.widgets.coinciding import coincidence_note
from muonscope.widgets.data_table import DataTable, as_counts, merged_on_x
from muonscope.widgets.guide_legend import guide_label, guide_pen
from muonscope.widgets.hover import HoverReadout
from muonscope.widgets.sweep_points import SEEDS_COLUMN, log_mapped, sweep_columns, sweep_lane_items
from muonscope.widgets.sweep_readout import sweep_readout

__all__ = ["SweepDrawing"]


class SweepDrawing:
    """The items of one sweep on ``plot``, with read-outs in ``hover``; ``running`` says whether the
    sweep is still computing (a read-out of a point with fewer seeds says so)."""

    def __init__(self, plot: pg.PlotItem, hover: HoverReadout, running: Callable[[], bool]) -> None:
        self._plot = plot
        self._hover = hover
        self._running = running
        self._items: list[pg.GraphicsObject] = []
        self._curves: dict[int, tuple[np.ndarray, np.ndarray]] = {}  # lane → (x, y) as drawn
        self._labels: dict[int, str] = {}
        self._series: list[tuple[str, np.ndarray, np.ndarray]] = []  # as drawn, in data units
        self.x_label = self.y_label = ""
        self.partial_seeds = 0  # the seeds a whole point averages, where some points have fewer
        self.points = 0  # points drawn, over all lanes

    def clear(self) -> None:
        for item in self._items:
            self._plot.removeItem(item)
        self._items = []
        self._curves, self._labels, self._series = {}, {}, []
        self.partial_seeds = 0
        self.points = 0

    def name_axes(self, x_label: str, y_label: str) -> None:
        """The sweep's x and y, as its read-outs and table columns name them."""
        self.x_label, self.y_label = x_label, y_label

    def draw_curve(
        self,
        lane: int,
        label: str,
        values: tuple[np.ndarray, ...],
        whole_seeds: int,
        log_x: bool,
        log_y: bool,
        note: str = "",
    ) -> tuple[pg.PlotDataItem, np.ndarray, np.ndarray] | None:
        """One lane's sweep curve and seed band from (x, mean, lo, hi, seeds), with its read-out and
        table columns; returns (curve, its x, its y values to keep in view), or None if none is drawable.
        ``note``: what the read-out says of the whole curve after its label ("fitted slope 1.60"),
        where a small panel's legend leaves the lanes out."""
        x, mean, lo, hi, seeds = values
        keep, (px, py, plo, phi) = log_mapped(x, mean, lo, hi, log_x, log_y)
        if px.size == 0:
            return None
        partial = seeds[keep] < whole_seeds
        curve, *band = sweep_lane_items(lane, px, py, plo, phi, partial)
        for item in (curve, *band):
            self._add(item)
        if partial.any():
            self.partial_seeds = whole_seeds
        self._curves[lane] = (px, py)
        self._labels[lane] = label
        originals = [np.asarray(v, float)[keep] for v in values]
        readout = sweep_readout(
            self.x_label, *originals[:4], seeds=originals[4], whole_seeds=whole_seeds, running=self._running
        )
        self._hover.set_series(("sweep", lane), f"{label}: {note}" if note else label, px, py, readout)
        self._series += sweep_columns(self.y_label, label, *originals, whole_seeds=whole_seeds)
        self.points += px.size
        return curve, px, np.concatenate([py, plo, phi])  # the seeds' band is in view, not cut by the axes

    def draw_guide(
        self, index: int, label: str, x: np.ndarray, y: np.ndarray, log_x: bool, log_y: bool
    ) -> tuple[pg.PlotDataItem, str]:
        """A labelled guide line (a law to compare with), in the table too; returns its legend entry."""
        keep, (px, py, _, _) = log_mapped(x, y, y, y, log_x, log_y)
        shown_x, shown_y = (np.asarray(v, float)[keep] for v in (x, y))
        self._series.append((guide_label(label), shown_x, shown_y))
        guide = pg.PlotDataItem(px, py, pen=guide_pen(index))
        self._add(guide)
        return guide, guide_label(label)

    @property
    def coinciding(self) -> str:
        """Which lanes' sweep curves lie exactly on one another, or ""."""
        labels = [self._labels.get(lane, "") for lane in range(max(self._labels, default=-1) + 1)]
        return coincidence_note([(self.y_label, self._curves)], labels)

    def data_table(self) -> DataTable:
        """The sweep's x, then per lane the mean, min and max over seeds (one column where the seeds
        agree, as along a ray), then each guide line."""
        table = merged_on_x(self.x_label or "x", self._series)
        return as_counts(table, lambda name: name.startswith(SEEDS_COLUMN))  # 3 seeds, not 3.0

    def _add(self, item) -> None:
        self._plot.addItem(item)
        self._items.append(item)
