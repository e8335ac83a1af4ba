"""Where sweep points compute: this machine (a process pool kept warm between sweeps, or this
process) or a Dask cluster. Each executor streams ``(index, lanes, seconds, runtime)`` as points
finish and stops promptly once its ``cancelled`` callable says so.

The cache never leaves the process that iterates a sweep: executors only compute.
"""

from __future__ import annotations

import atexit
import logging
import multiprocessing
import os
import pickle
import signal
import socket
import struct
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Protocol

from muonscope.engine.config import RunConfig
from muonscope.engine.sweep_point import Runtime, SweepPoint, compute_point, runtime_of
from muonscope.engine.sweep_workers import local_workers, lower_this_thread, usable_cores

__all__ = ["Computed", "DaskExecutor", "Executor", "Job", "LocalExecutor", "shutdown_local_pool"]

Job = tuple[int, SweepPoint]  # (position in the sweep, point)
Computed = tuple[int, list[dict[str, Any]], float, Runtime]  # (position, lanes, seconds, runtime)
Cancelled = Callable[[], bool]

_POLL_S = 0.2  # how often a waiting executor looks at ``cancelled``
_ORPHAN_POLL_S = 0.5  # how often a worker checks that its parent is still there
#: How long closing a worker pool may take before it is left to finish on its own (see _Pool.close).
_POOL_CLOSE_DEADLINE_S = 5.0
#: Worker processes that may end and be replaced, per process of the pool, before the pool is given
#: up as unable to keep workers alive (none ends in a sound pool: its workers live as long as it).
_REPLACEMENTS_PER_PROCESS = 3

log = logging.getLogger(__name__)


class Executor(Protocol):
    """What a :class:`~muonscope.engine.sweep.SweepRunner` needs from where points compute."""

    def runtime(self, run: RunConfig) -> Runtime:
        """Device, dtype and torch version a point with these run settings will compute in."""
        ...

    def compute(self, jobs: Sequence[Job], cancelled: Cancelled) -> Iterator[Computed]:
        """Compute every job, yielding each as it finishes; stop soon after ``cancelled()``."""
        ...


def _compute_job(job: Job) -> Computed:
    index, point = job
    lanes, seconds, runtime = compute_point(point)
    return index, lanes, seconds, runtime


def _compute_job_in_a_worker(job: Job) -> Computed:
    """A point in a pool worker: its error must survive the trip back to the sweep.

    A pool whose result thread cannot unpickle an error dies quietly and the sweep waits forever;
    an error that cannot make the trip is sent as a RuntimeError with its type and message.
    """
    try:
        return _compute_job(job)
    except Exception as exc:
        raise _able_to_travel(exc) from None


def _able_to_travel(exc: Exception) -> Exception:
    try:
        pickle.loads(pickle.dumps(exc))
    except Exception:
        return RuntimeError(f"{type(exc).__name__}: {exc}")
    return exc


def _compute_job_on_dask(job: Job, stop_event: str) -> Computed:
    """A point on a Dask worker: it gives up once the sweep sets the Dask event ``stop_event``."""
    from distributed import Event

    index, point = job
    try:
        lanes, seconds, runtime = compute_point(point, stop=Event(stop_event).is_set)
    except Exception as exc:
        raise _able_to_travel(exc) from None
    return index, lanes, seconds, runtime


# ---- this machine ---------------------------------------------------------------------------


