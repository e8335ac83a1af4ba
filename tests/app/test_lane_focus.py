"""A lane picked in the key (or View ▸ Lane in focus, or ``--view focus_lane``) stands out in every
panel: its items as drawn, every other lane's faint."""

import pytest
from PySide6 import QtCore, QtTest

from muonscope.app.cli import main
from muonscope.app.cli_parser import build_parser
from muonscope.app.offscreen import OffscreenWindow, plan_offscreen
from muonscope.app.view_settings import current_view
from muonscope.widgets.lane_focus import FADED_OPACITY, lane_of, set_focused_lane
from tests.app.helpers import WAIT_MS, open_app, wait_for_frame, wait_for_step

TINY = ["--set", "task.d=16", "--set", "task.n_items=64", "--set", "task.batch_size=16"]
PANELS = ("spectrum", "series", "class_error", "capacity")


@pytest.fixture(autouse=True)
def _no_focus_left_over():
    """The lane in focus is the window's, like its stage style: a test must not hand it on."""
    yield
    set_focused_lane(None)


def _opacities(panel) -> dict[int, set[float]]:
    """Each lane's item opacities in ``panel``, by lane position."""
    by_lane: dict[int, set[float]] = {}
    for item in panel.plot_widget.scene().items():
        lane = lane_of(item)
        if lane is not None:
            by_lane.setdefault(lane, set()).add(round(item.opacity(), 3))
    return by_lane


def _depths(panel) -> dict[int, list[float]]:
    by_lane: dict[int, list[float]] = {}
    for item in panel.plot_widget.scene().items():
        lane = lane_of(item)
        if lane is not None:
            by_lane.setdefault(lane, []).append(item.zValue())
    return by_lane


def _shown_as(views, focus: int | None, lanes: int = 4) -> None:
    """Each panel draws every lane, the lane in focus whole and above all the faint ones."""
    faded = round(FADED_OPACITY, 3)
    for name in PANELS:
        by_lane = _opacities(getattr(views, name))
        assert sorted(by_lane) == list(range(lanes)), name  # every lane has items in every panel
        for lane, opacities in by_lane.items():
            assert opacities == ({1.0} if focus in (None, lane) else {faded}), (name, lane)
        if focus is not None:
            depths = _depths(getattr(views, name))
            others = [z for lane, zs in depths.items() if lane != focus for z in zs]
            assert min(depths[focus]) > max(others), name  # later lanes no longer bury it


def _drawn(qtbot, steps: int = 4):
    app = open_app(qtbot)
    app.intents.step(steps)
    wait_for_step(qtbot, app, steps)
    wait_for_frame(qtbot, app)
    return app


