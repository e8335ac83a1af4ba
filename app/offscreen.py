"""The real window, offscreen, driven one engine step at a time, its frames handed out.

``muonscope shot`` and ``muonscope record`` both stand on it. The run is set up exactly as ``muonscope
run`` sets it up (the same options, the same checks); the window opens offscreen at the asked size,
optionally in presentation mode or with one panel alone. Then the engine takes one step, the
offscreen window waits until the frame of exactly that step is drawn, and hands the frame on; every step is
drawn (a panel's range grows with what it has drawn, so skipping frames would change later ones),
and nothing depends on the wall clock, so the same command gives the same frames.

What would differ between two runs is kept out of the picture: the status bar shows the step (and
"● recording") instead of the measured steps/s and fps, no text cursor blinks, and background
sweeps a preset starts are waited for before the first frame (unless told not to).
"""

from __future__ import annotations

import contextlib
import math
import os
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from muonscope.engine.errors import ConfigError
from muonscope.engine.validate import one_of

__all__ = ["OffscreenPlan", "OffscreenWindow", "exit_status", "plan_offscreen"]

#: How often a wait looks at a stop request (Ctrl-C) and at conditions no signal announces.
_CHECK_MS = 100


@dataclass(frozen=True)
class OffscreenPlan:
    """What to show offscreen: a window on ``preset`` whose engine stands on ``session``, run to
    ``target_step``; ``size`` in pixels is the picture's (the window's, or the panel's alone)."""

    preset: Any  # Preset: the window's title, caption and panel modes
    session: Any  # Session: where the engine starts (a fresh run, or a saved one resumed and changed)
    start_step: int  # the session's step before any is taken here (the engine moves it on)
    target_step: int
    size: tuple[int, int]
    panel: str | None = None
    presentation: bool = False
    stage_scale: float | None = None  # --scale: the presentation scale asked for (None: the window's)
    stage_theme: str | None = None  # --theme: light or dark (None: the window's)
    wait_for_sweep: bool = True
    compared_branch: int | None = None  # drawn faded beside the session's branch (its parent, on a fork)


def plan_offscreen(args, size: tuple[int, int], frame_every: int = 0) -> OffscreenPlan:
    """The run ``args`` describes, built by ``muonscope run``'s own helpers (ConfigError when refused).

    Reads run's options (--preset/--config, --set, --lane, --steps, --resume, --rewind) and
    --panel, --presentation, --no-wait-sweep. A resumed run must reach ``frame_every`` steps past
    the session's step.
    """
    from muonscope.app.config_args import view_options
    from muonscope.app.run_start import check_run_arguments, open_run_session

    config = check_run_arguments(args)
    _check_stage(args.scale, args.theme)
    view_options(args.view, None if config is None else len(config.lanes))  # before the engine is built
    if args.resume is None:
        from muonscope.app.config_args import named_preset

        # as the preset describes itself: the window's caption then names what --set or --lane changed
        preset = named_preset(args)
    session, target = open_run_session(args, config, frame_every)
    if args.resume is not None:
        from muonscope.engine.presets import nearest_preset
        from muonscope.engine.session_format import session_name

        # its title, caption and views, the drift named; untitled when it is far from every preset
        preset = nearest_preset(session.initial_config, session_name(args.resume))
        saved = _saved_view(session.view, args, len(session.config.lanes))
        preset = replace(preset, view={**preset.view, **saved})
    if args.panel is not None:
        _check_panel(args.panel, session.config.task)
    if args.view:  # the panel modes asked for, over the preset's own
        asked = view_options(args.view, len(session.config.lanes))
        preset = replace(preset, view={**preset.view, **asked})
    return OffscreenPlan(
        preset=preset,
        session=session,
        start_step=session.step,
        target_step=target,
        size=size,
        panel=args.panel,
        presentation=args.presentation or args.scale is not None or args.theme is not None,
        stage_scale=args.scale,
        stage_theme=args.theme,
        wait_for_sweep=not args.no_wait_sweep,
        compared_branch=session.branch.parent,  # as the window shows a fork: beside where it came from
    )


def _saved_view(view: dict[str, Any], args, lane_count: int) -> dict[str, Any]:
    """The panel modes a resumed session was saved with; a key its panel does not take is said on
    stderr, naming the file, and left as the preset's (it appeared only in the picture, as the
    preset's own)."""
    from muonscope.app.view_settings import view_errors

    where = Path(args.resume) / "session.json" if Path(args.resume).is_dir() else Path(args.resume)
    for error in view_errors(view, lane_count):
        sys.stderr.write(f"muonscope {args.command}: {where}: {error}; that panel opens as the preset's\n")
    return {key: value for key, value in view.items() if not view_errors({key: value}, lane_count)}


