"""Losses beyond MSE: regression (MSE, L1) and Zhang et al.'s colour classification (notebook 06).

The paper regresses ab with a mean squared error. Zhang, Isola and Efros (*Colorful
Image Colorization*, ECCV 2016) explain why that gives dull colours: a grass photo
could be green or yellow-brown, and the value that minimises the squared error is the
average of the plausible colours, a grayish one. They turn colorization into
classification instead:

1. **ab bins** (:func:`ab_bins`): the ab plane is cut into 10 x 10 squares whose
   centres are multiples of 10; only the squares that hold a displayable sRGB colour at
   some lightness are kept (Q of them).
2. **soft encoding** (:func:`soft_encode`): each true ab becomes a distribution over
   the bins: Gaussian weights (sigma 5) on its 5 nearest bin centres, summing to 1.
3. **class rebalancing** (:func:`bin_prior`, :func:`rebalancing_weights`): natural
   photos are mostly grayish, so rare, saturated colours get a larger weight in the
   loss, ``w ~ ((1 - lam) * p_smoothed + lam / Q) ** -1`` with an expected weight of 1.
4. **annealed mean** (:func:`annealed_mean`): the network predicts Q logits per pixel;
   the colour shown is the mean of the distribution sharpened by a temperature,
   ``softmax(z / T)``: T = 1 is the (dull) mean, T -> 0 the (vivid, patchy) mode, and
   Zhang et al. use T = 0.38.

The loss objects (:func:`make_loss`) share one interface, so training, colorizing and
evaluating handle every kind alike::

    loss = make_loss("classification")            # or "mse" (the paper's), "l1"
    network_output = model(l_over_100)             # (N, loss.output_channels, h, w)
    value = loss(network_output, true_ab)          # scalar; ab (N, 2, H, W) in ab units
    ab = loss.decode(network_output)               # (N, 2, h, w) in ab units
    torch.save({"loss": loss.state(), ...}, path)  # later: loss_from_state(state)

Conventions: tensors are channel-first, ``(N, C, H, W)``; ab in Lab units (about
-128..127); bins are ``(Q, 2)`` float32 tensors of ``(a, b)`` centres.
"""

from __future__ import annotations

import functools
import math
import numbers
from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from matplotlib.figure import Figure
from torch import nn

from .color import ab_to_target, lab_to_rgb, out_of_gamut, target_to_ab

__all__ = [
    "AB_BIN_STEP",
    "ANNEALED_MEAN_TEMPERATURE",
    "SOFT_ENCODING_NEIGHBOURS",
    "SOFT_ENCODING_SIGMA",
    "REBALANCING_LAMBDA",
    "LOSS_NAMES",
    "ab_bins",
    "displayable_bins_at",
    "nearest_bins",
    "soft_encode",
    "bin_prior",
    "smooth_prior",
    "rebalancing_weights",
    "annealed_mean",
    "ColorLoss",
    "RegressionLoss",
    "ClassificationLoss",
    "make_loss",
    "loss_from_state",
]

#: Zhang et al.'s grid: bin centres at multiples of 10 ab units.
AB_BIN_STEP = 10.0
#: The temperature of Zhang et al.'s annealed mean.
ANNEALED_MEAN_TEMPERATURE = 0.38
#: Soft encoding: how many nearest bins share a pixel's weight ...
SOFT_ENCODING_NEIGHBOURS = 5
#: ... and the width of the Gaussian that weights them, in ab units.
SOFT_ENCODING_SIGMA = 5.0
#: Class rebalancing: how much of the uniform distribution is mixed into the prior.
REBALANCING_LAMBDA = 0.5
#: The kinds of loss :func:`make_loss` builds.
LOSS_NAMES = ("mse", "l1", "classification")

# The sRGB gamut lies within |a|, |b| <= 128 and has chroma sqrt(a^2 + b^2) <= 134.
_AB_LIMIT = 128.0
_MAX_SRGB_CHROMA = 135.0
# Lightness levels at which a bin's square is tested for displayable colours.
_GAMUT_LIGHTNESS_LEVELS = 101
# Pixels per chunk when measuring pixel-to-bin distances (bounds the memory).
_PIXELS_PER_CHUNK = 16384


# --------------------------------------------------------------------------------------
# Checks.
# --------------------------------------------------------------------------------------


def _positive_number(value: object, what: str, allow_zero: bool = False) -> float:
    """``value`` as a finite float > 0 (or >= 0), else a ValueError naming ``what``."""
    expected = "a finite number >= 0" if allow_zero else "a finite number > 0"
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{what}: expected {expected}, got {type(value).__name__} {value!r}")
    number = float(value)
    if not math.isfinite(number) or number < 0 or (number == 0 and not allow_zero):
        raise ValueError(f"{what}: expected {expected}, got {number!r}")
    return number


def _check_temperature(temperature: object, what: str) -> float:
    """A temperature must be a finite number > 0 (T = 1 the mean, T -> 0 the mode)."""
    if (
        isinstance(temperature, bool)
        or not isinstance(temperature, numbers.Real)
        or not (math.isfinite(temperature) and temperature > 0)
    ):
        raise ValueError(
            f"{what}: expected a temperature > 0 (1 = mean, towards 0 = mode), got {temperature!r}"
        )
    return float(temperature)


def _check_step(step: object) -> float:
    number = _positive_number(step, "ab bin step")
    if not 2.0 <= number <= 64.0:
        raise ValueError(f"ab bin step: expected a grid step between 2 and 64 ab units, got {number!r}")
    return number


def _shape_of(value: object) -> object:
    return tuple(value.shape) if isinstance(value, torch.Tensor) else type(value).__name__


