"""What a step measures, numbered, and how a session recorded under earlier definitions is read.

Each change to a recorded metric's definition, or to an update rule, is listed here and raises
:data:`MEASURES`; a session saves the number it was recorded under (one saved before the number was
kept reads as 0). Opening a session recorded under an earlier number, the metrics redefined since
are converted to today's definition where their values convert exactly, and left out of its record
where they do not — a step gone to again measures them anew — and the optimizers whose rule
changed are named: their lanes replay under today's rule, so a step replayed from a checkpoint
may part from the one recorded. Unmarked, an SGD lane's gap of 22.6 recorded before the gap was
redefined read beside today's 2.26 for the same run, and a resumed run's table held both.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from muonscope.engine.checkpoints import Checkpoint
from muonscope.engine.config import ExperimentConfig, LaneConfig
from muonscope.engine.divergence import UNRECORDED_CAUSE
from muonscope.engine.errors import and_listed
from muonscope.engine.lane_history import LaneHistory, lane_histories
from muonscope.engine.optim.registry import OPTIMIZERS
from muonscope.engine.scalar_metrics import SCALAR_METRICS
from muonscope.engine.snapshot import LaneSnapshot

__all__ = [
    "MEASURES",
    "MEASURE_CHANGES",
    "MeasureChange",
    "converted_to_today",
    "earlier_measures_notes",
    "lanes_run",
    "without_redefined",
]


#: Rewrites a branch's recorded metrics (columns by name: steps, lane ids, …) in place under today's
#: definition, given each lane's settings through the branch (its histories, by lane id).
Converter = Callable[[dict[str, np.ndarray], Sequence[LaneHistory]], None]


@dataclass(frozen=True, slots=True)
class MeasureChange:
    """One change to what a step measures or computes."""

    what: str
    metrics: tuple[str, ...] = ()  # recorded metrics it redefined: metrics columns and lane fields
    optimizers: tuple[str, ...] = ()  # optimizers whose update rule it changed
    #: Where the earlier values convert exactly to today's: those of the metrics table and of each
    #: checkpoint's lanes are converted, not left out.
    convert: Converter | None = None
    #: Whether :attr:`convert` changes a lane of these settings' values (else nothing is said of it).
    converts: Callable[[LaneConfig], bool] = lambda lane: True


def _gap_as_the_emas(table: dict[str, np.ndarray], histories: Sequence[LaneHistory]) -> None:
    """A ``sum`` buffer's gap was read on the sum, 1/(1 − μ) times the EMA of its gradients: times each
    row's lane's gradient_average_scale under the settings of its step, as a step measures it today
    (1 where the buffer is an EMA, or no average of gradients, or where the lane keeps none)."""
    scales = np.ones(table["step"].shape)
    for history in histories:
        rows = table["lane_id"] == history.lane_id
        by_settings = [OPTIMIZERS[lane.optimizer].gradient_average_scale(lane) for lane in history.settings]
        scales[rows] = np.array([1.0 if scale is None else scale for scale in by_settings])[
            history.settings_indices(table["step"][rows])
        ]
    table["gap"] = scales * table["gap"]


#: Every change since sessions were first saved, oldest first; the n-th raised the number to n. A
#: change to what a sweep point computes raises the sweep cache's SCHEMA too (engine.sweep_point).
MEASURE_CHANGES = (
    MeasureChange(
        "its round-off floor follows each entry's row and column", optimizers=("signgd", "tra_signgd")
    ),
    MeasureChange(
        "a sum buffer's gap was read as the EMA's",
        metrics=("gap",),
        convert=_gap_as_the_emas,
        converts=lambda lane: OPTIMIZERS[lane.optimizer].gradient_average_scale(lane) not in (None, 1.0),
    ),
    MeasureChange(
        "the filtering ratio took one floor in every dtype",
        metrics=("tail_filtering", "filtering_ratio"),
    ),
    MeasureChange("a diverged lane keeps what went non-finite"),
)
#: The number a session recorded now is saved with.
MEASURES = len(MEASURE_CHANGES)
#: The lane metrics a change converts (scalars, one per lane).
_CONVERTED = tuple(
    dict.fromkeys(name for c in MEASURE_CHANGES if c.convert is not None for name in c.metrics)
)


def without_redefined(
    measures: int, metrics: dict[str, Any], checkpoints: Sequence[Checkpoint], initial: ExperimentConfig
) -> list[Checkpoint]:
    """The checkpoints of a session recorded under ``measures`` (from ``initial``), their lanes' latest
    metrics redefined since converted where they convert and left out, as never measured, where they
    do not; ``metrics``, the metrics table's columns, has those left out in place (those that
    convert are converted per branch: :func:`converted_to_today`)."""
    for name in _redefined_since(measures, convertible=False):
        if name in metrics:
            metrics[name] = np.full_like(metrics[name], np.nan)
    return [_checkpoint_as_today(measures, checkpoint, initial) for checkpoint in checkpoints]


def converted_to_today(measures: int, table: dict[str, np.ndarray], histories: Sequence[LaneHistory]) -> None:
    """A branch's metrics ``table``, recorded under ``measures``, with the values that convert exactly
    converted in place, in the order the changes came."""
    for change in MEASURE_CHANGES[measures:]:
        if change.convert is not None:
            change.convert(table, histories)


def earlier_measures_notes(measures: int, lanes: Sequence[LaneConfig]) -> tuple[list[str], list[str]]:
    """What a reader of a session recorded under ``measures`` is told, given every setting its lanes
    ran (:func:`lanes_run`): notes true only of the record as read (a metric converted or left out:
    saved again, the record holds today's values or none), and notes that stay true however often it
    is saved again (its rows and checkpoints from an earlier rule or definition are kept)."""
    since = MEASURE_CHANGES[measures:]
    ran = {lane.optimizer for lane in lanes}
    read, lasting = [], []
    for change in since:
        if change.convert is not None and any(change.converts(lane) for lane in lanes):
            metrics = change.metrics
            read.append(f"its {and_listed(metrics)}, recorded before {change.what}, {_is(metrics)} converted")
        elif change.convert is None and (named := [m for m in change.metrics if m in SCALAR_METRICS]):
            it = "it" if len(named) == 1 else "them"
            read.append(
                f"its {and_listed(named)}, recorded before {change.what}, {_is(named)} left out "
                f"(a step gone to again measures {it} anew)"
            )
        if changed := [OPTIMIZERS[name].title for name in change.optimizers if name in ran]:
            lasting.append(
                f"its {and_listed(changed)} lanes replay under today's rule ({change.what}), which may "
                "part from the steps recorded"
            )
    if measures == 0:  # saved before the changes were numbered: older ones are not listed here
        lasting.append(_UNNUMBERED)
    return read, lasting


#: Said of a session saved before the number was kept: changes before the list began are not in it.
_UNNUMBERED = "other metrics may follow an earlier muonscope's definitions (saved before they were numbered)"


def _is(names: Sequence[str]) -> str:
    return "is" if len(names) == 1 else "are"


def _redefined_since(measures: int, convertible: bool = True) -> tuple[str, ...]:
    """The metrics redefined since ``measures`` (``convertible=False``: those whose values do not
    convert)."""
    changes = [c for c in MEASURE_CHANGES[measures:] if convertible or c.convert is None]
    return tuple(dict.fromkeys(name for change in changes for name in change.metrics))


def lanes_run(
    initial: ExperimentConfig, branches_changes: Iterable[Sequence[tuple[int, Any]]]
) -> list[LaneConfig]:
    """Every setting a session's lanes ran, on any of its branches (each given by its changes)."""
    return [
        settings
        for changes in branches_changes
        for history in lane_histories(initial, changes)
        for settings in history.settings
    ]


def _checkpoint_as_today(measures: int, checkpoint: Checkpoint, initial: ExperimentConfig) -> Checkpoint:
    """``checkpoint`` with its lanes' latest metrics as :func:`without_redefined` reads them: each
    converted at the step it was measured at (``spectra_step``), under the settings of that step."""
    lanes = checkpoint.lanes
    table = {
        "step": np.array([lane.spectra_step for lane in lanes], dtype=np.float64),
        "lane_id": np.array([lane.lane_id for lane in lanes], dtype=np.float64),
        **{name: np.array([getattr(lane, name) for lane in lanes], dtype=np.float64) for name in _CONVERTED},
    }
    converted_to_today(measures, table, lane_histories(initial, checkpoint.changes))
    left_out = _redefined_since(measures, convertible=False)
    lanes = tuple(
        _lane_as_today(lane, {name: float(table[name][i]) for name in _CONVERTED}, left_out)
        for i, lane in enumerate(lanes)
    )
    return dataclasses.replace(checkpoint, lanes=lanes)


def _lane_as_today(
    lane: LaneSnapshot, converted: dict[str, float], left_out: tuple[str, ...]
) -> LaneSnapshot:
    """``lane`` with ``converted`` values, the fields ``left_out`` as never measured, and a cause where
    a diverged lane has none."""
    reset: dict[str, Any] = dict(converted)
    reset.update({name: _unmeasured(name) for name in left_out if name in _LANE_FIELDS})
    if lane.diverged and not lane.diverged_cause:
        reset["diverged_cause"] = UNRECORDED_CAUSE
    return dataclasses.replace(lane, **reset)


_LANE_FIELDS = {spec.name: spec for spec in dataclasses.fields(LaneSnapshot)}


def _unmeasured(name: str) -> Any:
    """A lane field's value before it is measured (NaN, an empty array)."""
    spec = _LANE_FIELDS[name]
    return spec.default_factory() if spec.default is dataclasses.MISSING else spec.default
