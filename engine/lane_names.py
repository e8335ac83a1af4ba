"""Lanes alike in every setting told apart by their number."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

__all__ = ["named_apart"]


def named_apart(names: Sequence[str], indices: Sequence[int]) -> list[str]:
    """``names`` with " (lane i)" after each that two lanes share (one added as a copy, or forked into
    another's settings), as breakpoints and ``--lane`` count lanes: the run's table and the lane key
    listed "Muon pre μ=0.95 ema exact lr=0.3" twice, and which row was which lane was left to guess."""
    counts = Counter(names)
    return [
        f"{name} (lane {index})" if counts[name] > 1 else name
        for name, index in zip(names, indices, strict=True)
    ]
