"""Change markers' labels show whole, inside the plot, off the curves and off each other where they can."""

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6 import QtCore, QtWidgets

from muonscope.widgets.capacity_plot import CapacityPlot
from muonscope.widgets.event_markers import LABELLED_CHANGES
from muonscope.widgets.marker_places import MOST_LINES
from muonscope.widgets.series_plot import SeriesPlot
from muonscope.widgets.theme import StageStyle, set_stage_style

SWITCH = "lane 1 optimizer SGD → SignGD, lr 128 → 0.01, buffer sum → ema"
#: Panel widths of a quarter of a 1280×720 and of a 1920×1080 window.
WIDTHS = (450, 900)


def _plot(qtbot, width, height=240, curves=((0.1, 0.3),)):
    """Panel ② over steps 0…100, y 0…1, with straight curves from (0, a) to (100, b)."""
    plot = SeriesPlot("② over time", [("gap", "gap")])
    qtbot.addWidget(plot)
    plot.resize(width, height)
    plot.show()
    qtbot.waitExposed(plot)
    plot.set_lanes([f"lane {i}" for i in range(len(curves))])
    steps = np.arange(0.0, 101.0)
    for lane, (start, end) in enumerate(curves):
        plot.set_series(lane, steps, np.linspace(start, end, steps.size))
    plot.plot.setXRange(0, 100, padding=0)
    plot.plot.setYRange(0, 1, padding=0)
    QtWidgets.QApplication.processEvents()
    return plot


def _area(plot):
    return plot.plot.getViewBox().sceneBoundingRect()


def _shown_whole(plot, label) -> bool:
    return label.isVisible() and not label.elided and _area(plot).contains(label.scene_rect())


def _crosses(plot, label) -> bool:
    """Whether any drawn curve passes through the label (checked on a fine grid of the curve)."""
    rect = label.scene_rect()
    box = plot.plot.getViewBox()
    for item in plot.plot.listDataItems():
        x, y = item.getData()
        if x is None or len(x) == 0:
            continue
        fine = np.linspace(x[0], x[-1], 4000)
        for xv, yv in zip(fine, np.interp(fine, x, y), strict=True):
            if rect.contains(box.mapViewToScene(pg_point(xv, yv))):
                return True
    return False


def pg_point(x, y):
    from PySide6 import QtCore

    return QtCore.QPointF(float(x), float(y))


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("step", [1, 3, 50, 89, 97])
def test_a_long_label_shows_whole_inside_the_plot_near_either_edge(qtbot, width, step):
    plot = _plot(qtbot, width)
    plot.markers.set_events([(step, SWITCH)])
    (label,) = plot.markers.labels
    assert _shown_whole(plot, label), (label.toPlainText(), label.scene_rect(), _area(plot))
    line_x = plot.plot.getViewBox().mapViewToScene(pg_point(step, 0)).x()
    rect = label.scene_rect()
    assert rect.left() > line_x or rect.right() < line_x  # beside its line, not across it


def test_a_label_keeps_off_the_step_cursor_where_it_fits_on_the_other_side(qtbot):
    """A change at step 35 with the cursor at 40: the label to its right was crossed by the cursor."""
    plot = _plot(qtbot, 900)
    plot.markers.set_cursor(60)
    plot.markers.set_events([(50, "lane 0 lr 128 → 50")])
    (label,) = plot.markers.labels
    assert _shown_whole(plot, label) and not _cursor_through(plot, label)
    plot.markers.set_cursor(int(plot.plot.getViewBox().mapSceneToView(label.scene_rect().center()).x()))
    assert _cursor_through(plot, label)  # the run moved on into it: the label moves off
    plot.markers.keep_clear()
    qtbot.waitUntil(lambda: not _cursor_through(plot, label), timeout=5000)
    assert _shown_whole(plot, label)


def test_a_label_shortened_beside_the_cursor_shows_whole_once_the_cursor_leaves(qtbot):
    """A divergence at the newest step, drawn while the view was a step behind: its label, squeezed
    between the cursor and its line, stayed "lane …" once the cursor stood on its line."""
    plot = _plot(qtbot, 450)
    plot.markers.set_cursor(80)
    plot.markers.set_events([(99, "lane 0 diverged (SGD μ=0.9 sum lr=1000000)")])
    (label,) = plot.markers.labels
    assert label.elided  # no room beside it but between the cursor and the line
    plot.markers.set_cursor(99)
    plot.markers.keep_clear()
    plot.markers.settle()
    assert _shown_whole(plot, label) and not _crosses(plot, label)


