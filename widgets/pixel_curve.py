"""A curve given every point and drawn with the points its pixel columns can show.

A run of 100,000 steps gave panel ② four curves of 100,000 points each, and Qt's raster engine paints
a line in proportion to its points: the panel took 190 ms to paint, each frame, where 2,000 points
per curve look the same (see decimate.pixel_envelope). The curve keeps what it was given — tables,
read-outs and comparisons use every point — and draws the envelope of its pixel columns, thinned
again when the plot is resized or its range changes, and finer while a picture larger than the
screen is drawn.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import pyqtgraph as pg

from muonscope.widgets.decimate import thinned_line

__all__ = ["PixelCurve"]


class PixelCurve(pg.PlotDataItem):
    """A line over an increasing x (steps) on a linear axis, drawn at the resolution of the plot it is in."""

    def __init__(self, **opts) -> None:
        super().__init__(**opts)
        self._x = np.zeros(0)  # (n,) as given
        self._y = np.zeros(0)  # (n,)
        self._joined: np.ndarray | None = None  # (n,) point i joins point i + 1; None: all do
        self._drawn_for: tuple[float, float, float] | None = None  # x range and columns thinned for
        self._finer = 1.0  # columns per screen pixel column (a picture drawn larger than the screen)

    def set_whole(self, x: np.ndarray, y: np.ndarray, joined: np.ndarray | None = None) -> None:
        """Draw the line through (x, y), x increasing and y finite; ``joined[i]`` False breaks the line
        after point i (None: unbroken)."""
        self._x = np.asarray(x, dtype=float)
        self._y = np.asarray(y, dtype=float)
        self._joined = None if joined is None else np.asarray(joined, dtype=bool)
        self._drawn_for = None
        self._thin()

    def whole_data(self) -> tuple[np.ndarray, np.ndarray]:
        """Every (x, y) point given, not only those drawn."""
        return self._x, self._y

    @property
    def joined(self) -> np.ndarray:
        """Per point given, whether the line goes on to the next."""
        if self._joined is None:
            return np.ones(self._x.size, dtype=bool)
        return self._joined

    @contextmanager
    def drawn_finer(self, scale: float) -> Iterator[None]:
        """Thin for ``scale`` times the screen's pixel columns while the block runs: a picture painted
        at 3× the panel's size drew the screen's columns as 3-pixel steps."""
        self._finer, self._drawn_for = max(scale, 1.0), None
        self._thin()
        try:
            yield
        finally:
            self._finer, self._drawn_for = 1.0, None
            self._thin()

    def viewRangeChanged(self, vb=None, ranges=None, changed=None) -> None:  # the plot's range changed
        super().viewRangeChanged(vb, ranges, changed)
        self._thin()

    def viewTransformChanged(self) -> None:  # the plot was resized
        super().viewTransformChanged()
        self._thin()

    def _thin(self) -> None:
        """Give the line the points its pixel columns show, unless it already has them."""
        columns = self._columns()
        if columns is not None and columns == self._drawn_for:
            return
        self._drawn_for = columns
        if columns is None or not np.all(np.isfinite(self._y)):  # not in a plot yet, or no extremes to keep
            keep, joined = np.arange(self._x.size), self._joined
        else:
            left, right, width_px = columns
            keep, joined = thinned_line((self._x - left) / (right - left) * width_px, self._y, self._joined)
        self.setData(self._x[keep], self._y[keep], connect="all" if joined is None else joined)

    def _columns(self) -> tuple[float, float, float] | None:
        """The x range on show and the pixel columns across it, or None where there are none."""
        view = self.getViewBox()
        if view is None or self._x.size == 0:
            return None
        (left, right), _ = view.viewRange()
        screens = self.scene().views() if self.scene() is not None else []
        ratio = screens[0].devicePixelRatioF() if screens else 1.0
        width_px = view.width() * ratio * self._finer
        if not right > left or width_px < 1:
            return None
        return float(left), float(right), float(width_px)
