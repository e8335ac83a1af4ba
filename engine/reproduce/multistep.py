"""Kim et al.'s multi-step recovery, with and without the thresholded gradient (exploratory).

"Thresholded" removes the items a lane has already recovered from that lane's population gradient
before the next step, the approximation under which the paper's d_t recursion is proved. Muon is
the regularised polar map with η = √d and λ_t = d_{t+1}^{−α}·√d, read literally (SCIENCE.md §5);
GD takes steps of the same spectral norm as Muon's first one.
"""

from __future__ import annotations

import math

import torch

from muonscope.engine.config import TaskConfig
from muonscope.engine.memory import QueryBatch, memory_pass, population_queries
from muonscope.engine.optim.polar import polar_regularized
from muonscope.engine.tasks.memory_task import MemoryTask

__all__ = ["run_multistep"]


def _recovered(task: MemoryTask, w: torch.Tensor) -> torch.Tensor:
    result = memory_pass(
        task.outputs,
        task.inputs,
        w[None],
        population_queries(task.probs, 0.0),
        want_grad=False,
        want_columns=True,
    )
    return result.recovered[0]  # (N,) bool


def _gradient(task: MemoryTask, w: torch.Tensor, skip: torch.Tensor | None) -> torch.Tensor:
    """Population gradient at W, over the items not in ``skip`` (all items when skip is None)."""
    keep = torch.arange(task.n_items) if skip is None else torch.nonzero(~skip).flatten()
    if keep.numel() == 0:
        return torch.zeros_like(w)
    p = task.probs[keep]
    queries = QueryBatch(keep, p, keep, torch.arange(keep.numel()), p, None)
    return memory_pass(task.outputs, task.inputs, w[None], queries).grad[0]


def run_multistep(d: int, n_items: int, alpha: float, steps: int) -> dict[str, list[int]]:
    """Recovered counts after t = 0..steps for four lanes (Muon-reg / GD × thresholded / exact)."""
    task = MemoryTask(
        TaskConfig(d=d, n_items=n_items, alpha=alpha, batch_size=0), torch.device("cpu"), torch.float64
    )
    eta = math.sqrt(d)
    first_norm = float(
        torch.linalg.matrix_norm(_gradient(task, torch.zeros(d, d, dtype=torch.float64), None), ord=2)
    )
    curves = {}
    for name, muon, thresholded in (
        ("Muon-reg thresholded", True, True),
        ("Muon-reg exact", True, False),
        ("GD thresholded", False, True),
        ("GD exact", False, False),
    ):
        w = torch.zeros(d, d, dtype=torch.float64)
        recovered = _recovered(task, w)
        counts = [int(recovered.sum())]
        for t in range(steps):
            grad = _gradient(task, w, recovered if thresholded else None)
            if muon:
                d_next = min(d ** (2.0 - (1.0 - 1.0 / (2.0 * alpha)) ** (t + 1)), n_items)
                w = w - eta * polar_regularized(grad, d_next**-alpha * math.sqrt(d))
            else:
                w = w - (eta / first_norm) * grad
            recovered = _recovered(task, w)
            counts.append(int(recovered.sum()))
        curves[name] = counts
    return curves
