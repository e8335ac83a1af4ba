"""Panel ①'s spectra over the steps: one lane's σ_k of one matrix as colour, k up and the steps across.

The curves of ① show one step; this shows how a spectrum got there — the tail of G fading while a
polar update keeps every direction at one, momentum's head standing still while its tail drains.
Colour is log₁₀ σ_k on a scale labelled in decades; a value below the run's noise floor times its
step's σ₁ is round-off, as on the curves, and is left blank rather than coloured.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore

from muonscope.widgets.heat_cells import heat_columns, heat_image
from muonscope.widgets.hover import HoverReadout, Label
from muonscope.widgets.number_text import number_text

__all__ = ["MAX_ROWS", "SpectraHeatMap", "SpectraOverSteps", "log_spectra"]

#: At most this many rows of k, evenly spaced from k = 1 to the last: a 4096-wide memory's spectrum is
#: drawn at every 16th index, which a 300 px plot could not show apart anyway, and a table of every
#: value at every step of such a run is 128 MB, rebuilt at each new step.
MAX_ROWS = 256
#: The least span of the colour scale, in decades: a polar update's σ_k are all one, and a scale of
#: 10⁻¹⁵ decades named round-off.
LEAST_DECADES = 0.1
#: At most this many image columns (cells are rounded to a coarser grid beyond): 2048 × 256 values
#: are set in about 2 ms; 4096 irregularly spaced steps made 16 444 columns, set in about 40 ms.
MAX_IMAGE_COLUMNS = 2048
#: Hover key of the map's cells in the panel's read-out.
HOVER_KEY = "spectra over steps"


class SpectraOverSteps(NamedTuple):
    """What the map draws: the steps (T,), the indices k of its rows (R,), σ_k (T, R), NaN where blank."""

    steps: np.ndarray
    k: np.ndarray
    values: np.ndarray


def log_spectra(values: np.ndarray, floor: float) -> np.ndarray:
    """log₁₀ σ (T, R) in float32 (colours need no more), NaN where σ is not above ``floor`` times its
    own step's largest value (or is missing): each step's round-off is its own, as each curve's is
    in the panel's other views."""
    values = np.asarray(values, dtype=np.float32)
    top = np.fmax.reduce(values, axis=1)  # (T,) NaN only where a step has no values at all
    with np.errstate(invalid="ignore"):
        kept = values > np.float32(floor) * top[:, None]  # NaN compares False: left blank
    logged = np.full(values.shape, np.nan, dtype=np.float32)
    np.log10(values, out=logged, where=kept)
    return logged


def colour_levels(log_values: np.ndarray) -> tuple[float, float]:
    """The colour scale: the range of the values drawn, at least LEAST_DECADES wide about its middle."""
    finite = log_values[np.isfinite(log_values)]
    if finite.size == 0:
        return -LEAST_DECADES / 2, LEAST_DECADES / 2
    low, high = float(finite.min()), float(finite.max())
    if high - low >= LEAST_DECADES:
        return low, high
    middle = (low + high) / 2
    return middle - LEAST_DECADES / 2, middle + LEAST_DECADES / 2


class SpectraHeatMap:
    """The image, its colour bar and its hover read-out, in a plot that also draws curves."""

    def __init__(self, plot: pg.PlotItem, hover: HoverReadout) -> None:
        self._plot = plot
        self._hover = hover
        self.image, self.colour_bar, self.colour_axis = heat_image(plot)
        self.colour_axis.set_log_mapped(True)  # log10 σ: decades, labelled as values
        self.drawn = SpectraOverSteps(np.zeros(0), np.zeros(0), np.zeros((0, 0)))
        self.set_visible(False)

    def set_visible(self, shown: bool) -> None:
        self.image.setVisible(shown)
        self.colour_bar.setVisible(shown)
        if not shown:
            self._hover.remove_series(HOVER_KEY)

    def set_title(self, title: str) -> None:
        """What the colour stands for, on the bar itself ("σ_k of G")."""
        self.colour_axis.set_title(title)

    def draw(self, drawn: SpectraOverSteps, floor: float, label: Label, name: str) -> None:
        """Draw σ_k (T, R) at the steps (T,) and indices k (R,, from 1 to the last) of ``drawn``:
        ``floor`` is the share of each step's σ₁ below which values are round-off; ``label`` names
        the lane in the read-out, ``name`` the matrix ("G")."""
        steps, k, values = drawn
        if steps.size == 0 or values.size == 0:
            self.clear()
            return
        shown = log_spectra(values, floor)  # (T, R)
        self.drawn = SpectraOverSteps(steps, k, np.where(np.isnan(shown), np.nan, values))
        levels = colour_levels(shown)
        columns = heat_columns(steps, shown, MAX_IMAGE_COLUMNS)  # each cell centred on its step
        self.image.setImage(columns.values.T, autoLevels=False, levels=levels)  # (R, columns): k = 1 at 0
        self.colour_bar.setLevels(levels)
        height = float(k[-1])  # rows from k = 1 to the last, each as tall as the indices it stands for
        self.image.setRect(QtCore.QRectF(columns.left, 0.5, columns.width, height))
        self._show_hover(label, name)

    def clear(self) -> None:
        self.image.clear()
        self.drawn = SpectraOverSteps(np.zeros(0), np.zeros(0), np.zeros((0, 0)))
        self._hover.remove_series(HOVER_KEY)

    def _show_hover(self, label: Label, name: str) -> None:
        """One read-out series over every cell: the step and k under the pointer, and σ_k there."""
        steps, k, values = self.drawn
        # each sampled row stands in for the indices up to the next; its cell centre is where it is
        # drawn (R rows over r indices), so the read-out names the row the pointer is over
        centres = 0.5 + (np.arange(k.size) + 0.5) * (k[-1] / k.size if k.size else 1.0)  # (R,)
        x = np.repeat(steps, k.size)  # (T·R,)
        y = np.tile(centres, steps.size)  # (T·R,)
        flat = values.reshape(-1)  # (T·R,)

        def text(step: float, _y: float, i: int) -> str:
            value = "round-off (not drawn)" if np.isnan(flat[i]) else number_text(flat[i], 4)
            return f"step {int(step)}: σ_{int(k[i % k.size])} of {name} = {value}"

        self._hover.set_series(HOVER_KEY, label, x, y, text)
