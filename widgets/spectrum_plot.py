"""Panel ①: sorted singular values of each lane's matrices, on a log axis."""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg

from muonscope.widgets.axes import set_axis_title
from muonscope.widgets.axis_style import style_axis
from muonscope.widgets.coinciding import coincidence_note
from muonscope.widgets.data_table import DataTable, merged_on_x
from muonscope.widgets.heat_cells import ChangeLines, step_cursor
from muonscope.widgets.hover import HOVER_REACH_PX, HoverReadout
from muonscope.widgets.lane_choice import LaneChoice
from muonscope.widgets.lane_focus import lane_item
from muonscope.widgets.lane_names import LaneNames
from muonscope.widgets.number_text import number_text
from muonscope.widgets.panel import PlotPanel
from muonscope.widgets.panel_modes import SPECTRUM_VIEWS
from muonscope.widgets.ranges import (
    StableRange,
    show_steps,
    step_axis_end,
    tick_freely,
    tick_whole_numbers_if_short,
)
from muonscope.widgets.series_plot import drawn_data
from muonscope.widgets.spectra_heat_map import HOVER_KEY, SpectraHeatMap, SpectraOverSteps
from muonscope.widgets.theme import StageStyle, lane_colour, lane_pen

__all__ = ["MATRIX_STYLES", "SpectrumPlot"]

#: Matrix → (line style, short name). Styles, not colours, separate the matrices of one lane.
MATRIX_STYLES = {
    "gradient": ("solid", "G"),
    "momentum": ("dash", "M"),
    "update": ("dot", "update"),
    "weights": ("dashdot", "W"),
    "signal": ("dot", "G_sig"),
}
#: Why a lane draws no curve of a matrix it was asked for (the style key's tooltip).
_MISSING_WHY = {
    "momentum": "a lane with μ = 0 or momentum order none keeps no momentum buffer M, and a diverged "
    "lane's is not drawn",
    "signal": "only a spiked stream has a signal G_sig",
}
#: Singular values below this fraction of the largest are round-off, not spectrum: not drawn. In
#: float32 the floor is higher: ROUND_OFFS_DRAWN of its eps (see :meth:`SpectrumPlot.noise_floor`).
NUMERICAL_ZERO = 1e-10
#: Round-offs of σ₁ below which a coarse dtype's singular values are not drawn: the engine's spectral
#: summaries take them as zero, and float32's round-off in null directions reached 1.5 of them, drawn
#: as a tail that ran to 10⁻³⁹ where float64 had 10⁻⁴⁸.
ROUND_OFFS_DRAWN = 16
#: Diameter of the rings on G_sig's singular values: a dotted line through three values was hidden
#: under the buffer's head, which matches them.
SIGNAL_RING_PX = 8
#: G_sig's values are ringed while they are this few (a spiked signal's strengths); a memory's
#: population gradient has d of them, and rings at every k made a band that hid the lanes' G.
SIGNAL_RINGS_UP_TO = 12
#: Pixels the σ axis keeps at least between its extreme values and its ends.
EDGE_PX = 8
#: Pixels across the dot that draws a spectrum of one value: a line through one point draws nothing,
#: and the G of a one-item minibatch (rank 1) was missing from the plot.
LONE_VALUE_DOT_PX = 6
#: Fresh spectra in a row that must leave much of the σ axis unused before it shrinks to them (see
#: :meth:`StableRange.settle`): about a second of a playing run, as many steps when stepping.
SHRINK_AFTER_FRAMES = 24
#: The end of a ``view`` value that draws one matrix's spectra over the steps ("gradient:steps").
OVER_STEPS = ":steps"


