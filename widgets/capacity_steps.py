"""Panel ④'s curves over steps: per lane, items recovered (solid, left axis), population accuracy
(dashed, the right axis's box) and another branch's items recovered (faint).

Kept apart from the panel, which also draws sweeps and rays on the same plot: this holds the lanes'
curves and their names, the panel decides when they show and how its axes follow them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pyqtgraph as pg

from muonscope.widgets.coinciding import coincidence_note
from muonscope.widgets.data_table import DataTable, as_counts, merged_on_x
from muonscope.widgets.hover import HoverReadout
from muonscope.widgets.lane_focus import lane_item
from muonscope.widgets.lane_names import LaneNames
from muonscope.widgets.measured_points import mark_measured_points
from muonscope.widgets.pixel_curve import PixelCurve
from muonscope.widgets.theme import FADED_Z, faded_pen, lane_pen

__all__ = ["CapacitySteps"]


class CapacitySteps:
    """The steps mode's curves of every lane, on ``plot`` (recovered, faint) and ``right`` (accuracy)."""

    def __init__(self, plot: pg.PlotItem, right: pg.ViewBox, hover: HoverReadout) -> None:
        self._plot = plot
        self._right = right
        self._hover = hover
        self._recovered: list[PixelCurve] = []
        self._accuracy: list[PixelCurve] = []
        self._faded: list[PixelCurve] = []  # another branch's recovered items, per lane
        self._names: list[LaneNames] = []  # each lane's labels over the steps
        self._faded_names: dict[int, LaneNames] = {}  # the compared branch's, where they differ
        self._points: list[int] = []  # points drawn per lane

    def set_lanes(self, labels: Sequence[str | LaneNames], visible: bool) -> None:
        """A faint, a solid and a dashed curve per lane, in place of the lanes before."""
        for curve in self._recovered + self._faded:
            self._plot.removeItem(curve)
        for curve in self._accuracy:
            self._right.removeItem(curve)
        self._recovered, self._accuracy, self._faded = [], [], []
        self._names = [LaneNames.of(label) for label in labels]
        self._faded_names = {}
        self._points = [0] * len(labels)
        for lane in range(len(labels)):
            faded = PixelCurve(pen=faded_pen(lane), skipFiniteCheck=True)
            faded.setZValue(FADED_Z)  # under every lane's own curves, not only its own lane's
            faded = lane_item(faded, lane)
            solid = lane_item(PixelCurve(pen=lane_pen(lane), skipFiniteCheck=True), lane)
            dashed = lane_item(PixelCurve(pen=lane_pen(lane, "dash", 1.5), skipFiniteCheck=True), lane)
            self._plot.addItem(faded)
            self._plot.addItem(solid)
            self._right.addItem(dashed)
            self._faded.append(faded)
            self._recovered.append(solid)
            self._accuracy.append(dashed)
        self.set_visible(visible)

    def set_labels(self, labels: Sequence[str | LaneNames], read_out: bool) -> None:
        """Rename the lanes; ``read_out``: the hover read-out shows these curves, so it follows."""
        self._names = [LaneNames.of(label) for label in labels]
        if read_out:
            for lane, names in enumerate(self._names):
                self._hover.set_label(lane, names.at)

    def draw(
        self, lane: int, points: tuple[np.ndarray, np.ndarray, np.ndarray], estimated: bool, read_out: bool
    ) -> tuple[np.ndarray, np.ndarray]:
        """Draw a lane's evaluated (steps, recovered, accuracy), NaN counts dropped; ``read_out``:
        the hover read-out shows them ("≈" on ``estimated`` counts). Returns the (steps, recovered)
        drawn."""
        steps, recovered, accuracy = points
        steps = np.asarray(steps, dtype=float)
        recovered = np.asarray(recovered, dtype=float)
        accuracy = np.asarray(accuracy, dtype=float)
        keep = np.isfinite(recovered)
        steps, recovered, accuracy = steps[keep], recovered[keep], accuracy[keep]
        self._recovered[lane].set_whole(steps, recovered)
        self._accuracy[lane].set_whole(steps, accuracy)
        mark_measured_points(self._recovered[lane], steps)
        mark_measured_points(self._accuracy[lane], steps, hollow=True)
        self._points[lane] = steps.size
        if read_out:
            self._hover.set_series(
                lane, self._names[lane].at, steps, recovered, _read_out(accuracy, estimated)
            )
        return steps, recovered

    def set_faded(
        self, lane: int, steps, recovered, names: str | LaneNames | None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Another branch's recovered items of a lane (empty: none), named ``names`` where they
        differ from this branch's; returns the points drawn."""
        if names is None:
            self._faded_names.pop(lane, None)
        else:
            self._faded_names[lane] = LaneNames.of(names)
        steps = np.asarray(steps, dtype=float)
        recovered = np.asarray(recovered, dtype=float)
        keep = np.isfinite(recovered)
        self._faded[lane].set_whole(steps[keep], recovered[keep])
        return steps[keep], recovered[keep]

    def set_visible(self, visible: bool) -> None:
        for curve in self._recovered + self._accuracy + self._faded:
            curve.setVisible(visible)

    @property
    def most_points(self) -> int:
        """The most evaluated points any lane has drawn, on this branch or faded from the one
        compared (0 without lanes): a fork's one evaluation left ④ a placeholder over main's curves."""
        faded = [curve.whole_data()[0].size for curve in self._faded]
        return max(self._points + faded, default=0)

    @property
    def recovered_values(self) -> list[np.ndarray]:
        """Each lane's items recovered at every evaluated step."""
        return [curve.whole_data()[1] for curve in self._recovered]

    @property
    def faded_values(self) -> list[np.ndarray]:
        """Each lane's items recovered on the branch compared (empty where none is)."""
        return [curve.whole_data()[1] for curve in self._faded]

    def recovered_data(self, lane: int) -> tuple[np.ndarray, np.ndarray]:
        return self._recovered[lane].whole_data()

    def faded_data(self, lane: int) -> tuple[np.ndarray, np.ndarray]:
        return self._faded[lane].whole_data()

    @property
    def all_visible(self) -> bool:
        """Whether every lane's curves are on show (False without lanes)."""
        return bool(self._recovered) and all(curve.isVisible() for curve in self._recovered)

    @property
    def marks(self) -> dict[str, str]:
        """The marks the curves carry at measured points, for the style key: dots, rings, or none."""
        marks = {}
        if any(curve.opts["symbol"] is not None for curve in self._recovered):
            marks["recovered"] = "dot"
        if any(curve.opts["symbol"] is not None for curve in self._accuracy):
            marks["accuracy"] = "ring"
        return marks

    @property
    def coinciding(self) -> str:
        """Which lanes' curves lie exactly on one another (the later lane's hides the earlier's), or ""."""
        lanes = range(len(self._recovered))
        curve_sets = [
            ("items recovered", {lane: self._recovered[lane].whole_data() for lane in lanes}),
            ("accuracy", {lane: self._accuracy[lane].whole_data() for lane in lanes}),
        ]
        return coincidence_note(curve_sets, [names.label for names in self._names])

    def data_table(self, compared_branch: str) -> DataTable:
        """Step, then items recovered and population accuracy per lane, and the compared branch's
        items recovered where one is drawn faint."""
        series = []
        for lane, names in enumerate(self._names):
            label = names.text()
            series.append((f"recovered items: {label}", *self._recovered[lane].whole_data()))
            series.append((f"population accuracy: {label}", *self._accuracy[lane].whole_data()))
            faded = self._faded[lane].whole_data()
            if faded[0].size:
                other = self._faded_names.get(lane, names).text()
                series.append((f"recovered items: {other}, {compared_branch}", *faded))
        return as_counts(merged_on_x("step", series), lambda name: name.startswith("recovered items"))


def _read_out(accuracy: np.ndarray, estimated: bool) -> Callable[[float, float, int], str]:
    """The hover text of a lane's point ``i``: its step, items recovered and accuracy."""
    about = "≈ " if estimated else ""
    return lambda step, count, i: (
        f"step {int(step)}: recovered {about}{int(count)}, accuracy {about}{accuracy[i]:.4f}"
    )
