"""The sweep cache: one JSON file per computed point, keyed by what it computed and where.

A key hashes the point's config, steps and tracing with the runtime it was computed in (device,
dtype, torch version), so float32 results from a GPU never stand in for float64 results from a
CPU. The cache only ever saves time: an entry that cannot be read, does not parse, lacks a field or
describes another point is skipped with a warning naming its file, and the point is recomputed; a
write that fails is reported the same way and the sweep goes on.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import warnings
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from muonscope.engine.errors import ConfigError
from muonscope.engine.file_names import HomeUnknown, home_expanded
from muonscope.engine.file_writes import write_text_whole
from muonscope.engine.sweep_point import Runtime, SweepPoint, lane_record_problem

__all__ = ["CacheInfo", "CacheWarning", "CachedPoint", "SweepCache", "cache_key", "default_cache_dir"]

#: Our entries and our writers' temporary files; nothing else in the folder is ever touched.
_ENTRY = re.compile(r"^[0-9a-f]{32}\.json$")
_TEMPORARY = re.compile(r"^\.[0-9a-f]{32}\.(json\.[^/]+\.part|[^/]+\.tmp)$")  # .tmp: writers before 0.2


class CacheWarning(UserWarning):
    """A cache entry was skipped or could not be written; the sweep recomputes and goes on."""


def default_cache_dir() -> Path:
    """Per-user cache folder (``MUONSCOPE_CACHE`` overrides; a ``~`` at its start is the home folder,
    as a shell would have made it, where a quoted ``'~/c'`` left it unexpanded)."""
    if os.environ.get("MUONSCOPE_CACHE"):
        try:
            return home_expanded(os.environ["MUONSCOPE_CACHE"])
        except HomeUnknown as unknown:  # "~nosuchuser/c"
            raise ConfigError("MUONSCOPE_CACHE", os.environ["MUONSCOPE_CACHE"], str(unknown)) from None
    import platformdirs

    return Path(platformdirs.user_cache_dir("muonscope")) / "sweeps"


def cache_key(point: SweepPoint, runtime: Runtime) -> str:
    """The entry name of ``point`` computed in ``runtime``."""
    payload = json.dumps(_described(point, runtime), sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()[:32]


def _described(point: SweepPoint, runtime: Runtime) -> dict[str, Any]:
    """What an entry says of its point and runtime: hashed into its name, stored, checked on reading."""
    described = {**_identity(point), "device": runtime.device, "dtype": runtime.dtype}
    described["torch_version"] = runtime.torch_version
    return described


def _identity(point: SweepPoint) -> dict[str, Any]:
    """The point as its entry records it: the run's device and dtype as asked for ("auto") are left
    out, the runtime they resolve to stands beside it (``auto`` and ``float64`` on a CPU computed
    the same numbers twice, into two entries)."""
    identity = point.identity()
    for name in ("device", "dtype"):
        identity["config"]["run"].pop(name, None)
    return identity


@dataclass(frozen=True)
class CachedPoint:
    """A stored point's lane records and the seconds it took to compute."""

    lanes: tuple[dict[str, Any], ...]
    seconds: float


@dataclass(frozen=True)
class CacheInfo:
    """What ``muonscope cache info`` reports."""

    folder: Path
    exists: bool
    entries: int
    total_bytes: int
    #: Entries by (schema, device, dtype, torch version); "?" where a record does not say.
    kinds: dict[tuple[str, str, str, str], int]
    unreadable: int


@dataclass(frozen=True)
class Cleared:
    """What ``muonscope cache clear`` did: entries removed, bytes freed, and what it could not remove."""

    removed: int
    freed_bytes: int
    kept: int = 0  # entries that could not be removed
    first_failure: str = ""  # the first of them and why ("…/b11a.json (Permission denied)")


