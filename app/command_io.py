"""How a long headless command meets its terminal: SIGTERM and Ctrl-C stop it alike, and warnings
are one line each.

A sweep or reproduction stopped by ``kill`` (a job scheduler, a closed session, ``timeout``) should
end as cleanly as one stopped with Ctrl-C: the worker processes shut down, the points computed so far
stay cached, and the command exits 130 with one line instead of dying with tracebacks and leaked
semaphores.
"""

from __future__ import annotations

import signal
import threading
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType

from muonscope.app.warning_lines import one_line_warnings
from muonscope.engine.sweep import allow_sweeps, stop_all_sweeps
from muonscope.engine.sweep_cache import CacheWarning

__all__ = ["headless_command", "interrupts_deferred"]

#: Set by the first SIGTERM or Ctrl-C within :func:`headless_command`.
_TOLD = threading.Event()
#: Set while the command draws with Qt (see :func:`interrupts_deferred`).
_DEFERRING = threading.Event()


@contextmanager
def headless_command(interrupt_at_once: bool = True) -> Iterator[None]:
    """Within: SIGTERM and SIGINT stop the command (once), and warnings print as ``muonscope: warning: …``.

    ``interrupt_at_once=False`` (sweeps on Dask) only stops the sweeps and lets the command reach its
    end before it exits as interrupted: Dask's client, when an exception reaches it mid-wait, logs a
    traceback of its own.
    """
    with _signals_as_interrupt(interrupt_at_once), one_line_warnings():
        warnings.simplefilter("always", CacheWarning)  # each damaged entry names its own file
        yield


_STOPPING = (signal.SIGTERM, signal.SIGINT)


@contextmanager
def _signals_as_interrupt(at_once: bool) -> Iterator[None]:
    """SIGTERM and SIGINT stop the sweeps and (``at_once``) raise KeyboardInterrupt.

    The exception alone is not enough: it lands wherever the main thread happens to be, and a
    library waiting there (Dask's client) may swallow it, after which the sweep would run to its
    end and exit 0. The cancelled sweeps stop at their next poll whatever happens to the exception,
    and a command that was told to stop leaves by KeyboardInterrupt even if it finished.
    """
    if threading.current_thread() is not threading.main_thread():  # only the main thread gets signals
        yield
        return
    _TOLD.clear()

    def interrupt(_signum: int, _frame: FrameType | None) -> None:
        for stopping in _STOPPING:  # a second signal must not cut the clean-up short
            signal.signal(stopping, signal.SIG_IGN)
        _TOLD.set()
        stop_all_sweeps()
        if at_once and not _DEFERRING.is_set():
            raise KeyboardInterrupt

    previous = {stopping: signal.signal(stopping, interrupt) for stopping in _STOPPING}
    try:
        yield
        if _TOLD.is_set():
            raise KeyboardInterrupt
    finally:
        allow_sweeps()
        for stopping, handler in previous.items():
            signal.signal(stopping, handler)
        _TOLD.clear()


@contextmanager
def interrupts_deferred() -> Iterator[Callable[[], bool]]:
    """Within: SIGTERM and Ctrl-C only ask the command to stop, and the function yielded says whether
    one did, for the code to stop between units of work (figures); the KeyboardInterrupt is raised on
    leaving.

    Raised at once in code that draws with Qt, the exception landed inside Qt: in a slot it printed a
    traceback from pyqtgraph's depths, and during the import of PySide6 it aborted the process
    ("Fatal Python error: libshiboken/signature") before the summary was written.
    """
    _DEFERRING.set()
    try:
        yield _TOLD.is_set
    finally:
        _DEFERRING.clear()
    if _TOLD.is_set():
        raise KeyboardInterrupt
