"""Kim et al.'s multi-step recovery: thresholded and exact minibatch dynamics (SCIENCE.md §5).

The conjecture, in the paper's notation [S quoting P]: G_t = −∇L(W_t; 𝔅_t) is the gradient on a
minibatch 𝔅_t of B i.i.d. draws from p (B = ∞: the population gradient), and

    W_{t+1} = W_t + η·h_{λ_t}(G_t),   h_λ(X) = U diag(σ/√(σ² + λ²)) Vᵀ,

with a fixed η ≍ √d and λ_t ≍ d_{t+1}^{−α}·√d. Under the *thresholded* approximation, the items
already recovered at W_t are removed from G_t (their columns do not contribute), and after t steps
the ranks up to d_t = min{d^{2−(1−1/(2α))^t}, B^{1/α}} are recovered (up to polylogarithmic
factors). The *exact* dynamics use the same minibatch with nothing removed. GD lanes take the
same minibatches with a fixed learning rate.

Here both dynamics run on the same seeded minibatch stream, so a lane's two variants differ only
by the removal; recovery is the strict argmax over all N outputs of every item (SCIENCE.md §4).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from muonscope.engine.config import TaskConfig
from muonscope.engine.memory import QueryBatch, item_queries, memory_pass, minibatch_queries
from muonscope.engine.optim.polar import polar_regularized
from muonscope.engine.recovery_law import recovery_target, theory_recovery
from muonscope.engine.tasks.frequencies import zipf_probs
from muonscope.engine.tasks.memory_task import MemoryTask
from muonscope.engine.tasks.sampler import BatchSampler

__all__ = [
    "Constants",
    "Dynamics",
    "MultiStepRun",
    "head_recovered_loss",
    "lambda_schedule",
    "population_gradient",
    "run_multistep",
    "thresholded_gradient",
    "without_items",
]

#: Offset that separates the minibatch stream of a seed from its embedding stream.
_BATCH_STREAM = 0x3A11


def head_recovered_loss(n_recovered: float, alpha: float, n_items: int) -> float:
    """log N·Σ_{i>n} p_i: the population loss if ranks ≤ n were recovered at no loss and the rest sat at
    chance (log N each) [I] — the bookkeeping behind the Õ(d_t^{1−α}) bound, with its constant.

    A measured L(W_t) above it at n = n_rec(t) says the recovered items still cost loss or the others
    sit worse than chance; the bound's d_t^{1−α} has the same decay and no constant to compare with.
    """
    tail = zipf_probs(n_items, alpha)[min(int(n_recovered), n_items) :]  # ranks n+1..N
    return math.log(n_items) * float(tail.sum())


@dataclass(frozen=True)
class Constants:
    """The constants hidden in the paper's "≍": η = eta_scale·√d, λ_t = lam_scale·d_{t+1}^{−α}√d.

    Both are 1 in the literal reading [S]; any other value is a named choice reported with the
    results [I]. ``lam_target``: which d_{t+1} sets λ_t — "capped" uses d_{t+1} with its B^{1/α}
    and N caps (:func:`recovery_target`), "law" the uncapped d^{2−(1−1/(2α))^{t+1}} [I].
    """

    eta_scale: float = 1.0
    lam_scale: float = 1.0
    lam_target: str = "capped"

    def __post_init__(self) -> None:
        if not (self.eta_scale > 0 and self.lam_scale > 0):
            raise ValueError(f"eta_scale and lam_scale must be > 0, got {self.eta_scale}, {self.lam_scale}")
        if self.lam_target not in ("capped", "law"):
            raise ValueError(f"lam_target {self.lam_target!r}: allowed are 'capped', 'law'")

    @property
    def text(self) -> str:
        return f"η = {self.eta_scale:g}·√d, λ_t × {self.lam_scale:.3g}"

    def eta(self, d: int) -> float:
        return self.eta_scale * math.sqrt(d)


def lambda_schedule(
    d: int, alpha: float, t: int, n_items: int, batch_size: int, constants: Constants = Constants()
) -> float:
    """λ_t = lam_scale·d_{t+1}^{−α}·√d, the regulariser of step t (t = 0 is the first step) [S].

    At t = 0 and B = ∞ this is d^{−α}·lam_scale, the one-step scale of SCIENCE.md §5 (polylogs
    dropped): the two normalisations agree [I].
    """
    if constants.lam_target == "capped":
        target = recovery_target(d, alpha, t + 1, n_items, batch_size)
    else:
        target = theory_recovery(d, alpha, t + 1)
    return constants.lam_scale * target**-alpha * math.sqrt(d)


@dataclass(frozen=True)
class Dynamics:
    """One lane: the optimizer ("muon_reg" or "gd"), the thresholded option and the batch size.

    ``batch_size`` 0 is B = ∞, the population gradient. ``thresholded`` removes the items recovered
    at W_t from G_t (the approximation the d_t law is proved under [S]); otherwise the gradient is
    the plain minibatch one (the dynamics the conjecture is about [S]).
    """

    optimizer: str
    thresholded: bool
    batch_size: int = 0

    def __post_init__(self) -> None:
        if self.optimizer not in ("muon_reg", "gd"):
            raise ValueError(f"optimizer {self.optimizer!r}: allowed are 'muon_reg', 'gd'")
        if self.batch_size < 0:
            raise ValueError(f"batch_size {self.batch_size}: allowed are 0 (B = ∞) or a positive size")

    @property
    def name(self) -> str:
        rule = "Muon-reg" if self.optimizer == "muon_reg" else "GD"
        kind = "thresholded" if self.thresholded else "exact"
        batch = "B = ∞" if self.batch_size == 0 else f"B = {self.batch_size}"
        return f"{rule} {kind}, {batch}"


def without_items(queries: QueryBatch, drop: Tensor) -> QueryBatch:
    """The same query columns less those whose item is flagged in ``drop`` ((N,) bool).

    Weights are kept as they were (count / B or p_i), not renormalised: removing a recovered item
    removes its term from the gradient sum and changes nothing else [S].
    """
    keep = ~drop[queries.items]  # (m,) bool
    new_col = torch.cumsum(keep, 0) - 1  # (m,) column index after the removal
    label_keep = keep[queries.label_cols]  # (n,)
    uniform = None if queries.uniform_mass is None else queries.uniform_mass[keep]
    return QueryBatch(
        queries.items[keep],
        queries.weights[keep],
        queries.label_items[label_keep],
        new_col[queries.label_cols[label_keep]],
        queries.label_mass[label_keep],
        uniform,
    )


def _gradient(task: MemoryTask, w: Tensor, queries: QueryBatch) -> Tensor:
    """∇L(W) over the given query columns; 0 when there are none."""
    if queries.items.numel() == 0:
        return torch.zeros_like(w)
    return memory_pass(task.outputs, task.inputs, w[None], queries).grad[0]


def thresholded_gradient(task: MemoryTask, w: Tensor, queries: QueryBatch, recovered: Tensor) -> Tensor:
    """∇L(W; 𝔅) with the items flagged in ``recovered`` ((N,) bool) removed from the batch [S]."""
    return _gradient(task, w, without_items(queries, recovered))


@dataclass(frozen=True)
class _Measured:
    recovered: Tensor  # (N,) bool at W_t
    loss: float  # population loss L(W_t)
    grad: Tensor | None  # (d, d) population gradient at W_t, when asked


def _measure(task: MemoryTask, w: Tensor, with_grad: bool) -> _Measured:
    """Recovery of every item and the population loss at W (an N²d pass, streamed in chunks)."""
    if not torch.any(w):
        grad = task.signal_gradients(w[None], at_zero=True)[0] if with_grad else None
        return _Measured(torch.zeros(task.n_items, dtype=torch.bool), math.log(task.n_items), grad)
    population = item_queries(task.probs, torch.arange(task.n_items), 0.0)
    result = memory_pass(
        task.outputs, task.inputs, w[None], population, want_grad=with_grad, want_columns=True
    )
    return _Measured(
        result.recovered[0], float(result.loss[0]), None if result.grad is None else result.grad[0]
    )


def population_gradient(task: MemoryTask, w: Tensor, recovered: Tensor, full: Tensor | None = None) -> Tensor:
    """∇L(W) = Σ_i p_i ∇ℓ_i(W) over the items not flagged in ``recovered`` ((N,) bool) [S].

    ``full``, the gradient over every item when already known, lets the few recovered items' share
    be subtracted instead of passing over the many that remain: the same sum, a fraction of the cost.
    """
    queries = item_queries(task.probs, torch.arange(task.n_items), 0.0)
    if full is not None and int(recovered.sum()) < task.n_items // 2:
        return full - _gradient(task, w, without_items(queries, ~recovered))
    return thresholded_gradient(task, w, queries, recovered)


def _step_gradient(
    task: MemoryTask, w: Tensor, lane: Dynamics, seen: _Measured, sampler: BatchSampler
) -> Tensor:
    """G_t's negative, ∇L(W_t; 𝔅_t), with the recovered items removed when the lane thresholds."""
    if lane.batch_size == 0:
        if not lane.thresholded or not bool(seen.recovered.any()):
            return seen.grad
        return population_gradient(task, w, seen.recovered, seen.grad)
    batch = sampler.draw(lane.batch_size, 0.0)
    queries = minibatch_queries(batch.items, batch.labels, w.dtype)
    if not lane.thresholded:
        return _gradient(task, w, queries)
    return thresholded_gradient(task, w, queries, seen.recovered)


