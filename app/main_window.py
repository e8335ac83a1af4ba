"""The main window: toolbar, controls dock, the 2×2 grid of live plots, timeline and status bar.

Layout and display only: it places the widgets it is given and shows what it is told. What the
controls do is wired by :mod:`muonscope.app.composition`.
"""

from __future__ import annotations

import html
import re

from PySide6 import QtCore, QtGui, QtWidgets

from muonscope.app.dock_room import (
    PlacedDock,
    add_controls_dock,
    fit_docks_to,
    give_the_controls_room,
    place_debugger_dock,
    put_docks_back_beside_the_plots,
)
from muonscope.app.views import Views
from muonscope.engine.presets import Preset
from muonscope.widgets.status_bar import ElidingStatusBar
from muonscope.widgets.top_overlay import TopOverlay
from muonscope.widgets.transport_bar import own_settings_name

__all__ = ["CAPTION_UNFOLDS_PX", "MainWindow", "rate_text", "split_first_sentence"]

#: Window height from which the preset's description shows whole (below it, its first sentence and
#: "more…", so that the plots keep their room on a laptop or a projector).
CAPTION_UNFOLDS_PX = 900


def rate_text(per_s: float) -> str:
    """A rate with the digits it needs: ``24``, ``3.5``, ``0.3``, ``0.042`` (never a false ``0.0``)."""
    if per_s >= 10:
        return f"{per_s:.0f}"
    if per_s >= 1:
        return f"{per_s:.1f}"
    return f"{per_s:.2g}"


#: Words whose full stop ends no sentence ("Kim et al. conjecture …", "e.g. the head").
_ABBREVIATIONS = ("al.", "e.g.", "i.e.", "cf.", "Fig.", "vs.", "Eq.", "Thm.")


def shown_run_name(preset: Preset) -> str:
    """A bundled preset's title; a run of its own settings named as the preset box names it ("mine ·
    own settings"): a copied preset file kept the bundled title there while the box named the file,
    and a session "b" named "b" alone read as session b itself after a reset."""
    return own_settings_name(preset.name) if preset.is_own_settings else preset.title


def split_first_sentence(text: str) -> tuple[str, str]:
    """``text``'s first sentence (without its full stop) and the rest ("" when there is none).

    A full stop after an abbreviation ends no sentence: "Exploratory: Kim et al. conjecture …"
    once folded to "Exploratory: Kim et al." with a "more" link.
    """
    start = 0
    while (stop := text.find(". ", start)) >= 0:
        word = text[: stop + 1].rsplit(None, 1)[-1]
        if word not in _ABBREVIATIONS:
            return text[:stop], text[stop + 2 :]
        start = stop + 2
    return text, ""


def caption_html(text: str) -> str:
    """A preset's description as rich text: escaped, its `command` spans set in a fixed-width font
    (the TOML writes them as Markdown does; shown raw, the backticks read as part of the command)."""
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", html.escape(text))


def _first_sentence(message: str) -> str:
    return split_first_sentence(message)[0]


