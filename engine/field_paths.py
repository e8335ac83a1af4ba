"""Where a setting sits: the keys ``task.d``, ``run.steps`` and ``lanes[1].lr`` (or ``lanes.1.lr``)
that ``--set``, change events and the window's intents all name settings by.

Plain strings in, (section, lane index, field) out; whether the field exists and its value is
allowed is the config's to say.
"""

from __future__ import annotations

import re

from muonscope.engine.errors import ConfigError
from muonscope.engine.validate import nearest

__all__ = ["nearest_field_path", "parse_field_path"]

_PATH = re.compile(r"^(task|run)\.(\w+)$|^lanes(?:\[(\d+)\]|\.(\d+))\.(\w+)$")


def parse_field_path(path: str) -> tuple[str, int, str]:
    """Split ``task.d`` / ``run.steps`` / ``lanes[1].lr`` into (section, lane index, field)."""
    match = _PATH.match(path.strip()) if isinstance(path, str) else None
    if not match:
        raise ConfigError("key", path, "must look like task.NAME, run.NAME or lanes[INDEX].NAME")
    if match.group(1):
        return match.group(1), -1, match.group(2)
    return "lanes", int(match.group(3) or match.group(4)), match.group(5)


def nearest_field_path(path: str) -> str | None:
    """The key ``path`` was likely meant to be where it does not parse: hyphens for underscores
    (``task.label-noise``), a misspelt table (``tsk.alpha``); None where none is near."""
    section, dot, rest = path.replace("-", "_").partition(".")
    if not dot:
        return None
    candidate = f"{nearest(section, ('task', 'run')) or section}.{rest}"  # a lane's index is not guessed
    try:
        parse_field_path(candidate)
    except ConfigError:
        return None
    return candidate
