"""The linear associative memory: logits, softmax cross-entropy and its closed-form gradient.

Query i has input embedding e_i, output k has embedding u_k, and the memory W (d×d) scores
z_k(i) = u_kᵀ W e_i. With a target distribution t(·|i) of mass w_i per query, the loss is
L = −Σ_i Σ_k t(k|i) log softmax(z(i))_k and its gradient is (SCIENCE.md §2)

    ∇L(W) = Σ_i u_k (w_i p̂(k|i) − t(k|i)) e_iᵀ = Uᵀ R E_q,   R = P̂ diag(w) − T.

A minibatch and the population are both a :class:`QueryBatch`: the minibatch weights each distinct
drawn item by its count / B with its drawn (possibly noisy) labels as targets; the population
weights item i by p_i with the expected noisy target (1−ε)δ_i + ε/N. One chunked pass over the
query columns computes the gradient and, when asked, per-item loss, p̂(correct) and recovery for
every lane at once; memory stays bounded by the chunk size, never by N².
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

from muonscope.engine.memory_chunk import (
    ChunkTargets,
    chunk_logits,
    chunk_loss_,
    chunk_residual_,
    column_record,
    column_stats,
    leave_out_recovered_,
)

__all__ = [
    "MemoryPass",
    "QueryBatch",
    "chunk_columns",
    "item_queries",
    "memory_pass",
    "minibatch_queries",
    "population_queries",
]

#: Elements of one (N outputs × lanes × query columns) logit block; bounds a pass's memory.
DEFAULT_CHUNK_ELEMENTS = 1 << 22
#: Query columns of one block at most. Past ~128 columns the products run no faster (at N = 2048 a
#: pass of 128-column blocks takes 0.73× the time of 512-column ones: they stay in cache), and a
#: block is where a pass can be abandoned: at the default size one block of 512 took 55 ms.
MAX_CHUNK_COLUMNS = 128


def chunk_columns(n_out: int, lanes: int, m_total: int, chunk_elements: int = DEFAULT_CHUNK_ELEMENTS) -> int:
    """Query columns per block of a pass over ``m_total`` columns (at least one)."""
    return max(1, min(chunk_elements // (n_out * lanes), MAX_CHUNK_COLUMNS, m_total))


@dataclass(frozen=True, slots=True)
class QueryBatch:
    """Query columns and their targets; label entries are sorted by column."""

    items: Tensor  # (m,) long: query item of each column
    weights: Tensor  # (m,): loss mass of each column (sums to 1)
    label_items: Tensor  # (n,) long: output receiving target mass
    label_cols: Tensor  # (n,) long: column that mass belongs to (ascending)
    label_mass: Tensor  # (n,)
    uniform_mass: Tensor | None  # (m,): mass spread evenly over all outputs (expected label noise)

    def to(self, device: torch.device) -> QueryBatch:
        """The same queries on ``device`` (built where the sampler draws, then moved in one go)."""
        fields = (getattr(self, name) for name in self.__slots__)
        return QueryBatch(*(None if t is None else t.to(device, non_blocking=True) for t in fields))


@dataclass(frozen=True, slots=True)
class MemoryPass:
    """Results of one pass for L lanes over m query columns."""

    loss: Tensor  # (L,)
    grad: Tensor | None  # (L, d, d)
    column_loss: Tensor | None  # (L, m): loss of each column per unit of its weight
    correct_prob: Tensor | None  # (L, m): p̂(item | item)
    recovered: Tensor | None  # (L, m) bool: the item's own output strictly beats every other
    #: grad as a product of two thin factors, G_l = left[l]ᵀ @ right, when the pass had fewer query
    #: columns m than W has rows or columns (a minibatch of few distinct items): G then has rank ≤ m
    #: and its singular values cost an m-wide SVD (see lane_metrics). None otherwise.
    grad_factors: tuple[Tensor, Tensor] | None = None  # (L, m, r), (m, c)


def population_queries(probs: Tensor, label_noise: float) -> QueryBatch:
    """Every item, weighted by p_i, with the expected noisy target (1−ε)δ_i + ε/N."""
    return item_queries(probs, torch.arange(probs.shape[0], device=probs.device), label_noise)


def item_queries(probs: Tensor, items: Tensor, label_noise: float) -> QueryBatch:
    """Chosen items (ascending), each weighted by its p_i, with the expected noisy target.

    A column's loss per unit of its weight is then that item's own loss ℓ_i, whichever items are
    chosen: a sample of the population is evaluated exactly as the population is, item by item.
    """
    weight = probs[items]  # (m,)
    cols = torch.arange(items.shape[0], device=items.device)
    uniform = weight * label_noise if label_noise > 0 else None
    return QueryBatch(items, weight, items, cols, weight * (1.0 - label_noise), uniform)


def minibatch_queries(items: Tensor, labels: Tensor, dtype: torch.dtype) -> QueryBatch:
    """Distinct drawn items as columns, weighted by count / B, with their drawn labels.

    Grouping repeated draws (a power law repeats its head items many times per batch) makes the
    cost scale with the number of distinct items rather than with B, exactly.
    """
    batch_size = items.shape[0]
    unique, column = torch.unique(items, return_inverse=True)  # (m,), (B,)
    counts = torch.bincount(column, minlength=unique.shape[0]).to(dtype)  # (m,)
    order = torch.argsort(column, stable=True)
    mass = torch.full((batch_size,), 1.0 / batch_size, dtype=dtype, device=items.device)
    return QueryBatch(unique, counts / batch_size, labels[order], column[order], mass, None)


def _label_bounds(q: QueryBatch, starts: range, m_total: int) -> list[tuple[int, int]]:
    """Where each chunk's target entries begin and end in the sorted label arrays.

    Read in one transfer for the whole pass (each would otherwise wait for the device), and not
    at all when the pass is one chunk, as every minibatch is.
    """
    n_labels = q.label_cols.shape[0]
    if len(starts) == 1:
        return [(0, n_labels)]
    edges = torch.tensor([*starts, m_total], device=q.items.device)
    cuts = torch.searchsorted(q.label_cols, edges).tolist()
    return list(itertools.pairwise(cuts))


def _chunk_targets(q: QueryBatch, start: int, stop: int, bounds: tuple[int, int], n_out: int) -> ChunkTargets:
    """The columns ``start:stop`` of ``q``; ``bounds``: where their entries lie in its sorted labels."""
    lo, hi = bounds
    uniform = None if q.uniform_mass is None else q.uniform_mass[start:stop] / n_out
    rows = q.label_cols[lo:hi] - start  # (n,): columns within the chunk
    return ChunkTargets(
        q.items[start:stop], q.weights[start:stop], uniform, rows, q.label_items[lo:hi], q.label_mass[lo:hi]
    )


def memory_pass(
    outputs: Tensor,
    inputs: Tensor,
    weights: Tensor,
    queries: QueryBatch,
    *,
    want_grad: bool = True,
    want_columns: bool = False,
    chunk_elements: int = DEFAULT_CHUNK_ELEMENTS,
    workspace: Tensor | None = None,
    check: Callable[[], None] | None = None,
    leave_out_recovered: Tensor | None = None,
) -> MemoryPass:
    """Loss (and gradient, per-column statistics) of L memories on a query batch.

    outputs: (N, d) rows u_k; inputs: (N, d) rows e_i; weights: (L, d, d) one W per lane.
    ``leave_out_recovered`` ((L,) bool): the lanes whose gradient leaves out the columns of items
    they recover at their W (Kim et al.'s thresholded dynamics, SCIENCE.md §5). Their loss and
    column statistics still count every column: only the gradient is thresholded.
    Logits are laid out (L, m, N) so that reductions run over the contiguous last axis, and live in
    one reusable ``workspace`` of ``chunk_elements`` values that every step of the chunk rewrites in
    place: fresh multi-megabyte allocations cost more than the arithmetic here (page faults).
    Targets are never materialised densely; the loss reads the logits at the sparse label entries.
    """
    n_out, d = outputs.shape
    leave_out = leave_out_recovered
    lanes, m_total = weights.shape[0], queries.items.shape[0]
    chunk = chunk_columns(n_out, lanes, m_total, chunk_elements)
    workspace = _workspace(workspace, weights, lanes * chunk * n_out)
    loss = weights.new_zeros(lanes)
    grad = weights.new_zeros(lanes, d, d) if want_grad else None
    thin = want_grad and m_total < min(weights.shape[1:])  # keep G's factors: it has rank ≤ m
    factors: list[tuple[Tensor, Tensor]] = []
    columns: list[tuple[Tensor, Tensor, Tensor]] = []
    starts = range(0, m_total, chunk)
    for start, bounds in zip(starts, _label_bounds(queries, starts, m_total), strict=True):
        if check is not None:
            check()  # a population pass of a big memory takes seconds; it can be abandoned per chunk
        targets = _chunk_targets(queries, start, min(start + chunk, m_total), bounds, n_out)
        e_q = inputs[targets.items]  # (m, d)
        logits = chunk_logits(e_q, weights, outputs, workspace)  # (L, m, N)
        stats = column_stats(logits, targets.items) if want_columns or leave_out is not None else None
        col_loss, lse, soft = chunk_loss_(logits, targets)  # (L, m) each; logits now exp(z − max)
        loss += col_loss.sum(dim=1)
        if want_columns:
            columns.append(column_record(col_loss, targets.weights, lse, *stats))
        if want_grad:
            resid = chunk_residual_(soft, targets)  # (L, m, N), in the workspace
            if leave_out is not None:
                leave_out_recovered_(resid, stats, leave_out)
            ur = (resid.view(-1, n_out) @ outputs).view(lanes, -1, d)  # (L, m, d)
            grad += ur.mT @ e_q  # (L, d, d)
            if thin:
                factors.append((ur, e_q))
    return _assemble_pass(loss, grad, columns, factors)


def _workspace(workspace: Tensor | None, weights: Tensor, size: int) -> Tensor:
    """The caller's workspace when it holds ``size`` values of the weights' dtype, else a new one."""
    if workspace is None or workspace.numel() < size or workspace.dtype != weights.dtype:
        return weights.new_empty(size)
    return workspace


def _assemble_pass(
    loss: Tensor,
    grad: Tensor | None,
    columns: list[tuple[Tensor, Tensor, Tensor]],
    factors: list[tuple[Tensor, Tensor]],
) -> MemoryPass:
    """One MemoryPass from the chunks' results, their columns laid side by side."""
    grad_factors = None
    if factors:  # (L, m, d) and (m, d): every chunk's columns side by side
        grad_factors = (torch.cat([u for u, _ in factors], dim=1), torch.cat([e for _, e in factors]))
    if not columns:
        return MemoryPass(loss, grad, None, None, None, grad_factors)
    col_loss, correct, recovered = (torch.cat(parts, dim=1) for parts in zip(*columns, strict=True))
    return MemoryPass(loss, grad, col_loss, correct, recovered, grad_factors)
