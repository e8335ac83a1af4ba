"""The matrices behind one lane at one step: W, G, M and the applied update, by replay.

Nothing is stored per step: the session restores the nearest checkpoint and replays to the step,
and these functions turn what the engine holds then into plain numpy matrices, with the spectra a
debugger compares — the direction D a lane's map made of its input (its update is −lr·D) against
the exact polar factor of the same input, whose difference is the Newton–Schulz (or
regularisation) residual.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from muonscope.engine.optim.polar import polar_exact
from muonscope.engine.optim.registry import OPTIMIZERS, momentum_of
from muonscope.engine.optim.rules import nesterov_look_ahead, polar_map
from muonscope.engine.recovery_law import lane_for_step

__all__ = ["TENSORS", "LaneMatrices", "lane_matrices", "task_coordinates"]

#: What can be inspected, with what each is.
TENSORS = {
    "W": "the weights after the step",
    "G": "the gradient the step used",
    "M": "the momentum buffer after the step (Adam: its first moment)",
    "update": "the applied update −lr·D (W after minus W before)",
}
#: Largest block of task coordinates ẼᵀXE shown (the most frequent items come first).
TASK_COORDINATES_LIMIT = 512


@dataclass(frozen=True, slots=True)
class LaneMatrices:
    """One lane at one step; a matrix is None where it does not exist (G at step 0, M without momentum)."""

    step: int
    lane: int
    label: str
    matrices: dict[str, np.ndarray | None]
    direction_sv: np.ndarray  # σ of D, the lane's map of its input (Muon: NS / reg / exact), descending
    polar_sv: np.ndarray  # σ of the exact polar factor of the same input
    residual: float | None  # ‖map(X) − polar(X)‖_F / ‖polar(X)‖_F; None for lanes without a polar map
    map_input: str  # which matrix the lane's map was applied to ("M", "G", or "" before a step)
    diverged_step: int = -1  # the step the lane diverged at, frozen since (−1: never, or not yet)
    diverged_cause: str = ""  # what went non-finite there, in words
    #: λ of the regularised map h_λ as the step ran it (λ_t for a scheduled lane); None for other maps
    lam: float | None = None

    @property
    def map_text(self) -> str:
        """The lane's map as the step ran it, where a setting of it varies: "h_λ, λ = 0.00174"."""
        return "" if self.lam is None else f"h_λ, λ = {self.lam:.3g}"


def lane_matrices(found: dict, lane: int) -> LaneMatrices:
    """``found`` is what :meth:`Session.matrices_at` returned; ``lane`` a lane index of that step."""
    config = found["config"]
    if not 0 <= lane < len(config.lanes):
        raise ValueError(f"lane {lane}: must be one of 0…{len(config.lanes) - 1} at step {found['step']}")
    # as the step that produced W here ran it (a scheduled λ at that step's λ_t)
    settings = lane_for_step(config.lanes[lane], config.task, max(found["step"] - 1, 0))
    gradient = None if found["gradient"] is None else found["gradient"][lane]  # (r, c)
    direction = None if found["direction"] is None else found["direction"][lane]
    momentum = found["momentum"][lane]
    update = None if direction is None else -settings.lr * direction
    matrices = {
        "W": _numpy(found["weights"][lane]),
        "G": _numpy(gradient),
        "M": _numpy(momentum),
        "update": _numpy(update),
    }
    applied, reference, residual, source = _polar_comparison(settings, gradient, momentum, direction)
    return LaneMatrices(
        step=found["step"],
        lane=lane,
        label=config.lanes[lane].display_label(),
        matrices=matrices,
        direction_sv=applied,
        polar_sv=reference,
        residual=residual,
        map_input=source,
        diverged_step=found["diverged_steps"][lane],
        diverged_cause=found["diverged_causes"][lane],
        lam=settings.lam if _maps_with_lam(settings) and direction is not None else None,
    )


def _maps_with_lam(settings) -> bool:
    """Whether the lane's direction is h_λ of its input (regularised Muon)."""
    return "polar" in OPTIMIZERS[settings.optimizer].uses and settings.polar == "reg"


def _polar_comparison(settings, gradient: Tensor | None, momentum: Tensor | None, direction: Tensor | None):
    """σ of the lane's own map and of the exact polar factor, applied to the same input X."""
    empty = np.zeros(0)
    if gradient is None or direction is None:
        return empty, empty, None, ""
    if "polar" not in OPTIMIZERS[settings.optimizer].uses:  # no polar map of its own
        reference = polar_exact(direction)
        return _sv(direction), _sv(reference), None, "update"
    source, x = _map_input(settings, gradient, momentum)
    mapped = polar_map(settings.polar, settings.ns_steps, settings.lam, settings.ns_dtype, x.dtype)(x)
    reference = polar_exact(x)
    scale = torch.linalg.matrix_norm(reference)
    residual = float(torch.linalg.matrix_norm(mapped - reference) / scale) if scale > 0 else 0.0
    return _sv(mapped), _sv(reference), residual, source


def _map_input(settings, gradient: Tensor, momentum: Tensor | None) -> tuple[str, Tensor]:
    """X that a Muon lane orthogonalised: the (Nesterov-blended) buffer before the map, else G."""
    uses_buffer = settings.order == "pre" and settings.momentum > 0 and momentum is not None
    if not uses_buffer:
        return "G", gradient
    if not settings.nesterov:
        return "M", momentum
    return "M (Nesterov)", nesterov_look_ahead(gradient, momentum, momentum_of(settings))


def _sv(matrix: Tensor) -> np.ndarray:
    return torch.linalg.svdvals(matrix.to(torch.float64)).cpu().numpy()


def _numpy(tensor: Tensor | None) -> np.ndarray | None:
    return None if tensor is None else tensor.detach().to(torch.float64).cpu().numpy()


def task_coordinates(matrix: np.ndarray, answers: np.ndarray, queries: np.ndarray) -> np.ndarray:
    """Ŵ = Ẽᵀ X E (rows: answers k, columns: queries i) for the most frequent items.

    answers (N, d) rows ẽ_k and queries (N, d) rows e_i; only the first
    :data:`TASK_COORDINATES_LIMIT` items of each are kept, so a large N stays drawable.
    """
    keep = min(TASK_COORDINATES_LIMIT, answers.shape[0])
    return answers[:keep] @ matrix @ queries[:keep].T  # (keep, keep)
