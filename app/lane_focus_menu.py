"""The lane in focus, asked for in the key or the View menu, shown by every panel.

The key (:class:`~muonscope.widgets.lane_key.LaneKey`) holds which lane is in focus, so that a
``[view]`` table, a saved session and a click all set it in one place; this wires its changes to the
panels and offers the same choice under View ▸ Lane in focus, where the keyboard reaches it.
"""

from __future__ import annotations

from collections.abc import Iterable

from PySide6 import QtGui, QtWidgets

from muonscope.widgets.lane_choice import LaneChoice
from muonscope.widgets.lane_focus import set_focused_lane
from muonscope.widgets.lane_key import LaneKey
from muonscope.widgets.panel import PlotPanel

__all__ = ["LaneFocusMenu"]


class LaneFocusMenu(QtWidgets.QMenu):
    """View ▸ Lane in focus: "none" and one entry per lane, the one in focus ticked."""

    def __init__(
        self,
        key: LaneKey,
        panels: Iterable[PlotPanel],
        lane_choices: Iterable[LaneChoice],
        parent: QtWidgets.QWidget | None = None,
    ):
        """``lane_choices``: the boxes of the panels' one-lane views, which follow the focus."""
        super().__init__("Lane in focus", parent)
        self._key = key
        self._panels = tuple(panels)
        self._lane_choices = tuple(lane_choices)
        self._choices = QtGui.QActionGroup(self)
        self.aboutToShow.connect(self._fill)
        key.focus_changed.connect(self._show)

    def _show(self, position: int | None) -> None:
        """Every panel shows the lane in focus; ① and ③'s one-lane views (spectra and errors over
        the steps) draw it: left on lane 0, they showed another lane than the one the key named."""
        set_focused_lane(position)
        for panel in self._panels:
            panel.show_lane_focus()
        if position is not None:
            for choice in self._lane_choices:
                choice.choose(position)

    def _fill(self) -> None:
        """The run's lanes as the key names them now (lanes come and go with the run)."""
        self.clear()
        for action in self._choices.actions():
            self._choices.removeAction(action)
        self._add(None, "None: every lane alike")
        for entry in self._key.entries:
            self._add(entry.position, f"{entry.position} · {entry.label}")

    def _add(self, position: int | None, text: str) -> None:
        action = self.addAction(text)
        action.setCheckable(True)
        action.setChecked(position == self._key.focus)
        action.triggered.connect(lambda _checked=False, chosen=position: self._key.set_focus(chosen))
        self._choices.addAction(action)
