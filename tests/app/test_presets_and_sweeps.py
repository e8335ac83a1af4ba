"""Presets in the window, and the capacity panel's background sweeps and rays."""

import dataclasses
import re

import numpy as np
import pytest

from muonscope.app.view_settings import apply_view, view_errors
from muonscope.engine import ExperimentConfig, LaneConfig, RunConfig, TaskConfig
from muonscope.engine.presets import Preset, load_preset, preset_names
from muonscope.engine.sweep_plans import curves
from muonscope.widgets.number_text import number_text
from tests.app.helpers import WAIT_MS, open_app, small_preset, wait_for_frame, wait_for_step


@pytest.fixture(autouse=True)
def private_sweep_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("MUONSCOPE_CACHE", str(tmp_path / "cache"))


def test_every_preset_loads_runs_a_step_and_opens_its_view(qtbot, monkeypatch):
    app = open_app(qtbot)
    window = app.window
    started = []
    # sweeps are tested below; here only the run
    monkeypatch.setattr(app.capacity, "run", lambda mode, asked=True: started.append(mode))
    for name in preset_names():
        preset = load_preset(name)
        window.views.transport.preset_chosen.emit(name)
        qtbot.waitUntil(lambda p=preset: app.clock.config == p.config, timeout=WAIT_MS)
        app.intents.step(1)
        qtbot.waitUntil(lambda: app.clock.newest.step == 1, timeout=60_000)
        assert window.windowTitle().endswith(preset.title)
        assert window.views.caption.text().startswith(f"<b>{preset.title}</b>")
        expected = preset.view.get("capacity", "steps")
        assert window.views.capacity.mode("x") == expected, name
        assert not window.views.message.text, window.views.message.text
        note = window.views.class_error.placeholder  # a stream has no classes: panel ③ says so
        assert (note is not None and "no classes" in note) == (preset.config.task.kind == "spiked"), name
        if expected != "steps":  # a preset that opens on a sweep starts it with its run
            assert started[-1] == expected, name
    assert window.views.transport.preset_combo.count() > len(preset_names())  # group headings


def test_a_stream_greys_the_item_metrics_of_panel_two_and_says_why_if_one_is_chosen(qtbot):
    """The spiked stream offered "population loss" and said it was "computed only at some steps"."""
    task = TaskConfig(kind="spiked", rows=12, cols=10, strengths=(5.0, 3.0))
    preset = dataclasses.replace(small_preset(), config=dataclasses.replace(small_preset().config, task=task))
    app = open_app(qtbot, preset)
    series = app.views.series
    combo = series.modes["metric"]
    for metric, enabled in (("loss", False), ("balance_gap", False), ("alignment", True), ("gap", True)):
        assert combo.model().item(combo.findData(metric)).isEnabled() == enabled, metric
    series.set_mode("metric", "loss")
    app.intents.step(3)
    qtbot.waitUntil(lambda: app.clock.newest.step == 3, timeout=WAIT_MS)
    wait_for_frame(qtbot, app)
    assert "The spiked task has no items or classes, so no population loss" in series.placeholder


def test_preset_picker_groups_presets_by_paper(qtbot):
    combo = open_app(qtbot).views.transport.preset_combo
    texts = [combo.itemText(i) for i in range(combo.count())]
    headings = [t for t in texts if t.startswith("— ")]
    assert len(headings) == 6  # muonscope's default, the four papers, muonscope's bridge (numbered 11)
    assert headings[0] == headings[-1] == "— muonscope —" and len(set(headings)) == 5
    assert not combo.model().item(texts.index(headings[1])).isEnabled()


def test_view_settings_report_unknown_keys_and_values(qtbot):
    window = open_app(qtbot).window
    window.views.spectrum.set_mode("view", "weights")
    view = {"spectrum": "nonsense", "colour": "red", "series_log": True, "capacity": "d", "heatmap": 1}
    problems = apply_view(window.views, {**view, "series_smoothing": 0.99})
    assert len(problems) == 3 and window.views.series.smoothing == 0.99
    assert any(p.startswith("view.spectrum = 'nonsense' is not allowed: must be one of") for p in problems)
    assert any(p.startswith("view.colour = 'red' is not allowed: unknown key") for p in problems)
    assert any(p.startswith("view.heatmap = 1 is not allowed: must be one of") for p in problems)
    assert window.views.series.mode("scale") == "log" and window.views.capacity.mode("x") == "d"
    assert window.views.spectrum.mode("view") == "gradient+momentum"  # a refused value opens as the default


