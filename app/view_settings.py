"""A preset's ``[view]`` table: which panel modes it opens with.

Checked without a window (:func:`view_errors`) so that ``muonscope run --config`` refuses a table the
window would refuse, and applied to the panels (:func:`apply_view`) where one is open.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from muonscope.engine.config import MAX_LANES
from muonscope.engine.errors import ConfigError, format_value
from muonscope.engine.validate import nearest, unknown_key
from muonscope.widgets.panel_modes import (
    CAPACITY_MODES,
    CLASS_ERROR_QUANTITIES,
    CLASS_ERROR_VIEWS,
    SERIES_METRICS,
    SERIES_SMOOTHING,
    SPECTRUM_VIEWS,
)

__all__ = ["NO_FOCUS", "VIEW_KEYS", "apply_view", "apply_view_over", "current_view", "view_errors"]


#: ``focus_lane``'s value when no lane is in focus.
NO_FOCUS = "none"


@dataclass(frozen=True)
class ViewKey:
    """Where one ``[view]`` key goes: a panel, the values the key may take (the first is what a
    file that leaves it out gets), and how a value is set on the panel; with, for a refusal, what
    the window's menus call each value (a user wrote ``spectrum = "W"``, as the box reads)."""

    panel: str  # attribute of the app's Views
    allowed: tuple[Any, ...]
    apply: Callable[[Any, Any], None]  # (panel, value) → None
    read: Callable[[Any], Any]  # panel → the value it shows now
    shown_as: tuple[str, ...] = ()  # the menu text of each allowed value, where the menus name them
    is_lane: bool = False  # the value is a lane's number, which the run's lanes must reach


def _mode_key(panel: str, switch: str, options: list[tuple[str, str]]) -> ViewKey:
    """A key that picks an option of one of the panel's mode boxes."""
    values = tuple(value for value, _ in options)
    texts = tuple(text for _, text in options)
    set_it = lambda shown, value: shown.set_mode(switch, value)  # noqa: E731
    return ViewKey(panel, values, set_it, lambda shown: shown.mode(switch), texts)


def _lane_key(panel: str) -> ViewKey:
    """A key that picks the lane a panel draws over the steps, by its number in the controls."""
    choose = lambda shown, position: shown.lane_choice.choose(position)  # noqa: E731
    return ViewKey(panel, tuple(range(MAX_LANES)), choose, lambda shown: shown.heat_lane(), is_lane=True)


def _focus_key() -> ViewKey:
    """The lane every panel draws as it is while the others are faint, by its number in the
    controls, or "none" (the first: what a file that leaves it out gets)."""
    focus = lambda key, value: key.set_focus(None if value == NO_FOCUS else value)  # noqa: E731
    read = lambda key: NO_FOCUS if key.focus is None else key.focus  # noqa: E731
    return ViewKey("lane_key", (NO_FOCUS, *range(MAX_LANES)), focus, read, is_lane=True)


VIEW_KEYS = {
    "spectrum": _mode_key("spectrum", "view", SPECTRUM_VIEWS),
    "series": _mode_key("series", "metric", SERIES_METRICS),
    "series_smoothing": ViewKey(
        "series",
        tuple(weight for weight, _ in SERIES_SMOOTHING),
        lambda shown, weight: shown.set_smoothing(weight),
        lambda shown: shown.smoothing,
        tuple(text for _, text in SERIES_SMOOTHING),
    ),
    "series_log": ViewKey(
        "series",
        (False, True),
        lambda shown, on: shown.set_mode("scale", "log" if on else "linear"),
        lambda shown: shown.mode("scale") == "log",
    ),
    "class_error": _mode_key("class_error", "view", CLASS_ERROR_VIEWS),
    "heatmap": _mode_key("class_error", "quantity", CLASS_ERROR_QUANTITIES),
    "capacity": _mode_key("capacity", "x", CAPACITY_MODES),
    # the lane in focus, before the lanes the heat maps draw: they follow it unless named themselves
    "focus_lane": _focus_key(),
    # the lane a heat map draws, by its number in the controls ("0 · SGD …"): a talk's session
    # saved on Muon's spectra over the steps opened on SGD's
    "spectrum_lane": _lane_key("spectrum"),
    "heatmap_lane": _lane_key("class_error"),
}


def _is_allowed(value: Any, allowed: tuple[Any, ...]) -> bool:
    """Whether ``value`` is one of ``allowed`` as the same kind of value: ``1`` is not ``true``, but
    ``0`` is the number 0.0 (``series_smoothing = 0`` was refused by a list that read "one of 0, …")."""
    return any(_same_kind(value, option) and value == option for option in allowed)


def _same_kind(value: Any, option: Any) -> bool:
    if isinstance(option, float) and not isinstance(value, bool):
        return isinstance(value, (int, float))
    return type(value) is type(option)


