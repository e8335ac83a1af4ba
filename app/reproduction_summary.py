"""A reproduction's summary.md: the claims table with measured and expected values, notes, files."""

from __future__ import annotations

from pathlib import Path

from muonscope.app.reproduction_figures import presentation
from muonscope.engine.presets import load_preset
from muonscope.engine.reproduce import Reproduction

__all__ = ["summary_markdown"]

_RESULT = {True: "pass", False: "**FAIL**", None: "reported (not judged)"}


def summary_markdown(reproduction: Reproduction, files: list[Path], seconds: float) -> str:
    """The claims table with measured and expected values, notes, and the files written."""
    preset = load_preset(reproduction.preset)
    judged = [c for c in reproduction.claims if c.passed is not None]
    passed = sum(1 for c in judged if c.passed)
    lines = [
        f"# {presentation(reproduction.preset).title}",
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