def _zipf_preset():
    config = ExperimentConfig(
        task=TaskConfig(d=16, n_items=256, alpha=1.5, batch_size=0),
        lanes=(
            LaneConfig(optimizer="sgd", lr=1.0, momentum=0.0, label="GD"),
            LaneConfig(optimizer="muon", lr=1.0, momentum=0.0, order="none", label="Muon"),
        ),
        run=RunConfig(steps=1, eval_every=1),
    )
    return Preset(name="tiny", config=config, title="tiny capacity")


def test_capacity_sweep_runs_in_the_background_with_guides(qtbot):
    app = open_app(qtbot, _zipf_preset())
    plot = app.views.capacity
    plot.set_mode("x", "d")
    assert plot.run_button.isVisible()
    plot.run_button.click()
    qtbot.waitUntil(lambda: not app.capacity.running, timeout=120_000)
    assert plot.progress.text() == "9/9"  # d ∈ {8, 16, 32} × 3 seeds
    labels = [item[1].text for item in plot.legend.items]
    lanes = [label.split(":")[0] for label in labels[:2]]  # "Muon: fitted slope 1.58"
    assert lanes == ["GD", "Muon"] or plot.legend.lanes_folded  # a short panel leaves them to the key
    assert any(label.startswith("guide: slope 1 + 1/(2α)") for label in labels)
    muon = curves(list(app.capacity.results), "d")[1]
    assert muon.x.tolist() == [8.0, 16.0, 32.0]
    assert np.all(muon.lo <= muon.mean) and np.all(muon.mean <= muon.hi)
    text = plot.hover.show_at(np.log10(32), np.log10(muon.mean[-1]))
    assert text.startswith("Muon") and f": {number_text(muon.mean[-1], 4)}, the mean over seeds" in text


def test_a_sweep_over_d_names_each_lanes_fitted_slope_beside_the_guides(qtbot):
    """The guides say the theory's slopes; what the curves measured, the number to hold them against,
    was left to the eye."""
    app = open_app(qtbot, _zipf_preset())
    app.window.resize(1920, 1080)
    plot = app.views.capacity
    plot.set_mode("x", "d")
    plot.run_button.click()
    qtbot.waitUntil(lambda: not app.capacity.running, timeout=120_000)
    assert not plot.legend.lanes_folded
    for curve in curves(list(app.capacity.results), "d"):
        slope = np.polyfit(np.log(curve.x), np.log(curve.mean), 1)[0]
        assert f"{curve.label}: fitted slope {slope:.2f}" in plot.legend_texts
        # the read-out says it too: a small panel's legend leaves the lanes to the key above
        text = plot.hover.show_at(np.log10(curve.x[-1]), np.log10(curve.mean[-1]))
        assert text.startswith(f"{curve.label}: fitted slope {slope:.2f}"), text
    assert any(text.startswith("guide: slope 1 + 1/(2α)") for text in plot.legend_texts)


def test_a_sweep_for_other_settings_goes_when_the_run_restarts_and_one_for_these_stays(qtbot):
    """A sweep computed for one task stayed under a restarted run of another, as if it were its own."""
    app = open_app(qtbot, _zipf_preset())
    plot = app.views.capacity
    plot.set_mode("x", "d")
    plot.run_button.click()
    qtbot.waitUntil(lambda: not app.capacity.running, timeout=120_000)
    drawn = plot.legend_texts
    run = app.clock.newest.run_id
    app.intents.reset(7)  # another seed for the live run: the sweep's points (their own seeds) are alike
    qtbot.waitUntil(lambda: app.clock.newest.run_id != run, timeout=WAIT_MS)
    assert plot.legend_texts == drawn and plot.placeholder is None
    app.intents.restart_with({"alpha": 2.0})  # other settings: its points are not the run's
    qtbot.waitUntil(lambda: app.clock.config.task.alpha == 2.0, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: plot.placeholder is not None, timeout=WAIT_MS)
    assert "has not been run to the end for these settings: press run" in plot.placeholder
    assert app.capacity.results == ()


