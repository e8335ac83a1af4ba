"""Where a run starts, for ``run``, ``shot`` and ``record`` alike: its arguments checked, and its
session opened — a fresh one from its config, or a saved one (``--resume``), gone back to step K
(``--rewind``) and changed there (``--set``, ``--lane``: behind the branch's newest step, a fork) —
with the step it runs to.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

from muonscope.app.config_args import (
    STEPS_GIVEN_TWICE,
    branch_of,
    build_config,
    lane_fields_named,
    overrides,
    parse_lane_fields,
    refuse_fields_without_effect,
    refuse_task_fields_without_effect,
)
from muonscope.app.path_words import path_text
from muonscope.app.progress import busy
from muonscope.engine.errors import ConfigError

__all__ = ["check_run_arguments", "open_run_session"]


def check_run_arguments(args: argparse.Namespace) -> Any:
    """The config of a fresh run (None when resuming); options that cannot go together are refused.

    Reads --preset/--config, --set, --lane, --steps, --resume and --rewind; nothing is built yet.
    """
    if args.resume is None:
        if args.rewind is not None:
            raise ConfigError("--rewind", args.rewind, "applies only with --resume PATH")
        if args.branch is not None:
            raise ConfigError("--branch", args.branch, "applies only with --resume PATH")
        _, config = build_config(args, machine_checked=True)
        return config
    for option, value in (("--preset", args.preset), ("--config", args.config)):
        if value is not None:
            raise ConfigError(option, str(value), "cannot go with --resume: the session holds its settings")
    if args.rewind is not None and args.rewind < 0:
        raise ConfigError("--rewind", args.rewind, "must be a step ≥ 0")
    if args.steps is not None and args.steps < 0:
        raise ConfigError("--steps", args.steps, "must be the run's length, at least the session's step")
    overrides(args.set)  # syntax only; whether each applies live is checked on the session
    for i, spec in enumerate(args.lane):
        _resumed_lane_fields(spec, f"--lane[{i}]")
    return None


def _resumed_lane_fields(spec: str, where: str) -> dict[str, Any]:
    """A resumed run's --lane: the fields it names ('' names none: the lane stays as it is)."""
    return parse_lane_fields(spec, where) if spec.strip() else {}


def open_run_session(
    args: argparse.Namespace,
    config: Any,
    frame_every: int = 0,
    before_changes: Callable[[Any], None] = lambda _session: None,
) -> tuple[Any, int]:
    """The session a run continues (``config``'s fresh one, or the saved one of --resume, rewound and
    changed) and the step it runs to: at least ``frame_every`` steps past the session's step, when
    the run must take one (a recording's first frame). ``before_changes`` sees the session where it
    resumes, before --set and --lane change it."""
    from muonscope.engine.session import Session
    from muonscope.engine.session_file import open_session

    if args.resume is not None:
        from muonscope.app.session_summary import say_opened_notes

        with busy(not args.no_progress, f"opening {path_text(args.resume)}"):
            session = open_session(args.resume)
        say_opened_notes(session, args.resume, f"muonscope {args.command}")
    else:
        from muonscope.app.config_args import named_preset

        session = Session(config)
        session.view = dict(named_preset(args).view)  # a config's [view] goes with the session saved
    target = _prepare(session, args, frame_every, before_changes)
    _say_slow_steps(session, target, f"muonscope {args.command}")
    return session, target


def _say_slow_steps(session: Any, target: int, prog: str) -> None:
    """Say, before the first step, how long the steps will take where they take long: at d = 8192
    the first word came after the first step, half an hour in."""
    from muonscope.app.slow_notes import slow_step_note

    if target <= session.step:
        return
    start = session.snapshot()
    note = slow_step_note(session.config, start.device, start.dtype, target - session.step)
    if note:
        sys.stderr.write(f"{prog}: note: {note}\n")


