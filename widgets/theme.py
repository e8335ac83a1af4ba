"""Colours, pens and global pyqtgraph options shared by every view.

Lane colours are the Okabe–Ito palette, readable with the common forms of colour blindness; a lane
keeps its colour in every panel, and when a lane before it is removed (:func:`set_lane_slots`).
Line styles, not colours, tell the matrices of one lane apart.

The stage style (presentation scale and theme) is one value for the whole window, like pyqtgraph's
own configuration: pens made by :func:`lane_pen` follow it, and panels restyle their chrome from it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pyqtgraph as pg
from PySide6 import QtCore, QtGui

__all__ = [
    "FADED_Z",
    "LANE_COLOURS",
    "RAW_Z",
    "SCALES",
    "STYLE_BY_NAME",
    "THEMES",
    "StageStyle",
    "Theme",
    "band_brush",
    "configure_pyqtgraph",
    "faded_pen",
    "lane_colour",
    "lane_pen",
    "lane_swatch",
    "palette_colour",
    "set_lane_slots",
    "set_stage_style",
    "stage_style",
]

#: Okabe & Ito (2008), reordered so that the first four lanes are the most distinct.
LANE_COLOURS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442")

STYLE_BY_NAME = {
    "solid": QtCore.Qt.PenStyle.SolidLine,
    "dash": QtCore.Qt.PenStyle.DashLine,
    "dot": QtCore.Qt.PenStyle.DotLine,
    "dashdot": QtCore.Qt.PenStyle.DashDotLine,
}


@dataclass(frozen=True)
class Theme:
    """Colours of the stage: plots, text, grid, and the one lane colour that would vanish."""

    name: str
    background: str
    foreground: str
    muted: str  # secondary text and lines: markers, cursors, faint curves
    grid_alpha: float
    #: The palette's black lane becomes this (white on a dark stage).
    black_lane: str = "#000000"


THEMES = {
    "normal": Theme("normal", "#FFFFFF", "#000000", "#444444", 0.15),
    # Projectors wash out pale greys and thin lines: pure black on white, a stronger grid.
    "light": Theme("light", "#FFFFFF", "#000000", "#222222", 0.2),
    "dark": Theme("dark", "#111111", "#EEEEEE", "#BBBBBB", 0.25, black_lane="#FFFFFF"),
}
#: Opacity (0–255) of a compared branch's curves.
FADED_ALPHA = 110
#: Opacity (0–255) of a lane's raw curve under its smoothed one, on a light and on a dark stage:
#: seen, but read as background (at 70 on the dark stage the curves lost their colours to it).
RAW_ALPHA = (70, 130)
#: Opacity (0–255) of a sweep's seed band on a light and on a dark stage (at 45 on the dark stage
#: the band around ④'s curve was dark navy on near-black, barely there).
BAND_ALPHA = (45, 100)
#: Presentation scale factors offered: fonts, ticks, markers and line widths grow by this much.
SCALES = (1.0, 1.5, 2.0, 2.5, 3.0)


@dataclass(frozen=True)
class StageStyle:
    """How large and in which colours the stage is drawn; the default is the desk's."""

    scale: float = 1.0
    theme: str = "normal"

    def __post_init__(self) -> None:
        if not 1.0 <= self.scale <= 3.0:
            raise ValueError(f"scale {self.scale} must be between 1 and 3")
        if self.theme not in THEMES:
            raise ValueError(f"theme {self.theme!r} must be one of {', '.join(THEMES)}")

    @property
    def colours(self) -> Theme:
        return THEMES[self.theme]

    def font_pt(self, base_pt: float) -> float:
        return base_pt * self.scale


_style = StageStyle()


def stage_style() -> StageStyle:
    return _style


def set_stage_style(style: StageStyle) -> None:
    """Make ``style`` the window's; pens made from now on follow it (panels restyle themselves)."""
    global _style
    _style = style
    pg.setConfigOptions(background=style.colours.background, foreground=style.colours.foreground)


#: The palette slot of the lane at each position (a position past its end: its own number).
_slots: tuple[int, ...] = ()


def set_lane_slots(slots: Sequence[int]) -> None:
    """The palette slot of each lane by position: a lane keeps its colour when a lane before it is
    removed (the lanes after it took the colours of the lanes before them). Pens made from now on
    follow it; the panels make theirs when their lanes change."""
    global _slots
    _slots = tuple(slots)


def palette_colour(slot: int) -> str:
    """Colour ``slot`` of the palette (cycling past eight), as the stage's theme shows it."""
    colour = LANE_COLOURS[slot % len(LANE_COLOURS)]
    return _style.colours.black_lane if colour == "#000000" else colour


def lane_colour(index: int) -> str:
    """The colour of the lane at position ``index``: its palette slot's (see :func:`set_lane_slots`)."""
    return palette_colour(_slots[index] if index < len(_slots) else index)


def lane_swatch(index: int, size_px: int = 12) -> QtGui.QIcon:
    """A square of lane ``index``'s colour: a lane box cut to "Adam…" on a stage still says which
    of two Adam lanes it holds."""
    pixmap = QtGui.QPixmap(size_px, size_px)
    pixmap.fill(QtGui.QColor(lane_colour(index)))
    return QtGui.QIcon(pixmap)


def lane_pen(index: int, style: str = "solid", width: float = 2.0) -> QtGui.QPen:
    """A cosmetic pen in the lane's colour, ``width`` px at the stage's scale.

    Cosmetic pens keep their pixel width under zoom and are the cheap ones to draw; see
    benchmarks/presentation_frames.py for what thick ones cost per frame.
    """
    pen = pg.mkPen(lane_colour(index), width=width * _style.scale)
    pen.setStyle(STYLE_BY_NAME[style])
    pen.setCosmetic(True)
    return pen


#: Depths of faint curves, under every lane's bold ones (drawn at 0): a lane's raw points, and
#: lowest another branch's curves. Drawn lane by lane at one depth, the raw points of later lanes
#: broke up the moving average of the first.
RAW_Z = -1.0
FADED_Z = -2.0


def faded_pen(index: int) -> QtGui.QPen:
    """A lane's pen for another branch of the run: dotted and faint, under the lane's own curve."""
    return _see_through(lane_pen(index, "dot", 1.5), FADED_ALPHA)


def raw_pen(index: int) -> QtGui.QPen:
    """A lane's pen for its raw points under their smoothed curve: solid, thin and faint."""
    return _see_through(lane_pen(index, "solid", 1.0), RAW_ALPHA[_style.theme == "dark"])


def band_brush(index: int) -> QtGui.QBrush:
    """A lane's brush for the band its seeds span: its colour, faint on the stage's background."""
    colour = QtGui.QColor(lane_colour(index))
    colour.setAlpha(BAND_ALPHA[_style.theme == "dark"])
    return QtGui.QBrush(colour)


def _see_through(pen: QtGui.QPen, alpha: int) -> QtGui.QPen:
    colour = pen.color()
    colour.setAlpha(alpha)
    pen.setColor(colour)
    return pen


def configure_pyqtgraph() -> None:
    """White background for slides and print, no antialiasing while animating."""
    pg.setConfigOptions(antialias=False, background="w", foreground="k", imageAxisOrder="row-major")
