"""The stage's readability: decade labels, smoothed per-class error, noise floor, markers, lane key."""

import contextlib
import itertools
import re

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6 import QtCore, QtGui, QtWidgets

from muonscope.widgets.axes import DecadeAxis, minor_mantissas
from muonscope.widgets.capacity_plot import CapacityPlot
from muonscope.widgets.class_error_plot import ClassErrorPlot, smooth_by_rank
from muonscope.widgets.lane_key import LaneKey, LaneKeyEntry
from muonscope.widgets.matrix_view import MatrixView
from muonscope.widgets.spectrum_plot import EDGE_PX, NUMERICAL_ZERO, SpectrumPlot
from muonscope.widgets.theme import StageStyle, lane_pen, set_stage_style


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_smoothing_is_the_mean_over_a_window_of_ranks(dtype):
    errors = np.random.default_rng(0).random(500).astype(dtype)
    smooth = smooth_by_rank(errors, 1.25)
    for rank in (1, 2, 7, 64, 333, 500):
        first, last = int(np.ceil(rank / 1.25)), min(int(np.floor(rank * 1.25)), 500)
        expected = errors[first - 1 : last].astype(float).mean()
        assert smooth[rank - 1] == pytest.approx(expected, rel=1e-6 if dtype == np.float32 else 1e-12)
    assert smooth[0] == pytest.approx(float(errors[0]))  # the head is not averaged with anything


def test_per_class_error_draws_the_raw_values_as_faint_dots_under_the_smoothed_curve(qtbot):
    plot = ClassErrorPlot()
    qtbot.addWidget(plot)
    plot.set_lanes(["a"])
    plot.set_mode("view", "curves")  # 1 − p̂(correct)
    errors = (np.arange(1000) % 2).astype(float)  # a hatch: 0, 1, 0, 1, …
    plot.set_errors(0, errors)
    drawn = [i for i in plot.plot.listDataItems() if isinstance(i, pg.PlotDataItem) and i.yData is not None]
    raw = [item for item in drawn if np.array_equal(item.yData, errors)]
    smooth = [item for item in drawn if not np.array_equal(item.yData, errors)]
    assert len(raw) == 1 and len(smooth) == 1
    # the raw values are faint dots, not a line: a line zigzagging between 0 and 1 is the hatch
    assert raw[0].opts["pen"] is None and raw[0].opts["symbol"] == "o"
    assert pg.mkBrush(raw[0].opts["symbolBrush"]).color().alpha() < smooth[0].opts["pen"].color().alpha()
    assert np.all(np.abs(smooth[0].yData[100:] - 0.5) < 0.05)  # the tail's trend reads as 0.5


def test_a_long_smoothed_curve_is_drawn_from_its_pixels_and_exported_whole(qtbot):
    """At N = 65,536 the thick smoothed curve keeps only what each pixel column shows (a thick line
    costs per point: 25 ms a lane); the raw values, the hover and the CSV keep every rank."""
    plot = ClassErrorPlot()
    qtbot.addWidget(plot)
    plot.resize(700, 400)
    plot.show()
    qtbot.waitExposed(plot)
    plot.set_lanes(["a"])
    plot.set_mode("view", "curves")  # 1 − p̂(correct)
    n = 65536
    errors = (np.random.default_rng(0).random(n) < np.linspace(0, 1, n)).astype(float)
    plot.set_errors(0, errors)
    rank, mean = plot.smoothed_data(0)
    assert rank.size == n and np.allclose(mean, smooth_by_rank(errors))
    drawn = [i for i in plot.plot.listDataItems() if isinstance(i, pg.PlotDataItem) and i.yData is not None]
    curve = next(item for item in drawn if item.yData.size < n)
    columns = plot.plot.getViewBox().width() * plot.plot_widget.devicePixelRatioF()
    assert curve.yData.size <= 4 * columns + 4
    assert curve.yData.min() == mean.min() and curve.yData.max() == mean.max()
    assert curve.xData[0] == 1 and curve.xData[-1] == n  # it reaches both ends of the axis
    _names, rows = plot.data_table()
    assert len(rows) == n  # a row per rank
    narrow = curve.yData.size
    plot.resize(1400, 400)
    qtbot.waitUntil(lambda: curve.yData.size > 1.5 * narrow, timeout=5000)  # thinned for the new width


def test_smoothing_skips_classes_that_were_not_evaluated():
    """A sampled evaluation leaves NaN at the classes it did not look at: means run over the others."""
    errors = np.random.default_rng(1).random(400)
    sampled = errors.copy()
    sampled[np.random.default_rng(2).random(400) < 0.7] = np.nan
    sampled[:3] = errors[:3]
    smooth = smooth_by_rank(sampled, 1.25)
    for rank in (1, 50, 333):
        first, last = int(np.ceil(rank / 1.25)), min(int(np.floor(rank * 1.25)), 400)
        assert smooth[rank - 1] == pytest.approx(np.nanmean(sampled[first - 1 : last]), rel=1e-12)
    lonely = np.full(50, np.nan)
    lonely[0] = 0.5
    assert smooth_by_rank(lonely)[0] == 0.5 and np.isnan(smooth_by_rank(lonely)[10])  # none evaluated there


def test_per_class_error_draws_only_the_classes_evaluated_and_says_so(qtbot):
    plot = ClassErrorPlot()
    qtbot.addWidget(plot)
    plot.set_lanes(["a"])
    plot.set_mode("view", "curves")  # 1 − p̂(correct)
    errors = np.full(1000, np.nan)
    errors[::7] = np.linspace(0, 1, errors[::7].size)
    plot.set_errors(0, errors)
    drawn = [i for i in plot.plot.listDataItems() if isinstance(i, pg.PlotDataItem) and i.yData is not None]
    assert drawn and all(np.isfinite(item.yData).all() for item in drawn)
    raw = next(item for item in drawn if item.yData.size == errors[::7].size)
    assert np.array_equal(raw.xData, np.arange(1, 1001, 7))  # ranks of the evaluated classes
    plot.set_sample_note("errors of 143 sampled items")
    assert "143 sampled items" in plot.plot.getAxis("bottom").labelText
    plot.set_sample_note("")
    assert "sampled" not in plot.plot.getAxis("bottom").labelText


