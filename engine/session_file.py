"""Saving a session to a folder and opening it again, safely.

A saved session is a folder of four files, none of which can run code when read:

* ``session.json`` — format name and version, the initial configuration, the branches with their
  changes, the breakpoints, and for every checkpoint its step, configuration, events and the scalars
  of its lanes' latest metrics;
* ``tensors.safetensors`` — every tensor and array: W, optimizer state, the task's random state and
  the arrays of the lanes' latest metrics, keyed ``c<checkpoint>.<name>``;
* ``metrics.parquet`` — the per-step metrics of every branch (one row per branch, step and lane);
* ``spectra.parquet`` — the singular values of G, M, the update and W of every branch at the steps
  they were computed.

Writing goes to a temporary folder that replaces the target only when complete. Reading checks
every file before anything is built; a bad file raises :class:`SessionError` naming the file and
what is wrong, and the caller's open session is untouched.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import re
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from muonscope import __version__
from muonscope.engine.breakpoints import breakpoint_from_dict, breakpoint_to_dict
from muonscope.engine.changes import AddLane, Change, RemoveLane, SetField, apply_change
from muonscope.engine.checkpoints import Checkpoint, CheckpointStore, LaneStateCopy, same_state
from muonscope.engine.config import ExperimentConfig, lane_from_dict
from muonscope.engine.errors import ConfigError
from muonscope.engine.experiment import Experiment
from muonscope.engine.history import COLUMNS, MetricHistory, SpectraHistory, SpectraRow
from muonscope.engine.metrics import Isotropy
from muonscope.engine.presets import read_text_file
from muonscope.engine.session import Branch, Session
from muonscope.engine.snapshot import Event, LaneSnapshot, Spectra, frozen_array
from muonscope.engine.tables import write_table

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "SessionError",
    "check_save_target",
    "check_session_folder",
    "open_session",
    "save_session",
]

FORMAT = "muonscope-session"
FORMAT_VERSION = 1
FILES = ("session.json", "tensors.safetensors", "metrics.parquet", "spectra.parquet")
#: Largest session.json read (a million-step session with many branches stays far below it).
_MAX_JSON_BYTES = 256 * 1024 * 1024
_SPECTRA = ("gradient", "momentum", "update", "weights")
#: Nested snapshot types a saved lane may hold, by field name.
_NESTED = {"spectra": Spectra, "weight_isotropy": Isotropy, "update_isotropy": Isotropy}


class SessionError(ConfigError):
    """A session file that cannot be read or written: one line naming the file and the problem."""

    def __init__(self, path: Path | str, problem: str) -> None:
        self.field, self.value, self.allowed = str(path), str(path), problem
        ValueError.__init__(self, f"{path}: {problem}")

    def __reduce__(self):
        return type(self), (self.field, self.allowed)


# ---- saving ------------------------------------------------------------------------------------


def save_session(session: Session, path: Path) -> Path:
    """Write ``session`` to the folder ``path`` (replacing a session saved there before)."""
    path = Path(path)
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
        "written_by": f"muonscope {__version__}",
        "device": str(session.experiment.device),
        "dtype": str(session.experiment.dtype).removeprefix("torch."),
        "torch_version": torch.__version__,
        "initial_config": session.initial_config.to_dict(),
        "current_branch": session.branch.id,
        "breakpoints": [breakpoint_to_dict(b) for b in session.breakpoints],
        "branches": [_branch_record(b, ids) for b in session.branches],
        "checkpoints": records,
    }
    parent = path.parent if str(path.parent) else Path(".")
    parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=parent))
    try:
        (staging / "session.json").write_text(json.dumps(document, indent=1) + "\n", encoding="utf-8")
        _write_tensors(staging / "tensors.safetensors", tensors)
        _write_metrics(staging / "metrics.parquet", session)
        _write_spectra(staging / "spectra.parquet", session.branches)
        if path.exists():
            shutil.rmtree(path)
        os.replace(staging, path)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return path


def check_save_target(path: Path, resumed: Path | None = None) -> None:
    """Refuse a save path that is a file, a folder of something else, or another saved session
    (only ``resumed``, the session being continued, may be replaced), before any compute.

    ``run --steps 5 --save s2`` replaced a 200-step session with two branches without a word.
    """
    path = Path(path)
    _check_target(path)
    if (path / "session.json").is_file() and (resumed is None or path.resolve() != _folder(resumed)):
        raise SessionError(
            path,
            "already holds another saved session; save to a new folder (a session is replaced only "
            "by its own --resume)",
        )


def _folder(resumed: Path) -> Path:
    resumed = Path(resumed).resolve()
    return resumed.parent if resumed.name == "session.json" else resumed


def _check_target(path: Path) -> None:
    if path.exists() and not path.is_dir():
        raise SessionError(path, "exists and is not a folder; a session is saved as a folder")
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
    prefix = f"c{n}"
    tensors[f"{prefix}.weights"] = checkpoint.weights
    for name, value in checkpoint.task_state.items():
        tensors[f"{prefix}.task.{name}"] = value
    states = []
    for j, state in enumerate(checkpoint.lane_states):
        for part in ("buffer", "second_moment"):
            value = getattr(state, part)
            if value is not None:
                tensors[f"{prefix}.lane{j}.{part}"] = value
        states.append({"steps_taken": state.steps_taken})
    lanes = [_lane_record(lane, f"{prefix}.snap{j}", tensors) for j, lane in enumerate(checkpoint.lanes)]
    return {
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


def _write_tensors(path: Path, tensors: dict[str, torch.Tensor]) -> None:
    from safetensors.torch import save_file

    save_file({name: t.detach().cpu().contiguous() for name, t in tensors.items()}, str(path))


def _write_metrics(path: Path, session: Session) -> None:
    """Every branch's metric rows, each labelled with its lane's settings at the row's step."""
    import pyarrow as pa

    parts = []
    for branch in session.branches:
        table = branch.metrics.table()
        rows = len(table["step"])
        labels = branch.metrics.row_labels(session.lane_histories(branch))
        parts.append(
            pa.table(
                {
                    "branch": np.full(rows, branch.id, dtype=np.int64),
                    **table,
                    "label": pa.array(labels, pa.string()),
                }
            )
        )
    write_table(pa.concat_tables(parts), path)


