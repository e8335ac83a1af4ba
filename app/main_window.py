"""The main window: toolbar, controls dock, the 2×2 grid of live plots, timeline and status bar.

Layout only; what the controls do lives in :mod:`app.controller`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from PySide6 import QtCore, QtGui, QtWidgets

from muonscope.app.bindings import lane_field_spec, task_field_specs
from muonscope.app.controller import Controller
from muonscope.app.renderer import SERIES_METRICS
from muonscope.engine.config import MAX_LANES
from muonscope.engine.presets import Preset, load_preset, preset_names
from muonscope.widgets.capacity_plot import CapacityPlot
from muonscope.widgets.class_error_plot import ClassErrorPlot
from muonscope.widgets.lane_table import LaneTable
from muonscope.widgets.message_bar import MessageBar
from muonscope.widgets.series_plot import SeriesPlot
from muonscope.widgets.spectrum_plot import SpectrumPlot
from muonscope.widgets.task_panel import TaskPanel
from muonscope.widgets.theme import configure_pyqtgraph
from muonscope.widgets.timeline import Timeline
from muonscope.widgets.transport_bar import TransportBar

__all__ = ["MainWindow", "Views"]


@dataclass
class Views:
    """Every widget the controller talks to."""

    transport: TransportBar
    task: TaskPanel
    lanes: LaneTable
    spectrum: SpectrumPlot
    series: SeriesPlot
    class_error: ClassErrorPlot
    capacity: CapacityPlot
    timeline: Timeline
    message: MessageBar
    caption: QtWidgets.QLabel


class MainWindow(QtWidgets.QMainWindow):
    """One experiment, its controls and its four live panels."""

    def __init__(self, preset: str | Preset = "default", engine_factory=None) -> None:
        super().__init__()
        configure_pyqtgraph()
        preset = load_preset(preset) if isinstance(preset, str) else preset
        self.views = self._build_views()
        self._build_layout()
        self._build_status()
        self.views.transport.set_presets(_preset_entries())
        self.show_preset(preset)
        self.controller = Controller(self, preset, engine_factory)
        self.resize(1500, 950)

    # ---- construction ------------------------------------------------------------------------

    def _build_views(self) -> Views:
        caption = QtWidgets.QLabel()
        caption.setWordWrap(True)
        caption.setObjectName("caption")
        caption.setStyleSheet("color: #333; padding: 2px 6px;")
        return Views(
            transport=TransportBar(self),
            task=TaskPanel(task_field_specs()),
            lanes=LaneTable(lane_field_spec(), MAX_LANES),
            spectrum=SpectrumPlot(),
            series=SeriesPlot("② over time", SERIES_METRICS),
            class_error=ClassErrorPlot(),
            capacity=CapacityPlot(),
            timeline=Timeline(),
            message=MessageBar(),
            caption=caption,
        )

    def _build_layout(self) -> None:
        views = self.views
        self.addToolBar(views.transport)
        grid = QtWidgets.QGridLayout()
        grid.setSpacing(6)
        grid.addWidget(views.spectrum, 0, 0)
        grid.addWidget(views.series, 0, 1)
        grid.addWidget(views.class_error, 1, 0)
        grid.addWidget(views.capacity, 1, 1)
        central = QtWidgets.QWidget()
        column = QtWidgets.QVBoxLayout(central)
        column.setContentsMargins(4, 4, 4, 0)
        column.addWidget(views.message)
        column.addWidget(views.caption)
        column.addLayout(grid, 1)
        column.addWidget(views.timeline)
        self.setCentralWidget(central)
        controls = QtWidgets.QWidget()
        form = QtWidgets.QVBoxLayout(controls)
        for title, widget in (("Task", views.task), ("Lanes (same minibatches)", views.lanes)):
            box = QtWidgets.QGroupBox(title)
            QtWidgets.QVBoxLayout(box).addWidget(widget)
            form.addWidget(box)
        form.addStretch(1)
        scroll = QtWidgets.QScrollArea()
        scroll.setWidget(controls)
        scroll.setWidgetResizable(True)
        dock = QtWidgets.QDockWidget("Controls", self)
        dock.setObjectName("controls")
        dock.setFeatures(QtWidgets.QDockWidget.DockWidgetFeature.DockWidgetMovable)
        dock.setWidget(scroll)
        dock.setMinimumWidth(425)
        self.addDockWidget(QtCore.Qt.DockWidgetArea.LeftDockWidgetArea, dock)

    def _build_status(self) -> None:
        self._status: dict[str, QtWidgets.QLabel] = {}
        for key in ("step", "rate", "fps", "device", "lanes"):
            label = QtWidgets.QLabel()
            label.setObjectName(f"status_{key}")
            label.setContentsMargins(6, 0, 6, 0)
            self.statusBar().addPermanentWidget(label)
            self._status[key] = label

    # ---- what the controller calls -----------------------------------------------------------

    def show_preset(self, preset: Preset) -> None:
        self.setWindowTitle(f"muonscope — {preset.title or preset.name}")
        self.views.transport.set_preset(preset.name)
        caption = " ".join(preset.caption.split())
        self.views.caption.setText(f"<b>{preset.title}</b> — {caption}" if caption else preset.title)

    def set_status(self, step: int, steps_per_s: float, fps: float, device: str, lanes: str) -> None:
        self._status["step"].setText(f"step {step}")
        self._status["rate"].setText(f"{steps_per_s:.1f} steps/s")
        self._status["fps"].setText(f"{fps:.0f} fps")
        self._status["device"].setText(device)
        self._status["lanes"].setText(lanes)

    def status_text(self, key: str) -> str:
        return self._status[key].text()

    def start(self) -> None:
        """Start the engine and the frame timer (after the window exists)."""
        self.controller.start()

    def closeEvent(self, event: QtGui.QCloseEvent) -> None:
        self.controller.shutdown()
        super().closeEvent(event)


def _preset_entries() -> list[tuple[str, str, str]]:
    entries = []
    for name in preset_names():
        try:
            preset = load_preset(name)
        except Exception:
            logging.getLogger(__name__).exception("preset %s could not be read", name)
            continue
        entries.append((name, preset.title or name, preset.paper or "other"))
    return sorted(entries, key=lambda entry: (entry[2] != "muonscope", entry[2], entry[1]))
