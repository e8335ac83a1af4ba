"""How often a playing run computes its spectra: no more often than frames are drawn, and never
more than a set share of the engine's time.

Spectra are SVDs of every lane's G, M, update and W. At the reference size they cost less than a
frame; at d = 512 they cost more than the rest of the step, and computing them on every step would
slow the run down by half to show numbers the window cannot draw any faster anyway. While the run
plays, the engine asks this pacer on each step of the configured cadence; stepping by hand (the
debugger) computes them at the configured cadence, every time.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

__all__ = ["SpectraPacer"]

#: The frame clock draws at most this often; spectra computed faster are never seen.
FRAME_INTERVAL_S = 1 / 30
#: Largest share of the engine's time spectra may take while playing.
MAX_SHARE = 0.25


class SpectraPacer:
    """A gate for :attr:`Experiment.spectra_gate`: True when spectra are due on this step."""

    def __init__(
        self,
        last_cost_s: Callable[[], float],
        frame_interval_s: float = FRAME_INTERVAL_S,
        max_share: float = MAX_SHARE,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self._last_cost_s = last_cost_s
        self._frame_interval_s = frame_interval_s
        self._max_share = max_share
        self._clock = clock
        self._last_at = -math.inf

    def __call__(self, _step: int) -> bool:
        now = self._clock()
        spacing = max(self._frame_interval_s, self._last_cost_s() / self._max_share)
        if now - self._last_at < spacing:
            return False
        self._last_at = now
        return True
