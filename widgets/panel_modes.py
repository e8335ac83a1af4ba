"""The options of the panels' mode boxes, as plain data.

Kept free of Qt so that a config file's ``[view]`` table can be checked against them where no
window is open (``muonscope run --config``) as well as where one is.
"""

from __future__ import annotations

__all__ = [
    "CAPACITY_MODES",
    "CLASS_ERROR_QUANTITIES",
    "CLASS_ERROR_VIEWS",
    "SERIES_METRICS",
    "SERIES_SCALES",
    "SERIES_SMOOTHING",
    "SPECTRUM_VIEWS",
]

#: (value, menu text) of panel ①'s ``view`` box.
SPECTRUM_VIEWS = [
    ("gradient+momentum", "G and M"),
    ("update", "update"),
    ("weights", "W"),
    ("gradient+signal", "G and G_sig"),
    ("gradient+momentum+signal", "G, M and G_sig"),
    ("gradient:steps", "G over steps"),
    ("momentum:steps", "M over steps"),
    ("update:steps", "update over steps"),
    ("weights:steps", "W over steps"),
]
#: Panel ②'s ``metric`` box: history column → menu text.
SERIES_METRICS = [
    ("gap", "spectral gap σ_r − σ_(r+1)"),
    ("ratio_gap", "largest gap ratio σ_k / σ_(k+1)"),
    ("alignment", "alignment A(update)"),
    ("tail_filtering", "filtering ratio σ(M)/σ(G), tail"),
    ("sin_theta", "sin Θ of top-r subspace"),
    ("batch_loss", "minibatch loss"),
    ("loss", "population loss"),
    ("excess_loss", "excess loss"),
    ("balance_gap", "balance Δ = max − min p̂(correct)"),
    ("weight_entropy", "isotropy of W: normalised entropy"),
    ("weight_effective_rank", "isotropy of W: effective rank"),
    ("weight_top_energy", "isotropy of W: top-10 energy"),
    ("weight_q75_q25", "isotropy of W: Q75/Q25 of σ²"),
    ("update_entropy", "isotropy of the update: entropy"),
]
#: Panel ②'s smoothing menu: the weights of its moving average (see :mod:`smoothing`; 0: raw).
SERIES_SMOOTHING = [(0.0, "raw"), (0.6, "EMA 0.6"), (0.9, "EMA 0.9"), (0.99, "EMA 0.99")]
#: Panel ②'s ``scale`` box.
SERIES_SCALES = [("linear", "linear y"), ("log", "log y")]
#: Panel ③'s ``view`` and ``quantity`` boxes.
CLASS_ERROR_VIEWS = [
    ("recovery", "not recovered vs rank"),
    ("curves", "error vs rank"),
    ("heatmap", "heat map"),
]
CLASS_ERROR_QUANTITIES = [("error", "mean error"), ("group_loss", "group loss")]
#: Panel ④'s ``x`` box.
CAPACITY_MODES = [
    ("steps", "recovered vs step"),
    ("d", "sweep: vs d"),
    ("batch", "sweep: vs batch size"),
    ("n_items", "sweep: vs N"),
    ("mu", "sweep: alignment vs μ"),
    ("window", "sweep: sin Θ vs 2T − 1"),
    ("ray", "one-step ray: loss vs Δ"),
]
