"""What a background sweep costs the live run: steps per second with no sweep, with a sweep at the
window's own priority, and with the sweep's workers at the lower priority the window gives them.

The engine shares the machine as the app makes it (engine.thread_count: its thread count chosen by
timing, its thread ENGINE_NICE behind the window's). ``--nices`` lists the sweep priorities to try.
The default preset plays at full speed in the real window (offscreen unless a display is set) while
the capacity panel's d-sweep of the same settings runs in worker processes (one per core, the cache
not used). Steps per second are measured over the same span in each condition, once the workers
have started, in interleaved rounds (a machine shared with others drifts).

Usage: python benchmarks/live_rate_under_sweep.py [--seconds 15] [--warmup 5] [--rounds 3] [--nices 0,15]
"""

from __future__ import annotations

import muonscope as _settings_first  # noqa: F401  its OpenMP default is set before torch loads

# isort: split

import argparse
import dataclasses
import os
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import torch
from PySide6 import QtCore, QtWidgets

from muonscope.app.background import Job
from muonscope.app.capacity_controller import SWEEP_NICE
from muonscope.app.composition import App, keep_startup_objects_out_of_collections
from muonscope.engine.presets import load_preset
from muonscope.engine.sweep import SweepRunner
from muonscope.engine.sweep_plans import plan
from muonscope.engine.sweep_workers import usable_cores
from muonscope.engine.thread_count import ThreadChooser, share_cores_with_a_window


def run_for(seconds: float) -> None:
    loop = QtCore.QEventLoop()
    QtCore.QTimer.singleShot(int(seconds * 1000), loop.quit)
    loop.exec()


def steps_per_s(app: App, seconds: float) -> float:
    start_step, start = app.clock.newest.step, time.perf_counter()
    run_for(seconds)
    return (app.clock.newest.step - start_step) / (time.perf_counter() - start)


def sweep_body(points, nice: int):
    """The window's sweep job (capacity_controller.sweep_body) without the cache: every point computes."""

    def body(control):
        runner = SweepRunner(points, nice=nice, use_cache=False)
        control.on_cancel(runner.cancel)
        yield from runner

    return body


def measure(app: App, nice: int | None, seconds: float, warmup: float) -> tuple[float, str]:
    """Steps/s of the live run; ``nice`` None: no sweep, else a sweep whose workers are that much nicer."""
    if nice is None:
        run_for(warmup)
        return steps_per_s(app, seconds), ""
    done = [0]
    points = plan(app.clock.config, "d") * 16  # long enough to outlast the measurement
    job = Job(sweep_body(points, nice), "benchmark-sweep")
    job.yielded.connect(lambda _result: done.__setitem__(0, done[0] + 1))
    job.start()
    run_for(warmup)  # the workers import torch and start computing
    rate = steps_per_s(app, seconds)
    running = job.running
    job.stop(10_000)
    return rate, f"sweep {'still running' if running else 'FINISHED EARLY'}, {done[0]}/{len(points)} points"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--warmup", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--nices", default=f"0,{SWEEP_NICE}", help="sweep workers' nice values to try")
    args = parser.parse_args()
    qt = QtWidgets.QApplication.instance() or QtWidgets.QApplication([])
    preset = load_preset("default")
    endless = preset.config.with_value("run.steps", 1_000_000)  # playing never pauses at the run's end
    share_cores_with_a_window(usable_cores())  # as the app does
    threads = ThreadChooser.beside_a_window(usable_cores())
    app = App(dataclasses.replace(preset, config=endless), threads=threads)
    app.window.resize(1280, 720)
    app.window.show()
    keep_startup_objects_out_of_collections()  # as the app does
    app.start()
    app.intents.play(True)
    while app.clock.newest is None:
        qt.processEvents(QtCore.QEventLoop.ProcessEventsFlag.AllEvents, 50)
    print(
        f"default preset playing, 1280x720, {os.cpu_count()} cores, torch threads {torch.get_num_threads()}"
    )
    nices = [int(n) for n in args.nices.split(",")]
    conditions = (("no sweep", None), *((f"sweep, nice {n}", n) for n in nices))
    for round_ in range(1, args.rounds + 1):  # interleaved: a machine shared with others drifts
        base = None
        for name, nice in conditions:
            rate, state = measure(app, nice, args.seconds, args.warmup)
            base = base or rate
            row = f"round {round_}  {name:<16} {rate:8.1f} steps/s  {rate / base:5.2f}x  {state}"
            print(f"{row}  (engine threads {threads.threads})", flush=True)
    app.intents.play(False)
    app.window.close()


if __name__ == "__main__":
    main()
