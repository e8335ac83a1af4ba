"""Step N in the window: seconds to arrive and frames drawn on the way, per cap on a jump's frame rate,
beside the same steps taken headless (no window), in one run (no assertions; prints a table).

    python benchmarks/step_jump.py [--preset default] [--set task.d=32] [--steps 300]
           [--caps 0,0.2] [--rounds 2]

Each cap is ``app.frame_clock.JUMP_FRAME_INTERVAL_S`` (0: a frame on every tick that has a new
step, as while playing), set in its own process; the real window (offscreen unless a display is
set) opens the preset with the auto thread count, waits for its first frame, then takes Step N and
waits for the engine's Nth snapshot. The capacity panel's background sweep is stopped so that only
the jump is measured. Caps take turns over ``--rounds`` rounds so that a noisy machine weighs on
all of them alike; the table gives each one's median and its ratio to the headless rate.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

HEADLESS = "headless"


def _window_child(args) -> dict:
    from live_window import open_window
    from PySide6 import QtWidgets
    from ui_latency import run_for

    from muonscope.app import frame_clock
    from muonscope.engine.sweep_workers import usable_cores
    from muonscope.engine.thread_count import ThreadChooser, share_cores_with_a_window

    frame_clock.JUMP_FRAME_INTERVAL_S = float(args.child)
    threads = ThreadChooser.beside_a_window(usable_cores())
    share_cores_with_a_window(usable_cores())
    qt = QtWidgets.QApplication.instance() or QtWidgets.QApplication([])
    app = open_window(args.preset, args.set, threads)
    while app.clock.newest is None:
        run_for(qt, 0.2)
    app.capacity.stop()
    run_for(qt, 1.0)
    steps, frames = [0], [0]
    app.link.snapshot.connect(lambda snapshot: steps.__setitem__(0, snapshot.step))
    app.clock.frame_drawn.connect(lambda _step: frames.__setitem__(0, frames[0] + 1))
    start = time.perf_counter()
    app.intents.step(args.steps)
    while steps[0] < args.steps:
        run_for(qt, 0.005)
    elapsed = time.perf_counter() - start
    app.shutdown()
    return {"seconds": elapsed, "frames": frames[0]}


def _headless_child(args) -> dict:
    from muonscope.app.config_args import overrides
    from muonscope.engine.presets import load_preset
    from muonscope.engine.session import Session
    from muonscope.engine.sweep_workers import usable_cores
    from muonscope.engine.thread_count import ThreadChooser

    ThreadChooser.beside_a_window(usable_cores()).begin()  # the engine's thread count in the window
    config = load_preset(args.preset).config.with_values(overrides(args.set)).with_value("run.steps", 10**7)
    session = Session(config)  # built and evaluated at W = 0, as the window's first frame waits for
    start = time.perf_counter()
    session.run(args.steps)
    return {"seconds": time.perf_counter() - start, "frames": 0}


def _measure(args, cap: str) -> dict:
    argv = [sys.executable, __file__, "--child", cap, "--preset", args.preset, "--steps", str(args.steps)]
    argv += [f"--set={s}" for s in args.set]
    out = subprocess.run(argv, capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1]
    return json.loads(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="default")
    parser.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE")
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--caps", default="0,0.2", help="seconds between a jump's frames, comma-joined")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--child", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        measure = _headless_child if args.child == HEADLESS else _window_child
        print(json.dumps(measure(args)), flush=True)
        os._exit(0)  # the engine's thread may still be winding down; the numbers are out
    caps = [HEADLESS, *args.caps.split(",")]
    results: dict[str, list[dict]] = {cap: [] for cap in caps}
    for _round in range(args.rounds):
        for cap in caps:
            results[cap].append(_measure(args, cap))
    print(f"preset {args.preset} {' '.join(args.set)}; Step {args.steps}; {os.cpu_count()} cores")
    print(f"{'jump frame cap':>15} {'seconds':>8} {'steps/s':>8} {'frames':>7} {'of headless':>12}")
    headless_s = statistics.median(r["seconds"] for r in results[HEADLESS])
    for cap in caps:
        seconds = statistics.median(r["seconds"] for r in results[cap])
        frames = statistics.median(r["frames"] for r in results[cap])
        label = cap if cap == HEADLESS else f"{float(cap) * 1000:.0f} ms"
        print(
            f"{label:>15} {seconds:8.2f} {args.steps / seconds:8.1f} {frames:7.0f} "
            f"{headless_s / seconds:11.2f}×",
            flush=True,
        )


if __name__ == "__main__":
    main()
