"""Evaluating colorizers against baselines: the metrics table and ``colorlib evaluate``.

A *colorizer* here is any function from a colour photo to a colorized photo (both
``uint8`` RGB ``(H, W, 3)``) that looks only at the photo's lightness. Baselines:

* **gray**: ab = 0 everywhere (the grayscale input itself, as a colour image);
* **mean ab**: one constant ab everywhere, the mean ab of the training photos;
* **a model**: the paper's released network, the course's quick model, ModelZ ...
  through :func:`colorlib.colorize`.

All keep the true L channel, so every difference is in the colours. Every colorizer
is scored by :func:`image_metrics` on the same photos and summarised by
:func:`summarize`; :func:`metrics_table` prints the rows side by side, the ground
truth's own colourfulness and chroma first, for reference.

``colorlib evaluate --model paper|PATH [--data DIR] [--json FILE]`` does this for one
model, with the gray baseline beside it.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Sequence

import numpy as np

from . import metrics
from .config import Profile, cache_dir, data_dir, get_profile
from .datasets import kodak24_files, landscapes_split
from .feature_store import photo_files_key
from .files import atomic_write
from .images import (
    DEFAULT_MAX_PIXELS,
    ImageReadError,
    find_images,
    is_grayscale,
    load_image,
)
from .inference import colorize, replace_ab
from .places205 import read_split
from .splits import course_photos_split, evenly_spaced
from .weights import load_pretrained

__all__ = [
    "Colorizer",
    "EvaluationImage",
    "gray_colorizer",
    "constant_ab_colorizer",
    "model_colorizer",
    "mean_ab",
    "PhotoColors",
    "photo_colors",
    "training_mean_ab",
    "training_photo_colors",
    "PhotoSet",
    "photo_set",
    "kodak24_photos",
    "evaluation_images",
    "image_metrics",
    "EvaluationResult",
    "evaluate_colorizer",
    "mean_auc",
    "summarize",
    "metrics_table",
    "EvaluationReport",
    "evaluate_command",
]


#: ``(uint8 RGB (H, W, 3)) -> uint8 RGB (H, W, 3)``, using only the input's lightness.
Colorizer = Callable[[np.ndarray], np.ndarray]

@dataclass(frozen=True)
class EvaluationImage:
    """One ground-truth photo: ``name``, ``rgb`` (uint8 (H, W, 3)), ``seen_in_training``."""

    name: str
    rgb: np.ndarray
    seen_in_training: bool = False


# --------------------------------------------------------------------------------------
# Colorizers.
# --------------------------------------------------------------------------------------


def _with_constant_ab(image: np.ndarray, ab: tuple[float, float]) -> np.ndarray:
    return replace_ab(image, np.broadcast_to(np.asarray(ab, dtype=np.float32), image.shape[:2] + (2,)))


def gray_colorizer(image: np.ndarray) -> np.ndarray:
    """The gray baseline: keep L, set a = b = 0. uint8 RGB (H, W, 3) in and out."""
    return _with_constant_ab(image, (0.0, 0.0))


def constant_ab_colorizer(ab: tuple[float, float]) -> Colorizer:
    """A baseline that keeps L and paints every pixel with the same ``(a, b)``."""
    ab = (float(ab[0]), float(ab[1]))

    def colorize_constant(image: np.ndarray) -> np.ndarray:
        return _with_constant_ab(image, ab)

    colorize_constant.__name__ = f"constant_ab_{ab[0]:.1f}_{ab[1]:.1f}"
    return colorize_constant


def model_colorizer(model, *, input_size: int | None = None, **options) -> Colorizer:
    """A network as a colorizer: :func:`colorlib.colorize` (the whole photo at ``input_size`` x
    ``input_size``, default the model's own input size; colours back at the photo's resolution).

    ``options`` go to :func:`colorlib.colorize` (``temperature=`` for a classification model).
    """

    def colorize_with_model(image: np.ndarray) -> np.ndarray:
        return colorize(image, model, input_size=input_size, **options)

    return colorize_with_model


def mean_ab(images: Iterable[np.ndarray]) -> tuple[float, float]:
    """The mean (a, b) over all pixels of ``images`` (uint8 RGB (H, W, 3) each), pixel-weighted."""
    return photo_colors(images).mean_ab


@dataclass(frozen=True)
class PhotoColors:
    """What colour a set of photos has, read in one pass (:func:`photo_colors`).

    Attributes:
        mean_ab: the mean (a, b) over all pixels, pixel-weighted, in Lab units.
        mean_chroma: the mean over photos of each photo's mean chroma (the distance of (a, b)
            from gray, :func:`colorlib.metrics.mean_chroma`): how :func:`evaluate_colorizer`
            averages ``true_chroma``, so the two compare.
        photos: how many photos.
    """

    mean_ab: tuple[float, float]
    mean_chroma: float
    photos: int


def photo_colors(images: Iterable[np.ndarray]) -> PhotoColors:
    """The mean (a, b) and the mean chroma of ``images`` (uint8 RGB (H, W, 3) each).

    >>> red, gray = np.zeros((2, 2, 3), np.uint8), np.full((2, 6, 3), 128, np.uint8)
    >>> red[..., 0] = 255
    >>> colors = photo_colors([red, gray])
    >>> round(colors.mean_chroma, 1), colors.photos    # (104.6 + 0) / 2: per photo, then over photos
    (52.3, 2)
    >>> round(colors.mean_ab[0], 1)                    # 80.1 * 4 / 16: pixel-weighted
    20.0

    Raises:
        ValueError: no images.
    """
    total, count, chromas = np.zeros(2), 0, []
    for image in images:
        ab = metrics.ab_of(image)
        total += ab.reshape(-1, 2).sum(axis=0)
        count += ab.shape[0] * ab.shape[1]
        chromas.append(float(metrics.mean_chroma(ab)))
    if count == 0:
        raise ValueError("photo_colors: expected at least one image")
    return PhotoColors(mean_ab=(float(total[0] / count), float(total[1] / count)),
                       mean_chroma=float(np.mean(chromas)), photos=len(chromas))


def training_mean_ab(profile: Profile | None = None, *, max_images: int = 2000) -> tuple[float, float]:
    """The mean ab of the profile's training photos (the "mean ab" baseline's colour):
    :func:`training_photo_colors`' ``mean_ab``.

    Returns:
        ``(a, b)``, floats in Lab units.
    """
    return training_photo_colors(profile, max_images=max_images).mean_ab


def training_photo_colors(profile: Profile | None = None, *, max_images: int = 2000) -> PhotoColors:
    """The mean ab and mean chroma of the profile's training photos (:func:`photo_colors`).

    ``"course"`` data (the quick profile): ``max_images`` photos evenly spaced over its
    training split; ``"landscapes"``: the first ``max_images`` of the landscapes' training
    split; ``"places205"`` (the paper profile): the first ``max_images`` training photos of
    its split (enough for a mean). Reading 2,000 photos takes about 10 s on 2 cores and
    several lessons ask, so the answer is computed once per process and kept in the cache
    folder (``COLORLIB_CACHE``) as ``photo-colors/<key>.json``; the key is made of the photos'
    names and sizes, so other photos get their own record.
    """
    return _training_photo_colors(profile or get_profile(), max_images)


#: ``format`` of the records :func:`training_photo_colors` keeps.
PHOTO_COLORS_FORMAT = "colorlib-photo-colors-v1"


@functools.lru_cache(maxsize=8)
def _training_photo_colors(profile: Profile, max_images: int) -> PhotoColors:
    if profile.data == "landscapes":
        paths = landscapes_split()[0][:max_images]
    elif profile.data == "course":
        paths = evenly_spaced(course_photos_split()[0], count=max_images)
    elif profile.data == "places205":
        paths = read_split(data_dir()).train[:max_images]
    else:
        paths = find_images(profile.data)[:max_images]
    paths = [Path(path) for path in paths]
    record = cache_dir() / "photo-colors" / f"{hashlib.sha256(photo_files_key(paths).encode()).hexdigest()[:24]}.json"
    try:
        kept = json.loads(record.read_text(encoding="utf-8"))
        if kept.get("format") == PHOTO_COLORS_FORMAT and kept.get("photos") == len(paths):
            return PhotoColors(mean_ab=(float(kept["mean_ab"][0]), float(kept["mean_ab"][1])),
                               mean_chroma=float(kept["mean_chroma"]), photos=int(kept["photos"]))
    except (OSError, ValueError, KeyError, TypeError, IndexError):
        pass  # no record yet, or an unreadable one: measure again and write it anew
    colors = photo_colors(load_image(path) for path in paths)
    text = json.dumps({"format": PHOTO_COLORS_FORMAT, "photos": colors.photos, "mean_ab": list(colors.mean_ab),
                       "mean_chroma": colors.mean_chroma}, indent=1) + "\n"
    record.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(record, lambda name: Path(name).write_text(text, encoding="utf-8"))
    return colors


# --------------------------------------------------------------------------------------
# Evaluation photos.
# --------------------------------------------------------------------------------------


@dataclass
class PhotoSet:
    """Photos to evaluate on, and what was left out: ``images``, ``skipped_gray`` (names of
    photos without colour: nothing to score, and the gray baseline would be exact, PSNR
    infinite), ``unreadable`` (one line per file that could not be read)."""

    images: list[EvaluationImage]
    skipped_gray: list[str] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)

    def describe(self) -> str:
        """``"24 photos (skipped: 1 gray, 0 unreadable)"``."""
        return f"{len(self.images)} photos (skipped: {len(self.skipped_gray)} gray, {len(self.unreadable)} unreadable)"


def photo_set(paths: Sequence[str | os.PathLike], *, max_pixels: int | None = DEFAULT_MAX_PIXELS) -> PhotoSet:
    """Whole photos from files, through :func:`colorlib.images.load_image`.

    Gray and nearly gray photos are skipped and counted, as in training; files that
    cannot be read (not an image, truncated, above ``max_pixels``) are named, and the
    others are still evaluated.
    """
    found = PhotoSet([])
    for path in paths:
        path = Path(path)
        try:
            rgb = load_image(path, max_pixels=max_pixels)
        except (ImageReadError, OSError) as error:
            found.unreadable.append(" ".join(str(error).split()))
            continue
        if is_grayscale(rgb):
            found.skipped_gray.append(path.name)
        else:
            found.images.append(EvaluationImage(path.name, rgb))
    return found


def kodak24_photos() -> PhotoSet:
    """The course's test set: the 24 Kodak photos, whole (768x512 or 512x768), downloaded on first use."""
    return photo_set(kodak24_files())


