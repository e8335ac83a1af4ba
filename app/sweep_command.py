"""``muonscope sweep``: the capacity panel's sweeps, headless, with a table of curves."""

from __future__ import annotations

import argparse
import os
import sys
from collections import defaultdict
from pathlib import Path

from muonscope.app.cache_folder import check_cache
from muonscope.app.command_io import headless_command
from muonscope.app.config_args import (
    build_config,
    check_executor,
    check_workers,
    open_executor,
    overrides,
    parse_lane_fields,
    table_format,
    usable_workers,
)
from muonscope.app.output_paths import check_output_folder
from muonscope.app.path_words import path_text
from muonscope.app.progress import ProgressBar
from muonscope.app.stop_signals import EXIT_INTERRUPTED, forget_if_left_empty, points_kept_text
from muonscope.app.sweep_axes import SWEEP_PLOTS
from muonscope.engine.errors import ConfigError
from muonscope.engine.task_kinds import TASK_KINDS, view_problem

__all__ = ["sweep_command"]


def _say_slow_sweep(todo: list, at_once: int) -> None:
    """Say before the first point how long the points still to compute will take, where that is a
    minute or more: a sweep over d to 2048 at N = 65536 ran for hours without a word."""
    from muonscope.app.slow_notes import slow_sweep_note

    note = slow_sweep_note(todo, at_once)
    if note:
        sys.stderr.write(f"muonscope sweep: note: {note}\n")


def sweep_command(args: argparse.Namespace) -> int:
    """Run the sweep, print mean ± spread per lane and x, optionally write curves and points."""
    config, out_format = _checked_inputs(args)
    # os.path's: False for a name too long to ask the system about, which the check then says
    out_existed = args.out is not None and os.path.exists(args.out)
    if args.out is not None:
        check_output_folder(args.out)
    from muonscope.engine.sweep_plans import plan

    points = plan(config, args.axis)
    results: list = []
    try:
        tally = _run_points(args, config, points, results)
    except KeyboardInterrupt:  # the workers are stopped by then; say what is kept
        if args.out is not None:
            forget_if_left_empty(args.out, out_existed)
        kept = points_kept_text(len(results), cached=not args.no_cache, planned=len(points))
        sys.stderr.write(f"muonscope sweep: interrupted {kept}\n")
        return EXIT_INTERRUPTED
    except Exception:  # refused (no Dask scheduler answered) or failed before writing: no empty folder
        if args.out is not None:
            forget_if_left_empty(args.out, out_existed)
        raise
    _report(args, config, points, results, tally, out_format, out_existed)
    return 0


def _checked_inputs(args: argparse.Namespace) -> tuple:
    """The sweep's config and table format, every refusal said before a point is planned."""
    check_workers(args.workers)
    check_executor(args.executor, args.scheduler)
    _, config = build_config(args)
    out_format = table_format(args)
    problem = view_problem(config.task, args.axis)
    if problem:
        presets = _presets_with(args.axis)
        raise ConfigError("--axis", args.axis, f"{problem}; presets it applies to: {presets}")
    _refuse_settings_unread(args)
    if not args.no_cache and (note := check_cache()):
        sys.stderr.write(f"muonscope sweep: note: {note}\n")
    return config, out_format


def _refuse_settings_unread(args: argparse.Namespace) -> None:
    """Refuse a setting typed with --set or --lane that the sweep replaces or never reads."""
    from muonscope.engine.sweep_plans import unread_by_sweep

    typed = [(key, key, value) for key, value in overrides(args.set)]
    for index, spec in enumerate(args.lane):
        fields = parse_lane_fields(spec, f"--lane[{index}]")
        typed += [(f"--lane[{index}].{name}", f"lanes[{index}].{name}", v) for name, v in fields.items()]
    for where, path, value in typed:
        problem = unread_by_sweep(args.axis, path)
        if problem:
            raise ConfigError(where, value, f"has no effect on a sweep over {args.axis}: {problem}")


