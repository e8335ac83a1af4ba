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
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from muonscope.engine.config import TaskConfig
from muonscope.engine.memory import QueryBatch, item_queries, memory_pass, minibatch_queries
from muonscope.engine.optim.polar import polar_regularized
from muonscope.engine.reproduce.base import (
    Claim,
    Curve,
    CurveSet,
    Reproduction,
    Settings,
    loglog_slope,
    register,
)
from muonscope.engine.tasks.memory_task import MemoryTask
from muonscope.engine.tasks.sampler import BatchSampler

__all__ = [
    "Constants",
    "Dynamics",
    "MultiStepRun",
    "lambda_schedule",
    "multi_step_recovery",
    "population_gradient",
    "recovery_target",
    "run_multistep",
    "theory_recovery",
    "thresholded_gradient",
    "without_items",
]

#: Offset that separates the minibatch stream of a seed from its embedding stream.
_BATCH_STREAM = 0x3A11


def theory_recovery(d: int, alpha: float, t: int) -> float:
    """d^{2 − (1 − 1/(2α))^t}: the ranks recovered after t steps, polylogs dropped [S]."""
    return d ** (2.0 - (1.0 - 1.0 / (2.0 * alpha)) ** t)


def recovery_target(d: int, alpha: float, t: int, n_items: int, batch_size: int) -> float:
    """d_t = min{d^{2−(1−1/(2α))^t}, B^{1/α}, N}: the law with its minibatch cap [S] and N [I].

    ``batch_size`` 0 means B = ∞ (no batch cap). An item must be drawn to be learned, hence the
    B^{1/α} cap; no more than the N items that exist can be recovered.
    """
    target = min(theory_recovery(d, alpha, t), float(n_items))
    return target if batch_size == 0 else min(target, batch_size ** (1.0 / alpha))


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


# ---- preset 3: the reproduction ----------------------------------------------------------------

ALPHA = 1.5
STEPS = 8
#: The law is compared with the measurement over these steps (SCIENCE.md §11.13).
COMPARED_STEPS = (1, 2, 3, 4)
#: n_rec(t)/d_t within [1/FACTOR, FACTOR] at every compared step is "following the law".
FACTOR = 2.0
BATCH = 4096
SEEDS = (0, 1, 2)
#: (eta_scale, lam_scale) pairs also run, at the smallest d only: the constants behind the "≍".
#: (d, 1/d) is the literal law read in units where embeddings are N(0, I_d) rather than N(0, I_d/d).
CONSTANT_VARIANTS = ((0.25, 1.0), (4.0, 1.0), (1.0, 0.1), (1.0, 10.0), ("d", "1/d"))


def multistep_lanes(batch_size: int) -> tuple[Dynamics, ...]:
    """Muon-reg thresholded / exact at B = ∞ and at ``batch_size``; GD thresholded / exact at B = ∞."""
    return (
        Dynamics("muon_reg", True, 0),
        Dynamics("muon_reg", False, 0),
        Dynamics("muon_reg", True, batch_size),
        Dynamics("muon_reg", False, batch_size),
        Dynamics("gd", True, 0),
        Dynamics("gd", False, 0),
    )


def n_items_for(d: int) -> int:
    """N = max(2d², 2048): room for the d² limit, and N ≲ 2⁹·d (SCIENCE.md §5: larger N degrades Muon)."""
    return max(2 * d * d, 2048)


def _targets(run: MultiStepRun, lane: Dynamics) -> np.ndarray:
    steps = run.recovered[lane.name].shape[1]
    return np.array(
        [recovery_target(run.d, run.alpha, t, run.n_items, lane.batch_size) for t in range(steps)]
    )


def ratios(run: MultiStepRun, lane: Dynamics) -> np.ndarray:
    """Seed-mean n_rec(t) / d_t for t = 0..steps (t = 0 is 0: nothing is recovered at W = 0)."""
    return run.recovered[lane.name].mean(axis=0) / _targets(run, lane)


def _curve_set(run: MultiStepRun) -> CurveSet:
    t = np.arange(run.recovered[run.lanes[0].name].shape[1], dtype=float)
    curves = {
        name: Curve(t, counts.mean(axis=0), counts.min(axis=0), counts.max(axis=0))
        for name, counts in run.recovered.items()
    }
    law = np.array([recovery_target(run.d, run.alpha, int(k), run.n_items, 0) for k in t[1:]])
    setting = {
        "d": run.d,
        "n_items": run.n_items,
        "alpha": run.alpha,
        "batch_size": BATCH,
        "seeds": run.seeds,
    }
    return CurveSet("recovered_over_steps", curves, {"d_t": Curve(t[1:], law)}, setting)