@pytest.mark.parametrize("change", ["switch", "remove"])
def test_a_sweep_goes_when_a_lane_it_drew_is_switched_or_removed(qtbot, change):
    """Lane 0 switched to SignGD and lane 1 removed, ④ went on drawing the sweep's "GD" in SignGD's
    colour and the removed lane's curve."""
    app = open_app(qtbot, _zipf_preset())
    plot = app.views.capacity
    plot.set_mode("x", "d")
    plot.run_button.click()
    qtbot.waitUntil(lambda: not app.capacity.running, timeout=120_000)
    assert plot.placeholder is None
    if change == "switch":
        app.intents.change("lanes[0].optimizer", "signgd")
    else:
        app.intents.remove_lane(1)
    qtbot.waitUntil(lambda: plot.placeholder is not None, timeout=WAIT_MS)
    assert "has not been run to the end for these settings: press run" in plot.placeholder
    assert app.capacity.results == ()


def test_capacity_sweep_can_be_cancelled(qtbot):
    preset = _zipf_preset()
    preset = dataclasses.replace(preset, config=preset.config.with_value("task.n_items", 4096))
    app = open_app(qtbot, preset)
    plot = app.views.capacity
    plot.set_mode("x", "n_items")
    plot.run_button.click()
    assert app.capacity.running and plot.cancel_button.isVisible()
    plot.cancel_button.click()
    qtbot.waitUntil(lambda: not app.capacity.running, timeout=20_000)
    assert plot.run_button.isEnabled() and not plot.cancel_button.isVisible()
    assert len(app.capacity.results) < 12  # N ∈ {512, …, 4096} × 3 seeds were planned


def test_modes_that_do_not_apply_are_disabled_with_reasons(qtbot):
    combo = open_app(qtbot, small_preset()).views.capacity.modes["x"]
    row = combo.findData("mu")
    assert not combo.model().item(row).isEnabled()
    assert "spiked" in combo.itemData(row, 3)  # ToolTipRole
    assert not combo.model().item(combo.findData("ray")).isEnabled()


def test_one_step_ray_shows_balance_per_lane(qtbot):
    """The preset opens on the ray view: each lane's ray arrives as it is computed."""
    app = open_app(qtbot, load_preset("tail_balance_one_step"))
    plot = app.views.capacity
    qtbot.waitUntil(lambda: any("ϱ =" in item[1].text for item in plot.legend.items), timeout=60_000)
    qtbot.waitUntil(lambda: not app.capacity.running, timeout=60_000)
    labels = [item[1].text for item in plot.legend.items]
    assert len(labels) == len(app.clock.config.lanes) and plot.progress.text() == "3/3"
    muon = next(label for label in labels if label.startswith("Muon"))
    assert 0.985 <= float(muon.split("ϱ = ")[1]) <= 0.99
    signgd = next(label for label in labels if label.startswith("SignGD"))  # judged as reproduce does
    assert signgd.endswith(" at η*") and 0.005 < float(signgd.split("ϱ = ")[1].split()[0]) < 0.05
    assert re.search(r"SignGD \(= Adam, 1 step\): ϱ falls to [\d.]+·10⁻[⁰¹²³⁴⁵⁶⁷⁸⁹]+ by 100η\*", plot.note)
    assert not any(re.search(r"\de[-+]?\d", label) for label in labels)  # "2.19·10⁻³⁷", not "2.19e-37"


def test_leaving_a_sweep_view_for_the_steps_view_keeps_the_windows_width(qtbot):
    """The ray view's run button and progress bar leave the header as the style key comes in: the
    window kept the width of a header holding both (1280 px became 1306)."""
    app = open_app(qtbot, load_preset("tail_balance_one_step"))
    app.window.resize(1280, 720)
    qtbot.waitUntil(lambda: app.views.capacity.progress.text() == "3/3", timeout=60_000)
    qtbot.waitUntil(lambda: not app.capacity.running, timeout=60_000)
    wait_for_frame(qtbot, app)
    assert app.window.width() == 1280
    app.intents.run_preset(small_preset())
    qtbot.waitUntil(lambda: app.views.capacity.mode("x") == "steps", timeout=WAIT_MS)
    wait_for_frame(qtbot, app)
    assert app.views.capacity.style_key.isVisible()
    assert app.window.width() == 1280


