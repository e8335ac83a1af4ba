"""The debugger's widgets alone: matrices and breakpoints in, user intents out as signals."""

import itertools
from dataclasses import replace

import numpy as np
import pytest
from PySide6 import QtCore, QtGui, QtWidgets

from muonscope.widgets.breakpoint_panel import BreakpointPanel
from muonscope.widgets.capacity_plot import CapacityPlot
from muonscope.widgets.inspector_panel import InspectorPanel, InspectRequest
from muonscope.widgets.matrix_view import MatrixView, diverging_colormap, index_tick_spacing
from muonscope.widgets.series_plot import SeriesPlot, drawn_data
from muonscope.widgets.singular_values_plot import SingularValuesPlot
from muonscope.widgets.theme import StageStyle
from muonscope.widgets.timeline import TIMELINE_MAX_PX, BranchMark, Timeline
from muonscope.widgets.transport_bar import TransportBar, TransportRanges

RANGES = TransportRanges(seed=(0, 999), step=(0, 10**9))  # the app passes the engine's bounds


def _matrix_view(qtbot) -> MatrixView:
    view = MatrixView()
    qtbot.addWidget(view)
    view.resize(500, 400)
    view.show()
    qtbot.waitExposed(view)
    return view


def _hover(view: MatrixView, x: float, y: float) -> str:
    """Move the mouse to view coordinates (x = column, y = row) and return the read-out shown."""
    scene_pos = view.plot.getViewBox().mapViewToScene(QtCore.QPointF(x, y))
    view.plot.scene().sigMouseMoved.emit(scene_pos)
    return view.readout


@pytest.mark.parametrize(
    ("values", "peak"),
    [
        (np.array([[0.5, -3.0], [1.0, 2.0]]), 3.0),  # the negative entry dominates
        (np.array([[4.0, -1.0, 0.25]]), 4.0),
        (np.array([[np.nan, -2.0], [np.inf, 1.0]]), 2.0),  # a diverged lane: scaled by what is finite
    ],
)
def test_matrix_colour_scale_is_symmetric_about_zero(qtbot, values, peak):
    view = _matrix_view(qtbot)
    view.set_matrix(values, "G")
    assert view.levels == (-peak, peak)
    assert tuple(view.image.getLevels()) == (-peak, peak)  # the image is drawn with the same scale
    assert view.colour_bar.isVisible()


def test_zero_is_white_and_a_zero_matrix_still_has_a_scale(qtbot):
    assert diverging_colormap().map(0.5, mode="qcolor").name() == "#ffffff"
    view = _matrix_view(qtbot)
    view.set_matrix(np.zeros((3, 3)), "W at step 0")
    assert view.levels == (-1.0, 1.0)


def test_matrix_hover_names_the_entry_under_the_mouse(qtbot):
    view = _matrix_view(qtbot)
    values = np.arange(6.0).reshape(2, 3) - 2.5
    view.set_matrix(values, "W", row_label="output", col_label="input")
    assert view.hover_text_at(1, 2) == "row 1, col 2: 2.5"
    assert view.hover_text_at(0, 0) == "row 0, col 0: -2.5"
    assert view.hover_text_at(2, 0) == "" and view.hover_text_at(0, -1) == ""
    assert _hover(view, 2.0, 1.0) == "row 1, col 2: 2.5"  # x is the column, y the row
    assert _hover(view, -0.3, 0.4) == "row 0, col 0: -2.5"  # entry (0, 0) is the cell around (0, 0)
    assert _hover(view, 2.6, 0.0) == ""  # beside the matrix
    assert view.plot.getAxis("left").labelText == "output"


def test_matrix_hover_stays_inside_the_plot_and_goes_when_the_mouse_leaves(qtbot):
    view = _matrix_view(qtbot)
    view.set_matrix(np.ones((40, 40)), "W")
    frame = view.plot.getViewBox().sceneBoundingRect()
    for x, y in [(0, 0), (39, 0), (0, 39), (39, 39)]:  # the four corners
        assert _hover(view, x, y)
        qtbot.waitUntil(lambda: frame.contains(view.readout_label.sceneBoundingRect()))
    QtWidgets.QApplication.sendEvent(view.plot_widget, QtCore.QEvent(QtCore.QEvent.Type.Leave))
    assert view.readout == ""


@pytest.mark.parametrize("width", [300, 190])  # the read-out wider than half the plot; than all of it
def test_matrix_hover_stays_inside_a_narrow_plot(qtbot, width):
    view = _matrix_view(qtbot)
    view.resize(width, 420)
    box = view.plot.getViewBox()
    qtbot.waitUntil(lambda: box.sceneBoundingRect().right() < width)
    view.set_matrix(np.full((128, 128), -2.18408), "W")
    frame = box.sceneBoundingRect()
    for col in (0, 40, 60, 68, 90, 127):
        for row in (0, 61, 127):
            text = _hover(view, col, row)
            assert text == f"row {int(row)}, col {int(col)}: -2.18408"
            label = view.readout_label.sceneBoundingRect()
            assert frame.contains(label), (col, row, label, frame)


