"""Colorize photographs of any size with a trained :class:`~colorlib.model.ColorizationNet`.

The network only ever sees a small square; the colours it predicts are spread back
over the photo, whatever its size:

1. the photo (H, W, 3) is resized to ``size`` x ``size`` (224 for the paper), its
   lightness computed with :func:`colorlib.color.rgb_to_lab`, and ``L / 100`` goes
   through the network, which answers a and b at ``size`` x ``size``;
2. a and b are enlarged to (H, W) by bilinear interpolation;
3. they are merged with the lightness ``L`` of the full-resolution photo and turned
   back into RGB with :func:`colorlib.color.lab_to_rgb`.

So the result keeps the photo's own resolution and its own lightness, pixel for pixel:
only a and b are predicted.

**The network input is ``L / 100``** (:func:`colorlib.color.lab_to_network_input`). The
paper authors' code fed ``skimage.color.rgb2gray`` instead: luma, the weighted sum
``0.2125 R + 0.7154 G + 0.0721 B`` of the gamma-encoded sRGB values, 0..1. Both grow with
brightness but they are not equal (mid gray 0.5 has luma 0.5 and ``L / 100`` 0.534);
notebook 03 shows that the authors' released weights give nearly the same colours with
either.

For large photos the full-resolution colour conversions (steps 2 and 3) dominate the
cost: a 12-megapixel photo has 36 million channel values. They run in float32 torch, in
bands of rows small enough to stay in the CPU cache, reusing
:func:`colorlib.color.rgb_to_lab` and :func:`colorlib.color.lab_to_rgb`;
``benchmarks/colorize_speed.py`` measures them against scikit-image.
"""

from __future__ import annotations

import argparse
import os
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Iterable, Literal, Sequence, Union

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageOps, UnidentifiedImageError
from torch import nn

from .color import lab_to_network_input, lab_to_rgb, rgb_to_lab, target_to_ab
from .files import atomic_write
from .model import DOWNSAMPLING_FACTOR

__all__ = [
    "ImageSource",
    "load_image",
    "network_input",
    "predict_ab",
    "replace_ab",
    "colorize",
    "colorize_many",
    "register_cli",
]

#: What :func:`load_image` (and so :func:`colorize`) accepts.
ImageSource = Union[str, os.PathLike, Image.Image, np.ndarray]
Upsampling = Literal["bilinear", "nearest"]

_EXPECTED_KINDS = (
    "a file path, a PIL image, or a uint8 numpy array shaped (H, W) (gray) or (H, W, 3) (RGB)"
)
# Pixels per band in the full-resolution conversions: small enough for the CPU cache.
_BAND_PIXELS = 1 << 18


# --------------------------------------------------------------------------------------
# Reading any image into one form: uint8 RGB (H, W, 3).
# --------------------------------------------------------------------------------------


