"""Breakpoints on training dynamics: conditions on a lane's metrics that pause a run when they hold.

An expression is ``[LANE:]METRIC OP NUMBER`` or ``[LANE:]diverged``:

* LANE is a lane's 0-based index (``1:``) or its label (``SGD μ=0.9 lr=0.5:``); without it, any
  lane; a label that several lanes bear watches each of them (the hit names the lane that met it).
  A lane written as digits is always an index. A label may contain anything but a line
  break: the condition never contains ``:``, so the lane is everything before the last ``:``.
* METRIC is one of the per-lane scalar metrics of :mod:`muonscope.engine.scalar_metrics`.
* OP is one of ``< <= > >= == !=``; NUMBER is a float literal (``0.5``, ``1e-3``, ``-inf``), not nan.

A metric condition is checked only at the steps its metric group was computed — a population
metric only when the population was evaluated — so a stale value never triggers it; lanes that
have diverged are skipped. ``diverged`` holds at the one step a lane diverges.

Breakpoints are plain frozen values; saved, they are only their text and whether they are on, and
loading parses the text again. Free of torch and numpy, so a command line can check an expression
before anything heavy loads.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from muonscope.engine.config import lanes_text
from muonscope.engine.divergence import because
from muonscope.engine.errors import ConfigError
from muonscope.engine.scalar_metrics import (
    POPULATION_GROUP,
    SCALAR_METRICS,
    fresh_value,
    measured_step,
    read_value,
)
from muonscope.engine.task_kinds import TASK_KINDS
from muonscope.engine.validate import nearest_hint, reads_as_zero

if TYPE_CHECKING:
    from muonscope.engine.snapshot import LaneSnapshot, Snapshot

__all__ = [
    "DIVERGED",
    "GRAMMAR",
    "MAX_CHARS",
    "METRIC_NAMES",
    "OPERATORS",
    "POPULATION_METRICS",
    "Breakpoint",
    "Hit",
    "also_holding",
    "breakpoint_from_dict",
    "breakpoint_to_dict",
    "first_hit",
    "follow_moved_lanes",
    "metric_problem",
    "parse_breakpoint",
    "pinned_to_lanes",
]

#: The condition that holds when a lane diverges.
DIVERGED = "diverged"
#: The metrics a condition may compare, in the order the history records them.
METRIC_NAMES: tuple[str, ...] = tuple(SCALAR_METRICS)
#: Metrics of the population evaluation: checked only at the steps the population is evaluated.
POPULATION_METRICS: frozenset[str] = frozenset(
    name for name, (group, _path) in SCALAR_METRICS.items() if group == POPULATION_GROUP
)
#: The metrics only a task with items has: its population evaluation's, and the minibatch loss.
_ITEM_METRICS = POPULATION_METRICS | {"batch_loss"}
#: Comparison → what it computes.
OPERATORS: Mapping[str, Callable[[float, float], bool]] = MappingProxyType(
    {
        "<": operator.lt,
        "<=": operator.le,
        ">": operator.gt,
        ">=": operator.ge,
        "==": operator.eq,
        "!=": operator.ne,
    }
)
#: The longest expression accepted.
MAX_CHARS = 200
GRAMMAR = "[LANE:]METRIC OP NUMBER or [LANE:]diverged"

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:-[A-Za-z0-9_]+)*")  # hyphens taken, to be refused whole
_OPERATOR = re.compile(r"<=|>=|==|!=|<|>")
_NUMBER = re.compile(r"[+-]?(?:(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|inf)")
_INDEX = re.compile(r"[0-9]+")
_SYMBOLS = re.compile(r"[<>=!~]+")


@dataclass(frozen=True, slots=True)
class Breakpoint:
    """A parsed expression: ``lane`` is an index, a label or None (any lane); ``op`` and
    ``threshold`` are None for ``diverged``. Make one with :func:`parse_breakpoint`.

    ``lane_id``: for a lane given by index, the id of the lane that index named when the breakpoint
    was set (see :func:`pinned_to_lanes`); it then selects that lane wherever it moves.
    """

    text: str
    lane: int | str | None
    metric: str
    op: str | None = None
    threshold: float | None = None
    enabled: bool = True
    lane_id: int | None = None

    @property
    def population(self) -> bool:
        """True for a population metric, checked only when the population is evaluated."""
        return self.metric in POPULATION_METRICS

    def check(self, snapshot: Snapshot) -> Hit | None:
        """The first selected lane (by index) for which the condition holds at this step; None if
        none does or the breakpoint is disabled."""
        if not self.enabled:
            return None
        for lane in sorted(snapshot.lanes, key=lambda lane: lane.index):
            if not self.selects(lane):
                continue
            if self.metric == DIVERGED:
                if lane.diverged_step == snapshot.step:
                    return Hit(self, snapshot.step, lane.index, lane.label, None, lane.diverged_cause)
                continue
            if lane.diverged:
                continue
            value = fresh_value(lane, self.metric, snapshot.step)
            if value is None or not math.isfinite(value):
                continue
            assert self.op is not None and self.threshold is not None
            if OPERATORS[self.op](value, self.threshold):
                return Hit(self, snapshot.step, lane.index, lane.label, value)
        return None

    def check_last_measured(self, snapshot: Snapshot) -> Hit | None:
        """The hit on each lane's latest value, measured at or before this step (a population
        metric between evaluations holds or not as last evaluated): what a breakpoint set now finds
        already. The hit's step is the one its value was measured at."""
        if not self.enabled or self.metric == DIVERGED:
            return None
        for lane in sorted(snapshot.lanes, key=lambda lane: lane.index):
            if not self.selects(lane) or lane.diverged:
                continue
            measured = measured_step(lane, self.metric, snapshot.step)
            value = read_value(lane, self.metric)
            if measured < 0 or not math.isfinite(value):
                continue
            assert self.op is not None and self.threshold is not None
            if OPERATORS[self.op](value, self.threshold):
                return Hit(self, measured, lane.index, lane.label, value)
        return None

    def selects(self, lane: LaneSnapshot) -> bool:
        """Whether ``lane`` is one this breakpoint watches (any lane, or the one it names)."""
        if self.lane is None:
            return True
        if self.lane_id is not None:
            return lane.lane_id == self.lane_id
        if isinstance(self.lane, int):
            return lane.index == self.lane
        return lane.label.strip() == self.lane