@pytest.mark.parametrize(("rows", "cols"), [(8, 8), (128, 128), (4, 64)])
def test_matrix_ticks_name_whole_indices_of_entries_that_exist(qtbot, rows, cols):
    """A wide dock shows room beside the square cells: no tick may name a column there."""
    view = _matrix_view(qtbot)
    view.resize(900, 300)
    view.set_matrix(np.ones((rows, cols)), "W")
    font = QtGui.QFontMetricsF(QtGui.QFont())
    for side, count in (("bottom", cols), ("left", rows)):
        axis = view.plot.getAxis(side)
        low, high = sorted(axis.range)
        length_px = axis.geometry().width() if side == "bottom" else axis.geometry().height()
        values = [v for _spacing, level in axis.tickValues(*axis.range, length_px) for v in level]
        assert values and all(0 <= v <= count - 1 and float(v).is_integer() for v in values), (side, values)
        label_px = font.horizontalAdvance(str(count - 1)) if side == "bottom" else font.height()
        gaps_px = np.diff(values) * length_px / (high - low)
        assert np.all(gaps_px >= label_px), (side, values)  # labels never run into each other
    assert view.hover_text_at(rows - 1, cols - 1) and not view.hover_text_at(rows, cols)


@pytest.mark.parametrize(
    ("count", "px_per_index", "label_px", "spacing"),
    [(128, 2.0, 30.0, 20), (128, 40.0, 30.0, 1), (8, 0.5, 30.0, 10), (2048, 0.2, 30.0, 200)],
)
def test_index_ticks_are_the_densest_round_spacing_whose_labels_fit(count, px_per_index, label_px, spacing):
    assert index_tick_spacing(count, px_per_index, label_px) == spacing


def test_matrix_clear_says_why_nothing_is_shown(qtbot):
    view = _matrix_view(qtbot)
    view.set_matrix(np.eye(4), "W at step 3")
    assert view.title == "W at step 3" and view.placeholder is None
    view.clear("pause the run to inspect")
    assert view.matrix is None and view.placeholder == "pause the run to inspect"
    assert not view.image.isVisible() and not view.colour_bar.isVisible()
    assert view.hover_text_at(0, 0) == "" and _hover(view, 0.5, 0.5) == ""


def test_matrix_keeps_the_zoom_for_the_same_shape_only(qtbot):
    view = _matrix_view(qtbot)
    view.set_matrix(np.eye(64), "W")
    box = view.plot.getViewBox()
    box.setRange(xRange=(10, 20), yRange=(10, 20), padding=0)
    zoomed = box.viewRange()
    view.set_matrix(2 * np.eye(64), "W")  # the next step: same entries stay in view
    assert box.viewRange() == zoomed
    view.set_matrix(np.eye(128), "W")
    (x0, x1), (y0, y1) = box.viewRange()
    assert x0 <= -0.5 and x1 >= 127.5 and y0 <= -0.5 and y1 >= 127.5  # every cell whole


def test_large_matrix_is_shown_whole_and_read_only(qtbot):
    view = _matrix_view(qtbot)
    values = np.random.default_rng(0).standard_normal((2048, 2048))
    view.set_matrix(values, "G")
    assert view.image.image.shape == (2048, 2048)
    assert view.levels == (-np.abs(values).max(), np.abs(values).max())
    assert not view.matrix.flags.writeable and values.flags.writeable


def test_singular_values_are_drawn_descending_without_round_off(qtbot):
    plot = SingularValuesPlot()
    qtbot.addWidget(plot)
    plot.set_spectra(np.array([0.2, 0.35, 1e-18, 0.3]), np.full(4, 0.3), "residual 0.18")
    k, sigma = plot.direction
    assert k.tolist() == [1, 2, 3] and sigma.tolist() == [0.35, 0.3, 0.2]
    assert plot.reference[1].tolist() == [0.3] * 4
    assert plot.residual_text == "residual 0.18" and plot.placeholder is None
    (x0, x1), (y0, y1) = plot.plot.getViewBox().viewRange()
    assert y0 < np.log10(0.2) and y1 > np.log10(0.35)  # log axis: the range is in decades
    assert x0 < 1 and x1 > 4 + 0.5  # the last k's point whole, not halved by the plot's edge
    assert "σ = 0.35" in plot.hover.show_at(1, np.log10(0.35))


def test_the_singular_values_legend_sits_under_the_plot_not_on_the_data(qtbot):
    """Inside the plot's top right it lay on the exact polar factor's line at σ = 1."""
    plot = SingularValuesPlot()
    qtbot.addWidget(plot)
    plot.resize(520, 260)
    plot.show()
    qtbot.waitExposed(plot)
    plot.set_spectra(np.linspace(1.0, 0.01, 40), np.ones(40), "exact")
    QtWidgets.QApplication.processEvents()
    legend = plot.legend.sceneBoundingRect()
    view = plot.plot.getViewBox().sceneBoundingRect()
    assert plot.legend.isVisible() and legend.top() >= view.bottom()


@pytest.mark.parametrize(("width", "rows"), [(260, 2), (640, 1)])
def test_the_singular_values_legend_names_both_spectra_inside_the_plot(qtbot, width, rows):
    """In a narrow dock, side by side, the polar factor's name ran past the plot's edge."""
    plot = SingularValuesPlot()
    qtbot.addWidget(plot)
    plot.resize(width, 320)
    plot.show()
    qtbot.waitExposed(plot)
    plot.set_spectra(np.ones(3), np.ones(3), "exact", ("D: the lane's direction", "exact polar factor of D"))
    QtWidgets.QApplication.processEvents()
    assert plot.legend_rows == rows
    for _sample, label in plot.legend.items:
        assert 0 <= label.item.sceneBoundingRect().right() <= plot.plot_widget.viewport().width()


def test_the_singular_values_plot_narrowed_stays_inside_its_view(qtbot):
    """Laid out for the legend on one row, then narrowed with it on two, the plot stayed as wide as
    before: cut at k = 21 of 32, and its axes drawn stale over the plot once it grew again."""
    plot = SingularValuesPlot()
    qtbot.addWidget(plot)
    plot.resize(640, 320)
    plot.show()
    qtbot.waitExposed(plot)
    names = ("D: the lane's direction", "exact polar factor of D")
    plot.set_spectra(np.ones(32), np.ones(32), "exact", names)
    plot.resize(260, 320)
    qtbot.waitUntil(lambda: plot.legend_rows == 2)
    view = plot.plot_widget.viewport().width()
    assert plot.plot.geometry().width() <= view
    assert plot.plot.getViewBox().sceneBoundingRect().right() <= view  # k = 32 on screen


