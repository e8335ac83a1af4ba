"""Preset 3: Kim et al.'s multi-step recovery, n_rec(t) of the thresholded and exact dynamics of
:mod:`engine.reproduce.multistep_dynamics` against the conjectured d_t, at two sizes and under other
constants. Exploratory: reported, not judged.
"""

from __future__ import annotations

import itertools
from collections import defaultdict

import numpy as np

from muonscope.engine.recovery_law import recovery_target
from muonscope.engine.reproduce.base import (
    CPU_FLOAT64,
    Claim,
    Curve,
    CurveSet,
    Reproduction,
    Settings,
    loglog_slope,
    register,
)
from muonscope.engine.reproduce.multistep_dynamics import (
    Constants,
    Dynamics,
    MultiStepRun,
    head_recovered_loss,
    run_multistep,
)

__all__ = ["CONSTANT_VARIANTS", "STEPS", "multi_step_recovery", "multistep_lanes"]

ALPHA = 1.5
STEPS = 8
#: The law is compared with the measurement over these steps (SCIENCE.md §11.13).
COMPARED_STEPS = (1, 2, 3, 4)
#: n_rec(t)/d_t within [1/FACTOR, FACTOR] at every compared step is "following the law".
FACTOR = 2.0
BATCH = 4096
SEEDS = (0, 1, 2)
#: (eta_scale, lam_scale) pairs also run, at the smallest d only: the constants behind the "≍".
#: (d, 1/d) is the literal law read in units where embeddings are N(0, I_d) rather than N(0, I_d/d).
CONSTANT_VARIANTS = ((0.25, 1.0), (4.0, 1.0), (1.0, 0.1), (1.0, 10.0), ("d", "1/d"))


def multistep_lanes(batch_size: int) -> tuple[Dynamics, ...]:
    """Muon-reg thresholded / exact at B = ∞ and at ``batch_size``; GD thresholded / exact at B = ∞."""
    return (
        Dynamics("muon_reg", True, 0),
        Dynamics("muon_reg", False, 0),
        Dynamics("muon_reg", True, batch_size),
        Dynamics("muon_reg", False, batch_size),
        Dynamics("gd", True, 0),
        Dynamics("gd", False, 0),
    )


def n_items_for(d: int) -> int:
    """N = max(2d², 2048): room for the d² limit, and N ≲ 2⁹·d (SCIENCE.md §5: larger N degrades Muon)."""
    return max(2 * d * d, 2048)


def _targets(run: MultiStepRun, lane: Dynamics) -> np.ndarray:
    steps = run.recovered[lane.name].shape[1]
    return np.array(
        [recovery_target(run.d, run.alpha, t, run.n_items, lane.batch_size) for t in range(steps)]
    )


def ratios(run: MultiStepRun, lane: Dynamics) -> np.ndarray:
    """Seed-mean n_rec(t) / d_t for t = 0..steps (t = 0 is 0: nothing is recovered at W = 0)."""
    return run.recovered[lane.name].mean(axis=0) / _targets(run, lane)


def _curve_set(run: MultiStepRun) -> CurveSet:
    t = np.arange(run.recovered[run.lanes[0].name].shape[1], dtype=float)
    curves = {
        name: Curve(t, counts.mean(axis=0), counts.min(axis=0), counts.max(axis=0))
        for name, counts in run.recovered.items()
    }
    law = np.array([recovery_target(run.d, run.alpha, int(k), run.n_items, 0) for k in t[1:]])
    capped = np.array([recovery_target(run.d, run.alpha, int(k), run.n_items, BATCH) for k in t[1:]])
    setting = {
        "d": run.d,
        "n_items": run.n_items,
        "alpha": run.alpha,
        "batch_size": BATCH,
        "seeds": run.seeds,
    }
    theory = {"d_t": Curve(t[1:], law), "d_t_batch": Curve(t[1:], capped)}  # B = ∞; B = BATCH: ≤ B^(1/α)
    return CurveSet("recovered_over_steps", curves, theory, setting)


