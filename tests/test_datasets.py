"""colorlib.datasets: the manifests, the split by photographer, the downloader.

Download tests serve small files the test makes from a server on 127.0.0.1 (the
``http_server`` fixture) through ``COLORLIB_MIRROR``, with the landscapes manifest swapped
for records of those files. Tests of the real photos read them from the cache
(``COLORLIB_CACHE``, seeded by CI) and skip where it lacks them.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections import Counter
from dataclasses import asdict, replace
from pathlib import Path

import pytest

from colorlib import datasets, hub
from colorlib.config import cache_dir
from colorlib.images import load_image

REPO = Path(__file__).resolve().parents[1]


# --------------------------------------------------------------------------------------
# the manifests
# --------------------------------------------------------------------------------------


def test_landscapes_manifest_matches_the_readme():
    records = datasets.landscapes_manifest()
    assert len(records) == 1480
    assert Counter(r.category for r in records) == {
        "city": 93, "field": 141, "forest": 436, "lake": 229, "mountain": 226, "ocean": 139, "road": 216,
    }
    photographers = Counter(r.owner_id for r in records)
    assert len(photographers) == 715
    assert photographers.most_common(1) == [("8584048@N05", 360)]
    assert Counter(r.license for r in records) == {"BY": 690, "BY-SA": 742, "CC0": 21, "PDM": 26, "USGov": 1}
    assert sum(r.bytes for r in records) == 33_895_638  # "34 MB"
    assert all(re.fullmatch(r"[0-9a-f]{64}", r.sha256) for r in records)
    assert len({r.file for r in records}) == 1480
    first = records[0]
    assert (first.file, first.title, first.owner, first.license_name) == (
        "city/10044951014_ca0e00a0ba.jpg", "city veins", "jaumescar", "CC BY 2.0",
    )
    assert first.page_url == "https://www.flickr.com/photos/28842017@N00/10044951014"


def test_every_licence_code_maps_to_a_deed():
    assert {r.license for r in datasets.landscapes_manifest()} <= set(datasets.LICENSES)
    links = {code: datasets.LICENSES[code].url for code in ("BY", "BY-SA", "CC0", "PDM")}
    assert links == {
        "BY": "https://creativecommons.org/licenses/by/2.0/",
        "BY-SA": "https://creativecommons.org/licenses/by-sa/2.0/",
        "CC0": "https://creativecommons.org/publicdomain/zero/1.0/",
        "PDM": "https://creativecommons.org/publicdomain/mark/1.0/",
    }
    assert datasets.LICENSES["USGov"].name == "US Government work"


def test_kodak24_manifest():
    records = datasets.kodak24_manifest()
    assert [r.file for r in records] == [f"kodim{i:02d}.png" for i in range(1, 25)]
    assert {(r.license, r.owner, r.dataset) for r in records} == {
        ("Kodak, free for any use", "Eastman Kodak Company", "kodak24")
    }
    assert records[0].sha256 == "a56e27cbf5f843c048b6af1d6e090760e9c92fadba88b7dee0205918a37523bd"
    assert records[0].bytes == 736_501
    assert sum(r.bytes for r in records) == sum(
        int(line.split(",")[1]) for line in (REPO / "colorlib/manifests/kodak24_sizes.csv").read_text().split()[1:]
    )


def test_remote_files_use_the_pinned_addresses_and_cache_layout():
    landscape = datasets.remote_files("landscapes")[0]
    assert landscape.filename == "landscapes/images/city/10044951014_ca0e00a0ba.jpg"
    assert landscape.url == (
        "https://raw.githubusercontent.com/ml5js/ml5-examples/27039e7dd25d1c619fae931bcafd9aae1bdae5a5/"
        "p5js/00_ImageClassification_MultipleImages/images/landscapes_small/city/10044951014_ca0e00a0ba.jpg"
    )
    assert (landscape.sha256, landscape.size) == (
        "34085a80b62f8ee48552ea958830fcff547c4e78340012283ecd242b0c650564", 26_409,
    )
    kodak = datasets.remote_files("kodak24")[23]
    assert kodak.filename == "kodak24/kodim24.png"
    assert kodak.url == (
        "https://raw.githubusercontent.com/coodie/quant/bc7affc715299a8d98403622918116b88657a8b8/images/kodim/kodim24.png"
    )


@pytest.mark.parametrize("function", [datasets.remote_files, datasets.download_dataset, datasets.dataset_files])
def test_unknown_data_sets_are_refused_by_name(function, tmp_path):
    with pytest.raises(ValueError, match="expected one of landscapes, caltech101, kodak24"):
        function("imagenet") if function is datasets.remote_files else function("imagenet", root=tmp_path)
    with pytest.raises(ValueError, match="colorlib download places205"):
        function("places205") if function is datasets.remote_files else function("places205", root=tmp_path)


# --------------------------------------------------------------------------------------
# the split by photographer
# --------------------------------------------------------------------------------------


def test_split_keeps_each_photographer_on_one_side():
    train, validation = datasets.landscapes_split_records()
    train_owners = {r.owner_id for r in train}
    validation_owners = {r.owner_id for r in validation}
    assert not train_owners & validation_owners
    assert len(train) + len(validation) == 1480
    assert {r.file for r in train} | {r.file for r in validation} == {r.file for r in datasets.landscapes_manifest()}
    assert 0.13 <= len(validation) / 1480 <= 0.17
    assert "8584048@N05" in train_owners  # 360 photos would be 24 % on its own
    # pinned: a change of rule or manifest shows here
    assert (len(train), len(validation), len(train_owners), len(validation_owners)) == (1258, 222, 571, 144)
    assert validation[0].file == "city/10443931784_b5a13317b6.jpg"
    assert train[0].file == "city/10044951014_ca0e00a0ba.jpg"


def test_split_is_deterministic_and_follows_the_hash_order():
    first = datasets.landscapes_split_records()
    second = datasets.landscapes_split_records()
    assert first == second
    # the rule by hand: photographers in sha256(id) order, each taken whole while it fits under 222
    records = datasets.landscapes_manifest()
    photos = Counter(r.owner_id for r in records)
    taken, chosen = 0, set()
    for owner in sorted(photos, key=lambda o: hashlib.sha256(o.encode()).hexdigest()):
        if taken + photos[owner] <= 222:
            chosen.add(owner)
            taken += photos[owner]
    assert {r.owner_id for r in first[1]} == chosen


def test_split_fraction_is_respected_and_checked():
    train, validation = datasets.landscapes_split_records(validation_fraction=0.3)
    assert len(validation) == 444 and len(train) == 1036
    assert not {r.owner_id for r in train} & {r.owner_id for r in validation}
    for bad in (0.0, 1.0, -0.1, 1.5):
        with pytest.raises(ValueError, match="strictly between 0 and 1"):
            datasets.landscapes_split_records(bad)


# --------------------------------------------------------------------------------------
# the downloader, against a local server
# --------------------------------------------------------------------------------------


def _fake_landscapes(seed: int = 0) -> tuple[list[datasets.PhotoRecord], dict[str, bytes]]:
    """Three small "photos" of random bytes and their records (real records, other files)."""
    generator = random.Random(seed)
    real = datasets.landscapes_manifest()
    records, contents = [], {}
    for record, size in zip((real[0], real[200], real[900]), (40_000, 30_000, 20_000)):
        content = generator.randbytes(size)
        records.append(replace(record, sha256=hashlib.sha256(content).hexdigest(), bytes=size))
        contents[record.file] = content
    return records, contents


@pytest.fixture
def fake_landscapes(http_server, tmp_path, monkeypatch):
    """The landscapes manifest swapped for three served files; yields (records, contents, server, root)."""
    records, contents = _fake_landscapes()
    for record in records:
        served = http_server.root / record.cache_name
        served.parent.mkdir(parents=True, exist_ok=True)
        served.write_bytes(contents[record.file])
    monkeypatch.setattr(datasets, "landscapes_manifest", lambda: list(records))
    monkeypatch.setenv(hub.MIRROR_ENV, http_server.url)
    root = tmp_path / "download-root"
    return records, contents, http_server, root


def test_download_then_nothing_is_fetched_again(fake_landscapes):
    records, contents, server, root = fake_landscapes
    folder = datasets.download_dataset("landscapes", root=root, workers=2, progress=False)
    assert folder == root / "landscapes"
    for record in records:
        assert (root / record.cache_name).read_bytes() == contents[record.file]
    assert (folder / "manifest.csv").read_bytes() == (REPO / "colorlib/manifests/landscapes.csv").read_bytes()
    assert sorted(path for path, _ in server.requests) == sorted(r.cache_name for r in records)
    assert not list(root.rglob("*.part"))

    before = len(server.requests)
    datasets.download_dataset("landscapes", root=root, progress=False)
    paths = datasets.dataset_files("landscapes", root=root)
    assert len(server.requests) == before  # present and verified: no request at all
    assert paths == sorted(root / r.cache_name for r in records)


def test_wrong_hash_is_refused_and_leaves_nothing(fake_landscapes):
    records, contents, server, root = fake_landscapes
    bad = records[1]
    served = server.root / bad.cache_name
    served.write_bytes(bytes(b ^ 0xFF for b in contents[bad.file]))  # same size, other bytes
    with pytest.raises(hub.ChecksumError, match=re.escape(bad.cache_name)):
        datasets.download_dataset("landscapes", root=root, progress=False)
    assert not (root / bad.cache_name).exists()
    assert not (root / (bad.cache_name + ".part")).exists()
    assert not list(root.rglob("*.part"))
    assert (root / records[0].cache_name).read_bytes() == contents[records[0].file]  # the good ones stay


def test_dropped_connection_resumes_with_a_range_request(fake_landscapes):
    records, contents, server, root = fake_landscapes
    target = records[0]
    server.drop_after(target.cache_name, 12_345)
    datasets.download_dataset("landscapes", root=root, progress=False)
    assert server.requests_for(target.cache_name) == [None, "bytes=12345-"]
    assert hub.sha256_of(root / target.cache_name) == target.sha256
    assert datasets.verify_dataset("landscapes", root=root) == []


def test_interrupted_run_resumes_on_the_next_call(fake_landscapes):
    records, contents, server, root = fake_landscapes
    target = records[0]
    partial = root / (target.cache_name + ".part")  # what a killed run leaves behind
    partial.parent.mkdir(parents=True)
    partial.write_bytes(contents[target.file][:25_000])
    paths = datasets.dataset_files("landscapes", root=root, progress=False)
    assert server.requests_for(target.cache_name) == ["bytes=25000-"]
    assert (root / target.cache_name).read_bytes() == contents[target.file]
    assert not partial.exists()
    assert len(paths) == 3


def test_missing_file_is_named_with_the_hand_copy(fake_landscapes):
    records, contents, server, root = fake_landscapes
    missing = records[2]
    (server.root / missing.cache_name).unlink()
    with pytest.raises(hub.DownloadError) as caught:
        datasets.download_dataset("landscapes", root=root, progress=False)
    message = str(caught.value)
    assert missing.cache_name in message and "HTTP 404" in message
    assert records[0].cache_name not in message  # only the failed file is named
    assert "copy the landscapes dataset folder" in message and str(root / "landscapes") in message
    assert hub.MIRROR_ENV in message
    assert (root / records[0].cache_name).is_file() and not (root / missing.cache_name).exists()


def test_dataset_files_checks_sizes_lazily_and_verify_checks_hashes(fake_landscapes):
    records, contents, server, root = fake_landscapes
    with pytest.raises(FileNotFoundError, match=r"3 of 3 landscapes files are missing") as caught:
        datasets.dataset_files("landscapes", root=root, download=False)
    assert records[0].cache_name in str(caught.value) and "colorlib download landscapes" in str(caught.value)
    assert server.requests == []

    datasets.download_dataset("landscapes", root=root, progress=False)
    # same size, other bytes: the per-call check (size) does not see it, verify_dataset does
    corrupt = root / records[1].cache_name
    corrupt.write_bytes(bytes(len(contents[records[1].file])))
    assert len(datasets.dataset_files("landscapes", root=root, download=False)) == 3
    assert datasets.verify_dataset("landscapes", root=root) == [records[1].cache_name]
    # a truncated file is seen on every call, and refetched
    truncated = root / records[2].cache_name
    truncated.write_bytes(contents[records[2].file][:100])
    before = len(server.requests)
    datasets.dataset_files("landscapes", root=root, progress=False)
    assert truncated.read_bytes() == contents[records[2].file]
    assert corrupt.read_bytes() == contents[records[1].file]  # downloading hashes every file
    assert len(server.requests) == before + 2


_RANK_SCRIPT = """
import json, os, sys, time
from pathlib import Path
from colorlib import datasets

