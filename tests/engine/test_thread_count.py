"""The engine's torch thread count: a core left to the window unless taking it is clearly faster."""

import pytest
import torch

from muonscope.engine.thread_count import ThreadChooser, share_cores_with_a_window


@pytest.mark.parametrize(("cores", "threads"), [(1, 1), (2, 1), (16, 15)])
def test_a_window_keeps_one_core_for_itself(cores, threads):
    before = torch.get_num_threads()
    try:
        assert share_cores_with_a_window(cores) == threads
        assert torch.get_num_threads() == threads
    finally:
        torch.set_num_threads(before)


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
    """Two threads win; then another program takes a core and the next round goes back to one."""
    steps = SimulatedSteps({1: 0.10, 2: 0.06})
    chooser = _chooser(steps)
    steps.run(chooser, 40)
    assert chooser.threads == 2
    steps.seconds_at = {1: 0.10, 2: 0.35}
    steps.run(chooser, 100)  # past the 10 s hold, then a round at each count
    assert chooser.threads == 1
    assert chooser.medians_s[2] == pytest.approx(0.35)


def test_rounds_that_keep_the_count_come_less_often():
    """Beside a busy process every round at two threads costs; the hold doubles (10, 20, 40, 80 s cap)."""
    steps = SimulatedSteps({1: 0.10, 2: 0.40})
    chooser = ThreadChooser((1, 2), steps.apply, window_steps=6, window_s=0.5, hold_s=10.0, max_hold_s=80.0)
    chooser.begin()
    steps.run(chooser, 6000)  # about 600 s of stepping
    trials = steps.applied.count(2)
    assert chooser.threads == 1
    assert 6 <= trials <= 10  # a fixed 10 s hold would have made about 55


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


@pytest.mark.parametrize("candidates", [(), (0,), (1, 2, 3)])
def test_bad_candidates_are_refused(candidates):
    with pytest.raises(ValueError, match="candidates"):
        ThreadChooser(candidates)
