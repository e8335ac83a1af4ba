"""How many torch threads the engine computes with beside a window, chosen by timing its own steps.

On two cores the choice is between leaving the window a core (one engine thread) and taking both.
Measured with benchmarks/live_window.py on two quiet cores: the default preset's steps ran no faster
with two threads (21.9-23.9 against 20.2-22.6 steps/s) while the window was served later (UI late
p90 12-13 ms against 6-7 ms); noisy_scaling, whose steps are one 512 × 512 SVD and four 512³ products
per lane, ran 25-30% faster (9.4-10.2 against 7.5-7.9 steps/s). Beside another busy process two
threads wait on each other for the taken core and run several times slower than one. No fixed count
is right for all three, so :class:`ThreadChooser` times the steps at each candidate, keeps the one
that leaves the window a core unless the other is clearly faster, and looks again now and then (a
sweep may have started, another program may have ended).

The count is set on the thread that steps: torch's BLAS and LAPACK calls read the calling thread's
OpenMP setting, which a new thread takes from the environment, not from ``torch.set_num_threads``
called earlier on the main thread.
"""

from __future__ import annotations

import logging
import statistics
from collections.abc import Callable

import torch

__all__ = ["ThreadChooser", "share_cores_with_a_window"]

log = logging.getLogger(__name__)

#: Steps and seconds of stepping that one measurement of a thread count needs at least.
WINDOW_STEPS = 6
WINDOW_S = 1.5
#: How much faster (in median step time) more threads must be to take the window's core.
MARGIN = 0.15
#: Seconds of stepping between two rounds of measurements; doubled, up to MAX_HOLD_S, each time a
#: round keeps the count (a round costs a few seconds at the worse count: beside a busy process, two
#: threads ran at a quarter of one's pace).
HOLD_S = 20.0
MAX_HOLD_S = 160.0


def share_cores_with_a_window(cores: int) -> int:
    """Give the process's torch all cores but one, so that a window beside it always has one to draw on.

    Sets the count for the calling thread and for threads that start afterwards; the engine's own
    thread then chooses for itself (:class:`ThreadChooser`). Returns the thread count set.
    """
    threads = max(1, cores - 1)
    torch.set_num_threads(threads)
    return threads


class ThreadChooser:
    """Times the engine's steps at each candidate thread count and keeps the better one.

    ``candidates`` come in order of preference: the first leaves the window a core. A round measures
    the count in force, then the other, each over at least ``window_steps`` steps and ``window_s``
    seconds of stepping (the first step after a switch is not counted: the thread pool starts up).
    The median step time is compared, so the periodic heavy steps (evaluations, spectra) do not
    decide; the preferred count is kept unless the other's median is ``margin`` smaller. A new round
    starts after ``hold_s`` seconds of stepping, twice that after a round that kept the count (up to
    ``max_hold_s``). ``apply`` sets a count on the calling thread.
    """

    def __init__(
        self,
        candidates: tuple[int, ...],
        apply: Callable[[int], None] = torch.set_num_threads,
        *,
        window_steps: int = WINDOW_STEPS,
        window_s: float = WINDOW_S,
        margin: float = MARGIN,
        hold_s: float = HOLD_S,
        max_hold_s: float = MAX_HOLD_S,
    ) -> None:
        if not candidates or len(candidates) > 2 or min(candidates) < 1:
            raise ValueError(f"candidates = {candidates!r}: one or two thread counts of at least 1")
        self._candidates = tuple(dict.fromkeys(candidates))
        self._apply = apply
        self._window_steps = window_steps
        self._window_s = window_s
        self._margin = margin
        self._base_hold_s = self._hold_s = hold_s
        self._max_hold_s = max_hold_s
        self._threads = self._candidates[0]
        self._to_measure: list[int] = []
        self._medians: dict[int, float] = {}
        self._window: list[float] = []
        self._skip = 0
        self._held_s = 0.0
        self._threads_before_round = self._threads

    @classmethod
    def beside_a_window(cls, cores: int) -> ThreadChooser:
        """All cores but one, or all of them when that is clearly faster."""
        return cls((max(1, cores - 1), cores))

    @classmethod
    def fixed(cls, threads: int) -> ThreadChooser:
        """Always ``threads`` (set on the stepping thread all the same)."""
        return cls((threads,))

    @classmethod
    def as_the_process_has(cls) -> ThreadChooser:
        """Always the count ``torch.set_num_threads`` last gave the process."""
        return cls.fixed(torch.get_num_threads())

    @property
    def threads(self) -> int:
        """The thread count in force."""
        return self._threads

    @property
    def medians_s(self) -> dict[int, float]:
        """Median step seconds at each count, as last measured (empty before the first round ends)."""
        return dict(self._medians)

    def begin(self) -> None:
        """Start over at the preferred count; called on the stepping thread, and for a new run (its
        steps cost something else)."""
        self._switch(self._candidates[0])
        self._medians.clear()
        self._hold_s = self._base_hold_s
        self._start_round()

    def record(self, step_s: float) -> None:
        """One step finished in ``step_s`` seconds at the count in force; may switch the count."""
        if len(self._candidates) == 1:
            return
        if not self._to_measure:
            self._held_s += step_s
            if self._held_s >= self._hold_s:
                self._start_round()
            return
        if self._skip:
            self._skip -= 1
            return
        self._window.append(step_s)
        if len(self._window) < self._window_steps or sum(self._window) < self._window_s:
            return
        self._medians[self._threads] = statistics.median(self._window)
        self._to_measure.pop(0)
        if self._to_measure:
            self._switch(self._to_measure[0])
        else:
            self._decide()

    def _start_round(self) -> None:
        if len(self._candidates) == 1:
            return
        self._threads_before_round = self._threads
        self._to_measure = [self._threads, *(c for c in self._candidates if c != self._threads)]
        self._window, self._held_s = [], 0.0

    def _decide(self) -> None:
        preferred, other = self._candidates
        better = self._medians[other] < (1.0 - self._margin) * self._medians[preferred]
        chosen = other if better else preferred
        kept = chosen == self._threads_before_round
        self._hold_s = min(2 * self._hold_s, self._max_hold_s) if kept else self._base_hold_s
        log.info(
            "engine threads: %d (median step %.0f ms at %d, %.0f ms at %d)",
            chosen,
            1000 * self._medians[preferred],
            preferred,
            1000 * self._medians[other],
            other,
        )
        self._switch(chosen)
        self._held_s = 0.0

    def _switch(self, threads: int) -> None:
        self._apply(threads)
        self._threads = threads
        self._window, self._skip = [], 1
