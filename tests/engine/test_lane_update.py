"""Lanes stepped together: batched polar maps, reused spectra, one wait for the device per step."""

import copy

import numpy as np
import pytest
import torch

from muonscope.engine import Experiment, ExperimentConfig, LaneConfig, RunConfig, TaskConfig
from muonscope.engine.lane_metrics import spectra_fields
from muonscope.engine.lane_update import step_lanes
from muonscope.engine.metrics import alignment, sin_theta
from muonscope.engine.optim.registry import OPTIMIZERS
from muonscope.engine.optim.rules import LaneState

#: Every shape of lane the batching must handle: maps shared by several lanes, each order, Nesterov.
MIXED_LANES = (
    LaneConfig(optimizer="sgd", lr=5.0, momentum=0.9, buffer="sum"),
    LaneConfig(optimizer="adam", lr=0.05),
    LaneConfig(optimizer="muon", lr=0.3, momentum=0.9, order="pre", polar="exact"),
    LaneConfig(optimizer="muon", lr=0.3, momentum=0.9, order="post", polar="exact"),
    LaneConfig(optimizer="muon", lr=0.3, momentum=0.9, order="pre", polar="exact", nesterov=True),
    LaneConfig(optimizer="muon", lr=0.3, momentum=0.0, order="none", polar="exact"),
    LaneConfig(optimizer="muon", lr=0.3, momentum=0.9, order="pre", polar="ns", ns_steps=5),
    LaneConfig(optimizer="muon", lr=0.3, momentum=0.9, order="post", polar="ns", ns_steps=5),
    LaneConfig(optimizer="muon", lr=0.3, momentum=0.9, order="pre", polar="reg", lam=1e-3),
    LaneConfig(optimizer="signgd", lr=0.01, momentum=0.9, order="pre"),
)


def _gradients(lanes: int, steps: int, dtype=torch.float64) -> list[torch.Tensor]:
    gen = torch.Generator().manual_seed(3)
    return [torch.randn(lanes, 24, 16, generator=gen, dtype=dtype) for _ in range(steps)]


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("with_check", [False, True])
def test_stepping_lanes_together_equals_each_rule_alone(dtype, with_check):
    """Oracle: the registry's per-lane rule, run lane by lane on the same gradients."""
    lanes = len(MIXED_LANES)
    together = [LaneState() for _ in range(lanes)]
    alone = [LaneState() for _ in range(lanes)]
    weights = torch.zeros(lanes, 24, 16, dtype=dtype)
    reference = weights.clone()
    checks = []
    for grads in _gradients(lanes, 4, dtype):
        step = step_lanes(
            grads,
            weights,
            together,
            MIXED_LANES,
            [False] * lanes,
            (lambda: checks.append(1)) if with_check else None,
        )
        weights = step.weights
        for i, lane in enumerate(MIXED_LANES):
            direction = OPTIMIZERS[lane.optimizer].rule(grads[i], alone[i], lane)
            reference[i] -= lane.lr * direction
        assert bool(step.finite.all())
    tolerance = 1e-12 if dtype == torch.float64 else 1e-5
    torch.testing.assert_close(weights, reference, rtol=tolerance, atol=tolerance)
    assert bool(checks) == with_check


def test_the_windows_one_at_a_time_maps_give_the_batched_maps_bits_on_two_threads():
    """The window's engine maps lanes one by one (cancellable between SVDs); a run made on the command
    line maps them in one batch. At 300 × 280, where MKL's SVD on two threads differs from one
    thread's, the two must still move the weights identically, or a session replays differently."""
    lanes = MIXED_LANES
    generator = torch.Generator().manual_seed(1)
    shape = (len(lanes), 300, 280)
    gradients = [torch.randn(shape, generator=generator, dtype=torch.float64) for _ in range(2)]
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        finals = []
        for check in (None, lambda: None):
            states = [LaneState() for _ in lanes]
            weights = torch.zeros(shape, dtype=torch.float64)
            for grads in gradients:
                weights = step_lanes(grads, weights, states, lanes, [False] * len(lanes), check).weights
            finals.append(weights)
    finally:
        torch.set_num_threads(before)
    assert torch.equal(finals[0], finals[1])


