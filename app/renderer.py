"""Snapshot + history → widget calls: the only place that knows both sides' vocabularies."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from muonscope.app.lane_colours import lane_slots
from muonscope.app.live_caption import sample_note
from muonscope.engine.history import MetricHistory
from muonscope.engine.lane_history import LaneHistory
from muonscope.engine.optim.registry import OPTIMIZERS
from muonscope.engine.scalar_metrics import SCALAR_METRICS
from muonscope.engine.snapshot import Event, Snapshot, group_means
from muonscope.engine.task_kinds import TASK_KINDS
from muonscope.widgets.lane_key import LaneKeyEntry
from muonscope.widgets.lane_names import LaneNames
from muonscope.widgets.theme import set_lane_slots

__all__ = [
    "ITEM_METRICS",
    "SERIES_AT_MOST_ONE",
    "SERIES_METRICS",
    "SERIES_SHORT_TITLES",
    "BucketHistory",
    "Renderer",
    "bucket_labels",
    "capacity_empty_text",
    "series_empty_text",
]

#: History column → menu text of panel ②.
SERIES_METRICS = [
    ("gap", "spectral gap σ_r − σ_r+1"),
    ("ratio_gap", "largest gap ratio σ_k / σ_k+1"),
    ("alignment", "alignment A(update)"),
    ("tail_filtering", "filtering ratio σ(M)/σ(G), tail"),
    ("sin_theta", "sin Θ of top-r subspace"),
    ("batch_loss", "minibatch loss"),
    ("loss", "population loss"),
    ("excess_loss", "excess loss"),
    ("balance_gap", "balance Δ = max − min p̂(correct)"),
    ("weight_entropy", "isotropy of W: normalised entropy"),
    ("weight_effective_rank", "isotropy of W: effective rank"),
    ("weight_top_energy", "isotropy of W: top-10 energy"),
    ("weight_q75_q25", "isotropy of W: Q75/Q25 of σ²"),
    ("update_entropy", "isotropy of the update: entropy"),
]
#: Panel ②'s y-axis title where its menu text is too long for the axis (the menu has it whole).
SERIES_SHORT_TITLES = {
    "gap": "spectral gap",
    "ratio_gap": "gap ratio",
    "alignment": "alignment",
    "tail_filtering": "filtering ratio",
    "sin_theta": "sin Θ",
    "balance_gap": "balance Δ",
    "weight_entropy": "entropy of W",
    "weight_effective_rank": "effective rank of W",
    "weight_top_energy": "top-10 energy of W",
    "weight_q75_q25": "Q75/Q25 of W's σ²",
    "update_entropy": "entropy of the update",
}
#: Panel ② metrics that never exceed 1: its axis stops at 1 for them.
SERIES_AT_MOST_ONE = ("sin_theta", "balance_gap", "weight_entropy", "weight_top_energy", "update_entropy")
SPECTRUM_MATRICES = ("gradient", "momentum", "update", "weights")
#: Panel ② metrics that need the population gradient (the noiseless signal).
SIGNAL_METRICS = ("alignment A(update)", "sin Θ of top-r subspace")
FILTERING_METRIC = dict(SERIES_METRICS)["tail_filtering"]
#: Panel ② metrics of a task's items and their losses: none on a task without classes (the stream).
ITEM_METRICS = ("batch_loss", "loss", "excess_loss", "balance_gap")


def bucket_labels(group_starts: np.ndarray, n_items: int, numbered: bool = False) -> list[str]:
    """Rank ranges of the frequency groups, e.g. ``1``, ``2–3``, ``4–7``.

    ``numbered`` puts each group's own number g = 0, 1, … in front (``g=2 · 3–4``), for tasks whose
    groups are part of their definition (Wang et al.'s staircase: g = 0 holds one class, g ≥ 1
    holds 2^(g−1)).
    """
    ends = np.append(group_starts[1:], n_items)
    ranges = [f"{a + 1}" if b - a == 1 else f"{a + 1}–{b}" for a, b in zip(group_starts, ends, strict=True)]
    return [f"g={g} · {text}" for g, text in enumerate(ranges)] if numbered else ranges


def _names_of(history: LaneHistory) -> LaneNames:
    """A lane's settings along the run as the panels name it: its labels and when each ended."""
    return LaneNames(history.label, history.earlier)


def _staircase(snapshot: Snapshot) -> bool:
    task = snapshot.config.task
    return TASK_KINDS[task.kind].numbered_groups(task)


def _one_step_run(snapshot: Snapshot) -> bool:
    return snapshot.config.run.steps <= 1 and snapshot.step <= 1


