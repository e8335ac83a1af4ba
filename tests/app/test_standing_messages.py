"""Messages that describe where the run stands go away once it moves on, messages about a run once it
is replaced; others stay."""

from dataclasses import replace

import pytest
from PySide6 import QtCore

from muonscope.engine import TaskConfig
from muonscope.widgets.message_bar import MessageBar
from tests.app.helpers import (
    WAIT_MS,
    open_app,
    small_preset,
    wait_for_frame,
    wait_for_step,
    wait_until_paused,
)

REACHED = "Reached the run's 4 steps and paused"


def _paused_at_run_length(qtbot):
    preset = small_preset()
    preset = type(preset)(name="short", config=preset.config.with_value("run.steps", 4), title="short")
    app = open_app(qtbot, preset)
    app.intents.play(True)
    qtbot.waitUntil(lambda: REACHED in app.views.message.text, timeout=WAIT_MS)
    wait_until_paused(qtbot, app)
    return app


def _banner_gone(app) -> bool:
    return REACHED not in app.views.message.text


def test_the_run_length_banner_goes_when_play_resumes(qtbot):
    app = _paused_at_run_length(qtbot)
    app.intents.play(True)
    qtbot.waitUntil(lambda: _banner_gone(app), timeout=WAIT_MS)
    wait_for_step(qtbot, app, 6)
    app.intents.play(False)
    wait_until_paused(qtbot, app)
    assert not app.views.message.isVisible()


def test_the_run_length_banner_goes_on_reset(qtbot):
    app = _paused_at_run_length(qtbot)
    app.intents.reset(3)
    qtbot.waitUntil(lambda: app.clock.newest.step == 0, timeout=WAIT_MS)
    assert _banner_gone(app)


def test_the_run_length_banner_goes_on_a_preset_change(qtbot):
    app = _paused_at_run_length(qtbot)
    app.intents.run_preset(small_preset(label_noise=0.1))
    qtbot.waitUntil(lambda: app.clock.config.task.label_noise == pytest.approx(0.1), timeout=WAIT_MS)
    assert _banner_gone(app)


def test_the_run_length_banner_goes_when_a_step_is_taken(qtbot):
    app = _paused_at_run_length(qtbot)
    app.intents.step(1)
    wait_for_step(qtbot, app, 5)
    assert _banner_gone(app)


def test_the_banner_stays_while_the_run_stays_where_it_is(qtbot):
    app = _paused_at_run_length(qtbot)
    app.views.lanes.rows[2].order.buttons["none"].click()  # a change at the same step
    qtbot.waitUntil(lambda: app.clock.config.lanes[2].order == "none", timeout=WAIT_MS)
    assert REACHED in app.views.message.text


def test_a_message_about_something_that_happened_stays_when_play_resumes(qtbot):
    app = open_app(qtbot)
    app.intents.change("lanes[0].lr", -1.0)  # refused: lr must be positive
    qtbot.waitUntil(lambda: app.views.message.text.startswith("Not applied"), timeout=WAIT_MS)
    app.intents.play(True)
    wait_for_step(qtbot, app, 3)
    app.intents.play(False)
    wait_until_paused(qtbot, app)
    assert app.views.message.text.startswith("Not applied")


def test_withdrawing_a_message_leaves_a_newer_one(qtbot):
    bar = MessageBar()
    qtbot.addWidget(bar)
    bar.show()
    first = bar.show_message("paused here", "info")
    second = bar.show_message("something else")
    assert not bar.withdraw(first)
    assert bar.text == "something else"
    assert bar.withdraw(second)
    assert bar.text == ""


SWITCHED = "lane 0: SGD → SignGD"


def _switched_lane(qtbot):
    """Lane 0 switched to SignGD: the window says what came with the switch (its learning rate)."""
    app = open_app(qtbot)
    app.intents.step(2)
    wait_for_step(qtbot, app, 2)
    app.intents.change("lanes[0].optimizer", "signgd")
    qtbot.waitUntil(lambda: app.views.message.text.startswith(SWITCHED), timeout=WAIT_MS)
    return app


