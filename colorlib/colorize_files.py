"""Colorize image files, folders and uploads: the ``colorlib colorize`` command's work.

:func:`colorize_paths` colorizes files and folders into an output folder: each photo is
read once (under the caller's ``max_pixels``), colorized as
:func:`colorlib.inference.colorize` does, and written atomically. Reading the next photo
and encoding the previous one overlap with the color work on the current one; each
unreadable file is reported in one line and the others are still done.
:func:`plan_outputs` states the naming rule. :func:`colorize_upload` is the same for
bytes uploaded in a notebook.

Like :mod:`colorlib.inference`, the data come first and the model after
(``colorize_paths(inputs, out_dir, model, *, options)``); options are keyword-only.
"""

from __future__ import annotations

import functools
import os
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Literal

import numpy as np
from PIL import Image
from torch import nn

from .files import atomic_write
from .hints import Hint
from .images import DEFAULT_MAX_PIXELS, IMAGE_EXTENSIONS, find_images, load_image
from .inference import Upsampling, _check_hints, _check_options, _check_positive, _colorize_loaded, _image_sink, colorize_many

__all__ = [
    "OutputFormat",
    "JPEG_QUALITY",
    "PNG_COMPRESS_LEVEL",
    "ColorizeOutcome",
    "plan_outputs",
    "colorize_paths",
    "colorize_upload",
]

OutputFormat = Literal["keep", "png", "jpg"]