def test_a_frozen_lane_neither_moves_nor_updates_its_state():
    lanes = MIXED_LANES[:4]
    states = [LaneState() for _ in lanes]
    grads = _gradients(len(lanes), 1)[0]
    weights = torch.ones(len(lanes), 24, 16, dtype=torch.float64)
    step = step_lanes(grads, weights, states, lanes, [False, True, False, True])
    assert torch.equal(step.weights[1], weights[1]) and torch.equal(step.weights[3], weights[3])
    assert states[1].buffer is None and states[3].buffer is None
    assert not torch.equal(step.weights[2], weights[2])


def test_a_lane_whose_step_or_state_is_not_finite_is_reported_and_kept_in_place():
    lanes = MIXED_LANES[:2]
    states = [LaneState() for _ in lanes]
    grads = _gradients(2, 1)[0]
    grads[1, 0, 0] = float("inf")  # Adam's moments become non-finite
    weights = torch.zeros(2, 24, 16, dtype=torch.float64)
    step = step_lanes(grads, weights, states, lanes, [False, False])
    assert step.finite.tolist() == [True, False]
    assert torch.equal(step.weights[1], weights[1])
    assert torch.count_nonzero(step.directions[1]) == 0


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("where", ["weights", "state"])
@pytest.mark.parametrize("bad", [float("nan"), float("inf"), float("-inf")])
def test_finiteness_is_exact_entry_by_entry(dtype, where, bad):
    """Huge finite entries (their sum would overflow) are finite; one non-finite entry anywhere is not."""
    lanes = MIXED_LANES[:2]  # SGD (a buffer) and Adam (a buffer and a second moment)
    huge = torch.finfo(dtype).max / 2
    weights = torch.full((2, 24, 16), huge, dtype=dtype)
    grads = torch.zeros(2, 24, 16, dtype=dtype)
    assert step_lanes(grads, weights, [LaneState(), LaneState()], lanes, [False, False]).finite.tolist() == [
        True,
        True,
    ]
    states = [LaneState(), LaneState()]
    step_lanes(grads, weights, states, lanes, [False, False])  # both lanes now hold their state
    if where == "weights":
        weights = weights.clone()
        weights[0, 23, 15] = bad
    else:
        states[1].second_moment[5, 7] = bad
    step = step_lanes(grads, weights, states, lanes, [False, False])
    assert step.finite.tolist() == ([False, True] if where == "weights" else [True, False])


def test_spectra_reused_from_the_polar_map_equal_fresh_ones():
    """The SVD behind Muon's map gives its input's and output's spectra; they match svdvals."""
    lanes = MIXED_LANES
    states = [LaneState() for _ in lanes]
    weights = torch.zeros(len(lanes), 24, 16, dtype=torch.float64)
    for grads in _gradients(len(lanes), 3):
        step = step_lanes(grads, weights, states, lanes, [False] * len(lanes))
        weights = step.weights
    assert len(step.known_spectra) == 2 * 5  # five SVD-mapped lanes: their input and their output
    buffers = [state.buffer for state in states]
    reused = spectra_fields(grads, buffers, step.directions, weights, 3, 3, None, step.known_spectra)
    fresh = spectra_fields(grads, buffers, step.directions, weights, 3, 3, None, ())
    for a, b in zip(reused, fresh, strict=True):
        for kind in ("gradient", "momentum", "update", "weights"):
            np.testing.assert_allclose(getattr(a["spectra"], kind), getattr(b["spectra"], kind), atol=1e-12)


