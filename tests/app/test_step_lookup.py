"""Which snapshot the view shows for a step, and what panels ① and ③ say when it is another step's."""

from muonscope.app.step_lookup import StepLookup, spectra_are_current, view_notes
from muonscope.engine.config import ExperimentConfig, LaneConfig, RunConfig, TaskConfig
from muonscope.engine.history import SnapshotStore
from muonscope.engine.snapshot import LaneSnapshot, Snapshot

CONFIG = ExperimentConfig(
    task=TaskConfig(d=8, n_items=16),
    lanes=(LaneConfig(optimizer="sgd", lr=1.0), LaneConfig(optimizer="muon", lr=0.1)),
    run=RunConfig(spectra_every=1),
)


def _snapshot(step: int, *spectra_steps: int, every: int = 1) -> Snapshot:
    """A snapshot at ``step`` whose lanes' spectra were computed at ``spectra_steps``."""
    lanes = tuple(
        LaneSnapshot(
            index=i, label=f"lane {i}", optimizer="sgd", order="none", lr=1.0, momentum=0.0, spectra_step=s
        )
        for i, s in enumerate(spectra_steps or (step, step))
    )
    config = CONFIG.with_value("run.spectra_every", every)
    return Snapshot(step=step, lanes=lanes, events=(), config=config, device="cpu", dtype="float64")


def test_a_step_with_its_own_spectra_needs_no_replay_and_one_of_a_played_step_does():
    store = SnapshotStore()
    for step, spectra in [(3, 3), (4, 3), (5, 5)]:  # step 4 was played past: no spectra of its own
        store.add(_snapshot(step, spectra, spectra))
    lookup = StepLookup(store)
    assert not lookup.wants_recall(3) and not lookup.wants_recall(5)
    assert lookup.wants_recall(4)
    assert lookup.wants_recall(2)  # not delivered at all
    assert lookup.exact(2) is None and lookup.nearest(2) is None
    assert lookup.nearest(4).step == 4
    recalled = _snapshot(4)
    lookup.add(recalled)
    assert lookup.exact(4) is recalled and not lookup.wants_recall(4)
    lookup.forget(4)  # settings changed at step 4 since: the delivered one is newer
    assert lookup.exact(4) is store.at_or_before(4) and lookup.wants_recall(4)
    lookup.add(_snapshot(1))
    assert lookup.nearest(2).step == 1
    lookup.clear()
    assert len(lookup) == 0 and lookup.nearest(2) is None


def test_the_spectra_cadence_decides_which_spectra_a_step_should_have():
    assert spectra_are_current(_snapshot(7, 6, 6, every=3))  # computed every 3 steps: 6 is the last
    assert not spectra_are_current(_snapshot(7, 3, 6, every=3))
    assert spectra_are_current(_snapshot(2, -1, -1, every=3))  # none due yet
    assert not spectra_are_current(_snapshot(4, -1, -1))


def test_recomputed_snapshots_are_kept_up_to_a_limit_least_recently_used_first():
    lookup = StepLookup(SnapshotStore(), limit=2)
    for step in (1, 2):
        lookup.add(_snapshot(step))
    lookup.exact(1)  # used: kept
    lookup.add(_snapshot(3))
    assert lookup.exact(2) is None and lookup.exact(1) is not None and lookup.exact(3) is not None


def test_notes_say_which_step_the_spectra_and_errors_are_of():
    assert view_notes(_snapshot(9), 9, recalling=False) == ("", "")
    assert view_notes(_snapshot(9, 6, 6, every=3), 9, False) == ("spectra of step 6", "")  # 9 was due
    assert view_notes(_snapshot(7, 6, 6, every=3), 7, False) == ("spectra of step 6", "")
    assert view_notes(_snapshot(79, 77, 77), 79, True) == ("spectra of step 77 · computing step 79…", "")
    assert view_notes(_snapshot(120, 119, 120), 100, True) == (
        "spectra of steps 119, 120 · computing step 100…",
        "errors as at step 120 · computing step 100…",
    )
    assert view_notes(_snapshot(0, -1, -1), 0, False) == ("", "")
    assert view_notes(_snapshot(5, -1, -1), 5, True) == ("computing step 5…", "")
    # looking back while the run plays: no replay, the nearest step kept
    assert view_notes(_snapshot(30, 28, 28), 41, False) == ("spectra of step 28", "errors as at step 30")
