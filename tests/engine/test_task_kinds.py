"""The task-kind registry: each kind is declared once and everything else follows it."""

import pytest
import torch

from muonscope.engine import ConfigError, ExperimentConfig, TaskConfig
from muonscope.engine.changes import SetField, apply_change
from muonscope.engine.config import LANE_FIELDS, RUN_FIELDS, TASK_FIELDS
from muonscope.engine.device import estimate_bytes
from muonscope.engine.sweep_plans import AXES, plan
from muonscope.engine.task_kinds import SWEEP_AXES, TASK_KINDS, view_problem
from muonscope.engine.tasks import TASK_CLASSES, build_task


def test_every_kind_has_a_task_class_and_every_axis_a_metric():
    assert set(TASK_CLASSES) == set(TASK_KINDS)
    assert tuple(AXES) == SWEEP_AXES
    for kind in TASK_KINDS.values():
        assert set(kind.sweep_axes) <= set(SWEEP_AXES)
        for axis in set(SWEEP_AXES) - set(kind.sweep_axes):  # every axis it lacks has its reason
            assert kind.unavailable.get(axis), (kind.name, axis)
        assert set(kind.live) <= set(kind.fields)
        assert set(kind.fields) <= set(TASK_FIELDS)


@pytest.mark.parametrize("name", sorted(TASK_KINDS))
def test_a_kinds_defaults_make_a_valid_task_that_builds(name):
    kind = TASK_KINDS[name]
    task = TaskConfig(kind=name, **kind.defaults)
    assert task.embeddings == kind.embeddings[0]
    built = build_task(task, torch.device("cpu"), torch.float64)
    assert tuple(built.weight_shape) == task.weight_shape == kind.weight_shape(task)


@pytest.mark.parametrize("name", sorted(TASK_KINDS))
def test_only_a_kinds_live_fields_change_between_steps(name):
    kind = TASK_KINDS[name]
    config = ExperimentConfig(task=TaskConfig(kind=name, **kind.defaults))
    for field in kind.live:
        value = getattr(config.task, field)
        bumped = value + 1 if isinstance(value, int) else min(value + 0.1, 0.5)
        updated = apply_change(config, SetField(f"task.{field}", bumped)).config
        assert getattr(updated.task, field) == bumped
    for field in set(kind.fields) - set(kind.live) - {"embeddings", "strengths", "profile"}:
        value = getattr(config.task, field)
        with pytest.raises(ConfigError, match="changes only with a reset"):
            apply_change(config, SetField(f"task.{field}", value))


def test_each_field_bound_is_enforced_where_it_is_declared():
    """One declaration per bound: just inside passes, just outside is refused naming the field."""
    for specs, build in (
        (TASK_FIELDS, lambda name, v: TaskConfig(**{name: v})),
        (LANE_FIELDS, lambda name, v: ExperimentConfig.from_dict({"lanes": [{name: v}]})),
        (RUN_FIELDS, lambda name, v: ExperimentConfig.from_dict({"run": {name: v}})),
    ):
        for spec in specs.values():
            if spec.kind not in ("int", "float") or spec.hi is None:
                continue
            step = 1 if spec.kind == "int" else 1e-9 * max(1.0, abs(spec.hi))
            outside = spec.hi if spec.hi_open else spec.hi + step
            with pytest.raises(ConfigError) as err:
                build(spec.name, outside)
            assert err.value.field.endswith(spec.name), (spec.name, err.value.field)


def test_views_that_do_not_apply_say_why():
    spiked = TaskConfig(kind="spiked")
    zipf = TaskConfig()
    orthonormal = TaskConfig(kind="two_level", d=64, n_items=64)
    assert "no classes" in view_problem(spiked, "class_error")
    assert view_problem(zipf, "class_error") == ""
    assert "no items" in view_problem(spiked, "d")
    assert "spiked" in view_problem(zipf, "mu")
    assert "orthonormal" in view_problem(zipf, "ray")
    assert view_problem(orthonormal, "ray") == ""
    assert "tie d to N" in view_problem(orthonormal, "d")
    with pytest.raises(ConfigError, match="tie d to N"):
        plan(ExperimentConfig(task=orthonormal), "d")


def test_the_memory_estimate_is_the_kinds():
    small = ExperimentConfig(task=TaskConfig(d=16, n_items=64))
    large = ExperimentConfig(task=TaskConfig(d=16, n_items=64 * 1024))
    stream = ExperimentConfig(task=TaskConfig(kind="spiked", rows=20, cols=10))
    assert estimate_bytes(large, torch.float64) > estimate_bytes(small, torch.float64)
    assert estimate_bytes(small, torch.float64) == 2 * estimate_bytes(small, torch.float32)
    assert estimate_bytes(stream, torch.float32) == TASK_KINDS["spiked"].estimate_bytes(stream.task, 1, 4)
