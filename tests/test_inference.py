"""colorlib.inference and colorlib.colorize_files: every input kind, the photo's own size and lightness, batches, files and folders, the command."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import threading

import numpy as np
import pytest
import skimage.color
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

from colorlib import cli, images, weights
from colorlib import inference as colorize_module
from colorlib.color import lab_to_rgb, out_of_gamut, target_to_ab
from colorlib.colorize_files import (
    ColorizeOutcome,
    colorize_paths,
    colorize_upload,
    plan_outputs,
)
from colorlib.files import new_file_mode
from colorlib.images import load_image
from colorlib.inference import (
    colorize,
    colorize_many,
    network_input,
    predict_ab,
    replace_ab,
)
from colorlib.model import ColorizationNet
from colorlib.modelz import ModelZ
from colorlib.samples import sample_photo
from colorlib.weights import load_pretrained

SIZE = 96  # network input side for most tests: small and fast, divisible by 8


@pytest.fixture(scope="module")
def model():
    return load_pretrained("paper", progress=False)


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    """A 150x226 RGB photo: not a multiple of 8, not square."""
    return np.ascontiguousarray(sample_photo("chelsea")[::2, ::2])


def _lightness(rgb_uint8: np.ndarray) -> np.ndarray:
    """L (H, W) by scikit-image, independent of colorlib.color."""
    return skimage.color.rgb2lab(rgb_uint8)[..., 0]


# --------------------------------------------------------------------------------------
# Reading every kind of input.
# --------------------------------------------------------------------------------------


def _exif_rotated_jpeg(path, stored: np.ndarray, orientation: int) -> None:
    exif = Image.Exif()
    exif[0x0112] = orientation
    Image.fromarray(stored).save(path, format="JPEG", quality=95, exif=exif)


def test_load_image_rgb_gray_pil_and_paths(photo, tmp_path):
    assert load_image(photo) is photo  # an RGB array is used as it is
    gray = photo[..., 1].copy()
    assert np.array_equal(load_image(gray), np.stack([gray] * 3, axis=-1))
    assert np.array_equal(load_image(Image.fromarray(photo)), photo)
    Image.fromarray(photo).save(tmp_path / "photo.png")
    assert np.array_equal(load_image(tmp_path / "photo.png"), photo)
    assert np.array_equal(load_image(str(tmp_path / "photo.png")), photo)
    Image.fromarray(gray).save(tmp_path / "gray.png")
    assert np.array_equal(load_image(tmp_path / "gray.png"), np.stack([gray] * 3, axis=-1))


def test_load_image_rgba_is_composited_over_white(tmp_path):
    rgba = np.zeros((2, 3, 4), dtype=np.uint8)
    rgba[..., :3] = (200, 100, 0)
    rgba[..., 3] = [[0, 255, 128], [64, 255, 0]]
    Image.fromarray(rgba, mode="RGBA").save(tmp_path / "rgba.png")
    rgb = load_image(tmp_path / "rgba.png")
    assert rgb.shape == (2, 3, 3) and rgb.dtype == np.uint8
    assert rgb[0, 0].tolist() == [255, 255, 255]  # transparent: white
    assert rgb[0, 1].tolist() == [200, 100, 0]  # opaque: the colour
    # half transparent, by hand: (c * 128 + 255 * 127) / 255
    assert rgb[0, 2].tolist() == [227, 177, 127]
    assert rgb[1, 0].tolist() == [241, 216, 191]  # alpha 64: (c * 64 + 255 * 191) / 255


def test_load_image_palette_files(photo, tmp_path):
    palette = Image.fromarray(photo).convert("P", palette=Image.Palette.ADAPTIVE, colors=32)
    palette.save(tmp_path / "palette.png")
    rgb = load_image(tmp_path / "palette.png")
    assert np.array_equal(rgb, np.asarray(palette.convert("RGB")))
    assert len(np.unique(rgb.reshape(-1, 3), axis=0)) <= 32
    # a palette with a transparent entry: that entry becomes white
    indices = np.asarray(palette).copy()
    transparent = int(indices[0, 0])
    palette.save(tmp_path / "transparent.png", transparency=transparent)
    flattened = load_image(tmp_path / "transparent.png")
    assert (flattened[indices == transparent] == 255).all()
    assert np.array_equal(flattened[indices != transparent], rgb[indices != transparent])


def test_load_image_16_bit_png_is_scaled_not_clipped(tmp_path):
    values = np.array([[0, 257, 40_000], [65_535, 1_000, 32_896]], dtype=np.uint16)
    Image.fromarray(values).save(tmp_path / "deep.png")
    with Image.open(tmp_path / "deep.png") as opened:
        assert opened.mode.startswith("I")  # really a 16-bit file
    rgb = load_image(tmp_path / "deep.png")
    expected = np.array([[0, 1, 156], [255, 4, 128]], dtype=np.uint8)  # round(v / 257)
    assert np.array_equal(rgb, np.stack([expected] * 3, axis=-1))
    # 32-bit integer images are read as 16-bit data
    assert np.array_equal(load_image(Image.fromarray(values.astype(np.int32))), rgb)
    with pytest.raises(ValueError, match="expected 16-bit data"):
        load_image(Image.fromarray(np.array([[0, 70_000]], dtype=np.int32)))
    with pytest.raises(ValueError, match="floating-point image"):
        load_image(Image.fromarray(np.zeros((2, 2), dtype=np.float32)))


def test_load_image_honours_exif_orientation(tmp_path):
    stored = np.zeros((40, 64, 3), dtype=np.uint8)
    stored[:16, :16] = 255  # a white block in the stored top-left corner
    _exif_rotated_jpeg(tmp_path / "rotated.jpg", stored, orientation=6)  # "rotate 90 clockwise to view"
    upright = load_image(tmp_path / "rotated.jpg")
    assert upright.shape == (64, 40, 3)
    assert upright[:16, -16:].mean() > 200 and upright[-16:, :16].mean() < 50  # now top-right
    with Image.open(tmp_path / "rotated.jpg") as opened:
        assert load_image(opened).shape == (64, 40, 3)  # PIL images too


@pytest.mark.parametrize(
    "bad, words",
    [
        (np.zeros((4, 4, 3), dtype=np.float32), "dtype float32"),
        (np.zeros((4, 4, 4), dtype=np.uint8), r"shaped \(4, 4, 4\)"),
        (np.zeros((4, 4, 1), dtype=np.uint8), r"shaped \(4, 4, 1\)"),
        (np.zeros((0, 4, 3), dtype=np.uint8), "empty"),
        (torch.zeros(3, 4, 4), "got Tensor"),
        ([[0, 1], [2, 3]], "got list"),
    ],
)
def test_load_image_rejects_other_kinds(bad, words):
    with pytest.raises(ValueError, match=words) as caught:
        load_image(bad)
    if "empty" not in words:
        assert "a file path, a PIL image, or a uint8 numpy array" in str(caught.value)


def test_load_image_files_that_are_not_images(tmp_path):
    (tmp_path / "notes.txt").write_text("not an image\n")
    with pytest.raises(ValueError, match="notes.txt is not an image file"):
        load_image(tmp_path / "notes.txt")
    Image.fromarray(np.zeros((64, 64, 3), dtype=np.uint8)).save(tmp_path / "cut.png")
    data = (tmp_path / "cut.png").read_bytes()
    (tmp_path / "cut.png").write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="cut.png"):
        load_image(tmp_path / "cut.png")
    with pytest.raises(FileNotFoundError):
        load_image(tmp_path / "missing.png")


# --------------------------------------------------------------------------------------
# The pipeline.
# --------------------------------------------------------------------------------------


def test_network_input_is_lightness_over_100(photo):
    square = np.ascontiguousarray(photo[:96, :96])  # already the network's size: no resizing
    x = network_input([square, square[::-1]], input_size=96)
    assert x.shape == (2, 1, 96, 96) and x.dtype == torch.float32
    np.testing.assert_allclose(x[0, 0].numpy(), _lightness(square) / 100, atol=2e-5)
    np.testing.assert_allclose(x[1, 0].numpy(), _lightness(square[::-1]) / 100, atol=2e-5)
    resized = network_input([photo], input_size=64)
    assert resized.shape == (1, 1, 64, 64)
    assert abs(float(resized.mean()) - _lightness(photo).mean() / 100) < 0.01


@pytest.mark.needs_data
def test_predict_ab_is_the_network_output_enlarged(model, photo):
    square = np.ascontiguousarray(photo[:96, :96])
    with torch.inference_mode():
        expected = target_to_ab(model(network_input([square], 96)))[0].permute(1, 2, 0).numpy()
    ab = predict_ab(square, model, input_size=96)
    assert ab.shape == (96, 96, 2) and ab.dtype == np.float32
    np.testing.assert_allclose(ab, expected, atol=1e-4)  # same size: nothing to upsample
    # twice the size: nearest gives 2x2 blocks of the network's values, bilinear blends them
    double = np.asarray(Image.fromarray(square).resize((192, 192), Image.Resampling.NEAREST))
    small = predict_ab(double, model, input_size=96, upsample="nearest")
    assert np.array_equal(small[::2, ::2], small[1::2, 1::2])
    smooth = predict_ab(double, model, input_size=96)
    torch.testing.assert_close(
        torch.from_numpy(smooth).permute(2, 0, 1)[None],
        F.interpolate(torch.from_numpy(small[::2, ::2]).permute(2, 0, 1)[None], scale_factor=2, mode="bilinear"),
        rtol=0, atol=1e-3,
    )
    assert np.abs(smooth - small).max() > 1


@pytest.mark.needs_data
def test_colorize_keeps_size_and_lightness_and_matches_scikit_image(model, photo):
    out = colorize(photo, model)  # default size 224
    assert out.shape == photo.shape and out.dtype == np.uint8
    ab = predict_ab(photo, model)
    lab = np.concatenate([skimage.color.rgb2lab(photo)[..., :1], ab.astype(np.float64)], axis=-1)
    in_gamut = ~out_of_gamut(lab)
    assert in_gamut.mean() > 0.9
    difference = np.abs(_lightness(out) - _lightness(photo))
    assert difference[in_gamut].max() < 0.8 and difference[in_gamut].mean() < 0.2
    # the same merge done by scikit-image, on the whole image at once
    reference = (skimage.color.lab2rgb(lab) * 255).round()
    assert np.abs(out - reference).max() <= 1
    # and the photo got colours: not gray, not the input's own colours
    chroma = np.hypot(*np.moveaxis(skimage.color.rgb2lab(out)[..., 1:], -1, 0))
    assert chroma.mean() > 3
    assert not np.array_equal(out, photo)


@pytest.mark.needs_data
def test_gray_input_gets_the_same_colors_as_its_rgb_original(model, photo):
    gray = (skimage.color.rgb2gray(photo) * 255).round().astype(np.uint8)
    from_gray = colorize(gray, model, input_size=SIZE)
    assert from_gray.shape == photo.shape
    difference = np.abs(_lightness(from_gray) - _lightness(np.stack([gray] * 3, axis=-1)))
    assert np.percentile(difference, 99) < 0.8
    # only lightness is used: colouring the photo or its own gray L gives close results
    gray_of_l = Image.fromarray(photo).convert("L")
    assert np.abs(colorize(gray_of_l, model, input_size=SIZE).astype(int) - from_gray).mean() < 3


@pytest.mark.needs_data
def test_bands_give_exactly_the_one_piece_result(model, photo, monkeypatch):
    whole = colorize(photo, model, input_size=SIZE)
    threads = torch.get_num_threads()
    monkeypatch.setattr(colorize_module, "_BAND_PIXELS", photo.shape[1] * 7)  # 22 bands, the last one short
    banded = colorize(photo, model, input_size=SIZE)
    assert np.array_equal(banded, whole)
    assert torch.get_num_threads() == threads  # restored after the banded work


@pytest.mark.needs_data
def test_every_input_kind_gives_its_own_size(model, photo, tmp_path):
    height, width, _ = photo.shape
    Image.fromarray(photo).save(tmp_path / "photo.png")
    Image.fromarray(photo).convert("RGBA").save(tmp_path / "rgba.png")
    Image.fromarray(photo).convert("P").save(tmp_path / "palette.png")
    deep = (photo[..., 0].astype(np.uint16) * 257).astype(np.uint16)
    Image.fromarray(deep).save(tmp_path / "deep.png")
    _exif_rotated_jpeg(tmp_path / "rotated.jpg", photo, orientation=8)
    inputs = {
        "path": (tmp_path / "photo.png", (height, width)),
        "str path": (str(tmp_path / "photo.png"), (height, width)),
        "PIL": (Image.fromarray(photo), (height, width)),
        "gray array": (photo[..., 0].copy(), (height, width)),
        "RGB array": (photo, (height, width)),
        "RGBA file": (tmp_path / "rgba.png", (height, width)),
        "palette file": (tmp_path / "palette.png", (height, width)),
        "16-bit file": (tmp_path / "deep.png", (height, width)),
        "EXIF-rotated JPEG": (tmp_path / "rotated.jpg", (width, height)),
    }
    results = colorize_many([source for source, _ in inputs.values()], model, input_size=SIZE, batch_size=4)
    for (kind, (source, shape)), out in zip(inputs.items(), results):
        assert out.shape == shape + (3,) and out.dtype == np.uint8, kind
        expected_l = _lightness(load_image(source))
        assert np.percentile(np.abs(_lightness(out) - expected_l), 95) < 0.8, kind
    # the 16-bit file holds the photo's red channel: same result as the 8-bit gray array
    assert np.array_equal(results[7], results[3])


@pytest.mark.needs_data
def test_batched_equals_one_at_a_time(model, photo):
    images = [photo, photo[:64, :100].copy(), photo[..., 2].copy(), photo[::-1, ::-1].copy(), photo[:40]]
    one_by_one = [colorize(image, model, input_size=SIZE) for image in images]
    for batch_size in (2, 16):
        batched = colorize_many(iter(images), model, input_size=SIZE, batch_size=batch_size)
        assert len(batched) == len(images)
        for single, together in zip(one_by_one, batched):
            assert single.shape == together.shape
            assert np.abs(single.astype(int) - together).max() <= 1


@pytest.mark.needs_data
def test_colorize_runs_in_eval_mode_and_restores_the_model_mode(photo):
    model = load_pretrained("paper")
    in_eval = colorize(photo, model, input_size=SIZE)
    model.train()
    assert np.array_equal(colorize(photo, model, input_size=SIZE), in_eval)  # BN used its running statistics
    assert model.training and model.decoder.training


@pytest.mark.needs_data
def test_bad_arguments_are_value_errors(model, photo):
    for size in (0, 100, -8, 22.0, "224"):
        with pytest.raises(ValueError, match="divisible by 8"):
            colorize(photo, model, input_size=size)
    with pytest.raises(ValueError, match="'bilinear' or 'nearest'"):
        colorize(photo, model, upsample="bicubic")
    with pytest.raises(ValueError, match="batch_size"):
        colorize_many([photo], model, batch_size=0)
    height, width, _ = photo.shape
    with pytest.raises(ValueError, match=rf"expected float ab shaped \({height}, {width}, 2\)"):
        replace_ab(photo, np.zeros((height, width - 1, 2), dtype=np.float32))
    with pytest.raises(ValueError, match="expected float ab"):
        replace_ab(photo, np.zeros((height, width, 2), dtype=np.int16))
    assert colorize_many([], model) == []


def test_replace_ab_keeps_lightness_with_zero_ab_giving_gray(photo):
    gray = replace_ab(photo, np.zeros(photo.shape[:2] + (2,), dtype=np.float32))
    spread = gray.max(axis=-1).astype(int) - gray.min(axis=-1)
    assert spread.max() <= 1  # a = b = 0 is neutral gray
    assert np.abs(_lightness(gray) - _lightness(photo)).max() < 0.8




@pytest.mark.parametrize("mode", ["bilinear", "nearest"])
@pytest.mark.parametrize("height, width", [(150, 226), (56, 56), (28, 28), (2, 3), (17, 900), (301, 64)])
def test_ab_enlarged_band_by_band_equals_interpolate_on_the_whole(mode, height, width):
    generator = torch.Generator().manual_seed(height * width)
    ab_small = torch.randn(2, 28, 28, generator=generator) * 40
    options = {"align_corners": False} if mode == "bilinear" else {}
    whole = F.interpolate(ab_small[None], size=(height, width), mode=mode, **options)[0]
    enlarged = colorize_module._EnlargedAb(ab_small, height, width, mode)
    bands = torch.cat([enlarged.rows(top, min(top + 7, height)) for top in range(0, height, 7)], dim=1)
    assert bands.shape == (2, height, width)
    torch.testing.assert_close(bands, whole, rtol=0, atol=2e-4)  # float32 rounding only (values up to ~150)


@pytest.mark.needs_data
def test_size_defaults_to_the_model_input_size(model, photo):
    assert model.input_size == 224  # recorded by load_pretrained for the authors' checkpoints
    assert np.array_equal(colorize(photo, model), colorize(photo, model, input_size=224))
    untrained = ColorizationNet()  # input_size None: the size must be given
    with pytest.raises(ValueError, match="input_size"):
        colorize(photo, untrained)
    with pytest.raises(ValueError, match="input_size"):
        colorize_paths([], "unused", untrained)
    assert colorize(photo[:16, :16], untrained, input_size=16).shape == (16, 16, 3)


class _HalfDecoder:
    """A stand-in classification decoder: 3 raw channels, ab = 100 * (first two - third)."""

    name = "half"
    output_channels = 3

    def __init__(self) -> None:
        self.temperatures: list = []

    def decode(self, output: torch.Tensor, temperature: float | None = None) -> torch.Tensor:
        self.temperatures.append(temperature)
        return 100.0 * (output[:, :2] - output[:, 2:])


def test_every_kind_of_model_answers_in_ab_units(photo):
    square = np.ascontiguousarray(photo[:32, :32])
    lightness = network_input([square], 32)
    # a classification-style ColorizationNet: its decoder turns the raw output into ab
    torch.manual_seed(0)
    decoder = _HalfDecoder()
    classifying = ColorizationNet(decoder=decoder, input_size=32).eval()
    with torch.inference_mode():
        raw = classifying(lightness)
    expected = (100.0 * (raw[:, :2] - raw[:, 2:]))[0].permute(1, 2, 0).numpy()
    np.testing.assert_allclose(predict_ab(square, classifying, temperature=0.5), expected, atol=1e-4)
    assert decoder.temperatures == [0.5]

    # any other module maps L/100 to targets (ab + 128) / 255
    class Constant(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.target = nn.Parameter(torch.tensor([0.75, 0.25]))

        def forward(self, x):
            return self.target.view(1, 2, 1, 1).expand(x.shape[0], 2, *x.shape[-2:])

    ab = predict_ab(square, Constant(), input_size=32)
    np.testing.assert_allclose(ab[..., 0], 0.75 * 255 - 128, atol=1e-4)  # 63.25
    np.testing.assert_allclose(ab[..., 1], 0.25 * 255 - 128, atol=1e-4)  # -64.25
    with pytest.raises(ValueError, match="temperature"):
        predict_ab(square, Constant(), input_size=32, temperature=0.5)

    # ModelZ takes L in 0..100 in its predict_ab
    class TinyZ(ModelZ):
        def __init__(self) -> None:
            nn.Module.__init__(self)
            self.scale = nn.Parameter(torch.ones(()))
            self.seen: list = []

        def predict_ab(self, lightness, temperature=None):
            self.seen.append((float(lightness.max()), temperature))
            return torch.zeros(lightness.shape[0], 2, *lightness.shape[-2:])

    tiny_z = TinyZ()
    assert np.abs(predict_ab(square, tiny_z, input_size=32, temperature=0.38)).max() == 0
    assert tiny_z.seen[0][0] == pytest.approx(float(lightness.max()) * 100, rel=1e-6) and tiny_z.seen[0][1] == 0.38


@pytest.mark.needs_data
def test_temperature_must_be_a_finite_positive_number_for_a_model_with_an_annealed_mean(model, photo):
    classifying = ColorizationNet(decoder=_HalfDecoder(), input_size=32).eval()
    for bad in (0, -0.5, float("inf"), float("nan"), True, "0.38"):
        with pytest.raises(ValueError, match="temperature: expected a finite number > 0"):
            colorize(photo, classifying, temperature=bad)
    with pytest.raises(ValueError, match="regresses ab"):
        colorize(photo, model, temperature=0.38)  # the paper's MSE model has no annealed mean
    with pytest.raises(ValueError, match=r"arguments go \(image, model"):
        predict_ab(model, photo)  # the old order, model first: one clear line


# --------------------------------------------------------------------------------------
# The pixel limit: each photo read once, the caller's limit from end to end.
# --------------------------------------------------------------------------------------


def test_arrays_are_never_refused_for_their_size_only_files_are(tmp_path):
    huge = np.broadcast_to(np.uint8(90), (10_000, 10_000, 3))  # 100 megapixels, no memory
    assert load_image(huge) is huge and load_image(huge, max_pixels=1000) is huge
    Image.fromarray(np.zeros((40, 30, 3), np.uint8)).save(tmp_path / "small.png")
    assert images.image_pixels(tmp_path / "small.png") == 1200  # from the header
    (tmp_path / "notes.txt").write_text("no image")
    assert images.image_pixels(tmp_path / "notes.txt") is None and images.image_pixels(tmp_path) is None
    with pytest.raises(images.ImageTooLargeError, match="30x40 = 1,200 pixels"):
        load_image(tmp_path / "small.png", max_pixels=1000)
    with Image.open(tmp_path / "small.png") as opened:  # a PIL image not yet decoded is a file still
        with pytest.raises(images.ImageTooLargeError):
            load_image(opened, max_pixels=1000)
        opened.load()
        assert load_image(opened, max_pixels=1000).shape == (40, 30, 3)


@pytest.mark.needs_data
def test_a_limit_above_the_default_holds_end_to_end(model, photo, tmp_path, monkeypatch, capsys):
    """The default limit lowered to 1,000 pixels: every step inside must use the caller's limit."""
    monkeypatch.setattr(images.load_image, "__defaults__", (1000,))
    pixels = photo.shape[0] * photo.shape[1]  # 33,900
    Image.fromarray(photo).save(tmp_path / "cat.png")
    reads = []
    read_file = images._read_file
    monkeypatch.setattr(images, "_read_file", lambda path, limit: reads.append(path.name) or read_file(path, limit))
    expected = colorize(photo, model, input_size=SIZE)
    assert reads == []
    assert np.array_equal(colorize(tmp_path / "cat.png", model, input_size=SIZE, max_pixels=pixels), expected)
    assert reads == ["cat.png"]  # read once
    assert predict_ab(tmp_path / "cat.png", model, input_size=SIZE, max_pixels=pixels).shape == photo.shape[:2] + (2,)
    with pytest.raises(images.ImageTooLargeError, match="33,900 pixels"):
        colorize(tmp_path / "cat.png", model, input_size=SIZE, max_pixels=pixels - 1)
    # the files door, the upload door and the command
    reads.clear()
    outcomes = list(colorize_paths([tmp_path / "cat.png"], tmp_path / "out", model, input_size=SIZE, max_pixels=pixels))
    assert outcomes[0].ok, outcomes[0].error
    assert np.array_equal(np.asarray(Image.open(tmp_path / "out" / "cat.png")), expected)
    assert reads == ["cat.png"]
    result, error = colorize_upload((tmp_path / "cat.png").read_bytes(), "cat.png", model, input_size=SIZE, max_pixels=pixels)
    assert error is None and np.array_equal(result, expected)
    reads.clear()
    assert cli.main(["colorize", str(tmp_path / "cat.png"), "-o", str(tmp_path / "cli"), "--size", str(SIZE),
                     "--max-pixels", str(pixels)]) == 0
    assert np.array_equal(np.asarray(Image.open(tmp_path / "cli" / "cat.png")), expected)
    assert reads == ["cat.png"]  # decoded ahead while the model loaded, and not again
    assert cli.main(["colorize", str(tmp_path / "cat.png"), "-o", str(tmp_path / "no"), "--size", str(SIZE),
                     "--max-pixels", str(pixels - 1)]) == 1
    assert "33,900 pixels is above the limit of 33,899" in capsys.readouterr().err


