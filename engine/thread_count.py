"""How many torch threads the engine computes with beside a window, chosen by timing its own steps,
and at what priority.

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
called earlier on the main thread. That thread also runs a little behind the window's (Linux nice
value ENGINE_NICE; its OpenMP helpers, started from it, inherit it): with both cores computing, the
window was served within 0.7 ms (p90) instead of 3.1-3.5 ms.
"""

from __future__ import annotations

import logging
import statistics
from collections.abc import Callable, Mapping

import torch

from muonscope.engine.sweep_workers import lower_this_thread

__all__ = ["ENGINE_NICE", "ThreadChooser", "share_cores_with_a_window", "threads_asked"]

log = logging.getLogger(__name__)

#: Steps and seconds of stepping that one measurement of a thread count needs at least.
WINDOW_STEPS = 6
WINDOW_S = 1.5
#: A measurement of two steps suffices once they take this many times WINDOW_S.
LONG_WINDOW_FACTOR = 4
#: How much faster (in median step time) more threads must be to take the window's core.
MARGIN = 0.15
#: How much lower the stepping thread's OS priority is than the window's (Unix nice, per thread on Linux).
ENGINE_NICE = 5
#: Seconds of stepping between two rounds of measurements; doubled, up to MAX_HOLD_S, each time a
#: round keeps the count (a round costs a few seconds at the worse count: beside a busy process, two
#: threads ran at a quarter of one's pace).
HOLD_S = 20.0
MAX_HOLD_S = 160.0


def threads_asked(environ: Mapping[str, str]) -> int | None:
    """The torch thread count the user set in OMP_NUM_THREADS (its first level: "4,2" asks for 4), or
    None where it is unset or not a positive whole number (OpenMP ignores such a value too)."""
    first = environ.get("OMP_NUM_THREADS", "").split(",")[0].strip()
    return int(first) if first.isdecimal() and int(first) > 0 else None


def share_cores_with_a_window(cores: int, asked: int | None = None) -> int:
    """Give the process's torch all cores but one, so that a window beside it always has one to draw on;
    or the count the user ``asked`` for.

    Sets the count for the calling thread and for threads that start afterwards; the engine's own
    thread then chooses for itself (:class:`ThreadChooser`). Returns the thread count set.
    """
    threads = asked if asked is not None else max(1, cores - 1)
    torch.set_num_threads(threads)
    return threads


class ThreadChooser:
    """Times the engine's steps at each candidate thread count and keeps the better one.

    ``candidates`` come in order of preference: the first leaves the window a core. A round measures
    the count in force, then the other, each over at least ``window_steps`` steps and ``window_s``
    seconds of stepping (the first step after a switch is not counted: the thread pool starts up).
    A trial of the count that takes the window's core ends after two steps that each took longer than
    the preferred count's median; holding that count, it goes back as soon as the latest steps do.
    The median step time is compared, so the periodic heavy steps (evaluations, spectra) do not
    decide; the preferred count is kept unless the other's median is ``margin`` smaller. A new round
    starts after ``hold_s`` seconds of stepping, twice that after a round that kept the count (up to
    ``max_hold_s``). ``apply`` sets a count on the calling thread; ``nice`` lowers the stepping thread's
    priority when it begins (Linux only: elsewhere the value is the whole process's, window included).
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
        nice: int = 0,
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
        self._nice = nice
        self._threads = self._candidates[0]
        self._to_measure: list[int] = []
        self._medians: dict[int, float] = {}
        self._window: list[float] = []
        self._skip = 0
        self._held_s = 0.0
        self._threads_before_round = self._threads
        self._announced: int | None = None  # the count the log last said was chosen

    @classmethod
    def beside_a_window(cls, cores: int, asked: int | None = None) -> ThreadChooser:
        """All cores but one, or all of them when that is clearly faster; behind the window's thread.
        A count the user ``asked`` for (OMP_NUM_THREADS) is kept as it is, as ``muonscope run`` keeps it."""
        candidates = (asked,) if asked is not None else (max(1, cores - 1), cores)
        return cls(candidates, nice=ENGINE_NICE)

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
        lower_this_thread(self._nice)
        self._switch(self._candidates[0])
        self._medians.clear()
        self._hold_s = self._base_hold_s
        self._start_round()

    def record(self, step_s: float) -> None:
        """One step finished in ``step_s`` seconds at the count in force; may switch the count."""
        if len(self._candidates) == 1:
            return
        if not self._to_measure:
            self._hold(step_s)
            return
        if self._skip:
            self._skip -= 1
            return
        self._window.append(step_s)
        if not (self._window_full() or self._clearly_losing()):
            return
        self._medians[self._threads] = statistics.median(self._window)
        self._to_measure.pop(0)
        if self._to_measure:
            self._switch(self._to_measure[0])
        else:
            self._decide()

    def _clearly_losing(self) -> bool:
        """A trial of the count that takes the window's core ends early once two of its steps each
        took longer than the preferred count's median: beside a busy process a trial of six steps
        would cost seconds at a fraction of the pace."""
        preferred = self._candidates[0]
        if self._threads == preferred or preferred not in self._medians or len(self._window) < 2:
            return False
        return min(self._window) > self._medians[preferred]

    def _window_full(self) -> bool:
        """Enough steps to judge a count by: ``window_steps`` over ``window_s``, or two long ones (a
        big memory's steps take seconds; beside a busy process two threads took 60× longer)."""
        n, seconds = len(self._window), sum(self._window)
        return (n >= self._window_steps and seconds >= self._window_s) or (
            n >= 2 and seconds >= LONG_WINDOW_FACTOR * self._window_s
        )

    def _hold(self, step_s: float) -> None:
        """Between rounds: count the time held, and give the window's core back as soon as taking it
        stops paying (a sweep's workers started, say: the steps then slow down several times)."""
        self._held_s += step_s
        if self._threads != self._candidates[0] and self._slower_than_preferred(step_s):
            self._give_the_core_back()
        elif self._held_s >= self._hold_s:
            self._start_round()

    def _slower_than_preferred(self, step_s: float) -> bool:
        """Whether every one of the latest steps (two at least, over ``window_s``) at the count held
        took longer than the preferred count's median: a clear loss, seen within seconds."""
        if self._skip:
            self._skip -= 1
            return False
        self._window.append(step_s)
        while len(self._window) > 2 and sum(self._window[1:]) >= self._window_s:
            self._window.pop(0)  # the latest steps, just enough of them to judge
        preferred_s = self._medians[self._candidates[0]]
        return (
            len(self._window) >= 2 and sum(self._window) >= self._window_s and min(self._window) > preferred_s
        )

    def _give_the_core_back(self) -> None:
        preferred = self._candidates[0]
        log.info(
            "engine threads: back to %d (steps at %d now take %.0f ms or more; %.0f ms were measured at %d)",
            preferred,
            self._threads,
            1000 * min(self._window),
            1000 * self._medians[preferred],
            preferred,
        )
        self._announced = preferred
        self._switch(preferred)
        self._held_s, self._hold_s = 0.0, self._base_hold_s

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
        # said once per count chosen: a round that keeps it, every 20 to 160 s, repeated the line
        log.log(
            logging.INFO if chosen != self._announced else logging.DEBUG,
            "engine threads: %d (median step %.0f ms at %d, %.0f ms at %d)",
            chosen,
            1000 * self._medians[preferred],
            preferred,
            1000 * self._medians[other],
            other,
        )
        self._announced = chosen
        self._switch(chosen)
        self._held_s = 0.0

    def _switch(self, threads: int) -> None:
        self._apply(threads)
        self._threads = threads
        self._window, self._skip = [], 1
