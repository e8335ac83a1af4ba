"""Axis ranges that only grow, snapped to round numbers, so animated plots never jitter."""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np

from muonscope.widgets.number_text import PLAIN_DECADES, power_text

__all__ = [
    "StableRange",
    "linear_labels",
    "log_label",
    "log_labels_as_powers",
    "log_tick_sets",
    "log_ticks",
    "nice_ceiling",
    "show_steps",
    "step_axis_end",
    "tick_freely",
    "tick_whole_numbers_if_short",
]


def nice_ceiling(value: float) -> float:
    """The smallest of 1, 2, 5 × 10^k that is ≥ value (value > 0)."""
    if value <= 0:
        return 1.0
    exponent = math.floor(math.log10(value))
    for mantissa in (1.0, 2.0, 5.0, 10.0):
        candidate = mantissa * 10.0**exponent
        if candidate >= value * (1 - 1e-12):
            return candidate
    return 10.0 ** (exponent + 1)


#: Where a step axis may end, per decade: close enough that a finished run fills most of its plot
#: (300 steps end at 350, not 500), few enough that a playing run rescales about ten times a decade.
_STEP_AXIS_MANTISSAS = (1.0, 1.2, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0, 5.0, 6.0, 7.0, 8.0, 10.0)
#: Room kept past the newest step, so that the run is not drawn against the plot's edge.
_STEP_AXIS_HEADROOM = 1.05
_STEP_AXIS_MIN = 10.0
#: The least end of a step axis that ends with its run (steps are ticked whole there: show_steps).
_RUN_AXIS_MIN = 2.0
#: A step axis that ends with its run keeps room past the last step for half its label, a share of
#: the run per digit of it (and at least the first): pyqtgraph leaves out a tick label that would
#: cross the plot's edge, and "80" at the very end of 0–80 went missing, "60000" at the end of
#: 0–61,500 and "100000" at the end of 0–105,000 in a 390-pixel panel.
_RUN_END_ROOM_PER_DIGIT = 0.01
_RUN_END_ROOM_LEAST = 0.025


def step_axis_end(step: float, run_length: int | None = None) -> float:
    """The end of a step axis that shows ``step``: the next round number a little past it, or the
    run's length where the run ends before that (a 300-step run paused at its end showed 0–350,
    and an 80-step picture 0–100, a fifth of each plot empty).

    Every plot over steps (② and ④, the timeline) grows to the same ends, so their ticks line up.
    """
    wanted = max(step * _STEP_AXIS_HEADROOM, _STEP_AXIS_MIN)
    decade = 10.0 ** math.floor(math.log10(wanted))
    end = next(m * decade for m in _STEP_AXIS_MANTISSAS if m * decade >= wanted * (1 - 1e-12))
    if run_length is not None and 0 < run_length and step <= run_length:
        # at least two steps: a one-step run's axis over 0–1.025 had no room past its step, and a
        # floor of ten left its step in the first tenth of every plot
        room = max(_RUN_END_ROOM_LEAST, _RUN_END_ROOM_PER_DIGIT * len(str(int(run_length))))
        return min(end, max(run_length * (1 + room), _RUN_AXIS_MIN))
    return end


#: A step (or index) axis that ends at or below this is ticked at whole numbers only: over 0–2 (a
#: one-step run) pyqtgraph ticked fifths of a step, which no run can stand on, and ① ticked σ_k at
#: k = 1.5, 2.5, … for a spectrum of six values.
_WHOLE_STEP_TICKS_UP_TO = 12.0


def show_steps(plot, end: float) -> None:
    """Show steps 0…``end`` on ``plot``'s x axis (a pyqtgraph PlotItem), at whole steps where the
    axis is short; see :func:`tick_freely` for an axis that shows something else again."""
    plot.setXRange(0, end, padding=0)
    tick_whole_numbers_if_short(plot, end)


def tick_whole_numbers_if_short(plot, end: float) -> None:
    """Tick ``plot``'s x axis at whole numbers only where it ends at or below _WHOLE_STEP_TICKS_UP_TO."""
    if end <= _WHOLE_STEP_TICKS_UP_TO:
        plot.getAxis("bottom").setTickSpacing(1, 1)
    else:
        tick_freely(plot)


def tick_freely(plot) -> None:
    """Let ``plot``'s x axis choose its ticks again (a sweep's or a rank axis after a short step axis)."""
    plot.getAxis("bottom").setTickSpacing()


