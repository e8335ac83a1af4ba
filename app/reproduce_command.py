"""``muonscope reproduce``: run a preset's reproduction, draw its figures, write data and summary."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from engine.errors import ConfigError
from engine.presets import load_preset, preset_names
from engine.reproduce import REPRODUCTIONS, Settings
from engine.reproduce.output import summary_markdown, write_tables

__all__ = ["list_presets", "reproduce"]


def list_presets() -> str:
    """One block per preset: name, title, paper and claim."""
    blocks = []
    for name in preset_names():
        preset = load_preset(name)
        mark = "" if name in REPRODUCTIONS else "  (no reproduction)"
        blocks.append(f"{name}{mark}\n  {preset.title}\n  {preset.citation}\n  claim: {preset.claim}")
    return "\n\n".join(blocks)


class _Bar:
    """A tqdm bar per stage on a terminal; silent otherwise."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled and sys.stderr.isatty()
        self.bar = None
        self.stage = ""

    def __call__(self, done: int, total: int, text: str) -> None:
        if not self.enabled:
            return
        from tqdm import tqdm

        if text != self.stage or self.bar is None:
            self.close()
            self.stage = text
            self.bar = tqdm(total=total, desc=text, file=sys.stderr, leave=False, delay=0.5)
        self.bar.update(done - self.bar.n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def reproduce(
    preset: str,
    out: Path,
    *,
    full: bool = False,
    table_format: str = "parquet",
    workers: int = 0,
    use_cache: bool = True,
    progress: bool = True,
) -> int:
    """Run, write figures/data/summary.md into ``out``, print the summary; returns failed checks."""
    if preset not in REPRODUCTIONS:
        raise ConfigError("preset", preset, "must be one of " + ", ".join(sorted(REPRODUCTIONS)))
    from app.figures import render_figure

    bar = _Bar(progress)
    start = time.perf_counter()
    try:
        result = REPRODUCTIONS[preset](Settings("full" if full else "ci", workers, use_cache, bar))
    finally:
        bar.close()
    out.mkdir(parents=True, exist_ok=True)
    files = [render_figure(figure, out / f"{figure.name}.png") for figure in result.figures]
    files += write_tables(result.tables, out, table_format)
    summary = summary_markdown(result, files, time.perf_counter() - start)
    (out / "summary.md").write_text(summary, encoding="utf-8")
    print(summary)
    return len(result.failed)
