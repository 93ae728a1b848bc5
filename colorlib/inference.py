"""Colorize photographs of any size with a trained network, in memory or file by file.

The network only ever sees a small square; the colours it predicts are spread back over
the photo, whatever its size:

1. the photo (H, W, 3) is resized to ``size`` x ``size`` (the model's
   ``input_size``: 224 for the paper) with :func:`colorlib.images.resize`, its
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

**Large photos.** Steps 2 and 3 work in bands of rows small enough for the CPU cache:
the enlarged a and b are made band by band too (the same numbers as
``torch.nn.functional.interpolate`` on the whole photo), so beyond the photo itself and
its result nothing of full resolution is ever held. The bands are shared out to threads.
``benchmarks/colorize_speed.py`` measures this against scikit-image.

**Files.** :func:`colorize_paths` colorizes files and folders into an output folder
(the ``colorlib colorize`` command): reading the next photo and encoding the previous
one overlap with the colour work on the current one, each unreadable file is reported in
one line and the others are still done. :func:`plan_outputs` states its naming rule.
:func:`colorize_upload` is the same for bytes uploaded in a notebook.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Literal

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

from .color import lab_to_network_input, lab_to_rgb, rgb_to_lab, target_to_ab
from .files import atomic_write
from .images import DEFAULT_MAX_PIXELS, IMAGE_EXTENSIONS, ImageSource, find_images, load_image, resize
from .model import DOWNSAMPLING_FACTOR, ColorizationNet
from .modelz import ModelZ

__all__ = [
    "Upsampling",
    "OutputFormat",
    "JPEG_QUALITY",
    "PNG_COMPRESS_LEVEL",
    "network_input",
    "predict_ab",
    "replace_ab",
    "colorize",
    "colorize_many",
    "ColorizeOutcome",
    "plan_outputs",
    "colorize_paths",
    "colorize_upload",
]

Upsampling = Literal["bilinear", "nearest"]
OutputFormat = Literal["keep", "png", "jpg"]

#: JPEG quality of colorized photos written as JPEG (Pillow's 1..95 scale). The
#: colours come from a 224 x 224 prediction, so 4:2:0 chroma subsampling loses nothing.
JPEG_QUALITY = 95
#: zlib level of PNG outputs. Level 1 encodes a 12-megapixel photo about 3x faster than
#: Pillow's default (6) for a file about 15% larger; PNG stays lossless either way.
PNG_COMPRESS_LEVEL = 1
# Pixels per band in the full-resolution conversions: each float32 intermediate (3 x 64K
# values, 768 KB) stays in the CPU's L2 cache, and a thread's scratch memory stays small.
_BAND_PIXELS = 1 << 16
_JPEG_SUFFIXES = (".jpg", ".jpeg")
_KEPT_SUFFIXES = (".jpg", ".jpeg", ".png")


# --------------------------------------------------------------------------------------
# Checks.
# --------------------------------------------------------------------------------------


def _check_size(size: int) -> int:
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size <= 0 or size % DOWNSAMPLING_FACTOR:
        raise ValueError(
            f"size: expected a positive integer divisible by {DOWNSAMPLING_FACTOR} (the side the model "
            f"was trained at), got {size!r}"
        )
    return int(size)


def _resolve_size(model: nn.Module, size: int | None) -> int:
    """``size``, or the model's own ``input_size`` when ``size`` is ``None``."""
    if size is None:
        size = getattr(model, "input_size", None)
        if size is None:
            raise ValueError(
                "size: the model does not record the side it was trained at (model.input_size is None); "
                f"pass size=, a positive integer divisible by {DOWNSAMPLING_FACTOR}"
            )
    return _check_size(size)


def _check_upsampling(upsample: str) -> str:
    if upsample not in ("bilinear", "nearest"):
        raise ValueError(f"upsample: expected 'bilinear' or 'nearest', got {upsample!r}")
    return upsample


