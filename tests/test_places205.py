"""The Places205 download (resume, size check), safe extraction and the paper's split.

Everything runs against a local HTTP server on 127.0.0.1 serving a small tarball that
the tests build; nothing touches the network.
"""

from __future__ import annotations

import io
import random
import re
import tarfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from colorlib import cli
from colorlib.places205 import (
    DEFAULT_SIZE,
    DEFAULT_URL,
    DownloadError,
    UnsafeArchiveError,
    download_archive,
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


class _Server:
    """Serves ``blob`` at ``/archive.tar.gz``; honours ``Range``; can drop connections.

    Attributes:
        ranges: the ``Range`` header of every GET (``None`` when absent).
        cut_first_after: the first response stops after this many body bytes.
        serve_only: the server pretends the file is longer than the bytes it has.
        honour_range: ``False`` answers every request with 200 and the whole file.
    """

    def __init__(self, blob: bytes) -> None:
        self.blob = blob
        self.ranges: list[str | None] = []
        self.cut_first_after: int | None = None
        self.serve_only: int | None = None
        self.honour_range = True
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # keep pytest's output clean
                pass

            def do_GET(self) -> None:
                header = self.headers.get("Range")
                server.ranges.append(header)
                total = len(server.blob)
                start = 0
                if header and server.honour_range:
                    start = int(re.fullmatch(r"bytes=(\d+)-", header).group(1))
                    if start >= total:
                        self.send_response(416)
                        self.send_header("Content-Range", f"bytes */{total}")
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                        return
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{total - 1}/{total}")
                else:
                    self.send_response(200)
                self.send_header("Content-Length", str(total - start))
                self.end_headers()
                body = server.blob[start:]
                if server.serve_only is not None:
                    body = server.blob[start:server.serve_only]
                if server.cut_first_after is not None and len(server.ranges) == 1:
                    body = body[: server.cut_first_after]
                self.wfile.write(body)
                self.wfile.flush()
                self.close_connection = True

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/archive.tar.gz"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> "_Server":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="module")
def archive_bytes() -> bytes:
    return _places_like_tarball(1_003)


# --------------------------------------------------------------------------------------
# Download.
# --------------------------------------------------------------------------------------


def test_the_default_url_and_size_are_the_papers_archive():
    assert DEFAULT_URL == "http://data.csail.mit.edu/places/places205/testSetPlaces205_resize.tar.gz"
    assert DEFAULT_SIZE == 2_341_250_899


def test_a_dropped_connection_is_resumed_with_a_range_request(tmp_path, archive_bytes):
    with _Server(archive_bytes) as server:
        server.cut_first_after = 4_000
        path = download_archive(server.url, tmp_path / "archive.tar.gz", progress=False)
    assert path.read_bytes() == archive_bytes
    assert server.ranges == [None, "bytes=4000-"]
    assert not (tmp_path / "archive.tar.gz.part").exists()


def test_a_partial_file_from_an_earlier_run_is_continued(tmp_path, archive_bytes):
    (tmp_path / "archive.tar.gz.part").write_bytes(archive_bytes[:10_000])
    with _Server(archive_bytes) as server:
        path = download_archive(server.url, tmp_path / "archive.tar.gz", progress=False)
        assert server.ranges == ["bytes=10000-"]
        # A complete file under the final name is not fetched again.
        download_archive(server.url, tmp_path / "archive.tar.gz", progress=False)
        assert len(server.ranges) == 1
    assert path.read_bytes() == archive_bytes


def test_a_complete_partial_file_gets_416_and_is_kept(tmp_path, archive_bytes):
    (tmp_path / "archive.tar.gz.part").write_bytes(archive_bytes)
    with _Server(archive_bytes) as server:
        path = download_archive(server.url, tmp_path / "archive.tar.gz", progress=False)
    assert server.ranges == [f"bytes={len(archive_bytes)}-"]
    assert path.read_bytes() == archive_bytes


def test_a_server_that_ignores_range_restarts_the_file(tmp_path, archive_bytes):
    (tmp_path / "archive.tar.gz.part").write_bytes(b"x" * 5_000)  # garbage that must not survive
    with _Server(archive_bytes) as server:
        server.honour_range = False
        path = download_archive(server.url, tmp_path / "archive.tar.gz", progress=False)
    assert path.read_bytes() == archive_bytes


def test_the_size_announced_by_the_server_is_checked(tmp_path, archive_bytes):
    with _Server(archive_bytes) as server:
        with pytest.raises(ValueError, match="expected 123"):
            download_archive(server.url, tmp_path / "archive.tar.gz", expected_size=123, progress=False)
    assert not (tmp_path / "archive.tar.gz").exists()


def test_a_file_shorter_than_its_content_length_never_gets_the_final_name(tmp_path, archive_bytes):
    with _Server(archive_bytes) as server:
        server.serve_only = 7_000  # announces the full size, then always stops at 7,000 bytes
        with pytest.raises(DownloadError, match="keeps sending nothing"):
            download_archive(server.url, tmp_path / "archive.tar.gz", progress=False, max_failures=3)
    assert not (tmp_path / "archive.tar.gz").exists()
    assert (tmp_path / "archive.tar.gz.part").stat().st_size == 7_000  # kept for a later resume


def test_an_unreachable_server_is_a_clear_error(tmp_path):
    with _Server(b"") as server:
        url = server.url
    with pytest.raises(DownloadError, match="cannot download"):
        download_archive(url, tmp_path / "a.tar.gz", progress=False, max_failures=1, timeout_s=2)


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


def test_the_download_command_end_to_end(tmp_path, archive_bytes, capsys):
    root = tmp_path / "places205"
    with _Server(archive_bytes) as server:
        server.cut_first_after = len(archive_bytes) // 2
        with pytest.warns(UserWarning, match="1,003 images"):
            code = cli.main(["download", "places205", "--root", str(root), "--url", server.url, "--no-progress"])
        assert code == 0
        assert len(server.ranges) == 2  # one dropped connection, one resume
        assert cli.main(["download", "places205", "--root", str(root), "--url", server.url, "--no-progress"]) == 0
        assert len(server.ranges) == 2  # already there: nothing fetched again
    assert "3 training and 1,000 validation images" in capsys.readouterr().out
    assert (root / "archive.tar.gz").read_bytes() == archive_bytes
    assert len(read_split(root).train) == 3
