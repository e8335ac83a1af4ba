"""The ``muonscope`` command: the window with no arguments, headless subcommands otherwise.

Exit status: 0 success, 2 invalid input (one line on stderr naming the field), 1 runtime failure.
A user error never prints a traceback; set MUONSCOPE_DEBUG=1 to see one for runtime failures.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tomllib
import traceback
from dataclasses import replace
from pathlib import Path
from typing import Any, NoReturn

from engine.config import ExperimentConfig, lane_from_dict
from engine.errors import ConfigError
from engine.presets import Preset, load_config_file, load_preset

__all__ = ["build_config", "main", "parse_lane_spec", "parse_value"]

EXIT_OK, EXIT_RUNTIME, EXIT_USAGE = 0, 1, 2


class _Parser(argparse.ArgumentParser):
    """argparse that reports usage errors on one line with exit status 2."""

    def error(self, message: str) -> NoReturn:
        sys.stderr.write(f"{self.prog}: error: {message}\n")
        raise SystemExit(EXIT_USAGE)


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="muonscope", description="A desktop lab for watching optimizers learn.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    run = sub.add_parser("run", help="train headless and report metrics")
    _add_config_arguments(run)
    run.add_argument("--steps", metavar="N", type=int, help="number of steps (run.steps)")
    run.add_argument(
        "--out", metavar="DIR", type=Path, help="write per-step metrics, config and final report"
    )
    run.add_argument("--format", choices=("parquet", "csv"), default="parquet", help="metrics table format")
    run.add_argument("--json", action="store_true", help="print the final report as one JSON object")
    run.add_argument("--no-progress", action="store_true", help="never draw a progress bar")
    shot = sub.add_parser("shot", help="save a PNG of the window after N steps (no display needed)")
    shot.add_argument("--preset", metavar="NAME", default="default", help="bundled preset (default: default)")
    shot.add_argument("--steps", metavar="N", type=int, default=50, help="steps to run before the picture")
    shot.add_argument("--out", metavar="FILE.png", type=Path, required=True, help="where to write the PNG")
    shot.add_argument("--size", metavar="WxH", default="1600x1000", help="window size in pixels")
    sweep = sub.add_parser("sweep", help="one-step capacity or momentum sweeps from a preset's settings")
    _add_config_arguments(sweep)
    sweep.add_argument(
        "--axis",
        required=True,
        choices=("d", "batch", "n_items", "mu", "window"),
        help="what to vary (mu/window: spiked tasks)",
    )
    sweep.add_argument("--out", metavar="DIR", type=Path, help="write the curves and every point")
    sweep.add_argument("--format", choices=("parquet", "csv"), default="parquet", help="table format")
    sweep.add_argument("--workers", type=int, default=0, metavar="N", help="processes (0: one per core)")
    sweep.add_argument("--no-cache", action="store_true", help="recompute points even if cached")
    sweep.add_argument("--no-progress", action="store_true", help="never draw a progress bar")
    rep = sub.add_parser("reproduce", help="reproduce a preset's paper claims: figures, data and summary.md")
    rep.add_argument("preset", nargs="?", metavar="PRESET", help="preset name (see --list)")
    rep.add_argument("--list", action="store_true", help="list the presets with their claims")
    rep.add_argument("--out", metavar="DIR", type=Path, help="output folder (default: reproduce-PRESET)")
    rep.add_argument("--full", action="store_true", help="the papers' sizes (slow) instead of CI sizes")
    rep.add_argument("--format", choices=("parquet", "csv"), default="parquet", help="data table format")
    rep.add_argument(
        "--workers", type=int, default=0, metavar="N", help="processes for sweeps (0: one per core)"
    )
    rep.add_argument("--no-cache", action="store_true", help="recompute sweep points even if cached")
    rep.add_argument("--no-progress", action="store_true", help="never draw a progress bar")
    return parser


def _add_config_arguments(parser: argparse.ArgumentParser) -> None:
    """--preset/--config, --set and --lane: where a run's (or sweep's) settings come from."""
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--preset", metavar="NAME", help="bundled preset (default: default)")
    source.add_argument("--config", metavar="FILE", type=Path, help="a config or preset TOML file")
    parser.add_argument(
        "--set",
        metavar="KEY=VALUE",
        action="append",
        default=[],
        help="override a field, e.g. task.d=96 (VALUE is read as TOML)",
    )
    parser.add_argument(
        "--lane",
        metavar="SPEC",
        action="append",
        default=[],
        help="replace the lanes, e.g. optimizer=muon,order=pre,momentum=0.95 (repeatable)",
    )


def parse_value(text: str) -> Any:
    """A TOML value (``96``, ``0.5``, ``true``, ``[1, 2]``, ``"x"``); anything else is a bare string."""
    try:
        return tomllib.loads(f"value = {text}")["value"]
    except tomllib.TOMLDecodeError:
        return text


def parse_lane_spec(spec: str, where: str) -> Any:
    """``optimizer=muon,order=pre`` → a validated LaneConfig."""
    fields: dict[str, Any] = {}
    for part in spec.split(","):
        key, sep, value = part.partition("=")
        if not sep or not key.strip():
            raise ConfigError(
                where, spec, "must be comma-separated KEY=VALUE pairs, e.g. optimizer=muon,lr=0.1"
            )
        fields[key.strip()] = parse_value(value.strip())
    return lane_from_dict(fields, where)


def build_config(args: argparse.Namespace) -> tuple[Preset, ExperimentConfig]:
    """The config a ``run`` describes: preset or file, then --lane, --set and --steps."""
    preset = load_config_file(args.config) if args.config else load_preset(args.preset or "default")
    config = preset.config
    if args.lane:
        lanes = tuple(parse_lane_spec(spec, f"--lane[{i}]") for i, spec in enumerate(args.lane))
        config = ExperimentConfig(task=config.task, lanes=lanes, run=config.run)
    overrides = []
    for item in args.set:
        key, sep, value = item.partition("=")
        if not sep:
            raise ConfigError("--set", item, "must be KEY=VALUE, e.g. task.d=96")
        overrides.append((key.strip(), parse_value(value.strip())))
    config = config.with_values(overrides)
    if args.steps is not None:
        config = config.with_value("run.steps", args.steps)
    return replace(preset, config=config), config


def _progress_bar(total: int, enabled: bool):
    """A tqdm bar on stderr for runs that last (shown after 1 s, only on a terminal)."""
    if not enabled or not sys.stderr.isatty():
        return None, lambda: None
    from tqdm import tqdm

    bar = tqdm(total=total, unit="step", delay=1.0, file=sys.stderr, leave=False)
    return (lambda done, _total: bar.update(done - bar.n)), bar.close


def _run(args: argparse.Namespace) -> int:
    from engine.headless import run_headless, write_outputs

    _, config = build_config(args)
    if args.out is not None:
        _check_writable(args.out)
    update, close = _progress_bar(config.run.steps, not args.no_progress)
    try:
        report, history = run_headless(config, record=args.out is not None, progress=update)
    finally:
        close()
    if args.out is not None:
        write_outputs(args.out, report, config, history, args.format)
    if args.json:
        print(json.dumps(report))
    else:
        _print_table(report)
    return EXIT_OK


def _print_table(report: dict[str, Any]) -> None:
    """A short human-readable summary of the final report."""
    print(f"step {report['step']} on {report['device']} ({report['dtype']})")
    for lane in report["lanes"]:
        cells = [f"{lane['label']:<34s}"]
        for key, fmt in (("loss", ".4f"), ("accuracy", ".4f"), ("recovered", "d"), ("alignment", ".3f")):
            value = lane[key]
            cells.append(f"{key} {'n/a' if value is None else format(value, fmt)}")
        if lane["diverged"]:
            cells.append("DIVERGED")
        print("  ".join(cells))


def _check_writable(folder: Path) -> None:
    """Refuse an output folder that cannot be written before spending any compute."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / ".muonscope-write-test"
        probe.touch()
        probe.unlink()
    except OSError as exc:
        raise ConfigError("--out", str(folder), f"must be a writable folder ({exc.strerror})") from None


