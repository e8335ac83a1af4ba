"""The window comes back as it was left: size, docks, presentation style; damaged entries are passed over."""

from __future__ import annotations

import logging
import struct

import pytest
from PySide6 import QtCore

from muonscope.app.composition import App
from tests.app.helpers import WAIT_MS, open_app, small_preset, tabs_in_front

pytestmark = pytest.mark.xdist_group("window_memory")


@pytest.fixture
def settings(tmp_path):
    return QtCore.QSettings(str(tmp_path / "muonscope.ini"), QtCore.QSettings.Format.IniFormat)


def _reopened(qtbot, settings) -> App:
    """A second window on the same settings, restored before it shows, as ``launch`` does."""
    app = App(small_preset(), settings=settings)
    qtbot.addWidget(app.window)
    app.window_memory.restore()
    app.window.show()
    return app


def test_size_docks_and_presentation_style_come_back_on_the_next_launch(qtbot, settings):
    first = open_app(qtbot, settings=settings)
    first.window.resize(1250, 640)  # the offscreen screen is 800 px square: a height it holds
    first.window.breakpoints_dock.show()
    first.presentation.set_scale(2.0)
    first.presentation.set_theme("dark")
    first.window.close()
    second = _reopened(qtbot, settings)
    assert second.window.height() == 640
    assert not second.window.breakpoints_dock.isHidden() and second.window.inspector_dock.isHidden()
    assert (second.presentation.style.scale, second.presentation.style.theme) == (2.0, "dark")


def _as_if_saved_on_a_screen(settings, width_px: int) -> None:
    """The saved geometry rewritten as Qt writes it on a screen ``width_px`` wide (Qt then declines
    the saved place: the screen changed)."""
    geometry = bytearray(settings.value("window/geometry").data())
    geometry[_SCREEN_WIDTH_AT : _SCREEN_WIDTH_AT + 4] = struct.pack(">i", width_px)
    settings.setValue("window/geometry", QtCore.QByteArray(bytes(geometry)))


#: Where ``QWidget.saveGeometry`` writes the screen's width: after its head (8 bytes), two rectangles
#: (16 bytes each), the screen number (4) and the maximized and full-screen flags (1 each).
_SCREEN_WIDTH_AT = 8 + 16 + 16 + 4 + 1 + 1


def test_a_window_saved_on_another_screen_comes_back_at_its_size_fitted_to_this_one(qtbot, settings, caplog):
    first = open_app(qtbot, settings=settings)
    room = first.window.screen().availableGeometry().size()
    first.window.resize(first.window.width(), room.height() - 150)
    first.window.close()
    _as_if_saved_on_a_screen(settings, 2 * room.width())
    with caplog.at_level(logging.WARNING, logger="muonscope.app.window_memory"):
        second = _reopened(qtbot, settings)
    assert second.window.height() == room.height() - 150
    assert not caplog.records  # nothing was unreadable

    second.window.resize(second.window.width(), room.height() + 300)  # taller than this screen holds
    second.window.close()
    _as_if_saved_on_a_screen(settings, 2 * room.width())
    assert _reopened(qtbot, settings).window.height() == room.height()


def test_closed_on_a_stage_it_reopens_as_the_desk_it_was(qtbot, settings):
    first = open_app(qtbot, settings=settings)
    first.window.inspector_dock.show()
    first.presentation.set_active(True)
    assert first.window.controls_dock.isHidden()  # the stage hides the docks and bars
    first.window.close()
    second = _reopened(qtbot, settings)
    assert not second.presentation.active
    for shown in (second.window.controls_dock, second.window.inspector_dock, second.views.transport):
        assert not shown.isHidden(), shown.objectName()


