"""Sweeps the app offers from its current settings: points to run, curves to draw, theory guides.

Axes: ``d``, ``batch`` and ``n_items`` measure one-step recovery from W = 0 (Kim et al.; a step's
learning rate does not change which items it recovers); ``mu`` and ``window`` run the spiked
stream for ``run.steps`` steps with every lane at momentum μ and read the alignment, or the
subspace error against 2T − 1 (Li et al.).
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from muonscope.engine.config import ExperimentConfig, RunConfig
from muonscope.engine.errors import ConfigError, format_value
from muonscope.engine.field_paths import parse_field_path
from muonscope.engine.metrics import momentum_window
from muonscope.engine.optim.registry import OPTIMIZERS
from muonscope.engine.reproduce.base import loglog_slope
from muonscope.engine.sweep import PointResult, SweepPoint
from muonscope.engine.task_kinds import view_problem

__all__ = [
    "AXES",
    "SEEDS",
    "Curve",
    "check_points_memory",
    "curves",
    "fitted_slopes",
    "guides",
    "plan",
    "unread_by_sweep",
]

#: sweep axis (as the task kinds name them) → the lane metric read at its last step
AXES = {
    "d": "recovered",
    "batch": "recovered",
    "n_items": "recovered",
    "mu": "alignment",
    "window": "sin_theta",
}
SEEDS = (0, 1, 2)
MUS = (0.5, 0.7, 0.8, 0.9, 0.95, 0.98, 0.99)
_QUIET = RunConfig(eval_every=1_000_000_000, spectra_every=1_000_000_000)


@dataclass(frozen=True)
class Curve:
    """One lane's sweep: mean over seeds with the seed spread, and how many seeds each point has (a
    sweep stopped part-way has points with fewer than :data:`SEEDS`)."""

    lane: int
    label: str
    x: np.ndarray
    mean: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    seeds: np.ndarray  # (points,) seeds averaged at each x
    #: The x at which a seed of this lane diverged, with how many seeds did (a lane that diverged at
    #: every point has no x of its own, and vanished from the sweep without a word).
    diverged: tuple[tuple[float, int], ...] = ()

    @property
    def partial(self) -> np.ndarray:
        """(points,) bool: the points averaged over fewer seeds than a whole sweep has."""
        return self.seeds < len(SEEDS)

    @property
    def diverged_note(self) -> str:
        """``diverged at every point`` or ``diverged at 2 of 7 points`` ("" where no seed did)."""
        if not self.diverged:
            return ""
        every = {x for x, _ in self.diverged} | {float(x) for x in self.x}
        if not self.x.size:
            return "diverged at every point"
        return f"diverged at {len(self.diverged)} of {len(every)} points"


def _values(config: ExperimentConfig, axis: str) -> list:
    task = config.task
    if axis == "d":
        return sorted({max(8, task.d // 4), max(8, task.d // 2), task.d, task.d * 2})
    if axis == "batch":
        return [2**k for k in range(4, max(5, int(math.log2(max(task.n_items * 4, 32))) + 1))]
    if axis == "n_items":
        return sorted(
            {max(2, task.n_items // 8), max(2, task.n_items // 4), max(2, task.n_items // 2), task.n_items}
        )
    return list(MUS)


#: The sweeps that run the live run's steps, as a message names what they sweep.
_SWEPT = {"mu": "μ", "window": "the momentum window"}


def plan(config: ExperimentConfig, axis: str) -> list[SweepPoint]:
    """The points of a sweep along ``axis`` from the current settings; every lane in each point."""
    problem = view_problem(config.task, axis)  # as the task's kind declares
    if problem:
        raise ConfigError("sweep", axis, problem)
    if _steps(config, axis) < 1:  # "it would reach spectra_every = 0" named a field nobody set
        raise ConfigError(
            "run.steps",
            config.run.steps,
            f"must be at least 1 for a sweep over {_SWEPT[axis]}: each point runs that many steps",
        )
    if axis in _SWEPT:  # named once for every point: μ leaves the names the lane key shows
        labels = _labels_across_momenta(config.lanes)
        lanes = tuple(
            dataclasses.replace(lane, label=label) for lane, label in zip(config.lanes, labels, strict=True)
        )
        config = dataclasses.replace(config, lanes=lanes)
    points = []
    for value in _values(config, axis):
        for seed in SEEDS:
            try:
                point_config = _point_config(config, axis, value, seed)
            except ConfigError as exc:  # a point the sweep chose, not a value the user gave
                raise ConfigError(
                    "sweep",
                    axis,
                    f"it would reach {exc.field} = {format_value(exc.value)}, and {exc.field} {exc.allowed}",
                ) from None
            points.append(SweepPoint(point_config, _steps(config, axis), ((axis, value), ("seed", seed))))
    return points


def unread_by_sweep(axis: str, path: str) -> str:
    """Why a sweep along ``axis`` leaves the setting at ``path`` (``task.seed``, ``lanes[0].momentum``)
    unread, or "" where it reads it: ``--set task.seed=5 --set run.steps=200`` on a sweep over N gave
    seeds 0–2 of one step, the numbers of a sweep without them, and said nothing."""
    section, _index, name = parse_field_path(path)
    if path == "task.seed":
        return f"every point runs seeds {', '.join(map(str, SEEDS))}, drawn as the spread"
    if path in ("run.eval_every", "run.spectra_every"):
        return "each point is measured once, at its last step"
    if path == "run.exact_eval_items":
        return "each point is evaluated exactly, over all its items"
    if axis in _SWEPT:
        if section == "lanes" and name == "momentum":
            return f"the sweep sets every lane's μ to each of {', '.join(map(str, MUS))}"
        return ""
    if path == "run.steps":
        return "each point takes one step from W = 0 (one-step recovery)"
    if path == "task.batch_size":
        return (
            "the sweep sets the batch size of each point"
            if axis == "batch"
            else "each point takes the exact (population) gradient"
        )
    return ""


def check_points_memory(points: list[SweepPoint], max_memory_gb: float, sharing: int | None = 1) -> None:
    """Refuse a sweep whose points would exceed ``max_memory_gb``, naming the first point that would,
    before any of them runs.

    Points run with the default limit (half the memory of the machine that computes them): a limit
    the user set for the run holds for its sweeps too, where d or N reach sizes the run never had.
    With none set (0), the points computed here at once (``sharing``, a local sweep's workers) share
    this machine's default limit: two workers, each judged against half of RAM, could take all of
    it, and a point too big was refused only in its worker, hours in. ``sharing`` None: the points
    compute elsewhere (a cluster), where each is judged.
    """
    from muonscope.engine.device import check_memory, resolve_device

    if not points or (max_memory_gb <= 0 and sharing is None):
        return
    device, dtype = resolve_device(points[0].config.run)  # a sweep's points share the run's device
    at_once = min(sharing or 1, len(points))
    for point in points:
        run = dataclasses.replace(point.config.run, max_memory_gb=max(max_memory_gb, 0.0))
        config = dataclasses.replace(point.config, run=run)
        try:
            check_memory(config, device, dtype, sharing=at_once)
        except ConfigError as exc:
            axis, value = point.coords[0]
            if max_memory_gb > 0:
                reached = f"the sweep over {axis} reaches {axis} = {format_value(value)}"
                raise ConfigError(
                    "run.max_memory_gb", max_memory_gb, f"{reached}, where {exc.allowed}"
                ) from None
            point_text = f" (at the sweep's point {axis} = {format_value(value)})"
            raise ConfigError(exc.field, exc.value, exc.allowed + point_text) from None


def _steps(config: ExperimentConfig, axis: str) -> int:
    return config.run.steps if axis in ("mu", "window") else 1


def _point_config(config: ExperimentConfig, axis: str, value, seed: int) -> ExperimentConfig:
    """One point's settings: the sweep's value, no metrics along the way, the run's device and dtype
    (a float32 GPU sweep is not a float64 CPU one), and an exact evaluation whatever N (a curve of
    counts is drawn as counts, not as estimates)."""
    exact = max(config.run.exact_eval_items, config.task.n_items)
    quiet = dataclasses.replace(
        _QUIET, device=config.run.device, dtype=config.run.dtype, exact_eval_items=exact
    )
    if axis in ("mu", "window"):
        lanes = tuple(dataclasses.replace(lane, momentum=value) for lane in config.lanes)
        task = dataclasses.replace(config.task, seed=seed)
        run = dataclasses.replace(quiet, spectra_every=config.run.steps)  # signal metrics at the end
        return ExperimentConfig(task=task, lanes=lanes, run=run)
    size = {"d": {"d": value, "batch_size": 0}, "n_items": {"n_items": value, "batch_size": 0}}
    fields = size.get(axis, {"batch_size": value})  # capacity against a size uses the exact gradient
    task = dataclasses.replace(config.task, seed=seed, **fields)
    return ExperimentConfig(task=task, lanes=config.lanes, run=quiet)


#: "μ = 0.95", "μ=0.5" in a lane's label: the value a sweep over μ replaces.
_STATED_MU = re.compile(r"μ\s*=\s*[-+]?[0-9.]+(?:e[-+]?[0-9]+)?")


def _labels_across_momenta(lanes) -> list[str]:
    """Each lane's name on a curve against μ: its own label with any μ it states left out ("Muon pre
    μ = 0.95 · ema" drawn from μ = 0.5 to 0.99 named a μ it ran at once; "Muon pre · ema" keeps the
    name the lane key shows), else its settings without μ. Lanes that differ in more than μ and
    would share a name are named by their settings."""
    stated = [_without_stated_mu(lane.label) for lane in lanes]
    settings = [dataclasses.replace(lane, momentum=MUS[0], label="") for lane in lanes]
    names = []
    for label, lane in zip(stated, settings, strict=True):
        alike = all(other == lane for name, other in zip(stated, settings, strict=True) if name == label)
        names.append(
            label if label and alike else OPTIMIZERS[lane.optimizer].describe(lane, momentum_shown=False)
        )
    return names


def _without_stated_mu(label: str) -> str:
    label = _STATED_MU.sub(" ", label)
    label = re.sub(r"(\s*·\s*)+", " · ", label)  # "pre  · ema", "pre · · ema" → "pre · ema"
    return re.sub(r"\s+", " ", label).strip(" ·,")


def curves(results: list[PointResult], axis: str) -> list[Curve]:
    """Per-lane mean and min–max over seeds, sorted by x (``window`` maps μ to 2T − 1)."""
    metric = AXES[axis]
    by_lane: dict[int, dict[float, list[float]]] = defaultdict(lambda: defaultdict(list))
    diverged: dict[int, dict[float, int]] = defaultdict(lambda: defaultdict(int))
    labels: dict[int, str] = {}
    for result in results:
        x = result.point.coord(axis)
        if axis == "window":
            x = momentum_window(x).noise_steps
        for i, lane in enumerate(result.lanes):
            value = lane.get(metric)
            if value is not None:
                by_lane[i][float(x)].append(float(value))
            if lane.get("diverged"):
                diverged[i][float(x)] += 1
            labels[i] = lane["label"]
    out: list[Curve] = []
    for i in sorted(labels):  # a lane that diverged at every point too: its curve is empty, and says so
        if i not in by_lane and i not in diverged:
            continue
        xs = np.array(sorted(by_lane[i]), dtype=float)
        rows = [np.array(by_lane[i][x]) for x in xs]
        curve = Curve(
            i,
            labels[i],
            xs,
            np.array([r.mean() for r in rows], dtype=float),
            np.array([r.min() for r in rows], dtype=float),
            np.array([r.max() for r in rows], dtype=float),
            np.array([r.size for r in rows], dtype=int),
            tuple(sorted(diverged[i].items())),
        )
        if not any(_same_curve(curve, earlier, axis in _SWEPT) for earlier in out):
            out.append(curve)
    return out


def _same_curve(curve: Curve, other: Curve, named_alike: bool) -> bool:
    """Whether two lanes' curves are one: lanes that a sweep's value makes alike (two momenta of one
    optimizer, swept over μ) run the same points and share a name; the second is not drawn.

    ``named_alike``: a sweep over μ names its lanes so that a name is shared only by lanes alike in
    all but μ (:func:`plan`), whose curves are then one whatever their last digits: the second of
    a 100×100 stream's two Muon lanes came out one ulp apart at some points, and was drawn and
    written twice under one name."""
    if named_alike:
        return curve.label == other.label
    return (
        curve.label == other.label
        and np.array_equal(curve.x, other.x)
        and np.array_equal(curve.mean, other.mean)
        and np.array_equal(curve.lo, other.lo)
        and np.array_equal(curve.hi, other.hi)
        and np.array_equal(curve.seeds, other.seeds)
        and curve.diverged == other.diverged
    )


def guides(
    config: ExperimentConfig, axis: str, drawn: list[Curve]
) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """Theory lines anchored at the first point of the matching lane: (label, x, y)."""
    if not drawn:
        return []
    alpha = config.task.alpha
    kinds = {i: lane.optimizer for i, lane in enumerate(config.lanes)}

    def first(optimizer: str) -> Curve | None:
        return next(
            (c for c in drawn if kinds.get(c.lane) == optimizer and c.mean.size and c.mean[0] > 0), None
        )

    def line(curve: Curve, slope: float, label: str):
        return (label, curve.x, curve.mean[0] * (curve.x / curve.x[0]) ** slope)

    out = []
    # the laws hold for a Zipf law that sums as N grows (α > 1): at α = 0.8 they were drawn as if
    outside = "" if alpha > 1 else " (theory for α > 1)"
    if axis == "d":
        if (muon := first("muon")) is not None:
            out.append(
                line(muon, 1 + 1 / (2 * alpha), f"slope 1 + 1/(2α) = {1 + 1 / (2 * alpha):.2f}{outside}")
            )
        if (sgd := first("sgd")) is not None:
            out.append(line(sgd, 1 / (2 * alpha), f"slope 1/(2α) = {1 / (2 * alpha):.2f}{outside}"))
    elif axis == "batch" and (muon := first("muon")) is not None:
        out.append(line(muon, 1 / alpha, f"B^(1/α) = B^{1 / alpha:.2f}{outside}"))
    elif axis == "window" and drawn[0].mean.size:
        # the bound of Li et al.'s Theorem 1 falls as (2T − 1)^(−1/4); measured sin Θ may fall faster
        out.append(line(drawn[0], -0.25, "(2T − 1)^(−1/4), the bound's rate"))
    return out


def fitted_slopes(axis: str, drawn: list[Curve]) -> dict[int, float]:
    """Each drawn curve's least-squares slope of log mean against log x (lane → slope), the measured
    power beside the guide's, for the ``d`` axis: its guides are power laws over the whole range, and
    ``muonscope reproduce one_step_capacity`` fits its slopes over all the d alike. A curve of fewer
    than three points, or with a point at 0 (no logarithm), has none."""
    if axis != "d":
        return {}
    return {c.lane: loglog_slope(c.x, c.mean) for c in drawn if c.x.size >= 3 and np.all(c.mean > 0)}