def _sweep(args: argparse.Namespace) -> int:
    from app.sweep_command import run_sweep_command

    if args.workers < 0:
        raise ConfigError("--workers", args.workers, "must be an integer >= 0")
    args.steps = None
    _, config = build_config(args)
    if args.out is not None:
        _check_writable(args.out)
    return run_sweep_command(config, args)


def _reproduce(args: argparse.Namespace) -> int:
    from app.reproduce_command import list_presets, reproduce

    if args.list:
        print(list_presets())
        return EXIT_OK
    if not args.preset:
        raise ConfigError("PRESET", None, "name a preset to reproduce, or use --list")
    if args.workers < 0:
        raise ConfigError("--workers", args.workers, "must be an integer >= 0")
    from engine.reproduce import REPRODUCTIONS

    if args.preset not in REPRODUCTIONS:
        raise ConfigError("preset", args.preset, "must be one of " + ", ".join(sorted(REPRODUCTIONS)))
    out = args.out or Path(f"reproduce-{args.preset}")
    _check_writable(out)
    failed = reproduce(
        args.preset,
        out,
        full=args.full,
        table_format=args.format,
        workers=args.workers,
        use_cache=not args.no_cache,
        progress=not args.no_progress,
    )
    if failed:
        sys.stderr.write(f"muonscope: {failed} check(s) failed; see {out / 'summary.md'}\n")
        return EXIT_RUNTIME
    return EXIT_OK


