"""Run a session to a step without a window and report it (the core of ``muonscope run``)."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from muonscope import __version__
from muonscope.engine.breakpoints import Hit
from muonscope.engine.changes import Change, dated_change_text
from muonscope.engine.config import ExperimentConfig, LaneConfig
from muonscope.engine.errors import StepCancelled
from muonscope.engine.file_writes import write_text_whole
from muonscope.engine.history import MetricHistory
from muonscope.engine.optim.registry import lane_field_problem
from muonscope.engine.presets import config_file_text
from muonscope.engine.session import Session
from muonscope.engine.snapshot import LaneSnapshot, Snapshot, Spectra
from muonscope.engine.tables import clear_other_formats
from muonscope.engine.task_kinds import TASK_KINDS

__all__ = ["RunOutcome", "branch_report", "final_report", "run_session", "write_outputs"]

#: ``(done, total, stage)``: a stage's first report, ``(0, total, stage)``, comes as it begins.
Progress = Callable[[int, int, str], None]


@dataclass(frozen=True, slots=True)
class RunOutcome:
    """How a headless run ended: the final report, and the breakpoint or interruption that stopped it."""

    report: dict[str, Any]
    hit: Hit | None = None
    interrupted: bool = False


#: A stop asked for during a step that has run this long abandons it (see :func:`run_session`); a
#: shorter one is finished, and the run ends evaluated at its last step.
ABANDON_AFTER_S = 1.0
_STEPPING = "stepping"


def run_session(
    session: Session,
    target: int,
    *,
    until: bool = False,
    progress: Progress | None = None,
    stop_requested: Callable[[], bool] | None = None,
    abandon_after_s: float = ABANDON_AFTER_S,
    slow_steps: bool = False,
) -> RunOutcome:
    """Step ``session`` to ``target`` (total steps), stopping early at a breakpoint if ``until``.

    The last step is always evaluated, whatever the cadence, so the report describes the final W,
    unless a stop abandoned a step (its evaluation would take as long) or that evaluation, once it
    had run ``abandon_after_s``; each lane's ``eval_step`` says which W the population metrics are of.
    ``stop_requested`` is asked between steps (Ctrl-C, SIGTERM): the run then stops with the steps it
    finished, and its report says ``interrupted``. It is asked inside a step too, once the step has run
    ``abandon_after_s``: a step that long is abandoned (undone whole) rather than waited for (a
    SIGTERM during a step of minutes, a big memory's exact gradient, went unanswered for ten).
    ``slow_steps``: each step is known to take longer than that (the run said so before the first),
    so a stop abandons it at its first cancellation point: a Ctrl-C sent just after that note came
    within the step's first second, and the step's SVD of minutes ran before it was asked again.
    """
    start = session.step
    watch = _StopWatch(stop_requested, 0.0 if slow_steps else abandon_after_s)
    hit, interrupted, abandoned = _step_to(session, target, until, progress, watch)
    if not abandoned:  # a step that long has an evaluation as long: the report says which step it is of
        interrupted = _evaluate_last_step(session, progress, watch) or interrupted
    if until and hit is None and not interrupted and session.step > start:
        # the last step's population is evaluated for the report, off the cadence: a condition that
        # holds in the report holds where the run ended ("never held" beside a loss that met it)
        hit = session.check_breakpoints(session.snapshot())
    report = final_report(session.snapshot(), session.config)
    report["interrupted"] = interrupted  # final.json of a stopped run must not read as a finished one
    report["branch"] = branch_report(session)
    if until:
        report["stopped_by"] = None if hit is None else hit.breakpoint.text
        # which lane met it, and with what value (null for "diverged"): said on stderr, and a script
        # reading the report had to parse that line
        held = None if hit is None else {"lane": hit.lane_index, "label": hit.lane_label, "value": hit.value}
        report["stopped_at"] = held
    return RunOutcome(report, hit, interrupted)


class _StopWatch:
    """Whether a stop asked for (Ctrl-C, SIGTERM) abandons the work under way: once it has run
    ``abandon_after_s`` (a step or an evaluation of a big memory takes seconds to minutes)."""

    def __init__(self, stop_requested: Callable[[], bool] | None, abandon_after_s: float) -> None:
        self.stop_requested = stop_requested
        self.abandon_after_s = abandon_after_s
        self.restart()

    def restart(self) -> None:
        self.began = time.perf_counter()

    def requested(self) -> bool:
        return self.stop_requested is not None and self.stop_requested()

    def abandon(self) -> bool:
        return self.requested() and time.perf_counter() - self.began >= self.abandon_after_s

    @property
    def cancelled(self) -> Callable[[], bool] | None:
        """What the engine asks inside a step or an evaluation (None: nothing can stop it)."""
        return None if self.stop_requested is None else self.abandon


def _step_to(
    session: Session, target: int, until: bool, progress: Progress | None, watch: _StopWatch
) -> tuple[Hit | None, bool, bool]:
    """The steps to ``target``: (the breakpoint hit, interrupted, the last step abandoned)."""
    start = session.step
    total = max(target - start, 0)
    interrupted = False

    def after_step(snapshot: Snapshot) -> bool:
        nonlocal interrupted
        if progress is not None:
            progress(snapshot.step - start, total, _STEPPING)
        interrupted = watch.requested()
        watch.restart()
        return interrupted

    if progress is not None and total:
        progress(0, total, _STEPPING)  # a step of a big memory takes seconds: the bar counts them
    watch.restart()
    try:
        hit = session.run(target, stop_on_breakpoints=until, on_step=after_step, cancelled=watch.cancelled)
    except StepCancelled:
        return None, True, True
    return hit, interrupted, False


def _evaluate_last_step(session: Session, progress: Progress | None, watch: _StopWatch) -> bool:
    """Evaluate the population at the session's step, off the cadence; True if a stop abandoned it
    (as a step: at d = 1024 it took 32 s, past a SIGTERM's grace)."""
    if progress is not None:  # shown if it takes long: an exact gradient of a big task takes seconds
        progress(0, 1, f"evaluating step {session.step}")
    watch.restart()
    try:
        session.evaluate(cancelled=watch.cancelled)
    except StepCancelled:
        return True
    return False


def branch_report(session: Session) -> dict[str, Any]:
    """The branch the report's step is on: its ``name``, the ``parent`` it forked from and the
    ``fork_step`` it forked after (both null on the first one, which forked from nothing: it read 0).
    A fork's report beside its parent's read alike."""
    branch = session.branch
    if branch.parent is None:
        return {"name": branch.name, "parent": None, "fork_step": None}
    parent = session.branches[branch.parent].name
    return {"name": branch.name, "parent": parent, "fork_step": branch.fork_step}


def torch_version() -> str:
    """The PyTorch that computed a result: results differ in their last digits between versions."""
    import torch

    return torch.__version__


def final_report(snapshot: Snapshot, config: ExperimentConfig) -> dict[str, Any]:
    """The ``--json`` object: the config, the step, and each lane's final metrics and spectra."""
    since = {history.lane_id: history.steps[-1] for history in snapshot.lane_histories}
    return {
        "config": config.to_dict(),
        "step": snapshot.step,
        "device": snapshot.device,
        "dtype": snapshot.dtype,
        "torch_version": torch_version(),
        "muonscope_version": __version__,  # the code that computed it, as a session records its writer
        "lanes": [
            _lane_report(lane, settings, TASK_KINDS[config.task.kind].has_classes, since[lane.lane_id])
            for lane, settings in zip(snapshot.lanes, config.lanes, strict=True)
        ],
        "events": [
            {"step": e.step, "field": e.field, "old": e.old, "new": e.new, "text": e.text}
            for e in snapshot.events
        ],
    }


def _lane_report(lane: LaneSnapshot, settings: LaneConfig, has_items: bool, since: int) -> dict[str, Any]:
    """A lane's final metrics; what was not computed, or does not apply, is null, never a placeholder.

    The item counts (``recovered``…) are null for a task without items to recover (a gradient stream:
    "recovered 0" beside "loss n/a" read as a lane that failed); ``order`` for a lane whose rule has no
    momentum order (SGD, Adam); ``gap_rank`` and ``signal_step`` before their metrics were first computed
    (they read 0 and −1); ``beta2`` for a lane without a second moment (its β₂ is in the config whatever
    the rule; the tail presets' 0.95 is the point of them). ``buffer``: the momentum buffer's convention
    (``ema`` μM + (1−μ)G or ``sum`` μM + G; null when the lane keeps none). ``thresholded``: its gradients
    leave out the items it recovers (Kim et al.'s thresholded dynamics); ``lam_schedule``: ``fixed`` or
    ``kim`` (λ_t) for regularised Muon, null for lanes without h_λ. ``estimated``: the population
    metrics come from ``sampled_items`` items, with standard errors ``*_se`` (both null when every item
    was evaluated). ``tail_filtering``: median σ_k(M)/σ_k(G) below the signal rank with M the EMA of the
    gradients (null for lanes without one, and for post-order lanes, whose buffer averages mapped
    gradients). ``settings_step``: the step boundary from which the lane's settings hold; the alignment
    and sin Θ of an update made before it measured other settings (an SGD update's alignment read as
    Adam's after ``--lane optimizer=adam`` on resume), so they are null
    until an update under these settings is measured."""
    return {**_settings_report(lane, settings), **_measured_report(lane, has_items, since)}


def _settings_report(lane: LaneSnapshot, settings: LaneConfig) -> dict[str, Any]:
    """The lane's name and the settings its rule reads (null for those it does not)."""
    return {
        "label": lane.label,
        "optimizer": lane.optimizer,
        "lr": settings.lr,
        "order": None if lane_field_problem(settings, "order") else lane.order,
        "momentum": lane.momentum,
        "beta2": None if lane_field_problem(settings, "beta2") else settings.beta2,
        "buffer": lane.buffer or None,
        "thresholded": lane.thresholded,
        "lam_schedule": None if lane_field_problem(settings, "lam_schedule") else settings.lam_schedule,
    }


def _measured_report(lane: LaneSnapshot, has_items: bool, since: int) -> dict[str, Any]:
    """What the lane measured last, null where it was not measured (see :func:`_lane_report`)."""
    estimated = lane.eval_estimated
    signal_now = lane.signal_step > since
    return {
        "diverged": lane.diverged,
        "diverged_step": lane.diverged_step if lane.diverged else None,
        "diverged_cause": lane.diverged_cause if lane.diverged else None,
        "eval_step": lane.eval_step if lane.eval_step >= 0 else None,
        "estimated": lane.eval_estimated,
        "sampled_items": lane.eval_sampled_items if estimated else None,
        "loss": _number(lane.loss),
        "loss_se": _number(lane.loss_se) if estimated else None,
        "excess_loss": _number(lane.excess_loss),
        "batch_loss": _number(lane.batch_loss),
        "accuracy": _number(lane.accuracy),
        "accuracy_se": _number(lane.accuracy_se) if estimated else None,
        "recovered": lane.recovered if has_items else None,
        "recovered_se": _number(lane.recovered_se) if has_items and estimated else None,
        "recovered_prefix": lane.recovered_prefix if has_items else None,
        "gap": _number(lane.gap),
        # a diverged lane's, null as its gap and alignment are (it read "gap_rank": 1 beside "gap": null)
        "gap_rank": lane.gap_rank if lane.spectra_step >= 0 and not lane.diverged else None,
        "alignment": _number(lane.alignment) if signal_now else None,
        "sin_theta": _number(lane.sin_theta) if signal_now else None,
        "tail_filtering": _number(lane.tail_filtering),
        "signal_step": lane.signal_step if signal_now and not lane.diverged else None,
        "settings_step": since,
        "spectra": {matrix.name: _numbers(getattr(lane.spectra, matrix.name)) for matrix in fields(Spectra)},
    }


def _number(value: float) -> float | None:
    """JSON has no NaN: metrics that do not apply (or diverged) become null."""
    return None if not math.isfinite(value) else float(value)


def _numbers(values: Any) -> list[float | None]:
    return [_number(float(v)) for v in values]


def write_outputs(
    out_dir: Path,
    report: dict[str, Any],
    config: ExperimentConfig,
    history: MetricHistory,
    table_format: str,
    changes: tuple[tuple[int, Change], ...] = (),
    removed: list[Path] | None = None,
    diverged_at: Mapping[int, int] | None = None,
) -> list[Path]:
    """Write metrics (Parquet or CSV), the config (TOML) and the final report (JSON) to a folder.

    ``changes``: the settings changed along the run, with their steps. The config written is the one
    in force at the end; run from step 0 it is another run, and its header says so, listing them.
    ``removed`` gets the metrics table of a run before in the other format, replaced by this one.
    ``diverged_at``: lane id → the step that lane diverged at (the table's ``diverged`` column).
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    written = [
        clear_other_formats(history.write(out_dir / f"metrics.{table_format}", diverged_at), removed),
        out_dir / "config.toml",
        out_dir / "final.json",
    ]
    write_text_whole(written[1], _changes_header(changes) + config_file_text(config))
    write_text_whole(written[2], json.dumps(report, indent=1) + "\n")
    return written


def _changes_header(changes: tuple[tuple[int, Change], ...]) -> str:
    """TOML comments naming the changes a run made, or nothing for a run that made none."""
    if not changes:
        return ""
    lines = [
        "# The settings in force at the end of a run that changed them along the way; run from step 0",
        "# they make another run (a session saved with --save replays this one). The changes, by step:",
        *(f"#   {dated_change_text(step, change)}" for step, change in changes),
    ]
    return "\n".join(lines) + "\n\n"
