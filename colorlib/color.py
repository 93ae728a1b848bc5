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


def _back(tensor: torch.Tensor, was_numpy: bool) -> TensorOrArray:
    return tensor.movedim(-3, -1).numpy() if was_numpy else tensor


def _matrix(values, like: torch.Tensor) -> torch.Tensor:
    return torch.tensor(values, dtype=like.dtype, device=like.device)


def _apply_matrix(matrix: torch.Tensor, image: torch.Tensor) -> torch.Tensor:
    """Multiply every pixel's 3-vector of ``image`` (..., 3, H, W) by ``matrix`` (3, 3)."""
    return torch.einsum("ij,...jhw->...ihw", matrix, image)


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


def _lab_chunk_to_rgb(
    lab: torch.Tensor,
    f_from_lab: torch.Tensor,
    f_offset: torch.Tensor,
    f_min: torch.Tensor,
    rgb_from_xyzn: torch.Tensor,
    xyzn_linear_offset: torch.Tensor,
    gamma_offset: torch.Tensor,
) -> torch.Tensor:
    """Lab (..., 3, P) -> sRGB (..., 3, P) in [0, 1], clipped as documented; no checks."""
    # fz below 0 (a negative Z) has no colour: clip it, like skimage (f_min = (-inf, -inf, 0)).
    f = torch.matmul(f_from_lab, lab).add_(f_offset).clamp(min=f_min)
    xyzn_linear = torch.add(xyzn_linear_offset, f, alpha=1 / _KAPPA_SLOPE)  # (f - 16/116) / 7.787
    xyzn = _select(_above(f, _F_THRESHOLD), f * f * f, xyzn_linear)
    linear = torch.matmul(rgb_from_xyzn, xyzn).clamp(0.0, 1.0)
    # The clamp keeps the unused power branch finite for autograd.
    root = torch.exp2(torch.log2(linear.clamp(min=0.0031308)) * (1 / 2.4))
    gamma = torch.add(gamma_offset, root, alpha=1.055)  # 1.055 * root - 0.055
    return _select(_above(linear, 0.0031308), gamma, linear * 12.92).clamp(0.0, 1.0)


def _flatten_pixels(tensor: torch.Tensor) -> torch.Tensor:
    """(..., 3, H, W) -> (B, 3, H * W)."""
    return tensor.reshape(math.prod(tensor.shape[:-3]), 3, tensor.shape[-2] * tensor.shape[-1])


def rgb_to_lab(rgb: ArrayLike, validate: bool = True) -> ArrayLike:
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

__all__ += ["lightness"]


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
    _finite_extremes(tensor, "lab_to_rgb")
    constants = (
        _matrix(_F_FROM_LAB, tensor),
        _matrix(_F_OFFSET, tensor).view(3, 1),
        _matrix((-math.inf, -math.inf, 0.0), tensor).view(3, 1),
        _matrix(_RGB_FROM_XYZN, tensor),
        _matrix(-16.0 / 116.0 / _KAPPA_SLOPE, tensor),
        _matrix(-0.055, tensor),
    )
    rgb = _by_chunks(_lab_chunk_to_rgb, _flatten_pixels(tensor), constants)
    return _back(rgb.view(tensor.shape), was_numpy)


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
    _finite_extremes(tensor, "out_of_gamut")
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

    The authors' code fed ``skimage.color.rgb2gray`` instead: luma, the weighted sum
    ``0.2125 R + 0.7154 G + 0.0721 B`` of the gamma-encoded sRGB values, in 0..1. Both
    grow with brightness, but they are not equal (mid gray 0.5 has luma 0.5 and
    ``L / 100`` 0.53). Notebook 03 shows that the released weights give nearly the same
    colours with either input (a mean difference of about 1 ab unit).

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


# --------------------------------------------------------------------------------------
# Editing colour in Lab (notebook 01): a and b carry all of it.
# --------------------------------------------------------------------------------------

__all__ += [
    "scale_chroma_rotate_hue",
    "zero_ab_channels",
    "lab_false_colour",
    "srgb_lab_extremes",
]