@pytest.mark.parametrize(("height_px", "every"), [(700, 1), (160, 2)])
def test_the_heat_maps_group_names_show_all_where_they_fit_and_every_other_where_not(qtbot, height_px, every):
    """At 1.5× in a 1280 px window nine names stood 15 px apart, their letters touching."""
    plot = ClassErrorPlot()
    qtbot.addWidget(plot)
    plot.resize(600, height_px)
    plot.show()
    qtbot.waitExposed(plot)
    plot.set_lanes(["a"])
    plot.set_mode("view", "heatmap")
    names = [f"g={g} · {2 ** (g - 1)}–{2**g - 1}" for g in range(9)]
    plot.set_heatmap(np.array([1.0, 2.0]), names, np.zeros((2, 9)))
    axis = plot.plot.getAxis("left")
    qtbot.waitUntil(lambda: len(_tick_labels(axis)) > 0, timeout=5000)
    shown = sorted({text for _rect, text in _tick_labels(axis)}, key=names.index)
    assert shown == names[::every]
    rects = sorted((rect for rect, _text in _tick_labels(axis)), key=lambda rect: rect.top())
    assert all(upper.bottom() <= lower.top() for upper, lower in itertools.pairwise(rects))  # none touch


def test_heat_map_has_a_colour_bar_that_follows_its_levels(qtbot):
    plot = ClassErrorPlot()
    qtbot.addWidget(plot)
    plot.set_lanes(["a"])
    assert not plot.colour_bar.isVisible()
    plot.set_mode("view", "heatmap")
    plot.set_mode("quantity", "group_loss")
    plot.set_heatmap(np.array([1.0, 2.0]), ["1", "2–3"], np.array([[1.0, 10.0], [0.1, 100.0]]))
    assert plot.colour_bar.isVisible()
    assert plot.colour_bar.levels() == pytest.approx((-1.0, 2.0))  # log₁₀ of the losses shown


@pytest.mark.parametrize(
    ("width_px", "expected"),
    [
        (300, {"1", "10", "100"}),  # 2.7 decades in 300 px: decades only (once "4·10¹6·10¹…")
        (1600, {"1", "2", "5", "10", "20", "50", "100", "200", "500"}),
    ],
)
def test_log_axis_labels_only_what_fits_and_never_loses_the_decades(qtbot, width_px, expected):
    assert set(_log_axis_labels(qtbot, width_px, 0, np.log10(512))) == expected


def test_a_log_axis_writes_all_its_labels_in_one_form(qtbot):
    """Spectra from 10⁻⁶ to 20 read "10¹, 1, 0.1, … 0.0001, 10⁻⁵": two scales on one axis."""
    labels = _log_axis_labels(qtbot, 1600, -6, np.log10(20))
    assert "10⁻⁶" in labels and "10⁰" in labels and "10¹" in labels
    assert all("10" in label for label in labels)  # no plain "1" or "0.001" among the powers
    plain = _log_axis_labels(qtbot, 1600, -3, 1)  # within 10⁻⁴ … 10⁵: plain decimals throughout
    assert "0.001" in plain and "0.002" in plain and "10" in plain and "·" not in "".join(plain)


def test_a_linear_axis_of_small_values_writes_them_all_as_decimals(qtbot):
    """Panel ②'s spectral gap read "5e-05" under "0.0001" and "0.00015"."""
    widget = pg.PlotWidget(axisItems={"left": DecadeAxis("left")})
    qtbot.addWidget(widget)
    widget.resize(300, 400)
    widget.show()
    widget.setYRange(0, 2.6e-4, padding=0)
    qtbot.waitExposed(widget)
    axis = widget.getAxis("left")
    labels = []
    for spacing, values in axis.tickValues(0, 2.6e-4, axis.geometry().height()):
        labels += [text for text in axis.tickStrings(values, 1.0, spacing) if text]
    assert "0.00005" in labels and "0.0001" in labels
    assert not any("e" in text for text in labels), labels
    widget.setYRange(0, 3e-7, padding=0)  # far below 1: one power of ten for every label
    labels = axis.tickStrings([1e-7, 2e-7], 1.0, 1e-7)
    assert labels == ["1·10⁻⁷", "2·10⁻⁷"]


def _log_axis_labels(qtbot, width_px: int, low: float, high: float) -> list[str]:
    """The non-empty labels of a log x axis drawn over log10 values ``low`` … ``high``."""
    widget = pg.PlotWidget(axisItems={"bottom": DecadeAxis("bottom")})
    qtbot.addWidget(widget)
    widget.resize(width_px, 300)
    widget.show()
    widget.setLogMode(x=True, y=False)
    widget.setXRange(low, high, padding=0)
    qtbot.waitExposed(widget)
    axis = widget.getPlotItem().getAxis("bottom")
    labelled = []
    for spacing, values in axis.tickValues(low, high, axis.geometry().width()):
        labelled += [s for s in axis.tickStrings(values, 1.0, spacing) if s]
    return labelled


def _grid_image(qtbot, axis_type, pen_width: float) -> np.ndarray:
    widget = pg.PlotWidget(axisItems={side: axis_type(side) for side in ("left", "bottom")}, background="w")
    qtbot.addWidget(widget)
    widget.resize(480, 320)
    widget.showGrid(x=True, y=True, alpha=0.15)
    widget.setLogMode(x=False, y=True)
    widget.setXRange(0, 128, padding=0)
    widget.setYRange(-6, 1.3, padding=0)
    for side in ("left", "bottom"):
        widget.getAxis(side).setPen(pg.mkPen("k", width=pen_width))
    widget.show()
    qtbot.waitExposed(widget)
    image = widget.grab().toImage()
    return np.array(image.constBits()).reshape(image.height(), image.width(), 4).copy()


class _StrokedGridAxis(DecadeAxis):
    """Our axis (ticks and labels) with the grid stroked as pyqtgraph strokes it."""

    def drawPicture(self, p, axisSpec, tickSpecs, textSpecs):
        pg.AxisItem.drawPicture(self, p, axisSpec, tickSpecs, textSpecs)


@pytest.mark.parametrize("pen_width", [1.0, 1.5, 2.0, 3.0])
def test_the_grid_has_the_pixels_pyqtgraph_strokes(qtbot, pen_width):
    """The grid's lines are filled as rectangles (fast) but land on exactly the stroked pixels."""
    ours = _grid_image(qtbot, DecadeAxis, pen_width)
    stroked = _grid_image(qtbot, _StrokedGridAxis, pen_width)
    assert np.array_equal(ours, stroked)
    inside = ours[10:-40, 60:-10, 0]  # the view, away from the axes' own lines and labels
    assert (inside < 255).sum() > 0.02 * inside.size  # there is a grid to compare


