"""Beyond MSE (notebook 07): the ab bins drawn on the ab plane, class rebalancing, the
modes of a predicted distribution, the temperature and pixel-distribution widgets with
their static twins, and the table of losses over seeds.
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Sequence

import ipywidgets as widgets
import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure

from .. import metrics
from ..bins import (
    AB_BIN_STEP,
    ANNEALED_MEAN_TEMPERATURE,
    REBALANCING_LAMBDA,
    _check_bins,
    _check_distribution,
    _check_step,
    _positive_number,
    _shape_of,
    ab_bins,
    annealed_mean,
    displayable_bins_at,
    rebalancing_weights,
    smooth_prior,
)
from ..color import (
    lab_to_rgb,
    rgb_to_lab,
)
from ..evaluate import Colorizer, EvaluationImage
from ..images import (
    load_image,
    resize,
)
from ..inference import colorize, network_input
from ..metrics import ab_error_auc, ab_of, colorfulness, mean_chroma
from ..model import ColorizationNet, eval_mode
from .color_space import _figure_png
from .plot import png_bytes

__all__ = [
    "TemperatureView",
    "TemperatureExplorer",
    "draw_temperatures",
    "predicted_distributions",
    "most_hesitant_photo",
    "PixelPrediction",
    "PixelDistributionExplorer",
    "draw_pixel_distributions",
    "bins_on_grid",
    "ab_plane_axes",
    "plot_ab_bins",
    "plot_rebalancing",
    "DistributionModes",
    "distribution_modes",
    "mode_masses",
    "bimodality",
    "LOSS_TABLE_COLUMNS",
    "downscaled",
    "ScoredColors",
    "score_colors",
    "score_colorizer",
    "seed_table",
]


def _classification_model(model: object, what: str) -> ColorizationNet:
    if not isinstance(model, ColorizationNet) or model.loss_name != "classification":
        kind = model.loss_name if isinstance(model, ColorizationNet) else type(model).__name__
        raise ValueError(
            f"{what}: expected a classification ColorizationNet (colorlib.load_pretrained of a run trained "
            f"with loss='classification'), got {kind}"
        )
    return model


def _shrunk(photo: np.ndarray, max_side: int) -> np.ndarray:
    """A uint8 RGB photo (any form load_image takes) shrunk (bicubic) to at most ``max_side`` on its longer side."""
    rgb = load_image(photo)
    height, width = rgb.shape[:2]
    scale = max_side / max(height, width)
    return rgb if scale >= 1 else resize(rgb, max(8, round(height * scale)), max(8, round(width * scale)))


@dataclass(frozen=True)
class TemperatureView:
    """A photo colorized by a classification model at one annealed-mean temperature.

    Attributes:
        temperature: ``T`` (1: the mean of the predicted distribution; towards 0: its mode).
        rgb: the colorized photo, uint8 ``(H, W, 3)``, its own lightness kept.
        colourfulness: Hasler and Suesstrunk's colourfulness of ``rgb`` (0 for gray).
        colorfulness_ratio: ``colorfulness`` over the photo's own.
        auc: AuC of ``rgb``'s ab against the photo's, %, 0..100.
        chroma: mean C*ab of ``rgb``.
    """

    temperature: float
    rgb: np.ndarray
    colorfulness: float
    colorfulness_ratio: float
    auc: float
    chroma: float


class TemperatureExplorer:
    """Notebook 07's temperature slider: one photo colorized at the annealed-mean temperature ``T``.

    Moving the slider recolours the photo (:func:`colorlib.colorize` with ``temperature=T``)
    and updates the line under it: colourfulness (and its ratio to the photo's own), AuC
    and mean chroma, all measured on what is shown. Static twin: :func:`draw_temperatures`.

    Args:
        model: a classification :class:`ColorizationNet`.
        photo: uint8 RGB ``(H, W, 3)`` (or a path), shrunk to ``max_side`` on its longer side.
        temperature: the slider's start (Zhang et al.: 0.38).
        max_side: the longer side of the photo as shown and measured, in pixels.

    Attributes:
        slider: ``FloatSlider`` 0.05..1; setting its ``value`` recolours at once.
        view: the :class:`TemperatureView` on display.
        photo: the (shrunk) ground truth, uint8.
        widget: the whole thing, to end a notebook cell with.

    Raises:
        ValueError: not a classification model, or a photo that cannot be read.
    """

    def __init__(self, model: ColorizationNet, photo: np.ndarray, temperature: float = ANNEALED_MEAN_TEMPERATURE,
                 max_side: int = 384) -> None:
        self.model = _classification_model(model, "TemperatureExplorer")
        self.photo = _shrunk(photo, max_side)
        self.true_ab = ab_of(self.photo)
        self.true_colorfulness = float(colorfulness(self.photo))
        self._views: dict[float, TemperatureView] = {}
        self.slider = widgets.FloatSlider(value=temperature, min=0.05, max=1.0, step=0.01, description="T",
                                          readout_format=".2f", continuous_update=False,
                                          layout=widgets.Layout(width="420px"))
        self.image = widgets.Image(format="png")
        self.summary = widgets.HTML()
        truth = widgets.VBox([widgets.HTML("<b>ground truth</b>"), widgets.Image(value=png_bytes(self.photo), format="png")])
        result = widgets.VBox([widgets.HTML("<b>annealed mean at T</b>"), self.image])
        self.widget = widgets.VBox([self.slider, widgets.HBox([truth, result]), self.summary])
        self.slider.observe(self.update, names="value")
        self.update()

    def view_at(self, temperature: float) -> TemperatureView:
        """The photo colorized at ``temperature`` (> 0) and its measures (computed once per T)."""
        key = round(float(temperature), 6)
        if key not in self._views:
            rgb = colorize(self.photo, self.model, temperature=key)
            ab = ab_of(rgb)
            shown = float(colorfulness(rgb))
            self._views[key] = TemperatureView(key, rgb, shown, shown / max(self.true_colorfulness, 1e-12),
                                               float(ab_error_auc(ab, self.true_ab)), float(mean_chroma(ab)))
        return self._views[key]

    def update(self, change: dict | None = None) -> None:
        """Recolour the photo for the slider's value and rewrite the measures."""
        self.view = view = self.view_at(self.slider.value)
        self.image.value = png_bytes(view.rgb)
        line = (f"T = {view.temperature:.2f}: colourfulness {view.colorfulness:.1f} ({view.colorfulness_ratio:.2f} "
                f"of the photo's {self.true_colorfulness:.1f}), AuC {view.auc:.1f} %, mean chroma {view.chroma:.1f}")
        self.summary.value = f'<span style="font-family:monospace">{html.escape(line)}</span>'


def draw_temperatures(
    explorer: TemperatureExplorer,
    *,
    temperatures: Sequence[float] = (1.0, ANNEALED_MEAN_TEMPERATURE, 0.1),
    curve: Sequence[float] = (0.05, 0.1, 0.2, 0.3, 0.38, 0.5, 0.7, 1.0),
    title: str = "",
) -> Figure:
    """Static twin of :class:`TemperatureExplorer`: the photo at a few temperatures, and the measures against ``T``.

    Top row: the ground truth, then the photo at each of ``temperatures`` (titles: T,
    colourfulness ratio, AuC). Bottom: colourfulness ratio (left) and AuC (right), each on
    its own axes, for every ``T`` of ``curve`` (and of ``temperatures``).

    Raises:
        ValueError: no temperature, or one <= 0.
    """
    if len(temperatures) == 0:
        raise ValueError("draw_temperatures: expected at least one temperature > 0")
    views = [explorer.view_at(temperature) for temperature in temperatures]
    columns = len(views) + 1
    height, width = explorer.photo.shape[:2]
    panel = 3.0
    figure = plt.figure(figsize=(panel * columns, panel * height / width + 3.2), layout="constrained")
    grid = figure.add_gridspec(2, columns, height_ratios=(panel * height / width, 2.6))
    pictures = [figure.add_subplot(grid[0, column]) for column in range(columns)]
    pictures[0].imshow(explorer.photo)
    pictures[0].set_title(f"ground truth\ncolourfulness {explorer.true_colorfulness:.1f}", fontsize=9)
    for axis, view in zip(pictures[1:], views):
        axis.imshow(view.rgb)
        axis.set_title(f"T = {view.temperature:g}\ncolourfulness x{view.colorfulness_ratio:.2f}, AuC {view.auc:.1f} %",
                       fontsize=9)
    for axis in pictures:
        axis.set_xticks([])
        axis.set_yticks([])
    # Two panels side by side on one T axis, each with its own scale: one axis with two
    # scales would make the curves' crossing look like it means something.
    split = columns // 2
    ratio_axis = figure.add_subplot(grid[1, :split])
    auc_axis = figure.add_subplot(grid[1, split:], sharex=ratio_axis)
    sweep = sorted(set(round(float(t), 6) for t in (*curve, *temperatures)))
    measured = [explorer.view_at(temperature) for temperature in sweep]
    ratio_axis.plot(sweep, [view.colorfulness_ratio for view in measured], "o-", color="#1f77b4")
    ratio_axis.axhline(1.0, color="#1f77b4", lw=0.6, ls=":")
    ratio_axis.set_ylabel("colourfulness / the photo's (dotted: 1)", fontsize=9)
    auc_axis.plot(sweep, [view.auc for view in measured], "s-", color="#d62728")
    auc_axis.set_ylabel("AuC % (axis does not start at 0)", fontsize=9)
    for axis in (ratio_axis, auc_axis):
        axis.set_xlabel("temperature T (1: the mean of the distribution; towards 0: its mode)", fontsize=9)
        axis.grid(alpha=0.3)
        for temperature in temperatures:
            axis.axvline(temperature, color="#999999", lw=0.6)
    figure.suptitle(title or "One photo, one classification model, several temperatures", fontsize=11)
    return figure


def predicted_distributions(model: ColorizationNet, photo: np.ndarray) -> torch.Tensor:
    """A classification model's predicted colour distribution at every pixel of its input grid.

    Args:
        model: a classification :class:`ColorizationNet` (it sees the photo at its ``input_size``).
        photo: uint8 RGB ``(H, W, 3)`` or a path.

    Returns:
        float64 ``(1, Q, s, s)``: ``softmax`` of the logits, summing to 1 over the bins.

    Raises:
        ValueError: not a classification model.
    """
    model = _classification_model(model, "predicted_distributions")
    lightness = network_input([load_image(photo)], model.input_size)
    with eval_mode(model), torch.inference_mode():
        return torch.softmax(model(lightness).double(), dim=1)


@dataclass(frozen=True)
class PixelPrediction:
    """What a classification model predicts at one pixel of its input grid.

    Attributes:
        row, column: the pixel on the network's ``s`` x ``s`` grid (0-based).
        lightness: its ``L`` (0..100), all the network was given there.
        probabilities: ``(Q,)`` the predicted distribution over the ab bins.
        modes: its two main colours and its mean (:func:`colorlib.lessons.beyond_mse.distribution_modes`).
        annealed: ``(a, b)``, the annealed mean at the explorer's temperature: the colour shown.
        mse: ``(a, b)`` the MSE model's prediction at the same pixel, or ``None``.
        truth: ``(a, b)`` of the photo at that pixel (the photo resized to ``s`` x ``s``).
    """

    row: int
    column: int
    lightness: float
    probabilities: np.ndarray = field(repr=False)
    modes: DistributionModes
    annealed: tuple[float, float]
    mse: tuple[float, float] | None
    truth: tuple[float, float]


class PixelDistributionExplorer:
    """Notebook 07's pixel picker: a classification model's colour distribution at one pixel.

    Two sliders pick a pixel of the network's ``s`` x ``s`` input grid (``s`` the model's
    ``input_size``). The picture shows the photo with the pixel marked, and the ab plane
    with the predicted probability of every bin (a disc per bin, its area the
    probability, drawn over the bins' colours at the pixel's ``L``), the two modes, the
    distribution's mean (what MSE would answer for this belief), the annealed mean, the
    MSE model's actual prediction there and the true colour. It starts at the pixel
    whose distribution hesitates most between two colours (:func:`colorlib.lessons.beyond_mse.bimodality`).
    Static twin: :func:`draw_pixel_distributions`.

    Args:
        classifier: a classification :class:`ColorizationNet`.
        photo: uint8 RGB ``(H, W, 3)`` or a path.
        mse_model: a regression :class:`ColorizationNet` run at the same ``s`` (or ``None``).
        temperature: of the annealed mean.
        pixel: ``(row, column)`` to start at (default: the most bimodal pixel).
        display_side: the longer side of the photo as drawn.

    Attributes:
        row, column: the ``IntSlider`` s; setting a ``value`` redraws at once.
        prediction: the :class:`PixelPrediction` on display.
        probabilities: ``(Q, s, s)`` float64, the distributions of every pixel.
        bimodality: ``(s, s)``, the second mode's mass at every pixel
            (:func:`colorlib.lessons.beyond_mse.mode_masses`); ``first_mode_mass`` the first's.
        widget: the whole thing, to end a notebook cell with.

    Raises:
        ValueError: not a classification model, an MSE model that is not a regression
            :class:`ColorizationNet`, a pixel outside the grid.
    """

    def __init__(self, classifier: ColorizationNet, photo: np.ndarray, mse_model: ColorizationNet | None = None,
                 temperature: float = ANNEALED_MEAN_TEMPERATURE, pixel: tuple[int, int] | None = None,
                 display_side: int = 256) -> None:
        self.model = _classification_model(classifier, "PixelDistributionExplorer")
        if mse_model is not None and (not isinstance(mse_model, ColorizationNet) or mse_model.loss_name == "classification"):
            raise ValueError("PixelDistributionExplorer: expected mse_model to be a regression ColorizationNet or None")
        self.bins = self.model.output_decoder.bins.detach().cpu()
        self.temperature = float(temperature)
        self.photo = load_image(photo)
        self.shown_photo = _shrunk(self.photo, display_side)
        size = self.size = self.model.input_size
        lightness = network_input([self.photo], size)
        self.model.eval()
        with torch.inference_mode():
            self.logits = self.model(lightness).double()
            self.mse_ab = None if mse_model is None else mse_model.eval().predict_ab(lightness)[0].double().numpy()
        self.probabilities = torch.softmax(self.logits, dim=1)[0].numpy()
        self.lightness = lightness[0, 0].double().numpy() * 100.0
        self.true_ab = rgb_to_lab(resize(self.photo, size, size) / 255.0)[..., 1:]
        first, second = mode_masses(torch.from_numpy(self.probabilities)[None], self.bins)
        self.first_mode_mass, self.bimodality = first[0].numpy(), second[0].numpy()
        start = self.most_bimodal_pixel() if pixel is None else self._check_pixel(pixel)
        self.row = widgets.IntSlider(value=start[0], min=0, max=size - 1, description="row", continuous_update=False)
        self.column = widgets.IntSlider(value=start[1], min=0, max=size - 1, description="column",
                                        continuous_update=False)
        self.image = widgets.Image(format="png")
        self.summary = widgets.HTML()
        self.widget = widgets.VBox([widgets.HBox([self.row, self.column]), self.image, self.summary])
        for slider in (self.row, self.column):
            slider.observe(self.update, names="value")
        self.update()

    def _check_pixel(self, pixel: tuple[int, int]) -> tuple[int, int]:
        if (not isinstance(pixel, (tuple, list)) or len(pixel) != 2
                or not all(isinstance(v, (int, np.integer)) and 0 <= v < self.size for v in pixel)):
            raise ValueError(f"PixelDistributionExplorer: expected a pixel (row, column) in 0..{self.size - 1}, got {pixel!r}")
        return int(pixel[0]), int(pixel[1])

    def most_bimodal_pixel(self) -> tuple[int, int]:
        """``(row, column)`` where the second colour gets the most probability."""
        row, column = np.unravel_index(int(np.argmax(self.bimodality)), self.bimodality.shape)
        return int(row), int(column)

    def most_confident_pixel(self) -> tuple[int, int]:
        """``(row, column)`` where the most likely colour (with its neighbours) gets the most probability."""
        row, column = np.unravel_index(int(np.argmax(self.first_mode_mass)), self.first_mode_mass.shape)
        return int(row), int(column)

    def at(self, row: int, column: int) -> PixelPrediction:
        """The prediction at one pixel of the grid."""
        row, column = self._check_pixel((row, column))
        probabilities = self.probabilities[:, row, column]
        logits = self.logits[:, :, row : row + 1, column : column + 1]
        annealed = annealed_mean(logits, self.bins, temperature=self.temperature)[0, :, 0, 0].tolist()
        return PixelPrediction(
            row=row,
            column=column,
            lightness=float(self.lightness[row, column]),
            probabilities=probabilities,
            modes=distribution_modes(torch.from_numpy(probabilities), self.bins),
            annealed=(float(annealed[0]), float(annealed[1])),
            mse=None if self.mse_ab is None else (float(self.mse_ab[0, row, column]), float(self.mse_ab[1, row, column])),
            truth=(float(self.true_ab[row, column, 0]), float(self.true_ab[row, column, 1])),
        )

    def update(self, change: dict | None = None) -> None:
        """Redraw for the sliders' pixel."""
        self.prediction = prediction = self.at(self.row.value, self.column.value)
        figure = Figure(figsize=(10.5, 3.9), layout="constrained")
        photo_axis, plane_axis = figure.subplots(1, 2, width_ratios=(1.0, 1.0))
        _draw_pixel_prediction(photo_axis, plane_axis, self, prediction)
        self.image.value = _figure_png(figure)
        modes = prediction.modes
        line = (f"pixel ({prediction.row}, {prediction.column}), L = {prediction.lightness:.0f}: modes "
                f"({modes.first[0]:g}, {modes.first[1]:g}) {modes.first_mass:.0%} and ({modes.second[0]:g}, "
                f"{modes.second[1]:g}) {modes.second_mass:.0%}; mean ({modes.mean[0]:.0f}, {modes.mean[1]:.0f}); "
                f"annealed mean at T = {self.temperature:g} ({prediction.annealed[0]:.0f}, {prediction.annealed[1]:.0f})")
        if prediction.mse is not None:
            line += f"; MSE model ({prediction.mse[0]:.0f}, {prediction.mse[1]:.0f})"
        line += f"; truth ({prediction.truth[0]:.0f}, {prediction.truth[1]:.0f})"
        self.summary.value = f'<span style="font-family:monospace">{html.escape(line)}</span>'


def _draw_pixel_prediction(photo_axis, plane_axis, explorer: PixelDistributionExplorer, prediction: PixelPrediction) -> None:
    """The photo with the pixel marked, and the pixel's distribution on the ab plane."""
    height, width = explorer.shown_photo.shape[:2]
    photo_axis.imshow(explorer.shown_photo)
    x, y = (prediction.column + 0.5) / explorer.size * width, (prediction.row + 0.5) / explorer.size * height
    photo_axis.plot(x, y, marker="+", markersize=16, mew=2.2, color="white")
    photo_axis.plot(x, y, marker="+", markersize=11, mew=1.0, color="black")
    photo_axis.set_xticks([])
    photo_axis.set_yticks([])
    photo_axis.set_title(f"pixel ({prediction.row}, {prediction.column}) of the {explorer.size} x {explorer.size} "
                         f"input, L = {prediction.lightness:.0f}", fontsize=9)
    bins = explorer.bins.double().numpy()
    lab = np.concatenate([np.full((len(bins), 1), prediction.lightness), bins], axis=1)
    background, extent = bins_on_grid(lab_to_rgb(lab[None])[0], explorer.bins, fill=1.0)
    plane_axis.imshow(background, extent=extent, interpolation="nearest", alpha=0.45)
    largest = max(float(prediction.probabilities.max()), 1e-12)
    plane_axis.scatter(bins[:, 0], bins[:, 1], s=260.0 * prediction.probabilities / largest, facecolors="none",
                       edgecolors="black", linewidths=0.7)
    modes = prediction.modes
    plane_axis.plot(*zip(modes.first, modes.second), color="#444444", lw=0.8, ls="--")
    # Numbered by mass: mode 1 holds the larger share (the most likely bin need not, once its
    # neighbours are counted); equal shares at whole percents get one decimal.
    ranked = sorted(((modes.first, modes.first_mass), (modes.second, modes.second_mass)), key=lambda mode: -mode[1])
    digits = 1 if round(100 * ranked[0][1]) == round(100 * ranked[1][1]) else 0
    for number, (ab, mass) in enumerate(ranked, start=1):
        plane_axis.annotate(f"mode {number}: {100 * mass:.{digits}f}%", ab, xytext=(7, 5), textcoords="offset points",
                            fontsize=8, bbox={"boxstyle": "round,pad=0.15", "facecolor": "white", "alpha": 0.8, "lw": 0})
    marks = [(modes.mean, "s", "#1f77b4", "mean (T = 1): what MSE would answer"),
             (prediction.annealed, "^", "#ff7f0e", f"annealed mean, T = {explorer.temperature:g}")]
    if prediction.mse is not None:
        marks.append((prediction.mse, "X", "#d62728", "the MSE model's prediction"))
    marks.append((prediction.truth, "*", "#2ca02c", "true colour"))
    for ab, marker, colour, label in marks:
        plane_axis.plot(*ab, marker=marker, markersize=8, markerfacecolor=colour, markeredgecolor="black",
                        markeredgewidth=0.6, linestyle="none", label=label)
    plane_axis.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0)
    # The answers often lie within a few ab units of each other: a zoom on them, in the empty
    # lower-left corner of the plane (no sRGB colour is both that green and that blue).
    answers = np.array([ab for ab, *_ in marks])
    centre = answers.mean(axis=0)
    half = max(8.0, float(np.abs(answers - centre).max()) + 4.0)
    zoom = plane_axis.inset_axes((0.11, 0.05, 0.3, 0.3))
    zoom.scatter(bins[:, 0], bins[:, 1], s=260.0 * prediction.probabilities / largest, facecolors="none",
                 edgecolors="#888888", linewidths=0.5)
    for ab, marker, colour, _ in marks:
        zoom.plot(*ab, marker=marker, markersize=7, markerfacecolor=colour, markeredgecolor="black",
                  markeredgewidth=0.6, linestyle="none")
    zoom.set_xlim(centre[0] - half, centre[0] + half)
    zoom.set_ylim(centre[1] - half, centre[1] + half)
    zoom.set_aspect("equal")
    zoom.tick_params(labelsize=6, length=2, pad=1)
    zoom.set_title(f"zoom: {2 * half:.0f} x {2 * half:.0f} ab", fontsize=7, pad=2)
    zoom.set_facecolor("white")
    ab_plane_axes(plane_axis, title="predicted distribution (disc area: probability)")


