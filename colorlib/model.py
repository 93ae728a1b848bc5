"""The paper's network: half a ResNet-18 down, convolutions and ``nn.Upsample`` up.

::

    L/100 (N, 1, H, W)
      -> encoder: ResNet-18 conv1, bn1, relu, maxpool, layer1, layer2   (N, 128, H/8, W/8)
      -> decoder: conv-bn-relu, upsample x2, conv-bn-relu, upsample x2,
                  conv-bn-relu, conv, upsample x2                        (N, 2, H, W)
      -> ab on the target scale (ab + 128) / 255

The decoder is exactly the layout of the authors' released checkpoints, so their
weights load into it. Weights are a separate concern (:mod:`colorlib.weights`):
:class:`ColorizationNet` starts from random numbers; ``weights.build_colorization_net``
fills the encoder with ImageNet weights and ``weights.load_pretrained`` loads a trained
network. This module imports no loader.

Only the last convolution depends on the loss: 2 outputs (a and b) for the paper's MSE,
Q logits for a classification loss over Q colour bins (notebook 06). The decoding from
the raw output to ab is the job of an :class:`OutputDecoder` (a loss from
:mod:`colorlib.losses`); without one, the output is the paper's ``(ab + 128) / 255``.
"""

from __future__ import annotations

from typing import Protocol

import torch
import torch.nn.functional as F
from torch import nn
from torchvision.models import resnet18

from .color import target_to_ab

__all__ = [
    "IMAGENET_GRAY",
    "ENCODER_CHILDREN",
    "DOWNSAMPLING_FACTOR",
    "make_encoder",
    "make_decoder",
    "pooled_decoder_output",
    "OutputDecoder",
    "ColorizationNet",
]


#: ImageNet's preprocessing for a gray input: the means of its RGB means and standard
#: deviations (0.485, 0.456, 0.406 and 0.229, 0.224, 0.225).
IMAGENET_GRAY = (0.449, 0.226)
#: How many of ResNet-18's children the encoder keeps: conv1, bn1, relu, maxpool,
#: layer1, layer2 (the paper's conv1 to conv3_x).
ENCODER_CHILDREN = 6
#: 224 -> 28: the encoder halves the size three times (conv1, maxpool, layer2).
DOWNSAMPLING_FACTOR = 8
ENCODER_CHANNELS = 128


def make_encoder(resnet: nn.Module | None = None) -> nn.Sequential:
    """ResNet-18's children 0..5 with a one-channel first convolution.

    The RGB filters of ``conv1`` (64, 3, 7, 7) are summed over their input channels
    into (64, 1, 7, 7): for a gray image (R = G = B) that gives exactly the response
    the RGB network would have had.

    Args:
        resnet: a torchvision ResNet-18 (ImageNet-trained, say); a fresh randomly
            initialised one when ``None``.

    Returns:
        ``nn.Sequential`` mapping (N, 1, H, W) to (N, 128, H/8, W/8).
    """
    resnet = resnet if resnet is not None else resnet18(weights=None)
    first = resnet.conv1
    gray_conv = nn.Conv2d(1, first.out_channels, first.kernel_size, first.stride, first.padding, bias=False)
    with torch.no_grad():
        gray_conv.weight.copy_(first.weight.sum(dim=1, keepdim=True))
    children = list(resnet.children())[:ENCODER_CHILDREN]
    children[0] = gray_conv
    return nn.Sequential(*children)


def make_decoder(output_channels: int = 2) -> nn.Sequential:
    """The authors' up-sampling half: (N, 128, h, w) -> (N, output_channels, 8h, 8w), no output activation.

    ``output_channels`` is 2 (a and b) for the paper; a classification loss asks for one
    logit per colour bin. Only the last convolution changes.
    """
    return nn.Sequential(
        nn.Conv2d(ENCODER_CHANNELS, 128, kernel_size=3, padding=1),
        nn.BatchNorm2d(128),
        nn.ReLU(),
        nn.Upsample(scale_factor=2),
        nn.Conv2d(128, 64, kernel_size=3, padding=1),
        nn.BatchNorm2d(64),
        nn.ReLU(),
        nn.Upsample(scale_factor=2),
        nn.Conv2d(64, 32, kernel_size=3, padding=1),
        nn.BatchNorm2d(32),
        nn.ReLU(),
        nn.Conv2d(32, output_channels, kernel_size=3, padding=1),
        nn.Upsample(scale_factor=2),
    )


