"""Suite-wide set-up: headless Qt, the gpu marker, and the Qt thread/timer leak check."""

import inspect
import os
import re
import sys

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest
import torch  # imported before any Qt module: the reverse order has crashed

QT_TEST_FOLDERS = ("app", "widgets")


@pytest.hookimpl(tryfirst=True)  # before xdist's own, which reads the groups into the test ids
def pytest_collection_modifyitems(config, items):
    """Skip tests marked ``gpu`` on machines without CUDA; keep each reproduction's tests together.

    It must run before xdist's hook of the same name in each worker: after it, the groups were set
    too late, and a reproduction (a minute for one_step_capacity) was computed in two processes.
    """
    for item in items:
        name = _reproduction_read(item)
        if name is not None and config.pluginmanager.hasplugin("xdist"):
            item.add_marker(pytest.mark.xdist_group(f"reproduction-{name}"))
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs CUDA")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)


_READS_A_REPRODUCTION = re.compile(r'reproduced\("(\w+)"\)')


def _reproduction_read(item) -> str | None:
    """The preset whose CI-size reproduction a test reads through tests/reproduced.py, or None.

    Each test process computes a reproduction once and keeps it (up to a minute each); with the
    suite spread over processes (``make test`` runs ``pytest -n``), the tests of one reproduction go
    to one process (``--dist loadgroup``), so none is computed twice.
    """
    function = getattr(item, "function", None)
    if function is None or "reproduced" not in function.__globals__:
        return None
    source = inspect.getsource(function)
    name = getattr(getattr(item, "callspec", None), "params", {}).get("name")
    if isinstance(name, str) and "reproduced(name)" in source:
        return name
    found = _READS_A_REPRODUCTION.findall(source)
    return found[0] if found else None


@pytest.fixture(autouse=True)
def private_settings(tmp_path_factory, monkeypatch):
    """The window's remembered settings (recent sessions) go to a fresh folder, never the user's nor
    another test's: Qt reads XDG_CONFIG_HOME once a process, so the folder is also set in Qt."""
    folder = str(tmp_path_factory.mktemp("config"))
    monkeypatch.setenv("XDG_CONFIG_HOME", folder)
    qt_core = sys.modules.get("PySide6.QtCore")
    if qt_core is not None:  # (before Qt is loaded, the variable is enough)
        for kind in (qt_core.QSettings.Format.NativeFormat, qt_core.QSettings.Format.IniFormat):
            qt_core.QSettings.setPath(kind, qt_core.QSettings.Scope.UserScope, folder)


@pytest.fixture(autouse=True)
def scratch_working_folder(tmp_path_factory, monkeypatch):
    """Relative paths a test gives (``--save b``, ``--out x.mp4``) land in a scratch folder, never the
    checkout: checking a refusal with the refusal missing once wrote a 200 MB session into it."""
    monkeypatch.chdir(tmp_path_factory.mktemp("cwd"))


@pytest.fixture(autouse=True)
def palette_in_order(request):
    """After a Qt test, lanes wear the palette in order again (one that removed a lane shifted it)."""
    yield
    if request.node.path.parent.name in QT_TEST_FOLDERS:
        from muonscope.widgets.theme import set_lane_slots

        set_lane_slots(())


@pytest.fixture(autouse=True)
def no_leaked_threads_or_timers(request, monkeypatch):
    """Fail a Qt test that leaves a QThread running or a repeating QTimer active.

    Every QThread and QTimer started from Python is recorded. Autouse and independent of qtbot,
    the fixture is set up before qtbot and checks after qtbot has closed the test's widgets (which
    is when windows stop their engines and timers). Engine tests never touch Qt.
    """
    if request.node.path.parent.name not in QT_TEST_FOLDERS:
        yield
        return
    from PySide6 import QtCore

    qapp = request.getfixturevalue("qapp")
    threads, timers = [], []
    start_thread, start_timer = QtCore.QThread.start, QtCore.QTimer.start

    def track_thread(self, *args):
        threads.append(self)
        return start_thread(self, *args)

    def track_timer(self, *args):
        timers.append(self)
        return start_timer(self, *args)

    monkeypatch.setattr(QtCore.QThread, "start", track_thread)
    monkeypatch.setattr(QtCore.QTimer, "start", track_timer)
    yield
    qapp.processEvents()
    running = [t for t in threads if _alive(lambda t=t: t.isRunning())]
    active = [t for t in timers if _alive(lambda t=t: t.isActive() and not t.isSingleShot())]
    assert not running, f"{len(running)} QThread(s) still running after the test"
    assert not active, f"{len(active)} QTimer(s) still active after the test"


def _alive(probe) -> bool:
    try:
        return bool(probe())
    except RuntimeError:  # the C++ object is gone: certainly not running
        return False