class LocalExecutor:
    """Points in ``workers`` local processes (0: one per core), or in this process.

    The process pool outlives a sweep: the next sweep with the same size and priority takes it
    over, so a window that runs sweep after sweep pays for starting processes and importing torch
    once. Cancelling terminates the pool (a running point stops at once); the next sweep starts a
    new one. Points on a GPU compute in this process, one after another (one CUDA context).
    """

    def __init__(self, workers: int = 0, nice: int = 0) -> None:
        self.workers = workers
        #: How much lower the OS priority of the computing processes is (Unix nice, 0 to 19).
        self.nice = nice
        self._runtimes: dict[RunConfig, Runtime] = {}

    def runtime(self, run: RunConfig) -> Runtime:
        if run not in self._runtimes:
            self._runtimes[run] = runtime_of(run)
        return self._runtimes[run]

    def processes(self, jobs: Sequence[Job]) -> int:
        """How many processes these jobs get (1: this process)."""
        devices = {self.runtime(point.config.run).device for _, point in jobs}
        return local_workers(self.workers, usable_cores(), devices)

    def compute(self, jobs: Sequence[Job], cancelled: Cancelled) -> Iterator[Computed]:
        processes = self.processes(jobs)
        if processes == 1 or len(jobs) <= 1:
            yield from self._in_this_process(jobs, cancelled)
        else:
            yield from self._in_pool(jobs, cancelled, processes)

    def _in_this_process(self, jobs: Sequence[Job], cancelled: Cancelled) -> Iterator[Computed]:
        if jobs:
            lower_this_thread(self.nice)  # points computed here yield the CPU too
        for job in jobs:
            if cancelled():
                return
            yield _compute_job(job)

    def _in_pool(self, jobs: Sequence[Job], cancelled: Cancelled, processes: int) -> Iterator[Computed]:
        pool = _take_pool(processes, self.nice)
        finished = False
        try:
            results = pool.imap_unordered(_compute_job_in_a_worker, jobs)
            for _ in range(len(jobs)):
                while True:
                    if cancelled():
                        return
                    try:
                        item = results.next(timeout=_POLL_S)
                    except multiprocessing.TimeoutError:
                        pool.check_workers_live()
                        continue
                    break
                yield item
            finished = True
        finally:
            if finished:
                _give_back(pool)  # idle: warm for the next sweep
            else:
                pool.close()  # points still running (cancelled, or the reader stopped): stop them now


class _Pool:
    """A spawn-context process pool and the settings it was started with."""

    def __init__(self, processes: int, nice: int) -> None:
        context = multiprocessing.get_context("spawn")  # fork + threads (Qt, torch) is unsafe
        self.processes, self.nice = processes, nice
        self._pool = context.Pool(processes, initializer=prepare_worker_process, initargs=(os.getpid(), nice))
        self._workers_seen: set[int] = set()  # the pool's worker processes, by pid, ever alive

    def check_workers_live(self) -> None:
        """Raise RuntimeError where the pool's workers keep ending as they start.

        The pool replaces a worker that ends, for ever: where a worker cannot start (a process
        limit, a user whose processes cannot talk to each other), a sweep spun at 60 % of a core for
        an hour with no point done and no word.
        """
        self._workers_seen.update(
            child.pid for child in multiprocessing.active_children() if "PoolWorker" in child.name
        )
        replaced = len(self._workers_seen) - self.processes
        if replaced > _REPLACEMENTS_PER_PROCESS * self.processes:
            raise RuntimeError(
                f"the sweep's worker processes keep ending as they start ({replaced} replaced); "
                "--workers 1 computes the points in this process"
            )

    def imap_unordered(self, function: Callable, jobs: Sequence[Job]):
        return self._pool.imap_unordered(function, jobs)

    def close(self) -> None:
        """Stop the workers now; past a deadline, leave the pool's own clean-up to finish on its own.

        ``Pool.terminate()`` can wait for ever: it stops the workers, then joins its task thread,
        which still sends one message through the results queue, whose lock a worker stopped in the
        middle of sending a result holds for good (CPython issue 96995). A sweep cancelled at that
        moment hung for minutes, and so would Ctrl-C on ``muonscope sweep``. The workers have been
        told to stop by then; the stuck thread is a daemon and ends with the process.
        """
        closer = threading.Thread(target=self._terminate, name="muonscope-pool-close", daemon=True)
        closer.start()
        closer.join(_POOL_CLOSE_DEADLINE_S)
        if closer.is_alive():
            log.warning(
                "the sweep's worker pool did not close within %.0f s; it is left to finish on its own",
                _POOL_CLOSE_DEADLINE_S,
            )

    def _terminate(self) -> None:
        self._pool.terminate()
        self._pool.join()


_idle_pool: _Pool | None = None
_idle_lock = threading.Lock()


