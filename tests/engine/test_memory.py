"""The memory model's closed-form gradient against autograd (SCIENCE.md §11 check 6) and its metrics."""

import numpy as np
import pytest
import torch

from muonscope.engine.config import TaskConfig
from muonscope.engine.memory import (
    DEFAULT_CHUNK_ELEMENTS,
    memory_pass,
    minibatch_queries,
    population_queries,
)
from muonscope.engine.tasks.memory_task import MemoryTask, noisy_target_entropy
from muonscope.engine.tasks.sampler import BatchSampler

DT = torch.float64
CPU = torch.device("cpu")


def _task(label_noise=0.1, **kw):
    cfg = TaskConfig(kind="zipf", d=12, n_items=40, alpha=1.2, batch_size=64, label_noise=label_noise, **kw)
    return MemoryTask(cfg, CPU, DT)


def _weights(lanes=3, d=12, scale=1.0, seed=0):
    return scale * torch.randn(lanes, d, d, generator=torch.Generator().manual_seed(seed), dtype=DT)


def _autograd_population(task, w, eps):
    """L(W) = Σ_i p_i Σ_k p(k|i)(−log p̂(k|i)), p(k|i) = (1−ε)δ + ε/N, differentiated by autograd."""
    w = w.clone().requires_grad_(True)
    logits = task.outputs @ w @ task.inputs.T  # (L, N_out, N_in): column i = query i
    logp = torch.log_softmax(logits, dim=1)
    n = task.n_items
    target = (1 - eps) * torch.eye(n, dtype=DT) + eps / n
    loss = -(logp * target * task.probs).sum(dim=(1, 2))
    loss.sum().backward()
    return loss.detach(), w.grad


def _autograd_minibatch(task, w, items, labels):
    w = w.clone().requires_grad_(True)
    logits = torch.einsum("nd,lde,be->lbn", task.outputs, w, task.inputs[items])  # (L, B, N)
    loss = torch.stack([torch.nn.functional.cross_entropy(z, labels) for z in logits])
    loss.sum().backward()
    return loss.detach(), w.grad


@pytest.mark.parametrize("scale", [0.0, 3.0])
@pytest.mark.parametrize("eps", [0.0, 0.3])
def test_population_gradient_matches_autograd(scale, eps):
    task = _task(label_noise=eps)
    w = _weights(scale=scale)
    result = memory_pass(task.outputs, task.inputs, w, population_queries(task.probs, eps))
    loss, grad = _autograd_population(task, w, eps)
    assert torch.allclose(result.loss, loss, rtol=1e-12)
    assert (result.grad - grad).norm() <= 1e-10 * grad.norm()


@pytest.mark.parametrize("scale", [0.0, 3.0])
def test_minibatch_gradient_matches_autograd(scale):
    task = _task(label_noise=0.3)
    batch = BatchSampler(task.probs_np, seed=0).draw(64, 0.3)
    w = _weights(scale=scale)
    queries = minibatch_queries(batch.items, batch.labels, DT)
    result = memory_pass(task.outputs, task.inputs, w, queries)
    loss, grad = _autograd_minibatch(task, w, batch.items, batch.labels)
    assert torch.unique(batch.items).numel() < 64  # repeats were grouped
    assert torch.allclose(result.loss, loss, rtol=1e-12)
    assert (result.grad - grad).norm() <= 1e-10 * grad.norm()


def test_a_pass_with_fewer_columns_than_w_keeps_the_gradient_as_thin_factors():
    """G_l = left[l]ᵀ @ right exactly (the chunks' columns side by side); none when m ≥ d."""
    task = _task(label_noise=0.3)
    w = _weights(scale=3.0)
    batch = BatchSampler(task.probs_np, 5).draw(6, 0.3)
    queries = minibatch_queries(batch.items, batch.labels, DT)
    for chunk_elements in (DEFAULT_CHUNK_ELEMENTS, 3 * 40 * 2):  # one chunk, then two columns a chunk
        result = memory_pass(task.outputs, task.inputs, w, queries, chunk_elements=chunk_elements)
        left, right = result.grad_factors
        assert left.shape[1] == right.shape[0] == queries.items.shape[0] < 12
        assert (left.mT @ right - result.grad).norm() <= 1e-13 * result.grad.norm()
    population = memory_pass(task.outputs, task.inputs, w, population_queries(task.probs, 0.3))
    assert population.grad_factors is None  # 40 columns for a 12 × 12 W: nothing to gain