@dataclass(frozen=True, slots=True)
class Hit:
    """A breakpoint that held at ``step`` for one lane; ``value`` is the metric's (None for diverged)."""

    breakpoint: Breakpoint
    step: int
    lane_index: int
    lane_label: str
    value: float | None
    cause: str = ""  # what went non-finite, for a hit of ``diverged``

    @property
    def message(self) -> str:
        """One line saying why the run paused (in the window, where it can go on): a condition that
        stays true pauses the run again at each step it is checked, which the line says how to pass."""
        if self.value is None:
            return self.said("Paused")
        return self.said("Paused") + "; untick it under Breakpoints to play on past it"

    def holding_already(self, step: int | None = None) -> str:
        """One line for a breakpoint set where it already holds: it pauses the run from the next step.
        Set at ``step``, after the step its value was measured at (a population metric between
        evaluations), it says so: nothing was said where the last evaluation met it."""
        if step is None or step == self.step:
            holds = f"holds already at step {self.step} for"
            nxt = "step"
        else:
            holds = f"held at step {self.step}, as last evaluated before step {step}, for"
            nxt = "evaluation" if self.breakpoint.population else "step"
        return f"Breakpoint {self.holds_text(holds)}; it pauses the run at the next {nxt} where it holds."

    def holds_text(self, holds: str = "holds for") -> str:
        """The condition, the lane and the value, with ``holds`` between the condition and the lane:
        'loss < 0.5' holds for lane 2 (LABEL): loss = 0.42."""
        lane = f"lane {self.lane_index} ({self.lane_label})"
        value = _format_number(self.value)
        return f"'{self.breakpoint.text}' {holds} {lane}: {self.breakpoint.metric} = {value}"

    def said(self, verb: str) -> str:
        """One line saying why the run ``verb`` ("Paused", or "Stopped" for a batch run that ends there)."""
        lane = f"lane {self.lane_index} ({self.lane_label})"
        text = self.breakpoint.text
        if self.value is None:
            return f"{verb} at step {self.step}: {lane} diverged (breakpoint '{text}'){because(self.cause)}"
        return f"{verb} at step {self.step}: breakpoint {self.holds_text()}"