def test_a_label_put_under_curves_to_keep_off_the_cursor_moves_clear_once_the_cursor_leaves(qtbot):
    """Placed while a recording's cursor stood just right of the change, the label went left, under
    six curves; the cursor moved on to the newest step, and the picture showed it still there."""
    plot = _plot(qtbot, 450, curves=())
    levels = np.arange(0.05, 1.0, 0.05)
    plot.set_lanes([f"lane {i}" for i in range(levels.size)])
    steps = np.arange(0.0, 51.0)
    for lane, level in enumerate(levels):  # curves every 5 % of the height, left of step 50 only
        plot.set_series(lane, steps, np.full(steps.size, level))
    plot.plot.setXRange(0, 100, padding=0)
    QtWidgets.QApplication.processEvents()
    plot.markers.set_cursor(58)
    plot.markers.set_events([(50, SWITCH)])
    (label,) = plot.markers.labels
    assert label.isVisible() and _crosses(plot, label)  # no room clear of both the cursor and the curves
    plot.markers.set_cursor(100)
    plot.markers.keep_clear()
    plot.markers.settle()
    assert _shown_whole(plot, label) and not _crosses(plot, label) and not _cursor_through(plot, label)


def _cursor_through(plot, label) -> bool:
    cursor_x = plot.plot.getViewBox().mapViewToScene(pg_point(plot.markers.cursor.value(), 0)).x()
    rect = label.scene_rect()
    return rect.left() <= cursor_x <= rect.right()


def test_a_label_that_fits_on_neither_side_in_one_line_wraps(qtbot):
    plot = _plot(qtbot, 300)
    plot.markers.set_events([(50, SWITCH)])
    (label,) = plot.markers.labels
    assert _shown_whole(plot, label)
    assert label.scene_rect().height() > 1.5 * label.document().firstBlock().layout().lineAt(0).height()


def test_a_label_too_long_even_wrapped_is_shortened_with_the_whole_text_on_hover(qtbot):
    text = "lanes[1].optimizer_with_an_unbreakable_name → another_unbreakable_name"
    plot = _plot(qtbot, 260)
    plot.markers.set_events([(50, text)])
    (label,) = plot.markers.labels
    assert label.elided and label.toPlainText().endswith("…")
    assert label.toolTip() == text
    assert _area(plot).contains(label.scene_rect())


@pytest.mark.parametrize("width", WIDTHS)
def test_labels_keep_off_the_curves_where_there_is_room(qtbot, width):
    # one curve along the top, one rising through the middle: the labels go between them
    plot = _plot(qtbot, width, curves=((0.95, 0.95), (0.0, 0.5)))
    plot.markers.set_events([(10, SWITCH), (60, "label noise 0 → 0.21")])
    for label in plot.markers.labels:
        assert _shown_whole(plot, label)
        assert not _crosses(plot, label), label.full_text


@pytest.mark.parametrize("scale", [1e-25, 1e25])
def test_labels_keep_off_curves_of_huge_or_tiny_values(qtbot, scale):
    """A gap of 10²⁵ (a spiked stream of that strength): the curves went unseen by the placing, and
    a divergence's label was drawn over the one along the top."""
    plot = _plot(qtbot, 450, curves=((0.95 * scale, 0.95 * scale), (0.0, 0.5 * scale)))
    plot.plot.setYRange(0, scale, padding=0)
    QtWidgets.QApplication.processEvents()
    plot.markers.set_events([(10, SWITCH), (60, "label noise 0 → 0.21")])
    for label in plot.markers.labels:
        assert _shown_whole(plot, label)
        assert not _crosses(plot, label), label.full_text


def test_a_curve_drawn_just_above_a_label_s_box_still_covers_it():
    """A line is drawn with a pen of some width: one 1 px above a label's box was drawn along its edge."""
    from muonscope.widgets.marker_places import Curve

    flat = Curve(np.array([0.0, 100.0]), np.array([9.0, 9.0]), 1.0, 0.0, 1.0, 0.0)
    assert flat.crosses(QtCore.QRectF(0, 10, 50, 12))
    assert not flat.crosses(QtCore.QRectF(0, 12, 50, 12))


def test_labels_do_not_cover_each_other(qtbot):
    plot = _plot(qtbot, 450)
    plot.markers.set_events([(40, "label noise 0 → 0.21"), (42, SWITCH), (44, "lane 3 order pre → post")])
    first, middle, last = plot.markers.labels
    assert first.isVisible() and last.isVisible()  # left of the first line, right of the last
    assert not middle.isVisible()  # 8 px between its neighbours' lines: its line and tooltip alone
    assert not first.scene_rect().intersects(last.scene_rect())


