"""Files written whole or not at all.

A table, picture or matrix is written to a temporary file beside its final name and moved onto it
only once complete: on a full disk a run's ``--out`` left a truncated ``metrics.csv`` under its
final name (a CSV reader took its rows as the run's), ``shot`` left a truncated PNG whose header
still read as a whole picture, and the good files of the run before were gone.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["WriteFailed", "process_umask", "replacing", "write_bytes_whole", "write_text_whole"]


class WriteFailed(OSError):
    """A file the system would not let be written (a full disk, a folder it may not write): said in
    one line naming the file and the system's reason, not the library's ("OSError: 1024 requested
    and 496 written", "[Errno 28] Error writing bytes to file")."""

    names_itself = True  # the command line says it as it is, without its class name

    def __init__(self, path: str | os.PathLike, cause: OSError) -> None:
        reason = os.strerror(cause.errno).lower() if cause.errno else str(cause)
        super().__init__(cause.errno, f"cannot write {path}: {reason}")
        self.path = Path(path)
        self.cause = cause  # the system's own error (IsADirectoryError, …), for a caller's words

    def __str__(self) -> str:
        return self.strerror


#: Bytes a temporary file's name adds to its target's: two dots, tempfile's 8 characters, ".part".
_TEMPORARY_ADDS = 15
#: The longest name the temporary file may take from its target (within any file system's 255 bytes).
_NAMED_AT_MOST = 255 - _TEMPORARY_ADDS


def _temporary_prefix(name: str) -> str:
    """``.NAME.`` where the target's name leaves room for what the temporary file adds, else a
    prefix of its own: a 251-byte name, which its file system holds, was refused only after the
    work, as its temporary file's name was too long."""
    return f".{name}." if len(os.fsencode(name)) <= _NAMED_AT_MOST else ".muonscope."


@contextmanager
def replacing(path: str | os.PathLike) -> Iterator[Path]:
    """A temporary file beside ``path`` for the block to write; moved onto ``path`` when the block
    ends, removed when it raises (``path``, and any file there before, left as they were). The
    system's refusal is :class:`WriteFailed`.

    The file gets the permissions a file made at ``path`` would have (a temporary file is private).
    """
    path = Path(path)
    try:
        handle, name = tempfile.mkstemp(prefix=_temporary_prefix(path.name), suffix=".part", dir=path.parent)
    except OSError as exc:
        raise WriteFailed(path, exc) from None
    os.close(handle)
    temporary = Path(name)
    try:
        yield temporary
        temporary.chmod(0o666 & ~process_umask())
        os.replace(temporary, path)
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        if isinstance(exc, WriteFailed):
            raise
        raise WriteFailed(path, exc) from None
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def write_text_whole(path: str | os.PathLike, text: str) -> Path:
    """``path`` holding ``text`` (UTF-8), written whole or not at all."""
    with replacing(path) as temporary:
        temporary.write_text(text, encoding="utf-8")
    return Path(path)


def write_bytes_whole(path: str | os.PathLike, data: bytes) -> Path:
    """``path`` holding ``data``, written whole or not at all."""
    with replacing(path) as temporary:
        temporary.write_bytes(data)
    return Path(path)


def process_umask() -> int:
    """The process's file-creation mask, read where the system says it, so as not to change it (a
    set-and-restore races with other threads making files)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask
