"""Polar (orthogonalising) maps: the nonlinearity at the heart of Muon.

Three ways to send X = U S Vᵀ towards U Vᵀ (SCIENCE.md §3):

* :func:`polar_exact` — the exact factor from an SVD, "spectral gradient descent" of the theory.
* :func:`newton_schulz` — Keller Jordan's quintic iteration, what practical Muon runs.
* :func:`polar_regularized` — h_λ(X) = X(XᵀX + λ²I)^{-1/2}, the map Kim et al. analyse.

All are pure functions of a 2-D tensor (or a batch of them, leading dimensions first).
"""

from __future__ import annotations

from functools import partial

import torch
from torch import Tensor

from muonscope.engine.cpu_batches import across_cores

__all__ = [
    "FROBENIUS_ROUND_OFFS",
    "KELLER_COEFFICIENTS",
    "by_largest",
    "frobenius_norm",
    "newton_schulz",
    "polar_exact",
    "polar_regularized",
    "rank_floor",
    "safe_svd",
    "svd_polar",
]

#: (a, b, c) of Keller Jordan's quintic, chosen to maximise the slope at zero (≈ a⁵ after five
#: steps) rather than to converge: outputs land roughly in (0.7, 1.2), not at exactly 1.
KELLER_COEFFICIENTS = (3.4445, -4.7750, 2.0315)
_NS_EPS = 1e-7


