"""Lockstep lanes, live changes, divergence, reset and snapshots."""

import dataclasses

import numpy as np
import pytest
import torch

from muonscope.engine import (
    OPTIMIZERS,
    AddLane,
    ConfigError,
    Experiment,
    ExperimentConfig,
    LaneConfig,
    RemoveLane,
    RunConfig,
    SetField,
    TaskConfig,
)
from muonscope.engine.breakpoints import parse_breakpoint

SMALL = TaskConfig(d=16, n_items=64, alpha=1.5, batch_size=32)
RUN = RunConfig(eval_every=2, spectra_every=1)


def _config(*lanes, task=SMALL, run=RUN):
    return ExperimentConfig(task=task, lanes=tuple(lanes), run=run)


MUON = LaneConfig(optimizer="muon", lr=0.3, momentum=0.9)
SGD = LaneConfig(optimizer="sgd", lr=20.0, momentum=0.9, buffer="sum")
ADAM = LaneConfig(optimizer="adam", lr=0.05, momentum=0.9)


class TestLockstep:
    def test_identical_lanes_stay_identical(self):
        exp = Experiment(_config(MUON, SGD, MUON))
        exp.step(6)
        assert torch.allclose(exp.weights[0], exp.weights[2], rtol=1e-12, atol=1e-14)
        assert not torch.equal(exp.weights[0], exp.weights[1])

    def test_a_lane_trains_the_same_alone_or_with_others(self):
        """Every lane sees the same minibatches: the stream does not depend on how many lanes run."""
        alone = Experiment(_config(ADAM))
        together = Experiment(_config(MUON, ADAM, SGD))
        batches_alone, batches_together = [], []
        for _ in range(5):
            alone.step()
            together.step()
            batches_alone.append(alone.task.last_batch.items)
            batches_together.append(together.task.last_batch.items)
        assert all(torch.equal(a, b) for a, b in zip(batches_alone, batches_together, strict=True))
        assert torch.allclose(alone.weights[0], together.weights[1], rtol=1e-12, atol=1e-15)

    def test_same_seed_same_trajectory(self):
        a, b = Experiment(_config(MUON, SGD)), Experiment(_config(MUON, SGD))
        a.step(5)
        b.step(5)
        assert torch.equal(a.weights, b.weights)


