"""User intents become engine commands: transport, presets, toggles, lanes and task restarts.

A change is validated here against the config in force (the newest snapshot's) for instant
feedback, then queued for the engine, which applies it at the next step boundary and reports the
result in its next snapshot. A refused change shows a message and the controls go back to the
config in force.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6 import QtCore

from muonscope.app.debugger import GoTo
from muonscope.app.engine_protocol import Apply, Pause, Play, Reset, SetSpeed, Step
from muonscope.app.view_settings import view_errors
from muonscope.engine.changes import AddLane, Change, RemoveLane, SetField, apply_change
from muonscope.engine.config import ExperimentConfig
from muonscope.engine.errors import ConfigError
from muonscope.engine.field_paths import parse_field_path
from muonscope.engine.presets import Preset, load_config_file, load_preset
from muonscope.widgets.task_panel import typed_numbers

__all__ = ["IntentController"]


class IntentController(QtCore.QObject):
    """Connects the controls' signals to commands for the engine link.

    ``config()`` returns the config in force (None before the first snapshot); ``refuse(text,
    reshow=True)`` shows why an intent was not carried out and (with ``reshow``) puts the controls
    back to the config in force.
    """

    preset_loaded = QtCore.Signal(object)  # Preset: its run was requested
    replace_declined = QtCore.Signal()  # the user chose to keep the run on show (and the one before)
    change_carried_out = QtCore.Signal()  # a change passed its checks and went to the engine

    def __init__(
        self,
        views,
        link,
        config: Callable[[], ExperimentConfig | None],
        refuse: Callable[..., None],
        parent: QtCore.QObject | None = None,
        *,
        looked_back: Callable[[], int | None] = lambda: None,
        step_view: Callable[[int], bool] = lambda _delta: False,
        may_replace: Callable[[], bool] = lambda: True,
    ) -> None:
        super().__init__(parent)
        self._may_replace = may_replace
        self._views = views
        self._link = link
        self._config = config
        self._refuse = refuse
        self._looked_back = looked_back
        self._step_view = step_view
        self._connect()

    def _connect(self) -> None:
        views = self._views
        bar = views.transport
        bar.play_toggled.connect(self.play)
        bar.step_requested.connect(self.step)
        bar.reset_requested.connect(self.reset)
        bar.speed_changed.connect(lambda rate: self._link.submit(SetSpeed(rate)))
        bar.preset_chosen.connect(self.load_preset)
        views.lanes.lane_changed.connect(
            lambda index, name, value: self.change(f"lanes[{index}].{name}", value)
        )
        views.lanes.add_requested.connect(self.add_lane)
        views.lanes.remove_requested.connect(self.remove_lane)
        views.task.live_changed.connect(lambda name, value: self.change(f"task.{name}", value))
        views.task.restart_requested.connect(self.restart_with)
        views.task.set_entry_check(lambda name, value: self._refusal_of(f"task.{name}", value) is None)
        views.task.entry_refused.connect(
            lambda name, text, allowed: self._refuse_entry(f"task.{name}", text, allowed)
        )
        views.transport.entry_refused.connect(self._refuse_box)
        views.lanes.entry_refused.connect(
            lambda index, name, text, allowed: self._refuse_entry(f"lanes[{index}].{name}", text, allowed)
        )

    def _refuse_box(self, box: str, text: str, allowed: str) -> None:
        """A toolbar box (go to step, step N, seed) refused what was typed: nothing was done."""
        typed = _typed_number(text)  # "1e3" quoted as typed: as 1000 it read as a step allowed
        value = typed if isinstance(typed, int) else text
        self._refuse(f"Not done: {ConfigError(box, value, allowed)}", reshow=False)

    def _refuse_entry(self, field: str, text: str, allowed: str) -> None:
        """A control refused what was typed (and shows the value in force): say so, in the engine's
        words where it has them, so that the window and the command line name one rule alike."""
        engine = self._engine_refusal(field, text)
        if engine is not None and (engine.field != field or isinstance(engine.value, (list, tuple))):
            # "task.strengths[1] = -8": the number at fault; "[1, 1, 1, …] (101 items)": the list read
            self._refuse(f"Not applied: {engine}", reshow=False)
            return
        self._refuse(
            f"Not applied: {ConfigError(field, text, engine.allowed if engine else allowed)}", reshow=False
        )

    def _engine_refusal(self, field: str, text: str) -> ConfigError | None:
        """Why the engine refuses ``text`` typed for ``field`` (as a number where it reads as one, else
        as the text: "abc" is refused in the same words as 1e9); None where it is allowed. A list
        field reads "0" as the list [0], refused for its number at fault, not for being one number."""
        config = self._config()
        if config is None:
            return None
        if _holds_a_list(config, field):
            value = typed_numbers(text)  # None for "abc": the form's own words say how to type a list
        else:
            value = _typed_number(text)
            if value is None and _holds_a_number(config, field):
                value = text  # refused as the engine refuses any text there
        return None if value is None else self._refusal_of(field, value)

    def _refusal_of(self, field: str, value: object) -> ConfigError | None:
        """Why the engine refuses ``value`` for ``field`` beside the task edits staged for a restart
        (101 strengths refused where rows = 200 is staged no longer); only a refusal of ``field``
        itself counts, not one of another staged edit still to be fixed."""
        config = self._config()
        if config is None:
            return None
        staged = [(f"task.{name}", v) for name, v in self._views.task.staged.items()]
        changes = [(path, v) for path, v in staged if path != field] if field.startswith("task.") else []
        try:
            config.with_values([*changes, (field, value)])
        except ConfigError as exc:
            return exc if exc.field == field or exc.field.startswith(f"{field}[") else None
        return None

    # ---- transport -----------------------------------------------------------------------------

    @QtCore.Slot(bool)
    def play(self, playing: bool = True) -> None:
        if playing:
            self._views.timeline.live_button.setChecked(True)  # playing follows the run again
        self._link.submit(Play() if playing else Pause())

    @QtCore.Slot(int)
    def step(self, n: int = 1) -> None:
        """Step the engine; while the view looks back at an earlier step, → moves the view instead."""
        if self._step_view(n):
            return
        self._link.submit(Step(n))

    @QtCore.Slot(int)
    def reset(self, seed: int | None = None) -> None:
        if self._replacing_declined():
            return
        self._link.submit(Reset(seed=seed))

    @QtCore.Slot(str)
    def load_preset(self, name: str) -> None:
        try:
            preset = load_preset(name)
        except ConfigError as exc:
            self._refuse(str(exc))
            return
        self.run_preset(preset)

    def open_config(self, path: Path) -> None:
        """A config or preset TOML file, read as ``--config`` reads it: its run starts from W = 0
        (the run before is kept); a file that is not one is refused, naming what is wrong."""
        try:
            preset = load_config_file(Path(path))
            for error in view_errors(preset.view, len(preset.config.lanes)):  # refused as the CLI does
                raise ConfigError(f"{path}: {error.field}", error.value, error.allowed)
        except ConfigError as exc:
            self._refuse(f"Not opened: {exc}", reshow=False)
            return
        self.run_preset(preset)

    def run_preset(self, preset: Preset) -> None:
        """Start ``preset``'s run from W = 0 (its view opens with it)."""
        if self._replacing_declined():
            return
        self._link.submit(Reset(config=preset.config, refused_as="Not opened"))
        self.preset_loaded.emit(preset)

    # ---- changes -------------------------------------------------------------------------------

    def change(self, path: str, value) -> None:
        """One field, applied at the next step boundary (``task.label_noise``, ``lanes[1].lr``, …)."""
        self._submit(SetField(path, value))

    @QtCore.Slot()
    def add_lane(self) -> None:
        """A copy of the last lane's settings, starting from W = 0 on the same minibatches."""
        config = self._config()
        if config is None:
            self._refuse(_NOT_STARTED)
            return
        self._submit(AddLane(config.lanes[-1]))

    @QtCore.Slot(int)
    def remove_lane(self, index: int) -> None:
        self._submit(RemoveLane(index))

    @QtCore.Slot(dict)
    def restart_with(self, staged: dict) -> None:
        """Fields that change the task itself: validated together, then a restart from W = 0."""
        config = self._config()
        if config is None:
            self._refuse(_NOT_STARTED, reshow=False)  # the staged edits stay to be applied
            return
        try:
            restarted = config.with_values([(f"task.{name}", value) for name, value in staged.items()])
        except ConfigError as exc:
            self._refuse(f"Not applied: {exc}", reshow=False)  # the staged edits stay to be fixed
            return
        if self._replacing_declined():
            return  # the staged edits stay to be applied
        self._views.message.dismiss()
        self.change_carried_out.emit()
        self._link.submit(Reset(config=restarted))

    def _replacing_declined(self) -> bool:
        """Whether the user chose to keep the run on show after all (see ``may_replace``)."""
        if self._may_replace():
            return False
        self.replace_declined.emit()
        return True

    def _submit(self, change: Change) -> None:
        config = self._config()
        if config is None:
            self._refuse(_NOT_STARTED)
            return
        try:
            apply_change(config, change)  # validates the key, the value and whether it applies live
        except ConfigError as exc:
            self._refuse(f"Not applied: {exc}")
            return
        self.change_carried_out.emit()
        earlier = self._looked_back()
        if earlier is not None:  # a change at an earlier step forks the run there
            self._link.submit(GoTo(earlier))
            self._views.timeline.live_button.setChecked(True)
        self._link.submit(Apply(change))


#: Why a change is not applied before the engine has reported its configuration (its first step).
_NOT_STARTED = "Not applied: the run has not shown its first step yet; change it once step 0 is shown"


def _typed_number(text: str) -> int | float | None:
    """``text`` as the number it spells (a whole number as an int), or None."""
    for kind in (int, float):
        try:
            return kind(text.strip())
        except ValueError:
            continue
    return None


def _holds_a_number(config: ExperimentConfig, field: str) -> bool:
    """Whether ``field`` holds one number (a learning rate, d), not a list or a name: text typed
    there is refused in the engine's words for the number; a list's own words say more."""
    value = _value_in(config, field)
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _holds_a_list(config: ExperimentConfig, field: str) -> bool:
    """Whether ``field`` holds a list of numbers (signal strengths): a list typed there is refused in
    the engine's words for the number at fault."""
    return isinstance(_value_in(config, field), (list, tuple))


def _value_in(config: ExperimentConfig, field: str) -> object:
    section, lane, name = parse_field_path(field)
    if section == "lanes":
        holder = config.lanes[lane] if 0 <= lane < len(config.lanes) else None
    else:
        holder = getattr(config, section, None)
    return getattr(holder, name, None)
