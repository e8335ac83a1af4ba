"""A reproduction's summary.md: the claims table with measured and expected values, notes, files."""

from __future__ import annotations

import re
from pathlib import Path

from muonscope import __version__
from muonscope.app.reproduction_figures import presentation
from muonscope.engine.headless import torch_version
from muonscope.engine.presets import load_preset
from muonscope.engine.reproduce import Reproduction
from muonscope.widgets.number_text import power_text

__all__ = ["summary_markdown"]

_RESULT = {True: "pass", False: "**FAIL**", None: "reported (not judged)"}
#: A number in e-notation: "2.19e-37", "5.00e-02".
_E_NOTATION = re.compile(r"(?<![\w.])(\d+(?:\.\d+)?)e([+-]?\d+)\b")


def _verdict(passed: int, judged: int, claims: int) -> str:
    """How many checks pass; an exploratory reproduction says it judges none ("0 of 0 checks pass")."""
    if judged == 0:
        return f"exploratory: {claims} measurement{'' if claims == 1 else 's'} reported, none judged"
    unjudged = f", {claims - judged} more reported (not judged)" if claims > judged else ""
    return f"{passed} of {judged} checks pass{unjudged}"


def summary_markdown(reproduction: Reproduction, files: list[Path], seconds: float) -> str:
    """The claims table with measured and expected values, notes, and the files written."""
    preset = load_preset(reproduction.preset)
    judged = [c for c in reproduction.claims if c.passed is not None]
    passed = sum(1 for c in judged if c.passed)
    verdict = _verdict(passed, len(judged), len(reproduction.claims))
    lines = [
        f"# {presentation(reproduction.preset).title}",
        "",
        f"- preset: `{reproduction.preset}` — {preset.citation}",
        f"- claim: {preset.claim}",
        f"- size: {reproduction.size} ({seconds:.0f} s); {verdict}",
        # the last digits of a measurement differ between versions: a table compared with another
        # machine's said nothing of the code that computed it
        f"- computed by: muonscope {__version__} with PyTorch {torch_version()}",
        "",
        "| claim | measured | expected | result |",
        "|---|---|---|---|",
    ]
    for claim in reproduction.claims:
        cells = (
            claim.text,
            _readable(claim.measured),
            _readable(claim.expected),
            _RESULT[claim.passed],
        )
        lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
    if reproduction.notes:
        lines += ["", "## Notes", ""] + [f"- {note}" for note in reproduction.notes]
    lines += ["", "## Files", ""] + [_file_line(path, reproduction.tables) for path in files]
    return "\n".join(lines) + "\n"


def _file_line(path: Path, tables: dict[str, dict]) -> str:
    """A file of the reproduction, and a table's columns: a reader met "A_pre" and "s_buffer" with
    nothing to say which table held what."""
    columns = tables.get(path.stem) if path.suffix in (".parquet", ".csv") else None
    return f"- `{path.name}`" + (f": {', '.join(f'`{name}`' for name in columns)}" if columns else "")


def _readable(text: str) -> str:
    """Numbers in e-notation written as the window writes them: "2.19e-37" → "2.19·10⁻³⁷" (one column
    mixed "0.0270" with "1.56e-02")."""
    return _E_NOTATION.sub(
        lambda m: f"{m[1]}·{power_text(int(m[2]))}" if m[1] != "1" else power_text(int(m[2])), text
    )
