"""The paper's own figures: its PDF (through the one downloader), the panels cut at the
white gutters, and Figure 5 reproduced from the printed ground truth with the authors'
released weights.

The PDF and ``model100.pth`` are read from colorlib's cache (``COLORLIB_CACHE``; CI seeds
it from the shared copies), as a user's first call would download them.
"""

from __future__ import annotations

import shutil

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from pypdf import PdfWriter
from skimage.color import lab2rgb, rgb2gray, rgb2lab
from torch import nn

import colorlib
from colorlib import hub
from colorlib.color import lab_to_rgb, rgb_to_lab
from colorlib.images import resize
from colorlib.lessons import decoder_anatomy, paper_figures

# --------------------------------------------------------------------------------------
# Fixtures: the real PDF and the released weights, from the cache.
# --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pdf_path():
    return paper_figures.paper_pdf()


@pytest.fixture(scope="module")
def figure5_rows(pdf_path):
    return paper_figures.figure5(pdf_path)


@pytest.fixture(scope="module")
def figure6_pairs(pdf_path):
    return paper_figures.figure6(pdf_path)


@pytest.fixture(scope="module")
def model():
    return colorlib.load_pretrained("paper", progress=False)


def lightness(rgb: np.ndarray) -> np.ndarray:
    return rgb_to_lab(rgb / 255.0)[..., 0]


def correlation(first: np.ndarray, second: np.ndarray) -> float:
    return float(np.corrcoef(first.ravel(), second.ravel())[0, 1])


# --------------------------------------------------------------------------------------
# The PDF comes through colorlib.hub, pinned and checked.
# --------------------------------------------------------------------------------------


def test_remote_file_is_the_authors_pdf_at_the_pinned_commit():
    remote = paper_figures.PAPER_PDF
    assert remote.filename == "paper/Colorizing_grayscale_photographs_with_convolutional_neural_network.pdf"
    assert remote.url == (
        "https://github.com/fanboqia/CSIT5910-Machine-Learning/raw/658b1b9d4c28db416ee8f59c9d302c1beb92ea8b/"
        "Colorizing_grayscale_photographs_with_convolutional_neural_network.pdf"
    )
    assert remote.sha256 == "70deac7c6936c9ec3c693158fa4a71eb9568ee5ca7669e3e8f055d0563f31400"
    assert remote.size == 2_676_690


@pytest.mark.needs_data
def test_the_cached_pdf_is_verified(pdf_path):
    assert pdf_path.name == "Colorizing_grayscale_photographs_with_convolutional_neural_network.pdf"
    assert hub.is_verified(paper_figures.PAPER_PDF, pdf_path)


@pytest.mark.needs_data
def test_paper_pdf_downloads_through_hub_and_rejects_a_wrong_file(pdf_path, http_server, isolated_cache, monkeypatch):
    served = http_server.root / paper_figures.PAPER_PDF.filename
    served.parent.mkdir(parents=True)
    shutil.copyfile(pdf_path, served)
    monkeypatch.setenv(hub.MIRROR_ENV, http_server.url)

    fetched = paper_figures.paper_pdf()
    assert fetched == isolated_cache / paper_figures.PAPER_PDF.filename
    assert hub.sha256_of(fetched) == paper_figures.PAPER_PDF.sha256
    assert http_server.requests_for(paper_figures.PAPER_PDF.filename) == [None]
    assert paper_figures.paper_pdf() == fetched  # a verified copy is reused: no second request
    assert len(http_server.requests_for(paper_figures.PAPER_PDF.filename)) == 1

    fetched.unlink()
    data = bytearray(served.read_bytes())
    data[1000] ^= 0xFF  # same size, one byte changed
    served.write_bytes(bytes(data))
    with pytest.raises(hub.ChecksumError):
        paper_figures.paper_pdf()
    assert not fetched.exists()


