"""What the bridge's traces say, lane by lane: run values, their spread over seeds, the claims and
the answers to the bridge's three questions (SCIENCE.md §9).

A run value is one seed's summary of a measured quantity over the steps past the buffer's first
window: the median for ratios of singular values, the mean for everything else.
"""

from __future__ import annotations

import numpy as np

from muonscope.engine.reproduce.base import Claim
from muonscope.engine.reproduce.bridge_traces import LaneTrace

__all__ = [
    "MEASURED",
    "RATIOS",
    "alignment_over_time",
    "bridge_answers",
    "bridge_claims",
    "past_first_window",
    "run_value",
    "seed_mean",
]


def past_first_window(trace: LaneTrace, window: int) -> np.ndarray:
    """Measured steps past the buffer's first window 1/(1 − μ): before it, a buffer started at M = 0
    has averaged fewer gradients than its window holds (bias-correcting its scale does not change that)."""
    return trace.paired > window


#: Quantities summarised over a run by their median: ratios of singular values swing over decades
#: when a minibatch gradient's head jumps, and one such step should not set a run's value.
RATIOS = ("head_ratio", "tail_ratio", "head_kept", "tail_kept", "gradient_head_to_signal")
#: What a run summary holds for each lane, besides the items recovered.
MEASURED = (
    "alignment",
    "normalised_alignment",
    "sin_theta",
    *RATIOS,
)


def run_value(trace: LaneTrace, quantity: str, window: int) -> float:
    """``quantity`` over the measured steps past the first window: its median for ratios, else its mean."""
    values = getattr(trace, quantity)
    chosen = values[past_first_window(trace, window) & np.isfinite(values)]
    if not chosen.size:
        return float("nan")
    return float(np.median(chosen) if quantity in RATIOS else chosen.mean())


def seed_mean(values: list[float]) -> float:
    """Mean over the seeds that measured a value (NaN when none did, e.g. no ratio for a lane)."""
    return float(_finite_mean(np.array(values, float)))


def _finite_mean(values: np.ndarray) -> np.ndarray:
    """Mean over axis 0 of the finite entries; NaN where none is (numpy's nanmean warns there)."""
    finite = np.isfinite(values)
    counts = finite.sum(axis=0)
    sums = np.where(finite, values, 0.0).sum(axis=0)
    return np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)


def seed_means(traces: list[list[LaneTrace]], quantity: str, window: int) -> dict[str, float]:
    """Each lane's run value of ``quantity``, averaged over seeds."""
    return {label: seed_mean(values) for label, values in per_lane(traces, quantity, window).items()}


def bridge_answers(traces: list[list[LaneTrace]], window: int) -> list[str]:
    """The three questions the bridge asks, answered with this run's seed means."""
    lanes = traces[0]
    aligned = seed_means(traces, "normalised_alignment", window)
    order = " > ".join(sorted(aligned, key=aligned.get, reverse=True))
    final = {
        lane.label: seed_mean([seed[i].recovered[-1] for seed in traces]) for i, lane in enumerate(lanes)
    }
    best, most = max(aligned, key=aligned.get), max(final, key=final.get)
    answers = [
        f"Alignment order A(D)/‖D‖₂ (seed means): {order}. The best-aligned lane "
        f"{'is' if best == most else 'is not'} the one that recovers the most items ({most})."
    ]
    answers.append(alignment_over_time(traces))
    for lane in lanes:
        if not lane.filters:
            continue
        head = seed_means(traces, "head_kept", window)[lane.label]
        tail = seed_means(traces, "tail_kept", window)[lane.label]
        raw = seed_means(traces, "gradient_head_to_signal", window)[lane.label]
        answers.append(
            f"{lane.label}: its buffer's singular values sit at {head:.2f}× the signal's in the head "
            f"(k ≤ r) and {tail:.2f}× in the tail, where its minibatch gradient's head sits at {raw:.2f}× "
            f"(seed means of run medians)."
        )
    return answers


