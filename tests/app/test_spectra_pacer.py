"""Spectra while playing: as often as frames, never more than their share of the engine's time."""

from muonscope.app.spectra_pacer import SpectraPacer
from muonscope.engine import Experiment, ExperimentConfig, LaneConfig, RunConfig, TaskConfig


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _due_steps(pacer: SpectraPacer, clock: FakeClock, step_s: float, steps: int) -> list[int]:
    due = []
    for step in range(1, steps + 1):
        clock.now += step_s
        if pacer(step):
            due.append(step)
    return due


def test_cheap_spectra_follow_the_frame_rate():
    clock = FakeClock()
    pacer = SpectraPacer(lambda: 0.001, frame_interval_s=0.1, clock=clock)
    assert _due_steps(pacer, clock, step_s=0.025, steps=12) == [1, 5, 9]


def test_slow_steps_get_spectra_every_step_when_they_are_cheap():
    clock = FakeClock()
    pacer = SpectraPacer(lambda: 0.01, frame_interval_s=0.1, clock=clock)
    assert _due_steps(pacer, clock, step_s=0.5, steps=4) == [1, 2, 3, 4]


def test_costly_spectra_take_at_most_their_share_of_the_time():
    clock = FakeClock()
    pacer = SpectraPacer(lambda: 0.6, frame_interval_s=0.1, max_share=0.25, clock=clock)
    due = _due_steps(pacer, clock, step_s=1.0, steps=12)
    assert due == [1, 4, 7, 10]  # 0.6 s of spectra at most once per 2.4 s


def test_the_experiment_asks_the_gate_on_its_cadence_and_skips_when_told():
    config = ExperimentConfig(
        task=TaskConfig(d=16, n_items=64, batch_size=16),
        lanes=(LaneConfig(optimizer="sgd", lr=1.0),),
        run=RunConfig(spectra_every=2, eval_every=100),
    )
    experiment = Experiment(config)
    asked = []
    experiment.spectra_gate = lambda step: asked.append(step) or step != 4
    experiment.step(6)
    assert asked == [2, 4, 6]
    assert experiment.snapshot().lanes[0].spectra_step == 6
    assert experiment.last_spectra_s > 0
    experiment.spectra_gate = lambda step: step == 8
    experiment.step(2)
    assert experiment.snapshot().lanes[0].spectra_step == 8


def test_the_engine_loop_paces_spectra_only_while_playing():
    """Steps taken one by one (the debugger, offscreen frames) compute every spectrum they are due."""
    from muonscope.app.background import JobControl
    from muonscope.app.engine_loop import EngineLoop
    from muonscope.app.engine_protocol import Pause, Play, PlayingChanged, Step
    from muonscope.engine.snapshot import Snapshot
    from tests.app.helpers import small_preset

    gates = []

    class Watched(Experiment):
        def step(self, n=1, **kwargs):
            gates.append(self.spectra_gate)
            super().step(n, **kwargs)

    loop = EngineLoop(small_preset().config, Watched)
    control = JobControl(max_in_flight=1000)
    messages = loop.run(control)
    next(messages)
    loop.submit(Step(2))
    while not isinstance(message := next(messages), Snapshot) or message.step < 2:
        pass
    assert gates == [None, None]
    loop.submit(Play())
    while len(gates) < 4:
        next(messages)
    loop.submit(Pause())
    while not isinstance(message := next(messages), PlayingChanged) or message.playing:
        pass
    control.cancel()
    list(messages)
    assert all(isinstance(gate, SpectraPacer) for gate in gates[2:])


def test_a_paused_step_recomputed_in_full_extends_the_over_time_curve(qtbot):
    """Played fast, step 5's spectra were skipped: ② stopped at step 2 while the view was at 5."""
    from muonscope.app.debugger import StepRecalled
    from muonscope.app.frame_clock import FrameClock
    from muonscope.app.views import build_views
    from muonscope.engine.scalar_metrics import read_value
    from muonscope.engine.session import Session

    views = build_views()
    qtbot.addWidget(views.series)
    clock = FrameClock(views, lambda *_args, **_kwargs: None)
    views.series.set_mode("metric", "gap")
    session = Session(ExperimentConfig(task=TaskConfig(d=16, n_items=64, batch_size=16)))
    session.experiment.spectra_gate = lambda step: step == 2
    clock.on_snapshot(session.snapshot())
    for _ in range(5):
        clock.on_snapshot(session.step_once())
    clock.start()
    with qtbot.waitSignal(clock.frame_drawn, timeout=10_000):
        clock.request_frame()
    steps, _gaps = views.series.curve_data(0)
    assert steps.max() == 2
    recalled = session.snapshot_at(5)
    clock.on_recalled(StepRecalled(5, recalled))
    with qtbot.waitSignal(clock.frame_drawn, timeout=10_000):
        clock.request_frame()
    steps, gaps = views.series.curve_data(0)
    assert steps.max() == 5 and gaps[-1] == read_value(recalled.lanes[0], "gap")
    clock.stop()
