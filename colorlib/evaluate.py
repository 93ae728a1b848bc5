"""Evaluating colorizers against baselines: the metrics table and ``colorlib evaluate``.

A *colorizer* here is any function from a colour photo to a colorized photo (both
``uint8`` RGB ``(H, W, 3)``) that looks only at the photo's lightness. Baselines:

* **gray**: ab = 0 everywhere (the grayscale input itself, as a colour image);
* **mean ab**: one constant ab everywhere, the mean ab of the training photos;
* **a model**: the paper's released network, the course's quick model, ModelZ ...
  through :func:`colorlib.colorize.colorize`.

All keep the true L channel, so every difference is in the colours. Every colorizer
is scored by :func:`image_metrics` on the same photos and summarised by
:func:`summarize`; :func:`metrics_table` prints the rows side by side, the ground
truth's own colourfulness and chroma first, for reference.

``colorlib evaluate --model paper|PATH [--data DIR] [--json FILE]`` does this for one
model, with the gray baseline beside it.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Sequence

import numpy as np
from PIL import Image

from . import metrics
from .config import Profile, data_dir, get_profile
from .files import atomic_write
from .samples import TRAIN_PHOTOS, VALIDATION_PHOTOS, sample_photo

__all__ = [
    "Colorizer",
    "EvaluationImage",
    "EvaluationResult",
    "QUICK_EVALUATION_CROPS",
    "gray_colorizer",
    "constant_ab_colorizer",
    "model_colorizer",
    "mean_ab",
    "training_mean_ab",
    "sample_crop",
    "quick_evaluation_images",
    "evaluation_images",
    "centre_crop",
    "folder_images",
    "image_metrics",
    "evaluate_colorizer",
    "summarize",
    "metrics_table",
    "course_model_path",
    "plot_comparison_grid",
    "plot_validation_examples",
    "plot_dullness_on_photos",
    "register_cli",
]

#: ``(uint8 RGB (H, W, 3)) -> uint8 RGB (H, W, 3)``, using only the input's lightness.
Colorizer = Callable[[np.ndarray], np.ndarray]

#: The ten evaluation images of the quick profile: square crops ``(photo, top, left, side)``
#: of the six offline sample photos, shown at 224x224: one crop of each photo first, then
#: a second, different crop of four of them. Crops of
#: :data:`colorlib.samples.VALIDATION_PHOTOS` were never seen in the quick training.
QUICK_EVALUATION_CROPS: tuple[tuple[str, int, int, int], ...] = (
    ("astronaut", 0, 0, 512),
    ("coffee", 0, 100, 400),
    ("rocket", 0, 106, 427),
    ("motorcycle", 0, 120, 500),
    ("chelsea", 0, 0, 300),
    ("grace_hopper", 0, 0, 512),
    ("astronaut", 0, 280, 232),
    ("motorcycle", 0, 400, 300),
    ("grace_hopper", 300, 200, 300),
    ("chelsea", 0, 151, 300),
)


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
    from .colorize import replace_ab  # local import: colorize loads torch models

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


def model_colorizer(model, size: int = 224) -> Colorizer:
    """A network as a colorizer: :func:`colorlib.colorize.colorize` at ``size`` x ``size``."""
    from .colorize import colorize  # local import: colorize loads torch models

    def colorize_with_model(image: np.ndarray) -> np.ndarray:
        return colorize(image, model, size=size)

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

    Quick profile: all of :data:`colorlib.samples.TRAIN_PHOTOS`. Paper profile: the
    first ``max_images`` training photos of the Places205 split (enough for a mean).
    """
    profile = profile or get_profile()
    if profile.data == "samples":
        return mean_ab(sample_photo(name) for name in TRAIN_PHOTOS)
    from .places205 import read_split

    paths = read_split(data_dir()).train[:max_images]
    return mean_ab(_read_rgb(path) for path in paths)


# --------------------------------------------------------------------------------------
# Evaluation photos.
# --------------------------------------------------------------------------------------