def pooled_decoder_output(decoder: nn.Sequential, features: torch.Tensor, *, pool: int) -> torch.Tensor:
    """``F.avg_pool2d(decoder(features), pool)``, computed without the full-resolution output.

    The decoder ends in a 3 x 3 convolution and a nearest up-sampling by 2, so its output
    pooled by ``pool`` is the convolution's output pooled by ``k = pool / 2``, and that is
    one convolution with a ``(k + 2) x (k + 2)`` kernel (the 3 x 3 kernel summed over the
    k x k shifts of a pooling window, divided by k^2) and stride ``k``. The same numbers up
    to float rounding, gradients included, for about ``(k + 2)^2 / (9 k^2)`` of the last
    layer's work (0.44 for ``pool=4``) and no up-sampling: what a classification loss
    scoring at ``1 / pool`` of the resolution needs (:class:`colorlib.losses.ClassificationLoss`).

    Args:
        decoder: :func:`make_decoder`'s layout (any number of output channels).
        features: the encoder's ``(N, 128, h, w)`` float.
        pool: an even factor, 2..2h.

    Returns:
        ``(N, C, 8h / pool, 8w / pool)`` float, the decoder's output average-pooled.

    Raises:
        ValueError: an odd ``pool``, or a decoder that does not end that way.
    """
    *_, conv, upsample = decoder
    fits = (
        isinstance(upsample, nn.Upsample) and upsample.mode == "nearest" and upsample.scale_factor in (2, (2, 2))
        and isinstance(conv, nn.Conv2d) and conv.kernel_size == (3, 3) and conv.stride == (1, 1)
        and conv.padding == (1, 1) and conv.dilation == (1, 1) and conv.groups == 1
    )
    if not fits:
        raise ValueError("pooled_decoder_output: expected a decoder ending in a 3x3 convolution and nn.Upsample(scale_factor=2)")
    if isinstance(pool, bool) or not isinstance(pool, int) or pool < 2 or pool % 2:
        raise ValueError(f"pooled_decoder_output: expected an even pooling factor, got {pool!r}")
    k = pool // 2
    hidden = decoder[:-2](features)
    weight = sum(F.pad(conv.weight, (b, k - 1 - b, a, k - 1 - a)) for a in range(k) for b in range(k)) / (k * k)
    return F.conv2d(hidden, weight, conv.bias, stride=k, padding=1)


class OutputDecoder(Protocol):
    """What turns the network's raw output into ab: a loss of :mod:`colorlib.losses`."""

    name: str
    output_channels: int

    def decode(self, output: torch.Tensor, temperature: float | None = None) -> torch.Tensor:
        """Raw output (N, C, H, W) -> ab (N, 2, H, W) in ab units."""
        ...


