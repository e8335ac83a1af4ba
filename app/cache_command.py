"""``muonscope cache info|clear``: what the sweep cache holds, and emptying it."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from muonscope.app.cache_folder import cache_option, check_cache_folder
from muonscope.engine.errors import ConfigError
from muonscope.engine.sweep_cache import CacheInfo, SweepCache, default_cache_dir

__all__ = ["cache_command", "describe_cache"]


def cache_command(args: argparse.Namespace) -> int:
    """``info`` prints :func:`describe_cache`; ``clear`` removes our entries and says how many.

    A folder that cannot be one (a file, or a path under a file) is refused as a sweep refuses it;
    ``clear`` also refuses a folder it cannot write, before removing anything.
    """
    folder = default_cache_dir().absolute()  # a relative MUONSCOPE_CACHE was printed as given
    option = cache_option()
    check_cache_folder(folder, option)
    cache = SweepCache(folder)
    if args.cache_action == "info":
        print(describe_cache(cache.info()))
        return 0
    if folder.is_dir() and not os.access(folder, os.W_OK | os.X_OK):
        why = "Read-only file system" if _read_only(folder) else "Permission denied"
        raise ConfigError(option, str(folder), f"cannot be written ({why}): nothing was removed")
    cleared = cache.clear()
    points = f"{cleared.removed} cached point{'' if cleared.removed == 1 else 's'}"
    print(f"removed {points} ({_size(cleared.freed_bytes)}) from {folder}")
    if cleared.kept:
        entries = f"{cleared.kept} entr{'y' if cleared.kept == 1 else 'ies'}"
        sys.stderr.write(f"muonscope cache: {entries} could not be removed, e.g. {cleared.first_failure}\n")
        return 1
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


def _read_only(folder: Path) -> bool:
    """Whether ``folder`` lies on a file system mounted read-only (it said "Permission denied")."""
    try:
        return bool(os.statvfs(folder).f_flag & os.ST_RDONLY)
    except (OSError, AttributeError):  # no statvfs (Windows)
        return False
