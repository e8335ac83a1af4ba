"""Change markers: a dashed line at each step where settings changed, labelled with what changed.

A label is shown whole, inside the plot's data area, off the curves where it can be and never over
another label. It sits beside its line, on whichever side it fits (right first: the change acts
after the line); where it fits on neither side in one line it wraps onto several, narrower ones.
Of the places that fit, the first from the top that crosses no other marker's line and no curve
wins; where none is clear, one line clear of everything that still names its first change (the
rest on hover), else the place that crosses fewest curves (one under a curve still lets it show);
none crosses another change's line (there it would read as that change's). Only
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
resized, when a label no longer fits beside its line, when new data runs under a label that had
been clear of it, and when the cursor has moved off the room a shortened label was squeezed into,
at most every PLACE_AGAIN_MS.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtWidgets

from muonscope.widgets.marker_label import TEXT_MARGIN_PX, MarkerLabel
from muonscope.widgets.marker_places import Curve, Obstacles, curve_in, place_beside
from muonscope.widgets.theme import stage_style

__all__ = ["EventMarkers"]

#: Pixels between a label and the edge of the data area.
MARGIN_PX = 2.0
#: Placing labels again waits this long after the reason for it, gathering the reasons since.
PLACE_AGAIN_MS = 1000
#: A placing due sooner than this after a new change waits this long: the frame that shows the
#: change is painted first (placed just before it, the labels held that frame for 30-70 ms while a
#: run played). It waits so at most PLACE_AGAIN_MS more, however fast changes come.
YIELD_TO_A_CHANGE_MS = 250
#: Only the latest changes' labels are shown; older markers keep their line, whose tooltip holds the
#: text (the timeline lists every change). Thirty labels took 90 ms to place, and a change made while
#: playing waited for them.
LABELLED_CHANGES = 6
#: A label that found no room beside its line is placed again once that room has grown by this much
#: (scene px): while a run plays, the axis grows a little every frame.
ROOM_GROWN_PX = 24.0


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
        labels_in: pg.ViewBox | None = None,
    ) -> None:
        """``avoid``: other view boxes whose curves the labels keep off; ``labels_in``: the box the
        labels are drawn in (default: the plot's own), the lowest of them, so that every curve is
        drawn over a label: ④'s accuracy box lies under the plot's, and its curves vanished under
        a label drawn in the plot's box."""
        self._plot = plot
        self._avoid = tuple(avoid)
        self._labels_in = plot.getViewBox() if labels_in is None else labels_in
        self._keep_off = keep_off  # where the plot's corner note is (None: none shown)
        self._lines: list[pg.InfiniteLine] = []
        self._labels: list[MarkerLabel] = []
        self._shown: tuple[tuple[int, str], ...] = ()
        self._crossings: tuple[int, ...] = ()  # curves each label covers as last placed (more: again)
        self._placed_at_cursor: dict[int, float] = {}  # label → where the cursor stood when it was placed
        self._waiting: set[int] | None = set()  # labels to place again soon (None: all of them)
        self._waiting_since = 0.0  # time.monotonic() when the placing that waits was asked for
        self._offsets: dict[int, float] = {}  # shown label → its left edge from its line (scene px)
        # labels whose line was in view when last placed (found room or not), with the room beside
        # the line then (scene px, the wider side): one that found none is tried again as that grows
        self._tried: dict[int, float] = {}
        self._again = QtCore.QTimer(plot.getViewBox())  # goes with the plot: never fires after it
        self._again.setSingleShot(True)
        self._again.timeout.connect(self._place_waiting)
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
        self._yield_to_the_change()

    def _yield_to_the_change(self) -> None:
        """Put off a placing due within YIELD_TO_A_CHANGE_MS, unless it has waited long already."""
        waited_ms = 1000 * (time.monotonic() - self._waiting_since)
        due_soon = self._again.isActive() and self._again.remainingTime() < YIELD_TO_A_CHANGE_MS
        if due_soon and waited_ms < 2 * PLACE_AGAIN_MS:
            self._again.start(YIELD_TO_A_CHANGE_MS)

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
        """The curves or the cursor moved: place a label again soon if it now covers a curve, or the
        cursor runs through it, where it did not. Only those labels move: the others stay where
        they stand (placing every label again cost 20-40 ms a panel while a run played, and moved
        labels that were still clear)."""
        if self._labels and (reasons := self._reasons_to_move()):
            self._place_again_soon(reasons)

    @property
    def placing_waits(self) -> bool:
        """Whether the labels wait to be placed again (see :meth:`settle`)."""
        return self._again.isActive()

    def settle(self) -> None:
        """Place the labels now if a placing is waiting (it gathers reasons for PLACE_AGAIN_MS): a
        picture taken offscreen right after the curves grew under a label showed it there, and
        whether it did hung on the clock, not on the steps drawn."""
        if self.placing_waits:
            self._again.stop()
            self._place_waiting()

    def _reasons_to_move(self) -> set[int]:
        """The labels that cover more curves than when they were placed, lie under the corner
        note, or were pushed by a cursor that has moved on."""
        counts = self._count_crossings(self._curves())
        placed = self._crossings
        more = {i for i, now in enumerate(counts) if now > (placed[i] if i < len(placed) else 0)}
        return more | self._under_the_note() | self._pushed_by_a_cursor_gone()

    def _place_waiting(self) -> None:
        """Place the labels gathered since the last placing, and any with a reason to move now."""
        waiting, self._waiting = self._waiting, set()
        if waiting is None:
            self.place_labels()
        elif waiting := waiting | self._reasons_to_move():
            self.place_labels(sorted(waiting))

    def _pushed_by_a_cursor_gone(self) -> set[int]:
        """Whether a label was shortened, or put under curves, while the cursor stood elsewhere.

        Squeezed between the cursor and its line (a divergence at the newest step, drawn while the
        view was a step behind), a label stayed "lane …" once the cursor had moved onto its line and
        left room for it whole; kept off a recording's cursor just right of its line, one went under
        six curves on the other side and stayed there when the cursor moved on.
        """
        cursor = self.cursor.value()
        return {
            i
            for i, (label, crossed) in enumerate(zip(self._labels, self._crossings, strict=False))
            if self._placed_at_cursor.get(i) != cursor and label.isVisible() and (label.elided or crossed > 0)
        }

    def _under_the_note(self) -> set[int]:
        note = self._keep_off()
        if note is None:
            return set()
        return {
            i
            for i, label in enumerate(self._labels)
            if label.isVisible() and label.scene_rect().intersects(note)
        }

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
            self._waiting = set()
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
            self._tried[i] = _room_beside(x, lines_x, area)
            cursor = None if cursor_x == x else cursor_x
            rect = place_beside(label, x, area, Obstacles(curves, taken, others, cursor))
            if rect is None:  # no room for it: the line alone (its tooltip and the timeline say what changed)
                label.hide()
                continue
            label.setPos(self._labels_in.mapFromScene(rect.topLeft()))
            label.show()
            taken.append(rect)
            self._offsets[i] = rect.left() - x
        self._note_placed(indices if which is not None else range(len(self._labels)), curves)

    def _note_placed(self, placed: Iterable[int], curves: list[Curve]) -> None:
        """Remember what each label just placed covers and where the cursor stood: a label moves
        again only when it comes to cover more, or the cursor it kept off moves on."""
        counts = self._count_crossings(curves)
        kept = list(self._crossings[: len(counts)]) + [0] * max(0, len(counts) - len(self._crossings))
        for i in placed:
            kept[i] = counts[i]
            self._placed_at_cursor[i] = self.cursor.value()
        self._crossings = tuple(kept)

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
        roomier: set[int] = set()
        for i, (line, label) in enumerate(zip(self._lines, self._labels, strict=True)):
            if i < first:
                continue
            in_view = self._visible and left <= line.value() <= right
            if i not in self._offsets:
                again |= in_view and i not in self._tried  # came into view since: a place for it?
                if (
                    in_view
                    and i in self._tried
                    and _room_beside(lines_x[i], lines_x, area) > (self._tried[i] + ROOM_GROWN_PX)
                ):  # the axis grew since it found no room: a change at the newest step had none
                    roomier.add(i)
                continue
            x = lines_x[i]
            rect = label.scene_rect()
            rect.moveLeft(x + self._offsets[i])
            if not in_view or rect.left() < area.left() or rect.right() > area.right():
                label.hide()
                del self._offsets[i]
                self._tried.pop(i, None)
                again |= in_view
                continue
            label.setPos(self._labels_in.mapFromScene(rect.topLeft()))
            # the steps drew closer as the axis grew: a label placed clear of the other lines and
            # labels may now reach across them (one left of step 101 ran over step 50's line)
            again |= _lines_across(rect, lines_x, i) > 0  # placing never leaves one across a line
            again |= any(rect.intersects(other) for other in moved)
            moved.append(rect)
        if again:
            self._place_again_soon()
        elif roomier:
            self._place_again_soon(roomier)

    def _lines_x(self) -> list[float]:
        """Each marker line's scene x, in the order of their events."""
        box = self._plot.getViewBox()
        return [box.mapViewToScene(QtCore.QPointF(line.value(), 0.0)).x() for line in self._lines]

    def _place_again_soon(self, which: Iterable[int] | None = None) -> None:
        """Place ``which`` labels (None: all of them) when the gathering time is up."""
        if which is None or self._waiting is None:
            self._waiting = None
        else:
            self._waiting |= set(which)
        if not self._again.isActive():
            self._waiting_since = time.monotonic()
            self._again.start(PLACE_AGAIN_MS)

    def _curves(self) -> list[Curve]:
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
            curves.append(curve_in(item.getViewBox(), x, y))
        return [curve for curve in curves if curve is not None]

    def _count_crossings(self, curves: list[Curve]) -> tuple[int, ...]:
        """Per label (0 where hidden): the curves over it, plus one where the step cursor runs through
        it (it moves as the run plays). Counted per label: a total let a curve newly across one label
        pass unseen where the range's rescaling took another label off a curve at the same time."""
        box = self._plot.getViewBox()
        cursor_x = box.mapViewToScene(QtCore.QPointF(self.cursor.value(), 0.0)).x()
        counts = []
        for label in self._labels:
            if not label.isVisible():
                counts.append(0)
                continue
            rect = label.scene_rect()
            through = self.cursor.isVisible() and (
                rect.left() + TEXT_MARGIN_PX < cursor_x < rect.right() - TEXT_MARGIN_PX
            )  # along its padding the cursor crosses no word
            counts.append(sum(curve.crosses(rect) for curve in curves) + through)
        return tuple(counts)

    # ---- items -------------------------------------------------------------------------------

    def _add(self, step: int, text: str) -> None:
        style = stage_style()
        pen = pg.mkPen(style.colours.muted, width=style.scale, style=QtCore.Qt.PenStyle.DashLine)
        line = pg.InfiniteLine(pos=step, angle=90, pen=pen)
        line.setToolTip(text)
        line.setVisible(self._visible)
        self._plot.addItem(line, ignoreBounds=True)
        label = MarkerLabel(text, self._labels_in)
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
        self._crossings, self._waiting = (), set()
        self._placed_at_cursor.clear()


def _room_beside(x: float, lines_x: list[float], area: QtCore.QRectF) -> float:
    """The wider of the rooms left and right of the line at scene x ``x``, up to the next line or
    the edge of the data area."""
    right = min([other for other in lines_x if other > x] + [area.right()]) - x
    left = x - max([other for other in lines_x if other < x] + [area.left()])
    return max(left, right)


def _lines_across(rect: QtCore.QRectF, lines_x: list[float], own: int) -> int:
    """How many marker lines other than the label's own (index ``own``) run through ``rect``."""
    return sum(rect.left() <= x <= rect.right() for j, x in enumerate(lines_x) if j != own)
