"""A panel's data as a table: a column of x values, then one column per curve, rows merged on x."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Sequence

import numpy as np

__all__ = ["DataTable", "as_counts", "merged_on_x"]

#: (column names, rows); a row holds one number per column, NaN where a curve has no point.
DataTable = tuple[list[str], list[list[float]]]


def merged_on_x(x_name: str, series: Sequence[tuple[str, np.ndarray, np.ndarray]]) -> DataTable:
    """Columns ``x_name`` and each (name, x, y) series' name; a row per x of any series, ascending.

    Curves of one panel need not share their x values (a lane's spectrum loses its round-off
    values, a guide line has its own points): where a series has no point at a row's x, its cell
    is NaN. Points with a NaN x are dropped (no curve draws them). Curves that share a name (a lane
    added as a copy of another) are numbered in their order, "(1)", "(2)": a table keyed by name
    kept the last of them alone, and a lane's whole history was lost from the file.
    """
    columns = [x_name, *_numbered_where_shared([name for name, _x, _y in series])]
    arrays = [(np.asarray(x, dtype=float), np.asarray(y, dtype=float)) for _name, x, y in series]
    arrays = [(x[~np.isnan(x)], y[~np.isnan(x)]) for x, y in arrays]
    xs = np.unique(np.concatenate([x for x, _y in arrays])) if arrays else np.zeros(0)
    table = np.full((xs.size, len(columns)), np.nan)
    table[:, 0] = xs
    for column, (x, y) in enumerate(arrays, start=1):
        table[np.searchsorted(xs, x), column] = y
    return columns, table.tolist()


def _numbered_where_shared(names: list[str]) -> list[str]:
    """Each name, with its place among the names equal to it where it is not the only one."""
    counts = Counter(names)
    seen: Counter = Counter()
    out = []
    for name in names:
        seen[name] += 1
        out.append(f"{name} ({seen[name]})" if counts[name] > 1 else name)
    return out


def as_counts(table: DataTable, is_count: Callable[[str], bool]) -> DataTable:
    """``table`` with the whole numbers of each column ``is_count`` names as ints (items, not 37.0).

    Rows merged on x hold floats; a column of counts written as "37.0" reads as a measurement.
    A missing cell (NaN) stays NaN, and a value that is not whole stays as it was.
    """
    columns, rows = table
    counted = [i for i, name in enumerate(columns) if is_count(name)]
    for row in rows:
        for i in counted:
            if math.isfinite(row[i]) and float(row[i]).is_integer():
                row[i] = int(row[i])
    return columns, rows
