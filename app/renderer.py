"""Snapshot + history → widget calls: the only place that knows both sides' vocabularies."""

from __future__ import annotations

from dataclasses import fields, replace

import numpy as np

from muonscope.app.bucket_history import BucketHistory, blank_where_missing
from muonscope.app.lane_colours import lane_slots
from muonscope.app.live_caption import sample_note
from muonscope.app.panel_texts import (
    bucket_labels,
    capacity_empty_text,
    precision_floor_note,
    series_definition,
    series_empty_text,
    signal_step_note,
    spectrum_empty_text,
    thinned_note,
)
from muonscope.app.step_lookup import evaluated_step
from muonscope.engine.history import MetricHistory, SpectraHistory
from muonscope.engine.lane_history import LaneHistory
from muonscope.engine.lane_names import named_apart
from muonscope.engine.snapshot import Event, LaneSnapshot, Snapshot, Spectra, frozen_array
from muonscope.engine.task_kinds import TASK_KINDS
from muonscope.widgets.lane_key import LaneKeyEntry
from muonscope.widgets.lane_names import LaneNames
from muonscope.widgets.spectra_heat_map import MAX_ROWS as SPECTRA_ROWS
from muonscope.widgets.theme import set_lane_slots

__all__ = ["BucketHistory", "Renderer"]

#: The matrices of a lane's spectra (the snapshot's names); panel ① adds the signal G_sig.
SPECTRUM_MATRICES = tuple(matrix.name for matrix in fields(Spectra))
#: While the run plays, ① over the steps is redrawn once this share of its columns is new (1/64): a
#: redraw costs in proportion to the steps on record (4096 steps × 256 indices took 23 ms), so drawn
#: at every new step the map alone would have taken most of each frame of a long run.
REDRAW_SHARE = 64
#: A lane's spectra and class errors at a step it did not exist at: none.
_NOTHING = frozen_array(np.empty(0))


def _staircase(snapshot: Snapshot) -> bool:
    task = snapshot.config.task
    return TASK_KINDS[task.kind].numbered_groups(task)


def _names_of(history: LaneHistory) -> LaneNames:
    """A lane's settings along the run as the panels name it: its labels and when each ended."""
    return LaneNames(history.label, history.earlier)


def _told_apart(names: list[LaneNames], indices) -> list[LaneNames]:
    """Lanes alike in every setting (one added as a copy) named apart by their number, as the caption
    and the lane rows name them: the key listed "Muon post … lr=0.3" twice, in two colours."""
    apart = named_apart([name.label for name in names], list(indices))
    return [replace(name, label=label) for name, label in zip(names, apart, strict=True)]


def marks_by_step(events: tuple[Event, ...]) -> list[tuple[int, str]]:
    """One change marker per step, naming every change made there: ``lane 1 β₁ 0.9 → 0.5; lane 2
    order pre → post``. Four changes made while paused were four labels on one line, stacked over
    the curves of a panel with no room for them; one label takes the place that fits it whole, or
    names its first change with the rest on hover."""
    marks: list[tuple[int, str]] = []
    for event in events:
        if marks and marks[-1][0] == event.step:
            marks[-1] = (event.step, f"{marks[-1][1]}; {event.text}")
        else:
            marks.append((event.step, event.text))
    return marks


def _notes(*parts: str) -> str:
    """A panel's corner note from its parts, those that say something, joined by " · "."""
    return " · ".join(part for part in parts if part)


def _first_column_after_missing(steps: np.ndarray, evaluated: np.ndarray) -> int:
    """The heat map's first step where the lane was evaluated (``evaluated``) before it with no column
    kept (an opened session's map begins where it was opened); 0 where none is missing."""
    if steps.size == 0 or evaluated.size == 0 or evaluated[0] >= steps[0]:
        return 0
    return int(steps[0])


