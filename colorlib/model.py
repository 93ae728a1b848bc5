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
Q logits for a classification loss over Q colour bins (notebook 07). The decoding from
the raw output to ab is the job of an :class:`OutputDecoder` (a loss from
:mod:`colorlib.losses`); without one, the output is the paper's ``(ab + 128) / 255``.

**A network that takes colour hints** (Zhang et al. 2017; ``ColorizationNet(takes_hints=True)``,
:class:`HintDecoder`): the encoder is the same and stays frozen (it sees only ``L``); the
user's hints, ``(N, 3, H, W)`` = the hinted ab and the mask of :func:`colorlib.hints.hint_maps`,
are joined to the decoder at each resolution (H/8, H/4, H/2; :func:`hints_at`): the hints
shrunk to that resolution and the same hints spread over the whole photo
(:func:`spread_hints`), 9 more input channels of the first convolution there. A mask of
zeros is "no hint": the network then colorizes on its own, so one network does both.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator, Protocol

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
    "HINT_CHANNELS",
    "HINT_AB_SCALE",
    "HINT_SPREADS",
    "HINT_FEATURES",
    "make_decoder",
    "spread_hints",
    "hints_at",
    "HintDecoder",
    "pooled_decoder_output",
    "DecoderOnly",
    "eval_mode",
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
#: The hint channels a hint network's decoder takes: the hinted a and b, and the mask.
HINT_CHANNELS = 3
#: The hinted ab are divided by this inside the network (-128..127 -> about -1..1).
HINT_AB_SCALE = 128.0
#: The widths of the Gaussians that spread the hints over the photo (:func:`spread_hints`),
#: as fractions of its longer side: one near (8 %), one far (30 %; the two did better than
#: either 10 % or 25 % alone on the validation photos). Why spread at all: the decoder's
#: convolutions carry a hint at most about a quarter of the photo's width from where it was
#: given, while one true colour tells something about the whole photo.
HINT_SPREADS: tuple[float, ...] = (0.08, 0.3)
#: The channels a hint network's decoder takes at each resolution (:func:`hints_at`): the
#: hinted a, b and mask there, then a, b and nearness of each spread of :data:`HINT_SPREADS`.
HINT_FEATURES = HINT_CHANNELS * (1 + len(HINT_SPREADS))


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


def make_decoder(output_channels: int = 2, *, takes_hints: bool = False) -> nn.Sequential:
    """The authors' up-sampling half: (N, 128, h, w) -> (N, output_channels, 8h, 8w), no output activation.

    ``output_channels`` is 2 (a and b) for the paper; a classification loss asks for one
    logit per colour bin. Only the last convolution changes.

    ``takes_hints``: a :class:`HintDecoder`, the same layers with the first convolution of
    each resolution (layers 0, 4 and 8) taking :data:`HINT_FEATURES` more input channels;
    its state dict has the same names, three of them with more input channels.

    >>> make_decoder()(torch.zeros(1, 128, 4, 4)).shape
    torch.Size([1, 2, 32, 32])
    >>> make_decoder(takes_hints=True)[0]
    Conv2d(137, 128, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))
    """
    extra = HINT_FEATURES if takes_hints else 0
    layers = [
        nn.Conv2d(ENCODER_CHANNELS + extra, 128, kernel_size=3, padding=1),
        nn.BatchNorm2d(128),
        nn.ReLU(),
        nn.Upsample(scale_factor=2),
        nn.Conv2d(128 + extra, 64, kernel_size=3, padding=1),
        nn.BatchNorm2d(64),
        nn.ReLU(),
        nn.Upsample(scale_factor=2),
        nn.Conv2d(64 + extra, 32, kernel_size=3, padding=1),
        nn.BatchNorm2d(32),
        nn.ReLU(),
        nn.Conv2d(32, output_channels, kernel_size=3, padding=1),
        nn.Upsample(scale_factor=2),
    ]
    return HintDecoder(*layers) if takes_hints else nn.Sequential(*layers)