def _add_rows(table: dict[str, list], run: MultiStepRun, extra: dict | None = None) -> None:
    for lane in run.lanes:
        counts, loss = run.recovered[lane.name], run.loss[lane.name]
        for t, (target, ratio) in enumerate(zip(_targets(run, lane), ratios(run, lane), strict=True)):
            for key, value in (extra or {}).items():
                table[key].append(value)
            table["d"].append(run.d)
            table["lane"].append(lane.name)
            table["batch_size"].append(lane.batch_size)
            table["step"].append(t)
            table["recovered"].append(float(counts[:, t].mean()))
            table["recovered_min"].append(int(counts[:, t].min()))
            table["recovered_max"].append(int(counts[:, t].max()))
            table["target"].append(target)
            table["ratio"].append(float(ratio))
            table["loss"].append(float(loss[:, t].mean()))
            table["loss_bound"].append(target ** (1.0 - run.alpha))  # d_t^{1−α}, constants dropped


def _claim(run: MultiStepRun) -> Claim:
    """Thresholded Muon-reg's n_rec(t)/d_t at t = 1..4 for each B: reported, not judged."""
    measured, within = [], []
    for lane in run.lanes:
        if lane.optimizer == "muon_reg" and lane.thresholded:
            r = ratios(run, lane)[list(COMPARED_STEPS)]
            within.append(bool(np.all((r >= 1 / FACTOR) & (r <= FACTOR))))
            measured.append(f"{lane.name}: " + ", ".join(f"{x:.2f}" for x in r))
    return Claim(
        "§11.13",
        f"thresholded Muon-reg (η = √d, λ_t = d_{{t+1}}^(−α)·√d), d = {run.d}, N = {run.n_items}: "
        f"n_rec(t)/d_t at t = 1–4, d_t = min(d^(2−(1−1/(2α))^t), B^(1/α), N); exploratory, "
        f"{'every ratio' if all(within) else 'not every ratio'} within a factor {FACTOR:g}",
        "; ".join(measured),
        f"each in [{1 / FACTOR:g}, {FACTOR:g}] if the law held with constant 1",
        None,
    )


def _slope_claim(runs: list[MultiStepRun]) -> Claim:
    """How n_rec(t) grows with d at each t, against the law's exponent 2 − (1 − 1/(2α))^t: reported.

    A law right up to a constant factor (even one that depends on t) has this slope.
    """
    dims = [run.d for run in runs]
    alpha = runs[0].alpha
    measured = []
    for lane in runs[0].lanes:
        if lane.optimizer == "muon_reg" and lane.batch_size == 0:
            means = [[run.recovered[lane.name].mean(axis=0)[t] for run in runs] for t in COMPARED_STEPS]
            slopes = ", ".join(f"{loglog_slope(dims, y):.2f}" for y in means)
            measured.append(f"{lane.name}: {slopes}")
    exponents = ", ".join(f"{2.0 - (1.0 - 1.0 / (2.0 * alpha)) ** t:.2f}" for t in COMPARED_STEPS)
    return Claim(
        "§11.13",
        f"log-log slope of seed-mean n_rec(t) over d ∈ {{{', '.join(map(str, dims))}}}, t = 1–4; exploratory",
        "; ".join(measured),
        f"2 − (1 − 1/(2α))^t = {exponents}",
        None,
    )


def _variant(d: int, eta: float | str, lam: float | str) -> Constants:
    return Constants(float(d) if eta == "d" else float(eta), 1.0 / d if lam == "1/d" else float(lam))


class _LaneCounter:
    """Reports each lane run (one lane, one seed) as one unit of the reproduction's progress."""

    def __init__(self, settings: Settings, total: int) -> None:
        self.settings, self.total, self.done = settings, total, 0

    def __call__(self, text: str) -> None:
        self.settings.report(self.done, self.total, text)
        self.done += 1


VARIANT_LANES = (Dynamics("muon_reg", True, 0), Dynamics("muon_reg", False, 0))


