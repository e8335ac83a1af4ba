"""The composition root: builds the views, the engine link and the controllers, and wires them.

Nothing else in the app knows more than one of its neighbours: the window lays out the views, the
engine link runs the engine in the background, the intent controller turns the controls' signals
into commands, the frame clock draws what the engine reports, the controls sync shows the config
in force, and the capacity controller runs sweeps. :class:`App` is where they meet.
"""

from __future__ import annotations

import gc
import logging
import os
import sys
import time
from collections.abc import Callable

from PySide6 import QtCore, QtGui

from muonscope.app.background import abandoned_jobs
from muonscope.app.capacity_controller import CapacityController
from muonscope.app.close_guard import CloseGuard
from muonscope.app.controls_sync import ControlsSync
from muonscope.app.debugger_controller import DebuggerController
from muonscope.app.engine_link import EngineLink
from muonscope.app.export_controller import ExportController
from muonscope.app.frame_clock import FrameClock
from muonscope.app.intents import IntentController
from muonscope.app.keyboard import KeyboardController
from muonscope.app.lane_focus_menu import LaneFocusMenu
from muonscope.app.live_caption import live_caption
from muonscope.app.main_window import MainWindow, shown_run_name
from muonscope.app.presentation import PresentationController
from muonscope.app.preset_drift import preset_drift
from muonscope.app.record_controller import FINISH_DEADLINE_MS, RecordController
from muonscope.app.session_controller import SessionController
from muonscope.app.standing_messages import StandingMessages
from muonscope.app.step_time_note import StepTimeNote
from muonscope.app.view_settings import apply_view, apply_view_over
from muonscope.app.views import Views, build_views
from muonscope.app.window_memory import WindowMemory
from muonscope.app.work_watch import WorkWatch
from muonscope.engine.config import ExperimentConfig
from muonscope.engine.experiment import Experiment
from muonscope.engine.presets import Preset, load_preset
from muonscope.engine.session import Session
from muonscope.engine.thread_count import ThreadChooser

__all__ = ["App", "keep_startup_objects_out_of_collections", "launch"]

log = logging.getLogger(__name__)
#: How long closing the window waits, in all, for its background work (the engine's step in
#: progress, a sweep or a ray) to end before leaving it to end on its own: the window closes well
#: within a second, whatever runs.
SHUTDOWN_DEADLINE_MS = 500
#: How long it waits instead for a session being saved: cut off, the save the user asked for was lost.
SAVE_DEADLINE_MS = 120_000


