"""Figures of K. Wang et al.'s hierarchical presets (7–8): excess loss over steps and over horizons."""

from __future__ import annotations

from itertools import groupby

from muonscope.app.figures import Figure, Guide, Panel, Presentation, Series, guide, lane_series, series
from muonscope.engine.reproduce import Curve, Reproduction
from muonscope.engine.reproduce.hierarchical import HORIZON_GD, HORIZON_MUON

__all__ = ["PRESENTATIONS"]

GROUP_LOSS_STEPS = 60  # group losses separate (GD) or stay together (Muon) early; later they all shrink
#: Legend text and line style of the horizon sweep's lanes: GD dashed, Muon solid.
HORIZON_LANES = {HORIZON_GD: ("GD", "dash"), HORIZON_MUON: ("Muon", "solid")}


#: The lanes drawn dashed over another: TRA-SignGD runs in step with Muon (§11.20), and drawn solid it
#: hid Muon's curve, the one §11.19 judges.
_DASHED = ("TRA-SignGD η = 0.5",)
#: The lane whose power-law decay §11.19 judges against the 1/t guide.
_GD = "GD η = 1/p₁"


def _noiseless(reproduction: Reproduction) -> list[Figure]:
    (excess,) = reproduction.curve_sets("excess_loss")
    s = excess.setting
    lanes = tuple(
        series(name, curve, colour, "dash" if name in _DASHED else "solid")
        for colour, (name, curve) in enumerate(excess.curves.items())
    )
    panel = Panel(
        f"K = {s['K']}, M = {s['groups']} groups, β = {s['beta']}",
        "step t",
        "excess loss",
        lanes,
        log_x=True,
        log_y=True,
    )
    # GD's slope on its own scale: beside losses down to 1e-85 its decade of decay was a flat line
    gd = Panel(
        "GD against 1/t (its own scale)",
        "step t",
        "excess loss",
        tuple(line for line in lanes if line.label == _GD),
        (guide("∝ 1/t", excess.theory["1/t"]),),
        log_x=True,
        log_y=True,
        range_with_guides=True,
        detail=True,
    )
    groups = tuple(
        Panel(
            f"{data.setting['lane']}: loss of each frequency group",
            "step t",
            "group loss L_g",
            lane_series({f"group {g}": _first_steps(curve) for g, curve in data.curves.items()}),
            log_y=True,
        )
        for data in reproduction.curve_sets("group_loss")
    )
    return [
        Figure("excess_loss", "Excess loss, noiseless", (panel, gd)),
        Figure("group_losses", "Groups learned staggered (GD) or in sync (Muon)", groups),
    ]


def _first_steps(curve: Curve) -> Curve:
    keep = curve.x <= GROUP_LOSS_STEPS
    return Curve(curve.x[keep], curve.y[keep])


def _scaling(reproduction: Reproduction) -> list[Figure]:
    """One panel per task size; per β, GD (dashed) and Muon (solid) with GD's slope, and Muon's −2 once."""
    panels = []
    sets = reproduction.curve_sets("final_excess_vs_horizon")
    for (k, groups), by_beta in groupby(sets, key=lambda data: (data.setting["K"], data.setting["groups"])):
        by_beta = list(by_beta)
        lines: list[Series] = []
        guides: list[Guide] = []
        for index, data in enumerate(by_beta):
            beta = data.setting["beta"]
            for offset, (name, curve) in enumerate(data.curves.items()):
                legend, style = HORIZON_LANES[name]
                lines.append(series(f"{legend}, β = {beta}", curve, 2 * index + offset, style))
            label = f"slope −(1 − 1/β) = {data.setting['gd_slope']:.2f}"
            guides.append(guide(label, data.theory["gd_slope"]))
        guides.append(guide("slope −2", by_beta[0].theory["muon_slope"]))
        title = f"K = {k}, M = {groups} groups, ρ = {by_beta[0].setting['label_noise']}"
        panels.append(Panel(title, "horizon T", "final excess loss", tuple(lines), tuple(guides), True, True))
    return [Figure("scaling", "Excess loss against the horizon", tuple(panels))]


PRESENTATIONS = {
    "hierarchical_noiseless": Presentation("Hierarchical spectrum, noiseless (Wang et al.)", _noiseless),
    "noisy_scaling": Presentation("Noisy scaling law (Wang et al.)", _scaling),
}