def test_a_label_moves_off_new_data_that_runs_under_it(qtbot):
    plot = _plot(qtbot, 450, curves=((0.1, 0.1),))
    plot.markers.set_events([(20, "label noise 0 → 0.21")])
    (label,) = plot.markers.labels
    top = label.scene_rect().top()
    steps = np.arange(0.0, 101.0)
    plot.set_series(0, steps, np.full(steps.size, 0.97))  # the curve now runs where the label sits
    plot.markers.keep_clear()  # placed again soon (at most every PLACE_AGAIN_MS), not on every frame
    qtbot.waitUntil(lambda: label.scene_rect().top() > top and not _crosses(plot, label), timeout=5000)


def test_a_label_newly_crossed_moves_though_another_label_came_clear_at_the_same_time(qtbot):
    """Curves crossing the labels were counted in total: one label newly under a curve went unseen
    where another, which had no clear place, came clear in the same frame (the range rescaled)."""
    steps = np.arange(0.0, 101.0)
    crowd = np.linspace(0.04, 0.96, 24)  # flat curves from step 60 on, a line of text apart or less
    plot = _plot(qtbot, 900, curves=[(0.02, 0.02)] + [(0.5, 0.5)] * crowd.size)
    for lane, level in enumerate(crowd, start=1):
        plot.set_series(lane, steps[60:], np.full(41, level))
    plot.markers.set_events([(20, "label noise 0 → 0.21"), (80, "lane 0 lr 128 → 50")])
    clear, crowded = plot.markers.labels
    assert not _crosses(plot, clear) and _crosses(plot, crowded)
    plot.set_series(0, steps, np.full(steps.size, _view_y(plot, clear.scene_rect().center())))
    for lane in range(1, crowd.size + 1):
        plot.set_series(lane, steps[:1], np.full(1, 0.5))  # the crowd is gone
    assert _crosses(plot, clear)
    plot.markers.keep_clear()
    plot.markers.settle()
    assert clear.isVisible() and not _crosses(plot, clear)


def test_placing_again_moves_the_label_a_curve_came_under_and_leaves_the_others_where_they_stand(qtbot):
    """Labels are placed again once a curve runs under one; the one it covers moves, a label still
    clear stays put though a better row opened for it meanwhile (labels jumping about while the run
    played read as changes; placing all of them again cost 20-40 ms a panel, every second)."""
    steps = np.arange(0.0, 101.0)
    plot = _plot(qtbot, 900, curves=[(0.02, 0.02), (0.95, 0.95)])
    plot.set_series(1, steps[60:], np.full(41, 0.95))  # across the top rows right of step 60
    plot.markers.set_events([(20, "label noise 0 → 0.21"), (80, "lane 0 lr 128 → 50")])
    crossed, clear = plot.markers.labels
    kept = clear.scene_rect()
    assert crossed.isVisible() and clear.isVisible() and not _crosses(plot, clear)
    plot.set_series(1, steps[-1:], np.full(1, 0.02))  # the top rows open for the label at 80
    plot.set_series(0, steps[:51], np.full(51, _view_y(plot, crossed.scene_rect().center())))  # left half
    assert _crosses(plot, crossed)
    plot.markers.keep_clear()
    plot.markers.settle()
    assert crossed.isVisible() and not _crosses(plot, crossed)
    assert clear.scene_rect() == kept


def _view_y(plot, point) -> float:
    return plot.plot.getViewBox().mapSceneToView(point).y()


def test_settling_moves_a_label_off_new_data_at_once(qtbot):
    """An offscreen picture taken within PLACE_AGAIN_MS of the curves growing under a label showed it
    there; settling places it again before the picture, whatever the clock."""
    plot = _plot(qtbot, 450, curves=((0.1, 0.1),))
    plot.markers.set_events([(20, "label noise 0 → 0.21")])
    (label,) = plot.markers.labels
    steps = np.arange(0.0, 101.0)
    plot.set_series(0, steps, np.full(steps.size, 0.97))
    plot.markers.keep_clear()
    assert _crosses(plot, label)  # waiting to be placed again
    plot.markers.settle()
    assert label.isVisible() and not _crosses(plot, label)


def _shown_capacity_plot(qtbot) -> CapacityPlot:
    """Panel ④ of one lane, shown 450 × 240."""
    plot = CapacityPlot()
    qtbot.addWidget(plot)
    plot.resize(450, 240)
    plot.show()
    qtbot.waitExposed(plot)
    plot.set_lanes(["a"])
    return plot


