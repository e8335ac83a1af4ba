"""What a saved session holds, as text: ``muonscope inspect PATH`` without ``--step``.

Someone handed a session folder (or coming back to one) first needs its map: the task, the
branches with where each forked and what it changed, how far each runs, the lanes and where they
stood at each branch's newest step, and the breakpoints. Everything here is read from the opened
session; nothing is recomputed beyond what opening it does.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from muonscope.app.table_numbers import decimals_text
from muonscope.engine.changes import dated_change_text
from muonscope.engine.session import Branch, Session
from muonscope.engine.task_kinds import TASK_KINDS

__all__ = ["session_summary"]

#: The metrics shown for each lane at a branch's newest step: column, heading, decimals, width (as
#: `muonscope run` prints them: its "loss 1.6262" was "loss 1.626" here)
_LANE_METRICS = (
    ("loss", "loss", 4, 8),
    ("accuracy", "accuracy", 4, 6),
    ("recovered", "recovered", 0, 0),
)


def session_summary(session: Session, folder: Path) -> list[str]:
    """The lines that describe ``session`` (read from ``folder``)."""
    snapshot = session.snapshot()
    lines = [
        f"session {folder} · {snapshot.device} {snapshot.dtype} · {len(session.branches)} "
        + ("branch" if len(session.branches) == 1 else "branches"),
        "task at step 0: " + _task_text(session.initial_config.task),
        "branches (* the current one):",
    ]
    for branch in session.branches:
        lines += _branch_lines(session, branch)
    for branch in session.branches:
        lines += _lane_lines(branch)
    lines.append("breakpoints: " + ("; ".join(b.text for b in session.breakpoints) or "none"))
    lines.append(
        f"look at one matrix: muonscope inspect {folder} --step K [--lane L] [--tensor W|G|M|update] "
        "[--branch B]"
    )
    return lines


def _task_text(task) -> str:
    kind = TASK_KINDS[task.kind]
    settings = " · ".join(f"{name}={getattr(task, name)}" for name in kind.fields)
    return f"{kind.title} · {settings} · seed={task.seed}"


def _branch_lines(session: Session, branch: Branch) -> list[str]:
    mark = "*" if branch.id == session.branch.id else " "
    if branch.parent is None:
        origin = f"steps 0–{branch.head_step}"
    else:
        parent = session.branches[branch.parent]
        origin = (
            f"forked at step {branch.fork_step} from branch {parent.id} ({parent.name})"
            f" · steps {branch.fork_step}–{branch.head_step}"  # as the timeline says it
        )
    lines = [f"{mark} {branch.id} {branch.name} · {origin}"]
    for step, change in session.own_changes(branch):
        lines.append(f"      {dated_change_text(step, change)}")
    return lines


def _lane_lines(branch: Branch) -> list[str]:
    """Each lane at the branch's newest step, with its newest measured metrics (and their step,
    when the last evaluation came before the newest step)."""
    table = branch.metrics.table()
    lines = [f"lanes at step {branch.head_step} of branch {branch.id} ({branch.name}):"]
    recorded = table["step"][table["step"] <= branch.head_step]
    # a long run's record is thinned to every 2ᵏ-th step: its lanes are those of the newest one kept
    rows = np.flatnonzero(table["step"] == recorded.max()) if recorded.size else np.empty(0, dtype=int)
    labels = [branch.metrics.labels.get(int(table["lane"][row]), "") for row in rows]
    width = max((len(label) for label in labels), default=0)
    for row, label in zip(rows, labels, strict=True):
        measured = _measured(table, int(table["lane_id"][row]), branch.head_step)
        lines.append(f"  {int(table['lane'][row])} {label:<{width}}  {measured}")
    return lines


def _measured(table: dict, lane_id: int, head_step: int) -> str:
    """``loss 1.25  accuracy 0.8801  recovered 26`` from the lane's newest evaluated row (the recovered
    count is there at every evaluation; a diverged lane's loss may be NaN)."""
    rows = np.flatnonzero((table["lane_id"] == lane_id) & ~np.isnan(table["recovered"]))
    if rows.size == 0:
        return "not evaluated yet"
    row = rows[-1]
    text = "  ".join(
        f"{heading} {decimals_text(float(table[name][row]), digits):<{width}}"
        for name, heading, digits, width in _LANE_METRICS
    )
    step = int(table["step"][row])
    return text if step == head_step else f"{text}  (evaluated at step {step})"
