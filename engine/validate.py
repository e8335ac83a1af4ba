"""Small field checkers shared by the config dataclasses.

Each returns the value in its canonical type or raises :class:`ConfigError` naming the field, the
value and the allowed range. Nothing is ever clamped into range silently.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from muonscope.engine.errors import ConfigError, plain_number

__all__ = [
    "check_bool",
    "check_choice",
    "check_float",
    "check_float_list",
    "check_int",
    "check_text",
    "misread_float",
    "nearest",
    "nearest_hint",
    "one_of",
    "reads_as_zero",
    "unknown_key",
]


def check_int(field: str, value: Any, lo: int | None = None, hi: int | None = None) -> int:
    """An integer in ``[lo, hi]``; floats with an integral value (``64.0``) are accepted."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(field, value, f"must be an integer{_range_text(lo, hi)}")
    given = value  # a refusal echoes the value as given: 1e30, not 1000000000000000019884624838656
    if isinstance(value, float):
        if not value.is_integer():
            raise ConfigError(field, value, f"must be an integer{_range_text(lo, hi)}")
        value = int(value)
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        raise ConfigError(field, given, f"must be an integer{_range_text(lo, hi)}")
    return value


def check_float(
    field: str,
    value: Any,
    lo: float | None = None,
    hi: float | None = None,
    *,
    lo_open: bool = False,
    hi_open: bool = False,
) -> float:
    """A finite real number in the interval given (open or closed at each end)."""
    interval = _interval_text(lo, hi, lo_open, hi_open)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(field, value, f"must be a number{interval}")
    value = float(value)
    if not math.isfinite(value):
        raise ConfigError(field, value, f"must be a finite number{interval}")
    below = lo is not None and (value <= lo if lo_open else value < lo)
    above = hi is not None and (value >= hi if hi_open else value > hi)
    if below or above:
        raise ConfigError(field, value, f"must be a number{interval}")
    return value


def check_choice(
    field: str,
    value: Any,
    choices: Iterable[str],
    *,
    aliases: Mapping[str, str] | None = None,
    refused: Mapping[str, str] | None = None,
) -> str:
    """One of a fixed set of names.

    ``aliases``: other names of choices ("double" → "float64"), offered as the hint when typed;
    ``refused``: values a user may well try that are not offered, each with the reason, said in
    place of a hint (the nearest spelling to "float16" is "float64", the opposite of its intent).
    """
    choices = tuple(choices)
    if isinstance(value, str) and value in choices:
        return value
    reason = (refused or {}).get(value.casefold()) if isinstance(value, str) else None
    if reason is not None:
        raise ConfigError(field, value, "must be one of " + ", ".join(choices) + f" ({reason})")
    raise ConfigError(field, value, one_of(value, choices, aliases))


def one_of(value: Any, choices: Iterable[str], aliases: Mapping[str, Any] | None = None) -> str:
    """ "must be one of a, b, c", and the name ``value`` was likely meant to be where one is near:
    in a list of twelve presets, "Default" or "defualt" left the user to find "default" in it."""
    choices = tuple(choices)
    return "must be one of " + ", ".join(choices) + nearest_hint(value, choices, aliases)


def unknown_key(key: Any, known: Iterable[str]) -> str:
    """What is allowed in place of a key a table does not have: the keys it has, and the nearest."""
    known = tuple(known)
    return "unknown key; known keys: " + ", ".join(known) + nearest_hint(key, known)


def nearest_hint(value: Any, choices: Iterable[str], also: Mapping[str, Any] | None = None) -> str:
    """`` ('default'?)``: :func:`nearest`'s answer as an error message ends with it, or ""."""
    near = nearest(value, choices, also)
    return "" if near is None else f" ({near!r}?)"


def nearest(value: Any, choices: Iterable[str], also: Mapping[str, Any] | None = None) -> Any:
    """The choice ``value`` was likely meant to be, or None where none is near.

    Case, and hyphens for underscores, are not counted; a value that begins only one choice
    ("momentum" of momentum_order) names it. ``also``: other names of choices (a menu's text →
    its value), matched as the choices are and answered with the choice.
    """
    if not isinstance(value, str) or not value:
        return None
    names: dict[str, Any] = {_folded(choice): choice for choice in choices}
    names.update({_folded(name): choice for name, choice in (also or {}).items()})
    typed = _folded(value)
    begun = {choice for name, choice in names.items() if len(typed) >= 3 and name.startswith(typed)}
    if len(begun) == 1:
        return begun.pop()
    near = difflib.get_close_matches(typed, list(names), n=1, cutoff=0.6)
    return names[near[0]] if near else None


