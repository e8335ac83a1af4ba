"""What the widgets need to know about engine fields: choices, ranges, and when a field applies.

The widgets never import the engine; this module turns the engine's field specs, task kinds and
optimizer registry into plain widget specs and (enabled, reason) pairs, so every control's range is
the engine's own and every disabled control can say why.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

from muonscope.engine.config import LANE_FIELDS, RUN_FIELDS, TASK_FIELDS, LaneConfig, TaskConfig
from muonscope.engine.fields import FieldSpec
from muonscope.engine.optim.registry import OPTIMIZERS, lane_field_problem
from muonscope.engine.task_bound import TASK_BOUND_SETTINGS
from muonscope.engine.task_kinds import (
    EMBEDDING_FAMILIES,
    TASK_KINDS,
    task_field_problem,
    view_problem,
)
from muonscope.widgets.lane_table import LANE_ROW_FIELDS, LaneFieldSpec
from muonscope.widgets.number_box import BOX_DECIMALS
from muonscope.widgets.task_panel import TaskFieldSpec
from muonscope.widgets.transport_bar import TransportRanges

__all__ = [
    "LANE_CONTROLS",
    "class_error_problem",
    "kind_defaults",
    "lane_field_spec",
    "lane_field_states",
    "lane_values",
    "task_field_specs",
    "task_field_states",
    "task_values",
    "transport_ranges",
]

#: Lane fields with a control in the lane table.
LANE_CONTROLS = LANE_ROW_FIELDS
#: Task fields shown as a slider (in hundredths) rather than a spin box.
_SLIDERS = {"label_noise"}
#: The seed sits in the toolbar next to reset, not in the task form.
_NOT_IN_FORM = {"seed"}


def _widget_range(spec: FieldSpec, step: float) -> tuple[float, float]:
    """The largest range a control can show inside the spec's bounds (open ends step inside)."""
    lo = spec.lo if spec.lo is not None else 0.0
    hi = spec.hi if spec.hi is not None else 1e6
    return (lo + step if spec.lo_open else lo), (hi - step if spec.hi_open else hi)


def _task_field_spec(spec: FieldSpec) -> TaskFieldSpec:
    if spec.name in _SLIDERS:
        lo, hi = _widget_range(spec, 0.01)
        return TaskFieldSpec(spec.name, spec.label, "slider", lo, hi, tooltip=spec.help)
    if spec.kind in ("int", "float"):
        lo, hi = _widget_range(spec, 1 if spec.kind == "int" else 10.0**-BOX_DECIMALS)
        return TaskFieldSpec(spec.name, spec.label, spec.kind, lo, hi, BOX_DECIMALS, tooltip=spec.help)
    if spec.kind == "floats":
        lo = -math.inf if spec.lo is None else spec.lo
        hi = math.inf if spec.hi is None else spec.hi
        return TaskFieldSpec(
            spec.name,
            spec.label,
            spec.kind,
            lo,
            hi,
            tooltip=spec.help,
            lo_open=spec.lo_open,
            max_len=spec.max_len,
            max_len_words=spec.max_len_words,
        )
    return TaskFieldSpec(spec.name, spec.label, spec.kind, choices=spec.choices, tooltip=spec.help)


def task_field_specs() -> list[TaskFieldSpec]:
    """The task form: the kind, then every field some kind reads, in the registry's order."""
    ordered = ["kind"]
    for kind in TASK_KINDS.values():
        ordered += [name for name in kind.fields if name not in ordered and name not in _NOT_IN_FORM]
    return [_task_field_spec(TASK_FIELDS[name]) for name in ordered]


def kind_defaults(kind: str) -> dict[str, Any]:
    """Values that make a valid task when the user switches the form to ``kind``."""
    return {"kind": kind, **TASK_KINDS[kind].defaults}


def lane_field_spec() -> LaneFieldSpec:
    """Optimizer choices from the registry; choices and ranges from the lane field specs."""
    ranges = {}
    for name in ("lr", "momentum", "ns_steps", "lam", "beta2"):
        spec = LANE_FIELDS[name]
        ranges[name] = _widget_range(spec, 1 if spec.kind == "int" else 10.0**-BOX_DECIMALS)
    return LaneFieldSpec(
        optimizers=[(name, spec.title) for name, spec in OPTIMIZERS.items()],
        orders=list(LANE_FIELDS["order"].choices),
        polars=list(LANE_FIELDS["polar"].choices),
        ranges=ranges,
        momentum_symbols={name: spec.momentum_symbol for name, spec in OPTIMIZERS.items()},
        helps={name: _sentence(spec.help) for name, spec in LANE_FIELDS.items()},
    )


def transport_ranges() -> TransportRanges:
    """The toolbar's seed box and "go to" box: the seeds a task accepts, the steps a run may reach."""
    seed, steps = TASK_FIELDS["seed"], RUN_FIELDS["steps"]
    return TransportRanges(seed=(int(seed.lo), int(seed.hi)), step=(int(steps.lo), int(steps.hi)))


def lane_values(lane: LaneConfig) -> dict[str, Any]:
    return dataclasses.asdict(lane)


def lane_field_states(lane: LaneConfig, task: TaskConfig) -> dict[str, tuple[bool, str]]:
    """(enabled, reason) for every lane control, from the optimizer's declared fields and the task
    (thresholding needs items to recover)."""
    problems = {name: lane_field_problem(lane, name) for name in LANE_CONTROLS}
    for name, (_off, task_problem) in TASK_BOUND_SETTINGS.items():  # greyed where the task cannot run them
        problems[name] = problems[name] or _sentence(task_problem(task))
    return {name: (not problem, problem) for name, problem in problems.items()}


def _sentence(text: str) -> str:
    """``text`` as a tooltip sentence: capitalised, with a full stop ("" stays "")."""
    return f"{text[0].upper()}{text[1:]}." if text else ""


def task_values(task: TaskConfig) -> dict[str, Any]:
    values = dataclasses.asdict(task)
    values["strengths"] = list(task.strengths)
    return values


def class_error_problem(task: TaskConfig) -> str | None:
    """Why panel ③ has nothing to show for ``task``, or None when it has classes."""
    return view_problem(task, "class_error") or None


def task_field_states(task: TaskConfig) -> tuple[dict[str, tuple[bool, bool, str]], set[str], dict[str, str]]:
    """Visibility and enabling per field, the live fields, and embedding choices that do not apply."""
    kind = TASK_KINDS[task.kind]
    shown = {"kind", *kind.fields}
    states = {}
    for spec in task_field_specs():  # greyed where the task, as set, does not read it (the staircase's head)
        unread = task_field_problem(task, spec.name) if spec.name in shown else ""
        states[spec.name] = (spec.name in shown, not unread, _sentence(unread))
    disabled = {}
    for family in TASK_FIELDS["embeddings"].choices:
        if family not in kind.embeddings:
            disabled[family] = f"not available for the {kind.title}"
        elif EMBEDDING_FAMILIES[family] and task.n_items > task.d:
            disabled[family] = f"needs N ≤ d (N = {task.n_items}, d = {task.d})"
    return states, set(kind.live), disabled