def test_a_short_inspector_keeps_the_spectrum_readable_beside_the_heat_map(qtbot):
    """In a 1024×700 window the σ_k plot's data was squeezed to a strip 50 px tall under its two
    legend rows, its axis title cut to "⋮", while the heat map kept three fifths of the height."""
    panel, _ = _inspector(qtbot)
    panel.resize(280, 560)
    panel.show()
    qtbot.waitExposed(panel)
    values = np.random.default_rng(0).standard_normal((32, 32))
    sigma = np.linalg.svd(values, compute_uv=False)
    names = ("D: the lane's direction", "exact polar factor of D")
    panel.show_result(values, "W", sigma, np.ones(32), "exact", "info", spectra_names=names)
    qtbot.waitUntil(lambda: panel.spectrum.legend_rows == 2)
    QtWidgets.QApplication.processEvents()
    assert panel.spectrum.plot.getViewBox().height() >= 85
    assert panel.matrix_view.height() >= 160  # the heat map gives way, not away


def test_singular_values_clear(qtbot):
    plot = SingularValuesPlot()
    qtbot.addWidget(plot)
    plot.set_spectra(np.ones(3), np.ones(3), "exact")
    plot.clear("no update before the first step")
    assert plot.direction[1].size == 0 and plot.reference[1].size == 0
    assert plot.residual_text == "" and plot.placeholder == "no update before the first step"


def _inspector(qtbot, lanes=("Muon", "SGD", "Adam")) -> tuple[InspectorPanel, list]:
    panel = InspectorPanel()
    qtbot.addWidget(panel)
    panel.set_lanes(list(lanes))
    requests = []
    panel.request_changed.connect(requests.append)
    return panel, requests


def test_inspector_emits_one_request_per_user_change(qtbot):
    panel, requests = _inspector(qtbot)
    assert panel.request == InspectRequest(lane=0, tensor="W", minus_lane=None, task_coordinates=False)
    qtbot.keyClick(panel.lane_combo, QtCore.Qt.Key.Key_Down)
    assert requests == [InspectRequest(1, "W", None, False)]
    panel.tensor_combo.setCurrentIndex(panel.tensor_combo.findData("update"))
    panel.minus_combo.setCurrentIndex(panel.minus_combo.findData(2))
    panel.task_coordinates_box.click()
    assert requests[1:] == [
        InspectRequest(1, "update", None, False),
        InspectRequest(1, "update", 2, False),
        InspectRequest(1, "update", 2, True),
    ]
    assert requests[-1] == panel.request


def test_inspector_never_subtracts_a_lane_from_itself(qtbot):
    panel, requests = _inspector(qtbot)
    panel.minus_combo.setCurrentIndex(panel.minus_combo.findData(1))
    assert not panel.minus_combo.model().item(1).isEnabled()  # lane 0 is the one shown
    qtbot.keyClick(panel.lane_combo, QtCore.Qt.Key.Key_Down)  # now lane 1 minus lane 1: the difference goes
    assert requests == [InspectRequest(0, "W", 1, False), InspectRequest(1, "W", None, False)]
    assert panel.minus_combo.model().item(1).isEnabled() and not panel.minus_combo.model().item(2).isEnabled()


def test_inspector_set_lanes_keeps_the_selection_and_emits_nothing(qtbot):
    panel, requests = _inspector(qtbot)
    panel.lane_combo.setCurrentIndex(2)
    panel.minus_combo.setCurrentIndex(panel.minus_combo.findData(1))
    requests.clear()
    with qtbot.assertNotEmitted(panel.request_changed):
        panel.set_lanes(["Muon", "SGD", "Adam", "SignGD"])
        assert panel.request == InspectRequest(2, "W", 1, False)
        assert panel.lane_combo.itemData(3, QtCore.Qt.ItemDataRole.ToolTipRole) == "SignGD"
        panel.set_lanes(["Muon", "SGD"])  # the lane shown is gone: back to the first
        assert panel.request == InspectRequest(0, "W", 1, False)
        panel.set_lanes(["Muon"])
        assert panel.request == InspectRequest(0, "W", None, False)
    qtbot.keyClick(panel.tensor_combo, QtCore.Qt.Key.Key_Down)  # the next user change is still reported
    assert requests == [InspectRequest(0, "G", None, False)]


def test_inspector_task_coordinates_can_be_refused_with_a_reason(qtbot):
    panel, requests = _inspector(qtbot)
    panel.task_coordinates_box.click()
    assert requests == [InspectRequest(0, "W", None, True)]
    with qtbot.assertNotEmitted(panel.request_changed):
        panel.set_task_coordinates_available(False, "this task has no embeddings")
    box = panel.task_coordinates_box
    assert not box.isEnabled() and box.toolTip() == "this task has no embeddings"
    assert not panel.request.task_coordinates
    panel.set_task_coordinates_available(True, "")
    assert box.isEnabled() and "ẼᵀXE" in box.toolTip()


def test_inspector_tensor_choices_explain_themselves(qtbot):
    panel, _requests = _inspector(qtbot)
    tips = {
        panel.tensor_combo.itemData(i): panel.tensor_combo.itemData(i, QtCore.Qt.ItemDataRole.ToolTipRole)
        for i in range(panel.tensor_combo.count())
    }
    assert list(tips) == ["W", "G", "M", "update"]
    assert "gradient" in tips["G"] and "momentum" in tips["M"] and "−lr·D" in tips["update"]


