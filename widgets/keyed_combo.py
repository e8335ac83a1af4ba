"""A combo box that keeps Home and End while it has the keyboard."""

from __future__ import annotations

from PySide6 import QtCore, QtWidgets

__all__ = ["KeyedCombo"]

#: The keys a focused combo box chooses its first and last option by.
_COMBO_KEYS = frozenset({QtCore.Qt.Key.Key_Home, QtCore.Qt.Key.Key_End})


class KeyedCombo(QtWidgets.QComboBox):
    """A QComboBox whose Home and End choose its first and last option while it has focus.

    The window's End ("back to live") took the key first: on the Inspector's tensor box Home chose
    the first matrix and End did not choose the last. Anywhere else the shortcut keeps its key.
    """

    def event(self, event: QtCore.QEvent) -> bool:
        if event.type() == QtCore.QEvent.Type.ShortcutOverride and _chooses(event):
            event.accept()  # the box's keyPressEvent gets the key
            return True
        return super().event(event)


def _chooses(event) -> bool:
    return event.key() in _COMBO_KEYS and not event.modifiers() & ~QtCore.Qt.KeyboardModifier.KeypadModifier