# --------------------------------------------------------------------------------------
# Files and folders: the naming rule, formats, permissions.
# --------------------------------------------------------------------------------------


def _names(plan, root):
    return [None if o.target is None else o.target.relative_to(root).as_posix() for o in plan]


def _touch(path, rgb=None):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.zeros((8, 8, 3), np.uint8) if rgb is None else rgb).save(path)
    return path


def test_plan_same_names_get_numbers_never_png_png(tmp_path):
    a, b, c = _touch(tmp_path / "a" / "same.png"), _touch(tmp_path / "b" / "same.png"), _touch(tmp_path / "c" / "same.png")
    out = tmp_path / "out"
    assert _names(plan_outputs([a, b, c], out), out) == ["same.png", "same-2.png", "same-3.png"]
    # a photo whose own name is unique keeps it, even if a renamed one would have wanted it
    taken = _touch(tmp_path / "d" / "same-2.png")
    assert _names(plan_outputs([a, b, taken], out), out) == ["same.png", "same-3.png", "same-2.png"]
    # names differing only in case are one name (they are on macOS and Windows)
    upper = _touch(tmp_path / "e" / "SAME.png")
    assert _names(plan_outputs([a, upper], out), out) == ["same.png", "SAME-2.png"]
    # the same file twice: two outputs, not one overwritten
    assert _names(plan_outputs([a, a], out), out) == ["same.png", "same-2.png"]


