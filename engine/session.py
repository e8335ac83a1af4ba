"""A run as a session: branches of steps that can be rewound, replayed, forked and inspected.

A session owns one :class:`Experiment` and records, for each branch, the changes made with their
steps, checkpoints within a memory budget, and the per-step metrics and spectra. Because a run is
deterministic on one device and dtype, going back to step k is "restore the nearest checkpoint at
or before k, then replay the branch's changes up to k", and the steps after it stay on record.

A change made while the engine stands before the branch's newest step starts a new branch there (a
fork) and leaves the original as it was. The session knows nothing of threads or windows; the app
drives it from its engine thread and the CLI directly.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor

from muonscope.engine.breakpoints import Breakpoint, Hit, first_hit
from muonscope.engine.changes import Change, told_changes
from muonscope.engine.checkpoints import Checkpoint, CheckpointStore
from muonscope.engine.config import ExperimentConfig
from muonscope.engine.errors import StepCancelled
from muonscope.engine.experiment import Experiment
from muonscope.engine.history import MetricHistory, SpectraHistory
from muonscope.engine.lane_breakpoints import LaneBreakpoints
from muonscope.engine.lane_history import LaneHistory, lane_histories
from muonscope.engine.save_identity import SavedAt
from muonscope.engine.snapshot import Event, Snapshot
from muonscope.engine.step_threads import ThreadRecord, noted, replay_threads, up_to

__all__ = ["Branch", "Session", "budget_bytes"]

_MIB = 1024 * 1024


def budget_bytes(config: ExperimentConfig) -> int:
    """The checkpoint budget a config asks for (``run.checkpoint_mb``), in bytes."""
    return int(config.run.checkpoint_mb * _MIB)


@dataclass(eq=False)
class Branch:
    """One line of steps: from the start, or forked from ``parent`` after ``fork_step`` steps."""

    id: int
    name: str
    parent: int | None
    fork_step: int
    checkpoints: CheckpointStore
    metrics: MetricHistory
    spectra: SpectraHistory
    head_step: int = 0  # the furthest step computed on this branch
    changes: tuple[tuple[int, Change], ...] = ()  # every change of its line, with its step
    head: Checkpoint | None = None  # the state at head_step, kept when the engine leaves it
    head_snapshot: Snapshot | None = None
    notes: dict = field(default_factory=dict)
    threads: ThreadRecord = ()  # the torch thread count of each step it computed (step_threads)


class Session:
    """An experiment whose every step is on record and can be gone back to."""

    def __init__(
        self,
        config: ExperimentConfig,
        factory: Callable[[ExperimentConfig], Experiment] = Experiment,
        *,
        record_start: bool = True,
    ) -> None:
        self.experiment = factory(config)
        self.initial_config = config
        self._breakpoints = LaneBreakpoints()
        #: The window's panel modes when the session was saved, as a config's ``[view]`` table: plain
        #: data the engine keeps and writes, checked and applied where a window opens it.
        self.view: dict[str, Any] = {}
        self.branches: list[Branch] = []
        #: The folder and save this session was read from or last written to (None: neither yet).
        self.last_saved: SavedAt | None = None
        #: What its reader is told on opening it (recorded under earlier measures, …): one line each.
        self.opened_notes: tuple[str, ...] = ()
        #: Those of them that stay true when it is saved again (its record keeps rows from an earlier
        #: rule or definition): saved with it, and said again whenever it is opened.
        self.lasting_notes: tuple[str, ...] = ()
        self._current = 0
        self._budget_setting = config.run.checkpoint_mb
        if record_start:
            self._add_branch(
                "main", None, 0, CheckpointStore(budget_bytes(config)), MetricHistory(), SpectraHistory()
            )
            self._record(self.experiment.snapshot())

    # ---- what others read -----------------------------------------------------------------------

    @property
    def branch(self) -> Branch:
        """The branch the engine is on."""
        return self.branches[self._current]

    @property
    def step(self) -> int:
        return self.experiment.step_count

    @property
    def config(self) -> ExperimentConfig:
        return self.experiment.config

    @property
    def recorded_events(self) -> tuple[Event, ...]:
        """The events of the branch's whole record, up to its newest step: behind it, those the
        engine will make again as it replays (a change at step 20 seen from step 10)."""
        head = self.branch.head_snapshot
        if self.at_head or head is None:
            return self.experiment.events
        return head.events

    @property
    def record(self) -> tuple:
        """What the run's work has made of the session, as a save writes it: each branch's name, parent,
        newest step and changes, and the breakpoints. Equal at two moments: nothing was done between
        them that a save would keep (going back and forth through the record changes nothing)."""
        branches = tuple((b.name, b.parent, b.head_step, b.changes) for b in self.branches)
        return branches, tuple((b.text, b.enabled) for b in self.breakpoints)

    @property
    def at_head(self) -> bool:
        """True when the engine stands at its branch's newest step (new steps get recorded)."""
        return self.step >= self.branch.head_step

    def snapshot(self) -> Snapshot:
        return self.experiment.snapshot()

    def own_changes(self, branch: Branch) -> tuple[tuple[int, Change], ...]:
        """The changes made on ``branch`` itself, with their steps: those of its line past the ones
        it shares with the branch it forked from (all of them on main)."""
        if branch.parent is None:
            return branch.changes
        inherited, line = self.branches[branch.parent].changes, branch.changes
        shared = 0
        while shared < min(len(inherited), len(line)) and inherited[shared] == line[shared]:
            shared += 1
        return line[shared:]

    def own_changes_told(self, branch: Branch) -> tuple[str, ...]:
        """:meth:`own_changes` as the markers say them, what a switch set with it included
        (``at step 20: lane 1 optimizer Adam → SignGD, lr 0.1 → 0.01``)."""
        told = told_changes(self.initial_config, branch.changes)
        return told[len(told) - len(self.own_changes(branch)) :]

    def lane_histories(self, branch: Branch | None = None) -> tuple[LaneHistory, ...]:
        """Every lane's settings along ``branch`` (the current one by default), to its newest step.

        The engine's own snapshot knows only the changes up to where it stands; after a rewind the
        branch's recorded steps beyond it were drawn by the later settings, which this includes.
        """
        return lane_histories(self.initial_config, (branch or self.branch).changes)

    def replay_steps(self, target: int) -> int:
        """How many steps reaching ``target`` on this branch would compute."""
        start = self._start_for(target)
        return target - (self.step if start is None else start.step)

    def _start_for(self, target: int) -> Checkpoint | None:
        """The stored state a move to ``target`` starts from: the nearest at or before it (the
        branch's kept head from there on), or None when the engine's own state is as near."""
        branch = self.branch
        if branch.head is not None and branch.head_step <= target:
            start = branch.head
        else:
            start = branch.checkpoints.at_or_before(min(target, branch.head_step))
        if target >= self.step and (start is None or start.step <= self.step):
            return None
        return start

    # ---- moving along the branch ----------------------------------------------------------------

    def step_once(self, cancelled: Callable[[], bool] | None = None) -> Snapshot:
        """One step forward: new on the branch's frontier, a replay of the recorded one behind it.

        ``cancelled`` is asked between the step's stages; when it says so the step is undone and
        :class:`StepCancelled` raised, with nothing recorded.
        """
        replaying = not self.at_head
        count = torch.get_num_threads()
        if replaying:
            self._queue_recorded_changes(self.step)
        try:
            with replay_threads(self.branch.threads if replaying else ()) as threads:
                threads.before(self.step + 1)
                self.experiment.step(cancelled=cancelled)
        except StepCancelled:
            if replaying:
                self.experiment.discard_pending()  # the replay queues them again next time
            raise
        snapshot = self.experiment.snapshot()
        if not replaying:
            self.branch.threads = noted(self.branch.threads, self.step, count)
            self._record(snapshot)
        return snapshot

    def run(
        self,
        target: int,
        *,
        stop_on_breakpoints: bool = True,
        on_step: Callable[[Snapshot], bool | None] | None = None,
        cancelled: Callable[[], bool] | None = None,
    ) -> Hit | None:
        """Step to ``target``, or to the first breakpoint that holds, or until ``on_step`` returns True.

        ``cancelled`` is asked inside each step as in :meth:`step_once`: the steps taken stay, the one
        under way is undone and :class:`StepCancelled` raised.
        """
        while self.step < target:
            snapshot = self.step_once(cancelled)
            hit = self.check_breakpoints(snapshot) if stop_on_breakpoints else None
            if hit is not None:
                return hit
            if on_step is not None and on_step(snapshot):
                return None
        return None

    def evaluate(self, cancelled: Callable[[], bool] | None = None) -> None:
        """Population metrics of the current W now (a run's last step), recorded with that step;
        abandoned (StepCancelled) once ``cancelled()`` says so, nothing recorded."""
        self.experiment.evaluate(with_signal=False, cancelled=cancelled)
        if self.at_head:
            self.branch.metrics.truncate_after(self.step - 1)
            self.branch.metrics.append(self.snapshot())

    def check_breakpoints(self, snapshot: Snapshot) -> Hit | None:
        self.follow_lane_labels()
        return first_hit(self.breakpoints, snapshot)

    def go_to(
        self,
        target: int,
        on_step: Callable[[Snapshot], bool | None] | None = None,
        cancelled: Callable[[], bool] | None = None,
    ) -> None:
        """Stand at step ``target`` of this branch: backward rewinds and replays; forward skips the
        recorded steps it can (see :meth:`skip_ahead`) and runs the rest.

        ``on_step`` and ``cancelled`` work as in :meth:`run`: a replay of hundreds of steps can be
        stopped, and the engine then stands at the last step replayed (on the branch, behind its head).
        """
        if target < 0:
            raise ValueError(f"step {target}: must be ≥ 0")
        if target < self.step:
            self._rewind_to(target)
        else:
            self.skip_ahead(target)
        self.run(target, stop_on_breakpoints=False, on_step=on_step, cancelled=cancelled)

    def skip_ahead(self, target: int) -> bool:
        """Forward within the branch's record: restore its stored state nearest at or before
        ``target`` when that is ahead of the engine, so that only the steps after it are computed.

        After a rewind to step 0 of a 100,000-step run, going to step 99,000 replayed every step
        from 0 (some 50 minutes on the default preset); from the checkpoint before it, a few hundred.
        Returns whether the engine moved.
        """
        start = self._start_for(target) if target >= self.step else None
        if start is None:
            return False
        self.experiment.restore(start)
        return True

    def _rewind_to(self, target: int) -> None:
        branch = self.branch
        if self.at_head:
            branch.head = self.experiment.checkpoint()
            branch.head_snapshot = self.experiment.snapshot()
        start = branch.checkpoints.at_or_before(target)
        self.experiment.restore(start)

    def _queue_recorded_changes(self, step: int) -> None:
        """Re-apply the branch's changes recorded at ``step`` (a replay must make the same ones)."""
        done = len(self.experiment.changes)
        for change_step, change in self.branch.changes[done:]:
            if change_step != step:
                break
            self.experiment.apply(change)

    # ---- changes and forks ----------------------------------------------------------------------

    def apply(self, change: Change) -> bool:
        """Queue a change for this boundary; behind the branch's frontier it forks first. True if forked."""
        forked = False
        if not self.at_head:
            self.fork()
            forked = True
        self.experiment.apply(change)
        return forked

    def commit(self) -> bool:
        """Apply queued changes at this boundary now (so a snapshot shows them)."""
        committed = self.experiment.commit()
        if committed:
            self._sync_head()
        return committed

    def fork(self, name: str | None = None) -> Branch:
        """A new branch from the engine's step, inheriting the line before it; the engine moves onto it.

        Its parent is the branch that holds that step: a fork at step 10 of a branch that began at
        step 20 forks from that branch's own parent ("forked at step 10 from fork 1 at step 20" named
        a step fork 1 never had).
        """
        parent, step = self.branch, self.step
        owner = parent
        while owner.parent is not None and step < owner.fork_step:
            owner = self.branches[owner.parent]
        here = self.experiment.checkpoint()
        if self.at_head:  # the parent can be continued from exactly here
            parent.head, parent.head_snapshot = here, self.experiment.snapshot()
        store = CheckpointStore(parent.checkpoints.budget_bytes, parent.checkpoints.spacing)
        for checkpoint in parent.checkpoints.up_to(step):
            store.add(checkpoint)
        store.add(here)
        branch = self._add_branch(
            name or f"fork {len(self.branches)} at step {step}",
            owner.id,
            step,
            store,
            parent.metrics.copy(up_to_step=step),
            parent.spectra.copy(up_to_step=step),
        )
        branch.head_step = step
        branch.changes = self.experiment.changes
        branch.threads = up_to(parent.threads, step)
        branch.head_snapshot = self.experiment.snapshot()
        self._current = branch.id
        return branch

    def switch(self, branch_id: int) -> None:
        """Continue on another branch, at its newest step."""
        if not 0 <= branch_id < len(self.branches):
            raise ValueError(f"branch {branch_id}: must be one of 0…{len(self.branches) - 1}")
        if branch_id == self._current:
            return
        if self.at_head:
            self.branch.head = self.experiment.checkpoint()
            self.branch.head_snapshot = self.experiment.snapshot()
        self.stand_on(branch_id)

    def stand_on(self, branch_id: int, cancelled: Callable[[], bool] | None = None) -> None:
        """Put the engine at the newest step of ``branch_id`` (its kept head, or a replay to it);
        ``cancelled`` is asked during the replay as in :meth:`run`."""
        self._current = branch_id
        branch = self.branch
        start = branch.head if branch.head is not None else branch.checkpoints.at_or_before(branch.head_step)
        self.experiment.restore(start)
        self.run(branch.head_step, stop_on_breakpoints=False, cancelled=cancelled)

    # ---- breakpoints ----------------------------------------------------------------------------

    @property
    def breakpoints(self) -> list[Breakpoint]:
        """The breakpoints, naming the lanes as they stood at the last :meth:`follow_lane_labels`."""
        return self._breakpoints.items

    def set_breakpoints(self, breakpoints: Iterable[Breakpoint]) -> None:
        """Breakpoints written for the lanes as they are labelled and ordered now."""
        self._breakpoints.set(breakpoints, self.experiment.lane_ids, self._lane_labels())

    def follow_lane_labels(self) -> bool:
        """Follow the lanes the breakpoints name to the labels and indices they have now (a live
        change, a rewind or a branch switch relabels lanes; removing one moves those after it);
        True when any breakpoint's text changed."""
        return self._breakpoints.follow(self.experiment.lane_ids, self._lane_labels())

    def _lane_labels(self) -> tuple[str, ...]:
        return tuple(lane.display_label() for lane in self.config.lanes)

    # ---- inspection -----------------------------------------------------------------------------

    def matrices_at(self, step: int, cancelled: Callable[[], bool] | None = None) -> dict:
        """W, G, M and D of every lane at ``step`` of this branch, by replay; the engine returns after.

        G and D belong to the step that produced W at ``step`` (None at step 0). Nothing is recorded.
        ``cancelled`` is asked as in :meth:`snapshot_at`: a replay no longer wanted stops with
        :class:`StepCancelled`.
        """
        if not 0 <= step <= self.branch.head_step:
            raise ValueError(f"step {step}: must be between 0 and {self.branch.head_step}")
        here = self.experiment.checkpoint()
        try:
            self._replay_quietly(step, cancelled=cancelled)
            experiment = self.experiment
            lanes = len(experiment.config.lanes)
            return {
                "step": step,
                "config": experiment.config,
                "weights": experiment.weights.clone(),
                "gradient": _clone(experiment.last_gradient),
                "direction": _clone(experiment.last_direction),
                "momentum": [experiment.momentum_buffer(i) for i in range(lanes)],
                "diverged_steps": [lane.diverged_step for lane in experiment.snapshot().lanes],
                "diverged_causes": [lane.diverged_cause for lane in experiment.snapshot().lanes],
            }
        finally:
            self.experiment.restore(here)

    def snapshot_at(self, step: int, cancelled: Callable[[], bool] | None = None) -> Snapshot:
        """The snapshot of ``step`` of this branch, by replay with every spectrum due computed.

        A playing run computes spectra only as often as frames are drawn, so most of its recorded
        steps carry an earlier step's; the replay computes them at every step of the spectra cadence,
        so the snapshot holds those of ``step`` (or of the cadence's last step before it), and the
        changes recorded at ``step`` are applied, as the window showed them. The engine returns to
        where it stood. The branch's record of ``step`` takes the metrics and spectra it lacked (a replay is
        bit-identical): the window's copy did, and lost them at the next rewind, so ② said "measured
        at 164 of 170 steps" before a jump and 163 after it. ``cancelled`` is asked at the replayed
        steps' cancellation points: when it says so the replay stops and :class:`StepCancelled` is
        raised (a long replay the window no longer wants).
        """
        if not 0 <= step <= self.branch.head_step:
            raise ValueError(f"step {step}: must be between 0 and {self.branch.head_step}")
        experiment = self.experiment
        here, gate = experiment.checkpoint(), experiment.spectra_gate
        experiment.spectra_gate = None
        try:
            self._replay_quietly(step, self._last_spectra_step(step), cancelled)
            self._queue_recorded_changes(step)
            experiment.commit()
            snapshot = experiment.snapshot()
            self.branch.metrics.fill_in(snapshot)
            self.branch.spectra.fill_in(snapshot)
            return snapshot
        finally:
            experiment.spectra_gate = gate
            experiment.restore(here)

    def _last_spectra_step(self, step: int) -> int:
        """The step at or before ``step`` whose spectra its snapshot shows: the cadence's last one."""
        start = self.branch.checkpoints.at_or_before(max(step - 1, 0))
        every = (start.config if start is not None else self.config).run.spectra_every
        due = step - step % every
        return due if due > 0 else step

    def _replay_quietly(
        self, target: int, from_step: int | None = None, cancelled: Callable[[], bool] | None = None
    ) -> None:
        """Stand at ``target`` having just taken its step (so G and D are that step's); records nothing.

        ``from_step`` (≤ ``target``): replay from a checkpoint before it, so that its step is taken too.
        """
        first = target if from_step is None else min(from_step, target)
        if target > 0:
            self.experiment.restore(self.branch.checkpoints.at_or_before(max(first - 1, 0)))
            with replay_threads(self.branch.threads) as threads:
                while self.step < target:
                    self._queue_recorded_changes(self.step)
                    threads.before(self.step + 1)
                    self.experiment.step(cancelled=cancelled)
        else:
            self.experiment.restore(self.branch.checkpoints.at_or_before(0))

    # ---- recording ------------------------------------------------------------------------------

    def _add_branch(
        self,
        name: str,
        parent: int | None,
        fork_step: int,
        store: CheckpointStore,
        metrics: MetricHistory,
        spectra: SpectraHistory,
    ) -> Branch:
        branch = Branch(len(self.branches), name, parent, fork_step, store, metrics, spectra)
        self.branches.append(branch)
        return branch

    def _record(self, snapshot: Snapshot) -> None:
        """A new step on the frontier: its metrics and spectra, and a checkpoint if the grid wants one."""
        branch = self.branch
        branch.metrics.append(snapshot)
        branch.spectra.append(snapshot)
        if branch.checkpoints.wants(snapshot.step):
            branch.checkpoints.add(self.experiment.checkpoint())
        self._sync_head()

    def _sync_head(self) -> None:
        branch = self.branch
        setting = self.experiment.config.run.checkpoint_mb
        if setting != self._budget_setting:  # the user changed run.checkpoint_mb
            self._budget_setting = setting
            self.set_checkpoint_budget(budget_bytes(self.experiment.config))
        branch.head_step = self.step
        branch.changes = self.experiment.changes
        branch.head = None
        branch.head_snapshot = None

    def set_checkpoint_budget(self, budget: int) -> None:
        for branch in self.branches:
            branch.checkpoints.set_budget(budget)

    @property
    def checkpoint_bytes(self) -> int:
        """Memory held by checkpoints, each counted once however many branches share it."""
        unique = {id(c): c for branch in self.branches for c in branch.checkpoints.all()}
        heads = {id(b.head): b.head for b in self.branches if b.head is not None}
        return sum(c.nbytes for c in (unique | heads).values())


def _clone(tensor: Tensor | None) -> Tensor | None:
    return None if tensor is None else tensor.clone()
