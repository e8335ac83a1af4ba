"""The sweep cache: keys that name the runtime, entries that cannot hurt, writers that cannot collide."""

import json
import threading
from pathlib import Path

import pytest

from muonscope.engine import ExperimentConfig, LaneConfig, RunConfig, TaskConfig
from muonscope.engine.sweep import SweepPoint, SweepRunner, run_point
from muonscope.engine.sweep_cache import CacheWarning, Cleared, SweepCache
from muonscope.engine.sweep_point import SCHEMA, Runtime, compute_point, runtime_of


def _point(d=8, seed=0):
    config = ExperimentConfig(
        task=TaskConfig(d=d, n_items=128, batch_size=0, seed=seed),
        lanes=(
            LaneConfig(optimizer="sgd", lr=1.0, momentum=0.0),
            LaneConfig(optimizer="muon", lr=1.0, momentum=0.0, order="none"),
        ),
        run=RunConfig(eval_every=1000),
    )
    return SweepPoint(config, steps=1, coords=(("d", d), ("seed", seed)))


def _entry(cache_dir, point):
    return SweepCache(cache_dir).path(point, runtime_of(point.config.run))


def _sweep_once(cache_dir, point):
    (result,) = SweepRunner([point], workers=1, cache_dir=cache_dir)
    return result


def _valid_record(tmp_path, point):
    _sweep_once(tmp_path, point)
    return json.loads(_entry(tmp_path, point).read_text())


def _without_lanes(record):
    return {k: v for k, v in record.items() if k != "lanes"}


def _lane_without_label(record):
    lanes = [{k: v for k, v in lane.items() if k != "label"} for lane in record["lanes"]]
    return {**record, "lanes": lanes}


def _lane_changed(index, **fields):
    """The record with lane ``index``'s ``fields`` set as given."""

    def damage(record):
        lanes = [dict(lane) for lane in record["lanes"]]
        lanes[index].update(fields)
        return json.dumps({**record, "lanes": lanes})

    return damage


def _changed(**fields):
    return lambda record: json.dumps({**record, **fields})


#: What a damaged entry holds, made from the valid record of its point.
DAMAGES = {
    "an empty list": lambda record: "[]",
    "an empty object": lambda record: "{}",
    "truncated JSON": lambda record: json.dumps(record)[:200],
    "not UTF-8": lambda record: b"\xff\xfe{",
    "no lanes": lambda record: json.dumps(_without_lanes(record)),
    "lanes of the wrong type": _changed(lanes="x"),
    "a lane without its label": lambda record: json.dumps(_lane_without_label(record)),
    "one lane too few": lambda record: json.dumps({**record, "lanes": record["lanes"][:1]}),
    "seconds as text": _changed(seconds="fast"),
    # each reached the written tables: parquet then crashed on the text, CSV wrote it
    "an accuracy as text": _lane_changed(1, accuracy="high"),
    "a count as a truth value": _lane_changed(0, recovered=True),
    "a count as a fraction": _lane_changed(0, recovered_prefix=2.5),
    "a negative count": _lane_changed(1, recovered=-3),
    "a label as a number": _lane_changed(0, label=3),
    "diverged as text": _lane_changed(1, diverged="no"),
    "a group's loss as text": _lane_changed(0, group_loss=["x"]),
    "an entropy as a list of text": _lane_changed(0, weight_entropy=["a"]),
    "another dtype": _changed(dtype="float16"),
}


@pytest.mark.parametrize("damage", sorted(DAMAGES))
def test_a_damaged_entry_is_recomputed_with_a_warning_naming_it_and_then_repaired(tmp_path, damage):
    point = _point()
    record = _valid_record(tmp_path, point)
    path = _entry(tmp_path, point)
    damaged = DAMAGES[damage](record)
    path.write_bytes(damaged if isinstance(damaged, bytes) else damaged.encode())
    with pytest.warns(CacheWarning, match=f"ignoring the cache entry {path}") as caught:
        result = _sweep_once(tmp_path, point)
    assert len(caught) == 1 and "\n" not in str(caught[0].message)
    assert not result.cached
    assert list(result.lanes) == record["lanes"]  # the same numbers, recomputed
    assert _sweep_once(tmp_path, point).cached  # and stored again, whole


