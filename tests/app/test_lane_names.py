"""A lane's past is named by the settings that drew it: hover read-outs, tables, the key and the caption.

A lane switched from SGD to SignGD drew its earlier steps as SGD. Whatever names a point or a step
of it must say SGD there, also after a fork, a rewind, or a save and reopen.
"""

import numpy as np
from helpers import WAIT_MS, open_app, wait_for_frame, wait_for_step


def _switched_at(qtbot, app, step, then):
    """Lane 0 goes from SGD to SignGD at ``step``; the run goes on to ``then``. Returns (old, new) labels."""
    app.intents.step(step)
    wait_for_step(qtbot, app, step)
    old = app.clock.newest.lanes[0].label
    app.intents.change("lanes[0].optimizer", "signgd")
    qtbot.waitUntil(lambda: app.clock.config.lanes[0].optimizer == "signgd", timeout=WAIT_MS)
    app.intents.step(then - step)
    wait_for_step(qtbot, app, then)
    wait_for_frame(qtbot, app)
    return old, app.clock.newest.lanes[0].label


def _point(x, y, step):
    """The (x, y) of a curve's point at ``step``."""
    index = int(np.flatnonzero(x == step)[0])
    return x[index], y[index]


def _hover(plot, x, y, log_x=False, log_y=False):
    return plot.hover.show_at(np.log10(x) if log_x else x, np.log10(y) if log_y else y)


def _look_at(qtbot, app, step):
    app.clock.look_at(step)
    qtbot.waitUntil(lambda: app.clock.shown is not None and app.clock.shown.step == step, timeout=WAIT_MS)


def test_hovering_a_lanes_past_names_the_settings_of_that_step(qtbot):
    app = open_app(qtbot)
    old, new = _switched_at(qtbot, app, 6, 10)
    assert old != new and old.startswith("SGD") and new.startswith("SignGD")
    capacity = app.views.capacity
    for step, label in ((4, old), (6, old), (8, new)):  # step 6 was taken by SGD; the change came after
        text = _hover(capacity, *_point(*capacity.recovered_data(0), step))
        assert text.startswith(f"{label}\nstep {step}:"), text
    series = app.views.series
    steps, values = series.curve_data(0)
    for step, label in ((int(steps[0]), old), (int(steps[-1]), new)):
        assert _hover(series, *_point(steps, values, step)).startswith(f"{label}\nstep {step}:")

    _look_at(qtbot, app, 4)  # ① and ③ show that step's spectra and errors: drawn by SGD
    wait_for_frame(qtbot, app)
    k, sigma = app.views.spectrum.curve_data(0, "gradient")
    assert _hover(app.views.spectrum, k[0], sigma[0], log_y=True).startswith(old + "\n")
    rank, error = app.views.class_error.raw_data(0)
    assert _hover(app.views.class_error, rank[0], error[0], log_x=True).startswith(old + "\n")


def test_a_panels_table_names_each_lane_with_its_changes(qtbot):
    app = open_app(qtbot)
    old, new = _switched_at(qtbot, app, 6, 10)
    columns, _rows = app.views.capacity.data_table()
    assert f"recovered items: {old} → {new} (step 6)" in columns
    columns, _rows = app.views.series.data_table()
    assert any(name.endswith(f": {old} → {new} (step 6)") for name in columns)


def _fork_at(qtbot, app, step, head):
    """Run to ``head``, go back to ``step`` and switch lane 0 to SignGD there (a fork)."""
    app.debugger.go_to(head)
    qtbot.waitUntil(lambda: app.clock.newest.step == head and not app.clock.playing, timeout=WAIT_MS)
    old = app.clock.newest.lanes[0].label
    with qtbot.waitSignal(app.link.history_replaced, timeout=WAIT_MS):
        app.debugger.go_to(step)
    qtbot.waitUntil(lambda: app.clock.newest.step == step, timeout=WAIT_MS)
    app.intents.change("lanes[0].optimizer", "signgd")
    qtbot.waitUntil(lambda: len(app.debugger.branches) == 2, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: app.clock.config.lanes[0].optimizer == "signgd", timeout=WAIT_MS)
    wait_for_frame(qtbot, app)
    return old


