"""A session's breakpoints, kept naming the lanes they were written for while lanes change.

A breakpoint names a lane by its index and its label ("lane 1 loss < 0.1", "Adam recovered ≥ 60");
a live change, a rewind or a branch switch relabels lanes, and removing a lane moves the ones after
it. This remembers the lanes (ids and labels) the breakpoints were last made to match, and follows
each lane they named to its new index and label.
"""

from __future__ import annotations

from collections.abc import Iterable

from muonscope.engine.breakpoints import (
    Breakpoint,
    follow_moved_lanes,
    follow_relabelled_lanes,
    pinned_to_lanes,
)

__all__ = ["LaneBreakpoints"]


class LaneBreakpoints:
    """Breakpoints with the lanes (ids and labels, by index) that they name."""

    def __init__(self) -> None:
        self.items: list[Breakpoint] = []
        self._labels: tuple[str, ...] = ()  # the lanes' labels the breakpoints name, by index
        self._lane_ids: tuple[int, ...] = ()  # the lanes' ids, by the index the breakpoints use

    def set(
        self, breakpoints: Iterable[Breakpoint], lane_ids: tuple[int, ...], labels: tuple[str, ...]
    ) -> None:
        """Breakpoints written for the lanes as they are ordered (``lane_ids``) and labelled now."""
        self.items = pinned_to_lanes(breakpoints, lane_ids)
        self._labels, self._lane_ids = labels, lane_ids

    def follow(self, lane_ids: tuple[int, ...], labels: tuple[str, ...]) -> bool:
        """Rename the lane in breakpoints that name it by a label it no longer bears, and renumber
        those that name a lane by an index it no longer stands at; True when any text changed."""
        if labels == self._labels and lane_ids == self._lane_ids:
            return False
        texts = [b.text for b in self.items]
        before = list(zip(self._lane_ids, self._labels, strict=False))
        followed = follow_moved_lanes(self.items, before, lane_ids)
        known = dict(before)  # each lane's label before, at the index it stands at now
        aligned = [known.get(lane_id, label) for lane_id, label in zip(lane_ids, labels, strict=True)]
        self.items = follow_relabelled_lanes(followed, aligned, labels)
        self._labels, self._lane_ids = labels, lane_ids
        return [b.text for b in self.items] != texts
