"""The task-kind registry: each kind is declared once and everything else follows it."""

import ast
import dataclasses
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from muonscope.engine import ConfigError, ExperimentConfig, LaneConfig, RunConfig, TaskConfig
from muonscope.engine.changes import SetField, apply_change
from muonscope.engine.config import LANE_FIELDS, RUN_FIELDS, TASK_FIELDS
from muonscope.engine.device import check_memory, estimate_bytes
from muonscope.engine.sweep_plans import AXES, plan
from muonscope.engine.task_kinds import SWEEP_AXES, TASK_KINDS, TaskKind, view_problem
from muonscope.engine.tasks import TASK_CLASSES, MemoryTask, build_task
from muonscope.engine.tasks.memory_task import FREQUENCIES


def test_every_kind_has_a_task_class_and_every_axis_a_metric():
    assert set(TASK_CLASSES) == set(TASK_KINDS)
    assert set(FREQUENCIES) == {name for name, task in TASK_CLASSES.items() if task is MemoryTask}
    assert tuple(AXES) == SWEEP_AXES
    for kind in TASK_KINDS.values():
        assert set(kind.live) <= set(kind.fields)
        assert set(kind.fields) <= set(TASK_FIELDS)


def test_the_sweep_axes_a_kind_allows_are_those_view_problem_lets_through():
    """A kind names the axes it does not allow, with the reason; it declares no second list."""
    assert "sweep_axes" not in {f.name for f in dataclasses.fields(TaskKind)}
    allowed = {}
    for name, kind in TASK_KINDS.items():
        task = TaskConfig(kind=name, **kind.defaults)
        assert kind.sweep_axes == tuple(axis for axis in SWEEP_AXES if not view_problem(task, axis))
        allowed[name] = kind.sweep_axes
    assert allowed == {
        "zipf": ("d", "batch", "n_items"),
        "hierarchical": ("batch", "n_items"),
        "two_level": ("batch", "n_items"),
        "spiked": ("mu", "window"),
    }


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
    assert estimate_bytes(stream, torch.float32) == sum(TASK_KINDS["spiked"].memory_parts(stream, 4).values())
    wide = ExperimentConfig(task=TaskConfig(d=2048, n_items=4096))  # matrices dominate: dtype halves them
    ratio = estimate_bytes(wide, torch.float64) / estimate_bytes(wide, torch.float32)
    assert 1.8 < ratio <= 2.0


def test_the_memory_estimate_counts_the_batch_the_optimizers_and_the_evaluation():
    base = ExperimentConfig(task=TaskConfig(d=256, n_items=2048, batch_size=256))
    sizes = [
        estimate_bytes(base.with_value("task.batch_size", b), torch.float64)
        for b in (256, 10**5, 10**6, 3 * 10**7)
    ]
    assert sizes == sorted(sizes) and sizes[-1] - sizes[0] > 3 * 10**7 * 100  # bytes per draw, per lane
    plain = estimate_bytes(_with_lane(base, {"optimizer": "sgd", "momentum": 0.0}), torch.float64)
    adam = estimate_bytes(_with_lane(base, {"optimizer": "adam"}), torch.float64)
    assert adam - plain == 2 * 256 * 256 * 8  # Adam's two moments, d × d each
    big = ExperimentConfig(task=TaskConfig(d=16, n_items=10**6), lanes=(LaneConfig(),) * 8)
    exact = estimate_bytes(big.with_value("task.batch_size", 0), torch.float64)  # exact gradients: all N
    sampled = estimate_bytes(big, torch.float64)  # a minibatch run evaluates 4096 sampled items
    assert sampled < 0.6 * exact


def test_the_memory_estimate_counts_what_each_optimizer_declares(monkeypatch):
    """The estimate reads the optimizer registry: a changed declaration changes it, no name is looked at."""
    from muonscope.engine.optim.registry import OPTIMIZERS

    d, n = 32, 64
    config = _with_lane(
        ExperimentConfig(task=TaskConfig(d=d, n_items=n)), {"optimizer": "sgd", "momentum": 0.0}
    )
    before = estimate_bytes(config, torch.float64)
    plain = OPTIMIZERS["sgd"]
    monkeypatch.setitem(OPTIMIZERS, "sgd", dataclasses.replace(plain, moments=3))
    assert estimate_bytes(config, torch.float64) - before == 3 * d * d * 8
    monkeypatch.setitem(OPTIMIZERS, "sgd", dataclasses.replace(plain, needs_geometry=True))
    with_geometry = estimate_bytes(config, torch.float64)
    assert with_geometry > before
    monkeypatch.setitem(
        OPTIMIZERS, "sgd", dataclasses.replace(plain, needs_geometry=True, task_coordinates=True)
    )
    assert estimate_bytes(config, torch.float64) - with_geometry >= 3 * n * n * 8  # the N×N coordinates


