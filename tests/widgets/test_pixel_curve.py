"""Curves over many steps: every point kept for tables and read-outs, the points the plot's pixel
columns show drawn, finer for a picture larger than the screen."""

import numpy as np
import pytest

from muonscope.widgets.capacity_plot import CapacityPlot
from muonscope.widgets.export_drawing import drawing_for_export
from muonscope.widgets.pixel_curve import PixelCurve
from muonscope.widgets.series_plot import SeriesPlot

STEPS = 100_000
SPIKE_STEP = 61_234


def _loss(seed: int) -> np.ndarray:
    steps = np.arange(STEPS, dtype=float)
    values = np.exp(-steps / STEPS * 3) * (1 + 0.2 * np.random.default_rng(seed).random(STEPS))
    values[SPIKE_STEP] = 3.0  # one step in 100,000 that a thinned line must not lose
    return values


@pytest.fixture
def plot(qtbot):
    panel = SeriesPlot("② over time", [("batch_loss", "minibatch loss")])
    qtbot.addWidget(panel)
    panel.resize(760, 420)
    panel.show()
    qtbot.waitExposed(panel)
    panel.set_lanes(["SGD", "Muon"])
    return panel


def _drawn(panel) -> list[PixelCurve]:
    """The panel's curves with a line on show, as pyqtgraph lists them."""
    items = panel.plot.listDataItems()
    return [item for item in items if isinstance(item, PixelCurve) and item.xData is not None]


def _columns(panel) -> float:
    return panel.plot.getViewBox().width()


def test_a_long_run_is_drawn_from_its_pixel_columns_and_kept_whole(plot):
    steps = np.arange(STEPS, dtype=float)
    for lane in range(2):
        plot.set_series(lane, steps, _loss(lane))
    drawn = [curve for curve in _drawn(plot) if curve.xData.size]
    assert len(drawn) == 2
    for lane, curve in enumerate(drawn):
        assert curve.xData.size <= 4 * _columns(plot) + 4  # four points a column at most
        assert (curve.xData[0], curve.xData[-1]) == (0, STEPS - 1)  # it reaches both ends
        assert curve.yData.max() == 3.0 and SPIKE_STEP in curve.xData  # the spike is drawn
        assert curve.yData.min() == _loss(lane).min()
        np.testing.assert_array_equal(plot.curve_data(lane)[1], _loss(lane))  # every point kept
    columns, rows = plot.data_table()
    assert len(rows) == STEPS and columns[0] == "step"


def test_a_wider_plot_is_drawn_from_more_points(plot, qtbot):
    plot.set_series(0, np.arange(STEPS, dtype=float), _loss(0))
    (curve,) = [curve for curve in _drawn(plot) if curve.xData.size]
    narrow = curve.xData.size
    plot.resize(1520, 420)
    qtbot.waitUntil(lambda: _columns(plot) > 1000)
    assert narrow < curve.xData.size <= 4 * _columns(plot) + 4


def test_a_gap_on_a_log_axis_stays_a_gap_when_thinned(plot):
    steps = np.arange(STEPS, dtype=float)
    values = _loss(0)
    values[40_000:40_010] = 0.0  # a loss at round-off: left out on a log axis, a gap in the line
    plot.set_mode("scale", "log")
    plot.set_series(0, steps, values)
    (curve,) = [curve for curve in _drawn(plot) if curve.xData.size]
    assert curve.xData.size < STEPS / 10
    before = int(np.flatnonzero(curve.xData == 39_999)[0])
    assert curve.xData[before + 1] == 40_010 and not curve.opts["connect"][before]  # not bridged
    assert np.all(curve.opts["connect"][:before])  # and joined everywhere else before it
    whole = plot.joined_points(0)
    assert whole.size == STEPS - 10 and np.count_nonzero(~whole[:-1]) == 1


def test_a_picture_larger_than_the_screen_is_drawn_from_finer_columns(plot):
    plot.set_series(0, np.arange(STEPS, dtype=float), _loss(0))
    (curve,) = [curve for curve in _drawn(plot) if curve.xData.size]
    on_screen = curve.xData.copy()
    with drawing_for_export(plot, 3.0):
        assert curve.xData.size > 2 * on_screen.size
    np.testing.assert_array_equal(curve.xData, on_screen)  # the screen's again afterwards


def test_items_recovered_over_many_evaluations_are_thinned_and_kept_whole(qtbot):
    panel = CapacityPlot()
    qtbot.addWidget(panel)
    panel.resize(760, 420)
    panel.show()
    panel.set_lanes(["Muon"])
    steps = np.arange(STEPS, dtype=float)
    recovered = np.floor(np.sqrt(steps))
    recovered[SPIKE_STEP] = 1000.0
    panel.set_capacity(0, steps, recovered, recovered / 1000)
    np.testing.assert_array_equal(panel.recovered_data(0)[1], recovered)
    solid = [curve for curve in _drawn(panel) if curve.xData.size and curve.yData.max() == 1000.0]
    assert len(solid) == 1 and solid[0].xData.size < STEPS / 10 and solid[0].xData[-1] == STEPS - 1