class Renderer:
    """Pushes one snapshot (and the history behind it) into the four panels and the timeline."""

    def __init__(
        self, spectrum, series, class_error, capacity, timeline, lane_key=None, lane_table=None
    ) -> None:
        self.spectrum = spectrum
        self.series = series
        self.class_error = class_error
        self.capacity = capacity
        self.timeline = timeline
        self.lane_key = lane_key
        self.lane_table = lane_table
        self._slots: dict[int, int] = {}  # each lane id's palette slot: its colour while it lives
        self._lane_ids: tuple[int, ...] = ()  # the lanes named (from the histories below)
        self._drawn_ids: tuple[int, ...] = ()  # the lanes the panels have curves for
        self._key_ids: tuple[int, ...] = ()  # the lanes the key names, by position
        self._labels_now: tuple[str, ...] = ()  # the snapshot's labels when the lanes were named
        self._histories: tuple[LaneHistory, ...] | None = None
        self._by_id: dict[int, LaneHistory] = {}
        self._names: list[LaneNames] = []  # each drawn lane's labels over the steps
        self._step_labels: dict[str, list[str]] = {}  # ① and ③: each lane's label at its data's step
        self._capacity_key: tuple | None = None
        self._thinned = ""  # panel ②: how few steps its spectral metric was measured at, if fewer
        self._comparison: MetricHistory | None = None  # another branch, drawn faded
        self._run_steps: int | None = None  # the run's length, as the newest frame drew it
        self._comparison_name = ""
        self._comparison_names: dict[int, LaneNames] = {}  # by lane id
        self._faded_key: tuple | None = None
        self._over_steps_key: tuple | None = None  # what ①'s spectra over the steps were drawn from
        self._over_steps_rows = (0, -1)  # how many steps' spectra were on record then, at which revision

    def set_comparison(
        self, history: MetricHistory | None, name: str = "", histories: tuple[LaneHistory, ...] = ()
    ) -> None:
        """Another branch's recorded metrics to draw faded in ② and ④ (None: none), with its lanes'
        settings along that branch."""
        self._comparison, self._comparison_name = history, name
        self._comparison_names = {h.lane_id: _names_of(h) for h in histories}
        self._faded_key = None
        self._end_axes_with(self._run_steps)
        for panel in (self.series, self.capacity):  # the axes reach the branches drawn, no further
            panel.restart_step_axis()
            if history is not None:
                panel.extend_to(history.last_step)

    def _end_axes_with(self, run_steps: int | None) -> None:
        """Step axes end with the run (``run_steps`` long), or with the compared branch where it runs
        further: it does not grow (a fork at step 30,000 of a 150,000-step run stretched ② and ④ to
        200,000, a quarter of each plot empty)."""
        self._run_steps = run_steps
        compared_end = self._comparison.last_step if self._comparison is not None else -1
        for panel in (self.series, self.capacity):
            panel.set_run_length(None if run_steps is None else max(run_steps, compared_end))
        for panel in (self.class_error, self.spectrum, self.timeline):  # the timeline sees to its branches
            panel.set_run_length(run_steps)

    def reset(self) -> None:
        """Forget the drawn lanes and the timeline's branches (a new run, a jump): the next frame
        redraws, and the engine's branches message draws the branches again."""
        self.redraw_lanes()
        self.timeline.reset()

    def redraw_lanes(self) -> None:
        """Forget the drawn lanes (a new stage style: their pens follow it): the next frame redraws
        them. The timeline keeps its branches, which no message would bring back: a talk's F11 left
        a forked session's timeline without its branch lines."""
        self._lane_ids = self._drawn_ids = ()
        self._histories = None
        self._names = []
        self._step_labels = {}
        self._faded_key = None
        self._capacity_key = None
        self._over_steps_key = None
        for panel in (self.spectrum, self.series, self.capacity):
            panel.reset_range()

    def render(
        self,
        shown: Snapshot,
        newest: Snapshot,
        history: MetricHistory,
        buckets: BucketHistory,
        head_step: int | None = None,
        *,
        cursor_step: int | None = None,
        notes: tuple[str, str] = ("", ""),
        histories: tuple[LaneHistory, ...] | None = None,
        events: tuple[Event, ...] | None = None,
        spectra: SpectraHistory | None = None,
        playing: bool = False,
    ) -> None:
        """Draw ``shown`` (the cursor's step) against the history up to ``newest``.

        ``cursor_step``: where the view is (default ``shown``'s step), for the timeline and the time
        axes, whose history reaches every step; ``notes``: what panels ① and ③ say when what they
        draw is of another step (while that step's snapshot is being recomputed, say);
        ``histories``: every lane's settings along the steps drawn (default: ``newest``'s, which
        know no step beyond it); each point is named by the settings of its step; ``events``: the
        changes marked on the time axes (default: ``newest``'s, which know none beyond it either);
        ``spectra``: every lane's spectra at the steps on record, for ①'s view of them over the steps;
        ``playing``: whether the view follows a playing run (① over the steps may lag it a little).
        """
        cursor = shown.step if cursor_step is None else cursor_step
        self._end_axes_with(newest.config.run.steps)
        source = newest.lane_histories if histories is None else histories
        if source is not self._histories:  # the same tuple from step to step until settings change
            self._histories = source
            self._by_id = {h.lane_id: h for h in source}
            self._lane_ids = ()  # name the lanes afresh
        self._sync_lanes(newest, self._by_id)
        self._name_shown_lanes(shown, self._by_id)
        self._draw_step(shown, newest, notes)
        self._draw_series(history, newest)
        self._draw_faded()
        self._say_compared(TASK_KINDS[newest.config.task.kind].has_classes)
        self._draw_heatmap(newest, buckets, history)
        self._draw_spectra_over_steps(spectra, playing, newest)
        extent = newest.step if head_step is None else max(head_step, newest.step)
        self._draw_time_axes(newest.events if events is None else events, extent, cursor)
        self._draw_notes(newest)  # last: placed off the curves, the cursor and the markers as they now stand

    def _draw_step(self, shown: Snapshot, newest: Snapshot, notes: tuple[str, str]) -> None:
        """Panels ① and ③: the spectra and class errors of the shown step, with their notes."""
        self.spectrum.set_dtype(shown.dtype)
        self.spectrum.set_shown_step(shown.step)
        self.class_error.set_shown_step(evaluated_step(shown))  # its columns hold that evaluation's errors
        self.series.set_shown_step(shown.step)  # its cursor stands at it
        self.capacity.set_shown_step(shown.step)
        self.spectrum.set_empty_text(spectrum_empty_text(shown))
        note = sample_note(shown)  # the cursor's step: an earlier evaluation may have been exact
        self.class_error.set_sample_note(note.replace("estimate from ", "").replace(" items", ""))
        self.capacity.set_estimate_note(sample_note(newest).replace("estimate from", "estimated from"))
        for position, lane in enumerate(self._shown_lanes(shown)):
            if lane is None:  # added after the shown step: nothing of it to draw there
                for matrix in (*SPECTRUM_MATRICES, "signal"):
                    self.spectrum.set_spectrum(position, matrix, _NOTHING)
                self.class_error.set_errors(position, _NOTHING, _NOTHING)
                continue
            for matrix in SPECTRUM_MATRICES:
                self.spectrum.set_spectrum(position, matrix, getattr(lane.spectra, matrix), lane.spectra_step)
            self.spectrum.set_spectrum(position, "signal", lane.signal_spectrum, lane.signal_step)
            self.class_error.set_errors(position, lane.class_error, lane.item_recovered)
        self.spectrum.settle_range()
        signal = signal_step_note(shown) if "signal" in self.spectrum.visible_matrices() else ""
        # over the steps ① draws no one step, and a note in its corner would hide the map's cells
        one_step = _notes(notes[0], signal, self.spectrum.coinciding, self.spectrum.round_off_note)
        self.spectrum.set_note("" if self.spectrum.heat_matrix else one_step)
        self.class_error.set_note(_notes(notes[1], self.class_error.coinciding))

    def _draw_notes(self, newest: Snapshot) -> None:
        """Panels ② and ④'s notes and empty texts, which follow their freshly drawn curves."""
        # a curve hidden under another lane's, and the points of a sweep stopped part-way, said
        self.capacity.refresh_note()
        definition = series_definition(self.series.mode("metric"), newest)
        self.series.set_definition(definition)
        self.series.set_note(
            _notes(
                definition,
                self.series.smoothing_note,
                self._thinned_told(),
                self.series.coinciding,
                self.series.zeros_note,
                precision_floor_note(self.series.mode("metric"), newest),
            )
        )
        self.series.set_empty_text(series_empty_text(self.series.modes["metric"].currentText(), newest))
        self.capacity.set_empty_text(capacity_empty_text(newest))
        task = newest.config.task
        self.capacity.set_item_count(task.n_items if TASK_KINDS[task.kind].has_classes else None)

    def _draw_time_axes(self, events: tuple[Event, ...], extent: int, cursor: int) -> None:
        """Change markers, the timeline's extent and the cursor on every axis of steps."""
        marks = marks_by_step(events)
        self.series.markers.set_events(marks)
        self.capacity.markers.set_events(marks)
        self.spectrum.change_lines.set_events(marks)  # over the steps, as heat maps draw them
        self.class_error.change_lines.set_events(marks)
        self.timeline.set_events([step for step, _ in marks])
        self.timeline.set_extent(extent)
        # ② and ④ reach the same step as the timeline, not only their own last point (the
        # alignment is measured every 20 steps in the bridge preset: ② ended at 100, ④ at 120)
        self.series.extend_to(extent)
        self.capacity.extend_to(extent)
        self.timeline.set_cursor(cursor)
        self.series.markers.set_cursor(cursor)
        self.capacity.markers.set_cursor(cursor)
        self.series.markers.keep_clear()  # the curves grew: a change's label may now cover one
        self.capacity.markers.keep_clear()

    def _sync_lanes(self, snapshot: Snapshot, histories: dict[int, LaneHistory]) -> None:
        ids = tuple(lane.lane_id for lane in snapshot.lanes)
        labels = tuple(lane.label for lane in snapshot.lanes)
        if (ids, labels) == (self._lane_ids, self._labels_now):
            return  # the same lanes under the same histories: named as before
        self._labels_now = labels
        names = [
            _names_of(histories[lane.lane_id]) if lane.lane_id in histories else LaneNames(lane.label)
            for lane in snapshot.lanes
        ]
        names = _told_apart(names, [lane.index for lane in snapshot.lanes])
        if ids != self._drawn_ids:  # new lanes: new curves
            self._drawn_ids = ids
            self._colour_lanes(ids)
            self._step_labels = {}
            for panel in (self.spectrum, self.class_error):
                panel.set_lanes([n.label for n in names])
            for panel in (self.series, self.capacity):
                panel.set_lanes(names)
        elif names != self._names:
            for panel in (self.series, self.capacity):
                panel.set_labels(names)
        self.class_error.set_lane_names(names)
        self._lane_ids = ids
        self._names = names
        if self.lane_key is not None:
            self._keep_focus_on_its_lane(ids)
            self.lane_key.set_lanes(
                [LaneKeyEntry(position, n.label, n.earlier) for position, n in enumerate(names)]
            )
            self._key_ids = ids

    def _keep_focus_on_its_lane(self, ids: tuple[int, ...]) -> None:
        """The key names lanes by position: a lane removed before the lane in focus moved it up one,
        and the focus goes with it (away, if it was the lane removed)."""
        focus = self.lane_key.focus
        if focus is None or ids == self._key_ids or focus >= len(self._key_ids):
            return
        lane_id = self._key_ids[focus]
        self.lane_key.set_focus(ids.index(lane_id) if lane_id in ids else None)

    def _colour_lanes(self, ids: tuple[int, ...]) -> None:
        """Each lane in the colour it wore (a fresh run's lanes 0 … n−1: the palette in order)."""
        fresh = ids == tuple(range(len(ids)))
        self._slots = lane_slots(ids, {} if fresh else self._slots)
        set_lane_slots([self._slots[lane_id] for lane_id in ids])
        if self.lane_table is not None:
            self.lane_table.recolour()

    def _shown_lanes(self, shown: Snapshot) -> list[LaneSnapshot | None]:
        """The shown step's data of each lane drawn, in the order drawn; None for a lane it did not
        have. By lane, not by position: at a step before lane 0 was removed, SGD's spectra and
        errors were drawn in the colour and under the name of Adam, which had moved into its place."""
        by_id = {lane.lane_id: lane for lane in shown.lanes}
        return [by_id.get(lane_id) for lane_id in self._lane_ids]

    def _name_shown_lanes(self, shown: Snapshot, histories: dict[int, LaneHistory]) -> None:
        """① and ③ show one step's data: each lane is named by the settings that drew that step."""
        for name, panel, step_of in (
            ("spectrum", self.spectrum, lambda lane: lane.spectra_step),
            ("class_error", self.class_error, lambda lane: lane.eval_step),
        ):
            labels = [
                name.label  # a lane the shown step did not have
                if lane is None
                else histories[lane.lane_id].label_at(step_of(lane))
                if lane.lane_id in histories
                else lane.label
                for lane, name in zip(self._shown_lanes(shown), self._names, strict=True)
            ]
            told_apart = _told_apart([LaneNames(label) for label in labels], range(len(labels)))
            labels = [named.label for named in told_apart]
            if labels != self._step_labels.get(name):
                self._step_labels[name] = labels
                panel.set_labels(labels)

    def _draw_series(self, history: MetricHistory, newest: Snapshot) -> None:
        metric = self.series.mode("metric")
        # capacity only changes at evaluation steps: skip its redraw in between
        capacity_key = (self._lane_ids, tuple(lane.eval_step for lane in newest.lanes), len(history))
        fresh_capacity = capacity_key[:2] != (self._capacity_key or (None, None))[:2]
        most_measured = (-1, "")
        for position, lane_id in enumerate(self._lane_ids):
            steps, values, recovered, accuracy = history.columns(
                ("step", metric, "recovered", "accuracy"), lane_id
            )
            self.series.set_series(position, steps, values)
            # every lane's spectra are measured at the same steps, but a diverged lane's metrics end
            # where it did: the lane measured most says how often they were
            measured = int(np.count_nonzero(np.isfinite(values)))
            if measured > most_measured[0]:
                note = thinned_note(metric, steps, values, newest.config.run.spectra_every)
                most_measured = (measured, note)
            if fresh_capacity:
                self.capacity.set_capacity(position, steps, recovered, accuracy)
        self._capacity_key = capacity_key
        self._thinned = most_measured[1]

    def _thinned_told(self) -> str:
        """② measured at fewer steps than due, and where a branch is compared, that it was measured at
        steps of its own: an unchanged lane's two curves, through other steps, read as lanes apart."""
        if not self._thinned or self._comparison is None:
            return self._thinned
        return f"{self._thinned}; the compared branch at steps of its own"

    def _draw_faded(self) -> None:
        """The compared branch's curves of the same lanes (by lane id), redrawn when they change."""
        metric = self.series.mode("metric")
        key = (self._lane_ids, metric, id(self._comparison))
        if key == self._faded_key:
            return
        self._faded_key = key
        other = self._comparison
        for position, lane_id in enumerate(self._lane_ids):
            if other is None or lane_id not in other.labels:
                self.series.set_faded(position, [], [])
                self.capacity.set_faded(position, [], [])
                continue
            steps, values, recovered = other.columns(("step", metric, "recovered"), lane_id)
            names = self._comparison_names.get(lane_id)
            self.series.set_faded(position, steps, values, names)
            self.capacity.set_faded(position, steps, recovered, names)
        for panel in (self.series, self.capacity):  # a table's columns name it as the key does
            panel.compared_branch = f"compared branch {self._comparison_name}".strip()

    def _say_compared(self, has_items: bool) -> None:
        """The key's note on the faint curves: the panels that draw them now (④ does over steps, not
        while it shows a sweep, nor for a stream, which recovers no items; ① draws G_sig dotted), and,
        under a panel drawn alone, just the branch."""
        if self.lane_key is None:
            return
        if self._comparison is None:
            self.lane_key.set_note("")
            return
        name = self._comparison_name
        # ④ draws the other branch's items recovered, not its accuracy: the dashed accuracy curves read
        # as this one's where the key said "in ② and ④" alone
        panels = "② and ④ (recovered)" if self.capacity.in_steps_mode and has_items else "②"
        self.lane_key.set_note(f"dotted, faint in {panels}: {name}", alone=f"dotted, faint: {name}")

    def _draw_heatmap(self, snapshot: Snapshot, buckets: BucketHistory, history: MetricHistory) -> None:
        if self.class_error.view != "heatmap" or not self._lane_ids:
            return
        position = min(self.class_error.heat_lane(), len(self._lane_ids) - 1)
        lane_id = self._lane_ids[position]
        steps, values = buckets.table(lane_id, self.class_error.quantity)
        evaluated_steps, loss = history.columns(("step", "loss"), lane_id)
        evaluated = evaluated_steps[np.isfinite(loss)]
        filled = steps.size
        steps, values = blank_where_missing(steps, values, evaluated, buckets.evaluations_per_column(lane_id))
        first = _first_column_after_missing(steps, evaluated)
        self.class_error.set_first_column(first, blank_between=steps.size > filled)
        n_items = snapshot.lanes[position].class_error.size
        numbered = _staircase(snapshot)
        labels = bucket_labels(snapshot.group_starts, n_items, numbered) if n_items else []
        if numbered:
            axis = "staircase group g · ranks"
            self.class_error.set_heatmap(steps, labels, values, axis, "group ")
        else:
            self.class_error.set_heatmap(steps, labels, values)

    def _draw_spectra_over_steps(
        self, spectra: SpectraHistory | None, playing: bool, newest: Snapshot
    ) -> None:
        """① over the steps: the chosen lane's spectra of its matrix, redrawn when new ones come (while
        the run plays, once a share of the map is new: see :data:`REDRAW_SHARE`)."""
        matrix = self.spectrum.heat_matrix
        if matrix is None or spectra is None or not self._lane_ids:
            return
        position = min(self.spectrum.heat_lane(), len(self._lane_ids) - 1)
        lane_id = self._lane_ids[position]
        lane = next((lane for lane in newest.lanes if lane.lane_id == lane_id), None)
        self.spectrum.set_frozen_since(lane.diverged_step if lane is not None and lane.diverged else None)
        key = (id(spectra), lane_id, matrix, self._names[position])
        (drawn, revision), rows = self._over_steps_rows, len(spectra)
        few_new = playing and 0 <= rows - drawn < max(rows // REDRAW_SHARE, 1)
        if key == self._over_steps_key and (spectra.revision == revision or few_new):
            return
        self._over_steps_key, self._over_steps_rows = key, (rows, spectra.revision)
        steps, k, values = spectra.table(lane_id, matrix, most=SPECTRA_ROWS)
        self.spectrum.set_spectra_over_steps(steps, k, values, self._names[position])
