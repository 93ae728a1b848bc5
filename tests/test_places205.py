"""Places205: the archive's address and size, safe extraction, the paper's split, the command.

The download itself is :func:`colorlib.hub.fetch`'s (tests/test_hub.py tests resuming and
checks). The command runs against the local server of the ``http_server`` fixture on
127.0.0.1, serving a small tarball that the tests build; nothing touches the network.
"""

from __future__ import annotations

import io
import random
import tarfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from colorlib import cli
from colorlib.places205 import (
    DEFAULT_SIZE,
    DEFAULT_URL,
    UnsafeArchiveError,
    archive_remote,
    read_split,
    safe_extract,
    split_paper,
)

# --------------------------------------------------------------------------------------
# A small archive and a server for it.
# --------------------------------------------------------------------------------------


def _jpeg_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.full((8, 8, 3), (200, 40, 40), dtype=np.uint8)).save(buffer, format="JPEG")
    return buffer.getvalue()


def _add_file(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


def _places_like_tarball(count: int, seed: int = 0) -> bytes:
    """``testSet_resize/<hex>.jpg`` members, ``count`` of them, stored in shuffled order."""
    names = [f"testSet_resize/{index * 7919 % 100003:05x}.jpg" for index in range(count)]
    random.Random(seed).shuffle(names)
    jpeg = _jpeg_bytes()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name in names:
            _add_file(tar, name, jpeg)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def archive_bytes() -> bytes:
    return _places_like_tarball(1_003)


# --------------------------------------------------------------------------------------
# Download.
# --------------------------------------------------------------------------------------


def test_the_default_url_and_size_are_the_papers_archive():
    assert DEFAULT_URL == "http://data.csail.mit.edu/places/places205/testSetPlaces205_resize.tar.gz"
    assert DEFAULT_SIZE == 2_341_250_899
    remote = archive_remote()
    assert (remote.filename, remote.url, remote.size) == ("testSetPlaces205_resize.tar.gz", DEFAULT_URL, DEFAULT_SIZE)
    assert archive_remote("http://mirror.example/places.tar.gz").size is None  # a mirror's size is its own


# --------------------------------------------------------------------------------------
# Safe extraction.
# --------------------------------------------------------------------------------------


def _tarball_with(tmp_path: Path, add_bad_member) -> Path:
    path = tmp_path / "evil.tar"
    with tarfile.open(path, "w") as tar:
        _add_file(tar, "testSet_resize/good.jpg", _jpeg_bytes())
        add_bad_member(tar)
        _add_file(tar, "testSet_resize/after.jpg", _jpeg_bytes())
    return path


def _dotdot(tar):
    _add_file(tar, "testSet_resize/../../escaped.txt", b"owned")


def _absolute(tar, target):
    _add_file(tar, str(target), b"owned")


def _symlink_out(tar):
    info = tarfile.TarInfo("testSet_resize/link")
    info.type = tarfile.SYMTYPE
    info.linkname = "../../"
    tar.addfile(info)


def _hardlink_out(tar):
    info = tarfile.TarInfo("testSet_resize/hard")
    info.type = tarfile.LNKTYPE
    info.linkname = "../escaped.txt"
    tar.addfile(info)


def _device(tar):
    info = tarfile.TarInfo("testSet_resize/null")
    info.type = tarfile.CHRTYPE
    tar.addfile(info)


@pytest.mark.parametrize("kind", ["dotdot", "absolute", "symlink", "hardlink", "device"])
def test_an_escaping_member_is_refused_and_nothing_is_written(tmp_path, kind):
    outside = tmp_path / "escaped.txt"
    adders = {
        "dotdot": _dotdot,
        "absolute": lambda tar: _absolute(tar, outside),
        "symlink": _symlink_out,
        "hardlink": _hardlink_out,
        "device": _device,
    }
    archive = _tarball_with(tmp_path, adders[kind])
    root = tmp_path / "data" / "places"
    with pytest.raises(UnsafeArchiveError, match="archive member"):
        safe_extract(archive, root, progress=False)
    assert not outside.exists()
    assert sorted(tmp_path.rglob("*")) == sorted([archive, root.parent, root])  # root is left empty


def test_a_link_inside_the_root_is_extracted(tmp_path):
    def add_inner_link(tar):
        info = tarfile.TarInfo("testSet_resize/alias.jpg")
        info.type = tarfile.SYMTYPE
        info.linkname = "good.jpg"
        tar.addfile(info)

    root = tmp_path / "root"
    created = safe_extract(_tarball_with(tmp_path, add_inner_link), root, progress=False)
    assert created == [root.resolve() / "testSet_resize"]
    assert (root / "testSet_resize" / "alias.jpg").is_symlink()
    assert (root / "testSet_resize" / "alias.jpg").read_bytes() == _jpeg_bytes()
    assert not list(root.glob(".extracting-*"))


def test_not_a_tarball_is_a_clear_error(tmp_path):
    path = tmp_path / "bad.tar.gz"
    path.write_bytes(b"this is not an archive")
    with pytest.raises(ValueError, match="not a readable tar archive"):
        safe_extract(path, tmp_path / "root", progress=False)


# --------------------------------------------------------------------------------------
# The split and the command.
# --------------------------------------------------------------------------------------


def test_the_split_takes_the_first_1000_sorted_names_for_validation(tmp_path, archive_bytes):
    archive = tmp_path / "a.tar.gz"
    archive.write_bytes(archive_bytes)
    root = tmp_path / "root"
    safe_extract(archive, root, progress=False)
    with pytest.warns(UserWarning, match="found 1,003 images"):
        split = split_paper(root)
    names = sorted(p.name for p in (root / "testSet_resize").iterdir())
    assert len(names) == 1_003
    assert [p.name for p in split.validation] == names[:1_000]
    assert [p.name for p in split.train] == names[1_000:]
    lines = (root / "val.txt").read_text().splitlines()
    assert lines[0] == f"testSet_resize/{names[0]}" and len(lines) == 1_000
    assert read_split(root) == split


def test_the_download_command_end_to_end(tmp_path, archive_bytes, capsys, http_server):
    root = tmp_path / "places205"
    (http_server.root / "archive.tar.gz").write_bytes(archive_bytes)
    http_server.drop_after("archive.tar.gz", len(archive_bytes) // 2)
    url = f"{http_server.url}/archive.tar.gz"
    with pytest.warns(UserWarning, match="1,003 images"):
        code = cli.main(["download", "places205", "--root", str(root), "--url", url, "--no-progress"])
    assert code == 0
    assert http_server.requests_for("archive.tar.gz") == [None, f"bytes={len(archive_bytes) // 2}-"]
    assert cli.main(["download", "places205", "--root", str(root), "--url", url, "--no-progress"]) == 0
    assert len(http_server.requests) == 2  # already there: nothing fetched again
    assert "3 training and 1,000 validation images" in capsys.readouterr().out
    assert (root / "archive.tar.gz").read_bytes() == archive_bytes
    assert len(read_split(root).train) == 3
