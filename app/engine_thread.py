"""The engine on a QThread: commands in through a queue, snapshots out through a queued signal.

The worker runs a plain loop — drain commands, take a step if playing, publish the snapshot — so
it never depends on its thread's event loop to be told to pause or stop. Snapshots are emitted
once per step with a credit system: when the UI falls more than ``MAX_IN_FLIGHT`` snapshots
behind, the worker waits rather than flooding the event queue, so no step's metrics are dropped
and memory stays bounded.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass

from PySide6 import QtCore

from muonscope.engine import ConfigError, Experiment, ExperimentConfig
from muonscope.engine.changes import Change

__all__ = ["Apply", "EngineThread", "EngineWorker", "Pause", "Play", "Reset", "SetSpeed", "Step"]

log = logging.getLogger(__name__)

MAX_IN_FLIGHT = 64
_IDLE_WAIT_S = 0.05
_RECEIPT_WAIT_S = 0.1


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


@dataclass(frozen=True)
class SetSpeed:
    """Upper limit on steps per second while playing; 0 for no limit."""

    steps_per_s: float


Command = Play | Pause | Step | Apply | Reset | SetSpeed


class EngineWorker(QtCore.QObject):
    """Owns the Experiment; lives in the engine thread once moved there."""

    snapshot_ready = QtCore.Signal(object)  # Snapshot
    run_started = QtCore.Signal(object)  # ExperimentConfig of a (re)started run, before its snapshots
    playing_changed = QtCore.Signal(bool)
    alert = QtCore.Signal(str)  # an engine failure or a diverged lane: the run paused
    note = QtCore.Signal(str)  # something worth knowing that is not a problem
    rejected = QtCore.Signal(str, object)  # an invalid change: message, the config still in force
    finished = QtCore.Signal()

    def __init__(
        self, config: ExperimentConfig, factory: Callable[[ExperimentConfig], Experiment] = Experiment
    ):
        super().__init__()
        self._config = config
        self._factory = factory
        self._commands: queue.SimpleQueue[Command] = queue.SimpleQueue()
        self._stop = threading.Event()
        self._credits = threading.Semaphore(MAX_IN_FLIGHT)
        self._experiment: Experiment | None = None
        self._playing = False
        self._steps_left = 0
        self._min_interval_s = 0.0
        self._last_step_at = 0.0
        self._diverged_seen = 0

    # ---- called from the UI thread -----------------------------------------------------------

    def submit(self, command: Command) -> None:
        """Queue a command; thread-safe and non-blocking."""
        self._commands.put(command)

    def request_stop(self) -> None:
        self._stop.set()

    def acknowledge(self) -> None:
        """The UI has taken one snapshot off the queue (returns one credit)."""
        self._credits.release()

    # ---- the loop, in the engine thread ------------------------------------------------------

    @QtCore.Slot()
    def run(self) -> None:
        try:
            self._start(self._config)
            while not self._stop.is_set():
                self._drain(block=not self._busy())
                if self._stop.is_set():
                    break
                if self._busy() and self._due():
                    self._take_step()
        finally:
            self.finished.emit()

    def _busy(self) -> bool:
        return self._experiment is not None and (self._playing or self._steps_left > 0)

    def _due(self) -> bool:
        """Whether the speed limit allows a step now (sleeping in short slices otherwise)."""
        if self._steps_left > 0 or self._min_interval_s == 0:
            return True
        wait = self._last_step_at + self._min_interval_s - time.perf_counter()
        if wait > 0:
            self._drain(block=True, timeout=min(wait, _IDLE_WAIT_S))
            return False
        return True

    def _drain(self, block: bool, timeout: float = _IDLE_WAIT_S) -> None:
        try:
            command = self._commands.get(timeout=timeout) if block else self._commands.get_nowait()
        except queue.Empty:
            return
        while True:
            self._handle(command)
            try:
                command = self._commands.get_nowait()
            except queue.Empty:
                break
        self._commit_changes()

    def _commit_changes(self) -> None:
        """Apply accepted changes at this boundary and show them at once (they govern the next step).

        The worker then waits (briefly) until the UI has received that snapshot, so the frame that
        shows the user's change is not competing with the next step for the CPU.
        """
        if self._experiment is not None and self._experiment.commit():
            self._publish()
            self._await_receipt(_RECEIPT_WAIT_S)

    def _await_receipt(self, timeout_s: float) -> None:
        deadline = time.perf_counter() + timeout_s
        taken = 0
        while taken < MAX_IN_FLIGHT and time.perf_counter() < deadline and not self._stop.is_set():
            if self._credits.acquire(timeout=0.005):
                taken += 1
        for _ in range(taken):
            self._credits.release()

    def _handle(self, command: Command) -> None:
        if isinstance(command, Play):
            self._set_playing(self._experiment is not None)
        elif isinstance(command, Pause):
            self._steps_left = 0
            self._set_playing(False)
        elif isinstance(command, Step):
            self._set_playing(False)
            self._steps_left += command.n
        elif isinstance(command, SetSpeed):
            self._min_interval_s = 1.0 / command.steps_per_s if command.steps_per_s > 0 else 0.0
        elif isinstance(command, Apply):
            self._apply(command.change)
        elif isinstance(command, Reset):
            self._reset(command)

    def _apply(self, change: Change) -> None:
        if self._experiment is None:
            return
        try:
            self._experiment.apply(change)
        except ConfigError as exc:
            self.rejected.emit(str(exc), self._experiment.config)

    def _reset(self, command: Reset) -> None:
        self._steps_left = 0
        self._set_playing(False)
        if command.config is not None or self._experiment is None:
            config = command.config or self._config
            if command.seed is not None:
                config = config.with_value("task.seed", command.seed)
            self._start(config)
            return
        try:
            self._experiment.reset(seed=command.seed)
        except Exception as exc:
            self._fail("reset", exc)
            return
        self._diverged_seen = 0
        self.run_started.emit(self._experiment.config)
        self._publish()

    def _start(self, config: ExperimentConfig) -> None:
        """Build a new experiment; on failure keep the previous one (nothing computed is lost)."""
        try:
            experiment = self._factory(config)
        except Exception as exc:
            self._fail("start", exc)
            return
        self._experiment = experiment
        self._config = config
        self._diverged_seen = 0
        self.run_started.emit(experiment.config)
        self._publish()

    def _take_step(self) -> None:
        self._last_step_at = time.perf_counter()
        try:
            self._experiment.step()
        except Exception as exc:
            self._steps_left = 0
            self._set_playing(False)
            self._fail(f"step {self._experiment.step_count + 1}", exc)
            return
        if self._steps_left > 0:
            self._steps_left -= 1
        self._publish()
        self._check_divergence()
        self._check_run_length()

    def _check_run_length(self) -> None:
        """Pause once when playing reaches the run's length (``run.steps``); play continues past it."""
        length = self._experiment.config.run.steps
        if self._playing and self._experiment.step_count == length:
            self._set_playing(False)
            self.note.emit(f"Reached the run's {length} steps and paused; press play to go on.")

    def _check_divergence(self) -> None:
        diverged = [e for e in self._experiment.events if e.field.endswith(".diverged")]
        if len(diverged) > self._diverged_seen:
            self._diverged_seen = len(diverged)
            self._steps_left = 0
            self._set_playing(False)
            self.alert.emit(
                f"Paused at step {self._experiment.step_count}: {diverged[-1].text}. "
                "Its last finite weights are kept; the other lanes can continue."
            )

    def _publish(self) -> None:
        while not self._credits.acquire(timeout=_IDLE_WAIT_S):
            if self._stop.is_set():
                return
        self.snapshot_ready.emit(self._experiment.snapshot())

    def _set_playing(self, playing: bool) -> None:
        if playing != self._playing:
            self._playing = playing
            self.playing_changed.emit(playing)

    def _fail(self, where: str, exc: Exception) -> None:
        log.error("engine failure during %s:\n%s", where, "".join(traceback.format_exception(exc)))
        kind = "invalid settings" if isinstance(exc, ConfigError) else type(exc).__name__
        self.alert.emit(
            f"The engine stopped during {where} ({kind}): {exc}. The run is paused; "
            "everything computed so far is kept."
        )


