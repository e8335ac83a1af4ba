"""Writing a session to its folder: its files are written in full to a temporary folder first, and
only then take the place of a folder's old ones (or become the new folder).

What the folder holds is said in :mod:`muonscope.engine.session_format`.
"""

from __future__ import annotations

import dataclasses
import errno
import json
import math
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import torch

from muonscope import __version__
from muonscope.engine.breakpoints import breakpoint_to_dict
from muonscope.engine.changes import AddLane, Change, SetField
from muonscope.engine.checkpoints import Checkpoint, same_state
from muonscope.engine.file_names import kind_of, longest_name, name_overflow
from muonscope.engine.file_writes import process_umask
from muonscope.engine.history import count_values
from muonscope.engine.measure_changes import MEASURES
from muonscope.engine.save_identity import (
    METADATA_KEY,
    SavedAt,
    folder_save_id,
    free_sibling,
    new_save_id,
    saves_locked,
)
from muonscope.engine.scalar_metrics import COUNT_METRICS, SCALAR_METRICS
from muonscope.engine.session import Branch, Session
from muonscope.engine.session_format import (
    FORMAT,
    FORMAT_VERSION,
    SPECTRA_COLUMNS,
    SaveFailed,
    SessionError,
    os_reason,
    session_folder,
)
from muonscope.engine.session_swap import STAGING_PREFIX, drop_abandoned_saves, replace_files
from muonscope.engine.snapshot import Event
from muonscope.engine.tables import write_table

__all__ = ["STAGING_ADDED_BYTES", "SavedElsewhere", "check_save_target", "save_session"]

#: What staging adds to a session's name: the prefix's own characters and tempfile's 8 random ones.
STAGING_ADDED_BYTES = len(STAGING_PREFIX.format(name="")) + 8


def save_session(
    session: Session, path: Path, *, replace_any: bool = False, checked_before: bool = False
) -> Path:
    """Write ``session`` to the folder ``path``, replacing a session saved there before; whatever else
    the folder holds (notes, figures, a session saved inside it) is kept. A folder the system will
    not let it write is :class:`SaveFailed`, naming ``path`` and where the system refused.

    Only the save this session was read from or last written to is replaced, unless ``replace_any``
    (a user who said so): one another process saved there meanwhile stays, and this session is
    saved beside it under a free name, said by :class:`SavedElsewhere` once it is written. A path
    ``checked_before`` (by :func:`check_save_target`, before the run) that has become a file or a
    folder of other files meanwhile is saved beside as well: refused after the run, a 300-step run
    whose folder another command had written tables into was saved nowhere.
    """
    path = Path(path)
    try:
        written, why = _save(session, path, replace_any, checked_before)
    except OSError as exc:
        where = _refused_in(path, exc)
        raise SaveFailed(path, f"cannot be saved there ({os_reason(exc)}{where})", exc.errno) from None
    if written != path.resolve():
        beside = path.with_name(written.name) if path.name not in ("", "..") else written  # as it was given
        raise SavedElsewhere(path, beside, why)
    return path


#: Why a session was saved beside the folder asked for.
_ANOTHER_SESSION = "another process saved a session there meanwhile, which is kept"
_OTHER_FILES = "it became {kind} meanwhile, which is left as it is"


class SavedElsewhere(SaveFailed):
    """A session saved beside the folder asked for, because another process saved a session (or
    other files) there while this one ran: neither is lost. ``saved_to`` is the folder it was
    written to."""

    failure_heading = "saved elsewhere"  # what the command line says first: nothing is lost

    def __init__(self, path: Path, saved_to: Path, why: str = _ANOTHER_SESSION) -> None:
        super().__init__(path, f"{why}; this one is saved to {saved_to} instead")
        self.saved_to = saved_to


def _refused_in(path: Path, exc: OSError) -> str:
    """ " in FOLDER" where the system refused a file of a folder other than ``path``'s own, by that
    folder (the staging folder's hidden name is not the user's to know)."""
    if not exc.filename:
        return ""
    folder = Path(exc.filename).parent
    return "" if folder.resolve() in (Path.cwd(), path.resolve()) else f" in {folder}"