def spectrum_empty_text(snapshot: Snapshot) -> str:
    """What panel ① says while it draws no spectrum at the cursor's step ``snapshot``."""
    what = "The singular values σ_k of each lane's matrices at the step on show."
    if snapshot.step == 0:
        return f"{what} Nothing to draw yet: the run is at step 0, before its first gradient."
    every = snapshot.config.run.spectra_every
    return f"{what} None computed yet: spectra are computed every {every} steps (run.spectra_every)."


def series_empty_text(metric: str, snapshot: Snapshot) -> str:
    """What panel ② says while no lane has two values of ``metric`` (the menu's text) to draw."""
    what = f"Each lane's {metric} over the steps."
    if snapshot.step == 0:
        return f"{what} Nothing to draw yet: the run is at step 0."
    kind = TASK_KINDS[snapshot.config.task.kind]
    if not kind.has_classes and metric in (dict(SERIES_METRICS)[key] for key in ITEM_METRICS):
        return f"{what} The {kind.name} task has no items or classes, so no {metric}: choose another metric."
    if metric in SIGNAL_METRICS and sample_note(snapshot):
        run, n_items = snapshot.config.run, snapshot.config.task.n_items
        return (
            f"{what} It needs the population gradient, which this run does not compute: with "
            f"N = {n_items} above run.exact_eval_items = {run.exact_eval_items}, the population is "
            "evaluated on a sample of items. Raise run.exact_eval_items to N to compute it."
        )
    if _one_step_run(snapshot):
        return (
            f"{what} This preset is a single step from W = 0 (run.steps = 1): one value per lane, "
            "no curve. Panels ① and ③ show what that step did; step on to draw a curve."
        )
    if metric == FILTERING_METRIC and not any(
        OPTIMIZERS[lane.optimizer].gradient_average_scale(lane) is not None for lane in snapshot.config.lanes
    ):
        return (
            f"{what} It compares a momentum buffer, read as the average of the gradients, with the "
            "gradient: no lane here keeps one (μ = 0 or order none keep no buffer, and a post-order "
            "buffer averages the mapped gradients msgn(G), so σ(M)/σ(G) would divide unlike quantities)."
        )
    return f"{what} A curve needs two values, and no lane has two yet: it is {_cadence(metric, snapshot)}."


def series_definition(key: str, snapshot: Snapshot) -> str:
    """What panel ②'s metric ``key`` is taken of, where its name alone does not say: the rank r
    (a gap "σ_r − σ_r+1" with no r, on which matrix?) and an alignment that is not a cosine."""
    rank = snapshot.lanes[0].gap_rank if snapshot.lanes else 0
    if not rank:
        return ""
    if key == "gap":
        return f"r = {rank}, of M (of G where a lane keeps no buffer)"
    if key in ("sin_theta", "tail_filtering"):
        return f"r = {rank}" if key == "sin_theta" else f"k > r = {rank}"
    if key == "alignment":
        return "1 for msgn(G_sig), scales with the update"
    return ""


def _notes(*parts: str) -> str:
    """A panel's corner note from its parts, those that say something, joined by " · "."""
    return " · ".join(part for part in parts if part)


def _every(steps: int) -> str:
    return "every step" if steps == 1 else f"every {steps} steps"


def _cadence(metric: str, snapshot: Snapshot) -> str:
    """When panel ②'s ``metric`` (the menu's text) is computed, in the run's own settings."""
    key = next((key for key, text in SERIES_METRICS if text == metric), None)
    group = SCALAR_METRICS[key][0] if key in SCALAR_METRICS else None
    run = snapshot.config.run
    if group == "step":
        return "computed at every step"
    if group == "eval":
        return f"computed at each population evaluation, {_every(run.eval_every)} (run.eval_every)"
    if group == "spectra":
        return f"computed with the spectra, {_every(run.spectra_every)} (run.spectra_every)"
    if group == "signal":
        return "measured with the spectra, or after a population evaluation that gave the population gradient"
    return "computed only at some steps, or for some lanes"


def capacity_empty_text(snapshot: Snapshot) -> str:
    """What panel ④ says in its steps mode while no lane has two evaluations to draw a curve through."""
    cadence = _every(snapshot.config.run.eval_every)
    what = f"Items each lane has recovered over the steps, counted at each population evaluation ({cadence})."
    if snapshot.step == 0:
        return f"{what} Nothing to draw yet: the run is at step 0."
    if _one_step_run(snapshot):
        return (
            f"{what} This preset is a single step from W = 0 (run.steps = 1): no curve over steps. "
            "Choose a sweep above for capacity against d, N or B."
        )
    return f"{what} A curve needs two evaluations; there has been one so far."


