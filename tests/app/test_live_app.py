"""The live app end to end: engine thread, transport, toggles, errors, shutdown."""

import itertools
import time

import pytest
from PySide6 import QtCore

from muonscope.app.engine_thread import EngineThread, Step
from muonscope.engine import Experiment
from tests.app.helpers import WAIT_MS, open_window, small_preset, wait_for_frame, wait_for_step


def test_window_opens_with_four_panels_and_status(qtbot):
    window = open_window(qtbot)
    views = window.views
    assert "small test preset" in window.windowTitle()
    for panel in (views.spectrum, views.series, views.class_error, views.capacity):
        assert panel.isVisible()
    wait_for_frame(qtbot, window)
    assert window.status_text("step") == "step 0"
    assert window.status_text("device").startswith("cpu")
    assert "4 lanes" in window.status_text("lanes")
    assert views.caption.text().startswith("<b>small test preset</b>")


def test_play_advances_and_pause_stops(qtbot):
    window = open_window(qtbot)
    window.views.transport.play_action.trigger()
    wait_for_step(qtbot, window, 5)
    assert window.controller.playing or window.controller.newest.step >= 5
    window.views.transport.play_action.trigger()
    qtbot.waitUntil(lambda: not window.controller.playing, timeout=WAIT_MS)
    qtbot.wait(100)
    stopped_at = window.controller.newest.step
    qtbot.wait(300)
    assert window.controller.newest.step == stopped_at
    assert window.views.transport.play_action.text() == "play"


def test_step_and_step_n_advance_exactly(qtbot):
    window = open_window(qtbot)
    window.views.transport.step_action.trigger()
    wait_for_step(qtbot, window, 1)
    window.views.transport.step_n_spin.setValue(7)
    window.views.transport.step_n_action.trigger()
    wait_for_step(qtbot, window, 8)
    qtbot.wait(400)
    assert window.controller.newest.step == 8
    assert window.controller.history.column("step", lane=0).tolist() == list(range(9))
    wait_for_frame(qtbot, window)
    assert window.status_text("step") == "step 8"


def _toggle_then_step(qtbot, window, action):
    before = window.controller.newest.step
    action()
    window.controller.step(1)
    wait_for_step(qtbot, window, before + 1)
    wait_for_frame(qtbot, window)
    return window.controller.newest


def test_optimizer_toggle_shows_in_next_snapshot_and_as_marker(qtbot):
    window = open_window(qtbot)
    row = window.views.lanes.rows[0]
    snapshot = _toggle_then_step(qtbot, window, lambda: row.optimizer.buttons["signgd"].click())
    assert snapshot.lanes[0].optimizer == "signgd"
    assert snapshot.events[-1].text == "lane 1 optimizer sgd → signgd"
    assert "lane 1 optimizer sgd → signgd" in window.views.series.markers.texts
    assert "lane 1 optimizer sgd → signgd" in window.views.capacity.markers.texts
    assert row.order.isEnabled()  # SignGD has a map: the order now applies


def test_order_toggle_shows_in_next_snapshot_and_as_marker(qtbot):
    window = open_window(qtbot)
    row = window.views.lanes.rows[2]
    snapshot = _toggle_then_step(qtbot, window, lambda: row.order.buttons["post"].click())
    assert snapshot.lanes[2].order == "post"
    assert snapshot.lanes[2].label.startswith("Muon post")
    assert "lane 3 order pre → post" in window.views.series.markers.texts


def test_label_noise_slider_shows_in_next_snapshot_and_as_marker(qtbot):
    window = open_window(qtbot)
    slider = window.views.task.editors["label_noise"].slider

    def move():
        slider.setValue(30)  # keyboard-style change: applies when set

    snapshot = _toggle_then_step(qtbot, window, move)
    assert snapshot.label_noise == pytest.approx(0.3)
    assert "label noise 0 → 0.3" in window.views.series.markers.texts
    assert window.views.task.editors["label_noise"].value_label.text() == "0.30"


def test_toggle_while_playing_applies_at_a_step_boundary(qtbot):
    window = open_window(qtbot)
    window.controller.play(True)
    wait_for_step(qtbot, window, 3)
    window.views.lanes.rows[1].optimizer.buttons["muon"].click()
    qtbot.waitUntil(lambda: window.controller.newest.lanes[1].optimizer == "muon", timeout=WAIT_MS)
    window.controller.play(False)
    event = next(e for e in window.controller.newest.events if e.field == "lanes[1].optimizer")
    assert event.step >= 3
    assert window.controller.store.at_or_before(event.step - 1).lanes[1].optimizer == "adam"
    assert window.controller.store.at_or_before(event.step + 1).lanes[1].optimizer == "muon"


def test_disabled_controls_say_why(qtbot):
    window = open_window(qtbot)
    sgd_row = window.views.lanes.rows[0]
    assert not sgd_row.order.isEnabled()
    assert "no map" in sgd_row.order.toolTip()
    assert not sgd_row.polar.isEnabled() and "only Muon" in sgd_row.polar.toolTip()
    muon_row = window.views.lanes.rows[2]
    assert muon_row.polar.isEnabled() and not muon_row.ns_steps.isEnabled()
    assert "Newton–Schulz" in muon_row.ns_steps.toolTip()
    assert window.views.lanes.rows[0].lr.maximum() == 1e6  # ranges come from the engine's limits


