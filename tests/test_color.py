"""colorlib.color against scikit-image, hand-worked values and its own inverse."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from hypothesis import example, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from skimage import color as skcolor

from colorlib import color
from colorlib.lessons import color_space


def _cube_sample(step: int) -> np.ndarray:
    """Every ``step``-th 8-bit level per channel, plus 255: (K, 3) float64 in [0, 1]."""
    levels = np.unique(np.r_[np.arange(0, 256, step), 255])
    grid = np.stack(np.meshgrid(levels, levels, levels, indexing="ij"), axis=-1).reshape(-1, 3)
    return grid / 255.0


def _named_colours() -> np.ndarray:
    primaries = np.array(
        [[0, 0, 0], [1, 1, 1], [1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 0], [0, 1, 1], [1, 0, 1]],
        dtype=np.float64,
    )
    grays = np.repeat(np.arange(256)[:, None] / 255.0, 3, axis=1)
    return np.concatenate([primaries, grays])


def test_matches_skimage_over_a_dense_sample_of_the_8bit_cube():
    rgb = np.concatenate([_cube_sample(step=3), _named_colours()])  # 86^3 + 264 colours
    ours = color.rgb_to_lab(torch.from_numpy(rgb.T.reshape(1, 3, -1, 1)).float())
    ours = ours.double().numpy().reshape(3, -1).T
    reference = skcolor.rgb2lab(rgb.reshape(-1, 1, 3)).reshape(-1, 3)
    assert np.abs(ours - reference).max() <= 1e-3


def test_hand_worked_values():
    # White is L=100 with no colour; black is L=0; the grays have a = b = 0. (The sRGB
    # matrix's rows, rounded to 6 digits, leave white at a = -0.0025, b = 0.0047.)
    lab = color.rgb_to_lab(_named_colours()[None, :, :].astype(np.float64))[0]
    white, black, red, green, blue, yellow = lab[1], lab[0], lab[2], lab[3], lab[4], lab[5]
    np.testing.assert_allclose(white, [100.0, 0.0, 0.0], atol=5e-3)
    np.testing.assert_allclose(black, [0.0, 0.0, 0.0], atol=1e-9)
    np.testing.assert_allclose(lab[8:, 1:], 0.0, atol=5e-3)
    # The published CIELAB coordinates of the sRGB primaries (D65).
    np.testing.assert_allclose(red, [53.24, 80.09, 67.20], atol=0.01)
    np.testing.assert_allclose(green, [87.73, -86.18, 83.18], atol=0.01)
    np.testing.assert_allclose(blue, [32.30, 79.19, -107.86], atol=0.01)
    assert yellow[2] > 90  # yellow: b far above 0
    # Middle gray (sRGB 119/255) is close to L = 50.
    assert abs(color.rgb_to_lab(np.full((1, 1, 3), 119 / 255))[0, 0, 0] - 50.0) < 0.3


def test_round_trip_for_every_8bit_colour():
    levels = torch.arange(256, dtype=torch.float32) / 255
    green, blue = torch.meshgrid(levels, levels, indexing="ij")
    worst = 0.0
    for red_level in range(0, 256, 16):  # 16 chunks of 16 red levels: all 16.7 M colours
        reds = levels[red_level : red_level + 16].view(-1, 1, 1).expand(-1, 256, 256)
        rgb = torch.stack(
            (reds, green.expand(reds.shape[0], -1, -1), blue.expand(reds.shape[0], -1, -1)), dim=1
        )  # (16, 3, 256, 256)
        back = color.lab_to_rgb(color.rgb_to_lab(rgb))
        worst = max(worst, float((back - rgb).abs().max()))
    assert worst <= 1e-4


def test_lab_to_rgb_matches_skimage_including_out_of_gamut():
    rng = np.random.default_rng(0)
    lab = np.stack(
        [rng.uniform(0, 100, 5000), rng.uniform(-128, 127, 5000), rng.uniform(-128, 127, 5000)], axis=-1
    ).reshape(50, 100, 3)
    with pytest.warns(UserWarning):  # skimage warns about negative Z values, which it clips
        reference = skcolor.lab2rgb(lab)
    np.testing.assert_allclose(color.lab_to_rgb(lab), reference, atol=1e-6)


def test_out_of_gamut_rule_clips_to_the_unit_cube_and_is_flagged():
    lab = torch.tensor([[50.0, 0.0, 0.0], [50.0, 100.0, 100.0], [100.0, -128.0, 127.0], [20.0, 10.0, -20.0]])
    lab = lab.T.reshape(3, 4, 1)
    rgb = color.lab_to_rgb(lab)
    assert float(rgb.min()) >= 0.0 and float(rgb.max()) <= 1.0
    assert color.out_of_gamut(lab)[:, 0].tolist() == [False, True, True, False]
    # An in-gamut colour is untouched by the rule: it survives the round trip.
    in_gamut = lab[:, [0, 3]]
    torch.testing.assert_close(color.rgb_to_lab(color.lab_to_rgb(in_gamut)), in_gamut, atol=1e-3, rtol=0)


def test_batched_channel_first_and_numpy_agree_and_dtype_is_kept():
    rng = np.random.default_rng(1)
    images = rng.random((4, 16, 24, 3))
    from_numpy = color.rgb_to_lab(images)
    assert isinstance(from_numpy, np.ndarray) and from_numpy.shape == (4, 16, 24, 3)
    assert from_numpy.dtype == np.float64
    from_tensor = color.rgb_to_lab(torch.from_numpy(images).permute(0, 3, 1, 2).float())
    assert from_tensor.shape == (4, 3, 16, 24) and from_tensor.dtype == torch.float32
    np.testing.assert_allclose(from_tensor.permute(0, 2, 3, 1).numpy(), from_numpy, atol=1e-3)
    single = color.rgb_to_lab(torch.from_numpy(images[2]).permute(2, 0, 1))
    np.testing.assert_allclose(single.permute(1, 2, 0).numpy(), from_numpy[2], atol=1e-9)


def test_conversion_is_differentiable_with_finite_gradients():
    rgb = torch.rand(2, 3, 8, 8, dtype=torch.float64)
    rgb[0, :, 0, 0] = 0.0  # black: the cube root's slope is infinite at 0, the linear part is not
    rgb.requires_grad_(True)
    lab = color.rgb_to_lab(rgb)
    lab.sum().backward()
    assert torch.isfinite(rgb.grad).all()
    assert torch.autograd.gradcheck(color.rgb_to_lab, (torch.rand(1, 3, 2, 2, dtype=torch.float64, requires_grad=True) * 0.9 + 0.05,))
    lab_in = torch.tensor([[[[50.0]], [[20.0]], [[-30.0]]]], dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(color.lab_to_rgb, (lab_in,))


def test_the_papers_scalings():
    lightness = torch.tensor([0.0, 50.0, 100.0])
    torch.testing.assert_close(color.lab_to_network_input(lightness), torch.tensor([0.0, 0.5, 1.0]))
    torch.testing.assert_close(color.network_input_to_lightness(torch.tensor([0.25])), torch.tensor([25.0]))
    ab = torch.tensor([-128.0, 0.0, 127.0])
    torch.testing.assert_close(color.ab_to_target(ab), torch.tensor([0.0, 128 / 255, 1.0]))
    torch.testing.assert_close(color.target_to_ab(color.ab_to_target(ab)), ab)
    # The paper's MSE of 0.0025 on the target scale is an RMS error of about 12.75 ab units.
    assert abs(np.sqrt(0.0025) * color.AB_SCALE - 12.75) < 1e-9


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (torch.rand(1, 4, 8, 8), r"\(\.\.\., 3, H, W\).*shape \(1, 4, 8, 8\)"),
        (np.zeros((8, 8, 4)), r"\(\.\.\., H, W, 3\).*shape \(8, 8, 4\)"),
        (torch.zeros(1, 3, 8, 8, dtype=torch.uint8), r"float tensor.*uint8.*divide by 255"),
        (np.zeros((8, 8, 3), dtype=np.uint8), r"float array.*uint8.*divide by 255"),
        (torch.full((1, 3, 2, 2), float("nan")), r"NaN"),
        (torch.full((1, 3, 2, 2), 2.0), r"\[0, 1\].*from 2 to 2"),
        ([[0.1, 0.2, 0.3]], r"torch.Tensor.*numpy array.*got list"),
    ],
)
def test_bad_input_gets_a_clear_value_error(bad, message):
    with pytest.raises(ValueError, match=message):
        color.rgb_to_lab(bad)


def test_lab_to_rgb_rejects_nan_and_wrong_shapes():
    with pytest.raises(ValueError, match="NaN"):
        color.lab_to_rgb(torch.tensor([[[float("nan")]], [[0.0]], [[0.0]]]))
    with pytest.raises(ValueError, match=r"\(\.\.\., 3, H, W\)"):
        color.lab_to_rgb(torch.zeros(2, 8, 8))


def test_validation_can_be_skipped_for_data_valid_by_construction():
    rgb = torch.randint(0, 256, (2, 3, 8, 8), dtype=torch.uint8).float() / 255
    torch.testing.assert_close(color.rgb_to_lab(rgb, validate=False), color.rgb_to_lab(rgb), rtol=0, atol=0)
    with pytest.raises(ValueError, match="NaN"):
        color.rgb_to_lab(torch.full((1, 3, 2, 2), float("nan")))  # validate=True is the default


def _srgb_of_linear(value: float) -> float:
    return 1.055 * value ** (1 / 2.4) - 0.055 if value > 0.0031308 else 12.92 * value


#: The places where a piecewise formula switches: sRGB's 0.04045 (linear 0.0031308), and the
#: gray levels whose Y sits at the Lab curve's epsilon (6/29)^3 (the kappa side meets it).
_THRESHOLDS = (0.04045, 12.92 * 0.0031308, _srgb_of_linear((6 / 29) ** 3), _srgb_of_linear(0.008856))


def _threshold_batch(level: float) -> np.ndarray:
    rgb = np.full((2, 3, 3), level)
    rgb[1, :, 0] = 0.0  # and the same level in one channel of a colour
    return rgb


@settings(max_examples=60, deadline=None)
@given(
    arrays(np.float64, (2, 3, 3), elements=st.floats(0.0, 1.0, allow_nan=False)),
    st.floats(0.0, 1.0),
)
@example(_threshold_batch(_THRESHOLDS[0]), _THRESHOLDS[0])
@example(_threshold_batch(_THRESHOLDS[1]), _THRESHOLDS[1])
@example(_threshold_batch(_THRESHOLDS[2]), _THRESHOLDS[2])
@example(_threshold_batch(_THRESHOLDS[3]), _THRESHOLDS[3])
def test_property_round_trip_and_gray_axis(rgb, gray_level):
    # Any sRGB colour survives rgb -> lab -> rgb, and a gray has no a or b. The tolerance,
    # 1e-6, is 4,000 times finer than one 8-bit level; at the formulas' switching points
    # float64 rounding leaves errors of a few 1e-8.
    np.testing.assert_allclose(color.lab_to_rgb(color.rgb_to_lab(rgb)), rgb, atol=1e-6)
    gray = color.rgb_to_lab(np.full((1, 1, 3), gray_level))[0, 0]
    assert 0.0 <= gray[0] <= 100.0 + 1e-9 and abs(gray[1]) < 5e-3 and abs(gray[2]) < 5e-3


# --- which (a, b) exist at one L: slices of the sRGB gamut (notebook 01) ---------------------


def _displayable_by_skimage(lab: np.ndarray, tolerance: float = 1e-4) -> np.ndarray:
    """In gamut by scikit-image's Lab -> XYZ and its XYZ -> linear RGB matrix: (K, 3) -> (K,)."""
    negative_z = (lab[:, 0] + 16.0) / 116.0 - lab[:, 2] / 200.0 < 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scikit-image warns about the negative Z we test for
        xyz = skcolor.lab2xyz(lab.reshape(-1, 1, 3)).reshape(-1, 3)
    linear = xyz @ skcolor.colorconv.rgb_from_xyz.T
    inside = ((linear >= -tolerance) & (linear <= 1 + tolerance)).all(axis=1)
    return inside & ~negative_z