def _check_ab_batch(ab: object, what: str) -> torch.Tensor:
    """ab must be a float tensor (N, 2, H, W) (values are not scanned: no GPU sync)."""
    if not isinstance(ab, torch.Tensor) or ab.ndim != 4 or ab.shape[1] != 2:
        raise ValueError(f"{what}: expected ab as a tensor (N, 2, H, W) in ab units, got {_shape_of(ab)}")
    if not ab.is_floating_point():
        raise ValueError(f"{what}: expected a float tensor of ab values, got dtype {ab.dtype}")
    return ab


def _check_bins(bins: object, what: str) -> torch.Tensor:
    if not isinstance(bins, torch.Tensor) or bins.ndim != 2 or bins.shape[1] != 2 or bins.shape[0] < 1:
        raise ValueError(f"{what}: expected bin centres as a tensor (Q, 2) of (a, b), got {_shape_of(bins)}")
    if not bins.is_floating_point():
        raise ValueError(f"{what}: expected float bin centres, got dtype {bins.dtype}")
    return bins


def _check_distribution(values: object, bins: torch.Tensor, what: str) -> torch.Tensor:
    """A (Q,) tensor of non-negative finite numbers matching ``bins``."""
    if not isinstance(values, torch.Tensor) or values.ndim != 1 or values.shape[0] != bins.shape[0]:
        raise ValueError(
            f"{what}: expected a tensor ({bins.shape[0]},), one value per ab bin, got {_shape_of(values)}"
        )
    values = values.to(torch.float64)
    if not torch.isfinite(values).all() or (values < 0).any():
        raise ValueError(f"{what}: expected finite values >= 0")
    if float(values.sum()) <= 0:
        raise ValueError(f"{what}: expected a distribution with some mass, got all zeros")
    return values


# --------------------------------------------------------------------------------------
# The ab bins.
# --------------------------------------------------------------------------------------


def _candidate_centres(step: float) -> torch.Tensor:
    """Grid centres ``(k * step, m * step)`` whose cell may hold an sRGB colour: (C, 2) float64.

    Cells entirely farther than the largest sRGB chroma (134, pure blue) from gray are
    left out; the rest cover the square ``|a|, |b| <= 128`` in a-major order.
    """
    count = math.ceil(_AB_LIMIT / step)
    axis = torch.arange(-count, count + 1, dtype=torch.float64) * step
    a, b = torch.meshgrid(axis, axis, indexing="ij")  # a-major order, as Zhang et al.'s list
    centres = torch.stack((a.reshape(-1), b.reshape(-1)), dim=1)
    nearest_chroma = (centres.abs() - step / 2).clamp(min=0).norm(dim=1)
    return centres[nearest_chroma <= _MAX_SRGB_CHROMA]


def _cells_with_displayable_colour(centres: torch.Tensor, step: float, lightness: torch.Tensor) -> torch.Tensor:
    """Which square cells (side ``step`` around ``centres``) hold an sRGB colour at one of ``lightness``.

    Each cell is sampled on a grid at most 2 ab units apart, its centre and edges
    included. For steps 10 and 20 that keeps exactly the bins of a 4 times finer
    sampling (in ab and in L); for step 5 it misses 6 rim cells that hold only a sliver
    of the gamut (963 bins instead of 969).
    """
    samples_per_side = 2 * math.ceil(step / 4) + 1  # odd: the centre is a sample
    offsets = torch.linspace(-step / 2, step / 2, samples_per_side, dtype=torch.float64)
    offset_a, offset_b = torch.meshgrid(offsets, offsets, indexing="ij")
    a = centres[:, :1] + offset_a.reshape(1, -1)  # (cells, samples)
    b = centres[:, 1:] + offset_b.reshape(1, -1)
    found = torch.zeros(len(centres), dtype=torch.bool)
    for levels in lightness.split(10):
        # (levels, 3, cells, samples): one Lab "image" per lightness level.
        lab = torch.stack(torch.broadcast_tensors(levels.view(-1, 1, 1), a[None], b[None]), dim=1)
        found |= (~out_of_gamut(lab)).any(dim=2).any(dim=0)
    return found


@functools.lru_cache(maxsize=8)
def _ab_bins_float64(step: float) -> torch.Tensor:
    centres = _candidate_centres(step)
    lightness = torch.linspace(0.0, 100.0, _GAMUT_LIGHTNESS_LEVELS, dtype=torch.float64)
    return centres[_cells_with_displayable_colour(centres, step, lightness)]


def ab_bins(step: float = AB_BIN_STEP) -> torch.Tensor:
    """The quantised ab colours: centres of the grid squares that hold a displayable colour.

    The ab plane is cut into squares of side ``step`` centred on multiples of ``step``.
    A square is kept when some colour inside it (sampled at most 2 ab units apart, edges
    included) is in the sRGB gamut at some lightness ``L`` (0, 1, ..., 100), as
    :func:`colorlib.color.out_of_gamut` decides. With ``step=10`` that keeps **262**
    squares, a in -90..100 and b in -110..90. Zhang et al. keep 313: their list holds
    all 262 of these plus 51 squares on the rim that hold no sRGB colour (their exact
    rule is unpublished; their list is close to the squares whose centre lies within
    14 ab units of an sRGB colour). Every 8-bit sRGB colour's ab lies in one of the 262 squares.

    Computed once per step (about 0.2 s on one idle core) and cached; the result is a fresh copy.

    Args:
        step: grid step in ab units, 2..64 (Zhang et al.: 10).

    Returns:
        float32 ``(Q, 2)`` of ``(a, b)`` centres in ab units, ordered by a, then b.

    >>> bins = ab_bins()
    >>> bins.shape
    torch.Size([262, 2])
    >>> bins[:2].tolist()
    [[-90.0, 80.0], [-80.0, 40.0]]
    """
    return _ab_bins_float64(_check_step(step)).to(torch.float32)


