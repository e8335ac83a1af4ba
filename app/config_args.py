"""From command-line arguments to a validated config: --preset/--config, --lane, --set, --steps.

Every piece of text a user typed is checked before anything is built: one line, a bounded length,
each key once, values read as TOML (bare words as text). A problem is a ConfigError naming the
option and the value.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import math
import re
import sys
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

from muonscope.app.view_settings import view_errors
from muonscope.engine.changes import unnamed_where_set
from muonscope.engine.config import (
    MAX_LANES,
    ExperimentConfig,
    TaskConfig,
    lane_from_dict,
)
from muonscope.engine.errors import ConfigError
from muonscope.engine.field_paths import nearest_field_path, parse_field_path
from muonscope.engine.optim.registry import typed_field_problem
from muonscope.engine.presets import Preset, load_config_file, load_preset
from muonscope.engine.task_bound import task_bound_problem, turned_off_notes
from muonscope.engine.task_kinds import task_field_problem
from muonscope.engine.validate import ABOVE_LARGEST_FLOAT, BELOW_SMALLEST_FLOAT, reads_as_zero

__all__ = [
    "CONNECT_TIMEOUT_S",
    "EXECUTORS",
    "MAX_ARGUMENT_CHARS",
    "MAX_WORKERS",
    "build_config",
    "check_executor",
    "check_workers",
    "lane_fields_named",
    "named_preset",
    "open_executor",
    "overrides",
    "parse_lane_fields",
    "parse_value",
    "refuse_fields_without_effect",
    "refuse_file_fields_of_another_kind",
    "refuse_task_fields_without_effect",
    "table_format",
    "usable_workers",
]

#: Longest --set or --lane text read; a strengths list of this length is far past any bound.
MAX_ARGUMENT_CHARS = 10_000
#: Largest --workers accepted; a count above the cores this process may use is lowered to them.
MAX_WORKERS = 256
#: Where sweep points compute: processes on this machine, or a Dask cluster.
EXECUTORS = ("local", "dask")
#: How long ``--scheduler ADDRESS`` may take to answer before the command gives up.
CONNECT_TIMEOUT_S = 5.0


def parse_value(text: str, where: str) -> Any:
    """A TOML value (``96``, ``0.5``, ``true``, ``[1, 2]``, ``"x"``); anything else is a bare string.

    The text must be one line: a newline would let a second TOML key ride along unseen.
    """
    if any(ch in text for ch in "\n\r\x00"):
        raise ConfigError(where, text, "must be a single line")
    try:
        data = tomllib.loads(f"value = {text}")
    except tomllib.TOMLDecodeError:
        return text
    except RecursionError:
        raise ConfigError(where, text[:40] + "…", "nests arrays or tables too deeply") from None
    except ValueError:  # int() refuses a number of more than 4300 digits
        raise ConfigError(where, text[:40] + "…", "must be a number of at most 4300 digits") from None
    if set(data) != {"value"}:
        raise ConfigError(where, text, "must be one value")
    if _overflows(data["value"]) and "inf" not in text:  # echoed as "inf", 1e400 read as typed wrong
        raise ConfigError(where, text, ABOVE_LARGEST_FLOAT)
    if _underflows(text, data["value"]):  # 1e-400 became lr = 0, a lane that never moves, unsaid
        raise ConfigError(where, text, BELOW_SMALLEST_FLOAT)
    return data["value"]


#: A number written with an exponent.
_EXPONENTS = re.compile(r"[+-]?(?:\d[\d_]*)?\.?\d*[eE][+-]?\d+")


def _underflows(text: str, value: Any) -> bool:
    """Whether a number written with nonzero digits reads as 0 (a text value holds no number)."""
    if not isinstance(value, (float, list)):
        return False
    return any(reads_as_zero(number) for number in _EXPONENTS.findall(text))


def _overflows(value: Any) -> bool:
    if isinstance(value, list):
        return any(_overflows(item) for item in value)
    return isinstance(value, float) and math.isinf(value)


def _bounded(text: str, option: str) -> str:
    if len(text) > MAX_ARGUMENT_CHARS:
        raise ConfigError(option, text[:40] + "…", f"must be at most {MAX_ARGUMENT_CHARS} characters")
    return text


def parse_lane_fields(spec: str, where: str) -> dict[str, Any]:
    """``optimizer=muon,order=pre`` → {"optimizer": "muon", "order": "pre"}; each key at most once."""
    fields: dict[str, Any] = {}
    for part in _bounded(spec, where).split(","):
        key, sep, value = part.partition("=")
        key = key.strip()
        if not sep or not key:
            empty = " ('' leaves a lane as it is with --resume only)" if not spec.strip() else ""
            raise ConfigError(
                where, spec, f"must be comma-separated KEY=VALUE pairs, e.g. optimizer=muon,lr=0.1{empty}"
            )
        parsed = parse_value(value.strip(), f"{where}.{key}")
        if key in fields:
            raise ConfigError(f"{where}.{key}", parsed, f"is given twice in {spec!r}; give each key once")
        fields[key] = parsed
    return fields


#: A lane field typed on the command line: (where it was typed, lane index, field, value).
NamedLaneField = tuple[str, int, str, Any]


def lane_fields_named(lane_specs: list[dict[str, Any]], sets: list[tuple[str, Any]]) -> list[NamedLaneField]:
    """The lane fields the i-th --lane spec (lane i) and the ``lanes[i].NAME`` --set items name."""
    named = [
        (f"--lane[{index}].{name}", index, name, value)
        for index, fields in enumerate(lane_specs)
        for name, value in fields.items()
    ]
    for key, value in sets:
        section, index, name = parse_field_path(key)
        if section == "lanes":
            named.append((key, index, name, value))
    return named


def refuse_fields_without_effect(config: ExperimentConfig, named: list[NamedLaneField]) -> None:
    """Refuse a lane field typed for a lane that, as it ends up, does not read it.

    ``--lane optimizer=sgd,polar=ns`` ran plain SGD and said nothing; ``--lane optimizer=muon,
    ns_steps=3`` ran the exact polar map. Fields are checked on the lanes and task after every
    option, so ``--lane polar=ns --set lanes[0].optimizer=muon`` is a Muon lane that reads its polar
    map, and ``--lane …,lam_schedule=kim --set task.alpha=0.2`` is refused (a task change turns off
    what the task cannot run, but a typed value is not dropped in silence).
    """
    lanes = config.lanes
    for where, index, name, value in named:
        if not 0 <= index < len(lanes):
            continue
        problem = typed_field_problem(lanes[index], name, value) or task_bound_problem(
            config.task, name, value
        )
        if problem:
            lane = f"lane {index} ({lanes[index].display_label()})"
            raise ConfigError(where, value, f"has no effect on {lane}: {problem}")


def refuse_task_fields_without_effect(task: TaskConfig, sets: list[tuple[str, Any]]) -> None:
    """Refuse a ``--set task.NAME`` that the task, as it ends up, does not read."""
    for key, value in sets:
        section, _index, name = parse_field_path(key)
        problem = task_field_problem(task, name) if section == "task" else ""
        if problem:
            raise ConfigError(key, value, f"has no effect: {problem}")


def overrides(items: list[str]) -> list[tuple[str, Any]]:
    """--set KEY=VALUE items as (key, value) pairs, each key once."""
    return _overrides(items)


_KEY_FORMS = "task.NAME, run.NAME or lanes[INDEX].NAME"


def _overrides(items: list[str]) -> list[tuple[str, Any]]:
    out: dict[str, Any] = {}
    for item in items:
        key, sep, value = _bounded(item, "--set").partition("=")
        key = key.strip()
        if not sep:
            raise ConfigError("--set", item, "must be KEY=VALUE, e.g. task.d=96")
        try:
            parse_field_path(key)
        except ConfigError:  # "key = 'foo.bar'" named no option the user typed
            near = f" ({found!r}?)" if (found := nearest_field_path(key)) else ""
            raise ConfigError("--set", item, f"KEY must be {_KEY_FORMS}, e.g. task.d=96{near}") from None
        if key in out:
            raise ConfigError("--set", item, f"sets {key} a second time; give each key once")
        out[key] = parse_value(value.strip(), key)
    return list(out.items())


def view_options(items: list[str], lane_count: int | None = None) -> dict[str, Any]:
    """--view KEY=VALUE items as a ``[view]`` table, each key once and each value one its panel
    offers (a lane's number one of the run's ``lane_count`` lanes, where that is known)."""
    view: dict[str, Any] = {}
    for item in items:
        key, sep, value = _bounded(item, "--view").partition("=")
        key = key.strip().removeprefix("view.")  # the [view] table's key, as a config names it too
        if not sep or not key:
            raise ConfigError("--view", item, "must be KEY=VALUE, e.g. spectrum=momentum:steps")
        if key in view:
            raise ConfigError("--view", item, f"sets {key} a second time; give each key once")
        view[key] = _typed_view_value(parse_value(value.strip(), f"--view {key}"))
    for error in view_errors(view, lane_count):
        raise error
    return view


def _typed_view_value(value: Any) -> Any:
    """A --view value as typed on a command line: "True" and "false" are booleans, ".9" a number
    (TOML reads only "true" and "0.9", and the refusal of "True" said to write it without quotes)."""
    if not isinstance(value, str):
        return value
    if value.lower() in ("true", "false"):
        return value.lower() == "true"
    try:
        return float(value)
    except ValueError:
        return value


#: Why --steps is refused beside --set run.steps: which of the two ran was not said.
STEPS_GIVEN_TWICE = "--set run.steps sets the run's length too; give one of them"


def build_config(args: argparse.Namespace, machine_checked: bool = False) -> tuple[Preset, ExperimentConfig]:
    """The config a ``run`` or ``sweep`` describes: preset or file, then --lane, --set and --steps.

    ``machine_checked``: the config runs as it is (not a sweep's base, whose axes replace fields), so
    a file's device or sizes this machine refuses are refused here, naming the file.
    """
    preset = named_preset(args)
    config = preset.config
    lane_specs = [parse_lane_fields(spec, f"--lane[{i}]") for i, spec in enumerate(args.lane)]
    if lane_specs:
        if len(lane_specs) > MAX_LANES:
            raise ConfigError("--lane", len(lane_specs), f"at most {MAX_LANES} lanes")
        lanes = tuple(lane_from_dict(fields, f"--lane[{i}]") for i, fields in enumerate(lane_specs))
        config = ExperimentConfig(task=config.task, lanes=lanes, run=config.run)
    sets = _overrides(args.set)
    before, config = (
        config,
        unnamed_where_set(config, config.with_values(sets), [key for key, _value in sets]),
    )
    steps = getattr(args, "steps", None)
    if steps is not None:
        if any(key == "run.steps" for key, _value in sets):  # which of the two ran was not said
            raise ConfigError("--steps", steps, STEPS_GIVEN_TWICE)
        try:
            config = config.with_value("run.steps", steps)
        except ConfigError as exc:  # said as typed: "run.steps = 99999999999" named no option given
            raise ConfigError("--steps", steps, exc.allowed) from None
    refuse_fields_without_effect(config, lane_fields_named(lane_specs, sets))
    refuse_task_fields_without_effect(config.task, sets)
    if args.config is not None:
        refuse_file_fields_of_another_kind(args.config, preset.config.task, config.task, sets)
    where = f"{args.config}: " if args.config is not None else ""
    for error in view_errors(preset.view, len(config.lanes)):  # a heat map's lane past the last lane
        raise ConfigError(f"{where}{error.field}", error.value, error.allowed)
    if args.config is not None and machine_checked:
        refuse_what_the_file_asks_beyond_the_machine(args.config, preset.config, config, sets)
    for note in turned_off_notes(before, config):  # once nothing is refused; as the window says them
        sys.stderr.write(f"muonscope: note: {note}\n")
    return replace(preset, config=config), config


def refuse_what_the_file_asks_beyond_the_machine(
    path: Path, written: ExperimentConfig, final: ExperimentConfig, sets: list[tuple[str, Any]]
) -> None:
    """Refuse, naming the file, a device or a size the file asks for that this machine cannot give:
    ``device = "cuda"`` without CUDA, or a memory limit below the run's needs, was the one refusal of
    a config file's fields that named no file. Refusals of what ``--set`` asked are left for the
    run to say as before."""
    from muonscope.engine.device import check_memory, resolve_device

    try:
        device, dtype = resolve_device(final.run)
        check_memory(final, device, dtype)
    except ConfigError as exc:
        named = {key for key, _value in sets}
        if exc.field not in named and _set_by_file(written, exc.field):
            raise ConfigError(f"{path}: {exc.field}", exc.value, exc.allowed) from None


def _set_by_file(written: ExperimentConfig, field: str) -> bool:
    """Whether the task or run field ``field`` (``run.device``) is one a file wrote, off its default."""
    section, _, name = field.partition(".")
    if section not in ("task", "run"):
        return False
    defaults = ExperimentConfig()
    return getattr(getattr(written, section), name, None) != getattr(getattr(defaults, section), name, None)


def refuse_file_fields_of_another_kind(
    path: Path, written: TaskConfig, final: TaskConfig, sets: list[tuple[str, Any]]
) -> None:
    """Refuse a task field a config file sets that ``--set task.kind`` leaves unread.

    ``--config small.toml --set task.kind=spiked`` ran a spiked task and dropped the file's d, N and
    batch size without a word, where the same fields written beside ``kind = "spiked"`` are refused.
    A field the file leaves at its default says nothing, and the kind's embeddings follow the kind.
    """
    if written.kind == final.kind:
        return
    defaults, named = TaskConfig(), {key for key, _value in sets}
    for spec in dataclasses.fields(TaskConfig):
        name, value = spec.name, getattr(written, spec.name)
        if name in ("kind", "embeddings") or f"task.{name}" in named or value == getattr(defaults, name):
            continue
        problem = task_field_problem(final, name)
        if problem:
            because = f"{path} sets it; --set changed the kind"
            raise ConfigError(f"task.{name}", value, f"has no effect: {problem} ({because})")


def named_preset(args: argparse.Namespace) -> Preset:
    """The preset (or config file) the arguments name, as it is, before --lane, --set or --steps."""
    if args.config is not None:
        preset = load_config_file(args.config, "--config")
        for error in view_errors(preset.view):  # the window would refuse it too: say so before any work
            raise ConfigError(f"{args.config}: {error.field}", error.value, error.allowed)
        return preset
    return load_preset("default" if args.preset is None else args.preset, "--preset")


def branch_of(session: Any, text: str, option: str = "--branch") -> int:
    """A saved session's branch by its index (0 is main, the Branch menu's order) or its name."""
    names = [branch.name for branch in session.branches]
    if text.strip().isdigit() and int(text) < len(names):
        return int(text)
    if text in names:
        return names.index(text)
    choices = "; ".join(f"{i}: {name}" for i, name in enumerate(names))
    raise ConfigError(option, text, f"must be a branch of the session by index or name ({choices})")


def table_format(args: argparse.Namespace) -> str:
    """The table format an output folder gets; ``--format`` without ``--out`` would do nothing."""
    if args.format is not None and args.out is None:
        raise ConfigError("--format", args.format, "applies only with --out DIR")
    return args.format or "parquet"


def check_workers(workers: int) -> int:
    """A sweep's process count: 0 (one per core) to MAX_WORKERS."""
    if not 0 <= workers <= MAX_WORKERS:
        raise ConfigError(
            "--workers",
            workers,
            f"must be an integer from 0 (one per core) to {MAX_WORKERS} "
            "(more than the cores are lowered to them)",
        )
    return workers


