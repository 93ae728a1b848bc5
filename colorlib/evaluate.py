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

import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Sequence

import numpy as np

from . import metrics
from .config import Profile, data_dir, get_profile, run_dir
from .datasets import kodak24_files, landscapes_split
from .files import atomic_write
from .images import DEFAULT_MAX_PIXELS, ImageReadError, find_images, is_grayscale, load_image, resize
from .inference import colorize, replace_ab
from .places205 import read_split
from .train import TrainConfig
from .weights import load_pretrained

__all__ = [
    "Colorizer",
    "EvaluationImage",
    "EvaluationResult",
    "gray_colorizer",
    "constant_ab_colorizer",
    "model_colorizer",
    "mean_ab",
    "training_mean_ab",
    "evaluation_images",
    "PhotoSet",
    "photo_set",
    "kodak24_photos",
    "EvaluationReport",
    "evaluate_command",
    "image_metrics",
    "evaluate_colorizer",
    "mean_auc",
    "summarize",
    "metrics_table",
    "course_model_path",
    "plot_comparison_grid",
    "plot_dullness_on_photos",
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


def model_colorizer(model, size: int | None = None, **options) -> Colorizer:
    """A network as a colorizer: :func:`colorlib.colorize` (the whole photo at ``size`` x
    ``size``, default the model's own input size; colours back at the photo's resolution).

    ``options`` go to :func:`colorlib.colorize` (``temperature=`` for a classification model).
    """

    def colorize_with_model(image: np.ndarray) -> np.ndarray:
        return colorize(image, model, size=size, **options)

    return colorize_with_model


def mean_ab(images: Iterable[np.ndarray]) -> tuple[float, float]:
    """The mean (a, b) over all pixels of ``images`` (uint8 RGB (H, W, 3) each), pixel-weighted."""
    total, count = np.zeros(2), 0
    for image in images:
        ab = metrics.ab_of(image).reshape(-1, 2)
        total += ab.sum(axis=0)
        count += len(ab)
    if count == 0:
        raise ValueError("mean_ab: expected at least one image")
    return float(total[0] / count), float(total[1] / count)


def training_mean_ab(profile: Profile | None = None, max_images: int = 2000) -> tuple[float, float]:
    """The mean ab of the profile's training photos (the "mean ab" baseline's colour).

    Quick profile: the landscapes' training split. Paper profile: the first ``max_images``
    training photos of the Places205 split (enough for a mean).
    """
    profile = profile or get_profile()
    if profile.data == "landscapes":
        paths = landscapes_split()[0][:max_images]
    elif profile.data == "places205":
        paths = read_split(data_dir()).train[:max_images]
    else:
        paths = find_images(profile.data)[:max_images]
    return mean_ab(load_image(path) for path in paths)


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


def photo_set(paths: Sequence[str | os.PathLike], max_pixels: int | None = DEFAULT_MAX_PIXELS) -> PhotoSet:
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


def evaluation_images(profile: Profile | None = None, count: int | None = None) -> list[EvaluationImage]:
    """The photos the course evaluates on: Kodak24 (the test set, in every profile: nothing
    was trained or tuned on it), the first ``count`` of them."""
    images = kodak24_photos().images
    return images[:count] if count is not None else images


# --------------------------------------------------------------------------------------
# Scoring.
# --------------------------------------------------------------------------------------

#: The per-image numbers :func:`image_metrics` returns.
METRIC_NAMES = ("auc", "psnr", "ssim", "colourfulness", "true_colourfulness", "chroma", "true_chroma")


def image_metrics(predicted: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    """All of the course's metrics for one colorized photo against its ground truth.

    Args:
        predicted, truth: RGB ``(H, W, 3)``, uint8 0..255 (or float in [0, 1]).

    Returns:
        ``auc`` (%, 0..100), ``psnr`` (dB), ``ssim`` (-1..1), ``colourfulness`` and
        ``true_colourfulness`` (Hasler-Suesstrunk, 0..~150), ``chroma`` and
        ``true_chroma`` (mean C*ab, 0..~130). ab is taken from the RGB images, so what is
        scored is what is shown (after gamut clipping and rounding to 8 bits).
    """
    predicted_ab, true_ab = metrics.ab_of(predicted), metrics.ab_of(truth)
    return {
        "auc": metrics.ab_error_auc(predicted_ab, true_ab),
        "psnr": metrics.psnr(predicted, truth),
        "ssim": metrics.ssim(predicted, truth),
        "colourfulness": metrics.colourfulness(predicted),
        "true_colourfulness": metrics.colourfulness(truth),
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
    """Means over images, plus ``colourfulness_ratio`` and ``chroma_ratio``.

    The ratios are mean predicted over mean true value (1 = as colourful as the photos,
    0 = gray), a ratio of means so that a nearly gray photo cannot blow it up.
    """
    means = {key: float(np.mean(values)) for key, values in per_image.items()}
    means["colourfulness_ratio"] = means["colourfulness"] / max(means["true_colourfulness"], 1e-12)
    means["chroma_ratio"] = means["chroma"] / max(means["true_chroma"], 1e-12)
    return means


def _ground_truth_row(summary: dict[str, float]) -> dict[str, float]:
    return {
        "auc": 100.0,
        "psnr": math.inf,
        "ssim": 1.0,
        "colourfulness": summary["true_colourfulness"],
        "colourfulness_ratio": 1.0,
        "chroma": summary["true_chroma"],
        "chroma_ratio": 1.0,
    }


def metrics_table(summaries: dict[str, dict[str, float]], ground_truth: bool = True) -> str:
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
            f"{row['colourfulness']:>10.1f}  {row['colourfulness_ratio']:>5.2f}  {row['chroma']:>6.1f}"
        )
    return "\n".join(lines)


# --------------------------------------------------------------------------------------
# Figures.
# --------------------------------------------------------------------------------------


def course_model_path(profile: Profile | None = None) -> Path:
    """Where notebook 04 (``colorlib train``) leaves the profile's best model:
    ``<repo>/runs/<profile>/best.pth`` (it may not exist yet)."""
    return run_dir((profile or get_profile()).name) / "best.pth"


def plot_comparison_grid(
    images: Sequence[EvaluationImage],
    rows: dict[str, Sequence[np.ndarray]],
    block_size: int = 5,
    size: float = 2.0,
):
    """The course's own side-by-side comparison: the ground truth, then one row per colorizer.

    Photos come in blocks of ``block_size`` columns; each block has the ground truth on
    top and one row per entry of ``rows`` below it. Every panel shows a picture: a
    colorizer that is not available (ModelZ offline, say) is left out of ``rows``, not
    drawn as an empty row. (The paper's Figure 5 itself, on the paper's photos, is
    :func:`colorlib.paper.plot_figure5`.)

    Args:
        images: the ground-truth photos, uint8 RGB (H, W, 3) each (any sizes).
        rows: ``{row label: one uint8 RGB image per photo}``, in order.
        block_size: photos per block.
        size: inches per panel.

    Raises:
        ValueError: no photos, a row that is ``None`` or has the wrong number of images.
    """
    import matplotlib.pyplot as plt

    if not images or block_size < 1:
        raise ValueError(f"plot_comparison_grid: expected at least one photo and block_size >= 1, got {len(images)} and {block_size}")
    for label, source in rows.items():
        if source is None or len(source) != len(images):
            raise ValueError(
                f"plot_comparison_grid: row {label!r} must hold one image per photo ({len(images)}), got "
                f"{'None (leave a colorizer that is not available out of rows)' if source is None else len(source)}"
            )
    labels = ["ground truth", *rows]
    sources = [[image.rgb for image in images], *rows.values()]
    blocks = -(-len(images) // block_size)
    figure, axes = plt.subplots(
        blocks * len(labels), block_size, figsize=(size * block_size + 0.9, size * blocks * len(labels) + 0.3 * blocks), squeeze=False
    )
    for index in range(blocks * block_size):
        block, column = divmod(index, block_size)
        for row, (label, source) in enumerate(zip(labels, sources)):
            axis = axes[block * len(labels) + row, column]
            if index >= len(images):
                axis.axis("off")
                continue
            axis.imshow(source[index])
            axis.set_xticks([])
            axis.set_yticks([])
            if row == 0:
                axis.set_title(images[index].name, fontsize=8)
            if column == 0:
                axis.set_ylabel(label, fontsize=9)
    figure.tight_layout(h_pad=0.3, w_pad=0.3)
    return figure


def plot_dullness_on_photos(images: Sequence[EvaluationImage], results: Sequence[EvaluationResult]):
    """Predicted against true colourfulness and chroma (one point per photo), and the a and
    b histograms of all predicted pixels against the ground truth's."""
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, 4, figsize=(17, 4.2))
    markers = "osD^v<>"
    for axis, key, label in ((axes[0], "colourfulness", "colourfulness"), (axes[1], "chroma", "mean chroma C*ab")):
        top = 0.0
        for marker, result in zip(markers, results):
            truth, predicted = result.per_image[f"true_{key}"], result.per_image[key]
            axis.scatter(truth, predicted, marker=marker, label=result.name, alpha=0.8)
            top = max(top, truth.max(), predicted.max())
        axis.plot([0, top * 1.05], [0, top * 1.05], "k--", lw=0.8, label="as colourful as the truth")
        axis.set_xlabel(f"true {label}")
        axis.set_ylabel(f"predicted {label}")
        axis.set_title(f"{label}: each point one photo", fontsize=10)
    axes[0].legend(fontsize=7)
    true_ab = [metrics.ab_of(image.rgb) for image in images]
    for axis, channel, name in ((axes[2], 0, "a (green - / red +)"), (axes[3], 1, "b (blue - / yellow +)")):
        density_true = metrics.ab_histograms(true_ab)
        centres = 0.5 * (density_true[2][1:] + density_true[2][:-1])
        axis.plot(centres, density_true[channel], "k-", lw=2, label="ground truth")
        for result in results:
            density = metrics.ab_histograms([metrics.ab_of(p) for p in result.predictions])
            axis.plot(centres, density[channel], lw=1.2, label=result.name)
        axis.set_yscale("log")
        axis.set_ylim(1e-5, 1)
        axis.set_xlim(-80, 80)
        axis.set_xlabel(name)
        axis.set_ylabel("density of pixels (log)")
        axis.set_title(f"histogram of {name.split()[0]}", fontsize=10)
    axes[3].legend(fontsize=7)
    figure.tight_layout()
    return figure


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
    data: str | os.PathLike | None = None,
    size: int | None = None,
    json_path: str | os.PathLike | None = None,
    max_pixels: int | None = DEFAULT_MAX_PIXELS,
) -> EvaluationReport:
    """``colorlib evaluate``: a model beside the gray baseline on whole photos.

    Args:
        model_name: a registry name (``"paper"``) or a checkpoint path.
        data: a folder of colour photos; ``None`` or ``"kodak24"``: the test set.
        size: the network's input side (default: the model's own).
        json_path: also write the numbers (summary and per photo) there.
        max_pixels: larger files are refused (named in ``problems``).

    Raises:
        FileNotFoundError: ``data`` is not a folder.
        ValueError: no colour photo to evaluate, or a model that cannot be loaded.
    """
    if data is None or os.fspath(data) == "kodak24":
        photos, source = photo_set(kodak24_files(), max_pixels), "Kodak24, the test set"
    else:
        photos, source = photo_set(find_images(data), max_pixels), f"photos from {data}"
    problems = [f"skipped {name}: a gray photo" for name in photos.skipped_gray] + list(photos.unreadable)
    if not photos.images:
        raise ValueError(f"no colour photo to evaluate in {data or 'kodak24'} ({photos.describe()})")
    model = load_pretrained(model_name, progress=False)
    label = model_name if model_name.startswith("paper") else Path(model_name).name
    results = [
        evaluate_colorizer("gray (ab = 0)", gray_colorizer, photos.images),
        evaluate_colorizer(label, model_colorizer(model, size), photos.images),
    ]
    summaries = {result.name: result.summary() for result in results}
    shown = size or model.input_size
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


# --------------------------------------------------------------------------------------
# Notebook 06: one table for several losses, each trained with several seeds.
# --------------------------------------------------------------------------------------

# (Appended here; its import belongs with the ones at the top of the module.)

__all__ += ["LOSS_TABLE_COLUMNS", "downscaled", "ScoredColours", "score_colours", "score_colorizer", "seed_table"]

#: The columns of :func:`seed_table`: key of :func:`score_colours` -> (heading, decimals).
LOSS_TABLE_COLUMNS: dict[str, tuple[str, int]] = {
    "auc": ("AuC %", 1),
    "rebalanced_auc": ("rebal. AuC %", 1),
    "psnr": ("PSNR dB", 2),
    "colourfulness_ratio": ("colourful. ratio", 2),
    "chroma": ("chroma", 1),
}


def downscaled(images: Sequence[EvaluationImage], factor: int = 2) -> list[EvaluationImage]:
    """The same whole photos, ``factor`` times smaller on each side (bicubic, :func:`colorlib.images.resize`).

    Kodak24 at half size (384 x 512) makes every metric four times cheaper; a network
    that sees the photo at 64 x 64 or 224 x 224 predicts the same colours either way.

    Raises:
        ValueError: ``factor`` not an integer >= 1, or a photo that would vanish.
    """
    if isinstance(factor, bool) or not isinstance(factor, int) or factor < 1:
        raise ValueError(f"downscaled: expected an integer factor >= 1, got {factor!r}")
    smaller = []
    for image in images:
        height, width = image.rgb.shape[0] // factor, image.rgb.shape[1] // factor
        if min(height, width) < 8:
            raise ValueError(f"downscaled: {image.name} ({image.rgb.shape[1]}x{image.rgb.shape[0]}) is too small to shrink {factor} times")
        rgb = image.rgb if factor == 1 else resize(image.rgb, height, width)
        smaller.append(EvaluationImage(image.name, rgb, image.seen_in_training))
    return smaller


@dataclass
class ScoredColours:
    """One colorizer's outputs on a list of photos and its :func:`score_colours`."""

    name: str
    predictions: list[np.ndarray] = field(repr=False)
    scores: dict[str, float]


def score_colours(
    predictions: Sequence[np.ndarray],
    images: Sequence[EvaluationImage],
    true_ab: Sequence[np.ndarray] | None = None,
) -> dict[str, float]:
    """The numbers of notebook 06's table for one set of colorized photos.

    Args:
        predictions: uint8 RGB ``(H, W, 3)``, one per photo, shaped like it.
        images: the ground truth.
        true_ab: the photos' ab ``(H, W, 2)`` if already computed (``metrics.ab_of``).

    Returns:
        ``auc`` (%, mean over photos), ``rebalanced_auc`` (%, Zhang et al.'s class-rebalanced
        AuC over all the photos' pixels pooled: every occupied 10 x 10 ab bin of the truth
        counts the same), ``psnr`` (dB, mean), ``colourfulness`` and ``true_colourfulness``
        (means), ``colourfulness_ratio`` (their ratio), ``chroma`` and ``true_chroma``
        (mean C*ab, means over photos).

    Raises:
        ValueError: no photos, or lists or shapes that do not match.
    """
    if not images or len(predictions) != len(images):
        raise ValueError(f"score_colours: expected one prediction per photo (at least one), got {len(predictions)} for {len(images)}")
    true_ab = [metrics.ab_of(image.rgb) for image in images] if true_ab is None else list(true_ab)
    if len(true_ab) != len(images):
        raise ValueError(f"score_colours: expected one true ab per photo, got {len(true_ab)} for {len(images)}")
    for predicted, image in zip(predictions, images):
        if not isinstance(predicted, np.ndarray) or predicted.shape != image.rgb.shape:
            raise ValueError(
                f"score_colours: the prediction for {image.name} is {getattr(predicted, 'shape', type(predicted).__name__)}, "
                f"expected an RGB array shaped like the photo {image.rgb.shape}"
            )
    predicted_ab = [metrics.ab_of(predicted) for predicted in predictions]
    colourfulness = float(np.mean([metrics.colourfulness(predicted) for predicted in predictions]))
    true_colourfulness = float(np.mean([metrics.colourfulness(image.rgb) for image in images]))
    pooled_prediction = np.concatenate([ab.reshape(-1, 2) for ab in predicted_ab])[None]
    pooled_truth = np.concatenate([ab.reshape(-1, 2) for ab in true_ab])[None]
    return {
        "auc": float(np.mean([metrics.ab_error_auc(p, t) for p, t in zip(predicted_ab, true_ab)])),
        "rebalanced_auc": metrics.rebalanced_ab_error_auc(pooled_prediction, pooled_truth),
        "psnr": float(np.mean([metrics.psnr(p, image.rgb) for p, image in zip(predictions, images)])),
        "colourfulness": colourfulness,
        "true_colourfulness": true_colourfulness,
        "colourfulness_ratio": colourfulness / max(true_colourfulness, 1e-12),
        "chroma": float(np.mean([metrics.mean_chroma(ab) for ab in predicted_ab])),
        "true_chroma": float(np.mean([metrics.mean_chroma(ab) for ab in true_ab])),
    }


def score_colorizer(
    name: str,
    colorizer: Colorizer,
    images: Sequence[EvaluationImage],
    true_ab: Sequence[np.ndarray] | None = None,
) -> ScoredColours:
    """Run ``colorizer`` on every photo and :func:`score_colours` the outputs."""
    predictions = [colorizer(image.rgb) for image in images]
    return ScoredColours(name, predictions, score_colours(predictions, images, true_ab))


def seed_table(
    rows: dict[str, Sequence[dict[str, float]]],
    columns: dict[str, tuple[str, int]] | None = None,
    ground_truth: bool = True,
) -> str:
    """A plain-text table with one row per colorizer, each the mean over its seeds ± their spread.

    Args:
        rows: ``{row name: [scores of seed 0, scores of seed 1, ...]}`` (dicts of
            :func:`score_colours`); a baseline without seeds has a list of one.
        columns: ``{key: (heading, decimals)}`` (default :data:`LOSS_TABLE_COLUMNS`).
        ground_truth: a first row with the photos' own colourfulness ratio (1) and chroma.

    Returns:
        The table. Each cell is ``mean ± sd`` (the sample standard deviation over the
        seeds, rounded like the mean), or just the value for a single run.

    Raises:
        ValueError: no rows, a row without runs, or a missing key.
    """
    columns = LOSS_TABLE_COLUMNS if columns is None else columns
    if not rows or any(len(runs) == 0 for runs in rows.values()):
        raise ValueError("seed_table: expected at least one row, each with at least one run")
    for name, runs in rows.items():
        missing = [key for key in columns for run in runs if key not in run]
        if missing:
            raise ValueError(f"seed_table: row {name!r} lacks {sorted(set(missing))}")
    cells: dict[str, list[str]] = {}
    if ground_truth:
        first = next(iter(rows.values()))[0]
        truth = {"auc": 100.0, "rebalanced_auc": 100.0, "psnr": math.inf, "ssim": 1.0, "colourfulness_ratio": 1.0,
                 "chroma": first.get("true_chroma", math.nan), "colourfulness": first.get("true_colourfulness", math.nan)}
        cells["ground truth"] = [f"{truth.get(key, math.nan):.{decimals}f}" for key, (_, decimals) in columns.items()]
    for name, runs in rows.items():
        row = []
        for key, (_, decimals) in columns.items():
            values = np.array([run[key] for run in runs], dtype=np.float64)
            text = f"{values.mean():.{decimals}f}"
            if len(values) > 1:
                text += f" ± {values.std(ddof=1):.{decimals}f}"
            row.append(text)
        cells[name] = row
    width = max(12, *(len(name) for name in cells))
    widths = [max(len(heading), *(len(row[i]) for row in cells.values())) for i, (heading, _) in enumerate(columns.values())]
    lines = [f"{'':<{width}}" + "".join(f"  {heading:>{w}}" for (heading, _), w in zip(columns.values(), widths))]
    for name, row in cells.items():
        lines.append(f"{name:<{width}}" + "".join(f"  {cell:>{w}}" for cell, w in zip(row, widths)))
    return "\n".join(lines)


def loss_run_dir(loss: str, rebalance: bool = False, seed: int = 0, profile: Profile | None = None) -> Path:
    """The folder of one of notebook 06's runs: ``<repo>/runs/<profile>-<loss>[-rebalanced]-seed<N>``.

    Its ``best.pth`` is what :func:`colorlib.load_pretrained` loads; e.g. the seed-0
    rebalanced classification model of the quick profile is
    ``runs/quick-classification-rebalanced-seed0/best.pth``.

    Raises:
        ValueError: an unknown loss, rebalancing for a regression loss, a negative seed.
    """
    if loss not in ("mse", "l1", "classification"):
        raise ValueError(f"loss_run_dir: expected loss 'mse', 'l1' or 'classification', got {loss!r}")
    if rebalance and loss != "classification":
        raise ValueError("loss_run_dir: class rebalancing applies to the classification loss only")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"loss_run_dir: expected a seed >= 0, got {seed!r}")
    name = (profile or get_profile()).name
    return run_dir(name).parent / f"{name}-{loss}{'-rebalanced' if rebalance else ''}-seed{seed}"


