"""How far the settings left the preset, as the caption under its description says it.

A preset's description is true only of the settings it describes: once the user moves away from
them, the window says which ones differ ("The description is of the preset's settings; these differ
now: d 128 → 32, N 2048 → 256").
"""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Sequence

from muonscope.engine.changes import setting_change_text
from muonscope.engine.config import ExperimentConfig, LaneConfig
from muonscope.engine.errors import format_value
from muonscope.engine.task_kinds import TASK_FIELDS, TASK_KINDS

__all__ = ["lane_drift", "lane_drift_by_id", "preset_drift"]


def preset_drift(
    preset: ExperimentConfig, current: ExperimentConfig, lane_ids: Sequence[int] | None = None
) -> list[str]:
    """The settings that differ from the preset's, as ``d 128 → 2048`` (task first, then lanes),
    each task field by the short name its box in the window has (N, α, not "n items", "alpha").

    ``lane_ids``: the current lanes' ids, where the run began with the preset's lanes (ids 0, 1, …
    are its lanes; a lane added since has a new id); without them lanes are matched by position.
    """
    if preset.task.kind != current.task.kind:  # its fields are another task's: the kind says it all
        changes = [f"task {preset.task.kind} → {current.task.kind}"]
    else:
        changes = [  # the seed too: a preset's description quotes what it measured on its own seed
            f"{_short_label(name)} {_text(getattr(preset.task, name))} → {_text(getattr(current.task, name))}"
            for name in (*TASK_KINDS[preset.task.kind].fields, "seed")
            if getattr(preset.task, name) != getattr(current.task, name)
        ]
    if preset.run.dtype != current.run.dtype:  # the precision its numbers were measured in
        changes.append(f"dtype {preset.run.dtype} → {current.run.dtype}")
    # the lanes, whatever the task: after "task zipf → spiked" three lanes replaced went unsaid
    if lane_ids is not None and len(lane_ids) == len(current.lanes):
        return changes + lane_drift_by_id(preset.lanes, current.lanes, lane_ids)
    return changes + lane_drift(preset.lanes, current.lanes)


def lane_drift_by_id(
    preset: Sequence[LaneConfig], current: Sequence[LaneConfig], lane_ids: Sequence[int]
) -> list[str]:
    """Which lanes differ from the preset's, each current lane known by its id: a lane added and
    another removed left as many lanes as before, and by position lanes 1 and 2 read as changed."""
    drift = []
    for index, (lane_id, lane) in enumerate(zip(lane_ids, current, strict=True)):
        if lane_id >= len(preset):
            drift.append(f"lane {index} added ({lane.display_label()})")
        elif preset[lane_id] != lane:
            drift.append(_lane_change(index, preset[lane_id], lane))
    drift += [f"{lane.display_label()} removed" for i, lane in enumerate(preset) if i not in lane_ids]
    return drift


def lane_drift(preset: Sequence[LaneConfig], current: Sequence[LaneConfig]) -> list[str]:
    """Which lanes differ from the preset's, matched by position: "lane 0 lr 128 → 0.05", "lane 4
    added (…)", "Adam … removed".

    Where the counts differ the lanes are matched in order where they agree, so that a lane added
    or removed does not hide the others' changes (after "+ add lane" the caption said only "lanes
    4 → 5") nor make every later lane read as changed. A removed lane is named by its label: its
    number now belongs to another lane.
    """
    if len(preset) == len(current):  # none added or removed: lane by lane (a lane switched to the
        # settings of the one after it matched that one, and read as one removed and one added)
        pairs = enumerate(zip(preset, current, strict=True))
        return [_lane_change(i, before, now) for i, (before, now) in pairs if before != now]
    drift = []
    matcher = difflib.SequenceMatcher(a=list(preset), b=list(current), autojunk=False)
    for tag, old_start, old_end, new_start, new_end in matcher.get_opcodes():
        if tag == "equal":
            continue
        changed = min(old_end - old_start, new_end - new_start) if tag == "replace" else 0
        pairs = zip(
            preset[old_start : old_start + changed], current[new_start : new_start + changed], strict=True
        )
        drift += [_lane_change(new_start + i, before, now) for i, (before, now) in enumerate(pairs)]
        drift += [
            f"lane {i} added ({current[i].display_label()})" for i in range(new_start + changed, new_end)
        ]
        drift += [f"{lane.display_label()} removed" for lane in preset[old_start + changed : old_end]]
    return drift


#: A lane that differs in more settings than this is said to differ in its "settings".
_FIELDS_NAMED = 2


def _lane_change(index: int, before: LaneConfig, now: LaneConfig) -> str:
    """ "lane 0 lr 128 → 0.05" where one or two settings differ ("lane 1 optimizer Adam → Muon, lr
    0.01 → 0.1"), else the lane before and now ("lane 0 SGD μ=0.9 sum lr=128 → Muon pre μ=0.95 ema
    exact lr=0.05": "lane 0 settings" left the reader to find out which). A name that went with a
    setting is not a setting of its own."""
    names = [
        field.name
        for field in dataclasses.fields(LaneConfig)
        if field.name != "label" and getattr(before, field.name) != getattr(now, field.name)
    ]
    if not names:
        return f"lane {index} named “{now.display_label()}”"
    if len(names) > _FIELDS_NAMED:
        return f"lane {index} {before.display_label()} → {now.display_label()}"
    optimizer = now.optimizer if now.optimizer == before.optimizer else None  # whose β₁ or μ
    changed = ", ".join(
        setting_change_text(name, getattr(before, name), getattr(now, name), optimizer) for name in names
    )
    return f"lane {index} {changed}"


def _short_label(name: str) -> str:
    """A task field's name as its box labels it, without the explanation: "N", "α", "batch B"."""
    return TASK_FIELDS[name].label.split(" (")[0]


def _text(value) -> str:
    return format_value(value).strip("'")
