"""``muonscope reproduce``: run a preset's reproduction, draw its figures, write data and summary."""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from muonscope.app.cache_folder import check_cache
from muonscope.app.command_io import headless_command, interrupts_deferred
from muonscope.app.config_args import (
    check_executor,
    check_workers,
    open_executor,
    usable_workers,
)
from muonscope.app.output_paths import check_output_folder
from muonscope.app.progress import ProgressBar
from muonscope.app.stop_signals import EXIT_INTERRUPTED, forget_if_left_empty, points_kept_text
from muonscope.engine.errors import ConfigError
from muonscope.engine.executors import Executor
from muonscope.engine.file_writes import write_text_whole
from muonscope.engine.presets import load_preset, preset_names
from muonscope.engine.reproduce import REPRODUCTIONS, Settings
from muonscope.engine.tables import clear_other_formats, replacement_note, write_table
from muonscope.engine.validate import one_of

__all__ = ["list_presets", "reproduce", "reproduce_command"]


def list_presets() -> str:
    """One block per preset: name, title, paper and claim."""
    blocks = []
    for name in preset_names():
        preset = load_preset(name)
        mark = "" if name in REPRODUCTIONS else "  (no reproduction)"
        blocks.append(f"{name}{mark}\n  {preset.title}\n  {preset.citation}\n  claim: {preset.claim}")
    return "\n\n".join(blocks)


def reproduce_command(args: argparse.Namespace) -> int:
    """``muonscope reproduce``: --list, or one preset's reproduction into a folder."""
    if args.list:
        if args.preset is not None:
            raise ConfigError("--list", args.preset, "lists every preset; give either --list or a PRESET")
        _refuse_options_beside_list(args)
        print(list_presets())
        return 0
    if args.preset is None:
        args.command_parser.error("name a PRESET to reproduce (see --list)")
    workers = check_workers(args.workers)
    check_executor(args.executor, args.scheduler)
    if args.preset not in REPRODUCTIONS:
        raise ConfigError("preset", args.preset, one_of(args.preset, sorted(REPRODUCTIONS)))
    out = args.out or Path(f"reproduce-{args.preset}")
    if not args.no_cache and (note := check_cache()):
        sys.stderr.write(f"muonscope reproduce: note: {note}\n")
    out_existed = os.path.exists(out)  # False for a name too long to ask about, which the check says
    check_output_folder(out, "--out" if args.out is not None else "--out (its default)")
    workers = usable_workers(workers, "reproduce")
    try:
        with (
            headless_command(interrupt_at_once=args.executor != "dask"),
            open_executor(args.executor, args.scheduler, workers) as executor,
        ):
            failed = reproduce(
                args.preset,
                out,
                full=args.full,
                table_format=args.format,
                workers=workers,
                use_cache=not args.no_cache,
                progress=not args.no_progress,
                executor=executor,
            )
    except StoppedComputing as stop:  # the workers are stopped by then; say what is kept
        forget_if_left_empty(out, out_existed)
        kept = points_kept_text(stop.points, cached=not args.no_cache)
        sys.stderr.write(f"muonscope reproduce: interrupted before its figures, {kept}\n")
        return EXIT_INTERRUPTED
    except StoppedDrawing as stop:
        sys.stderr.write(
            f"muonscope reproduce: interrupted while drawing its figures ({stop.drawn} drawn); its checks, "
            f"data and summary.md are in {out}\n"
        )
        return EXIT_INTERRUPTED
    except Exception:  # refused (no Dask scheduler answered) or failed before writing: no empty folder
        forget_if_left_empty(out, out_existed)
        raise
    if failed:
        sys.stderr.write(f"muonscope reproduce: {failed} check(s) failed; see {out / 'summary.md'}\n")
        return 1
    return 0


def _refuse_options_beside_list(args: argparse.Namespace) -> None:
    """``--list`` with an option of a reproduction (``--out x``): the option did nothing, unsaid."""
    parser = args.command_parser
    for action in parser._actions:
        if action.dest in ("help", "list", "preset") or not action.option_strings:
            continue
        if getattr(args, action.dest) != action.default:
            option = max(action.option_strings, key=len)
            raise ConfigError("--list", option, f"lists the presets and takes no {option}; give --list alone")