def _format_number(value: float) -> str:
    if float(value).is_integer() and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.6g}"


def first_hit(breakpoints: Iterable[Breakpoint], snapshot: Snapshot) -> Hit | None:
    """The hit of the first enabled breakpoint that holds at this snapshot, if any."""
    for bp in breakpoints:
        hit = bp.check(snapshot)
        if hit is not None:
            return hit
    return None


def also_holding(breakpoints: Iterable[Breakpoint], hit: Hit, snapshot: Snapshot) -> str:
    """ "; '0:recovered > 100' holds too": the enabled breakpoints besides ``hit``'s that hold at
    ``snapshot`` ("" for none). A stop names every condition that holds where it stops: naming the
    first alone read as if the others had not held."""
    also = [
        f"'{bp.text}'" for bp in breakpoints if bp is not hit.breakpoint and bp.check(snapshot) is not None
    ]
    if not also:
        return ""
    return f"; {', '.join(also)} hold{'s' if len(also) == 1 else ''} too"


def follow_relabelled_lanes(
    breakpoints: Iterable[Breakpoint], before: Sequence[str], after: Sequence[str]
) -> list[Breakpoint]:
    """The breakpoints with each lane named by a label that no lane bears any more renamed to the
    label its lane bears now (``before``/``after``: the lanes' labels by index).

    A label is how the user pointed at a lane, and a lane's label follows its settings: a learning
    rate changed mid-run turns ``SGD lr=0.5`` into ``SGD lr=0.3``, and a breakpoint written for that
    lane would otherwise never hold again while still showing as on. A label that several lanes bore
    and that now became different labels is left as written: no one lane is meant.
    """
    current = {label.strip() for label in after}
    followed = []
    for bp in breakpoints:
        if isinstance(bp.lane, str) and bp.lane not in current:
            lanes = [i for i, label in enumerate(before[: len(after)]) if label.strip() == bp.lane]
            renamed = {after[i].strip() for i in lanes}
            if len(renamed) == 1:
                (label,) = renamed
                bp = replace(bp, text=_with_lane(bp.text, label), lane=label)
        followed.append(bp)
    return followed


def _with_lane(text: str, lane: int | str) -> str:
    """``text`` naming ``lane`` before its condition, which stays as typed (a label holds ':' but a
    condition does not): "…lr=0.1:recovered >= 60" came back "…lr=0.2: recovered >= 60"."""
    return f"{lane}:{text.rpartition(':')[2]}"


def pinned_to_lanes(breakpoints: Iterable[Breakpoint], lane_ids: Sequence[int]) -> list[Breakpoint]:
    """The breakpoints with each lane given by index tied to the lane that index names now
    (``lane_ids``: the lanes' ids by index), so that removing an earlier lane does not hand the
    breakpoint to the lane that moves into its place; one already tied, or past the last lane,
    is kept as it is."""
    pinned = []
    for bp in breakpoints:
        if isinstance(bp.lane, int) and bp.lane_id is None and bp.lane < len(lane_ids):
            bp = replace(bp, lane_id=lane_ids[bp.lane])
        pinned.append(bp)
    return pinned


