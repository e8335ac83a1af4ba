"""The sweep runner: parallel processes, streamed results, disk cache, cancellation."""

import os
import select
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from muonscope.engine import Experiment, ExperimentConfig, LaneConfig, RunConfig, TaskConfig
from muonscope.engine.sweep import SweepPoint, SweepRunner, run_point

LANES = (
    LaneConfig(optimizer="sgd", lr=1.0, momentum=0.0),
    LaneConfig(optimizer="muon", lr=1.0, momentum=0.0, order="none"),
)


def _points(ds=(8, 16, 24), seeds=(0, 1)):
    return [
        SweepPoint(
            ExperimentConfig(
                task=TaskConfig(d=d, n_items=128, batch_size=0, seed=seed),
                lanes=LANES,
                run=RunConfig(eval_every=1000),
            ),
            steps=1,
            coords=(("d", d), ("seed", seed)),
        )
        for d in ds
        for seed in seeds
    ]


def test_parallel_results_equal_in_process_results(tmp_path):
    points = _points()
    parallel = {r.point.key: r for r in SweepRunner(points, workers=2, cache_dir=tmp_path / "a")}
    assert len(parallel) == len(points)
    for point in points:
        lanes, _ = run_point(point)
        assert [lane["recovered"] for lane in lanes] == [
            lane["recovered"] for lane in parallel[point.key].lanes
        ]


def test_rerun_reuses_the_cache_and_only_computes_new_points(tmp_path):
    first = list(SweepRunner(_points(ds=(8, 16)), workers=1, cache_dir=tmp_path))
    assert not any(r.cached for r in first)
    second = list(SweepRunner(_points(ds=(8, 16, 24)), workers=1, cache_dir=tmp_path))
    cached = {r.point.coord("d") for r in second if r.cached}
    fresh = {r.point.coord("d") for r in second if not r.cached}
    assert cached == {8, 16} and fresh == {24}
    by_key = {r.point.key: r.lanes for r in first}
    for result in second:
        if result.cached:
            assert result.lanes == by_key[result.point.key]


def test_a_damaged_cache_file_is_recomputed(tmp_path):
    point = _points(ds=(8,), seeds=(0,))[0]
    list(SweepRunner([point], workers=1, cache_dir=tmp_path))
    (tmp_path / f"{point.key}.json").write_text("{ not json")
    (result,) = SweepRunner([point], workers=1, cache_dir=tmp_path)
    assert not result.cached and result.lanes[1]["recovered"] >= 0


def test_cancel_stops_the_stream(tmp_path):
    runner = SweepRunner(_points(ds=(8, 16, 24, 32)), workers=2, cache_dir=tmp_path)
    seen = []
    for result in runner:
        seen.append(result)
        runner.cancel()
    assert len(seen) == 1 and runner.cancelled
    assert runner.done == 1


def test_point_keys_depend_on_the_config_not_the_coordinates():
    a, b = _points(ds=(8,), seeds=(0, 1))
    assert a.key != b.key
    same = SweepPoint(a.config, 1, coords=(("anything", 1),))
    assert same.key == a.key
    with pytest.raises(KeyError):
        a.coord("missing")


def _staircase_point(lanes, steps=12, trace_every_steps=0):
    task = TaskConfig(
        kind="two_level", profile="staircase", d=32, n_items=32, embeddings="orthogonal", batch_size=16
    )
    config = ExperimentConfig(task=task, lanes=lanes, run=RunConfig(eval_every=10**9))
    return SweepPoint(config, steps, trace_every_steps=trace_every_steps)


STAIRCASE_LANES = (
    LaneConfig(optimizer="adam", lr=0.05, momentum=0.9, beta2=0.999),
    LaneConfig(optimizer="muon", lr=0.5, momentum=0.95, polar="exact"),
)


def test_a_traced_point_records_the_gap_over_time_and_the_accuracy_per_group():
    lanes, _ = run_point(_staircase_point(STAIRCASE_LANES, steps=12, trace_every_steps=5))
    for lane in lanes:
        assert lane["trace_step"] == [0, 5, 10, 12]
        assert lane["balance_gap_trace"][0] == 0.0  # W = 0 predicts every class alike
        assert lane["balance_gap_trace"][-1] == lane["balance_gap"]
        shares = np.array(lane["group_accuracy"])
        assert ((0 <= shares) & (shares <= 1)).all()
    sizes = np.diff(np.append(_staircase_starts(), 32))
    assert [round(float(np.dot(lane["group_accuracy"], sizes))) for lane in lanes] == [
        lane["recovered"] for lane in lanes
    ]


