"""muonscope's training engine: tasks, optimizers, metrics and lockstep lanes. No Qt here.

The public names below are imported on first use, so ``import muonscope.engine.errors`` (what the
command line needs to report a bad argument) does not pull in torch.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from muonscope.engine.changes import AddLane, RemoveLane, SetField
    from muonscope.engine.config import ExperimentConfig, LaneConfig, RunConfig, TaskConfig
    from muonscope.engine.errors import ConfigError
    from muonscope.engine.experiment import Experiment
    from muonscope.engine.optim.registry import OPTIMIZERS
    from muonscope.engine.snapshot import Event, LaneSnapshot, Snapshot, Spectra

_HOMES = {
    "AddLane": "changes",
    "RemoveLane": "changes",
    "SetField": "changes",
    "ExperimentConfig": "config",
    "LaneConfig": "config",
    "RunConfig": "config",
    "TaskConfig": "config",
    "ConfigError": "errors",
    "Experiment": "experiment",
    "OPTIMIZERS": "optim.registry",
    "Event": "snapshot",
    "LaneSnapshot": "snapshot",
    "Snapshot": "snapshot",
    "Spectra": "snapshot",
}
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


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_HOMES[name]}"), name)