def _draw_specs(axis: pg.AxisItem):
    """What the axis would draw now: (axis line, ticks, texts), as pyqtgraph lays them out."""
    image = QtGui.QImage(400, 400, QtGui.QImage.Format.Format_ARGB32_Premultiplied)
    painter = QtGui.QPainter(image)
    try:
        return axis.generateDrawSpecs(painter)
    finally:
        painter.end()


def test_a_gridded_axis_labels_the_ticks_at_its_ends(qtbot):
    """Panel ③'s "not recovered" axis read 0.2 … 0.8: with the grid on, 0 and 1 were dropped; and
    its rank axis began at 10, not at the head's rank 1."""
    plot = ClassErrorPlot()
    qtbot.addWidget(plot)
    plot.set_lanes(["a"])
    plot.resize(600, 300)
    plot.show()
    qtbot.waitExposed(plot)
    plot.set_errors(0, np.r_[np.zeros(10), np.ones(100)], np.r_[np.ones(10), np.zeros(100)])
    _axis, _ticks, texts = _draw_specs(plot.plot.getAxis("left"))
    shown = [text for _rect, _flags, text in texts]
    assert shown[0] == "0" and shown[-1] == "1.0", shown
    _axis, _ticks, texts = _draw_specs(plot.plot.getAxis("bottom"))
    assert texts[0][2] == "1"  # the head's rank


@pytest.mark.parametrize("largest", [2e-7, 7.3e-4, 0.01, 3.0, 4096.0])
def test_a_matrix_s_colour_bar_labels_its_scale_however_small_the_values(qtbot, largest):
    """A gradient's entries below 10⁻³ gave the bar labels such as "−0.0005", wider than its fixed
    45 pixels: pyqtgraph dropped every one but "0", and the scale could not be read."""
    view = MatrixView()
    qtbot.addWidget(view)
    view.resize(500, 400)
    view.show()
    qtbot.waitExposed(view)
    values = np.random.default_rng(0).standard_normal((64, 64))
    view.set_matrix(values / np.abs(values).max() * largest, "G")
    for _ in range(3):  # each paint lays the labels out for the bar as the last one left it
        view.grab()
        QtWidgets.QApplication.processEvents()
    _axis, _ticks, texts = _draw_specs(view.colour_bar.axis)
    shown = [text for _rect, _flags, text in texts if text]
    assert len(shown) >= 3 and "0" in shown, shown


def test_translucent_grid_lines_are_filled_not_stroked(qtbot):
    """Qt strokes a translucent aliased line pixel by pixel (an 80-line grid: 20 ms); a fill is far faster."""
    widget = pg.PlotWidget(axisItems={"left": DecadeAxis("left")})
    qtbot.addWidget(widget)
    widget.showGrid(x=False, y=True, alpha=0.15)
    widget.show()
    qtbot.waitExposed(widget)
    axis = widget.getAxis("left")
    calls = []

    class Recorder:
        RenderHint = QtGui.QPainter.RenderHint

        def __getattr__(self, name):
            return lambda *args: calls.append((name, args))

    axis_spec, tick_specs, text_specs = _draw_specs(axis)
    axis.drawPicture(Recorder(), axis_spec, tick_specs, text_specs)
    translucent = [spec for spec in tick_specs if spec[0].color().alpha() < 255]
    assert translucent
    assert sum(name == "fillRect" for name, _ in calls) == len(translucent)
    assert sum(name == "drawLine" for name, _ in calls) == len(tick_specs) - len(translucent) + 1  # + axis


def test_minor_labels_thin_from_every_mantissa_to_two_and_five_to_none():
    assert minor_mantissas(pixels_per_decade=1000, label_px=40) == frozenset(range(2, 10))
    assert minor_mantissas(pixels_per_decade=300, label_px=40) == {2, 5}
    assert minor_mantissas(pixels_per_decade=100, label_px=40) == frozenset()


def test_spectra_stop_at_the_dtypes_noise_floor(qtbot):
    plot = SpectrumPlot()
    qtbot.addWidget(plot)
    plot.set_lanes(["a"])
    values = np.logspace(0, -12, 256)  # σ₁ = 1 down to 1e-12
    plot.set_dtype("float32")
    plot.set_spectrum(0, "gradient", values)
    _k, drawn = plot.curve_data(0, "gradient")
    floor = 16 * np.finfo(np.float32).eps  # where float32's round-off in null directions ends
    assert drawn.min() > floor and drawn.size == np.count_nonzero(values > floor)
    assert plot.round_off_note.startswith("σ_k below 1.91·10⁻⁶·σ₁")
    plot.set_dtype("float64")
    plot.set_spectrum(0, "gradient", values.copy())
    _k, drawn = plot.curve_data(0, "gradient")
    assert drawn.min() > NUMERICAL_ZERO and drawn.min() < floor  # float64 keeps the real tail


def test_the_lowest_spectrum_keeps_clear_of_the_axis_line_over_a_hundred_decades(qtbot):
    """A curve at 10⁻¹⁰² under one at 1 lay along the bottom axis line, half hidden: 2% of a hundred
    decades was 4 pixels."""
    plot = SpectrumPlot()
    qtbot.addWidget(plot)
    plot.resize(430, 230)
    plot.show()
    qtbot.waitExposed(plot)
    plot.set_lanes(["a", "b"])
    plot.set_spectrum(0, "gradient", np.logspace(0, -5, 64))
    plot.set_spectrum(1, "gradient", np.full(64, 1.2e-102))
    QtWidgets.QApplication.processEvents()
    box = plot.plot.getViewBox()
    lowest = box.mapViewToScene(QtCore.QPointF(10.0, np.log10(1.2e-102))).y()
    highest = box.mapViewToScene(QtCore.QPointF(1.0, 0.0)).y()
    frame = box.sceneBoundingRect()
    assert frame.bottom() - lowest >= EDGE_PX - 0.5 and highest - frame.top() >= EDGE_PX - 0.5