def test_plan_formats_folders_and_errors(tmp_path):
    photos = tmp_path / "family"
    for name in ("b.jpg", "a.JPEG", "c.png", "d.tif", "e.webp", "f.gif", "g.bmp", "notes.txt", "sub/h.jpg"):
        path = photos / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"")  # the plan looks at names only
    (tmp_path / "empty").mkdir()
    out = tmp_path / "out"
    plan = plan_outputs([photos, tmp_path / "missing.jpg", tmp_path / "empty"], out)
    assert _names(plan, out) == [
        "family/a.JPEG", "family/b.jpg", "family/c.png", "family/d.png", "family/e.png", "family/f.png",
        "family/g.png", None, None,
    ]
    assert plan[-2].error == f"{tmp_path / 'missing.jpg'}: no such file or folder"
    assert str(tmp_path / "empty") in plan[-1].error and "no image files" in plan[-1].error
    recursive = plan_outputs([photos], out, recursive=True, output_format="jpg")
    assert _names(recursive, out)[-1] == "family/sub/h.jpg" and {n[-4:] for n in _names(recursive, out)} == {".jpg"}
    assert {n[-4:] for n in _names(plan_outputs([photos], out, output_format="png"), out)} == {".png"}
    # "." is named after the folder it is
    os.chdir(photos)
    try:
        assert _names(plan_outputs(["."], out), out)[0] == "family/a.JPEG"
    finally:
        os.chdir(tmp_path)
    with pytest.raises(ValueError, match="'keep', 'png' or 'jpg'"):
        plan_outputs([photos], out, output_format="tiff")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX")
