"""Presentation mode and the captions written from the live state."""

import html
from dataclasses import replace

import pytest
from PySide6 import QtCore, QtWidgets

from muonscope.app.live_caption import count_text
from muonscope.app.presentation import fitting_scale
from muonscope.app.preset_drift import preset_drift
from muonscope.app.views import preset_entries
from muonscope.engine.config import LaneConfig
from muonscope.engine.presets import load_preset
from muonscope.widgets.axis_style import TICK_PT
from muonscope.widgets.number_text import number_text
from muonscope.widgets.theme import StageStyle, stage_style
from tests.app.helpers import WAIT_MS, open_app, small_preset, wait_for_frame, wait_for_step


def _spectrum_pen_width(app) -> float:
    curve = next(item for item in app.views.spectrum.plot.listDataItems() if item.isVisible())
    return curve.opts["pen"].widthF()


def test_presentation_hides_the_chrome_scales_the_stage_and_comes_back(qtbot):
    app = open_app(qtbot)
    window, views = app.window, app.views
    wait_for_frame(qtbot, app)
    desk_width = _spectrum_pen_width(app)
    views.transport.presentation_action.trigger()  # the toolbar button (F11)
    assert app.presentation.active
    for chrome in (window.menuBar(), window.statusBar(), views.transport, window.controls_dock):
        assert chrome.isHidden()
    assert views.lane_key.isVisible() and views.live_caption.isVisible() and views.timeline.isVisible()
    wait_for_frame(qtbot, app)
    scale = app.presentation.style.scale
    assert scale > 1 and stage_style() == app.presentation.style
    assert _spectrum_pen_width(app) == pytest.approx(desk_width * scale)
    tick_font = views.spectrum.plot.getAxis("left").style["tickFont"]
    assert tick_font.pointSizeF() == pytest.approx(TICK_PT * scale)
    # the hidden toolbar's shortcuts still work: the window carries its actions
    assert views.transport.play_action in window.actions()
    assert views.transport.presentation_action in window.actions()
    views.transport.presentation_action.trigger()  # F11 again leaves
    assert not app.presentation.active and stage_style() == StageStyle()
    for chrome in (window.menuBar(), window.statusBar(), views.transport, window.controls_dock):
        assert not chrome.isHidden()
    assert views.transport.play_action not in window.actions()


def _desk_look(app) -> dict:
    """What leaving the stage must give back as it was: fonts, ticks, header boxes, plot sizes."""
    views = app.views
    look = {"caption_pt": views.live_caption.font().pointSizeF()}
    for panel in (views.spectrum, views.series, views.class_error, views.capacity):
        axis = panel.plot.getAxis("left")
        look[panel.title] = (
            panel.font().pointSizeF(),
            axis.style["tickFont"].pointSizeF() if axis.style["tickFont"] else None,
            axis.style["tickLength"],
            axis.labelStyle.get("font-size"),
            panel.shown_modes,
            panel.plot.getViewBox().size().toTuple(),
        )
    return look


@pytest.mark.parametrize("size", [(1280, 720), (1920, 1080)])
def test_leaving_the_stage_gives_the_window_back_as_it_was(qtbot, size):
    """Panel titles came back at 9.5 pt from 9, ticks at 8 pt from Qt's 9 and pointing inwards: notes
    wrapped anew, ④'s box read "recovered vs s…" and ①'s top tick was cut."""
    app = open_app(qtbot)
    app.window.resize(*size)
    wait_for_frame(qtbot, app)
    # pyqtgraph shrinks an axis's room for tick labels only by more than 10 px at a time: a desk
    # axis may keep room its longest labels once took, which the stage's fresh fonts measure anew
    axis = app.views.series.plot.getAxis("left")
    width, height = axis.text_room
    axis.set_text_room((width + 8, height))
    box = app.views.series.plot.getViewBox()
    qtbot.waitUntil(lambda: box.width() < app.views.series.plot.width() - width - 8, timeout=5000)
    wait_for_frame(qtbot, app)
    before = _desk_look(app)
    app.presentation.set_active(True)
    wait_for_frame(qtbot, app)
    app.presentation.set_active(False)
    wait_for_frame(qtbot, app)
    qtbot.waitUntil(lambda: _desk_look(app) == before, timeout=5000)


def test_scale_and_theme_apply_while_presenting(qtbot):
    app = open_app(qtbot)
    app.window.resize(2560, 1440)  # room for 3×
    app.presentation.set_active(True)
    app.presentation.set_scale(3.0)
    app.presentation.set_theme("dark")
    wait_for_frame(qtbot, app)
    assert stage_style() == StageStyle(3.0, "dark")
    background = app.views.series.plot_widget.backgroundBrush().color().name()
    assert background == StageStyle(3.0, "dark").colours.background.lower()
    assert _spectrum_pen_width(app) == pytest.approx(1.8 * 3.0)
    with pytest.raises(ValueError, match="scale"):
        app.presentation.set_scale(4.0)
    app.window.close()  # closing in presentation mode leaves the desk style for the next window
    assert stage_style() == StageStyle()


def test_a_message_on_the_stage_is_as_large_as_the_stage(qtbot):
    """The "reached the run's N steps" banner stayed at the desk's size on a 3× stage."""
    app = open_app(qtbot)
    label = app.views.message.label
    desk_pt = label.font().pointSizeF()
    app.window.resize(2560, 1440)  # room for 3×
    app.views.message.show_message("Reached the run's 15 steps and paused; press play to go on.", "info")
    app.presentation.set_active(True)
    app.presentation.set_scale(3.0)
    assert label.font().pointSizeF() == pytest.approx(3 * desk_pt)
    app.presentation.set_active(False)
    assert label.font().pointSizeF() == pytest.approx(desk_pt)


def test_live_caption_names_the_step_the_last_change_and_the_leader(qtbot):
    app = open_app(qtbot)
    app.intents.step(2)
    wait_for_step(qtbot, app, 2)
    app.intents.change("task.label_noise", 0.2)
    qtbot.waitUntil(lambda: app.clock.config.task.label_noise == 0.2, timeout=20_000)
    app.intents.step(2)
    wait_for_step(qtbot, app, 4)
    wait_for_frame(qtbot, app)
    text = app.views.live_caption.text()
    assert text.startswith("step 4 · label noise 0 → 0.2 at step 2 · ")
    lanes = app.clock.newest.lanes
    best = max(lane.recovered for lane in lanes)
    assert f"recovers {best} items" in text


