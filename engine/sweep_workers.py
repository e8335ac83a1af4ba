"""How many local processes a sweep gets, and how a thread yields the CPU: small pure rules, kept
apart from torch so the command line can apply them (and say so) before anything heavy is imported."""

from __future__ import annotations

import logging
import os
import sys
import threading
from collections.abc import Collection

__all__ = ["local_workers", "lower_this_thread", "usable_cores"]

log = logging.getLogger(__name__)


def usable_cores() -> int:
    """Cores this process may run on: its CPU affinity where the OS has one, else all cores."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def local_workers(requested: int, cores: int, devices: Collection[str] = ()) -> int:
    """Processes for a local sweep: ``requested`` (0: one per core), never more than ``cores``.

    Points that compute on a GPU run one after another in one process: each process would create
    its own CUDA context (hundreds of MB of GPU memory each) only to queue on the same device.
    """
    if "cuda" in devices:
        return 1
    cores = max(1, cores)
    return cores if requested <= 0 else min(requested, cores)


def lower_this_thread(nice: int) -> None:
    """Make the calling thread ``nice`` lower in priority than the process's main thread.

    Set relative to the main thread (a process started with ``nice`` stays that much lower), and as
    a value, not a step, so that calling it again changes nothing. Only on Linux, where the nice
    value is the thread's: elsewhere it would slow the whole process, a window included.
    """
    if not nice or not sys.platform.startswith("linux"):
        return
    thread = threading.get_native_id()
    try:
        target = os.getpriority(os.PRIO_PROCESS, os.getpid()) + nice
        if target > os.getpriority(os.PRIO_PROCESS, thread):
            os.setpriority(os.PRIO_PROCESS, thread, min(target, 19))
    except OSError as exc:  # a sandbox may refuse; the thread then keeps the priority it has
        log.info("thread priority left as it is: %s", exc)
