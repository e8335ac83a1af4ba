"""Files written whole or not at all: a full disk leaves the file there before as it was."""

import errno

import pytest

from muonscope.engine.file_writes import WriteFailed, process_umask, replacing, write_text_whole
from muonscope.engine.tables import clear_other_formats, write_table


def _disk_full():
    return OSError(errno.ENOSPC, "No space left on device")


def test_a_write_that_fails_leaves_the_file_before_and_no_part_behind(tmp_path):
    target = tmp_path / "metrics.csv"
    target.write_text("the good table\n")

    def half_written() -> None:
        with replacing(target) as temporary:
            temporary.write_text("half of a ta")
            raise _disk_full()

    with pytest.raises(WriteFailed) as refused:
        half_written()
    assert str(refused.value) == f"cannot write {target}: no space left on device"
    assert refused.value.errno == errno.ENOSPC
    assert target.read_text() == "the good table\n"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["metrics.csv"]


def test_a_whole_write_replaces_the_file_with_the_permissions_a_new_file_gets(tmp_path):
    target = tmp_path / "config.toml"
    target.write_text("old\n")
    write_text_whole(target, "new\n")
    assert target.read_text() == "new\n"
    assert target.stat().st_mode & 0o777 == 0o666 & ~process_umask()  # not the temporary file's 600
    assert [path.name for path in tmp_path.iterdir()] == ["config.toml"]


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_a_table_that_cannot_be_written_keeps_the_one_before_in_either_format(tmp_path, monkeypatch, suffix):
    """``--format csv`` over a folder holding a Parquet table removed that table first, and a full
    disk then left a truncated CSV that read as the run's rows."""
    before = write_table({"step": [0, 1], "loss": [2.0, 1.0]}, tmp_path / "metrics.parquet")
    good = before.read_bytes()
    import csv

    import pyarrow.parquet as pq

    def full(*_args, **_kwargs):
        raise _disk_full()

    monkeypatch.setattr(pq, "write_table", full)
    monkeypatch.setattr(csv, "writer", full)
    with pytest.raises(WriteFailed):
        clear_other_formats(write_table({"step": [0], "loss": [3.0]}, tmp_path / f"metrics{suffix}"))
    assert before.read_bytes() == good
    assert [path.name for path in tmp_path.iterdir()] == ["metrics.parquet"]


@pytest.mark.parametrize("length", [240, 241, 255])
def test_a_name_its_file_system_holds_is_written_whatever_its_temporary_file_adds(tmp_path, length):
    """A 255-byte ``inspect --out`` name was refused after the work: its temporary file's name,
    ``.NAME.XXXXXXXX.part``, was too long."""
    target = tmp_path / ("n" * (length - 4) + ".txt")
    write_text_whole(target, "whole\n")
    assert target.read_text() == "whole\n"
    assert [path.name for path in tmp_path.iterdir()] == [target.name]  # no temporary file left
