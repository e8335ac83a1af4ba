"""Where the timeline writes each branch's name: beside its own line, over no other line or name.

Branch lines sit a few pixels apart in a strip 70 px high, so a name written above every fork (its
first place) crosses the next branch's line as soon as forks come close. Each name tries its places
in turn — above its line from the fork, right of its head, left of its fork, above its line ending
at its head, above it past its head, then below it from the fork and up to its head, and last level
with it past the lines and names beside its head — and takes the first that stays inside the plot
and clear of every other line and every name already placed, and of the step cursor where one such
place is (the cursor ran through "fork 2 at st|ep 150"). The current branch places first, then the
others from the oldest. A name that fits nowhere is left out; its line's tooltip still names it. The
current branch's name is never left out: where no place is clear of the lines around it (six forks a
few steps apart, the current one among them), it takes its first place inside the plot, drawn over
those lines on the plot's own background.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from PySide6 import QtCore

__all__ = ["BranchLine", "place_branch_labels"]

#: Pixels between a name and its line's end or fork, and half the thickness a line claims.
GAP_PX, LINE_HALF_PX = 3.0, 1.5
#: Pixels a name above its line starts after its fork: clear of the change's ▼ over the fork step
#: (half the mark's 9 px and a gap), which covered the name's first letter.
AFTER_FORK_PX = 7.0


@dataclass(frozen=True)
class BranchLine:
    """One branch's line in the plot's pixels (y grows downwards), and the size of its name."""

    left_px: float
    right_px: float
    y_px: float
    label_size: QtCore.QSizeF
    current: bool = False

    def band(self) -> QtCore.QRectF:
        """The pixels the line itself covers."""
        return QtCore.QRectF(
            self.left_px, self.y_px - LINE_HALF_PX, self.right_px - self.left_px, 2 * LINE_HALF_PX
        )


def place_branch_labels(
    lines: list[BranchLine],
    area: QtCore.QRectF,
    cursor_px: float | None = None,
    marks: Sequence[QtCore.QRectF] = (),
) -> list[QtCore.QPointF | None]:
    """The top-left corner (px) of each line's name, or None where it fits nowhere; ``cursor_px``:
    the step cursor's x, which a name keeps clear of where it can; ``marks``: the pixels of the
    strip's ▼ and ▲ marks, which a name keeps clear of as of the other lines."""
    order = sorted(range(len(lines)), key=lambda i: (not lines[i].current, i))
    placed: list[QtCore.QRectF] = []
    corners: list[QtCore.QPointF | None] = [None] * len(lines)
    for index in order:
        others = [line.band() for i, line in enumerate(lines) if i != index]
        obstacles = (*others, *marks, *placed)
        places = _places(lines[index]) + _past_the_others(lines[index], obstacles)
        inside = [rect for rect in places if area.contains(rect)]
        inside.sort(key=lambda rect: cursor_px is not None and rect.left() <= cursor_px <= rect.right())
        clear = [rect for rect in inside if not any(rect.intersects(o) for o in obstacles)]
        if lines[index].current and not clear:
            clear = inside[:1]  # over the lines around it: the branch the run is on is always named
        if clear:
            corners[index] = clear[0].topLeft()
            placed.append(clear[0])
    return corners


def _places(line: BranchLine) -> list[QtCore.QRectF]:
    """Above the line from its fork; right of its head; left of its fork; above the line up to its
    head; above it past its head; below the line from its fork, and up to its head."""
    width, height = line.label_size.width(), line.label_size.height()
    middle, above = line.y_px - height / 2, line.y_px - LINE_HALF_PX - height
    below = line.y_px + LINE_HALF_PX
    return [
        QtCore.QRectF(line.left_px + AFTER_FORK_PX, above, width, height),
        QtCore.QRectF(line.right_px + GAP_PX, middle, width, height),
        QtCore.QRectF(line.left_px - GAP_PX - width, middle, width, height),
        QtCore.QRectF(line.right_px - width, above, width, height),
        QtCore.QRectF(line.right_px + GAP_PX, above, width, height),
        QtCore.QRectF(line.left_px + AFTER_FORK_PX, below, width, height),
        QtCore.QRectF(line.right_px - width, below, width, height),
    ]


def _past_the_others(line: BranchLine, obstacles: tuple[QtCore.QRectF, ...]) -> list[QtCore.QRectF]:
    """Level with the line, right of where each line or name beside its head ends, within a name's
    width of its head: a fork 6 px between two longer branches had no place clear of them and went
    unnamed, with the strip empty to the right of them all; but a name written 2000 px past its
    head, after another branch's end, read as that branch's."""
    width, height = line.label_size.width(), line.label_size.height()
    middle = line.y_px - height / 2
    ends = sorted({o.right() + GAP_PX for o in obstacles if o.right() > line.right_px})
    return [QtCore.QRectF(x, middle, width, height) for x in ends if x - line.right_px <= width]
