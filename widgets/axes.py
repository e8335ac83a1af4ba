"""Axes whose tick labels never run into each other.

pyqtgraph labels every minor tick of a log axis ("2·10¹ 3·10¹ 4·10¹ …"); on a panel a quarter of a
window wide, across two or more decades, those labels overlap into an unreadable run. Here the minor
ticks keep their marks, and their text is thinned to what fits: every mantissa 2…9 where even the
tightest pair (8 and 9) has room, else 2 and 5, else the decades alone.

The axis title is cut to the axis's length with "…" (whole in the axis's tooltip): a long title
("items recovered after one step (log)") on a plot squeezed by its legend in a 720-pixel window ran
past the plot's top and was cut there without a mark. A title may name a short form ("σ_k" for
"singular value σ_k"), which the axis shows instead where the whole title does not fit: on a stage at
1.5× in a 1280×720 window "singul…" and "recove…" told a room nothing.

Data a plot maps to log10 itself (sweeps, whose bands and guides live in those units) get their
ticks here as well, from the densest set whose labels fit the axis as it is now sized
(:meth:`DecadeAxis.set_log_mapped`).
"""

from __future__ import annotations

import itertools
import math

import pyqtgraph as pg
from PySide6 import QtCore, QtGui

from muonscope.widgets.ranges import linear_labels, log_label, log_labels_as_powers, log_tick_sets

__all__ = ["DecadeAxis", "decade_axes", "decade_colour_axis", "minor_mantissas", "set_axis_title"]

#: The mantissas labelled at each density, densest first, with the narrowest gap (in decades)
#: between two neighbouring labels of the set (the ends of a decade included).
_MANTISSA_SETS = (
    (frozenset(range(2, 10)), math.log10(10 / 9)),  # 9 → 10 is the tightest pair
    (frozenset({2, 5}), math.log10(2)),  # 1 → 2 and 5 → 10 (0.30); 2 → 5 is wider (0.40)
)


def minor_mantissas(pixels_per_decade: float, label_px: float) -> frozenset[int]:
    """Which minor ticks (2…9 × 10^k) get text when a decade spans ``pixels_per_decade`` pixels."""
    for mantissas, narrowest in _MANTISSA_SETS:
        if narrowest * pixels_per_decade >= label_px:
            return mantissas
    return frozenset()


#: Pixels an axis title keeps clear of each end of its axis.
_TITLE_MARGIN_PX = 8.0


#: The room pyqtgraph gives tick labels before it has measured any (``AxisItem.__init__``).
_FRESH_TEXT_WIDTH_PX, _FRESH_TEXT_HEIGHT_PX = 30, 18