def _variants_table(d: int, progress: _LaneCounter) -> dict[str, list]:
    """Thresholded and exact Muon-reg at B = ∞ under the other constants, one seed (seed 0)."""
    table = defaultdict(list)
    for eta, lam in CONSTANT_VARIANTS:
        constants = _variant(d, eta, lam)
        run = run_multistep(d, n_items_for(d), ALPHA, STEPS, VARIANT_LANES, (0,), constants, progress)
        _add_rows(table, run, {"eta_scale": constants.eta_scale, "lam_scale": constants.lam_scale})
    return dict(table)


@register("multi_step_recovery")
def multi_step_recovery(settings: Settings) -> Reproduction:
    """n_rec(t) of thresholded and exact minibatch dynamics against d_t (SCIENCE.md §5, §11.13).

    Full size d ∈ {64, 128}, CI size d = 32, both with N = max(2d², 2048), α = 1.5, B ∈ {∞, 4096},
    8 steps, seeds 0–2, literal constants (η = √d, λ_t = d_{t+1}^{−α}√d); the constant variants run
    at the smallest d on seed 0. Exploratory: with the literal constants the thresholded dynamics
    fall short of d_t by more than a factor of two at some t ≤ 4 at both full sizes (at B = ∞ by
    8–25× at t = 2–4; the notes hold the counts), so §11.13 is reported, not judged.
    """
    dims = (64, 128) if settings.full else (32,)
    out = Reproduction("multi_step_recovery", settings.size)
    table: dict[str, list] = defaultdict(list)
    lanes = multistep_lanes(BATCH)
    progress = _LaneCounter(
        settings, len(dims) * len(SEEDS) * len(lanes) + len(CONSTANT_VARIANTS) * len(VARIANT_LANES)
    )
    runs = []
    for d in dims:
        run = run_multistep(d, n_items_for(d), ALPHA, STEPS, lanes, SEEDS, progress=progress)
        out.data.append(_curve_set(run))
        _add_rows(table, run)
        out.claims.append(_claim(run))
        runs.append(run)
    if len(runs) > 1:
        out.claims.append(_slope_claim(runs))
    out.tables["multi_step"] = dict(table)
    out.tables["constants"] = _variants_table(dims[0], progress)
    out.notes.extend(_notes(out.tables["multi_step"], out.tables["constants"]))
    return out


def _row_text(table: dict[str, list], **where) -> str:
    rows = [i for i in range(len(table["d"])) if all(table[k][i] == v for k, v in where.items())]
    return ", ".join(f"{table['recovered'][i]:.0f}" for i in rows)


def _notes(table: dict[str, list], variants: dict[str, list]) -> list[str]:
    """What was run and what it measured, in numbers, for the summary."""
    notes = [
        "Exploratory (not judged). Dynamics of Kim et al.'s conjecture [S]: minibatch gradient "
        "G_t = −∇L(W_t; 𝔅_t) (B = ∞: population), W_{t+1} = W_t + η·h_{λ_t}(G_t), η = √d, "
        "λ_t = d_{t+1}^(−α)·√d with d_{t+1} capped by B^(1/α) and N. 'Thresholded' removes the items "
        "recovered (strict argmax) at W_t from the minibatch before the gradient; 'exact' keeps them. "
        "Both dynamics see the same seeded minibatches. GD: fixed lr η/‖∇L(0)‖₂.",
    ]
    for d in dict.fromkeys(table["d"]):
        lanes = dict.fromkeys(lane for lane, dd in zip(table["lane"], table["d"], strict=True) if dd == d)
        text = "; ".join(f"{lane}: {_row_text(table, d=d, lane=lane)}" for lane in lanes)
        notes.append(f"d = {d}, seed-mean n_rec(t), t = 0..{STEPS}: {text}.")
    d0 = variants["d"][0]
    text = "; ".join(
        f"η = {eta:g}·√d, λ scale {lam:.3g}: thresholded "
        f"{_row_text(variants, eta_scale=eta, lam_scale=lam, lane=Dynamics('muon_reg', True).name)}"
        f" / exact {_row_text(variants, eta_scale=eta, lam_scale=lam, lane=Dynamics('muon_reg', False).name)}"
        for eta, lam in dict.fromkeys(zip(variants["eta_scale"], variants["lam_scale"], strict=True))
    )
    notes.append(f"Other constants, d = {d0}, B = ∞, seed 0, n_rec(t) t = 0..{STEPS}: {text}.")
    return notes
