"""Colorize photographs of any size in memory: the network's a and b, at the photo's own size.

The network only ever sees a small square; the colors it predicts are spread back over
the photo, whatever its size:

1. the photo (H, W, 3) is resized to ``size`` x ``size`` (the model's
   ``input_size``: 224 for the paper) with :func:`colorlib.images.resize`, its
   lightness computed with :func:`colorlib.color.lightness`, and ``L / 100`` goes
   through the network, which answers a and b at ``size`` x ``size``;
2. a and b are enlarged to (H, W) by bilinear interpolation;
3. they are merged with the lightness ``L`` of the full-resolution photo and turned
   back into 8-bit RGB as :func:`colorlib.color.lab_to_rgb` does (the last step, linear
   light to 8-bit sRGB, through a table).

So the result keeps the photo's own resolution and its own lightness, pixel for pixel:
only a and b are predicted. The photo's own a and b are never computed (only ``L`` is
used), and each photo is read once: the functions below take a path, a PIL image or an
array, read it with :func:`colorlib.images.load_image` under the caller's
``max_pixels``, and work on that array from then on.

**The network input is ``L / 100``** (:func:`colorlib.color.lab_to_network_input`). The
paper authors' code fed ``skimage.color.rgb2gray`` instead: luma, the weighted sum
``0.2125 R + 0.7154 G + 0.0721 B`` of the gamma-encoded sRGB values, 0..1. Both grow with
brightness but they are not equal (mid gray 0.5 has luma 0.5 and ``L / 100`` 0.534);
appendix A1 shows that the authors' released weights give nearly the same colors with
either.

**Large photos.** Steps 2 and 3 work in bands of rows small enough for the CPU cache:
the enlarged a and b are made band by band too (the same numbers as
``torch.nn.functional.interpolate`` on the whole photo), so beyond the photo itself and
its result nothing of full resolution is ever held. The bands are shared out to threads.
``benchmarks/colorize_speed.py`` measures this against scikit-image.

**Colour hints.** A network trained with ``colorlib train --hints`` also takes the
user's hints (:class:`colorlib.hints.Hint`, in pixels of the photo): :func:`colorize`
and :func:`predict_ab` take ``hints=``, turned into the network's maps at its input size
(:func:`colorlib.hints.hint_maps` with ``from_size``). :class:`HintColorizer` keeps the
encoder's features of one photo, so that each new set of hints costs only the decoder
and the full-resolution merge (a widget that updates as the user clicks).

**Argument order.** Every function here takes the data first and the model second,
``(image, model, *, options)``, as :func:`colorlib.colorize_files.colorize_paths` does;
options are keyword-only. Files and folders (the ``colorlib colorize`` command) and
uploads are :mod:`colorlib.colorize_files`' work.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Literal

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

from .color import _F_THRESHOLD, _KAPPA_SLOPE, _RGB_FROM_XYZN, lab_to_network_input, lightness, target_to_ab
from .hints import Hint, hint_maps
from .images import DEFAULT_MAX_PIXELS, ImageSource, load_image, resize
from .model import DOWNSAMPLING_FACTOR, ColorizationNet, eval_mode
from .modelz import ModelZ

__all__ = [
    "Upsampling",
    "network_input",
    "predict_ab",
    "replace_ab",
    "colorize",
    "colorize_many",
    "HintColorizer",
]

Upsampling = Literal["bilinear", "nearest"]

# Pixels per band in the full-resolution conversions: each float32 intermediate (3 x 64K
# values, 768 KB) stays in the CPU's L2 cache, and a thread's scratch memory stays small.
_BAND_PIXELS = 1 << 16


# --------------------------------------------------------------------------------------
# Checks: bad arguments are ValueErrors at the call, before any photo is read.
# --------------------------------------------------------------------------------------


def _check_size(input_size: int) -> int:
    if isinstance(input_size, bool) or not isinstance(input_size, (int, np.integer)) or input_size <= 0 or input_size % DOWNSAMPLING_FACTOR:
        raise ValueError(
            f"input_size: expected a positive integer divisible by {DOWNSAMPLING_FACTOR} (the side the model "
            f"was trained at), got {input_size!r}"
        )
    return int(input_size)


def _resolve_size(model: nn.Module, input_size: int | None) -> int:
    """``input_size``, or the model's own ``input_size`` when ``input_size`` is ``None``."""
    if input_size is None:
        input_size = getattr(model, "input_size", None)
        if input_size is None:
            raise ValueError(
                "size: the model does not record the side it was trained at (model.input_size is None); "
                f"pass size=, a positive integer divisible by {DOWNSAMPLING_FACTOR}"
            )
    return _check_size(input_size)


