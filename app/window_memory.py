"""The window as it was left, from one launch to the next: its size and place, where its docks stand,
and the presentation scale and theme chosen for a talk.

Kept in Qt's settings store (``QSettings``: an INI file or the platform's registry), as plain bytes
and numbers that are checked before use: a stale or damaged entry is passed over, never trusted.
View ▸ Reset window layout goes back to the layout the window opens with on a first launch.
"""

from __future__ import annotations

import logging
import struct

from PySide6 import QtCore, QtWidgets

from muonscope.widgets.theme import SCALES, THEMES

__all__ = ["WindowMemory"]

log = logging.getLogger(__name__)

#: Written with the dock state; a layout saved by a window built differently is not restored.
LAYOUT_VERSION = 1
_GEOMETRY, _DOCKS = "window/geometry", "window/docks"
_SCALE, _THEME = "presentation/scale", "presentation/theme"
#: The head of the bytes ``QWidget.saveGeometry`` writes (Qt 5 and 6: major versions 1 to 3).
_GEOMETRY_HEAD = struct.Struct(">IHH4i4i")
_GEOMETRY_MAGIC, _GEOMETRY_MAJOR = 0x1D9D0CB, 3


class WindowMemory(QtCore.QObject):
    """Saves the window's desk layout as it closes; :meth:`restore` puts it back before it shows.

    Closed on a stage (presentation mode), the layout saved is the desk's from before the stage hid
    the bars and docks: reopened, the window comes back as a desk, not as an empty stage.
    """

    def __init__(self, window, presentation, settings: QtCore.QSettings, parent=None) -> None:
        super().__init__(parent)
        self._window = window
        self._presentation = presentation
        self._settings = settings
        self._first_layout = (window.size(), window.saveState(LAYOUT_VERSION))
        self._desk: tuple[QtCore.QByteArray, QtCore.QByteArray] | None = None  # while on a stage
        presentation.leaving_desk.connect(self._keep_desk)
        presentation.changed.connect(lambda on: on or self._forget_desk())
        window.closing.connect(self.save)
        self.reset_action = window.menu("View").addAction("Reset window layout")
        self.reset_action.setStatusTip("the window's size and docks as on a first launch")
        self.reset_action.triggered.connect(self.reset)

    def _keep_desk(self) -> None:
        self._desk = (self._window.saveGeometry(), self._window.saveState(LAYOUT_VERSION))

    def _forget_desk(self) -> None:
        self._desk = None

    @QtCore.Slot()
    def save(self) -> None:
        geometry, docks = self._desk or (self._window.saveGeometry(), self._window.saveState(LAYOUT_VERSION))
        style = self._presentation.style
        self._settings.setValue(_GEOMETRY, geometry)
        self._settings.setValue(_DOCKS, docks)
        self._settings.setValue(_SCALE, style.scale)
        self._settings.setValue(_THEME, style.theme)
        self._settings.sync()
        if problem := _store_problem(self._settings):
            log.warning("the layout could not be kept in %s (%s)", self._settings.fileName(), problem)

    def restore(self) -> None:
        """The layout and presentation style saved last, each part that is readable and still fits."""
        geometry, docks = self._settings.value(_GEOMETRY), self._settings.value(_DOCKS)
        where = self._settings.fileName()
        if problem := _store_problem(self._settings):  # a folder in its place read as a first launch
            log.warning("%s cannot be read (%s): the window opens as new", where, problem)
        if geometry is not None:
            self._restore_geometry(geometry, where)
        if docks is not None and not (
            isinstance(docks, QtCore.QByteArray) and self._window.restore_layout(docks, LAYOUT_VERSION)
        ):
            log.warning("the dock layout saved in %s is unreadable or older: the docks open as new", where)
        self._window.fit_docks_to(_available_size(self._window).width())
        self._restore_style()

    def _restore_geometry(self, geometry, where: str) -> None:
        """The size and place saved; on a screen of another width, where Qt declines the saved place,
        the size saved, as far as this screen holds it."""
        if isinstance(geometry, QtCore.QByteArray) and self._window.restoreGeometry(geometry):
            return
        size = _saved_size(geometry)
        if size is None:
            log.warning("the window size saved in %s is unreadable: the window opens as new", where)
            return
        room = _available_size(self._window)
        self._window.resize(size.boundedTo(room))
        log.debug("the window size in %s is from a screen of another width: kept, fitted to this one", where)

    def _restore_style(self) -> None:
        scale, theme = self._settings.value(_SCALE), self._settings.value(_THEME)
        where = self._settings.fileName()
        if _number(scale) in SCALES:
            self._presentation.set_scale(_number(scale))
        elif scale is not None:
            log.warning("the presentation scale %r saved in %s is not one offered: left as new", scale, where)
        if theme in THEMES and theme != "normal":
            self._presentation.set_theme(theme)
        elif theme is not None:
            log.warning("the presentation theme %r saved in %s is not one offered: left as new", theme, where)

    @QtCore.Slot()
    def reset(self) -> None:
        """The size and dock layout of a first launch (the presentation style stays as chosen)."""
        if self._presentation.active:
            self._presentation.set_active(False)
        size, docks = self._first_layout
        self._window.showNormal()
        self._window.restore_layout(docks, LAYOUT_VERSION)
        self._window.resize(size)


def _store_problem(settings: QtCore.QSettings) -> str:
    """What keeps the settings store from being read or written, in words ("" where nothing does)."""
    status = settings.status()
    if status == QtCore.QSettings.Status.AccessError:
        return "it is not a file this user may read and write"
    if status == QtCore.QSettings.Status.FormatError:
        return "it is not a settings file"
    return ""


def _saved_size(geometry) -> QtCore.QSize | None:
    """The window's size in bytes that ``QWidget.saveGeometry`` wrote, or None for any other bytes.

    Its layout (big-endian): magic 0x1D9D0CB, major and minor version (16 bits each), the frame
    rectangle, then the normal (not maximized) rectangle, each as left, top, right, bottom (32 bits,
    right and bottom inclusive).
    """
    if not isinstance(geometry, QtCore.QByteArray) or geometry.size() < _GEOMETRY_HEAD.size:
        return None
    magic, major, _minor, *rectangles = _GEOMETRY_HEAD.unpack_from(geometry.data())
    left, top, right, bottom = rectangles[4:]
    if magic != _GEOMETRY_MAGIC or major > _GEOMETRY_MAJOR or right < left or bottom < top:
        return None
    return QtCore.QSize(right - left + 1, bottom - top + 1)


def _available_size(window: QtWidgets.QWidget) -> QtCore.QSize:
    """The room the window's screen leaves it (the window's own size where it has no screen)."""
    screen = window.screen()
    return screen.availableGeometry().size() if screen is not None else window.size()


def _number(value) -> float | None:
    """A number as the settings store gives it back (an INI file gives text)."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return None
