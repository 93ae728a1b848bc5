"""ModelZ: the colorization network of Zhang, Isola and Efros, *Colorful Image Colorization* (ECCV 2016).

The paper calls it "ModelZ" and compares against it in its Figure 5. It differs from
the paper's own network in the two ways that matter for the MSE-dullness question of
notebook 05:

* it is much bigger (about 32.2 M parameters against 0.9 M): eight blocks of 3x3
  convolutions ``conv1`` .. ``conv8``, each block ending in batch norm, with dilated
  (atrous) convolutions in ``conv5`` and ``conv6``, trained from scratch;
* it does **not** regress ab. Its last 1x1 convolution gives, at every position, 313
  logits, one per quantised ab bin (a 10x10 grid of the in-gamut part of the ab
  plane); a softmax turns them into a probability distribution over colours. The
  colour shown is a summary of that distribution: its mean (what the released PyTorch
  code does) or, in the ECCV paper, the *annealed mean* (the mean of the distribution
  sharpened by a temperature T = 0.38), a compromise between the dull mean and the
  vivid but patchy mode.

::

    L (N, 1, H, W), 0..100
      -> (L - 50) / 100                                  l_cent = 50, l_norm = 100
      -> model1 .. model7   (N, 512, H/8, W/8)           conv1..conv7, dilation 2 in 5 and 6
      -> model8             (N, 313, H/4, W/4)           transposed conv x2, 313 logits
      -> softmax over the 313 bins (optionally logits / T first: the annealed mean)
      -> model_out: 1x1 conv 313 -> 2 without bias      the expectation sum_q p_q * centre_q / 110
      -> upsample4 (bilinear, x4)                        (N, 2, H, W)
      -> * 110                                           ab_norm = 110, back to ab units

Parameter names follow the authors' PyTorch port (``model1`` .. ``model8`` as
``nn.Sequential``, ``model_out``, ``upsample4``) so that their released state dict
``colorization_release_v2-9b330a0b.pth`` loads with ``strict=True``. The 313 bin
centres are not stored separately in that file: they *are* the weights of
``model_out`` (divided by ``ab_norm``), because a 1x1 convolution without bias applied
to probabilities computes exactly the expectation of the bin centres. That is also why
:meth:`ModelZ.bin_centres` can read them back from a loaded model.

:class:`ModelZ` speaks the course's interface too (``forward``: ``L/100`` in, ab
targets ``(ab + 128) / 255`` out, like :class:`colorlib.model.ColorizationNet`), so
every tool that colorizes with the paper's network also colorizes with ModelZ.
:meth:`ModelZ.predict_ab` works in Lab units directly.
"""

from __future__ import annotations

import torch
from torch import nn

from .color import ab_to_target

__all__ = [
    "NUM_AB_BINS",
    "MODELZ_OFFLINE_MESSAGE",
    "ModelZ",
]


#: Number of quantised ab bins ModelZ classifies into.
NUM_AB_BINS = 313
#: What every ModelZ cell of the notebooks prints when the weights cannot be had.
MODELZ_OFFLINE_MESSAGE = "ModelZ weights are not available offline"

def _conv_block(channels: list[int], stride_last: int = 1, dilation: int = 1) -> nn.Sequential:
    """3x3 convolutions with ReLU, the last one strided, then batch norm (one ``convN`` block)."""
    layers: list[nn.Module] = []
    for index, (c_in, c_out) in enumerate(zip(channels[:-1], channels[1:])):
        stride = stride_last if index == len(channels) - 2 else 1
        layers += [
            nn.Conv2d(c_in, c_out, kernel_size=3, stride=stride, padding=dilation, dilation=dilation, bias=True),
            nn.ReLU(inplace=True),
        ]
    layers.append(nn.BatchNorm2d(channels[-1]))
    return nn.Sequential(*layers)