def alignment_over_time(traces: list[list[LaneTrace]]) -> str:
    """Which lane leads in A(D)/‖D‖₂ over which steps, and each lane's seed mean of it and of sin Θ at
    the first, middle and last measured step: run means hid that pre-polar led early and fell below
    post-polar later, while sin Θ rose towards 1."""
    paired = traces[0][0].paired
    aligned, sines = (
        _seed_means_per_step(traces, "normalised_alignment"),
        _seed_means_per_step(traces, "sin_theta"),
    )
    measured = np.flatnonzero(np.isfinite(aligned).any(axis=0))  # steps some lane measured
    if not measured.size:
        return "Over time: no lane's alignment was measured."
    labels = [lane.label for lane in traces[0]]
    steps = [int(paired[i]) for i in measured]
    leaders = [_leader(aligned[:, i], labels) for i in measured]
    spans, first = [], 0
    for index in range(1, len(leaders) + 1):
        if index == len(leaders) or leaders[index] != leaders[first]:
            last = steps[index - 1]
            where = f"step {last}" if steps[first] == last else f"steps {steps[first]}–{last}"
            spans.append(f"{leaders[first]} at {where}")
            first = index
    picks = [measured[i] for i in sorted({0, len(measured) // 2, len(measured) - 1})]
    values = "; ".join(
        f"{label}: A {', '.join(_two_digits(aligned[row, i]) for i in picks)}, "
        f"sin Θ {', '.join(_two_digits(sines[row, i]) for i in picks)}"
        for row, label in enumerate(labels)
    )
    return (
        f"Over time (seed means of A(D)/‖D‖₂), the best aligned is {'; then '.join(spans)}. "
        f"At steps {', '.join(str(int(paired[i])) for i in picks)}: {values}."
    )


#: Lanes whose alignments differ by less than this share of the best one's tie (the three Muon lanes take
#: the same first update: their step-1 values differed in the 16th digit, and one was named the best).
TIE_SHARE = 1e-9


def _leader(values: np.ndarray, labels: list[str]) -> str:
    """The lane with the largest of ``values`` (NaN: not measured), or "a tie of X, Y" where several
    share it."""
    best = np.nanmax(values)
    tied = [
        label for label, value in zip(labels, values, strict=True) if value >= best - TIE_SHARE * abs(best)
    ]
    return tied[0] if len(tied) == 1 else f"a tie of {', '.join(tied)}"


def _two_digits(value: float) -> str:
    return f"{value:.2f}" if np.isfinite(value) else "—"


def _seed_means_per_step(traces: list[list[LaneTrace]], quantity: str) -> np.ndarray:
    """(lanes, T−1) mean over the seeds that measured ``quantity`` at each step; NaN where none did."""
    per_seed = np.array([[getattr(lane, quantity) for lane in seed] for seed in traces])  # (S, L, T−1)
    return _finite_mean(per_seed)


def _spread(values: list[float], fmt: str = ".3f") -> str:
    """Mean over seeds and the min–max range, e.g. ``0.912 (0.90–0.93, 3 seeds)``."""
    v = np.array(values, float)
    v = v[np.isfinite(v)]
    if not v.size:
        return "not measured"
    return f"{v.mean():{fmt}} ({v.min():{fmt}}–{v.max():{fmt}}, {v.size} seeds)"


def per_lane(
    traces: list[list[LaneTrace]], quantity: str, window: int, lanes: list[int] | None = None
) -> dict[str, list[float]]:
    """Each lane's run value (past the first window) of ``quantity``, one per seed."""
    lanes = range(len(traces[0])) if lanes is None else lanes
    return {
        traces[0][lane].label: [run_value(seed[lane], quantity, window) for seed in traces] for lane in lanes
    }


def _by_lane(values: dict[str, list[float]], fmt: str = ".3f") -> str:
    return "; ".join(f"{label}: {_spread(v, fmt)}" for label, v in values.items())


def bridge_claims(traces: list[list[LaneTrace]], window: int, tail: float) -> list[Claim]:
    """Every §9 claim, reported (not judged): nothing here is predicted by either paper."""
    return _filtering_claims(traces, window, tail) + _alignment_claims(traces, window)


def _filtering_claims(traces: list[list[LaneTrace]], window: int, tail: float) -> list[Claim]:
    """How much of the signal's head and tail each buffer (and the raw gradient) keeps."""
    filtering = [i for i in range(len(traces[0])) if traces[0][i].filters]
    rank = traces[0][0].rank  # the point's r, the same for every lane
    return [
        Claim(
            "§9",
            f"buffer's head against the signal's: σ_k(M)/σ_k(G_sig), k ≤ r = {rank} (median over k, then "
            f"over the steps past the first window T = {window})",
            _by_lane(per_lane(traces, "head_kept", window, filtering)),
            "≈ 1 if the buffer keeps the signal's head (exploratory)",
            None,
        ),
        Claim(
            "§9",
            f"the minibatch gradient's head against the signal's: σ_k(G)/σ_k(G_sig), k ≤ r = {rank}",
            _by_lane(per_lane(traces, "gradient_head_to_signal", window)),
            "> 1 where sampling noise inflates the head (exploratory)",
            None,
        ),
        Claim(
            "§9",
            f"buffer's tail against the signal's: σ_k(M)/σ_k(G_sig), k > r = {rank}",
            _by_lane(per_lane(traces, "tail_kept", window, filtering)),
            "≈ 1 if the buffer keeps the signal's tail (exploratory)",
            None,
        ),
        Claim(
            "§9",
            f"head filtering ratio: σ_k(M)/σ_k(G), k ≤ r = {rank}",
            _by_lane(per_lane(traces, "head_ratio", window, filtering)),
            "≈ 1 on Li et al.'s stream at low noise (exploratory)",
            None,
        ),
        Claim(
            "§9",
            "tail filtering ratio: median σ_k(M)/σ_k(G), r < k ≤ rank(G)",
            _by_lane(per_lane(traces, "tail_ratio", window, filtering)),
            f"1/√(2T−1) = {tail:.3f} for noise independent across steps (exploratory)",
            None,
        ),
    ]


def _alignment_claims(traces: list[list[LaneTrace]], window: int) -> list[Claim]:
    """How well each lane's update points along the signal, and whether that predicts recovery."""
    rank = traces[0][0].rank
    aligned = per_lane(traces, "normalised_alignment", window)
    final = {
        traces[0][lane].label: [float(seed[lane].recovered[-1]) for seed in traces]
        for lane in range(len(traces[0]))
    }
    muon = [i for i in range(len(traces[0])) if traces[0][i].optimizer == "muon"]
    raw = per_lane(traces, "alignment", window, muon)
    best_aligned = max(aligned, key=lambda label: seed_mean(aligned[label]))
    best_raw = max(raw, key=lambda label: seed_mean(raw[label]))
    most_recovered = max(final, key=lambda label: seed_mean(final[label]))
    return [
        Claim(
            "§9",
            "alignment with G_sig, A(D)/‖D‖₂ (= Li et al.'s A(D) for msgn updates)",
            _by_lane(aligned),
            "pre > none ≈ post, as on Li et al.'s stream (exploratory)",
            None,
        ),
        Claim(
            "§9",
            "Li et al.'s A(D), Muon lanes (post-polar's M̃ averages msgn(G) from M̃ = 0, so ‖M̃‖₂ ≤ 1 − μᵗ "
            "scales its A(D) down while the buffer warms up; the row above divides that out)",
            _by_lane(raw),
            "pre > post, none, post's lag partly its warm-up (exploratory)",
            None,
        ),
        Claim(
            "§9",
            f"sin Θ between the buffer's (or G's) and G_sig's top-{rank} left subspaces",
            _by_lane(per_lane(traces, "sin_theta", window)),
            "smaller for the pre-polar buffer (exploratory)",
            None,
        ),
        Claim(
            "§9",
            "the best-aligned lane recovers the most items at the end",
            f"best A(D)/‖D‖₂: {best_aligned}; best A(D) of the Muon lanes: {best_raw}; "
            f"most recovered: {most_recovered} ({_by_lane(final, '.0f')})",
            "the same lane (exploratory)",
            None,
        ),
    ]