def test_plan_refuses_a_pipe_that_would_block_the_reader(tmp_path):
    os.mkfifo(tmp_path / "pipe.jpg")
    plan = plan_outputs([tmp_path / "pipe.jpg"], tmp_path / "out")
    assert plan[0].target is None and plan[0].error == f"{tmp_path / 'pipe.jpg'}: not a regular file or folder"


def test_plan_never_overwrites_an_input(tmp_path):
    photo = _touch(tmp_path / "photo.png")
    other = _touch(tmp_path / "sub" / "photo.png")
    assert _names(plan_outputs([photo, other], tmp_path), tmp_path) == ["photo-2.png", "photo-3.png"]


@pytest.mark.needs_data
def test_colorize_paths_writes_jpeg_for_jpeg_png_for_png_upright_with_normal_modes(model, photo, tmp_path):
    exif = Image.Exif()
    exif[0x0112] = 6
    folder = tmp_path / "in"
    folder.mkdir()
    Image.fromarray(photo).save(folder / "rotated.jpg", quality=95, exif=exif)
    Image.fromarray(photo).save(folder / "cat.png")
    Image.fromarray(photo).save(folder / "cat.tif")
    out = tmp_path / "out"
    outcomes = list(colorize_paths([folder], out, model, input_size=SIZE))
    assert [o.target.relative_to(out).as_posix() for o in outcomes] == ["in/cat.png", "in/cat-2.png", "in/rotated.jpg"]
    assert all(isinstance(o, ColorizeOutcome) and o.ok for o in outcomes)
    expected = colorize(photo, model, input_size=SIZE)
    assert np.array_equal(np.asarray(Image.open(out / "in" / "cat.png")), expected)  # PNG: exact
    assert np.array_equal(np.asarray(Image.open(out / "in" / "cat-2.png")), expected)  # TIFF in: PNG out
    with Image.open(out / "in" / "rotated.jpg") as written:
        assert written.format == "JPEG" and written.size == (photo.shape[0], photo.shape[1])  # upright
        assert written.getexif().get(0x0112) in (None, 1)  # no orientation left to apply twice
        upright = np.asarray(written).astype(int)
    reference = colorize(folder / "rotated.jpg", model, input_size=SIZE).astype(int)
    assert np.abs(upright - reference).mean() < 1.5  # JPEG at quality 95
    for outcome in outcomes:
        assert stat.S_IMODE(outcome.target.stat().st_mode) == new_file_mode()  # not the temporary file's 0600
    assert sorted(p.name for p in (out / "in").iterdir()) == ["cat-2.png", "cat.png", "rotated.jpg"]


