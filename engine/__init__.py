"""muonscope's training engine: tasks, optimizers, metrics and lockstep lanes. No Qt here."""

from engine.changes import AddLane, RemoveLane, SetField
from engine.config import ExperimentConfig, LaneConfig, RunConfig, TaskConfig
from engine.errors import ConfigError
from engine.experiment import Experiment
from engine.optim.registry import OPTIMIZERS
from engine.snapshot import Event, LaneSnapshot, Snapshot, Spectra

__all__ = [
    "OPTIMIZERS",
    "AddLane",
    "ConfigError",
    "Event",
    "Experiment",
    "ExperimentConfig",
    "LaneConfig",
    "LaneSnapshot",
    "RemoveLane",
    "RunConfig",
    "SetField",
    "Snapshot",
    "Spectra",
    "TaskConfig",
]
