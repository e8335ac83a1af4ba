"""How much of a set of line segments lies in a rectangle: what a note placed there would hide."""

from __future__ import annotations

import numpy as np
from PySide6 import QtCore

__all__ = ["POINT_PX", "box_edges", "length_inside", "lengths_inside"]

#: Pixels a point drawn alone (a symbol, not a line: a segment of no length) counts for.
POINT_PX = 1.0


def box_edges(box: QtCore.QRectF) -> tuple[float, float, float, float]:
    """(left, top, right, bottom) of ``box``: a row of :func:`lengths_inside`'s ``boxes``."""
    return box.left(), box.top(), box.right(), box.bottom()


def length_inside(segments: np.ndarray, box: QtCore.QRectF) -> float:
    """Pixels of the ``segments`` that lie in ``box``: how much of the curves a note there would hide."""
    return float(lengths_inside(segments, np.array([box_edges(box)]))[0])


def lengths_inside(segments: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """(m,) pixels of the (n, 4) ``segments`` (x0, y0, x1, y1) inside each of the (m, 4) ``boxes``
    (left, top, right, bottom), by Liang–Barsky clipping; a point alone counts :data:`POINT_PX`.

    All of a note's places are measured in one pass: one box at a time, a note's search for its
    place (24 places, each with and without its margin) cost 6 ms of every frame.
    """
    boxes = np.asarray(boxes, dtype=float).reshape(-1, 4)
    segments = np.asarray(segments, dtype=float).reshape(-1, 4)
    x0, y0, x1, y1 = segments.T
    box, seg = np.nonzero(  # (box, segment) pairs whose bounds meet: the only ones worth clipping
        (np.maximum(x0, x1) >= boxes[:, 0:1])
        & (np.minimum(x0, x1) <= boxes[:, 2:3])
        & (np.maximum(y0, y1) >= boxes[:, 1:2])
        & (np.minimum(y0, y1) <= boxes[:, 3:4])
    )
    start, delta = segments[seg, :2], segments[seg, 2:] - segments[seg, :2]  # (pairs, 2) each
    low, high = np.zeros(len(seg)), np.ones(len(seg))  # where each pair's segment enters, leaves its box
    for axis, (lo, hi) in enumerate(((boxes[box, 0], boxes[box, 2]), (boxes[box, 1], boxes[box, 3]))):
        d, s0 = delta[:, axis], start[:, axis]
        moving = d != 0
        with np.errstate(divide="ignore", invalid="ignore"):
            t_lo, t_hi = (lo - s0) / d, (hi - s0) / d
        low = np.where(moving, np.maximum(low, np.minimum(t_lo, t_hi)), low)
        high = np.where(moving, np.minimum(high, np.maximum(t_lo, t_hi)), high)
        high = np.where(~moving & ((s0 < lo) | (s0 > hi)), -1.0, high)  # still, beside its box
    kept = high >= low
    lengths = np.hypot(delta[:, 0], delta[:, 1])
    inside = np.where(kept, (high - low) * lengths, 0.0) + (kept & (lengths == 0)) * POINT_PX
    return np.bincount(box, weights=inside, minlength=len(boxes))
