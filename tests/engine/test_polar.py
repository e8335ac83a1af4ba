"""SCIENCE.md §11 checks 1–3: the three polar maps."""

import pytest
import torch

from muonscope.engine.optim.polar import KELLER_COEFFICIENTS, newton_schulz, polar_exact, polar_regularized


def _random(rows, cols, seed=0):
    return torch.randn(rows, cols, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def _with_singular_values(values, rows=96, cols=64, seed=1):
    """X = U diag(values) Vᵀ with Haar-like U, V."""
    gen = torch.Generator().manual_seed(seed)
    u, _ = torch.linalg.qr(torch.randn(rows, len(values), generator=gen, dtype=torch.float64))
    v, _ = torch.linalg.qr(torch.randn(cols, len(values), generator=gen, dtype=torch.float64))
    return (u * torch.as_tensor(values, dtype=torch.float64)) @ v.T


class TestExactPolar:
    def test_is_orthonormal_and_attains_nuclear_norm(self):
        x = _random(96, 64)
        o = polar_exact(x)
        assert torch.allclose(o.T @ o, torch.eye(64, dtype=torch.float64), atol=1e-10)
        nuclear = torch.linalg.svdvals(x).sum()
        assert abs((o * x).sum() - nuclear) < 1e-10 * nuclear

    def test_scale_invariant(self):
        x = _random(96, 64)
        assert torch.allclose(polar_exact(3.7 * x), polar_exact(x), atol=1e-12)

    def test_drops_zero_singular_values(self):
        x = _with_singular_values([3.0, 2.0, 1.0, 0.0, 0.0])
        s = torch.linalg.svdvals(polar_exact(x))
        assert torch.allclose(s[:3], torch.ones(3, dtype=torch.float64), atol=1e-12)
        assert s[3:].abs().max() < 1e-10

    def test_float32_keeps_graded_tail_directions(self):
        """A power-law spectrum reaching 1e-6·σ₁ is resolved by a float32 SVD: every direction stays."""
        values = torch.logspace(0, -6, 40).tolist()
        s = torch.linalg.svdvals(polar_exact(_with_singular_values(values).float()))
        assert torch.allclose(s[:40], torch.ones(40), atol=1e-3)

    @pytest.mark.parametrize("scale", [1e-30, 1e20, 1e30])
    def test_float32_keeps_every_direction_at_any_scale(self, scale):
        """The floor's ‖X‖_F is taken without squaring σ: at 10²⁰ σ² overflows float32."""
        values = torch.logspace(0, -5, 20).tolist()
        x = (scale * _with_singular_values(values)).float()
        s = torch.linalg.svdvals(polar_exact(x))
        assert torch.allclose(s[:20], torch.ones(20), atol=1e-3) and s[20:].abs().max() < 1e-3

    def test_float32_drops_round_off_in_null_directions(self):
        """Rounding an exactly rank-3 matrix to float32 leaves ~eps-sized values; they stay zero."""
        x = _with_singular_values([3.0, 2.0, 1.0, 0.0, 0.0]).float()
        assert torch.linalg.svdvals(x)[3] > 0  # the round-off the floor is there for
        s = torch.linalg.svdvals(polar_exact(x))
        assert torch.allclose(s[:3], torch.ones(3), atol=1e-5)
        assert s[3:].abs().max() < 1e-5

    def test_zero_matrix_maps_to_zero(self):
        assert torch.count_nonzero(polar_exact(torch.zeros(8, 5, dtype=torch.float64))) == 0

    def test_batched_matches_single(self):
        x = torch.stack([_random(20, 12, seed=i) for i in range(3)])
        batched = polar_exact(x)
        for i in range(3):
            assert torch.allclose(batched[i], polar_exact(x[i]), atol=1e-12)


class TestNewtonSchulz:
    def test_singular_values_land_in_keller_band(self):
        # One dominant direction and a log-spaced tail: after Frobenius normalisation the
        # singular values span about [3e-3, 0.95] (full rank, 96×64).
        tail = torch.logspace(-2.45, -1.0, 63, dtype=torch.float64)
        x = _with_singular_values(torch.cat([torch.ones(1, dtype=torch.float64), tail]))
        s_in = torch.linalg.svdvals(x) / torch.linalg.matrix_norm(x)
        assert 3e-3 <= s_in.min() < 3.5e-3
        assert s_in.max() > 0.9
        s_out = torch.linalg.svdvals(newton_schulz(x, 5))
        assert s_out.min() >= 0.68
        assert s_out.max() <= 1.21

    def test_tiny_singular_value_stays_small(self):
        # One direction at 1e-4 of the Frobenius norm: five steps cannot lift it past 0.06.
        x = _with_singular_values([1.0, 1e-4], rows=12, cols=8)
        scale = torch.linalg.matrix_norm(x)
        s_out = torch.linalg.svdvals(newton_schulz(x, 5))
        assert (torch.linalg.svdvals(x)[1] / scale) < 1.01e-4
        assert s_out[1] < 0.06

    def test_bfloat16_tracks_float64(self):
        x = _with_singular_values(torch.logspace(-2.5, 0, 64, dtype=torch.float64))
        s64 = torch.linalg.svdvals(newton_schulz(x, 5))
        s16 = torch.linalg.svdvals(newton_schulz(x, 5, dtype=torch.bfloat16))
        assert (s16 - s64).abs().max() <= 0.05

    def test_more_steps_approach_exact_polar_on_well_conditioned_input(self):
        x = _with_singular_values(torch.linspace(0.5, 1.0, 64, dtype=torch.float64))
        err5 = (newton_schulz(x, 5) - polar_exact(x)).norm()
        err10 = (newton_schulz(x, 10) - polar_exact(x)).norm()
        assert err10 < err5

    def test_tall_and_wide_agree_by_transpose(self):
        x = _random(30, 12)
        assert torch.allclose(newton_schulz(x, 5), newton_schulz(x.T, 5).T, atol=1e-12)

    def test_a_tiny_direction_grows_by_a_to_the_k(self):
        """The coefficients are chosen for the slope at zero: after k steps a tiny σ is scaled by a^k."""
        tiny = 1e-7
        x = _with_singular_values(torch.tensor([1.0, tiny], dtype=torch.float64), rows=20, cols=10)
        normalised = tiny / (1.0 + tiny**2) ** 0.5  # NS divides X by its Frobenius norm first
        for steps in (1, 3, 5):
            s = torch.linalg.svdvals(newton_schulz(x, steps))
            assert float(s[1]) / normalised == pytest.approx(KELLER_COEFFICIENTS[0] ** steps, rel=1e-4)

    @pytest.mark.skipif(not hasattr(torch.optim, "Muon"), reason="torch.optim.Muon needs PyTorch >= 2.9")
    def test_coefficients_are_pytorchs_muon_defaults(self):
        import inspect

        defaults = inspect.signature(torch.optim.Muon).parameters["ns_coefficients"].default
        assert defaults == pytest.approx(KELLER_COEFFICIENTS)


class TestRegularizedPolar:
    def test_singular_values_follow_formula(self):
        sigma = torch.tensor([4.0, 1.0, 0.3, 0.05, 0.01, 0.002], dtype=torch.float64)
        lam = 0.2
        x = _with_singular_values(sigma, rows=10, cols=6)
        s_out = torch.linalg.svdvals(polar_regularized(x, lam))
        expected = sigma / torch.sqrt(sigma**2 + lam**2)
        assert torch.allclose(s_out, expected, atol=1e-10)

    def test_small_lambda_gives_exact_polar(self):
        x = _random(12, 9)
        assert torch.allclose(polar_regularized(x, 1e-9), polar_exact(x), atol=1e-7)
        assert torch.equal(polar_regularized(x, 0.0), polar_exact(x))

    @pytest.mark.parametrize("lam", [1e4, 1e6])
    def test_large_lambda_times_map_returns_x(self, lam):
        x = _random(12, 9)
        rel = (lam * polar_regularized(x, lam) - x).norm() / x.norm()
        assert rel < 10.0 / lam**2 * torch.linalg.svdvals(x).max() ** 2


@pytest.mark.parametrize("threads", [1, 2])
def test_the_exact_map_of_a_matrix_alone_is_its_map_in_a_stack_bit_for_bit(threads):
    """The window maps lanes one at a time, a command-line run in one batch: a session replays the
    same only if the two agree to the last bit."""
    stack = torch.randn(4, 300, 280, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        together = polar_exact(stack)
        assert all(torch.equal(polar_exact(stack[i]), together[i]) for i in range(stack.shape[0]))
    finally:
        torch.set_num_threads(before)
