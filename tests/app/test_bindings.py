"""The controls' ranges and choices are the engine's own (no second copy to drift)."""

import pytest

from muonscope.app.bindings import lane_field_spec, task_field_specs, task_field_states, transport_ranges
from muonscope.engine import ConfigError, ExperimentConfig, LaneConfig, TaskConfig
from muonscope.engine.config import LANE_FIELDS, TASK_FIELDS
from muonscope.engine.fields import MAX_SEED, MAX_STEPS
from muonscope.engine.task_kinds import TASK_KINDS


def test_the_task_form_offers_every_field_a_kind_reads():
    shown = {spec.name for spec in task_field_specs()}
    for kind in TASK_KINDS.values():
        assert set(kind.fields) <= shown
    assert {spec.name for spec in task_field_specs() if spec.kind == "choice"} >= {"kind", "embeddings"}
    kinds = next(spec for spec in task_field_specs() if spec.name == "kind")
    assert kinds.choices == tuple(TASK_KINDS)


NUMERIC = [s for s in task_field_specs() if s.kind in ("int", "float", "slider")]


@pytest.mark.parametrize("spec", NUMERIC, ids=[s.name for s in NUMERIC])
def test_a_task_controls_range_is_what_the_engine_accepts(spec):
    """The largest value the control offers is accepted; one past the declared bound is refused."""
    TaskConfig(**{spec.name: int(spec.hi) if spec.kind == "int" else spec.hi})
    TaskConfig(**{spec.name: int(spec.lo) if spec.kind == "int" else spec.lo})
    declared = TASK_FIELDS[spec.name]
    beyond = declared.hi if declared.hi_open else declared.hi + (1 if spec.kind == "int" else 1e-6)
    with pytest.raises(ConfigError, match=f"^{spec.name} = "):
        TaskConfig(**{spec.name: beyond})
    assert spec.hi <= declared.hi and spec.hi >= declared.hi - 0.01


def test_the_panel_ranges_that_used_to_disagree_now_match():
    specs = {spec.name: spec for spec in task_field_specs()}
    assert specs["d"].hi == TASK_FIELDS["d"].hi == 16384
    assert specs["label_noise"].hi == pytest.approx(0.99)  # ε < 1, in the slider's hundredths
    high = lane_field_spec().ranges["momentum"][1]  # μ < 1, to the last decimal a box keeps
    assert 0.9999999 < high < 1.0


@pytest.mark.parametrize("name", ["lr", "momentum", "ns_steps", "lam"])
def test_a_lane_controls_range_is_what_the_engine_accepts(name):
    lo, hi = lane_field_spec().ranges[name]
    for value in (lo, hi):
        LaneConfig(**{name: int(value) if LANE_FIELDS[name].kind == "int" else value})
    declared = LANE_FIELDS[name]
    beyond = declared.hi if declared.hi_open else declared.hi + 1
    with pytest.raises(ConfigError):
        ExperimentConfig.from_dict({"lanes": [{name: beyond}]})


def test_field_states_follow_the_kind():
    states, live, disabled = task_field_states(TaskConfig(kind="spiked"))
    visible = {name for name, (shown, _enabled, _why) in states.items() if shown}
    assert visible == {"kind", *TASK_KINDS["spiked"].fields}
    assert live == set(TASK_KINDS["spiked"].live)
    assert "gaussian" in disabled and "spiked" in disabled["gaussian"]
    _, _, disabled = task_field_states(TaskConfig(d=16, n_items=64))
    assert disabled["orthogonal"].startswith("needs N ≤ d")


def test_the_toolbars_seed_and_go_to_boxes_offer_what_the_engine_accepts(qtbot):
    from muonscope.widgets.transport_bar import TransportBar

    bar = TransportBar(transport_ranges())
    qtbot.addWidget(bar)
    assert (bar.seed_spin.minimum(), bar.seed_spin.maximum()) == (0, MAX_SEED)
    assert (bar.goto_spin.minimum(), bar.goto_spin.maximum()) == (0, MAX_STEPS)
    TaskConfig(seed=bar.seed_spin.maximum())  # the largest seed offered is accepted ...
    with pytest.raises(ConfigError, match=r"^seed = "):
        TaskConfig(seed=bar.seed_spin.maximum() + 1)  # ... and one more is not
    ExperimentConfig().with_value("run.steps", bar.goto_spin.maximum())  # a run may reach the last step


def test_the_preset_picker_lists_the_papers_presets_in_their_numbers_order():
    """The list read "10 · Tail-end …" before "9 · Tail-end …" (sorted as text), and 12 before default."""
    from muonscope.app.views import preset_entries

    entries = preset_entries()
    assert entries[0][0] == "default"
    numbers = [int(title.split(" · ")[0]) for _name, title, _paper in entries[1:]]
    assert numbers == sorted(numbers) and numbers[0] == 1  # PageDown went default, 11, 1, 2, …
    every = sorted(
        int(t.split(" · ")[0]) for _n, t, _p in entries if " · " in t and t.split(" · ")[0].isdigit()
    )
    assert every == list(range(1, len(every) + 1))  # numbered without a gap