#: JPEG quality of colorized photos written as JPEG (Pillow's 1..95 scale). The
#: colors come from a 224 x 224 prediction, so 4:2:0 chroma subsampling loses nothing.
JPEG_QUALITY = 95
#: zlib level of PNG outputs. Level 1 encodes a 12-megapixel photo about 3x faster than
#: Pillow's default (6) for a file about 15% larger; PNG stays lossless either way.
PNG_COMPRESS_LEVEL = 1
_JPEG_SUFFIXES = (".jpg", ".jpeg")
_KEPT_SUFFIXES = (".jpg", ".jpeg", ".png")


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
    *,
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

    >>> with tempfile.TemporaryDirectory() as folder:  # three empty files: a.jpg, b/a.jpg, c.tif
    ...     photos = [Path(folder, name) for name in ("a.jpg", "b/a.jpg", "c.tif")]
    ...     photos[1].parent.mkdir()
    ...     _ = [photo.touch() for photo in photos]
    ...     print([outcome.target.as_posix() for outcome in plan_outputs(photos, "out")])
    ['out/a.jpg', 'out/a-2.jpg', 'out/c.png']
    """
    if isinstance(inputs, (str, os.PathLike)):
        inputs = [inputs]
    _check_output_format(output_format)
    planned = [
        planned_one
        for given in map(Path, inputs)
        for planned_one in _plan_input(given, Path(out_dir), recursive, output_format)
    ]
    return _number_clashes(planned)


def _plan_input(
    given: Path, out_dir: Path, recursive: bool, output_format: str
) -> list[tuple[Path, Path | None, str | None]]:
    """``(source, natural target or None, error or None)`` for each photo of one input."""
    if given.is_dir():
        images = find_images(given, recursive=recursive)
        if not images:
            hint = "" if recursive else " (--recursive looks in its subfolders too)"
            return [(given, None, f"{given}: no image files ({' '.join(IMAGE_EXTENSIONS)}) in this folder{hint}")]
        base = out_dir / _folder_label(given)
        return [
            (image, base / image.relative_to(given).parent / (image.stem + _output_suffix(image, output_format)), None)
            for image in images
        ]
    if given.is_file():
        return [(given, out_dir / (given.stem + _output_suffix(given, output_format)), None)]
    if given.exists():  # a pipe or a device: reading it could wait forever
        return [(given, None, f"{given}: not a regular file or folder")]
    return [(given, None, f"{given}: no such file or folder")]


def _number_clashes(planned: list[tuple[Path, Path | None, str | None]]) -> list[ColorizeOutcome]:
    """Rule 4 of :func:`plan_outputs`: inputs are never overwritten; a natural name goes
    to its first photo; the others get ``-2``, ``-3``, ... (the first free number)."""
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
    *,
    input_size: int | None = None,
    recursive: bool = False,
    output_format: OutputFormat = "keep",
    max_pixels: int | None = DEFAULT_MAX_PIXELS,
    workers: int = 2,
    upsample: Upsampling = "bilinear",
    temperature: float | None = None,
    read: Callable[[Path], np.ndarray] | None = None,
    hints: Sequence[Hint] | None = None,
) -> Iterator[ColorizeOutcome]:
    """Colorize image files and folders into ``out_dir``, one outcome per photo, in order.

    Every photo is read once with :func:`colorlib.images.load_image` (EXIF orientation
    applied, images above ``max_pixels`` refused before decoding), colorized at its own
    resolution as :func:`colorlib.inference.colorize` does, and written atomically with
    normal file permissions; where it goes is :func:`plan_outputs`' rule (JPEG in, JPEG out at
    quality :data:`JPEG_QUALITY`; PNG for the rest, unless ``output_format`` says).

    A photo that cannot be read, colorized or written gives an outcome whose ``error``
    is one line naming it, and the others are still done. Reading the next photo and
    encoding the previous one run on two threads beside the color work, so at most
    three photos are in memory at a time.

    Args:
        inputs: image files and folders (see :func:`plan_outputs`).
        out_dir: output folder, created if needed.
        model: as for :func:`colorlib.inference.colorize`.
        input_size: network input side; default the model's ``input_size``.
        recursive: descend into the subfolders of folder inputs.
        output_format: ``"keep"`` (default), ``"png"`` or ``"jpg"``.
        max_pixels: refuse larger images, before decoding them (``None``: no limit);
            the limit holds for every step, so a photo under it is colorized whatever
            :data:`~colorlib.images.DEFAULT_MAX_PIXELS` says.
        workers: threads sharing each photo's full-resolution color conversion.
        upsample: ``"bilinear"`` or ``"nearest"``.
        temperature: the annealed-mean temperature of a classification model or a
            :class:`~colorlib.modelz.ModelZ`, a finite number > 0 (``None``: its own).
        read: how a photo is read, ``read(path) -> uint8 RGB (H, W, 3)``, on the
            reading thread; default ``load_image(path, max_pixels=max_pixels)``. The
            command passes one that takes photos it decoded while torch was loading.
            Its exceptions are reported like the default reader's.
        hints: colour hints in pixels of the photo (:func:`colorlib.hints.read_hints`),
            for a model that takes them; ``inputs`` must then be exactly one image file.

    Returns:
        An iterator of :class:`ColorizeOutcome`; the work happens as it is consumed.

    Raises:
        ValueError: at the call, not later: bad ``input_size``/``output_format``/``workers``/
            ``max_pixels``/``temperature`` (or a temperature for a model without an
            annealed mean), a model without ``input_size`` and no ``input_size``, an
            ``out_dir`` that is a file, or hints for a model that does not take them or
            for more (or less) than one image file.
    """
    input_size, upsample, temperature, max_pixels = _check_options(model, input_size, upsample, temperature, max_pixels)
    hints = _check_hints(model, hints)
    workers = _check_positive(workers, "workers")
    if read is None:
        read = functools.partial(load_image, max_pixels=max_pixels)
    elif not callable(read):
        raise ValueError(f"read: expected a function path -> uint8 RGB array, got {type(read).__name__}")
    jobs = plan_outputs(inputs, out_dir, recursive=recursive, output_format=output_format)
    if hints is not None and len(jobs) != 1:
        raise ValueError(f"hints: hints belong to one photo; give exactly one image file, got {len(jobs)} inputs")
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise ValueError(f"out_dir: expected a folder for the results, {out_dir} is a file")
    out_dir.mkdir(parents=True, exist_ok=True)
    return _colorize_jobs(jobs, model, (input_size, upsample, temperature), read, workers, hints)


def _colorize_jobs(
    jobs: list[ColorizeOutcome],
    model: nn.Module,
    options: tuple[int, str, float | None],
    read: Callable[[Path], np.ndarray],
    workers: int,
    hints: Sequence[Hint] | None = None,
) -> Iterator[ColorizeOutcome]:
    """The work of :func:`colorize_paths` on checked arguments; ``options`` is (size, upsample, temperature)."""
    reader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="colorlib-read")
    writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="colorlib-write")
    reads: dict[int, Future] = {}
    writing: tuple[ColorizeOutcome, Future] | None = None

    def start_reading(index: int) -> None:
        if index < len(jobs) and jobs[index].ok and index not in reads:
            reads[index] = reader.submit(read, jobs[index].source)

    def finish(job: ColorizeOutcome, future: Future) -> ColorizeOutcome:
        try:
            future.result()
        except Exception as error:  # noqa: BLE001 - any failure is reported in one line, the batch goes on
            return ColorizeOutcome(job.source, None, _naming(job.source, f"cannot write {job.target}: {_one_line(error)}"))
        return job

    def colorize_read(index: int) -> Image.Image:
        # load_image checks a custom reader's answer; the photo lives only in this call and its bands
        rgb = load_image(reads.pop(index).result(), max_pixels=None)
        return _colorize_loaded([rgb], model, *options, _image_sink, workers, hints=hints)[0]

    try:
        for index, job in enumerate(jobs):
            start_reading(index)
            start_reading(index + 1)  # read ahead: decoding overlaps the color work
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
    *,
    input_size: int | None = None,
    max_pixels: int | None = DEFAULT_MAX_PIXELS,
    upsample: Upsampling = "bilinear",
    temperature: float | None = None,
) -> tuple[np.ndarray | None, str | None]:
    """Colorize an uploaded file (a notebook's upload widget): the result, or one line why not.

    The bytes are read by :func:`colorlib.images.load_image`, like every other photo
    (through a private temporary file), so the same formats, orientation and pixel
    limit apply.

    Args:
        data: the file's content.
        name: the file's name as the user knows it; error messages use it.
        model, input_size, upsample, temperature: as for :func:`colorlib.inference.colorize`.
        max_pixels: refuse larger images (``None``: no limit).

    Returns:
        ``(uint8 RGB (H, W, 3), None)``, or ``(None, "name: why")`` for a file that is
        no image colorlib can read (truncated, too large, not an image, ...).

    Raises:
        ValueError: ``data`` is not bytes, or a bad ``input_size``/``upsample``/
            ``temperature``/``max_pixels`` (mistakes in the calling code, not in the file).
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise ValueError(f"colorize_upload: expected the file's content as bytes, got {type(data).__name__}")
    name = str(name) or "upload"
    input_size, upsample, temperature, max_pixels = _check_options(model, input_size, upsample, temperature, max_pixels)
    with tempfile.TemporaryDirectory(prefix="colorlib-upload-") as folder:
        path = Path(folder) / "upload"
        path.write_bytes(data)
        try:
            rgb = load_image(path, max_pixels=max_pixels)
        except (ValueError, OSError) as error:
            return None, _naming(Path(name), _one_line(error).replace(str(path), name))
    try:
        return colorize_many([rgb], model, input_size=input_size, upsample=upsample, temperature=temperature)[0], None
    except Exception as error:  # noqa: BLE001 - the widget shows one line, never a traceback
        return None, _naming(Path(name), f"cannot colorize it ({type(error).__name__}: {_one_line(error)})")
