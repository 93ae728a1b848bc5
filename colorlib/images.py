"""The one image reader, and the crops and resizes every lesson and command shares.

Every photo that enters colorlib (``colorize``, ``evaluate``, the training datasets, the
notebooks' upload widget) goes through :func:`load_image`, so EXIF orientation, 16-bit
files, transparency, palettes, gray images and hostile files are handled once, the same
way for every caller:

* the result is always uint8 RGB ``(H, W, 3)``, 0..255;
* an image file larger than ``max_pixels`` (default :data:`DEFAULT_MAX_PIXELS`, 80
  megapixels) is refused from its header, before a single pixel is decoded, with
  :class:`ImageTooLargeError` naming the file and its size: a "decompression bomb" (a
  250 KB PNG that claims 15000 x 15000 pixels) never reaches memory. The limit is about
  decoding: an array (or a PIL image) already in memory is never refused for its size,
  so a caller that read a photo with a higher limit can hand the array on to any
  function of colorlib;
* every unreadable file raises :class:`ImageReadError` (a ``ValueError``) with one line
  that names it, so a caller can report it and go on with the next file.

>>> import numpy as np
>>> load_image(np.zeros((2, 3), np.uint8)).shape
(2, 3, 3)
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Union

import numpy as np
from PIL import Image, ImageChops, ImageFile, ImageOps, UnidentifiedImageError

__all__ = [
    "ImageSource",
    "IMAGE_EXTENSIONS",
    "DEFAULT_MAX_PIXELS",
    "ImageReadError",
    "ImageTooLargeError",
    "load_image",
    "find_images",
    "image_pixels",
    "is_grayscale",
    "resize",
    "square_crop",
]

#: What :func:`load_image` accepts.
ImageSource = Union[str, os.PathLike, Image.Image, np.ndarray]
#: File name endings that :func:`find_images` picks up (case-insensitive).
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff", ".gif")
#: The largest image :func:`load_image` decodes by default: 80 megapixels (a 48 MP phone
#: photo passes; a decompression bomb does not). Change it per call with ``max_pixels=``.
DEFAULT_MAX_PIXELS = 80_000_000
#: The authors' validation crop resized the short side to 256 before cutting 224.
RESIZE_RATIO = 256 / 224
_EXIF_ORIENTATION = 0x0112
_GRAY_MODES = {"1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "F"}
_EXPECTED_KINDS = "a file path, a PIL image, or a uint8 numpy array shaped (H, W) (gray) or (H, W, 3) (RGB)"


class ImageReadError(ValueError):
    """A file or object that is not an image colorlib can read; the message names it."""


class ImageTooLargeError(ImageReadError):
    """An image above the pixel limit, refused before decoding."""


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


def _check_pixels(width: int, height: int, name: str, max_pixels: int | None) -> None:
    if max_pixels is not None and width * height > max_pixels:
        raise ImageTooLargeError(
            f"{name}: {width}x{height} = {width * height:,} pixels is above the limit of {max_pixels:,} pixels; "
            "refused before decoding (raise it with max_pixels= or --max-pixels)"
        )


# Pillow refuses images above 2 x Image.MAX_IMAGE_PIXELS (179 megapixels) on its own, in
# Image.open, with its own message. colorlib's limit (checked right after, from the same
# header) replaces that check: Pillow's module-wide limit is lifted for the open() alone,
# under a lock, and put back.
_PILLOW_LIMIT_LOCK = threading.Lock()


def _open(path: Path) -> Image.Image:
    with _PILLOW_LIMIT_LOCK:
        pillow_limit, Image.MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS, None
        try:
            return Image.open(path)
        finally:
            Image.MAX_IMAGE_PIXELS = pillow_limit


def _pil_to_rgb(image: Image.Image, name: str) -> np.ndarray:
    """Any decoded PIL image -> uint8 RGB (H, W, 3), EXIF orientation applied."""
    if image.getexif().get(_EXIF_ORIENTATION, 1) != 1:  # exif_transpose copies even when upright
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
            raise ImageReadError(
                f"{name}: a 32-bit integer image with values from {values.min()} to "
                f"{values.max()}; expected 16-bit data (0..65535)"
            )
        rgb = _gray_to_rgb(_sixteen_to_eight_bit(values))
    elif mode == "F":
        raise ImageReadError(
            f"{name}: a floating-point image (mode 'F') has no agreed value range; expected "
            "an 8- or 16-bit image (convert it to uint8 first)"
        )
    elif mode in ("RGBA", "LA", "PA", "La", "RGBa") or (mode == "P" and "transparency" in image.info):
        rgb = _flatten_alpha(np.asarray(image.convert("RGBA")))
    else:  # "1", "P", "CMYK", "YCbCr", "LAB", "HSV", ...
        try:
            rgb = np.asarray(image.convert("RGB"))
        except (ValueError, OSError) as error:
            raise ImageReadError(f"{name}: cannot convert an image of mode {mode!r} to RGB ({error})") from error
    if rgb.size == 0:
        raise ImageReadError(f"{name}: the image is empty ({image.width}x{image.height} pixels)")
    return np.ascontiguousarray(rgb)


def _read_file(path: Path, max_pixels: int | None) -> np.ndarray:
    name = str(path)
    try:
        with _open(path) as opened:
            _check_pixels(opened.width, opened.height, name, max_pixels)
            opened.load()
            return _pil_to_rgb(opened, name)
    except UnidentifiedImageError as error:
        raise ImageReadError(f"{name} is not an image file (Pillow cannot identify it)") from error
    except (FileNotFoundError, IsADirectoryError):
        raise
    except ImageReadError:
        raise
    except (OSError, SyntaxError, EOFError, ValueError, MemoryError) as error:
        detail = " ".join(str(error).split())[:160]
        raise ImageReadError(f"{name}: cannot decode the image ({type(error).__name__}: {detail})") from error


def load_image(source: ImageSource, *, max_pixels: int | None = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """Read an image into uint8 RGB, the one form the rest of colorlib works on.

    Args:
        source: a path to an image file (anything Pillow reads: JPEG, PNG, TIFF, WebP,
            GIF (first frame), ...); a ``PIL.Image.Image``; or a uint8 numpy array
            ``(H, W)`` (gray) or ``(H, W, 3)`` (RGB), 0..255. Gray images become
            R = G = B. 16-bit images (modes ``I;16`` and ``I``) are scaled to 8 bits
            (``round(v / 257)``), not clipped. Transparent images (RGBA, gray + alpha,
            palettes with transparency) are composited over white. The EXIF
            orientation is applied, so a photo taken upright comes back upright.
        max_pixels: refuse image files with more pixels than this, before decoding
            them (``None``: no limit). It applies to paths and to PIL images opened
            from a file and not yet decoded; arrays and decoded PIL images are in
            memory already and are not refused.

    Returns:
        ``np.ndarray`` uint8 ``(H, W, 3)``, RGB, 0..255 (an RGB array comes back as it
        is, without a copy).

    Raises:
        FileNotFoundError: a path that does not exist.
        ImageTooLargeError: an image file above ``max_pixels`` (checked from the header).
        ImageReadError: a file that is not an image Pillow can decode, or anything other
            than the kinds above (float arrays, other shapes, tensors, ...).
    """
    if isinstance(source, (str, os.PathLike)):
        return _read_file(Path(source), max_pixels)
    if isinstance(source, Image.Image):
        if isinstance(source, ImageFile.ImageFile) and source.tile:  # opened, not decoded yet
            _check_pixels(source.width, source.height, "PIL image", max_pixels)
        return _pil_to_rgb(source, "PIL image")
    if isinstance(source, np.ndarray):
        if source.dtype != np.uint8:
            hint = " (for floats in 0..1 use (image * 255).round().astype(np.uint8))" if source.dtype.kind == "f" else ""
            raise ImageReadError(f"load_image: expected {_EXPECTED_KINDS}; got an array of dtype {source.dtype}{hint}")
        if source.ndim == 2:
            rgb = _gray_to_rgb(source)
        elif source.ndim == 3 and source.shape[-1] == 3:
            rgb = source
        else:
            raise ImageReadError(f"load_image: expected {_EXPECTED_KINDS}; got an array shaped {source.shape}")
        if rgb.size == 0:
            raise ImageReadError(f"load_image: the image is empty (shape {source.shape})")
        return rgb
    raise ImageReadError(f"load_image: expected {_EXPECTED_KINDS}; got {type(source).__name__}")


def image_pixels(path: str | os.PathLike) -> int | None:
    """Width x height of an image file, from its header alone (nothing is decoded).

    Returns:
        The number of pixels as stored (before any EXIF rotation, which keeps it), or
        ``None`` for something that is not a regular file Pillow can identify.

    >>> image_pixels("no such file.png") is None
    True
    """
    path = Path(path)
    if not path.is_file():
        return None
    try:
        with _open(path) as opened:
            return opened.width * opened.height
    except (OSError, SyntaxError, ValueError, UnidentifiedImageError):
        return None


def find_images(folder: str | os.PathLike, *, recursive: bool = True) -> list[Path]:
    """The image files in ``folder`` (and below it, with ``recursive``), sorted by relative path.

    Only the file name ending is looked at (:data:`IMAGE_EXTENSIONS`); whether a file
    really is an image is found out when it is read.

    Raises:
        FileNotFoundError: ``folder`` is not a folder.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"expected a folder of images, {folder} is not a folder")
    candidates = folder.rglob("*") if recursive else folder.iterdir()
    found = [p for p in candidates if p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file()]
    return sorted(found, key=lambda p: p.relative_to(folder).as_posix())


