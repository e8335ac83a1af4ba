"""A name that fits the file system only without what muonscope adds while writing is refused up front,
and the bound is the file system's own: the longest name allowed can be staged, one byte more cannot."""

import tempfile

import pytest

from muonscope.engine.file_names import name_overflow
from muonscope.engine.session_format import SessionError
from muonscope.engine.session_saving import STAGING_ADDED_BYTES, check_save_target


def _longest_allowed(tmp_path) -> int:
    length = 1
    while name_overflow(tmp_path / ("S" * (length + 1)), STAGING_ADDED_BYTES, "saving") is None:
        length += 1
    return length


def test_the_longest_session_name_allowed_can_be_staged_and_one_byte_more_cannot(tmp_path):
    longest = _longest_allowed(tmp_path)
    staged = tempfile.mkdtemp(prefix=f".{'S' * longest}.saving.", dir=tmp_path)  # as saving stages it
    assert len(staged.rsplit("/", 1)[1]) == 255  # the file system's whole room, to the byte
    with pytest.raises(OSError, match="File name too long"):
        tempfile.mkdtemp(prefix=f".{'S' * (longest + 1)}.saving.", dir=tmp_path)
    check_save_target(tmp_path / ("S" * longest))
    with pytest.raises(SessionError, match=f"its name is {longest + 1} bytes long: at most {longest} fit"):
        check_save_target(tmp_path / ("S" * (longest + 1)))


def test_names_are_counted_in_bytes_and_every_folder_on_the_way_is_checked(tmp_path):
    assert name_overflow(tmp_path / ("é" * 127)) is None  # 254 bytes
    assert "is 256 bytes long" in name_overflow(tmp_path / ("é" * 128))
    assert "a folder name in it" in name_overflow(tmp_path / ("D" * 256) / "x")
    assert name_overflow(tmp_path / "a" / "b.png", added_bytes=5, what_adds="recording") is None
