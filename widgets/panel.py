"""A plot with a one-line header: a title and the panel's mode switches."""

from __future__ import annotations

from collections.abc import Iterable

import pyqtgraph as pg
from PySide6 import QtCore, QtWidgets

from muonscope.widgets.data_table import DataTable
from muonscope.widgets.hover import HoverReadout

__all__ = ["EXPORTS", "PlotPanel", "cache_axes", "plain_units"]

#: (kind, menu text) of what a panel can be written as.
EXPORTS = (("png", "Export PNG…"), ("svg", "Export SVG…"), ("csv", "Export data as CSV…"))


def cache_axes(plot: pg.PlotItem) -> None:
    """Keep each axis (tick text and grid) as a cached pixmap.

    With the grid on, an axis covers the whole view, so every curve update would otherwise
    re-render all tick labels; the axes' ranges are stable while animating, so the cache holds.
    """
    for name in ("left", "bottom", "right", "top"):
        plot.getAxis(name).setCacheMode(QtWidgets.QGraphicsItem.CacheMode.DeviceCoordinateCache)


def plain_units(plot: pg.PlotItem) -> None:
    """Tick values as they are: no SI prefix scaling of an axis.

    Alignments, errors and ratios have no unit; pyqtgraph would relabel an axis "(×0.001)" and show
    an alignment of 0.75 as 750.
    """
    for name in ("left", "bottom", "right", "top"):
        plot.getAxis(name).enableAutoSIPrefix(False)


class PlotPanel(QtWidgets.QWidget):
    """Header (title, mode combo boxes) above one pyqtgraph plot.

    Subclasses add their curves to ``self.plot`` and read their modes from the combos they
    declare with :meth:`add_mode`.
    """

    mode_changed = QtCore.Signal(str, str)  # (switch name, value)
    export_requested = QtCore.Signal(str)  # "png", "svg" or "csv": the app asks where and writes
    legend: pg.LegendItem  # panels with lane curves create these two
    hover: HoverReadout

    def __init__(self, title: str, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self._title = QtWidgets.QLabel(f"<b>{title}</b>")
        self._title.setObjectName("title")
        self._header = QtWidgets.QHBoxLayout()
        self._header.setContentsMargins(4, 2, 4, 0)
        self._header.addWidget(self._title)
        self._header.addStretch(1)
        self.plot_widget = pg.PlotWidget()
        self.plot: pg.PlotItem = self.plot_widget.getPlotItem()
        self.plot.showGrid(x=True, y=True, alpha=0.15)
        cache_axes(self.plot)
        plain_units(self.plot)
        self.plot.setMenuEnabled(False)
        self.plot.hideButtons()
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addLayout(self._header)
        layout.addWidget(self.plot_widget, 1)
        self.modes: dict[str, QtWidgets.QComboBox] = {}
        self._placeholder = QtWidgets.QLabel(self.plot_widget)
        self._placeholder.setObjectName("placeholder")
        self._placeholder.setWordWrap(True)
        self._placeholder.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
        self._placeholder.setAttribute(QtCore.Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self._placeholder.setStyleSheet("color: #555; background: rgba(255, 255, 255, 220); padding: 12px;")
        self._placeholder.hide()
        self.plot_widget.installEventFilter(self)
        self._build_export_menu()

    def add_mode(self, name: str, options: list[tuple[str, str]], tooltip: str = "") -> QtWidgets.QComboBox:
        """A combo of (value, text) options in the header; emits ``mode_changed(name, value)``."""
        combo = QtWidgets.QComboBox()
        combo.setObjectName(f"{name}_mode")
        combo.setToolTip(tooltip)
        # headers share a quarter of the window: let long option texts elide instead of widening it
        combo.setSizeAdjustPolicy(QtWidgets.QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        combo.setMinimumContentsLength(6)
        for value, text in options:
            combo.addItem(text, value)
        combo.currentIndexChanged.connect(
            lambda _i, n=name, c=combo: self.mode_changed.emit(n, c.currentData())
        )
        self._header.addWidget(combo)
        self.modes[name] = combo
        return combo

    def mode(self, name: str) -> str:
        return self.modes[name].currentData()

    def set_mode(self, name: str, value: str) -> None:
        combo = self.modes[name]
        index = combo.findData(value)
        if index < 0:
            raise ValueError(f"{name} has no mode {value!r}")
        combo.setCurrentIndex(index)

    def rename_legend(self, curves: list, labels: list[str]) -> None:
        """Relabel legend entries in place (a lane's settings changed), without new items."""
        legend = self.plot.legend
        for curve, label in zip(curves, labels, strict=False):
            sample = legend.getLabel(curve) if legend is not None else None
            if sample is not None and sample.text != label:
                sample.setText(label)

    def remove_lane_curves(self, curves: Iterable[pg.PlotDataItem]) -> None:
        """Take a lane set's curves off the plot, with their legend entries and hover series."""
        for curve in curves:
            self.plot.removeItem(curve)
        self.legend.clear()
        self.hover.clear()

    def set_title(self, title: str) -> None:
        self._title.setText(f"<b>{title}</b>")

    def set_placeholder(self, text: str | None) -> None:
        """Say over the plot why it stays empty (e.g. the task has no classes); None removes it."""
        if text is None:
            self._placeholder.hide()
            return
        self._placeholder.setText(text)
        self._place_placeholder()
        self._placeholder.show()
        self._placeholder.raise_()

    @property
    def placeholder(self) -> str | None:
        """The text shown over the plot, or None when the plot speaks for itself."""
        return None if self._placeholder.isHidden() else self._placeholder.text()

    def eventFilter(self, watched: QtCore.QObject, event: QtCore.QEvent) -> bool:
        if watched is self.plot_widget and event.type() == QtCore.QEvent.Type.Resize:
            self._place_placeholder()
        return super().eventFilter(watched, event)

    def _place_placeholder(self) -> None:
        width = max(self.plot_widget.width() * 2 // 3, 120)
        self._placeholder.setFixedWidth(width)
        self._placeholder.adjustSize()
        self._placeholder.move(
            (self.plot_widget.width() - width) // 2,
            (self.plot_widget.height() - self._placeholder.height()) // 2,
        )

    # ---- export ------------------------------------------------------------------------------

    def data_table(self) -> DataTable:
        """What the plot shows, as (column names, rows): the numbers its curves were given."""
        raise NotImplementedError(f"{type(self).__name__} does not say what it shows as a table")

    def _build_export_menu(self) -> None:
        """A right click on the plot offers its exports; pyqtgraph's own menu stays off.

        A click, not a press: a right drag (zooming a heat map) is no click and stays pyqtgraph's.
        """
        self.export_menu = QtWidgets.QMenu(self)
        for kind, text in EXPORTS:
            action = self.export_menu.addAction(text)
            action.triggered.connect(lambda _checked=False, k=kind: self.export_requested.emit(k))
        self.plot.scene().sigMouseClicked.connect(self._on_plot_clicked)

    def _on_plot_clicked(self, event) -> None:
        if event.button() == QtCore.Qt.MouseButton.RightButton and not event.isAccepted():
            event.accept()
            self.export_menu.popup(event.screenPos().toPoint())
