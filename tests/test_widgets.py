"""The notebook-01 widgets respond to their controls, and their static figures show the
same numbers."""

import datetime
import io

import numpy as np
import pytest
import skimage.color
from PIL import Image

from colorlib.color import rgb_to_lab
from colorlib.lessons.color_space import (
    DEFAULT_PHOTO_EDITS,
    DEFAULT_SWATCHES,
    PhotoEdit,
    describe_lab_color,
    edit_photo_colors,
    lab_swatch_widget,
    photo_as_float,
    photo_color_widget,
    plot_lab_swatches,
    plot_photo_edits,
)
from colorlib.samples import sample_photo


def expected_hex(lightness, a, b) -> str:
    """The 8-bit sRGB colour scikit-image computes for a Lab colour, as #RRGGBB."""
    rgb = skimage.color.lab2rgb(np.array([[[lightness, a, b]]], dtype=np.float64))[0, 0]
    return "#{:02X}{:02X}{:02X}".format(*np.round(rgb * 255).astype(int))


# --- one Lab colour -----------------------------------------------------------------------


def test_describe_lab_color_white_red_and_an_impossible_color():
    white = describe_lab_color(100, 0, 0)
    assert white.rgb8 == (255, 255, 255) and white.hex == "#FFFFFF" and white.in_gamut
    np.testing.assert_allclose(white.rgb, (1, 1, 1), atol=1e-4)
    red_lab = skimage.color.rgb2lab(np.array([[[1.0, 0.0, 0.0]]]))[0, 0]  # about (53.24, 80.09, 67.20)
    red = describe_lab_color(*red_lab)
    assert red.hex == "#FF0000" and red.in_gamut
    impossible = describe_lab_color(50, 100, 100)
    assert not impossible.in_gamut
    assert impossible.hex == "#FF0000"  # clipped to the nearest corner of the RGB cube


def test_describe_lab_color_agrees_with_scikit_image():
    for lab in [(60.0, 20.0, -30.0), (35.0, -20.0, 25.0), (80.0, 5.0, 60.0)]:
        color = describe_lab_color(*lab)
        reference = skimage.color.lab2rgb(np.array([[lab]]))[0, 0]
        np.testing.assert_allclose(color.rgb, reference, atol=1e-6)
        assert color.in_gamut and color.hex == expected_hex(*lab)


def test_describe_lab_color_rejects_non_numbers():
    with pytest.raises(ValueError, match="number for a"):
        describe_lab_color(50, "red", 0)
    with pytest.raises(ValueError, match="NaN"):
        describe_lab_color(50, float("nan"), 0)


def test_swatch_widget_follows_its_sliders():
    widget = lab_swatch_widget()  # L=50, a=b=0: middle gray
    assert widget.color.hex == "#777777" and "#777777" in widget.swatch.value
    assert "(119, 119, 119)" in widget.swatch.value and "inside the sRGB gamut" in widget.swatch.value

    before = widget.swatch.value
    widget.a_slider.value = 50.0  # towards red
    assert widget.swatch.value != before
    assert widget.color.lab == (50.0, 50.0, 0.0)
    assert widget.color.hex == expected_hex(50, 50, 0) == "#C24F79"
    assert "#C24F79" in widget.swatch.value and "(194, 79, 121)" in widget.swatch.value
    assert widget.color.rgb[0] > widget.color.rgb[2] > widget.color.rgb[1]  # red above blue above green

    widget.b_slider.value = -40.0  # towards blue
    assert widget.color.rgb[2] > widget.color.rgb[0]
    assert widget.color.hex == expected_hex(50, 50, -40)


def test_swatch_widget_warns_outside_the_gamut_and_stops_warning_inside():
    widget = lab_swatch_widget()
    color = widget.set_lab(50, 100, 100)
    assert not color.in_gamut
    assert "outside the sRGB gamut" in widget.swatch.value and "inside" not in widget.swatch.value
    widget.set_lab(50, 10, 10)
    assert widget.color.in_gamut and "outside the sRGB gamut" not in widget.swatch.value


