"""One progress bar for every long command: a tqdm bar on stderr, only on a terminal.

Commands report ``(done, total, stage)``; a new stage starts a new bar. The bar appears only once a
stage has run for ``delay_s``, so quick commands print nothing, and never when stderr is not a
terminal (pipes and log files stay clean).
"""

from __future__ import annotations

import sys
from typing import Any

__all__ = ["ProgressBar"]


class ProgressBar:
    """Callable ``(done, total, stage="")``; use as a context manager so the bar is always closed."""

    def __init__(self, enabled: bool = True, unit: str = "it", delay_s: float = 1.0) -> None:
        self.enabled = enabled and sys.stderr.isatty()
        self.unit = unit
        self.delay_s = delay_s
        self._bar: Any = None
        self._stage: str | None = None

    def __call__(self, done: int, total: int, stage: str = "") -> None:
        if not self.enabled:
            return
        if stage != self._stage or self._bar is None:
            from tqdm import tqdm

            self.close()
            self._stage = stage
            self._bar = tqdm(
                total=total,
                desc=stage or None,
                unit=self.unit,
                file=sys.stderr,
                leave=False,
                delay=self.delay_s,
            )
        self._bar.update(done - self._bar.n)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()
