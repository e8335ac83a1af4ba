"""A short note at a plot's edge, in a corner where it can be, that keeps off the curves.

The spectra panel's note ("same G, same G_sig in both lanes") sat in the top right corner, where a
spiked stream's momentum spectra run flat, and hid them. The note takes the corner whose box covers
the fewest drawn points (with points sampled along each segment, so a sparse curve's lines count),
and stays in its corner unless another covers fewer, so it does not hop between frames. A note
longer than the plot is wide may wrap to a narrower column: wrapped to the whole width it covered
the same curves in every corner (④'s rise from 0 at the left, ①'s head at the top), where half the
width leaves a corner clear. Of boxes that cover as few points, the widest (fewest lines) wins.
Where every corner covers some curve, the note may stand part way down the left or right edge
(①'s curves filled its top and a lane's G at 10⁻⁵² ran along its bottom, under the note, while the
middle of the plot was empty). Where every place covers some curve, the note goes under the
curves: they cross its text rather than vanish behind it (a converged lane's G, along the bottom
of ①, was cut off by the note).
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui

from muonscope.widgets.segments import box_edges, length_inside, lengths_inside
from muonscope.widgets.theme import FADED_Z

__all__ = ["CORNERS", "PLACES", "CornerNote"]

#: The places in the order they are preferred when they cover the same number of points, each as
#: the text's anchor: (0, 0) its top left at the plot's top left, (1, 1) its bottom right at the
#: plot's bottom right, (1, 0.5) its right edge's middle at the middle of the plot's right edge.
PLACES = {
    "top right": (1, 0.0),
    "top left": (0, 0.0),
    "bottom left": (0, 1.0),
    "bottom right": (1, 1.0),
    "upper right": (1, 1 / 3),
    "lower right": (1, 2 / 3),
    "upper left": (0, 1 / 3),
    "lower left": (0, 2 / 3),
}
#: The corners of :data:`PLACES`, where a note is looked for first.
CORNERS = tuple(PLACES)[:4]
#: The note's depth over a clear corner, and under the curves, faint ones too, where none is clear.
_OVER_CURVES_Z = 900
_UNDER_CURVES_Z = FADED_Z - 1
#: Pixels between the note and the plot's edges.
_INSET_PX = 4.0
#: Pixels around the note where a curve counts against a place, after those under it: of two places
#: clear of the curves, the one a curve does not graze (a spectrum's tail touched the round-off
#: note's last letters where another place was clear by a margin).
_CLEARANCE_PX = 3.0
#: Points looked at per curve: a long spectrum is thinned to this many, each kept point joined to
#: the next by a segment whose length under a place counts against it (a spectrum's cliff between
#: two far points, sampled at a few points along it, ran through the note between them).
_POINTS_PER_CURVE = 256
#: Widths a note too long for one line may wrap to, as shares of the plot's width, widest first;
#: none narrower than _NARROWEST_WRAP_PX (a column of single words).
_WRAP_SHARES = (1.0, 0.6, 0.4)
_NARROWEST_WRAP_PX = 140.0


class CornerNote:
    """A hidden text box over ``plot``'s curves, outside its autorange; :meth:`place` moves it."""

    def __init__(self, plot: pg.PlotItem) -> None:
        self._plot = plot
        self._fill = pg.mkBrush(255, 255, 255, 225)
        self.item = pg.TextItem("", color="#000000", fill=self._fill, anchor=(1, 0))
        self.item.setZValue(_OVER_CURVES_Z)
        self.item.setVisible(False)
        plot.addItem(self.item, ignoreBounds=True)
        self.corner = CORNERS[0]
        self._wrap_share: float | None = None  # None: one line; else the share of the width it wraps to
        self._other_views: list[pg.ViewBox] = []  # views over the plot with curves of their own
        self._searched_for: tuple | None = None  # (text, view size) of the last search for a place

    def avoid_curves_of(self, view: pg.ViewBox) -> None:
        """Keep off the curves of ``view`` as well: a second y axis' view laid over the plot (④'s
        accuracy, at 1 along the top, went under the note that its own view did not count)."""
        self._other_views.append(view)

    @property
    def under_curves(self) -> bool:
        """Whether the note is drawn beneath the curves: no place for it was clear of them."""
        return self.item.zValue() < 0

    @property
    def text(self) -> str:
        """The note shown ("" when hidden)."""
        return self.item.toPlainText() if self.item.isVisible() else ""

    def set_text(self, text: str) -> None:
        """Show ``text`` ("" hides the note); :meth:`place` puts it in its corner."""
        if text != self.text:
            self.item.setText(text)
            self.item.setVisible(bool(text))

    def set_look(self, foreground: str, background: str, font: QtGui.QFont) -> None:
        """The stage's colours and type: the note's box is the plot's background."""
        self.item.setColor(foreground)
        self._fill = pg.mkBrush(QtGui.QColor(background))
        self.item.fill = self._fill
        self.item.setFont(font)
        self._searched_for = None  # another size of text: its place is looked for again

    def place(self) -> None:
        """Fit the text to the view's width and put it in the corner (and at the wrap width) that
        hides the fewest points; the note stays where it is unless another place hides fewer."""
        if not self.item.isVisible():
            return
        frame = self._plot.getViewBox().sceneBoundingRect()
        segments = self._drawn_scene_segments(frame)
        searched_for = (self.text, frame.size())
        if self._search_holds(searched_for, frame) and self._clear_where_it_is(segments, frame):
            # nothing can hide fewer points: the search would keep it here (placed every frame,
            # the search cost 2.7 ms a panel, a tenth of a frame)
            self.item.setZValue(_OVER_CURVES_Z)
            self._fill_unless_it_hides(frame, clear=True)
            self._put(frame)
            return
        self._searched_for = searched_for
        places, boxes = [], []  # each (wrap share, place), with its box and the box with its margin
        for share in self._wrap_choices(frame.width() - 2 * _INSET_PX):
            size = self._wrapped_size(share, frame.width() - 2 * _INSET_PX)
            for corner in PLACES:
                box = _box(frame, corner, size)
                near = box.adjusted(-_CLEARANCE_PX, -_CLEARANCE_PX, _CLEARANCE_PX, _CLEARANCE_PX)
                places.append((share, corner))
                boxes += [box_edges(box), box_edges(near)]
        hidden = lengths_inside(segments, np.array(boxes)).reshape(-1, 2)  # (places, under it and near it)
        covered = {
            place: (float(under), float(near)) for place, (under, near) in zip(places, hidden, strict=True)
        }
        best = min(covered, key=covered.get)  # the first of equals: widest, then PLACES' order
        current = covered.get((self._wrap_share, self.corner))
        if current is None or covered[best] < current:
            self._wrap_share, self.corner = best
        clear = covered[(self._wrap_share, self.corner)][0] == 0
        self.item.setZValue(_OVER_CURVES_Z if clear else _UNDER_CURVES_Z)
        self._wrapped_size(self._wrap_share, frame.width() - 2 * _INSET_PX)
        self._fill_unless_it_hides(frame, clear)
        self._put(frame)

    def _fill_unless_it_hides(self, frame: QtCore.QRectF, clear: bool) -> None:
        """Fill the note's box, unless, put under the curves, it would hide another view's: such a
        view lies beneath the plot's whole view, the box included (④'s box hid 35 px of a dashed
        accuracy line, which read as missing data); the text alone then lies over them."""
        hides = False
        if not clear and self._other_views:
            box = _box(frame, self.corner, self.item.textItem.boundingRect().size())
            hides = length_inside(self._other_views_segments(frame), box) > 0
        fill = pg.mkBrush(None) if hides else self._fill
        if fill != self.item.fill:
            self.item.fill = fill
            self.item.update()

    def _search_holds(self, searched_for: tuple, frame: QtCore.QRectF) -> bool:
        """Whether the last search's answer still stands: for the same text in a view of the same
        size, or for a new text that fits the view at the width the note has (② counts the steps
        its curves were measured at while a run plays: searched again for each count, its note
        cost 6 ms a frame)."""
        if searched_for == self._searched_for:
            return True
        if self._searched_for is None or self._searched_for[1] != frame.size():
            return False
        room = frame.width() - 2 * _INSET_PX
        size = self._wrapped_size(self._wrap_share, room)  # the new text at the width it has
        return size.width() <= room and size.height() <= frame.height() - 2 * _INSET_PX

    def _clear_where_it_is(self, segments: np.ndarray, frame: QtCore.QRectF) -> bool:
        """Whether the note, as wrapped now, keeps its clearance from every curve where it stands."""
        box = _box(frame, self.corner, self.item.textItem.boundingRect().size())
        near = box.adjusted(-_CLEARANCE_PX, -_CLEARANCE_PX, _CLEARANCE_PX, _CLEARANCE_PX)
        return length_inside(segments, near) == 0

    def _put(self, frame: QtCore.QRectF) -> None:
        """Anchor the note at its place, in the view's coordinates as they are now."""
        self.item.setAnchor(PLACES[self.corner])
        self.item.setPos(self._plot.getViewBox().mapSceneToView(_corner_point(frame, self.corner)))

    def _wrap_choices(self, room: float) -> list[float | None]:
        """One line where it fits, and the shares of the width that would wrap it narrower, widest first."""
        one_line = self._wrapped_size(None, room).width()
        if room <= 0:
            return [None]
        narrowest = min(_NARROWEST_WRAP_PX, room)
        shares = [share for share in _WRAP_SHARES if narrowest <= share * room < one_line]
        choices: list[float | None] = [None] if one_line <= room else []
        return choices + shares or [_WRAP_SHARES[0]]

    def _wrapped_size(self, share: float | None, room: float) -> QtCore.QSizeF:
        """Lay the text out on one line (share None) or wrapped to ``share`` of the room; its size."""
        self.item.setTextWidth(-1 if share is None or room <= 0 else share * room)
        return self.item.textItem.boundingRect().size()

    def _drawn_scene_segments(self, frame: QtCore.QRectF) -> np.ndarray:
        """(n, 4) scene segments (x0, y0, x1, y1) along every visible curve, in its view's current
        range; a point drawn alone is a segment of no length."""
        own = _scene_segments(self._plot.getViewBox().viewRange(), frame, self._plot.listDataItems())
        lines = _vertical_lines(self._plot.getViewBox(), frame)
        return np.concatenate([own, self._other_views_segments(frame), lines])

    def _other_views_segments(self, frame: QtCore.QRectF) -> np.ndarray:
        """(n, 4) scene segments of the curves of the views laid over the plot."""
        parts = [np.zeros((0, 4))]
        for view in self._other_views:
            items = [item for item in view.addedItems if isinstance(item, pg.PlotDataItem)]
            parts.append(_scene_segments(view.viewRange(), frame, items))
        return np.concatenate(parts)


