"""Where a change's label may stand beside its line: the shapes it can take, the rows it can sit in,
and what each place covers (other labels, other changes' lines, the step cursor, the curves).

Pure geometry in the view box's scene pixels; :mod:`muonscope.widgets.event_markers` owns the labels
and lines and asks :func:`place_beside` for a place.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore

from muonscope.widgets.marker_label import (
    MIN_WRAP_PX,
    TEXT_MARGIN_PX,
    LabelFit,
    MarkerLabel,
    elided_fit,
    row_tops,
    show_fit,
    whole_fit,
)

__all__ = ["FINE_ROWS_PER_LINE", "GAP_PX", "MOST_LINES", "Curve", "Obstacles", "curve_in", "place_beside"]

#: Pixels between a label and its line.
GAP_PX = 4.0
#: The most lines a label's whole text is wrapped onto; a label that needs more is shortened.
MOST_LINES = 4
#: Rows per line of text looked at where no row a line apart is clear of the curves.
FINE_ROWS_PER_LINE = 3
#: Pixels a curve's drawn line reaches past its points' own y: half its pen and its antialiasing.
#: A curve 1 px above a label's box was counted clear of it, and drawn along its edge.
CURVE_REACH_PX = 1.0


@dataclass(frozen=True)
class Curve:
    """A curve's points as drawn (view coordinates, ascending x) and the map from its view to the scene."""

    x: np.ndarray
    y: np.ndarray
    scale_x: float
    offset_x: float
    scale_y: float
    offset_y: float

    def crosses(self, rect: QtCore.QRectF) -> bool:
        """Whether the polyline through the points passes through ``rect`` (scene pixels)."""
        return _spans_into(self.span(rect.left(), rect.right()), rect)

    def span(self, left: float, right: float) -> tuple[float, float] | None:
        """The scene y interval the polyline's drawn line covers between scene x ``left`` and
        ``right`` (None where it has no point there; CURVE_REACH_PX past its points): a label's rows
        in one column all cross it or not by this."""
        x0, x1 = sorted(((left - self.offset_x) / self.scale_x, (right - self.offset_x) / self.scale_x))
        x, y = self.x, self.y
        if x.size == 0 or x1 < x[0] or x0 > x[-1]:
            return None
        inside = y[np.searchsorted(x, x0, "left") : np.searchsorted(x, x1, "right")]
        ends = np.interp([max(x0, x[0]), min(x1, x[-1])], x, y)  # where the line enters and leaves
        low, high = min(inside.min(initial=np.inf), ends.min()), max(inside.max(initial=-np.inf), ends.max())
        # a continuous line spans [low, high] inside the x range
        top, bottom = sorted((low * self.scale_y + self.offset_y, high * self.scale_y + self.offset_y))
        return top - CURVE_REACH_PX, bottom + CURVE_REACH_PX


def _spans_into(span: tuple[float, float] | None, rect: QtCore.QRectF) -> bool:
    return span is not None and span[0] <= rect.bottom() and span[1] >= rect.top()


@dataclass(frozen=True)
class Obstacles:
    """What a label should not cover, worst first: labels placed before it, other markers' lines (a
    label across another change's line read as that change's), the step cursor (a label it ran
    through lost its words there), then curves (a label lies under them: they still show)."""

    curves: list[Curve]
    labels: list[QtCore.QRectF]
    lines_x: list[float]
    cursor_x: float | None = None

    def spans(self, left: float, right: float) -> list[tuple[float, float] | None]:
        """Each curve's scene y interval between ``left`` and ``right``: taken once per column of
        rows, the rows' costs are comparisons (placing looks at dozens of rows per shape)."""
        return [curve.span(left, right) for curve in self.curves]

    def cost(
        self, rect: QtCore.QRectF, spans: list[tuple[float, float] | None] | None = None
    ) -> tuple[int, int, int, int]:
        """What ``rect`` covers, worst first; ``spans``: :meth:`spans` of its column, where known."""
        spans = self.spans(rect.left(), rect.right()) if spans is None else spans
        return (
            sum(rect.intersects(other) for other in self.labels),
            sum(rect.left() <= x <= rect.right() for x in self.lines_x),
            self._cursor_through(rect.left(), rect.right()),
            sum(_spans_into(span, rect) for span in spans),
        )

    def cheapest_row(
        self, left: float, width: float, height: float, tops: np.ndarray
    ) -> tuple[int, tuple[int, int, int, int]]:
        """Of the rectangles ``width`` × ``height`` at ``left`` and each of ``tops``, the first that
        covers least, as :meth:`cost` counts, with what it covers.

        A column's rows at once: placed one rectangle at a time, a change's labels took 14-30 ms
        to place on the default preset, and the frame that showed a toggle waited for them.
        """
        right, bottoms = left + width, tops + height
        over_labels = np.zeros(tops.size, dtype=int)
        if width > 0 and height > 0:  # as QRectF.intersects: an empty rectangle meets nothing
            for other in self.labels:
                if other.width() > 0 and other.height() > 0 and other.left() < right and left < other.right():
                    over_labels += (other.top() < bottoms) & (tops < other.bottom())
        over_curves = np.zeros(tops.size, dtype=int)
        for span in self.spans(left, right):
            if span is not None:
                over_curves += (span[0] <= bottoms) & (span[1] >= tops)
        across_lines = sum(left <= line <= right for line in self.lines_x)
        across_cursor = self._cursor_through(left, right)
        row = int(np.lexsort((np.arange(tops.size), over_curves, over_labels))[0])
        return row, (int(over_labels[row]), across_lines, across_cursor, int(over_curves[row]))

    def _cursor_through(self, left: float, right: float) -> int:
        """1 where the cursor runs through the text between ``left`` and ``right`` (along the label's
        padding it crosses no word: at the newest step it ran 0.6 px into a label's edge, which was
        then put under six curves on the line's other side), else 0."""
        inside = left + TEXT_MARGIN_PX < (self.cursor_x or 0.0) < right - TEXT_MARGIN_PX
        return int(self.cursor_x is not None and inside)

    def room_between(self, x: float, area: QtCore.QRectF) -> dict[str, float]:
        """Pixels beside the line at ``x`` up to the next marker line or the cursor (or the area's
        edge) on each side."""
        stops = [*self.lines_x, *(() if self.cursor_x is None else (self.cursor_x,))]
        right = min([area.right(), *(other - GAP_PX for other in stops if other > x)])
        left = max([area.left(), *(other + GAP_PX for other in stops if other < x)])
        return {"right": right - x - GAP_PX, "left": x - GAP_PX - left}


