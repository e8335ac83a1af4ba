"""The stratified sample of items and its estimators, on known populations (no model needed)."""

import numpy as np
import pytest

from muonscope.engine.tasks.frequencies import hierarchical_probs, log2_rank_groups, zipf_probs
from muonscope.engine.tasks.population_sample import (
    draw_stratified,
    estimate_group_means,
    estimate_indicator_total,
    estimate_totals,
)

N_ITEMS = 5000
BUDGET = 300


def _zipf_population():
    """Zipf frequencies, log2 groups, and skewed per-item values: a recovered head, a rare tail."""
    probs = zipf_probs(N_ITEMS, 1.2)
    groups = log2_rank_groups(N_ITEMS)
    starts = np.flatnonzero(np.diff(groups, prepend=-1))
    rng = np.random.default_rng(7)
    recovered = (rng.random(N_ITEMS) < np.exp(-np.arange(N_ITEMS) / 800)).astype(float)  # (N,)
    loss = rng.gamma(2.0, 1.0, N_ITEMS) * (1 + np.arange(N_ITEMS) / 1000)  # (N,) heavier in the tail
    return probs, groups, starts, np.stack([recovered, recovered * probs, loss * probs, loss])  # (4, N)


def test_the_design_spends_the_budget_within_each_stratum_and_takes_the_head_whole():
    probs, _, starts, _ = _zipf_population()
    sample = draw_stratified(probs, starts, BUDGET, seed=3)
    assert sample.size == BUDGET == sample.stratum_draws.sum()
    assert np.all(np.diff(sample.items) > 0)  # distinct, ascending (the pass's column order)
    assert np.all(sample.stratum_draws >= np.minimum(8, sample.stratum_sizes))  # enough for a variance
    assert np.all(sample.stratum_draws <= sample.stratum_sizes)
    assert sample.stratum_sizes.sum() == N_ITEMS
    head = sample.items[:15]
    assert np.array_equal(head, np.arange(15))  # ranks 1–15 carry most of the mass: evaluated in full
    assert sample.items[-1] >= 4096  # and the last log2 bucket, the far tail, is sampled too
    for h, start in enumerate(starts):
        inside = sample.items[sample.stratum == h]
        assert np.all((inside >= start) & (inside < start + sample.stratum_sizes[h]))


def test_a_seed_fixes_the_sample_and_another_seed_changes_it():
    probs, _, starts, _ = _zipf_population()
    first, again = draw_stratified(probs, starts, BUDGET, 11), draw_stratified(probs, starts, BUDGET, 11)
    other = draw_stratified(probs, starts, BUDGET, 12)
    assert np.array_equal(first.items, again.items)
    assert not np.array_equal(first.items, other.items)


def test_totals_are_unbiased_and_their_standard_errors_match_the_spread():
    """Over many samples the estimates centre on the true totals, scattered as their errors say."""
    probs, _, starts, values = _zipf_population()
    truth = values.sum(axis=1)  # (4,)
    estimates, errors = [], []
    for seed in range(400):
        sample = draw_stratified(probs, starts, BUDGET, seed)
        total, error = estimate_totals(sample, values[:, sample.items])
        estimates.append(total)
        errors.append(error)
    estimates, errors = np.array(estimates), np.array(errors)  # (S, 4)
    spread = estimates.std(axis=0)
    assert np.all(np.abs(estimates.mean(axis=0) - truth) <= 4 * spread / np.sqrt(400))
    ratio = np.sqrt((errors**2).mean(axis=0)) / spread
    assert np.all((ratio > 0.8) & (ratio < 1.25)), ratio


@pytest.mark.parametrize("weighted", [False, True], ids=["items recovered", "mass recovered"])
def test_indicator_totals_are_unbiased_and_their_errors_match_the_spread(weighted):
    probs, _, starts, values = _zipf_population()
    recovered = values[:1]  # (1, N)
    weights = probs if weighted else np.ones(N_ITEMS)
    truth = (recovered * weights).sum()
    estimates, errors = [], []
    for seed in range(400):
        sample = draw_stratified(probs, starts, BUDGET, seed)
        total, error = estimate_indicator_total(sample, recovered[:, sample.items], weights[sample.items])
        estimates.append(total[0])
        errors.append(error[0])
    estimates, errors = np.array(estimates), np.array(errors)
    spread = estimates.std()
    assert abs(estimates.mean() - truth) <= 4 * spread / np.sqrt(400)
    assert 0.8 < np.sqrt((errors**2).mean()) / spread < 1.5


