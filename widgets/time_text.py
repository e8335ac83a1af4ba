"""Times as the window writes them: a clock that ticks, and a rough wait."""

from __future__ import annotations

__all__ = ["duration_text", "elapsed_text"]


def elapsed_text(seconds: float) -> str:
    """``12 s``, ``2 min 05 s``: whole seconds, minutes once there are some (a busy line's clock)."""
    whole = int(seconds)
    if whole < 60:
        return f"{whole} s"
    return f"{whole // 60} min {whole % 60:02d} s"


def duration_text(seconds: float) -> str:
    """``45 s``, ``12 min``, ``3.5 h``, ``58 days``: a time to wait, to the digits that matter."""
    for unit, size, least in (("days", 86_400.0, 2.0), ("h", 3_600.0, 1.0), ("min", 60.0, 1.0)):
        if seconds >= least * size:
            value = seconds / size
            return f"{value:.0f} {unit}" if value >= 10 else f"{value:.1f} {unit}"
    return f"{seconds:.0f} s"
