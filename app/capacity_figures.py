"""Figures of Kim et al.'s capacity presets (1–4): recovered items against d, B, κ and steps."""

from __future__ import annotations

import re
from dataclasses import replace

import numpy as np

from muonscope.app.figures import Figure, Panel, Presentation, Series, guide, lane_series
from muonscope.engine.reproduce import CurveSet, Reproduction

__all__ = ["PRESENTATIONS", "recovery_strip"]

N_REC = "items recovered n_rec"
#: A lane whose polar map is Newton–Schulz iterations ("Muon NS5"), an approximation of the exact one.
NEWTON_SCHULZ = re.compile(r"\bNS\d+\b")
#: Legend text for lanes whose names spell out their settings in plain characters. The λ rule stays
#: in it: cut to "Muon-reg", the figure's lane read as the window's "Muon-reg λ = 1/256", whose
#: fixed λ gives another plateau.
LEGEND = {"Muon-reg λ = max(d^-α, 1/B)": "Muon-reg λ = max(d⁻ᵅ, 1/B)"}


def _lane_series(data: CurveSet) -> tuple[Series, ...]:
    """Every lane's curve, in lane colour order, with its seed spread; a Newton–Schulz lane dashed,
    so that where it lies on the exact polar map's curve both show (NS10 hid "Muon exact")."""
    return tuple(
        replace(series, style="dash") if NEWTON_SCHULZ.search(series.label) else series
        for series in lane_series(data.curves, LEGEND)
    )


def _capacity_vs_d(reproduction: Reproduction) -> list[Figure]:
    panels = []
    for data in reproduction.curve_sets("capacity_vs_d"):
        s = data.setting
        guides = (
            guide(f"slope 1 + 1/(2α) = {s['muon_slope']:.2f}", data.theory["muon_slope"]),
            guide(f"slope 1/(2α) = {s['gd_slope']:.2f}", data.theory["gd_slope"]),
        )
        title = f"α = {s['alpha']}, N = {s['n_items']}"
        panels.append(Panel(title, "d", N_REC, _lane_series(data), guides, log_x=True, log_y=True))
    by_d = Figure("capacity_vs_d", "One-step capacity against d", tuple(panels))
    return [by_d, recovery_strip(reproduction)]


def recovery_strip(reproduction: Reproduction) -> Figure:
    """One row of points per lane, named on the axis, at the frequency ranks it recovered."""
    (data,) = reproduction.curve_sets("recovered_by_rank")
    rows = []
    for row, (name, curve) in enumerate(data.curves.items()):
        ranks = curve.x[curve.y > 0]
        label = f"{name}: {ranks.size} items"
        rows.append(Series(label, ranks, np.full(ranks.size, row + 1.0), style="points", colour=row))
    s = data.setting
    panel = Panel(
        f"ranks recovered after one step, d = {s['d']}, α = {s['alpha']}, seed {s['seed']}",
        "frequency rank (a rank not marked is not recovered)",
        "lane",
        tuple(rows),
        log_x=True,
        y_ticks=tuple((row + 1.0, name) for row, name in enumerate(data.curves)),
    )
    return Figure("recovery_strip", "Per-rank recovery", (panel,))


def _capacity_vs_batch(reproduction: Reproduction) -> list[Figure]:
    (data,) = reproduction.curve_sets("capacity_vs_batch")
    s = data.setting
    title = f"d = {s['d']}, N = {s['n_items']}, α = {s['alpha']}: "
    title += f"B*_GD = {s['b_gd']}, B*_Muon = {s['b_muon']}"
    guides = (guide(f"B^(1/α) = B^{1 / s['alpha']:.2f}", data.theory["muon_slope"]),)
    panel = Panel(title, "batch size B", N_REC, _lane_series(data), guides, log_x=True, log_y=True)
    return [Figure("capacity_vs_batch", "Critical batch size", (panel,))]


def _anisotropy(reproduction: Reproduction) -> list[Figure]:
    (data,) = reproduction.curve_sets("capacity_vs_kappa")
    s = data.setting
    title = f"d = {s['d']}, N = {s['n_items']}, α = {s['alpha']}"
    panel = Panel(title, "κ", N_REC, _lane_series(data), log_y=True)
    return [Figure("anisotropy", "Anisotropic inputs", (panel,))]


def _multi_step(reproduction: Reproduction) -> list[Figure]:
    """n_rec(t) against the law's d_t, and L(W_t) against the loss those d_t items would leave (the
    bound's form with a constant), one panel per d."""
    recovered = _per_step_panels(
        reproduction,
        "recovered_over_steps",
        "items recovered",
        "",
        ("d_t = d^(2 − (1 − 1/(2α))ᵗ), capped at N", "d_t capped at B^(1/α), B = {batch_size}"),
    )
    loss = _per_step_panels(
        reproduction,
        "loss_over_steps",
        "loss (nats)",
        ": population loss L(W_t)",
        ("log N·Σ_(i>d_t) p_i, rest at chance", "the same, d_t capped, B = {batch_size}"),
    )
    return [
        Figure("multi_step", "Multi-step recovery (exploratory)", recovered),
        Figure("multi_step_loss", "Multi-step population loss (exploratory)", loss),
    ]


def _per_step_panels(
    reproduction: Reproduction, name: str, y_label: str, title_end: str, guide_labels: tuple[str, str]
) -> tuple[Panel, ...]:
    """One log-y panel over t per d of curve set ``name``, with its B = ∞ and batch-capped guides."""
    panels = []
    for data in reproduction.curve_sets(name):
        s = data.setting
        guides = tuple(
            guide(label.format(**s), data.theory[key])
            for label, key in zip(guide_labels, ("d_t", "d_t_batch"), strict=True)
        )
        title = f"d = {s['d']}, N = {s['n_items']}{title_end}"
        lanes = _lane_series(data)
        panels.append(Panel(title, "step t", y_label, lanes, guides, log_y=True, range_with_guides=True))
    return tuple(panels)


PRESENTATIONS = {
    "one_step_capacity": Presentation("One-step capacity (Kim et al.)", _capacity_vs_d),
    "critical_batch": Presentation("Critical batch size (Kim et al.)", _capacity_vs_batch),
    "anisotropic": Presentation("Anisotropic embeddings (Kim et al. Fig. 6 analogue)", _anisotropy),
    "multi_step_recovery": Presentation("Multi-step recovery (Kim et al., exploratory)", _multi_step),
}
