"""One task, several optimizer lanes stepping in lockstep, and the metrics they report.

Every step draws one minibatch (or uses the exact population gradient) that all lanes share, so
the differences between lanes are the optimizers' alone. The lanes' memories are one stacked
tensor (L, r, c), so the gradient of every lane comes out of one batched pass.

The experiment is a plain object — ``step(n)``, ``apply(change)``, ``reset(seed)``, ``snapshot()``
— that knows nothing about threads or Qt; the app drives it from a worker thread.

A step can be cancelled: ``step(cancelled=...)`` asks the callable between the step's stages and
between its SVDs (a step at d = 2048 takes minutes, almost all of it in SVDs). A cancelled step
raises :class:`StepCancelled` and leaves the experiment exactly as it was before the step: either
a step happens whole or not at all, never a half-updated lane.
"""

from __future__ import annotations

import itertools
import time
from collections import deque
from collections.abc import Callable
from dataclasses import replace

import numpy as np
import torch
from torch import Tensor

from muonscope.engine.changes import (
    STATE_RESETTING_FIELDS,
    AddLane,
    Change,
    RemoveLane,
    SetField,
    apply_change,
)
from muonscope.engine.checkpoints import Checkpoint, LaneStateCopy
from muonscope.engine.config import ExperimentConfig, LaneConfig
from muonscope.engine.device import check_memory, exact_float32_matmuls, resolve_device
from muonscope.engine.divergence import divergence_cause
from muonscope.engine.errors import StepCancelled, raising_check
from muonscope.engine.field_paths import parse_field_path
from muonscope.engine.lane_history import lane_histories
from muonscope.engine.lane_metrics import evaluation_fields, settings_fields
from muonscope.engine.lane_update import step_lanes
from muonscope.engine.optim.registry import OPTIMIZERS
from muonscope.engine.optim.rules import LaneState
from muonscope.engine.recovery_law import lane_for_step
from muonscope.engine.run_record import RunRecord
from muonscope.engine.snapshot import Event, LaneSnapshot, Snapshot, frozen_array
from muonscope.engine.step_metrics import StepInputs, step_metric_fields
from muonscope.engine.task_kinds import TASK_KINDS
from muonscope.engine.tasks import Task, build_task

__all__ = ["Experiment"]

#: Every run (a new experiment or a reset) gets a number no other run in this process had.
_RUN_IDS = itertools.count(1)
#: Called at a step's cancellation points; raises StepCancelled to abandon it (None: no points).
Check = Callable[[], None] | None