def is_grayscale(image: Image.Image | np.ndarray, *, tolerance: int = 2) -> bool:
    """Whether a photo has no colour: a gray mode, or R, G and B within ``tolerance`` everywhere.

    Args:
        image: a PIL image of any mode, or a uint8 RGB array ``(H, W, 3)``.
        tolerance: the largest difference between the channels of one pixel (0..255)
            still counted as gray (absorbs rounding in files saved as RGB).

    >>> import numpy as np
    >>> is_grayscale(np.full((4, 4, 3), 128, np.uint8)), is_grayscale(np.eye(3, dtype=np.uint8)[None] * 255)
    (True, False)
    """
    if isinstance(image, np.ndarray):
        image = Image.fromarray(load_image(image, max_pixels=None))
    if image.mode in _GRAY_MODES:
        return True
    red, green, blue = (image if image.mode == "RGB" else image.convert("RGB")).split()
    # The largest channel spread of a pixel is its largest pairwise difference. Most
    # colour photos fail the first test, so this costs one pass in C over the pixels.
    for first, second in ((red, green), (green, blue), (red, blue)):
        if ImageChops.difference(first, second).getextrema()[1] > tolerance:
            return False
    return True


def _check_side(size: int, what: str) -> int:
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 1:
        raise ValueError(f"{what}: expected a positive integer size, got {size!r}")
    return int(size)