def _write_spectra(path: Path, branches: list[Branch]) -> None:
    import pyarrow as pa

    columns: dict[str, list] = {name: [] for name in ("branch", "step", "lane", "lane_id", *_SPECTRA)}
    for branch in branches:
        for row in branch.spectra.rows():
            columns["branch"].append(branch.id)
            columns["step"].append(row.step)
            columns["lane"].append(row.lane)
            columns["lane_id"].append(row.lane_id)
            for name in _SPECTRA:
                columns[name].append(np.asarray(getattr(row.spectra, name), dtype=np.float64))
    schema = pa.schema(
        [(name, pa.int64()) for name in ("branch", "step", "lane", "lane_id")]
        + [(name, pa.list_(pa.float64())) for name in _SPECTRA]
    )
    write_table(columns, path, schema)


# ---- opening -----------------------------------------------------------------------------------


def open_session(
    path: Path,
    factory: Callable[[ExperimentConfig], Experiment] = Experiment,
    cancelled: Callable[[], bool] | None = None,
) -> Session:
    """Read a saved session and stand at its current branch's newest step.

    ``path`` is the session folder (or its ``session.json``). Everything is read and checked before
    the engine is built; any problem raises :class:`SessionError` naming the file. Standing at the
    newest step replays up to a checkpoint spacing of steps (hundreds on a long run): ``cancelled``
    is asked during it, and :class:`StepCancelled` raised when it says so.
    """
    folder = _session_folder(Path(path))
    document = _read_document(folder / "session.json")
    tensors = _read_tensors(folder / "tensors.safetensors")
    metrics = _read_metrics(folder / "metrics.parquet")
    spectra = _read_spectra(folder / "spectra.parquet")
    try:
        return _build_session(document, tensors, metrics, spectra, factory, cancelled)
    except SessionError:
        raise
    except ConfigError as exc:
        raise SessionError(folder / "session.json", f"holds settings that are not valid: {exc}") from None
    except (KeyError, TypeError, ValueError, IndexError, AttributeError, RuntimeError) as exc:
        raise SessionError(
            folder, f"is not a consistent muonscope session ({type(exc).__name__}: {exc})"
        ) from None


