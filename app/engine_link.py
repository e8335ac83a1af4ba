"""The window's link to its engine: an EngineLoop run as a background Job, its messages as Qt signals."""

from __future__ import annotations

from collections.abc import Callable

from PySide6 import QtCore

from muonscope.app.background import Job
from muonscope.app.debugger import (
    BranchComparison,
    BranchesChanged,
    BreakpointsChanged,
    HistoryReplaced,
    Inspection,
    RunKept,
    Saved,
    StepRecalled,
    UnsavedWork,
)
from muonscope.app.engine_loop import EngineLoop
from muonscope.app.engine_protocol import (
    Alert,
    Command,
    Note,
    Paced,
    PlayingChanged,
    Rejected,
    WorkInProgress,
)
from muonscope.engine.config import ExperimentConfig
from muonscope.engine.experiment import Experiment
from muonscope.engine.session import Session
from muonscope.engine.snapshot import Snapshot
from muonscope.engine.thread_count import ThreadChooser

__all__ = ["MAX_IN_FLIGHT", "EngineLink"]

#: Snapshots (and messages) that may wait on the main thread before the engine waits for the window.
MAX_IN_FLIGHT = 64


class EngineLink(QtCore.QObject):
    """Commands in with :meth:`submit`; snapshots and messages out as signals on the main thread."""

    snapshot = QtCore.Signal(object)  # Snapshot: one per step, and one per applied change
    playing_changed = QtCore.Signal(bool)  # whether the run moves: playing, or running to a step
    running_to = QtCore.Signal(object)  # the step a run to a step ends at (None: none), before the above
    paced = QtCore.Signal(bool, int)  # pacing on/off, and the step the engine stood on then
    # (text, until_moved): an engine failure or a diverged lane, the run paused; until_moved says
    # the text describes where the run stands and stops being true once it moves on
    alert = QtCore.Signal(str, bool)
    note = QtCore.Signal(str, bool)  # (text, until_moved): something worth knowing, not a problem
    rejected = QtCore.Signal(str)  # a change the engine refused
    history_replaced = QtCore.Signal(object)  # HistoryReplaced: after a jump, a fork or an open
    comparison = QtCore.Signal(object)  # BranchComparison: another branch's metrics, drawn faded
    branches_changed = QtCore.Signal(object)  # BranchesChanged
    breakpoints_changed = QtCore.Signal(object)  # BreakpointsChanged
    saved = QtCore.Signal(object)  # Saved: a session written (or opened, or the run before brought back)
    run_kept = QtCore.Signal(object)  # RunKept: the run replaced is kept, to be brought back
    unsaved_changed = QtCore.Signal(object)  # UnsavedWork: which runs hold work not saved
    inspected = QtCore.Signal(object)  # Inspection
    recalled = QtCore.Signal(object)  # StepRecalled: a recorded step's snapshot, recomputed

    def __init__(
        self,
        config: ExperimentConfig,
        factory: Callable[[ExperimentConfig], Experiment] = Experiment,
        parent: QtCore.QObject | None = None,
        session: Session | None = None,
        threads: ThreadChooser | None = None,
    ) -> None:
        super().__init__(parent)
        self.loop = EngineLoop(config, factory, session, threads)
        self.job = Job(self.loop.run, "muonscope-engine", MAX_IN_FLIGHT, self)
        self.job.yielded.connect(self._dispatch)
        self.job.failed.connect(
            lambda message: self.alert.emit(f"The engine thread failed: {message}", False)
        )

    def start(self) -> None:
        self.job.start()

    def submit(self, command: Command) -> None:
        self.loop.submit(command)

    def cancel_step(self) -> None:
        """Abandon the step in progress (undone whole) or stop a rewind's replay where it is, drop
        the queued steps, pause."""
        self.loop.cancel_step()

    @property
    def work_in_progress(self) -> WorkInProgress | None:
        """What the engine is computing now: a step, a new run, a replay, a save (None when it waits)."""
        return self.loop.work_in_progress

    @property
    def steps_queued(self) -> int:
        """Steps the engine will still take before it pauses (step N, go to a later step)."""
        return self.loop.steps_queued

    @property
    def running(self) -> bool:
        return self.job.running

    def request_stop(self) -> None:
        """Ask the loop to end, without waiting: a step in progress is abandoned at its next
        cancellation point. :meth:`stop` then waits (for less, if it has ended meanwhile)."""
        self.job.cancel()

    def stop(self, deadline_ms: int = 1000) -> bool:
        """End the loop, abandoning the step in progress; False if that step outlasts the deadline
        (its thread then ends on its own, and nothing more of it reaches the window)."""
        return self.job.stop(deadline_ms)

    @QtCore.Slot(object)
    def _dispatch(self, message: object) -> None:
        if isinstance(message, Snapshot):
            self.snapshot.emit(message)
        elif isinstance(message, PlayingChanged):
            self.running_to.emit(message.run_to)
            self.playing_changed.emit(message.playing)
        elif isinstance(message, Paced):
            self.paced.emit(message.on, message.step)
        elif isinstance(message, Alert):
            self.alert.emit(message.text, message.until_moved)
        elif isinstance(message, Note):
            self.note.emit(message.text, message.until_moved)
        elif isinstance(message, Rejected):
            self.rejected.emit(message.text)
        else:
            self._debugger_signal(message).emit(message)

    def _debugger_signal(self, message: object) -> QtCore.SignalInstance:
        signals = {
            HistoryReplaced: self.history_replaced,
            BranchesChanged: self.branches_changed,
            BreakpointsChanged: self.breakpoints_changed,
            Saved: self.saved,
            RunKept: self.run_kept,
            UnsavedWork: self.unsaved_changed,
            Inspection: self.inspected,
            BranchComparison: self.comparison,
            StepRecalled: self.recalled,
        }
        return signals[type(message)]