def place_beside(
    label: MarkerLabel,
    x: float,
    area: QtCore.QRectF,
    obstacles: Obstacles,
) -> QtCore.QRectF | None:
    """The best rectangle for ``label`` beside the line at scene x ``x`` (the label is set to fit
    it), or None where it has no room: lower than the plot, or over another label or across
    another change's line however short.

    Whole and as wide as the room allows, or as the room up to the next marker line allows,
    first; where that covers a curve, a line or another label, narrower shapes of it (on two or
    three lines); where it would still cover another label or line, shorter single lines (its
    whole text on hover), and where it would still cover curves, a shorter line clear of them
    that keeps its first change. A whole shape takes at most MOST_LINES lines: an eight-line column
    squeezed beside a line read worse than the shortened label.
    """
    rooms = {"right": area.right() - x - GAP_PX, "left": x - GAP_PX - area.left()}
    between = obstacles.room_between(x, area)
    widths = list(rooms.items())
    widths += [(side, room) for side, room in between.items() if room < rooms[side]]
    shapes = _whole_shapes(label, widths, area)
    whole = bool(shapes)
    if not whole:  # too long even wrapped: shortened on the roomier side, whole on hover
        side = max(rooms, key=rooms.get)
        shapes = [(side, elided_fit(label, rooms[side]))]
    best = _best(shapes, x, area, obstacles, label)
    if whole and best[0][:4] != (0, 0, 0, 0) and (narrower := _narrower_shapes(label, rooms, area)):
        best = min(best, _best(narrower, x, area, obstacles, label), key=lambda found: found[0])
    if best[0][:3] != (0, 0, 0) and (shorter := _shorter_shapes(label, widths)):
        # over another label, line or the cursor: a shorter line beside it, if one is clear
        best = min(best, _best(shorter, x, area, obstacles, label), key=lambda found: found[0])
    if best[0][:4] != (0, 0, 0, 0) and best[0][:3] == (0, 0, 0):
        # under curves wherever it stands whole: one clear line that still names the first change
        best = _clear_instead(best, _telling_shapes(label, widths), x, area, obstacles, label)
    cost, rect, fit = best
    if cost[0] > 0 or cost[1] > 0 or rect.height() > area.height():
        return None  # over another label, or across another change's line, where it reads as that one's
    show_fit(label, fit)
    return rect


def _whole_shapes(
    label: MarkerLabel, widths: list[tuple[str, float]], area: QtCore.QRectF
) -> list[tuple[str, LabelFit]]:
    """The label whole, as wide as each room allows, on the sides where that shape fits the plot."""
    return [
        (side, fit)
        for side, room in widths
        if (fit := whole_fit(label, room)) is not None and _fits(fit, area)
    ]


def _narrower_shapes(
    label: MarkerLabel, rooms: dict[str, float], area: QtCore.QRectF
) -> list[tuple[str, LabelFit]]:
    """The label whole on two or three lines, where one line covers a curve, a line or a label."""
    one_line = whole_fit(label, float("inf")).width
    return [
        (side, fit)
        for parts in (2, 3)
        for side, room in rooms.items()
        if room > one_line / parts
        and (fit := whole_fit(label, one_line / parts)) is not None
        and _fits(fit, area)
    ]