class TestChanges:
    def test_change_applies_at_next_boundary_and_is_recorded(self):
        exp = Experiment(_config(SGD, MUON))
        exp.step(3)
        exp.apply(SetField("lanes[0].optimizer", "muon"))
        assert exp.config.lanes[0].optimizer == "sgd"  # not yet
        exp.step()
        snap = exp.snapshot()
        assert snap.lanes[0].optimizer == "muon"
        assert snap.lanes[0].label.startswith("Muon")
        (event,) = snap.events
        assert (event.step, event.field, event.old, event.new) == (3, "lanes[0].optimizer", "sgd", "muon")
        assert event.text == "lane 0 optimizer SGD → Muon, lr 20 → 0.05, buffer sum → ema"
        assert (snap.lanes[0].buffer, snap.config.lanes[0].buffer) == ("ema", "ema")

    def test_an_optimizer_switch_takes_the_new_optimizers_learning_rate_in_the_same_event(self):
        exp = Experiment(_config(dataclasses.replace(SGD, lr=128.0), MUON))
        exp.step(2)
        exp.apply(SetField("lanes[0].optimizer", "signgd"))
        exp.step()
        snap = exp.snapshot()
        assert snap.config.lanes[0].lr == OPTIMIZERS["signgd"].default_lr == 0.01
        assert snap.lanes[0].lr == 0.01
        assert snap.lanes[0].label.endswith("lr=0.01")
        (event,) = snap.events  # one event at one step, not a second one for the rate
        assert (event.step, event.field, event.old, event.new) == (2, "lanes[0].optimizer", "sgd", "signgd")
        assert event.text == "lane 0 optimizer SGD → SignGD, lr 128 → 0.01, buffer sum → ema"

    def test_a_rate_set_after_a_switch_holds(self):
        exp = Experiment(_config(SGD, MUON))
        exp.apply(SetField("lanes[0].optimizer", "signgd"))
        exp.apply(SetField("lanes[0].lr", 0.003))
        exp.step()
        assert exp.config.lanes[0].lr == 0.003
        assert [e.field for e in exp.events] == ["lanes[0].optimizer", "lanes[0].lr"]

    def test_a_switched_lane_steps_with_the_new_rate(self):
        """The step after a switch uses SignGD's default rate: W moves by exactly lr per entry."""
        plain = dataclasses.replace(SGD, momentum=0.0)
        exp = Experiment(_config(plain))
        exp.apply(SetField("lanes[0].optimizer", "signgd"))
        exp.step()
        moved = exp.weights[0].abs()
        assert moved.max().item() == pytest.approx(0.01)

    def test_label_noise_change_reaches_the_task_and_the_excess_loss(self):
        exp = Experiment(_config(MUON))
        exp.step(2)
        exp.apply(SetField("task.label_noise", 0.2))
        exp.step(2)
        snap = exp.snapshot()
        assert snap.config.task.label_noise == 0.2
        assert exp.task.label_noise == 0.2
        assert snap.events[0].text == "label noise 0 → 0.2"
        lane = snap.lanes[0]
        assert lane.eval_step == 4
        assert lane.excess_loss < lane.loss

    def test_order_change_resets_the_buffer_but_mu_change_keeps_it(self):
        exp = Experiment(_config(MUON))
        exp.step(2)
        buffer = exp.momentum_buffer(0)
        exp.apply(SetField("lanes[0].momentum", 0.5))
        exp.step()
        assert exp.momentum_buffer(0) is not None
        assert not torch.equal(exp.momentum_buffer(0), buffer)
        exp.apply(SetField("lanes[0].order", "none"))
        exp.step()
        assert exp.momentum_buffer(0) is None  # none: no buffer after the reset

    def test_invalid_change_raises_now_and_changes_nothing(self):
        exp = Experiment(_config(MUON))
        with pytest.raises(ConfigError, match=r"lanes\[0\]\.momentum = 1\.5"):
            exp.apply(SetField("lanes[0].momentum", 1.5))
        with pytest.raises(ConfigError, match=r"task\.d .* changes only with a reset"):
            exp.apply(SetField("task.d", 32))
        with pytest.raises(ConfigError, match=r"lanes\[3\]"):
            exp.apply(SetField("lanes[3].lr", 0.1))
        exp.step()
        assert exp.snapshot().events == ()

    def test_a_lane_index_that_does_not_exist_is_refused_in_one_wording(self):
        """One rule read "lane index must be in [0, 1]", "lane index in [0, 1]" and "lanes are 0 to 1"."""
        config = _config(MUON, SGD)
        refusals = []
        for attempt in (
            lambda: Experiment(config).apply(SetField("lanes[5].lr", 0.1)),
            lambda: Experiment(config).apply(RemoveLane(5)),
            lambda: config.with_value("lanes[5].lr", 0.1),
        ):
            with pytest.raises(ConfigError) as refused:
                attempt()
            refusals.append(str(refused.value))
        assert all(text.endswith("lanes are 0 to 1") for text in refusals), refusals
        with pytest.raises(ConfigError, match="lane 5 does not exist; lanes are 0 to 1"):
            parse_breakpoint("5: loss < 1", ["a", "b"])

    def test_add_and_remove_lanes(self):
        exp = Experiment(_config(MUON, SGD))
        exp.step(2)
        exp.apply(AddLane(ADAM, copy_from=0))
        exp.step()
        assert exp.weights.shape[0] == 3
        assert len(exp.snapshot().lanes) == 3
        exp.apply(RemoveLane(0))
        exp.step()
        snap = exp.snapshot()
        assert [lane.index for lane in snap.lanes] == [0, 1]
        assert snap.lanes[0].optimizer == "sgd"
        assert snap.lanes[1].optimizer == "adam"
        with pytest.raises(ConfigError) as caught:  # "lanes = 0 is not allowed" read as a lane's index
            Experiment(_config(MUON)).apply(RemoveLane(0))
        assert str(caught.value).startswith("lanes = [] is not allowed: the last lane cannot be removed")

    def test_a_change_to_the_value_in_force_is_no_event(self):
        """Setting lr 0.01 on a lane that already ran at 0.01 drew a marker "lr 0.01 → 0.01"."""
        exp = Experiment(_config(MUON, SGD))
        exp.step()
        exp.apply(SetField("lanes[0].lr", MUON.lr))
        exp.apply(SetField("lanes[1].lr", 10.0))
        exp.step()
        assert [event.field for event in exp.snapshot().events] == ["lanes[1].lr"]
        assert [change.path for _step, change in exp.changes] == ["lanes[1].lr"]

    @pytest.mark.parametrize("change", [AddLane(ADAM), AddLane(ADAM, copy_from=0), RemoveLane(0)])
    def test_a_lane_added_or_removed_at_an_evaluation_leaves_no_gap_in_alignment(self, change):
        """Adding a lane after an evaluation dropped the next alignment and sin Θ of every lane."""
        exp = Experiment(_config(MUON, SGD))
        exp.step(2)  # an evaluation step: its signal gradient serves the next step's alignment
        exp.apply(change)
        exp.step()
        lanes = exp.snapshot().lanes
        assert [lane.signal_step for lane in lanes] == [3] * len(lanes)
        assert all(np.isfinite(lane.alignment) and np.isfinite(lane.sin_theta) for lane in lanes)
        untouched = Experiment(_config(MUON, SGD))
        untouched.step(3)
        kept = untouched.snapshot().lanes[1]  # SGD, in both runs; its measurement is unchanged
        assert lanes[0 if isinstance(change, RemoveLane) else 1].alignment == kept.alignment


