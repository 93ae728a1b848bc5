"""Why MSE makes colours dull (notebook 06): a toy experiment with a closed form, and a classification remedy.

The paper's Section 6 guesses that its dull colours come from the mean squared error
loss, which "will try to average the colours". This module turns the guess into an
experiment that can fail.

**The toy world.** Every image is a gray background with one square object of
lightness ``L = 50``. In half the images the object is red, in the other half blue, of
the *same* lightness, so the network input (L only) cannot tell them apart.

**The closed form.** For one input the network must give one answer ``c``; if the true
colour is ``y_k`` with probability ``p_k``, the expected squared error is

    E(c) = sum_k p_k |c - y_k|^2,   minimised by   c* = sum_k p_k y_k   (the mean),

because ``E(c) = |c - c*|^2 + sum_k p_k |y_k - c*|^2``. For red and blue with
``p = 1/2`` that is the midpoint of the two colours in the ab plane: a muted mauve whose
chroma is about half of either colour's. Predicting red every time would look right
half of the time but *doubles* the expected error (``E(red) = 2 E(c*)``): MSE prefers
the dull answer, and so does PSNR (a squared error); AuC (a linear distance) does not.

**The experiment.** :func:`train_toy_regressor` trains a small CNN with MSE on such
images for a few seconds and records where its prediction for the object goes: to the
mean. :func:`train_toy_classifier` trains the same network to classify each pixel's
colour into ab bins (cross-entropy, like Zhang et al.'s ModelZ): it learns *both*
colours, about 50 % each, and the colour shown then depends on how the distribution is
summarised: its mean is the same dull midpoint, its mode is one vivid colour.
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure
from torch import nn
from torch.nn import functional as F

from .. import metrics
from ..bins import ANNEALED_MEAN_TEMPERATURE, annealed_mean
from ..color import lab_to_rgb
from ..evaluate import EvaluationImage, EvaluationResult
from ..metrics import chroma

__all__ = [
    "TOY_OBJECT_LIGHTNESS",
    "TOY_BACKGROUND_LIGHTNESS",
    "TOY_RED_AB",
    "TOY_BLUE_AB",
    "ToyImages",
    "make_toy_images",
    "mse_optimal_color",
    "expected_squared_error",
    "ab_bin_grid",
    "make_toy_network",
    "ToyRegressionResult",
    "closed_form_loss",
    "train_toy_regressor",
    "ToyClassificationResult",
    "train_toy_classifier",
    "summarise_distribution",
    "ab_swatch",
    "plot_toy_experiment",
    "with_object_lightness",
    "predicted_object_colors",
    "plot_dullness_on_photos",
]


#: Lightness of the toy object (both colours) and of the gray background.
TOY_OBJECT_LIGHTNESS = 50.0
TOY_BACKGROUND_LIGHTNESS = 80.0
#: The two object colours, (a, b) at L = 50: sRGB about (231, 37, 37) and (67, 114, 222).
TOY_RED_AB = (70.0, 50.0)
TOY_BLUE_AB = (20.0, -60.0)


@dataclass
class ToyImages:
    """A batch of toy images.

    Attributes:
        lightness: network input ``L / 100``, float32 ``(N, 1, H, W)``.
        ab: true colours in ab units, float32 ``(N, 2, H, W)`` (0 on the background).
        object_mask: bool ``(N, 1, H, W)``, True on the object.
        is_red: bool ``(N,)``: which colour each object has.
    """

    lightness: torch.Tensor
    ab: torch.Tensor
    object_mask: torch.Tensor
    is_red: torch.Tensor

    def rgb(self) -> np.ndarray:
        """The true colour images, float RGB ``(N, H, W, 3)`` in [0, 1]."""
        lab = torch.cat([self.lightness * 100.0, self.ab], dim=1)
        return lab_to_rgb(lab).permute(0, 2, 3, 1).numpy()


def make_toy_images(
    count: int = 32,
    *,
    size: int = 16,
    seed: int = 0,
    red_ab: tuple[float, float] = TOY_RED_AB,
    blue_ab: tuple[float, float] = TOY_BLUE_AB,
) -> ToyImages:
    """``count`` toy images of ``size`` x ``size`` (``count`` even): a square object (side
    size/4..size/2) at a random place on a gray background. The first half of the objects
    are red, the second half blue, at the same places and sizes, so exactly half of all
    object pixels are red. Deterministic for a given ``seed``."""
    if count < 2 or count % 2 or size < 8:
        raise ValueError(f"make_toy_images: expected an even count >= 2 and size >= 8, got count={count}, size={size}")
    generator = torch.Generator().manual_seed(seed)
    half = count // 2
    lightness = torch.full((count, 1, size, size), TOY_BACKGROUND_LIGHTNESS / 100.0)
    ab = torch.zeros((count, 2, size, size))
    mask = torch.zeros((count, 1, size, size), dtype=torch.bool)
    is_red = torch.arange(count) < half
    for index in range(half):
        side = int(torch.randint(size // 4, size // 2 + 1, (1,), generator=generator))
        top, left = (int(v) for v in torch.randint(0, size - side + 1, (2,), generator=generator))
        for image, color in ((index, red_ab), (index + half, blue_ab)):
            place = (image, slice(None), slice(top, top + side), slice(left, left + side))
            mask[place] = True
            lightness[place] = TOY_OBJECT_LIGHTNESS / 100.0
            ab[image, 0, top : top + side, left : left + side] = color[0]
            ab[image, 1, top : top + side, left : left + side] = color[1]
    return ToyImages(lightness, ab, mask, is_red)


def mse_optimal_color(colors: np.ndarray, probabilities: np.ndarray) -> np.ndarray:
    """The prediction with the least expected squared error: the mean ``sum_k p_k y_k``.

    Args:
        colours: ``(K, 2)`` possible true ab values.
        probabilities: ``(K,)``, non-negative, summing to 1.

    Returns:
        ``(2,)`` ab.
    """
    colors, probabilities = _check_distribution(colors, probabilities)
    return probabilities @ colors


def expected_squared_error(prediction: np.ndarray, colors: np.ndarray, probabilities: np.ndarray) -> float:
    """``sum_k p_k |prediction - y_k|^2`` in squared ab units (per pixel, summed over a and b)."""
    colors, probabilities = _check_distribution(colors, probabilities)
    prediction = np.asarray(prediction, dtype=np.float64).reshape(2)
    return float(probabilities @ ((colors - prediction) ** 2).sum(axis=1))


def _check_distribution(colors, probabilities) -> tuple[np.ndarray, np.ndarray]:
    colors = np.asarray(colors, dtype=np.float64)
    probabilities = np.asarray(probabilities, dtype=np.float64)
    if colors.ndim != 2 or colors.shape[1] != 2 or probabilities.shape != (len(colors),):
        raise ValueError(
            f"expected colours (K, 2) and probabilities (K,), got {colors.shape} and {probabilities.shape}"
        )
    if (probabilities < 0).any() or not np.isclose(probabilities.sum(), 1.0):
        raise ValueError(f"probabilities must be non-negative and sum to 1, got {probabilities}")
    return colors, probabilities


def ab_bin_grid(step: float = 10.0, *, limit: float = 110.0) -> torch.Tensor:
    """Bin centres on a square grid of ``step`` over [-limit, limit]^2: ``(K, 2)`` ab.

    529 bins for the defaults. (ModelZ keeps the 313 of its 10 x 10 bins that hold
    in-gamut colours; this plain square is enough for the toy.)"""
    values = torch.arange(-limit, limit + step / 2, step)
    a, b = torch.meshgrid(values, values, indexing="ij")
    return torch.stack([a.flatten(), b.flatten()], dim=1)


def make_toy_network(out_channels: int = 2, *, width: int = 16) -> nn.Sequential:
    """A small fully convolutional network, ``(N, 1, H, W) -> (N, out_channels, H, W)``."""
    return nn.Sequential(
        nn.Conv2d(1, width, 3, padding=1),
        nn.ReLU(),
        nn.Conv2d(width, width, 3, padding=1),
        nn.ReLU(),
        nn.Conv2d(width, out_channels, 1),
    )


@contextmanager
def _one_thread():
    """Tiny networks train several times faster on one CPU thread than on many (no
    oversubscription); restores torch's setting afterwards."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


