"""Tail-end balance along a step ray (Wang et al., ICLR 2026; SCIENCE.md §4 and §8).

f_k(W) = p̂(k | k) is the probability the memory gives class k's correct answer. Along the ray
W_η = −η·D of a one-step direction D:

* Δ(W) = max_k f_k − min_k f_k, the correct-class probability gap;
* ϱ^ε = inf { min_k f_k(W_η) : η ≥ 0, max_k f_k(W_η) ≥ 1 − ε }, how well the worst class is
  learned by the time the best one is learned to 1 − ε.

Every η of a search is one "lane" of a batched memory pass, so a whole grid costs a few passes: as
many η per pass as keep its stack of weights (η, d, d) within a bound. Every function that runs
passes takes ``cancelled``, asked before each pass: at d = 2048 a ray costs hundreds of passes
(tens of seconds), and a window closing or a new search started should not wait for them. When it
says yes, :class:`Cancelled` is raised.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from muonscope.engine.errors import Cancelled
from muonscope.engine.memory import MemoryPass, memory_pass, population_queries
from muonscope.engine.optim.registry import OPTIMIZERS
from muonscope.engine.optim.rules import LaneState
from muonscope.engine.tasks.memory_task import MemoryTask

__all__ = [
    "Ray",
    "RayBalance",
    "correct_probabilities",
    "first_step_direction",
    "first_step_ray",
    "ray_balance",
    "ray_curve",
    "same_but_rounding",
    "update_condition_ratio",
]

_GRID = 48
#: Singular values below this share of σ_max count as zero (∇L(0) has rank K − 1).
_RANK_TOL = 1e-10
_ROUNDS = 5
#: Relative difference below which two balances are the same number.
_ROUNDING = 1e-9
#: At most this many weights per pass along a ray: 2²³ float64 values are 64 MiB (two η at d = 2048,
#: about 0.1 s; a whole grid in one pass at d ≤ 400).
_PASS_ELEMENTS = 2**23
#: Asked before each pass; True abandons the computation (None: never).
Cancel = Callable[[], bool] | None


@dataclass(frozen=True, slots=True)
class RayBalance:
    """ϱ^ε of one direction and where along the ray it was attained."""

    rho: float  # ϱ^ε
    eta_feasible: float  # smallest η with max_k f_k ≥ 1 − ε
    eta_at_rho: float  # the η where min_k f_k attains ϱ (equal to eta_feasible unless scanned)
    rho_at_feasible: float  # min_k f_k at eta_feasible (ϱ itself unless scanned)


def correct_probabilities(task: MemoryTask, weights: Tensor) -> Tensor:
    """f_k = p̂(k | k) for every class and every W of a stack (L, d, d) → (L, N)."""
    queries = population_queries(task.probs, 0.0)
    return memory_pass(
        task.outputs, task.inputs, weights, queries, want_grad=False, want_columns=True
    ).correct_prob


def _check(cancelled: Cancel) -> None:
    if cancelled is not None and cancelled():
        raise Cancelled("the ray search was cancelled")


def _passes(task: MemoryTask, direction: Tensor, etas: np.ndarray, cancelled: Cancel) -> list[MemoryPass]:
    """The memory passes at W = −η D for each η, a bounded number of η per pass, in order."""
    per_pass = max(1, _PASS_ELEMENTS // direction.numel())
    queries = population_queries(task.probs, 0.0)
    passes = []
    for start in range(0, len(etas), per_pass):
        _check(cancelled)
        eta = torch.as_tensor(etas[start : start + per_pass], dtype=direction.dtype, device=direction.device)
        weights = -eta[:, None, None] * direction  # (η, d, d)
        passes.append(
            memory_pass(task.outputs, task.inputs, weights, queries, want_grad=False, want_columns=True)
        )
    return passes


def _along(task: MemoryTask, direction: Tensor, etas: np.ndarray, cancelled: Cancel = None) -> Tensor:
    """f_k at W = −η D for each η: (len(etas), N)."""
    return torch.cat([p.correct_prob for p in _passes(task, direction, etas, cancelled)])


def _first_feasible(task: MemoryTask, direction: Tensor, eps: float, cancelled: Cancel = None) -> float:
    """Smallest η with max_k f_k ≥ 1 − ε, by repeated grid refinement of a doubling bracket."""
    hi = 1.0
    while float(_along(task, direction, np.array([hi]), cancelled).max()) < 1.0 - eps:
        hi *= 4.0
        if hi > 1e12:
            raise ValueError("no step along this direction makes any class reach 1 − ε")
    lo = 0.0
    for _ in range(_ROUNDS):
        grid = np.linspace(lo, hi, _GRID)
        feasible = (_along(task, direction, grid, cancelled).amax(dim=1) >= 1.0 - eps).cpu().numpy()
        first = int(np.argmax(feasible))
        lo, hi = grid[max(first - 1, 0)], grid[first]
    return float(hi)


def ray_balance(
    task: MemoryTask, direction: Tensor, eps: float = 0.01, scan: bool = False, cancelled: Cancel = None
) -> RayBalance:
    """ϱ^ε of the ray W_η = −η D.

    For GD and Muon every f_k rises with η, so the infimum sits at the first feasible η. SignGD's
    classes need not rise together; ``scan`` evaluates min_k f_k over η ∈ [η*, 100 η*] instead
    (SCIENCE.md §4), and keeps its value at η* too: where the worst class keeps falling along the ray
    the infimum is set by where the scan ends, not by the direction.
    """
    eta_star = _first_feasible(task, direction, eps, cancelled)
    if not scan:
        rho = float(_along(task, direction, np.array([eta_star]), cancelled).min())
        return RayBalance(rho, eta_star, eta_star, rho)
    etas = eta_star * np.geomspace(1.0, 100.0, 200)
    f = _along(task, direction, etas, cancelled)  # (200, N)
    feasible = f.amax(dim=1) >= 1.0 - eps
    worst = torch.where(feasible, f.amin(dim=1), torch.inf)
    best = int(torch.argmin(worst))
    return RayBalance(float(worst[best]), eta_star, float(etas[best]), float(f[0].min()))


def ray_curve(
    task: MemoryTask, direction: Tensor, etas: np.ndarray, cancelled: Cancel = None
) -> tuple[np.ndarray, np.ndarray]:
    """Population loss and Δ(W) along the ray (the curves of Wang et al.'s Fig. 4b)."""
    passes = _passes(task, direction, etas, cancelled)
    loss = torch.cat([p.loss for p in passes])  # (η,)
    correct = torch.cat([p.correct_prob for p in passes])  # (η, N)
    gap = (correct.amax(dim=1) - correct.amin(dim=1)).cpu().numpy()
    return loss.cpu().numpy(), gap


def first_step_direction(task: MemoryTask, lane) -> Tensor:
    """The update direction D of a lane's first step from W = 0 on the population gradient.

    The ray W_η = −η·D of this direction is what the tail-end balance is measured along; oracle
    rules (Newton, TRA-SignGD) receive the task's geometry as they do in a run.
    """
    spec = OPTIMIZERS[lane.optimizer]
    zero = torch.zeros(1, *task.weight_shape, dtype=task.inputs.dtype, device=task.inputs.device)
    grad = task.signal_gradients(zero)[0]  # (d, d)
    state = LaneState(geometry=task.geometry if spec.needs_geometry else None)
    return spec.rule(grad, state, lane)


@dataclass(frozen=True, slots=True)
class Ray:
    """One lane's first-step ray: ϱ^ε and the curves of Δ(W) and loss along it."""

    rho: float  # min_k f_k at η*, where the first class reaches 1 − ε: the balance judged
    gap: np.ndarray  # Δ(W_η) at each η of the ray
    loss: np.ndarray  # population loss at each η
    lower_further: float | None = None  # SignGD's scan: its infimum up to 100·η*, where it is lower


def first_step_ray(task: MemoryTask, lane, points: int = 40, cancelled: Cancel = None) -> Ray:
    """ϱ^ε (ε = 0.01) of a lane's first step from W = 0, and Δ and loss for η from 1% to 3× η*.

    η* is the first η at which some class reaches 1 − ε; the balance is min_k f_k there, as the
    reproduction judges it. SignGD's classes need not rise together: its infimum is scanned on to
    100·η* (see :func:`ray_balance`) and kept beside where lower (set by where the scan ends, not by
    the direction: 2·10⁻³⁷ at 100·η* for Haar embeddings, 0.014 at η*). ``cancelled`` is asked
    before the direction (a Muon lane's is one SVD) and before every pass along the ray;
    :class:`Cancelled` is raised when it says yes.
    """
    _check(cancelled)
    direction = first_step_direction(task, lane)
    balance = ray_balance(task, direction, 0.01, scan=lane.optimizer == "signgd", cancelled=cancelled)
    etas = balance.eta_feasible * np.geomspace(1e-2, 3.0, points)
    loss, gap = ray_curve(task, direction, etas, cancelled)
    lower = None if same_but_rounding(balance.rho, balance.rho_at_feasible) else balance.rho
    return Ray(balance.rho_at_feasible, gap, loss, lower)


def same_but_rounding(a: float, b: float) -> bool:
    """Whether two balances differ by rounding only (a scan's minimum over a curve flat at 1/64
    differed from its value at η* in the 17th digit)."""
    return abs(a - b) <= _ROUNDING * max(abs(a), abs(b))


def update_condition_ratio(task: MemoryTask, direction: Tensor, project_ones: bool = True) -> float:
    """σ_min/σ_max of an update in task coordinates ẼᵀDE, over its nonzero singular values.

    Wang et al.'s SignGD bound (σ_min/σ_max ≤ 25% for overlapping embeddings) concerns the part of
    the update that tells classes apart. The all-ones output direction moves every logit of a query
    alike, so softmax ignores it; ``project_ones`` removes it first, (I − J/K)·ẼᵀDE. Without that, a
    perfectly balanced update (identity embeddings, sign(G) = J − 2I) reads (K − 2)/2 apart.
    """
    coordinates = task.outputs @ direction @ task.inputs.T  # (K, K) = Ẽᵀ D E
    if project_ones:
        coordinates = coordinates - coordinates.mean(dim=0, keepdim=True)  # (I − J/K) Ẽᵀ D E
    s = torch.linalg.svdvals(coordinates)  # (K,), descending
    # the round-off floor of the dtype: in float32 the rank-deficient direction's σ ≈ 1e-7·σ₁ passed
    # float64's 1e-10 and every ratio read 0
    tolerance = max(_RANK_TOL, s.shape[0] * torch.finfo(s.dtype).eps)
    nonzero = s[s > tolerance * s[0]]
    return float(nonzero[-1] / nonzero[0])