def draw_pixel_distributions(explorer: PixelDistributionExplorer, *, pixels: Sequence[tuple[int, int]] | None = None) -> Figure:
    """Static twin of :class:`PixelDistributionExplorer`: one row per pixel.

    Args:
        explorer: the explorer (its photo, models and temperature).
        pixels: ``(row, column)`` pairs; default the most bimodal pixel and the most
            confident one.
    """
    pixels = [explorer.most_bimodal_pixel(), explorer.most_confident_pixel()] if pixels is None else list(pixels)
    if not pixels:
        raise ValueError("draw_pixel_distributions: expected at least one pixel (row, column)")
    predictions = [explorer.at(*pixel) for pixel in pixels]
    figure = plt.figure(figsize=(10.5, 3.9 * len(predictions)), layout="constrained")
    axes = figure.subplots(len(predictions), 2, squeeze=False, width_ratios=(1.0, 1.0))
    for (photo_axis, plane_axis), prediction in zip(axes, predictions):
        _draw_pixel_prediction(photo_axis, plane_axis, explorer, prediction)
    return figure


def bins_on_grid(values: np.ndarray, bins: torch.Tensor, *, fill: float = np.nan,
                 step: float = AB_BIN_STEP) -> tuple[np.ndarray, tuple[float, float, float, float]]:
    """One value per bin painted on the square grid of bin cells, to draw with ``imshow``.

    Args:
        values: ``(Q,)`` or ``(Q, C)`` (e.g. an RGB colour per bin).
        bins: ``(Q, 2)`` centres on multiples of ``step`` (:func:`ab_bins`).
        fill: the value of the cells that are no bin.
        step: the grid step in ab units.

    Returns:
        ``(image, extent)``: float64 ``(n, n)`` or ``(n, n, C)``, rows running down the b
        axis (top: b > 0) and columns along a; ``extent`` for
        ``imshow(image, extent=extent)``, so that the axes read in ab units.

    >>> image, extent = bins_on_grid(np.array([1.0, 2.0]), torch.tensor([[0.0, 0.0], [10.0, -10.0]]))
    >>> image.tolist(), extent
    ([[nan, nan, nan], [nan, 1.0, nan], [nan, nan, 2.0]], (-15.0, 15.0, -15.0, 15.0))
    """
    bins = _check_bins(bins, "bins_on_grid")
    values = np.asarray(values, dtype=np.float64)
    if values.ndim not in (1, 2) or values.shape[0] != len(bins):
        raise ValueError(f"bins_on_grid: expected values ({len(bins)},) or ({len(bins)}, C), one per bin, got {values.shape}")
    step = _check_step(step)
    centres = bins.detach().double().cpu().numpy()
    steps_from_zero = np.round(centres / step).astype(int)
    count = int(np.abs(steps_from_zero).max())
    size = 2 * count + 1
    image = np.full((size, size) + values.shape[1:], fill, dtype=np.float64)
    image[count - steps_from_zero[:, 1], steps_from_zero[:, 0] + count] = values
    half = (count + 0.5) * step
    return image, (-half, half, -half, half)