def _shot(args: argparse.Namespace) -> int:
    from app.qt_messages import install_message_handler
    from app.shot import parse_size, take_screenshot

    install_message_handler()
    size = parse_size(args.size)
    if args.out.suffix.lower() != ".png":
        raise ConfigError("--out", str(args.out), "must name a .png file")
    _check_writable(args.out.parent if str(args.out.parent) else Path("."))
    path, _ = take_screenshot(args.preset, args.steps, args.out, size)
    print(f"wrote {path} ({size[0]}x{size[1]}, step {args.steps})")
    return EXIT_OK


def _open_window() -> int:
    if sys.platform.startswith("linux") and not _has_display():
        sys.stderr.write(
            "muonscope: no display found (DISPLAY and WAYLAND_DISPLAY are unset); run it on a desktop, "
            "under xvfb-run, or use 'muonscope shot' for a PNG of the window\n"
        )
        return EXIT_RUNTIME
    from app.main_window import launch

    return launch()


def _has_display() -> bool:
    if os.environ.get("QT_QPA_PLATFORM", "").split(":")[0] in (
        "offscreen",
        "minimal",
        "vnc",
        "eglfs",
        "linuxfb",
    ):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``muonscope`` command and of ``python -m app``."""
    args = _parser().parse_args(argv)
    try:
        if args.command == "run":
            return _run(args)
        if args.command == "shot":
            return _shot(args)
        if args.command == "reproduce":
            return _reproduce(args)
        if args.command == "sweep":
            return _sweep(args)
        return _open_window()
    except ConfigError as exc:
        sys.stderr.write(f"muonscope: error: {exc}\n")
        return EXIT_USAGE
    except KeyboardInterrupt:
        sys.stderr.write("muonscope: interrupted\n")
        return 130
    except Exception as exc:
        if os.environ.get("MUONSCOPE_DEBUG"):
            traceback.print_exc()
        sys.stderr.write(f"muonscope: runtime failure: {type(exc).__name__}: {exc}\n")
        return EXIT_RUNTIME
