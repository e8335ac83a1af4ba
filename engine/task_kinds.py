"""Task kinds: everything muonscope knows about each kind of task, in one registry.

Each :class:`TaskKind` declares the task fields it reads (their bounds live in :data:`TASK_FIELDS`),
which of them may change between steps, its embedding families (the first is the default), the
sizes that make a valid task when a user switches to it, whether it has classes, its memory
estimate, the views and sweep axes that do not apply to it, with the reason (the axes it allows
are the rest), whether its groups are numbered and, where its config decides it, its signal rank.
Config validation, the task panel's controls, the memory check, the sweep plans and the panels'
"not for this task" messages all read it; a new kind is one entry here plus its task class. The module
imports no torch, so the command line can offer its choices before anything heavy is loaded.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from muonscope.engine.errors import ConfigError
from muonscope.engine.fields import MAX_DIM, MAX_ITEMS, MAX_SEED, FieldSpec
from muonscope.engine.memory_estimate import memory_task_parts, stream_task_parts

__all__ = [
    "EMBEDDING_FAMILIES",
    "RAY_MAX_ITEMS",
    "SWEEP_AXES",
    "TASK_FIELDS",
    "TASK_KINDS",
    "TaskKind",
    "items_problem",
    "schedule_problem",
    "task_field_problem",
    "view_problem",
]

#: Embedding family → whether its rows are orthonormal (which ties d to N: N ≤ d).
EMBEDDING_FAMILIES = {
    "gaussian": False,
    "orthogonal": True,
    "identity": True,
    "hadamard": True,
    "none": False,
}
#: Sweeps of the capacity panel (and ``muonscope sweep --axis``).
SWEEP_AXES = ("d", "batch", "n_items", "mu", "window")
#: A ray search evaluates the population some 200 times; beyond this N it takes minutes.
RAY_MAX_ITEMS = 1024


def _field(name: str, kind: str, label: str, help_text: str, **bounds: Any) -> FieldSpec:
    return FieldSpec(name, kind, label, help_text, **bounds)


@dataclass(frozen=True)
class TaskKind:
    """What one kind of task reads, allows and offers."""

    name: str
    title: str
    fields: tuple[str, ...]
    live: tuple[str, ...]
    embeddings: tuple[str, ...]
    defaults: Mapping[str, Any]
    has_classes: bool
    weight_shape: Callable[[Any], tuple[int, int]]
    #: (experiment config, bytes per value of the run's dtype) → peak bytes of a run, by the setting
    #: that sizes each part
    memory_parts: Callable[[Any, int], dict[str, int]]
    check: Callable[[Any], None]
    #: the fields that set its size
    size_fields: tuple[str, ...] = ("n_items", "d")
    ray_balance: bool = False
    #: view → why it does not apply to this kind (views absent here apply)
    unavailable: Mapping[str, str] = field(default_factory=dict)
    #: field → (another field, a value of it) under which the kind does not read the field
    unread_when: Mapping[str, tuple[str, Any]] = field(default_factory=dict)
    #: task config → whether its frequency groups are numbered by their definition (panels then
    #: label each group by its g)
    numbered_groups: Callable[[Any], bool] = lambda _task: False
    #: task config → the rank r of its signal (the head/tail split, sin Θ, the gap) when the run sets
    #: none, for kinds whose config alone decides it; None: the task object's (a grouped task's first
    #: frequency group, the spiked stream's number of strengths)
    signal_rank: Callable[[Any], int] | None = None
    #: for kinds without classes (no items to count): the per-lane metric that ranks the lanes in the
    #: live caption, and whether more of it is better
    standing_metric: tuple[str, bool] = ("loss", False)
    #: whether its items follow a Zipf law p_i ∝ i^(−α), so that Kim et al.'s recovery law d_t (and
    #: the λ_t schedule it sets) applies
    zipf_law: bool = False

    @property
    def sweep_axes(self) -> tuple[str, ...]:
        """The sweeps it allows: every axis of :data:`SWEEP_AXES` it does not name as unavailable."""
        return tuple(axis for axis in SWEEP_AXES if axis not in self.unavailable)

    @property
    def has_bases(self) -> bool:
        """Whether its items have embeddings: the bases of task coordinates and of the oracle rules."""
        return self.embeddings != ("none",)


def _square(task: Any) -> tuple[int, int]:
    return task.d, task.d


def _stream_shape(task: Any) -> tuple[int, int]:
    return task.rows, task.cols


def _staircase(task: Any) -> bool:
    """Wang et al.'s staircase defines its groups by number: g = 0 holds one class, g ≥ 1 holds 2^(g−1)."""
    return task.profile == "staircase"


