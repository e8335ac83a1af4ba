"""Spectral metrics and isotropy (SCIENCE.md §4; check 25's orthogonal case)."""

import re
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

from muonscope.engine.lane_metrics import spectra_fields
from muonscope.engine.metrics import (
    alignment,
    filtering_ratio,
    isotropy,
    largest_ratio_gap,
    momentum_window,
    sin_theta,
    singular_values,
    spectral_gap,
)
from muonscope.engine.optim.polar import polar_exact

DT = torch.float64


def test_isotropy_of_an_orthogonal_matrix():
    q, _ = torch.linalg.qr(torch.randn(30, 30, generator=torch.Generator().manual_seed(0), dtype=DT))
    iso = isotropy(singular_values(q))
    assert iso.entropy == pytest.approx(1.0, abs=1e-9)
    assert iso.effective_rank == pytest.approx(30.0, abs=1e-9)
    assert iso.top_energy == pytest.approx(10 / 30, abs=1e-9)
    assert iso.q75_q25 == pytest.approx(1.0, abs=1e-9)


def test_isotropy_of_a_rank_one_matrix_ignores_zero_directions():
    x = torch.outer(torch.arange(1.0, 6.0, dtype=DT), torch.ones(4, dtype=DT))
    iso = isotropy(singular_values(x))
    assert iso.effective_rank == pytest.approx(1.0)
    assert iso.top_energy == pytest.approx(1.0)


@pytest.mark.filterwarnings("error")
def test_isotropy_of_huge_singular_values_is_that_of_the_same_spectrum_scaled_down():
    """σ ≈ 1e200 (the weights of a run blown up) overflowed when squared, with warnings on stderr."""
    s = np.array([8.0, 4.0, 2.0, 1.0, 0.5])
    small, huge = isotropy(s), isotropy(s * 1e200)
    for name in ("entropy", "effective_rank", "top_energy", "q75_q25"):
        assert getattr(huge, name) == pytest.approx(getattr(small, name), rel=1e-12)
    assert np.isnan(isotropy(np.array([np.inf, 1.0])).entropy)  # no finite spectrum, no isotropy


def test_isotropy_orders_spectra():
    flat = isotropy(np.array([1.0, 1.0, 1.0, 1.0]))
    steep = isotropy(np.array([8.0, 4.0, 2.0, 1.0]))
    assert flat.entropy > steep.entropy
    assert flat.effective_rank > steep.effective_rank
    assert flat.q75_q25 < steep.q75_q25


def test_gaps():
    s = np.array([10.0, 9.0, 3.0, 2.9, 0.0])
    assert spectral_gap(s, 2) == pytest.approx(6.0)
    assert np.isnan(spectral_gap(s, 5))
    assert largest_ratio_gap(s) == (2, pytest.approx(3.0))


def test_filtering_ratio_is_elementwise_and_nan_on_zero():
    ratio = filtering_ratio(np.array([1.0, 0.5, 0.1]), np.array([2.0, 1.0, 0.0]))
    assert ratio[:2].tolist() == [0.5, 0.5]
    assert np.isnan(ratio[2])


def test_alignment_is_one_for_the_polar_factor_of_the_signal():
    signal = torch.randn(2, 9, 7, generator=torch.Generator().manual_seed(1), dtype=DT)
    assert np.allclose(alignment(polar_exact(signal), signal), 1.0)
    assert np.allclose(alignment(-polar_exact(signal), signal), -1.0)
    assert np.all(alignment(torch.zeros_like(signal), signal) == 0.0)


@pytest.mark.parametrize("scale", [1.0, 1e-30, 1e31])
def test_alignment_in_float32_matches_float64_at_any_scale(scale):
    """An SGD buffer and a signal of 10³¹ multiplied to inf in float32: a lane still finite read
    alignment inf (null in the JSON, "n/a" in the table, no curve in ②)."""
    gen = torch.Generator().manual_seed(3)
    update, signal = (torch.randn(2, 9, 7, generator=gen, dtype=torch.float64) for _ in range(2))
    exact = (update * signal).sum(dim=(-2, -1)).numpy() / torch.linalg.svdvals(signal).sum(-1).numpy()
    scaled = alignment((scale * update).float(), (scale * signal).float())
    assert np.isfinite(scaled).all()
    np.testing.assert_allclose(scaled, scale * exact, rtol=1e-5)
    np.testing.assert_allclose(alignment(update, signal), exact, rtol=1e-12)  # float64 as before