def _staircase_starts():
    return Experiment(_staircase_point(STAIRCASE_LANES).config).snapshot().group_starts


def test_tracing_does_not_change_where_a_run_ends():
    plain, _ = run_point(_staircase_point(STAIRCASE_LANES))
    traced, _ = run_point(_staircase_point(STAIRCASE_LANES, trace_every_steps=5))
    for a, b in zip(plain, traced, strict=True):
        assert a["loss"] == b["loss"] and a["recovered"] == b["recovered"]


def test_traced_and_untraced_points_are_cached_apart():
    plain = _staircase_point(STAIRCASE_LANES)
    assert plain.key == SweepPoint(plain.config, plain.steps).key
    assert _staircase_point(STAIRCASE_LANES, trace_every_steps=5).key != plain.key


def test_a_lane_run_alone_ends_where_it_ends_in_lockstep():
    """Grids may split lanes into separate points: the batch stream depends on the seed only."""
    together, _ = run_point(_staircase_point(STAIRCASE_LANES))
    for lane, expected in zip(STAIRCASE_LANES, together, strict=True):
        (alone,), _ = run_point(_staircase_point((lane,)))
        assert alone["loss"] == pytest.approx(expected["loss"], rel=1e-6)
        assert alone["recovered"] == expected["recovered"]


_KILLED_PARENT = """
import sys
from muonscope.engine import ExperimentConfig, RunConfig, TaskConfig
from muonscope.engine.sweep import SweepPoint, SweepRunner
def point(seed, steps):
    task = TaskConfig(d=32, n_items=512, seed=seed)
    return SweepPoint(ExperimentConfig(task=task, run=RunConfig(eval_every=10**9)), steps, (("seed", seed),))
quick, endless = [point(s, 1) for s in (0, 1)], [point(s, 10**7) for s in (2, 3)]
for done, result in enumerate(SweepRunner(quick + endless, workers=2, use_cache=False), 1):
    if done == 2:  # both workers are through their quick point: each now holds an endless one
        print("busy", flush=True)
"""


def _children(pid: int) -> set[int]:
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:  # fields after the command: state, ppid, …
            found.add(int(stat.parent.name))
    return found


def _exits_within(pid: int, timeout_s: float) -> bool:
    """Block until process ``pid`` ends (it need not be our child), at most ``timeout_s``."""
    try:
        handle = os.pidfd_open(pid)
    except ProcessLookupError:
        return True
    try:
        readable, _, _ = select.select([handle], [], [], timeout_s)
        return bool(readable)
    finally:
        os.close(handle)


@pytest.mark.skipif(not hasattr(os, "pidfd_open"), reason="needs Linux pidfds")
@pytest.mark.timeout(120)
def test_workers_exit_when_the_parent_is_killed():
    parent = subprocess.Popen([sys.executable, "-c", _KILLED_PARENT], stdout=subprocess.PIPE, text=True)
    try:
        assert parent.stdout.readline().strip() == "busy", "the pool did not start"
        workers = _children(parent.pid)
        assert len(workers) >= 2
    finally:
        parent.kill()
        parent.wait()
        parent.stdout.close()
    left = [pid for pid in workers if not _exits_within(pid, timeout_s=30)]
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    assert not left, f"workers still running after their parent was killed: {left}"


@pytest.mark.skipif(not hasattr(os, "nice"), reason="no nice values")
def test_worker_processes_start_at_the_lower_priority_asked_for():
    """A sweep behind a live run yields the CPU: a worker's set-up lowers its priority by ``nice``."""
    probe = (
        "import os\n"
        "from muonscope.engine.sweep import _init_worker\n"
        "before = os.getpriority(os.PRIO_PROCESS, 0)\n"
        "_init_worker(os.getppid(), 5)\n"
        "print(before, os.getpriority(os.PRIO_PROCESS, 0))\n"
    )
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    before, after = map(int, proc.stdout.split())
    assert after == min(before + 5, 19), proc.stderr


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the nice value is per thread on Linux")
def test_points_computed_in_a_background_thread_lower_that_thread_alone(tmp_path):
    import threading

    seen = []

    def sweep() -> None:
        list(SweepRunner(_points(ds=(8,), seeds=(0,)), workers=1, use_cache=False, nice=4))
        seen.append(os.getpriority(os.PRIO_PROCESS, threading.get_native_id()))

    ours = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    thread = threading.Thread(target=sweep)
    thread.start()
    thread.join()
    assert seen == [min(ours + 4, 19)]
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == ours
