"""What ``muonscope run`` says of breakpoints: --until's, checked against the session's lanes, the
session's own (kept, not checked), and on stderr why the run stopped or why --until did not stop it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, NamedTuple

from muonscope.app.path_words import path_text
from muonscope.app.run_table import steps_text
from muonscope.app.stop_signals import EXIT_INTERRUPTED

__all__ = ["KeptFiles", "also_held", "as_typed", "lane_labels", "say_kept", "say_outcome", "set_until"]


class KeptFiles(NamedTuple):
    """Where a run's tables (--out) and session (--save) were written; None where they were not."""

    tables: Path | None = None
    session: Path | None = None


def as_typed(typed: list[str], until: list[Any], breakpoint: Any) -> str | None:
    """An --until breakpoint as the user typed it (its lane label may have followed a --set since)."""
    return typed[until.index(breakpoint)] if breakpoint in until else None


def also_held(typed: list[str], until: list[Any], hit: Any, snapshot: Any) -> list[str]:
    """The other --until expressions, as typed, that hold where the run stopped: stderr said "… holds
    too" and the JSON named the first alone."""
    return [
        text
        for text, bp in zip(typed, until, strict=True)
        if bp is not hit.breakpoint and bp.check(snapshot) is not None
    ]


def set_until(session: Any, texts: list[str], labels_before: list[str]) -> list[Any]:
    """The session's breakpoints become --until's, checked against its lanes and task; returns them
    as checked, for saying why they did not stop the run.

    A lane may be named by the label ``inspect`` showed for it, before --set relabelled it ("SGD
    lr=128" once lr is 64): a label follows its lane, as a breakpoint's does in the window.
    """
    from muonscope.engine.breakpoints import follow_relabelled_lanes, parse_breakpoint

    labels = lane_labels(session)
    known = labels + [label for label in labels_before if label not in labels]
    kind = session.config.task.kind
    until = [parse_breakpoint(t, known, where="--until", task_kind=kind) for t in texts]
    session.set_breakpoints(follow_relabelled_lanes(until, labels_before or labels, labels))
    return list(session.breakpoints)


def lane_labels(session: Any) -> list[str]:
    return [lane.display_label() for lane in session.config.lanes]


def say_outcome(
    args: argparse.Namespace,
    session: Any,
    outcome: Any,
    until: list[Any],
    start_step: int,
    held_at_start: list[Any],
    target: int,
    kept: KeptFiles,
) -> int:
    """On stderr: the breakpoint that stopped the run, why --until's did not, or where an interrupt
    left it; returns the exit status. ``held_at_start``: the --until breakpoints that held already
    where the run began (as last measured), which a condition is not checked at; ``target``: the
    step the run was to reach; ``kept``: where the tables and the session were written."""
    if outcome.hit is not None:
        hit = outcome.hit
        # one that holds only at the run's last step stopped nothing: "Stopped" read as an early end
        said = hit.said("Stopped" if hit.step < target else "Ran to its end")
        typed = as_typed(args.until, until, hit.breakpoint)
        if typed is not None and typed != hit.breakpoint.text:  # --json's stopped_by is as typed
            said += f" (typed as '{typed}': its lane's label changed with the settings)"
        others = also_held(args.until, until, hit, session.snapshot())  # as typed, as in also_held
        if others:
            said += f"; {', '.join(repr(text) for text in others)} hold{'s' if len(others) == 1 else ''} too"
        if hit.breakpoint in held_at_start:  # "Stopped at step 10" alone read as if it began there
            said += f"; it held already at step {start_step}, where the run began: a condition is checked "
            said += "on the steps run"
        sys.stderr.write(f"muonscope run: {said}\n")
    elif args.until and not outcome.interrupted:  # said, or a run to the end reads as a stop
        sys.stderr.write(f"muonscope run: {_until_outcome(until, session, start_step, outcome)}\n")
    if not outcome.interrupted:
        return 0
    step = outcome.report["step"]
    # where they are: a session saved beside the folder asked for read "saved to s" (s held another
    # process's), and one the system refused read as saved, its failure said only after
    saved = f"; session saved to {path_text(kept.session)}" if kept.session is not None else ""
    written = f"; {kept.tables} holds steps 0 to {step}" if kept.tables is not None else ""
    evaluated = min(
        (lane["eval_step"] for lane in outcome.report["lanes"] if lane["eval_step"] is not None), default=step
    )
    of = f" (its population metrics are of step {evaluated}, the last evaluated)" if evaluated < step else ""
    sys.stderr.write(f"muonscope run: interrupted at step {step}{of}{saved}{written}\n")
    return EXIT_INTERRUPTED