def test_a_label_that_must_cross_panel_fours_curves_lies_under_both_axes_curves(qtbot):
    """④'s accuracy box lies under the plot's own: a label drawn in the plot's box hid the accuracy
    curves it crossed behind its fill, where a label should lie under every curve."""
    plot = _shown_capacity_plot(qtbot)
    steps = np.arange(0.0, 101.0, 1.0)
    zigzag = np.where(steps % 2 == 0, 0.0, 1.0)  # both curves fill the whole height: no clear row
    plot.set_capacity(0, steps, 100.0 * zigzag, zigzag)
    plot.plot.setXRange(0, 100, padding=0)
    plot.plot.setYRange(0, 100, padding=0)
    plot.markers.set_events([(50, SWITCH)])
    (label,) = plot.markers.labels
    assert label.isVisible()
    curves = [
        item.curve  # the line a PlotDataItem draws
        for box in (plot.plot.getViewBox(), plot.right)
        for item in box.addedItems
        if isinstance(item, pg.PlotDataItem) and item.isVisible() and item.yData is not None
    ]
    assert len(curves) >= 2  # recovered on the left axis, accuracy on the right
    stacked = plot.plot.scene().items(
        label.scene_rect(),
        QtCore.Qt.ItemSelectionMode.IntersectsItemBoundingRect,
        QtCore.Qt.SortOrder.DescendingOrder,
    )
    for curve in curves:
        assert stacked.index(curve) < stacked.index(label)


def test_labels_keep_off_panel_fours_accuracy_curves_too(qtbot):
    plot = _shown_capacity_plot(qtbot)
    steps = np.arange(0.0, 101.0, 10.0)
    # few items recovered (the left axis), an accuracy near 1 (the right axis): the top is taken
    plot.set_capacity(0, steps, np.full(steps.size, 5.0), np.full(steps.size, 0.95))
    plot.plot.setXRange(0, 100, padding=0)
    plot.plot.setYRange(0, 100, padding=0)
    plot.markers.set_events([(30, SWITCH)])
    (label,) = plot.markers.labels
    right = plot.right
    y_top = right.mapViewToScene(pg_point(0, 0.95)).y()
    assert not label.scene_rect().top() <= y_top <= label.scene_rect().bottom()
    assert plot.plot.getViewBox().sceneBoundingRect().contains(label.scene_rect())


def test_a_sweep_on_panel_four_hides_the_step_markers(qtbot):
    plot = CapacityPlot()
    qtbot.addWidget(plot)
    plot.show()
    plot.markers.set_events([(30, "label noise 0 → 0.21")])
    plot.set_mode("x", "d")
    assert not plot.markers.lines[0].isVisible() and not plot.markers.labels[0].isVisible()
    plot.set_mode("x", "steps")
    assert plot.markers.lines[0].isVisible()


def test_labels_follow_the_stage_scale_and_still_fit(qtbot):
    try:
        set_stage_style(StageStyle(2.5, "light"))
        plot = _plot(qtbot, 450)
        plot.apply_style(StageStyle(2.5, "light"))
        plot.markers.restyle()
        plot.markers.set_events([(3, SWITCH), (97, "label noise 0 → 0.21")])
        for label in plot.markers.labels:
            assert _area(plot).contains(label.scene_rect())
            assert not label.elided or label.toolTip() == label.full_text
    finally:
        set_stage_style(StageStyle())


def test_a_label_takes_more_lines_to_fit_between_curves_a_single_line_would_cross(qtbot):
    plot = _plot(qtbot, 450, curves=((0.95, 0.95),))
    plot.set_lanes(["top", "wall"])
    steps = np.arange(0.0, 101.0)
    plot.set_series(0, steps, np.full(steps.size, 0.95))
    plot.set_series(1, steps, np.where(steps < 60, 0.02, 0.98))  # a wall at step 60, floor to ceiling
    plot.plot.setYRange(0, 1, padding=0)
    plot.markers.set_events([(10, SWITCH)])  # one line would reach past step 90, through the wall
    (label,) = plot.markers.labels
    assert _shown_whole(plot, label) and not _crosses(plot, label)
    assert label.scene_rect().height() > 1.5 * label.document().firstBlock().layout().lineAt(0).height()


def test_where_the_whole_label_would_lie_under_curves_a_clear_line_keeping_its_first_change_wins(qtbot):
    """Panel ④ at 1280×720: no room clear of the curves took the whole label, and it was laid under
    five of them, barely legible; one clear line keeping "lane 1 optimizer SGD → SignGD" reads."""
    levels = [*np.arange(0.04, 0.4, 0.045), *np.arange(0.55, 1.0, 0.045)]  # a gap from 0.4 to 0.55: one line
    plot = _plot(qtbot, 450, curves=[(level, level) for level in levels])
    plot.markers.set_events([(30, SWITCH)])
    (label,) = plot.markers.labels
    assert label.isVisible() and _area(plot).contains(label.scene_rect())
    assert not _crosses(plot, label)
    assert label.elided and label.toolTip() == SWITCH
    assert label.toPlainText().replace("\u00a0", " ").startswith("lane 1 optimizer SGD → SignGD, ")


