"""How much of a set of line segments lies in a rectangle: what a note placed there would hide."""

from __future__ import annotations

import numpy as np
from PySide6 import QtCore

__all__ = ["POINT_PX", "length_inside"]

#: Pixels a point drawn alone (a symbol, not a line: a segment of no length) counts for.
POINT_PX = 1.0


def length_inside(segments: np.ndarray, box: QtCore.QRectF) -> float:
    """Pixels of the ``segments`` that lie in ``box`` (Liang–Barsky clipping), a point alone counting
    :data:`POINT_PX`: how much of the curves a note there would hide."""
    x0, y0, x1, y1 = segments.T
    crossing = (  # segments whose bounds meet the box: the only ones worth clipping
        (np.maximum(x0, x1) >= box.left())
        & (np.minimum(x0, x1) <= box.right())
        & (np.maximum(y0, y1) >= box.top())
        & (np.minimum(y0, y1) <= box.bottom())
    )
    segments = segments[crossing]
    if segments.size == 0:
        return 0.0
    start, delta = segments[:, :2], segments[:, 2:] - segments[:, :2]  # (n, 2) each
    low, high = np.zeros(len(segments)), np.ones(len(segments))
    bounds = ((box.left(), box.right()), (box.top(), box.bottom()))
    for axis, (lo, hi) in enumerate(bounds):
        d, s0 = delta[:, axis], start[:, axis]
        outside = (d == 0) & ((s0 < lo) | (s0 > hi))
        with np.errstate(divide="ignore", invalid="ignore"):
            t_lo, t_hi = (lo - s0) / d, (hi - s0) / d
        enter, leave = np.minimum(t_lo, t_hi), np.maximum(t_lo, t_hi)
        moving = d != 0
        low = np.where(moving, np.maximum(low, enter), low)
        high = np.where(moving, np.minimum(high, leave), high)
        high = np.where(outside, -1.0, high)
    kept = high >= low
    lengths = np.hypot(delta[:, 0], delta[:, 1])
    clipped = (high - low)[kept] * lengths[kept]
    points_alone = np.count_nonzero(lengths[kept] == 0)
    return float(clipped.sum() + points_alone * POINT_PX)