def test_a_banner_about_a_lane_change_stays_while_that_run_goes_on(qtbot):
    app = _switched_lane(qtbot)
    app.intents.step(2)
    wait_for_step(qtbot, app, 4)
    assert app.views.message.text.startswith(SWITCHED)


def test_a_banner_about_a_lane_change_goes_when_the_run_goes_back_before_it(qtbot):
    """Gone back to step 1, the window still said "lane 0: SGD → SignGD" of a switch made at step 2."""
    app = _switched_lane(qtbot)
    app.intents.step(1)
    wait_for_step(qtbot, app, 3)
    app.debugger.go_to(2)
    qtbot.waitUntil(lambda: app.clock.newest.step == 2, timeout=WAIT_MS)
    assert app.views.message.text.startswith(SWITCHED)  # at the step it was made at: still true
    app.debugger.go_to(1)
    qtbot.waitUntil(lambda: app.clock.newest.step == 1, timeout=WAIT_MS)
    assert not app.views.message.text.startswith(SWITCHED)


def test_a_banner_about_a_lane_change_goes_when_a_removal_renumbers_the_lanes(qtbot):
    """ "lane 0: SGD → SignGD" stayed after lane 0 was removed, when Adam had become lane 0."""
    app = _switched_lane(qtbot)
    app.intents.step(1)
    wait_for_step(qtbot, app, 3)
    app.intents.remove_lane(0)
    qtbot.waitUntil(lambda: app.clock.newest.lanes[0].optimizer == "adam", timeout=WAIT_MS)
    assert not app.views.message.text.startswith(SWITCHED)


def test_the_note_of_a_fork_made_by_removing_a_lane_stays(qtbot):
    app = open_app(qtbot)
    app.intents.step(4)
    wait_for_step(qtbot, app, 4)
    app.debugger.go_to(2)
    qtbot.waitUntil(lambda: app.clock.newest.step == 2, timeout=WAIT_MS)
    app.intents.remove_lane(0)
    qtbot.waitUntil(lambda: app.views.message.text.startswith("Forked"), timeout=WAIT_MS)
    qtbot.waitUntil(lambda: len(app.clock.newest.lanes) == 3, timeout=WAIT_MS)
    assert app.views.message.text.startswith("Forked")


def test_a_banner_about_a_lane_change_goes_with_a_preset_change(qtbot):
    app = _switched_lane(qtbot)
    app.intents.run_preset(small_preset(label_noise=0.1))
    qtbot.waitUntil(lambda: app.clock.config.task.label_noise == pytest.approx(0.1), timeout=WAIT_MS)
    assert not app.views.message.isVisible()


def test_a_banner_about_a_lane_change_goes_on_reset(qtbot):
    app = _switched_lane(qtbot)
    run = app.clock.newest.run_id
    app.intents.reset(3)
    qtbot.waitUntil(lambda: app.clock.newest.run_id != run, timeout=WAIT_MS)
    assert not app.views.message.isVisible()


def test_the_fork_note_stays_on_its_branch_and_goes_when_another_is_put_on_show(qtbot):
    app = open_app(qtbot)
    app.debugger.go_to(6)
    qtbot.waitUntil(lambda: app.clock.newest.step == 6 and not app.clock.playing, timeout=WAIT_MS)
    app.debugger.go_to(3)
    qtbot.waitUntil(lambda: app.clock.newest.step == 3, timeout=WAIT_MS)
    app.intents.change("lanes[0].lr", 5.0)
    qtbot.waitUntil(lambda: app.views.message.text.startswith("Forked"), timeout=WAIT_MS)
    app.intents.step(2)
    wait_for_step(qtbot, app, 5)
    assert app.views.message.text.startswith("Forked")  # true while the fork is on show
    main = next(b.id for b in app.debugger.branches if not b.current)
    app.debugger.switch_branch(main)
    qtbot.waitUntil(lambda: not app.views.message.isVisible(), timeout=WAIT_MS)
    assert next(b for b in app.debugger.branches if b.current).id == main


