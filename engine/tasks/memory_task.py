"""The associative-memory tasks: zipf, hierarchical and two_level share one model (SCIENCE.md §2).

They differ only in how embeddings and item frequencies are built; the gradient, the loss and the
recovery test are the same chunked pass of :mod:`engine.memory`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import Tensor

from muonscope.engine.config import EXACT_EVAL_ITEMS, TaskConfig
from muonscope.engine.memory import (
    MemoryPass,
    QueryBatch,
    chunk_columns,
    item_queries,
    memory_pass,
    minibatch_queries,
    population_queries,
)
from muonscope.engine.optim.rules import TaskGeometry
from muonscope.engine.task_kinds import TASK_KINDS
from muonscope.engine.tasks.base import Evaluation, Task
from muonscope.engine.tasks.embeddings import make_embeddings
from muonscope.engine.tasks.frequencies import (
    hierarchical_probs,
    log2_rank_groups,
    staircase_probs,
    two_level_probs,
    zipf_probs,
)
from muonscope.engine.tasks.population_sample import (
    StratifiedSample,
    draw_stratified,
    estimate_group_means,
    estimate_indicator_total,
    estimate_totals,
)
from muonscope.engine.tasks.sampler import Batch, BatchSampler

__all__ = ["FREQUENCIES", "MemoryTask", "noisy_target_entropy"]

#: Offset that separates the embedding stream from the minibatch stream of one seed.
_BATCH_STREAM = 0x5EED
#: The Hessian factors' eigenvalues below this share of the largest are zero (their pseudo-inverse
#: leaves them out): 1e-10, or 16 round-offs of the dtype where that is larger. A rank-deficient
#: C_u (N < d) has round-off eigenvalues near 1.5·eps, which float32 passed at 1e-10 and inverted:
#: Newton's first step at d = 128, N = 64 came out 10⁹ times too long.
_PINV_RTOL = 1e-10
_PINV_ROUND_OFFS = 16


def _zipf_frequencies(cfg: TaskConfig) -> tuple[np.ndarray, np.ndarray]:
    return zipf_probs(cfg.n_items, cfg.alpha), log2_rank_groups(cfg.n_items)


def _hierarchical_frequencies(cfg: TaskConfig) -> tuple[np.ndarray, np.ndarray]:
    return hierarchical_probs(cfg.n_items, cfg.groups, cfg.group_exponent)


def _tail_end_frequencies(cfg: TaskConfig) -> tuple[np.ndarray, np.ndarray]:
    if cfg.profile == "staircase":
        return staircase_probs(cfg.n_items)
    return two_level_probs(cfg.n_items, cfg.head_count, cfg.head_mass)


#: The frequency law of each memory kind of :data:`muonscope.engine.task_kinds.TASK_KINDS`.
FREQUENCIES: dict[str, Callable[[TaskConfig], tuple[np.ndarray, np.ndarray]]] = {
    "zipf": _zipf_frequencies,
    "hierarchical": _hierarchical_frequencies,
    "two_level": _tail_end_frequencies,
}


def task_frequencies(cfg: TaskConfig) -> tuple[np.ndarray, np.ndarray]:
    """Item probabilities in rank order and the frequency group of each item."""
    return FREQUENCIES[cfg.kind](cfg)


def _first_group_size(group_starts: np.ndarray) -> int:
    """Where a grouped task's spectrum breaks: after its first (most frequent) group."""
    return int(group_starts[1]) if group_starts.size > 1 else 1


def noisy_target_entropy(n_items: int, label_noise: float) -> float:
    """H(p(·|j)) for p(i|j) = (1−ε)1[i=j] + ε/N: the irreducible loss of every query."""
    if label_noise == 0:
        return 0.0
    own = 1.0 - label_noise + label_noise / n_items
    other = label_noise / n_items
    return -(own * math.log(own) + (n_items - 1) * other * math.log(other))


