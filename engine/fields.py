"""Config fields as data: type, bounds, choices and meaning, declared once.

The config dataclasses validate through these specs, the command line names them in its errors,
and the app builds its controls (ranges, choices, tooltips) from them, so a bound is written in one
place and the three can never disagree.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from muonscope.engine.errors import ConfigError
from muonscope.engine.validate import (
    check_bool,
    check_choice,
    check_float,
    check_float_list,
    check_int,
    check_text,
)

__all__ = ["MAX_DIM", "MAX_ITEMS", "MAX_SEED", "MAX_STEPS", "FieldSpec"]

MAX_DIM = 16384
MAX_ITEMS = 10_000_000
#: Seeds are 31-bit so that every control (a Qt spin box holds a 32-bit int) can show any of them.
MAX_SEED = 2**31 - 1
MAX_STEPS = 1_000_000_000


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """One config field: what values it takes and what it means.

    ``kind`` is ``int`` | ``float`` | ``choice`` | ``bool`` | ``floats`` (a list of numbers) |
    ``text``. Bounds are closed unless ``lo_open``/``hi_open``; ``max_len`` bounds lists and text
    and is checked before any element is looked at.
    """

    name: str
    kind: str
    label: str
    help: str = ""
    lo: float | None = None
    hi: float | None = None
    lo_open: bool = False
    hi_open: bool = False
    choices: tuple[str, ...] = ()
    max_len: int = 0
    max_len_words: str = ""  # a tighter bound another field sets, in words ("min(rows, cols)")
    #: the config being checked → that bound in words with its value ("min(rows, cols) = min(2, 100)
    #: = 2"): "[] is not allowed: must be a list of 1 to min(rows, cols) numbers" left the count out
    max_len_said: Callable[[Any], str] | None = None
    #: a choice field's other names for its choices, offered as hints: (("double", "float64"), …)
    aliases: tuple[tuple[str, str], ...] = ()
    #: values a user may well type that a choice field does not offer, with why not: ((value, reason), …)
    refused: tuple[tuple[str, str], ...] = ()

    def check(self, value: Any, owner: Any = None) -> Any:
        """The value in its canonical type, or a ConfigError naming this field and what is allowed.

        ``owner``: the config whose field this is, its fields before this one already checked (a
        bound another field sets is then said with its value)."""
        if self.kind == "int":
            return check_int(self.name, value, _int_or_none(self.lo), _int_or_none(self.hi))
        if self.kind == "float":
            return check_float(self.name, value, self.lo, self.hi, lo_open=self.lo_open, hi_open=self.hi_open)
        if self.kind == "choice":
            aliases, refused = dict(self.aliases), dict(self.refused)
            return check_choice(self.name, value, self.choices, aliases=aliases, refused=refused)
        if self.kind == "bool":
            return check_bool(self.name, value)
        if self.kind == "floats":
            return check_float_list(
                self.name,
                value,
                self.lo,
                hi=self.hi,
                max_len=self.max_len,
                lo_open=self.lo_open,
                max_len_words=self._max_len_words(owner),
            )
        if self.kind == "text":
            return check_text(self.name, value, self.max_len)
        raise ConfigError(self.name, value, f"has an unknown field kind {self.kind!r}")

    def _max_len_words(self, owner: Any) -> str:
        if owner is None or self.max_len_said is None:
            return self.max_len_words
        return self.max_len_said(owner)


def _int_or_none(value: float | None) -> int | None:
    return None if value is None else int(value)
