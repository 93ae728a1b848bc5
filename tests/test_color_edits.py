"""Editing colour in Lab (colorlib.color's chroma / hue / channel functions) and the
chunked CPU path of the conversions."""

import math

import numpy as np
import pytest
import skimage.color
import torch

from colorlib import color
from colorlib.color import lab_to_rgb, rgb_to_lab
from colorlib.lessons.color_space import (
    lab_false_color,
    scale_chroma_rotate_hue,
    srgb_lab_extremes,
    zero_ab_channels,
)
from colorlib.samples import sample_photo


def chroma(lab: torch.Tensor) -> torch.Tensor:
    """sqrt(a**2 + b**2) of a Lab tensor (N, 3, H, W) -> (N, H, W)."""
    return torch.hypot(lab[:, 1], lab[:, 2])


def random_lab(shape=(2, 3, 6, 7), seed=0) -> torch.Tensor:
    """Lab colours of real sRGB pixels (so every one is in gamut), tensor (N, 3, H, W)."""
    generator = torch.Generator().manual_seed(seed)
    return rgb_to_lab(torch.rand(shape, generator=generator, dtype=torch.float64))


# --- scale_chroma_rotate_hue -----------------------------------------------------------


def test_chroma_scale_and_hue_rotation_by_hand():
    lab = np.array([[[50.0, 30.0, 40.0]]])  # chroma 50
    # Twice the chroma (a=60, b=80), then a quarter turn: (a, b) -> (-b, a).
    np.testing.assert_allclose(scale_chroma_rotate_hue(lab, 2.0, 90.0)[0, 0], [50.0, -80.0, 60.0], atol=1e-9)
    # Half the chroma and a half turn: (a, b) -> (-a / 2, -b / 2).
    np.testing.assert_allclose(scale_chroma_rotate_hue(lab, 0.5, 180.0)[0, 0], [50.0, -15.0, -20.0], atol=1e-9)
    # Rotating red (+a) by +90 degrees gives yellow (+b): the rotation runs from a to b.
    np.testing.assert_allclose(
        scale_chroma_rotate_hue(np.array([[[60.0, 70.0, 0.0]]]), 1, 90)[0, 0], [60.0, 0.0, 70.0], atol=1e-9
    )


def test_rotation_keeps_lightness_scales_chroma_and_turns_hue():
    lab = random_lab()
    edited = scale_chroma_rotate_hue(lab, 1.5, 40.0)
    assert isinstance(edited, torch.Tensor) and edited.shape == lab.shape and edited.dtype == lab.dtype
    torch.testing.assert_close(edited[:, 0], lab[:, 0], rtol=0, atol=0)
    torch.testing.assert_close(chroma(edited), 1.5 * chroma(lab))
    hue_before = torch.atan2(lab[:, 2], lab[:, 1])
    hue_after = torch.atan2(edited[:, 2], edited[:, 1])
    turn = torch.remainder(torch.rad2deg(hue_after - hue_before), 360.0)
    colored = chroma(lab) > 1.0  # the hue of a near-gray is ill-defined
    torch.testing.assert_close(turn[colored], torch.full_like(turn[colored], 40.0))


def test_identity_settings_and_full_turn_give_the_input_back():
    lab = random_lab()
    torch.testing.assert_close(scale_chroma_rotate_hue(lab, 1.0, 0.0), lab, rtol=0, atol=0)
    torch.testing.assert_close(scale_chroma_rotate_hue(lab, 1, 360), lab, rtol=0, atol=1e-9)
    torch.testing.assert_close(scale_chroma_rotate_hue(lab, 1, -90 * 4), lab, rtol=0, atol=1e-9)


def test_numpy_and_tensor_give_the_same_edit():
    lab = random_lab((1, 3, 5, 4))
    from_tensor = scale_chroma_rotate_hue(lab, 0.7, -130.0)[0].permute(1, 2, 0).numpy()
    from_numpy = scale_chroma_rotate_hue(lab[0].permute(1, 2, 0).numpy(), 0.7, -130.0)
    assert isinstance(from_numpy, np.ndarray) and from_numpy.shape == (5, 4, 3)
    np.testing.assert_allclose(from_numpy, from_tensor, atol=1e-12)


def test_chroma_zero_gives_a_gray_photo_with_the_same_lightness():
    photo = sample_photo("astronaut")[::8, ::8].astype(np.float64) / 255  # 64 x 64
    lab = rgb_to_lab(photo)
    gray = lab_to_rgb(scale_chroma_rotate_hue(lab, 0.0, 0.0))
    # a = b = 0 is neutral gray in sRGB: R = G = B (up to the rounded matrix constants).
    assert np.abs(gray - gray.mean(axis=-1, keepdims=True)).max() < 1e-4
    np.testing.assert_allclose(rgb_to_lab(gray)[..., 0], lab[..., 0], atol=1e-3)
    assert np.abs(rgb_to_lab(gray)[..., 1:]).max() < 0.02


