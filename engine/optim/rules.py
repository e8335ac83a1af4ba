"""Update rules as short functions of (gradient, lane state, lane settings).

Every rule returns the update *direction* D_t; the lane then applies W ← W − lr·D_t (weight decay is
zero in every paper setting, SCIENCE.md §3). Momentum placement follows Li et al.:

* ``pre``  — M ← acc(M, G),      D = map(M)        (standard Muon: momentum, then orthogonalise)
* ``post`` — M ← acc(M, map(G)), D = M             (orthogonalise each gradient, then momentum)
* ``none`` — D = map(G)

with acc the buffer convention (``ema``: μM + (1−μ)X, ``sum``: μM + X) and an optional Nesterov
look-ahead. The only state a rule touches is the :class:`LaneState` it is handed; every setting arrives as a
plain value (the registry reads them off a lane's config), so rules know nothing of configs.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

from muonscope.engine.optim.polar import frobenius_norm, newton_schulz, polar_exact, polar_regularized

__all__ = [
    "LaneState",
    "Momentum",
    "TaskGeometry",
    "adam_rule",
    "after_map",
    "before_map",
    "ema_",
    "muon_rule",
    "nesterov_look_ahead",
    "newton_rule",
    "ngd_rule",
    "polar_map",
    "sgd_rule",
    "signgd_rule",
    "tra_signgd_rule",
]

_NS_DTYPES = {"float64": torch.float64, "float32": torch.float32, "bfloat16": torch.bfloat16}
#: Below this many units of round-off (eps of the dtype) times the largest entry of its row or
#: column, an entry is zero to working precision, and so is its sign: see :func:`sign_to_precision`.
SIGN_ROUND_OFF_EPS = 64


@dataclass(frozen=True, slots=True)
class TaskGeometry:
    """What the oracle rules know about a memory task: its bases and its Hessian at W = 0.

    answers (N, d) rows ẽ_k and queries (N, d) rows e_i give task coordinates Ŵ = Ẽᵀ W E; the
    Newton factors are the pseudo-inverses of C_u = (1/N)Σ u_k u_kᵀ − ūūᵀ and C_e = Σ p_i e_i e_iᵀ,
    whose Kronecker product is the loss Hessian at W = 0 (SCIENCE.md §2).
    """

    answers: Tensor
    queries: Tensor
    newton_left: Tensor
    newton_right: Tensor


@dataclass(slots=True)
class LaneState:
    """Optimizer state of one lane; ``buffer`` is the momentum M (Adam: first moment).

    ``geometry`` is the task's, for rules that need it (Newton, TRA-SignGD); it survives clear().
    """

    buffer: Tensor | None = None
    second_moment: Tensor | None = None
    steps_taken: int = 0
    geometry: TaskGeometry | None = None

    def clear(self) -> None:
        """Forget all accumulated state (a new optimizer or momentum order starts afresh)."""
        self.buffer = None
        self.second_moment = None
        self.steps_taken = 0


@dataclass(frozen=True, slots=True)
class Momentum:
    """How a rule keeps its buffer: μ, the convention, Nesterov, and where the buffer sits.

    ``order`` places the buffer before the map (``pre``), after it (``post``) or nowhere (``none``);
    ``convention`` is ``ema`` (μM + (1−μ)X) or ``sum`` (μM + X). μ = 0 means no buffer at all.
    """

    mu: float = 0.0
    convention: str = "ema"
    nesterov: bool = False
    order: str = "pre"


def ema_(buffer: Tensor, x: Tensor, mu: float | Tensor) -> Tensor:
    """M ← μM + (1−μ)X in place; μ may be a tensor that broadcasts (a grid of momenta at once)."""
    return buffer.lerp_(x, 1.0 - mu)


def accumulate(state: LaneState, x: Tensor, momentum: Momentum) -> Tensor:
    """Fold X into the momentum buffer in place and return the buffer."""
    if state.buffer is None:
        state.buffer = torch.zeros_like(x)
    if momentum.convention == "ema":
        ema_(state.buffer, x, momentum.mu)
    else:
        state.buffer.mul_(momentum.mu).add_(x)  # μM + X
    return state.buffer


def momentum_output(state: LaneState, x: Tensor, momentum: Momentum) -> Tensor:
    """Accumulate X and return what the rule uses: the buffer, or its Nesterov look-ahead.

    Nesterov blends the fresh input with the updated buffer the way each convention's reference
    does: ``ema`` X.lerp(M, μ) = (1−μ)X + μM (Keller, torch Muon); ``sum`` X + μM (torch SGD).
    μ = 0 means no buffer at all. The result never aliases the buffer.
    """
    if momentum.mu == 0.0:
        return x
    buffer = accumulate(state, x, momentum)
    if not momentum.nesterov:
        return buffer.clone()  # callers may keep it; the buffer itself changes next step
    return nesterov_look_ahead(x, buffer, momentum)


def nesterov_look_ahead(x: Tensor, buffer: Tensor, momentum: Momentum) -> Tensor:
    """The fresh input blended with the updated buffer: ``ema`` (1−μ)X + μM, ``sum`` X + μM."""
    if momentum.convention == "ema":
        return x.lerp(buffer, momentum.mu)
    return x + momentum.mu * buffer


def before_map(g: Tensor, state: LaneState, momentum: Momentum) -> Tensor:
    """What the map is applied to: the momentum output for ``pre``, the gradient itself otherwise."""
    return momentum_output(state, g, momentum) if momentum.order == "pre" else g


def after_map(mapped: Tensor, state: LaneState, momentum: Momentum) -> Tensor:
    """The direction from the mapped input: folded into the buffer for ``post``, as it is otherwise."""
    return momentum_output(state, mapped, momentum) if momentum.order == "post" else mapped


def with_order(g: Tensor, state: LaneState, momentum: Momentum, fn: Callable[[Tensor], Tensor]) -> Tensor:
    """Place the momentum buffer before, after, or nowhere around the map ``fn``.

    Split in :func:`before_map` and :func:`after_map` so that the engine can run one expensive map
    (an SVD) for many lanes at once between the two halves.
    """
    return after_map(fn(before_map(g, state, momentum)), state, momentum)


def sgd_rule(g: Tensor, state: LaneState, momentum: Momentum) -> Tensor:
    """(Stochastic) gradient descent with heavy-ball or Nesterov momentum; order is moot."""
    return momentum_output(state, g, momentum)


def adam_rule(g: Tensor, state: LaneState, beta1: float, beta2: float, eps: float) -> Tensor:
    """Bias-corrected Adam, m̂/(√v̂ + ε).

    Entries where √v̂ + ε = 0 (a coordinate that never saw a gradient, with ε = 0) update by 0, so
    Adam(β1 = β2 = 0, ε = 0) is SignGD including sign(0) = 0, with one difference: an entry that is
    zero in exact arithmetic but came out of a matrix product as round-off (±1e-18) steps by ±1 here,
    as in torch.optim.Adam, where :func:`signgd_rule` takes it as 0 (:func:`sign_to_precision`).
    """
    if state.buffer is None:
        state.buffer = torch.zeros_like(g)
        state.second_moment = torch.zeros_like(g)
    state.steps_taken += 1
    t = state.steps_taken
    ema_(state.buffer, g, beta1)  # m ← β1 m + (1−β1) g
    state.second_moment.mul_(beta2).addcmul_(g, g, value=1.0 - beta2)  # v ← β2 v + (1−β2) g²
    m_hat = state.buffer / (1.0 - beta1**t)
    # √v / √(1 − β2ᵗ), as torch.optim.Adam: v/(1 − β2ᵗ) overflowed float32 for |g| near 10¹⁹, and
    # the entries of √v̂ = inf stepped by 0 while every stored state stayed finite
    denom = state.second_moment.sqrt().div_(math.sqrt(1.0 - beta2**t)).add_(eps)
    return torch.where(denom > 0, m_hat / torch.where(denom > 0, denom, 1.0), 0.0)


def sign_to_precision(x: Tensor) -> Tensor:
    """sign(x) entrywise, 0 where |x| is within :data:`SIGN_ROUND_OFF_EPS` round-offs of 0 relative to
    the largest entry of its row or of its column, whichever is smaller.

    An entry that is zero in exact arithmetic (block-Hadamard embeddings zero half of G's) comes out
    of a matrix product as 0 or as ±1e-17, by the summation order of the machine's BLAS; its sign was
    then a full-size step in a direction with no signal, and SignGD's σ_min/σ_max of the first update
    read 0.018 on one machine and 0.098 on another. x: (…, m, n), the last two axes one matrix.

    The floor follows the entry's own row and column, not the whole matrix: relative to the largest
    entry anywhere, float32's floor (7.6e-6 of it) took a rare item's genuine entries as 0 where the
    item frequencies span more than that (identity embeddings, a staircase of K = 1024 items: 87% of
    the signs lost). A row's or column's largest entry is built from the same terms as the round-off
    left in its exact zeros, so the floor still clears them.
    """
    size = x.abs()  # (…, m, n)
    row_largest = size.amax(dim=-1, keepdim=True)  # (…, m, 1)
    column_largest = size.amax(dim=-2, keepdim=True)  # (…, 1, n)
    floor = torch.minimum(row_largest, column_largest) * (SIGN_ROUND_OFF_EPS * torch.finfo(x.dtype).eps)
    return torch.where(size > floor, torch.sign(x), 0.0)


def signgd_rule(g: Tensor, state: LaneState, momentum: Momentum) -> Tensor:
    """Elementwise sign, the coordinate-wise equaliser (sign(0) = 0, for round-off too)."""
    return with_order(g, state, momentum, sign_to_precision)


def _frobenius_normalize(x: Tensor) -> Tensor:
    """X/‖X‖_F, 0 for X = 0 (decided on the device: no host synchronisation)."""
    norm = frobenius_norm(x)  # (..., 1, 1)
    return torch.where(norm > 0, x / torch.where(norm > 0, norm, 1.0), 0.0)


def ngd_rule(g: Tensor, state: LaneState, momentum: Momentum) -> Tensor:
    """Normalised GD, X/‖X‖_F: fixes the step length but keeps the spectrum's shape."""
    return with_order(g, state, momentum, _frobenius_normalize)


def polar_map(
    polar: str, ns_steps: int, lam: float, ns_dtype: str, run_dtype: torch.dtype
) -> Callable[[Tensor], Tensor]:
    """The orthogonalising map ``exact`` | ``ns`` (k steps, in ``ns_dtype``) | ``reg`` (λ) as a function."""
    if polar == "exact":
        return polar_exact
    if polar == "reg":
        return lambda x: polar_regularized(x, lam)
    work_dtype = run_dtype if ns_dtype == "run" else _NS_DTYPES[ns_dtype]
    return lambda x: newton_schulz(x, ns_steps, dtype=work_dtype)


def newton_rule(g: Tensor, state: LaneState, momentum: Momentum) -> Tensor:
    """Newton's step at W = 0: C_u⁺ G C_e⁺ (Kim et al. v2 baseline; SCIENCE.md §2, derived [I]).

    The preconditioner is the exact Hessian at W = 0, kept fixed over a run; momentum, if any, is
    applied to the preconditioned direction (order ``post``) or to G (``pre``).
    """
    geo = state.geometry
    return with_order(g, state, momentum, lambda x: geo.newton_left @ x @ geo.newton_right)


def tra_signgd_rule(g: Tensor, state: LaneState, momentum: Momentum) -> Tensor:
    """SignGD in the task's own coordinates, Ẽ sign(ẼᵀGE) Eᵀ (Wang et al., ICML 2026, Thm 6.3).

    An oracle: it needs the true orthonormal answer and query bases, which Muon finds on its own
    through the SVD; with them it reproduces Muon's guarantees at half the step.
    """
    geo = state.geometry

    def in_task_basis(x: Tensor) -> Tensor:
        coordinates = geo.answers @ x @ geo.queries.T  # (N, N) = Ẽᵀ X E
        return geo.answers.T @ sign_to_precision(coordinates) @ geo.queries  # (d, d)

    return with_order(g, state, momentum, in_task_basis)


def muon_rule(
    g: Tensor,
    state: LaneState,
    momentum: Momentum,
    polar: str = "exact",
    ns_steps: int = 5,
    lam: float = 1e-3,
    ns_dtype: str = "run",
) -> Tensor:
    """Muon: the polar map with momentum before it (``pre``), after it (``post``) or without.

    No shape-dependent rescaling is applied (torch's √max(1, rows/cols)): the direction is the
    polar factor itself, so alignment and spectra read in the papers' units.
    """
    return with_order(g, state, momentum, polar_map(polar, ns_steps, lam, ns_dtype, g.dtype))
