"""How long a step of a run will take on this machine, said before the run starts.

A window set to d = 8192 showed its busy bar for half an hour before the first step; the command
line said nothing until a step was done. The estimate counts the work a step does — the gradient on
the minibatch, each lane's update rule (an SVD for an exact polar map, matrix products for
Newton–Schulz), the spectra and the population evaluation at their cadences — and prices it at this
machine's speed, measured on the run's device and dtype at a small size (a few milliseconds, once
per process). Large factorisations run more efficiently than small ones, so the estimate errs long;
benchmarks/step_cost.py sets it beside measured steps.
"""

from __future__ import annotations

import functools
import math
import time
from dataclasses import dataclass
from typing import Any

from muonscope.engine.optim.registry import OPTIMIZERS
from muonscope.engine.task_kinds import TASK_KINDS

__all__ = [
    "LANE_STEP_OVERHEAD_S",
    "POINT_SETUP_S",
    "MachineSpeed",
    "StepCost",
    "distinct_draws",
    "measured_speed",
    "point_seconds",
    "slow_step_seconds",
    "step_cost",
    "sum_of_powers",
]

#: Side of the square matrices the machine's speed is measured on: large enough for the libraries'
#: blocked kernels, small enough to take milliseconds.
REFERENCE_SIDE = 256
#: How an SVD's time grows with its work: LAPACK's blocked kernels run faster on larger matrices,
#: so a square SVD's time went as n^2.6, not n³, from n = 256 to 2048 on two cores (0.0075 s to
#: 1.6 s); scaled by n³ from 256, d = 4096 was estimated at 2.4 min a step where it took 32 s.
SVD_WORK_EXPONENT = 2.6 / 3
#: Seconds per step from which a run is said to be slow before it starts.
SLOW_STEP_S = 10.0
#: Matrix products per Newton–Schulz iteration, each about 2·m·n·min(m, n) operations.
_NS_PRODUCTS = 3
#: Matrix-product operations per minibatch column and per evaluated item, in units of d·(d + N):
#: a column goes through W and against every item's output embedding, forwards and backwards.
_GRADIENT_OPS = 4
_EVALUATION_OPS = 4
#: A sweep point's seconds besides its arithmetic, measured on two cores: building its task and
#: lanes (one-step points at d = 32 took 0.17–0.35 s, their arithmetic 0.1 s), and the Python
#: around each lane's step (1000 steps of three lanes at d = 128 took 6 s, their arithmetic 3.2 s).
POINT_SETUP_S = 0.15
LANE_STEP_OVERHEAD_S = 1e-3
#: Items past which the expected number of distinct draws sums the tail as B·p (each rarely drawn).
_EXACT_DISTINCT_ITEMS = 10**6


@dataclass(frozen=True)
class MachineSpeed:
    """What the run's device does: matrix-product operations per second, and the seconds of a full
    SVD and of singular values alone of a REFERENCE_SIDE square matrix."""

    matmul_ops_per_s: float
    svd_s: float
    svdvals_s: float

    def svd_seconds(self, rows: int, cols: int, values_only: bool = False) -> float:
        """An SVD of a rows × cols matrix, scaled from the reference by its work m·n·min(m, n) to
        the power SVD_WORK_EXPONENT."""
        scale = (rows * cols * min(rows, cols) / REFERENCE_SIDE**3) ** SVD_WORK_EXPONENT
        return (self.svdvals_s if values_only else self.svd_s) * scale


@dataclass(frozen=True)
class StepCost:
    """Seconds of an average step, by what takes them (the evaluation and spectra spread over the
    steps between them)."""

    gradient_s: float
    update_s: float
    spectra_s: float
    evaluation_s: float

    @property
    def total_s(self) -> float:
        return self.gradient_s + self.update_s + self.spectra_s + self.evaluation_s


def step_cost(config: Any, speed: MachineSpeed) -> StepCost:
    """The estimated seconds of an average step of ``config`` at ``speed``."""
    task, run = config.task, config.run
    rows, cols = TASK_KINDS[task.kind].weight_shape(task)
    lanes = len(config.lanes)
    rate = speed.matmul_ops_per_s
    gradient_ops, evaluation_ops = _pass_ops(task, rows, cols, sampled=run.exact_eval_items)
    update_s = sum(_update_seconds(lane, rows, cols, speed) for lane in config.lanes)
    spectra_s = lanes * 3 * speed.svd_seconds(rows, cols, values_only=True) / run.spectra_every
    return StepCost(
        gradient_s=lanes * gradient_ops / rate,
        update_s=update_s,
        spectra_s=spectra_s,
        evaluation_s=lanes * evaluation_ops / rate / run.eval_every,
    )


def point_seconds(config: Any, steps: int, speed: MachineSpeed) -> float:
    """A sweep point's estimated seconds: its ``steps`` steps, and its two evaluations (at step 0
    and at its end), exact whatever N, as a sweep's points are evaluated; with the work around the
    arithmetic (POINT_SETUP_S, LANE_STEP_OVERHEAD_S), most of a small point's time."""
    rows, cols = TASK_KINDS[config.task.kind].weight_shape(config.task)
    _gradient_ops, evaluation_ops = _pass_ops(config.task, rows, cols, exact=True)
    lanes = len(config.lanes)
    evaluations_s = 2 * lanes * evaluation_ops / speed.matmul_ops_per_s
    step_s = step_cost(config, speed).total_s + lanes * LANE_STEP_OVERHEAD_S
    return POINT_SETUP_S + steps * step_s + evaluations_s


