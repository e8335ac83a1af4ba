"""The live app end to end: engine link, transport, toggles, errors, shutdown.

Nothing here waits on the clock: every wait is for a signal or a condition, and ordering comes from
the engine's messages (a pause is reported after every snapshot taken before it).
"""

import gc
import threading
import weakref
from dataclasses import replace

import numpy as np
import pytest
from PySide6 import QtCore, QtTest, QtWidgets

from muonscope.app.bindings import lane_field_states
from muonscope.app.composition import keep_startup_objects_out_of_collections
from muonscope.app.engine_link import EngineLink
from muonscope.app.engine_protocol import Step
from muonscope.engine import Experiment, LaneConfig
from muonscope.engine.config import TaskConfig
from muonscope.engine.task_kinds import TASK_KINDS
from tests.app.helpers import (
    WAIT_MS,
    held_experiment,
    open_app,
    small_preset,
    tabs_in_front,
    wait_for_frame,
    wait_for_step,
    wait_until_paused,
)


def test_window_opens_with_four_panels_and_status(qtbot):
    app = open_app(qtbot)
    views = app.views
    assert "small test preset" in app.window.windowTitle()
    for panel in (views.spectrum, views.series, views.class_error, views.capacity):
        assert panel.isVisible()
    wait_for_frame(qtbot, app)
    assert app.window.status_text("step") == "step 0"
    assert app.window.status_text("device").startswith("cpu")
    assert "4 lanes" in app.window.status_text("lanes")
    assert views.caption.text().startswith("<b>small test preset</b>")


def test_play_advances_and_pause_stops(qtbot):
    app = open_app(qtbot)
    app.views.transport.play_action.trigger()
    wait_for_step(qtbot, app, 5)
    assert app.clock.playing
    app.views.transport.play_action.trigger()
    wait_until_paused(qtbot, app)
    stopped_at = app.clock.newest.step
    app.intents.step(1)  # had playing gone on, the next snapshot would be further than one step
    wait_for_step(qtbot, app, stopped_at + 1)
    assert app.clock.newest.step == stopped_at + 1
    assert app.clock.history.column("step", lane=0).tolist() == list(range(stopped_at + 2))
    assert app.views.transport.play_action.text() == "play"


def test_step_and_step_n_advance_exactly(qtbot):
    app = open_app(qtbot)
    app.views.transport.step_action.trigger()
    wait_for_step(qtbot, app, 1)
    app.views.transport.step_n_spin.setValue(7)
    app.views.transport.step_n_action.trigger()
    wait_for_step(qtbot, app, 8)
    app.intents.step(1)  # an extra step taken after the eighth would show up as a gap or step 10
    wait_for_step(qtbot, app, 9)
    assert app.clock.newest.step == 9
    assert app.clock.history.column("step", lane=0).tolist() == list(range(10))
    wait_for_frame(qtbot, app)
    assert app.window.status_text("step") == "step 9"


def test_a_go_to_far_ahead_says_where_it_runs_to_and_pause_stops_it(qtbot):
    app = open_app(qtbot)
    wait_for_frame(qtbot, app)
    app.debugger.go_to(10**6)
    qtbot.waitUntil(lambda: app.clock.playing, timeout=WAIT_MS)
    wait_for_frame(qtbot, app)
    assert app.window.status_text("lanes").startswith("running to step 1000000")
    assert app.views.transport.play_action.text() == "pause"  # and Space, which toggles it, stops
    app.views.transport.play_action.trigger()
    wait_until_paused(qtbot, app)
    stopped_at = app.clock.newest.step
    app.intents.step(1)  # had the run gone on, the next snapshot would be further than one step
    wait_for_step(qtbot, app, stopped_at + 1)
    assert app.clock.newest.step == stopped_at + 1
    wait_for_frame(qtbot, app)
    assert app.window.status_text("lanes").startswith("paused · ")


@pytest.mark.parametrize("typed", ["-5", "99999999999", "1e3", "1,000"])
def test_a_step_outside_the_go_to_box_s_range_is_refused_not_changed_into_another(qtbot, typed):
    """Qt's box dropped the "-" and went to step 5, and cut 99999999999 to a run of 999999999 steps."""
    app = open_app(qtbot)
    app.intents.step(3)
    wait_for_step(qtbot, app, 3)
    box = app.views.transport.goto_spin
    qtbot.waitUntil(lambda: box.text() == "3", timeout=WAIT_MS)  # drawn: the step on view, not only arrived
    app.views.transport.focus_goto()
    QtTest.QTest.keyClicks(box, typed)
    QtTest.QTest.keyClick(box, QtCore.Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: app.views.message.text.startswith("Not done: "), timeout=WAIT_MS)
    assert "go to step" in app.views.message.text and typed in app.views.message.text
    assert f"from 0 to {box.maximum()}" in app.views.message.text  # exact, as it can be typed
    assert box.text() == "3"  # the value in force again (the step on view), not one made of the typing
    box.lineEdit().setText("-7")
    app.views.transport.goto_action.trigger()  # "go" beside a number the box does not take
    assert "go to step = -7 is not allowed" in app.views.message.text and box.text() == "3"
    box.lineEdit().setText("0")
    app.views.transport.goto_action.trigger()  # "go" takes the box's value: step 0, a rewind
    qtbot.waitUntil(lambda: app.clock.newest.step == 0, timeout=WAIT_MS)
    app.intents.step(1)  # had the refused text gone anywhere, the engine would stand elsewhere
    wait_for_step(qtbot, app, 1)
    assert app.clock.newest.step == 1


