"""The timeline: one step cursor shared by all panels, with ticks where settings changed.

In the debugger it also shows the run's branches and where the engine is, which need not be the
step the panels show.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from muonscope.widgets.axis_style import style_axes
from muonscope.widgets.branch_label_places import BranchLine, place_branch_labels
from muonscope.widgets.enter_key import press_on_enter
from muonscope.widgets.panel import keep_keys_off
from muonscope.widgets.ranges import show_steps, step_axis_end
from muonscope.widgets.theme import StageStyle, stage_style

__all__ = ["TIMELINE_MAX_PX", "TIMELINE_PX", "BranchMark", "Timeline"]

#: Heights (plot y in [0, 1]) of the layers: branches in a band between the engine marker below
#: and the settings ticks above.
_TICK_Y = 0.88
_BRANCH_BAND = (0.3, 0.62)
#: ... and, with more branches than _FEW_BRANCHES, the wider band they share in a taller strip.
_MANY_BRANCHES_BAND = (0.2, 0.76)
_FEW_BRANCHES = 4
#: Branches from which a stage's strip has its desk height grown by the stage's whole scale.
_STAGE_GROWS_FROM = 3
#: Pixels (at scale 1) the strip grows by for each branch past _FEW_BRANCHES, up to TIMELINE_MAX_PX:
#: six branches in 70 px stood 4 px apart, and the names found no place clear of the other lines.
_BRANCH_ROW_PX = 18
TIMELINE_MAX_PX = 150
_ENGINE_Y = 0.1
_CURRENT_COLOUR = "#0072B2"
#: Height of the timeline's plot at scale 1.
TIMELINE_PX = 70
_OTHER_COLOUR = "#9A9A9A"
#: Another branch's name: darker than its line, which is light to stay behind the current one.
_OTHER_TEXT_COLOUR = "#5A5A5A"
#: Pixels past a branch's head beyond which its name gets a dotted leader from the head.
LEADER_FROM_PX = 8.0
#: Point size of a branch's name at scale 1.
_BRANCH_LABEL_PT = 8.0


@dataclass(frozen=True)
class BranchMark:
    """One branch of the run's history: forked from its parent at ``fork_step``, now at ``head_step``."""

    label: str
    fork_step: int
    head_step: int
    current: bool


