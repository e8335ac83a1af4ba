"""A note's search for its place: its 48 boxes measured one at a time against all in one pass.

A note that is not clear where it stands looks at every place it may take (3 wrap widths × 8
places, each with and without its margin) on every frame; one box at a time, that cost ② and ③
several milliseconds a frame. Curves of ``--points`` segments (a 128-wide spectrum of four lanes is
about 1000; ③'s thinned curves a few thousand), boxes of a note's size across a 800×400 plot.
Times are medians in milliseconds; the answers of both are checked to agree.

Usage: python benchmarks/note_places.py [--points 200,1500,5000] [--repeats 50]
"""

from __future__ import annotations

import argparse

import numpy as np
from panel_notes import median_ms
from PySide6 import QtCore

from muonscope.widgets.segments import box_edges, length_inside, lengths_inside

BOXES = 48


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", default="200,1500,5000")
    parser.add_argument("--repeats", type=int, default=50)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    print(f"{'segments':>9} {'one at a time':>14} {'one pass':>9} {'ratio':>6}")
    for count in (int(part) for part in args.points.split(",")):
        x, y = np.sort(rng.random(count + 1)) * 800, rng.random(count + 1) * 400
        segments = np.column_stack([x[:-1], y[:-1], x[1:], y[1:]])  # (count, 4)
        boxes = [QtCore.QRectF(rng.random() * 700, rng.random() * 350, 150, 30) for _ in range(BOXES)]
        edges = np.array([box_edges(box) for box in boxes])  # (48, 4)
        alone = [length_inside(segments, box) for box in boxes]
        assert np.allclose(alone, lengths_inside(segments, edges))
        one_ms = median_ms(lambda s=segments, b=boxes: [length_inside(s, box) for box in b], args.repeats)
        pass_ms = median_ms(lambda s=segments, e=edges: lengths_inside(s, e), args.repeats)
        print(f"{count:9d} {one_ms:11.2f} ms {pass_ms:6.2f} ms {one_ms / pass_ms:5.1f}×")


if __name__ == "__main__":
    main()
