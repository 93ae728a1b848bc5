"""The one downloader (colorlib.hub): resume with Range, sha256 full or prefix, size, mirror, offline errors.

Every test runs against the local server of the ``http_server`` fixture (127.0.0.1) with
files the test writes; nothing touches the network.
"""

from __future__ import annotations

import hashlib
import os
import socket
import threading
import time
import urllib.error
import urllib.request

import pytest

from colorlib import hub
from colorlib.hub import (
    ChecksumError,
    DownloadError,
    HostUnreachableError,
    RemoteFile,
    download_once,
    fetch,
    fetch_many,
)

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


# --------------------------------------------------------------------------------------
# offline: fail fast and once
# --------------------------------------------------------------------------------------


@pytest.fixture
def counted_requests(monkeypatch):
    """Every request hub makes (its address), whether or not a connection was made."""
    addresses: list[str] = []
    real = urllib.request.urlopen

    def counting(request, *args, **kwargs):
        addresses.append(request.full_url)
        return real(request, *args, **kwargs)

    monkeypatch.setattr(hub.urllib.request, "urlopen", counting)
    return addresses


def _many(base_url: str, count: int) -> list[RemoteFile]:
    return [RemoteFile(f"set/{i:04d}.bin", f"{base_url}/{i:04d}.bin", DIGEST, len(BLOB)) for i in range(count)]


def test_a_refused_port_gives_one_message_after_one_request(tmp_path, counted_requests, closed_port):
    host = f"127.0.0.1:{closed_port}"
    remotes = _many(f"http://{host}/data", 1480)
    started = time.monotonic()
    with pytest.raises(HostUnreachableError) as raised:
        fetch_many(remotes, tmp_path / "root", workers=4, progress=False)
    elapsed = time.monotonic() - started
    assert len(counted_requests) == 1  # not 1,480 files x 5 attempts
    assert elapsed < 20  # about a millisecond here; was about 6 s a file
    error = raised.value
    assert (error.host, error.reason, error.missing) == (host, "connection refused", 1480)
    assert error.folder == tmp_path / "root"
    message = str(error)
    assert message.count("\n") == 0 and f"cannot reach {host} (connection refused)" in message
    assert "1,480 of 1,480 files are missing" in message and "set/0000.bin" in message
    assert os.fspath(tmp_path / "root") in message and hub.MIRROR_ENV in message
    assert not list((tmp_path / "root").rglob("*.part"))


def test_a_single_file_fails_at_once_too(tmp_path, counted_requests, closed_port):
    remote = RemoteFile("blob.bin", f"http://127.0.0.1:{closed_port}/blob.bin", DIGEST, len(BLOB))
    with pytest.raises(HostUnreachableError, match="connection refused") as raised:
        fetch(remote, tmp_path / "blob.bin", progress=False, max_failures=5)
    assert len(counted_requests) == 1
    assert os.fspath(tmp_path / "blob.bin") in str(raised.value)
    assert list(tmp_path.iterdir()) == []  # no part file, no lock file


def test_a_name_that_does_not_resolve_is_unreachable(tmp_path, monkeypatch):
    calls = []

    def no_dns(request, *args, **kwargs):
        calls.append(request.full_url)
        raise urllib.error.URLError(socket.gaierror(socket.EAI_NONAME, "Name or service not known"))

    monkeypatch.setattr(hub.urllib.request, "urlopen", no_dns)
    with pytest.raises(HostUnreachableError, match="name not resolved: Name or service not known") as raised:
        fetch_many(_many("https://files.example.org/data", 30), tmp_path, progress=False)
    assert raised.value.host == "files.example.org" and len(calls) == 1


def test_a_host_that_accepts_but_never_answers_times_out_once(tmp_path, monkeypatch, counted_requests):
    monkeypatch.setattr(hub, "_FIRST_CONTACT_TIMEOUT_S", 0.5)
    with socket.socket() as silent:  # the kernel accepts connections; nobody ever answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        remotes = _many(f"http://127.0.0.1:{silent.getsockname()[1]}", 50)
        with pytest.raises(HostUnreachableError, match=r"\(timed out\)"):
            fetch_many(remotes, tmp_path, progress=False, timeout_s=30.0)
    assert len(counted_requests) == 1


