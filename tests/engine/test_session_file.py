"""Saved sessions: a round trip continues bit for bit; a bad folder is refused in one line, runs nothing."""

import json
import os
import pickle
import shutil
import stat
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import safetensors.torch
import torch

from muonscope.engine.breakpoints import parse_breakpoint
from muonscope.engine.changes import AddLane, SetField
from muonscope.engine.config import ExperimentConfig, LaneConfig, RunConfig, TaskConfig
from muonscope.engine.errors import StepCancelled
from muonscope.engine.session import Session
from muonscope.engine.session_file import FILES, SessionError, open_session, save_session

LANES = (
    LaneConfig(optimizer="sgd", lr=0.5, momentum=0.9),
    LaneConfig(optimizer="adam", lr=0.01, momentum=0.9),
    LaneConfig(optimizer="muon", lr=0.05, momentum=0.95, order="pre", polar="ns"),
)


def _config(dtype: str = "float64") -> ExperimentConfig:
    task = TaskConfig(d=10, n_items=40, batch_size=16, alpha=1.2)
    run = RunConfig(steps=40, eval_every=5, spectra_every=3, dtype=dtype, device="cpu")
    return ExperimentConfig(task=task, lanes=LANES, run=run)


def _two_branches(dtype: str = "float64") -> Session:
    """Main: a lane added at step 6, run to 30. A fork at 12 that changes an lr, run to 26."""
    session = Session(_config(dtype))
    session.set_checkpoint_budget(6 * session.branch.checkpoints.all()[0].nbytes)  # a coarsened grid
    session.run(6, stop_on_breakpoints=False)
    session.apply(AddLane(LaneConfig(optimizer="signgd", lr=0.01), copy_from=0))
    session.commit()
    session.run(30, stop_on_breakpoints=False)
    session.go_to(12)
    assert session.apply(SetField("lanes[0].lr", 0.25))  # behind the head: a fork
    session.commit()
    session.run(26, stop_on_breakpoints=False)
    session.set_breakpoints(
        [
            parse_breakpoint("1:batch_loss < 0.001"),
            replace(parse_breakpoint("diverged"), enabled=False),
            parse_breakpoint("SGD μ=0.9 lr=0.5:accuracy >= 0.99"),
        ]
    )
    return session


def _small_session(steps: int = 5) -> Session:
    config = ExperimentConfig(
        task=TaskConfig(d=8, n_items=32, batch_size=8),
        lanes=(LaneConfig(optimizer="sgd", lr=0.5, momentum=0.9),),
        run=RunConfig(steps=20, eval_every=4, device="cpu"),
    )
    session = Session(config)
    session.run(steps, stop_on_breakpoints=False)
    return session


def _assert_same_record(original: Session, reopened: Session, *, grid: bool = True) -> None:
    assert len(reopened.branches) == len(original.branches)
    assert reopened.branch.id == original.branch.id
    assert reopened.step == original.step
    assert reopened.breakpoints == original.breakpoints
    assert reopened.initial_config == original.initial_config
    assert reopened.config == original.config
    for a, b in zip(original.branches, reopened.branches, strict=True):
        assert (b.id, b.name, b.parent, b.fork_step, b.head_step) == (
            a.id,
            a.name,
            a.parent,
            a.fork_step,
            a.head_step,
        )
        assert b.changes == a.changes
        if grid:  # the budget set on the original is not a setting, so only the saved grid is compared
            assert b.checkpoints.steps == a.checkpoints.steps
            assert b.checkpoints.spacing == a.checkpoints.spacing
        table_a, table_b = a.metrics.table(), b.metrics.table()
        assert table_a.keys() == table_b.keys()
        for name in table_a:
            assert table_b[name].dtype == table_a[name].dtype, name
            np.testing.assert_array_equal(table_b[name], table_a[name], err_msg=name)
        assert b.metrics.labels == a.metrics.labels
        assert b.metrics.stride == a.metrics.stride
        rows_a, rows_b = a.spectra.rows(), b.spectra.rows()
        assert [(r.step, r.lane, r.lane_id) for r in rows_b] == [(r.step, r.lane, r.lane_id) for r in rows_a]
        for ra, rb in zip(rows_a, rows_b, strict=True):
            for name in ("gradient", "momentum", "update", "weights"):
                np.testing.assert_array_equal(getattr(rb.spectra, name), getattr(ra.spectra, name))


def _weights(session: Session) -> np.ndarray:
    return session.experiment.weights.cpu().numpy().copy()


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_a_saved_session_reopens_equal_and_continues_bit_for_bit(tmp_path, dtype):
    session = _two_branches(dtype)
    main, fork = session.branches
    assert (fork.parent, fork.fork_step, fork.head_step, main.head_step) == (0, 12, 26, 30)
    assert len(fork.changes) == 2 and len(main.changes) == 1
    assert main.checkpoints.spacing > 1
    save_session(session, tmp_path / "s")
    reopened = open_session(tmp_path / "s")
    assert reopened.experiment.dtype == session.experiment.dtype == getattr(torch, dtype)
    assert len(reopened.config.lanes) == 4
    _assert_same_record(session, reopened)
    np.testing.assert_array_equal(_weights(reopened), _weights(session))

    for each in (session, reopened):  # the fork, onward
        each.run(37, stop_on_breakpoints=False)
    np.testing.assert_array_equal(_weights(reopened), _weights(session))
    for each in (session, reopened):  # the main branch, from its kept head
        each.switch(0)
        each.run(34, stop_on_breakpoints=False)
    assert reopened.step == 34
    np.testing.assert_array_equal(_weights(reopened), _weights(session))
    for each in (session, reopened):  # back into the main branch: replay from the saved checkpoints
        each.go_to(9)
    np.testing.assert_array_equal(_weights(reopened), _weights(session))
    for each in (session, reopened):  # the fork just after its fork step: replay with its own change
        each.switch(1)
        each.go_to(14)
        assert each.config.lanes[0].lr == 0.25
    np.testing.assert_array_equal(_weights(reopened), _weights(session))
    _assert_same_record(session, reopened, grid=False)


def test_opening_by_the_session_json_path_works_too(tmp_path):
    session = _small_session()
    save_session(session, tmp_path / "s")
    assert open_session(tmp_path / "s" / "session.json").step == 5


# ---- safe loading -------------------------------------------------------------------------------


class _Touch:
    """Unpickling this creates ``path``: proof that loading ran code."""

    def __init__(self, path: Path) -> None:
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, "w"))