def test_sin_theta_between_subspaces():
    gen = torch.Generator().manual_seed(2)
    signal = torch.randn(1, 12, 8, generator=gen, dtype=DT)
    assert sin_theta(3.0 * signal, signal, 3)[0] == pytest.approx(0.0, abs=1e-7)
    u, s, vh = torch.linalg.svd(signal[0], full_matrices=False)
    swapped = (u[:, 3:6] * s[:3]) @ vh[:3]  # top-3 energy placed on orthogonal left directions
    assert sin_theta(swapped.unsqueeze(0), signal, 3)[0] == pytest.approx(1.0, abs=1e-9)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_sin_theta_is_undefined_where_a_top_r_subspace_is_partly_round_off(dtype):
    """A buffer of rank 9 at r = 10 (a minibatch run's first steps): its tenth direction is
    round-off, and the angle came out 0.988 where its nine real directions gave 0.930."""
    gen = torch.Generator().manual_seed(7)
    signal = torch.randn(1, 16, 12, generator=gen, dtype=torch.float64)
    nine = torch.randn(1, 16, 9, generator=gen, dtype=torch.float64) @ torch.randn(
        1, 9, 12, generator=gen, dtype=torch.float64
    )
    round_off = torch.finfo(dtype).eps * 1e-2 * torch.randn(1, 16, 12, generator=gen, dtype=torch.float64)
    estimate = (nine + round_off * nine.norm()).to(dtype)
    assert np.isnan(sin_theta(estimate, signal.to(dtype), 10)).all()
    assert np.isnan(sin_theta(signal.to(dtype), estimate, 10)).all()  # a low-rank signal alike
    assert np.isfinite(sin_theta(estimate, signal.to(dtype), 9)).all()  # r within its rank: defined


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_sin_theta_is_undefined_where_the_r_th_singular_value_is_tied_with_the_next(dtype):
    """A signal of strengths 5, 5, 5 has no top-2 subspace: any two of its three directions would
    do, and the angle came out 0.69 in float64 and 0.78 in float32."""
    gen = torch.Generator().manual_seed(8)
    u, _ = torch.linalg.qr(torch.randn(12, 4, generator=gen, dtype=DT))
    v, _ = torch.linalg.qr(torch.randn(10, 4, generator=gen, dtype=DT))
    tied = ((u * torch.tensor([5.0, 5.0, 5.0, 1.0], dtype=DT)) @ v.T).unsqueeze(0)  # (1, 12, 10)
    estimate = tied + 0.05 * torch.randn(1, 12, 10, generator=gen, dtype=DT)
    assert np.isnan(sin_theta(estimate.to(dtype), tied.to(dtype), 2)).all()
    assert np.isfinite(sin_theta(estimate.to(dtype), tied.to(dtype), 3)).all()  # all three: defined


def test_sin_theta_equals_the_angle_between_svd_subspaces():
    """Oracle: the largest principal angle between top-r left singular vectors from full SVDs."""
    gen = torch.Generator().manual_seed(5)
    signal = torch.randn(3, 40, 30, generator=gen, dtype=DT)
    estimate = signal + 0.3 * torch.randn(3, 40, 30, generator=gen, dtype=DT)
    u_hat = torch.linalg.svd(estimate, full_matrices=False)[0][..., :4]
    u_sig = torch.linalg.svd(signal, full_matrices=False)[0][..., :4]
    smallest_cosine = torch.linalg.svdvals(u_hat.mT @ u_sig)[..., -1]
    expected = torch.sqrt(1 - smallest_cosine.square()).numpy()
    np.testing.assert_allclose(sin_theta(estimate, signal, 4), expected, rtol=1e-8, atol=1e-10)
    assert 0.05 < expected.min() and expected.max() < 0.95  # a case where the angle is informative


def test_isotropy_quantile_ratio_is_numpys_percentile():
    s = np.sort(np.random.default_rng(4).lognormal(size=37))[::-1]
    q25, q75 = np.percentile(s**2, [25, 75])
    assert isotropy(s).q75_q25 == pytest.approx(q75 / q25, rel=1e-12)


def test_filtering_ratio_leaves_out_the_gradients_round_off_directions():
    """Past a minibatch gradient's rank σ_k(G) is round-off: no ratio there, in either dtype's floor."""
    s_buffer, s_gradient = np.array([2.0, 1.0, 1e-3, 1e-15]), np.array([4.0, 2.0, 1e-5, 1e-17])
    np.testing.assert_array_equal(filtering_ratio(s_buffer, s_gradient), [0.5, 0.5, 100.0, np.nan])
    float32_floor = float(np.finfo(np.float32).eps)
    np.testing.assert_array_equal(
        filtering_ratio(s_buffer, s_gradient, float32_floor), [0.5, 0.5, 100.0, np.nan]
    )
    np.testing.assert_array_equal(filtering_ratio(s_buffer, s_gradient, 1e-3), [0.5, 0.5, np.nan, np.nan])