def _save(session: Session, path: Path, replace_any: bool, checked_before: bool) -> tuple[Path, str]:
    """Write the session's four files to ``path`` (or beside it: see :func:`save_session`); returns
    the resolved folder they were written to, and why it is not ``path`` where it is not."""
    if not checked_before:
        _check_target(path)
    if session.at_head:  # the engine's exact state, so opening continues from here
        session.branch.head = session.experiment.checkpoint()
        session.branch.head_snapshot = session.experiment.snapshot()
    _store_each_head_once(session)
    checkpoints = _unique_checkpoints(session)
    ids = {id(c): n for n, c in enumerate(checkpoints)}
    tensors: dict[str, torch.Tensor] = {}
    records = [_checkpoint_record(n, c, tensors) for n, c in enumerate(checkpoints)]
    document = {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "measures": MEASURES,  # what its steps measured: a later muonscope reads it as recorded then
        "notes": list(session.lasting_notes),  # of a record that keeps rows from earlier definitions
        "written_by": f"muonscope {__version__}",
        "device": str(session.experiment.device),
        "dtype": str(session.experiment.dtype).removeprefix("torch."),
        "torch_version": torch.__version__,
        "initial_config": session.initial_config.to_dict(),
        "current_branch": session.branch.id,
        "breakpoints": [breakpoint_to_dict(b) for b in session.breakpoints],
        "view": dict(session.view),
        "branches": [_branch_record(b, ids) for b in session.branches],
        "checkpoints": records,
        "save_id": new_save_id(),
    }
    target = path.resolve()  # a link's folder, and "." by its name
    target.parent.mkdir(parents=True, exist_ok=True)
    why = ""
    with saves_locked(target.parent) as alone:  # another muonscope saving here waits for this save
        if checked_before and (taken := _taken_by_other_files(target)):
            why = _OTHER_FILES.format(kind=taken)
        elif not replace_any and _saved_by_another(session, target):
            why = _ANOTHER_SESSION
        if why:
            target = free_sibling(target, longest_name(target.parent) - STAGING_ADDED_BYTES)
        _write_session(session, document, tensors, target, alone)
    session.last_saved = SavedAt(target, document["save_id"])
    return target, why


def _taken_by_other_files(target: Path) -> str:
    """What ``target`` has become that a session may not be saved into ("" where nothing): a file,
    or a folder of files but no session."""
    try:
        _check_target(target)
    except SessionError:
        return kind_of(target) if not target.is_dir() else "a folder of other files"
    return ""


def _saved_by_another(session: Session, target: Path) -> bool:
    """Whether ``target`` holds a save other than the one ``session`` was read from or last written
    to: another process saved there since this one checked the folder at its start."""
    if not (target / "session.json").is_file():
        return False
    known = session.last_saved
    return known is None or known.folder != target or known.save_id != folder_save_id(target)


