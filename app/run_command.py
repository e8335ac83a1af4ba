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
from pathlib import Path
from typing import Any, NamedTuple

from muonscope.app.config_args import table_format
from muonscope.app.output_paths import check_output_folder, check_writable
from muonscope.app.path_words import path_text
from muonscope.app.progress import ProgressBar, busy
from muonscope.app.run_breakpoints import (
    KeptFiles,
    also_held,
    as_typed,
    lane_labels,
    say_kept,
    say_outcome,
    set_until,
)
from muonscope.app.run_start import check_run_arguments, open_run_session
from muonscope.app.run_table import print_run_table
from muonscope.app.stop_signals import stop_signals
from muonscope.engine.errors import ConfigError
from muonscope.engine.file_names import name_overflow

__all__ = ["run_command"]


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
        results = _write_results(args, session, outcome, table)
    status = say_outcome(args, session, outcome, until, start_step, held_at_start, target, results.kept)
    for line in results.said:
        sys.stderr.write(f"muonscope run: {line}\n")
    if results.failed is not None:  # said last, as any runtime failure is: the rest was written
        raise results.failed
    return status


class _Results(NamedTuple):
    """What :func:`_write_results` said of the files, the first failure, and where each kept them."""

    said: list[str]
    failed: OSError | None
    kept: KeptFiles


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


def _write_results(args: argparse.Namespace, session: Any, outcome: Any, table: str) -> _Results:
    """The report on stdout (a table, or --json), the tables (--out) and the session (--save).

    Returns what to say of the files, after why the run stopped (what was written and saved; an
    interrupt's own line says that, and the table of a run before in the other format, removed),
    and the first file the system refused: the others are written all the same (a session that did
    not fit on the disk took the report and the tables with it).
    """
    from muonscope.engine.session_file import SavedElsewhere, save_session
    from muonscope.engine.tables import replacement_note

    if args.json:
        print(json.dumps(outcome.report), flush=True)
    else:
        print_run_table(outcome.report)
        sys.stdout.flush()
    said: list[str] = []
    failed: OSError | None = None
    tables_in = saved_to = None
    removed: list[Path] = []
    if args.out is not None:
        try:
            with busy(not args.no_progress, f"writing the tables in {path_text(args.out)}"):
                tables_in, written = _write_tables(args.out, session, outcome, table, removed)
            if tables_in != args.out:
                failed = TablesElsewhere(args.out, tables_in)
            elif not outcome.interrupted:
                said.append(f"wrote {', '.join(path.name for path in written)} in {path_text(args.out)}")
        except OSError as exc:
            failed = exc
    said.extend(replacement_note(path) for path in removed)
    if args.save is not None:
        try:
            with busy(not args.no_progress, f"saving the session to {path_text(args.save)}"):
                # checked before the run: a folder taken meanwhile is saved beside, not refused
                save_session(session, args.save, checked_before=True)
            saved_to = args.save
            if not outcome.interrupted:
                said.append(_saved_note(args.save, session))
        except SavedElsewhere as exc:
            if failed is not None:  # only the first failure ends the command: this one is said here
                said.append(f"{exc.failure_heading}: {exc}")
            saved_to, failed = exc.saved_to, failed or exc
        except OSError as exc:
            failed = failed or exc
    return _Results(said, failed, KeptFiles(tables_in, saved_to))


class TablesElsewhere(OSError):
    """A run's tables written beside the --out folder asked for: a session was saved there while the
    run computed, and its metrics.parquet would have replaced the session's."""

    names_itself = True
    failure_heading = "written elsewhere"  # what the command line says first: nothing is lost

    def __init__(self, out: Path, written_to: Path) -> None:
        super().__init__(
            f"{out}: a session was saved there meanwhile, which is kept; the tables are in {written_to} "
            "instead"
        )


def _write_tables(
    out: Path, session: Any, outcome: Any, table: str, removed: list[Path]
) -> tuple[Path, list[Path]]:
    """Write the run's tables in ``out``, or beside it where a session was saved there meanwhile
    (checked at the start, the folder was another command's ``--save`` by the end: its tables
    replaced the session's, which no longer opened). Returns the folder and the files written.

    A session's save holds the lock of its parent folder while it writes; so does this, so that
    one cannot slip in between the check and the write."""
    from muonscope.engine.file_names import longest_name
    from muonscope.engine.headless import write_outputs
    from muonscope.engine.save_identity import free_sibling, saves_locked

    parent = out.absolute().parent
    parent.mkdir(parents=True, exist_ok=True)
    with saves_locked(parent):
        if (out / "session.json").is_file():
            out = free_sibling(out, longest_name(parent))
        written = write_outputs(
            out,
            outcome.report,
            session.config,
            _metrics_reported(session),
            table,
            session.experiment.changes,  # those made up to its step, as the config says
            removed,
            {lane.lane_id: lane.diverged_step for lane in session.snapshot().lanes if lane.diverged},
        )
    return out, written


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


def _slow_steps(start: Any) -> bool:
    """Whether each step of the run whose first snapshot is ``start`` takes long enough that the run
    said so before the first (``run_start``'s slow-step note; the speed it reads is measured once)."""
    from muonscope.engine.step_cost import slow_step_seconds

    return slow_step_seconds(start.config, start.device, start.dtype) is not None