class StableRange:
    """An expand-only [lo, hi] range; on log axes in decades snapped to halves.

    ``update`` returns the new range only when it had to grow, so callers touch the axis rarely.
    With ``shrink_after`` frames, :meth:`settle` also lets it shrink back to what the recent frames
    drew (see there); without, it never shrinks until :meth:`reset`.
    """

    def __init__(
        self,
        log: bool = False,
        floor: float | None = None,
        ceiling: float | None = None,
        shrink_after: int | None = None,
    ) -> None:
        self.log = log
        self.floor = floor
        self.ceiling = ceiling
        self.shrink_after = shrink_after
        self.lo: float | None = None
        self.hi: float | None = None
        self._recent: tuple[float, float] | None = None  # what the frames since the last grow drew
        self._recent_frames = 0

    def reset(self) -> None:
        self.lo = self.hi = None
        self._forget_recent()

    def update(self, values: np.ndarray) -> tuple[float, float] | None:
        """Grow to include ``values`` (NaN and, on log axes, non-positive values ignored)."""
        snapped = self._snapped(values)
        if snapped is None:
            return None
        lo, hi = snapped
        grown = self.lo is None or lo < self.lo or hi > self.hi
        if not grown:
            return None
        self.lo = lo if self.lo is None else min(lo, self.lo)
        self.hi = hi if self.hi is None else max(hi, self.hi)
        self._forget_recent()
        return self.lo, self.hi

    def settle(self, values: np.ndarray) -> tuple[float, float] | None:
        """Take one frame's values (all that the plot draws now); return a smaller range once the
        last ``shrink_after`` frames in a row all lay within it and left a third of it, and at least
        two of its steps (a decade on a log axis), unused, else None.

        A plot of the shown step's spectra grew to a transient's extremes (a diverging step's 10⁸, the
        first step's spike) and kept them: every later spectrum was squashed into a sliver. Frames in
        a row, not one: a range that followed every frame would jump at every step.
        """
        snapped = self._snapped(values)
        if snapped is None or self.lo is None or self.shrink_after is None:
            return None
        if self._recent is not None:
            union = min(snapped[0], self._recent[0]), max(snapped[1], self._recent[1])
            self._recent = union if self._leaves_room(*union) else None
        if self._recent is None:  # count from this frame, if it leaves room by itself
            self._recent, self._recent_frames = (snapped, 0) if self._leaves_room(*snapped) else (None, 0)
        if self._recent is None:
            return None
        self._recent_frames += 1
        if self._recent_frames < self.shrink_after:
            return None
        self.lo, self.hi = self._recent
        self._forget_recent()
        return self.lo, self.hi

    def _leaves_room(self, lo: float, hi: float) -> bool:
        """Whether a range shrunk to [lo, hi] would leave a third of this one, and two of its steps,
        unused: smaller shrinks are not worth a rescale."""
        span = self.hi - self.lo
        return span - (hi - lo) >= max(span / 3, 2 * self._step(span))

    def _forget_recent(self) -> None:
        self._recent, self._recent_frames = None, 0

    def _step(self, span: float) -> float:
        """The grain a range of ``span`` is snapped to."""
        return 0.5 if self.log else nice_ceiling(max(span, 1e-12) / 5)

    def _snapped(self, values: np.ndarray) -> tuple[float, float] | None:
        """The snapped range of ``values``' finite values (positive ones on log axes), or None."""
        data = np.asarray(values, dtype=float)
        data = data[np.isfinite(data) & (data > 0 if self.log else True)]
        if data.size == 0:
            return None
        lo, hi = float(data.min()), float(data.max())
        if self.log:
            lo, hi = math.floor(2 * math.log10(lo)) / 2, math.ceil(2 * math.log10(hi)) / 2
            step = 0.5
        else:
            step = nice_ceiling(max(hi - lo, abs(hi), 1e-12) / 5)
            lo, hi = math.floor(lo / step) * step, math.ceil(hi / step) * step
        if hi - lo < step:
            hi = lo + step
        if self.floor is not None:
            lo = max(lo, self.floor)
        if self.ceiling is not None:
            hi = min(hi, self.ceiling)
            lo = min(lo, hi - step)  # every value at the ceiling (an entropy of 1) keeps a range below it
        return lo, hi


def log_labels_as_powers(lo: float, hi: float) -> bool:
    """Whether a log axis showing 10^lo … 10^hi labels its ticks as powers of ten: one whose range lies
    within PLAIN_DECADES is labelled in plain decimals ("0.001", "20", "5000"), one reaching past them
    in powers of ten throughout ("10⁻⁵", "2·10⁻⁵", "10⁰"). One axis never mixes the two: "0.0001"
    above "10⁻⁵" read as two scales."""
    return lo < PLAIN_DECADES[0] - 1e-9 or hi > PLAIN_DECADES[1] + 1e-9


def log_label(value: float, powers: bool) -> str:
    """A log-axis tick label for ``value`` = m × 10^e: "m·10ᵉ" (or "10ᵉ") with ``powers``, else the
    plain decimal with as many places as it needs ("0.00002", "20", "5000")."""
    exponent = math.floor(math.log10(value) + 1e-9)
    mantissa = round(value / 10.0**exponent, 6)
    if powers:
        power = power_text(exponent)
        return power if mantissa == 1 else f"{mantissa:g}·{power}"
    places = max(0, -exponent + (0 if mantissa == round(mantissa) else 1))
    return f"{value:.{places}f}"


