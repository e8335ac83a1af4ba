"""Validated, immutable experiment configuration with dict and TOML round trips.

The field names are the project's public vocabulary: the CLI (``--set task.d=96``), the presets and
the UI all use them, so they stay stable. Every check names the field, the value and what is
allowed; unknown keys are errors, never ignored.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import tomli_w

from muonscope.engine.errors import ConfigError, outline
from muonscope.engine.field_paths import parse_field_path
from muonscope.engine.fields import MAX_DIM, MAX_ITEMS, MAX_STEPS, FieldSpec
from muonscope.engine.optim.registry import ADAM_EPS, OPTIMIZERS
from muonscope.engine.task_bound import (
    TASK_BOUND_SETTINGS,
    task_bound_problem,
    turn_off_what_the_task_cannot_run,
)
from muonscope.engine.task_kinds import (
    TASK_FIELDS,
    TASK_KINDS,
    view_problem,
)
from muonscope.engine.toml_text import parse_toml
from muonscope.engine.validate import unknown_key

__all__ = [
    "EXACT_EVAL_ITEMS",
    "LANE_FIELDS",
    "LIVE_RUN_FIELDS",
    "MAX_LANES",
    "RUN_FIELDS",
    "TASK_FIELDS",
    "ExperimentConfig",
    "LaneConfig",
    "RunConfig",
    "TaskConfig",
    "lane_from_dict",
    "lanes_text",
]

MAX_LANES = 8
#: Largest N whose population evaluation is exact by default: every shipped preset (N ≤ 4096) stays
#: exact, and a larger minibatch run evaluates a sample of this many items instead of N² pairs.
EXACT_EVAL_ITEMS = 4096
#: Other names of the dtypes, offered as hints where one is typed ("double" → "float64").
DTYPE_ALIASES = (("double", "float64"), ("fp64", "float64"), ("float", "float32"), ("fp32", "float32"))
HALF_PRECISION_NAMES = ("float16", "fp16", "half", "bfloat16", "bf16")
#: Why a run is not offered in half precision (the nearest spelling of "float16" is "float64").
HALF_RUN_DTYPE = (
    "torch's SVD takes float32 or float64; half precision is offered for Newton–Schulz alone, "
    "as a lane's ns_dtype = bfloat16"
)
#: Why Newton–Schulz offers bfloat16 and not float16.
HALF_NS_DTYPE = "the half precision offered is bfloat16, as in Muon's reference implementation"


def _set(obj: Any, name: str, value: Any) -> None:
    """Store a canonicalised value on a frozen dataclass during ``__post_init__``."""
    object.__setattr__(obj, name, value)


def _check_fields(obj: Any, specs: dict[str, FieldSpec]) -> None:
    """Check every field of a config dataclass against its spec and store the canonical value."""
    for name, spec in specs.items():
        _set(obj, name, spec.check(getattr(obj, name), owner=obj))


@dataclass(frozen=True, slots=True)
class TaskConfig:
    """What is learned: the memory task or gradient stream and its data stream.

    ``zipf`` (Kim et al.), ``hierarchical`` (Wang et al., ICML 2026), ``two_level`` (Wang et al.,
    ICLR 2026) and ``spiked`` (Li et al.) as SCIENCE.md §5–§8 define them; the fields each kind
    reads, their bounds and the kind's own rules are declared in :mod:`muonscope.engine.task_kinds`.
    Fields that a kind does not read are kept (so switching kinds keeps the user's values) but are
    still range-checked.
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
        kind = TASK_KINDS[TASK_FIELDS["kind"].check(self.kind)]
        if self.embeddings == "":
            _set(self, "embeddings", kind.embeddings[0])
        _check_fields(self, TASK_FIELDS)
        if self.embeddings not in kind.embeddings:
            raise ConfigError(
                "embeddings", self.embeddings, f"kind {kind.name!r} allows " + ", ".join(kind.embeddings)
            )
        kind.check(self)

    @property
    def head_count(self) -> int:
        """Number of head classes of the two-level task (``h_frac · K`` rounded)."""
        return round(self.head_frac * self.n_items)

    @property
    def weight_shape(self) -> tuple[int, int]:
        """Shape of one lane's W (or of the stream's matrices)."""
        return TASK_KINDS[self.kind].weight_shape(self)


#: Lane fields; ``momentum`` is μ of the buffer, or Adam's β1.
LANE_FIELDS: dict[str, FieldSpec] = {
    spec.name: spec
    for spec in (
        FieldSpec("optimizer", "choice", "optimizer", "update rule", choices=tuple(OPTIMIZERS)),
        FieldSpec("lr", "float", "lr", "learning rate η: W ← W − η·D", lo=0.0, hi=1e6),
        FieldSpec("momentum", "float", "μ", "momentum μ (Adam: β1)", lo=0.0, hi=1.0, hi_open=True),
        FieldSpec(
            "order",
            "choice",
            "momentum order",
            "buffer before the map (pre), after it (post), or none",
            choices=("pre", "post", "none"),
        ),
        FieldSpec("nesterov", "bool", "Nesterov", "Nesterov look-ahead on the buffer"),
        FieldSpec(
            "polar",
            "choice",
            "polar",
            "exact (SVD), ns (Newton–Schulz) or reg (h_λ)",
            choices=("exact", "ns", "reg"),
        ),
        FieldSpec("ns_steps", "int", "NS k", "Newton–Schulz iterations", lo=1, hi=100),
        FieldSpec("lam", "float", "λ", "λ of the regularised polar map h_λ", lo=0.0, hi=1e6),
        FieldSpec(
            "lam_schedule",
            "choice",
            "λ schedule",
            "fixed: λ at every step; kim: λ_t = λ·(d_(t+1)/d_1)^(−α), Kim et al.'s schedule with "
            "d_t = min(d^(2−(1−1/(2α))^t), B^(1/α), N) and t the run's step (zipf tasks)",
            choices=("fixed", "kim"),
        ),
        FieldSpec(
            "buffer",
            "choice",
            "buffer",
            "ema: μM + (1−μ)X; sum: μM + X (left out: the optimizer's own, sum for SGD as in torch)",
            choices=("ema", "sum"),
        ),
        FieldSpec("beta2", "float", "β2", "Adam's second-moment rate", lo=0.0, hi=1.0, hi_open=True),
        FieldSpec("eps", "float", "ε", "Adam's ε", lo=0.0, hi=1.0),
        FieldSpec(
            "ns_dtype",
            "choice",
            "NS precision",
            "working precision of Newton–Schulz (run: the run's dtype)",
            choices=("run", "float64", "float32", "bfloat16"),
            aliases=(*DTYPE_ALIASES, ("bf16", "bfloat16")),
            refused=(("float16", HALF_NS_DTYPE), ("fp16", HALF_NS_DTYPE), ("half", HALF_NS_DTYPE)),
        ),
        FieldSpec(
            "thresholded",
            "bool",
            "thresholded",
            "leave the items this lane already recovers out of its gradient (Kim et al.'s thresholded "
            "dynamics; memory tasks)",
        ),
        FieldSpec("label", "text", "label", "name in legends (empty: built from the settings)", max_len=80),
    )
}


@dataclass(frozen=True, slots=True)
class LaneConfig:
    """One optimizer lane: an update rule and its hyper-parameters.

    ``momentum`` is μ for the momentum buffer, or Adam's β1. ``order`` places the momentum buffer
    before (``pre``, standard Muon) or after (``post``) the nonlinear map, or drops it (``none``).
    ``buffer`` is the accumulation convention: ``ema`` M ← μM + (1−μ)X or ``sum`` M ← μM + X; left
    empty it is the optimizer's own (``sum`` for SGD, as torch.optim.SGD keeps it, so that an SGD
    lr means what torch's does; ``ema`` for Muon, as its reference keeps it). ``thresholded``
    leaves out of the lane's gradients (minibatch and population) the items it recovers at its W,
    the approximation Kim et al. prove their multi-step law under (SCIENCE.md §5).
    """

    optimizer: str = "muon"
    lr: float = 0.05
    momentum: float = 0.95
    order: str = "pre"
    nesterov: bool = False
    polar: str = "exact"
    ns_steps: int = 5
    lam: float = 1e-3
    lam_schedule: str = "fixed"
    buffer: str = ""
    beta2: float = 0.999
    eps: float = ADAM_EPS
    ns_dtype: str = "run"
    thresholded: bool = False
    label: str = ""

    def __post_init__(self) -> None:
        spec = OPTIMIZERS.get(self.optimizer) if isinstance(self.optimizer, str) else None
        if self.buffer == "" and spec is not None:
            _set(self, "buffer", spec.default_buffer)
        _check_fields(self, LANE_FIELDS)
        if self.label.strip().isdecimal():  # breakpoints read "1:" as lane 1: which lane was meant?
            index = self.label.strip()
            said = f"breakpoints read '{index}:' as lane {index} (write 'lane {index}')"
            raise ConfigError("label", self.label, f"must not be a whole number: {said}")
        if self.label and (not self.label.strip() or not self.label.isprintable()):
            # a blank name in every legend, and one a breakpoint cannot be written with
            allowed = "must show: not blank, and no invisible or control characters"
            raise ConfigError("label", self.label, allowed)

    def display_label(self) -> str:
        """The lane's name in legends: its ``label`` or one built from its settings."""
        return self.label or OPTIMIZERS[self.optimizer].describe(self)


#: Run fields; the live ones may change between steps, the others need a reset.
RUN_FIELDS: dict[str, FieldSpec] = {
    spec.name: spec
    for spec in (
        FieldSpec("steps", "int", "steps", "run length: playing pauses here", lo=0, hi=MAX_STEPS),
        FieldSpec(
            "eval_every", "int", "evaluate every", "steps between population evaluations", lo=1, hi=MAX_STEPS
        ),
        FieldSpec("spectra_every", "int", "spectra every", "steps between spectra", lo=1, hi=MAX_STEPS),
        FieldSpec("device", "choice", "device", "auto: CUDA when present", choices=("auto", "cpu", "cuda")),
        FieldSpec(
            "dtype",
            "choice",
            "dtype",
            "auto: float32 on CUDA, float64 on CPU",
            choices=("auto", "float64", "float32"),
            aliases=DTYPE_ALIASES,
            refused=tuple((name, HALF_RUN_DTYPE) for name in HALF_PRECISION_NAMES),
        ),
        FieldSpec(
            "signal_rank",
            "int",
            "signal rank r",
            "rank of the gap σ_r − σ_(r+1) and of sin Θ (0: the task's own)",
            lo=0,
            hi=MAX_DIM,
        ),
        FieldSpec(
            "checkpoint_mb",
            "float",
            "checkpoint memory",
            "MiB of checkpoints kept for rewinding; older ones are thinned to stay within it",
            lo=1.0,
            hi=1e6,
        ),
        FieldSpec(
            "exact_eval_items",
            "int",
            "exact evaluation up to",
            "N up to which population metrics are exact; beyond, minibatch runs estimate them from a "
            "seeded sample of this many items (exact-gradient runs pay for the full pass anyway and stay "
            "exact); the alignment with the population gradient is then not computed",
            lo=128,  # two draws for each of the ≤ 24 log2 rank buckets of N ≤ 10⁷, twice over
            hi=MAX_ITEMS,
        ),
        FieldSpec(
            "max_memory_gb",
            "float",
            "memory limit",
            "GiB a run may use (0: half of RAM or 80% of free GPU memory)",
            lo=0.0,
            hi=1e6,
        ),
    )
}
LIVE_RUN_FIELDS = ("steps", "eval_every", "spectra_every", "signal_rank", "checkpoint_mb")


@dataclass(frozen=True, slots=True)
class RunConfig:
    """How the run proceeds: length, metric cadence and exactness, device and precision."""

    steps: int = 200
    eval_every: int = 10
    spectra_every: int = 1
    device: str = "auto"
    dtype: str = "auto"
    signal_rank: int = 0
    checkpoint_mb: float = 256.0
    exact_eval_items: int = EXACT_EVAL_ITEMS
    max_memory_gb: float = 0.0

    def __post_init__(self) -> None:
        _check_fields(self, RUN_FIELDS)


@dataclass(frozen=True, slots=True)
class ExperimentConfig:
    """A task, the lanes that train on it in lockstep, and the run settings."""

    task: TaskConfig = field(default_factory=TaskConfig)
    lanes: tuple[LaneConfig, ...] = field(default_factory=lambda: (LaneConfig(),))
    run: RunConfig = field(default_factory=RunConfig)

    def __post_init__(self) -> None:
        lanes = tuple(self.lanes)
        if not 1 <= len(lanes) <= MAX_LANES:
            raise _lane_count_error(len(lanes))
        _set(self, "lanes", lanes)
        no_bases = view_problem(self.task, "bases")
        for i, lane in enumerate(lanes):
            if OPTIMIZERS[lane.optimizer].needs_geometry and no_bases:
                raise ConfigError(
                    f"lanes[{i}].optimizer", lane.optimizer, f"reads the task's bases; {no_bases}"
                )
            for name in TASK_BOUND_SETTINGS:
                problem = task_bound_problem(self.task, name, getattr(lane, name))
                if problem:
                    raise ConfigError(f"lanes[{i}].{name}", getattr(lane, name), problem)
        smallest = min(self.task.weight_shape)
        if self.run.signal_rank >= smallest:
            raise ConfigError(
                "run.signal_rank",
                self.run.signal_rank,
                f"must be below min(rows, cols) = {smallest} of the task's matrices (0: the task's own rank)",
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
        if not 1 <= len(lanes_data) <= MAX_LANES:  # counted before any lane is built
            raise _lane_count_error(len(lanes_data))
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
        Switching the kind without naming ``task.embeddings`` takes the new kind's default family; a
        task change turns off, in the lanes that do not name them, the thresholding and λ_t schedule
        the new task cannot run (a gradient stream has no items; d_t needs a Zipf law with α > 1/2).
        """
        data = self.to_dict()
        for path, value in changes:
            section, index, name = parse_field_path(path)
            if section == "lanes":
                if not 0 <= index < len(self.lanes):
                    raise ConfigError(path, value, f"there is no lane {index}; {lanes_text(len(self.lanes))}")
                data["lanes"][index][name] = value
            else:
                data[section][name] = value
        paths = {parse_field_path(path)[::2] for path, _ in changes}
        if ("task", "kind") in paths and ("task", "embeddings") not in paths:
            data["task"]["embeddings"] = ""
        if any(section == "task" for section, _ in paths):
            _drop_what_the_task_cannot_run(data, _lane_fields_named(changes))
        return ExperimentConfig.from_dict(data)


def _lane_fields_named(changes: list[tuple[str, Any]]) -> set[tuple[int, str]]:
    """(lane index, field) of every lane field among ``changes``."""
    paths = (parse_field_path(path) for path, _ in changes)
    return {(index, name) for section, index, name in paths if section == "lanes"}


def _drop_what_the_task_cannot_run(data: dict[str, Any], named: set[tuple[int, str]]) -> None:
    """:func:`turn_off_what_the_task_cannot_run` on ``data``; a task that is itself invalid is left
    for :meth:`ExperimentConfig.from_dict` to refuse."""
    try:
        task = _build(TaskConfig, "task", data["task"])
    except ConfigError:
        return
    turn_off_what_the_task_cannot_run(task, data["lanes"], named)


def lanes_text(count: int) -> str:
    """The lane indices there are, as every refusal of a lane index says them: "lanes are 0 to 3"."""
    if count > 1:
        return f"lanes are 0 to {count - 1}"
    return "the one lane is 0" if count else "there are no lanes"


def _lane_count_error(count: int) -> ConfigError:
    """A run of no lanes or too many: "lanes = [] …", not "lanes = 0", which read as a lane index."""
    shown = [] if count == 0 else f"a list of {count} lanes"
    return ConfigError("lanes", shown, f"must be a list of 1 to {MAX_LANES} lanes")


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
    names = tuple(f.name for f in dataclasses.fields(cls))
    if not isinstance(data, dict):
        raise ConfigError(where, data, f"must be a table of {', '.join(names)} (each optional)")
    _reject_unknown(where, data, names)
    try:
        return cls(**data)
    except ConfigError as exc:
        raise exc.prefixed(where) from None


def _reject_unknown(where: str, data: dict[str, Any], allowed: tuple[str, ...]) -> None:
    for key in data:
        if key not in allowed:
            name = f"{where}.{key}" if where else str(key)
            raise ConfigError(name, outline(data[key]), unknown_key(key, allowed))
