"""The debugger's widgets alone: matrices and breakpoints in, user intents out as signals."""

import numpy as np
import pytest
from PySide6 import QtCore, QtWidgets

from muonscope.widgets.matrix_view import MatrixView, diverging_colormap
from muonscope.widgets.singular_values_plot import SingularValuesPlot


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
    assert _hover(view, 2.5, 1.5) == "row 1, col 2: 2.5"  # x is the column, y the row
    assert _hover(view, 0.2, 0.9) == "row 0, col 0: -2.5"
    assert _hover(view, 3.4, 0.5) == ""  # beside the matrix
    assert view.plot.getAxis("left").labelText == "output"


def test_matrix_hover_stays_inside_the_plot_and_goes_when_the_mouse_leaves(qtbot):
    view = _matrix_view(qtbot)
    view.set_matrix(np.ones((40, 40)), "W")
    frame = view.plot.getViewBox().sceneBoundingRect()
    for x, y in [(0.5, 0.5), (39.5, 0.5), (0.5, 39.5), (39.5, 39.5)]:  # the four corners
        assert _hover(view, x, y)
        qtbot.waitUntil(lambda: frame.contains(view.readout_label.sceneBoundingRect()))
    QtWidgets.QApplication.sendEvent(view.plot_widget, QtCore.QEvent(QtCore.QEvent.Type.Leave))
    assert view.readout == ""


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
    assert x0 <= 0 and x1 >= 128 and y0 <= 0 and y1 >= 128


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
    k, sigma = plot.applied
    assert k.tolist() == [1, 2, 3] and sigma.tolist() == [0.35, 0.3, 0.2]
    assert plot.reference[1].tolist() == [0.3] * 4
    assert plot.residual_text == "residual 0.18" and plot.placeholder is None
    (_x0, _x1), (y0, y1) = plot.plot.getViewBox().viewRange()
    assert y0 < np.log10(0.2) and y1 > np.log10(0.35)  # log axis: the range is in decades
    assert "σ = 0.35" in plot.hover.show_at(1, np.log10(0.35))


def test_singular_values_clear(qtbot):
    plot = SingularValuesPlot()
    qtbot.addWidget(plot)
    plot.set_spectra(np.ones(3), np.ones(3), "exact")
    plot.clear("no update before the first step")
    assert plot.applied[1].size == 0 and plot.reference[1].size == 0
    assert plot.residual_text == "" and plot.placeholder == "no update before the first step"