def test_changes_at_one_step_with_no_clear_room_show_one_line_naming_the_first_not_a_block(qtbot):
    """Four changes made at one step, in a panel whose curves leave no clear row: wrapped whole, the
    label lay as a block of four lines under five curves; one line naming the first covers fewer."""
    changes = "; ".join(
        ("lane 1 β₁ 0.9 → 0.5", "lane 2 momentum 0.95 → 0.8", "lane 2 order pre → post", "lane 3 order none")
    )
    plot = _plot(qtbot, 450, curves=[(level, level) for level in np.arange(0.04, 1.0, 0.06)])
    plot.markers.set_events([(30, changes)])
    (label,) = plot.markers.labels
    assert label.isVisible() and _area(plot).contains(label.scene_rect())
    assert label.line_count == 1 and label.elided and label.toolTip() == changes
    assert label.toPlainText().replace("\u00a0", " ").startswith("lane 1 β₁ 0.9 → 0.5; ")


def test_a_shortened_line_that_would_lose_even_the_first_change_leaves_the_label_whole(qtbot):
    """Shortened to "lane 1 opti…" a label says nothing: whole under the curves it still reads."""
    levels = [*np.arange(0.04, 0.4, 0.045), *np.arange(0.55, 1.0, 0.045)]
    plot = _plot(qtbot, 450, curves=[(level, level) for level in levels])
    plot.markers.set_events([(30, "lane 1 optimizer_with_a_long_unbreakable_name → another_long_name_again")])
    (label,) = plot.markers.labels
    assert label.isVisible() and not label.elided


def test_in_a_plot_lower_than_a_line_of_text_only_the_line_shows_its_text_on_hover(qtbot):
    try:
        set_stage_style(StageStyle(3.0, "light"))  # a line of text some 50 px high
        plot = _plot(qtbot, 450, height=90)
        plot.apply_style(StageStyle(3.0, "light"))
        plot.markers.set_events([(50, SWITCH)])
        (line,), (label,) = plot.markers.lines, plot.markers.labels
        assert _area(plot).height() < label.boundingRect().height()
        assert not label.isVisible() and line.isVisible()
        assert line.toolTip() == SWITCH
    finally:
        set_stage_style(StageStyle())


def test_a_label_too_tall_wrapped_is_shortened_to_one_line_instead(qtbot):
    plot = _plot(qtbot, 300, height=90)  # some 30 px of plot: one line, not two
    plot.markers.set_events([(50, SWITCH)])
    (label,) = plot.markers.labels
    assert label.isVisible() and _area(plot).contains(label.scene_rect())
    assert label.elided and label.toolTip() == SWITCH


@pytest.mark.parametrize("height", [90, 130])
def test_crowded_labels_are_shortened_or_left_to_their_lines_never_stacked(qtbot, height):
    plot = _plot(qtbot, 450, height=height)
    events = [(40, SWITCH), (42, SWITCH.replace("lane 1", "lane 2")), (44, "label noise 0 → 0.21")]
    plot.markers.set_events(events)
    shown = [label for label in plot.markers.labels if label.isVisible()]
    assert shown  # the first at least has the plot to itself
    rects = [label.scene_rect() for label in shown]
    for i, rect in enumerate(rects):
        assert _area(plot).contains(rect)
        assert all(not rect.intersects(other) for other in rects[i + 1 :])
    for label in shown:
        assert not label.elided or label.toolTip() == label.full_text
    assert [line.toolTip() for line in plot.markers.lines] == [text for _step, text in events]


def test_the_range_moving_keeps_each_label_beside_its_line_without_placing_it_again(qtbot):
    """A playing run moves the range every frame: labels follow their lines at their offset."""
    plot = _plot(qtbot, 900)
    plot.markers.set_events([(40, "label noise 0 → 0.21")])
    (label,) = plot.markers.labels
    (line,) = plot.markers.lines
    box = plot.plot.getViewBox()

    def gap() -> float:
        return label.scene_rect().left() - box.mapViewToScene(QtCore.QPointF(line.value(), 0.0)).x()

    before, top = gap(), label.scene_rect().top()
    plot.plot.setXRange(0, 130, padding=0)
    assert line.value() == 40 and gap() == pytest.approx(before) and label.scene_rect().top() == top


