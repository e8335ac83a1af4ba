"""What the widgets need to know about engine fields: choices, ranges, and when a field applies.

The widgets never import the engine; this module translates the engine's config vocabulary and
rules into plain specs and (enabled, reason) pairs, so every disabled control can say why.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from muonscope.engine.config import EMBEDDINGS_BY_KIND, LIVE_TASK_FIELDS, TASK_KINDS, LaneConfig, TaskConfig
from muonscope.engine.optim.registry import OPTIMIZERS
from muonscope.widgets.lane_table import LaneFieldSpec
from muonscope.widgets.task_panel import TaskFieldSpec

__all__ = [
    "KIND_DEFAULTS",
    "LANE_FIELDS",
    "TASK_FIELDS",
    "class_error_problem",
    "lane_field_spec",
    "lane_field_states",
    "lane_values",
    "task_field_states",
    "task_values",
]

LANE_FIELDS = ("optimizer", "order", "momentum", "lr", "polar", "ns_steps", "lam")

TASK_FIELDS = [
    TaskFieldSpec("kind", "task", "choice", choices=TASK_KINDS, tooltip="which model or gradient stream"),
    TaskFieldSpec("d", "d (dimension)", "int", 1, 2048, tooltip="W is d × d"),
    TaskFieldSpec("n_items", "N (items)", "int", 2, 1_000_000, tooltip="number of stored associations"),
    TaskFieldSpec("alpha", "α (Zipf exponent)", "float", 0.0, 10.0, 3, tooltip="p_i ∝ i^-α"),
    TaskFieldSpec("groups", "groups M", "int", 1, 100_000, tooltip="frequency groups of equal size"),
    TaskFieldSpec("group_exponent", "β (group exponent)", "float", 0.0, 10.0, 3, tooltip="group mass ∝ g^-β"),
    TaskFieldSpec(
        "head_mass", "head mass", "float", 0.01, 0.99, 3, tooltip="probability mass of the head classes"
    ),
    TaskFieldSpec(
        "head_frac", "head fraction", "float", 0.01, 0.99, 3, tooltip="share of classes in the head"
    ),
    TaskFieldSpec(
        "embeddings", "embeddings", "choice", choices=("gaussian", "orthogonal", "identity", "hadamard")
    ),
    TaskFieldSpec("batch_size", "batch B (0 = exact)", "int", 0, 1_000_000, tooltip="0: population gradient"),
    TaskFieldSpec(
        "label_noise", "label noise ε", "slider", 0.0, 0.95, tooltip="share of labels replaced at random"
    ),
    TaskFieldSpec("rows", "rows", "int", 1, 2048),
    TaskFieldSpec("cols", "cols", "int", 1, 2048),
    TaskFieldSpec("strengths", "signal strengths", "floats", tooltip="singular values of G_sig"),
    TaskFieldSpec("noise", "noise σ", "float", 0.0, 100.0, 3, tooltip="ARCH noise level"),
    TaskFieldSpec("arch", "ARCH a", "float", 0.0, 0.99, 3, tooltip="noise-variance feedback"),
    TaskFieldSpec("signal_seed", "signal seed", "int", 0, 2**31 - 1),
]

_KIND_FIELDS = {
    "zipf": {"kind", "d", "n_items", "alpha", "embeddings", "batch_size", "label_noise"},
    "hierarchical": {
        "kind",
        "d",
        "n_items",
        "groups",
        "group_exponent",
        "embeddings",
        "batch_size",
        "label_noise",
    },
    "two_level": {
        "kind",
        "d",
        "n_items",
        "head_mass",
        "head_frac",
        "embeddings",
        "batch_size",
        "label_noise",
    },
    "spiked": {"kind", "rows", "cols", "strengths", "noise", "arch", "signal_seed"},
}

#: Sizes that make a valid task of each kind when the user switches kinds in the panel.
KIND_DEFAULTS: dict[str, dict[str, Any]] = {
    "zipf": {"d": 128, "n_items": 2048, "embeddings": "gaussian"},
    "hierarchical": {"d": 64, "n_items": 64, "groups": 8, "embeddings": "orthogonal", "batch_size": 0},
    "two_level": {"d": 64, "n_items": 64, "embeddings": "identity", "batch_size": 0},
    "spiked": {"rows": 100, "cols": 100},
}


def lane_field_spec() -> LaneFieldSpec:
    """Optimizer choices from the registry and ranges from the config's limits."""
    return LaneFieldSpec(
        optimizers=[(name, spec.title) for name, spec in OPTIMIZERS.items()],
        ranges={"lr": (0.0, 1e6), "momentum": (0.0, 0.999), "ns_steps": (1, 100), "lam": (0.0, 1e6)},
    )


def lane_values(lane: LaneConfig) -> dict[str, Any]:
    return dataclasses.asdict(lane)


def lane_field_states(lane: LaneConfig) -> dict[str, tuple[bool, str]]:
    """(enabled, reason) for every lane control, from the optimizer's declared fields."""
    spec = OPTIMIZERS[lane.optimizer]
    states = {name: (True, "") for name in LANE_FIELDS}
    if "order" not in spec.uses:
        states["order"] = (
            False,
            f"{spec.title} applies momentum directly: there is no map to place it around",
        )
    for name in ("polar", "ns_steps", "lam"):
        if name not in spec.uses:
            states[name] = (False, "only Muon orthogonalises its update")
    if lane.optimizer == "muon" and lane.polar != "ns":
        states["ns_steps"] = (False, "only the Newton–Schulz map (polar = ns) has iteration steps")
    if lane.optimizer == "muon" and lane.polar != "reg":
        states["lam"] = (False, "λ belongs to the regularised polar map (polar = reg)")
    if lane.order == "none" and "order" in spec.uses:
        states["momentum"] = (False, "momentum order is none: no buffer, so μ has no effect")
    return states


def task_values(task: TaskConfig) -> dict[str, Any]:
    values = dataclasses.asdict(task)
    values["strengths"] = list(task.strengths)
    return values


def class_error_problem(task: TaskConfig) -> str | None:
    """Why panel ③ has nothing to show for ``task``, or None when it has classes."""
    if task.kind == "spiked":
        return (
            "A spiked gradient stream has no classes, so there is no per-class error. "
            "Panels ① and ② show its spectra and alignment; panel ④ sweeps over μ or the window."
        )
    return None


def task_field_states(task: TaskConfig) -> tuple[dict[str, tuple[bool, bool, str]], set[str], dict[str, str]]:
    """Visibility and enabling per field, the live fields, and embedding choices that do not apply."""
    shown = _KIND_FIELDS[task.kind]
    states = {spec.name: (spec.name in shown, True, "") for spec in TASK_FIELDS}
    allowed = EMBEDDINGS_BY_KIND[task.kind]
    disabled = {}
    for family in ("gaussian", "orthogonal", "identity", "hadamard"):
        if family not in allowed:
            disabled[family] = f"not available for the {task.kind} task"
        elif family != "gaussian" and task.n_items > task.d:
            disabled[family] = f"needs N ≤ d (N = {task.n_items}, d = {task.d})"
    return states, set(LIVE_TASK_FIELDS[task.kind]), disabled
