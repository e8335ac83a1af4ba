"""Enter presses a focused button: the keyboard's way to press one, since Space plays and pauses the
run wherever the keys are (outside a text box), and Qt's buttons take only Space by themselves.

Tabbed to "+ add lane" or a lane's ✕, neither Space (it played the run) nor Enter (nothing) added or
removed a lane: the keyboard could not do it at all.
"""

from __future__ import annotations

from PySide6 import QtCore, QtWidgets

__all__ = ["press_on_enter"]

_ENTER_KEYS = (QtCore.Qt.Key.Key_Return, QtCore.Qt.Key.Key_Enter)
_PLAIN = (QtCore.Qt.KeyboardModifier.NoModifier, QtCore.Qt.KeyboardModifier.KeypadModifier)


class _EnterPresses(QtCore.QObject):
    """An event filter: Return or Enter on a button it watches clicks that button."""

    def eventFilter(self, watched: QtCore.QObject, event: QtCore.QEvent) -> bool:
        if (
            event.type() == QtCore.QEvent.Type.KeyPress
            and event.key() in _ENTER_KEYS
            and event.modifiers() in _PLAIN
            and isinstance(watched, QtWidgets.QAbstractButton)
            and watched.isEnabled()
        ):
            watched.click()
            return True
        return super().eventFilter(watched, event)


_filter: _EnterPresses | None = None


def press_on_enter(*buttons: QtWidgets.QAbstractButton) -> None:
    """Let Return and Enter press each of ``buttons`` while it has the keys."""
    global _filter
    if _filter is None:
        _filter = _EnterPresses(QtWidgets.QApplication.instance())  # one for the application's life
    for button in buttons:
        button.installEventFilter(_filter)
