"""The memory check's estimate against the peak memory a run really reaches, on the CPU.

Each size runs in a fresh process: it builds the run, takes steps through an evaluation and the
spectra (as the window does, with a cancellation check, so each step keeps its undo copy), and
evaluates at the end. The peak is the growth of the resident set's high-water mark (VmHWM, reset
after a small warm-up run has loaded torch's kernels) over the resident set before the run:
torch's allocations are invisible to tracemalloc, but not to the kernel. The estimate should be an
upper bound, and not by much (the check refuses runs by it).

Usage: python benchmarks/memory_estimate.py [--set task.batch_size=3000000 ...] [--preset default]
With no --set, a fixed list of sizes is measured. Linux only (reads /proc/self).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import subprocess
import sys

os.environ.setdefault("OMP_NUM_THREADS", "2")

#: (preset, settings) measured when no --set is given: the default preset, a large batch, a large N,
#: a large d, exact gradients over a large population and a sampled evaluation.
SIZES = [
    ("default", []),
    ("default", ["task.batch_size=3000000"]),
    ("default", ["task.n_items=1000000", "task.d=64", "run.exact_eval_items=512"]),
    ("default", ["task.d=768"]),
    ("one_step_capacity", ["task.n_items=16384"]),
    ("default", ["task.n_items=65536", "task.d=256", "run.exact_eval_items=8192"]),
]


def _status_bytes(key: str) -> int:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith(key):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"{key} not in /proc/self/status")


def measure(preset_name: str, settings: list[str], steps: int, lanes: int = 0) -> dict:
    """Run one size in this process: the estimate and the measured peak growth, in bytes."""
    import torch

    from muonscope.engine.config import ExperimentConfig
    from muonscope.engine.device import estimate_bytes
    from muonscope.engine.experiment import Experiment
    from muonscope.engine.presets import load_preset

    base = load_preset(preset_name).config
    warm = base.with_values([("task.d", 8), ("task.n_items", 16), ("task.batch_size", 8)])
    warm_up = Experiment(warm)  # loads the kernels a run uses; not part of any run's memory
    warm_up.step(2, cancelled=lambda: False)
    del warm_up
    changes = [(key, json.loads(value)) for key, value in (item.split("=", 1) for item in settings)]
    config: ExperimentConfig = base.with_values(changes) if changes else base
    if lanes:  # the preset's lanes, repeated or cut to this many
        config = dataclasses.replace(
            config, lanes=tuple(config.lanes[i % len(config.lanes)] for i in range(lanes))
        )
    config = config.with_values([("run.eval_every", 2), ("run.spectra_every", 1)])
    before = _status_bytes("VmRSS:")
    with open("/proc/self/clear_refs", "w", encoding="ascii") as refs:
        refs.write("5")  # resets VmHWM to the current resident set
    experiment = Experiment(config)
    experiment.step(steps, cancelled=lambda: False)
    experiment.evaluate(with_signal=False)
    peak = _status_bytes("VmHWM:") - before
    return {
        "preset": preset_name,
        "settings": settings,
        "lanes": len(config.lanes),
        "estimate": estimate_bytes(config, torch.float64),
        "peak": peak,
    }


def run_fresh(preset_name: str, settings: list[str], steps: int, lanes: int = 0) -> dict:
    """:func:`measure` in a new interpreter, so no earlier size's memory is counted or reused."""
    command = [sys.executable, __file__, "--one", "--preset", preset_name, "--steps", str(steps)]
    command += ["--lanes", str(lanes)]
    for item in settings:
        command += ["--set", item]
    out = subprocess.run(command, check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="default")
    parser.add_argument("--set", action="append", default=[], dest="settings")
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--lanes", type=int, default=0, help="repeat or cut the preset's lanes to this many")
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure(args.preset, args.settings, args.steps, args.lanes)))
        return
    sizes = [(args.preset, args.settings)] if args.settings else SIZES
    mib = 1024**2
    for preset_name, settings in sizes:
        result = run_fresh(preset_name, settings, args.steps, args.lanes)
        ratio = result["estimate"] / max(result["peak"], 1)
        print(
            f"{preset_name} {' '.join(settings) or '(as shipped)'}, {result['lanes']} lanes: "
            f"estimate {result['estimate'] / mib:.0f} MiB, "
            f"peak {result['peak'] / mib:.0f} MiB, estimate/peak {ratio:.2f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