def _with_lane(config, fields):
    from muonscope.engine.config import lane_from_dict

    return ExperimentConfig(task=config.task, lanes=(lane_from_dict(fields),), run=config.run)


def test_a_batch_too_large_for_the_limit_is_refused_naming_the_batch():
    config = ExperimentConfig(task=TaskConfig(batch_size=3 * 10**7)).with_value("run.max_memory_gb", 0.25)
    with pytest.raises(ConfigError) as caught:
        check_memory(config, torch.device("cpu"), torch.float64)
    message = str(caught.value)
    assert caught.value.field == "task.batch_size" and message.startswith("task.batch_size = 30000000")
    assert "0.25 GiB allowed (run.max_memory_gb = 0.25 GiB)" in message and "\n" not in message
    ok = config.with_value("task.batch_size", 256)
    check_memory(ok, torch.device("cpu"), torch.float64)  # the same run with a small batch fits


def test_a_small_limit_is_stated_in_mib_and_the_fixed_overhead_is_not_blamed_on_a_setting():
    """``run.max_memory_gb = 0.001`` read "needs about 0.0 GiB, more than the 0.0 GiB allowed", and a
    limit below a run's fixed overhead blamed task.n_items, which no N could satisfy."""
    config = ExperimentConfig(task=TaskConfig(d=16, n_items=64)).with_value("run.max_memory_gb", 0.001)
    with pytest.raises(ConfigError) as caught:
        check_memory(config, torch.device("cpu"), torch.float64)
    assert caught.value.field == "run.max_memory_gb"
    assert re.search(r"its fixed overhead of about [\d.]+ MiB, more than the 1\.02 MiB", str(caught.value))
    tiny = config.with_value("run.max_memory_gb", 1e-6)  # not "0.0 MiB", which read as the limit 0
    with pytest.raises(ConfigError, match=r"more than the 1\.05 KiB this allows"):
        check_memory(tiny, torch.device("cpu"), torch.float64)
    config = ExperimentConfig(task=TaskConfig(d=32, n_items=4096)).with_value("run.max_memory_gb", 0.03)
    with pytest.raises(ConfigError) as caught:
        check_memory(config, torch.device("cpu"), torch.float64)
    assert caught.value.field == "task.n_items"
    said = re.search(
        r"needs about ([\d.]+) MiB \(([\d.]+) MiB of it for task.n_items = 4096, ([\d.]+) MiB a fixed",
        str(caught.value),
    )
    assert said, str(caught.value)
    total, for_n, overhead = map(float, said.groups())
    assert 0 < for_n < total and for_n + overhead <= total + 0.1  # parts of the whole


def test_a_live_batch_change_too_large_for_the_limit_is_refused_and_changes_nothing():
    from muonscope.engine.changes import SetField
    from muonscope.engine.experiment import Experiment

    config = ExperimentConfig(task=TaskConfig(d=16, n_items=64, batch_size=32)).with_value(
        "run.max_memory_gb", 0.25
    )
    experiment = Experiment(config)
    with pytest.raises(ConfigError, match=r"^task\.batch_size = 30000000"):
        experiment.apply(SetField("task.batch_size", 3 * 10**7))
    assert experiment.queued_config == experiment.config and not experiment.pending_changes
    experiment.apply(SetField("task.batch_size", 64))  # one that fits is queued as before
    assert experiment.queued_config.task.batch_size == 64


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads the resident set from /proc")
def test_a_runs_measured_peak_stays_within_its_estimate():
    """A fresh process runs steps with a large batch, spectra and evaluations; its peak stays under."""
    script = Path(__file__).resolve().parents[2] / "benchmarks" / "memory_estimate.py"
    out = subprocess.run(
        [sys.executable, str(script), "--one", "--set", "task.batch_size=400000", "--steps", "3"],
        check=True,
        capture_output=True,
        text=True,
        timeout=600,
    )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["peak"] > 400_000 * 100  # the batch was really drawn and grouped
    assert result["peak"] <= result["estimate"] <= 2 * result["peak"]


def test_a_tasks_own_signal_rank_is_its_kinds_wherever_it_is_read(monkeypatch):
    """The engine's run and the bridge reproduction read r from the registry, not from a copy of it."""
    from muonscope.engine.reproduce.bridge_traces import signal_rank

    zipf = ExperimentConfig(task=TaskConfig(d=64, n_items=256))
    small = ExperimentConfig(task=TaskConfig(d=8, n_items=256))
    stream = TaskConfig(kind="spiked", rows=20, cols=10, strengths=(3.0, 2.0))
    cpu = torch.device("cpu")
    assert build_task(zipf.task, cpu, torch.float64).signal_rank == signal_rank(zipf) == 10
    assert build_task(small.task, cpu, torch.float64).signal_rank == signal_rank(small) == 7  # d − 1
    assert build_task(stream, cpu, torch.float64).signal_rank == 2  # one direction per strength
    assert signal_rank(zipf.with_value("run.signal_rank", 4)) == 4
    redeclared = dataclasses.replace(TASK_KINDS["zipf"], signal_rank=lambda task: 3)
    monkeypatch.setitem(TASK_KINDS, "zipf", redeclared)
    assert build_task(zipf.task, cpu, torch.float64).signal_rank == signal_rank(zipf) == 3


