"""The reference scenario's own claim: pre-polar Muon leads the race early (the default preset)."""

from __future__ import annotations

import numpy as np

from muonscope.engine.experiment import Experiment
from muonscope.engine.presets import load_preset
from muonscope.engine.reproduce.base import (
    Claim,
    Curve,
    CurveSet,
    Reproduction,
    Settings,
    find_lane,
    register,
)


@register("default")
def default(settings: Settings) -> Reproduction:
    """Items recovered every 10 steps over the first 50 (300 with --full) on shared minibatches."""
    config = load_preset("default").config
    steps = 300 if settings.full else 50
    experiment = Experiment(config.with_values([("run.spectra_every", 10**9), ("run.eval_every", 10)]))
    t, counts = [0], [[lane.recovered for lane in experiment.snapshot().lanes]]
    while experiment.step_count < steps:
        experiment.step(10)
        t.append(experiment.step_count)
        counts.append([lane.recovered for lane in experiment.snapshot().lanes])
        settings.report(experiment.step_count, steps, "default race")
    lanes = experiment.snapshot().lanes
    labels = [lane.label for lane in lanes]
    counts = np.array(counts)  # (checkpoints, lanes)
    muon = find_lane(lanes, optimizer="muon", order="pre")
    early = counts[1:6]  # steps 10..50
    leads = bool(np.all(early[:, muon] > np.delete(early, muon, axis=1).max(axis=1)))
    out = Reproduction("default", settings.size)
    out.claims.append(
        Claim(
            "preset",
            "Muon (pre-polar) recovers more items than every other lane at steps 10–50",
            ", ".join(
                f"t={t[i]}: {early[i - 1, muon]} vs ≤ {np.delete(early[i - 1], muon).max()}"
                for i in range(1, 6)
            ),
            "Muon ahead at each",
            leads,
        )
    )
    curves = {label: Curve(np.array(t, float), counts[:, i].astype(float)) for i, label in enumerate(labels)}
    out.data.append(CurveSet("recovered_over_steps", curves))
    out.tables["race"] = {
        "step": [s for s in t for _ in labels],
        "lane": labels * len(t),
        "recovered": counts.ravel().tolist(),
    }
    return out
