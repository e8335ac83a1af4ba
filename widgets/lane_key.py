"""One key for the lanes, shared by the four panels and placed above them, off the data.

A legend inside each plot covers curves on a laptop or a projector and repeats itself four times;
one line of lane swatches says the same once. A lane whose settings changed during the run keeps
its earlier labels in the key, with the step of each change, so its past curve is never relabelled.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

from PySide6 import QtCore, QtGui, QtWidgets

from muonscope.widgets.lane_names import LaneNames
from muonscope.widgets.steady_label import SteadyLabel
from muonscope.widgets.theme import StageStyle, lane_colour, stage_style

__all__ = ["LaneKey", "LaneKeyEntry"]

#: Point size of the key at scale 1.
KEY_PT = 9.0
#: The latest changes of a lane the key names (with its first label); its tooltip tells them all.
KEY_CHANGES = 2


@dataclass(frozen=True)
class LaneKeyEntry:
    """A lane's colour position, its label now, and the labels it had before: (label, changed at step)."""

    position: int
    label: str
    earlier: tuple[tuple[str, int], ...] = ()

    @property
    def names(self) -> LaneNames:
        return LaneNames(self.label, self.earlier)

    def text(self) -> str:
        """``SGD lr=128 → SignGD lr=0.01 (step 581)``: its first label and its latest KEY_CHANGES
        changes, the others counted."""
        return self.names.text(KEY_CHANGES)

    def whole_text(self) -> str:
        """Every label the lane had, each with the step it took over."""
        return self.names.text()


class LaneKey(SteadyLabel):
    """A line of coloured swatches and lane labels; it wraps when the window is narrow."""

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("lane_key")
        self.setTextFormat(QtCore.Qt.TextFormat.RichText)
        self.setContentsMargins(6, 0, 6, 0)
        self._entries: tuple[LaneKeyEntry, ...] = ()
        self._note = ""
        self._note_alone = ""  # the note as a panel drawn alone words it
        self.apply_style(stage_style())

    def set_lanes(self, entries: list[LaneKeyEntry]) -> None:
        entries = tuple(entries)
        if entries == self._entries:
            return
        self._entries = entries
        self._render()

    def set_note(self, note: str, alone: str | None = None) -> None:
        """A last item after the lanes, e.g. what the faint curves are ("" removes it); ``alone``:
        its words under a panel drawn alone (default: the same), where "in ② and ④" named panels
        the picture does not hold."""
        self._note_alone = note if alone is None else alone
        if note != self._note:
            self._note = note
            self._render()

    @property
    def note(self) -> str:
        return self._note

    @property
    def entries(self) -> tuple[LaneKeyEntry, ...]:
        return self._entries

    def legend_entries(self) -> list[tuple[int | None, str]]:
        """What a panel drawn alone names under its plot: (colour position, text) per lane, then
        the note (position None), which says what its faint curves are: a picture of a fork lost it."""
        entries: list[tuple[int | None, str]] = [(entry.position, entry.text()) for entry in self._entries]
        return [*entries, (None, self._note_alone)] if self._note else entries

    def plain_text(self) -> str:
        """What the key says, without its markup: one lane per line."""
        return "\n".join(entry.text() for entry in self._entries)

    def apply_style(self, style: StageStyle) -> None:
        font = QtGui.QFont()
        font.setPointSizeF(style.font_pt(KEY_PT))
        self.setFont(font)
        palette = self.palette()
        palette.setColor(QtGui.QPalette.ColorRole.WindowText, QtGui.QColor(style.colours.foreground))
        self.setPalette(palette)  # a palette, not a style sheet: style sheets slow every repaint
        self._render()

    def _render(self) -> None:
        swatches = [
            f'<span style="color:{lane_colour(entry.position)}; font-weight:bold">━━</span>&nbsp;'
            f"{_unbroken(entry.text())}"
            for entry in self._entries
        ]
        if self._note:
            # whole on one line: "dotted," ending one line and "faint: main" the next read as two notes
            swatches.append(f"<i>{html.escape(self._note).replace(' ', '&nbsp;')}</i>")
        self.setText("&nbsp;&nbsp;&nbsp; ".join(swatches))
        shortened = any(entry.text() != entry.whole_text() for entry in self._entries)
        self.setToolTip("\n".join(entry.whole_text() for entry in self._entries) if shortened else "")


def _unbroken(text: str) -> str:
    """An entry's text as HTML that wraps only after its arrows: a line break inside one lane's
    settings ("Muon post μ=0.95 ema" | "exact lr=0.3") read as two lanes. Spaces become non-breaking,
    except the one after each "→", where a lane's history may go on to the next line; a hyphen is
    held to the word after it by a word joiner ("SGD-" ended a line away from "momentum")."""
    parts = [html.escape(part).replace(" ", "&nbsp;").replace("-", "-&#8288;") for part in text.split(" → ")]
    return " → ".join(parts)
