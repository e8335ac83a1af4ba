"""Sweeps: many independent runs, in parallel processes, cached on disk, cancellable.

A sweep is a list of :class:`SweepPoint` — a config, a number of steps and the coordinates that
place the point on a plot (``d = 64``, ``seed = 2``). Points run in worker processes (each with
one torch thread, so processes do not fight over cores) and results stream back as they finish.
Each finished point is stored under a hash of its config, so re-running a sweep with the same grid
only computes the points that are new.
"""

from __future__ import annotations

import hashlib
import json
import math
import multiprocessing
import os
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from muonscope.engine.config import ExperimentConfig
from muonscope.engine.experiment import Experiment
from muonscope.engine.snapshot import group_means

__all__ = ["PointResult", "SweepPoint", "SweepRunner", "default_cache_dir", "run_point"]

_POLL_S = 0.2
_ORPHAN_POLL_S = 0.5  # how often a worker checks that its parent is still there
#: Bumped whenever what a point computes changes, so stale cache entries are never reused.
SCHEMA = "muonscope-sweep-2"
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


@dataclass(frozen=True)
class SweepPoint:
    """One run of a sweep: ``steps`` steps of ``config``, evaluated at the end.

    With ``trace_every_steps`` > 0 the point is also evaluated every that many steps and keeps the
    Δ(W_t) trajectory and the per-group accuracy, so a figure over time needs no second run.
    """

    config: ExperimentConfig
    steps: int
    coords: tuple[tuple[str, Any], ...] = ()
    trace_every_steps: int = 0

    @property
    def key(self) -> str:
        content: dict[str, Any] = {"schema": SCHEMA, "config": self.config.to_dict(), "steps": self.steps}
        if self.trace_every_steps:  # untraced points keep the keys they always had
            content["trace_every_steps"] = self.trace_every_steps
        payload = json.dumps(content, sort_keys=True)
        return hashlib.sha256(payload.encode()).hexdigest()[:32]

    def coord(self, name: str) -> Any:
        return dict(self.coords)[name]


@dataclass(frozen=True)
class PointResult:
    """Final metrics of every lane of one point (plain data, JSON-ready)."""

    point: SweepPoint
    lanes: tuple[dict[str, Any], ...]
    seconds: float
    cached: bool = False

    def lane(self, index: int) -> dict[str, Any]:
        return self.lanes[index]


