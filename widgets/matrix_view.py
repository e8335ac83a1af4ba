"""One real matrix as a heat map on a symmetric, diverging colour scale, with its value under the mouse."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui

from muonscope.widgets.axes import DecadeAxis, decade_colour_axis
from muonscope.widgets.data_table import DataTable
from muonscope.widgets.hover import place_beside, room_inside
from muonscope.widgets.number_text import number_text
from muonscope.widgets.panel import PlotPanel

__all__ = ["IndexAxis", "MatrixView", "diverging_colormap", "index_tick_spacing", "symmetric_levels"]


def diverging_colormap() -> pg.ColorMap:
    """Blue for negative, white for zero, red for positive.

    Built from three stops rather than looked up by name, so it needs neither matplotlib nor
    pyqtgraph's colour map files; the blue and red are the Okabe–Ito ones the lanes use.
    """
    return pg.ColorMap(pos=[0.0, 0.5, 1.0], color=["#0072B2", "#FFFFFF", "#D55E00"], name="blue-white-red")


def symmetric_levels(values: np.ndarray) -> tuple[float, float]:
    """(−m, m) with m = max |x| over the finite entries, so that white always means exactly zero.

    A zero (or all non-finite) matrix gets (−1, 1): a colour scale needs some width.
    """
    peak = float(np.max(np.abs(values))) if values.size else 0.0
    if not math.isfinite(peak):  # NaN or ∞ from a diverged lane: scale by what is still finite
        finite = values[np.isfinite(values)]
        peak = float(np.max(np.abs(finite))) if finite.size else 0.0
    if peak == 0.0:
        peak = 1.0
    return -peak, peak


class IndexAxis(DecadeAxis):
    """An axis of matrix indices: ticks only at whole indices of entries that exist, spaced so that
    their labels stay apart.

    With the aspect locked, a dock wider than the matrix shows room beside it; ticks there ("−20",
    "150" beside a 128-column matrix) named columns that do not exist.
    """

    count = 0  # entries along this axis; no ticks while there is no matrix

    def tickValues(self, minVal, maxVal, size):
        minVal, maxVal = sorted((minVal, maxVal))  # an inverted axis (rows, downwards) gives them reversed
        low, high = max(minVal, 0.0), min(maxVal, self.count - 1.0)
        if self.count <= 0 or size <= 0 or maxVal <= minVal or high < low:
            return []
        px_per_index = size / (maxVal - minVal)
        spacing = index_tick_spacing(self.count, px_per_index, 1.5 * self._index_label_px())
        first = math.ceil(low / spacing) * spacing
        return [(float(spacing), [float(v) for v in range(first, math.floor(high) + 1, spacing)])]

    def _index_label_px(self) -> float:
        """Room the longest index label needs along the axis."""
        metrics = QtGui.QFontMetricsF(self.style["tickFont"] or QtGui.QFont())
        if self.orientation in ("left", "right"):
            return metrics.height()
        return metrics.horizontalAdvance(str(max(self.count - 1, 0)))


def index_tick_spacing(count: int, px_per_index: float, label_px: float) -> int:
    """The smallest of 1, 2, 5, 10, 20, 50 … indices whose ticks lie ``label_px`` apart or more
    (the largest below ``count`` where none does: the ticks then name only the first entry)."""
    spacing = 1
    for decade in itertools.count():
        for mantissa in (1, 2, 5):
            spacing = mantissa * 10**decade
            if spacing * px_per_index >= label_px or spacing >= count:
                return spacing
    return spacing  # never reached: the loop returns once spacing reaches count


class MatrixView(PlotPanel):
    """Heat map of a (rows × columns) matrix; row 0 at the top, as matrices are written.

    Entry (i, j) is the unit cell centred on (x = j, y = i), so that ticks name the indices of the
    cells they stand under.

    The mouse wheel zooms and dragging pans (the aspect stays 1:1, so a cell stays square); the
    "A" button in the corner shows the whole matrix again. A new matrix of the same shape keeps the
    zoom, so stepping through a run keeps looking at the same entries.
    """

    def __init__(self, title: str = "matrix", parent=None) -> None:
        index_axes = {"left": IndexAxis("left"), "bottom": IndexAxis("bottom")}
        super().__init__(title, parent, axis_items=index_axes)
        self._index_axes = index_axes
        self._default_title = title
        self._values: np.ndarray | None = None
        self._axis_names = ("row", "column")
        self.plot.showGrid(x=False, y=False)
        self.plot.showButtons()
        self.plot.invertY(True)
        self.plot.setAspectLocked(True, ratio=1.0)
        self.plot.getViewBox().setMouseEnabled(x=True, y=True)
        self.image = pg.ImageItem(axisOrder="row-major")
        self.plot.addItem(self.image)
        self.colour_bar = pg.ColorBarItem(
            values=(-1.0, 1.0),
            width=14,
            colorMap=diverging_colormap(),
            interactive=False,
            colorMapMenu=False,
        )
        decade_colour_axis(self.colour_bar)
        self.colour_bar.setImageItem(self.image, insert_in=self.plot)
        self.colour_bar.setVisible(False)  # until there is a matrix to scale
        self.readout_label = pg.TextItem(
            color="k", fill=pg.mkBrush(255, 255, 255, 230), border=pg.mkPen("#888")
        )
        self.readout_label.setZValue(1000)
        self.readout_label.setVisible(False)
        self._readout = ""
        self.plot.addItem(self.readout_label, ignoreBounds=True)
        self.plot.scene().sigMouseMoved.connect(self._on_mouse_moved)
        self._set_axis_labels("row", "column")

    @property
    def matrix(self) -> np.ndarray | None:
        """The array shown (a read-only view of it), or None while the view is cleared."""
        if self._values is None:
            return None
        shown = self._values.view()
        shown.flags.writeable = False
        return shown

    @property
    def levels(self) -> tuple[float, float]:
        """The colour scale's (low, high): always (−m, m)."""
        lo, hi = self.colour_bar.levels()
        return float(lo), float(hi)

    @property
    def readout(self) -> str:
        """The text shown under the mouse ("" when none is shown)."""
        return self._readout if self.readout_label.isVisible() else ""

    def set_matrix(
        self, values: np.ndarray, title: str, row_label: str = "row", col_label: str = "column"
    ) -> None:
        """Show a 2-D array; the colour scale is symmetric about zero."""
        values = np.asarray(values)
        if values.ndim != 2:
            raise ValueError(f"a matrix is 2-D, got shape {values.shape}")
        if not np.issubdtype(values.dtype, np.floating):
            values = values.astype(np.float64)
        reshaped = self._values is None or self._values.shape != values.shape
        self._values = values
        levels = symmetric_levels(values)
        self.image.setImage(values, autoLevels=False, levels=levels)
        rows, cols = values.shape
        self.image.setRect(QtCore.QRectF(-0.5, -0.5, cols, rows))  # entry (i, j) centred on (j, i)
        self._index_axes["left"].count, self._index_axes["bottom"].count = rows, cols
        # again through the bar: its axis follows, and pyqtgraph lets levels set before an image's
        # first data override that data's own; the image is still drawn once, at the next paint
        self.colour_bar.setLevels(levels)
        self.image.setVisible(True)
        self.colour_bar.setVisible(True)
        self.set_title(title)
        self._set_axis_labels(row_label, col_label)
        self.set_placeholder(None)
        if reshaped:
            self.show_whole_matrix()
        self.readout_label.setVisible(False)

    def clear(self, message: str) -> None:
        """Show nothing, and say why in the middle of the plot."""
        self._values = None
        self.image.clear()
        self._index_axes["left"].count = self._index_axes["bottom"].count = 0
        self.image.setVisible(False)
        self.colour_bar.setVisible(False)  # a scale for nothing would read as data
        self.readout_label.setVisible(False)
        self.set_title(self._default_title)
        self.set_placeholder(message)

    def show_whole_matrix(self) -> None:
        """Undo any zoom or pan."""
        if self._values is None:
            return
        rows, cols = self._values.shape
        self.plot.setRange(xRange=(-0.5, cols - 0.5), yRange=(-0.5, rows - 0.5), padding=0.02)

    def data_table(self) -> DataTable:
        """The matrix shown: a row per matrix row, led by its index, then one column per matrix column."""
        row_name, col_name = self._axis_names
        if self._values is None:
            return [row_name], []
        columns = [f"{row_name} \\ {col_name}", *(f"{col_name} {j}" for j in range(self._values.shape[1]))]
        return columns, [[i, *row] for i, row in enumerate(self._values.astype(float).tolist())]

    def hover_text_at(self, row: int, col: int) -> str:
        """What the read-out says over entry (row, col); "" outside the matrix."""
        if self._values is None:
            return ""
        rows, cols = self._values.shape
        if not (0 <= row < rows and 0 <= col < cols):
            return ""
        return f"row {row}, col {col}: {number_text(self._values[row, col], 6)}"

    def eventFilter(self, watched: QtCore.QObject, event: QtCore.QEvent) -> bool:
        if watched is self.plot_widget and event.type() == QtCore.QEvent.Type.Leave:
            self.readout_label.setVisible(False)  # the scene reports no move once the pointer is gone
        return super().eventFilter(watched, event)

    def _set_axis_labels(self, row_label: str, col_label: str) -> None:
        self._axis_names = (row_label, col_label)
        self.plot.setLabel("left", row_label)
        self.plot.setLabel("bottom", col_label)

    def _on_mouse_moved(self, scene_pos: QtCore.QPointF) -> None:
        box = self.plot.getViewBox()
        frame = box.sceneBoundingRect()
        point = box.mapSceneToView(scene_pos)
        text = self.hover_text_at(math.floor(point.y() + 0.5), math.floor(point.x() + 0.5))
        if not text or not frame.contains(scene_pos):
            self.readout_label.setVisible(False)
            return
        self._readout = text
        self.readout_label.setText(text)
        if self.readout_label.textItem.boundingRect().width() > room_inside(box).width():
            self.readout_label.setText(text.replace(": ", ":\n"))  # a narrow dock: the value below
        place_beside(self.readout_label, box, scene_pos)
        self.readout_label.setVisible(True)
