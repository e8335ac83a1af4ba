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

    def listed(fields, shown: dict[str, str] | None = None) -> str:
        """Each field as ``shown`` gives it (with its default and choices), else its name and choices."""
        return ", ".join(
            (shown or {}).get(spec.name) or _with_choices(spec.name, spec) for spec in fields.values()
        )

    entries = [
        ("--preset", ", ".join(preset_names())),
        ("--lane", listed(LANE_FIELDS, lane_defaults())),
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


def lane_defaults() -> dict[str, str]:
    """Each ``--lane`` field as its help shows it, with what a lane that leaves it out takes: the
    lane's default, or its optimizer's (``lr``, ``momentum``, ``buffer``). A lane given as
    ``optimizer=muon,order=pre`` took lr 0.05 unsaid."""
    import dataclasses

    from muonscope.engine.config import LANE_FIELDS, LaneConfig
    from muonscope.engine.optim.registry import OPTIMIZERS

    shown = {}
    for field in dataclasses.fields(LaneConfig):
        if field.default in ("", None):
            continue
        shown[field.name] = _with_choices(f"{field.name}={_plain(field.default)}", LANE_FIELDS[field.name])
    rates = "|".join(f"{name} {_plain(spec.default_lr)}" for name, spec in OPTIMIZERS.items())
    shown["lr"] = f"lr=the optimizer's ({rates})"
    momenta = "|".join(f"{name} {_plain(spec.default_momentum)}" for name, spec in OPTIMIZERS.items())
    shown["momentum"] = f"momentum=the optimizer's ({momenta})"
    shown["buffer"] = _with_choices("buffer=the optimizer's", LANE_FIELDS["buffer"])
    return shown


def _with_choices(text: str, spec) -> str:
    return f"{text} ({'|'.join(spec.choices)})" if spec.kind == "choice" else text


def _plain(value) -> str:
    """A default as it is typed on the command line: ``false``, ``1e-08``, ``0.95``."""
    if isinstance(value, bool):
        return str(value).lower()
    return f"{value:g}" if isinstance(value, float) else str(value)