@pytest.fixture(scope="module")
def saved(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("saved") / "session"
    save_session(_small_session(), folder)
    return folder


def _copy(saved: Path, tmp_path: Path) -> Path:
    folder = tmp_path / "copy"
    shutil.copytree(saved, folder)
    return folder


def _refused(path: Path) -> str:
    with pytest.raises(SessionError) as caught:
        open_session(path)
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_the_saved_folder_holds_the_four_files(saved):
    assert sorted(p.name for p in saved.iterdir()) == sorted(FILES)
    assert open_session(saved).step == 5


def test_the_saved_metrics_hold_null_where_run_out_does_and_no_nan(saved, tmp_path):
    """A metric not computed at a row was NaN in the session's table and null in ``run --out``'s: a
    reader's mean of the column was NaN on one and a number on the other."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    session = open_session(saved)
    session.branch.metrics.write(tmp_path / "out.parquet")  # run --out's table of the same rows
    saved_table, out_table = pq.read_table(saved / "metrics.parquet"), pq.read_table(tmp_path / "out.parquet")
    assert saved_table.column("loss").null_count > 0  # evaluated every 4th step only
    for name in out_table.column_names:
        if name in ("label", "diverged"):
            continue
        column = saved_table.column(name)
        if _floating(column):
            assert pc.sum(pc.is_nan(column)).as_py() in (0, None), name
        assert column.is_null().to_pylist() == out_table.column(name).is_null().to_pylist(), name


def _floating(column) -> bool:
    import pyarrow as pa

    return pa.types.is_floating(column.type)


def test_a_session_says_where_and_with_what_it_was_computed(saved):
    document = json.loads((saved / "session.json").read_text())
    assert (document["device"], document["dtype"], document["torch_version"]) == (
        "cpu",
        "float64",
        torch.__version__,
    )


def _write_payload(path: Path, marker: Path, writer: str) -> None:
    payload = {"weights": _Touch(marker)}
    if writer == "pickle":
        path.write_bytes(pickle.dumps(payload))
    else:
        torch.save(payload, path)


@pytest.mark.parametrize("writer", ["pickle", "torch.save"])
def test_the_payload_does_run_code_when_unpickled(tmp_path, writer):
    marker = tmp_path / "marker"
    _write_payload(tmp_path / "payload", marker, writer)
    if writer == "pickle":
        loaded = pickle.loads((tmp_path / "payload").read_bytes())
    else:
        loaded = torch.load(tmp_path / "payload", weights_only=False)
    loaded["weights"].close()  # the file the payload opened
    assert marker.exists()


@pytest.mark.parametrize("name", FILES)
@pytest.mark.parametrize("writer", ["pickle", "torch.save"])
def test_a_pickle_in_place_of_a_file_is_refused_without_running(saved, tmp_path, name, writer):
    folder = _copy(saved, tmp_path)
    marker = tmp_path / "marker"
    _write_payload(folder / name, marker, writer)
    message = _refused(folder)
    assert message.startswith(str(folder / name) + ": ")
    assert not marker.exists()


@pytest.mark.parametrize("name", ["tensors.safetensors", "metrics.parquet", "spectra.parquet"])
def test_a_truncated_file_is_refused(saved, tmp_path, name):
    folder = _copy(saved, tmp_path)
    data = (folder / name).read_bytes()
    (folder / name).write_bytes(data[: len(data) // 2])
    message = _refused(folder)
    assert message.startswith(str(folder / name) + ": ")
    assert "readable" in message


def test_a_pickled_session_json_is_called_binary_not_toml(saved, tmp_path):
    folder = _copy(saved, tmp_path)
    (folder / "session.json").write_bytes(pickle.dumps({"format": "muonscope-session"}))
    message = _refused(folder)
    assert message.startswith(str(folder / "session.json") + ": ")
    assert "TOML" not in message
    assert "JSON text (it holds binary data)" in message


def _edit_document(folder: Path, edit) -> None:
    document = json.loads((folder / "session.json").read_text())
    (folder / "session.json").write_text(json.dumps(edit(document)))


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ("not json", "is not valid JSON"),
        ("truncated", "is not valid JSON"),
        ("unterminated", "is not valid JSON (Unterminated string starting: line 2, column 7)"),
        ("no format", "is not a muonscope session"),
        ("other format", "is not a muonscope session"),
        ("newer", "newer"),
        ("no version", "version"),
        ("version 0", "has no valid format version (found 0; a whole number from 1)"),
        ("measures as text", 'has no valid "measures" (found "4"; a whole number from 0)'),
        ("newer measures", "was recorded by a newer muonscope (measures 99; this one knows up to"),
        ("list", "is not a muonscope session"),
        ("nested deep", "nest too deeply"),
        ("huge number", "a number has over 4300 digits"),
    ],
)
def test_a_bad_session_json_is_refused(saved, tmp_path, change, expected):
    folder = _copy(saved, tmp_path)
    path = folder / "session.json"
    if change == "not json":
        path.write_text("format = 'muonscope-session'\n")
    elif change == "truncated":
        path.write_text(path.read_text()[:200])
    elif change == "unterminated":
        path.write_text('{"format": "muonscope-session",\n "x": "abc')
    elif change == "no format":
        _edit_document(folder, lambda d: {k: v for k, v in d.items() if k != "format"})
    elif change == "other format":
        _edit_document(folder, lambda d: d | {"format": "something-else"})
    elif change == "newer":
        _edit_document(folder, lambda d: d | {"version": 99})
    elif change == "no version":
        _edit_document(folder, lambda d: {k: v for k, v in d.items() if k != "version"})
    elif change == "version 0":
        _edit_document(folder, lambda d: d | {"version": 0})
    elif change == "measures as text":
        _edit_document(folder, lambda d: d | {"measures": "4"})
    elif change == "newer measures":
        _edit_document(folder, lambda d: d | {"measures": 99})
    elif change == "nested deep":
        path.write_text("[" * 100_000 + "]" * 100_000)
    elif change == "huge number":
        path.write_text(path.read_text().replace('"current_branch": 0', '"current_branch": ' + "9" * 5000))
    else:
        path.write_text("[1, 2]")
    message = _refused(folder)
    assert message.startswith(str(path) + ": ")
    assert expected in message


def test_a_newer_version_asks_for_an_update(saved, tmp_path):
    folder = _copy(saved, tmp_path)
    _edit_document(folder, lambda d: d | {"version": 99})
    assert "update muonscope" in _refused(folder)


@pytest.mark.parametrize("name", FILES)
def test_a_missing_file_is_named(saved, tmp_path, name):
    folder = _copy(saved, tmp_path)
    (folder / name).unlink()
    message = _refused(folder)
    assert message.startswith(str(folder / name) + ": ")
    assert "missing" in message


def test_a_path_that_does_not_exist_or_is_a_file_is_refused(saved, tmp_path):
    assert _refused(tmp_path / "nowhere") == (
        f"{tmp_path / 'nowhere'}: does not exist; a saved session is a folder holding session.json"
    )
    assert _refused(saved / "metrics.parquet").startswith(f"{saved / 'metrics.parquet'}: is not a session")
    lone = tmp_path / "file.txt"
    lone.write_text("hello")
    assert _refused(lone).startswith(f"{lone}: ")


def test_inconsistent_contents_are_refused_on_one_line(saved, tmp_path):
    folder = _copy(saved, tmp_path)
    _edit_document(folder, lambda d: d | {"current_branch": 7})
    assert "current_branch" in _refused(folder)
    _edit_document(folder, lambda d: d | {"current_branch": 0, "branches": []})
    assert "branch" in _refused(folder)
    shutil.rmtree(folder)
    folder = _copy(saved, tmp_path)
    _edit_document(folder, lambda d: d | {"initial_config": {"task": {"d": -4}}})
    assert _refused(folder).startswith(str(folder / "session.json") + ": ")


# ---- saving ------------------------------------------------------------------------------------


def test_saving_over_a_folder_of_other_files_is_refused(tmp_path):
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "notes.txt").write_text("keep me")
    with pytest.raises(SessionError) as caught:
        save_session(_small_session(), folder)
    assert str(caught.value).startswith(f"{folder}: ") and "\n" not in str(caught.value)
    assert [p.name for p in folder.iterdir()] == ["notes.txt"]
    assert (folder / "notes.txt").read_text() == "keep me"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine"]


def test_saving_over_a_file_is_refused(tmp_path):
    target = tmp_path / "file"
    target.write_text("x")
    with pytest.raises(SessionError):
        save_session(_small_session(), target)
    assert target.read_text() == "x"


def test_saving_into_an_empty_folder_works(tmp_path):
    (tmp_path / "empty").mkdir()
    save_session(_small_session(), tmp_path / "empty")
    assert open_session(tmp_path / "empty").step == 5


def test_saving_twice_replaces_the_session_cleanly(tmp_path):
    session = _small_session(4)
    save_session(session, tmp_path / "s")
    session.run(9, stop_on_breakpoints=False)
    save_session(session, tmp_path / "s")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s"]
    assert sorted(p.name for p in (tmp_path / "s").iterdir()) == sorted(FILES)
    reopened = open_session(tmp_path / "s")
    assert reopened.step == reopened.branch.head_step == 9
    np.testing.assert_array_equal(_weights(reopened), _weights(session))


def test_saving_again_keeps_what_else_the_folder_holds(tmp_path):
    """Re-saved in place, a session folder lost the notes and the session saved inside it."""
    session = _small_session(4)
    save_session(session, tmp_path / "s")
    (tmp_path / "s" / "notes.txt").write_text("lr sweep next")
    save_session(_small_session(3), tmp_path / "s" / "child")
    session.run(9, stop_on_breakpoints=False)
    save_session(session, tmp_path / "s")
    assert (tmp_path / "s" / "notes.txt").read_text() == "lr sweep next"
    assert open_session(tmp_path / "s" / "child").step == 3
    assert open_session(tmp_path / "s").step == 9
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s"]  # nothing set aside is left behind


def test_saving_keeps_the_folders_permissions_and_makes_files_as_the_umask_says(tmp_path):
    """Saved again, a 755 session folder came back 700, and tensors.safetensors was always 600."""
    old_mask = os.umask(0o022)
    try:
        session = _small_session(4)
        save_session(session, tmp_path / "s")
        assert stat.S_IMODE((tmp_path / "s").stat().st_mode) == 0o755  # a new folder, as mkdir makes it
        (tmp_path / "s").chmod(0o750)  # shared with a group
        session.run(9, stop_on_breakpoints=False)
        save_session(session, tmp_path / "s")
        assert stat.S_IMODE((tmp_path / "s").stat().st_mode) == 0o750
        for name in FILES:
            assert stat.S_IMODE((tmp_path / "s" / name).stat().st_mode) == 0o644, name
    finally:
        os.umask(old_mask)


def test_saving_into_the_folder_a_process_stands_in_leaves_it_standing_there(tmp_path, monkeypatch):
    """``cd s && muonscope run --resume . --save .`` swapped the folder away from under the shell."""
    session = _small_session(4)
    save_session(session, tmp_path / "s")
    monkeypatch.chdir(tmp_path / "s")
    session.run(9, stop_on_breakpoints=False)
    save_session(session, Path("."))
    assert sorted(p.name for p in Path(".").iterdir()) == sorted(FILES)  # the same folder, new files
    assert open_session(Path(".")).step == 9


def test_a_save_that_fails_while_replacing_the_files_puts_the_old_ones_back(tmp_path, monkeypatch):
    import muonscope.engine.session_saving as saving

    session = _small_session(4)
    save_session(session, tmp_path / "s")
    (tmp_path / "s" / "notes.txt").write_text("kept")
    session.run(9, stop_on_breakpoints=False)
    real_replace, failed = os.replace, []

    def fail_at_the_last_file(source, destination):  # once: the new session.json moving in
        if Path(destination).name == "session.json" and Path(source).name == "session.json" and not failed:
            failed.append(source)
            raise OSError(28, "No space left on device")
        real_replace(source, destination)

    monkeypatch.setattr(saving.os, "replace", fail_at_the_last_file)
    with pytest.raises(OSError, match=r"cannot be saved there \(no space left on device\)"):
        save_session(session, tmp_path / "s")
    monkeypatch.undo()
    assert sorted(p.name for p in (tmp_path / "s").iterdir()) == sorted([*FILES, "notes.txt"])
    assert open_session(tmp_path / "s").step == 4  # the session saved before, whole


def test_saving_again_drops_what_a_killed_save_left_in_the_folder(tmp_path):
    session = _small_session(4)
    save_session(session, tmp_path / "s")
    abandoned = tmp_path / "s" / ".s.saving.x1y2"  # as a save killed midway leaves it
    abandoned.mkdir()
    (abandoned / "tensors.safetensors").write_bytes(b"0" * 1000)
    (tmp_path / "s" / ".notes").write_text("mine")  # the user's hidden file stays
    save_session(session, tmp_path / "s")
    assert sorted(p.name for p in (tmp_path / "s").iterdir()) == sorted([*FILES, ".notes"])


@pytest.mark.parametrize("saved_to", ["s", "other"])
def test_a_save_drops_what_a_killed_save_of_a_new_folder_left_beside_it(tmp_path, saved_to):
    """Killed while writing its first save, a run left a hidden 200 MB folder beside the session's
    place; saving there again later, or another session beside it, kept it for good."""
    from muonscope.engine.session_swap import STAGING_PREFIX

    abandoned = tmp_path / (STAGING_PREFIX.format(name="s") + "k1ll3d00")  # as the kill left it
    abandoned.mkdir()
    (abandoned / ".tmpBfnlZG").write_bytes(b"0" * 1000)  # the tensors file safetensors was writing
    (abandoned / "session.json").write_text("{")
    lookalike = tmp_path / (STAGING_PREFIX.format(name="mine") + "k33p1t00")  # not a session's files
    lookalike.mkdir()
    (lookalike / "notes.txt").write_text("mine")
    save_session(_small_session(4), tmp_path / saved_to)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([saved_to, lookalike.name])
    assert open_session(tmp_path / saved_to).step == 4


def test_saving_through_a_link_replaces_the_folder_it_names(tmp_path):
    session = _small_session(4)
    save_session(session, tmp_path / "real")
    (tmp_path / "link").symlink_to(tmp_path / "real", target_is_directory=True)
    session.run(9, stop_on_breakpoints=False)
    save_session(session, tmp_path / "link")
    assert (tmp_path / "link").is_symlink()
    assert open_session(tmp_path / "real").step == 9
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link", "real"]


def test_a_save_that_fails_midway_leaves_the_previous_session(tmp_path, monkeypatch):
    import pyarrow.parquet as pq

    session = _small_session(4)
    save_session(session, tmp_path / "s")
    session.run(9, stop_on_breakpoints=False)
    written = []
    real_write = pq.write_table

    def write_then_fail(table, where, *args, **kwargs):
        real_write(table, where, *args, **kwargs)
        written.append(Path(where).name)
        raise OSError("disk full")

    monkeypatch.setattr(pq, "write_table", write_then_fail)
    with pytest.raises(OSError, match="disk full"):
        save_session(session, tmp_path / "s")
    assert len(written) == 1 and "metrics.parquet" in written[0]  # through its temporary file
    with pytest.raises(OSError, match="disk full"):
        save_session(session, tmp_path / "new")
    monkeypatch.undo()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s"]  # no half-written folder, no leftovers
    assert open_session(tmp_path / "s").step == 4
    save_session(session, tmp_path / "s")  # and the session itself can still be saved
    assert open_session(tmp_path / "s").step == 9


def test_saving_leaves_the_session_running_as_before(tmp_path):
    session, twin = _two_branches(), _two_branches()
    save_session(session, tmp_path / "s")
    for each in (session, twin):
        each.run(33, stop_on_breakpoints=False)
        each.switch(0)
        each.go_to(20)
    np.testing.assert_array_equal(_weights(session), _weights(twin))
    assert [b.head_step for b in session.branches] == [b.head_step for b in twin.branches]


def _edit_branch(folder: Path, **fields) -> None:
    _edit_document(folder, lambda d: d | {"branches": [d["branches"][0] | fields, *d["branches"][1:]]})


def _edit_checkpoint(folder: Path, index: int, **fields) -> None:
    def edit(document):
        checkpoints = list(document["checkpoints"])
        checkpoints[index] = checkpoints[index] | fields
        return document | {"checkpoints": checkpoints}

    _edit_document(folder, edit)


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        # opening replays to the head: 10¹² steps would have run for ever
        (lambda folder: _edit_branch(folder, head_step=10**12), "head_step 1000000000000"),
        (lambda folder: _edit_branch(folder, head_step=3), "head_step 3"),
        (lambda folder: _edit_checkpoint(folder, 1, step=10**6), "checkpoint at step 1000000"),
        (lambda folder: _edit_branch(folder, head=0), "its head is step 0"),
    ],
    ids=["head far ahead", "head behind its metrics", "checkpoint past the head", "head kept elsewhere"],
)
def test_a_head_that_disagrees_with_the_records_is_refused(saved, tmp_path, edit, expected):
    folder = _copy(saved, tmp_path)
    edit(folder)
    message = _refused(folder)
    assert message.startswith(f"{folder}: is not a consistent muonscope session") and expected in message


@pytest.mark.parametrize(
    ("threads", "expected"),
    [
        ("two", "must be a list"),
        ([[1, 2, 3]], "each entry must be [first step, thread count]"),
        ([[1, 0]], "counts are at least 1"),
        ([[3, 2], [1, 1]], "steps increase"),
        ([[1, -2]], "must be a non-negative integer"),
    ],
)
def test_a_bad_record_of_thread_counts_is_refused(saved, tmp_path, threads, expected):
    folder = _copy(saved, tmp_path)
    _edit_branch(folder, threads=threads)
    message = _refused(folder)
    assert "threads" in message and expected in message


def test_a_session_saved_before_thread_counts_were_kept_opens(saved, tmp_path):
    folder = _copy(saved, tmp_path)

    def without_threads(document: dict) -> dict:
        return document | {
            "branches": [{k: v for k, v in b.items() if k != "threads"} for b in document["branches"]]
        }

    _edit_document(folder, without_threads)
    assert open_session(folder).branch.threads == ()


@pytest.fixture(scope="module")
def saved_forked(tmp_path_factory) -> Path:
    """Main to step 6, and a fork at step 3 run to step 6."""
    session = _small_session(6)
    session.go_to(3)
    session.apply(SetField("lanes[0].lr", 0.25))
    session.commit()
    session.run(6, stop_on_breakpoints=False)
    folder = tmp_path_factory.mktemp("forked") / "session"
    save_session(session, folder)
    return folder


def _edit_second_branch(folder: Path, **fields) -> None:
    _edit_document(folder, lambda d: d | {"branches": [d["branches"][0], d["branches"][1] | fields]})


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (lambda f: _edit_second_branch(f, parent=1), "branch 1 ('fork 1 at step 3'): its parent 1 must be"),
        (lambda f: _edit_second_branch(f, parent=None), "only branch 0, main, has no parent"),
        (lambda f: _edit_second_branch(f, fork_step=99), "forked at step 99, past its parent's newest step"),
        (lambda f: _edit_second_branch(f, name="main"), "another branch has that name"),
        (lambda f: _edit_second_branch(f, id=0), "has id 0; branches are numbered"),
        (lambda f: _edit_second_branch(f, checkpoints=[0, 999]), "checkpoint 999 is not one of the"),
        (lambda f: _edit_second_branch(f, head=999), "branch 1's head 999 is not one of the"),
        (
            lambda f: _edit_document(
                f,
                lambda d: (
                    d
                    | {
                        "initial_config": d["initial_config"]
                        | {"task": d["initial_config"]["task"] | {"d": 16}}
                    }
                ),
            ),
            "initial_config's task has weights (16, 16), checkpoint 0's (8, 8)",
        ),
    ],
    ids=[
        "own parent",
        "second root",
        "fork past parent",
        "same name",
        "id out of order",
        "no such checkpoint",
        "no such head",
        "other shape",
    ],
)
def test_a_branch_tree_or_checkpoint_list_that_cannot_be_is_refused(saved_forked, tmp_path, edit, expected):
    folder = _copy(saved_forked, tmp_path)
    assert len(open_session(folder).branches) == 2
    edit(folder)
    message = _refused(folder)
    assert message.startswith(f"{folder}: is not a consistent muonscope session") and expected in message


@pytest.fixture(scope="module")
def saved_with_adam(tmp_path_factory) -> Path:
    config = ExperimentConfig(
        task=TaskConfig(d=8, n_items=32, batch_size=8),
        lanes=(LaneConfig(optimizer="sgd", lr=0.5, momentum=0.9), LaneConfig(optimizer="adam", lr=0.01)),
        run=RunConfig(steps=20, eval_every=4, device="cpu"),
    )
    session = Session(config)
    session.run(5, stop_on_breakpoints=False)
    folder = tmp_path_factory.mktemp("adam") / "session"
    save_session(session, folder)
    return folder


def _edit_tensors(folder: Path, edit) -> None:
    path = folder / "tensors.safetensors"
    tensors = safetensors.torch.load_file(path)
    edit(tensors)
    safetensors.torch.save_file(tensors, path)


def _newest(tensors: dict, suffix: str) -> str:
    """The name of the newest checkpoint's tensor ending in ``suffix`` (that checkpoint is replayed)."""
    names = [name for name in tensors if "." + name.split(".", 1)[1] == suffix]  # "c7" + suffix
    return max(names, key=lambda name: int(name.split(".")[0][1:]))


def _oldest(tensors: dict, suffix: str) -> str:
    """The name of the oldest checkpoint's tensor ending in ``suffix``: opening does not replay from
    it, an inspection of its steps does."""
    names = [name for name in tensors if "." + name.split(".", 1)[1] == suffix]
    return min(names, key=lambda name: int(name.split(".")[0][1:]))


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (lambda t: t[_newest(t, ".weights")].fill_(float("nan")), "weights hold values that are not finite"),
        (lambda t: t.pop(_newest(t, ".lane1.second_moment")), "second_moment, which session.json lists"),
        (lambda t: t.pop(_newest(t, ".lane0.buffer")), ".lane0.buffer, which session.json lists"),
        (
            lambda t: t.__setitem__(_newest(t, ".lane0.buffer"), torch.zeros(3, 3, dtype=torch.float64)),
            "lane 0's buffer of shape (3, 3) does not fit",
        ),
        (
            lambda t: t.__setitem__(name := _newest(t, ".weights"), t[name].float()),
            "weights are float32, but the session was computed in float64",
        ),
        (
            lambda t: t[_newest(t, ".lane1.second_moment")].sub_(1.0),
            "lane 1's second moment holds negative values",
        ),
        (
            lambda t: t.__setitem__(_oldest(t, ".task.batch_generator"), torch.zeros(10, dtype=torch.uint8)),
            "the task's batch_generator is not the state of a random generator",
        ),
    ],
    ids=[
        "weights not finite",
        "Adam without its second moment",
        "momentum buffer gone",
        "buffer of another shape",
        "weights of another precision",
        "negative second moment",
        "random state cut short",
    ],
)
def test_optimizer_state_and_weights_that_no_run_could_hold_are_refused(
    saved_with_adam, tmp_path, edit, expected
):
    """A step on them failed with a runtime error (an SVD of NaN, Adam's missing v) instead."""
    folder = _copy(saved_with_adam, tmp_path)
    _edit_tensors(folder, edit)
    message = _refused(folder)
    assert message.startswith(f"{folder}: is not a consistent muonscope session") and expected in message