def test_inspector_shows_a_result_or_a_message(qtbot):
    panel, _requests = _inspector(qtbot)
    matrix = np.array([[1.0, -2.0], [0.5, 0.0]])
    panel.set_step(800)
    panel.show_result(matrix, "update, lane 1", np.array([1.2, 0.8]), np.ones(2), "residual 0.2", "2×2")
    assert panel.step == 800 and panel.step_label.text() == "step 800"
    assert np.array_equal(panel.matrix_view.matrix, matrix) and panel.matrix_view.title == "update, lane 1"
    assert (
        panel.spectrum.direction[1].tolist() == [1.2, 0.8] and panel.spectrum.residual_text == "residual 0.2"
    )
    assert panel.info_text == "2×2" and panel.message is None
    panel.show_result(matrix, "W, lane 1", None, None, "spectra are shown for the update", "2×2")
    assert panel.spectrum.placeholder == "spectra are shown for the update"
    panel.show_message("replaying 800 steps…")
    assert panel.message == "replaying 800 steps…" and panel.matrix_view.matrix is None
    assert panel.spectrum.direction[1].size == 0 and panel.info_text == ""


def test_inspector_long_texts_do_not_widen_it(qtbot):
    panel, _requests = _inspector(qtbot)
    narrow = panel.minimumSizeHint().width()
    long = "lane 1 minus lane 2 · update −lr·D · " * 40
    panel.show_result(np.eye(3), long, np.ones(3), np.ones(3), "residual 0", long)
    assert panel.minimumSizeHint().width() == narrow
    assert panel.info_label.toolTip() == long  # the whole line is still there to read
    panel.resize(900, 400)
    panel.show()
    qtbot.waitExposed(panel)
    title = panel.matrix_view.findChild(QtWidgets.QLabel, "title")
    assert title.width() >= panel.matrix_view.width() // 2  # cut at the edge, not squeezed away


@pytest.mark.parametrize(("width", "arrangement"), [(260, "narrow"), (720, "wide")])
def test_the_inspector_controls_stay_whole_in_a_narrow_dock(qtbot, width, arrangement):
    """On two rows its controls held the inspector 477 pixels wide at least, and a window with it as a
    tab in the controls' place 1210 wide; narrow, they take four rows, none cut or overlapping."""
    panel, _requests = _inspector(qtbot, lanes=("Muon pre μ=0.95 ema exact lr=0.3", "SGD μ=0.9 sum lr=128"))
    assert panel.minimumSizeHint().width() <= 260  # the controls dock's least width
    panel.resize(width, 720)
    panel.show()
    qtbot.waitExposed(panel)
    qtbot.waitUntil(lambda: panel.arrangement == arrangement)
    controls = (
        panel.lane_combo,
        panel.tensor_combo,
        panel.minus_combo,
        panel.task_coordinates_box,
        panel.step_label,
    )
    for control in controls:
        box = control.geometry()
        assert box.left() >= 0 and box.right() < panel.width()
        assert box.width() >= control.minimumSizeHint().width()
    for one, other in itertools.combinations(controls, 2):
        assert not one.geometry().intersects(other.geometry())
    rows = {control.geometry().center().y() for control in controls}
    assert len(rows) == (4 if arrangement == "narrow" else 2)


BREAKPOINTS = [("loss < 0.5", True), ("1:recovered >= 300", False), ("Muon:alignment > 0.9", True)]


def _breakpoints(qtbot) -> BreakpointPanel:
    panel = BreakpointPanel()
    qtbot.addWidget(panel)
    panel.set_breakpoints(BREAKPOINTS)
    return panel


def test_breakpoint_add_asks_and_the_answer_clears_the_entry(qtbot):
    panel = _breakpoints(qtbot)
    qtbot.keyClicks(panel.edit, "  diverged ")
    with qtbot.waitSignal(panel.add_requested) as added:
        qtbot.keyClick(panel.edit, QtCore.Qt.Key.Key_Return)
    assert added.args == ["diverged"]
    assert panel.items == BREAKPOINTS  # nothing is added until the app answers
    with qtbot.assertNotEmitted(panel.enabled_changed), qtbot.assertNotEmitted(panel.add_requested):
        panel.set_breakpoints([*BREAKPOINTS, ("diverged", True)])
    assert panel.items == [*BREAKPOINTS, ("diverged", True)] and panel.edit.text() == ""
    with qtbot.assertNotEmitted(panel.add_requested):
        panel.add_button.click()  # nothing typed: nothing to ask


def test_breakpoint_refusal_keeps_the_text_until_it_is_edited(qtbot):
    panel = _breakpoints(qtbot)
    qtbot.keyClicks(panel.edit, "los < 1")
    with qtbot.waitSignal(panel.add_requested):
        panel.add_button.click()
    panel.show_error("unknown metric 'los'")
    assert panel.error == "unknown metric 'los'" and panel.edit.text() == "los < 1"
    panel.set_breakpoints(BREAKPOINTS)  # e.g. another breakpoint was toggled meanwhile
    assert panel.edit.text() == "los < 1" and panel.error == ""
    panel.show_error("unknown metric 'los'")
    qtbot.keyClicks(panel.edit, "s")
    assert panel.error == ""


def test_breakpoint_enable_and_remove_ask_by_index(qtbot):
    panel = _breakpoints(qtbot)
    assert not panel.remove_button.isEnabled()  # nothing selected
    with qtbot.waitSignal(panel.enabled_changed) as toggled:
        panel.list_widget.item(1).setCheckState(QtCore.Qt.CheckState.Checked)
    assert toggled.args == [1, True]
    panel.list_widget.setCurrentRow(2)
    with qtbot.waitSignal(panel.remove_requested) as removed:
        panel.remove_button.click()
    assert removed.args == [2]