@pytest.mark.parametrize("weighted", [False, True], ids=["items recovered", "mass recovered"])
def test_a_tail_whose_draws_were_never_recovered_still_has_an_error(weighted):
    """A d = 512 run's Adam read "≈ 44 ± 0" items (exact: 45): no sampled tail item was recovered,
    so each tail stratum's sample variance was 0, though its unsampled items held one."""
    probs, _, starts, _ = _zipf_population()
    rng = np.random.default_rng(3)
    recovered = (np.arange(N_ITEMS) < 15).astype(float)  # the head, evaluated whole, is recovered
    recovered[rng.choice(np.arange(1024, N_ITEMS), 4, replace=False)] = 1.0  # four rare tail items
    weights = probs if weighted else np.ones(N_ITEMS)
    truth = (recovered * weights).sum()
    covered, plain_zero = 0, 0
    for seed in range(400):
        sample = draw_stratified(probs, starts, BUDGET, seed)
        hits = recovered[None, sample.items]
        total, error = estimate_indicator_total(sample, hits, weights[sample.items])
        plain = estimate_totals(sample, hits * weights[sample.items])[1]
        assert error[0] > 0
        plain_zero += plain[0] == 0
        covered += abs(total[0] - truth) <= 2 * error[0]
    assert plain_zero > 200  # most samples drew none of the four: the plain error said ± 0
    assert covered / 400 > 0.9  # the interval ± 2 errors holds the truth as often as it should


def test_strata_taken_whole_add_no_error():
    """Values that vary only inside the strata evaluated in full are estimated exactly, with error 0."""
    probs, _, starts, _ = _zipf_population()
    sample = draw_stratified(probs, starts, BUDGET, seed=5)
    whole_items = np.concatenate(
        [
            np.arange(start, start + size)
            for start, size, n in zip(starts, sample.stratum_sizes, sample.stratum_draws, strict=True)
            if n == size
        ]
    )
    values = np.full((1, N_ITEMS), 0.25)
    values[0, whole_items] = np.random.default_rng(0).random(whole_items.size)
    total, error = estimate_totals(sample, values[:, sample.items])
    assert whole_items.size >= 15
    assert error[0] == pytest.approx(0.0, abs=1e-9)
    assert total[0] == pytest.approx(values.sum(), rel=1e-12)


def test_group_means_centre_on_the_truth_and_absent_groups_are_nan():
    """Groups too many to be strata are estimated as domains of the log2 strata; unseen ones are NaN."""
    probs, groups = hierarchical_probs(4096, 1024, 1.0)  # 1024 groups of 4: more than 300 / 2 strata
    starts = np.flatnonzero(np.diff(groups, prepend=-1))
    values = np.random.default_rng(1).random((1, 4096))  # (1, N)
    truth = values[0].reshape(1024, 4).mean(axis=1)  # (G,)
    sums, counts = np.zeros(1024), np.zeros(1024)
    for seed in range(300):
        sample = draw_stratified(probs, starts, BUDGET, seed)
        means, errors = estimate_group_means(sample, values[:, sample.items], groups)
        seen = np.isfinite(means[0])
        assert np.array_equal(seen, np.isfinite(errors[0]))
        assert np.array_equal(seen, np.isin(np.arange(1024), groups[sample.items]))
        sums[seen] += means[0][seen]
        counts[seen] += 1
    assert sample.stratum_sizes.size == 13  # the log2 buckets, not 1024 strata
    average = sums / counts  # (G,) each group's estimate, averaged over the samples that saw it
    assert counts.min() > 0
    assert abs((average - truth).mean()) < 0.01  # no bias, pooled over the groups
    assert np.abs(average - truth).mean() < 0.06


def test_group_means_are_exact_where_groups_are_strata_taken_whole():
    probs, groups = hierarchical_probs(4096, 8, 1.5)
    starts = np.flatnonzero(np.diff(groups, prepend=-1))
    values = np.random.default_rng(2).random((2, 4096))
    sample = draw_stratified(probs, starts, 3000, seed=0)
    means, errors = estimate_group_means(sample, values[:, sample.items], groups)
    whole = sample.stratum_draws == sample.stratum_sizes  # strata are the 8 groups here
    truth = values.reshape(2, 8, 512).mean(axis=2)
    assert whole.any() and not whole.all()
    assert np.allclose(means[:, whole], truth[:, whole], rtol=1e-12)
    assert np.all(errors[:, whole] < 1e-9) and np.all(errors[:, ~whole] > 0)
    assert np.all(np.abs(means - truth) <= 5 * errors + 1e-12)


@pytest.mark.parametrize("budget", [64, 1000])
def test_every_stratum_gets_two_draws_whatever_the_budget(budget):
    """Two draws are what a stratum's variance needs (one-item strata are simply taken whole)."""
    probs, _, starts, _ = _zipf_population()
    sample = draw_stratified(probs, starts, budget, seed=0)
    assert sample.size == budget
    least = 2 if budget == 64 else 8  # eight where half the budget covers them
    assert np.all(sample.stratum_draws >= np.minimum(least, sample.stratum_sizes))
    assert sample.stratum_sizes.min() == 1 and sample.stratum_sizes.max() > budget