def safe_svd(x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """Thin SVD that survives LAPACK's occasional non-convergence on nearly singular input.

    The default divide-and-conquer driver has failed on tiny, nearly converged gradients; on
    failure we retry with the QR-based driver on CUDA, or from the eigen-decomposition of XᵀX on
    CPU (which loses half the digits of the smallest singular values, harmless for a polar factor
    whose tiny singular values are dropped anyway). A stack's matrices are decomposed side by side
    on torch's threads, each bit for bit as in one batched call (``cpu_batches``).
    """
    try:
        return across_cores(partial(torch.linalg.svd, full_matrices=False), x)
    except torch.linalg.LinAlgError:
        if x.is_cuda:
            return torch.linalg.svd(x, full_matrices=False, driver="gesvd")
        return _svd_from_gram(x)


def _svd_from_gram(x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """SVD of a tall or wide X through eigh(XᵀX): the fallback path of :func:`safe_svd`."""
    wide = x.shape[-2] < x.shape[-1]
    a = x.mT if wide else x  # (..., m, n) with m >= n
    eigvals, v = torch.linalg.eigh(a.mT @ a)  # ascending
    s = eigvals.clamp_min(0).sqrt().flip(-1)  # (..., n) descending
    v = v.flip(-1)
    u = (a @ v) / torch.where(s > 0, s, torch.ones_like(s)).unsqueeze(-2)
    return (v, s, u.mT) if wide else (u, s, v.mT)


def by_largest(x: Tensor, dims: tuple[int, ...]) -> tuple[Tensor, Tensor]:
    """(X / its largest |entry| over ``dims``, that largest entry), kept with size 1 in ``dims``; an
    all-zero X is divided by 1. Sums of squares and products of the quotient cannot overflow or
    underflow in X's dtype where those of X did (float32 squares 10²⁰ to inf and 10⁻²⁵ to 0)."""
    largest = x.abs().amax(dim=dims, keepdim=True)
    return x / torch.where(largest > 0, largest, torch.ones_like(largest)), largest


def frobenius_norm(x: Tensor) -> Tensor:
    """‖X‖_F over the last two dims, kept as (..., 1, 1), without overflow or underflow in X's dtype
    (see :func:`by_largest`): in float32 a gradient of 10²⁰ had norm inf and one of 10⁻²⁵ norm 0,
    and NGD and Newton–Schulz then stepped by 0, unflagged."""
    unit, largest = by_largest(x, (-2, -1))  # (..., r, c), (..., 1, 1)
    return largest * torch.linalg.matrix_norm(unit, keepdim=True)


def relative_floor(dtype: torch.dtype) -> float:
    """max(1e-12, eps): the fraction of σ₁ below which a singular value is round-off (see rank_floor)."""
    return max(1e-12, torch.finfo(dtype).eps)


#: Round-offs of ‖X‖_F below which a singular value of X cannot be told from X's own rounding: an
#: error matrix of spectral norm up to about eps·‖X‖_F comes with every operation that made X (a
#: buffer accumulates a few). See :func:`rank_floor`.
FROBENIUS_ROUND_OFFS = 2


def rank_floor(s: Tensor) -> Tensor:
    """Singular values at or below this are numerically zero: the larger of max(1e-12, eps)·σ₁ and
    FROBENIUS_ROUND_OFFS·eps·‖X‖_F (SCIENCE.md §3 drops zero singular values; this says which are).

    Not the worst-case bound n·eps·σ₁ that matrix-rank routines use: gradients of power-law memories
    are graded, and their SVD resolves real tail directions far below it (in float32, n·eps at
    d = 256 dropped a third of the directions Muon stores items in). Their ‖X‖_F is near σ₁, so the
    floor stays near one round-off of σ₁. What must go is round-off in structurally null
    directions, which grows with ‖X‖_F: a flat spectrum (the two-level task, a minibatch of few
    items) has ‖X‖_F up to √rank·σ₁, and in float32 its momentum buffer's null direction reached
    3.5·eps·σ₁, which the map made a unit step in a direction the gradient lacks. In float64 the
    1e-12 term decides, as it always did (‖X‖_F ≤ √d·σ₁ keeps the other below it).
    """
    unit, largest = by_largest(s, (-1,))  # (..., k), (..., 1): σ₁ and no σ² to overflow
    frobenius = largest * torch.linalg.vector_norm(unit, dim=-1, keepdim=True)
    eps = torch.finfo(s.dtype).eps
    return torch.maximum(largest * relative_floor(s.dtype), FROBENIUS_ROUND_OFFS * eps * frobenius)


def polar_exact(x: Tensor) -> Tensor:
    """msgn(X) = U_r V_rᵀ over the nonzero singular values; 0 for an all-zero X.

    Dropping numerically zero singular values keeps the map well defined on rank-deficient
    gradients (the two-level task's gradient at W = 0 has rank K − 1) instead of amplifying
    round-off directions to unit size.
    """
    return svd_polar(x, 0.0)[0]


def polar_regularized(x: Tensor, lam: float) -> Tensor:
    """h_λ(X) = X(XᵀX + λ²I)^{-1/2} = U diag(σ/√(σ²+λ²)) Vᵀ (Kim et al.'s regularised Muon).

    λ is in the gradient's own units: singular values well above λ map to ≈1, those well below
    are shrunk in proportion (σ/λ), so λ sets which tail directions are whitened. λ = 0 is the
    exact polar factor.
    """
    return svd_polar(x, lam)[0]


def svd_polar(x: Tensor, lam: float) -> tuple[Tensor, Tensor, Tensor]:
    """(h_λ(X), σ(X), σ(h_λ(X))): the map and both spectra, from the one SVD it costs.

    The spectra come for free with the map, so a Muon lane's input and update need no SVD of their
    own when the panels show them. Both are descending; λ = 0 is the exact polar factor, whose
    singular values are 1 over the kept directions and 0 below the rank floor.
    """
    u, s, vh = safe_svd(x)  # (..., m, k), (..., k), (..., k, n)
    if lam == 0:
        gain = (s > rank_floor(s)).to(x.dtype)  # (..., k)
    else:
        # √(σ² + λ²) as a hypotenuse: σ² overflowed float32 at σ ≈ 10¹⁹ (a gain of 0) and σ², λ²
        # both underflowed at 10⁻³⁰ (0/0)
        gain = s / torch.hypot(s, torch.full_like(s, lam))
    return (u * gain.unsqueeze(-2)) @ vh, s, gain


def _fused_matmul_add(base: Tensor, left: Tensor, right: Tensor, beta: float, alpha: float) -> Tensor:
    """beta·base + alpha·left@right in one kernel, rounding once as the reference Muon does."""
    if base.dim() == 2:
        return torch.addmm(base, left, right, beta=beta, alpha=alpha)
    if base.dim() == 3:
        return torch.baddbmm(base, left, right, beta=beta, alpha=alpha)
    return beta * base + alpha * (left @ right)


def newton_schulz(
    x: Tensor,
    steps: int = 5,
    coefficients: tuple[float, float, float] = KELLER_COEFFICIENTS,
    dtype: torch.dtype | None = None,
) -> Tensor:
    """Keller Jordan's quintic Newton–Schulz iteration, returned in the input's dtype.

    X is scaled by its Frobenius norm (so the spectral norm is at most 1), transposed to be wide,
    then iterated k times: A = XXᵀ, X ← aX + (bA + cA²)X. ``dtype`` is the working precision
    (Keller and ``torch.optim.Muon`` use bfloat16; on CPUs bfloat16 matmuls are slow, so the
    engine defaults to the run's precision).
    """
    a, b, c = coefficients
    work = x.to(dtype) if dtype is not None else x
    tall = work.shape[-2] > work.shape[-1]
    if tall:
        work = work.mT
    work = work / (frobenius_norm(work) + _NS_EPS)
    for _ in range(steps):
        gram = work @ work.mT  # (..., m, m) with m <= n
        poly = _fused_matmul_add(gram, gram, gram, beta=b, alpha=c)  # bA + cA²
        work = _fused_matmul_add(work, poly, work, beta=a, alpha=1.0)  # aX + (bA + cA²)X
    if tall:
        work = work.mT
    return work.to(x.dtype)