@dataclass
class BucketHistory:
    """Mean per-class error in each frequency bucket at every evaluated step, per lane id (bounded)."""

    capacity: int = 1500
    steps: dict[int, list[int]] = field(default_factory=dict)
    values: dict[int, list[np.ndarray]] = field(default_factory=dict)
    losses: dict[int, list[np.ndarray]] = field(default_factory=dict)

    def clear(self) -> None:
        self.steps.clear()
        self.values.clear()
        self.losses.clear()

    def add(self, snapshot: Snapshot) -> None:
        starts = snapshot.group_starts
        for lane in snapshot.lanes:
            if lane.eval_step != snapshot.step or lane.class_error.size == 0 or starts.size == 0:
                continue
            steps = self.steps.setdefault(lane.lane_id, [])
            values = self.values.setdefault(lane.lane_id, [])
            losses = self.losses.setdefault(lane.lane_id, [])
            if steps and steps[-1] >= snapshot.step:
                continue
            steps.append(snapshot.step)
            # the engine's group means (estimates when it sampled); a session saved before it reported
            # them has the per-class errors of every item to average
            reported = lane.group_error.size > 0
            values.append(np.asarray(lane.group_error) if reported else group_means(lane.class_error, starts))
            losses.append(np.asarray(lane.group_loss, dtype=float))
            if len(steps) > self.capacity:
                del steps[1::2], values[1::2], losses[1::2]

    def table(self, lane_id: int, quantity: str = "error") -> tuple[np.ndarray, np.ndarray]:
        """(steps, values (T, groups)) of one lane: bucket-mean error or group loss."""
        steps = self.steps.get(lane_id, [])
        if not steps:
            return np.zeros(0), np.zeros((0, 0))
        rows = self.values[lane_id] if quantity == "error" else self.losses[lane_id]
        return np.array(steps, dtype=float), np.vstack(rows)


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
        self._labels_now: tuple[str, ...] = ()  # the snapshot's labels when the lanes were named
        self._histories: tuple[LaneHistory, ...] | None = None
        self._by_id: dict[int, LaneHistory] = {}
        self._names: list[LaneNames] = []  # each drawn lane's labels over the steps
        self._step_labels: dict[str, list[str]] = {}  # ① and ③: each lane's label at its data's step
        self._capacity_key: tuple | None = None
        self._comparison: MetricHistory | None = None  # another branch, drawn faded
        self._comparison_name = ""
        self._comparison_names: dict[int, LaneNames] = {}  # by lane id
        self._faded_key: tuple | None = None

    def set_comparison(
        self, history: MetricHistory | None, name: str = "", histories: tuple[LaneHistory, ...] = ()
    ) -> None:
        """Another branch's recorded metrics to draw faded in ② and ④ (None: none), with its lanes'
        settings along that branch."""
        self._comparison, self._comparison_name = history, name
        self._comparison_names = {h.lane_id: _names_of(h) for h in histories}
        self._faded_key = None

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
    ) -> None:
        """Draw ``shown`` (the cursor's step) against the history up to ``newest``.

        ``cursor_step``: where the view is (default ``shown``'s step), for the timeline and the time
        axes, whose history reaches every step; ``notes``: what panels ① and ③ say when what they
        draw is of another step (while that step's snapshot is being recomputed, say);
        ``histories``: every lane's settings along the steps drawn (default: ``newest``'s, which
        know no step beyond it); each point is named by the settings of its step; ``events``: the
        changes marked on the time axes (default: ``newest``'s, which know none beyond it either).
        """
        cursor = shown.step if cursor_step is None else cursor_step
        for panel in (self.series, self.capacity, self.class_error, self.timeline):
            panel.set_run_length(newest.config.run.steps)  # step axes end with the run
        source = newest.lane_histories if histories is None else histories
        if source is not self._histories:  # the same tuple from step to step until settings change
            self._histories = source
            self._by_id = {h.lane_id: h for h in source}
            self._lane_ids = ()  # name the lanes afresh
        self._sync_lanes(newest, self._by_id)
        self._name_shown_lanes(shown, self._by_id)
        self.spectrum.set_dtype(shown.dtype)
        self.spectrum.set_shown_step(shown.step)
        self.class_error.set_shown_step(shown.step)
        self.spectrum.set_empty_text(spectrum_empty_text(shown))
        note = sample_note(shown)  # the cursor's step: an earlier evaluation may have been exact
        self.class_error.set_sample_note(note.replace("estimate from ", "").replace(" items", ""))
        self.capacity.set_estimate_note(sample_note(newest).replace("estimate from", "estimated from"))
        for position, lane in enumerate(shown.lanes[: len(self._lane_ids)]):
            for matrix in SPECTRUM_MATRICES:
                self.spectrum.set_spectrum(position, matrix, getattr(lane.spectra, matrix))
            self.spectrum.set_spectrum(position, "signal", lane.signal_spectrum)
            self.class_error.set_errors(position, lane.class_error, lane.item_recovered)
        self.spectrum.set_note(_notes(notes[0], self.spectrum.coinciding, self.spectrum.round_off_note))
        self.class_error.set_note(_notes(notes[1], self.class_error.coinciding))
        self._draw_series(history, newest)
        # a curve hidden under another lane's, and the points of a sweep stopped part-way, said
        self.capacity.set_note(_notes(self.capacity.coinciding, self.capacity.partial_note))
        definition = series_definition(self.series.mode("metric"), newest)
        self.series.set_note(_notes(definition, self.series.coinciding, self.series.zeros_note))
        self.series.set_empty_text(series_empty_text(self.series.modes["metric"].currentText(), newest))
        self.capacity.set_empty_text(capacity_empty_text(newest))
        self._draw_faded()
        self._draw_heatmap(newest, buckets)
        events = [(e.step, e.text) for e in (newest.events if events is None else events)]
        self.series.markers.set_events(events)
        self.capacity.markers.set_events(events)
        self.timeline.set_events([step for step, _ in events])
        extent = newest.step if head_step is None else max(head_step, newest.step)
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
            self.lane_key.set_lanes(
                [LaneKeyEntry(position, n.label, n.earlier) for position, n in enumerate(names)]
            )

    def _colour_lanes(self, ids: tuple[int, ...]) -> None:
        """Each lane in the colour it wore (a fresh run's lanes 0 … n−1: the palette in order)."""
        fresh = ids == tuple(range(len(ids)))
        self._slots = lane_slots(ids, {} if fresh else self._slots)
        set_lane_slots([self._slots[lane_id] for lane_id in ids])
        if self.lane_table is not None:
            self.lane_table.recolour()

    def _name_shown_lanes(self, shown: Snapshot, histories: dict[int, LaneHistory]) -> None:
        """① and ③ show one step's data: each lane is named by the settings that drew that step."""
        for name, panel, step_of in (
            ("spectrum", self.spectrum, lambda lane: lane.spectra_step),
            ("class_error", self.class_error, lambda lane: lane.eval_step),
        ):
            labels = [
                histories[lane.lane_id].label_at(step_of(lane)) if lane.lane_id in histories else lane.label
                for lane in shown.lanes[: len(self._lane_ids)]
            ]
            labels += [n.label for n in self._names[len(labels) :]]  # lanes the shown step did not have
            if labels != self._step_labels.get(name):
                self._step_labels[name] = labels
                panel.set_labels(labels)

    def _draw_series(self, history: MetricHistory, newest: Snapshot) -> None:
        metric = self.series.mode("metric")
        # capacity only changes at evaluation steps: skip its redraw in between
        capacity_key = (self._lane_ids, tuple(lane.eval_step for lane in newest.lanes), len(history))
        fresh_capacity = capacity_key[:2] != (self._capacity_key or (None, None))[:2]
        for position, lane_id in enumerate(self._lane_ids):
            steps, values, recovered, accuracy = history.columns(
                ("step", metric, "recovered", "accuracy"), lane_id
            )
            self.series.set_series(position, steps, values)
            if fresh_capacity:
                self.capacity.set_capacity(position, steps, recovered, accuracy)
        self._capacity_key = capacity_key

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
        if self.lane_key is not None:
            self.lane_key.set_note(f"dotted, faint: {self._comparison_name}" if other is not None else "")

    def _draw_heatmap(self, snapshot: Snapshot, buckets: BucketHistory) -> None:
        if self.class_error.view != "heatmap" or not self._lane_ids:
            return
        position = min(self.class_error.heat_lane(), len(self._lane_ids) - 1)
        steps, values = buckets.table(self._lane_ids[position], self.class_error.quantity)
        n_items = snapshot.lanes[position].class_error.size
        numbered = _staircase(snapshot)
        labels = bucket_labels(snapshot.group_starts, n_items, numbered) if n_items else []
        if numbered:
            axis = "staircase group g · ranks"
            self.class_error.set_heatmap(steps, labels, values, axis, "group ")
        else:
            self.class_error.set_heatmap(steps, labels, values)
