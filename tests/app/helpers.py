"""Small presets and waits shared by the app tests."""

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


def open_window(qtbot, preset=None, **kwargs):
    from muonscope.app.main_window import MainWindow

    window = MainWindow(preset or small_preset(), **kwargs)
    qtbot.addWidget(window)
    window.resize(1400, 900)
    window.show()
    window.start()
    qtbot.waitUntil(lambda: window.controller.newest is not None, timeout=WAIT_MS)
    return window


def wait_for_step(qtbot, window, step):
    qtbot.waitUntil(
        lambda: window.controller.newest is not None and window.controller.newest.step >= step,
        timeout=WAIT_MS,
    )


def wait_for_frame(qtbot, window):
    with qtbot.waitSignal(window.controller.frame_drawn, timeout=WAIT_MS):
        window.controller._mark_dirty()
