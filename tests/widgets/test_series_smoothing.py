"""Panel ② drawn smoothed: the bold curve is the moving average, the raw points stay beneath, and
the hover, the table and the note say which is which."""

import numpy as np
import pytest

from muonscope.widgets.number_text import number_text
from muonscope.widgets.pixel_curve import PixelCurve
from muonscope.widgets.series_plot import SeriesPlot
from muonscope.widgets.smoothing import ema

METRICS = [("batch_loss", "minibatch loss"), ("gap", "spectral gap σ_r − σ_(r+1)")]


@pytest.fixture
def plot(qtbot):
    panel = SeriesPlot("② over time", METRICS)
    qtbot.addWidget(panel)
    panel.set_lanes(["SGD", "Muon"])
    return panel


def _noisy(seed):
    steps = np.arange(1, 201, dtype=float)
    values = 1.0 / steps + np.random.default_rng(seed).normal(0.0, 0.05, steps.size) ** 2
    values[::7] = np.nan  # steps where it was not computed
    return steps, values


def test_smoothing_draws_the_average_bold_over_the_raw_points_and_back(plot):
    steps, values = _noisy(0)
    plot.set_series(0, steps, values)
    plot.set_faded(0, steps, values * 2)
    measured = np.isfinite(values)
    plot.set_smoothing(0.9)  # redrawn at once, with no new data
    drawn_steps, drawn = plot.curve_data(0)
    np.testing.assert_array_equal(drawn_steps, steps[measured])
    np.testing.assert_allclose(drawn, ema(values[measured], 0.9, steps[measured]))
    np.testing.assert_array_equal(plot.raw_data(0)[1], values[measured])
    np.testing.assert_allclose(plot.faded_data(0)[1], ema(2 * values[measured], 0.9, steps[measured]))
    assert plot.smoothing_note == "bold: EMA 0.9 per step, faint: raw"
    assert [a.isChecked() for a in plot.smoothing_menu.actions()] == [False, False, True, False]
    plot.smoothing_menu.actions()[0].trigger()  # raw
    np.testing.assert_array_equal(plot.curve_data(0)[1], values[measured])
    assert plot.raw_data(0)[1].size == 0 and plot.smoothing_note == ""


def test_the_table_keeps_the_raw_points_beside_the_smoothed(plot):
    steps, values = _noisy(1)
    plot.set_smoothing(0.6)
    plot.set_series(0, steps, values)
    plot.set_series(1, steps, values / 2)
    columns, rows = plot.data_table()
    assert columns[:3] == ["step", "minibatch loss, EMA 0.6: SGD", "minibatch loss: SGD"]
    table = np.array(rows, dtype=float)  # (steps, columns)
    np.testing.assert_array_equal(table[:, 2], values[np.isfinite(values)])
    np.testing.assert_allclose(table[:, 1], ema(values[np.isfinite(values)], 0.6, steps[np.isfinite(values)]))


def test_the_hover_names_the_smoothed_value_and_the_raw_one(plot, qtbot):
    plot.resize(420, 300)
    plot.show()
    qtbot.waitExposed(plot)
    steps = np.array([1.0, 2.0, 3.0])
    values = np.array([3.0, 1.0, 2.0])
    plot.set_smoothing(0.6)
    plot.set_series(0, steps, values)
    plot.plot.setXRange(1, 3, padding=0)
    plot.plot.setYRange(0, 3, padding=0)
    smoothed = ema(values, 0.6, steps)[1]
    text = plot.hover.show_at(2.0, smoothed)
    assert f"step 2: minibatch loss = {number_text(smoothed, 6)} (EMA 0.6; raw 1)" in text


def test_a_weight_not_offered_is_refused(plot):
    with pytest.raises(ValueError, match=r"no weight 0\.5"):
        plot.set_smoothing(0.5)


def test_raw_curves_keep_their_colour_on_a_dark_stage():
    """At the light stage's opacity the raw curves all but vanished into a dark background."""
    from muonscope.widgets.theme import StageStyle, raw_pen, set_stage_style

    light = raw_pen(0).color().alpha()
    try:
        set_stage_style(StageStyle(1.0, "dark"))
        dark = raw_pen(0).color().alpha()
    finally:
        set_stage_style(StageStyle())
    assert dark > light


def test_every_lanes_raw_points_lie_under_every_lanes_moving_average(plot):
    """Drawn lane by lane, the later lanes' faint raw points broke up the first lane's bold curve."""
    steps, values = _noisy(2)
    plot.set_smoothing(0.9)
    plot.set_series(0, steps, values)
    plot.set_series(1, steps, values * 3)
    items = [item for item in plot.plot.listDataItems() if isinstance(item, PixelCurve)]

    def depth_of(points) -> float:
        (item,) = [i for i in items if np.array_equal(i.whole_data()[1], points)]
        return item.zValue()

    bold = [depth_of(plot.curve_data(lane)[1]) for lane in (0, 1)]
    raw = [depth_of(plot.raw_data(lane)[1]) for lane in (0, 1)]
    assert max(raw) < min(bold)
