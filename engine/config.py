"""Validated, immutable experiment configuration with dict and TOML round trips.

The field names are the project's public vocabulary: the CLI (``--set task.d=96``), the presets and
the UI all use them, so they stay stable. Every check names the field, the value and what is
allowed; unknown keys are errors, never ignored.
"""

from __future__ import annotations

import dataclasses
import re
import tomllib
from dataclasses import dataclass, field
from typing import Any

import tomli_w

from muonscope.engine.errors import ConfigError
from muonscope.engine.optim.registry import OPTIMIZERS
from muonscope.engine.validate import (
    check_bool,
    check_choice,
    check_float,
    check_float_list,
    check_int,
)

__all__ = [
    "EMBEDDINGS_BY_KIND",
    "LIVE_TASK_FIELDS",
    "MAX_LANES",
    "PROFILES",
    "TASK_KINDS",
    "ExperimentConfig",
    "LaneConfig",
    "RunConfig",
    "TaskConfig",
    "lane_from_dict",
    "parse_field_path",
    "parse_toml",
]

TASK_KINDS = ("zipf", "hierarchical", "two_level", "spiked")
EMBEDDINGS_BY_KIND: dict[str, tuple[str, ...]] = {
    "zipf": ("gaussian", "orthogonal", "identity"),
    "hierarchical": ("orthogonal", "identity"),
    "two_level": ("identity", "hadamard", "orthogonal"),
    "spiked": ("none",),
}
#: Task fields that may change while a run is live (between steps); the rest need a reset.
LIVE_TASK_FIELDS: dict[str, tuple[str, ...]] = {
    "zipf": ("label_noise", "batch_size"),
    "hierarchical": ("label_noise", "batch_size"),
    "two_level": ("label_noise", "batch_size"),
    "spiked": ("noise", "arch"),
}
#: Frequency profiles of the two_level task: Wang et al.'s head/tail split, or their staircase
#: (group 0: one class, group g >= 1: 2^(g-1) classes, each class with mass ∝ 2^-g).
PROFILES = ("two_level", "staircase")
ORDERS = ("pre", "post", "none")
POLARS = ("exact", "ns", "reg")
BUFFERS = ("ema", "sum")
NS_DTYPES = ("run", "float64", "float32", "bfloat16")
DEVICES = ("auto", "cpu", "cuda")
DTYPES = ("auto", "float64", "float32")
MAX_LANES = 8
MAX_DIM = 16384
MAX_ITEMS = 10_000_000
MAX_SEED = 2**63 - 1


def _set(obj: Any, name: str, value: Any) -> None:
    """Store a canonicalised value on a frozen dataclass during ``__post_init__``."""
    object.__setattr__(obj, name, value)


