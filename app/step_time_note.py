"""The window says, when a run starts or its settings change, how long each step will take where
that is long: at d = 8192 the busy bar counted the first step's half hour without a word of it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from muonscope.app.slow_notes import slow_step_note
from muonscope.engine.snapshot import Snapshot
from muonscope.widgets.message_bar import MessageBar

__all__ = ["StepTimeNote"]


class StepTimeNote:
    """Shows (and takes back) one message about slow steps; ``newest()`` is the run's newest
    snapshot (None before the first), whose device and dtype the run's steps run on."""

    def __init__(self, bar: MessageBar, newest: Callable[[], Snapshot | None]) -> None:
        self._bar = bar
        self._newest = newest
        self._text = ""
        self._number: int | None = None

    @property
    def text(self) -> str:
        """The message shown ("" when none)."""
        return self._text

    def update(self, config: Any) -> None:
        """Say how long ``config``'s steps will take, or take the message back where they are quick.

        Measured on the CPU only: a GPU run's engine owns the device, and a measurement from the
        window's thread would open a second context on it."""
        newest = self._newest()
        device, dtype = ("cpu", "float64") if newest is None else (newest.device, newest.dtype)
        note = slow_step_note(config, device, dtype) if device == "cpu" else ""
        text = f"{note[:1].upper()}{note[1:]}: the busy bar shows each step's time and can cancel it."
        text = text if note else ""
        if text == self._text:
            return
        if self._number is not None:
            self._bar.withdraw(self._number)
            self._number = None
        self._text = text
        if text:
            self._number = self._bar.show_message(text, "info")