def _finite_number(value: object, what: str, minimum: float | None = None) -> float:
    """``value`` as a float, or a ValueError naming ``what`` and the expected range."""
    expected = "a finite number" + ("" if minimum is None else f" >= {minimum:g}")
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ValueError(f"{what}: expected {expected}, got {type(value).__name__} {value!r}")
    number = float(value)
    if not math.isfinite(number) or (minimum is not None and number < minimum):
        raise ValueError(f"{what}: expected {expected}, got {number!r}")
    return number


def scale_chroma_rotate_hue(lab: ArrayLike, chroma_scale: float, hue_degrees: float) -> ArrayLike:
    """Scale the colourfulness and turn the hue of Lab pixels, keeping ``L`` unchanged.

    Each pixel's ``(a, b)`` is a point in the colour plane: its distance from the gray
    axis (0, 0) is the chroma, its angle the hue. This multiplies the chroma by
    ``chroma_scale`` and rotates the angle by ``hue_degrees`` (counter-clockwise, from
    +a = red towards +b = yellow):

        a' = s * (a cos t - b sin t),   b' = s * (a sin t + b cos t)

    ``chroma_scale=0`` gives a gray image with the same ``L``; 1 and 0 degrees give the
    input back. Results may leave the sRGB gamut (see :func:`out_of_gamut`).

    Args:
        lab: float tensor ``(..., 3, H, W)`` or numpy array ``(..., H, W, 3)``: ``L`` in
            0..100, ``a`` and ``b`` in about -128..127.
        chroma_scale: factor >= 0 for the chroma (0 gray, 1 unchanged, 2 twice as vivid).
        hue_degrees: rotation of the hue angle in degrees (any finite number).

    Returns:
        Lab of the same kind, shape, dtype and device.

    Raises:
        ValueError: wrong shape or dtype, NaN in ``lab``, a negative or non-finite scale,
            a non-finite angle.
    """
    scale = _finite_number(chroma_scale, "scale_chroma_rotate_hue: chroma_scale", minimum=0.0)
    angle = math.radians(_finite_number(hue_degrees, "scale_chroma_rotate_hue: hue_degrees"))
    tensor, was_numpy = _as_channel_first_tensor(lab, "scale_chroma_rotate_hue", "Lab values")
    _finite_extremes(tensor, "scale_chroma_rotate_hue")
    lightness, a, b = tensor.unbind(dim=-3)
    cos, sin = scale * math.cos(angle), scale * math.sin(angle)
    edited = torch.stack((lightness, cos * a - sin * b, sin * a + cos * b), dim=-3)
    return _back(edited, was_numpy)


def zero_ab_channels(lab: ArrayLike, a: bool = True, b: bool = True) -> ArrayLike:
    """Switch the ``a`` and/or ``b`` channel off (set it to 0), keeping ``L``.

    With both off every pixel becomes the gray of its own lightness; with ``a`` off
    only the blue-yellow axis is left, with ``b`` off only the green-red axis.

    Args:
        lab: float tensor ``(..., 3, H, W)`` or numpy array ``(..., H, W, 3)`` (Lab).
        a: set ``a`` to 0.
        b: set ``b`` to 0.

    Returns:
        A new Lab array or tensor of the same kind, shape, dtype and device.

    Raises:
        ValueError: wrong shape or dtype, or ``a`` / ``b`` not booleans.
    """
    for name, flag in (("a", a), ("b", b)):
        if not isinstance(flag, (bool, np.bool_)):
            raise ValueError(f"zero_ab_channels: expected {name}=True or False, got {flag!r}")
    tensor, was_numpy = _as_channel_first_tensor(lab, "zero_ab_channels", "Lab values")
    keep = _matrix((1.0, 0.0 if a else 1.0, 0.0 if b else 1.0), tensor).view(3, 1, 1)
    return _back(tensor * keep, was_numpy)