def _read_rgb(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"))


def _resize(image: np.ndarray, size: int) -> np.ndarray:
    return np.asarray(Image.fromarray(image).resize((size, size), Image.Resampling.BICUBIC))


def sample_crop(photo: str, top: int, left: int, side: int, size: int = 224) -> np.ndarray:
    """A square crop of an offline sample photo, resized to ``size`` x ``size``: uint8 (size, size, 3)."""
    image = sample_photo(photo)
    height, width = image.shape[:2]
    if top < 0 or left < 0 or top + side > height or left + side > width:
        raise ValueError(f"sample_crop: the crop ({top}, {left}, side {side}) does not fit {photo} ({height}x{width})")
    return _resize(np.ascontiguousarray(image[top : top + side, left : left + side]), size)


def quick_evaluation_images(size: int = 224) -> list[EvaluationImage]:
    """The quick profile's ten evaluation images (:data:`QUICK_EVALUATION_CROPS`)."""
    images, seen = [], {}
    for photo, top, left, side in QUICK_EVALUATION_CROPS:
        seen[photo] = seen.get(photo, 0) + 1
        name = photo if seen[photo] == 1 else f"{photo} {seen[photo]}"
        images.append(EvaluationImage(name, sample_crop(photo, top, left, side, size), photo in TRAIN_PHOTOS))
    return images


def centre_crop(image: np.ndarray, size: int = 224) -> np.ndarray:
    """Resize the short side to ``size * 256/224`` and cut the central ``size`` x ``size``
    square, like the authors' validation images: uint8 RGB in, uint8 ``(size, size, 3)`` out."""
    from .data import validation_transform

    return np.asarray(validation_transform(size)(Image.fromarray(np.asarray(image))))


def folder_images(paths: Sequence[str | os.PathLike], size: int = 224) -> list[EvaluationImage]:
    """Photos from files (any mode, converted to RGB), :func:`centre_crop`-ped to ``size``."""
    return [EvaluationImage(Path(path).name, centre_crop(_read_rgb(Path(path)), size)) for path in paths]


def evaluation_images(profile: Profile | None = None, count: int = 10, size: int = 224) -> list[EvaluationImage]:
    """The images the course evaluates on: quick profile, the ten sample crops; paper
    profile, the first ``count`` validation images of the Places205 split."""
    profile = profile or get_profile()
    if profile.data == "samples":
        return quick_evaluation_images(size)[:count]
    from .places205 import read_split

    return folder_images(read_split(data_dir()).validation[:count], size)


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
    from .train import BEST_CHECKPOINT, TrainConfig

    return Path(TrainConfig.from_profile(profile or get_profile()).out) / BEST_CHECKPOINT


def _missing_panel(axis, text: str) -> None:
    axis.set_facecolor("0.93")
    axis.text(0.5, 0.5, text.replace(" are ", " are\n", 1), ha="center", va="center", fontsize=8, color="0.3", wrap=True)
    axis.set_xticks([])
    axis.set_yticks([])
    for spine in axis.spines.values():
        spine.set_visible(False)


def plot_comparison_grid(
    images: Sequence[EvaluationImage],
    rows: dict[str, Sequence[np.ndarray] | None],
    block_size: int = 5,
    missing_text: str = "not available",
    size: float = 2.0,
):
    """The layout of the paper's Figure 5: blocks of ``block_size`` images, one row per source.

    Args:
        images: the ground-truth photos (first row of every block).
        rows: ``{row label: one uint8 RGB image per photo}``, in order; ``None`` for a
            source that is not available (its panels show ``missing_text``).
        block_size: photos per block (the paper: two blocks of five).
    """
    import matplotlib.pyplot as plt

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
            if source is None:
                _missing_panel(axis, missing_text)
            else:
                axis.imshow(source[index])
                axis.set_xticks([])
                axis.set_yticks([])
            if row == 0:
                axis.set_title(f"image{index + 1}: {images[index].name}", fontsize=8)
            if column == 0:
                axis.set_ylabel(label, fontsize=9)
    figure.tight_layout(h_pad=0.3, w_pad=0.3)
    return figure


def plot_validation_examples(images: Sequence[np.ndarray], colorized: Sequence[np.ndarray], pairs_per_row: int = 3, size: float = 2.2):
    """The layout of the paper's Figure 6: each grayscale input beside its colorization."""
    import matplotlib.pyplot as plt

    from .metrics import as_rgb255
    from .color import rgb_to_lab

    if len(images) != len(colorized) or not images:
        raise ValueError(f"plot_validation_examples: expected as many colorized images as inputs, got {len(images)} and {len(colorized)}")
    rows = -(-len(images) // pairs_per_row)
    figure, axes = plt.subplots(rows, 2 * pairs_per_row, figsize=(2 * pairs_per_row * size, rows * size), squeeze=False)
    for axis in axes.flat:
        axis.axis("off")
    for index, (image, colour) in enumerate(zip(images, colorized)):
        row, pair = divmod(index, pairs_per_row)
        lightness = rgb_to_lab(as_rgb255(image) / 255.0)[..., 0]
        axes[row, 2 * pair].imshow(lightness, cmap="gray", vmin=0, vmax=100)
        axes[row, 2 * pair + 1].imshow(colour)
    figure.tight_layout(w_pad=0.4, h_pad=0.6)
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


def _command(args: argparse.Namespace) -> int:
    from .weights import WeightsUnavailableError, load_pretrained

    if args.data is None:
        images = [EvaluationImage(name, centre_crop(sample_photo(name), args.size)) for name in VALIDATION_PHOTOS]
        source = f"offline validation sample photos: {', '.join(VALIDATION_PHOTOS)}"
    else:
        from .data import find_images

        try:
            paths = find_images(args.data)
        except FileNotFoundError as error:
            print(f"colorlib evaluate: {error}", file=sys.stderr)
            return 2
        if not paths:
            print(f"colorlib evaluate: no images found in {args.data}", file=sys.stderr)
            return 2
        images = folder_images(paths, args.size)
        source = f"photos from {args.data}"
    try:
        model = load_pretrained(args.model)
    except (WeightsUnavailableError, FileNotFoundError, ValueError) as error:
        print(f"colorlib evaluate: cannot load the model {args.model!r}: {error}", file=sys.stderr)
        return 2
    model_name = args.model if args.model.startswith("paper") else Path(args.model).name
    results = [
        evaluate_colorizer("gray (ab = 0)", gray_colorizer, images),
        evaluate_colorizer(model_name, model_colorizer(model, args.size), images),
    ]
    summaries = {result.name: result.summary() for result in results}
    print(f"{len(images)} images ({source}); centre crops of {args.size}x{args.size}")
    print(metrics_table(summaries))
    if args.json:
        _write_json(
            Path(args.json),
            {
                "model": args.model,
                "size": args.size,
                "images": [image.name for image in images],
                "summary": summaries,
                "per_image": {result.name: result.per_image for result in results},
            },
        )
        print(f"wrote {args.json}")
    return 0


def register_cli(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "evaluate",
        help="the metrics table of a model (AuC, PSNR, SSIM, colourfulness) beside the gray baseline",
        description=(
            "Colorize a folder of colour photos with a model and print AuC, PSNR, SSIM, "
            "colourfulness and chroma, beside the gray baseline (ab = 0)."
        ),
    )
    parser.add_argument("--model", default="paper", help="paper, paper-epoch40, paper-epoch90 or a checkpoint path (default: paper)")
    parser.add_argument("--data", help="a folder of colour photos (default: the offline validation sample photos)")
    parser.add_argument("--json", help="also write the numbers (summary and per image) to this JSON file")
    parser.add_argument("--size", type=int, default=224, help="network input and crop size (default 224)")
    parser.set_defaults(handler=_command)