def test_a_label_the_growing_axis_brings_across_another_line_is_placed_again(qtbot):
    """Changes at steps 50 and 101, a label left of step 101: as the run played on to 160 the steps
    drew closer and it ran across step 50's line, where it read as that change's."""
    plot = _plot(qtbot, 900, curves=())
    levels = np.arange(0.05, 1.0, 0.05)
    plot.set_lanes([f"lane {i}" for i in range(levels.size)])
    steps = np.arange(101.0, 161.0)
    for lane, level in enumerate(levels):  # curves right of step 101 only: its label goes left
        plot.set_series(lane, steps, np.full(steps.size, level))
    plot.plot.setXRange(0, 110, padding=0)
    QtWidgets.QApplication.processEvents()
    plot.markers.set_events([(50, "label noise 0 → 0.2"), (101, "lane 0 lr 128 → 5")])
    label = plot.markers.labels[1]
    box = plot.plot.getViewBox()

    def across_step_50() -> bool:
        rect, x = label.scene_rect(), box.mapViewToScene(pg_point(50, 0)).x()
        return label.isVisible() and rect.left() <= x <= rect.right()

    assert label.isVisible() and label.scene_rect().right() < box.mapViewToScene(pg_point(101, 0)).x()
    assert not across_step_50()
    plot.plot.setXRange(0, 600, padding=0)  # 51 steps are now fewer pixels than the label is wide
    assert across_step_50()  # it followed its line; placed again soon
    qtbot.waitUntil(lambda: not across_step_50(), timeout=5000)


def test_a_label_with_no_room_at_the_newest_step_shows_once_the_growing_axis_makes_room(qtbot):
    """A change at the newest step, just right of another: no room beside its line then, and as the
    run played on and the axis grew, its label never came (only a resize placed it)."""
    plot = _plot(qtbot, 450, curves=())
    for _ in range(5):  # the layout's deferred passes, which resize the view box once more
        QtWidgets.QApplication.processEvents()
    resized = []
    plot.plot.getViewBox().sigResized.connect(resized.append)  # a resize places every label again
    plot.markers.set_events([(88, "label noise 0 → 0.2"), (100, "lane 0 lr 128 → 5")])
    label = plot.markers.labels[1]
    assert not label.isVisible()  # squeezed between step 88's line and the plot's edge
    plot.plot.setXRange(0, 160, padding=0)
    qtbot.waitUntil(label.isVisible, timeout=5000)
    assert not resized  # it came by the room its line found, not by a resize
    assert _area(plot).contains(label.scene_rect())


def test_a_new_change_places_its_own_label_around_the_others(qtbot):
    plot = _plot(qtbot, 900)
    plot.markers.set_events([(30, "label noise 0 → 0.21")])
    first = plot.markers.labels[0].scene_rect()
    plot.markers.set_events([(30, "label noise 0 → 0.21"), (32, SWITCH)])
    labels = plot.markers.labels
    assert labels[0].scene_rect() == first  # left where it was
    assert labels[1].isVisible() and not labels[1].scene_rect().intersects(first)


def test_only_the_latest_changes_are_labelled_and_every_line_keeps_its_text(qtbot):
    plot = _plot(qtbot, 900, height=480)
    events = [(8 * i + 4, f"lane {i % 4} order pre → post") for i in range(LABELLED_CHANGES + 4)]
    plot.markers.set_events(events)
    labels, lines = plot.markers.labels, plot.markers.lines
    assert not any(label.isVisible() for label in labels[:4])
    assert any(label.isVisible() for label in labels[4:])
    assert [line.toolTip() for line in lines] == [text for _step, text in events]


@pytest.mark.parametrize("width", WIDTHS)
def test_a_label_keeps_off_the_panels_corner_note(qtbot, width):
    """② at 1920: "lane 0 lr 128 → 5" stood under the note "r = 10, of M (…)", its ghost behind it."""
    plot = _plot(qtbot, width, curves=((0.05, 0.1),))  # low curves: the note takes a top corner
    plot.set_note("r = 10, of M (of G where a lane keeps no buffer)")
    note = plot.note_scene_rect
    step = int(plot.plot.getViewBox().mapSceneToView(note.center()).x())  # a change under the note
    plot.markers.set_events([(step, "lane 0 lr 128 → 5")])
    (label,) = plot.markers.labels
    assert label.isVisible() and not label.scene_rect().intersects(plot.note_scene_rect)
    plot.set_note("a longer note that stretches across more of the plot's top, as notes may")
    plot.markers.keep_clear()  # the note grew over the label: it moves off
    qtbot.waitUntil(lambda: not label.scene_rect().intersects(plot.note_scene_rect), timeout=5000)
    assert label.isVisible()


