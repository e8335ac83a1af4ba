"""The torch thread count each step of a branch was computed with, so that a replay uses the same.

MKL splits a matrix product's sums by thread, so the same step at one thread and at two differs in
the last digits (the gradient pass's (236, 2048) @ (2048, 128) product did, from the first step).
The window's engine changes its count while a run plays (it times one thread against two), so a
rewind replayed at the count of the moment gave other numbers than the ones the window had shown. A
branch keeps the count of every step it computed as runs (first step, count); a replay sets each
step's count before computing it and puts the caller's count back after. A sweep point computes at
one thread wherever it runs (:func:`one_thread`), so that its numbers are the same everywhere.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch

__all__ = ["ThreadRecord", "count_at", "noted", "one_thread", "replay_threads", "up_to"]

#: (first step, thread count) runs, in step order: step s was computed with the count of the last
#: run whose first step is at most s.
ThreadRecord = tuple[tuple[int, int], ...]


def noted(record: ThreadRecord, step: int, count: int) -> ThreadRecord:
    """``record`` with ``step`` computed at ``count`` threads (steps after it forgotten: a new line)."""
    kept = tuple(run for run in record if run[0] < step)
    if kept and kept[-1][1] == count:
        return kept
    return (*kept, (step, count))


def count_at(record: ThreadRecord, step: int) -> int | None:
    """The count ``step`` was computed with; None where the record does not reach (an older file)."""
    found = None
    for first, count in record:
        if first > step:
            break
        found = count
    return found


def up_to(record: ThreadRecord, step: int) -> ThreadRecord:
    """The runs that cover steps up to ``step`` (what a fork there inherits)."""
    return tuple(run for run in record if run[0] <= step)


class _Replay:
    """Sets the recorded count before each replayed step; see :func:`replay_threads`."""

    def __init__(self, record: ThreadRecord) -> None:
        self._record = record

    def before(self, step: int) -> None:
        """Make torch compute ``step`` (the step that leads to it) with the count it was computed with."""
        count = count_at(self._record, step)
        if count is not None and count != torch.get_num_threads():
            torch.set_num_threads(count)


@contextmanager
def replay_threads(record: ThreadRecord) -> Iterator[_Replay]:
    """Within: call ``before(step)`` ahead of each replayed step. After: the caller's count again."""
    callers = torch.get_num_threads()
    try:
        yield _Replay(record)
    finally:
        if torch.get_num_threads() != callers:
            torch.set_num_threads(callers)


@contextmanager
def one_thread() -> Iterator[None]:
    """Within: torch computes at one thread on the calling thread; after: at the count it had.

    A sweep point computes so in a pool worker (one process per core), in this process and on a
    Dask worker alike: at the process's two threads (``--workers 1``), or a worker thread's own
    count, the same point's losses differed from a pool worker's in their last digits, and the
    cache kept whichever came first. Reading the count first gives a thread new to torch the
    process's count, which is the one put back.
    """
    before = torch.get_num_threads()
    if before != 1:
        torch.set_num_threads(1)
    try:
        yield
    finally:
        if before != 1:
            torch.set_num_threads(before)
