"""The time a step will take, said before a run starts where it is long."""

import dataclasses

import numpy as np
import pytest

from muonscope.engine import ExperimentConfig, LaneConfig, RunConfig, TaskConfig
from muonscope.engine.step_cost import (
    LANE_STEP_OVERHEAD_S,
    POINT_SETUP_S,
    SLOW_STEP_S,
    SVD_WORK_EXPONENT,
    MachineSpeed,
    distinct_draws,
    measured_speed,
    point_seconds,
    slow_step_seconds,
    step_cost,
    sum_of_powers,
)

SPEED = MachineSpeed(matmul_ops_per_s=1e10, svd_s=0.01, svdvals_s=0.004)


SGD = LaneConfig(optimizer="sgd")


def _config(d=256, n_items=2048, batch=256, lanes=(SGD,), **run) -> ExperimentConfig:
    task = TaskConfig(d=d, n_items=n_items, batch_size=batch)
    return ExperimentConfig(task=task, lanes=tuple(lanes), run=RunConfig(**run))


def test_the_gradient_is_priced_by_its_matrix_products_over_the_items_drawn():
    """4·d·(d + N) operations per distinct item of the minibatch, per lane."""
    config = _config(d=128, n_items=1024, batch=64)
    cost = step_cost(config, SPEED)
    assert cost.gradient_s == pytest.approx(distinct_draws(config.task) * 4 * 128 * (128 + 1024) / 1e10)
    exact = step_cost(_config(d=128, n_items=1024, batch=0), SPEED)  # B = 0: every item, every step
    assert exact.gradient_s == pytest.approx(1024 * 4 * 128 * (128 + 1024) / 1e10)
    two = step_cost(_config(d=128, n_items=1024, batch=64, lanes=[LaneConfig(optimizer="sgd")] * 2), SPEED)
    assert two.gradient_s == pytest.approx(2 * cost.gradient_s)


def test_an_exact_polar_map_costs_an_svd_and_newton_schulz_its_products():
    muon = LaneConfig(optimizer="muon", polar="exact")
    sgd = step_cost(_config(d=512), SPEED).update_s
    exact = step_cost(_config(d=512, lanes=[muon]), SPEED).update_s
    assert sgd == 0 and exact == pytest.approx(SPEED.svd_s * 8**SVD_WORK_EXPONENT)  # 8× the work
    ns5 = step_cost(_config(d=512, lanes=[dataclasses.replace(muon, polar="ns", ns_steps=5)]), SPEED)
    ns10 = step_cost(_config(d=512, lanes=[dataclasses.replace(muon, polar="ns", ns_steps=10)]), SPEED)
    assert ns10.update_s == pytest.approx(2 * ns5.update_s)


def test_spectra_and_evaluations_are_spread_over_the_steps_between_them():
    every = step_cost(_config(spectra_every=1, eval_every=1), SPEED)
    sparse = step_cost(_config(spectra_every=10, eval_every=5), SPEED)
    assert sparse.spectra_s == pytest.approx(every.spectra_s / 10)
    assert sparse.evaluation_s == pytest.approx(every.evaluation_s / 5)
    assert sparse.total_s < every.total_s


def test_a_quick_run_is_not_measured_for():
    before = measured_speed.cache_info().misses
    assert slow_step_seconds(_config(), "cpu", "float64") is None
    assert measured_speed.cache_info().misses == before  # the default sizes never pay the measurement


def test_a_run_whose_steps_take_long_is_priced_at_this_machines_speed():
    config = _config(d=4096, lanes=[LaneConfig(optimizer="muon", polar="exact")], spectra_every=1)
    seconds = slow_step_seconds(config, "cpu", "float64")
    speed = measured_speed("cpu", "float64")
    assert seconds == step_cost(config, speed).total_s and seconds >= SLOW_STEP_S
    assert speed.matmul_ops_per_s > 0 and 0 < speed.svdvals_s and 0 < speed.svd_s


@pytest.mark.parametrize(
    ("n_items", "batch", "alpha"), [(2048, 256, 1.5), (16384, 1024, 1.5), (3000, 500, 0.5)]
)
def test_the_items_a_zipf_minibatch_holds_are_counted_as_draws_show_them(n_items, batch, alpha):
    """The expected number of distinct items against a Monte Carlo count of real draws."""
    task = TaskConfig(d=16, n_items=n_items, batch_size=batch, alpha=alpha)
    probs = np.arange(1, n_items + 1, dtype=float) ** -alpha
    probs /= probs.sum()
    draws = np.random.default_rng(0).choice(n_items, size=(400, batch), p=probs)
    counted = np.mean([np.unique(row).size for row in draws])
    assert distinct_draws(task) == pytest.approx(counted, rel=0.02)


def test_a_tail_of_powers_is_summed_as_its_terms_add_up():
    for alpha in (0.5, 1.0, 1.5, 2.0):
        terms = np.arange(1000, 300_001, dtype=float) ** -alpha
        assert sum_of_powers(1000, 300_000, alpha) == pytest.approx(terms.sum(), rel=1e-6)
    big = TaskConfig(d=16, n_items=3_000_000, batch_size=4096, alpha=1.1)  # the tail past 10⁶ by its sum
    assert 0 < distinct_draws(big) < 4096


def test_a_sweep_point_is_priced_by_its_steps_and_its_two_exact_evaluations():
    """With the work around the arithmetic: one-step points of d = 32 took twice their arithmetic."""
    config = _config(d=128, n_items=1024, batch=64)
    one = point_seconds(config, 1, SPEED)
    ten = point_seconds(config, 10, SPEED)
    step = step_cost(config, SPEED).total_s + len(config.lanes) * LANE_STEP_OVERHEAD_S
    assert ten - one == pytest.approx(9 * step)
    exact = 2 * 4 * 1024 * 128 * (128 + 1024) / 1e10  # every item evaluated, at step 0 and at the end
    assert one == pytest.approx(POINT_SETUP_S + step + exact)


def test_a_sweep_computes_only_the_points_its_cache_lacks(tmp_path):
    from muonscope.engine.sweep import SweepRunner
    from muonscope.engine.sweep_plans import plan

    config = _config(d=16, n_items=64, batch=16, lanes=[SGD, LaneConfig(optimizer="muon")])
    points = plan(config, "batch")
    runner = SweepRunner(points, workers=1, cache_dir=tmp_path)
    assert runner.uncached() == list(points)
    list(runner)
    assert SweepRunner(points, workers=1, cache_dir=tmp_path).uncached() == []
    assert SweepRunner(points, workers=1, use_cache=False).uncached() == list(points)
