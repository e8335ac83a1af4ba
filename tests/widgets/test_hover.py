"""Hover read-outs stay inside their plot and go away when the pointer leaves it."""

import numpy as np
import pytest
from PySide6 import QtCore, QtWidgets

from muonscope.widgets.series_plot import SeriesPlot

LABEL = "Muon pre μ=0.95 exact lr=0.3 (a long lane label)"


@pytest.fixture
def plot(qtbot):
    plot = SeriesPlot("② over time", [("gap", "spectral gap σ_r − σ_r+1")])
    qtbot.addWidget(plot)
    plot.resize(420, 300)
    plot.show()
    qtbot.waitExposed(plot)
    plot.set_lanes([LABEL, LABEL])
    steps = np.arange(0.0, 51.0)
    plot.set_series(0, steps, 1.0 + steps / 50)  # rising and falling: a point in every corner
    plot.set_series(1, steps, 2.0 - steps / 50)
    plot.plot.setXRange(0, 50, padding=0)
    plot.plot.setYRange(1.0, 2.0, padding=0)
    QtWidgets.QApplication.processEvents()
    return plot


@pytest.mark.parametrize(
    ("step", "value"),
    [(50, 2.0), (0, 1.0), (50, 1.0), (0, 2.0), (25, 1.5)],
    ids=["top right", "bottom left", "bottom right", "top left", "middle"],
)
def test_the_readout_stays_inside_the_plot(plot, step, value):
    text = plot.hover.show_at(step, value)
    assert text.startswith(LABEL)
    assert plot.hover.shown
    assert plot.hover.plot_scene_rect.contains(plot.hover.label_scene_rect)


def test_the_readout_sits_right_of_and_above_its_point_where_there_is_room(plot):
    plot.hover.show_at(0, 1.0)
    label = plot.hover.label_scene_rect
    point = plot.plot.getViewBox().mapViewToScene(QtCore.QPointF(0, 1.0))
    assert label.left() > point.x() and label.bottom() < point.y()


def test_the_readout_goes_when_the_pointer_leaves_the_plot(plot):
    plot.hover.show_at(25, 1.5)
    assert plot.hover.shown
    QtWidgets.QApplication.sendEvent(plot.plot_widget, QtCore.QEvent(QtCore.QEvent.Type.Leave))
    assert not plot.hover.shown