class Experiment:
    """A lockstep training run that can be stepped, changed between steps, and reset."""

    def __init__(self, config: ExperimentConfig) -> None:
        self.device, self.dtype = resolve_device(config.run)
        check_memory(config, self.device, self.dtype)
        exact_float32_matmuls()
        self._initial = config
        self._spectra_gate: Callable[[int], bool] | None = None
        self._last_spectra_s = 0.0
        self._under_way: int | None = None  # the step being taken, while it is
        self._build(config)

    # ---- public API ------------------------------------------------------------------------------

    @property
    def config(self) -> ExperimentConfig:
        """The live configuration, including every change applied so far."""
        return self._config

    @property
    def queued_config(self) -> ExperimentConfig:
        """The configuration once the accepted changes take effect at the next step boundary."""
        return self._queued_config

    @property
    def step_count(self) -> int:
        """Number of steps taken since the last reset (in a step's later stages, that step included)."""
        return self._step

    @property
    def step_under_way(self) -> int | None:
        """The step being taken (asked from a cancellation point), None between steps: a replay's
        progress counts the steps finished, and ``step_count`` already counts a step whose update
        is made while its spectra and evaluation are still being computed."""
        return self._under_way

    @property
    def task(self) -> Task:
        return self._task

    @property
    def weights(self) -> Tensor:
        """The lanes' memories (L, r, c); read-only by convention."""
        return self._weights

    def momentum_buffer(self, lane: int) -> Tensor | None:
        """A copy of lane ``lane``'s momentum buffer M (Adam: its first moment); None when it has none."""
        buffer = self._states[lane].buffer
        return None if buffer is None else buffer.clone()

    @property
    def events(self) -> tuple[Event, ...]:
        return self._record.events

    @property
    def changes(self) -> tuple[tuple[int, Change], ...]:
        """Every change applied since W = 0, with the step boundary it was applied at."""
        return self._record.changes

    @property
    def pending_changes(self) -> bool:
        """True while accepted changes wait for the next step boundary."""
        return bool(self._pending)

    @property
    def last_gradient(self) -> Tensor | None:
        """G (L, r, c) that the last step used (None before a step, or right after a restore)."""
        return self._last_gradient

    @property
    def last_direction(self) -> Tensor | None:
        """D (L, r, c) of the last step: W ← W − lr·D (zero for lanes that did not move)."""
        return self._last_direction

    @property
    def spectra_gate(self) -> Callable[[int], bool] | None:
        """Asked on each step of the spectra cadence whether to compute them (None: always)."""
        return self._spectra_gate

    @spectra_gate.setter
    def spectra_gate(self, gate: Callable[[int], bool] | None) -> None:
        self._spectra_gate = gate

    @property
    def last_spectra_s(self) -> float:
        """Seconds the most recent spectra and signal metrics took (0 before any): what a gate weighs."""
        return self._last_spectra_s

    def optimizer_state(self, lane: int) -> LaneState:
        """Lane ``lane``'s optimizer state; read-only by convention."""
        return self._states[lane]

    # ---- checkpoints -----------------------------------------------------------------------------

    def checkpoint(self) -> Checkpoint:
        """The whole state at this step boundary, before queued changes: restoring it replays exactly.
        The changes in it stay as recorded (see :meth:`RunRecord.held`)."""
        changes, events = self._record.held()
        return Checkpoint(
            step=self._step,
            config=self._config,
            weights=self._weights.clone(),
            lane_states=tuple(LaneStateCopy.of(state) for state in self._states),
            task_state={name: t.clone() for name, t in self._task.random_state().items()},
            lanes=tuple(self._lanes),
            events=events,
            changes=changes,
            next_lane_id=self._next_lane_id,
        )

    @property
    def lane_ids(self) -> tuple[int, ...]:
        """Each lane's id, by index: a lane keeps its id when lanes before it are removed."""
        return tuple(lane.lane_id for lane in self._lanes)

    def restore(self, checkpoint: Checkpoint) -> None:
        """Go back (or forward) to a checkpoint of this run; queued changes are dropped.

        The task must be the one this experiment was built with (only live fields may differ; they
        are taken from the checkpoint's config). The signal gradient an evaluation leaves for the
        next step is recomputed when the checkpoint sits on an evaluation step, as the run did.
        """
        self._queued_config = checkpoint.config  # before the states: it says which need the geometry
        self._load(checkpoint)
        self._pending.clear()
        self._last_gradient = self._last_direction = None
        self._signal_cache = None
        if self._step % checkpoint.config.run.eval_every == 0 and not self._task.cheap_signal:
            self._evaluate()

    def _load(self, checkpoint: Checkpoint) -> None:
        """Put the checkpoint's settings, weights, optimizer states, stream, lanes and log in place."""
        config = checkpoint.config
        self._config = config
        for name in TASK_KINDS[config.task.kind].live:
            self._task.set_live(name, getattr(config.task, name))
        self._task.set_random_state({name: t.clone() for name, t in checkpoint.task_state.items()})
        self._weights = checkpoint.weights.to(self.device, self.dtype).clone()
        self._states = [
            copy.put_into(self._fresh_state(), self.device, self.dtype) for copy in checkpoint.lane_states
        ]
        self._lanes = list(checkpoint.lanes)
        self._record = RunRecord(checkpoint.changes, checkpoint.events)
        self._lane_histories = lane_histories(self._start_config, checkpoint.changes)
        self._next_lane_id = checkpoint.next_lane_id
        self._step = checkpoint.step

    def step(self, n: int = 1, *, cancelled: Callable[[], bool] | None = None) -> None:
        """Take ``n`` lockstep steps, applying queued changes at the first boundary.

        With ``cancelled``, each step asks it at its cancellation points and, when it returns True,
        is undone and raises :class:`StepCancelled` (steps finished before it stay taken).
        """
        for _ in range(n):
            self._under_way = self._step + 1
            try:
                if cancelled is None:
                    self._advance()
                    continue
                undo = self._undo_point()
                try:
                    self._advance(raising_check(cancelled, self._step + 1))
                except StepCancelled:
                    undo()
                    raise
            finally:
                self._under_way = None

    def discard_pending(self) -> None:
        """Drop the changes queued for the next boundary (a replay queues them again)."""
        self._pending.clear()
        self._queued_config = self._config

    def _undo_point(self) -> Callable[[], None]:
        """Everything a step may change, kept; calling the result puts it all back."""
        saved = self.checkpoint()
        pending, queued = tuple(self._pending), self._queued_config
        signal_cache, last = self._signal_cache, (self._last_gradient, self._last_direction)

        def undo() -> None:
            self._pending, self._queued_config = deque(pending), queued
            self._load(saved)
            self._signal_cache = signal_cache
            self._last_gradient, self._last_direction = last

        return undo

    def apply(self, change: Change) -> None:
        """Queue a change for the next step boundary; invalid changes raise ConfigError now.

        A live change can make a step too large for memory (a batch of 10⁷ draws): it is refused
        by the same check as a new run, before anything is allocated.
        """
        queued = apply_change(self._queued_config, change).config
        check_memory(queued, self.device, self.dtype)
        self._queued_config = queued
        self._pending.append(change)

    def set_run_length(self, steps: int) -> None:
        """Set ``run.steps`` (where playing pauses) without recording a change: it is not a setting of
        the dynamics, so a run continued to a longer length reports the same as one run there at once."""
        self._config = self._config.with_value("run.steps", steps)
        self._queued_config = self._queued_config.with_value("run.steps", steps)

    def commit(self) -> bool:
        """Apply queued changes now, at the current step boundary; True if there were any.

        The effect is the same as letting the next :meth:`step` apply them (they are recorded at
        this boundary and govern the next step), but a snapshot taken now already shows them.
        """
        had_changes = bool(self._pending)
        self._apply_pending()
        return had_changes

    def reset(self, seed: int | None = None, config: ExperimentConfig | None = None) -> None:
        """Restart from W = 0 with the current settings (or ``config``), optionally a new seed.

        "Current" includes changes accepted by :meth:`apply` but not yet reached by a step.
        """
        base = config if config is not None else self._queued_config  # accepted changes included
        if seed is not None:
            base = base.with_value("task.seed", seed)
        if config is not None or base.run != self._config.run:
            self.device, self.dtype = resolve_device(base.run)
        check_memory(base, self.device, self.dtype)
        self._build(base)

    def evaluate(self, with_signal: bool = True, cancelled: Callable[[], bool] | None = None) -> None:
        """Compute the population metrics of the current W now (e.g. at the end of a run).

        ``with_signal=False`` skips the noiseless gradient (half the cost) when no further step
        will pair with it. ``cancelled`` is asked between the evaluation's chunks: once it says so,
        the evaluation is abandoned (StepCancelled) and the metrics stay those of the last one.
        """
        if self._lanes[0].eval_step != self._step:
            check = None if cancelled is None else raising_check(cancelled, self._step)
            self._evaluate(with_signal, check=check)

    def snapshot(self) -> Snapshot:
        """The current state as an immutable snapshot."""
        return Snapshot(
            step=self._step,
            lanes=tuple(self._lanes),
            events=self._record.events,
            config=self._config,
            device=str(self.device),
            dtype=str(self.dtype).removeprefix("torch."),
            run_id=self._run_id,
            group_starts=self._group_starts,
            lane_histories=self._lane_histories,
        )

    # ---- construction ----------------------------------------------------------------------------

    def _build(self, config: ExperimentConfig) -> None:
        self._run_id = next(_RUN_IDS)
        self._start_config = config
        self._lane_histories = lane_histories(config, ())
        self._config = config
        self._queued_config = config
        self._pending: deque[Change] = deque()
        self._task = build_task(config.task, self.device, self.dtype, config.run.exact_eval_items)
        self._group_starts = frozen_array(self._task.group_starts, dtype=np.int64)
        lanes = len(config.lanes)
        self._weights = torch.zeros(lanes, *self._task.weight_shape, dtype=self.dtype, device=self.device)
        self._states = [self._fresh_state() for _ in range(lanes)]
        self._next_lane_id = lanes
        self._lanes = [self._fresh_snapshot(i, lane, i) for i, lane in enumerate(config.lanes)]
        self._step = 0
        self._record = RunRecord()
        self._last_gradient: Tensor | None = None
        self._last_direction: Tensor | None = None
        self._signal_cache: tuple[Tensor, Tensor] | None = None
        self._threshold_flags: tuple[tuple[bool, ...], Tensor] | None = None
        self._evaluate()

    def _fresh_state(self) -> LaneState:
        """Empty optimizer state that can see the task's geometry (read lazily by oracle rules)."""
        state = LaneState()
        if any(OPTIMIZERS[lane.optimizer].needs_geometry for lane in self._queued_config.lanes):
            state.geometry = self._task.geometry
        return state

    @staticmethod
    def _fresh_snapshot(index: int, lane: LaneConfig, lane_id: int) -> LaneSnapshot:
        return LaneSnapshot(index=index, lane_id=lane_id, **settings_fields(lane))

    # ---- changes ---------------------------------------------------------------------------------

    def _apply_pending(self) -> None:
        if self._pending:
            try:
                self._enact_pending()
            finally:  # what was applied, also when a change failed halfway
                self._lane_histories = lane_histories(self._start_config, self._record.changes)
        self._queued_config = self._config

    def _enact_pending(self) -> None:
        while self._pending:
            change = self._pending.popleft()
            folded = self._record.folded(self._step, change)  # the same field set again at this step
            if folded is not None:
                self._config = folded.config
                self._enact(change)
                self._record.fold(self._step, change, folded)
                continue
            applied = apply_change(self._config, change)
            if applied.config == self._config:  # lr 0.01 → 0.01: nothing to carry out, no marker to draw
                continue
            before, self._config = self._config, applied.config
            self._enact(change)
            self._record.record(self._step, change, applied, before)

    def _enact(self, change: Change) -> None:
        """Carry a config change over to the live task, lanes and weights."""
        if isinstance(change, AddLane):
            source = (
                self._weights[change.copy_from : change.copy_from + 1]
                if change.copy_from is not None
                else None
            )
            fresh = source.clone() if source is not None else torch.zeros_like(self._weights[:1])
            self._weights = torch.cat([self._weights, fresh])
            self._states.append(self._fresh_state())
            self._lanes.append(self._fresh_snapshot(len(self._lanes), change.lane, self._next_lane_id))
            self._next_lane_id += 1
            self._signal_for_new_lanes()
        elif isinstance(change, RemoveLane):
            keep = [i for i in range(len(self._lanes)) if i != change.index]
            self._weights = self._weights[keep]
            self._states = [self._states[i] for i in keep]
            self._lanes = [replace(self._lanes[i], index=j) for j, i in enumerate(keep)]
            self._signal_for_new_lanes()
        elif isinstance(change, SetField):
            self._enact_field(change)

    def _signal_for_new_lanes(self) -> None:
        """After lanes were added or removed (or one's thresholding toggled) at an evaluation step:
        evaluate again, so that the next step still measures alignment and sin Θ for every lane
        (dropping the signal left a gap at that step in every lane), and an exact-gradient step
        takes each lane's own gradient. The weights are those just evaluated, so the other lanes'
        metrics do not change; a restore at this step evaluates the same lanes the same way."""
        if self._signal_cache is not None:
            self._signal_cache = None
            self._evaluate()

    def _enact_field(self, change: SetField) -> None:
        section, index, name = parse_field_path(change.path)
        if section == "task":
            self._task.set_live(name, getattr(self._config.task, name))
            self._signal_cache = None
            return
        if section == "run":
            return
        lane = self._config.lanes[index]
        if name in STATE_RESETTING_FIELDS:
            self._states[index].clear()
        if OPTIMIZERS[lane.optimizer].needs_geometry and self._states[index].geometry is None:
            self._states[index].geometry = self._task.geometry
        self._lanes[index] = replace(self._lanes[index], **settings_fields(lane))
        if name == "thresholded":  # an exact-gradient step takes the evaluation's gradient: redo it
            self._signal_for_new_lanes()

    def _thresholded_lanes(self) -> Tensor | None:
        """(L,) bool: the lanes whose gradients leave out the items they recover; None when none does.

        Kept on the device until the lanes change: a copy to a GPU each step would wait for it.
        """
        flags = tuple(lane.thresholded for lane in self._config.lanes)
        if not any(flags):
            return None
        if self._threshold_flags is None or self._threshold_flags[0] != flags:
            self._threshold_flags = (flags, torch.tensor(flags, device=self.device))
        return self._threshold_flags[1]

    # ---- stepping --------------------------------------------------------------------------------

    def _advance(self, check: Check = None) -> None:
        """One step; ``check`` is called between its stages, and between lanes and SVDs within them."""
        self._apply_pending()
        from_eval = self._signal_cache is not None
        signal, signal_loss = self._take_signal()
        factors = None  # G as thin factors, when it was drawn with fewer columns than its size
        if self._task.exact_gradients and signal is not None:
            grads, batch_loss = signal, signal_loss
        else:
            grads, batch_loss = self._task.draw_gradients(
                self._weights, self._step == 0, check, self._thresholded_lanes()
            )
            factors = self._task.last_gradient_factors
            if self._task.exact_gradients:
                signal = grads
        frozen = [lane.diverged for lane in self._lanes]
        task, t = self._config.task, self._step
        lanes = [lane_for_step(lane, task, t) for lane in self._config.lanes]  # λ_t of scheduled lanes
        stepped = step_lanes(grads, self._weights, self._states, lanes, frozen, check)
        self._weights = stepped.weights
        self._step += 1
        self._last_gradient, self._last_direction = grads, stepped.directions
        finite, losses = stepped.on_host(batch_loss)  # the step's one wait for the device
        for i in np.flatnonzero(~finite):
            cause = divergence_cause(grads[i], self._states[i], self._weights[i])
            self._mark_diverged(int(i), self._step, cause)
        buffers = [state.buffer for state in self._states]
        inputs = StepInputs(grads, stepped, losses, buffers, signal, factors)
        self._record_step(inputs, from_eval, check)
        self._check_losses()
        if self._step % self._config.run.eval_every == 0:
            self._evaluate(check=check)

    def _take_signal(self) -> tuple[Tensor | None, Tensor | None]:
        """The noiseless gradient at the current W, if it is free (cached or cheap)."""
        cached, self._signal_cache = self._signal_cache, None
        if cached is not None:
            return cached
        if self._task.cheap_signal:
            at_zero = self._step == 0
            return self._task.signal_gradients(self._weights, at_zero, self._thresholded_lanes()), None
        return None, None

    def _mark_diverged(self, index: int, step: int, what: str) -> None:
        """Freeze a lane whose W, optimizer state or loss is non-finite; its last finite W is kept."""
        lane = replace(self._lanes[index], diverged=True, diverged_step=step, diverged_cause=what)
        self._lanes[index] = lane
        text = f"lane {index} diverged ({lane.label})"  # a caption's line: the lane says what, in full
        self._record.note(Event(step, f"lanes[{index}].diverged", False, True, text))

    def _check_losses(self) -> None:
        """A lane whose minibatch loss is not finite has diverged even if W still is."""
        if not self._task.has_batch_loss:
            return
        for i in np.flatnonzero(~np.isfinite(self._lanes_batch_loss())):
            if not self._lanes[i].diverged:
                self._mark_diverged(int(i), self._step, "its loss is not finite")

    def _lanes_batch_loss(self) -> np.ndarray:
        return np.array([lane.batch_loss for lane in self._lanes], dtype=np.float64)

    def _record_step(
        self,
        inputs: StepInputs,
        from_eval: bool,
        check: Check = None,
    ) -> None:
        """Per-step metrics (see :mod:`step_metrics` for which, and when) into every lane."""
        run = self._config.run
        with_spectra = self._step % run.spectra_every == 0 and (
            self._spectra_gate is None or self._spectra_gate(self._step)
        )
        pair_signal = from_eval and not self._task.exact_gradients
        started = time.perf_counter()
        per_lane = step_metric_fields(
            inputs,
            step=self._step,
            rank=run.signal_rank or self._task.signal_rank,
            with_spectra=with_spectra,
            pair_signal=pair_signal,
            gradient_scales=[
                OPTIMIZERS[lane.optimizer].gradient_average_scale(lane) for lane in self._config.lanes
            ],
            frozen=[lane.diverged for lane in self._lanes],  # marked before: they took no step
            check=check,
        )
        if with_spectra or (pair_signal and inputs.signal is not None):
            self._last_spectra_s = time.perf_counter() - started
        self._lanes = [replace(lane, **fields) for lane, fields in zip(self._lanes, per_lane, strict=True)]

    def _evaluate(self, with_signal: bool = True, check: Check = None) -> None:
        """Population metrics of the current W; keeps the signal gradient for the next step."""
        at_zero = self._step == 0
        evaluation, signal = self._task.evaluate(
            self._weights, with_signal, at_zero, check, self._thresholded_lanes()
        )
        loss = None
        if evaluation is not None:
            per_lane = evaluation_fields(evaluation, self._step)
            self._lanes = [
                replace(lane, **fields) for lane, fields in zip(self._lanes, per_lane, strict=True)
            ]
            for i in np.flatnonzero(~np.isfinite(evaluation.loss)):
                if not self._lanes[i].diverged:
                    self._mark_diverged(int(i), self._step, "its population loss is not finite")
            loss = torch.as_tensor(evaluation.loss)
        if not self._task.cheap_signal and signal is not None:
            self._signal_cache = (signal, loss)
        # a task with nothing to evaluate (a gradient stream) leaves eval_step alone: stamped, its
        # lanes' item counts, never computed, read as 0 items recovered in the metrics table
