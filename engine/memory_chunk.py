"""One chunk of a memory pass: its logits, softmax cross-entropy and residual R = P̂ diag(w) − T.

A chunk is m query columns of L lanes, laid out (L, m, N) so that reductions run over the
contiguous last axis. The logits live in a reusable workspace and are rewritten in place, step by
step, into exp(z − max) and then into R: fresh multi-megabyte blocks cost more than the arithmetic.
The learnt items' tiny rival mass r (Σ_k exp(z_k − max) = 1 + r) is kept apart from the 1 of the
peak wherever the item's own output leads, so that neither the loss log1p(r) nor the own output's
residual is rounded away.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

__all__ = [
    "ChunkTargets",
    "Softmax",
    "chunk_logits",
    "chunk_loss_",
    "chunk_residual_",
    "column_record",
    "column_stats",
    "leave_out_recovered_",
]


@dataclass(frozen=True, slots=True)
class ChunkTargets:
    """A chunk's query columns and their targets (the sparse labels and the spread noise)."""

    items: Tensor  # (m,) long: query item of each column
    weights: Tensor  # (m,): loss mass of each column
    uniform: Tensor | None  # (m,): noise mass each column spreads on every output
    rows: Tensor  # (n,) long: column within the chunk of each label entry
    outs: Tensor  # (n,) long: output receiving the entry's mass
    mass: Tensor  # (n,)


@dataclass(frozen=True, slots=True)
class Softmax:
    """A chunk's softmax, its logits shifted in place: what the loss and the residual share."""

    peak: Tensor  # (L, m): max_k z_k
    scaled: Tensor  # (L, m, N): exp(z − max), in the workspace
    rest: Tensor  # (L, m): r = Σ_{k ≠ peak} exp(z_k − max)
    pivot: Tensor  # (m,) long: each column's own output as a place in the (m·N) plane
    own_on_peak: Tensor  # (L, m) bool: the item's own output leads


def chunk_logits(e_q: Tensor, weights: Tensor, outputs: Tensor, workspace: Tensor) -> Tensor:
    """Logits z_k(i) = u_kᵀ W e_i of one chunk, (L, m, N), written into the reusable workspace."""
    lanes, (width, d), n_out = weights.shape[0], e_q.shape, outputs.shape[0]
    we = (e_q @ weights.mT).reshape(lanes * width, d)  # (L·m, d): rows (W e_i)ᵀ
    block = workspace[: lanes * width * n_out].view(lanes * width, n_out)
    torch.matmul(we, outputs.T, out=block)
    return block.view(lanes, width, n_out)  # (L, m, N)


def chunk_loss_(logits: Tensor, t: ChunkTargets) -> tuple[Tensor, Tensor, Softmax]:
    """Each column's loss and log Σ_k exp z_k, both (L, m); the logits become exp(z − max) in place."""
    lanes, width, n_out = logits.shape
    peak = logits.amax(dim=-1)  # (L, m)
    label_gaps = logits[:, t.rows, t.outs].sub_(peak[:, t.rows])  # (L, n): z_label − max
    pivot = torch.arange(width, device=logits.device) * n_out + t.items  # (m,)
    own_on_peak = logits.view(lanes, -1)[:, pivot] == peak  # (L, m)
    logit_sums = logits.sum(dim=-1) if t.uniform is not None else None  # (L, m)
    scaled = logits.sub_(peak.unsqueeze(-1)).exp_()  # exp(z − max), in place: 1 at each peak
    rest = _sum_off_peak(scaled, pivot, own_on_peak)  # (L, m)
    log_total = torch.log1p(rest)  # (L, m): log Σ_k exp(z_k − max), accurate when r is tiny
    col_loss = _column_loss(label_gaps, logit_sums, peak, log_total, t, n_out)
    return col_loss, peak + log_total, Softmax(peak, scaled, rest, pivot, own_on_peak)


def chunk_residual_(soft: Softmax, t: ChunkTargets) -> Tensor:
    """R = P̂ diag(w) − T of one chunk, (L, m, N), in place of the scaled logits."""
    n_out = soft.scaled.shape[-1]
    total = 1.0 + soft.rest  # (L, m)
    resid = soft.scaled.mul_((t.weights / total).unsqueeze(-1))  # w_i p̂(k|i)
    if t.uniform is not None:
        resid.sub_(t.uniform.unsqueeze(-1))
    flat = t.rows * n_out + t.outs  # (n,): label entries in the (m·N) plane
    resid.view(resid.shape[0], -1).index_add_(1, flat, (-t.mass).expand(resid.shape[0], -1))
    own_resid = _targets_off_own(t, n_out) - t.weights * soft.rest / total  # (L, m)
    _set_where_own_leads_(resid, soft.pivot, soft.own_on_peak, own_resid)
    return resid


def column_record(
    col_loss: Tensor, col_weight: Tensor, lse: Tensor, own: Tensor, rival: Tensor
) -> tuple[Tensor, Tensor, Tensor]:
    """Per-column loss per unit of weight, p̂(item | item) and strict recovery, each (L, m)."""
    unit = torch.where(col_weight > 0, col_weight, torch.ones_like(col_weight))
    return col_loss / unit, (own - lse).exp(), own > rival


def column_stats(logits: Tensor, items: Tensor) -> tuple[Tensor, Tensor]:
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


def leave_out_recovered_(resid: Tensor, stats: tuple[Tensor, Tensor], lanes: Tensor) -> None:
    """Zero the residual columns of the items each flagged lane recovers (own output strictly leads).

    A column's residual is linear in its masses (weight, labels, spread noise), so zeroing it is
    the gradient of the batch with that item's draws removed, the other columns' weights unchanged.
    """
    own, rival = stats  # (L, m) each
    drop = (own > rival) & lanes.unsqueeze(-1)  # (L, m)
    resid.masked_fill_(drop.unsqueeze(-1), 0.0)


def _column_loss(
    label_gaps: Tensor,
    logit_sums: Tensor | None,
    peak: Tensor,
    log_total: Tensor,
    t: ChunkTargets,
    n_out: int,
) -> Tensor:
    """−Σ_k t(k|i) log p̂(k|i) per column, (L, m), from the sparse labels and the uniform (noise) mass.

    log p̂(k|i) = (z_k − max) − log Σ exp(z − max), from the labels' gaps z_k − max: the peak is
    taken off first, so that a learnt item's loss, log1p(r) of 10⁻²⁶, is not rounded away against
    a logit of 60.
    """
    log_p = label_gaps.sub_(log_total[:, t.rows])  # (L, n), in place of the gaps
    col_loss = torch.zeros_like(peak).index_add_(1, t.rows, -t.mass * log_p)
    if t.uniform is not None:  # Σ_k log p̂(k|i) = Σ_k (z_k − max) − N·log Σ exp(z − max)
        col_loss -= t.uniform * ((logit_sums - n_out * peak) - n_out * log_total)
    return col_loss


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


def _targets_off_own(t: ChunkTargets, n_out: int) -> Tensor:
    """Each column's target mass on outputs other than its own item, (m,): noisy labels, spread noise."""
    off_own = t.mass.new_zeros(t.items.shape).index_add_(0, t.rows, t.mass * (t.outs != t.items[t.rows]))
    if t.uniform is not None:
        off_own += t.uniform * (n_out - 1)
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
