"""Panel ③'s heat map history: each lane's mean error per frequency bucket at every evaluated step.

The engine keeps no group errors in a session, so the window gathers them from the snapshots it is
sent, and keeps, through a rewind or a fork, the columns of the steps the jump left alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from muonscope.engine.history import MetricHistory
from muonscope.engine.snapshot import Snapshot, group_means

__all__ = ["BucketHistory", "blank_where_missing"]


@dataclass
class BucketHistory:
    """Mean per-class error in each frequency bucket at every evaluated step, per lane id (bounded)."""

    capacity: int = 1500
    steps: dict[int, list[int]] = field(default_factory=dict)
    values: dict[int, list[np.ndarray]] = field(default_factory=dict)
    losses: dict[int, list[np.ndarray]] = field(default_factory=dict)
    #: per lane id, how many times every other column was let go to stay within ``capacity``
    halvings: dict[int, int] = field(default_factory=dict)

    def clear(self) -> None:
        self.steps.clear()
        self.values.clear()
        self.losses.clear()
        self.halvings.clear()

    def evaluations_per_column(self, lane_id: int) -> int:
        """How many evaluations each kept column stands for: 1, doubled at each halving."""
        return 2 ** self.halvings.get(lane_id, 0)

    def add(self, snapshot: Snapshot) -> None:
        starts = snapshot.group_starts
        for lane in snapshot.lanes:
            if lane.eval_step != snapshot.step or lane.class_error.size == 0 or starts.size == 0:
                continue
            steps = self.steps.setdefault(lane.lane_id, [])
            values = self.values.setdefault(lane.lane_id, [])
            losses = self.losses.setdefault(lane.lane_id, [])
            if steps and steps[-1] >= snapshot.step:
                continue
            steps.append(snapshot.step)
            # the engine's group means (estimates when it sampled); a session saved before it reported
            # them has the per-class errors of every item to average
            reported = lane.group_error.size > 0
            values.append(np.asarray(lane.group_error) if reported else group_means(lane.class_error, starts))
            losses.append(np.asarray(lane.group_loss, dtype=float))
            if len(steps) > self.capacity:
                del steps[1::2], values[1::2], losses[1::2]
                self.halvings[lane.lane_id] = self.halvings.get(lane.lane_id, 0) + 1

    def keep_where_unchanged(self, before: MetricHistory, after: MetricHistory) -> None:
        """After a jump, keep the columns of the steps whose record the jump left alone: where each
        lane's population loss is on record, and equal, in the history before and after it.

        A rewind keeps them all, a fork those up to its step, an open of another run none; ③'s heat
        map went blank at every rewind while ② kept its curves (the engine keeps no group errors).
        """
        for lane_id in list(self.steps):
            alike = _alike_loss_steps(before, after, lane_id)
            kept = [i for i, step in enumerate(self.steps[lane_id]) if step in alike]
            self.steps[lane_id] = [self.steps[lane_id][i] for i in kept]
            self.values[lane_id] = [self.values[lane_id][i] for i in kept]
            self.losses[lane_id] = [self.losses[lane_id][i] for i in kept]

    def table(self, lane_id: int, quantity: str = "error") -> tuple[np.ndarray, np.ndarray]:
        """(steps, values (T, groups)) of one lane: bucket-mean error or group loss."""
        steps = self.steps.get(lane_id, [])
        if not steps:
            return np.zeros(0), np.zeros((0, 0))
        rows = self.values[lane_id] if quantity == "error" else self.losses[lane_id]
        return np.array(steps, dtype=float), np.vstack(rows)


def blank_where_missing(
    steps: np.ndarray, values: np.ndarray, evaluated: np.ndarray, per_column: int
) -> tuple[np.ndarray, np.ndarray]:
    """The columns (steps (T,), values (T, buckets)) with blank (NaN) columns where evaluations on
    record have none: at the first and last such step between two columns, so that each column's
    cell stays by its own step. A gap of fewer than ``per_column`` evaluations is the thinning's
    (every other column let go) and stays filled.

    A session's branch switched to main kept the fork's column at step 2300 beside main's at 5000:
    drawn centred on its step, that column spread from 950 to 3650 over steps with no group errors.
    """
    evaluated = np.asarray(evaluated, dtype=float)  # (E,) increasing
    if steps.size < 2 or evaluated.size == 0:
        return steps, values
    first = np.searchsorted(evaluated, steps[:-1], side="right")  # (T − 1,) first missing after each
    end = np.searchsorted(evaluated, steps[1:], side="left")  # (T − 1,) past the last before the next
    gaps = np.flatnonzero(end - first >= per_column)  # pairs with more missing than the thinning's
    if gaps.size == 0:
        return steps, values
    blanks = np.unique(np.concatenate([evaluated[first[gaps]], evaluated[end[gaps] - 1]]))  # (G,)
    order = np.argsort(np.concatenate([steps, blanks]), kind="stable")
    rows = np.vstack([values, np.full((blanks.size, values.shape[1]), np.nan)])
    return np.concatenate([steps, blanks])[order], rows[order]


def _alike_loss_steps(before: MetricHistory, after: MetricHistory, lane_id: int) -> set[int]:
    """The steps at which a lane's population loss is on record, and equal, in both histories."""
    steps_before, loss_before = before.columns(("step", "loss"), lane_id)
    steps_after, loss_after = after.columns(("step", "loss"), lane_id)
    common, i, j = np.intersect1d(steps_before, steps_after, return_indices=True)
    alike = np.isfinite(loss_before[i]) & (loss_before[i] == loss_after[j])
    return {int(step) for step in common[alike]}
