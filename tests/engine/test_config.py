"""Config validation, round trips and presets."""

import math
import re

import pytest

from muonscope.engine import ConfigError, ExperimentConfig, LaneConfig, TaskConfig
from muonscope.engine.config import MAX_LANES, lane_from_dict
from muonscope.engine.presets import load_config_file, load_preset, preset_names
from muonscope.engine.task_kinds import view_problem


def test_dict_and_toml_round_trip():
    cfg = ExperimentConfig(
        task=TaskConfig(kind="spiked", rows=20, cols=10, strengths=(3.0, 1.0)),
        lanes=(LaneConfig(optimizer="adam", lr=0.1), LaneConfig(order="post", label="mine")),
    )
    assert ExperimentConfig.from_dict(cfg.to_dict()) == cfg
    assert ExperimentConfig.from_toml(cfg.to_toml()) == cfg


def test_embeddings_default_per_kind():
    assert TaskConfig(kind="zipf").embeddings == "gaussian"
    assert TaskConfig(kind="hierarchical", d=64, n_items=64).embeddings == "orthogonal"
    assert TaskConfig(kind="two_level", d=64, n_items=64).embeddings == "identity"


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"task": {"dd": 3}}, "task.dd"),
        ({"lanes": [{"optimizer": "muon", "speed": 1}]}, "lanes[0].speed"),
        ({"extra": {}}, "extra"),
        ({"run": {"steps": -1}}, "run.steps"),
        ({"task": {"kind": "two_level", "d": 10, "n_items": 20}}, "task.n_items"),
        ({"task": {"kind": "hierarchical", "d": 12, "n_items": 12, "groups": 5}}, "task.groups"),
        ({"task": {"kind": "spiked", "rows": 2, "cols": 2, "strengths": [1.0, 1.0, 1.0]}}, "task.strengths"),
        ({"task": {"strengths": [1.0, -2.0]}}, "task.strengths[1]"),
        ({"lanes": [{"nesterov": "yes"}]}, "lanes[0].nesterov"),
        ({"lanes": []}, "lanes"),
        ({"task": {"label_noise": float("nan")}}, "task.label_noise"),
    ],
)
def test_invalid_values_name_their_field(data, field):
    with pytest.raises(ConfigError) as err:
        ExperimentConfig.from_dict(data)
    assert err.value.field == field
    assert str(err.value).startswith(f"{field} = ")
    assert "\n" not in str(err.value)


def test_lane_defaults_follow_the_optimizer():
    assert lane_from_dict({"optimizer": "adam"}).lr == 1e-2
    assert lane_from_dict({"optimizer": "sgd"}).momentum == 0.9
    assert lane_from_dict({"optimizer": "muon", "lr": 0.7}).lr == 0.7


def test_with_value_addresses_lanes_and_sections():
    cfg = ExperimentConfig(lanes=(LaneConfig(), LaneConfig()))
    assert cfg.with_value("lanes[1].lr", 0.2).lanes[1].lr == 0.2
    assert cfg.with_value("lanes.0.order", "post").lanes[0].order == "post"
    assert cfg.with_value("task.d", 64).task.d == 64
    with pytest.raises(ConfigError, match="must look like"):
        cfg.with_value("d", 64)


@pytest.mark.parametrize("typed", ["float16", "Half", "bf16", "bfloat16"])
def test_a_half_precision_run_is_refused_with_where_half_precision_is_offered(typed):
    """ "float16" is nearest "float64" in spelling: that hint pointed the other way."""
    with pytest.raises(ConfigError) as err:
        ExperimentConfig().with_value("run.dtype", typed)
    message = str(err.value)
    assert "'float64'?" not in message
    assert "must be one of auto, float64, float32" in message
    assert "ns_dtype = bfloat16" in message
    assert ExperimentConfig().with_value("lanes.0.ns_dtype", "bfloat16").lanes[0].ns_dtype == "bfloat16"


def test_newton_schulz_in_float16_names_the_half_precision_it_offers():
    with pytest.raises(ConfigError, match="the half precision offered is bfloat16"):
        ExperimentConfig().with_value("lanes.0.ns_dtype", "float16")


@pytest.mark.parametrize(
    ("typed", "meant"), [("double", "float64"), ("fp32", "float32"), ("float", "float32")]
)
def test_another_name_of_a_dtype_is_answered_with_the_dtype(typed, meant):
    with pytest.raises(ConfigError, match=rf"\('{meant}'\?\)$"):
        ExperimentConfig().with_value("run.dtype", typed)


def test_integral_floats_are_accepted_as_integers_but_fractions_are_not():
    assert TaskConfig(d=64.0).d == 64
    with pytest.raises(ConfigError, match=r"^d = 64\.5"):
        TaskConfig(d=64.5)


