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


def _chunk_labels(q: QueryBatch, start: int, bounds: tuple[int, int]) -> tuple[Tensor, Tensor, Tensor]:
    """The sparse target entries of the chunk from ``start``: (column in chunk, output, mass)."""
    lo, hi = bounds
    return q.label_cols[lo:hi] - start, q.label_items[lo:hi], q.label_mass[lo:hi]


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
    lanes = weights.shape[0]
    m_total = queries.items.shape[0]
    chunk = chunk_columns(n_out, lanes, m_total, chunk_elements)
    if workspace is None or workspace.numel() < lanes * chunk * n_out or workspace.dtype != weights.dtype:
        workspace = weights.new_empty(lanes * chunk * n_out)
    loss = weights.new_zeros(lanes)
    grad = weights.new_zeros(lanes, d, d) if want_grad else None
    thin = want_grad and m_total < min(weights.shape[1:])  # keep G's factors: it has rank ≤ m
    factors: list[tuple[Tensor, Tensor]] = []
    columns: list[tuple[Tensor, Tensor, Tensor]] = []
    starts = range(0, m_total, chunk)
    for start, bounds in zip(starts, _label_bounds(queries, starts, m_total), strict=True):
        if check is not None:
            check()  # a population pass of a big memory takes seconds; it can be abandoned per chunk
        stop = min(start + chunk, m_total)
        items = queries.items[start:stop]  # (m,)
        e_q = inputs[items]  # (m, d)
        col_weight = queries.weights[start:stop]  # (m,)
        uniform = None if queries.uniform_mass is None else queries.uniform_mass[start:stop] / n_out
        rows, outs, mass = _chunk_labels(queries, start, bounds)
        logits = _chunk_logits(e_q, weights, outputs, workspace)  # (L, m, N)
        peak = logits.amax(dim=-1)  # (L, m)
        stats = _column_stats(logits, items) if want_columns or leave_out_recovered is not None else None
        label_gaps = logits[:, rows, outs].sub_(peak[:, rows])  # (L, n_labels): z_label − max
        pivot = torch.arange(items.shape[0], device=items.device) * n_out + items  # (m,): own outputs
        own_on_peak = logits.view(lanes, -1)[:, pivot] == peak  # (L, m): the item's own output leads
        logit_sums = logits.sum(dim=-1) if uniform is not None else None  # (L, m)
        scaled = logits.sub_(peak.unsqueeze(-1)).exp_()  # exp(z − max), in place: 1 at each peak
        rest = _sum_off_peak(scaled, pivot, own_on_peak)  # (L, m)
        total = 1.0 + rest  # (L, m)
        log_total = torch.log1p(rest)  # (L, m): log Σ_k exp(z_k − max), accurate when r is tiny
        lse = peak + log_total  # (L, m)
        col_loss = _column_loss(label_gaps, logit_sums, peak, log_total, rows, mass, uniform, n_out)
        loss += col_loss.sum(dim=1)
        if want_columns:
            columns.append(_column_record(col_loss, col_weight, lse, *stats))
        if want_grad:
            resid = _residual_(scaled, col_weight / total, rows * n_out + outs, mass, uniform)  # (L, m, N)
            off_own = _targets_off_own(items, rows, outs, mass, uniform, n_out)  # (m,)
            own_resid = off_own - col_weight * rest / total  # (L, m)
            _set_where_own_leads_(resid, pivot, own_on_peak, own_resid)
            if leave_out_recovered is not None:
                _leave_out_(resid, stats, leave_out_recovered)
            ur = (resid.view(-1, n_out) @ outputs).view(lanes, -1, d)  # (L, m, d)
            grad += ur.mT @ e_q  # (L, d, d)
            if thin:
                factors.append((ur, e_q))
    return _assemble_pass(loss, grad, columns, factors)


def _chunk_logits(e_q: Tensor, weights: Tensor, outputs: Tensor, workspace: Tensor) -> Tensor:
    """Logits z_k(i) = u_kᵀ W e_i of one chunk, (L, m, N), written into the reusable workspace."""
    lanes, (width, d), n_out = weights.shape[0], e_q.shape, outputs.shape[0]
    we = (e_q @ weights.mT).reshape(lanes * width, d)  # (L·m, d): rows (W e_i)ᵀ
    block = workspace[: lanes * width * n_out].view(lanes * width, n_out)
    torch.matmul(we, outputs.T, out=block)
    return block.view(lanes, width, n_out)  # (L, m, N)


def _column_record(
    col_loss: Tensor, col_weight: Tensor, lse: Tensor, own: Tensor, rival: Tensor
) -> tuple[Tensor, Tensor, Tensor]:
    """Per-column loss per unit of weight, p̂(item | item) and strict recovery, each (L, m)."""
    unit = torch.where(col_weight > 0, col_weight, torch.ones_like(col_weight))
    return col_loss / unit, (own - lse).exp(), own > rival


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