def displayable_bins_at(lightness: float, step: float = AB_BIN_STEP) -> torch.Tensor:
    """Which of :func:`ab_bins` hold a displayable sRGB colour at one lightness, to draw them.

    At ``L = 50`` most bins are displayable; at the extremes only a few near gray are
    (``L = 0`` is black and ``L = 100`` white, so only the bin of ``ab = (0, 0)``). The
    union over all ``L`` is :func:`ab_bins` itself.

    Args:
        lightness: ``L`` in 0..100.
        step: grid step in ab units, as for :func:`ab_bins`.

    Returns:
        bool ``(Q,)``, aligned with ``ab_bins(step)``.
    """
    level = _positive_number(lightness, "displayable_bins_at: lightness", allow_zero=True)
    if level > 100:
        raise ValueError(f"displayable_bins_at: expected a lightness L in 0..100, got {level!r}")
    step = _check_step(step)
    centres = _ab_bins_float64(step)
    return _cells_with_displayable_colour(centres, step, torch.tensor([level], dtype=torch.float64))


# --------------------------------------------------------------------------------------
# Soft encoding.
# --------------------------------------------------------------------------------------


def nearest_bins(ab: torch.Tensor, bins: torch.Tensor, neighbours: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    """The ``neighbours`` nearest bin centres of every pixel, nearest first.

    Args:
        ab: float ``(N, 2, H, W)`` in ab units.
        bins: float ``(Q, 2)`` centres.
        neighbours: how many, 1..Q.

    Returns:
        ``(indices, squared_distances)``: int64 and float32 ``(N, neighbours, H, W)``;
        ``indices[:, 0]`` is the nearest bin.
    """
    ab = _check_ab_batch(ab, "nearest_bins")
    bins = _check_bins(bins, "nearest_bins")
    if isinstance(neighbours, bool) or not isinstance(neighbours, int) or not 1 <= neighbours <= len(bins):
        raise ValueError(f"nearest_bins: expected a number of neighbours in 1..{len(bins)}, got {neighbours!r}")
    batch, _, height, width = ab.shape
    pixels = ab.detach().float().permute(0, 2, 3, 1).reshape(-1, 2)
    centres = bins.detach().to(device=ab.device, dtype=torch.float32)
    indices, distances = [], []
    for chunk in pixels.split(_PIXELS_PER_CHUNK):
        # Exact differences (not cdist's matrix product): a pixel on a centre is at 0.
        squared = ((chunk[:, None, :] - centres[None, :, :]) ** 2).sum(dim=-1)
        values, index = torch.topk(squared, neighbours, dim=1, largest=False, sorted=True)
        indices.append(index)
        distances.append(values)
    index = torch.cat(indices).reshape(batch, height, width, neighbours).permute(0, 3, 1, 2)
    squared = torch.cat(distances).reshape(batch, height, width, neighbours).permute(0, 3, 1, 2)
    return index.contiguous(), squared.contiguous()


def _soft_weights(squared_distances: torch.Tensor, sigma: float) -> torch.Tensor:
    """Gaussian weights ``exp(-d^2 / (2 sigma^2))`` over the neighbour axis (1), normalised to sum 1."""
    # Subtracting the nearest distance changes nothing after normalising but keeps far
    # pixels (ab outside the gamut) from underflowing to 0 / 0.
    relative = squared_distances - squared_distances[:, :1]
    weights = torch.exp(-relative / (2.0 * sigma * sigma))
    return weights / weights.sum(dim=1, keepdim=True)


def _soft_encoding_sparse(
    ab: torch.Tensor, bins: torch.Tensor, neighbours: int, sigma: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(indices, weights)`` ``(N, neighbours, H, W)``: the non-zero part of :func:`soft_encode`."""
    index, squared = nearest_bins(ab, bins, neighbours)
    return index, _soft_weights(squared, sigma)


def soft_encode(
    ab: torch.Tensor,
    bins: torch.Tensor,
    neighbours: int = SOFT_ENCODING_NEIGHBOURS,
    sigma: float = SOFT_ENCODING_SIGMA,
) -> torch.Tensor:
    """Zhang et al.'s soft encoding: each pixel's ab as a distribution over the bins.

    The ``neighbours`` nearest bin centres get weights ``exp(-d^2 / (2 sigma^2))`` (``d``
    the distance from the pixel's ab to the centre), normalised to sum 1; all other
    bins get 0. A pixel exactly on a centre of the 10-grid, with sigma 5, puts
    ``1 / (1 + 4 e^-2) = 0.649`` on that bin and ``e^-2 / (1 + 4 e^-2) = 0.088`` on each
    of its 4 neighbours at distance 10.

    Memory: the result has ``N * Q * H * W`` floats (64 MB for 16 maps of 64 x 64 with
    Q = 262); distances are measured in chunks of pixels.

    Args:
        ab: float ``(N, 2, H, W)`` in ab units.
        bins: ``(Q, 2)`` centres (:func:`ab_bins`).
        neighbours: how many nearest bins share the weight (Zhang et al.: 5).
        sigma: Gaussian width in ab units (Zhang et al.: 5).

    Returns:
        float32 ``(N, Q, H, W)``, values in 0..1, summing to 1 over the bin axis.

    >>> bins = ab_bins()
    >>> target = soft_encode(torch.zeros(1, 2, 1, 1), bins)
    >>> round(float(target.max()), 3), round(float(target.sum()), 3)
    (0.649, 1.0)
    """
    sigma = _positive_number(sigma, "soft_encode: sigma")
    index, weights = _soft_encoding_sparse(ab, bins, neighbours, sigma)
    batch, _, height, width = ab.shape
    target = torch.zeros(batch, len(bins), height, width, dtype=torch.float32, device=ab.device)
    return target.scatter_(1, index, weights)


# --------------------------------------------------------------------------------------
# Class rebalancing.
# --------------------------------------------------------------------------------------


def bin_prior(ab_batches: Iterable[torch.Tensor], bins: torch.Tensor) -> torch.Tensor:
    """The empirical distribution ``p`` of true ab over the bins (each pixel to its nearest bin).

    Args:
        ab_batches: an iterable of float tensors ``(N, 2, H, W)`` (or one image
            ``(2, H, W)``) in ab units, e.g. the training set's true ab, batch by batch.
        bins: ``(Q, 2)`` centres (:func:`ab_bins`).

    Returns:
        float64 ``(Q,)``, summing to 1: the fraction of pixels nearest to each bin.

    Raises:
        ValueError: a batch of the wrong shape, or no pixels at all.
    """
    bins = _check_bins(bins, "bin_prior")
    counts = torch.zeros(len(bins), dtype=torch.float64)
    for batch in ab_batches:
        if isinstance(batch, torch.Tensor) and batch.ndim == 3:
            batch = batch.unsqueeze(0)
        index, _ = nearest_bins(_check_ab_batch(batch, "bin_prior"), bins)
        counts += torch.bincount(index.reshape(-1).cpu(), minlength=len(bins)).to(torch.float64)
    total = float(counts.sum())
    if total == 0:
        raise ValueError("bin_prior: the batches held no pixels")
    return counts / total


def smooth_prior(prior: torch.Tensor, bins: torch.Tensor, sigma: float = SOFT_ENCODING_SIGMA) -> torch.Tensor:
    """``prior`` blurred by a Gaussian of width ``sigma`` on the ab plane, renormalised to sum 1.

    The blur runs over the bins only: bin ``q`` receives ``sum_k p_k exp(-|c_q - c_k|^2
    / (2 sigma^2))``, then the whole is divided by its sum (mass that a full-grid blur
    would spill outside the kept bins is dropped).

    Args:
        prior: ``(Q,)`` non-negative (:func:`bin_prior`).
        bins: the ``(Q, 2)`` centres ``prior`` refers to.
        sigma: in ab units (Zhang et al.: 5).

    Returns:
        float64 ``(Q,)``, summing to 1.
    """
    bins = _check_bins(bins, "smooth_prior")
    prior = _check_distribution(prior, bins, "smooth_prior: prior")
    sigma = _positive_number(sigma, "smooth_prior: sigma")
    centres = bins.detach().to(torch.float64).cpu()
    squared = ((centres[:, None, :] - centres[None, :, :]) ** 2).sum(dim=-1)
    smoothed = torch.exp(-squared / (2.0 * sigma * sigma)) @ prior.cpu()
    return smoothed / smoothed.sum()


def rebalancing_weights(
    prior: torch.Tensor,
    lam: float = REBALANCING_LAMBDA,
    sigma: float = SOFT_ENCODING_SIGMA,
    bins: torch.Tensor | None = None,
) -> torch.Tensor:
    """Zhang et al.'s class-rebalancing weights: rare colours count more.

    With ``p`` the prior smoothed by :func:`smooth_prior`::

        w = ((1 - lam) * p + lam / Q) ** -1,   scaled so that  sum(p * w) = 1

    so a pixel's expected weight is 1. ``lam = 1`` gives all weights 1 (no rebalancing);
    ``lam = 0`` weights each bin by ``1 / p`` (every colour counts equally in total).

    Args:
        prior: ``(Q,)`` (:func:`bin_prior`), need not sum to 1.
        lam: mixing weight of the uniform distribution, 0..1 (Zhang et al.: 0.5).
        sigma: smoothing width in ab units (Zhang et al.: 5).
        bins: the ``(Q, 2)`` centres ``prior`` refers to (default :func:`ab_bins`).

    Returns:
        float32 ``(Q,)``, all > 0.

    Raises:
        ValueError: ``lam`` outside 0..1; ``lam = 0`` with a bin of smoothed probability 0;
            ``prior`` not matching ``bins``.
    """
    bins = ab_bins() if bins is None else bins
    lam = _positive_number(lam, "rebalancing_weights: lam", allow_zero=True)
    if lam > 1:
        raise ValueError(f"rebalancing_weights: expected lam in 0..1, got {lam!r}")
    smoothed = smooth_prior(prior, bins, sigma)
    mixture = (1.0 - lam) * smoothed + lam / len(smoothed)
    if (mixture <= 0).any():
        raise ValueError("rebalancing_weights: with lam = 0 every bin needs a smoothed probability > 0")
    weights = 1.0 / mixture
    weights = weights / (smoothed * weights).sum()
    return weights.to(torch.float32)


# --------------------------------------------------------------------------------------
# Decoding.
# --------------------------------------------------------------------------------------


def annealed_mean(
    logits: torch.Tensor, bins: torch.Tensor, temperature: float = ANNEALED_MEAN_TEMPERATURE
) -> torch.Tensor:
    """The colour of a predicted distribution over bins: the mean of it sharpened by ``temperature``.

    Zhang et al. re-normalise ``exp(log(softmax(z)) / T)``, which is ``softmax(z / T)``,
    and take the expectation of the bin centres under it. ``T = 1`` is the plain mean
    (desaturated when the distribution has several modes), ``T -> 0`` the mode (vivid
    but patchy); 0.38 is their compromise.

    Args:
        logits: ``(N, Q, H, W)`` raw scores.
        bins: ``(Q, 2)`` centres in ab units.
        temperature: ``T > 0``.

    Returns:
        ``(N, 2, H, W)`` ab in ab units, float32 (or the logits' dtype if wider).

    Raises:
        ValueError: shapes that do not fit, ``T <= 0`` or not finite.
    """
    temperature = _check_temperature(temperature, "annealed_mean")
    bins = _check_bins(bins, "annealed_mean")
    if not isinstance(logits, torch.Tensor) or logits.ndim != 4 or logits.shape[1] != len(bins):
        raise ValueError(
            f"annealed_mean: expected logits (N, {len(bins)}, H, W), one per bin, got {_shape_of(logits)}"
        )
    logits = logits if logits.dtype == torch.float64 else logits.float()
    probabilities = torch.softmax(logits / temperature, dim=1)
    return torch.einsum("nqhw,qc->nchw", probabilities, bins.to(device=logits.device, dtype=logits.dtype))


# --------------------------------------------------------------------------------------
# The losses.
# --------------------------------------------------------------------------------------


class ColorLoss(nn.Module, ABC):
    """One interface for every kind of colour loss.

    Attributes:
        name: ``"mse"``, ``"l1"`` or ``"classification"``.
        output_channels: channels the network must output (2 for regression, Q for
            classification).
        rebalance: whether pixels are weighted by :func:`rebalancing_weights`.

    ``forward(output, ab)``: ``output`` is the network's raw output ``(N, C, h, w)``,
    ``ab`` the true ab ``(N, 2, H, W)`` in ab units; when ``H, W`` are larger than
    ``h, w`` the ab are first area-averaged down to ``h x w``. Returns a scalar.

    ``decode(output, temperature=None)``: the predicted ab ``(N, 2, h, w)`` in ab units.

    ``state()``: a plain dict (tensors, str, float, int, bool, None) to store in a
    checkpoint; :func:`loss_from_state` rebuilds the loss from it.
    """

    name: str
    output_channels: int

    def __init__(
        self,
        bins: torch.Tensor | None = None,
        prior: torch.Tensor | None = None,
        lam: float = REBALANCING_LAMBDA,
        weights: torch.Tensor | None = None,
    ) -> None:
        super().__init__()
        self.lam = _positive_number(lam, f"{self.name} loss: lam", allow_zero=True)
        if self.lam > 1:
            raise ValueError(f"{self.name} loss: expected lam in 0..1, got {self.lam!r}")
        self.rebalance = prior is not None or weights is not None
        if self.rebalance or bins is not None:
            bins = ab_bins() if bins is None else _check_bins(bins, f"{self.name} loss: bins").float()
        if self.rebalance and weights is None:
            weights = rebalancing_weights(prior, lam=self.lam, bins=bins)
        if weights is not None:
            weights = _check_distribution(weights, bins, f"{self.name} loss: weights").to(torch.float32)
        if prior is not None:
            prior = _check_distribution(prior, bins, f"{self.name} loss: prior")
        self.register_buffer("bins", bins)
        self.register_buffer("prior", prior)
        self.register_buffer("weights", weights)

    # ---- shared steps ------------------------------------------------------------------

    def _check_output(self, output: object) -> torch.Tensor:
        if (
            not isinstance(output, torch.Tensor)
            or output.ndim != 4
            or output.shape[1] != self.output_channels
            or not output.is_floating_point()
        ):
            raise ValueError(
                f"{self.name} loss: expected the network's output as a float tensor "
                f"(N, {self.output_channels}, h, w), got {_shape_of(output)}"
            )
        # Autocast outputs (float16, bfloat16) are scored in float32, as train.py does.
        return output if output.dtype == torch.float64 else output.float()

    def _ab_at_output_size(self, output: torch.Tensor, ab: object) -> torch.Tensor:
        ab = _check_ab_batch(ab, f"{self.name} loss")
        if ab.shape[0] != output.shape[0]:
            raise ValueError(
                f"{self.name} loss: output and ab differ in batch size: {output.shape[0]} vs {ab.shape[0]}"
            )
        size, true_size = tuple(output.shape[-2:]), tuple(ab.shape[-2:])
        if size == true_size:
            return ab.to(output.dtype)
        if true_size[0] < size[0] or true_size[1] < size[1]:
            raise ValueError(
                f"{self.name} loss: ab ({true_size[0]}x{true_size[1]}) is smaller than the output "
                f"({size[0]}x{size[1]}); expected ab at least as large (it is area-averaged down)"
            )
        return F.interpolate(ab.to(output.dtype), size=size, mode="area")

    def _pixel_weights(self, ab: torch.Tensor) -> torch.Tensor:
        """``(N, 1, h, w)``: each pixel's rebalancing weight, that of its nearest bin."""
        nearest, _ = nearest_bins(ab, self.bins)
        return self.weights.to(ab.device)[nearest].to(ab.dtype)

    def _check_decode_temperature(self, temperature: float | None) -> float | None:
        return None if temperature is None else _check_temperature(temperature, f"{self.name} decode")

    # ---- the interface -----------------------------------------------------------------

    @abstractmethod
    def forward(self, output: torch.Tensor, ab: torch.Tensor) -> torch.Tensor:
        """Scalar loss of the network's raw ``output`` (N, C, h, w) against true ``ab`` (N, 2, H, W)."""

    @abstractmethod
    def decode(self, output: torch.Tensor, temperature: float | None = None) -> torch.Tensor:
        """The predicted ab ``(N, 2, h, w)`` in ab units from the network's raw output."""

    def state(self) -> dict:
        """A plain dict for checkpoints: name, bins, prior, weights and options."""
        return {
            "name": self.name,
            "output_channels": self.output_channels,
            "rebalance": self.rebalance,
            "lam": self.lam,
            "bins": None if self.bins is None else self.bins.detach().cpu().clone(),
            "prior": None if self.prior is None else self.prior.detach().cpu().clone(),
            "weights": None if self.weights is None else self.weights.detach().cpu().clone(),
        }

    def extra_repr(self) -> str:
        return f"name={self.name!r}, output_channels={self.output_channels}, rebalance={self.rebalance}"


class RegressionLoss(ColorLoss):
    """MSE or L1 on the paper's target scale ``(ab + 128) / 255`` (:func:`colorlib.color.ab_to_target`).

    ``"mse"`` without rebalancing is exactly the paper's training loss,
    ``F.mse_loss(output, (ab + 128) / 255)``, so its "loss 0.0025" keeps its meaning
    (an RMS error of about 13 ab units). With rebalancing each pixel's error (both
    channels) is multiplied by the weight of its true colour's bin before averaging.

    Args:
        name: ``"mse"`` or ``"l1"``.
        bins, prior, lam, weights: rebalancing (see :func:`make_loss`); none by default.
    """

    output_channels = 2

    def __init__(
        self,
        name: str = "mse",
        bins: torch.Tensor | None = None,
        prior: torch.Tensor | None = None,
        lam: float = REBALANCING_LAMBDA,
        weights: torch.Tensor | None = None,
    ) -> None:
        if name not in ("mse", "l1"):
            raise ValueError(f"RegressionLoss: expected name 'mse' or 'l1', got {name!r}")
        self.name = name
        super().__init__(bins=bins, prior=prior, lam=lam, weights=weights)

    def forward(self, output: torch.Tensor, ab: torch.Tensor) -> torch.Tensor:
        """Scalar MSE or L1 between ``output`` (N, 2, h, w) and ``ab_to_target(ab)``."""
        output = self._check_output(output)
        ab = self._ab_at_output_size(output, ab)
        target = ab_to_target(ab)
        elementwise = F.mse_loss if self.name == "mse" else F.l1_loss
        if not self.rebalance:
            return elementwise(output, target)
        return (elementwise(output, target, reduction="none") * self._pixel_weights(ab)).mean()

    def decode(self, output: torch.Tensor, temperature: float | None = None) -> torch.Tensor:
        """``target_to_ab(output)``: ab in ab units, ``(N, 2, h, w)``.

        ``temperature`` has no distribution to anneal here; it is accepted (and checked)
        so that callers need no special case.
        """
        self._check_decode_temperature(temperature)
        return target_to_ab(self._check_output(output))


class ClassificationLoss(ColorLoss):
    """Zhang et al.'s loss: cross-entropy against the soft-encoded true colour, per pixel.

    ``loss = mean over pixels of  w(pixel) * -sum_q target_q * log softmax(output)_q``

    with ``target`` the :func:`soft_encode` of the true ab (area-averaged to the output's
    size) and ``w`` the rebalancing weight of the pixel's nearest bin (1 without
    rebalancing). The dense target is never built: only the ``neighbours`` non-zero
    entries per pixel are gathered.

    Args:
        bins: ``(Q, 2)`` centres (default :func:`ab_bins`); the network outputs Q logits.
        prior, lam, weights: rebalancing (see :func:`make_loss`).
        neighbours, sigma: soft encoding (Zhang et al.: 5 and 5).
        temperature: default of :meth:`decode` (Zhang et al.: 0.38).
    """

    name = "classification"

    def __init__(
        self,
        bins: torch.Tensor | None = None,
        prior: torch.Tensor | None = None,
        lam: float = REBALANCING_LAMBDA,
        weights: torch.Tensor | None = None,
        neighbours: int = SOFT_ENCODING_NEIGHBOURS,
        sigma: float = SOFT_ENCODING_SIGMA,
        temperature: float = ANNEALED_MEAN_TEMPERATURE,
    ) -> None:
        super().__init__(bins=ab_bins() if bins is None else bins, prior=prior, lam=lam, weights=weights)
        if isinstance(neighbours, bool) or not isinstance(neighbours, int) or not 1 <= neighbours <= len(self.bins):
            raise ValueError(
                f"classification loss: expected neighbours in 1..{len(self.bins)}, got {neighbours!r}"
            )
        self.neighbours = neighbours
        self.sigma = _positive_number(sigma, "classification loss: sigma")
        self.temperature = _check_temperature(temperature, "classification loss")
        self.output_channels = len(self.bins)

    def forward(self, output: torch.Tensor, ab: torch.Tensor) -> torch.Tensor:
        """Scalar soft cross-entropy of the logits ``output`` (N, Q, h, w) against true ``ab``."""
        output = self._check_output(output)
        ab = self._ab_at_output_size(output, ab)
        index, target = _soft_encoding_sparse(ab, self.bins, self.neighbours, self.sigma)
        log_probabilities = torch.log_softmax(output, dim=1).gather(1, index)
        cross_entropy = -(target.to(output.dtype) * log_probabilities).sum(dim=1, keepdim=True)
        if self.rebalance:
            cross_entropy = cross_entropy * self.weights.to(output.device)[index[:, :1]].to(output.dtype)
        return cross_entropy.mean()

    def decode(self, output: torch.Tensor, temperature: float | None = None) -> torch.Tensor:
        """The annealed mean (:func:`annealed_mean`) of the logits; ``temperature`` overrides the default."""
        temperature = self.temperature if temperature is None else temperature
        return annealed_mean(self._check_output(output), self.bins, temperature)

    def state(self) -> dict:
        """As :meth:`ColorLoss.state`, plus ``neighbours``, ``sigma`` and ``temperature``."""
        return {
            **super().state(),
            "neighbours": self.neighbours,
            "sigma": self.sigma,
            "temperature": self.temperature,
        }


def make_loss(
    name: str,
    *,
    rebalance: bool = False,
    prior: torch.Tensor | None = None,
    lam: float = REBALANCING_LAMBDA,
) -> ColorLoss:
    """Build a colour loss by name.

    Args:
        name: one of :data:`LOSS_NAMES`: ``"mse"`` (the paper's), ``"l1"``, ``"classification"``
            (Zhang et al.'s, over :func:`ab_bins`).
        rebalance: weight pixels by :func:`rebalancing_weights` of ``prior``.
        prior: ``(Q,)`` distribution of the training set's ab over :func:`ab_bins`
            (:func:`bin_prior`); required with ``rebalance=True``, ignored otherwise.
        lam: rebalancing mixture weight, 0..1 (Zhang et al.: 0.5).

    Returns:
        A :class:`ColorLoss`.

    Raises:
        ValueError: an unknown name, or ``rebalance=True`` without a ``prior``.

    >>> make_loss("mse").output_channels, make_loss("classification").output_channels
    (2, 262)
    """
    if name not in LOSS_NAMES:
        raise ValueError(f"make_loss: expected a loss name in {LOSS_NAMES}, got {name!r}")
    if not isinstance(rebalance, bool):
        raise ValueError(f"make_loss: expected rebalance=True or False, got {rebalance!r}")
    if rebalance and prior is None:
        raise ValueError(
            "make_loss: rebalance=True needs a prior, the (Q,) distribution of the training set's ab "
            "over ab_bins() (compute it with colorlib.losses.bin_prior)"
        )
    prior = prior if rebalance else None
    if name == "classification":
        return ClassificationLoss(prior=prior, lam=lam)
    return RegressionLoss(name, prior=prior, lam=lam)


def loss_from_state(state: dict) -> ColorLoss:
    """Rebuild a loss from :meth:`ColorLoss.state` (as stored in a checkpoint).

    The stored bins and weights are used as they are (not recomputed), so a checkpoint
    keeps decoding the same way if the defaults change.

    Raises:
        ValueError: not such a dict, or an unknown name.
    """
    if not isinstance(state, dict) or "name" not in state:
        raise ValueError(f"loss_from_state: expected the dict of ColorLoss.state(), got {type(state).__name__}")
    name = state["name"]
    if name not in LOSS_NAMES:
        raise ValueError(f"loss_from_state: expected a loss name in {LOSS_NAMES}, got {name!r}")
    common = {
        "bins": state.get("bins"),
        "prior": state.get("prior"),
        "lam": state.get("lam", REBALANCING_LAMBDA),
        "weights": state.get("weights"),
    }
    if name == "classification":
        return ClassificationLoss(
            **common,
            neighbours=state.get("neighbours", SOFT_ENCODING_NEIGHBOURS),
            sigma=state.get("sigma", SOFT_ENCODING_SIGMA),
            temperature=state.get("temperature", ANNEALED_MEAN_TEMPERATURE),
        )
    return RegressionLoss(name, **common)


# --------------------------------------------------------------------------------------
# Notebook 06: drawing the bins and the rebalancing weights, and reading a predicted
# distribution (its modes, and the mean that MSE would answer).
# --------------------------------------------------------------------------------------

__all__ += ["bins_on_grid", "ab_plane_axes", "plot_ab_bins", "plot_rebalancing", "DistributionModes", "distribution_modes", "mode_masses", "bimodality"]


def bins_on_grid(values: np.ndarray, bins: torch.Tensor, fill: float = np.nan,
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


def ab_plane_axes(axis: "matplotlib.axes.Axes", title: str = "") -> None:
    """Label a matplotlib axis as the ab plane (-135..135 both ways, a rightwards, b upwards)."""
    axis.axhline(0.0, color="#888888", lw=0.5)
    axis.axvline(0.0, color="#888888", lw=0.5)
    axis.set_xlim(-135, 135)
    axis.set_ylim(-135, 135)
    axis.set_xlabel("a   (green -  /  + red)", fontsize=8)
    axis.set_ylabel("b   (blue -  /  + yellow)", fontsize=8)
    axis.tick_params(labelsize=7)
    axis.set_title(title, fontsize=9)


def plot_ab_bins(lightnesses: Iterable[float] = (30.0, 50.0, 80.0), step: float = AB_BIN_STEP) -> Figure:
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
        shown = displayable_bins_at(level, step).numpy()
        lab = np.concatenate([np.full((len(bins), 1), level), bins.double().numpy()], axis=1)
        colours = lab_to_rgb(lab[None])[0]
        colours[~shown] = 0.85
        image, extent = bins_on_grid(colours, bins, 1.0, step)
        axis.imshow(image, extent=extent, interpolation="nearest")
        ab_plane_axes(axis, f"L = {level:g}: {int(shown.sum())} of {len(bins)} bins displayable")
    figure.suptitle(f"{len(bins)} ab bins of {step:g} x {step:g} (gray: displayable only at other L)", fontsize=10)
    return figure


def plot_rebalancing(prior: torch.Tensor, weights: torch.Tensor | None = None, bins: torch.Tensor | None = None,
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
    figure = plt.figure(figsize=(12.5, 3.8), layout="constrained")
    left, middle, right = figure.subplots(1, 3)
    seen = probability > 0
    lowest = math.floor(float(np.log10(probability[seen].min())))
    logged = np.where(seen, np.log10(np.where(seen, probability, 1.0)), lowest - 1.0)  # unseen: "under"
    image, extent = bins_on_grid(logged, bins)
    palette = matplotlib.colormaps["viridis"].with_extremes(bad="white", under="#d9d9d9")
    drawn = left.imshow(image, extent=extent, interpolation="nearest", cmap=palette, vmin=lowest, vmax=0)
    figure.colorbar(drawn, ax=left, shrink=0.8).set_label("log10 share of training pixels", fontsize=8)
    ab_plane_axes(left, f"prior: {int(seen.sum())} of {len(bins)} bins occur (gray: never)")
    image, extent = bins_on_grid(weights, bins)
    drawn = middle.imshow(image, extent=extent, interpolation="nearest",
                          cmap=matplotlib.colormaps["magma"].with_extremes(bad="white"))
    figure.colorbar(drawn, ax=middle, shrink=0.8).set_label("weight w", fontsize=8)
    ab_plane_axes(middle, f"rebalancing weights: {weights.min():.2f} to {weights.max():.2f}")
    smoothed = smooth_prior(prior, bins).numpy()
    right.semilogx(np.maximum(smoothed, 1e-9), weights, ".", color="#444444")
    right.axhline(1.0, color="#b00020", lw=0.8, label="w = 1: no rebalancing")
    right.set_xlabel("smoothed prior p of the bin (1e-9: never seen)", fontsize=8)
    right.set_ylabel("weight w", fontsize=8)
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
    probabilities: torch.Tensor, bins: torch.Tensor, separation: float = 40.0, radius: float = 10.0
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
    probabilities: torch.Tensor, bins: torch.Tensor, separation: float = 40.0, radius: float = 10.0
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
    probabilities: torch.Tensor, bins: torch.Tensor, separation: float = 40.0, radius: float = 10.0
) -> torch.Tensor:
    """Per pixel, the mass of the second mode (:func:`mode_masses`): how strongly the
    prediction hesitates between two colours at least ``separation`` apart.

    Returns:
        float64 ``(N, H, W)``, 0..1 (0 where all the mass is near one colour).
    """
    return mode_masses(probabilities, bins, separation, radius)[1]


# --------------------------------------------------------------------------------------
# A faster nearest-bin search for bins on a grid (the same answer as nearest_bins).
# --------------------------------------------------------------------------------------

__all__ += ["nearest_bins_on_grid"]

# Candidates per pixel: the 5 x 5 grid cells around the pixel's own cell.
_WINDOW_RADIUS = 2
# Up to this many neighbours the window always holds them when the bins around are kept.
_WINDOW_NEIGHBOURS = 12


def _grid_lookup(bins: torch.Tensor, step: float) -> tuple[torch.Tensor, int]:
    """``(table, offset)``: ``table[i + offset, j + offset]`` is the index of the bin at
    ``(i * step, j * step)``, or -1; raises when the centres are not on multiples of ``step``."""
    cells = bins.detach().double().cpu() / step
    rounded = cells.round()
    if not torch.allclose(cells, rounded, atol=1e-6):
        raise ValueError(f"nearest_bins_on_grid: expected bin centres on multiples of {step:g} ab units")
    cells = rounded.long()
    offset = int(cells.abs().max()) + _WINDOW_RADIUS + 1
    table = torch.full((2 * offset + 1, 2 * offset + 1), -1, dtype=torch.long)
    table[cells[:, 0] + offset, cells[:, 1] + offset] = torch.arange(len(bins))
    return table, offset


def nearest_bins_on_grid(
    ab: torch.Tensor, bins: torch.Tensor, neighbours: int = 1, step: float = AB_BIN_STEP
) -> tuple[torch.Tensor, torch.Tensor]:
    """:func:`nearest_bins` for bins centred on a grid of ``step``: the same bins, several times faster.

    Instead of measuring every pixel's distance to all Q centres, it measures the 25
    cells of the 5 x 5 window around the pixel's own cell. Any bin outside the window is
    at least ``2.5 * step`` away, so when the ``neighbours``-th nearest found inside is no
    farther, the answer is exact; the other pixels (ab far outside the bins, or at the
    rim where the window holds too few bins) are measured against all the bins, as
    :func:`nearest_bins` does. Equal distances may come in another order.

    Args:
        ab: float ``(N, 2, H, W)`` in ab units.
        bins: float ``(Q, 2)`` centres on multiples of ``step`` (:func:`ab_bins`).
        neighbours: how many, 1..Q.
        step: the grid step of the centres, ab units.

    Returns:
        ``(indices, squared_distances)``: int64 and float32 ``(N, neighbours, H, W)``,
        nearest first.

    Raises:
        ValueError: as :func:`nearest_bins`; centres not on the grid.
    """
    ab = _check_ab_batch(ab, "nearest_bins_on_grid")
    bins = _check_bins(bins, "nearest_bins_on_grid")
    if isinstance(neighbours, bool) or not isinstance(neighbours, int) or not 1 <= neighbours <= len(bins):
        raise ValueError(
            f"nearest_bins_on_grid: expected a number of neighbours in 1..{len(bins)}, got {neighbours!r}"
        )
    step = _check_step(step)
    table, offset = _grid_lookup(bins, step)
    if neighbours > _WINDOW_NEIGHBOURS:
        return nearest_bins(ab, bins, neighbours)
    device = ab.device
    table = table.to(device)
    centres = bins.detach().to(device=device, dtype=torch.float32)
    window = torch.arange(-_WINDOW_RADIUS, _WINDOW_RADIUS + 1, device=device)
    shifts = torch.stack(torch.meshgrid(window, window, indexing="ij"), dim=-1).reshape(1, -1, 2)  # (1, 25, 2)
    reach = ((_WINDOW_RADIUS + 0.5) * step) ** 2
    batch, _, height, width = ab.shape
    pixels = ab.detach().float().permute(0, 2, 3, 1).reshape(-1, 2)
    indices, distances = [], []
    for chunk in pixels.split(_PIXELS_PER_CHUNK):
        own = torch.round(chunk / step).long().clamp(-offset + _WINDOW_RADIUS, offset - _WINDOW_RADIUS)
        cells = own[:, None, :] + shifts  # (P, 25, 2), inside the table by the clamp
        candidates = table[cells[..., 0] + offset, cells[..., 1] + offset]  # (P, 25), -1: no bin
        squared = ((chunk[:, None, :] - centres[candidates.clamp(min=0)]) ** 2).sum(dim=-1)
        squared = squared.masked_fill(candidates < 0, math.inf)
        values, order = torch.topk(squared, neighbours, dim=1, largest=False, sorted=True)
        index = candidates.gather(1, order)
        unsure = ~(values[:, -1] <= reach)
        if bool(unsure.any()):
            exact_index, exact_squared = nearest_bins(chunk[unsure].T.reshape(1, 2, -1, 1), bins, neighbours)
            index[unsure] = exact_index[0, :, :, 0].T
            values[unsure] = exact_squared[0, :, :, 0].T
        indices.append(index)
        distances.append(values)
    index = torch.cat(indices).reshape(batch, height, width, neighbours).permute(0, 3, 1, 2)
    squared = torch.cat(distances).reshape(batch, height, width, neighbours).permute(0, 3, 1, 2)
    return index.contiguous(), squared.contiguous()
