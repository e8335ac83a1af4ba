"""The bridge preset (12) and its exploratory reproduction, at a size far below CI's."""

import dataclasses
import functools

import numpy as np
import pytest

from muonscope.engine import LaneConfig
from muonscope.engine.presets import load_preset, preset_names
from muonscope.engine.reproduce import Settings, find_lane
from muonscope.engine.reproduce.bridge import (
    SIZES,
    SPECTRA_LANE,
    BridgeSize,
    bridge_points,
    buffer_momentum,
    reproduce_bridge,
)
from muonscope.engine.reproduce.bridge_traces import averages_gradients, lane_trace

TINY = BridgeSize(d=16, n_items=256, steps=40, trace_every_steps=10, seeds=(0, 1))


@functools.cache
def _tiny():
    return reproduce_bridge(Settings(size="ci", workers=1, use_cache=False), TINY)


def test_the_preset_is_listed_and_is_the_issue_s_setting():
    assert "bridge" in preset_names()
    preset = load_preset("bridge")
    assert preset.title.startswith("11 · ")
    task, run = preset.config.task, preset.config.run
    assert (task.kind, task.d, task.n_items, task.alpha, task.batch_size) == ("zipf", 128, 16384, 1.5, 256)
    assert run.steps == 300
    assert run.exact_eval_items >= task.n_items  # otherwise no population gradient is computed
    lanes = preset.config.lanes
    assert [(lane.optimizer, lane.order) for lane in lanes[:3]] == [
        ("muon", "pre"),
        ("muon", "post"),
        ("muon", "none"),
    ]
    assert all(lane.momentum == 0.95 and lane.polar == "exact" for lane in lanes[:3])
    assert lanes[3].optimizer == "adam"
    assert preset.view["series"] == "alignment"


def test_full_size_points_are_the_preset_itself_one_per_seed():
    points = bridge_points(SIZES["full"])
    preset = load_preset("bridge").config
    assert [p.coord("seed") for p in points] == [0, 1, 2]
    for point in points:
        assert point.trace_signal and point.steps == 300
        assert point.config.lanes == preset.lanes
        assert point.config.task == dataclasses.replace(preset.task, seed=point.coord("seed"))


def test_only_buffers_of_raw_gradients_have_a_filtering_ratio():
    assert averages_gradients(LaneConfig(optimizer="muon", momentum=0.95, order="pre"))
    assert averages_gradients(LaneConfig(optimizer="adam", momentum=0.9))
    assert not averages_gradients(LaneConfig(optimizer="muon", momentum=0.95, order="post"))
    assert not averages_gradients(LaneConfig(optimizer="muon", momentum=0.0, order="none"))


def _record(momentum_spectrum, gradient_spectrum):
    """A lane record of two trace steps (0 and 1) whose one measured step is step 1."""
    return {
        "label": "lane",
        "trace_step": [0, 1],
        "signal_trace_step": [1, None],
        "recovered_trace": [0, 3],
        "alignment_trace": [0.5, None],
        "sin_theta_trace": [0.2, None],
        "signal_spectrum_trace": [[2.0, 1.0], []],
        "gradient_spectrum_trace": [gradient_spectrum, []],
        "momentum_spectrum_trace": [momentum_spectrum, []],
        "update_spectrum_trace": [[0.5, 0.5], []],
    }


@pytest.mark.parametrize(("buffer", "scale"), [("ema", 0.1), ("sum", 1.0)])
def test_a_buffer_one_step_old_reads_as_the_gradient_itself_whatever_the_convention(buffer, scale):
    """After one step an EMA buffer is (1 − μ)G and a sum buffer G: bias-corrected, both are G (ratio 1)."""
    lane = LaneConfig(optimizer="muon", momentum=0.9, order="pre", buffer=buffer)
    trace = lane_trace(_record([4.0 * scale, 2.0 * scale], [4.0, 2.0]), lane, rank=1)
    np.testing.assert_allclose(trace.ratio, [[1.0, 1.0]])
    assert trace.normalised_alignment == pytest.approx([1.0])  # A / ‖D‖₂ = 0.5 / 0.5
    np.testing.assert_allclose(trace.head_kept, [2.0])  # σ_1(M̂) = 4 against σ_1(G_sig) = 2


