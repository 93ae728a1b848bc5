"""Measuring colorizations: accuracy (AuC, PSNR, SSIM) and vividness (colourfulness, chroma).

Accuracy alone rewards dull colours (that is the point of notebook 05): a gray or
"average" colour is never far from the truth. So the course always reports two kinds
of numbers side by side:

========================  ==========================================  ==================
metric                    what it measures                            range
========================  ==========================================  ==================
:func:`ab_error_auc`      Zhang et al. 2016's main metric: area       0..100 %, higher
                          under the cumulative curve of per-pixel     is better
                          ab errors for thresholds 0..150
:func:`psnr`              peak signal-to-noise ratio on RGB           dB, ``inf`` when
                                                                      identical
:func:`ssim`              structural similarity on RGB (scikit-image) -1..1, 1 identical
:func:`colorfulness`     Hasler and Suesstrunk 2003, on 0..255 RGB   0 for gray, ~82
                                                                      "highly colourful"
:func:`mean_chroma`       mean C*ab = sqrt(a^2 + b^2)                 0 for gray, ~0..130
:func:`ab_histograms`     histograms of a and b                       densities
========================  ==========================================  ==================

Conventions: images are numpy arrays, channel-last like scikit-image: RGB ``(H, W, 3)``
either ``uint8`` 0..255 or float in [0, 1]; ab ``(H, W, 2)`` in Lab units (about
-128..127). Every function also takes a batch with leading axes, ``(N, H, W, 3)`` or
``(N, H, W, 2)``, and then returns one value per image (an array of shape ``(N,)``).
"""

from __future__ import annotations

import numpy as np
from skimage.metrics import structural_similarity

from .color import rgb_to_lab

__all__ = [
    "AUC_MAX_THRESHOLD",
    "as_rgb255",
    "ab_of",
    "ab_error",
    "ab_error_curve",
    "ab_error_auc",
    "psnr",
    "ssim",
    "colorfulness",
    "chroma",
    "mean_chroma",
    "ab_histograms",
    "rebalanced_ab_error_auc",
]


#: Zhang et al. 2016 integrate the cumulative ab-error curve from 0 to 150.
AUC_MAX_THRESHOLD = 150.0


# --------------------------------------------------------------------------------------
# Input checks and conversions.
# --------------------------------------------------------------------------------------


def as_rgb255(image: np.ndarray, *, what: str = "image") -> np.ndarray:
    """RGB as float64 on the 0..255 scale, from ``uint8`` 0..255 or float in [0, 1].

    Args:
        image: ``(..., H, W, 3)``.

    Raises:
        ValueError: not an array ``(..., H, W, 3)``, or floats outside [0, 1].
    """
    if not isinstance(image, np.ndarray) or image.ndim < 3 or image.shape[-1] != 3:
        shape = getattr(image, "shape", type(image).__name__)
        raise ValueError(f"{what}: expected an RGB numpy array (..., H, W, 3), got {shape}")
    if image.dtype == np.uint8:
        return image.astype(np.float64)
    if not np.issubdtype(image.dtype, np.floating):
        raise ValueError(f"{what}: expected uint8 0..255 or float in [0, 1], got dtype {image.dtype}")
    if image.size and (np.nanmin(image) < -1e-6 or np.nanmax(image) > 1 + 1e-6 or not np.isfinite(image).all()):
        raise ValueError(
            f"{what}: expected float RGB in [0, 1], got values from {np.min(image):.4g} to {np.max(image):.4g}"
            " (for 0..255 data pass uint8)"
        )
    return np.clip(image.astype(np.float64), 0.0, 1.0) * 255.0


def ab_of(image: np.ndarray) -> np.ndarray:
    """The a and b channels of an RGB image: ``(..., H, W, 3)`` RGB -> ``(..., H, W, 2)`` ab."""
    return rgb_to_lab(as_rgb255(image, what="ab_of") / 255.0)[..., 1:]


def _check_ab(ab: np.ndarray, what: str) -> np.ndarray:
    if not isinstance(ab, np.ndarray) or ab.ndim < 3 or ab.shape[-1] != 2:
        shape = getattr(ab, "shape", type(ab).__name__)
        raise ValueError(f"{what}: expected ab as a numpy array (..., H, W, 2), got {shape}")
    return ab.astype(np.float64, copy=False)


def _check_pair(predicted: np.ndarray, truth: np.ndarray, what: str) -> None:
    if predicted.shape != truth.shape:
        raise ValueError(f"{what}: prediction and ground truth differ in shape: {predicted.shape} vs {truth.shape}")


