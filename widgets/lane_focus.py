"""One lane in focus: its curves as drawn, every other lane's faint, in every panel at once.

Eight lanes wear eight colours, and three of them (vermillion, orange, yellow) are hard to tell
apart in a thin line; a lane picked in the key stands out whatever its colour. Like the stage style,
the lane in focus is one value for the whole window: a lane's items are marked with their lane when
they are made (:func:`lane_item`), take the focus then, and follow it when it changes
(:func:`show_focus`). Opacity, not pens: no curve is re-created, so a zoom or a half-drawn frame is
kept.
"""

from __future__ import annotations

from collections.abc import Iterable

from PySide6 import QtWidgets

__all__ = ["FADED_OPACITY", "focused_lane", "lane_item", "lane_of", "set_focused_lane", "show_focus"]

#: Opacity of a lane's items while another lane is in focus: there to compare against, read as
#: background (at 0.3 two faded orange curves still competed with the focused vermillion one).
FADED_OPACITY = 0.15
#: The key under which a graphics item keeps the position of its lane (``QGraphicsItem.data``).
_LANE_KEY = 0x4C414E  # "LAN"

_focused: int | None = None


def focused_lane() -> int | None:
    """The position of the lane in focus, None when every lane is drawn alike."""
    return _focused


def set_focused_lane(position: int | None) -> None:
    """Put the lane at ``position`` in focus (None: none). Items made from now on follow it; the
    panels show it on their items already drawn (:func:`show_focus`)."""
    global _focused
    if position is not None and position < 0:
        raise ValueError(f"lane position {position} must be 0 or more")
    _focused = position


def lane_item(item: QtWidgets.QGraphicsItem, position: int) -> QtWidgets.QGraphicsItem:
    """Mark ``item`` as drawing the lane at ``position`` and give it the focus's opacity; returns it."""
    QtWidgets.QGraphicsItem.setData(
        item, _LANE_KEY, position
    )  # pyqtgraph's items have a setData of their own
    item.setOpacity(_opacity(position))
    return item


def lane_of(item: QtWidgets.QGraphicsItem) -> int | None:
    """The position of the lane ``item`` draws, None for an item of no lane (an axis, a marker)."""
    position = QtWidgets.QGraphicsItem.data(item, _LANE_KEY)  # Qt's item data, not pyqtgraph's
    return position if isinstance(position, int) else None


def show_focus(items: Iterable[QtWidgets.QGraphicsItem]) -> None:
    """Give each lane item among ``items`` the opacity the focus asks of it."""
    for item in items:
        position = lane_of(item)
        if position is not None:
            item.setOpacity(_opacity(position))


def _opacity(position: int) -> float:
    return 1.0 if _focused is None or position == _focused else FADED_OPACITY
