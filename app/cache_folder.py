"""The sweep cache's folder as the commands meet it: named by ``MUONSCOPE_CACHE`` or the user cache
folder, refused before any work where it is not a folder or cannot be made or written."""

from __future__ import annotations

import os
from pathlib import Path

from muonscope.app.output_paths import check_writable, nearest_existing
from muonscope.engine.errors import ConfigError
from muonscope.engine.file_names import kind_of

__all__ = ["cache_option", "check_cache", "check_cache_folder"]


def check_cache() -> str:
    """The sweep cache folder (``MUONSCOPE_CACHE``, else the user cache folder) must be one that is
    or can be made. One that exists but cannot be written is read all the same (a shared cache on a
    read-only mount was refused though it held every point): the note returned says so ("" else)."""
    from muonscope.engine.sweep_cache import default_cache_dir

    option = cache_option()
    folder = default_cache_dir()
    try:
        check_cache_folder(folder, option)
        check_writable(folder, option)
    except ConfigError as refused:
        if not folder.is_dir():  # what to do instead, which the refusal alone left to be found
            raise ConfigError(option, str(folder), f"{refused.allowed}; {_ELSEWHERE}") from None
        read_only = "its points are read, the ones computed not stored"
        return f"{option} = {str(folder)!r} {refused.allowed}: {read_only}"
    return ""


#: What a sweep whose cache folder cannot be made may do instead.
_ELSEWHERE = "set MUONSCOPE_CACHE to a folder that can be written, or give --no-cache"


def cache_option() -> str:
    """What a refusal of the cache folder names: the variable where it was given, else the folder."""
    return "MUONSCOPE_CACHE" if os.environ.get("MUONSCOPE_CACHE") else "cache folder"


def check_cache_folder(folder: Path, option: str) -> None:
    """The cache path, or the nearest part of it that exists, must be a folder, and one not made
    yet must be one that can be: under a file, or in a folder that cannot be written (``/proc/x``),
    ``cache info`` called it "not created yet" while every sweep refused it."""
    existing = nearest_existing(folder)
    if existing == folder and not folder.is_dir():
        raise ConfigError(option, str(folder), f"must be a folder (it is {kind_of(folder)})")
    if not existing.is_dir():
        raise ConfigError(option, str(folder), f"{existing} is {kind_of(existing)}, not a folder")
    if existing != folder:  # tried, not read off the permissions: root may write /proc, and cannot
        first_missing = existing / folder.relative_to(existing).parts[0]
        try:
            first_missing.mkdir()
            first_missing.rmdir()
        except OSError as exc:
            raise ConfigError(
                option,
                str(folder),
                f"cannot be created: no folder can be made in {existing} ({exc.strerror})",
            ) from None
