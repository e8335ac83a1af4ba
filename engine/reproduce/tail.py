"""Wang et al. (ICLR 2026) — Muon vs Adam on tail-end associative memory, preset 9: the balance ϱ
of one step along its ray (SCIENCE.md §8). Preset 10 is in :mod:`engine.reproduce.tail_isotropy`."""

from __future__ import annotations

import math
from collections import defaultdict

import numpy as np
import torch

from muonscope.engine.balance import (
    RayBalance,
    first_step_direction,
    ray_balance,
    ray_curve,
    same_but_rounding,
    update_condition_ratio,
)
from muonscope.engine.config import LaneConfig, TaskConfig
from muonscope.engine.reproduce.base import (
    CPU_FLOAT64,
    Claim,
    Curve,
    CurveSet,
    Reproduction,
    Settings,
    check_range,
    register,
)
from muonscope.engine.tasks.memory_task import MemoryTask

__all__ = ["gd_rho_closed_form", "tail_balance_one_step", "two_level_task"]

EPS = 0.01
EMBEDDINGS = ("identity", "hadamard", "orthogonal")
ONE_STEP = {
    "GD": LaneConfig(optimizer="sgd", lr=1.0, momentum=0.0),
    "SignGD (= Adam, 1 step)": LaneConfig(optimizer="signgd", lr=1.0, momentum=0.0, order="none"),
    "Muon": LaneConfig(optimizer="muon", lr=1.0, momentum=0.0, order="none", polar="exact"),
}


def gd_rho_closed_form(k: int, head_mass: float, head_frac: float, eps: float) -> float:
    """ϱ_GD along the GD ray: [f]_k = e^{ηp_k}/(e^{ηp_k}+K−1), head at 1−ε (SCIENCE.md §8, derived)."""
    head = round(head_frac * k)
    p_head, p_tail = head_mass / head, (1 - head_mass) / (k - head)
    eta = math.log((1 - eps) * (k - 1) / eps) / p_head
    return math.exp(eta * p_tail) / (math.exp(eta * p_tail) + k - 1)


def two_level_task(k: int, embeddings: str, head: int | None = None) -> MemoryTask:
    """The two-level memory of the ray checks: K classes in d = K, 80% of the mass on 20% of them
    (``head`` classes instead, when given)."""
    head_frac = 0.2 if head is None else head / k
    config = TaskConfig(
        kind="two_level",
        d=k,
        n_items=k,
        embeddings=embeddings,
        batch_size=0,
        head_mass=0.8,
        head_frac=head_frac,
    )
    return MemoryTask(config, torch.device("cpu"), torch.float64)


# ---- preset 9 ----------------------------------------------------------------------------------


