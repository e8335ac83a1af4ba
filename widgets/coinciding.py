"""Which lanes' curves lie exactly on one another, said in words.

Lanes are drawn in order, so where two lanes' curves are equal the later one hides the earlier:
at W = 0 every lane has the same gradient, and panel ① of a one-step preset showed one lane of
three. A panel that draws such curves says so rather than seem to have lost a lane.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from muonscope.widgets.lane_names import all_lanes
from muonscope.widgets.theme import stage_style

__all__ = [
    "NAMED_AT_MOST_CHARS",
    "and_join",
    "coincidence_note",
    "coincidence_text",
    "equal_curves",
    "lanes_named",
    "names_fit",
]


def equal_curves(curves: Mapping[int, tuple[np.ndarray, np.ndarray]]) -> list[list[int]]:
    """Groups of two or more lanes whose (x, y) points are equal (to round-off), each in lane order.

    Lanes with no points are left out: an empty curve hides nothing.
    """
    groups: list[list[int]] = []
    for lane, points in curves.items():
        if np.size(points[1]) == 0:
            continue
        for group in groups:
            first = curves[group[0]]
            if _close(first[1], points[1]) and _close(first[0], points[0]):  # y first: it tells most apart
                group.append(lane)
                break
        else:
            groups.append([lane])
    return [group for group in groups if len(group) > 1]


#: Longest list of lane names a note gives; longer, it gives the lanes' numbers instead. Three preset names
#: such as "Muon NS5, μ = 0.95 ema, no Nesterov" filled a third of ④ on a stage and hid the curves
#: rising under them; the lanes' colours and the key say which they are.
NAMED_AT_MOST_CHARS = 48


def names_fit(named: str) -> bool:
    """Whether lanes named ``named`` ("SGD and Adam") may be named so in a note, at the stage's scale:
    at 1.5× a note of two lanes' 47 characters lay over ④'s curves."""
    return len(named) <= NAMED_AT_MOST_CHARS / stage_style().scale


def lanes_named(lanes: Sequence[tuple[int, str]]) -> str:
    """``SGD and Adam`` for (position, label) pairs, or ``lane 2`` / ``lanes 2, 3 and 4`` where the
    names run long (numbered as in the dock and the status bar): a note that named four preset
    lanes ran off the top of ②."""
    named = and_join(label for _, label in lanes)
    if names_fit(named):
        return named
    numbers = and_join(str(position) for position, _ in lanes)
    return f"lane {numbers}" if len(lanes) == 1 else f"lanes {numbers}"


def coincidence_text(curves: Mapping[int, tuple[np.ndarray, np.ndarray]], labels: Sequence[str]) -> str:
    """``in all 3 lanes`` (``in both lanes``), ``in GD and Newton``, or ``in lanes 0, 1 and 2`` where
    the names are long (the lanes numbered as in the dock and the status bar), groups joined by
    ", and " ("in SGD and NGD, and in lanes 2 and 3"; "; and " where a group holds a comma); "" when
    none.

    Counted ("in 2 of 4 lanes; in 2 of 4 lanes") the note said neither which lanes nor that it
    meant two groups."""
    parts = []
    for group in equal_curves(curves):
        named = and_join(labels[lane] for lane in group)
        if len(group) == len(labels):
            parts.append(f"in {all_lanes(len(group))}")
        elif names_fit(named):
            parts.append(f"in {named}")
        else:
            parts.append(f"in lanes {and_join(str(lane) for lane in group)}")
    return ("; and " if any("," in part for part in parts) else ", and ").join(parts)


def coincidence_note(
    curve_sets: Iterable[tuple[str, Mapping[int, tuple[np.ndarray, np.ndarray]]]], labels: Sequence[str]
) -> str:
    """A panel's note on its curves that lie on one another: ``(name, curves by lane)`` per kind of
    curve, and kinds equal in the same lanes share one phrase ("same G, same G_sig in both lanes":
    "G and G_sig equal" read as G equal to G_sig; "same items recovered, same accuracy in both lanes");
    "" when none."""
    names_by_text: dict[str, list[str]] = {}
    for name, curves in curve_sets:
        text = coincidence_text(curves, labels)
        if text:
            names_by_text.setdefault(text, []).append(name)
    return "; ".join(
        ", ".join(f"same {name}" for name in names) + f" {text}" for text, names in names_by_text.items()
    )


def _close(a: np.ndarray, b: np.ndarray) -> bool:
    """Equal shapes and values; the last values first, which tell most curves apart at once."""
    if np.shape(a) != np.shape(b):
        return False
    if np.size(a):  # in plain floats: this runs for every pair of lanes on every frame
        last_a, last_b = float(a[-1]), float(b[-1])
        if abs(last_a - last_b) > 1e-9 * abs(last_b) and not (last_a != last_a and last_b != last_b):
            return False
    return bool(np.allclose(a, b, rtol=1e-9, atol=0.0))


def and_join(names: Iterable[str]) -> str:
    """ "a", "a and b", "a, b and c"; names holding commas are parted by semicolons ("Adam, β = 0.9;
    SGD, μ = 0.9 and Muon"), else one could not tell where a name ends."""
    names = list(names)
    if len(names) == 1:
        return names[0]
    between = "; " if any("," in name for name in names) else ", "
    return between.join(names[:-1]) + " and " + names[-1]