def test_the_go_to_box_shows_the_step_on_view_but_never_over_what_is_being_typed(qtbot):
    """It kept the step last typed: "go to 0" on a run at step 400 read as where the run stood."""
    app = open_app(qtbot)
    box = app.views.transport.goto_spin
    app.intents.step(4)
    wait_for_step(qtbot, app, 4)
    wait_for_frame(qtbot, app)
    assert box.value() == 4
    app.clock.look_at(2)  # looking back: the box follows the view, not the engine
    qtbot.waitUntil(lambda: box.value() == 2, timeout=WAIT_MS)
    box.lineEdit().setText("1")
    box.lineEdit().textEdited.emit("1")  # typed, not yet entered
    app.clock.follow()
    wait_for_frame(qtbot, app)
    assert box.text() == "1"  # a frame drawn meanwhile leaves the typing alone
    app.views.transport.goto_action.trigger()
    qtbot.waitUntil(lambda: app.clock.newest.step == 1, timeout=WAIT_MS)
    app.intents.step(2)
    wait_for_step(qtbot, app, 3)
    qtbot.waitUntil(lambda: box.value() == 3, timeout=WAIT_MS)  # gone: the box follows again


def test_a_step_typed_in_the_go_to_box_and_left_with_esc_is_forgotten(qtbot):
    """Esc left "3" in the box while the run stood at step 4, and "go" later rewound to step 3."""
    app = open_app(qtbot)
    app.window.activateWindow()
    box = app.views.transport.goto_spin
    app.intents.step(4)
    wait_for_step(qtbot, app, 4)
    qtbot.waitUntil(lambda: box.value() == 4, timeout=WAIT_MS)  # the frame of the step arrived at
    app.views.transport.focus_goto()
    qtbot.waitUntil(box.hasFocus, timeout=WAIT_MS)
    QtTest.QTest.keyClicks(box, "3")
    app.keyboard.stage_action.trigger()  # Esc: the keys go back to the plots
    qtbot.waitUntil(lambda: not box.hasFocus(), timeout=WAIT_MS)
    assert box.text() == "4" and not box.typing
    app.views.transport.goto_action.trigger()  # "go" stays where the run is
    app.intents.step(1)
    wait_for_step(qtbot, app, 5)
    assert app.clock.newest.step == 5  # no rewind to 3 came first
    qtbot.waitUntil(lambda: box.value() == 5, timeout=WAIT_MS)  # the box follows the view again


def test_a_go_to_taken_after_one_refused_withdraws_the_refusal(qtbot):
    """ "Not done: go to step = 'abc'" stayed up while the run went on to the step typed next."""
    app = open_app(qtbot)
    box = app.views.transport.goto_spin
    app.views.transport.focus_goto()
    QtTest.QTest.keyClicks(box, "abc")
    QtTest.QTest.keyClick(box, QtCore.Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: app.views.message.text.startswith("Not done: "), timeout=WAIT_MS)
    box.lineEdit().selectAll()
    QtTest.QTest.keyClicks(box, "6")
    QtTest.QTest.keyClick(box, QtCore.Qt.Key.Key_Return)
    wait_for_step(qtbot, app, 6)
    wait_for_frame(qtbot, app)
    assert not app.views.message.text.startswith("Not done: ")


def test_go_beside_an_emptied_go_to_box_goes_to_the_step_it_shows_again(qtbot):
    """Emptied, the box came back with its value and "go" did nothing, saying nothing."""
    app = open_app(qtbot)
    app.intents.step(4)
    wait_for_step(qtbot, app, 4)
    box = app.views.transport.goto_spin
    qtbot.waitUntil(lambda: box.value() == 4, timeout=WAIT_MS)  # no frame of step 4 is left to arrive
    box.setValue(2)
    box.lineEdit().setText("")
    app.views.transport.goto_action.trigger()
    qtbot.waitUntil(lambda: app.clock.newest.step == 2, timeout=WAIT_MS)
    wait_for_frame(qtbot, app)
    assert box.text() == "2" and not app.views.message.text.startswith("Not done")


def test_at_1280_pixels_every_toolbar_button_shows_paused_and_playing(qtbot):
    """Sized for 10⁹ steps the boxes, and "pause" wider than "play", put "present" in the overflow menu."""
    from muonscope.engine.presets import load_preset

    app = open_app(qtbot, load_preset("default"))  # its title is the longest a preset box shows
    app.window.resize(1280, 720)
    bar = app.views.transport
    overflow = bar.findChild(QtWidgets.QToolButton, "qt_toolbar_ext_button")
    for playing in (False, True):
        bar.set_playing(playing)
        QtWidgets.QApplication.processEvents()
        assert not overflow.isVisible(), playing
        assert bar.widgetForAction(bar.presentation_action).isVisible()


def _toggle_then_step(qtbot, app, action):
    before = app.clock.newest.step
    action()
    app.intents.step(1)
    wait_for_step(qtbot, app, before + 1)
    wait_for_frame(qtbot, app)
    return app.clock.newest


def test_optimizer_toggle_shows_in_next_snapshot_and_as_marker(qtbot):
    app = open_app(qtbot)
    row = app.views.lanes.rows[0]
    snapshot = _toggle_then_step(qtbot, app, lambda: row.optimizer.buttons["signgd"].click())
    assert snapshot.lanes[0].optimizer == "signgd"
    assert snapshot.config.lanes[0].optimizer == "signgd"
    assert snapshot.events[-1].text == "lane 0 optimizer SGD → SignGD, lr 20 → 0.01, buffer sum → ema"
    assert "lane 0 optimizer SGD → SignGD, lr 20 → 0.01, buffer sum → ema" in app.views.series.markers.texts
    assert "lane 0 optimizer SGD → SignGD, lr 20 → 0.01, buffer sum → ema" in app.views.capacity.markers.texts
    assert app.views.lanes.rows[0].order.isEnabled()  # SignGD has a map: the order now applies