# The regression network predicts ab / AB_SCALE so that its outputs are of order 1.
_AB_SCALE = 100.0


@dataclass
class ToyRegressionResult:
    """What :func:`train_toy_regressor` learned and how it got there.

    Attributes:
        model: the trained network (``L/100 -> ab / 100``).
        object_ab: ``(steps + 1, 2)``: the mean predicted ab on object pixels after each step.
        losses: ``(steps,)`` MSE on the ab/100 scale.
        seconds: training time.
    """

    model: nn.Module
    object_ab: np.ndarray
    losses: np.ndarray
    seconds: float

    def predict_ab(self, images: ToyImages) -> torch.Tensor:
        """Predicted ab ``(N, 2, H, W)`` in ab units."""
        with torch.no_grad():
            return self.model(images.lightness) * _AB_SCALE


def _mean_on(mask: torch.Tensor, ab: torch.Tensor) -> np.ndarray:
    weights = mask.expand_as(ab).float()
    return ((ab * weights).sum(dim=(0, 2, 3)) / weights.sum(dim=(0, 2, 3))).numpy()


def closed_form_loss(images: ToyImages) -> float:
    """The least MSE any network can reach on ``images`` (on the ab / 100 scale it trains on).

    Only the lightness is seen, so the best answer is the mean colour of the object pixels on
    the objects and 0 (gray) on the background; this returns the MSE of that answer.
    """
    mask = images.object_mask.expand_as(images.ab)
    object_mean = torch.from_numpy(_mean_on(images.object_mask, images.ab)).view(1, 2, 1, 1)
    best = torch.where(mask, object_mean, torch.zeros(()))
    return float(F.mse_loss(best / _AB_SCALE, images.ab / _AB_SCALE))


