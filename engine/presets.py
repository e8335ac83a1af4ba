"""Presets: named TOML files of a config plus what it shows and why.

A preset file holds the usual ``[task]``, ``[[lanes]]`` and ``[run]`` tables, a ``[preset]`` table
(title, caption, citation, claim, paper) and an optional ``[view]`` table for the app's panels.
The bundled presets are package data of ``muonscope``, found with :mod:`importlib.resources`, so
they are there however the package was installed. Files are read with a size limit and parsed
with ``tomllib`` only: a bad file gives a ConfigError naming it and changes nothing.
"""

from __future__ import annotations

import re
import shlex
import stat
from collections.abc import Callable
from dataclasses import dataclass, field, fields, replace
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

import tomli_w

from muonscope.engine.config import ExperimentConfig, TaskConfig, lane_from_dict
from muonscope.engine.errors import ConfigError, outline
from muonscope.engine.optim.registry import typed_field_problem
from muonscope.engine.task_kinds import task_field_problem
from muonscope.engine.toml_text import parse_toml
from muonscope.engine.validate import one_of, unknown_key

__all__ = [
    "MAX_CONFIG_BYTES",
    "MAX_SETTINGS_APART",
    "Preset",
    "config_file_text",
    "load_config_file",
    "load_preset",
    "nearest_preset",
    "preset_names",
    "read_text_file",
]

_META_KEYS = ("title", "caption", "citation", "claim", "paper")
#: The top-level tables of a config or preset file.
_FILE_TABLES = ("preset", "view", "task", "lanes", "run")
_NAME = re.compile(r"^[a-z0-9_]+$")
#: Largest config file read: presets are a few kB; a bound keeps /dev/zero or a log file from
#: being read into memory.
MAX_CONFIG_BYTES = 1 << 20
#: A run further than this many task and lane settings from every bundled preset is shown untitled.
MAX_SETTINGS_APART = 3


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
    #: The settings its caption was written for, where not its own: a config file copied from a
    #: bundled preset and then edited kept saying "a 128×128 memory" of a d = 32 run.
    described: ExperimentConfig | None = None
    #: The config file it was read from ("" for a bundled preset or a session's settings): a run of a
    #: file is the user's own, whatever title and caption the file copied from a bundled preset.
    source_file: str = ""

    @property
    def is_own_settings(self) -> bool:
        """Whether it is no bundled preset: a config file's, or a session's far from every preset."""
        return bool(self.source_file) or not self.title

    @property
    def described_config(self) -> ExperimentConfig:
        """The settings the caption describes (its own, unless :attr:`described` says otherwise)."""
        return self.config if self.described is None else self.described


def _bundled() -> Traversable:
    return resources.files("muonscope").joinpath("resources", "presets")


def preset_names() -> list[str]:
    """Names of the bundled presets, sorted."""
    return sorted(
        item.name.removesuffix(".toml") for item in _bundled().iterdir() if item.name.endswith(".toml")
    )


def load_preset(name: str, field: str = "preset") -> Preset:
    """A bundled preset by name; an unknown name lists the known ones, under ``field`` (the option
    that named it, on the command line)."""
    names = preset_names()
    if not isinstance(name, str) or not _NAME.match(name) or name not in names:
        raise ConfigError(field, name, one_of(name, names))
    text = _bundled().joinpath(f"{name}.toml").read_text(encoding="utf-8")
    return _preset_from_data(name, parse_toml(text, "preset", name))


def nearest_preset(config: ExperimentConfig, untitled_name: str = "session") -> Preset:
    """The bundled preset a run's settings come closest to: the one they equal, else one of the same
    task kind with the fewest settings changed (a saved session keeps its config, not its preset's
    name: this gives its window back the title, caption and panel views it was made under).

    A run that differs from every preset in its task kind or in more than MAX_SETTINGS_APART task and
    lane settings is the user's own: it gets an untitled preset named ``untitled_name`` holding its
    settings, as a config file does (a 2-lane run of another size was shown under a paper's title).
    """
    presets = [load_preset(name) for name in preset_names()]
    nearest = min(presets, key=lambda preset: _settings_apart(preset.config, config))
    far = _model_apart(nearest.config, config) > MAX_SETTINGS_APART
    if far or nearest.config.task.kind != config.task.kind:
        return Preset(name=untitled_name, config=config)
    return nearest


def _settings_apart(a: ExperimentConfig, b: ExperimentConfig) -> tuple[bool, int]:
    """(whether the task kinds differ, how many task, lane and run settings differ)."""
    cadence = ("steps", "eval_every", "spectra_every")
    run = sum(getattr(a.run, name) != getattr(b.run, name) for name in cadence)
    return (a.task.kind != b.task.kind, _model_apart(a, b) + run)


def _model_apart(a: ExperimentConfig, b: ExperimentConfig) -> int:
    """How many task and lane settings differ (a run's length or cadence does not make it another run)."""
    task = sum(getattr(a.task, f.name) != getattr(b.task, f.name) for f in fields(a.task))
    lanes = sum(x != y for x, y in zip(a.lanes, b.lanes, strict=False)) + abs(len(a.lanes) - len(b.lanes))
    return task + lanes


