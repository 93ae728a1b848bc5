"""Offline sample photos: colour pictures shipped inside installed packages.

The ``"samples"`` data source (tests and small demonstrations that need no download)
takes its photos from scikit-image's ``data`` module and matplotlib's sample data.
They are split once, here, into photos used for training and photos kept for
validation, so that no validation photo is ever seen in training.
"""

from __future__ import annotations

import importlib.util
from functools import lru_cache
from pathlib import Path

import numpy as np
import skimage.data
from PIL import Image

__all__ = [
    "TRAIN_PHOTOS",
    "VALIDATION_PHOTOS",
    "SAMPLE_PHOTOS",
    "sample_photo",
    "sample_photos",
]


#: The photos the offline "samples" data source trains on (tests and small demonstrations).
TRAIN_PHOTOS = ("astronaut", "coffee", "rocket", "motorcycle")
#: The photos the offline "samples" data source validates on (never used for training).
VALIDATION_PHOTOS = ("chelsea", "grace_hopper")
SAMPLE_PHOTOS = TRAIN_PHOTOS + VALIDATION_PHOTOS


def _grace_hopper() -> np.ndarray:
    # matplotlib ships the photo as package data; find it without importing matplotlib.
    spec = importlib.util.find_spec("matplotlib")
    if spec is None or not spec.submodule_search_locations:
        raise ValueError("sample_photo('grace_hopper'): expected the matplotlib package to be installed")
    path = Path(next(iter(spec.submodule_search_locations))) / "mpl-data" / "sample_data" / "grace_hopper.jpg"
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"))


_LOADERS = {
    "astronaut": skimage.data.astronaut,
    "coffee": skimage.data.coffee,
    "rocket": skimage.data.rocket,
    "motorcycle": lambda: skimage.data.stereo_motorcycle()[0],
    "chelsea": skimage.data.chelsea,
    "grace_hopper": _grace_hopper,
}


@lru_cache(maxsize=None)
def _load(name: str) -> np.ndarray:
    image = np.ascontiguousarray(_LOADERS[name]())
    image.setflags(write=False)  # shared by the cache: callers copy before changing it
    return image


def sample_photo(name: str) -> np.ndarray:
    """One sample photo as a read-only uint8 array (H, W, 3), RGB, 0..255.

    Raises:
        ValueError: ``name`` is not one of :data:`SAMPLE_PHOTOS`.
    """
    if name not in _LOADERS:
        raise ValueError(f"unknown sample photo {name!r}: expected one of {', '.join(SAMPLE_PHOTOS)}")
    return _load(name)


def sample_photos(names: tuple[str, ...] = SAMPLE_PHOTOS) -> dict[str, np.ndarray]:
    """Several sample photos by name: ``{name: uint8 array (H, W, 3)}``, in the order given."""
    return {name: sample_photo(name) for name in names}
