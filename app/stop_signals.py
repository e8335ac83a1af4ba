"""Ctrl-C and SIGTERM as requests to stop between steps: what a long command (run, record, shot)
does about them, and says at once.
"""

from __future__ import annotations

import signal
import sys
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Any

__all__ = [
    "EXIT_INTERRUPTED",
    "StopRequest",
    "forget_if_left_empty",
    "points_kept_text",
    "stop_signals",
    "stopped_while_the_window_opened",
    "stops_recorded_while_the_window_opens",
    "window_closes_on_ctrl_c",
]

#: How often the window's event loop hands Python a moment to run a Ctrl-C handler (Python runs
#: signal handlers between its own bytecodes, which a loop idle in Qt's C++ does not execute).
_CTRL_C_POLL_MS = 200

#: The exit status of a command stopped by Ctrl-C or SIGTERM (128 + SIGINT, as shells report it).
EXIT_INTERRUPTED = 130


#: Set by a Ctrl-C or SIGTERM between the window command's start and its window's own handling.
_STOPPED_WHILE_OPENING = threading.Event()


def stops_recorded_while_the_window_opens() -> None:
    """From here until :func:`window_closes_on_ctrl_c` takes them over, Ctrl-C and SIGTERM are
    recorded, not raised: the window then closes at once (exit 130).

    Raised as Python raises a Ctrl-C, one in the first second was swallowed by a library being
    imported, and the window opened and played on; SIGTERM ended it with 143, without a word; and a
    shell starts a job of a script with Ctrl-C ignored, which the window did not see at all.
    """
    if threading.current_thread() is not threading.main_thread():
        return

    def record(_signum: int, _frame: Any) -> None:
        _STOPPED_WHILE_OPENING.set()

    for stopping in (signal.SIGINT, signal.SIGTERM):
        signal.signal(stopping, record)


def stopped_while_the_window_opened() -> bool:
    """Whether a Ctrl-C or SIGTERM came while the window opened (see above), since this was last
    asked: the one who acts on it takes it."""
    stopped = _STOPPED_WHILE_OPENING.is_set()
    _STOPPED_WHILE_OPENING.clear()
    return stopped


def points_kept_text(points: int, cached: bool, planned: int | None = None) -> str:
    """``after 3 of 12 points; they stay cached: …``: what an interrupted sweep leaves, as stderr
    says it (``planned``: the points it would have computed, where known)."""
    if points == 0:
        return "before its first point was done"
    of = "" if planned is None else f" of {planned}"
    done = f"after {points}{of} point{'' if (planned or points) == 1 else 's'}"
    return done + ("; they stay cached: the same command picks up from there" if cached else "")


def forget_if_left_empty(folder: Path, existed: bool) -> None:
    """Remove an output folder the command made and then wrote nothing into (it was interrupted
    before its outputs): a stopped reproduction left an empty folder behind."""
    if not existed and folder.is_dir() and not any(folder.iterdir()):
        folder.rmdir()


class StopRequest(threading.Event):
    """Set by the first Ctrl-C or SIGTERM; ``then`` is what the command does about it, as stderr
    says at once (a command past its steps, saving, says so: the save went on in silence)."""

    def __init__(self) -> None:
        super().__init__()
        self.then = "stopping after the step under way"
        #: What a second one does, where it does more than the first (None: the first stops at once,
        #: and a second changes nothing).
        self.again: str | None = "at once"


@contextmanager
def stop_signals(command: str = "run"):
    """The first Ctrl-C or SIGTERM asks the run to stop between steps (what was computed is kept and
    saved, as a job scheduler's SIGTERM expects) and says so at once: a step of a big memory and the
    evaluation after it took seconds with nothing on the screen. A second one interrupts at once."""
    stop = StopRequest()
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return

    def on_stop(_signum: int, _frame: Any) -> None:
        if stop.is_set():
            if stop.again is None:  # the first stops at once already
                return
            raise KeyboardInterrupt
        stop.set()
        from tqdm import tqdm  # clears a progress bar for the line and draws it again below

        again = "" if stop.again is None else f" (again: {stop.again})"
        tqdm.write(f"muonscope {command}: {stop.then}{again}", file=sys.stderr)

    stopping = (signal.SIGINT, signal.SIGTERM)
    previous = {signum: signal.signal(signum, on_stop) for signum in stopping}
    try:
        yield stop
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


@contextmanager
def window_closes_on_ctrl_c(window, guard, asks: bool = True):
    """Ctrl-C in the terminal that opened the window (or SIGTERM) closes it as its close button does
    (asking first where work is not saved, where ``asks``: a window on a screen) and says so; a second
    one closes it without asking (``guard``, the window's
    :class:`~muonscope.app.close_guard.CloseGuard`, stops asking), the engine stopped as on any close,
    and the program exits 130.

    Python's own Ctrl-C raised KeyboardInterrupt inside whichever slot ran: a traceback from the
    frame clock, and the window stayed. A close the user declines in its question forgets the
    Ctrl-C, so that a later one asks again rather than closing at once; one put off until the save
    chosen there is written does not (it exited 0, as if closed by hand), unless that save fails.
    """
    from PySide6 import QtCore, QtWidgets

    stop = StopRequest()
    stop.then = (
        "closing the window (it asks first where work is not saved)"
        if asks
        else "closing the window (no screen to ask on whether to save first: it closes as it is)"
    )
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return
    forced = threading.Event()

    def close_or_forget() -> None:
        if not window.close() and not forced.is_set() and not guard.closes_once_saved:
            stop.clear()  # the user chose to stay

    def on_ctrl_c(_signum: int, _frame: Any) -> None:
        again = stop.is_set()
        if not again:
            stop.set()
            sys.stderr.write(f"muonscope: {stop.then}{' (again: without asking)' if asks else ''}\n")
        if again or not asks:
            forced.set()
            guard.stop_asking()
            question = QtWidgets.QApplication.activeModalWidget()
            if question is not None:
                question.close()  # answered "Cancel"; the close below no longer asks
        QtCore.QTimer.singleShot(0, close_or_forget)

    wake = QtCore.QTimer()
    wake.timeout.connect(lambda: None)
    wake.start(_CTRL_C_POLL_MS)
    if stopped_while_the_window_opened():  # as it opened: said and acted on now that it is up
        on_ctrl_c(signal.SIGINT, None)
    # SIGTERM too, as the headless commands take it: it ended the window with 143, and said nothing
    previous = {stopping: signal.signal(stopping, on_ctrl_c) for stopping in (signal.SIGINT, signal.SIGTERM)}
    guard.close_called_off.connect(stop.clear)  # the save chosen failed: the window stays
    try:
        yield stop
    finally:
        guard.close_called_off.disconnect(stop.clear)
        for stopping, handler in previous.items():
            signal.signal(stopping, handler)
        wake.stop()