def test_an_optimizer_switch_shows_the_rate_it_sets_in_the_message_bar_and_the_lane(qtbot):
    app = open_app(qtbot)
    row = app.views.lanes.rows[0]
    snapshot = _toggle_then_step(qtbot, app, lambda: row.optimizer.buttons["signgd"].click())
    assert snapshot.config.lanes[0].lr == 0.01
    expected = "lane 0: SGD → SignGD, lr 20 → 0.01, buffer sum → ema (SignGD's defaults)"
    assert app.views.message.text == expected
    qtbot.waitUntil(lambda: app.views.lanes.rows[0].lr.value() == 0.01, timeout=WAIT_MS)


def test_order_toggle_shows_in_next_snapshot_and_as_marker(qtbot):
    app = open_app(qtbot)
    row = app.views.lanes.rows[2]
    snapshot = _toggle_then_step(qtbot, app, lambda: row.order.buttons["post"].click())
    assert snapshot.lanes[2].order == "post"
    assert snapshot.lanes[2].label.startswith("Muon post")
    assert app.views.lanes.rows[2].title.text().startswith("2 · Muon post")  # numbered as messages name it
    assert "lane 2 order pre → post" in app.views.series.markers.texts


def test_label_noise_slider_shows_in_next_snapshot_and_as_marker(qtbot):
    app = open_app(qtbot)
    slider = app.views.task.editors["label_noise"].slider

    def move():
        slider.setValue(30)  # keyboard-style change: applies when set

    snapshot = _toggle_then_step(qtbot, app, move)
    assert snapshot.config.task.label_noise == pytest.approx(0.3)
    assert "label noise 0 → 0.3" in app.views.series.markers.texts
    assert app.views.task.editors["label_noise"].value_label.text() == "0.30"


def test_changes_made_at_one_step_share_one_marker_that_names_each(qtbot):
    """Four changes made while paused were four labels on one line, stacked over ④'s curves."""
    app = open_app(qtbot)
    app.intents.step(4)
    wait_for_step(qtbot, app, 4)
    app.intents.change("lanes[1].momentum", 0.5)
    app.intents.change("lanes[3].order", "none")
    app.intents.step(2)
    wait_for_step(qtbot, app, 6)
    app.intents.change("task.label_noise", 0.1)
    app.intents.step(1)
    wait_for_step(qtbot, app, 7)
    wait_for_frame(qtbot, app)
    both = "lane 1 β₁ 0.9 → 0.5; lane 3 order post → none"
    for markers in (app.views.series.markers, app.views.capacity.markers):
        assert markers.texts == [both, "label noise 0 → 0.1"]
        assert [line.value() for line in markers.lines] == [4, 6]
        assert markers.lines[0].toolTip() == both


def test_clicks_on_a_rate_arrow_at_one_step_leave_one_marker_from_the_first_value_to_the_last(qtbot):
    """Five clicks made five markers at one step, their labels over one another and over the curves,
    and a caption of "lane 0 lr 20 → 21, lane 0 lr 21 → 22 and 3 more changes"."""
    app = open_app(qtbot)
    app.intents.step(4)
    wait_for_step(qtbot, app, 4)
    rate = app.views.lanes.rows[0].lr
    for clicks in range(1, 6):
        rate.stepBy(1)
        qtbot.waitUntil(lambda c=clicks: app.clock.newest.config.lanes[0].lr == 20 + c, timeout=WAIT_MS)
    app.intents.step(1)
    wait_for_step(qtbot, app, 5)
    wait_for_frame(qtbot, app)
    assert [(event.step, event.text) for event in app.clock.newest.events] == [(4, "lane 0 lr 20 → 25")]
    assert app.views.series.markers.texts == ["lane 0 lr 20 → 25"]
    assert app.views.capacity.markers.texts == ["lane 0 lr 20 → 25"]
    assert "lane 0 lr 20 → 25 at step 4" in app.views.live_caption.text()


def test_toggle_while_playing_applies_at_a_step_boundary(qtbot):
    app = open_app(qtbot)
    app.intents.play(True)
    wait_for_step(qtbot, app, 3)
    app.views.lanes.rows[1].optimizer.buttons["muon"].click()
    qtbot.waitUntil(lambda: app.clock.newest.lanes[1].optimizer == "muon", timeout=WAIT_MS)
    app.intents.play(False)
    event = next(e for e in app.clock.newest.events if e.field == "lanes[1].optimizer")
    assert event.step >= 3
    assert app.clock.store.at_or_before(event.step - 1).lanes[1].optimizer == "adam"
    assert app.clock.store.at_or_before(event.step + 1).lanes[1].optimizer == "muon"


def test_disabled_controls_say_why(qtbot):
    app = open_app(qtbot)
    sgd_row = app.views.lanes.rows[0]
    assert not sgd_row.order.isEnabled()
    assert "no map" in sgd_row.order.toolTip()
    assert not sgd_row.polar.isEnabled() and "only Muon" in sgd_row.polar.toolTip()
    muon_row = app.views.lanes.rows[2]
    assert muon_row.polar.isEnabled() and not muon_row.ns_steps.isEnabled()
    assert "Newton–Schulz" in muon_row.ns_steps.toolTip()
    assert app.views.lanes.rows[0].lr.maximum() == 1e6  # ranges come from the engine's limits