class TestDivergenceAndReset:
    def test_diverging_lane_is_frozen_and_others_continue(self, monkeypatch):
        spec = OPTIMIZERS["ngd"]
        blow_up = dataclasses.replace(spec, rule=lambda g, state, lane: g * float("inf"))
        monkeypatch.setitem(OPTIMIZERS, "ngd", blow_up)
        exp = Experiment(_config(MUON, LaneConfig(optimizer="ngd", lr=0.1)))
        exp.step(3)
        snap = exp.snapshot()
        assert snap.lanes[1].diverged
        assert not snap.lanes[0].diverged
        assert torch.isfinite(exp.weights).all()
        (event,) = [e for e in snap.events if "diverged" in e.text]
        # named as lanes[1], `--until 1:diverged` and the JSON's lanes[1] name it: numbering starts at 0
        assert event.field == "lanes[1].diverged"
        assert event.step == snap.lanes[1].diverged_step  # the step it diverged at, as the pause says
        assert event.text.startswith(f"lane 1 diverged ({snap.lanes[1].label}")

    def test_a_frozen_lane_has_no_update_to_measure_but_its_gradient_and_weights_are(self, monkeypatch):
        """A diverged lane takes no step: its update of zeros measured alignment 0 and its frozen
        buffer sin Θ 0 ("a perfect match"), and its gap ran on flat in ②."""
        calls = []

        def rule(g, state, lane):
            calls.append(1)
            return g * float("inf") if len(calls) >= 3 else g

        monkeypatch.setitem(OPTIMIZERS, "ngd", dataclasses.replace(OPTIMIZERS["ngd"], rule=rule))
        exp = Experiment(_config(MUON, LaneConfig(optimizer="ngd", lr=0.1, momentum=0.9)))
        snapshots = []
        for _ in range(4):
            exp.step(1)
            snapshots.append(exp.snapshot())
        stepped = {s.step: s.lanes[1] for s in snapshots}
        assert [stepped[k].diverged for k in (1, 2, 3, 4)] == [False, False, True, True]
        of_a_step = ("alignment", "sin_theta", "gap", "ratio_gap")
        for k in (1, 2):
            assert all(np.isfinite(getattr(stepped[k], name)) for name in of_a_step), k
            assert stepped[k].spectra.update.size
        for k in (3, 4):  # it took no step at 3, where its update was not finite, nor after
            lane, other = stepped[k], snapshots[k - 1].lanes[0]
            assert all(np.isnan(getattr(lane, name)) for name in of_a_step), k
            assert lane.spectra.update.size == 0 and np.isnan(lane.update_isotropy.entropy)
            assert lane.spectra.momentum.size == 0  # the buffer its failed step left: not the lane's
            assert np.isfinite(lane.spectra.gradient).all() and lane.spectra.gradient.size  # at its W
            assert lane.spectra.weights.size and np.isfinite(lane.batch_loss)
            assert all(np.isfinite(getattr(other, name)) for name in of_a_step)  # the others measure on

    def test_reset_replays_the_run_and_a_new_seed_changes_it(self):
        exp = Experiment(_config(MUON, SGD))
        exp.step(4)
        first = exp.weights.clone()
        exp.reset()
        assert exp.step_count == 0
        assert torch.count_nonzero(exp.weights) == 0
        exp.step(4)
        assert torch.equal(exp.weights, first)
        exp.reset(seed=9)
        exp.step(4)
        assert exp.config.task.seed == 9
        assert not torch.equal(exp.weights, first)