def _per_image(values: np.ndarray):
    """A scalar for one image, the array ``(N,)`` (or ``(...)``) for a batch."""
    return float(values) if np.ndim(values) == 0 else values


# --------------------------------------------------------------------------------------
# Accuracy.
# --------------------------------------------------------------------------------------


def ab_error(predicted_ab: np.ndarray, true_ab: np.ndarray) -> np.ndarray:
    """Per-pixel Euclidean distance in the ab plane: ``(..., H, W, 2)`` twice -> ``(..., H, W)``."""
    predicted_ab, true_ab = _check_ab(predicted_ab, "ab_error"), _check_ab(true_ab, "ab_error")
    _check_pair(predicted_ab, true_ab, "ab_error")
    return np.sqrt(((predicted_ab - true_ab) ** 2).sum(axis=-1))


def ab_error_curve(
    predicted_ab: np.ndarray, true_ab: np.ndarray, *, thresholds: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """The cumulative curve: for each threshold t, the fraction of pixels with ab error <= t.

    Args:
        predicted_ab, true_ab: ``(..., H, W, 2)`` in ab units.
        thresholds: increasing thresholds in ab units (default 0, 1, ..., 150).

    Returns:
        ``(thresholds, fractions)``; ``fractions`` has shape ``(..., T)``, values 0..1.
    """
    thresholds = np.arange(0.0, AUC_MAX_THRESHOLD + 1) if thresholds is None else np.asarray(thresholds, float)
    errors = ab_error(predicted_ab, true_ab)
    flat = errors.reshape(*errors.shape[:-2], -1)
    fractions = (flat[..., None, :] <= thresholds[:, None]).mean(axis=-1)
    return thresholds, fractions


def ab_error_auc(predicted_ab: np.ndarray, true_ab: np.ndarray, *, max_threshold: float = AUC_MAX_THRESHOLD):
    """Area under the cumulative ab-error curve over thresholds 0..``max_threshold``, in percent.

    The exact integral of the curve of :func:`ab_error_curve` divided by its width: a
    pixel with error ``e`` contributes ``max(0, 1 - e / max_threshold)``, so the AuC is
    ``100 * mean(clip(1 - e / 150, 0, 1))``. 100 % means every pixel is exact; an error
    of 150 or more everywhere gives 0 %. (Summing the curve at the integer thresholds
    0..150 instead, as a discrete implementation might, differs by less than 1/3 of a
    percentage point.) Zhang et al. 2016 also report a class-rebalanced variant, not
    computed here.

    Args:
        predicted_ab, true_ab: ``(H, W, 2)`` or a batch ``(N, H, W, 2)``, ab units.

    Returns:
        A float for one image, an array ``(N,)`` for a batch; percent, 0..100.
    """
    if max_threshold <= 0:
        raise ValueError(f"ab_error_auc: max_threshold must be > 0, got {max_threshold}")
    errors = ab_error(predicted_ab, true_ab)
    return _per_image(100.0 * np.clip(1.0 - errors / max_threshold, 0.0, 1.0).mean(axis=(-2, -1)))


def psnr(predicted: np.ndarray, truth: np.ndarray):
    """Peak signal-to-noise ratio on RGB (0..255 scale), in dB: ``10 log10(255^2 / MSE)``.

    Args:
        predicted, truth: RGB ``(H, W, 3)`` or ``(N, H, W, 3)``, uint8 or float in [0, 1].

    Returns:
        A float (or ``(N,)`` array) in dB; ``inf`` for identical images. About 20-30 dB
        is typical for colorizations, whose L channel is exact.
    """
    predicted, truth = as_rgb255(predicted, what="psnr"), as_rgb255(truth, what="psnr")
    _check_pair(predicted, truth, "psnr")
    mse = ((predicted - truth) ** 2).mean(axis=(-3, -2, -1))
    with np.errstate(divide="ignore"):
        return _per_image(10.0 * np.log10(255.0**2 / mse))


def ssim(predicted: np.ndarray, truth: np.ndarray):
    """Structural similarity on RGB (scikit-image's ``structural_similarity``, 7x7 windows).

    Computed on the 0..255 scale with ``data_range=255``, averaged over the three channels.

    Args:
        predicted, truth: RGB ``(H, W, 3)`` or ``(N, H, W, 3)``, uint8 or float in [0, 1];
            at least 7 pixels on each side.

    Returns:
        A float (or ``(N,)`` array) in -1..1; 1 for identical images.
    """
    predicted, truth = as_rgb255(predicted, what="ssim"), as_rgb255(truth, what="ssim")
    _check_pair(predicted, truth, "ssim")
    if min(predicted.shape[-3:-1]) < 7:
        raise ValueError(f"ssim: images need at least 7x7 pixels, got {predicted.shape[-3:-1]}")
    batch = predicted.reshape(-1, *predicted.shape[-3:])
    reference = truth.reshape(-1, *truth.shape[-3:])
    values = np.array(
        [structural_similarity(p, t, channel_axis=-1, data_range=255.0) for p, t in zip(batch, reference)]
    ).reshape(predicted.shape[:-3])
    return _per_image(values)


# --------------------------------------------------------------------------------------
# Vividness.
# --------------------------------------------------------------------------------------


def colorfulness(image: np.ndarray, *, absolute_opponents: bool = False):
    """Colourfulness M of Hasler and Suesstrunk (2003) on 0..255 RGB.

    With the opponent channels ``rg = R - G`` and ``yb = (R + G) / 2 - B`` over all pixels::

        M = sqrt(std(rg)^2 + std(yb)^2) + 0.3 * sqrt(mean(rg)^2 + mean(yb)^2)

    0 for any gray image. Hasler and Suesstrunk's scale for photos: about 15 "slightly",
    33 "moderately", 45 "averagely", 59 "quite", 82 "highly" and 109 "extremely" colourful.

    Their paper uses the *signed* opponents, and so does this function by default. Some
    public implementations take absolute values (``rg = |R - G|``, ``yb = |(R+G)/2 - B|``);
    that gives the same number for a single colour but a different one as soon as colours
    of opposite sign mix (an image half pure red, half pure blue: 272.6 signed, 211.5 with
    absolute values). ``absolute_opponents=True`` computes that variant, to compare.

    Args:
        image: RGB ``(H, W, 3)`` or ``(N, H, W, 3)``, uint8 or float in [0, 1] (scaled to 0..255).

    Returns:
        A float (or ``(N,)`` array), 0 for gray, usually 0..150.
    """
    rgb = as_rgb255(image, what="colorfulness")
    red, green, blue = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    rg = red - green
    yb = 0.5 * (red + green) - blue
    if absolute_opponents:
        rg, yb = np.abs(rg), np.abs(yb)
    axes = (-2, -1)
    spread = np.sqrt(rg.std(axis=axes) ** 2 + yb.std(axis=axes) ** 2)
    offset = np.sqrt(rg.mean(axis=axes) ** 2 + yb.mean(axis=axes) ** 2)
    return _per_image(spread + 0.3 * offset)


def chroma(ab: np.ndarray) -> np.ndarray:
    """Per-pixel chroma ``C*ab = sqrt(a^2 + b^2)``: ``(..., H, W, 2)`` -> ``(..., H, W)``, 0 for gray."""
    ab = _check_ab(ab, "chroma")
    return np.sqrt((ab**2).sum(axis=-1))


def mean_chroma(ab: np.ndarray):
    """Mean chroma over an image: ``(H, W, 2)`` -> float, ``(N, H, W, 2)`` -> ``(N,)``.

    0 for gray (up to about 0.003 of rounding in the white point); about 0..135 for
    sRGB colours (pure red has 105, pure blue 134).
    Use :func:`ab_of` to get ab from RGB.
    """
    return _per_image(chroma(ab).mean(axis=(-2, -1)))


def chroma_spread(ab: np.ndarray):
    """Standard deviation of the chroma over an image: ``(H, W, 2)`` -> float, ``(N, H, W, 2)`` -> ``(N,)``.

    What the mean chroma cannot tell apart: a vivid picture (gray walls beside a red
    door: a large spread) from a uniform tint of the same mean chroma (every pixel
    equally colourful: a spread near 0). In ab units, 0 for a gray or uniformly tinted image.

    >>> tint = np.full((2, 2, 2), [6.0, 8.0])            # every pixel chroma 10
    >>> vivid = np.array([[[0.0, 0.0], [12.0, 16.0]], [[0.0, 0.0], [12.0, 16.0]]])  # 0 or 20
    >>> float(mean_chroma(tint)), float(mean_chroma(vivid)), float(chroma_spread(tint)), float(chroma_spread(vivid))
    (10.0, 10.0, 0.0, 10.0)
    """
    return _per_image(chroma(ab).std(axis=(-2, -1)))


def ab_histograms(
    ab: np.ndarray | list[np.ndarray], *, bins: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Normalised histograms of the a and the b values of all pixels.

    Args:
        ab: ``(..., H, W, 2)`` or a list of such arrays (images of different sizes).
        bins: bin edges in ab units (default: width 4 from -128 to 128).

    Returns:
        ``(density_a, density_b, edges)``: each density integrates to 1 over ``edges``
        (values outside the edges are left out).
    """
    arrays = ab if isinstance(ab, (list, tuple)) else [ab]
    arrays = [_check_ab(a, "ab_histograms").reshape(-1, 2) for a in arrays]
    values = np.concatenate(arrays, axis=0)
    edges = np.arange(-128.0, 129.0, 4.0) if bins is None else np.asarray(bins, float)
    density_a, _ = np.histogram(values[:, 0], bins=edges, density=True)
    density_b, _ = np.histogram(values[:, 1], bins=edges, density=True)
    return density_a, density_b, edges


def rebalanced_ab_error_auc(
    predicted_ab: np.ndarray,
    true_ab: np.ndarray,
    *,
    bins: np.ndarray | None = None,
    max_threshold: float = AUC_MAX_THRESHOLD,
) -> float:
    """Zhang et al. 2016's class-rebalanced AuC: :func:`ab_error_auc` with every colour bin counting equally.

    Natural photos are mostly grayish, so the plain AuC is dominated by gray pixels, which
    a dull prediction gets right. Here each pixel is weighted inversely to how common its
    *true* colour's bin is among all the pixels passed in (all images together): the
    result is the mean, over the occupied bins, of :func:`ab_error_auc` on that bin's
    pixels. A bin with 3 pixels and one with 1 count the same; every pixel of the first
    weighs a third of the single pixel of the second.

    Args:
        predicted_ab, true_ab: ``(H, W, 2)``, or a batch ``(N, H, W, 2)`` pooled into one
            number, in ab units.
        bins: ``(Q, 2)`` bin centres in ab units (e.g. ``colorlib.bins.ab_bins().numpy()``);
            each pixel goes to the nearest centre. Default: squares of 10 ab units centred
            on multiples of 10, which gives the same bins as Zhang et al.'s (and
            ``colorlib.bins.ab_bins()``) for every displayable colour.
        max_threshold: as for :func:`ab_error_auc`.

    Returns:
        One float for everything passed in, percent, 0..100.

    Raises:
        ValueError: shapes that differ or are not ``(..., H, W, 2)``, no pixels, bad
            ``bins`` or ``max_threshold``.

    >>> truth = np.zeros((1, 4, 2)); truth[0, 3] = 50.0      # 3 gray pixels, 1 orange-ish
    >>> prediction = truth.copy(); prediction[..., 0] += [0.0, 30.0, 60.0, 75.0]
    >>> round(ab_error_auc(prediction, truth), 2), round(rebalanced_ab_error_auc(prediction, truth), 2)
    (72.5, 65.0)
    """
    predicted_ab = _check_ab(predicted_ab, "rebalanced_ab_error_auc")
    true_ab = _check_ab(true_ab, "rebalanced_ab_error_auc")
    _check_pair(predicted_ab, true_ab, "rebalanced_ab_error_auc")
    predicted_pixels, true_pixels = predicted_ab.reshape(-1, 2), true_ab.reshape(-1, 2)
    if len(true_pixels) == 0:
        raise ValueError("rebalanced_ab_error_auc: expected at least one pixel, got none")
    if bins is None:
        cells = np.floor(true_pixels / 10.0 + 0.5).astype(np.int64)  # the grid cell of each pixel
        labels = cells[:, 0] * (1 << 32) + cells[:, 1]
    else:
        centres = np.asarray(bins, dtype=np.float64)
        if centres.ndim != 2 or centres.shape[1] != 2 or len(centres) == 0:
            raise ValueError(
                f"rebalanced_ab_error_auc: expected bins as an array (Q, 2) of (a, b), got {centres.shape}"
            )
        # Nearest centre: argmin of |x - c|^2 = |x|^2 - 2 x.c + |c|^2, where |x|^2 is common.
        offsets = (centres**2).sum(axis=1)
        labels = np.concatenate([
            (offsets - 2.0 * chunk @ centres.T).argmin(axis=1)
            for chunk in np.array_split(true_pixels, max(1, len(true_pixels) // 65536))
        ])
    labels = labels.reshape(-1)
    order = np.argsort(labels, kind="stable")
    boundaries = np.flatnonzero(np.diff(labels[order])) + 1
    per_bin = [
        ab_error_auc(predicted_pixels[group][None], true_pixels[group][None], max_threshold=max_threshold)
        for group in np.split(order, boundaries)
    ]
    return float(np.mean(per_bin))
