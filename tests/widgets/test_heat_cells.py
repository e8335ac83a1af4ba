"""Heat-map cells centred on the steps they were measured at, evenly spaced or not."""

import numpy as np
import pytest

from muonscope.widgets.heat_cells import MAX_COLUMNS, heat_columns


def _cell_value_at(columns, step: float) -> np.ndarray:
    """The image column under ``step`` (what the picture shows there)."""
    unit = columns.width / columns.values.shape[0]
    return columns.values[int((step - columns.left) // unit)]


def test_even_steps_give_one_column_per_step_centred_on_it():
    steps = np.array([0.0, 10.0, 20.0, 30.0, 40.0])
    values = np.arange(10.0).reshape(5, 2)
    columns = heat_columns(steps, values)
    assert (columns.left, columns.width) == (-5.0, 50.0)
    np.testing.assert_array_equal(columns.values, values)
    for step, row in zip(steps, values, strict=True):  # every measured step shows its own row
        np.testing.assert_array_equal(_cell_value_at(columns, step), row)
    np.testing.assert_array_equal(_cell_value_at(columns, 34.0), values[3])  # nearest measured step
    np.testing.assert_array_equal(_cell_value_at(columns, 36.0), values[4])


def test_uneven_steps_keep_each_cell_between_the_midpoints_with_its_neighbours():
    steps = np.array([0.0, 10.0, 20.0, 27.0, 34.0, 41.0])  # the interval changed from 10 to 7
    values = np.arange(6.0)[:, None]
    columns = heat_columns(steps, values)
    assert (columns.left, columns.left + columns.width) == (-5.0, 44.5)
    probes = {0.0: 0, 4.9: 0, 5.1: 1, 14.9: 1, 15.1: 2, 23.4: 2, 23.6: 3, 27.0: 3, 30.6: 4, 41.0: 5, 44.4: 5}
    for step, row in probes.items():
        assert _cell_value_at(columns, step)[0] == row, step


def test_one_step_is_one_step_wide():
    columns = heat_columns(np.array([0.0]), np.array([[0.3, 0.7]]))
    assert (columns.left, columns.width) == (-0.5, 1.0)


@pytest.mark.parametrize("steps", [np.array([0.0, 1.0, 100_001.0]), np.array([0.0, 3.0, 50_000.0, 50_001.0])])
def test_a_long_uneven_run_stays_within_the_column_limit(steps):
    columns = heat_columns(steps, np.arange(float(steps.size))[:, None])
    assert columns.values.shape[0] <= MAX_COLUMNS + steps.size
    np.testing.assert_array_equal(_cell_value_at(columns, steps[-1])[0], steps.size - 1)
