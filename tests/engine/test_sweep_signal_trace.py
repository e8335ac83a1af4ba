"""Sweep points traced with the signal: each trace step measures the next step against ∇L(W_t)."""

import numpy as np
import pytest
import torch

from muonscope.engine import Experiment, ExperimentConfig, LaneConfig, RunConfig, TaskConfig
from muonscope.engine.metrics import alignment, sin_theta, singular_values
from muonscope.engine.sweep import SweepPoint, run_point
from muonscope.engine.sweep_point import SIGNAL_TRACED_METRICS, SIGNAL_TRACED_SPECTRA, lane_record_problem

LANES = (
    LaneConfig(optimizer="muon", lr=0.3, momentum=0.9, order="pre", polar="exact"),
    LaneConfig(optimizer="muon", lr=0.3, momentum=0.9, order="post", polar="exact"),
    LaneConfig(optimizer="muon", lr=0.3, momentum=0.0, order="none", polar="exact"),
    LaneConfig(optimizer="adam", lr=0.05, momentum=0.9, beta2=0.95),
)


def _config(batch_size=32, n_items=256, exact_eval_items=256, lanes=LANES):
    task = TaskConfig(kind="zipf", d=16, n_items=n_items, batch_size=batch_size, seed=3)
    run = RunConfig(eval_every=10**9, spectra_every=10**6, exact_eval_items=exact_eval_items)
    return ExperimentConfig(task=task, lanes=lanes, run=run)


def _point(config=None, steps=12, every=5):
    return SweepPoint(config or _config(), steps, trace_every_steps=every, trace_signal=True)


def test_each_trace_step_measures_the_step_after_it_and_the_end_measures_nothing():
    lanes, _ = run_point(_point())
    for lane in lanes:
        assert lane["trace_step"] == [0, 5, 10, 12]
        assert lane["signal_trace_step"] == [1, 6, 11, None]
        for name in SIGNAL_TRACED_METRICS:
            assert lane[f"{name}_trace"][-1] is None, name
        for name in SIGNAL_TRACED_SPECTRA:
            assert lane[f"{name}_trace"][-1] == [], name
        assert all(len(s) == 16 for s in lane["signal_spectrum_trace"][:-1])
        assert all(len(s) == 16 for s in lane["gradient_spectrum_trace"][:-1])


def test_a_traced_record_reads_back_from_the_cache_as_written():
    """The cache's type check accepts every field a traced point writes (a refused one would be
    recomputed on every sweep, with a warning)."""
    lanes, _ = run_point(_point())
    assert [lane_record_problem(lane) for lane in lanes] == [""] * len(LANES)
    damaged = {**lanes[0], "signal_trace_step": ["six"]}
    assert (
        lane_record_problem(damaged)
        == "has ['six'] as its 'signal_trace_step', which must be a list of steps"
    )


def test_traced_signal_metrics_equal_an_independent_recomputation():
    """Oracle: step a fresh run to t, take ∇L(W_t) from the task, step once and measure by hand."""
    point = _point()
    (records, _) = run_point(point)
    rank = min(10, 16 - 1)  # the zipf task's signal rank at d = 16
    measured = 0
    for index, t in enumerate(records[0]["trace_step"][:-1]):
        experiment = Experiment(point.config)
        experiment.step(t)
        signal = experiment.task.signal_gradients(experiment.weights)  # (L, d, d)
        experiment.step(1)
        direction = experiment.last_direction
        expected = alignment(direction, signal)  # (L,)
        for lane, record in enumerate(records):
            assert record["alignment_trace"][index] == pytest.approx(expected[lane], rel=1e-9, abs=1e-12)
            watched = experiment.momentum_buffer(lane)
            if watched is None:
                watched = experiment.last_gradient[lane]
            angle = sin_theta(watched[None], signal[lane : lane + 1], rank)[0]
            if np.isnan(angle):  # a buffer of rank below r (a first minibatch step): no subspace, null
                assert record["sin_theta_trace"][index] is None
            else:
                assert record["sin_theta_trace"][index] == pytest.approx(angle, abs=1e-9)
                measured += 1
            np.testing.assert_allclose(
                record["signal_spectrum_trace"][index], singular_values(signal[lane]), rtol=1e-9, atol=1e-15
            )
            np.testing.assert_allclose(
                record["gradient_spectrum_trace"][index],
                singular_values(experiment.last_gradient[lane]),
                rtol=1e-9,
                atol=1e-15,
            )
    assert measured >= len(records)  # most angles are defined: the check compares numbers


def test_an_exact_gradient_polar_step_is_perfectly_aligned_with_the_signal():
    """With B = 0 the step's gradient is G_sig itself, so A(msgn G_sig) = ⟨msgn G, G⟩/‖G‖_* = 1."""
    lanes = (LaneConfig(optimizer="muon", lr=0.3, momentum=0.0, order="none", polar="exact"),)
    (lane,), _ = run_point(_point(_config(batch_size=0, lanes=lanes)))
    assert lane["alignment_trace"][:-1] == pytest.approx([1.0, 1.0, 1.0], abs=1e-9)
    assert lane["sin_theta_trace"][:-1] == pytest.approx([0.0, 0.0, 0.0], abs=1e-6)


def test_a_momentum_buffer_after_its_first_step_is_a_scaled_copy_of_the_gradient():
    """M_1 = (1 − μ) G_1 for an EMA started at 0, so its spectrum is the gradient's times 1 − μ."""
    (pre, *_), _ = run_point(_point())
    gradient = np.array(pre["gradient_spectrum_trace"][0])
    np.testing.assert_allclose(pre["momentum_spectrum_trace"][0], 0.1 * gradient, atol=1e-12 * gradient[0])


def test_tracing_with_the_signal_does_not_change_where_the_run_ends():
    plain, _ = run_point(SweepPoint(_config(), 12))
    traced, _ = run_point(_point())
    for a, b in zip(plain, traced, strict=True):
        assert a["loss"] == b["loss"] and a["recovered"] == b["recovered"]


def test_a_sampled_evaluation_has_no_signal_so_its_metrics_are_not_recorded():
    """Past W = 0 (whose gradient has a closed form) a sampled evaluation computes no G_sig."""
    lanes, _ = run_point(_point(_config(n_items=512, exact_eval_items=128)))
    for lane in lanes:
        assert lane["alignment_trace"][0] is not None
        assert lane["alignment_trace"][1:] == [None] * 3
        assert lane["signal_spectrum_trace"][1:] == [[]] * 3
        assert all(len(s) == 16 for s in lane["gradient_spectrum_trace"][:-1])  # spectra still come


def test_signal_tracing_is_part_of_the_key_and_needs_trace_steps():
    traced = SweepPoint(_config(), 12, trace_every_steps=5)
    assert _point().key != traced.key
    assert "trace_signal" not in traced.identity()
    with pytest.raises(ValueError, match="trace_every_steps"):
        SweepPoint(_config(), 12, trace_signal=True)


def test_signal_traced_records_survive_a_json_round_trip():
    """What the cache stores: plain JSON numbers, None where nothing was measured."""
    import json

    lanes, _ = run_point(_point())
    assert json.loads(json.dumps(lanes)) == lanes
    assert not any(isinstance(v, torch.Tensor | np.ndarray) for lane in lanes for v in lane.values())
