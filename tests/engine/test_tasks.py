"""Task construction: seeded streams, frequency laws, embeddings and the spiked generator."""

import numpy as np
import pytest
import torch

from muonscope.engine.config import TaskConfig
from muonscope.engine.tasks import build_task
from muonscope.engine.tasks.embeddings import block_hadamard, haar_orthonormal
from muonscope.engine.tasks.frequencies import hierarchical_probs, two_level_probs, zipf_probs
from muonscope.engine.tasks.sampler import BatchSampler

CPU, DT = torch.device("cpu"), torch.float64


def test_same_seed_gives_bit_identical_data_and_batches():
    cfg = TaskConfig(d=16, n_items=100, batch_size=32, label_noise=0.2, seed=7)
    a, b = build_task(cfg, CPU, DT), build_task(cfg, CPU, DT)
    assert torch.equal(a.inputs, b.inputs)
    assert torch.equal(a.outputs, b.outputs)
    w = torch.zeros(1, 16, 16, dtype=DT)
    for _ in range(3):
        ga, _ = a.draw_gradients(w)
        gb, _ = b.draw_gradients(w)
        assert torch.equal(a.last_batch.items, b.last_batch.items)
        assert torch.equal(ga, gb)


def test_different_seeds_differ():
    a = build_task(TaskConfig(d=16, n_items=100, seed=1), CPU, DT)
    b = build_task(TaskConfig(d=16, n_items=100, seed=2), CPU, DT)
    assert not torch.equal(a.inputs, b.inputs)


def test_label_noise_flips_the_expected_share_without_shifting_items():
    probs = zipf_probs(50, 1.1)
    clean = BatchSampler(probs, seed=3).draw(20000, 0.0)
    noisy = BatchSampler(probs, seed=3).draw(20000, 0.4)
    assert torch.equal(clean.items, noisy.items)
    assert torch.equal(clean.labels, clean.items)
    changed = (noisy.labels != noisy.items).double().mean().item()
    assert changed == pytest.approx(0.4 * (1 - 1 / 50), abs=0.015)  # a flip can land on the true label


def test_sampler_follows_the_power_law():
    probs = zipf_probs(20, 1.5)
    items = BatchSampler(probs, seed=0).draw(200_000, 0.0).items
    freq = np.bincount(items.numpy(), minlength=20) / items.numel()
    assert np.allclose(freq, probs, atol=0.004)
    assert probs[0] / probs[1] == pytest.approx(2**1.5)


def test_hierarchical_groups_share_mass_by_power_law():
    probs, groups = hierarchical_probs(64, 8, 1.5)
    assert probs.sum() == pytest.approx(1.0)
    assert np.array_equal(groups, np.repeat(np.arange(8), 8))
    group_mass = np.array([probs[groups == g].sum() for g in range(8)])
    assert group_mass[0] / group_mass[1] == pytest.approx(2**1.5)
    assert np.allclose(probs[:8], probs[0])


def test_two_level_imbalance():
    probs, groups = two_level_probs(64, 13, 0.8)
    assert probs[:13].sum() == pytest.approx(0.8)
    assert probs[13:].sum() == pytest.approx(0.2)
    assert groups.tolist() == [0] * 13 + [1] * 51


@pytest.mark.parametrize("family", ["orthogonal", "identity", "hadamard"])
def test_orthonormal_embedding_families(family):
    task = build_task(TaskConfig(kind="two_level", d=16, n_items=16, embeddings=family), CPU, DT)
    for emb in (task.inputs, task.outputs):
        assert torch.allclose(emb @ emb.T, torch.eye(16, dtype=DT), atol=1e-12)


def test_hadamard_blocks_mix_pairs_of_coordinates():
    h = block_hadamard(4, 4)
    assert torch.allclose(
        h.abs(), torch.tensor([[1, 1, 0, 0], [1, 1, 0, 0], [0, 0, 1, 1], [0, 0, 1, 1]], dtype=DT) / 2**0.5
    )


def test_haar_rows_are_orthonormal_and_seeded():
    a = haar_orthonormal(5, 9, torch.Generator().manual_seed(0))
    b = haar_orthonormal(5, 9, torch.Generator().manual_seed(0))
    assert torch.equal(a, b)
    assert torch.allclose(a @ a.T, torch.eye(5, dtype=DT), atol=1e-12)


def test_gaussian_embeddings_have_unit_scale():
    task = build_task(TaskConfig(d=256, n_items=512), CPU, DT)
    norms = task.inputs.norm(dim=1)
    assert norms.mean().item() == pytest.approx(1.0, abs=0.02)


class TestSpikedStream:
    def _task(self, **kw):
        cfg = TaskConfig(kind="spiked", rows=60, cols=40, strengths=(12.0, 8.0, 5.0), **kw)
        return build_task(cfg, CPU, DT)

    def test_signal_has_the_given_strengths(self):
        s = torch.linalg.svdvals(self._task().signal)
        assert torch.allclose(s[:3], torch.tensor([12.0, 8.0, 5.0], dtype=DT), atol=1e-10)
        assert s[3:].abs().max() < 1e-10

    def test_signal_depends_on_signal_seed_only(self):
        assert torch.equal(self._task(seed=1).signal, self._task(seed=2).signal)
        assert not torch.equal(self._task(signal_seed=1).signal, self._task(signal_seed=2).signal)

    def test_arch_noise_is_stationary_with_variance_sigma_squared(self):
        task = self._task(noise=2.0, arch=0.3)
        draws = torch.stack([task.next_noise() for _ in range(400)])  # (T, r, c)
        assert draws.var().item() == pytest.approx(4.0, rel=0.05)
        sq = draws.square().flatten(1)  # ARCH: squared noise is autocorrelated with lag-1 coefficient a
        a, b = sq[:-1].flatten(), sq[1:].flatten()
        corr = np.corrcoef(a.numpy(), b.numpy())[0, 1]
        assert 0.2 < corr < 0.4

    def test_every_lane_receives_the_same_gradient(self):
        task = self._task()
        grads, loss = task.draw_gradients(torch.zeros(3, 60, 40, dtype=DT))
        assert torch.equal(grads[0], grads[2])
        assert torch.isnan(loss).all()