def _standing(caption: str) -> str:
    """The caption's last part: the lanes from the leader down."""
    return caption.split(" · ")[-1]


def test_a_fork_keeps_the_lanes_history_in_the_key_and_the_caption_names_it_as_it_was(qtbot):
    app = open_app(qtbot)
    old = _fork_at(qtbot, app, 6, 12)
    new = app.clock.newest.lanes[0].label
    entry = app.views.lane_key.entries[0]
    assert entry.earlier == ((old, 6),)
    assert entry.text() == f"{old} → {new} (step 6)"
    standing = _standing(app.views.live_caption.text())
    assert "SGD" in standing and "SignGD" not in standing  # step 6's counts are SGD's
    app.intents.step(2)
    wait_for_step(qtbot, app, 8)
    wait_for_frame(qtbot, app)
    assert "SignGD" in _standing(app.views.live_caption.text())


def test_a_reopened_fork_keeps_the_lanes_history(qtbot, tmp_path):
    app = open_app(qtbot)
    old = _fork_at(qtbot, app, 6, 12)
    app.debugger.go_to(10)
    qtbot.waitUntil(lambda: app.clock.newest.step == 10 and not app.clock.playing, timeout=WAIT_MS)
    with qtbot.waitSignal(app.link.saved, timeout=WAIT_MS):
        app.sessions.save_to(tmp_path / "s")
    key = app.views.lane_key.plain_text()

    other = open_app(qtbot)
    with qtbot.waitSignal(other.link.saved, timeout=WAIT_MS):
        other.sessions.open_from(tmp_path / "s")
    qtbot.waitUntil(lambda: other.clock.newest.step == 10, timeout=WAIT_MS)
    wait_for_frame(qtbot, other)
    assert other.views.lane_key.plain_text() == key
    assert other.views.lane_key.entries[0].earlier == ((old, 6),)


def test_after_a_rewind_the_steps_beyond_the_engine_keep_their_later_names(qtbot):
    app = open_app(qtbot)
    old, new = _switched_at(qtbot, app, 6, 12)
    with qtbot.waitSignal(app.link.history_replaced, timeout=WAIT_MS):
        app.debugger.go_to(3)
    qtbot.waitUntil(lambda: app.clock.newest.step == 3, timeout=WAIT_MS)
    wait_for_frame(qtbot, app)
    assert app.views.lane_key.entries[0].text() == f"{old} → {new} (step 6)"
    capacity = app.views.capacity
    assert _hover(capacity, *_point(*capacity.recovered_data(0), 10)).startswith(f"{new}\nstep 10:")


def test_the_compared_branchs_columns_are_named_by_that_branchs_settings(qtbot):
    app = open_app(qtbot)
    old = _fork_at(qtbot, app, 6, 12)  # the original branch ran lane 0 as SGD throughout
    capacity = app.views.capacity
    qtbot.waitUntil(lambda: capacity.faded_data(0)[0].size > 0, timeout=WAIT_MS)
    wait_for_frame(qtbot, app)
    columns, _rows = capacity.data_table()
    branch = app.views.lane_key.note.removeprefix(
        "dotted, faint in ② and ④ (recovered): "
    )  # the branch as the key names it
    assert branch and f"recovered items: {old}, compared branch {branch}" in columns
    columns, _rows = app.views.series.data_table()
    assert any(name.endswith(f", compared branch {branch}") for name in columns)


