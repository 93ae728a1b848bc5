"""The notebook-01 widgets respond to their controls, and their static figures show the
same numbers."""

import io

import numpy as np
import pytest
import skimage.color
from PIL import Image

from colorlib.color import rgb_to_lab
from colorlib.samples import sample_photo
from colorlib.widgets import (
    DEFAULT_PHOTO_EDITS,
    DEFAULT_SWATCHES,
    PhotoEdit,
    describe_lab_colour,
    edit_photo_colours,
    lab_swatch_widget,
    photo_as_float,
    photo_colour_widget,
    plot_lab_swatches,
    plot_photo_edits,
)


def expected_hex(lightness, a, b) -> str:
    """The 8-bit sRGB colour scikit-image computes for a Lab colour, as #RRGGBB."""
    rgb = skimage.color.lab2rgb(np.array([[[lightness, a, b]]], dtype=np.float64))[0, 0]
    return "#{:02X}{:02X}{:02X}".format(*np.round(rgb * 255).astype(int))


# --- one Lab colour -----------------------------------------------------------------------


def test_describe_lab_colour_white_red_and_an_impossible_colour():
    white = describe_lab_colour(100, 0, 0)
    assert white.rgb8 == (255, 255, 255) and white.hex == "#FFFFFF" and white.in_gamut
    np.testing.assert_allclose(white.rgb, (1, 1, 1), atol=1e-4)
    red_lab = skimage.color.rgb2lab(np.array([[[1.0, 0.0, 0.0]]]))[0, 0]  # about (53.24, 80.09, 67.20)
    red = describe_lab_colour(*red_lab)
    assert red.hex == "#FF0000" and red.in_gamut
    impossible = describe_lab_colour(50, 100, 100)
    assert not impossible.in_gamut
    assert impossible.hex == "#FF0000"  # clipped to the nearest corner of the RGB cube


def test_describe_lab_colour_agrees_with_scikit_image():
    for lab in [(60.0, 20.0, -30.0), (35.0, -20.0, 25.0), (80.0, 5.0, 60.0)]:
        colour = describe_lab_colour(*lab)
        reference = skimage.color.lab2rgb(np.array([[lab]]))[0, 0]
        np.testing.assert_allclose(colour.rgb, reference, atol=1e-6)
        assert colour.in_gamut and colour.hex == expected_hex(*lab)


def test_describe_lab_colour_rejects_non_numbers():
    with pytest.raises(ValueError, match="number for a"):
        describe_lab_colour(50, "red", 0)
    with pytest.raises(ValueError, match="NaN"):
        describe_lab_colour(50, float("nan"), 0)


def test_swatch_widget_follows_its_sliders():
    widget = lab_swatch_widget()  # L=50, a=b=0: middle gray
    assert widget.colour.hex == "#777777" and "#777777" in widget.swatch.value
    assert "(119, 119, 119)" in widget.swatch.value and "inside the sRGB gamut" in widget.swatch.value

    before = widget.swatch.value
    widget.a_slider.value = 50.0  # towards red
    assert widget.swatch.value != before
    assert widget.colour.lab == (50.0, 50.0, 0.0)
    assert widget.colour.hex == expected_hex(50, 50, 0) == "#C24F79"
    assert "#C24F79" in widget.swatch.value and "(194, 79, 121)" in widget.swatch.value
    assert widget.colour.rgb[0] > widget.colour.rgb[2] > widget.colour.rgb[1]  # red above blue above green

    widget.b_slider.value = -40.0  # towards blue
    assert widget.colour.rgb[2] > widget.colour.rgb[0]
    assert widget.colour.hex == expected_hex(50, 50, -40)


def test_swatch_widget_warns_outside_the_gamut_and_stops_warning_inside():
    widget = lab_swatch_widget()
    colour = widget.set_lab(50, 100, 100)
    assert not colour.in_gamut
    assert "outside the sRGB gamut" in widget.swatch.value and "inside" not in widget.swatch.value
    widget.set_lab(50, 10, 10)
    assert widget.colour.in_gamut and "outside the sRGB gamut" not in widget.swatch.value


def test_static_swatches_show_the_numbers_and_flag_the_impossible_colour():
    figure = plot_lab_swatches()
    shown = [axis for axis in figure.axes if axis.images]
    assert len(shown) == len(DEFAULT_SWATCHES)
    flagged = 0
    for axis, lab in zip(shown, DEFAULT_SWATCHES):
        colour = describe_lab_colour(*lab)
        np.testing.assert_allclose(axis.images[0].get_array()[0, 0], colour.rgb)
        label = axis.texts[0].get_text()
        assert colour.hex in label
        flagged += "OUT OF GAMUT" in label
        assert ("OUT OF GAMUT" in label) == (not colour.in_gamut)
    assert flagged == 1  # only (50, 100, 100)
    with pytest.raises(ValueError, match="at least one"):
        plot_lab_swatches([])


# --- a photo ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def photo_widget():
    return photo_colour_widget(sample_photo("coffee"), max_side=64)


def decoded(png: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(png)) as image:
        return np.asarray(image.convert("RGB"))


def reset(widget):
    widget.chroma_slider.value, widget.hue_slider.value = 1.0, 0.0
    widget.a_toggle.value = widget.b_toggle.value = True