def test_tasks_without_embeddings_have_no_bases_and_refuse_what_reads_them():
    spiked, zipf = TaskConfig(kind="spiked"), TaskConfig()
    problem = view_problem(spiked, "bases")
    assert problem.startswith(f"the {TASK_KINDS['spiked'].title} has no embeddings, so no task bases")
    assert problem.endswith("(tasks with them: zipf, hierarchical, two_level)")
    assert view_problem(zipf, "bases") == ""
    with pytest.raises(ConfigError) as refused:
        ExperimentConfig(task=spiked, lanes=(LaneConfig(), LaneConfig(optimizer="newton")))
    assert refused.value.field == "lanes[1].optimizer" and problem in str(refused.value)
    ExperimentConfig(task=zipf, lanes=(LaneConfig(optimizer="newton"),))  # a memory task has them


def test_only_the_staircase_numbers_its_groups():
    numbered = {
        (name, profile)
        for name, kind in TASK_KINDS.items()
        for profile in TASK_FIELDS["profile"].choices
        if kind.numbered_groups(TaskConfig(kind=name, profile=profile, **kind.defaults))
    }
    assert numbered == {("two_level", "staircase")}


def _kind_name_comparisons(path: Path) -> list[int]:
    """Lines of ``path`` that compare a ``kind`` (or ``_kind``) with a task kind's name."""
    names = set(TASK_KINDS)
    lines = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Compare):
            continue
        operands = [node.left, *node.comparators]
        literals = set()
        for operand in operands:
            elements = operand.elts if isinstance(operand, ast.Tuple | ast.List | ast.Set) else [operand]
            literals |= {e.value for e in elements if isinstance(e, ast.Constant)}
        reads_kind = any(
            (isinstance(o, ast.Attribute) and o.attr in ("kind", "_kind"))
            or (isinstance(o, ast.Name) and o.id in ("kind", "_kind"))
            for o in operands
        )
        if reads_kind and literals & names:
            lines.append(node.lineno)
    return lines


def test_no_module_outside_the_registry_tells_task_kinds_apart_by_name():
    """What a kind allows is asked of TASK_KINDS (a flag, a view, a declared rule), never of its name."""
    root = Path(__file__).resolve().parents[2]
    found = {
        str(path.relative_to(root)): lines
        for package in ("app", "engine", "widgets")
        for path in sorted((root / package).rglob("*.py"))
        if path != root / "engine" / "task_kinds.py" and (lines := _kind_name_comparisons(path))
    }
    assert found == {}


def _config_needing_between(low_bytes: int, high_bytes: int):
    """A one-lane config whose memory estimate lies strictly between the two sizes."""
    from muonscope.engine.device import memory_parts

    lo, hi = 1_000, 10**7
    while hi - lo > 1:  # the smallest N above ``low_bytes``: the estimate grows with N
        mid = (lo + hi) // 2
        config = ExperimentConfig(task=TaskConfig(d=256, n_items=mid, batch_size=64), lanes=(LaneConfig(),))
        lo, hi = (mid, hi) if sum(memory_parts(config, torch.float64).values()) <= low_bytes else (lo, mid)
    config = ExperimentConfig(task=TaskConfig(d=256, n_items=hi, batch_size=64), lanes=(LaneConfig(),))
    assert low_bytes < sum(memory_parts(config, torch.float64).values()) < high_bytes
    return config


def test_points_computed_at_once_share_the_default_memory_limit():
    """Two local workers, each judged against half of RAM, could take all of it between them."""
    from muonscope.engine.device import check_memory, memory_limit_bytes
    from muonscope.engine.sweep_plans import check_points_memory, plan

    cpu = torch.device("cpu")
    limit, _source = memory_limit_bytes(RunConfig(), cpu)
    config = _config_needing_between(int(limit * 0.55), int(limit * 0.9))
    check_memory(config, cpu, torch.float64)  # alone, it fits
    with pytest.raises(ConfigError, match=r"shared by 2 points computed at once\); reduce it"):
        check_memory(config, cpu, torch.float64, sharing=2)
    points = plan(config, "batch")
    check_points_memory(points, 0.0, sharing=1)
    with pytest.raises(
        ConfigError, match=r"^task.n_items = \d+ is not allowed: .* shared by 2 points.*batch = "
    ):
        check_points_memory(points, 0.0, sharing=2)
    check_points_memory(points, 0.0, sharing=None)  # on a cluster: judged where each point computes
