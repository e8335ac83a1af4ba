"""The four live panels' names, as ``--panel``, File ▸ Export and scripts name them: one name each."""

from __future__ import annotations

__all__ = ["PANELS"]

#: ① spectra, ② over time, ③ per-class error, ④ capacity: the attributes of the window's views.
PANELS = ("spectrum", "series", "class_error", "capacity")
