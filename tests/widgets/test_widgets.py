"""Widgets alone: numpy in, signals out (no engine, no torch)."""

import math
from dataclasses import replace

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6 import QtCore, QtGui, QtTest, QtWidgets

from muonscope.widgets.capacity_plot import CapacityPlot
from muonscope.widgets.class_error_plot import ClassErrorPlot
from muonscope.widgets.corner_note import CORNERS
from muonscope.widgets.lane_table import LaneFieldSpec, LaneTable
from muonscope.widgets.message_bar import MessageBar
from muonscope.widgets.number_box import CompactDoubleSpinBox
from muonscope.widgets.number_text import number_text
from muonscope.widgets.ranges import StableRange, log_label, nice_ceiling, step_axis_end
from muonscope.widgets.series_plot import SeriesPlot
from muonscope.widgets.spectrum_plot import SHRINK_AFTER_FRAMES, SpectrumPlot
from muonscope.widgets.task_panel import TaskFieldSpec, TaskPanel
from muonscope.widgets.theme import StageStyle, lane_colour, set_stage_style, stage_style
from muonscope.widgets.timeline import Timeline
from muonscope.widgets.transport_bar import TransportBar, TransportRanges

RANGES = TransportRanges(seed=(0, 999), step=(0, 10**9))  # the app passes the engine's bounds

LANE = {
    "optimizer": "muon",
    "order": "pre",
    "momentum": 0.95,
    "lr": 0.3,
    "polar": "exact",
    "ns_steps": 5,
    "lam": 1e-3,
    "beta2": 0.999,
    "thresholded": False,
    "lam_schedule": "fixed",
}
SPEC = LaneFieldSpec(
    optimizers=[("sgd", "SGD"), ("adam", "Adam"), ("muon", "Muon")], ranges={"lr": (0.0, 10.0)}
)


def test_lane_table_emits_one_click_changes(qtbot):
    table = LaneTable(SPEC)
    qtbot.addWidget(table)
    table.set_lanes([LANE, {**LANE, "optimizer": "sgd"}], ["a", "b"])
    with qtbot.waitSignal(table.lane_changed) as changed:
        table.rows[1].optimizer.buttons["adam"].click()
    assert changed.args == [1, "optimizer", "adam"]
    with qtbot.waitSignal(table.lane_changed) as changed:
        table.rows[0].order.buttons["post"].click()
    assert changed.args == [0, "order", "post"]
    with qtbot.waitSignal(table.lane_changed) as changed:
        table.rows[0].lr.setValue(2.5)
    assert changed.args == [0, "lr", 2.5]
    assert table.rows[0].lr.maximum() == 10.0 and table.rows[0].lr.text() == "2.5"


def test_the_arrows_ring_options_in_reading_order_and_down_the_grid_and_only_enter_chooses(qtbot):
    """The optimizer buttons lie in rows of four: Down from SGD rings the option under it."""
    options = [("sgd", "SGD"), ("adam", "Adam"), ("signgd", "SignGD"), ("ngd", "NGD"), ("muon", "Muon")]
    table = LaneTable(LaneFieldSpec(optimizers=options))
    qtbot.addWidget(table)
    table.set_lanes([{**LANE, "optimizer": "sgd"}], ["a"])
    table.show()
    choice = table.rows[0].optimizer
    choice.setFocus(QtCore.Qt.FocusReason.TabFocusReason)
    qtbot.waitUntil(choice.hasFocus)
    rung = []
    with qtbot.assertNotEmitted(table.lane_changed):
        for key in ("Down", "Down", "Up", "Right", "Left", "Left", "Right", "Right", "Right", "Right"):
            qtbot.keyClick(choice, getattr(QtCore.Qt.Key, f"Key_{key}"))
            rung.append(choice.picked)
    assert rung == ["muon", "muon", "sgd", "adam", "sgd", "sgd", "adam", "signgd", "ngd", "muon"]
    table.rows[0].optimizer.buttons["ngd"].setEnabled(False)
    qtbot.keyClick(choice, QtCore.Qt.Key.Key_Left)
    assert choice.picked == "signgd"  # past the option that cannot be chosen
    with qtbot.waitSignal(table.lane_changed) as changed:
        qtbot.keyClick(choice, QtCore.Qt.Key.Key_Return)
    assert changed.args == [0, "optimizer", "signgd"]
    choice.clearFocus()
    assert choice.picked is None


def test_lane_table_sync_does_not_echo(qtbot):
    table = LaneTable(SPEC)
    qtbot.addWidget(table)
    table.set_lanes([LANE], ["a"])
    with qtbot.assertNotEmitted(table.lane_changed):
        table.rows[0].set_values({**LANE, "lr": 0.7, "order": "none"})
    assert table.rows[0].order.value() == "none"
    assert not table.rows[0].remove_button.isEnabled()  # the last lane cannot go, and says why
    assert table.rows[0].remove_button.toolTip() == "the last lane cannot be removed: a run has at least one"
    table.set_lanes([LANE, LANE], ["a", "b"])
    button = table.rows[0].remove_button
    assert button.isEnabled() and button.toolTip() == "remove this lane"


def test_a_field_that_does_not_apply_shows_no_value_and_shows_it_again_when_it_does(qtbot):
    """An SGD lane's greyed β₂ box read "0.999", as if the lane had a second moment."""
    table = LaneTable(SPEC)
    qtbot.addWidget(table)
    table.set_lanes([{**LANE, "beta2": 0.999}], ["a"])
    table.show()
    qtbot.waitExposed(table)
    row = table.rows[0]

    def drawn_with(value: float) -> QtGui.QImage:
        with QtCore.QSignalBlocker(row.beta2):
            row.beta2.setValue(value)
        return row.beta2.grab().toImage()

    assert drawn_with(0.5) != drawn_with(0.999)  # its value shows
    row.set_field_state("beta2", False, "only Adam has a second moment")
    assert drawn_with(0.5) == drawn_with(0.999)  # no value drawn: the box alone
    assert row.beta2.value() == 0.999  # kept
    row.set_field_state("beta2", True)
    assert drawn_with(0.5) != drawn_with(0.999)


def test_a_greyed_check_box_shows_no_tick_and_ticks_again_when_it_applies(qtbot):
    """A λ_t box greyed by polar = exact still showed its tick, as if the schedule ran."""
    table = LaneTable(SPEC)
    qtbot.addWidget(table)
    table.set_lanes([{**LANE, "lam_schedule": "kim", "thresholded": True}], ["a"])
    row = table.rows[0]
    assert row.lam_schedule.isChecked() and row.thresholded.isChecked()
    with qtbot.assertNotEmitted(table.lane_changed):  # greying is no edit
        row.set_field_state("lam_schedule", False, "λ's schedule belongs to the regularised polar map")
        row.set_field_state("thresholded", False, "no items")
    assert not row.lam_schedule.isChecked() and not row.thresholded.isChecked()
    row.set_field_state("lam_schedule", True)
    assert row.lam_schedule.isChecked()  # the lane kept it
    with qtbot.waitSignal(table.lane_changed) as changed:
        row.lam_schedule.click()
    assert changed.args == [0, "lam_schedule", "fixed"]
    row.set_field_state("lam_schedule", True)  # shown again before the change came back
    assert not row.lam_schedule.isChecked()


def test_adams_momentum_box_is_labelled_as_its_first_moments_decay(qtbot):
    """Adam's box read "μ", a momentum buffer's name, where it holds β₁."""
    spec = LaneFieldSpec(optimizers=SPEC.optimizers, momentum_symbols={"adam": "β₁"})
    table = LaneTable(spec)
    qtbot.addWidget(table)
    table.set_lanes([LANE, {**LANE, "optimizer": "adam"}], ["a", "b"])
    assert [row.momentum_label.text() for row in table.rows] == ["μ", "β₁"]
    table.rows[1].set_values({**LANE, "optimizer": "sgd"})  # switched: a buffer's μ again
    assert table.rows[1].momentum_label.text() == "μ"


@pytest.mark.parametrize("lr", [0.0243685, 0.000000001])
def test_a_learning_rate_is_shown_to_its_last_digit_in_a_narrow_controls_dock(qtbot, lr):
    """noisy_scaling's 0.0243685 showed as "0.02436", its last digits under the box's arrows; 10⁻⁹
    showed as "1e-09" beside a lane key that reads "lr=0.000000001"."""
    table = LaneTable(SPEC)
    qtbot.addWidget(table)
    table.set_lanes([{**LANE, "lr": lr}], ["a"])
    table.resize(360, 400)  # the lane cards' width in the window's controls dock at 1280 × 720
    table.show()
    qtbot.waitExposed(table)
    box = table.rows[0].lr
    line = box.findChild(QtWidgets.QLineEdit)
    assert float(box.text()) == lr and "e" not in box.text()
    qtbot.waitUntil(lambda: line.width() >= line.fontMetrics().horizontalAdvance(box.text()) + 4)


def test_every_number_shown_is_the_one_in_force_to_the_digit(qtbot):
    """A valid μ = 0.9999 showed as 0.999 and ε = 0.995 as 0.99: the screen must not round them."""
    table = LaneTable(SPEC)
    qtbot.addWidget(table)
    table.set_lanes([{**LANE, "momentum": 0.9999}], ["a"])
    assert table.rows[0].momentum.value() == 0.9999 and table.rows[0].momentum.text() == "0.9999"
    fields = [
        TaskFieldSpec("label_noise", "noise", "slider", 0.0, 0.999),
        TaskFieldSpec("arch", "κ", "float", 0.0, 0.999),
    ]
    panel = TaskPanel(fields)
    qtbot.addWidget(panel)
    panel.set_values({"label_noise": 0.995, "arch": 0.9985})
    assert panel.editors["label_noise"].value_label.text() == "0.995"
    assert panel.editors["arch"].value() == 0.9985 and panel.editors["arch"].text() == "0.9985"
    panel.set_values({"label_noise": 0.2, "arch": 0.5})
    assert panel.editors["label_noise"].value_label.text() == "0.20"  # hundredths as the handle moves
    assert panel.editors["arch"].text() == "0.5"


def test_adams_second_moment_rate_is_shown_and_edited_in_its_row(qtbot):
    """The tail presets run Adam at β₂ = 0.95, torch's default being 0.999: the row must say which."""
    table = LaneTable(SPEC)
    qtbot.addWidget(table)
    table.set_lanes([{**LANE, "optimizer": "adam", "beta2": 0.95}], ["a"])
    box = table.rows[0].beta2
    assert box.value() == 0.95 and box.text() == "0.95"
    with qtbot.waitSignal(table.lane_changed, timeout=5000) as changed:
        box.setValue(0.98)
    assert changed.args == [0, "beta2", 0.98]


def test_lane_field_state_disables_with_reason(qtbot):
    table = LaneTable(SPEC)
    qtbot.addWidget(table)
    table.set_lanes([LANE], ["a"])
    table.rows[0].set_field_state("polar", False, "only Muon orthogonalises")
    assert not table.rows[0].polar.isEnabled()
    assert table.rows[0].polar.toolTip() == "only Muon orthogonalises"
    # the greyed "pre post none" of an SGD lane: the button under the pointer says why too
    table.rows[0].set_field_state("order", False, "SGD applies momentum directly")
    assert [button.toolTip() for button in table.rows[0].order.buttons.values()] == [
        "SGD applies momentum directly"
    ] * 3
    table.rows[0].set_field_state("order", True)
    assert all(button.toolTip() == "" for button in table.rows[0].order.buttons.values())


def test_a_live_task_field_says_what_its_lightning_means(qtbot):
    """The ⚡ beside "batch B" and "label noise ε" was explained nowhere in the window."""
    panel = _panel(qtbot)
    panel.set_field_states({n: (True, True, "") for n in ("d", "label_noise", "kind")}, live={"label_noise"})
    assert "⚡: changes between steps, without a restart" in panel.editors["label_noise"].toolTip()
    assert "⚡" not in panel.editors["d"].toolTip()


def _panel(qtbot):
    fields = [
        TaskFieldSpec("d", "d", "int", 1, 512),
        TaskFieldSpec("label_noise", "noise", "slider", 0.0, 0.95),
        TaskFieldSpec("kind", "kind", "choice", choices=("zipf", "spiked")),
    ]
    panel = TaskPanel(fields)
    qtbot.addWidget(panel)
    panel.set_values({"d": 64, "label_noise": 0.0, "kind": "zipf"})
    panel.set_field_states({n: (True, True, "") for n in ("d", "label_noise", "kind")}, live={"label_noise"})
    return panel


def test_task_panel_live_fields_emit_at_once(qtbot):
    panel = _panel(qtbot)
    with qtbot.waitSignal(panel.live_changed) as changed:
        panel.editors["label_noise"].slider.setValue(25)
    assert changed.args == ["label_noise", 0.25]
    assert not panel.apply_button.isEnabled()