def _clean(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def run_point(point: SweepPoint) -> tuple[list[dict[str, Any]], float]:
    """Run one point in this process: its lanes' final metrics and the seconds it took."""
    start = time.perf_counter()
    experiment = Experiment(point.config)
    traces = _run_traced(experiment, point) if point.trace_every_steps else None
    experiment.step(point.steps - experiment.step_count)
    experiment.evaluate(with_signal=False)
    snapshot = experiment.snapshot()
    lanes = []
    for index, lane in enumerate(snapshot.lanes):
        record = {name: _clean(float(getattr(lane, name))) for name in _LANE_METRICS}
        record["recovered"] = lane.recovered
        record["recovered_prefix"] = lane.recovered_prefix
        record.update(label=lane.label, optimizer=lane.optimizer, order=lane.order, diverged=lane.diverged)
        record["group_loss"] = [_clean(float(v)) for v in lane.group_loss]
        record["weight_entropy"] = _clean(lane.weight_isotropy.entropy)
        if traces is not None:
            record["trace_step"] = traces["step"]
            record["balance_gap_trace"] = [_clean(gaps[index]) for gaps in traces["balance_gap"]]
            starts = snapshot.group_starts  # tasks without groups (spiked streams) have none
            accuracy = group_means(lane.item_recovered, starts) if starts.size else []
            record["group_accuracy"] = list(map(float, accuracy))
        lanes.append(record)
    return lanes, time.perf_counter() - start


def _run_traced(experiment: Experiment, point: SweepPoint) -> dict[str, list]:
    """Step to ``point.steps`` in chunks, recording each lane's Δ(W_t) after every chunk (and at 0)."""
    steps: list[int] = []
    balance_gap: list[list[float]] = []  # (T_trace, L)
    while True:
        experiment.evaluate(with_signal=False)
        steps.append(experiment.step_count)
        balance_gap.append([float(lane.balance_gap) for lane in experiment.snapshot().lanes])
        if experiment.step_count >= point.steps:
            return {"step": steps, "balance_gap": balance_gap}
        experiment.step(min(point.trace_every_steps, point.steps - experiment.step_count))


def default_cache_dir() -> Path:
    """Per-user cache folder (``MUONSCOPE_CACHE`` overrides)."""
    if os.environ.get("MUONSCOPE_CACHE"):
        return Path(os.environ["MUONSCOPE_CACHE"])
    import platformdirs

    return Path(platformdirs.user_cache_dir("muonscope")) / "sweeps"


def _init_worker(parent_pid: int, nice: int = 0) -> None:
    import torch

    if nice:
        os.nice(nice)
    torch.set_num_threads(1)
    threading.Thread(target=_exit_when_orphaned, args=(parent_pid,), daemon=True).start()


def _lower_this_thread(nice: int) -> None:
    """Points computed in the calling thread yield the CPU too; only where the nice value is per
    thread (Linux), since elsewhere it would slow the whole process, a window included."""
    if nice and sys.platform.startswith("linux"):
        os.nice(nice)


def _exit_when_orphaned(parent_pid: int) -> None:
    """End this worker once the process that owns the pool is gone.

    A parent killed outright (SIGKILL, SIGTERM) never terminates its pool, and a worker would
    otherwise run its point to the end — minutes to an hour of both cores for nobody.
    """
    while os.getppid() == parent_pid:
        time.sleep(_ORPHAN_POLL_S)
    os._exit(1)


def _run_indexed(job: tuple[int, SweepPoint]) -> tuple[int, list[dict[str, Any]], float]:
    index, point = job
    lanes, seconds = run_point(point)
    return index, lanes, seconds


@dataclass
class SweepRunner:
    """Runs points, cached ones first, the rest in ``workers`` processes; iterate for results."""

    points: Sequence[SweepPoint]
    workers: int = 0  # 0: one per CPU core; 1: in this process
    #: How much lower the OS priority of the computing processes is (Unix nice, 0 to 19): a sweep
    #: behind a live run gives the CPU to the run first.
    nice: int = 0
    cache_dir: Path | None = None
    use_cache: bool = True
    done: int = 0
    _pool: Any = field(default=None, repr=False)  # owned by the iterating thread
    _cancelled: bool = False

    @property
    def total(self) -> int:
        return len(self.points)

    def cancel(self) -> None:
        """Stop soon (within ~0.2 s): nothing more is yielded and running workers are terminated.

        Safe to call from another thread: only a flag is set here; the iterating thread notices it
        and terminates its own pool.
        """
        self._cancelled = True

    @property
    def cancelled(self) -> bool:
        return self._cancelled

    def __iter__(self) -> Iterator[PointResult]:
        cache = (self.cache_dir or default_cache_dir()) if self.use_cache else None
        todo = []
        for index, point in enumerate(self.points):
            stored = _load(cache, point) if cache else None
            if stored is not None:
                self.done += 1
                yield PointResult(point, tuple(stored["lanes"]), stored["seconds"], cached=True)
            else:
                todo.append((index, point))
            if self._cancelled:
                return
        for index, lanes, seconds in self._compute(todo):
            point = self.points[index]
            if cache:
                _store(cache, point, lanes, seconds)
            self.done += 1
            yield PointResult(point, tuple(lanes), seconds)
            if self._cancelled:
                return

    def _compute(self, todo: list[tuple[int, SweepPoint]]) -> Iterator[tuple[int, list, float]]:
        workers = self.workers or os.cpu_count() or 1
        if workers == 1 or len(todo) <= 1:
            if todo:
                _lower_this_thread(self.nice)
            for job in todo:
                if self._cancelled:
                    return
                yield _run_indexed(job)
            return
        context = multiprocessing.get_context("spawn")  # fork + threads (Qt, torch) is unsafe
        self._pool = context.Pool(
            min(workers, len(todo)), initializer=_init_worker, initargs=(os.getpid(), self.nice)
        )
        try:
            results = self._pool.imap_unordered(_run_indexed, todo)
            for _ in range(len(todo)):
                while True:
                    if self._cancelled:
                        return
                    try:
                        item = results.next(timeout=_POLL_S)
                    except multiprocessing.TimeoutError:
                        continue
                    break
                yield item
        finally:
            self._pool.terminate()
            self._pool.join()
            self._pool = None


def _path(cache: Path, point: SweepPoint) -> Path:
    return cache / f"{point.key}.json"


def _load(cache: Path, point: SweepPoint) -> dict[str, Any] | None:
    try:
        data = json.loads(_path(cache, point).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if data.get("schema") == SCHEMA else None


def _store(cache: Path, point: SweepPoint, lanes: list[dict[str, Any]], seconds: float) -> None:
    cache.mkdir(parents=True, exist_ok=True)
    record = {
        "schema": SCHEMA,
        "config": point.config.to_dict(),
        "steps": point.steps,
        "lanes": lanes,
        "seconds": seconds,
    }
    temporary = _path(cache, point).with_suffix(".tmp")
    temporary.write_text(json.dumps(record), encoding="utf-8")
    temporary.replace(_path(cache, point))  # atomic: a cancelled write never leaves half a file
