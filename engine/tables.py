"""Writing a table of named, equal-length columns to Parquet or CSV: the one writer every output uses."""

from __future__ import annotations

import csv
import math
from collections.abc import Mapping, Sequence
from numbers import Integral, Real
from pathlib import Path
from typing import Any

__all__ = ["TABLE_SUFFIXES", "write_table"]

TABLE_SUFFIXES = (".parquet", ".csv")


def write_table(columns: Mapping[str, Sequence[Any]], path: Path) -> Path:
    """Write ``columns`` (name → values, in order) as Parquet or CSV, chosen by the suffix of ``path``.

    In CSV a float is written as Python writes it and a NaN or missing value (None) as an empty
    cell, so a metric that was not computed at a row is never mistaken for a number.
    """
    if path.suffix not in TABLE_SUFFIXES:
        raise ValueError(f"{path.name}: a table is written as {' or '.join(TABLE_SUFFIXES)}")
    lengths = {name: len(values) for name, values in columns.items()}
    if len(set(lengths.values())) > 1:
        raise ValueError(f"{path.name}: columns of different lengths {lengths}")
    if path.suffix == ".parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        pq.write_table(pa.table(dict(columns)), path)
        return path
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        writer.writerows(map(_csv_row, zip(*columns.values(), strict=True)))
    return path


def _csv_row(values: tuple[Any, ...]) -> list[Any]:
    return [_csv_cell(value) for value in values]


def _csv_cell(value: Any) -> Any:
    """Floats (Python or NumPy) as their shortest repr, NaN as ''; everything else as csv writes it."""
    if isinstance(value, Real) and not isinstance(value, Integral):
        value = float(value)
        return "" if math.isnan(value) else repr(value)
    return value