def evaluation_images(*, count: int | None = None) -> list[EvaluationImage]:
    """The photos the course evaluates on: Kodak24 (the test set, in every profile: nothing
    was trained or tuned on it), the first ``count`` of them."""
    images = kodak24_photos().images
    return images[:count] if count is not None else images


# --------------------------------------------------------------------------------------
# Scoring.
# --------------------------------------------------------------------------------------

#: The per-image numbers :func:`image_metrics` returns.
METRIC_NAMES = ("auc", "psnr", "ssim", "colorfulness", "true_colorfulness", "chroma", "true_chroma")


def image_metrics(predicted: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    """All of the course's metrics for one colorized photo against its ground truth.

    Args:
        predicted, truth: RGB ``(H, W, 3)``, uint8 0..255 (or float in [0, 1]).

    Returns:
        ``auc`` (%, 0..100), ``psnr`` (dB), ``ssim`` (-1..1), ``colorfulness`` and
        ``true_colorfulness`` (Hasler-Suesstrunk, 0..~150), ``chroma`` and
        ``true_chroma`` (mean C*ab, 0..~130). ab is taken from the RGB images, so what is
        scored is what is shown (after gamut clipping and rounding to 8 bits).
    """
    predicted_ab, true_ab = metrics.ab_of(predicted), metrics.ab_of(truth)
    return {
        "auc": metrics.ab_error_auc(predicted_ab, true_ab),
        "psnr": metrics.psnr(predicted, truth),
        "ssim": metrics.ssim(predicted, truth),
        "colorfulness": metrics.colorfulness(predicted),
        "true_colorfulness": metrics.colorfulness(truth),
        "chroma": metrics.mean_chroma(predicted_ab),
        "true_chroma": metrics.mean_chroma(true_ab),
    }


@dataclass
class EvaluationResult:
    """One colorizer on a list of photos: its outputs and per-image metrics."""

    name: str
    image_names: list[str]
    predictions: list[np.ndarray] = field(repr=False)
    per_image: dict[str, np.ndarray]

    def summary(self, only: Sequence[bool] | None = None) -> dict[str, float]:
        """:func:`summarize` over all photos, or over those where ``only`` is True."""
        if only is None:
            return summarize(self.per_image)
        keep = np.asarray(only, dtype=bool)
        if keep.shape != (len(self.image_names),) or not keep.any():
            raise ValueError(f"summary: expected {len(self.image_names)} booleans, at least one True, got {list(keep)}")
        return summarize({key: values[keep] for key, values in self.per_image.items()})


def evaluate_colorizer(name: str, colorizer: Colorizer, images: Sequence[EvaluationImage]) -> EvaluationResult:
    """Run ``colorizer`` on every photo and score each output with :func:`image_metrics`."""
    if not images:
        raise ValueError("evaluate_colorizer: expected at least one image")
    predictions, rows = [], []
    for image in images:
        predicted = colorizer(image.rgb)
        if not isinstance(predicted, np.ndarray) or predicted.shape != image.rgb.shape:
            raise ValueError(
                f"evaluate_colorizer: {name} returned {getattr(predicted, 'shape', type(predicted).__name__)} "
                f"for {image.name}, expected an RGB array shaped like the input {image.rgb.shape}"
            )
        predictions.append(predicted)
        rows.append(image_metrics(predicted, image.rgb))
    per_image = {key: np.array([row[key] for row in rows]) for key in METRIC_NAMES}
    return EvaluationResult(name, [image.name for image in images], predictions, per_image)


def mean_auc(colorizer: Colorizer, images: Sequence[EvaluationImage]) -> float:
    """The mean AuC (%) of ``colorizer`` over ``images``: the one number of the ablation
    tables, without the slower metrics of :func:`evaluate_colorizer`."""
    if not images:
        raise ValueError("mean_auc: expected at least one image")
    return float(np.mean([metrics.ab_error_auc(metrics.ab_of(colorizer(image.rgb)), metrics.ab_of(image.rgb))
                          for image in images]))


def summarize(per_image: dict[str, np.ndarray]) -> dict[str, float]:
    """Means over images, plus ``colorfulness_ratio`` and ``chroma_ratio``.

    The ratios are mean predicted over mean true value (1 = as colourful as the photos,
    0 = gray), a ratio of means so that a nearly gray photo cannot blow it up.
    """
    means = {key: float(np.mean(values)) for key, values in per_image.items()}
    means["colorfulness_ratio"] = means["colorfulness"] / max(means["true_colorfulness"], 1e-12)
    means["chroma_ratio"] = means["chroma"] / max(means["true_chroma"], 1e-12)
    return means


def _ground_truth_row(summary: dict[str, float]) -> dict[str, float]:
    return {
        "auc": 100.0,
        "psnr": math.inf,
        "ssim": 1.0,
        "colorfulness": summary["true_colorfulness"],
        "colorfulness_ratio": 1.0,
        "chroma": summary["true_chroma"],
        "chroma_ratio": 1.0,
    }


def metrics_table(summaries: dict[str, dict[str, float]], *, ground_truth: bool = True) -> str:
    """A plain-text table, one row per colorizer (``{name: summarize(...)}``), in order.

    Columns: AuC (%), PSNR (dB), SSIM, colourfulness, its ratio to the ground truth's,
    mean chroma. Rounded to 1, 2, 3, 1, 2 and 1 decimals: stable across machines. With
    ``ground_truth`` a first row gives the photos' own colourfulness and chroma.
    """
    if not summaries:
        raise ValueError("metrics_table: expected at least one row")
    rows = dict(summaries)
    if ground_truth:
        rows = {"ground truth": _ground_truth_row(next(iter(summaries.values()))), **rows}
    width = max(12, *(len(name) for name in rows))
    header = f"{'':<{width}}  {'AuC %':>6}  {'PSNR dB':>7}  {'SSIM':>5}  {'colourful.':>10}  {'ratio':>5}  {'chroma':>6}"
    lines = [header]
    for name, row in rows.items():
        lines.append(
            f"{name:<{width}}  {row['auc']:>6.1f}  {row['psnr']:>7.2f}  {row['ssim']:>5.3f}  "
            f"{row['colorfulness']:>10.1f}  {row['colorfulness_ratio']:>5.2f}  {row['chroma']:>6.1f}"
        )
    return "\n".join(lines)


# --------------------------------------------------------------------------------------
# Figures.
# --------------------------------------------------------------------------------------


# --------------------------------------------------------------------------------------
# Command line.
# --------------------------------------------------------------------------------------


def _json_safe(value):
    if isinstance(value, dict):
        return {key: _json_safe(item) for key, item in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [_json_safe(item) for item in value]
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    return value


def _write_json(path: Path, payload: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(_json_safe(payload), indent=2, allow_nan=False) + "\n"
    atomic_write(path, lambda name: Path(name).write_text(text, encoding="utf-8"))


@dataclass
class EvaluationReport:
    """What ``colorlib evaluate`` shows: the table ``text`` and the ``problems`` (one line each)."""

    text: str
    problems: list[str]
    summaries: dict[str, dict[str, float]]


def evaluate_command(
    model_name: str = "paper",
    *,
    data: str | os.PathLike | None = None,
    input_size: int | None = None,
    json_path: str | os.PathLike | None = None,
    max_pixels: int | None = DEFAULT_MAX_PIXELS,
) -> EvaluationReport:
    """``colorlib evaluate``: a model beside the gray baseline on whole photos.

    Args:
        model_name: a registry name (``"paper"``) or a checkpoint path.
        data: a folder of colour photos; ``None`` or ``"kodak24"``: the test set.
        input_size: the network's input side (default: the model's own).
        json_path: also write the numbers (summary and per photo) there.
        max_pixels: larger files are refused (named in ``problems``).

    Raises:
        FileNotFoundError: ``data`` is not a folder.
        ValueError: no colour photo to evaluate, or a model that cannot be loaded.
    """
    if data is None or os.fspath(data) == "kodak24":
        photos, source = photo_set(kodak24_files(), max_pixels=max_pixels), "Kodak24, the test set"
    else:
        photos, source = photo_set(find_images(data), max_pixels=max_pixels), f"photos from {data}"
    problems = [f"skipped {name}: a gray photo" for name in photos.skipped_gray] + list(photos.unreadable)
    if not photos.images:
        raise ValueError(f"no colour photo to evaluate in {data or 'kodak24'} ({photos.describe()})")
    model = load_pretrained(model_name, progress=False)
    label = model_name if model_name.startswith("paper") else Path(model_name).name
    results = [
        evaluate_colorizer("gray (ab = 0)", gray_colorizer, photos.images),
        evaluate_colorizer(label, model_colorizer(model, input_size=input_size), photos.images),
    ]
    summaries = {result.name: result.summary() for result in results}
    shown = input_size or model.input_size
    text = f"{photos.describe()}, {source}; whole photos, network input {shown}x{shown}\n{metrics_table(summaries)}"
    if json_path is not None:
        _write_json(
            Path(json_path),
            {
                "model": model_name,
                "size": shown,
                "images": [image.name for image in photos.images],
                "skipped_gray": photos.skipped_gray,
                "unreadable": photos.unreadable,
                "summary": summaries,
                "per_image": {result.name: result.per_image for result in results},
            },
        )
        text += f"\nwrote {json_path}"
    return EvaluationReport(text, problems, summaries)
