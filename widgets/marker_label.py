"""A change marker's label, and how its text is laid out in the room beside its line.

A label tries its text whole on one line, then wrapped onto narrower lines (never inside a word,
nor before a change's arrow: wrapped after its "0", "label noise 0" read as the value now), and
only where neither fits is it shortened with an ellipsis, the whole text becoming its tooltip.
Where it goes is :mod:`event_markers`' choice; this module only says what shape it takes in a room.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from muonscope.widgets.theme import stage_style

__all__ = [
    "MARKER_PT",
    "MIN_WRAP_PX",
    "TEXT_MARGIN_PX",
    "LabelFit",
    "MarkerLabel",
    "elided_fit",
    "row_tops",
    "show_fit",
    "whole_fit",
]

#: Point size of a change marker's label at scale 1.
MARKER_PT = 8.0
#: Pixels of background around a label's text: a line along them (the step cursor) crosses no word.
TEXT_MARGIN_PX = 2.0
#: Narrower than this, a label is not wrapped on that side of its line (a column of single words).
MIN_WRAP_PX = 60.0


class MarkerLabel(QtWidgets.QGraphicsTextItem):
    """A change's text on a translucent background, in the plot's pixels (never scaled or clipped)."""

    def __init__(self, text: str, parent: QtWidgets.QGraphicsItem) -> None:
        super().__init__(parent)
        self.full_text = text
        self._shown_whole = _changes_unbroken(text)  # the text as laid out: wraps between changes
        style = stage_style()
        font = QtGui.QFont()
        font.setPointSizeF(style.font_pt(MARKER_PT))
        self.setFont(font)
        self.document().setDocumentMargin(TEXT_MARGIN_PX)
        option = self.document().defaultTextOption()
        option.setWrapMode(QtGui.QTextOption.WrapMode.WordWrap)  # never inside a word: "sign-gd"
        self.document().setDefaultTextOption(option)
        self.setDefaultTextColor(pg.mkColor(style.colours.foreground))
        self._fill = pg.mkColor(style.colours.background)
        self._fill.setAlpha(215)
        self.setZValue(-10)  # above the view's background, under its curves and the hover read-out
        self.setPlainText(self._shown_whole)

    def paint(self, painter: QtGui.QPainter, option, widget=None) -> None:
        painter.fillRect(self.boundingRect(), self._fill)
        super().paint(painter, option, widget)

    @property
    def elided(self) -> bool:
        """Whether the text on show is shortened (the whole of it is the tooltip). The document's plain
        text reads no-break spaces as spaces: the whole text laid out reads as :attr:`full_text`."""
        return self.toPlainText() != self.full_text

    @property
    def whole_text(self) -> str:
        """The whole text as laid out: :attr:`full_text`, each arrow held to the old value before it."""
        return self._shown_whole

    def scene_rect(self) -> QtCore.QRectF:
        return self.mapRectToScene(self.boundingRect())

    def width_of(self, text: str) -> float:
        """The pixels ``text`` takes as one line of this label, its margins included (and one pixel
        for rounding): the room :func:`elided_fit` needs to show it uncut."""
        advance = QtGui.QFontMetricsF(self.font()).horizontalAdvance(text)
        return advance + 2 * self.document().documentMargin() + 1.0

    @property
    def line_count(self) -> int:
        """Lines of text on show, each line of a wrapped paragraph counted."""
        return _line_count(self.document())


@dataclass(frozen=True)
class LabelFit:
    """How a label's text is laid out in the room on one side of its line."""

    text: str
    text_width: float  # -1: one line, as wide as the text
    width: float
    height: float
    lines: int


def whole_fit(label: MarkerLabel, room: float) -> LabelFit | None:
    """The label whole in ``room`` pixels: on one line, else wrapped; None when neither fits."""
    label.setPlainText(label.whole_text)
    label.setToolTip("")
    label.setTextWidth(-1)
    size = label.boundingRect().size()
    if size.width() <= room:
        return LabelFit(label.whole_text, -1, size.width(), size.height(), 1)
    if room < MIN_WRAP_PX:
        return None
    label.setTextWidth(room)
    if label.document().idealWidth() > room:  # a word longer than the room
        return None
    label.setTextWidth(np.ceil(label.document().idealWidth()))  # as narrow as its longest line
    size = label.boundingRect().size()
    lines = _line_count(label.document())
    return LabelFit(label.whole_text, label.textWidth(), size.width(), size.height(), lines)


def _changes_unbroken(text: str) -> str:
    """``text`` with the space before each "→" made no-break: a line never ends on a change's old
    value ("label noise 0"), only on its arrow ("label noise 0 →"), which says the line goes on."""
    return text.replace(" → ", "\u00a0→ ")


def _line_count(document: QtGui.QTextDocument) -> int:
    """Lines of text as laid out (a wrapped paragraph counts each of its lines)."""
    count, block = 0, document.begin()
    while block.isValid():
        count += block.layout().lineCount()
        block = block.next()
    return count


def elided_fit(label: MarkerLabel, room: float) -> LabelFit:
    """The label cut to one line of ``room`` pixels with an ellipsis, its whole text as the tooltip."""
    label.setTextWidth(-1)
    margins = 2 * label.document().documentMargin()
    metrics = QtGui.QFontMetricsF(label.font())
    text = metrics.elidedText(label.whole_text, QtCore.Qt.TextElideMode.ElideRight, max(room - margins, 0.0))
    label.setPlainText(text)
    size = label.boundingRect().size()
    return LabelFit(text, -1, size.width(), size.height(), 1)


def show_fit(label: MarkerLabel, fit: LabelFit) -> None:
    label.setPlainText(fit.text)
    label.setTextWidth(fit.text_width)
    label.setToolTip(label.full_text if label.elided else "")


def row_tops(area: QtCore.QRectF, height: float, label: MarkerLabel, per_line: int = 1) -> Iterable[float]:
    """Tops of the rows a label may take, from the top of the area down, ``per_line`` to a line of
    its text, and the lowest row the area holds (rows a whole line apart can step over a gap
    between two curves that the label fits: see :func:`~muonscope.widgets.event_markers._best`)."""
    pitch = QtGui.QFontMetricsF(label.font()).lineSpacing() / per_line
    top = area.top()
    yield top
    while top + pitch + height <= area.bottom():
        top += pitch
        yield top
    if top + height < area.bottom():
        yield area.bottom() - height