def test_a_404_stays_an_error_of_that_file(served, tmp_path, counted_requests):
    remotes = _many(f"{served.url}/data", 3)
    for remote in remotes[1:]:
        (served.root / "data" / remote.url.rsplit("/", 1)[1]).write_bytes(BLOB)
    with pytest.raises(DownloadError) as raised:  # the first file (the probe) is missing
        fetch_many(remotes, tmp_path, workers=2, progress=False)
    assert not isinstance(raised.value, HostUnreachableError)
    assert "1 of 3 files could not be fetched" in str(raised.value) and "HTTP 404" in str(raised.value)
    assert (tmp_path / "set/0001.bin").read_bytes() == BLOB and (tmp_path / "set/0002.bin").read_bytes() == BLOB
    assert len(counted_requests) == 3


def test_a_drop_mid_file_in_fetch_many_is_resumed(served, tmp_path):
    remotes = _many(f"{served.url}/data", 3)
    for remote in remotes:
        (served.root / "data" / remote.url.rsplit("/", 1)[1]).write_bytes(BLOB)
    served.drop_after("data/0000.bin", 5_000)  # the first file, fetched alone
    served.drop_after("data/0002.bin", 9_000)  # one fetched in parallel
    paths = fetch_many(remotes, tmp_path, workers=2, progress=False)
    assert [path.read_bytes() == BLOB for path in paths] == [True, True, True]
    assert served.requests_for("data/0000.bin") == [None, "bytes=5000-"]
    assert served.requests_for("data/0001.bin") == [None]
    assert served.requests_for("data/0002.bin") == [None, "bytes=9000-"]


def test_a_host_lost_after_the_first_file_stops_every_worker(served, tmp_path, counted_requests, closed_port):
    gone = f"http://127.0.0.1:{closed_port}"
    remotes = [_remote(served, filename="set/first.bin")] + _many(gone, 60)
    with pytest.raises(HostUnreachableError, match="60 of 61 files are missing") as raised:
        fetch_many(remotes, tmp_path, workers=4, progress=False)
    assert raised.value.host == gone.removeprefix("http://")
    assert (tmp_path / "set/first.bin").read_bytes() == BLOB
    # The first worker to give up (5 attempts) stops the others: at most 4 workers x 5
    # attempts, not 60 files x 5.
    assert len(counted_requests) <= 1 + 4 * 5


# --------------------------------------------------------------------------------------
# several processes: one download
# --------------------------------------------------------------------------------------


def test_download_once_runs_one_download_and_the_waiter_reuses_it(tmp_path):
    lock = tmp_path / ".download.lock"
    holding, release = threading.Event(), threading.Event()
    runs: list[str] = []

    def first() -> str:
        runs.append("first")
        holding.set()
        release.wait(10)
        return "downloaded"

    results: dict[str, str] = {}
    holder = threading.Thread(target=lambda: results.update(first=download_once(first, lock=lock)))
    holder.start()
    assert holding.wait(10)
    waiter = threading.Thread(target=lambda: results.update(second=download_once(lambda: runs.append("second") or "verified", lock=lock)))
    waiter.start()
    time.sleep(0.3)
    assert runs == ["first"]  # the second waits for the lock
    release.set()
    holder.join(10)
    waiter.join(10)
    assert runs == ["first", "second"] and results == {"first": "downloaded", "second": "verified"}
    assert not lock.exists()


def test_a_failure_while_others_wait_is_theirs_too(tmp_path):
    lock = tmp_path / ".download.lock"
    holding, release = threading.Event(), threading.Event()
    second_runs: list[int] = []
    errors: dict[str, BaseException] = {}

    def failing() -> None:
        holding.set()
        release.wait(10)
        raise HostUnreachableError("cannot reach example.org", host="example.org", reason="connection refused",
                                   folder=tmp_path, missing=7)

    def call(name: str, download) -> None:
        try:
            download_once(download, lock=lock)
        except DownloadError as error:
            errors[name] = error

    holder = threading.Thread(target=call, args=("first", failing))
    holder.start()
    assert holding.wait(10)
    waiter = threading.Thread(target=call, args=("second", lambda: second_runs.append(1)))
    waiter.start()
    time.sleep(0.3)
    release.set()
    holder.join(10)
    waiter.join(10)
    assert second_runs == []  # it did not try again
    copied = errors["second"]
    assert isinstance(copied, HostUnreachableError) and str(copied) == "cannot reach example.org"
    assert (copied.host, copied.missing, copied.folder) == ("example.org", 7, tmp_path)
    assert download_once(lambda: "later", lock=lock) == "later"  # a later call tries again
