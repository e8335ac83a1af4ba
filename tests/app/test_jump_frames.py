"""A jump (step N, a go-to ahead) draws few frames on the way, so that the engine arrives sooner;
what the user asks for meanwhile is drawn at once, and the arrival always is."""

from muonscope.app import frame_clock
from tests.app.helpers import WAIT_MS, open_app, wait_for_frame, wait_until_paused

#: Longer than any test: with it, a jump draws no frame on the way at all.
_NEVER_S = 10_000.0


def test_a_jump_draws_its_arrival_but_not_the_steps_on_the_way(qtbot, monkeypatch):
    monkeypatch.setattr(frame_clock, "JUMP_FRAME_INTERVAL_S", _NEVER_S)
    app = open_app(qtbot)
    wait_for_frame(qtbot, app)
    start = app.clock.newest.step
    drawn: list[int] = []
    app.clock.frame_drawn.connect(drawn.append)
    app.intents.step(100)
    qtbot.waitUntil(lambda: start + 100 in drawn, timeout=WAIT_MS)  # the arrival, once the run stops
    # the run says it stopped as its last step ends, before that step's snapshot comes: a tick
    # between the two may draw the step before it
    assert drawn[-1] == start + 100 and set(drawn[:-1]) <= {start + 99}, drawn
    assert app.window.status_text("step") == f"step {start + 100}"


def test_what_the_user_asks_for_during_a_jump_is_drawn_at_once(qtbot, monkeypatch):
    monkeypatch.setattr(frame_clock, "JUMP_FRAME_INTERVAL_S", _NEVER_S)
    app = open_app(qtbot)
    wait_for_frame(qtbot, app)
    app.debugger.go_to(10**8)
    qtbot.waitUntil(lambda: app.clock.playing, timeout=WAIT_MS)
    with qtbot.waitSignal(app.clock.frame_drawn, timeout=WAIT_MS):
        app.views.spectrum.set_mode("view", "gradient:steps")
    assert app.clock.playing  # still on the way: the frame did not wait for the arrival
    app.intents.play(False)
    wait_until_paused(qtbot, app)


def test_playing_draws_the_steps_as_they_come(qtbot, monkeypatch):
    """The cap is a jump's: a run that plays is watched, and draws step after step."""
    monkeypatch.setattr(frame_clock, "JUMP_FRAME_INTERVAL_S", _NEVER_S)
    app = open_app(qtbot)
    wait_for_frame(qtbot, app)
    drawn: list[int] = []
    app.clock.frame_drawn.connect(drawn.append)
    app.intents.play(True)
    qtbot.waitUntil(lambda: len(set(drawn)) >= 3, timeout=WAIT_MS)
    app.intents.play(False)
    wait_until_paused(qtbot, app)
