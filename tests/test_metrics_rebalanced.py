"""colorlib.metrics.rebalanced_ab_error_auc: Zhang et al.'s class-rebalanced AuC, by hand."""

from __future__ import annotations

import numpy as np
import pytest

from colorlib.bins import ab_bins
from colorlib.metrics import ab_error_auc, ab_of, rebalanced_ab_error_auc


def two_bin_example() -> tuple[np.ndarray, np.ndarray]:
    """3 gray pixels (bin (0, 0)) with errors 0, 30, 60 and 1 pixel in bin (50, 50) with error 75."""
    truth = np.zeros((1, 4, 2))
    truth[0, 3] = (50.0, 50.0)
    prediction = truth.copy()
    prediction[0, :, 0] += (0.0, 30.0, 60.0, 75.0)
    return prediction, truth


def test_two_bins_by_hand():
    prediction, truth = two_bin_example()
    # Per pixel 1 - e/150: 1, 0.8, 0.6 (mean 0.8) in the gray bin, 0.5 in the other.
    assert ab_error_auc(prediction, truth) == pytest.approx(100 * (1 + 0.8 + 0.6 + 0.5) / 4)  # 72.5
    assert rebalanced_ab_error_auc(prediction, truth) == pytest.approx(100 * (0.8 + 0.5) / 2)  # 65.0
    # The same pixels in another order, or each one twice, give the same number.
    order = [3, 1, 0, 2]
    assert rebalanced_ab_error_auc(prediction[:, order], truth[:, order]) == pytest.approx(65.0)
    doubled = np.concatenate([prediction, prediction], axis=1), np.concatenate([truth, truth], axis=1)
    assert rebalanced_ab_error_auc(*doubled) == pytest.approx(65.0)


def test_errors_beyond_the_threshold_count_zero():
    prediction, truth = two_bin_example()
    prediction[0, 3, 0] = 50.0 + 200.0  # error 200 > 150
    assert rebalanced_ab_error_auc(prediction, truth) == pytest.approx(100 * (0.8 + 0.0) / 2)
    # A smaller threshold: 1 - e/100 gives 1, 0.7, 0.4 (mean 0.7) and 0.
    assert rebalanced_ab_error_auc(prediction, truth, max_threshold=100.0) == pytest.approx(35.0)
    with pytest.raises(ValueError, match="max_threshold"):
        rebalanced_ab_error_auc(prediction, truth, max_threshold=0.0)


def test_images_of_a_batch_are_pooled():
    # Image 1 holds the 3 gray pixels, image 2 the single coloured one (padded with a
    # copy of one gray pixel so both are 1 x 2): the bins are counted over both images.
    prediction, truth = two_bin_example()
    batch_truth = np.stack([truth[:, :2], np.stack([truth[0, 2], truth[0, 3]])[None]])
    batch_prediction = np.stack([prediction[:, :2], np.stack([prediction[0, 2], prediction[0, 3]])[None]])
    assert batch_truth.shape == (2, 1, 2, 2)
    assert rebalanced_ab_error_auc(batch_prediction, batch_truth) == pytest.approx(65.0)


def test_equal_bin_counts_or_equal_errors_give_the_plain_auc():
    rng = np.random.default_rng(0)
    truth = np.repeat(np.array([[0.0, 0.0], [40.0, -30.0], [-60.0, 70.0]]), 5, axis=0).reshape(3, 5, 2)
    prediction = truth + rng.normal(0.0, 20.0, truth.shape)
    assert rebalanced_ab_error_auc(prediction, truth) == pytest.approx(ab_error_auc(prediction[None], truth[None])[0])
    # Unequal counts but the same error everywhere: weights cannot matter.
    truth = rng.uniform(-80.0, 80.0, (6, 7, 2))
    prediction = truth + np.array([18.0, -24.0])  # error 30 everywhere
    assert rebalanced_ab_error_auc(prediction, truth) == pytest.approx(80.0)


def test_explicit_bins_assign_each_pixel_to_the_nearest_centre():
    prediction, truth = two_bin_example()
    # One centre near each group: the same split as the default grid.
    assert rebalanced_ab_error_auc(prediction, truth, bins=np.array([[3.0, 3.0], [45.0, 45.0]])) == pytest.approx(65.0)
    # A single centre puts all four pixels in one bin: the plain AuC.
    assert rebalanced_ab_error_auc(prediction, truth, bins=np.array([[0.0, 0.0]])) == pytest.approx(72.5)
    with pytest.raises(ValueError, match=r"\(Q, 2\)"):
        rebalanced_ab_error_auc(prediction, truth, bins=np.array([1.0, 2.0, 3.0]))


def test_default_grid_matches_the_losses_bins_on_real_colors():
    rng = np.random.default_rng(1)
    truth = ab_of(rng.integers(0, 256, (2, 24, 24, 3), dtype=np.uint8))
    prediction = truth * 0.3 + rng.normal(0.0, 5.0, truth.shape)  # dull, like an MSE colorizer
    default = rebalanced_ab_error_auc(prediction, truth)
    assert default == pytest.approx(rebalanced_ab_error_auc(prediction, truth, bins=ab_bins().numpy()), abs=1e-9)
    # Rebalancing punishes dullness: saturated colours are rare but count as much as gray.
    assert default < ab_error_auc(prediction, truth).mean()


def test_bad_input():
    prediction, truth = two_bin_example()
    with pytest.raises(ValueError, match="differ in shape"):
        rebalanced_ab_error_auc(prediction, truth[:, :3])
    with pytest.raises(ValueError, match=r"\(\.\.\., H, W, 2\)"):
        rebalanced_ab_error_auc(prediction[..., :1], truth[..., :1])
    with pytest.raises(ValueError, match="at least one pixel"):
        rebalanced_ab_error_auc(np.zeros((0, 4, 2)), np.zeros((0, 4, 2)))
