"""The live caption, written from the state on screen.

A talk's audience reads one line, not the controls: which step this is, what changed last and when,
and who leads (``step 640 · label noise 0 → 0.21 at step 581 · Muon (pre) recovers 690 items, SGD
210``). How far the settings left the preset is :mod:`muonscope.app.preset_drift`'s.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Collection, Sequence

from muonscope.engine.config import LaneConfig
from muonscope.engine.errors import and_listed
from muonscope.engine.lane_history import LaneHistory
from muonscope.engine.lane_names import named_apart
from muonscope.engine.optim.registry import OPTIMIZERS
from muonscope.engine.scalar_metrics import GROUPS, SCALAR_METRICS, read_value
from muonscope.engine.snapshot import Event, LaneSnapshot, Snapshot
from muonscope.engine.task_kinds import TASK_KINDS
from muonscope.widgets.lane_names import all_lanes
from muonscope.widgets.number_text import number_text

__all__ = ["count_text", "live_caption", "short_lane_name"]

#: Lanes named in the live caption after the leader (the rest would not fit on one line).
MAX_LANES_NAMED = 3


def short_lane_name(lane: LaneSnapshot | LaneConfig) -> str:
    """``Muon (pre)``, ``SGD``: the optimizer and, where it keeps a momentum buffer, its order (at
    μ = 0 pre and post run alike: "SignGD (pre)" named an order the lane's key left out)."""
    spec = OPTIMIZERS.get(lane.optimizer)
    title = spec.title if spec is not None else lane.optimizer
    ordered = spec is not None and "order" in spec.uses and spec.keeps_buffer(lane)
    return f"{title} ({lane.order})" if ordered else title


def count_text(count: float, standard_error: float, estimated: bool) -> str:
    """``690``, or for an estimate ``≈ 6900 ± 120`` (rounded to the standard error's second digit)."""
    if not estimated:
        return f"{count:.0f}"
    if not math.isfinite(standard_error) or standard_error < 0:
        return f"≈ {count:.0f}"
    if standard_error == 0:  # every sampled item alike (all of a stratum unrecovered): said, not dropped
        return f"≈ {count:.0f} ± 0"
    place = math.floor(math.log10(standard_error)) - 1  # the error's second significant digit
    if place < 0:  # an error below 10 items: counts stay whole, the error keeps two digits
        return f"≈ {count:.0f} ± {standard_error:.{-place}f}"
    step = 10**place
    return f"≈ {round(count / step) * step} ± {round(standard_error / step) * step}"


def sample_note(snapshot: Snapshot) -> str:
    """``estimate from 4096 sampled items`` when the lanes' last evaluation was a sample, else ""."""
    sampled = {
        lane.eval_sampled_items for lane in snapshot.lanes if lane.eval_step >= 0 and lane.eval_estimated
    }
    if not sampled:
        return ""
    return f"estimate from {max(sampled)} sampled items"


def live_caption(
    snapshot: Snapshot,
    histories: Sequence[LaneHistory] | None = None,
    lane_ids: Collection[int] | None = None,
) -> str:
    """The step, the last change with its step, and the lanes from the leader down (as evaluated last).

    Each lane is named as it was at the snapshot's step: at the step of a change (a fork, say) its
    counts are still those of the settings before it. ``histories``: the lanes' settings along the
    steps on screen (default: the snapshot's own); ``lane_ids``: the lanes the panels draw (default:
    the snapshot's). A lane removed since the snapshot's step is drawn nowhere: named, it made "all
    4 lanes" of a caption above a key of three.
    """
    gone = 0 if lane_ids is None else sum(lane.lane_id not in lane_ids for lane in snapshot.lanes)
    if gone:
        snapshot = dataclasses.replace(
            snapshot, lanes=tuple(lane for lane in snapshot.lanes if lane.lane_id in lane_ids)
        )
    parts = [f"step {snapshot.step}"]
    if snapshot.events:
        parts.append(_last_changes(snapshot.events))
    standing = _standing(snapshot, snapshot.lane_histories if histories is None else histories)
    if standing:
        stamp = _standing_stamp(snapshot)
        measured = max(getattr(lane, stamp) for lane in snapshot.lanes)
        # the numbers are the last evaluation's (or measurement's): between them, say which step
        if measured != snapshot.step:
            verb = "evaluated" if stamp == "eval_step" else "measured"
            standing = f"as {verb} at step {measured}: {standing}"
        parts.append(standing)
    if gone:  # said, or the step's other lanes read as all it had
        parts.append(f"{gone} lane{'s' if gone > 1 else ''} removed since, not drawn")
    return " · ".join(parts)


def _standing_stamp(snapshot: Snapshot) -> str:
    """The lane field holding the step the standing's numbers are of: the evaluation's for items
    recovered, the signal's for a stream's alignment (its caption said "as evaluated at step 0" of
    the alignment of step 5: a stream is evaluated once, at its start)."""
    kind = TASK_KINDS[snapshot.config.task.kind]
    metric = "recovered" if kind.has_classes else kind.standing_metric[0]
    return GROUPS[SCALAR_METRICS[metric][0]] or "step"


#: The changes of one step a caption names; more are counted, to keep the caption one line.
NAMED_CHANGES = 2


def _last_changes(events: Sequence[Event]) -> str:
    """Every change of the newest change's step: with label noise and lr changed together, the
    caption named only the lr."""
    step = events[-1].step
    texts = [event.text for event in events if event.step == step]
    named, more = texts[:NAMED_CHANGES], len(texts) - NAMED_CHANGES
    if more > 0:
        named.append(f"{more} more change{'s' if more > 1 else ''}")
    return f"{and_listed(named)} at step {step}"


def _standing(snapshot: Snapshot, histories: Sequence[LaneHistory]) -> str:
    """The lanes' standing, and how many lanes it leaves out for not being evaluated yet: a lane
    added since the last evaluation made "all 3 lanes recover 0 items" of a run of four lanes."""
    measured = _measured_lanes(snapshot, histories)
    standing = _evaluated_standing(snapshot, histories, measured)
    # a diverged lane takes no step: it will not be measured under new settings, "yet" or ever
    waiting = sum(1 for lane in snapshot.lanes if lane not in measured and not lane.diverged)
    if not standing or not waiting:
        return standing
    whose = "its" if waiting == 1 else "their"
    verb = "evaluated" if _standing_stamp(snapshot) == "eval_step" else f"measured under {whose} settings"
    return f"{standing} ({waiting} more lane{'s' if waiting > 1 else ''} not {verb} yet)"


def _measured_lanes(snapshot: Snapshot, histories: Sequence[LaneHistory]) -> list[LaneSnapshot]:
    """The lanes whose standing numbers are known: evaluated, or for a stream's alignment, measured
    on an update made under the lane's settings (one measured before a change was another rule's)."""
    stamp = _standing_stamp(snapshot)
    if stamp != "signal_step":  # a count of items is of the weights, whatever made them
        return [lane for lane in snapshot.lanes if getattr(lane, stamp) >= 0]
    since = {  # the boundary each lane's settings at this step hold from (histories run past it)
        history.lane_id: max((b for b in history.steps if b <= snapshot.step), default=0)
        for history in histories
    }
    return [lane for lane in snapshot.lanes if lane.signal_step > since.get(lane.lane_id, 0)]


def _evaluated_standing(
    snapshot: Snapshot, histories: Sequence[LaneHistory], lanes: list[LaneSnapshot]
) -> str:
    if not lanes:
        return ""
    # the numbers are of the step last evaluated (measured): named by the settings that drew it
    names = _distinct_names(
        snapshot, histories, max(getattr(lane, _standing_stamp(snapshot)) for lane in lanes)
    )
    if TASK_KINDS[snapshot.config.task.kind].has_classes:
        return _recovered_standing(snapshot, lanes, names)
    return _metric_standing(snapshot, lanes, names)


def _recovered_standing(snapshot: Snapshot, lanes: list[LaneSnapshot], names: dict[int, str]) -> str:
    """On a task with items: the lanes ranked by items recovered, then by loss."""
    ranked = sorted(lanes, key=lambda lane: (lane.diverged, -lane.recovered, _loss_order(lane)))
    first, rest = ranked[0], _named_after_leader(ranked)
    if _all_tied(ranked):
        text, others = _tie_text(ranked, rest, names)
    else:
        text = f"{names[first.lane_id]} recovers {_recovered(first)} {_items(first)}"
        others = [_entry(names[lane.lane_id], _recovered(lane), names) for lane in rest]
        others = _count_before_last(others, _unnamed(ranked, rest))
    note = sample_note(snapshot)
    return _listed(names, [text, *others]) + (f" ({note})" if note else "")


def _metric_standing(snapshot: Snapshot, lanes: list[LaneSnapshot], names: dict[int, str]) -> str:
    """On a task without items: the lanes ranked by the task's standing metric; lanes whose values
    are of another scale are listed apart, unranked."""
    metric, higher_is_better = TASK_KINDS[snapshot.config.task.kind].standing_metric
    value = {lane.lane_id: read_value(lane, metric) for lane in lanes}
    if not any(math.isfinite(v) for v in value.values()):
        return ""  # not measured yet (step 0): nothing to rank, rather than "nan"
    # a diverged lane takes no step, so has no alignment to rank ("Adam: nan"): the caption
    # says it diverged already
    lanes = [lane for lane in lanes if math.isfinite(value[lane.lane_id]) or not lane.diverged]
    apart = _not_comparable(lanes, metric)
    aside = [_entry(names[lane.lane_id], number_text(value[lane.lane_id]), names) for lane in apart]
    lanes = [lane for lane in lanes if lane.lane_id not in {other.lane_id for other in apart}]
    if not lanes:  # nothing to rank: the values in lane order, said to be of different scales
        return f"{metric}, not normalised: " + _listed(names, aside)
    ranked = sorted(
        lanes,
        key=lambda lane: (
            lane.diverged or not math.isfinite(value[lane.lane_id]),
            -value[lane.lane_id] if higher_is_better else value[lane.lane_id],
        ),
    )
    first, rest = ranked[0], _named_after_leader(ranked)
    text = _entry(names[first.lane_id], f"{metric} {number_text(value[first.lane_id])}", names)
    others = [_entry(names[lane.lane_id], number_text(value[lane.lane_id]), names) for lane in rest]
    others = _count_before_last(others, _unnamed(ranked, rest))
    standing = _listed(names, [text, *others])
    return standing + ("; not normalised: " + _listed(names, aside) if aside else "")


def _not_comparable(lanes: list[LaneSnapshot], metric: str) -> list[LaneSnapshot]:
    """The lanes whose ``metric`` does not rank with the others': the alignment ⟨D, G_sig⟩ / ‖G_sig‖_*
    is bounded by 1 for an orthogonal update D (a polar map's) only; SGD's or Adam's grows with
    its scale ("SGD alignment 61.4" led Muon's 0.903 by its learning rate, not its direction)."""
    if metric != "alignment":
        return []
    return [lane for lane in lanes if OPTIMIZERS[lane.optimizer].polar_key is None]


def _listed(names: dict[int, str], entries: list[str]) -> str:
    """The entries joined by commas, or by semicolons where a lane's name holds a comma outside
    brackets: "Muon NS5, μ = 0.95 ema, no Nesterov 0, Muon exact, …" could not be told apart lane
    by lane ("SignGD (= Adam, 1 step)" keeps its comma to itself)."""
    bare = (_outside_brackets(name) for name in names.values())
    return ("; " if any("," in name for name in bare) else ", ").join(entries)


def _outside_brackets(name: str) -> str:
    """The name without its bracketed asides: "SignGD (= Adam, 1 step)" → "SignGD "."""
    return re.sub(r"\([^()]*\)", "", name)


def _tie_text(
    ranked: list[LaneSnapshot], named: list[LaneSnapshot], names: dict[int, str]
) -> tuple[str, list[str]]:
    """Lanes that all recover as many items, ranked by population loss (named so: ② beside it may
    show the excess loss, lower by the noise floor); all at one loss, said to be alike."""
    text = f"{all_lanes(len(ranked))} recover {_recovered(ranked[0])} {_items(ranked[0])}"
    losses = [number_text(lane.loss, keep_zeros=True) for lane in ranked]
    if len(set(losses)) == 1:  # W = 0, say: nothing tells the lanes apart yet
        return f"{text}, each at population loss {losses[0]}", []
    shown = (ranked[0], *named)
    entries = [_entry(names[lane.lane_id], number_text(lane.loss, keep_zeros=True), names) for lane in shown]
    ranking = _listed(names, _count_before_last(entries, _unnamed(ranked, named)))
    return f"{text}; by population loss: {ranking}", []


def _loss_order(lane: LaneSnapshot) -> float:
    """Among lanes that recover as many items, the lower population loss first (unmeasured last)."""
    return lane.loss if math.isfinite(lane.loss) else math.inf


def _all_tied(ranked: list[LaneSnapshot]) -> bool:
    """Two or more lanes, none diverged, all recovering as many items: the count ranks nobody.

    "GD recovers 64 items, SignGD 64, Muon 64" named GD the leader of a three-way tie; the caption
    then ranks them by their loss instead.
    """
    count = ranked[0].recovered
    same = all(not lane.diverged and lane.recovered == count and math.isfinite(lane.loss) for lane in ranked)
    return len(ranked) > 1 and same


def _named_after_leader(ranked: list[LaneSnapshot]) -> list[LaneSnapshot]:
    """The lanes after the leader that the caption names: all of them, where leaving one out would
    save nothing ("1 more lane" takes the room its name would); else :data:`MAX_LANES_NAMED`, the
    last of them the last ranked. The last was left out: six lanes of Muon against Adam named the
    Muon lanes and SGD, and counted both Adam lanes as "2 more lanes", the ones the preset is about."""
    rest = ranked[1:]
    return rest if len(rest) <= MAX_LANES_NAMED + 1 else [*rest[: MAX_LANES_NAMED - 1], rest[-1]]


def _count_before_last(entries: list[str], unnamed: list[str]) -> list[str]:
    """The count of lanes left unnamed, where they rank: before the last lane's entry."""
    return [*entries[:-1], *unnamed, *entries[-1:]] if unnamed else entries


def _entry(name: str, value: str, names: dict[int, str]) -> str:
    """``Muon exact 0.0012`` held on one line: a wrapped caption breaks between lanes, not inside
    one, so no value starts a line apart from its lane's name. Where a name ends in a digit or a
    bracketed aside, or is itself a formula, every lane of ``names`` takes a colon before its value:
    "Muon-reg λ = 1/256 59" read as one number, "Muon η = c / T 4.49" as T = 4.49, "SignGD (= Adam,
    1 step) 29" as an item "1 step) 29" of the list, and "Adam 140, Muon (post): 79" as two styles."""
    separator = ": " if any(_ends_apart(other) for other in names.values()) else " "
    return f"{name}{separator}{value}".replace(" ", NO_BREAK).replace("-", HYPHEN_HELD)


def _ends_apart(name: str) -> bool:
    """Whether a value written after ``name`` with a space would read as part of it."""
    return name[-1:].isdigit() or name.endswith(")") or "=" in _outside_brackets(name)


#: The space a wrapped label does not break at.
NO_BREAK = "\u00a0"
#: A hyphen with a word joiner after it, where a line may not break: "SGD-" ended a line of the
#: caption, "momentum, μ = 0.9 sum: 1.21·10⁻³⁰" began the next.
HYPHEN_HELD = "-\u2060"


def _unnamed(ranked: list[LaneSnapshot], named: list[LaneSnapshot]) -> list[str]:
    """``["2 more lanes"]`` for the ranked lanes the caption has no room to name (so none seems lost),
    held on one line: wrapped, "lanes" stood alone on a third."""
    left = len(ranked) - 1 - len(named)
    return [] if left <= 0 else [f"{left} more lane{'s' if left > 1 else ''}".replace(" ", NO_BREAK)]


def _recovered(lane: LaneSnapshot) -> str:
    return count_text(lane.recovered, lane.recovered_se, lane.eval_estimated)


def _items(lane: LaneSnapshot) -> str:
    """ "item" after an exact count of one ("recovers 1 items" on a d = 8 memory), else "items"."""
    return "item" if lane.recovered == 1 and not lane.eval_estimated else "items"


def _distinct_names(snapshot: Snapshot, histories: Sequence[LaneHistory], step: int) -> dict[int, str]:
    """How the caption names each lane at ``step`` (that its numbers are of: a lane switched to SignGD
    at step 14 was credited SGD's count of step 10), always as the lane key can be matched to.

    A lane the preset named keeps that name; otherwise its short name, unless two lanes would read
    the same, then the full label of the key; lanes alike in every setting (a lane added as a copy)
    are told apart by their index, as breakpoints and ``--lane`` count them.
    """
    settings = _settings_at(snapshot, histories, step)
    names = {
        lane_id: lane.label if lane.label else short_lane_name(lane) for lane_id, lane in settings.items()
    }
    names = {
        lane_id: name if _count(names, name) == 1 else _told_apart(settings, names, lane_id)
        for lane_id, name in names.items()
    }
    index = {lane.lane_id: lane.index for lane in snapshot.lanes}  # lanes alike in every setting (a copy)
    return dict(
        zip(names, named_apart(list(names.values()), [index[lane_id] for lane_id in names]), strict=True)
    )


def _told_apart(settings: dict[int, LaneConfig], names: dict[int, str], lane_id: int) -> str:
    """A short name that reads as another lane's, with the settings that tell them apart: "Muon (pre)
    μ=0.5 ema" beside "Muon (pre) μ=0.95 ema", where two full labels took the caption's line ("Muon
    pre μ=0.95 ema exact lr=0.05 recovers 167 items, Muon pre μ=0.5 …") and the others read "Muon
    (post)". A named lane, or lanes of other optimizers under one name, keep the full label."""
    lane = settings[lane_id]
    alike = [settings[other] for other, name in names.items() if name == names[lane_id]]
    if lane.label or any(other.label or other.optimizer != lane.optimizer for other in alike):
        return lane.display_label()
    spec = OPTIMIZERS[lane.optimizer]
    words = [spec.described_parts(other) for other in alike]
    if len({len(parts) for parts in words}) != 1:
        return lane.display_label()
    own = spec.described_parts(lane)
    differ = [i for i in range(len(own)) if len({parts[i] for parts in words}) > 1]
    return " ".join([names[lane_id], *(own[i] for i in differ)]) if differ else names[lane_id]


def _count(names: dict[int, str], name: str) -> int:
    return sum(other == name for other in names.values())


def _settings_at(snapshot: Snapshot, histories: Sequence[LaneHistory], step: int) -> dict[int, LaneConfig]:
    """Each lane's settings that drew ``step`` (by lane id); the config in force for a lane without a
    history."""
    by_id = {history.lane_id: history for history in histories}
    configs = snapshot.config.lanes
    return {
        lane.lane_id: by_id[lane.lane_id].settings_at(step) if lane.lane_id in by_id else configs[lane.index]
        for lane in snapshot.lanes
    }