def train_toy_regressor(
    images: ToyImages | None = None, *, steps: int = 200, learning_rate: float = 0.01, seed: int = 0
) -> ToyRegressionResult:
    """Train :func:`make_toy_network` with MSE on ab (full batch, Adam); a few seconds on a CPU."""
    images = images if images is not None else make_toy_images()
    torch.manual_seed(seed)
    model = make_toy_network(2)
    optimiser = torch.optim.Adam(model.parameters(), lr=learning_rate)
    target = images.ab / _AB_SCALE
    trajectory, losses = [], []
    started = time.perf_counter()
    with _one_thread():
        for _ in range(steps):
            prediction = model(images.lightness)
            trajectory.append(_mean_on(images.object_mask, prediction.detach() * _AB_SCALE))
            loss = F.mse_loss(prediction, target)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            losses.append(loss.item())
        with torch.no_grad():
            trajectory.append(_mean_on(images.object_mask, model(images.lightness) * _AB_SCALE))
    return ToyRegressionResult(model.eval(), np.array(trajectory), np.array(losses), time.perf_counter() - started)


@dataclass
class ToyClassificationResult:
    """What :func:`train_toy_classifier` learned.

    Attributes:
        model: the trained network (``L/100 -> logits over the bins``).
        bins: ``(K, 2)`` bin centres in ab units.
        object_probabilities: ``(K,)`` the mean predicted distribution on object pixels.
        losses: ``(steps,)`` cross-entropy.
        seconds: training time.
    """

    model: nn.Module
    bins: torch.Tensor
    object_probabilities: np.ndarray
    losses: np.ndarray
    seconds: float = field(default=0.0)

    def probability_of(self, ab: tuple[float, float]) -> float:
        """The learned probability of the bin nearest to ``ab`` on object pixels."""
        distances = ((self.bins - torch.tensor(ab)) ** 2).sum(dim=1)
        return float(self.object_probabilities[int(distances.argmin())])