def test_task_panel_stages_reset_fields_until_apply(qtbot):
    panel = _panel(qtbot)
    with qtbot.assertNotEmitted(panel.live_changed):
        panel.editors["d"].setValue(96)
    assert panel.staged == {"d": 96} and panel.apply_button.isEnabled()
    with qtbot.waitSignal(panel.restart_requested) as requested:
        panel.apply_button.click()
    assert requested.args == [{"d": 96}]


def test_a_field_typed_back_to_the_value_in_force_is_no_longer_staged(qtbot):
    """d = 64 → 96 → 64 left "apply & restart (1 change)" armed: pressing it restarted from W = 0
    with nothing changed, and the run it replaced became "the run before"."""
    panel = _panel(qtbot)
    kind = panel.editors["kind"]

    def choose(text: str) -> None:  # as a click on the list does: the box's "activated"
        kind.setCurrentText(text)
        kind.activated.emit(kind.currentIndex())

    panel.editors["d"].setValue(96)
    choose("spiked")
    assert panel.staged == {"d": 96, "kind": "spiked"}
    assert panel.apply_button.text() == "apply && restart (2 changes)"
    panel.editors["d"].setValue(64)
    assert panel.staged == {"kind": "spiked"} and panel.apply_button.text() == "apply && restart (1 change)"
    choose("zipf")
    assert panel.staged == {} and not panel.apply_button.isEnabled()
    assert panel.apply_button.text() == "apply && restart"


def test_task_panel_disables_choices_with_reasons(qtbot):
    panel = _panel(qtbot)
    panel.set_choice_states("kind", {"spiked": "not here"})
    combo = panel.editors["kind"]
    assert not combo.model().item(1).isEnabled() and combo.model().item(0).isEnabled()


def test_a_list_field_refuses_a_number_it_does_not_take_on_enter_and_shows_the_list_in_force(qtbot):
    """ "12, -8, 5" for signal strengths stayed in the field, and "apply" stayed armed, until the
    restart refused it; a spin box sends an out-of-range number back at once."""
    spec = TaskFieldSpec("strengths", "signal strengths", "floats", 0.0, 1e30, lo_open=True, max_len=3)
    panel = TaskPanel([spec])
    qtbot.addWidget(panel)
    panel.set_values({"strengths": [12.0, 8.0, 5.0]})
    line = panel.editors["strengths"]
    refusals = []
    panel.entry_refused.connect(lambda *args: refusals.append(args))
    # "1,,2" was taken as 1, 2; 1e200 made every step fail on squares that overflowed
    for typed in ("12, -8, 5", "12, 0, 5", "1, 2, 3, 4", "12, inf", "12, x", "1,,2", "12, 1e200", ""):
        line.setText(typed)
        line.editingFinished.emit()
        assert line.text() == "12, 8, 5", typed
        assert refusals[-1][:2] == ("strengths", typed)
    assert "numbers above 0 and at most 10³⁰" in refusals[-1][2] and "at most 3 of them" in refusals[-1][2]
    assert panel.staged == {} and not panel.apply_button.isEnabled()
    line.setText("9; 4")
    line.editingFinished.emit()
    assert panel.staged == {"strengths": [9.0, 4.0]} and panel.apply_button.isEnabled()
    assert line.text() == "9, 4"  # shown as every list is
    line.setText("9, -4")
    line.editingFinished.emit()
    assert line.text() == "9, 4"  # the list staged is the one in force
    assert len(refusals) == 9


def test_a_list_field_refuses_on_enter_what_the_applications_check_refuses(qtbot):
    """101 strengths where min(rows, cols) = 100 were taken on Enter, "apply" armed, and only the
    restart refused them; the bound comes from other fields, so the application checks it."""
    spec = TaskFieldSpec(
        "strengths",
        "signal strengths",
        "floats",
        0.0,
        math.inf,
        lo_open=True,
        max_len=50,
        max_len_words="rows",
    )
    panel = TaskPanel([spec])
    qtbot.addWidget(panel)
    panel.set_values({"strengths": [12.0, 8.0]})
    checked = []
    panel.set_entry_check(lambda name, values: checked.append((name, values)) or len(values) <= 2)
    refusals = []
    panel.entry_refused.connect(lambda *args: refusals.append(args))
    line = panel.editors["strengths"]
    line.setText("3, 2, 1")
    line.editingFinished.emit()
    assert checked == [("strengths", [3.0, 2.0, 1.0])]
    assert refusals[-1][:2] == ("strengths", "3, 2, 1") and "at most rows of them" in refusals[-1][2]
    assert line.text() == "12, 8" and panel.staged == {} and not panel.apply_button.isEnabled()
    line.setText("3;2")
    line.editingFinished.emit()
    assert panel.staged == {"strengths": [3.0, 2.0]} and len(refusals) == 1


def test_transport_bar_signals(qtbot):
    bar = TransportBar(RANGES)
    qtbot.addWidget(bar)
    with qtbot.waitSignal(bar.play_toggled) as toggled:
        bar.play_action.trigger()
    assert toggled.args == [True] and bar.play_action.text() == "pause"
    bar.step_n_spin.setValue(12)
    with qtbot.waitSignal(bar.step_requested) as stepped:
        bar.step_n_action.trigger()
    assert stepped.args == [12]
    bar.seed_spin.setValue(3)
    with qtbot.waitSignal(bar.reset_requested) as reset:
        bar.reset_action.trigger()
    assert reset.args == [3]
    with qtbot.assertNotEmitted(bar.play_toggled):
        bar.set_playing(False)
    assert bar.play_action.text() == "play"


def test_series_plot_drops_missing_points_and_marks_events(qtbot):
    plot = SeriesPlot("t", [("gap", "gap")])
    qtbot.addWidget(plot)
    plot.set_lanes(["a"])
    plot.set_series(0, np.arange(5), np.array([1.0, np.nan, 3.0, np.nan, 5.0]))
    x, y = plot.curve_data(0)
    assert x.tolist() == [0, 2, 4] and y.tolist() == [1, 3, 5]
    plot.markers.set_events([(2, "lr 0.1 → 0.2")])
    assert plot.markers.texts == ["lr 0.1 → 0.2"]


def test_spectrum_plot_leaves_numerical_zeros_off_the_log_axis(qtbot):
    plot = SpectrumPlot()
    qtbot.addWidget(plot)
    plot.set_lanes(["a"])
    plot.set_spectrum(0, "gradient", np.array([1.0, 0.1, 1e-3, 1e-17, 0.0]))
    k, sigma = plot.curve_data(0, "gradient")
    assert k.tolist() == [1, 2, 3] and sigma.tolist() == [1.0, 0.1, 1e-3]
    plot.set_spectrum(0, "weights", np.array([2.0, 1.0]))  # not shown in the default view
    assert plot.curve_data(0, "weights")[1].size == 0
    plot.set_mode("view", "weights")
    assert plot.curve_data(0, "weights")[1].tolist() == [2.0, 1.0]


def _shown_capacity_plot(qtbot, lanes: list[str]) -> CapacityPlot:
    """Panel ④ shown at 600 × 400 with ``lanes``."""
    plot = CapacityPlot()
    qtbot.addWidget(plot)
    plot.resize(600, 400)
    plot.show()
    qtbot.waitExposed(plot)
    plot.set_lanes(lanes)
    return plot


def _shown_spectrum_plot(qtbot, width: int, height: int) -> SpectrumPlot:
    """A spectrum panel of one lane, shown at ``width`` × ``height``."""
    plot = SpectrumPlot()
    qtbot.addWidget(plot)
    plot.resize(width, height)
    plot.show()
    qtbot.waitExposed(plot)
    plot.set_lanes(["a"])
    return plot


def _lane_pixels(image: QtGui.QImage, lane: int) -> int:
    colour = QtGui.QColor(lane_colour(lane))
    return sum(
        1
        for y in range(image.height())
        for x in range(image.width())
        if abs(image.pixelColor(x, y).red() - colour.red()) < 30
        and abs(image.pixelColor(x, y).green() - colour.green()) < 30
        and abs(image.pixelColor(x, y).blue() - colour.blue()) < 30
    )


def test_a_spectrum_of_one_value_is_drawn_and_loses_its_dot_when_it_grows(qtbot):
    """The G of a one-item minibatch has rank 1: a line through one point drew nothing at all."""
    plot = _shown_spectrum_plot(qtbot, 300, 240)
    plot.set_spectrum(0, "gradient", np.array([0.5, 1e-20, 0.0]))  # rank 1: one value kept
    assert plot.curve_data(0, "gradient")[1].tolist() == [0.5]
    assert _lane_pixels(plot.grab().toImage(), 0) > 10
    three = np.array([0.5, 0.2, 0.1])
    plot.set_spectrum(0, "gradient", three)
    fresh = _shown_spectrum_plot(qtbot, 300, 240)
    fresh.set_spectrum(0, "gradient", three.copy())
    assert _lane_pixels(plot.grab().toImage(), 0) == _lane_pixels(fresh.grab().toImage(), 0)  # no dots left


def _drawn_item(plot: SpectrumPlot, values: np.ndarray) -> pg.PlotDataItem:
    """The curve item that draws ``values``."""
    items = [i for i in plot.plot.listDataItems() if isinstance(i, pg.PlotDataItem) and i.yData is not None]
    items = [i for i in items if np.array_equal(i.yData, values)]
    assert len(items) == 1
    return items[0]


def test_g_sig_is_ringed_while_its_values_are_few_and_a_dotted_line_alone_once_many(qtbot):
    """A spiked signal's three strengths hid under the buffer's head without rings; a memory's G_sig of
    d values, ringed at every k, made a band that hid the lanes' G under it."""
    plot = _shown_spectrum_plot(qtbot, 300, 240)
    plot.set_mode("view", "gradient+signal")
    few = np.array([12.0, 8.0, 5.0])
    plot.set_spectrum(0, "signal", few)
    assert _drawn_item(plot, few).opts["symbol"] == "o"
    many = np.geomspace(1.0, 1e-3, 64)
    plot.set_spectrum(0, "signal", many)
    assert _drawn_item(plot, many).opts["symbol"] is None
    assert _drawn_item(plot, many).opts["pen"] is not None  # still drawn: as its dotted line
    plot.set_spectrum(0, "signal", few.copy())
    assert _drawn_item(plot, few).opts["symbol"] == "o"


def test_the_spectra_table_names_the_step_each_matrix_was_taken_at(qtbot):
    """Spectra every 5 steps: a CSV of step 7 named step 5's values "at step 7"."""
    plot = _shown_spectrum_plot(qtbot, 300, 240)
    plot.set_mode("view", "gradient+momentum+signal")
    plot.set_shown_step(7)
    plot.set_spectrum(0, "gradient", np.array([0.5, 0.2]), 5)
    plot.set_spectrum(0, "momentum", np.array([0.4, 0.1]))  # its step not known: the step on show
    plot.set_spectrum(0, "signal", np.array([0.3, 0.1]), 1)
    columns, _rows = plot.data_table()
    assert columns == [
        "index k",
        "σ_k of G at step 5: a",
        "σ_k of M at step 7: a",
        "σ_k of G_sig at step 1: a",
    ]


@pytest.mark.parametrize("count", [6, 40])
def test_the_index_axis_of_a_short_spectrum_is_ticked_at_whole_k(qtbot, count):
    """Six values were ticked at k = 1.5, 2.5, …: there is no σ_1.5."""
    plot = _shown_spectrum_plot(qtbot, 600, 300)
    plot.set_spectrum(0, "gradient", np.logspace(0, -3, count))
    axis = plot.plot.getAxis("bottom")
    (low, high), _ = plot.plot.getViewBox().viewRange()
    ticks = [value for _spacing, values in axis.tickValues(low, high, 600) for value in values]
    assert ticks and all(float(value).is_integer() for value in ticks)


@pytest.mark.parametrize(
    "note", ["spectra of step 161", "spectra of steps 149, 153, 161 · computing step 166…"]
)  # one line; wider than the plot, wrapped
def test_a_panel_note_sits_inside_the_plot_whatever_its_axes_show(qtbot, note):
    plot = _shown_spectrum_plot(qtbot, 300, 300)
    plot.set_spectrum(0, "gradient", np.logspace(0, -8, 40))
    assert plot.note == ""
    plot.set_note(note)
    assert plot.note == note
    box = plot.plot.getViewBox()
    qtbot.waitUntil(lambda: box.sceneBoundingRect().contains(plot.note_scene_rect))
    plot.set_spectrum(0, "gradient", np.logspace(3, -12, 90))  # the axes grow: the note stays put
    QtWidgets.QApplication.processEvents()
    assert box.sceneBoundingRect().contains(plot.note_scene_rect)
    plot.set_note("")
    assert plot.note == ""