class App(QtCore.QObject):
    """One window on one experiment, and everything that runs for it."""

    def __init__(
        self,
        preset: Preset,
        engine_factory: Callable[[ExperimentConfig], Experiment] = Experiment,
        session: Session | None = None,
        threads: ThreadChooser | None = None,
        ask_before_closing: bool = False,
        settings: QtCore.QSettings | None = None,
    ) -> None:
        """``session``: the engine starts from it (a saved session resumed) instead of ``preset``'s run;
        ``threads``: how the engine chooses its torch thread count (None: the process's count);
        ``ask_before_closing``: a close asks first where work is not saved (a window someone uses);
        ``settings``: where the window's layout is kept between launches (None: not kept), put back by
        ``window_memory.restore()``."""
        super().__init__()
        views = build_views()
        self.window = MainWindow(views)
        self.setParent(self.window)  # lives as long as its window; closing the window shuts it down
        self.link = EngineLink(preset.config, engine_factory, parent=self, session=session, threads=threads)
        self.clock = FrameClock(views, self.window.set_status, parent=self)
        self.controls = ControlsSync(views, parent=self)
        self.messages = StandingMessages(self.window, parent=self)
        self.step_time = StepTimeNote(views.message, lambda: self.clock.newest)
        self.work_watch = WorkWatch(self.link, views.busy, parent=self)
        self.sessions = SessionController(self.window, self.link, self.clock, parent=self)
        self.close_guard = CloseGuard(self.window, self.link, self.sessions, ask_before_closing, parent=self)
        self.window.may_close = self.close_guard.may_close
        self.debugger = DebuggerController(self.window, self.link, self.clock, parent=self)
        self.intents = IntentController(
            views,
            self.link,
            lambda: self.clock.config,
            self._refuse,
            parent=self,
            looked_back=self._looked_back,
            step_view=lambda delta: delta == 1 and self.debugger.step_view(delta),
            may_replace=self._may_replace_the_run,
        )
        self.sessions.may_replace = self._may_replace_the_run
        self.sessions.replaced_run_name = self._replaced_run_name
        self.intents.replace_declined.connect(self._show_the_preset_again)
        self.sessions.config_open_requested.connect(self.intents.open_config)
        self._clear_refusals_when_input_is_taken(views)
        self.keyboard = KeyboardController(self.window, self.clock, self.debugger, parent=self)
        self.capacity = CapacityController(
            views.capacity, lambda: self.clock.config, self.window.show_alert, parent=self
        )
        self.exports = ExportController(self.window, parent=self)
        self.presentation = PresentationController(self.window, self._redraw_all, parent=self)
        self.presentation.changed.connect(self.window.show_on_stage)
        self.recorder = RecordController(self.window, self.link, self.clock, parent=self)
        self.window_memory = (
            None if settings is None else WindowMemory(self.window, self.presentation, settings, parent=self)
        )
        self._sweep_on_start: str | None = None
        self._preset = preset
        self._replaced_preset: Preset | None = None  # shown before the latest preset, session or run
        self._kept_preset: Preset | None = None  # shown for the run kept before the one on show
        self._wire()
        self._open(preset)

    @property
    def views(self) -> Views:
        return self.window.views

    def _clear_refusals_when_input_is_taken(self, views: Views) -> None:
        """A standing "Not done: …" goes once the next input is taken: a change carried out, a task
        field staged for a restart, or a toolbar box's number (go to, step N, reset's seed) — else
        "Not done: go to step = 'abc'" stayed up over the jump made next."""
        self.intents.change_carried_out.connect(self.messages.on_change_carried_out)
        views.task.staged_changed.connect(lambda _name, _value: self.messages.on_change_carried_out())
        for taken in (
            views.transport.goto_requested,
            views.transport.step_requested,
            views.transport.reset_requested,
        ):
            taken.connect(lambda _number: self.messages.on_change_carried_out())

    def _wire(self) -> None:
        self.link.snapshot.connect(self.clock.on_snapshot)
        self.link.running_to.connect(self.clock.on_running_to)
        self.link.paced.connect(self.clock.on_paced)
        self.link.playing_changed.connect(self.clock.on_playing_changed)
        self.link.snapshot.connect(self.messages.on_snapshot)
        self.link.snapshot.connect(self._show_diverged_lanes)
        self.link.playing_changed.connect(self.messages.on_playing_changed)
        self.link.branches_changed.connect(self.messages.on_branches_changed)
        self.link.alert.connect(self.messages.on_alert)
        self.link.note.connect(self.messages.on_note)
        self.link.rejected.connect(lambda text: self._refuse(f"Not applied: {text}"))
        self.clock.run_started.connect(self.controls.show)
        self.clock.run_started.connect(self._on_run_started)
        self.clock.config_changed.connect(self.controls.update)
        self.clock.run_started.connect(self.step_time.update)
        self.clock.config_changed.connect(self.step_time.update)
        self.clock.config_changed.connect(self._show_drift)
        # a lane switched, retuned or removed: a sweep drawn for the lanes before is not theirs
        self.clock.config_changed.connect(self.capacity.forget_if_stale)
        self.clock.frame_drawn.connect(self._show_live_caption)
        self.intents.preset_loaded.connect(self._open)
        self.views.transport.presets_end_reached.connect(self.views.passing_note.say)
        smoothing = self.views.series.smoothing_menu  # also in panel ②'s right-click menu
        self.window.menu("View").addMenu(smoothing).setText("Smoothing of ② over time")
        panels = (self.views.spectrum, self.views.series, self.views.class_error, self.views.capacity)
        choices = (self.views.spectrum.lane_choice, self.views.class_error.lane_choice)
        self.window.menu("View").addMenu(LaneFocusMenu(self.views.lane_key, panels, choices, self.window))
        self.link.saved.connect(self._on_session_opened)
        self.link.run_kept.connect(self._remember_the_kept_preset)
        self.window.closing.connect(self.shutdown)

    # ---- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        """Start the engine and the frame clock (once the window exists)."""
        self.link.start()
        self.clock.start()
        self.work_watch.start()
        # the keys are the plots' from the start: left in the preset box (the first field), an arrow
        # or Home meant for the run loaded another preset
        self.window.focus_stage()

    def shutdown(self) -> bool:
        """Stop the clock, any sweep or ray and the engine; False if one was left still computing.

        Everything is asked to stop first, then waited for under one deadline shared by all: a step
        or a ray inside an SVD (seconds at d = 2048) cannot be interrupted, so it is left to end on
        its own, and nothing more of it reaches the window (:func:`launch` then ends the process
        without waiting for it).
        """
        self.clock.stop()
        self.work_watch.stop()
        self.presentation.restore_desk_style()
        self.link.request_stop()
        self.capacity.cancel()
        until = time.monotonic() + SHUTDOWN_DEADLINE_MS / 1000
        capacity_ended = self.capacity.stop(_ms_until(until))
        saving_to = self.sessions.saving_to
        if saving_to is not None:  # (a window that asks waits for the save before closing at all)
            sys.stderr.write(f"muonscope: finishing the save to {saving_to} before closing…\n")
            until = time.monotonic() + SAVE_DEADLINE_MS / 1000
        engine_ended = self.link.stop(_ms_until(until))
        return capacity_ended and engine_ended

    # ---- glue --------------------------------------------------------------------------------

    def _may_replace_the_run(self) -> bool:
        """Asked before a new run replaces the one on show (see :meth:`CloseGuard.may_replace_the_run`)."""
        holds_work = self.clock.newest is not None and (
            self.clock.head_step > 0 or len(self.debugger.branches) > 1
        )
        return self.close_guard.may_replace_the_run(holds_work)

    def _show_the_preset_again(self) -> None:
        """The preset box back on the run on show, where another preset picked there was declined."""
        if self._preset is not None:
            self.views.transport.set_preset(self._preset.name, self._preset.is_own_settings)

    def _redraw_all(self) -> None:
        """Re-create the curves (their pens follow the stage style) and draw the next frame."""
        self.clock.renderer.redraw_lanes()
        self.clock.request_frame()

    def _looked_back(self) -> int | None:
        """The earlier step the view shows (where a change would fork), or None when following."""
        cursor, newest = self.clock.cursor_step, self.clock.newest
        if cursor is None or newest is None or cursor == newest.step:
            return None
        return cursor

    def _refuse(self, message: str, reshow: bool = True) -> None:
        """An intent was not carried out: say why, and put the controls back to the config in force."""
        self.messages.hold_refusal(self.views.message.show_message(message, "error"))
        if reshow:
            self.controls.show_again()

    @QtCore.Slot(object)
    def _open(self, preset: Preset) -> None:
        """A preset's title, caption and panel modes; a sweep it opens on runs once its run starts."""
        self._replaced_preset, self._preset = self._preset, preset
        self.views.message.dismiss()  # about the run before: a refusal stayed over the next preset's
        self.window.show_preset(preset)
        if self.presentation.active:  # the stage shows no title: Page Down there said not where it went
            self.views.passing_note.say(f"preset: {shown_run_name(preset)}")
        self.capacity.stop()
        for problem in apply_view(self.views, preset.view):
            self.window.show_alert(f"Preset {preset.name}: {problem}")
        mode = self.views.capacity.mode("x")
        self._sweep_on_start = None if mode == "steps" else mode

    def _replaced_run_name(self) -> str:
        """The name the run just replaced was shown under (its preset's title, or its own settings')."""
        shown = self._replaced_preset
        return "" if shown is None else shown_run_name(shown)

    @QtCore.Slot(object)
    def _remember_the_kept_preset(self, _message) -> None:
        """The run just kept is the one shown before the latest preset, session or run."""
        self._kept_preset = self._replaced_preset

    @QtCore.Slot(object)
    def _on_session_opened(self, message) -> None:
        """An opened session is shown as the preset its settings come closest to (its title, caption
        and panel views), with the settings that differ from it named, as a preset changed by hand is."""
        if not message.opened or self.clock.config is None:
            return
        from muonscope.engine.presets import nearest_preset
        from muonscope.engine.session_format import session_name

        if message.restored and self._kept_preset is not None:  # as it was shown (its own settings
            preset = self._kept_preset  # came back named after the nearest preset)
        else:
            preset = nearest_preset(self.clock.config, session_name(message.path))
        self._open(preset)
        lanes = len(self.clock.config.lanes)
        for problem in apply_view_over(self.views, message.view, lanes):  # the modes it was saved with
            self.window.show_alert(f"Session {session_name(message.path)}: {problem}")
        self._show_drift(self.clock.config)
        self._start_preset_sweep()  # the session's run has started already

    @QtCore.Slot(object)
    def _show_diverged_lanes(self, snapshot) -> None:
        """Each lane's box in the controls says whether, when and why its lane diverged."""
        divergences = [
            (lane.diverged_step, lane.diverged_cause) if lane.diverged else None for lane in snapshot.lanes
        ]
        self.views.lanes.set_diverged(divergences)

    @QtCore.Slot(object)
    def _show_drift(self, config: ExperimentConfig) -> None:
        described = self._preset.described_config
        self.window.show_preset(self._preset, preset_drift(described, config, self._lane_ids()))

    def _lane_ids(self) -> tuple[int, ...] | None:
        """The current lanes' ids, where the run began with the preset's own lanes (its lanes have
        ids 0, 1, …, a lane added since a new one); else None, and lanes are matched by position."""
        newest = self.clock.newest
        if newest is None:
            return None
        count = len(self._preset.config.lanes)  # ids are given in turn: a run's first lanes are 0, 1, …
        began = tuple(
            history.settings[0]
            for history in sorted(self.clock.lane_histories, key=lambda h: h.lane_id)
            if history.lane_id < count and history.steps[0] == 0
        )
        return tuple(lane.lane_id for lane in newest.lanes) if began == self._preset.config.lanes else None

    @QtCore.Slot(int)
    def _show_live_caption(self, _step: int) -> None:
        shown, newest = self.clock.shown, self.clock.newest
        if shown is not None and newest is not None:
            drawn = {lane.lane_id for lane in newest.lanes}  # the lanes the panels and the key name
            self.window.show_live_caption(live_caption(shown, self.clock.lane_histories, drawn))

    @QtCore.Slot(object)
    def _on_run_started(self, config: ExperimentConfig) -> None:
        for label in (self.views.caption, self.views.live_caption, self.views.lane_key):
            label.settle()  # held heights were for the run before
        self.capacity.forget_if_stale(config)
        self._start_preset_sweep()

    def _start_preset_sweep(self) -> None:
        """The sweep the preset opens panel ④ on, once its run exists (once per preset opened)."""
        if self._sweep_on_start is not None:
            mode, self._sweep_on_start = self._sweep_on_start, None
            self.capacity.run(mode, asked=False)


