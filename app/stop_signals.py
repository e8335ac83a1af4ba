"""Ctrl-C and SIGTERM as requests to stop between steps: what a long command (run, record, shot)
does about them, and says at once.
"""

from __future__ import annotations

import signal
import sys
import threading
from contextlib import contextmanager
from typing import Any

__all__ = ["EXIT_INTERRUPTED", "StopRequest", "stop_signals"]

#: The exit status of a command stopped by Ctrl-C or SIGTERM (128 + SIGINT, as shells report it).
EXIT_INTERRUPTED = 130


class StopRequest(threading.Event):
    """Set by the first Ctrl-C or SIGTERM; ``then`` is what the command does about it, as stderr
    says at once (a command past its steps, saving, says so: the save went on in silence)."""

    def __init__(self) -> None:
        super().__init__()
        self.then = "stopping after the step under way"


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
            raise KeyboardInterrupt
        stop.set()
        from tqdm import tqdm  # clears a progress bar for the line and draws it again below

        tqdm.write(f"muonscope {command}: {stop.then} (again: at once)", file=sys.stderr)

    stopping = (signal.SIGINT, signal.SIGTERM)
    previous = {signum: signal.signal(signum, on_stop) for signum in stopping}
    try:
        yield stop
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