def test_adams_beta2_is_a_live_setting_of_its_row_only(qtbot):
    app = open_app(qtbot)
    adam_row, muon_row = app.views.lanes.rows[1], app.views.lanes.rows[2]
    assert adam_row.beta2.isEnabled() and adam_row.beta2.value() == app.clock.config.lanes[1].beta2
    assert not muon_row.beta2.isEnabled() and "second moment" in muon_row.beta2.toolTip()
    adam_row.beta2.setValue(0.95)
    app.intents.step(1)
    qtbot.waitUntil(lambda: app.clock.config.lanes[1].beta2 == 0.95, timeout=WAIT_MS)
    assert "0.95" in app.clock.config.lanes[1].display_label()  # the label says which β₂ runs


def test_a_lane_s_thresholded_box_is_live_and_greyed_on_a_task_without_items(qtbot):
    app = open_app(qtbot)
    muon_row = app.views.lanes.rows[2]
    assert muon_row.thresholded.isEnabled() and "recovers" in muon_row.thresholded.toolTip()
    muon_row.thresholded.setChecked(True)
    app.intents.step(1)
    qtbot.waitUntil(lambda: app.clock.config.lanes[2].thresholded, timeout=WAIT_MS)
    wait_for_step(qtbot, app, 1)
    qtbot.waitUntil(lambda: app.clock.newest.lanes[2].thresholded, timeout=WAIT_MS)
    assert app.clock.newest.lanes[2].label.endswith("thresholded")  # legends say which lane it is
    muon_row.thresholded.setChecked(False)  # off again, so the stream task below is allowed
    qtbot.waitUntil(lambda: not app.clock.config.lanes[2].thresholded, timeout=WAIT_MS)
    app.intents.load_preset("spectral_filtering")
    qtbot.waitUntil(lambda: app.clock.config.task.kind == "spiked", timeout=WAIT_MS)
    box = app.views.lanes.rows[0].thresholded
    assert not box.isEnabled() and "no items" in box.toolTip()


def test_a_muon_reg_lane_s_lambda_t_box_is_live_and_greyed_where_no_schedule_applies(qtbot):
    app = open_app(qtbot)
    sgd_row, muon_row = app.views.lanes.rows[0], app.views.lanes.rows[2]
    assert not sgd_row.lam_schedule.isEnabled() and "only Muon" in sgd_row.lam_schedule.toolTip()
    assert not muon_row.lam_schedule.isEnabled() and "polar = reg" in muon_row.lam_schedule.toolTip()
    muon_row.polar.setCurrentText("reg")
    muon_row.polar.activated.emit(muon_row.polar.currentIndex())
    qtbot.waitUntil(lambda: muon_row.lam_schedule.isEnabled(), timeout=WAIT_MS)
    assert "d_(t+1)" in muon_row.lam_schedule.toolTip()  # says what the schedule is
    muon_row.lam_schedule.setChecked(True)
    app.intents.step(1)
    qtbot.waitUntil(lambda: app.clock.config.lanes[2].lam_schedule == "kim", timeout=WAIT_MS)
    assert "λ_t from" in app.clock.config.lanes[2].display_label()
    task = TaskConfig(**TASK_KINDS["hierarchical"].defaults, kind="hierarchical")
    enabled, reason = lane_field_states(app.clock.config.lanes[2], task)["lam_schedule"]
    assert not enabled and "needs a task of kind zipf" in reason  # d_t is Zipf's law: no α elsewhere


def test_reset_restarts_from_the_seed_with_current_settings(qtbot):
    app = open_app(qtbot)
    app.intents.step(4)
    wait_for_step(qtbot, app, 4)
    app.views.lanes.rows[2].lr.setValue(0.5)
    app.views.transport.seed_spin.setValue(5)
    app.views.transport.reset_action.trigger()
    qtbot.waitUntil(lambda: app.clock.config.task.seed == 5, timeout=WAIT_MS)
    assert app.clock.config.lanes[2].lr == 0.5  # reset keeps the edited settings
    assert app.clock.newest.step == 0
    assert len(app.clock.history) == 4  # the old run's rows are gone: one row per lane at step 0


def test_add_and_remove_lane(qtbot):
    app = open_app(qtbot)
    app.views.lanes.add_button.click()
    qtbot.waitUntil(lambda: len(app.views.lanes.rows) == 5, timeout=WAIT_MS)
    assert len(app.clock.newest.lanes) == 5
    app.views.lanes.rows[0].remove_button.click()
    app.intents.step(1)
    qtbot.waitUntil(lambda: app.clock.newest.step == 1, timeout=WAIT_MS)
    assert len(app.clock.newest.lanes) == 4
    wait_for_frame(qtbot, app)
    assert app.clock.newest.lanes[0].optimizer == "adam"
    assert len(app.views.lane_key.entries) == 4
    assert len(app.views.lanes.rows) == 4


def test_a_lane_that_changes_optimizer_keeps_its_old_label_in_the_key(qtbot):
    """The past curve was drawn by the old settings: the key says so, with the step of the change."""
    app = open_app(qtbot)
    app.intents.step(3)
    wait_for_step(qtbot, app, 3)
    before = app.clock.newest.lanes[0].label
    app.intents.change("lanes[0].optimizer", "signgd")
    qtbot.waitUntil(lambda: app.clock.config.lanes[0].optimizer == "signgd", timeout=WAIT_MS)
    app.intents.step(1)
    wait_for_step(qtbot, app, 4)
    wait_for_frame(qtbot, app)
    entry = app.views.lane_key.entries[0]
    assert entry.label == app.clock.newest.lanes[0].label != before
    assert entry.earlier == ((before, 3),)
    assert entry.text().startswith(before) and entry.text().endswith("(step 3)")
    assert app.views.lane_key.entries[1].earlier == ()  # the other lanes did not change


