"""Where the timeline names a branch: off the other lines and names, and off the step cursor."""

from __future__ import annotations

from PySide6 import QtCore

from muonscope.widgets.branch_label_places import BranchLine, place_branch_labels

AREA = QtCore.QRectF(0, 0, 600, 70)
NAME = QtCore.QSizeF(120, 14)


def _rect(corner: QtCore.QPointF | None) -> QtCore.QRectF:
    assert corner is not None
    return QtCore.QRectF(corner, NAME)


def _crossed(rect: QtCore.QRectF, x: float) -> bool:
    return rect.left() <= x <= rect.right()


def test_a_name_keeps_off_the_cursor_where_another_clear_place_is():
    fork = BranchLine(100, 400, 35, NAME, current=True)
    (first,) = place_branch_labels([fork], AREA)
    cursor = _rect(first).center().x()  # through the name's first place
    (moved,) = place_branch_labels([fork], AREA, cursor)
    assert not _crossed(_rect(moved), cursor)
    assert AREA.contains(_rect(moved))


def test_a_name_crossed_by_the_cursor_everywhere_is_still_written():
    fork = BranchLine(0, 120, 35, NAME, current=False)
    narrow = QtCore.QRectF(0, 0, 130, 70)  # every place inside spans the whole width
    (corner,) = place_branch_labels([fork], narrow, 60.0)
    assert narrow.contains(_rect(corner))


def test_a_name_with_no_room_above_or_beside_its_line_goes_under_it():
    """Squeezed between a line just above and the plot's edges, a fork's name was left out."""
    above = BranchLine(0, 600, 20, NAME, current=True)
    fork = BranchLine(0, 600, 30, NAME)  # as wide as the plot: no room beside it
    current, corner = place_branch_labels([above, fork], AREA)
    rect = _rect(corner)
    assert rect.top() > fork.y_px and not rect.intersects(above.band())
    assert not rect.intersects(_rect(current))


def test_a_name_squeezed_between_longer_lines_stands_level_with_it_past_them():
    """Fork 1 (steps 100–160) sat 6 px between main (0–200) and fork 2 (130–180): no place beside
    its own line was clear, and it went unnamed with the strip empty right of step 200."""
    main = BranchLine(0, 400, 50, NAME)
    fork_1 = BranchLine(200, 320, 44, NAME)
    fork_2 = BranchLine(260, 360, 38, NAME, current=True)
    corners = place_branch_labels([main, fork_1, fork_2], AREA)
    rects = [_rect(corner) for corner in corners]
    named = rects[1]
    assert named.center().y() == fork_1.y_px and named.left() > main.right_px  # level, past main
    for i, rect in enumerate(rects):
        assert AREA.contains(rect)
        assert not any(
            rect.intersects(other.band()) for j, other in enumerate((main, fork_1, fork_2)) if j != i
        )
        assert not any(rect.intersects(other) for j, other in enumerate(rects) if j != i)


def test_a_name_is_not_written_far_past_its_head_where_it_reads_as_another_branchs():
    """Fork 5 (steps 750–900 of 3500) was named at step 3100, after fork 4's line ended: the name
    read as fork 4's, and fork 5's own line went unnamed."""
    wide = QtCore.QRectF(0, 0, 1500, 70)
    main = BranchLine(0, 1400, 50, NAME)
    fork_4 = BranchLine(20, 1300, 44, NAME)
    fork_5 = BranchLine(320, 385, 38, NAME, current=True)  # squeezed under a line just above
    over = BranchLine(100, 1200, 32, NAME)
    corners = place_branch_labels([main, fork_4, fork_5, over], wide)
    named = _rect(corners[2])
    assert named.left() - fork_5.right_px <= NAME.width()  # beside its own line, over others if need be


def test_a_name_keeps_off_the_strips_marks():
    """A change's ▼ at step 25 was drawn over "fork 5 at step 20"."""
    fork = BranchLine(100, 400, 35, NAME, current=False)
    (first,) = place_branch_labels([fork], AREA)
    mark = QtCore.QRectF(_rect(first).center().x() - 4.5, _rect(first).top(), 9, 9)  # on its first place
    (moved,) = place_branch_labels([fork], AREA, marks=[mark])
    assert not _rect(moved).intersects(mark) and AREA.contains(_rect(moved))
