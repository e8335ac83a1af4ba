"""One progress bar for every long command: a tqdm bar on stderr, only on a terminal.

Commands report ``(done, total, stage)``; a new stage starts a new bar, and a stage with nothing to
count (opening or saving a session) is a line that counts its seconds (:func:`busy`). A bar appears
only once a stage has run for ``delay_s``, so quick commands print nothing, and never when stderr is
not a terminal (pipes and log files stay clean). Once shown, a bar's elapsed time keeps counting between
reports: a step of a big memory takes many seconds, and a bar that stood still read as a hang.
"""

from __future__ import annotations

import functools
import io
import os
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["ProgressBar", "busy", "seconds_left"]

#: How often a shown bar is redrawn between reports (its elapsed time and time left move on).
TICK_S = 0.5
#: tqdm's own layout, with the time left as :func:`_stage_bar_class` counts it.
_BAR_FORMAT = "{l_bar}{bar}| {n_fmt}/{total_fmt} [{elapsed}<{left}, {rate_fmt}{postfix}]"
#: A stage with nothing to count: its name and the seconds it has taken.
_BUSY_FORMAT = "{desc} … {elapsed}"
#: Columns the seconds take after a busy stage's name (" … 1:02:03" and the cursor).
_BUSY_SECONDS_COLUMNS = 12


@functools.cache
def _stage_bar_class() -> type:
    """A tqdm bar whose rate is that of the work done, up to the last report, and whose time left
    counts down from there: tqdm's average over the elapsed time fell while a long step computed,
    and its time left rose a second every second ("00:15<00:30" where 11 s were left). Made once,
    on first use: tqdm is imported only by a command that shows a bar."""
    from tqdm import tqdm

    class StageBar(tqdm):
        reported_at: float | None = None
        work_share: float | None = None  # the estimated share of the work done, where the units differ

        def update(self, n: float = 1) -> bool | None:
            if n:
                self.reported_at = self._time()
            return super().update(n)

        @property
        def format_dict(self) -> dict[str, Any]:
            shown = super().format_dict
            shown["left"] = "?"
            done = self.n - self.initial
            if done <= 0 or self.reported_at is None or self.reported_at <= self.start_t:
                return shown
            working_s = self.reported_at - self.start_t
            shown["rate"] = done / working_s  # units per second of work done
            if self.total:
                share = self.n / self.total if self.work_share is None else self.work_share
                left_s = seconds_left(working_s, share, self._time() - self.reported_at)
                shown["left"] = "?" if left_s is None else self.format_interval(left_s)
            return shown

    return StageBar


def seconds_left(working_s: float, share: float, since_s: float) -> float | None:
    """The seconds left of work of which ``share`` (0 to 1) took ``working_s``, reported
    ``since_s`` ago: counted down from the last report, never below 0 (None before any share is
    done). The work done sets the pace, not the seconds since it was last reported."""
    if share <= 0:
        return None
    return max(0.0, working_s * (1.0 - share) / share - since_s)


class ProgressBar:
    """Callable ``(done, total, stage="")``; use as a context manager so the bar is always closed.

    Report ``(0, total, stage)`` as a stage begins: its bar then appears ``delay_s`` later even
    before anything is done, and counts the seconds from there.
    """

    def __init__(
        self, enabled: bool = True, unit: str = "it", delay_s: float = 1.0, tick_s: float = TICK_S
    ) -> None:
        self.enabled = enabled and sys.stderr.isatty()
        self.unit = unit
        self.delay_s = delay_s
        self.tick_s = tick_s
        self._bar: Any = None
        self._stage: str | None = None
        self._lock = threading.Lock()  # the bar is redrawn from the ticking thread too
        self._closed = threading.Event()
        self._ticker: threading.Thread | None = None

    def __call__(self, done: int, total: int | None, stage: str = "", share: float | None = None) -> None:
        """``total`` None: a stage with nothing to count, shown as its name and its seconds.

        ``share``: the estimated share of the stage's work done, where its units cost unlike
        amounts (a sweep's points: cached ones nothing, large ones much); the time left follows it.
        """
        if not self.enabled:
            return
        with self._lock:
            if stage != self._stage or self._bar is None:
                self._open(stage, total)
            self._bar.work_share = share
            self._bar.update(done - self._bar.n)
            if share == 0:  # units that took no work (a sweep's cached points): the rate counts from here
                self._bar.initial = self._bar.n
                self._bar.start_t = self._bar._time()
        if self._ticker is None:
            self._ticker = threading.Thread(target=self._tick, name="muonscope-progress", daemon=True)
            self._ticker.start()

    def _open(self, stage: str, total: int | None) -> None:
        self._close_bar()
        self._stage = stage
        self._bar = _stage_bar_class()(
            total=total,
            desc=stage or None,
            unit=self.unit,
            file=sys.stderr,
            leave=False,
            delay=self.delay_s,
            miniters=0,  # every update may redraw (at most every mininterval): the ticks below too
            bar_format=_BAR_FORMAT if total is not None else _BUSY_FORMAT,
        )

    def _tick(self) -> None:
        """Redraw the bar now and then, from the moment its delay has passed (tqdm's own update
        keeps the delay and its minimum interval, and marks the bar shown so that it is cleared)."""
        while not self._closed.wait(self.tick_s):
            with self._lock:
                if self._bar is not None:
                    self._bar.update(0)

    def _close_bar(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def close(self) -> None:
        self._closed.set()
        with self._lock:
            self._close_bar()
        if self._ticker is not None and self._ticker is not threading.current_thread():
            self._ticker.join()
            self._ticker = None
        self._closed.clear()  # a later report opens a bar, and ticks it, again

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


@contextmanager
def busy(enabled: bool, stage: str) -> Iterator[None]:
    """A line that counts the seconds of ``stage`` while the block runs, shown as bars are (after a
    second, on a terminal): opening a session of 150,000 steps took 4 s, saving it 3 s, and the
    command said nothing meanwhile."""
    with ProgressBar(enabled) as progress:
        progress(0, None, fitted(stage, _terminal_columns() - _BUSY_SECONDS_COLUMNS))
        yield


def fitted(text: str, columns: int) -> str:
    """``text`` in at most ``columns`` characters, its middle left out ("opening /tmp/exp…/run_s1"):
    a path wider than the terminal cut the line's end, and with it the seconds that showed it moving."""
    if len(text) <= columns:
        return text
    keep = max(columns - 1, 2)
    return f"{text[: (keep + 1) // 2]}…{text[len(text) - keep // 2 :]}"


def _terminal_columns() -> int:
    """The width of the terminal stderr writes to (80 where it cannot tell)."""
    try:
        return os.get_terminal_size(sys.stderr.fileno()).columns
    except (OSError, ValueError, AttributeError, io.UnsupportedOperation):
        return 80
