"""colorlib.datasets' ``caltech101``: the packaged manifest, the pinned addresses, the downloader.

Download tests serve a few small files from a server on 127.0.0.1 (the ``http_server``
fixture) through ``COLORLIB_MIRROR``, with the Caltech-101 manifest swapped for records of
those files (the pattern of tests/test_datasets.py). The test of the real photos reads
them from the cache (``COLORLIB_CACHE``, seeded by CI from ../shared/datasets/caltech101).
"""

from __future__ import annotations

import hashlib
import random
from collections import Counter
from dataclasses import replace
from pathlib import Path

import pytest

from colorlib import cli, datasets, hub
from colorlib.config import cache_dir
from colorlib.images import load_image

REPO = Path(__file__).resolve().parents[1]
SHARED_MANIFEST = REPO.parent / "shared" / "datasets" / "caltech101" / "manifest.csv"


def test_manifest_has_2999_photos_in_100_categories():
    records = datasets.caltech101_manifest()
    assert len(records) == 2999 and len({r.file for r in records}) == 2999
    categories = Counter(r.category for r in records)
    assert len(categories) == 100
    assert Counter(categories.values()) == {30: 99, 29: 1} and categories["wrench"] == 29
    assert {"Faces", "BACKGROUND_Google", "car_side", "Faces_easy"} & set(categories) == {"Faces", "BACKGROUND_Google"}
    assert all(r.file.startswith(r.category + "/") for r in records)
    assert [r.file for r in records] == sorted(r.file for r in records)  # category, then file name
    assert sum(r.bytes for r in records) == 43_480_247  # "44 MB"
    assert {(r.license, r.license_name, r.owner, r.owner_id, r.dataset) for r in records} == {
        ("CC-BY-4.0", "CC BY 4.0", "Li, Andreeto, Ranzato and Perona", "caltech101", "caltech101")
    }
    assert records[0].license_url == "https://creativecommons.org/licenses/by/4.0/"
    assert records[0].owner_url is None and records[0].page_url == datasets.CALTECH101_RECORD_URL
    assert datasets.manifest("caltech101") == records
    assert "caltech101" in datasets.DATASET_NAMES


def test_packaged_manifest_is_the_shared_one_and_ships_with_the_package():
    packaged = (REPO / "colorlib/manifests/caltech101.csv").read_bytes()
    assert packaged.splitlines()[0] == b"file,sha256,bytes,category,width,height"
    if SHARED_MANIFEST.is_file():  # the copy next to the data, where this checkout has it
        assert packaged == SHARED_MANIFEST.read_bytes()
    assert 'colorlib = ["manifests/*"]' in (REPO / "pyproject.toml").read_text()


def test_remote_files_use_the_pinned_commit_and_the_cache_layout():
    remote = datasets.remote_files("caltech101")[0]
    assert remote.filename == "caltech101/images/BACKGROUND_Google/image_0016.jpg"
    assert remote.url == (
        "https://raw.githubusercontent.com/MachineLearning2020/Homework2-Caltech101/"
        "cb7946ed907cfc19c9b1daf5bb2a0aefcbd8abb3/101_ObjectCategories/BACKGROUND_Google/image_0016.jpg"
    )
    assert (remote.sha256, remote.size) == ("e77ab7276000d9dfbd0688266b3b1ad9363e9d67f3f0170364fc07e952654099", 38_885)


def test_a_manifest_row_outside_its_category_folder_is_refused(monkeypatch):
    text = (REPO / "colorlib/manifests/caltech101.csv").read_bytes().replace(
        b"BACKGROUND_Google/image_0016.jpg", b"Faces/image_0016.jpg", 1
    )
    monkeypatch.setattr(datasets, "_packaged", lambda name: text)
    datasets._caltech101_records.cache_clear()
    try:
        with pytest.raises(ValueError, match=r"Faces/image_0016.jpg: not in its category folder 'BACKGROUND_Google'"):
            datasets.caltech101_manifest()
    finally:
        datasets._caltech101_records.cache_clear()


def test_the_cli_offers_caltech101():
    parser = cli.build_parser()
    assert parser.parse_args(["download", "caltech101"]).dataset == "caltech101"


# --------------------------------------------------------------------------------------
# the downloader, against a local server
# --------------------------------------------------------------------------------------


