"""Change markers: a dashed line at each step where settings changed, labelled with what changed.

A label is shown whole, inside the plot's data area, off the curves where it can be and never over
another label. It sits beside its line, on whichever side it fits (right first: the change acts
after the line); where it fits on neither side in one line it wraps onto several, narrower ones.
Of the places that fit, the first from the top that crosses no other marker's line and no curve
wins, or where none is clear the one that crosses fewest curves (one under a curve still lets it
show); none crosses another change's line (there it would read as that change's). Only
where it fits nowhere whole in at most MOST_LINES lines (a narrow panel at a large presentation
scale, a crowd of changes) is it shortened, with the whole text on hover, and where even a short
line finds no room (a plot lower than a line of text, changes a few pixels apart) the line shows
alone, its tooltip holding the text. Only the latest LABELLED_CHANGES changes are labelled; older
ones keep their line and its tooltip.

Labels live in the view box's own pixels (not in its scaled data coordinates), so their size is the
text's at any range, and under the curves, so that where a label cannot avoid a curve the data
still shows. Finding a place costs milliseconds per label (dozens of shapes and rows against every
curve), so a new change places its own label only, and while the range moves (every frame of a
playing run) each label keeps its place beside its line; all are placed again when the view is
resized, when a label no longer fits beside its line, and when new data runs under a label that
had been clear of it, at most every PLACE_AGAIN_MS.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtWidgets

from muonscope.widgets.marker_label import (
    MIN_WRAP_PX,
    LabelFit,
    MarkerLabel,
    elided_fit,
    row_tops,
    show_fit,
    whole_fit,
)
from muonscope.widgets.theme import stage_style

__all__ = ["EventMarkers"]

#: Pixels between a label and its line, and between a label and the edge of the data area.
GAP_PX, MARGIN_PX = 4.0, 2.0
#: Placing every label again waits this long after the reason for it, gathering the reasons since.
PLACE_AGAIN_MS = 1000
#: Only the latest changes' labels are shown; older markers keep their line, whose tooltip holds the
#: text (the timeline lists every change). Thirty labels took 90 ms to place, and a change made while
#: playing waited for them.
LABELLED_CHANGES = 6
#: The most lines a label's whole text is wrapped onto; a label that needs more is shortened.
MOST_LINES = 4
#: Rows per line of text looked at where no row a line apart is clear of the curves.
FINE_ROWS_PER_LINE = 3


@dataclass(frozen=True)
class _Curve:
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
        """The scene y interval the polyline covers between scene x ``left`` and ``right`` (None
        where it has no point there): a label's rows in one column all cross it or not by this."""
        x0, x1 = sorted(((left - self.offset_x) / self.scale_x, (right - self.offset_x) / self.scale_x))
        x, y = self.x, self.y
        if x.size == 0 or x1 < x[0] or x0 > x[-1]:
            return None
        inside = y[np.searchsorted(x, x0, "left") : np.searchsorted(x, x1, "right")]
        ends = np.interp([max(x0, x[0]), min(x1, x[-1])], x, y)  # where the line enters and leaves
        low, high = min(inside.min(initial=np.inf), ends.min()), max(inside.max(initial=-np.inf), ends.max())
        # a continuous line spans [low, high] inside the x range
        top, bottom = sorted((low * self.scale_y + self.offset_y, high * self.scale_y + self.offset_y))
        return top, bottom


def _spans_into(span: tuple[float, float] | None, rect: QtCore.QRectF) -> bool:
    return span is not None and span[0] <= rect.bottom() and span[1] >= rect.top()


@dataclass(frozen=True)
class _Obstacles:
    """What a label should not cover, worst first: labels placed before it, other markers' lines (a
    label across another change's line read as that change's), the step cursor (a label it ran
    through lost its words there), then curves (a label lies under them: they still show)."""

    curves: list[_Curve]
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
            int(self.cursor_x is not None and rect.left() <= self.cursor_x <= rect.right()),
            sum(_spans_into(span, rect) for span in spans),
        )

    def room_between(self, x: float, area: QtCore.QRectF) -> dict[str, float]:
        """Pixels beside the line at ``x`` up to the next marker line or the cursor (or the area's
        edge) on each side."""
        stops = [*self.lines_x, *(() if self.cursor_x is None else (self.cursor_x,))]
        right = min([area.right(), *(other - GAP_PX for other in stops if other > x)])
        left = max([area.left(), *(other + GAP_PX for other in stops if other < x)])
        return {"right": right - x - GAP_PX, "left": x - GAP_PX - left}