def test_live_caption_names_every_change_made_at_the_step_of_the_last(qtbot):
    """With label noise and a learning rate changed at one step, the caption named only the second."""
    app = open_app(qtbot)
    app.intents.step(2)
    wait_for_step(qtbot, app, 2)
    app.intents.change("task.label_noise", 0.2)
    app.intents.change("lanes[0].lr", 0.25)
    qtbot.waitUntil(lambda: app.clock.config.lanes[0].lr == 0.25, timeout=20_000)
    app.intents.step(1)
    wait_for_step(qtbot, app, 3)
    wait_for_frame(qtbot, app)
    events = app.clock.newest.events
    assert [event.step for event in events] == [2, 2]
    text = app.views.live_caption.text()
    assert f" · {events[0].text} and {events[1].text} at step 2 · " in text, text
    for lane, lr in enumerate((0.3, 0.35, 0.4)):  # three more: two named, one counted, one line
        app.intents.change(f"lanes[{lane}].lr", lr)
    qtbot.waitUntil(lambda: app.clock.config.lanes[2].lr == 0.4, timeout=20_000)
    app.intents.step(1)
    wait_for_step(qtbot, app, 4)
    wait_for_frame(qtbot, app)
    events = app.clock.newest.events[2:]
    text = app.views.live_caption.text()
    assert f" · {events[0].text}, {events[1].text} and 1 more change at step 3 · " in text, text


def test_between_evaluations_the_caption_says_which_step_its_counts_are_of(qtbot):
    app = open_app(qtbot)  # evaluated every 2 steps
    for step, evaluated in ((3, 2), (4, 4)):
        app.intents.step(1 if step == 4 else 3)
        wait_for_step(qtbot, app, step)
        wait_for_frame(qtbot, app)
        text = app.views.live_caption.text()
        assert text.startswith(f"step {step} · ")
        assert (f" · as evaluated at step {evaluated}: " in text) == (evaluated != step), text
        assert "recovers" in text


def test_a_sampled_population_reads_as_an_estimate_wherever_counts_appear(qtbot):
    """N above run.exact_eval_items: the caption, panel ④'s axis and panel ③'s rank axis say so."""
    preset = small_preset()
    config = preset.config.with_values([("task.n_items", 600), ("run.exact_eval_items", 128)])
    app = open_app(qtbot, replace(preset, config=config))
    app.intents.step(2)
    wait_for_step(qtbot, app, 2)
    wait_for_frame(qtbot, app)
    lanes = app.clock.newest.lanes
    assert all(lane.eval_step == 2 and lane.eval_sampled_items == 128 for lane in lanes)
    text = app.views.live_caption.text()
    best = max(lanes, key=lambda lane: lane.recovered)
    assert f"recovers {count_text(best.recovered, best.recovered_se, True)} items" in text
    assert text.endswith("(estimate from 128 sampled items)") and "≈" in text
    assert app.views.capacity.plot.getAxis("left").labelText.startswith("≈ items recovered")
    assert app.views.class_error.plot.getAxis("bottom").labelText.endswith("· 128 sampled")
    app.views.series.set_mode("metric", "alignment")  # needs the population gradient, not computed here
    wait_for_frame(qtbot, app)
    assert "Raise run.exact_eval_items to N" in app.views.series.empty_text


@pytest.mark.parametrize(
    ("count", "error", "text"),
    [
        (6903.4, 118.2, "≈ 6900 ± 120"),
        (42.47, 2.37, "≈ 42 ± 2.4"),
        (12.0, 0.0, "≈ 12 ± 0"),  # a sample without spread: the header's "± one standard error" holds
        (61234, 1234, "≈ 61200 ± 1200"),
    ],
)
def test_an_estimated_count_is_rounded_to_its_error(count, error, text):
    assert count_text(count, error, True) == text
    assert count_text(690, 0.0, False) == "690"


def test_preset_caption_says_when_the_settings_left_it(qtbot):
    preset = small_preset()
    assert preset_drift(preset.config, preset.config) == []
    moved = preset.config.with_value("task.d", 32).with_value("lanes[1].lr", 0.01)
    assert preset_drift(preset.config, moved) == ["d 16 → 32", "lane 1 lr 0.05 → 0.01"]
    assert preset_drift(preset.config, preset.config.with_value("task.n_items", 48)) == ["N 64 → 48"]
    # the description quotes what the preset measured on its seed ("here, on seed 0, it passes …")
    assert preset_drift(preset.config, preset.config.with_value("task.seed", 3)) == ["seed 0 → 3"]
    # a lane changed in more than two settings is said before and after ("lane 0 settings" said nothing)
    became = LaneConfig(optimizer="muon", lr=0.05, momentum=0.95, order="pre")
    swapped = replace(preset.config, lanes=(became, *preset.config.lanes[1:]))
    before = preset.config.lanes[0].display_label()
    assert preset_drift(preset.config, swapped) == [f"lane 0 {before} → {became.display_label()}"]
    # a name that went with a setting is not a change of its own
    named = preset.config.with_value("lanes[1].label", "mine")
    assert preset_drift(named, named.with_values([("lanes[1].lr", 0.01), ("lanes[1].label", "")])) == [
        "lane 1 lr 0.05 → 0.01"
    ]
    # another task: its fields are not the preset's to compare, but the precision and lanes are
    spiked = preset.config.with_values(
        [("task.kind", "spiked"), ("run.dtype", "float32"), ("lanes[1].lr", 0.01)]
    )
    expected = ["task zipf → spiked", "dtype auto → float32", "lane 1 lr 0.05 → 0.01"]
    assert preset_drift(preset.config, spiked) == expected
    app = open_app(qtbot, preset)
    assert "differ" not in app.views.caption.text()
    app.intents.restart_with({"d": 24})
    qtbot.waitUntil(lambda: app.clock.config.task.d == 24, timeout=20_000)
    qtbot.waitUntil(lambda: "d 16 → 24" in app.views.caption.text(), timeout=20_000)


def test_the_preset_caption_names_changed_lanes_around_a_lane_added_or_removed():
    """After "+ add lane" the caption said only "lanes 4 → 5", dropping lane 0's new lr; after a
    lane was removed, every lane after it read as changed."""
    from dataclasses import replace

    from muonscope.app.preset_drift import lane_drift
    from muonscope.engine.config import LaneConfig

    lanes = (
        LaneConfig(optimizer="sgd", lr=0.5, momentum=0.0),
        LaneConfig(optimizer="adam", lr=0.01, momentum=0.9),
        LaneConfig(optimizer="muon", lr=0.1, momentum=0.9, order="pre"),
    )
    faster = replace(lanes[0], lr=0.9)
    added = (faster, *lanes[1:], lanes[2])  # lane 0 changed, and the last lane copied
    assert lane_drift(lanes, added) == ["lane 0 lr 0.5 → 0.9", f"lane 3 added ({lanes[2].display_label()})"]
    removed = (lanes[0], lanes[2])
    assert lane_drift(lanes, removed) == [f"{lanes[1].display_label()} removed"]
    assert lane_drift(lanes, lanes) == []
    like_the_next = (lanes[0], lanes[2], lanes[2])  # lane 1 given lane 2's settings: still three lanes
    # named as the lane key and the markers name them
    assert lane_drift(lanes, like_the_next) == ["lane 1 optimizer Adam → Muon, lr 0.01 → 0.1"]
    calmer = (lanes[0], replace(lanes[1], momentum=0.5), lanes[2])
    # Adam's momentum is its β₁, as its box is labelled; SGD's and Muon's are "momentum"
    assert lane_drift(lanes, calmer) == ["lane 1 β₁ 0.9 → 0.5"]
    assert lane_drift(lanes, (replace(lanes[0], momentum=0.5), *lanes[1:])) == ["lane 0 momentum 0 → 0.5"]


