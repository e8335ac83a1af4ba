"""Text that must fit its panel: a sweep's legend, a header's mode box, an axis title."""

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6 import QtCore, QtGui, QtWidgets

from muonscope.widgets.axes import DecadeAxis, set_axis_title
from muonscope.widgets.capacity_plot import CapacityPlot
from muonscope.widgets.class_error_plot import ClassErrorPlot
from muonscope.widgets.mode_box import ElidingCombo, whole_numbers_only
from muonscope.widgets.series_plot import SeriesPlot
from muonscope.widgets.theme import StageStyle

LANES = ["GD", "Muon exact", "Muon NS5", "Newton"]
GUIDES = ["slope 1 + 1/(2α) = 1.33", "slope 1/(2α) = 0.33"]
METRICS = [("loss", "loss"), ("gap", "spectral gap σ_r − σ_(r+1)")]


def _sweep_panel(qtbot, width_px: int, height_px: int = 260, lanes=LANES, guides=GUIDES) -> CapacityPlot:
    plot = CapacityPlot()
    qtbot.addWidget(plot)
    plot.resize(width_px, height_px)
    plot.show()
    qtbot.waitExposed(plot)
    plot.set_lanes(lanes)
    plot.set_mode("x", "d")
    x = np.array([16.0, 32.0, 64.0, 128.0])
    curves = [(lane, name, x, x * (lane + 1), x, x * (lane + 2)) for lane, name in enumerate(lanes)]
    guides = [(text, x, x**slope) for text, slope in zip(guides, (1.33, 0.33), strict=False)]
    plot.set_sweep(curves, guides, "dimension d", "items recovered after one step", True, True)
    return plot


def _legend_labels(plot: CapacityPlot) -> list[pg.LabelItem]:
    return [label for _sample, label in plot.legend.items]


def _inside_panel(plot: CapacityPlot, item: pg.LabelItem) -> bool:
    rect = item.mapRectToScene(item.item.boundingRect())  # the text itself, not the cell it sits in
    return 0 <= rect.left() and rect.right() <= plot.plot_widget.width()


def test_guides_in_a_narrow_panel_keep_their_whole_label_on_rows_of_their_own(qtbot):
    """At half of a 1280-pixel window two guides side by side ran past the panel's edge."""
    plot = _sweep_panel(qtbot, 420)
    qtbot.waitUntil(
        lambda: (
            not plot.legend.lanes_folded  # the axes settle first: the lanes fit a 260-pixel panel
            and all(_inside_panel(plot, label) for label in _legend_labels(plot))
        ),
        timeout=5000,
    )
    rows = {label.text: label.mapToScene(0, 0).y() for label in _legend_labels(plot)}
    guide_rows = [rows[f"guide: {text}"] for text in GUIDES]
    assert guide_rows[0] != guide_rows[1]
    assert all(rows[lane] < min(guide_rows) for lane in LANES)  # lanes first, each guide below


LONG_LANES = ["SGD μ=0.9 sum lr=128", "Adam β=(0.9, 0.999) lr=0.1", "Muon pre μ=0.95 ema exact lr=0.3"]


def test_a_short_panel_leaves_the_lanes_to_the_key_and_keeps_its_plot(qtbot):
    """At 1280×720 six legend rows of long lane names left ④'s sweep plot 10 px tall."""
    plot = _sweep_panel(qtbot, 420, 200, LONG_LANES, GUIDES[:1])
    qtbot.waitUntil(lambda: plot.legend.lanes_folded, timeout=5000)
    assert [label.text for label in _legend_labels(plot)] == [f"guide: {GUIDES[0]}"]
    assert plot.plot.getViewBox().height() > 0.4 * plot.plot_widget.height()
    lanes = tuple(enumerate(LONG_LANES))
    plot.set_lane_legend(lanes)  # a picture of the panel alone
    assert plot.named_lanes == lanes  # names the lanes the sweep's legend left out
    plot.set_lane_legend(())
    plot.resize(420, 600)  # room again: the sweep's legend names its lanes, and an export needs no second
    qtbot.waitUntil(lambda: not plot.legend.lanes_folded, timeout=5000)
    plot.set_lane_legend(lanes)
    assert plot.named_lanes == ()  # the sweep's legend names them: no second list under it