class EventMarkers:
    """Labelled vertical lines at the steps where settings changed, plus the shared step cursor.

    ``avoid``: further view boxes whose curves the labels keep off too (panel ④'s accuracy axis);
    ``keep_off``: where the panel's corner note stands, kept off as a label is (a change's label went
    under ②'s note).
    """

    def __init__(
        self,
        plot: pg.PlotItem,
        avoid: Sequence[pg.ViewBox] = (),
        keep_off: Callable[[], QtCore.QRectF | None] = lambda: None,
    ) -> None:
        self._plot = plot
        self._avoid = tuple(avoid)
        self._keep_off = keep_off  # where the plot's corner note is (None: none shown)
        self._lines: list[pg.InfiniteLine] = []
        self._labels: list[MarkerLabel] = []
        self._shown: tuple[tuple[int, str], ...] = ()
        self._crossings = 0  # curves the labels cover as last placed (more: place them again)
        self._offsets: dict[int, float] = {}  # shown label → its left edge from its line (scene px)
        self._tried: set[int] = set()  # labels whose line was in view when last placed (found room or not)
        self._again = QtCore.QTimer(plot.getViewBox())  # goes with the plot: never fires after it
        self._again.setSingleShot(True)
        self._again.setInterval(PLACE_AGAIN_MS)
        self._again.timeout.connect(self.place_labels)
        self._visible = True
        self.cursor = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen("#888888", width=1))
        self.cursor.setZValue(-10)
        plot.addItem(self.cursor, ignoreBounds=True)
        box = plot.getViewBox()
        box.sigRangeChanged.connect(self._follow_lines)
        box.sigResized.connect(lambda *_args: self.place_labels())

    def set_events(self, events: list[tuple[int, str]]) -> None:
        """Show one marker per (step, text); new events are appended, the rest left as they are."""
        events = tuple(events)
        if events == self._shown:
            return
        known = len(self._shown)
        if events[:known] != self._shown:  # not a continuation (a reset): start over
            self._clear()
            known = 0
        for step, text in events[known:]:
            self._add(step, text)
        self._shown = events
        self.place_labels(range(known, len(events)) if known else None)

    def restyle(self) -> None:
        """Redraw the markers in the stage's style (presentation scale or theme changed)."""
        events, self._shown = self._shown, ()
        self._clear()
        self.set_events(list(events))

    @property
    def lines(self) -> tuple[pg.InfiniteLine, ...]:
        """The markers drawn, in the order of their events."""
        return tuple(self._lines)

    @property
    def labels(self) -> tuple[MarkerLabel, ...]:
        """Each marker's label, in the order of their events (hidden while its line is out of view)."""
        return tuple(self._labels)

    @property
    def texts(self) -> list[str]:
        return [text for _step, text in self._shown]

    def set_cursor(self, step: int) -> None:
        self.cursor.setValue(step)

    def set_visible(self, visible: bool) -> None:
        """Show or hide the markers and the cursor (a panel whose x axis is not steps hides them)."""
        self._visible = visible
        for item in (self.cursor, *self._lines):
            item.setVisible(visible)
        self.place_labels()

    @property
    def visible(self) -> bool:
        return self._visible

    def keep_clear(self) -> None:
        """The curves or the cursor moved: place the labels again if one now covers a curve, or the
        cursor runs through one, where it did not."""
        if self._labels and self._count_crossings(self._curves()) > self._crossings:
            self._place_again_soon()
        elif self._under_the_note():
            self._place_again_soon()

    @property
    def placing_waits(self) -> bool:
        """Whether the labels wait to be placed again (see :meth:`settle`)."""
        return self._again.isActive()

    def settle(self) -> None:
        """Place the labels now if a placing is waiting (it gathers reasons for PLACE_AGAIN_MS): a
        picture taken offscreen right after the curves grew under a label showed it there, and
        whether it did hung on the clock, not on the steps drawn."""
        if self.placing_waits:
            self.place_labels()

    def _under_the_note(self) -> bool:
        note = self._keep_off()
        return note is not None and any(
            label.isVisible() and label.scene_rect().intersects(note) for label in self._labels
        )

    # ---- placing -----------------------------------------------------------------------------

    def place_labels(self, which: Iterable[int] | None = None) -> None:
        """Put labels where they show whole, off the curves and the other labels where they can:
        every label, or only those ``which`` (new ones), around the others as they stand."""
        box = self._plot.getViewBox()
        area = box.sceneBoundingRect().adjusted(MARGIN_PX, MARGIN_PX, -MARGIN_PX, -MARGIN_PX)
        (left, right), _ = box.viewRange()
        curves = self._curves()
        lines_x = self._lines_x()
        cursor_x = box.mapViewToScene(QtCore.QPointF(self.cursor.value(), 0.0)).x()
        cursor_x = cursor_x if self.cursor.isVisible() else None
        first = max(0, len(self._labels) - LABELLED_CHANGES)
        indices = range(first, len(self._labels)) if which is None else [i for i in which if i >= first]
        if which is None:
            self._again.stop()
            self._offsets.clear()
            self._tried.clear()
        for i in range(first):  # too old to be labelled: the line alone
            self._labels[i].hide()
            self._offsets.pop(i, None)
        taken = [self._labels[i].scene_rect() for i in self._offsets if i not in indices]
        note = self._keep_off()
        if note is not None:
            taken.append(note)
        for i in indices:
            line, label = self._lines[i], self._labels[i]
            self._offsets.pop(i, None)
            step = line.value()
            if not (self._visible and left <= step <= right and area.width() > 0 and area.height() > 0):
                label.hide()
                continue
            x = box.mapViewToScene(QtCore.QPointF(step, 0.0)).x()
            others = [other for other in lines_x if other != x]
            self._tried.add(i)
            cursor = None if cursor_x == x else cursor_x
            rect = self._place(label, x, area, _Obstacles(curves, taken, others, cursor))
            if rect is None:  # no room for it: the line alone (its tooltip and the timeline say what changed)
                label.hide()
                continue
            label.setPos(box.mapFromScene(rect.topLeft()))
            label.show()
            taken.append(rect)
            self._offsets[i] = rect.left() - x
        self._crossings = self._count_crossings(curves)

    def _follow_lines(self, *_args) -> None:
        """The range moved: each shown label moves with its line; where one no longer fits beside it,
        or a line without a label came into view, every label is placed again soon."""
        box = self._plot.getViewBox()
        area = box.sceneBoundingRect().adjusted(MARGIN_PX, MARGIN_PX, -MARGIN_PX, -MARGIN_PX)
        (left, right), _ = box.viewRange()
        again = False
        first = max(0, len(self._labels) - LABELLED_CHANGES)
        lines_x = self._lines_x()
        moved: list[QtCore.QRectF] = []
        for i, (line, label) in enumerate(zip(self._lines, self._labels, strict=True)):
            if i < first:
                continue
            in_view = self._visible and left <= line.value() <= right
            if i not in self._offsets:
                again |= in_view and i not in self._tried  # came into view since: a place for it?
                continue
            x = lines_x[i]
            rect = label.scene_rect()
            rect.moveLeft(x + self._offsets[i])
            if not in_view or rect.left() < area.left() or rect.right() > area.right():
                label.hide()
                del self._offsets[i]
                self._tried.discard(i)
                again |= in_view
                continue
            label.setPos(box.mapFromScene(rect.topLeft()))
            # the steps drew closer as the axis grew: a label placed clear of the other lines and
            # labels may now reach across them (one left of step 101 ran over step 50's line)
            again |= _lines_across(rect, lines_x, i) > 0  # placing never leaves one across a line
            again |= any(rect.intersects(other) for other in moved)
            moved.append(rect)
        if again:
            self._place_again_soon()

    def _lines_x(self) -> list[float]:
        """Each marker line's scene x, in the order of their events."""
        box = self._plot.getViewBox()
        return [box.mapViewToScene(QtCore.QPointF(line.value(), 0.0)).x() for line in self._lines]

    def _place_again_soon(self) -> None:
        if not self._again.isActive():
            self._again.start()

    def _place(
        self,
        label: MarkerLabel,
        x: float,
        area: QtCore.QRectF,
        obstacles: _Obstacles,
    ) -> QtCore.QRectF | None:
        """The best rectangle for ``label`` beside the line at scene x ``x`` (the label is set to fit
        it), or None where it has no room: lower than the plot, or over another label or across
        another change's line however short.

        Whole and as wide as the room allows, or as the room up to the next marker line allows,
        first; where that covers a curve, a line or another label, narrower shapes of it (on two or
        three lines); where it would still cover another label or line, shorter single lines (its
        whole text on hover). A whole shape takes at most MOST_LINES lines: an eight-line column
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
        cost, rect, fit = best
        if cost[0] > 0 or cost[1] > 0 or rect.height() > area.height():
            return None  # over another label, or across another change's line, where it reads as that one's
        show_fit(label, fit)
        return rect

    def _curves(self) -> list[_Curve]:
        """Every visible curve of the plot (and of the avoided views), as drawn."""
        items: list[QtWidgets.QGraphicsItem] = list(self._plot.listDataItems())
        for view in self._avoid:
            items += [item for item in view.addedItems if isinstance(item, pg.PlotDataItem)]
        curves = []
        for item in items:
            if not item.isVisible() or not isinstance(item, pg.PlotDataItem):
                continue
            x, y = item.getData()
            if x is None or len(x) == 0:
                continue
            finite = np.isfinite(x) & np.isfinite(y)
            x, y = np.asarray(x, float)[finite], np.asarray(y, float)[finite]
            if x.size and np.any(np.diff(x) < 0):
                order = np.argsort(x, kind="stable")
                x, y = x[order], y[order]
            curves.append(_curve(item.getViewBox(), x, y))
        return [curve for curve in curves if curve is not None]

    def _count_crossings(self, curves: list[_Curve]) -> int:
        """Curves over shown labels, and the step cursor through one (it moves as the run plays)."""
        shown = [label.scene_rect() for label in self._labels if label.isVisible()]
        cursor_x = self._plot.getViewBox().mapViewToScene(QtCore.QPointF(self.cursor.value(), 0.0)).x()
        through = self.cursor.isVisible() and any(rect.left() <= cursor_x <= rect.right() for rect in shown)
        return sum(curve.crosses(rect) for rect in shown for curve in curves) + through

    # ---- items -------------------------------------------------------------------------------

    def _add(self, step: int, text: str) -> None:
        style = stage_style()
        pen = pg.mkPen(style.colours.muted, width=style.scale, style=QtCore.Qt.PenStyle.DashLine)
        line = pg.InfiniteLine(pos=step, angle=90, pen=pen)
        line.setToolTip(text)
        line.setVisible(self._visible)
        self._plot.addItem(line, ignoreBounds=True)
        label = MarkerLabel(text, self._plot.getViewBox())
        label.hide()
        self._lines.append(line)
        self._labels.append(label)

    def _clear(self) -> None:
        for line in self._lines:
            self._plot.removeItem(line)
        for label in self._labels:
            label.setParentItem(None)
            if label.scene() is not None:
                label.scene().removeItem(label)
        self._lines, self._labels = [], []
        self._offsets.clear()
        self._tried.clear()


def _lines_across(rect: QtCore.QRectF, lines_x: list[float], own: int) -> int:
    """How many marker lines other than the label's own (index ``own``) run through ``rect``."""
    return sum(rect.left() <= x <= rect.right() for j, x in enumerate(lines_x) if j != own)


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


