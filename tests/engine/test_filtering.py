"""The random-matrix facts the spectral-filtering reproduction compares against (SCIENCE.md §6)."""

import numpy as np
import pytest
import torch

from muonscope.engine.config import TaskConfig
from muonscope.engine.reproduce.filtering import buffer_noise_std, simulate_buffers, spiked_outlier


@pytest.mark.parametrize("strength", [3.0, 5.0, 12.0])
def test_spiked_outlier_matches_a_sampled_spiked_matrix(strength):
    rows, cols, entry_std = 400, 300, 0.09
    generator = torch.Generator().manual_seed(0)
    u = torch.linalg.qr(torch.randn(rows, 1, generator=generator, dtype=torch.float64))[0]  # (rows, 1)
    v = torch.linalg.qr(torch.randn(cols, 1, generator=generator, dtype=torch.float64))[0]  # (cols, 1)
    noise = entry_std * torch.randn(rows, cols, generator=generator, dtype=torch.float64)
    top = float(torch.linalg.svdvals(strength * u @ v.T + noise)[0])
    predicted = float(spiked_outlier(strength, rows, cols, entry_std))
    assert top == pytest.approx(predicted, rel=0.02)
    assert predicted > strength * 1.01  # the shift is real at these sizes, so the test can tell


def test_buffer_noise_std_matches_the_simulated_buffer():
    task = TaskConfig(kind="spiked", rows=60, cols=60, strengths=(8.0,), noise=0.7, arch=0.3)
    mus = np.array([0.5, 0.9, 0.97])
    steps = 300
    energy = np.mean(
        [simulate_buffers(task, mus, steps, seed, post=False).noise_energy for seed in range(4)], axis=0
    )
    # noise_energy is ‖M_K − c G_sig‖²_F / (m n σ²): the entry variance in units of σ²
    np.testing.assert_allclose(energy, (buffer_noise_std(0.7, mus, steps) / 0.7) ** 2, rtol=0.08)
