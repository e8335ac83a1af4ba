"""The ``muonscope`` command: the window with no arguments, headless subcommands otherwise.

Exit status: 0 success, 2 invalid input (one line on stderr naming the field), 1 runtime failure.
A user error never prints a traceback; set MUONSCOPE_DEBUG=1 to see one for runtime failures.
Nothing heavy is imported before the arguments are parsed, so ``--help`` and ``--version`` answer
at once; each command imports what it needs when it runs.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import threading
import time
import traceback
from collections.abc import Iterator
from pathlib import Path
from types import FrameType

from muonscope.app.cli_parser import build_parser
from muonscope.app.cli_refusals import UsageError
from muonscope.app.display_check import display_problem
from muonscope.app.path_words import path_text
from muonscope.app.standard_output import EXIT_READER_GONE, GuardedOutput, guarded_stdout
from muonscope.app.warning_lines import one_line_warnings
from muonscope.engine.errors import ConfigError, and_listed
from muonscope.engine.validate import nearest

__all__ = ["EXIT_OK", "EXIT_RUNTIME", "EXIT_USAGE", "main"]

EXIT_OK, EXIT_RUNTIME, EXIT_USAGE = 0, 1, 2
#: More arguments than any command needs (argparse takes quadratic time over a repeated option:
#: 100,000 ``--lane`` took minutes before the lane count was checked).
MAX_ARGUMENTS = 2000


@contextlib.contextmanager
def _sigterm_as_ctrl_c(headless: bool) -> Iterator[None]:
    """Within: SIGTERM interrupts a headless command as Ctrl-C does (exit 130, "interrupted").

    Each command takes over both signals once its work begins, to stop cleanly; before that (its
    imports take a second) SIGTERM killed it with status 143. The window keeps Qt's own handling.
    """
    if not headless or threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(_signum: int, _frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _dispatch(args: argparse.Namespace) -> int:
    if args.command == "run":
        from muonscope.app.run_command import run_command

        return run_command(args)
    if args.command == "shot":
        from muonscope.app.shot import shot_command

        return shot_command(args)
    if args.command == "record":
        from muonscope.app.record_command import record_command

        return record_command(args)
    if args.command == "reproduce":
        from muonscope.app.reproduce_command import reproduce_command

        return reproduce_command(args)
    if args.command == "sweep":
        from muonscope.app.sweep_command import sweep_command

        return sweep_command(args)
    if args.command == "cache":
        from muonscope.app.cache_command import cache_command

        return cache_command(args)
    if args.command == "inspect":
        from muonscope.app.inspect_command import inspect_command

        return inspect_command(args)
    return _open_window(args)


def _open_window(args: argparse.Namespace) -> int:
    """The window, on the default preset or on what the command line names (checked before it opens)."""
    from muonscope.app.stop_signals import stops_recorded_while_the_window_opens

    stops_recorded_while_the_window_opens()
    named = (
        ("PATH", args.window_session),
        ("--preset", args.window_preset),
        ("--config", args.window_config),
    )
    given = [(option, value) for option, value in named if value is not None]
    if len(given) > 1:
        raise ConfigError(given[1][0], str(given[1][1]), f"cannot go with {given[0][0]}: open one thing")
    if args.window_config is not None:
        from muonscope.engine.presets import load_config_file

        load_config_file(args.window_config, "--config")
    elif args.window_preset is not None:
        from muonscope.engine.presets import load_preset

        load_preset(args.window_preset, "--preset")
    elif args.window_session is not None:
        from muonscope.engine.session_file import check_session_folder

        check_session_folder(args.window_session)
    problem = display_problem()
    if problem:
        sys.stderr.write(
            f"muonscope: {problem}; run it on a desktop, under xvfb-run, or use 'muonscope shot'\n"
        )
        return EXIT_RUNTIME
    from muonscope.app.composition import launch

    return launch(preset=args.window_preset, config_file=args.window_config, session=args.window_session)


def _current_folder_exists(argv: list[str]) -> bool:
    """Whether the current folder is still there (or ``argv`` only asks for help or the version,
    which need none); where it is not, a line saying so on stderr.

    A shell left standing in a deleted folder ran muonscope into "Intel oneMKL FATAL ERROR: Cannot
    load …/libtorch_cpu.so" (torch's libraries are found relative to it) or a bare FileNotFoundError."""
    if any(word in ("-h", "--help", "--version") for word in argv):
        return True
    if not _folder_here():
        sys.stderr.write(
            "muonscope: error: the current folder no longer exists (it was removed while the shell "
            "stood in it); cd to a folder that does\n"
        )
        return False
    return True


def _folder_here() -> bool:
    """Whether the current folder still exists."""
    try:
        os.getcwd()
    except FileNotFoundError:
        return False
    return True


