"""What the panels say in words: panel ②'s metrics, and each panel's text while it has nothing to draw.

Kept apart from the renderer, which decides when to say them: these are plain functions of a Snapshot,
read by the menus (views, controls) as well.
"""

from __future__ import annotations

import numpy as np

from muonscope.app.live_caption import sample_note
from muonscope.engine.optim.registry import OPTIMIZERS
from muonscope.engine.scalar_metrics import SCALAR_METRICS
from muonscope.engine.snapshot import Snapshot
from muonscope.engine.task_kinds import TASK_KINDS
from muonscope.widgets.coinciding import lanes_named
from muonscope.widgets.number_text import number_text
from muonscope.widgets.panel_modes import SERIES_METRICS

__all__ = [
    "FILTERING_METRIC",
    "ITEM_METRICS",
    "LOSS_METRICS",
    "SERIES_AT_MOST_ONE",
    "SERIES_SHORT_TITLES",
    "SIGNAL_METRICS",
    "bucket_labels",
    "capacity_empty_text",
    "precision_floor_note",
    "series_definition",
    "series_empty_text",
    "signal_step_note",
    "spectrum_empty_text",
]

#: Panel ②'s y-axis title where its menu text is too long for the axis (the menu has it whole),
#: shorter and shorter: the first that fits is shown (at 1.5× on a 1280 pixel stage, "spectral gap"
#: was cut to "spectral…").
SERIES_SHORT_TITLES: dict[str, tuple[str, ...]] = {
    "gap": ("spectral gap", "gap"),
    "ratio_gap": ("gap ratio",),
    "alignment": ("alignment",),
    "tail_filtering": ("filtering ratio", "filtering"),
    "sin_theta": ("sin Θ",),
    "batch_loss": ("batch loss", "loss"),
    "loss": ("loss",),
    "excess_loss": ("excess",),
    "balance_gap": ("balance Δ", "Δ"),
    "weight_entropy": ("entropy of W", "entropy"),
    "weight_effective_rank": ("effective rank of W", "eff. rank"),
    "weight_top_energy": ("top-10 energy of W", "top-10"),
    "weight_q75_q25": ("Q75/Q25 of W's σ²", "Q75/Q25"),
    "update_entropy": ("entropy of the update", "entropy"),
}
#: Panel ② metrics that never exceed 1: its axis stops at 1 for them.
SERIES_AT_MOST_ONE = ("sin_theta", "balance_gap", "weight_entropy", "weight_top_energy", "update_entropy")
#: Panel ② metrics that need the population gradient (the noiseless signal).
SIGNAL_METRICS = ("alignment A(update)", "sin Θ of top-r subspace")
FILTERING_METRIC = dict(SERIES_METRICS)["tail_filtering"]
SIN_THETA_METRIC = dict(SERIES_METRICS)["sin_theta"]
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


def _one_step_run(snapshot: Snapshot) -> bool:
    return snapshot.config.run.steps <= 1 and snapshot.step <= 1


def spectrum_empty_text(snapshot: Snapshot) -> str:
    """What panel ① says while it draws no spectrum at the cursor's step ``snapshot``."""
    what = "The singular values σ_k of each lane's matrices at the step on show."
    if snapshot.step == 0:
        return f"{what} Nothing to draw yet: the run is at step 0, before its first gradient."
    every = snapshot.config.run.spectra_every
    return f"{what} None computed yet: spectra are computed every {every} steps (run.spectra_every)."


def signal_step_note(shown: Snapshot) -> str:
    """``G_sig of step 1, the last population gradient`` where a lane's G_sig on show is of another
    step than its G and M, else "".

    A memory's G_sig is the population gradient at the W a step starts from, taken only where the
    population is evaluated exactly: between those steps panel ① drew the G_sig of step 1 (at W = 0,
    alike in every lane) beside the G of step 20, as though one step's.
    """
    steps = sorted(
        {
            lane.signal_step
            for lane in shown.lanes
            if lane.signal_step >= 1 and lane.signal_spectrum.size and lane.signal_step != lane.spectra_step
        }
    )
    if not steps:
        return ""
    named = "step" + ("s " if len(steps) > 1 else " ") + ", ".join(map(str, steps))
    return f"G_sig of {named}, the last population gradient"


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
            f"{what} This run is a single step from W = 0 (run.steps = 1): one value per lane, "
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
    if metric == SIN_THETA_METRIC and _measured_undefined(snapshot):
        return (
            f"{what} Measured at step {snapshot.lanes[0].signal_step} but undefined: a lane's buffer (or "
            f"gradient), or the signal, has fewer than r = {snapshot.lanes[0].gap_rank} directions above "
            "round-off, or its r-th and (r+1)-th singular values are tied, so no top-r subspace (a "
            "minibatch of B items adds at most B directions a step; a post-order buffer averages "
            "orthogonal maps, all of whose singular values are 1)."
        )
    return f"{what} A curve needs two values, and no lane has two yet: it is {_cadence(metric, snapshot)}."


