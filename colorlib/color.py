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

import math
from typing import TypeVar, Union

import numpy as np
import torch

__all__ = [
    "AB_OFFSET",
    "AB_SCALE",
    "rgb_to_lab",
    "lightness",
    "lab_to_rgb",
    "out_of_gamut",
    "lab_to_network_input",
    "ab_to_target",
    "target_to_ab",
    "mse_to_ab_rmse",
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


def _back(tensor: torch.Tensor, was_numpy: bool) -> TensorOrArray:
    return tensor.movedim(-3, -1).numpy() if was_numpy else tensor


def _matrix(values, like: torch.Tensor) -> torch.Tensor:
    return torch.tensor(values, dtype=like.dtype, device=like.device)


# --------------------------------------------------------------------------------------
# The conversions.
#
# Speed (benchmarks/lab_speed.py): the two conversions below work on the pixels in
# chunks of _CHUNK_PIXELS on the CPU, so that every intermediate stays in the CPU cache
# instead of streaming a whole batch through memory some twenty times; they avoid
# torch.where (not vectorised on the CPU) by selecting branches with torch.lerp and an
# exact 0/1 weight; they take powers as exp2(p * log2(x)) (faster than torch.pow, as
# accurate in float32 to a few units in the last place) and fold constant factors (the
# white point, 1.055 ** -2.4) into the matrices. Results equal the plain formulas to
# float rounding.
# --------------------------------------------------------------------------------------

_CHUNK_PIXELS = 1 << 18  # 262144 pixels (about 5 images of 224 x 224): 3 MiB per float32 intermediate
_GAMMA_SCALE = 1.055**-2.4  # ((c + 0.055) / 1.055) ** 2.4 = _GAMMA_SCALE * (c + 0.055) ** 2.4
# XYZ / white point from (c + 0.055) ** 2.4-scaled linear RGB, and linear RGB from
# XYZ * white point.
_XYZN_FROM_RGB = tuple(
    map(tuple, (np.array(_XYZ_FROM_RGB) / np.array(_WHITE_D65)[:, None] * _GAMMA_SCALE).tolist())
)
_RGB_FROM_XYZN = tuple(
    map(tuple, (np.array(_RGB_FROM_XYZ) * np.array(_WHITE_D65)[None, :]).tolist())
)
# (L, a, b) = _LAB_FROM_F @ (fx, fy, fz) + _LAB_OFFSET, and its inverse.
_LAB_FROM_F = ((0.0, 116.0, 0.0), (500.0, -500.0, 0.0), (0.0, 200.0, -200.0))
_LAB_OFFSET = (-16.0, 0.0, 0.0)
_F_FROM_LAB = ((1 / 116, 1 / 500, 0.0), (1 / 116, 0.0, 0.0), (1 / 116, 0.0, -1 / 200))
_F_OFFSET = (16.0 / 116.0,) * 3


def _finite_extremes(tensor: torch.Tensor, what: str) -> tuple[float, float]:
    """``(min, max)`` of ``tensor``; a ValueError for NaN or infinite values (one pass)."""
    if tensor.numel() == 0:
        return 0.0, 0.0
    low, high = (float(v) for v in torch.aminmax(tensor.detach()))  # NaN propagates
    if not (math.isfinite(low) and math.isfinite(high)):
        raise ValueError(f"{what}: input holds NaN or infinite values; expected finite numbers")
    return low, high


def _above(values: torch.Tensor, threshold: float) -> torch.Tensor:
    """1.0 where ``values > threshold``, else 0.0, in ``values``' dtype (a constant for autograd)."""
    return torch.gt(values.detach(), threshold, out=torch.empty_like(values, requires_grad=False))


def _select(above: torch.Tensor, if_above: torch.Tensor, otherwise: torch.Tensor) -> torch.Tensor:
    """``torch.where(above == 1, if_above, otherwise)`` for finite values, exactly.

    ``torch.lerp`` computes ``end - (end - start) * (1 - weight)`` for weights of 1 and
    ``start + weight * (end - start)`` for 0, so 0/1 weights pick one input bit for bit.
    """
    return torch.lerp(otherwise, if_above, above)


def _by_chunks(convert, flat: torch.Tensor, constants: tuple) -> torch.Tensor:
    """Apply ``convert(chunk (3, P), *constants)`` to ``flat`` (B, 3, P) chunk by chunk.

    Off the CPU (or for small inputs) the whole batch goes in one call. Writing into a
    new tensor keeps autograd working (the slices are recorded as copies).
    """
    if flat.device.type != "cpu" or flat.shape[0] * flat.shape[-1] <= _CHUNK_PIXELS:
        return convert(flat, *constants)
    out = torch.empty_like(flat)
    for index in range(flat.shape[0]):
        for start in range(0, flat.shape[-1], _CHUNK_PIXELS):
            stop = start + _CHUNK_PIXELS
            out[index, :, start:stop] = convert(flat[index, :, start:stop], *constants)
    return out


def _rgb_chunk_to_lab(
    rgb: torch.Tensor,
    xyzn_from_rgb: torch.Tensor,
    lab_from_f: torch.Tensor,
    lab_offset: torch.Tensor,
    f_linear_offset: torch.Tensor,
) -> torch.Tensor:
    """sRGB (..., 3, P) in [0, 1] -> Lab (..., 3, P); no checks."""
    # sRGB gamma -> linear light, divided by _GAMMA_SCALE (the matrix multiplies it back).
    # rgb >= -1e-6, so the log's argument stays positive.
    powered = torch.exp2(torch.log2(rgb + 0.055) * 2.4)
    linear = _select(_above(rgb, 0.04045), powered, rgb * (1 / (12.92 * _GAMMA_SCALE)))
    xyzn = torch.matmul(xyzn_from_rgb, linear)  # XYZ divided by the white point
    # The clamp keeps the unused cube-root branch finite for autograd.
    cube_root = torch.exp2(torch.log2(xyzn.clamp(min=_EPSILON)) * (1.0 / 3.0))
    f_linear = torch.add(f_linear_offset, xyzn, alpha=_KAPPA_SLOPE)  # 16/116 + 7.787 t
    f = _select(_above(xyzn, _EPSILON), cube_root, f_linear)
    return torch.matmul(lab_from_f, f).add_(lab_offset)


def _lab_chunk_to_linear_rgb(
    lab: torch.Tensor,
    f_from_lab: torch.Tensor,
    f_offset: torch.Tensor,
    f_min: torch.Tensor,
    rgb_from_xyzn: torch.Tensor,
    xyzn_linear_offset: torch.Tensor,
) -> torch.Tensor:
    """Lab (..., 3, P) -> linear-light RGB (..., 3, P), not yet clipped (may leave [0, 1]); no checks."""
    # fz below 0 (a negative Z) has no colour: clip it, like skimage (f_min = (-inf, -inf, 0)).
    f = torch.matmul(f_from_lab, lab).add_(f_offset).clamp(min=f_min)
    xyzn_linear = torch.add(xyzn_linear_offset, f, alpha=1 / _KAPPA_SLOPE)  # (f - 16/116) / 7.787
    xyzn = _select(_above(f, _F_THRESHOLD), f * f * f, xyzn_linear)
    return torch.matmul(rgb_from_xyzn, xyzn)


def _lab_chunk_to_rgb(lab: torch.Tensor, *constants: torch.Tensor) -> torch.Tensor:
    """Lab (..., 3, P) -> sRGB (..., 3, P) in [0, 1], clipped as documented; no checks.

    ``constants``: those of :func:`_lab_chunk_to_linear_rgb`, then ``gamma_offset``.
    """
    *to_linear, gamma_offset = constants
    linear = _lab_chunk_to_linear_rgb(lab, *to_linear).clamp(0.0, 1.0)
    # The clamp keeps the unused power branch finite for autograd.
    root = torch.exp2(torch.log2(linear.clamp(min=0.0031308)) * (1 / 2.4))
    gamma = torch.add(gamma_offset, root, alpha=1.055)  # 1.055 * root - 0.055
    return _select(_above(linear, 0.0031308), gamma, linear * 12.92).clamp(0.0, 1.0)


def _lab_to_linear_constants(like: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """The constants of :func:`_lab_chunk_to_linear_rgb`, in ``like``'s dtype and device."""
    return (
        _matrix(_F_FROM_LAB, like),
        _matrix(_F_OFFSET, like).view(3, 1),
        _matrix((-math.inf, -math.inf, 0.0), like).view(3, 1),
        _matrix(_RGB_FROM_XYZN, like),
        _matrix(-16.0 / 116.0 / _KAPPA_SLOPE, like),
    )


def _flatten_pixels(tensor: torch.Tensor) -> torch.Tensor:
    """(..., 3, H, W) -> (B, 3, H * W)."""
    return tensor.reshape(math.prod(tensor.shape[:-3]), 3, tensor.shape[-2] * tensor.shape[-1])


def rgb_to_lab(rgb: ArrayLike, *, validate: bool = True) -> ArrayLike:
    """Convert sRGB in [0, 1] to CIELAB (D65, 2-degree observer).

    Args:
        rgb: float tensor ``(..., 3, H, W)`` or float numpy array ``(..., H, W, 3)``,
            values in [0, 1] (a tolerance of 1e-6 is allowed). Any device; batched;
            differentiable.
        validate: check the values for NaN, infinities and the [0, 1] range (one pass
            over the data, and on a GPU one wait for it). Pass ``False`` only for input
            that is valid by construction, such as ``uint8 / 255`` in a training loop.

    Returns:
        Lab of the same kind, shape, dtype and device: ``L`` in 0..100, ``a`` and ``b``
        in about -128..127.

    Raises:
        ValueError: not 3 channels where expected, an integer dtype (uint8: divide by
            255 first), NaN or infinite values, or values outside [0, 1].
    """
    expected = "sRGB values in [0, 1]"
    tensor, was_numpy = _as_channel_first_tensor(rgb, "rgb_to_lab", expected)
    low, high = _finite_extremes(tensor, "rgb_to_lab") if validate else (0.0, 1.0)
    if low < -1e-6 or high > 1 + 1e-6:
        raise ValueError(
            f"rgb_to_lab: expected {expected}, got values from {low:.4g} to {high:.4g}"
        )
    constants = (
        _matrix(_XYZN_FROM_RGB, tensor),
        _matrix(_LAB_FROM_F, tensor),
        _matrix(_LAB_OFFSET, tensor).view(3, 1),
        _matrix(16.0 / 116.0, tensor),
    )
    lab = _by_chunks(_rgb_chunk_to_lab, _flatten_pixels(tensor), constants)
    return _back(lab.view(tensor.shape), was_numpy)


# --------------------------------------------------------------------------------------
# Lightness alone: L without a and b, for the many places that throw a and b away.
# --------------------------------------------------------------------------------------


def _srgb_levels_to_luminance() -> np.ndarray:
    """float32 (3, 256): each 8-bit level's contribution to Y, per channel (R, G, B)."""
    level = np.arange(256) / 255.0
    linear = np.where(level > 0.04045, ((level + 0.055) / 1.055) ** 2.4, level / 12.92)
    return (np.array(_XYZ_FROM_RGB[1])[:, None] * linear[None, :] / _WHITE_D65[1]).astype(np.float32)


_Y_FROM_LEVEL = _srgb_levels_to_luminance()


def _lightness_of_levels(red: np.ndarray, green: np.ndarray, blue: np.ndarray) -> np.ndarray:
    """uint8 channels (any equal shapes) -> float32 L; Y from one table look-up per channel."""
    y = np.take(_Y_FROM_LEVEL[0], red)
    y += np.take(_Y_FROM_LEVEL[1], green)
    y += np.take(_Y_FROM_LEVEL[2], blue)
    dark = y <= _EPSILON
    linear = y[dark] * np.float32(116.0 * _KAPPA_SLOPE)  # 116 (16/116 + 7.787 Y) - 16
    np.cbrt(y, out=y)
    y *= np.float32(116.0)
    y -= np.float32(16.0)
    y[dark] = linear
    return y


def lightness(rgb: ArrayLike, *, validate: bool = True) -> ArrayLike:
    """CIE lightness ``L`` of sRGB colours, without computing ``a`` and ``b``.

    The same ``L`` as ``rgb_to_lab(rgb)`` (to float rounding): the sRGB gamma is undone,
    the relative luminance ``Y = 0.2127 R + 0.7152 G + 0.0722 B`` of the linear values
    taken (the middle row of the sRGB -> XYZ matrix; ``Y`` of the D65 white is 1), and
    ``L = 116 Y^(1/3) - 16`` (``903.3 Y`` below ``Y = 0.008856``). About ten times faster
    than :func:`rgb_to_lab` on 8-bit input, which goes through a table of the 256 levels.

    Args:
        rgb: float tensor ``(..., 3, H, W)`` or float numpy array ``(..., H, W, 3)``,
            values in [0, 1] (a tolerance of 1e-6 is allowed); any device; differentiable.
            Or uint8 of either kind, 0..255, read as ``value / 255`` (no checks needed).
        validate: for float input, check the values for NaN, infinities and the
            [0, 1] range (one pass over the data; see :func:`rgb_to_lab`).

    Returns:
        ``L`` in 0..100, of the same kind and device, without the channel axis:
        ``(..., H, W)`` for tensors and arrays. The input's dtype for float input,
        float32 for uint8.

    Raises:
        ValueError: not 3 channels where expected, an integer dtype other than uint8,
            NaN or infinite values, or values outside [0, 1].

    >>> import numpy as np
    >>> lightness(np.array([[[0.5, 0.5, 0.5], [1.0, 1.0, 1.0]]])).round(3).tolist()
    [[53.389, 100.0]]
    >>> round(float(lightness(np.array([[[255, 0, 0]]], dtype=np.uint8))[0, 0]), 2)  # pure red, 8-bit
    53.24
    """
    if isinstance(rgb, np.ndarray) and rgb.dtype == np.uint8:
        if rgb.ndim < 3 or rgb.shape[-1] != 3:
            raise ValueError(f"lightness: expected a uint8 array shaped (..., H, W, 3), got shape {rgb.shape}")
        return _lightness_of_levels(rgb[..., 0], rgb[..., 1], rgb[..., 2])
    if isinstance(rgb, torch.Tensor) and rgb.dtype == torch.uint8:
        if rgb.ndim < 3 or rgb.shape[-3] != 3:
            raise ValueError(f"lightness: expected a uint8 tensor shaped (..., 3, H, W), got shape {tuple(rgb.shape)}")
        levels = rgb.detach().cpu().numpy()
        result = _lightness_of_levels(levels[..., 0, :, :], levels[..., 1, :, :], levels[..., 2, :, :])
        return torch.from_numpy(result).to(rgb.device)
    expected = "sRGB values in [0, 1], or uint8 0..255"
    tensor, was_numpy = _as_channel_first_tensor(rgb, "lightness", expected)
    low, high = _finite_extremes(tensor, "lightness") if validate else (0.0, 1.0)
    if low < -1e-6 or high > 1 + 1e-6:
        raise ValueError(f"lightness: expected {expected}, got values from {low:.4g} to {high:.4g}")
    # As in _rgb_chunk_to_lab: linear light divided by _GAMMA_SCALE, which the row multiplies back.
    powered = torch.exp2(torch.log2(tensor + 0.055) * 2.4)
    linear = _select(_above(tensor, 0.04045), powered, tensor * (1 / (12.92 * _GAMMA_SCALE)))
    y = torch.einsum("c,...chw->...hw", _matrix(_XYZN_FROM_RGB[1], tensor), linear)
    cube_root = torch.exp2(torch.log2(y.clamp(min=_EPSILON)) * (1.0 / 3.0))  # the clamp keeps autograd finite
    f = _select(_above(y, _EPSILON), cube_root, y * _KAPPA_SLOPE + 16.0 / 116.0)
    result = f * 116.0 - 16.0
    return result.numpy() if was_numpy else result


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
    _finite_extremes(tensor, "lab_to_rgb")
    constants = (*_lab_to_linear_constants(tensor), _matrix(-0.055, tensor))
    rgb = _by_chunks(_lab_chunk_to_rgb, _flatten_pixels(tensor), constants)
    return _back(rgb.view(tensor.shape), was_numpy)


def out_of_gamut(lab: ArrayLike, *, tolerance: float = 1e-4) -> ArrayLike:
    """Which Lab pixels have no exact sRGB colour (and get clipped by :func:`lab_to_rgb`).

    Args:
        lab: as for :func:`lab_to_rgb`.
        tolerance: how far outside [0, 1] a linear RGB channel may go and still count as
            in gamut (absorbs rounding).

    Returns:
        Boolean mask without the channel axis: ``(..., H, W)`` for tensors and arrays.
    """
    tensor, was_numpy = _as_channel_first_tensor(lab, "out_of_gamut", "Lab values")
    _finite_extremes(tensor, "out_of_gamut")
    lightness, a, b = tensor.unbind(dim=-3)
    negative_z = (lightness + 16.0) / 116.0 - b / 200.0 < 0
    flat = _by_chunks(_lab_chunk_to_linear_rgb, _flatten_pixels(tensor), _lab_to_linear_constants(tensor))
    linear = flat.view(tensor.shape)
    outside = ((linear < -tolerance) | (linear > 1 + tolerance)).any(dim=-3) | negative_z
    return outside.numpy() if was_numpy else outside


# --------------------------------------------------------------------------------------
# The paper's scalings.
# --------------------------------------------------------------------------------------


def lab_to_network_input(lightness: ArrayLike) -> ArrayLike:
    """The network input: ``L / 100``, in 0..1.

    The authors' code fed ``skimage.color.rgb2gray`` instead: luma, the weighted sum
    ``0.2125 R + 0.7154 G + 0.0721 B`` of the gamma-encoded sRGB values, in 0..1. Both
    grow with brightness, but they are not equal (mid gray 0.5 has luma 0.5 and
    ``L / 100`` 0.53). Appendix A1 shows that the released weights give nearly the same
    colours with either input (a mean difference of about 1 ab unit).

    Args:
        lightness: ``L`` in 0..100, any shape (a tensor ``(N, 1, H, W)`` for the network).
    """
    return lightness / 100.0


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


def mse_to_ab_rmse(mse: float) -> float:
    """A loss on the target scale ``(ab + 128) / 255`` as a root-mean-square error in ab units: ``sqrt(mse) * 255``."""
    if mse < 0:
        raise ValueError(f"mse_to_ab_rmse: expected a non-negative MSE, got {mse}")
    return math.sqrt(mse) * 255.0