def test_ab_grid_runs_from_minus_to_plus_limit_through_gray():
    np.testing.assert_array_equal(color_space.ab_grid(64.0), [-128.0, -64.0, 0.0, 64.0, 128.0])
    values = color_space.ab_grid()
    assert len(values) == 257 and values[128] == 0.0 and values[0] == -128.0 and values[-1] == 128.0
    for bad in (3.0, 0.0, -1.0, 300.0, float("nan")):
        with pytest.raises(ValueError, match="step"):
            color_space.ab_grid(bad)


@pytest.mark.parametrize("lightness", [5.0, 25.0, 50.0, 75.0, 95.0])
def test_displayable_ab_plane_agrees_with_scikit_image(lightness):
    rgb, displayable = color_space.displayable_ab_plane(lightness, step=4.0)
    values = color_space.ab_grid(4.0)
    a, b = np.meshgrid(values, values[::-1])
    lab = np.stack((np.full(a.size, lightness), a.ravel(), b.ravel()), axis=1)
    expected = _displayable_by_skimage(lab).reshape(a.shape)
    np.testing.assert_array_equal(displayable, expected)
    # Displayable colours are scikit-image's sRGB for (L, a, b); the rest is blank (white).
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # negative Z, clipped: those points are not compared
        reference = skcolor.lab2rgb(lab.reshape(-1, 1, 3)).reshape(rgb.shape)
    np.testing.assert_allclose(rgb[displayable], reference[displayable], atol=1e-6)
    assert np.all(rgb[~displayable] == 1.0)


