import numpy as np
import pytest

from muonscope.widgets.smoothing import SMOOTHING_WEIGHTS, ema


def _loop_ema(values, weight):
    """The definition, one point at a time."""
    smoothed, out = 0.0, []
    for i, x in enumerate(values):
        smoothed = weight * smoothed + (1 - weight) * x
        out.append(smoothed / (1 - weight ** (i + 1)))
    return np.array(out)


@pytest.mark.parametrize("weight", [w for w in SMOOTHING_WEIGHTS if w > 0])
@pytest.mark.parametrize("n", [1, 2, 449, 450, 451, 2186, 5000])
def test_ema_matches_the_definition_across_block_edges(weight, n):
    values = np.random.default_rng(n).lognormal(0.0, 3.0, size=n)  # spanning decades, as a loss does
    np.testing.assert_allclose(ema(values, weight), _loop_ema(values, weight), rtol=1e-10)


def test_a_constant_stays_constant_from_the_first_point_and_raw_is_the_points():
    values = np.full(300, 4.2)
    np.testing.assert_allclose(ema(values, 0.99), values, rtol=1e-12)  # debiased: not pulled to 0
    assert np.array_equal(ema(values, 0.0), values)


def test_a_weight_of_one_or_more_is_refused():
    with pytest.raises(ValueError, match=r"smoothing weight = 1\.0"):
        ema(np.ones(3), 1.0)
