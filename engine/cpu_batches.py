"""Small matrices decomposed on one-thread workers, side by side, whatever torch's thread count.

On the CPU, torch decomposes a stack (a batched SVD) matrix by matrix, and LAPACK gains nothing from
a second thread on a 128 × 128 matrix: with two threads, eight such spectra took 5.4 ms while the
second core sat idle. Parts of the stack run side by side on a small pool of workers instead
(torch's kernels release the GIL), each worker keeping torch (and so MKL) to one thread of its own:
2.8 ms. Had each part kept the caller's thread count, every part would have started a team of
threads, four on two cores, and the same eight took 4 ms in the engine. The default preset with
spectra every step ran at 2.29–2.42× the plain loop before, and at 2.67–2.75× with one-thread
workers and idle OpenMP threads asleep (the package's ``OMP_WAIT_POLICY``; benchmarks/engine_speed.py).

MKL's result for one matrix depends on how many threads it uses (from 64 × 300 and 256 × 256 up,
not at 128 × 128), so a matrix below ONE_THREAD_BELOW rows or columns is always decomposed on one
thread, alone on a worker when the caller has more: its bits are the same in a batch or one at a
time (the window's engine decomposes one matrix at a time, to be cancellable between them) and at
any thread count. From that size on MKL's threads pay (a 1024 × 1024 SVD: 219 ms on two threads,
352 ms on one), and the caller decomposes such matrices itself, one after another, with its own
thread count.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, wait
from typing import TypeVar

import torch
from torch import Tensor

__all__ = ["across_cores"]

Results = TypeVar("Results", Tensor, tuple[Tensor, ...])

#: Matrices with fewer rows or columns than this are decomposed on one thread (see above).
ONE_THREAD_BELOW = 512
#: How long a new worker waits for the others to start before it takes tasks anyway.
STARTUP_TIMEOUT_S = 30.0

_pool: tuple[int, ThreadPoolExecutor] | None = None  # (threads, pool)
_pool_lock = threading.Lock()


def across_cores(per_matrix: Callable[[Tensor], Results], stack: Tensor) -> Results:
    """``per_matrix(stack)`` for a function that treats each matrix of a stack (..., r, c) alone
    (``torch.linalg.svdvals``, or ``torch.linalg.svd`` with its tuple of stacks). On the CPU with
    more than one torch thread, matrices smaller than ONE_THREAD_BELOW go to one-thread workers, a
    stack (n, r, c) in up to ``torch.get_num_threads()`` parts at once, while the caller waits; an
    exception in a part is raised here once every part has finished."""
    threads = torch.get_num_threads()
    if stack.device.type != "cpu" or threads < 2 or min(stack.shape[-2:]) >= ONE_THREAD_BELOW:
        return _row_major(per_matrix(stack))
    parts = min(threads, stack.shape[0]) if stack.dim() == 3 else 1
    pool = _workers(threads)
    pieces = torch.tensor_split(stack, parts) if parts > 1 else (stack,)
    futures = [pool.submit(per_matrix, piece) for piece in pieces]
    wait(futures)  # every part finished, even when one fails
    done = [future.result() for future in futures]
    if len(done) == 1:
        return _row_major(done[0])
    if isinstance(done[0], Tensor):
        return torch.cat(done)
    return tuple(torch.cat(part) for part in zip(*done, strict=True))


def _row_major(results: Results) -> Results:
    """``results`` laid out row-major, as the parts joined by ``torch.cat`` are. LAPACK leaves U and
    Vᵀ column-major, and a product with a column-major factor takes another of MKL's kernels, with
    other bits (on AVX-512 at any thread count): the window's one-at-a-time maps, column-major, moved
    the weights 1e-16 away from a batched run's, whose parts were joined."""
    if isinstance(results, Tensor):
        return results.contiguous()
    return tuple(result.contiguous() for result in results)


def _workers(count: int) -> ThreadPoolExecutor:
    """The pool of ``count`` one-thread workers (made again when torch's thread count changed)."""
    global _pool
    with _pool_lock:
        if _pool is None or _pool[0] != count:
            if _pool is not None:
                _pool[1].shutdown(wait=False)
            _pool = (count, _started_pool(count))
        return _pool[1]


def _started_pool(count: int) -> ThreadPoolExecutor:
    """``count`` workers, each set to one torch thread before its first task.

    ``torch.set_num_threads`` sets the calling thread's own count (OpenMP's and MKL's are per
    thread) and also the count that threads take when they first use torch; the caller's count is
    written back once every worker has its own, so only the workers keep to one. A worker first
    takes the shared count (``get_num_threads`` does that), or its first kernel would.
    """
    everyone = threading.Barrier(count, timeout=STARTUP_TIMEOUT_S)

    def one_thread() -> None:
        torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            everyone.wait()  # holds each worker until all have started: one start per worker
        except threading.BrokenBarrierError:  # a worker never came: the others compute all the same
            pass

    pool = ThreadPoolExecutor(count, thread_name_prefix="muonscope-spectra")
    for started in [pool.submit(one_thread) for _ in range(count)]:
        started.result()
    torch.set_num_threads(count)
    return pool