@pytest.mark.parametrize(("dtype", "tolerance"), [("float64", 1e-12), ("float32", 1e-5)])
def test_a_minibatch_gradients_spectrum_through_its_thin_factors_is_its_svd(dtype, tolerance):
    """A batch of 6 draws has at most 6 distinct items: G has rank ≤ 6 of 32, and its singular values
    come from its thin factors; they equal svdvals of G, and the other 26 are zero, not round-off."""
    config = ExperimentConfig(
        task=TaskConfig(d=32, n_items=512, alpha=1.2, batch_size=6),
        lanes=MIXED_LANES[:8],
        run=RunConfig(eval_every=10**6, spectra_every=1, dtype=dtype),
    )
    experiment = Experiment(config)
    experiment.step(3)
    grads = experiment.last_gradient.double()
    distinct = torch.unique(experiment.task.last_batch.items).numel()
    for lane, g in zip(experiment.snapshot().lanes, grads, strict=True):
        expected = torch.linalg.svdvals(g).numpy()
        np.testing.assert_allclose(lane.spectra.gradient, expected, atol=tolerance * expected[0])
    sgd = experiment.snapshot().lanes[0].spectra.gradient  # SGD: its G has no spectrum from a map
    assert np.all(sgd[distinct:] == 0) and np.all(sgd[:distinct] > 0)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_signal_metrics_of_exact_gradients_equal_fresh_ones(dtype):
    """With exact gradients the signal is G itself: its spectrum comes from the step's spectra and a lane
    without a buffer watches the signal (sinΘ = 0); both equal the metrics computed from scratch."""
    config = ExperimentConfig(
        task=TaskConfig(d=24, n_items=64, alpha=1.2, batch_size=0),
        lanes=MIXED_LANES[:6],  # SGD and Muon with buffers, Adam, and a Muon lane without one
        run=RunConfig(eval_every=10**6, spectra_every=1, dtype=dtype),
    )
    experiment = Experiment(config)
    experiment.step(3)
    signal = experiment.last_gradient
    buffers = [experiment.momentum_buffer(i) for i in range(len(config.lanes))]
    watched = [b if b is not None else g for b, g in zip(buffers, signal, strict=True)]
    lanes = experiment.snapshot().lanes
    rank = config.run.signal_rank or experiment.task.signal_rank
    atol = 1e-9 if dtype == "float64" else 2e-4
    for i, lane in enumerate(lanes):
        expected_spectrum = torch.linalg.svdvals(signal[i].double()).numpy()
        np.testing.assert_allclose(lane.signal_spectrum, expected_spectrum, atol=atol * expected_spectrum[0])
        expected_angle = sin_theta(watched[i][None], signal[i : i + 1], rank)[0]
        tolerance = 1e-6 if dtype == "float64" else 1e-3
        assert lane.sin_theta == pytest.approx(expected_angle, abs=tolerance, nan_ok=True)
        direction = experiment.last_direction[i : i + 1]
        assert lane.alignment == pytest.approx(alignment(direction, signal[i : i + 1])[0], rel=1e-6)
    assert lanes[5].sin_theta == 0.0 and lanes[0].sin_theta > 0.0  # no buffer: the signal itself
    # a post-order buffer averages orthogonal maps: its singular values all ≈ 1, no top-r subspace
    assert config.lanes[3].order == "post" and np.isnan(lanes[3].sin_theta)


def _quiet_config(**run) -> ExperimentConfig:
    return ExperimentConfig(
        task=TaskConfig(d=16, n_items=128, batch_size=32),
        lanes=MIXED_LANES[:8],
        run=RunConfig(eval_every=10**6, spectra_every=10**6, **run),
    )


_HOST_READS = ("__bool__", "__float__", "__int__", "__index__", "item", "tolist", "cpu", "__array__")


@pytest.mark.parametrize(("eval_every", "expected"), [(10**6, ["cpu"]), (3, ["cpu", "cpu"])])
def test_a_step_waits_for_the_device_once_and_an_evaluation_once_more(monkeypatch, eval_every, expected):
    """Every per-lane value a step reports comes back in one transfer (on a GPU each is a sync)."""
    experiment = Experiment(_quiet_config().with_values([("run.eval_every", eval_every)]))
    experiment.step(2)
    reads = []
    for name in _HOST_READS:
        original = getattr(torch.Tensor, name)

        def counted(self, *args, _original=original, _name=name, **kwargs):
            reads.append(_name)
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(torch.Tensor, name, counted)
    experiment.step(1)
    assert reads == expected


def test_batched_and_cancellable_steps_take_the_same_path():
    """A step run with a cancel check (lane by lane) lands exactly where the batched one does."""
    config = _quiet_config()
    plain, checked = Experiment(config), Experiment(copy.deepcopy(config))
    plain.step(3)
    checked.step(3, cancelled=lambda: False)
    assert torch.equal(plain.weights, checked.weights)