def _check_positive(value: int, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{what}: expected a positive integer, got {value!r}")
    return int(value)


# --------------------------------------------------------------------------------------
# The steps: network input, predicted ab, enlarging ab, merging with the photo's own L.
# --------------------------------------------------------------------------------------


def network_input(images: Sequence[ImageSource], size: int) -> torch.Tensor:
    """What the network sees: each image resized to ``size`` x ``size``, as ``L / 100``.

    The RGB image is resized with :func:`colorlib.images.resize` (aspect ratio not
    kept, as in the authors' code) and its lightness computed with
    :func:`colorlib.color.rgb_to_lab`.

    Args:
        images: images in any form :func:`colorlib.images.load_image` accepts.
        size: side of the square, divisible by 8.

    Returns:
        float32 tensor ``(N, 1, size, size)`` on the CPU, values in 0..1.
    """
    size = _check_size(size)
    small = [resize(load_image(image), size, size) for image in images]
    if not small:
        raise ValueError("network_input: expected at least one image, got none")
    rgb = torch.from_numpy(np.stack(small)).permute(0, 3, 1, 2).float().div_(255.0)
    return lab_to_network_input(rgb_to_lab(rgb)[:, :1]).contiguous()


def _run_network(model: nn.Module, inputs: torch.Tensor, temperature: float | None = None) -> torch.Tensor:
    """``inputs`` L/100 (N, 1, s, s) -> ab (N, 2, s, s) in ab units, float32 on the CPU.

    A :class:`~colorlib.model.ColorizationNet` answers through its ``predict_ab`` (so a
    classification model gives ab too), :class:`~colorlib.modelz.ModelZ` through its own
    (L in 0..100); any other module is taken to map L/100 to ab targets ``(ab + 128) / 255``.
    The model runs in eval mode on its own device; its mode is restored afterwards.
    """
    if temperature is not None and not isinstance(model, (ColorizationNet, ModelZ)):
        raise ValueError(f"temperature applies to ColorizationNet and ModelZ models, not to {type(model).__name__}")
    parameter = next(model.parameters(), None)
    device = parameter.device if parameter is not None else torch.device("cpu")
    dtype = parameter.dtype if parameter is not None else torch.float32
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode():
            lightness = inputs.to(device=device, dtype=dtype)
            if isinstance(model, ColorizationNet):
                ab = model.predict_ab(lightness, temperature)
            elif isinstance(model, ModelZ):
                ab = model.predict_ab(lightness * 100.0, temperature)
            else:
                ab = target_to_ab(model(lightness))
    finally:
        model.train(was_training)
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


def _colorize_band(rgb_band: np.ndarray, ab_band: torch.Tensor) -> np.ndarray:
    """uint8 RGB (n, W, 3) and ab (2, n, W) -> uint8 RGB (n, W, 3) with the band's own L."""
    with torch.inference_mode():
        band = torch.from_numpy(rgb_band.astype(np.float32)).div_(255.0).permute(2, 0, 1).contiguous()
        lightness = rgb_to_lab(band, validate=False)[:1]  # uint8 / 255 is valid by construction
        lab = torch.cat((lightness, ab_band), dim=0)
        colour = lab_to_rgb(lab).mul_(255.0).round_().to(torch.uint8)
        return colour.permute(1, 2, 0).numpy()


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
    model: nn.Module,
    image: ImageSource,
    size: int | None = None,
    upsample: Upsampling = "bilinear",
    temperature: float | None = None,
) -> np.ndarray:
    """The network's a and b for ``image``, at the image's own resolution.

    Args:
        model: a :class:`~colorlib.model.ColorizationNet` (regression or
            classification), a :class:`~colorlib.modelz.ModelZ`, or any module mapping
            ``(N, 1, s, s)`` L/100 to ``(N, 2, s, s)`` ab targets; on any device.
        image: any form :func:`colorlib.images.load_image` accepts, ``H`` x ``W`` pixels.
        size: the network runs at ``size`` x ``size`` (divisible by 8); default the
            model's ``input_size``.
        upsample: ``"bilinear"`` (smooth) or ``"nearest"`` (each predicted value becomes
            a block of pixels: the "mosaic" look).
        temperature: a classification model's annealed-mean temperature (``None``: its own).

    Returns:
        float32 ``(H, W, 2)``: a and b in ab units (about -128..127).
    """
    size = _resolve_size(model, size)
    rgb = load_image(image)
    ab_small = _run_network(model, network_input([rgb], size), temperature)[0]
    height, width = rgb.shape[:2]
    ab = _EnlargedAb(ab_small, height, width, _check_upsampling(upsample)).rows(0, height)
    return ab.permute(1, 2, 0).contiguous().numpy()


