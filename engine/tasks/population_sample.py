"""A seeded, frequency-stratified sample of items and the unbiased estimates it supports.

Evaluating every item costs N²d per lane (each item's argmax runs over all N outputs). Beyond a
size, a memory task evaluates a sample of items instead — each sampled item still exactly, over
all N outputs — and estimates population totals and group means from it.

The design is stratified sampling without replacement (Cochran, *Sampling Techniques*, ch. 5).
Strata are contiguous ranges of frequency ranks: the task's own frequency groups (the log2 rank
buckets 1 | 2–3 | 4–7 | … of a power law), so that head and tail are both covered and each group
is estimated from its own stratum. Stratum h of N_h items gets n_h draws, half of the budget
shared in proportion to N_h (for the count-weighted quantities: items recovered, group means) and
half in proportion to the stratum's probability mass P_h (for the mass-weighted ones: accuracy,
loss). A stratum whose share
reaches its size is taken whole, which for a power law means the head is evaluated exactly; every
stratum gets at least eight draws where the budget allows (two at least), so that its variance
can be estimated.

For values y_i of the sampled items the expansion estimator of a total Σ_i y_i is
T̂ = Σ_h (N_h / n_h) Σ_{i ∈ s_h} y_i, unbiased, with variance estimated by
Σ_h N_h² (1 − n_h/N_h) s_h² / n_h (s_h² the sample variance in stratum h; zero for a stratum
taken whole). A group's mean is its estimated total over its known size.

A total of 0/1 outcomes (items recovered, the mass of those recovered) has s_h² = 0 in a stratum
whose draws all came out alike (no sampled tail item recovered), though the stratum's unsampled
items may hold some: the plain estimate then said "± 0" and missed the exact count. Its variance
is taken no smaller than that of a proportion with half an outcome of each kind added to the draws,
p̃_h = (k_h + ½)/(n_h + 1) (Jeffreys' prior; Agresti & Coull's remedy for the Wald interval).

Numpy only: no torch, so the design and the estimators are testable on their own.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "StratifiedSample",
    "draw_stratified",
    "estimate_group_means",
    "estimate_indicator_total",
    "estimate_totals",
]

#: Draws a stratum gets at least, budget permitting: a sample variance from two or three values is
#: itself so uncertain that a stratum's standard error would often read near zero.
MIN_DRAWS = 8
#: ... and never fewer than this (the least a sample variance needs).
LEAST_DRAWS = 2
#: Offset that separates the evaluation sample's stream from the other streams of one seed.
_SAMPLE_STREAM = 0xE7A1


@dataclass(frozen=True, slots=True)
class StratifiedSample:
    """Which items are evaluated, and the design that weights them."""

    items: np.ndarray  # (n,) int64: sampled items (frequency ranks), ascending
    stratum: np.ndarray  # (n,) int64: stratum of each sampled item
    stratum_sizes: np.ndarray  # (H,) int64: N_h, items in each stratum
    stratum_draws: np.ndarray  # (H,) int64: n_h, items sampled from each stratum

    @property
    def size(self) -> int:
        return int(self.items.shape[0])

    @property
    def expansion(self) -> np.ndarray:
        """(n,) N_h / n_h of each sampled item: how many population items it stands for."""
        return (self.stratum_sizes / self.stratum_draws)[self.stratum]


def stratum_starts(n_items: int, group_starts: np.ndarray, budget: int) -> np.ndarray:
    """First rank of each stratum: the task's frequency groups, or log2 rank buckets when they are too many.

    Every task's groups are contiguous ranges of frequency ranks (log2 buckets for a power law, the
    hierarchy's groups, head and tail), so each group is estimated from its own stratum. A task
    with more groups than a quarter of the budget (a group per item, say) is stratified by the log2
    buckets instead, and its groups are estimated as domains that cut across them.
    """
    starts = np.asarray(group_starts, dtype=np.int64)
    if 0 < starts.size <= budget // (2 * LEAST_DRAWS):  # the least draws take half the budget at most
        return starts
    log2_starts = (1 << np.arange(int(n_items).bit_length(), dtype=np.int64)) - 1  # 0, 1, 3, 7, …
    return log2_starts[log2_starts < n_items]


def allocate(sizes: np.ndarray, masses: np.ndarray, budget: int) -> np.ndarray:
    """n_h: ``budget`` draws shared half by stratum size, half by stratum mass, each within [floor, N_h].

    Strata whose share reaches their size are taken whole and the rest is shared again among the
    others; the remainders of the rounding go to the largest fractional shares. The floor is
    MIN_DRAWS where half the budget covers it (LEAST_DRAWS at worst). Needs
    sum(sizes) > budget ≥ 2 · LEAST_DRAWS · len(sizes).
    """
    weight = 0.5 * sizes / sizes.sum() + 0.5 * masses / masses.sum()  # (H,)
    whole = np.zeros(sizes.shape, dtype=bool)
    while True:
        left = budget - sizes[whole].sum()
        share = np.where(whole, sizes, left * weight / weight[~whole].sum())
        newly = ~whole & (share >= sizes)
        if not newly.any():
            break
        whole |= newly
    least = max(LEAST_DRAWS, min(MIN_DRAWS, budget // (2 * sizes.size)))
    floor = np.minimum(sizes, least)
    draws = np.clip(np.floor(share).astype(np.int64), floor, sizes)
    by_remainder = np.argsort(-(share - np.floor(share)), kind="stable")
    while (gap := budget - int(draws.sum())) != 0:
        step = 1 if gap > 0 else -1
        room = draws < sizes if step > 0 else draws > floor
        order = by_remainder if step > 0 else np.argsort(-draws, kind="stable")
        chosen = order[room[order]][: abs(gap)]
        draws[chosen] += step
    return draws


def draw_stratified(probs: np.ndarray, group_starts: np.ndarray, budget: int, seed: int) -> StratifiedSample:
    """``budget`` items of the N = len(probs) > budget, stratified by frequency rank, drawn from ``seed``."""
    n_items = probs.shape[0]
    starts = stratum_starts(n_items, group_starts, budget)
    ends = np.append(starts[1:], n_items)
    sizes = ends - starts  # (H,)
    masses = np.add.reduceat(probs, starts)  # (H,)
    draws = allocate(sizes, masses, budget)
    rng = np.random.default_rng([seed, _SAMPLE_STREAM])
    items = np.concatenate(
        [
            start + np.sort(rng.choice(size, n, replace=False))
            for start, size, n in zip(starts, sizes, draws, strict=True)
        ]
    )
    stratum = np.repeat(np.arange(starts.size), draws)
    return StratifiedSample(items.astype(np.int64), stratum, sizes, draws)


def estimate_totals(sample: StratifiedSample, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Σ_i y_i over the population and its standard error, from y of the sampled items (L, n) → (L,), (L,)."""
    totals, variances = _stratum_moments(sample, values)
    return totals.sum(axis=-1), np.sqrt(variances.sum(axis=-1))


