"""Wires the window to the engine thread: user intents become commands, snapshots become frames.

Snapshots arrive once per step (queued signal) and only update the history; a main-thread timer
redraws from the newest one at most ~60 times a second. The step rate and the frame rate are
therefore independent, and a slow step never blocks the interface.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

from PySide6 import QtCore

from muonscope.app.bindings import (
    class_error_problem,
    kind_defaults,
    lane_field_states,
    lane_values,
    task_field_states,
    task_values,
)
from muonscope.app.capacity_controller import CapacityController
from muonscope.app.engine_thread import Apply, EngineThread, Pause, Play, Reset, SetSpeed, Step
from muonscope.app.renderer import BucketHistory, Renderer
from muonscope.app.view_settings import apply_view
from muonscope.engine import AddLane, ConfigError, ExperimentConfig, RemoveLane, SetField, Snapshot
from muonscope.engine.changes import apply_change
from muonscope.engine.history import MetricHistory, SnapshotStore
from muonscope.engine.presets import Preset, load_preset

if TYPE_CHECKING:
    from muonscope.app.main_window import MainWindow

__all__ = ["FRAME_INTERVAL_MS", "Controller"]

log = logging.getLogger(__name__)
FRAME_INTERVAL_MS = 16


class _RateMeter:
    """Events per second over a sliding one-second window."""

    def __init__(self) -> None:
        self._times: list[float] = []
        self._counts: list[int] = []

    def add(self, count: int = 1) -> None:
        now = time.perf_counter()
        self._times.append(now)
        self._counts.append(count)
        while self._times and now - self._times[0] > 1.0:
            self._times.pop(0)
            self._counts.pop(0)

    def rate(self) -> float:
        if len(self._times) < 2:
            return 0.0
        span = self._times[-1] - self._times[0]
        return sum(self._counts[1:]) / span if span > 0 else 0.0


class Controller(QtCore.QObject):
    """Owns the engine thread, the histories and the frame timer of one window."""

    frame_drawn = QtCore.Signal(int)  # step shown by the frame just drawn

    def __init__(self, window: MainWindow, preset: Preset, engine_factory=None) -> None:
        super().__init__(window)
        self.window = window
        self.preset = preset
        self.config: ExperimentConfig = preset.config
        self.history = MetricHistory()
        self.store = SnapshotStore()
        self.buckets = BucketHistory()
        self.newest: Snapshot | None = None
        self.cursor_step: int | None = None  # None: follow the run
        self.playing = False
        self._dirty = False
        self._frames = _RateMeter()
        self._steps = _RateMeter()
        self._last_step = 0
        views = window.views
        self.renderer = Renderer(
            views.spectrum, views.series, views.class_error, views.capacity, views.timeline
        )
        kwargs = {} if engine_factory is None else {"factory": engine_factory}
        self.engine = EngineThread(preset.config, parent=self, **kwargs)
        self.capacity = CapacityController(views.capacity, lambda: self.config, self._on_alert, self)
        self._auto_run: str | None = None
        self._connect()
        self.timer = QtCore.QTimer(self)
        self.timer.setInterval(FRAME_INTERVAL_MS)
        self.timer.timeout.connect(self._on_frame)
        self._show_config(self.config)
        self._apply_view(preset)

    # ---- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        self.engine.start()
        self.timer.start()

    def shutdown(self) -> bool:
        """Stop the frame timer and the engine thread (within a second unless a step is running)."""
        self.timer.stop()
        self.capacity.stop()
        return self.engine.stop()

    # ---- wiring ------------------------------------------------------------------------------

    def _connect(self) -> None:
        views, worker = self.window.views, self.engine.worker
        worker.snapshot_ready.connect(self._on_snapshot)
        worker.run_started.connect(self._on_run_started)
        worker.playing_changed.connect(self._on_playing_changed)
        worker.alert.connect(self._on_alert)
        worker.note.connect(self._on_note)
        worker.rejected.connect(self._on_rejected)
        bar = views.transport
        bar.play_toggled.connect(self._on_play_toggled)
        bar.step_requested.connect(self.step)
        bar.reset_requested.connect(self.reset)
        bar.speed_changed.connect(lambda rate: self.engine.submit(SetSpeed(rate)))
        bar.preset_chosen.connect(self.load_preset)
        views.lanes.lane_changed.connect(self.change_lane)
        views.lanes.add_requested.connect(self.add_lane)
        views.lanes.remove_requested.connect(self.remove_lane)
        views.task.live_changed.connect(lambda name, value: self.change(f"task.{name}", value))
        views.task.staged_changed.connect(self._on_task_staged)
        views.task.restart_requested.connect(self._on_task_restart)
        views.timeline.cursor_dragged.connect(self._on_cursor_dragged)
        views.timeline.live_toggled.connect(self._on_live_toggled)
        for panel in (views.spectrum, views.series, views.class_error, views.capacity):
            panel.mode_changed.connect(self._mark_dirty)

    # ---- intents -----------------------------------------------------------------------------

    def play(self, playing: bool = True) -> None:
        self.engine.submit(Play() if playing else Pause())

    def step(self, n: int = 1) -> None:
        self.engine.submit(Step(n))

    def reset(self, seed: int | None = None) -> None:
        self.engine.submit(Reset(seed=seed))

    def load_preset(self, name: str) -> None:
        try:
            preset = load_preset(name)
        except ConfigError as exc:
            self._on_alert(str(exc))
            return
        self.preset = preset
        self.window.show_preset(preset)
        self.capacity.stop()
        self._apply_view(preset)
        self.engine.submit(Reset(config=preset.config))

    def _apply_view(self, preset: Preset) -> None:
        """Open the panels in the preset's modes; a sweep mode is run once its config is live."""
        for problem in apply_view(self.window.views, preset.view):
            self._on_alert(f"Preset {preset.name}: {problem}")
        mode = self.window.views.capacity.mode("x")
        self._auto_run = None if mode == "steps" else mode

    def change(self, path: str, value) -> None:
        """Validate a live change here (instant feedback), then queue it for the next step."""
        try:
            self.config, *_ = apply_change(self.config, SetField(path, value))
        except ConfigError as exc:
            self._on_rejected(str(exc), self.config)
            return
        self.engine.submit(Apply(SetField(path, value)))
        self._refresh_field_states()

    def change_lane(self, index: int, name: str, value) -> None:
        self.change(f"lanes[{index}].{name}", value)
        self.window.views.lanes.set_labels([lane.display_label() for lane in self.config.lanes])

    def add_lane(self) -> None:
        """A copy of the last lane's settings, starting from W = 0 on the same minibatches."""
        self._structural(AddLane(self.config.lanes[-1]))

    def remove_lane(self, index: int) -> None:
        self._structural(RemoveLane(index))

    def _structural(self, change) -> None:
        try:
            self.config, *_ = apply_change(self.config, change)
        except ConfigError as exc:
            self._on_alert(str(exc))
            return
        self.engine.submit(Apply(change))
        self._show_lanes()

    # ---- engine → UI -------------------------------------------------------------------------

    @QtCore.Slot(object)
    def _on_run_started(self, config: ExperimentConfig) -> None:
        self.config = config
        self.history = MetricHistory()
        self.store.clear()
        self.buckets.clear()
        self.newest = None
        self.cursor_step = None
        self.renderer.reset()
        self.window.views.timeline.live_button.setChecked(True)
        self._show_config(config)
        if self._auto_run is not None:
            mode, self._auto_run = self._auto_run, None
            self.capacity.run(mode)

    @QtCore.Slot(object)
    def _on_snapshot(self, snapshot: Snapshot) -> None:
        self.engine.worker.acknowledge()
        repeat = self.newest is not None and snapshot.step == self.newest.step
        if not repeat:  # a repeat carries changed settings at the same step: no new metrics
            self.history.append(snapshot)
            self.buckets.add(snapshot)
        self.store.add(snapshot)
        if repeat:
            self._dirty = True
            self.newest = snapshot
            self._on_frame()  # the user just changed something: show it without waiting a tick
            return
        self._steps.add(max(snapshot.step - self._last_step, 0))
        self._last_step = snapshot.step
        self.newest = snapshot
        self._dirty = True

    @QtCore.Slot(bool)
    def _on_playing_changed(self, playing: bool) -> None:
        self.playing = playing
        self.window.views.transport.set_playing(playing)
        self._update_status()

    @QtCore.Slot(str)
    def _on_alert(self, message: str) -> None:
        log.warning("%s", message)
        self.window.views.message.show_message(message, "error")
        self.window.statusBar().showMessage(message.split(". ")[0], 10_000)

    @QtCore.Slot(str)
    def _on_note(self, message: str) -> None:
        self.window.views.message.show_message(message, "info")

    @QtCore.Slot(str, object)
    def _on_rejected(self, message: str, config: ExperimentConfig) -> None:
        self.window.views.message.show_message(f"Not applied: {message}", "error")
        self.config = config
        self._show_config(config)

    # ---- UI state ----------------------------------------------------------------------------

    def _on_play_toggled(self, playing: bool) -> None:
        if playing and self.cursor_step is not None:
            self._on_live_toggled(True)
        self.play(playing)

    def _on_cursor_dragged(self, step: int) -> None:
        self.cursor_step = step
        self._dirty = True

    def _on_live_toggled(self, live: bool) -> None:
        self.cursor_step = None if live else (self.newest.step if self.newest else 0)
        if live:
            self.window.views.timeline.live_button.setChecked(True)
        self._dirty = True

    def _on_task_staged(self, name: str, value) -> None:
        if name == "kind":
            staged = kind_defaults(value)
            self.window.views.task.stage(staged)
            preview = self.config.task
            try:
                preview = ExperimentConfig.from_dict(
                    {**self.config.to_dict(), "task": {**task_values(self.config.task), **staged}}
                ).task
            except ConfigError:
                pass
            self._show_task_states(preview)

    def _on_task_restart(self, staged: dict) -> None:
        changes = [(f"task.{name}", value) for name, value in staged.items()]
        try:
            config = self.config.with_values(changes)
        except ConfigError as exc:
            self.window.views.message.show_message(f"Not applied: {exc}", "error")
            return
        self.window.views.message.dismiss()
        self.engine.submit(Reset(config=config))

    def _mark_dirty(self, *_args) -> None:
        self._dirty = True

    def _show_config(self, config: ExperimentConfig) -> None:
        views = self.window.views
        views.task.set_values(task_values(config.task))
        self._show_task_states(config.task)
        views.class_error.set_placeholder(class_error_problem(config.task))
        views.transport.set_seed(config.task.seed)
        self.capacity.update_modes(config)
        self._show_lanes()

    def _show_task_states(self, task) -> None:
        states, live, disabled = task_field_states(task)
        self.window.views.task.set_field_states(states, live)
        self.window.views.task.set_choice_states("embeddings", disabled)

    def _show_lanes(self) -> None:
        table = self.window.views.lanes
        table.set_lanes(
            [lane_values(lane) for lane in self.config.lanes],
            [lane.display_label() for lane in self.config.lanes],
        )
        self._refresh_field_states()

    def _refresh_field_states(self) -> None:
        for row, lane in zip(self.window.views.lanes.rows, self.config.lanes, strict=False):
            for name, (enabled, reason) in lane_field_states(lane).items():
                row.set_field_state(name, enabled, reason)

    # ---- frames ------------------------------------------------------------------------------

    def _on_frame(self) -> None:
        if not self._dirty or self.newest is None:
            return
        self._dirty = False
        shown = self.newest
        if self.cursor_step is not None:
            shown = self.store.at_or_before(self.cursor_step) or self.newest
        self.renderer.render(shown, self.newest, self.history, self.buckets)
        self._frames.add()
        self._update_status()
        self.frame_drawn.emit(shown.step)

    def _update_status(self) -> None:
        snapshot = self.newest
        if snapshot is None:
            return
        diverged = [lane.index + 1 for lane in snapshot.lanes if lane.diverged]
        lanes = f"{len(snapshot.lanes)} lanes" + (
            f", diverged: {', '.join(map(str, diverged))}" if diverged else ", all finite"
        )
        state = "playing" if self.playing else "paused"
        self.window.set_status(
            step=snapshot.step,
            steps_per_s=self._steps.rate(),
            fps=self._frames.rate(),
            device=f"{snapshot.device} · {snapshot.dtype}",
            lanes=f"{state} · {lanes}",
        )
