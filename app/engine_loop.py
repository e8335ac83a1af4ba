"""The engine's run loop as a plain generator: commands in through a queue, messages out by ``yield``.

:meth:`EngineLoop.run` drains commands, takes a step when playing, and yields one immutable
Snapshot per step, plus short messages (playing started or stopped, an alert, a note, a refused
change). It knows nothing of Qt: :class:`muonscope.app.background.Job` runs it on a thread and
delivers what it yields to the window, and tests can drive it with ``next()`` alone.

Pausing is the engine's call: a Snapshot says when a lane diverged or the run length was
reached, and the loop pauses on it.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable, Iterator

from muonscope.app.background import JobControl
from muonscope.app.debugger import SavedCopy, UnsavedWork, branches_message
from muonscope.app.engine_protocol import (
    Alert,
    Apply,
    CancelStep,
    Command,
    FrameShown,
    Message,
    Note,
    Pace,
    Paced,
    Pause,
    Play,
    PlayingChanged,
    Rejected,
    Reset,
    SetSpeed,
    Step,
    WorkInProgress,
)
from muonscope.app.loop_texts import (
    diverged_pause_text,
    frozen_lane_change_note,
    run_length_pause_text,
    sentence,
)
from muonscope.app.session_commands import SessionCommands
from muonscope.app.spectra_pacer import SpectraPacer
from muonscope.engine.breakpoints import also_holding
from muonscope.engine.changes import Change, change_note
from muonscope.engine.config import ExperimentConfig
from muonscope.engine.errors import ConfigError, StepCancelled
from muonscope.engine.experiment import Experiment
from muonscope.engine.session import Session
from muonscope.engine.snapshot import Snapshot
from muonscope.engine.thread_count import ThreadChooser
from muonscope.widgets.time_text import elapsed_text

__all__ = ["EngineLoop"]

log = logging.getLogger(__name__)

_IDLE_WAIT_S = 0.05
#: After applying a change while idle, how long to wait for the window to show it before stepping on.
_RECEIPT_WAIT_S = 0.1

#: A change or reset waiting while the step under way has run this long abandons that step and goes
#: first: the user sees the change now instead of after the rest of the step (an evaluation of a
#: quarter of a second at the default size, seconds on a big memory). A shorter step is let finish.
_MAKE_WAY_AFTER_S = 0.05

#: What Cancel does, said on its button's tooltip.
_CANCEL_STEP = "stop this step: it is undone whole and the run pauses before it"


class EngineLoop(SessionCommands):
    """Owns the Experiment of one window; ``submit`` is safe from any thread."""

    def __init__(
        self,
        config: ExperimentConfig,
        factory: Callable[[ExperimentConfig], Experiment] = Experiment,
        session: Session | None = None,
        threads: ThreadChooser | None = None,
    ) -> None:
        """``session``: start from it (a saved one resumed, say) instead of a new one of ``config``.

        ``threads`` chooses the engine thread's torch thread count as it steps; without one the count
        the process has now is set on the engine thread, which would otherwise take its BLAS threads
        from the environment.
        """
        self._config = config
        self._threads = threads or ThreadChooser.as_the_process_has()
        self._factory = factory
        self._commands: queue.SimpleQueue[Command] = queue.SimpleQueue()
        self._held: deque[Command] = deque()  # taken from the queue during a replay: handled first
        self._session: Session | None = session
        self._before: Session | None = None  # the run a reset, a preset or an open replaced (kept)
        self._saved = SavedCopy()  # where the run on show was saved to or opened from, and as what
        self._before_saved = SavedCopy()  # the kept run's
        self._let_go: tuple[int, str, int | None] | None = None  # a kept run that gave way (see RunKept)
        self._unsaved_said: UnsavedWork | None = None  # what the window was last told
        self._paced = False
        self._unshown: int | None = None  # paced: the step whose frame the window has not drawn yet
        self._forked = False  # a change made behind the branch's newest step started a branch
        self._goto: int | None = None  # a rewind waiting for its announcement to be delivered
        self._step_s = 0.0  # running mean of the seconds one step takes (for how long a jump will be)
        self._playing = False
        self._steps_left = 0
        self._run_to: int | None = None  # the step that queued steps (step N, go to) end at
        self._motion_shown = (False, None)  # (moving, run_to) as the window last heard it
        self._min_interval_s = 0.0
        self._last_step_at = 0.0
        self._outbox: list[Message] = []
        self._breakpoints_shown: tuple[str, ...] = ()  # their texts as the window last heard them
        self._cancel_step = threading.Event()  # checked by the step in progress between its stages
        self._change_queued = threading.Event()  # like it, once the step is long; the run goes on
        self._made_way_for: int | None = None  # the step abandoned once for a change, taken again
        self._work: WorkInProgress | None = None
        self._spectra_pacer = SpectraPacer(self._last_spectra_s)

    def submit(self, command: Command) -> None:
        """Queue a command; thread-safe and non-blocking.

        A change or a reset made while a step is under way abandons that step (it is undone whole)
        at the step's first cancellation point after it has run ``_MAKE_WAY_AFTER_S``, so that the
        change applies at the boundary the window shows; the step is then taken again, with the
        change. Whether the step is long is judged there, not here: a step that has only begun may
        be the one with the evaluation.
        """
        self._commands.put(command)
        if isinstance(command, Apply | Reset):
            self._change_queued.set()

    def cancel_step(self) -> None:
        """Abandon the step in progress at its next cancellation point (or stop a rewind's replay
        there), and pause; thread-safe.

        The flag goes up before the command is queued, so whichever the loop sees first, the step
        under way (or, if it has just ended, the next one) is not carried out.
        """
        self._cancel_step.set()
        self.submit(CancelStep())

    @property
    def work_in_progress(self) -> WorkInProgress | None:
        """What the engine is computing now (a step, a new run, a replay, a save), or None when it
        waits; safe to read from any thread."""
        return self._work

    @property
    def steps_queued(self) -> int:
        """Steps still to take before pausing (step N, go to a later step); 0 when none."""
        return self._steps_left

    # ---- the loop --------------------------------------------------------------------------

    def run(self, control: JobControl) -> Iterator[Message]:
        """Yield messages until cancelled: a Snapshot per step and per change, and state changes."""
        control.on_cancel(self._cancel_step.set)  # closing the window also ends a long step soon
        self._threads.begin()  # on the engine's thread, where the count applies
        if self._session is None:
            self._start(self._config)
        else:
            self._announce_opened()
        while not control.cancelled:
            yield from self._flush()
            if self._drain(block=not self._busy()):
                yield from self._flush()
                control.wait_delivered(_RECEIPT_WAIT_S)  # the frame showing a change before the next step
            if control.cancelled:
                break
            if self._goto is not None:
                yield from self._flush()  # the note on how long the rewind will take, before it
                self._rewind(self._goto)
                continue
            if self._busy() and self._due():
                # what the commands made (a new run's first snapshot) is shown before a step that may
                # take minutes: at d = 2048 the old run stayed on screen for the new one's first step
                yield from self._flush()
                self._take_step()
        yield from self._flush()

    def _flush(self) -> Iterator[Message]:
        self._say_unsaved()
        while self._outbox:
            yield self._outbox.pop(0)

    def _say_unsaved(self) -> None:
        """Tell the window when the runs' unsaved work changes: closing it asks before losing any."""
        now = UnsavedWork(not self._saved.holds(self._session), not self._before_saved.holds(self._before))
        if now != self._unsaved_said:
            self._unsaved_said = now
            self._outbox.append(now)

    @property
    def _experiment(self) -> Experiment | None:
        return None if self._session is None else self._session.experiment

    def _busy(self) -> bool:
        return self._session is not None and (self._playing or self._steps_left > 0)

    def _due(self) -> bool:
        """Whether a step may be taken now (waiting in short slices for commands otherwise): when paced,
        once the window has drawn the step the engine stands on; then as the speed limit allows."""
        if self._unshown is not None:
            self._drain(block=True)
            return False
        if self._steps_left > 0 or self._min_interval_s == 0:
            return True
        wait = self._last_step_at + self._min_interval_s - time.perf_counter()
        if wait > 0:
            self._drain(block=True, timeout=min(wait, _IDLE_WAIT_S))
            return False
        return True

    def _drain(self, block: bool, timeout: float = _IDLE_WAIT_S) -> bool:
        """Handle every queued command; True if that applied changes at this boundary."""
        try:
            command = self._next_command(block, timeout)
        except queue.Empty:
            return False
        while True:
            self._handle(command)
            if self._goto is not None:
                break  # the rewind goes first; later commands (a change to fork with) wait for it
            try:
                command = self._next_command(block=False)
            except queue.Empty:
                break
        self._change_queued.clear()  # every change queued so far has been handled
        return self._commit_changes()

    def _next_command(self, block: bool, timeout: float = _IDLE_WAIT_S) -> Command:
        """The oldest command: those a replay took from the queue first; raises queue.Empty."""
        if self._held:
            return self._held.popleft()
        return self._commands.get(timeout=timeout) if block else self._commands.get_nowait()

    def _commit_changes(self) -> bool:
        """Apply accepted changes at this boundary and show them at once (they govern the next step)."""
        if self._session is None:
            return False
        if self._session.commit():
            self._publish()
            if self._forked:
                self._forked = False
                self._announce_fork()
            else:  # the branch's own changes grew (the Branch menu lists them)
                self._outbox.append(branches_message(self._session))
            return True
        return False

    def _handle(self, command: Command) -> None:
        if isinstance(command, Play):
            self._set_playing(self._experiment is not None)
        elif isinstance(command, Pause):
            self._steps_left = 0
            self._set_playing(False)
        elif isinstance(command, CancelStep):
            self._cancel_step.clear()  # the request is seen; a step that began after it is spared
            self._pause()
        elif isinstance(command, Step):
            self._set_playing(False)
            self._queue_steps(command.n)
        elif isinstance(command, SetSpeed):
            self._min_interval_s = 1.0 / command.steps_per_s if command.steps_per_s > 0 else 0.0
        elif isinstance(command, Apply):
            self._apply(command.change)
        elif isinstance(command, Reset):
            self._reset(command)
        elif isinstance(command, Pace):
            self._pace(command.on)
        elif isinstance(command, FrameShown):
            if command.step == self._unshown:
                self._unshown = None
        else:
            self._handle_debugger(command)

    def _working(self, what: str, cancel_means: str | None = None, step: int | None = None) -> None:
        self._work = WorkInProgress(what, time.monotonic(), step, cancel_means)

    def _pause(self) -> None:
        self._steps_left = 0
        self._set_playing(False)

    def _pace(self, on: bool) -> None:
        """Pacing on: the window says when it has drawn the step the engine stands on, and each
        step waits for that; the message tells from which step on every step is drawn."""
        step = 0 if self._session is None else self._session.step
        self._paced = on
        self._unshown = step if on else None
        self._outbox.append(Paced(on, step))

    def _apply(self, change: Change) -> None:
        """Queue a change; what it does beyond what it names (a switch's learning rate) is said."""
        if self._session is None:
            return
        before = self._experiment.queued_config
        lanes = self._experiment.snapshot().lanes
        try:
            self._forked |= self._session.apply(change)
        except ConfigError as exc:
            self._outbox.append(Rejected(str(exc)))
            self._publish()  # the config still in force, so the controls show it again
            return
        note = change_note(before, change) or frozen_lane_change_note(lanes, change)
        if note:
            self._outbox.append(Note(note))

    def _reset(self, command: Reset) -> None:
        """A new session from W = 0: same settings (queued changes included), a new seed or config."""
        if command.config is not None or self._session is None:
            config = command.config or self._config
        else:
            config = self._session.experiment.queued_config
        if command.seed is not None:
            config = config.with_value("task.seed", command.seed)
        breakpoints = [] if self._session is None else self._session.breakpoints
        self._start(config, command.refused_as)
        if self._session is not None and breakpoints:
            self._set_breakpoints([(b.text, b.enabled) for b in breakpoints])

    def _start(self, config: ExperimentConfig, refused_as: str = "Not restarted") -> None:
        """Build a new session, which starts paused; on failure keep the previous one as it was, playing
        or not, and the run kept before it (nothing computed is lost)."""
        kept_before = self._before, self._before_saved
        self._make_room()
        self._working("building the run")
        try:
            session = Session(config, self._factory)
        except Exception as exc:
            self._before, self._before_saved = kept_before
            self._let_go = None
            self._refuse_start(exc, refused_as)
            return
        finally:
            self._work = None
        self._pause()
        replaced, self._session = self._session, session
        self._config = config
        self._threads.begin()  # a new run: its steps cost something else
        self._publish()
        self._outbox.append(branches_message(session, new_run=True))
        replaced_saved, self._saved = self._saved, SavedCopy()
        self._keep(replaced, replaced_saved)

    def _take_step(self) -> None:
        self._last_step_at = started = time.perf_counter()
        number = self._experiment.step_count + 1
        self._working(f"computing step {number}", _CANCEL_STEP, step=number)
        # Playing, spectra follow the frame rate; stepped or recorded, every step has its own.
        self._experiment.spectra_gate = self._spectra_pacer if self._playing and not self._paced else None
        try:
            self._session.step_once(cancelled=self._step_abandoned)
            if self._experiment.step_count == self._experiment.config.run.steps:
                # the run's last step is evaluated, whatever the cadence, as `run` reports it: a
                # picture or video of the run ended on the numbers of an evaluation steps before
                self._session.evaluate()
        except StepCancelled:
            if self._cancel_step.is_set() or not self._change_queued.is_set():
                self._cancelled(number, time.perf_counter() - started)
            else:  # the change goes first and the step is taken again, whole, whatever comes next
                self._made_way_for = number
            return
        except Exception as exc:
            self._steps_left = 0
            self._set_playing(False)
            self._fail(f"step {number}", exc)
            return
        finally:
            self._work = None
        self._made_way_for = None
        elapsed_s = time.perf_counter() - started
        self._step_s += 0.1 * (elapsed_s - self._step_s)
        self._threads.record(elapsed_s)
        if self._steps_left > 0:
            self._steps_left -= 1
            self._report_motion()  # before the snapshot: the last queued step's frame says "paused"
        snapshot = self._publish()
        self._pause_on(snapshot)

    def _step_abandoned(self) -> bool:
        """Asked at the step's cancellation points: cancelled, or a change waits and the step is long
        and has not made way for one already: changes ten times a second or more (an arrow key
        held on an lr box while the run played) abandoned every step; the run stood still meanwhile."""
        if self._cancel_step.is_set():
            return True
        work = self._work
        return (
            self._change_queued.is_set()
            and not (self._commands.empty() and not self._held)
            and work is not None
            and work.step != self._made_way_for
            and time.monotonic() - work.started_s >= _MAKE_WAY_AFTER_S
        )

    def _last_spectra_s(self) -> float:
        return 0.0 if self._experiment is None else self._experiment.last_spectra_s

    def _cancelled(self, number: int, elapsed_s: float) -> None:
        """A step abandoned: nothing of it is left, the steps queued after it are dropped."""
        self._pause()
        self._outbox.append(
            Note(
                f"Cancelled step {number} after {elapsed_text(elapsed_s)}: the run is paused at step "
                f"{number - 1}, as it was before that step.",
                until_moved=True,
            )
        )

    def _pause_on(self, snapshot: Snapshot) -> None:
        """Pause for a breakpoint, a diverged lane, or once when playing reaches the run length."""
        hit = self._session.check_breakpoints(snapshot)
        diverged = snapshot.newly_diverged
        if hit is not None:
            self._pause()
            breakpoints = self._session.breakpoints
            index = next(i for i, b in enumerate(breakpoints) if b is hit.breakpoint)
            self._announce_breakpoints(hit=index)
            text = hit.message + also_holding(breakpoints, hit, snapshot)
            self._outbox.append(Note(text, until_moved=True))  # the run works as asked: no alarm
        elif diverged:
            self._steps_left = 0
            self._set_playing(False)
            self._outbox.append(Alert(diverged_pause_text(snapshot.step, diverged), until_moved=True))
        elif self._playing and snapshot.reached_run_length:
            self._set_playing(False)
            self._outbox.append(Note(run_length_pause_text(snapshot.step), until_moved=True))

    def _publish(self) -> Snapshot:
        snapshot = self._experiment.snapshot()
        self._outbox.append(snapshot)
        self._session.follow_lane_labels()  # a change, rewind or switch relabels lanes
        if tuple(b.text for b in self._session.breakpoints) != self._breakpoints_shown:
            self._announce_breakpoints()
        if self._paced:
            self._unshown = snapshot.step
        return snapshot

    def _set_playing(self, playing: bool) -> None:
        if not playing and self._experiment is not None:
            self._experiment.spectra_gate = None  # a rewind or a branch switch replays every spectrum
        self._playing = playing
        self._report_motion()

    def _queue_steps(self, n: int) -> None:
        """Take ``n`` more steps, then pause; more than one is a run to a step the window says it makes
        (and pause stops): a go-to far ahead read "paused" for minutes while the steps counted up."""
        self._steps_left += n
        self._run_to = self._session.step + self._steps_left if self._steps_left > 1 else None
        self._report_motion()

    def _report_motion(self) -> None:
        """Tell the window whether the run moves (playing, or running to a step) when that changes."""
        run_to = self._run_to if self._steps_left > 0 and not self._playing else None
        motion = (self._playing or run_to is not None, run_to)
        if motion != self._motion_shown:
            self._motion_shown = motion
            self._outbox.append(PlayingChanged(*motion))

    def _refuse_start(self, exc: Exception, refused_as: str) -> None:
        """A restart refused for its settings (a memory it would not fit in) leaves the run on show
        going: "The engine stopped during start … The run is paused" while it played on."""
        if self._session is None or not isinstance(exc, ConfigError):
            self._fail("start", exc)
            return
        log.warning("restart refused: %s", exc)
        text = f"{refused_as}: {sentence(exc)} The run on show goes on as it was."
        self._outbox.append(Alert(text, until_moved=False))  # said while the run plays on

    def _fail(self, where: str, exc: Exception) -> None:
        if isinstance(exc, ConfigError):  # the user's settings, not a bug: no traceback
            log.warning("settings refused during %s: %s", where, exc)
        else:
            log.error("engine failure during %s:\n%s", where, "".join(traceback.format_exception(exc)))
        kind = "invalid settings" if isinstance(exc, ConfigError) else type(exc).__name__
        self._outbox.append(
            Alert(
                f"The engine stopped during {where} ({kind}): {sentence(exc)} The run is paused; "
                "everything computed so far is kept.",
                until_moved=True,
            )
        )
