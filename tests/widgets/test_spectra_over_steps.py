"""Panel ①'s spectra over the steps: one lane's σ_k of one matrix as colour, k up, steps across."""

import math

import numpy as np
import pytest
from PySide6 import QtWidgets

from muonscope.widgets.lane_names import LaneNames
from muonscope.widgets.number_text import number_text
from muonscope.widgets.spectra_heat_map import log_spectra
from muonscope.widgets.spectrum_plot import SpectrumPlot


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_values_under_each_steps_own_floor_are_blank(dtype):
    values = np.array([[1.0, 1e-3, 1e-12, np.nan], [1e-6, 1e-8, 1e-17, 0.0]], dtype=dtype)
    logged = log_spectra(values, floor=1e-10)
    np.testing.assert_allclose(logged[0, :2], [0.0, -3.0], atol=1e-6)
    np.testing.assert_allclose(logged[1, :2], [-6.0, -8.0], atol=1e-6)  # its own σ₁ is 1e-6
    assert np.isnan(logged[0, 2:]).all() and np.isnan(logged[1, 2:]).all()


def _panel(qtbot) -> SpectrumPlot:
    panel = SpectrumPlot()
    qtbot.addWidget(panel)
    panel.resize(700, 420)
    panel.show()
    qtbot.waitExposed(panel)
    panel.set_lanes(["SGD", "Muon"])
    return panel


def _spectra(steps: int, width: int) -> np.ndarray:
    """σ (steps, width): a power law shrinking over the steps, its last value round-off."""
    values = np.outer(1.0 / np.arange(1, steps + 1), np.arange(1, width + 1, dtype=float) ** -1.5)
    values[:, -1] = 1e-14 * values[:, 0]
    return values


def test_the_view_draws_the_lane_chosen_and_its_table_is_what_it_was_given(qtbot):
    panel = _panel(qtbot)
    panel.set_mode("view", "gradient:steps")
    assert panel.heat_matrix == "gradient" and panel.visible_matrices() == ()
    assert panel.why_empty() is not None  # nothing on record yet, said
    panel.modes["lane"].setCurrentIndex(1)
    values = _spectra(6, 12)
    panel.set_spectra_over_steps(np.arange(1, 7), np.arange(1, 13), values, LaneNames("Muon"))
    assert panel.why_empty() is None and panel.heat.image.isVisible()
    assert panel.legend_lanes_for(((0, "SGD"), (1, "Muon"))) == ((1, "spectra over the steps of Muon"),)
    columns, rows = panel.data_table()
    assert columns[0] == "step" and columns[1] == "σ_1 of G: Muon" and len(columns) == 13
    table = np.array(rows, dtype=float)
    np.testing.assert_array_equal(table[:, 0], np.arange(1, 7))
    np.testing.assert_array_equal(table[:, 1:-1], values[:, :-1])
    assert np.isnan(table[:, -1]).all()  # round-off: blank in the map and the table
    assert panel.plot.getAxis("bottom").labelText == "step · blank: σ_k below 10⁻¹⁰·σ₁, round-off"


def test_the_readout_names_the_step_index_and_value_under_the_pointer(qtbot):
    panel = _panel(qtbot)
    panel.set_mode("view", "momentum:steps")
    values = _spectra(10, 8)
    names = LaneNames("Muon", (("SGD lr=1", 4),))  # the lane was SGD up to step 4
    panel.set_spectra_over_steps(np.arange(1, 11), np.arange(1, 9), values, names)
    QtWidgets.QApplication.processEvents()
    text = panel.hover.show_at(3.1, 2.05)
    assert text.startswith("SGD lr=1") and "step 3: σ_2 of M = " in text
    assert math.isclose(float(text.rsplit("= ", 1)[1]), values[2, 1], rel_tol=1e-3)
    assert panel.hover.show_at(9, 5).startswith("Muon")
    assert "round-off" in panel.hover.show_at(9, 8)


def test_a_memory_drawn_at_some_of_its_indices_names_each_row_by_its_own(qtbot):
    panel = _panel(qtbot)
    panel.set_mode("view", "weights:steps")
    k = np.array([1, 250, 500, 750, 1000])  # five of a 1000-wide spectrum's indices
    values = _spectra(3, 1000)[:, k - 1]
    values[:, -1] = 1e-3  # the last drawn is real, not round-off
    panel.set_spectra_over_steps(np.array([5, 10, 15]), k, values, LaneNames("SGD"))
    columns, rows = panel.data_table()
    assert columns == ["step", *(f"σ_{index} of W: SGD" for index in k)]
    np.testing.assert_array_equal(np.array(rows, dtype=float)[:, 1:], values)
    assert panel.plot.getViewBox().viewRange()[1] == [0.5, 1000.5]  # the axis spans every index
    for row, index in enumerate(k):  # five rows, each 200 indices tall, from the bottom
        text = panel.hover.show_at(10, 0.5 + (row + 0.5) * 200)
        assert f"step 10: σ_{index} of W = {number_text(values[1, row], 4)}" in text