def _check_upsampling(upsample: str) -> str:
    if upsample not in ("bilinear", "nearest"):
        raise ValueError(f"upsample: expected 'bilinear' or 'nearest', got {upsample!r}")
    return upsample


def _check_positive(value: int, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{what}: expected a positive integer, got {value!r}")
    return int(value)


def _check_max_pixels(max_pixels: int | None) -> int | None:
    return None if max_pixels is None else _check_positive(max_pixels, "max_pixels")


def _check_temperature(model: nn.Module, temperature: float | None) -> float | None:
    """``None``, or a finite number > 0 for a model with an annealed mean to take it."""
    if temperature is None:
        return None
    if isinstance(temperature, bool) or not isinstance(temperature, (int, float, np.integer, np.floating)) or not (
        math.isfinite(temperature) and temperature > 0
    ):
        raise ValueError(
            f"temperature: expected a finite number > 0 (the annealed mean's T; 0.38 in Zhang et al.), "
            f"got {temperature!r}"
        )
    if isinstance(model, ColorizationNet) and model.output_decoder is None:
        raise ValueError(
            "temperature: this model regresses ab (the paper's MSE output), it has no annealed mean; "
            "pass temperature=None, or a classification model"
        )
    if not isinstance(model, (ColorizationNet, ModelZ)):
        raise ValueError(f"temperature applies to ColorizationNet and ModelZ models, not to {type(model).__name__}")
    return float(temperature)


def _check_hints(model: nn.Module, hints: Sequence[Hint] | None) -> list[Hint] | None:
    """``None``, or the hints as a list when ``model`` takes them (a ColorizationNet built with ``takes_hints``)."""
    if hints is None:
        return None
    if not (isinstance(model, ColorizationNet) and model.takes_hints):
        raise ValueError(
            "hints: this model does not take colour hints (it was trained without them); use a model trained "
            "with `colorlib train --hints`, or colorlib.propagation to spread hints over its colors"
        )
    hints = list(hints)
    bad = next((i for i, hint in enumerate(hints) if not isinstance(hint, Hint)), None)
    if bad is not None:
        raise ValueError(f"hints: expected colorlib.hints.Hint objects, entry {bad} is {type(hints[bad]).__name__}")
    return hints


def _hint_input(hints: Sequence[Hint] | None, rgb_images: Sequence[np.ndarray], input_size: int) -> torch.Tensor | None:
    """The network's hint maps ``(N, 3, size, size)`` (ab, mask) of the same hints on each photo, or ``None``."""
    if hints is None:
        return None
    maps = [hint_maps(hints, height=input_size, width=input_size, from_size=rgb.shape[:2]) for rgb in rgb_images]
    return torch.stack([torch.cat(pair) for pair in maps])


def _check_options(
    model: nn.Module, input_size: int | None, upsample: str, temperature: float | None, max_pixels: int | None
) -> tuple[int, str, float | None, int | None]:
    """The checked ``(size, upsample, temperature, max_pixels)`` of any function colorizing with ``model``."""
    if not isinstance(model, nn.Module):
        raise ValueError(
            f"model: expected a torch.nn.Module (arguments go (image, model, ...)), got {type(model).__name__}"
        )
    return _resolve_size(model, input_size), _check_upsampling(upsample), _check_temperature(model, temperature), (
        _check_max_pixels(max_pixels)
    )


# --------------------------------------------------------------------------------------
# The steps: network input, predicted ab, enlarging ab, merging with the photo's own L.
# --------------------------------------------------------------------------------------


def network_input(
    images: Sequence[ImageSource], input_size: int, *, max_pixels: int | None = DEFAULT_MAX_PIXELS
) -> torch.Tensor:
    """What the network sees: each image resized to ``input_size`` x ``input_size``, as ``L / 100``.

    The RGB image is resized with :func:`colorlib.images.resize` (aspect ratio not
    kept, as in the authors' code) and its lightness computed with
    :func:`colorlib.color.lightness`.

    Args:
        images: images in any form :func:`colorlib.images.load_image` accepts.
        input_size: side of the square, divisible by 8.
        max_pixels: image files above this many pixels are refused (``None``: no limit).

    Returns:
        float32 tensor ``(N, 1, size, size)`` on the CPU, values in 0..1.
    """
    input_size = _check_size(input_size)
    max_pixels = _check_max_pixels(max_pixels)
    return _network_input([load_image(image, max_pixels=max_pixels) for image in images], input_size)


def _network_input(rgb_images: Sequence[np.ndarray], input_size: int) -> torch.Tensor:
    """uint8 RGB photos (H_i, W_i, 3), already read -> L/100 ``(N, 1, size, size)`` float32."""
    if not rgb_images:
        raise ValueError("network_input: expected at least one image, got none")
    small = np.stack([resize(rgb, input_size, input_size) for rgb in rgb_images])
    return lab_to_network_input(torch.from_numpy(lightness(small)))[:, None].contiguous()


def _run_network(
    model: nn.Module, inputs: torch.Tensor, temperature: float | None = None, hints: torch.Tensor | None = None
) -> torch.Tensor:
    """``inputs`` L/100 (N, 1, s, s) -> ab (N, 2, s, s) in ab units, float32 on the CPU.

    A :class:`~colorlib.model.ColorizationNet` answers through its ``predict_ab`` (so a
    classification model gives ab too), :class:`~colorlib.modelz.ModelZ` through its own
    (L in 0..100); any other module is taken to map L/100 to ab targets ``(ab + 128) / 255``.
    ``temperature`` (checked by :func:`_check_temperature`) goes to the first two, ``hints``
    (N, 3, s, s) (checked by :func:`_check_hints`) to a ColorizationNet. The model runs in eval mode on its own device; its mode is restored afterwards.
    """
    parameter = next(model.parameters(), None)
    device = parameter.device if parameter is not None else torch.device("cpu")
    dtype = parameter.dtype if parameter is not None else torch.float32
    with eval_mode(model), torch.inference_mode():
        lightness_over_100 = inputs.to(device=device, dtype=dtype)
        if isinstance(model, ColorizationNet):
            hints = None if hints is None else hints.to(device=device, dtype=dtype)
            ab = model.predict_ab(lightness_over_100, temperature, hints=hints)
        elif isinstance(model, ModelZ):
            ab = model.predict_ab(lightness_over_100 * 100.0, temperature)
        else:
            ab = target_to_ab(model(lightness_over_100))
    return ab.float().cpu()


class _EnlargedAb:
    """The network's ab ``(2, h, w)`` enlarged to ``(2, height, width)``, made band by band.

    The same numbers as ``F.interpolate(ab, (height, width), mode, align_corners=False)``
    on the whole image: the width is enlarged once (``(2, h, width)``, small), and each
    band of rows is interpolated from it with PyTorch's own source indices and weights
    (computed in float32 as its CPU kernel does).
    """

    def __init__(self, ab_small: torch.Tensor, height: int, width: int, upsample: str) -> None:
        small_height = ab_small.shape[-2]
        options = {"align_corners": False} if upsample == "bilinear" else {}
        with torch.inference_mode():
            self.wide = F.interpolate(ab_small[None].float(), size=(small_height, width), mode=upsample, **options)[0]
            scale = torch.tensor(float(small_height), dtype=torch.float32) / height
            rows = torch.arange(height, dtype=torch.float32)
            if upsample == "bilinear":
                source = (scale * (rows + 0.5) - 0.5).clamp_(min=0.0)
                self.first = torch.floor(source).long().clamp_(max=small_height - 1)
                self.weight = (source - self.first).clamp_(0.0, 1.0)
                self.second = self.first + (self.first < small_height - 1).long()
            else:  # PyTorch's nearest: exact shortcuts for 1x and 2x, else floor(row * scale)
                if height == small_height:
                    self.first = torch.arange(height)
                elif height == 2 * small_height:
                    self.first = torch.arange(height) // 2
                else:
                    self.first = torch.floor(rows * scale).long().clamp_(max=small_height - 1)
                self.weight = None

    def rows(self, top: int, stop: int) -> torch.Tensor:
        """ab for rows ``top:stop``: float32 ``(2, stop - top, width)``."""
        with torch.inference_mode():
            upper = self.wide[:, self.first[top:stop]]
            if self.weight is None:
                return upper
            weight = self.weight[top:stop].view(1, -1, 1)
            lower = self.wide[:, self.second[top:stop]]
            return upper * (1.0 - weight) + lower * weight


# Linear light -> 8-bit sRGB through a table instead of a power per value. Linear light
# is cut into _GAMMA_BINS equal bins; each spans less than one 8-bit level (the steepest
# part of the sRGB curve climbs 12.92 x 255 = 3295 levels per unit), so within a bin the
# rounded level is the bin's first level, plus one above the bin's threshold (if any).
_GAMMA_BINS = 4096


def _gamma_table() -> tuple[np.ndarray, np.ndarray]:
    """(first level of each bin, uint8; linear light where the next level starts, float32, inf if not in the bin)."""
    edges = np.arange(_GAMMA_BINS + 1) / _GAMMA_BINS
    encoded = np.where(edges > 0.0031308, 1.055 * np.maximum(edges, 0.0031308) ** (1 / 2.4) - 0.055, 12.92 * edges)
    first = np.round(encoded[:-1] * 255.0)
    halfway = (first + 0.5) / 255.0  # sRGB value where rounding goes up a level, back to linear light
    step = np.where(halfway > 0.04045, ((halfway + 0.055) / 1.055) ** 2.4, halfway / 12.92)
    return first.astype(np.uint8), np.where(step < edges[1:], step, np.inf).astype(np.float32)


_FIRST_LEVEL, _NEXT_LEVEL_AT = _gamma_table()


def _lab_to_rgb8(lightness_band: np.ndarray, ab_band: np.ndarray, out: np.ndarray) -> None:
    """L (n, W) and ab (2, n, W), float32 -> ``out`` uint8 sRGB (n, W, 3).

    :func:`colorlib.color.lab_to_rgb`'s conversion and out-of-gamut rule (a negative Z
    clipped to 0, linear RGB clipped to [0, 1]), rounded to 8 bits through
    :func:`_gamma_table`: equal to ``round(255 * lab_to_rgb(lab))`` but for float32
    rounding (at most one level, for a few values in a million), about five times faster.
    """
    fy = lightness_band * np.float32(1 / 116) + np.float32(16 / 116)
    fx = fy + ab_band[0] * np.float32(1 / 500)
    fz = np.maximum(fy - ab_band[1] * np.float32(1 / 200), np.float32(0.0))
    xyzn = []
    for f in (fx, fy, fz):
        cube = f * f * f
        linear = (f - np.float32(16 / 116)) * np.float32(1 / _KAPPA_SLOPE)
        xyzn.append(np.where(f > np.float32(_F_THRESHOLD), cube, linear))
    for channel, (to_x, to_y, to_z) in enumerate(np.asarray(_RGB_FROM_XYZN, dtype=np.float32)):
        linear = xyzn[0] * to_x + xyzn[1] * to_y + xyzn[2] * to_z
        np.clip(linear, 0.0, 1.0, out=linear)
        bins = (linear * np.float32(_GAMMA_BINS)).astype(np.intp)
        np.minimum(bins, _GAMMA_BINS - 1, out=bins)
        level = np.take(_FIRST_LEVEL, bins)
        level += linear > np.take(_NEXT_LEVEL_AT, bins)
        out[..., channel] = level


def _colorize_band(rgb_band: np.ndarray, ab_band: torch.Tensor) -> np.ndarray:
    """uint8 RGB (n, W, 3) and ab (2, n, W) -> uint8 RGB (n, W, 3) with the band's own L."""
    result = np.empty(rgb_band.shape, dtype=np.uint8)
    _lab_to_rgb8(lightness(rgb_band), ab_band.numpy(), result)
    return result


def _merge(
    rgb: np.ndarray,
    ab_rows: Callable[[int, int], torch.Tensor],
    sink: Callable[[int, np.ndarray], None],
    threads: int,
) -> None:
    """The photo's own L with new ab, band by band: ``sink(top, uint8 (n, W, 3))`` for each band.

    Bands of rows stay in the CPU cache. They are shared out to ``threads`` Python
    threads, each running torch with a single thread: many small torch operations each
    split over all cores would meet at a barrier after every operation, which is slow
    whenever another program holds one of the cores. torch's thread count is restored
    afterwards.
    """
    height, width, _ = rgb.shape
    rows = max(1, _BAND_PIXELS // width)
    tops = range(0, height, rows)

    def merge_band(top: int) -> None:
        stop = min(top + rows, height)
        sink(top, _colorize_band(rgb[top:stop], ab_rows(top, stop)))

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        if threads <= 1 or len(tops) == 1:
            for top in tops:
                merge_band(top)
        else:
            with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="colorlib-band") as pool:
                for finished in pool.map(merge_band, tops):
                    del finished  # re-raises a band's exception here
    finally:
        torch.set_num_threads(previous)


def _into_array(result: np.ndarray) -> Callable[[int, np.ndarray], None]:
    def store(top: int, band: np.ndarray) -> None:
        result[top : top + band.shape[0]] = band

    return store


def _into_image(image: Image.Image) -> Callable[[int, np.ndarray], None]:
    def paste(top: int, band: np.ndarray) -> None:
        image.paste(Image.fromarray(np.ascontiguousarray(band)), (0, top))

    return paste


def predict_ab(
    image: ImageSource,
    model: nn.Module,
    *,
    input_size: int | None = None,
    upsample: Upsampling = "bilinear",
    temperature: float | None = None,
    max_pixels: int | None = DEFAULT_MAX_PIXELS,
    hints: Sequence[Hint] | None = None,
) -> np.ndarray:
    """The network's a and b for ``image``, at the image's own resolution.

    Args:
        image: any form :func:`colorlib.images.load_image` accepts, ``H`` x ``W`` pixels.
        model: a :class:`~colorlib.model.ColorizationNet` (regression or
            classification), a :class:`~colorlib.modelz.ModelZ`, or any module mapping
            ``(N, 1, s, s)`` L/100 to ``(N, 2, s, s)`` ab targets; on any device.
        input_size: the network runs at ``input_size`` x ``input_size`` (divisible by 8); default the
            model's ``input_size``.
        upsample: ``"bilinear"`` (smooth) or ``"nearest"`` (each predicted value becomes
            a block of pixels: the "mosaic" look).
        temperature: the annealed-mean temperature of a classification model or a
            :class:`~colorlib.modelz.ModelZ`, a finite number > 0 (``None``: its own).
        max_pixels: an image file above this many pixels is refused before decoding
            (``None``: no limit); arrays are never refused.
        hints: colour hints in pixels of the image, for a model that takes them (see
            :func:`colorize`).

    Returns:
        float32 ``(H, W, 2)``: a and b in ab units (about -128..127).
    """
    input_size, upsample, temperature, max_pixels = _check_options(model, input_size, upsample, temperature, max_pixels)
    hints = _check_hints(model, hints)
    rgb = load_image(image, max_pixels=max_pixels)
    ab_small = _run_network(model, _network_input([rgb], input_size), temperature, _hint_input(hints, [rgb], input_size))[0]
    height, width = rgb.shape[:2]
    ab = _EnlargedAb(ab_small, height, width, upsample).rows(0, height)
    return ab.permute(1, 2, 0).contiguous().numpy()


def replace_ab(image: ImageSource, ab: np.ndarray, *, max_pixels: int | None = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """Keep the image's own lightness ``L`` and give it the color ``ab``.

    Args:
        image: any form :func:`colorlib.images.load_image` accepts, ``H`` x ``W`` pixels.
        ab: float ``(H, W, 2)``, a and b in ab units (about -128..127); a broadcast view
            (``np.broadcast_to``) is fine, it is read band by band.
        max_pixels: an image file above this many pixels is refused (``None``: no limit).

    Returns:
        uint8 ``(H, W, 3)`` RGB. Its L equals the image's L up to 8-bit rounding, except
        where the Lab color is outside the sRGB gamut (clipped, see
        :func:`colorlib.color.lab_to_rgb`).

    >>> import numpy as np
    >>> replace_ab(np.full((1, 1, 3), 128, np.uint8), np.zeros((1, 1, 2), np.float32)).tolist()
    [[[128, 128, 128]]]
    """
    rgb = load_image(image, max_pixels=_check_max_pixels(max_pixels))
    ab = np.asarray(ab)
    if ab.shape != rgb.shape[:2] + (2,) or ab.dtype.kind != "f":
        raise ValueError(
            f"replace_ab: expected float ab shaped {rgb.shape[:2] + (2,)} to match the image, "
            f"got {ab.dtype} {ab.shape}"
        )

    def ab_rows(top: int, stop: int) -> torch.Tensor:
        return torch.from_numpy(np.ascontiguousarray(ab[top:stop], dtype=np.float32)).permute(2, 0, 1)

    result = np.empty_like(rgb)
    _merge(rgb, ab_rows, _into_array(result), torch.get_num_threads())
    return result


def colorize(
    image: ImageSource,
    model: nn.Module,
    *,
    input_size: int | None = None,
    upsample: Upsampling = "bilinear",
    temperature: float | None = None,
    max_pixels: int | None = DEFAULT_MAX_PIXELS,
    hints: Sequence[Hint] | None = None,
) -> np.ndarray:
    """Colorize one image, at its own resolution and with its own lightness.

    The network runs on the image resized to ``input_size`` x ``input_size`` (input ``L / 100``;
    the authors' code fed luma instead, see the module docstring); its a and b are
    enlarged to the image's size and merged with the image's full-resolution L.
    Color in the input is ignored: only its lightness is used.

    Args:
        image: a path, a PIL image, or a uint8 array ``(H, W)`` or ``(H, W, 3)``
            (see :func:`colorlib.images.load_image`).
        model: e.g. ``colorlib.load_pretrained("paper")``; it runs in eval mode, under
            ``torch.inference_mode``, on its own device (its mode is restored after).
        input_size: the network's input side, divisible by 8; default the model's
            ``input_size`` (224 for the paper's checkpoints).
        upsample: how the predicted ab are enlarged, ``"bilinear"`` or ``"nearest"``.
        temperature: the annealed-mean temperature of a classification model or a
            :class:`~colorlib.modelz.ModelZ`, a finite number > 0 (``None``: its own).
        max_pixels: an image file above this many pixels is refused before decoding
            (``None``: no limit; default :data:`~colorlib.images.DEFAULT_MAX_PIXELS`).
            An array or PIL image already in memory is never refused for its size.
        hints: colour hints (:class:`colorlib.hints.Hint`) in pixels of the image, for a
            model that takes them (``colorlib train --hints``; ``model.takes_hints``);
            ``[]`` is "no hint", the model's automatic colors. ``None``: none given.

    Returns:
        uint8 ``(H, W, 3)`` RGB, 0..255.

    Raises:
        ValueError: a bad ``input_size``, ``upsample``, ``temperature`` or ``max_pixels``, a
            model without ``input_size`` and none given, hints for a model that does not take
            them or outside the image; :class:`colorlib.images.ImageReadError` (a ValueError)
            for an unreadable image.

    >>> from colorlib.model import ColorizationNet
    >>> from colorlib.hints import Hint
    >>> net = ColorizationNet(input_size=32, takes_hints=True)
    >>> colorize(np.full((48, 64), 128, np.uint8), net, hints=[Hint(10, 20, (40.0, 0.0), patch_size=5)]).shape
    (48, 64, 3)
    >>> colorize(np.full((48, 64), 128, np.uint8), ColorizationNet(input_size=32), hints=[])
    Traceback (most recent call last):
    ...
    ValueError: hints: this model does not take colour hints (it was trained without them); use a model trained with `colorlib train --hints`, or colorlib.propagation to spread hints over its colors
    """
    if hints is not None:
        input_size, upsample, temperature, max_pixels = _check_options(model, input_size, upsample, temperature, max_pixels)
        hints = _check_hints(model, hints)
        rgb = load_image(image, max_pixels=max_pixels)
        return _colorize_loaded([rgb], model, input_size, upsample, temperature, _array_sink, torch.get_num_threads(),
                                hints=hints)[0]
    return colorize_many(
        [image], model, input_size=input_size, upsample=upsample, temperature=temperature, max_pixels=max_pixels
    )[0]


def _colorize_loaded(
    rgb_images: Sequence[np.ndarray],
    model: nn.Module,
    input_size: int,
    upsample: str,
    temperature: float | None,
    make_sink: Callable[[np.ndarray], tuple[object, Callable[[int, np.ndarray], None]]],
    threads: int,
    hints: Sequence[Hint] | None = None,
) -> list:
    """Run the network on a batch of uint8 RGB photos, already read, and merge each at full resolution.

    The arguments are checked already (:func:`_check_options`); ``make_sink(rgb)`` gives
    each photo's result and the function that stores its bands (:func:`_array_sink`,
    :func:`_image_sink`). ``hints`` (checked by :func:`_check_hints`) apply to every photo.
    :mod:`colorlib.colorize_files` calls this too.
    """
    hint_input = _hint_input(hints, rgb_images, input_size)
    ab_small = _run_network(model, _network_input(rgb_images, input_size), temperature, hint_input)
    results = []
    for rgb, ab in zip(rgb_images, ab_small):
        height, width = rgb.shape[:2]
        result, sink = make_sink(rgb)
        _merge(rgb, _EnlargedAb(ab, height, width, upsample).rows, sink, threads)
        results.append(result)
    return results


def _array_sink(rgb: np.ndarray) -> tuple[np.ndarray, Callable[[int, np.ndarray], None]]:
    result = np.empty(rgb.shape, dtype=np.uint8)
    return result, _into_array(result)


def _image_sink(rgb: np.ndarray) -> tuple[Image.Image, Callable[[int, np.ndarray], None]]:
    image = Image.new("RGB", (rgb.shape[1], rgb.shape[0]))
    return image, _into_image(image)


def colorize_many(
    images: Iterable[ImageSource],
    model: nn.Module,
    *,
    input_size: int | None = None,
    batch_size: int = 16,
    upsample: Upsampling = "bilinear",
    temperature: float | None = None,
    max_pixels: int | None = DEFAULT_MAX_PIXELS,
) -> list[np.ndarray]:
    """:func:`colorize` for many images, running the network on batches of them.

    Images are read ``batch_size`` at a time, so a long iterable of paths is never
    all in memory at once (the results are). Each is read once.

    Args:
        images: paths, PIL images or uint8 arrays, as for :func:`colorize`.
        model, input_size, upsample, temperature, max_pixels: as for :func:`colorize`.
        batch_size: images per run of the network.

    Returns:
        One uint8 ``(H_i, W_i, 3)`` array per image, in order; each has its image's size.
    """
    input_size, upsample, temperature, max_pixels = _check_options(model, input_size, upsample, temperature, max_pixels)
    batch_size = _check_positive(batch_size, "batch_size")
    results: list[np.ndarray] = []
    batch: list[np.ndarray] = []
    threads = torch.get_num_threads()
    for image in images:
        batch.append(load_image(image, max_pixels=max_pixels))
        if len(batch) == batch_size:
            results += _colorize_loaded(batch, model, input_size, upsample, temperature, _array_sink, threads)
            batch.clear()
    if batch:
        results += _colorize_loaded(batch, model, input_size, upsample, temperature, _array_sink, threads)
    return results


class HintColorizer:
    """One photo colorized again and again with new hints: the encoder runs once.

    The encoder's features of the photo (and its network input) are computed when the
    object is made; each :meth:`colorize` runs only the decoder on them with the hints'
    maps, enlarges the predicted ab and merges them with the photo's own lightness (what
    a widget needs to answer every click at once). The same colors as
    :func:`colorize` with the same hints.

    Args:
        image: any form :func:`colorlib.images.load_image` accepts, ``H`` x ``W`` pixels.
        model: a :class:`~colorlib.model.ColorizationNet` that takes hints (``takes_hints``).
        input_size, upsample, max_pixels: as for :func:`colorize`.

    Raises:
        ValueError: a model that does not take hints, or a bad option.

    >>> from colorlib.model import ColorizationNet
    >>> from colorlib.hints import Hint
    >>> photo = np.full((48, 64), 128, np.uint8)
    >>> colorizer = HintColorizer(photo, ColorizationNet(input_size=32, takes_hints=True))
    >>> rgb = colorizer.colorize([Hint(10, 20, (40.0, 0.0), patch_size=5)])
    >>> rgb.shape, rgb.dtype
    ((48, 64, 3), dtype('uint8'))
    """

    def __init__(
        self,
        image: ImageSource,
        model: ColorizationNet,
        *,
        input_size: int | None = None,
        upsample: Upsampling = "bilinear",
        max_pixels: int | None = DEFAULT_MAX_PIXELS,
    ) -> None:
        self.input_size, self.upsample, _, max_pixels = _check_options(model, input_size, upsample, None, max_pixels)
        _check_hints(model, [])
        self.model = model
        self.rgb = load_image(image, max_pixels=max_pixels)
        parameter = next(model.parameters())
        with eval_mode(model), torch.inference_mode():
            lightness_over_100 = _network_input([self.rgb], self.input_size).to(parameter.device, parameter.dtype)
            self.features = model.encode(lightness_over_100)

    def predict_ab(self, hints: Sequence[Hint] = ()) -> torch.Tensor:
        """The network's ab at its input size for these hints: float32 ``(2, size, size)`` on the CPU."""
        hint_input = _hint_input(_check_hints(self.model, hints), [self.rgb], self.input_size)
        parameter = next(self.model.parameters())
        with eval_mode(self.model), torch.inference_mode():
            output = self.model.decode(self.features, hint_input.to(parameter.device, parameter.dtype))
            return self.model.output_to_ab(output)[0].float().cpu()

    def colorize(self, hints: Sequence[Hint] = ()) -> np.ndarray:
        """The photo colorized with ``hints`` (in its pixels; none: the automatic colors): uint8 ``(H, W, 3)``."""
        height, width = self.rgb.shape[:2]
        result = np.empty(self.rgb.shape, dtype=np.uint8)
        _merge(self.rgb, _EnlargedAb(self.predict_ab(hints), height, width, self.upsample).rows, _into_array(result),
               torch.get_num_threads())
        return result
