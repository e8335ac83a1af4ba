"""Checkpoints of a run and the store that keeps them within a memory budget.

A checkpoint is the engine's whole state at a step boundary, taken *before* the changes made at that
boundary: every lane's W and optimizer state, the task's random state, the configuration in force,
the lanes' latest metrics and the changes applied so far. Restoring one and replaying the recorded
changes reproduces the run bit for bit on the same device and dtype.

The store keeps checkpoints on a grid of steps that coarsens as the run grows: whenever the
checkpoints would exceed the budget (or their count :data:`MAX_CHECKPOINTS`), the grid's spacing
doubles and every checkpoint off the new grid is dropped. Memory is then a setting, not a function
of run length, and any step of the run stays reachable by replaying at most one spacing's worth of
steps from the nearest checkpoint before it.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import torch
    from torch import Tensor

    from muonscope.engine.changes import Change
    from muonscope.engine.config import ExperimentConfig
    from muonscope.engine.optim.rules import LaneState
    from muonscope.engine.snapshot import Event, LaneSnapshot

__all__ = ["MAX_CHECKPOINTS", "Checkpoint", "CheckpointStore", "LaneStateCopy", "snapshot_nbytes"]

#: The most checkpoints one line of steps keeps, whatever the budget. A small memory's checkpoints
#: (11 KB at d = 16) fit 256 MiB at every step: 20,000 steps made a 240 MB session file whose index
#: took a minute's worth of JSON, to spare replays that cost milliseconds. Large memories reach the
#: byte budget long before this count.
MAX_CHECKPOINTS = 1024


@dataclass(frozen=True, slots=True)
class LaneStateCopy:
    """One lane's optimizer state, copied: momentum buffer M (Adam: m), second moment v, Adam's t."""

    buffer: Tensor | None
    second_moment: Tensor | None
    steps_taken: int

    @classmethod
    def of(cls, state: LaneState) -> LaneStateCopy:
        """A private copy of a live lane's state (later steps do not reach it)."""
        return cls(_private(state.buffer), _private(state.second_moment), state.steps_taken)

    def put_into(self, state: LaneState, device: torch.device, dtype: torch.dtype) -> LaneState:
        """``state`` (fresh) holding a private copy of this one, on ``device`` in ``dtype``."""
        state.buffer = _private(self.buffer, device, dtype)
        state.second_moment = _private(self.second_moment, device, dtype)
        state.steps_taken = self.steps_taken
        return state


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """The engine after ``step`` steps, before the changes made at this boundary."""

    step: int
    config: ExperimentConfig
    weights: Tensor  # (L, r, c), a private copy
    lane_states: tuple[LaneStateCopy, ...]
    task_state: dict[str, Tensor]
    lanes: tuple[LaneSnapshot, ...]
    events: tuple[Event, ...]
    changes: tuple[tuple[int, Change], ...]  # (step, change) applied before this boundary
    next_lane_id: int

    @property
    def nbytes(self) -> int:
        """Memory the checkpoint holds: its tensors and the arrays of its lane metrics."""
        tensors = [self.weights, *self.task_state.values()]
        for state in self.lane_states:
            tensors += [t for t in (state.buffer, state.second_moment) if t is not None]
        held = sum(t.element_size() * t.nelement() for t in tensors)
        return held + sum(snapshot_nbytes(lane) for lane in self.lanes)


def _private(
    tensor: Tensor | None, device: torch.device | None = None, dtype: torch.dtype | None = None
) -> Tensor | None:
    """A private copy of an optional tensor (moved to ``device``/``dtype`` when given)."""
    if tensor is None:
        return None
    return tensor.to(device or tensor.device, dtype or tensor.dtype).clone()


def snapshot_nbytes(value: Any) -> int:
    """Bytes of the numpy arrays inside a (nested) snapshot dataclass."""
    if isinstance(value, np.ndarray):
        return value.nbytes
    slots = getattr(type(value), "__slots__", ())
    return sum(snapshot_nbytes(getattr(value, name)) for name in slots)


