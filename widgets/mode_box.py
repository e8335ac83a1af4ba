"""A panel header's mode combo: its option in full where the header has room, cut with "…" where not.

Four panel headers share the width beside the controls. A combo sized to its minimum contents
showed a clipped glyph where the header had room to spare ("spectral ga", "error vs ran" at 1280
pixels); sized to its contents it widened the window. This box asks for its option's whole width
and gives way down to a few characters, drawing the option elided when squeezed, so the text shown
is never a cut word without a mark; the open list always has the options whole.
"""

from __future__ import annotations

from PySide6 import QtCore, QtWidgets

from muonscope.widgets.keyed_combo import KeyedCombo

__all__ = ["ElidingCombo", "ModeBox", "whole_numbers_only"]

_NUMBER_CHARS = "0123456789."


def whole_numbers_only(text: str, elided: str) -> str:
    """``elided`` (``text`` cut, ending in "…") without a number it cut short: "SGD μ=0.9 sum lr=1…"
    read as lr = 1 of a lane at lr = 128; it reads "SGD μ=0.9 sum lr=…"."""
    if elided == text or not elided.endswith("…"):
        return elided
    kept = elided[:-1]
    if kept and kept[-1] in _NUMBER_CHARS and text[len(kept) : len(kept) + 1] in tuple(_NUMBER_CHARS):
        kept = kept.rstrip(_NUMBER_CHARS)
    return kept + "…"


class ElidingCombo(KeyedCombo):
    """A QComboBox sized for ``least_chars`` characters whose option, when longer, ends in "…"
    (the toolbar's preset box: "Muon vs SGD vs Adam on a Zipf r" was cut mid-word)."""

    def __init__(self, least_chars: int, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setSizeAdjustPolicy(QtWidgets.QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.setMinimumContentsLength(least_chars)

    @property
    def shown_text(self) -> str:
        """The option's text (the placeholder when none is chosen) as drawn at the box's present width
        ("…" where it is cut)."""
        option = QtWidgets.QStyleOptionComboBox()
        self.initStyleOption(option)
        field = self.style().subControlRect(
            QtWidgets.QStyle.ComplexControl.CC_ComboBox,
            option,
            QtWidgets.QStyle.SubControl.SC_ComboBoxEditField,
            self,
        )
        room = field.width()
        if not option.currentIcon.isNull():  # the label draws the icon first, then the text beside it
            room -= option.iconSize.width() + 4
        text = self.currentText() if self.currentIndex() >= 0 else self.placeholderText()
        elided = self.fontMetrics().elidedText(text, QtCore.Qt.TextElideMode.ElideRight, room)
        return whole_numbers_only(text, elided)

    def paintEvent(self, _event) -> None:
        painter = QtWidgets.QStylePainter(self)
        option = QtWidgets.QStyleOptionComboBox()
        self.initStyleOption(option)
        painter.drawComplexControl(QtWidgets.QStyle.ComplexControl.CC_ComboBox, option)
        option.currentText = self.shown_text
        painter.drawControl(QtWidgets.QStyle.ControlElement.CE_ComboBoxLabel, option)


#: The characters a greyed mode box keeps.
_GREYED_LEAST_CHARS = 2
#: Qt's "no maximum" width (QWIDGETSIZE_MAX).
_UNBOUNDED_PX = 16_777_215


class ModeBox(ElidingCombo):
    """An eliding combo whose preferred width is its current option's: whole where there is room.

    A greyed box (a mode that does not apply to the view on show) asks only for a least width of a
    couple of characters: at 1280 pixels panel ③'s two greyed boxes took the room its one live box
    needed ("not recov…"). It may grow to its option's whole width (:attr:`whole_width`) where the
    header has room to spare: a header gives it room only after the boxes that apply have theirs.
    """

    def __init__(self, least_chars: int, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(least_chars, parent)
        self._least_chars = least_chars
        # options renamed or refilled under a signal blocker (the heat map's lane box) change the
        # width wanted too: the box kept the width of its first lane's name ("Adam,…" at 1920 px)
        model = self.model()
        for signal in (model.dataChanged, model.rowsInserted, model.rowsRemoved, model.modelReset):
            signal.connect(lambda *_args: self._fit())
        self.currentIndexChanged.connect(lambda _index: self._fit())

    def changeEvent(self, event: QtCore.QEvent) -> None:
        super().changeEvent(event)
        if event.type() == QtCore.QEvent.Type.EnabledChange:
            # greyed, it is there to be found (its tooltip says what it does), not read: two
            # characters and its arrow leave the header's room to the box that applies
            self.setMinimumContentsLength(self._least_chars if self.isEnabled() else _GREYED_LEAST_CHARS)
            self._fit()
        elif event.type() == QtCore.QEvent.Type.FontChange:
            self._fit()

    def _fit(self) -> None:
        """A greyed box grows no wider than its whole option; one that applies, as wide as given."""
        self.setMaximumWidth(self.whole_width if not self.isEnabled() else _UNBOUNDED_PX)
        self.updateGeometry()

    @property
    def whole_width(self) -> int:
        """The width that shows the current option whole."""
        return self._width_for(self._least_chars)

    def sizeHint(self) -> QtCore.QSize:
        """The least width plus the room the current option needs beyond its least characters (a
        greyed box: its least width alone)."""
        hint = super().sizeHint()
        if not self.isEnabled():
            return hint
        return QtCore.QSize(self._width_for(self.minimumContentsLength()), hint.height())

    def _width_for(self, least_chars: int) -> int:
        """Qt's width for ``least_chars`` characters, plus what the current option needs beyond them."""
        metrics = self.fontMetrics()
        shown = self.minimumContentsLength()
        base = super().sizeHint().width() - metrics.horizontalAdvance("X" * shown)  # frame, arrow, margins
        least = metrics.horizontalAdvance("X" * least_chars)  # as Qt counts them
        return base + max(least, metrics.horizontalAdvance(self.currentText()))