def test_presentation_survives_a_preset_change_and_keeps_the_window_size(qtbot):
    """Offscreen (shot, record) the window keeps the size it was given."""
    app = open_app(qtbot)
    size = app.window.size()
    app.presentation.set_active(True)
    QtWidgets.QApplication.processEvents()  # a resize it caused would be handled by now
    assert app.window.size() == size
    app.intents.run_preset(small_preset())
    wait_for_step(qtbot, app, 0)
    wait_for_frame(qtbot, app)
    assert app.presentation.active and app.views.transport.isHidden()
    assert QtCore.QSize(app.window.size()) == size
    note = app.views.passing_note
    assert note.isVisible() and note.text() == f"preset: {small_preset().title}"  # the stage shows no title
    app.presentation.set_active(False)
    assert not note.isVisible()  # what happened on the stage does not stay over the desk


def test_a_long_description_folds_to_its_first_sentence_on_a_short_window(qtbot):
    preset = replace(small_preset(), caption="First sentence here. Second one follows.")
    app = open_app(qtbot, preset)
    app.window.resize(1280, 720)
    app.window.show_preset(preset)
    caption = app.views.caption
    assert "First sentence here." in caption.text() and "Second one" not in caption.text()
    caption.linkActivated.emit("more")
    assert "Second one follows." in caption.text()
    caption.linkActivated.emit("less")
    assert "Second one" not in caption.text()


def test_the_description_folds_and_unfolds_as_the_window_is_resized_until_the_user_chooses(qtbot):
    """Opened at 1920×1080 and shrunk to 1280×720, it stayed unfolded over squeezed plots."""
    preset = replace(small_preset(), caption="First sentence here. Second one follows.")
    app = open_app(qtbot, preset)
    caption = app.views.caption
    app.window.resize(1920, 1080)
    qtbot.waitUntil(lambda: "Second one follows." in caption.text(), timeout=WAIT_MS)
    app.window.resize(1280, 720)
    qtbot.waitUntil(lambda: "Second one" not in caption.text(), timeout=WAIT_MS)
    caption.linkActivated.emit("more")  # chosen: it stays so, whatever the height
    app.window.resize(1280, 700)
    app.window.resize(1920, 1080)
    app.window.resize(1280, 720)
    assert "Second one follows." in caption.text()


def test_a_description_folded_by_a_shorter_window_gives_back_the_height_it_took_unfolded(qtbot):
    """Opened at 1400×900 and shrunk to 1280×720, the default preset's description folded to two
    lines and kept the height of its five: blank bands above and below it, over squeezed plots."""
    long_rest = " ".join(["The rest of the description goes on for several lines."] * 8)
    preset = replace(small_preset(), caption=f"First sentence here. {long_rest}")
    app = open_app(qtbot, preset)
    caption = app.views.caption
    app.window.resize(1400, 900)
    qtbot.waitUntil(lambda: "The rest" in caption.text(), timeout=WAIT_MS)
    wait_for_frame(qtbot, app)
    unfolded_px = caption.height()
    app.window.resize(1280, 720)
    qtbot.waitUntil(lambda: "The rest" not in caption.text(), timeout=WAIT_MS)
    wait_for_frame(qtbot, app)
    needed_px = QtWidgets.QLabel.heightForWidth(caption, caption.width())  # the text's own height
    qtbot.waitUntil(lambda: caption.height() == needed_px, timeout=WAIT_MS)
    assert caption.height() < unfolded_px


def test_a_description_shows_its_commands_in_a_fixed_width_font_without_backticks(qtbot):
    """ "`muonscope reproduce noisy_scaling`" showed its Markdown backticks as if they were typed."""
    command = "muonscope reproduce x"
    preset = replace(small_preset(), caption=f"First sentence here. Then `{command}` draws it <all>.")
    app = open_app(qtbot, preset)
    app.window.show_preset(preset)
    caption = app.views.caption
    caption.linkActivated.emit("more")
    assert f"<code>{command}</code>" in caption.text() and "`" not in caption.text()
    assert "&lt;all&gt;" in caption.text()  # the rest is still text, not markup


def test_a_folded_description_ends_at_a_sentence_not_at_an_abbreviation():
    """The multi-step preset folded to "Exploratory: Kim et al." and a "more" link."""
    from muonscope.app.main_window import split_first_sentence
    from muonscope.engine.presets import load_preset, preset_names

    assert split_first_sentence("Kim et al. conjecture a law. It holds.") == (
        "Kim et al. conjecture a law",
        "It holds.",
    )
    assert split_first_sentence("One sentence only.") == ("One sentence only.", "")
    for name in preset_names():
        first, _rest = split_first_sentence(" ".join(load_preset(name).caption.split()))
        assert len(first.split()) >= 4 and not first.endswith(("al", "e.g", "i.e")), (name, first)


def test_at_1280_px_the_toolbar_keeps_record_and_present_in_view(qtbot):
    app = open_app(qtbot)
    app.window.resize(1280, 720)
    transport = app.views.transport
    for action in (transport.record_action, transport.presentation_action):
        qtbot.waitUntil(lambda a=action: transport.widgetForAction(a).isVisible(), timeout=5000)


def test_leaving_presentation_gives_the_window_back_its_size(qtbot):
    """Larger fonts may widen the window past a small screen while presenting; leaving restores it."""
    app = open_app(qtbot)
    app.window.resize(1280, 720)
    app.presentation.set_active(True)
    app.window.resize(1587, 720)  # as a window manager-less screen let it grow
    app.presentation.set_active(False)
    assert app.window.size() == QtCore.QSize(1280, 720)


def test_on_the_stage_a_mode_box_shows_its_option_whole_and_in_the_theme(qtbot):
    app = open_app(qtbot)
    combo = app.views.series.modes["metric"]
    combo.setCurrentIndex(combo.findText("spectral gap", QtCore.Qt.MatchFlag.MatchStartsWith))
    text_px = combo.fontMetrics().horizontalAdvance(combo.currentText())
    # beside the controls: whole where the header has room, giving way (elided) to keep the window narrow
    assert combo.minimumSizeHint().width() < text_px <= combo.sizeHint().width()
    app.presentation.set_theme("dark")
    app.presentation.set_active(True)
    text_px = combo.fontMetrics().horizontalAdvance(combo.currentText())  # at the stage's font size
    assert combo.minimumSizeHint().width() < text_px <= combo.sizeHint().width()
    dark = StageStyle(app.presentation.style.scale, "dark").colours
    assert combo.palette().color(combo.palette().ColorRole.Button).name() == dark.background.lower()
    assert combo.palette().color(combo.palette().ColorRole.ButtonText).name() == dark.foreground.lower()
    app.presentation.set_active(False)
    assert combo.minimumSizeHint().width() < combo.fontMetrics().horizontalAdvance(combo.currentText())