def spread_hints(ab: torch.Tensor, mask: torch.Tensor, *, width: float) -> torch.Tensor:
    """The hints spread over the whole image: every pixel gets a Gaussian-weighted mean of the hinted colours.

    A normalised convolution: with ``g`` a Gaussian of standard deviation ``width`` times the
    image's longer side (not normalised: 1 at its centre),

    ``spread_ab = (g * (ab * mask)) / (g * mask)`` and ``nearness = 1 - exp(-(g * mask))``,

    where ``*`` is a convolution over the whole image (zero outside it). Each pixel takes the
    colours of the hints nearest to it, the nearer the more; one hint colours the whole image
    its colour, like Levin et al.'s propagation of one hint, but blind to edges. ``nearness``
    says how much hint there is near the pixel: 1 - e^-1 = 0.63 on a lone one-pixel hint,
    towards 0 far from every hint. Where no hint lies within about 7 widths (the Gaussian's
    weights vanish below 1e-12), and with no hint at all: zeros, as for no hint.

    Args:
        ab: float ``(N, 2, h, w)``, any units (0 where unhinted or not).
        mask: float ``(N, 1, h, w)``, 1 on hinted pixels and 0 elsewhere.
        width: the Gaussian's standard deviation as a fraction of ``max(h, w)``, > 0.

    Returns:
        float ``(N, 3, h, w)``: the spread a and b (in ``ab``'s units) and the nearness (0..1).

    >>> ab, mask = torch.zeros(1, 2, 5, 5), torch.zeros(1, 1, 5, 5)
    >>> ab[0, :, 0, 0], mask[0, 0, 0, 0] = torch.tensor([0.5, -0.25]), 1.0
    >>> spread = spread_hints(ab, mask, width=0.3)
    >>> spread[0, :2, 4, 4].tolist(), round(spread[0, 2, 0, 0].item(), 3), round(spread[0, 2, 4, 4].item(), 3)
    ([0.5, -0.25], 0.632, 0.001)
    """
    if ab.ndim != 4 or ab.shape[1] != 2 or mask.shape != (ab.shape[0], 1, *ab.shape[2:]):
        raise ValueError(f"spread_hints: expected ab (N, 2, h, w) and mask (N, 1, h, w), got "
                         f"{tuple(ab.shape)} and {tuple(mask.shape)}")
    if not width > 0:
        raise ValueError(f"spread_hints: expected a width > 0, got {width!r}")
    rows, columns = ab.shape[-2:]
    sigma = width * max(rows, columns)

    def gaussian(side: int) -> torch.Tensor:  # over every offset two pixels of a side can have
        offsets = torch.arange(1 - side, side, dtype=ab.dtype, device=ab.device)
        return torch.exp(-0.5 * (offsets / sigma) ** 2)

    stacked = torch.cat([ab * mask, mask], dim=1)  # separable: along the height, then along the width
    stacked = F.conv2d(stacked, gaussian(rows).view(1, 1, -1, 1).expand(3, 1, -1, 1), padding=(rows - 1, 0), groups=3)
    stacked = F.conv2d(stacked, gaussian(columns).view(1, 1, 1, -1).expand(3, 1, 1, -1), padding=(0, columns - 1), groups=3)
    weight = stacked[:, 2:]
    spread = torch.where(weight > 1e-12, stacked[:, :2] / weight.clamp_min(1e-12), torch.zeros_like(stacked[:, :2]))
    return torch.cat([spread, 1 - torch.exp(-weight)], dim=1)


