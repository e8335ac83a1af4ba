"""Which per-step metrics a step records, and their values for every lane.

The minibatch loss is recorded every step. Spectra (of G, the buffer and the update) cost SVDs, so
they follow the spectra cadence; signal metrics (alignment, sin Θ) cost SVDs too and follow the
same cadence, except that a minibatch run also has them on the step after an evaluation, whose
population gradient they pair with.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
from torch import Tensor

from muonscope.engine.lane_metrics import Check, Fields, signal_fields, spectra_fields
from muonscope.engine.lane_update import LaneStep
from muonscope.engine.metrics import Isotropy
from muonscope.engine.snapshot import frozen_array

__all__ = ["StepInputs", "step_metric_fields"]

#: The fields of a lane's update and of its buffer's motion: a lane that took no step (diverged,
#: frozen at its last finite W) has none. An update of zeros measured alignment 0 and a frozen
#: buffer sin Θ 0, "a perfect match", and its gap ran on flat; its G, W and losses are measured still.
_OF_A_STEP = ("gap", "ratio_gap", "tail_filtering", "alignment", "sin_theta")


@dataclass(frozen=True)
class StepInputs:
    """What one step produced, for its metrics. Shapes: G and W (L, r, c); losses (L,)."""

    grads: Tensor  # (L, r, c) the minibatch (or exact) gradient every lane saw
    stepped: LaneStep  # the lanes' new W and their update directions
    losses: np.ndarray  # (L,) minibatch losses, on the host
    buffers: list[Tensor | None]  # each lane's momentum buffer after the step
    signal: Tensor | None  # (L, r, c) the noiseless gradient, when it is at hand
    gradient_factors: tuple[Tensor, Tensor] | None = None  # G as thin factors, when drawn so


def step_metric_fields(
    inputs: StepInputs,
    *,
    step: int,
    rank: int,
    with_spectra: bool,
    pair_signal: bool,
    gradient_scales: list[float],
    frozen: Sequence[bool] = (),
    check: Check = None,
) -> list[Fields]:
    """Each lane's recorded fields for this step: its batch loss, and spectra and signal metrics
    when ``with_spectra`` (the spectra cadence) or ``pair_signal`` (the step after an evaluation
    of a minibatch run) asks for them; ``frozen`` lanes (diverged) took no step: see _OF_A_STEP."""
    spectra = None
    if with_spectra:
        spectra = spectra_fields(
            inputs.grads,
            inputs.buffers,
            inputs.stepped.directions,
            inputs.stepped.weights,
            rank,
            step,
            check,
            inputs.stepped.known_spectra,
            gradient_scales,
            inputs.gradient_factors,
        )
    signals = None
    if inputs.signal is not None and (with_spectra or pair_signal):
        known = None  # the gradient's spectra, when the signal is the gradient itself
        if spectra is not None and inputs.signal is inputs.grads:
            known = [fields["spectra"].gradient for fields in spectra]
        directions = inputs.stepped.directions
        grads, buffers = inputs.grads, inputs.buffers
        signals = signal_fields(directions, buffers, grads, inputs.signal, rank, step, check, known)
    per_lane = []
    for i, loss in enumerate(inputs.losses):
        fields: Fields = {"batch_loss": float(loss)}
        fields.update(spectra[i] if spectra is not None else {})
        fields.update(signals[i] if signals is not None else {})
        per_lane.append(_without_a_step(fields) if i < len(frozen) and frozen[i] else fields)
    return per_lane


def _without_a_step(fields: Fields) -> Fields:
    """A frozen lane's fields: no update or buffer (their spectra, the update's isotropy and the
    filtering ratio empty) and NaN for the metrics of a step (see _OF_A_STEP)."""
    out = {name: (math.nan if name in _OF_A_STEP else value) for name, value in fields.items()}
    if "filtering_ratio" in out:
        out["filtering_ratio"] = frozen_array(np.zeros(0))
    if "spectra" in out:  # nor a buffer that moves: the one its failed step left is not the lane's
        none = frozen_array(np.zeros(0))
        out["spectra"] = replace(out["spectra"], update=none, momentum=none)
        out["update_isotropy"] = Isotropy.empty()
    return out
