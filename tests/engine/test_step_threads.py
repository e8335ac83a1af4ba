"""Each step replays at the torch thread count it was computed with: MKL's products split their
sums by thread, and the window's engine changes its count while a run plays."""

from __future__ import annotations

import pytest
import torch

from muonscope.engine.presets import load_preset
from muonscope.engine.session import Session
from muonscope.engine.session_opening import open_session
from muonscope.engine.session_saving import save_session
from muonscope.engine.step_threads import count_at, noted, replay_threads, up_to
from tests.engine.test_session import _assert_identical, _state


def test_the_record_keeps_runs_of_equal_counts():
    record = ()
    for step, count in ((1, 2), (2, 2), (3, 1), (4, 1), (5, 2)):
        record = noted(record, step, count)
    assert record == ((1, 2), (3, 1), (5, 2))
    assert [count_at(record, s) for s in (0, 1, 2, 3, 4, 5, 9)] == [None, 2, 2, 1, 1, 2, 2]
    assert up_to(record, 4) == ((1, 2), (3, 1))
    assert noted(record, 4, 2) == ((1, 2), (3, 1), (4, 2))  # a new line from step 4 on


def test_a_replay_puts_the_callers_count_back():
    before = torch.get_num_threads()
    with replay_threads(((1, 3),)) as threads:
        threads.before(1)
        assert torch.get_num_threads() == 3
    assert torch.get_num_threads() == before


def _mixed_run() -> tuple[Session, dict]:
    """The default preset, steps 1–4 on two threads and 5–8 on one (as the window's engine may), and
    its state at step 7 (before the head, which the session keeps and would read back)."""
    settings = [("run.eval_every", 4), ("run.spectra_every", 4), ("run.checkpoint_mb", 1.0)]
    config = load_preset("default").config.with_values(settings)  # 1 MB: no checkpoint after step 0
    session = Session(config)
    torch.set_num_threads(2)
    session.run(4, stop_on_breakpoints=False)
    torch.set_num_threads(1)
    session.run(7, stop_on_breakpoints=False)
    at_7 = _state(session.experiment)
    session.run(8, stop_on_breakpoints=False)
    return session, at_7


@pytest.fixture
def restored_threads():
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


def test_a_rewind_replays_each_step_at_its_own_count(restored_threads):
    session, original = _mixed_run()
    assert session.branch.threads == ((1, 2), (5, 1))
    torch.set_num_threads(1)  # the count of the moment differs from steps 1–4's
    session.go_to(0)
    assert session.replay_steps(7) == 7  # computed again, not read back
    session.go_to(7)
    _assert_identical(original, _state(session.experiment))
    assert torch.get_num_threads() == 1


def test_a_saved_session_replays_at_the_counts_it_was_made_with(restored_threads, tmp_path):
    session, original = _mixed_run()
    save_session(session, tmp_path / "s")
    reopened = open_session(tmp_path / "s")
    assert reopened.branch.threads == ((1, 2), (5, 1))
    torch.set_num_threads(1)
    reopened.go_to(0)
    assert reopened.replay_steps(7) == 7
    reopened.go_to(7)
    _assert_identical(original, _state(reopened.experiment))
