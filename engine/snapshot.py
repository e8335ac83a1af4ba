"""The one message that crosses from the engine to anything that displays it.

Frozen dataclasses of plain scalars and read-only numpy arrays — never tensors, never Qt types —
so a snapshot can be handed to another thread, kept in a history, or serialised without copying
or locking. Each metric group carries the step at which it was computed, because the cadences
differ (spectra every few steps, population evaluation every ``run.eval_every``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from muonscope.engine.config import ExperimentConfig
from muonscope.engine.metrics import Isotropy

if TYPE_CHECKING:
    from muonscope.engine.lane_history import LaneHistory

__all__ = ["Event", "LaneSnapshot", "Snapshot", "Spectra", "frozen_array", "group_means"]

_NAN = float("nan")


def frozen_array(values: Any, dtype: Any = None) -> np.ndarray:
    """A private, read-only copy of ``values``."""
    array = np.array(values, dtype=dtype, copy=True)
    array.flags.writeable = False
    return array


def group_means(per_item: np.ndarray, group_starts: np.ndarray) -> np.ndarray:
    """Mean of a per-item quantity (N,) over each frequency group (G,), groups given by their first item."""
    sizes = np.diff(np.append(group_starts, per_item.size))  # (G,)
    return np.add.reduceat(np.asarray(per_item, dtype=float), group_starts) / sizes


def _empty() -> np.ndarray:
    return frozen_array([], dtype=np.float64)


@dataclass(frozen=True, slots=True)
class Spectra:
    """Descending singular values; empty where a matrix does not exist (no buffer, no signal yet)."""

    gradient: np.ndarray = field(default_factory=_empty)
    momentum: np.ndarray = field(default_factory=_empty)
    update: np.ndarray = field(default_factory=_empty)
    weights: np.ndarray = field(default_factory=_empty)


@dataclass(frozen=True, slots=True)
class Event:
    """A change that took effect at a step boundary: after ``step`` steps, ``field`` old → new."""

    step: int
    field: str
    old: Any
    new: Any
    text: str


@dataclass(frozen=True, slots=True)
class LaneSnapshot:
    """Latest metrics of one lane; ``*_step`` say when each group was last computed (−1: never)."""

    index: int  # position among the current lanes
    label: str
    optimizer: str
    order: str
    lr: float
    momentum: float
    buffer: str = ""  # the momentum buffer's convention, ema | sum; "" when the lane keeps none
    thresholded: bool = False  # its gradients leave out the items it recovers (Kim et al.)
    lane_id: int = 0  # stable identity: survives other lanes being added or removed
    diverged: bool = False
    diverged_step: int = -1  # the step whose update was not finite (−1: never)
    diverged_cause: str = ""  # what went non-finite there, in words ("" where it never diverged)
    batch_loss: float = _NAN
    # population evaluation of W at eval_step: exact, or estimated from a sample of eval_sampled_items
    # items with the standard errors *_se (0 when exact); per-item arrays are NaN where not evaluated
    eval_step: int = -1
    eval_sampled_items: int = 0  # 0: every item was evaluated
    loss: float = _NAN
    loss_se: float = _NAN
    excess_loss: float = _NAN
    accuracy: float = _NAN
    accuracy_se: float = _NAN
    recovered: int = 0  # the estimate rounded to an item when sampled
    recovered_se: float = _NAN
    recovered_prefix: int = 0
    class_error: np.ndarray = field(default_factory=_empty)
    item_recovered: np.ndarray = field(default_factory=_empty)  # 1, 0, or NaN: not evaluated
    group_loss: np.ndarray = field(default_factory=_empty)
    group_loss_se: np.ndarray = field(default_factory=_empty)
    group_error: np.ndarray = field(default_factory=_empty)  # mean 1 − p̂(correct) within each group
    balance_gap: float = _NAN  # Δ(W): spread of the correct-class probabilities
    # spectra of G, M, the update direction and W at spectra_step
    spectra_step: int = -1
    spectra: Spectra = field(default_factory=Spectra)
    gap_rank: int = 0
    gap: float = _NAN
    ratio_gap_rank: int = 0
    ratio_gap: float = _NAN
    filtering_ratio: np.ndarray = field(default_factory=_empty)
    tail_filtering: float = _NAN  # median of σ_k(M)/σ_k(G) over k > gap_rank: the noise kept
    weight_isotropy: Isotropy = field(default_factory=Isotropy.empty)
    update_isotropy: Isotropy = field(default_factory=Isotropy.empty)
    # agreement of the update with the noiseless signal gradient at signal_step
    signal_step: int = -1
    alignment: float = _NAN
    sin_theta: float = _NAN
    signal_spectrum: np.ndarray = field(default_factory=_empty)

    @property
    def eval_estimated(self) -> bool:
        """True when the population metrics are estimates from a sample of items."""
        return self.eval_sampled_items > 0


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The whole experiment after ``step`` steps, with the configuration in force.

    ``run_id`` changes whenever a run (re)starts from W = 0, so a receiver knows when its history
    of an earlier run no longer applies. ``newly_diverged`` and ``reached_run_length`` are what a
    player pauses on. ``lane_histories`` hold every lane's settings through the run (by lane id), so
    a lane's past can be named by the settings that drew it.
    """

    step: int
    lanes: tuple[LaneSnapshot, ...]
    events: tuple[Event, ...]
    config: ExperimentConfig
    device: str
    dtype: str
    run_id: int = 0
    group_starts: np.ndarray = field(default_factory=_empty)
    lane_histories: tuple[LaneHistory, ...] = ()

    @property
    def newly_diverged(self) -> tuple[LaneSnapshot, ...]:
        """Lanes whose update at this very step was not finite."""
        return tuple(lane for lane in self.lanes if lane.diverged_step == self.step)

    @property
    def reached_run_length(self) -> bool:
        """True at the step the run is set to last (``run.steps``); playing past it is allowed."""
        return self.step == self.config.run.steps
