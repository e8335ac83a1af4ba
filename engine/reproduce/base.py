"""What a reproduction returns: claims checked against SCIENCE.md §11, tables, and the measured curves.

Everything here is plain data: numbers, names and the settings they were measured at. How a curve is
drawn (colours, line styles, titles, axes) and how the claims are written up is the app's business.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from muonscope.engine.config import RunConfig
from muonscope.engine.executors import Executor
from muonscope.engine.sweep import PointResult, SweepPoint, SweepRunner, SweepStopped, SweepTally
from muonscope.engine.sweep_point import Runtime, runtime_of

__all__ = [
    "CPU_FLOAT64",
    "REPRODUCTIONS",
    "Claim",
    "Curve",
    "CurveSet",
    "Progress",
    "Reproduction",
    "Settings",
    "check_range",
    "find_lane",
    "loglog_slope",
    "register",
    "run_sweep",
]

#: ``(done, total, text, share)``: ``share`` the estimated share of the work done where the units
#: cost unlike amounts (a sweep's points), else None.
Progress = Callable[[int, int, str, float | None], None]


@dataclass(frozen=True)
class Claim:
    """One statement, what was measured and what was expected; passed is None for exploratory ones."""

    check: str  # e.g. "§11.9"
    text: str
    measured: str
    expected: str
    passed: bool | None


@dataclass(frozen=True)
class Curve:
    """y against x; ``lo`` and ``hi`` are the spread over seeds (min and max) where there is one."""

    x: np.ndarray
    y: np.ndarray
    lo: np.ndarray | None = None
    hi: np.ndarray | None = None


@dataclass(frozen=True)
class CurveSet:
    """Curves measured at one setting, and the theory curves (as numbers) that go with them.

    ``name`` says what was measured (e.g. "capacity_vs_d"); ``curves`` are keyed by lane name, or by
    the quantity when there are no lanes; ``setting`` holds the parameters they were measured at.
    """

    name: str
    curves: dict[str, Curve]
    theory: dict[str, Curve] = field(default_factory=dict)
    setting: dict[str, Any] = field(default_factory=dict)


@dataclass
class Reproduction:
    """The outcome of reproducing one preset's claims."""

    preset: str
    size: str
    claims: list[Claim] = field(default_factory=list)
    tables: dict[str, dict[str, list[Any]]] = field(default_factory=dict)
    data: list[CurveSet] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    #: where the numbers computed in this process, outside the sweeps (counted in the settings' tally),
    #: came from: a float32 GPU run and a float64 CPU run differ in the bits
    computed_here: set[Runtime] = field(default_factory=set)

    def computed_with(self, run: RunConfig) -> None:
        """Note that this process computed some of the numbers with ``run``'s device and dtype."""
        self.computed_here.add(runtime_of(run))

    def claim(self, check: str) -> Claim:
        matches = [c for c in self.claims if c.check == check]
        if len(matches) != 1:
            raise KeyError(f"{check}: {len(matches)} claims")
        return matches[0]

    def curve_sets(self, name: str) -> list[CurveSet]:
        """Every curve set called ``name``, in the order they were measured."""
        found = [s for s in self.data if s.name == name]
        if not found:
            measured = sorted({s.name for s in self.data})
            raise KeyError(f"{self.preset} measured no {name!r} curves (it has {measured})")
        return found

    @property
    def failed(self) -> list[Claim]:
        return [c for c in self.claims if c.passed is False]


def _field(lane: Any, name: str) -> Any:
    return lane[name] if isinstance(lane, Mapping) else getattr(lane, name)


def find_lane(lanes: Sequence[Any], name: str | None = None, **role: Any) -> int:
    """Position of the one lane called ``name`` and/or having ``role`` (e.g. optimizer="muon", order="pre").

    ``lanes`` are LaneConfigs, a snapshot's lanes or a sweep point's lane records: anything with a
    ``label`` and the fields named in ``role``. Raises LookupError when no lane or several match.
    """
    wanted = {"label": name, **role} if name is not None else role
    if not wanted:
        raise ValueError("find_lane needs a name or a role")
    matches = [i for i, lane in enumerate(lanes) if all(_field(lane, k) == v for k, v in wanted.items())]
    if len(matches) == 1:
        return matches[0]
    asked = ", ".join(f"{k} = {v!r}" for k, v in wanted.items())
    labels = [_field(lane, "label") for lane in lanes]
    if not matches:
        raise LookupError(f"no lane with {asked}; the lanes are {labels}")
    raise LookupError(f"{len(matches)} lanes with {asked}: {[labels[i] for i in matches]}")


@dataclass(frozen=True)
class Settings:
    """How a reproduction runs: ``ci`` (minutes, adapted sizes) or ``full`` (the papers' sizes).

    Its sweeps compute on ``executor`` (None: ``workers`` local processes, 0 for one per core) and
    are counted in ``tally`` (points, how many from the cache, where they ran).
    """

    size: str = "ci"
    workers: int = 0
    use_cache: bool = True
    progress: Progress | None = None
    executor: Executor | None = None
    tally: SweepTally = field(default_factory=SweepTally)

    @property
    def full(self) -> bool:
        return self.size == "full"

    def report(self, done: int, total: int, text: str, share: float | None = None) -> None:
        if self.progress is not None:
            self.progress(done, total, text, share)


#: The run settings of the reproductions' own CPU float64 loops (oracles and closed forms).
CPU_FLOAT64 = RunConfig(device="cpu", dtype="float64")

Reproducer = Callable[[Settings], Reproduction]
REPRODUCTIONS: dict[str, Reproducer] = {}


def register(preset: str) -> Callable[[Reproducer], Reproducer]:
    """Decorator: the function that reproduces ``preset``."""

    def wrap(function: Reproducer) -> Reproducer:
        REPRODUCTIONS[preset] = function
        return function

    return wrap


def run_sweep(points: list[SweepPoint], settings: Settings, what: str) -> list[PointResult]:
    """All results of a sweep (cached points first), reporting progress as they come in; raises
    SweepStopped when the sweep was stopped before its last point."""
    runner = SweepRunner(
        points, workers=settings.workers, use_cache=settings.use_cache, executor=settings.executor
    )
    results = []
    settings.report(0, len(points), what)  # its bar counts the seconds of a slow first point
    for result in runner:
        results.append(result)
        settings.tally.add(result)
        settings.report(len(results), len(points), what, runner.work_share)
    if runner.cancelled and len(results) < len(points):
        raise SweepStopped(f"{len(results)} of {len(points)} points")
    return results


def loglog_slope(x: Iterable[float], y: Iterable[float]) -> float:
    """Least-squares slope of log y against log x."""
    x, y = np.asarray(list(x), float), np.asarray(list(y), float)
    return float(np.polyfit(np.log(x), np.log(np.maximum(y, 1e-300)), 1)[0])


def check_range(
    check: str, text: str, value: float, lo: float | None, hi: float | None, fmt: str = ".3g"
) -> Claim:
    """A claim that ``value`` lies in [lo, hi] (either end may be open)."""
    if lo is not None and hi is not None:
        expected = f"in [{lo:{fmt}}, {hi:{fmt}}]"
    elif lo is not None:
        expected = f"≥ {lo:{fmt}}"
    else:
        expected = f"≤ {hi:{fmt}}"
    passed = (lo is None or value >= lo) and (hi is None or value <= hi)
    return Claim(check, text, f"{value:{fmt}}", expected, bool(passed))