def test_static_swatches_show_the_numbers_and_flag_the_impossible_color():
    figure = plot_lab_swatches()
    shown = [axis for axis in figure.axes if axis.images]
    assert len(shown) == len(DEFAULT_SWATCHES)
    flagged = 0
    for axis, lab in zip(shown, DEFAULT_SWATCHES):
        color = describe_lab_color(*lab)
        np.testing.assert_allclose(axis.images[0].get_array()[0, 0], color.rgb)
        label = axis.texts[0].get_text()
        assert color.hex in label
        flagged += "OUT OF GAMUT" in label
        assert ("OUT OF GAMUT" in label) == (not color.in_gamut)
    assert flagged == 1  # only (50, 100, 100)
    with pytest.raises(ValueError, match="at least one"):
        plot_lab_swatches([])


# --- a photo ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def photo_widget():
    return photo_color_widget(sample_photo("coffee"), max_side=64)


def decoded(png: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(png)) as image:
        return np.asarray(image.convert("RGB"))


def reset(widget):
    widget.chroma_slider.value, widget.hue_slider.value = 1.0, 0.0
    widget.a_toggle.value = widget.b_toggle.value = True


def test_photo_widget_starts_with_the_photo(photo_widget):
    reset(photo_widget)
    photo = photo_as_float(sample_photo("coffee"), max_side=64)
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
    assert np.abs(photo_widget.rgb - photo_as_float(sample_photo("coffee"), max_side=64)).max() < 1e-4


def test_static_photo_edits_match_the_widget(photo_widget):
    figure = plot_photo_edits(sample_photo("coffee"), max_side=64)
    shown = [axis for axis in figure.axes if axis.images]
    assert len(shown) == len(DEFAULT_PHOTO_EDITS) == 8
    titles = [axis.get_title() for axis in shown]
    assert titles[1] == "chroma x0" and titles[6].startswith("a off")
    assert "clipped" in titles[3]  # chroma x2
    for axis, edit in zip(shown, DEFAULT_PHOTO_EDITS):
        _, expected = edit_photo_colors(photo_widget.lab, edit)
        np.testing.assert_allclose(axis.images[0].get_array(), expected, atol=1e-6)
    gray = shown[1].images[0].get_array()
    assert np.abs(gray - gray[..., :1]).max() < 1e-3


def test_edit_photo_colors_rotates_then_switches_off():
    lab = np.array([[[50.0, 30.0, 0.0]]])
    edited, rgb = edit_photo_colors(lab, PhotoEdit(hue_degrees=90.0, b_on=False))
    np.testing.assert_allclose(edited, [[[50.0, 0.0, 0.0]]], atol=1e-12)  # (30, 0) -> (0, 30) -> b off
    edited, _ = edit_photo_colors(lab, PhotoEdit(hue_degrees=90.0, a_on=False))
    np.testing.assert_allclose(edited, [[[50.0, 0.0, 30.0]]], atol=1e-12)
    assert rgb.shape == (1, 1, 3)


def test_photo_as_float_checks_and_shrinks():
    cat = sample_photo("chelsea")  # 300 x 451
    small = photo_as_float(cat, max_side=100)
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


# --- notebook 01: the ab plane at one lightness ----------------------------------------------

import torch  # noqa: E402
from matplotlib import colormaps  # noqa: E402

from colorlib.lessons.color_space import (
    DEFAULT_AB_PLANE_LIGHTNESSES,
    AbPlaneWidget,
    describe_ab_plane,
    displayable_ab_plane,
    displayable_lightness,
    plot_ab_planes,
)
from colorlib.lessons.encoder_anatomy import (
    FeatureMapBrowser,
    draw_feature_map_browser,
    encoder_feature_maps,  # noqa: E402
)
from colorlib.model import ColorizationNet  # noqa: E402