class SpectrumPlot(PlotPanel):
    """σ_k against k for every lane; which matrices show is the panel's ``view`` mode."""

    def __init__(self, parent=None) -> None:
        super().__init__("① spectra σ_k", parent)
        self.add_mode("view", SPECTRUM_VIEWS, "which matrices' singular values to draw")
        self.lane_combo = self.add_mode("lane", [], "lane whose spectra over the steps are drawn")
        self.lane_choice = LaneChoice(self.lane_combo)
        self.plot.setLogMode(x=False, y=True)
        self.plot.setLabel("bottom", "index k")
        set_axis_title(self.plot, "left", "singular value σ_k", "σ_k")
        self.plot.getViewBox().setMouseEnabled(x=False, y=False)
        self.plot.disableAutoRange()
        self.hover = HoverReadout(self.plot)
        self.heat = SpectraHeatMap(self.plot, self.hover)
        self.heat_cursor = step_cursor(self.plot)
        self.change_lines = ChangeLines(self.plot)
        self._over_steps: tuple[SpectraOverSteps, LaneNames] | None = None
        self._run_length: int | None = None
        self._heat_on = True  # drawn over the steps: the first _apply_visibility sets up the curves' axes
        self._curves: dict[tuple[int, str], pg.PlotDataItem] = {}
        self._drawn: dict[tuple[int, str], np.ndarray] = {}
        self._cut: dict[tuple[int, str], bool] = {}  # (lane, matrix) → σ_k left out below the floor
        self._pending: dict[tuple[int, str], np.ndarray] = {}
        self._steps: dict[tuple[int, str], int | None] = {}  # (lane, matrix) → the step its values are of
        self._labels: list[str] = []
        self._y = StableRange(log=True, shrink_after=SHRINK_AFTER_FRAMES)
        self._fresh = False  # a spectrum was drawn since the last settle_range
        self._x_max = 0  # none drawn: the first spectrum, of one value too, sets the index axis
        self._frozen_since: int | None = None  # the step the lane over the steps diverged at
        self._eps = float(np.finfo(np.float64).eps)
        self._dtype = "float64"
        self.mode_changed.connect(lambda *_: self._apply_visibility())
        self._apply_visibility()

    @property
    def heat_matrix(self) -> str | None:
        """The matrix drawn over the steps ("gradient"), or None while curves of one step are drawn."""
        view = self.mode("view")
        return view.removesuffix(OVER_STEPS) if view.endswith(OVER_STEPS) else None

    def heat_lane(self) -> int:
        """The position of the lane drawn over the steps."""
        return self.lane_choice.position

    def visible_matrices(self) -> tuple[str, ...]:
        """The matrices whose curves of one step are drawn (none while one is drawn over the steps)."""
        return () if self.heat_matrix else tuple(self.mode("view").split("+"))

    def set_lanes(self, labels: list[str]) -> None:
        """Create the curve items for a new set of lanes (once per lane set, not per frame)."""
        self.remove_lane_curves(self._curves.values())
        self._curves.clear()
        self._drawn.clear()
        self._cut.clear()
        self._steps.clear()
        self._pending.clear()
        self._labels = list(labels)
        self.lane_choice.fill(labels)
        for lane in range(len(labels)):
            for matrix, (style, _short) in MATRIX_STYLES.items():
                width = 2.5 if matrix == "signal" else 1.8
                curve = pg.PlotDataItem(pen=lane_pen(lane, style, width), skipFiniteCheck=True)
                if matrix == "signal":  # on top, and ringed while its values are few: see SIGNAL_RING_PX
                    curve.setZValue(1)
                lane_item(curve, lane)
                self.plot.addItem(curve)
                self._curves[(lane, matrix)] = curve
        self._apply_visibility()

    def set_labels(self, labels: list[str]) -> None:
        """Rename lanes for the hover read-out and the table, without recreating curves.

        The spectra are those of one step: each lane is named by the settings that drew that step.
        """
        self._labels = list(labels)
        for lane, matrix in self._curves:
            self.hover.set_label((lane, matrix), self._labels[lane])
        self.lane_choice.rename(self._labels)

    def set_dtype(self, name: str) -> None:
        """The floating-point type the spectra were computed in ("float32", "float64")."""
        if name == self._dtype:
            return  # told every frame; the same nearly always
        self._dtype = name
        try:
            self._eps = float(np.finfo(np.dtype(name)).eps)
        except TypeError:
            self._eps = float(np.finfo(np.float64).eps)

    def noise_floor(self) -> float:
        """Relative size below which singular values are round-off, whatever the matrix's width.

        ROUND_OFFS_DRAWN units of the run's dtype (float32: 1.9e-6 · σ₁), never below
        NUMERICAL_ZERO. The graded matrices of power-law memories resolve real directions well under
        the worst-case n · eps, but round-off in their null directions reaches one or two eps.
        """
        return max(NUMERICAL_ZERO, ROUND_OFFS_DRAWN * self._eps)

    def set_spectrum(self, lane: int, matrix: str, values: np.ndarray, step: int | None = None) -> None:
        """Draw one lane's sorted singular values of one matrix (zeros are left off the log axis);
        ``step``: the step they were taken at, where it is not the step on show (spectra computed
        every 5 steps, a memory's G_sig at evaluations), for the table's column names."""
        key = (lane, matrix)
        self._steps[key] = step
        if matrix not in self.visible_matrices():
            self._pending[key] = values  # drawn if the view is switched to it
            return
        if self._drawn.get(key) is values:
            return  # same array object as last frame: nothing new to draw
        self._drawn[key] = values
        self._fresh = True
        values = np.asarray(values, dtype=float)
        k = np.arange(1, values.size + 1, dtype=float)
        keep = values > self.noise_floor() * (values.max() if values.size else 0.0)
        self._cut[key] = bool(keep.any() and not keep.all())
        was_drawn = self._curves[key].yData is not None and self._curves[key].yData.size > 0
        was_ringed = self._curves[key].opts["symbol"] is not None
        self._curves[key].setData(k[keep], values[keep])
        if matrix == "signal":
            _ring_few_values(self._curves[key], lane, int(keep.sum()))
        else:  # any other curve of one value is a dot
            _dot_a_lone_value(self._curves[key], lane, int(keep.sum()))
        ringed = self._curves[key].opts["symbol"] is not None
        if was_drawn != bool(keep.any()) or (matrix == "signal" and was_ringed != ringed):
            self._show_what_is_drawn()  # the key names what is drawn, G_sig's rings with it
        if keep.any():
            name = MATRIX_STYLES[matrix][1]
            self.hover.set_series(key, self._labels[lane], k[keep], values[keep], _formatter(name))
            # the index axis reaches the last σ_k drawn: at α = 10 two values per curve sat at the
            # left edge of an axis that ran to k = 128 for the round-off it leaves out
            self._grow(values[keep], int(k[keep][-1]))
        else:
            self.hover.remove_series(key)

    @property
    def round_off_note(self) -> str:
        """What the plot leaves out ("σ_k below 10⁻¹⁰·σ₁ of their curve are round-off: not drawn"), or ""
        when no curve on show loses any: a spectrum that ended at k = 47 read as a lane that had no
        more. The floor is each curve's own: a converged lane's G, all of it near 10⁻²⁰, is drawn
        under a note that otherwise read as one floor for the whole plot."""
        shown = self.visible_matrices()
        if not any(cut for (_lane, matrix), cut in self._cut.items() if matrix in shown):
            return ""
        return f"σ_k below {number_text(self.noise_floor())}·σ₁ of their curve are round-off: not drawn"

    @property
    def coinciding(self) -> str:
        """Which lanes' curves on show lie exactly on one another ("same G in all 3 lanes"), or ""
        (see :mod:`muonscope.widgets.coinciding`). Matrices equal in the same lanes share one
        phrase: "same G, same G_sig in both lanes", not the lanes said twice."""
        lanes = range(len(self._labels))
        curve_sets = [
            (MATRIX_STYLES[matrix][1], {lane: self.curve_data(lane, matrix) for lane in lanes})
            for matrix in self.visible_matrices()
        ]
        return coincidence_note(curve_sets, self._labels)

    def curve_data(self, lane: int, matrix: str) -> tuple[np.ndarray, np.ndarray]:
        """The (k, σ_k) points drawn for one lane's matrix (empty while that matrix is not shown)."""
        return drawn_data(self._curves[(lane, matrix)])

    def data_table(self) -> DataTable:
        """index k, then σ_k of every lane's shown matrices (round-off values left out, as drawn); over
        the steps, a row per step and a column per index k drawn (blank where round-off)."""
        if self.heat_matrix:
            return self._over_steps_table()
        shown = self.visible_matrices()
        series = [
            (
                f"σ_k of {MATRIX_STYLES[matrix][1]}{self._at_step_of(lane, matrix)}: {self._labels[lane]}",
                *self.curve_data(lane, matrix),
            )
            for lane, matrix in self._curves
            if matrix in shown
        ]
        return merged_on_x("index k", series)

    def _over_steps_table(self) -> DataTable:
        steps, k, values = self.heat.drawn
        lane = self._over_steps[1].text() if self._over_steps else ""
        name = MATRIX_STYLES[self.heat_matrix][1]
        columns = ["step", *(f"σ_{int(index)} of {name}: {lane}" for index in k)]
        return columns, np.column_stack([steps, values]).tolist()

    def set_spectra_over_steps(
        self, steps: np.ndarray, k: np.ndarray, values: np.ndarray, lane: LaneNames
    ) -> None:
        """One lane's σ_k (T, R) of the matrix :attr:`heat_matrix` at ``steps`` (T,) and indices ``k``
        (R,: from 1 to the last, evenly spaced where not all); ``lane`` names it at each step (the
        read-out names a cell by the settings that drew it)."""
        arrays = (np.asarray(a, dtype=float) for a in (steps, k, values))
        self._over_steps = (SpectraOverSteps(*arrays), lane)
        if self.heat_matrix:
            self._draw_over_steps()

    def set_shown_step(self, step: int | None) -> None:
        """The step on show; over the steps, the cursor stands at it."""
        super().set_shown_step(step)
        if step is not None:
            self.heat_cursor.setValue(step)
        self.heat_cursor.setVisible(self.heat_matrix is not None and step is not None)

    def set_run_length(self, steps: int | None) -> None:
        """The run's length: the step axis over the steps ends there while the run is within it."""
        self._run_length = steps

    def apply_style(self, style: StageStyle) -> None:
        """The panel's chrome, and the colour scale of the spectra over the steps with it."""
        super().apply_style(style)
        style_axis(self.heat.colour_axis, style)
        self.change_lines.restyle()

    def legend_lanes_for(self, lanes):
        """Over the steps one lane is drawn: a picture of it names that lane alone."""
        named = super().legend_lanes_for(lanes)
        if not self.heat_matrix:
            return named
        if self.heat_lane() >= len(named):
            return ()
        position, text = named[self.heat_lane()]
        return ((position, f"spectra over the steps of {text}"),)

    def _draw_over_steps(self) -> None:
        self.show_why_empty()
        if self._over_steps is None or self._over_steps[0].steps.size == 0:
            self.heat.clear()
            return
        given, lane = self._over_steps
        self.heat.draw(given, self.noise_floor(), lane.at, MATRIX_STYLES[self.heat_matrix][1])
        set_axis_title(self.plot, "bottom", *self._step_axis_titles())
        show_steps(self.plot, step_axis_end(given.steps[-1], self._run_length))
        self.plot.setYRange(0.5, given.k[-1] + 0.5, padding=0)

    def _step_axis_titles(self) -> tuple[str, str]:
        """The step axis says what a blank cell is, where there are any (the map fills the plot, and a
        note in its corner hid the top rows of every step), shortened where the whole does not fit."""
        if not np.isnan(self.heat.drawn.values).any():
            return "step", ""
        whole = f"step · blank: σ_k below {number_text(self.noise_floor())}·σ₁, round-off"
        return whole, "step · blank: round-off"

    def _show_over_steps(self, heat: bool) -> None:
        """Switch the plot between curves of one step (σ_k against k, log σ) and a matrix's spectra
        over the steps (k against steps, σ as colour)."""
        self.heat.set_visible(heat)
        self.heat_cursor.setVisible(heat and self._shown_step is not None)
        self.change_lines.set_visible(heat)
        self.lane_combo.setEnabled(heat)
        self.hover.set_reach(math.inf if heat else HOVER_REACH_PX)  # a cell answers wherever it is hit
        self.show_grid(not heat)
        self.refresh_lane_legend()
        if heat:
            self.plot.setLogMode(x=False, y=False)
            self.plot.setLabel("bottom", "step")
            set_axis_title(self.plot, "left", "index k", "k")
            self.heat.set_title(f"σ_k of {MATRIX_STYLES[self.heat_matrix][1]}")
            self._draw_over_steps()
            return
        self.hover.remove_series(HOVER_KEY)
        tick_freely(self.plot)
        self.plot.setLogMode(x=False, y=True)
        self.plot.setLabel("bottom", "index k")
        set_axis_title(self.plot, "left", "singular value σ_k", "σ_k")
        self._x_max = 0  # the next spectrum drawn sets the index axis again
        for key, values in self._drawn.items():  # drawn again below, ranges with them
            self._pending[key] = values
        self._drawn.clear()

    def _at_step_of(self, lane: int, matrix: str) -> str:
        """ " at step 40" for the column of a lane's matrix: the step its values were taken at (a CSV
        of step 7 named spectra "at step 7" that were step 5's), else the step on show."""
        step = self._steps.get((lane, matrix))
        return self._at_shown_step() if step is None or step < 0 else f" at step {step}"

    def reset_range(self) -> None:
        self._y.reset()
        self._x_max = 0  # none drawn: the first spectrum, of one value too, sets the index axis

    def settle_range(self) -> None:
        """The spectra of one step are all drawn: the σ axis shrinks to them where the recent steps
        have left much of it unused (it grows at once in :meth:`set_spectrum`)."""
        if not self._fresh:
            return  # the same frame again (a paused view redrawn): no step to count
        self._fresh = False
        settled = self._y.settle(self._drawn_values())
        if settled is not None:
            self.plot.setYRange(*settled, padding=self._y_padding())

    def fit_range_to_drawn(self) -> None:
        """The σ axis fitted to the spectra drawn now, none of the recent steps' kept: for a still
        picture, which has no steps before it to stay steady across (a diverged lane's update of
        10³⁰, no longer drawn, squashed the rest at the bottom of a shot)."""
        self._y.reset()
        fitted = self._y.update(self._drawn_values())
        if fitted is not None:
            self.plot.setYRange(*fitted, padding=self._y_padding())

    def _y_padding(self) -> float:
        """The σ axis's margin beyond its extreme values, as a share of its span: 2%, and at least
        EDGE_PX pixels (over a hundred decades 2% was 4 px, and a curve at 10⁻¹⁰² lay along the axis
        line, half hidden)."""
        height_px = self.plot.getViewBox().height()
        return max(0.02, EDGE_PX / max(height_px - 2 * EDGE_PX, 1.0))  # a share of the span, each end

    def _drawn_values(self) -> np.ndarray:
        """Every σ_k drawn now, of every lane's shown matrices, in one array."""
        shown = self.visible_matrices()
        drawn = [self.curve_data(lane, m)[1] for lane, m in self._curves if m in shown]
        return np.concatenate(drawn) if drawn else np.empty(0)

    def _grow(self, values: np.ndarray, n: int) -> None:
        grown = self._y.update(values)
        if grown is not None:
            self.plot.setYRange(*grown, padding=self._y_padding())
        if n > self._x_max:
            self._x_max = n
            self.plot.setXRange(0.5, n + 0.5, padding=0)
            tick_whole_numbers_if_short(self.plot, n)

    def _apply_visibility(self) -> None:
        heat = self.heat_matrix is not None
        if heat or self._heat_on:
            self._show_over_steps(heat)
        self._heat_on = heat
        shown = self.visible_matrices()
        for (lane, matrix), curve in self._curves.items():
            curve.setVisible(matrix in shown)
            if matrix not in shown:
                self.hover.remove_series((lane, matrix))
                self._drawn.pop((lane, matrix), None)
        self._y.reset()
        for (lane, matrix), values in list(self._pending.items()):
            if matrix in shown:
                del self._pending[(lane, matrix)]
                self.set_spectrum(lane, matrix, values)
        self._show_what_is_drawn()

    def set_frozen_since(self, step: int | None) -> None:
        """The step the lane drawn over the steps diverged at, after which it computes nothing (None:
        it did not): with no column yet, none will come, and the panel says so."""
        if step != self._frozen_since:
            self._frozen_since = step
            self.show_why_empty()

    def why_empty(self) -> str | None:
        """The empty text while no lane draws any matrix on show (step 0: no gradient yet)."""
        if self.heat_matrix:
            if self._over_steps is not None and self._over_steps[0].steps.size:
                return None
            return _nothing_over_steps(self.heat_matrix, self._frozen_since)
        return None if any(self._drawn_matrices().values()) else self.empty_text

    def _drawn_matrices(self) -> dict[str, bool]:
        """Whether each matrix on show is drawn for at least one lane."""
        lanes = range(len(self._labels))
        return {m: any(self.curve_data(lane, m)[1].size for lane in lanes) for m in self.visible_matrices()}

    def _show_what_is_drawn(self) -> None:
        """The style key names the matrices drawn, and says "no M" where none is: one-step lanes
        without momentum have no M, and "— G - - M" in the header promised a dashed curve that was
        nowhere. With nothing drawn the panel says why (an empty grid, its axes left from the run
        before, said nothing)."""
        drawn = self._drawn_matrices()
        missing = [MATRIX_STYLES[m][1] for m, shown in drawn.items() if not shown]
        why = "; ".join(_MISSING_WHY[m] for m, shown in drawn.items() if not shown and m in _MISSING_WHY)
        ringed = any(
            matrix == "signal" and curve.isVisible() and curve.opts["symbol"] is not None
            for (_lane, matrix), curve in self._curves.items()
        )
        marks = {MATRIX_STYLES["signal"][1]: "ring"} if ringed and drawn.get("signal") else {}
        self.style_key.set_entries(
            [MATRIX_STYLES[m] for m, shown in drawn.items() if shown], missing, why, marks
        )
        self.show_why_empty()