def test_opening_can_be_cancelled_during_its_replay_to_the_newest_step(tmp_path):
    """A session saved away from its newest step replays up to a checkpoint spacing to stand there."""
    session = _small_session(steps=14)
    session.set_checkpoint_budget(1)  # one checkpoint kept: the newest step is replayed from step 0
    folder = tmp_path / "s"
    save_session(session, folder)
    _edit_branch(folder, head=None)
    asked = []

    def cancelled() -> bool:
        asked.append(True)
        return len(asked) > 5  # inside the replay's first steps

    with pytest.raises(StepCancelled):
        open_session(folder, cancelled=cancelled)
    assert open_session(folder).step == 14  # the file is as it was: opened whole without a cancel


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            {"step": 2, "set": "lanes[0].lr", "value": "zzz"},
            "session.json: holds settings that are not valid: lanes[0].lr",
        ),
        (
            {"step": 2, "set": "task.d", "value": 64},
            "session.json: holds settings that are not valid: task.d = 64",
        ),
        ({"step": 99, "set": "lanes[0].lr", "value": 0.1}, "a change at step 99 is out of order"),
    ],
    ids=["bad value", "field that is not live", "past the head"],
)
def test_a_recorded_change_the_engine_would_refuse_is_refused_on_opening(saved, tmp_path, change, expected):
    """Found only when a replay reached it, such a change stopped the window's engine for good."""
    folder = _copy(saved, tmp_path)
    _edit_branch(folder, changes=[change])
    assert expected in _refused(folder)