def test_gradient_at_zero_is_frequency_weighted_hebbian_sum():
    """−∇L(0) = Σ_i p_i (u_i − ū) e_iᵀ for the noiseless task (SCIENCE.md §2)."""
    task = _task(label_noise=0.0)
    w = torch.zeros(1, 12, 12, dtype=DT)
    grad = memory_pass(task.outputs, task.inputs, w, population_queries(task.probs, 0.0)).grad[0]
    centered = task.outputs - task.outputs.mean(dim=0)
    expected = -(centered.T * task.probs) @ task.inputs
    assert torch.allclose(grad, expected, atol=1e-14)


def test_chunking_does_not_change_results():
    task = _task()
    w = _weights()
    queries = population_queries(task.probs, 0.1)
    whole = memory_pass(task.outputs, task.inputs, w, queries, want_columns=True)
    parts = memory_pass(task.outputs, task.inputs, w, queries, want_columns=True, chunk_elements=3 * 40 * 7)
    assert torch.allclose(whole.grad, parts.grad, atol=1e-13)
    assert torch.allclose(whole.loss, parts.loss, atol=1e-13)
    assert torch.equal(whole.recovered, parts.recovered)
    assert torch.allclose(whole.correct_prob, parts.correct_prob, atol=1e-15)


def test_recovery_is_strict_argmax_and_nothing_is_recovered_at_zero():
    task = _task(label_noise=0.0)
    zero = torch.zeros(1, 12, 12, dtype=DT)
    at_zero = memory_pass(
        task.outputs, task.inputs, zero, population_queries(task.probs, 0.0), want_columns=True
    )
    assert not at_zero.recovered.any()  # all logits tie at W = 0
    w = _weights(lanes=1, scale=2.0)
    result = memory_pass(task.outputs, task.inputs, w, population_queries(task.probs, 0.0), want_columns=True)
    logits = task.outputs @ w[0] @ task.inputs.T  # (N_out, N_in)
    expected = logits.argmax(dim=0) == torch.arange(40)
    assert torch.equal(result.recovered[0], expected)


def test_evaluation_reports_loss_accuracy_and_groups():
    task = _task(label_noise=0.2)
    w = _weights(lanes=2, scale=2.0)
    evaluation, grad = task.evaluate(w)
    loss, autograd = _autograd_population(task, w, 0.2)
    assert np.allclose(evaluation.loss, loss.numpy(), rtol=1e-12)
    assert torch.allclose(grad, autograd, atol=1e-12)
    logits = task.outputs @ w @ task.inputs.T
    recovered = (logits.argmax(dim=1) == torch.arange(40)).numpy()  # (L, N)
    assert np.array_equal(evaluation.recovered, recovered.sum(axis=1))
    assert np.allclose(evaluation.accuracy, recovered @ task.probs_np)
    entropy = noisy_target_entropy(40, 0.2)
    assert np.allclose(evaluation.excess_loss, evaluation.loss - entropy)
    # group losses are means of per-item losses within log2 rank buckets 1 | 2-3 | 4-7 | ...
    probs = torch.softmax(logits, dim=1)
    item_loss = -(torch.log(probs) * (0.8 * torch.eye(40, dtype=DT) + 0.2 / 40)).sum(dim=1)  # (L, N)
    assert np.allclose(evaluation.group_loss[:, 0], item_loss[:, 0].numpy())
    assert np.allclose(evaluation.group_loss[:, 2], item_loss[:, 3:7].mean(dim=1).numpy())
    assert np.allclose(evaluation.class_error, 1 - torch.diagonal(probs, dim1=1, dim2=2).numpy())


def test_noisy_target_entropy_is_entropy_of_the_label_law():
    n, eps = 7, 0.35
    p = np.full(n, eps / n)
    p[0] += 1 - eps
    assert noisy_target_entropy(n, eps) == pytest.approx(-(p * np.log(p)).sum(), rel=1e-14)
    assert noisy_target_entropy(n, 0.0) == 0.0


