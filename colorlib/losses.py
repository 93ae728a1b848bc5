"""Losses beyond MSE: regression (MSE, L1) and Zhang et al.'s colour classification (notebook 07).

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

from abc import ABC, abstractmethod

import torch
import torch.nn.functional as F
from torch import nn

from .bins import (
    ANNEALED_MEAN_TEMPERATURE,
    REBALANCING_LAMBDA,
    SOFT_ENCODING_NEIGHBOURS,
    SOFT_ENCODING_SIGMA,
    _check_ab_batch,
    _check_bins,
    _check_distribution,
    _check_temperature,
    _positive_number,
    _shape_of,
    _soft_encoding_sparse,
    ab_bins,
    annealed_mean,
    nearest_bins,
    rebalancing_weights,
)
from .color import ab_to_target, target_to_ab
from .config import LOSS_NAMES

__all__ = [
    "ColorLoss",
    "RegressionLoss",
    "ClassificationLoss",
    "make_loss",
    "loss_from_state",
    "SCORE_DOWNSAMPLES",
]


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
        score_downsample: score at ``1 / score_downsample`` of the true ab's resolution
            (1, 2, 4 or 8). 1 (the default) is the behaviour above. With ``d > 1`` the true
            ab ``(N, 2, H, W)`` (H, W divisible by d) is subsampled to ``(H/d, W/d)`` by
            taking every d-th pixel, as Zhang et al.'s training net does (``data_ab_ss``, a
            stride-4 1 x 1 convolution of weight 1: every 4th pixel, not an average, so an
            edge between two colours is not encoded as their grayish mean); the logits
            are average-pooled to that size (an output already that small is scored as
            it is). Zhang et al. score at a quarter: ``score_downsample=4``.
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
        score_downsample: int = 1,
    ) -> None:
        super().__init__(bins=ab_bins() if bins is None else bins, prior=prior, lam=lam, weights=weights)
        self.score_downsample = _check_score_downsample(score_downsample, "classification loss")
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
        if self.score_downsample > 1:
            output, ab = self._at_scoring_size(output, ab)
        ab = self._ab_at_output_size(output, ab)
        # Scoring at a lower resolution is new: it may look the bins up on the grid (faster;
        # ties broken by bin index). Full resolution keeps the brute force it was trained with.
        index, target = _soft_encoding_sparse(ab, self.bins, self.neighbours, self.sigma,
                                              grid_lookup=self.score_downsample > 1)
        log_probabilities = torch.log_softmax(output, dim=1).gather(1, index)
        cross_entropy = -(target.to(output.dtype) * log_probabilities).sum(dim=1, keepdim=True)
        if self.rebalance:
            cross_entropy = cross_entropy * self.weights.to(output.device)[index[:, :1]].to(output.dtype)
        return cross_entropy.mean()

    def _at_scoring_size(self, output: torch.Tensor, ab: object) -> tuple[torch.Tensor, torch.Tensor]:
        """The logits average-pooled and the true ab subsampled to ``1 / score_downsample`` of ab's size."""
        ab = _check_ab_batch(ab, "classification loss")
        step, (height, width) = self.score_downsample, ab.shape[-2:]
        if height % step or width % step:
            raise ValueError(
                f"classification loss: score_downsample={step} needs ab whose height and width are "
                f"divisible by {step}, got {height}x{width}"
            )
        size, out_size = (height // step, width // step), tuple(output.shape[-2:])
        if out_size != size:
            if out_size[0] % size[0] or out_size[1] % size[1]:
                raise ValueError(
                    f"classification loss: the output ({out_size[0]}x{out_size[1]}) cannot be pooled to "
                    f"the scoring size {size[0]}x{size[1]} (ab {height}x{width} / {step})"
                )
            output = F.avg_pool2d(output, (out_size[0] // size[0], out_size[1] // size[1]))
        return output, ab[:, :, ::step, ::step]

    def decode(self, output: torch.Tensor, temperature: float | None = None) -> torch.Tensor:
        """The annealed mean (:func:`annealed_mean`) of the logits; ``temperature`` overrides the default."""
        temperature = self.temperature if temperature is None else temperature
        return annealed_mean(self._check_output(output), self.bins, temperature=temperature)

    def state(self) -> dict:
        """As :meth:`ColorLoss.state`, plus ``neighbours``, ``sigma``, ``temperature`` and ``score_downsample``."""
        return {
            **super().state(),
            "neighbours": self.neighbours,
            "sigma": self.sigma,
            "temperature": self.temperature,
            "score_downsample": self.score_downsample,
        }

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, score_downsample={self.score_downsample}"


#: The resolutions a classification loss may score at: 1 / these of the true ab's.
SCORE_DOWNSAMPLES = (1, 2, 4, 8)


def _check_score_downsample(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value not in SCORE_DOWNSAMPLES:
        raise ValueError(f"{what}: expected score_downsample in {SCORE_DOWNSAMPLES}, got {value!r}")
    return value


def make_loss(
    name: str,
    *,
    rebalance: bool = False,
    prior: torch.Tensor | None = None,
    lam: float = REBALANCING_LAMBDA,
    score_downsample: int = 1,
) -> ColorLoss:
    """Build a colour loss by name.

    Args:
        name: one of :data:`LOSS_NAMES`: ``"mse"`` (the paper's), ``"l1"``, ``"classification"``
            (Zhang et al.'s, over :func:`ab_bins`).
        rebalance: weight pixels by :func:`rebalancing_weights` of ``prior``.
        prior: ``(Q,)`` distribution of the training set's ab over :func:`ab_bins`
            (:func:`bin_prior`); required with ``rebalance=True``, ignored otherwise.
        lam: rebalancing mixture weight, 0..1 (Zhang et al.: 0.5).
        score_downsample: classification only: score the logits at ``1 / score_downsample``
            of the true ab's resolution, one of :data:`SCORE_DOWNSAMPLES` (Zhang et al.: 4;
            default 1, full resolution); see :class:`ClassificationLoss`.

    Returns:
        A :class:`ColorLoss`.

    Raises:
        ValueError: an unknown name, ``rebalance=True`` without a ``prior``, or a
            ``score_downsample`` other than 1 for a regression loss or not in :data:`SCORE_DOWNSAMPLES`.

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
            "over ab_bins() (compute it with colorlib.bins.bin_prior)"
        )
    score_downsample = _check_score_downsample(score_downsample, "make_loss")
    if score_downsample != 1 and name != "classification":
        raise ValueError(f"make_loss: score_downsample is an option of the classification loss, not of {name!r}")
    prior = prior if rebalance else None
    if name == "classification":
        return ClassificationLoss(prior=prior, lam=lam, score_downsample=score_downsample)
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
            score_downsample=state.get("score_downsample", 1),
        )
    return RegressionLoss(name, **common)


# --------------------------------------------------------------------------------------
# Notebook 07: drawing the bins and the rebalancing weights, and reading a predicted
# distribution (its modes, and the mean that MSE would answer).
# --------------------------------------------------------------------------------------


# --------------------------------------------------------------------------------------
# A faster nearest-bin search for bins on a grid (the same answer as nearest_bins).
# --------------------------------------------------------------------------------------


# Candidates per pixel: the 5 x 5 grid cells around the pixel's own cell.
# Up to this many neighbours the window always holds them when the bins around are kept.