class DecadeAxis(pg.AxisItem):
    """A linear axis as pyqtgraph draws it; on a log axis, minor labels only where they fit; a title
    no longer than the axis."""

    _titled_length_px = -1.0  # the axis length the title was last fitted to
    _short_title: tuple[str, tuple[str, ...]] | None = None  # (whole title, its short forms) from set_title
    _log_mapped = False  # the data are log10 values: ticks from log_tick_sets, fitted at each draw
    _label_past_end = False  # an x axis's last label may stand out past its right end

    def set_title(self, text: str, short: str | tuple[str, ...] = "") -> None:
        """The axis title, and the ``short`` form shown instead where the whole one is too long; a
        tuple holds shorter and shorter forms, the first that fits is shown ("spectral gap", "gap":
        at 1.5× on a 1280 pixel stage, "spectral gap" was cut to "spectral…").

        The short forms belong to this title: a later ``setLabel`` with another text drops them.
        """
        forms = (short,) if isinstance(short, str) else tuple(short)
        forms = tuple(form for form in forms if form)
        self._short_title = (text, forms) if forms else None
        self.setLabel(text)

    def let_label_past_end(self, allowed: bool) -> None:
        """Whether an x axis's last label may stand half out past the axis's right end: where an axis
        on the right leaves room below its own labels (④'s accuracy axis), a run's last step is
        labelled at the end of the axis ("60000" dropped as crossing it, the axis ending at 40000)."""
        if allowed != self._label_past_end:
            self.prepareGeometryChange()
            self._label_past_end = allowed
            self.picture = None
            self.update()

    def set_log_mapped(self, log_mapped: bool) -> None:
        """Whether the plot draws log10 of its data on this axis: then ticks sit at decades (with
        2×, 5× where there is room, every 2nd, 5th … decade where there is not) labelled in data units."""
        self._log_mapped = log_mapped
        self.setTicks(None)

    def setStyle(self, **kwds) -> None:
        """pyqtgraph's, and with a new tick font the room for tick labels measured afresh.

        pyqtgraph lets that room shrink only by more than 10 pixels at a time: back from a stage the
        axes stayed up to 10 pixels wider than before it, and every plot that much narrower.
        """
        super().setStyle(**kwds)
        if "tickFont" in kwds:
            self.measure_text_room_afresh()

    @property
    def text_room(self) -> tuple[float, float]:
        """(width, height) pyqtgraph keeps for tick labels: it grows with them and shrinks late."""
        return self.textWidth, self.textHeight

    def set_text_room(self, room: tuple[float, float]) -> None:
        """Give back a room kept before (an axis back from a stage is as wide as it was)."""
        self.textWidth, self.textHeight = room
        if self.orientation in ("left", "right"):
            self._updateWidth()
        else:
            self._updateHeight()

    def measure_text_room_afresh(self) -> None:
        """Fit the room for tick labels to the labels drawn next, whatever it held before: it only
        shrinks by more than 10 px, so a sweep that streamed in kept 5 px its cached replay did
        not have, and the same command drew different frames with a cold and a warm cache."""
        self.set_text_room((_FRESH_TEXT_WIDTH_PX, _FRESH_TEXT_HEIGHT_PX))

    def generateDrawSpecs(self, p):
        if self._log_mapped:
            self._tickLevels = [self._fitting_log_ticks()]  # chosen for the axis's length at this draw
        return super().generateDrawSpecs(p)

    def _fitting_log_ticks(self) -> list[tuple[float, str]]:
        """The densest of :func:`log_tick_sets` for the axis's range that puts two or more labels on
        the axis (pyqtgraph drops one that would reach past its ends) without any two touching."""
        low, high = sorted(self.range)
        length_px = self._length_px()
        if high <= low or length_px <= 0:
            return []
        metrics = QtGui.QFontMetricsF(self.style["tickFont"] or QtGui.QFont())
        vertical = self.orientation in ("left", "right")
        gap_px = metrics.averageCharWidth()

        def shown(ticks: list[tuple[float, str]]) -> list[tuple[float, float]]:
            """(centre, half extent) in pixels of the labels that lie wholly on the axis."""
            spans = []
            for value, label in ticks:
                half_px = (metrics.height() if vertical else metrics.horizontalAdvance(label)) / 2
                at_px = (value - low) / (high - low) * length_px
                if half_px <= at_px <= length_px - half_px:
                    spans.append((at_px, half_px))
            return spans

        def apart(spans: list[tuple[float, float]]) -> bool:
            return all(b[0] - a[0] >= a[1] + b[1] + gap_px for a, b in itertools.pairwise(spans))

        fallback: list[tuple[float, str]] = []
        for ticks in log_tick_sets(low, high):
            spans = shown(ticks)
            if apart(spans) and len(spans) >= 2:
                return ticks
            if apart(spans) and spans and not fallback:
                fallback = ticks  # one label, where no set fits two
        return fallback

    def boundingRect(self):
        """pyqtgraph's, reaching past the axis's ends by the label overhang its style allows (on an
        x axis, half a two-digit label past its left end).

        With the grid on pyqtgraph bounds the axis by its own box and the view's, leaving out the
        overhang it allows otherwise; a label centred on either end of the axis then stuck out and
        was dropped: panel ③'s "not recovered" axis read 0.2 … 0.8 without its 0 and 1, and its
        rank axis began at 10 rather than at the head, 1.
        """
        rect = super().boundingRect()
        if self.grid is False:
            return rect
        if self.orientation in ("left", "right"):
            overhang = self.style["hideOverlappingLabels"]
            overhang_px = 0 if overhang is True else 15 if overhang is False else int(overhang)
            return rect.adjusted(0, -overhang_px, 0, overhang_px)
        # a short label ("1" at the head of a rank axis) may stand half out past the left end,
        # over the y axis; past the right end it could be cut by the window's edge ("6" for 60)
        metrics = QtGui.QFontMetricsF(self.style["tickFont"] or QtGui.QFont())
        overhang_px = metrics.horizontalAdvance("00") / 2
        past_end_px = metrics.horizontalAdvance("000000") / 2 if self._label_past_end else 0.0
        return rect.adjusted(-overhang_px, 0, past_end_px, 0)

    def logTickValues(self, minVal, maxVal, size, stdTicks):
        """pyqtgraph's levels, with a decade level first whenever the range holds a decade.

        Given a wide axis pyqtgraph may choose only sub-decade spacings, which it drops on a log
        axis, leaving the minor level alone; the decades would then go unlabelled here.
        """
        levels = super().logTickValues(minVal, maxVal, size, stdTicks)
        if not any(spacing is not None and spacing >= 1.0 for spacing, _values in levels):
            decades = [float(v) for v in range(math.ceil(minVal), math.floor(maxVal) + 1)]
            if decades:
                levels.insert(0, (1.0, decades))
        return levels

    def tickStrings(self, values, scale, spacing):
        """On a linear axis, every label in one form (see :func:`linear_labels`)."""
        if self.logMode:
            return self.logTickStrings(values, scale, spacing)
        reach = max(abs(end) for end in self.range) * scale
        return linear_labels([value * scale for value in values], spacing * scale, reach)

    def logTickStrings(self, values, scale, spacing):
        """Labels in one form for the whole axis (see :func:`log_label`): pyqtgraph wrote "0.0001"
        above "10⁻⁵" and "5" beside "10¹"."""
        low, high = self.range
        powers = log_labels_as_powers(min(low, high), max(low, high))
        strings = [log_label(10.0**value, powers) for value in values]
        if spacing is not None:
            return strings  # a decade level
        span = abs(high - low)
        if span == 0:
            return strings
        keep = minor_mantissas(self._length_px() / span, self._label_px())
        return [text if _mantissa(value) in keep else "" for value, text in zip(values, strings, strict=True)]

    def drawPicture(self, p, axisSpec, tickSpecs, textSpecs):
        """pyqtgraph's drawing, with the grid's translucent lines filled as thin rectangles.

        Qt's raster engine strokes a translucent line without antialiasing pixel by pixel: a grid of
        some 80 lines across a panel took 20 ms to draw, each time an axis range changed, and a
        change made while playing waited for it. An axis-aligned line is a rectangle one pen width
        wide, and filling it costs a hundredth of that, with the same pixels.
        """
        p.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing, False)
        stroked = []
        for pen, start, end in tickSpecs:
            rect = _line_as_rect(pen, start, end)
            if rect is None:
                stroked.append((pen, start, end))
            else:
                p.fillRect(rect, pen.color())
        super().drawPicture(p, axisSpec, stroked, textSpecs)

    def _updateLabel(self):
        """pyqtgraph's title; where it is longer than the axis, its short form, else cut with "…".

        The title is centred again on the axis here: pyqtgraph centres it only on a resize, so a new
        title stood where the old one's middle had been (④'s "2T − 1, …" began where "step" had and
        ran off the panel)."""
        self._fit_title()
        pg.AxisItem.resizeEvent(self)

    def _fit_title(self) -> None:
        self._titled_length_px = self._length_px()
        super()._updateLabel()
        full = self.labelString()
        room = self._title_room_px()
        if room <= 0 or self.label.boundingRect().width() <= room:  # not laid out yet, or it fits
            self.setToolTip("")
            return
        forms = self._short_forms() or (self.labelText,)
        text = next((form for form in forms if self._title_fits(form)), forms[-1])
        if not self._title_fits(text):
            text = _cut(text, _longest_fitting(len(text), lambda n: self._title_fits(_cut(text, n))))
        self.label.setHtml(self._title_html(text))
        self.setToolTip(QtGui.QTextDocumentFragment.fromHtml(full).toPlainText().strip())
        self._adjustSize()

    def _short_forms(self) -> tuple[str, ...]:
        """The short forms given with the title on show (none when none was, or the title changed)."""
        if self._short_title is None or self._short_title[0] != self.labelText:
            return ()
        return self._short_title[1]

    def resizeEvent(self, ev=None):
        if self.label is not None and self.labelText and self._length_px() != self._titled_length_px:
            self._updateLabel()  # the title's room changed: cut it again (or show it whole)
        super().resizeEvent(ev)

    @property
    def shown_title(self) -> str:
        """The axis title as drawn: whole, its short form, or cut with "…" where the axis is shorter."""
        return self.label.toPlainText().strip() if self.label is not None else ""

    def _title_room_px(self) -> float:
        return self._length_px() - _TITLE_MARGIN_PX

    def _title_html(self, text: str) -> str:
        full_text = self.labelText
        try:
            self.labelText = text
            return self.labelString()
        finally:
            self.labelText = full_text

    def _title_fits(self, text: str) -> bool:
        self.label.setHtml(self._title_html(text))
        return self.label.boundingRect().width() <= self._title_room_px()

    def _updateWidth(self):
        """pyqtgraph's width, with room for the whole axis title beside the tick labels.

        pyqtgraph leaves 0.8 of the title's box for it, counting on the box's margins; at the
        presentation scales the text fills more of its box, and the title ran into labels such as
        "0.0001". A fifth of the box more keeps them apart at every scale.
        """
        super()._updateWidth()
        if self.fixedWidth is None and self.isVisible() and self.label.isVisible():
            width = self.maximumWidth() + 0.2 * self.label.boundingRect().height()
            self.setMaximumWidth(width)
            self.setMinimumWidth(width)

    def _length_px(self) -> float:
        rect = self.geometry()
        return rect.height() if self.orientation in ("left", "right") else rect.width()

    def _label_px(self) -> float:
        """Room one label needs along the axis: its height on a vertical axis, a width on a horizontal."""
        metrics = QtGui.QFontMetricsF(self.style["tickFont"] or QtGui.QFont())
        if self.orientation in ("left", "right"):
            return metrics.height()
        return metrics.horizontalAdvance("5·10⁻⁸") + metrics.averageCharWidth()


