"""Newton and TRA-SignGD rules, the staircase and anisotropic tasks, ray balance, sweep plans."""

import math
from dataclasses import replace

import numpy as np
import pytest
import torch

from muonscope.engine import ConfigError, Experiment, ExperimentConfig, LaneConfig, RunConfig, TaskConfig
from muonscope.engine.balance import first_step_direction, first_step_ray, ray_balance
from muonscope.engine.optim.registry import OPTIMIZERS
from muonscope.engine.optim.rules import LaneState
from muonscope.engine.reproduce.tail import gd_rho_closed_form
from muonscope.engine.sweep import PointResult, SweepPoint
from muonscope.engine.sweep_plans import curves, fitted_slopes, guides, plan
from muonscope.engine.sweep_point import run_point
from muonscope.engine.task_kinds import view_problem
from muonscope.engine.tasks.frequencies import staircase_probs
from muonscope.engine.tasks.memory_task import MemoryTask

CPU, DT = torch.device("cpu"), torch.float64


def _memory(**task):
    return MemoryTask(TaskConfig(**task), CPU, DT)


def test_newton_step_inverts_both_covariances():
    task = _memory(d=12, n_items=200, alpha=1.2, batch_size=0)
    grad = task.signal_gradients(torch.zeros(1, 12, 12, dtype=DT))[0]
    lane = LaneConfig(optimizer="newton", lr=1.0, momentum=0.0, order="none")
    step = OPTIMIZERS["newton"].rule(grad, LaneState(geometry=task.geometry), lane)
    mean = task.outputs.mean(0)
    c_u = task.outputs.T @ task.outputs / 200 - torch.outer(mean, mean)
    c_e = (task.inputs.T * task.probs) @ task.inputs
    assert torch.allclose(c_u @ step @ c_e, grad, atol=1e-10)  # full-rank covariances: exact inverse


def test_tra_signgd_is_sign_in_task_coordinates():
    task = _memory(kind="hierarchical", d=16, n_items=16, groups=4, embeddings="orthogonal", batch_size=0)
    grad = task.signal_gradients(torch.zeros(1, 16, 16, dtype=DT))[0]
    lane = LaneConfig(optimizer="tra_signgd", lr=0.5, momentum=0.0, order="none")
    step = OPTIMIZERS["tra_signgd"].rule(grad, LaneState(geometry=task.geometry), lane)
    in_task = task.outputs @ step @ task.inputs.T  # Ẽᵀ D E
    assert torch.allclose(in_task, torch.sign(task.outputs @ grad @ task.inputs.T), atol=1e-12)


def test_oracle_rules_need_a_memory_task():
    with pytest.raises(ConfigError, match=r"lanes\[0\]\.optimizer = 'newton'"):
        ExperimentConfig(task=TaskConfig(kind="spiked"), lanes=(LaneConfig(optimizer="newton"),))


def test_oracle_lanes_run_in_an_experiment_and_after_a_switch():
    config = ExperimentConfig(
        task=TaskConfig(kind="hierarchical", d=16, n_items=16, groups=4, batch_size=0),
        lanes=(
            LaneConfig(optimizer="sgd", lr=10.0, momentum=0.0),
            LaneConfig(optimizer="tra_signgd", lr=0.5, momentum=0.0, order="none"),
        ),
        run=RunConfig(eval_every=1),
    )
    experiment = Experiment(config)
    experiment.step(3)
    from muonscope.engine import SetField

    experiment.apply(SetField("lanes[0].optimizer", "newton"))
    experiment.step(2)
    lanes = experiment.snapshot().lanes
    assert lanes[0].optimizer == "newton" and np.isfinite(lanes[0].loss)
    assert lanes[1].loss < math.log(16)  # TRA-SignGD has learned from the uniform start


def test_staircase_frequencies():
    probs, groups = staircase_probs(16)
    assert groups.tolist() == [0, 1, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 4, 4, 4, 4]
    assert probs.sum() == pytest.approx(1.0)
    assert probs[1] / probs[2] == pytest.approx(2.0)
    group_mass = [probs[groups == g].sum() for g in range(1, 5)]
    assert np.allclose(group_mass, group_mass[0])  # every group g ≥ 1 carries the same mass


