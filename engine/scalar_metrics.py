"""The per-lane scalar metrics by name: which group computes each, and where a LaneSnapshot keeps it.

A metric group is computed on its own cadence: ``step`` at every step, ``eval`` (population
evaluation) every ``run.eval_every``, ``spectra`` every ``run.spectra_every``, ``signal`` with the
spectra or after an evaluation. A LaneSnapshot keeps the latest value of each group together with
the step it was computed at, so a reader asks :func:`fresh_value` for the value *computed at* a
step and never mistakes a stale value for a new one.

Free of torch and numpy, so a command line can check a metric name before anything heavy loads.
"""

from __future__ import annotations

import math
from types import MappingProxyType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping

    from muonscope.engine.snapshot import LaneSnapshot

__all__ = [
    "COUNT_METRICS",
    "ESTIMATE_METRICS",
    "GROUPS",
    "POPULATION_GROUP",
    "SCALAR_METRICS",
    "fresh_value",
    "measured_step",
    "read_value",
]

#: Metric name → (metric group, attribute path on a LaneSnapshot).
SCALAR_METRICS: Mapping[str, tuple[str, str]] = MappingProxyType(
    {
        "batch_loss": ("step", "batch_loss"),
        "loss": ("eval", "loss"),
        "excess_loss": ("eval", "excess_loss"),
        "accuracy": ("eval", "accuracy"),
        "recovered": ("eval", "recovered"),
        "recovered_prefix": ("eval", "recovered_prefix"),
        "balance_gap": ("eval", "balance_gap"),
        "sampled_items": ("eval", "eval_sampled_items"),
        "loss_se": ("eval", "loss_se"),
        "accuracy_se": ("eval", "accuracy_se"),
        "recovered_se": ("eval", "recovered_se"),
        "gap": ("spectra", "gap"),
        "ratio_gap": ("spectra", "ratio_gap"),
        "ratio_gap_rank": ("spectra", "ratio_gap_rank"),
        "tail_filtering": ("spectra", "tail_filtering"),
        "weight_entropy": ("spectra", "weight_isotropy.entropy"),
        "weight_effective_rank": ("spectra", "weight_isotropy.effective_rank"),
        "weight_top_energy": ("spectra", "weight_isotropy.top_energy"),
        "weight_q75_q25": ("spectra", "weight_isotropy.q75_q25"),
        "update_entropy": ("spectra", "update_isotropy.entropy"),
        "alignment": ("signal", "alignment"),
        "sin_theta": ("signal", "sin_theta"),
    }
)

#: The metrics that count something (items, a rank): whole numbers, written as integers in a table.
COUNT_METRICS = frozenset({"recovered", "recovered_prefix", "ratio_gap_rank", "sampled_items"})

#: What says how an estimated evaluation was made: how many items it sampled and the standard
#: errors of its estimates; undefined (NaN) for an exact one, as ``run --json`` writes them null.
#: A table of a d = 512 run's estimates gave no sign that they were any.
ESTIMATE_METRICS = frozenset({"sampled_items", "loss_se", "accuracy_se", "recovered_se"})

#: A metric that is defined only where another is: the rank of the largest ratio gap is 0 where
#: there is no ratio gap (fewer than two singular values above round-off), and the table, the JSON and
#: a breakpoint (``ratio_gap_rank < 1``) read that 0 as a rank.
_DEFINED_WITH = MappingProxyType({"ratio_gap_rank": "ratio_gap"})

#: Metric group → the LaneSnapshot field holding the step it was last computed at (``step``: every step).
GROUPS: Mapping[str, str | None] = MappingProxyType(
    {"step": None, "eval": "eval_step", "spectra": "spectra_step", "signal": "signal_step"}
)

#: The group of the population metrics: computed only every ``run.eval_every`` steps.
POPULATION_GROUP = "eval"


def read_value(lane: LaneSnapshot, name: str) -> float:
    """The latest value of metric ``name`` on ``lane``, whenever it was computed; a count stays a
    whole number (``recovered`` stopped a run "at 502.0" where the report says 502); NaN where it
    is undefined (see _DEFINED_WITH)."""
    partner = _DEFINED_WITH.get(name)
    if partner is not None and math.isnan(read_value(lane, partner)):
        return math.nan
    if name in ESTIMATE_METRICS and not lane.eval_estimated:
        return math.nan
    value = lane
    for part in SCALAR_METRICS[name][1].split("."):
        value = getattr(value, part)
    value = float(value)
    return int(value) if name in COUNT_METRICS and value.is_integer() else value


def measured_step(lane: LaneSnapshot, name: str, step: int) -> int:
    """The step metric ``name``'s latest value on ``lane`` was computed at (``step`` for a metric
    of every step; −1: never)."""
    stamp = GROUPS[SCALAR_METRICS[name][0]]
    return step if stamp is None else getattr(lane, stamp)


def fresh_value(lane: LaneSnapshot, name: str, step: int) -> float | None:
    """The value of metric ``name`` computed at exactly ``step``; None if its group was not computed then."""
    stamp = GROUPS[SCALAR_METRICS[name][0]]
    if stamp is not None and getattr(lane, stamp) != step:
        return None
    return read_value(lane, name)