def test_a_folder_at_the_entry_path_is_recomputed_and_left_alone(tmp_path):
    point = _point()
    path = _entry(tmp_path, point)
    path.mkdir(parents=True)
    with pytest.warns(CacheWarning) as caught:
        result = _sweep_once(tmp_path, point)
    messages = [str(w.message) for w in caught]
    assert messages == [
        f"ignoring the cache entry {path}: it is a folder; recomputing it",
        f"cannot write the cache entry {path}: it is a folder; further entries refused alike are not "
        "stored either, and not said",
    ]
    assert not result.cached and result.lanes == tuple(compute_point(point)[0])  # computed afresh, in full
    assert path.is_dir() and [p.name for p in tmp_path.iterdir()] == [path.name]  # no temporary left


def test_an_entry_that_describes_another_point_is_ignored(tmp_path):
    """A record copied (or hash-collided) under the wrong key never passes for the point."""
    mine, other = _point(seed=0), _point(seed=1)
    _sweep_once(tmp_path, other)
    _entry(tmp_path, mine).write_text(_entry(tmp_path, other).read_text())
    with pytest.warns(CacheWarning, match="its 'config' is not the point's"):
        result = _sweep_once(tmp_path, mine)
    assert not result.cached
    assert list(result.lanes) == run_point(mine)[0]


def test_settings_that_resolve_to_one_runtime_share_one_entry(tmp_path):
    """``run.dtype = "auto"`` and ``"float64"`` on a CPU compute the same numbers: they were computed
    twice, into two entries, because the key hashed the setting as well as what it resolves to."""
    asked = _point()
    for run in ({"dtype": "float64"}, {"device": "cpu"}, {"device": "cpu", "dtype": "float64"}):
        alike = SweepPoint(asked.config.with_values([(f"run.{k}", v) for k, v in run.items()]), steps=1)
        assert runtime_of(alike.config.run) == runtime_of(asked.config.run)
        assert SweepCache(tmp_path).path(alike, runtime_of(alike.config.run)) == _entry(tmp_path, asked)
    _sweep_once(tmp_path, asked)
    assert _sweep_once(tmp_path, alike).cached
    in_float32 = SweepPoint(asked.config.with_values([("run.dtype", "float32")]), steps=1)
    assert not _sweep_once(tmp_path, in_float32).cached


def test_the_key_and_the_record_name_the_device_dtype_and_torch_version(tmp_path):
    point = _point()
    cache = SweepCache(tmp_path)
    cpu = Runtime("cpu", "float64", "2.13.0")
    keys = {
        cache.path(point, runtime)
        for runtime in (cpu, Runtime("cuda", "float32", "2.13.0"), Runtime("cpu", "float64", "2.14.0"))
    }
    assert len(keys) == 3
    lanes, seconds = run_point(point)
    cache.store(point, cpu, lanes, seconds)
    record = json.loads(cache.path(point, cpu).read_text())
    assert (record["device"], record["dtype"], record["torch_version"]) == ("cpu", "float64", "2.13.0")
    assert cache.load(point, cpu).lanes == tuple(lanes)
    assert cache.load(point, Runtime("cuda", "float32", "2.13.0")) is None  # a GPU result is another entry


