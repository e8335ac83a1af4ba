"""What the window and the engine say to each other: commands in, messages out.

Every command and message is a small frozen dataclass; Snapshots (the engine's state after a step)
travel beside the messages listed here. :mod:`muonscope.app.engine_loop` acts on the commands and
yields the messages; the window's side (:mod:`muonscope.app.engine_link`, the controllers) builds
the commands and reads the messages. The debugger's own commands and messages live in
:mod:`muonscope.app.debugger`.
"""

from __future__ import annotations

from dataclasses import dataclass

from muonscope.app.debugger import (
    BackToRunBefore,
    BranchComparison,
    BranchesChanged,
    BreakpointsChanged,
    CompareBranch,
    GoTo,
    HistoryReplaced,
    Inspect,
    Inspection,
    OpenSession,
    RunKept,
    Saved,
    SaveSession,
    SetBreakpoints,
    SwitchBranch,
    UnsavedWork,
)
from muonscope.engine.changes import Change
from muonscope.engine.config import ExperimentConfig
from muonscope.engine.snapshot import Snapshot

__all__ = [
    "Alert",
    "Apply",
    "CancelStep",
    "Command",
    "FrameShown",
    "Message",
    "Note",
    "Pace",
    "Paced",
    "Pause",
    "Play",
    "PlayingChanged",
    "Rejected",
    "Reset",
    "SetSpeed",
    "Step",
    "WorkInProgress",
]


# ---- commands (window → engine) ---------------------------------------------------------------


@dataclass(frozen=True)
class Play:
    """Step continuously (at most at the set speed)."""


@dataclass(frozen=True)
class Pause:
    """Stop after the step in progress."""


@dataclass(frozen=True)
class Step:
    """Take exactly ``n`` more steps, then pause."""

    n: int = 1


@dataclass(frozen=True)
class Apply:
    """A change for the next step boundary."""

    change: Change


@dataclass(frozen=True)
class Reset:
    """Restart from W = 0: same settings, a new seed, or a whole new config."""

    seed: int | None = None
    config: ExperimentConfig | None = None
    #: What a refusal says was not done: "Not restarted", or "Not opened" of a preset or a file's config.
    refused_as: str = "Not restarted"


@dataclass(frozen=True)
class SetSpeed:
    """Upper limit on steps per second while playing; 0 for no limit."""

    steps_per_s: float


@dataclass(frozen=True)
class Pace:
    """While on, no step is taken before the window has drawn the step the engine stands on.

    A recording needs a frame of every step, however much faster the engine is than the screen.
    """

    on: bool


@dataclass(frozen=True)
class FrameShown:
    """The window has drawn a frame of ``step`` (what a paced engine waits for)."""

    step: int


@dataclass(frozen=True)
class CancelStep:
    """Abandon the step in progress (it is undone whole), drop the steps queued after it, and pause.

    Sent by :meth:`EngineLoop.cancel_step`, which first raises the flag the step itself checks.
    """


Command = (
    Play
    | Pause
    | CancelStep
    | Step
    | Apply
    | Reset
    | SetSpeed
    | Pace
    | FrameShown
    | GoTo
    | SetBreakpoints
    | SaveSession
    | OpenSession
    | Inspect
    | SwitchBranch
    | CompareBranch
    | BackToRunBefore
)


@dataclass(frozen=True)
class WorkInProgress:
    """What the engine is doing now that may take long, and since when (``time.monotonic()``).

    A step on a large memory, building a d = 2048 run, replaying hundreds of steps to rewind or to
    inspect, saving or opening a long session: each takes seconds to minutes, and the window's busy
    line says which past a second. A piece of work with progress (a replay) is replaced by a new
    value with the same ``started_s`` as it advances.
    """

    what: str  # "computing step 12", "going back to step 400: 120 of 511 steps replayed"
    started_s: float
    step: int | None = None  # the step being computed, when the work is one step
    cancel_means: str | None = None  # what Cancel does to it; None: it cannot be cancelled


# ---- messages (engine → window), besides the Snapshots themselves ------------------------------


@dataclass(frozen=True)
class PlayingChanged:
    """Whether the run moves: ``playing``, or stepping to ``run_to`` (step N, a go-to ahead), which
    pause stops as it stops playing."""

    playing: bool
    run_to: int | None = None


@dataclass(frozen=True)
class Alert:
    """A failure or a diverged lane: the run paused, nothing computed is lost.

    ``until_moved``: the text describes where the run stands (paused here, and why), so it stops
    being true once the run moves on: plays, steps, restarts or jumps.
    """

    text: str
    until_moved: bool = False


@dataclass(frozen=True)
class Note:
    """Something worth knowing that is not a problem (``until_moved`` as for an :class:`Alert`)."""

    text: str
    until_moved: bool = False


@dataclass(frozen=True)
class Rejected:
    """A change the engine refused; the next Snapshot carries the config still in force."""

    text: str


@dataclass(frozen=True)
class Paced:
    """Pacing went on (or off) with the engine at ``step``: with it on, every later step gets drawn."""

    on: bool
    step: int


Message = (
    Snapshot
    | PlayingChanged
    | Paced
    | Alert
    | Note
    | Rejected
    | HistoryReplaced
    | BranchesChanged
    | BreakpointsChanged
    | Saved
    | RunKept
    | UnsavedWork
    | Inspection
    | BranchComparison
)