@pytest.mark.needs_data
def test_colorize_paths_checks_arguments_at_the_call(model, tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(ValueError, match="is a file"):
        colorize_paths([], tmp_path / "file", model)
    with pytest.raises(ValueError, match="workers"):
        colorize_paths([], tmp_path / "out", model, workers=0)
    with pytest.raises(ValueError, match="divisible by 8"):
        colorize_paths([], tmp_path / "out", model, input_size=100)
    with pytest.raises(ValueError, match="max_pixels"):
        colorize_paths([], tmp_path / "out", model, max_pixels=0)


@pytest.mark.needs_data
def test_colorize_paths_stopped_early_leaves_no_threads_or_temporaries(model, photo, tmp_path):
    names = [f"p{i}.png" for i in range(4)]
    for name in names:
        Image.fromarray(photo[:64, :64]).save(tmp_path / name)
    outcomes = colorize_paths([tmp_path / name for name in names], tmp_path / "out", model, input_size=SIZE)
    first = next(outcomes)
    outcomes.close()
    assert first.ok and first.target.name == "p0.png"
    assert not [p for p in (tmp_path / "out").iterdir() if p.name.startswith(".")]
    assert not [t for t in threading.enumerate() if t.name.startswith("colorlib-")]


# --------------------------------------------------------------------------------------
# The command.
# --------------------------------------------------------------------------------------


@pytest.mark.needs_data
def test_command_skips_a_bad_file_and_fails_at_the_end(model, photo, tmp_path, capsys):
    Image.fromarray(photo).save(tmp_path / "cat.png")
    Image.fromarray(photo[:, ::-1]).save(tmp_path / "cat.jpg", quality=95)
    (tmp_path / "notes.txt").write_text("I am no photo\n")
    Image.fromarray(photo[:64, :64]).save(tmp_path / "small.tiff")
    out_dir = tmp_path / "out"
    inputs = ["cat.png", "notes.txt", "cat.jpg", "small.tiff"]
    code = cli.main(["colorize", *(str(tmp_path / name) for name in inputs), "-o", str(out_dir), "--size", str(SIZE)])
    assert code == 1
    captured = capsys.readouterr()
    errors = captured.err.strip().splitlines()
    assert len(errors) == 1 and "notes.txt" in errors[0] and "not an image" in errors[0]
    assert "Traceback" not in captured.err
    assert sorted(p.name for p in out_dir.iterdir()) == ["cat.jpg", "cat.png", "small.png"]
    written = np.asarray(Image.open(out_dir / "cat.png"))
    assert np.array_equal(written, colorize(photo, model, input_size=SIZE))
    assert Image.open(out_dir / "cat.jpg").format == "JPEG"
    assert np.asarray(Image.open(out_dir / "small.png")).shape == (64, 64, 3)
    assert captured.out.splitlines() == [
        f"{tmp_path / 'cat.png'} -> {out_dir / 'cat.png'}",
        f"{tmp_path / 'cat.jpg'} -> {out_dir / 'cat.jpg'}",
        f"{tmp_path / 'small.tiff'} -> {out_dir / 'small.png'}",
    ]


@pytest.mark.needs_data
def test_command_folders_recursive_and_format(photo, tmp_path, capsys):
    family = tmp_path / "family"
    for name in ("a.jpg", "b.png", "trip/c.jpg"):
        _touch(family / name, photo[:40, :56])
    assert cli.main(["colorize", str(family), "-o", str(tmp_path / "out"), "--size", str(SIZE)]) == 0
    assert sorted(p.relative_to(tmp_path / "out").as_posix() for p in (tmp_path / "out").rglob("*.*")) == [
        "family/a.jpg", "family/b.png",
    ]
    assert cli.main(["colorize", str(family), "-o", str(tmp_path / "all"), "--recursive", "--format", "png",
                     "--size", str(SIZE)]) == 0
    assert sorted(p.relative_to(tmp_path / "all").as_posix() for p in (tmp_path / "all").rglob("*.*")) == [
        "family/a.png", "family/b.png", "family/trip/c.png",
    ]
    capsys.readouterr()
    # a missing input is one line; the rest is done
    assert cli.main(["colorize", str(tmp_path / "nope"), str(family / "a.jpg"), "-o", str(tmp_path / "x"),
                     "--size", str(SIZE)]) == 1
    captured = capsys.readouterr()
    assert captured.err.strip() == f"colorlib colorize: error: {tmp_path / 'nope'}: no such file or folder"
    assert (tmp_path / "x" / "a.jpg").is_file()


@pytest.mark.needs_data
def test_command_all_good_exits_zero_and_bad_model_is_one_line(photo, tmp_path, capsys):
    Image.fromarray(photo).save(tmp_path / "cat.png")
    assert cli.main(["colorize", str(tmp_path / "cat.png"), "-o", str(tmp_path / "out")]) == 0
    assert np.asarray(Image.open(tmp_path / "out" / "cat.png")).shape == photo.shape
    capsys.readouterr()
    code = cli.main(["colorize", str(tmp_path / "cat.png"), "-o", str(tmp_path / "out2"), "--model", str(tmp_path / "cat.png")])
    assert code == 2
    errors = capsys.readouterr().err.strip().splitlines()
    assert len(errors) == 1 and "cannot load the model" in errors[0] and "cat.png" in errors[0]
    with pytest.raises(SystemExit):
        cli.main(["colorize", str(tmp_path / "cat.png"), "-o", str(tmp_path / "out"), "--size", "100"])
    assert "divisible by 8" in capsys.readouterr().err
    # OUTDIR is a file: a usage error, one line
    assert cli.main(["colorize", str(tmp_path / "cat.png"), "-o", str(tmp_path / "cat.png")]) == 2
    errors = capsys.readouterr().err.strip().splitlines()
    assert len(errors) == 1 and "is a file" in errors[0]


def test_command_help_and_start_without_torch():
    code = (
        "import sys, contextlib, io\n"
        "from colorlib import cli\n"
        "out = io.StringIO()\n"
        "with contextlib.redirect_stdout(out):\n"
        "    try:\n"
        "        cli.main(['colorize', '--help'])\n"
        "    except SystemExit as done:\n"
        "        assert done.code == 0\n"
        "print('torch' in sys.modules, 'numpy' in sys.modules, '--recursive' in out.getvalue(),\n"
        "      '--max-pixels' in out.getvalue(), '--format' in out.getvalue())\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert result.stdout.split() == ["False", "False", "True", "True", "True"]


def test_temperature_reaches_the_files_the_uploads_and_the_command(photo, tmp_path, monkeypatch, capsys):
    torch.manual_seed(0)
    decoder = _HalfDecoder()
    classifying = ColorizationNet(decoder=decoder, input_size=SIZE).eval()
    monkeypatch.setattr(weights, "load_pretrained", lambda name, progress=True: classifying)
    Image.fromarray(photo).save(tmp_path / "cat.png")
    expected = colorize(photo, classifying, temperature=0.25)
    assert decoder.temperatures == [0.25]
    outcomes = list(colorize_paths([tmp_path / "cat.png"], tmp_path / "out", classifying, temperature=0.25))
    assert outcomes[0].ok and np.array_equal(np.asarray(Image.open(outcomes[0].target)), expected)
    result, error = colorize_upload((tmp_path / "cat.png").read_bytes(), "cat.png", classifying, temperature=0.25)
    assert error is None and np.array_equal(result, expected)
    assert cli.main(["colorize", str(tmp_path / "cat.png"), "-o", str(tmp_path / "cli"), "--temperature", "0.25"]) == 0
    assert np.array_equal(np.asarray(Image.open(tmp_path / "cli" / "cat.png")), expected)
    assert decoder.temperatures == [0.25] * 4
    capsys.readouterr()
    for bad in ("0", "-1", "nan", "inf"):  # a usage error, one line, before any photo is read
        assert cli.main(["colorize", str(tmp_path / "cat.png"), "-o", str(tmp_path / bad), "--temperature", bad]) == 2
        errors = capsys.readouterr().err.strip().splitlines()
        assert len(errors) == 1 and "temperature: expected a finite number > 0" in errors[0], errors
        assert not (tmp_path / bad).exists()
    assert decoder.temperatures == [0.25] * 4
    # a model without an annealed mean: a usage error too
    monkeypatch.setattr(weights, "load_pretrained", lambda name, progress=True: ColorizationNet(input_size=SIZE))
    assert cli.main(["colorize", str(tmp_path / "cat.png"), "-o", str(tmp_path / "mse"), "--temperature", "0.5"]) == 2
    assert "regresses ab" in capsys.readouterr().err
    with pytest.raises(ValueError, match="temperature"):
        colorize_upload(b"", "empty.png", ColorizationNet(input_size=SIZE), temperature=0.5)


def test_the_8_bit_merge_equals_lab_to_rgb_rounded_in_and_out_of_gamut():
    generator = np.random.default_rng(7)
    lab = np.stack([generator.uniform(0, 100, (300, 400)), *generator.uniform(-128, 127, (2, 300, 400))]).astype(np.float32)
    lab[:, 0, :5] = [[0, 100, 50, 50, 3], [0, 0, 127, -128, 0], [0, 0, 127, -128, 0]]  # black, white, far out of gamut, dark
    out = np.empty((300, 400, 3), np.uint8)
    colorize_module._lab_to_rgb8(lab[0], lab[1:], out)
    expected = (lab_to_rgb(torch.from_numpy(lab)) * 255).round().to(torch.uint8).permute(1, 2, 0).numpy()
    difference = np.abs(out.astype(int) - expected)
    assert difference.max() <= 1 and (difference > 0).mean() < 1e-4  # float32 rounding only
    assert out[0, 0].tolist() == [0, 0, 0] and out[0, 1].tolist() == [255, 255, 255]
    assert out_of_gamut(np.moveaxis(lab, 0, -1)).mean() > 0.5  # the clipping rule was exercised
