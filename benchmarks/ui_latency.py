"""UI speed while the engine plays the default preset, and redraw cost against matplotlib, in one run.

Measures, on the current Qt platform (offscreen when no display is set):
1. frames per second while the engine plays, with a redraw forced on every timer tick (what the
   interface can draw while sharing the machine with the engine), and the engine's steps/s then;
2. toggle → pixels: from a click on a lane's momentum-order button to the first paint of a frame
   whose snapshot contains the change (the engine applies it at its next step boundary);
3. the cost of one redraw of the four panels (new data each time) beside matplotlib (Agg) redrawing
   the same four panels with the same data at the same pixel size.

Usage: python benchmarks/ui_latency.py [--seconds 10] [--toggles 20]
Needs matplotlib (the Makefile's ``bench`` target installs it; it is not a dependency of the app).
"""

from __future__ import annotations

import muonscope as _settings_first  # noqa: F401  its OpenMP default is set before torch loads

# isort: split

import argparse
import os
import statistics
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np
import torch
from PySide6 import QtCore, QtWidgets

from muonscope.app.bucket_history import BucketHistory
from muonscope.app.composition import App, keep_startup_objects_out_of_collections
from muonscope.app.renderer import Renderer
from muonscope.engine import Experiment
from muonscope.engine.history import MetricHistory
from muonscope.engine.presets import load_preset

SIZE = (1600, 1000)


def run_for(app: QtWidgets.QApplication, seconds: float) -> None:
    loop = QtCore.QEventLoop()
    QtCore.QTimer.singleShot(int(seconds * 1000), loop.quit)
    loop.exec()


def forced_fps(app, muonscope: App, seconds: float) -> tuple[float, float]:
    """Redraw every tick while playing: (frames/s, engine steps/s)."""
    clock = muonscope.clock
    frames = [0]
    clock.frame_drawn.connect(lambda _step: frames.__setitem__(0, frames[0] + 1))
    force = QtCore.QTimer()
    force.setInterval(1)
    force.timeout.connect(clock.request_frame)
    muonscope.intents.play(True)
    run_for(app, 1.5)
    frames[0] = 0
    start_step, start = clock.newest.step, time.perf_counter()
    force.start()
    run_for(app, seconds)
    force.stop()
    elapsed = time.perf_counter() - start
    steps = clock.newest.step - start_step
    muonscope.intents.play(False)
    run_for(app, 0.3)
    return frames[0] / elapsed, steps / elapsed


class _PaintWatch(QtCore.QObject):
    """Times the first paint of the series panel after a frame that shows a given event count."""

    def __init__(self, muonscope: App) -> None:
        super().__init__()
        self.clock = muonscope.clock
        self.clicked_at = 0.0
        self.events_before = 0
        self.frame_ready = False
        self.arrived_at = 0.0
        self.latencies: list[float] = []
        self.arrivals: list[float] = []  # click → the snapshot carrying the change reaches the window
        self.clock.frame_drawn.connect(self._on_frame)
        self.clock.config_changed.connect(self._on_config)
        muonscope.views.series.plot_widget.viewport().installEventFilter(self)

    def arm(self) -> None:
        self.events_before = len(self.clock.newest.events)
        self.frame_ready = False
        self.arrived_at = 0.0
        self.clicked_at = time.perf_counter()

    def _on_config(self, _config) -> None:
        if self.clicked_at and not self.arrived_at:
            self.arrived_at = time.perf_counter()

    def _on_frame(self, _step: int) -> None:
        newest = self.clock.newest
        if self.clicked_at and len(newest.events) > self.events_before:
            self.frame_ready = True

    def eventFilter(self, _obj, event) -> bool:
        if event.type() == QtCore.QEvent.Type.Paint and self.frame_ready and self.clicked_at:
            self.latencies.append(time.perf_counter() - self.clicked_at)
            self.arrivals.append((self.arrived_at or time.perf_counter()) - self.clicked_at)
            self.clicked_at = 0.0
            self.frame_ready = False
        return False


def toggle_latency(app, muonscope: App, toggles: int) -> tuple[list[float], list[float]]:
    watch = _PaintWatch(muonscope)
    muonscope.intents.play(True)
    run_for(app, 1.0)
    for i in range(toggles):
        watch.arm()
        row = muonscope.views.lanes.rows[3]  # rows are rebuilt when the lanes change, not on a toggle
        row.order.buttons["pre" if i % 2 == 0 else "post"].click()
        run_for(app, 0.6)
    muonscope.intents.play(False)
    run_for(app, 0.3)
    return watch.latencies, watch.arrivals


def pyqtgraph_redraw_ms(app, preset, frames: int = 40) -> tuple[float, tuple[int, int]]:
    """One render + synchronous paint of the four panels with fresh data, in ms; and the grid size."""
    window = App(preset).window  # engine never started: frames are driven here
    window.resize(*SIZE)
    window.show()
    app.processEvents()
    views = window.views
    renderer = Renderer(views.spectrum, views.series, views.class_error, views.capacity, views.timeline)
    snapshots, history, buckets = _recorded_run(preset, 60)
    grid = views.spectrum.parentWidget()
    for snapshot in snapshots[-5:]:
        renderer.render(snapshot, snapshot, history, buckets)
        grid.repaint()
    times = []
    for i in range(frames):
        snapshot = snapshots[-2 + (i % 2)]  # alternate: every frame carries new arrays
        start = time.perf_counter()
        renderer.render(snapshot, snapshot, history, buckets)
        grid.repaint()
        times.append(time.perf_counter() - start)
    area = (
        views.spectrum.width() + views.series.width(),
        views.spectrum.height() + views.class_error.height(),
    )
    window.close()
    window.deleteLater()
    app.processEvents()
    return 1000 * statistics.median(times), area


