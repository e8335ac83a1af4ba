"""Reproductions of the four papers' claims: one function per preset, registered by name."""

from engine.reproduce import capacity, default, filtering, hierarchical, tail  # noqa: F401 - registers
from engine.reproduce.base import REPRODUCTIONS, Claim, Figure, Reproduction, Settings

__all__ = ["REPRODUCTIONS", "Claim", "Figure", "Reproduction", "Settings"]
