"""The one table writer: Parquet or CSV by suffix, NaN and missing values as empty CSV cells."""

import csv
import math

import numpy as np
import pyarrow.parquet as pq
import pytest

from muonscope.engine.tables import rows_to_columns, write_table

COLUMNS = {
    "step": np.array([0, 1, 2], dtype=np.int64),
    "lane": ["GD", "Muon", "Muon"],
    "loss": np.array([0.5, np.nan, 1 / 3]),
    "accuracy": [0.25, None, float("nan")],
    "cached": [True, False, True],
}


def test_csv_keeps_column_order_and_leaves_missing_values_empty(tmp_path):
    path = write_table(COLUMNS, tmp_path / "t.csv")
    with path.open(newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["step", "lane", "loss", "accuracy", "cached"]
    assert rows[1] == ["0", "GD", "0.5", "0.25", "True"]
    assert rows[2] == ["1", "Muon", "", "", "False"]
    assert float(rows[3][2]) == 1 / 3  # floats round-trip exactly
    assert rows[3][3] == ""


def test_parquet_holds_the_same_table(tmp_path):
    table = pq.read_table(write_table(COLUMNS, tmp_path / "t.parquet")).to_pydict()
    assert list(table) == list(COLUMNS)
    assert table["step"] == [0, 1, 2] and table["lane"] == ["GD", "Muon", "Muon"]
    assert table["loss"][0] == 0.5 and math.isnan(table["loss"][1])
    assert table["accuracy"][1] is None


def test_unknown_suffixes_and_ragged_columns_are_refused(tmp_path):
    with pytest.raises(ValueError, match=r"\.parquet or \.csv"):
        write_table(COLUMNS, tmp_path / "t.xlsx")
    with pytest.raises(ValueError, match="different lengths"):
        write_table({"a": [1, 2], "b": [1]}, tmp_path / "t.csv")
    assert not list(tmp_path.iterdir())


def test_rows_become_columns_and_write_numbers_exactly(tmp_path):
    rows = [[1.0, 0.1 + 0.2], [2, float("nan")], [3, 1e-300]]
    path = write_table(rows_to_columns(["step", "a, b"], rows), tmp_path / "t.csv")
    with path.open(newline="") as handle:
        header, *read = list(csv.reader(handle))
    assert header == ["step", "a, b"]  # a comma in a name is quoted, not a new column
    assert read == [["1.0", repr(0.1 + 0.2)], ["2", ""], ["3", "1e-300"]]
    assert float(read[0][1]) == 0.1 + 0.2
    empty = write_table(rows_to_columns(["step", "loss"], []), tmp_path / "empty.csv")
    assert empty.read_text().splitlines() == ["step,loss"]  # the header stays


def test_a_pyarrow_table_and_a_schema_are_written_as_given(tmp_path):
    import pyarrow as pa

    table = pa.table({"step": [1, 2], "sv": [[1.0, 0.5], [0.25]]})
    assert pq.read_table(write_table(table, tmp_path / "t.parquet")).equals(table)
    schema = pa.schema([("step", pa.int64()), ("sv", pa.list_(pa.float64()))])
    empty = pq.read_table(write_table({"step": [], "sv": []}, tmp_path / "e.parquet", schema))
    assert empty.schema.equals(schema) and empty.num_rows == 0
