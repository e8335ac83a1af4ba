"""What a saved session folder holds and how a bad one is refused: the format's constants and error.

A saved session is a folder of four files, none of which can run code when read:

* ``session.json`` — format name and version, the number of what its steps measured (``measures``,
  see :mod:`engine.measure_changes`), the initial configuration, the branches with their
  changes and the torch thread count of their steps (a replay computes each step alike), the
  breakpoints, the panel modes it was saved with (``view``, optional), and for every checkpoint
  its step, configuration, events and the scalars of its lanes' latest metrics;
* ``tensors.safetensors`` — every tensor and array: W, optimizer state, the task's random state and
  the arrays of the lanes' latest metrics, keyed ``c<checkpoint>.<name>``;
* ``metrics.parquet`` — the per-step metrics of every branch (one row per branch, step and lane);
* ``spectra.parquet`` — the singular values of G, M, the update and W of every branch at the steps
  they were computed.
"""

from __future__ import annotations

from pathlib import Path

from muonscope.engine.errors import ConfigError
from muonscope.engine.metrics import Isotropy
from muonscope.engine.snapshot import Spectra

__all__ = [
    "FILES",
    "FORMAT",
    "FORMAT_VERSION",
    "NESTED",
    "SPECTRA_COLUMNS",
    "SaveFailed",
    "SessionError",
    "os_reason",
    "session_folder",
    "session_name",
]

FORMAT = "muonscope-session"
#: 2: lanes keep lam_schedule, thresholded and why they diverged; sessions keep a view, a save id and the
#: number of what their steps measured (``measures``). Version 1 is read as well.
FORMAT_VERSION = 2
FILES = ("session.json", "tensors.safetensors", "metrics.parquet", "spectra.parquet")
#: The spectra saved per branch, step and lane, one list column each.
SPECTRA_COLUMNS = ("gradient", "momentum", "update", "weights")
#: Nested snapshot types a saved lane may hold, by field name.
NESTED = {"spectra": Spectra, "weight_isotropy": Isotropy, "update_isotropy": Isotropy}


class SessionError(ConfigError):
    """A session file that cannot be read or written: one line naming the file and the problem."""

    def __init__(self, path: Path | str, problem: str) -> None:
        self.field, self.value, self.allowed = str(path), str(path), problem
        ValueError.__init__(self, f"{path}: {problem}")

    def __reduce__(self):
        return type(self), (self.field, self.allowed)


class SaveFailed(OSError):
    """A session the system would not let be written (a folder it may not write, a full disk): a
    failure of the machine, not of the input, said in one line naming the folder the user chose."""

    names_itself = True  # the command line says it as it is, without its class name

    def __init__(self, path: Path | str, problem: str, errno: int | None = None) -> None:
        super().__init__(f"{path}: {problem}")
        self.errno = errno


def os_reason(exc: OSError) -> str:
    """What the system refused, in words: "permission denied" (not "[Errno 13] …: '.x.saving.a1'",
    which named a hidden folder the user never chose)."""
    return (exc.strerror or str(exc)).lower()


def session_folder(path: str | Path) -> Path:
    """A saved session's folder, named by itself or by its ``session.json``."""
    path = Path(path)
    return path.parent if path.name == "session.json" else path


def session_name(path: str | Path) -> str:
    """A saved session's name: its folder's (``runs/s1`` and ``runs/s1/session.json`` are ``s1``)."""
    return session_folder(path).name
