"""The row above a panel's plot: its title, a key to its line styles and its mode boxes.

Headers share a quarter of the window beside the controls, at the desk and on a projector at up to
3× the font, so what they show is decided by the room they have: a box shows its option whole where
there is room and cut where not; greyed boxes are left out where every box does not fit; on a stage
the boxes move to a row of their own under the title rather than being cut to "heat …".
"""

from __future__ import annotations

from PySide6 import QtCore, QtGui, QtWidgets

from muonscope.widgets.mode_box import ModeBox
from muonscope.widgets.style_key import StyleKey
from muonscope.widgets.title_label import TitleLabel

__all__ = ["LEAST_MODE_CHARS", "PanelHeader"]

#: The characters a header's mode box keeps when the header is short of room.
LEAST_MODE_CHARS = 6
#: A greyed mode box's share of its header's spare room against the strip's leading space's 1: the
#: box grows to its whole option first, the rest of the room stays to the left of the boxes.
_GREYED_STRETCH = 1000
#: The header row's left and right margins together, in pixels.
_ROW_MARGINS_PX = 8


class PanelHeader(QtWidgets.QVBoxLayout):
    """A title and a strip of mode boxes (and buttons) on one row, or the strip under the title.

    A layout within the panel's, not a widget of its own: the panel's least width follows its boxes
    at once as they are shown or left out, where a widget's would follow at the event loop's next
    turn (a window that showed its controls dock meanwhile weighed boxes just left out and grew).
    The panel tells it when its width changes (:meth:`fit`).
    """

    mode_changed = QtCore.Signal(str, str)  # (switch name, value)

    def __init__(self, title: str) -> None:
        super().__init__()
        self._on_stage = False  # drawn in a presentation style: mode boxes that do not apply are left out
        self.modes: dict[str, ModeBox] = {}
        self._modes_apply = True  # False: the panel does not apply to the task and every box is greyed
        self._title = TitleLabel(title)
        self._title.setObjectName("title")
        self._row = QtWidgets.QHBoxLayout()
        self._row.setContentsMargins(_ROW_MARGINS_PX // 2, 2, _ROW_MARGINS_PX // 2, 0)
        self._row.addWidget(self._title)
        self.style_key = StyleKey()  # which line style draws what, where a lane has more than one curve
        self._row.addWidget(self.style_key)
        self._build_mode_strip()
        self._row.addWidget(self._mode_strip)
        # on a stage, a row of its own for the strip, under the title, where the header is too short
        self._strip_row = QtWidgets.QHBoxLayout()
        self._strip_row.setContentsMargins(_ROW_MARGINS_PX // 2, 0, _ROW_MARGINS_PX // 2, 0)
        self.setContentsMargins(0, 0, 0, 0)
        self.setSpacing(0)
        self.addLayout(self._row)
        self.addLayout(self._strip_row)

    def _build_mode_strip(self) -> None:
        """The mode boxes sit in a strip of their own: greying the strip greys them all (a panel that
        does not apply to the task) and gives each back its own state when the panel applies again.
        The strip takes the header's spare room, right-aligns its boxes and gives that room to its
        greyed boxes first (up to their whole option), so they are cut only where room is short."""
        self._mode_strip = QtWidgets.QWidget()
        strip_layout = QtWidgets.QHBoxLayout(self._mode_strip)
        strip_layout.setContentsMargins(0, 0, 0, 0)
        strip_layout.addStretch(1)
        # Expanding rather than a stretch factor: the spare room goes to it, while a short header
        # still takes its room from every item in proportion (a stretch factor made it give first)
        self._mode_strip.setSizePolicy(
            QtWidgets.QSizePolicy.Policy.Expanding, QtWidgets.QSizePolicy.Policy.Preferred
        )

    # ---- the title ---------------------------------------------------------------------------

    def show_title(self, title: str) -> None:
        """A long title keeps its head and is cut with "…" where the header is short of room,
        rather than widening the window."""
        self._title.set_title(title)

    @property
    def title(self) -> str:
        """The whole title (the header may show it cut)."""
        return self._title.full_title

    @property
    def shown_title(self) -> str:
        """The title as the header draws it ("…" where it is cut)."""
        return self._title.shown_title

    def set_look(self, font: QtGui.QFont, foreground: str, on_stage: bool) -> None:
        """The title's font and colour, the style key's colour, and whether a stage draws the header."""
        self._on_stage = on_stage
        self._title.setFont(font)  # bold at that size: a title stays bold
        palette = self._title.palette()
        palette.setColor(QtGui.QPalette.ColorRole.WindowText, QtGui.QColor(foreground))
        self._title.setPalette(palette)
        self.style_key.setPalette(palette)
        self.fit()  # at the stage's font: which boxes fit, and on which row

    # ---- mode boxes --------------------------------------------------------------------------

    def add_mode(self, name: str, options: list[tuple[str, str]], tooltip: str = "") -> ModeBox:
        """A combo of (value, text) options; emits ``mode_changed(name, value)``."""
        combo = ModeBox(LEAST_MODE_CHARS)
        combo.setObjectName(f"{name}_mode")
        combo.setToolTip(tooltip)
        panel = self._title.text().split(" ", 1)[0]  # "①": which panel's box a screen reader is in
        combo.setAccessibleName(f"{panel} {name}")
        combo.setAccessibleDescription(tooltip)
        for value, text in options:
            combo.addItem(text, value)
        combo.currentIndexChanged.connect(
            lambda _i, n=name, c=combo: self.mode_changed.emit(n, c.currentData())
        )
        self._mode_strip.layout().addWidget(combo)
        self.modes[name] = combo
        combo.installEventFilter(self)  # its enabled state decides whether a stage shows it
        combo.currentIndexChanged.connect(lambda _i: self._place_mode_strip())  # its width changed
        combo.model().modelReset.connect(self._place_mode_strip)
        return combo

    def set_modes_enabled(self, enabled: bool) -> None:
        """Grey every mode box (the panel does not apply to the task), or give each its own state back."""
        self._modes_apply = enabled
        self._mode_strip.setEnabled(enabled)

    @property
    def shown_modes(self) -> tuple[str, ...]:
        """The names of the mode boxes the header shows."""
        return tuple(name for name, box in self.modes.items() if not box.isHidden())

    @property
    def left_out_px(self) -> int:
        """The width of the greyed boxes a short header leaves out, spacing included (none on a stage,
        which leaves them out whatever its room)."""
        if self._on_stage:
            return 0
        spacing = max(self._row.spacing(), 0)
        return sum(box.minimumSizeHint().width() + spacing for box in self.modes.values() if box.isHidden())

    @property
    def mode_boxes_below_title(self) -> bool:
        """Whether the mode boxes sit on a row of their own under the title (on a short stage header)."""
        return self._strip_row.indexOf(self._mode_strip) >= 0

    # ---- the strip's other widgets -----------------------------------------------------------

    @property
    def controls_shown(self) -> bool:
        """Whether the header shows its mode boxes and buttons (see :meth:`show_controls`)."""
        return not self._mode_strip.isHidden()

    def show_controls(self, shown: bool) -> None:
        """Show or hide the mode boxes and buttons, as a picture of the panel alone does."""
        self._mode_strip.setVisible(shown)
        self._place_mode_strip()

    def add_control(self, widget: QtWidgets.QWidget) -> None:
        """A button or indicator after the mode boxes, shown and hidden with them."""
        self._mode_strip.layout().addWidget(widget)

    def settle(self) -> None:
        """Lay the strip out now (see :meth:`PlotPanel.settle_header`)."""
        self._mode_strip.layout().activate()

    # ---- room ----------------------------------------------------------------------------------

    def eventFilter(self, watched: QtCore.QObject, event: QtCore.QEvent) -> bool:
        if event.type() == QtCore.QEvent.Type.EnabledChange and watched in self.modes.values():
            self.fit()
            self._mode_strip.layout().setStretchFactor(watched, 0 if watched.isEnabled() else _GREYED_STRETCH)
        return super().eventFilter(watched, event)

    def fit(self) -> None:
        """Show the boxes that fit the panel's width now, on the row where they fit.

        At the desk every mode box shows, greyed where it does not apply (so it can be found), while
        the header has room for them all; on a stage, or in a header too short for every box, those
        are left out: greyed text tells a room nothing, and the room it took cut the boxes that do
        apply ("error vs r…" beside "mean e…" and "lane 0" at 1280×720)."""
        keep_greyed = not self._on_stage and self._fits_every_box()
        for box in self.modes.values():
            box.setVisible((self._modes_apply and box.isEnabledTo(self._mode_strip)) or keep_greyed)
        self._place_mode_strip()

    def _place_mode_strip(self) -> None:
        """On a stage, a header too short for its title and every box it shows, whole, puts the boxes
        on a row of their own under the title: cut to "heat …" and "mean er…" at 1280×720 with six
        lanes, they told a room nothing. At the desk they are cut, with their options as tooltips,
        rather than taking the plot's height."""
        below = self._on_stage and not self._mode_strip.isHidden() and not self._holds_strip()
        if below == self.mode_boxes_below_title:
            return
        (self._row if below else self._strip_row).removeWidget(self._mode_strip)
        (self._strip_row if below else self._row).addWidget(self._mode_strip)

    def _holds_strip(self) -> bool:
        """Whether one row holds the title, the style key and the strip's shown widgets whole."""
        direct = QtCore.Qt.FindChildOption.FindDirectChildrenOnly
        children = self._mode_strip.findChildren(QtWidgets.QWidget, options=direct)
        shown = [w for w in children if not w.isHidden()]
        return self._row_holds(
            [w.whole_width if isinstance(w, ModeBox) else w.sizeHint().width() for w in shown]
        )

    def _fits_every_box(self) -> bool:
        """Whether the row is wide enough for its title, style key and every mode box whole."""
        return self._row_holds([box.sizeHint().width() for box in self.modes.values()])

    def _row_holds(self, widths: list[int]) -> bool:
        """Whether the row holds the title, the style key (if shown) and widgets of ``widths``."""
        widths = [*widths, self._title.sizeHint().width()]
        if not self.style_key.isHidden():
            widths.append(self.style_key.sizeHint().width())
        spacing = max(self._row.spacing(), 0)
        panel = self.parentWidget()
        room_px = 0 if panel is None else panel.width()
        return sum(widths) + spacing * len(widths) + _ROW_MARGINS_PX <= room_px
