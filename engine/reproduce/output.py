"""Writing a reproduction to a folder: tables (Parquet or CSV), figure data, and summary.md."""

from __future__ import annotations

from pathlib import Path

from muonscope.engine.presets import load_preset
from muonscope.engine.reproduce.base import Reproduction
from muonscope.engine.tables import write_table

__all__ = ["summary_markdown", "write_tables"]

_RESULT = {True: "pass", False: "**FAIL**", None: "reported (not judged)"}


def write_tables(tables: dict[str, dict[str, list]], folder: Path, table_format: str) -> list[Path]:
    """One Parquet or CSV file per named table of equal-length columns."""
    return [write_table(columns, folder / f"{name}.{table_format}") for name, columns in tables.items()]


def summary_markdown(reproduction: Reproduction, files: list[Path], seconds: float) -> str:
    """The claims table with measured and expected values, notes, and the files written."""
    preset = load_preset(reproduction.preset)
    judged = [c for c in reproduction.claims if c.passed is not None]
    passed = sum(1 for c in judged if c.passed)
    lines = [
        f"# {reproduction.title}",
        "",
        f"- preset: `{reproduction.preset}` — {preset.citation}",
        f"- claim: {preset.claim}",
        f"- size: {reproduction.size} ({seconds:.0f} s); {passed} of {len(judged)} checks pass",
        "",
        "| check | claim | measured | expected | result |",
        "|---|---|---|---|---|",
    ]
    for claim in reproduction.claims:
        cells = (claim.check, claim.text, claim.measured, claim.expected, _RESULT[claim.passed])
        lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
    if reproduction.notes:
        lines += ["", "## Notes", ""] + [f"- {note}" for note in reproduction.notes]
    lines += ["", "## Files", ""] + [f"- `{path.name}`" for path in files]
    return "\n".join(lines) + "\n"
