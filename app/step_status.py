"""A status-line message true only at one step, withdrawn once the view leaves it."""

from __future__ import annotations

__all__ = ["StepStatus"]


class StepStatus:
    """Says ``text`` about the step on show and withdraws it when a frame shows another step:
    "session opened: s2 (step 130)" stayed up for seconds after a jump to step 60.

    ``status_bar`` is the window's; ``clock`` the frame clock (``frame_drawn``, ``view_step``).
    """

    def __init__(self, status_bar, clock) -> None:
        self._status_bar = status_bar
        self._clock = clock
        self._said: tuple[str, int | None] = ("", None)
        clock.frame_drawn.connect(lambda _step: self._withdraw(clock.view_step))

    def show(self, text: str, step: int | None, timeout_ms: int) -> None:
        self._said = (text, step)
        self._status_bar.showMessage(text, timeout_ms)

    def _withdraw(self, step: int | None) -> None:
        text, said_step = self._said
        if step != said_step and self._status_bar.currentMessage() == text:
            self._status_bar.clearMessage()
