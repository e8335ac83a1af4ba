"""A sweep point computed at one torch thread (as every point is, wherever it runs) beside the same
point at this process's thread count (as ``--workers 1`` computed it before), in one run: what the
same numbers everywhere cost a single-worker sweep (no assertions; prints a table).

    python benchmarks/point_threads.py [--preset default] [--set task.d=128] [--steps 40]
           [--threads 2] [--rounds 3]

The two take turns over ``--rounds`` rounds so that a noisy machine weighs on both alike; the table
gives each one's median seconds and the ratio, and whether their losses agree to the bit.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from muonscope.app.config_args import overrides
from muonscope.engine.presets import load_preset
from muonscope.engine.sweep import SweepPoint
from muonscope.engine.sweep_point import compute_point, run_point


def _point(preset: str, settings: list[str], steps: int) -> SweepPoint:
    config = load_preset(preset).config.with_values(overrides(settings))
    return SweepPoint(config, steps=steps, coords=(("bench", 0),))


def _at_threads(point: SweepPoint, threads: int) -> tuple[float, list]:
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        start = time.perf_counter()
        lanes, _ = run_point(point)
        return time.perf_counter() - start, lanes
    finally:
        torch.set_num_threads(before)


def _one_thread(point: SweepPoint) -> tuple[float, list]:
    start = time.perf_counter()
    lanes, _, _ = compute_point(point)
    return time.perf_counter() - start, lanes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="default")
    parser.add_argument("--set", action="append", default=None, help="default: task.d=128, task.n_items=4096")
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    args.set = args.set or ["task.d=128", "task.n_items=4096"]
    point = _point(args.preset, args.set, args.steps)
    one, many, same = [], [], True
    for _ in range(args.rounds):
        seconds, lanes_one = _one_thread(point)
        one.append(seconds)
        seconds, lanes_many = _at_threads(point, args.threads)
        many.append(seconds)
        same = same and lanes_one == lanes_many
    print(f"{args.preset} {' '.join(args.set)}, {args.steps} steps, median of {args.rounds} rounds")
    print(f"  one thread (every point now)      {statistics.median(one):7.2f} s")
    print(f"  {args.threads} threads (--workers 1 before)   {statistics.median(many):7.2f} s")
    print(f"  ratio one / {args.threads}: {statistics.median(one) / statistics.median(many):.2f}")
    print(f"  losses equal to the bit: {same}")


if __name__ == "__main__":
    main()
