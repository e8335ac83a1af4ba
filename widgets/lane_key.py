"""One key for the lanes, shared by the four panels and placed above them, off the data.

A legend inside each plot covers curves on a laptop or a projector and repeats itself four times;
one line of lane swatches says the same once. A lane whose settings changed during the run keeps
its earlier labels in the key, with the step of each change, so its past curve is never relabelled.
A click on a lane in the key puts it in focus (:mod:`widgets.lane_focus`) and a second click takes it
out: the key greys the other lanes, as the panels fade their curves.
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
    """A line of coloured swatches and lane labels; it wraps when the window is narrow. Each lane
    is a link: clicked (or Tab then Enter), it asks for that lane in focus, or for none if it is."""

    #: The lane in focus now, by position (None: none), when the key's focus changes.
    focus_changed = QtCore.Signal(object)

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("lane_key")
        self.setTextFormat(QtCore.Qt.TextFormat.RichText)
        self.setTextInteractionFlags(
            QtCore.Qt.TextInteractionFlag.LinksAccessibleByMouse
            | QtCore.Qt.TextInteractionFlag.LinksAccessibleByKeyboard
        )
        # reached by Tab, not taken by a click: after a click on a lane, Space still plays the run
        self.setFocusPolicy(QtCore.Qt.FocusPolicy.TabFocus)
        self.linkActivated.connect(self._on_link)
        self.setContentsMargins(6, 0, 6, 0)
        self._entries: tuple[LaneKeyEntry, ...] = ()
        self._focus: int | None = None
        self._foreground = stage_style().colours.foreground
        self._background = stage_style().colours.background
        self._note = ""
        self._note_alone = ""  # the note as a panel drawn alone words it
        self.apply_style(stage_style())

    def set_lanes(self, entries: list[LaneKeyEntry]) -> None:
        entries = tuple(entries)
        if entries == self._entries:
            return
        self._entries = entries
        if self._focus is not None and self._focus >= len(entries):
            self.set_focus(None)  # its lane is gone
        self._render()

    @property
    def focus(self) -> int | None:
        """The position of the lane in focus, None when no lane is."""
        return self._focus

    def set_focus(self, position: int | None) -> None:
        """Put the lane at ``position`` in focus (None: none); says so by :attr:`focus_changed`."""
        if position is not None and position < 0:
            raise ValueError(f"lane position {position} must be 0 or more")
        if position == self._focus:
            return
        self._focus = position
        self._render()
        self.focus_changed.emit(position)

    def _on_link(self, link: str) -> None:
        position = int(link.removeprefix("lane:"))
        self.set_focus(None if position == self._focus else position)

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
        """What a panel drawn alone names under its plot: (colour position, text) per lane, the lane
        in focus said so, then the note (position None), which says what its faint curves are: a
        picture of a fork lost it."""
        entries: list[tuple[int | None, str]] = [
            (entry.position, entry.text() + (" (in focus)" if entry.position == self._focus else ""))
            for entry in self._entries
        ]
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
        self._foreground, self._background = style.colours.foreground, style.colours.background
        self._render()

    def _render(self) -> None:
        swatches = [self._entry_html(entry) for entry in self._entries]
        if self._note:
            # whole on one line: "dotted," ending one line and "faint: main" the next read as two notes
            swatches.append(f"<i>{html.escape(self._note).replace(' ', '&nbsp;')}</i>")
        self.setText("&nbsp;&nbsp;&nbsp; ".join(swatches))
        shortened = any(entry.text() != entry.whole_text() for entry in self._entries)
        whole = "\n".join(entry.whole_text() for entry in self._entries) if shortened else ""
        focus = "a click on a lane shows it in focus" if self._focus is None else "a second click: all alike"
        self.setToolTip(f"{whole}\n({focus})" if whole else f"({focus})")

    def _entry_html(self, entry: LaneKeyEntry) -> str:
        """A lane's swatch and label as a link to its focus; greyed while another lane is in focus
        (a link, not underlined: eight underlined labels read as eight warnings)."""
        faded = self._focus is not None and entry.position != self._focus
        swatch, text = lane_colour(entry.position), self._foreground
        if faded:  # as faint as the panels draw the lane's curves, a little more for text to be read
            swatch, text = _towards(swatch, self._background, 0.7), _towards(text, self._background, 0.55)
        weight = "; font-weight:bold" if entry.position == self._focus else ""
        return (
            f'<a href="lane:{entry.position}" style="color:{text}; text-decoration:none{weight}">'
            f'<span style="color:{swatch}; font-weight:bold">━━</span>&nbsp;{_unbroken(entry.text())}</a>'
        )


def _towards(colour: str, other: str, share: float) -> str:
    """``colour`` moved ``share`` of the way to ``other`` (both ``#RRGGBB``)."""
    start, end = QtGui.QColor(colour), QtGui.QColor(other)
    mixed = [round(a + share * (b - a)) for a, b in zip(start.getRgb()[:3], end.getRgb()[:3], strict=True)]
    return QtGui.QColor(*mixed).name()


def _unbroken(text: str) -> str:
    """An entry's text as HTML that wraps only after its arrows: a line break inside one lane's
    settings ("Muon post μ=0.95 ema" | "exact lr=0.3") read as two lanes. Spaces become non-breaking,
    except the one after each "→", where a lane's history may go on to the next line; a hyphen is
    held to the word after it by a word joiner ("SGD-" ended a line away from "momentum")."""
    parts = [html.escape(part).replace(" ", "&nbsp;").replace("-", "-&#8288;") for part in text.split(" → ")]
    return " → ".join(parts)
