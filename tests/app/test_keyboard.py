"""The keyboard: a sheet of every shortcut, Esc gives the keys back after typing, ← scrubs a paused run."""

import pytest
from PySide6 import QtCore, QtGui

from tests.app.helpers import WAIT_MS, open_app, wait_for_frame, wait_for_step, wait_until_paused

Key = QtCore.Qt.Key

#: (keys, a word of what they do) the sheet must list.
EXPECTED = [
    ("Space", "play / pause"),
    ("→", "one step"),
    ("Shift+→", "N steps"),
    ("Ctrl+G", "go to step"),
    ("←", "view one step back"),
    ("End", "back to live"),
    ("Page Up", "previous preset"),
    ("Page Down", "next preset"),
    ("Ctrl+Shift+R", "record"),
    ("F11", "presentation"),
    ("Ctrl+S", "Save"),
    ("Ctrl+Shift+S", "Save the run to a new folder"),
    ("Ctrl+O", "Open"),
    ("Ctrl+Shift+O", "config"),
    ("Ctrl+Q", "Quit"),
    ("F1, ?", "keyboard shortcuts"),
    ("Tab, Shift+Tab", "next / previous control"),
    ("Arrows, Enter", "optimizer or momentum order"),
    ("Enter", "press the button"),
]


@pytest.fixture
def app(qtbot):
    app = open_app(qtbot)
    app.window.activateWindow()
    qtbot.waitUntil(app.window.isActiveWindow, timeout=WAIT_MS)
    return app


def _listed(app) -> dict[str, str]:
    return {keys: description for _group, keys, description in app.keyboard.sheet.rows}


@pytest.mark.parametrize("key", [Key.Key_Question, Key.Key_F1])
def test_question_mark_and_f1_open_a_sheet_that_lists_every_shortcut(app, qtbot, key):
    app.window.focus_stage()
    qtbot.keyClick(app.window.stage, key)
    qtbot.waitUntil(app.keyboard.sheet.isVisible, timeout=WAIT_MS)
    listed = _listed(app)
    for keys, word in EXPECTED:
        assert keys in listed, f"{keys} missing from {sorted(listed)}"
        assert word.lower() in listed[keys].lower(), (keys, listed[keys])
    assert all(text[:1] == text[:1].upper() for text in listed.values())  # one list, one capitalisation
    app.keyboard.sheet.close()


def test_the_help_menu_opens_the_sheet(app, qtbot):
    entries = {action.text().replace("&", ""): action for action in app.window.menu("Help").actions()}
    entries["Keyboard shortcuts"].trigger()
    qtbot.waitUntil(app.keyboard.sheet.isVisible, timeout=WAIT_MS)
    app.keyboard.sheet.close()


def test_an_action_added_later_with_a_shortcut_shows_up_in_the_sheet(app, qtbot):
    action = QtGui.QAction("export the panels", app.window)
    action.setShortcut(QtGui.QKeySequence("Ctrl+E"))
    app.window.menu("File").addAction(action)
    app.keyboard.show_sheet()
    assert ("File", "Ctrl+E", "Export the panels") in app.keyboard.sheet.rows
    app.keyboard.sheet.close()


def test_escape_after_typing_in_a_spin_box_gives_space_back_to_play(app, qtbot):
    spin = app.views.transport.step_n_spin
    spin.setFocus()
    qtbot.waitUntil(spin.hasFocus, timeout=WAIT_MS)
    spin.selectAll()
    qtbot.keyClicks(spin, "25")
    qtbot.keyClick(spin, Key.Key_Escape)
    assert app.window.stage.hasFocus()
    assert spin.value() == 25  # what was typed is kept
    qtbot.keyClick(app.window.stage, Key.Key_Space)
    qtbot.waitUntil(lambda: app.clock.playing, timeout=WAIT_MS)
    qtbot.keyClick(app.window.stage, Key.Key_Space)
    wait_until_paused(qtbot, app)


