"""Peak memory of a run, by the setting that sizes each part (each task kind names its estimate).

The estimates count what a run keeps for its whole length and, on top, the largest of what passes
through one phase at a time; their parts are keyed by the field that sizes them, so that a refusal
can say which setting to lower. The constants were measured at small sizes
(benchmarks/memory_estimate.py sets the estimate beside the measured peak). No torch import: the
command line checks a run before anything heavy is loaded.
"""

from __future__ import annotations

from typing import Any

from muonscope.engine.optim.registry import OPTIMIZERS

__all__ = ["OVERHEAD", "memory_task_parts", "stream_task_parts"]

#: The part of an estimate no setting sizes: what a run adds to the process whatever its size.
OVERHEAD = "overhead"

#: Bytes of the process beyond the run's own arrays that a run still adds: allocator slack, the
#: linear-algebra libraries' workspaces, Python objects of the snapshots (measured at small sizes).
_FIXED_BYTES = 24 * 1024**2
#: Host bytes per item kept for the whole run: p as numpy and float64 tensor, the sampler's CDF,
#: the group of each item.
_ITEM_BOOKKEEPING_BYTES = 32
#: While the embeddings are drawn, N×d float64 arrays beyond the two kept: the generator's draw
#: before it is rescaled, or QR's factors and their sign-fixed, transposed copies (a float32 run
#: holds the float64 originals too).
_EMBEDDING_DRAW_COPIES = {"gaussian": 1, "orthogonal": 4, "identity": 1, "hadamard": 1}
#: Bytes per minibatch draw: the kept batch (items and labels, int64) ...
_BATCH_KEPT_BYTES = 16
#: ... and, while a step runs, the grouping of draws into columns and the sparse label entries
#: (int64 sort keys, positions, masses) ...
_BATCH_STEP_BYTES = 80
#: ... plus, per lane, the logits at the labels, their log-probabilities and the weighted losses
#: (values of the run's dtype per draw, not all alive at once) ...
_LABEL_VALUES_PER_LANE = 2.5
#: ... plus what the allocator keeps of freed batch arrays: arrays under 32 MiB (2^22 int64) come
#: from the heap, which frees them to itself rather than to the system (measured on glibc).
_BATCH_HEAP_BYTES = 48
_HEAP_ARRAY_VALUES = 1 << 22
#: d×d matrices per lane alive through the run: W, the last gradient and update, the signal
#: gradient (and the optimizer's buffers, counted per optimizer).
_MATRICES_KEPT_PER_LANE = 4
#: ... and during a step or its spectra: the new gradient and update, the undo copy of W and its
#: state, the stacked matrices whose singular values are taken and LAPACK's copy of them.
_MATRICES_STEP_PER_LANE = 12
#: d×d matrices of one lane's update rule or SVD at a time (U, Vᵀ, the input's copy, work space).
_MATRICES_ONE_AT_A_TIME = 10
#: Per-item float64 arrays per lane in the snapshot (class error, recovery), kept by the run, with
#: the previous evaluation's and the frozen copies alive while a new one is made.
_ITEM_ARRAYS_KEPT_PER_LANE = 2
_ITEM_ARRAYS_EVAL_PER_LANE = 6
#: Bytes per evaluated column and lane: per-column loss, p̂(correct) and recovery, gathered,
#: stacked for the one transfer to the host and unpacked there (float64 on the host).
_COLUMN_BYTES_PER_LANE = 96


def memory_task_parts(config: Any, item_bytes: int) -> dict[str, int]:
    """Peak bytes of a run on a memory task, by the setting that sizes each part.

    What the run keeps: the embeddings, per-item bookkeeping, the pass workspace, the last
    minibatch, the lanes' matrices and optimizer state, the latest evaluation's per-item arrays.
    On top of it, the largest of what passes, one at a time: drawing the embeddings, a minibatch
    step (its draws grouped into columns, one label entry each), a step's or its spectra's
    matrices, a population evaluation (exact or sampled). Host arrays count as float64 whatever
    the run's dtype; the parts add up to the estimate.
    """
    task, lanes = config.task, len(config.lanes)
    n, d, batch = task.n_items, task.d, task.batch_size
    evaluated = n if batch == 0 else min(n, config.run.exact_eval_items)
    columns = max(evaluated, min(batch, n))  # the widest pass: an evaluation or a step
    matrices = _MATRICES_KEPT_PER_LANE * lanes + _optimizer_state_matrices(config)
    parts = {
        OVERHEAD: _FIXED_BYTES,
        "task.n_items": (
            item_bytes * 2 * n * d
            + (_ITEM_BOOKKEEPING_BYTES + item_bytes) * n
            + _workspace_bytes(n, d, lanes, columns, item_bytes)
            + 8 * _ITEM_ARRAYS_KEPT_PER_LANE * lanes * n
        ),
        "task.batch_size": _BATCH_KEPT_BYTES * batch,
        "task.d": item_bytes * d * d * matrices + _oracle_bytes(config, item_bytes),
    }
    passing = [  # (the setting that sizes it, bytes), one phase at a time
        ("task.n_items", 8 * _embedding_draw_copies(task.embeddings, item_bytes) * n * d),
        ("task.batch_size", _batch_step_bytes(batch, lanes, item_bytes)),
        ("task.d", item_bytes * d * d * (_MATRICES_STEP_PER_LANE * lanes + _MATRICES_ONE_AT_A_TIME)),
        (_evaluation_field(n, lanes, evaluated), _evaluation_bytes(n, lanes, evaluated, item_bytes)),
    ]
    field, largest = max(passing, key=lambda phase: phase[1])
    parts[field] = parts.get(field, 0) + largest
    return parts