def test_a_refused_change_goes_with_the_run_it_was_refused_in(qtbot):
    app = open_app(qtbot)
    app.intents.change("lanes[0].lr", -1.0)
    qtbot.waitUntil(lambda: app.views.message.text.startswith("Not applied"), timeout=WAIT_MS)
    app.intents.run_preset(small_preset(label_noise=0.1))
    qtbot.waitUntil(lambda: app.clock.config.task.label_noise == pytest.approx(0.1), timeout=WAIT_MS)
    assert not app.views.message.isVisible()


def test_a_problem_with_the_new_preset_stays_once_its_run_starts(qtbot):
    app = _switched_lane(qtbot)
    run = app.clock.newest.run_id
    preset = replace(small_preset(label_noise=0.1), view={"series": "no such metric"})
    app.intents.run_preset(preset)
    qtbot.waitUntil(lambda: app.clock.newest.run_id != run, timeout=WAIT_MS)
    wait_for_frame(qtbot, app)
    assert "view.series" in app.views.message.text


def test_a_list_field_that_is_not_numbers_says_why_in_the_message_bar(qtbot):
    """ "12, x, 5" in signal strengths only turned the field pink."""
    task = TaskConfig(kind="spiked", rows=12, cols=10, strengths=(5.0, 3.0))
    app = open_app(qtbot, replace(small_preset(), config=replace(small_preset().config, task=task)))
    line = app.views.task.editors["strengths"]
    line.setText("12, x, 5")
    line.editingFinished.emit()
    said = "must be numbers above 0 and at most 10³⁰ separated by"
    expected = f"Not applied: task.strengths = '12, x, 5' is not allowed: {said}"
    assert app.views.message.text.startswith(expected)
    assert app.clock.config.task.strengths == (5.0, 3.0)  # nothing changed
    assert line.text() == "5, 3"  # the list in force, as a spin box shows its value after a refusal
    line.setText("12, -8, 5")  # refused by the restart only, after "apply" had stayed armed
    line.editingFinished.emit()
    assert app.views.message.text.startswith("Not applied: task.strengths[1] = -8")
    assert "must be a number in (0, 1e30]" in app.views.message.text
    assert line.text() == "5, 3" and not app.views.task.apply_button.isEnabled()


def test_a_list_field_refuses_on_enter_in_the_engines_words_with_the_staged_sizes(qtbot):
    """ "0" in signal strengths was refused as "must be a list" (it was read as one number), and
    11 strengths where min(rows, cols) = 10 were taken on Enter for the restart to refuse."""
    task = TaskConfig(kind="spiked", rows=12, cols=10, strengths=(5.0, 3.0))
    app = open_app(qtbot, replace(small_preset(), config=replace(small_preset().config, task=task)))
    line = app.views.task.editors["strengths"]
    for typed, said in [
        ("0", "task.strengths[0] = 0 is not allowed: must be a number in (0, 1e30]"),
        ("1e400", "task.strengths[0] = inf is not allowed: must be a finite number in (0, 1e30]"),
        (
            "",
            "task.strengths = [] is not allowed: "
            "must be a list of 1 to min(rows, cols) = min(12, 10) = 10 numbers",
        ),
        (
            ", ".join(["1"] * 11),
            "task.strengths = [1, 1, 1, …, 1, 1] (11 items) is not allowed: "
            "must be a list of 1 to min(rows, cols) = min(12, 10) = 10 numbers",
        ),
    ]:
        line.setText(typed)
        line.editingFinished.emit()
        assert app.views.message.text == f"Not applied: {said}", typed
        assert line.text() == "5, 3" and not app.views.task.apply_button.isEnabled()
    app.views.task.editors["cols"].setValue(20)  # staged: now 11 fit
    line.setText(", ".join(["1"] * 11))
    line.editingFinished.emit()
    assert app.views.task.staged == {"cols": 20, "strengths": [1.0] * 11}
    app.views.task.apply_button.click()
    qtbot.waitUntil(lambda: app.clock.config.task.strengths == (1.0,) * 11, timeout=WAIT_MS)