#: A linear axis reaching at most this far from 0 (and at least the first) is labelled in plain
#: decimals; beyond, in one power of ten for all its labels.
_PLAIN_LINEAR = (1e-5, 1e6)


def linear_labels(values: list[float], spacing: float, reach: float) -> list[str]:
    """Labels for ticks ``spacing`` apart on a linear axis that reaches ``reach`` from 0: every one
    with the decimals the spacing needs ("0.00005", "0.00010", … where pyqtgraph wrote "5e-05"
    below "0.0001"), or, far from 1, "m·10ᵉ" with one exponent for the whole axis."""
    if spacing <= 0 or not math.isfinite(spacing):
        return [f"{value:g}" for value in values]
    exponent = 0
    if not _PLAIN_LINEAR[0] <= reach < _PLAIN_LINEAR[1]:
        exponent = math.floor(math.log10(reach)) if reach > 0 else 0
    unit = 10.0**exponent
    places = max(0, math.ceil(-math.log10(spacing / unit) - 1e-9))
    power = "" if exponent == 0 else "·" + power_text(exponent)
    labels = []
    for value in values:
        if abs(value) < spacing * 1e-6:
            labels.append("0")  # not "-0.000" from round-off
        else:
            labels.append(f"{value / unit:.{places}f}{power}")
    return labels


def log_tick_sets(lo: float, hi: float) -> Iterator[list[tuple[float, str]]]:
    """Ticks for data drawn as log10 values in [lo, hi], densest first, for an axis to take the first
    whose labels fit: decades with every digit, or 2×, 3×, 5×, on short spans (sin Θ from 0.34 to 1
    on a tall axis was labelled 0.5 and 1 alone), then every decade, then every 2nd,
    3rd, 5th, 10th … decade (those at exponents divisible by the stride first, then the same stride
    shifted: 10⁻⁸, 10⁻⁵, 10⁻² where 10⁻⁹, 10⁻⁶, 10⁻³, 1 would put both ends' labels past the axis),
    down to strides that leave two decades or fewer.

    A span too short to hold two of those (sin Θ from 0.88 to 0.95) gets evenly spaced round values
    instead: an axis with one label or none cannot be read. Ten decades on a 110-pixel axis at the
    stage's font drew ten labels one over the other; the axis now takes every 5th.
    """
    span = hi - lo
    every_digit = tuple(range(1, 10))
    mantissa_sets = (
        [every_digit, (1, 2, 3, 5), (1, 2, 5)] if span < 1.2 else [(1, 2, 5)] if span < 2.5 else []
    )
    for mantissas in mantissa_sets:
        ticks = _decade_ticks(lo, hi, mantissas, stride=1)
        if len(ticks) >= 2:
            yield ticks
    if len(_decade_ticks(lo, hi, (1,), stride=1)) < 2:
        yield from (_round_ticks(10.0**lo, 10.0**hi, wanted) for wanted in (4, 2))
        return
    for stride in _DECADE_STRIDES:
        shifted = [_decade_ticks(lo, hi, (1,), stride, offset) for offset in range(stride)]
        yield from shifted
        if max(len(ticks) for ticks in shifted) <= 2:
            return


#: Every how many decades a crowded log axis is labelled, densest first.
_DECADE_STRIDES = (1, 2, 3, 5, 10, 20, 30, 50, 100)


def log_ticks(lo: float, hi: float) -> list[tuple[float, str]]:
    """The densest of :func:`log_tick_sets`: for an axis with room for every label."""
    return next(log_tick_sets(lo, hi))


def _decade_ticks(
    lo: float, hi: float, mantissas: tuple[int, ...], stride: int, offset: int = 0
) -> list[tuple[float, str]]:
    """m × 10^e (m in ``mantissas``, e ≡ ``offset`` mod ``stride``) in [lo, hi] as (log10 value, label)."""
    powers = log_labels_as_powers(lo, hi)
    ticks = []
    for exponent in range(math.floor(lo), math.ceil(hi) + 1):
        if (exponent - offset) % stride:
            continue
        for mantissa in mantissas:
            value = mantissa * 10.0**exponent
            if lo - 1e-9 <= math.log10(value) <= hi + 1e-9:
                ticks.append((math.log10(value), log_label(value, powers)))
    return ticks


def _round_ticks(low: float, high: float, wanted: int = 4) -> list[tuple[float, str]]:
    """About ``wanted`` round values (steps of 1, 2 or 5 × 10^k) within [low, high], as log10 ticks."""
    step = nice_ceiling((high - low) / wanted)
    digits = max(0, -math.floor(math.log10(step)))
    first = math.ceil(low / step)
    values = [n * step for n in range(first, math.floor(high / step) + 1)]
    return [(math.log10(v), f"{v:.{digits}f}") for v in values if v > 0]
