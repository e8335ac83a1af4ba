"""A plot under a header (:class:`~muonscope.widgets.panel_header.PanelHeader`): a title and the panel's
mode switches."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager

import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from muonscope.widgets.axes import DecadeAxis, decade_axes
from muonscope.widgets.axis_style import cache_axes, plain_units, room_for_the_top_tick, style_axes
from muonscope.widgets.corner_note import CornerNote
from muonscope.widgets.data_table import DataTable
from muonscope.widgets.hover import HoverReadout
from muonscope.widgets.lane_focus import show_focus
from muonscope.widgets.lane_legend_item import lane_legend_item, preferred_height_px
from muonscope.widgets.mode_box import ModeBox
from muonscope.widgets.panel_header import PanelHeader
from muonscope.widgets.theme import StageStyle, stage_style

__all__ = ["EXPORTS", "PlotPanel", "keep_keys_off"]

#: The row of the plot's layout, under the bottom axis (and a sweep's legend), for an export's lane legend.
EXPORT_LEGEND_ROW = 5
#: Point size of a panel's header at scale 1 (its axes' text: :mod:`widgets.axis_style`).
TITLE_PT = 9.0
#: Pixels at least between a placeholder's text and the plot's edges.
_PLACEHOLDER_PADDING_PX = 12
#: (kind, menu text) of what a panel can be written as.
EXPORTS = (("png", "Export PNG…"), ("svg", "Export SVG…"), ("csv", "Export data as CSV…"))


def keep_keys_off(view: QtWidgets.QGraphicsView) -> None:
    """Keep a plot out of the Tab chain and off clicks' focus: it shows no focus and takes no key,
    and Tab from the stage stopped on each plot (and on its viewport) with nothing to show for it.
    A click on it gives the keys to the stage around it, where Space, ← and → work."""
    for widget in (view, view.viewport()):
        widget.setFocusPolicy(QtCore.Qt.FocusPolicy.NoFocus)


class PlotPanel(QtWidgets.QWidget):
    """Header (title, mode combo boxes) above one pyqtgraph plot.

    Subclasses add their curves to ``self.plot`` and read their modes from the combos they
    declare with :meth:`add_mode`.
    """

    mode_changed = QtCore.Signal(str, str)  # (switch name, value)
    export_requested = QtCore.Signal(str)  # "png", "svg" or "csv": the app asks where and writes
    legend: pg.LegendItem | None = None  # only for curves that are not lanes (lanes: the shared key)
    hover: HoverReadout  # panels with lane curves create it
    #: Whether the panel draws a compared branch's curves, faint and dotted (② and ④ do).
    draws_compared_branch = False

    def __init__(
        self,
        title: str,
        parent: QtWidgets.QWidget | None = None,
        axis_items: dict[str, DecadeAxis] | None = None,
    ) -> None:
        """``axis_items``: the plot's left and bottom axes, where a panel needs its own kind."""
        super().__init__(parent)
        self._base_title, self._step_in_title = title, False  # the title, and whether it names the step
        self.header = PanelHeader(title)
        self.header.mode_changed.connect(self.mode_changed)
        self.modes: dict[str, ModeBox] = self.header.modes
        self.style_key = self.header.style_key  # which line style draws what (lanes with several curves)
        self.plot_widget = pg.PlotWidget(axisItems=axis_items or decade_axes())
        keep_keys_off(self.plot_widget)
        self.plot: pg.PlotItem = self.plot_widget.getPlotItem()
        self.plot.showGrid(x=True, y=True, alpha=0.15)
        cache_axes(self.plot)
        plain_units(self.plot)
        self.plot.setMenuEnabled(False)
        self.plot.hideButtons()
        room_for_the_top_tick(self.plot, QtGui.QFont())  # at the desk too: ③'s colour bar cut its "1.0"
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addLayout(self.header)
        layout.addWidget(self.plot_widget, 1)
        self._key_lanes: tuple[tuple[int | None, str], ...] = ()  # the window key's lanes, as given
        self._legend_lanes: tuple[tuple[int | None, str], ...] = ()  # of those, named under the plot
        self._lane_legend_item: pg.LegendItem | None = None
        self._shown_step: int | None = None  # a panel drawn from one step's snapshot: which one
        self._build_placeholder()
        self._empty_text: str | None = None
        self._unavailable: str | None = None  # why the panel does not apply to the task, if it does not
        self._note = CornerNote(self.plot)
        self.plot.getViewBox().sigRangeChanged.connect(self._place_note)
        self.plot.getViewBox().sigResized.connect(self._place_note)
        self.plot_widget.installEventFilter(self)
        self._build_export_menu()

    def _build_placeholder(self) -> None:
        """The text over an empty plot that says why it is empty (hidden until it is)."""
        self._placeholder = QtWidgets.QLabel(self.plot_widget)
        self._placeholder.setObjectName("placeholder")
        self._placeholder.setWordWrap(True)
        self._placeholder.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
        self._placeholder.setAttribute(QtCore.Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self._placeholder.hide()
        self._style_placeholder("#ffffff", "#555555")

    def add_mode(self, name: str, options: list[tuple[str, str]], tooltip: str = "") -> ModeBox:
        """A combo of (value, text) options in the header; emits ``mode_changed(name, value)``."""
        return self.header.add_mode(name, options, tooltip)

    def mode(self, name: str) -> str:
        return self.modes[name].currentData()

    def set_option_state(self, name: str, value: str, enabled: bool, reason: str = "") -> None:
        """Grey one option of mode box ``name`` that does not apply, with ``reason`` as its tooltip."""
        combo = self.modes[name]
        row = combo.findData(value)
        if row < 0:
            raise ValueError(f"{name} has no option {value!r}")
        combo.model().item(row).setEnabled(enabled)
        combo.setItemData(row, None if enabled else reason, QtCore.Qt.ItemDataRole.ToolTipRole)

    def set_mode(self, name: str, value: str) -> None:
        combo = self.modes[name]
        index = combo.findData(value)
        if index < 0:
            raise ValueError(f"{name} has no mode {value!r}")
        combo.setCurrentIndex(index)

    def remove_lane_curves(self, curves: Iterable[pg.PlotDataItem]) -> None:
        """Take a lane set's curves off the plot, with their hover series."""
        for curve in curves:
            self.plot.removeItem(curve)
        self.hover.clear()

    def apply_style(self, style: StageStyle) -> None:
        """Redraw the panel's chrome (background, axes, text) at the stage's scale and in its theme.

        Lane curves are not touched here: their pens come from ``lane_pen`` when the lanes are
        (re)created, which the application asks for after a style change.
        """
        colours = style.colours
        self.plot_widget.setBackground(colours.background)
        style_axes(self.plot, style)
        font = QtGui.QFont()
        font.setPointSizeF(style.font_pt(TITLE_PT))
        self.setFont(font)  # the header: title and mode boxes
        self.header.set_look(font, colours.foreground, on_stage=style != StageStyle())
        self._placeholder.setFont(font)
        self._style_placeholder(colours.background, colours.muted)
        self._place_placeholder()
        self._note.set_look(colours.foreground, colours.background, font)
        self._note.place()

    def show_lane_focus(self) -> None:
        """Draw the lane in focus as it is and every other lane faint (:mod:`widgets.lane_focus`);
        the items of both of ④'s axes, and of a sweep, are in the one scene."""
        show_focus(self.plot_widget.scene().items())

    def show_grid(self, shown: bool) -> None:
        """The grid over curves, none over a heat map: its lines crossed every cell and, on a dark
        stage, read as borders between steps that are not there."""
        alpha = stage_style().colours.grid_alpha if shown else False
        for side in ("left", "bottom"):
            self.plot.getAxis(side).setGrid(alpha)

    def set_title(self, title: str) -> None:
        """A long title (a style key, a lane and a step, 3× on a projector) keeps its head and is cut
        with "…" where the header is short of room, rather than widening the window."""
        self._base_title = title
        self._show_title()

    def show_step_in_title(self, shown: bool) -> None:
        """Name the step drawn in the title ("① spectra σ_k · step 40"), as a panel pictured alone
        does: recorded by itself, its spectra moved with no step anywhere in the video, which the
        window's timeline and caption say on screen."""
        self._step_in_title = shown
        self._show_title()

    @property
    def pictured_step(self) -> int | None:
        """The step the panel draws, as its title names it when pictured alone (None: not a step's)."""
        return self._shown_step

    def _show_title(self) -> None:
        step = self.pictured_step if self._step_in_title else None
        self.header.show_title(self._base_title if step is None else f"{self._base_title} · step {step}")

    @property
    def title(self) -> str:
        """The panel's whole title (the header may show it cut)."""
        return self.header.title

    @property
    def shown_title(self) -> str:
        """The title as the header draws it ("…" where it is cut)."""
        return self.header.shown_title

    def set_note(self, text: str) -> None:
        """A short line in a corner of the plot on what the curves are of ("spectra of step 77");
        "" takes it away. Part of the plot, so a picture of the panel keeps it. Set again each
        frame, it moves to another corner when the curves come to lie under it."""
        self._note.set_text(text)
        self._note.place()

    @property
    def note(self) -> str:
        """The corner note shown ("" when none)."""
        return self._note.text

    @property
    def note_corner(self) -> str:
        """Where the note stands: one of :data:`~muonscope.widgets.corner_note.PLACES` ("top right")."""
        return self._note.corner

    @property
    def note_under_curves(self) -> bool:
        """Whether the corner note is drawn beneath the curves, since every place for it covers some."""
        return self._note.under_curves

    @property
    def note_scene_rect(self) -> QtCore.QRectF:
        """Where the corner note is drawn, in scene coordinates (those of the plot's view box)."""
        return self._note.item.sceneBoundingRect()

    def _note_rect(self) -> QtCore.QRectF | None:
        """Where the corner note stands (scene coordinates), None while none is shown."""
        return self.note_scene_rect if self.note else None

    def _place_note(self, *_args) -> None:
        self._note.place()

    def set_placeholder(self, text: str | None) -> None:
        """Say over the plot why it stays empty (e.g. the task has no classes); None removes it."""
        if text is None:
            self._placeholder.hide()
            return
        self._placeholder.setText(text)
        self._place_placeholder()
        self._placeholder.show()
        self._placeholder.raise_()

    def set_unavailable(self, reason: str | None) -> None:
        """The panel does not apply to the task (``reason`` says why over the plot) or, with None, does.

        Its mode boxes then choose nothing: greyed at the desk, left out on a stage (a spiked stream's
        panel ③ offered "not recovered vs rank" above "has no classes")."""
        self._unavailable = reason
        self.header.set_modes_enabled(reason is None)
        self.show_why_empty()

    @property
    def unavailable(self) -> str | None:
        """Why the panel does not apply to the task, or None where it does."""
        return self._unavailable

    def set_empty_text(self, text: str | None) -> None:
        """What the panel says while it has nothing to draw: what it would show and why it is empty."""
        self._empty_text = text
        self.show_why_empty()

    def show_why_empty(self) -> None:
        """Show (or take away) the placeholder after the panel's data or mode changed."""
        text = self._unavailable or self.why_empty()
        if text != self.placeholder:
            self.set_placeholder(text)

    def why_empty(self) -> str | None:
        """The placeholder's text now: the empty text while nothing is drawn (panels that track it)."""
        return None

    @property
    def empty_text(self) -> str | None:
        return self._empty_text

    @property
    def placeholder(self) -> str | None:
        """The text shown over the plot, or None when the plot speaks for itself."""
        return None if self._placeholder.isHidden() else self._placeholder.text()

    def eventFilter(self, watched: QtCore.QObject, event: QtCore.QEvent) -> bool:
        if watched is self.plot_widget and event.type() == QtCore.QEvent.Type.Resize:
            self._place_placeholder()
        return super().eventFilter(watched, event)

    @property
    def mode_boxes_below_title(self) -> bool:
        """Whether the mode boxes sit on a row of their own under the title (on a short stage header)."""
        return self.header.mode_boxes_below_title

    def resizeEvent(self, event: QtGui.QResizeEvent) -> None:
        super().resizeEvent(event)
        self.header.fit()

    def minimumSizeHint(self) -> QtCore.QSize:
        """As wide as with the greyed boxes a short header leaves out: the window weighs its room
        for a dock beside the plots by this, and a dock placed there squeezed the plots further."""
        hint = super().minimumSizeHint()
        return QtCore.QSize(hint.width() + self.header.left_out_px, hint.height())

    @property
    def shown_modes(self) -> tuple[str, ...]:
        """The names of the mode boxes the header shows."""
        return self.header.shown_modes

    def _style_placeholder(self, background: str, text: str) -> None:
        """Opaque in the plot's own background: the axes' ticks and titles behind an empty plot say
        nothing true (panel ③ of a spiked stream showed "not recovered" from 0.2 to 0.8)."""
        self._placeholder.setStyleSheet(f"color: {text}; background: {background};")

    def _place_placeholder(self) -> None:
        """Cover the whole plot, axes included, with the text wrapped to two thirds of its width."""
        width, height = self.plot_widget.width(), self.plot_widget.height()
        side_px = max((width - max(width * 2 // 3, 120)) // 2, _PLACEHOLDER_PADDING_PX)
        self._placeholder.setContentsMargins(
            side_px, _PLACEHOLDER_PADDING_PX, side_px, _PLACEHOLDER_PADDING_PX
        )
        self._placeholder.setGeometry(0, 0, width, height)

    # ---- export ------------------------------------------------------------------------------

    def data_table(self) -> DataTable:
        """What the plot shows, as (column names, rows): the numbers its curves were given."""
        raise NotImplementedError(f"{type(self).__name__} does not say what it shows as a table")

    def set_shown_step(self, step: int | None) -> None:
        """The step whose snapshot the panel draws: ① and ③'s tables name it in their columns, since
        a CSV carries neither the timeline nor the caption that say it on screen."""
        self._shown_step = step
        if self._step_in_title:
            self._show_title()

    def _at_shown_step(self) -> str:
        """ " at step 40" for a column name, "" where the step is not known."""
        return "" if self._shown_step is None else f" at step {self._shown_step}"

    @contextmanager
    def lane_legend(self, lanes: Iterable[tuple[int | None, str]]) -> Iterator[None]:
        """A legend of (colour position, text) lanes under the plot while a picture of it is taken
        (position None: a note on the faint curves, beside a grey dotted line).

        On screen the lanes are named once, in the window's key above the panels; a panel exported
        alone would otherwise leave its reader guessing which curve is which. The panel grows by
        the legend's height meanwhile (:meth:`legend_height_px`), so that the plot keeps its size:
        at 1280 × 720 four lanes' names took all but 30 pixels of it.
        """
        before, size, step_shown = self._key_lanes, self.size(), self._step_in_title
        controls_shown = self.header_controls_shown
        self.show_header_controls(False)
        self.show_step_in_title(True)
        self.set_lane_legend(lanes)
        QtWidgets.QApplication.processEvents()  # lay the plot out with its legend row
        grown = not self.isWindow() and self._lane_legend_item is not None
        if grown:
            self.resize(size.width(), size.height() + preferred_height_px(self._lane_legend_item))
        try:
            yield
        finally:
            self.set_lane_legend(before)
            self.show_header_controls(controls_shown)
            self.show_step_in_title(step_shown)
            if grown:
                self.resize(size)
            # laid out again now, not at the event loop's next turn: the window written just after
            # a panel showed ④'s mode box where the panel's picture had left it
            QtCore.QCoreApplication.sendPostedEvents(None, QtCore.QEvent.Type.LayoutRequest)

    @property
    def header_controls_shown(self) -> bool:
        """Whether the header shows its mode boxes and buttons (see :meth:`show_header_controls`)."""
        return self.header.controls_shown

    def show_header_controls(self, shown: bool) -> None:
        """Show or hide the header's mode boxes and buttons. A picture of the panel alone (an export,
        a panel recorded by itself) leaves them out: a figure showed a combo box's arrow and ④'s run
        button, and its axes and style key already say what is drawn."""
        self.header.show_controls(shown)

    def add_header_control(self, widget: QtWidgets.QWidget) -> None:
        """A button or indicator after the mode boxes, shown and hidden with them."""
        self.header.add_control(widget)

    def settle_header(self) -> None:
        """Lay the header's strip out now, before a widget beside it is shown.

        Showing a widget lays its window out at once, from the widths its neighbours had when last
        laid out: a sweep's run button and progress bar, hidden a moment before, still counted, and
        the window grew to that passing width (1280 px to 1306) and kept it.
        """
        self.header.settle()

    def legend_height_px(self, lanes: Iterable[tuple[int | None, str]]) -> int:
        """How much taller the panel must be to show a legend of ``lanes`` under a plot of its size."""
        lanes = self.legend_lanes_for(tuple(lanes))
        if not lanes:
            return 0
        return preferred_height_px(lane_legend_item(lanes, self.plot_widget.width()))

    @property
    def named_lanes(self) -> tuple[tuple[int | None, str], ...]:
        """The (colour position, text) lanes the legend under the plot names (none on screen)."""
        return self._legend_lanes

    def set_lane_legend(self, lanes: Iterable[tuple[int | None, str]]) -> None:
        """Keep a legend under the plot of the window key's (colour position, text) ``lanes``, as
        :meth:`legend_lanes_for` words them for this panel; empty removes it.

        Rebuilt only when the lanes change, so a panel recorded alone frame after frame keeps one.
        """
        self._key_lanes = tuple(lanes)
        self._show_lane_legend(self.legend_lanes_for(self._key_lanes))

    def legend_lanes_for(
        self, lanes: tuple[tuple[int | None, str], ...]
    ) -> tuple[tuple[int | None, str], ...]:
        """What the legend under the plot names of the window key's ``lanes``: all of them, and the
        key's note on faint curves (position None) where the panel draws a compared branch; a panel
        that names its lanes itself, or draws one lane, says otherwise.

        ① and ③ alone ended with "dotted, faint: main" under curves of one branch (in ①, dotted
        is also the signal gradient's line)."""
        if self.draws_compared_branch:
            return lanes
        return tuple(lane for lane in lanes if lane[0] is not None)

    def refresh_lane_legend(self) -> None:
        """Word the legend under the plot again, for what the panel draws now (a new view, say)."""
        self._show_lane_legend(self.legend_lanes_for(self._key_lanes))

    def _show_lane_legend(self, lanes: tuple[tuple[int | None, str], ...]) -> None:
        if lanes == self._legend_lanes:
            return
        if self._lane_legend_item is not None:
            self.plot.layout.removeItem(self._lane_legend_item)
            self.plot.scene().removeItem(self._lane_legend_item)
            self._lane_legend_item = None
        self._legend_lanes = lanes
        if lanes:
            legend = lane_legend_item(lanes, self.plot_widget.width())
            self.plot.layout.addItem(legend, EXPORT_LEGEND_ROW, 0, 1, 3)  # under the axes too
            self._lane_legend_item = legend
        # the plot fills its view again: a legend wider than the view had widened it, and the
        # plot stayed wider once the legend went, its right axis past the panel's edge
        width, height = self.plot_widget.width(), self.plot_widget.height()
        self.plot.setGeometry(QtCore.QRectF(0, 0, width, height))

    def _build_export_menu(self) -> None:
        """A right click on the plot offers its exports; pyqtgraph's own menu stays off.

        A click, not a press: a right drag (zooming a heat map) is no click and stays pyqtgraph's.
        """
        self.export_menu = QtWidgets.QMenu(self)
        self.export_menu.setToolTipsVisible(True)
        for kind, text in EXPORTS:
            action = self.export_menu.addAction(text)
            action.triggered.connect(lambda _checked=False, k=kind: self.export_requested.emit(k))
        self.export_menu.aboutToShow.connect(self._offer_exports)
        self.plot.scene().sigMouseClicked.connect(self._on_plot_clicked)

    def _offer_exports(self) -> None:
        """Exports are offered while the plot draws something: over a placeholder alone ("has no
        classes") they were offered and then refused; the placeholder's reason is their tooltip."""
        why = self.placeholder
        for action in self.export_menu.actions():
            action.setEnabled(why is None)
            action.setToolTip(why or action.text())

    def _on_plot_clicked(self, event) -> None:
        if event.button() == QtCore.Qt.MouseButton.RightButton and not event.isAccepted():
            event.accept()
            self.export_menu.popup(event.screenPos().toPoint())