def _after_output(prog: str, code: int, output: GuardedOutput) -> int:
    """``code``, or how the command's output failed where that is all that failed: its files are
    written (a reader gone ends as SIGPIPE would have; a full or closed stdout is a runtime failure)."""
    if output.failure is None or code != EXIT_OK:
        return code
    if output.reader_gone:
        return EXIT_READER_GONE
    sys.stderr.write(f"{prog}: runtime failure: {output.failure_text()}\n")
    return EXIT_RUNTIME


def _quiet_broken_pipe() -> int:
    """The reader of our output went away (``| head``): stop quietly, as a shell tool does."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())  # the interpreter's final flush must not fail again
    return EXIT_READER_GONE


_COMMANDS = ("run", "shot", "record", "sweep", "reproduce", "cache", "inspect")
#: The window's own options that take a value as the next word (``--preset NAME``).
_WINDOW_OPTIONS_WITH_VALUE = ("--preset", "--config", "--open")
#: What the top of the command line reads besides them.
_TOP_FLAGS = ("-h", "--help", "--version", "-")


def _session_argument(argv: list[str]) -> list[str]:
    """``muonscope PATH`` opens the window on a saved session: PATH becomes ``--open PATH``.

    PATH is the first word that is neither an option nor an option's value, so that
    ``muonscope --preset default s1`` reaches the check that refuses opening two things.
    """
    _refuse_command_options_before_the_command(argv)
    index = 0
    while index < len(argv) and argv[index].startswith("-"):
        index += 2 if argv[index] in _WINDOW_OPTIONS_WITH_VALUE else 1
    if index >= len(argv):
        return argv
    word = argv[index]
    if word not in _COMMANDS and _looks_like_path(word):
        return [*argv[:index], "--open", word, *argv[index + 1 :]]
    return argv


def _refuse_command_options_before_the_command(argv: list[str]) -> None:
    """``muonscope --steps 5 run`` and ``muonscope s1 --steps 3``: an option of a command given where
    only the window's are read. argparse took the option's value for the command ("COMMAND = '5'").
    The window's own (a session, ``--preset``, ``--config``) before a command are refused too:
    ``muonscope --preset X run`` ran the default preset, without a word."""
    command = next((word for word in argv if word in _COMMANDS), None)  # where the loop below stops
    index = 0
    while index < len(argv) and argv[index] not in _COMMANDS:
        word = argv[index]
        option = word.split("=", 1)[0]
        if not word.startswith("-"):
            if not _looks_like_path(word):
                return  # a mistyped command: argparse names it, with the nearest ("'run'?")
            if command is not None:
                raise ConfigError("arguments", word, _window_word_before(command, "--open"))
        elif option in _WINDOW_OPTIONS_WITH_VALUE and command is not None:
            raise ConfigError("arguments", word, _window_word_before(command, option))
        elif option not in (*_WINDOW_OPTIONS_WITH_VALUE, *_TOP_FLAGS):
            where = (
                f"an option of {command} goes after it: muonscope {command} {option} …"
                if command
                else "the window reads only PATH, --preset NAME or --config FILE (see muonscope --help)"
            )
            raise ConfigError("arguments", word, f"muonscope reads no {option} before a command; {where}")
        index += 2 if word in _WINDOW_OPTIONS_WITH_VALUE else 1


#: How each command takes what the window's options name, where it takes it.
_WINDOW_WORDS_IN = {
    "--preset": {
        **dict.fromkeys(("run", "shot", "record", "sweep"), "--preset NAME"),
        "reproduce": "NAME",
    },
    "--config": dict.fromkeys(("run", "shot", "record", "sweep"), "--config FILE"),
    "--open": {**dict.fromkeys(("run", "shot", "record"), "--resume PATH"), "inspect": "PATH"},
}


def _window_word_before(command: str, option: str) -> str:
    """Why the window's ``option`` (``--open``: a session's folder) cannot come before ``command``,
    and how ``command`` takes it, where it does."""
    what = "a session's folder" if option == "--open" else option
    form = _WINDOW_WORDS_IN[option].get(command)
    if form is None:
        return f"{what} before a command opens the window, and {command} takes none"
    how = f"muonscope {command} {form} …"
    return f"{what} before a command opens the window; {command} takes it after it: {how}"


def _looks_like_path(text: str) -> bool:
    """An existing path, or one written as a path; a mistyped command stays a usage error."""
    return os.sep in text or Path(text).exists()


def _parsed(parser: argparse.ArgumentParser, argv: list[str]) -> argparse.Namespace:
    """The arguments; an unknown option is refused by the command it was given to, so that its error
    reads "muonscope run: error: …" like the command's others (the top parser named no command)."""
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        where = getattr(args, "command_parser", parser)
        hint = (
            " (the version: muonscope --version)"
            if "--version" in unknown
            else _option_hint(where, unknown) or _commands_taking(parser, where, unknown)
        )
        where.error(
            f"arguments = {' '.join(unknown)!r} is not allowed: {where.prog} takes no such argument"
            f"{hint}; see {where.prog} --help"
        )
    return args


