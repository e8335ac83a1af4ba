"""The engine loop's session commands: go to a step, rewind, switch branch, breakpoints, save and
open, and the replays the window asks for (a recalled step, an inspected matrix).

:class:`SessionCommands` is mixed into :class:`~muonscope.app.engine_loop.EngineLoop` and shares
its state (the session, the outbox, the command queue, the work on the busy line); it holds the
commands that work on the session's record rather than on the step being taken.
"""

from __future__ import annotations

import queue
from collections.abc import Callable

from muonscope.app.debugger import (
    BackToRunBefore,
    CompareBranch,
    GoTo,
    Inspect,
    Inspection,
    OpenSession,
    RecallStep,
    RunKept,
    Saved,
    SavedCopy,
    SaveSession,
    SetBreakpoints,
    SwitchBranch,
    branches_message,
    breakpoints_message,
    comparison_message,
    history_message,
    holds_work,
    inspection_message,
    parse_items,
    recall_message,
)
from muonscope.app.engine_protocol import (
    Alert,
    Command,
    FrameShown,
    Message,
    Note,
    Rejected,
    SetSpeed,
    WorkInProgress,
)
from muonscope.engine.errors import ConfigError, StepCancelled
from muonscope.engine.presets import nearest_preset
from muonscope.engine.session_format import session_name
from muonscope.engine.snapshot import Snapshot

__all__ = ["SessionCommands"]

#: A rewind that replays longer than this says so before it starts.
_LONG_JUMP_S = 1.0

#: What Cancel does, said on its button's tooltip.
_CANCEL_REWIND = "stop going back: the engine stays at the step replayed so far"
_CANCEL_REPLAY = "stop this replay: the step is not shown"
_CANCEL_OPEN = "stop opening: the session open now stays as it was"

#: Commands that leave what a replay for the window is for as it was: they wait for its end.
_WAIT_FOR_A_REPLAY = (SetBreakpoints, SetSpeed, FrameShown, CompareBranch)


