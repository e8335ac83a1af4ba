"""A stack of small matrices decomposed on every core torch was given, not one matrix after another.

On the CPU, torch decomposes a stack (a batched SVD) matrix by matrix, and LAPACK gains nothing from
a second thread on a 128 × 128 matrix: with two threads, eight such spectra took 5.4 ms while the
second core sat idle, and the two Muon lanes' polar SVDs 3.1 ms. Parts of the stack run side by side
on a small thread pool instead (torch's kernels release the GIL): 3.1 ms and 1.9 ms. Each matrix is
decomposed alone either way, with the thread count torch was given (MKL's is process-wide), so the
results are bit for bit those of one batched call: replaying a session is exact whether or not its
stack was cut. With one torch thread (the window's engine, leaving the window a core) nothing runs
beside the caller.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import torch
from torch import Tensor

__all__ = ["across_cores"]

Results = TypeVar("Results", Tensor, tuple[Tensor, ...])

_pool: tuple[int, ThreadPoolExecutor] | None = None  # (threads, pool)
_pool_lock = threading.Lock()


def across_cores(per_matrix: Callable[[Tensor], Results], stack: Tensor) -> Results:
    """``per_matrix(stack)`` for a function that treats each matrix of a stack (n, r, c) alone
    (``torch.linalg.svdvals``, or ``torch.linalg.svd`` with its tuple of stacks), computed in up to
    ``torch.get_num_threads()`` parts at once on the CPU, the first on the calling thread; an
    exception in a part is raised here."""
    parts = min(torch.get_num_threads(), stack.shape[0]) if stack.dim() == 3 else 1
    if stack.device.type != "cpu" or parts < 2:
        return per_matrix(stack)
    first, *rest = torch.tensor_split(stack, parts)
    beside = [_helpers(parts - 1).submit(per_matrix, part) for part in rest]
    try:
        done = per_matrix(first)
    finally:
        others = [future.result() for future in beside]  # waited for even when the first part failed
    if isinstance(done, Tensor):
        return torch.cat([done, *others])
    return tuple(torch.cat(pieces) for pieces in zip(done, *others, strict=True))


def _helpers(count: int) -> ThreadPoolExecutor:
    """The pool of ``count`` threads (made again when torch's thread count changed)."""
    global _pool
    with _pool_lock:
        if _pool is None or _pool[0] != count:
            if _pool is not None:
                _pool[1].shutdown(wait=False)
            _pool = (count, ThreadPoolExecutor(count, thread_name_prefix="muonscope-spectra"))
        return _pool[1]
