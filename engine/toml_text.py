"""TOML text read as plain data, refused in one line naming its source where it cannot be.

tomllib reads ``lr = 1e-400`` as 0.0 and ``d = 1e400`` as inf without a word: a lane that never
moves. Floats are kept as written until the whole file is read, so that such a number is refused by
its field, as ``--set`` refuses it.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from typing import Any

from muonscope.engine.errors import ConfigError
from muonscope.engine.validate import misread_float

__all__ = ["parse_toml"]


#: What :func:`parse_toml` calls text that came from no file.
_NO_SOURCE = "<toml>"


def parse_toml(text: str, field_name: str = "config", source: str = _NO_SOURCE) -> dict[str, Any]:
    """TOML text as plain data; syntax errors and absurd nesting become a ConfigError naming the
    source, and a number no float holds (``lr = 1e-400``, read as 0: a lane that never moves) one
    naming its field, as ``--set`` refuses it."""
    try:
        data = tomllib.loads(text, parse_float=_float_as_written)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(field_name, source, f"must be valid TOML ({exc})") from None
    except RecursionError:
        raise ConfigError(
            field_name, source, "must be valid TOML (tables or arrays nest too deeply)"
        ) from None
    except ValueError:  # int() refuses a number of more than 4300 digits
        raise ConfigError(field_name, source, "must be valid TOML (a number has over 4300 digits)") from None
    try:
        _refuse_misread_floats(data)
    except ConfigError as exc:  # named in the file it is in, as every other field of a config file
        where = exc.field if source == _NO_SOURCE else f"{source}: {exc.field}"
        raise ConfigError(where, exc.value, exc.allowed) from None
    return data


@dataclass(frozen=True)
class _MisreadFloat:
    """A float written in a TOML file that no float holds, kept as written to be refused by field."""

    written: str
    why: str

    def __repr__(self) -> str:  # a refusal echoes it as typed: lr = 1e-400, not '1e-400' or 0
        return self.written


def _float_as_written(written: str) -> float | _MisreadFloat:
    why = misread_float(written)
    return float(written) if why is None else _MisreadFloat(written, why)


def _refuse_misread_floats(value: Any, path: str = "") -> None:
    """Raise a ConfigError naming the first misread float in ``value`` by its field path."""
    if isinstance(value, _MisreadFloat):
        raise ConfigError(path, value, value.why)
    if isinstance(value, dict):
        for key, item in value.items():
            _refuse_misread_floats(item, f"{path}.{key}" if path else key)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _refuse_misread_floats(item, f"{path}[{index}]")