def test_closing_during_play_stops_the_engine(qtbot):
    app = open_app(qtbot)
    app.intents.play(True)
    wait_for_step(qtbot, app, 2)
    app.window.close()
    assert not app.link.running
    assert not app.clock.active


class _Exploding(Experiment):
    """Fails on its third step, as a bug in an update rule would."""

    def step(self, n=1, **kwargs):
        if self.step_count >= 2:
            raise RuntimeError("injected failure")
        super().step(n, **kwargs)


def test_engine_error_pauses_and_shows_a_message(qtbot):
    app = open_app(qtbot, engine_factory=_Exploding)
    app.intents.play(True)
    qtbot.waitUntil(lambda: app.views.message.isVisible(), timeout=WAIT_MS)
    assert "injected failure" in app.views.message.text
    assert "paused" in app.views.message.text
    wait_until_paused(qtbot, app)
    assert app.clock.newest.step == 2  # what was computed is kept
    assert app.views.transport.play_action.text() == "play"
    app.views.lanes.rows[2].order.buttons["none"].click()  # still usable
    qtbot.waitUntil(lambda: app.clock.config.lanes[2].order == "none", timeout=WAIT_MS)


def test_a_task_change_turns_off_the_lane_settings_the_new_task_cannot_run(qtbot):
    """multi_step_recovery's λ_t and thresholded lanes blocked a switch to any other kind, naming one lane."""
    app = open_app(qtbot)
    app.intents.load_preset("multi_step_recovery")
    qtbot.waitUntil(lambda: app.clock.config.lanes[1].thresholded, timeout=WAIT_MS)
    app.views.task.stage({"kind": "spiked"})
    app.views.task.apply_button.click()
    qtbot.waitUntil(lambda: app.clock.config.task.kind == "spiked", timeout=WAIT_MS)
    lanes = app.clock.config.lanes
    assert not any(lane.thresholded for lane in lanes) and {lane.lam_schedule for lane in lanes} == {"fixed"}
    row = app.views.lanes.rows[1]
    assert not row.thresholded.isEnabled() and not row.thresholded.isChecked()
    assert "no items" in row.thresholded.toolTip()


def test_invalid_restart_is_refused_with_a_message(qtbot):
    app = open_app(qtbot)
    combo = app.views.task.editors["embeddings"]
    combo.setCurrentText("orthogonal")
    combo.activated.emit(combo.currentIndex())  # as a user's pick: N = 64 > d = 16 is not allowed
    app.views.task.apply_button.click()
    assert "task.n_items = 64" in app.views.message.text
    assert app.clock.config.task.embeddings == "gaussian"
    assert app.views.task.staged == {"embeddings": "orthogonal"}  # left for the user to fix


def test_a_change_the_engine_refuses_is_reported_and_the_controls_follow_the_engine(qtbot):
    """Two adds checked against seven lanes each; the engine takes the first and refuses the second."""
    preset = small_preset()
    seven = preset.config.lanes + preset.config.lanes[:3]
    app = open_app(qtbot, type(preset)(name="seven", config=type(preset.config)(preset.config.task, seven)))
    app.views.lanes.add_button.click()
    app.views.lanes.add_button.click()  # before the first add's snapshot has arrived
    qtbot.waitUntil(lambda: "at most 8 lanes" in app.views.message.text, timeout=WAIT_MS)
    assert app.views.message.text.startswith("Not applied: ")
    qtbot.waitUntil(lambda: len(app.views.lanes.rows) == 8, timeout=WAIT_MS)
    assert len(app.clock.config.lanes) == 8 and not app.views.lanes.add_button.isEnabled()


class _Receiver(QtCore.QObject):
    """A main-thread receiver, so the link's signals arrive queued as they do in the app."""

    def __init__(self):
        super().__init__()
        self.steps = []
        self.threads = set()

    @QtCore.Slot(object)
    def on_snapshot(self, snapshot):
        self.steps.append(snapshot.step)
        self.threads.add(QtCore.QThread.currentThread())


def test_engine_link_delivers_snapshots_without_a_window(qtbot, qapp):
    """The adapter alone: commands in, one snapshot per step out, on the main thread, clean stop."""
    link = EngineLink(small_preset().config)
    receiver = _Receiver()
    link.snapshot.connect(receiver.on_snapshot)
    got = receiver.steps
    link.start()
    try:
        link.submit(Step(5))
        qtbot.waitUntil(lambda: bool(got) and got[-1] == 5, timeout=WAIT_MS)
        assert got == [0, 1, 2, 3, 4, 5]
        assert receiver.threads == {qapp.thread()}
    finally:
        assert link.stop()


def test_the_window_keeps_working_while_a_step_is_running(qtbot):
    entered, release = threading.Event(), threading.Event()
    app = open_app(qtbot, engine_factory=held_experiment(entered, release))
    try:
        app.intents.step(1)
        qtbot.waitUntil(entered.is_set, timeout=WAIT_MS)
        ticks = []
        timer = QtCore.QTimer()
        timer.timeout.connect(lambda: ticks.append(1))
        timer.start(5)
        qtbot.waitUntil(lambda: len(ticks) >= 10, timeout=WAIT_MS)  # the event loop runs meanwhile
        timer.stop()
        wait_for_frame(qtbot, app)  # and frames are still drawn
        app.views.series.set_mode("metric", "alignment")  # the controls still answer
        assert app.views.series.mode("metric") == "alignment"
        assert app.clock.newest.step == 0 and not release.is_set()
    finally:
        release.set()
    wait_for_step(qtbot, app, 1)


