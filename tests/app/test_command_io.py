"""How a headless command meets SIGTERM and Ctrl-C: at once, or, while it draws with Qt, between figures."""

import os
import signal

import pytest

from muonscope.app.command_io import headless_command, interrupts_deferred

STOPPING = pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["sigterm", "ctrl-c"])


def _signal_self(signum: int) -> None:
    os.kill(os.getpid(), signum)  # the handler runs in this (the main) thread before the next line


def _command(signum: int, reached: list[str]) -> None:
    with headless_command():
        _signal_self(signum)
        reached.append("after the signal")


def _drawing_command(signum: int, drawn: list[str]) -> None:
    """Three figures, the signal arriving while the first is drawn."""
    with headless_command(), interrupts_deferred() as stop_requested:
        for figure in ("a", "b", "c"):
            if stop_requested():
                break
            drawn.append(figure)
            if figure == "a":
                _signal_self(signum)
        drawn.append("after the figures")


@STOPPING
def test_a_signal_interrupts_a_headless_command_at_once(signum):
    reached: list[str] = []
    with pytest.raises(KeyboardInterrupt):
        _command(signum, reached)
    assert reached == []


@STOPPING
def test_while_drawing_a_signal_is_a_request_read_between_figures_and_raised_on_leaving(signum):
    """Raised inside Qt (a slot, the import of PySide6's signature module) the KeyboardInterrupt
    printed pyqtgraph's traceback, or aborted the process before the summary was written."""
    drawn: list[str] = []
    with pytest.raises(KeyboardInterrupt):
        _drawing_command(signum, drawn)
    assert drawn == ["a", "after the figures"]  # the figure under way finished, no other begun


def test_a_stopped_command_leaves_no_request_behind():
    with pytest.raises(KeyboardInterrupt):
        _command(signal.SIGTERM, [])
    with interrupts_deferred() as stop_requested:
        assert not stop_requested()
