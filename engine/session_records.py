"""Saved records read back: a session.json's changes, checkpoints, lanes and events, each checked.

Every value is checked for its type and range as it is read, so that a hand-edited or damaged file
is refused with the file and the record named, before anything is built from it.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import torch

from muonscope.engine.changes import AddLane, Change, RemoveLane, SetField
from muonscope.engine.checkpoints import Checkpoint, LaneStateCopy
from muonscope.engine.config import ExperimentConfig, lane_from_dict
from muonscope.engine.session_format import NESTED
from muonscope.engine.snapshot import Event, LaneSnapshot, frozen_array

__all__ = [
    "change_from_record",
    "checkpoint_from_record",
    "record_int",
    "record_list",
    "record_text",
    "saved_dtype",
]


def record_list(value: Any, what: str) -> list:
    """``value``, which a record holds as a list (a hand-edited file may hold anything; ``what``: its
    name in the refusal)."""
    if not isinstance(value, list):
        raise TypeError(f"{what} must be a list, found {type(value).__name__}")
    return value


def record_int(value: Any, what: str) -> int:
    """``value``, which a record holds as a count or a step (``what``: its name in the refusal)."""
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError(f"{what} must be a non-negative integer, found {value!r}")
    return value


def record_text(value: Any, what: str) -> str:
    """``value``, which a record holds as a name (``what``: its name in the refusal): a null one was
    read as the name "None"."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{what} must be a name (text that is not blank), found {value!r}")
    return value


def change_from_record(record: dict[str, Any]) -> tuple[int, Change]:
    step = record_int(record["step"], "change step")
    if "set" in record:
        value = record["value"]
        return step, SetField(str(record["set"]), tuple(value) if isinstance(value, list) else value)
    if "add_lane" in record:
        copy_from = record.get("copy_from")
        return step, AddLane(
            lane_from_dict(record["add_lane"]),
            None if copy_from is None else record_int(copy_from, "copy_from"),
        )
    if "remove_lane" in record:
        return step, RemoveLane(record_int(record["remove_lane"], "lane index"))
    raise ValueError(f"change {record!r} is neither set, add_lane nor remove_lane")


def checkpoint_from_record(
    n: int, record: dict[str, Any], tensors: dict[str, torch.Tensor], dtype: torch.dtype
) -> Checkpoint:
    """Checkpoint ``n`` of a session file, each of its tensors checked against its config (shape,
    dtype, finiteness) so that a hand-edited file is refused by name rather than replayed wrong."""
    prefix = f"c{n}"

    def listed(name: str) -> list:
        return record_list(record[name], f"checkpoint {n}: {name}")

    _check_listed_tensors(n, record, tensors)
    config = ExperimentConfig.from_dict(record["config"])
    weights = _needed(tensors, f"{prefix}.weights")
    lanes_count = len(config.lanes)
    if tuple(weights.shape) != (lanes_count, *config.task.weight_shape):
        raise ValueError(f"checkpoint {n}: weights of shape {tuple(weights.shape)} do not fit its config")
    if not torch.isfinite(weights).all():  # a diverged lane keeps its last finite weights
        raise ValueError(f"checkpoint {n}: weights hold values that are not finite")
    _check_dtype(weights, dtype, f"checkpoint {n}: weights")
    states = [
        _lane_state(n, j, state, tensors, config.task.weight_shape, dtype)
        for j, state in enumerate(listed("lane_states"))
    ]
    if len(states) != lanes_count:
        raise ValueError(f"checkpoint {n}: {len(states)} optimizer states for {lanes_count} lanes")
    if len(listed("lanes")) != lanes_count:
        raise ValueError(f"checkpoint {n}: {len(record['lanes'])} lane snapshots for {lanes_count} lanes")
    for j, (lane, state) in enumerate(zip(config.lanes, states, strict=True)):
        if lane.optimizer == "adam" and (state.buffer is None) != (state.second_moment is None):
            raise ValueError(f"checkpoint {n}: lane {j} (Adam) has a first moment without a second")
    task_state = {name: _needed(tensors, f"{prefix}.task.{name}") for name in listed("task_state")}
    for name, state in task_state.items():
        if name.endswith("_generator"):
            _check_generator_state(state, f"checkpoint {n}: the task's {name}")
    return Checkpoint(
        step=record_int(record["step"], f"checkpoint {n}: step"),
        config=config,
        weights=weights,
        lane_states=tuple(states),
        task_state=task_state,
        lanes=tuple(
            _lane(item, f"{prefix}.snap{j}", tensors, LaneSnapshot) for j, item in enumerate(listed("lanes"))
        ),
        events=tuple(_event(item) for item in listed("events")),
        changes=tuple(change_from_record(item) for item in listed("changes")),
        next_lane_id=record_int(record["next_lane_id"], f"checkpoint {n}: next_lane_id"),
    )


