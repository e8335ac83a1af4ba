"""K. Wang, B. Li, Zhong, Lu, L. Wang — Muon in associative memory (presets 7–8, SCIENCE.md §7)."""

from __future__ import annotations

import math
from collections import defaultdict

import numpy as np

from muonscope.engine.config import ExperimentConfig, LaneConfig, RunConfig, TaskConfig
from muonscope.engine.experiment import Experiment
from muonscope.engine.reproduce.base import (
    Claim,
    Curve,
    CurveSet,
    Reproduction,
    Settings,
    check_range,
    find_lane,
    loglog_slope,
    register,
    run_sweep,
)
from muonscope.engine.sweep import PointResult, SweepPoint
from muonscope.engine.tasks.frequencies import hierarchical_probs

__all__ = ["HORIZON_GD", "HORIZON_MUON", "trajectories"]

#: Labels of the horizon sweep's two lanes (preset 8): GD at η p₁ = 1.9, Muon tuned to the horizon T.
HORIZON_GD = "GD η = 1.9/p₁"
HORIZON_MUON = "Muon η = 2 log K / T"


def _lane(optimizer: str, lr: float, label: str, **fields) -> LaneConfig:
    """No momentum: the paper analyses plain GD, Muon = msgn(∇L), and their sign variants."""
    return LaneConfig(optimizer=optimizer, lr=lr, momentum=0.0, order="none", label=label, **fields)


def _hierarchical(k: int, groups: int, beta: float, label_noise: float = 0.0) -> TaskConfig:
    """K orthonormal (Haar) pairs in W ∈ R^{K×K}, exact gradients, as the paper analyses."""
    return TaskConfig(
        kind="hierarchical",
        d=k,
        n_items=k,
        groups=groups,
        group_exponent=beta,
        batch_size=0,
        label_noise=label_noise,
        embeddings="orthogonal",
    )


def trajectories(config: ExperimentConfig, steps: int) -> dict[str, np.ndarray]:
    """Excess loss (steps+1, L) and per-group loss (steps+1, L, groups) at every step."""
    experiment = Experiment(config)
    excess, groups = [], []
    for t in range(steps + 1):
        if t:
            experiment.step()
        experiment.evaluate(with_signal=False)
        lanes = experiment.snapshot().lanes
        excess.append([lane.excess_loss for lane in lanes])
        groups.append([lane.group_loss for lane in lanes])
    return {"excess": np.array(excess), "groups": np.array(groups)}


# ---- preset 7 ----------------------------------------------------------------------------------


@register("hierarchical_noiseless")
def hierarchical_noiseless(settings: Settings) -> Reproduction:
    """Noiseless hierarchical memory: Muon and TRA-SignGD converge exponentially and in sync, GD as a
    power of t (1/t in theory)."""
    k, groups, beta, steps = 64, 8, 1.5, 200
    p1 = float(hierarchical_probs(k, groups, beta)[0][0])
    lanes = (
        _lane("sgd", 1 / p1, "GD η = 1/p₁"),
        _lane("muon", 1.0, "Muon η = 1", polar="exact"),
        _lane("tra_signgd", 0.5, "TRA-SignGD η = 0.5"),
        _lane("signgd", 1 / math.sqrt(k), "SignGD η = 1/√K"),
        _lane("ngd", 1.0, "NGD η = 1"),
    )
    task = _hierarchical(k, groups, beta)
    config = ExperimentConfig(task=task, lanes=lanes, run=RunConfig(eval_every=1, spectra_every=10**9))
    settings.report(0, 1, "trajectories")
    runs = trajectories(config, steps)
    settings.report(1, 1, "trajectories")
    excess, group_loss = runs["excess"], runs["groups"]
    gd, muon, tra = (find_lane(lanes, optimizer=name) for name in ("sgd", "muon", "tra_signgd"))
    t = np.arange(steps + 1)
    out = Reproduction("hierarchical_noiseless", settings.size)
    out.computed_with(config.run)
    out.claims += _convergence_claims(excess, t, gd, muon, tra) + _balance_claims(group_loss, gd, muon)
    out.data.append(
        CurveSet(
            "excess_loss",
            {lane.label: Curve(t[1:].astype(float), excess[1:, i]) for i, lane in enumerate(lanes)},
            {"1/t": Curve(t[10:].astype(float), excess[10, gd] * 10 / t[10:])},  # through GD at t = 10
            {"K": k, "groups": groups, "beta": beta},
        )
    )
    out.data += [_group_losses(group_loss, lanes, i) for i in (gd, muon)]
    out.tables["excess"] = {
        "step": list(map(int, t)),
        **{lane.label: list(map(float, excess[:, i])) for i, lane in enumerate(lanes)},
    }
    return out