def test_anisotropic_inputs_have_the_requested_covariance():
    task = _memory(d=8, n_items=20000, anisotropy=1.0)
    variances = task.inputs.var(dim=0).numpy()
    expected = 1.0 / np.arange(1, 9)
    assert np.allclose(variances, expected / expected.sum(), rtol=0.05)
    with pytest.raises(ConfigError, match="anisotropy"):
        TaskConfig(d=8, n_items=8, embeddings="orthogonal", anisotropy=0.5)


def test_gd_ray_balance_matches_the_closed_form():
    task = _memory(kind="two_level", d=32, n_items=32, embeddings="orthogonal", batch_size=0)
    direction = first_step_direction(task, LaneConfig(optimizer="sgd", lr=1.0, momentum=0.0))
    assert ray_balance(task, direction, 0.01).rho == pytest.approx(
        gd_rho_closed_form(32, 0.8, 0.2, 0.01), abs=1e-8
    )


def test_first_step_rays_separate_gd_from_muon():
    task = MemoryTask(
        TaskConfig(kind="two_level", d=32, n_items=32, batch_size=0, embeddings="orthogonal"),
        torch.device("cpu"),
        torch.float64,
    )
    gd = first_step_ray(task, LaneConfig(optimizer="sgd", lr=1.0, momentum=0.0), points=10)
    muon = first_step_ray(task, LaneConfig(optimizer="muon", lr=1.0, momentum=0.0, order="none"), points=10)
    assert gd.rho < 0.1 < 0.95 < muon.rho
    assert gd.gap.shape == gd.loss.shape == (10,)
    assert muon.gap.max() < gd.gap.max()  # Muon's classes rise together along its ray


def test_signgds_ray_is_judged_at_eta_star_and_keeps_the_scans_lower_infimum_beside():
    """The window's ϱ_SignGD for Haar embeddings was the scan's end (2·10⁻³⁷ at 100·η*) where the
    reproduction judges min_k f_k at η* (0.014, the paper's 0.013)."""
    task = MemoryTask(
        TaskConfig(kind="two_level", d=64, n_items=64, batch_size=0, embeddings="orthogonal"), CPU, DT
    )
    lane = LaneConfig(optimizer="signgd", lr=1.0, momentum=0.0)
    ray = first_step_ray(task, lane, points=10)
    balance = ray_balance(task, first_step_direction(task, lane), 0.01, scan=True)
    assert ray.rho == balance.rho_at_feasible and 0.005 < ray.rho < 0.05
    assert ray.lower_further == balance.rho < ray.rho / 1e6
    gd = first_step_ray(task, LaneConfig(optimizer="sgd", lr=1.0, momentum=0.0), points=10)
    assert gd.lower_further is None  # not scanned: its classes rise together


def _config(**task):
    return ExperimentConfig(
        task=TaskConfig(**task),
        lanes=(
            LaneConfig(optimizer="sgd", lr=1.0, momentum=0.0),
            LaneConfig(optimizer="muon", lr=1.0, momentum=0.9),
        ),
        run=RunConfig(steps=40),
    )


def test_sweep_plans_vary_one_field_over_seeds():
    points = plan(_config(d=32, n_items=512, batch_size=64), "d")
    assert {p.coord("d") for p in points} == {8, 16, 32, 64}
    assert all(p.steps == 1 and p.config.task.batch_size == 0 for p in points)
    assert {p.config.task.seed for p in points} == {0, 1, 2}
    batches = plan(_config(d=32, n_items=64), "batch")
    assert [p.coord("batch") for p in batches][::3] == [16, 32, 64, 128, 256]
    mus = plan(_config(kind="spiked", rows=20, cols=10), "mu")
    assert all(p.steps == 40 and all(lane.momentum == p.coord("mu") for lane in p.config.lanes) for p in mus)


def test_sweep_points_run_on_the_runs_device_and_dtype():
    config = _config(d=32, n_items=512).with_values([("run.device", "cpu"), ("run.dtype", "float32")])
    for axis in ("d", "batch"):
        assert {(p.config.run.device, p.config.run.dtype) for p in plan(config, axis)} == {("cpu", "float32")}
    big = _config(d=32, n_items=8192, batch_size=64)  # past the exact-evaluation size of a live run
    assert all(p.config.run.exact_eval_items >= p.config.task.n_items for p in plan(big, "batch"))


