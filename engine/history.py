"""Per-step scalar metrics of every lane, stored column-wise with bounded memory.

One row per (step, lane) — the long format survives lanes being added or removed mid-run. A metric
group only fills a row at the steps it was computed (eval, spectra and signal cadences differ);
the other rows hold NaN, so a plot or a table never shows a stale value as if it were new. When
``max_rows`` is reached, every other recorded step is dropped and the recording stride doubles:
long runs keep an evenly thinned history instead of growing without bound.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from engine.snapshot import LaneSnapshot, Snapshot

__all__ = ["COLUMNS", "MetricHistory"]

#: Column name → (metric group, how to read it from a LaneSnapshot).
_SCALARS: dict[str, tuple[str, str]] = {
    "batch_loss": ("step", "batch_loss"),
    "loss": ("eval", "loss"),
    "excess_loss": ("eval", "excess_loss"),
    "accuracy": ("eval", "accuracy"),
    "recovered": ("eval", "recovered"),
    "recovered_prefix": ("eval", "recovered_prefix"),
    "gap": ("spectra", "gap"),
    "ratio_gap": ("spectra", "ratio_gap"),
    "ratio_gap_rank": ("spectra", "ratio_gap_rank"),
    "weight_entropy": ("spectra", "weight_isotropy.entropy"),
    "weight_effective_rank": ("spectra", "weight_isotropy.effective_rank"),
    "weight_top_energy": ("spectra", "weight_isotropy.top_energy"),
    "weight_q75_q25": ("spectra", "weight_isotropy.q75_q25"),
    "update_entropy": ("spectra", "update_isotropy.entropy"),
    "alignment": ("signal", "alignment"),
    "sin_theta": ("signal", "sin_theta"),
}
COLUMNS = ("step", "lane", *_SCALARS)
_GROUP_STEP = {"eval": "eval_step", "spectra": "spectra_step", "signal": "signal_step"}


def _read(lane: LaneSnapshot, path: str) -> float:
    value = lane
    for part in path.split("."):
        value = getattr(value, part)
    return float(value)


class MetricHistory:
    """Growable columns of per-step lane metrics, thinned by halving past ``max_rows``."""

    def __init__(self, max_rows: int = 1_000_000) -> None:
        self.max_rows = max_rows
        self.stride = 1
        self._size = 0
        self._data = {name: np.empty(1024, dtype=np.float64) for name in COLUMNS}
        self.labels: dict[int, str] = {}

    def __len__(self) -> int:
        return self._size

    def append(self, snapshot: Snapshot) -> None:
        """Record every lane of a snapshot (skipped when the step is off the current stride)."""
        if snapshot.step % self.stride:
            return
        for lane in snapshot.lanes:
            self._append_row(snapshot.step, lane)
        if self._size > self.max_rows:
            self._thin()

    def _append_row(self, step: int, lane: LaneSnapshot) -> None:
        if self._size == self._data["step"].shape[0]:
            for name, column in self._data.items():
                self._data[name] = np.resize(column, 2 * column.shape[0])
        row = self._size
        self._data["step"][row] = step
        self._data["lane"][row] = lane.index
        for name, (group, path) in _SCALARS.items():
            fresh = group == "step" or getattr(lane, _GROUP_STEP[group]) == step
            self._data[name][row] = _read(lane, path) if fresh else np.nan
        self.labels[lane.index] = lane.label
        self._size += 1

    def _thin(self) -> None:
        self.stride *= 2
        keep = np.flatnonzero(self._data["step"][: self._size] % self.stride == 0)
        for _name, column in self._data.items():
            column[: keep.size] = column[keep]
        self._size = keep.size

    def column(self, name: str, lane: int | None = None) -> np.ndarray:
        """A copy of one column, optionally only the rows of one lane."""
        values = self._data[name][: self._size]
        if lane is None:
            return values.copy()
        return values[self._data["lane"][: self._size] == lane]

    def table(self) -> dict[str, np.ndarray]:
        """All columns, with step and lane as integers."""
        out = {name: self.column(name) for name in COLUMNS}
        out["step"] = out["step"].astype(np.int64)
        out["lane"] = out["lane"].astype(np.int64)
        return out

    def write(self, path: Path) -> Path:
        """Write as Parquet (``.parquet``) or CSV (``.csv``), chosen by the suffix."""
        table = self.table()
        labels = np.array([self.labels.get(int(i), "") for i in table["lane"]], dtype=object)
        if path.suffix == ".parquet":
            import pyarrow as pa
            import pyarrow.parquet as pq

            columns = {"step": table["step"], "lane": table["lane"], "label": labels}
            columns.update({k: v for k, v in table.items() if k not in ("step", "lane")})
            pq.write_table(pa.table(columns), path)
            return path
        with path.open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["step", "lane", "label", *_SCALARS])
            for row in range(self._size):
                values = [table[name][row] for name in _SCALARS]
                writer.writerow(
                    [table["step"][row], table["lane"][row], labels[row], *(_csv(v) for v in values)]
                )
        return path


def _csv(value: float) -> str:
    return "" if np.isnan(value) else repr(float(value))
