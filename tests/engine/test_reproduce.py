"""SCIENCE.md §11 checks 8–25 through the reproductions, at CI sizes (full sizes: -m slow)."""

import pytest

from muonscope.engine.presets import preset_names
from muonscope.engine.reproduce import REPRODUCTIONS, Settings

#: preset → the §11 checks its reproduction must contain (and pass).
CHECKS = {
    "one_step_capacity": {"§11.8", "§11.9", "§11.10", "§11.12"},
    "critical_batch": {"§11.11"},
    "multi_step_recovery": {"§11.13"},
    "anisotropic": {"§10.4"},
    "spectral_filtering": {"§11.14", "§11.15", "§11.16"},
    "momentum_order": {"§11.17", "§11.18"},
    "hierarchical_noiseless": {"§11.19", "§11.20", "§11.21"},
    "noisy_scaling": {"§11.22"},
    "tail_balance_one_step": {"§11.23", "§11.24"},
    "tail_multi_step_isotropy": {"§11.25", "§10.10"},
    "default": {"preset"},
}


def test_every_preset_has_a_reproduction():
    assert set(preset_names()) == set(REPRODUCTIONS) == set(CHECKS)


def _check(name: str, size: str, use_cache: bool = False) -> None:
    result = REPRODUCTIONS[name](Settings(size=size, workers=2, use_cache=use_cache))
    assert {claim.check for claim in result.claims} == CHECKS[name]
    failed = [f"{c.check} {c.text}: measured {c.measured}, expected {c.expected}" for c in result.failed]
    assert not failed, "\n".join(failed)
    assert result.figures and result.tables
    for table in result.tables.values():
        assert len({len(column) for column in table.values()}) == 1  # rectangular


@pytest.mark.timeout(600)
@pytest.mark.parametrize("name", sorted(CHECKS))
def test_reproduction_at_ci_size(name):
    _check(name, "ci")


@pytest.mark.slow
@pytest.mark.timeout(7200)
@pytest.mark.parametrize("name", sorted(CHECKS))
def test_reproduction_at_full_size(name):
    """Hours on two cores; sweep points cached by `muonscope reproduce --full` are reused."""
    _check(name, "full", use_cache=True)
