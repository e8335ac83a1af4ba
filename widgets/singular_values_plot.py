"""The singular values of the direction a lane stepped along, against those of the exact polar factor."""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from muonscope.widgets.data_table import DataTable, merged_on_x
from muonscope.widgets.hover import HoverReadout
from muonscope.widgets.number_text import number_text
from muonscope.widgets.panel import PlotPanel
from muonscope.widgets.series_plot import drawn_data
from muonscope.widgets.spectrum_plot import NUMERICAL_ZERO
from muonscope.widgets.theme import STYLE_BY_NAME

__all__ = ["LEAST_DATA_PX", "SingularValuesPlot"]

#: key → (legend text until told what was inspected, colour, line style, symbol)
_SPECTRA = {
    "direction": ("direction D", "#0072B2", "solid", "o"),
    "reference": ("exact polar factor", "#000000", "dash", None),
}


#: The plot layout's row under the bottom axis that holds the legend.
_LEGEND_ROW = 4
#: The legend's margins and spacing, and the left axis beside it, in pixels.
_LEGEND_SLACK_PX = 80
#: The least height of the plotted area: a splitter beside a heat map squeezed it to a 50-pixel strip
#: under the legend's two rows, its axis title cut to "⋮".
LEAST_DATA_PX = 90
#: The plot layout's margins and spacing around its view, axis and legend, in pixels.
_LAYOUT_SLACK_PX = 16


