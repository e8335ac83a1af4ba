"""The debugger's commands and messages between the window and its engine thread.

Commands go in (go to a step, breakpoints, save, open, inspect, recall a step, switch branch); what comes back
is plain and immutable — tables of numbers, tuples of text — built here from the session on the
engine thread, so nothing mutable ever crosses to the window.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from muonscope.engine.breakpoints import Breakpoint, parse_breakpoint
from muonscope.engine.divergence import because
from muonscope.engine.errors import ConfigError, StepCancelled
from muonscope.engine.history import COLUMNS, SpectraHistory
from muonscope.engine.inspection import LaneMatrices, lane_matrices, task_coordinates
from muonscope.engine.lane_history import LaneHistory
from muonscope.engine.session import Session
from muonscope.engine.snapshot import Event, Snapshot, frozen_array
from muonscope.widgets.number_text import number_text

__all__ = [
    "BACK_TO_RUN_BEFORE",
    "BackToRunBefore",
    "BranchInfo",
    "BranchesChanged",
    "BreakpointsChanged",
    "GoTo",
    "HistoryReplaced",
    "Inspect",
    "Inspection",
    "OpenSession",
    "RecallStep",
    "RunKept",
    "SaveSession",
    "Saved",
    "SetBreakpoints",
    "StepRecalled",
    "SwitchBranch",
]


# ---- commands ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class GoTo:
    """Stand at ``step``: forward runs there, backward rewinds (replay from the nearest checkpoint)."""

    step: int


@dataclass(frozen=True)
class SetBreakpoints:
    """The whole list of breakpoints, as (expression, enabled); ``serial`` numbers the window's
    edits, so that it can tell the answer to its latest from the answers to earlier ones."""

    items: tuple[tuple[str, bool], ...]
    serial: int = 0


@dataclass(frozen=True)
class SaveSession:
    path: Path
    view: dict = field(default_factory=dict, hash=False)  # the window's panel modes, kept with it
    replace_any: bool = False  # the user said another session saved there may be replaced
    kept: bool = False  # the run kept before the one on show, not the one on show (closing asks)


@dataclass(frozen=True)
class OpenSession:
    path: Path


#: The File menu's item that brings back a replaced run, and its shortcut (messages name them).
BACK_TO_RUN_BEFORE = ("Back to the run before", "Ctrl+Shift+Z")


@dataclass(frozen=True)
class BackToRunBefore:
    """Bring back the run that a reset, another preset or an opened session replaced (it is kept)."""


@dataclass(frozen=True)
class SwitchBranch:
    branch: int


@dataclass(frozen=True)
class CompareBranch:
    """Send another branch's recorded metrics, to be drawn faded beside the current one (None: stop)."""

    branch: int | None


@dataclass(frozen=True)
class Inspect:
    """One lane's matrix at one step, optionally minus another lane's, optionally in task coordinates."""

    step: int
    lane: int
    tensor: str
    minus_lane: int | None = None
    task_coordinates: bool = False


@dataclass(frozen=True)
class RecallStep:
    """The snapshot of an earlier (or later) recorded step, recomputed by replay, spectra included."""

    step: int


# ---- messages ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class BranchInfo:
    id: int
    name: str
    fork_step: int
    head_step: int
    current: bool
    parent: int | None = None
    #: the changes made on this branch itself, as "at step 10: lanes[0].lr = 0.1"
    changes: tuple[str, ...] = ()


@dataclass(frozen=True)
class BranchesChanged:
    branches: tuple[BranchInfo, ...]
    engine_step: int
    #: the branches of a run that took the place of the one before (a new run, an open, the run
    #: before brought back), not a fork or a switch within one run
    new_run: bool = False


@dataclass(frozen=True)
class HistoryReplaced:
    """The current branch's recorded metrics (read-only columns), after a jump, fork or open,
    with every lane's settings along the branch up to its newest step."""

    columns: dict = field(hash=False)
    labels: tuple[tuple[int, str], ...]
    stride: int
    head_step: int
    lane_histories: tuple[LaneHistory, ...] = ()
    events: tuple[Event, ...] = ()  # the branch's events up to head_step, ahead of the engine too
    spectra: SpectraHistory | None = field(default=None, compare=False)  # a copy: the engine's grows on


