"""Background work for the window: one adapter that runs a generator on its own QThread.

Every long computation — the engine's run loop, a capacity sweep, a ray search — is a plain
generator function ``body(control)`` that knows nothing of Qt. :class:`Job` runs it on a QThread
and hands each value it yields to the main thread, in order, through ``yielded``; its return value
arrives through ``returned`` and an exception through ``failed``; ``finished`` always comes last.

Backpressure: at most ``max_in_flight`` yielded values wait on the main thread's event queue; a
body that gets that far ahead waits at its next ``yield`` (checking for cancellation) instead of
flooding the window, so no value is dropped and memory stays bounded. Cancellation is a request
the body sees between yields (``control.cancelled``); :meth:`Job.stop` cancels and waits with a
deadline. From the moment ``stop`` is called the thread emits nothing more: a body still computing
at the deadline (an SVD cannot be interrupted) is left to end on its own, touching no Qt object
on the way, and the process may end without waiting for it (:func:`abandoned_jobs`).
"""

from __future__ import annotations

import logging
import threading
import traceback
from collections.abc import Callable, Generator
from typing import Any

from PySide6 import QtCore

__all__ = ["Job", "JobControl", "abandoned_jobs"]

log = logging.getLogger(__name__)

Body = Callable[["JobControl"], Generator[Any, None, Any]]
_POLL_S = 0.05
#: Threads that outlived their job's stop() deadline, kept referenced for the life of the process.
_ABANDONED: set[QtCore.QThread] = set()


class JobControl:
    """What a job's body sees: whether it is cancelled, and how far ahead of the window it is."""

    def __init__(self, max_in_flight: int) -> None:
        self._cancel = threading.Event()
        self._limit = max_in_flight
        self._in_flight = 0
        self._condition = threading.Condition()
        self._on_cancel: list[Callable[[], None]] = []
        self._stopped = False  # set by Job.stop: the thread emits nothing from then on
        self._emitting = threading.Lock()  # held while the thread emits, and while stop() sets _stopped

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def cancel(self) -> None:
        """Request the end: the body sees ``cancelled`` and blocked waits wake up."""
        if not self._cancel.is_set():
            self._cancel.set()
            for callback in self._on_cancel:
                callback()
        with self._condition:
            self._condition.notify_all()

    def on_cancel(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` (from the cancelling thread) when the job is cancelled.

        For bodies that block inside a library call (a process pool) that has its own cancel.
        """
        self._on_cancel.append(callback)
        if self.cancelled:
            callback()

    @property
    def in_flight(self) -> int:
        """Values yielded but not yet handed to the window."""
        return self._in_flight

    def wait_delivered(self, timeout_s: float) -> bool:
        """Wait until the window has received everything yielded so far; False on timeout."""
        with self._condition:
            return self._condition.wait_for(lambda: self._in_flight == 0 or self.cancelled, timeout_s)

    # ---- used by the Job --------------------------------------------------------------------

    def _stop(self) -> None:
        """No emission from the thread after this returns (one under way is waited for), then cancel."""
        with self._emitting:
            self._stopped = True
        self.cancel()

    def _emit(self, signal: QtCore.SignalInstance, *args: Any) -> bool:
        """Emit ``signal`` from the thread unless the job was stopped; False if it was."""
        with self._emitting:
            if self._stopped:
                return False
            signal.emit(*args)
            return True

    def _take(self) -> bool:
        """One slot on the way to the window; False if cancelled while waiting for it."""
        with self._condition:
            while self._in_flight >= self._limit:
                if self.cancelled:
                    return False
                self._condition.wait(_POLL_S)
            self._in_flight += 1
            return True

    def _give(self) -> None:
        with self._condition:
            self._in_flight -= 1
            self._condition.notify_all()


class _Runner(QtCore.QThread):
    """The thread: drives the generator and emits what it yields (queued to the Job)."""

    item = QtCore.Signal(object)
    returned = QtCore.Signal(object)
    failed = QtCore.Signal(str)

    def __init__(self, body: Body, control: JobControl, name: str) -> None:
        super().__init__()
        self.setObjectName(name)
        self._body = body
        self._control = control

    def run(self) -> None:
        control = self._control
        try:
            generator = self._body(control)
            while True:
                try:
                    value = next(generator)
                except StopIteration as stop:
                    control._emit(self.returned, stop.value)
                    return
                if control.cancelled or not control._take() or not control._emit(self.item, value):
                    generator.close()
                    return
        except Exception as exc:
            log.error("%s failed:\n%s", self.objectName(), "".join(traceback.format_exception(exc)))
            control._emit(self.failed, f"{type(exc).__name__}: {exc}")


class Job(QtCore.QObject):
    """Runs ``body(control)`` on a QThread named ``name``; see the module docstring."""

    yielded = QtCore.Signal(object)
    returned = QtCore.Signal(object)
    failed = QtCore.Signal(str)
    finished = QtCore.Signal()

    def __init__(
        self,
        body: Body,
        name: str = "muonscope-job",
        max_in_flight: int = 64,
        parent: QtCore.QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.control = JobControl(max_in_flight)
        self._stopped = False
        self._runner = _Runner(body, self.control, name)
        self._runner.item.connect(self._on_item)
        self._runner.returned.connect(self._on_returned)
        self._runner.failed.connect(self._on_failed)
        self._runner.finished.connect(self._on_finished)

    @property
    def running(self) -> bool:
        """True from :meth:`start` until the body has ended."""
        return self._runner.isRunning()

    @property
    def cancelled(self) -> bool:
        return self.control.cancelled

    def start(self) -> None:
        self._runner.start()

    def cancel(self) -> None:
        """Ask the body to end at its next yield; what it yields until then is still delivered."""
        self.control.cancel()

    def stop(self, deadline_ms: int = 1000) -> bool:
        """Cancel, deliver nothing more, and wait up to ``deadline_ms`` for the thread to end.

        Returns False when the body is still busy (a long engine step) at the deadline; its thread
        is then kept alive, with nothing connected to it and emitting nothing, until it ends on its
        own (or the process ends first).
        """
        self._stopped = True
        self.control._stop()
        runner = self._runner
        # held before the wait: a second Ctrl-C raised as it returns left the thread to be collected
        # with the window, still running, and a QThread destroyed while running aborts the process
        _ABANDONED.add(runner)
        if not runner.isRunning() or runner.wait(QtCore.QDeadlineTimer(max(0, deadline_ms))):
            _ABANDONED.discard(runner)
            return True
        # info, not a warning: a command stopped by Ctrl-C in a long step does this by design
        log.info("%s still busy after %d ms; it ends on its own", runner.objectName(), deadline_ms)
        for signal in (runner.item, runner.returned, runner.failed, runner.finished):
            signal.disconnect()
        return False

    # ---- on the main thread ----------------------------------------------------------------

    @QtCore.Slot(object)
    def _on_item(self, value: Any) -> None:
        try:
            if not self._stopped:
                self.yielded.emit(value)
        finally:
            self.control._give()

    @QtCore.Slot(object)
    def _on_returned(self, value: Any) -> None:
        if not self._stopped:
            self.returned.emit(value)

    @QtCore.Slot(str)
    def _on_failed(self, message: str) -> None:
        if not self._stopped:
            self.failed.emit(message)

    @QtCore.Slot()
    def _on_finished(self) -> None:
        if not self._stopped:
            self.finished.emit()


def abandoned_jobs() -> int:
    """Threads still running after their job's stop() deadline (the process may need to end them)."""
    return sum(1 for runner in _ABANDONED if runner.isRunning())
