"""Training and validation splits of the course's photos, stratified by category and grouped.

A validation set should look like the training set, category for category, and share no
near-duplicates with it. Two things in the course's photos work against that:

* **landscapes**: one photographer (``8584048@N05``) took 360 of the 1,480 photos (308 of
  them in the forest folder), and many photographers took several shots of one place. A
  photographer's photos must stay on one side.
* **caltech101**: the photos of one category often come from one web source and look
  alike, and the ``Faces`` photos show 27 people, many times each. The split is made
  within each category, and ``Faces`` stays wholly on the training side.

:func:`stratified_group_split` is the rule for both: groups (photographers; for Caltech-101
each photo is its own group) are taken in a seeded pseudo-random order, and a group goes
whole into validation when that brings each category's validation count closer to
``validation_fraction`` of the category (the summed squared distance of the counts to
their targets falls), and never when it would leave a category with no training photo.
The order is the sha256 of ``"<seed>:<group>"``: the same on every machine and Python
version.

:func:`stratified_landscapes_split_records` applies it to the landscapes (the quick
profile keeps :func:`colorlib.datasets.landscapes_split`, which is by photographer but not
stratified: forest is 33 % of its training side and 9 % of its validation side, road 13 %
against 26 %), :func:`caltech101_split_records` to the Caltech-101 subset, and
:func:`course_photos_split` gives the files of both (the ``"course"`` data source of
:func:`colorlib.data.build_datasets`). Kodak24 stays the test set: nothing here looks at it.

Measured with the defaults (``validation_fraction=0.15``, ``seed=0``), the validation share
of each category (:func:`validation_shares`):

* landscapes, 221 of 1,480 photos (14.9 %; 151 photographers): city 15.1 %, field 14.9 %,
  forest 14.9 %, lake 14.8 %, mountain 15.0 %, ocean 15.1 %, road 14.8 % (each category's
  nearest whole number of photos; seeds 1 and 2 give the same counts with other
  photographers); no photographer on both sides.
  The 360-photo photographer cannot be split and is on the training side, so forest's
  65 validation photos come from the 128 forest photos of other photographers: the
  forest share holds, but 308 of the 371 training forest photos (83 %) are one
  photographer's.
* caltech101, 396 of 2,999 photos (13.2 %): 4 of each category of 29 or 30 photos
  (13.3 % or 13.8 %), ``Faces`` 0 % (all 30 in training).

>>> train, validation = stratified_landscapes_split_records()
>>> len(train), len(validation)
(1259, 221)
>>> round(validation_shares(train, validation)["forest"], 3)
0.149
"""

from __future__ import annotations

import hashlib
import os
from collections import Counter, defaultdict
from pathlib import Path
from typing import Sequence, TypeVar

from .datasets import PhotoRecord, caltech101_manifest, dataset_files, landscapes_manifest
from .config import cache_dir

__all__ = [
    "CALTECH101_TRAINING_ONLY",
    "stratified_group_split",
    "stratified_landscapes_split_records",
    "caltech101_split_records",
    "course_photos_split_records",
    "course_photos_split",
    "validation_shares",
    "evenly_spaced",
]

T = TypeVar("T")

#: Caltech-101 categories kept wholly on the training side: ``Faces`` shows 27 people,
#: many times each, so any photo of it in validation has near-twins in training.
CALTECH101_TRAINING_ONLY: tuple[str, ...] = ("Faces",)


def _check_fraction(validation_fraction: float) -> float:
    if isinstance(validation_fraction, bool) or not isinstance(validation_fraction, (int, float)):
        raise ValueError(f"validation_fraction must be a number strictly between 0 and 1, got {validation_fraction!r}")
    if not 0.0 < validation_fraction < 1.0:
        raise ValueError(f"validation_fraction must be strictly between 0 and 1, got {validation_fraction}")
    return float(validation_fraction)


def _check_seed(seed: int) -> int:
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ValueError(f"seed must be an integer, got {seed!r}")
    return seed


def _group_order(seed: int, group: str) -> str:
    return hashlib.sha256(f"{seed}:{group}".encode("utf-8")).hexdigest()


