"""What placing the change labels of panel ② costs, beside a repaint of that panel, in one run.

The labels are placed again when a change is made, the panel is resized, or new data runs under a
label (at most once a second while a run plays). The worst case is a crowded plot where no row is
clear of the curves, so that the finer rows are searched too: four random-walk curves over 1000
steps and three changes, as after a fork in the default preset.

Times are medians in milliseconds (offscreen unless a display is set): placing every label, and a
repaint of the panel (``render`` into an image) as the baseline, with their ratio.

Usage: python benchmarks/marker_placing.py [--repeats 100] [--size 450x260]
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np
import pyqtgraph as pg
from panel_notes import median_ms  # this script's folder is on the path when it is run
from PySide6 import QtGui

from muonscope.widgets.series_plot import SeriesPlot

CHANGES = [
    (200, "label noise 0 → 0.2"),
    (350, "lane 0 optimizer SGD → SignGD, lr 128 → 0.01, buffer sum → ema"),
    (400, "lane 1 lr 0.1 → 0.05"),
]


def crowded_panel(width_px: int, height_px: int) -> SeriesPlot:
    """Panel ② with four wandering curves and three changes: no label has a clear place."""
    pg.mkQApp()
    rng = np.random.default_rng(0)
    panel = SeriesPlot("② over time", [("loss", "loss")])
    panel.resize(width_px, height_px)
    panel.show()
    panel.set_lanes(["SGD", "Adam", "Muon pre", "Muon post"])
    steps = np.arange(1000.0)
    for lane in range(4):
        panel.set_series(lane, steps, np.abs(np.cumsum(rng.normal(size=steps.size))) + lane)
    panel.markers.set_events(CHANGES)
    pg.mkQApp().processEvents()
    return panel


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=100)
    parser.add_argument("--size", default="450x260", help="the panel's size, WxH (a quarter of 1280×720)")
    args = parser.parse_args()
    width_px, height_px = (int(part) for part in args.size.split("x"))
    panel = crowded_panel(width_px, height_px)

    def paint() -> None:
        image = QtGui.QImage(panel.size(), QtGui.QImage.Format.Format_ARGB32_Premultiplied)
        panel.render(image)

    paint()
    place_ms, paint_ms = median_ms(panel.markers.place_labels, args.repeats), median_ms(paint, args.repeats)
    print(f"panel ② {width_px}×{height_px}, 4 curves of 1000 steps, {len(CHANGES)} changes, none clear")
    print(f"  placing every label:         {place_ms:7.2f} ms")
    print(f"  repaint of the panel (base): {paint_ms:7.2f} ms")
    print(f"  placing / repaint:           {place_ms / paint_ms:7.2f}")


if __name__ == "__main__":
    main()
