"""Panel ④: capacity over steps, capacity sweeps with theory guides, or balance along a step ray.

``steps``: recovered items against step per lane, population accuracy on a second axis.
Sweep modes (``d``, ``batch``, ``n_items``, ``mu``, ``window``): one curve per lane with its seed
spread as a band, log axes where the theory is a power law, labelled guide lines. ``ray``: loss
against Δ along each lane's first step. The panel only draws; the application computes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore

from muonscope.widgets.axes import DecadeAxis, set_axis_title
from muonscope.widgets.capacity_steps import CapacitySteps
from muonscope.widgets.data_table import DataTable
from muonscope.widgets.event_markers import EventMarkers
from muonscope.widgets.guide_legend import GuideLegend, folded_notes_text
from muonscope.widgets.hover import HoverReadout
from muonscope.widgets.lane_names import LaneNames
from muonscope.widgets.panel import PlotPanel
from muonscope.widgets.panel_modes import CAPACITY_MODES
from muonscope.widgets.ranges import StableRange, show_steps, step_axis_end, tick_freely
from muonscope.widgets.sweep_controls import SweepControls
from muonscope.widgets.sweep_drawing import SweepDrawing
from muonscope.widgets.sweep_points import fit_sweep_ranges
from muonscope.widgets.theme import StageStyle

__all__ = ["CapacityPlot"]

#: The PlotItem layout's row under the bottom axis, where the sweep's legend goes.
LEGEND_ROW = 4
#: Point size of the sweep legend's text at scale 1.
LEGEND_PT = 8.0
#: Most of the panel's height the sweep legend may take with its lanes' entries.
LEGEND_SHARE = 0.4


class CapacityPlot(PlotPanel):
    """Solid: items recovered (left axis); dashed: population accuracy (right axis, 0–1)."""

    draws_compared_branch = True

    run_requested = QtCore.Signal(str)  # mode
    cancel_requested = QtCore.Signal()

    def __init__(self, parent=None) -> None:
        super().__init__("④ capacity", parent)
        self._mode_problems: dict[str, str] = {}  # mode → why it does not apply to the task
        self.add_mode("x", CAPACITY_MODES, "what the capacity panel shows")
        self._build_sweep_controls()
        self.plot.disableAutoRange()
        self.plot.getViewBox().setMouseEnabled(x=False, y=False)
        self.right = pg.ViewBox(enableMouse=False)
        self.right.setMenuEnabled(False)  # a right click is the panel's (the box lies under the plot)
        self.plot.setAxisItems({"right": DecadeAxis("right")})  # its title is cut to fit, as the left's
        self.plot.scene().addItem(self.right)
        axis = self.plot.getAxis("right")
        axis.linkToView(self.right)
        axis.set_title("population accuracy", "accuracy")
        self.right.setXLink(self.plot)
        self.right.setYRange(0.0, 1.0, padding=0.02)
        self._note.avoid_curves_of(self.right)
        self.plot.getViewBox().sigResized.connect(self._sync_right)
        self.plot.getViewBox().sigResized.connect(self._fit_legend_columns)
        # the sweep's legend sits under the plot, in its own row: inside, it would cover curves
        self.legend = GuideLegend(labelTextSize=f"{LEGEND_PT:g}pt", colCount=2)
        self.plot.layout.addItem(self.legend, LEGEND_ROW, 1)
        self._fit_legend_row()
        self.hover = HoverReadout(self.plot)
        self._sweep = SweepDrawing(self.plot, self.hover, lambda: self.sweep_controls.running)
        self.markers = EventMarkers(
            self.plot, avoid=(self.right,), keep_off=self._note_rect, labels_in=self.right
        )
        self._steps = CapacitySteps(self.plot, self.right, self.hover)
        self._sweep_drawn: tuple | None = None  # the last set_sweep call, drawn again at a new stage scale
        self.compared_branch = "compared branch"  # how a table names the faint curves' branch
        self._y = StableRange(floor=0.0)
        self._x_max = 0.0
        self._run_length: int | None = None
        self._estimate_note = ""  # how the recovered counts were estimated ("": they are exact)
        self._ray_note = ""  # what the one-step rays' legend has no room for
        self._lane_notes: list[tuple[str, str]] = []  # (lane label, what the legend says after it)
        self._undrawn_notes: list[str] = []  # "label: note" of a sweep's lanes with no point drawn
        self._refused: tuple[str, str] | None = None  # (mode, why) of a sweep that could not start
        self.mode_changed.connect(lambda *_: self._apply_mode())
        self._apply_mode()

    # ---- header ------------------------------------------------------------------------------

    def _build_sweep_controls(self) -> None:
        self.sweep_controls = SweepControls(self.add_header_control)
        self.run_button = self.sweep_controls.run_button
        self.progress = self.sweep_controls.progress
        self.cancel_button = self.sweep_controls.cancel_button
        self.run_button.clicked.connect(lambda: self.run_requested.emit(self.mode("x")))
        self.cancel_button.clicked.connect(self.cancel_requested.emit)

    @property
    def in_steps_mode(self) -> bool:
        return self.mode("x") == "steps"

    @property
    def pictured_step(self) -> int | None:
        """The run's step over steps; a sweep or a ray is not of the step the run stands at."""
        return super().pictured_step if self.in_steps_mode else None

    def set_running(self, running: bool, done: int = 0, total: int = 0) -> None:
        """Show a sweep's progress (see :class:`SweepControls`), and why the plot is empty meanwhile.
        A sweep over, its axes are as wide as its final labels, however its points arrived."""
        self.sweep_controls.show_state(self.mode("x") != "steps", running, done, total)
        if not running:
            for side in ("left", "right"):
                self.plot.getAxis(side).measure_text_room_afresh()
        self.show_why_empty()
        self.refresh_note()

    def set_mode_state(self, mode: str, enabled: bool, reason: str = "") -> None:
        """Disable a mode that does not apply to the task, with the reason as its tooltip.

        When the mode on show is the one disabled, the plot says why it stays empty.
        """
        self.set_option_state("x", mode, enabled, reason)
        self._mode_problems[mode] = "" if enabled else reason
        if mode == self.mode("x"):
            self.show_why_empty()
            self._show_style_key()

    def set_refusal(self, mode: str, reason: str | None) -> None:
        """Why the sweep (or ray) of ``mode`` cannot start for these settings, said on the plot while
        that mode is on show; None when it can (its "press run" note comes back)."""
        self._refused = None if reason is None else (mode, reason)
        self.show_why_empty()

    def why_empty(self) -> str | None:
        """Why the plot is empty: the mode does not apply, a sweep not run (yet), or too few steps.

        The steps mode's reason comes from the application (:meth:`set_empty_text`): it knows the run.
        """
        problem = self._mode_problems.get(self.mode("x"), "")
        if problem:
            return f"Not for this task: {problem}."
        if self.in_steps_mode:
            return self.empty_text if self._steps.most_points < 2 else None
        if self._sweep.points:
            return None
        what = "This one-step ray" if self.mode("x") == "ray" else "This sweep"
        if self._refused is not None and self._refused[0] == self.mode("x"):
            reason = self._refused[1]
            return f"{what} cannot run for these settings: {reason}{'' if reason.endswith('.') else '.'}"
        if self.sweep_controls.running:
            return f"{what} is being computed in the background; its points appear as they finish."
        # also said of one left part-way (another mode chosen while it ran): "has not been computed"
        # denied the points it had, which the cache keeps
        cached = "points computed before come from the cache"
        return f"{what} has not been run to the end for these settings: press run ({cached})."

    # ---- steps mode --------------------------------------------------------------------------

    def _sync_right(self) -> None:
        self.right.setGeometry(self.plot.getViewBox().sceneBoundingRect())
        self.right.linkedViewChanged(self.plot.getViewBox(), self.right.XAxis)

    def set_lanes(self, labels: Sequence[str | LaneNames]) -> None:
        """One solid and one dashed curve per lane for steps mode.

        A sweep or ray on show, and its progress, stay as they are: lanes change with every run
        (the first frame of a preset included) while a sweep of that preset is still running.
        """
        self._steps.set_lanes(labels, self.in_steps_mode)

    def set_labels(self, labels: Sequence[str | LaneNames]) -> None:
        """Rename the lanes (a label, or the labels over the steps), read-outs of drawn points included."""
        self._steps.set_labels(labels, read_out=self.in_steps_mode)

    def set_capacity(self, lane: int, steps: np.ndarray, recovered: np.ndarray, accuracy: np.ndarray) -> None:
        """Points where the population was evaluated (NaN elsewhere is dropped)."""
        estimated, steps_mode = bool(self._estimate_note), self.in_steps_mode
        steps, recovered = self._steps.draw(lane, (steps, recovered, accuracy), estimated, steps_mode)
        if not steps_mode:
            return
        self._show_style_key()  # the key names the dots and rings the curves now carry, or none
        self.show_why_empty()
        self._fit_steps(steps, recovered)

    def set_item_count(self, count: int | None) -> None:
        """How many items a lane can recover (None: not known): the recovered axis grows no further
        (64 items took its round ceiling to 80, an axis no count could reach)."""
        if count != self._y.ceiling:
            self._y.ceiling = count
            self._y.reset()
            # refitted to the curves drawn: a shot of a resumed session takes no step after the
            # count is known, and its axis stayed at 1.00–1.20 with every curve drawn off it;
            # the compared branch's faint ones too (back to a forked run, main ran off the top)
            drawn = self._steps.recovered_values + self._steps.faded_values
            if self.in_steps_mode and any(values.size for values in drawn):
                self._fit_steps(np.zeros(0), np.concatenate(drawn))

    def _fit_steps(self, steps: np.ndarray, recovered: np.ndarray) -> None:
        """Grow the steps mode's axes to show these points (and at least one item)."""
        grown = self._y.update(np.append(recovered, 1.0))
        if grown is not None:
            self.plot.setYRange(*grown, padding=0.02)
        if steps.size:
            self.extend_to(steps[-1])

    def extend_to(self, step: float) -> None:
        """Over steps, grow the step axis to show ``step`` (in the round jumps ② and the timeline
        take, so the three end alike); a sweep's x axis is its own."""
        end = step_axis_end(step, self._run_length)
        if self.in_steps_mode and end > self._x_max:
            self._x_max = end
            show_steps(self.plot, self._x_max)

    def restart_step_axis(self) -> None:
        """Let the step axis fit again from the next :meth:`extend_to`, which only grows it: once a
        compared branch of 120 steps went, a fork of 10 sat squeezed at the left edge."""
        self._x_max = 0.0

    def set_run_length(self, steps: int | None) -> None:
        """The run's length: over steps, the axis ends there while the run is within it."""
        self._run_length = steps

    def set_estimate_note(self, note: str) -> None:
        """Say that the counts on show are estimates and how they were made (``""``: they are exact)."""
        if note == self._estimate_note:
            return
        self._estimate_note = note
        if self.in_steps_mode:
            self._title_steps_axis()

    def _title_steps_axis(self) -> None:
        """Recovered items on the left axis, "≈" when they are estimates (the caption says how)."""
        sign = "≈ " if self._estimate_note else ""
        set_axis_title(self.plot, "left", f"{sign}items recovered", f"{sign}recovered")

    def set_faded(self, lane: int, steps, recovered, names: str | LaneNames | None = None) -> None:
        """Another branch's recovered items of a lane, drawn faint (empty: none); ``names``: the lane's
        labels on that branch, when they differ from this one's."""
        steps, recovered = self._steps.set_faded(lane, steps, recovered, names)
        if self.in_steps_mode:
            self._fit_steps(steps, recovered)  # a branch that ran further, or recovered more, is drawn whole

    def faded_data(self, lane: int) -> tuple[np.ndarray, np.ndarray]:
        return self._steps.faded_data(lane)

    def recovered_data(self, lane: int) -> tuple[np.ndarray, np.ndarray]:
        """The (step, items recovered) points drawn for a lane in steps mode."""
        return self._steps.recovered_data(lane)

    @property
    def steps_curves_visible(self) -> bool:
        """Whether the per-lane curves of steps mode are on show (all of them; False without lanes)."""
        return self._steps.all_visible

    def apply_style(self, style: StageStyle) -> None:
        """The panel's chrome, and the sweep legend's text, at the stage's scale."""
        super().apply_style(style)
        if self._sweep_drawn is not None:  # pens made at the scale before stayed thin on a stage
            self.set_sweep(*self._sweep_drawn)
        self.legend.setLabelTextSize(f"{style.font_pt(LEGEND_PT):g}pt")
        self.legend.setLabelTextColor(style.colours.foreground)
        for _sample, label in self.legend.items:
            label.setText(label.text)  # pyqtgraph keeps the new size and colour for the next text
        self._fit_legend_columns()

    @property
    def legend_text_pt(self) -> float:
        """The sweep legend's text size in points."""
        return float(self.legend.opts["labelTextSize"].removesuffix("pt"))

    def reset_range(self) -> None:
        self._y.reset()
        self._x_max = 0.0

    @property
    def coinciding(self) -> str:
        """Which lanes' curves lie exactly on one another ("same items recovered, same accuracy in
        both lanes": the later lane's hid the earlier's), over steps or in a sweep; or ""."""
        if not self.in_steps_mode:
            return self._sweep.coinciding
        return self._steps.coinciding

    def data_table(self) -> DataTable:
        """Steps mode: step, then items recovered and population accuracy per lane (and the
        compared branch's items recovered, where one is drawn faint).

        Sweep and ray modes: the sweep's x, then per lane the mean, min and max over seeds (one
        column where the seeds agree, as along a ray), then each guide line; the
        numbers of the points drawn, in data units rather than the logarithms a log axis plots.
        """
        if not self.in_steps_mode:
            return self._sweep.data_table()
        return self._steps.data_table(self.compared_branch)

    # ---- sweep and ray modes -----------------------------------------------------------------

    def clear_sweep(self) -> None:
        self._sweep_drawn = None
        self._sweep.clear()
        self._ray_note = ""
        self._lane_notes = []
        self._undrawn_notes = []
        if not self.in_steps_mode:
            self.legend.clear()
            self.hover.clear()
        self._fit_legend_row()

    def set_sweep(
        self,
        curves: list[tuple[int, str, np.ndarray, np.ndarray, np.ndarray, np.ndarray]],
        guides: list[tuple[str, np.ndarray, np.ndarray]],
        x_label: str,
        y_label: str,
        log_x: bool,
        log_y: bool,
        y_short: str = "",
        whole_seeds: int = 0,
        legend_notes: Mapping[int, str] | None = None,
    ) -> None:
        """Curves (lane, label, x, mean, lo, hi[, seeds]) with seed bands, and labelled guide lines;
        ``y_short`` is the y title a short axis shows (without "(log)": its labels, 1, 10, 100, say
        so). ``seeds`` counts the seeds averaged at each x: a point with fewer than ``whole_seeds``
        (a sweep stopped part-way) is drawn hollow, and its read-out and table say how many.
        ``legend_notes``: what the key and the read-out say after a lane's label ("fitted slope 1.31"),
        by lane."""
        drawn = (curves, guides, x_label, y_label, log_x, log_y, y_short, whole_seeds, legend_notes)
        self.clear_sweep()
        self.plot.setLogMode(x=False, y=False)  # data are mapped here so bands and guides agree
        log_note = " (log)" if log_y else ""
        self.plot.setLabel("bottom", x_label + (" (log)" if log_x else ""))
        set_axis_title(self.plot, "left", y_label + log_note, y_short)
        self._sweep.name_axes(x_label, y_label)
        xs, ys, lane_entries = [], [], []
        for lane, label, x, mean, lo, hi, *counted in curves:
            seeds = np.asarray(counted[0] if counted else np.full(np.shape(x), whole_seeds), float)
            values = (x, mean, lo, hi, seeds)
            note = (legend_notes or {}).get(lane, "")
            drawn_curve = self._sweep.draw_curve(lane, label, values, whole_seeds, log_x, log_y, note)
            if drawn_curve is None:
                if note:  # no point to draw ("diverged at every point"): the corner note says so
                    self._undrawn_notes.append(f"{label}: {note}")
                continue
            curve, px, in_view = drawn_curve
            lane_entries.append((curve, f"{label}: {note}" if note else label))
            if note:
                self._lane_notes.append((label, note))
            xs.append(px)
            ys.append(in_view)
        guide_entries = [
            self._sweep.draw_guide(index, *guide, log_x, log_y) for index, guide in enumerate(guides)
        ]
        self.legend.set_entries(lane_entries, guide_entries)
        self._sweep_drawn = drawn
        fit_sweep_ranges(self.plot, xs, ys, log_x, log_y)
        self._fit_legend_columns()
        self._fit_legend_row()
        self.show_why_empty()
        self.refresh_note()

    @property
    def partial_note(self) -> str:
        """What the hollow points of a sweep are, or "" where there are none: points still to get
        their other seeds while it runs (it said "the sweep stopped" then), or left without them."""
        if self.in_steps_mode or not self._sweep.partial_seeds:
            return ""
        running = self.sweep_controls.running
        why = "so far (the sweep is running)" if running else "(the sweep stopped before the rest)"
        return f"hollow points: fewer than {self._sweep.partial_seeds} seeds {why}"

    def refresh_note(self) -> None:
        """The corner note from what the panel draws now: lanes whose curves coincide, and a sweep's
        hollow points. Kept here, not only drawn each frame: a paused run draws no frames while a
        sweep's points arrive and it finishes or stops."""
        sweep_notes = [] if self.in_steps_mode else [self._ray_note, *self._undrawn_notes]
        parts = (self.coinciding, self.partial_note, *sweep_notes, self._folded_lane_notes())
        self.set_note(" · ".join(part for part in parts if part))

    def _folded_lane_notes(self) -> str:
        """What the legend says after each lane's label ("fitted slope 1.60"), where it left the
        lanes out for room: at 1280×720 ④ kept only its guides, and the slopes a claim rests on
        showed nowhere."""
        if self.in_steps_mode or not self.legend.lanes_folded:
            return ""
        return folded_notes_text(self._lane_notes)

    def legend_lanes_for(self, lanes):
        """A sweep's own legend names its lanes (with their sweep settings): a second one under it
        would repeat them, unless the sweep's legend left them out for room; over steps the lanes
        are named as in the other panels."""
        if self.in_steps_mode:
            return lanes
        return tuple(lane for lane in lanes if lane[0] is not None) if self.legend.lanes_folded else ()

    def _fit_legend_columns(self) -> None:
        """As many lanes to a legend row as the plot's width takes, and the lanes left out where
        the legend would take more than :data:`LEGEND_SHARE` of the panel's height with them."""
        if not self.legend.items:
            return
        self.legend.fit(self.plot.getViewBox().width(), LEGEND_SHARE * self.plot_widget.height())
        self._fit_legend_row()
        self.refresh_lane_legend()  # a panel alone names its lanes where the sweep's legend does not
        self.refresh_note()  # what the lanes left out say moves to the note, or back

    @property
    def legend_texts(self) -> list[str]:
        """The sweep legend's entries, in order (empty in steps mode: the lane key names the lanes)."""
        return [label.text for _sample, label in self.legend.items]

    def _fit_legend_row(self) -> None:
        self.legend.take_row_while_listed(self.plot.layout, LEGEND_ROW)

    def set_ray(
        self, curves: list[tuple[int, str, np.ndarray, np.ndarray]], notes: Sequence[str] = ()
    ) -> None:
        """(lane, label, Δ along the ray, loss) per lane; ``notes``: what the legend has no room for
        (SignGD's lower infimum further along its ray), said in the corner note."""
        self.set_sweep(
            [(lane, label, gap, loss, loss, loss) for lane, label, gap, loss in curves],
            [],
            "Δ(W) = max_k p̂(k|k) − min_k p̂(k|k) along W = −η·D",
            "population loss",
            False,
            True,
            y_short="loss",
        )
        self._ray_note = " · ".join(note for note in notes if note)
        self.refresh_note()

    def _apply_mode(self) -> None:
        self.show_why_empty()
        self._show_title()  # a step named in it belongs to the steps mode only
        steps = self.in_steps_mode
        self._steps.set_visible(steps)
        self.plot.getAxis("right").setVisible(steps)
        self.plot.getAxis("bottom").let_label_past_end(steps)  # into the room below the right axis
        self.markers.set_visible(steps)  # steps where settings changed mean nothing on a sweep's axis
        tick_freely(self.plot)  # a sweep's axis picks its own ticks; steps are ticked as they grow
        self.clear_sweep()
        self.legend.clear()  # the sweep's; lanes are in the window's shared key
        self._fit_legend_row()
        self.hover.clear()
        if steps:
            self.plot.getAxis("bottom").set_log_mapped(False)
            self.plot.getAxis("left").set_log_mapped(False)
            self.plot.setLabel("bottom", "step")
            self._title_steps_axis()
            self.reset_range()
        self._swap_header_widgets(steps)

    def _swap_header_widgets(self, steps: bool) -> None:
        """The steps view's style key or a sweep's run button and progress, the going ones hidden
        first: a widget shown lays its window out at once, and a header holding both for a moment
        widened the window for good."""
        if not steps:
            self.style_key.set_entries([])
        self.set_running(False)
        if steps:
            self.settle_header()
            self._show_style_key()

    def _show_style_key(self) -> None:
        """Solid recovered, dashed accuracy: over steps, where the task has items to count (the
        spiked stream's panel said "Not for this task" under that key)."""
        drawn = self.in_steps_mode and not self._mode_problems.get("steps", "")
        self.style_key.set_entries(
            [("solid", "recovered"), ("dash", "accuracy")] if drawn else [], marks=self._steps.marks
        )
