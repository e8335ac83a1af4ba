"""How a save's files move into a session folder that holds an earlier save, and how a move cut
short is finished.

A save writes its four files in a staging folder (``.NAME.saving.XXXXXXXX``, inside the session's
folder, or beside it where there is none yet), then moves them in one by one, session.json last;
each file it replaces waits in the staging folder as ``FILE.previous`` and goes back if a move
fails. Only a kill (SIGKILL, a power cut) can stop it between two moves: the folder then held some
new files and some old, one of them missing, and opening refused it ("metrics.parquet: is missing")
with both saves' files hidden beside it. Opening finishes such a move first: the new files left in
the staging folder are moved in, and the session opens as the newer save. A save killed while
writing leaves its staging folder, which the next save in that place drops.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from muonscope.engine.save_identity import saves_locked
from muonscope.engine.session_format import FILES

__all__ = [
    "FINISHED_NOTE",
    "STAGING_PREFIX",
    "cut_short_move_in",
    "drop_abandoned_saves",
    "finish_cut_short_move",
    "replace_files",
]

#: The folder a session is written in before it takes its place: a save cut short while writing
#: leaves the folder as it was.
STAGING_PREFIX = ".{name}.saving."
#: What opening says of a save whose move it finished.
FINISHED_NOTE = (
    "its last save had been stopped while it moved its files in (the process was killed); the move "
    "was finished, and it opens as that save"
)


def finish_cut_short_move(folder: Path) -> bool:
    """Move in the new files a save killed part-way through its move left in its staging folder;
    returns whether there were any. A staging folder whose move had not begun (no ``.previous`` file)
    is a save killed while writing: the folder holds the earlier save whole, and it is left alone.
    Done under the lock every save holds, so a save under way is waited for, not taken for a killed one.
    """
    if not cut_short_move_in(folder):
        return False
    prefix = STAGING_PREFIX.format(name=folder.name)
    with saves_locked(folder.parent):
        for staging in _stagings(folder, prefix):
            if _move_begun(staging):
                left = [name for name in FILES if (staging / name).is_file()]
                for name in left:
                    os.replace(staging / name, folder / name)
                shutil.rmtree(staging, ignore_errors=True)
                return bool(left)  # none left: killed after its last move, only its leftovers to drop
    return False


def cut_short_move_in(folder: Path) -> bool:
    """Whether ``folder`` holds the staging folder of a save killed part-way through its move (or of
    one moving in now, which finishing waits for)."""
    prefix = STAGING_PREFIX.format(name=folder.name)
    return any(_move_begun(staging) for staging in _stagings(folder, prefix))


def _stagings(folder: Path, prefix: str) -> list[Path]:
    try:
        return [entry for entry in folder.glob(f"{prefix}*") if entry.is_dir() and not entry.is_symlink()]
    except OSError:  # a folder this process may not list: opening says so itself
        return []


def _move_begun(staging: Path) -> bool:
    return any((staging / f"{name}.previous").exists() for name in FILES)


def drop_abandoned_saves(folder: Path, name: str = "*") -> None:
    """The staging folders a killed save of session ``name`` (any, by default) left in ``folder``
    (hundreds of MB each, hidden): any there while this save holds the lock, which every save holds
    while it stages. A folder holding anything but a session's files and hidden temporary files (a
    file being written: safetensors' ``.tmpXXXXXX``) is not one, and stays."""
    for entry in folder.glob(STAGING_PREFIX.format(name=name) + "*"):
        if entry.is_dir() and not entry.is_symlink() and _holds_session_files_only(entry):
            shutil.rmtree(entry, ignore_errors=True)


def _holds_session_files_only(staging: Path) -> bool:
    kept = {*FILES, *(f"{name}.previous" for name in FILES)}
    return all(
        (entry.name in kept or entry.name.startswith(".")) and entry.is_file() and not entry.is_symlink()
        for entry in staging.iterdir()
    )


def replace_files(staging: Path, target: Path) -> None:
    """Move each new session file from ``staging`` into ``target``, session.json (what opening reads
    first) last; the files they replace wait in ``staging`` and go back if any move fails.

    The folder itself stays: the notes, figures or a session saved inside it are untouched, and so
    are its permissions and a shell standing in it (``--save .`` swapped the folder for a new one
    and left that shell in a deleted directory).
    """
    moved: list[str] = []
    try:
        for name in sorted(FILES, key=lambda name: name == "session.json"):
            moved.append(name)
            if (target / name).exists():
                os.replace(target / name, staging / f"{name}.previous")
            os.replace(staging / name, target / name)
    except BaseException:
        for name in reversed(moved):  # the session saved before, as it was
            previous = staging / f"{name}.previous"
            if previous.exists():
                os.replace(previous, target / name)
            elif not (staging / name).exists():
                (target / name).unlink(missing_ok=True)  # a new file with no old one before it
        raise