@pytest.mark.parametrize("box", ["step_n_spin", "seed_spin", "goto_spin"])
def test_enter_in_a_toolbar_box_takes_the_value_and_gives_space_back_to_play(app, qtbot, box):
    """Type 25, Enter, Space: it plays (Space used to land in the box and empty it)."""
    spin = getattr(app.views.transport, box)
    spin.setFocus()
    qtbot.waitUntil(spin.hasFocus, timeout=WAIT_MS)
    spin.selectAll()
    qtbot.keyClicks(spin, "25")
    qtbot.keyClick(spin, Key.Key_Return)
    assert app.window.stage.hasFocus()
    if box == "goto_spin":
        wait_for_step(qtbot, app, 25)  # "go to 25" runs there first
    wait_until_paused(qtbot, app)
    wait_for_frame(qtbot, app)
    assert spin.value() == 25
    qtbot.keyClick(app.window.stage, Key.Key_Space)
    qtbot.waitUntil(lambda: app.clock.playing, timeout=WAIT_MS)
    if box != "goto_spin":  # the step on view, which playing moves on
        assert spin.value() == 25


def test_closing_the_shortcut_sheet_gives_the_keys_to_the_plots(app, qtbot):
    app.keyboard.show_sheet()
    qtbot.waitUntil(app.keyboard.sheet.isVisible, timeout=WAIT_MS)
    app.keyboard.sheet.close()
    assert app.window.stage.hasFocus() or app.window.focusWidget() is app.window.stage


def test_left_moves_the_view_back_one_step_when_paused_and_right_returns_to_live(app, qtbot):
    app.intents.step(5)
    wait_for_step(qtbot, app, 5)
    stage = app.window.stage
    app.window.focus_stage()
    with qtbot.waitSignal(app.clock.frame_drawn, timeout=WAIT_MS) as frame:
        qtbot.keyClick(stage, Key.Key_Left)
    assert frame.args == [4] and app.clock.cursor_step == 4
    assert not app.views.timeline.live
    qtbot.keyClick(stage, Key.Key_Left)
    assert app.clock.cursor_step == 3
    qtbot.keyClick(stage, Key.Key_Right)  # the view, not the engine
    assert app.clock.cursor_step == 4
    wait_for_frame(qtbot, app)
    assert app.clock.newest.step == 5
    qtbot.keyClick(stage, Key.Key_Right)  # back at the newest step: following the run again
    assert app.clock.cursor_step is None and app.views.timeline.live
    qtbot.keyClick(stage, Key.Key_Right)  # and now → steps the engine
    wait_for_step(qtbot, app, 6)


def test_end_goes_back_to_live(app, qtbot):
    app.intents.step(4)
    wait_for_step(qtbot, app, 4)
    app.clock.look_at(1)
    app.window.focus_stage()
    qtbot.keyClick(app.window.stage, Key.Key_End)
    assert app.clock.cursor_step is None and app.views.timeline.live


def test_page_down_changes_preset_in_presentation_mode_with_the_toolbar_hidden(app, qtbot):
    transport = app.views.transport
    transport.preset_chosen.disconnect(app.intents.load_preset)  # the choice is what is tested
    app.presentation.set_active(True)
    assert not transport.isVisible()
    app.window.focus_stage()
    with qtbot.waitSignal(transport.preset_chosen, timeout=WAIT_MS) as chosen:
        qtbot.keyClick(app.window.stage, Key.Key_PageDown)
    assert chosen.args[0] == transport.preset_combo.currentData()
    app.presentation.set_active(False)


def test_apply_and_restart_gives_the_keys_to_the_plots_and_the_dock_stays_put(app, qtbot):
    """The greyed-out button passed the focus on to the next field, and the dock scrolled down to it."""
    app.window.resize(1280, 720)
    dock_bar = app.window.controls_dock.widget().verticalScrollBar()
    d_box = app.views.task.editors["d"]
    d_box.setFocus()
    qtbot.waitUntil(d_box.hasFocus, timeout=WAIT_MS)
    d_box.setValue(24)
    button = app.views.task.apply_button
    qtbot.waitUntil(button.isEnabled, timeout=WAIT_MS)
    top = dock_bar.value()
    button.setFocus()
    qtbot.mouseClick(button, QtCore.Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: app.clock.newest.config.task.d == 24 and not button.isEnabled(), timeout=WAIT_MS)
    assert app.window.stage.hasFocus() and dock_bar.value() == top


