"""A bridge point's lane records read as arrays over time (the measurements of :mod:`.bridge`).

A point traced with the signal (:class:`engine.sweep_point.SweepPoint` with ``trace_signal``) keeps,
per lane, lists over its trace steps; here they become a :class:`LaneTrace`: the buffer's spectrum
on the bias-corrected EMA scale, and the head and tail medians of σ_k(M)/σ_k(G) and of the spectra
against the population gradient G_sig.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from muonscope.engine.config import ExperimentConfig, LaneConfig
from muonscope.engine.metrics import filtering_ratio
from muonscope.engine.optim.registry import OPTIMIZERS
from muonscope.engine.task_kinds import TASK_KINDS

__all__ = ["NUMERICAL_ZERO", "LaneTrace", "averages_gradients", "lane_trace", "signal_rank"]

#: Singular values of the minibatch gradient below this fraction of its largest are round-off: a
#: batch of B draws holds fewer than B distinct items, so G has at most that rank and σ_k(G) = 0 beyond.
NUMERICAL_ZERO = 1e-10


def averages_gradients(lane: LaneConfig) -> bool:
    """Whether the lane's buffer is an average of raw gradients, the matrix σ(M)/σ(G) is about.

    A post-polar buffer averages msgn(G_t): its singular values are those of an average of partial
    isometries, not a filtered G, so dividing them by σ_k(G) compares unlike things. A lane without
    momentum has no buffer. The registry decides, as it does for the engine's own filtering ratio.
    """
    return lane.momentum > 0 and OPTIMIZERS[lane.optimizer].gradient_average_scale(lane) is not None


@dataclass(frozen=True)
class LaneTrace:
    """One lane of one seed over time.

    ``step`` (T,) are the trace steps, where ``recovered`` is counted; every other array has one
    entry per trace step but the last, measured on the step ``paired`` = t + 1 against G_sig(W_t).
    Spectra are (T−1, k) with NaN where a matrix has no k-th singular value (or the lane no buffer).
    """

    label: str
    optimizer: str
    filters: bool
    step: np.ndarray  # (T,)
    recovered: np.ndarray  # (T,)
    paired: np.ndarray  # (T−1,)
    alignment: np.ndarray  # (T−1,) A(D), Li et al.'s definition
    normalised_alignment: np.ndarray  # (T−1,) A(D)/‖D‖₂ = ⟨D/‖D‖₂, G_sig⟩/‖G_sig‖_* ∈ [−1, 1]
    sin_theta: np.ndarray  # (T−1,)
    s_signal: np.ndarray  # (T−1, k) σ_k(G_sig)
    s_gradient: np.ndarray  # (T−1, k) σ_k(G), minibatch
    s_buffer: np.ndarray  # (T−1, k) σ_k(M), bias-corrected EMA scale; NaN for lanes that do not filter G
    rank: int  # r

    @property
    def gradient_rank(self) -> np.ndarray:
        """(T−1,) numerical rank of each minibatch gradient: how far its spectrum is defined."""
        top = self.s_gradient[:, :1]
        return np.sum(self.s_gradient > NUMERICAL_ZERO * top, axis=1)

    @property
    def ratio(self) -> np.ndarray:
        """(T−1, k) σ_k(M)/σ_k(G) where σ_k(G) is above round-off; NaN elsewhere and without a filter."""
        rows = zip(self.s_buffer, self.s_gradient, strict=True)
        return np.array([filtering_ratio(m, g, NUMERICAL_ZERO) for m, g in rows]).reshape(
            self.s_gradient.shape
        )

    @property
    def head_ratio(self) -> np.ndarray:
        """(T−1,) median of σ_k(M)/σ_k(G) over k ≤ r: how much of the gradient's head the buffer keeps."""
        return _row_median(self.ratio[:, : self.rank])

    @property
    def tail_ratio(self) -> np.ndarray:
        """(T−1,) median of σ_k(M)/σ_k(G) over r < k ≤ rank(G): how much of the rest it keeps."""
        return _row_median(self.ratio[:, self.rank :])

    @property
    def head_kept(self) -> np.ndarray:
        """(T−1,) median of σ_k(M)/σ_k(G_sig) over k ≤ r: the buffer's head against the signal's."""
        return _row_median(self._to_signal(self.s_buffer)[:, : self.rank])

    @property
    def tail_kept(self) -> np.ndarray:
        """(T−1,) median of σ_k(M)/σ_k(G_sig) over k > r: the buffer's tail against the signal's."""
        return _row_median(self._to_signal(self.s_buffer)[:, self.rank :])

    @property
    def gradient_head_to_signal(self) -> np.ndarray:
        """(T−1,) median of σ_k(G)/σ_k(G_sig) over k ≤ r: the minibatch gradient's head against G_sig's."""
        return _row_median(self._to_signal(self.s_gradient)[:, : self.rank])

    def _to_signal(self, spectra: np.ndarray) -> np.ndarray:
        """(T−1, k) σ_k(X)/σ_k(G_sig), NaN where G_sig has no k-th singular value."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(self.s_signal > 0, spectra / self.s_signal, np.nan)


def _row_median(values: np.ndarray) -> np.ndarray:
    """Row medians over finite entries; NaN for a row with none."""
    out = np.full(values.shape[0], np.nan)
    for i, row in enumerate(values):
        live = row[np.isfinite(row)]
        if live.size:
            out[i] = np.median(live)
    return out


def _numbers(values: list) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in values], float)


def _spectra(rows: list[list], width: int) -> np.ndarray:
    """Lists of singular values (some empty or with None) as a (len(rows), width) array, NaN-padded."""
    out = np.full((len(rows), width), np.nan)
    for i, row in enumerate(rows):
        values = _numbers(row)[:width]
        out[i, : values.size] = values
    return out


def lane_trace(record: dict, lane: LaneConfig, rank: int) -> LaneTrace:
    """A traced point's lane record as arrays, the buffer's spectrum on the bias-corrected EMA scale.

    A ``sum`` buffer μM + G is 1/(1−μ) times the EMA of the same gradients, and an EMA started at
    M = 0 holds only 1 − μ^t of its weight after t steps (Adam's m̂ divides it out; Li et al. call it
    c_sig): both are divided out, so that a ratio of 1 means "keeps this direction whole" from the
    first step and whatever the convention.
    """
    measured = len(record["trace_step"]) - 1  # the last trace step has no step after it
    width = max((len(s) for s in record["gradient_spectrum_trace"]), default=0)
    filters = averages_gradients(lane)
    buffer = _spectra(record["momentum_spectrum_trace"][:measured], width)
    paired = _numbers(record["signal_trace_step"][:measured])
    buffer *= _buffer_scale(lane, paired)[:, None]
    if not filters:
        buffer[:] = np.nan
    alignment = _numbers(record["alignment_trace"][:measured])
    update = _spectra(record["update_spectrum_trace"][:measured], width)
    with np.errstate(divide="ignore", invalid="ignore"):
        normalised = alignment / update[:, 0]
    return LaneTrace(
        label=record["label"],
        optimizer=lane.optimizer,
        filters=filters,
        step=np.array(record["trace_step"], float),
        recovered=_numbers(record["recovered_trace"]),
        paired=paired,
        alignment=alignment,
        normalised_alignment=normalised,
        sin_theta=_numbers(record["sin_theta_trace"][:measured]),
        s_signal=_spectra(record["signal_spectrum_trace"][:measured], width),
        s_gradient=_spectra(record["gradient_spectrum_trace"][:measured], width),
        s_buffer=buffer,
        rank=rank,
    )


def _buffer_scale(lane: LaneConfig, steps: np.ndarray) -> np.ndarray:
    """(len(steps),) factor taking the buffer after ``steps`` steps to the bias-corrected EMA of G."""
    mu = lane.momentum
    convention = OPTIMIZERS[lane.optimizer].gradient_average_scale(lane) or 1.0
    with np.errstate(divide="ignore"):
        return convention / (1.0 - mu**steps)


def signal_rank(config: ExperimentConfig) -> int:
    """r of the head/tail split, sin Θ and the gap: ``run.signal_rank`` or the task kind's own (zipf: 10)."""
    if config.run.signal_rank:
        return config.run.signal_rank
    own_rank = TASK_KINDS[config.task.kind].signal_rank
    if own_rank is None:
        raise ValueError(f"a {config.task.kind} task's rank comes from its drawn groups: set run.signal_rank")
    return own_rank(config.task)