@pytest.mark.parametrize("name", FILES)
def test_a_folder_in_place_of_a_file_is_not_called_missing(saved, tmp_path, name):
    folder = _copy(saved, tmp_path)
    (folder / name).unlink()
    (folder / name).mkdir()
    assert _refused(folder) == f"{folder / name}: is not a regular file (a folder, a pipe or a device)"


def test_an_unreadable_parquet_table_is_named_once_and_cut_between_words(saved, tmp_path):
    folder = _copy(saved, tmp_path)
    (folder / "metrics.parquet").write_bytes(b"PAR1" + b"\0" * 64)
    message = _refused(folder)
    assert message.startswith(f"{folder / 'metrics.parquet'}: is not a readable Parquet table (")
    assert message.count(str(folder)) == 1
    detail = message.split(" (", 1)[1]
    assert detail.endswith(")") and (detail.endswith(" …)") or len(detail) <= 162)
    assert not detail.startswith("Could not open") and " it:" not in detail  # the reason alone


def _saved_document(session: Session, path: Path) -> dict:
    save_session(session, path)
    return json.loads((path / "session.json").read_text(encoding="utf-8"))


def test_a_head_on_the_checkpoint_grid_is_written_once(tmp_path):
    session = _small_session(5)
    assert 5 in session.branch.checkpoints.steps  # the head's step is on the grid
    document = _saved_document(session, tmp_path / "s")
    steps = [record["step"] for record in document["checkpoints"]]
    assert len(steps) == len(set(steps))
    (branch,) = document["branches"]
    assert branch["head"] in branch["checkpoints"]
    reopened = open_session(tmp_path / "s")
    np.testing.assert_array_equal(_weights(reopened), _weights(session))
    for each in (session, reopened):
        each.run(9, stop_on_breakpoints=False)
    np.testing.assert_array_equal(_weights(reopened), _weights(session))


