"""What the experiment needs from a task, whatever produces its gradients."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from torch import Tensor

__all__ = ["Evaluation", "Task"]


@dataclass(frozen=True, slots=True)
class Evaluation:
    """Population metrics of L lanes at one W, already on the CPU as numpy.

    Exact when every item was evaluated (``sampled_items`` 0). Otherwise a seeded stratified
    sample of ``sampled_items`` items was evaluated, each exactly over all N outputs, and the
    population values are unbiased estimates with standard errors (the ``*_se`` fields; None when
    exact). Per-item arrays are NaN at the items that were not evaluated: nothing is known there.
    ``recovered_prefix`` is then the first failing rank among the evaluated items (exact while the
    head strata before it were evaluated in full, else an upper bound) and ``balance_gap`` the
    spread over the evaluated items (a lower bound of the population's).
    """

    loss: np.ndarray  # (L,) population loss L(W)
    excess_loss: np.ndarray  # (L,) L(W) − L*
    accuracy: np.ndarray  # (L,) Σ_i p_i 1[item i recovered]
    recovered: np.ndarray  # (L,) float: number of recovered items
    recovered_prefix: np.ndarray  # (L,) int: first frequency rank that fails
    class_error: np.ndarray  # (L, N): 1 − p̂(i | i), items in frequency-rank order; NaN: not evaluated
    item_recovered: np.ndarray  # (L, N) float: 1 recovered, 0 not, NaN not evaluated
    group_loss: np.ndarray  # (L, groups): mean sub-task loss L_j within each frequency group
    group_error: np.ndarray  # (L, groups): mean of 1 − p̂(i | i) within each frequency group
    balance_gap: np.ndarray  # (L,) Δ(W) = max_k p̂(k|k) − min_k p̂(k|k)
    sampled_items: int = 0  # items evaluated when the population was sampled; 0: every item
    loss_se: np.ndarray | None = None  # (L,) standard errors of the estimates
    accuracy_se: np.ndarray | None = None  # (L,)
    recovered_se: np.ndarray | None = None  # (L,)
    group_loss_se: np.ndarray | None = None  # (L, groups)

    @property
    def estimated(self) -> bool:
        """True when the population values are estimates from a sample of items."""
        return self.sampled_items > 0


class Task(ABC):
    """A source of gradients for a stack of L weight matrices (lanes)."""

    #: Shape of one lane's W.
    weight_shape: tuple[int, int]
    #: Start rank of each frequency group (empty when the task has no items).
    group_starts: np.ndarray
    #: The gradients the last ``draw_gradients`` returned, as thin factors (left (L, m, r), right
    #: (m, c), G_l = left[l]ᵀ @ right) when they have rank m below their size; None otherwise.
    last_gradient_factors: tuple[Tensor, Tensor] | None = None

    @property
    @abstractmethod
    def exact_gradients(self) -> bool:
        """True when every step uses the population gradient (no minibatch noise)."""

    @property
    @abstractmethod
    def cheap_signal(self) -> bool:
        """True when the noiseless signal gradient costs nothing (no population pass needed)."""

    @abstractmethod
    def draw_gradients(
        self,
        weights: Tensor,
        at_zero: bool | None = None,
        check: Callable[[], None] | None = None,
        thresholded: Tensor | None = None,
    ) -> tuple[Tensor, Tensor]:
        """Advance the data stream one step: (G (L, r, c), minibatch loss (L,)).

        ``at_zero`` says whether every W is 0 when the caller knows (None: look), so that a task
        with a closed form there need not wait for the device to find out. A long pass calls
        ``check`` between its blocks (it raises to abandon the step; the caller restores the stream).
        ``thresholded`` ((L,) bool, or None for none): the lanes whose gradients leave out the items
        they already recover (a config gives it only to tasks with items).
        """

    @abstractmethod
    def signal_gradients(
        self, weights: Tensor, at_zero: bool | None = None, thresholded: Tensor | None = None
    ) -> Tensor:
        """The noiseless gradient at each lane's W (L, r, c): the population gradient or G_sig."""

    @abstractmethod
    def evaluate(
        self,
        weights: Tensor,
        with_signal: bool = True,
        at_zero: bool | None = None,
        check: Callable[[], None] | None = None,
        thresholded: Tensor | None = None,
    ) -> tuple[Evaluation | None, Tensor | None]:
        """Population metrics at W (None when the task has none) and, if asked, the signal gradients.

        The signal may be None even when asked for: a task that estimated its metrics from a sample
        has not computed the population gradient, and computing it would cost the full pass the
        sample avoided. A ``thresholded`` lane's signal is its population gradient without the
        items it recovers: the gradient its exact-gradient steps take.
        """

    @abstractmethod
    def set_live(self, name: str, value: Any) -> None:
        """Change a live field (label noise, batch size, noise level) between steps."""

    @abstractmethod
    def random_state(self) -> dict[str, Tensor]:
        """Everything random the stream has consumed so far, as CPU tensors (for checkpoints).

        Restoring it with :meth:`set_random_state` makes the next draws bit-identical to the ones
        the stream would have made from here.
        """

    @abstractmethod
    def set_random_state(self, state: dict[str, Tensor]) -> None:
        """Put the stream back where :meth:`random_state` was taken."""

    @property
    def has_batch_loss(self) -> bool:
        """True when ``draw_gradients`` reports a real minibatch loss (a NaN there means divergence)."""
        return True

    @property
    def bases(self) -> tuple[Tensor, Tensor] | None:
        """(answers (N, d) rows ẽ_k, queries (N, d) rows e_i) of a memory task; None without classes."""
        return None

    @property
    def geometry(self) -> Any:
        """The task's bases for oracle rules (None for tasks without them)."""
        return None

    @property
    def signal_rank(self) -> int:
        """Rank r used for gaps and subspaces when the run does not set one."""
        return 10
