"""How many local processes a sweep gets: small pure rules, kept apart from torch so the command
line can apply them (and say so) before anything heavy is imported."""

from __future__ import annotations

import os
from collections.abc import Collection

__all__ = ["local_workers", "usable_cores"]


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