def ab_plane_axes(axis: "matplotlib.axes.Axes", *, title: str = "") -> None:
    """Label a matplotlib axis as the ab plane (-135..135 both ways, a rightwards, b upwards)."""
    axis.axhline(0.0, color="#888888", lw=0.5)
    axis.axvline(0.0, color="#888888", lw=0.5)
    axis.set_xlim(-135, 135)
    axis.set_ylim(-135, 135)
    axis.set_xlabel("a   (green -  /  + red)", fontsize=8)
    axis.set_ylabel("b   (blue -  /  + yellow)", fontsize=8)
    axis.tick_params(labelsize=7)
    axis.set_title(title, fontsize=9)


def plot_ab_bins(lightnesses: Iterable[float] = (30.0, 50.0, 80.0), *, step: float = AB_BIN_STEP) -> Figure:
    """The classification loss's ab bins (:func:`ab_bins`) on the ab plane, at a few lightnesses.

    Each bin is a square of side ``step``. Where some colour of the square is displayable
    at that ``L`` (:func:`displayable_bins_at`) it is filled with the colour of its centre
    at that ``L`` (clipped to sRGB when the centre itself is not displayable); bins kept
    for other lightnesses only are light gray; white is outside every bin. Every panel
    has the same Q bins: the network predicts one distribution over all of them whatever
    the pixel's ``L``.

    Args:
        lightnesses: ``L`` values in 0..100, one panel each.
        step: the grid step in ab units (Zhang et al.: 10).

    Returns:
        A matplotlib figure, one panel per lightness.

    Raises:
        ValueError: no lightness, or one outside 0..100.
    """
    import matplotlib.pyplot as plt  # only for drawing: the losses themselves do not need matplotlib

    levels = [float(level) for level in lightnesses]
    if not levels:
        raise ValueError("plot_ab_bins: expected at least one lightness L in 0..100")
    bins = ab_bins(step)
    figure = plt.figure(figsize=(3.4 * len(levels), 3.6), layout="constrained")
    axes = figure.subplots(1, len(levels), squeeze=False)[0]
    for axis, level in zip(axes, levels):
        shown = displayable_bins_at(level, step=step).numpy()
        lab = np.concatenate([np.full((len(bins), 1), level), bins.double().numpy()], axis=1)
        colors = lab_to_rgb(lab[None])[0]
        colors[~shown] = 0.85
        image, extent = bins_on_grid(colors, bins, fill=1.0, step=step)
        axis.imshow(image, extent=extent, interpolation="nearest")
        ab_plane_axes(axis, title=f"L = {level:g}: {int(shown.sum())} of {len(bins)} bins displayable")
    figure.suptitle(f"{len(bins)} ab bins of {step:g} x {step:g} (gray: displayable only at other L)", fontsize=10)
    return figure


