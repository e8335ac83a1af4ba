"""The engine's torch thread count: a core left to the window unless taking it is clearly faster."""

import logging
import os
import sys
import threading

import pytest
import torch

from muonscope.engine.thread_count import ThreadChooser, share_cores_with_a_window, threads_asked


@pytest.mark.parametrize(("cores", "threads"), [(1, 1), (2, 1), (16, 15)])
def test_a_window_keeps_one_core_for_itself(cores, threads):
    before = torch.get_num_threads()
    try:
        assert share_cores_with_a_window(cores) == threads
        assert torch.get_num_threads() == threads
    finally:
        torch.set_num_threads(before)


@pytest.mark.parametrize(
    ("value", "asked"),
    [("1", 1), ("4", 4), ("4,2", 4), (" 3 ", 3), ("0", None), ("-2", None), ("two", None), ("", None)],
)
def test_the_users_thread_count_is_read_as_openmp_reads_it(value, asked):
    assert threads_asked({"OMP_NUM_THREADS": value}) == asked
    assert threads_asked({}) is None


def test_a_window_beside_a_count_the_user_asked_for_keeps_that_count():
    """OMP_NUM_THREADS=1 was honoured by ``muonscope run`` but the window timed two threads all the same."""
    before = torch.get_num_threads()
    try:
        assert share_cores_with_a_window(16, asked=3) == 3 and torch.get_num_threads() == 3
    finally:
        torch.set_num_threads(before)
    steps = SimulatedSteps({1: 0.10, 2: 0.01})  # two threads far faster: the chooser alone would take them
    chooser = ThreadChooser.beside_a_window(2, asked=1)  # not begun: that would lower this thread
    steps.run(chooser, 400)
    assert chooser.threads == 1 and chooser.medians_s == {}
    assert ThreadChooser.beside_a_window(2).threads == 1  # without a count asked: chosen by timing


class SimulatedSteps:
    """Steps whose seconds depend on the count in force, as a machine's would."""

    def __init__(self, seconds_at: dict[int, float], heavy_every: int = 0) -> None:
        self.seconds_at = seconds_at
        self.heavy_every = heavy_every  # every k-th step takes 5× longer (an evaluation), if k > 0
        self.applied: list[int] = []
        self.taken = 0

    def apply(self, threads: int) -> None:
        self.applied.append(threads)

    def run(self, chooser: ThreadChooser, steps: int) -> None:
        for _ in range(steps):
            self.taken += 1
            heavy = self.heavy_every and self.taken % self.heavy_every == 0
            chooser.record(self.seconds_at[chooser.threads] * (5.0 if heavy else 1.0))


def _chooser(steps: SimulatedSteps, **kwargs) -> ThreadChooser:
    chooser = ThreadChooser((1, 2), steps.apply, window_steps=6, window_s=0.5, hold_s=10.0, **kwargs)
    chooser.begin()
    return chooser


def test_two_threads_are_kept_when_clearly_faster():
    steps = SimulatedSteps({1: 0.10, 2: 0.07}, heavy_every=8)
    chooser = _chooser(steps)
    steps.run(chooser, 40)
    assert chooser.threads == 2
    assert chooser.medians_s == pytest.approx({1: 0.10, 2: 0.07})
    assert steps.applied[0] == 1  # begun at the count that leaves the window a core


@pytest.mark.parametrize("two_threads_s", [0.095, 0.10, 0.3])
def test_the_window_keeps_its_core_unless_the_gain_is_clear(two_threads_s):
    """Within the margin (15%), or slower (another process holds a core), one thread is kept."""
    steps = SimulatedSteps({1: 0.10, 2: two_threads_s}, heavy_every=8)
    chooser = _chooser(steps)
    steps.run(chooser, 200)
    assert chooser.threads == 1
    assert set(chooser.medians_s) == {1, 2}


def test_a_later_round_follows_the_machine():
    """Another program holds a core and one thread wins; once it ends, the next round takes two."""
    steps = SimulatedSteps({1: 0.10, 2: 0.35})
    chooser = _chooser(steps)
    steps.run(chooser, 40)
    assert chooser.threads == 1
    steps.seconds_at = {1: 0.10, 2: 0.06}
    steps.run(chooser, 400)  # past the hold (10 s, then 20 s), then a round at each count
    assert chooser.threads == 2
    assert chooser.medians_s[2] == pytest.approx(0.06)


def test_the_core_goes_back_as_soon_as_taking_it_stops_paying():
    """Two threads won; then a sweep starts and they slow down: one thread is back within a few
    seconds of stepping, not after the hold (here 1000 s)."""
    steps = SimulatedSteps({1: 0.10, 2: 0.06})
    chooser = ThreadChooser((1, 2), steps.apply, window_steps=6, window_s=0.5, hold_s=1000.0)
    chooser.begin()
    steps.run(chooser, 40)
    assert chooser.threads == 2
    steps.seconds_at = {1: 0.10, 2: 0.35}
    steps.run(chooser, 8)  # a skipped step, then enough for a full window at the new pace
    assert chooser.threads == 1
    steps.run(chooser, 500)  # 50 s at one thread: no round before the hold is over
    assert steps.applied[-1] == 1 and chooser.threads == 1


