"""Thinning a long line to the points its pixel columns show."""

import numpy as np
import pytest

from muonscope.widgets.decimate import pixel_envelope


def _columns_by_brute_force(x_px, y):
    """Per pixel column: (first index, last index, min y, max y)."""
    out = {}
    for i, (x, value) in enumerate(zip(x_px, y, strict=True)):
        column = int(np.floor(x))
        first, _last, low, high = out.get(column, (i, i, value, value))
        out[column] = (first, i, min(low, value), max(high, value))
    return out


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_each_column_keeps_its_ends_and_its_extremes_and_nothing_else(seed):
    rng = np.random.default_rng(seed)
    x_px = np.sort(rng.random(20_000) * 300)  # ~67 points per column
    y = rng.random(20_000)
    keep = pixel_envelope(x_px, y)
    assert np.all(np.diff(keep) > 0)  # ascending, no repeats
    columns = _columns_by_brute_force(x_px, y)
    kept = _columns_by_brute_force(x_px[keep], y[keep])
    assert set(kept) == set(columns)
    for column, (first, last, low, high) in columns.items():
        k_first, k_last, k_low, k_high = kept[column]
        assert (keep[k_first], keep[k_last], k_low, k_high) == (first, last, low, high)
    assert keep.size <= 4 * len(columns)


def test_a_line_with_few_points_per_column_is_kept_whole():
    x_px = np.log10(np.arange(1, 501)) / np.log10(500) * 400  # a log axis: sparse head, dense tail
    assert np.array_equal(pixel_envelope(x_px, np.sin(x_px)), np.arange(500))
    assert pixel_envelope(np.zeros(0), np.zeros(0)).size == 0