def _loss_curve_set(run: MultiStepRun, recovered: CurveSet) -> CurveSet:
    """L(W_t) per lane over t = 0..steps (mean and range over seeds), against the loss the law's d_t
    items would leave, log N·Σ_{i>d_t} p_i, at B = ∞ and at B = BATCH."""
    t = np.arange(run.recovered[run.lanes[0].name].shape[1], dtype=float)
    curves = {
        name: Curve(t, losses.mean(axis=0), losses.min(axis=0), losses.max(axis=0))
        for name, losses in run.loss.items()
    }
    theory = {
        name: Curve(law.x, np.array([head_recovered_loss(n, run.alpha, run.n_items) for n in law.y]))
        for name, law in recovered.theory.items()
    }
    return CurveSet("loss_over_steps", curves, theory, recovered.setting)


def _add_rows(table: dict[str, list], run: MultiStepRun, extra: dict | None = None) -> None:
    for lane in run.lanes:
        counts, loss = run.recovered[lane.name], run.loss[lane.name]
        for t, (target, ratio) in enumerate(zip(_targets(run, lane), ratios(run, lane), strict=True)):
            for key, value in (extra or {}).items():
                table[key].append(value)
            table["d"].append(run.d)
            table["lane"].append(lane.name)
            table["batch_size"].append(lane.batch_size)
            table["step"].append(t)
            table["recovered"].append(float(counts[:, t].mean()))
            table["recovered_min"].append(int(counts[:, t].min()))
            table["recovered_max"].append(int(counts[:, t].max()))
            table["target"].append(target)
            table["ratio"].append(float(ratio))
            table["loss"].append(float(loss[:, t].mean()))
            table["loss_bound"].append(target ** (1.0 - run.alpha))  # d_t^{1−α}, constants dropped
            table["loss_at_target"].append(head_recovered_loss(target, run.alpha, run.n_items))


def _claim(run: MultiStepRun) -> Claim:
    """Thresholded Muon-reg's n_rec(t)/d_t at t = 1..4 for each B: reported, not judged."""
    measured, within = [], []
    for lane in run.lanes:
        if lane.optimizer == "muon_reg" and lane.thresholded:
            r = ratios(run, lane)[list(COMPARED_STEPS)]
            within.append(bool(np.all((r >= 1 / FACTOR) & (r <= FACTOR))))
            measured.append(f"{lane.name}: " + ", ".join(f"{x:.2f}" for x in r))
    return Claim(
        "§11.13",
        f"thresholded Muon-reg (η = √d, λ_t = d_{{t+1}}^(−α)·√d), d = {run.d}, N = {run.n_items}: "
        f"n_rec(t)/d_t at t = 1–4, d_t = min(d^(2−(1−1/(2α))^t), B^(1/α), N); exploratory, "
        f"{'every ratio' if all(within) else 'not every ratio'} within a factor {FACTOR:g}",
        "; ".join(measured),
        f"each in [{1 / FACTOR:g}, {FACTOR:g}] if the law held with constant 1",
        None,
    )


def _slope_claim(runs: list[MultiStepRun]) -> Claim:
    """How n_rec(t) grows with d at each t, against the law's exponent 2 − (1 − 1/(2α))^t: reported.

    A law right up to a constant factor (even one that depends on t) has this slope.
    """
    dims = [run.d for run in runs]
    alpha = runs[0].alpha
    measured = []
    for lane in runs[0].lanes:
        if lane.optimizer == "muon_reg" and lane.batch_size == 0:
            means = [[run.recovered[lane.name].mean(axis=0)[t] for run in runs] for t in COMPARED_STEPS]
            slopes = ", ".join(f"{loglog_slope(dims, y):.2f}" for y in means)
            measured.append(f"{lane.name}: {slopes}")
    exponents = ", ".join(f"{2.0 - (1.0 - 1.0 / (2.0 * alpha)) ** t:.2f}" for t in COMPARED_STEPS)
    return Claim(
        "§11.13",
        f"log-log slope of seed-mean n_rec(t) over d ∈ {{{', '.join(map(str, dims))}}}, t = 1–4; exploratory",
        "; ".join(measured),
        f"2 − (1 − 1/(2α))^t = {exponents}",
        None,
    )