def _nothing_over_steps(matrix: str, frozen_since: int | None = None) -> str:
    """Why a lane's spectra over the steps are empty: none computed yet, (M) none ever kept, or the
    lane diverged (``frozen_since``) before any. "Nothing drawn yet" over a lane without momentum,
    or one frozen since step 1, promised a map that would never come."""
    name = MATRIX_STYLES[matrix][1]
    what = f"A column per step whose spectra were computed: σ_k of {name} of the lane chosen, as colour."
    if frozen_since is not None:
        return f"{what} This lane diverged at step {frozen_since}: it computes nothing from then on."
    if matrix == "momentum":
        return (
            f"{what} This lane has no M on record: {_MISSING_WHY[matrix]} (G over steps draws its "
            "gradient); a lane that keeps one adds a column at each step."
        )
    return f"{what} Nothing drawn yet: columns come as the run steps."


def _formatter(name: str):
    return lambda k, value, _i: f"{name}: k = {int(k)}, σ = {number_text(value, 6)}"


def _ring_few_values(curve: pg.PlotDataItem, lane: int, count: int) -> None:
    """Ring each value of a curve of at most SIGNAL_RINGS_UP_TO values in its lane's colour; a longer
    curve is its dotted line alone."""
    if count > SIGNAL_RINGS_UP_TO:
        if curve.opts["symbol"] is not None:
            curve.setSymbol(None)
        return
    if curve.opts["symbol"] is None:
        curve.setSymbol("o")
        curve.setSymbolSize(SIGNAL_RING_PX)
        curve.setSymbolPen(lane_pen(lane, "solid", 1.5))
        curve.setSymbolBrush(None)


def _dot_a_lone_value(curve: pg.PlotDataItem, lane: int, count: int) -> None:
    """Mark a curve of one value with a dot in its lane's colour (no dot once it has two)."""
    if count == 1:
        curve.setSymbol("o")
        curve.setSymbolSize(LONE_VALUE_DOT_PX)
        curve.setSymbolPen(None)
        curve.setSymbolBrush(lane_colour(lane))
    elif curve.opts["symbol"] is not None:
        curve.setSymbol(None)