def test_guides_share_a_row_where_the_panel_is_wide_enough(qtbot):
    """Each legend row is a row the plot loses: on a 1280×720 stage the y title shrank to "recov…"."""
    plot = _sweep_panel(qtbot, 900)
    qtbot.waitUntil(lambda: all(_inside_panel(plot, label) for label in _legend_labels(plot)), timeout=5000)
    rows = {label.text: label.mapToScene(0, 0).y() for label in _legend_labels(plot)}
    guide_rows = {rows[f"guide: {text}"] for text in GUIDES}
    assert len(guide_rows) == 1 and all(rows[lane] < min(guide_rows) for lane in LANES)
    guide_labels = [label for label in _legend_labels(plot) if label.text.startswith("guide: ")]
    left, right = (label.mapRectToScene(label.item.boundingRect()) for label in guide_labels)
    assert left.right() <= right.left()  # side by side, not over one another


def test_a_wide_panel_lays_every_lane_in_one_legend_row(qtbot):
    """A row of lanes where it fits keeps the plot tall; a narrow panel takes fewer to a row."""
    wide = _sweep_panel(qtbot, 1000)
    qtbot.waitUntil(lambda: wide.legend.columnCount == len(LANES), timeout=5000)
    narrow = _sweep_panel(qtbot, 300)
    qtbot.waitUntil(
        lambda: all(_inside_panel(narrow, label) for label in _legend_labels(narrow)), timeout=5000
    )
    assert narrow.legend.columnCount < len(LANES)


def _series_panel(qtbot) -> SeriesPlot:
    """Panel ② at about the size it has in half a 1280-pixel window, on screen."""
    plot = SeriesPlot("② over time", METRICS)
    qtbot.addWidget(plot)
    plot.resize(420, 300)
    plot.show()
    qtbot.waitExposed(plot)
    return plot


def test_a_mode_box_shows_its_option_whole_where_the_header_has_room(qtbot):
    """A box held to a few characters clipped "spectral gap σ_r − σ_(r+1)" beside a short title."""
    plot = _series_panel(qtbot)
    plot.set_mode("metric", "gap")
    box = plot.modes["metric"]
    qtbot.waitUntil(lambda: box.shown_text == box.currentText(), timeout=5000)
    assert box.width() >= box.sizeHint().width()


def test_a_squeezed_mode_box_cuts_its_option_with_a_mark(qtbot):
    plot = SeriesPlot("② over time", METRICS)
    qtbot.addWidget(plot)
    plot.set_mode("metric", "gap")
    box = plot.modes["metric"]
    plot.resize(box.minimumSizeHint().width() + 120, 300)  # the title's head and the boxes at their least
    plot.show()
    qtbot.waitExposed(plot)
    qtbot.waitUntil(lambda: box.shown_text != box.currentText(), timeout=5000)
    shown = box.shown_text
    assert shown.endswith("…") and box.currentText().startswith(shown[:-1])


@pytest.mark.parametrize(
    ("text", "elided", "shown"),
    [
        ("SGD μ=0.9 sum lr=128", "SGD μ=0.9 sum lr=1…", "SGD μ=0.9 sum lr=…"),  # read as lr = 1
        ("Adam β=(0.9, 0.999) lr=0.1", "Adam β=(0.9, 0.9…", "Adam β=(0.9, …"),
        ("lr=12 · ema", "lr=12…", "lr=12…"),  # the number whole: kept
        ("mean error", "mea…", "mea…"),
    ],
)
def test_a_cut_option_never_shows_a_number_cut_short(text, elided, shown):
    assert whole_numbers_only(text, elided) == shown