def test_closing_waits_for_a_step_only_until_its_deadline(qtbot):
    entered, release = threading.Event(), threading.Event()
    app = open_app(qtbot, engine_factory=held_experiment(entered, release))
    app.intents.step(1)
    qtbot.waitUntil(entered.is_set, timeout=WAIT_MS)
    try:
        assert app.link.stop(deadline_ms=50) is False  # the step is still running: not ended
    finally:
        release.set()
    qtbot.waitUntil(lambda: not app.link.running, timeout=WAIT_MS)


def test_playing_pauses_once_at_the_run_length(qtbot):
    preset = small_preset()
    preset = type(preset)(name="short", config=preset.config.with_value("run.steps", 4), title="short")
    app = open_app(qtbot, preset)
    app.intents.play(True)
    qtbot.waitUntil(lambda: app.views.message.isVisible(), timeout=WAIT_MS)
    assert "4 steps" in app.views.message.text
    wait_until_paused(qtbot, app)
    assert app.clock.newest.step == 4
    assert app.clock.newest.reached_run_length
    app.intents.play(True)  # and it goes on when asked
    wait_for_step(qtbot, app, 7)
    app.intents.play(False)


def test_startup_objects_leave_full_collections_and_later_garbage_is_still_collected():
    """A full collection walks only what was made after start-up (it stalled the window 80-120 ms)."""

    class Node:
        pass

    try:
        keep_startup_objects_out_of_collections()
        assert gc.get_freeze_count() > 1000
        later = Node()
        later.cycle = later
        alive = weakref.ref(later)
        del later
        gc.collect()
        assert alive() is None
    finally:
        gc.unfreeze()


def test_a_diverged_lane_is_named_by_the_same_number_in_the_banner_and_the_status_bar(qtbot, monkeypatch):
    import dataclasses

    from muonscope.engine.optim.registry import OPTIMIZERS

    blow_up = dataclasses.replace(OPTIMIZERS["ngd"], rule=lambda g, state, lane: g * float("inf"))
    monkeypatch.setitem(OPTIMIZERS, "ngd", blow_up)
    preset = small_preset()
    lanes = (preset.config.lanes[2], LaneConfig(optimizer="ngd", lr=0.1))
    app = open_app(qtbot, replace(preset, config=replace(preset.config, lanes=lanes)))
    app.intents.step(3)
    qtbot.waitUntil(lambda: "diverged" in app.window.status_text("lanes"), timeout=WAIT_MS)
    assert app.window.status_text("lanes").endswith("2 lanes, 1 diverged (lane 1)")
    qtbot.waitUntil(lambda: "lane 1 (" in app.views.message.text, timeout=WAIT_MS)  # the second lane: 1
    assert ") diverged because its step lr·D is not finite or took W past float64's largest value" in (
        app.views.message.text  # what went non-finite, not only that something did
    )
    titles = [row.title.full_title for row in app.views.lanes.rows]  # the lane's controls say it too
    assert titles[1].startswith("1 · diverged at step 1 · ") and "diverged" not in titles[0]
    cause = app.clock.newest.lanes[1].diverged_cause
    assert app.views.lanes.rows[1].title.toolTip() == f"{titles[1]}\ndiverged: {cause}"  # why, on hover
    assert f") diverged because {cause}. Its last finite weights are kept" in app.views.message.text
    app.intents.change("lanes[1].lr", 0.05)  # it stays frozen, and is told so: nothing else moved
    frozen = (
        "Lane 1 diverged at step 1 and stays frozen: its new lr changes its name, not its run; to try it "
        "before the lane diverged, go to step 0 and change it there (a fork)."
    )
    qtbot.waitUntil(lambda: app.views.message.text == frozen, timeout=WAIT_MS)
    app.views.transport.goto_requested.emit(0)  # back before it: its box is live again
    qtbot.waitUntil(lambda: "diverged" not in app.views.lanes.rows[1].title.full_title, timeout=WAIT_MS)


def test_a_first_lane_that_diverged_does_not_make_panel_two_say_its_metric_went_unmeasured(
    qtbot, monkeypatch
):
    """A diverged lane has no gap from the step it diverged on: read off lane 0 alone, ② said the
    others' gaps were "measured at 0 of 3 steps while playing", under their curves of 3 points."""
    import dataclasses

    from muonscope.engine.optim.registry import OPTIMIZERS

    blow_up = dataclasses.replace(OPTIMIZERS["ngd"], rule=lambda g, state, lane: g * float("inf"))
    monkeypatch.setitem(OPTIMIZERS, "ngd", blow_up)
    preset = small_preset()
    lanes = (LaneConfig(optimizer="ngd", lr=0.1), preset.config.lanes[2])
    app = open_app(qtbot, replace(preset, config=replace(preset.config, lanes=lanes)))
    app.views.series.set_mode("metric", "gap")
    app.intents.step(1)  # it diverges there: the run pauses
    wait_for_step(qtbot, app, 1)
    app.intents.step(2)
    wait_for_step(qtbot, app, 3)
    wait_for_frame(qtbot, app)
    assert np.isfinite(app.views.series.curve_data(1)[1]).sum() == 3
    assert app.views.series.curve_data(0)[1].size == 0
    assert "measured at" not in app.views.series.note