def _prepare(
    session: Any, args: argparse.Namespace, frame_every: int, before_changes: Callable[[Any], None]
) -> int:
    """Rewind, apply the changes, and say how far to run (``--steps`` in total)."""
    if args.resume is None:
        before_changes(session)
        return session.config.run.steps
    rewound_on = _rewind(session, args)
    before_changes(session)
    changes, notes, target = _checked_changes(session, args, frame_every)
    for change in changes:
        session.apply(change)
    prog = f"muonscope {args.command}"
    for note in notes:
        sys.stderr.write(f"{prog}: {note}\n")
    session.commit()
    session.experiment.set_run_length(target)
    if args.rewind is not None:
        branch = session.branch
        parent = session.branches[branch.parent].name if branch.parent is not None else branch.name
        note = _rewind_note(args.rewind, rewound_on, branch.name, bool(changes), parent)
        sys.stderr.write(f"{prog}: {note}\n")
    return target


def _rewind(session: Any, args: argparse.Namespace) -> str:
    """Switch to ``--branch`` and go back to ``--rewind``; the name of the branch rewound on."""
    if args.branch is not None:
        session.switch(branch_of(session, args.branch))
    head = session.branch.head_step
    if args.rewind is not None:
        if args.rewind > head:
            raise ConfigError("--rewind", args.rewind, f"must be a step of the session, 0 to {head}")
        with busy(not args.no_progress, f"going back to step {args.rewind}"):  # a replay from a checkpoint
            session.go_to(args.rewind)
    return session.branch.name


def _checked_changes(session: Any, args: argparse.Namespace, frame_every: int) -> tuple[list, list[str], int]:
    """The resumed run's changes, their notes and its last step, every one checked before any is made."""
    from muonscope.engine.changes import apply_change, change_notes

    sets = overrides(args.set)
    length = [value for key, value in sets if key == "run.steps"]  # the run's length, as --steps is
    if args.steps is not None and length:
        raise ConfigError("--steps", args.steps, STEPS_GIVEN_TWICE)
    changes = _resume_changes(session.config, args)
    notes = change_notes(session.experiment.queued_config, changes)  # refuses a change not allowed
    changed = session.experiment.queued_config
    for change in changes:
        changed = apply_change(changed, change).config
    target = _target_step(session, args, length, frame_every)
    lane_specs = [_resumed_lane_fields(spec, f"--lane[{i}]") for i, spec in enumerate(args.lane)]
    refuse_fields_without_effect(changed, lane_fields_named(lane_specs, sets))
    refuse_task_fields_without_effect(changed.task, sets)
    return changes, [*notes, *_frozen_lane_notes(session.snapshot(), changes)], target


def _frozen_lane_notes(snapshot: Any, changes: list) -> list[str]:
    """A note per diverged lane that a change sets a field of: it stays frozen, and only its name
    follows (its row read "lr=0.001 … DIVERGED at step 1", where it diverged under lr=0.01)."""
    from muonscope.engine.divergence import frozen_lane_note

    notes = []
    for lane in snapshot.lanes:
        prefix = f"lanes[{lane.index}]."
        fields = [
            change.path.removeprefix(prefix)
            for change in changes
            if getattr(change, "path", "").startswith(prefix)
        ]
        if lane.diverged and fields:
            them = "it" if len(fields) == 1 else "them"
            before = lane.diverged_step - 1
            fork = f"--rewind {before} with the same change tries {them} before the lane diverged"
            notes.append(f"note: {frozen_lane_note(lane, fields)} ({fork})")
    return notes


def _target_step(session: Any, args: argparse.Namespace, length: list, frame_every: int) -> int:
    """The step the resumed run ends at: ``--steps``, a ``run.steps`` set, or the session's own length;
    ``shot``'s, without them, where the session stands (or --rewind K): a picture of a session that
    stopped short of its length (Ctrl-C, --until) ran on to that length first, for minutes."""
    if length:  # checked as any run.steps is (not a change made at the step: --steps makes none)
        target = session.config.with_value("run.steps", length[0]).run.steps
    elif args.steps is None and args.command == "shot":
        target = session.step
    elif args.steps is None:  # the session's own length, or as far as its branch was stepped past it
        target = max(session.config.run.steps, session.step)
    else:
        target = args.steps
    if target < session.step + frame_every:
        if args.steps is None and not length:  # the session's own length: --steps was not typed
            where = ", where it stands" if target == session.step else f"; it stands at {session.step}"
            raise ConfigError(
                "--resume",
                str(args.resume),
                f"its run ends at step {target}{where}: give --steps, at least "
                f"{session.step + frame_every} (its step plus --every = {frame_every}), for a first frame",
            )
        option = "--steps" if args.steps is not None else "run.steps"
        raise _too_short(option, target, session.step, args.rewind is not None, frame_every)
    return target


