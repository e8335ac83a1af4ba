"""A window's picture fitted to a video's or a shot's size."""

import os
import subprocess
import sys

import pytest
from PySide6 import QtGui

from muonscope.app.frame_grab import fit_image

WHITE, BLACK = QtGui.QColor("white"), QtGui.QColor("black")


def _quadrants(width: int, height: int, ratio: float) -> QtGui.QImage:
    """White top-left quadrant (the corner: the letterbox colour), black elsewhere."""
    image = QtGui.QImage(width, height, QtGui.QImage.Format.Format_RGB32)
    image.fill(BLACK)
    painter = QtGui.QPainter(image)
    painter.fillRect(0, 0, width // 2, height // 2, WHITE)
    painter.end()
    image.setDevicePixelRatio(ratio)
    return image


@pytest.mark.parametrize("ratio", [1.0, 1.5, 2.0])
def test_a_grab_from_a_scaled_display_fills_the_whole_frame(ratio):
    """A 2:1 picture into a square frame: bars above and below, its bottom-right quadrant black."""
    fitted = fit_image(_quadrants(400, 200, ratio), (100, 100))
    assert (fitted.width(), fitted.height(), fitted.devicePixelRatio()) == (100, 100, 1.0)
    assert fitted.pixelColor(90, 70) == BLACK  # the content spans rows 25-75 and every column
    assert fitted.pixelColor(10, 30) == WHITE
    assert fitted.pixelColor(90, 10) == WHITE  # the bar above, in the corner's colour


def test_a_grab_already_at_the_size_counts_pixels_only():
    fitted = fit_image(_quadrants(100, 100, 2.0), (100, 100))
    assert fitted.devicePixelRatio() == 1.0 and fitted.pixelColor(90, 90) == BLACK


def test_a_shot_on_a_display_scaled_twice_draws_the_window_across_the_whole_picture(tmp_path):
    """The picture's bottom-right quarter holds the window's plots, not the bare canvas."""
    out = tmp_path / "scaled.png"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "QT_SCALE_FACTOR": "2"}
    command = ["-m", "muonscope", "shot", "--preset", "default", "--steps", "3", "--size", "640x360"]
    subprocess.run([sys.executable, *command, "--out", str(out), "--no-progress"], env=env, check=True)
    picture = QtGui.QImage(str(out))
    assert (picture.width(), picture.height()) == (640, 360)
    colours = {picture.pixel(x, y) for x in range(330, 640, 3) for y in range(190, 360, 3)}
    assert len(colours) > 10  # curves, ticks and text; a bare canvas is one colour