def _take_pool(processes: int, nice: int) -> _Pool:
    """The idle pool if it fits, else a new one; the caller owns it until it gives it back."""
    global _idle_pool
    with _idle_lock:
        pool, _idle_pool = _idle_pool, None
    if pool is not None and (pool.processes, pool.nice) == (processes, nice):
        return pool
    if pool is not None:
        pool.close()
    return _Pool(processes, nice)


def _give_back(pool: _Pool) -> None:
    global _idle_pool
    with _idle_lock:
        previous, _idle_pool = _idle_pool, pool
    if previous is not None:  # two sweeps ran side by side: keep one pool warm
        previous.close()


def shutdown_local_pool() -> None:
    """End the idle worker processes (also done at exit)."""
    global _idle_pool
    with _idle_lock:
        pool, _idle_pool = _idle_pool, None
    if pool is not None:
        pool.close()


atexit.register(shutdown_local_pool)


def prepare_worker_process(parent_pid: int, nice: int = 0) -> None:
    """Set up a pool worker: ``nice`` steps lower in priority, one torch thread, deaf to Ctrl-C (the
    parent stops the pool) and gone once ``parent_pid`` is."""
    import torch

    if nice:
        os.nice(nice)
    torch.set_num_threads(1)  # one process per core: threads inside would fight over them
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the parent, which stops the pool
    threading.Thread(target=_exit_when_orphaned, args=(parent_pid,), daemon=True).start()


def _exit_when_orphaned(parent_pid: int) -> None:
    """End this worker once the process that owns the pool is gone.

    A parent killed outright (SIGKILL) never terminates its pool, and a worker would otherwise run
    its point to the end — minutes to an hour of both cores for nobody.
    """
    while os.getppid() == parent_pid:
        time.sleep(_ORPHAN_POLL_S)
    os._exit(1)


# ---- a Dask cluster -------------------------------------------------------------------------