def test_breakpoint_that_fired_is_marked(qtbot):
    panel = _breakpoints(qtbot)
    with qtbot.assertNotEmitted(panel.enabled_changed):
        panel.highlight(2)
    assert panel.highlighted == 2
    assert [panel.list_widget.item(row).font().bold() for row in range(3)] == [False, False, True]
    panel.highlight(None)
    assert panel.highlighted is None and not panel.list_widget.item(2).font().bold()
    panel.highlight(0)
    panel.set_breakpoints(BREAKPOINTS[1:])  # indices moved: the mark would point at another one
    assert panel.highlighted is None and not panel.list_widget.item(0).font().bold()


def test_a_long_breakpoint_wraps_inside_a_narrow_panel(qtbot):
    """A lane's whole label put the operator and the number past the dock's edge, behind a scroll bar."""
    panel = BreakpointPanel()
    qtbot.addWidget(panel)
    panel.resize(300, 400)
    panel.show()
    qtbot.waitExposed(panel)
    text = "Muon post μ=0.95 ema exact lr=0.3: loss < 0.85"
    panel.set_breakpoints([("diverged", True), (text, True)])
    QtWidgets.QApplication.processEvents()
    short, long = (panel.list_widget.visualItemRect(panel.list_widget.item(i)) for i in range(2))
    assert long.right() <= panel.list_widget.viewport().width()
    assert long.height() > short.height()  # on two lines or more, whole
    assert panel.list_widget.item(1).toolTip() == text


def test_breakpoint_note_explains_the_grammar(qtbot):
    note = _breakpoints(qtbot).note_label.text()
    assert "[LANE:]METRIC OP NUMBER" in note and "diverged" in note and "run.eval_every" in note


def test_transport_go_to_asks_for_the_typed_step(qtbot):
    bar = TransportBar(RANGES)
    qtbot.addWidget(bar)
    bar.resize(1600, 40)  # wide enough that no widget is folded into the overflow menu
    bar.show()
    qtbot.waitExposed(bar)
    bar.activateWindow()
    qtbot.waitUntil(bar.isActiveWindow)
    qtbot.keyClick(bar, QtCore.Qt.Key.Key_G, QtCore.Qt.KeyboardModifier.ControlModifier)
    assert bar.goto_spin.hasFocus()
    with qtbot.assertNotEmitted(bar.goto_requested):
        qtbot.keyClicks(bar.goto_spin, "250")  # typing alone goes nowhere
    with qtbot.waitSignal(bar.goto_requested) as went:
        qtbot.keyClick(bar.goto_spin, QtCore.Qt.Key.Key_Return)
    assert went.args == [250]
    bar.goto_spin.setValue(RANGES.step[1] + 1)  # held at the largest step the app allows
    with qtbot.waitSignal(bar.goto_requested) as went:
        bar.goto_action.trigger()
    assert went.args == [RANGES.step[1]]


@pytest.mark.parametrize("target", ["box", "line edit"])
def test_a_bad_step_entered_in_go_to_is_refused_not_taken_for_the_value_in_force(qtbot, target):
    """Enter sent to the box's line edit was fixed up there first: "-3" read as the 25 in force,
    and the run went back to step 25 without a word."""
    bar = TransportBar(RANGES)
    qtbot.addWidget(bar)
    bar.resize(1600, 40)
    bar.show()
    qtbot.waitExposed(bar)
    bar.goto_spin.setValue(25)
    receiver = bar.goto_spin if target == "box" else bar.goto_spin.lineEdit()
    for bad in ("-3", "4x"):
        bar.goto_spin.setFocus()
        bar.goto_spin.selectAll()
        qtbot.keyClicks(receiver, bad)
        with qtbot.assertNotEmitted(bar.goto_requested), qtbot.waitSignal(bar.entry_refused) as refused:
            qtbot.keyClick(receiver, QtCore.Qt.Key.Key_Return)
        assert refused.args[:2] == ["go to step", bad] and bar.goto_spin.value() == 25
    bar.goto_spin.selectAll()
    qtbot.keyClicks(receiver, "30")
    with qtbot.waitSignal(bar.goto_requested) as went:
        qtbot.keyClick(receiver, QtCore.Qt.Key.Key_Return)
    assert went.args == [30]


def _timeline(qtbot) -> Timeline:
    line = Timeline()
    qtbot.addWidget(line)
    line.resize(700, 70)
    line.show()
    qtbot.waitExposed(line)
    line.set_extent(100)
    return line


def _click_at_step(qtbot, line: Timeline, step: float) -> None:
    box = line.plot.getViewBox()
    scene_pos = box.mapViewToScene(QtCore.QPointF(step, 0.5))
    point = line.plot_widget.mapFromScene(scene_pos)
    qtbot.mouseClick(line.plot_widget.viewport(), QtCore.Qt.MouseButton.LeftButton, pos=point)