def test_the_tail_ratio_ignores_directions_beyond_the_gradient_s_rank():
    lane = LaneConfig(optimizer="muon", momentum=0.9, order="pre")
    trace = lane_trace(_record([0.4, 0.02, 0.03], [4.0, 0.1, 1e-18]), lane, rank=1)
    assert trace.gradient_rank.tolist() == [2]
    assert trace.tail_ratio == pytest.approx([2.0])  # 10·0.02 / 0.1; the round-off σ_3(G) is skipped


@pytest.mark.timeout(300)
def test_the_reproduction_reports_every_lane_over_time_without_judging():
    result = _tiny()
    assert result.preset == "bridge" and result.claims and result.notes
    assert all(claim.passed is None for claim in result.claims)
    assert not result.failed
    for table in result.tables.values():
        assert len({len(column) for column in table.values()}) == 1
    over_time = result.tables["over_time"]
    lanes = 4
    assert len(over_time["step"]) == len(TINY.seeds) * lanes * 5  # trace steps 0, 10, …, 40
    summary, means = result.tables["summary"], result.tables["summary_mean"]
    assert summary["seed"] == [seed for _ in range(lanes) for seed in TINY.seeds]
    assert set(map(type, summary["seed"])) == set(map(type, over_time["seed"])) == {int}
    assert means["lane"] == list(dict.fromkeys(summary["lane"]))
    for table in (summary, means):
        assert set(table) >= {"recovered_t10", "recovered_t30", "recovered_t40", "alignment", "tail_ratio"}
    pairs = zip(summary["lane"], summary["alignment"], strict=True)
    first_lane = [value for lane, value in pairs if lane == means["lane"][0]]
    assert means["alignment"][0] == pytest.approx(np.nanmean(first_lane))


def test_the_filtering_ratio_leaves_out_the_post_polar_and_no_momentum_lanes():
    result = _tiny()
    (head,) = result.curve_sets("head_ratio_over_steps")
    assert list(head.curves) == ["Muon pre (μ = 0.95, ema)", "Adam (β = (0.95, 0.95))"]
    (recovered,) = result.curve_sets("recovered_over_steps")
    assert len(recovered.curves) == 4
    summary = result.tables["summary"]
    for lane, ratio in zip(summary["lane"], summary["head_ratio"], strict=True):
        assert np.isnan(ratio) == ("post" in lane or "no momentum" in lane), lane


def test_curves_have_seed_spreads_and_the_spectra_come_at_three_steps():
    result = _tiny()
    (recovered,) = result.curve_sets("recovered_over_steps")
    for curve in recovered.curves.values():
        assert curve.x.tolist() == [0.0, 10.0, 20.0, 30.0, 40.0]
        assert np.all(curve.lo <= curve.y) and np.all(curve.y <= curve.hi)
    spectra = result.curve_sets("spectra")
    assert len(spectra) == len(result.curve_sets("filtering_ratio")) == 2  # steps 21 and 31
    for data in spectra:
        assert data.setting["paired_step"] > 20  # past the buffer's first window 1/(1 − μ)
        assert data.curves["G_sig"].y.shape == (TINY.d,)
    for data in result.curve_sets("filtering_ratio"):  # each ratio ends where its least-ranked G ends
        assert {label: curve.x[-1] for label, curve in data.curves.items()} == data.setting["gradient_ranks"]