def test_a_head_changed_at_its_step_keeps_both_states(tmp_path):
    """A change made at the head's step: the grid's checkpoint is the state before it, the head after."""
    session = _small_session(5)
    session.apply(SetField("lanes[0].lr", 0.25))
    session.commit()
    document = _saved_document(session, tmp_path / "s")
    fives = [record for record in document["checkpoints"] if record["step"] == 5]
    assert len(fives) == 2
    assert sorted(record["config"]["lanes"][0]["lr"] for record in fives) == [0.25, 0.5]
    reopened = open_session(tmp_path / "s")
    for each in (session, reopened):
        each.run(8, stop_on_breakpoints=False)
    np.testing.assert_array_equal(_weights(reopened), _weights(session))


def _edit_table(folder: Path, name: str, edit) -> None:
    import pyarrow.parquet as pq

    path = folder / name
    pq.write_table(edit(pq.read_table(path)), path)


def _every_other_row(table):
    return table.take(list(range(0, table.num_rows, 2)))


def _twice(table):
    import pyarrow as pa

    return pa.concat_tables([table, table])


def _without(table, step: int, lane: int | None = None):
    """The table without the rows of ``step`` (of one lane, when given)."""
    steps, lanes = table.column("step").to_pylist(), table.column("lane").to_pylist()
    keep = [
        i for i, (s, j) in enumerate(zip(steps, lanes, strict=True)) if s != step or lane not in (None, j)
    ]
    return table.take(keep)


