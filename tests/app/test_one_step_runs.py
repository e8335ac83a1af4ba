"""A one-step run: panel ② says why it has no curve, and stops saying it once it does; ④ draws the step."""

from tests.app.helpers import (
    WAIT_MS,
    open_app,
    small_preset,
    wait_for_frame,
    wait_for_step,
    wait_until_paused,
)


def test_a_one_step_run_says_why_panel_two_is_empty_and_four_draws_its_step(qtbot):
    preset = small_preset()
    config = preset.config.with_values([("run.steps", 1), ("run.eval_every", 5)])
    app = open_app(qtbot, type(preset)(name="one", config=config, title="one step"))
    wait_for_frame(qtbot, app)
    series, capacity = app.views.series, app.views.capacity
    assert "the run is at step 0" in series.placeholder
    assert "the run is at step 0" in capacity.placeholder
    app.intents.play(True)
    wait_for_step(qtbot, app, 1)
    wait_until_paused(qtbot, app)
    wait_for_frame(qtbot, app)
    assert series.placeholder.startswith("Each lane's spectral gap")
    assert "This run is a single step from W = 0 (run.steps = 1)" in series.placeholder  # not the preset
    # the run's last step is evaluated off the cadence (every 5 steps): ④ draws it from step 0
    assert capacity.placeholder is None
    assert list(capacity.recovered_data(0)[0]) == [0, 1]
    app.intents.step(5)  # on past the preset's step: curves, and nothing left to explain
    wait_for_step(qtbot, app, 6)
    qtbot.waitUntil(lambda: series.placeholder is None and capacity.placeholder is None, timeout=WAIT_MS)
