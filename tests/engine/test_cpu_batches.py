"""Spectra of a stack computed in parts on the cores torch was given: the same values, every part done."""

from __future__ import annotations

import threading
from contextlib import contextmanager
from functools import partial

import pytest
import torch

from muonscope.engine.cpu_batches import across_cores


@contextmanager
def torch_threads(count: int):
    before = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(before)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("threads", [1, 2, 3])
@pytest.mark.parametrize("matrices", [1, 2, 5])
def test_the_values_are_those_of_one_batched_call(dtype, threads, matrices):
    stack = torch.randn(matrices, 40, 30, generator=torch.Generator().manual_seed(matrices), dtype=dtype)
    with torch_threads(threads):
        values = across_cores(torch.linalg.svdvals, stack)
    with torch_threads(1):
        expected = torch.linalg.svdvals(stack)  # as the window's one-thread engine computes them
    assert values.dtype == dtype
    assert torch.equal(values, expected)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("size", [48, 300])
def test_a_full_svd_is_that_of_one_batched_call_bit_for_bit(dtype, threads, size):
    """The polar map that moves the weights goes through here: a replayed session must match exactly,
    whatever the thread count (MKL's results at 256 and above depend on it within one matrix)."""
    stack = torch.randn(3, size + 16, size, generator=torch.Generator().manual_seed(7), dtype=dtype)
    with torch_threads(threads):
        u, s, vh = across_cores(partial(torch.linalg.svd, full_matrices=False), stack)
    with torch_threads(1):
        expected = torch.linalg.svd(stack, full_matrices=False)
    assert torch.equal(u, expected.U) and torch.equal(s, expected.S) and torch.equal(vh, expected.Vh)


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("matrices", [1, 3])
def test_the_factors_come_row_major_however_the_stack_was_split(threads, matrices):
    """LAPACK leaves U and Vᵀ column-major and torch.cat joins parts row-major; a product with a
    factor in either layout takes another of MKL's kernels with other bits (AVX-512): the window's
    one-at-a-time polar maps moved the weights 1e-16 away from a batched run's."""
    stack = torch.randn(matrices, 300, 280, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    svd = partial(torch.linalg.svd, full_matrices=False)
    with torch_threads(threads):
        for factors in (across_cores(svd, stack), across_cores(svd, stack[0])):
            assert all(factor.is_contiguous() for factor in factors)


def _recording(calls: list, together: threading.Barrier | None = None):
    def per_matrix(part):
        calls.append((threading.get_ident(), part.shape[0], torch.get_num_threads()))
        if together is not None:
            together.wait()  # broken after its timeout unless every part is under way at once
        return torch.linalg.svdvals(part)

    return per_matrix


@pytest.mark.parametrize("threads", [2, 3])
def test_parts_run_on_as_many_one_thread_workers_as_torch_has_threads(threads):
    """Each part keeps torch to one thread: a part on the caller's count would start a team of
    threads per part, more threads than cores."""
    stack = torch.randn(7, 20, 20, dtype=torch.float64)
    calls: list = []
    with torch_threads(threads):
        across_cores(_recording(calls, threading.Barrier(threads, timeout=60)), stack)
        assert torch.get_num_threads() == threads  # the caller's own count is untouched
    sizes = sorted(size for _thread, size, _count in calls)
    assert sum(sizes) == 7 and len(sizes) == threads and sizes[-1] - sizes[0] <= 1
    assert threading.get_ident() not in {thread for thread, _size, _count in calls}
    assert {count for _thread, _size, count in calls} == {1}


def test_a_thread_started_after_the_workers_takes_the_callers_count():
    """Setting the workers to one thread must not leak into threads that start later."""
    with torch_threads(2):
        across_cores(torch.linalg.svdvals, torch.randn(4, 10, 10))
        seen: list = []
        later = threading.Thread(target=lambda: seen.append(torch.get_num_threads()))
        later.start()
        later.join()
    assert seen == [2]


def test_with_one_thread_the_caller_does_it_all_in_one_call():
    """The window's engine keeps to one thread, leaving the window a core: nothing may run beside it."""
    calls: list = []
    with torch_threads(1):
        across_cores(_recording(calls), torch.randn(4, 20, 20))
    assert calls == [(threading.get_ident(), 4, 1)]


def test_a_part_that_fails_raises_in_the_caller():
    stack = torch.randn(4, 10, 10)
    stack[3, 0, 0] = float("nan")  # in the last part, which a helper thread computes

    def strict(part):
        if not torch.isfinite(part).all():
            raise torch.linalg.LinAlgError("not finite")
        return torch.linalg.svdvals(part)

    with torch_threads(2), pytest.raises(torch.linalg.LinAlgError, match="not finite"):
        across_cores(strict, stack)


def test_one_small_matrix_alone_is_decomposed_on_one_thread_too():
    """The window's engine decomposes one matrix at a time (cancellable between them); its bits must
    be those of the same matrix in a batch, which one-thread workers decompose. At 300 × 64 MKL's
    result on two threads differs from one thread's."""
    matrix = torch.randn(300, 64, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    calls: list = []
    with torch_threads(2):
        alone = across_cores(_recording(calls), matrix)
        in_a_stack = across_cores(torch.linalg.svdvals, torch.stack([matrix, matrix, matrix]))
    with torch_threads(1):
        expected = torch.linalg.svdvals(matrix)
    assert torch.equal(alone, expected) and torch.equal(in_a_stack[1], expected)
    assert calls[0][0] != threading.get_ident() and calls[0][2] == 1


def test_a_big_matrix_keeps_the_callers_threads():
    """From 512 rows and columns MKL's threads pay (a 1024² SVD: 219 ms on two, 352 ms on one)."""
    calls: list = []
    with torch_threads(2):
        across_cores(_recording(calls), torch.randn(2, 512, 512, dtype=torch.float64))
    assert calls == [(threading.get_ident(), 2, 2)]
