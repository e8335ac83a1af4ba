"""argparse's refusals said as every other bad value is, on one line with exit status 2.

"argument --steps: invalid int value: 'abc'" named no rule, and "argument --config: not allowed with
argument --preset" read as argparse's words beside our own: each becomes "FIELD = VALUE is not
allowed: WHAT IS" or a sentence in that manner, written by the command that refused it.
"""

from __future__ import annotations

import argparse
import re
import sys
from typing import NoReturn

from muonscope.engine.validate import one_of

__all__ = ["OneLineParser", "UsageError"]


class UsageError(Exception):
    """A command line argparse (or a command's own check) refused; the line is already written."""


#: The options given so far in one parse, kept on the namespace while it is parsed.
_GIVEN = "_options_given"


class _StoreOnce(argparse.Action):
    """An option that takes one value and is refused when given again: the last one silently won
    (``--save a --save b`` wrote b only, ``--resume s1 --resume s2`` resumed s2)."""

    def __call__(self, parser, namespace, values, option_string=None) -> None:
        given = namespace.__dict__.setdefault(_GIVEN, {})
        if option_string is not None and self.dest in given:
            first = given[self.dest]
            parser.error(
                f"{option_string} = {_as_typed(values)} is not allowed: {option_string} is given already "
                f"({_as_typed(first)}); give it once"
            )
        given[self.dest] = values
        setattr(namespace, self.dest, values)


def _as_typed(value) -> str:
    """An option's value as a refusal shows it: a number as typed ("--fps = 15", not "'15.0'"), any
    other value quoted, a path by its text."""
    from muonscope.engine.errors import plain_number

    if isinstance(value, bool) or not isinstance(value, int | float):
        return f"'{value}'"
    return plain_number(value) if isinstance(value, float) else str(value)


class OneLineParser(argparse.ArgumentParser):
    """argparse that reports usage errors on one line with exit status 2, and refuses an option of
    one value given twice."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.register("action", None, _StoreOnce)  # groups share the registry: their options too
        self.register("action", "store", _StoreOnce)

    def _stated_ranges(self) -> dict[str, str]:
        """Option → what it allows, for the options added with an ``allowed`` text (see
        :func:`state_range`): "--workers = 'abc' … must be a whole number" left out the range."""
        return {
            option: action.allowed
            for action in self._actions
            if getattr(action, "allowed", None)
            for option in action.option_strings
        }

    def parse_known_args(self, args=None, namespace=None):
        parsed, rest = super().parse_known_args(args, namespace)
        parsed.__dict__.pop(_GIVEN, None)
        return parsed, rest

    def error(self, message: str) -> NoReturn:
        message = _as_field_error(message, self._stated_ranges())
        sys.stderr.write(f"{self.prog}: error: {message}\n")
        raise UsageError(message)


#: argparse's refusals of a value, reworded as every other bad value is ("FIELD = VALUE is not
#: allowed: WHAT IS"): "argument --steps: invalid int value: 'abc'" named no rule.
_ARGPARSE_VALUE = re.compile(
    r"argument (?P<option>[^:]+): invalid (?P<kind>int|float|choice)(?: value)?: (?P<value>'.*?')(?P<rest>.*)"
)
_KIND_ALLOWED = {"int": "must be a whole number", "float": "must be a number"}


def state_range(action: argparse.Action, allowed: str) -> argparse.Action:
    """Say ``allowed`` ("must be an integer from 0 to 256") when argparse refuses the option's value
    as no number at all, as the command says it of a number out of range."""
    action.allowed = allowed
    return action


def _as_field_error(message: str, stated: dict[str, str] | None = None) -> str:
    empty = re.fullmatch(r"argument (?P<option>[^:]+): must not be empty", message)
    if empty is not None:  # _path's refusal: the value is known
        return f"{empty['option'].split('/')[-1]} = '' is not allowed: must not be empty"
    said = re.fullmatch(r"argument (?P<option>[^:]+): (?P<said>'.*' is not allowed: .*)", message)
    if said is not None:  # a path's refusal, which knows its value ("--open" is the window's PATH)
        option = said["option"].split("/")[-1]
        return f"{'PATH' if option == '--open' else option} = {said['said']}"
    missing = re.fullmatch(r"argument (?P<option>[^:]+): expected one argument", message)
    if missing is not None:  # "--size -1280x720": the value was read as an option
        option = missing["option"].split("/")[-1]
        return f"{option} needs a value after it (one that starts with '-' is written {option}=VALUE)"
    required = re.fullmatch(r"the following arguments are required: (?P<names>[A-Z, ]+)", message)
    if required is not None:  # "inspect -dash": the path was read as an option, and the message said no more
        return f"{required['names']} is missing (one that starts with '-' goes after a --, or as ./-NAME)"
    together = re.fullmatch(r"argument (?P<option>[^:]+): not allowed with argument (?P<other>.+)", message)
    if together is not None:  # argparse: "argument --config: not allowed with argument --preset"
        option, other = (together[name].split("/")[-1] for name in ("option", "other"))
        return f"{option} is not allowed with {other}: give one of them"
    found = _ARGPARSE_VALUE.fullmatch(message)
    if found is None:
        return message
    option = found["option"].split("/")[-1]
    allowed = (stated or {}).get(option) or _KIND_ALLOWED.get(found["kind"])
    if allowed is None:  # " (choose from 'parquet', 'csv')"
        choices = found["rest"].strip(" ()").removeprefix("choose from ").replace("'", "").split(", ")
        allowed = one_of(found["value"].strip("'"), choices)
    if option == "COMMAND":  # ``muonscope s1`` opens the session in s1 where there is one
        allowed += f", or a saved session's folder (there is no {found['value']} here)"
    return f"{option} = {found['value']} is not allowed: {allowed}"
