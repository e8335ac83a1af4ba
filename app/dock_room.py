"""Where the window's docks go as its room changes (``window``: the main window, with its
``controls_dock``, ``breakpoints_dock`` and ``inspector_dock``).

The controls sit at the left at their own width, squeezed (a scroll bar then shows the rest) only
where the window is narrower than that allows: at their own width always, the window was 1170
pixels wide at least, past a 1024-pixel screen's edge. The debugger's docks open beside the plots
where the window has room for them, else as tabs in the controls' place, and become such tabs when
the window is made narrower or moves to a smaller screen: placed by the screen's width, a dock
opened in a 1280-pixel window on a wide screen widened the window past its screen edge for good;
widened again, the window puts back beside the plots the docks it made tabs. A dock goes beside the
plots only where it has room at ease there (the Inspector with its controls on two rows); in the
controls' place it may be as narrow as the controls.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6 import QtCore, QtWidgets

__all__ = [
    "CONTROLS_LEAST_PX",
    "CONTROLS_PX",
    "PlacedDock",
    "add_controls_dock",
    "fit_docks_to",
    "give_the_controls_room",
    "place_debugger_dock",
    "put_docks_back_beside_the_plots",
]

#: The controls' width, and the least they are squeezed to where the window is narrower.
CONTROLS_PX = 425
CONTROLS_LEAST_PX = 260
#: Room a dock beside the plots takes besides its own width: the splitter between them.
_DOCK_SEPARATOR_PX = 8
_RIGHT = QtCore.Qt.DockWidgetArea.RightDockWidgetArea
_ACROSS = QtCore.Qt.Orientation.Horizontal


class PlacedDock(QtWidgets.QDockWidget):
    """A dock that asks its window where to go each time it is shown: the room there changes
    as the window is resized."""

    def __init__(self, title: str, parent: QtWidgets.QWidget, place: Callable[[QtWidgets.QDockWidget], None]):
        super().__init__(title, parent)
        self._place = place
        #: Made a tab in the controls' place by the window, short of room beside the plots: it goes
        #: back there once the window is wide enough again.
        self.made_a_tab_for_room = False

    def setVisible(self, visible: bool) -> None:  # Qt calls it from show() and the View menu
        if visible and self.isHidden() and not getattr(self.parent(), "restoring_layout", False):
            self._place(self)
        super().setVisible(visible)


def add_controls_dock(window: QtWidgets.QMainWindow, dock: QtWidgets.QDockWidget) -> None:
    """The controls at the window's left, at their own width where it has room."""
    dock.setMinimumWidth(CONTROLS_LEAST_PX)
    window.addDockWidget(QtCore.Qt.DockWidgetArea.LeftDockWidgetArea, dock)
    window.resizeDocks([dock], [CONTROLS_PX], _ACROSS)


def place_debugger_dock(
    window: QtWidgets.QMainWindow, dock: QtWidgets.QDockWidget, leave_if_short: bool = False
) -> None:
    """Beside the plots where the window has room for it, else a tab in the controls' place (or,
    ``leave_if_short``, where it is)."""
    room = window.width() - _least_width_at_ease(window)
    needed = _dock_width_at_ease(dock) + _DOCK_SEPARATOR_PX
    for other in (window.breakpoints_dock, window.inspector_dock):
        if other is not dock and not other.isHidden() and not other.isFloating():
            if window.dockWidgetArea(other) == _RIGHT:
                needed = _dock_width_at_ease(dock) - _dock_width_at_ease(other)
                if room >= needed:
                    window.tabifyDockWidget(other, dock)
                    return
    if dock.isFloating():
        return
    if room >= needed:
        if window.dockWidgetArea(dock) != _RIGHT:
            window.addDockWidget(_RIGHT, dock)
    elif window.dockWidgetArea(dock) == _RIGHT and not leave_if_short:
        window.tabifyDockWidget(window.controls_dock, dock)


