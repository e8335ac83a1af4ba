"""Small presets and waits shared by the app tests."""

import signal
import subprocess
import sys
import threading

from muonscope.engine import ExperimentConfig, LaneConfig, RunConfig, TaskConfig
from muonscope.engine.presets import Preset

WAIT_MS = 20_000


def small_preset(**task) -> Preset:
    """Four lanes on a 16×16 memory: fast enough for dozens of steps per test."""
    config = ExperimentConfig(
        task=TaskConfig(d=16, n_items=64, alpha=1.5, batch_size=32, **task),
        lanes=(
            LaneConfig(optimizer="sgd", lr=20.0, momentum=0.9, buffer="sum"),
            LaneConfig(optimizer="adam", lr=0.05, momentum=0.9),
            LaneConfig(optimizer="muon", lr=0.3, momentum=0.95, order="pre"),
            LaneConfig(optimizer="muon", lr=0.3, momentum=0.95, order="post"),
        ),
        run=RunConfig(eval_every=2),
    )
    return Preset(name="small", config=config, title="small test preset", caption="four lanes, tiny task")


def open_app(qtbot, preset=None, **kwargs):
    """The whole application on ``preset``, started and past its first snapshot."""
    from muonscope.app.composition import App

    app = App(preset or small_preset(), **kwargs)
    qtbot.addWidget(app.window)
    app.window.resize(1400, 900)
    app.window.show()
    app.start()
    qtbot.waitUntil(lambda: app.clock.newest is not None, timeout=WAIT_MS)
    return app


def wait_for_step(qtbot, app, step):
    qtbot.waitUntil(lambda: app.clock.newest is not None and app.clock.newest.step >= step, timeout=WAIT_MS)


def wait_for_frame(qtbot, app):
    with qtbot.waitSignal(app.clock.frame_drawn, timeout=WAIT_MS):
        app.clock.request_frame()


def wait_until_paused(qtbot, app):
    """Until the engine reports it stopped playing: every snapshot from before has arrived by then."""
    qtbot.waitUntil(lambda: not app.clock.playing, timeout=WAIT_MS)


def held_experiment(entered: threading.Event, release: threading.Event, first_only: bool = False):
    """An Experiment whose steps wait until the test sets ``release``.

    A very large step (d = 2048) takes minutes; this makes one without the minutes and without a
    clock: ``entered`` is set when a held step begins. With ``first_only``, steps after the release
    neither wait nor set ``entered``.
    """
    from muonscope.engine import Experiment

    class Held(Experiment):
        def step(self, n=1, **kwargs):
            if not (first_only and release.is_set()):
                entered.set()
                release.wait(timeout=WAIT_MS / 1000)
            super().step(n, **kwargs)

    return Held


def first_line_then_ctrl_c(args: list[str], env: dict[str, str] | None = None) -> tuple[str, str, int]:
    """Run ``muonscope ARGS``, read the first line it writes to stderr, then send Ctrl-C: (that
    line, the rest of stderr, the exit status). For what a command says before its work begins."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "muonscope", *args],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        first = proc.stderr.readline()
        proc.send_signal(signal.SIGINT)
        _out, rest = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stderr.close()  # left open by a timeout, its warning failed whichever test came next
    return first, rest, proc.returncode


def tabs_in_front(window) -> set[str]:
    """The titles of the tabs shown in the window's tabbed dock places."""
    from PySide6 import QtCore, QtWidgets

    direct = QtCore.Qt.FindChildOption.FindDirectChildrenOnly
    bars = window.findChildren(QtWidgets.QTabBar, options=direct)
    return {bar.tabText(bar.currentIndex()) for bar in bars if bar.count() > 1}


class Gate:
    """A computation held until the test lets it go: ``entered`` once it waits, ``left`` once it goes on."""

    def __init__(self) -> None:
        import threading

        self.entered, self.release, self.left = threading.Event(), threading.Event(), threading.Event()

    def hold(self) -> None:
        self.entered.set()
        self.release.wait(WAIT_MS / 1000)
        self.left.set()


def held_saves(monkeypatch) -> Gate:
    """Every session save held at its start until the gate returned is released."""
    from muonscope.engine import session_file

    gate, real = Gate(), session_file.save_session

    def held(*args, **kwargs):
        gate.hold()
        return real(*args, **kwargs)

    monkeypatch.setattr(session_file, "save_session", held)
    return gate
