"""SCIENCE.md §11 checks 8–25 through the reproductions, at CI sizes (full sizes: -m slow)."""

import pytest

from muonscope.engine import LaneConfig
from muonscope.engine.presets import load_preset, preset_names
from muonscope.engine.reproduce import REPRODUCTIONS, Settings, find_lane

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


def test_find_lane_by_name_and_by_role():
    lanes = load_preset("default").config.lanes  # labels are empty: found by role
    muon_pre = find_lane(lanes, optimizer="muon", order="pre")
    assert lanes[muon_pre].optimizer == "muon" and lanes[muon_pre].order == "pre"
    assert find_lane(lanes, optimizer="adam") != muon_pre
    named = (LaneConfig(optimizer="sgd", label="GD"), LaneConfig(optimizer="muon", label="Muon exact"))
    assert find_lane(named, "Muon exact") == 1
    records = [{"label": "GD", "optimizer": "sgd"}, {"label": "Muon", "optimizer": "muon"}]  # sweep records
    assert find_lane(records, optimizer="sgd") == 0
    assert find_lane(records, "Muon", optimizer="muon") == 1


def test_find_lane_fails_clearly_on_missing_or_ambiguous_lanes():
    records = [{"label": "Muon pre", "optimizer": "muon"}, {"label": "Muon post", "optimizer": "muon"}]
    with pytest.raises(
        LookupError, match=r"no lane with label = 'Muon'; the lanes are \['Muon pre', 'Muon post'\]"
    ):
        find_lane(records, "Muon")
    with pytest.raises(LookupError, match=r"2 lanes with optimizer = 'muon': \['Muon pre', 'Muon post'\]"):
        find_lane(records, optimizer="muon")
    with pytest.raises(LookupError, match="no lane with label = 'Muon pre', optimizer = 'sgd'"):
        find_lane(records, "Muon pre", optimizer="sgd")
    with pytest.raises(ValueError, match="a name or a role"):
        find_lane(records)
