"""What the panels' notes cost per frame, beside what painting those panels costs, in one run.

Every frame the renderer asks each of the four panels which lanes' curves lie on one another
(``coinciding``) and sets its note, and a visible note chooses the corner with no curve under it.
Here every panel shows a note (the worst case: usually none or one does), with four lanes of a
128×128 memory's spectra (G, M and G_sig), 1000 steps over time, 100 evaluations and 2048 classes.

Times are medians over frames in milliseconds (offscreen unless a display is set): the notes alone,
and a repaint of the four panels (``render`` into an image) as the baseline, with their ratio.

Usage: python benchmarks/panel_notes.py [--frames 200] [--size 900x500]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np
import pyqtgraph as pg
from PySide6 import QtGui

from muonscope.widgets.capacity_plot import CapacityPlot
from muonscope.widgets.class_error_plot import ClassErrorPlot
from muonscope.widgets.series_plot import SeriesPlot
from muonscope.widgets.spectrum_plot import SpectrumPlot

LANES = ["SGD", "Adam", "Muon pre", "Muon post"]


def filled_panels(width_px: int, height_px: int) -> list:
    """The four panels on screen with data as a 1000-step run of the default preset has it."""
    rng = np.random.default_rng(0)
    spectrum, series = SpectrumPlot(), SeriesPlot("② over time", [("loss", "loss")])
    capacity, class_error = CapacityPlot(), ClassErrorPlot()
    panels = [spectrum, series, capacity, class_error]
    for panel in panels:
        panel.resize(width_px, height_px)
        panel.show()
        panel.set_lanes(LANES)
    spectrum.set_mode("view", "gradient+momentum+signal")
    steps = np.arange(1000.0)
    for lane in range(len(LANES)):
        for matrix in ("gradient", "momentum", "signal"):
            spectrum.set_spectrum(lane, matrix, np.sort(rng.random(128))[::-1])
        series.set_series(lane, steps, rng.random(1000))
        capacity.set_capacity(lane, steps[::10], rng.random(100) * 100, rng.random(100))
        class_error.set_errors(lane, rng.random(2048), (rng.random(2048) > 0.5).astype(float))
    pg.mkQApp().processEvents()
    return panels


def median_ms(action, frames: int) -> float:
    times = []
    for _ in range(frames):
        start = time.perf_counter()
        action()
        times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=200)
    parser.add_argument("--size", default="900x500", help="each panel's size, WxH")
    args = parser.parse_args()
    width_px, height_px = (int(part) for part in args.size.split("x"))
    app = pg.mkQApp()
    panels = filled_panels(width_px, height_px)

    def notes() -> None:
        for panel in panels:
            panel.set_note(" · ".join(text for text in ("spectra of step 9", panel.coinciding) if text))

    def paint() -> None:
        for panel in panels:
            image = QtGui.QImage(panel.size(), QtGui.QImage.Format.Format_ARGB32_Premultiplied)
            panel.render(image)

    notes()
    paint()
    app.processEvents()
    notes_ms, paint_ms = median_ms(notes, args.frames), median_ms(paint, args.frames)
    print(f"four panels {width_px}×{height_px}, {len(LANES)} lanes, every note shown")
    print(f"  notes (coincidences and corners): {notes_ms:7.2f} ms a frame")
    print(f"  repaint of the panels (baseline): {paint_ms:7.2f} ms a frame")
    print(f"  notes / repaint:                  {notes_ms / paint_ms:7.2f}")


if __name__ == "__main__":
    main()