class MainWindow(QtWidgets.QMainWindow):
    """One experiment, its controls and its four live panels."""

    closing = QtCore.Signal()  # the window is about to close: stop what runs for it

    def __init__(self, views: Views) -> None:
        super().__init__()
        self.views = views
        self._caption_expanded: bool | None = None  # None: by the window's height
        self._shown_preset: tuple[Preset, tuple[str, ...]] | None = None
        self._session_name = ""  # the folder the run was last saved to or opened from ("": none)
        views.caption.linkActivated.connect(self._toggle_caption)
        self._build_layout()
        self.setStatusBar(ElidingStatusBar())
        self._build_status()
        self._follows_screen = False  # screenChanged connected (once the window has a native handle)
        self.restoring_layout = False  # docks are being put back where a saved layout has them
        self._live_caption = ""
        self._drift = ""  # the settings that differ from the preset's, said under its description
        self._drift_from = "the preset's settings"  # what the drift is from (see show_preset)
        self._engine_step_if_back: int | None = None  # the engine's step while the view is at another
        self._on_stage = False  # the description hidden: the live caption says the drift instead
        self._fit_to_screen(1500, 950)

    # ---- construction ------------------------------------------------------------------------

    def _build_layout(self) -> None:
        views = self.views
        self.addToolBar(views.transport)
        grid = QtWidgets.QGridLayout()
        grid.setSpacing(6)
        grid.addWidget(views.spectrum, 0, 0)
        grid.addWidget(views.series, 0, 1)
        grid.addWidget(views.class_error, 1, 0)
        grid.addWidget(views.capacity, 1, 1)
        for index in (0, 1):  # four equal panels, whatever their headers hold
            grid.setRowStretch(index, 1)
            grid.setColumnStretch(index, 1)
        central = QtWidgets.QWidget()
        column = QtWidgets.QVBoxLayout(central)
        column.setContentsMargins(4, 4, 4, 0)
        column.addWidget(views.message)
        column.addWidget(views.caption)
        column.addWidget(views.live_caption)
        column.addWidget(views.lane_key)
        column.addLayout(grid, 1)
        column.addWidget(views.timeline)
        central.setObjectName("stage")
        central.setFocusPolicy(QtCore.Qt.FocusPolicy.StrongFocus)  # the keys' home: Esc returns here
        central.setAccessibleName("plots")
        central.setAccessibleDescription("Space plays or pauses, → takes a step, ← looks one step back")
        self.setCentralWidget(central)
        self.stage = central
        self._busy_overlay = TopOverlay(views.busy, central, below=views.message)  # no layout jumps
        self._note_overlay = TopOverlay(views.passing_note, central, below=views.message, max_width_px=560)
        controls = QtWidgets.QWidget()
        form = QtWidgets.QVBoxLayout(controls)
        for title, widget in (("Task", views.task), ("Lanes (same data)", views.lanes)):
            box = QtWidgets.QGroupBox(title)
            QtWidgets.QVBoxLayout(box).addWidget(widget)
            form.addWidget(box)
        form.addStretch(1)
        scroll = QtWidgets.QScrollArea()
        scroll.setWidget(controls)
        scroll.setWidgetResizable(True)
        scroll.setFocusPolicy(QtCore.Qt.FocusPolicy.NoFocus)  # no Tab stop of its own: it shows no focus
        self._controls_scroll = scroll
        QtWidgets.QApplication.instance().focusChanged.connect(self._show_focused_control)
        dock = QtWidgets.QDockWidget("Controls", self)
        dock.setObjectName("controls")
        dock.setFeatures(QtWidgets.QDockWidget.DockWidgetFeature.DockWidgetMovable)
        dock.setWidget(scroll)
        add_controls_dock(self, dock)
        self.controls_dock = dock
        self.breakpoints_dock = self._dock("Breakpoints", "breakpoints", views.breakpoints)
        self.inspector_dock = self._dock("Inspector", "inspector", views.inspector)
        self.breakpoints_dock.hide()
        self.inspector_dock.hide()

    def _show_focused_control(self, _old: QtWidgets.QWidget | None, new: QtWidgets.QWidget | None) -> None:
        """Scroll the controls to the one that has the keys: Tab from the toolbar or the plots into
        them left the scroll where it was, with the focus on a lane scrolled out of sight."""
        if new is not None and self._controls_scroll.widget().isAncestorOf(new):
            self._controls_scroll.ensureWidgetVisible(new)

    def _dock(self, title: str, name: str, widget: QtWidgets.QWidget) -> QtWidgets.QDockWidget:
        """A closable, movable, floatable dock (hidden until the View menu shows it), placed each
        time it is shown (:func:`~muonscope.app.dock_room.place_debugger_dock`)."""
        dock = PlacedDock(title, self, lambda shown: place_debugger_dock(self, shown))
        dock.setObjectName(name)
        dock.setWidget(widget)
        self.tabifyDockWidget(self.controls_dock, dock)
        return dock

    def resize(self, *size) -> None:
        """Resize; docks beside the plots that would hold the window wider than asked become tabs in
        the controls' place first (opened beside the plots at 1920, they kept it 1534 wide at 1280)."""
        wanted = QtCore.QSize(*size) if len(size) == 2 else QtCore.QSize(size[0])
        self.fit_docks_to(wanted.width())
        super().resize(wanted)

    def event(self, event: QtCore.QEvent) -> bool:
        """Keep the docks' tab bars out of the Tab chain: Qt keeps the bar of tabs once shown, moved
        off the window, and Tab stopped on it with nothing on screen showing focus (a dock is
        brought forward from the View menu or its shortcut instead)."""
        if event.type() == QtCore.QEvent.Type.ChildPolished and isinstance(event.child(), QtWidgets.QTabBar):
            event.child().setFocusPolicy(QtCore.Qt.FocusPolicy.NoFocus)
        return super().event(event)

    def showEvent(self, event: QtGui.QShowEvent) -> None:
        super().showEvent(event)
        handle = self.windowHandle()
        if isinstance(handle, QtGui.QWindow) and not self._follows_screen:
            handle.screenChanged.connect(self._on_screen_changed)
            self._follows_screen = True
        QtCore.QTimer.singleShot(0, self, lambda: give_the_controls_room(self))  # laid out for the first time

    def resizeEvent(self, event: QtGui.QResizeEvent) -> None:
        """The description folds or unfolds with the window's height, until the user chooses: opened
        at 1920×1080 and shrunk to 1280×720, it stayed eight lines tall over squeezed plots."""
        super().resizeEvent(event)
        if event.size().width() > event.oldSize().width():  # after the layout has placed the docks
            QtCore.QTimer.singleShot(0, self, self._use_the_room)
        if self._caption_expanded is not None or self._shown_preset is None:
            return
        if (event.oldSize().height() >= CAPTION_UNFOLDS_PX) != (self.height() >= CAPTION_UNFOLDS_PX):
            self.views.caption.settle()  # folded, it kept the height of its unfolded lines
            self.show_preset(*self._shown_preset)

    def _use_the_room(self) -> None:
        """Widened: the docks made tabs for want of room go back beside the plots, then the controls
        take back their width, as far as the room goes."""
        put_docks_back_beside_the_plots(self)
        give_the_controls_room(self)

    def _on_screen_changed(self, screen: QtGui.QScreen | None) -> None:
        """Moved to a narrower screen (a laptop's, a projector's): docks beside the plots become tabs."""
        if screen is not None:
            self.fit_docks_to(screen.availableGeometry().width())

    def fit_docks_to(self, width: int) -> None:
        """Make tabs of the docks beside the plots until the window can be ``width`` wide (also when
        it moves to a narrower screen), and give the controls the room left."""
        fit_docks_to(self, width)

    def menu(self, title: str) -> QtWidgets.QMenu:
        """The menu bar's menu ``title`` ("File", "View", …), created on first use.

        Each controller adds its own entries; File, View, Branch and Help keep that order.
        """
        bar = self.menuBar()
        plain = title.replace("&", "")
        for action in bar.actions():
            if action.menu() is not None and action.text().replace("&", "") == plain:
                return action.menu()
        return bar.addMenu(f"&{plain}")

    def restore_layout(self, state: QtCore.QByteArray, version: int) -> bool:
        """Put the docks where ``state`` (from ``saveState``) has them; False if it is unreadable.

        The docks are not placed by the window's own rule meanwhile: moved while Qt lays out a
        saved state, a dock crashed the process.
        """
        self.restoring_layout = True
        try:
            return self.restoreState(state, version)
        finally:
            self.restoring_layout = False

    def focus_stage(self) -> None:
        """Give the keyboard back to the plots (from a box being typed in): Space, ←, → work again."""
        self.stage.setFocus(QtCore.Qt.FocusReason.ShortcutFocusReason)

    def _fit_to_screen(self, width: int, height: int) -> None:
        """Open at ``width`` × ``height``, or smaller where the screen is (a laptop, a projector)."""
        screen = QtGui.QGuiApplication.primaryScreen()
        if screen is not None:
            room = screen.availableGeometry()
            width, height = min(width, room.width()), min(height, room.height())
        self.resize(width, height)

    def _build_status(self) -> None:
        self._status: dict[str, QtWidgets.QLabel] = {}
        for key in ("recording", "step", "rate", "fps", "device", "lanes"):
            label = QtWidgets.QLabel()
            label.setObjectName(f"status_{key}")
            label.setContentsMargins(6, 0, 6, 0)
            self.statusBar().addPermanentWidget(label)
            self._status[key] = label
        self._status["recording"].setStyleSheet("color: #c0392b; font-weight: bold;")
        self._status["recording"].hide()

    # ---- what the application shows ----------------------------------------------------------

    def show_preset(self, preset: Preset, drift: list[str] | tuple[str, ...] = ()) -> None:
        """The preset's title and description; ``drift`` names the settings that no longer match it.

        Below 900 px of window height the description shows its first sentence and a "more" link,
        so the plots keep their room on a laptop or a projector.
        """
        self.views.transport.set_preset(preset.name, preset.is_own_settings)
        self._shown_preset = (preset, tuple(drift))
        self._show_title()
        self._drift = ", ".join(drift)
        caption = " ".join(preset.caption.split())
        described = bool(caption or preset.title)
        # with no description, no settings are "the preset's": those the run opened with
        self._drift_from = "the preset's settings" if described else "the settings it opened with"
        self._show_live_caption()
        first, rest = split_first_sentence(caption)
        unfolded = self.height() >= CAPTION_UNFOLDS_PX
        expanded = self._caption_expanded if self._caption_expanded is not None else unfolded
        if rest and not expanded:
            body = f'{caption_html(first)}. <a href="more">more…</a>'
        elif rest:
            body = f'{caption_html(caption)} <a href="less">less</a>'
        else:
            body = caption_html(caption)
        title = html.escape(preset.title or preset.name)
        if not described:  # a config file's own run: the caption area stayed blank
            body = "its own settings, with no description"
        text = f"<b>{title}</b> — {body}" if body else f"<b>{title}</b>"
        if drift:
            changed = html.escape(", ".join(drift))
            # with no description, none "is of the preset's settings": the settings it opened with
            said = (
                "The description is of the preset's settings; these differ now"
                if described
                else ("These differ now from the settings it opened with")
            )
            text += f"<br><i>{said}: {changed}.</i>"
        self.views.caption.setText(text)

    def show_session_name(self, name: str) -> None:
        """The saved session the run is, by its folder's name ("" for a run never saved), in the
        title: with two windows open on two sessions of one preset, both read alike. The title marks
        a run whose work its last save lacks (``setWindowModified``) as editors do."""
        self._session_name = name
        self._show_title()

    def _show_title(self) -> None:
        """``muonscope — FOLDER — PRESET``, the preset named as :func:`shown_run_name` names it."""
        preset = ""
        if self._shown_preset:
            preset = shown_run_name(self._shown_preset[0])
        session = f" — {self._session_name}" if self._session_name else ""
        self.setWindowTitle(f"muonscope{session}[*]" + (f" — {preset}" if preset else ""))

    def _toggle_caption(self, link: str) -> None:
        self._caption_expanded = link == "more"
        self.views.caption.settle()  # "less" gives the plots their room back
        if self._shown_preset is not None:
            self.show_preset(*self._shown_preset)

    def show_live_caption(self, text: str) -> None:
        self._live_caption = text
        self._show_live_caption()

    def show_on_stage(self, on: bool) -> None:
        """Presentation mode on or off: on the stage the description is hidden, and the live caption
        says which settings differ from the preset's (a run at label noise 0.2 showed no sign of it)."""
        self._on_stage = on
        self._show_live_caption()

    def _show_live_caption(self) -> None:
        # looking back, the settings in force are the engine's, not those of the step on view: "not
        # the preset's settings: label noise 0 → 0.2" stood under step 5, before the change at 12
        back = self._engine_step_if_back
        when = "" if back is None else f" at step {back}, the engine's"
        drift = f"\nnot {self._drift_from}{when}: {self._drift}" if self._on_stage and self._drift else ""
        self.views.live_caption.setText(self._live_caption + drift)

    def set_status(
        self,
        step: int,
        steps_per_s: float | None,
        fps: float | None,
        device: str,
        lanes: str,
        looking_back: bool = False,
    ) -> None:
        """The status line; a rate of None (paused, or not measured yet) leaves its place empty.
        ``looking_back``: the view is at another step than the engine's ``step``, which then says
        whose it is (a bare "step 6" beside a caption and a timeline at step 3)."""
        self._status["step"].setText(f"engine at step {step}" if looking_back else f"step {step}")
        engine_step_if_back = step if looking_back else None
        if engine_step_if_back != self._engine_step_if_back:
            self._engine_step_if_back = engine_step_if_back
            self._show_live_caption()
        self._status["rate"].setText("" if steps_per_s is None else f"{rate_text(steps_per_s)} steps/s")
        self._status["fps"].setText("" if fps is None else f"{rate_text(fps)} fps")
        self._status["device"].setText(device)
        self._status["lanes"].setText(lanes)

    def status_text(self, key: str) -> str:
        return self._status[key].text()

    def status_shown(self, key: str) -> bool:
        """Whether the status bar shows the part ``key`` ("recording", "rate", …)."""
        return not self._status[key].isHidden()

    def set_recording(self, text: str | None) -> None:
        """Say in the status bar that a recording runs (``text``), or that none does (None)."""
        label = self._status["recording"]
        label.setText(text or "")
        label.setVisible(text is not None)

    def show_rates(self, shown: bool) -> None:
        """Show or hide the measured steps/s and fps: a frame rendered offscreen for a file leaves
        them out, since they depend on the machine and the moment, not on the run."""
        self._status["rate"].setVisible(shown)
        self._status["fps"].setVisible(shown)

    def show_alert(self, message: str) -> int:
        """A problem: the message bar, and its first sentence in the status bar for ten seconds.

        Returns the message's number (for :meth:`withdraw_message`).
        """
        self.statusBar().showMessage(_first_sentence(message), 10_000)
        return self.views.message.show_message(message, "error")

    def show_note(self, message: str) -> int:
        """Something worth knowing; returns the message's number (for :meth:`withdraw_message`)."""
        return self.views.message.show_message(message, "info")

    def withdraw_message(self, number: int) -> None:
        """Take message ``number`` away (what it says is no longer true), with its status-bar line."""
        text = self.views.message.text
        if self.views.message.withdraw(number) and self.statusBar().currentMessage() == _first_sentence(text):
            self.statusBar().clearMessage()

    def closeEvent(self, event: QtGui.QCloseEvent) -> None:
        if not self.may_close():  # the user chose to stay, or to save first
            event.ignore()
            return
        self.closing.emit()
        super().closeEvent(event)

    def may_close(self) -> bool:
        """Whether the window may close now; the application sets what decides (unsaved work)."""
        return True
