"""Standard output that cannot cost a command its files: what the reader of the output does is not
the command's business once the work is done.

A run printed its report before writing its tables and its session, and a report that could not
be printed took them with it: ``muonscope run --save s | head -1`` (the reader gone), a closed or
full stdout (``>&-``, ``> /dev/full``) and an ASCII-only one (``PYTHONIOENCODING=ascii``, "μ")
each lost every computed step. Here a failed write is remembered and the rest of the output goes
nowhere; the command finishes its files and then ends as the failure says (the shell's SIGPIPE
status for a reader gone, a runtime failure naming stdout otherwise). Characters the stream's
encoding lacks are written as ``\\u03bc`` escapes instead of failing.
"""

from __future__ import annotations

import errno
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

__all__ = ["EXIT_READER_GONE", "GuardedOutput", "guarded_stdout"]

#: The shell's status for a process ended by SIGPIPE: what ``| head -1`` expects of its writer.
EXIT_READER_GONE = 128 + 13


class GuardedOutput:
    """A text stream that never raises on write or flush: its first failure is kept in ``failure``."""

    def __init__(self, stream: TextIO | None) -> None:
        self._stream = stream
        #: The first OSError writing or flushing raised (None while every write went through); a
        #: stream that was closed before the start (``>&-``: Python has none) is one.
        self.failure: OSError | None = None
        if stream is None:
            self.failure = OSError(errno.EBADF, "it is closed")
        if stream is not None and hasattr(stream, "reconfigure"):
            try:
                stream.reconfigure(errors="backslashreplace")
            except (OSError, ValueError):  # a stream that cannot change keeps its own handling
                pass

    @property
    def reader_gone(self) -> bool:
        """Whether the failure was the reader going away (a broken pipe)."""
        return isinstance(self.failure, BrokenPipeError)

    def write(self, text: str) -> int:
        if self._stream is not None and self.failure is None:
            try:
                return self._stream.write(text)
            except UnicodeEncodeError:  # a stream that could not be told to escape
                encoding = getattr(self._stream, "encoding", None) or "ascii"
                return self.write(text.encode(encoding, "backslashreplace").decode(encoding))
            except OSError as exc:
                self._failed(exc)
        return len(text)

    def flush(self) -> None:
        if self._stream is not None and self.failure is None:
            try:
                self._stream.flush()
            except OSError as exc:
                self._failed(exc)

    def isatty(self) -> bool:
        return self._stream is not None and self.failure is None and self._stream.isatty()

    def __getattr__(self, name: str):
        """Anything else (``encoding``, ``fileno``) as the stream has it."""
        if self._stream is None:
            raise AttributeError(name)
        return getattr(self._stream, name)

    def failure_text(self) -> str:
        """Why the output stopped, as a runtime failure says it ("" where it did not)."""
        if self.failure is None or self.reader_gone:
            return ""
        reason = self.failure.strerror or str(self.failure)
        return f"the output could not be written to stdout ({reason[:1].lower()}{reason[1:]})"

    def _failed(self, exc: OSError) -> None:
        self.failure = exc
        try:  # the interpreter's last flush at exit must not fail again on what is still buffered
            os.dup2(os.open(os.devnull, os.O_WRONLY), self._stream.fileno())
        except (OSError, ValueError, AttributeError):  # not a file (a test's capture): nothing is
            pass


@contextmanager
def guarded_stdout() -> Iterator[GuardedOutput]:
    """Within: ``sys.stdout`` is a :class:`GuardedOutput` of the stream it was; after: that stream."""
    stream = sys.stdout
    guard = GuardedOutput(stream)
    sys.stdout = guard  # type: ignore[assignment]
    try:
        yield guard
    finally:
        guard.flush()
        sys.stdout = stream