def test_default_preset_is_the_reference_scenario():
    assert "default" in preset_names()
    preset = load_preset("default")
    task = preset.config.task
    assert (task.kind, task.d, task.n_items, task.alpha, task.batch_size) == ("zipf", 128, 2048, 1.5, 256)
    lanes = preset.config.lanes
    assert [(lane.optimizer, lane.order) for lane in lanes] == [
        ("sgd", "pre"),
        ("adam", "pre"),
        ("muon", "pre"),
        ("muon", "post"),
    ]
    assert lanes[0].momentum == 0.9
    assert lanes[2].momentum == lanes[3].momentum == 0.95
    assert preset.title
    assert preset.caption
    assert preset.claim


def test_unknown_preset_lists_the_known_ones():
    with pytest.raises(ConfigError, match="default"):
        load_preset("no-such-preset")


def test_errors_survive_the_trip_from_a_worker_process_whole():
    """Sweep workers send their errors back pickled; the rebuilt error names the same field."""
    import pickle

    from muonscope.engine.session_file import SessionError

    for error in (ConfigError("task.d", 5, "between 8 and 16384"), SessionError("runs/s1", "not a session")):
        back = pickle.loads(pickle.dumps(error))
        assert type(back) is type(error) and str(back) == str(error)
        assert (back.field, back.value, back.allowed) == (error.field, error.value, error.allowed)


def test_a_long_value_is_cut_in_the_middle_so_a_files_name_stays_in_the_message():
    from muonscope.engine.errors import format_value

    path = "/tmp/" + "deeply/nested/" * 30 + "config.toml"
    text = format_value(path)
    assert len(text) < len(repr(path)) and "…" in text
    assert text.endswith("config.toml'") and text.startswith("'/tmp/")
    assert format_value("/tmp/short.toml") == "'/tmp/short.toml'"
    numbers = list(range(10**5))
    assert format_value(numbers) == "[0, 1, 2, …, 99998, 99999] (100000 items)"  # its ends, its length
    assert format_value((12.0, 8.0, 5.0)) == "(12, 8, 5)"  # a short list whole
    assert format_value([True, 1.5, "a"]) == "[true, 1.5, 'a']"  # each item as typed: "[True]" read as Python


def test_a_run_is_shown_as_the_bundled_preset_its_settings_come_closest_to():
    from muonscope.engine.presets import nearest_preset

    for name in preset_names():
        assert nearest_preset(load_preset(name).config).name == name
    spiked = load_preset("momentum_order").config.with_value("run.steps", 7)
    assert nearest_preset(spiked).name == "momentum_order"
    assert nearest_preset(spiked.with_value("task.noise", 3.0)).config.task.kind == "spiked"
    smaller = load_preset("tail_multi_step_isotropy").config.with_value("task.label_noise", 0.1)
    assert nearest_preset(smaller).name == "tail_multi_step_isotropy"


def test_a_run_far_from_every_preset_is_shown_untitled_under_its_own_name():
    """A 2-lane run of another size was shown under a paper's title, its claim and its caption."""
    from muonscope.engine.presets import MAX_SETTINGS_APART, nearest_preset

    config = load_preset("default").config.with_value("run.steps", 80)  # its length is not counted
    sizes = [("task.d", 48), ("task.n_items", 512), ("task.batch_size", 64), ("task.alpha", 1.2)]
    assert len(sizes) > MAX_SETTINGS_APART
    for count in range(1, len(sizes) + 1):
        preset = nearest_preset(config.with_values(sizes[:count]), "s1")
        if count <= MAX_SETTINGS_APART:
            assert preset.name == "default" and preset.title and not preset.is_own_settings
        else:
            assert (preset.name, preset.title, preset.caption) == ("s1", "", "")
            assert preset.is_own_settings
            assert preset.config == config.with_values(sizes)


#: A preset label's symbol → the lane field it states.
_LABEL_SYMBOLS = {"η": "lr", "λ": "lam", "μ": "momentum"}
#: Sweep axis → the label variables it changes while the lanes' fields stay as they are.
_SWEPT_VARIABLES = {"d": {"d"}, "batch": {"B"}, "n_items": {"K", "p1"}}


def _label_variables(preset) -> dict:
    """The variables a label's formula may name, at the preset's settings."""
    from muonscope.engine.tasks.memory_task import task_frequencies

    task = preset.config.task
    names = {"sqrt": math.sqrt, "log": math.log, "alpha": task.alpha, "T": preset.config.run.steps}
    names |= {"d": task.d, "K": task.n_items, "B": task.batch_size}
    if task.kind != "spiked":
        names["p1"] = float(task_frequencies(task)[0][0])
    return names


def _label_value(expression: str, names: dict) -> float:
    """A label's formula (``1.9/p₁``, ``2 log K / T``, ``32^-α``) with the given variables."""
    text = re.sub(r"√(\w+)", r"sqrt(\1)", expression.replace("p₁", "p1").replace("α", "alpha"))
    text = re.sub(r"log (\w+)", r"log(\1)", text).replace("^", "**")
    text = re.sub(r"(\d)\s+(?=[a-z(])", r"\1*", text)
    return eval(text, {"__builtins__": {}}, names)  # the test's own formulas, from the bundled presets


