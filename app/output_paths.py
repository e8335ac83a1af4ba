"""Where a command writes: checked before any compute, and said in one line when it cannot be.

A run that found out at its end that its output could not be written lost its results; each check
here names the option, the path given and what stands in the way.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from muonscope.engine.errors import ConfigError
from muonscope.engine.file_names import kind_of, name_overflow

__all__ = ["check_output_file", "check_output_folder", "check_writable", "nearest_existing"]


def check_output_file(path: Path, option: str = "--out", added_bytes: int = 0, what_adds: str = "") -> None:
    """A file to be written: names its file system holds (with the ``added_bytes`` that ``what_adds``
    adds to its name while writing), not an existing folder, and in a folder that can be written."""
    overflow = name_overflow(path, added_bytes, what_adds)
    if overflow is not None:
        raise ConfigError(option, str(path), overflow)
    if path.is_dir():
        raise ConfigError(option, str(path), "is a folder; must name a file to write")
    check_writable(path.parent if str(path.parent) else Path("."), option, given=path)


def check_output_folder(folder: Path, option: str = "--out") -> None:
    """A folder for a command's outputs: writable, and not a saved session's folder.

    ``run --out runs/s1`` wrote its metrics table over the session's own ``metrics.parquet``, and
    the session no longer opened.
    """
    overflow = name_overflow(folder)
    if overflow is not None:  # before asking the folder anything: the asking fails on it
        raise ConfigError(option, str(folder), overflow)
    if (folder / "session.json").is_file():
        raise ConfigError(
            option,
            str(folder),
            "holds a saved session, whose files the outputs would replace; name another folder",
        )
    check_writable(folder, option)


def check_writable(folder: Path, option: str = "--out", given: Path | None = None) -> None:
    """Refuse an output folder that cannot be written before spending any compute (``given``: the
    path the user named, when ``folder`` is the one it is written in).

    Says which folder failed: ``--save /proc/nope`` was refused as "'/proc' … (No such file or
    directory)", naming neither the path given nor what could not be done.
    """
    given = folder if given is None else given
    try:
        str(given).encode("utf-8")
    except UnicodeEncodeError:
        raise ConfigError(option, str(given), "must be a path in UTF-8") from None
    overflow = name_overflow(folder)
    if overflow is not None:
        raise ConfigError(option, str(given), overflow)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        where = nearest_existing(folder.absolute())  # absolute: a relative path's was named "."
        if not where.is_dir():
            raise ConfigError(option, str(given), f"{where} is {kind_of(where)}, not a folder") from None
        raise ConfigError(option, str(given), f"cannot create a folder in {where} ({exc.strerror})") from None
    try:  # a probe of its own: commands writing into one folder at once removed each other's
        descriptor, probe = tempfile.mkstemp(prefix=".muonscope-write-test-", dir=folder)
        os.close(descriptor)
        os.unlink(probe)
    except OSError as exc:
        shown = folder.absolute() if folder == Path(".") else folder  # "in ." named no folder
        where = "" if folder == given else f" in {shown}"
        raise ConfigError(option, str(given), f"cannot be written{where} ({exc.strerror})") from None


def nearest_existing(folder: Path) -> Path:
    """``folder`` or the nearest of its parents that exists (what a refusal names as the obstacle)."""
    for candidate in (folder, *folder.parents):
        if candidate.exists():
            return candidate
    return folder
