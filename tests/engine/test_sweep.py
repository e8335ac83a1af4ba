"""The sweep runner: parallel processes, streamed results, disk cache, cancellation."""

import pytest

from engine import ExperimentConfig, LaneConfig, RunConfig, TaskConfig
from engine.sweep import SweepPoint, SweepRunner, run_point

LANES = (
    LaneConfig(optimizer="sgd", lr=1.0, momentum=0.0),
    LaneConfig(optimizer="muon", lr=1.0, momentum=0.0, order="none"),
)


def _points(ds=(8, 16, 24), seeds=(0, 1)):
    return [
        SweepPoint(
            ExperimentConfig(
                task=TaskConfig(d=d, n_items=128, batch_size=0, seed=seed),
                lanes=LANES,
                run=RunConfig(eval_every=1000),
            ),
            steps=1,
            coords=(("d", d), ("seed", seed)),
        )
        for d in ds
        for seed in seeds
    ]


def test_parallel_results_equal_in_process_results(tmp_path):
    points = _points()
    parallel = {r.point.key: r for r in SweepRunner(points, workers=2, cache_dir=tmp_path / "a")}
    assert len(parallel) == len(points)
    for point in points:
        lanes, _ = run_point(point)
        assert [lane["recovered"] for lane in lanes] == [
            lane["recovered"] for lane in parallel[point.key].lanes
        ]


def test_rerun_reuses_the_cache_and_only_computes_new_points(tmp_path):
    first = list(SweepRunner(_points(ds=(8, 16)), workers=1, cache_dir=tmp_path))
    assert not any(r.cached for r in first)
    second = list(SweepRunner(_points(ds=(8, 16, 24)), workers=1, cache_dir=tmp_path))
    cached = {r.point.coord("d") for r in second if r.cached}
    fresh = {r.point.coord("d") for r in second if not r.cached}
    assert cached == {8, 16} and fresh == {24}
    by_key = {r.point.key: r.lanes for r in first}
    for result in second:
        if result.cached:
            assert result.lanes == by_key[result.point.key]


def test_a_damaged_cache_file_is_recomputed(tmp_path):
    point = _points(ds=(8,), seeds=(0,))[0]
    list(SweepRunner([point], workers=1, cache_dir=tmp_path))
    (tmp_path / f"{point.key}.json").write_text("{ not json")
    (result,) = SweepRunner([point], workers=1, cache_dir=tmp_path)
    assert not result.cached and result.lanes[1]["recovered"] >= 0


def test_cancel_stops_the_stream(tmp_path):
    runner = SweepRunner(_points(ds=(8, 16, 24, 32)), workers=2, cache_dir=tmp_path)
    seen = []
    for result in runner:
        seen.append(result)
        runner.cancel()
    assert len(seen) == 1 and runner.cancelled
    assert runner.done == 1


def test_point_keys_depend_on_the_config_not_the_coordinates():
    a, b = _points(ds=(8,), seeds=(0, 1))
    assert a.key != b.key
    same = SweepPoint(a.config, 1, coords=(("anything", 1),))
    assert same.key == a.key
    with pytest.raises(KeyError):
        a.coord("missing")
