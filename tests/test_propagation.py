"""colorlib.propagation (Levin et al. 2004) against hand-worked systems and a dense solve."""

from __future__ import annotations

import math
import time

import numpy as np
import pytest
import torch

from colorlib.color import rgb_to_lab
from colorlib.hints import Hint, hint_maps, simulate_hints
from colorlib.propagation import affinities, propagate_hints, propagation_system


def test_affinities_of_three_pixels_in_a_row_by_hand():
    # middle pixel: window 10, 10, 90: mean 36.67, variance (2 * 26.67^2 + 53.33^2) / 3 = 1422.2;
    # left neighbour (d = 0) weighs exp(0) = 1, right (d = 80) exp(-6400 / 2844.4) = exp(-2.25)
    offsets, weights = affinities(np.array([[10.0, 10.0, 90.0]]))
    assert len(offsets) == 8 and weights.shape == (8, 1, 3)
    left, right = offsets.index((0, -1)), offsets.index((0, 1))
    c = math.exp(-2.25)
    assert weights[left, 0, 1] == pytest.approx(1 / (1 + c), rel=1e-12)
    assert weights[right, 0, 1] == pytest.approx(c / (1 + c), rel=1e-12)
    # the left pixel has one neighbour only: weight 1; nothing weighs outside the photo
    assert weights[right, 0, 0] == 1.0 and weights.sum(axis=0) == pytest.approx(np.ones((1, 3)))
    assert weights[:, 0, 1].sum() == pytest.approx(1.0)


def test_on_a_flat_image_each_pixel_averages_its_neighbours_equally():
    _, weights = affinities(np.full((4, 5), 42.0))
    count = (weights > 0).sum(axis=0)
    np.testing.assert_array_equal(count, [[3, 5, 5, 5, 3], [5, 8, 8, 8, 5], [5, 8, 8, 8, 5], [3, 5, 5, 5, 3]])
    np.testing.assert_allclose(weights.max(axis=0), 1 / count, rtol=1e-12)


def test_a_step_in_one_row_by_hand():
    """Pixels 0..3 dark (L 0), 4..7 light (L 80), a = 40 hinted at pixel 0, -40 at pixel 7.

    Inside each half the weights are equal, so a is linear there; at pixel 3 the light
    neighbour weighs c = e^-2.25 / (1 + e^-2.25) (see above). By symmetry a(4) = -a(3) = -u;
    a(2) = (40 + 2u) / 3 and u = (1 - c) a(2) - c u give u = 40 (1 - c) / (1 + 5 c) = 24.50.
    """
    lightness = np.array([[0.0] * 4 + [80.0] * 4])
    ab = propagate_hints(lightness, [Hint(0, 0, (40, 10)), Hint(0, 7, (-40, 10))])
    c = math.exp(-2.25) / (1 + math.exp(-2.25))
    u = 40 * (1 - c) / (1 + 5 * c)
    expected_a = [40 - k * (40 - u) / 3 for k in range(4)]
    expected_a += [-v for v in reversed(expected_a)]
    np.testing.assert_allclose(ab[0, 0].numpy(), expected_a, atol=1e-4)
    np.testing.assert_allclose(ab[1].numpy(), 10.0, atol=1e-5)  # b: both hints say 10
    steps = np.abs(np.diff(expected_a))
    assert steps[3] > 9 * steps[0]  # the jump at the edge dwarfs the slope inside a half


def test_a_step_in_two_dimensions_keeps_each_side_near_its_hint():
    lightness = np.zeros((12, 16))
    lightness[:, 8:] = 70.0
    hints = [Hint(6, 2, (30, -20), patch_size=3), Hint(5, 13, (-25, 45), patch_size=3)]
    ab = propagate_hints(torch.from_numpy(lightness).float()[None], hints).numpy()
    left, right = ab[:, :, :8], ab[:, :, 8:]
    # every left pixel nearer the left hint's colour than the right one's, and vice versa
    to_left = lambda side: np.hypot(side[0] - 30, side[1] + 20)  # noqa: E731
    to_right = lambda side: np.hypot(side[0] + 25, side[1] - 45)  # noqa: E731
    assert (to_left(left) < to_right(left)).all() and (to_right(right) < to_left(right)).all()
    across = np.abs(ab[:, :, 8] - ab[:, :, 7]).max()
    within = max(np.abs(np.diff(left, axis=2)).max(), np.abs(np.diff(right, axis=2)).max())
    assert across > 3 * within


def test_exact_at_the_hints_and_within_their_range_elsewhere():
    lightness = np.random.default_rng(0).uniform(0, 100, size=(20, 30))
    hints = [Hint(2, 3, (50.5, -10.25)), Hint(15, 20, (-30.0, 60.0), patch_size=4), Hint(10, 29, (5.0, 5.0))]
    ab = propagate_hints(lightness, hints)
    ab_map, mask = hint_maps(hints, height=20, width=30)
    hinted = mask[0] > 0
    assert torch.equal(ab[:, hinted], ab_map[:, hinted])
    assert ab[0].min() >= -30.0 and ab[0].max() <= 50.5
    assert ab[1].min() >= -10.25 and ab[1].max() <= 60.0