def _scene_points(plot, x, y) -> list[QtCore.QPointF]:
    """Points along the curve through (x, y) on a log-y plot, 16 per segment, in scene coordinates."""
    box = plot.plot.getViewBox()
    fine = np.linspace(0, len(x) - 1, 16 * (len(x) - 1) + 1)
    xs, ys = np.interp(fine, np.arange(len(x)), x), np.interp(fine, np.arange(len(x)), np.log10(y))
    return [box.mapViewToScene(QtCore.QPointF(a, b)) for a, b in zip(xs, ys, strict=True)]


def test_a_panel_note_moves_off_curves_that_run_through_its_corner(qtbot):
    """A spiked stream's momentum spectrum runs flat near the top: the top-right note hid it."""
    plot = _shown_spectrum_plot(qtbot, 500, 300)
    plot.set_mode("view", "gradient+momentum")
    k = np.arange(1, 41, dtype=float)
    falling, flat = np.logspace(1, -4, 40), np.full(40, 10.0) * np.linspace(1, 0.8, 40)
    plot.set_spectrum(0, "gradient", falling)
    plot.set_note("same G in both lanes")
    QtWidgets.QApplication.processEvents()
    assert plot.note_corner == "top right"  # nothing under it yet
    plot.set_spectrum(0, "momentum", flat)
    plot.set_note("same G in both lanes")  # the renderer sets it every frame
    QtWidgets.QApplication.processEvents()
    assert plot.note_corner != "top right"
    rect = plot.note_scene_rect
    assert plot.plot.getViewBox().sceneBoundingRect().contains(rect)
    for values in (falling, flat):
        assert not any(rect.contains(point) for point in _scene_points(plot, k, values))
    corner = plot.note_corner
    plot.set_spectrum(0, "momentum", flat * 0.999)  # nothing new under it: it stays
    plot.set_note("same G in both lanes")
    assert plot.note_corner == corner
    assert not plot.note_under_curves  # a clear corner: drawn over the plot


def test_a_panel_note_clear_of_the_curves_keeps_its_corner_as_the_axes_move(qtbot):
    """Set again each frame, a note already clear of the curves is not searched for again: it must
    still follow the view's range to stay in its corner."""
    plot = _shown_spectrum_plot(qtbot, 500, 300)
    plot.set_spectrum(0, "gradient", np.logspace(0, -4, 40))
    plot.set_note("spectra of step 12")
    QtWidgets.QApplication.processEvents()
    assert plot.note_corner == "top right"
    box = plot.plot.getViewBox()

    def gap_to_corner() -> tuple[float, float]:
        frame, note = box.sceneBoundingRect(), plot.note_scene_rect
        return frame.right() - note.right(), note.top() - frame.top()

    before = gap_to_corner()
    for top in (2.0, 5.0, 9.0):  # the curve's range grows frame by frame, always below the note
        plot.set_spectrum(0, "gradient", np.logspace(top, -top - 6, 80))
        QtWidgets.QApplication.processEvents()
        plot.set_note("spectra of step 12")  # as the renderer does each frame
        assert plot.note_corner == "top right"
        assert gap_to_corner() == pytest.approx(before, abs=0.5)


LONG_NOTE = " ".join(["a note long enough to wrap onto several lines of the plot"] * 4)


def test_a_panel_note_with_no_clear_place_goes_under_the_curves(qtbot):
    """Flat spectra every few pixels from top to bottom leave no place free: the note is drawn
    beneath them, so that they cross its text rather than vanish behind its box; once a place is
    clear again it comes back over the plot."""
    plot = SpectrumPlot()
    qtbot.addWidget(plot)
    plot.resize(500, 300)
    plot.show()
    qtbot.waitExposed(plot)
    levels = np.logspace(1, -3, 25)
    plot.set_lanes([f"lane {i}" for i in range(levels.size)])
    plot.set_mode("view", "gradient+momentum")
    flat = np.ones(40)
    for lane, level in enumerate(levels):
        plot.set_spectrum(lane, "gradient", flat * level)
    plot.set_note(LONG_NOTE)
    QtWidgets.QApplication.processEvents()
    rect = plot.note_scene_rect
    k = np.arange(1, 41, dtype=float)
    covered = [p for level in levels for p in _scene_points(plot, k, flat * level) if rect.contains(p)]
    assert covered  # no place was clear
    assert plot.note_under_curves
    for lane in range(1, levels.size - 1):  # the top and the bottom lane only: the middle clears
        plot.set_spectrum(lane, "gradient", flat * levels[0])
    plot.set_note(LONG_NOTE)
    QtWidgets.QApplication.processEvents()
    assert not plot.note_under_curves


def test_a_panel_note_with_no_clear_corner_stands_part_way_down_an_edge(qtbot):
    """①'s head filled its top and a converged lane's G at 10⁻⁵² ran along its bottom: the round-off
    note went under that curve in a corner while the middle of the plot was empty."""
    plot = SpectrumPlot()
    qtbot.addWidget(plot)
    plot.resize(500, 300)
    plot.show()
    qtbot.waitExposed(plot)
    plot.set_lanes(["a", "b"])
    flat = np.ones(40)
    plot.set_spectrum(0, "gradient", flat * 10.0)  # along the top
    plot.set_spectrum(1, "gradient", flat * 1e-3)  # along the bottom
    plot.set_note(LONG_NOTE)
    QtWidgets.QApplication.processEvents()
    assert not plot.note_under_curves
    assert plot.note_corner not in CORNERS
    rect, k = plot.note_scene_rect, np.arange(1, 41, dtype=float)
    assert not any(rect.contains(p) for y in (flat * 10.0, flat * 1e-3) for p in _scene_points(plot, k, y))
    assert plot.plot.getViewBox().sceneBoundingRect().contains(rect)


def test_a_note_under_the_curves_hides_no_accuracy_curve_of_the_right_axis(qtbot):
    """Put under the curves, the note's box lies beneath the left axis' curves, but ④'s right axis
    draws its own beneath the whole plot: the box hid 35 px of a dashed accuracy line, which read
    as missing data (noisy_scaling on a stage)."""
    plot = _shown_capacity_plot(qtbot, [f"lane {i}" for i in range(8)])
    steps = np.arange(0.0, 41.0)
    accuracy = np.where(np.arange(steps.size) % 2 == 0, 0.0, 1.0)  # criss-crossing the whole plot
    plot.set_capacity(0, steps, np.zeros(steps.size), accuracy)
    for lane in range(1, 8):  # flat lines a few pixels apart: no place for the note is clear
        plot.set_capacity(lane, steps, np.full(steps.size, 100.0 * lane / 7), np.full(steps.size, np.nan))
    plot.set_note(LONG_NOTE)
    QtWidgets.QApplication.processEvents()
    assert plot.note_under_curves
    rect, view, widget = plot.note_scene_rect, plot.right, plot.plot_widget
    image = widget.grab().toImage()
    colour = QtGui.QColor(lane_colour(0))
    inside, outside = [], []
    for x in np.linspace(0.0, 40.0, 8000):
        point = view.mapViewToScene(QtCore.QPointF(x, np.interp(x, steps, accuracy)))
        pixel = widget.mapFromScene(point)
        seen = any(
            _close(image.pixelColor(pixel.x() + dx, pixel.y() + dy), colour)
            for dx in (-1, 0, 1)
            for dy in (-1, 0, 1)
        )
        if rect.adjusted(3, 3, -3, -3).contains(point):
            inside.append(seen)
        elif view.sceneBoundingRect().contains(point):
            outside.append(seen)
    assert len(inside) > 100  # the accuracy line runs through the note's box
    assert np.mean(inside) > 0.5 * np.mean(outside) > 0.2


def _close(a: QtGui.QColor, b: QtGui.QColor) -> bool:
    return abs(a.red() - b.red()) + abs(a.green() - b.green()) + abs(a.blue() - b.blue()) < 60


def test_capacity_note_keeps_off_the_accuracy_curves_of_the_right_axis(qtbot):
    """④'s accuracy, at 1 along the top on its own axis, ran under the note, which counted only the
    curves of the left axis."""
    plot = _shown_capacity_plot(qtbot, ["a"])
    steps = np.arange(0.0, 61.0)
    accuracy = np.minimum(steps / 2.0, 1.0)
    plot.set_capacity(0, steps, np.minimum(steps * 13.0, 64.0), accuracy)
    plot.set_note("same items recovered, same accuracy in a and b")
    QtWidgets.QApplication.processEvents()
    rect = plot.note_scene_rect
    fine = np.linspace(0.0, 60.0, 961)
    along = zip(fine, np.minimum(fine / 2, 1), strict=True)
    points = [plot.right.mapViewToScene(QtCore.QPointF(x, y)) for x, y in along]
    assert not any(rect.contains(point) for point in points), plot.note_corner


def test_a_note_too_long_for_the_plot_wraps_narrower_to_leave_the_curves_clear(qtbot):
    """Wrapped to the whole width, ④'s note covered the rise from 0 at the left in either bottom
    corner and the plateaus in either top one; a narrower column fits clear in the bottom right."""
    plot = CapacityPlot()
    qtbot.addWidget(plot)
    plot.resize(420, 300)
    plot.show()
    qtbot.waitExposed(plot)
    plot.set_lanes(["a"])
    steps = np.arange(0.0, 81.0)
    recovered, accuracy = np.minimum(steps * 64.0, 512.0), np.minimum(steps / 8.0, 1.0)
    plot.set_capacity(0, steps, recovered, accuracy)
    text = "same items recovered, same accuracy in both lanes, the first and the second of them"
    plot.set_note(text)
    QtWidgets.QApplication.processEvents()
    box = plot.plot.getViewBox()
    assert plot.note == text and box.sceneBoundingRect().contains(plot.note_scene_rect)
    rect = plot.note_scene_rect
    assert rect.width() < box.sceneBoundingRect().width() * 0.7  # wrapped narrower than the plot
    fine = np.linspace(0.0, 80.0, 1281)
    left = [box.mapViewToScene(QtCore.QPointF(x, min(x * 64, 512))) for x in fine]
    right = [plot.right.mapViewToScene(QtCore.QPointF(x, min(x / 8, 1))) for x in fine]
    assert not any(rect.contains(point) for point in (*left, *right)), plot.note_corner


def test_class_error_heatmap(qtbot):
    plot = ClassErrorPlot()
    qtbot.addWidget(plot)
    plot.set_lanes(["a", "b"])
    plot.set_mode("view", "heatmap")
    values = np.array([[0.9, 1.0], [0.5, 0.95], [0.1, 0.9]])  # (T, buckets)
    plot.set_heatmap(np.array([0, 10, 20]), ["1", "2–3"], values)
    assert plot.image.isVisible() and plot.image.image.shape == (2, 3)
    drawn = plot.image.mapRectToParent(plot.image.boundingRect())
    assert (drawn.left(), drawn.right()) == (-5.0, 25.0)  # step 10's cell is 5…15, centred on it
    text = plot.hover.show_at(10, 1.5)
    assert "ranks 2–3" in text and "0.95" in text
    plot.resize(1600, 600)  # a cell 10 steps wide is far wider than a curve point's reach
    plot.show()
    qtbot.waitExposed(plot)
    assert plot.hover.show_at(14.9, 1.5).endswith("step 10: mean error = 0.95")  # anywhere in its cell
    assert plot.hover.show_at(15.1, 0.2).endswith("step 20: mean error = 0.1")
    assert plot.colour_axis.labelText == "mean error"  # the colour says what it is where the box is cut
    plot.set_mode("quantity", "group_loss")
    plot.set_heatmap(np.array([0, 10, 20]), ["1", "2–3"], values)
    assert plot.colour_axis.labelText == "group loss"


def test_class_error_heatmap_says_why_it_is_empty_and_scales_equal_losses_readably(qtbot):
    """Before any evaluation the heat map was empty axes from −0.4 to 0.4; at W = 0 every group's
    loss is ln N, and the colour scale spanned 10⁻⁹ decades, labelled "4.158883090"."""
    plot = ClassErrorPlot()
    qtbot.addWidget(plot)
    plot.set_lanes(["a"])
    plot.set_mode("view", "heatmap")
    assert plot.placeholder is not None and "Nothing drawn yet" in plot.placeholder
    plot.set_mode("quantity", "group_loss")
    plot.set_heatmap(np.array([0]), ["1", "2–3"], np.full((1, 2), np.log(64.0)))
    assert plot.placeholder is None
    low, high = plot.colour_bar.levels()
    assert high - low == pytest.approx(0.1) and low < np.log10(np.log(64.0)) < high


def test_estimated_counts_read_as_estimates_on_the_axis_and_in_the_hover(qtbot):
    plot = CapacityPlot()
    qtbot.addWidget(plot)
    plot.resize(600, 400)
    plot.show()
    plot.set_lanes(["Muon"])
    plot.set_estimate_note("estimated from 4096 sampled items")
    plot.set_capacity(0, np.array([10.0, 20.0]), np.array([6900.0, 7100.0]), np.array([0.5, 0.6]))
    assert plot.plot.getAxis("left").labelText == "≈ items recovered"
    assert "≈ 7100" in plot.hover.show_at(20, 7100.0)
    plot.set_estimate_note("")  # an exact evaluation: plain counts again
    plot.set_capacity(0, np.array([10.0, 20.0]), np.array([690.0, 710.0]), np.array([0.5, 0.6]))
    assert plot.plot.getAxis("left").labelText == "items recovered"
    assert "≈" not in plot.hover.show_at(20, 710.0)