def test_lane_key_keeps_every_earlier_label_with_its_step(qtbot):
    key = LaneKey()
    qtbot.addWidget(key)
    entry = LaneKeyEntry(0, "Adam lr=0.1", (("SGD lr=128", 300), ("SignGD lr=0.01", 581)))
    key.set_lanes([entry, LaneKeyEntry(1, "Muon pre")])
    assert entry.text() == "SGD lr=128 → SignGD lr=0.01 (step 300) → Adam lr=0.1 (step 581)"
    assert key.plain_text().splitlines() == [entry.text(), "Muon pre"]


def test_lane_key_of_a_lane_toggled_many_times_names_its_latest_changes_and_keeps_its_height(qtbot):
    key = LaneKey()
    qtbot.addWidget(key)
    orders = ["Muon pre", "Muon post"]

    def toggled(times: int) -> LaneKeyEntry:
        earlier = tuple((orders[i % 2], 10 * (i + 1)) for i in range(times))
        return LaneKeyEntry(0, orders[times % 2], earlier)

    key.set_lanes([toggled(4), LaneKeyEntry(1, "SGD lr=128")])
    height = key.heightForWidth(450)
    key.set_lanes([toggled(14), LaneKeyEntry(1, "SGD lr=128")])
    first = key.plain_text().splitlines()[0]
    assert first == "Muon pre → … 12 changes … → Muon post (step 130) → Muon pre (step 140)"
    assert key.heightForWidth(450) == height  # the panels below keep their room
    assert toggled(14).whole_text() in key.toolTip()  # every change, on hover
    key.set_lanes([toggled(3), LaneKeyEntry(1, "SGD lr=128")])  # one change left out saves nothing
    assert key.plain_text().splitlines()[0] == toggled(3).whole_text()
    assert "step" not in key.toolTip()  # the key says it all: the tooltip only tells what a click does


def test_stage_style_scales_lane_pens_and_rejects_bad_values():
    try:
        set_stage_style(StageStyle(2.5, "dark"))
        assert lane_pen(0, width=2.0).widthF() == pytest.approx(5.0)
        assert lane_pen(6).color().name() == "#ffffff"  # the palette's black lane on a dark stage
    finally:
        set_stage_style(StageStyle())
    assert lane_pen(0, width=2.0).widthF() == pytest.approx(2.0)
    with pytest.raises(ValueError, match="scale"):
        StageStyle(3.5)
    with pytest.raises(ValueError, match="theme"):
        StageStyle(1.0, "sepia")


def test_a_sweeps_legend_sits_under_the_plot_not_on_its_curves(qtbot):
    from muonscope.widgets.capacity_plot import CapacityPlot

    plot = CapacityPlot()
    qtbot.addWidget(plot)
    plot.resize(640, 360)
    plot.show()
    plot.set_lanes(["a", "b"])
    plot.set_mode("x", "d")
    x = np.array([16.0, 32.0, 64.0, 128.0])
    curves = [(0, "Muon ϱ = 1.2", x, x**1.2, x**1.2, x**1.2), (1, "SGD ϱ = 0.9", x, x**0.9, x**0.9, x**0.9)]
    plot.set_sweep(curves, [("slope 1 + 1/(2α)", x, x**1.33)], "d", "items", True, True)
    qtbot.waitExposed(plot)
    assert len(plot.legend.items) == 3 and plot.legend.isVisible()
    box = plot.plot.getViewBox().sceneBoundingRect
    qtbot.waitUntil(lambda: plot.legend.sceneBoundingRect().top() >= box().bottom(), timeout=5000)
    assert not plot.legend.sceneBoundingRect().intersects(box())
    plot.set_mode("x", "steps")
    assert plot.legend.items == [] and not plot.legend.isVisible()


@contextlib.contextmanager
def _shown_at_scale(qtbot, panel, scale: float, size: tuple[int, int]):
    """``panel`` shown at ``size`` in the stage style of ``scale``; the desk style is back after."""
    set_stage_style(StageStyle(scale))
    try:
        qtbot.addWidget(panel)
        panel.resize(*size)
        panel.show()
        panel.apply_style(StageStyle(scale))
        yield panel
    finally:
        set_stage_style(StageStyle())


@pytest.mark.parametrize("scale", [1.0, 1.5, 3.0])
def test_an_axis_title_keeps_clear_of_its_tick_labels_at_every_stage_scale(qtbot, scale):
    """pyqtgraph keeps 0.8 of the title's box for it, trusting the box's margin to absorb the rest,
    but the margin stayed 4 px at every scale: at 3× ①'s "index k" touched the tick labels above."""
    with _shown_at_scale(qtbot, SpectrumPlot(), scale, (900, 500)) as panel:
        panel.set_lanes(["a"])
        bottom, left = panel.plot.getAxis("bottom"), panel.plot.getAxis("left")
        panel.set_spectrum(0, "gradient", np.logspace(-1, -5, 64) * 2)  # labels as wide as "2·10⁻²"
        panel.grab()
        QtWidgets.QApplication.processEvents()
        ticks_bottom_px = (
            max(0, bottom.style["tickLength"]) + bottom.style["tickTextOffset"][1] + bottom.textHeight
        )
        title = bottom.label.mapRectToParent(bottom.label.boundingRect())
        assert title.top() + bottom.label.document().documentMargin() >= ticks_bottom_px
        ticks_left_px = left.width() - max(0, left.style["tickLength"]) - left.style["tickTextOffset"][0]
        ticks_left_px -= left.textWidth
        title = left.label.mapRectToParent(left.label.boundingRect())  # drawn turned a quarter
        assert title.right() - left.label.document().documentMargin() <= ticks_left_px


@pytest.mark.parametrize("scale", [1.0, 3.0])
def test_a_vertical_axis_leaves_its_title_its_whole_box(qtbot, scale):
    """pyqtgraph counts 0.8 of the title's box; at the presentation scales the title then ran into
    tick labels such as "0.0001". The axis is as wide as tick labels, offsets and the whole box."""
    with _shown_at_scale(qtbot, SpectrumPlot(), scale, (600, 400)) as plot:
        axis = plot.plot.getAxis("left")

        def fits() -> bool:  # tick text is measured as it is drawn: wait for the layout to settle
            offset = axis.style["tickTextOffset"][0] + max(0, axis.style["tickLength"])
            needed = axis.textWidth + offset + axis.label.boundingRect().height()
            return axis.textWidth > 0 and axis.width() >= needed - 0.5

        qtbot.waitUntil(fits, timeout=5000)