@dataclass(frozen=True)
class BranchComparison:
    """Another branch's recorded metrics (read-only columns), or ``branch`` None: no comparison."""

    branch: int | None
    name: str = ""
    columns: dict = field(default_factory=dict, hash=False)
    labels: tuple[tuple[int, str], ...] = ()
    stride: int = 1
    lane_histories: tuple[LaneHistory, ...] = ()


@dataclass(frozen=True)
class BreakpointsChanged:
    items: tuple[tuple[str, bool], ...]
    hit: int | None = None  # the breakpoint that just paused the run
    answer_to: int | None = None  # the serial of the SetBreakpoints this answers, if any
    hit_at: tuple[int, int] | None = None  # (branch id, step) where ``hit`` paused the run


@dataclass(frozen=True)
class Saved:
    path: str
    step: int
    opened: bool = False
    restored: bool = False  # the run before, brought back (``path``: where it was saved, "" if nowhere)
    head_step: int | None = None  # the newest step of the branch on show, where it is past ``step``
    view: dict = field(default_factory=dict, hash=False)  # an opened session's panel modes, as saved
    kept: bool = False  # the run kept before the one on show was saved (the one on show is as it was)


def holds_work(session) -> bool:
    """Whether a run holds anything computed: a step taken or a branch forked."""
    return session is not None and (session.branch.head_step > 0 or len(session.branches) > 1)


@dataclass(frozen=True)
class SavedCopy:
    """Where a run was last saved (or opened from) and what it held then: ``record`` is the session's
    :attr:`~muonscope.engine.session.Session.record` at that moment, ``step`` its branch's newest
    step. The default: never saved."""

    path: str = ""
    record: tuple | None = None
    step: int = 0

    def holds(self, session) -> bool:
        """Whether this copy holds everything ``session``'s work made (a run with no step holds none)."""
        return not holds_work(session) or session.record == self.record

    @classmethod
    def of(cls, session, path) -> SavedCopy:
        return cls(str(path), session.record, session.branch.head_step)


@dataclass(frozen=True)
class UnsavedWork:
    """Whether the run on show, and the run kept before it, hold work their last save does not (a run
    never saved: any step or branch). Sent when either changes; closing the window asks first."""

    on_show: bool
    kept: bool


@dataclass(frozen=True)
class RunKept:
    """A run holding steps was replaced and is kept: :class:`BackToRunBefore` brings it back.

    ``step``: the kept run's newest step, ``at_step`` where its engine stood (behind it after a
    rewind; bringing the run back puts it there); ``path``: where the run now on show was saved or opened
    ("" for a new run, which a Save must not write over the folder of the run it replaced);
    ``let_go``: (step, folder or "", the newest step its save holds, or None where the save holds all
    of it) of the run kept until now, which gave way (one run is kept)."""

    step: int
    path: str
    let_go: tuple[int, str, int | None] | None = None
    at_step: int | None = None
    title: str = ""  # the preset it ran, or its settings' own name ("the run before" was vague)
    kept_path: str = ""  # the kept run's folder ("" if never saved): ``title`` is then its name

    @property
    def saved(self) -> bool:
        """Whether the kept run has a folder (else the window knows its name better)."""
        return bool(self.kept_path)


@dataclass(frozen=True)
class Inspection:
    request: Inspect
    matrix: np.ndarray | None = field(default=None, hash=False)
    message: str = ""
    title: str = ""
    direction_sv: np.ndarray | None = field(default=None, hash=False)
    polar_sv: np.ndarray | None = field(default=None, hash=False)
    residual_text: str = ""
    info: str = ""
    row_label: str = "row"
    col_label: str = "column"
    spectra_names: tuple[str, str] = ("direction D", "exact polar factor")
    abandoned: bool = False  # the replay gave way to commands sent since; ask again if still wanted