class Timeline(QtWidgets.QWidget):
    """Drag the cursor (or click) to look back at an earlier step; ``● live`` follows the run again."""

    cursor_dragged = QtCore.Signal(int)
    live_toggled = QtCore.Signal(bool)
    step_requested = QtCore.Signal(int)  # a click on the timeline

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.plot_widget = pg.PlotWidget()
        keep_keys_off(self.plot_widget)
        self.plot_widget.setFixedHeight(TIMELINE_PX)
        plot = self.plot_widget.getPlotItem()
        plot.hideAxis("left")
        plot.setMenuEnabled(False)
        plot.hideButtons()
        plot.getViewBox().setMouseEnabled(x=False, y=False)
        plot.setYRange(0, 1, padding=0)
        # the first and last steps' labels stand half outside the strip: hidden by default, the
        # axis read "1 … 9" at step 0, with the cursor on the strip's very edge, out of sight
        plot.getAxis("bottom").setStyle(hideOverlappingLabels=False)
        show_steps(plot, 10)
        self.plot = plot
        # in the stage's muted colour, not a lane's: in lane 1's orange it read as lane 1's
        self.cursor = pg.InfiniteLine(pos=0, angle=90, movable=True, pen=_cursor_pen(stage_style()))
        self.cursor.setHoverPen(_cursor_hover_pen(stage_style()))
        self.cursor.sigDragged.connect(self._on_dragged)
        plot.addItem(self.cursor)
        self.change_marks = pg.ScatterPlotItem(symbol="t", size=9, brush=pg.mkBrush("#444444"), pen=None)
        plot.addItem(self.change_marks)
        self._add_branch_items()
        self.engine_marker = pg.ScatterPlotItem(symbol="t1", size=11, brush=pg.mkBrush("#000000"), pen=None)
        self.engine_marker.setToolTip("where the engine is")
        plot.addItem(self.engine_marker)
        plot.scene().sigMouseClicked.connect(self._on_clicked)
        self.live_button = QtWidgets.QToolButton()
        self.live_button.setText("● live")
        self.live_button.setCheckable(True)
        self.live_button.setChecked(True)
        self.live_button.setToolTip("follow the running step; uncheck (or drag the cursor) to look back")
        self.live_button.toggled.connect(self.live_toggled.emit)
        press_on_enter(self.live_button)
        self.step_label = QtWidgets.QLabel("step 0")
        self.step_label.setMinimumWidth(110)
        layout = QtWidgets.QHBoxLayout(self)
        layout.setContentsMargins(4, 0, 4, 0)
        layout.addWidget(self.live_button)
        layout.addWidget(self.step_label)
        layout.addWidget(self.plot_widget, 1)
        self._extent = 0.0  # the axis shows 0–10 until a step is set
        self._run_length: int | None = None
        self._last = 0
        self._branches: tuple[BranchMark, ...] = ()
        self._engine_step: int | None = None
        self._event_steps: list[int] = []
        self._label_pt = _BRANCH_LABEL_PT
        self._stage_scale = 1.0
        self._stage_px = TIMELINE_PX  # the height at the stage's scale, before any room for branch names
        box = plot.getViewBox()
        box.sigResized.connect(self._draw_marks)  # a mark at step 0 keeps half its width inside
        box.sigXRangeChanged.connect(self._draw_marks)

    def apply_style(self, style: StageStyle) -> None:
        """The stage's scale and theme: taller, larger text and a thicker cursor for a talk."""
        self.plot_widget.setBackground(style.colours.background)
        self._stage_scale = style.scale
        self._stage_px = int(TIMELINE_PX * (0.5 + 0.5 * style.scale))  # a taller strip costs the plots
        style_axes(self.plot, style)
        self.cursor.setPen(_cursor_pen(style))
        self.cursor.setHoverPen(_cursor_hover_pen(style))
        # room beside the strip for half of a 5-digit label at either end, at this scale, and below
        # it for the labels' last pixel rows (at 2× on the stage the window's edge cut them)
        tick_metrics = QtGui.QFontMetrics(self.plot.getAxis("bottom").style["tickFont"] or QtGui.QFont())
        half_label_px = tick_metrics.horizontalAdvance("10000") // 2 + 2
        below_px = round(2 * style.scale)
        self.plot.layout.setContentsMargins(half_label_px, 0, half_label_px, below_px)
        # in the theme's text colours: the black ▲ and grey ▼ vanished on the dark stage
        self.engine_marker.setBrush(pg.mkBrush(style.colours.foreground))
        self.change_marks.setBrush(pg.mkBrush(style.colours.muted))
        font = QtGui.QFont()
        font.setPointSizeF(style.font_pt(9.0))
        for widget in (self.live_button, self.step_label):
            widget.setFont(font)
        self.step_label.setMinimumWidth(int(110 * style.scale))
        self._label_pt = style.font_pt(_BRANCH_LABEL_PT)
        self.set_branches(list(self._branches))  # their names at the new size, and the height for them

    def _add_branch_items(self) -> None:
        """One curve for the current branch and one for all others: a set_branches redraws two items."""
        self.current_branch_curve = pg.PlotDataItem(pen=pg.mkPen(_CURRENT_COLOUR, width=3), connect="pairs")
        self.other_branch_curve = pg.PlotDataItem(pen=pg.mkPen(_OTHER_COLOUR, width=2), connect="pairs")
        self.fork_markers = pg.ScatterPlotItem(symbol="o", size=6, pen=None)
        # dotted from a head to its branch's name where the name stands further right, past the
        # lines beside it: without it, the name read as the end of the line below
        leader_pen = pg.mkPen(_OTHER_COLOUR, width=1, style=QtCore.Qt.PenStyle.DotLine)
        self.name_leaders = pg.PlotDataItem(pen=leader_pen, connect="pairs")
        for item in (
            self.other_branch_curve,
            self.current_branch_curve,
            self.fork_markers,
            self.name_leaders,
        ):
            item.setZValue(-5)  # under the cursor, which stays easy to grab
            self.plot.addItem(item)
        self.branch_labels: list[pg.TextItem] = []
        self._branch_hover: list[QtWidgets.QGraphicsRectItem] = []
        box = self.plot.getViewBox()
        box.sigResized.connect(self._place_branch_labels)
        box.sigXRangeChanged.connect(self._place_branch_labels)

    @property
    def live(self) -> bool:
        return self.live_button.isChecked()

    @property
    def branches(self) -> tuple[BranchMark, ...]:
        return self._branches

    @property
    def engine_step(self) -> int | None:
        """The step the engine's state is at (None: not shown)."""
        return self._engine_step

    def set_extent(self, last_step: int) -> None:
        """The newest step the run has reached; the axis grows in round jumps."""
        self._last = last_step
        self.cursor.setBounds((0, max(last_step, 0)))
        self._grow_axis(last_step)

    def set_run_length(self, steps: int | None) -> None:
        """The run's length: the axis ends there while the run is within it (as ② and ④ do).

        A new length fits the axis again: branches drawn while a rewound session's shorter length
        held had grown it to 70, and a fork shot to step 60 kept that beside ② and ④ ending at 60.
        """
        if steps == self._run_length:
            return
        self._run_length = steps
        self._extent = 0.0
        heads = [branch.head_step for branch in self._branches]
        self._grow_axis(max([self._last, *heads]))

    def _known_end(self) -> int | None:
        """Where the axis may end without rounding up: the run's length, or the newest step of another
        branch where one runs further, as it will not grow (a fork at step 30,000 of a 150,000-step
        main stretched the axis to 200,000)."""
        others = [branch.head_step for branch in self._branches if not branch.current]
        if self._run_length is None and not others:
            return None
        return max([self._run_length or 0, *others])

    def _grow_axis(self, step: float) -> None:
        end = step_axis_end(step, self._known_end())
        if end > self._extent:  # the same ends as ② and ④ at every step
            self._extent = end
            show_steps(self.plot, self._extent)

    def set_branches(self, branches: list[BranchMark]) -> None:
        """Draw each branch from its fork to its head on a line of its own; the current one stands out."""
        known_end = self._known_end()
        self._branches = tuple(branches)
        if self._known_end() != known_end:  # fitted again, as for a new run length
            self._extent = 0.0
        for item in (*self.branch_labels, *self._branch_hover):
            self.plot.removeItem(item)
        self.branch_labels, self._branch_hover = [], []
        current_x, current_y, other_x, other_y, forks = [], [], [], [], []
        for branch, y in zip(self._branches, _branch_heights(len(self._branches)), strict=True):
            xs, ys = (current_x, current_y) if branch.current else (other_x, other_y)
            xs += [branch.fork_step, branch.head_step]
            ys += [y, y]
            colour = _CURRENT_COLOUR if branch.current else _OTHER_COLOUR
            forks.append({"pos": (branch.fork_step, y), "brush": pg.mkBrush(colour)})
            self.branch_labels.append(self._branch_label(branch))
            self._branch_hover.append(self._hover_band(branch, y))
        self.current_branch_curve.setData(current_x, current_y)
        self.other_branch_curve.setData(other_x, other_y)
        self.fork_markers.setData(forks)
        self._fit_height()
        self._grow_axis(max([self._last, *(branch.head_step for branch in self._branches)]))
        self._place_branch_labels()

    def _fit_height(self) -> None:
        """The stage's height; with three branches or more, the desk's timeline grown by the stage's
        whole scale, as its names are: on a 1.5× stage three branch lines stood 11 px apart, no name
        found a place between them, and a talk's timeline named only main. Past four branches, a
        row more for each, at the desk too, up to TIMELINE_MAX_PX (the panels keep the rest)."""
        count = len(self._branches)
        height_px = self._stage_px
        if count >= _STAGE_GROWS_FROM:
            height_px = max(height_px, round(TIMELINE_PX * self._stage_scale))
        if count > _FEW_BRANCHES:
            grown = height_px + (count - _FEW_BRANCHES) * _BRANCH_ROW_PX * self._stage_scale
            height_px = round(min(grown, TIMELINE_MAX_PX * self._stage_scale))
        if self.plot_widget.minimumHeight() != height_px or self.plot_widget.maximumHeight() != height_px:
            self.plot_widget.setFixedHeight(height_px)

    def extend_current_branch(self, head_step: int) -> None:
        """The branch the run is on has reached ``head_step``: draw its line that far (nothing else moves)."""
        marks = [
            BranchMark(b.label, b.fork_step, max(b.head_step, head_step), True) if b.current else b
            for b in self._branches
        ]
        if tuple(marks) == self._branches:
            return
        self._branches = tuple(marks)
        xs, ys = [], []
        for index, (branch, y) in enumerate(zip(marks, _branch_heights(len(marks)), strict=True)):
            if branch.current:
                xs += [branch.fork_step, branch.head_step]
                ys += [y, y]
                self._set_hover_band(self._branch_hover[index], branch, y)
        self.current_branch_curve.setData(xs, ys)
        self._grow_axis(head_step)
        self._place_branch_labels()

    def _branch_label(self, branch: BranchMark) -> pg.TextItem:
        """The branch's name, placed by :meth:`_place_branch_labels`."""
        colour = _CURRENT_COLOUR if branch.current else _OTHER_TEXT_COLOUR
        # the current branch's name may stand over other lines (see branch_label_places): on the plot's
        # own background, above them, it reads whole
        fill = self.plot_widget.backgroundBrush() if branch.current else None
        label = pg.TextItem(branch.label, color=colour, anchor=(0, 0), fill=fill)
        if branch.current:
            label.setZValue(-1)  # over the branch lines, under the cursor, which stays easy to grab
        font = QtGui.QFont()
        font.setPointSizeF(self._label_pt)
        font.setBold(branch.current)
        label.setFont(font)
        label.textItem.document().setDocumentMargin(1.0)  # the default 4 px would not fit between lines
        label.setToolTip(_branch_tooltip(branch))
        self.plot.addItem(label, ignoreBounds=True)
        return label

    def _hover_band(self, branch: BranchMark, y: float) -> QtWidgets.QGraphicsRectItem:
        """A bare band over the branch's line whose tooltip names it, also where its name is not drawn."""
        band = QtWidgets.QGraphicsRectItem()
        band.setPen(QtGui.QPen(QtCore.Qt.PenStyle.NoPen))
        band.setZValue(-10)
        self.plot.addItem(band, ignoreBounds=True)
        self._set_hover_band(band, branch, y)
        return band

    def _set_hover_band(self, band: QtWidgets.QGraphicsRectItem, branch: BranchMark, y: float) -> None:
        """Cover the line from fork to head, halfway to its neighbours' lines."""
        lo, hi = _band(len(self._branches))
        half_height = (hi - lo) / max(2 * (len(self._branches) - 1), 2)
        length = branch.head_step - branch.fork_step
        band.setRect(QtCore.QRectF(branch.fork_step, y - half_height, length, 2 * half_height))
        band.setToolTip(_branch_tooltip(branch))

    def _place_branch_labels(self, *_args) -> None:
        """Each branch's name beside its line, over no other line or name (see branch_label_places)."""
        if not self.branch_labels:
            return
        box = self.plot.getViewBox()
        lines = []
        for branch, y, label in zip(
            self._branches, _branch_heights(len(self._branches)), self.branch_labels, strict=True
        ):
            fork = box.mapViewToScene(QtCore.QPointF(branch.fork_step, y))
            head = box.mapViewToScene(QtCore.QPointF(branch.head_step, y))
            size = label.textItem.boundingRect().size()
            lines.append(BranchLine(fork.x(), head.x(), fork.y(), size, branch.current))
        cursor = box.mapViewToScene(QtCore.QPointF(self.cursor.value(), 0.0)).x()
        corners = place_branch_labels(lines, box.sceneBoundingRect(), cursor, self._mark_rects())
        leaders_x, leaders_y = [], []
        for label, corner, line in zip(self.branch_labels, corners, lines, strict=True):
            label.setVisible(corner is not None)
            if corner is None:
                continue
            label.setPos(box.mapSceneToView(corner))
            if corner.x() > line.right_px + LEADER_FROM_PX:  # level with its line, further right
                start = box.mapSceneToView(QtCore.QPointF(line.right_px, line.y_px))
                end = box.mapSceneToView(QtCore.QPointF(corner.x(), line.y_px))
                leaders_x += [start.x(), end.x()]
                leaders_y += [start.y(), end.y()]
        self.name_leaders.setData(leaders_x, leaders_y)

    def set_engine_step(self, step: int | None) -> None:
        """Mark the step the engine is at (a triangle at the bottom); None hides the mark."""
        self._engine_step = step
        self._draw_marks()

    def set_cursor(self, step: int) -> None:
        """Move the cursor without emitting ``cursor_dragged``."""
        with QtCore.QSignalBlocker(self.cursor):
            self.cursor.setValue(step)
        self._place_branch_labels()  # off the cursor where they can be
        self.step_label.setText(f"step {step}" if step == self._last else f"step {step} / {self._last}")

    def set_events(self, steps: list[int]) -> None:
        """A ▼ over each step where settings changed; the names move off a new one."""
        changed = list(steps) != self._event_steps
        self._event_steps = list(steps)
        self._draw_marks()
        if changed:
            self._place_branch_labels()

    def _mark_rects(self) -> list[QtCore.QRectF]:
        """The scene pixels of each change's ▼ and of the engine's ▲, which names keep clear of
        (a ▼ at step 25 was drawn over "fork 5 at step 20")."""
        box = self.plot.getViewBox()
        rects = []
        for marks in (self.change_marks, self.engine_marker):
            half = marks.opts["size"] / 2
            xs, ys = marks.getData()
            for x, y in zip(xs, ys, strict=True):
                centre = box.mapViewToScene(QtCore.QPointF(float(x), float(y)))
                rects.append(QtCore.QRectF(centre.x() - half, centre.y() - half, 2 * half, 2 * half))
        return rects

    def _draw_marks(self, *_args) -> None:
        """The change ▼s and the engine's ▲ at their steps, a mark at step 0 inside the axis' start:
        centred on 0 it was cut in half by the plot's edge (a lane added before the first step)."""
        steps = self._event_steps
        self.change_marks.setData(self._inside(steps, self.change_marks), [_TICK_Y] * len(steps))
        step = self._engine_step
        shown = [] if step is None else self._inside([step], self.engine_marker)
        self.engine_marker.setData(shown, [_ENGINE_Y] * len(shown))

    def _inside(self, steps: list[int], marks: pg.ScatterPlotItem) -> list[float]:
        """``steps`` as x positions, each at least half a mark's width from the axis' start."""
        step_per_px = self.plot.getViewBox().viewPixelSize()[0]
        if not math.isfinite(step_per_px) or step_per_px <= 0:
            return [float(step) for step in steps]
        least = self.plot.getViewBox().viewRange()[0][0] + marks.opts["size"] / 2 * step_per_px
        return [max(float(step), least) for step in steps]

    def reset(self) -> None:
        self._extent = 0.0
        self._last = 0
        show_steps(self.plot, 10)
        self.set_events([])
        self.set_branches([])
        self.set_engine_step(None)
        self.set_cursor(0)

    def _on_dragged(self) -> None:
        self._place_branch_labels()
        self._leave_live()
        self.cursor_dragged.emit(round(self.cursor.value()))

    def _on_clicked(self, event) -> None:
        """A click (not a drag) moves the cursor there, as if it had been dragged, and asks for that step."""
        box = self.plot.getViewBox()
        inside = box.sceneBoundingRect().contains(event.scenePos())
        if event.button() != QtCore.Qt.MouseButton.LeftButton or not inside:
            return
        step = min(max(round(box.mapSceneToView(event.scenePos()).x()), 0), max(self._last, 0))
        with QtCore.QSignalBlocker(self.cursor):
            self.cursor.setValue(step)
        self._leave_live()
        self.cursor_dragged.emit(step)
        self.step_requested.emit(step)

    def _leave_live(self) -> None:
        """Looking back stops following the run (without ``live_toggled``: the cursor signal says it)."""
        self.set_live(False)

    def set_live(self, live: bool) -> None:
        """Show whether the view follows the run, without emitting ``live_toggled``."""
        if self.live != live:
            with QtCore.QSignalBlocker(self.live_button):
                self.live_button.setChecked(live)


def _band(count: int) -> tuple[float, float]:
    """The part of the strip's height (plot y) that ``count`` branch lines share."""
    return _BRANCH_BAND if count <= _FEW_BRANCHES else _MANY_BRANCHES_BAND


def _branch_heights(count: int) -> list[float]:
    """Evenly spaced lines in the branch band, the first branch lowest."""
    lo, hi = _band(count)
    if count == 1:
        return [(lo + hi) / 2]
    return [lo + (hi - lo) * i / (count - 1) for i in range(count)]


def _branch_tooltip(branch: BranchMark) -> str:
    where = "the branch the run is on" if branch.current else "switch to it in the Branch menu"
    return f"{branch.label}: steps {branch.fork_step}–{branch.head_step} ({where})"


def _cursor_pen(style: StageStyle) -> QtGui.QPen:
    return pg.mkPen(style.colours.muted, width=2 * style.scale)


def _cursor_hover_pen(style: StageStyle) -> QtGui.QPen:
    """The cursor under the pointer, ready to drag: thicker, in the text's colour (pyqtgraph's red
    read as an alarm, and stayed red after a jump made elsewhere)."""
    return pg.mkPen(style.colours.foreground, width=3 * style.scale)