class SessionCommands:
    """The debugger's commands of the engine loop (see the module's docstring)."""

    def _handle_debugger(self, command: Command) -> None:
        session = self._session
        if session is None:
            return
        if isinstance(command, GoTo):
            self._go_to(command.step)
        elif isinstance(command, SetBreakpoints):
            self._set_breakpoints(command.items, command.serial)
        elif isinstance(command, SaveSession):
            self._save(command.path, command.view, command.replace_any, command.kept)
        elif isinstance(command, OpenSession):
            self._open(command.path)
        elif isinstance(command, Inspect):
            self._commit_changes()  # a replay restores the engine, which would drop them
            self._inspect(command)
        elif isinstance(command, RecallStep):
            self._commit_changes()
            what = f"recalling step {command.step}"
            self._outbox.append(self._replay_for_view(recall_message, command, what))
        elif isinstance(command, SwitchBranch):
            # a branch asked for just before a reset, a preset or an open replaced the run may not be
            # in the new one: the window gets the new run's branches anyway, and the engine goes on
            if 0 <= command.branch < len(session.branches):
                self._pause()
                session.switch(command.branch)
                self._announce_position()
        elif isinstance(command, CompareBranch):
            self._outbox.append(comparison_message(session, command.branch))
        elif isinstance(command, BackToRunBefore):
            self._back_to_run_before()

    def _replay_abandoned(self) -> bool:
        """A replay for the view or the inspector gives way to what the window asked for since
        (another step, another matrix, a change) or to closing, not to a command that leaves what
        it replays for as it was (a breakpoint edited, the speed): those wait for its end. A
        breakpoint added restarted a replay of hundreds of steps."""
        if self._cancel_step.is_set():
            return True
        while True:
            try:
                command = self._commands.get_nowait()
            except queue.Empty:
                return any(not isinstance(held, _WAIT_FOR_A_REPLAY) for held in self._held)
            self._held.append(command)

    def _replay_for_view(self, make: Callable, request: RecallStep | Inspect, what: str) -> Message:
        """``make(session, request, cancelled)``, a replay for the window: said on the busy line with
        its progress, given up for Cancel or for the window's next request."""
        self._working(what, _CANCEL_REPLAY)
        try:
            cancelled = self._replay_watch(what, request.step, self._replay_abandoned)
            return make(self._session, request, cancelled)
        finally:
            self._work = None

    def _replay_watch(self, what: str, target: int, abandoned: Callable[[], bool]) -> Callable[[], bool]:
        """A ``cancelled`` callback for a replay to ``target`` for the window that also keeps the
        busy line's progress: asked at every cancellation point of the replayed steps, it counts
        the steps finished since its first question (the checkpoint the replay starts at)."""
        start: int | None = None

        def cancelled() -> bool:
            nonlocal start
            under_way = self._experiment.step_under_way
            step = self._session.step if under_way is None else under_way - 1
            start = step if start is None else start
            self._show_progress(what, step - start, target - start)
            return abandoned()

        return cancelled

    def _show_progress(self, what: str, done: int, total: int) -> None:
        work = self._work
        text = f"{what}: {done} of {total} steps replayed"
        if work is not None and work.what != text:
            self._work = WorkInProgress(text, work.started_s, None, work.cancel_means)

    def _go_to(self, step: int) -> None:
        """Forward: skip the recorded steps a stored state lets it skip, then step there (breakpoints
        stop the steps it takes). Backward: announce, then rewind."""
        session = self._session
        if step < 0:  # the engine stopped on it ("engine stopped (ValueError)")
            self._outbox.append(Alert(f"Not gone to step {step}: a run's steps start at 0."))
            return
        self._pause()
        if step >= session.step:
            try:
                skipped = session.skip_ahead(step)
            except Exception as exc:
                self._fail(f"going to step {step}", exc)
                return
            if skipped:
                self._announce_position()
            self._queue_steps(step - session.step)
            return
        replay = session.replay_steps(step)
        seconds = replay * self._step_s
        if seconds > _LONG_JUMP_S:
            self._outbox.append(
                Note(
                    f"Going back to step {step}: replaying {replay} steps from the nearest checkpoint, "
                    f"about {seconds:.0f} s.",
                    until_moved=True,
                )
            )
        self._goto = step

    def _rewind(self, step: int) -> None:
        """Replay from the checkpoint before ``step``; Cancel (or closing) stops the replay where it is."""
        self._goto = None
        what, total = f"going back to step {step}", self._session.replay_steps(step)
        self._working(f"{what}: 0 of {total} steps replayed", _CANCEL_REWIND)

        def replayed(snapshot: Snapshot) -> None:  # after each whole step: Cancel stands there
            self._show_progress(what, snapshot.step - (step - total), total)

        try:
            self._session.go_to(step, on_step=replayed, cancelled=self._cancel_step.is_set)
        except StepCancelled:
            self._announce_position()
            self._outbox.append(  # after the position: a note is withdrawn when the run moves
                Note(
                    f"Stopped going back to step {step}: the run stands at step {self._session.step}.",
                    until_moved=True,
                )
            )
            return
        except Exception as exc:
            self._fail(f"going back to step {step}", exc)
            return
        finally:
            self._work = None
        self._announce_position()

    def _announce_position(self, new_run: bool = False) -> None:
        """After a jump or an open (``new_run``): the snapshot where the engine stands, its branch's
        history, the branches."""
        self._publish()  # first: a new run's first snapshot clears the window's history
        self._outbox.append(history_message(self._session))
        self._outbox.append(branches_message(self._session, new_run))

    def _announce_fork(self) -> None:
        """The new branch, then the note about it (a note is about the branch on show when it comes)."""
        branch = self._session.branch
        self._outbox.append(history_message(self._session))
        self._outbox.append(branches_message(self._session))
        note = f"Forked a new branch, “{branch.name}”: the original is kept (Branch menu)."
        self._outbox.append(Note(note))  # true while the fork is on show: it goes with the branch

    def _set_breakpoints(self, items, serial: int | None = None) -> None:
        labels = [lane.display_label() for lane in self._session.config.lanes]
        before = {b.text for b in self._session.breakpoints}
        try:
            self._session.set_breakpoints(parse_items(items, labels, held=self._session.breakpoints))
        except ConfigError as exc:
            self._outbox.append(Rejected(str(exc)))
        self._announce_breakpoints(answer_to=serial)
        added = [b for b in self._session.breakpoints if b.text not in before]
        snapshot = self._experiment.snapshot()
        hit = next((h for b in added if (h := b.check_last_measured(snapshot)) is not None), None)
        if hit is not None and hit.value is not None:  # said: nothing would show it holds here
            self._outbox.append(Note(hit.holding_already(snapshot.step), until_moved=True))

    def _announce_breakpoints(self, hit: int | None = None, answer_to: int | None = None) -> None:
        self._breakpoints_shown = tuple(b.text for b in self._session.breakpoints)
        self._outbox.append(breakpoints_message(self._session, hit=hit, answer_to=answer_to))

    def _save(self, path, view: dict, replace_any: bool = False, kept: bool = False) -> None:
        """Save the run on show (with the window's panel modes), or the run kept before it (with its
        own, as it was left): closing the window can save it without bringing it back first."""
        from muonscope.engine.session_file import SavedElsewhere, save_session

        session = self._before if kept else self._session
        if session is None:
            self._outbox.append(Alert("Not saved: no run before this one is kept."))
            return
        if not kept:
            session.view = dict(view)  # the window's panel modes go with it
        self._working(f"saving the {'run before' if kept else 'session'} to {path}")
        try:
            save_session(session, path, replace_any=replace_any)
        except SavedElsewhere as exc:  # saved, where another process's save left room: said, and kept
            path = exc.saved_to
            self._outbox.append(Alert(f"Saved elsewhere: {exc}"))
        except (OSError, ConfigError) as exc:
            self._outbox.append(Alert(f"Not saved: {exc}"))
            return
        finally:
            self._work = None
        if kept:
            self._before_saved = SavedCopy.of(session, path)
        else:
            self._saved = SavedCopy.of(session, path)
        self._outbox.append(Saved(str(path), session.step, head_step=session.branch.head_step, kept=kept))

    def _open(self, path) -> None:
        """Open a saved session; on any problem the open one stays as it was."""
        from muonscope.engine.session_file import open_session

        self._pause()
        self._make_room()
        self._working(f"opening {path}", _CANCEL_OPEN)  # it replays up to hundreds of steps
        try:
            session = open_session(path, self._factory, self._cancel_step.is_set)
        except ConfigError as exc:
            self._outbox.append(Alert(f"Not opened: {exc}", until_moved=True))  # gone once the run moves on
            return
        except StepCancelled:
            self._outbox.append(Note(f"Not opened: {path} was cancelled; the session open before stays."))
            return
        except Exception as exc:
            self._fail(f"opening {path}", exc)
            return
        finally:
            self._work = None
        replaced, self._session = self._session, session
        replaced_saved, self._saved = self._saved, SavedCopy.of(session, path)
        self._threads.begin()
        self._announce_opened()
        self._outbox.append(Saved(str(path), session.step, opened=True, view=dict(session.view)))
        if session.opened_notes:  # after the opening's own word, which it would replace
            self._outbox.append(
                Note(f"Session {session_name(path)}: " + "; ".join(session.opened_notes) + ".")
            )
        self._keep(replaced, replaced_saved)

    # ---- the run before ----------------------------------------------------------------------

    def _make_room(self) -> None:
        """Before a new run is built: the run kept gives way if the one on show will take its place
        (at most two runs are held, the one on show and one before it)."""
        self._let_go = None
        if holds_work(self._session) and self._before is not None:
            saved = self._before_saved
            held = None if not saved.path or saved.holds(self._before) else saved.step
            self._let_go = (self._before.branch.head_step, saved.path, held)
            self._before = None

    def _keep(self, replaced, saved: SavedCopy) -> None:
        """Keep a replaced run that holds steps or branches, so that nothing computed is lost: one
        key (Page Down, another preset in a talk) replaced a run of hours. A replaced run at step 0
        holds nothing and leaves the run kept before it."""
        let_go, self._let_go = self._let_go, None
        if not holds_work(replaced):
            return
        self._before, self._before_saved = replaced, saved
        if saved.path:  # its folder: two sessions of one preset read alike by the preset's title
            title = session_name(saved.path)
        else:
            preset = nearest_preset(replaced.initial_config, "own settings")
            title = preset.title or preset.name
        kept = RunKept(replaced.branch.head_step, self._saved.path, let_go, replaced.step, title, saved.path)
        self._outbox.append(kept)

    def _back_to_run_before(self) -> None:
        """Swap the run on show with the one kept: the run left is kept in turn (if it holds steps)."""
        if self._before is None:
            self._outbox.append(Note("No run before this one is kept."))
            return
        self._pause()
        self._let_go = None  # a swap lets nothing go
        replaced, self._session, self._before = self._session, self._before, None
        replaced_saved, self._saved = self._saved, self._before_saved
        self._threads.begin()
        self._announce_opened()
        session = self._session
        self._outbox.append(Saved(self._saved.path, session.step, True, True, session.branch.head_step))
        self._keep(replaced, replaced_saved)

    def _announce_opened(self) -> None:
        """A session taken over whole (opened, or handed in): its breakpoints, then where it stands."""
        self._config = self._session.initial_config
        self._announce_breakpoints()
        self._announce_position(new_run=True)

    def _inspect(self, command: Inspect) -> None:
        try:
            what = f"replaying to step {command.step} for the inspector"
            self._outbox.append(self._replay_for_view(inspection_message, command, what))
        except (ValueError, ConfigError) as exc:
            self._outbox.append(Inspection(command, None, f"Cannot inspect: {exc}"))
