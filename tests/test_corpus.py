"""Hostile, huge and odd files through every door colorlib.inference owns.

The corpus (``tests/corpus.py``) is made by the test: truncated files, wrong magic bytes,
an empty file, decompression bombs, a header claiming 60000 x 60000 pixels, CMYK, LA,
I;16, I;32, 1-bit, palette with transparency, animated GIF, EXIF rotation, WebP, a 2 x 2
and an 8000 x 60 image. Through :func:`colorlib.images.load_image`,
:func:`colorlib.inference.colorize_paths`, ``colorlib colorize`` and
:func:`colorlib.inference.colorize_upload`, each file gives a result or one line that
names it, never a traceback, and the other files are still done.

The network is a ``ColorizationNet(input_size=32)`` with seeded random weights: the
point here is the files, not the colours (those are tested with the authors' weights in
``tests/test_inference.py``).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from corpus import BOMB_NAME, GOOD_NAME, SMALL_BOMB_NAME, make_corpus
from PIL import Image

from colorlib import cli, weights
from colorlib.colorize_files import colorize_paths, colorize_upload
from colorlib.images import ImageReadError, ImageTooLargeError, load_image
from colorlib.inference import colorize
from colorlib.model import ColorizationNet

SIZE = 32


@pytest.fixture(scope="module")
def tiny_model() -> ColorizationNet:
    torch.manual_seed(0)
    return ColorizationNet(input_size=SIZE).eval()


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    folder = tmp_path_factory.mktemp("corpus") / "photos"
    expected = make_corpus(folder)
    assert sum(expected.values()) >= 15 and sum(not ok for ok in expected.values()) >= 15
    return folder, expected


@pytest.fixture
def with_tiny_model(monkeypatch, tiny_model):
    """``colorlib colorize`` loads the tiny network whatever --model says."""
    monkeypatch.setattr(weights, "load_pretrained", lambda name, progress=True: tiny_model)
    return tiny_model


def _upright_shape(path) -> tuple[int, int, int]:
    return load_image(path).shape


def test_the_reader_gives_an_array_or_one_line_naming_the_file(corpus):
    folder, expected = corpus
    for name, readable in expected.items():
        path = folder / name
        if readable:
            rgb = load_image(path)
            assert rgb.dtype == np.uint8 and rgb.ndim == 3 and rgb.shape[2] == 3, name
        else:
            with pytest.raises(ImageReadError) as caught:
                load_image(path)
            message = str(caught.value)
            assert str(path) in message and "\n" not in message, name
    assert load_image(folder / "exif_rotated.jpg").shape == (64, 48, 3)  # stored 48 x 64, shown upright
    assert load_image(folder / "strip_8000x60.jpg").shape == (60, 8000, 3)
    for bomb in (BOMB_NAME, SMALL_BOMB_NAME, "claims_60000x60000.jpg"):
        with pytest.raises(ImageTooLargeError, match="pixels"):
            load_image(folder / bomb)


def test_colorize_paths_does_every_readable_file_and_names_every_other(corpus, tiny_model, tmp_path):
    folder, expected = corpus
    out = tmp_path / "out"
    outcomes = list(colorize_paths([folder], out, tiny_model))
    assert [o.source.name for o in outcomes] == sorted(expected)  # every file, sorted, once
    for outcome in outcomes:
        name = outcome.source.name
        assert outcome.ok == expected[name], (name, outcome.error)
        if outcome.ok:
            assert outcome.target.parent == out / "photos" and outcome.target.is_file()
            with Image.open(outcome.target) as written:
                keeps_jpeg = outcome.source.suffix.lower() == ".jpg"
                assert written.format == ("JPEG" if keeps_jpeg else "PNG"), name
                assert outcome.target.suffix == (outcome.source.suffix if keeps_jpeg or name.endswith(".png") else ".png")
                assert written.mode == "RGB"
                assert (written.height, written.width, 3) == _upright_shape(outcome.source), name
        else:
            assert outcome.target is None
            assert str(outcome.source) in outcome.error and "\n" not in outcome.error
    written = sorted(p.name for p in (out / "photos").iterdir())
    assert len(written) == sum(expected.values())  # nothing for the failures, no temporary files left
    # the PNG written for a PNG input is exactly the in-memory result
    png = next(o for o in outcomes if o.source.name == "good.png")
    assert np.array_equal(np.asarray(Image.open(png.target)), colorize(folder / "good.png", tiny_model))


def test_the_command_goes_on_after_a_bomb_and_fails_at_the_end(corpus, with_tiny_model, tmp_path, capsys):
    folder, _ = corpus
    out = tmp_path / "out"
    code = cli.main(["colorize", str(folder / BOMB_NAME), str(folder / GOOD_NAME), "-o", str(out)])
    captured = capsys.readouterr()
    assert code == 1
    errors = captured.err.strip().splitlines()
    assert len(errors) == 1 and BOMB_NAME in errors[0] and "pixels" in errors[0]
    assert errors[0].startswith("colorlib colorize: error:") and "Traceback" not in captured.err
    assert (out / GOOD_NAME).is_file() and captured.out.strip() == f"{folder / GOOD_NAME} -> {out / GOOD_NAME}"


def test_the_command_on_the_whole_corpus_folder(corpus, with_tiny_model, tmp_path, capsys):
    folder, expected = corpus
    code = cli.main(["colorize", str(folder), "-o", str(tmp_path / "out")])
    captured = capsys.readouterr()
    assert code == 1 and "Traceback" not in captured.err
    errors = captured.err.strip().splitlines()
    failing = sorted(name for name, readable in expected.items() if not readable)
    assert len(errors) == len(failing)
    for line, name in zip(errors, failing):  # in the folder's sorted order, one line each
        assert line.startswith("colorlib colorize: error: ") and str(folder / name) in line
    assert captured.out.count(" -> ") == sum(expected.values())
    # all good: exit status 0
    assert cli.main(["colorize", str(folder / GOOD_NAME), str(folder / "good.png"), "-o", str(tmp_path / "ok")]) == 0


def test_max_pixels_option_and_keyword(corpus, with_tiny_model, tiny_model, tmp_path, capsys):
    folder, _ = corpus
    strip = folder / "strip_8000x60.jpg"  # 480,000 pixels
    refused = list(colorize_paths([strip], tmp_path / "a", tiny_model, max_pixels=400_000))
    assert not refused[0].ok and str(strip) in refused[0].error and "8000x60" in refused[0].error
    assert list(colorize_paths([strip], tmp_path / "b", tiny_model, max_pixels=480_000))[0].ok
    assert cli.main(["colorize", str(strip), "-o", str(tmp_path / "c"), "--max-pixels", "400000"]) == 1
    assert "8000x60" in capsys.readouterr().err
    assert cli.main(["colorize", str(strip), "-o", str(tmp_path / "d"), "--max-pixels", "480000"]) == 0


def test_upload_handler_gives_a_result_or_one_line_naming_the_upload(corpus, tiny_model):
    folder, expected = corpus
    for name, readable in expected.items():
        result, error = colorize_upload((folder / name).read_bytes(), f"my {name}", tiny_model)
        if readable:
            assert error is None, (name, error)
            assert result.dtype == np.uint8 and result.shape == _upright_shape(folder / name), name
        else:
            assert result is None and error.startswith(f"my {name}") and "\n" not in error, (name, error)
            assert "colorlib-upload" not in error  # the temporary file is not shown
    _, error = colorize_upload((folder / "strip_8000x60.jpg").read_bytes(), "strip.jpg", tiny_model, max_pixels=1000)
    assert error.startswith("strip.jpg") and "8000x60" in error
    with pytest.raises(ValueError, match="bytes"):
        colorize_upload(str(folder / GOOD_NAME), GOOD_NAME, tiny_model)