@dataclass(frozen=True, slots=True)
class TaskConfig:
    """What is learned: the memory task or gradient stream and its data stream.

    ``zipf`` (Kim et al.), ``hierarchical`` (Wang et al., ICML 2026), ``two_level`` (Wang et al.,
    ICLR 2026) and ``spiked`` (Li et al.) as SCIENCE.md §5–§8 define them. Fields that a kind does
    not use are kept (so switching kinds keeps the user's values) but are still range-checked.
    """

    kind: str = "zipf"
    d: int = 128
    n_items: int = 2048
    alpha: float = 1.5
    batch_size: int = 256
    label_noise: float = 0.0
    embeddings: str = ""
    seed: int = 0
    groups: int = 8
    group_exponent: float = 1.5
    head_mass: float = 0.8
    head_frac: float = 0.2
    rows: int = 100
    cols: int = 100
    strengths: tuple[float, ...] = (12.0, 8.0, 5.0)
    noise: float = 1.0
    arch: float = 0.3
    signal_seed: int = 123
    anisotropy: float = 0.0
    profile: str = "two_level"

    def __post_init__(self) -> None:
        kind = check_choice("kind", self.kind, TASK_KINDS)
        _set(self, "d", check_int("d", self.d, 1, MAX_DIM))
        _set(self, "n_items", check_int("n_items", self.n_items, 2, MAX_ITEMS))
        _set(self, "alpha", check_float("alpha", self.alpha, 0.0, 10.0))
        _set(self, "batch_size", check_int("batch_size", self.batch_size, 0, 100_000_000))
        _set(self, "label_noise", check_float("label_noise", self.label_noise, 0.0, 1.0, hi_open=True))
        _set(self, "seed", check_int("seed", self.seed, 0, MAX_SEED))
        _set(self, "groups", check_int("groups", self.groups, 1, MAX_ITEMS))
        _set(self, "group_exponent", check_float("group_exponent", self.group_exponent, 0.0, 10.0))
        _set(
            self, "head_mass", check_float("head_mass", self.head_mass, 0.0, 1.0, lo_open=True, hi_open=True)
        )
        _set(
            self, "head_frac", check_float("head_frac", self.head_frac, 0.0, 1.0, lo_open=True, hi_open=True)
        )
        _set(self, "rows", check_int("rows", self.rows, 1, MAX_DIM))
        _set(self, "cols", check_int("cols", self.cols, 1, MAX_DIM))
        _set(self, "strengths", check_float_list("strengths", self.strengths, 0.0))
        _set(self, "noise", check_float("noise", self.noise, 0.0, 1e6))
        _set(self, "arch", check_float("arch", self.arch, 0.0, 1.0, hi_open=True))
        _set(self, "signal_seed", check_int("signal_seed", self.signal_seed, 0, MAX_SEED))
        _set(self, "anisotropy", check_float("anisotropy", self.anisotropy, 0.0, 10.0))
        check_choice("profile", self.profile, PROFILES)
        embeddings = self.embeddings or EMBEDDINGS_BY_KIND[kind][0]
        allowed = EMBEDDINGS_BY_KIND[kind]
        if embeddings not in allowed:
            raise ConfigError("embeddings", embeddings, f"kind {kind!r} allows " + ", ".join(allowed))
        _set(self, "embeddings", embeddings)
        self._check_kind_rules()

    def _check_kind_rules(self) -> None:
        """Cross-field rules that depend on the task kind."""
        if self.kind == "spiked":
            rank_limit = min(self.rows, self.cols)
            if len(self.strengths) > rank_limit:
                raise ConfigError(
                    "strengths",
                    list(self.strengths),
                    f"at most min(rows, cols) = {rank_limit} signal strengths",
                )
            return
        if self.embeddings != "gaussian" and self.n_items > self.d:
            raise ConfigError(
                "n_items",
                self.n_items,
                f"{self.embeddings} embeddings need n_items <= d = {self.d}",
            )
        if self.anisotropy > 0 and self.embeddings != "gaussian":
            raise ConfigError("anisotropy", self.anisotropy, "applies to gaussian embeddings only (use 0)")
        if self.embeddings == "hadamard" and self.d % 2:
            raise ConfigError("d", self.d, "block-2 Hadamard embeddings need an even d")
        if self.kind == "hierarchical" and self.n_items % self.groups:
            raise ConfigError(
                "groups",
                self.groups,
                f"must divide n_items = {self.n_items} (groups of equal size C = n_items / groups)",
            )
        if self.kind == "two_level" and self.profile == "two_level":
            head = self.head_count
            if not 1 <= head < self.n_items:
                raise ConfigError(
                    "head_frac",
                    self.head_frac,
                    f"round(head_frac * n_items) = {head} must lie in [1, n_items - 1]",
                )

    @property
    def head_count(self) -> int:
        """Number of head classes of the two-level task (``h_frac · K`` rounded)."""
        return round(self.head_frac * self.n_items)

    @property
    def is_memory(self) -> bool:
        """True for the associative-memory tasks (everything but the spiked gradient stream)."""
        return self.kind != "spiked"


