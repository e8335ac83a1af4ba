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

from dataclasses import dataclass

import torch
from torch import Tensor

__all__ = ["MemoryPass", "QueryBatch", "memory_pass", "minibatch_queries", "population_queries"]

#: Elements of one (N outputs × lanes × query columns) logit block; bounds a pass's memory.
DEFAULT_CHUNK_ELEMENTS = 1 << 22


@dataclass(frozen=True, slots=True)
class QueryBatch:
    """Query columns and their targets; label entries are sorted by column."""

    items: Tensor  # (m,) long: query item of each column
    weights: Tensor  # (m,): loss mass of each column (sums to 1)
    label_items: Tensor  # (n,) long: output receiving target mass
    label_cols: Tensor  # (n,) long: column that mass belongs to (ascending)
    label_mass: Tensor  # (n,)
    uniform_mass: Tensor | None  # (m,): mass spread evenly over all outputs (expected label noise)


@dataclass(frozen=True, slots=True)
class MemoryPass:
    """Results of one pass for L lanes over m query columns."""

    loss: Tensor  # (L,)
    grad: Tensor | None  # (L, d, d)
    column_loss: Tensor | None  # (L, m): loss of each column per unit of its weight
    correct_prob: Tensor | None  # (L, m): p̂(item | item)
    recovered: Tensor | None  # (L, m) bool: the item's own output strictly beats every other


def population_queries(probs: Tensor, label_noise: float) -> QueryBatch:
    """Every item, weighted by p_i, with the expected noisy target (1−ε)δ_i + ε/N."""
    n_items = probs.shape[0]
    items = torch.arange(n_items, device=probs.device)
    uniform = probs * label_noise if label_noise > 0 else None
    return QueryBatch(items, probs, items, items, probs * (1.0 - label_noise), uniform)


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


def _chunk_targets(q: QueryBatch, start: int, stop: int, n_out: int, dtype: torch.dtype) -> Tensor:
    """Dense target block T (m_chunk, N) of the columns [start, stop)."""
    width = stop - start
    device = q.items.device
    if q.uniform_mass is None:
        targets = torch.zeros(width, n_out, dtype=dtype, device=device)
    else:
        targets = (q.uniform_mass[start:stop] / n_out).unsqueeze(1).expand(width, n_out).clone()
    bounds = torch.searchsorted(q.label_cols, torch.tensor([start, stop], device=device))
    lo, hi = int(bounds[0]), int(bounds[1])
    targets.index_put_(
        (q.label_cols[lo:hi] - start, q.label_items[lo:hi]), q.label_mass[lo:hi], accumulate=True
    )
    return targets


def memory_pass(
    outputs: Tensor,
    inputs: Tensor,
    weights: Tensor,
    queries: QueryBatch,
    *,
    want_grad: bool = True,
    want_columns: bool = False,
    chunk_elements: int = DEFAULT_CHUNK_ELEMENTS,
) -> MemoryPass:
    """Loss (and gradient, per-column statistics) of L memories on a query batch.

    outputs: (N, d) rows u_k; inputs: (N, d) rows e_i; weights: (L, d, d) one W per lane.
    Logits are laid out (L, m, N) so that the softmax runs over the contiguous last axis.
    """
    n_out, d = outputs.shape
    lanes = weights.shape[0]
    m_total = queries.items.shape[0]
    chunk = max(1, chunk_elements // (n_out * lanes))
    loss = weights.new_zeros(lanes)
    grad = weights.new_zeros(lanes, d, d) if want_grad else None
    columns: list[tuple[Tensor, Tensor, Tensor]] = []
    for start in range(0, m_total, chunk):
        stop = min(start + chunk, m_total)
        items = queries.items[start:stop]  # (m,)
        e_q = inputs[items]  # (m, d)
        width = stop - start
        we = (e_q @ weights.mT).reshape(lanes * width, d)  # (L·m, d): rows (W e_i)ᵀ
        logits = (we @ outputs.T).view(lanes, width, n_out)  # (L, m, N)
        logp = torch.log_softmax(logits, dim=-1)  # (L, m, N)
        targets = _chunk_targets(queries, start, stop, n_out, weights.dtype)  # (m, N)
        col_loss = -(logp * targets).sum(dim=-1)  # (L, m)
        loss += col_loss.sum(dim=1)
        if want_columns:
            columns.append(_column_stats(logits, logp, items, col_loss, queries.weights[start:stop]))
        if want_grad:
            col_weight = queries.weights[start:stop].unsqueeze(1)  # (m, 1)
            resid = logp.exp_().mul_(col_weight).sub_(targets)  # R (L, m, N)
            ur = (resid.view(lanes * width, n_out) @ outputs).view(lanes, width, d)  # (L, m, d)
            grad += ur.mT @ e_q  # (L, d, d)
    if not want_columns:
        return MemoryPass(loss, grad, None, None, None)
    col_loss, correct, recovered = (torch.cat(parts, dim=1) for parts in zip(*columns, strict=True))
    return MemoryPass(loss, grad, col_loss, correct, recovered)


def _column_stats(
    logits: Tensor, logp: Tensor, items: Tensor, col_loss: Tensor, col_weight: Tensor
) -> tuple[Tensor, Tensor, Tensor]:
    """Per-column loss per unit weight, p̂(correct) and strict-argmax recovery; consumes ``logits``."""
    cols = torch.arange(items.shape[0], device=items.device)
    own = logits[:, cols, items]  # (L, m): z_i(i)
    correct = logp[:, cols, items].exp()  # (L, m)
    logits[:, cols, items] = -torch.inf  # exclude the item's own output
    rival = logits.amax(dim=-1)  # (L, m): best competing logit
    unit = torch.where(col_weight > 0, col_weight, torch.ones_like(col_weight))
    return col_loss / unit, correct, own > rival