@pytest.mark.parametrize(
    "scale, degrees, message",
    [
        (-0.5, 0.0, "chroma_scale: expected a finite number >= 0"),
        (float("nan"), 0.0, "chroma_scale"),
        (1.0, float("inf"), "hue_degrees: expected a finite number"),
        ("2", 0.0, "chroma_scale"),
        (True, 0.0, "chroma_scale"),
    ],
)
def test_scale_chroma_rotate_hue_rejects_bad_settings(scale, degrees, message):
    with pytest.raises(ValueError, match=message):
        scale_chroma_rotate_hue(random_lab(), scale, degrees)


def test_scale_chroma_rotate_hue_rejects_bad_images():
    with pytest.raises(ValueError, match=r"\(\.\.\., 3, H, W\)"):
        scale_chroma_rotate_hue(torch.zeros(1, 4, 2, 2), 1.0, 0.0)
    with pytest.raises(ValueError, match="uint8"):
        scale_chroma_rotate_hue(np.zeros((2, 2, 3), dtype=np.uint8), 1.0, 0.0)
    with pytest.raises(ValueError, match="NaN"):
        scale_chroma_rotate_hue(torch.full((3, 2, 2), float("nan")), 1.0, 0.0)


# --- zero_ab_channels, lab_false_color --------------------------------------------


def test_zero_ab_channels_switches_off_exactly_the_asked_channels():
    lab = np.array([[[40.0, 25.0, -35.0], [80.0, -10.0, 60.0]]])
    np.testing.assert_array_equal(zero_ab_channels(lab, a=True, b=False), [[[40, 0, -35], [80, 0, 60]]])
    np.testing.assert_array_equal(zero_ab_channels(lab, a=False, b=True), [[[40, 25, 0], [80, -10, 0]]])
    np.testing.assert_array_equal(zero_ab_channels(lab), [[[40, 0, 0], [80, 0, 0]]])
    np.testing.assert_array_equal(zero_ab_channels(lab, a=False, b=False), lab)
    assert lab[0, 0, 1] == 25.0  # the input is left alone
    tensor = torch.from_numpy(lab).permute(2, 0, 1)
    torch.testing.assert_close(zero_ab_channels(tensor, b=False)[1], torch.zeros(1, 2, dtype=torch.float64))


def test_zero_ab_channels_rejects_non_boolean_switches():
    with pytest.raises(ValueError, match="a=True or False"):
        zero_ab_channels(random_lab(), a="yes")


def test_lab_false_color_uses_the_papers_scalings():
    lab = np.array([[[100.0, 0.0, 0.0], [0.0, 0.0, 0.0], [50.0, -128.0, 127.0]]])
    np.testing.assert_allclose(
        lab_false_color(lab)[0],
        [[1.0, 128 / 255, 128 / 255], [0.0, 128 / 255, 128 / 255], [0.5, 0.0, 1.0]],
        atol=1e-12,
    )
    shown = lab_false_color(random_lab())
    assert shown.shape == (2, 3, 6, 7) and float(shown.min()) >= 0 and float(shown.max()) <= 1


# --- srgb_lab_extremes ----------------------------------------------------------------------


def test_srgb_lab_extremes_match_scikit_image_on_an_8bit_grid():
    extremes = srgb_lab_extremes(18)  # 8-bit levels 0, 15, ..., 255
    levels = np.arange(0, 256, 15) / 255
    grid = np.stack(np.meshgrid(levels, levels, levels, indexing="ij"), axis=-1).reshape(1, -1, 3)
    reference = skimage.color.rgb2lab(grid).reshape(-1, 3)
    for index, name in enumerate("Lab"):
        assert extremes[name]["min"] == pytest.approx(reference[:, index].min(), abs=1e-3)
        assert extremes[name]["max"] == pytest.approx(reference[:, index].max(), abs=1e-3)


def test_srgb_lab_extremes_are_at_the_corners_the_lesson_names():
    extremes = srgb_lab_extremes()
    assert extremes["L"]["min_rgb"] == (0, 0, 0) and extremes["L"]["max_rgb"] == (255, 255, 255)
    assert extremes["a"]["min_rgb"] == (0, 255, 0)  # green
    assert extremes["a"]["max_rgb"] == (255, 0, 255)  # magenta
    assert extremes["b"]["min_rgb"] == (0, 0, 255)  # blue
    assert extremes["b"]["max_rgb"] == (255, 255, 0)  # yellow
    assert extremes["a"]["min"] == pytest.approx(-86.18, abs=0.01)
    assert extremes["a"]["max"] == pytest.approx(98.23, abs=0.01)
    assert extremes["b"]["min"] == pytest.approx(-107.86, abs=0.01)
    assert extremes["b"]["max"] == pytest.approx(94.48, abs=0.01)
    with pytest.raises(ValueError, match="2..256"):
        srgb_lab_extremes(1)


# --- the conversions' chunked CPU path (inputs larger than one chunk) ------------------------


@pytest.fixture
def small_chunks(monkeypatch):
    """Chunks of 1000 pixels, so that small images take the chunked CPU path, with
    several chunks per image and a shorter last one."""
    monkeypatch.setattr(color, "_CHUNK_PIXELS", 1000)


