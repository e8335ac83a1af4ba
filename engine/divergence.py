"""Why a lane diverged, in words: the first of its tensors, in the order a step computes them, that
holds a value that is not finite.

A step checks one flag per lane on the device (see :mod:`engine.lane_update`); this runs once, on
the lane it froze, from what the step left: its gradient, its optimizer state (a step updates it
in place) and the last finite W. "DIVERGED at step 1" said when, never what: an Adam lane whose
second moment overflowed float32 and a Muon lane whose step left float64's range read alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from muonscope.engine.errors import and_listed

if TYPE_CHECKING:  # the texts below load without torch: the command line's run table says them
    from torch import Tensor

    from muonscope.engine.optim.rules import LaneState
    from muonscope.engine.snapshot import LaneSnapshot

__all__ = ["UNRECORDED_CAUSE", "because", "diverged_text", "divergence_cause", "frozen_lane_note"]


def divergence_cause(gradient: Tensor, state: LaneState, weights: Tensor) -> str:
    """What went non-finite at a lane's diverging step, with the finite scale that led there.

    ``gradient`` (r, c) is the step's G, ``state`` the lane's optimizer state after the step and
    ``weights`` (r, c) its last finite W.
    """
    import torch

    dtype = gradient.dtype
    largest = f"{str(dtype).removeprefix('torch.')}'s largest value, {torch.finfo(dtype).max:.3g}"
    if not _finite(gradient):
        return f"its gradient G is not finite (at max|W| = {_largest_finite(weights):.3g})"
    scale = f"max|G| = {_largest_finite(gradient):.3g}"
    adam = state.second_moment is not None
    if state.buffer is not None and not _finite(state.buffer):
        buffer = "first moment m" if adam else "momentum buffer M"
        return f"its {buffer} is not finite (it passed {largest}; {scale})"
    if adam and not _finite(state.second_moment):
        return f"its second moment v is not finite (G² passed {largest}; {scale})"
    return f"its step lr·D is not finite or took W past {largest} (max|W| = {_largest_finite(weights):.3g})"


def _finite(tensor: Tensor) -> bool:
    return bool(tensor.isfinite().all())


def _largest_finite(tensor: Tensor) -> float:
    """The largest finite magnitude in ``tensor`` (0 where none is finite)."""
    magnitudes = tensor.detach().abs()
    finite = magnitudes[magnitudes.isfinite()]
    return float(finite.max()) if finite.numel() else 0.0


def because(cause: str) -> str:
    """The words after "diverged" that say why: " because its second moment v is not finite (…)";
    a cause that was not recorded is said in brackets ("" where there is none)."""
    if not cause:
        return ""
    return f" ({cause})" if cause == UNRECORDED_CAUSE else f" because {cause}"


#: A diverged lane's cause in a session saved before causes were kept (engine.measure_changes).
UNRECORDED_CAUSE = "what went non-finite was not recorded by the earlier muonscope that saved it"


def diverged_text(lanes: Sequence[LaneSnapshot]) -> str:
    """The lanes that diverged, each with what went non-finite, a sentence per cause: "lane 0 (…) and
    lane 2 (…) diverged, each because its second moment v …" (two Adam lanes at float32's limit said
    the same words twice, over three lines of the window's banner)."""
    by_cause: dict[str, list[str]] = {}
    for lane in lanes:
        by_cause.setdefault(lane.diverged_cause, []).append(f"lane {lane.index} ({lane.label})")
    sentences = []
    for cause, named in by_cause.items():
        sentences.append(f"{and_listed(named)} diverged{'' if len(named) == 1 else ', each'}{because(cause)}")
    return ". ".join(sentences[:1] + [sentence[0].upper() + sentence[1:] for sentence in sentences[1:]])


def frozen_lane_note(lane: LaneSnapshot, fields: Sequence[str]) -> str:
    """What setting ``fields`` of a diverged lane does: its name follows, its run does not (it takes
    no step again); the caller says how to fork a branch before the divergence instead."""
    one = len(fields) == 1
    return (
        f"lane {lane.index} diverged at step {lane.diverged_step} and stays frozen: its new "
        f"{', '.join(fields)} change{'s' if one else ''} its name, not its run"
    )
