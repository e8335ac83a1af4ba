"""Panels ② and ④ never sit empty without saying why."""

import numpy as np

from muonscope.widgets.capacity_plot import CapacityPlot
from muonscope.widgets.series_plot import SeriesPlot
from muonscope.widgets.spectrum_plot import SpectrumPlot

WHY = "a single step: no curve"


def test_the_series_panel_says_why_while_no_lane_has_a_curve(qtbot):
    plot = SeriesPlot("② over time", [("gap", "spectral gap")])
    qtbot.addWidget(plot)
    plot.set_lanes(["a", "b"])
    plot.set_empty_text(WHY)
    assert plot.placeholder == WHY
    plot.set_series(0, np.array([0.0, 1.0]), np.array([np.nan, 0.5]))  # one value: no curve
    assert plot.placeholder == WHY
    plot.set_series(1, np.array([0.0, 1.0, 2.0]), np.array([np.nan, 0.5, 0.4]))
    assert plot.placeholder is None
    plot.set_empty_text("another reason")  # still drawn: nothing to explain
    assert plot.placeholder is None


def test_the_capacity_panel_says_why_in_steps_mode(qtbot):
    plot = CapacityPlot()
    qtbot.addWidget(plot)
    plot.set_lanes(["a"])
    plot.set_empty_text(WHY)
    plot.set_capacity(0, np.array([0.0, 1.0]), np.array([3.0, np.nan]), np.array([0.1, np.nan]))
    assert plot.placeholder == WHY
    plot.set_capacity(0, np.array([0.0, 1.0]), np.array([3.0, 9.0]), np.array([0.1, 0.2]))
    assert plot.placeholder is None


def test_the_capacity_panel_says_why_a_sweep_is_empty(qtbot):
    plot = CapacityPlot()
    qtbot.addWidget(plot)
    plot.set_lanes(["a"])
    plot.set_empty_text(WHY)
    plot.set_mode("x", "d")
    assert "press run" in plot.placeholder
    plot.set_sweep([], [], "d", "items", True, True)
    plot.set_running(True, 0, 12)
    assert "being computed" in plot.placeholder
    x = np.array([16.0, 32.0])
    plot.set_sweep([(0, "a", x, x, x, x)], [], "d", "items", True, True)
    assert plot.placeholder is None
    plot.set_mode("x", "ray")
    assert "ray" in plot.placeholder and "press run" in plot.placeholder
    plot.set_mode_state("ray", False, "the stream has no items")
    assert plot.placeholder == "Not for this task: the stream has no items."


def test_the_spectrum_panel_says_why_while_no_lane_draws_a_spectrum(qtbot):
    """At step 0 panel ① was an empty grid, its axes left from the run before, saying nothing."""
    plot = SpectrumPlot()
    qtbot.addWidget(plot)
    plot.set_lanes(["a", "b"])
    plot.set_empty_text(WHY)
    assert plot.placeholder == WHY
    plot.set_spectrum(1, "momentum", np.logspace(0, -2, 6))
    assert plot.placeholder is None  # one lane's M is something to show
    plot.set_mode("view", "update")  # a view of what no lane has drawn
    assert plot.placeholder == WHY
    plot.set_mode("view", "gradient+momentum")
    plot.set_lanes(["a"])  # a new run
    assert plot.placeholder == WHY


def test_spectra_over_the_steps_of_a_lane_that_diverged_say_none_will_come(qtbot):
    """ "Nothing drawn yet: columns come as the run steps" over a lane frozen since step 1."""
    plot = SpectrumPlot()
    qtbot.addWidget(plot)
    plot.set_lanes(["Adam", "Muon"])
    plot.set_mode("view", "update:steps")
    assert "columns come as the run steps" in plot.placeholder
    plot.set_frozen_since(1)
    assert plot.placeholder.endswith("This lane diverged at step 1: it computes nothing from then on.")
    plot.set_frozen_since(None)  # another lane chosen, one that did not diverge
    assert "columns come as the run steps" in plot.placeholder