def _needed(tensors: dict[str, torch.Tensor], name: str) -> torch.Tensor:
    """A tensor the checkpoint cannot do without; its absence is the tensor file's, not a record's."""
    if name not in tensors:
        raise ValueError(f"tensors.safetensors lacks {name}, which session.json needs")
    return tensors[name]


def _lane_state(
    n: int,
    j: int,
    state: dict[str, Any],
    tensors: dict[str, torch.Tensor],
    weight_shape: tuple[int, ...],
    dtype: torch.dtype,
) -> LaneStateCopy:
    """Lane ``j``'s optimizer state in checkpoint ``n``: its moments shaped as W, in the run's dtype."""
    parts = {part: tensors.get(f"c{n}.lane{j}.{part}") for part in ("buffer", "second_moment")}
    for part, tensor in parts.items():
        if tensor is not None and tuple(tensor.shape) != weight_shape:
            shape = tuple(tensor.shape)
            raise ValueError(f"checkpoint {n}: lane {j}'s {part} of shape {shape} does not fit")
        if tensor is not None:
            _check_dtype(tensor, dtype, f"checkpoint {n}: lane {j}'s {part}")
    second = parts["second_moment"]
    if second is not None and bool((second < 0).any()):  # a mean of squares: never negative
        raise ValueError(f"checkpoint {n}: lane {j}'s second moment holds negative values")
    steps_taken = record_int(state["steps_taken"], f"checkpoint {n}: lane {j}: steps_taken")
    return LaneStateCopy(parts["buffer"], parts["second_moment"], steps_taken)


def _check_listed_tensors(n: int, record: dict[str, Any], tensors: dict[str, torch.Tensor]) -> None:
    """Every tensor the checkpoint's record lists is in the file (sessions saved before records listed
    them are read as they are): one gone was read as state never taken, a momentum buffer as none."""
    if "tensors" not in record:
        return
    names = [f"c{n}.{name}" for name in record_list(record["tensors"], f"checkpoint {n}: tensors")]
    missing = [name for name in names if name not in tensors]
    if missing:
        more = f" and {len(missing) - 1} more" if len(missing) > 1 else ""
        raise ValueError(f"tensors.safetensors lacks {missing[0]}{more}, which session.json lists")


def saved_dtype(document: dict[str, Any]) -> torch.dtype:
    """The precision the session was computed in (opened elsewhere, the engine's own is used)."""
    dtypes = {"float32": torch.float32, "float64": torch.float64}
    name = document["dtype"]
    if name not in dtypes:
        raise ValueError(f"dtype {name!r} is not one muonscope computes in ({', '.join(dtypes)})")
    return dtypes[name]


def _check_generator_state(state: torch.Tensor, what: str) -> None:
    """A task's stream is replayed from its random generator's state: one cut short or edited made
    a replay to an older step fail with torch's own error, after the session had opened."""
    try:
        torch.Generator().set_state(state)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(f"{what} is not the state of a random generator ({exc})") from None


def _check_dtype(tensor: torch.Tensor, dtype: torch.dtype, what: str) -> None:
    """A run's state is in the one precision it was computed in: float32 weights edited into a
    float64 session were taken in silently, rounded, as if the run had held them."""
    if tensor.dtype != dtype:
        found, wanted = (str(t).removeprefix("torch.") for t in (tensor.dtype, dtype))
        raise ValueError(f"{what} are {found}, but the session was computed in {wanted}")


def _lane(record: dict[str, Any], prefix: str, tensors: dict[str, torch.Tensor], kind: type) -> Any:
    """A snapshot dataclass back from its JSON scalars and its arrays; unknown fields are refused."""
    if not isinstance(record, dict):
        raise TypeError(f"{prefix}: expected a table")
    known = {spec.name: spec for spec in dataclasses.fields(kind)}
    unknown = set(record) - set(known)
    if unknown:
        raise ValueError(f"{prefix}: unknown fields {sorted(unknown)}")
    values: dict[str, Any] = {}
    for name in known:
        key = f"{prefix}.{name}"
        if key in tensors:
            values[name] = frozen_array(tensors[key].numpy())
        elif name in NESTED and name in record:
            values[name] = _lane(record[name], key, tensors, NESTED[name])
        elif name in record:
            values[name] = _scalar(record[name], key)
    return kind(**values)


def _scalar(value: Any, where: str) -> Any:
    if isinstance(value, str) and value in ("nan", "inf", "-inf"):
        return float(value)
    if value is None or isinstance(value, bool | int | float | str):
        return value
    raise TypeError(f"{where}: expected a number, a flag or text, found {type(value).__name__}")


def _event(record: dict[str, Any]) -> Event:
    def value(v: Any) -> Any:
        return tuple(v) if isinstance(v, list) else v

    return Event(
        record_int(record["step"], "event step"),
        str(record["field"]),
        value(record["old"]),
        value(record["new"]),
        str(record["text"]),
    )