def _column_loss(
    label_gaps: Tensor,
    logit_sums: Tensor | None,
    peak: Tensor,
    log_total: Tensor,
    rows: Tensor,
    mass: Tensor,
    uniform: Tensor | None,
    n_out: int,
) -> Tensor:
    """−Σ_k t(k|i) log p̂(k|i) per column, (L, m), from the sparse labels and the uniform (noise) mass.

    log p̂(k|i) = (z_k − max) − log Σ exp(z − max), from the labels' gaps z_k − max: the peak is
    taken off first, so that a learnt item's loss, log1p(r) of 10⁻²⁶, is not rounded away against
    a logit of 60.
    """
    log_p = label_gaps.sub_(log_total[:, rows])  # (L, n_labels), in place of the gaps
    col_loss = torch.zeros_like(peak).index_add_(1, rows, -mass * log_p)
    if uniform is not None:  # Σ_k log p̂(k|i) = Σ_k (z_k − max) − N·log Σ exp(z − max)
        col_loss -= uniform * ((logit_sums - n_out * peak) - n_out * log_total)
    return col_loss


def _residual_(scaled: Tensor, factor: Tensor, flat: Tensor, mass: Tensor, uniform: Tensor | None) -> Tensor:
    """R = P̂ diag(w) − T in place: w·exp(z − max)/Σexp, minus the uniform and sparse targets."""
    lanes, width, n_out = scaled.shape
    resid = scaled.mul_(factor.unsqueeze(-1))  # w_i p̂(k|i)
    if uniform is not None:
        resid.sub_(uniform.unsqueeze(-1))
    resid.view(lanes, width * n_out).index_add_(1, flat, (-mass).expand(lanes, -1))
    return resid


def _sum_off_peak(scaled: Tensor, pivot: Tensor, own_on_peak: Tensor) -> Tensor:
    """Σ_{k ≠ peak} exp(z_k − max) per column, (L, m): r of Σ_k exp(z_k − max) = 1 + r.

    A memory that has learnt its items puts p̂ within eps of 1 on them: 1 + r rounds r away, and
    the loss log(1 + r) read exactly 0 while the gradient, built from the rivals' p̂ (accurate
    however small), was 10⁻⁴⁰. Where a column's own item holds the peak (``pivot``: its place in
    the (m·N) plane), its 1 is left out of the sum; elsewhere the target is not the peak and the
    loss and residuals are large, so 1 + r rounded is exact enough.
    """
    plane = scaled.view(scaled.shape[0], -1)  # (L, m·N)
    at_own = plane[:, pivot]  # (L, m): 1 where the own output leads
    plane[:, pivot] = torch.where(own_on_peak, 0.0, at_own)
    summed = scaled.sum(dim=-1)  # (L, m)
    plane[:, pivot] = at_own
    return torch.where(own_on_peak, summed, summed - 1.0)


def _targets_off_own(
    items: Tensor, rows: Tensor, outs: Tensor, mass: Tensor, uniform: Tensor | None, n_out: int
) -> Tensor:
    """Each column's target mass on outputs other than its own item, (m,): noisy labels, spread noise."""
    off_own = mass.new_zeros(items.shape).index_add_(0, rows, mass * (outs != items[rows]))
    if uniform is not None:
        off_own += uniform * (n_out - 1)
    return off_own


def _set_where_own_leads_(resid: Tensor, pivot: Tensor, own_on_peak: Tensor, own_resid: Tensor) -> None:
    """R at each column's own output, where it leads, as minus the column's other residuals.

    A column's residuals sum to zero (w Σ_k p̂ = w = Σ_k t), and its others are exact however
    small: rivals' w·p̂, w·r/(1 + r) together, less the targets off the own output (``own_resid``
    = targets off it − w·r/(1 + r)). Computed directly, w/(1 + r) − w loses r (see
    :func:`_sum_off_peak`): the learnt item's part of the gradient, as large as all its rivals'
    together, read 0.
    """
    plane = resid.view(resid.shape[0], -1)  # (L, m·N)
    plane[:, pivot] = torch.where(own_on_peak, own_resid, plane[:, pivot])


def _leave_out_(resid: Tensor, stats: tuple[Tensor, Tensor], lanes: Tensor) -> None:
    """Zero the residual columns of the items each flagged lane recovers (own output strictly leads).

    A column's residual is linear in its masses (weight, labels, spread noise), so zeroing it is
    the gradient of the batch with that item's draws removed, the other columns' weights unchanged.
    """
    own, rival = stats  # (L, m) each
    drop = (own > rival) & lanes.unsqueeze(-1)  # (L, m)
    resid.masked_fill_(drop.unsqueeze(-1), 0.0)


def _column_stats(logits: Tensor, items: Tensor) -> tuple[Tensor, Tensor]:
    """The item's own logit and its best rival (strict-argmax recovery is own > rival).

    The rival is the peak of the block with each column's own entry masked out for a moment: one
    more reduction over the block, but no copy of it and no host synchronisation (a data-dependent
    selection of the columns where the item leads would need both).
    """
    cols = torch.arange(items.shape[0], device=items.device)
    own = logits[:, cols, items]  # (L, m): z_i(i)
    logits[:, cols, items] = -torch.inf
    rival = logits.amax(dim=-1)  # (L, m)
    logits[:, cols, items] = own
    return own, rival