@pytest.mark.parametrize("chosen", ["controls", "breakpoints", "inspector"])
def test_the_tab_left_in_front_is_in_front_again(qtbot, settings, chosen):
    first = open_app(qtbot, settings=settings)
    first.window.resize(700, 640)  # narrow: the debugger docks become tabs in the controls' place
    for dock in (first.window.breakpoints_dock, first.window.inspector_dock):
        dock.toggleViewAction().trigger()  # Ctrl+B, Ctrl+I
    qtbot.waitUntil(lambda: tabs_in_front(first.window) == {"Inspector"}, timeout=WAIT_MS)
    title = getattr(first.window, f"{chosen}_dock").windowTitle()
    getattr(first.window, f"{chosen}_dock").raise_()
    qtbot.waitUntil(lambda: tabs_in_front(first.window) == {title}, timeout=WAIT_MS)
    first.window.close()
    second = _reopened(qtbot, settings)
    queue_ran = []  # what was queued as the window opened (a dock's raise, say) runs first
    QtCore.QTimer.singleShot(0, lambda: queue_ran.append(True))
    qtbot.waitUntil(lambda: bool(queue_ran), timeout=WAIT_MS)
    assert tabs_in_front(second.window) == {title}


def test_a_dock_that_must_join_the_tabs_on_a_narrower_screen_goes_behind_the_tab_left_in_front(
    qtbot, settings
):
    """Closed 1400 px wide with Breakpoints beside the plots and Inspector's tab in front, reopened on
    an 800 px screen: Breakpoints joined the tabs and took the front from the tab the user had left."""
    first = open_app(qtbot, settings=settings)
    first.window.resize(1400, 640)
    for dock in (first.window.breakpoints_dock, first.window.inspector_dock):
        dock.toggleViewAction().trigger()
    qtbot.waitUntil(lambda: tabs_in_front(first.window) == {"Inspector"}, timeout=WAIT_MS)
    assert not first.window.tabifiedDockWidgets(first.window.breakpoints_dock)  # beside the plots
    first.window.close()
    second = _reopened(qtbot, settings)
    queue_ran = []
    QtCore.QTimer.singleShot(0, lambda: queue_ran.append(True))
    qtbot.waitUntil(lambda: bool(queue_ran), timeout=WAIT_MS)
    assert second.window.breakpoints_dock in second.window.tabifiedDockWidgets(second.window.controls_dock)
    assert tabs_in_front(second.window) == {"Inspector"}


def test_damaged_entries_are_passed_over_with_a_warning(qtbot, settings, caplog):
    settings.setValue("window/geometry", "not a geometry")
    settings.setValue("window/docks", QtCore.QByteArray(b"\x00garbage"))
    settings.setValue("presentation/scale", "7")
    settings.setValue("presentation/theme", "neon")
    with caplog.at_level(logging.WARNING, logger="muonscope.app.window_memory"):
        app = _reopened(qtbot, settings)
    said = [record.getMessage() for record in caplog.records]
    for what in ("window size", "dock layout", "presentation scale '7'", "presentation theme 'neon'"):
        assert any(what in line for line in said), what
    assert not app.window.controls_dock.isHidden() and app.window.breakpoints_dock.isHidden()
    new = open_app(qtbot).presentation.style
    assert (app.presentation.style.scale, app.presentation.style.theme) == (new.scale, new.theme)


def test_a_settings_store_that_is_a_folder_is_said_on_opening_and_closing(qtbot, tmp_path, caplog):
    """A folder in the settings file's place read as a first launch, and each close kept nothing,
    without a word."""
    (tmp_path / "muonscope.ini").mkdir()
    settings = QtCore.QSettings(str(tmp_path / "muonscope.ini"), QtCore.QSettings.Format.IniFormat)
    with caplog.at_level(logging.WARNING, logger="muonscope.app.window_memory"):
        app = _reopened(qtbot, settings)
        app.window.close()
    where = tmp_path / "muonscope.ini"
    assert [record.getMessage() for record in caplog.records] == [
        f"{where} cannot be read (it is not a file this user may read and write): the window opens as new",
        f"the layout could not be kept in {where} (it is not a file this user may read and write)",
    ]


def test_reset_window_layout_goes_back_to_a_first_launchs(qtbot, settings):
    app = open_app(qtbot, settings=settings)
    app.window.breakpoints_dock.show()
    app.window.controls_dock.setFloating(True)
    app.window_memory.reset_action.trigger()
    assert app.window.breakpoints_dock.isHidden() and not app.window.controls_dock.isFloating()
    assert not app.window.controls_dock.isHidden()