class SweepCache:
    """The entries in one folder (created on the first store)."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        #: Entries not stored, by the system's reason: a full disk warned once per point, 12 lines.
        self.not_stored: Counter[str] = Counter()

    def path(self, point: SweepPoint, runtime: Runtime) -> Path:
        return self.folder / f"{cache_key(point, runtime)}.json"

    def load(self, point: SweepPoint, runtime: Runtime) -> CachedPoint | None:
        """The stored result of ``point`` in ``runtime``; None (with a warning if damaged) otherwise."""
        path = self.path(point, runtime)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except (OSError, UnicodeDecodeError) as exc:
            return _skip(path, _reason(exc))
        try:
            record = json.loads(text)
        except ValueError:
            return _skip(path, "it is not complete JSON")
        problem = _record_problem(record, point, runtime)
        if problem:
            return _skip(path, problem)
        return CachedPoint(tuple(record["lanes"]), float(record["seconds"]))

    def store(self, point: SweepPoint, runtime: Runtime, lanes: list[dict[str, Any]], seconds: float) -> None:
        """Write the entry atomically under a temporary name of this writer's own, then rename it.

        Two writers of one entry each write their own file; the last rename wins with a complete
        record, and a reader never sees half of one. A failed write is a warning, not an error.
        """
        path = self.path(point, runtime)
        record = {**_described(point, runtime), "lanes": lanes, "seconds": seconds}
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            write_text_whole(path, json.dumps(record))
        except OSError as exc:
            reason = _reason(getattr(exc, "cause", exc))
            self.not_stored[reason] += 1
            if self.not_stored[reason] == 1:  # said once: the next entries fail alike
                alike = "further entries refused alike are not stored either, and not said"
                said = f"cannot write the cache entry {path}: {reason}; {alike}"
                warnings.warn(said, CacheWarning, stacklevel=2)

    def entries(self) -> list[Path]:
        """Our entry files (any schema), sorted by name."""
        if not self.folder.is_dir():
            return []
        return sorted(p for p in self.folder.iterdir() if _ENTRY.match(p.name) and not p.is_dir())

    def info(self) -> CacheInfo:
        """How many entries there are, how much room they take, and what they were computed on."""
        entries = self.entries()
        kinds: Counter[tuple[str, str, str, str]] = Counter()
        unreadable = 0
        total = 0
        for path in entries:
            try:
                total += path.stat().st_size
                record = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                unreadable += 1
                continue
            if not isinstance(record, dict):
                unreadable += 1
                continue
            fields = ("schema", "device", "dtype", "torch_version")
            kinds[tuple(str(record.get(name, "?")) for name in fields)] += 1
        return CacheInfo(self.folder, self.folder.is_dir(), len(entries), total, dict(kinds), unreadable)

    def clear(self) -> Cleared:
        """Remove our entries and left-over temporary files; one that cannot be removed is counted
        and the rest still go (a folder of another user's entries stopped at the first, unsaid)."""
        if not self.folder.is_dir():
            return Cleared(0, 0)
        removed = freed = kept = 0
        first_failure = ""
        for path in self.folder.iterdir():
            ours = _ENTRY.match(path.name) or _TEMPORARY.match(path.name)
            if not ours or path.is_dir():
                continue
            try:
                size = path.stat().st_size
                path.unlink(missing_ok=True)
            except OSError as exc:
                kept += 1
                first_failure = first_failure or f"{path} ({exc.strerror or exc})"
                continue
            if _ENTRY.match(path.name):
                removed += 1
            freed += size
        return Cleared(removed, freed, kept, first_failure)


def _skip(path: Path, reason: str) -> None:
    warnings.warn(f"ignoring the cache entry {path}: {reason}; recomputing it", CacheWarning, stacklevel=3)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, IsADirectoryError):
        return "it is a folder"
    if isinstance(exc, UnicodeDecodeError):
        return "it is not UTF-8 text"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower()
    return str(exc)


def _record_problem(record: Any, point: SweepPoint, runtime: Runtime) -> str:
    """Why ``record`` is not a usable result of ``point`` in ``runtime`` ("" when it is)."""
    if not isinstance(record, dict):
        return f"it holds a JSON {type(record).__name__}, not an object"
    expected = _described(point, runtime)
    for name, value in expected.items():
        if name not in record:
            return f"it has no {name!r}"
        if record[name] != value:
            return f"its {name!r} is not the point's"
    extra = sorted(set(record) - set(expected) - {"lanes", "seconds"})
    if extra:
        return f"it has a field {extra[0]!r} the point does not"
    seconds = record.get("seconds")
    if isinstance(seconds, bool) or not isinstance(seconds, int | float) or not seconds >= 0:
        return "its 'seconds' is not a number of seconds"
    return _lanes_problem(record.get("lanes"), len(point.config.lanes))


def _lanes_problem(lanes: Any, count: int) -> str:
    if not isinstance(lanes, list) or len(lanes) != count:
        return f"its 'lanes' is not a list of {count} lane records"
    for index, lane in enumerate(lanes):
        if not isinstance(lane, dict):
            return f"lane {index} is not a record"
        problem = lane_record_problem(lane)
        if problem:
            return f"lane {index} {problem}"
    return ""
