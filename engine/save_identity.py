"""Which save a session folder's files come from, and saves that wait for one another.

Every save stamps its four files with one id: session.json holds it, and the tensors and both
tables carry it in their own metadata. A folder whose files come from two saves (one save's
session.json beside another's tensors: a copy made part-way, or a save read while another wrote)
is refused, where it used to open as one session, the weights of one run under the settings of the
other. Sessions saved before the stamp carry none and open as before.

Two processes saving at once (two ``run --resume s --save s``, or two ``--save new``) take turns on a
lock of the folder the session is saved in; the second finds the folder saved by another since it
read it, and saves beside it under a free name instead of replacing what the first saved — each
used to throw away the other's run, or its own, at the end.
"""

from __future__ import annotations

import contextlib
import json
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from muonscope.engine.session_format import SessionError

__all__ = [
    "METADATA_KEY",
    "SavedAt",
    "check_one_save",
    "files_save_ids",
    "folder_save_id",
    "free_sibling",
    "new_save_id",
    "saves_locked",
]

#: The key of the save id in the safetensors header's and the Parquet schemas' metadata.
METADATA_KEY = "muonscope_save_id"
#: Longest session.json read for its save id alone (the session's own limit applies when opening).
_MAX_ID_PROBE_BYTES = 256 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class SavedAt:
    """Where a session was last read from or written to, and the id of that save."""

    folder: Path  # resolved
    save_id: str


def new_save_id() -> str:
    return uuid.uuid4().hex


def folder_save_id(folder: Path) -> str | None:
    """The save id of the session saved in ``folder`` now; None where none is, or it has no id."""
    path = folder / "session.json"
    try:
        if not path.is_file() or path.stat().st_size > _MAX_ID_PROBE_BYTES:
            return None
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    found = document.get("save_id") if isinstance(document, dict) else None  # one that is not a str: none
    return found if isinstance(found, str) else None


def files_save_ids(folder: Path) -> dict[str, str | None]:
    """The save id each of the tensors and the two tables carries (None: none), by file name."""
    import pyarrow.parquet as pq
    from safetensors import safe_open

    ids: dict[str, str | None] = {}
    with safe_open(str(folder / "tensors.safetensors"), framework="pt") as tensors:
        ids["tensors.safetensors"] = (tensors.metadata() or {}).get(METADATA_KEY)
    for name in ("metrics.parquet", "spectra.parquet"):
        metadata = pq.read_schema(folder / name).metadata or {}
        found = metadata.get(METADATA_KEY.encode())
        ids[name] = None if found is None else found.decode("utf-8", "replace")
    return ids


@contextlib.contextmanager
def saves_locked(folder: Path) -> Iterator[bool]:
    """Within: no other muonscope save into ``folder`` runs (an advisory lock on the folder itself).

    A folder that cannot be opened for the lock (no read permission), or whose file system keeps no
    locks, is saved into unlocked, as before: the lock keeps two saves apart, it is not what lets
    one happen. Yields whether the lock is held (what another save leaves may be taken for a
    killed save's only where it is).
    """
    import fcntl

    try:
        handle = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        yield False
        return
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX)
        except OSError:  # a file system that keeps no locks (some network mounts say ENOLCK)
            yield False
        else:
            yield True
    finally:
        os.close(handle)  # the lock goes with it


def free_sibling(target: Path, room_bytes: int) -> Path:
    """The first of ``NAME-2``, ``NAME-3``, … beside ``target`` that does not exist, NAME cut short
    where the name would take more than ``room_bytes`` (a 238-byte name, which fitted, made a
    sibling too long to save, and the run that would have gone there was lost)."""
    number = 2
    while True:
        suffix = f"-{number}"
        base = os.fsencode(target.name)[: max(room_bytes - len(suffix), 1)]
        candidate = target.with_name(base.decode("utf-8", "ignore") + suffix)
        if not candidate.exists():
            return candidate
        number += 1


def check_one_save(folder: Path, document: dict[str, Any]) -> None:
    """The tensors and both tables carry the save id of session.json, where it has one (SessionError
    naming the first file of another save otherwise); a file that carries none was written by
    another tool than muonscope (a script that edits the weights) and is taken as it is."""
    save_id = document.get("save_id")
    if save_id is None:  # saved before saves were stamped
        return
    for name, found in files_save_ids(folder).items():
        if found is not None and found != save_id:  # none: written by another tool, taken as it is
            raise SessionError(
                folder / name,
                "comes from another save than session.json (a copy made part-way, or a folder read "
                "while another save wrote it); open a folder whose four files were saved together",
            )