def test_a_long_live_caption_wraps_instead_of_widening_the_window(qtbot):
    """After a few changes the caption runs long; at 1280 px it once pushed the window to 1801."""
    app = open_app(qtbot)
    app.window.resize(1280, 720)
    change = "optimizer SGD → SignGD, lr 128 → 0.01, buffer sum → ema"
    changes = " · ".join(f"lane {i} {change}" for i in range(4))
    app.window.show_live_caption(f"step 640 · {changes} at step 581 · Muon (pre) recovers 690 items")
    qtbot.waitUntil(lambda: app.views.live_caption.text().startswith("step 640"), timeout=2000)
    QtWidgets.QApplication.processEvents()
    assert app.window.width() == 1280 and app.window.minimumSizeHint().width() <= 1280


def test_at_3x_the_stage_stays_within_a_1280_px_window(qtbot):
    """The spectra panel's title with its style key once pushed the window to 1344 px at 3×."""
    app = open_app(qtbot)
    app.window.resize(1280, 720)
    app.presentation.set_active(True)
    app.presentation.set_scale(3.0)
    app.window.resize(1280, 720)
    app.intents.step(2)
    wait_for_step(qtbot, app, 2)
    wait_for_frame(qtbot, app)
    assert app.window.minimumSizeHint().width() <= 1280 and app.window.width() == 1280
    assert app.views.spectrum.style_key.text == "solid: G, dashed: M"


def test_a_scale_the_window_cannot_hold_is_drawn_smaller_and_the_menu_says_so(qtbot):
    """At 3× in a 1280×720 window the plots were left some 30 pixels tall; at 2×, some 100."""
    app = open_app(qtbot)
    app.window.resize(1280, 720)
    app.presentation.set_scale(3.0)  # chosen at the desk, where the menu is: it says so at once
    assert "3× (1.5× fits this window)" in app.presentation.scale_texts
    app.presentation.set_active(True)
    assert stage_style().scale == 1.5 and app.presentation.style.scale == 3.0
    assert "3× (1.5× fits this window)" in app.presentation.scale_texts
    wait_for_frame(qtbot, app)
    axis = app.views.spectrum.plot.getAxis("left")
    assert axis.geometry().height() > 150  # the plot keeps its room
    app.window.resize(1920, 1080)  # a larger screen: more of the chosen scale fits
    qtbot.waitUntil(lambda: stage_style().scale == 2.0, timeout=5000)
    assert "3× (2× fits this window)" in app.presentation.scale_texts
    app.window.resize(2560, 1440)  # larger still: all of it
    qtbot.waitUntil(lambda: stage_style().scale == 3.0, timeout=5000)
    assert "3×" in app.presentation.scale_texts and not any("fits" in t for t in app.presentation.scale_texts)
    app.window.resize(1280, 720)
    qtbot.waitUntil(lambda: stage_style().scale == 1.5, timeout=5000)
    app.presentation.set_active(False)
    assert stage_style() == StageStyle()


def test_the_stage_keys_say_what_they_did_for_a_moment(qtbot):
    """On the stage, where the menus are hidden, Ctrl+= at the most a window holds changed nothing
    and said nothing: a missed key and a full window looked alike."""
    app = open_app(qtbot)
    app.window.resize(1280, 720)
    app.presentation.set_active(True)
    note = app.views.passing_note
    larger, smaller, theme = app.presentation.stage_key_actions
    assert not note.isVisible()
    larger.trigger()  # 1.5× → 2×: this window holds 1.5×
    assert note.isVisible() and note.text() == "presentation scale 2× · this window holds 1.5×"
    stage = app.window.stage.geometry()
    assert note.geometry().width() < stage.width() and note.geometry().top() < stage.height() // 4
    app.window.resize(1920, 1080)
    QtWidgets.QApplication.processEvents()
    larger.trigger()  # 2× → 2.5×: in larger type the line was held to 560 px and lost both its ends
    assert note.text().startswith("presentation scale 2.5× · this window holds")
    qtbot.waitUntil(lambda: note.width() >= note.sizeHint().width(), timeout=WAIT_MS)
    smaller.trigger()  # back to 2×, and to 1280 × 720, for what follows
    app.window.resize(1280, 720)
    theme.trigger()
    assert note.text() == "presentation theme: dark"
    qtbot.waitUntil(lambda: not note.isVisible(), timeout=20_000)  # it goes by itself
    app.window.resize(2560, 1440)
    qtbot.waitUntil(lambda: stage_style().scale == 2.0, timeout=5000)
    while app.presentation.style.scale < 3.0:
        larger.trigger()
    assert note.text() == "presentation scale 3× · the largest"
    app.window.resize(1280, 720)
    qtbot.waitUntil(lambda: stage_style().scale == 1.5, timeout=5000)
    larger.trigger()  # at the end of the list, in a window that holds less: both said
    assert note.text() == "presentation scale 3× · the largest · this window holds 1.5×"


@pytest.mark.parametrize(
    ("size", "scale"),
    [((1280, 720), 1.5), ((1920, 1080), 2.0), ((2560, 1440), 3.0), ((1024, 768), 1.0), ((640, 360), 1.0)],
)
def test_the_scale_a_window_holds(size, scale):
    assert fitting_scale(*size) == scale


def _cut_texts(app) -> list[str]:
    """Every axis title, panel title and mode box on the stage that is drawn cut with "…"."""
    views = app.views
    cut = []
    for panel in (views.spectrum, views.series, views.class_error, views.capacity):
        texts = [panel.shown_title] + [panel.modes[name].shown_text for name in panel.shown_modes]
        for side in ("left", "bottom", "right"):
            axis = panel.plot.getAxis(side)
            if axis.isVisible() and axis.labelText:
                texts.append(axis.shown_title)
        cut += [text for text in texts if text.endswith("…")]
    return cut


