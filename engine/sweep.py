"""Sweeps: many independent runs, computed in parallel, cached on disk, cancellable.

A sweep is a list of :class:`SweepPoint` — a config, a number of steps and the coordinates that
place the point on a plot (``d = 64``, ``seed = 2``). Cached points come back first; the others
compute on an executor (local worker processes by default, or a Dask cluster) and stream back as
they finish. Each finished point is stored under a hash of its config and of the device, dtype and
torch version it ran with, so re-running a sweep with the same grid computes only what is new.
"""

from __future__ import annotations

import threading
import weakref
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from muonscope.engine.executors import Executor, LocalExecutor
from muonscope.engine.step_cost import measured_speed, point_seconds
from muonscope.engine.sweep_cache import CachedPoint, SweepCache, default_cache_dir
from muonscope.engine.sweep_point import SCHEMA, Runtime, SweepPoint, run_point

__all__ = [
    "SCHEMA",
    "PointResult",
    "Runtime",
    "SweepPoint",
    "SweepRunner",
    "SweepStopped",
    "SweepTally",
    "allow_sweeps",
    "default_cache_dir",
    "run_point",
    "stop_all_sweeps",
]


@dataclass(frozen=True)
class PointResult:
    """Final metrics of every lane of one point (plain data, JSON-ready), and where they came from."""

    point: SweepPoint
    lanes: tuple[dict[str, Any], ...]
    seconds: float
    cached: bool = False
    #: Device, dtype and torch version the point was computed with (None: not recorded).
    runtime: Runtime | None = None

    def lane(self, index: int) -> dict[str, Any]:
        return self.lanes[index]


@dataclass
class SweepRunner:
    """Runs points, cached ones first, the rest on ``executor``; iterate for results.

    Without an executor the points compute on this machine in ``workers`` processes (0: one per
    core, 1: in this process) at ``nice`` lower priority.
    """

    points: Sequence[SweepPoint]
    workers: int = 0
    #: How much lower the OS priority of the computing processes is (Unix nice, 0 to 19): a sweep
    #: behind a live run gives the CPU to the run first.
    nice: int = 0
    cache_dir: Path | None = None
    use_cache: bool = True
    executor: Executor | None = None
    done: int = 0
    _cancelled: bool = field(default=False, repr=False)
    _looked_up: list | None = field(default=None, repr=False)  # each point's (cache entry, runtime)
    _work_s: dict[int, float] = field(default_factory=dict, repr=False)  # estimated, by point to compute
    _work_done_s: float = field(default=0.0, repr=False)

    @property
    def total(self) -> int:
        return len(self.points)

    def cancel(self) -> None:
        """Stop soon (within ~0.2 s): nothing more is yielded and running local workers are ended.

        Safe to call from another thread: only a flag is set here; the iterating thread notices it
        and stops its executor.
        """
        self._cancelled = True

    @property
    def cancelled(self) -> bool:
        return self._cancelled

    @property
    def work_share(self) -> float | None:
        """The estimated share of the computing done, 0 to 1 (None before the points to compute are
        known, or when none is): the points' estimated costs summed, cached points costing nothing.
        A time left counted from points done read 49 s where 9 minutes were left: the cached half of
        a sweep came back at once, and a sweep over d finished its small points first."""
        total_s = sum(self._work_s.values())
        return self._work_done_s / total_s if total_s > 0 else None

    def __iter__(self) -> Iterator[PointResult]:
        if _STOP_ALL.is_set():
            self._cancelled = True  # the command is stopping: a sweep begun now yields nothing new
        _RUNNING[id(self)] = weakref.ref(self)
        try:
            yield from self._results()
        finally:
            _RUNNING.pop(id(self), None)

    def uncached(self) -> list[SweepPoint]:
        """The points the cache does not hold, which will compute (all of them without a cache)."""
        lookups = zip(self.points, self._lookups(), strict=True)
        return [point for point, (stored, _runtime) in lookups if stored is None]

    def _lookups(self) -> list[tuple[CachedPoint | None, Runtime | None]]:
        """Each point's cache entry (None: none) and runtime, looked up once: asked what is left to
        compute before the run, a damaged entry was warned of twice."""
        if self._looked_up is None:
            executor = self.executor or LocalExecutor(self.workers, self.nice)
            cache = SweepCache(self.cache_dir or default_cache_dir()) if self.use_cache else None
            self._looked_up = []
            for point in self.points:
                runtime = executor.runtime(point.config.run) if cache else None
                self._looked_up.append((cache.load(point, runtime) if cache and runtime else None, runtime))
        return self._looked_up

    def _results(self) -> Iterator[PointResult]:
        executor = self.executor or LocalExecutor(self.workers, self.nice)
        cache = SweepCache(self.cache_dir or default_cache_dir()) if self.use_cache else None
        looked_up = list(enumerate(zip(self.points, self._lookups(), strict=True)))
        todo = [(index, point) for index, (point, (stored, _)) in looked_up if stored is None]
        self._work_s = {index: _estimated_s(point) for index, point in todo}  # known as the cached come
        for _index, (point, (stored, runtime)) in looked_up:
            if stored is not None:
                self.done += 1
                yield PointResult(point, stored.lanes, stored.seconds, cached=True, runtime=runtime)
                if self._cancelled:
                    return
        if self._cancelled:
            return
        with closing(executor.compute(todo, lambda: self._cancelled)) as computed:  # closed: workers stop
            for index, lanes, seconds, runtime in computed:
                point = self.points[index]
                if cache:
                    cache.store(point, runtime, lanes, seconds)
                self.done += 1
                self._work_done_s += self._work_s[index]
                yield PointResult(point, tuple(lanes), seconds, runtime=runtime)
                if self._cancelled:
                    return