class StoppedDrawing(KeyboardInterrupt):
    """Ctrl-C or SIGTERM while a reproduction's figures were drawn, after ``drawn`` of them (its
    tables and summary are written)."""

    def __init__(self, drawn: int) -> None:
        super().__init__(drawn)
        self.drawn = drawn


class StoppedComputing(KeyboardInterrupt):
    """Ctrl-C or SIGTERM while a reproduction's points were computed, after ``points`` of them."""

    def __init__(self, points: int) -> None:
        super().__init__(points)
        self.points = points


def reproduce(
    preset: str,
    out: Path,
    *,
    full: bool = False,
    table_format: str = "parquet",
    workers: int = 0,
    use_cache: bool = True,
    progress: bool = True,
    executor: Executor | None = None,
) -> int:
    """Run, write figures/data/summary.md into ``out``, print the summary; returns failed checks.

    Sweep points compute on ``executor`` (None: ``workers`` local processes); the summary's notes
    say how many there were, how many came from the cache and where they were computed.
    """
    if preset not in REPRODUCTIONS:
        raise ConfigError("preset", preset, one_of(preset, sorted(REPRODUCTIONS)))
    from muonscope.app.reproduction_summary import summary_markdown

    start = time.perf_counter()
    with ProgressBar(progress, delay_s=0.5) as bar:
        settings = Settings("full" if full else "ci", workers, use_cache, bar, executor)
        try:
            result = REPRODUCTIONS[preset](settings)
        except KeyboardInterrupt:
            raise StoppedComputing(settings.tally.points) from None
    _note_where_computed(result, settings)
    out.mkdir(parents=True, exist_ok=True)
    tables = _write_tables(result, out, table_format)
    figures: list[Path] = []
    try:
        _draw_figures(result, out, figures)
    except KeyboardInterrupt:  # the checks were made: a summary says so, and which figures are missing
        drawn = f"Interrupted while drawing the figures: {len(figures)} drawn"
        result.notes.append(f"{drawn}; run the command again for the rest.")
        summary = summary_markdown(result, figures + tables, time.perf_counter() - start)
        write_text_whole(out / "summary.md", summary)
        raise StoppedDrawing(len(figures)) from None
    summary = summary_markdown(result, figures + tables, time.perf_counter() - start)
    write_text_whole(out / "summary.md", summary)
    print(summary)
    return len(result.failed)


def _note_where_computed(result, settings: Settings) -> None:
    """Add to the summary's notes how many sweep points there were and where the rest computed."""
    if settings.tally.points:
        result.notes.append(f"Sweep points: {settings.tally.describe()}.")
    if result.computed_here:  # the reproduction's own loops, beside (or instead of) its sweeps
        places = "; ".join(sorted(runtime.describe() for runtime in result.computed_here))
        # beside sweep points computed elsewhere (a Dask cluster), "computed in this process" read as
        # said of them too
        own = "Its own loops, besides the sweep points, computed" if settings.tally.points else "Computed"
        result.notes.append(f"{own} in this process on {places}.")


def _write_tables(result, out: Path, table_format: str) -> list[Path]:
    """Write every table first: they hold every number the figures draw, and take no time.

    A table left in another format by an earlier run is removed, with a note saying so."""
    removed: list[Path] = []
    tables = [
        clear_other_formats(write_table(columns, out / f"{name}.{table_format}"), removed)
        for name, columns in result.tables.items()
    ]
    for path in removed:
        sys.stderr.write(f"muonscope reproduce: {replacement_note(path)}\n")
    return tables


def _draw_figures(result, out: Path, figures: list[Path]) -> None:
    """Draw the figures into ``figures`` one by one; Qt draws them, so Ctrl-C stops between two."""
    from muonscope.app.figures import render_figure
    from muonscope.app.reproduction_figures import reproduction_figures

    with interrupts_deferred() as stop_requested:
        for figure in reproduction_figures(result):
            if stop_requested():
                break
            figures.append(render_figure(figure, out / f"{figure.name}.png"))