def test_greyed_mode_boxes_give_their_room_to_the_one_that_applies(qtbot):
    """At 1280 pixels panel ③'s greyed heat-map boxes cut its live box to "not recov…"; at 1920 with
    room to spare they read "mea…" and "…"."""
    plot = ClassErrorPlot()
    qtbot.addWidget(plot)
    plot.set_lanes(["SGD μ=0.9 · sum", "Muon pre μ = 0.95 · ema"])
    plot.set_mode("view", "recovery")
    view, greyed = plot.modes["view"], [plot.modes["quantity"], plot.modes["lane"]]
    assert not any(box.isEnabled() for box in greyed)
    room = view.sizeHint().width() + sum(box.minimumSizeHint().width() for box in greyed)
    title_px = QtGui.QFontMetrics(plot.font()).horizontalAdvance(plot.title) * 1.2  # bold
    plot.resize(room + int(title_px) + 60, 300)
    plot.show()
    qtbot.waitExposed(plot)
    qtbot.waitUntil(lambda: view.shown_text == view.currentText(), timeout=5000)  # whole
    assert all(box.isVisible() and box.shown_text != box.currentText() for box in greyed)  # cut first
    assert all(box.minimumSizeHint().width() < view.minimumSizeHint().width() for box in greyed)
    plot.resize(room + int(title_px) + 60 + sum(box.whole_width for box in greyed), 300)
    qtbot.waitUntil(lambda: all(box.shown_text == box.currentText() for box in greyed), timeout=5000)
    assert view.shown_text == view.currentText()  # room to spare: greyed boxes are read whole too
    plot.set_mode("view", "heatmap")  # now they apply: they ask for their room again
    assert all(box.sizeHint().width() > box.minimumSizeHint().width() for box in greyed)


def test_a_mode_box_refilled_or_renamed_quietly_asks_for_its_new_width(qtbot):
    """The heat map's lane box is refilled under a signal blocker: it kept the width of its first
    lanes' names and showed "Adam,…" in a 1920-pixel window."""
    plot = ClassErrorPlot()
    qtbot.addWidget(plot)
    plot.set_lanes(["a", "b"])
    plot.set_mode("view", "heatmap")
    plot.resize(1000, 300)
    plot.show()
    qtbot.waitExposed(plot)
    box = plot.modes["lane"]
    plot.set_lanes(["Adam, β = (0.8, 0.95)", "Adam, β = (0.9, 0.95)"])
    qtbot.waitUntil(lambda: box.shown_text == "Adam, β = (0.8, 0.95)", timeout=5000)
    plot.set_labels(["Adam, β = (0.8, 0.95) after a change of lr", "Adam, β = (0.9, 0.95)"])
    qtbot.waitUntil(lambda: box.shown_text == box.currentText(), timeout=5000)


def _titled_axis(qtbot, height_px: int) -> tuple[pg.PlotWidget, DecadeAxis]:
    widget = pg.PlotWidget(axisItems={"left": DecadeAxis("left")})
    qtbot.addWidget(widget)
    widget.resize(300, height_px)
    widget.setLabel("left", "items recovered after one step (log)")
    widget.show()
    qtbot.waitExposed(widget)
    return widget, widget.getAxis("left")


def _title_within_axis(axis: DecadeAxis) -> bool:
    return axis.label.boundingRect().width() <= axis.geometry().height()


def test_an_axis_title_longer_than_its_axis_is_cut_with_a_mark_and_whole_in_the_tooltip(qtbot):
    widget, axis = _titled_axis(qtbot, 120)
    qtbot.waitUntil(lambda: axis.shown_title.endswith("…"), timeout=5000)
    assert _title_within_axis(axis)
    assert "items recovered after one step (log)".startswith(axis.shown_title[:-1].rstrip())
    assert axis.toolTip() == "items recovered after one step (log)"
    widget.resize(300, 600)  # room again: the whole title comes back
    qtbot.waitUntil(lambda: axis.shown_title == "items recovered after one step (log)", timeout=5000)
    assert axis.toolTip() == ""


