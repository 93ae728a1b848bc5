"""The paper's own figures, read from the PDF its authors published.

Ke, Fan and Yang, *Colorizing grayscale photographs with convolutional neural network*:
the authors put the paper's PDF in their repository beside the released weights, and its
figures are embedded bitmaps. This module downloads that PDF (pinned commit, sha256 and
size checked, through :mod:`colorlib.hub`), pulls the figure bitmaps out of it with
``pypdf`` and cuts them into panels, so that the course compares its reproductions with
the paper's own photographs rather than with look-alikes:

* :func:`figure5`: the ten rows of Figure 5, each with the printed ground truth, the
  printed "Ours" and the printed "Zhang et al." panel;
* :func:`figure6`: the six pairs of Figure 6, gray input and the paper's colorization;
* :func:`figure1_photo`: the teddy bear's RGB photo at the top left of Figure 1.

Panels are found, not typed in: :func:`cut_panels` looks for the white gutters between
them (a recursive "XY cut": split the figure at full-width white bands, split each band
at full-height white columns, and so on until nothing splits), then keeps the pieces
large and full enough to be photographs. Text labels and arrows are too thin or too
empty to pass.

Two facts about Figure 5 matter when its panels are compared (notebook 05 measures them):

* the printed ground truth (and Zhang et al.'s panel) is the whole 256 x 256 photo, but
  "Ours" shows only the central 224 x 224 crop the paper's network saw (the authors'
  validation transform: resize to 256, centre crop 224), enlarged to the same panel
  size. :func:`model_view` cuts that crop out of a printed ground truth;
* the authors fed the network luma (``skimage.color.rgb2gray``) and rebuilt the colour
  photo with ``L = 100 * luma``; :func:`luma_colorizer` does the same, for comparison
  with :func:`colorlib.colorize`, which feeds ``L / 100`` and keeps the true L.

All panels are uint8 RGB ``(H, W, 3)``; distances are in ab units (:func:`mean_ab_distance`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from skimage.color import rgb2gray
from torch import nn

from .. import hub
from ..color import lab_to_rgb, target_to_ab
from ..images import ImageReadError, load_image, resize
from ..metrics import ab_error, ab_of
from ..model import eval_mode

__all__ = [
    "PAPER_CREDIT",
    "PAPER_PDF",
    "EMBEDDED_FIGURES",
    "AUTHORS_CROP",
    "Colorizer",
    "PaperFigureError",
    "paper_pdf",
    "figure_image",
    "PanelBox",
    "content_runs",
    "cut_panels",
    "group_rows",
    "Figure5Row",
    "Figure6Pair",
    "figure5",
    "figure6",
    "figure1_photo",
    "model_view",
    "print_like_figure5",
    "mean_ab_distance",
    "luma_colorizer",
    "distance_table",
    "plot_figure5",
    "plot_figure6",
]


#: Who made the panels this module shows: credit them wherever they are drawn.
PAPER_CREDIT = (
    "Ke, Fan & Yang, \"Colorizing grayscale photographs with convolutional neural network\""
)

#: The paper's PDF as its authors published it (repository fanboqia/CSIT5910-Machine-Learning).
PAPER_PDF = hub.RemoteFile(
    filename="paper/Colorizing_grayscale_photographs_with_convolutional_neural_network.pdf",
    url=(
        "https://github.com/fanboqia/CSIT5910-Machine-Learning/raw/"
        "658b1b9d4c28db416ee8f59c9d302c1beb92ea8b/"
        "Colorizing_grayscale_photographs_with_convolutional_neural_network.pdf"
    ),
    sha256="70deac7c6936c9ec3c693158fa4a71eb9568ee5ca7669e3e8f055d0563f31400",
    size=2_676_690,
)

#: Figure number -> (page index from 0, (width, height) of its embedded bitmap).
EMBEDDED_FIGURES: dict[int, tuple[int, tuple[int, int]]] = {
    1: (1, (1916, 978)),
    5: (4, (1548, 1044)),
    6: (4, (1582, 568)),
}

#: The part of the 256 x 256 ground truth the network saw: the central 224 / 256.
AUTHORS_CROP = 224 / 256

#: ``uint8 RGB (H, W, 3) -> uint8 RGB (H, W, 3)``, using only the input's lightness.
Colorizer = Callable[[np.ndarray], np.ndarray]


class PaperFigureError(ValueError):
    """The PDF or a figure in it is not what this module expects (the message says what)."""


# --------------------------------------------------------------------------------------
# The PDF and its embedded figures.
# --------------------------------------------------------------------------------------


def paper_pdf(progress: bool = False) -> Path:
    """The paper's PDF in colorlib's cache, downloaded once and checked (sha256 and size).

    Raises:
        colorlib.hub.DownloadError: offline and not in the cache (the message says where
            to copy the file by hand).
        colorlib.hub.ChecksumError: the download is not the authors' file.
    """
    return hub.fetch(PAPER_PDF, progress=progress)


@lru_cache(maxsize=4)
def _embedded_images(path: str, modified_ns: int) -> dict[tuple[int, tuple[int, int]], np.ndarray]:
    """Every embedded bitmap of the PDF: ``{(page, (width, height)): uint8 RGB}`` (read-only)."""
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    found = {}
    try:
        reader = PdfReader(path)
        for page_index, page in enumerate(reader.pages):
            for embedded in page.images:
                rgb = load_image(embedded.image)
                rgb.flags.writeable = False
                found[(page_index, (rgb.shape[1], rgb.shape[0]))] = rgb
    except (PdfReadError, ImageReadError, OSError, ValueError) as error:
        raise PaperFigureError(f"cannot read the figures of {path}: {error}") from error
    return found


def figure_image(number: int, *, pdf: str | os.PathLike | None = None) -> np.ndarray:
    """The embedded bitmap of Figure ``number`` (1, 5 or 6): uint8 RGB (H, W, 3), a copy.

    Args:
        number: the figure's number in the paper (see :data:`EMBEDDED_FIGURES`).
        pdf: the paper's PDF; default :func:`paper_pdf` (the cached, checked download).

    Raises:
        ValueError: a figure number other than 1, 5 or 6.
        PaperFigureError: the PDF has no bitmap of the expected size on the expected page.
    """
    if number not in EMBEDDED_FIGURES:
        raise ValueError(f"figure_image: expected a figure number in {sorted(EMBEDDED_FIGURES)}, got {number!r}")
    path = Path(pdf) if pdf is not None else paper_pdf()
    if not path.is_file():
        raise FileNotFoundError(f"figure_image: no PDF at {path}")
    page, size = EMBEDDED_FIGURES[number]
    images = _embedded_images(str(path.resolve()), path.stat().st_mtime_ns)
    if (page, size) not in images:
        raise PaperFigureError(
            f"{path.name}: expected Figure {number} as a {size[0]}x{size[1]} bitmap on page {page + 1}; "
            f"found {sorted(images)} (is this the authors' PDF?)"
        )
    return images[(page, size)].copy()


# --------------------------------------------------------------------------------------
# Cutting a figure into panels at its white gutters.
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PanelBox:
    """A rectangle of a figure, in pixels: rows ``top:bottom``, columns ``left:right``."""

    top: int
    left: int
    bottom: int
    right: int

    @property
    def height(self) -> int:
        return self.bottom - self.top

    @property
    def width(self) -> int:
        return self.right - self.left

    def crop(self, image: np.ndarray) -> np.ndarray:
        """This rectangle of ``image`` (H, W, ...), as a contiguous copy."""
        return np.ascontiguousarray(image[self.top : self.bottom, self.left : self.right])


def content_runs(has_content: np.ndarray, min_gutter: int) -> list[tuple[int, int]]:
    """The stretches of a 1-D profile separated by gutters of at least ``min_gutter`` blanks.

    Args:
        has_content: booleans, one per row (or column): does it hold anything but white?
        min_gutter: the shortest run of blanks that separates two stretches; shorter gaps
            (between the letters of a word, say) are bridged.

    Returns:
        ``[(start, stop), ...]`` half-open, in order, trimmed to content at both ends;
        empty for an all-blank profile.

    >>> content_runs(np.array([0, 1, 1, 0, 1, 0, 0, 0, 1, 1, 0], bool), min_gutter=2)
    [(1, 5), (8, 10)]
    """
    if min_gutter < 1:
        raise ValueError(f"content_runs: expected min_gutter >= 1, got {min_gutter}")
    indices = np.flatnonzero(np.asarray(has_content, dtype=bool))
    if indices.size == 0:
        return []
    breaks = np.flatnonzero(np.diff(indices) > min_gutter)
    starts = np.concatenate(([indices[0]], indices[breaks + 1]))
    stops = np.concatenate((indices[breaks] + 1, [indices[-1] + 1]))
    return [(int(start), int(stop)) for start, stop in zip(starts, stops)]


def _trim_slivers(mask: np.ndarray, box: PanelBox, max_trim: int) -> PanelBox:
    """Shave thin blank edges (at most ``max_trim`` lines) off a leaf of the cut.

    A row band is as tall as the tallest panel in it, so a panel one or two pixels
    shorter than its neighbours keeps a blank sliver. A longer blank edge is left alone:
    it belongs to the picture (a white sky), not to the gutter.
    """
    cell = mask[box.top : box.bottom, box.left : box.right]
    rows, columns = cell.mean(axis=1) >= 0.5, cell.mean(axis=0) >= 0.5

    def shave(full: np.ndarray) -> tuple[int, int]:
        filled = np.flatnonzero(full)
        if filled.size == 0:
            return 0, 0
        head, tail = int(filled[0]), int(full.size - 1 - filled[-1])
        return (head if head <= max_trim else 0), (tail if tail <= max_trim else 0)

    (top, bottom), (left, right) = shave(rows), shave(columns)
    return PanelBox(box.top + top, box.left + left, box.bottom - bottom, box.right - right)


def cut_panels(
    image: np.ndarray,
    *,
    white_level: int = 240,
    min_gutter: int = 8,
    min_side: int = 64,
    min_fill: float = 0.6,
    max_trim: int = 4,
) -> list[PanelBox]:
    """Find the picture panels of a figure by cutting it along its white gutters.

    A pixel is *content* when its darkest channel is below ``white_level``. The figure is
    split at every run of at least ``min_gutter`` content-free rows; each band is split
    at its content-free columns; each piece again at its rows, and so on, until no piece
    splits. A piece keeps the extent of the band it was cut from (so a photo with a white
    sky is not shaved to its first dark row), less thin blank edges (see ``max_trim``).
    Pieces at least ``min_side`` pixels on both sides, with content in at least
    ``min_fill`` of their pixels, are panels; labels and arrows are not.

    Args:
        image: the figure, uint8 RGB (H, W, 3) on a white page.
        white_level: darkest channel value (0..255) from which a pixel counts as white
            (page white in the paper's figures is 252..255 after JPEG compression).
        min_gutter: the narrowest white gap, in pixels, that separates two panels.
        min_side: the smallest panel side, in pixels.
        min_fill: the smallest share of content pixels in a panel (0..1).
        max_trim: blank edges up to this many pixels are trimmed off a panel.

    Returns:
        The panels in reading order: top to bottom by band, left to right in a band.

    Raises:
        ValueError: ``image`` is not uint8 (H, W, 3), or a parameter is out of range.
    """
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.ndim != 3 or image.shape[-1] != 3:
        raise ValueError(
            f"cut_panels: expected a uint8 RGB array (H, W, 3), got "
            f"{getattr(image, 'dtype', type(image).__name__)} {getattr(image, 'shape', '')}"
        )
    if not 0 < white_level <= 255 or min_side < 1 or not 0.0 <= min_fill <= 1.0 or max_trim < 0:
        raise ValueError(
            "cut_panels: expected 0 < white_level <= 255, min_side >= 1, 0 <= min_fill <= 1 and "
            f"max_trim >= 0; got {white_level}, {min_side}, {min_fill}, {max_trim}"
        )
    mask = image.min(axis=2) < white_level
    leaves: list[PanelBox] = []

    def split(box: PanelBox) -> None:
        region = mask[box.top : box.bottom, box.left : box.right]
        bands = content_runs(region.any(axis=1), min_gutter)
        if len(bands) > 1:
            for start, stop in bands:
                split(PanelBox(box.top + start, box.left, box.top + stop, box.right))
            return
        pieces = content_runs(region.any(axis=0), min_gutter)
        if len(pieces) > 1:
            for start, stop in pieces:
                split(PanelBox(box.top, box.left + start, box.bottom, box.left + stop))
            return
        if bands and pieces:
            leaves.append(box)

    split(PanelBox(0, 0, image.shape[0], image.shape[1]))
    panels = []
    for leaf in leaves:
        if leaf.height < min_side or leaf.width < min_side:
            continue
        leaf = _trim_slivers(mask, leaf, max_trim)
        fill = mask[leaf.top : leaf.bottom, leaf.left : leaf.right].mean()
        if leaf.height >= min_side and leaf.width >= min_side and fill >= min_fill:
            panels.append(leaf)
    return panels


def group_rows(panels: Sequence[PanelBox]) -> list[list[PanelBox]]:
    """Panels grouped into rows (panels whose vertical spans overlap), each row left to right.

    >>> group_rows([PanelBox(0, 50, 40, 90), PanelBox(2, 0, 41, 40), PanelBox(60, 0, 99, 40)])
    [[PanelBox(top=2, left=0, bottom=41, right=40), PanelBox(top=0, left=50, bottom=40, right=90)], [PanelBox(top=60, left=0, bottom=99, right=40)]]
    """
    rows: list[list[PanelBox]] = []
    for panel in sorted(panels, key=lambda box: (box.top, box.left)):
        if rows and panel.top < max(box.bottom for box in rows[-1]):
            rows[-1].append(panel)
        else:
            rows.append([panel])
    return [sorted(row, key=lambda box: box.left) for row in rows]


def _grid(number: int, figure: np.ndarray, rows: int, columns: int) -> list[list[PanelBox]]:
    grid = group_rows(cut_panels(figure))
    shape = [len(row) for row in grid]
    if shape != [columns] * rows:
        raise PaperFigureError(
            f"Figure {number}: expected {rows} rows of {columns} panels, found rows of {shape}"
        )
    return grid


# --------------------------------------------------------------------------------------
# Figures 5, 6 and 1.
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Figure5Row:
    """One photo of the paper's Figure 5, as printed: uint8 RGB (H, W, 3) panels.

    Attributes:
        name: ``"image1"`` .. ``"image10"``, the paper's names.
        ground_truth: the photo, whole (the 256 x 256 image).
        ours: the paper's colorization of the central 224 x 224 only (see :func:`model_view`).
        zhang: Zhang et al.'s (ModelZ) colorization, of the whole photo like the ground truth.
        boxes: where the three panels are in the figure's bitmap.
    """

    name: str
    ground_truth: np.ndarray
    ours: np.ndarray
    zhang: np.ndarray
    boxes: tuple[PanelBox, PanelBox, PanelBox]


@dataclass(frozen=True)
class Figure6Pair:
    """One example of the paper's Figure 6: the gray input and the paper's colorization (uint8 RGB)."""

    gray: np.ndarray
    colorized: np.ndarray
    boxes: tuple[PanelBox, PanelBox]


def figure5(pdf: str | os.PathLike | None = None) -> list[Figure5Row]:
    """The ten photos of Figure 5 in the paper's order, image1 to image10.

    The figure is two blocks side by side, five rows each, columns ground truth | Ours |
    Zhang et al.: image1..image5 on the left, image6..image10 on the right (30 panels).

    Args:
        pdf: the paper's PDF (default: the cached download, :func:`paper_pdf`).
    """
    figure = figure_image(5, pdf=pdf)
    grid = _grid(5, figure, rows=5, columns=6)
    rows = []
    for block in range(2):
        for row in grid:
            boxes = tuple(row[3 * block : 3 * block + 3])
            ground_truth, ours, zhang = (box.crop(figure) for box in boxes)
            rows.append(Figure5Row(f"image{len(rows) + 1}", ground_truth, ours, zhang, boxes))
    return rows


def figure6(pdf: str | os.PathLike | None = None) -> list[Figure6Pair]:
    """The six examples of Figure 6 in reading order: two rows of three (gray, colorized) pairs."""
    figure = figure_image(6, pdf=pdf)
    grid = _grid(6, figure, rows=2, columns=6)
    return [
        Figure6Pair(row[k].crop(figure), row[k + 1].crop(figure), (row[k], row[k + 1]))
        for row in grid
        for k in range(0, 6, 2)
    ]


def figure1_photo(pdf: str | os.PathLike | None = None) -> np.ndarray:
    """The teddy bear of Figure 1: the RGB photo at the top left, uint8 (H, W, 3)."""
    figure = figure_image(1, pdf=pdf)
    panels = cut_panels(figure)
    if not panels:
        raise PaperFigureError("Figure 1: found no picture panel")
    top_left = min(panels, key=lambda box: box.top + box.left)
    return top_left.crop(figure)


# --------------------------------------------------------------------------------------
# Comparing with the printed panels.
# --------------------------------------------------------------------------------------


def model_view(ground_truth: np.ndarray, height: int | None = None, width: int | None = None) -> np.ndarray:
    """The part of a printed ground truth that the network saw, at the printed output's size.

    The authors' validation images were resized to 256 x 256 and centre-cropped to
    224 x 224; Figure 5 prints the whole 256 image as the ground truth (and Zhang et al.'s
    colorization of it) but only the 224 crop of the paper's own output. This cuts the central :data:`AUTHORS_CROP` (224 / 256) of the
    ground-truth panel and resizes it (bicubic) to ``height`` x ``width`` (default: its
    own size), so that it lines up pixel for pixel with the printed "Ours".

    Args:
        ground_truth: uint8 RGB (H, W, 3).
        height, width: the size of the result (e.g. the printed "Ours" panel's).

    Returns:
        uint8 RGB (height, width, 3).
    """
    rgb = load_image(ground_truth, max_pixels=None)
    full_height, full_width = rgb.shape[:2]
    crop_height, crop_width = round(full_height * AUTHORS_CROP), round(full_width * AUTHORS_CROP)
    top, left = (full_height - crop_height) // 2, (full_width - crop_width) // 2
    crop = np.ascontiguousarray(rgb[top : top + crop_height, left : left + crop_width])
    return resize(crop, height or crop_height, width or crop_width)


def print_like_figure5(photo: np.ndarray, colorizer: Colorizer, *, panel_size: int = 165) -> tuple[np.ndarray, np.ndarray]:
    """What Figure 5 would print for ``photo``, made the way the paper made it.

    The photo is resized to 256 x 256 (the authors' Places205 size); its central 224 x 224
    is colorized by ``colorizer``; the whole 256 image (the ground truth) and the 224
    colorization are both shown at ``panel_size`` x ``panel_size`` (about 165 pixels in
    the PDF's bitmap). Recomputing "Ours" from such a printed ground truth
    (:func:`model_view`, then the same colorizer) measures what the resampling of the
    panels alone costs, with everything else known.

    Args:
        photo: uint8 RGB (H, W, 3), any size.
        colorizer: uint8 RGB -> uint8 RGB of the same size (e.g. :func:`luma_colorizer`).
        panel_size: the printed panels' side in pixels.

    Returns:
        ``(printed ground truth, printed colorization)``, uint8 (panel_size, panel_size, 3) each.
    """
    full = resize(load_image(photo, max_pixels=None), 256, 256)
    margin = (256 - 224) // 2
    colorized = colorizer(np.ascontiguousarray(full[margin : margin + 224, margin : margin + 224]))
    return resize(full, panel_size, panel_size), resize(colorized, panel_size, panel_size)


def mean_ab_distance(first: np.ndarray, second: np.ndarray) -> float:
    """Mean over pixels of the Euclidean distance in the ab plane between two RGB images.

    Both are uint8 RGB (H, W, 3) of the same size (or float in [0, 1]); Lab comes from
    :func:`colorlib.color.rgb_to_lab`. 0 for two images with the same colours; a gray
    image against a photo gives the photo's mean chroma.

    >>> red, gray = np.full((2, 2, 3), (255, 0, 0), np.uint8), np.full((2, 2, 3), 128, np.uint8)
    >>> round(mean_ab_distance(red, gray), 1)
    104.6

    Raises:
        ValueError: the images are not RGB arrays, or differ in size.
    """
    if not isinstance(first, np.ndarray) or not isinstance(second, np.ndarray) or first.shape != second.shape:
        raise ValueError(
            "mean_ab_distance: expected two RGB arrays of the same shape (H, W, 3), got "
            f"{getattr(first, 'shape', type(first).__name__)} and {getattr(second, 'shape', type(second).__name__)}"
        )
    return float(ab_error(ab_of(first), ab_of(second)).mean())


def luma_colorizer(model: nn.Module, *, input_size: int = 224) -> Colorizer:
    """Colorize the way the authors' code did: luma in, ``L = 100 * luma`` out.

    The image is resized to ``input_size`` x ``input_size`` (bicubic), its luma
    ``skimage.color.rgb2gray`` (0..1) goes through ``model`` (input ``(1, 1, size,
    size)``, output ab targets ``(ab + 128) / 255``), the predicted ab are enlarged
    bilinearly to the image's size and joined with ``100 * luma`` of the full-size image.
    Compare :func:`colorlib.colorize`, which feeds ``L / 100`` and keeps the true L.

    Args:
        model: e.g. ``colorlib.load_pretrained("paper")``; run in eval mode on the CPU.
        input_size: the network's input side (224 in the paper).

    Returns:
        A function uint8 RGB (H, W, 3) -> uint8 RGB (H, W, 3).
    """
    if isinstance(input_size, bool) or not isinstance(input_size, int) or input_size < 8 or input_size % 8:
        raise ValueError(f"luma_colorizer: expected a size divisible by 8 (224, say), got {input_size!r}")

    def colorize_from_luma(image: np.ndarray) -> np.ndarray:
        rgb = load_image(image, max_pixels=None)
        small_luma = torch.from_numpy(rgb2gray(resize(rgb, input_size, input_size)).astype(np.float32))[None, None]
        with eval_mode(model), torch.inference_mode():
            ab = target_to_ab(model(small_luma).float().cpu())
            ab = F.interpolate(ab, size=rgb.shape[:2], mode="bilinear", align_corners=False)[0]
        lightness = torch.from_numpy(100.0 * rgb2gray(rgb).astype(np.float32))[None]
        color = lab_to_rgb(torch.cat((lightness, ab), dim=0))
        return np.ascontiguousarray((color.clamp(0, 1) * 255).round().to(torch.uint8).permute(1, 2, 0).numpy())

    return colorize_from_luma


def distance_table(names: Sequence[str], columns: dict[str, Sequence[float]]) -> str:
    """A plain-text table of ab distances: one line per photo, one column per comparison,
    and a last line with the means. Values are rounded to 2 decimals.

    >>> print(distance_table(["image1", "image2"], {"recomputed": [4.0, 5.0]}))
    photo   recomputed
    image1        4.00
    image2        5.00
    mean          4.50
    """
    if not names or any(len(values) != len(names) for values in columns.values()):
        raise ValueError(f"distance_table: expected one value per photo ({len(names)}) in every column")
    width = max(6, *(len(name) for name in names))
    lines = [f"{'photo':<{width}}" + "".join(f"  {title:>{max(6, len(title))}}" for title in columns)]
    rows = [*names, "mean"]
    for index, name in enumerate(rows):
        cells = []
        for title, values in columns.items():
            value = float(np.mean(values)) if name == "mean" else float(values[index])
            cells.append(f"  {value:>{max(6, len(title))}.2f}")
        lines.append(f"{name:<{width}}" + "".join(cells))
    return "\n".join(lines)


# --------------------------------------------------------------------------------------
# The reproduced figures.
# --------------------------------------------------------------------------------------


def _show(axis, image: np.ndarray, title: str | None = None, fontsize: float = 8) -> None:
    axis.imshow(image, interpolation="lanczos" if max(image.shape[:2]) > 400 else "antialiased")
    axis.set_xticks([])
    axis.set_yticks([])
    for spine in axis.spines.values():
        spine.set_linewidth(0.4)
    if title:
        axis.set_title(title, fontsize=fontsize, pad=3)


def _check_lengths(what: str, expected: int, **sequences: Sequence) -> None:
    for name, values in sequences.items():
        if len(values) != expected:
            raise ValueError(f"{what}: expected {expected} {name} (one per photo), got {len(values)}")


def plot_figure5(
    rows: Sequence[Figure5Row],
    recomputed: Sequence[np.ndarray],
    distances: Sequence[float],
    *,
    zhang: Sequence[np.ndarray] | None = None,
    zhang_label: str = "Zhang et al.\nas printed\nin the paper",
    recomputed_label: str = "Ours\nrecomputed\n(released weights)",
    size: float = 1.6,
):
    """The paper's Figure 5 and its reproduction, two blocks of five photos like the paper's.

    Columns per block: the printed ground truth (with the central 224/256 that the
    paper's network saw outlined: the printed "Ours" shows only that part), the printed
    "Ours", "Ours" recomputed from the printed ground truth (with its ab distance to the
    printed "Ours"), and Zhang et al. (whole photo): recomputed by ModelZ when given, else
    the printed panel. Every panel shows a picture: none is left blank.

    Args:
        rows: :func:`figure5`'s ten rows.
        recomputed: one uint8 RGB image per row (any size; shown as it is).
        distances: mean ab distance, recomputed vs printed "Ours", per row.
        zhang: ModelZ's colorizations, one per row, or ``None`` for the printed panels.
        zhang_label, recomputed_label: the column titles.

    Returns:
        The matplotlib figure.
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    count = len(rows)
    if count == 0:
        raise ValueError("plot_figure5: expected at least one row of Figure 5")
    _check_lengths("plot_figure5", count, recomputed=recomputed, distances=distances)
    zhang_panels = [row.zhang for row in rows] if zhang is None else list(zhang)
    _check_lengths("plot_figure5", count, zhang=zhang_panels)
    per_block = -(-count // 2)
    titles = ("ground truth\nas printed\nin the paper", "Ours\nas printed\nin the paper", recomputed_label, zhang_label)
    figure, axes = plt.subplots(
        per_block, 9, figsize=(size * 8 + 0.4, size * per_block + 1.1), squeeze=False,
        gridspec_kw={"width_ratios": (1, 1, 1, 1, 0.12, 1, 1, 1, 1), "wspace": 0.06, "hspace": 0.22},
    )
    for axis in axes[:, 4]:
        axis.axis("off")
    for index, row in enumerate(rows):
        block, line = divmod(index, per_block)
        cells = axes[line, 5 * block : 5 * block + 4]
        panels = (row.ground_truth, row.ours, recomputed[index], zhang_panels[index])
        for column, (axis, panel) in enumerate(zip(cells, panels)):
            _show(axis, panel, titles[column] if line == 0 else None)
        height, width = row.ground_truth.shape[:2]
        crop_height, crop_width = height * AUTHORS_CROP, width * AUTHORS_CROP
        cells[0].add_patch(Rectangle(
            ((width - crop_width) / 2 - 0.5, (height - crop_height) / 2 - 0.5), crop_width, crop_height,
            fill=False, lw=0.7, ls="--", ec="white"))
        cells[0].set_ylabel(row.name, fontsize=9)
        cells[2].set_xlabel(f"{distances[index]:.1f} ab from printed", fontsize=7, labelpad=2)
    for index in range(count, 2 * per_block):
        block, line = divmod(index, per_block)
        for axis in axes[line, 5 * block : 5 * block + 4]:
            axis.axis("off")
    figure.suptitle(
        f"Figure 5 of {PAPER_CREDIT}: the printed panels, and \"Ours\" recomputed with the released weights\n"
        f"(mean distance to the printed \"Ours\" {float(np.mean(distances)):.2f} ab; dashed: the central 224/256 "
        "that the paper's network saw, all that \"Ours\" shows)",
        fontsize=9, y=0.995,
    )
    return figure


def plot_figure6(
    pairs: Sequence[Figure6Pair],
    recomputed: Sequence[np.ndarray],
    distances: Sequence[float],
    *,
    per_row: int = 3,
    size: float = 1.5,
):
    """The paper's Figure 6 and its reproduction: for each example the printed gray input,
    the printed colorization and the released weights' colorization of that input (with
    its mean ab distance to the printed one).

    Args:
        pairs: :func:`figure6`'s six examples.
        recomputed: one uint8 RGB image per example.
        distances: mean ab distance, recomputed vs printed, per example.
        per_row: examples per row (the paper: three).

    Returns:
        The matplotlib figure.
    """
    import matplotlib.pyplot as plt

    count = len(pairs)
    if count == 0:
        raise ValueError("plot_figure6: expected at least one example of Figure 6")
    _check_lengths("plot_figure6", count, recomputed=recomputed, distances=distances)
    if per_row < 1:
        raise ValueError(f"plot_figure6: expected per_row >= 1, got {per_row}")
    lines = -(-count // per_row)
    ratios = []
    for k in range(per_row):
        ratios += [1, 1, 1] + ([0.15] if k < per_row - 1 else [])
    figure, axes = plt.subplots(
        lines, len(ratios), figsize=(size * 3 * per_row + 0.3 * (per_row - 1), 0.95 * size * lines + 0.7), squeeze=False,
        gridspec_kw={"width_ratios": ratios, "wspace": 0.05, "hspace": 0.12},
    )
    for axis in axes.flat:
        axis.axis("off")
    titles = ("gray input\nas printed", "paper's output\nas printed", "released weights\nrecomputed")
    for index, pair in enumerate(pairs):
        line, slot = divmod(index, per_row)
        cells = axes[line, 4 * slot : 4 * slot + 3]
        for column, (axis, panel) in enumerate(zip(cells, (pair.gray, pair.colorized, recomputed[index]))):
            axis.axis("on")
            _show(axis, panel, titles[column] if line == 0 else None)
        cells[2].set_xlabel(f"{distances[index]:.1f} ab from printed", fontsize=7, labelpad=2)
    figure.suptitle(
        f"Figure 6 of {PAPER_CREDIT}: printed examples, and the released weights on the printed gray inputs "
        f"(mean {float(np.mean(distances)):.2f} ab)",
        fontsize=9, y=1.0,
    )
    return figure