def test_back_to_one_step_the_curves_and_their_log_axis_return(qtbot):
    panel = _panel(qtbot)
    sigma = np.array([2.0, 1.0, 0.5])
    panel.set_spectrum(0, "gradient", sigma)
    panel.set_mode("view", "gradient:steps")
    panel.set_spectra_over_steps(np.arange(1, 4), np.arange(1, 4), _spectra(3, 3), LaneNames("SGD"))
    assert not panel.plot.getAxis("left").logMode
    panel.set_spectrum(0, "gradient", sigma)  # the renderer's frames go on while the map is shown
    panel.set_mode("view", "gradient+momentum")
    assert panel.plot.getAxis("left").logMode and not panel.heat.image.isVisible()
    np.testing.assert_array_equal(panel.curve_data(0, "gradient")[1], sigma)
    low, high = panel.plot.getViewBox().viewRange()[1]
    assert low <= math.log10(0.5) and high >= math.log10(2.0)
    assert panel.data_table()[0][:2] == ["index k", "σ_k of G: SGD"]


def test_a_cursor_stands_at_the_step_on_view_over_either_heat_map(qtbot):
    from muonscope.widgets.class_error_plot import ClassErrorPlot

    spectra = _panel(qtbot)
    errors = ClassErrorPlot()
    qtbot.addWidget(errors)
    errors.set_lanes(["SGD"])
    for panel, heat_view, curves_view in (
        (spectra, "gradient:steps", "gradient+momentum"),
        (errors, "heatmap", "curves"),
    ):
        panel.set_shown_step(7)
        assert not panel.heat_cursor.isVisible()  # curves of one step: no cursor of their own
        panel.set_mode("view", heat_view)
        assert panel.heat_cursor.isVisible() and panel.heat_cursor.value() == 7
        panel.set_shown_step(3)  # the timeline scrubbed back
        assert panel.heat_cursor.value() == 3
        panel.set_mode("view", curves_view)
        assert not panel.heat_cursor.isVisible()


def test_choosing_a_heat_maps_lane_prints_no_binding_warning(qtbot, capfd):
    """The lane boxes held ints that the header's (str, str) signal could not carry: every choice
    printed "_pythonToCppCopy: Cannot copy-convert … (int) to C++" on stderr."""
    from muonscope.widgets.class_error_plot import ClassErrorPlot

    for panel in (SpectrumPlot(), ClassErrorPlot()):
        qtbot.addWidget(panel)
        panel.set_lanes(["SGD", "Adam", "Muon"])
        with qtbot.waitSignal(panel.mode_changed, timeout=1000) as changed:
            panel.modes["lane"].setCurrentIndex(2)
        assert changed.args == ["lane", "2"] and panel.heat_lane() == 2
    assert "copy-convert" not in capfd.readouterr().err


def test_a_lane_asked_for_before_its_lanes_arrive_is_chosen_when_they_do(qtbot):
    """A saved session's view names the heat map's lane as it opens, before or after its lanes reach
    the panels: either way the lane it was saved on is the one drawn."""
    from muonscope.widgets.class_error_plot import ClassErrorPlot

    for panel in (SpectrumPlot(), ClassErrorPlot()):
        qtbot.addWidget(panel)
        panel.lane_choice.choose(2)  # no lanes yet
        assert panel.heat_lane() == 0
        panel.set_lanes(["SGD", "Adam"])  # a lane set that does not reach it: waits, choosing none
        assert panel.heat_lane() == 0
        panel.set_lanes(["SGD", "Adam", "Muon"])
        assert panel.heat_lane() == 2
        panel.set_lanes(["SGD", "Adam", "Muon", "SignGD"])  # a chosen lane stays where it still stands
        assert panel.heat_lane() == 2
        panel.lane_choice.choose(1)  # among the lanes there: at once
        assert panel.heat_lane() == 1
        panel.set_lanes(["SGD"])  # fewer lanes: the last
        assert panel.heat_lane() == 0


def test_an_empty_map_of_m_says_the_lane_may_keep_none_and_one_of_g_that_steps_bring_it(qtbot):
    """ "Nothing drawn yet" over a lane without momentum promised a map that would never come."""
    panel = _panel(qtbot)
    panel.set_mode("view", "momentum:steps")
    panel.set_spectra_over_steps(np.zeros(0), np.zeros(0), np.zeros((0, 0)), LaneNames("GD"))
    assert "μ = 0 or momentum order none keeps no momentum buffer" in panel.why_empty()
    assert "G over steps" in panel.why_empty() and "yet" not in panel.why_empty()
    panel.set_mode("view", "gradient:steps")
    assert "Nothing drawn yet: columns come as the run steps" in panel.why_empty()


def test_heat_maps_mark_each_change_with_a_line_that_names_it(qtbot):
    from muonscope.widgets.class_error_plot import ClassErrorPlot

    errors = ClassErrorPlot()
    qtbot.addWidget(errors)
    errors.set_lanes(["SGD"])
    for panel, heat_view, curves_view in (
        (_panel(qtbot), "gradient:steps", "gradient+momentum"),
        (errors, "heatmap", "curves"),
    ):
        panel.change_lines.set_events([(60, "label noise 0 → 0.2"), (90, "lanes[0].lr 1 → 2")])
        panel.set_mode("view", heat_view)
        lines = [item for item in panel.plot.items if getattr(item, "toolTip", lambda: "")() != ""]
        assert panel.change_lines.steps == (60.0, 90.0)
        assert {line.toolTip() for line in lines} == {"label noise 0 → 0.2", "lanes[0].lr 1 → 2"}
        assert all(line.isVisible() for line in lines)
        panel.set_mode("view", curves_view)  # ② and ④ mark the changes over curves
        assert not any(line.isVisible() for line in lines)
