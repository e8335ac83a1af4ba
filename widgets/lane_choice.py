"""The header box that picks the one lane a panel draws over the steps (① and ③'s heat maps).

Its items are the lanes' labels with their swatches; its data the lane's position as text, which
``mode_changed`` carries. A new lane set keeps the position chosen where that lane still stands, and
a position asked for before its lane exists (a saved session's view, applied as it opens) is taken
when the lanes arrive.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6 import QtCore

from muonscope.widgets.mode_box import ModeBox
from muonscope.widgets.theme import lane_swatch

__all__ = ["LaneChoice"]

_TOOLTIP = QtCore.Qt.ItemDataRole.ToolTipRole


class LaneChoice:
    """Fills, renames and reads a panel's lane box; remembers a position waiting for its lane."""

    def __init__(self, combo: ModeBox) -> None:
        self.combo = combo
        self._wanted: int | None = None  # a position asked for that the lanes did not reach yet

    @property
    def position(self) -> int:
        """The position of the lane chosen (0 while the box is empty)."""
        return max(self.combo.currentIndex(), 0)

    def choose(self, position: int) -> None:
        """Pick the lane at ``position``, now if it stands there, else once a lane set reaches it."""
        self._wanted = None
        if position < self.combo.count():
            self.combo.setCurrentIndex(position)
        else:
            self._wanted = position

    def fill(self, labels: Sequence[str]) -> None:
        """The lanes of a new lane set, keeping the position chosen (or waiting) where it still is one."""
        with QtCore.QSignalBlocker(self.combo):
            reached = self._wanted is not None and self._wanted < len(labels)
            current = self._wanted if reached else self.position
            self.combo.clear()
            for lane, label in enumerate(labels):
                self.combo.addItem(lane_swatch(lane), label, str(lane))
                self.combo.setItemData(lane, label, _TOOLTIP)
            if reached:
                self._wanted = None
            self.combo.setCurrentIndex(min(current, len(labels) - 1))

    def rename(self, labels: Sequence[str]) -> None:
        """New labels for the lanes listed (a label past the last lane is ignored)."""
        for lane, label in enumerate(labels[: self.combo.count()]):
            self.combo.setItemText(lane, label)

    def set_tooltips(self, texts: Sequence[str]) -> None:
        """Each listed lane's tooltip (its labels over the steps, where they changed)."""
        for lane, text in enumerate(texts[: self.combo.count()]):
            self.combo.setItemData(lane, text, _TOOLTIP)
