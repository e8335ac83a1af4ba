"""A long step shows a busy line with its elapsed time, and Cancel abandons it cleanly."""

import re
import threading
from dataclasses import replace

from PySide6 import QtWidgets

from muonscope.app import engine_loop, session_commands
from muonscope.app.background import JobControl
from muonscope.app.engine_loop import EngineLoop
from muonscope.app.engine_protocol import Apply, Note, Step
from muonscope.engine import Experiment, Snapshot
from muonscope.engine.changes import SetField
from tests.app.helpers import (
    WAIT_MS,
    held_experiment,
    open_app,
    small_preset,
    wait_for_frame,
    wait_for_step,
    wait_until_paused,
)


def test_a_long_step_shows_the_busy_line_and_cancel_abandons_it(qtbot):
    entered, release = threading.Event(), threading.Event()
    app = open_app(qtbot, engine_factory=held_experiment(entered, release, first_only=True))
    busy = app.views.busy
    try:
        app.intents.step(5)
        qtbot.waitUntil(entered.is_set, timeout=WAIT_MS)
        qtbot.waitUntil(busy.isVisible, timeout=WAIT_MS)  # once the step has run for a second
        assert re.fullmatch(r"computing step 1 · \d+ s", busy.text), busy.text
        assert app.window.status_text("step") == "step 0"
        busy.cancel_button.click()
        assert busy.cancelling and not busy.cancel_button.isEnabled()
    finally:
        release.set()  # the step goes on to its first cancellation point and stops there
    qtbot.waitUntil(lambda: app.views.message.text.startswith("Cancelled step 1"), timeout=WAIT_MS)
    assert "paused at step 0" in app.views.message.text
    qtbot.waitUntil(lambda: not busy.isVisible(), timeout=WAIT_MS)
    assert app.link.loop.steps_queued == 0  # the four steps queued after it were dropped
    assert app.link.work_in_progress is None
    assert app.clock.newest.step == 0 and not app.clock.playing
    assert len(app.clock.history) == 4  # one row per lane: step 0 only, nothing of step 1
    app.intents.step(1)  # the engine is as before the step: it takes it again, in full
    wait_for_step(qtbot, app, 1)
    wait_until_paused(qtbot, app)
    wait_for_frame(qtbot, app)
    assert app.clock.history.column("step", lane=0).tolist() == [0, 1]
    assert not app.views.message.text.startswith("Cancelled")  # the run moved on


def test_the_busy_line_floats_over_the_stage_and_moves_no_plot(qtbot):
    """A step that runs past a second shows the line; the next quick one hides it: were it a row of
    the layout, the plots would jump down and up with every slow step."""
    entered, release = threading.Event(), threading.Event()
    app = open_app(qtbot, engine_factory=held_experiment(entered, release, first_only=True))
    views, stage = app.views, app.window.stage
    plots = (views.spectrum, views.series, views.class_error, views.capacity, views.timeline)
    views.message.show_message("An earlier note stays readable above the busy line.", "info")
    before = [plot.geometry() for plot in plots]
    try:
        app.intents.step(1)
        qtbot.waitUntil(entered.is_set, timeout=WAIT_MS)
        qtbot.waitUntil(views.busy.isVisible, timeout=WAIT_MS)
        assert [plot.geometry() for plot in plots] == before
        line = views.busy.geometry()
        assert views.busy.parentWidget() is stage and stage.rect().contains(line)
        assert line.top() > views.message.geometry().bottom()  # the note is not covered
        assert line.height() >= views.busy.sizeHint().height()
        widgets = [child for child in stage.children() if isinstance(child, QtWidgets.QWidget)]
        assert widgets[-1] is views.busy  # drawn above the captions it floats over
    finally:
        release.set()
    wait_for_step(qtbot, app, 1)
    qtbot.waitUntil(lambda: not views.busy.isVisible(), timeout=WAIT_MS)
    assert [plot.geometry() for plot in plots] == before


def test_a_quick_step_shows_no_busy_line(qtbot):
    app = open_app(qtbot)
    app.intents.step(3)
    wait_for_step(qtbot, app, 3)
    app.work_watch.poll()
    assert not app.views.busy.isVisible()


def test_a_change_during_a_long_step_goes_first_and_the_run_plays_on(qtbot, monkeypatch):
    """The step under way is undone, the change applies at the boundary on screen, play goes on."""
    monkeypatch.setattr(engine_loop, "_MAKE_WAY_AFTER_S", 0.0)  # every step in flight counts as long
    entered, release = threading.Event(), threading.Event()
    app = open_app(qtbot, engine_factory=held_experiment(entered, release, first_only=True))
    try:
        app.intents.play(True)
        qtbot.waitUntil(entered.is_set, timeout=WAIT_MS)
        qtbot.waitUntil(lambda: app.link.work_in_progress is not None, timeout=WAIT_MS)
        app.intents.change("task.label_noise", 0.2)
    finally:
        release.set()
    wait_for_step(qtbot, app, 2)
    change = next(e for e in app.clock.newest.events if e.field == "task.label_noise")
    assert change.step == 0  # before the abandoned step, not after it
    assert app.clock.playing
    assert not app.views.message.text.startswith("Cancelled")
    app.intents.play(False)
    wait_until_paused(qtbot, app)


