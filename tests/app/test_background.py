"""The one background adapter: a generator on a QThread, its values delivered in order, with backpressure."""

import logging
import threading

import pytest

from muonscope.app.background import Job, JobControl
from muonscope.app.engine_loop import EngineLoop
from muonscope.app.engine_protocol import Pause, Play, PlayingChanged, Step
from muonscope.engine import Snapshot
from muonscope.engine.thread_count import ThreadChooser
from tests.app.helpers import WAIT_MS, small_preset


def _job(qtbot, body, **kwargs):
    job = Job(body, **kwargs)
    yield_log = []
    job.yielded.connect(yield_log.append)
    return job, yield_log


def test_values_arrive_in_order_then_the_return_value_then_finished(qtbot, qapp):
    def body(_control):
        yield from range(5)
        return "done"

    job, got = _job(qtbot, body)
    with qtbot.waitSignals(
        [job.returned, job.finished],
        order="strict",
        timeout=WAIT_MS,
        check_params_cbs=[lambda v: v == "done", None],
    ):
        job.start()
    assert got == [0, 1, 2, 3, 4]
    assert not job.running


def test_a_body_cannot_run_more_than_its_limit_ahead_of_the_window(qtbot):
    seen = []

    def body(control):
        for i in range(200):
            seen.append(control.in_flight)
            yield i

    job, got = _job(qtbot, body, max_in_flight=3)
    with qtbot.waitSignal(job.finished, timeout=WAIT_MS):
        job.start()
    assert got == list(range(200))  # nothing dropped
    assert max(seen) <= 3


def test_cancel_ends_an_endless_body_and_runs_its_cancel_callbacks(qtbot):
    called = threading.Event()

    def body(control):
        control.on_cancel(called.set)
        i = 0
        while True:
            yield i
            i += 1

    job, got = _job(qtbot, body)
    job.start()
    qtbot.waitUntil(lambda: len(got) > 10, timeout=WAIT_MS)
    with qtbot.waitSignal(job.finished, timeout=WAIT_MS):
        job.cancel()
    assert called.is_set() and job.cancelled and not job.running


def test_a_failure_is_reported_and_the_job_still_finishes(qtbot):
    def body(_control):
        yield 1
        raise ValueError("bad point")

    job, got = _job(qtbot, body)
    with qtbot.waitSignals(
        [job.failed, job.finished],
        order="strict",
        timeout=WAIT_MS,
        check_params_cbs=[lambda message: message == "ValueError: bad point", None],
    ):
        job.start()
    assert got == [1]


def test_stop_delivers_nothing_more_and_honours_its_deadline(qtbot, qapp, caplog):
    """A step left computing is logged for the window's terminal, not warned about: a command
    stopped by Ctrl-C in a long step printed the log line to its user as a warning."""
    release = threading.Event()
    waiting = threading.Event()

    def body(_control):
        yield "before"
        waiting.set()
        release.wait(WAIT_MS / 1000)  # a long step that cannot be interrupted
        yield "after"

    job, got = _job(qtbot, body)
    job.start()
    qtbot.waitUntil(waiting.is_set, timeout=WAIT_MS)
    try:
        with caplog.at_level(logging.INFO, logger="muonscope.app.background"):
            assert job.stop(deadline_ms=20) is False
    finally:
        release.set()
    assert [record.levelno for record in caplog.records if "still busy" in record.message] == [logging.INFO]
    qtbot.waitUntil(lambda: not job.running, timeout=WAIT_MS)
    qapp.processEvents()  # anything already queued is handled now
    assert "after" not in got


def _until(messages, predicate):
    for message in messages:
        if predicate(message):
            return message
    pytest.fail("the loop ended first")


def test_the_engine_loop_runs_without_qt():
    """Driven with next() alone: a snapshot per step, and a pause reported after the steps before it."""
    loop = EngineLoop(small_preset().config)
    control = JobControl(max_in_flight=1000)
    messages = loop.run(control)
    first = next(messages)
    assert isinstance(first, Snapshot) and first.step == 0
    loop.submit(Step(3))
    steps = [_until(messages, lambda m: isinstance(m, Snapshot)).step for _ in range(3)]
    assert steps == [1, 2, 3]
    loop.submit(Play())
    assert _until(messages, lambda m: isinstance(m, PlayingChanged)).playing
    loop.submit(Pause())
    assert not _until(messages, lambda m: isinstance(m, PlayingChanged)).playing  # the next change: paused
    control.cancel()
    assert all(not isinstance(m, Snapshot) or m.step >= 3 for m in messages)


def test_a_run_to_a_step_is_reported_as_moving_and_pause_stops_it():
    """Step N (and a go-to ahead) moves the run as play does: the window hears where it runs to,
    hears it stop before the last step's snapshot, and a pause stops it as it stops playing."""
    loop = EngineLoop(small_preset().config)
    control = JobControl(max_in_flight=1000)
    messages = loop.run(control)
    next(messages)  # step 0
    loop.submit(Step(1))
    first = _until(messages, lambda m: isinstance(m, Snapshot | PlayingChanged))
    assert isinstance(first, Snapshot) and first.step == 1  # one step is no run: nothing said
    loop.submit(Step(3))
    seen = []
    while not (seen and isinstance(seen[-1], Snapshot) and seen[-1].step == 4):
        seen.append(_until(messages, lambda m: isinstance(m, Snapshot | PlayingChanged)))
    kinds = [(m.playing, m.run_to) if isinstance(m, PlayingChanged) else m.step for m in seen]
    assert kinds == [(True, 4), 2, 3, (False, None), 4]
    loop.submit(Step(10**6))
    assert _until(messages, lambda m: isinstance(m, PlayingChanged)) == PlayingChanged(True, 10**6 + 4)
    _until(messages, lambda m: isinstance(m, Snapshot) and m.step == 6)
    loop.submit(Pause())
    stopped_at = 6
    for message in messages:  # every snapshot taken before the pause comes before its message
        if isinstance(message, Snapshot):
            stopped_at = message.step
        elif isinstance(message, PlayingChanged):
            assert message == PlayingChanged(False, None)
            break
    loop.submit(Step(1))  # had the run gone on, the next snapshot would be further than one step
    assert _until(messages, lambda m: isinstance(m, Snapshot)).step == stopped_at + 1
    control.cancel()


def test_the_engine_thread_sets_and_times_its_own_thread_count():
    """The count is applied on the thread that steps (BLAS reads it there), and every step is timed."""
    calls = []
    chooser = ThreadChooser(
        (1, 2), lambda n: calls.append((n, threading.get_ident())), window_steps=2, window_s=0.0
    )
    loop = EngineLoop(small_preset().config, threads=chooser)
    control = JobControl(max_in_flight=1000)

    def drive():
        messages = loop.run(control)
        next(messages)
        loop.submit(Step(8))
        _until(messages, lambda m: isinstance(m, Snapshot) and m.step == 8)
        control.cancel()
        list(messages)

    engine = threading.Thread(target=drive)
    engine.start()
    engine.join(timeout=WAIT_MS / 1000)
    assert not engine.is_alive()
    assert calls and {ident for _, ident in calls} == {engine.ident}
    assert set(chooser.medians_s) == {1, 2}  # each count timed over the steps the loop took