@pytest.mark.parametrize("size", [(1280, 720), (1920, 1080)])
def test_at_the_scale_a_window_holds_nothing_on_the_stage_is_cut(qtbot, size):
    """At 1.5× in 1280×720 the axes read "singular valu…", "recove…" and "accura…", and ③'s header
    "error vs r…" beside two greyed boxes that do not apply to its view."""
    app = open_app(qtbot)
    app.window.resize(*size)
    app.presentation.set_scale(3.0)  # drawn at what fits
    app.presentation.set_active(True)
    app.intents.step(4)
    wait_for_step(qtbot, app, 4)
    wait_for_frame(qtbot, app)
    QtWidgets.QApplication.processEvents()
    assert stage_style().scale == fitting_scale(*size)
    assert _cut_texts(app) == []
    for panel in (app.views.spectrum, app.views.series, app.views.class_error, app.views.capacity):
        assert panel.plot.getViewBox().height() > 150
    app.views.spectrum.set_mode("view", "gradient+momentum+signal")  # the widest key and box
    app.views.class_error.set_mode("view", "recovery")
    QtWidgets.QApplication.processEvents()
    assert _cut_texts(app) == []
    keys = {panel: panel.style_key for panel in (app.views.spectrum, app.views.capacity)}
    assert keys[app.views.spectrum].text == "solid: G, dashed: M, dotted: G_sig"
    assert keys[app.views.capacity].text == "solid with dots: recovered, dashed with rings: accuracy"
    for key in keys.values():
        assert key.isVisible() and key.width() >= key.sizeHint().width()  # drawn whole
    class_error = app.views.class_error
    class_error.set_mode("view", "curves")
    assert class_error.shown_modes == ("view",)  # "error vs rank": the heat map's boxes are left out
    class_error.set_mode("view", "heatmap")
    assert set(class_error.shown_modes) == set(class_error.modes)  # they apply now, and show
    app.presentation.set_active(False)
    class_error.set_mode("view", "curves")
    # at the desk they show, greyed, where the header has room for every box (at 1920×1080); where
    # it is short they give way first, and the box that applies is never cut for them
    if size[0] >= 1920:
        qtbot.waitUntil(lambda: set(class_error.shown_modes) == set(class_error.modes), timeout=5000)
    view = class_error.modes["view"]
    qtbot.waitUntil(lambda: view.shown_text == view.currentText(), timeout=5000)


def test_a_stream_without_classes_ranks_its_lanes_by_alignment_not_a_missing_loss():
    """The spiked stream has no population loss: its caption read "ema loss nan, … nan"."""
    from muonscope.app.live_caption import live_caption
    from muonscope.engine import Experiment, ExperimentConfig, LaneConfig, RunConfig, TaskConfig
    from muonscope.engine.scalar_metrics import read_value

    task = TaskConfig(kind="spiked", rows=12, cols=10, strengths=(5.0, 3.0), noise=1.0)
    lanes = (LaneConfig(optimizer="sgd", lr=0.01, momentum=0.5), LaneConfig(optimizer="muon", lr=0.05))
    experiment = Experiment(ExperimentConfig(task=task, lanes=lanes, run=RunConfig(eval_every=1)))
    assert live_caption(experiment.snapshot()) == "step 0"  # nothing measured yet: no "nan"
    experiment.step(5)
    snapshot = experiment.snapshot()
    text = live_caption(snapshot)
    sgd, muon = (read_value(lane, "alignment") for lane in snapshot.lanes)
    # Muon's alignment is bounded by 1 and ranks; SGD's grows with its scale and is set apart
    assert "nan" not in text and f"alignment\u00a0{number_text(muon)}" in text  # held on one line
    # "Muon (pre)" ends in a bracket: every lane takes a colon, so no two entries read differently
    assert text.endswith(f"; not normalised: SGD:\u00a0{number_text(sgd)}"), text
    only_sgd = Experiment(ExperimentConfig(task=task, lanes=lanes[:1], run=RunConfig(eval_every=1)))
    only_sgd.step(2)
    assert "alignment, not normalised: SGD" in live_caption(only_sgd.snapshot()).replace("\u00a0", " ")


def test_a_caption_entry_holds_a_hyphenated_name_on_one_line():
    """ "SGD-" ended a line of the caption and "momentum, μ = 0.9 sum: 1.21·10⁻³⁰" began the next."""
    from muonscope.app.live_caption import live_caption
    from muonscope.engine import Experiment, ExperimentConfig, LaneConfig, RunConfig

    lanes = (
        LaneConfig(optimizer="sgd", lr=20.0, momentum=0.9, label="SGD-momentum, μ = 0.9"),
        LaneConfig(optimizer="muon", lr=0.3),
    )
    config = ExperimentConfig(task=small_preset().config.task, lanes=lanes, run=RunConfig(eval_every=1))
    experiment = Experiment(config)
    experiment.step(4)
    text = live_caption(experiment.snapshot())
    assert "SGD-\u2060momentum,\u00a0μ" in text, text  # a word joiner holds the hyphen to its word
    assert " " not in text.split("SGD-")[1].split(",", 1)[0]


def test_leaving_a_large_scale_gives_a_1280_px_window_back_its_width(qtbot):
    """The controls came back beside a stage still at 2×: the window's least width passed 1280 px
    and it stayed 1361 px wide, past the screen."""
    app = open_app(qtbot)
    app.window.resize(1280, 720)
    app.presentation.set_scale(3.0)
    app.presentation.set_active(True)
    app.intents.step(4)
    wait_for_step(qtbot, app, 4)
    wait_for_frame(qtbot, app)
    app.presentation.set_active(False)
    wait_for_frame(qtbot, app)
    QtWidgets.QApplication.processEvents()
    assert app.window.size() == QtCore.QSize(1280, 720)


def test_the_toolbars_preset_box_cuts_a_long_title_with_a_mark(qtbot):
    app = open_app(qtbot)
    box = app.views.transport.preset_combo
    box.addItem("Muon vs SGD vs Adam on a Zipf memory")
    box.setCurrentIndex(box.count() - 1)
    assert box.shown_text.endswith("…") and box.currentText().startswith(box.shown_text[:-1])


def test_lanes_that_recover_as_many_items_are_ranked_by_their_loss_not_named_leaders_of_a_tie():
    """ "GD recovers 64 items, SignGD 64, Muon 64" made GD the leader of a three-way tie."""
    from muonscope.app.live_caption import live_caption
    from muonscope.engine import Experiment
    from muonscope.engine.presets import load_preset

    experiment = Experiment(load_preset("tail_balance_one_step").config)
    at_zero = experiment.snapshot().lanes[0]  # W = 0: every lane alike
    loss = number_text(at_zero.loss)
    expected = f"step 0 · all 3 lanes recover {at_zero.recovered} items, each at population loss {loss}"
    assert live_caption(experiment.snapshot()) == expected
    experiment.step(1)
    lanes = experiment.snapshot().lanes
    best = max(lane.recovered for lane in lanes)
    tied = sorted((lane for lane in lanes if lane.recovered == best), key=lambda lane: lane.loss)
    assert 1 < len(tied) < len(lanes)  # some lanes tie at the top, one is behind
    names = [lane.label for lane in lanes]
    leader = f"step 1 · {tied[0].label} recovers {best} items, {_entry(tied[1].label, best, names)}"
    assert live_caption(experiment.snapshot()).startswith(leader)  # the lower loss leads the tie
    experiment.step(1)
    snapshot = experiment.snapshot()
    assert len({lane.recovered for lane in snapshot.lanes}) == 1  # now every lane recovers them all
    by_loss = sorted(snapshot.lanes, key=lambda lane: lane.loss)
    ranking = ", ".join(_entry(lane.label, number_text(lane.loss), names) for lane in by_loss)
    count = snapshot.lanes[0].recovered
    expected = f"step 2 · all 3 lanes recover {count} items; by population loss: {ranking}"
    assert live_caption(snapshot) == expected