def test_a_sweep_whose_points_exceed_the_runs_memory_limit_is_refused_with_the_point(qtbot):
    """The live run fits run.max_memory_gb; the sweep's d = 32 point does not and was computed anyway."""
    import torch

    from muonscope.engine.device import memory_parts
    from muonscope.engine.sweep_plans import plan

    preset = _zipf_preset()
    live_b = sum(memory_parts(preset.config, torch.float64).values())
    widest_b = max(sum(memory_parts(p.config, torch.float64).values()) for p in plan(preset.config, "d"))
    assert live_b < widest_b
    limit_gb = (live_b + widest_b) / 2 / 2**30  # the live run fits, the sweep's point at d = 32 does not
    preset = dataclasses.replace(preset, config=preset.config.with_value("run.max_memory_gb", limit_gb))
    app = open_app(qtbot, preset)
    plot = app.views.capacity
    plot.set_mode("x", "d")
    plot.run_button.click()
    assert not app.capacity.running and app.capacity.results == ()
    assert "is not allowed: the sweep over d reaches d = 32, where" in app.views.message.text
    assert app.views.message.level == "error"


def test_a_whole_number_may_stand_for_a_weight_but_not_for_a_switch():
    assert view_errors({"series_smoothing": 0, "capacity": "d"}) == []  # smoothing off, written plainly
    refused = view_errors({"series_log": 1, "series_smoothing": 1})
    assert [error.field for error in refused] == ["view.series_log", "view.series_smoothing"]


def test_smoothing_panel_two_from_the_view_menu_is_said_in_its_note(qtbot):
    app = open_app(qtbot)
    app.intents.step(5)
    wait_for_step(qtbot, app, 5)
    view_menu = app.window.menu("View")
    entry = next(a for a in view_menu.actions() if a.text() == "Smoothing of ② over time")
    next(a for a in entry.menu().actions() if a.text() == "EMA 0.9").trigger()
    wait_for_frame(qtbot, app)
    assert app.views.series.smoothing == 0.9
    assert "bold: EMA 0.9 per step, faint: raw" in app.views.series.note
    assert apply_view(app.views, {}) == [] and app.views.series.smoothing == 0.0  # a preset opens raw
    wait_for_frame(qtbot, app)
    assert "EMA" not in app.views.series.note


def test_a_sweep_the_preset_opens_on_that_cannot_run_says_why_on_its_panel_not_in_a_banner(qtbot):
    """`shot --steps 0` of a preset opening on a sweep over μ wrote a picture under a red
    "run.steps = 0 is not allowed" banner that no request of the user's had caused."""
    preset = load_preset("momentum_order")
    preset = dataclasses.replace(preset, config=preset.config.with_value("run.steps", 0))
    app = open_app(qtbot, preset)
    plot = app.views.capacity
    qtbot.waitUntil(lambda: "cannot run" in (plot.placeholder or ""), timeout=WAIT_MS)
    said = "This sweep cannot run for these settings: run.steps = 0 is not allowed"
    assert plot.placeholder.startswith(said)
    assert not app.views.message.text
    plot.run_button.click()  # asked for, it is refused in the message bar
    assert "run.steps = 0 is not allowed" in app.views.message.text
    assert app.views.message.level == "error"
    assert plot.placeholder.startswith(said)  # and ④ still says why, not "press run"


@pytest.mark.parametrize(
    ("typed", "meant"),
    [("G:steps", "gradient:steps"), ("M:steps", "momentum:steps"), ("G+M+G_sig", "gradient+momentum+signal")],
)
def test_a_view_typed_in_the_menus_symbols_is_pointed_to_its_value(typed, meant):
    """`--view spectrum=G:steps` (the menu says "G over steps") was answered with 'weights:steps'?."""
    (refusal,) = view_errors({"spectrum": typed})
    assert str(refusal).endswith(f"({meant!r}?)"), refusal


@pytest.mark.parametrize("typed", ["G_sig:steps", "signal:steps"])
def test_a_view_of_a_matrix_no_option_draws_that_way_is_pointed_nowhere(typed):
    """`--view spectrum=G_sig:steps` (no view draws the signal over the steps) was answered with
    'gradient:steps'?, another matrix; the list of views is the answer."""
    (refusal,) = view_errors({"spectrum": typed})
    assert str(refusal).endswith('weights:steps ("W over steps")'), refusal


def test_a_misspelt_view_is_still_pointed_to_its_value():
    (refusal,) = view_errors({"spectrum": "gradeint:steps"})
    assert str(refusal).endswith("('gradient:steps'?)"), refusal
