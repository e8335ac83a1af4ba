"""Whether the names of a path to be written fit its file system, with what muonscope adds to them.

A session is staged as ``.NAME.saving.XXXXXXXX`` beside its target and a video as ``NAME.part``: a
name within the file system's 255 bytes overflowed it only at the end, after the whole run, and the
results were lost to an ``OSError``. Checked before any compute instead.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

__all__ = [
    "DEFAULT_NAME_MAX",
    "NO_SUCH_HOME",
    "HomeUnknown",
    "home_expanded",
    "kind_of",
    "longest_name",
    "name_overflow",
]

#: Why a path that begins with ``~USER`` is refused where USER has no home folder here.
NO_SUCH_HOME = "its ~ names a user with no home folder on this system"
#: Bytes a name may hold where the file system does not say (Linux, macOS and Windows all hold 255).
DEFAULT_NAME_MAX = 255
#: Bytes a whole path may hold, its ending NUL counted, where the system does not say (Linux's 4096).
DEFAULT_PATH_MAX = 4096


class HomeUnknown(ValueError):
    """A path that begins with ``~`` where the home folder it names is not known; the message says why."""


def home_expanded(text: str) -> Path:
    """``text`` as a path, a ``~`` or ``~USER`` at its start made the home folder as a shell makes it.

    HomeUnknown where there is none to make: ``~nosuchuser/x`` raised RuntimeError, and with HOME
    set empty ``~/z`` quietly became ``/z``.
    """
    if text[:2] in ("~", "~/") and os.environ.get("HOME") == "":
        raise HomeUnknown("its ~ is the home folder, and HOME is set empty")
    try:
        return Path(text).expanduser()
    except RuntimeError:
        raise HomeUnknown(NO_SUCH_HOME) from None


def name_overflow(path: Path, added_bytes: int = 0, what_adds: str = "") -> str | None:
    """Why a name in ``path`` is too long for its file system, or None when every one fits.

    ``added_bytes``: what is added to the last name while it is written (``what_adds`` says who).
    """
    parts = [part for part in Path(path).parts if part not in ("/", ".", "..")]
    room = longest_name(Path(path))
    for index, part in enumerate(parts):
        size = len(os.fsencode(part))
        last = index == len(parts) - 1
        added = added_bytes if last else 0
        if size + added <= room:
            continue
        kind = "its name" if last else f"a folder name in it ({part[:12]}…)"
        if added:
            held = f"names hold {room} bytes here, and {what_adds} adds {added} while it writes"
            return f"{kind} is {size} bytes long: at most {room - added} fit ({held})"
        return f"{kind} is {size} bytes long: names hold at most {room} bytes here"
    return _path_overflow(Path(path), added_bytes)


def _path_overflow(path: Path, added_bytes: int) -> str | None:
    """Why the whole of ``path`` (from the root, as the system is given it) is too long, or None:
    names of 200 bytes each, 22 folders deep, went past the system's 4096 bytes and were refused
    only as a runtime failure ("File name too long") once the work was done."""
    size = len(os.fsencode(os.path.abspath(path))) + added_bytes
    most = DEFAULT_PATH_MAX
    try:
        most = os.pathconf("/", "PC_PATH_MAX")
    except (OSError, ValueError, AttributeError):  # no such limit said on this system (or no pathconf)
        pass
    if size < most:
        return None
    return f"it is {size} bytes long from the root: paths hold fewer than {most} bytes here"


def longest_name(path: Path) -> int:
    """The longest name, in bytes, the file system of ``path`` (or of its nearest existing folder) holds."""
    ask = getattr(os, "pathconf", None)  # not on Windows, whose file systems hold 255
    for folder in (path, *path.absolute().parents):
        try:
            if ask is not None and folder.is_dir():
                return ask(folder, "PC_NAME_MAX")
        except (OSError, ValueError):  # a name too long to ask about, or no such limit on this system
            continue
    return DEFAULT_NAME_MAX


def kind_of(path: Path) -> str:
    """What a path that is not a folder is, in words: "a file", "a device" (``--out /dev/null`` was
    called a file), "a pipe", "a socket"."""
    try:
        mode = path.stat().st_mode
    except OSError:
        return "not a folder one can reach"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISFIFO(mode):
        return "a pipe"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "a file"
