import numpy as np
import pytest

from muonscope.widgets.panel_modes import SERIES_SMOOTHING
from muonscope.widgets.smoothing import ema


def _loop_ema(values, weight, steps=None):
    """The definition, one point at a time: the average and its total weight, both decayed per step."""
    steps = range(len(values)) if steps is None else steps
    smoothed = total = 0.0
    previous = steps[0] - 1
    out = []
    for step, x in zip(steps, values, strict=True):
        kept = weight ** (step - previous)
        smoothed = kept * smoothed + (1 - kept) * x
        total = kept * total + (1 - kept)
        out.append(smoothed / total)
        previous = step
    return np.array(out)


@pytest.mark.parametrize("weight", [w for w, _ in SERIES_SMOOTHING if w > 0])
@pytest.mark.parametrize("n", [1, 2, 449, 450, 451, 2186, 5000])
def test_ema_matches_the_definition_across_block_edges(weight, n):
    values = np.random.default_rng(n).lognormal(0.0, 3.0, size=n)  # spanning decades, as a loss does
    np.testing.assert_allclose(ema(values, weight), _loop_ema(values, weight), rtol=1e-10)


@pytest.mark.parametrize("weight", [0.6, 0.9, 0.99])
def test_points_measured_every_few_steps_are_weighted_per_step(weight):
    """A metric measured every 10 steps: 0.9 averages over about 10 steps, not 10 points."""
    rng = np.random.default_rng(1)
    steps = np.cumsum(rng.integers(1, 400, size=600)).astype(float)  # gaps longer than a block, too
    values = rng.lognormal(0.0, 2.0, size=steps.size)
    np.testing.assert_allclose(ema(values, weight, steps), _loop_ema(values, weight, steps), rtol=1e-9)
    every_ten = np.arange(0.0, 1000.0, 10.0)
    decaying = np.exp(-every_ten / 200)
    assert ema(decaying, 0.9, every_ten)[-1] < 1.1 * decaying[-1]  # close behind, not far above


def test_a_constant_stays_constant_from_the_first_point_and_raw_is_the_points():
    values = np.full(300, 4.2)
    np.testing.assert_allclose(ema(values, 0.99), values, rtol=1e-12)  # debiased: not pulled to 0
    assert np.array_equal(ema(values, 0.0), values)


def test_a_weight_of_one_or_more_is_refused():
    with pytest.raises(ValueError, match=r"smoothing weight = 1\.0"):
        ema(np.ones(3), 1.0)
