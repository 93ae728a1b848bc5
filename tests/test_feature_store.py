"""colorlib.feature_store: encoder features kept in the cache folder for the next process."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image
from torch.utils.data import TensorDataset

from colorlib import feature_store
from colorlib.data import ImageFolderDataset


@pytest.fixture
def photos(tmp_path, monkeypatch):
    monkeypatch.setenv("COLORLIB_CACHE", str(tmp_path / "cache"))
    folder = tmp_path / "photos"
    folder.mkdir()
    for name, color in (("orange.png", (200, 60, 30)), ("blue.png", (30, 60, 200))):
        Image.fromarray(np.full((20, 20, 3), color, np.uint8)).save(folder / name)
    files = sorted(folder.iterdir())
    return ImageFolderDataset(files[:1], 16, train=True), ImageFolderDataset(files[1:], 16, train=False)


def _encoder(calls: list):
    def encode():
        calls.append(1)
        generator = torch.Generator().manual_seed(len(calls))  # another encoding would differ
        return (TensorDataset(torch.randn(3, 4, 2, 2, generator=generator).half(), torch.randn(3, 2, 16, 16).half()),
                TensorDataset(torch.randn(1, 4, 2, 2, generator=generator).half(), torch.randn(1, 2, 16, 16).half()))
    return encode


def test_features_are_encoded_once_and_read_back_bit_for_bit(photos):
    calls: list = []
    key = ("course", 16, 1, 1, 4, 0, "released", False, "cpu")
    first_train, first_val = feature_store.kept_features(key, photos, _encoder(calls))
    again_train, again_val = feature_store.kept_features(key, photos, _encoder(calls))
    assert len(calls) == 1  # the second process (here: call) reads the record
    for kept, read in zip((*first_train.tensors, *first_val.tensors), (*again_train.tensors, *again_val.tensors)):
        assert read.dtype == torch.float16 and torch.equal(kept, read)
    # Another key (another seed), or other photos, make another record.
    feature_store.kept_features(key[:5] + (1,) + key[6:], photos, _encoder(calls))
    assert len(calls) == 2
    Image.fromarray(np.full((24, 20, 3), 90, np.uint8)).save(photos[0].files[0])  # the same name, other bytes
    feature_store.kept_features(key, photos, _encoder(calls))
    assert len(calls) == 3
    assert len(list(feature_store.features_record(key, photos).parent.glob("*.pt"))) == 3


def test_a_broken_record_is_encoded_again_and_an_unwritable_cache_loses_nothing(photos, monkeypatch):
    calls: list = []
    key = ("course", 16, 1, 1, 1, 0, "released", False, "cpu")
    record = feature_store.features_record(key, photos)
    record.parent.mkdir(parents=True)
    record.write_bytes(b"not a torch file")
    train_set, _ = feature_store.kept_features(key, photos, _encoder(calls))
    assert len(calls) == 1 and len(train_set) == 3
    assert torch.load(record, weights_only=True)["format"] == feature_store.FEATURES_FORMAT  # written anew

    def refuse(path, write):
        raise OSError("No space left on device")

    monkeypatch.setattr(feature_store, "atomic_write", refuse)
    other = key[:5] + (2,) + key[6:]
    train_set, val_set = feature_store.kept_features(other, photos, _encoder(calls))
    assert len(calls) == 2 and len(train_set) == 3 and len(val_set) == 1  # encoded, handed back, not kept
    assert not feature_store.features_record(other, photos).exists()


def test_the_least_recently_used_records_go_past_the_size_limit(photos, monkeypatch):
    calls: list = []
    keys = [("course", 16, 1, 1, 1, seed, "released", False, "cpu") for seed in range(3)]
    feature_store.kept_features(keys[0], photos, _encoder(calls))
    size = feature_store.features_record(keys[0], photos).stat().st_size
    monkeypatch.setattr(feature_store, "MAX_STORED_BYTES", 2 * size + size // 2)  # room for two records
    import os
    import time

    feature_store.kept_features(keys[1], photos, _encoder(calls))
    past = time.time() - 60
    os.utime(feature_store.features_record(keys[1], photos), (past, past))  # keys[1] used longest ago
    feature_store.kept_features(keys[0], photos, _encoder(calls))  # read: now the most recent
    feature_store.kept_features(keys[2], photos, _encoder(calls))
    assert [feature_store.features_record(key, photos).exists() for key in keys] == [True, False, True]
