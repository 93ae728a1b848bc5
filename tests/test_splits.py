"""colorlib.splits: stratified splits grouped by photographer, measured on the real manifests.

Everything but the last two tests reads only the packaged manifests (no files, no network).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from colorlib import datasets, splits
from colorlib.config import cache_dir
from colorlib.data import build_datasets

BIG_PHOTOGRAPHER = "8584048@N05"
REPO = Path(__file__).resolve().parents[1]


# --------------------------------------------------------------------------------------
# the rule
# --------------------------------------------------------------------------------------


def test_whole_groups_move_and_each_category_gets_its_share():
    # category a: 10 items in groups of 1; category b: 10 items, one group of 6 and four of 1
    categories = ["a"] * 10 + ["b"] * 10
    groups = [f"a{i}" for i in range(10)] + ["big"] * 6 + [f"b{i}" for i in range(4)]
    flags = splits.stratified_group_split(categories, groups, validation_fraction=0.3, seed=0)
    chosen = Counter(c for c, f in zip(categories, flags) if f)
    assert chosen == {"a": 3, "b": 3}  # the target of each category, 0.3 * 10
    assert not any(f for g, f in zip(groups, flags) if g == "big")  # 6 is too many for a target of 3
    for group in set(groups):
        assert len({f for g, f in zip(groups, flags) if g == group}) == 1  # never split


def test_training_only_categories_and_the_last_training_item_stay():
    categories = ["a", "a", "b", "b", "c"]
    flags = splits.stratified_group_split(categories, ["1", "2", "3", "4", "5"], validation_fraction=0.9,
                                          training_only=("a",))
    assert flags[:2] == [False, False]  # a: training only
    assert sum(flags[2:4]) == 1  # b: one of two, however high the fraction
    assert flags[4] is False  # c: its only item stays in training


@pytest.mark.parametrize("kwargs, message", [
    ({"validation_fraction": 0.0}, "strictly between 0 and 1"),
    ({"validation_fraction": 1.0}, "strictly between 0 and 1"),
    ({"validation_fraction": "0.2"}, "must be a number"),
    ({"seed": 1.5}, "seed must be an integer"),
    ({"training_only": ("z",)}, "training_only names categories that no item has: z"),
])
def test_bad_arguments_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        splits.stratified_group_split(["a", "b"], ["1", "2"], **kwargs)
    with pytest.raises(ValueError, match="one group per item"):
        splits.stratified_group_split(["a", "b"], ["1"])


def test_evenly_spaced_and_validation_shares():
    assert splits.evenly_spaced(list(range(10)), count=4) == [0, 2, 5, 7]
    assert splits.evenly_spaced([1, 2], count=5) == [1, 2]
    with pytest.raises(ValueError, match="positive integer"):
        splits.evenly_spaced([1, 2], count=0)
    train, validation = splits.caltech101_split_records()
    assert splits.validation_shares(train[:3], []) == {train[0].category: 0.0}


# --------------------------------------------------------------------------------------
# the landscapes
# --------------------------------------------------------------------------------------


def _shares(train, validation):
    return {c: round(s, 3) for c, s in splits.validation_shares(train, validation).items()}


def test_the_quick_profiles_split_is_not_stratified():
    """The measurement behind the new split: landscapes_split (kept as it is) is off by category."""
    train, validation = datasets.landscapes_split_records()
    shares = _shares(train, validation)
    assert shares == {"city": 0.172, "field": 0.248, "forest": 0.046, "lake": 0.175,
                      "mountain": 0.142, "ocean": 0.151, "road": 0.269}
    forest_train = sum(r.category == "forest" for r in train) / len(train)
    forest_validation = sum(r.category == "forest" for r in validation) / len(validation)
    assert (round(forest_train, 2), round(forest_validation, 2)) == (0.33, 0.09)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_landscapes_are_stratified_and_no_photographer_is_on_both_sides(seed):
    train, validation = splits.stratified_landscapes_split_records(seed=seed)
    assert not {r.owner_id for r in train} & {r.owner_id for r in validation}
    assert BIG_PHOTOGRAPHER in {r.owner_id for r in train}
    assert sorted(r.file for r in train + validation) == sorted(r.file for r in datasets.landscapes_manifest())
    assert (len(train), len(validation)) == (1259, 221)
    sizes = Counter(r.category for r in datasets.landscapes_manifest())
    chosen = Counter(r.category for r in validation)
    for category, size in sizes.items():
        assert chosen[category] == round(0.15 * size), category  # the nearest whole number of photos
        assert abs(chosen[category] / size - 0.15) <= 0.0025, category  # within 0.25 percentage points
        mix_train = (size - chosen[category]) / len(train)
        assert abs(chosen[category] / len(validation) - mix_train) <= 0.01, category  # same mix on both sides
    assert _shares(train, validation) == {"city": 0.151, "field": 0.149, "forest": 0.149, "lake": 0.148,
                                          "mountain": 0.15, "ocean": 0.151, "road": 0.148}


def test_the_big_photographer_makes_training_forest_mostly_one_persons():
    train, validation = splits.stratified_landscapes_split_records()
    forest_train = [r for r in train if r.category == "forest"]
    forest_validation = [r for r in validation if r.category == "forest"]
    assert (len(forest_train), len(forest_validation)) == (371, 65)
    assert sum(r.owner_id == BIG_PHOTOGRAPHER for r in forest_train) == 308
    others = sum(r.category == "forest" and r.owner_id != BIG_PHOTOGRAPHER for r in datasets.landscapes_manifest())
    assert others == 128  # validation's 65 forest photos come from these


def test_landscapes_split_is_deterministic_and_the_seed_matters():
    first = splits.stratified_landscapes_split_records(seed=0)
    assert splits.stratified_landscapes_split_records(seed=0) == first
    other = splits.stratified_landscapes_split_records(seed=1)
    assert {r.owner_id for r in other[1]} != {r.owner_id for r in first[1]}
    assert first[1][0].file == "city/1050371876_aa030b8bf8.jpg"  # pinned: a change of rule shows here
    # the same in other processes whatever their string hashing (the order is sha256's, not set order)
    script = ("from colorlib import splits; "
              "print(','.join(r.file for r in splits.course_photos_split_records()[1]))")
    outputs = {
        subprocess.run([sys.executable, "-c", script], env={**os.environ, "PYTHONHASHSEED": hash_seed,
                       "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])},
                       capture_output=True, text=True, check=True).stdout.strip()
        for hash_seed in ("1", "2")
    }
    assert outputs == {",".join(r.file for r in splits.course_photos_split_records()[1])}


# --------------------------------------------------------------------------------------
# Caltech-101 and the course's photos
# --------------------------------------------------------------------------------------


def test_caltech101_is_split_within_each_category_and_faces_stay_in_training():
    train, validation = splits.caltech101_split_records()
    assert (len(train), len(validation)) == (2603, 396)
    assert not [r for r in validation if r.category == "Faces"]
    assert sum(r.category == "Faces" for r in train) == 30
    train_categories = Counter(r.category for r in train)
    assert len(train_categories) == 100  # every category on the training side
    shares = splits.validation_shares(train, validation)
    for category, share in shares.items():
        if category != "Faces":
            size = train_categories[category] + sum(r.category == category for r in validation)
            assert round(share * size) == 4 and abs(share - 0.15) <= 0.02, category
    assert splits.caltech101_split_records() == (train, validation)
    assert {r.file for r in splits.caltech101_split_records(seed=1)[1]} != {r.file for r in validation}
    everything = splits.caltech101_split_records(training_only=())
    assert sum(r.category == "Faces" for r in everything[1]) == 4
    with pytest.raises(ValueError, match="no item has: Faces_easy"):
        splits.caltech101_split_records(training_only=("Faces_easy",))


def test_course_photos_are_both_sets_and_never_kodak():
    train, validation = splits.course_photos_split_records()
    assert (len(train), len(validation)) == (1259 + 2603, 221 + 396)
    assert Counter(r.dataset for r in train + validation) == {"landscapes": 1480, "caltech101": 2999}
    assert not {r.cache_name for r in train} & {r.cache_name for r in validation}


@pytest.mark.needs_data
def test_course_photos_split_gives_the_cached_files():
    train, validation = splits.course_photos_split(download=False)
    assert (len(train), len(validation)) == (3862, 617)
    assert all(path.is_file() for path in train[:5] + validation[-5:])
    assert train == sorted(train) and not set(train) & set(validation)
    assert {path.relative_to(cache_dir()).parts[0] for path in train + validation} == {"landscapes", "caltech101"}


@pytest.mark.needs_data
def test_build_datasets_course_spreads_a_short_list_over_every_category():
    train_set, validation_set = build_datasets("course", input_size=32, train_images=500, val_images=10_000)
    assert (len(train_set), len(validation_set)) == (500, 617)
    assert train_set.train and not validation_set.train
    sources = Counter(path.relative_to(cache_dir()).parts[0] for path in train_set.files)
    assert sources["landscapes"] > 100 and sources["caltech101"] > 300  # not the first 500 in sorted order
