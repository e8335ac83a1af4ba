"""Fields in a scrolled form leave the mouse wheel to the form until they are clicked or tabbed into.

Scrolling the controls dock with the wheel changed every number box and list the pointer passed over:
"batch B ⚡" went from 0 to 4 on its way by, and since that field applies at once, the run changed
without the user meaning to touch it. A guarded field takes the wheel only while it has the focus;
otherwise the wheel goes to the scroll area around it, which scrolls.
"""

from __future__ import annotations

from PySide6 import QtCore, QtWidgets

__all__ = ["guard_wheel"]


class _WheelGuard(QtCore.QObject):
    def eventFilter(self, watched: QtCore.QObject, event: QtCore.QEvent) -> bool:
        if event.type() != QtCore.QEvent.Type.Wheel or watched.hasFocus():
            return False
        area = _scroll_area_around(watched)
        if area is not None:
            QtWidgets.QApplication.sendEvent(area.viewport(), event)
        return True


def _scroll_area_around(widget: QtWidgets.QWidget) -> QtWidgets.QAbstractScrollArea | None:
    parent = widget.parentWidget()
    while parent is not None and not isinstance(parent, QtWidgets.QAbstractScrollArea):
        parent = parent.parentWidget()
    return parent


_GUARD = _WheelGuard()


def guard_wheel(*fields: QtWidgets.QWidget) -> None:
    """Let ``fields`` take the wheel only while focused (a click or Tab focuses them, a wheel does not)."""
    for field in fields:
        field.setFocusPolicy(QtCore.Qt.FocusPolicy.StrongFocus)
        field.installEventFilter(_GUARD)
