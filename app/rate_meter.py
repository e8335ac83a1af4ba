"""Steps (or frames) per second as the status line shows them, measured over the last second."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

__all__ = ["RateMeter"]


class RateMeter:
    """Events per second, from the events of the last ``window_s`` seconds (and at least the last two).

    ``rate()`` divides the events after the first one kept by the longer of two spans: from the
    first kept event to the last, and from the last event to now. Steady events read steadily at
    any speed (one step every 3 s is 0.33/s, not 0 because a one-second window holds one event),
    and when events stop coming the rate falls with the wait instead of freezing at its last value.
    ``clock`` returns seconds (tests pass their own).
    """

    def __init__(self, window_s: float = 1.0, clock: Callable[[], float] = time.perf_counter) -> None:
        self._window_s = window_s
        self._clock = clock
        self._events: deque[tuple[float, int]] = deque()

    def add(self, count: int = 1) -> None:
        now = self._clock()
        self._events.append((now, count))
        self._forget_before(now - self._window_s)

    def _forget_before(self, start: float) -> None:
        while len(self._events) > 2 and self._events[0][0] < start:
            self._events.popleft()

    def clear(self) -> None:
        """Forget every event (a pause: the next measurement starts afresh)."""
        self._events.clear()

    def rate(self) -> float | None:
        """Events per second; None until two events have been seen (no interval to measure)."""
        now = self._clock()
        self._forget_before(now - self._window_s)
        if len(self._events) < 2:
            return None
        first, last = self._events[0][0], self._events[-1][0]
        span_s = max(last - first, now - last)
        counted = sum(count for _, count in list(self._events)[1:])
        return counted / span_s if span_s > 0 else None
