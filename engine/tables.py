"""Writing a table of named, equal-length columns to Parquet or CSV: the one writer every output uses."""

from __future__ import annotations

import csv
import math
from collections.abc import Mapping, Sequence
from numbers import Integral, Real
from pathlib import Path
from typing import Any

from muonscope.engine.file_writes import replacing

__all__ = ["TABLE_SUFFIXES", "clear_other_formats", "replacement_note", "rows_to_columns", "write_table"]

TABLE_SUFFIXES = (".parquet", ".csv")


def write_table(columns: Mapping[str, Sequence[Any]], path: Path, schema: Any = None) -> Path:
    """Write ``columns`` (name → values, in order) as Parquet or CSV, chosen by the suffix of ``path``.

    In CSV a float is written as Python writes it and a NaN or missing value (None) as an empty
    cell, so a metric that was not computed at a row is never mistaken for a number. ``schema``
    (a pyarrow schema) fixes Parquet's column types where values alone do not (lists of floats,
    an empty table); ``columns`` may also be a pyarrow Table.
    """
    path = Path(path)
    if path.suffix not in TABLE_SUFFIXES:
        raise ValueError(f"{path.name}: a table is written as {' or '.join(TABLE_SUFFIXES)}")
    if not isinstance(columns, Mapping):  # a pyarrow Table
        if path.suffix == ".parquet":
            return _write_parquet(columns, path)
        columns = columns.to_pydict()
    lengths = {name: len(values) for name, values in columns.items()}
    if len(set(lengths.values())) > 1:
        raise ValueError(f"{path.name}: columns of different lengths {lengths}")
    if path.suffix == ".parquet":
        import pyarrow as pa

        return _write_parquet(pa.table(dict(columns), schema=schema), path)
    with replacing(path) as temporary, temporary.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        writer.writerows(map(_csv_row, zip(*columns.values(), strict=True)))
    return path


def clear_other_formats(path: Path, removed: list[Path] | None = None) -> Path:
    """Remove the table ``path`` names in the other formats, once a command has written it into its
    output folder: ``--format csv`` where a run before left ``metrics.parquet`` kept both, two runs'
    tables side by side (removed before the new one was written, a full disk left neither). Only for
    the commands' own output folders (a file a user exported is never touched). The files removed
    are added to ``removed``, for the command to say so."""
    path = Path(path)
    for suffix in TABLE_SUFFIXES:
        other = path.with_suffix(suffix)
        if suffix != path.suffix and other.exists():
            other.unlink()
            if removed is not None:
                removed.append(other)
    return path


def replacement_note(removed: Path) -> str:
    """What a command says of a table :func:`clear_other_formats` removed: a user who finds it gone
    knows where its numbers are now."""
    return f"removed {removed}, the same table in the format before"


def rows_to_columns(names: Sequence[str], rows: Sequence[Sequence[Any]]) -> dict[str, list[Any]]:
    """A table given row by row as the columns :func:`write_table` takes (the header kept when empty)."""
    return {name: [row[i] for row in rows] for i, name in enumerate(names)}


def _write_parquet(table: Any, path: Path) -> Path:
    import pyarrow.parquet as pq

    with replacing(path) as temporary:
        pq.write_table(table, temporary)
    return path


def _csv_row(values: tuple[Any, ...]) -> list[Any]:
    return [_csv_cell(value) for value in values]


def _csv_cell(value: Any) -> Any:
    """Floats (Python or NumPy) as their shortest repr, NaN as ''; everything else as csv writes it."""
    if isinstance(value, Real) and not isinstance(value, Integral):
        value = float(value)
        return "" if math.isnan(value) else repr(value)
    return value
