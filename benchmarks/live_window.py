"""The live window at a chosen size: engine steps/s, frames/s, UI lateness and toggle → paint, per
torch thread count.

Each thread count runs in its own process; ``auto`` is what the app does (engine.thread_count:
all cores but one, or all when the engine's steps time clearly faster so): the real window
(offscreen unless a display is set) plays the preset, with any ``--set`` overrides, for ``--seconds``;
the capacity panel's background sweep is stopped so that only the live run is measured. A 10 ms
timer on the UI thread measures how late the event loop serves it (a window that keeps a core
serves it within a few ms); then the momentum order of a lane is toggled ``--toggles`` times and the
time from the click to the first paint that shows the change is recorded.

``--views`` measures each of panel ①'s views in turn (``gradient:steps`` draws G over the steps as a
heat map, redrawn as the run plays), each beside the others in one run.

Usage: python benchmarks/live_window.py [--preset default] [--set task.d=512 --set task.n_items=16384
       --set task.batch_size=1024] [--threads auto,1,2] [--seconds 10] [--toggles 10]
       [--views gradient+momentum,gradient:steps]
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import json
import os
import statistics
import subprocess
import sys
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

TICK_MS = 10


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[int(share * (len(ordered) - 1))] if ordered else float("nan")


def toggle_order(qt, app, toggles: int, watch_type, run_for) -> list[float]:
    """Flip the last lane's momentum order ``toggles`` times while playing; seconds to each paint."""
    watch = watch_type(app)
    app.intents.play(True)
    row = app.views.lanes.rows[-1]  # rows are rebuilt when the lanes change, not on a toggle
    first = row.order.value() or "pre"
    orders = [*[name for name in row.order.buttons if name != first][:1], first]
    for i in range(toggles):
        watch.arm()
        row.order.buttons[orders[i % 2]].click()
        run_for(qt, 1.0)
    app.intents.play(False)
    return watch.latencies


def open_window(preset_name: str, sets: list[str], threads, view: str = "gradient+momentum"):
    """The real window on ``preset_name`` with ``sets`` (a run too long to end), 1600×1000, started
    as the app starts it, with ``threads`` choosing the engine's torch threads."""
    from muonscope.app.composition import App, keep_startup_objects_out_of_collections
    from muonscope.app.config_args import overrides
    from muonscope.engine.presets import load_preset

    preset = load_preset(preset_name)
    config = preset.config.with_values(overrides(sets)).with_value("run.steps", 10**7)
    app = App(dataclasses.replace(preset, config=config), threads=threads)
    app.window.resize(1600, 1000)
    app.window.show()
    app.views.spectrum.set_mode("view", view)
    keep_startup_objects_out_of_collections()  # as the app does
    app.start()
    return app


def child(args) -> dict:
    import torch
    from PySide6 import QtCore, QtWidgets
    from ui_latency import _PaintWatch, run_for

    from muonscope.engine.sweep_workers import usable_cores
    from muonscope.engine.thread_count import ThreadChooser, share_cores_with_a_window

    if args.child == "auto":
        threads = ThreadChooser.beside_a_window(usable_cores())
        share_cores_with_a_window(usable_cores())
    else:
        threads = ThreadChooser.fixed(int(args.child))
        torch.set_num_threads(int(args.child))
    qt = QtWidgets.QApplication.instance() or QtWidgets.QApplication([])
    app = open_window(args.preset, args.set, threads, args.view)
    app.capacity.stop()
    frames = [0]
    app.clock.frame_drawn.connect(lambda _step: frames.__setitem__(0, frames[0] + 1))
    ticks: list[float] = []
    timer = QtCore.QTimer()
    timer.setInterval(TICK_MS)
    timer.timeout.connect(lambda: ticks.append(time.perf_counter()))
    while app.clock.newest is None:  # a big memory takes a while to build and evaluate at W = 0
        run_for(qt, 0.5)
    app.intents.play(True)
    run_for(qt, 2.0)
    app.capacity.stop()
    frames[0], start_step, start = 0, app.clock.newest.step, time.perf_counter()
    timer.start()
    run_for(qt, args.seconds)
    timer.stop()
    elapsed = time.perf_counter() - start
    steps = app.clock.newest.step - start_step
    late = [1000 * (b - a) - TICK_MS for a, b in itertools.pairwise(ticks)]
    toggles = [1000 * t for t in toggle_order(qt, app, args.toggles, _PaintWatch, run_for)]
    app.shutdown()
    return {
        "threads": args.child if args.child != "auto" else f"auto:{threads.threads}",
        "view": args.view,
        "steps_per_s": steps / elapsed,
        "frames_per_s": frames[0] / elapsed,
        "late_p90_ms": percentile(late, 0.9),
        "late_max_ms": max(late, default=float("nan")),
        "toggle_median_ms": statistics.median(toggles) if toggles else float("nan"),
        "toggle_p90_ms": percentile(toggles, 0.9),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="default")
    parser.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE")
    parser.add_argument("--threads", default="auto,1,2")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--toggles", type=int, default=10)
    parser.add_argument("--views", default="gradient+momentum", help="panel ①'s views, comma-joined")
    parser.add_argument("--view", default="gradient+momentum", help=argparse.SUPPRESS)
    parser.add_argument("--child", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args)), flush=True)
        os._exit(0)  # a step may still be computing on the engine's thread; the window is gone
    print(f"preset {args.preset} {' '.join(args.set)}; {os.cpu_count()} cores; {args.seconds:g} s playing")
    head = f"{'view':>18} {'threads':>7} {'steps/s':>8} {'frames/s':>9} {'UI late p90':>12} {'max':>7}"
    print(f"{head} {'toggle→paint':>13} {'p90':>7}")
    for threads, view in itertools.product(args.threads.split(","), args.views.split(",")):
        argv = [sys.executable, __file__, "--child", threads, "--view", view, "--preset", args.preset]
        argv += [f"--set={s}" for s in args.set] + [
            "--seconds",
            str(args.seconds),
            "--toggles",
            str(args.toggles),
        ]
        out = subprocess.run(argv, capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1]
        r = json.loads(out)
        print(
            f"{r['view']:>18} {r['threads']:>7} {r['steps_per_s']:8.2f} {r['frames_per_s']:9.1f} "
            f"{r['late_p90_ms']:10.1f}ms "
            f"{r['late_max_ms']:5.0f}ms {r['toggle_median_ms']:11.0f}ms {r['toggle_p90_ms']:5.0f}ms",
            flush=True,
        )


if __name__ == "__main__":
    main()