def test_a_number_typed_outside_its_range_is_said_not_reverted_in_silence(qtbot):
    """1e9 typed as a learning rate went back to the old value with no word of why."""
    app = open_app(qtbot)
    box = app.views.lanes.rows[0].widget_for("lr")
    before = box.value()
    box.setFocus()
    box.lineEdit().selectAll()
    qtbot.keyClicks(box.lineEdit(), "1e9")
    qtbot.keyClick(box.lineEdit(), QtCore.Qt.Key.Key_Return)
    # the engine's rule, in the words the command line uses for it
    assert (
        app.views.message.text
        == "Not applied: lanes[0].lr = '1e9' is not allowed: must be a number in [0, 1000000]"
    )
    assert box.value() == before and app.clock.config.lanes[0].lr == before
    _type_into(qtbot, box, "abc")  # not a number: the same rule, in the same words
    assert (
        app.views.message.text
        == "Not applied: lanes[0].lr = 'abc' is not allowed: must be a number in [0, 1000000]"
    )


def _type_into(qtbot, box, text):
    box.setFocus()
    box.lineEdit().selectAll()
    qtbot.keyClicks(box.lineEdit(), text)
    qtbot.keyClick(box.lineEdit(), QtCore.Qt.Key.Key_Return)


@pytest.mark.parametrize(
    ("field", "typed"),
    [("d", "100000"), ("d", "-5"), ("n_items", "1"), ("batch_size", "1e12"), ("d", "12.5"), ("d", "abc")],
)
def test_a_whole_number_outside_its_range_is_refused_as_typed_not_cut_to_fit(qtbot, field, typed):
    """100000 typed into d became 10000 and was staged; −5 became 5; 1 for N went back in silence;
    1e12 for the batch became 112 and 12.5 for d became 125 (the keys the box dropped), applied."""
    app = open_app(qtbot)
    box = app.views.task.editors[field]
    before = box.value()
    _type_into(qtbot, box, typed)
    message = app.views.message.text
    assert message.startswith(
        f"Not applied: task.{field} = '{typed}' is not allowed: must be an integer from"
    )
    assert box.value() == before and not app.views.task.apply_button.isEnabled()  # nothing staged


def test_a_refusal_goes_once_a_later_change_is_carried_out(qtbot):
    """After a refused μ the banner stayed over an lr change that was applied, as if it had failed too."""
    app = open_app(qtbot)
    _type_into(qtbot, app.views.lanes.rows[0].widget_for("momentum"), "1.5")
    assert app.views.message.text.startswith("Not applied: lanes[0].momentum = '1.5'")
    _type_into(qtbot, app.views.lanes.rows[0].widget_for("lr"), "0.05")
    qtbot.waitUntil(lambda: app.clock.config.lanes[0].lr == 0.05, timeout=WAIT_MS)
    assert app.views.message.isHidden()


@pytest.mark.parametrize(("field", "typed"), [("lr", "abc"), ("momentum", "nan"), ("lr", "1e")])
def test_a_lane_number_that_is_no_number_is_refused_as_typed(qtbot, field, typed):
    """Letters typed into lr were dropped as typed, so nothing happened and nothing said why."""
    app = open_app(qtbot)
    box = app.views.lanes.rows[0].widget_for(field)
    before = box.value()
    _type_into(qtbot, box, typed)
    assert app.views.message.text.startswith(f"Not applied: lanes[0].{field} = '{typed}' is not allowed")
    assert box.value() == before


def test_a_refusal_goes_once_a_later_task_edit_is_staged(qtbot):
    """After d = −5 was refused, 12 was staged under a banner still saying −5 was not applied."""
    app = open_app(qtbot)
    box = app.views.task.editors["d"]
    _type_into(qtbot, box, "-5")
    assert app.views.message.text.startswith("Not applied: task.d = '-5'")
    _type_into(qtbot, box, str(box.value() + 4))
    assert app.views.task.apply_button.isEnabled() and app.views.message.isHidden()


