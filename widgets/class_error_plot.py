"""Panel ③: per-class error from the head to the tail of the frequency law, or its history as a heat map.

Two per-class errors: 1 − p̂(correct), how much probability the item's own class still lacks, and
whether the item is not yet recovered (argmax ≠ item), the 0/1 error the papers count items by. With
a learning rate small against log N a lane recovers its head (the argmax is right) long before p̂
moves: the first reads ≈ 1 for every class of a lane that the caption says recovered dozens, the
second drops to 0 over exactly the ranks counted.

Classes in the tail are each right or wrong (error 0 or 1 with a few samples), so a raw per-class
curve is a dense hatch there. Each lane shows the raw values as faint dots and, on top, their mean over
a window of ranks a fixed ratio wide (the same width on the log axis at every rank): the trend reads
at once, the raw values stay visible, and the hover reads the raw ones.

A class that was not evaluated (a large population is evaluated on a sample of its classes) has a
NaN error: it is left out of the raw curve and of every window's mean, never read as 0 or 1.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui

from muonscope.widgets.axes import set_axis_title
from muonscope.widgets.axis_style import style_axis
from muonscope.widgets.coinciding import coincidence_note
from muonscope.widgets.data_table import DataTable, merged_on_x
from muonscope.widgets.decimate import pixel_envelope
from muonscope.widgets.heat_cells import ChangeLines, heat_columns, heat_image, step_cursor
from muonscope.widgets.hover import HOVER_REACH_PX, HoverReadout
from muonscope.widgets.lane_choice import LaneChoice
from muonscope.widgets.lane_focus import lane_item
from muonscope.widgets.lane_names import LaneNames
from muonscope.widgets.number_text import number_text
from muonscope.widgets.panel import PlotPanel
from muonscope.widgets.panel_modes import CLASS_ERROR_QUANTITIES, CLASS_ERROR_VIEWS
from muonscope.widgets.ranges import show_steps, step_axis_end, tick_freely
from muonscope.widgets.series_plot import drawn_data
from muonscope.widgets.theme import RAW_Z, StageStyle, lane_colour, lane_pen, stage_style

__all__ = ["RANK_QUANTITIES", "RANK_WINDOW", "ClassErrorPlot", "RankQuantity", "smooth_by_rank"]

#: Tick text may fill at most this share of the axis (pyqtgraph counts 0.8 of each label's height):
#: the heat map's second tick level, every other group's name, shows only where all fit apart.
_ALL_NAMES_OR_HALF = [(0, 0.8)]
#: pyqtgraph's own limits, for the rank axes the other views show.
_PYQTGRAPH_FILL_LIMITS = [(0, 0.8), (2, 0.6), (4, 0.4), (6, 0.2)]

#: The smoothed curve at rank r averages ranks r / RANK_WINDOW … r · RANK_WINDOW.
RANK_WINDOW = 1.25
#: Opacity (0–255) and size of the dots of the raw per-class values under the smoothed curve. Dots,
#: not a line: in the tail, where classes are right or wrong, a line zigzagging between 0 and 1
#: filled the plot with a dense hatch however faint it was drawn.
RAW_ALPHA = 90
RAW_DOT_PX = 2.5
_RANK_AXIS = "frequency rank (head → tail)"


class RankQuantity(NamedTuple):
    """A per-class value drawn against frequency rank: its axis title, the short form, its name (a
    read-out's "rank 5: error = 0.3"), and what lanes whose curves coincide share ("same errors")."""

    title: str
    short: str | tuple[str, ...]  # shorter and shorter forms of the title (see set_axis_title)
    name: str
    shared: str


#: The views of per-class values against rank (view key → what it draws); the first is the panel's
#: own: what the caption and panel ④ count items by.
RANK_QUANTITIES = {
    "recovery": RankQuantity(
        "not recovered (argmax ≠ item)", ("not recovered", "missed"), "not recovered", "recovery per item"
    ),
    "curves": RankQuantity("error 1 − p̂(correct)", "error", "error", "errors"),
}
#: The heat map's colour-bar title of each quantity, and its short form (the bar is short on a stage).
_HEAT_NAMES = {"error": ("mean error", "error"), "group_loss": ("group loss", "loss")}


def smooth_by_rank(errors: np.ndarray, window: float = RANK_WINDOW) -> np.ndarray:
    """Mean of ``errors`` (index = rank − 1) over ranks [r / window, r · window] for every rank r.

    O(N) through cumulative sums; the window is one rank wide at the head, where every class has
    many samples and needs no averaging, and grows in proportion to the rank in the tail. NaN
    values (classes not evaluated) are skipped; a window with none evaluated is NaN.
    """
    values = np.asarray(errors, dtype=float)  # (N,)
    n = values.size
    if n == 0:
        return values
    rank = np.arange(1, n + 1, dtype=float)
    first = np.clip(np.ceil(rank / window), 1, n).astype(int)  # 1-based, inclusive
    last = np.clip(np.floor(rank * window), 1, n).astype(int)
    last = np.maximum(last, first)
    known = np.isfinite(values)
    total = np.concatenate([[0.0], np.cumsum(np.where(known, values, 0.0))])  # (N + 1,)
    count = np.concatenate([[0], np.cumsum(known)])  # (N + 1,)
    evaluated = count[last] - count[first - 1]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(evaluated > 0, (total[last] - total[first - 1]) / evaluated, np.nan)


class ClassErrorPlot(PlotPanel):
    """``recovery``: the share of items not recovered against frequency rank (log x) per lane;
    ``curves``: error 1 − p̂(correct) against rank; ``heatmap``: buckets × steps of one lane."""

    def __init__(self, parent=None) -> None:
        super().__init__("③ per-class error", parent)
        self.add_mode("view", CLASS_ERROR_VIEWS)
        self.add_mode("quantity", CLASS_ERROR_QUANTITIES, "heat map colour")
        self.lane_combo = self.add_mode("lane", [], "lane shown in the heat map")
        self.lane_choice = LaneChoice(self.lane_combo)
        self.plot.disableAutoRange()
        self.plot.getViewBox().setMouseEnabled(x=False, y=False)
        self.hover = HoverReadout(self.plot)
        self.image, self.colour_bar, self.colour_axis = heat_image(self.plot)
        self.heat_cursor = step_cursor(self.plot)
        self.change_lines = ChangeLines(self.plot)
        self._curves: list[pg.PlotDataItem] = []  # the smoothed curve of each lane
        self._smoothed: dict[int, tuple[np.ndarray, np.ndarray]] = {}  # lane → (rank, mean): all of it
        self._raw: list[pg.PlotDataItem] = []  # the per-class values under it, faint
        self._given: dict[int, tuple[np.ndarray, np.ndarray | None]] = {}  # lane → (errors, recovered)
        self._labels: list[str] = []  # each lane's label at the step its errors are of
        self._run_length: int | None = None  # the heat map's step axis ends there, as ②'s does
        self._names: list[LaneNames] = []  # each lane's labels over the steps (the heat map's)
        self._n_items = 0
        self._sample_note = ""  # what the rank axis says about classes not evaluated
        self._first_column = 0  # the heat map's first column's step, where steps before it are missing
        self._blank_between = False  # blank columns stand for evaluations not on record
        self._heat_cache: tuple[np.ndarray, list[str], np.ndarray] | None = None
        self._bucket_axis, self._bucket_prefix = "frequency rank bucket", "ranks "
        self.mode_changed.connect(lambda *_: self._apply_view())
        self.plot.getViewBox().sigResized.connect(lambda *_: self._draw_smoothed())
        self._apply_view()

    @property
    def view(self) -> str:
        return self.mode("view")

    def set_lanes(self, labels: list[str]) -> None:
        self.remove_lane_curves(self._curves + self._raw)
        self._curves, self._raw = [], []
        self._given.clear()
        self._smoothed.clear()
        self._labels = list(labels)
        self._names = []
        self.lane_choice.fill(labels)  # named: "lane 0" told a room nothing
        for lane in range(len(labels)):
            colour = QtGui.QColor(lane_colour(lane))
            colour.setAlpha(RAW_ALPHA)
            dot_px = RAW_DOT_PX * stage_style().scale ** 0.5  # a dot per class: at 3× the tail crowded
            dots = {"symbol": "o", "symbolSize": dot_px, "symbolPen": None, "symbolBrush": colour}
            raw = pg.PlotDataItem(pen=None, skipFiniteCheck=True, **dots)
            raw.setZValue(RAW_Z)  # every lane's dots under every lane's smoothed curve
            raw = lane_item(raw, lane)
            curve = lane_item(pg.PlotDataItem(pen=lane_pen(lane, width=2.0), skipFiniteCheck=True), lane)
            self.plot.addItem(raw)
            self.plot.addItem(curve)
            self._raw.append(raw)
            self._curves.append(curve)
        self._apply_view()

    def set_labels(self, labels: list[str]) -> None:
        """Rename lanes for the curves' read-outs and table (the errors are of one step: each lane is
        named by the settings that drew it), without recreating curves."""
        self._labels = list(labels)
        self.lane_choice.rename(self._labels)
        if self.view in RANK_QUANTITIES:
            for lane, label in enumerate(self._labels):
                self.hover.set_label(lane, label)

    def set_lane_names(self, names: Sequence[str | LaneNames]) -> None:
        """Each lane's labels over the steps: the heat map of one lane spans them all."""
        self._names = [LaneNames.of(name) for name in names]
        self.lane_choice.set_tooltips([lane_names.text() for lane_names in self._names])

    def heat_lane(self) -> int:
        """The position of the lane the heat map draws."""
        return self.lane_choice.position

    def legend_lanes_for(self, lanes):
        """The heat map draws one lane: a picture of it names that lane alone, as the heat map's (the
        lane box is not in a picture, and a legend of five lanes under a map of one did not say which)."""
        named = super().legend_lanes_for(lanes)  # the note on faint curves: none here
        if self.view != "heatmap":
            return named
        if self.heat_lane() >= len(named):
            return ()
        position, text = named[self.heat_lane()]
        return ((position, f"heat map of {text}"),)

    def set_errors(self, lane: int, errors: np.ndarray, recovered: np.ndarray | None = None) -> None:
        """Error 1 − p̂(correct) of each class and whether it is recovered (1, 0, or NaN where not
        evaluated), index = frequency rank − 1, head first."""
        given = self._given.get(lane)
        if given is not None and given[0] is errors and given[1] is recovered:
            return  # they only change at evaluation steps
        self._given[lane] = (errors, recovered)
        if self.view in RANK_QUANTITIES:
            self._draw_lane(lane)
        n_items = np.asarray(errors).size
        if n_items and n_items != self._n_items:
            self._n_items = n_items
            self._apply_view()

    def _shown_values(self, lane: int) -> np.ndarray:
        """The lane's per-class values the view draws: its errors, or 1 where an item is not recovered."""
        errors, recovered = self._given.get(lane, (np.zeros(0), None))
        if self.view != "recovery":
            return np.asarray(errors, dtype=float)
        return np.zeros(0) if recovered is None else 1.0 - np.asarray(recovered, dtype=float)

    def _draw_lane(self, lane: int) -> None:
        values = self._shown_values(lane)
        rank = np.arange(1, values.size + 1, dtype=float)
        smooth = smooth_by_rank(values)
        known = np.isfinite(values)  # the classes evaluated (all, unless a sample was)
        shown = np.isfinite(smooth)
        self._raw[lane].setData(rank[known], values[known])
        self._smoothed[lane] = (rank[shown], smooth[shown])
        self._draw_smoothed(lane)
        text = _rank_text(RANK_QUANTITIES[self.view].name)
        self.hover.set_series(lane, self._labels[lane], rank[known], values[known], text)

    def raw_data(self, lane: int) -> tuple[np.ndarray, np.ndarray]:
        """(rank, value) of a lane's per-class values as the view draws them: the faint dots, which the
        hover reads."""
        return drawn_data(self._raw[lane])

    @property
    def coinciding(self) -> str:
        """Which lanes' per-class values lie exactly on one another ("same recovery per item in both
        lanes": every item recovered by each), or ""; the heat map shows one lane at a time."""
        if self.view == "heatmap":
            return ""
        curves = {lane: self.raw_data(lane) for lane in range(len(self._raw))}
        return coincidence_note([(RANK_QUANTITIES[self.view].shared, curves)], self._labels)

    def smoothed_data(self, lane: int) -> tuple[np.ndarray, np.ndarray]:
        """(rank, window mean) of a lane's smoothed curve at every rank, as computed (not as thinned)."""
        return self._smoothed.get(lane, (np.zeros(0), np.zeros(0)))

    def _draw_smoothed(self, *lanes: int) -> None:
        """Give the smoothed curves the points their pixel columns show (all lanes when none is named).

        The smoothed curve is drawn thick, and a thick line costs per point; the per-class values
        under it are drawn whole (faint dots blend where they overlap, so fewer would look lighter).
        """
        view = self.plot.getViewBox()
        (left, right), _ = view.viewRange()  # log₁₀ rank
        columns = view.width() * self.plot_widget.devicePixelRatioF()
        for lane in lanes or tuple(self._smoothed):
            rank, mean = self._smoothed[lane]
            if right <= left or columns < 1:
                keep = np.arange(rank.size)
            else:
                keep = pixel_envelope((np.log10(rank) - left) / (right - left) * columns, mean)
            self._curves[lane].setData(rank[keep], mean[keep])

    @property
    def quantity(self) -> str:
        return self.mode("quantity")

    def set_heatmap(
        self,
        steps: np.ndarray,
        bucket_labels: list[str],
        values: np.ndarray,
        bucket_axis: str = "frequency rank bucket",
        bucket_prefix: str = "ranks ",
    ) -> None:
        """values (T, buckets) at each recorded step: mean error per rank bucket, or group loss.

        Errors are drawn on a fixed 0–1 scale; losses as log₁₀ with the data's own range. A task
        whose buckets are its own frequency groups names them (``bucket_axis`` titles the axis,
        ``bucket_prefix`` starts each hover read-out).
        """
        if (bucket_axis, bucket_prefix) != (self._bucket_axis, self._bucket_prefix):
            self._bucket_axis, self._bucket_prefix = bucket_axis, bucket_prefix
            if self.view == "heatmap":
                self._title_bucket_axis()
        self._heat_cache = (
            np.asarray(steps, dtype=float),
            list(bucket_labels),
            np.asarray(values, dtype=float),
        )
        if self.view == "heatmap":
            self._draw_heatmap()

    def data_table(self) -> DataTable:
        """What is on show: error by frequency rank per lane, or the heat map's steps × rank buckets.

        Curves: each lane's per-class error (the faint curve) and its mean over the window of
        ranks (the solid one). The heat map's cells are its data (mean error, or group loss itself
        rather than the log₁₀ that sets its colour), a row per recorded step, a column per bucket.
        """
        if self.view in RANK_QUANTITIES:
            title, at = RANK_QUANTITIES[self.view].title, self._at_shown_step()
            series = []
            for lane, (raw, label) in enumerate(zip(self._raw, self._labels, strict=False)):
                series.append((f"{title}{at}: {label}", *drawn_data(raw)))
                series.append(
                    (
                        f"{title}, mean over ranks r/{RANK_WINDOW:g}…r·{RANK_WINDOW:g}{at}: {label}",
                        *self.smoothed_data(lane),
                    )
                )
            return merged_on_x(_RANK_AXIS, series)
        if self._heat_cache is None:
            return ["step"], []
        steps, buckets, values = self._heat_cache
        position = self.heat_lane()
        names = self._names or [LaneNames.of(label) for label in self._labels]
        lane = names[position].text() if position < len(names) else ""
        name = _HEAT_NAMES[self.quantity][0]
        columns = ["step", *(f"{name}, ranks {bucket}: {lane}" for bucket in buckets)]
        return columns, np.column_stack([steps, values]).tolist()

    def why_empty(self) -> str | None:
        """The heat map before its first column: empty axes from −0.4 to 0.4 said nothing."""
        if self.view != "heatmap" or (self._heat_cache is not None and self._heat_cache[0].size):
            return None
        return (
            "A column per population evaluation: each frequency bucket's mean error or group loss. "
            "Nothing drawn yet: columns come as the run steps and is evaluated."
        )

    def _draw_heatmap(self) -> None:
        self.show_why_empty()
        if self._heat_cache is None or self._heat_cache[0].size == 0:
            self.image.clear()
            return
        steps, labels, values = self._heat_cache
        shown = values if self.quantity == "error" else np.log10(np.clip(values, 1e-16, None))
        levels = (0.0, 1.0) if self.quantity == "error" else _loss_levels(shown)
        columns = heat_columns(steps, shown)  # each cell centred on the step it was measured at
        self.image.setImage(columns.values.T, autoLevels=False, levels=levels)  # rows: buckets, head at 0
        self.colour_axis.set_log_mapped(self.quantity != "error")  # group loss: decades, as loss values
        # the colour's meaning on the bar itself: the header's box is cut to "mea…" at 1280 px
        self.colour_axis.set_title(*_HEAT_NAMES[self.quantity])
        self.colour_bar.setLevels(levels)
        self.image.setRect(QtCore.QRectF(columns.left, 0.0, columns.width, values.shape[1]))
        show_steps(self.plot, step_axis_end(steps[-1], self._run_length))
        self.plot.setYRange(0, len(labels), padding=0)
        ticks = [(i + 0.5, text) for i, text in enumerate(labels)]
        # every other group named first; the rest where all the names fit without touching (at
        # 1.5× in a 1280 px window nine names stood 15 px apart, their letters touching)
        axis = self.plot.getAxis("left")
        axis.setTicks([ticks[::2], ticks[1::2]])
        axis.setStyle(textFillLimits=_ALL_NAMES_OR_HALF)
        for b, text in enumerate(labels):
            row = np.full(steps.size, b + 0.5)
            self.hover.set_series(
                ("heat", b),
                f"{self._bucket_prefix}{text}",
                steps,
                row,
                _heat_text(values[:, b], self.quantity),
            )

    def set_shown_step(self, step: int | None) -> None:
        """The evaluation on show; on the heat map, the cursor stands at its column."""
        super().set_shown_step(step)
        if step is not None:
            self.heat_cursor.setValue(step)
        self.heat_cursor.setVisible(self.view == "heatmap" and step is not None)

    def set_run_length(self, steps: int | None) -> None:
        """The run's length: the heat map's step axis ends there while the run is within it."""
        self._run_length = steps

    def apply_style(self, style: StageStyle) -> None:
        """The panel's chrome, and the heat map's colour scale with it (at 3× its labels stayed small)."""
        super().apply_style(style)
        style_axis(self.colour_axis, style)
        self.change_lines.restyle()

    def _apply_view(self) -> None:
        heat = self.view == "heatmap"
        self.show_why_empty()
        self.image.setVisible(heat)
        self.colour_bar.setVisible(heat)
        self.heat_cursor.setVisible(heat and self._shown_step is not None)
        self.change_lines.set_visible(heat)
        self.lane_combo.setEnabled(heat)
        self.modes["quantity"].setEnabled(heat)
        self.show_grid(not heat)
        self.refresh_lane_legend()
        for curve in self._curves + self._raw:
            curve.setVisible(not heat)
        self.hover.clear()
        # a heat map's cells fill the plot: the cell under the mouse is the one whose centre is
        # nearest, however wide (a 10-step cell is 84 px at 1920; a curve's points answer within 25)
        self.hover.set_reach(math.inf if heat else HOVER_REACH_PX)
        if heat:
            self.plot.setLogMode(x=False, y=False)
            self._title_step_axis()
            self._title_bucket_axis()
            self._draw_heatmap()
        else:
            self.plot.getAxis("left").setTicks(None)
            self.plot.getAxis("left").setStyle(textFillLimits=_PYQTGRAPH_FILL_LIMITS)
            tick_freely(self.plot)  # ranks: the heat map's whole steps no more
            # ranges first: a step range read as decades would overflow 10**x
            self.plot.setXRange(0, np.log10(max(self._n_items, 10)), padding=0.01)
            self.plot.setYRange(0, 1, padding=0.02)
            self.plot.setLogMode(x=True, y=False)
            self._draw_smoothed()  # thinned for the rank range just set
            self.plot.setLabel("bottom", self._rank_axis_label())
            quantity = RANK_QUANTITIES[self.view]
            set_axis_title(self.plot, "left", quantity.title, quantity.short)
            for lane in self._given:
                self._draw_lane(lane)

    def _title_bucket_axis(self) -> None:
        """The heat map's bucket axis, "ranks" or "group" where the whole title does not fit."""
        short = "group" if self._bucket_prefix.strip() == "group" else "ranks"
        set_axis_title(self.plot, "left", self._bucket_axis, short)

    def set_first_column(self, step: int, blank_between: bool = False) -> None:
        """Where the heat map's columns begin, where evaluations before it are not on record (an
        opened session keeps no group errors: its map began at the step it was opened at, blank
        before, as if nothing had been evaluated); 0 where none are missing. ``blank_between``:
        blank columns between others stand for evaluations not on record (a branch switched to)."""
        if (step, blank_between) == (self._first_column, self._blank_between):
            return
        self._first_column, self._blank_between = step, blank_between
        if self.view == "heatmap":
            self._title_step_axis()

    def _title_step_axis(self) -> None:
        if not self._first_column:
            if self._blank_between:
                whole = "step · blank: the group errors of those steps are not on record"
                set_axis_title(self.plot, "bottom", whole, "step · blank: not on record")
            else:
                set_axis_title(self.plot, "bottom", "step")
            return
        step = self._first_column
        if self._blank_between:  # and blank columns after it: one note for both
            whole = f"step · columns from step {step}; blank: the group errors there are not on record"
            set_axis_title(self.plot, "bottom", whole, f"step · from step {step}; blank: not on record")
            return
        whole = f"step · columns from step {step}: the group errors before it are not on record"
        set_axis_title(self.plot, "bottom", whole, f"step · columns from step {step}")

    def set_sample_note(self, note: str) -> None:
        """Say on the rank axis that only some classes were evaluated (``""``: all were)."""
        if note == self._sample_note:
            return
        self._sample_note = note
        if self.view in RANK_QUANTITIES:
            self.plot.setLabel("bottom", self._rank_axis_label())

    def _rank_axis_label(self) -> str:
        return f"{_RANK_AXIS} · {self._sample_note}" if self._sample_note else _RANK_AXIS


def _rank_text(name: str):
    return lambda rank, value, _i: f"rank {int(rank)}: {name} = {number_text(value, 4)}"


def _heat_text(column: np.ndarray, quantity: str):
    name = _HEAT_NAMES[quantity][0]
    return lambda step, _y, i: f"step {int(step)}: {name} = {number_text(column[i], 4)}"


#: The least span of the group-loss colour scale, in decades: every group's loss is ln N at W = 0,
#: and a scale of 10⁻⁹ decades was labelled "4.158883090" to "4.158883085".
LEAST_LOSS_DECADES = 0.1


def _loss_levels(log_loss: np.ndarray) -> tuple[float, float]:
    """The colour scale of log₁₀ group losses: their range, widened about its middle to at least
    LEAST_LOSS_DECADES (equal losses take its middle colour)."""
    low, high = float(log_loss.min()), float(log_loss.max())
    if high - low >= LEAST_LOSS_DECADES:
        return low, high
    middle = (low + high) / 2
    return middle - LEAST_LOSS_DECADES / 2, middle + LEAST_LOSS_DECADES / 2
