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
    assert values.dtype == dtype
    assert torch.equal(values, torch.linalg.svdvals(stack))  # each matrix is decomposed alone either way


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("threads", [1, 2])
def test_a_full_svd_is_that_of_one_batched_call_bit_for_bit(dtype, threads):
    """The polar map that moves the weights goes through here: a replayed session must match exactly."""
    stack = torch.randn(3, 64, 48, generator=torch.Generator().manual_seed(7), dtype=dtype)
    with torch_threads(threads):
        u, s, vh = across_cores(partial(torch.linalg.svd, full_matrices=False), stack)
        expected = torch.linalg.svd(stack, full_matrices=False)
    assert torch.equal(u, expected.U) and torch.equal(s, expected.S) and torch.equal(vh, expected.Vh)


def _recording(calls: list):
    def per_matrix(part):
        calls.append((threading.get_ident(), part.shape[0]))
        return torch.linalg.svdvals(part)

    return per_matrix


def test_parts_run_on_as_many_threads_as_torch_has():
    stack = torch.randn(5, 20, 20, dtype=torch.float64)
    calls: list = []
    with torch_threads(2):
        across_cores(_recording(calls), stack)
    assert sorted(size for _thread, size in calls) == [2, 3]
    assert len({thread for thread, _size in calls}) == 2
    assert threading.get_ident() in {thread for thread, _size in calls}  # the caller takes a part itself


def test_with_one_thread_the_caller_does_it_all_in_one_call():
    """The window's engine keeps to one thread, leaving the window a core: nothing may run beside it."""
    calls: list = []
    with torch_threads(1):
        across_cores(_recording(calls), torch.randn(4, 20, 20))
    assert calls == [(threading.get_ident(), 4)]


def test_a_part_that_fails_raises_in_the_caller():
    stack = torch.randn(4, 10, 10)
    stack[3, 0, 0] = float("nan")  # in the last part, which a helper thread computes

    def strict(part):
        if not torch.isfinite(part).all():
            raise torch.linalg.LinAlgError("not finite")
        return torch.linalg.svdvals(part)

    with torch_threads(2), pytest.raises(torch.linalg.LinAlgError, match="not finite"):
        across_cores(strict, stack)