def test_the_stage_scale_and_theme_change_from_the_keyboard_on_the_stage(app, qtbot):
    """With the menus hidden on a stage, a speaker had to leave presentation mode to change either."""
    presentation = app.presentation
    presentation.set_active(True)
    app.window.focus_stage()
    control = QtCore.Qt.KeyboardModifier.ControlModifier
    before = presentation.style
    qtbot.keyClick(app.window.stage, Key.Key_Equal, control)
    assert presentation.style.scale > before.scale
    qtbot.keyClick(app.window.stage, Key.Key_Minus, control)
    qtbot.keyClick(app.window.stage, Key.Key_Minus, control)
    assert presentation.style.scale < before.scale
    qtbot.keyClick(app.window.stage, Key.Key_T, control | QtCore.Qt.KeyboardModifier.ShiftModifier)
    assert presentation.style.theme != before.theme
    app.keyboard.show_sheet()
    listed = _listed(app)
    assert {"Larger presentation scale", "Smaller presentation scale", "Next presentation theme"} <= set(
        listed.values()
    )
    app.keyboard.sheet.close()
    presentation.set_active(False)


def test_the_window_opens_with_the_keys_on_the_plots_not_in_the_preset_box(qtbot):
    app = open_app(qtbot)
    app.window.activateWindow()
    qtbot.waitUntil(lambda: app.window.focusWidget() is not None, timeout=WAIT_MS)
    assert app.window.focusWidget() is app.window.stage


