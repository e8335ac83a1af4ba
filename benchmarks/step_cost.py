"""The step-time estimate (engine/step_cost.py) beside measured steps, at sizes from quick to slow.

Each row runs a few steps of the default preset scaled to (d, N, B), with spectra and evaluations
at their cadences, and prints the measured seconds per step, the estimate, and their ratio. The
estimate is what the window and the command line say before a slow run: it should stay within a
small factor of the truth, and err long rather than short.

Usage: python benchmarks/step_cost.py [--steps 4] [--threads 1]
"""

from __future__ import annotations

import muonscope as _settings_first  # noqa: F401  its OpenMP default is set before torch loads

# isort: split

import argparse
import time

import torch

from muonscope.engine import Experiment
from muonscope.engine.presets import load_preset
from muonscope.engine.step_cost import measured_speed, step_cost

#: (d, N, B, spectra_every, eval_every) of each row.
SIZES = (
    (128, 2048, 256, 1, 10),
    (256, 8192, 512, 1, 10),
    (512, 16384, 1024, 1, 10),
    (512, 16384, 1024, 10, 10),
    (1024, 16384, 1024, 1, 10),
    (1024, 65536, 1024, 10, 10),
)


def measured_step_s(config, steps: int) -> float:
    """Seconds per step over ``steps`` steps, after a first one (and the step-0 evaluation)."""
    experiment = Experiment(config)
    experiment.step()
    start = time.perf_counter()
    experiment.step(steps)
    return (time.perf_counter() - start) / steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=4, help="the steps timed per row (after one)")
    parser.add_argument("--threads", type=int, default=1, help="torch's intra-op threads")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    base = load_preset("default").config
    speed = measured_speed("cpu", "float64")
    products, svd_ms = speed.matmul_ops_per_s / 1e9, speed.svd_s * 1e3
    print(f"machine: {products:.1f} GFLOP/s in products; a 256² SVD in {svd_ms:.1f} ms")
    print(_row("d", "N", "B", "spectra", "eval", "measured s", "estimate s", "ratio"))
    for d, n, batch, spectra, evaluation in SIZES:
        config = base.with_values(
            [
                ("task.d", d),
                ("task.n_items", n),
                ("task.batch_size", batch),
                ("run.spectra_every", spectra),
                ("run.eval_every", evaluation),
            ]
        )
        # an average over the steps between evaluations: time a whole cadence where it is short
        steps = max(args.steps, evaluation) if d <= 256 else args.steps
        measured = measured_step_s(config, steps)
        estimate = step_cost(config, speed).total_s
        ratio = f"{estimate / measured:.2f}"
        print(_row(d, n, batch, spectra, evaluation, f"{measured:.3f}", f"{estimate:.3f}", ratio))


def _row(*cells) -> str:
    widths = (5, 6, 5, 7, 4, 10, 10, 6)
    return " ".join(f"{cell:>{width}}" for cell, width in zip(cells, widths, strict=True))


if __name__ == "__main__":
    main()
