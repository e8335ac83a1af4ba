"""Engine steps/s against a plain PyTorch loop on the reference scenario, in one run.

The plain loop is what one would write without muonscope: one parameter per lane, autograd for
the gradient (softmax cross-entropy over all N outputs for each of the B draws) and torch.optim
for the update — SGD and Adam from torch.optim, the two exact-polar Muon lanes as a minimal
torch.optim.Optimizer (torch.optim.Muon only offers bfloat16 Newton–Schulz). Both consume the same
minibatches from the same sampler, and the script checks that they end at the same weights.

Usage: python benchmarks/engine_speed.py [--steps 150] [--preset default]
"""

from __future__ import annotations

import argparse
import time

import torch

from muonscope.engine import Experiment
from muonscope.engine.optim.polar import polar_exact
from muonscope.engine.presets import load_preset
from muonscope.engine.tasks.memory_task import MemoryTask
from muonscope.engine.tasks.sampler import BatchSampler


class ExactMuon(torch.optim.Optimizer):
    """Muon with the exact polar factor, EMA momentum before (pre) or after (post) the map."""

    def __init__(self, params, lr: float, momentum: float, order: str) -> None:
        super().__init__(params, {"lr": lr, "momentum": momentum, "order": order})

    @torch.no_grad()
    def step(self) -> None:
        for group in self.param_groups:
            mu, order = group["momentum"], group["order"]
            for p in group["params"]:
                state = self.state[p]
                buf = state.setdefault("buf", torch.zeros_like(p))
                if order == "pre":
                    buf.lerp_(p.grad, 1 - mu)
                    p.add_(polar_exact(buf), alpha=-group["lr"])
                else:
                    buf.lerp_(polar_exact(p.grad), 1 - mu)
                    p.add_(buf, alpha=-group["lr"])


def plain_optimizer(lane, param):
    """The torch.optim counterpart of one lane of the reference scenario."""
    if lane.optimizer == "sgd":
        return torch.optim.SGD([param], lr=lane.lr, momentum=lane.momentum, nesterov=lane.nesterov)
    if lane.optimizer == "adam":
        return torch.optim.Adam([param], lr=lane.lr, betas=(lane.momentum, lane.beta2), eps=lane.eps)
    if lane.optimizer == "muon" and lane.polar == "exact" and not lane.nesterov:
        return ExactMuon([param], lr=lane.lr, momentum=lane.momentum, order=lane.order)
    raise SystemExit(f"no plain-loop counterpart for lane {lane}")


class PlainLoop:
    """The reference scenario written directly with autograd and torch.optim."""

    def __init__(self, config, spectra: bool) -> None:
        self.task = MemoryTask(config.task, torch.device("cpu"), torch.float64)
        self.sampler = BatchSampler(self.task.probs_np, config.task.seed + 0x5EED)
        d = config.task.d
        self.params = [torch.zeros(d, d, dtype=torch.float64, requires_grad=True) for _ in config.lanes]
        self.opts = [plain_optimizer(lane, p) for lane, p in zip(config.lanes, self.params, strict=True)]
        self.batch_size, self.noise, self.spectra = config.task.batch_size, config.task.label_noise, spectra

    def step(self) -> None:
        batch = self.sampler.draw(self.batch_size, self.noise)
        e_b = self.task.inputs[batch.items]  # (B, d)
        for param, opt in zip(self.params, self.opts, strict=True):
            opt.zero_grad()
            logits = e_b @ param.T @ self.task.outputs.T  # (B, N)
            torch.nn.functional.cross_entropy(logits, batch.labels).backward()
            before = param.detach().clone() if self.spectra else None
            opt.step()
            if self.spectra:
                state = opt.state[param]
                buffer = state.get("momentum_buffer", state.get("exp_avg", state.get("buf")))
                for matrix in (param.grad, buffer, before - param.detach(), param.detach()):
                    torch.linalg.svdvals(matrix)


def steps_per_second(step, steps: int, warmup: int = 5) -> float:
    for _ in range(warmup):
        step()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    return steps / (time.perf_counter() - start)


def matmul_gflops(n: int = 1024, repeats: int = 5) -> float:
    """The machine's float64 matmul rate (the ceiling for the engine's gradient pass)."""
    a = torch.randn(n, n, dtype=torch.float64)
    a @ a
    start = time.perf_counter()
    for _ in range(repeats):
        a @ a
    return 2 * n**3 * repeats / (time.perf_counter() - start) / 1e9


def gradient_gflop_per_step(config, steps: int = 50) -> float:
    """Matmul FLOPs of the engine's batched gradient pass, averaged over real minibatches."""
    sampler = BatchSampler(MemoryTask(config.task, torch.device("cpu"), torch.float64).probs_np, 0)
    d, n, lanes = config.task.d, config.task.n_items, len(config.lanes)
    distinct = (
        sum(torch.unique(sampler.draw(config.task.batch_size, 0.0).items).numel() for _ in range(steps))
        / steps
    )
    return lanes * distinct * (4 * d * d + 4 * n * d) / 1e9, distinct


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=150)
    parser.add_argument("--preset", default="default")
    args = parser.parse_args()
    base = load_preset(args.preset).config
    quiet = base.with_values([("run.eval_every", 10**9), ("run.spectra_every", 10**9)])
    spectra = quiet.with_value("run.spectra_every", 1)
    print(
        f"preset {args.preset}: d={base.task.d}, N={base.task.n_items}, B={base.task.batch_size}, "
        f"{len(base.lanes)} lanes, CPU float64, {torch.get_num_threads()} threads"
    )

    engine = Experiment(quiet)
    plain = PlainLoop(quiet, spectra=False)
    rate_engine = steps_per_second(engine.step, args.steps)
    rate_plain = steps_per_second(plain.step, args.steps)
    drift = max(
        float((engine.weights[i] - p.detach()).norm() / p.detach().norm()) for i, p in enumerate(plain.params)
    )
    rate_engine_sp = steps_per_second(Experiment(spectra).step, args.steps)
    rate_plain_sp = steps_per_second(PlainLoop(spectra, spectra=True).step, args.steps)

    peak = matmul_gflops()
    gflop, distinct = gradient_gflop_per_step(quiet)
    print(f"{'':28s}{'engine':>10s}{'plain loop':>12s}{'ratio':>8s}")
    for name, ours, theirs in (
        ("metrics off (steps/s)", rate_engine, rate_plain),
        ("spectra every step (steps/s)", rate_engine_sp, rate_plain_sp),
    ):
        print(f"{name:28s}{ours:10.1f}{theirs:12.1f}{ours / theirs:7.2f}x")
    print(f"same weights after {args.steps + 5} steps: max relative difference {drift:.1e}")
    print(
        f"gradient pass: {distinct:.0f} distinct items per batch of {base.task.batch_size}; "
        f"{gflop * rate_engine:.1f} GFLOP/s of the machine's {peak:.1f} GFLOP/s float64 matmul "
        f"({100 * gflop * rate_engine / peak:.0f}%, whole step counted, SVDs included in the time)"
    )


if __name__ == "__main__":
    main()