def _run_points(args: argparse.Namespace, config, points: list, results: list):
    """Compute (or read from the cache) every point into ``results`` as they finish, with a
    progress bar; ``results`` holds what finished even when Ctrl-C ends the run."""
    from muonscope.engine.sweep import SweepRunner, SweepTally
    from muonscope.engine.sweep_plans import check_points_memory
    from muonscope.engine.sweep_workers import local_workers, usable_cores

    workers = usable_workers(check_workers(args.workers), "sweep")
    at_once = None if args.executor == "dask" else local_workers(workers, usable_cores())  # dask: elsewhere
    check_points_memory(points, config.run.max_memory_gb, sharing=at_once)
    tally = SweepTally()
    with (
        headless_command(interrupt_at_once=args.executor != "dask"),
        open_executor(args.executor, args.scheduler, workers) as executor,
        ProgressBar(not args.no_progress, unit="point", delay_s=0.5) as progress,
    ):
        runner = SweepRunner(points, use_cache=not args.no_cache, executor=executor)
        if at_once is not None:  # computed here: priced at this machine's speed
            _say_slow_sweep(runner.uncached(), at_once)
        progress(0, len(points))  # its bar counts the seconds of a slow first point
        for result in runner:
            results.append(result)
            tally.add(result)
            progress(len(results), len(points), share=runner.work_share)
    return tally


def _report(args, config, points: list, results: list, tally, out_format: str, out_existed: bool) -> None:
    """Print the curves with their guides and the tally, and write the tables to ``--out``."""
    from muonscope.engine.sweep_plans import curves, guides

    drawn = curves(results, args.axis)
    x_label, y_label, _short = SWEEP_PLOTS[args.axis].titles(points[0].steps)
    print(f"{y_label} against {x_label} (mean over seeds, [min, max])")
    table = _with_runtime(_curve_table(drawn, args.axis), tally.runtimes)
    for label, x, y in guides(config, args.axis, drawn):
        print(f"  guide {label}: from {y[0]:.4g} at {x[0]:g} to {y[-1]:.4g} at {x[-1]:g}")
    print(tally.describe())
    if args.out is None:
        return
    # in the plan's order, not as the points finished: the tables of two executors are alike
    place = {point: index for index, point in enumerate(points)}
    planned = sorted(results, key=lambda result: place[result.point])
    try:
        _write(args.out, out_format, table, _point_table(planned, drawn, args.axis, config))
    except OSError:  # a full disk: no empty folder of its making is left for the refusal
        forget_if_left_empty(args.out, out_existed)
        raise


#: The curve table's column of a sweep's x: the field it varies, or the quantity it is drawn against.
_X_COLUMNS = {"batch": "batch_size", "window": "2T-1"}
#: Sweeps over a size: their x is a count.
_SIZE_AXES = ("d", "batch", "n_items")


def _curve_table(drawn: list, axis: str) -> dict[str, list]:
    """Print each lane's points, and return them as columns named by what they hold: the lane (its
    index, as run's tables number lanes, and its label), the swept x, the metric's mean, min and max
    over seeds, and how many seeds (a sweep stopped part-way has points of fewer, marked on the
    printout)."""
    from muonscope.engine.sweep_plans import AXES, SEEDS

    metric = AXES[axis]
    names = (
        "lane",
        "label",
        _X_COLUMNS.get(axis, axis),
        f"{metric}_mean",
        f"{metric}_min",
        f"{metric}_max",
        "seeds",
        "diverged_seeds",
    )
    table: dict[str, list] = {name: [] for name in names}
    for curve in drawn:
        print(f"  {curve.label}" + (f" ({curve.diverged_note})" if curve.diverged else ""))
        diverged = dict(curve.diverged)
        columns = (curve.x, curve.mean, curve.lo, curve.hi, curve.seeds)
        measured = {float(x): row for x, *row in zip(*columns, strict=True)}
        for x in sorted(set(measured) | set(diverged)):
            mean, lo, hi, seeds = measured.get(x, (None, None, None, 0))
            lost = diverged.get(x, 0)
            if seeds:
                partial = seeds + lost < len(SEEDS)
                stopped = f"  ({seeds} of {len(SEEDS)} seeds: stopped before the rest)" if partial else ""
                lost_text = f"  ({lost} of {len(SEEDS)} seeds diverged)" if lost else ""
                print(f"    {x:>10g}: {mean:10.4g}  [{lo:.4g}, {hi:.4g}]{stopped}{lost_text}")
            else:  # every seed diverged: no value to average, said rather than left out
                print(f"    {x:>10g}:   diverged ({lost} of {len(SEEDS)} seeds)")
            x = int(x) if axis in _SIZE_AXES else x  # a size is a whole number, as in the points table
            row = (curve.lane, curve.label, x, mean, lo, hi, int(seeds), lost)
            for name, value in zip(names, row, strict=True):
                table[name].append(value)
    return table