def _vertical_lines(view: pg.ViewBox, frame: QtCore.QRectF) -> np.ndarray:
    """(n, 4) scene segments of the visible vertical lines across ``view`` (the step cursor, the
    changes' markers): ② drew the cursor at the newest step through its note's last letter."""
    (x0, x1), _ = view.viewRange()
    if x1 == x0:
        return np.zeros((0, 4))
    steps = [
        item.value()
        for item in view.childGroup.childItems()  # with those kept out of the autorange
        if isinstance(item, pg.InfiniteLine) and item.isVisible() and item.angle % 180 == 90
    ]
    scene_x = frame.left() + (np.asarray(steps, dtype=float) - x0) / (x1 - x0) * frame.width()
    scene_x = scene_x[(scene_x >= frame.left()) & (scene_x <= frame.right())]
    top, bottom = np.full_like(scene_x, frame.top()), np.full_like(scene_x, frame.bottom())
    return np.stack([scene_x, top, scene_x, bottom], axis=1)


def _scene_segments(view_range, frame: QtCore.QRectF, items) -> np.ndarray:
    """(n, 4) scene segments of the visible ``items`` of one view showing ``view_range`` in ``frame``."""
    (x0, x1), (y0, y1) = view_range
    parts = [np.zeros((0, 4))]
    if x1 == x0 or y1 == y0:
        return parts[0]
    for item in items:
        if not item.isVisible():
            continue
        x, y = item.getData()  # as displayed: log axes already applied
        if x is None or len(x) == 0:
            continue
        x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
        if x.size > _POINTS_PER_CURVE:
            stride = -(-x.size // _POINTS_PER_CURVE)
            x, y = x[::stride], y[::stride]
        scene_x = frame.left() + (x - x0) / (x1 - x0) * frame.width()
        scene_y = frame.bottom() - (y - y0) / (y1 - y0) * frame.height()
        parts.append(_polyline(scene_x, scene_y, joined=item.opts.get("pen") is not None))
    return np.concatenate(parts)


def _polyline(x: np.ndarray, y: np.ndarray, joined: bool) -> np.ndarray:
    """(n, 4) segments between consecutive finite points (a line breaks where a value is not
    finite), or each finite point alone where the curve is drawn as symbols only."""
    finite = np.isfinite(x) & np.isfinite(y)
    if not joined:
        return np.column_stack([x[finite], y[finite], x[finite], y[finite]])
    both = finite[:-1] & finite[1:]
    segments = np.column_stack([x[:-1], y[:-1], x[1:], y[1:]])[both]
    alone = finite & ~np.r_[False, both] & ~np.r_[both, False]  # a finite point with no neighbour
    return np.concatenate([segments, np.column_stack([x[alone], y[alone], x[alone], y[alone]])])


def _corner_point(frame: QtCore.QRectF, place: str) -> QtCore.QPointF:
    """The note's anchor point: on the view's left or right edge, ``_INSET_PX`` in from the edges,
    as far down as the place says."""
    across, down = PLACES[place]
    x = frame.right() - _INSET_PX if across else frame.left() + _INSET_PX
    y = frame.top() + _INSET_PX + down * (frame.height() - 2 * _INSET_PX)
    return QtCore.QPointF(x, y)


def _box(frame: QtCore.QRectF, place: str, size: QtCore.QSizeF) -> QtCore.QRectF:
    """The scene rectangle the note covers in ``place``."""
    point = _corner_point(frame, place)
    across, down = PLACES[place]
    return QtCore.QRectF(
        point.x() - across * size.width(), point.y() - down * size.height(), size.width(), size.height()
    )
