"""The baseline every engine benchmark runs beside: the same training written plainly in PyTorch.

What one would write without muonscope: one parameter per lane, autograd for the gradient (softmax
cross-entropy over all N outputs for each of the B draws) and torch.optim for the update — SGD and
Adam from torch.optim, exact-polar Muon as a minimal torch.optim.Optimizer (torch.optim.Muon only
offers bfloat16 Newton–Schulz) — and, at the spectra cadence, torch.linalg.svdvals of each lane's
G, M, update and W. It consumes the same minibatches as the engine, from the same sampler.
"""

from __future__ import annotations

import muonscope as _settings_first  # noqa: F401  its OpenMP default is set before torch loads

# isort: split

import time

import torch

from muonscope.engine.tasks.memory_task import MemoryTask
from muonscope.engine.tasks.sampler import BatchSampler

__all__ = ["ExactMuon", "PlainLoop", "matmul_gflops", "side_by_side", "steps_per_second"]

#: The engine's offset between the embedding stream and the minibatch stream of one seed.
BATCH_STREAM = 0x5EED


class ExactMuon(torch.optim.Optimizer):
    """Muon with the exact polar factor (torch's SVD), EMA momentum before (pre) or after (post) it."""

    def __init__(self, params, lr: float, momentum: float, order: str) -> None:
        super().__init__(params, {"lr": lr, "momentum": momentum, "order": order})

    @staticmethod
    def _polar(x: torch.Tensor) -> torch.Tensor:
        u, s, vh = torch.linalg.svd(x, full_matrices=False)
        keep = (s > s[:1] * max(1e-12, torch.finfo(s.dtype).eps)).to(x.dtype)
        return (u * keep) @ vh

    @torch.no_grad()
    def step(self) -> None:
        for group in self.param_groups:
            mu, order = group["momentum"], group["order"]
            for p in group["params"]:
                buf = self.state[p].setdefault("buf", torch.zeros_like(p))
                if order == "pre":
                    buf.lerp_(p.grad, 1 - mu)
                    p.add_(self._polar(buf), alpha=-group["lr"])
                else:
                    buf.lerp_(self._polar(p.grad), 1 - mu)
                    p.add_(buf, alpha=-group["lr"])


def plain_optimizer(lane, param: torch.Tensor) -> torch.optim.Optimizer:
    """The torch.optim counterpart of one lane."""
    if lane.optimizer == "sgd":
        return torch.optim.SGD([param], lr=lane.lr, momentum=lane.momentum, nesterov=lane.nesterov)
    if lane.optimizer == "adam":
        return torch.optim.Adam([param], lr=lane.lr, betas=(lane.momentum, lane.beta2), eps=lane.eps)
    if lane.optimizer == "muon" and lane.polar == "exact" and not lane.nesterov:
        return ExactMuon([param], lr=lane.lr, momentum=lane.momentum, order=lane.order)
    raise SystemExit(f"no plain-loop counterpart for lane {lane}")


class PlainLoop:
    """A config's training written directly with autograd and torch.optim, on one device and dtype."""

    def __init__(self, config, spectra_every: int = 0, device: str = "cpu", dtype=torch.float64) -> None:
        self.task = MemoryTask(config.task, torch.device(device), dtype)
        self.sampler = BatchSampler(self.task.probs_np, config.task.seed + BATCH_STREAM)
        d = config.task.d
        self.params = [
            torch.zeros(d, d, dtype=dtype, device=device, requires_grad=True) for _ in config.lanes
        ]
        self.opts = [plain_optimizer(lane, p) for lane, p in zip(config.lanes, self.params, strict=True)]
        self.batch_size, self.noise = config.task.batch_size, config.task.label_noise
        self.spectra_every, self.steps = spectra_every, 0

    def step(self) -> None:
        batch = self.sampler.draw(self.batch_size, self.noise)
        device = self.task.inputs.device
        e_b = self.task.inputs[batch.items.to(device)]  # (B, d)
        labels = batch.labels.to(device)
        self.steps += 1
        spectra = self.spectra_every and self.steps % self.spectra_every == 0
        for param, opt in zip(self.params, self.opts, strict=True):
            opt.zero_grad()
            logits = e_b @ param.T @ self.task.outputs.T  # (B, N)
            torch.nn.functional.cross_entropy(logits, labels).backward()
            before = param.detach().clone() if spectra else None
            opt.step()
            if spectra:
                state = opt.state[param]
                buffer = state.get("momentum_buffer", state.get("exp_avg", state.get("buf")))
                for matrix in (param.grad, buffer, before - param.detach(), param.detach()):
                    torch.linalg.svdvals(matrix.double()).cpu()

    def synchronize(self) -> None:
        if self.task.inputs.is_cuda:
            torch.cuda.synchronize()


def steps_per_second(step, steps: int, warmup: int = 3, synchronize=lambda: None) -> float:
    """Steps per second of ``step`` after ``warmup`` untimed ones, waiting for the device at both ends."""
    for _ in range(warmup):
        step()
    synchronize()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    synchronize()
    return steps / (time.perf_counter() - start)


def side_by_side(ours, theirs, steps: int, rounds: int = 10) -> tuple[float, float, float]:
    """(our steps/s, their steps/s, median ratio) from ``rounds`` alternating blocks of steps.

    On a shared machine the load drifts within seconds: timing one loop after the other put the
    ratio anywhere from 2.3 to 2.5 on the same code. Blocks that alternate see the same drift, so
    the median of the per-round ratios is what the code does, not what the neighbours did.
    """
    block = max(1, steps // rounds)
    ours_rates, theirs_rates = [], []
    for _ in range(rounds):
        ours_rates.append(steps_per_second(ours, block, warmup=1))
        theirs_rates.append(steps_per_second(theirs, block, warmup=1))
    ratios = sorted(a / b for a, b in zip(ours_rates, theirs_rates, strict=True))
    return (
        sorted(ours_rates)[rounds // 2],
        sorted(theirs_rates)[rounds // 2],
        (ratios[(rounds - 1) // 2] + ratios[rounds // 2]) / 2,
    )


def matmul_gflops(n: int = 1024, dtype=torch.float64, device: str = "cpu", repeats: int = 5) -> float:
    """The device's measured matmul rate in ``dtype``: the ceiling for the gradient pass."""
    a = torch.randn(n, n, dtype=dtype, device=device)
    a @ a
    if a.is_cuda:
        torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(repeats):
        a @ a
    if a.is_cuda:
        torch.cuda.synchronize()
    return 2 * n**3 * repeats / (time.perf_counter() - start) / 1e9
