"""Figures of the bridge (preset 12): Li et al.'s filter metrics over a Zipf memory's training.

Every lane keeps one colour in every panel (its position among the run's lanes), so the panels that
show only some lanes — Li et al.'s A(D) for the Muon lanes, the filtering ratio for the lanes whose
buffer averages raw gradients — still read against the recovery panel.
"""

from __future__ import annotations

from muonscope.app.figures import Figure, Panel, Presentation, Series, guide, series
from muonscope.engine.reproduce import Curve, CurveSet, Reproduction

__all__ = ["PRESENTATIONS"]

#: Why a lane is missing from the filtering panels (the post-polar buffer averages msgn(G_t)).
NO_POST = "post-polar not shown: its buffer averages msgn(G)"


def _lane_lines(curves: dict[str, Curve], colours: dict[str, int]) -> tuple[Series, ...]:
    return tuple(series(label, curve, colours[label]) for label, curve in curves.items())


def _over_steps(
    data: CurveSet, colours: dict[str, int], title: str, y_label: str, log_y: bool = False
) -> Panel:
    """A quantity over steps per lane; its guides, where it has any, are inside the axes' ranges
    (the tail's 1/√(2T−1) was listed in the legend and drawn below the panel's range)."""
    lines = _lane_lines(data.curves, colours)
    guides = tuple(guide(n, c) for n, c in data.theory.items())
    return Panel(title, "step", y_label, lines, guides, log_y=log_y, range_with_guides=bool(guides))


def _training(reproduction: Reproduction) -> list[Figure]:
    (recovered,) = reproduction.curve_sets("recovered_over_steps")
    colours = {label: i for i, label in enumerate(recovered.curves)}
    s = recovered.setting
    (normalised,) = reproduction.curve_sets("normalised_alignment_over_steps")
    (raw,) = reproduction.curve_sets("alignment_over_steps")
    (angles,) = reproduction.curve_sets("sin_theta_over_steps")
    (head,) = reproduction.curve_sets("head_ratio_over_steps")
    (kept,) = reproduction.curve_sets("head_kept_over_steps")
    (tail,) = reproduction.curve_sets("tail_ratio_over_steps")
    where = f"d = {s['d']}, N = {s['n_items']}, mean and range of {s['seeds']} seeds"
    return [
        Figure(
            "recovery_and_alignment",
            "Items recovered and alignment of the update with the population gradient",
            (
                _over_steps(recovered, colours, f"items recovered ({where})", "items recovered"),
                _over_steps(normalised, colours, "A(D)/‖D‖₂ on the step after t", "alignment"),
                _over_steps(raw, colours, "Li et al.'s A(D) = ⟨D, G_sig⟩/‖G_sig‖_*, Muon lanes", "A(D)"),
            ),
        ),
        Figure(
            "filtering_over_steps",
            f"The buffer against the minibatch gradient (μ = {s['mu']}) and the signal's subspace",
            (
                _over_steps(head, colours, f"head σ_k(M)/σ_k(G), k ≤ r ({NO_POST})", "ratio", True),
                _over_steps(tail, colours, "tail σ_k(M)/σ_k(G), r + 1 ≤ k ≤ rank G", "ratio", True),
                _over_steps(
                    kept, colours, "head σ_k(M)/σ_k(G_sig), k ≤ r: buffer against signal", "ratio", True
                ),
                _over_steps(angles, colours, "sin Θ of the top-r left subspaces vs G_sig", "‖sin Θ‖"),
            ),
        ),
    ]


def _spectra(reproduction: Reproduction) -> list[Figure]:
    (recovered,) = reproduction.curve_sets("recovered_over_steps")
    colours = {label: i for i, label in enumerate(recovered.curves)}
    spectra = reproduction.curve_sets("spectra")
    ratios = reproduction.curve_sets("filtering_ratio")
    lane = spectra[0].setting["lane"]
    spectrum_panels = tuple(
        Panel(
            f"step {data.setting['paired_step']}",
            "index k",
            "singular value",
            (
                series("σ_k(G_sig), population", data.curves["G_sig"], 2, style="points"),
                series("σ_k(G), minibatch", data.curves["G"], 0),
                series("σ_k(M), bias-corrected", data.curves["M"], 1),
            ),
            log_y=True,
        )
        for data in spectra
    )
    ratio_panels = tuple(
        Panel(
            f"σ_k(M)/σ_k(G) at step {data.setting['paired_step']}, k ≤ least rank(G): "
            + ", ".join(str(data.setting["gradient_ranks"][label]) for label in data.curves),
            "index k",
            "ratio",
            _lane_lines(data.curves, colours),
            tuple(guide(name, curve) for name, curve in data.theory.items()),
            log_y=True,
            range_with_guides=True,
        )
        for data in ratios
    )
    return [
        Figure("spectra", f"Spectra of G_sig, G and the buffer M of {lane}", spectrum_panels),
        Figure(
            "filtering_ratio",
            f"Filtering ratio per direction ({NO_POST}; near rank(G), σ_k(G) → 0 and a ratio grows; "
            "each curve ends at its lane's least rank(G) over the seeds, in the legend's order)",
            ratio_panels,
        ),
    ]


def _figures(reproduction: Reproduction) -> list[Figure]:
    return _training(reproduction) + _spectra(reproduction)


TITLE = "Bridge: Li et al.'s momentum filter on Kim et al.'s memory (exploratory)"
PRESENTATIONS = {"bridge": Presentation(TITLE, _figures)}
