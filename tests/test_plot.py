"""colorlib.lessons.plot: saved figures (real PNGs, byte-identical twice), PNG bytes, image grids."""

from __future__ import annotations

import io

import numpy as np
import pytest
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from PIL import Image

from colorlib import config
from colorlib.lessons.plot import png_bytes, save_figure, show_images

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def figures(tmp_path, monkeypatch):
    """``figures_dir()`` is ``tmp_path / "figures"``: the repository's figures/ stay untouched."""
    monkeypatch.setattr(config, "repo_root", lambda: None)
    monkeypatch.chdir(tmp_path)
    return tmp_path / "figures"


def _red_figure(width: float = 2.0, height: float = 1.0) -> Figure:
    """A figure covered by one red rectangle: its tight bounding box is the whole figure."""
    figure = Figure(figsize=(width, height))
    figure.add_artist(Rectangle((0, 0), 1, 1, transform=figure.transFigure, color=(1.0, 0.0, 0.0)))
    return figure


def test_save_figure_writes_a_png_of_the_expected_size(figures):
    path = save_figure(_red_figure(), "01_red.png", dpi=110)
    assert path == figures / "01_red.png"
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE
    picture = Image.open(io.BytesIO(data))
    assert picture.format == "PNG"
    # 2 x 1 inches plus matplotlib's 0.1-inch tight-box padding on each side, at 110 dpi.
    assert picture.size == (round((2 + 0.2) * 110), round((1 + 0.2) * 110)) == (242, 132)
    pixels = np.asarray(picture.convert("RGB"))
    assert pixels[0, 0].tolist() == [255, 255, 255]  # the padding: white facecolor
    assert pixels[66, 121].tolist() == [255, 0, 0]  # the centre: the drawing
    assert (pixels[11:-11, 11:-11] == [255, 0, 0]).all()  # the padding is 11 pixels
    assert "Software" not in picture.info  # no matplotlib version written into the file


def test_save_figure_gives_identical_bytes_twice(figures):
    first = save_figure(_red_figure(), "fig1_same.png").read_bytes()
    again = save_figure(_red_figure(), "fig1_same.png").read_bytes()  # a fresh drawing, the same file name
    assert again == first
    other = save_figure(_red_figure(3.0, 1.0), "fig1_other.png").read_bytes()
    assert other != first and Image.open(io.BytesIO(other)).size == (352, 132)
    assert sorted(p.name for p in figures.iterdir()) == ["fig1_other.png", "fig1_same.png"]  # no temporary left


def test_save_figure_rejects_a_name_that_is_not_png(figures):
    with pytest.raises(ValueError, match=r"expected a \.png file name, got 'fig1\.jpg'"):
        save_figure(_red_figure(), "fig1.jpg")
    assert not figures.exists() or not any(figures.iterdir())


def test_png_bytes_uint8_round_trip_and_zoom():
    rgb = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3) * 14
    picture = Image.open(io.BytesIO(png_bytes(rgb)))
    assert picture.format == "PNG" and picture.mode == "RGB" and picture.size == (3, 2)
    assert np.array_equal(np.asarray(picture), rgb)
    zoomed = np.asarray(Image.open(io.BytesIO(png_bytes(rgb, scale=3))))
    assert zoomed.shape == (6, 9, 3)
    assert np.array_equal(zoomed, rgb.repeat(3, axis=0).repeat(3, axis=1))  # every pixel a 3 x 3 block
    assert png_bytes(rgb) == png_bytes(rgb.copy())  # the same picture, the same bytes


def test_png_bytes_clips_and_rounds_floats():
    rgb = np.array([[[-0.5, 0.5, 1.2], [0.1, 0.2, 1.0]]])
    pixels = np.asarray(Image.open(io.BytesIO(png_bytes(rgb))))
    # clip to 0..1, times 255, rounded: 0.5 -> 127.5 -> 128, 0.1 -> 25.5 -> 26, 0.2 -> 51
    assert pixels.tolist() == [[[0, 128, 255], [26, 51, 255]]]


def test_png_bytes_rejects_a_zoom_below_one_and_what_is_no_rgb_picture():
    with pytest.raises(ValueError, match="expected a positive integer scale, got 0"):
        png_bytes(np.zeros((2, 2, 3), dtype=np.uint8), scale=0)
    for shape in ((6,), (4, 4), (4, 4, 4), (0, 4, 3)):
        with pytest.raises(ValueError, match=r"expected an RGB picture \(H, W, 3\)"):
            png_bytes(np.zeros(shape, dtype=np.uint8))


def test_show_images_grid_titles_and_color_maps():
    gray = np.linspace(0, 1, 16).reshape(4, 4)
    rgb = np.zeros((4, 4, 3), dtype=np.uint8)
    figure = show_images([gray, rgb, gray, rgb, gray], titles=list("abcde"), columns=3, size=2.0, suptitle="five")
    assert len(figure.axes) == 6  # 2 rows of 3
    assert tuple(figure.get_size_inches()) == pytest.approx((6.0, 4.4))  # 3 x 2.0, 2 x 2.0 + 0.4 for the title
    assert [axis.get_title() for axis in figure.axes] == ["a", "b", "c", "d", "e", ""]
    assert not any(axis.axison for axis in figure.axes)
    assert [len(axis.images) for axis in figure.axes] == [1, 1, 1, 1, 1, 0]
    assert figure.axes[0].images[0].get_cmap().name == "gray"
    assert np.array_equal(figure.axes[1].images[0].get_array(), rgb)
    assert figure._suptitle.get_text() == "five"
    one_row = show_images([gray, gray], cmap="viridis")
    assert len(one_row.axes) == 2 and one_row.axes[1].images[0].get_cmap().name == "viridis"


def test_show_images_rejects_an_image_that_is_not_2d_or_rgb_no_images_and_missing_titles():
    with pytest.raises(TypeError, match=r"Invalid shape \(3,\)"):
        show_images([np.zeros(3)])
    with pytest.raises(ValueError, match="at least one image"):
        show_images([])
    with pytest.raises(ValueError, match=r"one title per image \(2\), got 1"):
        show_images([np.zeros((2, 2)), np.zeros((2, 2))], titles=["only one"])
