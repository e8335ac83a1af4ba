"""Work that must not block the window: sweeps and one-off computations on their own QThread.

Same pattern as the engine thread: a worker QObject moved to a QThread, results back through
queued signals, a cancel that ends the work at the next opportunity, and a stop that waits.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable
from typing import Any

from PySide6 import QtCore

from muonscope.engine.sweep import SweepPoint, SweepRunner

__all__ = ["BackgroundJob", "SweepJob"]

log = logging.getLogger(__name__)


class _Worker(QtCore.QObject):
    progressed = QtCore.Signal(object, int, int)  # (result or None, done, total)
    finished = QtCore.Signal(object, bool)  # (final value, cancelled)
    failed = QtCore.Signal(str)

    def __init__(self, body: Callable[[_Worker], Any]) -> None:
        super().__init__()
        self._body = body
        self.cancelled = False
        self.runner: SweepRunner | None = None

    @QtCore.Slot()
    def run(self) -> None:
        try:
            value = self._body(self)
        except Exception as exc:
            log.error("background job failed:\n%s", "".join(traceback.format_exception(exc)))
            self.failed.emit(f"{type(exc).__name__}: {exc}")
            self.finished.emit(None, self.cancelled)
            return
        self.finished.emit(value, self.cancelled)

    def cancel(self) -> None:
        self.cancelled = True
        if self.runner is not None:
            self.runner.cancel()


class BackgroundJob(QtCore.QObject):
    """Runs ``body(worker)`` on a QThread; connect to ``worker.finished`` / ``failed``."""

    def __init__(self, body: Callable[[_Worker], Any], parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self.thread = QtCore.QThread()
        self.thread.setObjectName("muonscope-job")
        self.worker = _Worker(body)
        self.worker.moveToThread(self.thread)
        self.thread.started.connect(self.worker.run)
        self.worker.finished.connect(self.thread.quit, QtCore.Qt.ConnectionType.DirectConnection)

    def start(self) -> None:
        self.thread.start()

    def cancel(self) -> None:
        self.worker.cancel()

    @property
    def running(self) -> bool:
        return self.thread.isRunning()

    def stop(self) -> bool:
        """Cancel and wait for the thread (sweep workers are terminated, so this is quick)."""
        self.cancel()
        self.thread.quit()
        return self.thread.wait()


class SweepJob(BackgroundJob):
    """A sweep: each finished point is emitted through ``worker.progressed`` as it arrives."""

    def __init__(
        self, points: list[SweepPoint], parent: QtCore.QObject | None = None, workers: int = 0
    ) -> None:
        def body(worker: _Worker) -> None:
            worker.runner = SweepRunner(points, workers=workers)
            if worker.cancelled:
                return
            for result in worker.runner:
                worker.progressed.emit(result, worker.runner.done, worker.runner.total)
                if worker.cancelled:
                    return

        super().__init__(body, parent)
