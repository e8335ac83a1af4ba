"""Changes a user makes while a run is live, validated at once and applied at a step boundary."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from muonscope.engine.config import LIVE_RUN_FIELDS, MAX_LANES, ExperimentConfig, LaneConfig, parse_field_path
from muonscope.engine.errors import ConfigError, format_value
from muonscope.engine.task_kinds import TASK_KINDS

__all__ = ["AddLane", "Change", "RemoveLane", "SetField", "apply_change"]


@dataclass(frozen=True, slots=True)
class SetField:
    """Set one field, addressed as ``task.label_noise``, ``run.eval_every`` or ``lanes[1].order``."""

    path: str
    value: Any


@dataclass(frozen=True, slots=True)
class AddLane:
    """Append a lane; it starts from W = 0, or from a copy of lane ``copy_from``'s W."""

    lane: LaneConfig
    copy_from: int | None = None


@dataclass(frozen=True, slots=True)
class RemoveLane:
    """Drop lane ``index`` (the last lane cannot be removed)."""

    index: int


Change = SetField | AddLane | RemoveLane


def apply_change(config: ExperimentConfig, change: Change) -> tuple[ExperimentConfig, str, Any, Any]:
    """The config after ``change`` and (field, old, new) for the event log; raises ConfigError."""
    if isinstance(change, AddLane):
        if len(config.lanes) >= MAX_LANES:
            raise ConfigError("lanes", len(config.lanes) + 1, f"at most {MAX_LANES} lanes")
        if change.copy_from is not None and not 0 <= change.copy_from < len(config.lanes):
            raise ConfigError("copy_from", change.copy_from, _index_text(config))
        lanes = (*config.lanes, change.lane)
        return replace(config, lanes=lanes), "lanes", len(config.lanes), len(lanes)
    if isinstance(change, RemoveLane):
        if not 0 <= change.index < len(config.lanes):
            raise ConfigError("lanes", change.index, _index_text(config))
        if len(config.lanes) == 1:
            raise ConfigError("lanes", change.index, "the last lane cannot be removed")
        lanes = tuple(lane for i, lane in enumerate(config.lanes) if i != change.index)
        return replace(config, lanes=lanes), "lanes", len(config.lanes), len(lanes)
    section, index, name = parse_field_path(change.path)
    if section == "lanes" and not 0 <= index < len(config.lanes):
        raise ConfigError(change.path, change.value, _index_text(config))
    updated = config.with_value(change.path, change.value)  # validates the key and the value
    _check_live(config, section, name, change)
    old = _holder(config, section, index)
    new = _holder(updated, section, index)
    return updated, change.path, getattr(old, name), getattr(new, name)


def _holder(config: ExperimentConfig, section: str, index: int) -> Any:
    return config.lanes[index] if section == "lanes" else getattr(config, section)


def event_text(field: str, old: Any, new: Any) -> str:
    """A short marker label such as ``label noise 0 → 0.2`` or ``lane 2 order pre → post``."""
    if field == "lanes":
        return f"lanes {old} → {new}"
    section, index, name = parse_field_path(field)
    subject = name.replace("_", " ")
    if section == "lanes":
        subject = f"lane {index + 1} {subject}"
    return f"{subject} {_short(old)} → {_short(new)}"


def _short(value: Any) -> str:
    return format_value(value).strip("'")


def _check_live(config: ExperimentConfig, section: str, name: str, change: SetField) -> None:
    kind = TASK_KINDS[config.task.kind]
    if section == "task" and name not in kind.live:
        live = ", ".join(kind.live)
        raise ConfigError(change.path, change.value, f"changes only with a reset (live: {live})")
    if section == "run" and name not in LIVE_RUN_FIELDS:
        raise ConfigError(
            change.path, change.value, "changes only with a reset (live: " + ", ".join(LIVE_RUN_FIELDS) + ")"
        )


def _index_text(config: ExperimentConfig) -> str:
    return f"lane index in [0, {len(config.lanes) - 1}]"
