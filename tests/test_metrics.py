"""colorlib.metrics against hand-worked examples and independent computations."""

from __future__ import annotations

import math
import statistics

import numpy as np
import pytest
from skimage.color import rgb2lab
from skimage.metrics import peak_signal_noise_ratio

from colorlib import metrics


def constant_image(rgb, size=(8, 10)) -> np.ndarray:
    return np.broadcast_to(np.array(rgb, dtype=np.uint8), size + (3,)).copy()


def red_blue_image() -> np.ndarray:
    """Left half pure red (255, 0, 0), right half pure blue (0, 0, 255)."""
    image = np.zeros((6, 8, 3), dtype=np.uint8)
    image[:, :4, 0] = 255
    image[:, 4:, 2] = 255
    return image


# --------------------------------------------------------------------------------------
# Colourfulness.
# --------------------------------------------------------------------------------------


def test_colorfulness_of_gray_images_is_zero():
    for level in (0, 77, 255):
        assert metrics.colorfulness(constant_image((level, level, level))) == 0.0
    ramp = np.repeat(np.linspace(0, 1, 16)[:, None, None], 3, axis=2).repeat(5, axis=1)
    assert metrics.colorfulness(ramp) == pytest.approx(0.0, abs=1e-12)


def test_colorfulness_of_a_constant_image_by_hand():
    # rg = 200 - 100 = 100, yb = (200 + 100) / 2 - 50 = 100; no spread: M = 0.3 * sqrt(100^2 + 100^2).
    image = constant_image((200, 100, 50))
    assert metrics.colorfulness(image) == pytest.approx(0.3 * math.hypot(100, 100))
    assert metrics.colorfulness(image) == pytest.approx(42.42641, abs=1e-5)
    # One colour: signed and absolute opponents agree.
    assert metrics.colorfulness(image, absolute_opponents=True) == pytest.approx(metrics.colorfulness(image))


def test_colorfulness_of_a_two_color_image_by_hand_signed_and_absolute():
    # Red: rg = 255, yb = 127.5.  Blue: rg = 0, yb = -255.
    # signed:   std(rg) = 127.5, std(yb) = 191.25, mean(rg) = 127.5, mean(yb) = -63.75
    # absolute: std(rg) = 127.5, std(|yb|) = 63.75, mean(rg) = 127.5, mean(|yb|) = 191.25
    signed = math.hypot(127.5, 191.25) + 0.3 * math.hypot(127.5, 63.75)
    absolute = math.hypot(127.5, 63.75) + 0.3 * math.hypot(127.5, 191.25)
    image = red_blue_image()
    assert metrics.colorfulness(image) == pytest.approx(signed)
    assert metrics.colorfulness(image, absolute_opponents=True) == pytest.approx(absolute)
    # The numbers quoted in the docstring, and how much the variant changes them.
    assert round(metrics.colorfulness(image), 1) == 272.6
    assert round(metrics.colorfulness(image, absolute_opponents=True), 1) == 211.5


def test_colorfulness_against_an_independent_pixel_loop():
    rng = np.random.default_rng(1)
    image = rng.integers(0, 256, size=(9, 7, 3), dtype=np.uint8)
    rg, yb = [], []
    for red, green, blue in image.reshape(-1, 3).tolist():
        rg.append(red - green)
        yb.append((red + green) / 2 - blue)
    expected = math.sqrt(statistics.pvariance(rg) + statistics.pvariance(yb)) + 0.3 * math.hypot(
        statistics.fmean(rg), statistics.fmean(yb)
    )
    assert metrics.colorfulness(image) == pytest.approx(expected, rel=1e-12)
    # The same image as floats in [0, 1] gives the same number (scaled to 0..255 inside).
    assert metrics.colorfulness(image / 255.0) == pytest.approx(expected, rel=1e-12)


def test_colorfulness_batched_equals_per_image():
    rng = np.random.default_rng(2)
    batch = rng.integers(0, 256, size=(3, 6, 5, 3), dtype=np.uint8)
    values = metrics.colorfulness(batch)
    assert values.shape == (3,)
    np.testing.assert_allclose(values, [metrics.colorfulness(image) for image in batch])


