"""The paper's network: half a ResNet-18 down, convolutions and ``nn.Upsample`` up.

::

    L/100 (N, 1, H, W)
      -> encoder: ResNet-18 conv1, bn1, relu, maxpool, layer1, layer2   (N, 128, H/8, W/8)
      -> decoder: conv-bn-relu, upsample x2, conv-bn-relu, upsample x2,
                  conv-bn-relu, conv, upsample x2                        (N, 2, H, W)
      -> ab on the target scale (ab + 128) / 255

The decoder is exactly the layout of the authors' released checkpoints, so their
weights load into it (see :mod:`colorlib.weights`). Weights are a separate concern:
:class:`ColorizationNet` starts from random numbers and :func:`build_colorization_net`
fills the encoder with ImageNet weights.
"""

from __future__ import annotations

import socket
import warnings
from typing import Literal

import torch
from torch import nn
from torchvision.models import ResNet18_Weights, resnet18

__all__ = [
    "ColorizationNet",
    "build_colorization_net",
    "make_encoder",
    "make_decoder",
    "ENCODER_CHILDREN",
    "DOWNSAMPLING_FACTOR",
]

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


def make_decoder() -> nn.Sequential:
    """The authors' up-sampling half: (N, 128, h, w) -> (N, 2, 8h, 8w), no output activation."""
    return nn.Sequential(
        nn.Conv2d(128, 128, kernel_size=3, padding=1),
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
        nn.Conv2d(32, 2, kernel_size=3, padding=1),
        nn.Upsample(scale_factor=2),
    )


class ColorizationNet(nn.Module):
    """The paper's colorization network.

    Args:
        freeze_encoder: keep the ResNet part fixed, as the authors did: its parameters
            get ``requires_grad=False`` and its batch-norm layers stay in eval mode (the
            authors' code let their running statistics drift during training; that is
            why their three checkpoints differ only there).

    Input: ``(N, 1, H, W)`` float, ``L / 100`` in 0..1, H and W divisible by 8.
    Output: ``(N, 2, H, W)`` float, ab on the target scale ``(ab + 128) / 255``
    (about 0..1; not clamped).
    """

    def __init__(self, freeze_encoder: bool = True) -> None:
        super().__init__()
        self.encoder = make_encoder()
        self.decoder = make_decoder()
        self.encoder_frozen = False
        self.freeze_encoder(freeze_encoder)

    def freeze_encoder(self, frozen: bool = True) -> "ColorizationNet":
        """Freeze (or unfreeze) the ResNet part; returns ``self``."""
        self.encoder_frozen = frozen
        for parameter in self.encoder.parameters():
            parameter.requires_grad_(not frozen)
        self.train(self.training)
        return self

    def train(self, mode: bool = True) -> "ColorizationNet":
        super().train(mode)
        if self.encoder_frozen:
            self.encoder.eval()
        return self

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
        return self.decoder(self.encoder(lightness))


def _imagenet_resnet18(timeout_s: float) -> nn.Module:
    """torchvision's ImageNet ResNet-18, downloaded by torchvision on first use."""
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(timeout_s)  # never hang on a half-open network
    try:
        return resnet18(weights=ResNet18_Weights.IMAGENET1K_V1)
    finally:
        socket.setdefaulttimeout(previous)


def build_colorization_net(
    encoder_weights: Literal["imagenet", "released", "random"] = "imagenet",
    freeze_encoder: bool = True,
    download_timeout_s: float = 20.0,
) -> ColorizationNet:
    """A :class:`ColorizationNet` whose encoder starts from pretrained weights.

    Args:
        encoder_weights:
            - ``"imagenet"``: torchvision's ``ResNet18_Weights.IMAGENET1K_V1``
              (downloaded by torchvision into its own cache on first use). With no
              network and no cached copy, a warning is issued and the fallback is the
              encoder of the authors' released checkpoint if it is in colorlib's cache
              (it holds the same ImageNet weights, already summed to one channel), or a
              random initialisation otherwise.
            - ``"released"``: the encoder of the authors' released checkpoint
              (``colorlib.load_pretrained("paper")``; no torchvision download).
            - ``"random"``: no pretrained weights.
        freeze_encoder: see :class:`ColorizationNet`.
        download_timeout_s: socket timeout for torchvision's download.

    Returns:
        A model in training mode; the decoder is randomly initialised.
    """
    from . import weights  # local import: weights imports this module

    if encoder_weights not in ("imagenet", "released", "random"):
        raise ValueError(
            f"encoder_weights: expected 'imagenet', 'released' or 'random', got {encoder_weights!r}"
        )
    net = ColorizationNet(freeze_encoder=freeze_encoder)
    if encoder_weights == "imagenet":
        try:
            net.encoder = make_encoder(_imagenet_resnet18(download_timeout_s))
        except Exception as error:  # URLError, timeouts, a corrupt partial file, ...
            fallback = "a random initialisation"
            if weights.is_cached("paper"):
                try:
                    released = weights.load_pretrained("paper", progress=False)
                except (ValueError, OSError, weights.WeightsUnavailableError):
                    pass  # a corrupt cached copy that cannot be fetched again offline
                else:
                    net.encoder.load_state_dict(released.encoder.state_dict())
                    fallback = "the encoder of the released checkpoint (same ImageNet weights)"
            warnings.warn(
                f"ImageNet weights for ResNet-18 are not available ({type(error).__name__}: "
                f"{error}); using {fallback} instead. Connect to the network once, or put "
                "resnet18-f37072fd.pth into torch's hub cache, to get them.",
                RuntimeWarning,
                stacklevel=2,
            )
    elif encoder_weights == "released":
        net.encoder.load_state_dict(weights.load_pretrained("paper").encoder.state_dict())
    net.freeze_encoder(freeze_encoder)
    return net.train()