def plot_rebalancing(prior: torch.Tensor, *, weights: torch.Tensor | None = None, bins: torch.Tensor | None = None,
                     lam: float = REBALANCING_LAMBDA) -> Figure:
    """How often each ab bin occurs in training (log scale), and the rebalancing weight it gets.

    Left: the prior ``p`` (:func:`bin_prior`) on the ab plane, ``log10``; middle: the
    weights ``w`` (:func:`rebalancing_weights`, computed from ``prior`` when not given);
    right: ``w`` against the smoothed ``p``, one point per bin, with the expected weight 1.

    Args:
        prior: ``(Q,)`` distribution over ``bins``.
        weights: ``(Q,)`` weights (default: ``rebalancing_weights(prior, lam, bins=bins)``).
        bins: ``(Q, 2)`` centres (default :func:`ab_bins`).
        lam: the mixing weight used when ``weights`` is computed here.

    Raises:
        ValueError: ``prior`` or ``weights`` that do not match ``bins``.
    """
    import matplotlib
    import matplotlib.pyplot as plt  # only for drawing: the losses themselves do not need matplotlib

    bins = ab_bins() if bins is None else _check_bins(bins, "plot_rebalancing")
    prior = _check_distribution(prior, bins, "plot_rebalancing: prior")
    weights = rebalancing_weights(prior, lam=lam, bins=bins) if weights is None else weights
    weights = _check_distribution(weights, bins, "plot_rebalancing: weights").numpy()
    probability = (prior / prior.sum()).numpy()
    # The colour bars lie under their maps (horizontal), so that no label of one panel runs
    # into the next one, and "weight w" is printed once per meaning: the middle map's bar
    # and the right panel's y axis.
    figure = plt.figure(figsize=(12.5, 4.6), layout="constrained")
    figure.get_layout_engine().set(w_pad=0.08, wspace=0.06)
    left, middle, right = figure.subplots(1, 3)
    seen = probability > 0
    lowest = math.floor(float(np.log10(probability[seen].min())))
    logged = np.where(seen, np.log10(np.where(seen, probability, 1.0)), lowest - 1.0)  # unseen: "under"
    image, extent = bins_on_grid(logged, bins)
    palette = matplotlib.colormaps["viridis"].with_extremes(bad="white", under="#d9d9d9")
    drawn = left.imshow(image, extent=extent, interpolation="nearest", cmap=palette, vmin=lowest, vmax=0)
    bar = figure.colorbar(drawn, ax=left, location="bottom", shrink=0.8, aspect=30)
    bar.set_label("log10 share of the training pixels in the bin", fontsize=8)
    bar.ax.tick_params(labelsize=7)
    ab_plane_axes(left, title=f"prior: {int(seen.sum())} of {len(bins)} bins occur (gray: never)")
    image, extent = bins_on_grid(weights, bins)
    drawn = middle.imshow(image, extent=extent, interpolation="nearest",
                          cmap=matplotlib.colormaps["magma"].with_extremes(bad="white"))
    bar = figure.colorbar(drawn, ax=middle, location="bottom", shrink=0.8, aspect=30)
    bar.set_label("rebalancing weight w of the bin", fontsize=8)
    bar.ax.tick_params(labelsize=7)
    ab_plane_axes(middle, title=f"rebalancing weights: {weights.min():.2f} to {weights.max():.2f}")
    smoothed = smooth_prior(prior, bins).numpy()
    right.semilogx(np.maximum(smoothed, 1e-9), weights, ".", color="#444444")
    right.axhline(1.0, color="#b00020", lw=0.8, label="w = 1: no rebalancing")
    right.set_xlabel("smoothed prior p of the bin (1e-9: never seen)", fontsize=8)
    right.set_ylabel("rebalancing weight w", fontsize=8)
    right.tick_params(labelsize=7, which="both")
    right.legend(fontsize=7)
    right.set_title("rare colours weigh more", fontsize=9)
    return figure