def _batch_step_bytes(batch: int, lanes: int, item_bytes: int) -> int:
    """A minibatch step's own arrays: B draws grouped into columns, one label entry per draw."""
    per_draw = _BATCH_STEP_BYTES + _LABEL_VALUES_PER_LANE * lanes * item_bytes
    return int(per_draw * batch) + _BATCH_HEAP_BYTES * min(batch, _HEAP_ARRAY_VALUES)


def _embedding_draw_copies(family: str, item_bytes: int) -> int:
    """N×d float64 arrays alive beyond the kept embeddings while they are drawn (and converted)."""
    return _EMBEDDING_DRAW_COPIES[family] + (0 if item_bytes == 8 else 1)


def _workspace_bytes(n: int, d: int, lanes: int, columns: int, item_bytes: int) -> int:
    """The logit block the passes reuse (``L × chunk × N``, at least one column) and its per-chunk rows."""
    from muonscope.engine.memory import chunk_columns  # torch: only when a run is checked

    width = chunk_columns(n, lanes, columns)  # query columns per chunk
    return item_bytes * (lanes * width * n + 3 * lanes * width * d)


def _evaluation_field(n: int, lanes: int, evaluated: int) -> str:
    """The setting that sizes an evaluation most: the sample (its columns) or N (its per-item arrays)."""
    columns = (_COLUMN_BYTES_PER_LANE * lanes + 40) * evaluated
    sampled = evaluated < n
    return (
        "run.exact_eval_items"
        if sampled and columns > 8 * _ITEM_ARRAYS_EVAL_PER_LANE * lanes * n
        else "task.n_items"
    )


def _evaluation_bytes(n: int, lanes: int, evaluated: int, item_bytes: int) -> int:
    """A population evaluation's own arrays: its queries, per-column results, per-item arrays."""
    queries = (16 + 3 * item_bytes) * evaluated  # items, columns, weights and target masses
    results = (_COLUMN_BYTES_PER_LANE + 2 * item_bytes) * lanes * evaluated
    return queries + results + 8 * _ITEM_ARRAYS_EVAL_PER_LANE * lanes * n


def _optimizer_state_matrices(config: Any) -> int:
    """Matrices of W's shape the lanes' optimizers keep, as each optimizer declares them."""
    return sum(OPTIMIZERS[lane.optimizer].state_matrices(lane) for lane in config.lanes)


def _oracle_bytes(config: Any, item_bytes: int) -> int:
    """The oracles' task geometry: two d×d inverses (and their SVDs while computed) once any lane
    reads it, and N×N task-basis coordinates (with their sign) during a step of one working in them."""
    specs = [OPTIMIZERS[lane.optimizer] for lane in config.lanes]
    n, d = config.task.n_items, config.task.d
    total = 0
    if any(spec.needs_geometry for spec in specs):
        total += item_bytes * 8 * d * d
    if any(spec.task_coordinates for spec in specs):
        total += item_bytes * (3 * n * n + 2 * n * d)
    return total


def stream_task_parts(config: Any, item_bytes: int) -> dict[str, int]:
    """Peak bytes of the spiked stream: the lanes' matrices and state, the signal and two noise draws."""
    task, lanes = config.task, len(config.lanes)
    per_lane = _MATRICES_KEPT_PER_LANE + _MATRICES_STEP_PER_LANE
    matrices = per_lane * lanes + _optimizer_state_matrices(config) + _MATRICES_ONE_AT_A_TIME + 3
    return {OVERHEAD: _FIXED_BYTES, "task.rows": item_bytes * task.rows * task.cols * matrices}
