"""Changes a user makes while a run is live, validated at once and applied at a step boundary.

One change may carry another with it: a lane switched to another optimizer takes that optimizer's
default learning rate (see :func:`switch_optimizer`). Both are one change, one event at one step,
and :attr:`Applied.note` says what came with it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

from muonscope.engine.config import (
    LIVE_RUN_FIELDS,
    MAX_LANES,
    ExperimentConfig,
    LaneConfig,
    lanes_text,
)
from muonscope.engine.errors import ConfigError, format_value
from muonscope.engine.field_paths import parse_field_path
from muonscope.engine.optim.registry import OPTIMIZERS
from muonscope.engine.task_kinds import TASK_KINDS

__all__ = [
    "AddLane",
    "Applied",
    "Change",
    "RemoveLane",
    "SetField",
    "apply_change",
    "change_note",
    "change_notes",
    "change_text",
    "dated_change_text",
    "fold_changes",
    "setting_change_text",
    "switch_optimizer",
    "switches_first",
    "told_changes",
    "unnamed_where_set",
]

#: Lane fields whose change makes the old optimizer state meaningless: carrying one out clears it.
STATE_RESETTING_FIELDS = ("optimizer", "order", "buffer")


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


def change_text(change: Change) -> str:
    """One change as a user would write it: ``lanes[0].lr = 0.1``, ``add lane …``, ``remove lane 2``."""
    if isinstance(change, SetField):
        return f"{change.path} = {format_value(change.value)}"
    if isinstance(change, AddLane):
        source = "" if change.copy_from is None else f" (W copied from lane {change.copy_from})"
        return f"add lane {change.lane.display_label()}{source}"
    return f"remove lane {change.index}"


def dated_change_text(step: int, change: Change) -> str:
    """``at step 10: lanes[0].lr = 0.1``: a change as a session records it, with its step."""
    return f"at step {step}: {change_text(change)}"


def told_changes(start: ExperimentConfig, changes: Iterable[tuple[int, Change]]) -> tuple[str, ...]:
    """A line of changes made from ``start``, each with its step as its marker says it: ``at step
    20: lane 1 optimizer Adam → SignGD, lr 0.1 → 0.01``. Replayed from the start, what a change
    carried with it is said too; the change as typed (``lanes[1].optimizer = 'signgd'``) left the
    new learning rate unsaid."""
    config, told = start, []
    for step, change in changes:
        applied = apply_change(config, change)
        config = applied.config
        told.append(f"at step {step}: {applied.text}")
    return tuple(told)


@dataclass(frozen=True, slots=True)
class Applied:
    """A change carried out on a config: the config after it and what it did, for the event log.

    ``text`` labels the change's marker (``label noise 0 → 0.2``); ``note`` is a sentence for the
    user when the change did more than it names ("" otherwise).
    """

    config: ExperimentConfig
    field: str
    old: Any
    new: Any
    text: str
    note: str = ""


def apply_change(config: ExperimentConfig, change: Change) -> Applied:
    """The config after ``change`` and what it did; raises ConfigError for a change not allowed."""
    if isinstance(change, AddLane):
        if len(config.lanes) >= MAX_LANES:
            raise ConfigError("lanes", len(config.lanes) + 1, f"at most {MAX_LANES} lanes")
        if change.copy_from is not None and not 0 <= change.copy_from < len(config.lanes):
            raise ConfigError("copy_from", change.copy_from, _index_text(config))
        lanes = (*config.lanes, change.lane)
        text = f"lane {len(config.lanes)} added"
        return Applied(replace(config, lanes=lanes), "lanes", len(config.lanes), len(lanes), text)
    if isinstance(change, RemoveLane):
        if not 0 <= change.index < len(config.lanes):
            raise ConfigError("lane removed", change.index, _index_text(config))
        if len(config.lanes) == 1:  # the list as it would be ("lanes = 0" read as a lane's index)
            raise ConfigError("lanes", [], "the last lane cannot be removed: a run has at least one lane")
        lanes = tuple(lane for i, lane in enumerate(config.lanes) if i != change.index)
        return Applied(
            replace(config, lanes=lanes),
            "lanes",
            len(config.lanes),
            len(lanes),
            _removed_text(config, change.index),
        )
    section, index, name = parse_field_path(change.path)
    if section == "lanes" and not 0 <= index < len(config.lanes):
        raise ConfigError(change.path, change.value, _index_text(config))
    updated = config.with_value(change.path, change.value)  # validates the key and the value
    _check_live(config, section, name, change)
    if section == "lanes" and name == "optimizer":
        return _switched(config, updated, index)
    old = _holder(config, section, index)
    new = _holder(updated, section, index)
    if section == "lanes" and _loses_its_name(old, new, name):
        return _renamed(updated, change.path, getattr(old, name), getattr(new, name), old.label)
    optimizer = old.optimizer if section == "lanes" else None
    return _applied(updated, change.path, getattr(old, name), getattr(new, name), optimizer)


def unnamed_where_set(
    before: ExperimentConfig, after: ExperimentConfig, paths: list[str]
) -> ExperimentConfig:
    """``after`` (``before`` with the fields at ``paths`` set) without the names of its own of the
    lanes whose settings those changed, unless their label was set too (see :func:`_renamed`)."""
    keys = [parse_field_path(path) for path in paths]
    lane_fields = [(index, name) for section, index, name in keys if section == "lanes"]
    named = {index for index, name in lane_fields if name == "label"}
    unnamed = {
        index
        for index, name in lane_fields
        if index not in named and _loses_its_name(before.lanes[index], after.lanes[index], name)
    }
    return after.with_values([(f"lanes[{index}].label", "") for index in sorted(unnamed)])


def _loses_its_name(old: LaneConfig, new: LaneConfig, name: str) -> bool:
    return name != "label" and bool(old.label) and getattr(old, name) != getattr(new, name)


def _renamed(config: ExperimentConfig, field: str, old: Any, new: Any, label: str) -> Applied:
    """A lane setting changed on a lane with a name of its own: the name goes, for one built from
    the settings. A preset's names say what they run ("Muon pre μ = 0.5 · ema", "GD η = 1.9/p₁"):
    kept, the lane at μ = 0.9 was still called μ = 0.5 in the key, the caption and the report."""
    _section, index, _name = parse_field_path(field)
    optimizer = config.lanes[index].optimizer
    config = config.with_value(f"lanes[{index}].label", "")
    text = event_text(field, old, new, optimizer)  # "lane 1 momentum 0.5 → 0.9"
    note = f"lane {index}: its name “{label}” went with {text.removeprefix(f'lane {index} ')}"
    return Applied(config, field, old, new, text, note)


def fold_changes(base: ExperimentConfig, last: Change, change: Change) -> Applied | None:
    """``last`` and then ``change``, both made on ``base`` at one step boundary, as one change: the
    second, from ``base``; None where the two do not fold into one.

    Ten clicks on a learning rate's arrow at one step made ten markers there, each covering the
    next, and a caption of "lr 20 → 21, lr 21 → 22 and 3 more changes"; folded, one marker says
    "lr 20 → 25", and a value set back to where it was says nothing. Only two settings of one field
    fold, and only where carrying out the second from ``base`` leaves the run as carrying out both
    did: a switch of optimizer, order or buffer cleared the lane's state, which no later change at
    the step gives back, and a task field set back still told the task's stream once (its cached
    noiseless gradient went), which a run without the change would not.
    """
    if not (isinstance(last, SetField) and isinstance(change, SetField) and last.path == change.path):
        return None
    section, _index, name = parse_field_path(change.path)
    if section == "lanes" and name in STATE_RESETTING_FIELDS:
        return None
    folded = apply_change(base, change)
    if section == "task" and folded.config == base:
        return None
    return folded


def change_note(config: ExperimentConfig, change: Change) -> str:
    """What ``change`` would do to ``config`` beyond what it names, as a sentence ("" if nothing)."""
    return apply_change(config, change).note


def switch_optimizer(lane: LaneConfig, optimizer: str) -> LaneConfig:
    """``lane`` on ``optimizer``, with that optimizer's default learning rate and buffer convention.

    A learning rate means something different to each optimizer: SGD's scales the gradient, whose
    size depends on the task (128 on the default memory), while SignGD's, NGD's and Muon's is the
    length of the step itself. Carried over, the old rate is usually absurd (SignGD at lr = 128
    jumps by 128 per entry), so the lane takes the registry's default for its new optimizer and
    the user is told, and can set another. The rate is calibrated for the optimizer's own buffer
    convention (SGD's ``sum``, as torch keeps it), so the convention follows; μ and order stay.
    A lane's name goes with its optimizer: a preset's names say what they run ("GD η = 1.9/p₁"),
    and kept after a switch to Adam it named the Adam lane GD; the lane is then named by its settings.
    """
    if optimizer == lane.optimizer:
        return lane
    spec = OPTIMIZERS[optimizer]
    return replace(lane, optimizer=optimizer, lr=spec.default_lr, buffer=spec.default_buffer, label="")


def switches_first(changes: list[Change]) -> list[Change]:
    """A batch of changes with the optimizer switches first (otherwise in order).

    A switch sets its lane's learning rate; an ``lr`` given in the same batch must come after it
    to hold, whichever order the user wrote them in.
    """
    return sorted(changes, key=lambda change: not _is_switch(change))


def _is_switch(change: Change) -> bool:
    if not isinstance(change, SetField):
        return False
    section, _index, name = parse_field_path(change.path)
    return section == "lanes" and name == "optimizer"


def _switched(config: ExperimentConfig, updated: ExperimentConfig, index: int) -> Applied:
    """An optimizer switch: the new optimizer and its default learning rate, as one change."""
    old, new = config.lanes[index], switch_optimizer(config.lanes[index], updated.lanes[index].optimizer)
    path = f"lanes[{index}].optimizer"
    updated = updated.with_values(
        [(f"lanes[{index}].{name}", getattr(new, name)) for name in ("lr", "buffer", "label")]
    )
    if new.optimizer == old.optimizer:
        return _applied(updated, path, old.optimizer, new.optimizer)
    text = ", ".join([event_text(path, old.optimizer, new.optimizer), *_defaults_taken(old, new)])
    return Applied(updated, path, old.optimizer, new.optimizer, text, _switch_note(old, new, index))


def _defaults_taken(old: LaneConfig, new: LaneConfig, named: frozenset[str] = frozenset()) -> list[str]:
    """The learning rate and buffer convention a switch from ``old`` to ``new`` set, but those in
    ``named`` (given by the user alongside the switch)."""
    taken = []
    if "lr" not in named:
        taken.append(
            f"lr {_short(old.lr)} → {_short(new.lr)}" if new.lr != old.lr else f"lr {_short(new.lr)}"
        )
    if "buffer" not in named and new.buffer != old.buffer and OPTIMIZERS[new.optimizer].keeps_buffer(new):
        taken.append(f"buffer {old.buffer} → {new.buffer}")
    return taken


def _switch_note(old: LaneConfig, new: LaneConfig, index: int, named: frozenset[str] = frozenset()) -> str:
    """What a switch from ``old`` to ``new`` set that the user did not name (``named``: the lane's
    fields given alongside it, which hold instead of the new optimizer's defaults); "" if nothing."""
    title, old_title = OPTIMIZERS[new.optimizer].title, OPTIMIZERS[old.optimizer].title
    parts = []
    defaults = _defaults_taken(old, new, named)
    if defaults:
        parts.append(f", {', '.join(defaults)} ({title}'s default{'s' if len(defaults) > 1 else ''})")
    if old.label and "label" not in named:
        parts.append(f"; its name “{old.label}” went with {old_title}")
    return f"lane {index}: {old_title} → {title}" + "".join(parts) if parts else ""


def change_notes(config: ExperimentConfig, changes: list[Change]) -> list[str]:
    """What a batch of changes, applied in order to ``config``, did beyond what it names.

    A switch's note leaves out what the batch sets itself: ``optimizer=signgd`` with ``lr=0.3``
    keeps lr 0.3, and saying "lr 128 → 0.01 (SignGD's default)" would be false.
    """
    notes = []
    for n, change in enumerate(changes):
        applied = apply_change(config, change)
        if applied.note and _is_switch(change):
            index = parse_field_path(change.path)[1]
            named = frozenset(
                parse_field_path(later.path)[2]
                for later in changes[n + 1 :]
                if isinstance(later, SetField) and parse_field_path(later.path)[:2] == ("lanes", index)
            )
            note = _switch_note(config.lanes[index], applied.config.lanes[index], index, named)
        else:
            note = applied.note
        if note:
            notes.append(note)
        config = applied.config
    return notes


def _applied(
    config: ExperimentConfig, field: str, old: Any, new: Any, optimizer: str | None = None
) -> Applied:
    return Applied(config, field, old, new, event_text(field, old, new, optimizer))


def _removed_text(config: ExperimentConfig, index: int) -> str:
    """Which lane went, by its number and its label ("lanes 5 → 4" said neither), and that the lanes
    after it moved up: the markers of earlier changes name lanes by their numbers then."""
    text = f"lane {index} removed ({config.lanes[index].display_label()})"
    return text if index == len(config.lanes) - 1 else f"{text}; lanes after it renumbered"


def _holder(config: ExperimentConfig, section: str, index: int) -> Any:
    return config.lanes[index] if section == "lanes" else getattr(config, section)


def event_text(field: str, old: Any, new: Any, optimizer: str | None = None) -> str:
    """A short marker label such as ``label noise 0 → 0.2`` or ``lane 2 order pre → post``
    (``optimizer``: the lane's, for a lane's field)."""
    section, index, name = parse_field_path(field)
    text = setting_change_text(name, old, new, optimizer)
    return f"lane {index} {text}" if section == "lanes" else text


def setting_change_text(name: str, old: Any, new: Any, optimizer: str | None = None) -> str:
    """One setting's change as the markers, the caption and the preset's drift line say it: ``lr 0.1
    → 0.01``; an optimizer by the title the lane key gives it (``optimizer SGD → SignGD``); the
    momentum of a lane whose ``optimizer`` calls it otherwise by that name, as its box is labelled
    (Adam's ``β₁ 0.9 → 0.5``: "momentum" there was a setting Adam has none of)."""
    subject = name.replace("_", " ")
    if name == "optimizer":
        old, new = (OPTIMIZERS[value].title if value in OPTIMIZERS else value for value in (old, new))
    elif name == "momentum" and optimizer in OPTIMIZERS and OPTIMIZERS[optimizer].momentum_symbol != "μ":
        subject = OPTIMIZERS[optimizer].momentum_symbol
    return f"{subject} {_short(old)} → {_short(new)}"


def _short(value: Any) -> str:
    return format_value(value).strip("'")


def _check_live(config: ExperimentConfig, section: str, name: str, change: SetField) -> None:
    """Refuse a change of a field that changes only with a reset, saying what it is in the run (a
    resumed float32 session refused run.dtype = 'float32' without saying it was 'auto')."""
    kind = TASK_KINDS[config.task.kind]
    live = kind.live if section == "task" else LIVE_RUN_FIELDS if section == "run" else None
    if live is not None and name not in live:
        now = getattr(config.task if section == "task" else config.run, name)
        reason = f"changes only with a reset; it is {now!r} in this run (live: {', '.join(live)})"
        raise ConfigError(change.path, change.value, reason)


def _index_text(config: ExperimentConfig) -> str:
    return f"must be a lane index: {lanes_text(len(config.lanes))}"