def _estimated_s(point: SweepPoint) -> float:
    """A point's computing, priced at this machine's CPU speed in float64 (measured once, in
    milliseconds): only its share of a sweep's is read, and the CPU's prices set the shares close
    enough on a GPU too."""
    return point_seconds(point.config, point.steps, measured_speed("cpu", "float64"))


class SweepStopped(KeyboardInterrupt):
    """A sweep was cancelled (Ctrl-C, SIGTERM) before its last point: what it returned is only part of
    it, and a reproduction that went on with them failed on a missing point (KeyError) instead of
    saying it was interrupted."""


#: The runners being iterated in this process, for :func:`stop_all_sweeps`.
_RUNNING: dict[int, weakref.ReferenceType[SweepRunner]] = {}
#: Set by :func:`stop_all_sweeps`: sweeps begun afterwards are cancelled from the start.
_STOP_ALL = threading.Event()


def stop_all_sweeps() -> None:
    """Cancel every sweep this process is iterating, and every one it begins until :func:`allow_sweeps`.

    A signal handler's way to stop a command: it only sets flags, which the runners' own loops read
    (within 0.2 s), so no exception has to travel through a library that may be waiting there.
    """
    _STOP_ALL.set()
    for reference in list(_RUNNING.values()):
        runner = reference()
        if runner is not None:
            runner.cancel()


def allow_sweeps() -> None:
    """Undo :func:`stop_all_sweeps` for the sweeps begun from now on."""
    _STOP_ALL.clear()


@dataclass
class SweepTally:
    """How many points a command's sweeps returned, how many from the cache, and where they ran."""

    points: int = 0
    from_cache: int = 0
    runtimes: Counter[Runtime] = field(default_factory=Counter)

    def add(self, result: PointResult) -> None:
        self.points += 1
        self.from_cache += result.cached
        if result.runtime is not None:
            self.runtimes[result.runtime] += 1

    def describe(self) -> str:
        """E.g. "12 points, 5 from the cache; computed on cpu in float64 with torch 2.13.0"."""
        text = f"{self.points} point{'s' if self.points != 1 else ''}, {self.from_cache} from the cache"
        if len(self.runtimes) == 1:
            return f"{text}; computed on {next(iter(self.runtimes)).describe()}"
        places = ", ".join(f"{count} on {runtime.describe()}" for runtime, count in self.runtimes.items())
        return f"{text}; computed {places}" if places else text
