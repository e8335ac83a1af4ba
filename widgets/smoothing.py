"""Smoothing of a noisy curve over steps: a debiased exponential moving average, weighted per step.

With points at steps t_i, ``s_i = a_i·s_{i−1} + (1 − a_i)·x_i`` with ``a_i = w^(t_i − t_{i−1})`` from
``s_{−1} = 0``, divided by ``1 − w^(t_i − t_0 + 1)`` so that the first points are not pulled towards
0. On points one step apart it is TensorBoard's smoothing; on a metric measured every 10 steps a
weight of 0.9 still averages over about 10 steps, not 100 (weighted per point, the population loss
drawn bold ended at twice its measured value). Computed in blocks with numpy: panel ② smooths
every lane's whole history each frame.
"""

from __future__ import annotations

import numpy as np

__all__ = ["ema"]

#: Decades the scaling w^−(t − t_block) may reach inside a block: far inside float64's range
#: (10³⁰⁸), also for values of 10¹⁰⁰.
_BLOCK_DECADES = 100.0


def ema(values: np.ndarray, weight: float, steps: np.ndarray | None = None) -> np.ndarray:
    """The debiased moving average of ``values`` (n,) at increasing ``steps`` (n,; default 0, 1, …),
    with weight ``weight`` in [0, 1) per step."""
    values = np.asarray(values, dtype=np.float64)
    if not 0.0 <= weight < 1.0:
        raise ValueError(f"smoothing weight = {weight} is not allowed: must be from 0 to below 1")
    if weight == 0.0 or values.size == 0:
        return values.copy()
    steps = np.arange(values.size, dtype=np.float64) if steps is None else np.asarray(steps, np.float64)
    log_w = np.log(weight)
    gaps = np.diff(steps, prepend=steps[0] - 1.0)  # (n,) steps since the point before
    gains = -np.expm1(gaps * log_w) * values  # (n,) (1 − a_i)·x_i
    sums = np.empty_like(values)  # (n,) s_i before debiasing
    span_steps = _BLOCK_DECADES / -np.log10(weight)  # steps a block may cover
    carry, carry_step, start = 0.0, steps[0], 0
    while start < values.size:
        end = max(start + 1, int(np.searchsorted(steps, steps[start] + span_steps, side="right")))
        offsets = steps[start:end] - steps[start]  # (b,) steps into the block
        decay = np.exp(offsets * log_w)  # (b,) w^(t_i − t_start)
        # s_i = w^(t_i − t_{start−1})·carry + w^(t_i − t_start)·Σ_{start≤j≤i} (1 − a_j)·x_j·w^−(t_j − t_start)
        inside = decay * np.cumsum(gains[start:end] / decay)
        sums[start:end] = np.exp((steps[start:end] - carry_step) * log_w) * carry + inside
        carry, carry_step, start = sums[end - 1], steps[end - 1], end
    return sums / -np.expm1((steps - steps[0] + 1.0) * log_w)
