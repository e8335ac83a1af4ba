"""What a saved session holds, as text: ``muonscope inspect PATH`` without ``--step``.

Someone handed a session folder (or coming back to one) first needs its map: the task, the
branches with where each forked and what it changed, how far each runs, the lanes and where they
stood at each branch's newest step, and the breakpoints. Everything here is read from the opened
session; nothing is recomputed beyond what opening it does.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from muonscope.app.live_caption import count_text
from muonscope.app.path_words import path_text, shell_word
from muonscope.app.run_table import estimate_text
from muonscope.app.table_numbers import decimals_text
from muonscope.engine.divergence import because
from muonscope.engine.session import Branch, Session
from muonscope.engine.snapshot import LaneSnapshot
from muonscope.engine.task_kinds import TASK_KINDS

__all__ = ["say_opened_notes", "session_summary"]

#: The metrics shown for each lane at a branch's newest step: column and decimals (as `muonscope
#: run` prints them: its "loss 1.6262" was "loss 1.626" here), for a task with items ...
_ITEM_METRICS = (("loss", 4), ("accuracy", 4), ("recovered", 0))
#: ... and for a stream, which has none to recover: "loss nan  accuracy nan  recovered 0" said
#: nothing true of it; what it measures is its signal and its spectra
_STREAM_METRICS = (("alignment", 3), ("sin_theta", 3), ("tail_filtering", 3), ("gap", 4))


def say_opened_notes(session: Session, path: Path, prog: str) -> None:
    """What opening ``session`` found to tell (recorded under earlier measures, …), on stderr: a
    resumed run printed an old session's gap of 22.6 beside a fresh run's 2.26 without a word."""
    for note in session.opened_notes:
        sys.stderr.write(f"{prog}: note: {path_text(path)}: {note}\n")


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
    items = TASK_KINDS[session.initial_config.task.kind].has_classes
    sampled = _evaluates_a_sample(session.initial_config)
    for branch in session.branches:
        lines += _lane_lines(branch, _head_lanes(session, branch), items, sampled)
    lines.append("breakpoints: " + ("; ".join(b.text for b in session.breakpoints) or "none"))
    lines.append(  # quoted as a shell takes it: "runs/fork ✓" pasted as printed was two words
        f"look at one matrix: muonscope inspect {shell_word(folder)} --step K [--lane L] "
        "[--tensor W|G|M|update] [--branch B]"
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
    every = session.initial_config.run.spectra_every
    lines = [f"{mark} {branch.id} {branch.name} · {origin} · {_spectra_kept(branch, every)}"]
    lines += [f"      {change}" for change in session.own_changes_told(branch)]  # as the markers say them
    return lines


def _spectra_kept(branch: Branch, every: int) -> str:
    """At how many of the steps due (every ``every``-th, ``run.spectra_every``) the branch's record
    holds spectra (a fork's, with those of the steps it shares with its parent), as panel ② counts
    them: spectra.parquet held 643 of 2851 steps (paced while playing), and nothing said so."""
    measured = sum(1 for step in branch.spectra.steps if 0 < step <= branch.head_step)
    if every <= 1:
        return f"spectra at {measured} of {branch.head_step} steps"
    return f"spectra at {measured} of the {branch.head_step // every} steps due (every {every})"


def _head_lanes(session: Session, branch: Branch) -> dict[int, LaneSnapshot]:
    """The branch's lanes at its newest step, by lane id, where the session holds that step's state
    (the engine standing there, a head kept, or a checkpoint at it); else none."""
    if branch.id == session.branch.id and session.step == branch.head_step:
        return {lane.lane_id: lane for lane in session.snapshot().lanes}
    head = branch.head or branch.checkpoints.at_or_before(branch.head_step)
    if head is None or head.step != branch.head_step:
        return {}
    return {lane.lane_id: lane for lane in head.lanes}


def _evaluates_a_sample(config) -> bool:
    """Whether the run's population metrics are estimates: with minibatches, beyond
    ``run.exact_eval_items`` items (as the task decides)."""
    return config.task.batch_size > 0 and config.task.n_items > config.run.exact_eval_items


def _lane_lines(
    branch: Branch, head_lanes: dict[int, LaneSnapshot], items: bool, sampled: bool = False
) -> list[str]:
    """Each lane at the branch's newest step, with its newest measured metrics (and their step,
    when the last evaluation came before the newest step), and where it diverged."""
    table = branch.metrics.table()
    lines = [f"lanes at step {branch.head_step} of branch {branch.id} ({branch.name}):"]
    sampled_items = {lane.eval_sampled_items for lane in head_lanes.values() if lane.eval_estimated}
    if items and sampled_items:  # as run's table says it
        how_many = max(sampled_items)
        lines.append(f"  population metrics estimated from {how_many} sampled items (± one standard error)")
    recorded = table["step"][table["step"] <= branch.head_step]
    # a long run's record is thinned to every 2ᵏ-th step: its lanes are those of the newest one kept
    rows = np.flatnonzero(table["step"] == recorded.max()) if recorded.size else np.empty(0, dtype=int)
    cells, causes = [], []
    for row in rows:
        lane_id = int(table["lane_id"][row])
        lane = head_lanes.get(lane_id)
        label = branch.metrics.labels.get(int(table["lane"][row]), "")
        if items:
            measured = _measured(table, lane_id, branch.head_step, lane, sampled)
        else:
            measured = _stream_measured(table, lane_id, branch.head_step)
        if lane is not None and lane.diverged:
            measured.append(f"DIVERGED at step {lane.diverged_step}")
            if lane.diverged_cause:  # sessions saved before causes were kept have none
                causes.append(f"lane {int(table['lane'][row])} diverged{because(lane.diverged_cause)}")
        cells.append([f"{int(table['lane'][row])} {label}", *measured])
    return lines + [f"  {line}" for line in (*_aligned(cells), *causes)]


def _aligned(rows: list[list[str]]) -> list[str]:
    """The rows' cells in columns as wide as their widest cell, two spaces apart: fixed widths were
    pushed out of line by a value such as "2.11e-08" or "0.953 (step 4)"."""
    columns = max(map(len, rows), default=0)
    widths = [max(len(row[i]) for row in rows if i < len(row)) for i in range(columns)]
    lines = []
    for row in rows:
        cells = (cell.ljust(width) for cell, width in zip(row, widths, strict=False))
        lines.append("  ".join(cells).rstrip())
    return lines


def _measured(table: dict, lane_id: int, head_step: int, lane: LaneSnapshot | None, sampled: bool) -> str:
    """``loss 1.25  accuracy 0.8801  recovered 26`` from the lane's newest evaluated row (the recovered
    count is there at every evaluation; a diverged lane's loss may be NaN). An estimate from sampled
    items reads ``≈ 2.076 ± 0.004`` as in ``run``'s table, where the head's state holds its standard
    error (the record keeps the values only): N = 8192 read "loss 2.0764" as if exact."""
    rows = np.flatnonzero((table["lane_id"] == lane_id) & ~np.isnan(table["recovered"]))
    if rows.size == 0:
        return ["not evaluated yet"]
    row = rows[-1]
    step = int(table["step"][row])
    errors = lane is not None and lane.eval_estimated and lane.eval_step == step
    cells = []
    for name, digits in _ITEM_METRICS:
        value = float(table[name][row])
        if errors and name == "recovered":
            shown = count_text(round(value), lane.recovered_se, True)
        elif errors:
            shown = estimate_text(value, getattr(lane, f"{name}_se"), digits)
        else:
            shown = ("≈ " if sampled else "") + decimals_text(value, digits)
        cells.append(f"{name} {shown}")
    return cells if step == head_step else [*cells, f"(evaluated at step {step})"]


def _stream_measured(table: dict, lane_id: int, head_step: int) -> str:
    """``alignment 0.953 (step 4)  sin_theta 0.491 …``: each metric's newest measured value, with its
    step where that came before the newest (the alignment follows the signal's own cadence)."""
    mine = table["lane_id"] == lane_id
    cells = []
    for name, digits in _STREAM_METRICS:
        rows = np.flatnonzero(mine & ~np.isnan(table[name]))
        if rows.size == 0:
            cells.append(f"{name} n/a")
            continue
        step = int(table["step"][rows[-1]])
        value = decimals_text(float(table[name][rows[-1]]), digits)
        value += "" if step == head_step else f" (step {step})"
        cells.append(f"{name} {value}")
    return cells
