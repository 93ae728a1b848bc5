"""colorlib.hints: hints as data, their maps, simulated hints and the JSON file, with numbers by hand."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
import torch
from skimage.color import rgb2lab

from colorlib.hints import Hint, hint_maps, patch_bounds, read_hints, simulate_hints, simulated_hint_maps

# --------------------------------------------------------------------------------------
# Hint.
# --------------------------------------------------------------------------------------


def test_a_hint_keeps_whole_numbers_and_float_ab_and_is_frozen():
    hint = Hint(3.0, 4, (10, -20.5), patch_size=2.0)
    assert (hint.row, hint.column, hint.ab, hint.patch_size) == (3, 4, (10.0, -20.5), 2)
    assert type(hint.row) is int and type(hint.patch_size) is int
    with pytest.raises(dataclasses.FrozenInstanceError):
        hint.row = 5


@pytest.mark.parametrize("arguments, message", [
    ((-1, 0, (0, 0)), "row must be a whole number >= 0, got -1"),
    ((0, 1.5, (0, 0)), "column must be a whole number >= 0, got 1.5"),
    ((True, 0, (0, 0)), "row must be a whole number >= 0, got True"),
    ((0, 0, (0, 0), 0), "patch_size must be a whole number >= 1, got 0"),
    ((0, 0, (128.5, 0)), "ab must be two finite numbers in -128..127"),
    ((0, 0, (0, float("nan"))), "ab must be two finite numbers"),
    ((0, 0, (1, 2, 3)), "ab must be two numbers (a, b)"),
    ((0, 0, "ab"), "ab must be two numbers (a, b)"),
])
def test_a_bad_hint_says_what_was_expected(arguments, message):
    with pytest.raises(ValueError) as error:
        Hint(*arguments)
    assert message in str(error.value)


def test_patch_bounds_by_hand():
    # odd sizes centred; even sizes one more below / to the right; clipped to the image
    assert patch_bounds(Hint(5, 5, (0, 0), patch_size=3), height=10, width=10) == (slice(4, 7), slice(4, 7))
    assert patch_bounds(Hint(5, 5, (0, 0), patch_size=4), height=10, width=10) == (slice(4, 8), slice(4, 8))
    assert patch_bounds(Hint(0, 9, (0, 0), patch_size=5), height=10, width=10) == (slice(0, 3), slice(7, 10))
    assert patch_bounds(Hint(12, 0, (0, 0)), height=10, width=10) == (slice(10, 10), slice(0, 1))


# --------------------------------------------------------------------------------------
# hint_maps.
# --------------------------------------------------------------------------------------


def test_hint_maps_by_hand_with_the_later_hint_winning_where_patches_overlap():
    hints = [Hint(1, 1, (10, 20), patch_size=3), Hint(2, 2, (-5, 7))]
    ab_map, mask = hint_maps(hints, height=4, width=5)
    assert ab_map.dtype == mask.dtype == torch.float32
    expected_mask = np.zeros((4, 5))
    expected_mask[0:3, 0:3] = 1
    expected_a = expected_mask * 10
    expected_a[2, 2] = -5
    expected_b = expected_mask * 20
    expected_b[2, 2] = 7
    np.testing.assert_array_equal(mask[0].numpy(), expected_mask)
    np.testing.assert_array_equal(ab_map[0].numpy(), expected_a)
    np.testing.assert_array_equal(ab_map[1].numpy(), expected_b)


def test_hint_maps_without_hints_are_zero():
    ab_map, mask = hint_maps([], height=2, width=3)
    assert ab_map.shape == (2, 2, 3) and mask.shape == (1, 2, 3)
    assert not ab_map.any() and not mask.any()


def test_hint_maps_rescale_photo_pixels_to_the_network_size_by_hand():
    # photo 100 x 200 -> maps 10 x 10: rows shrink 10 times, columns 20 times
    hint = Hint(55, 130, (1, 2), patch_size=30)
    _, mask = hint_maps([hint], height=10, width=10, from_size=(100, 200))
    # centre: row floor(55.5 / 10) = 5, column floor(130.5 / 20) = 6;
    # sides: round(30 / 10) = 3 rows (4..6), max(1, round(30 / 20)) = 2 columns (6..7)
    expected = np.zeros((10, 10))
    expected[4:7, 6:8] = 1
    np.testing.assert_array_equal(mask[0].numpy(), expected)
    # the last photo pixel lands on the last map pixel; a tiny patch keeps one pixel
    _, mask = hint_maps([Hint(99, 199, (0, 0))], height=10, width=10, from_size=(100, 200))
    assert mask[0].nonzero().tolist() == [[9, 9]]


def test_hint_maps_from_the_same_size_equal_no_rescaling():
    hints = [Hint(3, 4, (5, 6), patch_size=3), Hint(0, 7, (-1, 1), patch_size=2)]
    same = hint_maps(hints, height=6, width=8, from_size=(6, 8))
    plain = hint_maps(hints, height=6, width=8)
    assert torch.equal(same[0], plain[0]) and torch.equal(same[1], plain[1])


def test_hint_maps_refuse_a_point_outside_the_photo_and_a_bad_size():
    with pytest.raises(ValueError, match="outside the 100x200 photo"):
        hint_maps([Hint(100, 0, (0, 0))], height=10, width=10, from_size=(100, 200))
    with pytest.raises(ValueError, match="height must be a whole number >= 1, got 0"):
        hint_maps([], height=0, width=10)


# --------------------------------------------------------------------------------------
# simulate_hints.
# --------------------------------------------------------------------------------------


def random_ab(height=40, width=60, seed=0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(-60, 60, size=(2, height, width)).astype(np.float32)


def test_simulated_hints_are_the_same_for_the_same_seed_and_differ_for_another():
    ab = torch.from_numpy(random_ab())
    first = simulate_hints(ab, seed=7, count=20)
    assert first == simulate_hints(ab, seed=7, count=20)
    assert first != simulate_hints(ab, seed=8, count=20)
    generator = np.random.default_rng(7)
    assert simulate_hints(ab, seed=generator, count=20) == first  # a generator seeded alike draws alike
    assert simulate_hints(ab, seed=generator, count=20) != first  # ... and moves on


def test_each_simulated_colour_is_the_mean_true_ab_of_its_patch_which_lies_inside_the_photo():
    ab = random_ab()
    hints = simulate_hints(ab, seed=1, count=200)
    assert {h.patch_size for h in hints} == set(range(1, 10))
    for hint in hints:
        half_below = (hint.patch_size - 1) // 2
        top, left = hint.row - half_below, hint.column - half_below
        assert 0 <= top and top + hint.patch_size <= 40 and 0 <= left and left + hint.patch_size <= 60
        patch = ab[:, top:top + hint.patch_size, left:left + hint.patch_size].astype(np.float64)
        assert hint.ab == pytest.approx((patch[0].mean(), patch[1].mean()), abs=1e-9)


def test_the_number_of_simulated_hints_is_geometric_with_p_one_eighth():
    ab = random_ab(12, 12)
    counts = np.array([len(simulate_hints(ab, seed=seed, patch_sizes=(1,))) for seed in range(3000)])
    # P(k) = p (1 - p)^k: mean (1 - p) / p = 7, P(0) = 1/8, P(k >= 8) = (7/8)^8 = 0.344
    assert counts.mean() == pytest.approx(7.0, abs=0.5)
    assert (counts == 0).mean() == pytest.approx(1 / 8, abs=0.02)
    assert (counts >= 8).mean() == pytest.approx((7 / 8) ** 8, abs=0.03)


def test_simulated_points_crowd_towards_the_middle_as_a_gaussian_with_a_quarter_side_deviation():
    ab = random_ab(101, 101)
    hints = simulate_hints(ab, seed=3, count=4000, patch_sizes=(1,))
    rows = np.array([h.row for h in hints])
    columns = np.array([h.column for h in hints])
    # sd = 101 / 4 around 50.5: within one sd (the middle half of the photo) 68 %, not a
    # uniform draw's 50 %; rows and columns drawn independently.
    for values in (rows, columns):
        assert values.mean() == pytest.approx(50, abs=1.5)
        assert (np.abs(values + 0.5 - 50.5) <= 101 / 4).mean() == pytest.approx(0.68, abs=0.03)
    assert abs(np.corrcoef(rows, columns)[0, 1]) < 0.05


def test_simulate_hints_refuses_bad_options():
    with pytest.raises(ValueError, match="fit a 8x8 photo"):
        simulate_hints(random_ab(8, 8), seed=0)  # the default sizes go up to 9
    ab = random_ab(16, 16)
    with pytest.raises(ValueError, match="p must be in"):
        simulate_hints(ab, seed=0, p=0.0)
    with pytest.raises(ValueError, match="count must be a whole number >= 0"):
        simulate_hints(ab, seed=0, count=-1)
    with pytest.raises(ValueError, match=r"expected float ab shaped \(2, H, W\)"):
        simulate_hints(ab[0], seed=0)


def test_simulated_hint_maps_of_a_batch_are_the_maps_of_each_photos_hints_in_turn():
    batch = torch.from_numpy(np.stack([random_ab(16, 20, seed=0), random_ab(16, 20, seed=1)]))
    ab_maps, masks = simulated_hint_maps(batch, seed=5, count=4)
    assert ab_maps.shape == (2, 2, 16, 20) and masks.shape == (2, 1, 16, 20)
    generator = np.random.default_rng(5)
    for photo, ab_map, mask in zip(batch, ab_maps, masks):
        expected = hint_maps(simulate_hints(photo, seed=generator, count=4), height=16, width=20)
        assert torch.equal(ab_map, expected[0]) and torch.equal(mask, expected[1])


# --------------------------------------------------------------------------------------
# read_hints.
# --------------------------------------------------------------------------------------


def test_read_hints_from_a_file_with_both_ways_of_giving_a_colour(tmp_path):
    path = tmp_path / "hints.json"
    path.write_text(json.dumps({"hints": [
        {"row": 10, "column": 20, "color": "#FF0000", "patch": 3},
        {"row": 0, "column": 47, "ab": [20, -30.5]},
    ]}), encoding="utf-8")
    first, second = read_hints(path, photo_height=64, photo_width=48)
    red_ab = rgb2lab(np.array([[[1.0, 0.0, 0.0]]]))[0, 0, 1:]
    assert first.ab == pytest.approx(tuple(red_ab), abs=1e-4)  # about (80.09, 67.20)
    assert (first.row, first.column, first.patch_size) == (10, 20, 3)
    assert second == Hint(0, 47, (20.0, -30.5), patch_size=1)


def test_a_hex_colour_keeps_only_its_ab_like_scikit_image():
    for text, rgb in (("#336699", (0x33, 0x66, 0x99)), ("#ffffff", (255, 255, 255)), ("#00ff00", (0, 255, 0))):
        (hint,) = read_hints({"hints": [{"row": 0, "column": 0, "color": text}]}, photo_height=1, photo_width=1)
        expected = rgb2lab(np.array([[rgb]], dtype=np.float64) / 255)[0, 0, 1:]
        assert hint.ab == pytest.approx(tuple(expected), abs=1e-4)


@pytest.mark.parametrize("entry, message", [
    ({"row": 64, "column": 0, "ab": [0, 0]},
     'entry 1: "row" 64 is outside the photo (a whole number in 0..63: the photo has 64 rows)'),
    ({"row": 0, "column": -1, "ab": [0, 0]},
     'entry 1: "column" -1 is outside the photo (a whole number in 0..47: the photo has 48 columns)'),
    ({"row": 2.5, "column": 0, "ab": [0, 0]}, 'entry 1: "row" 2.5 is outside the photo'),
    ({"column": 0, "ab": [0, 0]}, 'entry 1: missing "row"'),
    ({"row": 0, "column": 0}, 'entry 1: give exactly one of "color" ("#rrggbb") and "ab" ([a, b])'),
    ({"row": 0, "column": 0, "ab": [0, 0], "color": "#000000"}, "entry 1: give exactly one of"),
    ({"row": 0, "column": 0, "color": "red"}, "entry 1: \"color\" must be a colour written \"#rrggbb\""),
    ({"row": 0, "column": 0, "color": "#ff00"}, "got '#ff00'"),
    ({"row": 0, "column": 0, "color": "#gg0000"}, "got '#gg0000'"),
    ({"row": 0, "column": 0, "ab": [200, 0]}, 'entry 1: "ab" must be two numbers [a, b], each in -128..127'),
    ({"row": 0, "column": 0, "ab": [1]}, 'entry 1: "ab" must be two numbers'),
    ({"row": 0, "column": 0, "ab": ["1", 2]}, 'entry 1: "ab" must be two numbers'),
    ({"row": 0, "column": 0, "ab": [0, 0], "patch": 0}, 'entry 1: "patch" must be a whole number of pixels >= 1'),
    ({"row": 0, "column": 0, "colour": "#ff0000"}, "entry 1: unknown key 'colour' (the keys are row, column"),
    ([0, 0], "entry 1: expected an object such as"),
])
def test_a_bad_entry_is_named_by_its_index_with_what_was_expected(entry, message):
    document = {"hints": [{"row": 0, "column": 0, "ab": [0, 0]}, entry]}
    with pytest.raises(ValueError) as error:
        read_hints(document, photo_height=64, photo_width=48)
    assert message in str(error.value)


def test_a_file_that_is_not_json_or_has_no_hints_list_is_named(tmp_path):
    path = tmp_path / "mine.json"
    path.write_text('{"hints": [\n  {"row": 1,, "column": 2}\n]}', encoding="utf-8")
    with pytest.raises(ValueError, match=r"mine.json: not valid JSON \(line 2, column 13"):
        read_hints(path, photo_height=8, photo_width=8)
    path.write_text('[{"row": 1, "column": 2, "ab": [0, 0]}]', encoding="utf-8")
    with pytest.raises(ValueError, match='mine.json: expected an object with a list "hints"'):
        read_hints(path, photo_height=8, photo_width=8)
    with pytest.raises(OSError):
        read_hints(tmp_path / "missing.json", photo_height=8, photo_width=8)
