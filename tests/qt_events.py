"""Input events sent to widgets directly, as the tests need them."""

from PySide6 import QtCore, QtGui, QtWidgets


def wheel_down(widget: QtWidgets.QWidget) -> None:
    """One notch of the mouse wheel, turned towards the user, over the middle of ``widget``."""
    point = QtCore.QPointF(widget.width() / 2, widget.height() / 2)
    event = QtGui.QWheelEvent(
        point,
        widget.mapToGlobal(point),
        QtCore.QPoint(0, 0),
        QtCore.QPoint(0, -120),  # one notch down
        QtCore.Qt.MouseButton.NoButton,
        QtCore.Qt.KeyboardModifier.NoModifier,
        QtCore.Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    QtWidgets.QApplication.sendEvent(widget, event)
