"""Opening a saved session: every file is checked before anything is built.

A bad file raises :class:`~muonscope.engine.session_format.SessionError` naming the file and what
is wrong, and the caller's open session is untouched.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from muonscope.engine.branch_checks import (
    check_branch_tree,
    check_changes,
    check_head,
    check_lane_rows,
    check_records,
)
from muonscope.engine.breakpoints import breakpoint_from_dict
from muonscope.engine.checkpoints import Checkpoint, CheckpointStore
from muonscope.engine.config import ExperimentConfig
from muonscope.engine.errors import ConfigError
from muonscope.engine.experiment import Experiment
from muonscope.engine.history import COLUMNS, MetricHistory, SpectraHistory, SpectraRow
from muonscope.engine.lane_history import lane_histories
from muonscope.engine.measure_changes import (
    MEASURES,
    converted_to_today,
    earlier_measures_notes,
    lanes_run,
    without_redefined,
)
from muonscope.engine.presets import read_text_file
from muonscope.engine.save_identity import SavedAt, check_one_save
from muonscope.engine.session import Branch, Session, budget_bytes
from muonscope.engine.session_format import (
    FILES,
    FORMAT,
    FORMAT_VERSION,
    SPECTRA_COLUMNS,
    SessionError,
    os_reason,
)
from muonscope.engine.session_records import (
    change_from_record,
    checkpoint_from_record,
    record_int,
    record_list,
    record_text,
    saved_dtype,
)
from muonscope.engine.session_swap import FINISHED_NOTE, cut_short_move_in, finish_cut_short_move
from muonscope.engine.session_tables import (
    check_table_footer,
    check_tensors_header,
    read_metrics,
    read_spectra,
    read_tensors,
)
from muonscope.engine.snapshot import Spectra, frozen_array
from muonscope.engine.step_threads import ThreadRecord

#: Largest session.json read (a million-step session with many branches stays far below it).
_MAX_JSON_BYTES = 256 * 1024 * 1024

__all__ = ["check_session_folder", "open_session"]

#: The fields of session.json that opening reads: one missing was found only once a window was open.
_TOP_LEVEL_FIELDS = ("initial_config", "dtype", "checkpoints", "branches", "current_branch", "breakpoints")


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
    finished = _finish_a_move_cut_short(Path(path))
    folder = _session_folder(Path(path))
    document = _read_document(folder / "session.json")
    tensors = read_tensors(folder / "tensors.safetensors")
    metrics = read_metrics(folder / "metrics.parquet")
    spectra = read_spectra(folder / "spectra.parquet")
    check_one_save(folder, document)
    try:
        session = _build_session(document, tensors, metrics, spectra, factory, cancelled)
        session.last_saved = SavedAt(folder.resolve(), document.get("save_id"))
        if finished:
            session.opened_notes = (*session.opened_notes, FINISHED_NOTE)
        return session
    except SessionError:
        raise
    except ConfigError as exc:
        raise SessionError(folder / "session.json", f"holds settings that are not valid: {exc}") from None
    except KeyError as exc:  # a field the records read (the tensors' absence is said otherwise)
        raise SessionError(folder / "session.json", f"has a record that lacks its field {exc}") from None
    except (TypeError, ValueError, IndexError, AttributeError, RuntimeError) as exc:
        raise SessionError(folder, f"is not a consistent muonscope session: {exc}") from None


def check_session_folder(path: Path) -> None:
    """The quick part of opening ``path``: a folder with the four files, a session.json that reads as
    one, and tensor and table files whose headers read (SessionError naming the file otherwise), so a
    bad path or a damaged file is refused before a window opens. A save killed part-way through
    moving its files in is left for opening to finish, and to say so."""
    if cut_short_move_in(_folder_named(Path(path))):
        return
    folder = _session_folder(Path(path))
    document = _read_document(folder / "session.json")
    check_tensors_header(folder / "tensors.safetensors")
    for name in ("metrics.parquet", "spectra.parquet"):
        check_table_footer(folder / name)
    check_one_save(folder, document)


def _finish_a_move_cut_short(path: Path) -> bool:
    """Finish the move of a save killed while it moved its files into ``path`` (see
    :mod:`~muonscope.engine.session_swap`); whether there was one."""
    folder = _folder_named(path)
    try:
        pending = folder.is_dir() and cut_short_move_in(folder)
    except OSError:  # a folder it may not look into: reading it says so
        return False
    if not pending:
        return False
    try:
        return finish_cut_short_move(folder)
    except OSError as exc:
        raise SessionError(
            folder, f"holds a save cut short by a kill, which cannot be finished here ({os_reason(exc)})"
        ) from None


def _folder_named(path: Path) -> Path:
    """The folder a session path names: itself, or the folder of the session.json it names."""
    return path.parent if path.name == "session.json" else path


def _session_folder(path: Path) -> Path:
    """The session's folder, its four files there, each a regular file this process may read."""
    try:
        folder = _folder_of_files(path)
        for name in FILES:
            with open(folder / name, "rb"):  # safetensors said "No such file" of a file it could not read
                pass
    except OSError as exc:
        raise SessionError(exc.filename or path, f"cannot be read ({os_reason(exc)})") from None
    return folder