def _zipf_signal_rank(task: Any) -> int:
    """A Zipf spectrum has no break to split at: its top 10 directions (fewer on a small W)."""
    return min(10, task.d - 1)


def _check_memory(task: Any) -> None:
    """Rules shared by the memory tasks: embedding geometry against d and N."""
    if EMBEDDING_FAMILIES[task.embeddings] and task.n_items > task.d:
        raise ConfigError(
            "n_items", task.n_items, f"{task.embeddings} embeddings need n_items <= d = {task.d}"
        )
    if task.anisotropy > 0 and task.embeddings != "gaussian":
        raise ConfigError("anisotropy", task.anisotropy, "applies to gaussian embeddings only (use 0)")
    if task.embeddings == "hadamard" and task.d % 2:
        raise ConfigError("d", task.d, "block-2 Hadamard embeddings need an even d")


def _check_hierarchical(task: Any) -> None:
    _check_memory(task)
    if task.n_items % task.groups:
        raise ConfigError(
            "groups",
            task.groups,
            f"must divide n_items = {task.n_items} (groups of equal size C = n_items / groups)",
        )


def _check_two_level(task: Any) -> None:
    _check_memory(task)
    if task.profile == "two_level":
        head = round(task.head_frac * task.n_items)
        if not 1 <= head < task.n_items:
            raise ConfigError(
                "head_frac",
                task.head_frac,
                f"round(head_frac * n_items) = {head} must lie in [1, n_items - 1]",
            )


#: How many signal strengths a spiked stream's matrices hold.
_RANK_LIMIT = "min(rows, cols)"


def _rank_limit_said(task: Any) -> str:
    """The most strengths a stream's matrices hold, in words and numbers: "min(rows, cols) = min(2,
    100) = 2" (a list refused after --set task.rows=2 named the rows that set the bound)."""
    return f"{_RANK_LIMIT} = min({task.rows}, {task.cols}) = {min(task.rows, task.cols)}"


def _check_stream(task: Any) -> None:
    if len(task.strengths) > min(task.rows, task.cols):
        raise ConfigError(
            "strengths", list(task.strengths), f"must be a list of 1 to {_rank_limit_said(task)} numbers"
        )


_MEMORY_LIVE = ("label_noise", "batch_size")
_NOT_A_STREAM = "momentum sweeps run on the spiked gradient stream (Li et al. presets)"
_NOT_ORTHONORMAL = "the ray balance ϱ^ε is defined for orthonormal tasks ({kinds})"
_TIED = "orthonormal embeddings tie d to N; sweep d on a Gaussian (zipf) task"
_NO_BASES = "the {title} has no embeddings, so no task bases (tasks with them: {kinds})"