@pytest.mark.needs_data
def test_figure_image_sizes_and_errors(pdf_path, tmp_path):
    for number, (_, (width, height)) in paper_figures.EMBEDDED_FIGURES.items():
        image = paper_figures.figure_image(number, pdf=pdf_path)
        assert image.dtype == np.uint8 and image.shape == (height, width, 3)
    first, second = paper_figures.figure_image(5, pdf=pdf_path), paper_figures.figure_image(5, pdf=pdf_path)
    first[:] = 0  # a copy: the cached figure is not changed
    assert second.max() == 255 and paper_figures.figure_image(5, pdf=pdf_path).max() == 255
    with pytest.raises(ValueError, match="1, 5, 6"):
        paper_figures.figure_image(2, pdf=pdf_path)
    blank = tmp_path / "blank.pdf"
    writer = PdfWriter()
    writer.add_blank_page(width=200, height=200)
    with open(blank, "wb") as handle:
        writer.write(handle)
    with pytest.raises(paper_figures.PaperFigureError, match="Figure 5 as a 1548x1044 bitmap on page 5"):
        paper_figures.figure_image(5, pdf=blank)
    not_a_pdf = tmp_path / "not.pdf"
    not_a_pdf.write_bytes(b"hello")
    with pytest.raises(paper_figures.PaperFigureError, match="cannot read"):
        paper_figures.figure_image(5, pdf=not_a_pdf)


# --------------------------------------------------------------------------------------
# Cutting at the gutters, on a synthetic figure with known panels.
# --------------------------------------------------------------------------------------


def test_content_runs_bridges_short_gaps():
    profile = np.array([0, 1, 1, 0, 1, 0, 0, 0, 1, 1, 0], dtype=bool)
    assert paper_figures.content_runs(profile, min_gutter=2) == [(1, 5), (8, 10)]
    assert paper_figures.content_runs(profile, min_gutter=1) == [(1, 3), (4, 5), (8, 10)]
    assert paper_figures.content_runs(profile, min_gutter=3) == [(1, 5), (8, 10)]  # 3 blanks are a gutter of 3
    assert paper_figures.content_runs(profile, min_gutter=4) == [(1, 10)]
    assert paper_figures.content_runs(np.zeros(5, bool), min_gutter=2) == []
    with pytest.raises(ValueError, match="min_gutter"):
        paper_figures.content_runs(profile, min_gutter=0)


def synthetic_figure() -> tuple[np.ndarray, list[paper_figures.PanelBox]]:
    """A white page with six textured panels (2 rows x 3), labels and an arrow, like a paper figure."""
    rng = np.random.default_rng(11)
    page = np.full((300, 420, 3), 255, np.uint8)
    boxes = [
        paper_figures.PanelBox(20, 60, 120, 160),   # row 1
        paper_figures.PanelBox(20, 180, 120, 280),
        paper_figures.PanelBox(22, 300, 119, 400),  # 2 px lower, 1 px shorter: thin blank slivers in its band
        paper_figures.PanelBox(150, 60, 250, 160),  # row 2
        paper_figures.PanelBox(150, 180, 250, 280),
        paper_figures.PanelBox(150, 300, 250, 400),
    ]
    for box in boxes:
        page[box.top : box.bottom, box.left : box.right] = rng.integers(0, 200, (box.height, box.width, 3))
    sky = boxes[4]
    page[sky.top : sky.top + 30, sky.left : sky.right] = 255  # a white sky: 30 blank rows inside the panel
    page[60:75, 8:48] = 0          # a label left of row 1 (too narrow to be a panel)
    page[60:64, 10:14] = 255       # a hole in it, like a letter
    page[265:268, 60:400] = 0      # an arrow under row 2 (too thin)
    page[180:200, 8:12] = 0        # a narrow mark beside row 2
    return page, boxes


def test_cut_panels_finds_the_known_panels_of_a_synthetic_figure():
    page, boxes = synthetic_figure()
    found = paper_figures.cut_panels(page)
    assert found == boxes  # reading order, exact edges; the white sky is kept, the slivers trimmed
    assert [len(row) for row in paper_figures.group_rows(found)] == [3, 3]
    assert paper_figures.group_rows(list(reversed(found))) == [boxes[:3], boxes[3:]]
    assert paper_figures.cut_panels(page, min_side=120) == []
    with pytest.raises(ValueError, match=r"uint8 RGB array \(H, W, 3\)"):
        paper_figures.cut_panels(page.astype(np.float32))
    with pytest.raises(ValueError, match="min_fill"):
        paper_figures.cut_panels(page, min_fill=1.5)


def test_panel_box_crop():
    image = np.arange(5 * 6 * 3, dtype=np.uint8).reshape(5, 6, 3)
    box = paper_figures.PanelBox(1, 2, 4, 5)
    assert (box.height, box.width) == (3, 3)
    assert np.array_equal(box.crop(image), image[1:4, 2:5])


# --------------------------------------------------------------------------------------
# The real figures.
# --------------------------------------------------------------------------------------


