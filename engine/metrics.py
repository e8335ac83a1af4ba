"""Spectral and isotropy metrics (SCIENCE.md §4), as pure functions.

Singular values are computed in float64 (it keeps the tail of a power-law spectrum readable), on
the CPU or on the run's GPU, whichever is faster for the matrices' size on this machine: a CPU SVD
wins for small matrices, a GPU one for large, and where the two cross depends on both chips, so it
is measured once per size (see :func:`spectra_placement`).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import torch
from torch import Tensor

from muonscope.engine.cpu_batches import across_cores
from muonscope.engine.optim.polar import FROBENIUS_ROUND_OFFS, by_largest, relative_floor, safe_svd

__all__ = [
    "ISOTROPY_FLOOR",
    "RATIO_GAP_FLOOR",
    "Isotropy",
    "MomentumWindow",
    "alignment",
    "filtering_ratio",
    "isotropy",
    "largest_ratio_gap",
    "momentum_window",
    "sin_theta",
    "singular_values",
    "spectra_placement",
    "spectral_gap",
]


def singular_values(matrices: Tensor) -> np.ndarray:
    """Descending singular values of a stack (..., r, c) → numpy (..., min(r, c))."""
    where = spectra_placement(matrices)
    work = matrices.detach().to(where, torch.float64)
    try:
        values = across_cores(torch.linalg.svdvals, work)
    except torch.linalg.LinAlgError:
        values = safe_svd(work.cpu())[1]
    return values.cpu().numpy()


#: (device, matrix shape) → where its spectra run, decided by timing both the first time.
_PLACEMENT: dict[tuple[str, tuple[int, ...]], torch.device] = {}


def spectra_placement(matrices: Tensor) -> torch.device:
    """The CPU, or the matrices' own GPU when a float64 SVD of this size is faster there.

    The first stack of a shape on a GPU is decomposed on both and timed (that result is kept);
    later stacks of the shape go wherever that was faster.
    """
    if matrices.device.type == "cpu":
        return matrices.device
    key = (str(matrices.device), tuple(matrices.shape[-2:]))
    if key not in _PLACEMENT:
        _PLACEMENT[key] = min((torch.device("cpu"), matrices.device), key=lambda d: _svd_seconds(matrices, d))
    return _PLACEMENT[key]


def _svd_seconds(matrices: Tensor, device: torch.device) -> float:
    """Seconds of one float64 SVD on ``device``, after an untimed one (library start-up)."""
    work = matrices.detach()[:1].to(device, torch.float64)
    torch.linalg.svdvals(work).cpu()
    start = time.perf_counter()
    torch.linalg.svdvals(work).cpu()
    return time.perf_counter() - start


def spectral_gap(s: np.ndarray, rank: int) -> float:
    """σ_r − σ_{r+1}: the margin that separates a rank-r signal from what lies below it."""
    if not 1 <= rank < s.shape[-1]:
        return float("nan")
    return float(s[rank - 1] - s[rank])


#: The shares of σ₁ below which :func:`largest_ratio_gap` and :func:`isotropy` take a singular value
#: as zero in float64; a run in a coarser dtype raises them to its round-off (``relative_floor``).
RATIO_GAP_FLOOR = 1e-10
ISOTROPY_FLOOR = 1e-12


def largest_ratio_gap(s: np.ndarray, rel_floor: float = RATIO_GAP_FLOOR) -> tuple[int, float]:
    """The rank k (1-based) with the largest σ_k/σ_{k+1}, over σ_{k+1} above a relative floor.

    Returns (k, ratio); (0, nan) when fewer than two singular values are above the floor.
    """
    live = s[s > rel_floor * (s[0] if s.size else 0.0)]
    if live.size < 2:
        return 0, float("nan")
    ratios = live[:-1] / live[1:]
    k = int(np.argmax(ratios))
    return k + 1, float(ratios[k])


def filtering_ratio(s_buffer: np.ndarray, s_gradient: np.ndarray, floor: float = 1e-12) -> np.ndarray:
    """σ_k(M)/σ_k(G): how much the momentum buffer keeps of each raw singular direction.

    NaN where σ_k(G) ≤ floor·σ₁(G): a minibatch gradient of B draws has rank at most the number of
    distinct items drawn, and beyond it σ_k(G) is round-off, so the ratio there would be noise
    divided by noise (1e13 on a Zipf memory). ``floor`` is the run dtype's
    :func:`~muonscope.engine.optim.polar.relative_floor`.
    """
    live = s_gradient > floor * (s_gradient[0] if s_gradient.size else 0.0)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):  # where not live: masked
        return np.where(live, s_buffer / s_gradient, np.nan)


class MomentumWindow(NamedTuple):
    """How long a momentum buffer remembers, and how much independent noise it lets through."""

    steps: Any  # T = 1/(1 − μ)
    noise_steps: Any  # 2T − 1 = (1 + μ)/(1 − μ)
    noise_kept: Any  # 1/√(2T − 1)


def momentum_window(mu: Any) -> MomentumWindow:
    """The window of the buffer M_t = μM_{t−1} + (1−μ)G_t (Li et al., SCIENCE.md §6): T, 2T − 1, 1/√(2T − 1).

    The buffer weighs G_{t−s} by (1−μ)μ^s: weights summing to one over about T = 1/(1−μ) steps. Their
    squares sum to (1−μ)/(1+μ) = 1/(2T − 1), so zero-mean noise independent across steps keeps
    1/(2T − 1) of its variance: 1/√(2T − 1) of its standard deviation, the tail filtering ratio
    σ_k(M)/σ_k(G), and the 2T − 1 of Li et al.'s bounds. Elementwise on a float, a numpy array or a
    tensor of μ ∈ [0, 1), in its own precision.
    """
    steps = 1 / (1 - mu)
    noise_steps = 2 * steps - 1
    return MomentumWindow(steps, noise_steps, noise_steps**-0.5)


def alignment(update: Tensor, signal: Tensor, signal_spectrum: np.ndarray | None = None) -> np.ndarray:
    """A(X) = ⟨X, G_sig⟩_F / ‖G_sig‖_* (Li et al.); 1 for X = msgn(G_sig), NaN where G_sig = 0.

    update (..., r, c) and signal (..., r, c) broadcast against each other: one signal per lane, or
    one signal for a whole stack of updates. ``signal_spectrum`` (the signal's singular values,
    when the caller has them already) saves the SVD behind the nuclear norm.
    """
    inner = _scaled_inner(update.detach(), signal.detach())
    spectrum = singular_values(signal) if signal_spectrum is None else signal_spectrum
    nuclear = np.asarray(spectrum).sum(axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(nuclear > 0, inner / nuclear, np.nan)


def _scaled_inner(a: Tensor, b: Tensor) -> np.ndarray:
    """⟨a, b⟩_F over the last two dims, in float64 on the host, without overflow in a's dtype: each
    matrix is divided by its largest entry first (an SGD buffer and a signal of 10³¹ in float32
    multiplied to inf, and a lane still finite had alignment inf)."""
    unit_a, scale_a = by_largest(a, (-2, -1))  # (..., r, c), (..., 1, 1)
    unit_b, scale_b = by_largest(b, (-2, -1))
    unit = (unit_a * unit_b).sum(dim=(-2, -1))  # (...,) each term at most 1 in size

    def on_host(t: Tensor) -> Tensor:
        return t.to("cpu", torch.float64)

    return (on_host(unit) * on_host(scale_a)[..., 0, 0] * on_host(scale_b)[..., 0, 0]).numpy()


def sin_theta(estimate: Tensor, signal: Tensor, rank: int) -> np.ndarray:
    """‖sin Θ(Û_r, U_r)‖₂ between the top-r left singular subspaces, per lane: (L,).

    Û comes from ``estimate`` (the momentum buffer), U from the signal; 0 means the buffer points
    in exactly the signal's directions, 1 means some signal direction is missed entirely. NaN where
    either matrix has fewer than r singular values above round-off (max(1e-12, eps)·σ₁ in its own
    dtype) or its σ_r and σ_(r+1) are tied: its top-r subspace is then partly round-off or not one,
    and the angle it gave (0.988 for a buffer of rank 9 at r = 10, where 0.930 came from its nine
    real directions) measured nothing.
    """
    host_e = estimate.detach().to("cpu", torch.float64)
    host_s = signal.detach().to("cpu", torch.float64)
    if not 1 <= rank <= min(host_e.shape[-2:]):
        return np.full(host_e.shape[0], np.nan)
    eps_e, eps_s = torch.finfo(estimate.dtype).eps, torch.finfo(signal.dtype).eps
    u_hat, hat_defined = _top_left_subspace(host_e, rank, _resolved_floor(estimate), eps_e)  # (L, r, rank)
    u_sig, sig_defined = _top_left_subspace(host_s, rank, _resolved_floor(signal), eps_s)
    cosines = torch.linalg.svdvals(u_hat.mT @ u_sig)  # (L, rank)
    smallest = cosines[..., -1].clamp(max=1.0)
    angles = torch.sqrt(1.0 - smallest.square()).numpy()
    return np.where((hat_defined & sig_defined).numpy(), angles, np.nan)


def _resolved_floor(x: Tensor) -> float:
    """The fraction of σ₁ below which a singular value of X (..., r, c) is not told from round-off
    here: its dtype's (max(1e-12, eps), as for the polar factor), or the float64 Gram matrix XXᵀ's,
    whose eigenvalues carry an error of about r·eps·σ₁², so σ ≈ √(r·eps)·σ₁ (1.5e-8 at r = 1)."""
    gram = math.sqrt(x.shape[-2] * torch.finfo(torch.float64).eps)
    return max(relative_floor(x.dtype), gram)


def _top_left_subspace(x: Tensor, rank: int, floor: float, eps: float) -> tuple[Tensor, Tensor]:
    """An orthonormal basis (..., r, rank) of the top-``rank`` left singular subspace of X (..., r, c),
    and whether it is defined (...,): σ_rank above ``floor``·σ₁, the round-off of X's dtype, and
    σ_rank − σ_rank+1 above that and FROBENIUS_ROUND_OFFS·``eps``·‖X‖_F: X's own rounding moves each
    σ by about eps·‖X‖_F, ``eps`` being the unit round-off of the dtype X was made in. A signal of
    strengths 5, 5, 5 at r = 2 has no top-2 subspace: the angle came out 0.69 in float64, 0.78 in
    float32.

    The eigenvectors of XXᵀ with the largest eigenvalues: half the cost of an SVD at d = 512, and
    as accurate for the leading directions (the error grows as eps·σ₁²/(σ_r² − σ_{r+1}²), where the
    subspace itself stops being well defined). Small stacks go to the one-thread workers: four
    128 × 128 eigendecompositions took 28 ms on two OpenMP threads and 3 ms there.
    """
    try:
        squares, vectors = across_cores(torch.linalg.eigh, x @ x.mT)  # (..., r), (..., r, r): ascending
    except torch.linalg.LinAlgError:
        u, s, _ = safe_svd(x)
        squares, vectors = s.flip(-1).square(), u.flip(-1)
    defined = squares[..., -rank] > (floor**2) * squares[..., -1]  # σ_rank² > (floor·σ₁)²
    if rank < squares.shape[-1]:  # σ_rank apart from σ_rank+1: tied, any `rank` of them would do
        sigma = squares.clamp(min=0.0).sqrt()  # (..., r) ascending
        frobenius = sigma.square().sum(-1).sqrt()
        apart = torch.maximum(floor * sigma[..., -1], FROBENIUS_ROUND_OFFS * eps * frobenius)
        defined &= sigma[..., -rank] - sigma[..., -rank - 1] > apart
    return vectors[..., -rank:], defined


@dataclass(frozen=True, slots=True)
class Isotropy:
    """How evenly a matrix spreads its energy over directions (Wang et al., ICLR 2026)."""

    entropy: float  # H_norm ∈ [0, 1]; 1 = all singular values equal
    effective_rank: float  # exp(entropy of q); n for an orthogonal matrix
    top_energy: float  # share of σ² in the top k directions
    q75_q25: float  # 75th / 25th percentile of σ²; 1 = flat

    @classmethod
    def empty(cls) -> Isotropy:
        nan = float("nan")
        return cls(nan, nan, nan, nan)


def _percentiles_of_descending(values: np.ndarray, *shares: float) -> list[float]:
    """np.percentile's default (linear) quantiles of an already sorted, descending array, without
    sorting it again (isotropy runs for every lane and matrix on every spectra step)."""
    ascending = values[::-1]
    out = []
    for share in shares:
        position = share * (ascending.size - 1)
        low = int(np.floor(position))
        high = min(low + 1, ascending.size - 1)
        out.append(float(ascending[low] + (position - low) * (ascending[high] - ascending[low])))
    return out


def isotropy(s: np.ndarray, top_k: int = 10, rel_floor: float = ISOTROPY_FLOOR) -> Isotropy:
    """Isotropy of the nonzero singular values σ_1 ≥ … ≥ σ_n (SCIENCE.md §4)."""
    live = s[s > rel_floor * s[0]] if s.size and 0 < s[0] < np.inf else s[:0]
    n = live.size
    if n == 0:
        return Isotropy.empty()
    energy = (live / live[0]) ** 2  # relative to σ_1²: σ of 1e200 would overflow when squared
    q = energy / energy.sum()
    entropy = float(-(q * np.log(q)).sum())
    q25, q75 = _percentiles_of_descending(energy, 0.25, 0.75)
    return Isotropy(
        entropy=entropy / np.log(n) if n > 1 else 1.0,
        effective_rank=float(np.exp(entropy)),
        top_energy=float(q[:top_k].sum()),
        q75_q25=float(q75 / q25) if q25 > 0 else float("inf"),
    )
