"""A widget's picture as a video frame: grabbed, fitted to the video's size, as rows of RGB bytes."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6 import QtCore, QtGui, QtWidgets

__all__ = ["fit_image", "grab_frame", "rgb_bytes"]


def grab_frame(
    widget: QtWidgets.QWidget, size: tuple[int, int], left_out: Sequence[QtWidgets.QWidget] = ()
) -> QtGui.QImage:
    """What ``widget`` shows now, exactly ``size`` (width, height) pixels, without the widgets
    ``left_out`` (a note that speaks to the person at the window, not to a video's viewer)."""
    shown = [child for child in left_out if child.isVisible()]
    for child in shown:
        child.hide()
    try:
        image = widget.grab().toImage()
    finally:
        for child in shown:
            child.show()
    return fit_image(image, size)


def fit_image(image: QtGui.QImage, size: tuple[int, int]) -> QtGui.QImage:
    """``image`` as exactly ``size`` pixels: scaled smoothly, letterboxed if its shape differs.

    A video keeps one size from its first frame to its last, whatever the window does meanwhile.
    The bars take the colour of the picture's corner, its background: white ones edged the dark stage.
    A grab on a scaled display (QT_SCALE_FACTOR=2) holds twice the pixels and says so in its device
    pixel ratio; the result counts pixels only (ratio 1): a ratio kept drew the window into the top
    left half of the frame and left the rest bare.
    """
    image = QtGui.QImage(image)  # the caller's image keeps its ratio
    image.setDevicePixelRatio(1.0)
    width, height = size
    if (image.width(), image.height()) == (width, height):
        return image
    scaled = image.scaled(
        width,
        height,
        QtCore.Qt.AspectRatioMode.KeepAspectRatio,
        QtCore.Qt.TransformationMode.SmoothTransformation,
    )
    canvas = QtGui.QImage(width, height, QtGui.QImage.Format.Format_RGB32)
    canvas.fill(image.pixelColor(0, 0) if not image.isNull() else QtGui.QColor("white"))
    painter = QtGui.QPainter(canvas)
    painter.drawImage((width - scaled.width()) // 2, (height - scaled.height()) // 2, scaled)
    painter.end()
    return canvas


def rgb_bytes(image: QtGui.QImage) -> bytes:
    """The pixels of ``image`` as rows of RGB bytes, top first (what the video encoder reads)."""
    import numpy as np

    rgb = image.convertToFormat(QtGui.QImage.Format.Format_RGB888)
    width, height, stride = rgb.width(), rgb.height(), rgb.bytesPerLine()
    rows = np.frombuffer(rgb.constBits(), dtype=np.uint8, count=stride * height).reshape(height, stride)
    return rows[:, : width * 3].tobytes()
