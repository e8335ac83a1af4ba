"""The table `muonscope run` prints: a line per lane with its final metrics, and why a column
reads n/a where its metric was not computed by the run's last step."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from muonscope.app.table_numbers import decimals_text
from muonscope.engine.divergence import because
from muonscope.engine.lane_names import named_apart

__all__ = ["estimate_text", "print_run_table", "steps_text"]


def estimate_text(value: float, standard_error: float | None, digits: int) -> str:
    """``≈ 3.030 ± 0.035``: an estimate to its standard error's second digit, at most one decimal past
    the table's own (the header promised "± one standard error" and only the count had one)."""
    if standard_error is None or not math.isfinite(standard_error) or standard_error < 0:
        return "≈ " + decimals_text(value, digits)
    if standard_error == 0:  # every sampled item alike: the sample shows no spread, and says so
        return f"≈ {decimals_text(value, digits)} ± 0"
    decimals = min(max(1 - math.floor(math.log10(standard_error)), 0), digits + 1)
    error = f"{standard_error:.{decimals}f}"
    if float(error) == 0:
        error = f"< {10.0**-decimals:.{decimals}f}"
    return f"≈ {value:.{decimals}f} ± {error}"


def _measured_at(step: int, final_step: int) -> str:
    """`` (step 21)`` for a value measured before the final step (the alignment follows its own
    cadence, and a sampled evaluation never measures it past the first step)."""
    return "" if step == final_step else f" (step {step})"


#: The table's columns (report key, decimals) for a task with items, and for a stream without them
#: (loss, accuracy and recovered are n/a there; what it measures is its signal and spectra).
_ITEM_COLUMNS = (("loss", 4), ("accuracy", 4), ("recovered", 0), ("alignment", 3))
_STREAM_COLUMNS = (("alignment", 3), ("sin_theta", 3), ("tail_filtering", 3), ("gap", 4))
#: Columns measured with the population gradient, at their own cadence (``signal_step``).
_SIGNAL_COLUMNS = ("alignment", "sin_theta", "tail_filtering")
#: What the alignment is: Adam's "alignment 42.566" beside Muon's 0.928 read as an error without it.
_ALIGNMENT_NOTE = (
    "alignment A(D) = ⟨D, G_sig⟩ / ‖G_sig‖_*: 1 for msgn(G_sig); not a cosine, it grows with "
    "the update's scale"
)


def print_run_table(report: dict[str, Any]) -> None:
    """A short human-readable summary of the final report; estimates are marked ≈ with their error."""
    evaluated = {lane["eval_step"] for lane in report["lanes"]} - {None, report["step"]}
    # a stop that undid a step of minutes skipped its evaluation too: "step 1" stood over step 0's numbers
    of = f"; population metrics of step {min(evaluated)}, the last evaluated" if evaluated else ""
    print(f"step {report['step']} on {report['device']} ({report['dtype']}){of}")
    sampled = {lane["sampled_items"] for lane in report["lanes"] if lane["estimated"]}
    if sampled:
        print(f"population metrics estimated from {max(sampled)} sampled items (± one standard error)")
    items = any(lane["loss"] is not None for lane in report["lanes"])
    labels = [lane["label"] for lane in report["lanes"]]  # in lane order: the i-th is lane i
    names = named_apart(labels, range(len(labels)))
    width = max(_LABEL_WIDTH, *(len(name) for name in names))  # columns stay aligned
    for lane, name in zip(report["lanes"], names, strict=True):
        cells = [f"{name:<{width}s}"]
        for key, digits in _ITEM_COLUMNS if items else _STREAM_COLUMNS:
            cells.append(f"{key} {_cell(lane, key, digits, report['step'])}")
        if lane["diverged"]:  # when, as inspect says: the metrics before it were measured
            cells.append(f"DIVERGED at step {lane['diverged_step']}")
        print("  ".join(cells))
    for lane in report["lanes"]:
        if lane["diverged"]:
            print(
                f"{lane['label']} diverged at step {lane['diverged_step']}{because(lane['diverged_cause'])}"
            )
    if any(lane["alignment"] is not None for lane in report["lanes"]):
        print(_ALIGNMENT_NOTE)
    if not_yet := _not_yet_computed(report, items):
        print(not_yet)
    if undefined := _alignment_undefined(report):
        print(undefined)
    if floor := _loss_under_normal_range(report):
        print(floor)