def _variant(d: int, eta: float | str, lam: float | str) -> Constants:
    return Constants(float(d) if eta == "d" else float(eta), 1.0 / d if lam == "1/d" else float(lam))


class _LaneCounter:
    """Reports each lane run (one lane, one seed) as one unit of the reproduction's progress."""

    def __init__(self, settings: Settings, total: int) -> None:
        self.settings, self.total, self.done = settings, total, 0

    def __call__(self, text: str) -> None:
        self.settings.report(self.done, self.total, text)
        self.done += 1


VARIANT_LANES = (Dynamics("muon_reg", True, 0), Dynamics("muon_reg", False, 0))


def _variants_table(d: int, progress: _LaneCounter) -> dict[str, list]:
    """Thresholded and exact Muon-reg at B = ∞ under the other constants, one seed (seed 0)."""
    table = defaultdict(list)
    for eta, lam in CONSTANT_VARIANTS:
        constants = _variant(d, eta, lam)
        run = run_multistep(d, n_items_for(d), ALPHA, STEPS, VARIANT_LANES, (0,), constants, progress)
        _add_rows(table, run, {"eta_scale": constants.eta_scale, "lam_scale": constants.lam_scale})
    return dict(table)


@register("multi_step_recovery")
def multi_step_recovery(settings: Settings) -> Reproduction:
    """n_rec(t) of thresholded and exact minibatch dynamics against d_t (SCIENCE.md §5, §11.13).

    Full size d ∈ {64, 128}, CI size d = 32, both with N = max(2d², 2048), α = 1.5, B ∈ {∞, 4096},
    8 steps, seeds 0–2, literal constants (η = √d, λ_t = d_{t+1}^{−α}√d); the constant variants run
    at the smallest d on seed 0. Exploratory: with the literal constants the thresholded dynamics
    fall short of d_t by more than a factor of two at some t ≤ 4 at both full sizes (at B = ∞ by
    8–25× at t = 2–4; the notes hold the counts), so §11.13 is reported, not judged.
    """
    dims = (64, 128) if settings.full else (32,)
    out = Reproduction("multi_step_recovery", settings.size)
    out.computed_with(CPU_FLOAT64)  # run_multistep's own loop
    table: dict[str, list] = defaultdict(list)
    lanes = multistep_lanes(BATCH)
    progress = _LaneCounter(
        settings, len(dims) * len(SEEDS) * len(lanes) + len(CONSTANT_VARIANTS) * len(VARIANT_LANES)
    )
    runs = []
    for d in dims:
        run = run_multistep(d, n_items_for(d), ALPHA, STEPS, lanes, SEEDS, progress=progress)
        recovered = _curve_set(run)
        out.data.extend([recovered, _loss_curve_set(run, recovered)])
        _add_rows(table, run)
        out.claims.append(_claim(run))
        runs.append(run)
    if len(runs) > 1:
        out.claims.append(_slope_claim(runs))
    out.tables["multi_step"] = dict(table)
    out.tables["constants"] = _variants_table(dims[0], progress)
    out.notes.extend(_notes(out.tables["multi_step"], out.tables["constants"]))
    return out


def _row_text(table: dict[str, list], **where) -> str:
    rows = [i for i in range(len(table["d"])) if all(table[k][i] == v for k, v in where.items())]
    return ", ".join(f"{table['recovered'][i]:.0f}" for i in rows)