def test_one_hint_on_a_constant_image_colours_it_all():
    ab = propagate_hints(np.full((9, 11), 55.0), [Hint(4, 7, (-12.5, 33.0))])
    np.testing.assert_allclose(ab[0].numpy(), -12.5, atol=1e-5)
    np.testing.assert_allclose(ab[1].numpy(), 33.0, atol=1e-5)


def dense_levin_solution(lightness: np.ndarray, hinted: dict[tuple[int, int], float]) -> np.ndarray:
    """The same equations, written pixel by pixel with loops, solved densely."""
    height, width = lightness.shape
    n = height * width
    matrix, right = np.eye(n), np.zeros(n)
    for i in range(height):
        for j in range(width):
            r = i * width + j
            if (i, j) in hinted:
                right[r] = hinted[(i, j)]
                continue
            window = [(y, x) for y in range(i - 1, i + 2) for x in range(j - 1, j + 2)
                      if 0 <= y < height and 0 <= x < width]
            values = np.array([lightness[y, x] for y, x in window])
            variance = max(values.var(), 1e-4)
            neighbours = [(y, x) for y, x in window if (y, x) != (i, j)]
            raw = [math.exp(-(lightness[i, j] - lightness[y, x]) ** 2 / (2 * variance)) for y, x in neighbours]
            for (y, x), w in zip(neighbours, raw):
                matrix[r, y * width + x] -= w / sum(raw)
    return np.linalg.solve(matrix, right).reshape(height, width)


def test_a_small_system_equals_a_dense_solve_of_the_same_equations_written_independently():
    rng = np.random.default_rng(4)
    lightness = rng.uniform(0, 100, size=(5, 7))
    lightness[:, :3] = rng.uniform(20, 25, size=(5, 3))  # a smooth region beside a rough one
    hints = [Hint(0, 0, (40.0, -7.0)), Hint(4, 6, (-35.0, 22.0)), Hint(2, 3, (10.0, 70.0))]
    ab = propagate_hints(lightness, hints).numpy()
    for channel in (0, 1):
        expected = dense_levin_solution(lightness, {(h.row, h.column): h.ab[channel] for h in hints})
        np.testing.assert_allclose(ab[channel], expected, atol=2e-5)


def test_the_matrix_rows_by_hand():
    # 1 x 3 flat: hinted first pixel; the middle averages both sides; the last copies the middle
    matrix = propagation_system(np.full((1, 3), 30.0), np.array([[0.0, 0.0, 1.0]])).toarray()
    np.testing.assert_allclose(matrix, [[1, -1, 0], [-0.5, 1, -0.5], [0, 0, 1]])


def test_hints_or_their_maps_give_the_same_colours_and_no_hint_gives_gray():
    lightness = np.random.default_rng(1).uniform(0, 100, size=(10, 12))
    hints = [Hint(1, 2, (20, 30), patch_size=2), Hint(8, 9, (-40, 0))]
    from_hints = propagate_hints(lightness, hints)
    from_maps = propagate_hints(lightness, hint_maps(hints, height=10, width=12))
    assert torch.equal(from_hints, from_maps) and from_hints.dtype == torch.float32
    assert torch.equal(propagate_hints(lightness, []), torch.zeros(2, 10, 12))


def test_bad_input_is_refused_with_what_was_expected():
    with pytest.raises(ValueError, match=r"lightness: expected L shaped \(H, W\) or \(1, H, W\)"):
        propagate_hints(np.zeros((3, 4, 5)), [])
    with pytest.raises(ValueError, match="NaN or infinite"):
        propagate_hints(np.full((3, 4), np.nan), [])
    with pytest.raises(ValueError, match=r"expected ab_map \(2, 3, 4\)"):
        propagate_hints(np.zeros((3, 4)), (torch.zeros(2, 4, 3), torch.zeros(1, 4, 3)))
    with pytest.raises(ValueError, match="window must be a whole number >= 1"):
        propagate_hints(np.zeros((3, 4)), [Hint(0, 0, (0, 0))], window=0)


@pytest.mark.needs_data
@pytest.mark.slow
def test_fifty_true_hints_beat_gray_on_kodak_photos():
    """Kodak24's first two photos (768 x 512): 50 simulated hints (true colours of their
    patches), propagated; the mean per-pixel ab error falls well below gray's (ab = 0).
    Measured: kodim01 10.2 against 16.2, kodim02 10.2 against 48.6; 4 to 11 s a photo
    on a busy 2-core machine."""
    from colorlib.evaluate import evaluation_images

    for image in evaluation_images(count=2):
        lab = rgb_to_lab(image.rgb.astype(np.float32) / 255)
        true_ab = np.moveaxis(lab[..., 1:], -1, 0)
        hints = simulate_hints(true_ab, seed=2017, count=50)
        start = time.perf_counter()
        ab = propagate_hints(lab[..., 0], hints).numpy()
        seconds = time.perf_counter() - start
        error = np.hypot(*(ab - true_ab)).mean()
        gray_error = np.hypot(*true_ab).mean()
        assert error < 0.75 * gray_error, (image.name, error, gray_error)
        assert seconds < 60, (image.name, seconds)  # "a few seconds"; generous for a busy machine