def test_reset_restarts_from_the_seed_with_current_settings(qtbot):
    window = open_window(qtbot)
    window.controller.step(4)
    wait_for_step(qtbot, window, 4)
    window.views.lanes.rows[2].lr.setValue(0.5)
    window.views.transport.seed_spin.setValue(5)
    window.views.transport.reset_action.trigger()
    qtbot.waitUntil(lambda: window.controller.config.task.seed == 5, timeout=WAIT_MS)
    assert window.controller.config.lanes[2].lr == 0.5  # reset keeps the edited settings
    qtbot.waitUntil(
        lambda: window.controller.newest is not None and window.controller.newest.step == 0, timeout=WAIT_MS
    )
    assert len(window.controller.history) == 4  # the old run's rows are gone


def test_add_and_remove_lane(qtbot):
    window = open_window(qtbot)
    window.views.lanes.add_button.click()
    assert len(window.views.lanes.rows) == 5
    window.controller.step(1)
    qtbot.waitUntil(lambda: len(window.controller.newest.lanes) == 5, timeout=WAIT_MS)
    window.views.lanes.rows[0].remove_button.click()
    window.controller.step(1)
    qtbot.waitUntil(lambda: len(window.controller.newest.lanes) == 4, timeout=WAIT_MS)
    wait_for_frame(qtbot, window)
    assert window.controller.newest.lanes[0].optimizer == "adam"
    assert len(window.views.spectrum.legend.items) == 4


def test_closing_during_play_stops_the_engine_within_a_second(qtbot):
    window = open_window(qtbot)
    window.controller.play(True)
    wait_for_step(qtbot, window, 2)
    thread = window.controller.engine.thread
    started = time.perf_counter()
    window.close()
    assert time.perf_counter() - started < 1.0
    assert not thread.isRunning()
    assert not window.controller.timer.isActive()


class _Exploding(Experiment):
    """Fails on its third step, as a bug in an update rule would."""

    def step(self, n=1):
        if self.step_count >= 2:
            raise RuntimeError("injected failure")
        super().step(n)


def test_engine_error_pauses_and_shows_a_message(qtbot):
    window = open_window(qtbot, engine_factory=_Exploding)
    window.controller.play(True)
    qtbot.waitUntil(lambda: window.views.message.isVisible(), timeout=WAIT_MS)
    assert "injected failure" in window.views.message.text
    assert "paused" in window.views.message.text
    qtbot.waitUntil(lambda: not window.controller.playing, timeout=WAIT_MS)
    assert window.controller.newest.step == 2  # what was computed is kept
    assert window.views.transport.play_action.text() == "play"
    window.views.lanes.rows[2].order.buttons["none"].click()  # still usable
    assert window.controller.config.lanes[2].order == "none"


def test_invalid_restart_is_refused_with_a_message(qtbot):
    window = open_window(qtbot)
    task = window.views.task
    task.editors["embeddings"].setCurrentText("orthogonal")
    task._edited("embeddings", "orthogonal")  # N = 64 > d = 16: not allowed
    task.apply_button.click()
    assert "task.n_items = 64" in window.views.message.text
    assert window.controller.config.task.embeddings == "gaussian"


class _Receiver(QtCore.QObject):
    """A main-thread receiver, so the worker's signals arrive queued as they do in the app."""

    def __init__(self, worker):
        super().__init__()
        self.worker = worker
        self.steps = []
        self.threads = set()

    @QtCore.Slot(object)
    def on_snapshot(self, snapshot):
        self.steps.append(snapshot.step)
        self.threads.add(QtCore.QThread.currentThread())
        self.worker.acknowledge()


def test_engine_thread_delivers_snapshots_without_a_window(qtbot, qapp):
    """The adapter alone: commands in, one snapshot per step out, on the main thread, clean stop."""
    engine = EngineThread(small_preset().config)
    receiver = _Receiver(engine.worker)
    engine.worker.snapshot_ready.connect(receiver.on_snapshot)
    got = receiver.steps
    engine.start()
    try:
        engine.submit(Step(5))
        qtbot.waitUntil(lambda: bool(got) and got[-1] == 5, timeout=WAIT_MS)
        assert got == [0, 1, 2, 3, 4, 5]
        assert receiver.threads == {qapp.thread()}
    finally:
        assert engine.stop()


def test_ui_stays_responsive_while_a_step_takes_long(qtbot):
    class Slow(Experiment):
        def step(self, n=1):
            time.sleep(0.5)
            super().step(n)

    window = open_window(qtbot, engine_factory=Slow)
    window.controller.play(True)
    ticks = []
    timer = QtCore.QTimer()
    timer.timeout.connect(lambda: ticks.append(time.perf_counter()))
    timer.start(10)
    qtbot.wait(800)
    timer.stop()
    gaps = [b - a for a, b in itertools.pairwise(ticks)]
    assert len(ticks) > 30 and max(gaps) < 0.2  # the event loop never waited on the engine


def test_playing_pauses_once_at_the_run_length(qtbot):
    preset = small_preset()
    preset = type(preset)(name="short", config=preset.config.with_value("run.steps", 4), title="short")
    window = open_window(qtbot, preset)
    window.controller.play(True)
    qtbot.waitUntil(lambda: window.views.message.isVisible(), timeout=WAIT_MS)
    assert "4 steps" in window.views.message.text
    qtbot.waitUntil(lambda: not window.controller.playing, timeout=WAIT_MS)
    assert window.controller.newest.step == 4
    window.controller.play(True)  # and it goes on when asked
    wait_for_step(qtbot, window, 7)
    window.controller.play(False)