def _too_short(option: str, target: int, step: int, rewound: bool, frame_every: int) -> ConfigError:
    """--steps or --set run.steps (``option``: the run's length) short of the session's step, or of
    its first frame's."""
    if not frame_every:
        where = "where --rewind went back to" if rewound else "the session's step (or --rewind K)"
        return ConfigError(option, target, f"must be at least {step}, {where}: it is the run's length")
    where = (
        f"step {step}, where --rewind went back to,"
        if rewound
        else f"the session's step {step} (or --rewind K)"
    )
    return ConfigError(
        option,
        target,
        f"must be at least {step + frame_every}: {where} plus --every = {frame_every} for a first frame",
    )


def _rewind_note(step: int, rewound_on: str, branch: str, changed: bool, parent: str) -> str:
    """Where a --rewind left the run: "--rewind 30" with no change replayed the same steps and said
    nothing, as if the session had been forked. A fork is made from the branch whose step it is
    (``parent``): step 20 of a fork made at step 30 is main's, as ``inspect`` then says."""
    where = f"went back to step {step} of {rewound_on!r}"
    if branch != rewound_on:
        shared = f" (a step it shares with {parent!r})" if parent != rewound_on else ""
        return f"{where}{shared}; the changes made there fork {branch!r} from {parent!r}"
    if changed:
        return f"{where}, its newest step, so the changes continue it"
    return f"{where} and replays from there (no change made there: nothing forked)"


def _resume_changes(config: Any, args: argparse.Namespace) -> list[Any]:
    """--set items and --lane specs as changes at the resume step: the i-th --lane sets fields of lane i
    ('' leaves it as it is, so that one past the last can add a lane).

    Optimizer switches go first: a switch sets its lane's learning rate, and an lr given on the
    same command line is the one the user wants.
    """
    from muonscope.engine.changes import AddLane, SetField, switches_first
    from muonscope.engine.config import lane_from_dict

    changes: list[Any] = [SetField(key, value) for key, value in overrides(args.set) if key != "run.steps"]
    for i, spec in enumerate(args.lane):
        where = f"--lane[{i}]"
        fields = _resumed_lane_fields(spec, where)
        if i < len(config.lanes):
            changes += [SetField(f"lanes[{i}].{key}", value) for key, value in fields.items()]
        elif not fields:
            past = f"is past the session's {len(config.lanes)} lanes, so it adds one: name its fields"
            raise ConfigError(where, spec, past)
        else:
            changes.append(AddLane(lane_from_dict(fields, where)))
    # a setting given as it already is changes nothing: a script that always passes run.dtype was
    # refused its float32 session ("changes only with a reset"), and an lr as it was forked a branch;
    # but a lane switched to another optimizer keeps every field given with it (its lr is reset else)
    changing = [change for change in changes if not _as_it_is(config, change)]
    switched = {_holder(change) for change in changing if getattr(change, "path", "").endswith(".optimizer")}
    changes = [change for change in changes if change in changing or _holder(change) in switched]
    return switches_first(changes)


def _holder(change: Any) -> str:
    """What a change sets a field of: "lanes[1]", "task" or "run" ("" for adding or removing a lane)."""
    return getattr(change, "path", "").split(".")[0]


def _as_it_is(config: Any, change: Any) -> bool:
    """Whether ``change`` sets a field to the value it has (invalid values are refused later)."""
    from muonscope.engine.changes import SetField

    if not isinstance(change, SetField):
        return False
    try:
        return config.with_value(change.path, change.value) == config
    except (ValueError, TypeError):  # ConfigError among them
        return False
