"""What the mouse over a sweep's point reads: its x by the axis' own symbol, the mean over seeds and
their spread, in data units (panel ④ plots the logarithms where its axes are log)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from muonscope.widgets.number_text import number_text

__all__ = ["sweep_readout"]


def sweep_readout(
    x_title: str,
    x: np.ndarray,
    mean: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
    seeds: np.ndarray | None = None,
    whole_seeds: int = 0,
    running: Callable[[], bool] = lambda: False,
):
    """Hover text in data units (the plot holds log-mapped coordinates): "B = 64: 11.3, the mean over
    seeds (lowest 9, highest 13)"; "x = 64 … (seeds 9 – 13)" named neither the axis nor what 9 and 13
    were. A point of fewer seeds than ``whole_seeds`` says how many, and whether the sweep still
    ``running`` may bring the rest: "(1 of 3 seeds so far)"."""
    x_name = _x_name(x_title)

    def text(_px: float, _py: float, i: int) -> str:
        point = f"{x_name} = {number_text(x[i], 6)}: {number_text(mean[i], 4)}"
        if seeds is not None and seeds[i] < whole_seeds:
            why = " so far" if running() else ": the sweep stopped before the rest"
            point += f" ({int(seeds[i])} of {whole_seeds} seeds{why})"
        if lo[i] == hi[i]:
            return point  # one seed, or seeds that agree
        spread = f"lowest {number_text(lo[i], 4)}, highest {number_text(hi[i], 4)}"
        return f"{point}, the mean over seeds ({spread})"

    return text


def _x_name(title: str) -> str:
    """The symbol a sweep's x title ends its first clause with ("batch size B" → "B"), or that clause
    where it is a formula ("2T − 1, T = …" → "2T − 1")."""
    head = title.split(";")[0].split(",")[0].split(" = ")[0].strip()
    words = head.split()
    if len(words) >= 2 and all(word.isalpha() and len(word) > 2 for word in words[:-1]):
        return words[-1]
    return head or "x"