def _until_outcome(until: list[Any], session: Any, start_step: int, outcome: Any) -> str:
    """Why the --until breakpoints did not stop the run: they never held, or no step was taken to
    check them on (a resumed session already at --steps read "never held" where one held there)."""
    conditions = " or ".join(repr(b.text) for b in until)
    step = outcome.report["step"]
    if step > start_step:
        said = f"--until {conditions} never held; the run went on to step {step}{_cadence(until, session)}"
        snapshot = session.experiment.snapshot()
        said += _diverged_before(until, snapshot, start_step)
        return said + _unchecked_after_divergence(until, snapshot)
    from muonscope.engine.breakpoints import first_hit

    hit = first_hit(until, session.experiment.snapshot())
    holds = "; it does not hold there" if hit is None else f"; {hit.holds_text('holds there already for')}"
    return f"--until {conditions} was not checked: no step was taken from step {step}{holds}"


def _diverged_before(until: list[Any], snapshot: Any, start_step: int) -> str:
    """The watched lanes that had diverged before the run began: 'diverged' stops a run where a lane
    diverges, and "never held" alone read as false beside a report of a lane diverged at step 1."""
    from muonscope.engine.breakpoints import DIVERGED

    before = [
        lane
        for lane in snapshot.lanes
        if lane.diverged
        and 0 <= lane.diverged_step <= start_step
        and any(b.metric == DIVERGED and b.selects(lane) for b in until)
    ]
    if not before:
        return ""
    named = ", ".join(f"lane {lane.index} at step {lane.diverged_step}" for lane in before)
    began = f"where the run began ({named})"
    return f"; diverged by step {start_step}, {began}: 'diverged' stops a run where a lane diverges"


def _unchecked_after_divergence(until: list[Any], snapshot: Any) -> str:
    """The watched lanes that diverged, whose conditions are not checked from then on: "never held"
    alone read as false where a frozen lane's weight entropy stood at 1 at every step."""
    from muonscope.engine.breakpoints import DIVERGED

    frozen = [
        lane
        for lane in snapshot.lanes
        if lane.diverged and any(b.metric != DIVERGED and b.selects(lane) for b in until)
    ]
    if not frozen:
        return ""
    named = ", ".join(f"lane {lane.index} at step {lane.diverged_step}" for lane in frozen)
    return f"; diverged ({named}), a lane's conditions are not checked after"


def _cadence(until: list[Any], session: Any) -> str:
    """When a population metric was checked: between evaluations its value is not known."""
    if not any(b.population for b in until):
        return ""
    every = session.config.run.eval_every
    return (
        " (loss, accuracy, recovered, … are checked where the population is evaluated: "
        f"every {steps_text(every)}, run.eval_every, and the last step)"
    )


def say_kept(breakpoints: list[Any]) -> None:
    """A resumed session's breakpoints are the window's: run keeps them in what it saves, and checks
    only --until (a batch run that stopped at a breakpoint set months ago would surprise)."""
    if breakpoints:
        texts = ", ".join(repr(b.text) for b in breakpoints)
        sys.stderr.write(
            f"muonscope run: the session's breakpoints ({texts}) are kept; run stops at --until\n"
        )
