"""The network taken apart: the library code behind notebooks 02 and 03.

Everything here *measures* the live model instead of restating the paper:

- :func:`layer_table` runs a torchvision ResNet with forward hooks and rebuilds the
  paper's Figure 2 (layer name, output size, operations) from what the layers really do;
  :func:`draw_layer_table` draws it, :func:`format_layer_table` prints it.
- :func:`max_pool_example` and :func:`upsample_example` run ``nn.MaxPool2d`` and
  ``nn.Upsample`` on small numeric grids (the paper's Figures 3 and 4);
  :func:`draw_max_pool` and :func:`draw_upsample` draw them.
- :func:`trace_shapes`, :func:`encoder_feature_maps`, :func:`receptive_fields` and
  :func:`colorlib.lessons.layers.parameter_counts` look inside the encoder and decoder.
- :func:`predict_half_resolution` and :func:`upsample_ab` show why the predictions
  look like mosaics (the slider and its static twin are
  :class:`colorlib.lessons.decoder_anatomy.UpsamplingComparison` and
  :func:`colorlib.lessons.decoder_anatomy.draw_nearest_vs_bilinear`).
- :func:`boundary_jumps` and :func:`mosaic_jumps` measure where the predicted colours
  jump (on the 2, 4 and 8 pixel grids of the decoder); :func:`flat_input_response` and
  :func:`border_frame` show the frame that zero padding paints along the edges;
  :func:`checkerboard_example` contrasts ``nn.Upsample`` + convolution with
  ``nn.ConvTranspose2d``.

What the authors' checkpoint files contain is :mod:`colorlib.lessons.authors_checkpoints`' subject.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, Rectangle
from skimage.color import rgb2gray
from torch import nn

from ..color import rgb_to_lab, target_to_ab
from ..inference import network_input, replace_ab
from ..model import (
    ColorizationNet,
)
from .encoder_anatomy import _draw_grid
from .plot import png_bytes

__all__ = [
    "check_square_photo",
    "predict_half_resolution",
    "upsample_ab",
    "is_block_constant",
    "colorize_from_half_resolution",
    "InputComparison",
    "compare_luma_and_lightness",
    "draw_pipeline",
    "MOSAIC_PERIODS",
    "boundary_jumps",
    "MosaicJumps",
    "mosaic_jumps",
    "draw_mosaic_jumps",
    "flat_input_response",
    "BorderFrame",
    "border_frame",
    "draw_border_frame",
    "checkerboard_example",
    "draw_checkerboard",
    "UpsamplingComparison",
    "draw_nearest_vs_bilinear",
]


# --------------------------------------------------------------------------------------
# The last up-sampling: mosaics, nearest versus bilinear.
# --------------------------------------------------------------------------------------


def check_square_photo(photo: np.ndarray, what: str) -> int:
    """The side of a square uint8 RGB photo (S, S, 3) whose side is divisible by 8; ValueError naming ``what`` otherwise."""
    if (
        not isinstance(photo, np.ndarray)
        or photo.dtype != np.uint8
        or photo.ndim != 3
        or photo.shape[-1] != 3
        or photo.shape[0] != photo.shape[1]
        or photo.shape[0] % 8
    ):
        shape = getattr(photo, "shape", None)
        raise ValueError(
            f"{what}: expected a square uint8 RGB photo (S, S, 3) with S divisible by 8 "
            f"(see colorlib.images.square_crop), got {type(photo).__name__} {shape}"
        )
    return photo.shape[0]


def predict_half_resolution(model: ColorizationNet, network_input: torch.Tensor) -> torch.Tensor:
    """The decoder's output just before its last ``nn.Upsample``.

    Args:
        model: a :class:`ColorizationNet`, used in whatever mode it is in (eval mode for
            predictions, as :func:`colorlib.load_pretrained` returns it).
        network_input: ``L / 100``, ``(N, 1, H, W)``, H and W divisible by 8, on the
            model's device.

    Returns:
        ab targets ``(N, 2, H/2, W/2)`` on the ``(ab + 128) / 255`` scale; the model's
        own output is exactly this, upsampled by nearest neighbour.
    """
    last = model.decoder[-1]
    if not isinstance(last, nn.Upsample):
        raise ValueError(f"predict_half_resolution: expected the decoder to end with nn.Upsample, found {type(last).__name__}")
    if network_input.ndim != 4 or network_input.shape[1] != 1 or network_input.shape[-1] % 8 or network_input.shape[-2] % 8:
        raise ValueError(
            "predict_half_resolution: expected L/100 shaped (N, 1, H, W) with H and W divisible by 8, "
            f"got {tuple(network_input.shape)}"
        )
    with torch.no_grad():
        return model.decoder[:-1](model.encoder(network_input))


def upsample_ab(ab: torch.Tensor, size: tuple[int, int], *, mode: str = "nearest") -> torch.Tensor:
    """Up-sample a low-resolution ab prediction ``(N, 2, h, w)`` to ``size`` = (H, W).

    ``"nearest"`` copies each value into a block (what the paper's last ``nn.Upsample``
    does: mosaics); ``"bilinear"`` interpolates between neighbours (smooth).
    """
    if mode not in ("nearest", "bilinear"):
        raise ValueError(f"upsample_ab: mode must be 'nearest' or 'bilinear', got {mode!r}")
    if ab.ndim != 4:
        raise ValueError(f"upsample_ab: expected ab shaped (N, 2, h, w), got {tuple(ab.shape)}")
    if mode == "nearest":
        return F.interpolate(ab, size=tuple(size), mode="nearest")
    return F.interpolate(ab, size=tuple(size), mode="bilinear", align_corners=False)


def is_block_constant(image: torch.Tensor, *, block: int = 2) -> bool:
    """Whether ``image`` (..., H, W) is made of ``block`` x ``block`` tiles of one value each."""
    height, width = image.shape[-2:]
    if height % block or width % block:
        return False
    corners = image[..., ::block, ::block]
    return bool(torch.equal(image, corners.repeat_interleave(block, dim=-2).repeat_interleave(block, dim=-1)))


def colorize_from_half_resolution(photo: np.ndarray, half_target: torch.Tensor, *, mode: str = "nearest") -> tuple[np.ndarray, np.ndarray]:
    """Give ``photo`` the colours of a half-resolution prediction, up-sampled by ``mode``.

    Args:
        photo: uint8 RGB (H, W, 3); its own lightness is kept.
        half_target: ab targets ``(1, 2, H/2, W/2)`` from :func:`predict_half_resolution`.
        mode: ``"nearest"`` (what the model's last layer does) or ``"bilinear"``.

    Returns:
        ``(rgb uint8 (H, W, 3), ab float32 (H, W, 2) in ab units)``.
    """
    ab = target_to_ab(upsample_ab(half_target, photo.shape[:2], mode=mode))[0].permute(1, 2, 0).numpy()
    return replace_ab(photo, ab), ab


# --------------------------------------------------------------------------------------
# The authors' luma input versus L / 100.
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class InputComparison:
    """How much the prediction changes when the network gets luma instead of ``L / 100``.

    Attributes (ab units):
        mean_abs_delta_ab: mean over pixels and both channels of ``|ab_luma - ab_L|``.
        max_abs_delta_ab: the largest such difference.
        mean_abs_ab: mean ``|ab|`` of the ``L / 100`` prediction (for scale).
    """

    mean_abs_delta_ab: float
    max_abs_delta_ab: float
    mean_abs_ab: float


def compare_luma_and_lightness(model: ColorizationNet, photo: np.ndarray) -> InputComparison:
    """Predict ab from ``skimage.color.rgb2gray`` (the authors' input) and from ``L / 100``.

    Args:
        model: a :class:`ColorizationNet` in eval mode (any output head: regression or classification).
        photo: a square uint8 RGB photo (S, S, 3), S divisible by 8 (see :func:`colorlib.images.square_crop`).

    Returns:
        The mean and largest ``|ab(luma) - ab(L / 100)|`` over pixels and channels, and the
        mean ``|ab|`` from ``L / 100``, all in ab units.
    """
    side = check_square_photo(photo, "compare_luma_and_lightness")
    lightness = network_input([photo], input_size=side)
    luma = torch.from_numpy(rgb2gray(photo).astype(np.float32))[None, None]
    with torch.no_grad():  # predict_ab decodes any head: the paper's targets or a classifier's logits
        ab_lightness = model.predict_ab(lightness)
        ab_luma = model.predict_ab(luma)
    delta = (ab_luma - ab_lightness).abs()
    return InputComparison(float(delta.mean()), float(delta.max()), float(ab_lightness.abs().mean()))


# --------------------------------------------------------------------------------------
# Figure 1: the whole pipeline.
# --------------------------------------------------------------------------------------


def _check_pipeline_arrays(**arrays: np.ndarray) -> None:
    for what, array in arrays.items():
        if not isinstance(array, np.ndarray) or array.ndim != 3 or array.shape[-1] != 3:
            raise ValueError(f"draw_pipeline: expected {what} as an array (H, W, 3), got {getattr(array, 'shape', type(array).__name__)}")
    if len({array.shape for array in arrays.values()}) != 1:
        raise ValueError(f"draw_pipeline: expected four arrays of one size, got {[array.shape for array in arrays.values()]}")


def _panel(figure: Figure, where, image: np.ndarray, title: str, **kwargs):
    axis = figure.add_subplot(where)
    shown = axis.imshow(image, **kwargs)
    axis.set_title(title, fontsize=10)
    axis.set_xticks([])
    axis.set_yticks([])
    return axis, shown


def _box(figure: Figure, where, text: str, face: str, edge: str):
    axis = figure.add_subplot(where)
    axis.axis("off")
    axis.text(0.5, 0.5, text, ha="center", va="center", fontsize=10,
              bbox=dict(boxstyle="round,pad=0.6", facecolor=face, edgecolor=edge))
    return axis


def _connect(figure: Figure, source, target, start=(1.0, 0.5), end=(0.0, 0.5)) -> None:
    """An arrow from a point of ``source`` to a point of ``target`` (axes fractions)."""
    to_figure = figure.transFigure.inverted()
    figure.add_artist(FancyArrowPatch(
        posA=to_figure.transform(source.transAxes.transform(start)),
        posB=to_figure.transform(target.transAxes.transform(end)),
        transform=figure.transFigure, arrowstyle="-|>", mutation_scale=16, lw=1.4, color="#333333"))


def draw_pipeline(
    rgb: np.ndarray,
    lab: np.ndarray,
    predicted_lab: np.ndarray,
    predicted_rgb: np.ndarray,
    *,
    ab_limit: float = 40.0,
    title: str | None = None,
) -> Figure:
    """The paper's Figure 1 with real data: RGB -> Lab -> L -> network -> predicted a, b -> RGB.

    Channels are drawn with a grayscale colour map, as in the paper, but unlike the
    paper all four a and b panels (true and predicted) share **one fixed scale**,
    ``-ab_limit`` (black) .. 0 (mid gray: no colour) .. ``+ab_limit`` (white), shown by
    one colour bar, and each title gives the channel's mean absolute value. So a dull
    prediction looks dull: its panels stay near mid gray where the true ones are light
    or dark. (The paper stretched every panel to its own range, which hides that.)

    Args:
        rgb, predicted_rgb: float arrays (H, W, 3) in 0..1.
        lab, predicted_lab: float arrays (H, W, 3): L in 0..100, a and b in ab units
            (about -128..127).
        ab_limit: the end of the shared a/b scale in ab units (> 0); values beyond it
            are drawn black or white.
        title: the figure's title (default: the pipeline in words).

    Raises:
        ValueError: an array that is not (H, W, 3), arrays of different sizes, or
            ``ab_limit`` <= 0.
    """
    _check_pipeline_arrays(rgb=rgb, lab=lab, predicted_lab=predicted_lab, predicted_rgb=predicted_rgb)
    if not np.isfinite(ab_limit) or ab_limit <= 0:
        raise ValueError(f"draw_pipeline: expected ab_limit > 0 (ab units), got {ab_limit!r}")
    figure = plt.figure(figsize=(14.0, 6.2))
    grid = figure.add_gridspec(2, 6, wspace=0.3, hspace=0.62, width_ratios=(1, 1, 1, 1, 1.1, 1.5))
    ab_scale = {"cmap": "gray", "vmin": -ab_limit, "vmax": ab_limit}

    def channel(where, values, name):
        return _panel(figure, where, values, f"{name}\nmean |value| {float(np.abs(values).mean()):.1f}", **ab_scale)

    rgb_axis, _ = _panel(figure, grid[0, 0], rgb, "RGB")
    a_axis, scale = channel(grid[0, 1], lab[..., 1], "A channel")
    channel(grid[0, 2], lab[..., 2], "B channel")
    l_axis, _ = _panel(figure, grid[1, 0], lab[..., 0], "L channel", cmap="gray", vmin=0, vmax=100)
    net_axis = _box(figure, grid[1, 1:3], "ColorizationNet\nResNet-18 conv1..conv3_x (down)\n+ conv / nn.Upsample (up)\n"
                    "in: L/100   out: (ab+128)/255", "#dbe8f7", "#3c6fb4")
    pa_axis, _ = channel(grid[0, 3], predicted_lab[..., 1], "A channel (predicted)")
    pb_axis, _ = channel(grid[1, 3], predicted_lab[..., 2], "B channel (predicted)")
    merge_axis = _box(figure, grid[:, 4], "input L\n+ predicted A, B\n= predicted Lab", "#f7e3db", "#b4573c")
    out_axis, _ = _panel(figure, grid[:, 5], predicted_rgb, "RGB (predicted)")
    # One colour bar for the four a/b panels, under the true A and B.
    bar_axis = a_axis.inset_axes([0.0, -0.17, 2.3, 0.07])
    bar = figure.colorbar(scale, cax=bar_axis, orientation="horizontal")
    bar.set_label("a and b, all four panels (ab units; mid gray = no colour)", fontsize=8)
    bar.ax.tick_params(labelsize=7)
    _connect(figure, rgb_axis, l_axis, (0.5, -0.03), (0.5, 1.2))
    _connect(figure, rgb_axis, a_axis)  # RGB -> Lab gives A and B (side by side) and L (below)
    a_axis.annotate("to Lab", xy=(-0.165, 0.56), xycoords="axes fraction", ha="center", fontsize=8)
    _connect(figure, l_axis, net_axis, end=(0.05, 0.5))
    _connect(figure, net_axis, pa_axis, (0.95, 0.62), (0.0, 0.3))
    _connect(figure, net_axis, pb_axis, (0.95, 0.5), (0.0, 0.5))
    _connect(figure, pa_axis, merge_axis, end=(0.1, 0.56))
    _connect(figure, pb_axis, merge_axis, end=(0.1, 0.44))
    _connect(figure, merge_axis, out_axis, (0.97, 0.5), (0.0, 0.5))
    figure.suptitle(title or "The paper's Figure 1, run: RGB -> Lab -> L -> network -> predicted A, B -> predicted RGB",
                    fontsize=12)
    return figure


# --------------------------------------------------------------------------------------
# Where the mosaics come from: colour jumps on the decoder's grids, the border frame,
# and nn.ConvTranspose2d's checkerboard.
# --------------------------------------------------------------------------------------

#: The grids of the decoder at a 224 x 224 output: 2 px (its 112 x 112 last convolution),
#: 4 px (56 x 56) and 8 px (the encoder's 28 x 28 features).
MOSAIC_PERIODS = (2, 4, 8)


def _check_ab_image(ab: np.ndarray, what: str) -> np.ndarray:
    if not isinstance(ab, np.ndarray) or ab.ndim != 3 or ab.shape[-1] != 2 or ab.dtype.kind != "f":
        raise ValueError(
            f"{what}: expected a float array of a and b shaped (H, W, 2) in ab units, "
            f"got {type(ab).__name__} {getattr(ab, 'dtype', '')} {getattr(ab, 'shape', '')}".rstrip()
        )
    return ab


def _check_periods(periods: Sequence[int], what: str) -> tuple[int, ...]:
    periods = tuple(periods)
    if (
        not periods
        or any(isinstance(p, bool) or not isinstance(p, (int, np.integer)) or p < 2 for p in periods)
        or len(set(periods)) != len(periods)
    ):
        raise ValueError(f"{what}: expected distinct integer periods of at least 2 pixels, got {periods!r}")
    return tuple(sorted(int(p) for p in periods))


def _boundary_classes(count: int, periods: tuple[int, ...]) -> np.ndarray:
    """The class of the boundaries at positions 1 .. count-1: the largest period dividing it, else 1."""
    positions = np.arange(1, count)
    classes = np.ones(count - 1, dtype=np.int64)
    for period in periods:  # ascending: a larger period overwrites a smaller one
        classes[positions % period == 0] = period
    return classes


def boundary_jumps(ab: np.ndarray, *, periods: Sequence[int] = MOSAIC_PERIODS) -> dict[int, float]:
    """How much the colour jumps between neighbouring pixels, sorted by where the boundary lies.

    The definition, so that the numbers can be reproduced:

    - A **boundary** lies between two neighbouring pixels: between columns ``x - 1`` and
      ``x`` (position ``x``, 1 <= x <= W - 1) or between rows ``y - 1`` and ``y``
      (position ``y``). Both directions count; the image's outer edge is no boundary.
    - Its **jump** is ``(|delta a| + |delta b|) / 2``, the mean over both channels of the
      absolute difference between the two pixels, in ab units.
    - Its **class** is the largest of ``periods`` that divides its position, or 1 when
      none does. With ``(2, 4, 8)``: positions 8, 16, ... are class 8; 4, 12, 20, ...
      class 4; 2, 6, 10, ... class 2; odd positions class 1 (inside 2 x 2 blocks).

    The result is the mean jump over all boundaries of each class. For a photo's true
    colours every class has about the same mean (nothing in a photo is aligned to a
    grid); a decoder that paints on a grid jumps more on it. An image up-sampled by
    nearest neighbour x2 has class 1 exactly 0.

    Args:
        ab: float ``(H, W, 2)``, a and b in ab units (about -128..127), e.g.
            :func:`colorlib.inference.predict_ab`'s answer.
        periods: grid periods in pixels, distinct integers >= 2.

    Returns:
        ``{1: mean jump off every grid, p: mean jump on the grid of period p, ...}``,
        keys ascending.

    Raises:
        ValueError: ``ab`` is not float ``(H, W, 2)``, bad ``periods``, or an image too
            small for every class to have a boundary (a side of at least
            ``max(periods) + 1`` pixels is needed).

    >>> import numpy as np
    >>> a = np.repeat(np.arange(4.0) * 10, 2)[None, :, None]   # one row, 2-pixel blocks
    >>> boundary_jumps(np.concatenate([a, np.zeros_like(a)], axis=-1), periods=(2,))
    {1: 0.0, 2: 5.0}
    """
    ab = _check_ab_image(ab, "boundary_jumps")
    periods = _check_periods(periods, "boundary_jumps")
    height, width = ab.shape[:2]
    if max(height, width) <= max(periods):
        raise ValueError(
            f"boundary_jumps: an image of {height}x{width} has no boundary at position {max(periods)}; "
            f"expected a side of at least {max(periods) + 1} pixels"
        )
    values = ab.astype(np.float64, copy=False)
    across_columns = np.abs(np.diff(values, axis=1)).mean(axis=-1)  # (H, W - 1): boundary x = 1 .. W - 1
    across_rows = np.abs(np.diff(values, axis=0)).mean(axis=-1)  # (H - 1, W): boundary y = 1 .. H - 1
    column_classes = _boundary_classes(width, periods)
    row_classes = _boundary_classes(height, periods)
    result = {}
    for period in (1, *periods):
        total = across_columns[:, column_classes == period].sum() + across_rows[row_classes == period].sum()
        count = height * int((column_classes == period).sum()) + width * int((row_classes == period).sum())
        result[period] = float(total / count)
    return result


@dataclass(frozen=True)
class MosaicJumps:
    """:func:`boundary_jumps` averaged over photos, for three versions of their colours.

    Attributes:
        photos: how many photos were measured (each weighs the same).
        true: the photos' own a and b.
        nearest: the model's output as built (its last ``nn.Upsample`` is nearest).
        bilinear: the model's half-resolution output, up-sampled bilinearly instead.
    """

    photos: int
    true: dict[int, float]
    nearest: dict[int, float]
    bilinear: dict[int, float]

    def rows(self) -> dict[str, dict[int, float]]:
        """The three rows by their labels, in the order of the table."""
        return {
            "true colours": self.true,
            "model, nearest (as built)": self.nearest,
            "model, bilinear last layer": self.bilinear,
        }

    def table(self) -> str:
        """The numbers as text: one row per version, one column per boundary class."""
        periods = list(self.true)
        header = "".join(f"{'off grids' if p == 1 else f'on {p} px':>11}" for p in periods)
        lines = [f"{'mean |delta ab| across':<28}{header}"]
        for label, row in self.rows().items():
            lines.append(f"{label:<28}" + "".join(f"{row[p]:>11.2f}" for p in periods))
        return "\n".join(lines)


def mosaic_jumps(model: ColorizationNet, photos: Sequence[np.ndarray], *, periods: Sequence[int] = MOSAIC_PERIODS) -> MosaicJumps:
    """Measure where the colours of ``model`` jump, on several photos (see :func:`boundary_jumps`).

    For each photo: its true a and b (:func:`colorlib.color.rgb_to_lab`); the model's own
    output (:func:`predict_half_resolution`, then nearest x2: bit for bit what the model
    returns); and the same half-resolution output up-sampled bilinearly. The class
    means of each photo are averaged over the photos.

    Args:
        model: a :class:`ColorizationNet` ending with ``nn.Upsample`` (the paper's).
        photos: square uint8 RGB photos (S, S, 3), S divisible by 8 (see
            :func:`colorlib.images.square_crop`); the network runs at S x S.
        periods: as for :func:`boundary_jumps`.
    """
    if len(photos) == 0:
        raise ValueError("mosaic_jumps: expected at least one photo")
    sums = {"true": None, "nearest": None, "bilinear": None}
    for photo in photos:
        side = check_square_photo(photo, "mosaic_jumps")
        half_target = predict_half_resolution(model, network_input([photo], input_size=side))
        measured = {"true": boundary_jumps(rgb_to_lab(photo.astype(np.float32) / 255.0)[..., 1:], periods=periods)}
        for mode in ("nearest", "bilinear"):
            ab = target_to_ab(upsample_ab(half_target, (side, side), mode=mode))[0].permute(1, 2, 0).numpy()
            measured[mode] = boundary_jumps(ab, periods=periods)
        for key, values in measured.items():
            sums[key] = values if sums[key] is None else {p: sums[key][p] + v for p, v in values.items()}
    count = len(photos)
    means = {key: {p: v / count for p, v in values.items()} for key, values in sums.items()}
    return MosaicJumps(count, means["true"], means["nearest"], means["bilinear"])


def draw_mosaic_jumps(jumps: MosaicJumps, *, title: str | None = None) -> Figure:
    """Bars of :class:`MosaicJumps`: for each version of the colours, the mean jump per boundary class."""
    rows = jumps.rows()
    periods = list(jumps.true)
    labels = ["off every grid\n(odd positions)" if p == 1 else f"on the {p}-px grid" for p in periods]
    figure, axis = plt.subplots(figsize=(8.6, 4.2))
    width = 0.8 / len(rows)
    colors = ("#9e9e9e", "#c0392b", "#2e86c1")
    for index, ((label, row), color) in enumerate(zip(rows.items(), colors)):
        positions = np.arange(len(periods)) + (index - (len(rows) - 1) / 2) * width
        values = [row[p] for p in periods]
        bars = axis.bar(positions, values, width=width * 0.95, color=color, label=label)
        axis.bar_label(bars, labels=[f"{v:.2f}" for v in values], fontsize=8, padding=2)
    axis.set_xticks(np.arange(len(periods)), labels)
    axis.set_ylabel("mean |delta ab| between neighbours\n(ab units)")
    axis.spines[["top", "right"]].set_visible(False)
    axis.legend(frameon=False, fontsize=9, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncols=len(rows))
    axis.set_ylim(0, max(max(row.values()) for row in rows.values()) * 1.12)
    axis.set_title(title or f"Where the colours jump, mean of {jumps.photos} photos", fontsize=11)
    figure.tight_layout()
    return figure


def flat_input_response(model: ColorizationNet, *, input_size: int = 224, lightness: float = 50.0) -> np.ndarray:
    """What ``model`` paints on a picture of one flat lightness, where only zero padding marks the edges.

    Args:
        model: a :class:`ColorizationNet` (eval mode for predictions).
        input_size: side of the square input, divisible by 8.
        lightness: ``L`` of every pixel, 0..100.

    Returns:
        float32 ``(size, size, 2)``: the predicted a and b in ab units.

    >>> import torch
    >>> from colorlib.model import ColorizationNet
    >>> flat_input_response(ColorizationNet().eval(), input_size=16, lightness=50).shape
    (16, 16, 2)
    """
    if isinstance(input_size, bool) or not isinstance(input_size, (int, np.integer)) or input_size < 8 or input_size % 8:
        raise ValueError(f"flat_input_response: expected an input_size divisible by 8 (>= 8), got {input_size!r}")
    if isinstance(lightness, bool) or not isinstance(lightness, (int, float, np.integer, np.floating)) or not 0 <= lightness <= 100:
        raise ValueError(f"flat_input_response: expected a lightness L in 0..100, got {lightness!r}")
    parameter = next(model.parameters())
    flat = torch.full((1, 1, int(input_size), int(input_size)), float(lightness) / 100.0, dtype=parameter.dtype, device=parameter.device)
    with torch.no_grad():
        ab = model.predict_ab(flat)
    return ab[0].permute(1, 2, 0).float().cpu().numpy()


@dataclass(frozen=True)
class BorderFrame:
    """Mean ``(a, b)`` of a picture's edge strips and of its inside (see :func:`border_frame`)."""

    border: int
    inside: tuple[float, float]
    top: tuple[float, float]
    bottom: tuple[float, float]
    left: tuple[float, float]
    right: tuple[float, float]

    def table(self) -> str:
        """One line per region: mean a and b, and b's difference to the inside."""
        lines = [f"{'region':<22}{'mean a':>8}{'mean b':>8}{'b - inside b':>14}"]
        for name in ("inside", "top", "bottom", "left", "right"):
            a, b = getattr(self, name)
            region = f"inside ({self.border} px in)" if name == "inside" else f"{name} {self.border} px"
            change = "" if name == "inside" else f"{b - self.inside[1]:>+14.1f}"
            lines.append(f"{region:<22}{a:>8.1f}{b:>8.1f}{change}")
        return "\n".join(lines)


def border_frame(ab: np.ndarray, *, border: int = 8) -> BorderFrame:
    """Mean a and b of the four edge strips of ``ab`` and of what lies inside them.

    ``top`` is the first ``border`` rows (all columns), ``bottom`` the last ``border``
    rows, ``left`` and ``right`` the first and last ``border`` columns (all rows; the
    corners belong to two strips); ``inside`` is every pixel at least ``border`` pixels
    from every edge. 8 pixels is one cell of the encoder's 28 x 28 grid at 224 x 224.

    Args:
        ab: float ``(H, W, 2)`` in ab units, e.g. :func:`flat_input_response`'s.
        border: strip width in pixels, ``1 <= border`` and ``2 * border < min(H, W)``.

    >>> import numpy as np
    >>> ab = np.zeros((6, 6, 2)); ab[0, :, 1] = -6.0
    >>> border_frame(ab, border=1).top, border_frame(ab, border=1).inside
    ((0.0, -6.0), (0.0, 0.0))
    """
    ab = _check_ab_image(ab, "border_frame")
    height, width = ab.shape[:2]
    if isinstance(border, bool) or not isinstance(border, (int, np.integer)) or border < 1 or 2 * border >= min(height, width):
        raise ValueError(f"border_frame: expected 1 <= border < {min(height, width) / 2:g} for a {height}x{width} image, got {border!r}")

    def mean(region: np.ndarray) -> tuple[float, float]:
        a, b = region.reshape(-1, 2).astype(np.float64).mean(axis=0)
        return float(a), float(b)

    return BorderFrame(
        border=int(border),
        inside=mean(ab[border:-border, border:-border]),
        top=mean(ab[:border]),
        bottom=mean(ab[-border:]),
        left=mean(ab[:, :border]),
        right=mean(ab[:, -border:]),
    )


def draw_border_frame(ab: np.ndarray, lightness: float, *, ab_limit: float = 40.0, title: str | None = None) -> Figure:
    """The a and b a model paints on a flat picture, and b down the middle column.

    Args:
        ab: float ``(S, S, 2)`` from :func:`flat_input_response`.
        lightness: the flat input's ``L`` (for the titles).
        ab_limit: the a and b panels run from ``-ab_limit`` (black) to ``+ab_limit`` (white).
    """
    ab = _check_ab_image(ab, "draw_border_frame")
    figure, axes = plt.subplots(1, 3, figsize=(12.5, 4.3), gridspec_kw={"width_ratios": (1, 1, 1.3)}, layout="constrained")
    for axis, channel, name in ((axes[0], 0, "a"), (axes[1], 1, "b")):
        shown = axis.imshow(ab[..., channel], cmap="gray", vmin=-ab_limit, vmax=ab_limit)
        axis.set_title(f"predicted {name} for a flat L = {lightness:g}", fontsize=10)
        axis.set_xticks([])
        axis.set_yticks([])
    figure.colorbar(shown, ax=axes[:2], orientation="horizontal", fraction=0.05, pad=0.04,
                    label=f"ab units (-{ab_limit:g} black, 0 mid gray, +{ab_limit:g} white)")
    middle = ab.shape[1] // 2
    rows = np.arange(ab.shape[0])
    axes[2].plot(rows, ab[:, middle, 1], color="#2e86c1", lw=1.4, label=f"b, column {middle}")
    axes[2].plot(rows, ab[:, middle, 0], color="#c0392b", lw=1.4, label=f"a, column {middle}")
    for edge in range(0, ab.shape[0] + 1, 8):
        axes[2].axvline(edge, color="#dddddd", lw=0.6, zorder=0)
    axes[2].set_xlim(0, ab.shape[0] - 1)
    axes[2].set_xlabel("row (top = 0); thin lines every 8 px")
    axes[2].set_ylabel("ab units")
    axes[2].legend(frameon=False, fontsize=9)
    axes[2].spines[["top", "right"]].set_visible(False)
    axes[2].set_title("down the middle column", fontsize=10)
    figure.suptitle(title or f"A flat gray input (L = {lightness:g}) gets colour, and a frame at its edges", fontsize=11)
    return figure


def checkerboard_example(side: int = 4, *, kernel_size: int = 3) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Double a flat grid of ones two ways, every weight equal: the checkerboard of ``nn.ConvTranspose2d``.

    1. ``nn.ConvTranspose2d(1, 1, kernel_size, stride=2)`` (a "deconvolution") with every
       weight ``4 / kernel_size**2`` (so the total weight per input is 4, one per output
       pixel), padded to give exactly ``2 * side``. Each output pixel sums the kernels
       that overlap it: with ``kernel_size=3`` one or two per direction, so the inside
       alternates 4/9, 8/9 and 16/9 in a checkerboard. With ``kernel_size=4`` (a
       multiple of the stride) every inside pixel gets two per direction: flat 1.
    2. ``nn.Upsample(scale_factor=2)`` (nearest) then ``nn.Conv2d(1, 1, 3, padding=1)``
       with every weight 1/9, the paper's decoder step: the inside is flat 1.

    Both are lower along the edges: the zero padding counts as input.

    Args:
        side: the input is ``side`` x ``side`` ones (>= 2).
        kernel_size: the transposed convolution's kernel (2..8); the
            up-sample-and-convolve path always uses 3 x 3.

    Returns:
        ``(grid (side, side), transposed (2 side, 2 side), upsample_conv (2 side, 2 side))``,
        float32 numpy arrays.

    >>> _, transposed, upsampled = checkerboard_example(side=2)
    >>> (transposed * 9 / 4).round(3).tolist()[1]
    [2.0, 4.0, 2.0, 2.0]
    >>> (upsampled * 9).round(3).tolist()[1]
    [6.0, 9.0, 9.0, 6.0]
    """
    if isinstance(side, bool) or not isinstance(side, (int, np.integer)) or side < 2:
        raise ValueError(f"checkerboard_example: expected an integer side >= 2, got {side!r}")
    if isinstance(kernel_size, bool) or not isinstance(kernel_size, (int, np.integer)) or not 2 <= kernel_size <= 8:
        raise ValueError(f"checkerboard_example: expected an integer kernel_size in 2..8, got {kernel_size!r}")
    padding = (kernel_size - 1) // 2
    transposed_conv = nn.ConvTranspose2d(1, 1, kernel_size, stride=2, padding=padding,
                                         output_padding=2 - kernel_size + 2 * padding, bias=False)
    upsample_conv = nn.Sequential(nn.Upsample(scale_factor=2), nn.Conv2d(1, 1, 3, padding=1, bias=False))
    with torch.no_grad():
        transposed_conv.weight.fill_(4.0 / kernel_size**2)
        upsample_conv[1].weight.fill_(1.0 / 9.0)
        grid = torch.ones(1, 1, int(side), int(side))
        transposed = transposed_conv(grid)[0, 0]
        upsampled = upsample_conv(grid)[0, 0]
    return grid[0, 0].numpy(), transposed.numpy(), upsampled.numpy()


def draw_checkerboard(grid: np.ndarray, transposed: np.ndarray, upsampled: np.ndarray, *, kernel_size: int = 3) -> Figure:
    """Draw :func:`checkerboard_example`: the input and both doublings, each value printed in its cell.

    The cells are shaded by value on one scale (white 0, dark 2), so the transposed
    convolution's checkerboard shows at a glance.
    """
    color_map = plt.get_cmap("Blues")

    def colors(values: np.ndarray) -> list[list[tuple]]:
        return [[color_map(min(float(v), 2.0) / 2.0 * 0.8) for v in row] for row in values]

    panels = (
        (grid, "input: ones"),
        (transposed, f"ConvTranspose2d({kernel_size}x{kernel_size}, stride 2)"),
        (upsampled, "Upsample(x2) + Conv2d(3x3)"),
    )
    gap = 1.2
    total = sum(values.shape[1] for values, _ in panels) + gap * (len(panels) - 1)
    height = max(values.shape[0] for values, _ in panels)
    figure, axis = plt.subplots(figsize=(0.62 * total + 0.4, 0.62 * height + 1.2))
    left = 0.0
    for values, label in panels:
        top = (height - values.shape[0]) / 2
        _draw_grid(axis, torch.from_numpy(np.round(values, 2)), left, top, colors(values), cell=1.0)
        axis.text(left + values.shape[1] / 2, -0.4, label, ha="center", va="bottom", fontsize=12)
        left += values.shape[1] + gap
    for text in axis.texts:
        text.set_fontsize(9)
    axis.set_xlim(-0.2, total + 0.2)
    axis.set_ylim(height + 0.2, -1.4)
    axis.set_aspect("equal")
    axis.axis("off")
    figure.tight_layout()
    return figure


class UpsamplingComparison:
    """The released model's colours with its last up-sampling done two ways, as a widget.

    A toggle picks ``nearest`` (the paper) or ``bilinear``; a slider zooms into the
    centre of the image so that the 2x2 blocks become visible. The picture is an
    ``widgets.Image`` holding a PNG, so it changes in the kernel itself (tests set
    ``mode.value`` or ``zoom.value`` and read ``image.value``).

    Args:
        model: a :class:`ColorizationNet` (e.g. ``load_pretrained("paper")``).
        photo: a square uint8 RGB photo (S, S, 3), S divisible by 8 (see :func:`colorlib.images.square_crop`).
        display_size: side of the shown picture in pixels.
    """

    ZOOMS = (1, 2, 4, 8)

    def __init__(self, model: ColorizationNet, photo: np.ndarray, display_size: int = 336) -> None:
        side = check_square_photo(photo, "UpsamplingComparison")
        self.photo = photo
        self.half_target = predict_half_resolution(model, network_input([photo], input_size=side))
        self._colorized: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self.display_size = display_size
        self.mode = widgets.ToggleButtons(options=["nearest", "bilinear"], value="nearest", description="upsample")
        self.zoom = widgets.SelectionSlider(options=list(self.ZOOMS), value=1, description="zoom")
        self.image = widgets.Image(format="png")
        self.mode.observe(self.update, names="value")
        self.zoom.observe(self.update, names="value")
        self.widget = widgets.VBox([widgets.HBox([self.mode, self.zoom]), self.image])
        self.update()

    def view(self, mode: str, zoom: int) -> np.ndarray:
        """The colourized picture for ``mode`` and ``zoom``: uint8 (h, w, 3), the centre 1/zoom."""
        if zoom not in self.ZOOMS:
            raise ValueError(f"UpsamplingComparison.view: zoom must be one of {self.ZOOMS}, got {zoom!r}")
        rgb, _ = self.colorized(mode)
        height, width = rgb.shape[:2]
        h, w = height // zoom, width // zoom
        top, left = (height - h) // 2, (width - w) // 2
        return rgb[top : top + h, left : left + w]

    def colorized(self, mode: str) -> tuple[np.ndarray, np.ndarray]:
        """The whole photo for ``mode``: ``(rgb uint8 (S, S, 3), ab float32 (S, S, 2))``, computed once."""
        if mode not in self._colorized:
            self._colorized[mode] = colorize_from_half_resolution(self.photo, self.half_target, mode=mode)
        return self._colorized[mode]

    def update(self, change=None) -> None:
        """Redraw ``self.image`` for the toggle's and slider's current values."""
        picture = self.view(self.mode.value, self.zoom.value)
        scale = max(1, self.display_size // picture.shape[0])
        self.image.value = png_bytes(picture, scale=scale)


def draw_nearest_vs_bilinear(comparison: UpsamplingComparison, *, zoom: int = 8) -> Figure:
    """Static twin of :class:`UpsamplingComparison`: whole image and a zoomed centre, both modes.

    The third column shows the predicted ``a`` channel of the zoomed region, where the
    2x2 blocks of nearest up-sampling are plain to see.
    """
    figure, axes = plt.subplots(2, 3, figsize=(10.5, 7.2))
    for row, mode in enumerate(("nearest", "bilinear")):
        whole = comparison.view(mode, 1)
        zoomed = comparison.view(mode, zoom)
        _, ab = comparison.colorized(mode)
        h, w = zoomed.shape[:2]
        top, left = (ab.shape[0] - h) // 2, (ab.shape[1] - w) // 2
        a_crop = ab[top : top + h, left : left + w, 0]
        axes[row, 0].imshow(whole)
        axes[row, 0].add_patch(Rectangle((left - 0.5, top - 0.5), w, h, fill=False, edgecolor="white", lw=1.5))
        axes[row, 1].imshow(zoomed, interpolation="nearest")
        axes[row, 2].imshow(a_crop, cmap="gray", interpolation="nearest")
        axes[row, 0].set_title(f"{mode}: whole image", fontsize=10)
        axes[row, 1].set_title(f"{mode}: centre {h}x{w}, zoom x{zoom}", fontsize=10)
        axes[row, 2].set_title(f"{mode}: predicted a, same crop", fontsize=10)
        for axis in axes[row]:
            axis.axis("off")
    figure.suptitle("The last nn.Upsample: nearest (the paper) vs bilinear")
    figure.tight_layout()
    return figure
