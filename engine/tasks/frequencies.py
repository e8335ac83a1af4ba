"""Item-frequency laws and the frequency groups each task reports losses for.

Items are always indexed by frequency rank (item 0 is the most frequent), so per-class curves read
head → tail from left to right without re-sorting.
"""

from __future__ import annotations

import numpy as np

__all__ = ["hierarchical_probs", "log2_rank_groups", "staircase_probs", "two_level_probs", "zipf_probs"]


def zipf_probs(n_items: int, alpha: float) -> np.ndarray:
    """p_i ∝ i^-α for ranks i = 1..N (Kim et al.'s power law)."""
    weights = np.arange(1, n_items + 1, dtype=np.float64) ** -alpha
    return weights / weights.sum()


def hierarchical_probs(n_items: int, groups: int, exponent: float) -> tuple[np.ndarray, np.ndarray]:
    """M groups of C = N/M items with group masses p̃_g ∝ g^-β, shared equally inside a group.

    Returns (probs (N,), group index of each item (N,)).
    """
    per_group = n_items // groups
    group_mass = np.arange(1, groups + 1, dtype=np.float64) ** -exponent
    group_mass /= group_mass.sum()
    group_of_item = np.repeat(np.arange(groups), per_group)
    return group_mass[group_of_item] / per_group, group_of_item


def two_level_probs(n_items: int, head_count: int, head_mass: float) -> tuple[np.ndarray, np.ndarray]:
    """The first ``head_count`` items share ``head_mass``; the others share the rest (group 0, 1)."""
    group_of_item = (np.arange(n_items) >= head_count).astype(np.int64)
    probs = np.where(group_of_item == 0, head_mass / head_count, (1.0 - head_mass) / (n_items - head_count))
    return probs, group_of_item


def staircase_probs(n_items: int) -> tuple[np.ndarray, np.ndarray]:
    """Wang et al.'s (ICLR 2026) staircase: group 0 holds one class, group g ≥ 1 holds 2^(g−1).

    Every class of group g has mass ∝ 2^−g, so a group's total mass is constant for g ≥ 1: a
    p ∝ 1/rank law in steps. The last group is cut at N.
    """
    groups = np.zeros(n_items, dtype=np.int64)
    groups[1:] = np.floor(np.log2(np.arange(1, n_items))).astype(np.int64) + 1
    weights = 2.0 ** -groups.astype(np.float64)
    return weights / weights.sum(), groups


def log2_rank_groups(n_items: int) -> np.ndarray:
    """Rank buckets 1 | 2–3 | 4–7 | …: the natural groups of a power law on log axes."""
    return np.floor(np.log2(np.arange(1, n_items + 1))).astype(np.int64)
