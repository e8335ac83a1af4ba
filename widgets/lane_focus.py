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

__all__ = [
    "FADED_OPACITY",
    "FOCUS_RAISE_Z",
    "focused_lane",
    "lane_item",
    "lane_of",
    "set_focused_lane",
    "show_focus",
]

#: Opacity of a lane's items while another lane is in focus: there to compare against, read as
#: background (at 0.3 two faded orange curves still competed with the focused vermillion one).
FADED_OPACITY = 0.15
#: How far above its own depth a lane in focus is drawn: over every faint lane, whichever came later
#: (eight lanes that coincide along ③'s tail buried the focused one under seven faint copies).
FOCUS_RAISE_Z = 10.0
#: The keys under which a graphics item keeps the position of its lane and its own depth
#: (Qt's ``QGraphicsItem.data``, not pyqtgraph's ``setData``, which sets a curve's points).
_LANE_KEY = 0x4C414E  # "LAN"
_DEPTH_KEY = 0x4C415A  # "LAZ"

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
    """Mark ``item`` (at the depth it is to keep) as drawing the lane at ``position`` and show it as
    the focus asks; returns it."""
    QtWidgets.QGraphicsItem.setData(item, _LANE_KEY, position)
    QtWidgets.QGraphicsItem.setData(item, _DEPTH_KEY, item.zValue())
    _show(item, position)
    return item


def lane_of(item: QtWidgets.QGraphicsItem) -> int | None:
    """The position of the lane ``item`` draws, None for an item of no lane (an axis, a marker)."""
    position = QtWidgets.QGraphicsItem.data(item, _LANE_KEY)
    return position if isinstance(position, int) else None


def show_focus(items: Iterable[QtWidgets.QGraphicsItem]) -> None:
    """Show each lane item among ``items`` as the focus asks."""
    for item in items:
        position = lane_of(item)
        if position is not None:
            _show(item, position)


def _show(item: QtWidgets.QGraphicsItem, position: int) -> None:
    """The lane in focus whole and above the others, the others faint, at their own depths."""
    focused = position == _focused
    item.setOpacity(1.0 if _focused is None or focused else FADED_OPACITY)
    own_depth = float(QtWidgets.QGraphicsItem.data(item, _DEPTH_KEY))
    item.setZValue(own_depth + (FOCUS_RAISE_Z if focused else 0.0))
