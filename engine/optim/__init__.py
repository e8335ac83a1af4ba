"""Optimizers: polar maps, update rules and the registry that names them."""

from muonscope.engine.optim.polar import newton_schulz, polar_exact, polar_regularized
from muonscope.engine.optim.registry import OPTIMIZERS, OptimizerSpec
from muonscope.engine.optim.rules import LaneState

__all__ = [
    "OPTIMIZERS",
    "LaneState",
    "OptimizerSpec",
    "newton_schulz",
    "polar_exact",
    "polar_regularized",
]
