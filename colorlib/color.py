"""sRGB <-> CIELAB conversion on torch tensors, and the paper's scalings.

CIELAB separates lightness from colour:

- ``L`` lightness, 0 (black) to 100 (white);
- ``a`` green (below 0) to red (above 0);
- ``b`` blue (below 0) to yellow (above 0).

For sRGB colours, ``a`` lies in about -86..98 and ``b`` in about -108..94; the
conventional 8-bit range is -128..127. The paper's network sees ``L`` and predicts
``a`` and ``b``.

Conventions (identical to :func:`skimage.color.rgb2lab` with its defaults): sRGB
primaries, its piecewise gamma, the D65 white point with the 2-degree observer.

Tensors are channel-first, ``(..., 3, H, W)`` (a batch ``(N, 3, H, W)`` or one
image ``(3, H, W)``); numpy arrays are channel-last, ``(..., H, W, 3)``, as in
scikit-image, and the result comes back as the same kind of array.

**Out-of-gamut rule.** Many Lab triples have no sRGB colour (``L=50, a=100, b=100``
for instance). :func:`lab_to_rgb` maps them to [0, 1] by clipping each linear-light
channel to [0, 1] after the Lab -> XYZ -> linear RGB conversion (and a negative ``Z``
to 0 first), exactly as scikit-image does. Clipping keeps in-gamut colours unchanged
and moves an out-of-gamut colour to the nearest corner of the RGB cube channel by
channel, which can shift its hue. :func:`out_of_gamut` tells which pixels were
affected.
"""

from __future__ import annotations

from typing import TypeVar, Union

import numpy as np
import torch

__all__ = [
    "rgb_to_lab",
    "lab_to_rgb",
    "out_of_gamut",
    "lab_to_network_input",
    "network_input_to_lightness",
    "ab_to_target",
    "target_to_ab",
    "AB_OFFSET",
    "AB_SCALE",
]

ArrayLike = TypeVar("ArrayLike", torch.Tensor, np.ndarray)
TensorOrArray = Union[torch.Tensor, np.ndarray]

# sRGB (linear) -> CIE XYZ, D65 (the matrix scikit-image uses).
_XYZ_FROM_RGB = (
    (0.412453, 0.357580, 0.180423),
    (0.212671, 0.715160, 0.072169),
    (0.019334, 0.119193, 0.950227),
)
_RGB_FROM_XYZ = tuple(map(tuple, np.linalg.inv(np.array(_XYZ_FROM_RGB)).tolist()))
# D65 white point, 2-degree observer.
_WHITE_D65 = (0.95047, 1.0, 1.08883)
_EPSILON = 0.008856  # (6/29)**3, where the Lab curve switches from linear to cube root
_KAPPA_SLOPE = 7.787  # slope of that linear part, in the f(t) form
_F_THRESHOLD = 0.2068966  # f(_EPSILON) = 6/29, the same switch seen from the Lab side

# The targets of the authors' code: ab -> (ab + 128) / 255, in about 0..1.
AB_OFFSET = 128.0
AB_SCALE = 255.0


# --------------------------------------------------------------------------------------
# Input checks: one place that turns bad input into a clear ValueError.
# --------------------------------------------------------------------------------------


def _as_channel_first_tensor(
    image: TensorOrArray, what: str, expected: str
) -> tuple[torch.Tensor, bool]:
    """Return ``(tensor (..., 3, H, W), was_numpy)`` after checking kind, dtype and shape."""
    if isinstance(image, np.ndarray):
        if not np.issubdtype(image.dtype, np.floating):
            raise ValueError(
                f"{what}: expected a float array with {expected}, got dtype {image.dtype}"
                + (" (for 8-bit images divide by 255 first)" if image.dtype == np.uint8 else "")
            )
        if image.ndim < 3 or image.shape[-1] != 3:
            raise ValueError(
                f"{what}: expected a numpy array shaped (..., H, W, 3) with {expected}, "
                f"got shape {tuple(image.shape)}"
            )
        return torch.from_numpy(np.ascontiguousarray(image)).movedim(-1, -3), True
    if isinstance(image, torch.Tensor):
        if not image.is_floating_point():
            raise ValueError(
                f"{what}: expected a float tensor with {expected}, got dtype {image.dtype}"
                + (" (for 8-bit images divide by 255 first)" if image.dtype == torch.uint8 else "")
            )
        if image.ndim < 3 or image.shape[-3] != 3:
            raise ValueError(
                f"{what}: expected a tensor shaped (..., 3, H, W) with {expected}, "
                f"got shape {tuple(image.shape)}"
            )
        return image, False
    raise ValueError(
        f"{what}: expected a torch.Tensor (..., 3, H, W) or a numpy array (..., H, W, 3), "
        f"got {type(image).__name__}"
    )


