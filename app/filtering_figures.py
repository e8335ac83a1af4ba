"""Figures of Li et al.'s momentum-filter presets (5–6): spectra, filtering ratio, alignment, sin Θ."""

from __future__ import annotations

from muonscope.app.figures import Figure, Panel, Presentation, guide, series
from muonscope.engine.reproduce import CurveSet, Reproduction

__all__ = ["PRESENTATIONS"]

#: Legend text of the three pipelines.
PIPELINES = {"pre-polar": "pre-polar (Muon)", "post-polar": "post-polar", "polar-only": "polar-only"}


def _spectra(reproduction: Reproduction) -> list[Figure]:
    (spectra,) = reproduction.curve_sets("spectra")
    (ratio,) = reproduction.curve_sets("filtering_ratio")
    s = spectra.setting
    curves = spectra.curves
    left = Panel(
        f"σ = {s['noise']:g}, μ = {s['mu']}, K = {s['steps']} (mean of {s['trials']} trials)",
        "index k",
        "singular value",
        (
            series("G_K", curves["G_K"], 0),
            series("M_K", curves["M_K"], 1),
            series("G_sig", curves["G_sig"], 2, style="points"),
        ),
        log_y=True,
    )
    tail = ratio.theory["1/√(2T−1)"]
    right = Panel(
        "filtering ratio σ_k(M_K) / σ_k(G_K)",
        "index k",
        "ratio",
        (series(f"σ = {ratio.setting['noise']:g}", ratio.curves["M_K / G_K"], 1),),
        (guide(f"1/√(2T−1) = {tail.y[0]:.3f}", tail),),
    )
    return [Figure("spectra", "Spectra of the gradient, the momentum buffer and the signal", (left, right))]


def _alignment_panel(title: str, data: CurveSet) -> Panel:
    """A(update) against μ for the three pipelines."""
    lines = tuple(series(PIPELINES[name], data.curves[name], colour) for colour, name in enumerate(PIPELINES))
    return Panel(title, "μ", "A(update)", lines)


def _order(reproduction: Reproduction) -> list[Figure]:
    (alignment,) = reproduction.curve_sets("alignment")
    (angles,) = reproduction.curve_sets("subspace_error")
    s = alignment.setting
    left = _alignment_panel(f"alignment with G_sig (σ = {s['noise']:g}, r = {s['rank']})", alignment)
    right = Panel(
        "subspace error of the buffer",
        "2T − 1",
        "‖sin Θ‖",
        (series("top-3 left subspace", angles.curves["top-3 left subspace"], 0),),
        (guide("1/∜(2T−1)", angles.theory["1/∜(2T−1)"]),),
        log_x=True,
        log_y=True,
    )
    (spike,) = reproduction.curve_sets("alignment_rank_one")
    s = spike.setting
    title = f"rank-1 spike, λ = {s['strength']} < 0.25(√m − √n) = {s['detection_limit']:.2f}"
    return [
        Figure("order", "Momentum before or after the polar map", (left, right)),
        Figure("rank_one", "Low-SNR spike (Theorem 3)", (_alignment_panel(title, spike),)),
    ]


PRESENTATIONS = {
    "spectral_filtering": Presentation("Momentum as a spectral filter (Li et al.)", _spectra),
    "momentum_order": Presentation("Order of momentum and polar map (Li et al.)", _order),
}
