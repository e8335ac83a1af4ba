"""Presentation mode: the stage alone, larger and in a theme a projector shows well.

F11 (or the toolbar's present button) hides the controls dock, the debugger's docks, the menu bar, the
toolbar, the status bar and the preset's long description; what stays is the live caption, the lane
key, the four panels and the timeline. Fonts, ticks, markers and lines grow by the chosen scale (1×–3×),
in a high-contrast light theme or a dark one. Every shortcut keeps working with the bars hidden, since
the window itself carries their actions while the mode is on.

On a real screen the window also goes full screen; offscreen (``shot``, ``record``) it keeps the size
it was given, so a recording's frames have the size asked for.

A scale needs room: at 3× in a 1280×720 window the captions, headers and axes left the plots some
30 pixels tall, their axis titles cut to "…"; at 2× there the plots were some 100 pixels tall, the axis
titles still cut and the headers' boxes squeezed. The stage is drawn at the largest scale, up to the
one chosen, that the window holds (a scale per 480 pixels of height and 800 of width: 1.5× at
1280×720, 2× at 1920×1080, 3× at 2560×1440), and the scale menu says when the chosen one is drawn
smaller.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6 import QtCore, QtGui, QtWidgets

from muonscope.app.keyboard import SHEET_GROUP
from muonscope.widgets.axes import DecadeAxis
from muonscope.widgets.theme import SCALES, THEMES, StageStyle, set_stage_style, stage_style

__all__ = ["DEFAULT_SCALE", "DEFAULT_THEME", "PX_PER_SCALE", "PresentationController", "fitting_scale"]

#: What presentation mode starts with: readable from the back of a room at 1920×1080.
DEFAULT_SCALE = 1.5
#: The window's pixels (width, height) each unit of scale needs for the plots to keep their room.
PX_PER_SCALE = (800, 480)
DEFAULT_THEME = "light"
_THEME_TEXT = {"light": "high-contrast light (projectors)", "dark": "dark"}
#: Selection and progress colour on a dark stage: a dull blue, not Qt's glaring default.
_DARK_HIGHLIGHT = "#2F5D8A"


def fitting_scale(width_px: int, height_px: int) -> float:
    """The largest of the scales a window of this size holds (1× at least)."""
    room = min(width_px / PX_PER_SCALE[0], height_px / PX_PER_SCALE[1])
    return max([scale for scale in SCALES if scale <= room], default=SCALES[0])


class PresentationController(QtCore.QObject):
    """Enters and leaves presentation mode and restyles the stage.

    ``redraw()`` is called after a style change so that curves are re-created with the new pens
    (the frame clock's reset and next frame).
    """

    changed = QtCore.Signal(bool)  # presentation mode on (True) or off
    leaving_desk = QtCore.Signal()  # presentation mode is about to hide the bars and docks

    def __init__(self, window, redraw, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self._window = window
        self._views = window.views
        self._redraw = redraw
        self._active = False
        self._scale = DEFAULT_SCALE
        self._theme = DEFAULT_THEME
        self._hidden: list[QtWidgets.QWidget] = []
        self._carried: list[QtGui.QAction] = []
        self._menu_openers: list[QtGui.QAction] = []  # on the stage, Alt+B and the like open the menus
        self._was_full_screen = False
        self._desk_geometry: QtCore.QRect | None = None  # the window's, unless maximised or full screen
        self._desk_text_room: dict = {}  # each axis's room for tick labels before the stage
        self._views.transport.presentation_toggled.connect(self.set_active)
        self._build_menu()
        window.installEventFilter(self)
        # the desk's style from the start, so that leaving the stage gives back the window as it was
        # (panels built with Qt's fonts came back from the stage at the desk style's sizes)
        self._apply(StageStyle())

    # ---- state ---------------------------------------------------------------------------------

    @property
    def active(self) -> bool:
        return self._active

    @property
    def style(self) -> StageStyle:
        """The style chosen for presentation mode (whether or not it is on)."""
        return StageStyle(self._scale, self._theme)

    @property
    def shown_style(self) -> StageStyle:
        """The style the stage is drawn in while presenting: the chosen scale, or the largest the
        stage holds when that is smaller."""
        size = self._stage_size()
        scale = min(self._scale, fitting_scale(size.width(), size.height()))
        return StageStyle(scale, self._theme)

    def _stage_size(self) -> QtCore.QSize:
        """The stage's size while presenting: the window's then; before, the screen's it will fill
        (offscreen the window keeps its size)."""
        screen = self._window.screen()
        if self._active or self._offscreen or screen is None:
            return self._window.size()
        return screen.size()

    @property
    def _offscreen(self) -> bool:
        return QtGui.QGuiApplication.platformName() == "offscreen"

    def set_active(self, active: bool) -> None:
        if active == self._active:
            return
        self._active = active
        if active:
            self.leaving_desk.emit()
            plain = not (self._window.isMaximized() or self._window.isFullScreen())
            self._desk_geometry = self._window.geometry() if plain else None
            self._desk_text_room = {axis: axis.text_room for axis in self._axes()}
            self._hide_chrome()
            self._apply(self.shown_style)
        else:
            # the stage at the desk's size first: the controls coming back beside a 2× stage made
            # the window's least width more than the screen's, and it stayed that wide
            self._apply(StageStyle())
            for axis, room in self._desk_text_room.items():  # as wide as before: the plots back in place
                axis.set_text_room(room)
            self._show_chrome()
            self._views.passing_note.hide()  # what a stage key did is past: it stayed over the desk
        self._views.transport.set_presentation(active)
        self._toggle_action.setChecked(active)
        if not active and self._desk_geometry is not None:
            # back to the size it had: larger fonts may have widened it past the screen meanwhile
            self._window.setGeometry(self._desk_geometry)
            self._desk_geometry = None
        self.changed.emit(active)

    def set_scale(self, scale: float) -> None:
        """1× to 3×; applies at once when presentation mode is on."""
        self._scale = StageStyle(scale, self._theme).scale  # validates the range
        for action in self._scale_group.actions():
            action.setChecked(action.data() == scale)
        self._name_scales()
        if self._active:
            self._apply(self.shown_style)

    def set_theme(self, theme: str) -> None:
        """``light`` (high contrast, for projectors) or ``dark``."""
        self._theme = StageStyle(self._scale, theme).theme
        for action in self._theme_group.actions():
            action.setChecked(action.data() == theme)
        if self._active:
            self._apply(self.shown_style)

    # ---- chrome ----------------------------------------------------------------------------------

    def _hide_chrome(self) -> None:
        window = self._window
        candidates = [
            window.menuBar(),
            window.statusBar(),
            self._views.transport,
            self._views.caption,
            *window.findChildren(QtWidgets.QDockWidget),
        ]
        self._hidden = [widget for widget in candidates if not widget.isHidden()]
        # the bars' shortcuts must outlive the bars: the window carries their actions meanwhile
        self._carried = [action for action in self._shortcut_actions() if action not in window.actions()]
        self._menu_openers = _menu_openers(window.menuBar(), window.stage, self._open_on_stage)
        window.addActions(self._carried + self._menu_openers)
        for widget in self._hidden:
            widget.hide()
        self._was_full_screen = window.isFullScreen()
        if window.isVisible() and not self._offscreen:
            window.showFullScreen()

    def _show_chrome(self) -> None:
        window = self._window
        for widget in self._hidden:
            widget.show()
        for action in self._carried + self._menu_openers:
            window.removeAction(action)
        for opener in self._menu_openers:
            opener.deleteLater()
        self._hidden, self._carried, self._menu_openers = [], [], []
        if window.isFullScreen() and not self._was_full_screen:
            window.showNormal()

    def _shortcut_actions(self) -> list[QtGui.QAction]:
        found = []
        for widget in (self._window.menuBar(), self._views.transport):
            found += _actions_with_shortcuts(widget)
        return found

    # ---- style -----------------------------------------------------------------------------------

    def eventFilter(self, watched: QtCore.QObject, event: QtCore.QEvent) -> bool:
        """A resized window (full screen, a smaller screen) may hold more or less of the chosen scale."""
        if event.type() == QtCore.QEvent.Type.Resize and self._active and self.shown_style != stage_style():
            self._apply(self.shown_style)
        return False

    def _axes(self) -> list:
        """The panels' axes (their room for tick labels is kept across a stage)."""
        views = self._views
        panels = (views.spectrum, views.series, views.class_error, views.capacity)
        return [
            axis
            for panel in panels
            for axis in (panel.plot.getAxis(side) for side in ("left", "bottom", "right"))
            if isinstance(axis, DecadeAxis)
        ]

    def _apply(self, style: StageStyle) -> None:
        set_stage_style(style)
        self._name_scales()
        views = self._views
        for panel in (views.spectrum, views.series, views.class_error, views.capacity):
            panel.apply_style(style)
        for markers in views.change_markers:
            markers.restyle()
        views.timeline.apply_style(style)
        views.lane_key.apply_style(style)
        views.message.apply_style(style)
        views.passing_note.apply_style(style)
        font = QtGui.QFont()
        font.setPointSizeF(style.font_pt(10.0))
        views.live_caption.setFont(font)
        desk = style == StageStyle()
        views.live_caption.set_headroom_lines(0 if desk else 1)  # a caption wrapping mid-talk moved the plots
        colours = style.colours
        self._paint_stage(colours.background, colours.foreground, desk=desk)
        self._redraw()

    def _open_on_stage(self, menu: QtWidgets.QMenu) -> None:
        """Open ``menu`` at the stage's corner in the stage's type size (at the desk's, it stood small
        over a stage drawn at 2× for a room to read); the menu bar's own size comes back as it closes."""
        font = QtGui.QFont()
        font.setPointSizeF(self.shown_style.font_pt(font.pointSizeF()))
        menu.setFont(font)
        menu.aboutToHide.connect(
            lambda: menu.setFont(QtGui.QFont()), QtCore.Qt.ConnectionType.SingleShotConnection
        )
        menu.popup(self._window.stage.mapToGlobal(_MENU_AT))

    def _paint_stage(self, background: str, foreground: str, desk: bool) -> None:
        """The stage's own background and text colour, through its palette.

        A style sheet on the stage would do the same, but Qt then paints every child through its
        style-sheet style: measured 7× the frame time (benchmarks/presentation_frames.py).
        """
        central = self._window.centralWidget()
        palette = (
            QtGui.QPalette(QtWidgets.QApplication.palette()) if desk else QtGui.QPalette(central.palette())
        )
        if not desk:  # the stage and the panels' mode boxes, in the theme's colours
            roles = QtGui.QPalette.ColorRole
            for role, colour in (
                (roles.Window, background),
                (roles.WindowText, foreground),
                (roles.Base, background),
                (roles.Text, foreground),
                (roles.Button, background),
                (roles.ButtonText, foreground),
            ):
                palette.setColor(role, QtGui.QColor(colour))
            if QtGui.QColor(background).lightness() < 128:  # a sweep's progress: Qt's bright blue glared
                palette.setColor(roles.Highlight, QtGui.QColor(_DARK_HIGHLIGHT))
                palette.setColor(roles.HighlightedText, QtGui.QColor(foreground))
            muted = QtGui.QColor(foreground)
            muted.setAlphaF(0.45)  # a mode box that does not apply to this run
            for role in (roles.WindowText, roles.Text, roles.ButtonText):
                palette.setColor(QtGui.QPalette.ColorGroup.Disabled, role, muted)
        central.setPalette(palette)
        central.setAutoFillBackground(not desk)

    # ---- menu ------------------------------------------------------------------------------------

    def _build_menu(self) -> None:
        menu = self._window.menu("View")
        menu.addSeparator()
        # the key shown as a menu shows one, without a second binding (the toolbar's action holds F11)
        self._toggle_action = menu.addAction("Presentation mode\tF11")
        self._toggle_action.setCheckable(True)
        self._toggle_action.setToolTip("F11 or the toolbar's present button")
        self._toggle_action.toggled.connect(self.set_active)
        scales = menu.addMenu("Presentation scale")
        scales.aboutToShow.connect(self._name_scales)  # the screen or the window may have changed
        self._scale_group = QtGui.QActionGroup(self)
        for scale in SCALES:
            action = scales.addAction(f"{scale:g}×")
            action.setData(scale)
            action.setCheckable(True)
            action.setChecked(scale == self._scale)
            action.triggered.connect(lambda _checked=False, s=scale: self.set_scale(s))
            self._scale_group.addAction(action)
        themes = menu.addMenu("Presentation theme")
        self._theme_group = QtGui.QActionGroup(self)
        for theme in THEMES:
            if theme == "normal":
                continue
            action = themes.addAction(_THEME_TEXT[theme])
            action.setData(theme)
            action.setCheckable(True)
            action.setChecked(theme == self._theme)
            action.triggered.connect(lambda _checked=False, t=theme: self.set_theme(t))
            self._theme_group.addAction(action)
        self._build_stage_keys(menu)

    def _build_stage_keys(self, menu: QtWidgets.QMenu) -> None:
        """Scale and theme from the keyboard: on a stage the menus are hidden, and a speaker had to
        leave presentation mode to change either."""
        larger = menu.addAction("Larger presentation scale")
        larger.setShortcuts([QtGui.QKeySequence("Ctrl+="), QtGui.QKeySequence("Ctrl++")])
        larger.triggered.connect(lambda: self.step_scale(+1))
        smaller = menu.addAction("Smaller presentation scale")
        smaller.setShortcut(QtGui.QKeySequence("Ctrl+-"))
        smaller.triggered.connect(lambda: self.step_scale(-1))
        theme = menu.addAction("Next presentation theme")
        theme.setShortcut(QtGui.QKeySequence("Ctrl+Shift+T"))
        theme.triggered.connect(self.next_theme)
        self.stage_key_actions = (larger, smaller, theme)

    def step_scale(self, steps: int) -> None:
        """The next scale up (``steps`` > 0) or down the menu's list, stopping at its ends; a
        passing note says the scale chosen, and the one drawn where the window holds less."""
        at = min(range(len(SCALES)), key=lambda i: abs(SCALES[i] - self._scale))
        self.set_scale(SCALES[max(0, min(len(SCALES) - 1, at + steps))])
        text = f"presentation scale {self._scale:g}×"
        shown = self.shown_style.scale
        if self._scale == SCALES[-1 if steps > 0 else 0]:  # at an end, also where the window holds less
            text += f" · the {'largest' if steps > 0 else 'smallest'}"
        if shown < self._scale:
            text += f" · this {'window' if self._active or self._offscreen else 'screen'} holds {shown:g}×"
        self._views.passing_note.say(text + self._for_the_stage())

    def _for_the_stage(self) -> str:
        """Said after a stage key pressed at the desk: nothing on screen changes until F11."""
        return "" if self._active else " · for the stage (F11)"

    def next_theme(self) -> None:
        """The next of the stage's themes (light, dark), round again after the last."""
        themes = [theme for theme in THEMES if theme != "normal"]
        self.set_theme(themes[(themes.index(self._theme) + 1) % len(themes)])
        self._views.passing_note.say(f"presentation theme: {_THEME_TEXT[self._theme]}{self._for_the_stage()}")

    def _name_scales(self) -> None:
        """Each scale's menu entry; the chosen one says when the stage is (or will be) drawn smaller."""
        shown = self.shown_style.scale
        where = "window" if self._active or self._offscreen else "screen"
        for action in self._scale_group.actions():
            text = f"{action.data():g}×"
            if action.data() == self._scale and shown < self._scale:
                text += f" ({shown:g}× fits this {where})"
            action.setText(text)

    @property
    def scale_texts(self) -> list[str]:
        """The scale menu's entries as shown."""
        return [action.text() for action in self._scale_group.actions()]

    def restore_desk_style(self) -> None:
        """Leave the window's style as the desk's (closing the window in presentation mode)."""
        if stage_style() != StageStyle():
            set_stage_style(StageStyle())


def _actions_with_shortcuts(widget: QtWidgets.QWidget) -> list[QtGui.QAction]:
    """Every action under ``widget`` (menus and submenus included) that has a shortcut."""
    found, queue = [], list(widget.actions())
    while queue:
        action = queue.pop()
        if action.menu() is not None:
            queue.extend(action.menu().actions())
        elif not action.shortcut().isEmpty():
            found.append(action)
    return found


#: Where on the stage a menu opened from the keyboard stands: by its top left corner.
_MENU_AT = QtCore.QPoint(8, 8)


def _menu_openers(
    bar: QtWidgets.QMenuBar, stage: QtWidgets.QWidget, open_menu: Callable[[QtWidgets.QMenu], None]
) -> list[QtGui.QAction]:
    """For each menu of ``bar`` with an Alt key (&Branch), an action on that key that opens the menu
    (``open_menu``): the bar hidden on the stage, Alt+B did nothing, and switching branch in a talk
    meant leaving the stage."""
    openers = []
    for entry in bar.actions():
        menu, title = entry.menu(), entry.text()
        at = title.find("&")
        if menu is None or at < 0 or at + 1 >= len(title):
            continue
        name = title.replace("&", "")
        opener = QtGui.QAction(f"{name} menu", stage)
        opener.setShortcut(QtGui.QKeySequence(f"Alt+{title[at + 1].upper()}"))
        opener.setShortcutContext(QtCore.Qt.ShortcutContext.WindowShortcut)
        opener.setStatusTip(f"open the {name} menu (on the stage, where the menu bar is hidden)")
        opener.setProperty(SHEET_GROUP, "View")
        opener.triggered.connect(lambda _checked=False, m=menu: open_menu(m))
        openers.append(opener)
    return openers
