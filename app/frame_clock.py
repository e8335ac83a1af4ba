"""The frame clock: snapshots arrive once per step; the panels are redrawn at most ~60 times a second.

Every snapshot goes into the histories the moment it arrives (no step's metrics are dropped), but
drawing waits for the next tick of a main-thread timer and uses only the newest snapshot, so the
step rate and the frame rate are independent and a fast engine never floods the window.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from PySide6 import QtCore

from muonscope.app.bucket_history import BucketHistory
from muonscope.app.rate_meter import RateMeter
from muonscope.app.renderer import Renderer
from muonscope.app.step_lookup import StepLookup, view_notes
from muonscope.engine.history import MetricHistory, SnapshotStore, SpectraHistory
from muonscope.engine.lane_history import LaneHistory
from muonscope.engine.snapshot import Event, Snapshot
from muonscope.widgets.time_text import duration_text
from muonscope.widgets.timeline import BranchMark

__all__ = ["FRAME_INTERVAL_MS", "FrameClock"]

FRAME_INTERVAL_MS = 16
#: While playing, the status line is refreshed at least this often even without a new frame, so a
#: slow step shows its rate falling instead of the last one frozen.
STATUS_REFRESH_S = 0.5
#: A run to a step that will take longer than this says how long, at the rate it steps now.
_SAY_TIME_LEFT_S = 60.0
#: While the run goes to a step (step N, a go-to ahead) and the view follows it, frames that show only
#: newer steps are drawn at most this often: a frame costs the engine's thread the time it holds the
#: interpreter, and a jump is to arrive (benchmarks/step_jump.py: Step 600 at d = 32 ran at 0.17 of
#: the headless rate drawn on every tick, 0.48 so). Frames the user asks for (a change, a view
#: switched, the cursor moved) and a recording's wait for none.
JUMP_FRAME_INTERVAL_S = 0.2


class FrameClock(QtCore.QObject):
    """Keeps the run's histories and draws the newest snapshot (or the cursor's step) on each tick.

    ``set_status(step, steps_per_s, fps, device, lanes)`` writes the status line; it is the
    window's, handed in by the composition root. The rates are measured while playing and None
    while paused: a paused run has no rate to report.
    """

    frame_drawn = QtCore.Signal(int)  # the view's step in the frame just drawn (the cursor's or the newest)
    # paused on a step without a snapshot of its own (with its own spectra): ask the engine for it
    step_wanted = QtCore.Signal(int)
    run_started = QtCore.Signal(object)  # the config of a run that (re)started from W = 0
    config_changed = QtCore.Signal(object)  # the config in force, whenever it differs from before

    def __init__(self, views, set_status: Callable[..., None], parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self._views = views
        self._set_status = set_status
        self.renderer = Renderer(
            views.spectrum,
            views.series,
            views.class_error,
            views.capacity,
            views.timeline,
            views.lane_key,
            views.lanes,
        )
        self._history = MetricHistory()
        self._store = SnapshotStore()
        self._lookup = StepLookup(self._store)
        self._asked: int | None = None  # the step last asked for with step_wanted, until its answer
        self._refused: set[int] = set()  # steps the engine could not recompute (until history changes)
        self._buckets = BucketHistory()
        self._spectra = SpectraHistory()  # every lane's spectra on record: ①'s view over the steps
        self._newest: Snapshot | None = None
        self._shown: Snapshot | None = None  # the snapshot the last frame drew
        self._cursor_step: int | None = None  # None: follow the run
        self._head_step = 0  # the newest step recorded on the branch (the engine may stand before it)
        self._branch_histories: tuple[LaneHistory, ...] | None = None  # the lanes along that branch
        self._recorded_events: tuple[Event, ...] = ()  # that branch's events, up to its newest step
        self._playing = False
        self._run_to: int | None = None  # the step a run to a step ends at
        self._play_state_shown = True
        self._ahead_shown = True  # whether a branch's recorded steps ahead of the engine are drawn
        self._dirty = False
        self._asked_now = False  # a frame the user caused (a view switched): drawn on the next tick
        self._paced = False  # a recording draws every step: the engine waits for each frame
        self._drawn_at = 0.0  # perf_counter seconds of the last frame drawn
        self._frames = RateMeter()
        self._steps = RateMeter()
        self._status_at = 0.0
        self._timer = QtCore.QTimer(self)
        self._timer.setInterval(FRAME_INTERVAL_MS)
        self._timer.timeout.connect(self._on_timer)
        views.timeline.cursor_dragged.connect(self.look_at)
        views.timeline.live_toggled.connect(self._on_live_toggled)
        for panel in (views.spectrum, views.series, views.class_error, views.capacity):
            panel.mode_changed.connect(self.request_frame)

    # ---- what others read -----------------------------------------------------------------------

    @property
    def newest(self) -> Snapshot | None:
        """The latest snapshot of the run (whatever step the cursor shows)."""
        return self._newest

    @property
    def shown(self) -> Snapshot | None:
        """The snapshot on screen: the newest, or the one at the cursor when looking back.

        While the cursor's step is being recomputed it is the nearest one on hand, and panels ①
        and ③ say which step they show.
        """
        return self._shown

    @property
    def view_step(self) -> int | None:
        """The step the view is at: the cursor's when looking back, else the newest (None before any)."""
        if self._cursor_step is not None:
            return self._cursor_step
        return None if self._newest is None else self._newest.step

    @property
    def recalling(self) -> bool:
        """True while the view's step waits for its snapshot (with its own spectra) from the engine."""
        step = self.view_step
        return (
            step is not None
            and not self._playing
            and step not in self._refused
            and step <= self.head_step
            and self._lookup.wants_recall(step)
        )

    @property
    def config(self):
        """The configuration in force, as the engine last reported it (None before the first snapshot)."""
        return None if self._newest is None else self._newest.config

    @property
    def history(self) -> MetricHistory:
        return self._history

    @property
    def store(self) -> SnapshotStore:
        return self._store

    @property
    def lane_histories(self) -> tuple[LaneHistory, ...]:
        """Every lane's settings along the steps on screen.

        The newest snapshot's, except while the engine stands behind its branch's newest step (after
        a rewind): the steps drawn beyond it were made by settings the engine has not reached again.
        """
        newest = self._newest
        if newest is None:
            return ()
        if self._branch_histories is not None and newest.step < self._head_step:
            return self._branch_histories
        return newest.lane_histories

    @property
    def playing(self) -> bool:
        return self._playing

    @property
    def cursor_step(self) -> int | None:
        """The step the panels show when looking back; None while following the run."""
        return self._cursor_step

    @property
    def head_step(self) -> int:
        """The newest step of the branch on record; the timeline reaches it even after a rewind."""
        return max(self._head_step, self._newest.step if self._newest else 0)

    @property
    def active(self) -> bool:
        return self._timer.isActive()

    # ---- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()

    # ---- input -------------------------------------------------------------------------------

    @QtCore.Slot(object)
    def on_snapshot(self, snapshot: Snapshot) -> None:
        """Record a snapshot; a new run clears the histories, changed settings draw at once."""
        previous = self._newest
        new_run = previous is None or snapshot.run_id != previous.run_id
        if new_run:
            self._clear()
            previous = None
        if not self._ahead_shown and snapshot.step < self._head_step:
            self._forget_ahead_of(snapshot.step)
        repeat = previous is not None and snapshot.step == previous.step
        if repeat:  # a repeat carries changed settings at the same step: no new metrics
            self._lookup.forget(snapshot.step)
        else:
            if snapshot.step > self._history.last_step:  # steps replayed after a rewind are on record
                self._history.append(snapshot)
            self._buckets.add(snapshot)
            self._spectra.append(snapshot)
            if previous is not None:
                self._steps.add(max(snapshot.step - previous.step, 0))
        self._store.add(snapshot)
        self._newest = snapshot
        self._dirty = True
        if new_run:
            self.run_started.emit(snapshot.config)
        if previous is None or snapshot.config != previous.config:
            self.config_changed.emit(snapshot.config)
        if repeat:
            self._on_tick()  # the user just changed something: show it without waiting a tick

    @QtCore.Slot(object)
    def on_history_replaced(self, message) -> None:
        """The engine jumped (rewind, fork, open): show its branch's recorded history."""
        before = self._history
        self._history = MetricHistory.from_table(dict(message.columns), dict(message.labels), message.stride)
        self._buckets.keep_where_unchanged(before, self._history)  # ③'s heat map keeps what still holds
        self._head_step = message.head_step
        self._branch_histories = message.lane_histories
        self._recorded_events = message.events
        self._spectra = message.spectra if message.spectra is not None else SpectraHistory()
        self._forget_snapshots()
        if self._newest is not None:  # where the engine stands: the first snapshot of this history
            self._store.add(self._newest)
        self.renderer.reset()
        self._dirty = True

    @QtCore.Slot(object)
    def on_recalled(self, message) -> None:
        """The engine's answer to ``step_wanted``: the step's snapshot (kept for the view), or why not."""
        if message.step == self._asked:
            self._asked = None  # an abandoned replay is asked for again while the view still wants it
        snapshot = message.snapshot
        if snapshot is None:
            if not message.abandoned:
                self._refused.add(message.step)
        elif self._newest is not None and snapshot.run_id == self._newest.run_id:
            self._lookup.add(snapshot)
            self._history.fill_in(snapshot)  # ② then reaches a step whose spectra play skipped
            self._spectra.fill_in(snapshot)  # and ①'s view over the steps
        self._dirty = True

    def show_steps_ahead(self, shown: bool) -> None:
        """Whether the steps a branch recorded ahead of the engine are drawn (as the window does
        after a rewind: the debugger's timeline reaches the whole run), or each frame draws the run
        up to its own step, as a recording of a session resumed at an earlier step must: its first
        frame gave away the run's end, ④ at 165 items beside a caption saying 0."""
        self._ahead_shown = shown

    def _forget_ahead_of(self, step: int) -> None:
        """Draw the branch as if it ended at ``step``; the engine's replay records the rest again."""
        self._head_step = step
        self._history.truncate_after(step)
        self._spectra.truncate_after(step)
        self._recorded_events = tuple(event for event in self._recorded_events if event.step <= step)
        self.renderer.redraw_lanes()  # ④ is redrawn at evaluations only: it kept the steps ahead

    def _forget_snapshots(self) -> None:
        """The run's history changed: what was delivered or recomputed before is not of it."""
        self._store.clear()
        self._lookup.clear()
        self._refused.clear()
        self._shown = None

    @QtCore.Slot(object)
    def on_comparison(self, message) -> None:
        """Another branch's history to draw faded (``message.branch`` None: no comparison)."""
        if message.branch is None:
            self.renderer.set_comparison(None)
        else:
            history = MetricHistory.from_table(dict(message.columns), dict(message.labels), message.stride)
            self.renderer.set_comparison(history, message.name, message.lane_histories)
        self._dirty = self._asked_now = True

    @QtCore.Slot(object)
    def on_branches_changed(self, message) -> None:
        marks = [BranchMark(b.name, b.fork_step, b.head_step, b.current) for b in message.branches]
        self._views.timeline.set_branches(marks if len(marks) > 1 else [])
        self._dirty = True

    @QtCore.Slot(object)
    def on_running_to(self, step: int | None) -> None:
        """The step a run to a step (step N, a go-to ahead) ends at; None when the run plays or waits."""
        self._run_to = step

    @QtCore.Slot(bool, int)
    def on_paced(self, on: bool, _step: int) -> None:
        """Pacing on (a recording): every step's frame is drawn, a jump's too, as soon as it can be."""
        self._paced = on

    @QtCore.Slot(bool)
    def on_playing_changed(self, playing: bool) -> None:
        self._playing = playing
        if playing:  # the time paused is no interval between steps or frames
            self._steps.clear()
            self._frames.clear()
        self._views.transport.set_playing(playing)
        self._show_status()

    @QtCore.Slot()
    def request_frame(self, *_args) -> None:
        """Redraw on the next tick even if no snapshot arrived (a view mode changed)."""
        self._dirty = self._asked_now = True

    @QtCore.Slot(int)
    def look_at(self, step: int) -> None:
        """Show an earlier step (the timeline's cursor); the run goes on behind it."""
        self._cursor_step = step
        self._views.timeline.set_live(False)
        self._dirty = True

    def follow(self) -> None:
        """Show the newest step again."""
        self._on_live_toggled(True)

    def _on_live_toggled(self, live: bool) -> None:
        self._cursor_step = None if live else (self._newest.step if self._newest else 0)
        if live:
            self._views.timeline.live_button.setChecked(True)
        self._dirty = self._asked_now = True

    def _clear(self) -> None:
        """Forget the previous run: its histories, its cursor, its step rate, its axis ranges."""
        self._history = MetricHistory()
        self._head_step = 0
        self._branch_histories = None
        self._steps.clear()
        self._forget_snapshots()
        self._buckets.clear()
        self._spectra = SpectraHistory()
        self._cursor_step = None
        self.renderer.reset()
        self._views.timeline.live_button.setChecked(True)

    # ---- frames ------------------------------------------------------------------------------

    def _on_timer(self) -> None:
        """A tick: draw, unless the frame would only show a jump's newer steps sooner than
        :data:`JUMP_FRAME_INTERVAL_S` after the last one."""
        jumping = self._run_to is not None and self._playing and self._cursor_step is None and not self._paced
        if jumping and not self._asked_now and time.perf_counter() - self._drawn_at < JUMP_FRAME_INTERVAL_S:
            return
        self._on_tick()

    def _on_tick(self) -> None:
        if not self._dirty or self._newest is None:
            if self._playing and time.perf_counter() - self._status_at >= STATUS_REFRESH_S:
                self._show_status()
            return
        self._dirty = self._asked_now = False
        self._drawn_at = time.perf_counter()
        step = self.view_step
        recalling = self.recalling
        if recalling and self._asked != step:  # a replay still under way gives way to this one
            self._asked = step
            self.step_wanted.emit(step)
        shown = self._lookup.exact(step) or self._lookup.nearest(step) or self._shown or self._newest
        following_play = self._playing and self._cursor_step is None  # spectra follow the frame rate
        notes = ("", "") if following_play else view_notes(shown, step, recalling)
        self.renderer.render(
            shown,
            self._newest,
            self._history,
            self._buckets,
            self.head_step,
            cursor_step=step,
            notes=notes,
            histories=self.lane_histories,
            events=self._recorded_events if self._newest.step < self._head_step else None,
            spectra=self._spectra,
            playing=following_play,
        )
        self._shown = shown
        self._views.timeline.set_engine_step(
            self._newest.step if self.head_step > self._newest.step else None
        )
        self._views.timeline.extend_current_branch(self.head_step)
        self._views.transport.show_step(step)
        self._frames.add()
        self._show_status()
        self.frame_drawn.emit(step)

    def _show_status(self) -> None:
        snapshot = self._newest
        if snapshot is None:
            return
        diverged = [lane.index for lane in snapshot.lanes if lane.diverged]  # numbered from 0, as everywhere
        count = len(snapshot.lanes)
        if diverged:
            # "diverged: 0" read as a count of none; the lanes are numbered from 0
            which = "lane" if len(diverged) == 1 else "lanes"
            health = f"{len(diverged)} diverged ({which} {', '.join(map(str, diverged))})"
        else:
            health = "all finite" if count > 1 else "finite"
        lanes = f"{count} lane{'' if count == 1 else 's'}, {health}"
        state = self._motion_text() if self._play_state_shown else ""
        self._status_at = time.perf_counter()
        self._set_status(
            step=snapshot.step,
            steps_per_s=self._steps.rate() if self._playing else None,
            fps=self._frames.rate() if self._playing else None,
            device=f"{snapshot.device} · {snapshot.dtype}",
            lanes=f"{state}{lanes}",
            looking_back=self._cursor_step is not None and self._cursor_step != snapshot.step,
        )

    def _motion_text(self) -> str:
        if not self._playing:
            return "paused · "
        if self._run_to is None:
            return "playing · "
        rate, newest = self._steps.rate(), self._newest
        left_s = (self._run_to - newest.step) / rate if rate and newest is not None else 0.0
        # go to 99999999 ran at 20 steps/s, two months, saying only "running to step 99999999"
        more = f", about {duration_text(left_s)} more" if left_s >= _SAY_TIME_LEFT_S else ""
        return f"running to step {self._run_to}{more} · "

    def set_play_state_shown(self, shown: bool) -> None:
        """Whether the status line says "playing" or "paused".

        A recording or picture made offscreen takes its steps one by one, each drawn before the next:
        between them the engine is paused, and a frame saying so would misreport the run it shows.
        """
        self._play_state_shown = shown
        self._show_status()
