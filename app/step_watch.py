"""Watches the engine's step in progress: past a second it shows a busy line with a Cancel button.

A step on a large problem takes minutes (d = 2048: about 160 s on one core, mostly SVDs), and the
window would otherwise sit at "step 0" with no sign of life. The engine says which step it is
computing and since when (:attr:`EngineLink.step_in_progress`); this polls that a few times a
second (no message per step, so fast runs cost nothing) and Cancel asks the engine to abandon the
step, which it undoes whole before pausing.
"""

from __future__ import annotations

import time

from PySide6 import QtCore

__all__ = ["BUSY_AFTER_S", "StepWatch"]

#: A step that has run this long gets the busy line.
BUSY_AFTER_S = 1.0
_POLL_MS = 250


class StepWatch(QtCore.QObject):
    """Shows ``bar`` (a BusyBar) while the engine of ``link`` is in a step longer than BUSY_AFTER_S."""

    def __init__(self, link, bar, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self._link = link
        self._bar = bar
        self._timer = QtCore.QTimer(self)
        self._timer.setInterval(_POLL_MS)
        self._timer.timeout.connect(self.poll)
        self._shown = None  # the StepInProgress on show
        bar.cancel_requested.connect(link.cancel_step)
        # a step's end comes with a message (its snapshot; a cancelled or failed step's note or
        # alert): look again then, so the line never outlives its step by a poll interval
        for signal in (link.snapshot, link.playing_changed, link.note, link.alert):
            signal.connect(self.poll)

    def start(self) -> None:
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()
        self._hide()

    def poll(self, *_message) -> None:
        busy = self._link.step_in_progress
        if busy != self._shown:  # that step ended (another may have begun)
            self._hide()
        elapsed_s = 0.0 if busy is None else time.monotonic() - busy.started_s
        if busy is None or elapsed_s < BUSY_AFTER_S:
            return
        self._shown = busy
        self._bar.show_busy(f"computing step {busy.step}", elapsed_s)

    def _hide(self) -> None:
        self._shown = None
        self._bar.done()