def test_the_controls_dock_fields_leave_the_wheel_to_the_dock(qtbot):
    """Scrolling the dock changed "batch B ⚡" from 0 to 4 on its way by, and the run with it."""
    from tests.qt_events import wheel_down

    app = open_app(qtbot)
    app.window.resize(1280, 720)
    batch = app.views.task.editors["batch_size"]
    lr = app.views.lanes.rows[0].lr
    values = (batch.value(), lr.value())
    for field in (batch, lr):
        wheel_down(field)
    assert (batch.value(), lr.value()) == values


def test_a_window_as_narrow_as_a_small_screen_fits_it_its_controls_squeezed_and_given_back(qtbot):
    """The controls held the window 1170 wide, past a 1024-pixel screen's edge; squeezed, they scroll
    sideways, and take their width back once the window has room again."""
    from muonscope.app.dock_room import CONTROLS_PX

    app = open_app(qtbot)
    window, dock = app.window, app.window.controls_dock
    sideways = dock.widget().horizontalScrollBar()
    window.resize(1024, 600)
    qtbot.waitUntil(lambda: window.width() == 1024, timeout=WAIT_MS)
    assert dock.width() < CONTROLS_PX
    qtbot.waitUntil(sideways.isVisible, timeout=WAIT_MS)  # what is cut off stays within reach
    window.resize(1400, 900)
    qtbot.waitUntil(lambda: window.width() == 1400, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: dock.width() >= CONTROLS_PX, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: not sideways.isVisible(), timeout=WAIT_MS)


def test_the_controls_place_takes_its_width_back_with_the_inspector_tab_in_front(qtbot):
    """Widened again, the place stayed squeezed while the Inspector's tab was in front there (the
    controls' own tab, behind it, still read as wide)."""
    from muonscope.app.dock_room import CONTROLS_PX

    app = open_app(qtbot)
    window, inspector = app.window, app.window.inspector_dock
    window.resize(1300, 800)
    qtbot.waitUntil(lambda: window.width() == 1300, timeout=WAIT_MS)
    inspector.toggleViewAction().trigger()  # Ctrl+I: too narrow beside the plots, a tab
    inspector.raise_()  # in front
    qtbot.waitUntil(lambda: tabs_in_front(window) == {"Inspector"}, timeout=WAIT_MS)
    window.resize(1024, 600)
    qtbot.waitUntil(lambda: window.width() == 1024 and inspector.width() < CONTROLS_PX, timeout=WAIT_MS)
    window.resize(1400, 900)
    qtbot.waitUntil(lambda: window.width() == 1400, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: inspector.width() >= CONTROLS_PX, timeout=WAIT_MS)


def test_panel_three_shows_by_default_the_items_the_caption_counts_as_recovered(qtbot):
    """With a step small against log N, Muon's argmax is right over its head while p̂(correct) has
    barely moved: 1 − p̂ read ≈ 1 at every rank beside a caption that counted dozens recovered."""
    lanes = (LaneConfig(optimizer="muon", lr=0.05, momentum=0.95), LaneConfig(optimizer="sgd", lr=20.0))
    app = open_app(qtbot, replace(small_preset(), config=replace(small_preset().config, lanes=lanes)))
    app.intents.step(6)
    wait_for_step(qtbot, app, 6)
    wait_for_frame(qtbot, app)
    panel, newest = app.views.class_error, app.clock.newest
    assert panel.mode("view") == "recovery"
    for position, lane in enumerate(newest.lanes):
        _rank, missed = panel.raw_data(position)
        assert lane.recovered > 0 and np.count_nonzero(missed == 0) == lane.recovered
    muon = newest.lanes[0]
    head = np.asarray(muon.item_recovered) == 1
    assert np.asarray(muon.class_error)[head].min() > 0.5  # recovered, and yet p̂(correct) < ½
    panel.set_mode("view", "curves")
    _rank, errors = panel.raw_data(0)
    np.testing.assert_array_equal(errors, muon.class_error)
    assert panel.plot.getAxis("left").labelText == "error 1 − p̂(correct)"


def test_the_spectra_panel_notes_lanes_whose_curves_coincide_and_drops_it_once_they_part(qtbot):
    app = open_app(qtbot)
    app.intents.step(1)
    wait_for_step(qtbot, app, 1)
    wait_for_frame(qtbot, app)
    assert "same G in all 4 lanes" in app.views.spectrum.note  # the gradient at W = 0, drawn four times
    app.intents.step(3)
    wait_for_step(qtbot, app, 4)
    wait_for_frame(qtbot, app)
    assert "same G" not in app.views.spectrum.note


def test_the_spectra_panel_says_which_step_a_memory_s_g_sig_is_of_when_not_the_step_on_show(qtbot):
    """G_sig, the population gradient, is taken only where the population is evaluated (every 2 steps
    here): at step 2 panel ① drew step 1's G_sig beside step 2's G as though one step's."""
    app = open_app(qtbot)
    spectrum = app.views.spectrum
    spectrum.set_mode("view", "gradient+momentum+signal")
    app.intents.step(2)
    wait_for_step(qtbot, app, 2)
    wait_for_frame(qtbot, app)
    lanes = app.clock.newest.lanes
    assert {lane.signal_step for lane in lanes} == {1} and {lane.spectra_step for lane in lanes} == {2}
    assert "G_sig of step 1, the last population gradient" in spectrum.note
    columns, _rows = spectrum.data_table()  # a CSV has no note: its columns say each matrix's step
    assert any(name.startswith("σ_k of G_sig at step 1: ") for name in columns), columns
    assert any(name.startswith("σ_k of G at step 2: ") for name in columns), columns
    spectrum.set_mode("view", "gradient+momentum")  # no G_sig on show: nothing to say of it
    wait_for_frame(qtbot, app)
    assert "G_sig" not in spectrum.note
    spectrum.set_mode("view", "gradient+momentum+signal")
    app.intents.step(1)
    wait_for_step(qtbot, app, 3)
    wait_for_frame(qtbot, app)
    assert {lane.signal_step for lane in app.clock.newest.lanes} == {3}
    assert "G_sig of" not in spectrum.note


