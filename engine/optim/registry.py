"""Name → optimizer spec. A new optimizer is one rule function plus one entry here.

The spec says which lane fields the rule reads (so the UI can disable the rest with a reason),
its default learning rate and momentum, and how to name a lane in legends. The rules themselves
(torch) are imported when a rule first runs, so validating a config never loads torch.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, TypeAlias

from muonscope.engine.errors import and_listed, plain_number

#: Adam's ε where a lane does not set it; a label names another.
ADAM_EPS = 1e-8

if TYPE_CHECKING:
    from torch import Tensor

    from muonscope.engine.optim.rules import LaneState, Momentum

__all__ = [
    "ADAM_EPS",
    "OPTIMIZERS",
    "LaneSettings",
    "OptimizerSpec",
    "PolarKey",
    "lane_field_problem",
    "momentum_of",
    "typed_field_problem",
]


class LaneSettings(Protocol):
    """What the registry reads off a lane (a LaneConfig has all of it)."""

    optimizer: str
    lr: float
    momentum: float
    order: str
    nesterov: bool
    polar: str
    ns_steps: int
    lam: float
    lam_schedule: str
    buffer: str
    beta2: float
    eps: float
    ns_dtype: str
    thresholded: bool


#: (gradient, state, lane settings) → update direction.
Rule: TypeAlias = "Callable[[Tensor, LaneState, Any], Tensor]"
#: (polar, ns_steps, lam, ns_dtype): which orthogonalising map a lane runs.
PolarKey: TypeAlias = tuple[str, int, float, str]


def _rules() -> Any:
    return importlib.import_module("muonscope.engine.optim.rules")


def momentum_of(lane: LaneSettings) -> Momentum:
    """The plain momentum settings a rule takes, read off a lane."""
    return _rules().Momentum(lane.momentum, lane.buffer, lane.nesterov, lane.order)


@dataclass(frozen=True, slots=True)
class OptimizerSpec:
    """How one optimizer is run, defaulted and named."""

    name: str
    title: str
    rule: Rule
    default_lr: float
    default_momentum: float
    uses: frozenset[str]
    needs_geometry: bool = False  # an oracle that reads the task's bases (memory tasks only)
    #: An oracle that steps in the task's N×N coordinates ẼᵀXE (TRA-SignGD), not only in d×d.
    task_coordinates: bool = False
    #: Moment estimates (matrices of W's shape) the rule keeps whatever the lane's momentum: Adam's
    #: first and second; a momentum buffer is counted by :meth:`keeps_buffer`.
    moments: int = 0
    #: The buffer convention a lane gets when it does not name one: ``sum`` for SGD, so that its lr
    #: means what torch.optim.SGD's does; ``ema`` elsewhere (Muon's reference keeps an EMA).
    default_buffer: str = "ema"
    #: For rules built around a polar map: the lane settings that define the map. Lanes with equal
    #: keys can share one batched map between :func:`rules.before_map` and :func:`rules.after_map`.
    polar_key: Callable[[LaneSettings], PolarKey] | None = None
    #: What the lane's ``momentum`` is called for this rule: Adam's is its first moment's β₁.
    momentum_symbol: str = "μ"

    def keeps_buffer(self, lane: LaneSettings) -> bool:
        """Whether the lane accumulates a momentum buffer under its ``buffer`` convention.

        Adam's first moment is an EMA by definition and reads no convention; μ = 0 or order ``none``
        keeps no buffer at all.
        """
        if "buffer" not in self.uses or lane.momentum == 0:
            return False
        return "order" not in self.uses or lane.order != "none"

    def state_matrices(self, lane: LaneSettings) -> int:
        """Matrices of W's shape the lane's optimizer keeps between steps: moments or a buffer."""
        return self.moments + int(self.keeps_buffer(lane))

    def buffer_convention(self, lane: LaneSettings) -> str:
        """``ema`` or ``sum`` for the buffer the lane keeps, ``""`` when it keeps none.

        A rule's own first moment (Adam's) is an EMA whatever the lane's ``buffer`` field says.
        """
        if self.moments:
            return "ema"
        return lane.buffer if self.keeps_buffer(lane) else ""

    def gradient_average_scale(self, lane: LaneSettings) -> float | None:
        """The factor that turns the lane's buffer into the EMA of its gradients, (1−μ)Σμ^(t−s)G_s.

        This is the M of the filtering ratio σ_k(M)/σ_k(G) (Li et al.), comparable across
        conventions: a ``sum`` buffer is 1/(1−μ) times the EMA, so it is scaled by (1−μ). None when
        the buffer is no average of gradients: order ``post`` averages the mapped gradients, and
        dividing their spectrum by the gradient's compares unlike quantities.
        """
        convention = self.buffer_convention(lane)
        if not convention or ("order" in self.uses and lane.order == "post"):
            return None
        return 1.0 - lane.momentum if convention == "sum" else 1.0

    def describe(self, lane: LaneSettings, momentum_shown: bool = True) -> str:
        """A legend label from the lane's settings, e.g. ``Muon pre μ=0.95 ema exact``; a lane without
        a buffer names no order and no μ (``Muon exact``, as ``SGD lr=0.5``): at μ = 0 or order none,
        pre, post and none run the same update, and a label does not tell apart what runs alike.
        ``momentum_shown=False`` leaves μ out, for a sweep whose axis is μ."""
        return " ".join(self.described_parts(lane, momentum_shown))

    def described_parts(self, lane: LaneSettings, momentum_shown: bool = True) -> list[str]:
        """The words of :meth:`describe`, one setting each (``["Muon", "pre", "μ=0.95 ema", "exact",
        "lr=0.05"]``): lanes of one optimizer and order have theirs in the same places."""
        parts = [self.title]
        if "order" in self.uses and self.keeps_buffer(lane):
            parts.append(lane.order)
        if "beta2" in self.uses:  # β₁ is the lane's μ: a sweep over μ names β₂ alone
            betas = f"β=({plain_number(lane.momentum)}, {plain_number(lane.beta2)})"
            parts.append(betas if momentum_shown else f"β₂={plain_number(lane.beta2)}")
            if "eps" in self.uses and lane.eps != ADAM_EPS:  # lanes of other ε read alike otherwise
                parts.append(f"ε={plain_number(lane.eps)}")
        elif self.keeps_buffer(lane):
            momentum = f"μ={plain_number(lane.momentum)} " if momentum_shown else ""
            parts.append(f"{momentum}{lane.buffer}" + (" nesterov" if lane.nesterov else ""))
        if "polar" in self.uses:
            parts.append(_polar_text(lane))
        parts.append(f"lr={plain_number(lane.lr)}")
        if lane.thresholded:
            parts.append("thresholded")
        return parts


def _polar_text(lane: LaneSettings) -> str:
    if lane.polar == "ns":  # its working precision where not the run's: two lanes read alike
        working = "" if lane.ns_dtype == "run" else f" {lane.ns_dtype}"
        return f"NS{lane.ns_steps}{working}"
    if lane.polar == "reg" and lane.lam_schedule == "kim":  # λ_t falls from λ₀ as d_(t+1) grows
        return f"reg λ_t from {plain_number(lane.lam)}"
    if lane.polar == "reg":
        return f"reg λ={plain_number(lane.lam)}"
    return "exact"


def _adam(g: Tensor, state: LaneState, lane: LaneSettings) -> Tensor:
    return _rules().adam_rule(g, state, lane.momentum, lane.beta2, lane.eps)


def _muon(g: Tensor, state: LaneState, lane: LaneSettings) -> Tensor:
    return _rules().muon_rule(g, state, momentum_of(lane), lane.polar, lane.ns_steps, lane.lam, lane.ns_dtype)


def _muon_polar_key(lane: LaneSettings) -> PolarKey:
    """Only the settings the map reads: exact maps ignore λ and the Newton–Schulz settings."""
    if lane.polar == "exact":
        return ("exact", 0, 0.0, "")
    if lane.polar == "reg":
        return ("reg", 0, lane.lam, "")
    return ("ns", lane.ns_steps, 0.0, lane.ns_dtype)


def _with_momentum(rule_name: str) -> Rule:
    """A rule of (gradient, state, momentum settings), by its name in :mod:`rules`."""
    return lambda g, state, lane: getattr(_rules(), rule_name)(g, state, momentum_of(lane))


_MOMENTUM = frozenset({"lr", "momentum", "nesterov", "buffer"})
_MAPPED = _MOMENTUM | {"order"}

OPTIMIZERS: dict[str, OptimizerSpec] = {
    spec.name: spec
    for spec in (
        OptimizerSpec("sgd", "SGD", _with_momentum("sgd_rule"), 0.5, 0.9, _MOMENTUM, default_buffer="sum"),
        OptimizerSpec(
            "adam",
            "Adam",
            _adam,
            1e-2,
            0.9,
            frozenset({"lr", "momentum", "beta2", "eps"}),
            moments=2,
            momentum_symbol="β₁",
        ),
        OptimizerSpec("signgd", "SignGD", _with_momentum("signgd_rule"), 1e-2, 0.0, _MAPPED),
        OptimizerSpec("ngd", "NGD", _with_momentum("ngd_rule"), 0.5, 0.0, _MAPPED),
        OptimizerSpec(
            "muon",
            "Muon",
            _muon,
            0.05,
            0.95,
            _MAPPED | {"polar", "ns_steps", "lam", "lam_schedule", "ns_dtype"},
            polar_key=_muon_polar_key,
        ),
        OptimizerSpec(
            "newton", "Newton", _with_momentum("newton_rule"), 1.0, 0.0, _MAPPED, needs_geometry=True
        ),
        OptimizerSpec(
            "tra_signgd",
            "TRA-SignGD",
            _with_momentum("tra_signgd_rule"),
            0.5,
            0.0,
            _MAPPED,
            needs_geometry=True,
            task_coordinates=True,
        ),
    )
}


#: Lane fields every lane reads, whatever its optimizer.
_ALWAYS_READ = frozenset({"optimizer", "lr", "thresholded", "label"})
_POLAR_FIELDS = frozenset({"polar", "ns_steps", "lam", "lam_schedule", "ns_dtype"})


def lane_field_problem(lane: LaneSettings, name: str) -> str:
    """Why lane field ``name`` has no effect on ``lane`` ("" when it has one).

    The controls disable such a field with this reason. It covers fields the lane's rule does not
    read (:func:`typed_field_problem`) and the buffer's settings at μ = 0, which it reads to no avail.
    """
    unread = _unread_field_problem(lane, name)
    if unread:
        return unread
    if name in _AT_NO_MOMENTUM and lane.momentum == 0:
        return f"μ = 0: the buffer is the gradient itself, so {_AT_NO_MOMENTUM[name]} has no effect"
    return ""


def typed_field_problem(lane: LaneSettings, name: str, value: Any) -> str:
    """Why a typed ``name = value`` would be dropped silently on ``lane`` ("" when it would not be).

    The command line refuses such a field: ``--lane optimizer=sgd,polar=ns`` ran plain SGD. A value
    that states what the lane does anyway is no loss (``momentum=0`` or ``nesterov=false`` for a lane
    without a buffer, as presets write them), nor is a momentum order at μ = 0 (presets write one);
    ``nesterov=true`` or a buffer convention at μ = 0 is refused: the buffer is the gradient itself.
    """
    problem = _unread_field_problem(lane, name)
    if problem and name in _VALUES_WITHOUT_BUFFER and value == _VALUES_WITHOUT_BUFFER[name]:
        return ""
    if not problem and name in ("nesterov", "buffer") and lane.momentum == 0 and value is not False:
        return lane_field_problem(lane, name)  # μ = 0: the buffer is the gradient itself
    return problem


#: Values of buffer fields that say what a lane without a buffer does.
_VALUES_WITHOUT_BUFFER: dict[str, Any] = {"momentum": 0, "nesterov": False}


def _unread_field_problem(lane: LaneSettings, name: str) -> str:
    """Why the lane's rule, with the lane's other settings, does not read field ``name`` ("" if it does)."""
    spec = OPTIMIZERS[lane.optimizer]
    if name in _ALWAYS_READ:
        return ""
    if name not in spec.uses:
        return _unread_reason(spec, name)
    if name in ("ns_steps", "ns_dtype") and lane.polar != "ns":
        return _NS_ONLY[name]
    if name in ("lam", "lam_schedule") and lane.polar != "reg":
        return f"{_POLAR_NAMES[name]} belongs to the regularised polar map (polar = reg)"
    if name in _BUFFER_FIELDS and "order" in spec.uses and lane.order == "none":
        return f"momentum order is none: there is no buffer, so {_BUFFER_FIELDS[name]} has no effect"
    return ""


#: The regularised map's settings, as a reason names them.
_POLAR_NAMES = {"lam": "λ", "lam_schedule": "λ's schedule"}

#: Why a Newton–Schulz setting means nothing to another polar map.
_NS_ONLY = {
    "ns_steps": "only the Newton–Schulz map (polar = ns) has iteration steps",
    "ns_dtype": "only the Newton–Schulz map (polar = ns) runs its iterations in another precision",
}


#: Fields of the momentum buffer, as a reason names them.
_BUFFER_FIELDS = {
    "momentum": "μ",
    "nesterov": "Nesterov's look-ahead",
    "buffer": "its convention (ema or sum)",
}
#: Fields read to no avail at μ = 0, as a reason names them: before or after the map, the buffer
#: of one gradient is that gradient (a SignGD lane at μ = 0 was reported as momentum "pre").
_AT_NO_MOMENTUM = {
    "nesterov": _BUFFER_FIELDS["nesterov"],
    "buffer": _BUFFER_FIELDS["buffer"],
    "order": "the momentum order",
}


def _readers_of(name: str) -> str:
    """The optimizers whose rule reads lane field ``name``, by title ("Muon", "Adam and Lion")."""
    return and_listed([spec.title for spec in OPTIMIZERS.values() if name in spec.uses])


def _s(name: str) -> str:
    """A verb's ending after :func:`_readers_of`: "Adam keeps", "Adam and Lion keep"."""
    return "s" if sum(name in spec.uses for spec in OPTIMIZERS.values()) == 1 else ""


def _unread_reason(spec: OptimizerSpec, name: str) -> str:
    """Why an optimizer's rule does not read lane field ``name`` at all."""
    if name == "order":
        return f"{spec.title} applies momentum directly: there is no map to place it around"
    if name in _POLAR_FIELDS:
        return f"only {_readers_of(name)} orthogonalise{_s(name)} the update"
    if name in ("beta2", "eps"):
        return f"only {_readers_of(name)} keep{_s(name)} a second moment (β₂, ε)"
    if name in ("nesterov", "buffer"):
        return f"{spec.title} keeps its own moment estimates, not a momentum buffer"
    return f"{spec.title} does not read it"
