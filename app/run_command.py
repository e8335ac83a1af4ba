"""``muonscope run``: train headless (or continue a saved session), report, optionally save the session.

A fresh run builds its config from --preset/--config, --lane and --set. With ``--resume PATH`` the
run continues a saved session instead: ``--rewind K`` first goes back to step K of its current
branch, then --set and --lane change settings at that boundary (behind the branch's newest step
that is a fork: a new branch, the original kept), and the run goes on to ``--steps`` in total.
Ctrl-C stops between steps; what was computed is reported, written and saved.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
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
    table_format,
)
from muonscope.app.output_paths import check_output_folder, check_writable
from muonscope.app.path_words import path_text
from muonscope.app.progress import ProgressBar, busy
from muonscope.app.run_breakpoints import also_held, as_typed, lane_labels, say_kept, say_outcome, set_until
from muonscope.app.run_table import print_run_table
from muonscope.app.stop_signals import stop_signals
from muonscope.engine.errors import ConfigError
from muonscope.engine.file_names import name_overflow

__all__ = ["check_run_arguments", "open_run_session", "run_command"]


def run_command(args: argparse.Namespace) -> int:
    """Validate everything a user typed (before torch is loaded), then run; the report goes to stdout."""
    config = check_run_arguments(args)
    table = table_format(args)
    _check_targets(args)
    from muonscope.engine.breakpoints import parse_breakpoint
    from muonscope.engine.headless import run_session
    from muonscope.engine.session_file import check_save_target

    for text in args.until:
        parse_breakpoint(text, where="--until")  # the grammar, before anything is built
    if args.save is not None:
        check_save_target(args.save, args.resume)
    labels_before: list[str] = []  # the lanes' labels where the run resumes, before --set changes them
    session, target = open_run_session(
        args, config, before_changes=lambda resumed: labels_before.extend(lane_labels(resumed))
    )
    if args.resume is not None and args.steps is None and target == session.step and not args.until:
        sys.stderr.write(  # exit 0 and the saved numbers again read as a run that had gone on
            f"muonscope run: the session is at its run length, step {target}: no step to run "
            "(--steps N runs it on to N steps in all)\n"
        )
    session.follow_lane_labels()  # a resumed session's own breakpoints follow lanes relabelled by --set
    kept = list(session.breakpoints)
    say_kept(kept)
    until = set_until(session, args.until, labels_before)
    start_step = session.step
    start = session.snapshot()
    held_at_start = [b for b in until if b.check_last_measured(start) is not None]
    slow = _slow_steps(start)
    with stop_signals() as stop:
        stop.then = (
            "undoing the step or evaluation under way"  # each takes long: said before the first
            if slow
            else "stopping after the step or evaluation under way, or undoing it if it has run a second"
        )
        with ProgressBar(not args.no_progress, unit="step") as progress:
            outcome = run_session(
                session,
                target,
                until=bool(args.until),
                progress=progress,
                stop_requested=stop.is_set,
                slow_steps=slow,
            )
        session.set_breakpoints(kept)  # the session keeps its own; --until's were this run's only
        if outcome.hit is not None and outcome.hit.breakpoint in until:  # as typed, for a script
            outcome.report["stopped_by"] = as_typed(args.until, until, outcome.hit.breakpoint)
            outcome.report["also_held"] = also_held(args.until, until, outcome.hit, session.snapshot())
        elif args.until:
            outcome.report["also_held"] = []
        stop.then = _finishing(args)  # a first Ctrl-C from here on lets the files be finished
        written, failed = _write_results(args, session, outcome, table)
    status = say_outcome(args, session, outcome, until, start_step, held_at_start, target)
    for line in written:
        sys.stderr.write(f"muonscope run: {line}\n")
    if failed is not None:  # said last, as any runtime failure is: the rest was written
        raise failed
    return status


def _check_targets(args: argparse.Namespace) -> None:
    """--out and --save name folders that can be written, and not the same one."""
    if args.out is not None and args.save is not None and args.out.resolve() == args.save.resolve():
        raise ConfigError("--out", str(args.out), "must name another folder than --save's")
    if args.out is not None:
        check_output_folder(args.out)
    if args.save is not None:
        from muonscope.engine.session_saving import STAGING_ADDED_BYTES

        # before asking the system of it (the asking fails on it), with what staging adds to its name
        overflow = name_overflow(args.save, STAGING_ADDED_BYTES, "saving")
        if overflow is not None:
            raise ConfigError("--save", str(args.save), overflow)
        check_writable(args.save.parent, "--save", given=args.save)
    if args.save is not None and args.save.is_dir():  # a session saved over (its own --resume)
        check_writable(args.save, "--save")


def _finishing(args: argparse.Namespace) -> str:
    """What a first Ctrl-C after the last step waits for: the files, so that no step is lost."""
    files = [str(path) for path in (args.save, args.out) if path is not None]
    if not files:
        return "the steps are done: reporting them"
    return f"the steps are done: finishing {' and '.join(files)} first, so that none is lost"


def _write_results(
    args: argparse.Namespace, session: Any, outcome: Any, table: str
) -> tuple[list[str], OSError | None]:
    """The report on stdout (a table, or --json), the tables (--out) and the session (--save).

    Returns what to say of the files, after why the run stopped (what was written and saved; an
    interrupt's own line says that, and the table of a run before in the other format, removed),
    and the first file the system refused: the others are written all the same (a session that did
    not fit on the disk took the report and the tables with it).
    """
    from muonscope.engine.headless import write_outputs
    from muonscope.engine.session_file import save_session
    from muonscope.engine.tables import replacement_note

    if args.json:
        print(json.dumps(outcome.report), flush=True)
    else:
        print_run_table(outcome.report)
        sys.stdout.flush()
    said: list[str] = []
    failed: OSError | None = None
    removed: list[Path] = []
    if args.out is not None:
        try:
            with busy(not args.no_progress, f"writing the tables in {path_text(args.out)}"):
                written = write_outputs(
                    args.out,
                    outcome.report,
                    session.config,
                    _metrics_reported(session),
                    table,
                    session.experiment.changes,  # those made up to its step, as the config says
                    removed,
                    {lane.lane_id: lane.diverged_step for lane in session.snapshot().lanes if lane.diverged},
                )
            if not outcome.interrupted:
                said.append(f"wrote {', '.join(path.name for path in written)} in {path_text(args.out)}")
        except OSError as exc:
            failed = exc
    said.extend(replacement_note(path) for path in removed)
    if args.save is not None:
        try:
            with busy(not args.no_progress, f"saving the session to {path_text(args.save)}"):
                save_session(session, args.save)
            if not outcome.interrupted:
                said.append(_saved_note(args.save, session))
        except OSError as exc:
            failed = failed or exc
    return said, failed


def _metrics_reported(session: Any) -> Any:
    """The metrics of the run the report describes, to the step it stopped at: a rewound run that
    stopped before its branch's newest step wrote every row of the branch, past its own end, and its
    last step without the evaluation the report has (the branch's record keeps them all)."""
    if session.at_head:
        return session.branch.metrics
    metrics = session.branch.metrics.copy(up_to_step=session.step)
    metrics.fill_in(session.snapshot())  # the last step's evaluation, as a run that ended there has
    return metrics


def _saved_note(path: Path, session: Any) -> str:
    """Where the saved session stands: a replay that stopped before its branch's newest step is saved
    with the whole branch, and a resume continues from the newest step (it read "step 150", and a
    resume then refused --steps 160: "at least 200")."""
    step, head = session.step, session.branch.head_step
    if step >= head:
        return f"session saved to {path_text(path)} (step {step})"
    branch = session.branch.name
    return (
        f"session saved to {path_text(path)} at step {step} of {branch!r}, which runs on to step {head}: "
        f"--resume continues from step {head}"
    )


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


def _slow_steps(start: Any) -> bool:
    """Whether each step of the run whose first snapshot is ``start`` takes long enough that
    ``_say_slow_steps`` said so before the first."""
    from muonscope.engine.step_cost import slow_step_seconds

    return slow_step_seconds(start.config, start.device, start.dtype) is not None


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
