"""How long a slow run's steps, or a slow sweep's points, will take: said before they start.

Worded here, for the command line and the window alike; priced by :mod:`engine.step_cost`. No Qt:
``muonscope run`` says it on a machine without a display.
"""

from __future__ import annotations

from typing import Any

from muonscope.engine.errors import format_value
from muonscope.engine.step_cost import SLOW_MACHINE, measured_speed, point_seconds, slow_step_seconds
from muonscope.widgets.time_text import duration_text

__all__ = ["SLOW_SWEEP_S", "slow_step_note", "slow_sweep_note"]


#: Seconds from which a sweep is said to be slow before its first point.
SLOW_SWEEP_S = 60.0


def slow_step_note(config: Any, device: str, dtype: str, steps: int | None = None) -> str:
    """How long each step of ``config`` will take, where that is long ("" else), with the time of
    ``steps`` steps where given: "each step will take about 3.3 min on this machine (estimated);
    50 steps: about 2.8 h"."""
    seconds = slow_step_seconds(config, device, dtype)
    if seconds is None:
        return ""
    whole = f"; {steps} steps: about {duration_text(seconds * steps)}" if steps and steps > 1 else ""
    return f"each step will take about {duration_text(seconds)} on this machine (estimated){whole}"


def slow_sweep_note(points: list, at_once: int) -> str:
    """How long ``points`` will take to compute on this machine, ``at_once`` at a time, where that
    is SLOW_SWEEP_S or more ("" else): "12 points to compute, the longest at d = 2048: about 3.5 h
    of computing on this machine, shared by 2 workers (estimated)". The computing is the points'
    own, priced one at a time: workers sharing the cores share it, not each run it."""
    if sum(point_seconds(point.config, point.steps, SLOW_MACHINE) for point in points) < SLOW_SWEEP_S:
        return ""  # even on a slow machine the whole sweep is quick: not measured for
    from muonscope.engine.device import resolve_device

    device, dtype = resolve_device(points[0].config.run)
    if device.type != "cpu":
        return ""  # a GPU sweep's speed is its device's, not measured from here
    speed = measured_speed("cpu", str(dtype).removeprefix("torch."))
    each_s = [point_seconds(point.config, point.steps, speed) for point in points]
    seconds = sum(each_s)
    if seconds < SLOW_SWEEP_S:
        return ""
    axis, value = points[each_s.index(max(each_s))].coords[0]
    workers = "1 worker" if at_once == 1 else f"{at_once} workers"
    return (
        f"{len(points)} points to compute, the longest at {axis} = {format_value(value)}: about "
        f"{duration_text(seconds)} of computing on this machine, shared by {workers} (estimated)"
    )
