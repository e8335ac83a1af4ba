"""The seeded minibatch stream shared by all lanes."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

__all__ = ["Batch", "BatchSampler"]


@dataclass(frozen=True, slots=True)
class Batch:
    """One minibatch on the CPU: drawn items (queries) and their possibly noisy labels."""

    items: Tensor  # (B,) long
    labels: Tensor  # (B,) long


class BatchSampler:
    """Draws i.i.d. items from p and replaces each label by a uniform one with probability ε.

    Every draw consumes the same random numbers whatever ε is, so changing the label noise mid-run
    changes which labels are flipped but never shifts the item stream: lanes and re-runs stay
    comparable. The generator lives on the CPU, so a seed means the same stream on every device.
    """

    def __init__(self, probs: np.ndarray, seed: int) -> None:
        cdf = np.cumsum(probs)
        self._cdf = torch.from_numpy(cdf / cdf[-1])  # (N,) float64, ends at exactly 1
        self._n_items = probs.shape[0]
        self._gen = torch.Generator().manual_seed(seed)

    @property
    def generator_state(self) -> Tensor:
        """The CPU generator's state (uint8), enough to replay the stream from here."""
        return self._gen.get_state()

    def set_generator_state(self, state: Tensor) -> None:
        self._gen.set_state(state)

    def draw(self, batch_size: int, label_noise: float) -> Batch:
        """The next minibatch of ``batch_size`` draws."""
        u_item = torch.rand(batch_size, generator=self._gen, dtype=torch.float64)
        u_flip = torch.rand(batch_size, generator=self._gen, dtype=torch.float64)
        random_labels = torch.randint(self._n_items, (batch_size,), generator=self._gen)
        items = torch.searchsorted(self._cdf, u_item, right=True).clamp_max_(self._n_items - 1)
        labels = torch.where(u_flip < label_noise, random_labels, items)
        return Batch(items, labels)