def check_session_folder(path: Path) -> None:
    """The quick part of opening ``path``: a folder with the four files and a session.json that reads
    as one (SessionError naming the file otherwise), so a bad path is refused before a window opens."""
    _read_document(_session_folder(Path(path)) / "session.json")


def _session_folder(path: Path) -> Path:
    if path.name == "session.json" and path.is_file():
        path = path.parent
    if not path.exists():
        raise SessionError(path, "does not exist; a saved session is a folder holding session.json")
    if not path.is_dir():
        raise SessionError(path, "is not a session folder (a session is a folder holding session.json)")
    for name in FILES:
        if not (path / name).exists():
            raise SessionError(path / name, "is missing; a session folder holds " + ", ".join(FILES))
        if not (path / name).is_file():
            raise SessionError(path / name, "is not a regular file (a folder, a pipe or a device)")
    return path


def _read_document(path: Path) -> dict[str, Any]:
    try:
        text = read_text_file(path, "session", _MAX_JSON_BYTES, kind="JSON")
    except ConfigError as exc:
        raise SessionError(path, exc.allowed) from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        # json's messages end in "at" where they would give a character offset: line and column read better
        where = f"line {exc.lineno}, column {exc.colno}"
        raise SessionError(path, f"is not valid JSON ({exc.msg.removesuffix(' at')}: {where})") from None
    except RecursionError:
        raise SessionError(path, "is not JSON muonscope can read (arrays nest too deeply)") from None
    except ValueError:  # int() refuses a number of more than 4300 digits
        raise SessionError(path, "is not JSON muonscope can read (a number has over 4300 digits)") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise SessionError(path, f'is not a muonscope session (no "format": "{FORMAT}")')
    version = document.get("version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise SessionError(path, f"has no valid format version (found {version!r})")
    if version > FORMAT_VERSION:
        raise SessionError(
            path,
            f"was written by a newer muonscope (session format {version}; this one reads up to "
            f"{FORMAT_VERSION}): update muonscope to open it",
        )
    return document


def _read_tensors(path: Path) -> dict[str, torch.Tensor]:
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        return load_file(str(path))
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        problem = " ".join(str(exc).split())[:160]
        raise SessionError(path, f"is not a readable safetensors file ({problem})") from None


def _read_table(path: Path, columns: tuple[str, ...]) -> dict[str, Any]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except (pa.ArrowException, OSError) as exc:
        problem = " ".join(str(exc).split()).replace(f"'{path}'", "").replace(f"{path}", "")
        problem = re.sub(
            r"^Could not open Parquet input source\s*:?\s*", "", problem
        )  # the path is named once
        problem = problem if len(problem) <= 160 else problem[:160].rsplit(" ", 1)[0] + " …"
        raise SessionError(path, f"is not a readable Parquet table ({problem})") from None
    missing = [name for name in columns if name not in table.column_names]
    if missing:
        raise SessionError(path, "lacks the columns " + ", ".join(missing))
    return {name: table.column(name) for name in columns}


def _read_metrics(path: Path) -> dict[str, Any]:
    table = _read_table(path, ("branch", *COLUMNS, "label"))
    try:
        out = {
            name: np.asarray(table[name].to_numpy(zero_copy_only=False), dtype=np.float64)
            for name in ("branch", *COLUMNS)
        }
    except (TypeError, ValueError) as exc:
        raise SessionError(path, f"has a column that is not numeric ({exc})") from None
    out["label"] = [str(v) for v in table["label"].to_pylist()]
    return out


def _read_spectra(path: Path) -> dict[str, Any]:
    table = _read_table(path, ("branch", "step", "lane", "lane_id", *_SPECTRA))
    try:
        return {name: column.to_pylist() for name, column in table.items()}
    except (TypeError, ValueError) as exc:
        raise SessionError(path, f"has a malformed column ({exc})") from None


def _build_session(
    document: dict[str, Any],
    tensors: dict[str, torch.Tensor],
    metrics: dict[str, Any],
    spectra: dict[str, Any],
    factory: Callable[[ExperimentConfig], Experiment],
    cancelled: Callable[[], bool] | None,
) -> Session:
    initial = ExperimentConfig.from_dict(document["initial_config"])
    dtype = _saved_dtype(document)
    records = _list(document["checkpoints"])
    checkpoints = [_checkpoint(n, record, tensors, dtype) for n, record in enumerate(records)]
    for n, checkpoint in enumerate(checkpoints):
        if checkpoint.config.task.weight_shape != initial.task.weight_shape:  # no change reshapes W
            raise ValueError(
                f"initial_config's task has weights {initial.task.weight_shape}, "
                f"checkpoint {n}'s {checkpoint.config.task.weight_shape}"
            )
    session = Session(initial, factory, record_start=False)
    for record in _list(document["branches"]):
        session.branches.append(_branch(record, checkpoints, metrics, spectra, initial))
    _check_branch_tree(session.branches)
    current = document["current_branch"]
    if not isinstance(current, int) or not 0 <= current < len(session.branches):
        raise ValueError(f"current_branch {current!r} is not one of the branches")
    session.stand_on(current, cancelled)  # first: the breakpoints name the lanes as labelled there
    session.set_breakpoints(breakpoint_from_dict(item) for item in _list(document["breakpoints"]))
    return session


def _check_branch_tree(branches: list[Branch]) -> None:
    """Branch i has id i; main has no parent and every other branch forked from an earlier one,
    within both lines' steps; names are distinct (``--branch NAME`` picks one)."""
    if not branches:
        raise ValueError("a session has at least one branch")
    names = set()
    for index, branch in enumerate(branches):
        where = f"branch {index} ({branch.name!r})"
        if branch.id != index:
            raise ValueError(f"{where} has id {branch.id}; branches are numbered 0, 1, … in order")
        if branch.name in names:
            raise ValueError(f"{where}: another branch has that name; names are distinct")
        names.add(branch.name)
        if (branch.parent is None) != (index == 0):
            raise ValueError(f"{where}: only branch 0, main, has no parent, found parent {branch.parent}")
        if branch.parent is not None and branch.parent >= index:
            raise ValueError(f"{where}: its parent {branch.parent} must be an earlier branch")
        if branch.parent is not None and branch.fork_step > branches[branch.parent].head_step:
            raise ValueError(f"{where}: forked at step {branch.fork_step}, past its parent's newest step")
        if branch.fork_step > branch.head_step:
            raise ValueError(f"{where}: forked at step {branch.fork_step}, past its own newest step")


def _list(value: Any) -> list:
    if not isinstance(value, list):
        raise TypeError(f"expected a list, found {type(value).__name__}")
    return value


def _int(value: Any, what: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError(f"{what} must be a non-negative integer, found {value!r}")
    return value


def _branch(
    record: dict[str, Any],
    checkpoints: list[Checkpoint],
    metrics: dict[str, Any],
    spectra: dict[str, Any],
    initial: ExperimentConfig,
) -> Branch:
    branch_id = _int(record["id"], "branch id")
    store = CheckpointStore(
        int(initial.run.checkpoint_mb * 1024 * 1024), _int(record["checkpoint_spacing"], "spacing") or 1
    )
    what = f"branch {branch_id}'s checkpoint"
    owned = [_stored(checkpoints, i, what) for i in _list(record["checkpoints"])]
    if not owned:
        raise ValueError(f"branch {branch_id} has no checkpoint")
    for checkpoint in owned:
        store.add(checkpoint)
    head = record["head"]
    branch = Branch(
        id=branch_id,
        name=str(record["name"]),
        parent=None if record["parent"] is None else _int(record["parent"], "parent"),
        fork_step=_int(record["fork_step"], "fork_step"),
        checkpoints=store,
        metrics=_branch_metrics(metrics, branch_id, _int(record["metrics_stride"], "stride") or 1),
        spectra=_branch_spectra(spectra, branch_id, _int(record["spectra_stride"], "stride") or 1),
        head_step=_int(record["head_step"], "head_step"),
        changes=tuple(_change(item) for item in _list(record["changes"])),
        head=None if head is None else _stored(checkpoints, head, f"branch {branch_id}'s head"),
    )
    _check_head(branch)
    final = _check_changes(branch, initial)
    _check_records(branch)
    _check_lane_rows(branch, len(initial.lanes), len(final.lanes))
    return branch


def _stored(checkpoints: list[Checkpoint], index: Any, what: str) -> Checkpoint:
    """The checkpoint ``index`` of the document's list, which ``what`` refers to."""
    if _int(index, what) >= len(checkpoints):
        raise ValueError(f"{what} {index} is not one of the {len(checkpoints)} checkpoints stored")
    return checkpoints[index]


def _check_records(branch: Branch) -> None:
    """The branch's metrics hold each recorded step once, every ``stride``-th step from 0 to its
    newest, and its spectra each lane's once per step: a table with rows dropped or repeated was
    read without a word and drew curves that doubled back or jumped."""
    where, table = f"branch {branch.id}", branch.metrics.table()
    steps, lanes = table["step"], table["lane"]
    if np.any(np.diff(steps) < 0):
        raise ValueError(f"{where}: its metrics rows are not in step order")
    if len({(s, lane) for s, lane in zip(steps.tolist(), lanes.tolist(), strict=True)}) != steps.size:
        raise ValueError(f"{where}: its metrics hold a step of a lane twice")
    recorded = np.unique(steps)
    grid = np.arange(0, branch.metrics.last_step + 1, branch.metrics.stride)
    if recorded.size != grid.size or np.any(recorded != grid):
        missing = np.setdiff1d(grid, recorded)
        what = f"lack step {int(missing[0])}" if missing.size else "hold steps off their grid"
        every = f"each multiple of {branch.metrics.stride}" if branch.metrics.stride > 1 else "every step"
        raise ValueError(f"{where}: its metrics {what} (they hold {every} from 0 to {int(grid[-1])})")
    rows = [(row.step, row.lane) for row in branch.spectra.rows()]
    if len(set(rows)) != len(rows):
        raise ValueError(f"{where}: its spectra hold a step of a lane twice")
    late = [step for step, _lane in rows if step > branch.head_step or step % branch.spectra.stride]
    if late:
        raise ValueError(
            f"{where}: its spectra hold step {late[0]}, off its record (0 to {branch.head_step})"
        )


def _check_changes(branch: Branch, initial: ExperimentConfig) -> ExperimentConfig:
    """Every change the branch replays is one the engine accepts, in step order up to its head: an
    edited ``lanes[0].lr = "zzz"`` was found only when a replay reached it, and stopped the engine.
    Returns the settings at the head."""
    config, last = initial, 0
    for step, change in branch.changes:
        if not last <= step <= branch.head_step:
            raise ValueError(f"branch {branch.id}: a change at step {step} is out of order")
        config = apply_change(config, change).config  # a ConfigError names the field and value
        last = step
    return config


def _check_head(branch: Branch) -> None:
    """The branch's newest step agrees with its records: opening replays up to it from the stored
    state before it (a checkpoint spacing at most), and an edited ``head_step`` of 10¹² replayed for
    ever."""
    where, head_step, last = f"branch {branch.id}", branch.head_step, branch.metrics.last_step
    if not last <= head_step < last + branch.metrics.stride:
        raise ValueError(f"{where}: head_step {head_step} is not where its metrics end ({last})")
    newest = branch.checkpoints.steps[-1]  # the store keeps them in order
    if newest > head_step:
        raise ValueError(f"{where}: a checkpoint at step {newest} lies past its head, step {head_step}")
    if branch.head is not None and branch.head.step != head_step:
        raise ValueError(f"{where}: its head is step {branch.head.step}, not head_step {head_step}")
    start = branch.head or branch.checkpoints.at_or_before(head_step)
    spacing = branch.checkpoints.spacing
    if start is None or head_step - start.step > spacing:
        raise ValueError(f"{where}: no checkpoint within {spacing} steps of its head")


def _check_lane_rows(branch: Branch, lanes_at_start: int, lanes_at_head: int) -> None:
    """Each recorded step has a metrics row for each of its lanes, 0 to n − 1, and n changes only
    where a lane was added or removed (a lane's rows dropped were otherwise read as a shorter run)."""
    table = branch.metrics.table()
    steps, lanes = table["step"], table["lane"]
    if steps.size == 0:
        return
    recorded, starts, counts = np.unique(steps, return_index=True, return_counts=True)
    if np.any(lanes < 0) or np.any(np.maximum.reduceat(lanes, starts) != counts - 1):
        raise ValueError(f"branch {branch.id}: its metrics miss a lane's row at a step")
    changed = [step for step, change in branch.changes if isinstance(change, AddLane | RemoveLane)]

    def settled(first: float, last: float) -> bool:  # no lane added or removed from first to last
        return not any(first <= step <= last for step in changed)

    where = f"branch {branch.id}: its metrics have"
    for step, count, configured in (
        (recorded[0], counts[0], lanes_at_start),
        (recorded[-1], counts[-1], lanes_at_head),
    ):
        if count != configured and settled(step, step):
            raise ValueError(f"{where} {count} lane(s) at step {int(step)}, its settings {configured}")
    for i in np.flatnonzero(np.diff(counts)):
        if settled(recorded[i], recorded[i + 1]):
            raise ValueError(
                f"{where} {counts[i]} lane(s) at step {int(recorded[i])} and {counts[i + 1]} at step "
                f"{int(recorded[i + 1])}, with no lane added or removed"
            )


def _branch_metrics(metrics: dict[str, Any], branch_id: int, stride: int) -> MetricHistory:
    rows = metrics["branch"] == branch_id
    table = {name: metrics[name][rows] for name in COLUMNS}
    labels = {}
    for lane, label in zip(table["lane"], np.asarray(metrics["label"], dtype=object)[rows], strict=True):
        labels[int(lane)] = label
    return MetricHistory.from_table(table, labels, stride)


def _branch_spectra(spectra: dict[str, Any], branch_id: int, stride: int) -> SpectraHistory:
    history = SpectraHistory()
    history.stride = stride
    rows = []
    for i, owner in enumerate(spectra["branch"]):
        if owner != branch_id:
            continue
        values = {name: frozen_array(spectra[name][i], dtype=np.float64) for name in _SPECTRA}
        rows.append(
            SpectraRow(
                int(spectra["step"][i]),
                int(spectra["lane"][i]),
                int(spectra["lane_id"][i]),
                Spectra(**values),
            )
        )
    history.add_rows(rows)
    return history


def _change(record: dict[str, Any]) -> tuple[int, Change]:
    step = _int(record["step"], "change step")
    if "set" in record:
        value = record["value"]
        return step, SetField(str(record["set"]), tuple(value) if isinstance(value, list) else value)
    if "add_lane" in record:
        copy_from = record.get("copy_from")
        return step, AddLane(
            lane_from_dict(record["add_lane"]), None if copy_from is None else _int(copy_from, "copy_from")
        )
    if "remove_lane" in record:
        return step, RemoveLane(_int(record["remove_lane"], "lane index"))
    raise ValueError(f"change {record!r} is neither set, add_lane nor remove_lane")


def _checkpoint(
    n: int, record: dict[str, Any], tensors: dict[str, torch.Tensor], dtype: torch.dtype
) -> Checkpoint:
    prefix = f"c{n}"
    config = ExperimentConfig.from_dict(record["config"])
    weights = tensors[f"{prefix}.weights"]
    lanes_count = len(config.lanes)
    if tuple(weights.shape) != (lanes_count, *config.task.weight_shape):
        raise ValueError(f"checkpoint {n}: weights of shape {tuple(weights.shape)} do not fit its config")
    if not torch.isfinite(weights).all():  # a diverged lane keeps its last finite weights
        raise ValueError(f"checkpoint {n}: weights hold values that are not finite")
    _check_dtype(weights, dtype, f"checkpoint {n}: weights")
    states = []
    for j, state in enumerate(_list(record["lane_states"])):
        parts = {part: tensors.get(f"{prefix}.lane{j}.{part}") for part in ("buffer", "second_moment")}
        for part, tensor in parts.items():
            if tensor is not None and tuple(tensor.shape) != config.task.weight_shape:
                shape = tuple(tensor.shape)
                raise ValueError(f"checkpoint {n}: lane {j}'s {part} of shape {shape} does not fit")
            if tensor is not None:
                _check_dtype(tensor, dtype, f"checkpoint {n}: lane {j}'s {part}")
        second = parts["second_moment"]
        if second is not None and bool((second < 0).any()):  # a mean of squares: never negative
            raise ValueError(f"checkpoint {n}: lane {j}'s second moment holds negative values")
        states.append(
            LaneStateCopy(parts["buffer"], parts["second_moment"], _int(state["steps_taken"], "steps_taken"))
        )
    if len(states) != lanes_count:
        raise ValueError(f"checkpoint {n}: {len(states)} optimizer states for {lanes_count} lanes")
    if len(_list(record["lanes"])) != lanes_count:
        raise ValueError(f"checkpoint {n}: {len(record['lanes'])} lane snapshots for {lanes_count} lanes")
    for j, (lane, state) in enumerate(zip(config.lanes, states, strict=True)):
        if lane.optimizer == "adam" and (state.buffer is None) != (state.second_moment is None):
            raise ValueError(f"checkpoint {n}: lane {j} (Adam) has a first moment without a second")
    return Checkpoint(
        step=_int(record["step"], "step"),
        config=config,
        weights=weights,
        lane_states=tuple(states),
        task_state={name: tensors[f"{prefix}.task.{name}"] for name in _list(record["task_state"])},
        lanes=tuple(
            _lane(item, f"{prefix}.snap{j}", tensors, LaneSnapshot)
            for j, item in enumerate(_list(record["lanes"]))
        ),
        events=tuple(_event(item) for item in _list(record["events"])),
        changes=tuple(_change(item) for item in _list(record["changes"])),
        next_lane_id=_int(record["next_lane_id"], "next_lane_id"),
    )


def _saved_dtype(document: dict[str, Any]) -> torch.dtype:
    """The precision the session was computed in (opened elsewhere, the engine's own is used)."""
    dtypes = {"float32": torch.float32, "float64": torch.float64}
    name = document["dtype"]
    if name not in dtypes:
        raise ValueError(f"dtype {name!r} is not one muonscope computes in ({', '.join(dtypes)})")
    return dtypes[name]


def _check_dtype(tensor: torch.Tensor, dtype: torch.dtype, what: str) -> None:
    """A run's state is in the one precision it was computed in: float32 weights edited into a
    float64 session were taken in silently, rounded, as if the run had held them."""
    if tensor.dtype != dtype:
        found, wanted = (str(t).removeprefix("torch.") for t in (tensor.dtype, dtype))
        raise ValueError(f"{what} are {found}, but the session was computed in {wanted}")


def _lane(record: dict[str, Any], prefix: str, tensors: dict[str, torch.Tensor], kind: type) -> Any:
    """A snapshot dataclass back from its JSON scalars and its arrays; unknown fields are refused."""
    if not isinstance(record, dict):
        raise TypeError(f"{prefix}: expected a table")
    known = {spec.name: spec for spec in dataclasses.fields(kind)}
    unknown = set(record) - set(known)
    if unknown:
        raise ValueError(f"{prefix}: unknown fields {sorted(unknown)}")
    values: dict[str, Any] = {}
    for name in known:
        key = f"{prefix}.{name}"
        if key in tensors:
            values[name] = frozen_array(tensors[key].numpy())
        elif name in _NESTED and name in record:
            values[name] = _lane(record[name], key, tensors, _NESTED[name])
        elif name in record:
            values[name] = _scalar(record[name], key)
    return kind(**values)


def _scalar(value: Any, where: str) -> Any:
    if isinstance(value, str) and value in ("nan", "inf", "-inf"):
        return float(value)
    if value is None or isinstance(value, bool | int | float | str):
        return value
    raise TypeError(f"{where}: expected a number, a flag or text, found {type(value).__name__}")


def _event(record: dict[str, Any]) -> Event:
    def value(v: Any) -> Any:
        return tuple(v) if isinstance(v, list) else v

    return Event(
        _int(record["step"], "event step"),
        str(record["field"]),
        value(record["old"]),
        value(record["new"]),
        str(record["text"]),
    )