def _loss_under_normal_range(report: dict[str, Any]) -> str:
    """Which lanes' loss is under the dtype's smallest normal number ("" where none is): there a loss
    keeps fewer digits the smaller it is and its gradient rounds to 0, so float32's Muon and SignGD
    losses of 3·10⁻⁴³ are where float32 stopped them, beside a float64 run's 10⁻⁸⁵."""
    smallest_normal = float(np.finfo(np.dtype(report["dtype"])).tiny)
    lanes = [
        lane["label"]
        for lane in report["lanes"]
        if lane["loss"] is not None and lane["loss"] < smallest_normal and not lane["diverged"]
    ]
    if not lanes:
        return ""
    which = "1 lane" if len(lanes) == 1 else f"{len(lanes)} lanes"
    return (
        f"loss under {report['dtype']}'s normal range ({smallest_normal:.2g}) in {which}: there "
        f"{report['dtype']}, not the lane, sets how low a loss goes"
    )


def _alignment_undefined(report: dict[str, Any]) -> str:
    """Why a lane's alignment reads n/a where it was measured ("" where none does): A(X) divides by
    ‖G_sig‖_*, and a memory learnt to below the dtype's smallest numbers has G_sig = 0 (float32's
    tail-end presets after tens of steps), which read as n/a without a word."""
    lanes = [
        lane
        for lane in report["lanes"]
        if lane["signal_step"] is not None and lane["alignment"] is None and not lane["diverged"]
    ]
    if not lanes:
        return ""
    which, whose = ("1 lane", "its") if len(lanes) == 1 else (f"{len(lanes)} lanes", "their")
    return (
        f"alignment n/a in {which} at step {lanes[0]['signal_step']}: {whose} population gradient G_sig "
        f"is 0 there (the loss is below what {report['dtype']} resolves), and A(X) divides by its norm"
    )


#: The label column's least width: the presets' labels, with room to spare.
_LABEL_WIDTH = 34


def _not_yet_computed(report: dict[str, Any], items: bool) -> str:
    """Why a column reads n/a at a step before its metric was first computed ("" when none does): a
    3-step run of a preset with spectra every 5 printed n/a everywhere and said nothing."""
    run = report["config"]["run"]
    lanes = [lane for lane in report["lanes"] if not lane["diverged"]]  # a diverged lane's are null for good
    reasons = []
    if not items and any(lane["gap_rank"] is None for lane in lanes):
        reasons.append(f"the spectra come every {steps_text(run['spectra_every'])} (run.spectra_every)")
    if report["step"] == 0:
        reasons.append("no update has been made yet, so there is no alignment to measure")
    elif any(lane["signal_step"] is None for lane in lanes):
        changed = sorted({lane["settings_step"] for lane in lanes if lane["signal_step"] is None} - {0})
        since = ""
        if changed:
            since = f"; a lane whose settings changed at step {_joined(changed)} has no update measured since"
        reasons.append(
            "the alignment and sin Θ come with the spectra or, where the population gradient is costly, "
            f"on the step after an evaluation (every {steps_text(run['eval_every'])}, run.eval_every){since}"
        )
    return f"n/a: not computed by step {report['step']}: " + "; ".join(reasons) if reasons else ""


def _joined(steps: list[int]) -> str:
    return ", ".join(map(str, steps[:-1])) + " or " + str(steps[-1]) if len(steps) > 1 else str(steps[0])


def steps_text(count: int) -> str:
    return "step" if count == 1 else f"{count} steps"


def _cell(lane: dict[str, Any], key: str, digits: int, final_step: int) -> str:
    """One lane's value of ``key`` as the table shows it: n/a, a count, ≈ an estimate, or a number."""
    from muonscope.app.live_caption import count_text

    value = lane[key]
    if value is None:
        return "n/a"
    if key == "recovered":
        return count_text(value, lane["recovered_se"] or 0.0, lane["estimated"])
    if key in ("loss", "accuracy"):
        if lane["estimated"]:
            return estimate_text(value, lane[f"{key}_se"], digits)
        return decimals_text(value, digits)
    if key in _SIGNAL_COLUMNS:
        return decimals_text(value, digits) + _measured_at(lane["signal_step"], final_step)
    return decimals_text(value, digits)
