"""Datasets, crops, skipped files and the per-batch Lab step of :mod:`colorlib.data`."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image
from skimage.color import rgb2lab

from colorlib.batches import make_loader
from colorlib.data import (
    CropBatch,
    ImageFolderDataset,
    SampleCropsDataset,
    build_datasets,
    collate_crops,
    rgb_batch_to_lightness_ab,
    validation_transform,
)
from colorlib.images import find_images, is_grayscale
from colorlib.samples import TRAIN_PHOTOS, VALIDATION_PHOTOS


def _color_image(path, size=(48, 40), seed=0):
    rng = np.random.default_rng(seed)
    Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)).save(path)
    return path


def test_find_images_is_recursive_sorted_and_filters_by_ending(tmp_path):
    for name in ["b.JPG", "a.png", "sub/c.webp", "sub/deeper/d.tif", "notes.txt", "e.bmp", "f.jpeg"]:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"")
    found = [p.relative_to(tmp_path).as_posix() for p in find_images(tmp_path)]
    assert found == ["a.png", "b.JPG", "e.bmp", "f.jpeg", "sub/c.webp", "sub/deeper/d.tif"]
    top_only = [p.name for p in find_images(tmp_path, recursive=False)]
    assert top_only == ["a.png", "b.JPG", "e.bmp", "f.jpeg"]
    with pytest.raises(FileNotFoundError, match="not a folder"):
        find_images(tmp_path / "missing")


def test_is_grayscale():
    gray = np.full((16, 16), 120, dtype=np.uint8)
    assert is_grayscale(Image.fromarray(gray))  # mode L
    assert is_grayscale(Image.fromarray(np.stack([gray] * 3, axis=-1)))  # gray saved as RGB
    noisy = np.stack([gray, gray + 1, gray + 2], axis=-1)
    assert is_grayscale(Image.fromarray(noisy))  # rounding noise of 2 levels
    colored = noisy.copy()
    colored[3, 5] = (200, 30, 30)  # one red pixel is colour
    assert not is_grayscale(Image.fromarray(colored))
    assert not is_grayscale(colored) and is_grayscale(noisy)  # arrays too


def test_items_and_skipped_files(tmp_path):
    good = _color_image(tmp_path / "good.png")
    gray = tmp_path / "gray.png"
    Image.fromarray(np.full((40, 40), 90, dtype=np.uint8)).save(gray)
    truncated = tmp_path / "truncated.jpg"
    _color_image(tmp_path / "full.jpg", size=(64, 64))
    data = (tmp_path / "full.jpg").read_bytes()
    truncated.write_bytes(data[: len(data) // 2])
    fake = tmp_path / "fake.png"
    fake.write_text("not an image")

    dataset = ImageFolderDataset([good, gray, truncated, fake], size=32, train=True)
    items = [dataset[i] for i in range(4)]
    assert items[0]["rgb"].shape == (3, 32, 32) and items[0]["rgb"].dtype == torch.uint8
    assert [item["problem"] for item in items] == [None, "grayscale", "unreadable", "unreadable"]
    assert str(truncated) in items[2]["reason"] and "truncated" in items[2]["reason"].lower()
    assert str(fake) in items[3]["reason"] and "not an image" in items[3]["reason"]

    batch = collate_crops(items)
    assert isinstance(batch, CropBatch) and len(batch) == 1
    assert batch.grayscale == [str(gray)]
    assert [entry.split(" (")[0] for entry in batch.unreadable] == [str(truncated), str(fake)]
    empty = collate_crops(items[1:])
    assert len(empty) == 0 and empty.rgb.dtype == torch.uint8


def test_validation_crop_resizes_by_256_over_224_then_centre_crops():
    # A horizontal ramp 0..511 (stored as x // 2): after resizing 512 -> 256 and a centre
    # crop of 224, crop column j shows the ramp at original x = 2 * (j + 16) + 0.5.
    ramp = np.tile((np.arange(512) // 2).astype(np.uint8), (512, 1))
    image = Image.fromarray(np.stack([ramp] * 3, axis=-1))
    crop = np.asarray(validation_transform(224)(image))
    assert crop.shape == (224, 224, 3)
    columns = crop[112, :, 0].astype(float)
    np.testing.assert_allclose(columns, np.arange(224) + 16, atol=1.0)


def test_batch_conversion_matches_scikit_image():
    rng = np.random.default_rng(1)
    rgb = rng.integers(0, 256, (3, 8, 6, 3), dtype=np.uint8)  # N, H, W, 3
    inputs, ab = rgb_batch_to_lightness_ab(torch.from_numpy(rgb).permute(0, 3, 1, 2))
    assert inputs.shape == (3, 1, 8, 6) and ab.shape == (3, 2, 8, 6)
    assert inputs.dtype == ab.dtype == torch.float32
    lab = rgb2lab(rgb / 255.0)
    np.testing.assert_allclose(inputs[:, 0].numpy(), lab[..., 0] / 100, atol=1e-4)
    np.testing.assert_allclose(ab.permute(0, 2, 3, 1).numpy(), lab[..., 1:], atol=2e-2)
    # Hand-worked: pure white is L = 100, a = b = 0 -> input 1, ab 0.
    white_in, white_ab = rgb_batch_to_lightness_ab(torch.full((1, 3, 8, 8), 255, dtype=torch.uint8))
    np.testing.assert_allclose(white_in.numpy(), 1.0, atol=1e-4)
    np.testing.assert_allclose(white_ab.numpy(), 0.0, atol=1e-2)
    channels_last, _ = rgb_batch_to_lightness_ab(torch.from_numpy(rgb).permute(0, 3, 1, 2), channels_last=True)
    assert channels_last.is_contiguous(memory_format=torch.channels_last)
    with pytest.raises(ValueError, match=r"\(N, 3, H, W\)"):
        rgb_batch_to_lightness_ab(torch.zeros(3, 8, 8, dtype=torch.uint8))


def test_sample_crops_keep_validation_photos_apart():
    train = SampleCropsDataset(TRAIN_PHOTOS, count=8, size=32, train=True)
    validation = SampleCropsDataset(VALIDATION_PHOTOS, count=4, size=32, train=False, seed=3)
    again = SampleCropsDataset(VALIDATION_PHOTOS, count=4, size=32, train=False, seed=3)
    other_seed = SampleCropsDataset(VALIDATION_PHOTOS, count=4, size=32, train=False, seed=4)
    assert {train[i]["path"] for i in range(8)} == {f"sample:{name}" for name in TRAIN_PHOTOS}
    assert {validation[i]["path"] for i in range(4)} == {f"sample:{name}" for name in VALIDATION_PHOTOS}
    for i in range(4):
        assert torch.equal(validation[i]["rgb"], again[i]["rgb"])  # fixed crops
    assert not all(torch.equal(validation[i]["rgb"], other_seed[i]["rgb"]) for i in range(4))
    torch.manual_seed(0)
    first = train[0]["rgb"]
    assert not torch.equal(first, train[0]["rgb"])  # a fresh random crop at every access
    with pytest.raises(IndexError):
        validation[4]


@pytest.mark.needs_data
def test_landscapes_split_by_photographer_is_the_quick_profiles_data():
    train_set, val_set = build_datasets("landscapes", input_size=32, train_images=10_000, val_images=10_000)
    assert (len(train_set), len(val_set)) == (1258, 222)
    assert train_set.train and not val_set.train
    assert not {p.name for p in train_set.files} & {p.name for p in val_set.files}


def test_build_datasets_from_samples_and_folders(tmp_path):
    train_set, val_set = build_datasets("samples", input_size=32, train_images=12, val_images=4)
    assert (len(train_set), len(val_set)) == (12, 4)

    flat = tmp_path / "flat"
    flat.mkdir()
    for index in range(5):
        _color_image(flat / f"{index}.png", seed=index)
    train_set, val_set = build_datasets(flat, input_size=16, train_images=100, val_images=2)
    assert [p.name for p in val_set.files] == ["0.png", "1.png"]  # the paper's rule: first files validate
    assert [p.name for p in train_set.files] == ["2.png", "3.png", "4.png"]
    assert val_set.train is False and train_set.train is True

    split = tmp_path / "split"
    for name in ["train/a.png", "train/b.png", "val/c.png"]:
        (split / name).parent.mkdir(parents=True, exist_ok=True)
        _color_image(split / name)
    train_set, val_set = build_datasets(split, input_size=16, train_images=1, val_images=8)
    assert [p.name for p in train_set.files] == ["a.png"] and [p.name for p in val_set.files] == ["c.png"]

    (split / "train.txt").write_text("val/c.png\n")
    (split / "val.txt").write_text("train/a.png\ntrain/b.png\n")
    train_set, val_set = build_datasets(split, input_size=16, train_images=8, val_images=8)
    assert [p.name for p in train_set.files] == ["c.png"] and [p.name for p in val_set.files] == ["a.png", "b.png"]

    with pytest.raises(FileNotFoundError, match="no data folder"):
        build_datasets(tmp_path / "missing", input_size=16, train_images=1, val_images=1)
    with pytest.raises(ValueError, match="expected training and validation images"):
        build_datasets(flat, input_size=16, train_images=10, val_images=5)


def test_worker_processes_give_the_same_validation_batches():
    _, val_set = build_datasets("samples", input_size=32, train_images=4, val_images=6)
    single = [batch.rgb for batch in make_loader(val_set, batch_size=4)]
    workers = [batch.rgb for batch in make_loader(val_set, batch_size=4, num_workers=2)]
    assert [b.shape[0] for b in single] == [4, 2]
    assert all(torch.equal(a, b) for a, b in zip(single, workers, strict=True))
