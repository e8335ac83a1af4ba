"""Closing the window never waits on a computation: whatever runs is cancelled, waited for until one
short deadline, and otherwise left to end on its own, with nothing more of it reaching the window.

No test here times anything. Each computation is held on a threading.Event the test controls, the
window is closed while it is held, and the test checks that the close returned with the computation
still held; then it lets the computation go, and checks it ends without a word to the window. Qt
warnings fail any test of this folder (pyproject's qt_log_level_fail), and errors logged by a
thread are looked for in the log.
"""

import logging
import os
import subprocess
import sys
import threading

import pytest

from muonscope.app import capacity_controller
from muonscope.app.background import Job, abandoned_jobs
from muonscope.app.composition import SHUTDOWN_DEADLINE_MS
from muonscope.app.video import VideoWriter
from muonscope.engine import ExperimentConfig, LaneConfig, RunConfig, TaskConfig
from muonscope.engine.presets import Preset
from tests.app.helpers import WAIT_MS, Gate, held_experiment, held_saves, open_app, wait_for_step

WAIT_S = WAIT_MS / 1000


def _two_level_preset() -> Preset:
    """A task the capacity panel can draw one-step rays for (orthonormal embeddings), tiny."""
    config = ExperimentConfig(
        task=TaskConfig(
            kind="two_level",
            d=16,
            n_items=16,
            head_mass=0.8,
            head_frac=0.2,
            batch_size=0,
            embeddings="orthogonal",
        ),
        lanes=(
            LaneConfig(optimizer="sgd", lr=1.0, momentum=0.0),
            LaneConfig(optimizer="muon", lr=1.0, momentum=0.0, order="none"),
        ),
        run=RunConfig(steps=1000, eval_every=1),
    )
    return Preset(name="two_level", config=config, title="two-level test preset", caption="")


def _held_ray(monkeypatch) -> tuple[Gate, list[bool]]:
    """Every lane's ray search held at its start; afterwards, whether it was told to stop is recorded."""
    gate, told_to_stop = Gate(), []
    real = capacity_controller.first_step_ray

    def held(task, lane, points=40, cancelled=None):
        gate.hold()
        told_to_stop.append(cancelled is not None and cancelled())
        return real(task, lane, points, cancelled=cancelled)

    monkeypatch.setattr(capacity_controller, "first_step_ray", held)
    return gate, told_to_stop


def _held_sweep(monkeypatch) -> tuple[Gate, threading.Event]:
    """A sweep whose points never come until released, and that ignores its cancel (as a worker
    process busy in an SVD would for a moment); the second value is set once cancel was asked."""
    gate, cancel_asked = Gate(), threading.Event()

    class HeldSweep:
        def __init__(self, points, workers=0, nice=0):
            self.points = points

        def cancel(self):
            cancel_asked.set()

        def __iter__(self):
            gate.hold()
            return iter(())

    monkeypatch.setattr(capacity_controller, "SweepRunner", HeldSweep)
    return gate, cancel_asked


def _wait_for_threads(qtbot, qapp) -> None:
    """Until every computation left running by a close has ended, and its last events are handled."""
    qtbot.waitUntil(lambda: abandoned_jobs() == 0, timeout=WAIT_MS)
    qapp.processEvents()


def _no_errors_logged(caplog) -> None:
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == []


@pytest.mark.parametrize("playing", [False, True], ids=["idle", "playing"])
def test_closing_an_idle_or_playing_window_ends_its_engine(qtbot, playing):
    app = open_app(qtbot)
    if playing:
        app.intents.play(True)
        wait_for_step(qtbot, app, 2)
    assert app.shutdown() is True  # ended within the deadline, nothing left running
    app.window.close()
    assert not app.link.running and not app.clock.active