class TestSnapshots:
    def test_snapshot_is_frozen_with_read_only_arrays(self):
        exp = Experiment(_config(MUON, SGD))
        exp.step(2)
        snap = exp.snapshot()
        with pytest.raises(dataclasses.FrozenInstanceError):
            snap.step = 5
        lane = snap.lanes[0]
        for array in (lane.class_error, lane.spectra.gradient, lane.spectra.momentum, lane.filtering_ratio):
            assert isinstance(array, np.ndarray)
            assert not array.flags.writeable
        assert not any(isinstance(v, torch.Tensor) for v in dataclasses.asdict(snap).values())

    def test_snapshot_does_not_change_when_the_run_continues(self):
        exp = Experiment(_config(MUON))
        exp.step(2)
        snap = exp.snapshot()
        before = snap.lanes[0].spectra.weights.copy()
        exp.step(3)
        assert snap.step == 2
        assert np.array_equal(snap.lanes[0].spectra.weights, before)

    def test_metric_cadences_are_recorded(self):
        exp = Experiment(_config(MUON, run=RunConfig(eval_every=3, spectra_every=2)))
        exp.step(5)
        lane = exp.snapshot().lanes[0]
        assert lane.eval_step == 3
        assert lane.spectra_step == 4
        assert lane.signal_step == 4
        assert lane.spectra.gradient.shape == (16,)
        assert lane.class_error.shape == (64,)

    def test_momentum_spectrum_and_filtering_ratio(self):
        exp = Experiment(_config(MUON, LaneConfig(optimizer="muon", order="none", lr=0.1)))
        exp.step(3)
        with_buffer, without = exp.snapshot().lanes
        assert with_buffer.spectra.momentum.shape == (16,)
        s_grad = with_buffer.spectra.gradient
        live = s_grad > 1e-12 * s_grad[0]  # beyond the minibatch gradient's rank σ_k(G) is round-off
        assert np.allclose(
            with_buffer.filtering_ratio[live], with_buffer.spectra.momentum[live] / s_grad[live]
        )
        assert np.isnan(with_buffer.filtering_ratio[~live]).all()
        assert without.spectra.momentum.size == 0
        assert without.filtering_ratio.size == 0
        # Muon's update direction is an orthogonal matrix: all singular values 1
        assert np.allclose(with_buffer.spectra.update, 1.0)
        assert with_buffer.update_isotropy.entropy == pytest.approx(1.0)

    def test_the_filtering_ratio_and_gap_read_every_buffer_as_the_ema_of_its_gradients(self):
        """A sum buffer is 1/(1−μ) times the EMA of the same gradients: its raw spectrum is that
        much larger, its filtering ratio and its spectral gap the same (the gap read 1/(1−μ) = 10
        times the EMA's). A post-order buffer averages msgn(G): no ratio, its gap its own."""
        lanes = (
            LaneConfig(optimizer="sgd", lr=2.0, momentum=0.9, buffer="sum"),
            LaneConfig(optimizer="sgd", lr=20.0, momentum=0.9, buffer="ema"),
            LaneConfig(optimizer="muon", lr=0.1, momentum=0.9, order="post"),
        )
        exp = Experiment(_config(*lanes))
        exp.step(4)
        summed, averaged, post = exp.snapshot().lanes
        assert (summed.buffer, averaged.buffer, post.buffer) == ("sum", "ema", "ema")
        rank = averaged.spectra.gradient > 1e-9 * averaged.spectra.gradient[0]  # a small batch: rank < d
        np.testing.assert_allclose(summed.spectra.gradient[rank], averaged.spectra.gradient[rank], rtol=1e-9)
        head = slice(0, 4)  # well above the noise floor of either buffer
        np.testing.assert_allclose(
            summed.spectra.momentum[head], averaged.spectra.momentum[head] / 0.1, rtol=1e-9
        )
        np.testing.assert_allclose(summed.filtering_ratio[rank], averaged.filtering_ratio[rank], rtol=1e-9)
        np.testing.assert_allclose(
            averaged.filtering_ratio[rank], averaged.spectra.momentum[rank] / averaged.spectra.gradient[rank]
        )
        assert np.isnan(averaged.filtering_ratio[~rank]).all() and (~rank).any()  # round-off: no ratio
        assert post.spectra.momentum.size == 16  # its buffer is shown, but not as a filtering ratio
        assert post.filtering_ratio.size == 0 and np.isnan(post.tail_filtering)
        r = averaged.gap_rank
        ema_gap = averaged.spectra.momentum[r - 1] - averaged.spectra.momentum[r]
        assert averaged.gap == pytest.approx(ema_gap, rel=1e-12)
        assert summed.gap == pytest.approx(averaged.gap, rel=1e-9)
        assert post.gap == pytest.approx(post.spectra.momentum[r - 1] - post.spectra.momentum[r], rel=1e-12)