def test_the_window_is_the_mu_the_buffered_lanes_share_and_a_disagreement_is_refused():
    lanes = load_preset("bridge").config.lanes
    assert buffer_momentum(lanes) == buffer_momentum(lanes[::-1]) == 0.95
    no_momentum = next(i for i, lane in enumerate(lanes) if lane.order == "none")
    unbuffered = dataclasses.replace(lanes[no_momentum], momentum=0.5)  # keeps no buffer: no say
    assert buffer_momentum([*lanes[:no_momentum], unbuffered, *lanes[no_momentum + 1 :]]) == 0.95
    adam = next(i for i, lane in enumerate(lanes) if lane.optimizer == "adam")
    other = [*lanes[:adam], dataclasses.replace(lanes[adam], momentum=0.9)]
    with pytest.raises(ValueError, match="one μ shared by the lanes that keep a buffer"):
        buffer_momentum(other)
    with pytest.raises(ValueError, match="one μ"):
        buffer_momentum([unbuffered])


def test_the_spectra_are_the_pre_polar_lanes_wherever_it_stands(monkeypatch):
    """Lanes are found by role: with the preset's lanes reversed the spectra still follow Muon pre."""
    from muonscope.engine.reproduce import bridge

    in_order = _tiny()  # the preset's own order, computed before the preset is swapped
    preset = load_preset("bridge")
    reversed_lanes = dataclasses.replace(preset.config, lanes=preset.config.lanes[::-1])
    monkeypatch.setattr(
        bridge, "load_preset", lambda name: dataclasses.replace(preset, config=reversed_lanes)
    )
    pre = preset.config.lanes[find_lane(preset.config.lanes, **SPECTRA_LANE)].label
    for result in (in_order, reproduce_bridge(Settings(size="ci", workers=1, use_cache=False), TINY)):
        spectra = [data for data in result.data if data.name == "spectra"]
        assert spectra and all(data.setting["lane"] == pre for data in spectra)


def _trace(label: str, aligned: list[float], sines: list[float]):
    """A lane's trace with the given A(D)/‖D‖₂ and sin Θ at paired steps 1, 11, 21 (spectra empty)."""
    from muonscope.engine.reproduce.bridge_traces import LaneTrace

    empty = np.zeros((len(aligned), 0))
    return LaneTrace(
        label=label,
        optimizer="muon",
        filters=True,
        step=np.arange(0.0, 10.0 * len(aligned) + 1, 10.0),
        recovered=np.zeros(len(aligned) + 1),
        paired=np.arange(1.0, 10.0 * len(aligned), 10.0),
        alignment=np.array(aligned),
        normalised_alignment=np.array(aligned),
        sin_theta=np.array(sines),
        s_signal=empty,
        s_gradient=empty,
        s_buffer=empty,
        rank=1,
    )


def test_the_summary_says_which_lane_leads_in_alignment_over_which_steps():
    """Run means said "post-polar is best aligned" where pre-polar led for the first 30 steps and fell
    below it later; sin Θ's climb to 1 was not said at all."""
    from muonscope.engine.reproduce.bridge_summary import alignment_over_time

    seeds = [
        [
            _trace("pre", [0.9, 0.99, 0.5], [0.9, 0.5, 1.0]),
            _trace("post", [0.8, 0.9, 0.8], [np.nan, 0.6, 0.9]),
        ],
        [
            _trace("pre", [0.9, 0.97, 0.7], [0.9, 0.7, 1.0]),
            _trace("post", [0.8, np.nan, 0.9], [np.nan, 0.6, 0.9]),
        ],
    ]
    said = alignment_over_time(seeds)
    tied = [[_trace("pre", [0.9, 0.9], [1.0, 1.0]), _trace("post", [0.9 * (1 + 1e-15), 0.8], [1.0, 1.0])]]
    assert alignment_over_time(tied).startswith(
        "Over time (seed means of A(D)/‖D‖₂), the best aligned is a tie of pre, post at step 1; "
        "then pre at step 11."
    )
    assert said.startswith(
        "Over time (seed means of A(D)/‖D‖₂), the best aligned is pre at steps 1–11; then post at step 21."
    )
    assert "At steps 1, 11, 21: pre: A 0.90, 0.98, 0.60, sin Θ 0.90, 0.60, 1.00; " in said
    assert (
        "post: A 0.80, 0.90, 0.85, sin Θ —, 0.60, 0.90." in said
    )  # a seed that measured nothing is left out
