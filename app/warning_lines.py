"""Warnings on a terminal as one line each, ``muonscope: warning: …``.

Python's default shows the file, the line number and the source line of the ``warn`` call: two lines
of our internals for a user who needs one sentence naming what went wrong (a damaged cache entry,
say). Light on purpose: the command line uses it before anything heavy is imported.
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["one_line_warnings"]


@contextmanager
def one_line_warnings() -> Iterator[None]:
    """Within: every warning shown is printed as one ``muonscope: warning: …`` line on stderr."""
    with warnings.catch_warnings():
        warnings.showwarning = _one_line
        yield


def _one_line(message, category, _filename, _lineno, _file=None, _line=None) -> None:
    text = " ".join(str(message).split())
    sys.stderr.write(f"muonscope: warning: {text}\n")
