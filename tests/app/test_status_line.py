"""The status line's rates: measured on an injected clock, shown only while playing."""

import re

import pytest

from muonscope.app.main_window import rate_text
from muonscope.app.rate_meter import RateMeter
from muonscope.widgets.time_text import duration_text
from tests.app.helpers import WAIT_MS, open_app, wait_for_step, wait_until_paused


class FakeClock:
    """Seconds that pass only when the test says so."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def _meter_with_events(interval_s: float, count: int) -> tuple[RateMeter, FakeClock]:
    clock = FakeClock()
    meter = RateMeter(window_s=1.0, clock=clock)
    for _ in range(count):
        meter.add()
        clock.advance(interval_s)
    clock.advance(-interval_s)  # now is the moment of the last event
    return meter, clock


def test_fast_steady_events_read_at_their_rate():
    meter, _ = _meter_with_events(0.05, 60)
    assert meter.rate() == pytest.approx(20.0)


def test_events_slower_than_the_window_read_at_their_true_rate():
    meter, clock = _meter_with_events(10 / 3, 4)  # one step every 3.3 s: a 1 s window holds one
    assert meter.rate() == pytest.approx(0.3)
    clock.advance(3.0)  # waiting for the next step, no later than the steady interval
    assert meter.rate() == pytest.approx(0.3)


def test_the_rate_falls_while_no_event_comes_instead_of_freezing():
    meter, clock = _meter_with_events(0.1, 30)
    assert meter.rate() == pytest.approx(10.0)
    clock.advance(5.0)
    assert meter.rate() == pytest.approx(0.2)  # one step in the last 5 s at most
    clock.advance(5.0)
    assert meter.rate() == pytest.approx(0.1)


def test_events_that_count_several_steps():
    clock = FakeClock()
    meter = RateMeter(clock=clock)
    meter.add()
    clock.advance(0.5)
    meter.add(5)  # five steps arrived in one snapshot
    assert meter.rate() == pytest.approx(10.0)


def test_no_rate_before_two_events_or_after_clear():
    clock = FakeClock()
    meter = RateMeter(clock=clock)
    assert meter.rate() is None
    meter.add()
    assert meter.rate() is None
    clock.advance(1.0)
    meter.add()
    assert meter.rate() == pytest.approx(1.0)
    meter.clear()
    assert meter.rate() is None


@pytest.mark.parametrize(
    ("per_s", "text"), [(24.4, "24"), (3.46, "3.5"), (0.3, "0.3"), (0.0421, "0.042"), (0.0, "0")]
)
def test_rates_keep_the_digits_they_need(per_s, text):
    assert rate_text(per_s) == text


def test_status_shows_rates_while_playing_and_none_while_paused(qtbot):
    app = open_app(qtbot)
    app.intents.play(True)
    wait_for_step(qtbot, app, 5)
    qtbot.waitUntil(lambda: app.window.status_text("rate") != "", timeout=WAIT_MS)
    assert re.fullmatch(r"[0-9.]+ steps/s", app.window.status_text("rate"))
    assert float(app.window.status_text("rate").split()[0]) > 0
    qtbot.waitUntil(lambda: app.window.status_text("fps") != "", timeout=WAIT_MS)
    assert re.fullmatch(r"[0-9.]+ fps", app.window.status_text("fps"))
    app.intents.play(False)
    wait_until_paused(qtbot, app)
    assert app.window.status_text("rate") == ""
    assert app.window.status_text("fps") == ""
    assert app.window.status_text("lanes").startswith("paused")


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (45.2, "45 s"),
        (90, "1.5 min"),
        (12.6 * 60, "13 min"),
        (3.5 * 3600, "3.5 h"),
        (30 * 3600, "30 h"),
        (58 * 86400, "58 days"),
        (2.5 * 86400, "2.5 days"),
    ],
)
def test_a_wait_is_said_in_the_unit_that_reads_it(seconds, text):
    assert duration_text(seconds) == text


def test_a_run_to_a_far_step_says_how_long_it_will_take(qtbot):
    """Go to 99999999 ran on at 20 steps/s, for two months, saying only "running to step 99999999"."""
    app = open_app(qtbot)
    app.debugger.go_to(10**8)
    qtbot.waitUntil(lambda: "more" in app.window.status_text("lanes"), timeout=WAIT_MS)
    said = app.window.status_text("lanes")
    assert re.match(r"running to step 100000000, about [0-9.]+ (days|h|min) more · ", said), said
    app.intents.play(False)
    wait_until_paused(qtbot, app)


def test_while_looking_back_the_status_line_says_its_step_is_the_engines(qtbot):
    """A bare "step 6" sat beside a caption and a timeline at step 3."""
    from tests.app.helpers import wait_for_frame

    app = open_app(qtbot)
    app.intents.step(6)
    wait_for_step(qtbot, app, 6)
    app.clock.look_at(3)
    wait_for_frame(qtbot, app)
    assert app.window.status_text("step") == "engine at step 6"
    app.clock.follow()
    wait_for_frame(qtbot, app)
    assert app.window.status_text("step") == "step 6"