def _longest_fitting(most: int, fits) -> int:
    """The largest n in 0…``most`` − 1 with ``fits(n)`` (0 when none): ``fits`` holds up to some n."""
    low, high = 0, most - 1
    while low < high:
        middle = (low + high + 1) // 2
        if fits(middle):
            low = middle
        else:
            high = middle - 1
    return low


def _cut(text: str, kept: int) -> str:
    """The first ``kept`` characters of ``text`` with "…" for the rest."""
    return text[:kept].rstrip() + "…"


def _line_as_rect(pen: QtGui.QPen, start, end) -> QtCore.QRectF | None:
    """The rectangle a translucent, solid, axis-aligned line strokes (its caps included); None otherwise."""
    solid = pen.style() == QtCore.Qt.PenStyle.SolidLine
    solid &= pen.brush().style() == QtCore.Qt.BrushStyle.SolidPattern
    caps = {QtCore.Qt.PenCapStyle.SquareCap: 0.5, QtCore.Qt.PenCapStyle.FlatCap: 0.0}
    if not solid or pen.color().alpha() == 255 or pen.capStyle() not in caps:
        return None
    width = max(1.0, pen.widthF())
    cap = caps[pen.capStyle()] * width  # how far the stroke reaches past each end
    if start.x() == end.x():
        top, bottom = sorted((start.y(), end.y()))
        return QtCore.QRectF(start.x() - width / 2, top - cap, width, bottom - top + 2 * cap)
    if start.y() == end.y():
        left, right = sorted((start.x(), end.x()))
        return QtCore.QRectF(left - cap, start.y() - width / 2, right - left + 2 * cap, width)
    return None