def test_filtering_ratio_over_round_off_says_nothing_on_stderr():
    """A one-item minibatch: σ_k(G) ≈ 1e-320 past rank 1, and numpy warned of an overflow twice
    ("muonscope: warning: overflow encountered in divide") for values the ratio leaves out."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ratio = filtering_ratio(np.array([1.0, 0.5]), np.array([1.0, 1e-320]))
    np.testing.assert_array_equal(ratio, [1.0, np.nan])


@pytest.mark.parametrize(("dtype", "rtol"), [(np.float32, 2e-6), (np.float64, 1e-14)])
def test_the_momentum_window_is_its_closed_form_in_the_inputs_precision(dtype, rtol):
    mus = np.array([0.0, 0.5, 0.9, 0.95, 0.99, 0.995], dtype=dtype)
    window = momentum_window(mus)
    assert all(value.dtype == dtype for value in window)
    mu = mus.astype(np.float64)  # the same μ, the closed forms in float64
    np.testing.assert_allclose(window.steps, 1 / (1 - mu), rtol=rtol)
    np.testing.assert_allclose(window.noise_steps, (1 + mu) / (1 - mu), rtol=rtol)
    np.testing.assert_allclose(window.noise_kept, np.sqrt((1 - mu) / (1 + mu)), rtol=rtol)
    tensor = momentum_window(torch.tensor([0.95], dtype=torch.float32))
    assert tensor.noise_kept.dtype == torch.float32
    at_95 = momentum_window(0.95)  # Li et al.'s setting: T = 20, the tail ratio 1/√39 ≈ 0.16
    assert at_95.steps == pytest.approx(20) and at_95.noise_steps == pytest.approx(39)
    assert at_95.noise_kept == pytest.approx(0.1601, abs=1e-4)


def test_the_momentum_window_is_written_only_in_metrics():
    """T = 1/(1 − μ) and 2T − 1 = 2/(1 − μ) − 1 have one home; reproductions and sweeps call it."""
    root = Path(__file__).resolve().parents[2]
    spelled = re.compile(
        r"\(\s*1(?:\.0)?\s*-\s*(?:\w+\.)?(?:mu|mus|momentum)\b(?:\[[^\]]*\])?\s*\)"  # (1 − μ)
        r"|2(?:\.0)?\s*/\s*\(\s*1(?:\.0)?\s*-"  # 2/(1 − x)
    )
    found = [
        f"{path.relative_to(root)}:{number}"
        for package in ("app", "engine", "widgets")
        for path in sorted((root / package).rglob("*.py"))
        if path != root / "engine" / "metrics.py"
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if spelled.search(line)
    ]
    assert found == []


@pytest.mark.parametrize("threads", [1, 2])
def test_a_gradient_given_by_thin_factors_has_the_spectrum_of_the_dense_matrix(threads):
    """G_l = left[l]ᵀ @ right (m = 20 columns of d = 48): its spectrum from the m-wide factor is
    torch's of the dense G, padded with zeros, on one thread or on the one-thread workers."""
    gen = torch.Generator().manual_seed(3)
    left, right = (
        torch.randn(3, 20, 48, generator=gen, dtype=DT),
        torch.randn(20, 48, generator=gen, dtype=DT),
    )
    grads = left.mT @ right  # (3, 48, 48), rank 20
    weights = torch.randn(3, 48, 48, generator=gen, dtype=DT)
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        fields = spectra_fields(grads, [None] * 3, weights, weights, 4, 1, gradient_factors=(left, right))
    finally:
        torch.set_num_threads(before)
    for lane, lane_fields in enumerate(fields):
        expected = torch.linalg.svdvals(grads[lane]).numpy()
        np.testing.assert_allclose(lane_fields["spectra"].gradient[:20], expected[:20], rtol=1e-10)
        assert np.all(lane_fields["spectra"].gradient[20:] == 0.0)


def test_sin_theta_on_two_threads_is_that_of_one():
    gen = torch.Generator().manual_seed(5)
    estimate, signal = (
        torch.randn(4, 64, 64, generator=gen, dtype=DT),
        torch.randn(4, 64, 64, generator=gen, dtype=DT),
    )
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        one = sin_theta(estimate, signal, 6)
        torch.set_num_threads(2)
        two = sin_theta(estimate, signal, 6)
    finally:
        torch.set_num_threads(before)
    assert np.all(np.isfinite(one))
    np.testing.assert_allclose(two, one, rtol=1e-9)