class ModelZ(nn.Module):
    """Zhang et al.'s ECCV16 colorization network (random weights; see :func:`load_modelz`).

    Args:
        temperature: ``None`` (default) for the plain mean of the predicted colour
            distribution, as the released PyTorch code does; a number ``T > 0`` for the
            annealed mean, ``softmax(logits / T)`` before the expectation (the ECCV paper
            uses ``T = 0.38``; ``T -> 0`` approaches the mode, ``T = 1`` is the mean).

    Attributes:
        l_cent, l_norm: input scaling, ``(L - l_cent) / l_norm`` (50 and 100).
        ab_norm: output scaling, ab = network output times ``ab_norm`` (110).

    ``forward`` input: ``(N, 1, H, W)`` float, ``L / 100`` in 0..1 (the course's
    convention), H and W divisible by 8. Output: ``(N, 2, H, W)`` float, ab on the
    course's target scale ``(ab + 128) / 255``.
    """

    l_cent = 50.0
    l_norm = 100.0
    ab_norm = 110.0

    def __init__(self, temperature: float | None = None) -> None:
        super().__init__()
        self.temperature = temperature
        self.model1 = _conv_block([1, 64, 64], stride_last=2)
        self.model2 = _conv_block([64, 128, 128], stride_last=2)
        self.model3 = _conv_block([128, 256, 256, 256], stride_last=2)
        self.model4 = _conv_block([256, 512, 512, 512])
        self.model5 = _conv_block([512, 512, 512, 512], dilation=2)
        self.model6 = _conv_block([512, 512, 512, 512], dilation=2)
        self.model7 = _conv_block([512, 512, 512, 512])
        self.model8 = nn.Sequential(
            nn.ConvTranspose2d(512, 256, kernel_size=4, stride=2, padding=1, bias=True),
            nn.ReLU(inplace=True),
            nn.Conv2d(256, 256, kernel_size=3, padding=1, bias=True),
            nn.ReLU(inplace=True),
            nn.Conv2d(256, 256, kernel_size=3, padding=1, bias=True),
            nn.ReLU(inplace=True),
            nn.Conv2d(256, NUM_AB_BINS, kernel_size=1, bias=True),
        )
        self.softmax = nn.Softmax(dim=1)
        self.model_out = nn.Conv2d(NUM_AB_BINS, 2, kernel_size=1, bias=False)
        self.upsample4 = nn.Upsample(scale_factor=4, mode="bilinear")

    @property
    def temperature(self) -> float | None:
        """``None`` for the mean, ``T > 0`` for the annealed mean."""
        return self._temperature

    @temperature.setter
    def temperature(self, value: float | None) -> None:
        if value is not None and not (float(value) > 0):
            raise ValueError(f"ModelZ.temperature: expected None or a number > 0, got {value!r}")
        self._temperature = None if value is None else float(value)

    # ---- the parts ------------------------------------------------------------------

    def bin_logits(self, lightness: torch.Tensor) -> torch.Tensor:
        """The 313 logits per position: ``(N, 1, H, W)`` L in 0..100 -> ``(N, 313, H/4, W/4)``."""
        _check_lightness(lightness, "ModelZ.bin_logits", "L in 0..100")
        features = (lightness - self.l_cent) / self.l_norm
        for block in (self.model1, self.model2, self.model3, self.model4, self.model5, self.model6, self.model7, self.model8):
            features = block(features)
        return features

    def bin_probabilities(self, logits: torch.Tensor, temperature: float | None = None) -> torch.Tensor:
        """Softmax over the bin axis of ``logits`` (N, 313, h, w); ``temperature`` anneals it."""
        temperature = self.temperature if temperature is None else temperature
        return self.softmax(logits if temperature is None else logits / temperature)

    def bin_centres(self) -> torch.Tensor:
        """The 313 ab bin centres in ab units, ``(313, 2)``, read from ``model_out``'s weights.

        Meaningful only for trained weights: for the released file these should be the
        313 centres of Zhang et al.'s 10 x 10 grid (not checked here without the file).
        """
        return self.model_out.weight.detach()[:, :, 0, 0].T * self.ab_norm

    def predict_ab(self, lightness: torch.Tensor, temperature: float | None = None) -> torch.Tensor:
        """ab in ab units: ``(N, 1, H, W)`` L in 0..100 -> ``(N, 2, H, W)``, about -110..110.

        Args:
            lightness: L in 0..100, H and W divisible by 8.
            temperature: overrides :attr:`temperature` for this call.
        """
        probabilities = self.bin_probabilities(self.bin_logits(lightness), temperature)
        return self.upsample4(self.model_out(probabilities)) * self.ab_norm

    def forward(self, lightness_over_100: torch.Tensor) -> torch.Tensor:
        """The course's interface: ``L / 100`` (N, 1, H, W) -> ab targets ``(ab + 128) / 255``."""
        _check_lightness(lightness_over_100, "ModelZ", "L/100 in 0..1")
        return ab_to_target(self.predict_ab(lightness_over_100 * 100.0))


def _check_lightness(lightness: torch.Tensor, what: str, expected: str) -> None:
    if not isinstance(lightness, torch.Tensor) or lightness.ndim != 4 or lightness.shape[1] != 1:
        shape = tuple(lightness.shape) if isinstance(lightness, torch.Tensor) else type(lightness).__name__
        raise ValueError(f"{what}: expected a tensor (N, 1, H, W) with {expected}, got {shape}")
    height, width = lightness.shape[-2:]
    if height % 8 or width % 8:
        raise ValueError(f"{what}: height and width must be divisible by 8, got {height}x{width} (resize to 256x256, say)")