def test_sweep_axes_that_do_not_apply_are_refused():
    assert "spiked" in view_problem(_config(d=32, n_items=512).task, "mu")
    assert view_problem(_config(kind="spiked").task, "d")
    with pytest.raises(ConfigError, match="sweep"):
        plan(_config(kind="hierarchical", d=16, n_items=16, groups=4), "d")


def _result(axis, value, seed, values):
    point = SweepPoint(_config(d=16, n_items=64), 1, ((axis, value), ("seed", seed)))
    lanes = tuple({"label": f"lane {i}", "recovered": v, "sin_theta": v} for i, v in enumerate(values))
    return PointResult(point, lanes, 0.0)


def test_curves_average_over_seeds_and_guides_anchor_on_the_right_lane():
    results = [_result("d", d, s, (d / 8 + s, d**1.3 + s)) for d in (8, 16, 32) for s in (0, 1, 2)]
    gd, muon = curves(results, "d")
    assert gd.x.tolist() == [8, 16, 32] and gd.mean.tolist() == [2.0, 3.0, 5.0]
    assert gd.lo.tolist() == [1.0, 2.0, 4.0] and gd.hi.tolist() == [3.0, 4.0, 6.0]
    lines = guides(_config(d=16, n_items=64, alpha=1.5), "d", [gd, muon])
    slope = math.log(lines[0][2][-1] / lines[0][2][0]) / math.log(4)
    assert lines[0][0].startswith("slope 1 + 1/(2α)") and slope == pytest.approx(4 / 3)
    assert lines[0][2][0] == muon.mean[0] and lines[1][2][0] == gd.mean[0]


def test_a_sweep_over_d_fits_each_curves_power_and_no_other_axis_does():
    """The fitted slope beside the guide's: a power law's own exponent, from its log-log points."""
    results = [
        _result("d", d, s, (0.5 * d**1.5, 2.0 * d**0.4, 0.0)) for d in (8, 16, 32, 64) for s in (0, 1, 2)
    ]
    drawn = curves(results, "d")
    slopes = fitted_slopes("d", drawn)
    assert set(slopes) == {0, 1}  # the lane that recovered nothing has no logarithm to fit
    assert slopes[0] == pytest.approx(1.5, rel=1e-12) and slopes[1] == pytest.approx(0.4, rel=1e-12)
    assert fitted_slopes("d", [replace(curve, x=curve.x[:2], mean=curve.mean[:2]) for curve in drawn]) == {}
    assert fitted_slopes("window", drawn) == {}  # its sin Θ flattens past the bound: no one power


def test_a_sweep_stopped_part_way_counts_the_seeds_of_each_point():
    """4 of 33 points done: B = 32 had one seed, drawn and tabled as a mean over three."""
    results = [_result("d", 8, s, (1.0 + s, 2.0)) for s in (0, 1, 2)] + [_result("d", 16, 0, (7.0, 9.0))]
    gd, _muon = curves(results, "d")
    assert gd.seeds.tolist() == [3, 1] and gd.partial.tolist() == [False, True]
    assert gd.mean.tolist() == [2.0, 7.0]


def test_a_sweep_over_mu_names_lanes_that_differ_in_more_than_mu_by_their_settings():
    """Labels stripped of their μ must not name two different lanes alike."""
    lanes = (
        LaneConfig(optimizer="muon", lr=0.1, momentum=0.9, order="pre", label="Muon μ = 0.9"),
        LaneConfig(optimizer="muon", lr=0.01, momentum=0.5, order="pre", label="Muon μ = 0.5"),
        LaneConfig(optimizer="muon", lr=0.01, momentum=0.5, order="pre", label="μ=0.5 · Muon · ema"),
    )
    config = ExperimentConfig(task=TaskConfig(kind="spiked", rows=12, cols=6), lanes=lanes)
    named = {p.config.lanes[i].label for p in plan(config, "mu") for i in range(3)}
    assert named == {"Muon pre ema exact lr=0.1", "Muon pre ema exact lr=0.01", "Muon · ema"}