def test_a_change_made_as_a_step_begins_abandons_it_once_the_step_turns_out_long(monkeypatch):
    """How long the step has run is judged at its cancellation points, not when the change comes:
    the step that evaluates the population is long, though it has only begun when the user clicks."""
    loop: EngineLoop
    long_yet = []

    class ClickedAsStepTwoBegins(Experiment):
        def step(self, n=1, *, cancelled=None):
            if self.step_count == 1 and not long_yet:
                loop.submit(Apply(SetField("task.label_noise", 0.2)))
                long_yet.append(cancelled())
                monkeypatch.setattr(engine_loop, "_MAKE_WAY_AFTER_S", 0.0)  # the step has run long now
            super().step(n, cancelled=cancelled)

    monkeypatch.setattr(engine_loop, "_MAKE_WAY_AFTER_S", 3600.0)
    loop = EngineLoop(small_preset().config, ClickedAsStepTwoBegins)
    control = JobControl(max_in_flight=1000)
    messages = loop.run(control)
    next(messages)
    loop.submit(Step(3))
    seen = []
    while not seen or not isinstance(seen[-1], Snapshot) or seen[-1].step < 3:
        seen.append(next(messages))
    control.cancel()
    list(messages)
    assert long_yet == [False]  # just begun: the step was not abandoned when the change arrived
    snapshots = [m for m in seen if isinstance(m, Snapshot)]
    assert [s.step for s in snapshots] == [1, 1, 2, 3]  # step 2 gave way, then was taken with the change
    change = next(e for e in snapshots[-1].events if e.field == "task.label_noise")
    assert change.step == 1
    assert snapshots[1].config.task.label_noise == 0.2
    assert not any(isinstance(m, Note) and m.text.startswith("Cancelled") for m in seen)