@pytest.mark.parametrize("scale", [1.0, 3.0])
def test_a_long_title_is_cut_after_its_head_instead_of_widening_the_panel(qtbot, scale):
    plot = SpectrumPlot()
    qtbot.addWidget(plot)
    plot.apply_style(StageStyle(scale))
    head_only = plot.minimumSizeHint().width()
    long = "① spectra σ_k — " + ", ".join(["solid: G, dashed: M, dotted: update"] * 8)
    plot.set_title(long)
    assert plot.minimumSizeHint().width() == head_only  # the window can stay on the screen
    assert plot.title == long
    title = plot.findChild(QtWidgets.QLabel, "title")
    assert title.toolTip() == long  # what is cut can still be read
    bold = QtGui.QFont(title.font())
    bold.setBold(True)
    assert title.minimumSizeHint().width() >= QtGui.QFontMetrics(bold).horizontalAdvance("① spectra σ_k")
    plot.resize(plot.minimumSizeHint().width() + 40, 300)
    plot.show()
    qtbot.waitExposed(plot)
    qtbot.waitUntil(lambda: plot.shown_title.endswith("…"), timeout=5000)
    shown = plot.shown_title
    assert shown.startswith("① spectra σ_k") and long.startswith(shown[:-1])
    assert QtGui.QFontMetrics(title.font()).horizontalAdvance(shown) <= title.contentsRect().width()
    plot.resize(title.sizeHint().width() + 600, 300)  # room for all of it, beside the mode box
    qtbot.waitUntil(lambda: plot.shown_title == long, timeout=5000)


def test_the_lane_key_wraps_between_lanes_and_after_arrows_never_inside_a_setting(qtbot):
    """At 3× a line break fell inside "Muon post μ=0.95 ema | exact lr=0.3", which read as two lanes."""
    key = LaneKey()
    qtbot.addWidget(key)
    history = (("SGD μ=0.9 sum lr=128", 300),)
    entries = [
        LaneKeyEntry(0, "SignGD pre μ=0.9 ema lr=0.01", history),
        LaneKeyEntry(1, "Adam β=(0.9, 0.999) lr=0.1"),
        LaneKeyEntry(2, "Muon post μ=0.95 ema exact lr=0.3"),
    ]
    key.set_lanes(entries)
    key.set_note("dotted, faint: fork 1 at step 30")  # at 1280 px it broke after "dotted,"
    document = QtGui.QTextDocument()
    document.setDefaultFont(key.font())
    document.setHtml(key.text())
    document.setTextWidth(
        QtGui.QFontMetrics(key.font()).horizontalAdvance("Muon post μ=0.95 ema exact lr=0.3") * 1.4
    )
    document.documentLayout()  # lays the text out at that width
    block = document.firstBlock()
    layout = block.layout()
    lines = [
        block.text()[layout.lineAt(i).textStart() :][: layout.lineAt(i).textLength()]
        for i in range(layout.lineCount())
    ]
    assert len(lines) >= 3  # narrow enough to wrap
    for before, line in itertools.pairwise(lines):
        assert line.startswith(("━━", "dotted")) or before.rstrip().endswith("→"), (before, line)
    assert any(key.note in line.replace("\xa0", " ") for line in lines), lines  # the note whole


def test_a_lane_key_entry_does_not_break_at_a_hyphen_in_its_name(qtbot):
    """At 2× "SGD-" ended a line beside its swatch, and "momentum, μ = 0.9 sum" began the next."""
    key = LaneKey()
    qtbot.addWidget(key)
    key.set_lanes([LaneKeyEntry(0, "SignGD"), LaneKeyEntry(1, "SGD-momentum, μ = 0.9 sum")])
    document = QtGui.QTextDocument()
    document.setDefaultFont(key.font())
    document.setHtml(key.text())
    # room for the second lane whole on a line, and beside the first for its "SGD-" only
    document.setTextWidth(
        QtGui.QFontMetrics(key.font()).horizontalAdvance("━━ SGD-momentum, μ = 0.9 sum") * 1.1
    )
    document.documentLayout()
    block = document.firstBlock()
    layout = block.layout()
    lines = [
        block.text()[layout.lineAt(i).textStart() :][: layout.lineAt(i).textLength()]
        for i in range(layout.lineCount())
    ]
    assert len(lines) == 2 and all(line.startswith("━━") for line in lines), lines


@pytest.mark.parametrize("scale", [1.0, 3.0])
def test_a_tick_label_at_the_plots_top_edge_is_drawn_whole(qtbot, scale):
    """A y tick at the top is centred on the edge: at 3× the panel's header cut ④'s "1.0" in half."""
    with _shown_at_scale(qtbot, CapacityPlot(), scale, (700, 450)) as plot:
        qtbot.waitExposed(plot)
        axis = plot.plot.getAxis("right")  # accuracy, 0 to 1: "1.0" sits at the top edge

        def top_label() -> QtCore.QRectF | None:
            _axis_spec, _tick_specs, text_specs = _draw_specs(axis)
            return next((rect for rect, _flags, text in text_specs if text == "1.0"), None)

        qtbot.waitUntil(lambda: top_label() is not None, timeout=5000)  # the layout has settled
        top = top_label()
        shown = plot.plot_widget.mapFromScene(axis.mapRectToScene(top)).boundingRect()
        assert plot.plot_widget.rect().contains(shown), (shown, plot.plot_widget.rect())


def test_a_sweep_over_a_short_log_span_has_readable_ticks_and_its_seed_band_in_view(qtbot):
    """sin Θ from 0.88 to 0.95 on a log axis held no decade and no 2×, 3×, 5×: the axis had no label;
    the y range followed the means only, so the seeds' band filled the plot past its edges."""
    from muonscope.widgets.ranges import log_ticks

    plot = CapacityPlot()
    qtbot.addWidget(plot)
    plot.resize(640, 360)
    plot.show()
    plot.set_lanes(["a"])
    plot.set_mode("x", "window")
    x = np.array([3.0, 9.0, 39.0, 199.0])
    mean = np.array([0.95, 0.91, 0.89, 0.88])
    plot.set_sweep([(0, "Muon", x, mean, mean - 0.2, mean + 0.03)], [], "2T − 1", "sin Θ", True, True)
    low, high = plot.plot.getViewBox().viewRange()[1]
    assert low <= np.log10(0.68) and high >= np.log10(0.98)  # the band, lowest seed to highest
    ticks = log_ticks(np.log10(0.88), np.log10(0.95))
    assert len(ticks) >= 3 and len({label for _value, label in ticks}) == len(ticks)
    assert all(np.log10(0.88) - 1e-9 <= value <= np.log10(0.95) + 1e-9 for value, _label in ticks)
    stated = [_label_value(label) for _value, label in ticks]
    np.testing.assert_allclose(stated, [10**value for value, _ in ticks])
    assert [value for value, _label in ticks] == sorted(value for value, _label in ticks)