def _loss_note(table: dict[str, list], d: int) -> str:
    """Each lane's L(W_T) at the last step against the loss its law's d_T items would leave."""
    last = [i for i in range(len(table["d"])) if table["d"][i] == d and table["step"][i] == STEPS]
    measured = "; ".join(f"{table['lane'][i]}: {table['loss'][i]:.3g}" for i in last)
    at_target = {f"{table['loss_at_target'][i]:.3g}" for i in last}  # one per batch cap
    return (
        f"d = {d}, seed-mean population loss L(W_{STEPS}): {measured}. The law's d_{STEPS} recovered at "
        f"no loss with the rest at chance would leave log N·Σ_(i>d_t) p_i = {' or '.join(sorted(at_target))} "
        "(B = ∞ or capped): the Õ(d_t^(1−α)) bound's form with a constant [I]."
    )


def _forgetting_note(table: dict[str, list], d: int) -> str:
    """The lanes whose seed-mean n_rec falls from one step to the next, with the largest fall and the
    loss across it; "" where none does. The law's d_t only grows: it counts an item recovered once as
    recovered for good, and these dynamics (exact as well as thresholded) lose some again."""
    fallen = []
    for lane in dict.fromkeys(table["lane"]):
        rows = [i for i in range(len(table["d"])) if table["d"][i] == d and table["lane"][i] == lane]
        falls = [(a, b) for a, b in itertools.pairwise(rows) if table["recovered"][b] < table["recovered"][a]]
        if not falls:
            continue
        a, b = max(falls, key=lambda pair: table["recovered"][pair[0]] - table["recovered"][pair[1]])
        fallen.append(
            f"{lane}: at {len(falls)} of {len(rows) - 1} steps, most from {table['recovered'][a]:.1f} to "
            f"{table['recovered'][b]:.1f} at t = {table['step'][b]} (loss {table['loss'][a]:.3g} → "
            f"{table['loss'][b]:.3g})"
        )
    if not fallen:
        return ""
    return (
        f"d = {d}, items recovered are lost again: seed-mean n_rec falls — {'; '.join(fallen)}. The "
        "law's d_t only grows (an item recovered once counts as recovered for good)."
    )


def _notes(table: dict[str, list], variants: dict[str, list]) -> list[str]:
    """What was run and what it measured, in numbers, for the summary."""
    notes = [
        "Exploratory (not judged). Dynamics of Kim et al.'s conjecture [S]: minibatch gradient "
        "G_t = −∇L(W_t; 𝔅_t) (B = ∞: population), W_{t+1} = W_t + η·h_{λ_t}(G_t), η = √d, "
        "λ_t = d_{t+1}^(−α)·√d with d_{t+1} capped by B^(1/α) and N. 'Thresholded' removes the items "
        "recovered (strict argmax) at W_t from the minibatch before the gradient; 'exact' keeps them. "
        "Both dynamics see the same seeded minibatches. GD: fixed lr η/‖∇L(0)‖₂.",
    ]
    for d in dict.fromkeys(table["d"]):
        lanes = dict.fromkeys(lane for lane, dd in zip(table["lane"], table["d"], strict=True) if dd == d)
        text = "; ".join(f"{lane}: {_row_text(table, d=d, lane=lane)}" for lane in lanes)
        notes.append(f"d = {d}, seed-mean n_rec(t), t = 0..{STEPS}: {text}.")
        notes.append(_loss_note(table, d))
        forgetting = _forgetting_note(table, d)
        if forgetting:
            notes.append(forgetting)
    d0 = variants["d"][0]
    text = "; ".join(
        f"η = {eta:g}·√d, λ scale {lam:.3g}: thresholded "
        f"{_row_text(variants, eta_scale=eta, lam_scale=lam, lane=Dynamics('muon_reg', True).name)}"
        f" / exact {_row_text(variants, eta_scale=eta, lam_scale=lam, lane=Dynamics('muon_reg', False).name)}"
        for eta, lam in dict.fromkeys(zip(variants["eta_scale"], variants["lam_scale"], strict=True))
    )
    notes.append(f"Other constants, d = {d0}, B = ∞, seed 0, n_rec(t) t = 0..{STEPS}: {text}.")
    return notes
