"""A slider that keeps its own keys while it has the keyboard."""

from __future__ import annotations

from PySide6 import QtCore, QtGui, QtWidgets

__all__ = ["KeyedSlider"]

#: The keys a focused slider moves by.
_SLIDER_KEYS = frozenset(
    {
        QtCore.Qt.Key.Key_Left,
        QtCore.Qt.Key.Key_Right,
        QtCore.Qt.Key.Key_Up,
        QtCore.Qt.Key.Key_Down,
        QtCore.Qt.Key.Key_PageUp,
        QtCore.Qt.Key.Key_PageDown,
        QtCore.Qt.Key.Key_Home,
        QtCore.Qt.Key.Key_End,
    }
)


class KeyedSlider(QtWidgets.QSlider):
    """A QSlider whose arrow, page and Home/End keys move it while it has focus.

    The window's shortcuts on those keys (→ steps the run, Page Down the next preset) took them
    first: three presses of → on the focused label-noise slider took three steps and left the
    noise where it was. Anywhere else the shortcuts keep their keys.
    """

    def event(self, event: QtCore.QEvent) -> bool:
        if event.type() == QtCore.QEvent.Type.ShortcutOverride and _moves_slider(event):
            event.accept()  # the slider's keyPressEvent gets the key
            return True
        return super().event(event)


def _moves_slider(event: QtGui.QKeyEvent) -> bool:
    return event.key() in _SLIDER_KEYS and not event.modifiers() & ~QtCore.Qt.KeyboardModifier.KeypadModifier