def test_displayable_ab_plane_layout_and_hand_worked_points():
    rgb, displayable = color_space.displayable_ab_plane(50.0)  # 257 x 257, a = b = 0 in the centre
    assert rgb.shape == (257, 257, 3) and displayable.shape == (257, 257)
    np.testing.assert_allclose(rgb[128, 128], [119 / 255] * 3, atol=0.5 / 255)  # L = 50 gray is #777777
    assert displayable[128, 128] and not displayable[0, 0] and not displayable[-1, -1]
    # Row 0 is b = +128, column 0 is a = -128: a = 60, b = 30 (a warm red) is displayable at
    # L = 50, its mirror a = -60, b = -30 (teal) is not: the slice is lopsided.
    row, column = 128 - 30, 128 + 60
    assert displayable[row, column] and rgb[row, column, 0] > rgb[row, column, 2] > rgb[row, column, 1]
    assert not displayable[128 + 30, 128 - 60]
    # At L = 0 and L = 100 only gray (black, white) exists.
    for lightness, gray in ((0.0, 0.0), (100.0, 1.0)):
        rgb, displayable = color_space.displayable_ab_plane(lightness, step=8.0)
        assert displayable.sum() == 1 and displayable[16, 16]
        np.testing.assert_allclose(rgb[16, 16], [gray] * 3, atol=1e-5)  # the D65 constants' rounding
    _, black_blank = color_space.displayable_ab_plane(50.0, step=8.0, blank=0.0)
    assert black_blank.sum() > 1