def test_a_tall_axis_over_part_of_a_decade_labels_every_digit_that_fits(qtbot):
    """sin Θ from 0.34 to 1 on a 280-pixel log axis was labelled 0.5 and 1 alone (0.3 lay just off
    its end): the plateau's height could not be read. Every 0.1 fits there."""
    plot = CapacityPlot()
    qtbot.addWidget(plot)
    plot.resize(740, 420)
    plot.show()
    qtbot.waitExposed(plot)
    plot.set_lanes(["a"])
    plot.set_mode("x", "window")
    x = np.array([3.0, 9.0, 39.0, 199.0])
    mean = np.array([1.0, 0.69, 0.37, 0.34])
    plot.set_sweep([(0, "Muon", x, mean, mean * 0.95, mean * 1.03)], [], "2T − 1", "sin Θ", True, True)
    axis = plot.plot.getAxis("left")
    qtbot.waitUntil(lambda: len(_tick_labels(axis)) >= 2, timeout=5000)
    labels = sorted(_tick_labels(axis), key=lambda spec: spec[0].center().y())
    assert {"0.4", "0.6", "0.8"} <= {text for _rect, text in labels}
    for (upper, _), (lower, _) in itertools.pairwise(labels):
        assert not upper.intersects(lower), [text for _rect, text in labels]


def test_a_sweep_shown_alone_names_its_lanes_once(qtbot):
    plot = CapacityPlot()
    qtbot.addWidget(plot)
    plot.set_lanes(["a"])
    plot.set_mode("x", "d")
    x = np.array([16.0, 32.0])
    plot.set_sweep([(0, "Muon ϱ = 1.2", x, x, x, x)], [], "d", "items", True, True)
    plot.set_lane_legend([(0, "Muon pre μ=0.95")])  # as a panel exported alone asks
    assert plot.named_lanes == () and len(plot.legend.items) == 1
    plot.set_mode("x", "steps")
    plot.set_lane_legend([(0, "Muon pre μ=0.95")])
    assert plot.named_lanes == ((0, "Muon pre μ=0.95"),)


def _ray_panel(qtbot, height_px: int, scale: float) -> CapacityPlot:
    """Panel ④ along a one-step ray whose loss spans ten decades (1e-9 … 1), at ``scale``."""
    plot = CapacityPlot()
    qtbot.addWidget(plot)
    plot.apply_style(StageStyle(scale))
    plot.resize(600, height_px)
    plot.show()
    qtbot.waitExposed(plot)
    plot.set_lanes(["Muon"])
    plot.set_mode("x", "ray")
    gap = np.linspace(0.0, 1.0, 20)
    plot.set_ray([(0, "Muon", gap, np.logspace(0, -9, 20))])
    return plot


def _tick_labels(axis: DecadeAxis) -> list[tuple[QtCore.QRectF, str]]:
    return [(rect, text) for rect, _flags, text in _draw_specs(axis)[2]]


@pytest.mark.parametrize(("height_px", "scale"), [(230, 1.5), (150, 1.0), (600, 1.0)])
def test_a_log_sweep_axis_labels_only_as_many_decades_as_fit_without_touching(qtbot, height_px, scale):
    """Ten decades on panel ④'s y axis, some 110 pixels high on a 1280×720 stage, drew ten labels one
    over the other ("1 0.1 0.01 … 1e-09" as a smudge); the axis keeps every 2nd or 5th decade there."""
    plot = _ray_panel(qtbot, height_px, scale)
    axis = plot.plot.getAxis("left")
    qtbot.waitUntil(lambda: len(_tick_labels(axis)) >= 2, timeout=5000)
    labels = sorted(_tick_labels(axis), key=lambda spec: spec[0].center().y())
    for (upper, _), (lower, _) in itertools.pairwise(labels):
        assert not upper.intersects(lower), [text for _rect, text in labels]
    values = [_label_value(text) for _rect, text in labels]
    exponents = np.log10(values)
    np.testing.assert_allclose(exponents, np.round(exponents))  # decades, in data units
    strides = set(np.diff(np.round(exponents)).astype(int))
    assert len(strides) == 1  # evenly thinned
    if height_px == 600:
        assert strides == {-1}  # room for every decade: every decade is labelled


_SUPERSCRIPT_DIGITS = str.maketrans("⁻⁰¹²³⁴⁵⁶⁷⁸⁹", "-0123456789")


def _label_value(text: str) -> float:
    """The number a tick label states: "0.002", "10⁻⁵" or "2·10³"."""
    if not any(char in text for char in "⁻⁰¹²³⁴⁵⁶⁷⁸⁹"):
        return float(text)
    mantissa, _, power = text.rpartition("10")
    return float(mantissa.rstrip("·") or 1) * 10.0 ** int(power.translate(_SUPERSCRIPT_DIGITS))


def _heat_map(qtbot, quantity, values):
    plot = ClassErrorPlot()
    qtbot.addWidget(plot)
    plot.set_lanes(["a"])
    plot.resize(700, 420)
    plot.show()
    qtbot.waitExposed(plot)
    plot.set_mode("view", "heatmap")
    plot.set_mode("quantity", quantity)
    plot.set_heatmap(np.arange(0.0, 40.0, 10.0), ["1", "2–3", "4–7"], values)
    QtWidgets.QApplication.processEvents()
    return plot


def test_the_heat_maps_colour_scale_labels_group_loss_in_loss_values(qtbot):
    """The colour scale of log₁₀ group loss read "-1.0 -0.5 0 0.5" beside plots that say 0.1 and 1."""
    losses = np.geomspace(0.04, 2.5, 12).reshape(4, 3)  # (steps, buckets)
    plot = _heat_map(qtbot, "group_loss", losses)
    _axis, _ticks, texts = _draw_specs(plot.colour_axis)
    shown = [text for _rect, _flags, text in texts if text]
    assert {"0.1", "1"} <= set(shown), shown
    assert not any(text.startswith(("-", "−")) for text in shown), shown  # losses, not their logarithms


