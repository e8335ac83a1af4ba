"""Tasks: what the lanes learn from (memory tasks) or are fed (the spiked gradient stream)."""

from __future__ import annotations

import torch

from muonscope.engine.config import EXACT_EVAL_ITEMS, TaskConfig
from muonscope.engine.tasks.base import Evaluation, Task
from muonscope.engine.tasks.memory_task import MemoryTask
from muonscope.engine.tasks.spiked import SpikedTask

__all__ = ["TASK_CLASSES", "Evaluation", "MemoryTask", "SpikedTask", "Task", "build_task"]

#: The class that implements each kind of :data:`muonscope.engine.task_kinds.TASK_KINDS`.
TASK_CLASSES: dict[str, type[Task]] = {
    "zipf": MemoryTask,
    "hierarchical": MemoryTask,
    "two_level": MemoryTask,
    "spiked": SpikedTask,
}


def build_task(
    cfg: TaskConfig, device: torch.device, dtype: torch.dtype, exact_eval_items: int = EXACT_EVAL_ITEMS
) -> Task:
    """The task object for a config, its data drawn from ``cfg.seed``.

    ``exact_eval_items`` (``run.exact_eval_items``): how large a population a memory task evaluates
    exactly before it samples.
    """
    task_class = TASK_CLASSES[cfg.kind]
    if issubclass(task_class, MemoryTask):
        return task_class(cfg, device, dtype, exact_eval_items)
    return task_class(cfg, device, dtype)
