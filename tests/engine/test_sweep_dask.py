"""Sweeps on a Dask cluster: the same numbers as on local processes, streamed, cancellable, cached here."""

import os
import socket
import subprocess
import sys

import pytest

from muonscope.engine import ExperimentConfig, LaneConfig, RunConfig, TaskConfig
from muonscope.engine.executors import DaskExecutor, LocalExecutor
from muonscope.engine.sweep import SweepPoint, SweepRunner
from muonscope.engine.sweep_point import PointStopped, compute_point


def _points(ds=(8, 16), seeds=(0, 1), steps=1, items=128):
    lanes = (
        LaneConfig(optimizer="sgd", lr=1.0, momentum=0.0),
        LaneConfig(optimizer="muon", lr=1.0, momentum=0.0, order="none"),
    )
    return [
        SweepPoint(
            ExperimentConfig(
                task=TaskConfig(d=d, n_items=items, batch_size=0, seed=seed),
                lanes=lanes,
                run=RunConfig(eval_every=1000),
            ),
            steps=steps,
            coords=(("d", d), ("seed", seed)),
        )
        for d in ds
        for seed in seeds
    ]


@pytest.fixture(scope="module")
def dask():
    """A LocalCluster of two single-thread workers in this process (quick to start on two cores)."""
    with DaskExecutor(workers=2, processes=False) as executor:
        assert executor.worker_count() == 2
        yield executor


def test_dask_results_equal_local_results(dask):
    points = _points()
    on_dask = {r.point.key: r for r in SweepRunner(points, use_cache=False, executor=dask)}
    local = {r.point.key: r for r in SweepRunner(points, use_cache=False, executor=LocalExecutor(workers=2))}
    assert set(on_dask) == set(local) == {p.key for p in points}
    for key, result in on_dask.items():
        assert result.lanes == local[key].lanes  # every metric of every lane, to the bit
        assert result.runtime == local[key].runtime


def test_a_worker_started_without_a_nanny_computes_to_the_bit_as_a_local_worker():
    """Dask's nanny starts a worker with OMP_NUM_THREADS=1; a worker started without one
    (``dask worker --no-nanny``) computed with every core's thread, and at d = 16 its points' last
    bits differed from the local executor's (with which it shares the cache)."""
    from distributed import LocalCluster

    points = _points(ds=(16,), seeds=(0,), items=256)
    local = LocalExecutor(workers=1)
    expected = {r.point.key: r.lanes for r in SweepRunner(points, use_cache=False, executor=local)}
    environment = {**os.environ, "OMP_NUM_THREADS": "2"}  # a worker's torch takes its thread count here
    worker_command = [sys.executable, "-m", "distributed.cli.dask_worker", "--no-nanny", "--nthreads", "1"]
    cluster = LocalCluster(n_workers=0, processes=False, dashboard_address=":0", protocol="tcp")
    with cluster:
        worker = subprocess.Popen(
            [*worker_command, cluster.scheduler_address],
            env=environment,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            with DaskExecutor(cluster.scheduler_address) as executor:
                executor.client.wait_for_workers(1, timeout=300)
                runner = SweepRunner(points, use_cache=False, executor=executor)
                on_dask = {r.point.key: r.lanes for r in runner}
        finally:
            worker.terminate()
            worker.wait(timeout=60)
    assert on_dask == expected


def test_a_point_computed_in_this_process_equals_a_pool_workers_to_the_bit():
    """``--workers 1`` computes here, at this process's two threads: the same point's losses differed
    from a pool worker's (one thread) in their last digits, and the cache kept whichever came first."""
    import torch

    points = _points(ds=(16,), seeds=(0, 1), items=256)
    pool = {
        r.point.key: r.lanes for r in SweepRunner(points, use_cache=False, executor=LocalExecutor(workers=2))
    }
    threads = torch.get_num_threads()
    torch.set_num_threads(2)  # as without OMP_NUM_THREADS on two cores
    try:
        here = {
            r.point.key: r.lanes
            for r in SweepRunner(points, use_cache=False, executor=LocalExecutor(workers=1))
        }
        assert torch.get_num_threads() == 2  # the count this process computes with is its own again
    finally:
        torch.set_num_threads(threads)
    assert here == pool


def test_the_cache_stays_with_the_caller_and_is_shared_with_local_sweeps(dask, tmp_path):
    points = _points(ds=(8,))
    first = list(SweepRunner(points, cache_dir=tmp_path, executor=dask))
    assert not any(r.cached for r in first) and len(list(tmp_path.glob("*.json"))) == len(points)
    again = list(SweepRunner(points, cache_dir=tmp_path, executor=LocalExecutor(workers=1)))
    assert all(r.cached for r in again)
    assert {r.point.key: r.lanes for r in again} == {r.point.key: r.lanes for r in first}


def test_dask_streams_results_and_a_cancel_cancels_the_rest(dask):
    quick = _points(ds=(8,), seeds=(0,))
    slow = _points(ds=(64,), seeds=(1, 2, 3), steps=10**6)  # hours each: only a cancel ends them
    runner = SweepRunner(quick + slow, use_cache=False, executor=dask)
    seen = []
    for result in runner:
        seen.append(result)
        runner.cancel()
    assert [r.point for r in seen] == quick and runner.cancelled
    # points not started never start, and the running ones give up at their next look (≈ 1 s): a task
    # pinned to each single-thread worker starts only once that worker's thread is free again
    probes = [
        dask.client.submit(_tasks_running_here, pure=False, workers=[address], allow_other_workers=False)
        for address in dask.client.scheduler_info()["workers"]
    ]
    assert [probe.result(timeout=300) for probe in probes] == [1] * dask.worker_count()  # the probe alone


def _tasks_running_here() -> int:
    """Tasks the worker running this one is executing now, this one included."""
    from distributed import get_worker

    return get_worker().state.executing_count


def test_a_point_told_to_stop_gives_up_between_steps():
    (endless,) = _points(ds=(8,), seeds=(0,), steps=10**9)
    with pytest.raises(PointStopped, match="stopped at step"):
        compute_point(endless, stop=lambda: True)


def test_a_scheduler_that_does_not_answer_is_an_os_error_after_the_timeout():
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        address = f"tcp://127.0.0.1:{probe.getsockname()[1]}"
    with pytest.raises(OSError, match=address):
        DaskExecutor(address, connect_timeout_s=1)


def test_a_refused_scheduler_leaves_no_half_built_client_behind():
    """A Client whose connection failed cleans up whenever the collector finds it, taking a lock the
    collecting thread may hold: a later test hung 300 s in its clean-up. None is made at all."""
    import gc

    from distributed import Client

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        address = f"tcp://127.0.0.1:{probe.getsockname()[1]}"

    def clients() -> int:  # by exact type: isinstance would touch lazy module attributes
        return sum(type(obj) is Client for obj in gc.get_objects())

    gc.collect()
    before = clients()
    for _ in range(2):
        with pytest.raises(OSError, match=address):
            DaskExecutor(address, connect_timeout_s=1)
    assert clients() == before