def test_the_heat_maps_colour_scale_is_drawn_at_the_stages_scale(qtbot):
    """At 3× the colour scale's labels stayed at the desk's size beside tripled axes."""
    plot = _heat_map(qtbot, "error", np.linspace(0, 1, 12).reshape(4, 3))
    try:
        plot.apply_style(StageStyle(3.0, "dark"))
        bar_pt = plot.colour_axis.style["tickFont"].pointSizeF()
        assert bar_pt == plot.plot.getAxis("left").style["tickFont"].pointSizeF() > 0
        assert plot.colour_axis.textPen().color() == QtGui.QColor(StageStyle(3.0, "dark").colours.foreground)
    finally:
        plot.apply_style(StageStyle())


def test_at_the_desk_a_label_at_the_top_edge_has_room_above_the_plot(qtbot):
    """At the desk the heat map's colour scale cut its top label "1.0" in half."""
    plot = _heat_map(qtbot, "error", np.linspace(0, 1, 12).reshape(4, 3))
    _left, top_px, _right, _bottom = plot.plot.layout.getContentsMargins()
    assert top_px >= QtGui.QFontMetricsF(QtGui.QFont()).height() / 2
    label_rects = [rect for rect, _flags, text in _draw_specs(plot.colour_axis)[2] if text == "1.0"]
    assert label_rects and plot.colour_axis.mapRectToScene(label_rects[0]).top() >= 0


def test_the_timeline_cursor_wears_no_lanes_colour(qtbot):
    """In lane 1's orange the step cursor read as belonging to lane 1."""
    from muonscope.widgets.theme import LANE_COLOURS
    from muonscope.widgets.timeline import Timeline

    timeline = Timeline()
    qtbot.addWidget(timeline)
    for style in (StageStyle(), StageStyle(2.0, "dark")):
        timeline.apply_style(style)
        colour = timeline.cursor.pen.color().name().lower()
        assert colour == QtGui.QColor(style.colours.muted).name().lower()
        assert colour not in {c.lower() for c in LANE_COLOURS}
    timeline.apply_style(StageStyle())


def _tick_labels(axis) -> list[tuple[QtCore.QRectF, str]]:
    """The tick labels a pyqtgraph axis draws, each with its rectangle in the axis's coordinates."""
    canvas = QtGui.QImage(10, 10, QtGui.QImage.Format.Format_ARGB32)
    painter = QtGui.QPainter(canvas)
    try:
        _axis_line, _ticks, labels = axis.generateDrawSpecs(painter)
    finally:
        painter.end()
    return [(rect, text) for rect, _flags, text in labels]


@pytest.mark.parametrize("scale", [1.0, 2.0])
def test_the_timeline_shows_its_first_and_last_steps_and_a_cursor_on_step_0(qtbot, scale):
    """At step 0 the axis read "1 … 9" and the cursor stood on the strip's edge, out of sight; at 2×
    the labels' last pixel rows fell below the strip."""
    from muonscope.widgets.timeline import Timeline

    timeline = Timeline()
    qtbot.addWidget(timeline)
    timeline.apply_style(StageStyle(scale))
    timeline.resize(1280, 120)
    timeline.show()
    qtbot.waitExposed(timeline)
    timeline.set_extent(0)
    timeline.set_cursor(0)
    axis = timeline.plot.getAxis("bottom")
    qtbot.waitUntil(lambda: len(_tick_labels(axis)) > 2, timeout=5000)  # laid out at the new extent
    labels = _tick_labels(axis)
    shown = {text for _rect, text in labels}
    assert {"0", "10"} <= shown, shown
    strip = timeline.plot_widget.viewport().rect()
    for label_rect, text in labels:
        rect = timeline.plot_widget.mapFromScene(axis.mapRectToScene(label_rect)).boundingRect()
        assert strip.contains(rect), (text, rect, strip)  # drawn whole, not cut at the strip's edges
    cursor_x = timeline.plot_widget.mapFromScene(timeline.cursor.mapToScene(QtCore.QPointF(0, 0))).x()
    assert cursor_x >= timeline.cursor.pen.widthF()  # its whole width inside the strip
    timeline.apply_style(StageStyle())


def test_the_timeline_s_engine_mark_stands_out_on_either_theme(qtbot):
    """On the dark stage the black ▲ (where the engine is) was black on near-black."""
    from muonscope.widgets.timeline import Timeline

    timeline = Timeline()
    qtbot.addWidget(timeline)
    for style in (StageStyle(), StageStyle(2.0, "dark")):
        timeline.apply_style(style)
        timeline.set_engine_step(3)
        mark = timeline.engine_marker.opts["brush"].color()
        background = QtGui.QColor(style.colours.background)
        assert abs(mark.lightness() - background.lightness()) > 150, style.theme
    timeline.apply_style(StageStyle())


def test_a_sweep_on_show_grows_with_the_stage_and_its_guides_differ(qtbot):
    """At 2× ④'s sweep curves stayed 2 px while ③'s doubled; two guides shared one grey dash."""
    plot = CapacityPlot()
    qtbot.addWidget(plot)
    plot.set_mode("x", "batch")
    x = np.array([8.0, 16.0, 32.0])
    curves = [(0, "Muon", x, x, x, x)]
    guides = [("slope 1", x, x), ("slope 1/3", x, x ** (1 / 3))]
    plot.set_sweep(curves, guides, "B", "items recovered", True, True)

    def pens():  # by the legend's text
        return {label.text: sample.item.opts["pen"] for sample, label in plot.legend.items}

    desk = pens()
    assert desk["guide: slope 1"].style() != desk["guide: slope 1/3"].style()
    try:
        set_stage_style(StageStyle(2.0))
        plot.apply_style(StageStyle(2.0))
        staged = pens()
        assert staged["Muon"].widthF() == 2 * desk["Muon"].widthF()
        assert staged["guide: slope 1"].widthF() == 2 * desk["guide: slope 1"].widthF()
    finally:
        set_stage_style(StageStyle())
        plot.apply_style(StageStyle())