def test_describe_ab_plane_measures_the_slice():
    plane = describe_ab_plane(50.0)
    rgb, displayable = displayable_ab_plane(50.0)
    np.testing.assert_array_equal(plane.displayable, displayable)
    np.testing.assert_array_equal(plane.rgb, rgb)
    assert plane.displayable_share == displayable.mean()
    assert abs(plane.displayable_share - 0.214) < 0.001  # 14,145 of 257 x 257 points
    assert plane.a_range == (-54.0, 89.0) and plane.b_range == (-78.0, 64.0)
    # The most colourful displayable point is the purple corner a = 89, b = -78.
    assert plane.max_chroma == np.hypot(89.0, -78.0) and plane.displayable[128 + 78, 128 + 89]
    black = describe_ab_plane(0.0, step=8.0)
    assert black.displayable.sum() == 1 and black.max_chroma == 0.0 and black.a_range == (0.0, 0.0)


def test_ab_plane_widget_follows_its_slider_and_marks_a_color():
    widget = AbPlaneWidget(50.0, mark=(80.0, -80.0))
    assert widget.plane.lightness == 50.0 and "21.4% of the square displayable" in widget.summary.value
    assert widget.mark_displayable is False and "not displayable at this L" in widget.summary.value
    first_png = widget.image.value
    assert decoded(first_png).shape[2] == 3
    plane = widget.set_lightness(45.0)  # (80, -80) exists only for L in 41..48.5
    assert plane.lightness == 45.0 and widget.mark_displayable is True
    assert "is displayable at this L" in widget.summary.value and widget.image.value != first_png
    np.testing.assert_array_equal(widget.plane.displayable, displayable_ab_plane(45.0)[1])
    assert 45.0 in displayable_lightness(80.0, -80.0)
    widget.lightness_slider.value = 100.0  # white only
    assert widget.plane.displayable.sum() == 1 and "0.0% of the square" in widget.summary.value
    assert "a 0..0, b 0..0" in widget.summary.value


def test_ab_plane_widget_rejects_bad_settings():
    with pytest.raises(ValueError, match=r"0..100"):
        AbPlaneWidget(120.0)
    with pytest.raises(ValueError, match=r"mark=\(a, b\)"):
        AbPlaneWidget(50.0, mark=(80.0,))
    with pytest.raises(ValueError, match=r"mark=\(a, b\)"):
        AbPlaneWidget(50.0, mark=(80.0, float("nan")))
    with pytest.raises(ValueError, match=r"mark=\(a, b\)"):
        AbPlaneWidget(50.0, mark=80.0)


def test_static_ab_planes_show_the_widget_slices():
    figure = plot_ab_planes()
    shown = [axis for axis in figure.axes if axis.images]
    assert len(shown) == len(DEFAULT_AB_PLANE_LIGHTNESSES) == 6
    for axis, lightness in zip(shown, DEFAULT_AB_PLANE_LIGHTNESSES):
        plane = describe_ab_plane(lightness)
        np.testing.assert_array_equal(axis.images[0].get_array(), plane.rgb)
        assert axis.get_title() == f"L = {lightness:g}: {100 * plane.displayable_share:.1f}% displayable"
    shares = [describe_ab_plane(lightness).displayable_share for lightness in DEFAULT_AB_PLANE_LIGHTNESSES]
    assert shares.index(max(shares)) == 2  # L = 50 holds the most colours of the six
    with pytest.raises(ValueError, match="at least one"):
        plot_ab_planes([])


# --- notebook 02: the feature-map browser ----------------------------------------------------


@pytest.fixture
def small_maps():
    generator = torch.Generator().manual_seed(12)
    first = torch.randn(3, 4, 4, generator=generator)
    first[0] = torch.arange(16.0).reshape(4, 4) - 8.0  # 7 of 16 values above 0
    first[1] = 0.0  # a dead channel
    first[2] = torch.arange(16.0).reshape(4, 4) - 4.0  # 11 of 16 above 0
    second = torch.rand(5, 2, 2, generator=generator)
    return {"first": first, "second": second}


