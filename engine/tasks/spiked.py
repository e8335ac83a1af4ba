"""Li et al.'s gradient stream: a fixed low-rank signal plus ARCH(1) noise, no model behind it.

G_t = G_sig + Ξ_t with G_sig = U diag(strengths) Vᵀ (Haar U, V from ``signal_seed``) and
elementwise ARCH(1) noise h_t = (1−a)σ² + aΞ_{t−1}², Ξ_t = √h_t ⊙ Z_t (SCIENCE.md §6; the ARCH form
is a reconstruction that matches the authors' widget to about 2%). Lanes still accumulate
W ← W − lr·D so that every spectrum panel has something to show, but the stream ignores W.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import Tensor

from muonscope.engine.config import TaskConfig
from muonscope.engine.tasks.base import Task
from muonscope.engine.tasks.embeddings import haar_orthonormal

__all__ = ["SpikedTask", "spiked_signal"]


def spiked_signal(rows: int, cols: int, strengths: tuple[float, ...], seed: int) -> Tensor:
    """G_sig = U diag(s) Vᵀ with independent Haar-random orthonormal U (rows×r) and V (cols×r)."""
    gen = torch.Generator().manual_seed(seed)
    rank = len(strengths)
    left = haar_orthonormal(rank, rows, gen).T  # (rows, r)
    right = haar_orthonormal(rank, cols, gen).T  # (cols, r)
    s = torch.tensor(strengths, dtype=torch.float64)
    return (left * s) @ right.T  # (rows, cols)


class SpikedTask(Task):
    """The signal-plus-noise stream of one trial (``seed``) around one signal (``signal_seed``)."""

    group_starts = np.zeros(0, dtype=np.int64)

    def __init__(self, cfg: TaskConfig, device: torch.device, dtype: torch.dtype) -> None:
        self.signal = spiked_signal(cfg.rows, cfg.cols, cfg.strengths, cfg.signal_seed).to(device, dtype)
        self.weight_shape = cfg.weight_shape
        self.noise = cfg.noise
        self.arch = cfg.arch
        self._rank = len(cfg.strengths)
        self._gen = torch.Generator().manual_seed(cfg.seed)
        self._previous: Tensor | None = None  # Ξ_{t−1} on the CPU, float64

    @property
    def exact_gradients(self) -> bool:
        return False

    @property
    def cheap_signal(self) -> bool:
        return True

    @property
    def signal_rank(self) -> int:
        return self._rank

    def set_live(self, name: str, value: Any) -> None:
        if name == "noise":
            self.noise = value
        elif name == "arch":
            self.arch = value
        else:
            raise KeyError(name)

    @property
    def has_batch_loss(self) -> bool:
        return False  # a stream without a model has no loss

    def random_state(self) -> dict[str, Tensor]:
        """The noise generator and Ξ_{t−1}, which the ARCH variance of the next draw reads."""
        state = {"noise_generator": self._gen.get_state()}
        if self._previous is not None:
            state["previous_noise"] = self._previous.clone()
        return state

    def set_random_state(self, state: dict[str, Tensor]) -> None:
        self._gen.set_state(state["noise_generator"])
        previous = state.get("previous_noise")
        self._previous = None if previous is None else previous.clone()

    def next_noise(self) -> Tensor:
        """Ξ_t (rows, cols): ARCH(1), started at its stationary variance σ²."""
        z = torch.randn(self.weight_shape, generator=self._gen, dtype=torch.float64)
        sigma2 = self.noise**2
        if self._previous is None:
            variance = torch.full_like(z, sigma2)
        else:
            variance = (1.0 - self.arch) * sigma2 + self.arch * self._previous.square()
        self._previous = variance.sqrt() * z
        return self._previous

    def draw_gradients(
        self,
        weights: Tensor,
        at_zero: bool | None = None,
        check: Callable[[], None] | None = None,
        thresholded: Tensor | None = None,
    ) -> tuple[Tensor, Tensor]:
        g = self.signal + self.next_noise().to(self.signal.device, self.signal.dtype)  # (r, c)
        lanes = weights.shape[0]
        nan = torch.full((lanes,), float("nan"), dtype=weights.dtype, device=weights.device)
        return g.expand(lanes, -1, -1).clone(), nan

    def signal_gradients(
        self, weights: Tensor, at_zero: bool | None = None, thresholded: Tensor | None = None
    ) -> Tensor:
        return self.signal.expand(weights.shape[0], -1, -1)

    def evaluate(
        self,
        weights: Tensor,
        with_signal: bool = True,
        at_zero: bool | None = None,
        check: Callable[[], None] | None = None,
        thresholded: Tensor | None = None,
    ) -> tuple[None, Tensor | None]:
        return None, self.signal_gradients(weights) if with_signal else None