@dataclass(frozen=True)
class StepRecalled:
    """The answer to :class:`RecallStep`: the step's snapshot, or None and why not.

    ``abandoned``: the replay stopped because other commands were waiting (the view had moved on,
    say); the step may be asked for again.
    """

    step: int
    snapshot: Snapshot | None = None
    message: str = ""
    abandoned: bool = False


# ---- builders (engine thread) ------------------------------------------------------------------


def parse_items(items, labels: list[str], held: Iterable[Breakpoint] = ()) -> list[Breakpoint]:
    """The window's (text, enabled) breakpoints; those ``held`` already (by text) are kept as they are.

    A held one may name a lane no longer there (removed, or a rewind to before it was added) by
    the label it bore: parsed again against the lanes of now, it made every list the window sent
    after be refused. Kept, it also keeps the lane it was tied to.
    """
    from dataclasses import replace

    kept = {b.text: b for b in held}
    return [
        replace(kept.get(text) or parse_breakpoint(text, labels, where="breakpoint"), enabled=bool(enabled))
        for text, enabled in items
    ]


def breakpoints_message(
    session: Session, hit: int | None = None, answer_to: int | None = None
) -> BreakpointsChanged:
    items = tuple((b.text, b.enabled) for b in session.breakpoints)
    at = (session.branch.id, session.step) if hit is not None else None
    return BreakpointsChanged(items, hit, answer_to, at)


def branches_message(session: Session, new_run: bool = False) -> BranchesChanged:
    infos = tuple(
        BranchInfo(
            b.id,
            b.name,
            b.fork_step,
            b.head_step,
            b.id == session.branch.id,
            b.parent,
            session.own_changes_told(b),
        )
        for b in session.branches
    )
    return BranchesChanged(infos, session.step, new_run)


def _frozen_columns(metrics) -> tuple[dict, tuple[tuple[int, str], ...]]:
    """A branch's metric table as read-only columns, and its lane labels by lane id."""
    table = metrics.table()
    return {name: frozen_array(table[name]) for name in COLUMNS}, tuple(sorted(metrics.labels.items()))


def history_message(session: Session) -> HistoryReplaced:
    columns, labels = _frozen_columns(session.branch.metrics)
    return HistoryReplaced(
        columns,
        labels,
        session.branch.metrics.stride,
        session.branch.head_step,
        session.lane_histories(),
        session.recorded_events,
        session.branch.spectra.copy(),
    )


def comparison_message(session: Session, branch_id: int | None) -> BranchComparison:
    """The metrics of branch ``branch_id`` to compare with; none when it is unknown or the current one."""
    found = [b for b in session.branches if b.id == branch_id and b.id != session.branch.id]
    if not found:
        return BranchComparison(None)
    branch = found[0]
    columns, labels = _frozen_columns(branch.metrics)
    histories = session.lane_histories(branch)
    return BranchComparison(branch.id, branch.name, columns, labels, branch.metrics.stride, histories)


def recall_message(
    session: Session, request: RecallStep, cancelled: Callable[[], bool] | None = None
) -> StepRecalled:
    """The snapshot of ``request.step`` of the current branch (the engine returns to where it stood);
    the replay stops early once ``cancelled`` says so."""
    try:
        return StepRecalled(request.step, session.snapshot_at(request.step, cancelled))
    except StepCancelled:
        return StepRecalled(request.step, None, f"step {request.step}: replay abandoned", abandoned=True)
    except (ValueError, ConfigError) as exc:
        return StepRecalled(request.step, None, f"step {request.step} cannot be shown: {exc}")