def test_timeline_draws_branches_from_fork_to_head(qtbot):
    line = _timeline(qtbot)
    marks = [
        BranchMark("main", 0, 100, current=False),
        BranchMark("lr 0.1 @40", 40, 90, current=True),
        BranchMark("seed 2 @60", 60, 75, current=False),
    ]
    line.set_branches(marks)
    assert line.branches == tuple(marks)
    x, y = drawn_data(line.current_branch_curve)
    assert x.tolist() == [40, 90] and y[0] == y[1]
    x, y = drawn_data(line.other_branch_curve)
    assert x.tolist() == [0, 100, 60, 75] and len(set(y.tolist())) == 2  # each branch on a line of its own
    assert y[0] not in drawn_data(line.current_branch_curve)[1]
    assert sorted(line.fork_markers.getData()[0].tolist()) == [0, 40, 60]
    assert [label.toPlainText() for label in line.branch_labels] == [mark.label for mark in marks]
    line.set_branches(marks[:1])
    assert len(line.branch_labels) == 1 and drawn_data(line.current_branch_curve)[0].size == 0
    line.reset()
    assert line.branches == () and line.branch_labels == []


def _close_forks(count: int) -> list[BranchMark]:
    """main and ``count`` forks a few steps apart, the newest current: their lines lie pixels apart."""
    forks = [
        BranchMark(f"fork {i} at step {40 + 3 * i}", 40 + 3 * i, 70 + 4 * i, i == count)
        for i in range(1, count + 1)
    ]
    return [BranchMark("main", 0, 100, False), *forks]


def _line_bands(line: Timeline) -> dict[str, QtCore.QRectF]:
    """Each branch's line in scene pixels, by its name (the names' tooltips map them)."""
    box = line.plot.getViewBox()
    bands = {}
    for curve in (line.current_branch_curve, line.other_branch_curve):
        xs, ys = drawn_data(curve)
        for x0, x1, y in zip(xs[::2], xs[1::2], ys[::2], strict=True):
            left = box.mapViewToScene(QtCore.QPointF(x0, y))
            right = box.mapViewToScene(QtCore.QPointF(x1, y))
            name = _tooltip_at(line, (x0 + x1) / 2, y).split(":")[0]
            bands[name] = QtCore.QRectF(left.x(), left.y() - 1, right.x() - left.x(), 2)
    return bands


def _tooltip_at(line: Timeline, step: float, y: float) -> str:
    """The tooltip a hover at (step, y) shows: that of the topmost item there that has one."""
    scene_pos = line.plot.getViewBox().mapViewToScene(QtCore.QPointF(step, y))
    return next((item.toolTip() for item in line.plot.scene().items(scene_pos) if item.toolTip()), "")


@pytest.mark.parametrize("count", [1, 3, 6])
def test_timeline_writes_branch_names_over_no_other_line_or_name(qtbot, count):
    line = _timeline(qtbot)
    marks = _close_forks(count)
    line.set_branches(marks)
    bands = _line_bands(line)
    assert sorted(bands) == sorted(mark.label for mark in marks)  # every line's hover names its branch
    shown = {
        label.toPlainText(): label.mapRectToScene(label.boundingRect())
        for label in line.branch_labels
        if label.isVisible()
    }
    assert marks[-1].label in shown  # the current branch is always named
    area = line.plot.getViewBox().sceneBoundingRect()
    for name, rect in shown.items():
        assert area.contains(rect), name
        assert not any(rect.intersects(band) for other, band in bands.items() if other != name), name
        assert not any(rect.intersects(r) for other, r in shown.items() if other != name), name
    if count == 1:
        assert len(shown) == 2  # room for both: nothing is left out needlessly
        main = bands["main"].center()
        data = line.plot.getViewBox().mapSceneToView(main)
        # the window has a Branch menu, not the "branches list" a hover sent the user to
        assert _tooltip_at(line, data.x(), data.y()) == "main: steps 0–100 (switch to it in the Branch menu)"


def test_a_branch_named_past_the_lines_beside_it_is_led_to_its_name(qtbot):
    """Four branches: fork 1, between main and fork 2, was named only past main's end, where the
    name read as main's; a dotted leader runs from its head to its name, and none elsewhere."""
    line = _timeline(qtbot)
    line.set_extent(250)
    marks = [
        BranchMark("main", 0, 200, False),
        BranchMark("fork 1 at step 100", 100, 160, False),
        BranchMark("fork 2 at step 130", 130, 180, False),
        BranchMark("fork 3 at step 50", 50, 120, True),
    ]
    line.set_branches(marks)
    shown = {label.toPlainText(): label for label in line.branch_labels if label.isVisible()}
    assert set(shown) == {mark.label for mark in marks}  # every branch named: there is room
    x, y = drawn_data(line.name_leaders)
    assert x.size == 2  # one leader: fork 1's
    box = line.plot.getViewBox()
    for start, end, height in zip(x[::2], x[1::2], y[::2], strict=True):
        (mark,) = [m for m in marks if m.head_step == pytest.approx(start)]  # from a head...
        name = shown[mark.label].mapRectToScene(shown[mark.label].boundingRect())
        assert box.mapViewToScene(QtCore.QPointF(end, height)).x() == pytest.approx(
            name.left()
        )  # ...to its name
    line.set_branches(marks[:2])  # room beside each line: no leader
    assert drawn_data(line.name_leaders)[0].size == 0


@pytest.mark.parametrize("current", [0, 2, 4])
def test_timeline_names_the_current_branch_wherever_it_stands_among_close_forks(qtbot, current):
    """On fork 2 of six close forks no place was clear of the lines around it: the branch the run is
    on went unnamed, and fork 3's name, just above it, read as its own."""
    line = _timeline(qtbot)
    marks = [replace(mark, current=i == current) for i, mark in enumerate(_close_forks(6))]
    line.set_branches(marks)
    shown = {
        label.toPlainText(): label.mapRectToScene(label.boundingRect())
        for label in line.branch_labels
        if label.isVisible()
    }
    name = marks[current].label
    assert name in shown
    assert not any(shown[name].intersects(rect) for other, rect in shown.items() if other != name)
    assert line.plot.getViewBox().sceneBoundingRect().contains(shown[name])