def _convergence_claims(excess: np.ndarray, t: np.ndarray, gd: int, muon: int, tra: int) -> list[Claim]:
    """§11.19–20 from the (steps+1, L) excess losses: Muon converges exponentially, GD as a power of t, and
    TRA-SignGD in step with Muon."""
    claims = [
        check_range("§11.19", "Muon (η = 1) excess loss at t = 20", excess[20, muon], None, 1e-5, ".2e"),
        check_range("§11.19", "GD (η = 1/p₁) excess loss at t = 20", excess[20, gd], 0.3, None, ".3f"),
        check_range(
            "§11.19",
            "GD slope of log excess against log t, t ∈ [50, 200]",
            loglog_slope(t[50:], excess[50:, gd]),
            -2.0,
            -0.7,
            ".2f",
        ),
    ]
    rel = np.abs(excess[1:16, tra] - excess[1:16, muon]) / excess[1:16, muon]
    claims.append(
        check_range(
            "§11.20",
            "TRA-SignGD (η = 0.5) against Muon (η = 1): largest relative excess gap, t ≤ 15",
            float(rel.max()),
            None,
            0.15,
            ".3f",
        )
    )
    return claims


def _balance_claims(group_loss: np.ndarray, gd: int, muon: int) -> list[Claim]:
    """§11.21 from the (steps+1, L, groups) group losses: Muon learns every group at once, GD the
    head first (its max/min ratio grows)."""
    claims = []
    with np.errstate(divide="ignore", invalid="ignore"):  # Muon's group losses reach 0 in float64
        ratio = group_loss.max(axis=2) / group_loss.min(axis=2)  # (steps+1, L)
    claims.append(
        check_range(
            "§11.21",
            "Muon group-loss ratio max_g/min_g, largest over t ≤ 10",
            float(ratio[1:11, muon].max()),
            None,
            1.5,
            ".2f",
        )
    )
    claims.append(
        check_range(
            "§11.21", "GD group-loss ratio max_g/min_g at t = 10", float(ratio[10, gd]), 10.0, None, ".1f"
        )
    )
    growing = bool(np.all(np.diff(ratio[1:51, gd]) > 0))
    claims.append(
        Claim(
            "§11.21",
            "GD group-loss ratio increases over t ≤ 50",
            f"{ratio[1, gd]:.2f} → {ratio[50, gd]:.1f}",
            "increasing",
            growing,
        )
    )
    return claims


def _group_losses(group_loss: np.ndarray, lanes, lane: int) -> CurveSet:
    """One lane's loss of each frequency group (keyed "1" = head … "M" = tail) over steps t ≥ 1."""
    steps = np.arange(1, group_loss.shape[0], dtype=float)
    curves = {str(g + 1): Curve(steps, group_loss[1:, lane, g]) for g in range(group_loss.shape[2])}
    return CurveSet("group_loss", curves, setting={"lane": lanes[lane].label})


# ---- preset 8 ----------------------------------------------------------------------------------