@pytest.mark.parametrize("eps", [0.0, 0.25])
def test_closed_forms_at_zero_match_the_general_pass(eps):
    """At W = 0 the task skips the N×N pass; its shortcuts must equal what the pass computes."""
    task = _task(label_noise=eps)
    zero = torch.zeros(2, 12, 12, dtype=DT)
    general = memory_pass(
        task.outputs, task.inputs, zero, population_queries(task.probs, eps), want_columns=True
    )
    assert torch.allclose(task.signal_gradients(zero), general.grad, atol=1e-14)
    evaluation, signal = task.evaluate(zero)
    assert torch.allclose(signal, general.grad, atol=1e-14)
    assert np.allclose(evaluation.loss, general.loss.numpy(), rtol=1e-13)
    assert np.allclose(evaluation.class_error, 1 - general.correct_prob.numpy())
    assert not evaluation.item_recovered.any() and not general.recovered.any()
    assert np.all(evaluation.balance_gap == 0)


# ---- a population larger than run.exact_eval_items: a stratified sample of items --------------------


N_LARGE = 600  # items of the sampled tests; orthonormal embeddings (d = N) make recovery controllable


def _sampled_task(budget: int, seed: int = 0) -> MemoryTask:
    cfg = TaskConfig(
        kind="zipf",
        d=N_LARGE,
        n_items=N_LARGE,
        alpha=1.1,
        embeddings="orthogonal",
        batch_size=64,
        label_noise=0.1,
        seed=seed,
    )
    return MemoryTask(cfg, CPU, DT, exact_eval_items=budget)


def _mixed_memory(task: MemoryTask, seed: int) -> torch.Tensor:
    """Two lanes of W = Σ_i s_i u_i e_iᵀ + noise: items stored with a chance falling with their rank.

    With orthonormal embeddings z_k(i) = s_i δ_ki + noise, so the head is mostly recovered, the tail
    mostly not, and every stratum holds both: the estimates are tested where they can go wrong.
    """
    gen = torch.Generator().manual_seed(seed)
    rank = torch.arange(N_LARGE, dtype=DT)
    lanes = []
    for reach in (60.0, 250.0):
        stored = torch.rand(N_LARGE, generator=gen, dtype=DT) < torch.exp(-rank / reach)
        strength = stored * (2.0 + 4.0 * torch.rand(N_LARGE, generator=gen, dtype=DT))  # (N,)
        noise = torch.randn(N_LARGE, N_LARGE, generator=gen, dtype=DT) * 0.3 / N_LARGE**0.5
        lanes.append(task.outputs.T @ (torch.diag(strength) + noise) @ task.inputs)  # (d, d)
    return torch.stack(lanes)


def test_a_sampled_evaluation_brackets_the_exact_one_within_its_standard_errors():
    """Across seeds (each a new task and a new sample), the exact value lies within 4 standard errors.

    Group losses come from small strata (a few dozen draws), whose sample variance can miss a rare
    outcome (the few recovered items of a mostly failed stratum): most, not all, lie within 3 errors.
    """
    group_z = []
    for seed in range(6):
        exact_task, task = _sampled_task(budget=N_LARGE, seed=seed), _sampled_task(budget=160, seed=seed)
        w = _mixed_memory(task, seed)
        exact, signal = exact_task.evaluate(w)
        assert not exact.estimated and signal is not None
        assert 30 < exact.recovered.min() and exact.recovered.max() < 300  # recovery is mixed: a real test
        estimate, signal = task.evaluate(w)
        assert signal is None  # the population gradient is the full pass the sample avoids
        assert estimate.estimated and estimate.sampled_items == 160
        for name in ("loss", "accuracy", "recovered"):
            value, error = getattr(estimate, name), getattr(estimate, f"{name}_se")
            assert np.all(error > 0), name
            assert np.all(np.abs(value - getattr(exact, name)) <= 4 * error), (name, seed)
        assert np.allclose(estimate.excess_loss - estimate.loss, exact.excess_loss - exact.loss)
        whole = estimate.group_loss_se == 0  # the head's strata, evaluated in full
        assert whole[:, :4].all() and np.allclose(estimate.group_loss[whole], exact.group_loss[whole])
        error = estimate.group_loss - exact.group_loss
        group_z += list(np.abs(error[~whole]) / estimate.group_loss_se[~whole])
    assert len(group_z) > 50 and np.mean(np.array(group_z) < 3) >= 0.9


