"""How every ``muonscope`` command's ``--help`` reads: the defaults shown, the examples, the names a
refused value lists, the environment variables and the exit codes, wrapped to one width."""

from __future__ import annotations

import argparse
import re
import textwrap

__all__ = [
    "CACHE_ENV",
    "CUDA_ENV",
    "DASK_ENV",
    "DEBUG_ENV",
    "DISPLAY_ENV",
    "EXIT_CODES",
    "HELP_WIDTH",
    "OMP_ENV",
    "QT_ENV",
    "READER_GONE_EXIT",
    "SWEEP_EXIT_CODES",
    "THREADS_ENV",
    "WINDOW_THREADS_ENV",
    "HelpFormatter",
    "help_epilog",
    "wrapped",
]

#: Width of the hand-made parts of ``--help`` (the option lists follow the terminal, as argparse does).
HELP_WIDTH = 100
#: What ``--help`` of every command says about exit codes.
#: The status of a command whose stdout's reader went away (``| head -1``), as SIGPIPE's.
READER_GONE_EXIT = "141 the reader of stdout went away (the files asked for are written all the same)"
EXIT_CODES = (
    "exit status: 0 success, 2 invalid input (one line naming the field), 1 runtime failure, "
    + READER_GONE_EXIT
)
DEBUG_ENV = "MUONSCOPE_DEBUG=1  print a traceback for runtime failures"
CACHE_ENV = "MUONSCOPE_CACHE=DIR  sweep cache folder (default: the user cache folder, muonscope/sweeps)"
QT_ENV = "QT_QPA_PLATFORM  Qt platform; the picture is drawn offscreen unless this names another"
CUDA_ENV = "CUDA_VISIBLE_DEVICES  GPUs that run.device=auto may use"
OMP_ENV = "OMP_WAIT_POLICY  idle OpenMP threads sleep (PASSIVE, the default here) or spin (ACTIVE)"
THREADS_ENV = "OMP_NUM_THREADS  torch threads to compute with (default: one per core)"
WINDOW_THREADS_ENV = (
    "OMP_NUM_THREADS  the engine's torch threads (default: all cores but one, or all where that is "
    "clearly faster)"
)
DISPLAY_ENV = "DISPLAY / WAYLAND_DISPLAY  the screen the window opens on"
DASK_ENV = "DASK_*  Dask's own configuration (e.g. DASK_LOGGING__DISTRIBUTED=error), with --executor dask"
#: Exit codes of the commands that run sweeps.
SWEEP_EXIT_CODES = (
    "exit status: 0 success, 2 invalid input (one line naming the field; also a --scheduler that does "
    "not answer), 1 runtime failure, 130 interrupted by Ctrl-C or SIGTERM (points computed so far "
    f"stay cached), {READER_GONE_EXIT}"
)


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Epilogs keep their line breaks; every option with a value shows its default."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        unset = action.default is None or action.default is False or action.default == []
        quiet = unset or action.default == argparse.SUPPRESS or "default" in text
        return text if quiet or not action.option_strings else f"{text} (default: %(default)s)"


def help_epilog(
    examples: list[str], environment: list[str], exit_codes: str = EXIT_CODES, names: list[str] = ()
) -> str:
    lines = ["example:" if len(examples) == 1 else "examples:"]
    lines += [f"  {example}" for example in examples]
    if names:
        lines += ["", "names (each refused value lists what is allowed):", *names]
    lines += ["", "environment:", *_aligned(environment)]
    return "\n".join([*lines, "", *_exit_lines(exit_codes)])


def _exit_lines(exit_codes: str) -> list[str]:
    """``exit status: 0 what, 2 what, …`` as one wrapped ``CODE  what`` line per code."""
    entries = re.split(r", (?=\d+ )", exit_codes.removeprefix("exit status: "))
    lines = ["exit status:"]
    for entry in entries:
        code, what = entry.split(" ", 1)
        lines += textwrap.wrap(
            what,
            HELP_WIDTH,
            initial_indent=f"  {code:<3}  ",
            subsequent_indent=" " * 7,
            break_on_hyphens=False,
        )
    return lines


def _aligned(environment: list[str]) -> list[str]:
    """``NAME  what it does`` entries with their descriptions in one column."""
    pairs = [entry.split("  ", 1) for entry in environment]
    width = max(len(name) for name, _what in pairs)
    return [
        line
        for name, what in pairs
        for line in textwrap.wrap(
            what,
            HELP_WIDTH,
            initial_indent=f"  {name:<{width}}  ",
            subsequent_indent=" " * (width + 4),
            break_on_hyphens=False,
        )
    ]


def wrapped(text: str) -> str:
    """A description within the help's width (the raw formatter keeps text as given)."""
    return textwrap.fill(text, HELP_WIDTH)
