"""colorlib.colorize: every input kind, the photo's own size and lightness, batches, the command."""

from __future__ import annotations

import numpy as np
import pytest
import skimage.color
import torch
import torch.nn.functional as F
from PIL import Image

from colorlib import cli, colorize as colorize_module
from colorlib.color import out_of_gamut, target_to_ab
from colorlib.colorize import colorize, colorize_many, load_image, network_input, predict_ab, replace_ab
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
    x = network_input([square, square[::-1]], size=96)
    assert x.shape == (2, 1, 96, 96) and x.dtype == torch.float32
    np.testing.assert_allclose(x[0, 0].numpy(), _lightness(square) / 100, atol=2e-5)
    np.testing.assert_allclose(x[1, 0].numpy(), _lightness(square[::-1]) / 100, atol=2e-5)
    resized = network_input([photo], size=64)
    assert resized.shape == (1, 1, 64, 64)
    assert abs(float(resized.mean()) - _lightness(photo).mean() / 100) < 0.01


def test_predict_ab_is_the_network_output_enlarged(model, photo):
    square = np.ascontiguousarray(photo[:96, :96])
    with torch.inference_mode():
        expected = target_to_ab(model(network_input([square], 96)))[0].permute(1, 2, 0).numpy()
    ab = predict_ab(model, square, size=96)
    assert ab.shape == (96, 96, 2) and ab.dtype == np.float32
    np.testing.assert_allclose(ab, expected, atol=1e-4)  # same size: nothing to upsample
    # twice the size: nearest gives 2x2 blocks of the network's values, bilinear blends them
    double = np.asarray(Image.fromarray(square).resize((192, 192), Image.Resampling.NEAREST))
    small = predict_ab(model, double, size=96, upsample="nearest")
    assert np.array_equal(small[::2, ::2], small[1::2, 1::2])
    smooth = predict_ab(model, double, size=96)
    torch.testing.assert_close(
        torch.from_numpy(smooth).permute(2, 0, 1)[None],
        F.interpolate(torch.from_numpy(small[::2, ::2]).permute(2, 0, 1)[None], scale_factor=2, mode="bilinear"),
    )
    assert np.abs(smooth - small).max() > 1


def test_colorize_keeps_size_and_lightness_and_matches_scikit_image(model, photo):
    out = colorize(photo, model)  # default size 224
    assert out.shape == photo.shape and out.dtype == np.uint8
    ab = predict_ab(model, photo)
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


def test_gray_input_gets_the_same_colours_as_its_rgb_original(model, photo):
    gray = (skimage.color.rgb2gray(photo) * 255).round().astype(np.uint8)
    from_gray = colorize(gray, model, size=SIZE)
    assert from_gray.shape == photo.shape
    difference = np.abs(_lightness(from_gray) - _lightness(np.stack([gray] * 3, axis=-1)))
    assert np.percentile(difference, 99) < 0.8
    # only lightness is used: colouring the photo or its own gray L gives close results
    gray_of_l = Image.fromarray(photo).convert("L")
    assert np.abs(colorize(gray_of_l, model, size=SIZE).astype(int) - from_gray).mean() < 3


def test_bands_give_exactly_the_one_piece_result(model, photo, monkeypatch):
    whole = colorize(photo, model, size=SIZE)
    threads = torch.get_num_threads()
    monkeypatch.setattr(colorize_module, "_BAND_PIXELS", photo.shape[1] * 7)  # 22 bands, the last one short
    banded = colorize(photo, model, size=SIZE)
    assert np.array_equal(banded, whole)
    assert torch.get_num_threads() == threads  # restored after the banded work


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
    results = colorize_many([source for source, _ in inputs.values()], model, size=SIZE, batch_size=4)
    for (kind, (source, shape)), out in zip(inputs.items(), results):
        assert out.shape == shape + (3,) and out.dtype == np.uint8, kind
        expected_l = _lightness(load_image(source))
        assert np.percentile(np.abs(_lightness(out) - expected_l), 95) < 0.8, kind
    # the 16-bit file holds the photo's red channel: same result as the 8-bit gray array
    assert np.array_equal(results[7], results[3])


def test_batched_equals_one_at_a_time(model, photo):
    images = [photo, photo[:64, :100].copy(), photo[..., 2].copy(), photo[::-1, ::-1].copy(), photo[:40]]
    one_by_one = [colorize(image, model, size=SIZE) for image in images]
    for batch_size in (2, 16):
        batched = colorize_many(iter(images), model, size=SIZE, batch_size=batch_size)
        assert len(batched) == len(images)
        for single, together in zip(one_by_one, batched):
            assert single.shape == together.shape
            assert np.abs(single.astype(int) - together).max() <= 1


def test_colorize_runs_in_eval_mode_and_restores_the_model_mode(photo):
    model = load_pretrained("paper")
    in_eval = colorize(photo, model, size=SIZE)
    model.train()
    assert np.array_equal(colorize(photo, model, size=SIZE), in_eval)  # BN used its running statistics
    assert model.training and model.decoder.training


def test_bad_arguments_are_value_errors(model, photo):
    for size in (0, 100, -8, 22.0, "224"):
        with pytest.raises(ValueError, match="divisible by 8"):
            colorize(photo, model, size=size)
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


# --------------------------------------------------------------------------------------
# The command.
# --------------------------------------------------------------------------------------


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
    assert sorted(p.name for p in out_dir.iterdir()) == ["cat.jpg.png", "cat.png", "small.png"]
    written = np.asarray(Image.open(out_dir / "cat.png"))
    assert np.array_equal(written, colorize(photo, model, size=SIZE))
    assert np.asarray(Image.open(out_dir / "small.png")).shape == (64, 64, 3)
    assert captured.out.count(" -> ") == 3


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