@dataclass(frozen=True, slots=True)
class LaneConfig:
    """One optimizer lane: an update rule and its hyper-parameters.

    ``momentum`` is μ for the momentum buffer, or Adam's β1. ``order`` places the momentum buffer
    before (``pre``, standard Muon) or after (``post``) the nonlinear map, or drops it (``none``).
    ``buffer`` is the accumulation convention: ``ema`` M ← μM + (1−μ)X or ``sum`` M ← μM + X.
    """

    optimizer: str = "muon"
    lr: float = 0.05
    momentum: float = 0.95
    order: str = "pre"
    nesterov: bool = False
    polar: str = "exact"
    ns_steps: int = 5
    lam: float = 1e-3
    buffer: str = "ema"
    beta2: float = 0.999
    eps: float = 1e-8
    ns_dtype: str = "run"
    label: str = ""

    def __post_init__(self) -> None:
        check_choice("optimizer", self.optimizer, OPTIMIZERS)
        _set(self, "lr", check_float("lr", self.lr, 0.0, 1e6))
        _set(self, "momentum", check_float("momentum", self.momentum, 0.0, 1.0, hi_open=True))
        check_choice("order", self.order, ORDERS)
        check_bool("nesterov", self.nesterov)
        check_choice("polar", self.polar, POLARS)
        _set(self, "ns_steps", check_int("ns_steps", self.ns_steps, 1, 100))
        _set(self, "lam", check_float("lam", self.lam, 0.0, 1e6))
        check_choice("buffer", self.buffer, BUFFERS)
        _set(self, "beta2", check_float("beta2", self.beta2, 0.0, 1.0, hi_open=True))
        _set(self, "eps", check_float("eps", self.eps, 0.0, 1.0))
        check_choice("ns_dtype", self.ns_dtype, NS_DTYPES)
        if not isinstance(self.label, str) or len(self.label) > 80:
            raise ConfigError("label", self.label, "must be text of at most 80 characters")

    def display_label(self) -> str:
        """The lane's name in legends: its ``label`` or one built from its settings."""
        return self.label or OPTIMIZERS[self.optimizer].describe(self)


@dataclass(frozen=True, slots=True)
class RunConfig:
    """How the run proceeds: length, metric cadence, device and precision."""

    steps: int = 200
    eval_every: int = 10
    spectra_every: int = 1
    device: str = "auto"
    dtype: str = "auto"
    signal_rank: int = 0
    max_memory_gb: float = 0.0

    def __post_init__(self) -> None:
        _set(self, "steps", check_int("steps", self.steps, 0, 1_000_000_000))
        _set(self, "eval_every", check_int("eval_every", self.eval_every, 1, 1_000_000_000))
        _set(self, "spectra_every", check_int("spectra_every", self.spectra_every, 1, 1_000_000_000))
        check_choice("device", self.device, DEVICES)
        check_choice("dtype", self.dtype, DTYPES)
        _set(self, "signal_rank", check_int("signal_rank", self.signal_rank, 0, MAX_DIM))
        _set(self, "max_memory_gb", check_float("max_memory_gb", self.max_memory_gb, 0.0, 1e6))