def _check_finite(tensor: torch.Tensor, what: str) -> None:
    if not bool(torch.isfinite(tensor).all()):
        raise ValueError(f"{what}: input holds NaN or infinite values; expected finite numbers")


def _back(tensor: torch.Tensor, was_numpy: bool) -> TensorOrArray:
    return tensor.movedim(-3, -1).numpy() if was_numpy else tensor


def _matrix(values, like: torch.Tensor) -> torch.Tensor:
    return torch.tensor(values, dtype=like.dtype, device=like.device)


def _apply_matrix(matrix: torch.Tensor, image: torch.Tensor) -> torch.Tensor:
    """Multiply every pixel's 3-vector of ``image`` (..., 3, H, W) by ``matrix`` (3, 3)."""
    return torch.einsum("ij,...jhw->...ihw", matrix, image)


# --------------------------------------------------------------------------------------
# The conversions.
# --------------------------------------------------------------------------------------


def rgb_to_lab(rgb: ArrayLike) -> ArrayLike:
    """Convert sRGB in [0, 1] to CIELAB (D65, 2-degree observer).

    Args:
        rgb: float tensor ``(..., 3, H, W)`` or float numpy array ``(..., H, W, 3)``,
            values in [0, 1] (a tolerance of 1e-6 is allowed). Any device; batched;
            differentiable.

    Returns:
        Lab of the same kind, shape, dtype and device: ``L`` in 0..100, ``a`` and ``b``
        in about -128..127.

    Raises:
        ValueError: not 3 channels where expected, an integer dtype (uint8: divide by
            255 first), NaN or infinite values, or values outside [0, 1].
    """
    expected = "sRGB values in [0, 1]"
    tensor, was_numpy = _as_channel_first_tensor(rgb, "rgb_to_lab", expected)
    _check_finite(tensor, "rgb_to_lab")
    low, high = (float(v) for v in torch.aminmax(tensor.detach())) if tensor.numel() else (0.0, 0.0)
    if low < -1e-6 or high > 1 + 1e-6:
        raise ValueError(
            f"rgb_to_lab: expected {expected}, got values from {low:.4g} to {high:.4g}"
        )
    # sRGB gamma -> linear light; clamps keep the unused branch finite for autograd.
    linear = torch.where(
        tensor > 0.04045,
        ((tensor.clamp(min=0.04045) + 0.055) / 1.055) ** 2.4,
        tensor / 12.92,
    )
    xyz = _apply_matrix(_matrix(_XYZ_FROM_RGB, tensor), linear)
    xyz = xyz / _matrix(_WHITE_D65, tensor).view(3, 1, 1)
    f = torch.where(
        xyz > _EPSILON,
        xyz.clamp(min=_EPSILON) ** (1.0 / 3.0),
        _KAPPA_SLOPE * xyz + 16.0 / 116.0,
    )
    fx, fy, fz = f.unbind(dim=-3)
    lab = torch.stack((116.0 * fy - 16.0, 500.0 * (fx - fy), 200.0 * (fy - fz)), dim=-3)
    return _back(lab, was_numpy)


def _lab_to_linear_rgb(lab: torch.Tensor) -> torch.Tensor:
    """Lab (..., 3, H, W) -> linear-light RGB, not yet clipped (may leave [0, 1])."""
    lightness, a, b = lab.unbind(dim=-3)
    fy = (lightness + 16.0) / 116.0
    fx = fy + a / 500.0
    fz = (fy - b / 200.0).clamp(min=0.0)  # a negative Z has no colour: clip it, like skimage
    f = torch.stack((fx, fy, fz), dim=-3)
    xyz = torch.where(
        f > _F_THRESHOLD,
        f.clamp(min=_F_THRESHOLD) ** 3,
        (f - 16.0 / 116.0) / _KAPPA_SLOPE,
    )
    xyz = xyz * _matrix(_WHITE_D65, lab).view(3, 1, 1)
    return _apply_matrix(_matrix(_RGB_FROM_XYZ, lab), xyz)