def test_closing_during_a_long_step_returns_while_the_step_still_computes(qtbot, qapp, caplog):
    entered, release = threading.Event(), threading.Event()
    app = open_app(qtbot, engine_factory=held_experiment(entered, release))
    shown = []
    app.link.snapshot.connect(shown.append)
    app.link.alert.connect(shown.append)
    app.intents.play(True)
    qtbot.waitUntil(entered.is_set, timeout=WAIT_MS)
    try:
        app.window.close()
        assert app.link.running and not release.is_set()  # close did not wait for the step
        assert app.link.work_in_progress.step == 1
    finally:
        release.set()  # the step goes on to its first cancellation point and is abandoned there
    _wait_for_threads(qtbot, qapp)
    assert not app.link.running
    assert shown == []  # not the abandoned step, nor a note of its cancelling
    _no_errors_logged(caplog)


def test_closing_during_a_ray_search_returns_while_the_ray_still_computes(qtbot, qapp, monkeypatch, caplog):
    gate, told_to_stop = _held_ray(monkeypatch)
    app = open_app(qtbot, _two_level_preset())
    app.capacity.run("ray")
    qtbot.waitUntil(gate.entered.is_set, timeout=WAIT_MS)
    try:
        app.window.close()
        assert not gate.left.is_set()  # close did not wait for the lane's ray
        assert not app.capacity.running
    finally:
        gate.release.set()
    _wait_for_threads(qtbot, qapp)
    assert told_to_stop == [True]  # the held lane learnt at once that it was cancelled; no lane after it ran
    assert app.capacity.progress == (0, 2)  # no ray reached the panel
    _no_errors_logged(caplog)


def test_closing_during_a_sweep_returns_while_the_sweep_still_computes(qtbot, qapp, monkeypatch, caplog):
    gate, cancel_asked = _held_sweep(monkeypatch)
    app = open_app(qtbot)
    app.capacity.run("d")
    qtbot.waitUntil(gate.entered.is_set, timeout=WAIT_MS)
    try:
        app.window.close()
        assert not gate.left.is_set() and cancel_asked.is_set()
    finally:
        gate.release.set()
    _wait_for_threads(qtbot, qapp)
    assert app.capacity.results == ()
    _no_errors_logged(caplog)


def test_closing_a_window_that_asks_nothing_during_a_save_waits_for_the_save(
    qtbot, monkeypatch, tmp_path, capsys
):
    """Closed at once (offscreen, or a second Ctrl-C), it left the save to end within half a second
    and then ended the process: the session asked for was never written."""
    from muonscope.engine.session_file import open_session

    gate = held_saves(monkeypatch)
    app = open_app(qtbot)
    app.intents.step(3)
    wait_for_step(qtbot, app, 3)
    app.sessions.save_to(tmp_path / "run")
    qtbot.waitUntil(gate.entered.is_set, timeout=WAIT_MS)
    threading.Timer(2 * SHUTDOWN_DEADLINE_MS / 1000, gate.release.set).start()  # past the usual wait
    assert app.window.close()
    assert open_session(tmp_path / "run").branch.head_step == 3  # written before the close returned
    assert f"finishing the save to {tmp_path / 'run'} before closing" in capsys.readouterr().err


def test_closing_during_a_recording_returns_before_the_file_is_finished(qtbot, monkeypatch, tmp_path):
    gate = Gate()
    real_close = VideoWriter.close

    def held_close(writer):
        gate.hold()
        return real_close(writer)

    monkeypatch.setattr(VideoWriter, "close", held_close)
    app = open_app(qtbot)
    path = tmp_path / "closed.mp4"
    app.recorder.chooser = lambda _window: path
    app.views.transport.record_action.trigger()
    qtbot.waitUntil(lambda: app.recorder.started_after_step is not None, timeout=WAIT_MS)
    app.intents.step(3)
    qtbot.waitUntil(lambda: app.recorder.frames == 3, timeout=WAIT_MS)
    try:
        app.window.close()
        assert app.recorder.finishing and not gate.left.is_set()  # the file is finished after the close
        assert not path.exists()
        assert app.recorder.wait_finished(deadline_ms=0) is False  # waiting has a deadline
    finally:
        gate.release.set()
    qtbot.waitUntil(lambda: not app.recorder.finishing, timeout=WAIT_MS)  # still finished after that wait
    assert path.stat().st_size > 0


