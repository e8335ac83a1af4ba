"""Paint cost of two panels against what pyqtgraph draws by default, in one run.

1. The grid: the spectrum panel's log axis, with the grid across the panel, is redrawn whenever its
   range changes (a lane's spectrum grows, a toggle changes its scale). Our axis fills the grid's
   translucent lines as rectangles; pyqtgraph's strokes them, which Qt's raster engine does pixel
   by pixel.
2. The per-class error panel at N items: each lane's thick smoothed curve drawn from the points its
   pixel columns show, against the same curve given all N points.
3. Panel ② over a long run: each frame gives each lane's curve its newest step and paints the panel;
   ours thins the curves to their pixel columns (widgets.pixel_curve), the baseline gives pyqtgraph
   every step. Timed: the curves' update and the paint, together.

Times are medians of one ``render`` of the panel's viewport into an image (offscreen unless a
display is set), in milliseconds, with the ratio baseline / ours.

Usage: python benchmarks/panel_paint.py [--items 65536] [--lanes 4] [--steps 10000,100000] [--repeats 15]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np
import pyqtgraph as pg
from PySide6 import QtGui, QtWidgets

from muonscope.widgets.axes import DecadeAxis
from muonscope.widgets.class_error_plot import ClassErrorPlot
from muonscope.widgets.pixel_curve import PixelCurve
from muonscope.widgets.series_plot import SeriesPlot
from muonscope.widgets.spectrum_plot import SpectrumPlot

SIZE = (760, 420)


def render_ms(view: QtWidgets.QWidget, before_each, repeats: int) -> float:
    """Median milliseconds of one render of ``view`` after ``before_each()`` (not timed)."""
    image = QtGui.QImage(view.size(), QtGui.QImage.Format.Format_ARGB32_Premultiplied)
    times = []
    for _ in range(repeats):
        QtWidgets.QApplication.processEvents()
        before_each()  # after the events: the window's own repaint must not do the work first
        start = time.perf_counter()
        view.render(image)
        times.append(1000 * (time.perf_counter() - start))
    return statistics.median(times)


def grid_ms(stroked: bool, repeats: int) -> float:
    """The spectrum panel's log axis redrawn (as after a range change); ``stroked``: pyqtgraph's drawing."""
    panel = SpectrumPlot()
    panel.resize(*SIZE)
    panel.show()
    panel.set_lanes([f"lane {i + 1}" for i in range(4)])
    rng = np.random.default_rng(0)
    for lane in range(4):
        for matrix in ("gradient", "momentum"):
            panel.set_spectrum(lane, matrix, np.sort(rng.random(128) ** 3)[::-1] * 10)  # seven decades
    axis = panel.plot.getAxis("left")

    def range_changed() -> None:  # what a new range does to the axis: its drawing is made afresh
        axis.picture = None
        axis.update()

    ours = DecadeAxis.drawPicture
    if stroked:
        DecadeAxis.drawPicture = pg.AxisItem.drawPicture
    try:
        return render_ms(panel.plot_widget.viewport(), range_changed, repeats)
    finally:
        DecadeAxis.drawPicture = ours


def class_error_ms(items: int, lanes: int, whole: bool, repeats: int) -> float:
    """The per-class error panel with fresh errors before each paint; ``whole``: curves not thinned."""
    plot = ClassErrorPlot()
    plot.resize(*SIZE)
    plot.show()
    plot.set_lanes([f"lane {i + 1}" for i in range(lanes)])
    plot.set_mode("view", "curves")  # the errors by rank, not the heat map over steps
    rng = np.random.default_rng(0)
    rank = np.arange(1, items + 1)

    def fresh_errors() -> None:
        for lane in range(lanes):
            learnt = 1 / (1 + (rank / (50.0 * (lane + 1))) ** -2)  # head learnt, tail not
            plot.set_errors(lane, (rng.random(items) < learnt).astype(float))
            if whole:  # the same panel, its smoothed curve given every rank
                plot_curve(plot, lane).setData(*plot.smoothed_data(lane))

    return render_ms(plot.plot_widget.viewport(), fresh_errors, repeats)


def series_frame_ms(steps: int, lanes: int, whole: bool, repeats: int) -> float:
    """Median milliseconds of one frame of panel ② at ``steps`` steps: every lane's curve given its
    newest step, then the panel painted; ``whole``: the curves drawn from every step."""
    plot = SeriesPlot("② over time", [("batch_loss", "minibatch loss")])
    plot.resize(*SIZE)
    plot.show()
    plot.set_lanes([f"lane {i + 1}" for i in range(lanes)])
    rng = np.random.default_rng(0)
    step = np.arange(steps, dtype=float)
    losses = [np.exp(-step / steps * 3) * (1 + 0.2 * rng.random(steps)) for _ in range(lanes)]
    image = QtGui.QImage(plot.plot_widget.viewport().size(), QtGui.QImage.Format.Format_ARGB32_Premultiplied)
    thin = PixelCurve._thin
    if whole:
        PixelCurve._thin = lambda curve: curve.setData(*curve.whole_data(), connect=curve.joined)
    times = []
    try:
        for repeat in range(repeats):
            QtWidgets.QApplication.processEvents()
            start = time.perf_counter()
            for lane, loss in enumerate(losses):
                loss[-1] *= 1 + 1e-3 * repeat  # the newest step, as a live run gives it
                plot.set_series(lane, step, loss)
            plot.plot_widget.viewport().render(image)
            times.append(1000 * (time.perf_counter() - start))
    finally:
        PixelCurve._thin = thin
    return statistics.median(times)


def plot_curve(plot: ClassErrorPlot, lane: int) -> pg.PlotDataItem:
    """The smoothed curve of ``lane``: the panel's thick curves, in lane order."""
    items = plot.plot.listDataItems()
    thick = [item for item in items if item.opts["pen"] is not None and item.opts["pen"].widthF() > 1.0]
    return thick[lane]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=65536)
    parser.add_argument("--lanes", type=int, default=4)
    parser.add_argument("--steps", default="10000,100000", help="run lengths for panel ②, comma-separated")
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    QtWidgets.QApplication.instance() or QtWidgets.QApplication([])
    rows = [
        ("spectrum panel, log axis redrawn", grid_ms(True, args.repeats), grid_ms(False, args.repeats)),
        (
            f"per-class error, N = {args.items}, {args.lanes} lanes",
            class_error_ms(args.items, args.lanes, True, args.repeats),
            class_error_ms(args.items, args.lanes, False, args.repeats),
        ),
    ]
    for steps in (int(text) for text in args.steps.split(",")):
        rows.append(
            (
                f"② frame, {steps} steps, {args.lanes} lanes",
                series_frame_ms(steps, args.lanes, True, args.repeats),
                series_frame_ms(steps, args.lanes, False, args.repeats),
            )
        )
    print(f"{'panel paint (ms, median)':<38} {'baseline':>9} {'ours':>7} {'ratio':>7}")
    for name, baseline, ours in rows:
        print(f"{name:<38} {baseline:9.1f} {ours:7.1f} {baseline / ours:6.1f}x")


if __name__ == "__main__":
    main()