class EngineThread(QtCore.QObject):
    """Starts the worker on its own QThread and stops it within a second on request."""

    def __init__(self, config: ExperimentConfig, factory=Experiment, parent: QtCore.QObject | None = None):
        super().__init__(parent)
        self.thread = QtCore.QThread()
        self.thread.setObjectName("muonscope-engine")
        self.worker = EngineWorker(config, factory)
        self.worker.moveToThread(self.thread)
        self.thread.started.connect(self.worker.run)
        # Direct: quit() must reach the thread before its event loop starts, or exec() would block
        # waiting for a main thread that may itself be waiting in stop().
        self.worker.finished.connect(self.thread.quit, QtCore.Qt.ConnectionType.DirectConnection)

    def start(self) -> None:
        self.thread.start()

    def submit(self, command: Command) -> None:
        self.worker.submit(command)

    def stop(self, timeout_ms: int = 1000) -> bool:
        """Ask the loop to end after the current step and wait for the thread to finish."""
        if not self.thread.isRunning():
            return True
        self.worker.request_stop()
        self.thread.quit()
        stopped = self.thread.wait(QtCore.QDeadlineTimer(timeout_ms))
        if not stopped:
            log.warning("engine thread still busy after %d ms; waiting for its step to end", timeout_ms)
            stopped = self.thread.wait()
        return stopped