def test_chunked_conversion_equals_one_piece_at_a_time(small_chunks):
    generator = torch.Generator().manual_seed(1)
    rgb = torch.rand(2, 3, 40, 55, generator=generator)  # 2200 pixels an image: 1000 + 1000 + 200
    lab = rgb_to_lab(rgb)
    # Pieces of 2 x 5 x 55 = 550 pixels go through in one call, without chunks.
    pieces = torch.cat([rgb_to_lab(rgb[..., row : row + 5, :]) for row in range(0, 40, 5)], dim=-2)
    torch.testing.assert_close(lab, pieces, rtol=0, atol=1e-4)  # float32 rounding only
    reference = skimage.color.rgb2lab(rgb.permute(0, 2, 3, 1).double().numpy())
    assert np.abs(lab.permute(0, 2, 3, 1).double().numpy() - reference).max() < 1e-3
    back = lab_to_rgb(lab)
    back_pieces = torch.cat([lab_to_rgb(lab[..., row : row + 5, :]) for row in range(0, 40, 5)], dim=-2)
    torch.testing.assert_close(back, back_pieces, rtol=0, atol=1e-5)
    assert float((back - rgb).abs().max()) < 1e-4
    # numpy images (..., H, W, 3) take the same path.
    as_numpy = rgb_to_lab(rgb.permute(0, 2, 3, 1).numpy())
    np.testing.assert_allclose(as_numpy, lab.permute(0, 2, 3, 1).numpy(), atol=1e-4)


def test_an_image_larger_than_a_chunk_matches_scikit_image():
    rgb = np.random.default_rng(3).random((600, 500, 3))  # 300,000 pixels
    assert 600 * 500 > color._CHUNK_PIXELS
    lab = rgb_to_lab(rgb)
    assert np.abs(lab - skimage.color.rgb2lab(rgb)).max() < 1e-3
    assert np.abs(lab_to_rgb(lab) - rgb).max() < 1e-4


def test_gradients_flow_through_the_chunked_path(small_chunks):
    generator = torch.Generator().manual_seed(2)
    rgb = torch.rand(1, 3, 40, 55, generator=generator, dtype=torch.float64, requires_grad=True)
    (gradient,) = torch.autograd.grad(rgb_to_lab(rgb)[:, 0].sum(), rgb)
    # L depends on linear luminance Y only: dL/dR = 116/3 * Y**(-2/3) * 0.212671 * dlinear/dR.
    red = rgb.detach()[0, 0, 0, 0]
    assert red > 0.04045
    linear = ((rgb.detach()[0, :, 0, 0] + 0.055) / 1.055) ** 2.4
    luminance = float(linear @ torch.tensor([0.212671, 0.715160, 0.072169], dtype=torch.float64))
    assert luminance > 0.008856
    expected = 116 / 3 * luminance ** (-2 / 3) * 0.212671 * 2.4 / 1.055 * ((red + 0.055) / 1.055) ** 1.4
    assert float(gradient[0, 0, 0, 0]) == pytest.approx(float(expected), rel=1e-9)
    assert bool(torch.isfinite(gradient).all())
    lab = rgb_to_lab(rgb.detach()).requires_grad_()
    (back_gradient,) = torch.autograd.grad(lab_to_rgb(lab).sum(), lab)
    assert back_gradient.shape == lab.shape and bool(torch.isfinite(back_gradient).all())
    # Against a central finite difference at pixels of the first and the last chunk.
    for row, column in ((0, 3), (39, 50)):
        for channel in range(3):
            step = torch.zeros_like(lab)
            step[0, channel, row, column] = 1e-6
            with torch.no_grad():
                pixel = (slice(None), slice(None), row, column)
                numeric = (lab_to_rgb(lab + step)[pixel].sum() - lab_to_rgb(lab - step)[pixel].sum()) / 2e-6
            assert float(back_gradient[0, channel, row, column]) == pytest.approx(float(numeric), rel=1e-5, abs=1e-8)


def test_nan_deep_inside_a_large_batch_is_reported(small_chunks):
    rgb = torch.rand(2, 3, 200, 200)
    rgb[1, 2, 150, 7] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        rgb_to_lab(rgb)
    with pytest.raises(ValueError, match="NaN"):
        lab_to_rgb(rgb * 100)
    with pytest.raises(ValueError, match=r"values in \[0, 1\]"):
        rgb_to_lab(torch.full((1, 3, 300, 300), 0.5).index_fill_(-1, torch.tensor([299]), 1.01))


def test_half_a_degree_turn_is_smooth():
    # A tiny rotation moves a and b by about chroma * angle (radians): no jumps.
    lab = np.array([[[60.0, 40.0, 30.0]]])
    moved = scale_chroma_rotate_hue(lab, 1.0, 0.5) - lab
    assert np.hypot(moved[..., 1], moved[..., 2])[0, 0] == pytest.approx(50 * math.radians(0.5), rel=1e-4)
