"""Thinning a long line to what its pixels can show.

A line drawn through tens of thousands of points costs Qt's raster engine in proportion to the points:
a per-class error curve over N = 65,536 ranks, drawn two pixels wide, took 25 ms per lane to paint,
each time the window repainted the panel. Within one pixel column a line can only show where it
enters, where it leaves, and how low and how high it goes; keeping those four points of each column
(the M4 reduction of Jugel et al., 2014) draws the same picture from a few thousand points.
"""

from __future__ import annotations

import numpy as np

__all__ = ["pixel_envelope", "thinned_line"]


def pixel_envelope(x_px: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Indices, ascending, of the points a line through (x_px, y) needs at one pixel per unit of x_px.

    ``x_px`` must be sorted (a curve's x in the plot's pixel columns, log-mapped on a log axis) and
    ``y`` finite. Each column keeps its first, last, lowest and highest point; a line with no more
    points than four per column is returned whole.
    """
    x_px = np.asarray(x_px, dtype=float)  # (n,)
    n = x_px.size
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    column = np.floor(x_px).astype(np.int64)  # (n,) nondecreasing
    first = np.flatnonzero(np.r_[True, column[1:] != column[:-1]])  # (c,) where each column starts
    if n <= 4 * first.size:
        return np.arange(n)
    last = np.r_[first[1:], n] - 1  # (c,)
    y = np.asarray(y, dtype=float)
    lowest = _first_where(y == np.repeat(np.minimum.reduceat(y, first), np.diff(np.r_[first, n])), first)
    highest = _first_where(y == np.repeat(np.maximum.reduceat(y, first), np.diff(np.r_[first, n])), first)
    return np.unique(np.concatenate([first, last, lowest, highest]))


def _first_where(mask: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Per run of ``mask`` beginning at each of ``starts``, the index of its first True (each has one)."""
    index = np.where(mask, np.arange(mask.size), mask.size)  # (n,)
    return np.minimum.reduceat(index, starts)


def thinned_line(
    x_px: np.ndarray, y: np.ndarray, joined: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray | None]:
    """:func:`pixel_envelope` of a line that may break: (indices kept, whether each kept point joins
    the next kept one), or (indices, None) for an unbroken line (``joined`` None, or all True but
    perhaps the last).

    ``joined[i]``: the line goes on from point i to point i + 1. Both ends of every break are kept,
    so a gap (a value a log axis could not draw) stays a gap and is not bridged by the points left.
    """
    keep = pixel_envelope(x_px, y)  # (k,)
    if joined is None:
        return keep, None
    breaks = np.flatnonzero(~np.asarray(joined, dtype=bool)[:-1])  # (b,) points the line stops after
    if breaks.size == 0:
        return keep, None
    keep = np.union1d(keep, np.r_[breaks, breaks + 1])  # (k',)
    breaks_before = np.searchsorted(breaks, keep)  # (k',) breaks between point 0 and each kept point
    kept_joined = np.r_[breaks_before[1:] == breaks_before[:-1], False]  # (k',)
    return keep, kept_joined