def view_errors(view: dict[str, Any], lane_count: int | None = None) -> list[ConfigError]:
    """One error per key of ``view`` that is unknown or holds a value its panel does not offer; with
    ``lane_count`` (the run's lanes), also per lane number past the last lane."""
    errors = []
    for key, value in view.items():
        spec = VIEW_KEYS.get(key)
        if spec is None:
            errors.append(ConfigError(f"view.{key}", value, unknown_key(key, VIEW_KEYS)))
        elif spec.is_lane and lane_count is not None:
            if not (_is_allowed(value, spec.allowed) and (value == NO_FOCUS or value < lane_count)):
                errors.append(ConfigError(f"view.{key}", value, _lanes_reached(lane_count, spec)))
        elif not _is_allowed(value, spec.allowed):
            errors.append(ConfigError(f"view.{key}", value, _allowed_text(spec, value)))
    return errors


def _lanes_reached(lane_count: int, spec: ViewKey) -> str:
    none = f' or "{NO_FOCUS}"' if NO_FOCUS in spec.allowed else ""
    if lane_count == 1:
        return f"must be 0{none}: the run has 1 lane"
    return f"must be a lane's number, 0 to {lane_count - 1}{none}: the run has {lane_count} lanes"


def _usable(key: str, value: Any, lane_count: int | None) -> bool:
    return key in VIEW_KEYS and not view_errors({key: value}, lane_count)


def _allowed_text(spec: ViewKey, value: Any) -> str:
    """What ``spec`` allows, with the value ``value`` was likely meant to be: a quoted "true" for a
    switch is told to lose its quotes ("must be one of false, true" read as if it were one)."""
    if spec.is_lane:
        lanes = [option for option in spec.allowed if option != NO_FOCUS]
        none = f', or "{NO_FOCUS}"' if NO_FOCUS in spec.allowed else ""
        return f"must be a lane's number as the controls show it, 0 to {len(lanes) - 1}{none}"
    if all(isinstance(option, bool) for option in spec.allowed):
        return (
            "must be true or false, written without quotes"
            if isinstance(value, str)
            else "must be true or false"
        )
    texts = dict(zip(spec.shown_as, spec.allowed, strict=True)) if spec.shown_as else {}
    texts.update({_written_like_a_value(text): option for text, option in texts.items()})
    named = [option for option in spec.allowed if isinstance(option, str)]
    near = nearest(value, named, also=texts)
    if near is not None and _names_another_matrix(value, near, texts):
        near = None
    return f"must be one of {_options(spec)}" + ("" if near is None else f" ({near!r}?)")


def _names_another_matrix(value: Any, near: str, texts: dict[str, Any]) -> bool:
    """Whether ``value`` names, in full, a matrix or word of the options that ``near`` does not hold:
    ``G_sig:steps`` (no option draws the signal over the steps) was met with 'gradient:steps'?"""
    if not isinstance(value, str):
        return False
    known = {part for text in [*texts, *texts.values()] for part in _parts(str(text))}
    held = _parts(near) | {part for text, option in texts.items() if option == near for part in _parts(text)}
    return any(part in known and part not in held for part in _parts(value))


def _parts(text: str) -> set[str]:
    """The words of a value or of its menu text written as a value: ``G+M:steps`` → {G, M, steps}."""
    return {part for part in re.split(r"[:+]", _written_like_a_value(text)) if part}


def _written_like_a_value(text: str) -> str:
    """A menu's text in the values' own grammar: "G over steps" → "G:steps", "G, M and G_sig" →
    "G+M+G_sig". Typed so, after the menu, a value was met with 'weights:steps'? as the nearest."""
    return text.replace(" over ", ":").replace(", ", "+").replace(" and ", "+")


def _options(spec: ViewKey) -> str:
    """``gradient+momentum ("G and M"), update, weights ("W"), …``: each value as the file writes it,
    with the menu's text where that differs."""
    written = [option if isinstance(option, str) else format_value(option) for option in spec.allowed]
    return ", ".join(
        value if text in ("", value) else f'{value} ("{text}")'
        for value, text in zip(written, spec.shown_as or [""] * len(written), strict=True)
    )


def apply_view(views: Any, view: dict[str, Any], lane_count: int | None = None) -> list[str]:
    """Set every panel mode from ``view`` (absent or refused keys: the first value allowed) for a
    run of ``lane_count`` lanes.

    Returns one line per :func:`view_errors` error; every key without one still applies.
    """
    focused = _usable("focus_lane", view.get("focus_lane"), lane_count) and view["focus_lane"] != NO_FOCUS
    for key, spec in VIEW_KEYS.items():
        value = view.get(key)
        usable = value is not None and _usable(key, value, lane_count)
        if not usable and spec.is_lane and focused:
            continue  # a heat map's lane left out: the lane in focus, which it follows
        spec.apply(getattr(views, spec.panel), value if usable else spec.allowed[0])
    return [str(error) for error in view_errors(view, lane_count)]


def apply_view_over(views: Any, view: dict[str, Any], lane_count: int | None = None) -> list[str]:
    """Set the panel modes ``view`` names, leaving the others as they are (a saved session's over
    its nearest preset's); returns one line per key refused, which changes nothing."""
    for key, value in view.items():
        if _usable(key, value, lane_count):
            spec = VIEW_KEYS[key]
            spec.apply(getattr(views, spec.panel), value)
    return [str(error) for error in view_errors(view, lane_count)]


def current_view(views: Any) -> dict[str, Any]:
    """The panel modes on show, as a ``[view]`` table (what a saved session keeps)."""
    return {key: spec.read(getattr(views, spec.panel)) for key, spec in VIEW_KEYS.items()}
