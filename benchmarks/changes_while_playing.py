"""Steps a playing run takes while changes keep arriving (an arrow key held), beside quiet stretches.

The window plays the default preset offscreen; for ``--seconds`` each, it plays quietly, then with
``--rate`` changes a second to one field (label noise, as its slider sends them under a held arrow
key, or lane 0's lr), then quietly again. It prints the steps taken in each stretch and the ratio of
the busy stretch to the mean of the quiet ones. Until each step could make way for a change only
once, ten changes a second kept the run at its step for as long as they came.

Usage: python benchmarks/changes_while_playing.py [--seconds 5] [--rate 10] [--field noise|lr]
"""

from __future__ import annotations

import muonscope as _settings_first  # noqa: F401  its OpenMP default is set before torch loads

# isort: split

import argparse
import os
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6 import QtWidgets

from muonscope.app.cli_parser import build_parser
from muonscope.app.offscreen import OffscreenWindow, plan_offscreen

FIELDS = {
    "noise": ("task.label_noise", lambda n: 0.01 * (n % 30)),
    "lr": ("lanes[0].lr", lambda n: 100.0 + n % 30),
}


def _stretch(app, seconds: float, rate_hz: float, field: str | None) -> tuple[int, int]:
    """(steps taken, changes sent) over ``seconds`` of play, ``rate_hz`` changes a second to ``field``."""
    qt = QtWidgets.QApplication.instance()
    first_step, started = app.clock.newest.step, time.perf_counter()
    sent, next_change_at = 0, started
    while time.perf_counter() - started < seconds:
        if field is not None and time.perf_counter() >= next_change_at:
            path, value = FIELDS[field]
            sent += 1
            app.intents.change(path, value(sent))
            next_change_at += 1.0 / rate_hz
        qt.processEvents()
        time.sleep(0.002)
    return app.clock.newest.step - first_step, sent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rate", type=float, default=10.0, help="changes a second while busy")
    parser.add_argument("--field", choices=sorted(FIELDS), default="noise")
    options = parser.parse_args()
    shot = ["shot", "--preset", "default", "--steps", "100000", "--out", os.devnull, "--no-progress"]
    with OffscreenWindow(plan_offscreen(build_parser().parse_args(shot), (1280, 720))) as offscreen:
        offscreen.open()
        app = offscreen.app
        app.intents.play(True)
        _stretch(app, 2.0, 0.0, None)  # warm-up
        before, _ = _stretch(app, options.seconds, 0.0, None)
        busy, sent = _stretch(app, options.seconds, options.rate, options.field)
        after, _ = _stretch(app, options.seconds, 0.0, None)
        app.intents.play(False)
    quiet = (before + after) / 2
    print(f"quiet: {before} steps, then {after} ({options.seconds:g} s each)")
    print(f"{sent} changes to {FIELDS[options.field][0]} at {options.rate:g}/s: {busy} steps")
    print(f"busy / quiet: {busy / quiet:.2f}" if quiet else "quiet stretches took no step")


if __name__ == "__main__":
    main()
