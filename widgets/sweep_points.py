"""A sweep's points as panel ④ draws them on its axes, and as its data table names them."""

from __future__ import annotations

import numpy as np

__all__ = ["log_mapped", "sweep_columns"]


def log_mapped(x, mean, lo, hi, log_x: bool, log_y: bool) -> tuple[np.ndarray, tuple[np.ndarray, ...]]:
    """(which points are drawn, their (x, mean, lo, hi) in plot coordinates): log10 on a log axis,
    where a point that is not finite or not positive there has no place."""
    x, mean, lo, hi = (np.asarray(v, float) for v in (x, mean, lo, hi))
    keep = np.isfinite(mean) & ((x > 0) if log_x else True) & ((lo > 0) if log_y else True)
    fx = np.log10 if log_x else (lambda v: v)
    fy = np.log10 if log_y else (lambda v: v)
    return keep, (fx(x[keep]), fy(mean[keep]), fy(lo[keep]), fy(hi[keep]))


def sweep_columns(y_label: str, label: str, x, mean, lo, hi) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """A lane's (column name, x, values): its value where the seeds agree, else their mean, min and
    max ("lowest seed" read as the seed with the lowest number)."""
    if np.array_equal(lo, mean) and np.array_equal(hi, mean):
        return [(f"{y_label}: {label}", x, mean)]
    return [
        (f"{y_label}, {statistic} over seeds: {label}", x, values)
        for statistic, values in (("mean", mean), ("min", lo), ("max", hi))
    ]
