"""The timeline: one step cursor shared by all panels, with ticks where settings changed."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6 import QtCore, QtWidgets

from muonscope.widgets.ranges import nice_ceiling

__all__ = ["Timeline"]


class Timeline(QtWidgets.QWidget):
    """Drag the cursor to look back at an earlier step; ``● live`` follows the run again."""

    cursor_dragged = QtCore.Signal(int)
    live_toggled = QtCore.Signal(bool)

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.plot_widget = pg.PlotWidget()
        self.plot_widget.setFixedHeight(56)
        plot = self.plot_widget.getPlotItem()
        plot.hideAxis("left")
        plot.setMenuEnabled(False)
        plot.hideButtons()
        plot.getViewBox().setMouseEnabled(x=False, y=False)
        plot.setYRange(0, 1, padding=0)
        plot.setXRange(0, 10, padding=0)
        self.plot = plot
        self.cursor = pg.InfiniteLine(pos=0, angle=90, movable=True, pen=pg.mkPen("#D55E00", width=2))
        self.cursor.sigDragged.connect(self._on_dragged)
        plot.addItem(self.cursor)
        self._ticks = pg.ScatterPlotItem(symbol="t", size=9, brush=pg.mkBrush("#444444"), pen=None)
        plot.addItem(self._ticks)
        self.live_button = QtWidgets.QToolButton()
        self.live_button.setText("● live")
        self.live_button.setCheckable(True)
        self.live_button.setChecked(True)
        self.live_button.setToolTip("follow the running step; uncheck (or drag the cursor) to look back")
        self.live_button.toggled.connect(self.live_toggled.emit)
        self.step_label = QtWidgets.QLabel("step 0")
        self.step_label.setMinimumWidth(110)
        layout = QtWidgets.QHBoxLayout(self)
        layout.setContentsMargins(4, 0, 4, 0)
        layout.addWidget(self.live_button)
        layout.addWidget(self.step_label)
        layout.addWidget(self.plot_widget, 1)
        self._extent = 10.0
        self._last = 0

    @property
    def live(self) -> bool:
        return self.live_button.isChecked()

    def set_extent(self, last_step: int) -> None:
        """The newest step the run has reached; the axis grows in round jumps."""
        self._last = last_step
        self.cursor.setBounds((0, max(last_step, 0)))
        if last_step > self._extent:
            self._extent = nice_ceiling(last_step * 1.1)
            self.plot.setXRange(0, self._extent, padding=0)

    def set_cursor(self, step: int) -> None:
        """Move the cursor without emitting ``cursor_dragged``."""
        with QtCore.QSignalBlocker(self.cursor):
            self.cursor.setValue(step)
        self.step_label.setText(f"step {step}" if step == self._last else f"step {step} / {self._last}")

    def set_events(self, steps: list[int]) -> None:
        self._ticks.setData(steps, [0.85] * len(steps))

    def reset(self) -> None:
        self._extent = 10.0
        self._last = 0
        self.plot.setXRange(0, 10, padding=0)
        self.set_events([])
        self.set_cursor(0)

    def _on_dragged(self) -> None:
        step = round(self.cursor.value())
        if self.live:
            with QtCore.QSignalBlocker(self.live_button):
                self.live_button.setChecked(False)
        self.cursor_dragged.emit(step)