class MemoryTask(Task):
    """Embeddings, frequencies and the seeded minibatch stream of one memory task.

    ``exact_eval_items``: up to this N the population evaluation is exact; beyond it a minibatch
    run evaluates a seeded stratified sample of that many items (see :meth:`evaluate`).
    """

    def __init__(
        self,
        cfg: TaskConfig,
        device: torch.device,
        dtype: torch.dtype,
        exact_eval_items: int = EXACT_EVAL_ITEMS,
    ) -> None:
        gen = torch.Generator().manual_seed(cfg.seed)
        inputs, outputs = make_embeddings(cfg.embeddings, cfg.n_items, cfg.d, gen, cfg.anisotropy)
        self.inputs = inputs.to(device, dtype)  # (N, d) rows e_i
        self.outputs = outputs.to(device, dtype)  # (N, d) rows u_k
        probs, group_of_item = task_frequencies(cfg)
        self.probs_np = probs
        self.probs = torch.from_numpy(probs).to(device, dtype)  # (N,)
        self.group_of_item = group_of_item
        self.group_starts = np.flatnonzero(np.diff(group_of_item, prepend=-1))
        self.weight_shape = cfg.weight_shape
        self.n_items = cfg.n_items
        self.label_noise = cfg.label_noise
        self.batch_size = cfg.batch_size
        own_rank = TASK_KINDS[cfg.kind].signal_rank
        self._signal_rank = own_rank(cfg) if own_rank is not None else _first_group_size(self.group_starts)
        self._sampler = BatchSampler(probs, cfg.seed + _BATCH_STREAM)
        self.last_batch: Batch | None = None
        self._workspace = torch.empty(0, dtype=dtype, device=device)  # grown once, reused by every pass
        self._geometry: TaskGeometry | None = None
        self.exact_eval_items = exact_eval_items
        self._seed = cfg.seed
        self._sample: StratifiedSample | None = None  # drawn on first use, the same at every evaluation

    @property
    def exact_gradients(self) -> bool:
        return self.batch_size == 0

    @property
    def cheap_signal(self) -> bool:
        return False

    @property
    def signal_rank(self) -> int:
        """The kind's own rank where its config decides it (zipf), else the first group's size."""
        return self._signal_rank

    @property
    def bases(self) -> tuple[Tensor, Tensor]:
        return self.outputs, self.inputs

    @property
    def geometry(self) -> TaskGeometry:
        """Bases and Newton factors for the oracle rules (computed on first use)."""
        if self._geometry is None:
            self._geometry = task_geometry(self.outputs, self.inputs, self.probs)
        return self._geometry

    def set_live(self, name: str, value: Any) -> None:
        if name == "label_noise":
            self.label_noise = value
        elif name == "batch_size":
            self.batch_size = value
        else:
            raise KeyError(name)

    def random_state(self) -> dict[str, Tensor]:
        return {"batch_generator": self._sampler.generator_state}

    def set_random_state(self, state: dict[str, Tensor]) -> None:
        self._sampler.set_generator_state(state["batch_generator"])

    def draw_gradients(
        self,
        weights: Tensor,
        at_zero: bool | None = None,
        check: Callable[[], None] | None = None,
        thresholded: Tensor | None = None,
    ) -> tuple[Tensor, Tensor]:
        """At W = 0 no item is recovered (every logit ties), so thresholding changes nothing there."""
        self.last_gradient_factors = None
        if self.exact_gradients:
            self.last_batch = None
            if _all_zero(weights, at_zero):
                return self._gradient_at_zero(weights), self._loss_at_zero(weights)
            result = self._pass(weights, self._population(), check=check, thresholded=thresholded)
            self.last_gradient_factors = result.grad_factors
            return result.grad, result.loss
        batch = self._sampler.draw(self.batch_size, self.label_noise)
        self.last_batch = batch
        queries = minibatch_queries(batch.items, batch.labels, weights.dtype).to(self.inputs.device)
        result = self._pass(weights, queries, check=check, thresholded=thresholded)
        self.last_gradient_factors = result.grad_factors
        return result.grad, result.loss

    def signal_gradients(
        self, weights: Tensor, at_zero: bool | None = None, thresholded: Tensor | None = None
    ) -> Tensor:
        if _all_zero(weights, at_zero):
            return self._gradient_at_zero(weights)
        return self._pass(weights, self._population(), thresholded=thresholded).grad

    @property
    def evaluation_sample(self) -> StratifiedSample | None:
        """The items a population evaluation looks at now; None when it looks at every item.

        Exact up to ``exact_eval_items`` items, and always with exact gradients: each of their steps
        pays for the full pass, which the evaluation shares. Otherwise a stratified sample of
        ``exact_eval_items`` items drawn once from the task's seed, so every evaluation of a run
        follows the same items and its curves do not jitter from one sample to the next.
        """
        if self.exact_gradients or self.n_items <= self.exact_eval_items:
            return None
        if self._sample is None:
            self._sample = draw_stratified(
                self.probs_np, self.group_starts, self.exact_eval_items, self._seed
            )
        return self._sample

    def evaluate(
        self,
        weights: Tensor,
        with_signal: bool = True,
        at_zero: bool | None = None,
        check: Callable[[], None] | None = None,
        thresholded: Tensor | None = None,
    ) -> tuple[Evaluation, Tensor | None]:
        """Population metrics of every lane, exact or estimated from :attr:`evaluation_sample`.

        A sampled evaluation computes no signal gradient: the population gradient is a full pass,
        the very cost the sample avoids.
        """
        if _all_zero(weights, at_zero):
            signal = self._gradient_at_zero(weights) if with_signal else None
            return self._evaluation_at_zero(weights.shape[0]), signal
        sample = self.evaluation_sample
        if sample is None:
            result = self._pass(weights, self._population(), True, with_signal, check, thresholded)
            return self._exact_evaluation(result), result.grad
        items = torch.from_numpy(sample.items).to(self.inputs.device)
        queries = item_queries(self.probs, items, self.label_noise)
        result = self._pass(weights, queries, True, False, check)
        return self._sampled_evaluation(result, sample), None

    def _exact_evaluation(self, result: MemoryPass) -> Evaluation:
        loss, item_loss, correct, recovered = _to_host(result)
        found = recovered > 0.5  # (L, N)
        return Evaluation(
            loss=loss,
            excess_loss=loss - noisy_target_entropy(self.n_items, self.label_noise),
            accuracy=_probability(recovered @ self.probs_np),
            recovered=recovered.sum(axis=1),
            recovered_prefix=_first_false(found),
            class_error=1.0 - correct,
            item_recovered=recovered,
            group_loss=_group_means(item_loss, self.group_of_item),
            group_error=_group_means(1.0 - correct, self.group_of_item),
            balance_gap=correct.max(axis=1) - correct.min(axis=1),
        )

    def _sampled_evaluation(self, result: MemoryPass, sample: StratifiedSample) -> Evaluation:
        """Unbiased estimates of the population metrics from exact metrics of the sampled items."""
        _, item_loss, correct, recovered = _to_host(result)  # (L, n) each
        probs = self.probs_np[sample.items]  # (n,)
        count, count_se = estimate_indicator_total(sample, recovered)
        accuracy, accuracy_se = estimate_indicator_total(sample, recovered, probs)
        loss, loss_se = estimate_totals(sample, item_loss * probs)
        group_loss, group_loss_se = estimate_group_means(sample, item_loss, self.group_of_item)
        group_error, _ = estimate_group_means(sample, 1.0 - correct, self.group_of_item)
        first_failed = np.where(recovered < 0.5, sample.items, self.n_items).min(axis=1)  # (L,)
        return Evaluation(
            loss=loss,
            excess_loss=loss - noisy_target_entropy(self.n_items, self.label_noise),
            accuracy=_probability(accuracy),
            recovered=count,
            recovered_prefix=first_failed,
            class_error=self._spread(1.0 - correct, sample),
            item_recovered=self._spread(recovered, sample),
            group_loss=group_loss,
            group_error=group_error,
            balance_gap=correct.max(axis=1) - correct.min(axis=1),
            sampled_items=sample.size,
            loss_se=loss_se,
            accuracy_se=accuracy_se,
            recovered_se=count_se,
            group_loss_se=group_loss_se,
        )

    def _spread(self, values: np.ndarray, sample: StratifiedSample) -> np.ndarray:
        """(L, n) values of the sampled items as (L, N), NaN at the items not evaluated."""
        full = np.full((values.shape[0], self.n_items), np.nan)
        full[:, sample.items] = values
        return full

    # ---- W = 0, where every logit ties and everything has a closed form ------------------------

    def _gradient_at_zero(self, weights: Tensor) -> Tensor:
        """∇L(0) = (1−ε) Σ_i p_i (ū − u_i) e_iᵀ: the softmax is uniform, so no N×N pass is needed."""
        mean_out = self.outputs.mean(dim=0)  # (d,) ū
        weighted_in = self.inputs.T @ self.probs  # (d,) Σ p_i e_i
        hebbian = (self.outputs.T * self.probs) @ self.inputs  # (d, d) Σ p_i u_i e_iᵀ
        grad = (1.0 - self.label_noise) * (torch.outer(mean_out, weighted_in) - hebbian)
        return grad.expand(weights.shape[0], -1, -1).clone()

    def _loss_at_zero(self, weights: Tensor) -> Tensor:
        return torch.full(
            (weights.shape[0],), math.log(self.n_items), dtype=weights.dtype, device=weights.device
        )

    def _evaluation_at_zero(self, lanes: int) -> Evaluation:
        """Uniform predictions: loss log N for every query, p̂(correct) = 1/N, nothing recovered."""
        n, groups = self.n_items, int(self.group_of_item.max()) + 1
        loss = np.full(lanes, math.log(n))
        return Evaluation(
            loss=loss,
            excess_loss=loss - noisy_target_entropy(n, self.label_noise),
            accuracy=np.zeros(lanes),
            recovered=np.zeros(lanes),
            recovered_prefix=np.zeros(lanes, dtype=np.int64),
            class_error=np.full((lanes, n), 1.0 - 1.0 / n),
            item_recovered=np.zeros((lanes, n)),
            group_loss=np.full((lanes, groups), math.log(n)),
            group_error=np.full((lanes, groups), 1.0 - 1.0 / n),
            balance_gap=np.zeros(lanes),
        )

    def _pass(
        self,
        weights: Tensor,
        queries: QueryBatch,
        want_columns: bool = False,
        want_grad: bool = True,
        check: Callable[[], None] | None = None,
        thresholded: Tensor | None = None,
    ) -> MemoryPass:
        lanes = weights.shape[0]
        needed = lanes * self.n_items * chunk_columns(self.n_items, lanes, queries.items.shape[0])
        if self._workspace.numel() < needed:
            self._workspace = torch.empty(needed, dtype=weights.dtype, device=weights.device)
        return memory_pass(
            self.outputs,
            self.inputs,
            weights,
            queries,
            want_grad=want_grad,
            want_columns=want_columns,
            workspace=self._workspace,
            check=check,
            leave_out_recovered=thresholded,
        )

    def _population(self) -> QueryBatch:
        return population_queries(self.probs, self.label_noise)


