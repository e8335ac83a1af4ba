"""What a change carries with it: an optimizer switch sets the new optimizer's learning rate."""

import pytest

from muonscope.engine import (
    OPTIMIZERS,
    AddLane,
    ExperimentConfig,
    LaneConfig,
    RemoveLane,
    SetField,
    TaskConfig,
)
from muonscope.engine.changes import (
    apply_change,
    change_note,
    change_notes,
    switch_optimizer,
    switches_first,
    told_changes,
)

SGD_128 = LaneConfig(optimizer="sgd", lr=128.0, momentum=0.9, buffer="sum")
CONFIG = ExperimentConfig(
    task=TaskConfig(d=16, n_items=64), lanes=(SGD_128, LaneConfig(optimizer="adam", lr=0.1))
)


def test_a_switch_takes_the_new_optimizers_default_rate_and_convention_and_says_so():
    applied = apply_change(CONFIG, SetField("lanes[0].optimizer", "signgd"))
    lane = applied.config.lanes[0]
    assert (lane.optimizer, lane.lr) == ("signgd", OPTIMIZERS["signgd"].default_lr)
    assert (lane.momentum, lane.order, lane.buffer) == (0.9, "pre", "ema")  # μ and order stay
    assert (applied.field, applied.old, applied.new) == ("lanes[0].optimizer", "sgd", "signgd")
    assert applied.text == "lane 0 optimizer SGD → SignGD, lr 128 → 0.01, buffer sum → ema"
    assert applied.note == "lane 0: SGD → SignGD, lr 128 → 0.01, buffer sum → ema (SignGD's defaults)"
    back = apply_change(applied.config, SetField("lanes[0].optimizer", "sgd")).config.lanes[0]
    assert (back.lr, back.buffer) == (OPTIMIZERS["sgd"].default_lr, "sum")  # torch's convention again


@pytest.mark.parametrize("optimizer", sorted(OPTIMIZERS))
def test_every_optimizer_switched_to_gets_its_registry_default(optimizer):
    switched = switch_optimizer(LaneConfig(optimizer="sgd", lr=128.0), optimizer)
    expected = 128.0 if optimizer == "sgd" else OPTIMIZERS[optimizer].default_lr
    assert switched.lr == expected


def test_a_switch_to_a_rate_already_at_the_default_names_it_without_an_arrow():
    config = CONFIG.with_value("lanes[0].lr", 0.01)
    assert change_note(config, SetField("lanes[0].optimizer", "signgd")) == (
        "lane 0: SGD → SignGD, lr 0.01, buffer sum → ema (SignGD's defaults)"
    )


def test_a_momentum_change_is_named_as_the_lanes_box_names_it():
    """Adam's momentum is its first moment's β₁: a marker reading "momentum" named a setting Adam
    has none of, beside a box labelled β₁."""
    assert apply_change(CONFIG, SetField("lanes[1].momentum", 0.5)).text == "lane 1 β₁ 0.95 → 0.5"
    assert apply_change(CONFIG, SetField("lanes[0].momentum", 0.5)).text == "lane 0 momentum 0.9 → 0.5"
    named = CONFIG.with_value("lanes[1].label", "Adam fast")  # the name goes with it, said alike
    assert apply_change(named, SetField("lanes[1].momentum", 0.5)).text == "lane 1 β₁ 0.95 → 0.5"


def test_a_line_of_changes_is_told_as_its_markers_say_it():
    switch = SetField("lanes[1].optimizer", "signgd")
    line = [(3, switch), (3, SetField("lanes[0].lr", 2.0)), (9, RemoveLane(1))]
    switched = apply_change(CONFIG, switch).config.lanes[1]
    assert told_changes(CONFIG, line) == (
        f"at step 3: lane 1 optimizer Adam → SignGD, lr 0.1 → {switched.lr:g}",
        "at step 3: lane 0 lr 128 → 2",
        f"at step 9: lane 1 removed ({switched.display_label()})",
    )


