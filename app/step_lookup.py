"""Which snapshot the window shows for a step: one the run delivered, or one recomputed for the view.

The run delivers a snapshot per step, but the window keeps only a thinned set of them, keeps none
from before an open or a jump, and a playing run computes spectra only as often as frames are
drawn, so most delivered steps carry an earlier step's spectra. A step the view stands on without
a snapshot of its own (with its own spectra) is recomputed by the engine (a replay from the nearest
checkpoint) and kept here, beside the delivered ones, until the run's history changes.
"""

from __future__ import annotations

from collections import OrderedDict

from muonscope.engine.history import SnapshotStore
from muonscope.engine.snapshot import Snapshot

__all__ = [
    "RECALLED_LIMIT",
    "StepLookup",
    "evaluated_step",
    "spectra_are_current",
    "spectra_steps",
    "view_notes",
]

#: Recomputed snapshots kept (the most recently used): scrubbing goes back and forth near where it
#: is. One holds every lane's per-class errors and spectra, about 150 kB on the default preset.
RECALLED_LIMIT = 64


def spectra_steps(snapshot: Snapshot) -> tuple[int, ...]:
    """The steps the lanes' spectra were computed at, ascending (none before any was)."""
    return tuple(sorted({lane.spectra_step for lane in snapshot.lanes if lane.spectra_step >= 0}))


def evaluated_step(snapshot: Snapshot) -> int:
    """The step of the population evaluation whose per-class errors ``snapshot`` holds (every
    run.eval_every steps: at step 15 they are step 10's); its own step where none was evaluated."""
    steps = [lane.eval_step for lane in snapshot.lanes if lane.eval_step >= 0]
    return max(steps) if steps else snapshot.step


def spectra_are_current(snapshot: Snapshot) -> bool:
    """Whether every lane's spectra are of the last step of the spectra cadence at the snapshot's step."""
    every = snapshot.config.run.spectra_every
    due = snapshot.step - snapshot.step % every
    return due == 0 or all(lane.spectra_step >= due for lane in snapshot.lanes)


class StepLookup:
    """The delivered snapshots (``store``) and the recomputed ones, looked up by step."""

    def __init__(self, store: SnapshotStore, limit: int = RECALLED_LIMIT) -> None:
        self._store = store
        self._limit = limit
        self._recalled: OrderedDict[int, Snapshot] = OrderedDict()

    def __len__(self) -> int:
        """Recomputed snapshots held."""
        return len(self._recalled)

    def exact(self, step: int) -> Snapshot | None:
        """The snapshot of ``step`` itself: recomputed (it has every spectrum), else delivered."""
        recalled = self._recalled.get(step)
        if recalled is not None:
            self._recalled.move_to_end(step)
            return recalled
        delivered = self._store.at_or_before(step)
        return delivered if delivered is not None and delivered.step == step else None

    def nearest(self, step: int) -> Snapshot | None:
        """The snapshot of the latest step at or before ``step`` that is on hand."""
        delivered = self._store.at_or_before(step)
        earlier = [s for s in self._recalled if s <= step]
        recalled = self._recalled[max(earlier)] if earlier else None
        if delivered is None or (recalled is not None and recalled.step >= delivered.step):
            return recalled
        return delivered

    def wants_recall(self, step: int) -> bool:
        """True when the view at ``step`` lacks a snapshot of that step with its own spectra."""
        if step in self._recalled:
            return False
        found = self.exact(step)
        return found is None or not spectra_are_current(found)

    def add(self, snapshot: Snapshot) -> None:
        """Keep a recomputed snapshot (the least recently used goes when the limit is reached)."""
        self._recalled[snapshot.step] = snapshot
        self._recalled.move_to_end(snapshot.step)
        while len(self._recalled) > self._limit:
            self._recalled.popitem(last=False)

    def forget(self, step: int) -> None:
        """Drop the recomputed snapshot of ``step`` (settings changed there after it was made)."""
        self._recalled.pop(step, None)

    def clear(self) -> None:
        """Drop every recomputed snapshot (the run's history changed: a jump, a fork, an open, a reset)."""
        self._recalled.clear()


def view_notes(shown: Snapshot, view_step: int, recalling: bool) -> tuple[str, str]:
    """What panels ① and ③ say about the step they draw, when it is not the step the view is at.

    ``shown`` is the snapshot drawn for the view's step ``view_step``: the step's own, or while it is
    being recomputed (``recalling``) the nearest one on hand. Returns (spectra note, errors note);
    "" where the panel shows the view's step.
    """
    computing = f"computing step {view_step}…" if recalling else ""
    steps = spectra_steps(shown)
    if steps and steps != (view_step,):
        spectra = "spectra of step" + ("s " if len(steps) > 1 else " ") + ", ".join(map(str, steps))
    else:
        spectra = "" if shown.step == view_step or not computing else "no spectra on hand"
    evaluated = evaluated_step(shown)
    errors = f"errors as at step {evaluated}" if evaluated != view_step else ""
    return _joined(spectra, computing), _joined(errors, computing if errors else "")


def _joined(*parts: str) -> str:
    return " · ".join(part for part in parts if part)
