"""Engine steps/s at growing sizes against the plain PyTorch loop, on the CPU and on CUDA when present.

Four lanes of the reference scenario (SGD, Adam, Muon pre, Muon post, exact polar factor) on a Zipf
memory of d × d with N = 64·d items, B = 1024 draws per step, spectra every 10 steps, population
evaluation off (it is measured by ui_latency.py). For each device, dtype and size the engine and
the plain loop (benchmarks/plain_loop.py) run in the same process on the same minibatches; the
table gives both rates, their ratio, the share of the device's measured matmul rate that the
engine's gradient pass reaches, and how long a float64 SVD of one d × d matrix takes on the CPU and
on the device (the engine's spectra go to whichever is faster).

Each cell runs at least ``--steps`` steps or ``--seconds`` seconds, whichever comes first, so the
big sizes finish on a small machine; cells that would not fit in memory are skipped with a note.

Usage: python benchmarks/scale.py [--sizes 256,512,1024,2048,4096] [--devices cpu,cuda] [--steps 20]
"""

from __future__ import annotations

import muonscope as _settings_first  # noqa: F401  its OpenMP default is set before torch loads

# isort: split

import argparse
import time

import torch
from plain_loop import PlainLoop, matmul_gflops

from muonscope.engine import Experiment
from muonscope.engine.errors import ConfigError
from muonscope.engine.presets import load_preset

ITEMS_PER_DIM = 64
BATCH = 1024
SPECTRA_EVERY = 10


def scaled_config(d: int, device: str, dtype: str):
    base = load_preset("default").config
    return base.with_values(
        [
            ("task.d", d),
            ("task.n_items", ITEMS_PER_DIM * d),
            ("task.batch_size", BATCH),
            ("run.eval_every", 10**9),
            ("run.spectra_every", SPECTRA_EVERY),
            ("run.device", device),
            ("run.dtype", dtype),
        ]
    )


def timed_rate(step, synchronize, steps: int, seconds: float) -> float:
    """Steps/s over at least two steps, up to ``steps`` or ``seconds``, after one untimed step."""
    step()
    synchronize()
    start, done = time.perf_counter(), 0
    while done < 2 or (done < steps and time.perf_counter() - start < seconds):
        step()
        done += 1
    synchronize()
    return done / (time.perf_counter() - start)


def svd_ms(d: int, device: str) -> float:
    x = torch.randn(d, d, dtype=torch.float64, device=device)
    torch.linalg.svdvals(x).cpu()
    start = time.perf_counter()
    torch.linalg.svdvals(x).cpu()
    return 1e3 * (time.perf_counter() - start)


def gradient_gflop(config, distinct: float) -> float:
    """Matmul FLOPs of one step's gradient pass: per lane and distinct item, 4d² + 4Nd."""
    d, n = config.task.d, config.task.n_items
    return len(config.lanes) * distinct * (4 * d * d + 4 * n * d) / 1e9


def measure(d: int, device: str, dtype: str, args) -> str:
    config = scaled_config(d, device, dtype)
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    try:
        engine = Experiment(config)
    except ConfigError as error:
        return f"{d:>5} {config.task.n_items:>7}  skipped: {error}"
    ours = timed_rate(engine.step, sync, args.steps, args.seconds)
    distinct = float(torch.unique(engine.task.last_batch.items).numel())
    del engine
    plain = PlainLoop(config, SPECTRA_EVERY, device, getattr(torch, dtype))
    theirs = timed_rate(plain.step, sync, args.steps, args.seconds)
    del plain
    peak = matmul_gflops(1024, getattr(torch, dtype), device)
    share = gradient_gflop(config, distinct) * ours / peak
    cpu_svd = svd_ms(d, "cpu") if d <= args.max_cpu_svd else float("nan")
    device_svd = svd_ms(d, device) if device != "cpu" else cpu_svd
    return (
        f"{d:>5} {config.task.n_items:>7} {ours:9.2f} {theirs:9.2f} {ours / theirs:6.2f}x "
        f"{100 * share:6.1f}% {cpu_svd:9.1f} {device_svd:9.1f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="256,512,1024,2048,4096")
    parser.add_argument("--devices", default="cpu,cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--steps", type=int, default=20, help="most timed steps per cell")
    parser.add_argument("--seconds", type=float, default=20.0, help="most seconds per cell and side")
    parser.add_argument("--max-cpu-svd", type=int, default=4096, help="largest d whose CPU SVD is timed")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} CPU threads; 4 lanes, B = {BATCH}, "
        f"N = {ITEMS_PER_DIM}·d, spectra every {SPECTRA_EVERY} steps, evaluation off"
    )
    for device in args.devices.split(","):
        dtype = "float32" if device == "cuda" else "float64"
        name = torch.cuda.get_device_name() if device == "cuda" else "CPU"
        print(f"\n{name} ({device}, {dtype})")
        print(
            f"{'d':>5} {'N':>7} {'engine':>9} {'plain':>9} {'ratio':>7} {'matmul':>7} "
            f"{'svd cpu':>9} {'svd dev':>9}"
        )
        print(f"{'':>5} {'':>7} {'steps/s':>9} {'steps/s':>9} {'':>7} {'share':>7} {'ms':>9} {'ms':>9}")
        for d in sizes:
            print(measure(d, device, dtype, args), flush=True)


if __name__ == "__main__":
    main()
