"""How each sweep axis is shown (axis labels, log scales): the capacity panel and ``muonscope sweep``."""

from __future__ import annotations

from typing import NamedTuple

__all__ = ["SWEEP_PLOTS", "SweepPlot"]


class SweepPlot(NamedTuple):
    x_label: str
    y_label: str
    log_x: bool
    log_y: bool


#: axis → its plot; power laws (capacity against a size) on log-log axes
SWEEP_PLOTS = {
    "d": SweepPlot("dimension d", "items recovered after one step", True, True),
    "batch": SweepPlot("batch size B", "items recovered after one step", True, True),
    "n_items": SweepPlot("items N", "items recovered after one step", True, True),
    "mu": SweepPlot("momentum μ", "alignment A(update) at the last step", False, False),
    "window": SweepPlot("2T − 1, T = 1/(1 − μ)", "‖sin Θ‖ of the buffer's top-r subspace", True, True),
}