def fit_docks_to(window: QtWidgets.QMainWindow, width: int) -> None:
    """Make tabs of the docks beside the plots, one at a time, until the window can be ``width``
    wide; then give the controls what room is left. A dock that joins the tabs goes behind the one
    in front there: reopened on a narrower screen, Breakpoints took the front from the Inspector tab
    the user had left in front."""
    for dock in (window.inspector_dock, window.breakpoints_dock):
        window.layout().activate()
        if _least_width_at_ease(window) <= width:
            break
        if not dock.isHidden() and not dock.isFloating() and window.dockWidgetArea(dock) == _RIGHT:
            in_front = _tab_in_front_of(window, window.controls_dock)
            window.tabifyDockWidget(window.controls_dock, dock)
            dock.made_a_tab_for_room = True
            if in_front is not None:
                in_front.raise_()
    give_the_controls_room(window)


def put_docks_back_beside_the_plots(window: QtWidgets.QMainWindow) -> None:
    """The docks the window made tabs for want of room (:func:`fit_docks_to`) go back beside the
    plots once it has room for them again: moved to a smaller screen and back, they stayed tabs."""
    for dock in (window.breakpoints_dock, window.inspector_dock):
        if not dock.made_a_tab_for_room or dock.isHidden() or dock.isFloating():
            continue
        if dock not in window.tabifiedDockWidgets(window.controls_dock):
            dock.made_a_tab_for_room = False  # the user has put it somewhere else since
            continue
        window.layout().activate()
        place_debugger_dock(window, dock, leave_if_short=True)
        dock.made_a_tab_for_room = window.dockWidgetArea(dock) != _RIGHT


def give_the_controls_room(window: QtWidgets.QMainWindow) -> None:
    """Widen the controls' place back towards their own width as far as the window has room:
    squeezed on a narrow screen or by a narrow window, it stayed squeezed once it had room again
    (also with the Inspector's tab in front there, whose width is the place's)."""
    controls = window.controls_dock
    if controls.isHidden() or controls.isFloating():
        return
    shown = _tab_in_front_of(window, controls) or controls  # a tab behind keeps its old width
    if shown.width() >= CONTROLS_PX:
        return
    window.layout().activate()
    spare = window.width() - window.minimumSizeHint().width()
    wanted = min(CONTROLS_PX, shown.width() + max(0, spare))
    if wanted > shown.width():
        window.resizeDocks([shown], [wanted], _ACROSS)


def _least_width_at_ease(window: QtWidgets.QMainWindow) -> int:
    """The window's least width with the controls at their own width, not squeezed, and the docks
    beside the plots at ease: what a dock placed beside the plots must leave (squeezing the controls
    for it hid their fields)."""
    dock = window.controls_dock
    squeezable = 0 if dock.isHidden() or dock.isFloating() else CONTROLS_PX - dock.minimumWidth()
    beside = [
        other
        for other in (window.breakpoints_dock, window.inspector_dock)
        if not other.isHidden() and not other.isFloating() and window.dockWidgetArea(other) == _RIGHT
    ]
    cramped = 0
    if beside:  # side by side or as tabs there, they take the width of the widest
        cramped = max(map(_dock_width_at_ease, beside)) - max(
            other.minimumSizeHint().width() for other in beside
        )
    return window.minimumSizeHint().width() + squeezable + max(0, cramped)


def _dock_width_at_ease(dock: QtWidgets.QDockWidget) -> int:
    """A dock's least width where what it holds is at ease (``least_width_at_ease_px``, where its
    widget says it): the Inspector fits a narrow window with its controls on four rows, but beside
    the plots so cramped it would take their room for little."""
    content = dock.widget()
    at_ease_px = getattr(content, "least_width_at_ease_px", None)
    if at_ease_px is None:
        return dock.minimumSizeHint().width()
    return dock.minimumSizeHint().width() + max(0, at_ease_px - content.minimumSizeHint().width())


def _tab_in_front_of(
    window: QtWidgets.QMainWindow, dock: QtWidgets.QDockWidget
) -> QtWidgets.QDockWidget | None:
    """The dock whose tab is shown in ``dock``'s place (``dock`` itself where it has no tabs)."""
    group = [dock, *window.tabifiedDockWidgets(dock)]
    titles = {member.windowTitle(): member for member in group}
    direct = QtCore.Qt.FindChildOption.FindDirectChildrenOnly
    for bar in window.findChildren(QtWidgets.QTabBar, options=direct):  # Qt keeps unused ones too
        if {bar.tabText(index) for index in range(bar.count())} == set(titles):
            return titles[bar.tabText(bar.currentIndex())]
    return None if len(group) > 1 else dock
