"""A corpus of hostile, huge and odd image files, made on the spot (no downloads).

``make_corpus(folder)`` writes the files and returns ``{file name: should it be read}``.
Every door that takes a photo (``colorlib colorize``, ``evaluate``, the training data,
the upload widget) must give a result for the readable ones and one line naming each of
the others, and go on with the rest. Used by ``tests/test_corpus.py`` and by any other
test that wants the same files::

    from corpus import make_corpus  # tests/ is on sys.path under pytest
"""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
from PIL import Image, features

__all__ = ["make_corpus", "BOMB_NAME", "BOMB_SIDE", "SMALL_BOMB_NAME", "SMALL_BOMB_SIDE", "GOOD_NAME"]

#: The decompression bomb: a real, valid PNG of 15000 x 15000 gray pixels in about 220 KB
#: (above Pillow's own guard, 2 x 89.5 megapixels).
BOMB_NAME = "bomb_15000x15000.png"
BOMB_SIDE = 15_000
#: A smaller bomb, 9000 x 9000 (81 megapixels): below Pillow's guard, just above colorlib's
#: default limit (80 megapixels), so only colorlib's own check stops it.
SMALL_BOMB_NAME = "bomb_9000x9000.png"
SMALL_BOMB_SIDE = 9_000
#: An ordinary photo-like JPEG, always readable.
GOOD_NAME = "good.jpg"


def _photo(height: int, width: int, seed: int) -> np.ndarray:
    """Smooth colour gradients plus a little noise: uint8 RGB (height, width, 3)."""
    rng = np.random.default_rng(seed)
    rows = np.linspace(0.0, 1.0, height)[:, None]
    columns = np.linspace(0.0, 1.0, width)[None, :]
    rgb = np.stack([40 + 180 * rows + 0 * columns, 60 + 150 * columns + 0 * rows, 200 - 120 * rows * columns], axis=-1)
    return (rgb + rng.normal(0.0, 4.0, rgb.shape)).clip(0, 255).astype(np.uint8)


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def _png_bomb(side: int) -> bytes:
    """A valid 8-bit gray PNG of ``side`` x ``side`` zeros: tiny on disk, ``side**2`` bytes decoded."""
    compressor = zlib.compressobj(9)
    row = bytes(side + 1)  # filter byte 0 and the row's zeros
    body = b"".join(compressor.compress(row) for _ in range(side)) + compressor.flush()
    header = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header) + _png_chunk(b"IDAT", body) + _png_chunk(b"IEND", b"")


def _jpeg_claiming(width: int, height: int, real: bytes) -> bytes:
    """A real JPEG whose frame header (SOF0) claims ``width`` x ``height``."""
    marker = real.index(b"\xff\xc0")
    # SOF0: marker, length (2), precision (1), height (2), width (2), ...
    return real[: marker + 5] + struct.pack(">HH", height, width) + real[marker + 9 :]


def _encoded(image: Image.Image, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, **options)
    return buffer.getvalue()


def make_corpus(folder: str | Path) -> dict[str, bool]:
    """Write the corpus into ``folder`` (created if needed); ``{file name: should it be read}``.

    Readable (``True``): an RGB JPEG, a PNG, a JPEG named ``.png``, an upper-case
    ``.JPG``, CMYK JPEG, gray + alpha (LA), 16-bit gray (I;16), 32-bit integer TIFF
    (I;32, values 0..65535), 1-bit, palette with a transparent entry, animated GIF
    (first frame), EXIF-rotated JPEG, WebP (where Pillow has it), BMP, a 2 x 2 image,
    an 8000 x 60 strip.

    Unreadable (``False``): JPEGs and PNGs truncated at several offsets, wrong magic
    bytes, an empty file, a text file named ``.jpg``, a floating-point TIFF (no agreed
    range), a 32-bit TIFF with values above 65535, two decompression bombs
    (:data:`BOMB_NAME`, :data:`SMALL_BOMB_NAME`), and a JPEG whose header claims
    60000 x 60000 pixels.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    expected: dict[str, bool] = {}

    def put(name: str, data: bytes, readable: bool) -> None:
        (folder / name).write_bytes(data)
        expected[name] = readable

    photo = _photo(48, 64, seed=0)
    jpeg = _encoded(Image.fromarray(photo), format="JPEG", quality=90)
    png = _encoded(Image.fromarray(photo), format="PNG")

    # Readable, ordinary and odd.
    put(GOOD_NAME, jpeg, True)
    put("good.png", png, True)
    put("jpeg_named.png", jpeg, True)
    put("UPPER.JPG", jpeg, True)
    put("cmyk.jpg", _encoded(Image.fromarray(photo).convert("CMYK"), format="JPEG", quality=90), True)
    gray = photo[..., 1]
    alpha = np.tile(np.linspace(0, 255, 64).astype(np.uint8), (48, 1))
    put("gray_alpha_LA.png", _encoded(Image.fromarray(np.stack([gray, alpha], -1), mode="LA"), format="PNG"), True)
    put("deep_I16.png", _encoded(Image.fromarray(gray.astype(np.uint16) * 257), format="PNG"), True)
    put("int32_I.tif", _encoded(Image.fromarray(gray.astype(np.int32) * 257), format="TIFF"), True)
    put("bilevel_1.png", _encoded(Image.fromarray(gray > 128), format="PNG"), True)
    palette = Image.fromarray(photo).convert("P", palette=Image.Palette.ADAPTIVE, colors=16)
    put("palette_transparent.png", _encoded(palette, format="PNG", transparency=0), True)
    frames = [Image.fromarray(_photo(48, 64, seed=s)).convert("P") for s in range(3)]
    put("animated.gif", _encoded(frames[0], format="GIF", save_all=True, append_images=frames[1:], duration=100, loop=0), True)
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to view
    put("exif_rotated.jpg", _encoded(Image.fromarray(photo), format="JPEG", quality=90, exif=exif), True)
    if features.check("webp"):
        put("photo.webp", _encoded(Image.fromarray(photo), format="WEBP", quality=90), True)
    put("photo.bmp", _encoded(Image.fromarray(photo), format="BMP"), True)
    put("tiny_2x2.png", _encoded(Image.fromarray(photo[:2, :2]), format="PNG"), True)
    put("strip_8000x60.jpg", _encoded(Image.fromarray(_photo(60, 8000, seed=1)), format="JPEG", quality=85), True)

    # Unreadable: broken, lying or hostile.
    for fraction in (0.02, 0.3, 0.6, 0.95):
        put(f"truncated_{int(fraction * 100):02d}.jpg", jpeg[: int(len(jpeg) * fraction)], False)
        put(f"truncated_{int(fraction * 100):02d}.png", png[: int(len(png) * fraction)], False)
    put("wrong_magic.png", b"\x89PNX\r\n\x1a\n" + png[8:], False)
    put("wrong_magic.jpg", b"\x00\x00" + jpeg[2:], False)
    put("empty.png", b"", False)
    put("text.jpg", b"this is a text file, not a photo\n" * 20, False)
    put("float_F.tif", _encoded(Image.fromarray(gray.astype(np.float32) / 255), format="TIFF"), False)
    put("int32_too_deep.tif", _encoded(Image.fromarray(gray.astype(np.int32) * 100_000), format="TIFF"), False)
    put(BOMB_NAME, _png_bomb(BOMB_SIDE), False)
    put(SMALL_BOMB_NAME, _png_bomb(SMALL_BOMB_SIDE), False)
    put("claims_60000x60000.jpg", _jpeg_claiming(60_000, 60_000, jpeg), False)
    return expected