def _best(
    shapes: list[tuple[str, LabelFit]],
    x: float,
    area: QtCore.QRectF,
    obstacles: _Obstacles,
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
            spans = obstacles.spans(left, left + fit.width)
            for row, top in enumerate(row_tops(area, fit.height, label, per_line)):
                rect = QtCore.QRectF(left, top, fit.width, fit.height)
                cost = (*obstacles.cost(rect, spans), fit.lines, row / per_line, side == "left")
                if best is None or cost < best[0]:
                    best = (cost, rect, fit)
    return best


def _fits(fit: LabelFit, area: QtCore.QRectF) -> bool:
    """Whether a whole shape of a label fits the area's height in at most MOST_LINES lines."""
    return fit.lines <= MOST_LINES and fit.height <= area.height()


def _curve(box: pg.ViewBox | None, x: np.ndarray, y: np.ndarray) -> _Curve | None:
    if box is None:
        return None
    origin = box.mapViewToScene(QtCore.QPointF(0.0, 0.0))
    unit = box.mapViewToScene(QtCore.QPointF(1.0, 1.0))
    scale_x, scale_y = unit.x() - origin.x(), unit.y() - origin.y()
    if scale_x == 0 or scale_y == 0 or not np.isfinite([scale_x, scale_y]).all():
        return None
    return _Curve(x, y, scale_x, origin.x(), scale_y, origin.y())