def test_other_changes_carry_nothing():
    assert change_note(CONFIG, SetField("lanes[0].optimizer", "sgd")) == ""
    assert apply_change(CONFIG, SetField("lanes[0].optimizer", "sgd")).config.lanes[0].lr == 128.0
    assert change_note(CONFIG, SetField("lanes[1].lr", 0.2)) == ""
    assert change_note(CONFIG, RemoveLane(1)) == ""


def test_switches_go_first_so_that_a_rate_given_with_them_holds():
    rate, switch, noise = (
        SetField("lanes[0].lr", 0.05),
        SetField("lanes[0].optimizer", "signgd"),
        SetField("task.label_noise", 0.1),
    )
    assert switches_first([rate, noise, switch]) == [switch, rate, noise]
    config = CONFIG
    for change in switches_first([rate, switch]):
        config = apply_change(config, change).config
    assert (config.lanes[0].optimizer, config.lanes[0].lr) == ("signgd", 0.05)


def test_a_batchs_notes_leave_out_what_the_batch_sets_itself():
    switch = SetField("lanes[0].optimizer", "signgd")
    assert change_notes(CONFIG, [switch]) == [change_note(CONFIG, switch)]
    rate = SetField("lanes[0].lr", 0.05)
    assert change_notes(CONFIG, [switch, rate]) == [
        "lane 0: SGD → SignGD, buffer sum → ema (SignGD's default)"
    ]
    buffer = SetField("lanes[0].buffer", "sum")
    assert change_notes(CONFIG, [switch, rate, buffer]) == []  # nothing beyond what was named
    other_lane = SetField("lanes[1].lr", 0.05)
    assert change_notes(CONFIG, [switch, other_lane]) == [change_note(CONFIG, switch)]
    named = CONFIG.with_value("lanes[0].label", "GD")
    assert change_notes(named, [switch, rate, buffer]) == [
        "lane 0: SGD → SignGD; its name “GD” went with SGD"
    ]


def test_a_named_lane_is_named_by_its_settings_after_a_switch():
    """A preset's "GD η = 1.9/p₁" kept naming the lane after it switched to Adam."""
    config = CONFIG.with_value("lanes[0].label", "GD η = 1.9/p₁")
    applied = apply_change(config, SetField("lanes[0].optimizer", "adam"))
    lane = applied.config.lanes[0]
    assert lane.label == "" and lane.display_label() == OPTIMIZERS["adam"].describe(lane)
    assert applied.note.endswith("; its name “GD η = 1.9/p₁” went with SGD")
    # so does any setting it names: at lr 2 the lane is no longer "η = 1.9/p₁"
    nudged = apply_change(config, SetField("lanes[0].lr", 2.0))
    assert nudged.config.lanes[0].label == "" and nudged.config.lanes[0].lr == 2.0
    assert nudged.note == f"lane 0: its name “GD η = 1.9/p₁” went with lr {config.lanes[0].lr:g} → 2"
    unchanged = apply_change(config, SetField("lanes[0].lr", config.lanes[0].lr))
    assert unchanged.config.lanes[0].label == "GD η = 1.9/p₁"  # set to what it was: nothing changed
    renamed = config
    both = [SetField("lanes[0].label", "mine"), SetField("lanes[0].optimizer", "adam")]
    for change in switches_first(both):
        renamed = apply_change(renamed, change).config
    assert renamed.lanes[0].label == "mine"  # a name given with the switch holds


def test_adding_or_removing_a_lane_says_which_lane_by_number_and_label():
    """ "lanes 5 → 4" said neither which lane went nor that the lanes after it were renumbered,
    while earlier markers still name lanes by their numbers then."""
    removed = apply_change(CONFIG, RemoveLane(0))
    first = CONFIG.lanes[0].display_label()
    assert removed.text == f"lane 0 removed ({first}); lanes after it renumbered"
    last = len(CONFIG.lanes) - 1
    assert (
        apply_change(CONFIG, RemoveLane(last)).text
        == f"lane {last} removed ({CONFIG.lanes[last].display_label()})"
    )
    assert apply_change(CONFIG, AddLane(CONFIG.lanes[0])).text == f"lane {len(CONFIG.lanes)} added"
