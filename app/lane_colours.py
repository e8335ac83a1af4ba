"""Which palette colour each lane wears: one per lane, kept while the lane lives.

Colours went by position, so removing lane 1 handed lane 2 the colour lane 1 had worn, and every
later lane moved up a colour in every panel at once. A lane here keeps the palette slot it was
given; a new lane takes its own number's slot where that is free (a fresh run's lanes 0, 1, 2 …
wear the palette in order), else the first free one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from muonscope.widgets.theme import LANE_COLOURS

__all__ = ["lane_slots"]


def lane_slots(lane_ids: Sequence[int], before: Mapping[int, int]) -> dict[int, int]:
    """The palette slot of each lane id: ``before``'s for the lanes that had one, a free one for
    the others (past eight lanes, slots repeat)."""
    slots = {lane_id: before[lane_id] for lane_id in lane_ids if lane_id in before}
    for lane_id in lane_ids:
        if lane_id in slots:
            continue
        taken = set(slots.values())
        free = [slot for slot in range(len(LANE_COLOURS)) if slot not in taken]
        wanted = lane_id % len(LANE_COLOURS)
        slots[lane_id] = wanted if wanted in free or not free else free[0]
    return slots