@pytest.mark.parametrize("axis", ["mu", "window"])
def test_a_sweep_over_momentum_at_step_0_is_refused_naming_run_steps(axis):
    """It read "it would reach spectra_every = 0", a field nobody set."""
    config = ExperimentConfig(task=TaskConfig(kind="spiked", rows=12, cols=6), run=RunConfig(steps=0))
    with pytest.raises(ConfigError, match=r"^run\.steps = 0 is not allowed: must be at least 1 for a sweep"):
        plan(config, axis)


def test_window_axis_maps_momentum_to_two_t_minus_one():
    results = [_result("window", 0.9, 0, (0.5, 0.5)), _result("window", 0.5, 0, (0.9, 0.9))]
    (first, _) = curves(results, "window")
    assert first.x.tolist() == pytest.approx([3.0, 19.0])


def test_a_sweep_over_mu_names_no_mu_and_draws_lanes_it_makes_alike_once():
    """Two lanes that differ only in μ ran as one curve per lane, each named after a μ it ran at once."""
    lanes = (
        LaneConfig(optimizer="muon", lr=0.01, momentum=0.95, order="pre", label="Muon pre μ = 0.95"),
        LaneConfig(optimizer="muon", lr=0.01, momentum=0.5, order="pre", label="Muon pre μ = 0.5"),
        LaneConfig(optimizer="muon", lr=0.01, momentum=0.5, order="post"),
        LaneConfig(optimizer="muon", lr=0.01, order="none", label="polar only"),
    )
    task = TaskConfig(kind="spiked", rows=12, cols=6)
    config = ExperimentConfig(task=task, lanes=lanes, run=RunConfig(steps=3))
    points = [p for p in plan(config, "mu") if p.coord("mu") in (0.5, 0.9)]
    results = [PointResult(p, tuple(run_point(p)[0]), 0.0) for p in points]
    drawn = curves(results, "mu")
    assert [c.label for c in drawn] == [
        "Muon pre",  # the lane key's "Muon pre μ = 0.95" without the μ the sweep replaces
        "Muon post ema exact lr=0.01",
        "polar only",
    ]
    assert [c.lane for c in drawn] == [0, 2, 3]
    assert not np.array_equal(drawn[0].mean, drawn[1].mean)  # pre and post differ at μ > 0


@pytest.mark.parametrize("axis", ["mu", "window"])
def test_lanes_a_sweep_over_mu_names_alike_are_one_curve_whatever_their_last_digits(axis):
    """Two Muon lanes of the spectral_filtering preset, alike but for μ, came out one ulp apart at
    some points of a 100×100 stream: the curve was drawn and written twice under one name."""
    ulp = np.nextafter(0.95, 1.0)

    def results(swept: str, values: tuple) -> list[PointResult]:
        made = [_result(swept, x, s, (0.95, ulp if x == values[1] else 0.95)) for x in values for s in (0, 1)]
        return [
            PointResult(
                r.point,
                tuple(
                    {**lane, "alignment": lane["sin_theta"], "label": "Muon pre · ema"} for lane in r.lanes
                ),
                0.0,
            )
            for r in made
        ]

    assert [c.lane for c in curves(results(axis, (0.5, 0.9)), axis)] == [0]
    assert [c.lane for c in curves(results("d", (8, 16)), "d")] == [0, 1]  # a size sweep names none alike


@pytest.mark.parametrize(("alpha", "outside"), [(1.5, False), (1.0, True), (0.8, True)])
def test_a_guide_drawn_where_its_law_does_not_hold_says_so(alpha, outside):
    """At α = 0.8 the guides d^(1+1/(2α)) and d^(1/(2α)) were drawn as if the theory (α > 1) held."""
    results = [_result("d", d, s, (d / 8 + s, d**1.3 + s)) for d in (8, 16, 32) for s in (0, 1)]
    lines = guides(_config(d=16, n_items=64, alpha=alpha), "d", curves(results, "d"))
    assert len(lines) == 2
    for label, _x, _y in lines:
        assert label.endswith(" (theory for α > 1)") == outside, label
