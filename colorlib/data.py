"""Training data: datasets that yield RGB crops, and the per-batch step to (L/100, ab).

The input pipeline has two halves, so that the expensive colour conversion runs once per
batch as tensor code (on the GPU when there is one) and never per image in Python:

1. a dataset decodes a photo and crops it, yielding **uint8 RGB** ``(3, size, size)``
   (random resized crop and horizontal flip for training; resize and centre crop for
   validation, as in the authors' code, where 256 -> 224 becomes ``size * 256/224 -> size``);
   :func:`collate_crops` stacks the crops into a :class:`CropBatch` and keeps a record of
   the files it had to skip;
2. :func:`rgb_batch_to_lightness_ab` turns ``(N, 3, H, W)`` uint8 into the network input
   ``L / 100`` ``(N, 1, H, W)`` and the true ab ``(N, 2, H, W)`` with
   :func:`colorlib.color.rgb_to_lab`; the loss (:mod:`colorlib.losses`) scales them.

Every file is read by :func:`colorlib.images.load_image`, the reader all of colorlib
shares (EXIF orientation, 16-bit, alpha, palettes, the pixel limit).

Skipped files never crash an epoch: a grayscale photo (nothing to learn: its ab is 0
everywhere) and an unreadable, truncated or non-image file each leave a note in the batch
instead of a crop; :mod:`colorlib.train` counts them and warns once.

Data sources (:func:`build_datasets`): ``"landscapes"`` (the quick profile: the course's
1,480 outdoor photos split by photographer, :mod:`colorlib.datasets`), ``"course"`` (the
landscapes plus the Caltech-101 subset, stratified by category, :mod:`colorlib.splits`), ``"places205"``
(the paper's split, see :mod:`colorlib.places205`), ``"samples"`` (crops of a few
offline sample photos, for tests) or any folder of images.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset
from torchvision import transforms

from .color import lab_to_network_input, rgb_to_lab
from .config import data_dir
from .datasets import landscapes_split
from .images import DEFAULT_MAX_PIXELS, RESIZE_RATIO, ImageReadError, find_images, is_grayscale, load_image
from .places205 import has_split, read_split
from .samples import TRAIN_PHOTOS, VALIDATION_PHOTOS, sample_photo
from .splits import course_photos_split, evenly_spaced

__all__ = [
    "train_transform",
    "validation_transform",
    "CropBatch",
    "collate_crops",
    "ImageFolderDataset",
    "SampleCropsDataset",
    "rgb_batch_to_lightness_ab",
    "build_datasets",
]

def train_transform(size: int) -> transforms.Compose:
    """The training crop of the authors' code: random resized crop to ``size``, random horizontal flip (PIL in, PIL out)."""
    return transforms.Compose([transforms.RandomResizedCrop(size), transforms.RandomHorizontalFlip()])


def validation_transform(size: int) -> transforms.Compose:
    """The validation crop of the authors' code: resize the short side to ``size * 256/224``, centre crop ``size``."""
    return transforms.Compose([transforms.Resize(round(size * RESIZE_RATIO)), transforms.CenterCrop(size)])


def _to_uint8_tensor(image: Image.Image) -> torch.Tensor:
    # The HWC -> CHW copy in numpy: small, single-threaded, no thread-pool start-up per image.
    return torch.from_numpy(np.ascontiguousarray(np.asarray(image, dtype=np.uint8).transpose(2, 0, 1)))


@dataclass
class CropBatch:
    """A batch of crops and the files that had to be skipped for it.

    Attributes:
        rgb: uint8 ``(N, 3, H, W)``, sRGB 0..255 (``N`` may be 0 when every file was skipped).
        grayscale: paths of grayscale photos that were skipped.
        unreadable: ``"path (reason)"`` for unreadable, truncated or non-image files.
    """

    rgb: torch.Tensor
    grayscale: list[str] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return int(self.rgb.shape[0])

    def pin_memory(self) -> "CropBatch":
        """Page-locked copy of the crops (the DataLoader calls this with ``pin_memory=True``)."""
        return CropBatch(self.rgb.pin_memory(), self.grayscale, self.unreadable)


def collate_crops(items: Sequence[dict]) -> CropBatch:
    """Stack dataset items (``{"rgb": uint8 (3, H, W) or None, "path": str, "problem": ...}``) into a :class:`CropBatch`."""
    crops = [item["rgb"] for item in items if item["rgb"] is not None]
    grayscale = [item["path"] for item in items if item["problem"] == "grayscale"]
    unreadable = [f"{item['path']} ({item['reason']})" for item in items if item["problem"] == "unreadable"]
    rgb = torch.stack(crops) if crops else torch.empty((0, 3, 0, 0), dtype=torch.uint8)
    return CropBatch(rgb, grayscale, unreadable)