def _pass_ops(
    task: Any, rows: int, cols: int, sampled: int | None = None, exact: bool = False
) -> tuple[float, float]:
    """Operations of one lane's minibatch gradient and of one lane's population evaluation, of
    every item where ``exact`` or the batch is the population, else of ``sampled`` items at most."""
    if not TASK_KINDS[task.kind].has_classes:  # a stream: one rows × cols sample product per draw
        return _GRADIENT_OPS * task.batch_size * rows * cols, 2 * rows * cols * cols
    n = task.n_items
    columns = n if task.batch_size == 0 else distinct_draws(task)
    evaluated = n if exact or task.batch_size == 0 or sampled is None else min(n, sampled)
    per_column = rows * (cols + n)  # through W, and against every item's output embedding
    return _GRADIENT_OPS * columns * per_column, _EVALUATION_OPS * evaluated * per_column


def distinct_draws(task: Any) -> float:
    """The expected number of distinct items in a minibatch: the gradient's columns, one per item
    drawn (a Zipf memory's 1024 draws at α = 1.5 hold a few hundred items). Σ 1 − (1 − p_i)^B for a
    Zipf law; every draw its own item for the other kinds, whose frequencies are their own."""
    if not TASK_KINDS[task.kind].zipf_law:
        return float(min(task.batch_size, task.n_items))
    return _zipf_distinct_draws(task.batch_size, task.n_items, task.alpha)


@functools.lru_cache(maxsize=64)
def _zipf_distinct_draws(batch: int, n: int, alpha: float) -> float:
    """Σ 1 − (1 − p_i)^B for p_i ∝ i^(−α): kept, as the window asks again at each change of settings
    and a million-item sum takes milliseconds on its thread."""
    import numpy as np

    head = min(n, _EXACT_DISTINCT_ITEMS)
    weights = np.arange(1, head + 1, dtype=float) ** -alpha  # (head,)
    tail = sum_of_powers(head + 1, n, alpha)
    total = weights.sum() + tail
    drawn = -np.expm1(batch * np.log1p(-weights / total)).sum()  # Σ 1 − (1 − p_i)^B, stably
    return float(min(drawn + batch * tail / total, batch, n))


def sum_of_powers(first: int, last: int, alpha: float) -> float:
    """Σ_{i=first}^{last} i^(−α), by the integral with its end corrections (exact enough past 10⁶)."""
    if last < first:
        return 0.0
    if alpha == 1.0:
        integral = math.log(last / first)
    else:
        integral = (last ** (1 - alpha) - first ** (1 - alpha)) / (1 - alpha)
    return integral + (first**-alpha + last**-alpha) / 2


def _update_seconds(lane: Any, rows: int, cols: int, speed: MachineSpeed) -> float:
    """One lane's update rule: an SVD for an exact or regularised polar map, products for
    Newton–Schulz, elementwise work (negligible beside the gradient) for the others."""
    if OPTIMIZERS[lane.optimizer].polar_key is None:
        return 0.0
    if lane.polar == "ns":
        return lane.ns_steps * _NS_PRODUCTS * 2 * rows * cols * min(rows, cols) / speed.matmul_ops_per_s
    return speed.svd_seconds(rows, cols)


@functools.cache
def measured_speed(device: str = "cpu", dtype: str = "float64") -> MachineSpeed:
    """This machine's speed on ``device`` in ``dtype``: the best of a few timings of each kernel."""
    import torch

    generator = torch.Generator(device=device).manual_seed(0)
    side = REFERENCE_SIDE
    matrix = torch.randn(side, side, generator=generator, device=device, dtype=getattr(torch, dtype))
    product_s = _best_seconds(lambda: matrix @ matrix, device)
    return MachineSpeed(
        matmul_ops_per_s=2 * side**3 / product_s,
        svd_s=_best_seconds(lambda: torch.linalg.svd(matrix, full_matrices=False), device),
        svdvals_s=_best_seconds(lambda: torch.linalg.svdvals(matrix), device),
    )


def _best_seconds(work, device: str, tries: int = 3) -> float:
    import torch

    work()  # warm: the first call loads and plans
    best = math.inf
    for _ in range(tries):
        start = time.perf_counter()
        work()
        if device == "cuda":
            torch.cuda.synchronize()
        best = min(best, time.perf_counter() - start)
    return max(best, 1e-6)


#: A slow machine (a laptop's core in float64): a run whose steps take under SLOW_STEP_S even at
#: this speed is not measured for (the measurement is skipped at the sizes most runs have).
SLOW_MACHINE = MachineSpeed(matmul_ops_per_s=1e9, svd_s=0.4, svdvals_s=0.1)


def slow_step_seconds(config: Any, device: str, dtype: str) -> float | None:
    """The estimated seconds of a step of ``config`` on ``device`` in ``dtype`` where they are
    SLOW_STEP_S or more, else None (measured for only where even a slow machine would take long)."""
    if step_cost(config, SLOW_MACHINE).total_s < SLOW_STEP_S:
        return None
    seconds = step_cost(config, measured_speed(device, dtype)).total_s
    return seconds if seconds >= SLOW_STEP_S else None
