"""Engine steps/s against a plain PyTorch loop on the reference scenario, in one run.

The plain loop (benchmarks/plain_loop.py) is what one would write without muonscope: autograd and
torch.optim, one parameter per lane. Both consume the same minibatches from the same sampler, and
the script checks that they end at the same weights.

Usage: python benchmarks/engine_speed.py [--steps 300] [--preset default]
"""

from __future__ import annotations

import muonscope as _settings_first  # noqa: F401  its OpenMP default is set before torch loads

# isort: split

import argparse

import torch
from plain_loop import PlainLoop, matmul_gflops, side_by_side

from muonscope.engine import Experiment
from muonscope.engine.presets import load_preset
from muonscope.engine.tasks.memory_task import MemoryTask
from muonscope.engine.tasks.sampler import BatchSampler


def gradient_gflop_per_step(config, steps: int = 50) -> float:
    """Matmul FLOPs of the engine's batched gradient pass, averaged over real minibatches."""
    sampler = BatchSampler(MemoryTask(config.task, torch.device("cpu"), torch.float64).probs_np, 0)
    d, n, lanes = config.task.d, config.task.n_items, len(config.lanes)
    distinct = (
        sum(torch.unique(sampler.draw(config.task.batch_size, 0.0).items).numel() for _ in range(steps))
        / steps
    )
    return lanes * distinct * (4 * d * d + 4 * n * d) / 1e9, distinct


def same_weights(config, steps: int = 100) -> tuple[float, int]:
    """Largest relative difference between the engine's and the plain loop's W after ``steps``.

    Compared early: an exact-polar lane amplifies round-off in directions at the map's rank floor,
    so over hundreds of steps both drift apart from any third implementation too.
    """
    engine, plain = Experiment(config), PlainLoop(config)
    for _ in range(steps):
        engine.step()
        plain.step()
    drift = max(
        float((engine.weights[i] - p.detach()).norm() / p.detach().norm()) for i, p in enumerate(plain.params)
    )
    return drift, steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--preset", default="default")
    args = parser.parse_args()
    base = load_preset(args.preset).config
    quiet = base.with_values([("run.eval_every", 10**9), ("run.spectra_every", 10**9)])
    spectra = quiet.with_value("run.spectra_every", 1)
    print(
        f"preset {args.preset}: d={base.task.d}, N={base.task.n_items}, B={base.task.batch_size}, "
        f"{len(base.lanes)} lanes, CPU float64, {torch.get_num_threads()} threads"
    )

    drift, compared = same_weights(quiet)
    quiet_rates = side_by_side(Experiment(quiet).step, PlainLoop(quiet).step, args.steps)
    plain_spectra = PlainLoop(spectra, spectra_every=1)
    spectra_rates = side_by_side(Experiment(spectra).step, plain_spectra.step, args.steps)

    peak = matmul_gflops()
    gflop, distinct = gradient_gflop_per_step(quiet)
    print(f"{'':28s}{'engine':>10s}{'plain loop':>12s}{'ratio':>8s}   (medians of 10 alternating rounds)")
    for name, (ours, theirs, ratio) in (
        ("metrics off (steps/s)", quiet_rates),
        ("spectra every step (steps/s)", spectra_rates),
    ):
        print(f"{name:28s}{ours:10.1f}{theirs:12.1f}{ratio:7.2f}x")
    print(f"same weights after {compared} steps: max relative difference {drift:.1e}")
    rate_engine = quiet_rates[0]
    share = 100 * gflop * rate_engine / peak
    busy = " — over 100%: the machine was busy as its matmul rate was measured; run again"
    busy = busy if share > 100 else ""
    print(
        f"gradient pass: {distinct:.0f} distinct items per batch of {base.task.batch_size}; "
        f"{gflop * rate_engine:.1f} GFLOP/s of the machine's {peak:.1f} GFLOP/s float64 matmul "
        f"({share:.0f}%, whole step counted, SVDs included in the time){busy}"
    )
    print("ratio: the median of the rounds' own ratios (each round times both loops back to back)")


if __name__ == "__main__":
    main()