def follow_moved_lanes(
    breakpoints: Iterable[Breakpoint], before: Sequence[tuple[int, str]], lane_ids: Sequence[int]
) -> list[Breakpoint]:
    """The breakpoints tied to a lane that now stands at another index, written with that index
    ("2:recovered >= 40" becomes "1:recovered >= 40" once lane 1 is removed); ``before``: the lanes'
    (id, label) by index when the breakpoints were last followed, ``lane_ids``: their ids now.

    One whose lane is gone (removed, or a rewind to before it was added) names it by its label
    instead, as the condition it still is (an index would read as whichever lane stands there), and
    stays tied to that lane: it holds for no lane until that one is back (a rewind to before the
    removal), not for another lane that comes to bear the label (one switched to the same settings).
    """
    labels = dict(before)
    followed = []
    for bp in breakpoints:
        if bp.lane_id is not None and bp.lane_id in lane_ids:
            index = lane_ids.index(bp.lane_id)
            if index != bp.lane:
                bp = replace(bp, text=_with_lane(bp.text, index), lane=index)
        elif bp.lane_id is not None and bp.lane_id in labels:
            label = labels[bp.lane_id].strip()
            bp = replace(bp, text=_with_lane(bp.text, label), lane=label)
        followed.append(bp)
    return followed


def metric_problem(kind: str, metric: str) -> str:
    """Why per-lane metric ``metric`` is never measured on a task of ``kind`` ("" when it is): a
    task without items has no population to evaluate and no loss ("recovered >= 0" on a gradient
    stream waited for ever)."""
    if TASK_KINDS[kind].has_classes or metric not in SCALAR_METRICS or metric not in _ITEM_METRICS:
        return ""
    measured = [name for name in SCALAR_METRICS if name not in _ITEM_METRICS]
    return f"a {kind} task has no items, so no {metric}; it measures {', '.join(measured)}"


def parse_breakpoint(
    text: str,
    lane_labels: Sequence[str] | None = None,
    where: str = "breakpoint",
    task_kind: str | None = None,
) -> Breakpoint:
    """Parse ``[LANE:]METRIC OP NUMBER`` or ``[LANE:]diverged``.

    With ``lane_labels`` (the current lanes' labels, by index) a lane index must exist and a lane
    label must be one of them; without, any index or label is taken, and a lane that does not
    exist when checked never holds. With ``task_kind`` the metric must be one that kind measures.
    Raises :class:`ConfigError` on ``where``, naming the expression and what is allowed.
    """
    if not isinstance(text, str):
        raise ConfigError(where, text, f"must be text: {GRAMMAR}")
    stripped = text.strip()

    def fail(reason: str) -> ConfigError:
        return ConfigError(where, stripped, reason)

    if not stripped:
        raise fail(f"empty; write {GRAMMAR}, e.g. 'loss < 0.5'")
    if len(stripped) > MAX_CHARS:
        raise fail(f"longer than {MAX_CHARS} characters")
    if len(stripped.splitlines()) > 1:
        raise fail("must be one line")
    head, colon, condition = stripped.rpartition(":")
    metric, op, threshold = _parse_condition(condition.strip(), fail)
    problem = metric_problem(task_kind, metric) if task_kind is not None else ""
    if problem:
        raise fail(problem)
    lane = _parse_lane(head.strip(), lane_labels, fail) if colon else None
    return Breakpoint(stripped, lane, metric, op, threshold)


def _parse_lane(
    lane: str, lane_labels: Sequence[str] | None, fail: Callable[[str], ConfigError]
) -> int | str:
    if not lane:
        raise fail("nothing before ':'; a lane is its index (0, 1, …) or its label")
    if _INDEX.fullmatch(lane):
        index = int(lane)
        if lane_labels is not None and index >= len(lane_labels):
            raise fail(f"lane {index} does not exist; {lanes_text(len(lane_labels))}")
        return index
    if lane_labels is not None and lane not in (label.strip() for label in lane_labels):
        known = ", ".join(f"{i}: {label.strip()!r}" for i, label in enumerate(lane_labels))
        raise fail(f"no lane is labelled {lane!r}; lanes are {known or 'none'}")
    return lane


