"""A key of line styles in a panel's header: a short sample of each style, then what it draws.

One lane's curves in a panel differ by line style (① G solid, M dashed, G_sig dotted; ④ recovered
solid, accuracy dashed). Said in words in a title or an axis title ("solid: G, dashed: M, dotted:
G_sig"), the key was the first text cut on a stage ("… dotte…", "recovered" without "(solid)"). A
drawn sample is a third as wide as the word for it and is read at a glance, as in a legend.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from PySide6 import QtCore, QtGui, QtWidgets

from muonscope.widgets.theme import STYLE_BY_NAME

__all__ = ["MARK_WORDS", "STYLE_WORDS", "StyleKey", "whole_dash_length"]

#: A line style's name in words (the key's tooltip and text).
STYLE_WORDS = {"solid": "solid", "dash": "dashed", "dot": "dotted", "dashdot": "dash-dot"}
#: Marks a curve may carry at its points, in words: hollow rings, filled dots.
MARK_WORDS = {"ring": "rings", "dot": "dots"}
#: A mark's diameter in widths of "M" of the header's font.
_MARK_EMS = 0.55
#: Length of a sample line and the gaps around it, in widths of "M" of the header's font.
_SAMPLE_EMS = 1.8
_GAP_EMS = 0.35
_ENTRY_GAP_EMS = 0.9
_LEAD_EMS = 0.8  # apart from the title before it
_TRAIL_EMS = 0.6  # apart from the mode box after it: in a narrow header the last name touched it


class StyleKey(QtWidgets.QWidget):
    """(line style, name) entries drawn as "—— G  - - M  ···· G_sig" in the text colour, then the names
    of curves asked for but drawn for no lane ("—— G  no M"): a key of "G" alone under "G and M" read
    as a drawing fault."""

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self._entries: tuple[tuple[str, str], ...] = ()
        self._missing: tuple[str, ...] = ()
        self._marks: dict[str, str] = {}  # name → the mark its curves carry at their points
        self._shown: tuple | None = None  # the last set_entries' arguments
        self.setSizePolicy(QtWidgets.QSizePolicy.Policy.Fixed, QtWidgets.QSizePolicy.Policy.Preferred)
        self.hide()

    def set_entries(
        self,
        entries: list[tuple[str, str]],
        missing: Sequence[str] = (),
        why: str = "",
        marks: Mapping[str, str] | None = None,
    ) -> None:
        """The styles to name, in order (none: the key is hidden), and the ``missing`` names of curves
        asked for that no lane has, with ``why`` in the tooltip; ``marks``: the names whose curves
        carry rings or dots at their points (G_sig of a few values, ④'s measured points)."""
        for style, _name in entries:
            if style not in STYLE_BY_NAME:
                raise ValueError(f"line style {style!r} must be one of {', '.join(STYLE_BY_NAME)}")
        for mark in (marks or {}).values():
            if mark not in MARK_WORDS:
                raise ValueError(f"mark {mark!r} must be one of {', '.join(MARK_WORDS)}")
        shown = (tuple(entries), tuple(missing) if entries else (), dict(marks or {}), why)
        if shown == self._shown:
            return  # set again at each evaluation: nothing to lay out or paint
        self._shown = shown
        self._entries, self._missing, self._marks, _why = shown
        self.setToolTip(self.text + (f" ({why})" if why and self._missing else ""))
        self.setVisible(bool(entries))
        self.updateGeometry()
        self.update()

    @property
    def entries(self) -> tuple[tuple[str, str], ...]:
        return self._entries

    @property
    def missing(self) -> tuple[str, ...]:
        """Names of curves asked for that no lane has ("M" where no lane keeps momentum)."""
        return self._missing

    @property
    def text(self) -> str:
        """The key in words: "solid: G, dashed: M" or "solid: G, no M"."""
        words = [f"{STYLE_WORDS[style]}{self._mark_words(name)}: {name}" for style, name in self._entries]
        return ", ".join(words + [_missing_text(name) for name in self._missing])

    def _mark_words(self, name: str) -> str:
        mark = self._marks.get(name)
        return f" with {MARK_WORDS[mark]}" if mark else ""

    def sizeHint(self) -> QtCore.QSize:
        metrics = self.fontMetrics()
        em = metrics.horizontalAdvance("M")
        names_px = sum(metrics.horizontalAdvance(name) for _style, name in self._entries)
        width = names_px + (_SAMPLE_EMS + _GAP_EMS) * em * len(self._entries)
        width += (_LEAD_EMS + _ENTRY_GAP_EMS * max(len(self._entries) - 1, 0) + _TRAIL_EMS) * em
        for name in self._missing:
            width += _ENTRY_GAP_EMS * em + metrics.horizontalAdvance(_missing_text(name))
        return QtCore.QSize(round(width) + 2, metrics.height())

    def minimumSizeHint(self) -> QtCore.QSize:
        return self.sizeHint()

    def changeEvent(self, event: QtCore.QEvent) -> None:
        super().changeEvent(event)
        if event.type() == QtCore.QEvent.Type.FontChange:
            self.updateGeometry()

    def paintEvent(self, _event: QtGui.QPaintEvent) -> None:
        painter = QtGui.QPainter(self)
        painter.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing)
        metrics = self.fontMetrics()
        em = metrics.horizontalAdvance("M")
        colour = self.palette().color(QtGui.QPalette.ColorRole.WindowText)
        pen = QtGui.QPen(colour, max(1.5, em / 7))
        middle = self.height() / 2
        baseline = (self.height() + metrics.ascent() - metrics.descent()) / 2
        x = _LEAD_EMS * em
        for style, name in self._entries:
            pen.setStyle(STYLE_BY_NAME[style])
            painter.setPen(pen)
            length = whole_dash_length(pen, _SAMPLE_EMS * em)
            painter.drawLine(QtCore.QPointF(x, middle), QtCore.QPointF(x + length, middle))
            if name in self._marks:
                self._draw_mark(
                    painter, self._marks[name], QtCore.QPointF(x + length / 2, middle), em, colour
                )
            x += (_SAMPLE_EMS + _GAP_EMS) * em
            painter.setPen(colour)
            painter.drawText(QtCore.QPointF(x, baseline), name)
            x += metrics.horizontalAdvance(name) + _ENTRY_GAP_EMS * em
        for name in self._missing:
            painter.drawText(QtCore.QPointF(x, baseline), _missing_text(name))
            x += metrics.horizontalAdvance(_missing_text(name)) + _ENTRY_GAP_EMS * em
        painter.end()

    @staticmethod
    def _draw_mark(painter: QtGui.QPainter, mark: str, at: QtCore.QPointF, em: float, colour) -> None:
        """A ring (hollow, over a gap in the line) or a dot (filled) at the sample's middle."""
        radius = _MARK_EMS * em / 2
        painter.setPen(QtGui.QPen(colour, max(1.2, em / 9)))
        background = QtGui.QBrush(QtCore.Qt.BrushStyle.NoBrush)
        painter.setBrush(QtGui.QBrush(colour) if mark == "dot" else background)
        painter.drawEllipse(at, radius, radius)
        painter.setBrush(QtGui.QBrush(QtCore.Qt.BrushStyle.NoBrush))


def whole_dash_length(pen: QtGui.QPen, most_px: float) -> float:
    """The longest sample line up to ``most_px`` that ends on a whole dash of ``pen``'s pattern: at
    a stage's scale M's dashed sample ended in a sliver and read "– – ·"."""
    pattern = pen.dashPattern() if pen.style() != QtCore.Qt.PenStyle.SolidLine else []
    if not pattern:
        return most_px
    width = pen.widthF()
    period, last_gap = sum(pattern) * width, pattern[-1] * width
    whole = max(1, math.floor((most_px + last_gap) / period))
    return whole * period - last_gap


def _missing_text(name: str) -> str:
    return f"no {name}"
