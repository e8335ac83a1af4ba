"""A preset's ``[view]`` table: which panel modes it opens with.

Checked without a window (:func:`view_errors`) so that ``muonscope run --config`` refuses a table the
window would refuse, and applied to the panels (:func:`apply_view`) where one is open.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from muonscope.engine.errors import ConfigError, format_value
from muonscope.widgets.panel_modes import (
    CAPACITY_MODES,
    CLASS_ERROR_QUANTITIES,
    CLASS_ERROR_VIEWS,
    SERIES_METRICS,
    SPECTRUM_VIEWS,
)

__all__ = ["VIEW_KEYS", "apply_view", "view_errors"]


@dataclass(frozen=True)
class ViewKey:
    """Where one ``[view]`` key goes: a panel's mode box, and the values the key may take there."""

    panel: str  # attribute of the app's Views
    switch: str  # the panel's mode box
    allowed: tuple[Any, ...]  # the values a file may write
    to_mode: Callable[[Any], str] = str  # the written value → the mode box's value


def _modes(options: list[tuple[str, str]]) -> tuple[str, ...]:
    return tuple(value for value, _ in options)


VIEW_KEYS = {
    "spectrum": ViewKey("spectrum", "view", _modes(SPECTRUM_VIEWS)),
    "series": ViewKey("series", "metric", _modes(SERIES_METRICS)),
    "series_log": ViewKey("series", "scale", (True, False), lambda on: "log" if on else "linear"),
    "class_error": ViewKey("class_error", "view", _modes(CLASS_ERROR_VIEWS)),
    "heatmap": ViewKey("class_error", "quantity", _modes(CLASS_ERROR_QUANTITIES)),
    "capacity": ViewKey("capacity", "x", _modes(CAPACITY_MODES)),
}


def _is_allowed(value: Any, allowed: tuple[Any, ...]) -> bool:
    """Whether ``value`` is one of ``allowed`` as the same type (``1`` is not ``true``)."""
    return any(type(value) is type(option) and value == option for option in allowed)


def view_errors(view: dict[str, Any]) -> list[ConfigError]:
    """One error per key of ``view`` that is unknown or holds a value its panel does not offer."""
    errors = []
    for key, value in view.items():
        spec = VIEW_KEYS.get(key)
        if spec is None:
            known = ", ".join(VIEW_KEYS)
            errors.append(ConfigError(f"view.{key}", value, f"unknown key; known keys: {known}"))
        elif not _is_allowed(value, spec.allowed):
            options = ", ".join(
                option if isinstance(option, str) else format_value(option) for option in spec.allowed
            )
            errors.append(ConfigError(f"view.{key}", value, f"one of {options}"))
    return errors


def apply_view(views: Any, view: dict[str, Any]) -> list[str]:
    """Set every panel mode from ``view`` (absent keys reset to the first option).

    Returns one line per :func:`view_errors` error; every key without one still applies.
    """
    for key, spec in VIEW_KEYS.items():
        panel = getattr(views, spec.panel)
        value = view.get(key)
        usable = value is not None and _is_allowed(value, spec.allowed)
        panel.set_mode(spec.switch, spec.to_mode(value) if usable else panel.modes[spec.switch].itemData(0))
    return [str(error) for error in view_errors(view)]
