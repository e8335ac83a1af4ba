"""A lane's names over the steps: the settings that drew each part of its curve.

A lane switched from SGD to SignGD at step 89 drew steps up to 89 as SGD. A plot over steps names
a point by the label of its step, and a table column covering all steps by the whole story
(``SGD lr=128 → SignGD lr=0.01 (step 89)``). Plain data, no Qt: panels, the lane key and tests
share it.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["LaneNames", "all_lanes"]


@dataclass(frozen=True)
class LaneNames:
    """The lane's label now, and each earlier label with the last step it named (oldest first)."""

    label: str
    earlier: tuple[tuple[str, int], ...] = ()

    @classmethod
    def of(cls, value: str | LaneNames) -> LaneNames:
        """A plain label is a lane that never changed."""
        return value if isinstance(value, LaneNames) else cls(value)

    def at(self, step: float) -> str:
        """The label of the settings that drew ``step``."""
        for label, last_step in self.earlier:
            if step <= last_step:
                return label
        return self.label

    def text(self, most_changes: int | None = None) -> str:
        """``SGD lr=128 → SignGD lr=0.01 (step 89)``: each earlier label, then the label now.

        ``most_changes``: name only the first label and the latest changes, counting the others
        (``Muon pre → … 12 changes … → Muon post (step 560) → Muon pre (step 580)``). A key that
        told every change of a lane toggled back and forth took a line more every few toggles,
        and the four panels below it shrank each time.
        """
        if not self.earlier:
            return self.label
        parts = [self.earlier[0][0]]
        for index, (_label, step) in enumerate(self.earlier):
            following = self.earlier[index + 1][0] if index + 1 < len(self.earlier) else self.label
            parts.append(f"{following} (step {step})")
        changes = len(parts) - 1
        if most_changes is not None and changes - most_changes >= 2:  # one left out saves nothing
            parts = [parts[0], f"… {changes - most_changes} changes …", *parts[len(parts) - most_changes :]]
        return " → ".join(parts)


def all_lanes(count: int) -> str:
    """``both lanes`` or ``all 3 lanes``: a caption's or note's words for every lane on screen."""
    return "both lanes" if count == 2 else f"all {count} lanes"