def test_timeline_places_branch_names_again_when_it_narrows(qtbot):
    line = _timeline(qtbot)
    line.set_branches(_close_forks(3))
    line.resize(400, 70)  # a data area some 220 px wide: room for two names of the four
    qtbot.waitUntil(lambda: line.plot.getViewBox().sceneBoundingRect().width() < 300)
    area = line.plot.getViewBox().sceneBoundingRect()
    shown = [label.mapRectToScene(label.boundingRect()) for label in line.branch_labels if label.isVisible()]
    assert shown and all(area.contains(rect) for rect in shown)


def test_timeline_draws_the_current_branch_as_far_as_the_run_has_gone(qtbot):
    line = _timeline(qtbot)
    line.set_branches([BranchMark("main", 0, 60, current=False), BranchMark("fork", 30, 30, current=True)])
    line.extend_current_branch(80)
    assert [(b.label, b.fork_step, b.head_step) for b in line.branches] == [("main", 0, 60), ("fork", 30, 80)]
    assert drawn_data(line.current_branch_curve)[0].tolist() == [30, 80]
    assert drawn_data(line.other_branch_curve)[0].tolist() == [0, 60]
    assert line.plot.getViewBox().viewRange()[0][1] >= 80
    line.extend_current_branch(50)  # a rewind: the branch keeps the steps after it
    assert line.branches[1].head_step == 80


def test_timeline_marks_the_engine_apart_from_the_cursor(qtbot):
    line = _timeline(qtbot)
    line.set_cursor(30)
    line.set_engine_step(80)
    assert line.engine_step == 80 and line.engine_marker.getData()[0].tolist() == [80]
    assert line.cursor.value() == 30
    line.set_engine_step(None)
    assert line.engine_step is None and line.engine_marker.getData()[0].size == 0


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_the_timeline_cursor_under_the_pointer_takes_the_themes_text_colour_not_red(qtbot, theme):
    """pyqtgraph's hover pen is red: the cursor turned red under the pointer and stayed so."""
    line = _timeline(qtbot)
    style = StageStyle(1.5, theme)
    line.apply_style(style)
    hover = line.cursor.hoverPen
    assert hover.color().name() == QtGui.QColor(style.colours.foreground).name()
    assert hover.widthF() > line.cursor.pen.widthF()  # thicker: ready to drag


def test_timeline_click_moves_the_cursor_and_asks_for_the_step(qtbot):
    line = _timeline(qtbot)
    assert line.live
    seen = []
    line.cursor_dragged.connect(lambda step: seen.append(("cursor_dragged", step)))
    line.step_requested.connect(lambda step: seen.append(("step_requested", step)))
    with qtbot.assertNotEmitted(line.live_toggled):
        _click_at_step(qtbot, line, 30)
    assert seen == [("cursor_dragged", 30), ("step_requested", 30)]
    assert line.cursor.value() == 30 and not line.live
    with qtbot.waitSignal(line.step_requested) as requested:
        _click_at_step(qtbot, line, 115)  # past the newest step (the axis shows up to 120)
    assert requested.args == [100] and line.cursor.value() == 100


def test_timeline_stays_small(qtbot):
    line = _timeline(qtbot)
    line.set_branches([BranchMark("main", 0, 100, current=True)])
    assert line.sizeHint().height() <= 72 and line.height() <= 72


def test_page_up_and_down_step_through_the_presets_past_their_headings(qtbot):
    bar = TransportBar(RANGES)
    qtbot.addWidget(bar)
    bar.set_presets([("a", "A", "muonscope"), ("b", "B", "muonscope"), ("c", "C", "Kim et al.")])
    bar.set_preset("b")
    chosen, ends = [], []
    bar.preset_chosen.connect(chosen.append)
    bar.presets_end_reached.connect(ends.append)
    bar.next_preset_action.trigger()  # over the separator and the "— Kim et al. —" heading
    bar.next_preset_action.trigger()  # nothing after the last
    assert ends == ["C is the last preset"]
    bar.previous_preset_action.trigger()
    bar.previous_preset_action.trigger()
    bar.previous_preset_action.trigger()  # nothing before the first
    assert chosen == ["c", "b", "a"]
    assert bar.preset_combo.currentData() == "a"
    assert ends == ["C is the last preset", "A is the first preset"]


def _ranges(panel) -> tuple[list[float], list[float]]:
    return panel.plot.getViewBox().viewRange()


@pytest.mark.parametrize("kind", ["series", "capacity"])
def test_a_compared_branch_that_ran_further_and_higher_is_drawn_whole(qtbot, kind):
    """After a fork at step 100 of a 300-step run, the new branch (at 150) set the axes; the
    original branch, drawn faint beside it, was cut off past step 165 and above the new one's top."""
    panel = SeriesPlot("② over time", [("gap", "gap")]) if kind == "series" else CapacityPlot()
    qtbot.addWidget(panel)
    panel.set_lanes(["SGD"])
    steps = np.arange(0, 151, 10.0)
    if kind == "series":
        panel.set_series(0, steps, np.linspace(0.0, 1.0, steps.size))
        panel.set_faded(0, np.arange(0, 301, 10.0), np.linspace(0.0, 3.0, 31))
    else:
        panel.set_capacity(0, steps, np.linspace(0.0, 100.0, steps.size), np.linspace(0, 0.1, steps.size))
        panel.set_faded(0, np.arange(0, 301, 10.0), np.linspace(0.0, 300.0, 31))
    (x_lo, x_hi), (y_lo, y_hi) = _ranges(panel)
    top = 3.0 if kind == "series" else 300.0
    assert x_lo <= 0 and x_hi >= 300
    assert y_lo <= 0 and y_hi >= top


