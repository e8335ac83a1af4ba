"""The header controls of a panel that computes in the background: run, its progress, cancel."""

from __future__ import annotations

from collections.abc import Callable

from PySide6 import QtWidgets

from muonscope.widgets.enter_key import press_on_enter

__all__ = ["SweepControls"]

#: The progress bar's width: at least "12/12" (the header stays within half a 1280 px window) and
#: its text, at most a short field's, unless its text needs more.
_LEAST_WIDTH_PX, _MOST_WIDTH_PX = 56, 120
#: Room either side of the progress bar's text.
_TEXT_MARGIN_PX = 8


class SweepControls:
    """Run, a progress bar of points done, and cancel, laid into a panel's header.

    Not a widget of its own: the three sit after the mode boxes, shown and hidden with them (a
    picture of the panel alone leaves them all out). Cancel takes run's place while a sweep runs
    (both at once made the header wider than half a 1280-pixel window).
    """

    def __init__(self, add: Callable[[QtWidgets.QWidget], None]) -> None:
        """``add`` puts a widget into the header (after its mode boxes)."""
        self.run_button = QtWidgets.QPushButton("run")
        self.run_button.setToolTip("run this sweep in the background (results are cached)")
        self.progress = QtWidgets.QProgressBar()
        self.progress.setMaximumWidth(_MOST_WIDTH_PX)
        self.progress.setMinimumWidth(_LEAST_WIDTH_PX)
        self.progress.setTextVisible(True)
        self.cancel_button = QtWidgets.QPushButton("cancel")
        for widget in (self.run_button, self.progress, self.cancel_button):
            add(widget)
        press_on_enter(self.run_button, self.cancel_button)
        self.running = False

    def show_state(self, sweeping: bool, running: bool, done: int = 0, total: int = 0) -> None:
        """What a sweep mode shows of its job: run or cancel, and ``done`` of ``total`` points (with
        "stopped" where a cancelled sweep left some: "3/33" read as still going)."""
        self.running = running
        self.run_button.setVisible(sweeping and not running)
        self.cancel_button.setVisible(sweeping and running)
        self.progress.setVisible(sweeping and (running or total > 0))
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(done)
        stopped = not running and 0 < total and done < total
        text = f"{done}/{total} stopped" if stopped else f"{done}/{total}"
        self.progress.setFormat(text)
        # as wide as its text: "4/21 stopped" was cut to "4/21 sto" where the header was short
        text_px = self.progress.fontMetrics().horizontalAdvance(text) + 2 * _TEXT_MARGIN_PX
        self.progress.setMinimumWidth(max(_LEAST_WIDTH_PX, text_px))
        self.progress.setMaximumWidth(max(_MOST_WIDTH_PX, text_px))
        self.progress.setToolTip(
            f"stopped after {done} of {total} points; run computes the rest (those done are cached)"
            if stopped
            else "points of the sweep computed"
        )