def test_a_short_axis_shows_the_titles_short_form_and_the_whole_one_where_there_is_room(qtbot):
    widget = pg.PlotWidget(axisItems={"left": DecadeAxis("left")})
    qtbot.addWidget(widget)
    widget.resize(300, 90)
    axis = widget.getAxis("left")
    set_axis_title(widget.getPlotItem(), "left", "singular value σ_k of the buffer", "σ_k")
    widget.show()
    qtbot.waitExposed(widget)
    qtbot.waitUntil(lambda: axis.shown_title == "σ_k", timeout=5000)
    assert axis.toolTip() == "singular value σ_k of the buffer"
    widget.resize(300, 600)
    qtbot.waitUntil(lambda: axis.shown_title == "singular value σ_k of the buffer", timeout=5000)
    widget.resize(300, 90)
    qtbot.waitUntil(lambda: axis.shown_title == "σ_k", timeout=5000)
    widget.setLabel("left", "items recovered after one step (log)")  # another title: its own form
    qtbot.waitUntil(lambda: axis.shown_title.endswith("…"), timeout=5000)
    assert "items recovered after one step (log)".startswith(axis.shown_title[:-1].rstrip())


def test_an_axis_shows_the_longest_of_its_titles_short_forms_that_fits(qtbot):
    """At 1.5× on a 1280 pixel stage, ②'s "spectral gap" was cut to "spectral…" where "gap" fits."""
    widget = pg.PlotWidget(axisItems={"left": DecadeAxis("left")})
    qtbot.addWidget(widget)
    axis = widget.getAxis("left")
    set_axis_title(widget.getPlotItem(), "left", "spectral gap σ_r − σ_(r+1) of M", ("spectral gap", "gap"))
    widget.resize(300, 600)
    widget.show()
    qtbot.waitExposed(widget)
    qtbot.waitUntil(lambda: axis.shown_title == "spectral gap σ_r − σ_(r+1) of M", timeout=5000)
    shown = []
    for height_px in range(600, 40, -8):  # shorter and shorter: each form in turn, never a cut one
        widget.resize(300, height_px)
        QtWidgets.QApplication.processEvents()
        shown.append(axis.shown_title)
        assert _title_within_axis(axis) or axis.shown_title.endswith("…")
    forms = [title for i, title in enumerate(shown) if i == 0 or title != shown[i - 1]]
    assert forms[:3] == ["spectral gap σ_r − σ_(r+1) of M", "spectral gap", "gap"], forms
    assert axis.toolTip() == "spectral gap σ_r − σ_(r+1) of M"


def test_a_title_that_fits_is_left_whole(qtbot):
    _widget, axis = _titled_axis(qtbot, 600)
    qtbot.waitUntil(lambda: axis.geometry().height() > 300, timeout=5000)
    assert axis.shown_title == "items recovered after one step (log)"
    assert _title_within_axis(axis) and axis.toolTip() == ""


def test_a_sweep_legend_grows_with_the_stage_and_takes_its_colours(qtbot):
    plot = _sweep_panel(qtbot, 1200, 500)
    desk_px = _legend_labels(plot)[0].item.boundingRect().height()
    style = StageStyle(3.0, "dark")
    plot.apply_style(style)
    assert plot.legend_text_pt == style.font_pt(8.0)
    label = _legend_labels(plot)[0]
    assert label.item.boundingRect().height() > 2 * desk_px  # the text drawn is larger, not only the setting
    assert style.colours.foreground.lower() in label.item.toHtml().lower()  # light text on the dark stage
    plot.apply_style(StageStyle())
    assert _legend_labels(plot)[0].item.boundingRect().height() == desk_px


def test_the_toolbars_preset_box_keeps_its_width_and_cuts_a_long_title_with_a_mark(qtbot):
    """ "Muon vs SGD vs Adam on a Zipf r": the box is 22 characters wide and clipped the title mid-word."""

    box = ElidingCombo(22)
    qtbot.addWidget(box)
    box.addItem("Muon vs SGD vs Adam on a Zipf memory")
    box.show()
    qtbot.waitExposed(box)
    assert box.sizeHint().width() < box.fontMetrics().horizontalAdvance(box.currentText())  # the toolbar fits
    assert box.shown_text.endswith("…") and box.currentText().startswith(box.shown_text[:-1])


