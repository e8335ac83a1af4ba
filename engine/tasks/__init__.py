"""Tasks: what the lanes learn from (memory tasks) or are fed (the spiked gradient stream)."""

from __future__ import annotations

import torch

from muonscope.engine.config import TaskConfig
from muonscope.engine.tasks.base import Evaluation, Task
from muonscope.engine.tasks.memory_task import MemoryTask
from muonscope.engine.tasks.spiked import SpikedTask

__all__ = ["Evaluation", "MemoryTask", "SpikedTask", "Task", "build_task"]


def build_task(cfg: TaskConfig, device: torch.device, dtype: torch.dtype) -> Task:
    """The task object for a config, its data drawn from ``cfg.seed``."""
    if cfg.kind == "spiked":
        return SpikedTask(cfg, device, dtype)
    return MemoryTask(cfg, device, dtype)