def _shown_sweep_plot(qtbot) -> CapacityPlot:
    plot = CapacityPlot()
    qtbot.addWidget(plot)
    plot.resize(500, 300)
    plot.show()
    qtbot.waitExposed(plot)
    plot.set_mode("x", "batch")
    return plot


def _sweep_drawn(plot: CapacityPlot, top: float) -> None:
    x = np.array([16.0, 32.0])
    y = np.array([1.0, top])
    plot.set_sweep([(0, "GD", x, y, y, y)], [], "batch size B", "items recovered", True, False)
    for _ in range(3):  # paint, measure the labels, lay the axis out again
        plot.grab()
        QtWidgets.QApplication.processEvents()


def test_a_finished_sweep_has_the_same_axes_however_its_points_arrived(qtbot):
    """Streamed in, a sweep's axis kept room for a wider label it had shown on the way (5 px):
    the same shot differed with a cold and a warm cache."""
    streamed, replayed = _shown_sweep_plot(qtbot), _shown_sweep_plot(qtbot)
    streamed.set_running(True, 1, 2)
    _sweep_drawn(streamed, 15.0)  # a label one digit wider on the way: "15"
    _sweep_drawn(streamed, 9.0)
    streamed.set_running(False, 2, 2)
    _sweep_drawn(streamed, 9.0)
    replayed.set_running(False, 2, 2)
    _sweep_drawn(replayed, 9.0)
    for side in ("left", "right"):
        assert streamed.plot.getAxis(side).width() == replayed.plot.getAxis(side).width(), side


def test_new_lanes_leave_a_running_sweep_on_show(qtbot):
    """The first frame of a preset re-creates the lane curves while the preset's sweep runs."""
    plot = CapacityPlot()
    qtbot.addWidget(plot)
    plot.show()
    plot.set_mode("x", "mu")
    plot.set_running(True, 1, 5)
    x = np.array([0.5, 0.9])
    plot.set_sweep([(0, "pre", x, x, x, x)], [], "μ", "alignment", False, False)
    shown = list(plot.plot.listDataItems())
    plot.set_lanes(["pre", "post"])
    assert plot.cancel_button.isVisible() and plot.progress.isVisible()
    assert plot.progress.text() == "1/5" and not plot.run_button.isVisible()  # cancel in its place
    assert all(item in plot.plot.listDataItems() for item in shown)
    assert [label.text for _, label in plot.legend.items] == ["pre"]
    assert not plot.steps_curves_visible
    plot.set_mode("x", "steps")  # back to steps: the new lanes' curves appear, keyed outside the plot
    assert plot.steps_curves_visible
    assert plot.legend.items == []