def test_a_panels_note_covers_the_plot_and_its_wrapped_text_fits_at_every_size_and_scale(qtbot):
    """Back from presentation, panel ②'s note was cut at its top and bottom (sized for another width);
    and the axes' ticks behind an empty plot said nothing true, so the note covers them."""
    plot = _series_panel(qtbot)
    text = "Each lane's spectral gap over the steps. This preset is a single step from W = 0: " * 2
    plot.set_placeholder(text)
    note = plot.findChild(QtWidgets.QLabel, "placeholder")

    def fits() -> bool:
        room = note.contentsRect()
        wrap = QtCore.Qt.TextFlag.TextWordWrap
        needed = QtGui.QFontMetrics(note.font()).boundingRect(
            QtCore.QRect(0, 0, room.width(), 10_000), wrap, text
        )
        covers = note.geometry() == plot.plot_widget.rect()
        return covers and needed.height() <= room.height() and room.width() >= note.width() // 2

    for style, width in ((StageStyle(2.0), 640), (StageStyle(), 420), (StageStyle(), 300)):
        plot.apply_style(style)
        plot.resize(width, 300)
        qtbot.waitUntil(fits, timeout=5000)


def test_a_short_panel_that_leaves_its_lanes_to_the_key_says_their_fitted_slopes_in_its_note(qtbot):
    """At 1280×720 ④ kept only the guides: the fitted slope of each lane, the number the claim
    rests on, showed nowhere on screen."""
    plot = _sweep_panel(qtbot, 420, 200, LONG_LANES, GUIDES[:1])
    x = np.array([16.0, 32.0, 64.0, 128.0])
    curves = [(lane, name, x, x * (lane + 1), x, x * (lane + 2)) for lane, name in enumerate(LONG_LANES)]
    notes = {0: "fitted slope 1.00", 1: "fitted slope 1.00", 2: "fitted slope 1.60"}
    plot.set_sweep(curves, [(GUIDES[0], x, x**1.33)], "d", "items", True, True, legend_notes=notes)
    qtbot.waitUntil(lambda: plot.legend.lanes_folded, timeout=5000)
    assert "fitted slope: SGD μ=0.9 sum lr=128 1.00; Adam β=(0.9, 0.999) lr=0.1 1.00; " in plot.note
    assert plot.note.endswith("Muon pre μ=0.95 ema exact lr=0.3 1.60")
    plot.resize(420, 600)  # room again: the legend says them after each lane
    qtbot.waitUntil(lambda: not plot.legend.lanes_folded, timeout=5000)
    assert "fitted slope" not in plot.note
    assert f"{LONG_LANES[2]}: fitted slope 1.60" in [label.text for label in _legend_labels(plot)]


def test_a_sweep_lane_with_no_point_to_draw_is_named_in_the_note_with_why(qtbot):
    """A lane that diverged at every point drew nothing and left the key: the sweep read as if it
    had never been run."""
    plot = _sweep_panel(qtbot, 640, 400)
    x = np.array([0.5, 0.7, 0.9])
    empty = np.array([])
    curves = [(0, "Adam β₂=0.999 lr=0.01", empty, empty, empty, empty), (1, "Muon", x, x, x, x)]
    notes = {0: "diverged at every point", 1: "diverged at 1 of 3 points"}
    plot.set_sweep(curves, [], "μ", "A(update)", False, False, legend_notes=notes)
    plot.refresh_note()
    assert "Adam β₂=0.999 lr=0.01: diverged at every point" in plot.note
    assert "Muon: diverged" not in plot.note  # drawn: its key says it
    plot.set_sweep(curves[1:], [], "μ", "A(update)", False, False)
    plot.refresh_note()
    assert "diverged" not in plot.note  # a new sweep forgets the last one's
