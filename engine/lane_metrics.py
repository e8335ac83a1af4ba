"""Per-lane metric groups, each returned as the LaneSnapshot fields it fills.

Kept apart from the experiment loop so that each group is a plain function of tensors: the
experiment decides *when* to compute (cadence), these decide *what*.

The SVDs behind the spectra are most of a large step (at d = 2048 each takes seconds, and one
cannot be interrupted). Given a ``check`` — a callable that raises to abandon the step — they run
one matrix at a time with a check before each, so a cancelled step stops within one SVD; the
numbers are the same as from one batched call.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

import numpy as np
import torch
from torch import Tensor

from muonscope.engine.config import LaneConfig
from muonscope.engine.cpu_batches import across_cores
from muonscope.engine.lane_update import KnownSpectrum
from muonscope.engine.metrics import (
    ISOTROPY_FLOOR,
    RATIO_GAP_FLOOR,
    alignment,
    filtering_ratio,
    isotropy,
    largest_ratio_gap,
    sin_theta,
    singular_values,
    spectral_gap,
)
from muonscope.engine.optim.registry import OPTIMIZERS
from muonscope.engine.snapshot import Spectra, frozen_array
from muonscope.engine.tasks.base import Evaluation

__all__ = ["FILTERING_FLOOR", "evaluation_fields", "settings_fields", "signal_fields", "spectra_fields"]

Fields = dict[str, Any]
#: Round-offs (eps of the run's dtype) of σ₁ below which the ratio gap and the isotropy of a
#: spectrum take a singular value as zero, where that is above their own float64 floors.
SUMMARY_ROUND_OFFS = 16
#: The share of σ₁(G) below which the filtering ratio leaves a direction out, one for every dtype:
#: where float32, the coarsest a run has, resolves σ_k(G). The dtype's own round-off made the median
#: run over other directions in float64 (on the CPU) than in float32 (on a GPU): the default preset's
#: SGD lane read 63 against 23 on spectra equal to five digits.
FILTERING_FLOOR = SUMMARY_ROUND_OFFS * float(torch.finfo(torch.float32).eps)
#: Called between SVDs; raises to abandon the step (None: nothing to check, one batched call).
Check = Callable[[], None] | None


def _one_at_a_time(fn: Callable[..., np.ndarray], *stacks: Tensor, check: Check) -> np.ndarray:
    """``fn`` over stacks of matrices (n, r, c) → (n, ...): batched, or matrix by matrix with checks."""
    if check is None:
        return fn(*stacks)
    parts = []
    for i in range(stacks[0].shape[0]):
        check()
        parts.append(fn(*(stack[i : i + 1] for stack in stacks)))
    return np.concatenate(parts)


def spectra_fields(
    grads: Tensor,
    buffers: list[Tensor | None],
    directions: Tensor,
    weights: Tensor,
    rank: int,
    step: int,
    check: Check = None,
    known: Sequence[KnownSpectrum] = (),
    average_scales: Sequence[float | None] | None = None,
    gradient_factors: tuple[Tensor, Tensor] | None = None,
) -> list[Fields]:
    """Spectra of G, M, the update direction and W, with gaps, filtering ratio and isotropy.

    The gap is read on the momentum buffer where a lane has one (that is the matrix the momentum
    filter acts on), else on the raw gradient; a buffer that averages gradients is read as their EMA,
    as the filtering ratio below reads it (Li et al.'s M_t), so that a ``sum`` buffer's gap is not
    1/(1−μ) times that of an EMA lane with the same steps. Spectra the step already has (``known``: the input
    and output of a Muon lane's SVD) are reused, and a matrix equal to another of its lane (SGD's
    direction is its buffer) is decomposed once. Given ``gradient_factors`` (G_l = left[l]ᵀ @ right,
    m columns: a minibatch of m distinct items), G's spectrum comes from an m-wide matrix.

    The filtering ratio σ_k(M)/σ_k(G) reads M as the EMA of the gradients: each lane's buffer
    spectrum is multiplied by its ``average_scales`` entry (1 − μ for a ``sum`` buffer, 1 for an EMA;
    None: the buffer averages something else, such as a post-order lane's mapped gradients, and the
    lane has no filtering ratio). Without scales every buffer is taken as an EMA.
    """
    s_grad, s_mom, s_dir, s_w = _lane_spectra(
        grads, buffers, directions, weights, known, check, gradient_factors
    )
    scales = [1.0] * grads.shape[0] if average_scales is None else list(average_scales)
    floors = (FILTERING_FLOOR, SUMMARY_ROUND_OFFS * torch.finfo(grads.dtype).eps)
    return [
        _spectra_fields_of_lane(step, rank, spectra, scale, floors)
        for *spectra, scale in zip(s_grad, s_mom, s_dir, s_w, scales, strict=True)
    ]


def _spectra_fields_of_lane(
    step: int, rank: int, spectra: list[np.ndarray], average_scale: float | None, floors: tuple[float, float]
) -> Fields:
    """One lane's spectra fields from its σ(G), σ(M), σ(update), σ(W) (M's empty without a buffer).

    ``floors``: the share of σ₁(G) below which the filtering ratio leaves a direction out
    (FILTERING_FLOOR), and the dtype's share below which the ratio gap and the isotropy take a
    singular value as zero. Round-off in structurally null directions (a minibatch of fewer items
    than d; a buffer of a few such steps) reached 1.2·eps in float32, where it read as a ratio gap
    of 10⁴–10⁵ at the batch's rank and as directions of W; float64's fell below the fixed floors.
    """
    floor, summary_floor = floors
    s_grad, s_mom, s_dir, s_w = spectra
    kept = np.zeros(0)
    if s_mom.size and average_scale is not None:
        kept = filtering_ratio(average_scale * s_mom, s_grad, floor)
    watched = s_mom if s_mom.size else s_grad
    ratio_rank, ratio = largest_ratio_gap(watched, max(RATIO_GAP_FLOOR, summary_floor))
    gap_scale = average_scale if s_mom.size and average_scale is not None else 1.0  # the EMA's units
    return {
        "spectra_step": step,
        "spectra": Spectra(
            gradient=frozen_array(s_grad),
            momentum=frozen_array(s_mom),
            update=frozen_array(s_dir),
            weights=frozen_array(s_w),
        ),
        "gap_rank": rank,
        "gap": gap_scale * spectral_gap(watched, rank),
        "ratio_gap_rank": ratio_rank,
        "ratio_gap": ratio,
        "filtering_ratio": frozen_array(kept),
        "tail_filtering": _tail_median(kept, rank),
        "weight_isotropy": isotropy(s_w, rel_floor=max(ISOTROPY_FLOOR, summary_floor)),
        "update_isotropy": isotropy(s_dir, rel_floor=max(ISOTROPY_FLOOR, summary_floor)),
    }


def _lane_spectra(
    grads: Tensor,
    buffers: list[Tensor | None],
    directions: Tensor,
    weights: Tensor,
    known: Sequence[KnownSpectrum],
    check: Check,
    gradient_factors: tuple[Tensor, Tensor] | None = None,
) -> tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray], list[np.ndarray]]:
    """Singular values of each lane's G, M (empty without a buffer), D and W, each SVD done once.

    Every matrix either reuses a spectrum its lane already has (from the step's SVD map, or an
    equal matrix earlier in the list) or joins one batched computation of what is left; a G with
    thin factors is decomposed through them instead.
    """
    lanes = grads.shape[0]
    slots: list[tuple[int, str, Tensor]] = []  # (lane, kind, matrix) in the order G, M, D, W
    for i in range(lanes):
        slots.append((i, "gradient", grads[i]))
        if buffers[i] is not None:
            slots.append((i, "momentum", buffers[i]))
        slots += [(i, "update", directions[i]), (i, "weights", weights[i])]
    found: list[Tensor | int | None] = []  # device values, the index of an equal earlier slot, or None
    for n, (lane, _kind, matrix) in enumerate(slots):
        found.append(_reusable(lane, matrix, known, slots[:n]))
    missing = [n for n, hit in enumerate(found) if hit is None]
    thin = {n for n in missing if gradient_factors is not None and slots[n][1] == "gradient"}
    full = [n for n in missing if n not in thin]
    computed = iter(
        _one_at_a_time(singular_values, torch.stack([slots[n][2] for n in full]), check=check) if full else ()
    )
    thin_lanes = [slots[n][0] for n in sorted(thin)]
    size = min(grads.shape[1:])
    from_factors = iter(_factored_values(gradient_factors, thin_lanes, size, check) if thin else ())
    reused = [n for n, hit in enumerate(found) if isinstance(hit, Tensor)]
    host = iter(torch.stack([found[n] for n in reused]).to("cpu", torch.float64).numpy() if reused else ())
    values: list[np.ndarray] = []
    for n, hit in enumerate(found):
        if hit is None:
            values.append(next(from_factors) if n in thin else next(computed))
        elif isinstance(hit, Tensor):
            values.append(next(host))
        else:
            values.append(values[hit])
    by_kind = {kind: [np.zeros(0)] * lanes for kind in ("gradient", "momentum", "update", "weights")}
    for (lane, kind, _matrix), spectrum in zip(slots, values, strict=True):
        by_kind[kind][lane] = spectrum
    return by_kind["gradient"], by_kind["momentum"], by_kind["update"], by_kind["weights"]


def _factored_values(factors: tuple[Tensor, Tensor], lanes: list[int], size: int, check: Check) -> np.ndarray:
    """Singular values (k, size) of G_l = left[l]ᵀ @ right for ``lanes``, each from an m-wide matrix.

    With rightᵀ = Q R (Q's m columns orthonormal), G_l = left[l]ᵀ Rᵀ Qᵀ has the singular values of
    R left[l] (m × r); the other size − m are zero. At the default size (m ≈ 54 of d = 128) that is
    less than half the work of decomposing G itself, and it is done in float64 whatever the run's dtype.
    The QR runs on one thread: LAPACK splits a panel this thin into many tiny parallel regions, and
    waking sleeping OpenMP helpers for each made it 3.2 ms on two threads against 0.04 ms on one.
    """
    left, right = factors[0][lanes].to(torch.float64), factors[1].to(torch.float64)  # (k, m, r), (m, c)
    r_factor = across_cores(_r_factor, right.mT)  # (m, m)
    values = _one_at_a_time(singular_values, r_factor @ left, check=check)  # (k, m)
    return np.pad(values, ((0, 0), (0, size - values.shape[1])))


def _r_factor(tall: Tensor) -> Tensor:
    """R of the reduced QR of ``tall`` (n, m), n ≥ m: an m × m upper-triangular matrix."""
    return torch.linalg.qr(tall, mode="r").R


def _reusable(
    lane: int, matrix: Tensor, known: Sequence[KnownSpectrum], earlier: list[tuple[int, str, Tensor]]
) -> Tensor | int | None:
    """A spectrum this matrix already has: known values, or the index of an equal earlier slot."""
    for spectrum in known:
        if spectrum.lane == lane and _same(spectrum.matrix, matrix):
            return spectrum.values
    for n, (other_lane, _kind, other) in enumerate(earlier):
        if other_lane == lane and _same(other, matrix):
            return n
    return None


def _same(a: Tensor, b: Tensor) -> bool:
    return a.shape == b.shape and (a is b or torch.equal(a, b))


def _tail_median(ratio: np.ndarray, rank: int) -> float:
    """Median filtering ratio below the signal rank: how much of the noise bulk the buffer keeps."""
    tail = ratio[rank:]
    tail = tail[np.isfinite(tail)]
    return float(np.median(tail)) if tail.size else float("nan")


def signal_fields(
    directions: Tensor,
    buffers: list[Tensor | None],
    grads: Tensor,
    signal: Tensor,
    rank: int,
    step: int,
    check: Check = None,
    signal_spectra: Sequence[np.ndarray] | None = None,
) -> list[Fields]:
    """Alignment A(D) = ⟨D, G_sig⟩/‖G_sig‖_* and sinΘ between the buffer's and G_sig's top-r spaces.

    ``signal_spectra`` are the signal's singular values when the step has them already (with exact
    gradients the signal is the gradient, whose spectra the step just took). A lane that watches the
    signal itself (no buffer, exact gradients) has sinΘ = 0 without an eigendecomposition: at
    d = 512 the two it would cost are a fifth of a step of the noisy scaling preset.
    """
    if signal_spectra is None:
        s_sig = _one_at_a_time(singular_values, signal, check=check)  # (L, k)
    else:
        s_sig = np.stack([np.asarray(values) for values in signal_spectra])
    aligned = alignment(directions, signal, s_sig)  # (L,)
    watched = [b if b is not None else g for b, g in zip(buffers, grads, strict=True)]
    defined = 1 <= rank <= min(signal.shape[-2:])  # as in sin_theta: NaN for a rank out of range
    angles = np.full(signal.shape[0], 0.0 if defined else np.nan)
    apart = [i for i in range(signal.shape[0]) if not _same(watched[i], signal[i])]
    if apart:
        stacked = torch.stack([watched[i] for i in apart])  # (n, r, c)
        angles[apart] = _one_at_a_time(partial(sin_theta, rank=rank), stacked, signal[apart], check=check)
    out = []
    for i in range(signal.shape[0]):
        out.append(
            {
                "signal_step": step,
                "alignment": float(aligned[i]),
                "sin_theta": float(angles[i]),
                "signal_spectrum": frozen_array(s_sig[i]),
            }
        )
    return out


def evaluation_fields(evaluation: Evaluation, step: int) -> list[Fields]:
    """Population loss, accuracy, recovery and per-class/per-group errors of each lane.

    An estimated evaluation brings its sample size and standard errors; an exact one has none (0).
    """
    lanes = evaluation.loss.shape[0]
    exact = np.zeros(lanes)
    loss_se = exact if evaluation.loss_se is None else evaluation.loss_se
    accuracy_se = exact if evaluation.accuracy_se is None else evaluation.accuracy_se
    recovered_se = exact if evaluation.recovered_se is None else evaluation.recovered_se
    group_se = evaluation.group_loss_se
    if group_se is None:
        group_se = np.zeros_like(evaluation.group_loss)
    return [
        {
            "eval_step": step,
            "eval_sampled_items": evaluation.sampled_items,
            "loss": float(evaluation.loss[i]),
            "loss_se": float(loss_se[i]),
            "excess_loss": float(evaluation.excess_loss[i]),
            "accuracy": float(evaluation.accuracy[i]),
            "accuracy_se": float(accuracy_se[i]),
            "recovered": round(float(evaluation.recovered[i])),
            "recovered_se": float(recovered_se[i]),
            "recovered_prefix": int(evaluation.recovered_prefix[i]),
            "class_error": frozen_array(evaluation.class_error[i]),
            "item_recovered": frozen_array(evaluation.item_recovered[i]),
            "group_loss": frozen_array(evaluation.group_loss[i]),
            "group_loss_se": frozen_array(group_se[i]),
            "group_error": frozen_array(evaluation.group_error[i]),
            "balance_gap": float(evaluation.balance_gap[i]),
        }
        for i in range(lanes)
    ]


def settings_fields(lane: LaneConfig) -> Fields:
    """The snapshot fields that say how a lane is set up, from its config."""
    return {
        "label": lane.display_label(),
        "optimizer": lane.optimizer,
        "order": lane.order,
        "lr": lane.lr,
        "momentum": lane.momentum,
        "buffer": OPTIMIZERS[lane.optimizer].buffer_convention(lane),
        "thresholded": lane.thresholded,
    }
