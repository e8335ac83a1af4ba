"""How a long headless command meets its terminal: SIGTERM stops it as Ctrl-C does, and warnings
are one line each.

A sweep or reproduction stopped by ``kill`` (a job scheduler, a closed session, ``timeout``) should
end as cleanly as one stopped with Ctrl-C: the worker processes shut down, the points computed so far
stay cached, and the command exits 130 with one line instead of dying with tracebacks and leaked
semaphores.
"""

from __future__ import annotations

import signal
import sys
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

from muonscope.engine.sweep_cache import CacheWarning

__all__ = ["headless_command"]


@contextmanager
def headless_command() -> Iterator[None]:
    """Within: SIGTERM raises KeyboardInterrupt (once), and warnings print as ``muonscope: warning: …``."""
    with _sigterm_as_interrupt(), warnings.catch_warnings():
        warnings.showwarning = _one_line
        warnings.simplefilter("always", CacheWarning)  # each damaged entry names its own file
        yield


@contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():  # only the main thread gets signals
        yield
        return

    def interrupt(_signum: int, _frame: FrameType | None) -> None:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second SIGTERM must not cut the clean-up short
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _one_line(message, category, _filename, _lineno, _file=None, _line=None) -> None:
    text = " ".join(str(message).split())
    sys.stderr.write(f"muonscope: warning: {text}\n")
