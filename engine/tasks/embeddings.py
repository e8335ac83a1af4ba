"""Embedding families for the memory tasks; one row per item, shape (n_items, d).

All are drawn on the CPU in float64 from the task's own generator, so the same seed gives the same
embeddings on every device; callers move them to the run's device and precision afterwards.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

__all__ = [
    "anisotropic_gaussian",
    "block_hadamard",
    "gaussian",
    "haar_orthonormal",
    "identity",
    "make_embeddings",
]


def gaussian(n_items: int, d: int, gen: torch.Generator) -> Tensor:
    """Rows e_i ~ N(0, I/d), so ‖e_i‖ ≈ 1 and ⟨e_i, e_j⟩ ~ 1/√d (Kim et al.)."""
    return torch.randn(n_items, d, generator=gen, dtype=torch.float64) / math.sqrt(d)  # (N, d)


def haar_orthonormal(n_items: int, d: int, gen: torch.Generator) -> Tensor:
    """n_items orthonormal rows drawn uniformly (Haar) from the Stiefel manifold, n_items <= d."""
    z = torch.randn(d, n_items, generator=gen, dtype=torch.float64)  # (d, N)
    q, r = torch.linalg.qr(z)  # q: (d, N)
    q = q * torch.sign(torch.diagonal(r)).unsqueeze(0)  # sign fix makes the law exactly Haar
    return q.T.contiguous()  # (N, d)


def identity(n_items: int, d: int) -> Tensor:
    """The first n_items standard basis vectors: coordinate-aligned (SignGD's best case)."""
    return torch.eye(n_items, d, dtype=torch.float64)  # (N, d)


def block_hadamard(n_items: int, d: int) -> Tensor:
    """Rows of blockdiag(H₂/√2, H₂/√2, …): orthonormal, but each item spreads over two coordinates."""
    h2 = torch.tensor([[1.0, 1.0], [1.0, -1.0]], dtype=torch.float64) / math.sqrt(2.0)
    full = torch.block_diag(*([h2] * (d // 2)))  # (d, d)
    return full[:n_items].contiguous()  # (N, d)


def anisotropic_gaussian(n_items: int, d: int, kappa: float, gen: torch.Generator) -> Tensor:
    """Rows e_i ~ N(0, Σ) with Σ = diag(λ_k), λ_k ∝ k^-κ and tr Σ = 1 (so E‖e_i‖² = 1 still).

    κ = 0 is the isotropic N(0, I/d); larger κ concentrates the inputs on fewer directions
    (the anisotropy of Kim et al.'s Fig. 6; its exact parametrisation is unverified).
    """
    variances = torch.arange(1, d + 1, dtype=torch.float64) ** -kappa
    variances /= variances.sum()
    return torch.randn(n_items, d, generator=gen, dtype=torch.float64) * variances.sqrt()  # (N, d)


def make_embeddings(
    family: str, n_items: int, d: int, gen: torch.Generator, anisotropy: float = 0.0
) -> tuple[Tensor, Tensor]:
    """Input and output embeddings (E, U) of one family; random families draw them independently.

    ``anisotropy`` κ > 0 makes the Gaussian *inputs* anisotropic; the outputs stay isotropic.
    """
    if family == "gaussian":
        inputs = (
            anisotropic_gaussian(n_items, d, anisotropy, gen) if anisotropy else gaussian(n_items, d, gen)
        )
        return inputs, gaussian(n_items, d, gen)
    if family == "orthogonal":
        return haar_orthonormal(n_items, d, gen), haar_orthonormal(n_items, d, gen)
    if family == "identity":
        return identity(n_items, d), identity(n_items, d)
    if family == "hadamard":
        return block_hadamard(n_items, d), block_hadamard(n_items, d)
    raise ValueError(f"unknown embedding family {family!r}")
