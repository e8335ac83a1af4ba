"""Columns of a step × bucket heat map whose cells are centred on the steps they were measured at.

An image has cells of one width; evaluations need not be evenly spaced (the evaluation interval can
change during a run). Each measured step gets the cell from the midpoint with the step before to the
midpoint with the step after, as a nearest-step read-out sees it, and the cells are laid out on a grid
fine enough to hold every boundary, so that each column of the image is one grid unit.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore

from muonscope.widgets.axes import DecadeAxis, decade_colour_axis
from muonscope.widgets.theme import stage_style

__all__ = ["ChangeLines", "HeatColumns", "HeatImage", "heat_columns", "heat_image", "step_cursor"]

#: At most this many image columns: beyond it the boundaries are rounded to a coarser grid.
MAX_COLUMNS = 20_000


class HeatColumns(NamedTuple):
    """Where the image sits on the step axis, and its columns."""

    left: float  # the first cell's left edge, in steps
    width: float  # the image's width, in steps
    values: np.ndarray  # (columns, buckets): each step's row repeated over its cell's grid units


def heat_columns(steps: np.ndarray, values: np.ndarray, max_columns: int = MAX_COLUMNS) -> HeatColumns:
    """steps (T,) increasing, values (T, buckets) → the image's columns with each cell centred on its step.

    A single step gets a cell one step wide; ``max_columns`` bounds the image's width (a map of many
    rows is redrawn every frame while the run plays, so it takes fewer).
    """
    steps = np.asarray(steps, dtype=float)
    if steps.size == 1:
        return HeatColumns(steps[0] - 0.5, 1.0, values)
    doubled = 2 * steps  # (T,) boundaries at midpoints are whole numbers in half-steps
    inner = (doubled[:-1] + doubled[1:]) / 2  # (T − 1,) midpoints, in half-steps
    first = doubled[0] - (inner[0] - doubled[0])
    last = doubled[-1] + (doubled[-1] - inner[-1])
    edges = np.concatenate([[first], inner, [last]])  # (T + 1,) in half-steps
    unit = _grid_unit(edges, max_columns)
    counts = np.diff(np.round((edges - edges[0]) / unit)).astype(int)  # (T,) grid units per cell
    return HeatColumns(edges[0] / 2, (edges[-1] - edges[0]) / 2, np.repeat(values, counts, axis=0))


def _grid_unit(edges: np.ndarray, max_columns: int) -> float:
    """The largest unit that divides every cell (in half-steps), coarsened to keep ``max_columns``."""
    unit = float(np.gcd.reduce(np.diff(edges).astype(np.int64)))
    span = edges[-1] - edges[0]
    return max(unit, math.ceil(span / max_columns))


#: The step cursor's colour over a heat map: a mid grey reads on viridis's purple and yellow alike.
CURSOR_COLOUR = "#9a9a9a"


def step_cursor(plot: pg.PlotItem) -> pg.InfiniteLine:
    """A line over a heat map's cells at the step on view (hidden until shown), solid as ② and ④'s
    cursors are: scrubbing the timeline moved theirs while a map of the steps said nothing of where
    the view was."""
    pen = pg.mkPen(CURSOR_COLOUR, width=1.5)
    line = pg.InfiniteLine(angle=90, movable=False, pen=pen)
    line.setZValue(5)  # over the image
    line.setVisible(False)
    plot.addItem(line, ignoreBounds=True)
    return line


class HeatImage(NamedTuple):
    """A heat map's image in a plot, with its colour bar and the bar's scale."""

    image: pg.ImageItem
    colour_bar: pg.ColorBarItem
    colour_axis: DecadeAxis


def heat_image(plot: pg.PlotItem) -> HeatImage:
    """An image (rows up, columns across) in ``plot`` with a fixed viridis colour bar beside it,
    whose scale labels values as the panels' axes do."""
    image = pg.ImageItem(axisOrder="row-major")
    image.setLevels((0.0, 1.0))
    plot.addItem(image)
    bar = pg.ColorBarItem(
        values=(0.0, 1.0),
        colorMap=pg.colormap.get("viridis"),
        interactive=False,
        width=12,
        colorMapMenu=False,
    )
    axis = decade_colour_axis(bar)
    bar.setImageItem(image, insert_in=plot)
    return HeatImage(image, bar, axis)


class ChangeLines:
    """Dashed lines over a heat map at the steps where settings changed, each with its change as a
    tooltip, as ② and ④ mark them (their labels are there: over a map every place hides cells). A
    map of G that turned noisy at step 60 showed no cause at step 60."""

    def __init__(self, plot: pg.PlotItem) -> None:
        self._plot = plot
        self._lines: list[pg.InfiniteLine] = []
        self._events: tuple[tuple[int, str], ...] = ()
        self._visible = False

    @property
    def steps(self) -> tuple[float, ...]:
        """Where the lines stand."""
        return tuple(float(line.value()) for line in self._lines)

    def set_events(self, events: list[tuple[int, str]]) -> None:
        """A line per (step, change text); the same events again leave the lines as they are."""
        if tuple(events) == self._events:
            return
        self._events = tuple(events)
        for line in self._lines:
            self._plot.removeItem(line)
        self._lines = [self._line(step, text) for step, text in self._events]

    def set_visible(self, visible: bool) -> None:
        self._visible = visible
        for line in self._lines:
            line.setVisible(visible)

    def restyle(self) -> None:
        """Draw the lines again in the stage's colours and at its scale."""
        events, self._events = self._events, ()
        self.set_events(list(events))

    def _line(self, step: int, text: str) -> pg.InfiniteLine:
        style = stage_style()
        pen = pg.mkPen(style.colours.muted, width=style.scale, style=QtCore.Qt.PenStyle.DashLine)
        line = pg.InfiniteLine(pos=step, angle=90, pen=pen)
        line.setToolTip(text)
        line.setZValue(4)  # over the image, under the cursor
        line.setVisible(self._visible)
        self._plot.addItem(line, ignoreBounds=True)
        return line