def _mantissa(log_value: float) -> int:
    """The leading digit of 10**log_value (1 at a decade)."""
    return round(10 ** (log_value - math.floor(log_value + 1e-9)))


def decade_axes() -> dict[str, DecadeAxis]:
    """Axis items for a PlotWidget's left and bottom sides (the two a plot shows by default)."""
    return {side: DecadeAxis(side) for side in ("left", "bottom")}


def decade_colour_axis(bar: pg.ColorBarItem) -> DecadeAxis:
    """Give a vertical colour bar a :class:`DecadeAxis` for its scale, set up as pyqtgraph sets its own.

    pyqtgraph's scale wrote "0" beside "1.0" and, for a map of log10 values, "-1.0 -0.5 0" where
    the plots beside it say "0.1" and "1": with :meth:`DecadeAxis.set_log_mapped` the bar labels
    decades in data units, as the panels' log axes do.
    """
    low, high = bar.levels()
    axis = DecadeAxis("right")
    bar.setAxisItems({"right": axis})
    axis.setZValue(0.5)
    axis.setWidth(None)  # as wide as its labels, widened at a draw: at 45 px "−0.0005" was dropped
    axis.enableAutoSIPrefix(False)
    axis.setStyle(showValues=True)
    axis.unlinkFromView()
    axis.setRange(low, high)
    bar.axis = axis  # where ColorBarItem.setLevels sets the scale's range
    return axis


def set_axis_title(plot: pg.PlotItem, side: str, text: str, short: str | tuple[str, ...] = "") -> None:
    """Title one of the plot's axes (a :class:`DecadeAxis`), with the ``short`` forms it falls back to."""
    plot.getAxis(side).set_title(text, short)
    plot.showAxis(side)
