"""The inspector dock's controller: the matrix of a lane at the step on view, replayed while paused.

The engine answers an :class:`Inspect` by replaying to the step from its nearest checkpoint; while the
run plays the replay would share the engine with it, so the inspector says to pause instead. A view
that moves (dragging the timeline) asks once it rests, and an answer is shown only if it is still
what the panel asks for.
"""

from __future__ import annotations

from PySide6 import QtCore

from muonscope.app.debugger import Inspect
from muonscope.engine.task_kinds import view_problem

__all__ = ["InspectorController"]

_PAUSE_TO_INSPECT = "pause the run to inspect (the matrices come from a replay)"
#: A moving view asks for its matrix once it has rested this long.
_REST_MS = 150


class InspectorController(QtCore.QObject):
    """Keeps the inspector panel's matrix that of the view's step, lane and choice of matrix."""

    def __init__(self, window, link, clock, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self._window = window
        self._views = window.views
        self._link = link
        self._clock = clock
        self._lane_labels: list[str] = []
        self._history_count = 0  # histories the window has shown (a new run, an open, a jump, a fork)
        self._inspected_at: tuple[int, int] | None = None  # (history, step) the inspector was last set to
        self._answer_shown: tuple[int, Inspect] | None = None  # (history, request) of the answer on show
        self._inspect_soon = QtCore.QTimer(self)
        self._inspect_soon.setSingleShot(True)
        self._inspect_soon.setInterval(_REST_MS)
        self._inspect_soon.timeout.connect(self.inspect)
        self._connect()

    def _connect(self) -> None:
        link = self._link
        link.playing_changed.connect(lambda playing: None if playing else self._inspect_later())
        self._views.inspector.request_changed.connect(lambda _request: self.inspect())
        # the flag Qt passes is not always the dock's state once shown (False on a first show): ask the dock
        self._window.inspector_dock.visibilityChanged.connect(lambda _visible: self.inspect())
        self._clock.frame_drawn.connect(self._on_frame)
        self._clock.run_started.connect(self._on_new_history)
        link.history_replaced.connect(self._on_new_history)
        link.inspected.connect(self._on_inspected)

    def _on_new_history(self, *_args) -> None:
        """A new run, an open, a jump or a fork: what the inspector shows is of another history."""
        self._history_count += 1

    def _on_frame(self, _step: int) -> None:
        newest, step = self._clock.newest, self._clock.view_step
        labels = self._labels_at(step)
        lanes_changed = bool(labels) and labels != self._lane_labels
        if lanes_changed:
            self._lane_labels = labels
            self._views.inspector.set_lanes(labels)
            no_bases = view_problem(newest.config.task, "bases")
            self._views.inspector.set_task_coordinates_available(not no_bases, no_bases)
        at = (self._history_count, step)
        if step is not None and (at != self._inspected_at or lanes_changed):
            self._inspected_at = at
            self._views.inspector.set_step(step)
            self._inspect_later()

    def _labels_at(self, step: int | None) -> list[str]:
        """Each lane's name by the settings that drew its W at ``step``, as the matrix's title names
        it: looking back past a change, the lane box said "SignGD" over an SGD lane's matrix."""
        newest = self._clock.newest
        if newest is None:
            return []
        histories = {history.lane_id: history for history in self._clock.lane_histories}
        if step is None:
            return [lane.label for lane in newest.lanes]
        return [
            histories[lane.lane_id].label_at(step) if lane.lane_id in histories else lane.label
            for lane in newest.lanes
        ]

    def _step_to_inspect(self) -> int | None:
        """The view's step, when the inspector is shown, lacks its answer and may replay (paused);
        while the run plays it says so instead."""
        step = self._clock.view_step
        if not self._window.inspector_dock.isVisible() or step is None or self._answer_is_shown():
            return None
        if self._clock.playing:
            self._say(_PAUSE_TO_INSPECT)
            return None
        return step

    def _inspect_later(self) -> None:
        """The view moved: say the inspector's matrix is on its way, and ask once the view rests."""
        step = self._step_to_inspect()
        if step is None:
            return
        if self._link.steps_queued > 0:
            self._say(f"step {step}: the matrices are replayed once the run stops")
        else:
            self._say(f"replaying to step {step}…")
            self._inspect_soon.start()

    def inspect(self) -> None:
        """Ask for the inspector's matrix at the view's step (only while paused: replay shares the engine)."""
        step = self._step_to_inspect()
        if step is None:
            return
        self._views.inspector.set_step(step)
        self._say(f"replaying to step {step}…")
        self._link.submit(self._inspect_request())

    def _answer_is_shown(self) -> bool:
        """Whether the inspector already shows the answer to what it would ask for now."""
        return self._answer_shown == (self._history_count, self._inspect_request())

    def _say(self, text: str) -> None:
        """The inspector shows why it has no matrix (and the one it had is gone)."""
        self._views.inspector.show_message(text)
        self._answer_shown = None

    def _inspect_request(self) -> Inspect:
        """What the inspector asks for now: its lane and matrix at the view's step."""
        request = self._views.inspector.request
        return Inspect(
            self._clock.view_step, request.lane, request.tensor, request.minus_lane, request.task_coordinates
        )

    def _on_inspected(self, message) -> None:
        panel = self._views.inspector
        if message.request != self._inspect_request():
            return  # asked for another step or matrix since: that answer is on its way
        if message.abandoned:  # it gave way to other commands, and is still what the panel wants
            self._link.submit(message.request)
            return
        self._answer_shown = (self._history_count, message.request)
        if message.matrix is None:
            panel.show_message(message.message)
            return
        panel.show_result(
            message.matrix,
            message.title,
            message.direction_sv,
            message.polar_sv,
            message.residual_text,
            message.info,
            row_label=message.row_label,
            col_label=message.col_label,
            spectra_names=message.spectra_names,
        )
