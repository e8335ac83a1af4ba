"""The names the setting options take, as ``--help`` of run, shot, record and sweep lists them.

Presets, ``--lane`` and ``--set`` fields with their choices, and the metrics ``--until`` reads all
come from the engine's own registries, so the help cannot fall behind them. Nothing heavy is
imported: the registries are torch-free, and ``--help`` stays quick.
"""

from __future__ import annotations

import textwrap

from muonscope.app.cli_help import HELP_WIDTH

__all__ = ["setting_names"]


def setting_names(until: bool = False, views: bool = False) -> list[str]:
    """The presets, fields, choices and metrics the options take, as ``--help`` lists them: they were
    found only by typing a wrong one."""
    from muonscope.engine.config import LANE_FIELDS, RUN_FIELDS
    from muonscope.engine.presets import preset_names
    from muonscope.engine.scalar_metrics import SCALAR_METRICS
    from muonscope.engine.task_kinds import TASK_FIELDS

    def listed(fields) -> str:
        return ", ".join(
            f"{spec.name} ({'|'.join(spec.choices)})" if spec.kind == "choice" else spec.name
            for spec in fields.values()
        )

    entries = [
        ("--preset", ", ".join(preset_names())),
        ("--lane", listed(LANE_FIELDS)),
        ("--set", "task." + "{" + listed(TASK_FIELDS) + "}"),
        ("", "run.{" + listed(RUN_FIELDS) + "}"),
        ("", "lanes[I].NAME, NAME as in --lane"),
    ]
    if until:
        entries.append(("--until", "METRIC: " + ", ".join(SCALAR_METRICS)))
    if views:
        from muonscope.app.view_settings import VIEW_KEYS

        entries.append(("--view", "KEY: " + ", ".join(VIEW_KEYS) + " (a lane's number from 0)"))
    return [
        line
        for option, text in entries
        for line in textwrap.wrap(
            text, HELP_WIDTH, initial_indent=f"  {option:<10s}", subsequent_indent=" " * 12
        )
    ]