def _ms_until(moment_s: float) -> int:
    """Milliseconds from now until ``moment_s`` (``time.monotonic()``), 0 once it has passed."""
    return max(0, round((moment_s - time.monotonic()) * 1000))


def keep_startup_objects_out_of_collections() -> None:
    """Exempt what start-up made (modules, widgets: some 220,000 objects) from full collections.

    Python's cycle collector walks every object it tracks in a full collection, and holds the GIL
    while it does: 80-120 ms in which neither the window nor the engine moves, about every 20 s of
    playing. Objects made after start-up (snapshots, histories) are collected as before.
    """
    gc.collect()
    gc.freeze()


#: Qt platforms that put nothing on a screen: a question asked there waits for an answer no one can give.
PLATFORMS_WITHOUT_SCREEN = frozenset({"offscreen", "minimal"})


def shows_questions(qt_app: QtGui.QGuiApplication) -> bool:
    """Whether a question the window asks can be seen and answered: on the offscreen platform a
    Ctrl-C's "save first?" waited, unseen, for ten minutes while the run played on."""
    return qt_app.platformName() not in PLATFORMS_WITHOUT_SCREEN


def launch(preset: str | None = None, config_file=None, session=None) -> int:
    """Open the window (on a preset, a config file or a saved session), play it, run the event loop."""
    import torch  # noqa: F401 - torch before Qt: the reverse order has crashed
    from PySide6 import QtWidgets

    from muonscope.app.qt_messages import install_message_handler
    from muonscope.app.stop_signals import (
        EXIT_INTERRUPTED,
        stopped_while_the_window_opened,
        window_closes_on_ctrl_c,
    )
    from muonscope.engine.presets import load_config_file
    from muonscope.engine.sweep_workers import usable_cores
    from muonscope.engine.thread_count import share_cores_with_a_window, threads_asked

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    install_message_handler()
    asked = threads_asked(os.environ)
    share_cores_with_a_window(usable_cores(), asked)
    if stopped_while_the_window_opened():  # Ctrl-C or SIGTERM before anything was shown or run
        sys.stderr.write("muonscope: interrupted before the window opened\n")
        return EXIT_INTERRUPTED
    qt_app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(sys.argv)
    qt_app.setApplicationName("muonscope")
    opened = load_config_file(config_file) if config_file is not None else load_preset(preset or "default")
    asks = shows_questions(qt_app)
    app = App(
        opened,
        threads=ThreadChooser.beside_a_window(usable_cores(), asked),
        ask_before_closing=asks,
        settings=QtCore.QSettings("muonscope", "muonscope"),
    )
    app.window_memory.restore()
    app.window.show()
    keep_startup_objects_out_of_collections()
    app.start()
    if session is not None:
        app.sessions.open_from(session)  # a problem shows in the window; the preset stays open
    else:
        app.intents.play(True)  # a preset is a race: start it
    with window_closes_on_ctrl_c(app.window, app.close_guard, asks) as ctrl_c:
        code = qt_app.exec()
    if ctrl_c.is_set():
        code = EXIT_INTERRUPTED
    # the window is gone; the recording it stopped is still worth its file, and a word on where it went
    if not app.recorder.finish_after_close(lambda line: sys.stderr.write(f"muonscope: {line}\n")):
        log.warning(
            "the recording was still being finished after %d s; it may be incomplete",
            FINISH_DEADLINE_MS // 1000,
        )
    if abandoned_jobs():
        # A step or a ray outlived the close deadline; a QThread destroyed while running would abort,
        # so end the process here (nothing of the closed window's run is left to keep).
        log.warning("a computation was still running at exit; ending the process")
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    return code
