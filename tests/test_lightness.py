"""colorlib.color.lightness: L alone, equal to rgb_to_lab's L and to scikit-image's, on real photos."""

from __future__ import annotations

import numpy as np
import pytest
import skimage.color
import torch

from colorlib.color import lightness, rgb_to_lab
from colorlib.samples import sample_photo


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    return sample_photo("coffee")  # 400 x 600, dark shadows and bright highlights


def test_uint8_and_float_photos_give_scikit_images_l(photo):
    expected = skimage.color.rgb2lab(photo)[..., 0]  # float64 reference
    from_levels = lightness(photo)
    assert from_levels.shape == photo.shape[:2] and from_levels.dtype == np.float32
    np.testing.assert_allclose(from_levels, expected, rtol=0, atol=1e-4)
    from_floats = lightness(photo / 255.0)
    assert from_floats.dtype == np.float64
    np.testing.assert_allclose(from_floats, expected, rtol=0, atol=1e-9)
    # the dark part of the curve (Y <= 0.008856, L <= 8) is taken too
    assert (expected < 8).sum() > 100


def test_equals_rgb_to_lab_l_for_tensors_batches_and_every_level(photo):
    batch = torch.from_numpy(np.stack([photo, photo[::-1].copy()])).permute(0, 3, 1, 2)  # uint8 (2, 3, H, W)
    floats = batch.float() / 255
    expected = rgb_to_lab(floats)[:, 0]
    from_floats = lightness(floats)
    assert from_floats.shape == (2,) + photo.shape[:2] and from_floats.dtype == torch.float32
    torch.testing.assert_close(from_floats, expected, rtol=0, atol=1e-4)
    torch.testing.assert_close(lightness(batch), expected, rtol=0, atol=1e-4)
    # every gray level and every pure primary level, against scikit-image
    levels = np.arange(256, dtype=np.uint8)
    ramps = np.stack([np.stack([levels] * 3, -1)] + [np.eye(3, dtype=np.uint8)[c] * levels[:, None] for c in range(3)])
    np.testing.assert_allclose(lightness(ramps), skimage.color.rgb2lab(ramps)[..., 0], rtol=0, atol=1e-4)
    assert float(lightness(ramps)[0, -1]) == pytest.approx(100.0, abs=1e-4)


def test_gradient_flows_and_bad_input_is_a_value_error():
    rgb = torch.full((1, 3, 2, 2), 0.5, requires_grad=True)
    lightness(rgb).sum().backward()
    assert rgb.grad is not None and torch.isfinite(rgb.grad).all() and (rgb.grad > 0).all()
    with pytest.raises(ValueError, match=r"values in \[0, 1\]"):
        lightness(np.full((2, 2, 3), 1.5))
    with pytest.raises(ValueError, match="NaN"):
        lightness(torch.full((3, 2, 2), float("nan")))
    with pytest.raises(ValueError, match=r"\(\.\.\., H, W, 3\)"):
        lightness(np.zeros((4, 4), np.uint8))
    with pytest.raises(ValueError, match="dtype int16"):
        lightness(np.zeros((4, 4, 3), np.int16))