@dataclass(frozen=True)
class DistributionModes:
    """The two main colours of one predicted distribution over the ab bins.

    Attributes:
        first: ``(a, b)`` of the most likely bin.
        first_mass: the probability within ``radius`` of ``first``, 0..1.
        second: ``(a, b)`` of the most likely bin at least ``separation`` away from ``first``.
        second_mass: the probability within ``radius`` of ``second``, 0..1.
        mean: ``(a, b)``, the distribution's mean: the colour with the least expected
            squared error under it, what an MSE-trained network would answer.
    """

    first: tuple[float, float]
    first_mass: float
    second: tuple[float, float]
    second_mass: float
    mean: tuple[float, float]


def _neighbourhoods(bins: torch.Tensor, radius: float) -> torch.Tensor:
    """``(Q, Q)`` float: 1 where two bin centres are at most ``radius`` apart."""
    centres = bins.detach().double().cpu()
    return (torch.cdist(centres, centres) <= radius + 1e-9).double()


def _check_mode_options(separation: float, radius: float, what: str) -> tuple[float, float]:
    separation = _positive_number(separation, f"{what}: separation")
    radius = _positive_number(radius, f"{what}: radius", allow_zero=True)
    return separation, radius


def distribution_modes(
    probabilities: torch.Tensor, bins: torch.Tensor, *, separation: float = 40.0, radius: float = 10.0
) -> DistributionModes:
    """The two main colours of a predicted distribution, and its mean.

    ``first`` is the most likely bin; ``second`` the most likely among the bins at least
    ``separation`` ab units from it. Their masses add up the bins within ``radius`` of
    each (with the default 10: the bin and its 4 neighbours, the reach of the soft
    encoding). A distribution with one clear colour has a small ``second_mass``; one
    that hesitates between two colours has two large masses, and its mean lies between
    them, duller than either when they lie on opposite sides of gray.

    Args:
        probabilities: ``(Q,)`` non-negative, e.g. ``softmax(logits)`` at one pixel
            (normalised here).
        bins: ``(Q, 2)`` centres in ab units.
        separation: least distance between the two modes, ab units (> 0).
        radius: neighbourhood of a mode, ab units (>= 0).

    Raises:
        ValueError: shapes that do not match, negative or all-zero probabilities, bad options.

    >>> bins = torch.tensor([[60.0, 40.0], [0.0, 0.0], [20.0, -60.0]])
    >>> modes = distribution_modes(torch.tensor([0.5, 0.1, 0.4]), bins)
    >>> modes.first, modes.second, modes.mean
    ((60.0, 40.0), (20.0, -60.0), (38.0, -4.0))
    """
    bins = _check_bins(bins, "distribution_modes")
    separation, radius = _check_mode_options(separation, radius, "distribution_modes")
    values = _check_distribution(probabilities, bins, "distribution_modes: probabilities")
    values = values / values.sum()
    centres = bins.detach().double().cpu()
    masses = _neighbourhoods(bins, radius) @ values
    first = int(values.argmax())
    far = (centres - centres[first]).norm(dim=1) >= separation
    if far.any():
        second = int(torch.where(far, values, torch.full_like(values, -1.0)).argmax())
        second_ab, second_mass = tuple(float(v) for v in centres[second]), float(masses[second])
    else:  # every bin is close to the first: there is no second colour
        second_ab, second_mass = tuple(float(v) for v in centres[first]), 0.0
    mean = values @ centres
    return DistributionModes(
        first=tuple(float(v) for v in centres[first]),
        first_mass=float(masses[first]),
        second=second_ab,
        second_mass=second_mass,
        mean=(round(float(mean[0]), 6), round(float(mean[1]), 6)),
    )


