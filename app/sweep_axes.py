"""How each sweep axis is shown (axis titles, log scales): the capacity panel and ``muonscope sweep``."""

from __future__ import annotations

from typing import NamedTuple

__all__ = ["SWEEP_PLOTS", "SweepPlot"]


class SweepPlot(NamedTuple):
    """A sweep's axes: titles (the y title in full and the short form a short axis shows) and scales.

    A y title may name ``{steps}``, the steps each point runs: the μ and window sweeps run the live
    run's length, which the title then states rather than "the last step".
    """

    x_label: str
    y_label: str
    y_short: str
    log_x: bool
    log_y: bool

    def y_titles(self, steps: int) -> tuple[str, str]:
        """The y title and its short form for points that run ``steps`` steps."""
        return self.y_label.format(steps=steps), self.y_short.format(steps=steps)


#: axis → its plot; power laws (capacity against a size) on log-log axes
SWEEP_PLOTS = {
    "d": SweepPlot("dimension d", "items recovered after one step", "recovered", True, True),
    "batch": SweepPlot("batch size B", "items recovered after one step", "recovered", True, True),
    "n_items": SweepPlot("items N", "items recovered after one step", "recovered", True, True),
    "mu": SweepPlot("momentum μ", "alignment A(update) at step {steps}", "A(update)", False, False),
    "window": SweepPlot(
        "2T − 1, T = 1/(1 − μ)",
        "‖sin Θ‖ of the buffer's top-r subspace at step {steps}",
        "‖sin Θ‖",
        True,
        True,
    ),
}
