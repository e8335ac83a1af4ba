"""The controls show the configuration in force: task form, lane rows, seed, and what applies.

The engine reports the config in force with every snapshot; whenever it changes (a toggle took
effect, a reset, a refused change) the controls are set from it, with their signals blocked, and
every control that does not apply says why. Nothing here keeps a copy of the config.
"""

from __future__ import annotations

from PySide6 import QtCore

from muonscope.app.bindings import (
    class_error_problem,
    kind_defaults,
    lane_field_states,
    lane_values,
    task_field_states,
    task_values,
)
from muonscope.app.panel_texts import ITEM_METRICS
from muonscope.engine.config import ExperimentConfig, TaskConfig
from muonscope.engine.errors import ConfigError
from muonscope.engine.sweep_plans import AXES
from muonscope.engine.task_kinds import TASK_KINDS, view_problem

__all__ = ["ControlsSync"]

#: Capacity-panel modes whose availability depends on the task.
_CAPACITY_MODES = (*AXES, "ray", "steps")


class ControlsSync(QtCore.QObject):
    """Sets the controls from a config; previews a task kind the user is about to switch to."""

    def __init__(self, views, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self._views = views
        self._shown: ExperimentConfig | None = None
        views.task.staged_changed.connect(self._on_task_staged)

    @QtCore.Slot(object)
    def show(self, config: ExperimentConfig) -> None:
        """Every control from ``config``, staged task edits dropped (a run started)."""
        self._views.task.set_values(task_values(config.task))
        self._views.lanes.set_lanes(
            [lane_values(lane) for lane in config.lanes], [lane.display_label() for lane in config.lanes]
        )
        self.update(config)

    @QtCore.Slot(object)
    def update(self, config: ExperimentConfig) -> None:
        """The controls from ``config`` within a run: edits the user has staged for a restart stay."""
        self._shown = config
        views = self._views
        views.task.set_values(task_values(config.task), keep_staged=True)
        self._show_task_states(self._staged_task())
        views.class_error.set_unavailable(class_error_problem(config.task))
        views.transport.set_seed(config.task.seed)
        for mode in _CAPACITY_MODES:
            problem = view_problem(config.task, mode)
            views.capacity.set_mode_state(mode, not problem, problem)
        has_items = TASK_KINDS[config.task.kind].has_classes
        views.breakpoints.set_task_has_items(has_items)
        for metric in ITEM_METRICS:
            views.series.set_option_state("metric", metric, has_items, "this task has no items or classes")
        values = [lane_values(lane) for lane in config.lanes]
        if len(views.lanes.rows) == len(values):
            for row, lane in zip(views.lanes.rows, values, strict=True):
                row.set_values(lane)
        else:
            views.lanes.set_lanes(values, [lane.display_label() for lane in config.lanes])
        self.show_lane_states(config)

    def show_again(self) -> None:
        """Undo what the controls show beyond the config in force (after a refused change)."""
        if self._shown is not None:
            self.show(self._shown)

    def show_lane_states(self, config: ExperimentConfig) -> None:
        """Enable each lane control that applies to its lane's optimizer; the rest say why."""
        table = self._views.lanes
        for row, lane in zip(table.rows, config.lanes, strict=False):
            for name, (enabled, reason) in lane_field_states(lane, config.task).items():
                row.set_field_state(name, enabled, reason)
        table.set_labels([lane.display_label() for lane in config.lanes])

    def _show_task_states(self, task: TaskConfig) -> None:
        states, live, disabled = task_field_states(task)
        self._views.task.set_field_states(states, live)
        self._views.task.set_choice_states("embeddings", disabled)

    @QtCore.Slot(str, object)
    def _on_task_staged(self, name: str, value) -> None:
        """Switching the kind stages sizes that suit it and shows that kind's fields; any staged
        edit updates which choices apply (N typed ≤ d offers orthogonal embeddings at once)."""
        if self._shown is None:
            return
        if name == "kind" and value != self._shown.task.kind:
            self._views.task.stage(kind_defaults(value))
        elif name == "kind":  # back to the kind in force: its task, not the other kind's sizes
            self._views.task.set_values(task_values(self._shown.task))
        self._show_task_states(self._staged_task())

    def _staged_task(self) -> TaskConfig:
        """The task the staged edits describe, for the boxes' states: the one in force where none
        are staged or they describe no task; where only the embeddings chosen no longer suit the
        staged sizes, the task with the kind's first embeddings (so that the box says why)."""
        task = self._shown.task
        values = {**task_values(task), **self._views.task.staged}
        for attempt in (values, {**values, "embeddings": TASK_KINDS[values["kind"]].embeddings[0]}):
            try:
                return TaskConfig(**attempt)
            except (ConfigError, KeyError, TypeError):
                continue
        return task