def mode_masses(
    probabilities: torch.Tensor, bins: torch.Tensor, *, separation: float = 40.0, radius: float = 10.0
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per pixel, the masses of the two modes of :func:`distribution_modes`, for a whole map at once.

    Args:
        probabilities: ``(N, Q, H, W)`` (softmax of a classification network's logits).
        bins: ``(Q, 2)`` centres in ab units.
        separation, radius: as for :func:`distribution_modes`.

    Returns:
        ``(first, second)``, float64 ``(N, H, W)`` each, 0..1: the mass near the most likely
        bin, and near the most likely bin at least ``separation`` from it (0 when there is none).

    Raises:
        ValueError: shapes that do not match, bad options.
    """
    bins = _check_bins(bins, "mode_masses")
    separation, radius = _check_mode_options(separation, radius, "mode_masses")
    if not isinstance(probabilities, torch.Tensor) or probabilities.ndim != 4 or probabilities.shape[1] != len(bins):
        raise ValueError(
            f"mode_masses: expected probabilities (N, {len(bins)}, H, W), one per bin, got {_shape_of(probabilities)}"
        )
    values = probabilities.detach().double().cpu()
    values = values / values.sum(dim=1, keepdim=True).clamp_min(1e-300)
    masses = torch.einsum("pq,nqhw->nphw", _neighbourhoods(bins, radius), values)
    centres = bins.detach().double().cpu()
    near = torch.cdist(centres, centres) < separation  # (Q, Q): too close to be the second mode
    first = values.argmax(dim=1, keepdim=True)  # (N, 1, H, W)
    excluded = near[first[:, 0]].permute(0, 3, 1, 2)  # (N, Q, H, W)
    second = torch.where(excluded, torch.full_like(values, -1.0), values).argmax(dim=1, keepdim=True)
    second_mass = masses.gather(1, second)[:, 0]
    second_mass = torch.where(excluded.all(dim=1), torch.zeros_like(second_mass), second_mass)
    return masses.gather(1, first)[:, 0], second_mass


def bimodality(
    probabilities: torch.Tensor, bins: torch.Tensor, *, separation: float = 40.0, radius: float = 10.0
) -> torch.Tensor:
    """Per pixel, the mass of the second mode (:func:`mode_masses`): how strongly the
    prediction hesitates between two colours at least ``separation`` apart.

    Returns:
        float64 ``(N, H, W)``, 0..1 (0 where all the mass is near one colour).
    """
    return mode_masses(probabilities, bins, separation=separation, radius=radius)[1]


def most_hesitant_photo(model: ColorizationNet, photos: Sequence[EvaluationImage]) -> tuple[str, float]:
    """The photo holding the pixel where a classification model hesitates most between two
    colours (the largest :func:`bimodality` over its input grid), and that second colour's mass (0..1).

    Lesson 07's pixel explorer opens on it, and its solutions look at the same photo.
    """
    if not photos:
        raise ValueError("most_hesitant_photo: expected at least one photo")
    bins = _classification_model(model, "most_hesitant_photo").output_decoder.bins
    hesitation = {photo.name: float(bimodality(predicted_distributions(model, photo.rgb), bins).max()) for photo in photos}
    name = max(hesitation, key=hesitation.get)
    return name, hesitation[name]


#: The columns of :func:`seed_table`: key of :func:`score_colors` -> (heading, decimals).
LOSS_TABLE_COLUMNS: dict[str, tuple[str, int]] = {
    "auc": ("AuC %", 1),
    "rebalanced_auc": ("rebal. AuC %", 1),
    "psnr": ("PSNR dB", 2),
    "colorfulness_ratio": ("colourful. ratio", 2),
    "chroma": ("chroma", 1),
    "chroma_spread": ("chroma sd", 1),
}


def downscaled(images: Sequence[EvaluationImage], *, factor: int = 2) -> list[EvaluationImage]:
    """The same whole photos, ``factor`` times smaller on each side (bicubic, :func:`colorlib.images.resize`).

    Kodak24 at half size (384 x 256 or 256 x 384) makes every metric four times cheaper; a network
    that sees the photo at 64 x 64 or 224 x 224 predicts the same colours either way.

    Raises:
        ValueError: ``factor`` not an integer >= 1, or a photo that would vanish.
    """
    if isinstance(factor, bool) or not isinstance(factor, int) or factor < 1:
        raise ValueError(f"downscaled: expected an integer factor >= 1, got {factor!r}")
    smaller = []
    for image in images:
        height, width = image.rgb.shape[0] // factor, image.rgb.shape[1] // factor
        if min(height, width) < 8:
            raise ValueError(f"downscaled: {image.name} ({image.rgb.shape[1]}x{image.rgb.shape[0]}) is too small to shrink {factor} times")
        rgb = image.rgb if factor == 1 else resize(image.rgb, height, width)
        smaller.append(EvaluationImage(image.name, rgb, image.seen_in_training))
    return smaller


@dataclass
class ScoredColors:
    """One colorizer's outputs on a list of photos and its :func:`score_colors`."""

    name: str
    predictions: list[np.ndarray] = field(repr=False)
    scores: dict[str, float]


def score_colors(
    predictions: Sequence[np.ndarray],
    images: Sequence[EvaluationImage],
    *,
    true_ab: Sequence[np.ndarray] | None = None,
) -> dict[str, float]:
    """The numbers of notebook 07's table for one set of colorized photos.

    Args:
        predictions: uint8 RGB ``(H, W, 3)``, one per photo, shaped like it.
        images: the ground truth.
        true_ab: the photos' ab ``(H, W, 2)`` if already computed (``metrics.ab_of``).

    Returns:
        ``auc`` (%, mean over photos), ``rebalanced_auc`` (%, Zhang et al.'s class-rebalanced
        AuC over all the photos' pixels pooled: every occupied 10 x 10 ab bin of the truth
        counts the same), ``psnr`` (dB, mean), ``colorfulness`` and ``true_colorfulness``
        (means), ``colorfulness_ratio`` (their ratio), ``chroma`` and ``true_chroma``
        (mean C*ab, means over photos), ``chroma_spread`` and ``true_chroma_spread`` (the
        standard deviation of C*ab within a photo, means over photos: a vivid picture has
        a large one, a uniform tint a small one).

    Raises:
        ValueError: no photos, or lists or shapes that do not match.
    """
    if not images or len(predictions) != len(images):
        raise ValueError(f"score_colors: expected one prediction per photo (at least one), got {len(predictions)} for {len(images)}")
    true_ab = [metrics.ab_of(image.rgb) for image in images] if true_ab is None else list(true_ab)
    if len(true_ab) != len(images):
        raise ValueError(f"score_colors: expected one true ab per photo, got {len(true_ab)} for {len(images)}")
    for predicted, image in zip(predictions, images):
        if not isinstance(predicted, np.ndarray) or predicted.shape != image.rgb.shape:
            raise ValueError(
                f"score_colors: the prediction for {image.name} is {getattr(predicted, 'shape', type(predicted).__name__)}, "
                f"expected an RGB array shaped like the photo {image.rgb.shape}"
            )
    predicted_ab = [metrics.ab_of(predicted) for predicted in predictions]
    colorfulness = float(np.mean([metrics.colorfulness(predicted) for predicted in predictions]))
    true_colorfulness = float(np.mean([metrics.colorfulness(image.rgb) for image in images]))
    pooled_prediction = np.concatenate([ab.reshape(-1, 2) for ab in predicted_ab])[None]
    pooled_truth = np.concatenate([ab.reshape(-1, 2) for ab in true_ab])[None]
    return {
        "auc": float(np.mean([metrics.ab_error_auc(p, t) for p, t in zip(predicted_ab, true_ab)])),
        "rebalanced_auc": metrics.rebalanced_ab_error_auc(pooled_prediction, pooled_truth),
        "psnr": float(np.mean([metrics.psnr(p, image.rgb) for p, image in zip(predictions, images)])),
        "colorfulness": colorfulness,
        "true_colorfulness": true_colorfulness,
        "colorfulness_ratio": colorfulness / max(true_colorfulness, 1e-12),
        "chroma": float(np.mean([metrics.mean_chroma(ab) for ab in predicted_ab])),
        "true_chroma": float(np.mean([metrics.mean_chroma(ab) for ab in true_ab])),
        "chroma_spread": float(np.mean([metrics.chroma_spread(ab) for ab in predicted_ab])),
        "true_chroma_spread": float(np.mean([metrics.chroma_spread(ab) for ab in true_ab])),
    }


def score_colorizer(
    name: str,
    colorizer: Colorizer,
    images: Sequence[EvaluationImage],
    *,
    true_ab: Sequence[np.ndarray] | None = None,
) -> ScoredColors:
    """Run ``colorizer`` on every photo and :func:`score_colors` the outputs."""
    predictions = [colorizer(image.rgb) for image in images]
    return ScoredColors(name, predictions, score_colors(predictions, images, true_ab=true_ab))


def seed_table(
    rows: dict[str, Sequence[dict[str, float]]],
    *,
    columns: dict[str, tuple[str, int]] | None = None,
    ground_truth: bool = True,
) -> str:
    """A plain-text table with one row per colorizer, each the mean over its seeds and their range.

    Args:
        rows: ``{row name: [scores of seed 0, scores of seed 1, ...]}`` (dicts of
            :func:`score_colors`); a baseline without seeds has a list of one.
        columns: ``{key: (heading, decimals)}`` (default :data:`LOSS_TABLE_COLUMNS`).
        ground_truth: a first row with the photos' own colourfulness ratio (1) and chroma.

    Returns:
        The table. Each cell is ``mean (min to max)`` over the seeds, rounded alike, or
        just the value for a single run: with three seeds a range says what was seen,
        where a standard deviation would pretend to know a distribution.

    Raises:
        ValueError: no rows, a row without runs, or a missing key.
    """
    columns = LOSS_TABLE_COLUMNS if columns is None else columns
    if not rows or any(len(runs) == 0 for runs in rows.values()):
        raise ValueError("seed_table: expected at least one row, each with at least one run")
    for name, runs in rows.items():
        missing = [key for key in columns for run in runs if key not in run]
        if missing:
            raise ValueError(f"seed_table: row {name!r} lacks {sorted(set(missing))}")
    cells: dict[str, list[str]] = {}
    if ground_truth:
        first = next(iter(rows.values()))[0]
        truth = {"auc": 100.0, "rebalanced_auc": 100.0, "psnr": math.inf, "ssim": 1.0, "colorfulness_ratio": 1.0,
                 "chroma": first.get("true_chroma", math.nan),
                 "chroma_spread": first.get("true_chroma_spread", math.nan), "colorfulness": first.get("true_colorfulness", math.nan)}
        cells["ground truth"] = [f"{truth.get(key, math.nan):.{decimals}f}" for key, (_, decimals) in columns.items()]
    for name, runs in rows.items():
        row = []
        for key, (_, decimals) in columns.items():
            values = np.array([run[key] for run in runs], dtype=np.float64)
            text = f"{values.mean():.{decimals}f}"
            if len(values) > 1:
                text += f" ({values.min():.{decimals}f} to {values.max():.{decimals}f})"
            row.append(text)
        cells[name] = row
    width = max(12, *(len(name) for name in cells))
    widths = [max(len(heading), *(len(row[i]) for row in cells.values())) for i, (heading, _) in enumerate(columns.values())]
    lines = [f"{'':<{width}}" + "".join(f"  {heading:>{w}}" for (heading, _), w in zip(columns.values(), widths))]
    for name, row in cells.items():
        lines.append(f"{name:<{width}}" + "".join(f"  {cell:>{w}}" for cell, w in zip(row, widths)))
    return "\n".join(lines)
