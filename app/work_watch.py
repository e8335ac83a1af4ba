"""Watches the engine's work in progress: past a second it shows a busy line, with Cancel where it can.

A step on a large problem takes minutes (d = 2048: about 160 s on one core, mostly SVDs), building
such a run takes seconds, and so can a rewind that replays hundreds of steps or saving a long
session; the window would otherwise sit still with no sign of life. The engine says what it is
computing and since when (:attr:`EngineLink.work_in_progress`); this polls that a few times a
second (no message per step, so fast runs cost nothing) and Cancel asks the engine to stop it: a
step is undone whole, a rewind stays where its replay got to.
"""

from __future__ import annotations

import time

from PySide6 import QtCore

__all__ = ["BUSY_AFTER_S", "WorkWatch"]

#: Work that has run this long gets the busy line.
BUSY_AFTER_S = 1.0
_POLL_MS = 250


class WorkWatch(QtCore.QObject):
    """Shows ``bar`` (a BusyBar) while the engine of ``link`` is busy with work longer than BUSY_AFTER_S."""

    def __init__(self, link, bar, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self._link = link
        self._bar = bar
        self._timer = QtCore.QTimer(self)
        self._timer.setInterval(_POLL_MS)
        self._timer.timeout.connect(self.poll)
        self._shown_since: float | None = None  # started_s of the work on show
        bar.cancel_requested.connect(link.cancel_step)
        # work ends with a message (a step's snapshot; a cancelled or failed step's note or alert; a
        # rewind's position): look again then, so the line never outlives its work by a poll interval
        for signal in (link.snapshot, link.playing_changed, link.note, link.alert):
            signal.connect(self.poll)

    def start(self) -> None:
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()
        self._hide()

    def poll(self, *_message) -> None:
        work = self._link.work_in_progress
        if work is None or work.started_s != self._shown_since:  # that work ended (more may have begun)
            self._hide()
        elapsed_s = 0.0 if work is None else time.monotonic() - work.started_s
        if work is None or elapsed_s < BUSY_AFTER_S:
            return
        self._shown_since = work.started_s
        self._bar.show_busy(work.what, elapsed_s, work.cancel_means)

    def _hide(self) -> None:
        if self._shown_since is not None:
            self._shown_since = None
            self._bar.done()
