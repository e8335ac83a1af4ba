"""Kim et al.'s multi-step recovery law and the λ_t schedule it sets (SCIENCE.md §5).

After t steps of regularised Muon, the ranks up to d_t = min{d^{2−(1−1/(2α))^t}, B^{1/α}} are
recovered (polylogs dropped [S]), and step t's regulariser is λ_t ≍ d_{t+1}^{−α}·√d. The live lanes
(``lam_schedule = "kim"``) and the multi-step reproduction read both from here.
"""

from __future__ import annotations

import dataclasses
from typing import Any

__all__ = ["lane_for_step", "recovery_target", "scheduled_lam", "theory_recovery"]


def theory_recovery(d: int, alpha: float, t: int) -> float:
    """d^{2 − (1 − 1/(2α))^t}: the ranks recovered after t steps, polylogs dropped [S]."""
    return d ** (2.0 - (1.0 - 1.0 / (2.0 * alpha)) ** t)


def recovery_target(d: int, alpha: float, t: int, n_items: int, batch_size: int) -> float:
    """d_t = min{d^{2−(1−1/(2α))^t}, B^{1/α}, N}: the law with its minibatch cap [S] and N [I].

    ``batch_size`` 0 means B = ∞ (no batch cap). An item must be drawn to be learned, hence the
    B^{1/α} cap; no more than the N items that exist can be recovered.
    """
    target = min(theory_recovery(d, alpha, t), float(n_items))
    return target if batch_size == 0 else min(target, batch_size ** (1.0 / alpha))


def scheduled_lam(first_lam: float, d: int, alpha: float, t: int, n_items: int, batch_size: int) -> float:
    """λ_t = λ_0·(d_{t+1}/d_1)^{−α}: the schedule λ_t ∝ d_{t+1}^{−α}, started from a lane's own λ_0.

    With λ_0 = d_1^{−α}·√d it is the literal λ_t = d_{t+1}^{−α}·√d [S] (at B = ∞, λ_0 = d^{−α}, the
    one-step scale); a lane's λ sets the constant the paper's "≍" leaves open.
    """
    first = recovery_target(d, alpha, 1, n_items, batch_size)
    return first_lam * (recovery_target(d, alpha, t + 1, n_items, batch_size) / first) ** -alpha


def lane_for_step(lane: Any, task: Any, t: int) -> Any:
    """``lane`` (a LaneConfig) as step t runs it (t = 0: the first step from the run's start): a
    ``lam_schedule = "kim"`` lane with its λ at λ_t, every other lane as it is.

    t is the run's step, whenever the lane joined; B is the task's batch size now (0: B = ∞).
    """
    if lane.lam_schedule != "kim" or lane.polar != "reg":
        return lane
    lam = scheduled_lam(lane.lam, task.d, task.alpha, t, task.n_items, task.batch_size)
    return dataclasses.replace(lane, lam=lam)
