"""Lane settings that only some tasks can run: a thresholded gradient needs items to leave out, a
λ_t schedule a Zipf law with α > 1/2 (SCIENCE.md §5).

A config refuses them on any other task; a task change that cannot run them turns them off in the
lanes, as switching the kind resets its embeddings, unless the same change names them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from muonscope.engine.errors import format_value
from muonscope.engine.task_kinds import items_problem, schedule_problem

__all__ = [
    "TASK_BOUND_SETTINGS",
    "task_bound_problem",
    "turn_off_what_the_task_cannot_run",
    "turned_off_notes",
]

#: Lane field → (the value that turns it off, why a task cannot run it: "" when it can).
TASK_BOUND_SETTINGS: dict[str, tuple[Any, Callable[[Any], str]]] = {
    "thresholded": (False, items_problem),
    "lam_schedule": ("fixed", schedule_problem),
}


def task_bound_problem(task: Any, name: str, value: Any) -> str:
    """Why lane field ``name`` set to ``value`` cannot run on ``task`` (a TaskConfig); "" when it can,
    when ``value`` turns the setting off, or when the field does not depend on the task."""
    if name not in TASK_BOUND_SETTINGS:
        return ""
    off, problem = TASK_BOUND_SETTINGS[name]
    return problem(task) if value != off else ""


def turn_off_what_the_task_cannot_run(
    task: Any, lanes: list[dict[str, Any]], named: set[tuple[int, str]]
) -> None:
    """Turn off, in ``lanes`` (lane tables, changed in place), the settings ``task`` cannot run, but
    those ``named`` as (lane index, field): a typed value is refused with the reason, not dropped.
    A lane name that said the setting ("…, λ_t from 32^-α") goes with it, unless named too."""
    for index, lane in enumerate(lanes):
        for name, (off, _problem) in TASK_BOUND_SETTINGS.items():
            if (index, name) not in named and task_bound_problem(task, name, lane.get(name, off)):
                lane[name] = off
                if (index, "label") not in named:
                    lane["label"] = ""


def turned_off_notes(before: Any, after: Any) -> list[str]:
    """What a task change turned off in the lanes of ``before`` (an ExperimentConfig) to give ``after``,
    one line per setting: "lane 0 (…): lam_schedule kim → fixed: λ_t follows …"."""
    notes = []
    for index, (old, new) in enumerate(zip(before.lanes, after.lanes, strict=False)):
        for name, (off, _problem) in TASK_BOUND_SETTINGS.items():
            was = getattr(old, name)
            why = task_bound_problem(after.task, name, was)  # "": turned off as asked, or never on
            if why and getattr(new, name) == off:
                change = f"{name} {format_value(was)} → {format_value(off)}"
                notes.append(f"lane {index} ({old.display_label()}): {change}: {why}")
    return notes
