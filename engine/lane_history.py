"""Each lane's settings through a run: which ones drew which part of its curves.

A lane switched from SGD to SignGD at step 89 drew steps 1…89 as SGD and the steps after as SignGD.
Whatever names the lane at a step (a hover read-out, a caption, a table header) must name the
settings of that step, not the settings now. The record is derived from the run's start config and
its changes with their steps — what checkpoints, forks and saved sessions already keep — so it is
the same whether the run was watched live, rewound, forked or opened from disk.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from muonscope.engine.changes import AddLane, Change, RemoveLane, apply_change
from muonscope.engine.config import ExperimentConfig, LaneConfig

__all__ = ["LaneHistory", "lane_histories"]


@dataclass(frozen=True, slots=True)
class LaneHistory:
    """One lane's settings, each with the step boundary from which it held.

    ``steps[0]`` is where the lane began (0, or the boundary it was added at); ``steps[i]`` for i ≥ 1
    is the boundary after which ``settings[i]`` replaced the ones before.
    """

    lane_id: int
    steps: tuple[int, ...]
    settings: tuple[LaneConfig, ...]

    @property
    def label(self) -> str:
        """The lane's label now."""
        return self.settings[-1].display_label()

    def settings_at(self, step: int) -> LaneConfig:
        """The settings that produced the lane's W at ``step``.

        A change at boundary s governs step s + 1 on, so step s itself still belongs to the settings
        before it (its metrics were computed from the W that those settings made).
        """
        index = 0
        for i, boundary in enumerate(self.steps[1:], start=1):
            if boundary < step:
                index = i
        return self.settings[index]

    def label_at(self, step: int) -> str:
        return self.settings_at(step).display_label()

    def labels_at(self, steps: np.ndarray) -> np.ndarray:
        """:meth:`label_at` of many steps at once (object array): long tables label every row."""
        names = np.array([lane.display_label() for lane in self.settings], dtype=object)
        return names[self.settings_indices(steps)]

    def settings_indices(self, steps: np.ndarray) -> np.ndarray:
        """For each of ``steps``, the index in :attr:`settings` of the settings of :meth:`settings_at`."""
        boundaries = np.asarray(self.steps[1:], dtype=np.int64)  # ascending: changes come in step order
        return np.searchsorted(boundaries, np.asarray(steps, dtype=np.int64), side="left")

    @property
    def earlier(self) -> tuple[tuple[str, int], ...]:
        """Every label before the one now, each with the last step it named (the boundary it ended at).

        Settings that changed without changing the label (a setting the label does not show) make
        no entry here: the lane is named the same on both sides.
        """
        named: list[tuple[str, int]] = []
        label = self.settings[0].display_label()
        for boundary, lane in zip(self.steps[1:], self.settings[1:], strict=True):
            if lane.display_label() != label:
                named.append((label, boundary))
                label = lane.display_label()
        return tuple(named)


def lane_histories(start: ExperimentConfig, changes: Iterable[tuple[int, Change]]) -> tuple[LaneHistory, ...]:
    """The history of every lane a run has had (removed ones included), in the order of their ids.

    ``changes`` are the run's (boundary, change) pairs in the order they were applied. Lane ids
    follow the experiment's rule: the start's lanes are 0…L−1, each added lane takes the next number.
    Changes at one boundary are one transition: a switch and the learning rate set with it make
    one new entry, and a change undone at the same boundary makes none.
    """
    config = start
    ids = list(range(len(start.lanes)))
    steps: dict[int, list[int]] = {i: [0] for i in ids}
    settings: dict[int, list[LaneConfig]] = {i: [lane] for i, lane in zip(ids, start.lanes, strict=True)}
    next_id = len(ids)
    pending: list[tuple[int, Change]] = list(changes)
    position = 0
    while position < len(pending):
        boundary = pending[position][0]
        before = {lane_id: settings[lane_id][-1] for lane_id in ids}
        while position < len(pending) and pending[position][0] == boundary:
            change = pending[position][1]
            config = apply_change(config, change).config
            if isinstance(change, AddLane):
                ids.append(next_id)
                steps[next_id], settings[next_id] = [boundary], [config.lanes[-1]]
                next_id += 1
            elif isinstance(change, RemoveLane):
                del ids[change.index]
            position += 1
        _close_boundary(boundary, ids, config.lanes, before, steps, settings)
    return tuple(LaneHistory(i, tuple(steps[i]), tuple(settings[i])) for i in sorted(steps))


def _close_boundary(
    boundary: int,
    ids: Sequence[int],
    lanes: Sequence[LaneConfig],
    before: dict[int, LaneConfig],
    steps: dict[int, list[int]],
    settings: dict[int, list[LaneConfig]],
) -> None:
    """After a boundary's changes: a lane whose settings changed starts a new entry there."""
    for lane_id, lane in zip(ids, lanes, strict=True):
        if lane_id not in before:  # added at this boundary: its one entry holds its settings now
            settings[lane_id][-1] = lane
        elif lane != before[lane_id]:
            steps[lane_id].append(boundary)
            settings[lane_id].append(lane)