def _sixteen_to_eight_bit(values: np.ndarray) -> np.ndarray:
    """0..65535 -> 0..255, rounded (``round(v / 257)``)."""
    return ((values.astype(np.uint32) * 255 + 32767) // 65535).astype(np.uint8)


def _flatten_alpha(rgba: np.ndarray) -> np.ndarray:
    """uint8 RGBA (H, W, 4) composited over a white background -> uint8 RGB (H, W, 3)."""
    rgb = rgba[..., :3].astype(np.uint32)
    alpha = rgba[..., 3:].astype(np.uint32)
    return ((rgb * alpha + 255 * (255 - alpha) + 127) // 255).astype(np.uint8)


def _gray_to_rgb(gray: np.ndarray) -> np.ndarray:
    return np.repeat(gray[..., None], 3, axis=-1)


def _pil_to_rgb(image: Image.Image, name: str) -> np.ndarray:
    """Any PIL image -> uint8 RGB (H, W, 3), EXIF orientation applied."""
    image = ImageOps.exif_transpose(image)
    mode = image.mode
    if mode == "RGB":
        rgb = np.asarray(image)
    elif mode == "L":
        rgb = _gray_to_rgb(np.asarray(image))
    elif mode.startswith("I;16") or mode == "I":
        # 16-bit gray (PNG, TIFF). Pillow's own convert("L") would clip, not scale.
        values = np.asarray(image)
        if values.size and (values.min() < 0 or values.max() > 65535):
            raise ValueError(
                f"{name}: a 32-bit integer image with values from {values.min()} to "
                f"{values.max()}; expected 16-bit data (0..65535)"
            )
        rgb = _gray_to_rgb(_sixteen_to_eight_bit(values))
    elif mode == "F":
        raise ValueError(
            f"{name}: a floating-point image (mode 'F') has no agreed value range; expected "
            "an 8- or 16-bit image (convert it to uint8 first)"
        )
    elif mode in ("RGBA", "LA", "PA", "La", "RGBa") or (mode == "P" and "transparency" in image.info):
        rgb = _flatten_alpha(np.asarray(image.convert("RGBA")))
    else:  # "1", "P", "CMYK", "YCbCr", "LAB", "HSV", ...
        try:
            rgb = np.asarray(image.convert("RGB"))
        except (ValueError, OSError) as error:
            raise ValueError(f"{name}: cannot convert an image of mode {mode!r} to RGB ({error})") from error
    if rgb.size == 0:
        raise ValueError(f"{name}: the image is empty ({image.width}x{image.height} pixels)")
    return np.ascontiguousarray(rgb)


def load_image(source: ImageSource) -> np.ndarray:
    """Read an image into uint8 RGB, the one form the rest of this module works on.

    Args:
        source: one of

            - a path to an image file (anything Pillow reads: JPEG, PNG, TIFF, ...);
            - a ``PIL.Image.Image``;
            - a uint8 numpy array ``(H, W)`` (gray) or ``(H, W, 3)`` (RGB), 0..255.

            Gray images become R = G = B. 16-bit images (PNG, TIFF; Pillow modes
            ``I;16`` and ``I``) are scaled to 8 bits (``round(v / 257)``), not clipped.
            Transparent images (RGBA, gray + alpha, palettes with transparency) are
            composited over white. The EXIF orientation of files and PIL images is
            applied, so a photo taken upright comes back upright.

    Returns:
        ``np.ndarray`` uint8 ``(H, W, 3)``, RGB, 0..255 (an RGB array comes back as it
        is, without a copy).

    Raises:
        FileNotFoundError: a path that does not exist.
        ValueError: a file that is not an image Pillow can decode, or anything other than
            the kinds above (float arrays, other shapes, tensors, ...).
    """
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        try:
            with Image.open(path) as opened:
                opened.load()
                return _pil_to_rgb(opened, str(path))
        except UnidentifiedImageError as error:
            raise ValueError(f"{path} is not an image file (Pillow cannot identify it)") from error
        except (FileNotFoundError, IsADirectoryError):
            raise
        except OSError as error:  # truncated or corrupt image data
            raise ValueError(f"{path}: cannot decode the image ({error})") from error
    if isinstance(source, Image.Image):
        return _pil_to_rgb(source, "PIL image")
    if isinstance(source, np.ndarray):
        if source.dtype != np.uint8:
            hint = " (for floats in 0..1 use (image * 255).round().astype(np.uint8))" if source.dtype.kind == "f" else ""
            raise ValueError(f"load_image: expected {_EXPECTED_KINDS}; got an array of dtype {source.dtype}{hint}")
        if source.ndim == 2:
            rgb = _gray_to_rgb(source)
        elif source.ndim == 3 and source.shape[-1] == 3:
            rgb = source
        else:
            raise ValueError(f"load_image: expected {_EXPECTED_KINDS}; got an array shaped {source.shape}")
        if rgb.size == 0:
            raise ValueError(f"load_image: the image is empty (shape {source.shape})")
        return rgb
    raise ValueError(f"load_image: expected {_EXPECTED_KINDS}; got {type(source).__name__}")


# --------------------------------------------------------------------------------------
# The steps: network input, predicted ab, merging with the photo's own lightness.
# --------------------------------------------------------------------------------------


def _check_size(size: int) -> int:
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size <= 0 or size % DOWNSAMPLING_FACTOR:
        raise ValueError(f"size: expected a positive integer divisible by {DOWNSAMPLING_FACTOR} (224, say), got {size!r}")
    return int(size)


def _check_upsampling(upsample: str) -> str:
    if upsample not in ("bilinear", "nearest"):
        raise ValueError(f"upsample: expected 'bilinear' or 'nearest', got {upsample!r}")
    return upsample


def network_input(images: Sequence[ImageSource], size: int = 224) -> torch.Tensor:
    """What the network sees: each image resized to ``size`` x ``size``, as ``L / 100``.

    The RGB image is resized (Pillow's antialiased bilinear filter, aspect ratio not
    kept, as in the authors' code) and its lightness computed with
    :func:`colorlib.color.rgb_to_lab`.

    Args:
        images: images in any form :func:`load_image` accepts.
        size: side of the square, divisible by 8.

    Returns:
        float32 tensor ``(N, 1, size, size)`` on the CPU, values in 0..1.
    """
    size = _check_size(size)
    small = [
        np.asarray(Image.fromarray(load_image(image)).resize((size, size), Image.Resampling.BILINEAR))
        for image in images
    ]
    if not small:
        raise ValueError("network_input: expected at least one image, got none")
    rgb = torch.from_numpy(np.stack(small)).permute(0, 3, 1, 2).float().div_(255.0)
    return lab_to_network_input(rgb_to_lab(rgb)[:, :1]).contiguous()


def _run_network(model: nn.Module, inputs: torch.Tensor) -> torch.Tensor:
    """``inputs`` (N, 1, s, s) -> ab (N, 2, s, s) in ab units, float32 on the CPU.

    The model runs in eval mode on its own device; its mode is restored afterwards.
    """
    parameter = next(model.parameters(), None)
    device = parameter.device if parameter is not None else torch.device("cpu")
    dtype = parameter.dtype if parameter is not None else torch.float32
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode():
            target = model(inputs.to(device=device, dtype=dtype))
    finally:
        model.train(was_training)
    return target_to_ab(target.float().cpu())


def _upsample_ab(ab_small: torch.Tensor, height: int, width: int, upsample: str) -> torch.Tensor:
    """ab (2, s, s) -> (2, height, width)."""
    options = {"align_corners": False} if upsample == "bilinear" else {}
    with torch.inference_mode():
        return F.interpolate(ab_small[None], size=(height, width), mode=upsample, **options)[0]


def _merge(rgb: np.ndarray, ab: torch.Tensor) -> np.ndarray:
    """The photo's own L with new ab: uint8 (H, W, 3) and ab (2, H, W) -> uint8 (H, W, 3).

    Works in bands of rows so that every intermediate stays in the CPU cache. The bands
    are shared out to one Python thread per torch thread, each running torch with a
    single thread: many small torch operations each split over all cores would meet at
    a barrier after every operation, which is slow whenever another program holds one
    of the cores. torch's thread count is restored afterwards.
    """
    height, width, _ = rgb.shape
    result = np.empty((height, width, 3), dtype=np.uint8)
    rows = max(1, _BAND_PIXELS // width)

    def merge_band(top: int) -> None:
        with torch.inference_mode():
            band = torch.from_numpy(rgb[top : top + rows].astype(np.float32))
            band = band.div_(255.0).permute(2, 0, 1).contiguous()
            lightness = rgb_to_lab(band)[:1]
            lab = torch.cat((lightness, ab[:, top : top + rows]), dim=0)
            colour = lab_to_rgb(lab).mul_(255.0).round_().to(torch.uint8)
            result[top : top + rows] = colour.permute(1, 2, 0).numpy()

    tops = range(0, height, rows)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        if threads == 1 or len(tops) == 1:
            for top in tops:
                merge_band(top)
        else:
            with ThreadPoolExecutor(max_workers=threads) as pool:
                for finished in pool.map(merge_band, tops):
                    del finished  # re-raises a band's exception here
    finally:
        torch.set_num_threads(threads)
    return result


def predict_ab(
    model: nn.Module, image: ImageSource, size: int = 224, upsample: Upsampling = "bilinear"
) -> np.ndarray:
    """The network's a and b for ``image``, at the image's own resolution.

    Args:
        model: a :class:`~colorlib.model.ColorizationNet` (or any module mapping
            ``(N, 1, s, s)`` L/100 to ``(N, 2, s, s)`` ab targets), on any device.
        image: any form :func:`load_image` accepts, ``H`` x ``W`` pixels.
        size: the network runs at ``size`` x ``size`` (divisible by 8).
        upsample: ``"bilinear"`` (smooth) or ``"nearest"`` (each predicted value becomes
            a block of pixels: the "mosaic" look).

    Returns:
        float32 ``(H, W, 2)``: a and b in ab units (about -128..127).
    """
    rgb = load_image(image)
    ab_small = _run_network(model, network_input([rgb], size))[0]
    ab = _upsample_ab(ab_small, rgb.shape[0], rgb.shape[1], _check_upsampling(upsample))
    return ab.permute(1, 2, 0).numpy()


def replace_ab(image: ImageSource, ab: np.ndarray) -> np.ndarray:
    """Keep the image's own lightness ``L`` and give it the colour ``ab``.

    Args:
        image: any form :func:`load_image` accepts, ``H`` x ``W`` pixels.
        ab: float ``(H, W, 2)``, a and b in ab units (about -128..127).

    Returns:
        uint8 ``(H, W, 3)`` RGB. Its L equals the image's L up to 8-bit rounding, except
        where the Lab colour is outside the sRGB gamut (clipped, see
        :func:`colorlib.color.lab_to_rgb`).
    """
    rgb = load_image(image)
    ab = np.asarray(ab)
    if ab.shape != rgb.shape[:2] + (2,) or ab.dtype.kind != "f":
        raise ValueError(
            f"replace_ab: expected float ab shaped {rgb.shape[:2] + (2,)} to match the image, "
            f"got {ab.dtype} {ab.shape}"
        )
    return _merge(rgb, torch.from_numpy(np.ascontiguousarray(ab, dtype=np.float32)).permute(2, 0, 1))


def colorize(
    image: ImageSource, model: nn.Module, size: int = 224, upsample: Upsampling = "bilinear"
) -> np.ndarray:
    """Colorize one image, at its own resolution and with its own lightness.

    The network runs on the image resized to ``size`` x ``size`` (input ``L / 100``;
    the authors' code fed luma instead, see the module docstring); its a and b are
    upsampled to the image's size and merged with the image's full-resolution L.
    Colour in the input is ignored: only its lightness is used.

    Args:
        image: a path, a PIL image, or a uint8 array ``(H, W)`` or ``(H, W, 3)``
            (see :func:`load_image`).
        model: e.g. ``colorlib.load_pretrained("paper")``; it runs in eval mode, under
            ``torch.inference_mode``, on its own device (its mode is restored after).
        size: the network's input side, divisible by 8 (224 as in the paper).
        upsample: how the predicted ab are enlarged, ``"bilinear"`` or ``"nearest"``.

    Returns:
        uint8 ``(H, W, 3)`` RGB, 0..255.
    """
    return colorize_many([image], model, size=size, upsample=upsample)[0]


def colorize_many(
    images: Iterable[ImageSource],
    model: nn.Module,
    size: int = 224,
    batch_size: int = 16,
    upsample: Upsampling = "bilinear",
) -> list[np.ndarray]:
    """:func:`colorize` for many images, running the network on batches of them.

    Images are read ``batch_size`` at a time, so a long iterable of paths is never
    all in memory at once (the results are).

    Returns:
        One uint8 ``(H_i, W_i, 3)`` array per image, in order; each has its image's size.
    """
    size = _check_size(size)
    _check_upsampling(upsample)
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size: expected a positive integer, got {batch_size!r}")
    results: list[np.ndarray] = []
    batch: list[np.ndarray] = []

    def flush() -> None:
        ab_small = _run_network(model, network_input(batch, size))
        for rgb, ab in zip(batch, ab_small):
            results.append(_merge(rgb, _upsample_ab(ab, rgb.shape[0], rgb.shape[1], upsample)))
        batch.clear()

    for image in images:
        batch.append(load_image(image))
        if len(batch) == batch_size:
            flush()
    if batch:
        flush()
    return results


# --------------------------------------------------------------------------------------
# The command: colorlib colorize IN... -o OUTDIR
# --------------------------------------------------------------------------------------


def _save_png(rgb: np.ndarray, target: Path) -> None:
    """Write ``rgb`` as a PNG atomically (temporary file, then rename)."""
    atomic_write(target, lambda name: Image.fromarray(rgb).save(name, format="PNG"))


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split()) or type(error).__name__


def _command(args: argparse.Namespace) -> int:
    from .weights import WeightsUnavailableError, load_pretrained

    try:
        model = load_pretrained(args.model)
    except (ValueError, OSError, WeightsUnavailableError) as error:
        print(f"colorlib colorize: cannot load the model {args.model}: {_one_line(error)}", file=sys.stderr)
        return 2
    out_dir: Path = args.output
    out_dir.mkdir(parents=True, exist_ok=True)
    written: set[Path] = set()
    failures = 0
    for source in args.inputs:
        try:
            rgb = load_image(source)
            colour = colorize(rgb, model, size=args.size)
            target = out_dir / f"{source.stem}.png"
            if target in written:  # photo.jpg and photo.png in one run: keep both
                target = out_dir / f"{source.name}.png"
            _save_png(colour, target)
        except (ValueError, OSError) as error:
            failures += 1
            message = _one_line(error)
            if str(source) not in message:
                message = f"{source}: {message}"
            print(f"colorlib colorize: error: {message}", file=sys.stderr)
            continue
        written.add(target)
        print(f"{source} -> {target}")
    return 1 if failures else 0


def _positive_size(text: str) -> int:
    try:
        return _check_size(int(text))
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def register_cli(subparsers: argparse._SubParsersAction) -> None:
    """Add ``colorlib colorize IN... -o OUTDIR [--model paper|PATH] [--size 224]``."""
    parser = subparsers.add_parser(
        "colorize",
        help="colorize photos with a trained network",
        description=(
            "Colorize each image IN and write OUTDIR/<name>.png at the image's own resolution. "
            "A file that cannot be read is reported on stderr and skipped; the exit status is "
            "then 1."
        ),
    )
    parser.add_argument("inputs", nargs="+", type=Path, metavar="IN", help="image files (any format Pillow reads)")
    parser.add_argument("-o", "--output", type=Path, required=True, metavar="OUTDIR", help="folder for the results")
    parser.add_argument(
        "--model",
        default="paper",
        metavar="paper|PATH",
        help="'paper' (default), 'paper-epoch40', 'paper-epoch90', or a training checkpoint file",
    )
    parser.add_argument("--size", type=_positive_size, default=224, help="network input side, divisible by 8 (224)")
    parser.set_defaults(handler=_command)