__all__ += ["loss_run_dir"]


# (Appended here; its import belongs with the ones at the top of the module.)

__all__ += ["LOSS_VARIANTS", "QUICK_LOSS_EXPERIMENT", "loss_experiment_config"]

#: Notebook 06's rows: name -> (loss, rebalance). Only the loss and the output head differ.
LOSS_VARIANTS: dict[str, tuple[str, bool]] = {
    "MSE (the paper)": ("mse", False),
    "L1": ("l1", False),
    "classification": ("classification", False),
    "classification + rebalancing": ("classification", True),
}

#: What notebook 06 changes in the quick profile so that 4 losses x 2 seeds train in a few
#: minutes on two CPU cores. The classification head outputs 262 logits per pixel where
#: regression outputs 2 and scores each pixel against a soft-encoded target: one of its
#: training steps costs about 16 times an MSE step (measured at 32 x 32: 0.5 s against
#: 0.03 s of CPU time for a batch of 32). So: 32 x 32 crops (a quarter of the pixels of
#: 64 x 64), one stored crop per photo (1,258 per epoch), 2 epochs.
QUICK_LOSS_EXPERIMENT: dict[str, int] = {"image_size": 32, "views_per_photo": 1, "epochs": 2}


def loss_experiment_config(loss: str, rebalance: bool = False, seed: int = 0,
                           profile: Profile | None = None) -> TrainConfig:
    """The training settings of one of notebook 06's runs.

    The profile's settings (with :data:`QUICK_LOSS_EXPERIMENT` in the quick profile), the
    loss, rebalancing and seed, and :func:`loss_run_dir` as the output folder. Every run
    shares the frozen encoder, the decoder trunk, the data and the epochs; the seed draws
    the stored crops, the decoder's initialisation and the batch order.

    Raises:
        ValueError: as :func:`loss_run_dir`.
    """
    profile = profile or get_profile()
    folder = loss_run_dir(loss, rebalance, seed, profile)
    settings = QUICK_LOSS_EXPERIMENT if profile.name == "quick" else {}
    return TrainConfig.from_profile(profile, loss=loss, rebalance=rebalance, seed=seed, out=folder, **settings)