def test_the_panels_over_steps_end_where_the_timeline_does(qtbot):
    """The bridge preset measures its alignment every 20 steps: at step 100 ② ended at 100 and ④,
    like the timeline, at 120."""
    preset = small_preset()
    sparse = preset.config.with_values([("run.eval_every", 20)])
    app = open_app(qtbot, replace(preset, config=sparse))
    app.views.series.set_mode("metric", "loss")  # measured with the population, every 20 steps
    app.intents.step(59)
    wait_for_step(qtbot, app, 59)
    wait_for_frame(qtbot, app)
    ends = [view.plot.getViewBox().viewRange()[0][1] for view in (app.views.series, app.views.capacity)]
    assert ends == [app.views.timeline.plot.getViewBox().viewRange()[0][1]] * 2


def test_panels_over_steps_note_two_lanes_that_run_alike(qtbot):
    """Two lanes with the same settings draw one curve in ② and ④: the panels say so."""
    preset = small_preset()
    twins = replace(preset.config, lanes=(preset.config.lanes[2], preset.config.lanes[2]))
    app = open_app(qtbot, replace(preset, config=twins))
    app.intents.step(4)
    wait_for_step(qtbot, app, 4)
    wait_for_frame(qtbot, app)
    assert app.views.capacity.note == "same items recovered, same accuracy in both lanes"
    assert app.views.series.note.endswith("in both lanes")


def test_embeddings_allowed_follow_the_sizes_staged_not_only_those_in_force(qtbot):
    """N = 12 typed (not yet applied) under d = 16 offers orthogonal embeddings at once: they stayed
    disabled, "needs N ≤ d (N = 64, d = 16)", until N had been applied and the run restarted."""
    app = open_app(qtbot)
    combo = app.views.task.editors["embeddings"]
    orthogonal = combo.findText("orthogonal")

    def offered() -> bool:
        return combo.model().item(orthogonal).isEnabled()

    assert not offered() and "N ≤ d" in combo.itemData(orthogonal, QtCore.Qt.ItemDataRole.ToolTipRole)
    box = app.views.task.editors["n_items"]
    box.setFocus()
    box.lineEdit().selectAll()
    QtTest.QTest.keyClicks(box.lineEdit(), "12")
    QtTest.QTest.keyClick(box.lineEdit(), QtCore.Qt.Key.Key_Return)
    assert app.views.task.staged == {"n_items": 12} and app.clock.config.task.n_items == 64
    assert offered()
    wait_for_frame(qtbot, app)  # a frame of the run in force keeps what is staged
    assert offered()


def test_choosing_the_kind_in_force_again_drops_the_other_kinds_staged_sizes(qtbot):
    """Hierarchical staged its own sizes; choosing the kind in force again left them staged, and
    "apply & restart" would have restarted that kind's task with the other kind's sizes."""
    app = open_app(qtbot)
    wait_for_frame(qtbot, app)
    task, kind = app.views.task, app.views.task.editors["kind"]
    in_force = app.clock.config.task
    for choice in ("hierarchical", in_force.kind):
        kind.setCurrentText(choice)
        kind.activated.emit(kind.currentIndex())  # as a click in its list
    assert task.staged == {} and not task.apply_button.isEnabled()
    assert task.editors["d"].value() == in_force.d and task.editors["n_items"].value() == in_force.n_items


def test_the_staircase_profile_greys_the_head_fields_it_does_not_read(qtbot):
    """On preset 10 (profile = staircase) "head mass" took 0.3, armed "apply & restart", and the
    restart changed nothing while the caption said "head mass 0.8 → 0.3"."""
    from muonscope.engine.presets import load_preset

    app = open_app(qtbot, load_preset("tail_multi_step_isotropy"))
    wait_for_frame(qtbot, app)
    task = app.views.task
    for name in ("head_mass", "head_frac"):
        assert task.editors[name].isVisible() and not task.editors[name].isEnabled()
        assert "profile = 'staircase' does not read it" in task.editors[name].toolTip()
    profile = task.editors["profile"]
    profile.setCurrentText("two_level")
    profile.activated.emit(profile.currentIndex())  # staged: the two-level profile reads them
    assert all(task.editors[name].isEnabled() for name in ("head_mass", "head_frac"))


def test_a_restart_too_large_for_memory_is_refused_and_the_run_plays_on(qtbot):
    """d = 16384, N = 10⁷ read "The engine stopped during start (invalid settings) … The run is
    paused", while the run played on."""
    app = open_app(qtbot)
    in_force = app.clock.config
    app.intents.play(True)
    wait_for_step(qtbot, app, 2)
    app.intents.restart_with({"d": 16384, "n_items": 10_000_000})
    qtbot.waitUntil(lambda: app.views.message.text.startswith("Not restarted: "), timeout=WAIT_MS)
    assert "GiB" in app.views.message.text and "goes on as it was" in app.views.message.text
    refused_at = app.clock.newest.step
    wait_for_step(qtbot, app, refused_at + 2)  # still playing
    assert app.clock.config == in_force
    app.intents.play(False)
    wait_until_paused(qtbot, app)