def test_writers_of_one_entry_never_collide(tmp_path):
    """Each writer has its own temporary file: the last rename wins with a whole record."""
    point = _point()
    runtime = runtime_of(point.config.run)
    lanes, _ = run_point(point)
    cache = SweepCache(tmp_path)
    failures = []

    def write(seconds: float) -> None:
        try:
            for _ in range(40):
                cache.store(point, runtime, lanes, seconds)
        except Exception as exc:  # a shared temporary name fails here, renamed away by another writer
            failures.append(exc)

    with _no_warnings():
        threads = [threading.Thread(target=write, args=(float(i),)) for i in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert failures == []
    assert [p.name for p in tmp_path.iterdir()] == [cache.path(point, runtime).name]
    assert cache.load(point, runtime).seconds in {float(i) for i in range(8)}


class _no_warnings:
    """Fail on any warning (a failed write is a CacheWarning) raised in any thread meanwhile."""

    def __enter__(self):
        import warnings

        self._catch = warnings.catch_warnings(record=True)
        self.caught = self._catch.__enter__()
        warnings.simplefilter("always")
        return self

    def __exit__(self, *exc):
        self._catch.__exit__(*exc)
        assert [str(w.message) for w in self.caught] == []


def test_info_counts_entries_by_runtime_and_clear_removes_only_ours(tmp_path):
    cache = SweepCache(tmp_path / "sweeps")
    assert cache.info().entries == 0 and not cache.info().exists and cache.clear() == Cleared(0, 0)
    lanes, seconds = run_point(_point())
    cpu, gpu = Runtime("cpu", "float64", "2.13.0"), Runtime("cuda", "float32", "2.13.0")
    for seed in (0, 1, 2):
        cache.store(_point(seed=seed), cpu, lanes, seconds)
    cache.store(_point(seed=0), gpu, lanes, seconds)
    (cache.folder / ("0" * 32 + ".json")).write_text("{ truncated")
    (cache.folder / "notes.json").write_text("{}")  # someone else's, beside ours
    (cache.folder / ("b" * 32 + ".json")).mkdir()  # a folder is never an entry
    info = cache.info()
    assert info.entries == 5 and info.unreadable == 1
    assert info.kinds == {
        (SCHEMA, "cpu", "float64", "2.13.0"): 3,
        (SCHEMA, "cuda", "float32", "2.13.0"): 1,
    }
    sizes = sum(p.stat().st_size for p in cache.entries())
    assert info.total_bytes == sizes
    assert cache.clear() == Cleared(5, sizes)
    assert sorted(p.name for p in cache.folder.iterdir()) == ["b" * 32 + ".json", "notes.json"]


def test_clear_goes_on_past_an_entry_it_cannot_remove_and_says_which(tmp_path, monkeypatch):
    """Another user's entry in a shared folder stopped the clear at the first, with a traceback."""
    cache = SweepCache(tmp_path / "cache")
    cache.folder.mkdir()
    for name in ("a", "b", "c"):
        (cache.folder / (name * 32 + ".json")).write_text("{}")
    stuck = cache.folder / ("b" * 32 + ".json")
    unlink = Path.unlink

    def refuse_one(path, missing_ok=False):
        if path == stuck:
            raise PermissionError(1, "Operation not permitted", str(path))
        unlink(path, missing_ok=missing_ok)

    monkeypatch.setattr(Path, "unlink", refuse_one)
    cleared = cache.clear()
    assert (cleared.removed, cleared.kept) == (2, 1)
    assert cleared.first_failure == f"{stuck} (Operation not permitted)"
    assert [p.name for p in cache.folder.iterdir()] == [stuck.name]


def test_a_full_disk_is_said_once_for_the_entries_it_refuses(tmp_path, monkeypatch):
    """A sweep of 12 points printed 12 warnings, one per entry, of the one full disk."""
    import errno

    from muonscope.engine import file_writes

    def full(_path, _text):
        raise file_writes.WriteFailed(_path, OSError(errno.ENOSPC, "No space left on device"))

    monkeypatch.setattr("muonscope.engine.sweep_cache.write_text_whole", full)
    cache = SweepCache(tmp_path)
    cpu = Runtime("cpu", "float64", "2.13.0")
    lanes, seconds = run_point(_point())

    def store_four() -> None:
        for seed in range(4):
            cache.store(_point(seed=seed), cpu, lanes, seconds)

    with pytest.warns(CacheWarning) as caught:
        store_four()
    assert [str(w.message).split(": ")[-1] for w in caught] == [
        "no space left on device; further entries refused alike are not stored either, and not said"
    ]
    assert cache.not_stored == {"no space left on device": 4}
