"""One optimizer step of every lane: cheap rules lane by lane, polar maps batched across lanes.

Each lane's rule is a short function of its own gradient and state (:mod:`engine.optim.rules`), but
the expensive part of Muon — the orthogonalising map — is the same function for every lane that
shares its settings. Those lanes run :func:`rules.before_map`, then one batched map over all of them
(one kernel launch on a GPU instead of one per lane), then :func:`rules.after_map`. The result is
the same as running each rule alone.

Nothing here waits for the device: whether a lane's new W and state are finite comes back as a
tensor, and the experiment reads it together with the step's losses in one transfer.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from muonscope.engine.config import LaneConfig
from muonscope.engine.optim.polar import svd_polar
from muonscope.engine.optim.registry import OPTIMIZERS, PolarKey, momentum_of
from muonscope.engine.optim.rules import LaneState, after_map, before_map, polar_map

__all__ = ["KnownSpectrum", "LaneStep", "step_lanes"]

#: Called before each expensive piece of work; raises to abandon the step (None: never).
Check = Callable[[], None] | None


@dataclass(frozen=True, slots=True)
class KnownSpectrum:
    """A matrix whose singular values a step already computed (the input or output of an SVD map)."""

    lane: int
    matrix: Tensor  # (r, c)
    values: Tensor  # (k,) descending


@dataclass(frozen=True, slots=True)
class LaneStep:
    """What one step did to the lanes."""

    weights: Tensor  # (L, r, c) W after the step (unchanged for lanes that did not move)
    directions: Tensor  # (L, r, c) D of the step, zero for lanes that did not move
    finite: Tensor  # (L,) bool on the device: the lane's new W and optimizer state are finite
    known_spectra: tuple[KnownSpectrum, ...]

    def on_host(self, batch_loss: Tensor) -> tuple[np.ndarray, np.ndarray]:
        """(L,) finite flags and (L,) minibatch losses, brought to the host in one transfer."""
        losses = batch_loss.detach().to(self.finite.device, torch.float64)  # exact-gradient losses: host
        both = torch.cat([self.finite.to(torch.float64), losses]).cpu().numpy()  # (2L,)
        lanes = self.finite.shape[0]
        return both[:lanes] > 0, both[lanes:].astype(np.float64)


def step_lanes(
    grads: Tensor,
    weights: Tensor,
    states: Sequence[LaneState],
    lanes: Sequence[LaneConfig],
    frozen: Sequence[bool],
    check: Check = None,
) -> LaneStep:
    """W ← W − lr·D for every lane not ``frozen`` (diverged); D from its rule on its gradient.

    With a ``check`` on the CPU, maps run lane by lane with a check before each, so that a cancelled
    step stops within one SVD; batching buys nothing there (LAPACK loops over the batch anyway).
    """
    directions = torch.zeros_like(grads)  # (L, r, c)
    groups: dict[PolarKey, list[int]] = defaultdict(list)
    for i, lane in enumerate(lanes):
        if frozen[i]:
            continue
        spec = OPTIMIZERS[lane.optimizer]
        if spec.polar_key is not None:
            groups[spec.polar_key(lane)].append(i)
            continue
        if check is not None:
            check()
        directions[i] = spec.rule(grads[i], states[i], lane)
    known: list[KnownSpectrum] = []
    for key, members in groups.items():
        _polar_directions(key, members, grads, states, lanes, check, directions, known)
    moving = torch.tensor([not f for f in frozen], device=grads.device)  # (L,)
    rates = torch.tensor([lane.lr for lane in lanes], dtype=grads.dtype, device=grads.device)  # (L,)
    stepped = weights - rates.view(-1, 1, 1) * directions  # (L, r, c)
    finite = _finite(stepped, states) & moving  # (L,)
    keep = finite.view(-1, 1, 1)
    return LaneStep(
        weights=torch.where(keep, stepped, weights),
        directions=torch.where(keep, directions, 0.0),
        finite=finite | ~moving,
        known_spectra=tuple(known),
    )


def _polar_directions(
    key: PolarKey,
    members: list[int],
    grads: Tensor,
    states: Sequence[LaneState],
    lanes: Sequence[LaneConfig],
    check: Check,
    directions: Tensor,
    known: list[KnownSpectrum],
) -> None:
    """Directions of the lanes sharing one polar map, mapped in one batch (or one by one under a
    ``check``), written into ``directions``; the SVDs' spectra are added to ``known``."""
    inputs = [before_map(grads[i], states[i], momentum_of(lanes[i])) for i in members]  # each (r, c)
    chunks = [[j] for j in range(len(members))] if _one_by_one(check, grads) else [range(len(members))]
    mapped: list[Tensor] = [grads[0]] * len(members)
    for chunk in chunks:
        if check is not None:
            check()
        stack = torch.stack([inputs[j] for j in chunk])  # (n, r, c)
        outputs = _map(key, stack, known, [members[j] for j in chunk])
        for j, out in zip(chunk, outputs, strict=True):
            mapped[j] = out
    for j, i in enumerate(members):
        directions[i] = after_map(mapped[j], states[i], momentum_of(lanes[i]))


def _one_by_one(check: Check, grads: Tensor) -> bool:
    return check is not None and grads.device.type == "cpu"


def _map(key: PolarKey, stack: Tensor, known: list[KnownSpectrum], lanes: list[int]) -> Tensor:
    """The polar map of a stack (n, r, c) of ``lanes``' inputs; SVD maps record both spectra."""
    polar, ns_steps, lam, ns_dtype = key
    if polar == "ns":
        return polar_map("ns", ns_steps, lam, ns_dtype, stack.dtype)(stack)
    factor, s_in, s_out = svd_polar(stack, lam)  # (n, r, c), (n, k), (n, k)
    for j, lane in enumerate(lanes):
        known.append(KnownSpectrum(lane, stack[j], s_in[j]))
        known.append(KnownSpectrum(lane, factor[j], s_out[j]))
    return factor


def _finite(stepped: Tensor, states: Sequence[LaneState]) -> Tensor:
    """(L,) whether each lane's next W and its optimizer state are finite, computed on the device.

    Adam's second moment can overflow to inf while W stays finite; the lane then silently stops
    learning, so the state is checked as well (each state tensor reduced alone, none copied).
    """
    finite = _all_finite(stepped.flatten(1))  # (L,)
    owners, held = [], []
    for i, state in enumerate(states):
        for tensor in (state.buffer, state.second_moment):
            if tensor is not None:
                owners.append(i)
                held.append(_all_finite(tensor.reshape(1, -1)))
    if not held:
        return finite
    bad = (~torch.cat(held)).long()  # (n,)
    index = torch.tensor(owners, device=stepped.device)
    bad_per_lane = torch.zeros(finite.shape[0], dtype=torch.long, device=stepped.device).index_add_(
        0, index, bad
    )
    return finite & (bad_per_lane == 0)


def _all_finite(rows: Tensor) -> Tensor:
    """(n,) whether each row of (n, k) is all finite: Σ 0·x is 0 exactly then, NaN otherwise.

    0·inf and 0·NaN are NaN and every other product is ±0, so no finite value can overflow the
    sum; it reads each entry once, where isfinite(x).all() writes a mask first (a fifth of the time).
    """
    return torch.isfinite((rows * 0).sum(dim=1))
