"""Where a run executes and whether it fits: device, precision and a memory estimate.

The estimate is checked before anything is allocated, so a problem too large for the machine is
refused with the size it would need instead of dying half-way through an allocation.
"""

from __future__ import annotations

import os

import torch

from muonscope.engine.config import ExperimentConfig, RunConfig
from muonscope.engine.errors import ConfigError
from muonscope.engine.memory_estimate import OVERHEAD
from muonscope.engine.task_kinds import TASK_KINDS

__all__ = [
    "check_memory",
    "estimate_bytes",
    "exact_float32_matmuls",
    "memory_limit_bytes",
    "memory_parts",
    "resolve_device",
]

_GIB = 1024**3


def resolve_device(run: RunConfig) -> tuple[torch.device, torch.dtype]:
    """The torch device and dtype of a run (``auto``: CUDA when present; float64 on CPU)."""
    cuda = torch.cuda.is_available()
    if run.device == "cuda" and not cuda:
        raise ConfigError("run.device", "cuda", "CUDA is not available on this machine; use auto or cpu")
    device = torch.device("cuda" if run.device == "cuda" or (run.device == "auto" and cuda) else "cpu")
    if run.dtype == "auto":
        dtype = torch.float32 if device.type == "cuda" else torch.float64
    else:
        dtype = getattr(torch, run.dtype)
    return device, dtype


def exact_float32_matmuls() -> None:
    """Turn TF32 off: float32 matmuls and convolutions round to float32, not to a 10-bit mantissa.

    Recent GPUs may run float32 matmuls in TF32 (about 3 decimal digits); the tail of a power-law
    spectrum and the one-step capacity then come out wrong, so a run never allows it.
    """
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.set_float32_matmul_precision("highest")


def memory_parts(config: ExperimentConfig, dtype: torch.dtype) -> dict[str, int]:
    """Peak bytes a run needs, by the setting that sizes each part (they add up to the estimate)."""
    item = torch.empty((), dtype=dtype).element_size()
    return TASK_KINDS[config.task.kind].memory_parts(config, item)


def estimate_bytes(config: ExperimentConfig, dtype: torch.dtype) -> int:
    """Peak bytes a run needs: its data, its lanes' matrices and optimizer state, and the largest of
    a minibatch step, a population evaluation (sampled or exact) and the spectra."""
    return sum(memory_parts(config, dtype).values())


def memory_limit_bytes(run: RunConfig, device: torch.device) -> tuple[int, str]:
    """How much memory a run may use, and where that limit comes from."""
    if run.max_memory_gb > 0:
        return int(run.max_memory_gb * _GIB), f"run.max_memory_gb = {run.max_memory_gb:g} GiB"
    if device.type == "cuda":
        free, _total = torch.cuda.mem_get_info(device)
        return int(0.8 * free), "80% of the GPU's free memory"
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return total // 2, f"half of this machine's {total / _GIB:.1f} GiB"


def check_memory(
    config: ExperimentConfig, device: torch.device, dtype: torch.dtype, sharing: int = 1
) -> None:
    """Refuse, before allocating, a problem whose estimate exceeds the memory limit.

    The error names the setting behind the largest part of the estimate (the batch size when the
    minibatch is what does not fit), with what it alone needs. ``sharing``: runs computed at once
    that share the default limit (a sweep's local workers), each allowed its part.
    """
    parts = memory_parts(config, dtype)
    need = sum(parts.values())
    limit, source = memory_limit_bytes(config.run, device)
    if sharing > 1 and config.run.max_memory_gb <= 0:
        limit, source = limit // sharing, f"{source}, shared by {sharing} points computed at once"
    if need <= limit:
        return
    overhead = parts.pop(OVERHEAD, 0)
    if limit <= overhead:
        raise ConfigError(
            "run.max_memory_gb",
            config.run.max_memory_gb,
            f"a run needs at least its fixed overhead of about {_bytes_text(overhead)}, more than the "
            f"{_bytes_text(limit)} this allows (the limit is in GiB; 0 means half of RAM)",
        )
    path = max(parts, key=parts.__getitem__)
    section, _, name = path.partition(".")
    value = getattr(getattr(config, section), name)
    task = config.task
    sizes = ", ".join(f"{field}={getattr(task, field)}" for field in TASK_KINDS[task.kind].size_fields)
    raise ConfigError(
        path,
        value,
        f"{sizes} with {len(config.lanes)} lane(s) needs about {_bytes_text(need)} "
        f"({_bytes_text(parts[path])} of it for {path} = {value}, {_bytes_text(overhead)} a fixed "
        f"overhead), more than the {_bytes_text(limit)} allowed ({source}); reduce it or raise "
        "run.max_memory_gb",
    )


def _three_digits(value: float) -> str:
    """``value`` to three significant digits, never in exponent form (0.25, 5.12, 24, 408, 1234)."""
    return f"{value:.3g}" if value < 1000 else f"{value:.0f}"


def _bytes_text(size_bytes: float) -> str:
    """A size in the largest unit of which it is at least a tenth, to three digits ("needs about 0.0
    GiB, more than the 0.0 GiB allowed" read as nonsense for a small limit, "the 0.0 MiB this allows"
    as the limit 0, which means half of RAM, and a limit of 0.25 GiB as "the 0.2 GiB allowed")."""
    for unit, size in (("GiB", _GIB), ("MiB", 2**20), ("KiB", 2**10)):
        if size_bytes >= 0.1 * size:
            return f"{_three_digits(size_bytes / size)} {unit}"
    return f"{size_bytes:.0f} bytes"