def _folder_of_files(path: Path) -> Path:
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
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        found = "none" if "version" not in document else _as_written(version)
        raise SessionError(path, f"has no valid format version (found {found}; a whole number from 1)")
    if version > FORMAT_VERSION:
        raise SessionError(
            path,
            f"was written by a newer muonscope (session format {version}; this one reads up to "
            f"{FORMAT_VERSION}): update muonscope to open it",
        )
    if version >= 2 and "measures" not in document:  # every version-2 session saves it
        raise SessionError(path, 'has a record that lacks its field "measures"')
    _check_measures(path, document.get("measures", 0))
    notes = document.get("notes", [])
    if not isinstance(notes, list) or not all(isinstance(note, str) for note in notes):
        raise SessionError(path, f'has "notes" that are not a list of text (found {_as_written(notes)})')
    missing = [name for name in _TOP_LEVEL_FIELDS if name not in document]
    if missing:  # said before a window opens on it, as the full reading says it
        raise SessionError(path, f"has a record that lacks its field {missing[0]!r}")
    _check_view_table(path, document.get("view", {}))
    return document


def _build_session(
    document: dict[str, Any],
    tensors: dict[str, torch.Tensor],
    metrics: dict[str, Any],
    spectra: dict[str, Any],
    factory: Callable[[ExperimentConfig], Experiment],
    cancelled: Callable[[], bool] | None,
) -> Session:
    initial = ExperimentConfig.from_dict(document["initial_config"])
    dtype = saved_dtype(document)
    records = record_list(document["checkpoints"], "checkpoints")
    checkpoints = [checkpoint_from_record(n, record, tensors, dtype) for n, record in enumerate(records)]
    measures = document.get("measures", 0)
    if measures < MEASURES:  # what was redefined since it was recorded is left out, not shown as today's
        checkpoints = without_redefined(measures, metrics, checkpoints, initial)
    for n, checkpoint in enumerate(checkpoints):
        if checkpoint.config.task.weight_shape != initial.task.weight_shape:  # no change reshapes W
            raise ValueError(
                f"initial_config's task has weights {initial.task.weight_shape}, "
                f"checkpoint {n}'s {checkpoint.config.task.weight_shape}"
            )
    session = Session(initial, factory, record_start=False)
    for record in record_list(document["branches"], "branches"):
        session.branches.append(_branch(record, checkpoints, metrics, spectra, initial, measures))
    check_branch_tree(session.branches)
    current = document["current_branch"]
    if not isinstance(current, int) or not 0 <= current < len(session.branches):
        raise ValueError(f"current_branch {current!r} is not one of the branches")
    session.stand_on(current, cancelled)  # first: the breakpoints name the lanes as labelled there
    session.set_breakpoints(
        breakpoint_from_dict(item) for item in record_list(document["breakpoints"], "breakpoints")
    )
    session.view = dict(document.get("view", {}))  # absent from sessions saved before views were
    lasting = list(document.get("notes", []))  # kept by an earlier save of a session read as below
    read: list[str] = []
    if measures < MEASURES:
        read, found = earlier_measures_notes(
            measures, lanes_run(initial, (b.changes for b in session.branches))
        )
        lasting += [note for note in found if note not in lasting]
    session.lasting_notes = tuple(lasting)
    session.opened_notes = (*read, *lasting)
    return session


def _check_measures(path: Path, measures: Any) -> None:
    """The number of what its steps measured (:mod:`measure_changes`): absent, 0, in sessions saved
    before it was kept; one past this muonscope's is a newer muonscope's."""
    if not isinstance(measures, int) or isinstance(measures, bool) or measures < 0:
        raise SessionError(
            path, f'has no valid "measures" (found {_as_written(measures)}; a whole number from 0)'
        )
    if measures > MEASURES:
        raise SessionError(
            path,
            f"was recorded by a newer muonscope (measures {measures}; this one knows up to {MEASURES}): "
            "update muonscope to open it",
        )


