"""The sweep runner: parallel processes, streamed results, cancellation (the cache: test_sweep_cache.py)."""

import contextlib
import dataclasses
import logging
import multiprocessing.pool
import os
import select
import signal
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from muonscope.engine import Experiment, ExperimentConfig, LaneConfig, RunConfig, TaskConfig, executors
from muonscope.engine.executors import LocalExecutor, shutdown_local_pool
from muonscope.engine.sweep import Runtime, SweepPoint, SweepRunner, run_point
from muonscope.engine.sweep_point import runtime_of
from muonscope.engine.sweep_workers import local_workers, usable_cores

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


def test_the_share_of_work_done_leaves_out_cached_points_and_weighs_large_ones_more(tmp_path):
    """A time left counted from points done read 49 s where 9 minutes were left: the cached half of
    a sweep came back at once, and small points finished first."""
    from muonscope.engine.step_cost import measured_speed, point_seconds

    list(SweepRunner(_points(ds=(8,)), workers=1, cache_dir=tmp_path))
    runner = SweepRunner(_points(ds=(8, 64)), workers=1, cache_dir=tmp_path)
    shares = [(result.point.coord("d"), result.cached, runner.work_share) for result in runner]
    assert [(d, cached) for d, cached, _ in shares] == [(8, True), (8, True), (64, False), (64, False)]
    assert shares[0][2] == 0 and shares[1][2] == 0  # cached: none of the computing done
    assert shares[2][2] == pytest.approx(0.5) and shares[3][2] == pytest.approx(1.0)  # two like points
    # unlike points weigh as their estimated cost: the larger one is most of the work
    points = _points(ds=(8, 64), seeds=(2,))
    runner = SweepRunner(points, workers=1, cache_dir=tmp_path)
    shares = [runner.work_share for _ in runner]
    speed = measured_speed("cpu", "float64")
    small, large = (point_seconds(point.config, point.steps, speed) for point in points)
    assert shares == [pytest.approx(small / (small + large)), pytest.approx(1.0)]
    assert shares[0] < 0.5


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


def test_a_traced_point_records_its_metrics_over_time_and_the_accuracy_per_group():
    lanes, _ = run_point(_staircase_point(STAIRCASE_LANES, steps=12, trace_every_steps=5))
    sizes = np.diff(np.append(_staircase_starts(), 32))
    for lane in lanes:
        assert lane["trace_step"] == [0, 5, 10, 12]
        assert lane["balance_gap_trace"][0] == 0.0  # W = 0 predicts every class alike
        for name in ("balance_gap", "loss", "accuracy", "recovered", "group_accuracy"):
            assert lane[f"{name}_trace"][-1] == lane[name], name  # the last trace step is the end
        assert lane["loss_trace"][0] == pytest.approx(np.log(32))  # uniform prediction over 32 classes
        assert lane["recovered_trace"][-1] > lane["recovered_trace"][0]
        for shares, recovered in zip(lane["group_accuracy_trace"], lane["recovered_trace"], strict=True):
            assert ((0 <= np.array(shares)) & (np.array(shares) <= 1)).all()
            assert round(float(np.dot(shares, sizes))) == recovered


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
        "from muonscope.engine.executors import prepare_worker_process\n"
        "before = os.getpriority(os.PRIO_PROCESS, 0)\n"
        "prepare_worker_process(os.getppid(), 5)\n"
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


def test_results_say_where_they_were_computed(tmp_path):
    """Fresh and cached results carry the device, dtype and torch version of their computation."""
    import torch

    points = _points(ds=(8,), seeds=(0, 1))
    expected = runtime_of(points[0].config.run)
    assert expected.torch_version == torch.__version__
    assert (expected.device, expected.dtype) in {("cpu", "float64"), ("cuda", "float32")}
    fresh = list(SweepRunner(points, workers=1, cache_dir=tmp_path))
    cached = list(SweepRunner(points, workers=1, cache_dir=tmp_path))
    assert [r.cached for r in fresh + cached] == [False, False, True, True]
    assert all(r.runtime == expected for r in fresh + cached)


def test_local_workers_are_bounded_by_the_cores_and_one_on_a_gpu():
    assert local_workers(0, cores=2) == 2  # one per core
    assert local_workers(1000, cores=2) == 2
    assert local_workers(3, cores=8) == 3
    assert local_workers(0, cores=0) == 1
    assert local_workers(0, cores=16, devices={"cuda"}) == 1  # one CUDA context, not sixteen
    assert local_workers(8, cores=16, devices={"cpu", "cuda"}) == 1
    assert local_workers(8, cores=16, devices={"cpu"}) == 8


