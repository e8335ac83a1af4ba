"""Errors the engine raises for bad input, each worded as one line a user can act on."""

from __future__ import annotations

import datetime
import math
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

__all__ = [
    "Cancelled",
    "ConfigError",
    "StepCancelled",
    "and_listed",
    "format_value",
    "outline",
    "plain_number",
    "raising_check",
]

#: Exponents written out in plain digits by :func:`plain_number` ("0.000000001" … "1000000000").
_PLAIN_EXPONENTS = (-9, 9)


#: Longest rendering of a user's value in a message: a pasted list of a million numbers stays one
#: readable line, and a file's path (often long in a temporary folder) stays whole.
_MAX_VALUE_CHARS = 240

#: Longest list shown whole in a message; a longer one is shown by its ends and its length.
_MAX_LIST_ITEMS = 8


def format_value(value: Any) -> str:
    """Render a user's value the way they would type it (strings quoted, floats short, long ones cut).

    A long value is cut in the middle: its end (a file's name, a list's last items) stays readable.
    """
    if isinstance(value, bool):
        return "true" if value else "false"  # as TOML and the command line spell them
    if isinstance(value, float):
        return plain_number(value)
    if isinstance(value, tuple | list) and len(value) > _MAX_LIST_ITEMS:
        return _long_list(value)
    if isinstance(value, tuple | list):  # "(12, 8, 5)", not "(12.0, 8.0, 5.0)"; "[true]", not "[True]"
        inner = ", ".join(format_value(v) for v in value)
        text = f"({inner})" if isinstance(value, tuple) else f"[{inner}]"
    elif isinstance(value, dict):  # a TOML inline table, as typed: "{a = 1}", not "{'a': 1}"
        text = "{" + ", ".join(f"{key} = {format_value(item)}" for key, item in value.items()) + "}"
    elif isinstance(value, datetime.date | datetime.time):  # a TOML date, not datetime.datetime(1979, …)
        text = value.isoformat()
    else:
        text = repr(value)
    if len(text) > _MAX_VALUE_CHARS:
        keep = (_MAX_VALUE_CHARS - 1) // 2
        return text[:keep] + "…" + text[-keep:]
    return text


def _long_list(value: tuple | list) -> str:
    """A long list by its ends and its length: "[1, 1, 1, …, 1, 1] (101 items)", so that a refusal
    of a pasted list still says how many there were."""
    ends = [format_value(v) for v in value[:3]] + ["…"] + [format_value(v) for v in value[-2:]]
    inner = ", ".join(ends)
    text = f"({inner})" if isinstance(value, tuple) else f"[{inner}]"
    return f"{text} ({len(value)} items)"


def and_listed(names: Sequence[str]) -> str:
    """ "a", "a and b", "a, b and c": names in a sentence."""
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + f" and {names[-1]}"


def plain_number(value: float) -> str:
    """A number as a user types it, in plain digits: "0.00001", "2000000", "0.3" (Python's ``g``
    wrote "1e-05" and "2e+06" in lane names and messages beside axes that never do); beyond
    10^±9, where plain digits stop being readable, in e-notation still."""
    if not math.isfinite(value):
        return f"{value:g}"
    text = _fewest_digits(float(value))
    if "e" not in text:
        return text
    exponent = math.floor(math.log10(abs(value)))
    if not _PLAIN_EXPONENTS[0] <= exponent <= _PLAIN_EXPONENTS[1]:
        return text.replace("e+", "e")  # "1e30", as typed (Python writes "1e+30")
    plain = f"{Decimal(text):f}"
    return plain.rstrip("0").rstrip(".") if "." in plain else plain


def _fewest_digits(value: float) -> str:
    """The value in the fewest significant digits, from 6 to 12, that give it back: 6 alone wrote
    μ = 0.999999999999 as "1", a value the μ box refuses, and lr 128.00001 as another lane's 128;
    a value that needs more (0.1 + 0.2) keeps 12, past what anyone types."""
    for digits in range(6, 13):
        text = f"{value:.{digits}g}"
        if float(text) == value:
            return text
    return text


class _Written:
    """A value a refusal shows as ``text``: a kind in place of contents no one needs read back."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return self.text


def outline(value: Any) -> Any:
    """``value``, or for a table its outline ``{…}`` (an array of tables: ``[{…}, …]``): a
    misspelt ``[runn]`` was refused with its nine settings printed in a 330-character line."""
    if isinstance(value, dict):
        return _Written("{…}")
    if isinstance(value, list) and value and all(isinstance(item, dict) for item in value):
        return _Written("[{…}]" if len(value) == 1 else "[{…}, …]")
    return value


class ConfigError(ValueError):
    """A configuration value outside what is allowed.

    The message always names the field, the value and what is allowed, on one line, so the CLI
    can print it as is and the UI can show it in a status bar.
    """

    def __init__(self, field: str, value: Any, allowed: str) -> None:
        self.field = field
        self.value = value
        self.allowed = allowed
        super().__init__(f"{field} = {format_value(value)} is not allowed: {allowed}")

    def __reduce__(self):
        """Rebuilt from its three parts: a point refused in a sweep worker reaches the caller whole
        (the default rebuilds from the message alone, and the worker's result thread dies on it)."""
        return type(self), (self.field, self.value, self.allowed)

    def prefixed(self, prefix: str) -> ConfigError:
        """The same error with its field placed under ``prefix`` (``lr`` → ``lanes[2].lr``)."""
        field = f"{prefix}.{self.field}" if self.field else prefix
        return ConfigError(field, self.value, self.allowed)


class Cancelled(Exception):
    """A long computation abandoned at one of its cancellation points, as its caller asked."""


class StepCancelled(Cancelled):
    """A step was abandoned at one of its cancellation points; the experiment is as it was before it."""


def raising_check(cancelled: Callable[[], bool], step: int) -> Callable[[], None]:
    """A check, for a step's cancellation points, that abandons step ``step`` once ``cancelled()``
    says so."""

    def check() -> None:
        if cancelled():
            raise StepCancelled(f"step {step} cancelled")

    return check