def _shorter_shapes(label: MarkerLabel, widths: list[tuple[str, float]]) -> list[tuple[str, LabelFit]]:
    """The label shortened to a half or a third of each room, its whole text on hover."""
    return [
        (side, elided_fit(label, room / parts))
        for side, room in widths
        for parts in (1, 2, 3)
        if room / parts >= MIN_WRAP_PX
    ]


def _telling_shapes(label: MarkerLabel, widths: list[tuple[str, float]]) -> list[tuple[str, LabelFit]]:
    """The shortened lines that still hold the label's first change ("lane 1 optimizer SGD → SignGD"
    of "…, lr 128 → 0.01"): shortened further, "lane 1 opti…" says nothing, and whole under curves
    reads better. Besides the room's fractions, the line cut just after that change: four changes
    made at one step found no clear place as wide as a half of the room, but one as wide as the
    first change with its ellipsis."""
    first = re.split("[,;] ", label.whole_text)[0]  # "; ": the next change made at the step
    just_first = label.width_of(f"{first}; …")
    shapes = _shorter_shapes(label, widths)
    shapes += [(side, elided_fit(label, just_first)) for side, room in widths if just_first <= room]
    return [(side, fit) for side, fit in shapes if fit.text.startswith(first)]


def _clear_instead(best: tuple, shapes: list[tuple[str, LabelFit]], x, area, obstacles, label) -> tuple:
    """The best of ``shapes`` where it covers nothing at all, or fewer curves than ``best`` wrapped
    onto several lines does (a block of four changes under five of ④'s curves hid them, and read
    worse than one line under two naming the first); else ``best`` as it was."""
    if not shapes:
        return best
    found = _best(shapes, x, area, obstacles, label)
    clear = found[0][:4] == (0, 0, 0, 0)
    covers_less = best[2].lines > 1 and found[0][:3] == (0, 0, 0) and found[0][3] < best[0][3]
    return found if clear or covers_less else best


def _best(
    shapes: list[tuple[str, LabelFit]],
    x: float,
    area: QtCore.QRectF,
    obstacles: Obstacles,
    label: MarkerLabel,
) -> tuple[tuple, QtCore.QRectF, LabelFit]:
    """The cheapest (cost, rectangle, fit) among the rows each (side, fit) shape may take.

    Cost: labels covered, marker lines crossed, the cursor crossed, curves crossed, then lines of
    text (fewer read better), how far down, and left of the line rather than right. Rows a line
    apart first; where none is clear, rows FINE_ROWS_PER_LINE to a line (a line's pitch stepped
    over the gap between a curve at 0 and one above it that a label fitted).
    """
    best = None
    for per_line in (1, FINE_ROWS_PER_LINE):
        if best is not None and best[0][:4] == (0, 0, 0, 0):
            break  # clear at a line's pitch: the finer rows, which cost more, are not needed
        for side, fit in shapes:
            left = x + GAP_PX if side == "right" else x - GAP_PX - fit.width
            tops = np.fromiter(row_tops(area, fit.height, label, per_line), dtype=float)
            row, covered = obstacles.cheapest_row(left, fit.width, fit.height, tops)
            cost = (*covered, fit.lines, row / per_line, side == "left")
            if best is None or cost < best[0]:
                best = (cost, QtCore.QRectF(left, tops[row], fit.width, fit.height), fit)
    return best


def _fits(fit: LabelFit, area: QtCore.QRectF) -> bool:
    """Whether a whole shape of a label fits the area's height in at most MOST_LINES lines."""
    return fit.lines <= MOST_LINES and fit.height <= area.height()


def curve_in(box: pg.ViewBox | None, x: np.ndarray, y: np.ndarray) -> Curve | None:
    """A curve's drawn points (ascending x) with its view's map to the scene; None without a view."""
    if box is None:
        return None
    # the map measured across the view's own range: measured across one unit, a gap axis of 10²⁵
    # moved 10⁻²³ px, lost to rounding, and its curves were missed (labels were drawn over them)
    (x0, x1), (y0, y1) = box.viewRange()
    if not (np.isfinite([x0, x1, y0, y1]).all() and x1 != x0 and y1 != y0):
        return None
    low, high = box.mapViewToScene(QtCore.QPointF(x0, y0)), box.mapViewToScene(QtCore.QPointF(x1, y1))
    scale_x, scale_y = (high.x() - low.x()) / (x1 - x0), (high.y() - low.y()) / (y1 - y0)
    if scale_x == 0 or scale_y == 0 or not np.isfinite([scale_x, scale_y]).all():
        return None
    return Curve(x, y, scale_x, low.x() - x0 * scale_x, scale_y, low.y() - y0 * scale_y)
