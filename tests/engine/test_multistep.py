"""Kim et al.'s multi-step dynamics: the thresholded gradient, the λ_t schedule, the reproduction's shape."""

import itertools
import math

import numpy as np
import pytest
import torch

from muonscope.engine.config import TaskConfig
from muonscope.engine.memory import memory_pass, minibatch_queries
from muonscope.engine.recovery_law import recovery_target, theory_recovery
from muonscope.engine.reproduce.multistep import CONSTANT_VARIANTS, STEPS, multistep_lanes
from muonscope.engine.reproduce.multistep_dynamics import (
    Constants,
    Dynamics,
    head_recovered_loss,
    lambda_schedule,
    population_gradient,
    run_multistep,
    thresholded_gradient,
)
from muonscope.engine.tasks.memory_task import MemoryTask
from muonscope.engine.tasks.sampler import BatchSampler
from tests.reproduced import reproduced

CPU = torch.device("cpu")
RULES_AND_BATCHES = [("muon_reg", 0), ("muon_reg", 256), ("gd", 0), ("gd", 256)]


def _task(d: int = 6, n_items: int = 40, seed: int = 0) -> MemoryTask:
    cfg = TaskConfig(d=d, n_items=n_items, alpha=1.5, batch_size=0, seed=seed)
    return MemoryTask(cfg, CPU, torch.float64)


def _memory(task: MemoryTask, seed: int = 1) -> torch.Tensor:
    d = task.weight_shape[0]
    return 3.0 * torch.randn(d, d, dtype=torch.float64, generator=torch.Generator().manual_seed(seed))


