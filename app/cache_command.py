"""``muonscope cache info|clear``: what the sweep cache holds, and emptying it."""

from __future__ import annotations

import argparse
import os

from muonscope.engine.errors import ConfigError
from muonscope.engine.sweep_cache import CacheInfo, SweepCache, default_cache_dir

__all__ = ["cache_command", "describe_cache"]


def cache_command(args: argparse.Namespace) -> int:
    """``info`` prints :func:`describe_cache`; ``clear`` removes our entries and says how many."""
    folder = default_cache_dir()
    if folder.exists() and not folder.is_dir():
        option = "MUONSCOPE_CACHE" if os.environ.get("MUONSCOPE_CACHE") else "cache folder"
        raise ConfigError(option, str(folder), "must be a folder (it is a file)")
    cache = SweepCache(folder)
    if args.cache_action == "info":
        print(describe_cache(cache.info()))
        return 0
    removed, freed = cache.clear()
    print(f"removed {removed} cached point{'' if removed == 1 else 's'} ({_size(freed)}) from {folder}")
    return 0


def describe_cache(info: CacheInfo) -> str:
    """Folder, entries and size, then one line per (schema, device, dtype, torch version)."""
    lines = [f"folder: {info.folder}" + ("" if info.exists else " (not created yet)")]
    lines.append(f"entries: {info.entries} ({_size(info.total_bytes)})")
    for (schema, device, dtype, torch_version), count in sorted(info.kinds.items()):
        where = f"{device} {dtype}, torch {torch_version}" if device != "?" else "device not recorded"
        lines.append(f"  {count:6d}  {schema}: {where}")
    if info.unreadable:
        lines.append(f"  {info.unreadable:6d}  unreadable (recomputed when a sweep needs them)")
    return "\n".join(lines)


def _size(count: int) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if count < 1000 or unit == "GB":
            return f"{count:.0f} {unit}" if unit == "bytes" else f"{count:.1f} {unit}"
        count /= 1000
    raise AssertionError("unreachable")