def load_config_file(path: Path, field_name: str = "config") -> Preset:
    """A config or preset file given by path; refusals name it as ``field_name`` (the CLI's ``--config``)."""
    _refuse_a_session(path, field_name)
    text = read_text_file(path, field_name)
    data = parse_toml(text, field_name, str(path))
    if not data:  # a file saved blank or cut short, not a run of defaults chosen by leaving all out
        tables = ", ".join(f"[[{name}]]" if name == "lanes" else f"[{name}]" for name in _FILE_TABLES)
        raise ConfigError(field_name, str(path), f"holds no settings; a config has one or more of {tables}")
    try:
        preset = _preset_from_data(path.stem, data)
    except ConfigError as exc:  # "task.alpha = nan" named no file, where a config was one of several
        raise ConfigError(f"{path}: {exc.field}", exc.value, exc.allowed) from None
    return replace(_described_by_a_bundled_caption(preset), source_file=str(path))


def _described_by_a_bundled_caption(preset: Preset) -> Preset:
    """A file whose caption is a bundled preset's, word for word, describes that preset's settings."""
    words = " ".join(preset.caption.split())
    if not words:
        return preset
    for name in preset_names():
        bundled = load_preset(name)
        if " ".join(bundled.caption.split()) == words:
            return replace(preset, described=bundled.config)
    return preset


def _refuse_a_session(path: Path, field_name: str) -> None:
    """A saved session (its folder or its session.json), or a folder ``run --out`` wrote, is not a
    config file: say what to give instead ("must be valid TOML" left the user guessing)."""
    try:
        _refuse_a_session_folder(path, field_name)
    except OSError as exc:  # a folder on its way this process may not enter
        raise ConfigError(field_name, str(path), f"must be a readable file ({exc.strerror})") from None


def _refuse_a_session_folder(path: Path, field_name: str) -> None:
    folder = path if path.is_dir() else path.parent
    if (path.is_dir() or path.name == "session.json") and (folder / "session.json").is_file():
        raise ConfigError(
            field_name,
            str(path),
            f"is a saved session, not a config file: open it with `muonscope {shlex.quote(str(folder))}`, "
            f"or continue it with `muonscope run --resume {shlex.quote(str(folder))}`",
        )
    if path.is_dir() and (path / "config.toml").is_file():
        raise ConfigError(
            field_name, str(path), f"is a folder; the config written there is {path / 'config.toml'}"
        )


