"""What a saved branch must be to be opened: its place in the branch tree, its changes, its newest
step and its metrics rows, each checked against the others (an edited or damaged file was read
without a word, and failed only once a replay reached the fault)."""

from __future__ import annotations

import numpy as np

from muonscope.engine.changes import AddLane, RemoveLane, apply_change
from muonscope.engine.config import ExperimentConfig
from muonscope.engine.session import Branch

__all__ = ["check_branch_tree", "check_changes", "check_head", "check_lane_rows", "check_records"]


def check_branch_tree(branches: list[Branch]) -> None:
    """Branch i has id i; main has no parent and every other branch forked from an earlier one,
    within both lines' steps; names are distinct (``--branch NAME`` picks one)."""
    if not branches:
        raise ValueError("a session has at least one branch")
    names = set()
    for index, branch in enumerate(branches):
        where = f"branch {index} ({branch.name!r})"
        if branch.id != index:
            raise ValueError(f"{where} has id {branch.id}; branches are numbered 0, 1, … in order")
        if branch.name in names:
            raise ValueError(f"{where}: another branch has that name; names are distinct")
        names.add(branch.name)
        if (branch.parent is None) != (index == 0):
            raise ValueError(f"{where}: only branch 0, main, has no parent, found parent {branch.parent}")
        if branch.parent is not None and branch.parent >= index:
            raise ValueError(f"{where}: its parent {branch.parent} must be an earlier branch")
        if branch.parent is not None and branch.fork_step > branches[branch.parent].head_step:
            raise ValueError(f"{where}: forked at step {branch.fork_step}, past its parent's newest step")
        if branch.fork_step > branch.head_step:
            raise ValueError(f"{where}: forked at step {branch.fork_step}, past its own newest step")


def check_records(branch: Branch) -> None:
    """The branch's metrics hold each recorded step once, every ``stride``-th step from 0 to its
    newest, and its spectra each lane's once per step: a table with rows dropped or repeated was
    read without a word and drew curves that doubled back or jumped."""
    where, table = f"branch {branch.id}", branch.metrics.table()
    steps, lanes = table["step"], table["lane"]
    if np.any(np.diff(steps) < 0):
        raise ValueError(f"{where}: its metrics rows are not in step order")
    if len({(s, lane) for s, lane in zip(steps.tolist(), lanes.tolist(), strict=True)}) != steps.size:
        raise ValueError(f"{where}: its metrics hold a step of a lane twice")
    recorded = np.unique(steps)
    grid = np.arange(0, branch.metrics.last_step + 1, branch.metrics.stride)
    if recorded.size != grid.size or np.any(recorded != grid):
        missing = np.setdiff1d(grid, recorded)
        what = f"lack step {int(missing[0])}" if missing.size else "hold steps off their grid"
        every = f"each multiple of {branch.metrics.stride}" if branch.metrics.stride > 1 else "every step"
        raise ValueError(f"{where}: its metrics {what} (they hold {every} from 0 to {int(grid[-1])})")
    rows = [(row.step, row.lane) for row in branch.spectra.rows()]
    if len(set(rows)) != len(rows):
        raise ValueError(f"{where}: its spectra hold a step of a lane twice")
    late = [step for step, _lane in rows if step > branch.head_step or step % branch.spectra.stride]
    if late:
        raise ValueError(
            f"{where}: its spectra hold step {late[0]}, off its record (0 to {branch.head_step})"
        )


def check_changes(branch: Branch, initial: ExperimentConfig) -> ExperimentConfig:
    """Every change the branch replays is one the engine accepts, in step order up to its head: an
    edited ``lanes[0].lr = "zzz"`` was found only when a replay reached it, and stopped the engine.
    Returns the settings at the head."""
    config, last = initial, 0
    for step, change in branch.changes:
        if not last <= step <= branch.head_step:
            raise ValueError(f"branch {branch.id}: a change at step {step} is out of order")
        config = apply_change(config, change).config  # a ConfigError names the field and value
        last = step
    return config


def check_head(branch: Branch) -> None:
    """The branch's newest step agrees with its records: opening replays up to it from the stored
    state before it (a checkpoint spacing at most), and an edited ``head_step`` of 10¹² replayed for
    ever."""
    where, head_step, last = f"branch {branch.id}", branch.head_step, branch.metrics.last_step
    if last < 0:  # "is not where its metrics end (-1)" named no fault one could see
        raise ValueError(f"{where}: its metrics hold no rows, though it runs to step {head_step}")
    if not last <= head_step < last + branch.metrics.stride:
        raise ValueError(f"{where}: head_step {head_step} is not where its metrics end ({last})")
    newest = branch.checkpoints.steps[-1]  # the store keeps them in order
    if newest > head_step:
        raise ValueError(f"{where}: a checkpoint at step {newest} lies past its head, step {head_step}")
    if branch.head is not None and branch.head.step != head_step:
        raise ValueError(f"{where}: its head is step {branch.head.step}, not head_step {head_step}")
    start = branch.head or branch.checkpoints.at_or_before(head_step)
    spacing = branch.checkpoints.spacing
    if start is None or head_step - start.step > spacing:
        raise ValueError(f"{where}: no checkpoint within {spacing} steps of its head")


def check_lane_rows(branch: Branch, lanes_at_start: int, lanes_at_head: int) -> None:
    """Each recorded step has a metrics row for each of its lanes, 0 to n − 1, and n changes only
    where a lane was added or removed (a lane's rows dropped were otherwise read as a shorter run)."""
    table = branch.metrics.table()
    steps, lanes = table["step"], table["lane"]
    if steps.size == 0:
        return
    recorded, starts, counts = np.unique(steps, return_index=True, return_counts=True)
    if np.any(lanes < 0) or np.any(np.maximum.reduceat(lanes, starts) != counts - 1):
        raise ValueError(f"branch {branch.id}: its metrics miss a lane's row at a step")
    changed = [step for step, change in branch.changes if isinstance(change, AddLane | RemoveLane)]

    def settled(first: float, last: float) -> bool:  # no lane added or removed from first to last
        return not any(first <= step <= last for step in changed)

    where = f"branch {branch.id}: its metrics have"
    for step, count, configured in (
        (recorded[0], counts[0], lanes_at_start),
        (recorded[-1], counts[-1], lanes_at_head),
    ):
        if count != configured and settled(step, step):
            raise ValueError(f"{where} {count} lane(s) at step {int(step)}, its settings {configured}")
    for i in np.flatnonzero(np.diff(counts)):
        if settled(recorded[i], recorded[i + 1]):
            raise ValueError(
                f"{where} {counts[i]} lane(s) at step {int(recorded[i])} and {counts[i + 1]} at step "
                f"{int(recorded[i + 1])}, with no lane added or removed"
            )
