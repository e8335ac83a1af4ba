"""Presets: named TOML files of a config plus what it shows and why.

A preset file holds the usual ``[task]``, ``[[lanes]]`` and ``[run]`` tables, a ``[preset]`` table
(title, caption, citation, claim, paper) and an optional ``[view]`` table for the app's panels.
Files are parsed with ``tomllib`` only: a bad file gives a ConfigError and changes nothing.
"""

from __future__ import annotations

import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.config import ExperimentConfig
from engine.errors import ConfigError

__all__ = ["Preset", "load_config_file", "load_preset", "preset_names", "presets_dir"]

_META_KEYS = ("title", "caption", "citation", "claim", "paper")


@dataclass(frozen=True, slots=True)
class Preset:
    """A named experiment with the text that explains it."""

    name: str
    config: ExperimentConfig
    title: str = ""
    caption: str = ""
    citation: str = ""
    claim: str = ""
    paper: str = ""
    view: dict[str, Any] = field(default_factory=dict)


def presets_dir() -> Path:
    """The folder of bundled presets: the source tree's, else the installed copy."""
    candidates = (
        Path(__file__).resolve().parents[1] / "resources" / "presets",
        Path(sys.prefix) / "share" / "muonscope" / "presets",
    )
    for candidate in candidates:
        if candidate.is_dir():
            return candidate
    return candidates[0]


def preset_names() -> list[str]:
    """Names of the bundled presets, sorted."""
    return sorted(path.stem for path in presets_dir().glob("*.toml"))


def load_preset(name: str) -> Preset:
    """A bundled preset by name; an unknown name lists the known ones."""
    path = presets_dir() / f"{name}.toml"
    if not isinstance(name, str) or "/" in name or not path.is_file():
        raise ConfigError("preset", name, "must be one of " + ", ".join(preset_names()))
    return _preset_from_data(name, _read_toml(path, "preset"))


def load_config_file(path: Path) -> Preset:
    """A config or preset file given by path (the CLI's ``--config``)."""
    return _preset_from_data(path.stem, _read_toml(path, "config"))


def _read_toml(path: Path, field_name: str) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(field_name, str(path), f"must be a readable file ({exc.strerror})") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(field_name, str(path), f"must be valid TOML ({exc})") from None


def _preset_from_data(name: str, data: dict[str, Any]) -> Preset:
    meta = data.pop("preset", {})
    view = data.pop("view", {})
    if not isinstance(meta, dict):
        raise ConfigError("preset", meta, "must be a table")
    if not isinstance(view, dict):
        raise ConfigError("view", view, "must be a table")
    for key, value in meta.items():
        if key not in _META_KEYS:
            raise ConfigError(f"preset.{key}", value, "unknown key; known keys: " + ", ".join(_META_KEYS))
        if not isinstance(value, str):
            raise ConfigError(f"preset.{key}", value, "must be text")
    config = ExperimentConfig.from_dict(data)
    return Preset(name=name, config=config, view=view, **meta)