@dataclass(frozen=True, slots=True)
class ExperimentConfig:
    """A task, the lanes that train on it in lockstep, and the run settings."""

    task: TaskConfig = field(default_factory=TaskConfig)
    lanes: tuple[LaneConfig, ...] = field(default_factory=lambda: (LaneConfig(),))
    run: RunConfig = field(default_factory=RunConfig)

    def __post_init__(self) -> None:
        lanes = tuple(self.lanes)
        if not 1 <= len(lanes) <= MAX_LANES:
            raise ConfigError("lanes", len(lanes), f"between 1 and {MAX_LANES} lanes")
        _set(self, "lanes", lanes)
        for i, lane in enumerate(lanes):
            if OPTIMIZERS[lane.optimizer].needs_geometry and not self.task.is_memory:
                raise ConfigError(
                    f"lanes[{i}].optimizer", lane.optimizer, "needs a memory task (its bases); not spiked"
                )

    # ---- dict and TOML round trips -------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """A plain, TOML-ready dict (lists instead of tuples; no None values)."""
        task = dataclasses.asdict(self.task)
        task["strengths"] = list(task["strengths"])
        return {
            "task": task,
            "lanes": [dataclasses.asdict(lane) for lane in self.lanes],
            "run": dataclasses.asdict(self.run),
        }

    @classmethod
    def from_dict(cls, data: Any) -> ExperimentConfig:
        """Build and validate from plain data; unknown keys and bad values raise ConfigError."""
        if not isinstance(data, dict):
            raise ConfigError("config", data, "must be a table with task, lanes and run")
        _reject_unknown("", data, ("task", "lanes", "run"))
        task = _build(TaskConfig, "task", data.get("task", {}))
        lanes_data = data.get("lanes", [{}])
        if not isinstance(lanes_data, list):
            raise ConfigError("lanes", lanes_data, "must be a list of lane tables")
        lanes = tuple(lane_from_dict(item, f"lanes[{i}]") for i, item in enumerate(lanes_data))
        run = _build(RunConfig, "run", data.get("run", {}))
        return cls(task=task, lanes=lanes, run=run)

    def to_toml(self) -> str:
        """TOML text that :meth:`from_toml` reads back to an equal config."""
        return tomli_w.dumps(self.to_dict())

    @classmethod
    def from_toml(cls, text: str) -> ExperimentConfig:
        """Parse TOML text; syntax errors become a ConfigError naming the position."""
        return cls.from_dict(parse_toml(text))

    def with_value(self, path: str, value: Any) -> ExperimentConfig:
        """A copy with one field replaced, addressed as ``task.d``, ``run.steps`` or ``lanes[1].lr``."""
        return self.with_values([(path, value)])

    def with_values(self, changes: list[tuple[str, Any]]) -> ExperimentConfig:
        """A copy with several fields replaced and validated together.

        Validating once at the end lets a user switch ``task.kind`` and its size fields in one go.
        Switching the kind without naming ``task.embeddings`` takes the new kind's default family.
        """
        data = self.to_dict()
        for path, value in changes:
            section, index, name = parse_field_path(path)
            if section == "lanes":
                if not 0 <= index < len(self.lanes):
                    raise ConfigError(path, value, f"lane index must be in [0, {len(self.lanes) - 1}]")
                data["lanes"][index][name] = value
            else:
                data[section][name] = value
        paths = {parse_field_path(path)[::2] for path, _ in changes}
        if ("task", "kind") in paths and ("task", "embeddings") not in paths:
            data["task"]["embeddings"] = ""
        return ExperimentConfig.from_dict(data)


def parse_toml(text: str, field_name: str = "config", source: str = "<toml>") -> dict[str, Any]:
    """TOML text as plain data; syntax errors and absurd nesting become a ConfigError naming the source."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(field_name, source, f"must be valid TOML ({exc})") from None
    except RecursionError:
        raise ConfigError(
            field_name, source, "must be valid TOML (tables or arrays nest too deeply)"
        ) from None


_PATH = re.compile(r"^(task|run)\.(\w+)$|^lanes(?:\[(\d+)\]|\.(\d+))\.(\w+)$")


def parse_field_path(path: str) -> tuple[str, int, str]:
    """Split ``task.d`` / ``run.steps`` / ``lanes[1].lr`` into (section, lane index, field)."""
    match = _PATH.match(path.strip()) if isinstance(path, str) else None
    if not match:
        raise ConfigError("key", path, "must look like task.NAME, run.NAME or lanes[INDEX].NAME")
    if match.group(1):
        return match.group(1), -1, match.group(2)
    return "lanes", int(match.group(3) or match.group(4)), match.group(5)


def lane_from_dict(data: Any, where: str = "lane") -> LaneConfig:
    """A lane from plain data, with ``lr`` and ``momentum`` defaulting per optimizer."""
    if not isinstance(data, dict):
        raise ConfigError(where, data, "must be a table of lane fields")
    values = dict(data)
    name = values.get("optimizer", LaneConfig.optimizer)
    spec = OPTIMIZERS.get(name) if isinstance(name, str) else None
    if spec is not None:
        values.setdefault("lr", spec.default_lr)
        values.setdefault("momentum", spec.default_momentum)
    return _build(LaneConfig, where, values)


def _build(cls: type, where: str, data: Any) -> Any:
    """Construct a config dataclass, prefixing any error with where it sits."""
    if not isinstance(data, dict):
        raise ConfigError(where, data, "must be a table")
    names = tuple(f.name for f in dataclasses.fields(cls))
    _reject_unknown(where, data, names)
    try:
        return cls(**data)
    except ConfigError as exc:
        raise exc.prefixed(where) from None


def _reject_unknown(where: str, data: dict[str, Any], allowed: tuple[str, ...]) -> None:
    for key in data:
        if key not in allowed:
            name = f"{where}.{key}" if where else str(key)
            raise ConfigError(name, data[key], "unknown key; known keys: " + ", ".join(allowed))