def _measured_undefined(snapshot: Snapshot) -> bool:
    """Whether sin Θ was measured at the newest signal step and came out undefined (NaN) in a lane."""
    return any(lane.signal_step >= 1 and np.isnan(lane.sin_theta) for lane in snapshot.lanes)


def series_definition(key: str, snapshot: Snapshot) -> str:
    """What panel ②'s metric ``key`` is taken of, where its name alone does not say: the rank r
    (a gap "σ_r − σ_(r+1)" with no r, on which matrix?) and an alignment that is not a cosine."""
    rank = snapshot.lanes[0].gap_rank if snapshot.lanes else 0
    if not rank:
        return ""
    if key == "gap":
        return f"r = {rank}, {_gap_matrix(snapshot)}"
    if key == "sin_theta":
        return f"r = {rank}"
    if key == "tail_filtering":
        return f"k > r = {rank}{_without_filtering_ratio(snapshot)}"
    if key == "alignment":
        return "1 for msgn(G_sig), scales with the update"
    return ""


def _without_filtering_ratio(snapshot: Snapshot) -> str:
    """The lanes that draw no filtering ratio beside lanes that do, and why: a post-order buffer
    averages msgn(G), not G (and μ = 0 or order none keep none), so σ(M)/σ(G) would divide unlike
    quantities. Their curves were simply missing from ②."""
    lanes = snapshot.config.lanes
    without = [
        (position, view.label)
        for position, (lane, view) in enumerate(zip(lanes, snapshot.lanes, strict=True))
        if OPTIMIZERS[lane.optimizer].gradient_average_scale(lane) is None
    ]
    if not without or len(without) == len(lanes):
        return ""
    # named as the coincidence notes name lanes: by number where the names run long (two lanes'
    # settings made the note five lines, over ②'s curves, at 1280 pixels)
    named = lanes_named(without)
    keeps = "keeps" if len(without) == 1 else "keep"
    return f"; none for {named}: {'it' if len(without) == 1 else 'they'} {keeps} no average of G"


#: Panel ② metrics that are losses: a float32 run's levels off where float32 runs out of numbers.
LOSS_METRICS = ("batch_loss", "loss", "excess_loss")


def precision_floor_note(key: str, snapshot: Snapshot) -> str:
    """Which lanes' population loss is under the run's dtype's smallest normal number, where panel ②
    shows a loss (``key``), else "".

    There a loss keeps fewer digits the smaller it is and its gradient rounds to 0: in float32 the
    tail-end presets' SignGD and Muon curves levelled off at 10⁻⁴³ after a hundred steps and read as
    converged, where a float64 run goes on to 10⁻⁸⁵.
    """
    if key not in LOSS_METRICS:
        return ""
    smallest_normal = float(np.finfo(np.dtype(snapshot.dtype)).tiny)
    under = [
        (position, lane.label)
        for position, lane in enumerate(snapshot.lanes)
        if lane.loss < smallest_normal and not lane.diverged  # NaN (not evaluated) compares false
    ]
    if not under:
        return ""
    named = lanes_named(under)
    floor = number_text(smallest_normal, 2)
    dtype = snapshot.dtype
    return f"{named}: loss under {dtype}'s normal range ({floor}): {dtype}'s floor, not the lane's"


def thinned_note(key: str, steps: np.ndarray, values: np.ndarray, spectra_every: int) -> str:
    """How few of the steps due a spectral metric of panel ② was measured at, where fewer: while a
    run plays its spectra follow the frame rate, and a curve (or its CSV) drawn through 21 of 61
    steps read as every step's. ``steps``, ``values``: one lane's column of it."""
    if SCALAR_METRICS.get(key, ("",))[0] != "spectra" or spectra_every < 1:
        return ""
    due = int(np.count_nonzero((steps >= 1) & (steps % spectra_every == 0)))
    measured = int(np.count_nonzero(np.isfinite(values) & (steps >= 1)))
    if measured >= due:
        return ""
    return f"measured at {measured} of {due} steps, paced as the run played"  # (also one opened since)


def _gap_matrix(snapshot: Snapshot) -> str:
    """Which matrix the gap is read on: the buffer M where a lane keeps one, else the gradient G
    (a run of μ = 0 lanes was told "of M" with no M anywhere); a ``sum`` buffer read as the EMA of
    its gradients, (1 − μ) times it."""
    buffered = [bool(lane.buffer) for lane in snapshot.lanes]
    if not any(buffered):
        return "of G (no lane keeps a buffer)"
    notes = []
    if any(lane.buffer == "sum" for lane in snapshot.lanes):
        notes.append("a sum buffer's\u00a0×\u00a0(1\u00a0−\u00a0μ)")  # kept on one line where the note wraps
    if not all(buffered):
        notes.append("of G where a lane keeps no buffer")
    return f"of M ({'; '.join(notes)})" if notes else "of M"


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
    return f"{what} A curve needs two evaluations; there has been one so far."
