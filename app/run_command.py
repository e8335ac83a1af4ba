"""``muonscope run``: train headless, print the final report, optionally write every step."""

from __future__ import annotations

import argparse
import json
from typing import Any

from muonscope.app.config_args import build_config, check_writable, table_format
from muonscope.app.progress import ProgressBar

__all__ = ["run_command"]


def run_command(args: argparse.Namespace) -> int:
    """Validate everything (before torch is loaded), then run; the report goes to stdout."""
    _, config = build_config(args)
    table = table_format(args)
    if args.out is not None:
        check_writable(args.out)
    from muonscope.engine.headless import run_headless, write_outputs

    with ProgressBar(not args.no_progress, unit="step") as progress:
        report, history = run_headless(config, record=args.out is not None, progress=progress)
    if args.out is not None:
        write_outputs(args.out, report, config, history, table)
    if args.json:
        print(json.dumps(report))
    else:
        _print_table(report)
    return 0


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