@dataclass
class MultiStepRun:
    """n_rec(t) and L(W_t) for t = 0..steps, per lane name: arrays (seeds, steps + 1)."""

    d: int
    n_items: int
    alpha: float
    seeds: tuple[int, ...]
    constants: Constants
    lanes: tuple[Dynamics, ...]
    recovered: dict[str, np.ndarray]
    loss: dict[str, np.ndarray]


def _run_lane(
    task: MemoryTask, alpha: float, lane: Dynamics, steps: int, seed: int, constants: Constants, gd_lr: float
) -> tuple[list[int], list[float]]:
    """n_rec(W_t) and L(W_t) for t = 0..steps of one lane on one task."""
    d = task.weight_shape[0]
    sampler = BatchSampler(task.probs_np, seed + _BATCH_STREAM)  # the same draws for every lane
    w = torch.zeros(d, d, dtype=task.probs.dtype)
    counts, losses = [], []
    for t in range(steps + 1):
        seen = _measure(task, w, with_grad=t < steps and lane.batch_size == 0)
        counts.append(int(seen.recovered.sum()))
        losses.append(seen.loss)
        if t == steps:
            break
        grad = _step_gradient(task, w, lane, seen, sampler)  # (d, d) ∇L, i.e. −G_t
        if lane.optimizer == "muon_reg":
            lam = lambda_schedule(d, alpha, t, task.n_items, lane.batch_size, constants)
            w = w - constants.eta(d) * polar_regularized(grad, lam)
        else:
            w = w - gd_lr * grad
    return counts, losses


