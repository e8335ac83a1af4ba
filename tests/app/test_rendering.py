"""Rendering: many frames through every panel mode, hover readouts, and the headless screenshot."""

import dataclasses

import numpy as np
import pytest
from PySide6 import QtGui

from muonscope.app.bucket_history import BucketHistory
from muonscope.app.renderer import Renderer
from muonscope.app.shot import parse_size, take_screenshot
from muonscope.engine import ConfigError, Experiment, SetField
from muonscope.engine.history import MetricHistory, SpectraHistory
from muonscope.widgets.number_text import number_text
from muonscope.widgets.panel_modes import SERIES_METRICS
from muonscope.widgets.theme import LANE_COLOURS
from tests.app.helpers import small_preset


def _window(qtbot):
    from muonscope.app.composition import App

    app = App(small_preset())  # the engine is never started: frames are driven here
    qtbot.addWidget(app.window)
    app.window.resize(1400, 900)
    app.window.show()
    qtbot.waitExposed(app.window)
    return app.window


def test_two_hundred_redraws_of_all_panels_with_log_axes(qtbot):
    """Catches binding crashes of the kind PySide6 6.12 + pyqtgraph 0.14 showed after a few dozen frames."""
    window = _window(qtbot)
    views = window.views
    renderer = Renderer(views.spectrum, views.series, views.class_error, views.capacity, views.timeline)
    experiment = Experiment(small_preset().config)
    history, buckets, spectra = MetricHistory(), BucketHistory(), SpectraHistory()
    history.append(experiment.snapshot())
    combo = views.spectrum.modes["view"]
    spectrum_views = [combo.itemData(i) for i in range(combo.count())]
    for frame in range(220):
        if frame == 60:
            experiment.apply(SetField("task.label_noise", 0.2))
        experiment.step()
        snapshot = experiment.snapshot()
        history.append(snapshot)
        buckets.add(snapshot)
        spectra.append(snapshot)
        views.spectrum.set_mode("view", spectrum_views[(frame // 25) % len(spectrum_views)])
        views.series.set_mode("metric", SERIES_METRICS[(frame // 25) % len(SERIES_METRICS)][0])
        views.class_error.set_mode("view", "heatmap" if (frame // 50) % 2 else "curves")
        renderer.render(snapshot, snapshot, history, buckets, spectra=spectra)
        window.repaint()
    assert views.spectrum.heat_matrix == "weights"  # the last view: W over the steps, up to the last
    assert views.spectrum.data_table()[1][-1][0] == 220
    views.spectrum.set_mode("view", spectrum_views[0])
    renderer.render(snapshot, snapshot, history, buckets, spectra=spectra)
    assert views.spectrum.plot.getAxis("left").logMode
    assert views.class_error.plot.getAxis("bottom").logMode  # back in curve mode at the end
    x, _y = views.capacity.recovered_data(0)
    assert x[-1] == 220 and len(x) == 111  # evaluated every 2 steps, step 0 included
    assert views.series.markers.texts == ["label noise 0 → 0.2"]


def test_hover_reports_exact_values(qtbot):
    window = _window(qtbot)
    views = window.views
    renderer = Renderer(views.spectrum, views.series, views.class_error, views.capacity, views.timeline)
    experiment = Experiment(small_preset().config)
    history, buckets = MetricHistory(), BucketHistory()
    for _ in range(4):
        experiment.step()
        history.append(experiment.snapshot())
    snapshot = experiment.snapshot()
    renderer.render(snapshot, snapshot, history, buckets)
    window.repaint()
    sigma = snapshot.lanes[2].spectra.gradient[4]
    text = views.spectrum.hover.show_at(5.0, np.log10(sigma))
    assert snapshot.lanes[2].label in text and f"k = 5, σ = {number_text(sigma, 6)}" in text
    recovered = snapshot.lanes[0].recovered
    text = views.capacity.hover.show_at(4.0, recovered)
    assert f"step 4: recovered {recovered}" in text


def test_parse_size():
    assert parse_size("1600x1000") == (1600, 1000)
    for bad in ("1600", "10x10", "axb", "99999x3"):
        with pytest.raises(ConfigError, match="--size"):
            parse_size(bad)


def _lane_pixels(image: QtGui.QImage, rect) -> int:
    """Pixels inside ``rect`` drawn in one of the lane colours (curves, not grid or background)."""
    x0, y0, w, h = rect
    ptr = image.convertToFormat(QtGui.QImage.Format.Format_RGB888)
    data = np.frombuffer(ptr.constBits(), dtype=np.uint8).reshape(ptr.height(), ptr.bytesPerLine())
    pixels = (
        data[:, : ptr.width() * 3].reshape(ptr.height(), ptr.width(), 3)[y0 : y0 + h, x0 : x0 + w].astype(int)
    )
    colours = np.array([[int(c[i : i + 2], 16) for i in (1, 3, 5)] for c in LANE_COLOURS[:4]])
    distance = np.abs(pixels[:, :, None, :] - colours[None, None, :, :]).sum(axis=-1).min(axis=-1)
    return int((distance < 40).sum())


def test_shot_writes_a_png_with_data_in_every_panel(qtbot, tmp_path):
    path, rects = take_screenshot(small_preset(), 6, tmp_path / "shot.png", (1200, 800))
    image = QtGui.QImage(str(path))
    assert (image.width(), image.height()) == (1200, 800)
    for name, rect in rects.items():
        assert rect[2] > 100 and rect[3] > 80, name
        assert _lane_pixels(image, rect) > 50, f"panel {name} shows no lane curves"


def test_the_filtering_ratio_panel_says_why_post_order_lanes_have_none():
    from muonscope.app.panel_texts import FILTERING_METRIC, series_empty_text
    from muonscope.engine import ExperimentConfig, LaneConfig, RunConfig, TaskConfig

    task = TaskConfig(d=16, n_items=64, batch_size=32)
    post = LaneConfig(optimizer="muon", lr=0.1, momentum=0.9, order="post")
    experiment = Experiment(ExperimentConfig(task=task, lanes=(post,), run=RunConfig(eval_every=5)))
    experiment.step(3)
    snapshot = experiment.snapshot()
    assert np.isnan(snapshot.lanes[0].tail_filtering)
    assert "post-order buffer averages the mapped gradients" in series_empty_text(FILTERING_METRIC, snapshot)
    pre = experiment.config.with_value("lanes[0].order", "pre")
    experiment.reset(config=pre)
    experiment.step(3)
    snapshot = experiment.snapshot()
    assert np.isfinite(snapshot.lanes[0].tail_filtering)
    assert "post-order" not in series_empty_text(FILTERING_METRIC, snapshot)


def test_panel_two_says_sin_theta_is_undefined_while_the_buffer_has_fewer_than_r_directions():
    """Minibatches of one item: after 3 steps the buffer has rank 3 < r, and ② said sin Θ "is
    measured after a population evaluation" although it had been, every step."""
    from muonscope.app.panel_texts import SIN_THETA_METRIC, series_empty_text
    from muonscope.engine import ExperimentConfig, LaneConfig, RunConfig, TaskConfig

    task = TaskConfig(d=16, n_items=64, batch_size=1)
    lane = LaneConfig(optimizer="muon", lr=0.1, momentum=0.9)
    experiment = Experiment(ExperimentConfig(task=task, lanes=(lane,), run=RunConfig(eval_every=1)))
    experiment.step(3)
    snapshot = experiment.snapshot()
    assert snapshot.lanes[0].signal_step == 3 and np.isnan(snapshot.lanes[0].sin_theta)
    text = series_empty_text(SIN_THETA_METRIC, snapshot)
    assert "Measured at step 3 but undefined" in text and f"r = {snapshot.lanes[0].gap_rank}" in text


@pytest.mark.parametrize(
    ("metric", "says"),
    [
        ("gap", "computed with the spectra, every 3 steps (run.spectra_every)"),
        ("loss", "computed at each population evaluation, every 5 steps (run.eval_every)"),
        ("batch_loss", "computed at every step"),
        ("ratio_gap", "computed with the spectra, every step (run.spectra_every)"),
    ],
)
def test_panel_two_says_when_a_metric_with_one_value_so_far_is_computed(metric, says):
    """At step 1 ② said the gap "is computed only at some steps, or for some lanes"."""
    from muonscope.app.panel_texts import series_empty_text
    from muonscope.engine import ExperimentConfig, LaneConfig, RunConfig, TaskConfig
    from muonscope.widgets.panel_modes import SERIES_METRICS

    task = TaskConfig(d=16, n_items=64, batch_size=32)
    lane = LaneConfig(optimizer="muon", lr=0.1, momentum=0.9)
    run = RunConfig(eval_every=5, spectra_every=1 if metric == "ratio_gap" else 3)
    experiment = Experiment(ExperimentConfig(task=task, lanes=(lane,), run=run))
    experiment.step(1)
    text = series_empty_text(dict(SERIES_METRICS)[metric], experiment.snapshot())
    assert text.endswith(f"A curve needs two values, and no lane has two yet: it is {says}.")


def test_the_staircase_heat_map_names_its_eleven_groups_at_k_1024():
    """Wang et al.'s staircase: g = 0 holds one class, g ≥ 1 holds 2^(g−1); at K = 1024, g = 0…10."""
    from muonscope.app.panel_texts import bucket_labels
    from muonscope.engine.tasks.frequencies import staircase_probs

    _, groups = staircase_probs(1024)
    starts = np.flatnonzero(np.diff(groups, prepend=-1))
    labels = bucket_labels(starts, 1024, numbered=True)
    assert len(labels) == 11
    assert labels[:4] == ["g=0 · 1", "g=1 · 2", "g=2 · 3–4", "g=3 · 5–8"]
    assert labels[-1] == "g=10 · 513–1024"
    assert bucket_labels(starts, 1024)[2] == "3–4"  # other tasks' buckets are rank ranges only


def test_panel_two_says_which_r_and_matrix_its_gap_is_of_and_what_the_alignment_is():
    """The gap "σ_r − σ_(r+1)" named no r and no matrix; an Adam alignment of 42 read as an error."""
    from muonscope.app.panel_texts import series_definition
    from muonscope.engine import ExperimentConfig, LaneConfig, RunConfig, TaskConfig

    task = TaskConfig(d=16, n_items=64, batch_size=32)
    lane = LaneConfig(optimizer="muon", lr=0.1, momentum=0.9)
    for rank in (3, 5):
        run = RunConfig(signal_rank=rank)
        experiment = Experiment(ExperimentConfig(task=task, lanes=(lane,), run=run))
        experiment.step(1)
        snapshot = experiment.snapshot()
        assert snapshot.lanes[0].gap_rank == rank
        assert series_definition("gap", snapshot) == f"r = {rank}, of M"
        assert series_definition("sin_theta", snapshot) == f"r = {rank}"
        assert series_definition("tail_filtering", snapshot) == f"k > r = {rank}"
    assert series_definition("alignment", snapshot) == "1 for msgn(G_sig), scales with the update"
    assert series_definition("loss", snapshot) == ""
    for momenta, matrix in (((0.0, 0.0), "of G (no lane keeps a buffer)"), ((0.9, 0.0), "of M (of G where")):
        lanes = tuple(dataclasses.replace(lane, momentum=mu) for mu in momenta)
        experiment = Experiment(ExperimentConfig(task=task, lanes=lanes, run=RunConfig(signal_rank=3)))
        experiment.step(1)
        assert series_definition("gap", experiment.snapshot()).startswith(f"r = 3, {matrix}")
    # a sum buffer is 1/(1−μ) times the EMA its gap is read on: the note says so
    summed = (dataclasses.replace(lane, optimizer="sgd", lr=1.0, buffer="sum"), lane)
    experiment = Experiment(ExperimentConfig(task=task, lanes=summed, run=RunConfig(signal_rank=3)))
    experiment.step(1)
    said = series_definition("gap", experiment.snapshot())
    assert said.replace("\u00a0", " ") == "r = 3, of M (a sum buffer's × (1 − μ))"


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_panel_two_says_where_a_loss_went_under_the_dtypes_normal_range(qtbot, dtype):
    """float32's Muon and SignGD losses levelled off at 10⁻⁴³ (or stopped at 0) where a float64 run
    goes on to 10⁻⁸⁵; ② drew them as the lanes' own results."""
    from muonscope.engine.presets import load_preset

    window = _window(qtbot)
    views = window.views
    renderer = Renderer(views.spectrum, views.series, views.class_error, views.capacity, views.timeline)
    sizes = [("task.d", 64), ("task.n_items", 64), ("run.dtype", dtype)]
    experiment = Experiment(load_preset("tail_multi_step_isotropy").config.with_values(sizes))
    history, buckets = MetricHistory(), BucketHistory()
    experiment.step(40)
    snapshot = experiment.snapshot()
    history.append(snapshot)
    under = [position for position, lane in enumerate(snapshot.lanes) if lane.loss < np.finfo(dtype).tiny]
    assert (0 < len(under) < len(snapshot.lanes)) == (dtype == "float32")  # Adam's stay near 10⁻⁷
    for metric, said in (("loss", bool(under)), ("excess_loss", bool(under)), ("gap", False)):
        views.series.set_mode("metric", metric)
        renderer.render(snapshot, snapshot, history, buckets)
        lanes = "lanes " + ", ".join(map(str, under[:-1])) + f" and {under[-1]}" if under else ""
        expected = f"{lanes}: loss under float32's normal range (1.2·10⁻³⁸): float32's floor, not the lane's"
        assert (expected in views.series.note) == said, views.series.note


def test_panel_two_names_the_lanes_that_draw_no_filtering_ratio_and_why():
    """Post-order and polar-only lanes keep no average of G: their curves were missing from ② without
    a word, beside a pre-order lane's."""
    from muonscope.app.panel_texts import series_definition
    from muonscope.engine import ExperimentConfig, LaneConfig, RunConfig, TaskConfig

    task = TaskConfig(kind="spiked", rows=12, cols=12, strengths=(6.0, 3.0))
    pre = LaneConfig(optimizer="muon", lr=0.01, momentum=0.9, order="pre", label="pre")
    post = dataclasses.replace(pre, order="post", label="post")
    none = dataclasses.replace(pre, order="none", label="bare")
    long_post = dataclasses.replace(post, label="Muon post μ=0.9 sum nesterov NS4 float32 lr=0.2 wd=0")
    for lanes, said in (
        ((pre, post, none), "k > r = 2; none for post and bare: they keep no average of G"),
        # long names are numbered, as the coincidence notes number them: named, the note ran five lines
        ((pre, long_post, none), "k > r = 2; none for lanes 1 and 2: they keep no average of G"),
        ((long_post, pre), "k > r = 2; none for lane 0: it keeps no average of G"),
        ((pre, post), "k > r = 2; none for post: it keeps no average of G"),
        ((pre,), "k > r = 2"),
        ((post, none), "k > r = 2"),  # the panel's own message says why none is drawn at all
    ):
        experiment = Experiment(ExperimentConfig(task=task, lanes=lanes, run=RunConfig(signal_rank=2)))
        experiment.step(1)
        assert series_definition("tail_filtering", experiment.snapshot()) == said


def test_panel_two_says_how_few_steps_a_spectral_metric_was_measured_at():
    """Played, a gap curve went through 21 of 61 steps (spectra follow the frame rate) and read, on
    screen and exported, as every step's."""
    from muonscope.app.panel_texts import thinned_note

    steps = np.arange(0.0, 61.0)
    every_step = np.where(steps >= 1, 0.5, np.nan)
    assert thinned_note("gap", steps, every_step, 1) == ""
    paced = np.where(steps % 3 == 1, 0.5, np.nan)
    assert thinned_note("gap", steps, paced, 1) == "measured at 20 of 60 steps, paced as the run played"
    tenth = np.where((steps % 10 == 0) & (steps > 0), 0.5, np.nan)
    assert thinned_note("gap", steps, tenth, 10) == ""  # run.spectra_every = 10: all that were due
    assert thinned_note("batch_loss", steps, paced, 1) == ""  # measured at every step, not with spectra


def test_a_heat_map_column_stays_by_its_step_where_evaluations_between_have_none(qtbot):
    """A branch switched to kept another branch's column at step 2300 beside its own at 5000: drawn
    centred, that column spread over 950–3650, steps whose group errors nothing had kept."""
    window = _window(qtbot)
    views = window.views
    renderer = Renderer(views.spectrum, views.series, views.class_error, views.capacity, views.timeline)
    experiment = Experiment(small_preset().config)  # evaluated every 2 steps
    history, buckets = MetricHistory(), BucketHistory()
    history.append(experiment.snapshot())
    buckets.add(experiment.snapshot())
    for step in range(1, 41):
        experiment.step()
        snapshot = experiment.snapshot()
        history.append(snapshot)
        if step <= 10 or step >= 30:  # steps 12 to 28 reached the engine's record only
            buckets.add(snapshot)
    views.class_error.set_mode("view", "heatmap")
    renderer.render(snapshot, snapshot, history, buckets)
    rows = np.array(views.class_error.data_table()[1], dtype=float)
    blank = rows[np.isnan(rows[:, 1:]).all(axis=1), 0]
    assert blank.tolist() == [12, 28]  # the first and last missing: the columns beside them keep their step
    assert views.class_error.plot.getAxis("bottom").labelText.startswith("step · blank:")


def test_columns_let_go_to_stay_within_capacity_are_not_said_missing():
    from muonscope.app.bucket_history import blank_where_missing

    steps, values = np.array([0.0, 4.0, 8.0]), np.ones((3, 2))
    evaluated = np.arange(0.0, 9.0, 2.0)  # every other evaluation let go: a column stands for two
    kept_steps, kept = blank_where_missing(steps, values, evaluated, per_column=2)
    assert kept_steps.tolist() == [0, 4, 8] and not np.isnan(kept).any()
    gapped_steps, gapped = blank_where_missing(steps, values, evaluated, per_column=1)
    assert gapped_steps.tolist() == [0, 2, 4, 6, 8] and np.isnan(gapped[[1, 3]]).all()