def test_the_local_executor_applies_the_rules_to_where_its_points_run():
    jobs = list(enumerate(_points()))
    assert LocalExecutor(workers=10**6).processes(jobs) == usable_cores()

    class OnAGpu(LocalExecutor):
        def runtime(self, run):
            return Runtime("cuda", "float32", "2.13.0")

    assert OnAGpu(workers=0).processes(jobs) == 1


def _pool_workers() -> set[int]:
    """Our spawned pool workers (not the resource tracker, nor anything else we started)."""
    found = set()
    for pid in _children(os.getpid()):
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if b"spawn_main" in command:
            found.add(pid)
    return found


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_the_local_pool_stays_warm_between_sweeps_and_is_replaced_after_a_cancel():
    shutdown_local_pool()
    assert _pool_workers() == set()
    first = list(SweepRunner(_points(ds=(8, 16)), workers=2, use_cache=False))
    warm = _pool_workers()
    assert len(first) == 4 and len(warm) == 2  # the pool outlives its sweep
    second = list(SweepRunner(_points(ds=(24,)), workers=2, use_cache=False))
    assert len(second) == 2 and _pool_workers() == warm  # the next sweep took it over: no new processes
    runner = SweepRunner(_points(ds=(8, 16, 24, 32)), workers=2, use_cache=False)
    for _ in runner:
        runner.cancel()
    assert _pool_workers() == set()  # a cancel ends the running points, and with them the processes
    assert len(list(SweepRunner(_points(ds=(8,)), workers=2, use_cache=False))) == 2
    assert len(_pool_workers()) == 2 and not _pool_workers() & warm
    shutdown_local_pool()
    assert _pool_workers() == set()


@pytest.mark.timeout(120)
def test_a_cancel_returns_when_the_pool_cannot_finish_closing(monkeypatch, caplog):
    """Pool.terminate() can hang for good: a worker stopped while sending a result keeps the result
    queue's lock, which terminate's task thread then waits for (CPython issue 96995). A test sweep
    cancelled at that moment hung for minutes; the cancel now returns and the pool ends later."""
    shutdown_local_pool()
    stuck = threading.Event()
    terminate = multiprocessing.pool.Pool.terminate

    def terminate_stuck_until_released(pool):
        stuck.wait()
        terminate(pool)

    monkeypatch.setattr(multiprocessing.pool.Pool, "terminate", terminate_stuck_until_released)
    monkeypatch.setattr(executors, "_POOL_CLOSE_DEADLINE_S", 0.2)
    runner = SweepRunner(_points(ds=(8, 16, 24, 32)), workers=2, use_cache=False)
    try:
        with caplog.at_level(logging.WARNING, logger=executors.__name__):
            for _ in runner:
                runner.cancel()
        assert runner.cancelled
        assert "worker pool did not close within" in caplog.text
    finally:
        stuck.set()  # the pool's own clean-up goes on and ends its processes
    for closer in [t for t in threading.enumerate() if t.name == "muonscope-pool-close"]:
        closer.join(timeout=60)
    assert _pool_workers() == set()


@pytest.mark.timeout(180)
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_a_sweep_whose_workers_keep_ending_stops_with_an_error(monkeypatch):
    """Where a worker cannot live (a process limit, a user whose processes cannot talk), the pool
    replaced it for ever: an hour at 60 % of a core, no point done, no word."""
    shutdown_local_pool()
    monkeypatch.setattr(executors, "_REPLACEMENTS_PER_PROCESS", 1)
    slow = [dataclasses.replace(point, steps=10**6) for point in _points(ds=(64,))]  # hours each
    stop = threading.Event()

    def end_every_worker() -> None:  # as a system that cannot keep them would
        while not stop.wait(0.3):
            for pid in _pool_workers():
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)

    killer = threading.Thread(target=end_every_worker, daemon=True)
    killer.start()
    try:
        with pytest.raises(RuntimeError, match="worker processes keep ending as they start"):
            list(SweepRunner(slow, workers=2, use_cache=False))
    finally:
        stop.set()
        killer.join()
    shutdown_local_pool()


@pytest.mark.gpu
def test_points_on_a_gpu_compute_in_this_process(tmp_path):
    """One CUDA context: no worker processes are started, whatever --workers asks for."""
    shutdown_local_pool()
    points = [
        SweepPoint(dataclasses.replace(p.config, run=RunConfig(eval_every=1000, device="cuda")), 1, p.coords)
        for p in _points()
    ]
    results = list(SweepRunner(points, workers=4, cache_dir=tmp_path))
    assert len(results) == len(points) and _pool_workers() == set()
    assert {(r.runtime.device, r.runtime.dtype) for r in results} == {("cuda", "float32")}