class ColorizationNet(nn.Module):
    """The paper's colorization network.

    Args:
        freeze_encoder: keep the ResNet part fixed: its parameters get
            ``requires_grad=False`` and its batch-norm layers stay in eval mode. (The
            authors' code froze it less: their ``conv1`` was trainable and their batch-norm
            statistics drifted during training, which is why their three checkpoints
            differ only there; :meth:`freeze_encoder` with ``as_the_authors=True`` does
            the same.)
        decoder: how the raw output becomes ab (a loss of :mod:`colorlib.losses`);
            ``None`` is the paper's: 2 outputs on the ``(ab + 128) / 255`` scale.
        input_size: the side of the square input the weights were trained at (224 for
            the paper; ``None`` for untrained weights). :mod:`colorlib.inference` and
            :mod:`colorlib.evaluate` use it as their default.
        input_convention: ``"L/100"`` (colorlib) or ``"luma"`` (the authors' code fed
            ``skimage.color.rgb2gray``); recorded for what it says, the network takes
            any 0..1 lightness.

    Attribute ``input_normalisation``: ``None`` (the paper: ``L / 100`` goes in as it is) or
    ``(mean, std)``: the input is standardised first, as ImageNet's own preprocessing
    does (:data:`IMAGENET_GRAY`); an ablation of notebook 04.

    Input: ``(N, 1, H, W)`` float, ``L / 100`` in 0..1, H and W divisible by 8.
    Output: ``(N, C, H, W)`` float: for the paper (C = 2) ab on the target scale
    ``(ab + 128) / 255`` (about 0..1; not clamped). :meth:`predict_ab` gives ab in ab
    units for any decoder.
    """

    def __init__(
        self,
        freeze_encoder: bool = True,
        decoder: OutputDecoder | None = None,
        input_size: int | None = None,
        input_convention: str = "L/100",
    ) -> None:
        super().__init__()
        self.encoder = make_encoder()
        self.decoder = make_decoder(2 if decoder is None else decoder.output_channels)
        # A plain attribute, not a sub-module: the decoder's state lives in checkpoints'
        # own entry, so the state dict stays exactly the authors' layout.
        self.__dict__["output_decoder"] = decoder
        self.input_size = input_size
        self.input_convention = input_convention
        self.input_normalisation: tuple[float, float] | None = None
        self.encoder_frozen = False
        self.encoder_as_the_authors = False
        self.freeze_encoder(freeze_encoder)

    @property
    def loss_name(self) -> str:
        """``"mse"`` for the paper's output, else the decoder's name."""
        return "mse" if self.output_decoder is None else self.output_decoder.name

    def predict_ab(self, lightness: torch.Tensor, temperature: float | None = None) -> torch.Tensor:
        """``L / 100`` (N, 1, H, W) -> ab (N, 2, H, W) in ab units (about -128..127).

        Uses the model in whatever mode it is in; ``temperature`` is passed to a
        classification decoder (the annealed mean) and must be ``None`` otherwise.
        """
        output = self(lightness)
        if self.output_decoder is None:
            if temperature is not None:
                raise ValueError("temperature applies to classification models only; this model regresses ab (MSE)")
            return target_to_ab(output)
        return self.output_decoder.decode(output, temperature)

    def freeze_encoder(self, frozen: bool = True, as_the_authors: bool = False) -> "ColorizationNet":
        """Freeze (or unfreeze) the ResNet part; returns ``self``.

        ``as_the_authors`` freezes it the way the authors' code did in effect: their loop
        froze the ResNet's parameters, but then replaced ``conv1`` by a new, trainable
        ``nn.Parameter``, and trained in ``model.train()`` mode, so the batch-norm layers'
        running statistics kept adapting to their data. colorlib's default keeps every
        encoder parameter fixed and its batch norm in eval mode.
        """
        self.encoder_frozen = frozen
        self.encoder_as_the_authors = frozen and as_the_authors
        for parameter in self.encoder.parameters():
            parameter.requires_grad_(not frozen)
        if self.encoder_as_the_authors:
            self.encoder[0].weight.requires_grad_(True)
        self.train(self.training)
        return self

    def train(self, mode: bool = True) -> "ColorizationNet":
        super().train(mode)
        if self.encoder_frozen and not self.encoder_as_the_authors:
            self.encoder.eval()
        return self

    def encode(self, lightness: torch.Tensor) -> torch.Tensor:
        """The encoder's features ``(N, 128, H/8, W/8)`` of ``L / 100`` ``(N, 1, H, W)``,
        after the input normalisation, if the model has one."""
        if self.input_normalisation is not None:
            mean, std = self.input_normalisation
            lightness = (lightness - mean) / std
        return self.encoder(lightness)

    def forward(self, lightness: torch.Tensor) -> torch.Tensor:
        if lightness.ndim != 4 or lightness.shape[1] != 1:
            raise ValueError(
                "ColorizationNet: expected L/100 shaped (N, 1, H, W), "
                f"got shape {tuple(lightness.shape)}"
            )
        height, width = lightness.shape[-2:]
        if height % DOWNSAMPLING_FACTOR or width % DOWNSAMPLING_FACTOR:
            raise ValueError(
                f"ColorizationNet: height and width must be divisible by {DOWNSAMPLING_FACTOR}, "
                f"got {height}x{width} (resize to 224x224, say)"
            )
        return self.decoder(self.encode(lightness))


# --------------------------------------------------------------------------------------
# Describing and counting layers.
# --------------------------------------------------------------------------------------