def resize(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """uint8 RGB ``(H, W, 3)`` -> uint8 RGB ``(height, width, 3)``, Pillow's antialiased bicubic.

    The resampling colorlib uses for whole photos (network inputs, figures); training crops
    go through torchvision's transforms instead (:mod:`colorlib.data`: bilinear, antialiased).
    """
    rgb = load_image(image, max_pixels=None)
    height, width = _check_side(height, "resize"), _check_side(width, "resize")
    if rgb.shape[:2] == (height, width):
        return rgb
    return np.asarray(Image.fromarray(rgb).resize((width, height), Image.Resampling.BICUBIC))


def square_crop(image: np.ndarray, size: int) -> np.ndarray:
    """The central square of a photo (side = its short side), resized to ``size`` x ``size``.

    Args:
        image: uint8 RGB ``(H, W, 3)`` (or anything :func:`load_image` reads).
        size: side of the result in pixels.

    Returns:
        uint8 RGB ``(size, size, 3)``.
    """
    rgb = load_image(image, max_pixels=None)
    size = _check_side(size, "square_crop")
    height, width = rgb.shape[:2]
    side = min(height, width)
    top, left = (height - side) // 2, (width - side) // 2
    return resize(np.ascontiguousarray(rgb[top : top + side, left : left + side]), size, size)