def stratified_group_split(
    categories: Sequence[str],
    groups: Sequence[str],
    *,
    validation_fraction: float = 0.15,
    seed: int = 0,
    training_only: Sequence[str] = (),
) -> list[bool]:
    """Which items go to validation: whole groups, each category's share near ``validation_fraction``.

    Groups are visited in the order of the sha256 of ``"<seed>:<group>"``, in passes
    until a pass changes nothing. A group joins validation (or leaves it) when that lowers
    the sum over categories of ``(validation count - validation_fraction * category size) ** 2``;
    it never joins if that would leave a category without a training item, and a group with
    an item of a ``training_only`` category never joins. A group too large for its categories (one photographer's 308
    forest photos against a target of 65) stays in training on its own.

    Args:
        categories: the category of each item.
        groups: the group of each item (photographer; a unique id puts each item alone).
        validation_fraction: the target share of each category, strictly between 0 and 1.
        seed: picks the order of the groups (an integer).
        training_only: categories that stay wholly on the training side.

    Returns:
        One bool per item, ``True`` for validation; the same for the same arguments on
        every machine.

    Raises:
        ValueError: lists of different lengths, a fraction outside (0, 1), a seed that is
            not an integer, a ``training_only`` category that no item has.
    """
    fraction = _check_fraction(validation_fraction)
    seed = _check_seed(seed)
    if len(categories) != len(groups):
        raise ValueError(f"expected one group per item, got {len(categories)} categories and {len(groups)} groups")
    sizes = Counter(categories)
    unknown = sorted(set(training_only) - set(sizes))
    if unknown:
        raise ValueError(f"training_only names categories that no item has: {', '.join(unknown)}")
    members: dict[str, Counter[str]] = defaultdict(Counter)
    for category, group in zip(categories, groups):
        members[group][category] += 1
    target = {category: fraction * size for category, size in sizes.items()}
    taken: Counter[str] = Counter()
    chosen: set[str] = set()

    def change_if_toggled(group: str) -> float:
        sign = -1 if group in chosen else 1
        return sum(
            (taken[category] + sign * count - target[category]) ** 2 - (taken[category] - target[category]) ** 2
            for category, count in members[group].items()
        )

    order = [
        group for group in sorted(members, key=lambda name: (_group_order(seed, name), name))
        if not any(category in training_only for category in members[group])
    ]
    changed = True
    while changed:  # each toggle lowers the distance, so this ends; usually after two or three passes
        changed = False
        for group in order:
            counts = members[group]
            if group not in chosen and any(taken[c] + n >= sizes[c] for c, n in counts.items()):
                continue  # a category would have no training item left
            if change_if_toggled(group) < -1e-9:
                if group in chosen:
                    chosen.remove(group)
                    taken.subtract(counts)
                else:
                    chosen.add(group)
                    taken.update(counts)
                changed = True
    return [group in chosen for group in groups]


def _split(records: Sequence[PhotoRecord], flags: Sequence[bool]) -> tuple[list[PhotoRecord], list[PhotoRecord]]:
    train = [record for record, is_validation in zip(records, flags) if not is_validation]
    validation = [record for record, is_validation in zip(records, flags) if is_validation]
    return train, validation


def stratified_landscapes_split_records(
    *, validation_fraction: float = 0.15, seed: int = 0
) -> tuple[list[PhotoRecord], list[PhotoRecord]]:
    """The landscapes split by photographer **and** stratified by category; no files needed.

    :func:`stratified_group_split` with the folders as categories and the Flickr
    photographers (``owner_id``) as groups: no photographer is on both sides, and each
    category's validation share is within a photo or two of ``validation_fraction``
    (see the module's measured shares). The photographer with 360 photos is on the
    training side; ``seed`` changes which other photographers go to validation.

    Returns:
        ``(train, validation)`` records, each in manifest order; with the defaults 1,259
        and 221 photos (not the same photos as :func:`colorlib.datasets.landscapes_split`).

    Raises:
        ValueError: a fraction outside (0, 1) or a seed that is not an integer.
    """
    records = landscapes_manifest()
    flags = stratified_group_split(
        [record.category for record in records],
        [record.owner_id for record in records],
        validation_fraction=validation_fraction,
        seed=seed,
    )
    return _split(records, flags)