def test_ctrl_g_on_a_stage_without_the_toolbar_asks_for_the_step_in_a_dialog(app, qtbot, monkeypatch):
    """The go-to box is in the hidden toolbar in presentation mode: Ctrl+G did nothing there."""
    transport = app.views.transport
    asked = []

    def ask_step(_parent, current, lowest, highest):
        asked.append((current, lowest, highest))
        return 3

    monkeypatch.setattr(transport, "ask_step", ask_step)
    app.presentation.set_active(True)
    assert not transport.goto_spin.isVisible()
    app.window.focus_stage()
    with qtbot.waitSignal(transport.goto_requested, timeout=WAIT_MS) as went:
        qtbot.keyClick(app.window.stage, Key.Key_G, QtCore.Qt.KeyboardModifier.ControlModifier)
    assert went.args == [3] and len(asked) == 1
    app.presentation.set_active(False)
    asked.clear()
    qtbot.keyClick(app.window.stage, Key.Key_G, QtCore.Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(transport.goto_spin.hasFocus, timeout=WAIT_MS)  # at the desk: the box, as before
    assert asked == []


def test_home_and_end_choose_in_a_focused_combo_box_not_the_view(app, qtbot):
    """On the Inspector's tensor box Home chose the first matrix and End went back to live instead
    of choosing the last."""
    app.intents.step(4)
    wait_for_step(qtbot, app, 4)
    app.clock.look_at(1)
    app.window.inspector_dock.show()
    box = app.views.inspector.tensor_combo
    box.setFocus()
    qtbot.waitUntil(box.hasFocus, timeout=WAIT_MS)
    qtbot.keyClick(box, Key.Key_End)
    assert box.currentIndex() == box.count() - 1 and app.clock.cursor_step == 1  # still looking back
    qtbot.keyClick(box, Key.Key_Home)
    assert box.currentIndex() == 0
    app.window.focus_stage()
    qtbot.keyClick(app.window.stage, Key.Key_End)  # off the box, End goes back to live again
    assert app.clock.cursor_step is None


def test_arrow_keys_move_a_focused_slider_not_the_run(app, qtbot):
    """→ on the focused label-noise slider stepped the engine three times and left the noise at 0."""
    wait_for_frame(qtbot, app)
    start = app.clock.newest.step
    slider = app.views.task.editors["label_noise"].slider
    slider.setFocus()
    qtbot.waitUntil(slider.hasFocus, timeout=WAIT_MS)
    for _ in range(3):
        qtbot.keyClick(slider, Key.Key_Right)
    assert slider.value() == 3  # hundredths
    qtbot.keyClick(slider, Key.Key_Left)
    assert slider.value() == 2
    app.intents.step(1)  # the noise applies at the next step boundary; no step was taken before it
    wait_for_step(qtbot, app, start + 1)
    qtbot.waitUntil(lambda: app.clock.config.task.label_noise == pytest.approx(0.02), timeout=WAIT_MS)
    assert app.clock.newest.step == start + 1
    app.window.focus_stage()
    qtbot.keyClick(app.window.stage, Key.Key_Right)  # off the slider, → steps the run again
    wait_for_step(qtbot, app, start + 2)


@pytest.mark.parametrize("box", ["lane_rate", "step_n", "breakpoint"])
def test_page_keys_in_a_box_being_typed_in_stay_with_the_box(app, qtbot, box):
    """Page Down in lane 0's rate box loaded the next preset: the run was replaced and the lane's row,
    focus and all, went with it."""
    transport = app.views.transport
    chosen = []
    transport.preset_chosen.connect(chosen.append)
    shown = transport.preset_combo.currentIndex()
    widget = {
        "lane_rate": app.views.lanes.rows[0].lr,
        "step_n": transport.step_n_spin,
        "breakpoint": app.views.breakpoints.edit,
    }[box]
    if box == "breakpoint":
        app.window.breakpoints_dock.show()
    widget.setFocus()
    qtbot.waitUntil(widget.hasFocus, timeout=WAIT_MS)
    before = widget.text() if box == "breakpoint" else widget.value()
    qtbot.keyClick(widget, Key.Key_PageUp)
    if box == "breakpoint":
        assert widget.text() == before  # a line edit has no use for it: nothing happens
    else:
        assert widget.value() > before  # a number box steps by ten, as Qt's do
    qtbot.keyClick(widget, Key.Key_PageDown)
    assert chosen == [] and transport.preset_combo.currentIndex() == shown


def test_ctrl_b_opens_the_breakpoints_with_the_keys_in_their_field_and_esc_gives_them_back(app, qtbot):
    """Opened by Ctrl+B, the field had no focus: a keyboard user had to Tab round the window to it."""
    field = app.views.breakpoints.edit
    app.window.focus_stage()
    qtbot.keyClick(app.window.stage, Key.Key_B, QtCore.Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(field.hasFocus, timeout=WAIT_MS)
    qtbot.keyClicks(field, "loss < 0.5")
    assert field.text() == "loss < 0.5"
    qtbot.keyClick(field, Key.Key_Escape)
    qtbot.waitUntil(lambda: not field.hasFocus(), timeout=WAIT_MS)


def _tab_path(app, qtbot, start, presses: int) -> list:
    """(widget, its place in the window then) for each widget Tab gives the keys to, one press at a
    time from ``start``."""
    from PySide6 import QtWidgets

    qtbot.waitUntil(lambda: all(row.isVisible() for row in app.views.lanes.rows), timeout=WAIT_MS)
    start.setFocus(QtCore.Qt.FocusReason.TabFocusReason)
    qtbot.waitUntil(start.hasFocus, timeout=WAIT_MS)
    path = []
    for _ in range(presses):
        qtbot.keyClick(QtWidgets.QApplication.focusWidget(), Key.Key_Tab)
        widget = QtWidgets.QApplication.focusWidget()
        path.append((widget, QtCore.QRect(widget.mapTo(app.window, QtCore.QPoint(0, 0)), widget.size())))
    return path


def test_tab_goes_from_the_task_through_each_lane_in_reading_order_then_to_add_lane(app, qtbot):
    """From the label-noise slider Tab went to "+ add lane", then to a tab bar off the window, then to
    lane 0, whose optimizer and momentum order it never reached."""
    lanes = app.views.lanes
    slider = app.views.task.editors["label_noise"].slider
    path = [widget for widget, _place in _tab_path(app, qtbot, slider, 80)]
    assert lanes.add_button in path
    before_add = path[: path.index(lanes.add_button)]
    expected = [w for row in lanes.rows for w in row.tab_chain if w.isEnabled()]
    assert [w for w in before_add if w in expected] == expected
    dock = app.window.controls_dock
    assert all(dock.isAncestorOf(w) for w in before_add)  # no stop outside the controls on the way


def test_tab_stops_only_where_focus_shows_and_each_stop_has_a_name(app, qtbot):
    """Tab from the stage stopped on each plot and its viewport (no focus shown, no key taken) and
    on a dock tab bar off the window; nine controls were read out as a bare "spin box"."""
    from PySide6 import QtGui, QtWidgets

    path = _tab_path(app, qtbot, app.window.stage, 150)
    window = app.window.rect()
    for widget, place in path:
        assert not isinstance(widget, QtWidgets.QGraphicsView), widget
        assert widget.isVisible() and window.intersects(place), (widget, place)
        name = QtGui.QAccessible.queryAccessibleInterface(widget).text(QtGui.QAccessible.Text.Name)
        assert name.strip(), (widget, widget.objectName())


def test_a_lanes_optimizer_is_picked_with_the_arrows_and_chosen_with_enter(app, qtbot):
    """The optimizer and momentum-order buttons took no focus: the keyboard could not change them."""
    wait_for_frame(qtbot, app)
    start = app.clock.newest.step
    choice = app.views.lanes.rows[0].optimizer
    options = list(choice.buttons)
    held = app.clock.config.lanes[0].optimizer
    choice.setFocus(QtCore.Qt.FocusReason.TabFocusReason)
    qtbot.waitUntil(choice.hasFocus, timeout=WAIT_MS)
    assert choice.picked == held
    qtbot.keyClick(choice, Key.Key_Right)
    qtbot.keyClick(choice, Key.Key_Right)
    wanted = options[options.index(held) + 2]
    assert choice.picked == wanted
    assert app.clock.config.lanes[0].optimizer == held  # the arrows pick; they change nothing yet
    assert app.clock.newest.step == start  # and → is the choice's, not the run's step
    qtbot.keyClick(choice, Key.Key_Return)
    app.intents.step(1)
    qtbot.waitUntil(lambda: app.clock.config.lanes[0].optimizer == wanted, timeout=WAIT_MS)
    assert choice.value() == wanted
    qtbot.keyClick(choice, Key.Key_Space)  # Space still plays
    qtbot.waitUntil(lambda: app.clock.playing, timeout=WAIT_MS)
    app.intents.play(False)
    wait_until_paused(qtbot, app)


def test_enter_on_a_focused_button_presses_it_and_space_still_plays(app, qtbot):
    """Tabbed to "+ add lane" or a lane's ✕, Space played the run and Enter did nothing: the
    keyboard could not add or remove a lane."""
    lanes = app.views.lanes
    count = len(app.clock.config.lanes)
    lanes.add_button.setFocus(QtCore.Qt.FocusReason.TabFocusReason)
    qtbot.waitUntil(lanes.add_button.hasFocus, timeout=WAIT_MS)
    qtbot.keyClick(lanes.add_button, Key.Key_Return)
    qtbot.waitUntil(lambda: len(app.clock.config.lanes) == count + 1, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: len(lanes.rows) == count + 1, timeout=WAIT_MS)
    remove = lanes.rows[-1].remove_button
    assert remove.accessibleName() == f"remove lane {count}"
    remove.setFocus(QtCore.Qt.FocusReason.TabFocusReason)
    qtbot.waitUntil(remove.hasFocus, timeout=WAIT_MS)
    qtbot.keyClick(remove, Key.Key_Enter)
    qtbot.waitUntil(lambda: len(app.clock.config.lanes) == count, timeout=WAIT_MS)
    focused = lanes.add_button
    focused.setFocus(QtCore.Qt.FocusReason.TabFocusReason)
    qtbot.waitUntil(focused.hasFocus, timeout=WAIT_MS)
    qtbot.keyClick(focused, Key.Key_Space)  # Space stays play / pause
    qtbot.waitUntil(lambda: app.clock.playing, timeout=WAIT_MS)
    app.intents.play(False)
    wait_until_paused(qtbot, app)
    assert len(app.clock.config.lanes) == count


def test_the_sheet_names_the_menus_by_the_alt_keys_that_open_them(app):
    """The sheet said nothing of Alt+V or Alt+B, the keyboard's way to View ▸ Lane in focus and the
    Branch menu: each menu it names is there, opened by its letter."""
    app.keyboard.show_sheet()
    (row,) = [row for row in app.keyboard.sheet.rows if row[1].startswith("Alt+")]
    letters = [key.strip().removeprefix("Alt+") for key in row[1].split(",")]
    mnemonics = {
        action.text().split("&")[1][:1].upper()
        for action in app.window.menuBar().actions()
        if action.menu() is not None and "&" in action.text()
    }
    assert set(letters) == mnemonics and {"F", "V", "B", "H"} <= mnemonics
    assert any("lane in focus" in row[2].lower() for row in app.keyboard.sheet.rows)
    app.keyboard.sheet.close()