def estimate_indicator_total(
    sample: StratifiedSample, indicator: np.ndarray, weights: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Σ_i w_i c_i over the population for 0/1 outcomes c (L, n) and known weights w (n,), default 1,
    with a standard error that a stratum whose draws all came out alike does not bring to 0."""
    weights = np.ones(sample.size) if weights is None else weights  # (n,)
    totals, variances = _stratum_moments(sample, indicator * weights)  # (L, H) each
    floor = _unseen_outcome_variance(sample, indicator, weights)  # (L, H)
    return totals.sum(axis=-1), np.sqrt(np.maximum(variances, floor).sum(axis=-1))


def estimate_group_means(
    sample: StratifiedSample, values: np.ndarray, group_of_item: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Mean of y within each group, with its standard error: (L, n) → (L, G), (L, G).

    The mean is the expansion-weighted mean of the group's sampled items, Σ w y / Σ w. When the
    group is a stratum (the design makes it one whenever the budget allows) Σ w is the group's
    size exactly and the estimate is unbiased; a group that cuts across strata is a domain of the
    design and its weighted mean is the ratio (Hájek) estimator, unbiased to O(1/n). The error is
    the linearised one, that of the total of the residuals y − ȳ_g over the estimated size. A
    group none of whose items was sampled has no estimate (NaN).
    """
    n_groups = int(group_of_item.max()) + 1
    groups = group_of_item[sample.items]  # (n,)
    weight = sample.expansion  # (n,)
    size = np.bincount(groups, weights=weight, minlength=n_groups)  # (G,) estimated N_g
    seen = size > 0
    totals = np.stack([np.bincount(groups, weights=weight * row, minlength=n_groups) for row in values])
    with np.errstate(invalid="ignore", divide="ignore"):
        means = np.where(seen, totals / size, np.nan)  # (L, G)
        residuals = values - means[:, groups]  # (L, n)
        spread = np.sqrt(_domain_variances(sample, residuals, groups, n_groups)) / size
    return means, np.where(seen, spread, np.nan)


def _stratum_moments(sample: StratifiedSample, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per stratum: estimated total N_h ȳ_h and the variance of that estimate, each (L, H)."""
    starts = np.flatnonzero(np.diff(sample.stratum, prepend=-1))  # sampled items are grouped by stratum
    n_h = sample.stratum_draws.astype(np.float64)
    big_n = sample.stratum_sizes.astype(np.float64)
    sums = np.add.reduceat(values, starts, axis=-1)  # (L, H)
    squares = np.add.reduceat(values * values, starts, axis=-1)
    return big_n * sums / n_h, _variance_of_total(sums, squares, n_h, big_n)


def _unseen_outcome_variance(
    sample: StratifiedSample, indicator: np.ndarray, weights: np.ndarray
) -> np.ndarray:
    """(L, H) the variance of a stratum's estimated total had its draws held half an outcome of each
    kind more: p̃ (1 − p̃) times the mean squared weight, p̃ = (k_h + ½)/(n_h + 1); 0 when taken whole."""
    starts = np.flatnonzero(np.diff(sample.stratum, prepend=-1))
    n_h = sample.stratum_draws.astype(np.float64)  # (H,)
    big_n = sample.stratum_sizes.astype(np.float64)
    hits = np.add.reduceat(indicator, starts, axis=-1)  # (L, H) k_h
    share = (hits + 0.5) / (n_h + 1.0)  # (L, H) p̃_h
    mean_square_weight = np.add.reduceat(weights * weights, starts) / n_h  # (H,)
    return big_n * big_n * (1.0 - n_h / big_n) * share * (1.0 - share) * mean_square_weight / n_h


def _variance_of_total(
    sums: np.ndarray, squares: np.ndarray, n_h: np.ndarray, big_n: np.ndarray
) -> np.ndarray:
    """N_h² (1 − n_h/N_h) s_h² / n_h from the stratum's sum and sum of squares (zero when taken whole)."""
    spread = np.maximum(squares - sums * sums / n_h, 0.0) / np.maximum(n_h - 1.0, 1.0)  # s_h²
    return big_n * big_n * (1.0 - n_h / big_n) * spread / n_h


def _domain_variances(
    sample: StratifiedSample, values: np.ndarray, groups: np.ndarray, n_groups: int
) -> np.ndarray:
    """Variance of each group's estimated total, (L, G), summing over the strata that hold its items."""
    pair = sample.stratum * n_groups + groups  # (n,) one key per (stratum, group) present
    keys, slot = np.unique(pair, return_inverse=True)
    stratum_of_key, group_of_key = keys // n_groups, keys % n_groups
    n_h = sample.stratum_draws[stratum_of_key].astype(np.float64)
    big_n = sample.stratum_sizes[stratum_of_key].astype(np.float64)
    out = np.zeros((values.shape[0], n_groups))
    for lane, row in enumerate(values):
        sums = np.bincount(slot, weights=row, minlength=keys.size)
        squares = np.bincount(slot, weights=row * row, minlength=keys.size)
        per_key = _variance_of_total(sums, squares, n_h, big_n)
        out[lane] = np.bincount(group_of_key, weights=per_key, minlength=n_groups)
    return out
