"""Reading a saved session's tensors and tables, each checked as it is read: a file that is not
what it should be raises :class:`~muonscope.engine.session_format.SessionError` naming it and what
is wrong (the library's own message, cut short), never the library's exception.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import torch

from muonscope.engine.history import COLUMNS
from muonscope.engine.scalar_metrics import ESTIMATE_METRICS
from muonscope.engine.session_format import SPECTRA_COLUMNS, SessionError

__all__ = ["check_table_footer", "check_tensors_header", "read_metrics", "read_spectra", "read_tensors"]


def read_tensors(path: Path) -> dict[str, torch.Tensor]:
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        return load_file(str(path))
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        raise _unreadable_tensors(path, exc) from None


def check_tensors_header(path: Path) -> None:
    """The safetensors header (names, shapes, offsets within the file) reads; no tensor is loaded."""
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(path), framework="pt") as file:
            file.keys()
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        raise _unreadable_tensors(path, exc) from None


def _unreadable_tensors(path: Path, exc: Exception) -> SessionError:
    problem = " ".join(str(exc).split())[:160]
    return SessionError(path, f"is not a readable safetensors file ({problem})")


def check_table_footer(path: Path) -> None:
    """The Parquet footer (schema, row groups) reads; no column is loaded."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        pq.read_metadata(path)
    except (pa.ArrowException, OSError) as exc:
        raise _unreadable_table(path, exc) from None


def _unreadable_table(path: Path, exc: Exception) -> SessionError:
    problem = " ".join(str(exc).split()).replace(f"'{path}'", "").replace(f"{path}", "")
    problem = re.sub(r"^Could not open Parquet input source\s*:?\s*", "", problem)  # the path is named once
    problem = problem if len(problem) <= 160 else problem[:160].rsplit(" ", 1)[0] + " …"
    return SessionError(path, f"is not a readable Parquet table ({problem})")


def _read_table(
    path: Path, columns: tuple[str, ...], optional: frozenset[str] = frozenset()
) -> dict[str, Any]:
    """The ``columns`` of a Parquet table; those ``optional`` may be absent (left out of the result)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except (pa.ArrowException, OSError) as exc:
        raise _unreadable_table(path, exc) from None
    missing = [name for name in columns if name not in table.column_names and name not in optional]
    if missing:
        raise SessionError(path, "lacks the columns " + ", ".join(missing))
    return {name: table.column(name) for name in columns if name in table.column_names}


def read_metrics(path: Path) -> dict[str, Any]:
    """The metrics table; a session saved before the estimates' columns were kept reads them as NaN."""
    table = _read_table(path, ("branch", *COLUMNS, "label"), ESTIMATE_METRICS)
    rows = len(table["step"])
    try:
        out = {
            name: np.asarray(table[name].to_numpy(zero_copy_only=False), dtype=np.float64)
            if name in table
            else np.full(rows, np.nan)
            for name in ("branch", *COLUMNS)
        }
    except (TypeError, ValueError) as exc:
        raise SessionError(path, f"has a column that is not numeric ({exc})") from None
    out["label"] = [str(v) for v in table["label"].to_pylist()]
    return out


def read_spectra(path: Path) -> dict[str, Any]:
    table = _read_table(path, ("branch", "step", "lane", "lane_id", *SPECTRA_COLUMNS))
    try:
        return {name: column.to_pylist() for name, column in table.items()}
    except (TypeError, ValueError) as exc:
        raise SessionError(path, f"has a malformed column ({exc})") from None