def _recorded_run(preset, steps: int):
    experiment = Experiment(preset.config)
    history, buckets, snapshots = MetricHistory(), BucketHistory(), []
    for _ in range(steps):
        experiment.step()
        snapshot = experiment.snapshot()
        history.append(snapshot)
        buckets.add(snapshot)
        snapshots.append(snapshot)
    return snapshots, history, buckets


def matplotlib_redraw_ms(preset, area: tuple[int, int], frames: int = 20) -> float:
    """The same four panels with matplotlib's Agg backend: update line data, draw the canvas."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    snapshots, history, _ = _recorded_run(preset, 60)
    dpi = 100
    fig, axes = plt.subplots(2, 2, figsize=(area[0] / dpi, area[1] / dpi), dpi=dpi)
    (spec_ax, series_ax), (class_ax, cap_ax) = axes
    acc_ax = cap_ax.twinx()
    spec_ax.set_yscale("log")
    class_ax.set_xscale("log")
    lanes = len(snapshots[-1].lanes)
    lines = {
        "g": [spec_ax.plot([], [], "-")[0] for _ in range(lanes)],
        "m": [spec_ax.plot([], [], "--")[0] for _ in range(lanes)],
        "series": [series_ax.plot([], [])[0] for _ in range(lanes)],
        "class": [class_ax.plot([], [])[0] for _ in range(lanes)],
        "rec": [cap_ax.plot([], [])[0] for _ in range(lanes)],
        "acc": [acc_ax.plot([], [], "--")[0] for _ in range(lanes)],
    }
    for ax in (spec_ax, series_ax, class_ax, cap_ax):
        ax.grid(alpha=0.15)
    spec_ax.set_xlim(0, 129)
    spec_ax.set_ylim(1e-12, 10)
    class_ax.set_xlim(1, 2048)
    class_ax.set_ylim(0, 1)
    series_ax.set_xlim(0, 100)
    cap_ax.set_xlim(0, 100)
    acc_ax.set_ylim(0, 1)

    def draw(snapshot) -> None:
        for i, lane in enumerate(snapshot.lanes):
            g, m = lane.spectra.gradient, lane.spectra.momentum
            lines["g"][i].set_data(np.arange(1, g.size + 1), np.where(g > 0, g, np.nan))
            lines["m"][i].set_data(np.arange(1, m.size + 1), np.where(m > 0, m, np.nan))
            lines["class"][i].set_data(np.arange(1, lane.class_error.size + 1), lane.class_error)
            steps, gap, rec, acc = history.columns(("step", "gap", "recovered", "accuracy"), lane.lane_id)
            keep = np.isfinite(rec)
            lines["series"][i].set_data(steps, gap)
            lines["rec"][i].set_data(steps[keep], rec[keep])
            lines["acc"][i].set_data(steps[keep], acc[keep])
        series_ax.relim()
        series_ax.autoscale_view(scalex=False)
        cap_ax.relim()
        cap_ax.autoscale_view(scalex=False)
        fig.canvas.draw()

    draw(snapshots[-1])
    times = []
    for i in range(frames):
        start = time.perf_counter()
        draw(snapshots[-2 + (i % 2)])
        times.append(time.perf_counter() - start)
    plt.close(fig)
    return 1000 * statistics.median(times)


def _spread(seconds: list[float]) -> str:
    ms = sorted(1000 * t for t in seconds)
    p90 = ms[int(0.9 * (len(ms) - 1))]
    return f"median {statistics.median(ms):.0f} ms, p90 {p90:.0f} ms, max {ms[-1]:.0f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--toggles", type=int, default=20)
    args = parser.parse_args()
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([])
    preset = load_preset("default")
    print(
        f"default preset, Qt platform {app.platformName()}, window {SIZE[0]}x{SIZE[1]}, "
        f"{torch.get_num_threads()} torch threads"
    )

    muonscope = App(preset)
    window = muonscope.window
    window.resize(*SIZE)
    window.show()
    keep_startup_objects_out_of_collections()  # as the app does
    muonscope.start()
    run_for(app, 2.0)
    fps, steps = forced_fps(app, muonscope, args.seconds)
    print(f"while playing: {fps:.1f} frames/s drawn (redraw forced every tick), engine {steps:.1f} steps/s")
    latencies, arrivals = toggle_latency(app, muonscope, args.toggles)
    print(f"toggle → first paint showing it ({len(latencies)} toggles): {_spread(latencies)}")
    print(f"  of which click → the engine's snapshot with the change: {_spread(arrivals)}")
    drawing = [paint - arrival for paint, arrival in zip(latencies, arrivals, strict=True)]
    print(f"  and that snapshot → its first paint: {_spread(drawing)}")
    window.close()
    app.processEvents()

    pg_ms, area = pyqtgraph_redraw_ms(app, preset)
    mpl_ms = matplotlib_redraw_ms(preset, area)
    print(
        f"one redraw of the four panels ({area[0]}x{area[1]} px): pyqtgraph {pg_ms:.1f} ms, "
        f"matplotlib Agg {mpl_ms:.1f} ms, ratio {mpl_ms / pg_ms:.1f}x"
    )


if __name__ == "__main__":
    main()
