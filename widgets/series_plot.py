"""Panel ② and friends: per-lane time series with event markers and a step cursor."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

import numpy as np
import pyqtgraph as pg
from PySide6 import QtGui, QtWidgets

from muonscope.widgets.axes import set_axis_title
from muonscope.widgets.coinciding import coincidence_note, lanes_named
from muonscope.widgets.data_table import DataTable, merged_on_x
from muonscope.widgets.event_markers import EventMarkers
from muonscope.widgets.hover import HoverReadout
from muonscope.widgets.lane_focus import lane_item
from muonscope.widgets.lane_names import LaneNames
from muonscope.widgets.measured_points import mark_measured_points
from muonscope.widgets.number_text import number_text
from muonscope.widgets.panel import PlotPanel
from muonscope.widgets.panel_modes import SERIES_SCALES, SERIES_SMOOTHING
from muonscope.widgets.pixel_curve import PixelCurve
from muonscope.widgets.ranges import StableRange, show_steps, step_axis_end
from muonscope.widgets.smoothing import ema
from muonscope.widgets.theme import FADED_Z, RAW_Z, faded_pen, lane_pen, raw_pen

__all__ = ["EventMarkers", "SeriesPlot", "drawn_data"]


class SeriesPlot(PlotPanel):
    """One curve per lane of a metric over steps; the metric is chosen in the header."""

    draws_compared_branch = True

    def __init__(
        self,
        title: str,
        metrics: list[tuple[str, str]],
        short_titles: Mapping[str, tuple[str, ...]] | None = None,
        at_most_one: Collection[str] = (),
        parent=None,
    ) -> None:
        """``metrics``: (key, menu text) of each metric; ``short_titles``: the y-axis title of a key
        whose menu text does not fit beside the axis; ``at_most_one``: keys of metrics that never
        exceed 1 (sin Θ, a share, a normalised entropy), whose axis stops there rather than at a
        round 1.2 above a curve near 1."""
        super().__init__(title, parent)
        self._short_titles = dict(short_titles or {})
        self._at_most_one = frozenset(at_most_one)
        self.add_mode("metric", metrics, "which metric to plot over steps")
        self.add_mode("scale", SERIES_SCALES, "vertical axis scale")
        self.plot.setLabel("bottom", "step")
        self._title_metric_axis()
        self.plot.disableAutoRange()
        self.plot.getViewBox().setMouseEnabled(x=False, y=False)
        self.hover = HoverReadout(self.plot)
        self.markers = EventMarkers(self.plot, keep_off=self._note_rect)
        self._curves: list[PixelCurve] = []
        self._raw: list[PixelCurve] = []  # each lane's raw points, under its smoothed curve
        self._faded: list[PixelCurve] = []  # another branch's curve of each lane
        # what each lane's curves were last given, smoothed again when the smoothing changes
        self._given: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self._faded_given: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self._names: list[LaneNames] = []  # each lane's labels over the steps
        self._definition = ""  # what the metric on show is taken of (see set_definition)
        self._faded_names: dict[int, LaneNames] = {}  # the compared branch's, where they differ
        self._zeros_left_out: dict[int, bool] = {}  # lane → values ≤ 0 a log axis could not draw
        self.compared_branch = "compared branch"  # how a table names the faint curves' branch
        self._points: list[int] = []  # points drawn per lane: a curve needs two
        self._y = self._new_range()
        self._x_max = 0.0
        self._run_length: int | None = None
        self._smoothing = 0.0
        self.smoothing_menu = self._build_smoothing_menu()
        self.mode_changed.connect(self._on_mode_changed)

    def set_lanes(self, labels: Sequence[str | LaneNames]) -> None:
        self.remove_lane_curves(self._curves + self._raw + self._faded)
        self._curves, self._raw, self._faded = [], [], []
        self._given, self._faded_given = {}, {}
        self._names = [LaneNames.of(label) for label in labels]
        self._faded_names = {}
        self._zeros_left_out = {}
        self._points = [0] * len(labels)
        layers = (  # every lane's faint curves under every lane's bold ones
            (self._faded, faded_pen, FADED_Z),
            (self._raw, raw_pen, RAW_Z),
            (self._curves, lane_pen, 0.0),
        )
        for lane in range(len(labels)):
            for curves, pen, depth in layers:
                curve = PixelCurve(pen=pen(lane), skipFiniteCheck=True)
                curve.setZValue(depth)
                curves.append(lane_item(curve, lane))
                self.plot.addItem(curves[-1])

    def set_labels(self, labels: Sequence[str | LaneNames]) -> None:
        """Rename the lanes (a label, or the labels over the steps), read-outs of drawn points included."""
        self._names = [LaneNames.of(label) for label in labels]
        for lane, names in enumerate(self._names):
            self.hover.set_label(lane, names.at)

    def _build_smoothing_menu(self) -> QtWidgets.QMenu:
        """Smoothing ▸ raw, EMA 0.6, …: in the plot's right-click menu (and the window's View menu).

        Not a box in the header: a third one there cut the metric's name to "spectral gap …" at
        1280 pixels, where the panel is half the stage wide.
        """
        menu = QtWidgets.QMenu("Smoothing", self)
        menu.setToolTipsVisible(True)
        group = QtGui.QActionGroup(menu)
        for weight, text in SERIES_SMOOTHING:
            action = menu.addAction(text)
            action.setCheckable(True)
            action.setChecked(weight == self._smoothing)
            action.setData(weight)
            action.setToolTip(
                "the points as measured"
                if weight == 0
                else f"a debiased exponential moving average, weight {weight:g} per step (TensorBoard's, on"
                " points a step apart); the raw curve stays beneath, faint"
            )
            action.triggered.connect(lambda _checked=False, w=weight: self.set_smoothing(w))
            group.addAction(action)
        self.export_menu.addSeparator()
        self.export_menu.addMenu(menu)
        return menu

    @property
    def smoothing(self) -> float:
        """The weight of the moving average drawn bold (0: the raw points are drawn bold)."""
        return self._smoothing

    def set_smoothing(self, weight: float) -> None:
        """Draw each lane's curve as a moving average of weight ``weight`` (one of SERIES_SMOOTHING's;
        0: raw), its raw points faint beneath; the drawn data are smoothed again at once."""
        if weight not in (offered for offered, _ in SERIES_SMOOTHING):
            raise ValueError(f"smoothing has no weight {weight!r}")
        for action in self.smoothing_menu.actions():
            action.setChecked(action.data() == weight)
        if weight == self._smoothing:
            return
        self._smoothing = weight
        for lane, given in list(self._given.items()):
            self.set_series(lane, *given)
        for lane, given in list(self._faded_given.items()):
            self.set_faded(lane, *given, self._faded_names.get(lane))
        self.mode_changed.emit("smoothing", f"{weight:g}")  # the notes follow with the next frame

    @property
    def smoothing_note(self) -> str:
        """What the bold curves are, while they are not the raw points: a picture carries no menu."""
        if not self.smoothing or max(self._points, default=0) < 2:
            return ""
        return f"bold: EMA {self._smoothing:g} per step, faint: raw"

    def set_series(self, lane: int, steps: np.ndarray, values: np.ndarray) -> None:
        """Draw a lane's finite (step, value) points; NaN marks steps where the metric was not computed."""
        steps = np.asarray(steps, dtype=float)
        values = np.asarray(values, dtype=float)
        self._given[lane] = (steps, values)
        finite = np.isfinite(values)
        keep = finite & ((values > 0) if self.log_y else True)
        left_out = finite & ~keep
        self._zeros_left_out[lane] = bool(np.any(left_out))
        connect = _joined_across_no(left_out, keep)
        steps, values = steps[keep], values[keep]
        smoothed = ema(values, self.smoothing, steps)
        self._curves[lane].set_whole(steps, smoothed, connect)
        mark_measured_points(self._curves[lane], steps)
        raw = (steps, values) if self.smoothing else (np.zeros(0), np.zeros(0))
        self._raw[lane].set_whole(*raw, connect if self.smoothing else None)
        self._points[lane] = steps.size
        self.show_why_empty()
        metric = self.modes["metric"].currentText()
        self.hover.set_series(lane, self._names[lane].at, steps, smoothed, self._formatter(metric, values))
        self._fit(steps, values)

    def _formatter(self, metric: str, raw: np.ndarray):
        """The hover's text of a point: the value drawn, and the raw one beside a smoothed value."""
        if not self.smoothing:
            return lambda step, value, _i: f"step {int(step)}: {metric} = {number_text(value, 6)}"
        weight = f"{self._smoothing:g}"
        return lambda step, value, i: (
            f"step {int(step)}: {metric} = {number_text(value, 6)}"
            f" (EMA {weight}; raw {number_text(raw[i], 6)})"
        )

    def _fit(self, steps: np.ndarray, values: np.ndarray) -> None:
        grown = self._y.update(values)
        if grown is not None:
            self.plot.setYRange(*grown, padding=0.02)
        if steps.size:
            self.extend_to(steps[-1])

    def set_faded(self, lane: int, steps, values, names: str | LaneNames | None = None) -> None:
        """Another branch's (step, value) points of a lane, drawn faint (empty: none), smoothed as the
        lane's own curve is; ``names``: the lane's labels on that branch, when they differ from this one's."""
        if names is None:
            self._faded_names.pop(lane, None)
        else:
            self._faded_names[lane] = LaneNames.of(names)
        steps = np.asarray(steps, dtype=float)
        values = np.asarray(values, dtype=float)
        self._faded_given[lane] = (steps, values)
        keep = np.isfinite(values) & ((values > 0) if self.log_y else True)
        steps, values = steps[keep], values[keep]
        self._faded[lane].set_whole(steps, ema(values, self.smoothing, steps))
        self._fit(steps, values)  # a branch that ran further, or higher, is drawn whole

    def curve_data(self, lane: int) -> tuple[np.ndarray, np.ndarray]:
        """The (step, value) points of a lane's bold curve (smoothed, where smoothing is on), every
        one given, not only those its pixels show."""
        return self._curves[lane].whole_data()

    def raw_data(self, lane: int) -> tuple[np.ndarray, np.ndarray]:
        """The raw (step, value) points drawn faint under a smoothed curve (empty while raw is bold)."""
        return self._raw[lane].whole_data()

    def joined_points(self, lane: int) -> np.ndarray:
        """Per drawn point of a lane, whether the line goes on to the next (a gap where it does not)."""
        return self._curves[lane].joined

    @property
    def zeros_note(self) -> str:
        """What the log axis leaves out ("values at 0 are not drawn on a log axis"), or "": a curve that
        reached 0 (a loss at round-off) simply stopped, as if its lane had stopped running."""
        lanes = [lane for lane in range(len(self._curves)) if self._zeros_left_out.get(lane, False)]
        if not lanes:
            return ""
        named = lanes_named([(lane, self._names[lane].label) for lane in lanes])
        return f"values ≤ 0 are left out on a log axis (a gap in {named})"

    @property
    def coinciding(self) -> str:
        """Which lanes' curves lie exactly on one another ("same loss in both lanes"), or ""."""
        curves = {lane: self.curve_data(lane) for lane in range(len(self._curves))}
        metric = self.modes["metric"].currentText()
        return coincidence_note([(metric, curves)], [names.label for names in self._names])

    def why_empty(self) -> str | None:
        """The empty text while no lane has two points (a curve), on this branch or faded."""
        faded = [curve.whole_data()[0].size for curve in self._faded]
        return self.empty_text if max(self._points + faded, default=0) < 2 else None

    def faded_data(self, lane: int) -> tuple[np.ndarray, np.ndarray]:
        """The compared branch's points drawn for a lane."""
        return self._faded[lane].whole_data()

    def set_definition(self, text: str) -> None:
        """What the metric on show is taken of, where its name alone does not say ("r = 10, of M"):
        the corner note says it on screen, and a table's columns name it."""
        self._definition = text

    def data_table(self) -> DataTable:
        """step, then the metric on show for each lane (and for the compared branch, where drawn);
        a column of "σ_r − σ_(r+1)" said neither r nor the matrix."""
        metric = self.modes["metric"].currentText()
        if self._definition:  # its no-break spaces, which keep a wrapped note's terms whole, as spaces
            metric = f"{metric} [{self._definition.replace(chr(0xA0), ' ')}]"
        smoothed = f"{metric}, EMA {self._smoothing:g}" if self.smoothing else metric
        series = []
        for lane, names in enumerate(self._names):
            series.append((f"{smoothed}: {names.text()}", *self.curve_data(lane)))
            if self.smoothing:
                series.append((f"{metric}: {names.text()}", *self.raw_data(lane)))
            faded = self.faded_data(lane)
            if faded[0].size:
                other = self._faded_names.get(lane, names)
                series.append((f"{smoothed}: {other.text()}, {self.compared_branch}", *faded))
        return merged_on_x("step", series)

    @property
    def log_y(self) -> bool:
        return self.mode("scale") == "log"

    def _title_metric_axis(self) -> None:
        """The y axis says what it measures, as the header's menu does: a picture of the panel
        (an export, a slide) carries no menu."""
        box = self.modes["metric"]
        set_axis_title(self.plot, "left", box.currentText(), self._short_titles.get(box.currentData(), ""))

    def _on_mode_changed(self, name: str, _value: str) -> None:
        if name == "smoothing":  # redrawn by set_smoothing
            return
        if name == "metric":
            self._title_metric_axis()
        if name == "scale":
            self.plot.setYRange(0, 1, padding=0)  # a linear range read as decades would overflow
            self.plot.setLogMode(x=False, y=self.log_y)
        self._y = self._new_range()
        self.reset_range()

    def _new_range(self) -> StableRange:
        """The y range of the metric and scale on show; log ranges are in decades (1 = decade 0)."""
        bounded = self.modes["metric"].currentData() in self._at_most_one
        return StableRange(log=self.log_y, ceiling=(0.0 if self.log_y else 1.0) if bounded else None)

    def set_run_length(self, steps: int | None) -> None:
        """The run's length: the step axis ends there while the run is within it (see step_axis_end)."""
        self._run_length = steps

    def extend_to(self, step: float) -> None:
        """Grow the step axis in round jumps so it does not creep every frame."""
        end = step_axis_end(step, self._run_length)
        if end > self._x_max:  # past the end's headroom, not only past the end
            self._x_max = end
            show_steps(self.plot, self._x_max)

    def restart_step_axis(self) -> None:
        """Let the step axis fit again from the next :meth:`extend_to`, which only grows it: once a
        compared branch of 120 steps went, a fork of 10 sat squeezed at the left edge."""
        self._x_max = 0.0

    def reset_range(self) -> None:
        self._y.reset()
        self._x_max = 0.0


def _joined_across_no(left_out: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """Which drawn points join the next (``connect`` per point): not across a value left out, so that
    an alignment below 0 on a log axis leaves a gap and is not bridged as if it were never measured.
    Steps where the metric was not computed (NaN, its cadence) are joined across."""
    gaps_before = np.cumsum(left_out)[keep]  # (n_kept,) values left out up to each drawn point
    joined = np.zeros(gaps_before.size, dtype=bool)
    joined[:-1] = gaps_before[1:] == gaps_before[:-1]
    return joined


def drawn_data(curve: pg.PlotDataItem) -> tuple[np.ndarray, np.ndarray]:
    """The data a curve was given, in data units (empty arrays before any was set)."""
    x, y = curve.xData, curve.yData
    return (np.zeros(0) if x is None else np.asarray(x)), (np.zeros(0) if y is None else np.asarray(y))