def test_lanes_whose_names_hold_commas_are_listed_with_semicolons():
    """ "Muon NS5, μ = 0.95 ema, no Nesterov 0, Muon exact, μ = 0.95 ema, …": where did a lane end?"""
    from dataclasses import replace

    from muonscope.app.live_caption import live_caption
    from muonscope.engine import Experiment
    from muonscope.engine.presets import load_preset

    config = load_preset("tail_balance_one_step").config
    lanes = tuple(
        replace(lane, label=f"{lane.label}, take {chr(65 + i)}") for i, lane in enumerate(config.lanes)
    )
    experiment = Experiment(replace(config, lanes=lanes))
    experiment.step(1)
    snapshot = experiment.snapshot()
    text = live_caption(snapshot)
    ranked = sorted(snapshot.lanes, key=lambda lane: (-lane.recovered, lane.loss))
    assert text.startswith(f"step 1 · {ranked[0].label} recovers {ranked[0].recovered} items; ")
    assert _unbroken(ranked[1].label, ranked[1].recovered) + "; " in text


@pytest.mark.parametrize("name", ["run {}", "η = {} log K / T", "SignGD (= Adam, {} step)"])
def test_a_lane_named_with_a_number_at_its_end_or_a_formula_keeps_its_value_apart(name):
    """ "Muon exact recovers 62 items, Muon-reg λ = 1/256 59, GD 6": 1/256 59 read as one number;
    "Muon η = c / T 4.49" read as T = 4.49; "GD 64, SignGD (= Adam, 1 step) 29" as an item
    "1 step) 29"."""
    from dataclasses import replace

    from muonscope.app.live_caption import live_caption
    from muonscope.engine import Experiment
    from muonscope.engine.presets import load_preset

    config = load_preset("critical_batch").config
    lanes = tuple(replace(lane, label=name.format(i + 1)) for i, lane in enumerate(config.lanes))
    experiment = Experiment(replace(config, lanes=lanes))
    experiment.step(1)
    snapshot = experiment.snapshot()
    ranked = sorted(snapshot.lanes, key=lambda lane: (-lane.recovered, lane.loss))
    assert f", {_unbroken(ranked[1].label + ':', ranked[1].recovered)}" in live_caption(snapshot)


def _entry(name: str, value, names: list[str]) -> str:
    """A lane's entry in the caption: where one of the lanes' ``names`` ends in a bracketed aside,
    every entry takes a colon ("GD 64, SignGD (= Adam, 1 step): 29" read as two styles)."""
    return _unbroken(f"{name}:" if any(other.endswith(")") for other in names) else name, value)


def _unbroken(name: str, value) -> str:
    """A lane's entry in the caption as it is held on one line: no-break spaces."""
    return f"{name} {value}".replace(" ", "\u00a0")


def test_the_stage_keeps_the_timelines_branches_and_names_them(qtbot):
    """F11 on a run with forks left the timeline without its branch lines (the restyle cleared them
    and no message brought them back); on the stage the strip grows with its names, so that three
    branches' names still find a place between their lines."""
    from tests.app.helpers import WAIT_MS

    app = open_app(qtbot)
    app.window.resize(1600, 1000)

    def run_to_12():
        app.debugger.go_to(12)
        qtbot.waitUntil(lambda: app.clock.newest.step == 12 and not app.clock.playing, timeout=WAIT_MS)

    run_to_12()
    for step, lr in ((4, 5.0), (8, 2.0)):  # a fork, then a fork of the fork
        with qtbot.waitSignal(app.link.history_replaced, timeout=WAIT_MS):
            app.debugger.go_to(step)
        with qtbot.waitSignal(app.link.comparison, timeout=WAIT_MS):
            app.intents.change("lanes[0].lr", lr)
        run_to_12()
    timeline = app.views.timeline
    qtbot.waitUntil(lambda: len(timeline.branches) == 3, timeout=WAIT_MS)
    desk_px = timeline.plot_widget.height()
    app.views.transport.presentation_action.trigger()
    wait_for_frame(qtbot, app)
    assert len(timeline.branches) == 3
    scale = app.presentation.shown_style.scale
    assert scale > 1 and timeline.plot_widget.height() == round(desk_px * scale)
    qtbot.waitUntil(lambda: all(label.isVisible() for label in timeline.branch_labels), timeout=WAIT_MS)
    app.views.transport.presentation_action.trigger()
    wait_for_frame(qtbot, app)
    assert len(timeline.branches) == 3 and timeline.plot_widget.height() == desk_px


def test_a_config_file_of_its_own_is_captioned_by_its_name_not_left_blank(qtbot, tmp_path):
    """File ▸ Open config on a file with no [preset] table left the caption area empty."""
    app = open_app(qtbot)
    (tmp_path / "mine.toml").write_text('[task]\nd = 12\nn_items = 40\n\n[[lanes]]\noptimizer = "sgd"\n')
    app.intents.open_config(tmp_path / "mine.toml")
    qtbot.waitUntil(lambda: app.clock.config.task.d == 12, timeout=20_000)
    caption = app.views.caption.text()
    assert "<b>mine</b>" in caption and "its own settings, with no description" in caption
    app.intents.change("lanes[0].lr", 0.25)  # no description to be "of the preset's settings"
    qtbot.waitUntil(lambda: "lr 0.5 → 0.25" in app.views.caption.text(), timeout=20_000)
    caption = app.views.caption.text()
    assert "These differ now from the settings it opened with: lane 0 lr 0.5 → 0.25" in caption
    assert "The description is of" not in caption
    app.window.show_on_stage(True)  # on a stage the live caption says it
    assert "not the settings it opened with: lane 0 lr 0.5 → 0.25" in app.views.live_caption.text()
    app.intents.step(3)
    wait_for_step(qtbot, app, 3)
    app.clock.look_at(1)  # the settings said are the engine's, not step 1's (the change came after)
    qtbot.waitUntil(
        lambda: "at step 3, the engine's: lane 0 lr" in app.views.live_caption.text(), timeout=20_000
    )
    app.clock.follow()
    qtbot.waitUntil(lambda: "the engine's" not in app.views.live_caption.text(), timeout=20_000)


