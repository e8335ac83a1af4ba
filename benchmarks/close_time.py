"""How long closing the window takes, and how long the process then takes to end, in a given state.

The real application (``launch``, offscreen unless a display is set) runs in a child process on a
generated config; once the chosen state is reached the window is closed, and the child reports how
long ``close()`` took. The parent measures from that moment to the child's exit, and reports its
exit status and whether anything was printed to stderr that looks like a traceback or a Qt warning.

States: ``idle`` (paused), ``playing``, ``step`` (a d = D step in flight for a few seconds),
``ray`` (the capacity panel's one-step ray on a d = D two-level task), ``sweep`` (a capacity
d-sweep), ``recording`` (an MP4 recording in progress).

Usage: python benchmarks/close_time.py [--state step] [--d 2048] [--after 3]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

_ZIPF = """
[task]
kind = "zipf"
d = {d}
n_items = {d}
alpha = 1.5
batch_size = 256

[[lanes]]
optimizer = "sgd"
lr = 128.0
momentum = 0.9
buffer = "sum"

[[lanes]]
optimizer = "muon"
lr = 0.3
momentum = 0.95
order = "pre"
polar = "exact"

[run]
steps = 100000
eval_every = 10
spectra_every = 1
"""

_RAY = """
[task]
kind = "two_level"
d = {d}
n_items = 64
head_mass = 0.8
head_frac = 0.2
batch_size = 0
embeddings = "orthogonal"

[[lanes]]
optimizer = "sgd"
lr = 1.0
momentum = 0.0

[[lanes]]
optimizer = "signgd"
lr = 1.0
momentum = 0.0
order = "none"

[[lanes]]
optimizer = "muon"
lr = 1.0
momentum = 0.0
order = "none"
polar = "exact"

[run]
steps = 1
eval_every = 1

[view]
capacity = "ray"
"""


def _config_text(state: str, d: int) -> str:
    if state == "ray":
        return _RAY.format(d=d)
    return _ZIPF.format(d=d if state == "step" else 64)


def _ready(app, state: str, seen: dict[str, float], after_s: float) -> bool:
    """Whether ``app`` is in ``state`` (and has been for ``after_s`` where that matters).

    ``seen``: when a background computation was first seen running (filled in here).
    """
    newest = app.clock.newest
    if newest is None:
        return False
    if state == "idle":
        return not app.clock.playing
    if state == "playing":
        return app.clock.playing and newest.step >= 5
    if state == "step":
        step = app.link.step_in_progress
        return step is not None and time.monotonic() - step.started_s >= after_s
    if state in ("ray", "sweep"):
        if not app.capacity.running:
            return False
        since = seen.setdefault(state, time.monotonic())
        return time.monotonic() - since >= after_s
    if state == "recording":
        return app.recorder.recording and app.recorder.frames >= 10
    raise ValueError(state)


def child(state: str, config: Path, after_s: float, scratch: Path) -> None:
    """Open the window as ``muonscope --config`` does, close it once in ``state``, report the time."""
    from PySide6 import QtCore, QtWidgets

    from muonscope.app.composition import App, launch

    qt_app = QtWidgets.QApplication(sys.argv)
    seen: dict[str, float] = {}
    prepared = []

    def poll() -> None:
        windows = [w for w in qt_app.topLevelWidgets() if w.findChild(App) is not None]
        if not windows:
            return
        app = windows[0].findChild(App)
        if not prepared:
            prepared.append(True)
            if state == "idle":
                app.intents.play(False)
            elif state == "sweep":
                app.capacity.run("d")
            elif state == "recording":
                app.recorder.start(scratch / "close.mp4")
        if _ready(app, state, seen, after_s):
            timer.stop()
            begun = time.perf_counter()
            print(f"closing-at {time.time():.6f}", flush=True)
            windows[0].close()
            print(f"close-returned-after {time.perf_counter() - begun:.3f}", flush=True)

    timer = QtCore.QTimer()
    timer.timeout.connect(poll)
    timer.start(50)
    code = launch(config_file=config)
    print(f"launch-returned {time.time():.6f}", flush=True)
    sys.exit(code)


def parent(state: str, d: int, after_s: float) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        config = Path(scratch) / f"close_{state}.toml"
        config.write_text(_config_text(state, d))
        command = [sys.executable, __file__, "--child", state, str(config), str(after_s), scratch]
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        closing_at, close_s = None, None
        for line in process.stdout:
            if line.startswith("closing-at"):
                closing_at = float(line.split()[1])
            elif line.startswith("close-returned-after"):
                close_s = float(line.split()[1])
        rc = process.wait()
        ended = time.time()
        stderr = process.stderr.read()
    troubles = [
        line for line in stderr.splitlines() if "Traceback" in line or "QThread" in line or "Error" in line
    ]
    exit_s = f"{ended - closing_at:.2f} s" if closing_at is not None else "never closed"
    print(
        f"{state:<10} d={d:<5} close() {close_s if close_s is not None else '?'} s, "
        f"close to process exit {exit_s}, rc {rc}, stderr troubles: {troubles or 'none'}"
    )


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(sys.argv[2], Path(sys.argv[3]), float(sys.argv[4]), Path(sys.argv[5]))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--state", default="step", choices=["idle", "playing", "step", "ray", "sweep", "recording"]
    )
    parser.add_argument("--d", type=int, default=2048, help="dimension of the step or ray states")
    parser.add_argument("--after", type=float, default=3.0, help="seconds in the state before closing")
    args = parser.parse_args()
    parent(args.state, args.d, args.after)


if __name__ == "__main__":
    main()
