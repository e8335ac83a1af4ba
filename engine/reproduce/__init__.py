"""Reproductions of the four papers' claims: one function per preset, registered by name."""

from muonscope.engine.reproduce import (  # noqa: F401 - registers
    bridge,
    capacity,
    default,
    filtering,
    hierarchical,
    multistep,
    tail,
    tail_isotropy,
)
from muonscope.engine.reproduce.base import (
    REPRODUCTIONS,
    Claim,
    Curve,
    CurveSet,
    Reproduction,
    Settings,
    find_lane,
)

__all__ = ["REPRODUCTIONS", "Claim", "Curve", "CurveSet", "Reproduction", "Settings", "find_lane"]