def train_toy_classifier(
    images: ToyImages | None = None,
    *,
    steps: int = 200,
    learning_rate: float = 0.01,
    bins: torch.Tensor | None = None,
    seed: int = 0,
) -> ToyClassificationResult:
    """Train :func:`make_toy_network` to classify every pixel's ab into the nearest of ``bins``.

    Cross-entropy over the bins (default: ``ab_bin_grid(10, 80)``, 289 bins of 10 x 10 that
    cover both toy colours), the way Zhang et al. train ModelZ (without their class
    rebalancing); a few seconds on a CPU.
    """
    images = images if images is not None else make_toy_images()
    bins = bins if bins is not None else ab_bin_grid(10.0, limit=80.0)
    torch.manual_seed(seed)
    model = make_toy_network(len(bins))
    optimiser = torch.optim.Adam(model.parameters(), lr=learning_rate)
    pixels = images.ab.permute(0, 2, 3, 1).reshape(-1, 2)
    labels = torch.cdist(pixels, bins).argmin(dim=1).reshape(images.ab.shape[0], *images.ab.shape[2:])
    losses = []
    started = time.perf_counter()
    with _one_thread():
        for _ in range(steps):
            loss = F.cross_entropy(model(images.lightness), labels)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            losses.append(loss.item())
        with torch.no_grad():
            probabilities = torch.softmax(model(images.lightness), dim=1)
    mask = images.object_mask.expand_as(probabilities[:, :1]).squeeze(1)
    object_probabilities = probabilities.permute(0, 2, 3, 1)[mask].mean(dim=0).numpy()
    return ToyClassificationResult(model.eval(), bins, object_probabilities, np.array(losses), time.perf_counter() - started)


def summarise_distribution(
    probabilities: np.ndarray, bins: torch.Tensor | np.ndarray, *, temperature: float | None = None
) -> np.ndarray:
    """One ab from a distribution over bins: the mean (``temperature=None`` or 1), the
    annealed mean (``0 < T < 1``: ``p^(1/T)`` renormalised first, as in Zhang et al.;
    :func:`colorlib.bins.annealed_mean` on ``log p``), or the mode (``T = 0``).
    ``probabilities (K,)``, ``bins (K, 2)`` -> ``(2,)`` ab, float64.

    >>> summarise_distribution(np.array([0.75, 0.25]), np.array([[40.0, 0.0], [0.0, 40.0]])).round(6).tolist()
    [30.0, 10.0]
    """
    probabilities = np.asarray(probabilities, dtype=np.float64)
    bins = np.asarray(bins, dtype=np.float64)
    if temperature is not None and temperature < 0:
        raise ValueError(f"summarise_distribution: temperature must be >= 0 or None, got {temperature}")
    if temperature == 0:
        return bins[int(np.argmax(probabilities))]
    logits = torch.from_numpy(np.log(np.clip(probabilities, 1e-300, None)))[None, :, None, None]
    ab = annealed_mean(logits, torch.from_numpy(bins), temperature=1.0 if temperature is None else temperature)
    return ab[0, :, 0, 0].numpy()


def ab_swatch(ab, *, lightness: float = TOY_OBJECT_LIGHTNESS, size: int = 8) -> np.ndarray:
    """A ``size`` x ``size`` patch of one Lab colour as float RGB (size, size, 3), for plots."""
    lab = np.empty((size, size, 3))
    lab[..., 0], lab[..., 1], lab[..., 2] = lightness, float(ab[0]), float(ab[1])
    return lab_to_rgb(lab)