def test_panel_placeholder_says_why_a_plot_is_empty(qtbot):
    plot = ClassErrorPlot()
    qtbot.addWidget(plot)
    plot.resize(600, 400)
    plot.show()
    assert plot.placeholder is None
    plot.set_placeholder("no classes here")
    assert plot.placeholder == "no classes here"
    label = plot.plot_widget.findChild(QtWidgets.QLabel, "placeholder")
    assert label.isVisible() and plot.plot_widget.rect().contains(label.geometry())
    # the axes behind say nothing about a plot with no data: the left sixth (ticks, axis title) is blank
    image = plot.plot_widget.grab().toImage()
    strip = {image.pixel(x, y) for x in range(0, image.width() // 6 - 2) for y in range(0, image.height(), 3)}
    assert strip == {QtGui.QColor("#ffffff").rgb()}
    plot.resize(900, 500)  # stays centred over the plot as the window changes size
    qtbot.waitUntil(lambda: abs(label.geometry().center().x() - plot.plot_widget.rect().center().x()) <= 2)
    plot.set_placeholder(None)
    assert plot.placeholder is None and not label.isVisible()


def test_timeline_drag_leaves_live_mode(qtbot):
    line = Timeline()
    qtbot.addWidget(line)
    line.set_extent(50)
    line.cursor.setValue(20)
    with qtbot.waitSignal(line.cursor_dragged) as dragged:
        line.cursor.sigDragged.emit(line.cursor)
    assert dragged.args == [20] and not line.live


def test_message_bar(qtbot):
    bar = MessageBar()
    qtbot.addWidget(bar)
    bar.show()
    bar.show_message("boom")
    assert bar.text == "boom"
    with qtbot.waitSignal(bar.dismissed):
        bar.dismiss()
    assert bar.text == ""


def test_a_panel_that_does_not_apply_says_why_and_its_modes_choose_nothing(qtbot):
    """A spiked stream's panel ③ offered "not recovered vs rank" above "has no classes"."""
    plot = ClassErrorPlot()
    qtbot.addWidget(plot)
    plot.resize(700, 400)
    plot.show()
    plot.set_mode("view", "curves")  # the heat map's lane and quantity boxes do not apply here
    assert plot.modes["view"].isEnabled() and not plot.modes["quantity"].isEnabled()
    plot.set_unavailable("no classes here")
    assert plot.placeholder == plot.unavailable == "no classes here"
    assert not any(box.isEnabled() for box in plot.modes.values())  # greyed at the desk, still there
    assert set(plot.shown_modes) == set(plot.modes)
    plot.set_empty_text("nothing drawn yet")
    assert plot.placeholder == "no classes here"  # the reason the panel does not apply stays
    plot.apply_style(StageStyle(2.0))
    assert plot.shown_modes == ()  # on a stage, left out
    plot.set_unavailable(None)
    assert plot.shown_modes == ("view",) and plot.placeholder != "no classes here"
    plot.apply_style(StageStyle())
    assert plot.modes["view"].isEnabled() and not plot.modes["quantity"].isEnabled()  # each its own state


def test_a_short_header_leaves_out_the_greyed_boxes_before_it_cuts_the_one_that_applies(qtbot):
    """At 1280×720 ③ read "not recovered vs r…" beside a greyed "mea…" and "S…"."""
    plot = ClassErrorPlot()
    qtbot.addWidget(plot)
    plot.set_lanes(["SGD μ=0.9 sum lr=128", "Adam β=(0.9, 0.999) lr=0.1"])
    plot.show()
    plot.set_mode("view", "recovery")
    plot.resize(900, 400)
    qtbot.waitUntil(lambda: set(plot.shown_modes) == set(plot.modes), timeout=5000)  # room: all found
    plot.resize(420, 400)
    qtbot.waitUntil(lambda: plot.shown_modes == ("view",), timeout=5000)
    view = plot.modes["view"]
    qtbot.waitUntil(lambda: view.width() >= view.sizeHint().width(), timeout=5000)  # whole, not cut
    plot.set_mode("view", "heatmap")  # the heat map's boxes apply: they show, short of room or not
    assert set(plot.shown_modes) == set(plot.modes)


def test_on_a_stage_a_short_header_puts_its_boxes_whole_on_a_row_under_the_title(qtbot):
    """At 1280×720 on the stage with six lanes, ③ read "heat …", "mean er…" and "Adam, β = (0.8, …"."""
    plot = ClassErrorPlot()
    qtbot.addWidget(plot)
    plot.set_lanes(["Adam, β = (0.8, 0.95)", "Muon NS5, μ = 0.95 ema, no Nesterov"])
    plot.set_mode("view", "heatmap")
    plot.show()
    plot.resize(620, 400)
    assert not plot.mode_boxes_below_title  # at the desk they are cut, and the plot keeps its height
    plot.apply_style(StageStyle(1.5, "dark"))
    qtbot.waitUntil(lambda: plot.mode_boxes_below_title, timeout=5000)
    boxes = [plot.modes[name] for name in plot.shown_modes]
    assert len(boxes) == 3
    qtbot.waitUntil(lambda: all(box.width() >= box.whole_width for box in boxes), timeout=5000)
    plot.resize(1800, 400)  # room again: back beside the title
    qtbot.waitUntil(lambda: not plot.mode_boxes_below_title, timeout=5000)
    plot.resize(620, 400)
    qtbot.waitUntil(lambda: plot.mode_boxes_below_title, timeout=5000)
    plot.apply_style(StageStyle())
    qtbot.waitUntil(lambda: not plot.mode_boxes_below_title, timeout=5000)


@pytest.mark.parametrize(("value", "expected"), [(0.7, 1.0), (3.0, 5.0), (12, 20), (50, 50)])
def test_nice_ceiling(value, expected):
    assert nice_ceiling(value) == expected


_SUPERSCRIPT_DIGITS = str.maketrans("⁻⁰¹²³⁴⁵⁶⁷⁸⁹", "-0123456789")


def _stated(text: str) -> float:
    """The number a text states: "0.0263", "12346" or "2.19·10⁻³⁷"."""
    if "10" in text and any(char in text for char in "⁰¹²³⁴⁵⁶⁷⁸⁹"):
        mantissa, _, power = text.rpartition("10")
        return float(mantissa.rstrip("·") or 1) * 10.0 ** int(power.translate(_SUPERSCRIPT_DIGITS))
    return float(text)


@pytest.mark.parametrize("significant", [3, 4, 6])
def test_number_text_states_the_value_to_its_digits_without_e_notation(significant):
    values = np.concatenate([np.geomspace(1e-40, 1e40, 997), -np.geomspace(1e-9, 1e9, 101), [1.0, 64.0]])
    for value in values:
        text = number_text(float(value), significant)
        assert "e" not in text and "." not in text.rpartition("·")[0][-1:], text  # never "2.19e-37", "2.·10"
        assert abs(_stated(text) - value) <= 0.5 * 10 ** (1 - significant) * abs(value) * (1 + 1e-9), text
        rounding = 1 - 0.5 * 10**-significant  # 9.995·10⁻⁵ is "0.0001" to three digits
        plain = 1e-4 * rounding <= abs(value) < 1e6 * rounding
        powers = any(char in text for char in "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")
        assert powers != plain, text  # plain digits exactly where an axis also writes them


def test_values_read_side_by_side_keep_their_trailing_zeros():
    """A caption ranking losses read "2.8, 5.36": the first looked known to fewer digits."""
    assert (number_text(2.8024), number_text(2.8024, keep_zeros=True)) == ("2.8", "2.80")
    assert number_text(0.5, keep_zeros=True) == "0.500"
    assert number_text(2.0e-7, keep_zeros=True) == "2.00·10⁻⁷"
    assert number_text(12346, keep_zeros=True) == "12346"  # whole numbers as they were


def test_number_text_and_axis_ticks_write_a_power_of_ten_alike():
    """A legend's "ϱ = 10⁻⁷" beside an axis tick "10⁻⁷": one form for one number."""
    for exponent in (-37, -7, 6, 12):
        assert number_text(10.0**exponent) == log_label(10.0**exponent, powers=True)
    assert number_text(2e-7) == log_label(2e-7, powers=True) == "2·10⁻⁷"
    assert number_text(0.0) == "0" and number_text(float("nan")) == "nan" and number_text(-np.inf) == "−∞"


def test_a_step_axis_ends_a_little_past_the_step_at_a_round_number():
    steps = np.unique(np.geomspace(1, 1e6, 4000).round())
    ends = np.array([step_axis_end(step) for step in steps])
    assert np.all(ends >= steps * 1.05) and np.all(ends >= 10)  # the newest point is never on the edge
    assert np.all(ends[steps >= 10] <= steps[steps >= 10] * 1.05 * 4 / 3 * (1 + 1e-12))  # nor 3/10 empty
    assert np.all(np.diff(ends) >= 0)
    assert len(set(ends)) <= 13 * 6  # round ends: a playing run rescales about a dozen times a decade
    assert step_axis_end(300) == 350 and step_axis_end(1000) == 1200


def test_a_step_axis_ends_with_its_run_where_the_run_ends_before_the_next_round_number():
    """A 300-step run paused at its end showed 0–350, an 80-step picture 0–100: a fifth empty."""
    assert step_axis_end(80, run_length=80) == pytest.approx(82)  # room for the tick label "80"
    assert step_axis_end(290, run_length=300) == pytest.approx(309)  # playing on to its end
    assert step_axis_end(80, run_length=300) == step_axis_end(80) == 100  # far from its end: round
    assert step_axis_end(310, run_length=300) == step_axis_end(310)  # played past its length
    assert step_axis_end(1, run_length=1) == 2  # a one-step run's step, not in the first tenth
    assert step_axis_end(8, run_length=8) == pytest.approx(8.2)
    assert step_axis_end(12, run_length=12) == pytest.approx(12.3)
    assert step_axis_end(2, run_length=1) == 10  # stepped on past it: round numbers again
    assert step_axis_end(100_000, run_length=100_000) == pytest.approx(106_000)  # "100000", half out


def test_a_short_step_axis_is_ticked_at_whole_steps_and_a_sweeps_axis_picks_its_own(qtbot):
    """0–2 for a one-step run was ticked in fifths of a step, which no run can stand on."""
    series, capacity, timeline = SeriesPlot("② over time", [("loss", "loss")]), CapacityPlot(), Timeline()
    for widget in (series, capacity, timeline):
        qtbot.addWidget(widget)
        widget.set_run_length(1)
    series.set_lanes(["a"])
    capacity.set_lanes(["a"])
    series.set_series(0, np.array([0.0, 1.0]), np.ones(2))
    capacity.set_capacity(0, np.array([0.0, 1.0]), np.ones(2), np.ones(2))
    timeline.set_extent(1)
    for plot in (series.plot, capacity.plot, timeline.plot):
        assert plot.getViewBox().viewRange()[0] == [0, 2]
        ticks = [
            value for _spacing, values in plot.getAxis("bottom").tickValues(0, 2, 400) for value in values
        ]
        assert ticks and all(value == round(value) for value in ticks), ticks
    series.set_series(0, np.arange(0.0, 40.0), np.ones(40))  # played on: round numbers, ticked freely
    assert series.plot.getAxis("bottom").tickSpacing(0, 50, 400)[0][0] > 1
    capacity.set_mode("x", "batch")  # a sweep over B from 16 to 64: tenths of a decade
    spacings = [spacing for spacing, _offset in capacity.plot.getAxis("bottom").tickSpacing(1.2, 1.8, 400)]
    assert min(spacings) < 1


def test_every_step_axis_ends_with_the_run(qtbot):
    series, capacity, timeline = SeriesPlot("② over time", [("loss", "loss")]), CapacityPlot(), Timeline()
    heat = ClassErrorPlot()
    for widget in (series, capacity, timeline, heat):
        qtbot.addWidget(widget)
        widget.set_run_length(80)
    series.set_lanes(["a"])
    capacity.set_lanes(["a"])
    heat.set_lanes(["a"])
    heat.set_mode("view", "heatmap")
    steps = np.arange(1.0, 81.0)
    series.set_series(0, steps, np.ones_like(steps))
    capacity.set_capacity(0, steps, np.ones(80), np.ones(80))
    timeline.set_extent(80)
    heat.set_heatmap(steps, ["1", "2–3"], np.full((80, 2), 0.5))
    plots = (series.plot, capacity.plot, timeline.plot, heat.plot)
    ends = [plot.getViewBox().viewRange()[0][1] for plot in plots]
    assert ends == [pytest.approx(82)] * 4


def test_the_timeline_ends_with_a_run_length_set_after_its_branches_grew_it(qtbot):
    """A fork shot to step 60: its branches came while the run length was still the rewound
    session's, the timeline grew to 70, and it stayed there while ② and ④ ended at 60."""
    from muonscope.widgets.timeline import BranchMark

    timeline = Timeline()
    qtbot.addWidget(timeline)
    timeline.set_run_length(30)
    timeline.set_extent(30)
    branches = [BranchMark("main", 0, 45, current=False), BranchMark("fork 1", 30, 60, current=True)]
    timeline.set_branches(branches)
    assert timeline.plot.getViewBox().viewRange()[0][1] == pytest.approx(70)
    timeline.set_run_length(60)
    assert timeline.plot.getViewBox().viewRange()[0][1] == pytest.approx(step_axis_end(60, 60))


def test_the_timeline_ends_with_another_branch_that_runs_past_the_run(qtbot):
    """A fork at 30,000 shot to 32,000 beside a main of 150,000 steps: the timeline ran to 200,000,
    the next round number, though main will not grow; the current branch's own end still rounds up."""
    from muonscope.widgets.timeline import BranchMark

    timeline = Timeline()
    qtbot.addWidget(timeline)
    timeline.set_run_length(32_000)
    timeline.set_extent(32_000)
    main = BranchMark("main", 0, 150_000, current=False)
    timeline.set_branches([main, BranchMark("fork 1", 30_000, 32_000, current=True)])
    assert timeline.plot.getViewBox().viewRange()[0][1] == pytest.approx(step_axis_end(150_000, 150_000))
    timeline.set_branches([replace(main, current=True), BranchMark("fork 1", 30_000, 32_000, current=False)])
    timeline.set_extent(150_000)  # on main again, played past its length: it may grow, so it rounds up
    timeline.set_run_length(100_000)
    assert timeline.plot.getViewBox().viewRange()[0][1] == pytest.approx(step_axis_end(150_000))


def test_the_step_axes_end_alike_whichever_steps_they_were_shown_on_the_way(qtbot):
    """At step 60 panel ② and the timeline ended at 60, the newest point on the edge, and ④ at 70:
    they had grown at step 57 (to 60) and not again, where ④ had first seen step 60."""
    series, capacity, timeline = SeriesPlot("② over time", [("loss", "loss")]), CapacityPlot(), Timeline()
    for widget in (series, capacity, timeline):
        qtbot.addWidget(widget)
    series.set_lanes(["a"])
    capacity.set_lanes(["a"])
    for steps in (np.arange(1.0, 58.0), np.arange(1.0, 61.0)):
        series.set_series(0, steps, np.ones_like(steps))
        timeline.set_extent(int(steps[-1]))
    capacity.set_capacity(0, np.arange(1.0, 61.0), np.ones(60), np.ones(60))
    ends = [plot.getViewBox().viewRange()[0][1] for plot in (series.plot, capacity.plot, timeline.plot)]
    assert ends == [step_axis_end(60)] * 3


def test_stable_range_only_grows():
    rng = StableRange(log=True)
    assert rng.update(np.array([0.02, 3.0])) == (-2.0, 0.5)
    assert rng.update(np.array([0.1, 1.0])) is None
    assert rng.update(np.array([1e-4])) == (-4.0, 0.5)


def test_a_settling_range_shrinks_only_after_frames_in_a_row_leave_much_of_it_unused():
    rng = StableRange(log=True, shrink_after=3)
    assert rng.update(np.array([1e-3, 1e6])) == (-3.0, 6.0)  # a transient reaching 10⁶
    assert [rng.settle(np.array([1e-3, 1.0])) for _ in range(2)] == [None, None]
    assert rng.settle(np.array([1e3])) is None  # this frame reaches too far: the count starts again
    assert [rng.settle(np.array([1e-3, 1.0])) for _ in range(2)] == [None, None]
    assert rng.settle(np.array([2e-3, 0.5])) == (-3.0, 0.0)  # the three frames' union
    assert [rng.settle(np.array([1e-3, 0.3])) for _ in range(5)] == [None] * 5  # half a decade unused
    assert rng.update(np.array([0.5, 10.0])) == (-3.0, 1.0)  # it grows at once, as before


def test_a_still_pictures_spectrum_axis_fits_what_it_draws(qtbot):
    """A shot after a diverged lane's update of 10³⁰ left the plot: the rest, near 1, lay squashed at
    the bottom of an axis to 10³⁰ (a live window lets go of it after some steps)."""
    plot = _shown_spectrum_plot(qtbot, 400, 300)
    plot.set_spectrum(0, "gradient", np.array([1e30, 1.0]))
    plot.set_spectrum(0, "gradient", np.array([5.0, 1.0]))
    assert plot.plot.getViewBox().viewRange()[1][1] >= 30  # kept, as a live window keeps it at first
    plot.fit_range_to_drawn()
    low, high = plot.plot.getViewBox().viewRange()[1]
    assert -0.2 < low < 0.1 and 0.6 < high < 1.1


def test_a_range_that_never_settles_never_shrinks():
    rng = StableRange(log=True)
    rng.update(np.array([1e-3, 1e6]))
    assert all(rng.settle(np.array([1e-3, 1.0])) is None for _ in range(50))


def test_the_spectrum_axis_lets_go_of_a_transient_once_the_spectra_stay_small(qtbot):
    """One step's σ₁ of 10⁶ (a lane diverging, then restored) squashed every later spectrum into the
    bottom of ①'s axis for the rest of the run."""
    plot = _shown_spectrum_plot(qtbot, 400, 300)
    plot.set_spectrum(0, "gradient", np.array([1e6, 1.0, 1e-3]))
    plot.settle_range()
    top = plot.plot.getViewBox().viewRange()[1][1]
    assert top >= 6
    ordinary = np.array([1.0, 0.1, 1e-3])
    plot.set_spectrum(0, "gradient", ordinary)
    plot.settle_range()
    for _ in range(50):
        plot.settle_range()  # a paused view redrawn is no new step: the range stays
    assert plot.plot.getViewBox().viewRange()[1][1] == top
    for _ in range(SHRINK_AFTER_FRAMES):
        plot.set_spectrum(0, "gradient", ordinary.copy())
        plot.settle_range()
    low, high = plot.plot.getViewBox().viewRange()[1]
    assert -3.2 < low < -2.8 and 0 <= high < 0.2


@pytest.mark.parametrize("scale", ["linear", "log"])
def test_a_metric_that_never_exceeds_one_has_an_axis_that_stops_at_one(qtbot, scale):
    """An isotropy entropy of 1 (in floats one unit above it) drew an axis to 1.2, above anything a
    normalised entropy can be."""
    plot = SeriesPlot("② over time", [("gap", "gap"), ("entropy", "entropy")], at_most_one=["entropy"])
    qtbot.addWidget(plot)
    plot.set_lanes(["a"])
    plot.set_mode("scale", scale)
    steps = np.arange(1.0, 21.0)
    near_one = 1 - 0.2 / steps
    near_one[-1] = np.nextafter(1.0, 2.0)  # round-off above 1

    def top() -> float:
        hi = plot.plot.getViewBox().viewRange()[1][1]
        return 10**hi if scale == "log" else hi

    plot.set_series(0, steps, near_one)
    assert top() > 1.05  # the gap has no such bound: its axis is rounded up as any other
    plot.set_mode("metric", "entropy")
    plot.set_series(0, steps, near_one)
    assert 1.0 <= top() <= 1.05  # 1 and the axis' padding
    plot.set_mode("metric", "gap")
    plot.set_mode("metric", "entropy")  # a fresh range
    plot.set_series(0, steps, np.full_like(steps, near_one[-1]))  # all at the bound: a range below it
    low, high = plot.plot.getViewBox().viewRange()[1]
    assert high - low > 0.1 and top() <= 1.05


def test_capacity_plot_says_why_a_mode_that_does_not_apply_is_empty(qtbot):
    """…and keys no curves it does not draw: "— recovered -- accuracy" stood over "Not for this task"."""
    plot = CapacityPlot()
    qtbot.addWidget(plot)
    key = (("solid", "recovered"), ("dash", "accuracy"))
    assert plot.style_key.entries == key
    plot.set_mode_state("steps", False, "the stream has no items")
    assert plot.placeholder == "Not for this task: the stream has no items."
    assert not plot.modes["x"].model().item(plot.modes["x"].findData("steps")).isEnabled()
    assert plot.style_key.entries == ()
    plot.set_mode("x", "mu")
    assert not plot.placeholder.startswith("Not for this task")
    plot.set_mode_state("steps", True)
    plot.set_mode("x", "steps")
    assert plot.placeholder is None and plot.style_key.entries == key


def test_a_running_sweep_keeps_the_capacity_header_within_half_a_1280_px_window(qtbot):
    """Run, progress and cancel side by side pushed a 1280 px window to 1301 px (one_step_capacity)."""
    plot = CapacityPlot()
    qtbot.addWidget(plot)
    plot.show()
    plot.set_mode("x", "mu")
    idle = plot.minimumSizeHint().width()
    plot.set_running(True, 12, 12)
    assert plot.cancel_button.isVisible() and not plot.run_button.isVisible()
    assert plot.minimumSizeHint().width() <= max(idle, 420)  # the per-class panel beside it needs 420


def test_a_stopped_sweep_says_so_where_its_progress_stood(qtbot):
    """After a cancel the bar stayed at "3/33", as if the sweep were still going."""
    plot = CapacityPlot()
    qtbot.addWidget(plot)
    plot.show()
    plot.set_mode("x", "batch")
    plot.set_running(True, 3, 33)
    assert plot.progress.text() == "3/33"
    plot.set_running(False, 3, 33)  # cancelled
    assert plot.progress.text() == "3/33 stopped" and plot.run_button.isVisible()
    assert "stopped after 3 of 33 points" in plot.progress.toolTip()
    plot.set_running(False, 33, 33)  # finished
    assert plot.progress.text() == "33/33"
    assert plot.minimumSizeHint().width() <= 420  # the per-class panel beside it needs 420


@pytest.mark.parametrize("scale", [1.0, 1.5])
def test_a_stopped_sweeps_progress_shows_its_whole_text_in_a_1280_px_window(qtbot, scale):
    """ "4/21 stopped" was cut to "4/21 sto" beside the longest sweep's name, and on the stage."""
    set_stage_style(StageStyle(scale, "light" if scale > 1 else "normal"))
    try:
        plot = CapacityPlot()
        qtbot.addWidget(plot)
        plot.apply_style(stage_style())
        plot.resize(int(417 * scale), 230)  # ④ in a 1280×720 window; the stage has the whole width
        plot.show()
        plot.set_mode("x", "mu")
        plot.set_running(False, 4, 21)
        qtbot.waitUntil(lambda: plot.progress.isVisible())
        bar = plot.progress
        assert bar.width() > bar.fontMetrics().horizontalAdvance("4/21 stopped")
        assert plot.minimumSizeHint().width() <= plot.width()
    finally:
        set_stage_style(StageStyle())


def test_panel_four_over_steps_keeps_no_room_for_a_sweeps_legend(qtbot):
    """The sweep legend's row, empty over steps, still took 18 px under the step axis: on screen,
    and in a picture of ④ alone a blank band between the axis title and the lanes' names."""
    plot = CapacityPlot()
    qtbot.addWidget(plot)
    plot.resize(417, 232)
    plot.show()
    qtbot.waitExposed(plot)
    plot.set_lanes(["a"])
    plot.set_capacity(0, np.arange(0.0, 91.0, 10.0), np.arange(10.0), np.linspace(0, 1, 10))
    QtWidgets.QApplication.processEvents()
    assert plot.legend.geometry().height() == 0
    bottom_axis = plot.plot.getAxis("bottom").geometry()
    assert plot.plot.geometry().bottom() - bottom_axis.bottom() <= 2  # the layout's own margin
    sweep_plot, curve = _batch_sweep_panel(qtbot)
    sweep_plot.set_sweep([curve], [], "batch size B", "items recovered", True, True)
    assert sweep_plot.legend.geometry().height() > 0  # a sweep's legend has its room again


def _batch_sweep_panel(qtbot):
    """④ in its batch-size sweep mode, and a GD curve whose second point (B = 32) has 1 of 3 seeds."""
    plot = CapacityPlot()
    qtbot.addWidget(plot)
    plot.set_lanes(["GD"])
    plot.set_mode("x", "batch")
    batch = np.array([16.0, 32.0])
    curve = (0, "GD", batch, np.array([12.0, 17.0]), np.array([11.0, 17.0]), np.array([13.0, 17.0]), [3, 1])
    return plot, curve


def test_a_sweep_stopped_part_way_draws_its_thinner_points_hollow_and_says_so(qtbot):
    """A point of one seed looked like a mean over three, in the plot, the hover and the table."""
    plot, curve = _batch_sweep_panel(qtbot)
    plot.set_sweep([curve], [], "batch size B", "items recovered", True, True, whole_seeds=3)
    rings = [item for item in plot.plot.items if isinstance(item, pg.ScatterPlotItem) and len(item.data)]
    hollow = [(spot.pos().x(), spot.brush().color().name()) for ring in rings for spot in ring.points()]
    assert hollow == [(np.log10(32), stage_style().colours.background.lower())]  # B = 32 alone, hollow
    assert plot.partial_note.startswith("hollow points: fewer than 3 seeds")
    text = plot.hover.show_at(np.log10(32), np.log10(17))
    assert text.startswith("GD") and "B = 32: 17 (1 of 3 seeds: the sweep stopped" in text
    columns, rows = plot.data_table()
    assert columns[-1] == "seeds averaged: GD" and [repr(row[-1]) for row in rows] == ["3", "1"]
    plot.set_sweep([(*curve[:6], [3, 3])], [], "batch size B", "items recovered", True, True, whole_seeds=3)
    assert plot.partial_note == ""


def test_while_a_sweep_runs_its_hollow_points_are_said_to_await_their_seeds_not_to_be_stopped(qtbot):
    """A running sweep's first points, of one seed each, were said to be left by a stopped sweep;
    the corner note follows the sweep's state itself, with no frame drawn (a paused run draws none)."""
    plot, curve = _batch_sweep_panel(qtbot)
    plot.set_running(True, 4, 21)
    plot.set_sweep([curve], [], "batch size B", "items recovered", True, True, whole_seeds=3)
    assert plot.note == "hollow points: fewer than 3 seeds so far (the sweep is running)"
    assert "B = 32: 17 (1 of 3 seeds so far)" in plot.hover.show_at(np.log10(32), np.log10(17))
    plot.set_running(False, 4, 21)  # cancelled
    assert plot.note == "hollow points: fewer than 3 seeds (the sweep stopped before the rest)"
    text = plot.hover.show_at(np.log10(32), np.log10(17))
    assert "B = 32: 17 (1 of 3 seeds: the sweep stopped before the rest)" in text


def test_panels_over_steps_say_which_lanes_curves_lie_on_one_another(qtbot):
    """noisy_scaling's two lanes recover all 512 items from step 8: ④ showed one lane of two."""
    capacity, series = CapacityPlot(), SeriesPlot("② over time", [("loss", "loss")])
    for panel in (capacity, series):
        qtbot.addWidget(panel)
        panel.set_lanes(["GD", "Muon"])
    steps = np.arange(0.0, 40.0, 8.0)
    for lane in range(2):
        capacity.set_capacity(lane, steps, np.minimum(steps * 64, 512), np.minimum(steps / 8, 1.0))
        series.set_series(lane, steps, 1 / (1 + steps))
    assert capacity.coinciding == "same items recovered, same accuracy in both lanes"
    assert series.coinciding == "same loss in both lanes"
    capacity.set_capacity(1, steps, np.minimum(steps * 64, 512), np.minimum(steps / 8, 0.99))
    series.set_series(1, steps, 2 / (1 + steps))
    assert capacity.coinciding == "same items recovered in both lanes"  # accuracy parted
    assert series.coinciding == ""
    capacity.set_mode("x", "d")  # a sweep not yet run draws nothing to coincide
    assert capacity.coinciding == ""
    d = np.array([16.0, 32.0, 64.0])
    sweep = [(0, "GD", d, d, d, d), (1, "Muon pre", d, 2 * d, d, 3 * d), (2, "Muon post", d, 2 * d, d, 3 * d)]
    capacity.set_sweep(sweep, [], "d", "items recovered after one step", True, True)
    assert capacity.coinciding == "same items recovered after one step in Muon pre and Muon post"
    per_class = ClassErrorPlot()
    qtbot.addWidget(per_class)
    per_class.set_lanes(["GD", "Muon"])
    for lane in range(2):  # every item recovered by both: two flat lines at 0, one on the other
        per_class.set_errors(lane, np.full(50, 0.1), np.ones(50))
    assert per_class.coinciding == "same recovery per item in both lanes"
    per_class.set_mode("view", "heatmap")  # one lane at a time
    assert per_class.coinciding == ""


def test_the_series_panel_titles_its_y_axis_with_the_metric_on_show(qtbot):
    """② had no y-axis title: an exported picture of it said nothing of what it measured."""
    metrics = [("gap", "spectral gap σ_r − σ_(r+1)"), ("loss", "population loss")]
    plot = SeriesPlot("② over time", metrics, {"gap": "spectral gap"})
    qtbot.addWidget(plot)
    plot.resize(700, 600)
    plot.show()
    axis = plot.plot.getAxis("left")
    qtbot.waitUntil(lambda: axis.shown_title == "spectral gap σ_r − σ_(r+1)")
    plot.resize(700, 200)  # too short for the menu's text: the short title, not "spectral gap σ_…"
    qtbot.waitUntil(lambda: axis.shown_title == "spectral gap")
    plot.set_mode("metric", "loss")
    assert axis.isVisible() and axis.shown_title == "population loss"
    plot.set_mode("scale", "log")
    assert axis.shown_title == "population loss"


def test_a_new_axis_title_is_centred_on_its_axis_without_waiting_for_a_resize(qtbot):
    """pyqtgraph centres a title only on a resize: ④'s sweep title began where "step" had been."""
    plot = SeriesPlot("② over time", [("gap", "gap"), ("loss", "population loss of every lane")])
    qtbot.addWidget(plot)
    plot.resize(600, 400)
    plot.show()
    qtbot.waitExposed(plot)
    axis = plot.plot.getAxis("left")
    plot.set_mode("metric", "loss")  # a longer title, the axis as long as before
    middle = axis.label.pos().y() - axis.label.boundingRect().width() / 2  # drawn turned: x runs up
    assert abs(middle - axis.height() / 2) <= 2


def test_the_style_key_names_the_line_styles_on_show_and_hides_where_there_are_none(qtbot):
    spectrum, capacity = SpectrumPlot(), CapacityPlot()
    for panel in (spectrum, capacity):
        qtbot.addWidget(panel)
        panel.show()
        panel.set_lanes(["a"])
    assert not spectrum.style_key.isVisible()  # nothing drawn yet: no style to name
    for matrix in ("gradient", "momentum", "update", "signal"):
        spectrum.set_spectrum(0, matrix, np.logspace(0, -3, 8))
    assert spectrum.style_key.text == "solid: G, dashed: M"
    spectrum.set_spectrum(0, "momentum", np.zeros(0))  # a lane without a buffer draws no M
    assert spectrum.style_key.text == "solid: G, no M"  # not a dashed M that is nowhere, nor silence
    assert spectrum.style_key.missing == ("M",) and "momentum buffer" in spectrum.style_key.toolTip()
    width_saying_no_m = spectrum.style_key.sizeHint().width()
    spectrum.set_spectrum(0, "momentum", np.logspace(0, -3, 8))
    assert spectrum.style_key.text == "solid: G, dashed: M" and spectrum.style_key.missing == ()
    assert spectrum.style_key.sizeHint().width() != width_saying_no_m  # sized for what it draws
    spectrum.set_mode("view", "update")
    assert spectrum.style_key.text == "dotted: update" and spectrum.style_key.toolTip() == "dotted: update"
    wide = spectrum.style_key.sizeHint().width()
    spectrum.set_mode("view", "gradient+momentum+signal")
    assert spectrum.style_key.sizeHint().width() > wide  # room for the third sample and name
    assert capacity.style_key.text == "solid: recovered, dashed: accuracy" and capacity.style_key.isVisible()
    capacity.set_mode("x", "d")  # a sweep: one curve per lane, no styles to tell apart
    assert not capacity.style_key.isVisible()
    with pytest.raises(ValueError, match="line style 'wavy' must be one of"):
        capacity.style_key.set_entries([("wavy", "x")])


def test_the_style_key_shows_the_marks_drawn_on_the_curves(qtbot):
    """G_sig of a few values is ringed, and ④ dots its measured points: the key drew the lines
    alone, and the rings and dots went unexplained."""
    spectrum, capacity = SpectrumPlot(), CapacityPlot()
    for panel in (spectrum, capacity):
        qtbot.addWidget(panel)
        panel.show()
        panel.set_lanes(["a"])
    spectrum.set_mode("view", "gradient+signal")
    spectrum.set_spectrum(0, "gradient", np.logspace(0, -3, 40))
    spectrum.set_spectrum(0, "signal", np.array([12.0, 8.0, 5.0]))  # a rank-3 signal: ringed
    assert spectrum.style_key.text == "solid: G, dotted with rings: G_sig"
    spectrum.set_spectrum(0, "signal", np.logspace(0, -3, 40))  # a long curve: its dotted line alone
    assert spectrum.style_key.text == "solid: G, dotted: G_sig"
    capacity.set_capacity(
        0, np.array([0.0, 10.0, 20.0]), np.array([0.0, 5.0, 9.0]), np.array([0.0, 0.2, 0.4])
    )
    assert capacity.style_key.text == "solid with dots: recovered, dashed with rings: accuracy"
    steps = np.arange(0.0, 31.0)  # measured at every step: lines alone
    capacity.set_capacity(0, steps, steps, steps / 30)
    assert capacity.style_key.text == "solid: recovered, dashed: accuracy"
    with pytest.raises(ValueError, match="mark 'star' must be one of"):
        capacity.style_key.set_entries([("solid", "x")], marks={"x": "star"})


def test_capacity_counts_no_further_than_the_items_there_are_so_all_recovered_meets_accuracy_one(qtbot):
    """64 items took an axis to 80: "all recovered" lined up with accuracy 0.8, not 1."""
    plot = _shown_capacity_plot(qtbot, ["a"])
    plot.set_item_count(64)
    steps = np.array([0.0, 10.0, 20.0])
    plot.set_capacity(0, steps, np.array([0.0, 40.0, 64.0]), np.array([0.0, 0.6, 1.0]))
    QtWidgets.QApplication.processEvents()
    left, right = plot.plot.getViewBox(), plot.right
    all_items = left.mapViewToScene(QtCore.QPointF(20.0, 64.0)).y()
    accuracy_one = right.mapViewToScene(QtCore.QPointF(20.0, 1.0)).y()
    assert abs(all_items - accuracy_one) < 1.0
    plot.set_item_count(None)  # a count unknown: the axis rounds up as before
    plot.set_capacity(0, steps, np.array([0.0, 40.0, 64.0]), np.array([0.0, 0.6, 1.0]))
    assert plot.plot.getViewBox().viewRange()[1][1] > 70


def test_capacitys_axis_holds_the_curves_drawn_when_the_item_count_comes_after_them(qtbot):
    """A shot of a resumed session drew its curves, then learned the count and took no step more:
    the axis stayed at 1.00–1.20 with every curve off it."""
    plot = _shown_capacity_plot(qtbot, ["a", "b"])
    steps = np.array([0.0, 10.0, 20.0])
    plot.set_capacity(0, steps, np.array([0.0, 40.0, 150.0]), np.array([0.0, 0.6, 0.9]))
    plot.set_item_count(2048)
    plot.set_capacity(1, np.zeros(0), np.zeros(0), np.zeros(0))  # a lane with nothing measured yet
    low, high = plot.plot.getViewBox().viewRange()[1]
    assert low <= 0.0 and 150.0 <= high <= 2048.0


def test_capacitys_axis_holds_the_compared_branch_when_the_item_count_comes_after_it(qtbot):
    """Back to a forked run from another preset: the count came after the faint curves of the branch
    compared, and the axis was refitted to this branch's 250 items, main's 590 drawn off its top."""
    plot = _shown_capacity_plot(qtbot, ["a"])
    plot.set_faded(0, np.array([0.0, 150.0, 300.0]), np.array([0.0, 400.0, 590.0]))
    plot.set_capacity(0, np.array([0.0, 100.0]), np.array([0.0, 250.0]), np.array([0.0, 0.9]))
    plot.set_item_count(2048)
    low, high = plot.plot.getViewBox().viewRange()[1]
    assert low <= 0.0 and 590.0 <= high <= 2048.0


def test_the_spectra_panel_says_which_lanes_curves_lie_on_one_another(qtbot):
    """At W = 0 every lane has the same gradient: the last lane's curve hid the others unsaid."""
    plot = SpectrumPlot()
    qtbot.addWidget(plot)
    plot.set_lanes(["GD", "Muon", "Newton"])
    spectrum = np.logspace(0, -3, 16)
    for lane in range(3):
        plot.set_spectrum(lane, "gradient", spectrum.copy())
    assert plot.coinciding == "same G in all 3 lanes"
    plot.set_spectrum(1, "gradient", spectrum * 1.01)  # Muon's moves off
    assert plot.coinciding == "same G in GD and Newton"
    plot.set_spectrum(2, "gradient", spectrum * (1 + 1e-6))  # a relative millionth apart: seen as apart
    assert plot.coinciding == ""
    plot.set_lanes(["GD", "Muon"])
    for lane in range(2):
        plot.set_spectrum(lane, "gradient", spectrum.copy())
    assert plot.coinciding == "same G in both lanes"  # not "all 2 lanes"
    plot.set_mode("view", "gradient+signal")
    for lane in range(2):
        plot.set_spectrum(lane, "signal", spectrum[:3].copy())
    assert plot.coinciding == "same G, same G_sig in both lanes"  # the lanes said once


def test_the_signals_few_singular_values_are_ringed_above_the_curves(qtbot):
    """G_sig's three values, drawn as a dotted line under M's head that matches them, could not be
    seen, though the key named them."""
    plot = SpectrumPlot()
    qtbot.addWidget(plot)
    plot.set_lanes(["Muon"])
    plot.set_mode("view", "gradient+momentum+signal")
    spectrum = np.array([12.0, 8.0, 5.0, 1.0, 0.5])
    plot.set_spectrum(0, "momentum", spectrum.copy())
    plot.set_spectrum(0, "signal", spectrum[:3].copy())
    items = [item for item in plot.plot.listDataItems() if item.isVisible() and item.getData()[0] is not None]
    (signal,) = [item for item in items if len(item.getData()[1]) == 3]
    assert signal.scatter.isVisible() and len(signal.scatter.points()) == 3
    assert all(signal.zValue() > item.zValue() for item in items if item is not signal)


def test_the_heat_maps_lane_box_names_its_lanes_and_a_short_bucket_axis_keeps_a_word(qtbot):
    plot = ClassErrorPlot()
    qtbot.addWidget(plot)
    plot.set_lanes(["GD", "Muon"])
    assert [plot.lane_combo.itemText(i) for i in range(2)] == ["GD", "Muon"]  # "lane 1" told a room nothing
    plot.set_labels(["GD", "Muon pre"])  # renamed at the step shown
    assert plot.lane_combo.itemText(1) == "Muon pre"
    for lane in range(2):  # a swatch of the lane's colour: a box cut to "Adam…" says which Adam lane
        swatch = plot.lane_combo.itemIcon(lane).pixmap(8, 8).toImage()
        assert swatch.pixelColor(4, 4) == QtGui.QColor(lane_colour(lane))
    plot.set_mode("view", "heatmap")
    plot.set_heatmap(np.array([0.0, 10.0]), ["1", "2–3"], np.array([[0.9, 1.0], [0.5, 0.9]]))
    plot.resize(500, 140)
    plot.show()
    axis = plot.plot.getAxis("left")
    qtbot.waitUntil(lambda: axis.shown_title == "ranks", timeout=5000)  # not "frequency rank…"
    assert axis.toolTip() == "frequency rank bucket"


def test_a_coincidence_note_numbers_lanes_whose_names_would_cover_the_plot():
    """ "same items recovered … in Muon NS5, μ = 0.95 ema, no Nesterov, Muon exact, μ = 0.95 ema, no
    Nesterov and SGD-momentum, μ = 0.9 sum" filled a third of ④ on a stage: names joined by commas
    that hold commas themselves, and too long to keep off the curves."""
    from muonscope.widgets.coinciding import NAMED_AT_MOST_CHARS, and_join, coincidence_text

    same = (np.arange(3.0), np.ones(3))
    other = (np.arange(3.0), np.zeros(3))
    long_names = ["Muon NS5, μ = 0.95 ema", "Muon exact, μ = 0.95 ema", "SGD, μ = 0.9 sum", "Adam"]
    curves = {0: same, 1: same, 2: same, 3: other}
    assert coincidence_text(curves, long_names) == "in lanes 0, 1 and 2"
    # two groups: which lanes each, and that they are two ("in 2 of 4 lanes; in 2 of 4 lanes")
    labels = [
        "Muon pre μ=0.95 ema exact",
        "Muon pre μ=0.5 ema exact",
        "SGD μ=0.9 sum lr=0.5",
        "SignGD μ=0.9 lr=0.01",
    ]
    pairs = {0: same, 1: other, 2: same, 3: other}
    assert coincidence_text(pairs, labels) == "in lanes 0 and 2, and in lanes 1 and 3"
    named = {0: other, 1: other, 2: same, 3: same}
    assert coincidence_text(named, [*labels[:2], "SGD", "NGD"]) == "in lanes 0 and 1, and in SGD and NGD"
    assert coincidence_text(curves, [*long_names[:3], "GD"]) == "in lanes 0, 1 and 2"
    assert coincidence_text({0: same, 1: same, 2: other}, ["GD", "Newton", "Muon"]) == "in GD and Newton"
    assert and_join(["Adam, β = 0.9", "SGD", "Muon"]) == "Adam, β = 0.9; SGD and Muon"
    assert and_join(["GD", "SGD", "Muon"]) == "GD, SGD and Muon"
    assert len(and_join(long_names[:3])) > NAMED_AT_MOST_CHARS


def test_a_sweep_points_hover_names_the_axis_and_says_what_its_spread_is(qtbot):
    """It read "x = 64: mean 11.33 (seeds 9 – 13)": which axis, and 9 and 13 looked like seed numbers."""
    plot = CapacityPlot()
    qtbot.addWidget(plot)
    plot.set_mode("x", "batch")
    x = np.array([32.0, 64.0])
    plot.set_sweep(
        [(0, "Muon", x, np.array([10.0, 11.33]), np.array([8.0, 9.0]), np.array([12.0, 13.0]))],
        [],
        "batch size B",
        "items recovered after one step",
        True,
        True,
    )
    text = plot.hover.show_at(np.log10(64.0), np.log10(11.33))
    assert "B = 64: 11.33, the mean over seeds (lowest 9, highest 13)" in text
    plot.set_ray([(0, "Muon", np.array([0.1, 0.2]), np.array([1.0, 0.5]))])
    assert "Δ(W) = 0.2: 0.5" in plot.hover.show_at(0.2, np.log10(0.5))


def test_a_log_axis_says_a_curve_ended_where_its_value_reached_zero(qtbot):
    """A loss at round-off (0) simply ended ②'s log curve at step 38, as if the lane had stopped."""
    plot = SeriesPlot("② over time", [("loss", "loss")])
    qtbot.addWidget(plot)
    plot.set_lanes(["Muon", "GD"])
    plot.set_mode("scale", "log")
    steps = np.arange(5.0)
    plot.set_series(1, steps, np.array([1.0, 0.5, 0.2, 0.1, 0.05]))
    assert plot.zeros_note == ""
    plot.set_series(0, steps, np.array([1.0, 1e-8, 1e-15, 0.0, 0.0]))
    assert plot.curve_data(0)[0].tolist() == [0.0, 1.0, 2.0]
    assert plot.zeros_note == "values ≤ 0 are left out on a log axis (a gap in Muon)"
    plot.set_mode("scale", "linear")
    plot.set_series(0, steps, np.array([1.0, 1e-8, 1e-15, 0.0, 0.0]))
    assert plot.zeros_note == ""  # a linear axis draws the zeros


def test_a_log_axis_numbers_the_lanes_whose_long_names_would_run_off_the_panel(qtbot):
    """Four preset lanes named in full ("Muon NS5, μ = 0.95 ema, no Nesterov, …") ran off ②'s top."""
    plot = SeriesPlot("② over time", [("loss", "loss")])
    qtbot.addWidget(plot)
    names = ["Adam, β = (0.8, 0.95)", "Muon NS5, μ = 0.95 ema, no Nesterov", "Muon exact, μ = 0.95 ema"]
    plot.set_lanes(names)
    plot.set_mode("scale", "log")
    steps = np.arange(4.0)
    for lane, values in enumerate(([1.0, 0.5, 0.2, 0.1], [1.0, 1e-30, 0.0, 0.0], [1.0, 1e-20, 0.0, 0.0])):
        plot.set_series(lane, steps, np.array(values))
    assert plot.zeros_note == "values ≤ 0 are left out on a log axis (a gap in lanes 1 and 2)"


def test_a_log_curve_breaks_where_a_value_below_zero_is_left_out(qtbot):
    """Bridge's alignment of -0.02 at step 241 was bridged by the line from 221 to 261, and the note
    said a curve ended at 0; steps not measured (NaN) are still joined across."""
    plot = SeriesPlot("② over time", [("alignment", "alignment")])
    qtbot.addWidget(plot)
    plot.set_lanes(["Muon pre", "Muon, no momentum"])
    plot.set_mode("scale", "log")
    steps = np.arange(6.0)
    plot.set_series(1, steps, np.array([0.5, np.nan, 0.3, -0.02, 0.2, 0.1]))
    assert plot.curve_data(1)[0].tolist() == [0.0, 2.0, 4.0, 5.0]
    assert plot.joined_points(1).tolist() == [True, False, True, False]  # 0–2 joined, 2–4 not
    assert plot.zeros_note == "values ≤ 0 are left out on a log axis (a gap in Muon, no momentum)"
    plot.set_mode("scale", "linear")
    plot.set_series(1, steps, np.array([0.5, np.nan, 0.3, -0.02, 0.2, 0.1]))
    assert plot.joined_points(1).tolist() == [True, True, True, True, False] and plot.zeros_note == ""


def test_a_spectrum_cut_at_round_off_is_said_to_be(qtbot):
    """A spectrum that ended at k = 47 read as a lane that had no more singular values."""
    plot = SpectrumPlot()
    qtbot.addWidget(plot)
    plot.set_lanes(["a"])
    plot.set_mode("view", "gradient+momentum")
    plot.set_spectrum(0, "gradient", np.logspace(0, -3, 20))
    assert plot.round_off_note == ""
    plot.set_spectrum(0, "momentum", np.r_[np.logspace(0, -3, 10), np.full(10, 1e-14)])
    assert plot.curve_data(0, "momentum")[0].size == 10
    assert plot.round_off_note.endswith("·σ₁ of their curve are round-off: not drawn")
    plot.set_mode("view", "update")  # the cut curve is not on show: nothing to say
    assert plot.round_off_note == ""


def test_a_long_status_message_ends_in_an_ellipsis_before_the_fields_on_the_right(qtbot):
    """A "Not opened: …" message ran on under the step counter, cut mid-word."""
    from muonscope.widgets.status_bar import ElidingStatusBar

    window = QtWidgets.QMainWindow()
    qtbot.addWidget(window)
    bar = ElidingStatusBar()
    window.setStatusBar(bar)
    counter = QtWidgets.QLabel("step 120   cpu · float64   paused · 4 lanes, all finite")
    bar.addPermanentWidget(counter)
    window.resize(640, 200)
    window.show()
    qtbot.waitUntil(lambda: counter.x() > 0, timeout=5000)
    text = "Not opened: bad/tensors.safetensors: is not a readable safetensors file " * 3
    bar.showMessage(text, 10_000)
    assert bar.drawn_message.endswith("…") and len(bar.drawn_message) < len(text)
    assert bar.fontMetrics().horizontalAdvance(bar.drawn_message) < counter.x()
    assert bar.currentMessage() == text and bar.toolTip() == text  # the whole text, to compare and on hover
    bar.showMessage("saved", 10_000)
    assert bar.drawn_message == bar.currentMessage() == "saved" and bar.toolTip() == ""
    bar.clearMessage()
    assert bar.currentMessage() == ""


def test_a_heat_map_drawn_alone_names_its_one_lane_and_draws_no_grid_over_its_cells(qtbot):
    """The heat map shows one lane, chosen in a box a picture leaves out: the legend under it names
    that lane as the heat map's, not every lane, and the curves' grid does not cross its cells."""
    plot = ClassErrorPlot()
    qtbot.addWidget(plot)
    plot.resize(300, 400)  # one legend entry to a row
    plot.set_lanes(["GD", "Muon", "Adam"])
    curves_view = plot.view
    key = [(0, "GD"), (1, "Muon"), (2, "Adam"), (None, "faint: the branch it forked from")]
    axes = [plot.plot.getAxis(side) for side in ("left", "bottom")]
    every_lane_px = plot.legend_height_px(key)
    with plot.lane_legend(key):
        assert plot.named_lanes == tuple(key[:3])  # curves: every lane (③ draws no faint branch)
        assert all(axis.grid is not False for axis in axes)
    plot.set_mode("view", "heatmap")
    plot.lane_combo.setCurrentIndex(1)
    with plot.lane_legend(key):
        assert plot.named_lanes == ((1, "heat map of Muon"),)
        assert plot.legend_height_px(key) < every_lane_px  # an export's size makes room for one line
        plot.lane_combo.setCurrentIndex(0)  # another lane while the legend is up
        assert plot.named_lanes == ((0, "heat map of GD"),)
    assert plot.named_lanes == ()  # gone with the picture, not re-worded twice
    assert all(axis.grid is False for axis in axes)
    plot.set_mode("view", curves_view)
    assert all(axis.grid is not False for axis in axes)


def test_a_corner_note_leaves_a_place_a_curve_grazes_for_one_clear_by_a_margin(qtbot):
    """A spectrum's tail ran along the round-off note's last letters, counted clear, where another
    corner was clear by a margin."""
    import pyqtgraph as pg

    from muonscope.widgets.corner_note import CornerNote

    widget = pg.PlotWidget()
    qtbot.addWidget(widget)
    widget.resize(420, 300)
    widget.show()
    qtbot.waitExposed(widget)
    plot = widget.getPlotItem()
    plot.disableAutoRange()
    plot.setRange(xRange=(0, 100), yRange=(0, 100), padding=0)
    note = CornerNote(plot)
    note.set_text("σ_k below 10⁻¹⁰·σ₁ are round-off")
    note.place()
    assert note.corner == CORNERS[0]  # top right, with nothing drawn
    rect = note.item.sceneBoundingRect()
    box = plot.getViewBox()
    graze_y = box.mapSceneToView(QtCore.QPointF(rect.center().x(), rect.bottom() + 1.5)).y()
    plot.addItem(pg.PlotDataItem(np.linspace(55, 100, 90), np.full(90, graze_y)))  # just under it
    note.place()
    assert note.corner == "top left" and not note.under_curves


def test_a_list_differing_from_the_one_in_force_in_the_seventh_digit_is_staged(qtbot):
    """Shown to six digits, 12.0000001 read as the 12 in force, and the edit was dropped as a retyping."""
    spec = TaskFieldSpec("strengths", "signal strengths", "floats", 0.0, math.inf, lo_open=True, max_len=3)
    panel = TaskPanel([spec])
    qtbot.addWidget(panel)
    panel.set_values({"strengths": [12.0, 8.0, 5.0]})
    line = panel.editors["strengths"]
    assert line.text() == "12, 8, 5"
    line.setText("12.0000001, 8, 5")
    line.editingFinished.emit()
    assert panel.staged == {"strengths": [12.0000001, 8.0, 5.0]} and line.text() == "12.0000001, 8, 5"
    line.setText("12.0000001;8;5")  # the staged list typed again: nothing new
    line.editingFinished.emit()
    assert line.text() == "12.0000001, 8, 5" and panel.staged == {"strengths": [12.0000001, 8.0, 5.0]}


@pytest.mark.parametrize("typed", ["1e-400", "1e-13", "0.0000000000001"])
def test_a_number_box_refuses_a_nonzero_number_it_would_hold_as_zero(qtbot, typed):
    """A learning rate of 1e-400 (or 10⁻¹³ at twelve decimals) was taken as 0: a lane that never moves."""
    box = CompactDoubleSpinBox()
    qtbot.addWidget(box)
    box.setRange(0.0, 1e6)
    box.setValue(0.3)
    refusals = []
    box.refused.connect(lambda *args: refusals.append(args))
    box.lineEdit().setText(typed)
    QtTest.QTest.keyClick(box, QtCore.Qt.Key.Key_Return)
    assert box.value() == 0.3 and box.text() == "0.3"
    assert refusals == [(typed, "must be 0 or at least 1e-12 in size (the box holds 12 decimals)")]
    box.lineEdit().setText("0e-5")  # a zero written with an exponent is a zero
    QtTest.QTest.keyClick(box, QtCore.Qt.Key.Key_Return)
    assert box.value() == 0.0 and len(refusals) == 1


def test_a_number_box_names_its_bounds_to_the_digit_it_holds(qtbot):
    """μ < 1 refused 0.9999999999999 with "must be a number from 0 to 1", 1 rounded from its bound."""
    box = CompactDoubleSpinBox()
    qtbot.addWidget(box)
    box.setRange(0.0, 1.0 - 1e-12)  # μ's box: below 1 by the last decimal it holds
    box.setValue(0.9)
    refusals = []
    box.refused.connect(lambda *args: refusals.append(args))
    box.lineEdit().setText("0.9999999999999")
    QtTest.QTest.keyClick(box, QtCore.Qt.Key.Key_Return)
    assert box.value() == 0.9
    assert refusals == [("0.9999999999999", "must be a number from 0 to 0.999999999999")]


def test_the_curve_a_note_would_hide_is_measured_along_each_segment_exactly():
    """Sampled at a few points along it, a spectrum's cliff between two far points ran through the
    note between the samples; clipped, a segment counts for the length of it inside the box."""
    from muonscope.widgets.segments import POINT_PX, length_inside

    box = QtCore.QRectF(10.0, 10.0, 20.0, 10.0)  # x 10–30, y 10–20
    through = np.array([[0.0, 15.0, 100.0, 15.0]])  # across it: its width inside
    assert length_inside(through, box) == pytest.approx(20.0)
    cliff = np.array([[20.0, -500.0, 20.0, 500.0]])  # ends far outside, crossing it: its height
    assert length_inside(cliff, box) == pytest.approx(10.0)
    diagonal = np.array([[0.0, 5.0, 40.0, 25.0]])  # y = 5 + x/2: inside for x in 10–30
    assert length_inside(diagonal, box) == pytest.approx(np.hypot(20.0, 10.0))
    beside = np.array([[0.0, 0.0, 100.0, 5.0], [40.0, 0.0, 40.0, 100.0]])
    assert length_inside(beside, box) == 0.0
    points = np.array([[15.0, 15.0, 15.0, 15.0], [50.0, 50.0, 50.0, 50.0]])  # symbols: one inside
    assert length_inside(points, box) == POINT_PX
    assert length_inside(np.concatenate([through, cliff, beside]), box) == pytest.approx(30.0)


def test_the_curves_under_many_places_are_measured_in_one_pass_as_under_each_alone():
    """A note's 48 boxes measured at once (6 ms of every frame, one at a time), each as if alone."""
    from muonscope.widgets.segments import POINT_PX, lengths_inside

    segments = np.array(
        [
            [0.0, 15.0, 100.0, 15.0],  # horizontal, y = 15
            [20.0, -500.0, 20.0, 500.0],  # vertical, x = 20
            [60.0, 60.0, 60.0, 60.0],  # a point alone
        ]
    )
    boxes = np.array(
        [
            [10.0, 10.0, 30.0, 20.0],  # both lines: 20 across, 10 down
            [50.0, 50.0, 70.0, 70.0],  # the point only
            [40.0, 0.0, 45.0, 30.0],  # the horizontal line only: 5 across
            [200.0, 200.0, 210.0, 210.0],  # nothing
        ]
    )
    assert lengths_inside(segments, boxes) == pytest.approx([30.0, POINT_PX, 5.0, 0.0])
    assert lengths_inside(np.zeros((0, 4)), boxes).tolist() == [0.0] * 4


def test_the_spectrum_index_axis_ends_at_the_last_value_drawn(qtbot):
    """At α = 10 each curve kept two values above round-off, drawn at the left edge of an axis that
    ran to k = 128 for the values left out."""
    plot = SpectrumPlot()
    qtbot.addWidget(plot)
    plot.resize(500, 300)
    plot.show()
    plot.set_lanes(["a"])
    values = np.concatenate([[1.0, 3e-3], np.full(126, 1e-17)])  # (128,): two above the floor
    plot.set_spectrum(0, "gradient", values)
    k, drawn = plot.curve_data(0, "gradient")
    assert list(k) == [1.0, 2.0] and list(drawn) == [1.0, 3e-3]
    assert plot.plot.getViewBox().viewRange()[0][1] == pytest.approx(2.5)
    plot.set_spectrum(0, "gradient", np.geomspace(1.0, 1e-3, 40))  # a full spectrum grows it
    assert plot.plot.getViewBox().viewRange()[0][1] == pytest.approx(40.5)


def test_lane_rows_are_numbered_as_messages_and_breakpoints_name_lanes(qtbot):
    """Five added lanes all read "Muon post μ=0.95 ema exact lr=0.3" beside a message about "lane 5"."""
    table = LaneTable(SPEC)
    qtbot.addWidget(table)
    table.set_lanes([LANE, LANE, LANE], ["Muon", "Muon", "Muon"])
    assert [row.title.text() for row in table.rows] == ["0 · Muon", "1 · Muon", "2 · Muon"]


def test_a_coincidence_note_on_a_stage_numbers_lanes_it_names_at_the_desk():
    """At 1.5× the note "same items recovered, same accuracy in SignGD lr=0.01 and Adam β=(0.9, 0.999)
    lr=0.003" lay over ④'s curves: on a stage, names run long sooner."""
    from muonscope.widgets.coinciding import coincidence_text

    same, other = (np.arange(3.0), np.ones(3)), (np.arange(3.0), np.zeros(3))
    curves = {0: same, 1: other, 2: same}
    labels = ["SignGD lr=0.01", "SGD", "Adam β=(0.9, 0.999) lr=0.003"]
    assert coincidence_text(curves, labels) == "in SignGD lr=0.01 and Adam β=(0.9, 0.999) lr=0.003"
    try:
        set_stage_style(StageStyle(scale=1.5))
        assert coincidence_text(curves, labels) == "in lanes 0 and 2"
        assert coincidence_text({0: same, 1: other, 2: same}, ["GD", "SGD", "Newton"]) == "in GD and Newton"
    finally:
        set_stage_style(StageStyle())


def test_a_sweep_legends_samples_are_faint_with_their_lanes_while_another_lane_is_in_focus(qtbot):
    from muonscope.widgets.lane_focus import FADED_OPACITY, lane_of, set_focused_lane

    plot = _shown_sweep_plot(qtbot)
    x, y = np.array([16.0, 32.0]), np.array([1.0, 2.0])
    lanes = [(lane, name, x, y + lane, y + lane, y + lane) for lane, name in enumerate(("GD", "SGD", "Muon"))]
    plot.set_sweep(lanes, [], "batch size B", "items recovered", True, False)
    try:
        set_focused_lane(2)
        plot.show_lane_focus()
        samples = {lane_of(sample): round(sample.opacity(), 3) for sample, _label in plot.legend.items}
        assert samples == {0: round(FADED_OPACITY, 3), 1: round(FADED_OPACITY, 3), 2: 1.0}
    finally:
        set_focused_lane(None)
