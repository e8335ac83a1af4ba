"""What the engine loop says in words when it pauses a run, takes a change it cannot act on, or is
refused: plain functions of what happened, kept apart from the loop that decides when to say them."""

from __future__ import annotations

from collections.abc import Sequence

from muonscope.engine.changes import Change
from muonscope.engine.divergence import diverged_text, frozen_lane_note
from muonscope.engine.snapshot import LaneSnapshot

__all__ = ["diverged_pause_text", "frozen_lane_change_note", "run_length_pause_text", "sentence"]


def diverged_pause_text(step: int, diverged: Sequence[LaneSnapshot]) -> str:
    """The alert of a run paused because lanes diverged at ``step``: which, and what went non-finite."""
    whose = "Its" if len(diverged) == 1 else "Their"
    return (
        f"Paused at step {step}: {diverged_text(diverged)}. "
        f"{whose} last finite weights are kept; the other lanes can continue."
    )


def run_length_pause_text(step: int) -> str:
    return f"Reached the run's {step} step{'' if step == 1 else 's'} and paused; press play to go on."


def frozen_lane_change_note(lanes: Sequence[LaneSnapshot], change: Change) -> str:
    """That a change to a diverged lane leaves it frozen, and how to fork before it diverged ("" for
    any other change): the window took a new lr for a frozen lane without a word."""
    path = getattr(change, "path", "")
    lane = next((lane for lane in lanes if lane.diverged and path.startswith(f"lanes[{lane.index}].")), None)
    if lane is None:
        return ""
    note = frozen_lane_note(lane, [path.split(".", 1)[1]])
    before = lane.diverged_step - 1
    fork = f"to try it before the lane diverged, go to step {before} and change it there (a fork)"
    return f"{note[0].upper()}{note[1:]}; {fork}."


def sentence(exc: Exception) -> str:
    """The exception's message ending in one full stop (torch's end in one already: "values..")."""
    return str(exc).rstrip(". ") + "."
