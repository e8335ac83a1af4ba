"""What presentation mode's thick pens and large type cost per frame, side by side with the desk style.

On the default preset at 1920×1080 (offscreen unless a display is set), for the desk style (1×) and
presentation at 1.5× and 3× (light and dark themes):
1. paint: the whole window repainted after a frame with new data (median ms over 30 frames) — the
   ceiling on frames per second the style allows;
2. live: frames drawn per second while the engine plays, a redraw forced on every timer tick (the
   clock draws at most ~60 Hz), and the engine's steps/s meanwhile.
Ratios are against the desk style in the same run.

Usage: python benchmarks/presentation_frames.py [--seconds 8] [--size 1920x1080]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import torch
from PySide6 import QtCore, QtWidgets

from muonscope.app.composition import App, keep_startup_objects_out_of_collections
from muonscope.engine.presets import load_preset
from muonscope.widgets.theme import StageStyle

STYLES = [StageStyle(), StageStyle(1.5, "light"), StageStyle(3.0, "light"), StageStyle(3.0, "dark")]


def run_for(seconds: float) -> None:
    loop = QtCore.QEventLoop()
    QtCore.QTimer.singleShot(int(seconds * 1000), loop.quit)
    loop.exec()


def wait_frame(app: App) -> None:
    loop = QtCore.QEventLoop()
    app.clock.frame_drawn.connect(loop.quit)
    app.clock.request_frame()
    loop.exec()
    app.clock.frame_drawn.disconnect(loop.quit)


def use_style(app: App, style: StageStyle) -> None:
    presenting = style != StageStyle()
    app.presentation.set_active(presenting)
    if presenting:
        app.presentation.set_scale(style.scale)
        app.presentation.set_theme(style.theme)
    wait_frame(app)


def paint_ms(app: App, frames: int = 30) -> float:
    """Median time of one frame: the panels' data set again, then a full repaint of the window."""
    times = []
    for _ in range(frames):
        start = time.perf_counter()
        wait_frame(app)
        app.window.repaint()
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def live_rates(app: App, seconds: float) -> tuple[float, float]:
    frames = [0]

    def count(_step: int) -> None:
        frames[0] += 1

    force = QtCore.QTimer()
    force.setInterval(1)
    force.timeout.connect(app.clock.request_frame)
    app.clock.frame_drawn.connect(count)
    app.intents.play(True)
    run_for(1.0)
    frames[0], start_step, start = 0, app.clock.newest.step, time.perf_counter()
    force.start()
    run_for(seconds)
    force.stop()
    elapsed = time.perf_counter() - start
    steps = app.clock.newest.step - start_step
    app.intents.play(False)
    app.clock.frame_drawn.disconnect(count)
    run_for(0.5)
    return frames[0] / elapsed, steps / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--size", default="1920x1080")
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.split("x"))
    qt = QtWidgets.QApplication.instance() or QtWidgets.QApplication([])
    app = App(load_preset("default"))
    app.window.resize(width, height)
    app.window.show()
    keep_startup_objects_out_of_collections()  # as the app does
    app.start()
    app.intents.step(60)
    while app.clock.newest is None or app.clock.newest.step < 60:
        qt.processEvents(QtCore.QEventLoop.ProcessEventsFlag.AllEvents, 50)
    print(
        f"default preset, {width}x{height}, Qt platform {qt.platformName()}, torch threads "
        f"{torch.get_num_threads()}"
    )
    print(f"{'style':<14} {'paint ms':>9} {'ratio':>6} {'fps ceiling':>12} {'live fps':>9} {'steps/s':>8}")
    base = None
    for style in STYLES:
        use_style(app, style)
        ms = paint_ms(app)
        base = base or ms
        fps, steps = live_rates(app, args.seconds)
        name = "desk 1x" if style == StageStyle() else f"{style.theme} {style.scale:g}x"
        print(f"{name:<14} {ms:9.1f} {ms / base:6.2f} {1000 / ms:12.0f} {fps:9.1f} {steps:8.1f}")
    app.window.close()


if __name__ == "__main__":
    main()