def _click_first_lane(key) -> None:
    """A click on lane 0's swatch, the key's first characters."""
    inside = QtCore.QPoint(key.contentsMargins().left() + 8, key.fontMetrics().height() // 2)
    QtTest.QTest.mouseClick(key, QtCore.Qt.MouseButton.LeftButton, pos=inside)


def test_a_click_on_a_lane_in_the_key_fades_the_others_everywhere_and_a_second_click_restores_them(qtbot):
    app = _drawn(qtbot)
    key = app.views.lane_key
    _shown_as(app.views, None)
    with qtbot.waitSignal(key.focus_changed, timeout=WAIT_MS) as told:
        _click_first_lane(key)
    assert told.args == [0] and key.focus == 0
    _shown_as(app.views, 0)
    assert app.window.stage.hasFocus()  # the keys are still the plots': Space plays
    with qtbot.waitSignal(key.focus_changed, timeout=WAIT_MS) as told:
        _click_first_lane(key)
    assert told.args == [None]
    _shown_as(app.views, None)


def test_the_one_lane_views_draw_the_lane_in_focus(qtbot):
    """① and ③ over the steps kept drawing lane 0 while the key put lane 3 in focus."""
    app = _drawn(qtbot)
    app.views.lane_key.set_focus(3)
    assert (app.views.spectrum.heat_lane(), app.views.class_error.heat_lane()) == (3, 3)
    app.views.lane_key.set_focus(None)  # no lane in focus: they stay where they were
    assert (app.views.spectrum.heat_lane(), app.views.class_error.heat_lane()) == (3, 3)


def test_an_exported_panels_legend_names_the_lane_in_focus_and_fades_the_others(qtbot):
    from muonscope.widgets.lane_legend_item import lane_legend_item

    app = _drawn(qtbot)
    app.views.lane_key.set_focus(1)
    entries = app.views.lane_key.legend_entries()
    assert [text.endswith(" (in focus)") for _, text in entries] == [False, True, False, False]
    legend = lane_legend_item(tuple(entries), 600)
    alphas = [round(sample.item.opts["pen"].color().alphaF(), 2) for sample, _label in legend.items]
    assert alphas == [round(FADED_OPACITY, 2), 1.0, round(FADED_OPACITY, 2), round(FADED_OPACITY, 2)]


def test_curves_made_after_the_focus_take_it(qtbot):
    """A theme re-creates every curve (their pens follow it): the new ones are faded as the old were."""
    app = _drawn(qtbot)
    app.views.lane_key.set_focus(1)
    app.presentation.set_theme("dark")
    app.intents.step(2)
    wait_for_step(qtbot, app, 6)
    wait_for_frame(qtbot, app)
    _shown_as(app.views, 1)


def test_the_focus_stays_on_its_lane_when_a_lane_before_it_goes_and_leaves_with_it(qtbot):
    app = _drawn(qtbot)
    key = app.views.lane_key
    key.set_focus(2)
    focused = key.entries[2].label
    app.intents.remove_lane(0)
    qtbot.waitUntil(lambda: len(key.entries) == 3, timeout=WAIT_MS)
    wait_for_frame(qtbot, app)
    assert key.focus == 1 and key.entries[1].label == focused
    _shown_as(app.views, 1, lanes=3)
    app.intents.remove_lane(1)
    qtbot.waitUntil(lambda: len(key.entries) == 2, timeout=WAIT_MS)
    wait_for_frame(qtbot, app)
    assert key.focus is None
    _shown_as(app.views, None, lanes=2)


def test_the_view_menu_offers_each_lane_and_none_with_the_focus_ticked(qtbot):
    app = _drawn(qtbot)
    view = app.window.menu("View")
    (menu,) = [action.menu() for action in view.actions() if action.text() == "Lane in focus"]
    menu.aboutToShow.emit()
    actions = menu.actions()
    named = [action.text().split(" · ")[0] for action in actions]
    assert named == ["None: every lane alike", "0", "1", "2", "3"]
    assert actions[0].isChecked()
    actions[4].trigger()
    assert app.views.lane_key.focus == 3
    _shown_as(app.views, 3)
    menu.aboutToShow.emit()
    assert [action.isChecked() for action in menu.actions()] == [False, False, False, False, True]
    menu.actions()[0].trigger()
    assert app.views.lane_key.focus is None


def test_a_heat_maps_lane_named_in_a_view_wins_over_the_focus_and_one_left_out_follows_it(tmp_path):
    views = ["--view", "focus_lane=3", "--view", "spectrum_lane=1"]
    args = ["shot", *TINY, "--steps", "2", *views, "--out", str(tmp_path / "x.png")]
    with OffscreenWindow(plan_offscreen(build_parser().parse_args(args), (800, 500))) as offscreen:
        offscreen.open()
        shown = offscreen.app.views
        assert (shown.spectrum.heat_lane(), shown.class_error.heat_lane()) == (1, 3)


def test_a_shot_opens_with_the_lane_its_view_puts_in_focus_and_a_session_keeps_it(tmp_path):
    args = ["shot", *TINY, "--steps", "2", "--view", "focus_lane=3", "--out", str(tmp_path / "x.png")]
    with OffscreenWindow(plan_offscreen(build_parser().parse_args(args), (800, 500))) as offscreen:
        offscreen.open()
        views = offscreen.app.views
        assert views.lane_key.focus == 3 and current_view(views)["focus_lane"] == 3
        _shown_as(views, 3)
    config = tmp_path / "c.toml"
    lanes = '[[lanes]]\noptimizer = "sgd"\n[[lanes]]\noptimizer = "muon"\n'
    config.write_text(f"[task]\nd = 16\nn_items = 64\nbatch_size = 16\n{lanes}[view]\nfocus_lane = 1\n")
    assert main(["run", "--config", str(config), "--steps", "2", "--save", str(tmp_path / "s")]) == 0
    resumed = ["shot", "--resume", str(tmp_path / "s"), "--out", str(tmp_path / "y.png")]
    with OffscreenWindow(plan_offscreen(build_parser().parse_args(resumed), (800, 500))) as offscreen:
        offscreen.open()
        shown = offscreen.app.views
        assert shown.lane_key.focus == 1
        assert (shown.spectrum.heat_lane(), shown.class_error.heat_lane()) == (1, 1)  # unnamed: they follow


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("4", 'view.focus_lane = 4 is not allowed: must be a lane\'s number, 0 to 3 or "none": the run'),
        ("all", "view.focus_lane = 'all' is not allowed: must be a lane's number, 0 to 3 or \"none\""),
    ],
)
def test_a_focus_on_a_lane_the_run_lacks_is_refused_in_one_line(capsys, tmp_path, value, says):
    assert main(["shot", *TINY, "--view", f"focus_lane={value}", "--out", str(tmp_path / "x.png")]) == 2
    err = capsys.readouterr().err.strip()
    assert says in err and len(err.splitlines()) == 1 and not (tmp_path / "x.png").exists()