TASK_KINDS: dict[str, TaskKind] = {
    kind.name: kind
    for kind in (
        TaskKind(
            name="zipf",
            title="Zipf memory (Kim et al.)",
            fields=("d", "n_items", "alpha", "embeddings", "anisotropy", "batch_size", "label_noise"),
            live=_MEMORY_LIVE,
            embeddings=("gaussian", "orthogonal", "identity"),
            defaults={"d": 128, "n_items": 2048, "embeddings": "gaussian", "batch_size": 256},
            has_classes=True,
            weight_shape=_square,
            memory_parts=memory_task_parts,
            check=_check_memory,
            unavailable={"mu": _NOT_A_STREAM, "window": _NOT_A_STREAM},
            signal_rank=_zipf_signal_rank,
            zipf_law=True,
        ),
        TaskKind(
            name="hierarchical",
            title="hierarchical memory (Wang et al., ICML)",
            fields=("d", "n_items", "groups", "group_exponent", "embeddings", "batch_size", "label_noise"),
            live=_MEMORY_LIVE,
            embeddings=("orthogonal", "identity"),
            defaults={"d": 64, "n_items": 64, "groups": 8, "embeddings": "orthogonal", "batch_size": 0},
            has_classes=True,
            weight_shape=_square,
            memory_parts=memory_task_parts,
            check=_check_hierarchical,
            ray_balance=True,
            unavailable={"d": _TIED, "mu": _NOT_A_STREAM, "window": _NOT_A_STREAM},
        ),
        TaskKind(
            name="two_level",
            title="tail-end memory (Wang et al., ICLR)",
            fields=(
                "d",
                "n_items",
                "profile",
                "head_mass",
                "head_frac",
                "embeddings",
                "batch_size",
                "label_noise",
            ),
            live=_MEMORY_LIVE,
            embeddings=("identity", "hadamard", "orthogonal"),
            defaults={"d": 64, "n_items": 64, "embeddings": "identity", "batch_size": 0},
            has_classes=True,
            weight_shape=_square,
            memory_parts=memory_task_parts,
            check=_check_two_level,
            ray_balance=True,
            numbered_groups=_staircase,
            unavailable={"d": _TIED, "mu": _NOT_A_STREAM, "window": _NOT_A_STREAM},
            # the staircase's class masses are set by its groups alone
            unread_when={"head_mass": ("profile", "staircase"), "head_frac": ("profile", "staircase")},
        ),
        TaskKind(
            name="spiked",
            title="spiked gradient stream (Li et al.)",
            fields=("rows", "cols", "strengths", "noise", "arch", "signal_seed"),
            live=("noise", "arch"),
            embeddings=("none",),
            defaults={"rows": 100, "cols": 100, "embeddings": "none"},
            has_classes=False,
            weight_shape=_stream_shape,
            memory_parts=stream_task_parts,
            check=_check_stream,
            size_fields=("rows", "cols"),
            standing_metric=("alignment", True),  # the stream has no population loss
            unavailable={
                "class_error": (
                    "A spiked gradient stream has no classes, so there is no per-class error. "
                    "Panel ① shows its spectra, ② their measures over time, ④ sweeps over μ or the window."
                ),
                "steps": "the spiked stream has no items to recover; sweep over μ or the window instead",
                "d": "the spiked stream has no items to recover",
                "batch": "the spiked stream has no items to recover",
                "n_items": "the spiked stream has no items to recover",
            },
        ),
    )
}
#: Every task field, whichever kinds read it. Fields a kind does not read are kept (switching kinds
#: keeps the user's values) and still range-checked.
TASK_FIELDS: dict[str, FieldSpec] = {
    spec.name: spec
    for spec in (
        _field("kind", "choice", "task", "which model or gradient stream", choices=tuple(TASK_KINDS)),
        _field("d", "int", "d (dimension)", "W is d × d; embeddings live in R^d", lo=1, hi=MAX_DIM),
        _field("n_items", "int", "N (items)", "number of stored associations", lo=2, hi=MAX_ITEMS),
        _field("alpha", "float", "α (Zipf exponent)", "item frequencies p_i ∝ i^-α", lo=0.0, hi=10.0),
        _field(
            "batch_size",
            "int",
            "batch B (0 = exact)",
            "draws per step; 0: population gradient",
            lo=0,
            hi=10**8,
        ),
        _field(
            "label_noise",
            "float",
            "label noise ε",
            "share of labels replaced by a uniformly random one",
            lo=0.0,
            hi=1.0,
            hi_open=True,
        ),
        _field(
            "embeddings",
            "choice",
            "embeddings",
            "family of the input and output embeddings",
            choices=tuple(EMBEDDING_FAMILIES),
        ),
        _field("seed", "int", "seed", "seed of the embeddings and the minibatch stream", lo=0, hi=MAX_SEED),
        _field(
            "groups", "int", "groups M", "frequency groups of equal size (M divides N)", lo=1, hi=MAX_ITEMS
        ),
        _field("group_exponent", "float", "β (group exponent)", "group mass ∝ g^-β", lo=0.0, hi=10.0),
        _field(
            "head_mass",
            "float",
            "head mass",
            "probability mass of the head classes",
            lo=0.0,
            hi=1.0,
            lo_open=True,
            hi_open=True,
        ),
        _field(
            "head_frac",
            "float",
            "head fraction",
            "share of classes in the head",
            lo=0.0,
            hi=1.0,
            lo_open=True,
            hi_open=True,
        ),
        _field(
            "profile",
            "choice",
            "frequencies",
            "two_level: head and tail; staircase: group g holds 2^(g-1) classes at mass ∝ 2^-g",
            choices=("two_level", "staircase"),
        ),
        _field(
            "anisotropy",
            "float",
            "anisotropy κ",
            "input covariance eigenvalues ∝ k^-κ (gaussian embeddings)",
            lo=0.0,
            hi=10.0,
        ),
        _field("rows", "int", "rows", "rows of the gradient stream's matrices", lo=1, hi=MAX_DIM),
        _field("cols", "int", "cols", "columns of the gradient stream's matrices", lo=1, hi=MAX_DIM),
        _field(
            "strengths",
            "floats",
            "signal strengths",
            "singular values of G_sig",
            lo=0.0,
            lo_open=True,
            # a float32 run holds up to 3.4·10³⁸; 10¹⁰⁰ there was inf, and every step failed in the SVD
            hi=1e30,
            max_len=MAX_DIM,
            max_len_words=_RANK_LIMIT,
            max_len_said=_rank_limit_said,
        ),
        _field("noise", "float", "noise σ", "standard deviation of the ARCH noise", lo=0.0, hi=1e6),
        _field("arch", "float", "ARCH a", "noise-variance feedback", lo=0.0, hi=1.0, hi_open=True),
        _field("signal_seed", "int", "signal seed", "seed of G_sig's singular vectors", lo=0, hi=MAX_SEED),
    )
}