def test_feature_map_browser_describes_and_draws_the_chosen_channel(small_maps):
    browser = FeatureMapBrowser(small_maps, np.full((8, 8), 50.0), display_size=16)
    assert browser.channel.layer == "first" and browser.channel.channel == 0
    assert browser.channel_slider.max == 2
    assert browser.channel.active_share == 7 / 16 and browser.channel.minimum == -8.0 and browser.channel.maximum == 7.0
    assert browser.channels_by_activity("first") == [2, 0, 1]
    assert browser.channel.activity_rank == 2 and "above 0 at 44% of positions" in browser.summary.value
    # The picture: magma from the channel's minimum (black) to its maximum.
    expected = np.round(colormaps["magma"]((np.arange(16.0).reshape(4, 4)) / 15.0)[..., :3] * 255).astype(np.uint8)
    np.testing.assert_array_equal(browser.view("first", 0), expected)
    np.testing.assert_array_equal(decoded(browser.image.value), np.repeat(np.repeat(expected, 4, 0), 4, 1))
    dead = browser.show("first", 1)
    assert dead.active_share == 0.0 and dead.activity_rank == 3
    np.testing.assert_array_equal(browser.view("first", 1), np.broadcast_to(expected[0, 0], (4, 4, 3)))


def test_feature_map_browser_slider_follows_the_layer(small_maps):
    browser = FeatureMapBrowser(small_maps, np.zeros((8, 8)))
    browser.layer_menu.value = "second"
    assert browser.channel_slider.max == 4
    browser.channel_slider.value = 4
    assert browser.channel.layer == "second" and browser.channel.channel == 4
    assert "second: 5 channels of 2 x 2; channel 4" in browser.summary.value
    browser.layer_menu.value = "first"  # 3 channels: the slider comes back to 2
    assert browser.channel_slider.value == 2 and browser.channel_slider.max == 2
    assert browser.channel.layer == "first" and browser.channel.channel == 2 and browser.channel.active_share == 11 / 16


def test_feature_map_browser_rejects_bad_input(small_maps):
    with pytest.raises(ValueError, match="non-empty"):
        FeatureMapBrowser({}, np.zeros((8, 8)))
    with pytest.raises(ValueError, match=r"\(C, h, w\)"):
        FeatureMapBrowser({"flat": torch.zeros(4, 4)}, np.zeros((8, 8)))
    with pytest.raises(ValueError, match=r"\(H, W\)"):
        FeatureMapBrowser(small_maps, np.zeros((8, 8, 3)))
    browser = FeatureMapBrowser(small_maps, np.zeros((8, 8)))
    with pytest.raises(ValueError, match=r"channel in 0..2"):
        browser.show("first", 3)
    with pytest.raises(ValueError, match="unknown layer 'layer9'"):
        browser.describe("layer9", 0)


