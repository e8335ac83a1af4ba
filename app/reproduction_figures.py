"""Which figures each preset's reproduction draws, and its title: one Presentation per preset."""

from __future__ import annotations

from muonscope.app import (
    bridge_figures,
    capacity_figures,
    filtering_figures,
    hierarchical_figures,
    tail_figures,
)
from muonscope.app.figures import Figure, Panel, Presentation, lane_series
from muonscope.engine.reproduce import Reproduction

__all__ = ["PRESENTATIONS", "presentation", "reproduction_figures"]


def _race(reproduction: Reproduction) -> list[Figure]:
    """Items recovered over steps, one line per lane in lane colour."""
    (race,) = reproduction.curve_sets("recovered_over_steps")
    seeds = f"seeds {race.setting['first_seed']}–{race.setting['last_seed']}"
    title = f"mean over {seeds} (band: least to most)"
    panel = Panel(title, "step", "items recovered", lane_series(race.curves))
    return [Figure("race", "Items recovered on shared minibatches", (panel,))]


PRESENTATIONS: dict[str, Presentation] = {
    "default": Presentation("Muon vs SGD vs Adam on a Zipf memory", _race),
    **bridge_figures.PRESENTATIONS,
    **capacity_figures.PRESENTATIONS,
    **filtering_figures.PRESENTATIONS,
    **hierarchical_figures.PRESENTATIONS,
    **tail_figures.PRESENTATIONS,
}


def presentation(preset: str) -> Presentation:
    """The title and figure builder of ``preset``'s reproduction."""
    if preset not in PRESENTATIONS:
        raise KeyError(f"no figures are defined for the reproduction of {preset!r}")
    return PRESENTATIONS[preset]


def reproduction_figures(reproduction: Reproduction) -> list[Figure]:
    """The figures drawn from a reproduction's measured curves."""
    return presentation(reproduction.preset).figures(reproduction)