def _all_zero(weights: Tensor, known: bool | None = None) -> bool:
    """Whether every W is 0: ``known`` when the caller says, else looked up (a device sync)."""
    return known if known is not None else not bool(torch.any(weights))


def task_geometry(outputs: Tensor, inputs: Tensor, probs: Tensor) -> TaskGeometry:
    """C_u⁺ and C_e⁺ of the Hessian at W = 0, C_u = (1/N)UᵀU − ūūᵀ and C_e = Eᵀ diag(p) E."""
    mean = outputs.mean(dim=0)  # (d,)
    c_u = outputs.T @ outputs / outputs.shape[0] - torch.outer(mean, mean)  # (d, d)
    c_e = (inputs.T * probs) @ inputs  # (d, d)
    rtol = max(_PINV_RTOL, _PINV_ROUND_OFFS * torch.finfo(outputs.dtype).eps)
    return TaskGeometry(
        answers=outputs,
        queries=inputs,
        newton_left=torch.linalg.pinv(c_u, hermitian=True, rtol=rtol),
        newton_right=torch.linalg.pinv(c_e, hermitian=True, rtol=rtol),
    )


def _to_host(result: MemoryPass) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(loss (L,), item loss, p̂(correct), recovered as 0/1 (L, m) each) in float64, in one transfer.

    Each transfer from a GPU is a synchronisation, so everything the host needs travels packed.
    """
    lanes, width = result.column_loss.shape
    columns = torch.stack([result.column_loss, result.correct_prob, result.recovered.to(result.loss.dtype)])
    packed = np.asarray(torch.cat([result.loss, columns.flatten()]).cpu().numpy(), dtype=np.float64)
    item_loss, correct, recovered = packed[lanes:].reshape(3, lanes, width)
    return packed[:lanes], item_loss, correct, recovered


def _first_false(flags: np.ndarray) -> np.ndarray:
    """Index of the first False in each row (the row length when all are True)."""
    failed = ~flags
    return np.where(failed.any(axis=1), failed.argmax(axis=1), flags.shape[1])


def _group_means(values: np.ndarray, group_of_item: np.ndarray) -> np.ndarray:
    """Mean of (L, N) values within each group: (L, groups)."""
    counts = np.bincount(group_of_item)
    sums = np.stack([np.bincount(group_of_item, weights=row) for row in values])
    return sums / counts


def _probability(mass: np.ndarray) -> np.ndarray:
    """A sum of item probabilities, within [0, 1]: summed in another order than the table was
    normalised in, every item's mass came to 1.000000000000001 (tail_multi_step_isotropy)."""
    return np.clip(mass, 0.0, 1.0)