def replace_ab(image: ImageSource, ab: np.ndarray) -> np.ndarray:
    """Keep the image's own lightness ``L`` and give it the colour ``ab``.

    Args:
        image: any form :func:`colorlib.images.load_image` accepts, ``H`` x ``W`` pixels.
        ab: float ``(H, W, 2)``, a and b in ab units (about -128..127); a broadcast view
            (``np.broadcast_to``) is fine, it is read band by band.

    Returns:
        uint8 ``(H, W, 3)`` RGB. Its L equals the image's L up to 8-bit rounding, except
        where the Lab colour is outside the sRGB gamut (clipped, see
        :func:`colorlib.color.lab_to_rgb`).

    >>> import numpy as np
    >>> replace_ab(np.full((1, 1, 3), 128, np.uint8), np.zeros((1, 1, 2), np.float32)).tolist()
    [[[128, 128, 128]]]
    """
    rgb = load_image(image)
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
    size: int | None = None,
    upsample: Upsampling = "bilinear",
    temperature: float | None = None,
) -> np.ndarray:
    """Colorize one image, at its own resolution and with its own lightness.

    The network runs on the image resized to ``size`` x ``size`` (input ``L / 100``;
    the authors' code fed luma instead, see the module docstring); its a and b are
    enlarged to the image's size and merged with the image's full-resolution L.
    Colour in the input is ignored: only its lightness is used.

    Args:
        image: a path, a PIL image, or a uint8 array ``(H, W)`` or ``(H, W, 3)``
            (see :func:`colorlib.images.load_image`; files above
            :data:`~colorlib.images.DEFAULT_MAX_PIXELS` are refused).
        model: e.g. ``colorlib.load_pretrained("paper")``; it runs in eval mode, under
            ``torch.inference_mode``, on its own device (its mode is restored after).
        size: the network's input side, divisible by 8; default the model's
            ``input_size`` (224 for the paper's checkpoints).
        upsample: how the predicted ab are enlarged, ``"bilinear"`` or ``"nearest"``.
        temperature: a classification model's annealed-mean temperature.

    Returns:
        uint8 ``(H, W, 3)`` RGB, 0..255.

    Raises:
        ValueError: a bad ``size`` or ``upsample``, or a model without ``input_size``
            and no ``size``; :class:`colorlib.images.ImageReadError` (a ValueError) for
            an unreadable image.
    """
    return colorize_many([image], model, size=size, upsample=upsample, temperature=temperature)[0]


def _colorize_loaded(
    rgb_images: Sequence[np.ndarray],
    model: nn.Module,
    size: int,
    upsample: str,
    temperature: float | None,
    make_sink: Callable[[np.ndarray], tuple[object, Callable[[int, np.ndarray], None]]],
    threads: int,
) -> list:
    """Run the network on a batch of uint8 RGB photos and merge each at full resolution."""
    ab_small = _run_network(model, network_input(rgb_images, size), temperature)
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
    size: int | None = None,
    batch_size: int = 16,
    upsample: Upsampling = "bilinear",
    temperature: float | None = None,
) -> list[np.ndarray]:
    """:func:`colorize` for many images, running the network on batches of them.

    Images are read ``batch_size`` at a time, so a long iterable of paths is never
    all in memory at once (the results are).

    Returns:
        One uint8 ``(H_i, W_i, 3)`` array per image, in order; each has its image's size.
    """
    size = _resolve_size(model, size)
    _check_upsampling(upsample)
    batch_size = _check_positive(batch_size, "batch_size")
    results: list[np.ndarray] = []
    batch: list[np.ndarray] = []
    threads = torch.get_num_threads()
    for image in images:
        batch.append(load_image(image))
        if len(batch) == batch_size:
            results += _colorize_loaded(batch, model, size, upsample, temperature, _array_sink, threads)
            batch.clear()
    if batch:
        results += _colorize_loaded(batch, model, size, upsample, temperature, _array_sink, threads)
    return results


# --------------------------------------------------------------------------------------
# Files and folders: colorlib colorize IN... -o OUTDIR
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ColorizeOutcome:
    """What became of one input of :func:`colorize_paths` (or its plan, :func:`plan_outputs`).

    Attributes:
        source: the image file (or, for an error about an input itself, the path given).
        target: the file written (planned), or ``None`` when it failed.
        error: ``None`` on success, else one line that names ``source`` and says why.
    """

    source: Path
    target: Path | None
    error: str | None = None

    @property
    def ok(self) -> bool:
        """Whether the photo was (or, in a plan, can be) written."""
        return self.error is None