def plot_toy_experiment(
    images: ToyImages, regression: ToyRegressionResult, *, classification: ToyClassificationResult | None = None
) -> Figure:
    """The figure of the toy experiment: inputs, targets, predictions, and the ab plane."""
    red_index = int(torch.nonzero(images.is_red)[0])
    blue_index = int(torch.nonzero(~images.is_red)[0])
    truth = images.rgb()
    predicted_ab = regression.predict_ab(images)
    predicted_rgb = lab_to_rgb(torch.cat([images.lightness * 100.0, predicted_ab], dim=1)).permute(0, 2, 3, 1).numpy()
    mean = mse_optimal_color(np.array([TOY_RED_AB, TOY_BLUE_AB]), np.array([0.5, 0.5]))
    learned = regression.object_ab[-1]

    panels = [
        (truth[red_index], "training image: red"),
        (truth[blue_index], "training image: blue"),
        (images.lightness[red_index, 0].numpy(), "what the network sees (L)"),
        (predicted_rgb[red_index], "MSE network's output"),
        (ab_swatch(mean), f"closed form: the mean\nchroma {np.hypot(*mean):.0f}"),
    ]
    if classification is not None:
        mode = summarise_distribution(classification.object_probabilities, classification.bins, temperature=0)
        panels.append((ab_swatch(mode), f"classifier's mode\nchroma {np.hypot(*mode):.0f}"))
    figure = plt.figure(figsize=(2.3 * len(panels), 6.6))
    grid = figure.add_gridspec(2, len(panels), height_ratios=[1, 1.35])
    for column, (image, title) in enumerate(panels):
        axis = figure.add_subplot(grid[0, column])
        axis.imshow(image, cmap="gray", vmin=0, vmax=1)
        axis.set_title(title, fontsize=9)
        axis.axis("off")

    half = len(panels) // 2
    plane = figure.add_subplot(grid[1, :half])
    plane.axhline(0, color="0.8", lw=0.8)
    plane.axvline(0, color="0.8", lw=0.8)
    plane.plot(*regression.object_ab.T, "-", color="0.4", lw=1, label="MSE network during training")
    plane.scatter(*TOY_RED_AB, s=160, color=ab_swatch(TOY_RED_AB)[0, 0], edgecolor="k", label="red objects", zorder=3)
    plane.scatter(*TOY_BLUE_AB, s=160, color=ab_swatch(TOY_BLUE_AB)[0, 0], edgecolor="k", label="blue objects", zorder=3)
    plane.scatter(*mean, s=160, marker="s", color=ab_swatch(mean)[0, 0], edgecolor="k", label="closed-form mean", zorder=3)
    plane.scatter(*learned, s=60, marker="x", color="k", label="MSE network, end", zorder=4)
    plane.set_xlabel("a")
    plane.set_ylabel("b")
    plane.set_aspect("equal")
    plane.set_xlim(-20, 100)
    plane.set_ylim(-80, 70)
    plane.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0)
    plane.set_title("prediction for the object in the ab plane", fontsize=9)

    bars = figure.add_subplot(grid[1, half:])
    names = ["red", "blue", "mean\n(closed form)", "MSE\nnetwork"]
    values = [np.hypot(*TOY_RED_AB), np.hypot(*TOY_BLUE_AB), np.hypot(*mean), float(chroma(learned[None, None])[0, 0])]
    colors = [ab_swatch(c)[0, 0] for c in (TOY_RED_AB, TOY_BLUE_AB, mean, learned)]
    if classification is not None:
        summaries = {
            "classifier\nmean": None,
            f"classifier\nT = {ANNEALED_MEAN_TEMPERATURE}": ANNEALED_MEAN_TEMPERATURE,
            "classifier\nmode": 0.0,
        }
        for name, temperature in summaries.items():
            ab = summarise_distribution(classification.object_probabilities, classification.bins, temperature=temperature)
            names.append(name)
            values.append(float(np.hypot(*ab)))
            colors.append(ab_swatch(ab)[0, 0])
    bars.bar(names, values, color=colors, edgecolor="k")
    bars.set_ylabel("chroma C*ab")
    bars.set_title("how colourful is the object?", fontsize=9)
    bars.tick_params(axis="x", labelsize=8)
    figure.tight_layout()
    return figure