def lab_to_rgb(lab: ArrayLike) -> ArrayLike:
    """Convert CIELAB (D65, 2-degree observer) to sRGB in [0, 1].

    Args:
        lab: float tensor ``(..., 3, H, W)`` or float numpy array ``(..., H, W, 3)``:
            ``L`` in 0..100, ``a`` and ``b`` in about -128..127. Any device; batched;
            differentiable.

    Returns:
        sRGB of the same kind, shape, dtype and device, in [0, 1]. Lab colours outside
        the sRGB gamut are clipped channel by channel in linear light (see the module
        docstring); :func:`out_of_gamut` finds them.

    Raises:
        ValueError: not 3 channels where expected, an integer dtype, NaN or infinite values.
    """
    expected = "L in 0..100 and a, b in about -128..127"
    tensor, was_numpy = _as_channel_first_tensor(lab, "lab_to_rgb", expected)
    _check_finite(tensor, "lab_to_rgb")
    linear = _lab_to_linear_rgb(tensor).clamp(0.0, 1.0)
    rgb = torch.where(
        linear > 0.0031308,
        1.055 * linear.clamp(min=0.0031308) ** (1.0 / 2.4) - 0.055,
        12.92 * linear,
    )
    return _back(rgb.clamp(0.0, 1.0), was_numpy)


def out_of_gamut(lab: ArrayLike, tolerance: float = 1e-4) -> ArrayLike:
    """Which Lab pixels have no exact sRGB colour (and get clipped by :func:`lab_to_rgb`).

    Args:
        lab: as for :func:`lab_to_rgb`.
        tolerance: how far outside [0, 1] a linear RGB channel may go and still count as
            in gamut (absorbs rounding).

    Returns:
        Boolean mask without the channel axis: ``(..., H, W)`` for tensors and arrays.
    """
    tensor, was_numpy = _as_channel_first_tensor(lab, "out_of_gamut", "Lab values")
    _check_finite(tensor, "out_of_gamut")
    lightness, a, b = tensor.unbind(dim=-3)
    negative_z = (lightness + 16.0) / 116.0 - b / 200.0 < 0
    linear = _lab_to_linear_rgb(tensor)
    outside = ((linear < -tolerance) | (linear > 1 + tolerance)).any(dim=-3) | negative_z
    return outside.numpy() if was_numpy else outside


# --------------------------------------------------------------------------------------
# The paper's scalings.
# --------------------------------------------------------------------------------------


def lab_to_network_input(lightness: ArrayLike) -> ArrayLike:
    """The network input: ``L / 100``, in 0..1.

    The authors' code fed ``skimage.color.rgb2gray`` (luma, a weighted sum of the
    *linear* RGB channels, 0..1) instead; it is close to ``L / 100`` in ordering but not
    equal (luma is linear in light, ``L`` is perceptual). Notebook 03 shows that the
    released weights give nearly the same colours with either input.

    Args:
        lightness: ``L`` in 0..100, any shape (a tensor ``(N, 1, H, W)`` for the network).
    """
    return lightness / 100.0


def network_input_to_lightness(network_input: ArrayLike) -> ArrayLike:
    """Inverse of :func:`lab_to_network_input`: ``100 * x``, back to ``L`` in 0..100."""
    return network_input * 100.0


def ab_to_target(ab: ArrayLike) -> ArrayLike:
    """The training target of the authors' code: ``(ab + 128) / 255``, about 0..1.

    On this scale one unit is 255 ab units, so the paper's MSE of 0.002 to 0.003
    corresponds to a root-mean-square error of ``sqrt(0.0025) * 255``, about 13 ab
    units per channel. ``ab = 0`` (gray) maps to 128/255, about 0.502.

    Args:
        ab: ``a`` and ``b`` in about -128..127, any shape (``(N, 2, H, W)`` for training).
    """
    return (ab + AB_OFFSET) / AB_SCALE


def target_to_ab(target: ArrayLike) -> ArrayLike:
    """Inverse of :func:`ab_to_target`: ``target * 255 - 128``, back to ab units."""
    return target * AB_SCALE - AB_OFFSET
