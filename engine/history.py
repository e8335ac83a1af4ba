"""Per-step scalar metrics of every lane, stored column-wise with bounded memory.

One row per (step, lane) — the long format survives lanes being added or removed mid-run. A metric
group only fills a row at the steps it was computed (eval, spectra and signal cadences differ);
the other rows hold NaN, so a plot or a table never shows a stale value as if it were new. When
``max_rows`` is reached, every other recorded step is dropped and the recording stride doubles:
long runs keep an evenly thinned history instead of growing without bound.
"""

from __future__ import annotations

import bisect
from pathlib import Path

import numpy as np

from muonscope.engine.scalar_metrics import SCALAR_METRICS, fresh_value
from muonscope.engine.snapshot import LaneSnapshot, Snapshot
from muonscope.engine.tables import write_table

__all__ = ["COLUMNS", "MetricHistory", "SnapshotStore"]

#: The recorded columns: where a row belongs, then every per-lane scalar metric.
COLUMNS = ("step", "lane", "lane_id", *SCALAR_METRICS)


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
        self._data["lane_id"][row] = lane.lane_id
        for name in SCALAR_METRICS:
            value = fresh_value(lane, name, step)
            self._data[name][row] = np.nan if value is None else value
        self.labels[lane.index] = lane.label
        self._size += 1

    def _thin(self) -> None:
        self.stride *= 2
        keep = np.flatnonzero(self._data["step"][: self._size] % self.stride == 0)
        for _name, column in self._data.items():
            column[: keep.size] = column[keep]
        self._size = keep.size

    def column(self, name: str, lane: int | None = None, *, lane_id: int | None = None) -> np.ndarray:
        """A copy of one column, optionally only the rows of one lane (by position or by id)."""
        values = self._data[name][: self._size]
        if lane is not None:
            return values[self._data["lane"][: self._size] == lane]
        if lane_id is not None:
            return values[self._data["lane_id"][: self._size] == lane_id]
        return values.copy()

    def columns(self, names: tuple[str, ...], lane_id: int) -> list[np.ndarray]:
        """Several columns of one lane, sharing one row selection."""
        rows = self._data["lane_id"][: self._size] == lane_id
        return [self._data[name][: self._size][rows] for name in names]

    def table(self) -> dict[str, np.ndarray]:
        """All columns, with step and lane as integers."""
        out = {name: self.column(name) for name in COLUMNS}
        out["step"] = out["step"].astype(np.int64)
        out["lane"] = out["lane"].astype(np.int64)
        out["lane_id"] = out["lane_id"].astype(np.int64)
        return out

    def write(self, path: Path) -> Path:
        """Write as Parquet (``.parquet``) or CSV (``.csv``), chosen by the suffix; NaN stays empty in CSV."""
        table = self.table()
        labels = np.array([self.labels.get(int(i), "") for i in table["lane"]], dtype=object)
        columns = {"step": table["step"], "lane": table["lane"], "label": labels}
        columns.update({name: table[name] for name in SCALAR_METRICS})
        return write_table(columns, path)


class SnapshotStore:
    """Recent snapshots by step, for looking back at an earlier step; bounded like MetricHistory.

    The newest ``recent`` snapshots are always kept; older ones are thinned to every
    ``stride``-th step whenever ``capacity`` is exceeded, so memory stays bounded on long runs
    while the whole run remains reachable at a coarser resolution.
    """

    def __init__(self, capacity: int = 2000, recent: int = 200) -> None:
        self.capacity = capacity
        self.recent = recent
        self.stride = 1
        self._steps: list[int] = []
        self._by_step: dict[int, Snapshot] = {}

    def __len__(self) -> int:
        return len(self._steps)

    def clear(self) -> None:
        self._steps.clear()
        self._by_step.clear()
        self.stride = 1

    def add(self, snapshot: Snapshot) -> None:
        """Store a snapshot; one of the newest step replaces it (settings changed between steps)."""
        step = snapshot.step
        if self._steps and step == self._steps[-1]:
            self._by_step[step] = snapshot
            return
        if self._steps and step < self._steps[-1]:
            self.clear()  # a reset or rewind: history starts over
        self._steps.append(step)
        self._by_step[step] = snapshot
        if len(self._steps) > self.capacity:
            self._thin()

    def _thin(self) -> None:
        self.stride *= 2
        cut = len(self._steps) - self.recent
        kept = [s for s in self._steps[:cut] if s % self.stride == 0] + self._steps[cut:]
        for step in set(self._steps) - set(kept):
            del self._by_step[step]
        self._steps = kept

    def at_or_before(self, step: int) -> Snapshot | None:
        """The stored snapshot of the latest step ≤ ``step``."""
        index = bisect.bisect_right(self._steps, step) - 1
        return self._by_step[self._steps[index]] if index >= 0 else None