@register("noisy_scaling")
def noisy_scaling(settings: Settings) -> Reproduction:
    """Label noise ρ = 0.1: final excess loss against the horizon T for GD and horizon-tuned Muon."""
    horizons = (16, 32, 64, 128, 256, 512, 1024) if settings.full else (16, 64, 256)
    betas = (1.2, 1.5, 2.0) if settings.full else (1.2,)
    sizes = ((512, 512), (1024, 16)) if settings.full else ((256, 256),)
    k_check, t_check = (512, 512) if settings.full else (256, 256)
    points = [
        _horizon_point(k, groups, beta, horizon)
        for k, groups in sizes
        for beta in betas
        for horizon in horizons
    ]
    final, table = _final_lanes(run_sweep(points, settings, "horizon sweep"))
    out = Reproduction("noisy_scaling", settings.size)
    out.tables["horizons"] = table

    def lane_at(k: int, beta: float, horizon: int, optimizer: str) -> dict:
        records = final[(k, beta)][horizon]
        return records[find_lane(records, optimizer=optimizer)]

    gd, muon = lane_at(k_check, 1.2, t_check, "sgd"), lane_at(k_check, 1.2, t_check, "muon")
    out.claims += _noisy_claims(gd, muon, k_check, t_check)
    x = np.array(horizons, float)
    for k, groups in sizes:
        for beta in betas:
            gd_curve, muon_curve = (
                Curve(x, np.array([lane_at(k, beta, h, optimizer)["excess_loss"] for h in horizons]))
                for optimizer in ("sgd", "muon")
            )
            labels = (lane_at(k, beta, horizons[0], o)["label"] for o in ("sgd", "muon"))
            curves = dict(zip(labels, (gd_curve, muon_curve), strict=True))
            setting = {
                "K": k,
                "groups": groups,
                "beta": beta,
                "label_noise": 0.1,
                "gd_slope": -(1 - 1 / beta),
            }
            out.data.append(
                CurveSet("final_excess_vs_horizon", curves, _horizon_guides(curves, beta), setting)
            )
    out.notes.append("Finite K bends the GD curves: their T^−(1−1/β) law holds while T^(1/β) ≪ K.")
    if not settings.full:
        out.notes.append(
            "CI size: K = 256 (C = 1) and T up to 256, checked with the thresholds stated for K = T = 512."
        )
    return out


def _horizon_point(k: int, groups: int, beta: float, horizon: int) -> SweepPoint:
    """GD at η p₁ = 1.9 and Muon at η = 2 log K / T, trained for ``horizon`` steps under label noise 0.1."""
    p1 = float(hierarchical_probs(k, groups, beta)[0][0])
    lanes = (
        _lane("sgd", 1.9 / p1, HORIZON_GD),
        _lane("muon", 2 * math.log(k) / horizon, HORIZON_MUON, polar="exact"),
    )
    task = _hierarchical(k, groups, beta, label_noise=0.1)
    config = ExperimentConfig(task=task, lanes=lanes, run=RunConfig(eval_every=10**9, spectra_every=10**9))
    return SweepPoint(config, horizon, (("K", k), ("beta", beta), ("T", horizon)))


def _final_lanes(results: list[PointResult]) -> tuple[dict[tuple, dict[int, tuple[dict, ...]]], dict]:
    """The lanes' final records by (K, β) and T, and the same as a table (one row per lane)."""
    final: dict[tuple, dict[int, tuple[dict, ...]]] = defaultdict(dict)  # (K, β) → T → lane records
    table = defaultdict(list)
    for result in results:
        coords = dict(result.point.coords)
        final[(coords["K"], coords["beta"])][coords["T"]] = result.lanes
        for lane in result.lanes:
            for name in ("K", "beta", "T"):
                table[name].append(coords[name])
            table["lane"].append(lane["label"])
            table["excess_loss"].append(lane["excess_loss"])
    return final, dict(table)


def _noisy_claims(gd: dict, muon: dict, k: int, horizon: int) -> list[Claim]:
    """§11.22 at one (K, T): horizon-tuned Muon reaches the noise floor, GD at its edge of stability
    stays finite but far above it."""
    return [
        check_range(
            "§11.22",
            f"Muon (η = 2 log K / T) excess loss, K = {k}, β = 1.2, ρ = 0.1, T = {horizon}",
            muon["excess_loss"],
            None,
            1e-3,
            ".2e",
        ),
        check_range(
            "§11.22", f"GD (η = 1.9/p₁) excess loss at T = {horizon}", gd["excess_loss"], 0.1, None, ".3f"
        ),
        Claim(
            "§11.22",
            "GD with η p₁ = 1.9 does not diverge",
            "diverged" if gd["diverged"] else "finite",
            "finite",
            not gd["diverged"],
        ),
    ]


def _horizon_guides(curves: dict[str, Curve], beta: float) -> dict[str, Curve]:
    """The theory slopes T^−(1−1/β) (GD) and T^−2 (Muon), through each lane's loss at the shortest T."""
    gd_curve, muon_curve = curves.values()
    x = gd_curve.x
    return {
        "gd_slope": Curve(x, gd_curve.y[0] * (x / x[0]) ** -(1 - 1 / beta)),
        "muon_slope": Curve(x, muon_curve.y[0] * (x / x[0]) ** -2.0),
    }
