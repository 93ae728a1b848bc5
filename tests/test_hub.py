"""The one downloader (colorlib.hub): resume with Range, sha256 full or prefix, size, mirror, offline errors.

Every test runs against the local server of the ``http_server`` fixture (127.0.0.1) with
files the test writes; nothing touches the network.
"""

from __future__ import annotations

import hashlib
import os

import pytest

from colorlib import hub
from colorlib.hub import ChecksumError, DownloadError, RemoteFile, fetch, fetch_many

BLOB = bytes(range(256)) * 97  # 24,832 bytes, every byte value
DIGEST = hashlib.sha256(BLOB).hexdigest()


@pytest.fixture
def served(http_server):
    (http_server.root / "data").mkdir()
    (http_server.root / "data" / "blob.bin").write_bytes(BLOB)
    return http_server


def _remote(server, **changes) -> RemoteFile:
    values = dict(filename="blob.bin", url=f"{server.url}/data/blob.bin", sha256=DIGEST, size=len(BLOB))
    values.update(changes)
    return RemoteFile(**values)


def test_a_verified_copy_is_written_atomically_and_reused(served, tmp_path):
    target = tmp_path / "out" / "blob.bin"
    assert fetch(_remote(served), target, progress=False) == target
    assert target.read_bytes() == BLOB and not target.with_name("blob.bin.part").exists()
    fetch(_remote(served), target, progress=False)
    assert served.requests_for("data/blob.bin") == [None]  # the second call asked for nothing


def test_a_dropped_connection_is_resumed_with_a_range_request(served, tmp_path):
    served.drop_after("data/blob.bin", 4_000)
    path = fetch(_remote(served), tmp_path / "blob.bin", progress=False)
    assert path.read_bytes() == BLOB
    assert served.requests_for("data/blob.bin") == [None, "bytes=4000-"]


def test_a_part_file_from_an_earlier_run_is_continued(served, tmp_path):
    (tmp_path / "blob.bin.part").write_bytes(BLOB[:10_000])
    fetch(_remote(served), tmp_path / "blob.bin", progress=False)
    assert served.requests_for("data/blob.bin") == ["bytes=10000-"]


def test_a_complete_part_file_is_not_fetched_again(served, tmp_path):
    (tmp_path / "blob.bin.part").write_bytes(BLOB)
    assert fetch(_remote(served), tmp_path / "blob.bin", progress=False).read_bytes() == BLOB
    assert served.requests_for("data/blob.bin") == []
    # Without a known size the server is asked, and its 416 says the part file is whole.
    (tmp_path / "again.part").write_bytes(BLOB)
    fetch(_remote(served, size=None), tmp_path / "again", progress=False)
    assert served.requests_for("data/blob.bin") == [f"bytes={len(BLOB)}-"]


def test_a_server_that_ignores_range_restarts_the_file(served, tmp_path):
    (tmp_path / "blob.bin.part").write_bytes(b"x" * 5_000)  # garbage that must not survive
    served.honour_range = False
    assert fetch(_remote(served), tmp_path / "blob.bin", progress=False).read_bytes() == BLOB


def test_a_wrong_hash_is_refused_and_leaves_nothing(served, tmp_path):
    with pytest.raises(ChecksumError, match="expected 0{64}; the download was discarded"):
        fetch(_remote(served, sha256="0" * 64), tmp_path / "out" / "blob.bin", progress=False)
    assert list((tmp_path / "out").iterdir()) == []


def test_a_prefix_of_the_digest_is_accepted_in_torch_hubs_convention(served, tmp_path):
    assert fetch(_remote(served, sha256=DIGEST[:8]), tmp_path / "blob.bin", progress=False).exists()
    with pytest.raises(ValueError, match="8 to 64 lowercase hex digits"):
        RemoteFile("x", "http://h/x", sha256="abc")


def test_a_file_that_keeps_breaking_off_is_kept_for_a_later_resume(served, tmp_path):
    served.serve_only["data/blob.bin"] = 7_000
    with pytest.raises(DownloadError, match="keeps sending nothing"):
        fetch(_remote(served), tmp_path / "blob.bin", progress=False, max_failures=3)
    assert not (tmp_path / "blob.bin").exists()
    assert (tmp_path / "blob.bin.part").stat().st_size == 7_000


def test_offline_the_error_names_the_address_and_where_to_copy_the_file(served, tmp_path, monkeypatch):
    monkeypatch.setenv("COLORLIB_CACHE", os.fspath(tmp_path / "cache"))
    missing = _remote(served, url=f"{served.url}/data/missing.bin")
    with pytest.raises(DownloadError) as raised:
        fetch(missing, progress=False)
    message = str(raised.value)
    assert "HTTP 404" in message and missing.url in message
    assert os.fspath(tmp_path / "cache" / "blob.bin") in message and "COLORLIB_MIRROR" in message


def test_the_mirror_variable_redirects_every_file(served, tmp_path, monkeypatch):
    monkeypatch.setenv(hub.MIRROR_ENV, f"{served.url}/data")
    remote = RemoteFile("blob.bin", "https://example.invalid/blob.bin", DIGEST, len(BLOB))
    assert fetch(remote, tmp_path / "blob.bin", progress=False).read_bytes() == BLOB


def test_fetch_many_names_every_failure_and_keeps_the_rest(served, tmp_path):
    good = _remote(served, filename="a/blob.bin")
    bad = _remote(served, filename="b/blob.bin", sha256="f" * 64)
    with pytest.raises(ChecksumError, match="1 of 2 files could not be fetched") as raised:
        fetch_many([good, bad], tmp_path, workers=2, progress=False)
    assert "b/blob.bin" in str(raised.value)
    assert (tmp_path / "a" / "blob.bin").read_bytes() == BLOB and not (tmp_path / "b" / "blob.bin").exists()


def test_remote_files_refuse_paths_outside_the_cache():
    with pytest.raises(ValueError, match="relative path inside the cache"):
        RemoteFile("../escape.bin", "http://h/x")
