"""The window's keyboard: the shortcuts that have no button, and the sheet that lists every shortcut.

Every shortcut in the window is a QAction (toolbar buttons, menu entries, and the button-less ones
made here and in the toolbar), so the sheet is built by walking the window's actions each time it
opens: an action added later with a shortcut shows up on its own.
"""

from __future__ import annotations

from PySide6 import QtCore, QtGui, QtWidgets

from muonscope.widgets.shortcut_sheet import ShortcutRow, ShortcutSheet, key_text

__all__ = ["SHEET_GROUP", "KeyboardController"]

#: Dynamic property naming the sheet's heading for an action outside the menus.
SHEET_GROUP = "sheet_group"
#: Headings in the order the sheet shows them (others after them, in the order met).
_GROUP_ORDER = ("Run", "View", "Presets", "Controls", "File", "Help")
#: Keys of the controls themselves, which no action holds: listed so that the sheet tells a keyboard
#: user how to reach a lane's settings.
_CONTROL_KEYS: tuple[ShortcutRow, ...] = (
    (
        "Controls",
        "Tab, Shift+Tab",
        "Next / previous control: from the plots, the lane key's lanes, the panels' boxes, "
        "then the task's fields and each lane's settings",
    ),
    ("View", "Tab to a lane in the key, Enter", "Put that lane in focus (again: all lanes alike)"),
    ("Help", "Alt+F, Alt+V, Alt+B, Alt+H", "Open the File, View, Branch or Help menu"),
    ("Controls", "Arrows, Enter", "On a lane's optimizer or momentum order: ring an option, then choose"),
    ("Controls", "Enter", "Press the button that has the keys (+ add lane, a lane's ✕, run, apply)"),
)


class KeyboardController(QtCore.QObject):
    """Adds the window's button-less shortcuts and Help ▸ Keyboard shortcuts (F1, ?).

    ``clock`` is the frame clock (back to live), ``debugger`` moves the view a step (``step_view``).
    """

    def __init__(self, window, clock, debugger, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self._window = window
        self.view_back_action = self._add("the view one step back (paused)", "Left", "View")
        self.view_back_action.triggered.connect(lambda: debugger.step_view(-1))
        self.live_action = self._add("back to live: follow the run", "End", "View")
        self.live_action.triggered.connect(clock.follow)
        self.stage_action = self._add("give the keys back to the plots (leave a box)", "Escape", "View")
        self.stage_action.triggered.connect(window.focus_stage)
        transport = window.views.transport
        transport.typing_done.connect(window.focus_stage)  # Enter in a box, then Space plays
        # after "apply & restart" the keys are the plots' again; left on the button, the focus moved on
        # to the next field when the button greyed out, and the dock scrolled to it
        window.views.task.restart_requested.connect(lambda _staged: window.focus_stage())
        transport.goto_focus_action.setProperty(SHEET_GROUP, "Run")
        window.addAction(transport.goto_focus_action)  # on a stage too, where the box is hidden
        for action in (transport.previous_preset_action, transport.next_preset_action):
            action.setProperty(SHEET_GROUP, "Presets")
            window.addAction(action)  # a talk changes preset in presentation mode too, toolbar hidden
        self.sheet_action = window.menu("Help").addAction("&Keyboard shortcuts")
        self.sheet_action.setStatusTip("this list of keyboard shortcuts")
        self.sheet_action.setShortcuts([QtGui.QKeySequence("F1"), QtGui.QKeySequence("?")])
        self.sheet_action.triggered.connect(self.show_sheet)
        self.sheet = ShortcutSheet(window)

    def _add(self, text: str, shortcut: str, group: str) -> QtGui.QAction:
        action = QtGui.QAction(text, self._window)
        action.setShortcut(QtGui.QKeySequence(shortcut))
        action.setShortcutContext(QtCore.Qt.ShortcutContext.WindowShortcut)
        action.setProperty(SHEET_GROUP, group)
        self._window.addAction(action)
        return action

    def shortcut_rows(self) -> list[ShortcutRow]:
        """(group, keys, description) of every action of the window that has a shortcut."""
        rows = []
        for action in self._window.findChildren(QtGui.QAction):
            if action.shortcuts() and not action.menu():
                keys = ", ".join(key_text(sequence) for sequence in action.shortcuts())
                rows.append((_group(action), keys, _description(action)))
        rows += _CONTROL_KEYS
        order = {group: i for i, group in enumerate(_GROUP_ORDER)}
        return sorted(rows, key=lambda row: order.get(row[0], len(order)))

    @QtCore.Slot()
    def show_sheet(self) -> None:
        self.sheet.set_rows(self.shortcut_rows())
        self.sheet.show()
        self.sheet.activateWindow()
        self._window.focus_stage()  # once the sheet closes, the keys are the plots' again


def _group(action: QtGui.QAction) -> str:
    """The action's heading: its own, the menu it is in, or "Run" for the toolbar's buttons."""
    group = action.property(SHEET_GROUP)
    if group:
        return str(group)
    holders = action.associatedObjects()
    for holder in holders:
        if isinstance(holder, QtWidgets.QMenu):
            return holder.title().replace("&", "")
    return "Run" if any(isinstance(h, QtWidgets.QToolBar) for h in holders) else "Window"


def _description(action: QtGui.QAction) -> str:
    """What the key does, capitalised as the menus' entries are ("Save session…" beside "the view
    one step back" read as two lists)."""
    text = action.statusTip() or action.text().replace("&", "")
    return text[:1].upper() + text[1:]
