"""The window's widgets, built once from the engine's vocabulary (field specs, optimizers, presets)."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from muonscope.app.bindings import lane_field_spec, task_field_specs, transport_ranges
from muonscope.app.panel_texts import SERIES_AT_MOST_ONE, SERIES_SHORT_TITLES
from muonscope.engine.config import MAX_LANES
from muonscope.engine.presets import load_preset, preset_names
from muonscope.widgets.breakpoint_panel import BreakpointPanel
from muonscope.widgets.busy_bar import BusyBar
from muonscope.widgets.capacity_plot import CapacityPlot
from muonscope.widgets.class_error_plot import ClassErrorPlot
from muonscope.widgets.event_markers import EventMarkers
from muonscope.widgets.inspector_panel import InspectorPanel
from muonscope.widgets.lane_key import LaneKey
from muonscope.widgets.lane_table import LaneTable
from muonscope.widgets.message_bar import MessageBar
from muonscope.widgets.panel_modes import SERIES_METRICS
from muonscope.widgets.passing_note import PassingNote
from muonscope.widgets.series_plot import SeriesPlot
from muonscope.widgets.spectrum_plot import SpectrumPlot
from muonscope.widgets.steady_label import SteadyLabel
from muonscope.widgets.task_panel import TaskPanel
from muonscope.widgets.theme import configure_pyqtgraph
from muonscope.widgets.timeline import Timeline
from muonscope.widgets.transport_bar import TransportBar

__all__ = ["Views", "build_views", "preset_entries"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Views:
    """Every widget of the window that shows state or takes input."""

    transport: TransportBar
    task: TaskPanel
    lanes: LaneTable
    spectrum: SpectrumPlot
    series: SeriesPlot
    class_error: ClassErrorPlot
    capacity: CapacityPlot
    timeline: Timeline
    message: MessageBar
    busy: BusyBar
    passing_note: PassingNote  # what a key on the stage did (a scale, a theme), for a moment
    caption: SteadyLabel  # the preset's description, and whether the settings left it
    live_caption: SteadyLabel  # one line from the live state: step, last change, who leads
    lane_key: LaneKey
    breakpoints: BreakpointPanel
    inspector: InspectorPanel

    @property
    def change_markers(self) -> tuple[EventMarkers, ...]:
        """The change markers of the panels whose x axis is steps (② and ④)."""
        return (self.series.markers, self.capacity.markers)


def build_views() -> Views:
    """The widgets, with their choices and ranges taken from the engine's specs."""
    configure_pyqtgraph()
    caption = SteadyLabel()
    caption.setObjectName("caption")
    caption.setStyleSheet("color: #333; padding: 2px 6px;")
    live_caption = SteadyLabel()  # after a few changes it runs long: it wraps, the window keeps its width
    live_caption.setObjectName("live_caption")
    live_caption.setContentsMargins(6, 0, 6, 0)
    transport = TransportBar(transport_ranges())
    transport.set_presets(preset_entries())
    return Views(
        transport=transport,
        task=TaskPanel(task_field_specs()),
        lanes=LaneTable(lane_field_spec(), MAX_LANES),
        spectrum=SpectrumPlot(),
        series=SeriesPlot("② over time", SERIES_METRICS, SERIES_SHORT_TITLES, SERIES_AT_MOST_ONE),
        class_error=ClassErrorPlot(),
        capacity=CapacityPlot(),
        timeline=Timeline(),
        message=MessageBar(),
        busy=BusyBar(),
        passing_note=PassingNote(),
        caption=caption,
        live_caption=live_caption,
        lane_key=LaneKey(),
        breakpoints=BreakpointPanel(),
        inspector=InspectorPanel(),
    )


def preset_entries() -> list[tuple[str, str, str]]:
    """(name, title, paper) of every bundled preset in the order of their numbers, muonscope's own
    unnumbered default first ("9 ·" before "10 ·": sorted as text, 10 came first and PageDown stepped
    back; grouped by paper with muonscope's first, "11 · Bridge" came second). Each run of one paper
    has its heading in the picker, so muonscope's bridge, numbered last, is under its own again."""
    entries = []
    for name in preset_names():
        try:
            preset = load_preset(name)
        except Exception:
            log.exception("preset %s could not be read", name)
            continue
        entries.append((name, preset.title or name, preset.paper or "other"))
    return sorted(entries, key=lambda e: (_number(e[1]), e[1]))


def _number(title: str) -> float:
    """The number a preset's title starts with ("9 · Tail-end …" → 9); 0 for one without (default)."""
    head = title.split("·", 1)[0].strip()
    return float(head) if head.isdigit() and "·" in title else 0.0
