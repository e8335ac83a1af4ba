"""A lane keeps its colour in every panel while it lives: removing another lane recolours nothing."""

import re

from muonscope.app.lane_colours import lane_slots
from muonscope.widgets.theme import LANE_COLOURS, palette_colour
from tests.app.helpers import WAIT_MS, open_app, wait_for_frame, wait_for_step


def _key_colours(app) -> list[str]:
    swatches = re.findall(r"<span style=\"color:(#[0-9A-Fa-f]{6})", app.views.lane_key.text())
    return [colour.lower() for colour in swatches]


def _curve_colours(app) -> set[str]:
    items = app.views.series.plot.listDataItems()
    return {item.opts["pen"].color().name() for item in items if item.isVisible() and item.opts["pen"]}


def test_removing_a_lane_leaves_the_others_in_their_colours(qtbot):
    """Removing Adam (lane 1) turned Muon pre from green to orange and Muon post from pink to green."""
    app = open_app(qtbot)
    app.intents.step(3)
    wait_for_step(qtbot, app, 3)
    wait_for_frame(qtbot, app)
    colours = [palette_colour(slot).lower() for slot in range(4)]
    assert _key_colours(app) == colours
    app.intents.remove_lane(1)
    qtbot.waitUntil(lambda: len(app.clock.config.lanes) == 3, timeout=WAIT_MS)
    wait_for_frame(qtbot, app)
    kept = [colours[0], colours[2], colours[3]]
    assert _key_colours(app) == kept
    assert [row.colour.lower() for row in app.views.lanes.rows] == kept
    assert _curve_colours(app) == set(kept)
    app.intents.add_lane()
    qtbot.waitUntil(lambda: len(app.clock.config.lanes) == 4, timeout=WAIT_MS)
    wait_for_frame(qtbot, app)
    added = _key_colours(app)[3]
    assert _key_colours(app)[:3] == kept and added not in kept  # a colour no other lane wears


def test_a_lane_keeps_its_slot_and_a_new_one_takes_a_free_slot():
    assert lane_slots((0, 1, 2, 3), {}) == {0: 0, 1: 1, 2: 2, 3: 3}
    assert lane_slots((0, 2, 3), {0: 0, 1: 1, 2: 2, 3: 3}) == {0: 0, 2: 2, 3: 3}
    assert lane_slots((0, 2, 3, 4), {0: 0, 2: 2, 3: 3}) == {0: 0, 2: 2, 3: 3, 4: 4}
    eight = {lane_id: lane_id % len(LANE_COLOURS) for lane_id in range(1, 9)}  # lane 8 took lane 0's slot
    after = lane_slots((1, 2, 4, 5, 6, 7, 8, 9), eight)  # lane 3 removed, lane 9 added
    assert after[9] == 3 and sorted(after.values()) == list(range(8))  # its own (1) is worn: the free one
