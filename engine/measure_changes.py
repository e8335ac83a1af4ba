"""What a step measures, numbered, and how a session recorded under earlier definitions is read.

Each change to a recorded metric's definition, or to an update rule, is listed here and raises
:data:`MEASURES`; a session saves the number it was recorded under (one saved before the number was
kept reads as 0). Opening a session recorded under an earlier number, the metrics redefined since
are left out of its record — a step gone to again measures them anew — and the optimizers whose
rule changed are named: their lanes replay under today's rule, so a step replayed from a checkpoint
may part from the one recorded. Unmarked, an SGD lane's gap of 22.6 recorded before the gap was
redefined read beside today's 2.26 for the same run, and a resumed run's table held both.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from muonscope.engine.changes import AddLane, SetField
from muonscope.engine.checkpoints import Checkpoint
from muonscope.engine.config import ExperimentConfig
from muonscope.engine.optim.registry import OPTIMIZERS
from muonscope.engine.scalar_metrics import SCALAR_METRICS
from muonscope.engine.snapshot import LaneSnapshot

__all__ = [
    "MEASURES",
    "MEASURE_CHANGES",
    "UNRECORDED_CAUSE",
    "MeasureChange",
    "earlier_measures_notes",
    "optimizers_run",
    "without_redefined",
]


@dataclass(frozen=True, slots=True)
class MeasureChange:
    """One change to what a step measures or computes."""

    what: str
    metrics: tuple[str, ...] = ()  # recorded metrics it redefined: metrics columns and lane fields
    optimizers: tuple[str, ...] = ()  # optimizers whose update rule it changed


#: Every change since sessions were first saved, oldest first; the n-th raised the number to n. A
#: change to what a sweep point computes raises the sweep cache's SCHEMA too (engine.sweep_point).
MEASURE_CHANGES = (
    MeasureChange(
        "its round-off floor follows each entry's row and column", optimizers=("signgd", "tra_signgd")
    ),
    MeasureChange("a sum buffer's gap is read as the EMA's", metrics=("gap",)),
    MeasureChange(
        "one filtering floor in every dtype",
        metrics=("tail_filtering", "filtering_ratio"),
    ),
    MeasureChange("a diverged lane keeps what went non-finite"),
)
#: The number a session recorded now is saved with.
MEASURES = len(MEASURE_CHANGES)

#: A diverged lane's cause in a session saved before causes were kept.
UNRECORDED_CAUSE = "what went non-finite was not recorded (saved by an earlier muonscope)"


def without_redefined(
    measures: int, metrics: dict[str, Any], checkpoints: Sequence[Checkpoint]
) -> list[Checkpoint]:
    """The checkpoints of a session recorded under ``measures``, with the metrics redefined since
    left out, as never measured; ``metrics``, the metrics table's columns, is changed in place."""
    redefined = _redefined_since(measures)
    for name in redefined:
        if name in metrics:
            metrics[name] = np.full_like(metrics[name], np.nan)
    return [_without(checkpoint, redefined) for checkpoint in checkpoints]


def earlier_measures_notes(measures: int, optimizers: set[str]) -> list[str]:
    """What a reader of a session recorded under ``measures`` is told: the metrics left out of its
    record, and the lanes (of ``optimizers``, those it ran: :func:`optimizers_run`) that replay
    under a rule changed since."""
    since = MEASURE_CHANGES[measures:]
    notes = []
    if named := [name for name in _redefined_since(measures) if name in SCALAR_METRICS]:
        whats = "; ".join(change.what for change in since if change.metrics)
        notes.append(
            f"recorded before {_and_listed(named)} were redefined ({whats}): they are left out, "
            "and a step gone to again measures them anew"
        )
    for change in since:
        changed = [OPTIMIZERS[name].title for name in change.optimizers if name in optimizers]
        if changed:
            notes.append(
                f"its {_and_listed(changed)} lanes replay under today's rule ({change.what}), "
                "which may part from the steps recorded"
            )
    if measures == 0:  # saved before the changes were numbered: older ones are not listed here
        notes.append(_UNNUMBERED)
    return notes


#: Said of a session saved before the number was kept: changes before the list began are not in it.
_UNNUMBERED = (
    "saved before muonscope numbered what its steps measure, it may hold other metrics as an earlier "
    "muonscope defined them"
)


def _and_listed(names: Sequence[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + f" and {names[-1]}"


def _redefined_since(measures: int) -> tuple[str, ...]:
    return tuple(dict.fromkeys(name for change in MEASURE_CHANGES[measures:] for name in change.metrics))


def optimizers_run(
    initial: ExperimentConfig, checkpoints: Sequence[Checkpoint], changes: Iterable[tuple[int, Any]]
) -> set[str]:
    """The optimizers a session's lanes ran: its initial config's, its checkpoints', and those its
    changes switched to or added."""
    configs = [initial, *(checkpoint.config for checkpoint in checkpoints)]
    run = {lane.optimizer for config in configs for lane in config.lanes}
    for _step, change in changes:
        if isinstance(change, AddLane):
            run.add(change.lane.optimizer)
        elif isinstance(change, SetField) and change.path.endswith(".optimizer"):
            run.add(str(change.value))
    return run


def _without(checkpoint: Checkpoint, redefined: tuple[str, ...]) -> Checkpoint:
    lanes = tuple(_lane_without(lane, redefined) for lane in checkpoint.lanes)
    return dataclasses.replace(checkpoint, lanes=lanes)


def _lane_without(lane: LaneSnapshot, redefined: tuple[str, ...]) -> LaneSnapshot:
    """``lane`` with its redefined fields as never measured, and a cause where a diverged lane has
    none."""
    reset = {name: _unmeasured(name) for name in redefined if name in _LANE_FIELDS}
    if lane.diverged and not lane.diverged_cause:
        reset["diverged_cause"] = UNRECORDED_CAUSE
    return dataclasses.replace(lane, **reset) if reset else lane


_LANE_FIELDS = {spec.name: spec for spec in dataclasses.fields(LaneSnapshot)}


def _unmeasured(name: str) -> Any:
    """A lane field's value before it is measured (NaN, an empty array)."""
    spec = _LANE_FIELDS[name]
    return spec.default_factory() if spec.default is dataclasses.MISSING else spec.default
