"""Hover read-outs stay inside their plot and go away when the pointer leaves it."""

import numpy as np
import pytest
from PySide6 import QtCore, QtWidgets

from muonscope.widgets.series_plot import SeriesPlot

LABEL = "Muon pre μ=0.95 exact lr=0.3 (a long lane label)"


def _shown_plot(qtbot) -> SeriesPlot:
    """Panel ② at 420 × 300 px, on screen."""
    plot = SeriesPlot("② over time", [("gap", "spectral gap σ_r − σ_(r+1)")])
    qtbot.addWidget(plot)
    plot.resize(420, 300)
    plot.show()
    qtbot.waitExposed(plot)
    return plot


@pytest.fixture
def plot(qtbot):
    plot = _shown_plot(qtbot)
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


def test_curves_drawn_on_one_point_are_all_named(plot):
    """Where the two lanes cross (step 25, value 1.5) the read-out names both, each with its value;
    away from the crossing it names the one under the mouse alone."""
    plot.set_lanes(["lane A", "lane B"])
    steps = np.arange(0.0, 51.0)
    plot.set_series(0, steps, 1.0 + steps / 50)
    plot.set_series(1, steps, 2.0 - steps / 50)
    QtWidgets.QApplication.processEvents()
    crossing = plot.hover.show_at(25, 1.5)
    assert "lane A" in crossing and "lane B" in crossing
    assert crossing.count("1.5") >= 2
    apart = plot.hover.show_at(0, 1.0)
    assert "lane A" in apart and "lane B" not in apart


def test_a_read_out_names_at_most_a_few_coinciding_curves_and_counts_the_rest(qtbot):
    from muonscope.widgets.hover import MAX_NAMED

    plot = _shown_plot(qtbot)
    lanes = MAX_NAMED + 2
    plot.set_lanes([f"lane {k}" for k in range(lanes)])
    steps = np.arange(0.0, 11.0)
    for lane in range(lanes):
        plot.set_series(lane, steps, np.ones_like(steps))  # every lane on the same line
    QtWidgets.QApplication.processEvents()
    text = plot.hover.show_at(5, 1.0)
    assert sum(f"lane {k}" in text for k in range(lanes)) == MAX_NAMED
    assert text.endswith("and 2 more curves on this point")


def test_a_read_out_wider_than_a_small_plot_wraps_inside_it(plot):
    plot.resize(230, 300)
    QtWidgets.QApplication.processEvents()
    text = plot.hover.show_at(0, 1.0)
    assert LABEL in text
    inside = plot.hover.plot_scene_rect
    label = plot.hover.label_scene_rect
    assert inside.left() <= label.left() and label.right() <= inside.right()


def test_a_low_plot_names_as_many_coinciding_curves_as_its_height_holds(qtbot):
    """Three lanes on one point in a 90 px plot: their six lines covered it down to the axis."""
    plot = _shown_plot(qtbot)
    plot.resize(420, 150)
    plot.set_lanes([f"lane {k} with a name long enough to matter" for k in range(3)])
    steps = np.arange(0.0, 11.0)
    for lane in range(3):
        plot.set_series(lane, steps, np.ones_like(steps))
    QtWidgets.QApplication.processEvents()
    text = plot.hover.show_at(5, 1.0)
    assert plot.hover.plot_scene_rect.height() < 130
    assert plot.hover.label_scene_rect.height() <= plot.hover.plot_scene_rect.height()
    assert "more curve" in text and "lane 0" in text