class ImageFolderDataset(Dataset):
    """Photos from files, cropped for training or validation.

    Args:
        files: image files (see :func:`colorlib.images.find_images`).
        size: side of the square crop in pixels.
        train: random resized crop + flip (``True``) or resize + centre crop (``False``).
        max_pixels: larger images are skipped as unreadable, before decoding.

    Items are dicts: ``rgb`` uint8 ``(3, size, size)`` (``None`` for a skipped file),
    ``path``, ``problem`` (``None``, ``"grayscale"`` or ``"unreadable"``) and ``reason``.
    Randomness comes from torch's global generator (seed it, or let the DataLoader seed
    its workers).
    """

    def __init__(self, files: Sequence[str | os.PathLike], size: int, train: bool,
                 max_pixels: int | None = DEFAULT_MAX_PIXELS) -> None:
        if size < 8:
            raise ValueError(f"ImageFolderDataset: expected a crop size of at least 8 pixels, got {size}")
        self.files = [Path(f) for f in files]
        self.size = size
        self.train = train
        self.max_pixels = max_pixels
        self.transform = train_transform(size) if train else validation_transform(size)

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, index: int) -> dict:
        path = self.files[index]
        try:
            rgb = load_image(path, max_pixels=self.max_pixels)  # the one reader: EXIF, 16-bit, alpha, limits
        except (ImageReadError, OSError) as error:
            reason = " ".join(str(error).split())
            return {"rgb": None, "path": str(path), "problem": "unreadable", "reason": reason}
        if is_grayscale(rgb):
            return {"rgb": None, "path": str(path), "problem": "grayscale", "reason": ""}
        return {"rgb": _to_uint8_tensor(self.transform(Image.fromarray(rgb))), "path": str(path), "problem": None, "reason": ""}


class SampleCropsDataset(Dataset):
    """Crops of the offline sample photos (the ``"samples"`` data source: tests and small demonstrations).

    Args:
        photos: names from :mod:`colorlib.samples`.
        count: how many crops the dataset holds (crop ``i`` comes from photo ``i % len(photos)``).
        size: side of the square crop in pixels.
        train: ``True``: a fresh random resized crop and flip at every access (torch's
            global generator). ``False``: ``count`` fixed random resized crops drawn once
            from a generator seeded with ``seed``, the same in every run.
        seed: seed of the fixed validation crops.

    Items have the same form as :class:`ImageFolderDataset`'s.
    """

    def __init__(
        self,
        photos: Sequence[str] = TRAIN_PHOTOS,
        count: int = 192,
        size: int = 128,
        train: bool = True,
        seed: int = 0,
    ) -> None:
        if count < 1:
            raise ValueError(f"SampleCropsDataset: expected at least one crop, got count={count}")
        if not photos:
            raise ValueError("SampleCropsDataset: expected at least one photo name")
        self.photos = tuple(photos)
        self.images = [Image.fromarray(np.array(sample_photo(name))) for name in self.photos]
        self.count = count
        self.size = size
        self.train = train
        self.transform = train_transform(size)
        self.fixed: list[torch.Tensor] | None = None
        if not train:
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(seed)
                self.fixed = [self._random_crop(i) for i in range(count)]

    def _random_crop(self, index: int) -> torch.Tensor:
        return _to_uint8_tensor(self.transform(self.images[index % len(self.images)]))

    def __len__(self) -> int:
        return self.count

    def __getitem__(self, index: int) -> dict:
        if not 0 <= index < self.count:
            raise IndexError(f"SampleCropsDataset: index {index} outside 0..{self.count - 1}")
        rgb = self.fixed[index] if self.fixed is not None else self._random_crop(index)
        return {"rgb": rgb, "path": f"sample:{self.photos[index % len(self.photos)]}", "problem": None, "reason": ""}