def test_everything_at_once_is_waited_for_under_one_short_deadline(qtbot, qapp, monkeypatch, caplog):
    """A long step and a ray search held together: close waits for them, in all, one deadline."""
    waits_ms = []
    real_stop = Job.stop

    def recorded_stop(job, deadline_ms=1000):
        waits_ms.append(deadline_ms)
        return real_stop(job, deadline_ms)

    monkeypatch.setattr(Job, "stop", recorded_stop)
    gate, _told = _held_ray(monkeypatch)
    entered, release = threading.Event(), threading.Event()
    app = open_app(qtbot, _two_level_preset(), engine_factory=held_experiment(entered, release))
    app.capacity.run("ray")
    app.intents.step(1)
    qtbot.waitUntil(lambda: entered.is_set() and gate.entered.is_set(), timeout=WAIT_MS)
    waits_ms.clear()
    try:
        assert app.shutdown() is False  # both were left computing
        assert app.link.running and not gate.left.is_set()
    finally:
        release.set()
        gate.release.set()
    assert len(waits_ms) == 2 and sum(waits_ms) <= SHUTDOWN_DEADLINE_MS < 1000
    _wait_for_threads(qtbot, qapp)
    app.window.close()
    _no_errors_logged(caplog)


_CLOSE_DURING_AN_SVD = """
import sys
import threading
from pathlib import Path

import torch
from PySide6 import QtCore, QtWidgets

from muonscope.app.composition import App, launch

in_svd = threading.Event()
real_svd = torch.linalg.svd


def watched_svd(*args, **kwargs):
    if threading.current_thread() is not threading.main_thread():  # the engine's, not a measurement's
        in_svd.set()
    return real_svd(*args, **kwargs)


torch.linalg.svd = watched_svd
qt_app = QtWidgets.QApplication(sys.argv)


def close_once_an_svd_computes():
    for window in qt_app.topLevelWidgets():
        app = window.findChild(App)
        if app is not None and in_svd.is_set() and app.link.work_in_progress is not None:
            timer.stop()
            print("closing during step", app.link.work_in_progress.step, flush=True)
            window.close()


timer = QtCore.QTimer()
timer.timeout.connect(close_once_an_svd_computes)
timer.start(10)
sys.exit(launch(config_file=Path(sys.argv[1])))
"""

#: One Muon lane on a 2048×2048 memory, on the CPU in float64: its polar factor is one SVD that
#: takes seconds, and a step cannot be interrupted inside it.
_D2048 = """
[task]
kind = "zipf"
d = 2048
n_items = 2048
alpha = 1.5
batch_size = 256

[[lanes]]
optimizer = "muon"
lr = 0.3
momentum = 0.95
order = "pre"
polar = "exact"

[run]
eval_every = 10
spectra_every = 1
device = "cpu"
dtype = "float64"
"""


def test_the_real_app_closed_during_a_d2048_step_exits_cleanly(tmp_path):
    """The whole application, offscreen, closed while a step of a 2048×2048 memory is inside an SVD:
    the close leaves the step computing, and the process ends with status 0, without a traceback."""
    config = tmp_path / "d2048.toml"
    config.write_text(_D2048)
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    done = subprocess.run(
        [sys.executable, "-c", _CLOSE_DURING_AN_SVD, str(config)],
        capture_output=True,
        text=True,
        env=env,
        timeout=240,
    )
    assert done.returncode == 0, done.stderr
    assert "closing during step 1" in done.stdout
    assert "still busy" in done.stderr  # the step was left computing, not waited for
    assert "Traceback" not in done.stderr and "QThread" not in done.stderr, done.stderr
