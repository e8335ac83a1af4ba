"""How each sweep axis is shown (axis titles, log scales): the capacity panel and ``muonscope sweep``."""

from __future__ import annotations

from typing import NamedTuple

__all__ = ["SWEEP_PLOTS", "SweepPlot"]


class SweepPlot(NamedTuple):
    """A sweep's axes: titles (the y title in full and the short form a short axis shows) and scales.

    The x title may name ``{steps}``, the steps each point runs: the μ and window sweeps run the live
    run's length, which it then states (the same panel after 3 and after 30 steps showed two unlike
    figures alike). It goes on the x axis, which is long enough for it at any window size; a short
    y axis shows only the y title's short form.
    """

    x_label: str
    y_label: str
    y_short: str
    log_x: bool
    log_y: bool

    def titles(self, steps: int) -> tuple[str, str, str]:
        """The x title, the y title and its short form for points that run ``steps`` steps."""
        return self.x_label.format(steps=steps), self.y_label, self.y_short


#: A sweep over a size takes its one step on the population gradient, whatever the live batch
#: (Kim et al.'s capacity law); the x title says so (the y axis is too short for it), since the
#: lanes keep their live labels.
_EXACT_STEP = ", one exact-gradient step (B = ∞)"

#: axis → its plot; power laws (capacity against a size) on log-log axes
SWEEP_PLOTS = {
    "d": SweepPlot(f"dimension d{_EXACT_STEP}", "items recovered after one step", "recovered", True, True),
    "batch": SweepPlot("batch size B", "items recovered after one step", "recovered", True, True),
    "n_items": SweepPlot(f"items N{_EXACT_STEP}", "items recovered after one step", "recovered", True, True),
    "mu": SweepPlot(
        "momentum μ; each point at step {steps}", "alignment A(update)", "A(update)", False, False
    ),
    "window": SweepPlot(
        "2T − 1, T = 1/(1 − μ); each point at step {steps}",
        "‖sin Θ‖ of the buffer's top-r subspace",
        "‖sin Θ‖",
        True,
        True,
    ),
}