def hints_at(hints: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Hint maps at the network's input size, as the decoder takes them at one of its resolutions.

    First the maps are shrunk: each output pixel covers a ``f`` x ``f`` block of input pixels
    (``f = H / h``):

    - its mask is the block's **maximum**: 1 when any pixel of the block is hinted, so that
      a hint of one pixel at 224 x 224 is still a hint at 28 x 28 (an average would make it
      1/64, hard to tell from no hint);
    - its ab is the **mean over the block's hinted pixels** (the ab map averaged with the
      mask as weights), divided by :data:`HINT_AB_SCALE`: the colour the user asked for,
      not diluted by the unhinted pixels around it; 0 where nothing is hinted.

    Then the shrunk hints are spread over the whole image at each width of
    :data:`HINT_SPREADS` (:func:`spread_hints`).

    Args:
        hints: float ``(N, 3, H, W)``: a and b in Lab units (about -128..127) and the mask
            (1 hinted, 0 not), as :func:`colorlib.hints.hint_maps` gives them.
        size: ``(h, w)``, dividing ``(H, W)`` by the same whole factor.

    Returns:
        float ``(N, HINT_FEATURES, h, w)``: ``a / 128``, ``b / 128`` (0 where unhinted) and
        the mask, then for each spread its a, b (also divided by 128) and nearness.

    >>> hints = torch.zeros(1, 3, 4, 4); hints[0, :, 0, 0] = torch.tensor([64.0, -32.0, 1.0])
    >>> at = hints_at(hints, (2, 2))
    >>> at.shape, at[0, :3, 0, 0].tolist(), at[0, 2].tolist()
    (torch.Size([1, 9, 2, 2]), [0.5, -0.25, 1.0], [[1.0, 0.0], [0.0, 0.0]])
    >>> at[0, 6:8, 1, 1].tolist()  # the wide spread: the one hint's colour, everywhere
    [0.5, -0.25]
    """
    if hints.ndim != 4 or hints.shape[1] != HINT_CHANNELS:
        raise ValueError(f"hints_at: expected hints shaped (N, {HINT_CHANNELS}, H, W), got {tuple(hints.shape)}")
    height, width = hints.shape[-2:]
    factor = height // size[0]
    if factor < 1 or size[0] * factor != height or size[1] * factor != width:
        raise ValueError(f"hints_at: {height}x{width} hints do not shrink to {size[0]}x{size[1]} by a whole factor")
    mask = hints[:, 2:]
    ab = hints[:, :2] * mask
    if factor > 1:
        covered = F.avg_pool2d(mask, factor)
        ab = F.avg_pool2d(ab, factor) / covered.clamp_min(1e-6)  # 0 / 1e-6 = 0 where nothing is hinted
        mask = F.max_pool2d(mask, factor)
    ab = ab / HINT_AB_SCALE
    return torch.cat([ab, mask, *(spread_hints(ab, mask, width=spread) for spread in HINT_SPREADS)], dim=1)


class HintDecoder(nn.Sequential):
    """:func:`make_decoder`'s layers, with the hints joined at each resolution (``takes_hints=True``).

    A convolution whose ``in_channels`` is :data:`HINT_FEATURES` more than what reaches it
    gets the hints at its resolution (:func:`hints_at`: shrunk, and spread) concatenated
    after its input channels: the first convolution at H/8 (the encoder's features), at H/4
    and at H/2.

    Why at each resolution and not only at the input: at H/8 a hint covers a block of 8 x 8
    pixels; joined again at H/4 and H/2 the decoder can also place the colour where it
    was asked for, at little cost (9 of 137, 137 and 73 input channels).

    Call: ``decoder(features, hints=None)``: features ``(N, 128, h, w)``, hints
    ``(N, 3, 8h, 8w)`` (None: no hint, a mask of zeros); output as :func:`make_decoder`'s.

    >>> decoder = make_decoder(takes_hints=True).eval()
    >>> features, hints = torch.rand(1, 128, 4, 4), torch.zeros(1, 3, 32, 32)
    >>> hints[0, :2] = 50.0  # an ab map without a mask is no hint
    >>> decoder(features, hints).shape, torch.equal(decoder(features, hints), decoder(features))
    (torch.Size([1, 2, 32, 32]), True)
    """

    def forward(self, features: torch.Tensor, hints: torch.Tensor | None = None) -> torch.Tensor:  # type: ignore[override]
        batch, _, height, width = features.shape
        if hints is None:
            hints = features.new_zeros(batch, HINT_CHANNELS, DOWNSAMPLING_FACTOR * height, DOWNSAMPLING_FACTOR * width)
        expected = (batch, HINT_CHANNELS, DOWNSAMPLING_FACTOR * height, DOWNSAMPLING_FACTOR * width)
        if tuple(hints.shape) != expected:
            raise ValueError(f"HintDecoder: expected hints shaped {expected} for features {tuple(features.shape)}, "
                             f"got {tuple(hints.shape)}")
        hints = hints.to(features.dtype)
        x = features
        for layer in self:
            if isinstance(layer, nn.Conv2d) and layer.in_channels == x.shape[1] + HINT_FEATURES:
                x = torch.cat([x, hints_at(hints, tuple(x.shape[-2:]))], dim=1)
            x = layer(x)
        return x


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


@contextmanager
def eval_mode(module: nn.Module) -> Iterator[nn.Module]:
    """``module`` in eval mode inside the block (batch norms use their running statistics);
    the mode it had is restored afterwards, also when the block raises.

    >>> norm = nn.BatchNorm2d(3)
    >>> with eval_mode(norm):
    ...     norm.training
    False
    >>> norm.training
    True
    """
    was_training = module.training
    module.eval()
    try:
        yield module
    finally:
        module.train(was_training)


class DecoderOnly(nn.Module):
    """The decoder of a model as a module of its own: what learns, and is validated, on
    stored encoder features ``(N, 128, H/8, W/8)`` (and hints ``(N, 3, H, W)`` for a network
    that takes them).

    With ``score_downsample`` even (a classification loss scoring at ``1 / d`` of the
    resolution) it outputs the logits already pooled to ``(H/d, W/d)``
    (:func:`pooled_decoder_output`): the same loss and gradients as pooling the full output,
    without the up-sampling.

    >>> model = ColorizationNet(input_size=64)
    >>> DecoderOnly(model)(torch.zeros(1, 128, 8, 8)).shape
    torch.Size([1, 2, 64, 64])
    """

    def __init__(self, model: "ColorizationNet", *, score_downsample: int = 1) -> None:
        super().__init__()
        self.decoder = model.decoder
        self.pool = score_downsample if score_downsample % 2 == 0 else 1

    def forward(self, features: torch.Tensor, hints: torch.Tensor | None = None) -> torch.Tensor:
        if self.pool > 1:
            return pooled_decoder_output(self.decoder, features, pool=self.pool)
        return self.decoder(features) if hints is None else self.decoder(features, hints)


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
        takes_hints: the decoder also takes colour hints (:class:`HintDecoder`); the
            encoder is the same. ``False`` gives exactly the paper's network (the
            authors' checkpoints load into it).

    Attribute ``input_normalisation``: ``None`` (the paper: ``L / 100`` goes in as it is) or
    ``(mean, std)``: the input is standardised first, as ImageNet's own preprocessing
    does (:data:`IMAGENET_GRAY`); an ablation of notebook 04.

    Input: ``(N, 1, H, W)`` float, ``L / 100`` in 0..1, H and W divisible by 8; for a
    network that takes hints, also ``hints=`` ``(N, 3, H, W)`` (ab in Lab units and the
    mask, :func:`colorlib.hints.hint_maps`; ``None``: no hint).
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
        takes_hints: bool = False,
    ) -> None:
        super().__init__()
        self.encoder = make_encoder()
        self.decoder = make_decoder(2 if decoder is None else decoder.output_channels, takes_hints=takes_hints)
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

    @property
    def takes_hints(self) -> bool:
        """Whether the decoder takes colour hints (:class:`HintDecoder`)."""
        return isinstance(self.decoder, HintDecoder)

    def predict_ab(
        self, lightness: torch.Tensor, temperature: float | None = None, *, hints: torch.Tensor | None = None
    ) -> torch.Tensor:
        """``L / 100`` (N, 1, H, W) -> ab (N, 2, H, W) in ab units (about -128..127).

        Uses the model in whatever mode it is in; ``temperature`` is passed to a
        classification decoder (the annealed mean) and must be ``None`` otherwise;
        ``hints`` as for the forward pass.
        """
        return self.output_to_ab(self(lightness, hints=hints), temperature)

    def output_to_ab(self, output: torch.Tensor, temperature: float | None = None) -> torch.Tensor:
        """The raw output (N, C, H, W) -> ab (N, 2, H, W) in ab units, as :meth:`predict_ab` decodes it."""
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

    def decode(self, features: torch.Tensor, hints: torch.Tensor | None = None) -> torch.Tensor:
        """The decoder alone: the encoder's features ``(N, 128, h, w)`` (and, for a network
        that takes hints, ``hints`` ``(N, 3, 8h, 8w)``) -> the raw output ``(N, C, 8h, 8w)``.

        Raises:
            ValueError: ``hints`` for a network that does not take them.

        >>> net = ColorizationNet(takes_hints=True).eval()
        >>> features = net.encode(torch.rand(1, 1, 32, 32))
        >>> net.decode(features, torch.zeros(1, 3, 32, 32)).shape
        torch.Size([1, 2, 32, 32])
        """
        if not self.takes_hints:
            if hints is not None:
                raise ValueError("hints: this network does not take colour hints (it was built without "
                                 "takes_hints=True, trained without --hints)")
            return self.decoder(features)
        return self.decoder(features, hints)

    def forward(self, lightness: torch.Tensor, hints: torch.Tensor | None = None) -> torch.Tensor:
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
        return self.decode(self.encode(lightness), hints)