@pytest.mark.needs_data
def test_figure5_has_ten_rows_of_three_panels_in_the_papers_order(figure5_rows):
    assert [row.name for row in figure5_rows] == [f"image{k}" for k in range(1, 11)]
    panels = [panel for row in figure5_rows for panel in (row.ground_truth, row.ours, row.zhang)]
    assert len(panels) == 30
    for panel in panels:
        assert panel.dtype == np.uint8 and panel.ndim == 3 and panel.shape[2] == 3
        assert 163 <= panel.shape[0] <= 168 and 163 <= panel.shape[1] <= 168
        assert (panel.min(axis=2) < 240).mean() > 0.85  # a photo, not page white
    # Left block image1..5 top to bottom, right block image6..10; columns left to right.
    lefts = [[box.left for box in row.boxes] for row in figure5_rows]
    assert all(a < b < c for a, b, c in lefts)
    assert max(max(l) for l in lefts[:5]) < min(min(l) for l in lefts[5:])
    tops = [row.boxes[0].top for row in figure5_rows]
    assert tops[:5] == sorted(tops[:5]) and tops[5:] == sorted(tops[5:])
    # The ten photos are different photos.
    small = [lightness(resize(row.ground_truth, 32, 32)) for row in figure5_rows]
    assert max(correlation(small[i], small[j]) for i in range(10) for j in range(i + 1, 10)) < 0.9


@pytest.mark.needs_data
def test_each_figure5_row_is_ground_truth_ours_and_zhang(figure5_rows, model):
    """Ground truth and Zhang et al.: the whole photo; Ours: its central 224/256, and what the
    released weights recompute from it (Zhang et al.'s panel, cut the same way, is farther)."""
    colorize_like_the_authors = paper_figures.luma_colorizer(model)
    for row in figure5_rows:
        height, width = row.ours.shape[:2]
        view, whole = paper_figures.model_view(row.ground_truth, height, width), resize(row.ground_truth, height, width)
        assert correlation(lightness(view), lightness(row.ours)) > 0.7
        assert correlation(lightness(view), lightness(row.ours)) > correlation(lightness(whole), lightness(row.ours)) + 0.05
        assert correlation(lightness(whole), lightness(resize(row.zhang, height, width))) > 0.9
        recomputed = colorize_like_the_authors(view)
        zhang_view = paper_figures.model_view(row.zhang, height, width)
        assert paper_figures.mean_ab_distance(recomputed, row.ours) < paper_figures.mean_ab_distance(recomputed, zhang_view), row.name


@pytest.mark.needs_data
def test_figure5_reproduced_within_five_ab_of_the_printed_ours(figure5_rows, model):
    """The bar: the released weights, fed the printed ground truth's luma like the authors'
    code, land within 5 ab of the printed "Ours" on average (measured: 3.89); the printed
    ground truth itself is 11.5 ab away, for scale."""
    colorize_like_the_authors = paper_figures.luma_colorizer(model)
    recomputed, truth = [], []
    for row in figure5_rows:
        view = paper_figures.model_view(row.ground_truth, *row.ours.shape[:2])
        recomputed.append(paper_figures.mean_ab_distance(colorize_like_the_authors(view), row.ours))
        truth.append(paper_figures.mean_ab_distance(view, row.ours))
    assert np.mean(recomputed) <= 5.0
    assert np.mean(recomputed) == pytest.approx(3.89, abs=0.1)
    assert np.mean(truth) == pytest.approx(11.48, abs=0.1)
    assert all(r < t for r, t in zip(recomputed, truth))


@pytest.mark.needs_data
def test_figure6_has_six_gray_and_color_pairs(figure6_pairs):
    assert len(figure6_pairs) == 6
    for pair in figure6_pairs:
        for panel in (pair.gray, pair.colorized):
            assert panel.dtype == np.uint8 and 224 <= panel.shape[0] <= 225 and 224 <= panel.shape[1] <= 225
        spread = pair.gray.max(axis=2).astype(int) - pair.gray.min(axis=2)
        assert np.percentile(spread, 99) <= 4  # gray (a faint tint from the figure's production)
        chroma = np.hypot(*np.moveaxis(rgb_to_lab(pair.colorized / 255.0)[..., 1:], -1, 0)).mean()
        assert chroma > 4.0  # coloured
        same = resize(pair.gray, *pair.colorized.shape[:2])
        assert correlation(lightness(same), lightness(pair.colorized)) > 0.95  # the same photo
    assert [pair.boxes[0].top < 150 for pair in figure6_pairs] == [True] * 3 + [False] * 3


