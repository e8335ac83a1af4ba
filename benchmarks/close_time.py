"""How long closing the window takes, and how long the process then takes to end, in a given state.

The real application (``launch``, offscreen unless a display is set) runs in a child process on a
generated config; once the chosen state is reached the window is closed, and the child reports how
long ``close()`` took. The parent measures from that moment to the child's exit, and reports its
exit status and whether anything was printed to stderr that looks like a traceback or a Qt warning.

States: ``idle`` (paused), ``playing``, ``step`` (a d = D step in flight for a few seconds),
``ray`` (the capacity panel's one-step ray on a d = D two-level task, the engine's own first step
cancelled so that the ray runs alone), ``sweep`` (a capacity
d-sweep), ``recording`` (an MP4 recording in progress).

Usage: python benchmarks/close_time.py [--state step] [--d 2048] [--after 3] [--rays 0]
(the ray's lanes are GD, SignGD and Muon: ``--rays 2 --after 0.5`` closes in Muon's SVD)
"""

from __future__ import annotations

import argparse
import os
import random
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
eval_every = 1000
spectra_every = 1000

[view]
capacity = "ray"
"""


#: Seconds after which the window is closed even if the state was not reached (it is then said).
_GIVE_UP_S = 300.0


def _config_text(state: str, d: int) -> str:
    if state == "ray":
        return _RAY.format(d=d)
    text = _ZIPF.format(d=d if state == "step" else 64)
    if state == "sweep":  # settings of no earlier run: the sweep's points are computed, not cached
        text = text.replace("alpha = 1.5", f"alpha = {1.5 + random.uniform(0, 1e-6)!r}")
    return text


def _ready(app, state: str, seen: dict[str, float], after_s: float, rays: int) -> bool:
    """Whether ``app`` is in ``state`` (and has been for ``after_s`` where that matters).

    ``seen``: when a background computation was first seen running (filled in here); a ray search
    counts from when ``rays`` lanes' rays have arrived.
    """
    newest = app.clock.newest
    if newest is None:
        return False
    if state == "idle":
        return not app.clock.playing
    if state == "playing":
        return app.clock.playing and newest.step >= 5
    if state == "step":
        work = app.link.work_in_progress
        return work is not None and work.step is not None and time.monotonic() - work.started_s >= after_s
    if state in ("ray", "sweep"):
        if not app.capacity.running or app.link.work_in_progress is not None:
            return False
        if state == "ray" and app.capacity.progress[0] < rays:
            return False
        since = seen.setdefault(state, time.monotonic())
        return time.monotonic() - since >= after_s
    if state == "recording":
        return app.recorder.recording and app.recorder.frames >= 10
    raise ValueError(state)


def child(state: str, config: Path, after_s: float, rays: int, scratch: Path) -> None:
    """Open the window as ``muonscope --config`` does, close it once in ``state``, report the time."""
    from PySide6 import QtCore, QtWidgets

    from muonscope.app.composition import App, launch

    qt_app = QtWidgets.QApplication(sys.argv)
    seen: dict[str, float] = {}
    prepared = []
    started = time.monotonic()

    def poll() -> None:
        windows = [w for w in qt_app.topLevelWidgets() if w.findChild(App) is not None]
        if not windows:
            return
        app = windows[0].findChild(App)
        if not prepared and app.clock.newest is not None:  # the run has started: its settings are known
            prepared.append(True)
            if state == "idle":
                app.intents.play(False)
            elif state == "ray":
                app.link.cancel_step()  # the ray alone: the engine pauses at its next cancellation point
            elif state == "sweep":
                app.capacity.run("d")
            elif state == "recording":
                app.recorder.start(scratch / "close.mp4")
        given_up = time.monotonic() - started > _GIVE_UP_S
        if given_up:
            print(f"never reached: {state}", flush=True)
        if given_up or _ready(app, state, seen, after_s, rays):
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


def parent(state: str, d: int, after_s: float, rays: int) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        config = Path(scratch) / f"close_{state}.toml"
        config.write_text(_config_text(state, d))
        command = [sys.executable, __file__, "--child", state, str(config), str(after_s), str(rays), scratch]
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        closing_at, close_s = None, None
        for line in process.stdout:
            if line.startswith("closing-at"):
                closing_at = float(line.split()[1])
            elif line.startswith("close-returned-after"):
                close_s = float(line.split()[1])
            elif line.startswith("never reached"):
                print(line.strip())
        rc = process.wait()
        ended = time.time()
        stderr = process.stderr.read()
    troubles = [
        line for line in stderr.splitlines() if "Traceback" in line or "QThread" in line or "Error" in line
    ]
    left = [line.split()[2] for line in stderr.splitlines() if "still busy" in line]
    exit_s = f"{ended - closing_at:.2f} s" if closing_at is not None else "never closed"
    print(
        f"{state:<10} d={d:<5} close() {close_s if close_s is not None else '?'} s, "
        f"close to process exit {exit_s}, rc {rc}, left computing: {', '.join(left) or 'nothing'}, "
        f"stderr troubles: {troubles or 'none'}"
    )


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(sys.argv[2], Path(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5]), Path(sys.argv[6]))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--state", default="step", choices=["idle", "playing", "step", "ray", "sweep", "recording"]
    )
    parser.add_argument("--d", type=int, default=2048, help="dimension of the step or ray states")
    parser.add_argument("--after", type=float, default=3.0, help="seconds in the state before closing")
    parser.add_argument(
        "--rays", type=int, default=0, help="ray state: lanes whose rays have arrived before --after counts"
    )
    args = parser.parse_args()
    parent(args.state, args.d, args.after, args.rays)


if __name__ == "__main__":
    main()