def test_a_sweeps_seed_band_shows_on_the_dark_stage(qtbot):
    """At the light stage's opacity the band was dark navy on near-black, barely there."""
    import pyqtgraph as pg

    plot = CapacityPlot()
    qtbot.addWidget(plot)
    plot.set_mode("x", "batch")
    x = np.array([8.0, 16.0, 32.0])
    plot.set_sweep([(0, "Muon", x, x, 0.8 * x, 1.2 * x)], [], "B", "items recovered", True, True)

    def band_alpha() -> int:
        (band,) = [item for item in plot.plot.items if isinstance(item, pg.FillBetweenItem)]
        return band.brush().color().alpha()

    light = band_alpha()
    try:
        set_stage_style(StageStyle(1.0, "dark"))
        plot.apply_style(StageStyle(1.0, "dark"))
        assert band_alpha() >= 2 * light
    finally:
        set_stage_style(StageStyle())
        plot.apply_style(StageStyle())
    assert band_alpha() == light


@pytest.mark.parametrize(
    "style", [QtCore.Qt.PenStyle.DashLine, QtCore.Qt.PenStyle.DotLine, QtCore.Qt.PenStyle.DashDotLine]
)
@pytest.mark.parametrize("width", [1.5, 2.3, 4.1])
def test_a_style_keys_sample_line_ends_on_a_whole_dash(style, width):
    """At a stage's scale ①'s dashed M sample ended in a sliver and read "– – ·"."""
    from muonscope.widgets.style_key import whole_dash_length

    pen = QtGui.QPen(QtGui.QColor("black"), width)
    pen.setStyle(style)
    pattern = [part * width for part in pen.dashPattern()]
    length = whole_dash_length(pen, 12.0 * width)
    periods = (length + pattern[-1]) / sum(pattern)
    assert length <= 12.0 * width and abs(periods - round(periods)) < 1e-9 and round(periods) >= 1


def test_the_hover_read_out_takes_the_stages_size_and_colours(qtbot):
    """On a 2× dark stage the read-out stayed desk-sized, black on white, its dot black on black."""
    from muonscope.widgets.hover import READOUT_PT
    from muonscope.widgets.series_plot import SeriesPlot
    from muonscope.widgets.theme import THEMES

    plot = SeriesPlot("② over time", [("loss", "loss")])
    qtbot.addWidget(plot)
    plot.set_lanes(["SGD"])
    plot.set_series(0, np.arange(10.0), np.linspace(1.0, 0.1, 10))
    assert plot.hover.show_at(5, 0.5)
    desk = plot.hover.text_style
    assert desk[0] == pytest.approx(READOUT_PT)
    dark = THEMES["dark"]
    try:
        set_stage_style(StageStyle(2.0, "dark"))
        assert plot.hover.show_at(5, 0.5)
        assert plot.hover.text_style == (
            pytest.approx(2 * READOUT_PT),
            dark.foreground.lower(),
            dark.background.lower(),
        )
    finally:
        set_stage_style(StageStyle())
    assert plot.hover.show_at(5, 0.5) and plot.hover.text_style == desk


def test_a_message_on_a_dark_stage_is_dark_with_light_text(qtbot):
    """The light blue bar glared on a dark stage."""
    from muonscope.widgets.message_bar import MessageBar

    bar = MessageBar()
    qtbot.addWidget(bar)
    bar.show_message("Paused at step 10", "info")
    light = bar.colours
    bar.apply_style(StageStyle(2.0, "dark"))  # the style follows the message on show
    background, text = bar.colours
    assert QtGui.QColor(background).lightness() < 80 < 200 < QtGui.QColor(text).lightness()
    bar.show_message("Not applied: …", "error")  # and the next one
    assert QtGui.QColor(bar.colours[0]).lightness() < 80
    bar.apply_style(StageStyle())
    bar.show_message("Paused at step 10", "info")
    assert bar.colours == light


def test_lane_key_focus_goes_when_its_lane_does_and_the_others_are_greyed(qtbot):
    key = LaneKey()
    qtbot.addWidget(key)
    key.set_lanes([LaneKeyEntry(position, name) for position, name in enumerate(("SGD", "Adam", "Muon"))])
    swatches = re.findall(r'<span style="color:(#[0-9a-fA-F]{6})', key.text())
    with qtbot.waitSignal(key.focus_changed) as told:
        key.set_focus(2)
    assert told.args == [2]
    faded = re.findall(r'<span style="color:(#[0-9a-fA-F]{6})', key.text())
    assert faded[2] == swatches[2] and faded[0] != swatches[0] and faded[1] != swatches[1]
    with qtbot.waitSignal(key.focus_changed) as told:
        key.set_lanes([LaneKeyEntry(0, "SGD"), LaneKeyEntry(1, "Adam")])  # lane 2 removed
    assert told.args == [None] and key.focus is None
    assert re.findall(r'<span style="color:(#[0-9a-fA-F]{6})', key.text()) == swatches[:2]
    with pytest.raises(ValueError, match="lane position -1 must be 0 or more"):
        key.set_focus(-1)


def test_a_runs_last_step_is_labelled_at_the_end_of_the_capacity_panels_step_axis(qtbot):
    """④'s step axis of a 60,000-step run ended at 40000: "60000" crossed the axis's end and was
    dropped, though the accuracy axis beside it leaves room below its labels."""
    panel = CapacityPlot()
    qtbot.addWidget(panel)
    panel.resize(420, 260)  # ④ at 1280 pixels
    panel.show()
    qtbot.waitExposed(panel)
    panel.set_lanes(["a"])
    panel.set_run_length(60_000)
    steps = np.arange(0, 60_001, 100, dtype=float)
    panel.set_capacity(0, steps, np.sqrt(steps), steps / 60_000)
    qtbot.waitUntil(lambda: panel.plot.getViewBox().viewRange()[0][1] > 60_000)
    texts = [text for _rect, text in _tick_labels(panel.plot.getAxis("bottom"))]
    assert texts[-1] == "60000", texts


def test_every_lanes_per_class_dots_lie_under_every_lanes_smoothed_curve(qtbot):
    """Drawn lane by lane, a later lane's dots covered the first lane's smoothed curve."""
    plot = ClassErrorPlot()
    qtbot.addWidget(plot)
    plot.set_lanes(["a", "b"])
    plot.set_mode("view", "curves")
    for lane in (0, 1):
        plot.set_errors(lane, np.random.default_rng(lane).random(500))
    items = [item for item in plot.plot.listDataItems() if isinstance(item, pg.PlotDataItem)]
    dots = [item.zValue() for item in items if item.opts["pen"] is None]
    curves = [item.zValue() for item in items if item.opts["pen"] is not None]
    assert len(dots) == len(curves) == 2 and max(dots) < min(curves)
