"""Optimizers: polar maps, update rules and the registry that names them."""

from engine.optim.polar import newton_schulz, polar_exact, polar_regularized
from engine.optim.registry import OPTIMIZERS, OptimizerSpec
from engine.optim.rules import LaneState

__all__ = [
    "OPTIMIZERS",
    "LaneState",
    "OptimizerSpec",
    "newton_schulz",
    "polar_exact",
    "polar_regularized",
]
