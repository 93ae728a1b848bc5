"""Small plotting helpers shared by the notebooks: saving figures, showing image grids."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from PIL import Image

from ..config import figures_dir
from ..files import atomic_write

__all__ = [
    "save_figure",
    "png_bytes",
    "show_images",
]


def save_figure(figure: Figure, filename: str, *, dpi: int = 110) -> Path:
    """Save ``figure`` as ``figures/<filename>`` (PNG, tight bounding box) and return the path.

    Names follow the course's rule: ``figN_<what>.png`` for a reproduction of the
    paper's Figure N, ``<notebook number>_<what>.png`` for the course's own figures.
    """
    if not filename.endswith(".png"):
        raise ValueError(f"save_figure: expected a .png file name, got {filename!r}")
    path = figures_dir() / filename
    # No "Software" entry: the bytes depend only on the drawing, not on the matplotlib version.
    return atomic_write(
        path,
        lambda name: figure.savefig(name, format="png", dpi=dpi, bbox_inches="tight", facecolor="white",
                                    metadata={"Software": None}),
    )


def png_bytes(rgb: np.ndarray, *, scale: int = 1) -> bytes:
    """An RGB picture as PNG bytes (for ``ipywidgets.Image``), enlarged ``scale`` times by pixel repetition.

    Args:
        rgb: ``(H, W, 3)``, uint8 0..255 or float 0..1 (clipped, rounded to 8 bits).
        scale: a positive integer zoom (nearest neighbour: every pixel becomes a block).

    Raises:
        ValueError: not an ``(H, W, 3)`` picture, or a ``scale`` that is not a positive integer.
    """
    array = np.asarray(rgb)
    if array.ndim != 3 or array.shape[-1] != 3 or 0 in array.shape:
        raise ValueError(f"png_bytes: expected an RGB picture (H, W, 3), got shape {array.shape}")
    if isinstance(scale, bool) or not isinstance(scale, int) or scale < 1:
        raise ValueError(f"png_bytes: expected a positive integer scale, got {scale!r}")
    if array.dtype != np.uint8:
        array = np.round(np.clip(array, 0.0, 1.0) * 255).astype(np.uint8)
    picture = Image.fromarray(array)
    if scale != 1:
        picture = picture.resize((picture.width * scale, picture.height * scale), Image.NEAREST)
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    return buffer.getvalue()


def show_images(
    images: Sequence[np.ndarray],
    *,
    titles: Sequence[str] | None = None,
    columns: int | None = None,
    cmap: str | None = None,
    size: float = 2.6,
    suptitle: str | None = None,
) -> Figure:
    """A grid of images without axes.

    Args:
        images: each an (H, W) array (shown with ``cmap``, gray by default) or an
            (H, W, 3) RGB array, uint8 0..255 or float 0..1.
        titles: one title per image.
        columns: images per row (all in one row by default).
        cmap: colour map for 2-D images.
        size: inches per image.
        suptitle: a title for the whole figure.

    Raises:
        ValueError: no images, or not one title per image.
    """
    count = len(images)
    if count == 0:
        raise ValueError("show_images: expected at least one image, got none")
    if titles is not None and len(titles) != count:
        raise ValueError(f"show_images: expected one title per image ({count}), got {len(titles)}")
    columns = columns or count
    rows = -(-count // columns)
    figure, axes = plt.subplots(rows, columns, figsize=(size * columns, size * rows + (0.4 if suptitle else 0)), squeeze=False)
    for index, axis in enumerate(axes.flat):
        axis.axis("off")
        if index >= count:
            continue
        image = images[index]
        if image.ndim == 2:
            axis.imshow(image, cmap=cmap or "gray")
        else:
            axis.imshow(image)
        if titles is not None:
            axis.set_title(titles[index], fontsize=10)
    if suptitle:
        figure.suptitle(suptitle)
    figure.tight_layout()
    return figure