# --------------------------------------------------------------------------------------
# Chroma and histograms.
# --------------------------------------------------------------------------------------


def test_chroma_by_hand_and_against_scikit_image():
    ab = np.zeros((2, 2, 2))
    ab[0, 0] = (3, 4)
    ab[1, 1] = (-6, 8)
    np.testing.assert_allclose(metrics.chroma(ab), [[5, 0], [0, 10]])
    assert metrics.mean_chroma(ab) == pytest.approx(15 / 4)
    # Pure red and pure blue: chroma from scikit-image's own Lab conversion.
    for rgb in ((255, 0, 0), (0, 0, 255)):
        image = constant_image(rgb, (2, 2))
        lab = rgb2lab(image)
        assert metrics.mean_chroma(metrics.ab_of(image)) == pytest.approx(math.hypot(lab[0, 0, 1], lab[0, 0, 2]), abs=1e-3)
    assert round(metrics.mean_chroma(metrics.ab_of(constant_image((255, 0, 0), (2, 2))))) == 105
    assert metrics.mean_chroma(metrics.ab_of(constant_image((90, 90, 90)))) == pytest.approx(0.0, abs=0.01)


def test_ab_histograms_put_all_mass_where_the_values_are():
    ab = np.zeros((4, 4, 2))
    ab[:2, :, 0] = 10.0  # half the pixels a = 10, half a = 0; b = -30 everywhere
    ab[..., 1] = -30.0
    density_a, density_b, edges = metrics.ab_histograms(ab)
    widths = np.diff(edges)
    assert (density_a * widths).sum() == pytest.approx(1.0)
    assert (density_b * widths).sum() == pytest.approx(1.0)
    bin_of = lambda value: int(np.searchsorted(edges, value, side="right") - 1)  # noqa: E731
    assert density_a[bin_of(10.0)] * widths[0] == pytest.approx(0.5)
    assert density_a[bin_of(0.0)] * widths[0] == pytest.approx(0.5)
    assert density_b[bin_of(-30.0)] * widths[0] == pytest.approx(1.0)
    # A list of images of different sizes pools their pixels.
    other = np.full((2, 3, 2), 10.0)
    pooled_a, _, _ = metrics.ab_histograms([ab, other])
    assert pooled_a[bin_of(10.0)] * widths[0] == pytest.approx((8 + 6) / 22)


# --------------------------------------------------------------------------------------
# AuC of the cumulative ab-error curve.
# --------------------------------------------------------------------------------------


def test_auc_by_hand():
    truth = np.zeros((4, 4, 2))
    truth[..., 0], truth[..., 1] = 30.0, 40.0  # chroma 50
    assert metrics.ab_error_auc(truth, truth) == pytest.approx(100.0)
    gray = np.zeros_like(truth)
    # Error 50 everywhere: the curve is 0 below 50 and 1 from 50 to 150, area 100 of 150.
    assert metrics.ab_error_auc(gray, truth) == pytest.approx(100 * 100 / 150)
    # Half the pixels exact, half off by 200 (beyond the last threshold): 50 %.
    prediction = truth.copy()
    prediction[:2] += (200.0, 0.0)
    assert metrics.ab_error_auc(prediction, truth) == pytest.approx(50.0)


def test_auc_is_the_area_under_the_curve_it_summarises():
    rng = np.random.default_rng(3)
    predicted = rng.normal(0, 40, size=(2, 12, 12, 2))
    truth = rng.normal(0, 40, size=(2, 12, 12, 2))
    fine = np.linspace(0, 150, 30001)
    thresholds, fractions = metrics.ab_error_curve(predicted, truth, thresholds=fine)
    assert fractions.shape == (2, len(fine))
    assert np.all(np.diff(fractions, axis=-1) >= 0)  # cumulative
    area = 100 * np.trapezoid(fractions, thresholds, axis=-1) / 150
    auc = metrics.ab_error_auc(predicted, truth)
    assert auc.shape == (2,)
    np.testing.assert_allclose(auc, area, atol=0.01)
    # Summing the curve at the integer thresholds 0..150 differs by less than 1/3 point.
    _, integer_curve = metrics.ab_error_curve(predicted, truth)
    assert np.all(np.abs(100 * integer_curve.mean(axis=-1) - auc) < 1 / 3 + 1e-9)