def lab_false_colour(lab: ArrayLike) -> ArrayLike:
    """The paper's "CIELAB" panel: a Lab image shown as if its channels were R, G and B.

    Each channel is brought to about 0..1 with the paper's scalings, the network input
    ``L / 100`` (:func:`lab_to_network_input`) and the targets ``(ab + 128) / 255``
    (:func:`ab_to_target`), and the three are then displayed as red, green and blue.
    It is a false-colour picture of the numbers, not the photo's colours: gray pixels
    (``a = b = 0``) come out pink-gray-teal shades of ``(L/100, 0.5, 0.5)``, white as
    pink ``(1, 0.5, 0.5)``.

    Args:
        lab: float tensor ``(..., 3, H, W)`` or numpy array ``(..., H, W, 3)`` (Lab).

    Returns:
        Same kind, shape and dtype; values in [0, 1] for Lab values in the usual ranges
        (``L`` 0..100, ``a``, ``b`` -128..127).
    """
    tensor, was_numpy = _as_channel_first_tensor(lab, "lab_false_colour", "Lab values")
    lightness, ab = tensor.split([1, 2], dim=-3)
    shown = torch.cat((lab_to_network_input(lightness), ab_to_target(ab)), dim=-3)
    return _back(shown, was_numpy)


def srgb_lab_extremes(steps: int = 52) -> dict[str, dict[str, object]]:
    """Measure the range of ``L``, ``a`` and ``b`` over the sRGB gamut.

    Converts a regular grid of ``steps**3`` sRGB colours (its corners, the primaries,
    secondaries, black and white, included; 52 steps are the 8-bit values 0, 5, ...,
    255) and reports, for each channel, the smallest and largest value and the sRGB
    colour (8-bit) that reaches it. The extremes of ``a`` and ``b`` lie on corners of
    the RGB cube, so a coarse grid finds them exactly.

    Args:
        steps: grid points per RGB axis, 2..256.

    Returns:
        ``{"L": {"min": float, "min_rgb": (r, g, b), "max": float, "max_rgb": (r, g, b)},
        "a": {...}, "b": {...}}`` with 8-bit ``(r, g, b)`` tuples.
    """
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or not 2 <= steps <= 256:
        raise ValueError(f"srgb_lab_extremes: expected an integer number of steps in 2..256, got {steps!r}")
    levels = torch.linspace(0.0, 1.0, int(steps), dtype=torch.float64)
    grid = torch.stack(torch.meshgrid(levels, levels, levels, indexing="ij")).reshape(3, 1, -1)
    lab = rgb_to_lab(grid).reshape(3, -1)  # one image, 1 x steps**3 pixels
    rgb8 = (grid * 255).round().to(torch.int64).reshape(3, -1)
    extremes = {}
    for index, name in enumerate("Lab"):
        channel = lab[index]
        low, high = int(torch.argmin(channel)), int(torch.argmax(channel))
        extremes[name] = {
            "min": float(channel[low]),
            "min_rgb": tuple(int(v) for v in rgb8[:, low]),
            "max": float(channel[high]),
            "max_rgb": tuple(int(v) for v in rgb8[:, high]),
        }
    return extremes


# --------------------------------------------------------------------------------------
# Which (a, b) exist at a given L: slices of the sRGB gamut (notebook 01).
# --------------------------------------------------------------------------------------

__all__ += ["ab_grid", "displayable_ab_plane", "displayable_lightness"]


def ab_grid(step: float = 1.0, limit: float = 128.0) -> np.ndarray:
    """The a (and b) values of an ab-plane grid: ``-limit, -limit + step, ..., +limit``.

    Args:
        step: grid spacing in ab units (> 0); ``limit / step`` must be a whole number, so
            that 0 (gray) is on the grid.
        limit: the grid runs from ``-limit`` to ``+limit`` (> 0, ab units).

    Returns:
        float64 array of ``2 * limit / step + 1`` values, ascending, 0 in the middle.

    >>> ab_grid(step=64.0)
    array([-128.,  -64.,    0.,   64.,  128.])
    """
    step = _finite_number(step, "ab_grid: step", minimum=0.0)
    limit = _finite_number(limit, "ab_grid: limit", minimum=0.0)
    if step == 0.0 or limit == 0.0:
        raise ValueError(f"ab_grid: expected step > 0 and limit > 0, got step={step:g}, limit={limit:g}")
    half = limit / step  # intervals on each side of 0
    if round(half) < 1 or abs(half - round(half)) > 1e-9 * half or round(half) > 2048:
        raise ValueError(
            f"ab_grid: expected a step that divides limit = {limit:g} into 1 to 2048 whole "
            f"intervals, got step={step:g}"
        )
    return step * np.arange(-round(half), round(half) + 1, dtype=np.float64)