class TestSignalMetrics:
    def test_polar_of_the_exact_gradient_is_perfectly_aligned(self):
        """With batch_size = 0 the gradient is the signal: A(msgn(G_sig)) = 1 by definition."""
        task = dataclasses.replace(SMALL, batch_size=0)
        exp = Experiment(_config(LaneConfig(optimizer="muon", order="none", lr=0.1), task=task))
        exp.step(3)
        lane = exp.snapshot().lanes[0]
        assert lane.signal_step == 3
        assert lane.alignment == pytest.approx(1.0, abs=1e-10)

    def test_spiked_stream_alignment_improves_with_momentum_before_the_map(self):
        task = TaskConfig(kind="spiked", rows=40, cols=30, strengths=(6.0, 4.0, 3.0), noise=1.0)
        lanes = (
            LaneConfig(optimizer="muon", order="pre", momentum=0.95, lr=0.01),
            LaneConfig(optimizer="muon", order="none", momentum=0.95, lr=0.01),
        )
        exp = Experiment(ExperimentConfig(task=task, lanes=lanes, run=RunConfig(spectra_every=1)))
        exp.step(80)
        pre, none = exp.snapshot().lanes
        assert pre.alignment > none.alignment + 0.1
        assert pre.sin_theta < none.sin_theta
        assert np.allclose(pre.signal_spectrum[:3], [6.0, 4.0, 3.0])
        assert np.isnan(pre.loss)