def _output_suffix(source: Path, output_format: str) -> str:
    if output_format == "png":
        return ".png"
    if output_format == "jpg":
        return ".jpg"
    return source.suffix if source.suffix.lower() in _KEPT_SUFFIXES else ".png"


def _file_format(target: Path) -> str:
    return "JPEG" if target.suffix.lower() in _JPEG_SUFFIXES else "PNG"


def _folder_label(folder: Path) -> str:
    """The name a folder input keeps under OUTDIR (``.`` and ``..`` by their real names)."""
    return folder.name if folder.name not in ("", ".", "..") else folder.resolve().name


def _same_file_key(path: Path) -> str:
    """Paths that name the same file (also on case-insensitive file systems) get one key."""
    return os.path.normcase(str(path.resolve())).casefold()


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split()) or type(error).__name__


def _naming(source: Path, message: str) -> str:
    """``message`` in one line, starting with the file's name unless it names it already."""
    message = " ".join(message.split())
    return message if str(source) in message else f"{source}: {message}"


def _check_output_format(output_format: str) -> str:
    if output_format not in ("keep", "png", "jpg"):
        raise ValueError(f"output_format: expected 'keep', 'png' or 'jpg', got {output_format!r}")
    return output_format


def plan_outputs(
    inputs: Iterable[str | os.PathLike],
    out_dir: str | os.PathLike,
    recursive: bool = False,
    output_format: OutputFormat = "keep",
) -> list[ColorizeOutcome]:
    """Where :func:`colorize_paths` writes each photo: the naming rule, without doing anything.

    The rule:

    1. A file ``IN/dir/name.ext`` given as input is written to ``OUTDIR/name.<out>``.
    2. A folder ``DIR`` given as input keeps its own name and its layout, like
       ``cp -r``: ``DIR/sub/name.ext`` is written to ``OUTDIR/DIR/sub/name.<out>``. Its
       images are those :func:`colorlib.images.find_images` lists (by file name
       ending, sorted), in its subfolders too with ``recursive``.
    3. ``<out>``: with ``output_format="keep"`` a JPEG stays a JPEG and a PNG a PNG,
       with the input's own ending (``.jpg``, ``.JPEG``, ``.png``, ...); every other
       format (TIFF, WebP, GIF, BMP, ...) becomes ``.png``. ``"png"`` or ``"jpg"``
       write every photo in that format.
    4. Two photos of one run never get the same file, and no input is ever
       overwritten: a photo whose name is already taken (by an earlier photo of the
       run, or by an input file) gets ``-2`` (then ``-3``, ...) before its ending,
       the first number whose name is free; names are compared ignoring case. So
       ``a/same.png b/same.png`` give ``same.png`` and ``same-2.png``, and a photo
       whose name is unique in the run always keeps it.
    5. Files of earlier runs in ``OUTDIR`` are replaced (running a command twice gives
       the same files, not ``-2`` copies).

    Inputs that cannot be planned get an ``error`` and no target: a path that does
    not exist, a folder without images, something that is neither a regular file nor
    a folder (a pipe, a device).

    Args:
        inputs: image files and folders, in the order to process them.
        out_dir: the output folder (need not exist).
        recursive: also take the images in subfolders of folder inputs.
        output_format: ``"keep"``, ``"png"`` or ``"jpg"``.

    Returns:
        One :class:`ColorizeOutcome` per photo (and per input in error), in order.

    >>> photos = Path(tempfile.mkdtemp())  # three empty files: a.jpg, b/a.jpg, c.tif
    >>> for name in ("a.jpg", "b/a.jpg", "c.tif"):
    ...     (photos / name).parent.mkdir(exist_ok=True)
    ...     (photos / name).touch()
    >>> [p.target.as_posix() for p in plan_outputs([photos / "a.jpg", photos / "b/a.jpg", photos / "c.tif"], "out")]
    ['out/a.jpg', 'out/a-2.jpg', 'out/c.png']
    """
    if isinstance(inputs, (str, os.PathLike)):
        inputs = [inputs]
    _check_output_format(output_format)
    out_dir = Path(out_dir)
    planned: list[tuple[Path, Path | None, str | None]] = []
    for given in map(Path, inputs):
        if given.is_dir():
            images = find_images(given, recursive=recursive)
            if not images:
                hint = "" if recursive else " (--recursive looks in its subfolders too)"
                planned.append((given, None, f"{given}: no image files ({' '.join(IMAGE_EXTENSIONS)}) in this folder{hint}"))
            base = out_dir / _folder_label(given)
            for image in images:
                relative = image.relative_to(given)
                planned.append((image, base / relative.parent / (relative.stem + _output_suffix(image, output_format)), None))
        elif given.is_file():
            planned.append((given, out_dir / (given.stem + _output_suffix(given, output_format)), None))
        elif given.exists():  # a pipe or a device: reading it could wait forever
            planned.append((given, None, f"{given}: not a regular file or folder"))
        else:
            planned.append((given, None, f"{given}: no such file or folder"))

    # Inputs are never overwritten; natural names go to their first photo; the rest get -N.
    taken = {_same_file_key(source) for source, target, _ in planned if target is not None}
    final: list[Path | None] = [None] * len(planned)
    clashing: list[int] = []
    for index, (_, target, _) in enumerate(planned):
        if target is None:
            continue
        key = _same_file_key(target)
        if key in taken:
            clashing.append(index)
        else:
            taken.add(key)
            final[index] = target
    for index in clashing:
        target = planned[index][1]
        number = 2
        while _same_file_key(candidate := target.with_name(f"{target.stem}-{number}{target.suffix}")) in taken:
            number += 1
        taken.add(_same_file_key(candidate))
        final[index] = candidate
    return [ColorizeOutcome(source, target, error) for (source, _, error), target in zip(planned, final)]