def caltech101_split_records(
    *,
    validation_fraction: float = 0.15,
    seed: int = 0,
    training_only: Sequence[str] = CALTECH101_TRAINING_ONLY,
) -> tuple[list[PhotoRecord], list[PhotoRecord]]:
    """The Caltech-101 subset split within each category; ``training_only`` categories all in training.

    Each photo is its own group, so every category other than ``training_only`` puts
    ``validation_fraction`` of its photos (rounded down at a tie: 4 of 30 at 0.15) into
    validation, the photos picked by ``seed``; every category keeps training photos.

    Returns:
        ``(train, validation)`` records, each in manifest order; with the defaults 2,603 and 396.

    Raises:
        ValueError: a fraction outside (0, 1), a seed that is not an integer, or a
            ``training_only`` name that is not a category of the subset.
    """
    records = caltech101_manifest()
    flags = stratified_group_split(
        [record.category for record in records],
        [record.file for record in records],
        validation_fraction=validation_fraction,
        seed=seed,
        training_only=training_only,
    )
    return _split(records, flags)


def course_photos_split_records(
    *, validation_fraction: float = 0.15, seed: int = 0
) -> tuple[list[PhotoRecord], list[PhotoRecord]]:
    """The course's training photos, landscapes then Caltech-101, split as their own functions split them.

    :func:`stratified_landscapes_split_records` and :func:`caltech101_split_records` with
    the same fraction and seed, concatenated. Kodak24 is not in it: it is the test set.

    Returns:
        ``(train, validation)`` records; with the defaults 3,862 and 617 photos.
    """
    landscape_train, landscape_validation = stratified_landscapes_split_records(
        validation_fraction=validation_fraction, seed=seed
    )
    caltech_train, caltech_validation = caltech101_split_records(validation_fraction=validation_fraction, seed=seed)
    return landscape_train + caltech_train, landscape_validation + caltech_validation


def course_photos_split(
    root: str | os.PathLike | None = None,
    *,
    validation_fraction: float = 0.15,
    seed: int = 0,
    download: bool = True,
) -> tuple[list[Path], list[Path]]:
    """The files of :func:`course_photos_split_records`, downloading the two sets if needed.

    Args:
        root: the folder that holds ``landscapes/`` and ``caltech101/`` (default: the cache).
        validation_fraction: the target share of each category in validation.
        seed: picks which photographers and photos go to validation.
        download: fetch missing files first (else missing files raise ``FileNotFoundError``).

    Returns:
        ``(train, validation)``: sorted paths ``<root>/caltech101/images/<category>/<file>.jpg``
        and ``<root>/landscapes/images/<category>/<file>.jpg``; with the defaults 3,862 and 617.
    """
    train, validation = course_photos_split_records(validation_fraction=validation_fraction, seed=seed)
    for name in ("landscapes", "caltech101"):
        dataset_files(name, root=root, download=download)
    base = Path(root).expanduser() if root is not None else cache_dir()
    return sorted(base / r.cache_name for r in train), sorted(base / r.cache_name for r in validation)


def validation_shares(train: Sequence[PhotoRecord], validation: Sequence[PhotoRecord]) -> dict[str, float]:
    """Each category's share of its photos on the validation side, ``validation / (train + validation)``.

    Returns:
        ``{category: share}``, categories sorted by name; a category only in ``train`` has 0.0.
    """
    train_counts = Counter(record.category for record in train)
    validation_counts = Counter(record.category for record in validation)
    categories = sorted(set(train_counts) | set(validation_counts))
    return {c: validation_counts[c] / (train_counts[c] + validation_counts[c]) for c in categories}


def evenly_spaced(items: Sequence[T], *, count: int) -> list[T]:
    """``count`` items spread evenly over ``items`` (a sorted file list: every folder keeps its share).

    Returns:
        ``[items[i * len(items) // count] for i in range(count)]``, or all of ``items`` when
        ``count`` is not smaller than their number.

    Raises:
        ValueError: a ``count`` that is not a positive integer.

    >>> evenly_spaced(list("abcdefgh"), count=3)
    ['a', 'c', 'f']
    """
    if isinstance(count, bool) or not isinstance(count, int) or count <= 0:
        raise ValueError(f"count must be a positive integer, got {count!r}")
    if count >= len(items):
        return list(items)
    return [items[i * len(items) // count] for i in range(count)]