def test_the_preset_caption_knows_lanes_by_their_ids_after_one_is_added_and_another_removed(qtbot):
    """lr changed, a lane added and lane 1 removed: as many lanes as before, and by position the
    caption said "lane 0 settings, lane 1 settings, lane 2 settings", hiding the add and removal."""
    preset = small_preset()
    app = open_app(qtbot, preset)
    removed = preset.config.lanes[1].display_label()
    app.intents.change("lanes[0].lr", 0.05)
    qtbot.waitUntil(lambda: app.clock.config.lanes[0].lr == 0.05, timeout=20_000)
    app.views.lanes.add_button.click()
    qtbot.waitUntil(lambda: len(app.clock.config.lanes) == len(preset.config.lanes) + 1, timeout=20_000)
    app.views.lanes.rows[1].remove_button.click()
    qtbot.waitUntil(lambda: len(app.clock.config.lanes) == len(preset.config.lanes), timeout=20_000)
    added = app.clock.config.lanes[-1].display_label()
    last = len(preset.config.lanes) - 1
    before = preset.config.lanes[0].lr
    expected = f"lane 0 lr {number_text(before)} → 0.05, lane {last} added ({added}), {removed} removed"
    qtbot.waitUntil(lambda: expected in html.unescape(app.views.caption.text()), timeout=20_000)


def test_the_caption_says_how_many_lanes_it_leaves_out_for_not_being_evaluated_yet():
    """A lane added between evaluations: "all 3 lanes recover 0 items" stood over a run of four."""
    from muonscope.app.live_caption import live_caption
    from muonscope.engine import AddLane, Experiment, ExperimentConfig, LaneConfig, RunConfig, TaskConfig

    lanes = (LaneConfig(optimizer="sgd", lr=0.5, momentum=0.0), LaneConfig(optimizer="muon", lr=0.1))
    experiment = Experiment(
        ExperimentConfig(task=TaskConfig(d=16, n_items=64), lanes=lanes, run=RunConfig(eval_every=5))
    )
    experiment.step(2)
    assert "not evaluated" not in live_caption(experiment.snapshot())
    experiment.apply(AddLane(LaneConfig(optimizer="adam", lr=0.01)))
    experiment.commit()
    text = live_caption(experiment.snapshot())
    assert "both lanes" in text and text.endswith("(1 more lane not evaluated yet)")


def test_a_streams_caption_says_which_step_its_alignment_is_of_and_not_one_measured_before_a_change():
    """A spiked stream's caption read "as evaluated at step 0: … alignment 0.823" of step 5's
    alignment, and after a lane's μ changed it ranked the alignment its old μ had made."""
    from muonscope.app.live_caption import live_caption
    from muonscope.engine import Experiment, ExperimentConfig, LaneConfig, RunConfig, TaskConfig
    from muonscope.engine.changes import SetField

    lanes = (LaneConfig(optimizer="muon", momentum=0.9), LaneConfig(optimizer="muon", momentum=0.5))
    task = TaskConfig(kind="spiked", rows=12, cols=10, strengths=(5.0, 3.0))
    experiment = Experiment(ExperimentConfig(task=task, lanes=lanes, run=RunConfig(spectra_every=3)))
    experiment.step(4)  # measured at step 3
    caption = live_caption(experiment.snapshot())
    assert "as evaluated" not in caption and "as measured at step 3: " in caption
    assert "μ=0.9" in caption and "μ=0.5" in caption
    experiment.apply(SetField("lanes[0].momentum", 0.8))  # at step 4's boundary
    experiment.step(1)
    caption = live_caption(experiment.snapshot())
    assert caption.endswith("(1 more lane not measured under its settings yet)")
    assert "μ=0.5" in caption and "μ=0.8" not in caption and "μ=0.9" not in caption
    experiment.step(1)  # measured at step 6, under μ = 0.8
    caption = live_caption(experiment.snapshot())
    assert "more lane" not in caption and "as measured" not in caption and "μ=0.8" in caption


def test_the_caption_tells_lanes_of_one_short_name_apart_by_the_settings_that_differ():
    """Two Muon (pre) lanes were named by their whole labels ("Muon pre μ=0.95 ema exact lr=0.05
    recovers 167 items, Muon pre μ=0.5 …") beside "Muon (post)" and "SGD"."""
    from muonscope.app.live_caption import live_caption
    from muonscope.engine import Experiment, ExperimentConfig, LaneConfig, RunConfig, TaskConfig

    lanes = (
        LaneConfig(optimizer="muon", momentum=0.95, lr=0.05),
        LaneConfig(optimizer="muon", momentum=0.5, lr=0.05),
        LaneConfig(optimizer="muon", momentum=0.5, lr=0.05),  # a copy: told apart by its number
        LaneConfig(optimizer="muon", order="post", lr=0.05),
        LaneConfig(optimizer="sgd", lr=0.5),
    )
    task = TaskConfig(d=16, n_items=64, batch_size=16)
    experiment = Experiment(ExperimentConfig(task=task, lanes=lanes, run=RunConfig(eval_every=2)))
    experiment.step(2)
    caption = live_caption(experiment.snapshot()).replace("\u00a0", " ")
    names = ("Muon (pre) μ=0.95 ema", "Muon (pre) μ=0.5 ema (lane 1)", "Muon (pre) μ=0.5 ema (lane 2)")
    assert all(name in caption for name in names), caption
    assert "Muon (post)" in caption and "SGD" in caption
    assert "exact" not in caption and "lr=" not in caption  # the settings all three share


def _stream_whose_first_lane_diverges(monkeypatch):
    """A spiked stream of NGD, SGD and Muon lanes, NGD's rule made to overflow at its first step."""
    import dataclasses

    from muonscope.engine import Experiment, ExperimentConfig, LaneConfig, RunConfig, TaskConfig
    from muonscope.engine.optim.registry import OPTIMIZERS

    blow_up = dataclasses.replace(OPTIMIZERS["ngd"], rule=lambda g, state, lane: g * float("inf"))
    monkeypatch.setitem(OPTIMIZERS, "ngd", blow_up)
    lanes = (LaneConfig(optimizer="ngd", lr=0.1), LaneConfig(optimizer="sgd"), LaneConfig(optimizer="muon"))
    task = TaskConfig(kind="spiked", rows=12, cols=10, strengths=(5.0, 3.0))
    return Experiment(ExperimentConfig(task=task, lanes=lanes, run=RunConfig(spectra_every=1)))


def test_a_streams_caption_leaves_a_diverged_lane_out_of_its_alignments(monkeypatch):
    """A diverged lane takes no step and has no alignment: the caption said "not normalised:
    Adam: nan" after saying the lane had diverged."""
    from muonscope.app.live_caption import live_caption

    experiment = _stream_whose_first_lane_diverges(monkeypatch)
    experiment.step(3)
    snapshot = experiment.snapshot()
    assert snapshot.lanes[0].diverged
    caption = live_caption(snapshot)
    assert "nan" not in caption and "NGD" not in caption.split("·")[-1]
    assert "alignment" in caption and "SGD" in caption


