"""Curves over steps are dotted where their lines join measurements more than a step apart."""

import numpy as np
import pyqtgraph as pg
import pytest

from muonscope.widgets.capacity_plot import CapacityPlot
from muonscope.widgets.measured_points import MARKED_UP_TO, mark_measured_points
from muonscope.widgets.series_plot import SeriesPlot


def _item_drawing(plot, xs: np.ndarray) -> pg.PlotDataItem:
    """The one curve of ``plot`` whose points lie at ``xs``."""
    items = [i for i in plot.listDataItems() if isinstance(i, pg.PlotDataItem) and i.xData is not None]
    items = [i for i in items if np.array_equal(i.xData, xs)]
    assert len(items) == 1
    return items[0]


@pytest.mark.parametrize(
    ("steps", "dotted"),
    [
        (np.array([0.0, 8.0, 16.0]), True),  # every 8 steps: the lines between are not measured
        (np.array([0.0, 1.0, 2.0, 20.0]), True),  # one gap is enough
        (np.arange(0.0, 40.0), False),  # every step: measured wherever the line runs
        (np.arange(0.0, 2.0 * (MARKED_UP_TO + 1), 2.0), False),  # dense: dots would merge
        (np.array([5.0]), False),  # one point joins nothing
    ],
)
def test_a_curve_is_dotted_at_its_points_only_where_its_line_bridges_unmeasured_steps(steps, dotted):
    curve = pg.PlotDataItem(steps, np.ones_like(steps), pen=pg.mkPen("#1f77b4"))
    mark_measured_points(curve, steps)
    assert (curve.opts["symbol"] == "o") is dotted
    if dotted:  # filled in the curve's own colour
        assert pg.mkBrush(curve.opts["symbolBrush"]).color() == pg.mkPen("#1f77b4").color()


def test_a_dotted_curve_loses_its_dots_once_measured_every_step():
    curve = pg.PlotDataItem(pen=pg.mkPen("r"))
    mark_measured_points(curve, np.array([0.0, 20.0]))
    assert curve.opts["symbol"] == "o"
    mark_measured_points(curve, np.arange(0.0, 21.0))
    assert curve.opts["symbol"] is None


def test_panel_two_dots_a_metric_measured_every_20_steps(qtbot):
    """The bridge preset measures its alignment every 20 steps: a line from step 1 to 21 read as
    measured all the way."""
    plot = SeriesPlot("② over time", [("alignment", "alignment")])
    qtbot.addWidget(plot)
    plot.set_lanes(["a", "b"])
    sparse, dense = np.array([1.0, 21.0, 41.0]), np.arange(1.0, 42.0)
    plot.set_series(0, sparse, np.array([0.9, 0.95, 0.97]))
    plot.set_series(1, dense, np.linspace(0.5, 0.6, dense.size))
    assert _item_drawing(plot.plot, sparse).opts["symbol"] == "o"
    assert _item_drawing(plot.plot, dense).opts["symbol"] is None


def test_panel_four_dots_items_recovered_at_sparse_evaluations(qtbot):
    """noisy_scaling evaluates every 8 steps: its items climbed in a straight line from 0 to 512 over
    steps 0–8, drawn as though counted at each step."""
    plot = CapacityPlot()
    qtbot.addWidget(plot)
    plot.set_lanes(["a"])
    steps = np.array([0.0, 8.0, 16.0])
    plot.set_capacity(0, steps, np.array([0.0, 512.0, 512.0]), np.array([0.0, 1.0, 1.0]))
    assert _item_drawing(plot.plot, steps).opts["symbol"] == "o"
