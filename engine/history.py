"""Per-step scalar metrics of every lane, stored column-wise with bounded memory.

One row per (step, lane) — the long format survives lanes being added or removed mid-run. A metric
group only fills a row at the steps it was computed (eval, spectra and signal cadences differ);
the other rows hold NaN, so a plot or a table never shows a stale value as if it were new. When
``max_rows`` is reached, every other recorded step is dropped and the recording stride doubles:
long runs keep an evenly thinned history instead of growing without bound.
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from muonscope.engine.lane_history import LaneHistory
from muonscope.engine.scalar_metrics import COUNT_METRICS, SCALAR_METRICS, fresh_value
from muonscope.engine.snapshot import LaneSnapshot, Snapshot, Spectra
from muonscope.engine.tables import write_table

__all__ = ["COLUMNS", "MetricHistory", "SnapshotStore", "SpectraHistory", "SpectraRow", "count_values"]

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
        #: every lane's settings through the run, as the newest recorded snapshot knew them
        self.lane_histories: tuple[LaneHistory, ...] = ()
        # lane id → (rows scanned, its rows); emptied when rows are dropped in place (thinned, truncated)
        self._lane_rows: dict[int, tuple[int, np.ndarray]] = {}

    def __len__(self) -> int:
        return self._size

    def append(self, snapshot: Snapshot) -> None:
        """Record every lane of a snapshot (skipped when the step is off the current stride)."""
        if snapshot.step % self.stride:
            return
        for lane in snapshot.lanes:
            self._append_row(snapshot.step, lane)
        self.lane_histories = snapshot.lane_histories
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

    def fill_in(self, snapshot: Snapshot) -> bool:
        """Complete a recorded step's rows with the metrics a recomputation of it has and they lack.

        A playing run computes spectra only as often as frames are drawn, so a step can be on
        record without its spectral metrics; when that step is recomputed in full (the view paused
        there) its values are the run's own (a replay is bit-identical) and belong in the record.
        Returns whether any value was added; a step not on record is left out.
        """
        steps = self._data["step"][: self._size]
        rows = np.flatnonzero(steps == snapshot.step)
        lanes = {lane.lane_id: lane for lane in snapshot.lanes}
        added = False
        for row in rows:
            lane = lanes.get(int(self._data["lane_id"][row]))
            if lane is None:
                continue
            for name in SCALAR_METRICS:
                value = fresh_value(lane, name, snapshot.step)
                if value is not None and np.isnan(self._data[name][row]):
                    self._data[name][row] = value
                    added = True
        return added

    def _thin(self) -> None:
        self.stride *= 2
        keep = np.flatnonzero(self._data["step"][: self._size] % self.stride == 0)
        for _name, column in self._data.items():
            column[: keep.size] = column[keep]
        self._size = keep.size
        self._lane_rows = {}

    @property
    def last_step(self) -> int:
        """The newest step recorded (−1 when empty)."""
        return int(self._data["step"][self._size - 1]) if self._size else -1

    def truncate_after(self, step: int) -> None:
        """Forget the rows after ``step`` (the run went back there and will record them again)."""
        keep = np.flatnonzero(self._data["step"][: self._size] <= step)
        for column in self._data.values():
            column[: keep.size] = column[keep]
        self._size = keep.size
        self._lane_rows = {}

    def copy(self, up_to_step: int | None = None) -> MetricHistory:
        """An independent copy, optionally of the rows up to ``up_to_step`` only (what a fork inherits)."""
        twin = MetricHistory(self.max_rows)
        twin.stride = self.stride
        twin.labels = dict(self.labels)
        twin.lane_histories = self.lane_histories
        twin._data = {name: column.copy() for name, column in self._data.items()}
        twin._size = self._size
        if up_to_step is not None:
            twin.truncate_after(up_to_step)
        return twin

    @classmethod
    def from_table(
        cls, table: dict[str, np.ndarray], labels: dict[int, str], stride: int = 1
    ) -> MetricHistory:
        """A history holding the rows of :meth:`table` (e.g. read back from a saved session)."""
        history = cls()
        size = len(table["step"])
        history._data = {
            name: np.asarray(table[name], dtype=np.float64).copy() if size else np.empty(1024)
            for name in COLUMNS
        }
        history._size = size
        history.stride = stride
        history.labels = dict(labels)
        return history

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
        rows = self._rows_of(lane_id)
        return [self._data[name][rows] for name in names]

    def _rows_of(self, lane_id: int) -> np.ndarray:
        """The rows of one lane, in order: found among the rows added since they were last asked for.

        The window asks for every lane's rows each frame; selecting them afresh from all rows took
        2.4 ms a lane at 60,000 steps of four lanes, nearly half of a frame's drawing of panel ②.
        """
        scanned, rows = self._lane_rows.get(lane_id, (0, np.zeros(0, dtype=np.int64)))
        if scanned < self._size:
            added = np.flatnonzero(self._data["lane_id"][scanned : self._size] == lane_id) + scanned  # (a,)
            rows = np.concatenate([rows, added])
            self._lane_rows[lane_id] = (self._size, rows)
        return rows

    def table(self) -> dict[str, np.ndarray]:
        """All columns, with step and lane as integers."""
        out = {name: self.column(name) for name in COLUMNS}
        out["step"] = out["step"].astype(np.int64)
        out["lane"] = out["lane"].astype(np.int64)
        out["lane_id"] = out["lane_id"].astype(np.int64)
        return out

    def row_labels(self, histories: tuple[LaneHistory, ...] | None = None) -> list[str]:
        """Each row's lane as it was at the row's step: the label of the settings that drew it.

        ``histories``: the lanes' settings along the recorded steps (default: the newest snapshot's).
        A lane with none is named by its last recorded label.
        """
        by_id = {h.lane_id: h for h in (self.lane_histories if histories is None else histories)}
        size = self._size
        steps, lanes, ids = (self._data[name][:size].astype(np.int64) for name in ("step", "lane", "lane_id"))
        labels = np.array([self.labels.get(lane, "") for lane in lanes.tolist()], dtype=object)
        for lane_id, history in by_id.items():
            rows = ids == lane_id
            labels[rows] = history.labels_at(steps[rows])
        return labels.tolist()

    def write(self, path: Path, diverged_at: Mapping[int, int] | None = None) -> Path:
        """Write as Parquet (``.parquet``) or CSV (``.csv``), chosen by the suffix.

        Each row's ``label`` names the lane's settings at that row's step, and ``diverged`` whether
        the lane had diverged by then (``diverged_at``: lane id → the step it diverged at): its
        metrics are missing from there on, as a metric not computed at a row is (null in Parquet,
        where NaN made a column's mean NaN; empty in CSV). The counts (items recovered, a rank) are
        integers: "37", not "37.0".
        """
        table = self.table()
        labels = np.array(self.row_labels(), dtype=object)
        at = diverged_at or {}
        steps, lane_ids = table["step"], table["lane_id"].astype(int)
        frozen = [lane in at and step >= at[lane] for step, lane in zip(steps, lane_ids, strict=True)]
        columns = {"step": steps, "lane": table["lane"], "label": labels, "diverged": frozen}
        parquet = Path(path).suffix == ".parquet"
        for name in SCALAR_METRICS:
            columns[name] = _missing_as_null(table[name]) if parquet else table[name]
        columns.update({name: count_values(table[name]) for name in COUNT_METRICS})
        return write_table(columns, path, _parquet_schema(columns) if parquet else None)


def _missing_as_null(values: np.ndarray) -> list[float | None]:
    """A float column with None where it holds NaN (not computed): Parquet's null, which readers skip."""
    return [None if value != value else float(value) for value in values]


def _parquet_schema(columns: dict) -> Any:
    """The table's column types, fixed: a count never computed in a run (a stream's items recovered)
    was a column of nulls, typed null, where another run's is int64, and tables did not join."""
    import pyarrow as pa

    def column_type(name: str) -> Any:
        if name in ("step", "lane") or name in COUNT_METRICS:
            return pa.int64()
        if name == "diverged":
            return pa.bool_()
        return pa.string() if name == "label" else pa.float64()

    return pa.schema([(name, column_type(name)) for name in columns])


def count_values(values: np.ndarray) -> list[int | None]:
    """A float column of whole numbers as ints, None where the metric was not computed (NaN): how
    every table written (``run --out``'s, a saved session's) holds the counts."""
    return [None if np.isnan(value) else int(value) for value in values.tolist()]


@dataclass(frozen=True, slots=True)
class SpectraRow:
    """The spectra of one lane at one step."""

    step: int
    lane: int
    lane_id: int
    spectra: Spectra


class SpectraHistory:
    """Every lane's spectra at the steps they were computed, thinned by halving past ``max_steps``.

    Snapshots' spectra are immutable arrays, so keeping them costs no copy.
    """

    def __init__(self, max_steps: int = 4096) -> None:
        self.max_steps = max_steps
        self.stride = 1
        self._by_step: dict[int, tuple[SpectraRow, ...]] = {}
        self._revision = 0

    @property
    def revision(self) -> int:
        """A number that changes whenever the rows do: a view drawn from them is redrawn only then."""
        return self._revision

    def __len__(self) -> int:
        return len(self._by_step)

    @property
    def steps(self) -> tuple[int, ...]:
        return tuple(self._by_step)

    def append(self, snapshot: Snapshot) -> None:
        """Record the lanes whose spectra were computed at this snapshot's step."""
        step = snapshot.step
        if step % self.stride or step in self._by_step:
            return
        rows = tuple(
            SpectraRow(step, lane.index, lane.lane_id, lane.spectra)
            for lane in snapshot.lanes
            if lane.spectra_step == step
        )
        if not rows:
            return
        self._by_step[step] = rows
        self._revision += 1
        if len(self._by_step) > self.max_steps:
            self.stride *= 2
            self._by_step = {s: r for s, r in self._by_step.items() if s % self.stride == 0}

    def fill_in(self, snapshot: Snapshot) -> bool:
        """Record the spectra a recomputation of a step has where the record lacks them (see
        :meth:`MetricHistory.fill_in`): the metrics took a paused step's recomputed spectral gap and
        the spectra not, so a saved session held the gap of one step more than its spectra.
        Returns whether any were added."""
        before = len(self._by_step)
        self.append(snapshot)
        if len(self._by_step) == before:
            return False
        self._by_step = dict(sorted(self._by_step.items()))  # in step order, as the record is kept
        return True

    def add_rows(self, rows: list[SpectraRow]) -> None:
        """Put back rows read from a saved session."""
        by_step: dict[int, list[SpectraRow]] = {}
        for row in rows:
            by_step.setdefault(row.step, []).append(row)
        self._by_step.update({step: tuple(found) for step, found in sorted(by_step.items())})
        self._revision += 1

    def rows(self) -> list[SpectraRow]:
        return [row for rows in self._by_step.values() for row in rows]

    def truncate_after(self, step: int) -> None:
        self._by_step = {s: r for s, r in self._by_step.items() if s <= step}
        self._revision += 1

    def table(
        self, lane_id: int, matrix: str, most: int | None = None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """One lane's singular values of one matrix at every step on record: steps (T,), the indices
        k (R,) kept (1-based; all of them, or ``most`` evenly spaced from the first to the last), and
        σ_k (T, R), descending along each row.

        NaN where a step has fewer values (no momentum buffer yet), all NaN at a step whose lane had
        no such matrix (momentum order none for a while); nothing while it never had one.
        """
        found = [
            (step, getattr(row.spectra, matrix))
            for step, rows in sorted(self._by_step.items())
            for row in rows
            if row.lane_id == lane_id
        ]
        width = max((values.size for _step, values in found), default=0)
        if width == 0:
            return np.zeros(0), np.zeros(0), np.zeros((0, 0))
        kept = evenly_spaced_indices(width, most)  # (R,)
        table = np.full((len(found), kept.size), np.nan)  # (T, R)
        for row, (_step, values) in enumerate(found):
            inside = kept < values.size
            table[row, inside] = values[kept[inside]]
        return np.array([step for step, _values in found], dtype=float), kept + 1.0, table

    def copy(self, up_to_step: int | None = None) -> SpectraHistory:
        twin = SpectraHistory(self.max_steps)
        twin.stride = self.stride
        twin._by_step = dict(self._by_step)
        if up_to_step is not None:
            twin.truncate_after(up_to_step)
        return twin


class SnapshotStore:
    """Snapshots by step, for looking back at an earlier step; bounded like MetricHistory.

    The newest ``recent`` snapshots are always kept. A snapshot that falls out of that window stays
    only if its step is on the grid of every ``stride``-th step; when more than ``capacity − recent``
    older snapshots remain, the stride doubles and the grid is thinned. Memory stays bounded on long
    runs while the whole run remains reachable, at a resolution that coarsens evenly.
    """

    def __init__(self, capacity: int = 2000, recent: int = 200) -> None:
        if not 0 < recent < capacity:
            raise ValueError(f"recent = {recent}: must be between 1 and capacity − 1 = {capacity - 1}")
        self.capacity = capacity
        self.recent = recent
        self.stride = 1
        self._older: list[int] = []  # steps on the grid, ascending
        self._newest: list[int] = []  # the last ``recent`` steps, ascending
        self._by_step: dict[int, Snapshot] = {}

    def __len__(self) -> int:
        return len(self._older) + len(self._newest)

    @property
    def steps(self) -> tuple[int, ...]:
        return (*self._older, *self._newest)

    def clear(self) -> None:
        self._older.clear()
        self._newest.clear()
        self._by_step.clear()
        self.stride = 1

    def add(self, snapshot: Snapshot) -> None:
        """Store a snapshot; one of the newest step replaces it (settings changed between steps)."""
        step = snapshot.step
        if self._newest and step == self._newest[-1]:
            self._by_step[step] = snapshot
            return
        if self._newest and step < self._newest[-1]:
            self.truncate_after(step - 1)  # a rewind: the steps after it are recomputed
        self._newest.append(step)
        self._by_step[step] = snapshot
        if len(self._newest) > self.recent:
            self._retire(self._newest.pop(0))

    def truncate_after(self, step: int) -> None:
        """Forget every snapshot after ``step`` (the run went back there)."""
        for kept in (self._older, self._newest):
            for s in [s for s in kept if s > step]:
                del self._by_step[s]
            kept[:] = [s for s in kept if s <= step]

    def _retire(self, step: int) -> None:
        """A snapshot leaves the recent window: keep it on the grid, thinning the grid when full."""
        if step % self.stride:
            del self._by_step[step]
            return
        self._older.append(step)
        while len(self._older) > self.capacity - self.recent:
            self.stride *= 2
            dropped = [s for s in self._older if s % self.stride]
            for s in dropped:
                del self._by_step[s]
            self._older = [s for s in self._older if s % self.stride == 0]

    def at_or_before(self, step: int) -> Snapshot | None:
        """The stored snapshot of the latest step ≤ ``step``."""
        steps = self.steps
        index = bisect.bisect_right(steps, step) - 1
        return self._by_step[steps[index]] if index >= 0 else None


def evenly_spaced_indices(count: int, most: int | None = None) -> np.ndarray:
    """0-based indices into ``count`` values: all of them, or at most ``most`` evenly spaced from the
    first to the last (a spectrum's largest and smallest values are always among them)."""
    if most is None or count <= most:
        return np.arange(count)
    return np.unique(np.round(np.linspace(0, count - 1, most)).astype(int))