def test_a_restart_shows_the_new_run_before_its_first_long_step(qtbot):
    """At d = 2048 the panels kept the old run's curves, and "apply & restart (1 change)", for the 20 s
    of the new run's first step: its first snapshot waited for that step to end."""
    entered, release = threading.Event(), threading.Event()
    release.set()
    app = open_app(qtbot, engine_factory=held_experiment(entered, release))
    try:
        app.intents.step(2)
        wait_for_step(qtbot, app, 2)
        wait_until_paused(qtbot, app)
        release.clear()
        entered.clear()
        app.intents.restart_with({"d": 24})
        app.intents.step(1)
        qtbot.waitUntil(entered.is_set, timeout=WAIT_MS)  # the new run's first step has begun
        qtbot.waitUntil(lambda: app.clock.newest.config.task.d == 24, timeout=WAIT_MS // 4)
        assert app.clock.newest.step == 0 and len(app.clock.history) == 4  # the new run's step 0 alone
    finally:
        release.set()
    wait_for_step(qtbot, app, 1)


def test_building_a_large_run_shows_the_busy_line_without_cancel(qtbot):
    """A d = 2048 run takes seconds to build (embeddings, the step-0 evaluation): after "apply &
    restart" the window showed the old run with no sign of work."""
    hold, entered, release = threading.Event(), threading.Event(), threading.Event()

    class SlowToBuild(Experiment):
        def __init__(self, config, *args, **kwargs):
            if hold.is_set():
                entered.set()
                release.wait(timeout=WAIT_MS / 1000)
            super().__init__(config, *args, **kwargs)

    app = open_app(qtbot, engine_factory=SlowToBuild)
    busy = app.views.busy
    hold.set()
    try:
        app.intents.restart_with({"d": 24})
        qtbot.waitUntil(entered.is_set, timeout=WAIT_MS)
        qtbot.waitUntil(busy.isVisible, timeout=WAIT_MS)
        assert re.fullmatch(r"building the run · \d+ s", busy.text), busy.text
        assert not busy.cancel_button.isVisible()  # a run cannot be half built
    finally:
        release.set()
    qtbot.waitUntil(lambda: app.clock.newest.config.task.d == 24, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: not busy.isVisible(), timeout=WAIT_MS)
    assert app.link.work_in_progress is None


def test_a_long_rewind_shows_its_progress_and_cancel_stops_it_where_it_is(qtbot, monkeypatch):
    """Going back replays up to a checkpoint spacing of steps (hundreds on a long run): the message
    says how long it will take, the busy line counts the steps, and Cancel leaves the run at the
    last step replayed, on the branch it was on."""
    monkeypatch.setattr(session_commands, "_LONG_JUMP_S", 0.0)  # every rewind counts as long
    entered, release = threading.Event(), threading.Event()
    release.set()
    preset = small_preset()
    settings = {"task.d": 48, "task.n_items": 192, "run.checkpoint_mb": 1.0}  # checkpoints steps apart
    preset = replace(preset, config=preset.config.with_values(list(settings.items())))
    app = open_app(qtbot, preset, engine_factory=held_experiment(entered, release))
    busy = app.views.busy
    app.debugger.go_to(60)
    qtbot.waitUntil(lambda: app.clock.newest.step == 60 and not app.clock.playing, timeout=WAIT_MS)
    release.clear()
    entered.clear()
    try:
        app.debugger.go_to(59)  # off the checkpoints' grid: steps are replayed to reach it
        qtbot.waitUntil(entered.is_set, timeout=WAIT_MS)
        qtbot.waitUntil(busy.isVisible, timeout=WAIT_MS)
        progress = re.fullmatch(r"going back to step 59: 0 of (\d+) steps replayed · \d+ s", busy.text)
        assert progress and int(progress[1]) >= 1, busy.text
        assert app.views.message.text.startswith(f"Going back to step 59: replaying {progress[1]} steps")
        assert busy.cancel_button.isVisible()
        busy.cancel_button.click()
    finally:
        release.set()
    qtbot.waitUntil(lambda: app.views.message.text.startswith("Stopped going back"), timeout=WAIT_MS)
    stood = int(re.search(r"stands at step (\d+)", app.views.message.text)[1])
    assert stood == 59 - int(progress[1])  # the step held was undone: the replay's checkpoint
    qtbot.waitUntil(lambda: app.clock.newest.step == stood and not busy.isVisible(), timeout=WAIT_MS)
    assert app.link.work_in_progress is None and not app.clock.playing
    app.debugger.go_to(59)  # and the rewind can be finished: the recorded steps replay as before
    qtbot.waitUntil(lambda: app.clock.newest.step == 59, timeout=WAIT_MS)


def test_a_change_before_the_run_has_shown_its_first_step_is_refused_in_words(qtbot):
    """Before the engine has reported its settings there is nothing to check a change against:
    "+ add lane" while a large run was being built vanished without a word."""
    from muonscope.app.composition import App

    entered, release = threading.Event(), threading.Event()

    class SlowToBuild(Experiment):
        def __init__(self, config, *args, **kwargs):
            entered.set()
            release.wait(timeout=WAIT_MS / 1000)
            super().__init__(config, *args, **kwargs)

    app = App(small_preset(), engine_factory=SlowToBuild)
    qtbot.addWidget(app.window)
    app.window.show()
    app.start()
    try:
        qtbot.waitUntil(entered.is_set, timeout=WAIT_MS)
        app.views.lanes.add_button.click()
        assert "has not shown its first step" in app.views.message.text
    finally:
        release.set()
    qtbot.waitUntil(lambda: app.clock.newest is not None, timeout=WAIT_MS)
    wait_for_frame(qtbot, app)
    assert "first step" not in app.views.message.text  # step 0 is shown: the refusal stood no longer
    app.views.lanes.add_button.click()
    qtbot.waitUntil(lambda: len(app.clock.newest.config.lanes) == 5, timeout=WAIT_MS)


def test_changes_coming_faster_than_steps_take_abandon_each_step_once_not_for_ever(monkeypatch):
    """An arrow key held on an lr box while the run played sent a change every 30 ms: each abandoned
    the step under way, the next step met the next change, and the run stood still until released."""
    loop: EngineLoop
    values = iter(0.01 * (k % 40 + 1) for k in range(10_000))

    class DraggedWhileStepping(Experiment):
        def step(self, n=1, *, cancelled=None):
            loop.submit(Apply(SetField("task.label_noise", next(values))))  # one during every step
            super().step(n, cancelled=cancelled)

    monkeypatch.setattr(engine_loop, "_MAKE_WAY_AFTER_S", 0.0)  # every step in flight counts as long
    loop = EngineLoop(small_preset().config, DraggedWhileStepping)
    control = JobControl(max_in_flight=1000)
    messages = loop.run(control)
    next(messages)
    loop.submit(Step(3))
    steps = []
    for _ in range(500):  # a run that stands still never gets there
        message = next(messages)
        if isinstance(message, Snapshot):
            steps.append(message.step)
            if message.step == 3:
                break
    control.cancel()
    list(messages)
    assert steps[-1] == 3