def test_a_run_of_its_own_settings_shows_as_such_not_as_a_group_heading(qtbot):
    """A config file's run showed "— muonscope —", the first heading, as if it had been picked."""
    bar = TransportBar(RANGES)
    qtbot.addWidget(bar)
    bar.set_presets([("a", "A", "muonscope"), ("b", "B", "Kim et al.")])
    bar.set_preset("s1")
    assert bar.preset_combo.currentIndex() == -1 and bar.preset_combo.shown_text == "s1 · own settings"
    chosen = []
    bar.preset_chosen.connect(chosen.append)
    bar.next_preset_action.trigger()  # from no preset, PageDown takes the first
    assert chosen == ["a"] and bar.preset_combo.shown_text == "A"
    bar.set_preset("b")
    assert bar.preset_combo.currentData() == "b" and bar.preset_combo.shown_text == "B"


def test_the_play_button_keeps_its_width_when_it_says_pause(qtbot):
    """At 1280 px the wider "pause" pushed the last button into the toolbar's overflow menu."""
    bar = TransportBar(RANGES)
    qtbot.addWidget(bar)
    bar.show()
    button = bar.widgetForAction(bar.play_action)

    def width_asked_px() -> int:  # what the toolbar's layout gives the button
        return max(button.sizeHint().width(), button.minimumWidth())

    saying_play_px = width_asked_px()
    bar.set_playing(True)
    assert bar.play_action.text() == "pause" and width_asked_px() == saying_play_px


@pytest.mark.parametrize("width", [650, 850])
def test_a_current_fork_ending_at_the_cursor_is_named_above_its_line(qtbot, width):
    """main to 62, fork 1 from 30 to 50, fork 2 from 40 to 60 (current, the newest step): with no
    room right of its head, its name goes above its line, which stood too near the strip's top for
    it in a 1280 px window."""
    line = Timeline()
    qtbot.addWidget(line)
    line.apply_style(StageStyle())  # the desk's, as the window applies it
    line.resize(width, 70)
    line.show()
    qtbot.waitExposed(line)
    line.set_extent(62)  # the axis ends just past main's newest step
    marks = [BranchMark("main", 0, 62, False), BranchMark("fork 1 at step 30", 30, 50, False)]
    marks.append(BranchMark("fork 2 at step 40", 40, 60, True))
    line.set_branches(marks)
    # laid out: the strip spans the width less the live button, the step and room for the end labels
    qtbot.waitUntil(lambda: abs(line.plot.getViewBox().sceneBoundingRect().width() - width) < 260)
    shown = [label.toPlainText() for label in line.branch_labels if label.isVisible()]
    assert "fork 2 at step 40" in shown


def test_marks_at_step_0_lie_wholly_inside_the_timeline(qtbot):
    """A lane added before the first step drew its ▼ centred on the plot's left edge, cut in half;
    the engine's ▲ at step 0 likewise. Marks further on stay on their steps."""
    line = _timeline(qtbot)
    line.set_events([0, 50])
    line.set_engine_step(0)
    box = line.plot.getViewBox()
    left = box.sceneBoundingRect().left()
    for marks, size in ((line.change_marks, 9), (line.engine_marker, 11)):
        x = marks.getData()[0][0]
        assert box.mapViewToScene(QtCore.QPointF(x, 0.5)).x() - size / 2 >= left - 0.5
    assert line.change_marks.getData()[0][1] == 50


def test_a_name_above_its_line_starts_clear_of_the_change_mark_over_its_fork(qtbot):
    """The ▼ of the change that forked a branch stands over the fork step: the name written from
    the fork had its first letter under it."""
    line = _timeline(qtbot)
    line.set_events([40])
    line.set_branches([BranchMark("main", 0, 100, False), BranchMark("fork 1 at step 40", 40, 90, True)])
    (label,) = [label for label in line.branch_labels if label.toPlainText() == "fork 1 at step 40"]
    assert label.isVisible()
    box = line.plot.getViewBox()
    mark_x = box.mapViewToScene(QtCore.QPointF(line.change_marks.getData()[0][0], 0.5)).x()
    half_mark_px = line.change_marks.opts["size"] / 2
    assert label.mapRectToScene(label.boundingRect()).left() >= mark_x + half_mark_px


def test_six_branches_get_a_taller_timeline_with_their_lines_apart(qtbot):
    """Six branches of a forked session stood 4 px apart in the 70 px strip: the lines nearly touched,
    and names found no place clear of them."""
    line = _timeline(qtbot)
    line.set_extent(70)
    spans = [(0, 30), (10, 40), (25, 50), (20, 60), (30, 45), (20, 35)]
    marks = [
        BranchMark(f"fork {i} at step {start}" if i else "main", start, head, i == 2)
        for i, (start, head) in enumerate(spans)
    ]
    line.set_branches(marks[:4])
    four_px = line.plot_widget.height()
    line.set_branches(marks)
    qtbot.waitUntil(lambda: line.plot_widget.height() > four_px, timeout=5000)
    qtbot.waitUntil(lambda: line.plot.getViewBox().sceneBoundingRect().height() > four_px - 30, timeout=5000)
    heights = sorted({round(band.center().y(), 1) for band in _line_bands(line).values()})
    assert len(heights) == 6 and min(b - a for a, b in itertools.pairwise(heights)) >= 8  # was 4.5 px
    many = [BranchMark("main", 0, 30, False)] + [BranchMark(f"f{i}", i, 30, i == 1) for i in range(1, 30)]
    line.set_branches(many)
    assert line.plot_widget.height() <= TIMELINE_MAX_PX  # the panels keep the rest of the window