def _step_repeated(table):
    import pyarrow as pa

    return pa.concat_tables([table.slice(0, 2), table])  # step 0's two rows, twice


@pytest.mark.parametrize(
    ("name", "edit", "expected"),
    [
        ("metrics.parquet", lambda t: _without(t, 2), "branch 0: its metrics lack step 2"),
        (
            "metrics.parquet",
            lambda t: _without(t, 3, lane=1),
            "have 2 lane(s) at step 2 and 1 at step 3, with no lane added or removed",
        ),
        ("metrics.parquet", _every_other_row, "its metrics have 1 lane(s) at step 0, its settings 2"),
        ("metrics.parquet", _step_repeated, "branch 0: its metrics hold a step of a lane twice"),
        ("metrics.parquet", _twice, "branch 0: its metrics rows are not in step order"),
        ("spectra.parquet", _twice, "branch 0: its spectra hold a step of a lane twice"),
        ("metrics.parquet", lambda t: t.slice(0, 0), "branch 0: its metrics hold no rows, though it runs to"),
    ],
    ids=[
        "a step dropped",
        "a lane's row dropped",
        "metrics halved",
        "a step repeated",
        "metrics repeated",
        "spectra repeated",
        "metrics emptied",
    ],
)
def test_a_table_with_rows_dropped_or_repeated_is_refused(saved_with_adam, tmp_path, name, edit, expected):
    """Read without a word, they drew curves that jumped over steps or doubled back."""
    folder = _copy(saved_with_adam, tmp_path)
    _edit_table(folder, name, edit)
    message = _refused(folder)
    assert message.startswith(f"{folder}: is not a consistent muonscope session") and expected in message


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (
            lambda folder: _edit_document(folder, lambda d: d | {"branches": {}}),
            "branches must be a list, found dict",
        ),
        (
            lambda folder: _edit_document(folder, lambda d: d | {"breakpoints": "x"}),
            "breakpoints must be a list",
        ),
        (
            lambda folder: _edit_checkpoint(folder, 0, step="three"),
            "checkpoint 0: step must be a non-negative",
        ),
        (lambda folder: _edit_branch(folder, changes=3), "branch 0: changes must be a list, found int"),
        (
            lambda folder: _edit_branch(folder, name=None),
            "branch 0: name must be a name (text that is not blank)",
        ),
    ],
    ids=[
        "branches a table",
        "breakpoints a string",
        "step a word",
        "changes a number",
        "name null",
    ],
)
def test_a_hand_edited_record_is_refused_naming_its_field_not_a_python_exception(
    saved, tmp_path, edit, expected
):
    """ "(TypeError: expected a list, found dict)" named neither the field nor anything a user wrote."""
    folder = _copy(saved, tmp_path)
    edit(folder)
    message = _refused(folder)
    assert message.startswith(f"{folder}: is not a consistent muonscope session: ") and expected in message
    assert "Error" not in message


@pytest.mark.parametrize("field", ["branches", "initial_config", "checkpoints"])
def test_a_record_without_a_field_it_needs_is_said_of_session_json(saved, tmp_path, field):
    """It was said of the folder, as if the four files disagreed, though session.json alone is short."""
    folder = _copy(saved, tmp_path)
    _edit_document(folder, lambda d: {k: v for k, v in d.items() if k != field})
    message = _refused(folder)
    assert message == f"{folder / 'session.json'}: has a record that lacks its field '{field}'"


def test_a_tensor_a_checkpoint_needs_is_said_to_be_missing_from_the_tensor_file(saved, tmp_path):
    """A session saved before records listed their tensors: a missing W read as a record lacking a field."""
    from safetensors.torch import load_file, save_file

    folder = _copy(saved, tmp_path)
    _edit_document(folder, _without_tensor_lists)
    tensors = load_file(folder / "tensors.safetensors")
    save_file({k: v for k, v in tensors.items() if k != "c0.weights"}, folder / "tensors.safetensors")
    message = _refused(folder)
    assert "tensors.safetensors lacks c0.weights, which session.json needs" in message


def _without_tensor_lists(document: dict) -> dict:
    for record in document["checkpoints"]:
        record.pop("tensors", None)
    return document


def test_a_saved_sessions_metric_columns_have_the_types_of_run_out(saved, tmp_path):
    """The README promises "the columns of run --out": the counts were 147.0 in one, 147 in the other."""
    import pyarrow.parquet as pq

    session = open_session(saved)
    written = session.branch.metrics.write(tmp_path / "metrics.parquet")
    out_schema = pq.read_schema(written)
    saved_schema = pq.read_schema(saved / "metrics.parquet")
    shared = [name for name in out_schema.names if name in saved_schema.names]
    assert {"recovered", "recovered_prefix", "ratio_gap_rank", "loss"} <= set(shared)
    for name in shared:
        assert saved_schema.field(name).type == out_schema.field(name).type, name
    reopened = open_session(saved).branch.metrics.table()  # nulls come back as NaN
    np.testing.assert_array_equal(reopened["recovered"], session.branch.metrics.table()["recovered"])
    assert np.isnan(reopened["ratio_gap_rank"]).any() and not np.isnan(reopened["recovered"]).all()