def test_a_sampled_evaluation_is_exact_item_by_item_and_nan_elsewhere():
    exact_task, task = _sampled_task(budget=N_LARGE), _sampled_task(budget=160)
    w = _mixed_memory(task, 0)
    exact, _ = exact_task.evaluate(w)
    estimate, _ = task.evaluate(w)
    again, _ = _sampled_task(budget=160).evaluate(w)
    items = task.evaluation_sample.items
    evaluated = np.isfinite(estimate.class_error)  # (L, N)
    assert np.array_equal(evaluated[0], np.isin(np.arange(N_LARGE), items)) and np.array_equal(*evaluated)
    assert np.array_equal(evaluated, np.isfinite(estimate.item_recovered))
    assert np.allclose(estimate.class_error[:, items], exact.class_error[:, items], rtol=1e-12)
    assert np.array_equal(estimate.item_recovered[:, items], exact.item_recovered[:, items])
    for name in ("loss", "recovered", "accuracy", "group_loss", "recovered_prefix", "balance_gap"):
        assert np.array_equal(getattr(estimate, name), getattr(again, name)), name  # one seed, one sample
    # the first failure among the evaluated items: exact where the head before it was taken whole
    assert np.all(estimate.recovered_prefix >= exact.recovered_prefix)
    head = np.flatnonzero(items != np.arange(items.size))[0]  # the items evaluated without a gap
    exact_where_whole = exact.recovered_prefix < head
    assert np.array_equal(
        estimate.recovered_prefix[exact_where_whole], exact.recovered_prefix[exact_where_whole]
    )
    assert np.all(estimate.balance_gap <= exact.balance_gap + 1e-12)  # a spread over fewer items


def test_exact_gradients_and_small_populations_are_evaluated_exactly():
    assert _sampled_task(budget=N_LARGE).evaluation_sample is None  # N within the budget
    full_batch = _sampled_task(budget=160)
    full_batch.set_live("batch_size", 0)  # every step pays for the full pass: the evaluation shares it
    assert full_batch.evaluation_sample is None
    evaluation, signal = full_batch.evaluate(_mixed_memory(full_batch, 0))
    assert not evaluation.estimated and signal is not None
    assert evaluation.loss_se is None and np.isfinite(evaluation.class_error).all()


@pytest.mark.parametrize("drawn", [False, True], ids=["population", "minibatch"])
@pytest.mark.parametrize(
    ("dtype", "margin", "rtol"), [(torch.float64, 60.0, 1e-12), (torch.float32, 20.0, 1e-5)]
)
def test_a_learnt_memory_keeps_its_loss_and_gradient_below_the_unit_round_off(dtype, margin, rtol, drawn):
    """Closed form: with u_k = e_k = the standard basis and W = c·I, z_k(i) = c·δ_ki, every rival has
    p̂ = e^{−c}/(1 + r) with r = (N−1)e^{−c}, the loss is log1p(r) and G_ki = p_i (p̂(k|i) − δ_ki).

    r is below eps: 1 + r rounded it away, and the loss read exactly 0 and G's diagonal, the learnt
    items' part as large as all rivals' together, read 0 while its off-diagonal was drawn at 10⁻²⁶.
    """
    n = 8
    probs = torch.arange(1, n + 1, dtype=torch.float64) ** -1.5
    probs /= probs.sum()
    queries = population_queries(probs.to(dtype), 0.0)
    if drawn:  # items drawn 3, 2, 1 and 0 times, each labelled by itself: weights count / B
        items = torch.tensor([0, 0, 0, 1, 1, 2, 4, 7])
        probs = torch.bincount(items, minlength=n).double() / items.numel()
        queries = minibatch_queries(items, items, dtype)
    basis = torch.eye(n, dtype=dtype)
    result = memory_pass(basis, basis, margin * basis[None], queries)
    rest = (n - 1) * np.exp(-margin)
    rival, own_shortfall = np.exp(-margin) / (1 + rest), rest / (1 + rest)  # p̂(k≠i|i), 1 − p̂(i|i)
    expected = probs.numpy()[None, :] * (rival * (1 - np.eye(n)) - own_shortfall * np.eye(n))  # (k, i)
    assert result.loss.item() > 0
    assert result.loss.item() == pytest.approx(np.log1p(rest), rel=rtol)
    assert np.allclose(result.grad[0].double().numpy(), expected, rtol=rtol, atol=0)