@register("tail_balance_one_step")
def tail_balance_one_step(settings: Settings) -> Reproduction:
    """ϱ^ε after one step along the ray, for three optimizers and three orthonormal embedding families."""
    sizes = (64, 256)
    out = Reproduction("tail_balance_one_step", settings.size)
    out.computed_with(CPU_FLOAT64)  # its tasks: two_level_task
    table = defaultdict(list)
    rho = {}
    units = len(sizes) * len(EMBEDDINGS)  # reported as each begins: its bar counts its seconds
    for k in sizes:
        for embeddings in EMBEDDINGS:
            settings.report(len(table["K"]) // len(ONE_STEP), units, f"K = {k}, {embeddings}")
            task = two_level_task(k, embeddings)
            curves = {}
            for name, lane in ONE_STEP.items():
                direction = first_step_direction(task, lane)
                result = ray_balance(task, direction, EPS, scan=lane.optimizer == "signgd")
                rho[(k, embeddings, name)] = result
                for column, value in (
                    ("K", k),
                    ("embeddings", embeddings),
                    ("optimizer", name),
                    ("rho", result.rho),
                    ("eta", result.eta_feasible),
                    ("rho_at_eta", result.rho_at_feasible),
                    ("eta_at_rho", result.eta_at_rho),
                ):
                    table[column].append(value)
                if k == sizes[0]:  # loss against Δ along the ray, for the smallest K only
                    etas = result.eta_feasible * np.geomspace(1e-2, 3.0, 40)
                    loss, gap = ray_curve(task, direction, etas)
                    curves[name] = Curve(gap, loss)
            if k == sizes[0]:
                setting = {"K": k, "embeddings": embeddings}
                out.data.append(CurveSet("loss_vs_gap_along_ray", curves, setting=setting))
    out.claims += _rho_claims(rho)
    out.claims += _task_coordinate_claims(64)
    out.tables["rho"] = dict(table)
    condition = _signgd_condition(sizes)
    out.tables["signgd_condition"] = condition
    out.claims += _signgd_condition_claims(condition)
    out.claims += [_hadamard_head_claim(k) for k in sizes]
    return out


def _rho_claims(balances: dict[tuple[int, str, str], RayBalance]) -> list[Claim]:
    """§11.23 from ϱ by (K, embeddings, optimizer): GD leaves the tail unbalanced (its closed form),
    Muon balances it under every embedding, SignGD only in task coordinates (identity).

    Away from task coordinates SignGD's worst class keeps falling along the ray, so its infimum over
    [η*, 100η*] is where the scan ends (10⁻³⁷ at K = 64): the claim is judged at η*, where the first
    class reaches 1 − ε (the pilot's 0.016 and 0.013), and the infimum is reported with its η.
    """
    rho = {key: balance.rho for key, balance in balances.items()}
    closed = gd_rho_closed_form(64, 0.8, 0.2, EPS)
    gd_64 = rho[(64, "identity", "GD")]
    claims = [
        check_range("§11.23", "ϱ_GD, K = 64 (identity)", gd_64, 0.026, 0.028, ".4f"),
        check_range("§11.23", "|ϱ_GD − closed form|, K = 64", abs(gd_64 - closed), None, 1e-6, ".1e"),
        check_range("§11.23", "ϱ_GD, K = 256", rho[(256, "identity", "GD")], 0.0068, 0.0078, ".4f"),
    ]
    for embeddings in EMBEDDINGS:
        muon = rho[(64, embeddings, "Muon")]
        claims.append(check_range("§11.23", f"ϱ_Muon, K = 64, {embeddings}", muon, 0.985, 0.990, ".4f"))
    signgd = rho[(64, "identity", SIGNGD)]
    claims.append(check_range("§11.23", "ϱ_SignGD, K = 64, identity", signgd, 0.985, None, ".4f"))
    for embeddings in ("hadamard", "orthogonal"):
        claims += _signgd_rotated_claims(embeddings, balances[(64, embeddings, SIGNGD)])
    return claims


def _signgd_rotated_claims(embeddings: str, balance: RayBalance) -> list[Claim]:
    """SignGD's ϱ away from task coordinates: judged at η*, its infimum along the ray reported."""
    at_feasible = f"ϱ_SignGD, K = 64, {embeddings}: min_k f_k at η*, where the first class reaches 1 − ε"
    return [
        check_range("§11.23", at_feasible, balance.rho_at_feasible, None, 0.05, ".4f"),
        Claim(
            "§11.23",
            f"ϱ_SignGD, K = 64, {embeddings}: infimum over η ∈ [η*, 100η*]",
            _infimum_text(balance),
            "exploratory: an infimum at 100·η* is the scan's end, not the direction's",
            None,
        ),
    ]


SIGNGD = "SignGD (= Adam, 1 step)"


def _infimum_text(balance) -> str:
    """Where along the ray the balance is least: "1.56e-02 at η = 72.3·η*" named a minimum where
    the curve was flat at 1/64 and the two values differed in the 17th digit."""
    at_feasible, lowest = balance.rho_at_feasible, balance.rho
    where = balance.eta_at_rho / balance.eta_feasible
    if same_but_rounding(at_feasible, lowest):
        return (
            f"{lowest:.2e}, as at η* already (the scan's lowest, at {where:.3g}·η*, differs by rounding only)"
        )
    return f"{lowest:.2e} at η = {where:.3g}·η*"


def _signgd_condition(sizes: tuple[int, ...]) -> dict[str, list]:
    """σ_min/σ_max of SignGD's first update per K and embedding, with and without the all-ones output
    direction projected out (Wang et al.'s ≤ 25% bound is about the projected one; SCIENCE.md §8)."""
    table = defaultdict(list)
    for k in sizes:
        for embeddings in EMBEDDINGS:
            task = two_level_task(k, embeddings)
            direction = first_step_direction(task, ONE_STEP[SIGNGD])
            table["K"].append(k)
            table["embeddings"].append(embeddings)
            table["ratio_projected"].append(update_condition_ratio(task, direction, project_ones=True))
            table["ratio_unprojected"].append(update_condition_ratio(task, direction, project_ones=False))
    return dict(table)


def _signgd_condition_claims(table: dict[str, list]) -> list[Claim]:
    """Identity embeddings give a perfectly conditioned SignGD step; overlapping ones ≤ 25% (Thm 5.3)."""
    claims = []
    for k, embeddings, ratio, raw in zip(
        table["K"], table["embeddings"], table["ratio_projected"], table["ratio_unprojected"], strict=True
    ):
        text = (
            f"σ_min/σ_max of SignGD's first step, (I − J/K) projected, K = {k}, {embeddings} "
            f"(unprojected {raw:.3f})"
        )
        if embeddings == "identity":
            claims.append(check_range("§8", text, ratio, 0.999, 1.001, ".4f"))
        else:
            claims.append(check_range("§8", text, ratio, None, 0.25, ".4f"))
    return claims


def _hadamard_head_claim(k: int) -> Claim:
    """SignGD's conditioning under block-2 Hadamard embeddings at head counts L − 1, L, L + 1.

    A Hadamard block mixes two classes; SignGD's step is ill-conditioned when a block mixes a head
    class with a tail one, which happens only when the head count L = round(0.2·K) is odd (13 at
    K = 64). With L even no block straddles the boundary, and the ratio is 0.5, above the bound: the
    check above holds for this layout of the embeddings, not for every one.
    """
    head = round(0.2 * k)
    ratios = []
    for count in (head - 1, head, head + 1):
        task = two_level_task(k, "hadamard", count)
        ratios.append(update_condition_ratio(task, first_step_direction(task, ONE_STEP[SIGNGD])))
    measured = ", ".join(
        f"L = {count}: {ratio:.4f}" for count, ratio in zip((head - 1, head, head + 1), ratios, strict=True)
    )
    return Claim(
        "§8",
        f"σ_min/σ_max of SignGD's first step, K = {k}, hadamard, by head count L (the preset's L = {head})",
        measured,
        "exploratory: small only where a Hadamard pair joins a head class and a tail class (L odd)",
        None,
    )


def _task_coordinate_claims(k: int) -> list[Claim]:
    """Check 24: Muon's first update in task coordinates ẼᵀDE ≈ identity-like (singular values 1)."""
    task = two_level_task(k, "orthogonal")
    direction = first_step_direction(task, ONE_STEP["Muon"])
    coordinates = task.outputs @ direction @ task.inputs.T  # (K, K) = Ẽᵀ D E
    s = torch.linalg.svdvals(coordinates)
    nonzero = s[: k - 1]
    off = coordinates - torch.diag(torch.diagonal(coordinates))
    return [
        check_range(
            "§11.24",
            f"largest |σ − 1| over the K − 1 nonzero singular values of Muon's step, K = {k}",
            float((nonzero - 1).abs().max()),
            None,
            1e-8,
            ".1e",
        ),
        check_range(
            "§11.24",
            f"K · max off-diagonal |entry| of Muon's step in task coordinates, K = {k}",
            float(k * off.abs().max()),
            None,
            3.0,
            ".2f",
        ),
    ]
