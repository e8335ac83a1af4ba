"""The bridge (preset 12, SCIENCE.md §9): Li et al.'s spectral-filter metrics on Kim et al.'s memory.

Minibatch training of the Zipf memory makes each step's gradient G_t = G_sig(W_t) + Ξ_t, with
G_sig the population gradient at the current W and Ξ_t the sampling noise of the batch: Li et
al.'s model, except that the signal moves as W learns and is not low-rank. Each seed is one sweep
point whose lanes (Muon pre, post and no momentum, and Adam) share one batch stream; every
``trace_every_steps`` steps the point computes G_sig exactly and measures the next step against it
(:class:`engine.sweep_point.SweepPoint` with ``trace_signal``). From those records this module
reads, per lane and over time: items recovered, the alignment A(D) = ⟨D, G_sig⟩/‖G_sig‖_* of the
update, sin Θ between the buffer's and G_sig's top-r left subspaces, and the filtering ratio
σ_k(M)/σ_k(G) next to σ_k(G_sig). Nothing here is predicted by either paper: every claim is
reported, not judged.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from muonscope.engine.config import ExperimentConfig, LaneConfig
from muonscope.engine.metrics import momentum_window
from muonscope.engine.optim.registry import OPTIMIZERS
from muonscope.engine.presets import load_preset
from muonscope.engine.reproduce.base import (
    Curve,
    CurveSet,
    Reproduction,
    Settings,
    find_lane,
    register,
    run_sweep,
)
from muonscope.engine.reproduce.bridge_summary import (
    MEASURED,
    bridge_answers,
    bridge_claims,
    past_first_window,
    run_value,
    seed_mean,
)
from muonscope.engine.reproduce.bridge_traces import NUMERICAL_ZERO, LaneTrace, lane_trace, signal_rank
from muonscope.engine.sweep import PointResult, SweepPoint

__all__ = [
    "SIZES",
    "SPECTRA_LANE",
    "BridgeSize",
    "bridge_points",
    "buffer_momentum",
    "reproduce_bridge",
]


@dataclass(frozen=True)
class BridgeSize:
    """One size of the reproduction: the memory, the run and the seeds (one sweep point each)."""

    d: int
    n_items: int
    steps: int
    trace_every_steps: int
    seeds: tuple[int, ...]


#: The lane whose spectra σ(G), σ(M), σ(G_sig) are kept at the chosen steps: the pre-polar buffer,
#: the one Li et al.'s filter is about.
SPECTRA_LANE = {"optimizer": "muon", "order": "pre"}

SIZES = {
    "ci": BridgeSize(d=64, n_items=4096, steps=60, trace_every_steps=10, seeds=(0, 1)),
    "full": BridgeSize(d=128, n_items=16384, steps=300, trace_every_steps=10, seeds=(0, 1, 2)),
}


def bridge_points(size: BridgeSize) -> list[SweepPoint]:
    """One traced point per seed: the bridge preset's lanes at ``size``, evaluated exactly with G_sig.

    The point's own evaluation and spectra cadences are switched off: its trace evaluates and
    measures exactly where the records need it, and nowhere else.
    """
    config = load_preset("bridge").config.with_values(
        [
            ("task.d", size.d),
            ("task.n_items", size.n_items),
            ("run.steps", size.steps),
            ("run.eval_every", 10**9),
            ("run.spectra_every", 10**6),
            ("run.exact_eval_items", size.n_items),
        ]
    )
    return [
        SweepPoint(
            config.with_value("task.seed", seed),
            size.steps,
            (("seed", seed),),
            trace_every_steps=size.trace_every_steps,
            trace_signal=True,
        )
        for seed in size.seeds
    ]


def buffer_momentum(lanes: Sequence[LaneConfig]) -> float:
    """The μ that every lane keeping a buffer shares: its window T = 1/(1 − μ) is the one the
    reproduction measures past and compares with. Lanes without a buffer have no say.

    Raises ValueError when those lanes disagree (no one window fits them) or there are none.
    """
    kept = {lane.label: lane.momentum for lane in lanes if OPTIMIZERS[lane.optimizer].buffer_convention(lane)}
    if len(set(kept.values())) != 1:
        raise ValueError(f"the bridge needs one μ shared by the lanes that keep a buffer; they have {kept}")
    return next(iter(kept.values()))


def _seed_traces(result: PointResult) -> list[LaneTrace]:
    config = result.point.config
    rank = signal_rank(config)
    return [lane_trace(record, lane, rank) for record, lane in zip(result.lanes, config.lanes, strict=True)]


# ---- the reproduction --------------------------------------------------------------------------


@register("bridge")
def bridge(settings: Settings) -> Reproduction:
    """Recovered items, alignment, sin Θ and filtering ratios over training, per lane and seed."""
    return reproduce_bridge(settings, SIZES["full" if settings.full else "ci"])


def reproduce_bridge(settings: Settings, size: BridgeSize) -> Reproduction:
    """The bridge at ``size`` (tests use sizes smaller than CI's)."""
    points = bridge_points(size)
    config = points[0].config
    mu = buffer_momentum(config.lanes)
    shown = find_lane(config.lanes, **SPECTRA_LANE)
    results = sorted(run_sweep(points, settings, "seeds"), key=lambda r: r.point.coord("seed"))
    seeds = [r.point.coord("seed") for r in results]
    traces = [_seed_traces(r) for r in results]  # [seed][lane]
    buffer = momentum_window(mu)
    window = round(buffer.steps)
    out = Reproduction("bridge", settings.size)
    marks = _recovery_marks(size)
    out.tables["over_time"] = _over_time_table(seeds, traces)
    out.tables["summary"], out.tables["summary_mean"] = _summary_tables(seeds, traces, marks, window)
    chosen = _spectrum_steps(traces[0][shown].paired, window)
    out.tables["spectra"] = _spectra_table(seeds, traces, chosen)
    setting = {"d": size.d, "n_items": size.n_items, "steps": size.steps, "seeds": len(seeds), "mu": mu}
    out.data += _over_time_curves(traces, setting, buffer.noise_kept)
    out.data += _spectrum_curves(traces, chosen, setting, buffer.noise_kept, shown)
    out.claims += bridge_claims(traces, window, buffer.noise_kept)
    out.notes += _notes(config, size, window)
    out.notes += bridge_answers(traces, window)
    return out


def _recovery_marks(size: BridgeSize) -> list[int]:
    """Trace steps at which recovery is tabulated: those nearest a third and two thirds, and the end."""
    every = size.trace_every_steps
    return [every * round(size.steps * share / (3 * every)) for share in (1, 2)] + [size.steps]


def _spectrum_steps(paired: np.ndarray, window: int) -> list[int]:
    """Three measured steps (first past the buffer's window, middle, last) where whole spectra are kept."""
    settled = paired[paired > window] if np.any(paired > window) else paired
    picks = {0, len(settled) // 2, len(settled) - 1} if len(settled) else set()
    return [int(settled[i]) for i in sorted(picks)]


def _recovered_at(trace: LaneTrace, step: int) -> float:
    hits = np.flatnonzero(trace.step == step)
    return float(trace.recovered[hits[0]]) if hits.size else float("nan")


def _lane_numbers(trace: LaneTrace, marks: list[int], window: int) -> dict[str, float]:
    """One seed's summary of a lane: recovered at the marks, run means of every measurement."""
    settled = past_first_window(trace, window)
    numbers = {f"recovered_t{step}": _recovered_at(trace, step) for step in marks}
    numbers.update({quantity: run_value(trace, quantity, window) for quantity in MEASURED})
    ranks = trace.gradient_rank[settled]
    numbers["gradient_rank"] = float(ranks.mean()) if ranks.size else float("nan")
    return numbers


def _summary_tables(
    seeds: list[int], traces: list[list[LaneTrace]], marks: list[int], window: int
) -> tuple[dict, dict]:
    """Per lane, each seed's numbers (integer seed column) and, in a table of their own, the seed means.

    Two tables keep every column one type, so the seed column joins with ``over_time``'s.
    """
    per_seed_table: dict[str, list] = defaultdict(list)
    mean_table: dict[str, list] = defaultdict(list)
    for lane in range(len(traces[0])):
        label = traces[0][lane].label
        per_seed = [_lane_numbers(seed_traces[lane], marks, window) for seed_traces in traces]
        for seed, numbers in zip(seeds, per_seed, strict=True):
            _append_row(per_seed_table, {"lane": label, "seed": int(seed), **numbers})
        means = {name: seed_mean([n[name] for n in per_seed]) for name in per_seed[0]}
        _append_row(mean_table, {"lane": label, "seeds": len(seeds), **means})
    return dict(per_seed_table), dict(mean_table)


def _append_row(table: dict[str, list], row: dict) -> None:
    for name, value in row.items():
        table[name].append(value)


def _over_time_table(seeds: list[int], traces: list[list[LaneTrace]]) -> dict:
    """Every seed, lane and trace step: recovered, and the measurements of the step that follows it."""
    table: dict[str, list] = defaultdict(list)
    for seed, seed_traces in zip(seeds, traces, strict=True):
        for trace in seed_traces:
            measured = {
                "paired_step": trace.paired,
                "alignment": trace.alignment,
                "normalised_alignment": trace.normalised_alignment,
                "sin_theta": trace.sin_theta,
                "head_ratio": trace.head_ratio,
                "tail_ratio": trace.tail_ratio,
                "head_kept": trace.head_kept,
                "tail_kept": trace.tail_kept,
                "gradient_head_to_signal": trace.gradient_head_to_signal,
                "gradient_rank": trace.gradient_rank.astype(float),
            }
            for i, step in enumerate(trace.step):
                table["seed"].append(seed)
                table["lane"].append(trace.label)
                table["step"].append(int(step))
                table["recovered"].append(float(trace.recovered[i]))
                for name, values in measured.items():
                    table[name].append(float(values[i]) if i < values.size else float("nan"))
    return dict(table)


def _spectra_table(seeds: list[int], traces: list[list[LaneTrace]], chosen: list[int]) -> dict:
    """σ_k of G_sig, G and M and their ratio at the chosen paired steps, every seed and lane."""
    table: dict[str, list] = defaultdict(list)
    for seed, seed_traces in zip(seeds, traces, strict=True):
        for trace in seed_traces:
            for step in chosen:
                i = int(np.flatnonzero(trace.paired == step)[0])
                for k in range(trace.s_gradient.shape[1]):
                    table["seed"].append(seed)
                    table["lane"].append(trace.label)
                    table["paired_step"].append(step)
                    table["k"].append(k + 1)
                    table["s_signal"].append(float(trace.s_signal[i, k]))
                    table["s_gradient"].append(float(trace.s_gradient[i, k]))
                    table["s_buffer"].append(float(trace.s_buffer[i, k]))
                    table["ratio"].append(float(trace.ratio[i, k]))
    return dict(table)


# ---- curves ------------------------------------------------------------------------------------


def _over_seeds(x: np.ndarray, rows: list[np.ndarray]) -> Curve:
    """Mean over seeds with the min–max spread, at the points every seed measured.

    A spectrum past a gradient's rank, or a ratio there, has no value: such points are left out
    rather than averaged over the seeds that happen to have them.
    """
    stack = np.array(rows, float)  # (seeds, points)
    kept = np.all(np.isfinite(stack), axis=0)
    stack = stack[:, kept]
    return Curve(np.asarray(x, float)[kept], stack.mean(0), stack.min(0), stack.max(0))


def _lane_curves(traces: list[list[LaneTrace]], quantity: str, lanes: list[int]) -> dict[str, Curve]:
    """One curve per lane of ``quantity`` over paired steps (or trace steps for ``recovered``)."""
    curves = {}
    for lane in lanes:
        first = traces[0][lane]
        x = first.step if quantity == "recovered" else first.paired
        curves[first.label] = _over_seeds(x, [getattr(seed[lane], quantity) for seed in traces])
    return curves


def _over_time_curves(traces: list[list[LaneTrace]], setting: dict, tail: float) -> list[CurveSet]:
    """Each lane's measures over the steps; ``tail`` = 1/√(2T−1): what a buffer keeps of independent noise."""
    every = list(range(len(traces[0])))
    filtering = [i for i in every if traces[0][i].filters]
    muon = [i for i in every if traces[0][i].optimizer == "muon"]
    x = traces[0][0].paired  # the point's measured steps, the same for every lane
    guide = {"1/√(2T−1)": Curve(x, np.full(x.size, tail))}  # what averaging leaves of independent noise
    return [
        CurveSet("recovered_over_steps", _lane_curves(traces, "recovered", every), setting=setting),
        CurveSet("alignment_over_steps", _lane_curves(traces, "alignment", muon), setting=setting),
        CurveSet(
            "normalised_alignment_over_steps",
            _lane_curves(traces, "normalised_alignment", every),
            setting=setting,
        ),
        CurveSet("sin_theta_over_steps", _lane_curves(traces, "sin_theta", every), setting=setting),
        CurveSet("head_ratio_over_steps", _lane_curves(traces, "head_ratio", filtering), guide, setting),
        CurveSet("head_kept_over_steps", _lane_curves(traces, "head_kept", filtering), setting=setting),
        CurveSet(
            "tail_ratio_over_steps",
            _lane_curves(traces, "tail_ratio", filtering),
            guide,
            setting,
        ),
    ]


def _spectrum_curves(
    traces: list[list[LaneTrace]], chosen: list[int], setting: dict, tail: float, shown: int
) -> list[CurveSet]:
    """At each chosen step: the spectra of lane ``shown``, and every filtering lane's ratio."""
    every = range(len(traces[0]))
    filtering = [i for i in every if traces[0][i].filters]
    out = []
    for step in chosen:
        i = int(np.flatnonzero(traces[0][shown].paired == step)[0])
        k = np.arange(1, traces[0][shown].s_gradient.shape[1] + 1, dtype=float)
        at_step = {
            **setting,
            "paired_step": step,
            "lane": traces[0][shown].label,
            "rank": traces[0][shown].rank,
            # where each lane's ratio curve ends: at its least rank(G) over the seeds
            "gradient_ranks": {
                traces[0][lane].label: int(min(seed[lane].gradient_rank[i] for seed in traces))
                for lane in filtering
            },
        }
        spectra = {
            "G_sig": _over_seeds(k, [seed[shown].s_signal[i] for seed in traces]),
            "G": _over_seeds(k, [_above_zero(seed[shown].s_gradient[i]) for seed in traces]),
            "M": _over_seeds(k, [seed[shown].s_buffer[i] for seed in traces]),
        }
        ratios = {
            traces[0][lane].label: _over_seeds(k, [seed[lane].ratio[i] for seed in traces])
            for lane in filtering
        }
        guide = {"1/√(2T−1)": Curve(k, np.full(k.size, tail))}
        out.append(CurveSet("spectra", spectra, setting=at_step))
        out.append(CurveSet("filtering_ratio", ratios, guide, at_step))
    return out


def _above_zero(values: np.ndarray) -> np.ndarray:
    """Singular values with the round-off ones (beyond the matrix's rank) as NaN: not drawn."""
    return np.where(values > NUMERICAL_ZERO * values[0], values, np.nan)


def _notes(config: ExperimentConfig, size: BridgeSize, window: int) -> list[str]:
    lanes = ", ".join(
        f"{lane.label} (lr {lane.lr:g}" + (f", β2 {lane.beta2:g})" if lane.optimizer == "adam" else ")")
        for lane in config.lanes
    )
    return [
        f"Measured: zipf memory d = {size.d}, N = {size.n_items}, α = {config.task.alpha:g}, "
        f"B = {config.task.batch_size}, {size.steps} steps, seeds {', '.join(map(str, size.seeds))}; "
        f"lanes {lanes}. Every {size.trace_every_steps} steps the population gradient G_sig(W_t) is "
        "computed exactly and step t → t + 1 is measured against it. A run's value is the mean over the "
        f"measured steps past the buffer's first window (t + 1 > {window}); for ratios of singular values "
        "(medians over k within each step) it is their median over those steps, as one step whose "
        "minibatch head jumps moves a ratio by decades.",
        "The filtering ratio σ_k(M)/σ_k(G) is shown only for lanes whose buffer averages raw gradients "
        "(Muon pre, Adam's first moment): the post-polar buffer averages msgn(G_t), whose singular values "
        "are not a filtered σ_k(G), and the lane without momentum has no buffer. Buffers are read on the "
        "bias-corrected EMA scale, M/(1 − μ^t) as Adam's m̂.",
        "A minibatch of B draws holds fewer than B distinct items, so G has that rank at most (column "
        "gradient_rank): σ_k(G) beyond it is round-off and the tail ratio is read over r < k ≤ rank(G) only. "
        "Just below rank(G), σ_k(G) nears zero and σ_k(M)/σ_k(G) grows by decades wherever the buffer "
        "keeps those directions (Adam's, in the filtering-ratio figure): the tail ratio is a median over k "
        "so that these few directions do not decide it.",
        "G_sig of the memory is not low-rank: its spectrum falls off smoothly, so the head (k ≤ r) is a "
        "convention (r as for the gap and sin Θ), not a signal rank; G_sig also moves as W learns, so the "
        "buffer averages gradients of recent W's (a bias the stationary theory does not have).",
        "Adam's update m̂/(√v̂ + ε) is not of unit spectral norm, so Li et al.'s A(D) is not comparable "
        "across optimizers; A(D)/‖D‖₂ ∈ [−1, 1] is, and equals A(D) for Muon's pre and no-momentum updates.",
    ]