def test_a_frozen_lane_changed_is_not_said_to_await_its_measurement(monkeypatch):
    """Changed after it diverged, a lane takes no step: "(1 more lane not measured under its settings
    yet)" promised a measurement that never comes."""
    from muonscope.app.live_caption import live_caption
    from muonscope.engine import SetField

    experiment = _stream_whose_first_lane_diverges(monkeypatch)
    experiment.step(1)
    experiment.apply(SetField("lanes[0].lr", 0.05))
    experiment.apply(SetField("lanes[1].lr", 0.25))  # a live lane does wait for its next update
    experiment.commit()
    caption = live_caption(experiment.snapshot())
    assert experiment.snapshot().lanes[0].diverged and "lane 0 lr 0.1 → 0.05" in caption
    assert caption.endswith("(1 more lane not measured under its settings yet)"), caption


def test_the_caption_names_a_lane_by_the_settings_that_drew_the_evaluation_it_quotes():
    """Switched to SignGD at step 14, a lane was credited SGD's count of step 10 as "SignGD (pre): 37"."""
    from muonscope.app.live_caption import live_caption
    from muonscope.engine import Experiment
    from muonscope.engine.changes import SetField

    experiment = Experiment(small_preset().config.with_value("run.eval_every", 10))
    experiment.step(14)
    experiment.apply(SetField("lanes[0].optimizer", "signgd"))
    experiment.step(5)
    caption = live_caption(experiment.snapshot())
    assert "as evaluated at step 10: " in caption
    standing = caption.split("as evaluated at step 10: ")[1]
    assert "SGD" in standing and "SignGD" not in standing
    experiment.step(1)  # evaluated at step 20, after 6 SignGD steps
    assert "SignGD" in live_caption(experiment.snapshot()).split(" at step 14 · ")[1]


def test_a_lane_without_a_momentum_buffer_is_named_without_an_order():
    """SignGD at μ = 0 read "SignGD (pre)" in the caption while its key, rightly, named no order."""
    from muonscope.app.live_caption import short_lane_name
    from muonscope.engine import LaneConfig

    assert short_lane_name(LaneConfig(optimizer="signgd", lr=0.01, momentum=0.0, order="pre")) == "SignGD"
    assert short_lane_name(LaneConfig(optimizer="muon", momentum=0.0, order="post")) == "Muon"
    assert short_lane_name(LaneConfig(optimizer="muon", momentum=0.95, order="none")) == "Muon"
    assert short_lane_name(LaneConfig(optimizer="muon", momentum=0.95, order="post")) == "Muon (post)"
    assert short_lane_name(LaneConfig(optimizer="adam", lr=0.1)) == "Adam"


def test_page_up_at_the_first_preset_says_so_on_the_stage(qtbot):
    """Nothing changed and nothing was said: a speaker could not tell the end from a stuck key."""
    first = preset_entries()[0][0]
    app = open_app(qtbot, load_preset(first))
    app.presentation.set_active(True)
    combo = app.views.transport.preset_combo
    assert combo.currentData() == first
    app.views.transport.previous_preset_action.trigger()
    note = app.views.passing_note
    assert note.isVisible() and note.text() == f"{combo.currentText()} is the first preset"
    assert combo.currentData() == first


def test_a_stage_key_pressed_at_the_desk_says_it_is_for_the_stage(qtbot):
    """Ctrl+= at the desk changed the scale F11 would open at, while nothing on screen changed."""
    app = open_app(qtbot)
    app.window.resize(1920, 1080)
    larger, _smaller, theme = app.presentation.stage_key_actions
    larger.trigger()
    note = app.views.passing_note
    assert note.isVisible() and note.text().endswith(" · for the stage (F11)"), note.text()
    assert stage_style() == StageStyle()  # the desk is drawn as before
    theme.trigger()
    assert note.text().endswith(" · for the stage (F11)"), note.text()
    app.presentation.set_active(True)
    larger.trigger()
    assert "for the stage" not in note.text()
    app.presentation.set_active(False)


def test_on_the_stage_alt_and_a_menus_letter_opens_that_menu(qtbot):
    """The menu bar hidden on the stage, Alt+B did nothing: switching branch meant leaving it."""
    app = open_app(qtbot)
    app.presentation.set_active(True)
    assert app.window.menuBar().isHidden()
    branch = app.window.menu("Branch")
    app.window.focus_stage()
    qtbot.keyClick(app.window.stage, QtCore.Qt.Key.Key_B, QtCore.Qt.KeyboardModifier.AltModifier)
    qtbot.waitUntil(branch.isVisible, timeout=WAIT_MS)
    desk_pt = QtWidgets.QApplication.font().pointSizeF()
    assert branch.font().pointSizeF() > desk_pt  # in the stage's type size, for the room to read
    branch.close()
    qtbot.waitUntil(lambda: branch.font().pointSizeF() == desk_pt, timeout=WAIT_MS)  # the bar's again
    app.presentation.set_active(False)
    assert not any(action.text() == "Branch menu" for action in app.window.actions())  # the bar's own again


def test_the_caption_counts_one_item_in_the_singular():
    """A d = 8 memory's caption read "GD recovers 1 items"."""
    from muonscope.app.live_caption import live_caption
    from muonscope.engine import Experiment, ExperimentConfig, LaneConfig, RunConfig, TaskConfig

    lanes = (LaneConfig(optimizer="sgd", lr=0.01, momentum=0.0, label="GD"),)
    said = {}
    for items in (16, 64):  # one item recovered after a step, then two
        task = TaskConfig(d=8, n_items=items, batch_size=0)
        experiment = Experiment(ExperimentConfig(task=task, lanes=lanes, run=RunConfig(eval_every=1)))
        experiment.step()
        snapshot = experiment.snapshot()
        said[snapshot.lanes[0].recovered] = live_caption(snapshot)
    assert sorted(said) == [1, 2]
    assert "GD recovers 1 item" in said[1] and "1 items" not in said[1]
    assert "GD recovers 2 items" in said[2]


@pytest.mark.parametrize("file_name", ["mine", "default"])
def test_a_copied_preset_file_is_named_as_the_file_in_title_and_box_alike(qtbot, tmp_path, file_name):
    """A bundled preset's file copied and edited kept the bundled title in the window's title while
    the preset box said "mine · own settings"; saved as default.toml, the box even picked Default."""
    from importlib import resources

    text = resources.files("muonscope").joinpath("resources", "presets", "default.toml").read_text()
    text = text.replace("d = 128", "d = 12", 1).replace("n_items = 2048", "n_items = 40", 1)
    (tmp_path / f"{file_name}.toml").write_text(text)
    app = open_app(qtbot)
    app.intents.open_config(tmp_path / f"{file_name}.toml")
    qtbot.waitUntil(lambda: app.clock.config.task.d == 12, timeout=WAIT_MS)
    box = app.views.transport.preset_combo
    named = f"{file_name} · own settings"
    assert box.currentIndex() == -1 and box.placeholderText() == named
    assert app.window.windowTitle().endswith(f" — {named}")
    bundled_title = load_preset("default").title
    assert f"<b>{html.escape(bundled_title)}</b>" in app.views.caption.text()  # the file's own words
    assert "these differ now" in app.views.caption.text()