def _save(image: Image.Image, target: Path) -> None:
    """Encode ``image`` into ``target`` (format from its ending), atomically; then free it."""
    file_format = _file_format(target)
    options = {"quality": JPEG_QUALITY} if file_format == "JPEG" else {"compress_level": PNG_COMPRESS_LEVEL}
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(target, lambda name: image.save(name, format=file_format, **options))
    finally:
        image.close()


def colorize_paths(
    inputs: Iterable[str | os.PathLike],
    out_dir: str | os.PathLike,
    model: nn.Module,
    size: int | None = None,
    recursive: bool = False,
    output_format: OutputFormat = "keep",
    max_pixels: int | None = DEFAULT_MAX_PIXELS,
    workers: int = 2,
    upsample: Upsampling = "bilinear",
) -> Iterator[ColorizeOutcome]:
    """Colorize image files and folders into ``out_dir``, one outcome per photo, in order.

    Every photo is read with :func:`colorlib.images.load_image` (EXIF orientation
    applied, images above ``max_pixels`` refused before decoding), colorized at its own
    resolution as :func:`colorize` does, and written atomically with normal file
    permissions; where it goes is :func:`plan_outputs`' rule (JPEG in, JPEG out at
    quality :data:`JPEG_QUALITY`; PNG for the rest, unless ``output_format`` says).

    A photo that cannot be read, colorized or written gives an outcome whose ``error``
    is one line naming it, and the others are still done. Reading the next photo and
    encoding the previous one run on two threads beside the colour work, so at most
    three photos are in memory at a time.

    Args:
        inputs: image files and folders (see :func:`plan_outputs`).
        out_dir: output folder, created if needed.
        model: as for :func:`colorize`.
        size: network input side; default the model's ``input_size``.
        recursive: descend into the subfolders of folder inputs.
        output_format: ``"keep"`` (default), ``"png"`` or ``"jpg"``.
        max_pixels: refuse larger images (``None``: no limit).
        workers: threads sharing each photo's full-resolution colour conversion.
        upsample: ``"bilinear"`` or ``"nearest"``.

    Returns:
        An iterator of :class:`ColorizeOutcome`; the work happens as it is consumed.

    Raises:
        ValueError: at the call, not later: bad ``size``/``output_format``/``workers``/
            ``max_pixels``, a model without ``input_size`` and no ``size``, or an
            ``out_dir`` that is a file.
    """
    size = _resolve_size(model, size)
    _check_upsampling(upsample)
    workers = _check_positive(workers, "workers")
    if max_pixels is not None:
        max_pixels = _check_positive(max_pixels, "max_pixels")
    jobs = plan_outputs(inputs, out_dir, recursive=recursive, output_format=output_format)
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise ValueError(f"out_dir: expected a folder for the results, {out_dir} is a file")
    out_dir.mkdir(parents=True, exist_ok=True)
    return _colorize_jobs(jobs, model, size, upsample, max_pixels, workers)