def _write_session(
    session: Session, document: dict[str, Any], tensors: dict[str, torch.Tensor], target: Path, alone: bool
) -> None:
    """The four files, written in a staging folder beside ``target``, then moved into it at once.
    ``alone``: no other save stages here meanwhile, so that staging folders found are killed saves'."""
    fresh = not target.exists()
    home = target.parent if fresh else target  # the staging folder sits beside what it replaces
    if alone:
        drop_abandoned_saves(target.parent)  # a killed save of a new folder left its own beside it
        if not fresh:
            drop_abandoned_saves(target, target.name)
    staging = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX.format(name=target.name), dir=home))
    save_id = document["save_id"]
    try:
        (staging / "session.json").write_text(json.dumps(document, indent=1) + "\n", encoding="utf-8")
        _write_tensors(staging / "tensors.safetensors", tensors, save_id)
        _write_metrics(staging / "metrics.parquet", session, save_id)
        _write_spectra(staging / "spectra.parquet", session.branches, save_id)
        _open_as_umask_allows(staging, folder_too=fresh)
        if fresh:
            os.replace(staging, target)
        else:
            replace_files(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    if not fresh:
        shutil.rmtree(staging)  # the files replaced waited there


def _open_as_umask_allows(staging: Path, folder_too: bool) -> None:
    """The permissions a file or folder made here would have: the temporary folder is private
    (700) and tensors.safetensors came out 600, so a session folder shared by a group was not."""
    mask = process_umask()
    for entry in staging.iterdir():
        entry.chmod(0o666 & ~mask)
    if folder_too:
        staging.chmod(0o777 & ~mask)


def check_save_target(path: Path, resumed: Path | None = None) -> None:
    """Refuse a save path that is a file, a folder of something else, or another saved session
    (only ``resumed``, the session being continued, may be replaced), before any compute.

    ``run --steps 5 --save s2`` replaced a 200-step session with two branches without a word.
    """
    path = Path(path)
    overflow = name_overflow(path, STAGING_ADDED_BYTES, "saving")
    if overflow is not None:
        raise SessionError(path, overflow)
    try:
        _check_target(path)
        held = (path / "session.json").is_file()
    except OSError as exc:
        raise SessionError(path, f"cannot be saved there ({os_reason(exc)})") from None
    resumed_folder = None if resumed is None else session_folder(Path(resumed).resolve())
    if held and path.resolve() != resumed_folder:
        raise SessionError(
            path,
            "already holds another saved session; save to a new folder (a session is replaced only "
            "by its own --resume)",
        )


def _check_target(path: Path) -> None:
    if path.exists() and not path.is_dir():
        raise SessionError(path, f"is {kind_of(path)}, not a folder; a session is saved as a folder")
    if path.is_dir() and any(path.iterdir()) and not (path / "session.json").is_file():
        raise SessionError(path, "is a folder that holds no muonscope session; choose a new or empty one")


def _store_each_head_once(session: Session) -> None:
    """A head on the checkpoint grid (a 300-step run with one every 50) is the state stored there,
    taken again: the stores hold the head instead, so that it is written once, metrics and all."""
    for branch in session.branches:
        head = branch.head
        stored = None if head is None else branch.checkpoints.at_or_before(head.step)
        if stored is not None and stored is not head and same_state(stored, head):
            for holder in session.branches:  # a fork shares the checkpoints before it
                holder.checkpoints.replace(stored, head)


def _unique_checkpoints(session: Session) -> list[Checkpoint]:
    found: dict[int, Checkpoint] = {}
    for branch in session.branches:
        for checkpoint in [*branch.checkpoints.all(), branch.head]:
            if checkpoint is not None:
                found.setdefault(id(checkpoint), checkpoint)
    return list(found.values())


def _branch_record(branch: Branch, ids: dict[int, int]) -> dict[str, Any]:
    return {
        "id": branch.id,
        "name": branch.name,
        "parent": branch.parent,
        "fork_step": branch.fork_step,
        "head_step": branch.head_step,
        "head": None if branch.head is None else ids[id(branch.head)],
        "checkpoints": [ids[id(c)] for c in branch.checkpoints.all()],
        "checkpoint_spacing": branch.checkpoints.spacing,
        "metrics_stride": branch.metrics.stride,
        "spectra_stride": branch.spectra.stride,
        "changes": [_change_record(step, change) for step, change in branch.changes],
        "threads": [[first, count] for first, count in branch.threads],
    }


def _change_record(step: int, change: Change) -> dict[str, Any]:
    if isinstance(change, SetField):
        return {"step": step, "set": change.path, "value": _plain(change.value)}
    if isinstance(change, AddLane):
        return {"step": step, "add_lane": dataclasses.asdict(change.lane), "copy_from": change.copy_from}
    return {"step": step, "remove_lane": change.index}


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def _checkpoint_record(n: int, checkpoint: Checkpoint, tensors: dict[str, torch.Tensor]) -> dict[str, Any]:
    """The checkpoint's JSON record; its tensors go into ``tensors``, each named ``c<n>.<name>``.

    The record lists its tensors' names: a tensor missing from the file was otherwise read as state
    the run never had (a momentum buffer gone reads as a lane that has not stepped yet).
    """
    prefix = f"c{n}"
    own: dict[str, torch.Tensor] = {f"{prefix}.weights": checkpoint.weights}
    for name, value in checkpoint.task_state.items():
        own[f"{prefix}.task.{name}"] = value
    states = []
    for j, state in enumerate(checkpoint.lane_states):
        for part in ("buffer", "second_moment"):
            value = getattr(state, part)
            if value is not None:
                own[f"{prefix}.lane{j}.{part}"] = value
        states.append({"steps_taken": state.steps_taken})
    lanes = [_lane_record(lane, f"{prefix}.snap{j}", own) for j, lane in enumerate(checkpoint.lanes)]
    tensors.update(own)
    return {
        "tensors": sorted(name.removeprefix(f"{prefix}.") for name in own),
        "step": checkpoint.step,
        "config": checkpoint.config.to_dict(),
        "lane_states": states,
        "task_state": sorted(checkpoint.task_state),
        "lanes": lanes,
        "events": [_event_record(e) for e in checkpoint.events],
        "changes": [_change_record(step, change) for step, change in checkpoint.changes],
        "next_lane_id": checkpoint.next_lane_id,
    }


def _lane_record(value: Any, prefix: str, tensors: dict[str, torch.Tensor]) -> dict[str, Any]:
    """Scalars of a (nested) snapshot dataclass for JSON; its arrays go to ``tensors``."""
    record: dict[str, Any] = {}
    for spec in dataclasses.fields(value):
        item = getattr(value, spec.name)
        if isinstance(item, np.ndarray):
            tensors[f"{prefix}.{spec.name}"] = torch.from_numpy(np.array(item))
        elif dataclasses.is_dataclass(item):
            record[spec.name] = _lane_record(item, f"{prefix}.{spec.name}", tensors)
        else:
            record[spec.name] = _json_scalar(item)
    return record


def _json_scalar(value: Any) -> Any:
    """Plain JSON: numpy scalars as Python ones, non-finite floats as text."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value


def _event_record(event: Event) -> dict[str, Any]:
    return {
        "step": event.step,
        "field": event.field,
        "old": _plain(event.old),
        "new": _plain(event.new),
        "text": event.text,
    }


def _write_tensors(path: Path, tensors: dict[str, torch.Tensor], save_id: str) -> None:
    """The tensors file; the system's refusal as an OSError, as the other files' come: safetensors
    raises one of its own ("I/O error: No space left on device (os error 28)"), which went past
    :func:`save_session`'s message and, in the window, ended the engine with the run unsaved."""
    from safetensors import SafetensorError
    from safetensors.torch import save_file

    try:
        contents = {name: t.detach().cpu().contiguous() for name, t in tensors.items()}
        save_file(contents, str(path), metadata={METADATA_KEY: save_id})
    except SafetensorError as exc:
        found = re.search(r"os error (\d+)", str(exc))
        code = int(found.group(1)) if found else errno.EIO
        raise OSError(code, os.strerror(code)) from None


def _write_metrics(path: Path, session: Session, save_id: str) -> None:
    """Every branch's metric rows, each labelled with its lane's settings at the row's step."""
    import pyarrow as pa

    parts = []
    for branch in session.branches:
        table = branch.metrics.table()
        rows = len(table["step"])
        labels = branch.metrics.row_labels(session.lane_histories(branch))
        counts = {name: pa.array(count_values(table[name]), pa.int64()) for name in COUNT_METRICS}
        # not computed at a row (NaN) is null, as in run --out's table: readers skip it in a mean
        floats = [name for name in SCALAR_METRICS if name not in COUNT_METRICS]
        missing = {name: pa.array(table[name], pa.float64(), from_pandas=True) for name in floats}
        parts.append(
            pa.table(
                {
                    "branch": np.full(rows, branch.id, dtype=np.int64),
                    **table,
                    **missing,
                    **counts,
                    "label": pa.array(labels, pa.string()),
                }
            )
        )
    write_table(pa.concat_tables(parts).replace_schema_metadata({METADATA_KEY: save_id}), path)


def _write_spectra(path: Path, branches: list[Branch], save_id: str) -> None:
    import pyarrow as pa

    columns: dict[str, list] = {name: [] for name in ("branch", "step", "lane", "lane_id", *SPECTRA_COLUMNS)}
    for branch in branches:
        for row in branch.spectra.rows():
            columns["branch"].append(branch.id)
            columns["step"].append(row.step)
            columns["lane"].append(row.lane)
            columns["lane_id"].append(row.lane_id)
            for name in SPECTRA_COLUMNS:
                columns[name].append(np.asarray(getattr(row.spectra, name), dtype=np.float64))
    schema = pa.schema(
        [(name, pa.int64()) for name in ("branch", "step", "lane", "lane_id")]
        + [(name, pa.list_(pa.float64())) for name in SPECTRA_COLUMNS],
        metadata={METADATA_KEY: save_id},
    )
    write_table(columns, path, schema)