def test_photo_widget_starts_with_the_photo(photo_widget):
    reset(photo_widget)
    photo = photo_as_float(sample_photo("coffee"), 64)
    assert photo_widget.rgb.shape == photo.shape == (43, 64, 3)
    assert np.abs(photo_widget.rgb - photo).max() < 1e-4  # Lab round trip
    np.testing.assert_array_equal(decoded(photo_widget.image.value), np.round(photo * 255).astype(np.uint8))


def test_chroma_zero_shows_the_gray_photo_with_the_same_lightness(photo_widget):
    reset(photo_widget)
    before = photo_widget.image.value
    photo_widget.chroma_slider.value = 0.0
    assert photo_widget.image.value != before
    shown = decoded(photo_widget.image.value).astype(int)
    assert np.abs(shown - shown[..., :1]).max() <= 1  # R = G = B (8-bit rounding)
    np.testing.assert_allclose(rgb_to_lab(photo_widget.rgb)[..., 0], photo_widget.lab[..., 0], atol=1e-2)
    assert "mean chroma 0.0" in photo_widget.summary.value


def test_chroma_two_doubles_the_chroma_and_leaves_the_gamut(photo_widget):
    reset(photo_widget)
    photo_chroma = np.hypot(photo_widget.lab[..., 1], photo_widget.lab[..., 2])
    photo_widget.chroma_slider.value = 2.0
    edited_chroma = np.hypot(photo_widget.edited_lab[..., 1], photo_widget.edited_lab[..., 2])
    np.testing.assert_allclose(edited_chroma, 2 * photo_chroma, rtol=1e-5, atol=1e-4)
    assert f"mean chroma {2 * photo_chroma.mean():.1f}" in photo_widget.summary.value
    assert "clipped: 0.0%" not in photo_widget.summary.value  # a red cup doubled leaves sRGB


def test_hue_half_turn_negates_a_and_b(photo_widget):
    reset(photo_widget)
    photo_widget.hue_slider.value = 180.0
    np.testing.assert_allclose(photo_widget.edited_lab[..., 1:], -photo_widget.lab[..., 1:], atol=1e-4)
    np.testing.assert_array_equal(photo_widget.edited_lab[..., 0], photo_widget.lab[..., 0])
    # The coffee photo is red-orange (a, b > 0); turned half way it is blue-green.
    assert photo_widget.rgb[..., 2].mean() > photo_widget.rgb[..., 0].mean()


def test_toggles_switch_the_channels_off(photo_widget):
    reset(photo_widget)
    photo_widget.a_toggle.value = False
    assert photo_widget.a_toggle.description == "a channel off"
    assert np.all(photo_widget.edited_lab[..., 1] == 0)
    np.testing.assert_array_equal(photo_widget.edited_lab[..., 2], photo_widget.lab[..., 2])
    photo_widget.b_toggle.value = False
    assert np.all(photo_widget.edited_lab[..., 1:] == 0)
    both_off = decoded(photo_widget.image.value).astype(int)
    assert np.abs(both_off - both_off[..., :1]).max() <= 1  # no a, no b: gray
    photo_widget.a_toggle.value = photo_widget.b_toggle.value = True
    assert photo_widget.b_toggle.description == "b channel on"
    assert np.abs(photo_widget.rgb - photo_as_float(sample_photo("coffee"), 64)).max() < 1e-4


def test_static_photo_edits_match_the_widget(photo_widget):
    figure = plot_photo_edits(sample_photo("coffee"), max_side=64)
    shown = [axis for axis in figure.axes if axis.images]
    assert len(shown) == len(DEFAULT_PHOTO_EDITS) == 8
    titles = [axis.get_title() for axis in shown]
    assert titles[1] == "chroma x0" and titles[6].startswith("a off")
    assert "clipped" in titles[3]  # chroma x2
    for axis, edit in zip(shown, DEFAULT_PHOTO_EDITS):
        _, expected = edit_photo_colours(photo_widget.lab, edit)
        np.testing.assert_allclose(axis.images[0].get_array(), expected, atol=1e-6)
    gray = shown[1].images[0].get_array()
    assert np.abs(gray - gray[..., :1]).max() < 1e-3


def test_edit_photo_colours_rotates_then_switches_off():
    lab = np.array([[[50.0, 30.0, 0.0]]])
    edited, rgb = edit_photo_colours(lab, PhotoEdit(hue_degrees=90.0, b_on=False))
    np.testing.assert_allclose(edited, [[[50.0, 0.0, 0.0]]], atol=1e-12)  # (30, 0) -> (0, 30) -> b off
    edited, _ = edit_photo_colours(lab, PhotoEdit(hue_degrees=90.0, a_on=False))
    np.testing.assert_allclose(edited, [[[50.0, 0.0, 30.0]]], atol=1e-12)
    assert rgb.shape == (1, 1, 3)


def test_photo_as_float_checks_and_shrinks():
    cat = sample_photo("chelsea")  # 300 x 451
    small = photo_as_float(cat, 100)
    assert small.shape == (67, 100, 3) and small.dtype == np.float32
    assert 0 <= small.min() and small.max() <= 1
    assert abs(small.mean() - cat.mean() / 255) < 0.01
    assert photo_as_float(cat).shape == cat.shape
    with pytest.raises(ValueError, match=r"\(H, W, 3\)"):
        photo_as_float(np.zeros((4, 4)))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        photo_as_float(np.full((4, 4, 3), 2.0))
    with pytest.raises(ValueError, match="uint8"):
        photo_as_float(np.zeros((4, 4, 3), dtype=np.int16))