def _parse_condition(
    condition: str, fail: Callable[[str], ConfigError]
) -> tuple[str, str | None, float | None]:
    metrics = f"metrics are {', '.join(METRIC_NAMES)}, or '{DIVERGED}'"
    comparisons = f"use one of {' '.join(OPERATORS)}"
    if not condition:
        raise fail(f"nothing after ':'; write {GRAMMAR}")
    name = _NAME.match(condition)
    if name is None:
        raise fail(f"expected a metric name at {condition!r}; {metrics}")
    metric = name.group()
    rest = condition[name.end() :].strip()
    if metric == DIVERGED:
        if rest:
            raise fail(f"'{DIVERGED}' takes no comparison, found {rest!r} after it")
        return metric, None, None
    if metric not in SCALAR_METRICS:
        raise fail(f"unknown metric {metric!r}; {metrics}{nearest_hint(metric, (*SCALAR_METRICS, DIVERGED))}")
    if not rest:
        raise fail(f"missing a comparison after {metric!r}; {comparisons}")
    op = _OPERATOR.match(rest)
    if op is None or rest[op.end() : op.end() + 1] in ("=", ">", "<"):
        bad = _SYMBOLS.match(rest) or re.match(r"\S+", rest)
        assert bad is not None
        raise fail(f"{bad.group()!r} is not a comparison; {comparisons}")
    return metric, op.group(), _parse_threshold(rest[op.end() :].strip(), op.group(), fail)


def _parse_threshold(number: str, op: str, fail: Callable[[str], ConfigError]) -> float:
    """The number after a comparison: a float that reads as written and that some value can reach."""
    if not number:
        raise fail(f"missing a number after {op!r}")
    literal = _NUMBER.match(number)
    if literal is None:
        if number.lstrip("+-").lower().startswith("nan"):
            raise fail("nan is never reached; the threshold must be a number or ±inf")
        raise fail(f"{number!r} is not a number")
    if literal.end() != len(number):
        raise fail(f"unexpected {number[literal.end() :].strip()!r} after the number {literal.group()!r}")
    threshold = float(literal.group())
    written = literal.group().lstrip("+-").lower()
    if reads_as_zero(literal.group()):
        raise fail(f"{literal.group()} is below the smallest float (about 5e-324): it would read as 0")
    if math.isinf(threshold) and not written.startswith("inf"):
        raise fail(f"{literal.group()} is past the largest float (about 1.8e308); write inf")
    if math.isinf(threshold) and not OPERATORS[op](0.0, threshold):
        # a value that is not finite is never compared: "loss < -inf" was listed and never held
        raise fail(
            f"no finite value is {op} {literal.group()}, so it never holds (a lane whose loss "
            "is not finite is caught by 'diverged')"
        )
    return threshold


def breakpoint_to_dict(bp: Breakpoint) -> dict[str, Any]:
    """What is saved of a breakpoint: its text and whether it is on."""
    return {"text": bp.text, "enabled": bp.enabled}


def breakpoint_from_dict(
    data: Any, lane_labels: Sequence[str] | None = None, where: str = "breakpoint"
) -> Breakpoint:
    """A saved breakpoint, its text parsed again (see :func:`parse_breakpoint`); ``enabled``
    defaults to true, and any other key is refused."""
    if not isinstance(data, Mapping):
        raise ConfigError(where, data, "must be a table with 'text' and 'enabled'")
    extra = sorted(str(key) for key in data if key not in ("text", "enabled"))
    if extra:
        raise ConfigError(where, extra, "a breakpoint has only 'text' and 'enabled'")
    if "text" not in data:
        raise ConfigError(where, dict(data), "a breakpoint needs its 'text'")
    enabled = data.get("enabled", True)
    if not isinstance(enabled, bool):
        raise ConfigError(f"{where}.enabled", enabled, "must be true or false")
    return replace(parse_breakpoint(data["text"], lane_labels, where=f"{where}.text"), enabled=enabled)