def test_a_session_saved_before_the_estimates_columns_opens_with_them_missing(saved, tmp_path):
    """Its metrics table lacks sampled_items and the standard errors: refused as "lacks the columns"
    it would no longer open at all."""
    import pyarrow.parquet as pq

    folder = _copy(saved, tmp_path)
    table = pq.read_table(folder / "metrics.parquet")
    older = table.drop_columns(["sampled_items", "loss_se", "accuracy_se", "recovered_se"])
    pq.write_table(older, folder / "metrics.parquet")
    reopened = open_session(folder).branch.metrics.table()
    assert np.isnan(reopened["recovered_se"]).all() and np.isnan(reopened["sampled_items"]).all()
    np.testing.assert_array_equal(reopened["loss"], open_session(saved).branch.metrics.table()["loss"])


def test_the_panel_modes_a_session_was_saved_with_come_back_with_it(tmp_path):
    session = _small_session()
    session.view = {"spectrum": "momentum:steps", "series_log": True, "series_smoothing": 0.9}
    save_session(session, tmp_path / "s")
    assert open_session(tmp_path / "s").view == session.view


@pytest.mark.parametrize(
    ("view", "written"),
    [
        (["spectrum"], '["spectrum"]'),
        ({"spectrum": {"nested": 1}}, '{"spectrum": {"nested": 1}}'),
        ({"spectrum": None}, '{"spectrum": null}'),
    ],
)
def test_a_view_that_is_not_a_table_of_plain_values_is_refused_as_the_file_writes_it(
    saved, tmp_path, view, written
):
    """It named the folder, "not a consistent muonscope session", and the table as Python prints it."""
    folder = _copy(saved, tmp_path)
    _edit_document(folder, lambda d: d | {"view": view})
    said = 'has a "view" that is not a table of panel modes (names to plain values)'
    assert _refused(folder) == f"{folder / 'session.json'}: {said}: {written}"


def test_a_session_saved_before_views_were_kept_opens_with_none(saved, tmp_path):
    folder = _copy(saved, tmp_path)
    _edit_document(folder, lambda d: {k: v for k, v in d.items() if k != "view"})
    assert open_session(folder).view == {}


def _deny(monkeypatch, denied: Path) -> None:
    """The system refuses this process every file and folder made or opened in ``denied`` (a chmod
    000 folder; root, who runs the suite in CI, is refused nothing by chmod)."""
    real_mkdir, real_open = os.mkdir, open

    def refuse(path) -> None:
        if Path(path).parent == denied or Path(path) == denied:
            raise PermissionError(13, "Permission denied", str(path))

    def mkdir(path, *args, **kwargs):
        refuse(path)
        return real_mkdir(path, *args, **kwargs)

    def open_(path, *args, **kwargs):
        if isinstance(path, (str, Path)):
            refuse(path)
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(os, "mkdir", mkdir)
    monkeypatch.setattr("builtins.open", open_)


def test_a_folder_the_system_will_not_let_it_write_is_named_with_why(monkeypatch, tmp_path):
    """It said "[Errno 13] Permission denied: '…/ro/.new.saving.90ygw0wl'", a folder no one chose."""
    (tmp_path / "ro").mkdir()
    _deny(monkeypatch, tmp_path / "ro")
    session = _small_session(2)
    with pytest.raises(OSError, match="cannot be saved") as caught:  # the machine's failure: exit 1
        save_session(session, tmp_path / "ro" / "new")
    folder = tmp_path / "ro"
    assert str(caught.value) == f"{folder / 'new'}: cannot be saved there (permission denied in {folder})"
    assert session.step == 2  # nothing computed is lost: the session is as it was


def test_a_session_file_it_may_not_read_is_said_so_not_missing(monkeypatch, saved, tmp_path):
    """Its tensors were "not a readable safetensors file (No such file or directory …)"."""
    folder = _copy(saved, tmp_path)
    _deny(monkeypatch, folder / "tensors.safetensors")
    assert _refused(folder) == f"{folder / 'tensors.safetensors'}: cannot be read (permission denied)"


def test_a_save_keeps_the_session_another_process_saved_there_meanwhile(tmp_path):
    """Two ``run --resume s --save s`` at once: the later save replaced the earlier one's run (or
    deleted its staging folder and lost its own); two ``--save new`` at once lost the later run."""
    from muonscope.engine.session_file import SavedElsewhere

    save_session(_small_session(4), tmp_path / "s")
    mine, theirs = open_session(tmp_path / "s"), open_session(tmp_path / "s")
    theirs.run(7, stop_on_breakpoints=False)
    save_session(theirs, tmp_path / "s")
    mine.run(9, stop_on_breakpoints=False)
    with pytest.raises(SavedElsewhere) as caught:
        save_session(mine, tmp_path / "s")
    assert caught.value.saved_to == tmp_path / "s-2"
    assert str(caught.value) == (
        f"{tmp_path / 's'}: another process saved a session there meanwhile, which is kept; this one is "
        f"saved to {tmp_path / 's-2'} instead"
    )
    assert open_session(tmp_path / "s").step == 7 and open_session(tmp_path / "s-2").step == 9
    mine.run(11, stop_on_breakpoints=False)
    save_session(mine, tmp_path / "s-2")  # its own save now: replaced in place
    assert open_session(tmp_path / "s-2").step == 11 and not (tmp_path / "s-3").exists()
    # a session that was never saved, beside one saved to its new folder meanwhile
    first, second = _small_session(3), _small_session(6)
    save_session(first, tmp_path / "new")
    with pytest.raises(SavedElsewhere):
        save_session(second, tmp_path / "new")
    assert [open_session(tmp_path / name).step for name in ("new", "new-2")] == [3, 6]
    save_session(second, tmp_path / "new", replace_any=True)  # a user who said it may be replaced
    assert open_session(tmp_path / "new").step == 6 and not (tmp_path / "new-3").exists()