@pytest.mark.needs_data
def test_figure1_photo_is_the_teddy_bear_of_figure5(pdf_path, figure5_rows):
    bear = paper_figures.figure1_photo(pdf_path)
    assert bear.dtype == np.uint8 and 135 <= bear.shape[0] <= 150 and 135 <= bear.shape[1] <= 150
    same = lightness(resize(figure5_rows[1].ground_truth, 48, 48))  # image2 is the same photo
    assert correlation(lightness(resize(bear, 48, 48)), same) > 0.9
    others = [row for k, row in enumerate(figure5_rows) if k != 1]
    assert all(correlation(lightness(resize(bear, 48, 48)), lightness(resize(row.ground_truth, 48, 48))) < 0.6 for row in others)


# --------------------------------------------------------------------------------------
# Comparing: the crop, the distance, the authors' luma convention.
# --------------------------------------------------------------------------------------


def test_model_view_is_the_central_224_of_256():
    image = np.zeros((256, 256, 3), np.uint8)
    image[...] = (200, 30, 30)
    image[16:240, 16:240] = (20, 40, 220)
    view = paper_figures.model_view(image)
    assert view.shape == (224, 224, 3) and np.all(view == (20, 40, 220))
    assert paper_figures.model_view(image, 112, 100).shape == (112, 100, 3)


def test_print_like_figure5_then_model_view_lines_up():
    rng = np.random.default_rng(7)
    photo = np.repeat(np.repeat(rng.integers(0, 256, (12, 12, 3), dtype=np.uint8), 32, axis=0), 32, axis=1)
    seen = []

    def identity(image):
        seen.append(image.shape)
        return image

    printed_truth, printed_ours = paper_figures.print_like_figure5(photo, identity, panel_size=160)
    assert seen == [(224, 224, 3)] and printed_truth.shape == printed_ours.shape == (160, 160, 3)
    # With a colorizer that changes nothing, the crop of the printed truth is the printed output.
    view = paper_figures.model_view(printed_truth, 160, 160)
    assert np.abs(lightness(view) - lightness(printed_ours)).mean() < 1.5
    assert np.abs(lightness(resize(printed_truth, 160, 160)) - lightness(printed_ours)).mean() > 10.0


def test_mean_ab_distance_hand_example_and_scikit_image():
    red, gray = np.full((2, 2, 3), (255, 0, 0), np.uint8), np.full((2, 2, 3), 128, np.uint8)
    assert paper_figures.mean_ab_distance(red, gray) == pytest.approx(np.hypot(80.09, 67.20), abs=0.05)  # red's chroma
    assert paper_figures.mean_ab_distance(red, red) == 0.0
    rng = np.random.default_rng(5)
    first, second = rng.integers(0, 256, (2, 8, 9, 3), dtype=np.uint8)
    lab1, lab2 = rgb2lab(first), rgb2lab(second)
    expected = np.hypot(lab1[..., 1] - lab2[..., 1], lab1[..., 2] - lab2[..., 2]).mean()
    assert paper_figures.mean_ab_distance(first, second) == pytest.approx(expected, abs=1e-3)
    with pytest.raises(ValueError, match="same shape"):
        paper_figures.mean_ab_distance(first, second[:4])


class ConstantTarget(nn.Module):
    """A stand-in network: ab targets that say a = 20, b = -10 everywhere."""

    def forward(self, luma: torch.Tensor) -> torch.Tensor:
        target = torch.empty(luma.shape[0], 2, *luma.shape[2:])
        target[:, 0], target[:, 1] = (20 + 128) / 255, (-10 + 128) / 255
        return target


def test_luma_colorizer_rebuilds_with_l_equal_100_luma():
    rng = np.random.default_rng(3)
    photo = rng.integers(40, 220, (20, 28, 3), dtype=np.uint8)
    result = paper_figures.luma_colorizer(ConstantTarget(), input_size=16)(photo)
    lab = np.stack([100 * rgb2gray(photo), np.full(photo.shape[:2], 20.0), np.full(photo.shape[:2], -10.0)], axis=-1)
    expected = np.round(np.clip(lab2rgb(lab), 0, 1) * 255)
    assert result.shape == photo.shape and result.dtype == np.uint8
    assert np.abs(result.astype(int) - expected).max() <= 1
    with pytest.raises(ValueError, match="divisible by 8"):
        paper_figures.luma_colorizer(ConstantTarget(), input_size=100)