def _folded(name: str) -> str:
    return name.casefold().replace("-", "_")


def check_bool(field: str, value: Any) -> bool:
    """A true/false flag; numbers and strings are refused so that ``"false"`` cannot mean True."""
    if not isinstance(value, bool):
        raise ConfigError(field, value, "must be true or false")
    return value


def check_float_list(
    field: str,
    value: Any,
    lo: float | None,
    *,
    hi: float | None = None,
    max_len: int = 0,
    min_len: int = 1,
    lo_open: bool = True,
    max_len_words: str = "",
) -> tuple[float, ...]:
    """A list of ``min_len`` to ``max_len`` finite numbers, each above ``lo`` and at most ``hi``.

    The length is checked first, so a list of a million numbers is refused before any is read.
    ``max_len_words`` says the bound where another field sets a tighter one ("min(rows, cols)").
    """
    allowed = f"must be a list of {_count_text(min_len, max_len_words or max_len)} numbers"
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        raise ConfigError(field, value, allowed)
    if len(value) < min_len or (max_len and len(value) > max_len):
        raise ConfigError(field, value, allowed)
    return tuple(check_float(f"{field}[{i}]", item, lo, hi, lo_open=lo_open) for i, item in enumerate(value))


def check_text(field: str, value: Any, max_len: int) -> str:
    """One line of UTF-8 text of at most ``max_len`` characters."""
    allowed = f"must be one line of UTF-8 text of at most {max_len} characters"
    if isinstance(value, (bool, int, float)):  # label=1 on a command line is TOML's number 1
        kind, text = ("true or false", str(value).lower()) if isinstance(value, bool) else ("a number", value)
        raise ConfigError(field, value, f'{allowed}; it was read as {kind}: quote it, as "{text}"')
    if not isinstance(value, str) or len(value) > max_len or "\n" in value:
        shown = value if not isinstance(value, str) or len(value) <= 80 else value[:40] + "…"
        raise ConfigError(field, shown, allowed)
    try:
        value.encode("utf-8")  # bytes a terminal passed in that are not UTF-8 arrive as surrogates
    except UnicodeEncodeError:
        raise ConfigError(field, value, allowed) from None
    return value


def _count_text(lo: int, hi: int | str) -> str:
    return f"{lo} to {hi}" if hi else f"at least {lo}"


def _range_text(lo: int | None, hi: int | None) -> str:
    if lo is not None and hi is not None:
        return f" from {lo} to {hi}"
    if lo is not None:
        return f" >= {lo}"
    if hi is not None:
        return f" <= {hi}"
    return ""


def _interval_text(lo: float | None, hi: float | None, lo_open: bool, hi_open: bool) -> str:
    if lo is None and hi is None:
        return ""
    # an unbounded end is open: only finite numbers are allowed
    left = "(-inf" if lo is None else ("(" if lo_open else "[") + plain_number(lo)
    right = "inf)" if hi is None else plain_number(hi) + (")" if hi_open else "]")
    return f" in {left}, {right}"


#: Why a number written with digits is not the number read (:func:`misread_float`).
BELOW_SMALLEST_FLOAT = "must be 0 or at least about 5e-324 in size (the smallest float)"
ABOVE_LARGEST_FLOAT = "must be at most about 1.8e308 in size (the largest float)"


def misread_float(written: str) -> str | None:
    """Why the float ``written`` is not read as written (``1e-400`` reads as 0, ``1e400`` as inf),
    or None when it is."""
    if reads_as_zero(written):
        return BELOW_SMALLEST_FLOAT
    try:
        value = float(written)
    except ValueError:
        return None
    return ABOVE_LARGEST_FLOAT if math.isinf(value) and "inf" not in written.lower() else None


def reads_as_zero(written: str) -> bool:
    """Whether the number ``written`` has nonzero digits yet reads as 0, being below the smallest
    float (``1e-400``): taken as typed, a learning rate or a threshold became 0 without a word."""
    try:
        value = float(written)
    except ValueError:
        return False
    digits = written.strip().lower().split("e")[0]
    return value == 0 and any(digit in digits for digit in "123456789")
