"""One sweep point and how it is computed: a config, a number of steps, the metrics it ends with.

Everything here runs wherever a point is computed — this process, a local worker process or a Dask
worker on another machine — so it is plain functions of picklable data. Torch is imported only when
a point computes, so describing points and reading the cache stay light.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from muonscope.engine.config import ExperimentConfig, RunConfig
from muonscope.engine.step_threads import one_thread

if TYPE_CHECKING:
    from muonscope.engine.experiment import Experiment

__all__ = [
    "LANE_FIELDS",
    "SCHEMA",
    "SIGNAL_TRACED_METRICS",
    "SIGNAL_TRACED_SPECTRA",
    "TRACED_METRICS",
    "PointStopped",
    "Runtime",
    "SweepPoint",
    "compute_point",
    "lane_record_problem",
    "run_point",
    "runtime_of",
]

#: Bumped whenever what a point computes or what its record holds changes, so stale cache entries
#: are never reused (a change to a metric's definition or a rule is listed in engine.measure_changes
#: as well, for saved sessions).
#: 3: records and keys name the device, dtype and torch version; 4: traced points
#: keep loss, accuracy, recovered and per-group accuracy over time as well as Δ(W_t); 5: traced
#: points may also keep the signal metrics (alignment, sin Θ, spectra against the population gradient);
#: 6: a learnt memory's loss and gradient keep what lies below the unit round-off; 7: sin Θ is null
#: where a top-r subspace is partly round-off; 8: the alignment's inner product is taken without
#: overflow or underflow in the run's dtype, and a diverged lane measures no update; 9: Muon's exact
#: map drops directions up to two round-offs of ‖X‖_F as well (float32 only); 10: ‖X‖_F, h_λ's
#: √(σ² + λ²) and Adam's √v̂ are taken without overflow in the run's dtype; 11: sin Θ is null where
#: σ_r and σ_(r+1) are tied; 12: a ``sum`` buffer's spectral gap is read as the EMA's, times (1 − μ);
#: 13: the filtering ratio leaves out σ_k(G) below one floor in every dtype (FILTERING_FLOOR).
SCHEMA = "muonscope-sweep-13"
_LANE_METRICS = (
    "recovered",
    "recovered_prefix",
    "accuracy",
    "loss",
    "excess_loss",
    "balance_gap",
    "batch_loss",
    "alignment",
    "sin_theta",
    "gap",
)
#: How often a point computing far from its caller asks whether it is still wanted.
_STOP_POLL_S = 1.0
#: Fields every lane record has (the traced ones come on top).
LANE_FIELDS = (
    *_LANE_METRICS,
    "label",
    "optimizer",
    "order",
    "buffer",
    "diverged",
    "group_loss",
    "weight_entropy",
)
#: Lane-record fields that hold text, and counts; the other metrics are numbers (null where not finite).
_TEXT_FIELDS = ("label", "optimizer", "order", "buffer")
_COUNT_FIELDS = ("recovered", "recovered_prefix")
_TRACE_STEP_FIELDS = ("trace_step", "signal_trace_step")


def lane_record_problem(lane: dict[str, Any]) -> str:
    """What in a lane record read back (a cache entry) :func:`run_point` would not have written; "".

    A stored ``accuracy = "high"`` reached the written tables, and parquet refused it with a crash.
    """
    missing = [name for name in LANE_FIELDS if name not in lane]
    if missing:
        return f"has no {missing[0]!r}"
    for name, value in lane.items():
        kind, fits = _expected(name, value)
        if not fits:
            return f"has {value!r:.40} as its {name!r}, which must be {kind}"
    return ""


def _expected(name: str, value: Any) -> tuple[str, bool]:
    """What field ``name`` of a lane record holds, and whether ``value`` is that."""
    if name in _TEXT_FIELDS:
        return "text", isinstance(value, str)
    if name in _COUNT_FIELDS:
        return "a count (a whole number ≥ 0)", _is_count(value)
    if name == "diverged":
        return "true or false", isinstance(value, bool)
    if name in _TRACE_STEP_FIELDS:
        fits = isinstance(value, list) and all(step is None or _is_count(step) for step in value)
        return "a list of steps", fits
    # the metrics, per-group lists and traces (spectra: lists of lists)
    return "a number, null or a list of them", _are_numbers(value)


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _are_numbers(value: Any) -> bool:
    """A number, null (not finite) or a list of such, nested as traces of spectra are."""
    if isinstance(value, list):
        return all(_are_numbers(item) for item in value)
    return value is None or (isinstance(value, int | float) and not isinstance(value, bool))


#: Scalars a traced point records after every chunk, each as ``<name>_trace`` (one value per trace step).
TRACED_METRICS = ("balance_gap", "loss", "accuracy", "recovered")
#: Scalars a point traced with the signal records on the step after each trace step, as ``<name>_trace``.
SIGNAL_TRACED_METRICS = ("alignment", "sin_theta", "gap", "tail_filtering")
#: Spectra (one list of singular values or ratios per trace step) recorded beside them: σ_k of the
#: population gradient G_sig, of the minibatch gradient G, of the buffer M and of the update D, and the
#: engine's filtering ratio σ_k(M)/σ_k(G) (empty for a lane without a buffer of gradients).
SIGNAL_TRACED_SPECTRA = (
    "signal_spectrum",
    "gradient_spectrum",
    "momentum_spectrum",
    "update_spectrum",
    "filtering_ratio",
)


@dataclass(frozen=True)
class SweepPoint:
    """One run of a sweep: ``steps`` steps of ``config``, evaluated at the end.

    With ``trace_every_steps`` > 0 the point is also evaluated every that many steps and keeps the
    trajectories of :data:`TRACED_METRICS` and of the per-group accuracy, so a figure over time needs
    no second run.

    With ``trace_signal`` as well, each trace step t evaluates the population gradient G_sig = ∇L(W_t)
    and takes the next step at once, so that its signal metrics (:data:`SIGNAL_TRACED_METRICS`) and
    spectra (:data:`SIGNAL_TRACED_SPECTRA`) describe the step t → t + 1: its minibatch gradient, the
    buffer and update it produced, against the population gradient at the W it started from (Li et
    al.'s signal). The last trace step (the end of the run) has no such step: its values are None.
    Only the metrics change; the trajectory is the one the untraced point takes.
    """

    config: ExperimentConfig
    steps: int
    coords: tuple[tuple[str, Any], ...] = ()
    trace_every_steps: int = 0
    trace_signal: bool = False

    def __post_init__(self) -> None:
        if self.trace_signal and self.trace_every_steps <= 0:
            raise ValueError("trace_signal needs trace_every_steps > 0 (the steps it measures at)")

    @property
    def key(self) -> str:
        """What the point computes, hashed: equal for equal configs whatever their coordinates."""
        payload = json.dumps(self.identity(), sort_keys=True)
        return hashlib.sha256(payload.encode()).hexdigest()[:32]

    def identity(self) -> dict[str, Any]:
        """The point's config, steps and tracing as plain JSON data (what a cache record stores)."""
        content: dict[str, Any] = {"schema": SCHEMA, "config": self.config.to_dict(), "steps": self.steps}
        if self.trace_every_steps:  # untraced points keep the keys they always had
            content["trace_every_steps"] = self.trace_every_steps
        if self.trace_signal:
            content["trace_signal"] = True
        return json.loads(json.dumps(content))  # tuples become lists, as they come back from a file

    def coord(self, name: str) -> Any:
        return dict(self.coords)[name]


@dataclass(frozen=True)
class Runtime:
    """Where a point's numbers come from: float32 on a GPU and float64 on a CPU differ in the bits."""

    device: str  # "cpu", "cuda"
    dtype: str  # "float32", "float64"
    torch_version: str

    def describe(self) -> str:
        return f"{self.device} in {self.dtype} with torch {self.torch_version}"


def runtime_of(run: RunConfig) -> Runtime:
    """The runtime a point with these run settings gets in this process (ConfigError if impossible)."""
    import torch

    from muonscope.engine.device import resolve_device

    device, dtype = resolve_device(run)
    return Runtime(device.type, str(dtype).removeprefix("torch."), torch.__version__)


class PointStopped(Exception):
    """A point was abandoned because its sweep was cancelled; nothing of it is kept."""


def _clean(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def compute_point(
    point: SweepPoint, stop: Callable[[], bool] | None = None
) -> tuple[list[dict[str, Any]], float, Runtime]:
    """Run one point here: its lanes' final metrics, the seconds it took and where it ran.

    ``stop`` is asked about once a second, between steps; when it says so the point is abandoned
    with :class:`PointStopped` (a cancelled sweep frees a remote worker within about a step).
    """
    runtime = runtime_of(point.config.run)
    with one_thread():  # the same numbers in a pool worker, this process or on a Dask worker
        lanes, seconds = run_point(point, stop)
    return lanes, seconds, runtime


def run_point(
    point: SweepPoint, stop: Callable[[], bool] | None = None
) -> tuple[list[dict[str, Any]], float]:
    """Run one point in this process: its lanes' final metrics and the seconds it took."""
    start = time.perf_counter()
    experiment = _experiment(point)
    step_to = _Stepper(experiment, stop)
    traces = _run_traced(experiment, point, step_to) if point.trace_every_steps else None
    step_to(point.steps)
    experiment.evaluate(with_signal=False)
    snapshot = experiment.snapshot()
    lanes = []
    for index, lane in enumerate(snapshot.lanes):
        record = {name: _clean(float(getattr(lane, name))) for name in _LANE_METRICS}
        record["recovered"] = lane.recovered
        record["recovered_prefix"] = lane.recovered_prefix
        record.update(label=lane.label, optimizer=lane.optimizer, order=lane.order, diverged=lane.diverged)
        record["buffer"] = point.config.lanes[index].buffer
        record["group_loss"] = [_clean(float(v)) for v in lane.group_loss]
        record["weight_entropy"] = _clean(lane.weight_isotropy.entropy)
        if traces is not None:
            record["group_accuracy"] = _group_accuracy(snapshot.group_starts, lane.item_recovered)
            for name in ("trace_step", "signal_trace_step"):
                if name in traces:
                    record[name] = traces[name]
            for name, per_step in traces["lanes"].items():
                record[f"{name}_trace"] = [values[index] for values in per_step]
        lanes.append(record)
    return lanes, time.perf_counter() - start


def _experiment(point: SweepPoint) -> Experiment:
    """The point's experiment; traced with the signal, its spectra also come on every paired step.

    Spectra cost SVDs, so rather than computing them on every step the run's cadence becomes 1 with
    a gate that opens on the steps that follow a trace step and on the config's own cadence.
    """
    from muonscope.engine.experiment import Experiment

    if not point.trace_signal:
        return Experiment(point.config)
    own_every = point.config.run.spectra_every
    paired = {t + 1 for t in range(0, point.steps, point.trace_every_steps)}
    experiment = Experiment(point.config.with_value("run.spectra_every", 1))
    experiment.spectra_gate = lambda step: step in paired or step % own_every == 0
    return experiment


class _Stepper:
    """Steps an experiment to a step count; with ``stop``, one step at a time, asking now and then.

    Steps taken one at a time end exactly where ``step(n)`` ends: ``step(n)`` is n single steps.
    """

    def __init__(self, experiment: Experiment, stop: Callable[[], bool] | None) -> None:
        self.experiment = experiment
        self.stop = stop
        self._asked = time.monotonic()

    def __call__(self, target: int) -> None:
        if self.stop is None:
            self.experiment.step(target - self.experiment.step_count)
            return
        while self.experiment.step_count < target:
            if time.monotonic() - self._asked >= _STOP_POLL_S:
                self._asked = time.monotonic()
                if self.stop():
                    raise PointStopped(f"stopped at step {self.experiment.step_count}")
            self.experiment.step(1)


def _group_accuracy(group_starts: Any, item_recovered: Any) -> list[float]:
    """Share of each frequency group's items recovered; empty for tasks without groups (spiked streams)."""
    from muonscope.engine.snapshot import group_means

    if not group_starts.size:
        return []
    return [float(v) for v in group_means(item_recovered, group_starts)]


def _run_traced(experiment: Experiment, point: SweepPoint, step_to: _Stepper) -> dict[str, Any]:
    """Step to ``point.steps`` in chunks, recording each lane's traced metrics after every chunk (and at 0).

    Returns the trace steps and, per metric, a list over trace steps of per-lane values:
    ``{"trace_step": [T], "lanes": {name: [T][L]}}`` with ``group_accuracy`` a per-group list per
    lane; traced with the signal, also ``signal_trace_step`` ([T]: the step each signal value
    describes, None at the end) and the signal metrics and spectra.
    """
    steps: list[int] = []
    signal_steps: list[int | None] = []
    names = (*TRACED_METRICS, "group_accuracy")
    if point.trace_signal:
        names += (*SIGNAL_TRACED_METRICS, *SIGNAL_TRACED_SPECTRA)
    lanes: dict[str, list[list[Any]]] = {name: [] for name in names}
    while True:
        done = experiment.step_count >= point.steps
        experiment.evaluate(with_signal=point.trace_signal and not done)  # no step pairs with the last
        snapshot = experiment.snapshot()
        steps.append(experiment.step_count)
        for name in TRACED_METRICS:
            lanes[name].append([_clean(_plain(getattr(lane, name))) for lane in snapshot.lanes])
        lanes["group_accuracy"].append(
            [_group_accuracy(snapshot.group_starts, lane.item_recovered) for lane in snapshot.lanes]
        )
        if point.trace_signal:
            if not done:
                step_to(experiment.step_count + 1)  # the step that pairs with this evaluation's G_sig
            signal_steps.append(None if done else experiment.step_count)
            _record_signal(lanes, None if done else experiment.snapshot())
        if done:
            traced: dict[str, Any] = {"trace_step": steps, "lanes": lanes}
            if point.trace_signal:
                traced["signal_trace_step"] = signal_steps
            return traced
        step_to(min(steps[-1] + point.trace_every_steps, point.steps))


def _record_signal(lanes: dict[str, list[list[Any]]], snapshot: Any) -> None:
    """Append each lane's signal metrics and spectra of the snapshot's step (None/[] where not computed).

    ``snapshot`` None (no step followed the trace step) records nothing measured; a lane whose signal
    or spectra were not computed at this very step (no population gradient: a sampled evaluation)
    records None and [] rather than an older value.
    """
    count = len(next(iter(lanes.values()))[-1])
    for name in (*SIGNAL_TRACED_METRICS, *SIGNAL_TRACED_SPECTRA):
        lanes[name].append([None if name in SIGNAL_TRACED_METRICS else [] for _ in range(count)])
    if snapshot is None:
        return
    for index, lane in enumerate(snapshot.lanes):
        fresh_signal = lane.signal_step == snapshot.step
        fresh_spectra = lane.spectra_step == snapshot.step
        values = {
            "alignment": lane.alignment if fresh_signal else None,
            "sin_theta": lane.sin_theta if fresh_signal else None,
            "gap": lane.gap if fresh_spectra else None,
            "tail_filtering": lane.tail_filtering if fresh_spectra else None,
            "signal_spectrum": lane.signal_spectrum if fresh_signal else (),
            "gradient_spectrum": lane.spectra.gradient if fresh_spectra else (),
            "momentum_spectrum": lane.spectra.momentum if fresh_spectra else (),
            "update_spectrum": lane.spectra.update if fresh_spectra else (),
            "filtering_ratio": lane.filtering_ratio if fresh_spectra else (),
        }
        for name, value in values.items():
            if name in SIGNAL_TRACED_METRICS:
                lanes[name][-1][index] = None if value is None else _clean(float(value))
            else:
                lanes[name][-1][index] = [_clean(float(v)) for v in value]


def _plain(value: Any) -> Any:
    """A snapshot scalar as a JSON number: counts stay ints, the rest become floats."""
    return value if isinstance(value, int) else float(value)