@pytest.mark.parametrize("width", WIDTHS)
def test_a_label_crosses_a_curve_rather_than_another_changes_line(qtbot, width):
    """Changes at steps 30 and 40, curves dense right of 40 only: "lane 2 order pre → post" was
    drawn left of its line, across step 30's, where it read as step 30's change; under the curves
    right of its own line it still lets them show."""
    plot = _plot(qtbot, width, curves=())
    levels = np.arange(0.05, 1.0, 0.05)
    plot.set_lanes([f"lane {i}" for i in range(levels.size)])
    steps = np.arange(40.0, 101.0)
    for lane, level in enumerate(levels):  # a curve every 5 % of the height, from step 40 on
        plot.set_series(lane, steps, np.full(steps.size, level))
    QtWidgets.QApplication.processEvents()
    plot.markers.set_events([(30, "label noise 0 → 0.2"), (40, "lane 2 order pre → post")])
    box = plot.plot.getViewBox()
    lines_x = {step: box.mapViewToScene(pg_point(step, 0)).x() for step in (30, 40)}
    for step, label in zip((30, 40), plot.markers.labels, strict=True):
        assert label.isVisible() and _area(plot).contains(label.scene_rect()), label.full_text
        rect = label.scene_rect()
        (other_x,) = [x for other, x in lines_x.items() if other != step]
        assert not rect.left() <= other_x <= rect.right(), (label.toPlainText(), step)


def test_a_label_takes_no_more_than_a_few_lines_beside_its_line(qtbot):
    """A long change near the plot's left edge, curves dense right of it: wrapped into the room
    left of it, it took seven lines; past MOST_LINES it lies under the curves or is shortened."""
    plot = _plot(qtbot, 450, curves=())
    levels = np.arange(0.05, 1.0, 0.05)
    plot.set_lanes([f"lane {i}" for i in range(levels.size)])
    steps = np.arange(25.0, 101.0)
    for lane, level in enumerate(levels):
        plot.set_series(lane, steps, np.full(steps.size, level))
    QtWidgets.QApplication.processEvents()
    plot.markers.set_events([(25, SWITCH)])
    (label,) = plot.markers.labels
    assert label.isVisible() and _area(plot).contains(label.scene_rect())
    assert label.line_count <= MOST_LINES


def test_a_wrapped_label_never_ends_a_line_on_a_changes_old_value(qtbot):
    """Wrapped after its old value, "label noise 0" stood on a line of its own and read as the
    value now; a line may end on the arrow ("label noise 0 →"), which says it goes on."""
    plot = _plot(qtbot, 450, curves=())
    plot.markers.set_events([(10, "label noise 0 → 0.2"), (31, "batch size 256 → 128")])
    for label in plot.markers.labels[:1]:  # wrapped to the room up to the next change's line
        assert label.isVisible() and not label.elided, label.toPlainText()
        lines = [
            label.toPlainText()[line.textStart() : line.textStart() + line.textLength()]
            for block in _blocks(label.document())
            for line in (block.layout().lineAt(i) for i in range(block.layout().lineCount()))
        ]
        assert len(lines) > 1
        for after in lines[1:]:
            assert not after.lstrip().startswith("→"), lines


def _blocks(document):
    block = document.begin()
    while block.isValid():
        yield block
        block = block.next()


def test_a_label_finds_a_clear_gap_between_two_curves_that_rows_a_line_apart_step_over(qtbot):
    """② at 1280: a gap between a curve near 0 and one above it held the label, but rows a whole
    line apart stepped over it and the label went across a curve instead."""
    box_px = 8.0  # every 8 px above the roof a curve: nowhere clear up there
    for offset_px in range(0, 13, 2):
        plot = _plot(qtbot, 450, height=240, curves=((0.5, 0.5),))
        plot.markers.set_events([(50, "lr 0.1 → 0.05")])
        (label,) = plot.markers.labels
        height_px = label.scene_rect().height()
        view = plot.plot.getViewBox()
        area = view.sceneBoundingRect()
        floor_px = area.bottom() - 3.0 - offset_px  # too near the bottom for the label beneath it
        roof_px = floor_px - height_px - 7.0  # a 7-px window for the label's top, under a line's pitch
        heights_px = [floor_px, *np.arange(roof_px, area.top(), -box_px)]
        values = [view.mapSceneToView(QtCore.QPointF(area.center().x(), y)).y() for y in heights_px]
        plot.set_lanes([f"lane {i}" for i in range(len(values))])
        steps = np.arange(0.0, 101.0)
        for lane, value in enumerate(values):
            plot.set_series(lane, steps, np.full(steps.size, value))
        plot.plot.setYRange(0, 1, padding=0)
        plot.markers.settle()
        plot.markers.place_labels()
        rect = label.scene_rect()
        assert label.isVisible() and not _crosses(plot, label), offset_px
        assert roof_px < rect.top() and rect.bottom() < floor_px, offset_px