def test_distance_table():
    table = paper_figures.distance_table(["image1", "image2"], {"recomputed": [4.0, 5.0], "truth": [10.0, 12.5]})
    assert table.splitlines() == [
        "photo   recomputed   truth",
        "image1        4.00   10.00",
        "image2        5.00   12.50",
        "mean          4.50   11.25",
    ]
    with pytest.raises(ValueError, match="one value per photo"):
        paper_figures.distance_table(["image1"], {"recomputed": [1.0, 2.0]})


# --------------------------------------------------------------------------------------
# The figures: every panel a picture, and the paper credited.
# --------------------------------------------------------------------------------------


def shown_images(figure) -> list[int]:
    return [len(axis.images) for axis in figure.axes if axis.axison]


@pytest.mark.needs_data
def test_plot_figure5_shows_a_picture_in_every_panel(figure5_rows):
    recomputed = [row.ours for row in figure5_rows]
    figure = paper_figures.plot_figure5(figure5_rows, recomputed, [4.0] * 10)
    try:
        assert shown_images(figure) == [1] * 40
        titles = [axis.get_title() for axis in figure.axes if axis.get_title()]
        assert sum("as printed\nin the paper" in title for title in titles) == 6  # truth, Ours, Zhang x 2 blocks
        assert "Ke, Fan & Yang" in figure._suptitle.get_text()
        labels = {axis.get_ylabel(): axis.get_position() for axis in figure.axes if axis.get_ylabel()}
        assert sorted(labels) == sorted(f"image{k}" for k in range(1, 11))
        assert all(labels[f"image{k}"].y0 > labels[f"image{k + 1}"].y0 for k in (1, 2, 3, 4, 6, 7, 8, 9))  # top down
        assert all(labels[f"image{k}"].x0 < labels[f"image{k + 5}"].x0 for k in range(1, 6))  # two blocks
    finally:
        plt.close(figure)
    figure = paper_figures.plot_figure5(figure5_rows, recomputed, [4.0] * 10, zhang=recomputed, zhang_label="Zhang et al.\nModelZ")
    try:
        assert shown_images(figure) == [1] * 40
        assert sum(axis.get_title() == "Zhang et al.\nModelZ" for axis in figure.axes) == 2
    finally:
        plt.close(figure)
    with pytest.raises(ValueError, match="expected 10 distances"):
        paper_figures.plot_figure5(figure5_rows, recomputed, [4.0] * 9)


@pytest.mark.needs_data
def test_plot_figure6_shows_a_picture_in_every_panel(figure6_pairs):
    figure = paper_figures.plot_figure6(figure6_pairs, [pair.colorized for pair in figure6_pairs], [4.0] * 6)
    try:
        assert shown_images(figure) == [1] * 18
        assert "Ke, Fan & Yang" in figure._suptitle.get_text()
    finally:
        plt.close(figure)


def test_figure1_pipeline_draws_true_and_predicted_ab_on_one_scale():
    rng = np.random.default_rng(1)
    rgb = rng.random((16, 16, 3))
    lab = rgb_to_lab(rgb)
    predicted_lab = lab.copy()
    predicted_lab[..., 1:] *= 0.3  # a dull prediction
    figure = decoder_anatomy.draw_pipeline(rgb, lab, predicted_lab, lab_to_rgb(predicted_lab), ab_limit=40.0)
    try:
        channels = [axis for axis in figure.axes if axis.get_title().startswith(("A channel", "B channel"))]
        assert len(channels) == 4
        assert {axis.images[0].get_clim() for axis in channels} == {(-40.0, 40.0)}
        every_axis = [*figure.axes, *(child for axis in figure.axes for child in axis.child_axes)]
        assert any(axis.get_xlabel().startswith("a and b") for axis in every_axis)  # the colour bar
        true_a = next(axis for axis in channels if axis.get_title().startswith("A channel\n"))
        assert f"{np.abs(lab[..., 1]).mean():.1f}" in true_a.get_title()
    finally:
        plt.close(figure)
    with pytest.raises(ValueError, match="ab_limit"):
        decoder_anatomy.draw_pipeline(rgb, lab, predicted_lab, lab_to_rgb(predicted_lab), ab_limit=0)
    with pytest.raises(ValueError, match="one size"):
        decoder_anatomy.draw_pipeline(rgb, lab[:8], predicted_lab, lab_to_rgb(predicted_lab))