def rgb_batch_to_lightness_ab(
    rgb: torch.Tensor,
    *,
    device: torch.device | str | None = None,
    channels_last: bool = False,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The per-batch colour step: uint8 RGB crops -> (network input, true ab).

    Args:
        rgb: uint8 ``(N, 3, H, W)`` sRGB 0..255 (or float in 0..1).
        device: where to convert (the GPU when training there); default: where ``rgb`` is.
        channels_last: return tensors in ``torch.channels_last`` memory format (faster
            convolutions on GPUs).

    Returns:
        ``(inputs, ab)``: ``L / 100`` float32 ``(N, 1, H, W)`` in 0..1 and the true ab
        float32 ``(N, 2, H, W)`` in ab units (about -128..127); the loss scales them
        (the paper's MSE compares ``(ab + 128) / 255``, see :mod:`colorlib.losses`).

    Raises:
        ValueError: not a batch shaped (N, 3, H, W).
    """
    if not isinstance(rgb, torch.Tensor) or rgb.ndim != 4 or rgb.shape[1] != 3:
        shape = tuple(rgb.shape) if isinstance(rgb, torch.Tensor) else type(rgb).__name__
        raise ValueError(f"rgb_batch_to_lightness_ab: expected an RGB batch shaped (N, 3, H, W), got {shape}")
    rgb = rgb.to(device, non_blocking=True) if device is not None else rgb
    from_bytes = rgb.dtype == torch.uint8
    rgb = rgb.float() / 255.0 if from_bytes else rgb.float()
    lab = rgb_to_lab(rgb, validate=not from_bytes)  # 8-bit data is in range: no GPU sync
    inputs = lab_to_network_input(lab[:, :1])
    ab = lab[:, 1:]
    if channels_last:
        inputs = inputs.contiguous(memory_format=torch.channels_last)
        ab = ab.contiguous(memory_format=torch.channels_last)
    return inputs, ab


def _subfolder(folder: Path, names: Sequence[str]) -> Path | None:
    for name in names:
        if (folder / name).is_dir():
            return folder / name
    return None


def build_datasets(
    data: str | os.PathLike,
    input_size: int,
    train_images: int,
    val_images: int,
    *,
    seed: int = 0,
) -> tuple[Dataset, Dataset]:
    """The training and validation datasets for ``data``.

    Args:
        data: where the photos come from:

            - ``"landscapes"``: the course's photos (:mod:`colorlib.datasets`), split by
              photographer, downloaded on first use;
            - ``"course"``: the landscapes and the Caltech-101 subset, split by
              :func:`colorlib.splits.course_photos_split` (stratified by category, grouped
              by photographer), downloaded on first use; where ``train_images`` or
              ``val_images`` is smaller than a side, evenly spaced files of its sorted list
              (every category keeps its share) instead of the first ones;
            - ``"samples"``: ``train_images`` random crops of the training sample photos
              and ``val_images`` fixed crops of the validation sample photos (offline);
            - ``"places205"``: the paper's split under :func:`colorlib.config.data_dir`
              (``train.txt`` / ``val.txt``, written by ``colorlib download places205``);
            - a folder: its ``train.txt`` / ``val.txt`` if present; else its ``train/``
              and ``val/`` (or ``validation/``) subfolders; else all its images in
              sorted order, the first ``val_images`` for validation and the rest for
              training (the paper's rule).
        input_size: crop side in pixels.
        train_images: at most this many training images (the first ones in list order).
        val_images: at most this many validation images.
        seed: seed of the fixed validation crops of ``"samples"``.

    Raises:
        ValueError: a source with no training or no validation images.
        FileNotFoundError: a folder that does not exist, or ``places205`` not downloaded.
    """
    if os.fspath(data) == "landscapes":
        train_files, val_files = landscapes_split()
        return (
            ImageFolderDataset(train_files[:train_images], input_size, train=True),
            ImageFolderDataset(val_files[:val_images], input_size, train=False),
        )
    if os.fspath(data) == "course":
        train_files, val_files = course_photos_split()
        return (
            ImageFolderDataset(evenly_spaced(train_files, count=train_images), input_size, train=True),
            ImageFolderDataset(evenly_spaced(val_files, count=val_images), input_size, train=False),
        )
    if os.fspath(data) == "samples":
        return (
            SampleCropsDataset(TRAIN_PHOTOS, train_images, input_size, train=True),
            SampleCropsDataset(VALIDATION_PHOTOS, val_images, input_size, train=False, seed=seed),
        )
    folder = data_dir() if os.fspath(data) == "places205" else Path(data)
    if not folder.is_dir():
        raise FileNotFoundError(
            f"no data folder at {folder}: expected 'samples', 'places205' or a folder of images"
            + (" (run `colorlib download places205` first)" if os.fspath(data) == "places205" else "")
        )
    if has_split(folder) or os.fspath(data) == "places205":
        split = read_split(folder)
        train_files, val_files = split.train, split.validation
    else:
        train_folder = _subfolder(folder, ("train",))
        val_folder = _subfolder(folder, ("val", "validation", "valid"))
        if train_folder is not None and val_folder is not None:
            train_files, val_files = find_images(train_folder), find_images(val_folder)
        else:
            files = find_images(folder)
            val_files, train_files = files[:val_images], files[val_images:]
    train_files, val_files = train_files[:train_images], val_files[:val_images]
    if not train_files or not val_files:
        raise ValueError(
            f"{folder}: expected training and validation images, found {len(train_files)} "
            f"training and {len(val_files)} validation images"
        )
    return ImageFolderDataset(train_files, input_size, train=True), ImageFolderDataset(val_files, input_size, train=False)