@contextmanager
def _terminal_interrupts_ignored() -> Iterator[None]:
    """Processes started within ignore SIGINT (Python keeps an ignored SIGINT ignored at start-up).

    Ctrl-C goes to every process of the terminal's group; a cluster's worker processes would each
    print a KeyboardInterrupt traceback while this process is already shutting them down.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


class NotAScheduler(OSError):
    """Something listens at a scheduler address, but it does not speak as a Dask scheduler does."""


#: The most bytes a scheduler's greeting takes (it is about 60): a longer length read from the
#: first bytes is another service's reply.
_GREETING_MAX_BYTES = 1 << 16


def _check_scheduler_answers(address: str, timeout_s: float) -> None:
    """Refuse an address where no Dask scheduler listens, before a Client is made for it.

    A Client whose connection fails is left half-built; garbage-collected later, at any moment,
    its clean-up takes a lock that the collecting thread may already hold, and the process hangs.
    Another service's port was worse: a web server's silence held the Client past its timeout, with
    Ctrl-C ignored, and an SSH server's greeting read as a 2.8 EiB message ended in a MemoryError.
    So a network address is parsed, its port knocked on, and (over plain TCP) the greeting every
    Dask scheduler sends a new connection is read and checked, within ``timeout_s`` in all. Other
    transports, such as an in-process cluster's inproc://, go to the Client as they are. Raises
    ValueError for an address without a usable port, OSError when nothing answers in time, and
    NotAScheduler when what answers is not a scheduler.
    """
    from distributed.comm import get_address_host_port

    scheme = address.partition("://")[0] if "://" in address else "tcp"
    if scheme not in ("tcp", "tls"):
        return
    host, port = get_address_host_port(address)  # ValueError names what is wrong with it
    if not 0 < port < 65536:
        raise ValueError(f"port {port} is not from 1 to 65535")
    try:
        with socket.create_connection((host, port), timeout=timeout_s) as connection:
            if scheme == "tcp":
                _read_greeting(connection, address)
    except NotAScheduler:
        raise
    except OSError as exc:
        raise OSError(f"no Dask scheduler answers at {address}: {exc.strerror or exc}") from None


def _read_greeting(connection: socket.socket, address: str) -> None:
    """A scheduler's first message: an 8-byte length (distributed's ``struct`` format "Q"), then its
    handshake, a msgpack table naming ``pickle-protocol``."""
    (length,) = struct.unpack("Q", _receive(connection, struct.calcsize("Q")))
    if not 0 < length <= _GREETING_MAX_BYTES or b"pickle-protocol" not in _receive(connection, length):
        raise NotAScheduler(f"what answers at {address} is not a Dask scheduler")


def _receive(connection: socket.socket, size: int) -> bytes:
    """Exactly ``size`` bytes (the socket's timeout applies to each wait); OSError if it closes first."""
    received = bytearray()
    while len(received) < size:
        chunk = connection.recv(size - len(received))
        if not chunk:
            raise ConnectionError("the connection closed before a greeting")
        received += chunk
    return bytes(received)


class DaskExecutor:
    """Points on a Dask cluster: the scheduler at ``scheduler``, or a LocalCluster started here.

    Results stream back as points finish; cancelling cancels the futures (points not started never
    start) and sets a Dask event that running points look at about once a second. Every worker
    needs muonscope (and torch) importable; the cache stays with the caller. Use as a context
    manager, or call :meth:`close`.

    Raises ImportError without dask.distributed, and OSError when no scheduler answers at
    ``scheduler`` within ``connect_timeout_s``.
    """

    def __init__(
        self,
        scheduler: str | None = None,
        workers: int = 0,
        *,
        processes: bool = True,
        connect_timeout_s: float = 5.0,
    ) -> None:
        from distributed import Client, LocalCluster

        self.scheduler = scheduler
        self._cluster = None
        if scheduler:
            _check_scheduler_answers(scheduler, connect_timeout_s)
            self._client = Client(scheduler, timeout=connect_timeout_s)
        else:
            with _terminal_interrupts_ignored():  # Ctrl-C reaches this process, which closes the cluster
                self._cluster = LocalCluster(
                    n_workers=local_workers(workers, usable_cores()),
                    threads_per_worker=1,
                    processes=processes,
                    # a free port: None meant Dask's :8787, and a second cluster on the machine (two
                    # sweeps at once) warned that the port was taken
                    dashboard_address=":0",
                    # a worker whose scheduler closes first (Ctrl-C, SIGTERM) logs its failed heartbeat
                    # as an error with a traceback; what goes wrong in a point reaches the client anyway
                    silence_logs=logging.CRITICAL,
                )
            self._client = Client(self._cluster)
        self._runtimes: dict[RunConfig, Runtime] = {}

    @property
    def client(self):
        """The Dask client (its dashboard, worker logs and the like are Dask's own tools)."""
        return self._client

    def worker_count(self) -> int:
        return len(self._client.scheduler_info().get("workers", {}))

    def runtime(self, run: RunConfig) -> Runtime:
        """Asked of a worker: a CPU-only client may drive a cluster of GPU machines."""
        if run not in self._runtimes:
            self._runtimes[run] = self._client.submit(runtime_of, run, pure=False).result()
        return self._runtimes[run]

    def compute(self, jobs: Sequence[Job], cancelled: Cancelled) -> Iterator[Computed]:
        from distributed import Event, wait

        stop = Event(f"muonscope-stop-{uuid.uuid4().hex}", client=self._client)
        pending = {
            self._client.submit(_compute_job_on_dask, job, stop.name, pure=False): job[0] for job in jobs
        }
        try:
            while pending:
                if cancelled():
                    return
                try:
                    done = wait(list(pending), timeout=_POLL_S, return_when="FIRST_COMPLETED").done
                except TimeoutError:
                    continue
                for future in done:
                    pending.pop(future)
                    yield future.result()
                    if cancelled():
                        return
        finally:
            if pending:  # cancelled, or the reader stopped: points not started never start,
                stop.set()  # and running ones give up at their next look at the event
                self._client.cancel(list(pending))

    def close(self) -> None:
        self._client.close()
        if self._cluster is not None:
            self._cluster.close()

    def __enter__(self) -> DaskExecutor:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()