def test_ab_error_curve_by_hand():
    truth = np.zeros((2, 2, 2))
    prediction = np.zeros_like(truth)
    prediction[0, 0] = (6.0, 8.0)  # error 10 on one pixel of four
    thresholds, fractions = metrics.ab_error_curve(prediction, truth, thresholds=[0, 9.99, 10, 150])
    np.testing.assert_allclose(fractions, [0.75, 0.75, 1.0, 1.0])


# --------------------------------------------------------------------------------------
# PSNR and SSIM.
# --------------------------------------------------------------------------------------


def test_psnr_by_hand_and_against_scikit_image():
    truth = constant_image((100, 150, 200))
    off_by_one = truth + 1
    # MSE = 1 on the 0..255 scale: 10 log10(255^2).
    assert metrics.psnr(off_by_one, truth) == pytest.approx(20 * math.log10(255))
    assert metrics.psnr(truth, truth) == math.inf
    rng = np.random.default_rng(4)
    a = rng.integers(0, 256, size=(2, 16, 16, 3), dtype=np.uint8)
    b = rng.integers(0, 256, size=(2, 16, 16, 3), dtype=np.uint8)
    values = metrics.psnr(a, b)
    expected = [peak_signal_noise_ratio(x, y, data_range=255) for x, y in zip(b, a)]
    np.testing.assert_allclose(values, expected)
    # Floats in [0, 1] give the same numbers.
    np.testing.assert_allclose(metrics.psnr(a / 255.0, b / 255.0), expected)


def test_ssim_by_hand():
    # No local variance: SSIM = (2 mu_x mu_y + C1) / (mu_x^2 + mu_y^2 + C1), C1 = (0.01 * 255)^2.
    c1 = (0.01 * 255) ** 2
    x, y = constant_image((100, 100, 100), (16, 16)), constant_image((120, 120, 120), (16, 16))
    assert metrics.ssim(x, y) == pytest.approx((2 * 100 * 120 + c1) / (100**2 + 120**2 + c1))
    assert metrics.ssim(x, x) == pytest.approx(1.0)
    rng = np.random.default_rng(5)
    noisy = rng.integers(0, 256, size=(2, 16, 16, 3), dtype=np.uint8)
    values = metrics.ssim(noisy, noisy[::-1])
    assert values.shape == (2,) and np.all(values < 0.2)
    assert values[0] == pytest.approx(values[1])  # symmetric


# --------------------------------------------------------------------------------------
# Bad input.
# --------------------------------------------------------------------------------------


def test_bad_input_gives_clear_errors():
    image = constant_image((1, 2, 3))
    with pytest.raises(ValueError, match=r"\(\.\.\., H, W, 3\)"):
        metrics.colorfulness(image[..., :2])
    with pytest.raises(ValueError, match=r"float RGB in \[0, 1\]"):
        metrics.colorfulness(image.astype(np.float64))  # 0..255 floats
    with pytest.raises(ValueError, match="uint8 0..255 or float"):
        metrics.psnr(image.astype(np.int32), image.astype(np.int32))
    with pytest.raises(ValueError, match="differ in shape"):
        metrics.psnr(image, image[:4])
    with pytest.raises(ValueError, match=r"\(\.\.\., H, W, 2\)"):
        metrics.ab_error_auc(np.zeros((4, 4, 3)), np.zeros((4, 4, 3)))
    with pytest.raises(ValueError, match="at least 7x7"):
        metrics.ssim(image[:5, :5], image[:5, :5])