def _option_hint(parser: argparse.ArgumentParser, unknown: list[str]) -> str:
    """`` ('--steps'?)`` for a mistyped option (``--stepz``), as mistyped keys and commands get."""
    typed = next((word.split("=", 1)[0] for word in unknown if word.startswith("--")), None)
    if typed is None:
        return ""
    options = {o[2:]: o for a in parser._actions for o in a.option_strings if o.startswith("--")}
    near = nearest(typed[2:], options)  # the dashes left out: every option shares them
    return "" if near is None else f" ({options[near]!r}?)"


def _commands_taking(
    parser: argparse.ArgumentParser, where: argparse.ArgumentParser, unknown: list[str]
) -> str:
    """`` (--steps is run's, shot's and record's)`` for an option that other commands take: ``sweep
    --steps 200`` named no command that would have read it."""
    typed = next((word.split("=", 1)[0] for word in unknown if word.startswith("--")), None)
    commands = next((a.choices for a in parser._actions if isinstance(a, argparse._SubParsersAction)), {})
    taking = [
        name
        for name, command in commands.items()
        if command is not where and any(typed in a.option_strings for a in command._actions)
    ]
    if not taking:
        return ""
    owners = and_listed([name + "'s" for name in taking])
    return f" ({typed} is {owners})"


def _said_of_option(exc: ConfigError, args: argparse.Namespace | None) -> str:
    """The error, naming ``--resume`` or ``--save`` when the folder it gave is what was refused:
    "missing: does not exist" left the user to find which of the command's paths was meant."""
    for option in ("resume", "save"):
        given = getattr(args, option, None)
        if given is not None and exc.field == str(given) and exc.field == exc.value:  # a SessionError's path
            allowed = f"it {exc.allowed}" if exc.allowed.startswith("is ") else exc.allowed
            return str(ConfigError(f"--{option}", exc.value, allowed))
    return str(exc)


def _unsaved(args: argparse.Namespace | None, began: float) -> str:
    """What an interrupt that ended the command at once (a second Ctrl-C, or one while the run was
    built) left out: a --save not written by this command ("interrupted" alone, after a first
    Ctrl-C had promised to save, read as if it had been)."""
    save = getattr(args, "save", None)
    if save is None:
        return ""
    written = Path(save) / "session.json"
    with contextlib.suppress(OSError):
        if written.stat().st_mtime >= began:
            return ""
    return f": the session was not saved to {path_text(save)}"


def _ended(code: int) -> int:
    """``code``, or the process ended with it where a command's engine step was left computing (a
    second Ctrl-C as its window closed): Python ending with that thread alive aborted the process."""
    offscreen = sys.modules.get("muonscope.app.offscreen")  # loaded by the commands that have one
    return code if offscreen is None else offscreen.exit_status(code)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``muonscope`` command and of ``python -m muonscope``.

    A problem is said as argparse says its own, prefixed by the command it stopped
    ("muonscope run: error: …"), so that every error of one command reads alike.
    """
    prog, args, began = "muonscope", None, time.time()
    argv = sys.argv[1:] if argv is None else list(argv)
    if not _current_folder_exists(argv):
        return EXIT_USAGE
    try:
        argv = _session_argument(argv)
        if len(argv) > MAX_ARGUMENTS:
            raise ConfigError("arguments", len(argv), f"at most {MAX_ARGUMENTS} on the command line")
        with guarded_stdout() as output:
            try:
                args = _parsed(build_parser(), argv)
            except SystemExit as done:  # --help or --version, printed: said where stdout failed
                if output.failure is None:
                    raise
                return _after_output(prog, done.code if isinstance(done.code, int) else EXIT_OK, output)
        prog = " ".join(filter(None, ("muonscope", args.command)))
        with one_line_warnings(), _sigterm_as_ctrl_c(args.command is not None), guarded_stdout() as output:
            return _after_output(prog, _dispatch(args), output)
    except ConfigError as exc:
        sys.stderr.write(f"{prog}: error: " + " ".join(_said_of_option(exc, args).split("\n")) + "\n")
        return EXIT_USAGE
    except UsageError:
        return EXIT_USAGE
    except BrokenPipeError:
        return _quiet_broken_pipe()
    except KeyboardInterrupt:
        sys.stderr.write(f"{prog}: interrupted{_unsaved(args, began)}\n")
        return _ended(130)
    except Exception as exc:
        if os.environ.get("MUONSCOPE_DEBUG"):
            traceback.print_exc()
        said = str(exc) if getattr(exc, "names_itself", False) else f"{type(exc).__name__}: {exc}"
        if not _folder_here():  # "--out o: No such file or directory" said nothing of why
            said += " (the current folder was removed while the command ran)"
        # a failure that is not a loss says so first ("saved elsewhere": the work is kept, not where asked)
        sys.stderr.write(f"{prog}: {getattr(exc, 'failure_heading', 'runtime failure')}: {said}\n")
        return EXIT_RUNTIME