def run_multistep(
    d: int,
    n_items: int,
    alpha: float,
    steps: int,
    lanes: Sequence[Dynamics],
    seeds: Sequence[int] = (0,),
    constants: Constants = Constants(),
    progress: Callable[[str], None] | None = None,
) -> MultiStepRun:
    """Every lane for ``steps`` steps from W = 0 on each seed's task (float64, CPU).

    GD's learning rate is η/‖∇L(0)‖₂ (its first step has Muon's spectral norm) [I]: GD's recovery
    depends on its step size, and the paper fixes none for the multi-step comparison.
    """
    recovered = {lane.name: np.zeros((len(seeds), steps + 1)) for lane in lanes}
    loss = {lane.name: np.zeros((len(seeds), steps + 1)) for lane in lanes}
    for s, seed in enumerate(seeds):
        cfg = TaskConfig(d=d, n_items=n_items, alpha=alpha, batch_size=0, seed=seed)
        task = MemoryTask(cfg, torch.device("cpu"), torch.float64)
        zero = torch.zeros(1, d, d, dtype=torch.float64)
        gd_lr = constants.eta(d) / float(torch.linalg.matrix_norm(task.signal_gradients(zero, True)[0], 2))
        for lane in lanes:
            if progress is not None:
                progress(f"d = {d}, seed {seed}, {constants.text}: {lane.name}")
            counts, losses = _run_lane(task, alpha, lane, steps, seed, constants, gd_lr)
            recovered[lane.name][s] = counts
            loss[lane.name][s] = losses
    return MultiStepRun(d, n_items, alpha, tuple(seeds), constants, tuple(lanes), recovered, loss)