def displayable_ab_plane(
    lightness: float, step: float = 1.0, limit: float = 128.0, blank: float = 1.0
) -> tuple[np.ndarray, np.ndarray]:
    """The slice of the sRGB gamut at one lightness: every (a, b) a screen can show at ``L``.

    The grid is :func:`ab_grid` on both axes, laid out like a plot of the ab plane:
    column ``j`` has ``a = ab_grid(step, limit)[j]`` (green on the left, red on the
    right) and row ``i`` has ``b = ab_grid(step, limit)[::-1][i]`` (yellow at the top,
    blue at the bottom), so gray (0, 0) is the centre pixel.

    Args:
        lightness: ``L`` in 0..100.
        step, limit: the grid (see :func:`ab_grid`); 1 and 128 give 257 x 257 pixels.
        blank: the value (0..1) of all three channels where no sRGB colour exists
            (1.0: white).

    Returns:
        ``(rgb, displayable)``: sRGB float64 ``(n, n, 3)`` in [0, 1], the colour of each
        displayable (a, b) and ``blank`` elsewhere; and a bool mask ``(n, n)``, True where
        ``(L, a, b)`` is inside the sRGB gamut (:func:`out_of_gamut` is False).

    Raises:
        ValueError: ``lightness`` outside 0..100 or not a number, a bad grid, ``blank``
            outside 0..1.

    >>> rgb, displayable = displayable_ab_plane(100.0, step=64.0)
    >>> int(displayable.sum()), bool(displayable[2, 2])  # at L = 100 only white (a = b = 0)
    (1, True)
    """
    lightness = _finite_number(lightness, "displayable_ab_plane: lightness", minimum=0.0)
    if lightness > 100.0:
        raise ValueError(f"displayable_ab_plane: expected lightness (L) in 0..100, got {lightness:g}")
    blank = _finite_number(blank, "displayable_ab_plane: blank", minimum=0.0)
    if blank > 1.0:
        raise ValueError(f"displayable_ab_plane: expected blank in 0..1, got {blank:g}")
    values = ab_grid(step, limit)
    a, b = np.meshgrid(values, values[::-1])
    lab = np.stack((np.full_like(a, lightness), a, b), axis=-1)
    displayable = ~out_of_gamut(lab)
    rgb = lab_to_rgb(lab)
    rgb[~displayable] = blank
    return rgb, displayable


def displayable_lightness(a: float, b: float, step: float = 0.5) -> np.ndarray:
    """The lightnesses at which the colour ``(a, b)`` exists on an sRGB screen.

    Args:
        a: green (< 0) to red (> 0), ab units.
        b: blue (< 0) to yellow (> 0), ab units.
        step: spacing of the tested ``L`` values ``0, step, ..., 100`` (``100 / step``
            must be a whole number).

    Returns:
        float64 array of the ``L`` values (ascending) at which ``(L, a, b)`` is inside the
        sRGB gamut; empty when there are none. For ``a = b = 0`` that is every L.

    >>> lightness = displayable_lightness(80.0, -80.0)
    >>> float(lightness.min()), float(lightness.max())  # a purple that exists only at L 41..48.5
    (41.0, 48.5)
    """
    a = _finite_number(a, "displayable_lightness: a")
    b = _finite_number(b, "displayable_lightness: b")
    step = _finite_number(step, "displayable_lightness: step", minimum=0.0)
    intervals = 100.0 / step if step > 0 else math.inf
    if not math.isfinite(intervals) or abs(intervals - round(intervals)) > 1e-9 * intervals or intervals > 100_000:
        raise ValueError(f"displayable_lightness: expected a step > 0 that divides 100 into whole intervals, got {step:g}")
    lightness = step * np.arange(round(intervals) + 1, dtype=np.float64)
    lab = np.stack((lightness, np.full_like(lightness, a), np.full_like(lightness, b)), axis=-1)[None]
    return lightness[~out_of_gamut(lab)[0]]