@pytest.mark.parametrize("became", ["a folder of other files", "a file"])
def test_a_save_checked_before_its_run_goes_beside_a_folder_taken_meanwhile(tmp_path, became):
    """Another command wrote its tables into the folder while a 300-step run computed: the run,
    checked at its start, was refused at its end and saved nowhere."""
    from muonscope.engine.session_file import SavedElsewhere, check_save_target

    target, session = tmp_path / "s", _small_session(4)
    check_save_target(target)
    if became == "a file":
        target.write_text("tables")
    else:
        target.mkdir()
        (target / "metrics.parquet").write_text("another command's")
    with pytest.raises(SavedElsewhere) as caught:
        save_session(session, target, checked_before=True)
    assert str(caught.value) == (
        f"{target}: it became {became} meanwhile, which is left as it is; this one is saved to "
        f"{tmp_path / 's-2'} instead"
    )
    assert open_session(tmp_path / "s-2").step == 4
    assert (target.read_text() if became == "a file" else (target / "metrics.parquet").read_text()) in (
        "tables",
        "another command's",
    )
    with pytest.raises(SessionError, match=r"holds no muonscope session|not a folder"):
        save_session(session, target)  # asked for now, with nothing checked before: refused


def _killed_while_moving_in(tmp_path, moved: int) -> Path:
    """A folder ``s`` saved at step 4 whose save at step 7 was killed after moving ``moved`` files in,
    and after moving the next one's predecessor out: that file is missing, as a kill leaves it."""
    from muonscope.engine.session_format import FILES
    from muonscope.engine.session_swap import STAGING_PREFIX

    save_session(_small_session(4), tmp_path / "s")
    save_session(_small_session(7), tmp_path / "newer")
    staging = tmp_path / "s" / (STAGING_PREFIX.format(name="s") + "k1ll3d00")
    shutil.copytree(tmp_path / "newer", staging)
    order = sorted(FILES, key=lambda name: name == "session.json")  # as a save moves them
    for name in order[:moved]:
        os.replace(tmp_path / "s" / name, staging / f"{name}.previous")
        os.replace(staging / name, tmp_path / "s" / name)
    if moved < len(order):
        os.replace(tmp_path / "s" / order[moved], staging / f"{order[moved]}.previous")
    return tmp_path / "s"


@pytest.mark.parametrize("moved", [0, 1, 3])
def test_a_save_killed_while_it_moved_its_files_in_is_finished_when_opened(tmp_path, moved):
    """SIGKILL between two of the moves: "metrics.parquet: is missing", both saves' files hidden in
    the folder, and nothing that opened either."""
    from muonscope.engine.session_file import check_session_folder
    from muonscope.engine.session_swap import FINISHED_NOTE

    folder = _killed_while_moving_in(tmp_path, moved)
    check_session_folder(folder)  # the quick check a window makes first finishes it too
    session = open_session(folder)
    assert session.step == 7 and FINISHED_NOTE in session.opened_notes
    assert sorted(p.name for p in folder.iterdir()) == sorted(p.name for p in (tmp_path / "newer").iterdir())
    assert FINISHED_NOTE not in open_session(folder).opened_notes  # said once: the folder is whole now


def test_a_save_killed_after_its_last_move_opens_without_a_note_and_its_leftovers_go(tmp_path):
    """Only the files it replaced were left, to drop: "the move was finished" was said of nothing."""
    from muonscope.engine.session_format import FILES

    folder = _killed_while_moving_in(tmp_path, len(FILES))
    session = open_session(folder)
    assert session.step == 7 and not session.opened_notes
    assert sorted(p.name for p in folder.iterdir()) == sorted(FILES)


def test_a_save_killed_while_it_wrote_leaves_the_earlier_save_to_open(tmp_path):
    from muonscope.engine.session_swap import STAGING_PREFIX

    save_session(_small_session(4), tmp_path / "s")
    staging = tmp_path / "s" / (STAGING_PREFIX.format(name="s") + "k1ll3d00")
    staging.mkdir()
    (staging / "session.json").write_text("{")  # half written
    session = open_session(tmp_path / "s")
    assert session.step == 4 and not session.opened_notes


def test_a_save_waits_for_another_save_into_the_same_folder(tmp_path):
    """Each save dropped every staging folder it found as abandoned, another process's live one too."""
    import threading

    from muonscope.engine.save_identity import saves_locked

    session, done = _small_session(3), threading.Event()

    def save() -> None:
        save_session(session, tmp_path / "s")
        done.set()

    with saves_locked(tmp_path):  # another process's save, under way
        saver = threading.Thread(target=save)
        saver.start()
        assert not done.wait(timeout=3) and not (tmp_path / "s").exists()
    saver.join(timeout=120)
    assert done.is_set() and open_session(tmp_path / "s").step == 3


@pytest.mark.parametrize("name", ["tensors.safetensors", "metrics.parquet", "spectra.parquet"])
def test_a_folder_whose_files_come_from_two_saves_is_refused(tmp_path, name):
    """session.json of one save beside another save's tensors opened as one session: the weights of
    a run at lr = 32 under the settings of the run at lr = 64."""
    from muonscope.engine.session_file import check_session_folder

    save_session(_small_session(5), tmp_path / "a")
    save_session(_small_session(5), tmp_path / "b")  # alike in every step count: only the save differs
    shutil.copy(tmp_path / "b" / name, tmp_path / "a" / name)
    expected = (
        f"{tmp_path / 'a' / name}: comes from another save than session.json (a copy made part-way, or "
        "a folder read while another save wrote it); open a folder whose four files were saved together"
    )
    assert _refused(tmp_path / "a") == expected
    with pytest.raises(SessionError, match="comes from another save"):
        check_session_folder(tmp_path / "a")


def test_a_session_saved_before_saves_were_stamped_still_opens(tmp_path):
    save_session(_small_session(5), tmp_path / "old")
    _edit_document(tmp_path / "old", lambda document: {k: v for k, v in document.items() if k != "save_id"})
    assert open_session(tmp_path / "old").step == 5


def test_a_save_kept_beside_a_long_named_one_fits_its_file_system(tmp_path):
    """A 238-byte name fits with what saving adds; its ``-2`` did not, and the run that would have
    gone there was lost to "file name too long"."""
    from muonscope.engine.session_file import SavedElsewhere
    from muonscope.engine.session_saving import STAGING_ADDED_BYTES

    longest = 255 - STAGING_ADDED_BYTES
    target = tmp_path / ("e" * longest)
    save_session(_small_session(3), target)
    with pytest.raises(SavedElsewhere) as caught:
        save_session(_small_session(6), target)
    beside = caught.value.saved_to
    assert beside.name == "e" * (longest - 2) + "-2"
    assert open_session(target).step == 3 and open_session(beside).step == 6


def test_a_folder_whose_file_system_keeps_no_locks_is_saved_into_all_the_same(tmp_path, monkeypatch):
    """Some network mounts answer a lock with ENOLCK: the save must not fail on what only keeps two
    saves apart."""
    import errno
    import fcntl

    def no_locks(*_args):
        raise OSError(errno.ENOLCK, "No locks available")

    monkeypatch.setattr(fcntl, "flock", no_locks)
    save_session(_small_session(3), tmp_path / "s")
    assert open_session(tmp_path / "s").step == 3