def _as_written(value: Any) -> str:
    """A JSON value as the file writes it ("true", "null", '"4"'), cut to a line."""
    written = json.dumps(value, ensure_ascii=False)
    return written if len(written) <= 80 else written[:77] + "…"


def _check_view_table(path: Path, view: Any) -> None:
    """The saved panel modes are names to plain values (which a window checks against its panels),
    said as the file writes them: "{'spectrum': None}" was Python's, of a file that reads null."""
    plain = (str, bool, int, float)
    if not isinstance(view, dict) or not all(
        isinstance(key, str) and isinstance(value, plain) for key, value in view.items()
    ):
        written = json.dumps(view, ensure_ascii=False)
        shown = written if len(written) <= 80 else written[:77] + "…"
        raise SessionError(
            path, f'has a "view" that is not a table of panel modes (names to plain values): {shown}'
        )


def _branch(
    record: dict[str, Any],
    checkpoints: list[Checkpoint],
    metrics: dict[str, Any],
    spectra: dict[str, Any],
    initial: ExperimentConfig,
    measures: int = MEASURES,
) -> Branch:
    """Branch ``record``, its metrics under today's definitions where those it was ``measures``
    under convert (the others are left out already: :func:`without_redefined`)."""
    branch_id = record_int(record["id"], "branch id")

    def count(name: str) -> int:
        return record_int(record[name], f"branch {branch_id}: {name}")

    def listed(name: str) -> list:
        return record_list(record[name], f"branch {branch_id}: {name}")

    what = f"branch {branch_id}'s checkpoint"
    owned = [_stored(checkpoints, i, what) for i in listed("checkpoints")]
    if not owned:
        raise ValueError(f"branch {branch_id} has no checkpoint")
    store = _checkpoint_store(owned, budget_bytes(initial), count("checkpoint_spacing"))
    head = record["head"]
    changes = tuple(change_from_record(item) for item in listed("changes"))
    branch = Branch(
        id=branch_id,
        name=record_text(record["name"], f"branch {branch_id}: name"),
        parent=None if record["parent"] is None else count("parent"),
        fork_step=count("fork_step"),
        checkpoints=store,
        metrics=_branch_metrics(metrics, branch_id, count("metrics_stride") or 1, measures, initial, changes),
        spectra=_branch_spectra(spectra, branch_id, count("spectra_stride") or 1),
        head_step=count("head_step"),
        changes=changes,
        head=None if head is None else _stored(checkpoints, head, f"branch {branch_id}'s head"),
        threads=_thread_record(record.get("threads", []), f"branch {branch_id}: threads"),
    )
    check_head(branch)
    final = check_changes(branch, initial)
    check_records(branch)
    check_lane_rows(branch, len(initial.lanes), len(final.lanes))
    return branch


def _thread_record(value: Any, what: str) -> ThreadRecord:
    """(first step, torch thread count) runs in step order; absent in files from before they were
    kept (their replays use the count of the moment)."""
    runs = []
    for item in record_list(value, what):
        pair = record_list(item, what)
        if len(pair) != 2:
            raise ValueError(f"{what}: each entry must be [first step, thread count], found {item!r}")
        first, count = record_int(pair[0], f"{what}: first step"), record_int(pair[1], f"{what}: count")
        if count < 1 or (runs and first <= runs[-1][0]):
            raise ValueError(f"{what}: counts are at least 1 and steps increase, found {item!r}")
        runs.append((first, count))
    return tuple(runs)


def _checkpoint_store(owned: list[Checkpoint], budget_bytes: int, spacing: int) -> CheckpointStore:
    """A branch's checkpoints, on the grid they were saved on (spacing 0 reads as 1)."""
    store = CheckpointStore(budget_bytes, spacing or 1)
    for checkpoint in owned:
        store.add(checkpoint)
    return store


def _stored(checkpoints: list[Checkpoint], index: Any, what: str) -> Checkpoint:
    """The checkpoint ``index`` of the document's list, which ``what`` refers to."""
    if record_int(index, what) >= len(checkpoints):
        raise ValueError(f"{what} {index} is not one of the {len(checkpoints)} checkpoints stored")
    return checkpoints[index]


def _branch_metrics(
    metrics: dict[str, Any],
    branch_id: int,
    stride: int,
    measures: int,
    initial: ExperimentConfig,
    changes: tuple,
) -> MetricHistory:
    rows = metrics["branch"] == branch_id
    table = {name: metrics[name][rows] for name in COLUMNS}
    if measures < MEASURES:
        converted_to_today(measures, table, lane_histories(initial, changes))
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
        values = {name: frozen_array(spectra[name][i], dtype=np.float64) for name in SPECTRA_COLUMNS}
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
