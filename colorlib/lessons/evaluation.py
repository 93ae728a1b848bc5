"""Evaluation on the test set (notebook 05): the comparison grid of colorizers (notebooks 06
and 07 draw theirs with it too).
"""

from __future__ import annotations

import textwrap
from typing import Sequence

import numpy as np
from matplotlib.figure import Figure

from ..evaluate import EvaluationImage

__all__ = [
    "plot_comparison_grid",
]


def plot_comparison_grid(
    images: Sequence[EvaluationImage],
    rows: dict[str, Sequence[np.ndarray]],
    *,
    block_size: int = 5,
    size: float = 2.0,
) -> Figure:
    """The course's own side-by-side comparison: the ground truth, then one row per colorizer.

    Photos come in blocks of ``block_size`` columns; each block has the ground truth on
    top and one row per entry of ``rows`` below it. Every panel shows a picture: a
    colorizer that is not available (ModelZ offline, say) is left out of ``rows``, not
    drawn as an empty row. (The paper's Figure 5 itself, on the paper's photos, is
    :func:`colorlib.lessons.paper_figures.plot_figure5`.)

    Args:
        images: the ground-truth photos, uint8 RGB (H, W, 3) each (any sizes).
        rows: ``{row label: one uint8 RGB image per photo}``, in order; a label is wrapped at
            16 characters, and a "\\n" in it starts a new line.
        block_size: photos per block.
        size: a panel's width in inches (its height follows the photos' shape when they share one
            orientation; square otherwise).

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
    # Panels shaped like the photos when they are all landscape (or all portrait): a square
    # panel around a 3:2 photo leaves empty bands. Mixed orientations keep square panels, so
    # that neither kind is shrunk. Row labels are written horizontally and wrapped.
    shapes = [image.rgb.shape[0] / image.rgb.shape[1] for image in images]
    aspect = max(shapes) if max(shapes) <= 1 or min(shapes) >= 1 else 1.0
    label_width = 1.5
    figure, axes = plt.subplots(
        blocks * len(labels), block_size, squeeze=False,
        figsize=(size * block_size + label_width, size * aspect * blocks * len(labels) + 0.35 * blocks),
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
                wrapped = "\n".join(textwrap.fill(line, 16) for line in label.split("\n"))   # "\n" in a label is kept
                axis.set_ylabel(wrapped, fontsize=9, rotation=0, ha="right", va="center", labelpad=6)
    figure.tight_layout(h_pad=0.4, w_pad=0.3)
    return figure