def test_lane_boxes_hold_what_the_lane_runs_with(qtbot):
    """μ = 0.9995 showed 0.999 (and was refused when typed) and lr = 10⁻⁹ showed 0."""
    preset = small_preset()
    lanes = (replace(preset.config.lanes[0], momentum=0.9995, lr=1e-9), *preset.config.lanes[1:])
    app = open_app(qtbot, replace(preset, config=replace(preset.config, lanes=lanes)))
    row = app.views.lanes.rows[0]
    assert row.widget_for("momentum").value() == 0.9995 and row.widget_for("momentum").text() == "0.9995"
    assert row.widget_for("lr").value() == 1e-9
    _type_into(qtbot, row.widget_for("lr"), "0")
    qtbot.waitUntil(lambda: app.clock.config.lanes[0].lr == 0.0, timeout=WAIT_MS)
    _type_into(qtbot, row.widget_for("momentum"), "0.99995")
    qtbot.waitUntil(lambda: app.clock.config.lanes[0].momentum == 0.99995, timeout=WAIT_MS)


def test_a_message_about_the_run_before_goes_when_another_preset_loads(qtbot):
    """A sweep's refusal stayed over the next preset's plots, and into a recording started there."""
    from tests.app.helpers import small_preset

    app = open_app(qtbot)
    app.window.show_alert("Cannot run 'd': not for this task.")
    assert app.views.message.text
    app.intents.run_preset(small_preset())
    assert app.views.message.text == ""


def test_a_breakpoint_message_goes_when_the_lanes_it_numbers_are_renumbered(qtbot):
    """ "holds at step 1 for lane 2" stayed after lane 0 was removed, when lane 2 had become lane 1."""
    app = open_app(qtbot)
    with qtbot.waitSignal(app.link.breakpoints_changed, timeout=WAIT_MS):
        app.debugger.add_breakpoint("2:batch_loss < 1e9")
    app.intents.play(True)
    qtbot.waitUntil(lambda: "for lane 2" in app.views.message.text, timeout=WAIT_MS)
    wait_until_paused(qtbot, app)
    lanes = len(app.clock.config.lanes)
    app.intents.remove_lane(lanes - 1)  # the last lane: the others keep their numbers
    qtbot.waitUntil(lambda: len(app.clock.newest.lanes) == lanes - 1, timeout=WAIT_MS)
    assert "for lane 2" in app.views.message.text
    app.intents.remove_lane(0)
    qtbot.waitUntil(lambda: len(app.clock.newest.lanes) == lanes - 2, timeout=WAIT_MS)
    assert "for lane 2" not in app.views.message.text


def test_the_window_says_before_a_slow_run_how_long_each_step_will_take_and_takes_it_back(qtbot):
    """At d = 8192 the busy bar counted the first step's half hour without a word of it."""
    from muonscope.app.step_time_note import StepTimeNote
    from muonscope.engine import ExperimentConfig, LaneConfig, TaskConfig
    from muonscope.widgets.message_bar import MessageBar

    bar = MessageBar()
    qtbot.addWidget(bar)
    bar.show()
    note = StepTimeNote(bar, lambda: None)
    slow = ExperimentConfig(task=TaskConfig(d=4096), lanes=(LaneConfig(optimizer="muon"),))
    note.update(slow)
    assert note.text.startswith("Each step will take about ") and "can cancel it" in note.text
    assert bar.text == note.text and bar.level == "info"
    note.update(ExperimentConfig())  # the default sizes: quick, and the message goes
    assert note.text == "" and bar.text == ""
    note.update(slow)
    bar.show_message("Not applied: something else", "error")  # another message came since: it stays
    note.update(ExperimentConfig())
    assert bar.text == "Not applied: something else"