def _check_panel(panel: str, task: Any) -> None:
    """A panel alone that the task gives nothing to draw (the spiked stream's ③) is refused, as the
    window's export refuses it: its picture was the reason alone, under a title naming step 0."""
    from muonscope.app.panel_names import PANELS
    from muonscope.engine.task_kinds import view_problem

    problem = view_problem(task, panel)
    if problem:
        others = [name for name in PANELS if not view_problem(task, name)]
        first = problem.split(". ")[0].rstrip(".")
        choices = f"{', '.join(others[:-1])} or {others[-1]}" if len(others) > 1 else others[0]
        raise ConfigError("--panel", panel, f"{first[0].lower()}{first[1:]}; choose {choices}")


def _check_stage(scale: float | None, theme: str | None) -> None:
    """--scale and --theme as presentation mode takes them (ConfigError naming the option otherwise)."""
    from muonscope.widgets.theme import THEMES, StageStyle

    if scale is not None:
        try:
            StageStyle(scale)
        except ValueError:
            raise ConfigError("--scale", scale, "must be a presentation scale from 1 to 3") from None
    stage_themes = [name for name in THEMES if name != "normal"]
    if theme is not None and theme not in stage_themes:
        raise ConfigError("--theme", theme, one_of(theme, stage_themes))


class OffscreenWindow:
    """The window of ``plan``, offscreen. Use as a context manager; then :meth:`frames` or :meth:`picture`.

    ``stop()`` is asked between frames (and while waiting for one): True ends the stepping early,
    with what was drawn so far kept. ``status_note`` replaces the measured rates in the status bar.
    """

    def __init__(
        self, plan: OffscreenPlan, stop: Callable[[], bool] = lambda: False, status_note: str | None = None
    ) -> None:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
        import torch  # noqa: F401 - torch before Qt: the reverse order has crashed
        from PySide6 import QtWidgets

        from muonscope.app.composition import App

        self.plan = plan
        self._stop = stop
        self._failure: str | None = None
        self._hook_before = sys.excepthook  # put back after a run (see _on_slot_error)
        self._drawn_step: int | None = None
        self._expected_step = plan.start_step
        self.swept = True  # False when a sweep was still running at the first frame
        self.qt_app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([])
        self.qt_app.setCursorFlashTime(0)  # a text cursor, if any, stays on: no blinking between frames
        self.app = App(plan.preset, session=plan.session)
        self.window = self.app.window
        self.window.show_rates(False)
        self.app.clock.set_play_state_shown(False)
        self.app.clock.show_steps_ahead(False)  # a picture of step k draws the run up to step k
        self.window.set_recording(status_note)
        self._subject = self._place()
        self.app.clock.frame_drawn.connect(self._on_frame)
        # the engine's alerts are ours, not the picture's: "Paused at step 12: lane 0 diverged" showed
        # in a frame of a recording that went on, and its banner moved every panel down for a frame
        self.app.link.alert.disconnect(self.app.messages.on_alert)
        self.app.link.alert.connect(self._on_alert)

    def _place(self):
        """Show the window (and the panel alone, if asked) at a size from which ``plan.size`` scales.

        A window cannot be narrower than its toolbar and controls: asked for less, it is drawn at
        the smallest size of the same shape that it allows, and each frame is scaled down. That size
        is measured on the stage when one is asked for: without its controls it is some 600 pixels
        narrower, and a 1024×768 stage was drawn 1170 wide, its text shrunk with it.
        """
        width, height = self.plan.size
        self.window.resize(width, height)
        subject = self.window
        if self.plan.panel is not None:
            subject = getattr(self.app.views, self.plan.panel)
            subject.setParent(None)  # the panel alone, as its own (offscreen) window
            subject.show_header_controls(False)  # a figure: its boxes and buttons are the window's
            subject.show_step_in_title(True)  # the window's timeline and caption are not in it
        subject.resize(width, height)
        self.window.show()
        subject.show()
        self._set_the_stage(subject)
        subject.layout().activate()  # the stage's fonts and hidden bars count in its least size
        least = subject.minimumSizeHint().expandedTo(subject.minimumSize())
        scale = max(1.0, least.width() / width, least.height() / height)
        subject.resize(math.ceil(width * scale), math.ceil(height * scale))
        self._laid_out = (subject.width(), subject.height())
        return subject

    def _set_the_stage(self, subject) -> None:
        """Presentation mode as the plan asks (its scale, its theme), or none."""
        if self.plan.presentation:
            if self.plan.stage_scale is not None:
                self.app.presentation.set_scale(self.plan.stage_scale)
            if self.plan.stage_theme is not None:
                self.app.presentation.set_theme(self.plan.stage_theme)
            self.app.views.transport.presentation_action.setChecked(True)  # as the toolbar's button does
            if subject is not self.window:  # taken out of the window, it paints its own stage
                subject.setPalette(self.window.centralWidget().palette())
                subject.setAutoFillBackground(True)

    # ---- driving -------------------------------------------------------------------------------

    def open(self) -> None:
        """Start the engine; wait for the first frame and, unless told not to, for a sweep it started."""
        self.app.start()
        self._wait_frame(self.plan.start_step)
        if self.plan.compared_branch is not None:
            compared = []
            self.app.link.comparison.connect(compared.append)
            self.app.debugger.compare_with(self.plan.compared_branch)
            self._run_until(lambda: bool(compared), self.app.link.comparison, self.app.link.alert)
        capacity = self.app.capacity
        if capacity.running:
            if self.plan.wait_for_sweep:
                self._run_until(lambda: not capacity.running, capacity.finished)
            else:
                self.swept = False
        self._raise_failure()

    @property
    def sweep_progress(self) -> tuple[int, int]:
        """(points arrived, points planned) of panel ④'s sweep now."""
        return self.app.capacity.progress

    def frames(
        self, every: int = 1, stepped: Callable[[int], None] = lambda _step: None, still: bool = False
    ) -> Iterator[tuple[int, Any]]:
        """(step, QImage) every ``every`` steps after the step the run stands at, up to the target step.

        Each step is taken alone and drawn before the next (``stepped(step)`` is told of it); the
        generator ends early on a stop request. ``still``: each frame is a picture of its own (see
        :meth:`grab`), not one of a video.
        """
        first = self._reached_step
        for step in range(first + 1, self.plan.target_step + 1):
            if self._stop():
                return
            self.app.intents.step(1)
            self._wait_frame(step)
            if self._stop() and self._drawn_step != step:
                return
            stepped(step)
            if (step - first) % every == 0:
                yield step, self.grab(still)

    def picture(self, stepped: Callable[[int], None] = lambda _step: None):
        """The frame of the target step (every step before it drawn on the way, each told to
        ``stepped``), or None if stopped."""
        steps = self.plan.target_step - self._reached_step
        if steps == 0:  # there already (a picture asked for again is of the same step)
            return self.grab(still=True)
        for _step, image in self.frames(every=steps, stepped=stepped, still=True):
            return image
        return None

    @property
    def _reached_step(self) -> int:
        """The step the run stands at: the plan's start, or as far as frames have taken it."""
        newest = self.app.clock.newest
        return max(self.plan.start_step, newest.step if newest is not None else self.plan.start_step)

    def grab(self, still: bool = False):
        """The picture shown now, exactly ``plan.size`` pixels; ``still``: a picture alone, whose ①
        fits what it draws (a video's frames keep the window's steady axis from frame to frame)."""
        from muonscope.app.frame_grab import grab_frame

        if self.plan.panel is not None:  # a panel alone has no window key: it names its lanes itself
            self._subject.set_lane_legend(self._lanes())
        self.qt_app.processEvents()  # layouts and axes the last frame changed settle first
        # a video's run advances (between its steps the engine waits for the frame): its toolbar
        # showed ▶ play, as if it stood still; a picture shows the run paused at its step
        self.app.views.transport.set_playing(not still)
        if still:
            self.app.views.spectrum.fit_range_to_drawn()
            # an axis measures its tick labels as it paints them, then makes room: ranges fitted
            # just now drew "2·10⁻²" against a title laid out for narrower labels (one paint first)
            self._subject.grab()
            self.qt_app.processEvents()
        for markers in self.app.views.change_markers:  # labels the curves grew under move now
            markers.settle()
        return grab_frame(self._subject, self.plan.size)

    def keyed(self):
        """While a picture is taken: a panel alone names its lanes under its plot (no window key)."""
        if self.plan.panel is None:
            return contextlib.nullcontext()
        return self._subject.lane_legend(self._lanes())

    def _lanes(self) -> list[tuple[int | None, str]]:
        return self.app.views.lane_key.legend_entries()

    def scaling_note(self) -> str:
        """What a picture smaller than the window allows was made from ("" when drawn at its size):
        a 641x481 frame shrank the whole window, text and all, and the "wrote" line did not say so."""
        note = self._stage_note()
        if self._laid_out == tuple(self.plan.size):
            return note
        what = "the window" if self.plan.panel is None else "the panel"
        width, height = self._laid_out
        return f"{note}; {what} was laid out at {width}x{height}, its smallest of that shape, and scaled down"

    def _stage_note(self) -> str:
        """The presentation scale and theme drawn, and the scale asked for where the size held less."""
        if not self.plan.presentation:
            return ""
        presentation = self.app.presentation
        shown, asked = presentation.shown_style, presentation.style
        note = f"; presentation at {shown.scale:g}× in the {shown.theme} theme"
        if shown.scale < asked.scale:
            note += f" ({asked.scale:g}× asked; this size holds {shown.scale:g}×)"
        return note

    @property
    def subject(self):
        """The widget pictured: the window, or the panel shown alone."""
        return self._subject

    # ---- waiting -------------------------------------------------------------------------------

    def _on_frame(self, step: int) -> None:
        newest = self.app.clock.newest
        self._drawn_step = step if newest is not None and newest.step == step else None

    def _on_alert(self, message: str, _until_moved: bool = False) -> None:
        """An engine failure stops the stepping; a diverged lane or a breakpoint pauses a window, not us."""
        newest = self.app.clock.newest
        if newest is None or newest.step < self._expected_step:  # its step never came
            self._failure = self._failure or message

    def _wait_frame(self, step: int) -> None:
        self._expected_step = step
        self._run_until(lambda: self._drawn_step == step, self.app.clock.frame_drawn, self.app.link.alert)
        self._raise_failure()

    def _raise_failure(self) -> None:
        if self._failure is not None:
            raise RuntimeError(self._failure)

    def _run_until(self, done: Callable[[], bool], *signals) -> None:
        """Run Qt's event loop until ``done()``, an engine failure or a stop request."""
        from PySide6 import QtCore

        if done():
            return
        loop = QtCore.QEventLoop()

        def check(*_args) -> None:
            if done() or self._failure is not None or self._stop():
                loop.quit()

        timer = QtCore.QTimer()
        timer.setInterval(_CHECK_MS)
        timer.timeout.connect(check)
        for signal in signals:
            signal.connect(check)
        timer.start()
        try:
            loop.exec()
        finally:
            timer.stop()
            for signal in signals:
                signal.disconnect(check)

    # ---- closing -------------------------------------------------------------------------------

    def close(self) -> None:
        """Close the window (its engine and sweeps stop with it)."""
        if self._subject is not self.window:
            self._subject.close()
            self._subject.deleteLater()
        self.window.close()
        self.window.deleteLater()
        self.qt_app.processEvents()

    def __enter__(self) -> OffscreenWindow:
        self._hook_before = sys.excepthook
        sys.excepthook = self._on_slot_error
        return self

    def __exit__(self, *_exc: object) -> None:
        try:
            self.close()
        finally:
            sys.excepthook = self._hook_before

    def _on_slot_error(self, kind: type[BaseException], error: BaseException, trace: Any) -> None:
        """An error in a Qt slot (drawing a frame, say) ends the command rather than leaving it
        waiting for a frame that never comes: Qt reports it here and goes on with its loop.

        A KeyboardInterrupt is a second Ctrl-C (the first asked the command to stop): raised inside
        a slot, closing the window, it printed a traceback, and the command, stopping already, went
        on to keep its frames; it is not the window's failure."""
        if issubclass(kind, KeyboardInterrupt):
            return
        self._failure = self._failure or f"drawing the window failed: {kind.__name__}: {error}"
        self._hook_before(kind, error, trace)


def exit_status(code: int) -> int:
    """``code``, to return from a command once its offscreen window is closed.

    An engine step still running past the close deadline (a Ctrl-C in a long step) keeps its thread
    alive, and Python ending with it would abort the process; the process ends here instead, with
    ``code`` and its output flushed (nothing of that step is wanted any more).
    """
    from muonscope.app.background import abandoned_jobs

    if abandoned_jobs():
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    return code
