"""A preset's ``[view]`` table: which panel modes it opens with."""

from __future__ import annotations

from typing import Any

__all__ = ["VIEW_KEYS", "apply_view"]

#: view key → (panel attribute, mode switch, how to turn the TOML value into the mode value)
VIEW_KEYS = {
    "spectrum": ("spectrum", "view", str),
    "series": ("series", "metric", str),
    "series_log": ("series", "scale", lambda on: "log" if on else "linear"),
    "class_error": ("class_error", "view", str),
    "heatmap": ("class_error", "quantity", str),
    "capacity": ("capacity", "x", str),
}


def apply_view(views: Any, view: dict[str, Any]) -> list[str]:
    """Set every panel mode from ``view`` (absent keys reset to the first option).

    Returns one message per key or value that could not be applied; the rest still applies.
    """
    problems = [
        f"view.{key} is not a view setting (known: {', '.join(VIEW_KEYS)})"
        for key in view
        if key not in VIEW_KEYS
    ]
    for key, (panel_name, switch, convert) in VIEW_KEYS.items():
        panel = getattr(views, panel_name)
        combo = panel.modes[switch]
        value = convert(view[key]) if key in view else combo.itemData(0)
        try:
            panel.set_mode(switch, value)
        except ValueError:
            options = ", ".join(str(combo.itemData(i)) for i in range(combo.count()))
            problems.append(f"view.{key} = {view[key]!r} is not allowed: one of {options}")
    return problems