def test_two_slow_steps_are_enough_to_judge():
    """A big memory's steps take seconds, and beside a busy process two threads took 60× longer:
    two steps over four windows' time decide, not six."""
    steps = SimulatedSteps({1: 1.0, 2: 0.5})
    chooser = _chooser(steps)  # window: 6 steps and 0.5 s, or 2 steps and 2 s
    steps.run(chooser, 8)  # a skipped step, two at one thread (2 s), a skipped one, four at two (2 s)
    assert chooser.threads == 2 and chooser.medians_s == pytest.approx({1: 1.0, 2: 0.5})
    steps.seconds_at = {1: 1.0, 2: 30.0}
    steps.run(chooser, 3)  # a skipped step, then two that each took longer than one thread's
    assert chooser.threads == 1


def test_a_held_count_that_still_pays_is_kept():
    steps = SimulatedSteps({1: 0.10, 2: 0.06}, heavy_every=8)
    chooser = ThreadChooser((1, 2), steps.apply, window_steps=6, window_s=0.5, hold_s=1000.0)
    chooser.begin()
    steps.run(chooser, 2000)
    assert chooser.threads == 2 and steps.applied == [1, 2, 2]  # begun at 1, trial at 2, decision


def test_a_trial_that_clearly_loses_ends_after_two_steps():
    steps = SimulatedSteps({1: 0.10, 2: 0.80})
    chooser = _chooser(steps)  # a trial window would otherwise need 6 steps, or 2 over 2 s
    steps.run(chooser, 7)  # a skipped step, six at one thread
    assert chooser.threads == 2 and chooser.medians_s == {1: pytest.approx(0.10)}
    steps.run(chooser, 3)  # a skipped step, then two that each took longer than one thread's median
    assert chooser.threads == 1 and chooser.medians_s[2] == pytest.approx(0.80)


def test_rounds_that_keep_the_count_come_less_often():
    """Beside a busy process every round at two threads costs; the hold doubles (10, 20, 40, 80 s cap)."""
    steps = SimulatedSteps({1: 0.10, 2: 0.40})
    chooser = ThreadChooser((1, 2), steps.apply, window_steps=6, window_s=0.5, hold_s=10.0, max_hold_s=80.0)
    chooser.begin()
    steps.run(chooser, 6000)  # about 600 s of stepping
    trials = steps.applied.count(2)
    assert chooser.threads == 1
    assert 6 <= trials <= 10  # a fixed 10 s hold would have made about 55


def test_the_count_chosen_is_said_once_and_again_only_when_it_changes(caplog):
    """A window left open printed the same "engine threads: 1" line after every round."""
    steps = SimulatedSteps({1: 0.10, 2: 0.40})
    chooser = _chooser(steps)
    with caplog.at_level(logging.INFO, logger="muonscope.engine.thread_count"):
        steps.run(chooser, 3000)  # some rounds, each keeping one thread
        said = [record.getMessage() for record in caplog.records if record.levelno >= logging.INFO]
        assert len(said) == 1 and said[0].startswith("engine threads: 1 ")
        steps.seconds_at = {1: 0.10, 2: 0.01}  # another program ended: two threads now pay
        steps.run(chooser, 3000)
        said = [record.getMessage() for record in caplog.records if record.levelno >= logging.INFO]
    assert chooser.threads == 2 and said[-1].startswith("engine threads: 2 ") and len(said) == 2


def test_begin_starts_over_at_the_preferred_count():
    steps = SimulatedSteps({1: 0.10, 2: 0.05})
    chooser = _chooser(steps)
    steps.run(chooser, 40)
    assert chooser.threads == 2
    chooser.begin()  # a new run of another size
    assert chooser.threads == 1 and steps.applied[-1] == 1 and chooser.medians_s == {}


def test_a_fixed_count_is_only_applied():
    steps = SimulatedSteps({3: 0.1})
    chooser = ThreadChooser((3,), steps.apply)
    chooser.begin()
    steps.run(chooser, 50)
    assert steps.applied == [3] and chooser.threads == 3


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the nice value is per thread on Linux")
def test_the_stepping_thread_runs_behind_the_window_once_however_often_it_begins():
    seen = []

    def stepping_thread():
        chooser = ThreadChooser((1,), lambda _n: None, nice=3)
        chooser.begin()
        chooser.begin()  # a new run on the same thread
        seen.append(os.getpriority(os.PRIO_PROCESS, threading.get_native_id()))

    main = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    worker = threading.Thread(target=stepping_thread)
    worker.start()
    worker.join()
    assert seen == [min(main + 3, 19)]
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == main  # the window's is kept


@pytest.mark.parametrize("candidates", [(), (0,), (1, 2, 3)])
def test_bad_candidates_are_refused(candidates):
    with pytest.raises(ValueError, match="candidates"):
        ThreadChooser(candidates)
