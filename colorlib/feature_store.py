"""Stored encoder features kept in the cache folder, so that the next process reuses them.

A run with ``cache_features`` encodes its crops once (:func:`colorlib.batches.encode_photos`):
for the quick profile's main run, 15,448 crops, about a minute on 2 cores. Lesson 07 trains
its classifiers on the very crops of lesson 04's main run, in another process, and lesson
08's hint run on the crops of lesson 04's short ablation. :func:`kept_features` keeps what was
encoded in ``<cache>/features/`` (``COLORLIB_CACHE``) and hands it back when everything that
decides it is the same:

- the run's settings that decide the crops and the encoder (the caller's ``key``),
- the photos (their names and sizes),
- the code that reads, crops and encodes them (a digest of the modules in :data:`FEATURE_CODE`),
- the torch version.

Anything else gets a new record. Records are float16 (530 MB for the main run); the least
recently used are removed once all of them pass :data:`MAX_STORED_BYTES`. A record that
cannot be read is encoded again; one that cannot be written is not kept (the run goes on).
"""

from __future__ import annotations

import hashlib
import os
import pickle
from pathlib import Path
from typing import Callable, Iterable, Sequence

import torch
from torch.utils.data import Dataset, TensorDataset

from .config import cache_dir
from .files import atomic_write

__all__ = ["FEATURES_FORMAT", "FEATURE_CODE", "MAX_STORED_BYTES", "photo_files_key", "kept_features", "features_record"]

#: ``format`` of a record.
FEATURES_FORMAT = "colorlib-stored-features-v1"
#: The modules whose code decides the stored features: reading, cropping, Lab, the encoder.
FEATURE_CODE = ("batches.py", "color.py", "data.py", "images.py", "model.py", "weights.py")
#: Records are removed, least recently used first, while all of them together take more.
MAX_STORED_BYTES = 3 << 29  # 1.5 GiB: the quick profile's lessons keep about 1 GB


def photo_files_key(paths: Iterable[str | os.PathLike]) -> str:
    """Photos as a record's key sees them: one ``folder/name size`` line per file, in order.

    Another photo, a renamed one or one rewritten to another size gives another key;
    reading the names and sizes costs no decoding.
    """
    return "\n".join(f"{Path(path).parent.name}/{Path(path).name} {Path(path).stat().st_size}" for path in paths)


def features_record(key: object, datasets: Sequence[Dataset]) -> Path:
    """Where the features of ``key`` (any value with a stable ``repr``) and ``datasets`` are kept:
    ``<cache>/features/<digest>.pt``. The digest covers the key, the photos' names and sizes
    (a dataset's ``files``, if it has them), the code of :data:`FEATURE_CODE` and the torch version."""
    digest = hashlib.sha256()
    digest.update(f"{FEATURES_FORMAT}\n{key!r}\n{torch.__version__}\n".encode())
    package = Path(__file__).resolve().parent
    for name in FEATURE_CODE:
        digest.update(hashlib.sha256((package / name).read_bytes()).digest())
    for dataset in datasets:
        digest.update(f"{photo_files_key(getattr(dataset, 'files', ()))}\n\n".encode())
    return cache_dir() / "features" / f"{digest.hexdigest()[:32]}.pt"


def kept_features(
    key: object,
    datasets: Sequence[Dataset],
    encode: Callable[[], tuple[TensorDataset, TensorDataset]],
) -> tuple[TensorDataset, TensorDataset]:
    """The training and validation features of ``key``: read from their record, or ``encode()``d and kept.

    Args:
        key: what decides the features besides the photos and the code (the run's data set,
            size, numbers of photos, crops per photo, seed, encoder and its input).
        datasets: the training and validation photos (their files enter the record's name).
        encode: makes ``(train, val)`` :class:`TensorDataset` s of (features, ab) when there is no record.

    Returns:
        ``(train, val)``, the same tensors ``encode()`` gives, bit for bit.
    """
    record = features_record(key, datasets)
    try:
        kept = torch.load(record, map_location="cpu", weights_only=True)
        if kept.get("format") == FEATURES_FORMAT and kept.get("key") == repr(key):
            record.touch()  # recently used
            return TensorDataset(*kept["train"]), TensorDataset(*kept["val"])
    except (OSError, RuntimeError, EOFError, ValueError, KeyError, TypeError, AttributeError, pickle.UnpicklingError):
        pass  # no record, or one that cannot be read: encode again
    train_set, val_set = encode()
    document = {"format": FEATURES_FORMAT, "key": repr(key), "train": list(train_set.tensors), "val": list(val_set.tensors)}
    try:
        record.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(record, lambda name: torch.save(document, name))
        _remove_least_recently_used(record.parent, keep=record)
    except OSError:
        pass  # a full or read-only cache: the features are not kept, the run goes on
    return train_set, val_set


def _remove_least_recently_used(folder: Path, *, keep: Path) -> None:
    records = sorted(folder.glob("*.pt"), key=lambda path: path.stat().st_mtime, reverse=True)
    total = 0
    for path in records:
        total += path.stat().st_size
        if total > MAX_STORED_BYTES and path != keep:
            path.unlink(missing_ok=True)