def inspection_message(
    session: Session, request: Inspect, cancelled: Callable[[], bool] | None = None
) -> Inspection:
    """The requested matrix by replay (the engine returns to where it stood); the replay stops early
    once ``cancelled`` says so."""
    try:
        found = session.matrices_at(request.step, cancelled)
    except StepCancelled:
        return Inspection(request, None, f"step {request.step}: replay abandoned", abandoned=True)
    lanes = len(found["config"].lanes)
    if not 0 <= request.lane < lanes:
        raise ConfigError("lane", request.lane, f"a lane of step {request.step}: 0 to {lanes - 1}")
    inspected = lane_matrices(found, request.lane)
    shown = _matrix_and_title(found, inspected, request)
    if isinstance(shown, str):
        return Inspection(request, None, shown)
    matrix, title = shown
    axes = ("row", "column")
    bases = session.experiment.task.bases
    if request.task_coordinates and bases is not None:
        answers, queries = (b.detach().to("cpu").double().numpy() for b in bases)
        matrix = task_coordinates(matrix, answers, queries)
        title += " · task coordinates ẼᵀXE"
        axes = ("answer k (by frequency)", "query i (by frequency)")
    residual, names = _spectra_text(inspected)
    has_spectra = bool(inspected.map_input)  # no direction before the first step
    norm, largest = number_text(np.linalg.norm(matrix), 4), number_text(np.abs(matrix).max(), 4)
    info = f"Frobenius norm {norm} · max|x| = {largest}"  # "‖·‖_F" showed its underscore
    if 0 <= inspected.diverged_step <= request.step:  # a zero update read as a lane at rest
        why = because(inspected.diverged_cause)
        info += f" · diverged at step {inspected.diverged_step}{why}; frozen, no step taken since"
    return Inspection(
        request,
        frozen_array(matrix),
        title=title,
        direction_sv=frozen_array(inspected.direction_sv) if has_spectra else None,
        polar_sv=frozen_array(inspected.polar_sv) if has_spectra else None,
        residual_text=residual,
        info=info,
        row_label=axes[0],
        col_label=axes[1],
        spectra_names=names,
    )


def _matrix_and_title(found: dict, inspected: LaneMatrices, request: Inspect) -> tuple[np.ndarray, str] | str:
    """The lane's matrix (minus the other lane's, if asked) and its title; or why there is none."""
    matrix = inspected.matrices[request.tensor]
    if matrix is None:
        reason = "no step taken yet" if request.step == 0 else "this lane keeps no momentum buffer"
        return f"{request.tensor} does not exist at step {request.step}: {reason}"
    title = f"{request.tensor} · {inspected.label} · step {request.step}"
    if request.minus_lane is None or request.minus_lane >= len(found["config"].lanes):
        return matrix, title
    subtracted = lane_matrices(found, request.minus_lane)
    other = subtracted.matrices[request.tensor]
    if other is None:
        return f"lane {request.minus_lane} has no {request.tensor} at this step"
    # the lanes by number first: in a narrow dock the title is cut at its end, and the subtracted
    # lane's name went with the step ("W · Muon pre μ=0.95 ema exact lr=0.3 · step 300 − SGD μ=…")
    difference = f"{request.tensor} · lane {request.lane} − lane {request.minus_lane} · step {request.step}"
    return matrix - other, f"{difference} · {inspected.label} − {subtracted.label}"


def _spectra_text(inspected: LaneMatrices) -> tuple[str, tuple[str, str]]:
    """The line under the σ_k plot and the names of its two spectra.

    At step 0 no step has been taken, so there is no direction to compare: the line says so rather
    than blaming the lane's rule.
    """
    source = inspected.map_input
    if not source:
        reason = f"no step direction D at step {inspected.step}: no step has been taken yet"
        return reason, ("direction D", "exact polar factor")
    if inspected.residual is None:
        text = "no polar map in this lane's rule: its direction D (update −lr·D) against D's polar factor"
        return text, ("D: the lane's direction", "exact polar factor of D")
    shown = number_text(inspected.residual)
    the_map = f"{inspected.map_text} of {source}" if inspected.map_text else f"map of {source}"
    text = f"‖map − polar‖/‖polar‖ = {shown} ({the_map}; the update is −lr·D)"
    return text, (f"D: the lane's map of {source}", f"exact polar factor of {source}")
