"""Qt test hygiene: every test must leave no QThread running and no QTimer active."""

import pytest
from PySide6 import QtCore


@pytest.fixture(autouse=True)
def no_leaked_threads_or_timers(qapp, monkeypatch):
    """Record every QThread and QTimer started from Python; fail if one is still alive afterwards.

    Autouse and independent of qtbot, so it is set up before qtbot and checked after qtbot has
    closed the test's widgets (which is when windows stop their engines and timers).
    """
    threads, timers = [], []
    start_thread, start_timer = QtCore.QThread.start, QtCore.QTimer.start

    def track_thread(self, *args):
        threads.append(self)
        return start_thread(self, *args)

    def track_timer(self, *args):
        timers.append(self)
        return start_timer(self, *args)

    monkeypatch.setattr(QtCore.QThread, "start", track_thread)
    monkeypatch.setattr(QtCore.QTimer, "start", track_timer)
    yield
    qapp.processEvents()
    running = [t for t in threads if _alive(lambda t=t: t.isRunning())]
    active = [t for t in timers if _alive(lambda t=t: t.isActive() and not t.isSingleShot())]
    assert not running, f"{len(running)} QThread(s) still running after the test"
    assert not active, f"{len(active)} QTimer(s) still active after the test: {[t.parent() for t in active]}"


def _alive(probe) -> bool:
    try:
        return bool(probe())
    except RuntimeError:  # the C++ object is gone: certainly not running
        return False