def _autograd(task: MemoryTask, w: torch.Tensor, items: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """∇_W Σ_j weights_j · (−log softmax(U W e_{items_j})_{items_j}), by autograd: the oracle."""
    w = w.clone().requires_grad_(True)
    logits = task.inputs[items] @ w.T @ task.outputs.T  # (m, N): row j holds z_k(items_j)
    per_query = torch.nn.functional.cross_entropy(logits, items, reduction="none")  # (m,)
    (weights * per_query).sum().backward()
    return w.grad


def _batch(task: MemoryTask, size: int = 64):
    draws = BatchSampler(task.probs_np, 7).draw(size, 0.0)
    return draws.items, minibatch_queries(draws.items, draws.labels, torch.float64)


def test_thresholded_minibatch_gradient_is_the_gradient_of_the_unrecovered_draws():
    task = _task()
    w = _memory(task)
    draws, queries = _batch(task)
    recovered = torch.zeros(task.n_items, dtype=torch.bool)
    recovered[[0, 1, 3, 8]] = True  # head items, drawn many times in a power-law batch
    assert recovered[draws].any() and (~recovered[draws]).any()
    kept = draws[~recovered[draws]]
    expected = _autograd(task, w, kept, torch.full(kept.shape, 1.0 / draws.numel(), dtype=torch.float64))
    got = thresholded_gradient(task, w, queries, recovered)
    torch.testing.assert_close(got, expected, rtol=1e-10, atol=1e-13)


def test_thresholding_nothing_is_the_plain_minibatch_gradient_and_everything_is_zero():
    task = _task()
    w = _memory(task)
    draws, queries = _batch(task)
    none = torch.zeros(task.n_items, dtype=torch.bool)
    plain = memory_pass(task.outputs, task.inputs, w[None], queries).grad[0]
    assert torch.equal(thresholded_gradient(task, w, queries, none), plain)
    weights = torch.full(draws.shape, 1.0 / draws.numel(), dtype=torch.float64)
    torch.testing.assert_close(plain, _autograd(task, w, draws, weights), rtol=1e-10, atol=1e-13)
    every = torch.ones(task.n_items, dtype=torch.bool)
    assert torch.equal(thresholded_gradient(task, w, queries, every), torch.zeros_like(w))


@pytest.mark.parametrize("n_recovered", [0, 3, 25, 40])
def test_population_gradient_sums_the_unrecovered_items_whichever_way_it_is_computed(n_recovered):
    """Subtracting the recovered items' share from the full gradient equals the direct sum (oracle)."""
    task = _task()
    w = _memory(task)
    recovered = torch.zeros(task.n_items, dtype=torch.bool)
    recovered[torch.randperm(task.n_items, generator=torch.Generator().manual_seed(2))[:n_recovered]] = True
    kept = torch.nonzero(~recovered).flatten()
    expected = _autograd(task, w, kept, task.probs[kept])
    full = _autograd(task, w, torch.arange(task.n_items), task.probs)
    torch.testing.assert_close(population_gradient(task, w, recovered), expected, rtol=1e-10, atol=1e-13)
    torch.testing.assert_close(population_gradient(task, w, recovered, full), expected, rtol=1e-9, atol=1e-13)


def test_lambda_schedule_is_the_literal_law_and_its_first_step_the_one_step_scale():
    d, alpha, n_items = 64, 1.5, 8192
    assert lambda_schedule(d, alpha, 0, n_items, 0) == pytest.approx(d**-alpha, rel=1e-12)  # 1/512
    d_2 = d ** (2 - (2 / 3) ** 2)  # ≈ 645
    assert recovery_target(d, alpha, 2, n_items, 0) == pytest.approx(d_2, rel=1e-12)
    assert lambda_schedule(d, alpha, 1, n_items, 0) == pytest.approx(d_2**-alpha * 8, rel=1e-12)
    # B = 4096 caps every d_t at B^(1/α) = 256, so λ_t = 256^(−3/2)·√64 = 1/512 at every step
    assert recovery_target(d, alpha, 3, n_items, 4096) == pytest.approx(256.0)
    assert lambda_schedule(d, alpha, 3, n_items, 4096) == pytest.approx(1 / 512, rel=1e-12)
    law = Constants(lam_target="law")
    assert lambda_schedule(d, alpha, 1, n_items, 4096, law) == pytest.approx(d_2**-alpha * 8, rel=1e-12)
    scaled = Constants(eta_scale=2.0, lam_scale=10.0)
    assert lambda_schedule(d, alpha, 0, n_items, 0, scaled) == pytest.approx(10 / 512, rel=1e-12)
    assert scaled.eta(d) == 16.0
    assert recovery_target(d, alpha, 8, 1000, 0) == 1000.0  # N caps the law (d_8 ≈ 3482)
    assert theory_recovery(d, alpha, 1) == pytest.approx(256.0)


def test_bad_options_name_the_field_and_what_is_allowed():
    with pytest.raises(ValueError, match="optimizer 'adam': allowed are 'muon_reg', 'gd'"):
        Dynamics("adam", True)
    with pytest.raises(ValueError, match="lam_target 'x'"):
        Constants(lam_target="x")
    with pytest.raises(ValueError, match="batch_size -1"):
        Dynamics("gd", False, -1)


def test_both_dynamics_take_the_same_first_step_and_part_once_items_are_recovered():
    """Nothing is recovered at W = 0, so the thresholded and exact lanes share step 1 (same batch)."""
    pairs = [(Dynamics(rule, True, batch), Dynamics(rule, False, batch)) for rule, batch in RULES_AND_BATCHES]
    run = run_multistep(16, 512, 1.5, 4, [lane for pair in pairs for lane in pair], seeds=(0, 1))
    parted = []
    for thresholded, exact in pairs:
        counts, exact_counts = run.recovered[thresholded.name], run.recovered[exact.name]
        assert (counts[:, 0] == 0).all() and (exact_counts[:, 0] == 0).all()
        np.testing.assert_array_equal(counts[:, 1], exact_counts[:, 1])
        parted.append(not np.array_equal(counts, exact_counts))
    assert any(parted)
    muon = pairs[0][0].name
    assert (run.recovered[muon][:, 1] > 0).all()
    again = run_multistep(16, 512, 1.5, 4, [pairs[0][0]], seeds=(1,))
    np.testing.assert_array_equal(again.recovered[muon][0], run.recovered[muon][1])
    assert np.allclose(run.loss[muon][:, 0], math.log(512))


def test_the_head_recovered_loss_is_log_n_times_the_unrecovered_mass():
    n_items = 4  # α = 1: p = (1, 1/2, 1/3, 1/4) / (25/12)
    assert head_recovered_loss(0, 1.0, n_items) == pytest.approx(math.log(4))  # nothing recovered: chance
    assert head_recovered_loss(2, 1.0, n_items) == pytest.approx(math.log(4) * (1 / 3 + 1 / 4) * 12 / 25)
    assert head_recovered_loss(2.9, 1.0, n_items) == head_recovered_loss(2, 1.0, n_items)  # whole ranks
    assert head_recovered_loss(4, 1.0, n_items) == head_recovered_loss(50, 1.0, n_items) == 0.0


def test_the_population_loss_is_reported_against_the_loss_the_law_would_leave():
    result = reproduced("multi_step_recovery")
    (recovered,) = result.curve_sets("recovered_over_steps")
    (loss,) = result.curve_sets("loss_over_steps")
    table = result.tables["multi_step"]
    for lane, curve in loss.curves.items():
        rows = [i for i, name in enumerate(table["lane"]) if name == lane]
        assert curve.y.tolist() == pytest.approx([table["loss"][i] for i in rows])
        assert curve.y[0] == pytest.approx(math.log(2048))  # W_0 = 0: every item at chance
        assert np.all(curve.lo <= curve.y) and np.all(curve.y <= curve.hi)
    for name, law in recovered.theory.items():
        expected = [head_recovered_loss(n, 1.5, 2048) for n in law.y]
        assert loss.theory[name].y.tolist() == pytest.approx(expected)
    for i, target in enumerate(table["target"]):
        assert table["loss_at_target"][i] == pytest.approx(head_recovered_loss(target, 1.5, 2048))
    assert any("L(W_8)" in note and "log N·Σ" in note for note in result.notes)


def test_reproduction_reports_every_lane_against_the_capped_law_without_judging():
    result = reproduced("multi_step_recovery")
    (claim,) = result.claims
    assert claim.check == "§11.13" and claim.passed is None and "d = 32" in claim.text
    assert claim.measured.count(",") >= 6  # four ratios for each thresholded Muon lane
    table = result.tables["multi_step"]
    lanes = [lane.name for lane in multistep_lanes(4096)]
    assert list(dict.fromkeys(table["lane"])) == lanes
    assert len(table["step"]) == len(lanes) * (STEPS + 1)
    for i in range(len(table["lane"])):
        batch = table["batch_size"][i]
        assert table["target"][i] == pytest.approx(recovery_target(32, 1.5, table["step"][i], 2048, batch))
        assert table["ratio"][i] == pytest.approx(table["recovered"][i] / table["target"][i])
        assert table["recovered_min"][i] <= table["recovered"][i] <= table["recovered_max"][i]
    (data,) = result.curve_sets("recovered_over_steps")
    assert list(data.curves) == lanes
    np.testing.assert_allclose(
        data.theory["d_t"].y, [theory_recovery(32, 1.5, t) for t in range(1, STEPS + 1)]
    )
    variants = result.tables["constants"]
    assert len(variants["step"]) == len(CONSTANT_VARIANTS) * 2 * (STEPS + 1)
    assert any(str(STEPS) in note and "Other constants" in note for note in result.notes)


def test_the_summary_says_where_dynamics_lose_recovered_items_from_its_own_table():
    """n_rec fell from one step to the next (the law's d_t only grows), and the summary did not say so."""
    result = reproduced("multi_step_recovery")
    table = result.tables["multi_step"]
    falls = {}
    for lane in dict.fromkeys(table["lane"]):
        counts = [table["recovered"][i] for i, name in enumerate(table["lane"]) if name == lane]
        falls[lane] = sum(b < a for a, b in itertools.pairwise(counts))
    (note,) = [note for note in result.notes if "lost again" in note] or [""]
    for lane, count in falls.items():
        assert (f"{lane}: at {count} of {STEPS} steps" in note) == (count > 0), lane
    assert bool(note) == any(falls.values())
