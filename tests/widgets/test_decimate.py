"""Thinning a long line to the points its pixel columns show."""

import numpy as np
import pytest

from muonscope.widgets.decimate import pixel_envelope, thinned_line


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


def _breaks_between(joined, first, last):
    """Whether the whole line stops anywhere from point ``first`` to point ``last``."""
    return not np.all(joined[first:last])


@pytest.mark.parametrize("seed", [0, 1])
def test_a_thinned_line_breaks_exactly_where_the_whole_line_does(seed):
    rng = np.random.default_rng(seed)
    n = 30_000
    x_px = np.arange(n) / n * 200  # 150 points per column
    y = rng.random(n)
    joined = rng.random(n) > 0.001  # ~30 breaks, most inside a column
    joined[-1] = False
    keep, kept_joined = thinned_line(x_px, y, joined)
    assert np.all(np.diff(keep) > 0)
    breaks = np.flatnonzero(~joined[:-1])
    assert set(breaks) | set(breaks + 1) <= set(keep)  # both ends of every break are drawn
    for i in range(keep.size - 1):
        assert kept_joined[i] == (not _breaks_between(joined, keep[i], keep[i + 1]))
    assert set(pixel_envelope(x_px, y)) <= set(keep)  # and every column's envelope
    assert keep.size < n / 10


def test_an_unbroken_line_is_thinned_to_its_envelope_alone():
    x_px = np.arange(10_000) / 50.0
    y = np.cos(x_px)
    joined = np.ones(10_000, dtype=bool)
    joined[-1] = False  # the last point has no next: not a break
    for given in (None, joined):
        keep, kept_joined = thinned_line(x_px, y, given)
        assert np.array_equal(keep, pixel_envelope(x_px, y)) and kept_joined is None