def test_feature_map_browser_on_an_encoder_and_its_static_twin():
    torch.manual_seed(0)
    encoder = ColorizationNet().encoder.eval()
    lightness = np.linspace(0.0, 100.0, 64 * 64).reshape(64, 64)
    maps = encoder_feature_maps(encoder, torch.from_numpy(lightness / 100).float())
    browser = FeatureMapBrowser({name: maps[name] for name in ("relu", "layer1", "layer2")}, lightness)
    assert browser.show("layer2", 127).height == 8 and browser.channel_slider.max == 127
    figure = draw_feature_map_browser(browser)
    panels = [axis for axis in figure.axes if axis.images][1:]  # after the input
    assert len(panels) == 9
    for row, layer in enumerate(("relu", "layer1", "layer2")):
        order = browser.channels_by_activity(layer)
        for axis, channel in zip(panels[3 * row : 3 * row + 3], (order[0], order[len(order) // 2], order[-1])):
            np.testing.assert_array_equal(axis.images[0].get_array(), browser.view(layer, channel))
            share = browser.describe(layer, channel).active_share
            assert axis.get_title().startswith(f"ch {channel}, ") and f">0 at {100 * share:.0f}%" in axis.get_title()
    with pytest.raises(ValueError, match="unknown layer"):
        draw_feature_map_browser(browser, layers=["conv9"])


# --- notebook 09: colorize your own photos --------------------------------------------------


@pytest.fixture(scope="module")
def colorizer_files(tmp_path_factory):
    """Two tiny trained-looking checkpoints (MSE and classification, 32 x 32 input) and two sample PNGs."""
    import torch

    from colorlib.losses import make_loss
    from colorlib.model import ColorizationNet
    from colorlib.weights import CHECKPOINT_FORMAT

    folder = tmp_path_factory.mktemp("colorizer")
    torch.manual_seed(7)
    paths = {}
    for name, loss in (("mse", None), ("classification", make_loss("classification"))):
        net = ColorizationNet(decoder=loss, input_size=32)
        if loss is None:  # small colours around gray, inside the sRGB gamut: the lightness survives
            with torch.no_grad():
                net.decoder[-2].weight.mul_(0.05)
                net.decoder[-2].bias.fill_(128 / 255)
        checkpoint = {"format": CHECKPOINT_FORMAT, "model": net.state_dict(),
                      "meta": {"input_size": 32, "loss": name}, "loss_state": loss.state() if loss else None}
        paths[name] = folder / f"{name}.pth"
        torch.save(checkpoint, paths[name])
    samples = []
    for name, size in (("chelsea", (64, 48)), ("coffee", (40, 40))):
        sample = folder / f"{name}.png"
        Image.fromarray(sample_photo(name)).resize(size, Image.BICUBIC).save(sample)
        samples.append(sample)
    return paths, samples


def test_available_models_lists_what_exists_and_says_how_to_get_the_rest(colorizer_files, tmp_path):
    from colorlib.config import repo_root
    from colorlib.lessons.your_photos import available_models
    from colorlib.runs import ModelCandidate

    paths, _ = colorizer_files
    inside_repo = repo_root() / "runs" / "no-such-run" / "best.pth"
    candidates = [ModelCandidate("released", "paper"), ModelCandidate("mine", paths["mse"]),
                  ModelCandidate("not yet", inside_repo, "run notebook 04"), ModelCandidate("gone", tmp_path / "x.pth")]
    available, missing = available_models(candidates)
    assert [c.label for c in available] == ["released", "mine"]
    assert missing[0] == "not yet: no file runs/no-such-run/best.pth yet; run notebook 04"  # no machine path
    assert missing[1].startswith("gone: no file ") and missing[1].endswith("x.pth yet")


def test_photo_colorizer_starts_on_the_first_sample_and_keeps_its_lightness(colorizer_files):
    from colorlib.lessons.your_photos import PhotoColorizer
    from colorlib.runs import ModelCandidate

    paths, samples = colorizer_files
    widget = PhotoColorizer([ModelCandidate("mse", paths["mse"]), ModelCandidate("gone", "nowhere/best.pth", "train it")],
                            samples, display_side=32)
    photo = np.asarray(Image.open(samples[0]).convert("RGB"))
    assert widget.name == "chelsea.png" and widget.error is None and widget.result.shape == photo.shape
    assert widget.missing == ["gone: no file nowhere/best.pth yet; train it"]
    lightness_in, lightness_out = rgb_to_lab(photo / 255.0)[..., 0], rgb_to_lab(widget.result / 255.0)[..., 0]
    assert np.abs(lightness_in - lightness_out).mean() < 0.5  # only a and b are predicted
    assert widget.temperature.layout.display == "none"  # an MSE model has no temperature
    assert decoded(widget.panels["result"].value).shape == (24, 32, 3)  # shrunk to display_side
    input_panel = decoded(widget.panels["input"].value).astype(int)
    assert np.abs(input_panel[..., 0] - input_panel[..., 2]).max() <= 1  # the input is gray
    # the a panel: 0 is mid gray, ab_limit white
    expected_a = np.round(np.clip((widget.shown_lab[..., 1] + 40) / 80, 0, 1) * 255)
    assert np.abs(decoded(widget.panels["a"].value)[..., 0] - expected_a).max() <= 1
    assert "chelsea.png: 64x48 pixels; mse" in widget.status.value
    widget.source.value = str(samples[1])
    assert widget.name == "coffee.png" and widget.result.shape == (40, 40, 3)


def test_photo_colorizer_temperature_for_a_classification_model_only(colorizer_files):
    import colorlib
    from colorlib.lessons.your_photos import PhotoColorizer
    from colorlib.runs import ModelCandidate

    paths, samples = colorizer_files
    widget = PhotoColorizer([ModelCandidate("mse", paths["mse"]), ModelCandidate("cls", paths["classification"])],
                            samples, display_side=32)
    widget.model.value = "cls"
    assert widget.is_classification and widget.temperature.layout.display is None
    widget.temperature.value = 0.1
    cold = widget.result.copy()
    expected = colorlib.colorize(np.asarray(Image.open(samples[0]).convert("RGB")), widget.loaded_model(), temperature=0.1)
    assert np.abs(cold.astype(int) - expected).max() <= 1
    widget.temperature.value = 1.0
    assert not np.array_equal(widget.result, cold) and "temperature 1.00" in widget.status.value
    widget.model.value = "mse"
    assert widget.temperature.layout.display == "none"


def test_photo_colorizer_uploads_errors_and_saving(colorizer_files, tmp_path, monkeypatch):
    from colorlib.lessons.your_photos import PhotoColorizer
    from colorlib.runs import ModelCandidate

    paths, samples = colorizer_files
    monkeypatch.chdir(tmp_path)
    widget = PhotoColorizer([ModelCandidate("mse", paths["mse"])], samples, display_side=32)
    assert not (tmp_path / "colorized").exists()  # nothing is written before a save
    widget.use_upload(b"certainly not a photo", "../holiday.jpg")
    assert widget.result is None and widget.error == "holiday.jpg is not an image file (Pillow cannot identify it)"
    assert "holiday.jpg" in widget.status.value and widget.save_button.disabled
    assert widget.save() is None and not (tmp_path / "colorized").exists()
    png = io.BytesIO()
    Image.fromarray(sample_photo("coffee")).resize((48, 32)).save(png, format="PNG")
    # what the browser's upload does: the FileUpload's value changes
    widget.upload.value = ({"name": "mine.png", "type": "image/png", "size": len(png.getvalue()),
                            "content": memoryview(png.getvalue()),
                            "last_modified": datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc)},)
    assert widget.name == "mine.png" and widget.source.value == widget.UPLOAD and widget.result.shape == (32, 48, 3)
    widget.save_button.click()
    saved = tmp_path / "colorized" / "mine_colorized.png"
    assert saved.is_file() and np.array_equal(np.asarray(Image.open(saved)), widget.result)
    assert widget.saved.value == "saved colorized/mine_colorized.png"
    widget.source.value = str(samples[1])  # back to a sample
    assert widget.name == "coffee.png"
    widget._on_upload({"new": {"old.png": {"metadata": {}, "content": png.getvalue()}}})  # ipywidgets 7's value
    assert widget.name == "old.png" and widget.result.shape == (32, 48, 3)
    with pytest.raises(ValueError, match="none of the models"):
        PhotoColorizer([ModelCandidate("gone", tmp_path / "none.pth")], samples)


def test_colorized_by_models_figure(colorizer_files):
    import colorlib
    from colorlib.lessons.your_photos import draw_colorized_by_models

    paths, samples = colorizer_files
    photo = np.asarray(Image.open(samples[0]).convert("RGB"))
    figure = draw_colorized_by_models(photo, {"mse": colorlib.load_pretrained(paths["mse"])}, credit="Photo: a cat")
    titles = [axis.get_title() for axis in figure.axes]
    true_chroma = float(np.hypot(*np.moveaxis(rgb_to_lab(photo / 255.0)[..., 1:], -1, 0)).mean())
    assert titles[0] == f"original\nmean chroma {true_chroma:.1f}" and titles[3].startswith("mse\nmean chroma")
    assert len(figure.axes) == 2 * 3 + 1  # two rows of three pictures, one colour bar
    assert "Photo: a cat" in [text.get_text() for text in figure.texts]
    with pytest.raises(ValueError, match="at least one model"):
        draw_colorized_by_models(photo, {})


# --- notebook 07: the temperature slider and one pixel's distribution ------------------------


@pytest.fixture(scope="module")
def classification_models(colorizer_files):
    """The tiny classification and MSE checkpoints of ``colorizer_files``, loaded, and a 48 x 64 photo."""
    import colorlib

    paths, samples = colorizer_files
    photo = np.asarray(Image.open(samples[0]).convert("RGB"))
    return colorlib.load_pretrained(paths["classification"]), colorlib.load_pretrained(paths["mse"]), photo


def test_temperature_explorer_recolors_and_measures_what_it_shows(classification_models):
    import colorlib
    from colorlib import metrics
    from colorlib.lessons.beyond_mse import TemperatureExplorer

    classifier, mse_model, photo = classification_models
    explorer = TemperatureExplorer(classifier, photo, max_side=32)  # 48 x 64 shrunk to 24 x 32
    assert explorer.photo.shape == (24, 32, 3) and explorer.view.temperature == 0.38
    explorer.slider.value = 1.0
    view = explorer.view
    expected = colorlib.colorize(explorer.photo, classifier, temperature=1.0)
    assert view.temperature == 1.0 and np.array_equal(view.rgb, expected)
    assert decoded(explorer.image.value).shape == (24, 32, 3)
    assert view.auc == pytest.approx(metrics.ab_error_auc(metrics.ab_of(expected), metrics.ab_of(explorer.photo)))
    assert view.colorfulness == pytest.approx(metrics.colorfulness(expected))
    assert view.colorfulness_ratio == pytest.approx(view.colorfulness / metrics.colorfulness(explorer.photo))
    assert view.chroma == pytest.approx(metrics.mean_chroma(metrics.ab_of(expected)))
    assert f"T = 1.00: colourfulness {view.colorfulness:.1f}" in explorer.summary.value
    assert f"AuC {view.auc:.1f} %" in explorer.summary.value
    explorer.slider.value = 0.1
    assert not np.array_equal(explorer.view.rgb, view.rgb)  # a sharper distribution, other colours
    assert explorer.view_at(1.0) is view  # computed once per temperature
    with pytest.raises(ValueError, match="classification"):
        TemperatureExplorer(mse_model, photo)


def test_static_temperatures_show_the_widgets_numbers(classification_models):
    import matplotlib.pyplot as plt

    from colorlib.lessons.beyond_mse import TemperatureExplorer, draw_temperatures

    classifier, _, photo = classification_models
    explorer = TemperatureExplorer(classifier, photo, max_side=32)
    figure = draw_temperatures(explorer, temperatures=(1.0, 0.1), curve=(0.2, 0.5))
    try:
        titles = [axis.get_title() for axis in figure.axes]
        for temperature in (1.0, 0.1):
            view = explorer.view_at(temperature)
            assert f"T = {temperature:g}\ncolourfulness x{view.colorfulness_ratio:.2f}, AuC {view.auc:.1f} %" in titles
        curve = figure.axes[3].get_lines()[0]  # the colourfulness ratio against T
        assert list(curve.get_xdata()) == [0.1, 0.2, 0.5, 1.0]
        assert curve.get_ydata()[1] == pytest.approx(explorer.view_at(0.2).colorfulness_ratio)
        auc_curve = figure.axes[4].get_lines()[0]  # AuC on its own axes, the same T
        assert list(auc_curve.get_xdata()) == [0.1, 0.2, 0.5, 1.0] and figure.axes[4].get_shared_x_axes().joined(figure.axes[3], figure.axes[4])
        assert auc_curve.get_ydata()[2] == pytest.approx(explorer.view_at(0.5).auc)
        assert len(figure.axes) == 5  # three pictures, two plots: no twin axis
    finally:
        plt.close(figure)
    with pytest.raises(ValueError, match="at least one temperature"):
        draw_temperatures(explorer, temperatures=())


def test_pixel_explorer_reads_the_distribution_at_the_chosen_pixel(classification_models):
    import torch

    from colorlib.bins import annealed_mean
    from colorlib.inference import network_input
    from colorlib.lessons.beyond_mse import PixelDistributionExplorer, mode_masses

    classifier, mse_model, photo = classification_models
    explorer = PixelDistributionExplorer(classifier, photo, mse_model=mse_model, temperature=0.5)
    lightness = network_input([photo], 32)
    with torch.no_grad():
        logits = classifier(lightness)
        mse_ab = mse_model.predict_ab(lightness)
    probabilities = torch.softmax(logits.double(), dim=1)
    _, second = mode_masses(probabilities, classifier.output_decoder.bins)
    start = np.unravel_index(int(second[0].argmax()), (32, 32))
    assert (explorer.row.value, explorer.column.value) == start == explorer.most_bimodal_pixel()
    explorer.row.value, explorer.column.value = 5, 20
    prediction = explorer.prediction
    assert (prediction.row, prediction.column) == (5, 20)
    np.testing.assert_allclose(prediction.probabilities, probabilities[0, :, 5, 20].numpy(), rtol=1e-6)
    assert prediction.lightness == pytest.approx(float(lightness[0, 0, 5, 20]) * 100, abs=1e-4)
    bins = classifier.output_decoder.bins.double()
    assert prediction.modes.mean == pytest.approx(tuple((probabilities[0, :, 5, 20] @ bins).tolist()), abs=1e-4)
    annealed = annealed_mean(logits[:, :, 5:6, 20:21], classifier.output_decoder.bins, temperature=0.5)[0, :, 0, 0]
    assert prediction.annealed == pytest.approx(tuple(annealed.tolist()), abs=1e-4)
    assert prediction.mse == pytest.approx(tuple(mse_ab[0, :, 5, 20].tolist()), abs=1e-4)
    assert "pixel (5, 20)" in explorer.summary.value and decoded(explorer.image.value).ndim == 3
    with pytest.raises(ValueError, match="0..31"):
        explorer.at(32, 0)
    with pytest.raises(ValueError, match="classification"):
        PixelDistributionExplorer(mse_model, photo)
    with pytest.raises(ValueError, match="regression"):
        PixelDistributionExplorer(classifier, photo, mse_model=classifier)


def test_static_pixel_distributions_draw_one_row_per_pixel(classification_models):
    import matplotlib.pyplot as plt

    from colorlib.lessons.beyond_mse import (
        PixelDistributionExplorer,
        draw_pixel_distributions,
    )

    classifier, mse_model, photo = classification_models
    explorer = PixelDistributionExplorer(classifier, photo, mse_model=mse_model)
    figure = draw_pixel_distributions(explorer)
    try:
        titles = [axis.get_title() for axis in figure.axes]
        first, second = explorer.most_bimodal_pixel(), explorer.most_confident_pixel()
        assert titles[0].startswith(f"pixel ({first[0]}, {first[1]}) of the 32 x 32 input")
        assert titles[2].startswith(f"pixel ({second[0]}, {second[1]}) of the 32 x 32 input")
        assert len(figure.axes) == 4
        labels = figure.axes[1].get_legend_handles_labels()[1]
        assert labels == ["mean (T = 1): what MSE would answer", "annealed mean, T = 0.38",
                          "the MSE model's prediction", "true colour"]
    finally:
        plt.close(figure)
    with pytest.raises(ValueError, match="at least one pixel"):
        draw_pixel_distributions(explorer, pixels=[])