@pytest.mark.parametrize("seed", range(25))
def test_a_columns_cheapest_row_is_the_first_least_covering_rectangle(seed):
    """All rows of a column are weighed at once; the answer must be that of weighing each
    rectangle by itself (:meth:`Obstacles.cost`), the first of equals included."""
    from muonscope.widgets.marker_places import Curve, Obstacles

    rng = np.random.default_rng(seed)
    curves = [
        Curve(np.sort(rng.uniform(0, 100, 30)), rng.uniform(0, 1, 30), 5.0, 10.0, -200.0, 220.0)
        for _ in range(rng.integers(0, 4))
    ]
    labels = [
        QtCore.QRectF(*rng.uniform(0, 450, 2), *rng.uniform(0, 90, 2)) for _ in range(rng.integers(0, 6))
    ]
    left, width, height = rng.uniform(0, 400), rng.uniform(5, 150), rng.uniform(10, 60)
    tops = np.arange(20.0, 240.0, rng.uniform(4, 20))
    if seed % 5 == 0:
        labels.append(QtCore.QRectF(100, 50, 0, 40))  # an empty rectangle covers nothing
    obstacles = Obstacles(curves, labels, list(rng.uniform(0, 500, 3)), rng.choice([None, 250.0]))
    row, covered = obstacles.cheapest_row(left, width, height, tops)
    each = [obstacles.cost(QtCore.QRectF(left, top, width, height)) for top in tops]
    expected = min(range(len(tops)), key=lambda i: (each[i], i))
    assert (row, covered) == (expected, each[expected])


@pytest.mark.parametrize(("cursor_x", "through"), [(100.4, False), (99.0, False), (90.0, True), (1.0, False)])
def test_the_cursor_along_a_labels_padding_does_not_run_through_its_words(cursor_x, through):
    """A label right of a change, as wide as the room up to the cursor at the newest step, ended
    0.6 px past it: counted as crossed, it went to the other side, under six curves."""
    from muonscope.widgets.marker_label import TEXT_MARGIN_PX
    from muonscope.widgets.marker_places import Obstacles

    assert TEXT_MARGIN_PX > 1.0
    obstacles = Obstacles([], [], [], cursor_x)
    rect = QtCore.QRectF(0.0, 0.0, 100.6, 20.0)
    assert obstacles.cost(rect)[2] == int(through)
    _row, covered = obstacles.cheapest_row(rect.left(), rect.width(), rect.height(), np.array([0.0]))
    assert covered[2] == int(through)


def test_a_label_touching_a_row_s_edge_does_not_cover_it():
    """As QRectF.intersects has it: rectangles that share an edge do not overlap."""
    from muonscope.widgets.marker_places import Obstacles

    tops = np.array([0.0, 10.0, 20.0, 30.0])
    above = QtCore.QRectF(0, -50, 40, 65)  # over rows 0 and 1
    below = QtCore.QRectF(0, 30, 40, 50)  # from row 2's bottom edge down
    beside = QtCore.QRectF(40, 0, 30, 100)  # from the column's right edge on
    row, covered = Obstacles([], [above, below, beside], []).cheapest_row(0.0, 40.0, 10.0, tops)
    assert (row, covered) == (2, (0, 0, 0, 0))


def test_the_panels_note_keeps_off_the_step_cursor_and_the_changes_lines(qtbot):
    """② drew the step cursor, at the newest step, through its note's last letter."""
    plot = _plot(qtbot, 600, curves=((0.1, 0.2),))
    plot.set_note("r = 10, of M")
    assert plot.note_corner == "top right"  # nothing there yet
    box = plot.plot.getViewBox()
    for line, step in ((plot.markers.cursor, 97.0), (None, 95.0)):
        if line is None:  # a change's line where the note has gone
            plot.markers.set_events([(int(step), "label noise 0 → 0.1")])
            line = plot.markers.lines[0]
        else:
            plot.markers.set_cursor(step)
        plot.set_note("r = 10, of M")  # as each frame does, after the cursor and markers are set
        scene_x = box.mapViewToScene(QtCore.QPointF(line.value(), 0.5)).x()
        note = plot.note_scene_rect
        assert not note.left() <= scene_x <= note.right(), (plot.note_corner, step)
    assert not plot.note_under_curves