def usable_workers(workers: int, command: str) -> int:
    """``workers`` lowered to the cores this process may use, with a note on stderr when it is, from
    ``command`` (``sweep``) as the command's other lines are.

    More processes than cores only share the cores, and each holds its own copy of torch.
    """
    from muonscope.engine.sweep_workers import usable_cores

    cores = usable_cores()
    if workers <= cores:
        return workers
    sys.stderr.write(
        f"muonscope {command}: note: --workers {workers} is more than the {cores} core(s) this process "
        f"may use; using {cores}\n"
    )
    return cores


def check_executor(executor: str, scheduler: str | None) -> None:
    """``--executor`` and ``--scheduler`` go together and Dask is installed when asked for."""
    if scheduler is not None and executor != "dask":
        raise ConfigError("--scheduler", scheduler, "needs --executor dask")
    if scheduler is not None and not scheduler.strip():
        raise ConfigError("--scheduler", scheduler, "must be a scheduler address, e.g. tcp://10.0.0.5:8786")
    if executor == "dask" and importlib.util.find_spec("distributed") is None:
        raise ConfigError(
            "--executor", executor, "needs Dask, which is not installed: pip install muonscope[dask]"
        )


@contextmanager
def open_executor(executor: str, scheduler: str | None, workers: int, nice: int = 0) -> Iterator:
    """The executor the options name, open for the whole command (several sweeps share it).

    ``local`` keeps its worker processes warm between the sweeps; ``dask`` connects to the
    scheduler at ``scheduler`` (or starts a LocalCluster of ``workers`` processes) and closes the
    connection at the end. A scheduler that does not answer within CONNECT_TIMEOUT_S is a
    ConfigError naming its address.
    """
    if executor == "local":
        from muonscope.engine.executors import LocalExecutor

        yield LocalExecutor(workers, nice)
        return
    from muonscope.engine.executors import DaskExecutor, NotAScheduler

    try:
        dask = DaskExecutor(scheduler, workers, connect_timeout_s=CONNECT_TIMEOUT_S)
    except NotAScheduler:
        raise ConfigError(
            "--scheduler", scheduler, "answers, but not as a Dask scheduler does (another service's port?)"
        ) from None
    except OSError:
        if scheduler is None:
            raise
        unknown = _unknown_host(scheduler)
        said = (
            f"no host named {unknown!r} is known here"
            if unknown
            else f"no Dask scheduler answered there within {CONNECT_TIMEOUT_S:g} s"
        )
        raise ConfigError("--scheduler", scheduler, said) from None
    except (ValueError, TypeError) as exc:
        if scheduler is None:
            raise
        detail = " ".join(str(exc).split())
        raise ConfigError(
            "--scheduler", scheduler, f"must be a scheduler address such as tcp://HOST:8786 ({detail})"
        ) from None
    with dask:
        if scheduler is not None and dask.worker_count() == 0:
            sys.stderr.write(
                f"muonscope: note: the scheduler at {scheduler} has no workers yet; "
                f"points start once one joins (dask worker {scheduler})\n"
            )
        yield dask


def _unknown_host(scheduler: str) -> str | None:
    """The host of ``scheduler`` (``tcp://HOST:PORT``) where no name service knows it, else None: a
    mistyped host failed at once, said as a scheduler that had not answered in five seconds."""
    import socket
    from urllib.parse import urlsplit

    try:
        host = urlsplit(scheduler if "://" in scheduler else f"tcp://{scheduler}").hostname
    except ValueError:
        return None
    if not host:
        return None
    try:
        socket.getaddrinfo(host, None)
    except socket.gaierror:
        return host
    except OSError:  # the name service itself failed: nothing known of the host
        pass
    return None