def test_a_panel_drawn_alone_keeps_the_key_to_its_faint_curves(qtbot):
    """A picture of ④ after a fork drew the other branch faint with nothing saying what it was."""
    app = open_app(qtbot)
    _fork_at(qtbot, app, 6, 12)
    capacity = app.views.capacity
    qtbot.waitUntil(lambda: capacity.faded_data(0)[0].size > 0, timeout=WAIT_MS)
    wait_for_frame(qtbot, app)
    note = app.views.lane_key.note
    assert note.startswith("dotted, faint in ② and ④ (recovered): ")
    branch = note.removeprefix("dotted, faint in ② and ④ (recovered): ")
    with capacity.lane_legend(app.views.lane_key.legend_entries()):
        assert capacity.named_lanes[-1] == (None, f"dotted, faint: {branch}")  # the picture holds ④ alone
        assert len(capacity.named_lanes) == len(app.clock.config.lanes) + 1


def test_the_caption_names_one_lane_more_rather_than_counting_it_and_counts_two(qtbot):
    app = open_app(qtbot)  # four lanes, evaluated every 2 steps
    for lanes, step in ((5, 2), (6, 4)):
        app.intents.add_lane()
        qtbot.waitUntil(lambda n=lanes: len(app.clock.config.lanes) == n, timeout=WAIT_MS)
        app.intents.step(2)  # to the next evaluation: a lane is ranked once it has been evaluated
        wait_for_step(qtbot, app, step)
        wait_for_frame(qtbot, app)
        standing = _standing(app.views.live_caption.text()).split(", ")
        assert len(standing) == 5, standing  # the leader and four more, or three more and the rest's count
        if lanes == 5:  # "1 more lane" would take the room of the lane's name
            assert not any("more lane" in part for part in standing)
        else:  # the two left out rank between the lanes named and the last, which is named
            assert standing[-2] == "2\u00a0more\u00a0lanes"  # held on one line, as each lane's entry
            fewest = min(lane.recovered for lane in app.clock.newest.lanes)
            assert standing[-1].endswith(f"\u00a0{fewest}")


def test_a_lane_added_as_a_copy_is_told_apart_in_the_caption_by_its_index(qtbot):
    """Adding a lane copies the last lane: the caption named two lanes "Muon post … lr=0.3"."""
    app = open_app(qtbot)
    app.intents.add_lane()
    qtbot.waitUntil(lambda: len(app.clock.config.lanes) == 5, timeout=WAIT_MS)
    app.intents.step(2)
    wait_for_step(qtbot, app, 2)
    wait_for_frame(qtbot, app)
    caption = app.views.live_caption.text().replace("\xa0", " ")  # (names do not break inside)
    copied = app.clock.config.lanes[3].display_label()
    assert app.clock.config.lanes[4].display_label() == copied
    # a short name, numbered where nothing else tells the copy apart
    assert "Muon (post) (lane 3)" in caption and "Muon (post) (lane 4)" in caption, caption
    # and the key and every table name them as the caption does: the key listed two "Muon post … lr=0.3"
    apart = [f"{copied} (lane 3)", f"{copied} (lane 4)"]
    assert [entry.label for entry in app.views.lane_key.entries][3:] == apart
    for panel in (app.views.spectrum, app.views.series, app.views.capacity, app.views.class_error):
        columns = panel.data_table()[0]
        assert all(any(column.endswith(name) for column in columns) for name in apart), columns


def test_a_stream_fork_says_its_faint_curves_are_in_panel_two_alone(qtbot):
    """A spiked stream recovers no items: the key said "faint in ② and ④ (recovered)" beside an ④
    that draws nothing of either branch."""
    import dataclasses

    from muonscope.engine import TaskConfig
    from tests.app.helpers import small_preset

    preset = small_preset()
    stream = TaskConfig(kind="spiked", rows=12, cols=10, strengths=(5.0, 3.0), noise=1.0)
    app = open_app(qtbot, dataclasses.replace(preset, config=dataclasses.replace(preset.config, task=stream)))
    _fork_at(qtbot, app, 6, 12)
    qtbot.waitUntil(lambda: app.views.series.faded_data(0)[0].size > 0, timeout=WAIT_MS)
    wait_for_frame(qtbot, app)
    assert app.views.lane_key.note.startswith("dotted, faint in ②: ")