class SingularValuesPlot(PlotPanel):
    """σ_k of two matrices on a log axis, descending; a line below says how far apart they are.

    An exact orthogonalisation makes every σ_k of the direction equal; Newton–Schulz iterations leave
    them spread around that value, and the plot shows by how much.
    """

    def __init__(self, parent=None) -> None:
        super().__init__("σ_k of the step direction D · whatever matrix is shown", parent)
        self.plot.setLogMode(x=False, y=True)
        self.plot.setLabel("bottom", "index k")
        self.plot.setLabel("left", "σ_k")
        self.plot.disableAutoRange()
        self.plot.getViewBox().setMouseEnabled(x=False, y=False)
        # under the plot, in a row of its own: inside, it sat on the polar factor's line at σ = 1
        self.legend = pg.LegendItem(labelTextSize="8pt", colCount=2)
        self.plot.layout.addItem(self.legend, _LEGEND_ROW, 1)
        self.hover = HoverReadout(self.plot)
        self._curves: dict[str, pg.PlotDataItem] = {}
        self._names = {key: spec[0] for key, spec in _SPECTRA.items()}  # as the legend says them
        for key, (text, colour, style, symbol) in _SPECTRA.items():
            pen = pg.mkPen(colour, width=1.8)
            pen.setStyle(STYLE_BY_NAME[style])
            pen.setCosmetic(True)
            curve = pg.PlotDataItem(
                pen=pen, symbol=symbol, symbolSize=4, symbolBrush=colour, symbolPen=None, skipFiniteCheck=True
            )
            self.plot.addItem(curve)
            self.legend.addItem(curve, text)
            self._curves[key] = curve
        self.legend.setVisible(False)  # until there are spectra to tell apart
        self._residual = QtWidgets.QLabel()
        self._residual.setObjectName("residual")
        self._residual.setContentsMargins(6, 2, 6, 2)
        self._residual.setWordWrap(True)
        self.layout().addWidget(self._residual)
        self._keep_room_for_data()

    @property
    def direction(self) -> tuple[np.ndarray, np.ndarray]:
        """The (k, σ_k) points drawn for the lane's direction D (round-off zeros left out)."""
        return drawn_data(self._curves["direction"])

    @property
    def names(self) -> tuple[str, str]:
        """The legend's names of the direction's curve and the polar factor's."""
        return self._names["direction"], self._names["reference"]

    @property
    def reference(self) -> tuple[np.ndarray, np.ndarray]:
        """The (k, σ_k) points drawn for the exact polar factor."""
        return drawn_data(self._curves["reference"])

    def data_table(self) -> DataTable:
        """index k, then σ_k of the direction and of the exact polar factor (as drawn)."""
        series = [(f"σ_k: {self._names[key]}", *drawn_data(curve)) for key, curve in self._curves.items()]
        return merged_on_x("index k", series)

    @property
    def residual_text(self) -> str:
        return self._residual.text()

    def set_spectra(
        self,
        direction: np.ndarray,
        reference: np.ndarray,
        residual_text: str,
        names: tuple[str, str] | None = None,
    ) -> None:
        """Draw both spectra in descending order; round-off values are left off the log axis.

        ``names``: what the two are, for the legend, the read-out and the data table ("lane's map of
        M", "polar factor of M"); without, the names before stay.
        """
        if names is not None:
            self._set_names(*names)
        shown = []
        for key, values in (("direction", direction), ("reference", reference)):
            values = np.sort(np.asarray(values, dtype=float).ravel())[::-1]
            values = values[np.isfinite(values)]
            keep = values > NUMERICAL_ZERO * (values[0] if values.size else 0.0)
            k = np.arange(1, values.size + 1, dtype=float)[keep]
            self._curves[key].setData(k, values[keep])
            self.hover.set_series(key, self._names[key], k, values[keep], _formatter)
            shown.append(values[keep])
        self._residual.setText(residual_text)
        self.legend.setVisible(True)
        self.set_placeholder(None)
        self._fit(np.concatenate(shown))

    def _set_names(self, direction: str, reference: str) -> None:
        self._names = {"direction": direction, "reference": reference}
        for key, curve in self._curves.items():
            self.legend.getLabel(curve).setText(self._names[key])
        self._fit_legend()

    @property
    def legend_rows(self) -> int:
        return self.legend.rowCount

    def resizeEvent(self, event: QtGui.QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fit_legend()

    def _fit_legend(self) -> None:
        """Both names on one row where the plot is wide enough, else one under the other: in a
        narrow dock the polar factor's name ran past the plot's edge, cut off."""
        names_px = [
            sample.boundingRect().width() + label.item.boundingRect().width()
            for sample, label in self.legend.items
        ]
        one_row_px = _LEGEND_SLACK_PX + sum(names_px)
        columns = 2 if self.plot_widget.width() >= one_row_px else 1
        if columns != self.legend.columnCount:
            self.legend.setColumnCount(columns)
            # the plot was laid out for the legend before, at least as wide as it needed: narrowed
            # with it on one row, the plot stayed wider than its view and was cut at k = 21 of 32
            self.plot.setGeometry(self.plot_widget.sceneRect())
        self._keep_room_for_data()  # its rows, or its text's size on a stage, may have changed

    def _keep_room_for_data(self) -> None:
        """The plot at least as tall as its axis, its legend's rows (shown or not: a plot that grew
        when the legend appeared would shift the heat map above it) and LEAST_DATA_PX of data."""
        least = QtCore.Qt.SizeHint.MinimumSize
        legend_px = self.legend.layout.effectiveSizeHint(least).height()
        axis_px = self.plot.getAxis("bottom").effectiveSizeHint(least).height()
        self.plot_widget.setMinimumHeight(round(legend_px + axis_px) + _LAYOUT_SLACK_PX + LEAST_DATA_PX)

    def clear(self, message: str) -> None:
        """Draw nothing and say why over the plot."""
        for curve in self._curves.values():
            curve.setData([], [])
        self.hover.clear()
        self._residual.setText("")
        self.legend.setVisible(False)
        self.set_placeholder(message)

    def _fit(self, values: np.ndarray) -> None:
        """Fit both axes to the data: each inspection is a still picture, not an animation."""
        if values.size == 0:
            return
        lo, hi = math.log10(values.min()), math.log10(values.max())
        margin = max((hi - lo) * 0.08, 0.1)  # a flat spectrum still gets a readable band around it
        count = max(len(self.direction[0]), len(self.reference[0]), 1)
        # room past the last k: at the dock's right edge its point was cut in half
        self.plot.setXRange(0.5, count + 0.5 + 0.02 * count, padding=0)
        self.plot.setYRange(lo - margin, hi + margin, padding=0)


def _formatter(k: float, value: float, _i: int) -> str:
    return f"k = {int(k)}, σ = {number_text(value, 6)}"