@pytest.fixture
def fake_caltech(http_server, tmp_path, monkeypatch):
    """The Caltech-101 manifest swapped for four served files; yields (records, contents, server, root)."""
    generator = random.Random(1)
    real = datasets.caltech101_manifest()
    records, contents = [], {}
    for record, size in zip((real[0], real[300], real[301], real[2998]), (9_000, 7_000, 5_000, 3_000)):
        content = generator.randbytes(size)
        records.append(replace(record, sha256=hashlib.sha256(content).hexdigest(), bytes=size))
        contents[record.file] = content
        served = http_server.root / record.cache_name
        served.parent.mkdir(parents=True, exist_ok=True)
        served.write_bytes(content)
    monkeypatch.setattr(datasets, "caltech101_manifest", lambda: list(records))
    monkeypatch.setenv(hub.MIRROR_ENV, http_server.url)
    return records, contents, http_server, tmp_path / "download-root"


def test_download_fetches_each_file_once_and_writes_the_manifest(fake_caltech):
    records, contents, server, root = fake_caltech
    folder = datasets.download_dataset("caltech101", root=root, workers=2, progress=False)
    assert folder == root / "caltech101"
    for record in records:
        assert (root / "caltech101" / "images" / record.file).read_bytes() == contents[record.file]
    assert (folder / "manifest.csv").read_bytes() == (REPO / "colorlib/manifests/caltech101.csv").read_bytes()
    assert sorted(path for path, _ in server.requests) == sorted(r.cache_name for r in records)
    assert datasets.verify_dataset("caltech101", root=root) == []
    before = len(server.requests)
    assert datasets.dataset_files("caltech101", root=root) == sorted(root / r.cache_name for r in records)
    assert len(server.requests) == before  # present and of the right size: nothing fetched


def test_each_missing_file_is_named_once(fake_caltech):
    records, contents, server, root = fake_caltech
    for missing in records[1:3]:
        (server.root / missing.cache_name).unlink()
    with pytest.raises(hub.DownloadError) as caught:
        datasets.download_dataset("caltech101", root=root, progress=False)
    message = str(caught.value)
    assert message.startswith(f"caltech101: 2 of 4 files could not be fetched into {root}:\n")
    failed = [line.strip().split(": ", 1) for line in message.splitlines() if line.startswith("  ")]
    assert sorted(name for name, _ in failed) == sorted(r.cache_name for r in records[1:3])  # one line a file
    assert all("HTTP 404" in reason for _, reason in failed)
    assert records[0].cache_name not in message and records[3].cache_name not in message
    assert "copy the caltech101 dataset folder (manifest.csv and images/<category>/<file>.jpg)" in message
    assert (root / records[0].cache_name).read_bytes() == contents[records[0].file]  # the good ones stay
    assert datasets.verify_dataset("caltech101", root=root) == [r.cache_name for r in records[1:3]]


def test_offline_fails_fast_with_one_message(fake_caltech, monkeypatch, closed_port):
    records, contents, server, root = fake_caltech
    port = closed_port  # nothing listens there
    monkeypatch.setenv(hub.MIRROR_ENV, f"http://127.0.0.1:{port}")
    with pytest.raises(hub.HostUnreachableError) as caught:
        datasets.dataset_files("caltech101", root=root, progress=False)
    message = str(caught.value)
    assert message.startswith(f"caltech101: cannot reach 127.0.0.1:{port} (connection refused), so 4 of 4 files")
    assert str(root / "caltech101") in message and hub.MIRROR_ENV in message
    assert not any(r.cache_name in message for r in records)
    assert caught.value.missing == 4 and server.requests == []


# --------------------------------------------------------------------------------------
# the real photos, from the cache (seeded by CI)
# --------------------------------------------------------------------------------------


@pytest.mark.needs_data
def test_cached_caltech101_matches_every_sha256():
    datasets.dataset_files("caltech101", progress=False)  # offline without the cache: one clear error
    root = cache_dir()
    assert (root / "caltech101/manifest.csv").read_bytes() == (REPO / "colorlib/manifests/caltech101.csv").read_bytes()
    assert datasets.verify_dataset("caltech101") == []  # all 2,999 files, 44 MB hashed
    faces = next(r for r in datasets.caltech101_manifest() if r.category == "Faces")
    image = load_image(root / faces.cache_name)
    assert image.dtype.name == "uint8" and image.ndim == 3 and min(image.shape[:2]) >= 64