def _colorize_jobs(
    jobs: list[ColorizeOutcome], model: nn.Module, size: int, upsample: str, max_pixels: int | None, workers: int
) -> Iterator[ColorizeOutcome]:
    reader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="colorlib-read")
    writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="colorlib-write")
    reads: dict[int, Future] = {}
    writing: tuple[ColorizeOutcome, Future] | None = None

    def start_reading(index: int) -> None:
        if index < len(jobs) and jobs[index].ok and index not in reads:
            reads[index] = reader.submit(load_image, jobs[index].source, max_pixels)

    def finish(job: ColorizeOutcome, future: Future) -> ColorizeOutcome:
        try:
            future.result()
        except Exception as error:  # noqa: BLE001 - any failure is reported in one line, the batch goes on
            return ColorizeOutcome(job.source, None, _naming(job.source, f"cannot write {job.target}: {_one_line(error)}"))
        return job

    def colorize_read(index: int) -> Image.Image:
        rgb = reads.pop(index).result()  # the photo lives only in this call and its bands
        return _colorize_loaded([rgb], model, size, upsample, None, _image_sink, workers)[0]

    try:
        for index, job in enumerate(jobs):
            start_reading(index)
            start_reading(index + 1)  # read ahead: decoding overlaps the colour work
            failed, image = (None if job.ok else job), None
            if job.ok:
                try:
                    image = colorize_read(index)
                except Exception as error:  # noqa: BLE001 - one line per file, the batch goes on
                    failed = ColorizeOutcome(job.source, None, _naming(job.source, _one_line(error)))
            if writing is not None:  # at most one photo is encoded while the next is colorized
                yield finish(*writing)
                writing = None
            if image is not None:
                writing = (job, writer.submit(_save, image, job.target))
                del image
            else:
                yield failed
        if writing is not None:
            yield finish(*writing)
            writing = None
    finally:
        for future in reads.values():
            future.cancel()
        reader.shutdown(wait=True, cancel_futures=True)
        writer.shutdown(wait=True, cancel_futures=True)


def colorize_upload(
    data: bytes,
    name: str,
    model: nn.Module,
    size: int | None = None,
    max_pixels: int | None = DEFAULT_MAX_PIXELS,
    upsample: Upsampling = "bilinear",
) -> tuple[np.ndarray | None, str | None]:
    """Colorize an uploaded file (a notebook's upload widget): the result, or one line why not.

    The bytes are read by :func:`colorlib.images.load_image`, like every other photo
    (through a private temporary file), so the same formats, orientation and pixel
    limit apply.

    Args:
        data: the file's content.
        name: the file's name as the user knows it; error messages use it.
        model, size, upsample: as for :func:`colorize`.
        max_pixels: refuse larger images (``None``: no limit).

    Returns:
        ``(uint8 RGB (H, W, 3), None)``, or ``(None, "name: why")`` for a file that is
        no image colorlib can read (truncated, too large, not an image, ...).

    Raises:
        ValueError: ``data`` is not bytes, or a bad ``size``/``upsample`` (mistakes in
            the calling code, not in the file).
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise ValueError(f"colorize_upload: expected the file's content as bytes, got {type(data).__name__}")
    name = str(name) or "upload"
    size = _resolve_size(model, size)
    _check_upsampling(upsample)
    with tempfile.TemporaryDirectory(prefix="colorlib-upload-") as folder:
        path = Path(folder) / "upload"
        path.write_bytes(data)
        try:
            rgb = load_image(path, max_pixels=max_pixels)
        except (ValueError, OSError) as error:
            return None, _naming(Path(name), _one_line(error).replace(str(path), name))
    try:
        return colorize_many([rgb], model, size=size, upsample=upsample)[0], None
    except Exception as error:  # noqa: BLE001 - the widget shows one line, never a traceback
        return None, _naming(Path(name), f"cannot colorize it ({type(error).__name__}: {_one_line(error)})")
