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

if TYPE_CHECKING:
    from muonscope.engine.experiment import Experiment

__all__ = [
    "LANE_FIELDS",
    "SCHEMA",
    "TRACED_METRICS",
    "PointStopped",
    "Runtime",
    "SweepPoint",
    "compute_point",
    "run_point",
    "runtime_of",
]

#: Bumped whenever what a point computes or what its record holds changes, so stale cache entries
#: are never reused. 3: records and keys name the device, dtype and torch version; 4: traced points
#: keep loss, accuracy, recovered and per-group accuracy over time as well as Δ(W_t).
SCHEMA = "muonscope-sweep-4"
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
#: Scalars a traced point records after every chunk, each as ``<name>_trace`` (one value per trace step).
TRACED_METRICS = ("balance_gap", "loss", "accuracy", "recovered")


@dataclass(frozen=True)
class SweepPoint:
    """One run of a sweep: ``steps`` steps of ``config``, evaluated at the end.

    With ``trace_every_steps`` > 0 the point is also evaluated every that many steps and keeps the
    trajectories of :data:`TRACED_METRICS` and of the per-group accuracy, so a figure over time needs
    no second run.
    """

    config: ExperimentConfig
    steps: int
    coords: tuple[tuple[str, Any], ...] = ()
    trace_every_steps: int = 0

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
    lanes, seconds = run_point(point, stop)
    return lanes, seconds, runtime


def run_point(
    point: SweepPoint, stop: Callable[[], bool] | None = None
) -> tuple[list[dict[str, Any]], float]:
    """Run one point in this process: its lanes' final metrics and the seconds it took."""
    from muonscope.engine.experiment import Experiment

    start = time.perf_counter()
    experiment = Experiment(point.config)
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
            record["trace_step"] = traces["step"]
            for name, per_step in traces["lanes"].items():
                record[f"{name}_trace"] = [values[index] for values in per_step]
        lanes.append(record)
    return lanes, time.perf_counter() - start


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
    ``{"step": [T], "lanes": {name: [T][L]}}`` with ``group_accuracy`` a per-group list per lane.
    """
    steps: list[int] = []
    lanes: dict[str, list[list[Any]]] = {name: [] for name in (*TRACED_METRICS, "group_accuracy")}
    while True:
        experiment.evaluate(with_signal=False)
        snapshot = experiment.snapshot()
        steps.append(experiment.step_count)
        for name in TRACED_METRICS:
            lanes[name].append([_clean(_plain(getattr(lane, name))) for lane in snapshot.lanes])
        lanes["group_accuracy"].append(
            [_group_accuracy(snapshot.group_starts, lane.item_recovered) for lane in snapshot.lanes]
        )
        if experiment.step_count >= point.steps:
            return {"step": steps, "lanes": lanes}
        step_to(min(experiment.step_count + point.trace_every_steps, point.steps))


def _plain(value: Any) -> Any:
    """A snapshot scalar as a JSON number: counts stay ints, the rest become floats."""
    return value if isinstance(value, int) else float(value)