#: The per-point metrics a task kind has: counts of items where it has classes, the signal's otherwise
#: (a spiked stream recovers no items: its "recovered" column read 0 at every point).
_POINT_METRICS = {True: ("recovered", "accuracy", "loss"), False: ("alignment", "sin_theta")}


def _point_table(results, drawn: list, axis: str, config) -> dict[str, list]:
    """One row per point and drawn lane: the point's coordinates (and 2T − 1 for the window sweep),
    the lane, its metrics, and whether it came from the cache. A lane whose curve is another's (two
    momenta of one optimizer, swept over μ, run the same points) is not written twice."""
    from muonscope.engine.metrics import momentum_window  # torch: not loaded for --help

    metrics = _POINT_METRICS[TASK_KINDS[config.task.kind].has_classes]
    drawn_lanes = {curve.lane for curve in drawn}
    table: dict[str, list] = defaultdict(list)
    for result in results:
        for index, lane in enumerate(result.lanes):
            if index not in drawn_lanes:
                continue
            for name, value in result.point.coords:
                if name == "window":  # the point's value is the μ it ran at; its window is 2T − 1
                    table["mu"].append(value)
                    table[_X_COLUMNS[axis]].append(momentum_window(value).noise_steps)
                else:  # named as the curves table names it (the batch sweep's x is batch_size)
                    table[_X_COLUMNS.get(name, name)].append(value)
            table["lane"].append(index)
            table["label"].append(lane["label"])
            for metric in metrics:
                table[metric].append(lane.get(metric))
            table["diverged"].append(bool(lane.get("diverged")))
            table["cached"].append(result.cached)
            for name, value in _runtime_fields(result.runtime).items():
                table[name].append(value)
    return dict(table)


#: The columns that say where a table's numbers were computed: a float32 GPU point and a float64 CPU
#: point of one config differ in their bits.
_RUNTIME_COLUMNS = ("device", "dtype", "torch_version")


def _runtime_fields(runtime) -> dict[str, str | None]:
    return {name: None if runtime is None else getattr(runtime, name) for name in _RUNTIME_COLUMNS}


def _with_runtime(table: dict[str, list], runtimes) -> dict[str, list]:
    """The curve table with where its points were computed: each column's values over the points,
    joined with " + " where they differ (a cluster of unlike machines)."""
    rows = len(next(iter(table.values()), []))
    for name in _RUNTIME_COLUMNS:
        values = sorted({getattr(runtime, name) for runtime in runtimes})
        table[name] = [" + ".join(values) or None] * rows
    return table


def _write(folder: Path, table_format: str, curve_table: dict, point_table: dict) -> None:
    from muonscope.engine.tables import clear_other_formats, replacement_note, write_table

    folder.mkdir(parents=True, exist_ok=True)
    for name, columns in (("curves", curve_table), ("points", point_table)):
        removed: list[Path] = []
        written = clear_other_formats(write_table(columns, folder / f"{name}.{table_format}"), removed)
        print(f"wrote {path_text(written)}")
        for path in removed:  # a sweep before wrote the other format here: its table is this one now
            print(replacement_note(path))


def _presets_with(axis: str) -> str:
    """The bundled presets a sweep along ``axis`` applies to ("Li et al. presets" named none of them)."""
    from muonscope.engine.presets import load_preset, preset_names

    names = [name for name in preset_names() if not view_problem(load_preset(name).config.task, axis)]
    return ", ".join(names) or "none"
