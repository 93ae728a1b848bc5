"""colorlib.files: atomic writes."""

from __future__ import annotations

import pathlib

import pytest

from colorlib.files import atomic_write


def test_atomic_write_leaves_the_old_file_when_writing_fails(tmp_path):
    target = tmp_path / "result.txt"
    target.write_text("old")

    def fail(name: str) -> None:
        pathlib.Path(name).write_text("half")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        atomic_write(target, fail)
    assert target.read_text() == "old" and sorted(p.name for p in tmp_path.iterdir()) == ["result.txt"]
    atomic_write(target, lambda name: pathlib.Path(name).write_text("new"))
    assert target.read_text() == "new" and sorted(p.name for p in tmp_path.iterdir()) == ["result.txt"]
