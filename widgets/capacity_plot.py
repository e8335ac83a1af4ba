"""Panel ④: recovered items against step per lane, with population accuracy on a second axis."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg

from widgets.hover import HoverReadout
from widgets.panel import PlotPanel
from widgets.ranges import StableRange, nice_ceiling
from widgets.series_plot import EventMarkers
from widgets.theme import lane_pen

__all__ = ["CapacityPlot"]


class CapacityPlot(PlotPanel):
    """Solid: items recovered (left axis); dashed: population accuracy (right axis, 0–1)."""

    def __init__(self, parent=None) -> None:
        super().__init__("④ capacity", parent)
        self.plot.setLabel("bottom", "step")
        self.plot.setLabel("left", "recovered items (solid)")
        self.plot.disableAutoRange()
        self.plot.getViewBox().setMouseEnabled(x=False, y=False)
        self.right = pg.ViewBox(enableMouse=False)
        self.plot.showAxis("right")
        self.plot.scene().addItem(self.right)
        axis = self.plot.getAxis("right")
        axis.linkToView(self.right)
        axis.setLabel("population accuracy (dashed)")
        self.right.setXLink(self.plot)
        self.right.setYRange(0.0, 1.0, padding=0.02)
        self.plot.getViewBox().sigResized.connect(self._sync_right)
        self.legend = self.plot.addLegend(offset=(-10, -10), labelTextSize="8pt")
        self.hover = HoverReadout(self.plot)
        self.markers = EventMarkers(self.plot)
        self._recovered: list[pg.PlotDataItem] = []
        self._accuracy: list[pg.PlotDataItem] = []
        self._labels: list[str] = []
        self._y = StableRange(floor=0.0)
        self._x_max = 0.0

    def _sync_right(self) -> None:
        self.right.setGeometry(self.plot.getViewBox().sceneBoundingRect())
        self.right.linkedViewChanged(self.plot.getViewBox(), self.right.XAxis)

    def set_lanes(self, labels: list[str]) -> None:
        for curve in self._recovered:
            self.plot.removeItem(curve)
        for curve in self._accuracy:
            self.right.removeItem(curve)
        self.legend.clear()
        self.hover.clear()
        self._recovered, self._accuracy = [], []
        self._labels = list(labels)
        for lane, label in enumerate(labels):
            solid = pg.PlotDataItem(pen=lane_pen(lane), skipFiniteCheck=True)
            dashed = pg.PlotDataItem(pen=lane_pen(lane, "dash", 1.5), skipFiniteCheck=True)
            self.plot.addItem(solid)
            self.right.addItem(dashed)
            self.legend.addItem(solid, label)
            self._recovered.append(solid)
            self._accuracy.append(dashed)

    def set_labels(self, labels: list[str]) -> None:
        self.rename_legend(self._recovered, labels)
        self._labels = list(labels)

    def set_capacity(self, lane: int, steps: np.ndarray, recovered: np.ndarray, accuracy: np.ndarray) -> None:
        """Points where the population was evaluated (NaN elsewhere is dropped)."""
        steps = np.asarray(steps, dtype=float)
        recovered = np.asarray(recovered, dtype=float)
        accuracy = np.asarray(accuracy, dtype=float)
        keep = np.isfinite(recovered)
        steps, recovered, accuracy = steps[keep], recovered[keep], accuracy[keep]
        self._recovered[lane].setData(steps, recovered)
        self._accuracy[lane].setData(steps, accuracy)
        text = lambda step, count, i: f"step {int(step)}: recovered {int(count)}, accuracy {accuracy[i]:.4f}"  # noqa: E731
        self.hover.set_series(lane, self._labels[lane], steps, recovered, text)
        grown = self._y.update(np.append(recovered, 1.0))
        if grown is not None:
            self.plot.setYRange(*grown, padding=0.02)
        if steps.size and (steps[-1] > self._x_max or self._x_max == 0):
            self._x_max = nice_ceiling(max(steps[-1] * 1.1, 10.0))
            self.plot.setXRange(0, self._x_max, padding=0)

    def reset_range(self) -> None:
        self._y.reset()
        self._x_max = 0.0