# --------------------------------------------------------------------------------------
# Lesson 06: a toy world where L does tell, and the dullness on photos.
# --------------------------------------------------------------------------------------


def with_object_lightness(images: ToyImages, red_lightness: float, blue_lightness: float) -> ToyImages:
    """The same toy images, with the red objects at ``red_lightness`` and the blue ones at
    ``blue_lightness`` (L, 0..100): when the two differ the input tells red from blue.

    Same places, sizes and colours as ``images``; the background keeps its lightness.

    Raises:
        ValueError: a lightness outside 0..100.
    """
    for name, value in (("red_lightness", red_lightness), ("blue_lightness", blue_lightness)):
        if not 0.0 <= value <= 100.0:
            raise ValueError(f"with_object_lightness: {name} must be an L in 0..100, got {value}")
    object_lightness = torch.where(images.is_red, red_lightness / 100.0, blue_lightness / 100.0).view(-1, 1, 1, 1)
    lightness = torch.where(images.object_mask, object_lightness, images.lightness)
    return ToyImages(lightness, images.ab.clone(), images.object_mask.clone(), images.is_red.clone())


def predicted_object_colors(result: ToyRegressionResult, images: ToyImages) -> dict[str, np.ndarray]:
    """The trained network's mean predicted ab on the red objects and on the blue ones.

    Returns:
        ``{"red": (2,) ab, "blue": (2,) ab}`` in ab units: both near the dull mean when the
        input cannot tell the colours apart, each near its own colour when it can.
    """
    predicted = result.predict_ab(images)
    red = images.is_red.view(-1, 1, 1, 1) & images.object_mask
    blue = ~images.is_red.view(-1, 1, 1, 1) & images.object_mask
    return {"red": _mean_on(red, predicted), "blue": _mean_on(blue, predicted)}


def plot_dullness_on_photos(images: Sequence[EvaluationImage], results: Sequence[EvaluationResult]) -> Figure:
    """Predicted against true colourfulness and chroma (one point per photo), and the a and
    b histograms of all predicted pixels against the ground truth's."""
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, 4, figsize=(17, 4.2))
    markers = "osD^v<>"
    for axis, key, label in ((axes[0], "colorfulness", "colourfulness"), (axes[1], "chroma", "mean chroma C*ab")):
        top = 0.0
        for marker, result in zip(markers, results):
            truth, predicted = result.per_image[f"true_{key}"], result.per_image[key]
            axis.scatter(truth, predicted, marker=marker, label=result.name, alpha=0.8)
            top = max(top, truth.max(), predicted.max())
        axis.plot([0, top * 1.05], [0, top * 1.05], "k--", lw=0.8, label="as colourful as the truth")
        axis.set_xlabel(f"true {label}")
        axis.set_ylabel(f"predicted {label}")
        axis.set_title(f"{label}: each point one photo", fontsize=10)
    axes[0].legend(fontsize=7)
    true_ab = [metrics.ab_of(image.rgb) for image in images]
    for axis, channel, name in ((axes[2], 0, "a (green - / red +)"), (axes[3], 1, "b (blue - / yellow +)")):
        density_true = metrics.ab_histograms(true_ab)
        centres = 0.5 * (density_true[2][1:] + density_true[2][:-1])
        axis.plot(centres, density_true[channel], "k-", lw=2, label="ground truth")
        for result in results:
            density = metrics.ab_histograms([metrics.ab_of(p) for p in result.predictions])
            axis.plot(centres, density[channel], lw=1.2, label=result.name)
        axis.set_yscale("log")
        axis.set_ylim(1e-5, 1)
        axis.set_xlim(-80, 80)
        axis.set_xlabel(name)
        axis.set_ylabel("density of pixels (log)")
        axis.set_title(f"histogram of {name.split()[0]}", fontsize=10)
    axes[3].legend(fontsize=7)
    figure.tight_layout()
    return figure