def same_state(a: Checkpoint, b: Checkpoint) -> bool:
    """Whether two checkpoints hold one state: step, settings, changes, weights, optimizer and task
    state (their metrics may differ: one taken after a population evaluation holds it)."""
    if (a.step, a.config, a.changes, a.next_lane_id) != (b.step, b.config, b.changes, b.next_lane_id):
        return False
    if a.task_state.keys() != b.task_state.keys() or len(a.lane_states) != len(b.lane_states):
        return False
    pairs = [(a.weights, b.weights), *((a.task_state[k], b.task_state[k]) for k in a.task_state)]
    for x, y in zip(a.lane_states, b.lane_states, strict=True):
        if x.steps_taken != y.steps_taken:
            return False
        pairs += [(x.buffer, y.buffer), (x.second_moment, y.second_moment)]
    return all(_same_tensor(x, y) for x, y in pairs)


def _same_tensor(x: Tensor | None, y: Tensor | None) -> bool:
    if x is None or y is None:
        return x is y
    return x.dtype == y.dtype and x.shape == y.shape and bool(x.equal(y))


class CheckpointStore:
    """Checkpoints of one line of steps, on a grid whose spacing doubles to stay within ``budget_bytes``
    and :data:`MAX_CHECKPOINTS`.

    The first checkpoint (the start of the line: step 0, or a fork's step) is always kept, so every
    later step can be reached by replay whatever the budget.
    """

    def __init__(self, budget_bytes: int, spacing: int = 1) -> None:
        self.budget_bytes = budget_bytes
        self.spacing = spacing
        self._steps: list[int] = []
        self._by_step: dict[int, Checkpoint] = {}
        self._bytes: dict[int, int] = {}  # each checkpoint's size, measured once

    def __len__(self) -> int:
        return len(self._steps)

    @property
    def steps(self) -> tuple[int, ...]:
        return tuple(self._steps)

    @property
    def nbytes(self) -> int:
        return sum(self._bytes.values())

    def wants(self, step: int) -> bool:
        """Whether a checkpoint at ``step`` would be kept (the first one, or on the grid, after the last)."""
        if not self._steps:
            return True
        return step > self._steps[-1] and step % self.spacing == 0

    def add(self, checkpoint: Checkpoint) -> None:
        """Keep ``checkpoint`` if :meth:`wants` it, then coarsen the grid until the budget holds."""
        if not self.wants(checkpoint.step):
            return
        self._steps.append(checkpoint.step)
        self._by_step[checkpoint.step] = checkpoint
        self._bytes[checkpoint.step] = checkpoint.nbytes
        self._fit_budget()

    def _fit_budget(self) -> None:
        while len(self._steps) > 1 and (self.nbytes > self.budget_bytes or len(self) > MAX_CHECKPOINTS):
            self.spacing *= 2
            first, *rest = self._steps
            kept = [first] + [s for s in rest if s % self.spacing == 0]
            if len(kept) == len(self._steps):  # already on the grid: give up the newest instead
                kept = kept[:-1]
            for step in set(self._steps) - set(kept):
                del self._by_step[step], self._bytes[step]
            self._steps = kept

    def set_budget(self, budget_bytes: int) -> None:
        self.budget_bytes = budget_bytes
        self._fit_budget()

    def at_or_before(self, step: int) -> Checkpoint | None:
        """The checkpoint nearest before (or at) ``step``."""
        index = bisect.bisect_right(self._steps, step) - 1
        return self._by_step[self._steps[index]] if index >= 0 else None

    def up_to(self, step: int) -> list[Checkpoint]:
        """The checkpoints at or before ``step``, oldest first (what a fork there inherits)."""
        return [self._by_step[s] for s in self._steps if s <= step]

    def truncate_after(self, step: int) -> None:
        """Forget checkpoints after ``step``."""
        for s in [s for s in self._steps if s > step]:
            del self._by_step[s], self._bytes[s]
        self._steps = [s for s in self._steps if s <= step]

    def replace(self, old: Checkpoint, new: Checkpoint) -> None:
        """Hold ``new`` where ``old`` is held (one state, taken twice: keep one object of it)."""
        if self._by_step.get(old.step) is old:
            self._by_step[old.step] = new
            self._bytes[old.step] = new.nbytes

    def all(self) -> list[Checkpoint]:
        return [self._by_step[s] for s in self._steps]