@pytest.mark.parametrize("name", preset_names())
def test_a_preset_lanes_label_states_the_values_the_lane_runs(name):
    """A label's η, λ or μ equals the lane's; a λ is not stated in a size that the preset's capacity
    sweeps vary, as its lane keeps one λ across them ("λ = 1/B" on a lane fixed at 1/256 named a
    batch sweep's curve). A sweep over μ names its curves itself; a step size does not change what a
    step from W = 0 recovers, which is what the size sweeps count."""
    preset = load_preset(name)
    names = _label_variables(preset)
    swept = {axis for axis in _SWEPT_VARIABLES if not view_problem(preset.config.task, axis)}
    fixed = {k: v for k, v in names.items() if not any(k in _SWEPT_VARIABLES[axis] for axis in swept)}
    for lane in preset.config.lanes:
        for symbol, expression in re.findall(r"([ημλ])\s*=\s*([^,·)]+)", lane.label):
            expression = re.sub(r"\s+(ema|sum)\s*$", "", expression).strip()
            field = _LABEL_SYMBOLS[symbol]
            stated = _label_value(expression, fixed if field == "lam" else names)
            assert getattr(lane, field) == pytest.approx(stated, rel=2e-3), (lane.label, field)


@pytest.mark.parametrize("name", preset_names())
def test_the_config_file_a_run_writes_loads_back_though_it_holds_every_field(name, tmp_path):
    """A config file is refused a field its lane or task does not read (``polar = "ns"`` on SGD ran
    plain SGD), unless the field states what leaving it out gives, as every field of a written one does."""
    config = load_preset(name).config
    path = tmp_path / "config.toml"
    path.write_text(config.to_toml(), encoding="utf-8")
    assert load_config_file(path).config == config
    sgd = next((i for i, lane in enumerate(config.lanes) if lane.optimizer == "sgd"), None)
    if sgd is not None:
        path.write_text(config.with_value(f"lanes[{sgd}].ns_steps", 3).to_toml(), encoding="utf-8")
        with pytest.raises(ConfigError, match=rf"lanes\[{sgd}\]\.ns_steps = 3 .*only Muon"):
            load_config_file(path)


def test_a_config_in_a_folder_it_may_not_enter_is_refused_naming_it(tmp_path, monkeypatch):
    """A PermissionError from the check for a saved session's folder went up as a traceback."""
    import os

    path = tmp_path / "closed" / "c.toml"
    real_stat = os.stat

    def stat(target, *args, **kwargs):  # a chmod 000 folder, as the system answers a user not root
        if str(target).startswith(str(tmp_path / "closed")):
            raise PermissionError(13, "Permission denied", str(target))
        return real_stat(target, *args, **kwargs)

    monkeypatch.setattr(os, "stat", stat)
    with pytest.raises(ConfigError) as caught:
        load_config_file(path)
    said = "is not allowed: must be a readable file (Permission denied)"
    assert str(caught.value) == f"config = '{path}' {said}"


@pytest.mark.parametrize(
    ("count", "shown"), [(0, "lanes = []"), (MAX_LANES + 1, f"lanes = 'a list of {MAX_LANES + 1} lanes'")]
)
def test_a_run_of_no_lanes_or_too_many_is_refused_naming_the_list_not_a_count(count, shown):
    """ "lanes = 0 is not allowed" read as a lane index of 0."""
    with pytest.raises(ConfigError) as refused:
        ExperimentConfig.from_dict({"lanes": [{}] * count})
    assert str(refused.value) == f"{shown} is not allowed: must be a list of 1 to {MAX_LANES} lanes"
    with pytest.raises(ConfigError) as refused:
        ExperimentConfig(lanes=(LaneConfig(),) * count)
    assert str(refused.value).startswith(f"{shown} is not allowed")


def test_a_saved_session_given_as_a_config_is_answered_with_commands_that_paste_whole(tmp_path):
    """ "open it with `muonscope /runs/my run`" pasted as printed was two words."""
    folder = tmp_path / "my run"
    folder.mkdir()
    (folder / "session.json").write_text("{}")
    with pytest.raises(ConfigError) as err:
        load_config_file(folder, "--config")
    quoted = f"'{folder}'"
    assert f"open it with `muonscope {quoted}`, or continue it with `muonscope run --resume {quoted}`" in str(
        err.value
    )


def test_an_adam_lane_of_another_epsilon_is_named_by_it():
    """Adam lanes at ε = 0, 1 and the default read alike ("Adam β=(0.9, 0.999) lr=0.01"), and an
    --until on that name held for all three."""
    labels = [
        LaneConfig(optimizer="adam", lr=0.01, momentum=0.9, eps=eps).display_label() for eps in (0, 1, 1e-8)
    ]
    assert labels == [
        "Adam β=(0.9, 0.999) ε=0 lr=0.01",
        "Adam β=(0.9, 0.999) ε=1 lr=0.01",
        "Adam β=(0.9, 0.999) lr=0.01",
    ]