def _wide_encoding(data: bytes) -> str | None:
    """ "UTF-32" or "UTF-16" where ``data`` reads as one, by its byte-order mark or (without one) by
    the zero bytes those encodings give Latin letters at the start; else None. Such a file was
    called binary data."""
    if data.startswith((b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff")):
        return "UTF-32"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "UTF-16"
    start = data[:256]
    if len(start) >= 8 and len(start) % 4 == 0 and sum(not any(start[i::4]) for i in range(4)) == 3:
        return "UTF-32"
    if len(start) >= 4 and len(start) % 2 == 0 and (not any(start[0::2]) or not any(start[1::2])):
        return "UTF-16"
    return None


def read_text_file(
    path: Path, field_name: str, limit_bytes: int = MAX_CONFIG_BYTES, kind: str = "TOML"
) -> str:
    """The UTF-8 text of a regular file of at most ``limit_bytes``; anything else is a ConfigError.

    FIFOs, devices and folders are refused before they are opened for reading (a FIFO would block,
    /dev/zero never ends), and no more than ``limit_bytes + 1`` bytes are ever read.
    """
    try:
        info = path.stat()
    except OSError as exc:
        raise ConfigError(field_name, str(path), f"must be a readable file ({exc.strerror})") from None
    if not stat.S_ISREG(info.st_mode):
        raise ConfigError(field_name, str(path), "must be a regular file (not a folder, FIFO or device)")
    if info.st_size > limit_bytes:
        raise ConfigError(
            field_name, str(path), f"must be at most {limit_bytes} bytes (it has {info.st_size})"
        )
    try:
        with path.open("rb") as handle:
            data = handle.read(limit_bytes + 1)
    except OSError as exc:
        raise ConfigError(field_name, str(path), f"must be a readable file ({exc.strerror})") from None
    if len(data) > limit_bytes:
        raise ConfigError(field_name, str(path), f"must be at most {limit_bytes} bytes")
    if wide := _wide_encoding(data):  # what a Windows editor's "Unicode" writes
        raise ConfigError(field_name, str(path), f"must be UTF-8 text (it is {wide}: save it as UTF-8)")
    if b"\x00" in data:
        raise ConfigError(field_name, str(path), f"must be {kind} text (it holds binary data)")
    try:
        return data.decode("utf-8").removeprefix("\ufeff")  # a byte-order mark some editors write
    except UnicodeDecodeError as exc:
        raise ConfigError(
            field_name, str(path), f"must be UTF-8 text (byte {exc.start} is not valid UTF-8)"
        ) from None


def _preset_from_data(name: str, data: dict[str, Any]) -> Preset:
    meta = data.pop("preset", {})
    view = data.pop("view", {})
    if not isinstance(meta, dict):
        raise ConfigError("preset", meta, f"must be a table of {', '.join(sorted(_META_KEYS))} (text)")
    if not isinstance(view, dict):
        raise ConfigError("view", view, "must be a table of panel settings (as [view] in a bundled preset)")
    for key, value in meta.items():
        if key not in _META_KEYS:
            raise ConfigError(f"preset.{key}", value, unknown_key(key, _META_KEYS))
        if not isinstance(value, str):
            raise ConfigError(f"preset.{key}", value, "must be text")
    for key, value in data.items():  # a file also holds [preset] and [view]: name them among the known keys
        if key not in _FILE_TABLES:
            raise ConfigError(key, outline(value), unknown_key(key, _FILE_TABLES))
    config = ExperimentConfig.from_dict(data)
    _refuse_unread_fields(data, config)
    return Preset(name=name, config=config, view=view, **meta)


def config_file_text(config: ExperimentConfig) -> str:
    """``config`` as a TOML config file that runs again and keeps everything it holds.

    The values its task and lanes do not read (a lane's λ while its polar map is exact) are kept as
    comments under their table, where leaving them out would not give them anyway: set, a file is
    refused for them (:func:`_refuse_unread_fields`), and written as values they made ``run
    --config`` of a ``run --out`` folder exit 2 ("lanes[0].lam = 0.005524 … has no effect");
    left out, a lane switched back lost its λ_t lane's settings.
    """
    full = config.to_dict()
    data = config.to_dict()
    kept = [_take_unread(data["task"], full["task"], config.task, _task_of, task_field_problem)]
    for lane, written, whole in zip(config.lanes, data["lanes"], full["lanes"], strict=True):
        kept.append(_take_unread(written, whole, lane, lane_from_dict, _lane_problem))
    tables = re.split(r"^(?=\[task\]$|\[\[lanes\]\]$|\[run\]$)", tomli_w.dumps(data), flags=re.MULTILINE)
    comments = iter(kept)
    text = []
    for table in filter(None, tables):
        header, _, body = table.partition("\n")
        unread = next(comments) if header in ("[task]", "[[lanes]]") else {}
        text.append(f"{header}\n{_kept_comments(unread)}{body}")
    return "".join(text)


def _lane_problem(lane: Any, name: str) -> str:
    return typed_field_problem(lane, name, getattr(lane, name))


def _take_unread(
    table: dict[str, Any],
    whole: dict[str, Any],
    built: Any,
    build: Callable[[dict[str, Any]], Any],
    problem: Callable[[Any, str], str],
) -> dict[str, Any]:
    """Take the fields ``built`` does not read out of ``table``; returns those that state something
    (leaving them out of ``whole`` would build another value), to be kept as comments."""
    unread = {name: table.pop(name) for name in list(table) if problem(built, name)}
    return {name: value for name, value in unread.items() if _states_something(build, whole, name, built)}


def _task_of(fields: dict[str, Any]) -> TaskConfig:
    return TaskConfig(**fields)


def _kept_comments(unread: dict[str, Any]) -> str:
    """TOML comment lines holding ``unread`` values, ready to be uncommented where they apply."""
    if not unread:
        return ""
    lines = ["# not read by these settings, kept for when they apply:"]
    lines += [f"# {' '.join(tomli_w.dumps({name: value}).split())}" for name, value in unread.items()]
    return "\n".join(lines) + "\n"


def _refuse_unread_fields(data: dict[str, Any], config: ExperimentConfig) -> None:
    """Refuse a field a file sets, to a value of its own, on a lane or task that does not read it.

    ``polar = "ns"`` on an SGD lane ran plain SGD without a word. A field that states what leaving
    it out gives is taken as it is: the files ``run --out`` writes hold every field, read or not.
    """
    task = data.get("task", {})
    for name, value in task.items():
        problem = task_field_problem(config.task, name)
        if problem and _states_something(_task_of, task, name, config.task):
            raise ConfigError(f"task.{name}", value, f"has no effect: {problem}")
    for index, (written, lane) in enumerate(zip(data.get("lanes", ()), config.lanes, strict=False)):
        for name, value in written.items():
            problem = typed_field_problem(lane, name, getattr(lane, name))
            if problem and _states_something(lane_from_dict, written, name, lane):
                where = f"lane {index} ({lane.display_label()})"
                raise ConfigError(f"lanes[{index}].{name}", value, f"has no effect on {where}: {problem}")


def _states_something(
    build: Callable[[dict[str, Any]], Any], written: dict[str, Any], name: str, built: Any
) -> bool:
    """Whether field ``name`` of ``written`` makes ``built`` differ from what leaving it out builds."""
    try:
        return build({key: value for key, value in written.items() if key != name}) != built
    except ConfigError:
        return True