records = [datasets.PhotoRecord(**fields) for fields in json.loads(sys.argv[1])]
datasets.landscapes_manifest = lambda: list(records)
root, go = Path(sys.argv[2]), Path(sys.argv[3])
(go.parent / ("ready-" + os.environ["LOCAL_RANK"])).touch()
while not go.exists():
    time.sleep(0.01)
paths = datasets.dataset_files("landscapes", root=root, progress=False)
print(json.dumps([p.name for p in paths]))
"""


def test_two_ranks_download_once(fake_landscapes, tmp_path):
    records, contents, server, root = fake_landscapes
    server.delay_s = 0.5  # slow answers: the second rank arrives while the first downloads
    fields = json.dumps([asdict(record) for record in records])
    go = tmp_path / "go"
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
                   hub.MIRROR_ENV: server.url, "WORLD_SIZE": "2", "LOCAL_WORLD_SIZE": "2"}
    ranks = [
        subprocess.Popen([sys.executable, "-c", _RANK_SCRIPT, fields, str(root), str(go)],
                         env={**environment, "RANK": str(rank), "LOCAL_RANK": str(rank)},
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for rank in (0, 1)
    ]
    deadline = time.monotonic() + 120
    while not all((tmp_path / f"ready-{rank}").exists() for rank in (0, 1)):
        assert time.monotonic() < deadline and all(p.poll() is None for p in ranks), ranks[0].stderr.read()
        time.sleep(0.01)
    go.touch()  # both start downloading together
    outputs = [process.communicate(timeout=120) for process in ranks]
    assert [process.returncode for process in ranks] == [0, 0], outputs
    names = [Path(name).name for name in sorted(r.cache_name for r in records)]
    assert [json.loads(out) for out, _ in outputs] == [names, names]
    # each file was requested once in all: one rank downloaded, the other waited and reused
    assert sorted(path for path, _ in server.requests) == sorted(r.cache_name for r in records)
    for record in records:
        assert (root / record.cache_name).read_bytes() == contents[record.file]
    assert not (root / "landscapes" / ".download.lock").exists()


def test_offline_the_data_set_fails_once_with_the_folder_and_the_hand_copy(fake_landscapes, monkeypatch, closed_port):
    records, contents, server, root = fake_landscapes
    port = closed_port  # nothing listens there
    monkeypatch.setenv(hub.MIRROR_ENV, f"http://127.0.0.1:{port}")
    with pytest.raises(hub.HostUnreachableError) as caught:
        datasets.download_dataset("landscapes", root=root, progress=False)
    message = str(caught.value)
    assert message.startswith(f"landscapes: cannot reach 127.0.0.1:{port} (connection refused), so 3 of 3 files")
    assert "copy the landscapes dataset folder" in message and str(root / "landscapes") in message
    assert hub.MIRROR_ENV in message and message.count(records[1].cache_name) == 0  # one message, no file list
    assert caught.value.folder == root / "landscapes" and caught.value.missing == 3


def test_http_server_fixture_serves_ranges(http_server):
    (http_server.root / "a.bin").write_bytes(bytes(range(100)))
    request = urllib.request.Request(f"{http_server.url}/a.bin", headers={"Range": "bytes=90-"})
    with urllib.request.urlopen(request, timeout=5) as response:
        assert response.status == 206
        assert response.headers["Content-Range"] == "bytes 90-99/100"
        assert response.read() == bytes(range(90, 100))
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(f"{http_server.url}/missing.bin", timeout=5)
    assert caught.value.code == 404
    assert http_server.requests == [("a.bin", "bytes=90-"), ("missing.bin", None)]


# --------------------------------------------------------------------------------------
# the real photos, from the cache (seeded by CI)
# --------------------------------------------------------------------------------------


def _in_cache(name: str) -> Path:
    """The cache, after fetching what it lacks of data set ``name``, as a user's first call does
    (offline, one HostUnreachableError). CI seeds the cache from the shared data."""
    datasets.dataset_files(name, progress=False)
    return cache_dir()


@pytest.mark.needs_data
def test_cached_landscapes_match_the_manifest():
    root = _in_cache("landscapes")
    assert (root / "landscapes/manifest.csv").read_bytes() == (REPO / "colorlib/manifests/landscapes.csv").read_bytes()
    paths = datasets.dataset_files("landscapes", download=False)  # sizes of all 1,480
    assert len(paths) == 1480 and all(p.stat().st_size > 0 for p in paths)
    records = random.Random(3).sample(datasets.landscapes_manifest(), 30)
    for record in records:
        assert hub.sha256_of(root / record.cache_name) == record.sha256
    image = load_image(root / records[0].cache_name)
    assert image.dtype.name == "uint8" and image.ndim == 3 and min(image.shape[:2]) >= 169
    train, validation = datasets.landscapes_split(download=False)
    assert (len(train), len(validation)) == (1258, 222)
    assert not set(train) & set(validation)


@pytest.mark.needs_data
def test_cached_kodak24_is_the_test_set():
    root = _in_cache("kodak24")
    files = datasets.kodak24_files(download=False)
    assert [p.name for p in files] == [f"kodim{i:02d}.png" for i in range(1, 25)]
    assert datasets.verify_dataset("kodak24") == []
    assert load_image(files[0]).shape == (512, 768, 3)
    assert load_image(root / "kodak24/kodim04.png").shape == (768, 512, 3)