def test_displayable_ab_plane_rejects_bad_input():
    with pytest.raises(ValueError, match=r"lightness \(L\) in 0..100"):
        color_space.displayable_ab_plane(101.0)
    with pytest.raises(ValueError, match="lightness"):
        color_space.displayable_ab_plane(-1.0)
    with pytest.raises(ValueError, match="blank in 0..1"):
        color_space.displayable_ab_plane(50.0, blank=2.0)
    with pytest.raises(ValueError, match="step"):
        color_space.displayable_ab_plane(50.0, step=5.0)


def test_displayable_lightness_of_a_purple_gray_and_an_impossible_red():
    purple = color_space.displayable_lightness(80.0, -80.0)
    lightness = np.arange(0.0, 100.25, 0.5)
    lab = np.stack((lightness, np.full_like(lightness, 80.0), np.full_like(lightness, -80.0)), axis=1)
    np.testing.assert_array_equal(purple, lightness[_displayable_by_skimage(lab)])
    assert purple.min() == 41.0 and purple.max() == 48.5 and len(purple) == 16  # a band of 7.5 L
    np.testing.assert_array_equal(color_space.displayable_lightness(0.0, 0.0, step=10.0), np.arange(0.0, 101.0, 10.0))
    assert color_space.displayable_lightness(150.0, 0.0).size == 0
    with pytest.raises(ValueError, match="divides 100"):
        color_space.displayable_lightness(0.0, 0.0, step=0.3)
    with pytest.raises(ValueError, match="a: expected a finite number"):
        color_space.displayable_lightness(float("inf"), 0.0)