#: Task fields every kind reads.
_EVERY_KIND_READS = frozenset({"kind", "seed"})


def task_field_problem(task: Any, name: str) -> str:
    """Why task field ``name`` has no effect on ``task`` ("" when it has one).

    Every kind keeps every field (switching kinds keeps the user's values), so
    ``--set task.head_mass=0.9`` on a Zipf memory was taken and changed nothing; nor does a
    two-level task on the staircase profile read its head's mass and share.
    """
    kind = TASK_KINDS[task.kind]
    if name in _EVERY_KIND_READS or name not in TASK_FIELDS:
        return ""
    if name not in kind.fields:
        readers = [other.name for other in TASK_KINDS.values() if name in other.fields]
        return f"a {kind.name} task does not read it (read by: {', '.join(readers)})"
    if name in kind.unread_when:
        other, value = kind.unread_when[name]
        if getattr(task, other) == value:
            return f"a {kind.name} task with {other} = {value!r} does not read it"
    return ""


def items_problem(task: Any) -> str:
    """Why ``task`` has no items a lane could recover (thresholded gradients need them); "" if it has."""
    kind = TASK_KINDS[task.kind]
    if kind.has_classes:
        return ""
    with_items = ", ".join(k.name for k in TASK_KINDS.values() if k.has_classes)
    return f"the {kind.title} has no items to recover (tasks with them: {with_items})"


def schedule_problem(task: Any) -> str:
    """Why a λ_t schedule cannot run on ``task``; "" when it can.

    d_t = d^(2−(1−1/(2α))^t) is a Zipf law's, and grows with t only for α > 1/2: below, its
    exponent swings between signs and λ_t under- and overflows within a few steps.
    """
    if not TASK_KINDS[task.kind].zipf_law:
        with_law = ", ".join(k.name for k in TASK_KINDS.values() if k.zipf_law)
        return f"λ_t follows the Zipf law's d_t = d^(2−(1−1/(2α))^t): it needs a task of kind {with_law}"
    if task.alpha <= 0.5:
        return (
            f"λ_t follows d_t = d^(2−(1−1/(2α))^t), which grows with t only for α > 0.5 (α = {task.alpha:g})"
        )
    return ""


def view_problem(task: Any, view: str) -> str:
    """Why ``view`` (a panel mode, a sweep axis, or ``bases``: anything that reads the task's
    embeddings) cannot be shown for ``task``; "" when it can."""
    kind = TASK_KINDS[task.kind]
    if view in kind.unavailable:
        return kind.unavailable[view]
    if view == "bases" and not kind.has_bases:
        return _NO_BASES.format(
            title=kind.title, kinds=", ".join(k.name for k in TASK_KINDS.values() if k.has_bases)
        )
    if view == "d" and EMBEDDING_FAMILIES[task.embeddings]:
        return _TIED
    if view == "ray":
        if not kind.ray_balance:
            return _NOT_ORTHONORMAL.format(
                kinds=", ".join(k.name for k in TASK_KINDS.values() if k.ray_balance)
            )
        if task.n_items > RAY_MAX_ITEMS:
            return f"ray searches need N ≤ {RAY_MAX_ITEMS}"
    return ""
