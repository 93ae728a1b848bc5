"""The network taken apart: the library code behind notebooks 02 and 03.

Everything here *measures* the live model instead of restating the paper:

- :func:`layer_table` runs a torchvision ResNet with forward hooks and rebuilds the
  paper's Figure 2 (layer name, output size, operations) from what the layers really do;
  :func:`draw_layer_table` draws it, :func:`format_layer_table` prints it.
- :func:`max_pool_example` and :func:`upsample_example` run ``nn.MaxPool2d`` and
  ``nn.Upsample`` on small numeric grids (the paper's Figures 3 and 4);
  :func:`draw_max_pool` and :func:`draw_upsample` draw them.
- :func:`trace_shapes`, :func:`encoder_feature_maps`, :func:`receptive_fields` and
  :func:`colorlib.model.parameter_counts` look inside the encoder and decoder.
- :func:`predict_half_resolution` and :func:`upsample_ab` show why the predictions
  look like mosaics (the slider and its static twin are
  :class:`colorlib.widgets.UpsamplingComparison` and
  :func:`colorlib.widgets.draw_nearest_vs_bilinear`).
- :func:`boundary_jumps` and :func:`mosaic_jumps` measure where the predicted colours
  jump (on the 2, 4 and 8 pixel grids of the decoder); :func:`flat_input_response` and
  :func:`border_frame` show the frame that zero padding paints along the edges;
  :func:`checkerboard_example` contrasts ``nn.Upsample`` + convolution with
  ``nn.ConvTranspose2d``.

What the authors' checkpoint files contain is :mod:`colorlib.checkpoints`' subject.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, Rectangle
from skimage.color import rgb2gray
from torch import nn
from torchvision.models import resnet18

from .color import rgb_to_lab, target_to_ab
from .inference import network_input, replace_ab
from .model import ENCODER_CHILDREN, ColorizationNet, describe_module, kernel_text, pair

__all__ = [
    "LayerRow",
    "layer_table",
    "format_layer_table",
    "draw_layer_table",
    "MAX_POOL_EXAMPLE",
    "max_pool_example",
    "draw_max_pool",
    "upsample_example",
    "draw_upsample",
    "ShapeRow",
    "trace_shapes",
    "format_shape_trace",
    "encoder_layer_names",
    "encoder_feature_maps",
    "draw_feature_maps",
    "receptive_fields",
    "check_square_photo",
    "predict_half_resolution",
    "upsample_ab",
    "is_block_constant",
    "colorize_from_half_resolution",
    "InputComparison",
    "compare_luma_and_lightness",
    "draw_pipeline",
    "MOSAIC_PERIODS",
    "boundary_jumps",
    "MosaicJumps",
    "mosaic_jumps",
    "draw_mosaic_jumps",
    "flat_input_response",
    "BorderFrame",
    "border_frame",
    "draw_border_frame",
    "checkerboard_example",
    "draw_checkerboard",
]

# --------------------------------------------------------------------------------------
# Figure 2: the ResNet-18 table, measured with forward hooks.
# --------------------------------------------------------------------------------------

#: The paper's row names and the torchvision attributes each row covers. The sizes and
#: operations of every row are measured; only this naming is given.
_PAPER_ROWS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("conv1", ("conv1",)),
    ("conv2_x", ("maxpool", "layer1")),
    ("conv3_x", ("layer2",)),
    ("conv4_x", ("layer3",)),
    ("conv5_x", ("layer4",)),
    ("average pool", ("avgpool",)),
    ("fully connected", ("fc",)),
)


@lru_cache(maxsize=None)
def encoder_layer_names() -> tuple[str, ...]:
    """torchvision's names of the ResNet-18 children the encoder keeps.

    ``("conv1", "bn1", "relu", "maxpool", "layer1", "layer2")``: the first
    :data:`colorlib.model.ENCODER_CHILDREN` children of ``torchvision.models.resnet18``.
    """
    return tuple(name for name, _ in resnet18(weights=None).named_children())[:ENCODER_CHILDREN]


@dataclass(frozen=True)
class LayerRow:
    """One row of the paper's Figure 2, measured on a live model.

    Attributes:
        name: the paper's layer name (``"input"``, ``"conv1"``, ``"conv2_x"``, ...).
        modules: the torchvision attributes the row covers (``("maxpool", "layer1")``).
        output_shape: the output of the row for one image, ``(C, H, W)`` or ``(features,)``.
        operations: what the row does, one string per step, read off the modules
            (``"3x3 max pool, stride 2"``, ``"[3x3, 64; 3x3, 64] x 2"``).
        kept: whether the paper's encoder keeps this row (conv1 to conv3_x).
    """

    name: str
    modules: tuple[str, ...]
    output_shape: tuple[int, ...]
    operations: tuple[str, ...]
    kept: bool

    @property
    def output_size(self) -> str:
        """The paper's notation: ``"112x112x64"`` (H x W x C), or ``"1000"``."""
        if len(self.output_shape) == 3:
            channels, height, width = self.output_shape
            return f"{height}x{width}x{channels}"
        return "x".join(str(n) for n in self.output_shape)


def _describe_stage(stage: nn.Sequential) -> str:
    """``"[3x3, 64; 3x3, 64] x 2"`` for a ResNet stage of identical blocks."""
    block = stage[0]
    convs = [m for name, m in block.named_modules() if isinstance(m, nn.Conv2d) and "downsample" not in name]
    inner = "; ".join(f"{kernel_text(conv)}, {conv.out_channels}" for conv in convs)
    first_stride = max(pair(convs[0].stride))
    stride = f", stride {first_stride}" if first_stride > 1 else ""
    return f"[{inner}] x {len(stage)}{stride}"


def _describe_module(module: nn.Module, input_shape: tuple[int, ...]) -> str:
    if isinstance(module, nn.Conv2d):
        return f"{kernel_text(module)}, {module.out_channels}, stride {pair(module.stride)[0]}"
    if isinstance(module, nn.MaxPool2d):
        return f"{kernel_text(module)} max pool, stride {pair(module.stride)[0]}"
    if isinstance(module, (nn.AdaptiveAvgPool2d, nn.AvgPool2d)):
        height, width = input_shape[-2:]
        return f"{height}x{width} average pool"
    if isinstance(module, nn.Linear):
        return f"{module.in_features} x {module.out_features} fully connected"
    if isinstance(module, nn.Sequential):
        return _describe_stage(module)
    return type(module).__name__


def layer_table(model: nn.Module | None = None, input_size: int = 224) -> list[LayerRow]:
    """The paper's Figure 2, computed by running ``model`` with forward hooks.

    Args:
        model: a torchvision ResNet (``resnet18``, ``resnet34``...: it needs ``conv1``,
            ``maxpool``, ``layer1`` .. ``layer4``, ``avgpool`` and ``fc``). The weights do
            not matter, only the layout; a fresh ``resnet18(weights=None)`` by default.
        input_size: side of the square input image in pixels.

    Returns:
        Rows ``input``, ``conv1``, ``conv2_x`` .. ``conv5_x``, ``average pool``,
        ``fully connected``, ``softmax``. For ResNet-18 at 224: 224 -> 112 -> 56 -> 28
        -> 14 -> 7 -> 1 -> 1000; ``kept`` is True for conv1 to conv3_x.

    Raises:
        ValueError: ``model`` is not a torchvision-style ResNet, or ``input_size`` is
            not a positive integer.
    """
    model = model if model is not None else resnet18(weights=None)
    needed = [name for _, names in _PAPER_ROWS for name in names]
    missing = [name for name in needed if not isinstance(getattr(model, name, None), nn.Module)]
    if missing:
        raise ValueError(
            "layer_table: expected a torchvision ResNet with attributes "
            f"{', '.join(needed)}; {type(model).__name__} lacks {', '.join(missing)}"
        )
    if isinstance(input_size, bool) or not isinstance(input_size, int) or input_size < 1:
        raise ValueError(f"layer_table: expected a positive integer input_size, got {input_size!r}")

    shapes: dict[str, tuple[tuple[int, ...], tuple[int, ...]]] = {}

    def remember(name: str):
        def hook(module, inputs, output):
            shapes[name] = (tuple(inputs[0].shape[1:]), tuple(output.shape[1:]))

        return hook

    handles = [getattr(model, name).register_forward_hook(remember(name)) for name in needed]
    was_training = model.training
    try:
        model.eval()
        with torch.no_grad():
            device = next(model.parameters()).device
            logits = model(torch.zeros(1, model.conv1.in_channels, input_size, input_size, device=device))
    finally:
        for handle in handles:
            handle.remove()
        model.train(was_training)

    kept_modules = set(encoder_layer_names())
    rows = [LayerRow("input", (), (model.conv1.in_channels, input_size, input_size), (), False)]
    for paper_name, names in _PAPER_ROWS:
        operations = tuple(_describe_module(getattr(model, n), shapes[n][0]) for n in names)
        rows.append(
            LayerRow(paper_name, names, shapes[names[-1]][1], operations, all(n in kept_modules for n in names))
        )
    probabilities = torch.softmax(logits, dim=1)
    rows.append(LayerRow("softmax", (), tuple(probabilities.shape[1:]), ("softmax",), False))
    return rows


def format_layer_table(rows: Sequence[LayerRow]) -> str:
    """The table as text: layer, output size, operations (one per line), torchvision modules, kept."""
    lines = [f"{'layer':<17}{'output size':<13}{'operations':<37}{'torchvision':<13}kept"]
    for row in rows:
        operations = list(row.operations) or ["-"]
        modules = list(row.modules) or ["-"]
        for index in range(max(len(operations), len(modules))):
            first = index == 0
            lines.append(
                f"{row.name if first else '':<17}{row.output_size if first else '':<13}"
                f"{operations[index] if index < len(operations) else '':<37}"
                f"{modules[index] if index < len(modules) else '':<13}{'yes' if row.kept and first else ''}".rstrip()
            )
    return "\n".join(lines)


def draw_layer_table(rows: Sequence[LayerRow], title: str | None = None) -> Figure:
    """Draw the measured Figure 2; the rows the paper keeps are shaded and the cut is marked."""
    columns = (("Layer name", 0.0, 1.6), ("Output size", 1.6, 1.7), ("Operations", 3.3, 3.1), ("torchvision", 6.4, 1.8))
    width = sum(column[2] for column in columns)
    heights = [max(1, len(row.operations)) * 0.42 + 0.18 for row in rows]
    header = 0.55
    total = header + sum(heights)
    figure, axis = plt.subplots(figsize=(11.0, 0.5 + total * 0.62))
    axis.set_xlim(-0.05, width + 2.6)
    axis.set_ylim(total + 0.05, -0.05)
    axis.axis("off")
    for name, left, span in columns:
        axis.add_patch(Rectangle((left, 0), span, header, facecolor="#d9d9d9", edgecolor="black", lw=0.8))
        axis.text(left + span / 2, header / 2, name, ha="center", va="center", fontweight="bold", fontsize=11)
    top = header
    kept_bottom = None
    for row, height in zip(rows, heights):
        colour = "#cde8c8" if row.kept else ("#eef3fb" if row.name == "input" else "white")
        cells = (row.name, row.output_size, "\n".join(row.operations) or "-", "\n".join(row.modules) or "-")
        for (_, left, span), text in zip(columns, cells):
            axis.add_patch(Rectangle((left, top), span, height, facecolor=colour, edgecolor="black", lw=0.6))
            axis.text(left + span / 2, top + height / 2, text, ha="center", va="center", fontsize=10,
                      family="monospace" if left > 0 else None, linespacing=1.5)
        if row.kept:
            kept_bottom = top + height
        top += height
    if kept_bottom is not None:
        axis.plot([0, width + 0.1], [kept_bottom, kept_bottom], color="#c0392b", lw=2.2, ls="--")
        kept = [row for row in rows if row.kept or row.name == "input"]
        sides = " -> ".join(str(row.output_shape[-1]) for row in kept)
        last = kept[-1]
        axis.text(width + 0.2, kept_bottom, f"the paper cuts here:\n{last.output_size}",
                  color="#c0392b", va="center", fontsize=10.5, fontweight="bold")
        axis.text(width + 0.2, header + (kept_bottom - header) / 2, f"kept (shaded):\n{sides}",
                  color="#2e7d32", va="center", fontsize=10.5, fontweight="bold")
    axis.set_title(title or "ResNet-18, measured with forward hooks", fontsize=12)
    figure.tight_layout()
    return figure


# --------------------------------------------------------------------------------------
# Figures 3 and 4: max pooling and up-sampling on small numbers.
# --------------------------------------------------------------------------------------

#: The 4x4 example of notebook 02 (hand-worked result of a 2x2 max pool, stride 2:
#: ``[[8, 5], [9, 7]]``).
MAX_POOL_EXAMPLE = ((3, 1, 0, 2), (4, 8, 5, 1), (2, 0, 7, 6), (1, 9, 3, 4))

_WINDOW_COLOURS = ("#f6c8c8", "#c8daf6", "#cdeccd", "#f8e3b8", "#e2cdf2", "#c9eef0", "#f3d1e6", "#dfe6c3", "#d7d7d7")


def _as_grid(values, what: str) -> torch.Tensor:
    grid = torch.as_tensor(values, dtype=torch.float32)
    if grid.ndim != 2 or grid.numel() == 0:
        raise ValueError(f"{what}: expected a non-empty 2-D grid of numbers (H, W), got shape {tuple(grid.shape)}")
    return grid


def max_pool_example(values=MAX_POOL_EXAMPLE) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Run ``nn.MaxPool2d(kernel_size=2, stride=2)`` on a small grid.

    Args:
        values: an (H, W) grid of numbers, H and W even (default :data:`MAX_POOL_EXAMPLE`).

    Returns:
        ``(grid (H, W), pooled (H/2, W/2), winners (H/2, W/2))``, float32 tensors except
        ``winners``: the flat index (``row * W + column``) of the maximum in each window.
    """
    grid = _as_grid(values, "max_pool_example")
    if grid.shape[0] % 2 or grid.shape[1] % 2:
        raise ValueError(f"max_pool_example: expected even height and width, got {tuple(grid.shape)}")
    pooled, winners = nn.MaxPool2d(kernel_size=2, stride=2, return_indices=True)(grid[None, None])
    return grid, pooled[0, 0], winners[0, 0]


def upsample_example(values=((3,),), scale_factor: int = 2, mode: str = "nearest") -> tuple[torch.Tensor, torch.Tensor]:
    """Run ``nn.Upsample(scale_factor=..., mode=...)`` on a small grid.

    Args:
        values: an (H, W) grid of numbers; the default is the paper's Figure 4, one 3.
        scale_factor: integer growth factor of each side.
        mode: ``"nearest"`` (the paper's, PyTorch's default) or ``"bilinear"``.

    Returns:
        ``(grid (H, W), upsampled (H*s, W*s))``, float32 tensors.
    """
    grid = _as_grid(values, "upsample_example")
    if mode not in ("nearest", "bilinear"):
        raise ValueError(f"upsample_example: mode must be 'nearest' or 'bilinear', got {mode!r}")
    if isinstance(scale_factor, bool) or not isinstance(scale_factor, int) or scale_factor < 1:
        raise ValueError(f"upsample_example: expected a positive integer scale_factor, got {scale_factor!r}")
    upsample = nn.Upsample(scale_factor=scale_factor, mode=mode)
    return grid, upsample(grid[None, None])[0, 0]


def _draw_grid(axis, grid: torch.Tensor, left: float, top: float, colours, bold=None, cell: float = 1.0) -> None:
    rows, columns = grid.shape
    for r in range(rows):
        for c in range(columns):
            strong = bold is not None and bool(bold[r][c])
            axis.add_patch(Rectangle((left + c * cell, top + r * cell), cell, cell, facecolor=colours[r][c],
                                     edgecolor="black", lw=2.4 if strong else 0.8))
            value = float(grid[r, c])
            text = f"{value:g}" if value == round(value) else f"{value:.2f}"
            axis.text(left + (c + 0.5) * cell, top + (r + 0.5) * cell, text, ha="center", va="center",
                      fontsize=15 if cell >= 1 else 11, fontweight="bold" if strong else "normal")


def _arrow(axis, start: tuple[float, float], end: tuple[float, float], label: str) -> None:
    axis.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=22, lw=2, color="#444444"))
    axis.text((start[0] + end[0]) / 2, start[1] - 0.35, label, ha="center", va="bottom", fontsize=10)


def draw_max_pool(grid: torch.Tensor, pooled: torch.Tensor, winners: torch.Tensor) -> Figure:
    """Draw a 2x2 max pool (stride 2): each window in its colour, its maximum in bold.

    Args:
        grid, pooled, winners: as returned by :func:`max_pool_example`.
    """
    rows, columns = grid.shape
    window_colour = [[_WINDOW_COLOURS[((r // 2) * (columns // 2) + c // 2) % len(_WINDOW_COLOURS)]
                      for c in range(columns)] for r in range(rows)]
    winner_set = {int(i) for i in winners.flatten()}
    bold = [[r * columns + c in winner_set for c in range(columns)] for r in range(rows)]
    pooled_colour = [[window_colour[2 * r][2 * c] for c in range(columns // 2)] for r in range(rows // 2)]
    gap = 2.5
    figure, axis = plt.subplots(figsize=(0.9 * (columns + gap + columns / 2) + 0.4, 0.9 * rows + 0.9))
    _draw_grid(axis, grid, 0, 0, window_colour, bold)
    offset = (rows - rows / 2) / 2
    _draw_grid(axis, pooled, columns + gap, offset, pooled_colour, [[True] * (columns // 2)] * (rows // 2))
    _arrow(axis, (columns + 0.3, rows / 2), (columns + gap - 0.3, rows / 2), "2x2 max pool,\nstride 2")
    axis.text(columns / 2, rows + 0.45, f"{rows}x{columns} input", ha="center", va="top", fontsize=11)
    axis.text(columns + gap + columns / 4, offset + rows / 2 + 0.45, f"{rows // 2}x{columns // 2} output",
              ha="center", va="top", fontsize=11)
    axis.set_xlim(-0.2, columns + gap + columns / 2 + 0.2)
    axis.set_ylim(rows + 1.0, -0.9)
    axis.set_aspect("equal")
    axis.axis("off")
    figure.tight_layout()
    return figure


def draw_upsample(examples: Sequence[tuple[torch.Tensor, torch.Tensor]], label: str = "nn.Upsample(scale_factor=2)") -> Figure:
    """Draw up-sampling examples side by side: each input value and its block share a colour.

    Args:
        examples: ``(grid (h, w), upsampled (s*h, s*w))`` pairs from :func:`upsample_example`.
        label: the text on the arrows.
    """
    if not examples:
        raise ValueError("draw_upsample: expected at least one (grid, upsampled) pair")
    gap, spacing = 2.6, 1.6
    height = max(up.shape[0] for _, up in examples)
    total = sum(grid.shape[1] + gap + up.shape[1] for grid, up in examples) + spacing * (len(examples) - 1)
    figure, axis = plt.subplots(figsize=(0.8 * total + 0.4, 0.8 * height + 1.1))
    left = 0.0
    for grid, upsampled in examples:
        rows, columns = grid.shape
        scale = upsampled.shape[0] // rows
        colours = [[_WINDOW_COLOURS[(r * columns + c) % len(_WINDOW_COLOURS)] for c in range(columns)] for r in range(rows)]
        big_colours = [[colours[r // scale][c // scale] for c in range(upsampled.shape[1])] for r in range(upsampled.shape[0])]
        top = (height - rows) / 2
        _draw_grid(axis, grid, left, top, colours)
        axis.text(left + columns / 2, top + rows + 0.4, f"{rows}x{columns}", ha="center", va="top", fontsize=11)
        right = left + columns + gap
        _arrow(axis, (left + columns + 0.25, height / 2), (right - 0.25, height / 2), label.replace("(", "(\n", 1) if len(label) > 20 else label)
        top_big = (height - upsampled.shape[0]) / 2
        _draw_grid(axis, upsampled, right, top_big, big_colours)
        axis.text(right + upsampled.shape[1] / 2, top_big + upsampled.shape[0] + 0.4,
                  f"{upsampled.shape[0]}x{upsampled.shape[1]}", ha="center", va="top", fontsize=11)
        left = right + upsampled.shape[1] + spacing
    axis.set_xlim(-0.2, left - spacing + 0.2)
    axis.set_ylim(height + 1.0, -1.2)
    axis.set_aspect("equal")
    axis.axis("off")
    figure.tight_layout()
    return figure


# --------------------------------------------------------------------------------------
# Inside the encoder and the decoder.
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ShapeRow:
    """One layer of a traced ``nn.Sequential``: its name, what it is, its output shape (C, H, W)."""

    name: str
    layer: str
    output_shape: tuple[int, ...]


def trace_shapes(sequential: nn.Sequential, inputs: torch.Tensor, names: Sequence[str] | None = None) -> list[ShapeRow]:
    """Run ``sequential`` on ``inputs`` with a forward hook on each child; one row per child.

    Args:
        sequential: e.g. ``model.encoder`` or ``model.decoder`` of a :class:`ColorizationNet`.
        inputs: a batch ``(N, C, H, W)``; row shapes are for one image, ``(C, H, W)``.
        names: display names of the children (default: their indices).

    Returns:
        Rows in execution order, starting with an ``"input"`` row.
    """
    if not isinstance(sequential, nn.Sequential):
        raise ValueError(f"trace_shapes: expected an nn.Sequential, got {type(sequential).__name__}")
    if not isinstance(inputs, torch.Tensor) or inputs.ndim != 4:
        raise ValueError("trace_shapes: expected inputs shaped (N, C, H, W)")
    children = list(sequential.named_children())
    names = list(names) if names is not None else [name for name, _ in children]
    if len(names) != len(children):
        raise ValueError(f"trace_shapes: got {len(names)} names for {len(children)} layers")
    rows = [ShapeRow("input", "", tuple(inputs.shape[1:]))]
    handles = []
    for display, (_, child) in zip(names, children):
        def hook(module, args, output, display=display):
            rows.append(ShapeRow(display, describe_module(module), tuple(output.shape[1:])))

        handles.append(child.register_forward_hook(hook))
    try:
        with torch.no_grad():
            sequential(inputs)
    finally:
        for handle in handles:
            handle.remove()
    return rows


def format_shape_trace(rows: Sequence[ShapeRow]) -> str:
    """The trace as text: one line per layer with its output shape (C x H x W)."""
    lines = [f"{'':<9}{'layer':<36}output (C x H x W)"]
    for row in rows:
        lines.append(f"{row.name:<9}{row.layer:<36}{' x '.join(str(n) for n in row.output_shape)}")
    return "\n".join(lines)


def encoder_feature_maps(encoder: nn.Sequential, lightness: torch.Tensor) -> dict[str, torch.Tensor]:
    """Every intermediate output of the encoder for one image.

    Args:
        encoder: ``ColorizationNet.encoder`` (its children are ResNet-18's conv1 .. layer2).
        lightness: network input ``L / 100``, ``(1, 1, H, W)`` or ``(H, W)``.

    Returns:
        ``{"conv1": (64, H/2, W/2), "bn1": ..., "relu": ..., "maxpool": (64, H/4, W/4),
        "layer1": (64, H/4, W/4), "layer2": (128, H/8, W/8)}`` float tensors.
    """
    if lightness.ndim == 2:
        lightness = lightness[None, None]
    if lightness.ndim != 4 or lightness.shape[:2] != (1, 1):
        raise ValueError(f"encoder_feature_maps: expected L/100 shaped (1, 1, H, W) or (H, W), got {tuple(lightness.shape)}")
    names = encoder_layer_names()
    if len(encoder) != len(names):
        raise ValueError(f"encoder_feature_maps: expected an encoder of {len(names)} layers ({', '.join(names)})")
    maps: dict[str, torch.Tensor] = {}
    with torch.no_grad():
        x = lightness
        for name, layer in zip(names, encoder):
            x = layer(x)
            maps[name] = x[0].clone()  # clone: the ReLU works in place on the next step
    return maps


def draw_feature_maps(image: np.ndarray, maps: dict[str, torch.Tensor], channels: int = 4, title: str | None = None) -> Figure:
    """The input beside a few channels of each chosen feature map.

    For each map the ``channels`` channels with the largest spatial standard deviation
    are shown (the most structured ones; a deterministic choice), each on its own scale.

    Args:
        image: the input shown in the first column, (H, W) gray or (H, W, 3) RGB.
        maps: ``{name: (C, h, w)}``, e.g. some entries of :func:`encoder_feature_maps`.
    """
    figure, axes = plt.subplots(len(maps), channels + 1, figsize=(2.3 * (channels + 1), 2.45 * len(maps)), squeeze=False)
    for row, (name, feature_map) in enumerate(maps.items()):
        if feature_map.ndim != 3:
            raise ValueError(f"draw_feature_maps: expected {name} shaped (C, h, w), got {tuple(feature_map.shape)}")
        axes[row, 0].axis("off")
        if row == 0:
            axes[0, 0].imshow(image, cmap="gray" if image.ndim == 2 else None)
            axes[0, 0].set_title(f"input {image.shape[0]}x{image.shape[1]}", fontsize=10)
        c, h, w = feature_map.shape
        order = feature_map.flatten(1).std(dim=1).argsort(descending=True)[:channels]
        for column, channel in enumerate(order.tolist(), start=1):
            axis = axes[row, column]
            axis.imshow(feature_map[channel].numpy(), cmap="magma")
            axis.set_title(f"channel {channel}", fontsize=9)
            axis.set_xticks([])
            axis.set_yticks([])
            for spine in axis.spines.values():
                spine.set_visible(False)
        axes[row, 1].set_ylabel(f"{name}\n{h}x{w}x{c}", fontsize=11, fontweight="bold")
        for axis in axes[row, channels + 1 :]:
            axis.axis("off")
    if title:
        figure.suptitle(title)
    figure.tight_layout()
    return figure


def receptive_fields(model: nn.Module) -> list[tuple[str, int, int]]:
    """How many input pixels one output position can see, layer by layer.

    Walks the convolutions and poolings of the main path in execution order (the 1x1
    ``downsample`` shortcuts of ResNet see less, so they are skipped) and applies
    ``field += (kernel - 1) * jump; jump *= stride``.

    Args:
        model: a ResNet, a ResNet's encoder, or any module whose convolutions and
            poolings are registered in execution order.

    Returns:
        ``[(module name, receptive field in pixels, jump in pixels), ...]``, one entry per
        convolution or max pooling: ``jump`` is the input distance between two
        neighbouring outputs (8 after ResNet-18's layer2).
    """
    field, jump = 1, 1
    rows = []
    for name, module in model.named_modules():
        if "downsample" in name.split(".") or not isinstance(module, (nn.Conv2d, nn.MaxPool2d)):
            continue
        kernel = pair(module.kernel_size)[0]
        dilation = pair(module.dilation)[0]
        field += (kernel - 1) * dilation * jump
        jump *= pair(module.stride)[0]
        rows.append((name, field, jump))
    return rows


# --------------------------------------------------------------------------------------
# The last up-sampling: mosaics, nearest versus bilinear.
# --------------------------------------------------------------------------------------


def check_square_photo(photo: np.ndarray, what: str) -> int:
    """The side of a square uint8 RGB photo (S, S, 3) whose side is divisible by 8; ValueError naming ``what`` otherwise."""
    if (
        not isinstance(photo, np.ndarray)
        or photo.dtype != np.uint8
        or photo.ndim != 3
        or photo.shape[-1] != 3
        or photo.shape[0] != photo.shape[1]
        or photo.shape[0] % 8
    ):
        shape = getattr(photo, "shape", None)
        raise ValueError(
            f"{what}: expected a square uint8 RGB photo (S, S, 3) with S divisible by 8 "
            f"(see colorlib.images.square_crop), got {type(photo).__name__} {shape}"
        )
    return photo.shape[0]


def predict_half_resolution(model: ColorizationNet, network_input: torch.Tensor) -> torch.Tensor:
    """The decoder's output just before its last ``nn.Upsample``.

    Args:
        model: a :class:`ColorizationNet`, used in whatever mode it is in (eval mode for
            predictions, as :func:`colorlib.load_pretrained` returns it).
        network_input: ``L / 100``, ``(N, 1, H, W)``, H and W divisible by 8, on the
            model's device.

    Returns:
        ab targets ``(N, 2, H/2, W/2)`` on the ``(ab + 128) / 255`` scale; the model's
        own output is exactly this, upsampled by nearest neighbour.
    """
    last = model.decoder[-1]
    if not isinstance(last, nn.Upsample):
        raise ValueError(f"predict_half_resolution: expected the decoder to end with nn.Upsample, found {type(last).__name__}")
    if network_input.ndim != 4 or network_input.shape[1] != 1 or network_input.shape[-1] % 8 or network_input.shape[-2] % 8:
        raise ValueError(
            "predict_half_resolution: expected L/100 shaped (N, 1, H, W) with H and W divisible by 8, "
            f"got {tuple(network_input.shape)}"
        )
    with torch.no_grad():
        return model.decoder[:-1](model.encoder(network_input))


def upsample_ab(ab: torch.Tensor, size: tuple[int, int], mode: str = "nearest") -> torch.Tensor:
    """Up-sample a low-resolution ab prediction ``(N, 2, h, w)`` to ``size`` = (H, W).

    ``"nearest"`` copies each value into a block (what the paper's last ``nn.Upsample``
    does: mosaics); ``"bilinear"`` interpolates between neighbours (smooth).
    """
    if mode not in ("nearest", "bilinear"):
        raise ValueError(f"upsample_ab: mode must be 'nearest' or 'bilinear', got {mode!r}")
    if ab.ndim != 4:
        raise ValueError(f"upsample_ab: expected ab shaped (N, 2, h, w), got {tuple(ab.shape)}")
    if mode == "nearest":
        return F.interpolate(ab, size=tuple(size), mode="nearest")
    return F.interpolate(ab, size=tuple(size), mode="bilinear", align_corners=False)


def is_block_constant(image: torch.Tensor, block: int = 2) -> bool:
    """Whether ``image`` (..., H, W) is made of ``block`` x ``block`` tiles of one value each."""
    height, width = image.shape[-2:]
    if height % block or width % block:
        return False
    corners = image[..., ::block, ::block]
    return bool(torch.equal(image, corners.repeat_interleave(block, dim=-2).repeat_interleave(block, dim=-1)))


def colorize_from_half_resolution(photo: np.ndarray, half_target: torch.Tensor, mode: str = "nearest") -> tuple[np.ndarray, np.ndarray]:
    """Give ``photo`` the colours of a half-resolution prediction, up-sampled by ``mode``.

    Args:
        photo: uint8 RGB (H, W, 3); its own lightness is kept.
        half_target: ab targets ``(1, 2, H/2, W/2)`` from :func:`predict_half_resolution`.
        mode: ``"nearest"`` (what the model's last layer does) or ``"bilinear"``.

    Returns:
        ``(rgb uint8 (H, W, 3), ab float32 (H, W, 2) in ab units)``.
    """
    ab = target_to_ab(upsample_ab(half_target, photo.shape[:2], mode))[0].permute(1, 2, 0).numpy()
    return replace_ab(photo, ab), ab


# --------------------------------------------------------------------------------------
# The authors' luma input versus L / 100.
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class InputComparison:
    """How much the prediction changes when the network gets luma instead of ``L / 100``.

    Attributes (ab units):
        mean_abs_delta_ab: mean over pixels and both channels of ``|ab_luma - ab_L|``.
        max_abs_delta_ab: the largest such difference.
        mean_abs_ab: mean ``|ab|`` of the ``L / 100`` prediction (for scale).
    """

    mean_abs_delta_ab: float
    max_abs_delta_ab: float
    mean_abs_ab: float


def compare_luma_and_lightness(model: ColorizationNet, photo: np.ndarray) -> InputComparison:
    """Predict ab from ``skimage.color.rgb2gray`` (the authors' input) and from ``L / 100``.

    Args:
        model: a :class:`ColorizationNet` in eval mode.
        photo: a square uint8 RGB photo (S, S, 3), S divisible by 8 (see :func:`colorlib.images.square_crop`).
    """
    side = check_square_photo(photo, "compare_luma_and_lightness")
    lightness = network_input([photo], size=side)
    luma = torch.from_numpy(rgb2gray(photo).astype(np.float32))[None, None]
    with torch.no_grad():
        ab_lightness = target_to_ab(model(lightness))
        ab_luma = target_to_ab(model(luma))
    delta = (ab_luma - ab_lightness).abs()
    return InputComparison(float(delta.mean()), float(delta.max()), float(ab_lightness.abs().mean()))


# --------------------------------------------------------------------------------------
# Figure 1: the whole pipeline.
# --------------------------------------------------------------------------------------


def draw_pipeline(
    rgb: np.ndarray,
    lab: np.ndarray,
    predicted_lab: np.ndarray,
    predicted_rgb: np.ndarray,
    ab_limit: float = 40.0,
    title: str | None = None,
) -> Figure:
    """The paper's Figure 1 with real data: RGB -> Lab -> L -> network -> predicted a, b -> RGB.

    Channels are drawn with a grayscale colour map, as in the paper, but unlike the
    paper all four a and b panels (true and predicted) share **one fixed scale**,
    ``-ab_limit`` (black) .. 0 (mid gray: no colour) .. ``+ab_limit`` (white), shown by
    one colour bar, and each title gives the channel's mean absolute value. So a dull
    prediction looks dull: its panels stay near mid gray where the true ones are light
    or dark. (The paper stretched every panel to its own range, which hides that.)

    Args:
        rgb, predicted_rgb: float arrays (H, W, 3) in 0..1.
        lab, predicted_lab: float arrays (H, W, 3): L in 0..100, a and b in ab units
            (about -128..127).
        ab_limit: the end of the shared a/b scale in ab units (> 0); values beyond it
            are drawn black or white.
        title: the figure's title (default: the pipeline in words).

    Raises:
        ValueError: an array that is not (H, W, 3), arrays of different sizes, or
            ``ab_limit`` <= 0.
    """
    arrays = {"rgb": rgb, "lab": lab, "predicted_lab": predicted_lab, "predicted_rgb": predicted_rgb}
    for what, array in arrays.items():
        if not isinstance(array, np.ndarray) or array.ndim != 3 or array.shape[-1] != 3:
            raise ValueError(f"draw_pipeline: expected {what} as an array (H, W, 3), got {getattr(array, 'shape', type(array).__name__)}")
    if len({array.shape for array in arrays.values()}) != 1:
        raise ValueError(f"draw_pipeline: expected four arrays of one size, got {[array.shape for array in arrays.values()]}")
    if not np.isfinite(ab_limit) or ab_limit <= 0:
        raise ValueError(f"draw_pipeline: expected ab_limit > 0 (ab units), got {ab_limit!r}")
    figure = plt.figure(figsize=(14.0, 6.2))
    grid = figure.add_gridspec(2, 6, wspace=0.3, hspace=0.62, width_ratios=(1, 1, 1, 1, 1.1, 1.5))
    ab_scale = {"cmap": "gray", "vmin": -ab_limit, "vmax": ab_limit}

    def panel(where, image, title, **kwargs):
        axis = figure.add_subplot(where)
        shown = axis.imshow(image, **kwargs)
        axis.set_title(title, fontsize=10)
        axis.set_xticks([])
        axis.set_yticks([])
        return axis, shown

    def channel(where, values, name):
        return panel(where, values, f"{name}\nmean |value| {float(np.abs(values).mean()):.1f}", **ab_scale)

    def box(where, text, face, edge):
        axis = figure.add_subplot(where)
        axis.axis("off")
        axis.text(0.5, 0.5, text, ha="center", va="center", fontsize=10,
                  bbox=dict(boxstyle="round,pad=0.6", facecolor=face, edgecolor=edge))
        return axis

    rgb_axis, _ = panel(grid[0, 0], rgb, "RGB")
    a_axis, scale = channel(grid[0, 1], lab[..., 1], "A channel")
    channel(grid[0, 2], lab[..., 2], "B channel")
    l_axis, _ = panel(grid[1, 0], lab[..., 0], "L channel", cmap="gray", vmin=0, vmax=100)
    net_axis = box(grid[1, 1:3], "ColorizationNet\nResNet-18 conv1..conv3_x (down)\n+ conv / nn.Upsample (up)\n"
                   "in: L/100   out: (ab+128)/255", "#dbe8f7", "#3c6fb4")
    pa_axis, _ = channel(grid[0, 3], predicted_lab[..., 1], "A channel (predicted)")
    pb_axis, _ = channel(grid[1, 3], predicted_lab[..., 2], "B channel (predicted)")
    merge_axis = box(grid[:, 4], "input L\n+ predicted A, B\n= predicted Lab", "#f7e3db", "#b4573c")
    out_axis, _ = panel(grid[:, 5], predicted_rgb, "RGB (predicted)")
    # One colour bar for the four a/b panels, under the true A and B.
    bar_axis = a_axis.inset_axes([0.0, -0.17, 2.3, 0.07])
    bar = figure.colorbar(scale, cax=bar_axis, orientation="horizontal")
    bar.set_label("a and b, all four panels (ab units; mid gray = no colour)", fontsize=8)
    bar.ax.tick_params(labelsize=7)

    def connect(source, target, start=(1.0, 0.5), end=(0.0, 0.5)):
        to_figure = figure.transFigure.inverted()
        figure.add_artist(FancyArrowPatch(
            posA=to_figure.transform(source.transAxes.transform(start)),
            posB=to_figure.transform(target.transAxes.transform(end)),
            transform=figure.transFigure, arrowstyle="-|>", mutation_scale=16, lw=1.4, color="#333333"))

    connect(rgb_axis, l_axis, (0.5, -0.03), (0.5, 1.2))
    connect(rgb_axis, a_axis)  # RGB -> Lab gives A and B (side by side) and L (below)
    a_axis.annotate("to Lab", xy=(-0.165, 0.56), xycoords="axes fraction", ha="center", fontsize=8)
    connect(l_axis, net_axis, end=(0.05, 0.5))
    connect(net_axis, pa_axis, (0.95, 0.62), (0.0, 0.3))
    connect(net_axis, pb_axis, (0.95, 0.5), (0.0, 0.5))
    connect(pa_axis, merge_axis, end=(0.1, 0.56))
    connect(pb_axis, merge_axis, end=(0.1, 0.44))
    connect(merge_axis, out_axis, (0.97, 0.5), (0.0, 0.5))
    figure.suptitle(title or "The paper's Figure 1, run: RGB -> Lab -> L -> network -> predicted A, B -> predicted RGB",
                    fontsize=12)
    return figure


# --------------------------------------------------------------------------------------
# Where the mosaics come from: colour jumps on the decoder's grids, the border frame,
# and nn.ConvTranspose2d's checkerboard.
# --------------------------------------------------------------------------------------

#: The grids of the decoder at a 224 x 224 output: 2 px (its 112 x 112 last convolution),
#: 4 px (56 x 56) and 8 px (the encoder's 28 x 28 features).
MOSAIC_PERIODS = (2, 4, 8)


def _check_ab_image(ab: np.ndarray, what: str) -> np.ndarray:
    if not isinstance(ab, np.ndarray) or ab.ndim != 3 or ab.shape[-1] != 2 or ab.dtype.kind != "f":
        raise ValueError(
            f"{what}: expected a float array of a and b shaped (H, W, 2) in ab units, "
            f"got {type(ab).__name__} {getattr(ab, 'dtype', '')} {getattr(ab, 'shape', '')}".rstrip()
        )
    return ab


def _check_periods(periods: Sequence[int], what: str) -> tuple[int, ...]:
    periods = tuple(periods)
    if (
        not periods
        or any(isinstance(p, bool) or not isinstance(p, (int, np.integer)) or p < 2 for p in periods)
        or len(set(periods)) != len(periods)
    ):
        raise ValueError(f"{what}: expected distinct integer periods of at least 2 pixels, got {periods!r}")
    return tuple(sorted(int(p) for p in periods))


def _boundary_classes(count: int, periods: tuple[int, ...]) -> np.ndarray:
    """The class of the boundaries at positions 1 .. count-1: the largest period dividing it, else 1."""
    positions = np.arange(1, count)
    classes = np.ones(count - 1, dtype=np.int64)
    for period in periods:  # ascending: a larger period overwrites a smaller one
        classes[positions % period == 0] = period
    return classes


def boundary_jumps(ab: np.ndarray, periods: Sequence[int] = MOSAIC_PERIODS) -> dict[int, float]:
    """How much the colour jumps between neighbouring pixels, sorted by where the boundary lies.

    The definition, so that the numbers can be reproduced:

    - A **boundary** lies between two neighbouring pixels: between columns ``x - 1`` and
      ``x`` (position ``x``, 1 <= x <= W - 1) or between rows ``y - 1`` and ``y``
      (position ``y``). Both directions count; the image's outer edge is no boundary.
    - Its **jump** is ``(|delta a| + |delta b|) / 2``, the mean over both channels of the
      absolute difference between the two pixels, in ab units.
    - Its **class** is the largest of ``periods`` that divides its position, or 1 when
      none does. With ``(2, 4, 8)``: positions 8, 16, ... are class 8; 4, 12, 20, ...
      class 4; 2, 6, 10, ... class 2; odd positions class 1 (inside 2 x 2 blocks).

    The result is the mean jump over all boundaries of each class. For a photo's true
    colours every class has about the same mean (nothing in a photo is aligned to a
    grid); a decoder that paints on a grid jumps more on it. An image up-sampled by
    nearest neighbour x2 has class 1 exactly 0.

    Args:
        ab: float ``(H, W, 2)``, a and b in ab units (about -128..127), e.g.
            :func:`colorlib.inference.predict_ab`'s answer.
        periods: grid periods in pixels, distinct integers >= 2.

    Returns:
        ``{1: mean jump off every grid, p: mean jump on the grid of period p, ...}``,
        keys ascending.

    Raises:
        ValueError: ``ab`` is not float ``(H, W, 2)``, bad ``periods``, or an image too
            small for every class to have a boundary (a side of at least
            ``max(periods) + 1`` pixels is needed).

    >>> import numpy as np
    >>> a = np.repeat(np.arange(4.0) * 10, 2)[None, :, None]   # one row, 2-pixel blocks
    >>> boundary_jumps(np.concatenate([a, np.zeros_like(a)], axis=-1), periods=(2,))
    {1: 0.0, 2: 5.0}
    """
    ab = _check_ab_image(ab, "boundary_jumps")
    periods = _check_periods(periods, "boundary_jumps")
    height, width = ab.shape[:2]
    if max(height, width) <= max(periods):
        raise ValueError(
            f"boundary_jumps: an image of {height}x{width} has no boundary at position {max(periods)}; "
            f"expected a side of at least {max(periods) + 1} pixels"
        )
    values = ab.astype(np.float64, copy=False)
    across_columns = np.abs(np.diff(values, axis=1)).mean(axis=-1)  # (H, W - 1): boundary x = 1 .. W - 1
    across_rows = np.abs(np.diff(values, axis=0)).mean(axis=-1)  # (H - 1, W): boundary y = 1 .. H - 1
    column_classes = _boundary_classes(width, periods)
    row_classes = _boundary_classes(height, periods)
    result = {}
    for period in (1, *periods):
        total = across_columns[:, column_classes == period].sum() + across_rows[row_classes == period].sum()
        count = height * int((column_classes == period).sum()) + width * int((row_classes == period).sum())
        result[period] = float(total / count)
    return result


@dataclass(frozen=True)
class MosaicJumps:
    """:func:`boundary_jumps` averaged over photos, for three versions of their colours.

    Attributes:
        photos: how many photos were measured (each weighs the same).
        true: the photos' own a and b.
        nearest: the model's output as built (its last ``nn.Upsample`` is nearest).
        bilinear: the model's half-resolution output, up-sampled bilinearly instead.
    """

    photos: int
    true: dict[int, float]
    nearest: dict[int, float]
    bilinear: dict[int, float]

    def rows(self) -> dict[str, dict[int, float]]:
        """The three rows by their labels, in the order of the table."""
        return {
            "true colours": self.true,
            "model, nearest (as built)": self.nearest,
            "model, bilinear last layer": self.bilinear,
        }

    def table(self) -> str:
        """The numbers as text: one row per version, one column per boundary class."""
        periods = list(self.true)
        header = "".join(f"{'off grids' if p == 1 else f'on {p} px':>11}" for p in periods)
        lines = [f"{'mean |delta ab| across':<28}{header}"]
        for label, row in self.rows().items():
            lines.append(f"{label:<28}" + "".join(f"{row[p]:>11.2f}" for p in periods))
        return "\n".join(lines)


def mosaic_jumps(model: ColorizationNet, photos: Sequence[np.ndarray], periods: Sequence[int] = MOSAIC_PERIODS) -> MosaicJumps:
    """Measure where the colours of ``model`` jump, on several photos (see :func:`boundary_jumps`).

    For each photo: its true a and b (:func:`colorlib.color.rgb_to_lab`); the model's own
    output (:func:`predict_half_resolution`, then nearest x2: bit for bit what the model
    returns); and the same half-resolution output up-sampled bilinearly. The class
    means of each photo are averaged over the photos.

    Args:
        model: a :class:`ColorizationNet` ending with ``nn.Upsample`` (the paper's).
        photos: square uint8 RGB photos (S, S, 3), S divisible by 8 (see
            :func:`colorlib.images.square_crop`); the network runs at S x S.
        periods: as for :func:`boundary_jumps`.
    """
    if len(photos) == 0:
        raise ValueError("mosaic_jumps: expected at least one photo")
    sums = {"true": None, "nearest": None, "bilinear": None}
    for photo in photos:
        side = check_square_photo(photo, "mosaic_jumps")
        half_target = predict_half_resolution(model, network_input([photo], size=side))
        measured = {"true": boundary_jumps(rgb_to_lab(photo.astype(np.float32) / 255.0)[..., 1:], periods)}
        for mode in ("nearest", "bilinear"):
            ab = target_to_ab(upsample_ab(half_target, (side, side), mode))[0].permute(1, 2, 0).numpy()
            measured[mode] = boundary_jumps(ab, periods)
        for key, values in measured.items():
            sums[key] = values if sums[key] is None else {p: sums[key][p] + v for p, v in values.items()}
    count = len(photos)
    means = {key: {p: v / count for p, v in values.items()} for key, values in sums.items()}
    return MosaicJumps(count, means["true"], means["nearest"], means["bilinear"])


def draw_mosaic_jumps(jumps: MosaicJumps, title: str | None = None) -> Figure:
    """Bars of :class:`MosaicJumps`: for each version of the colours, the mean jump per boundary class."""
    rows = jumps.rows()
    periods = list(jumps.true)
    labels = ["off every grid\n(odd positions)" if p == 1 else f"on the {p}-px grid" for p in periods]
    figure, axis = plt.subplots(figsize=(8.6, 4.2))
    width = 0.8 / len(rows)
    colours = ("#9e9e9e", "#c0392b", "#2e86c1")
    for index, ((label, row), colour) in enumerate(zip(rows.items(), colours)):
        positions = np.arange(len(periods)) + (index - (len(rows) - 1) / 2) * width
        values = [row[p] for p in periods]
        bars = axis.bar(positions, values, width=width * 0.95, color=colour, label=label)
        axis.bar_label(bars, labels=[f"{v:.2f}" for v in values], fontsize=8, padding=2)
    axis.set_xticks(np.arange(len(periods)), labels)
    axis.set_ylabel("mean |delta ab| between neighbours\n(ab units)")
    axis.spines[["top", "right"]].set_visible(False)
    axis.legend(frameon=False, fontsize=9, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncols=len(rows))
    axis.set_ylim(0, max(max(row.values()) for row in rows.values()) * 1.12)
    axis.set_title(title or f"Where the colours jump, mean of {jumps.photos} photos", fontsize=11)
    figure.tight_layout()
    return figure


def flat_input_response(model: ColorizationNet, size: int = 224, lightness: float = 50.0) -> np.ndarray:
    """What ``model`` paints on a picture of one flat lightness, where only zero padding marks the edges.

    Args:
        model: a :class:`ColorizationNet` (eval mode for predictions).
        size: side of the square input, divisible by 8.
        lightness: ``L`` of every pixel, 0..100.

    Returns:
        float32 ``(size, size, 2)``: the predicted a and b in ab units.

    >>> import torch
    >>> from colorlib.model import ColorizationNet
    >>> flat_input_response(ColorizationNet().eval(), size=16, lightness=50).shape
    (16, 16, 2)
    """
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 8 or size % 8:
        raise ValueError(f"flat_input_response: expected a size divisible by 8 (>= 8), got {size!r}")
    if isinstance(lightness, bool) or not isinstance(lightness, (int, float, np.integer, np.floating)) or not 0 <= lightness <= 100:
        raise ValueError(f"flat_input_response: expected a lightness L in 0..100, got {lightness!r}")
    parameter = next(model.parameters())
    flat = torch.full((1, 1, int(size), int(size)), float(lightness) / 100.0, dtype=parameter.dtype, device=parameter.device)
    with torch.no_grad():
        ab = model.predict_ab(flat)
    return ab[0].permute(1, 2, 0).float().cpu().numpy()


@dataclass(frozen=True)
class BorderFrame:
    """Mean ``(a, b)`` of a picture's edge strips and of its inside (see :func:`border_frame`)."""

    border: int
    inside: tuple[float, float]
    top: tuple[float, float]
    bottom: tuple[float, float]
    left: tuple[float, float]
    right: tuple[float, float]

    def table(self) -> str:
        """One line per region: mean a and b, and b's difference to the inside."""
        lines = [f"{'region':<22}{'mean a':>8}{'mean b':>8}{'b - inside b':>14}"]
        for name in ("inside", "top", "bottom", "left", "right"):
            a, b = getattr(self, name)
            region = f"inside ({self.border} px in)" if name == "inside" else f"{name} {self.border} px"
            change = "" if name == "inside" else f"{b - self.inside[1]:>+14.1f}"
            lines.append(f"{region:<22}{a:>8.1f}{b:>8.1f}{change}")
        return "\n".join(lines)


def border_frame(ab: np.ndarray, border: int = 8) -> BorderFrame:
    """Mean a and b of the four edge strips of ``ab`` and of what lies inside them.

    ``top`` is the first ``border`` rows (all columns), ``bottom`` the last ``border``
    rows, ``left`` and ``right`` the first and last ``border`` columns (all rows; the
    corners belong to two strips); ``inside`` is every pixel at least ``border`` pixels
    from every edge. 8 pixels is one cell of the encoder's 28 x 28 grid at 224 x 224.

    Args:
        ab: float ``(H, W, 2)`` in ab units, e.g. :func:`flat_input_response`'s.
        border: strip width in pixels, ``1 <= border`` and ``2 * border < min(H, W)``.

    >>> import numpy as np
    >>> ab = np.zeros((6, 6, 2)); ab[0, :, 1] = -6.0
    >>> border_frame(ab, border=1).top, border_frame(ab, border=1).inside
    ((0.0, -6.0), (0.0, 0.0))
    """
    ab = _check_ab_image(ab, "border_frame")
    height, width = ab.shape[:2]
    if isinstance(border, bool) or not isinstance(border, (int, np.integer)) or border < 1 or 2 * border >= min(height, width):
        raise ValueError(f"border_frame: expected 1 <= border < {min(height, width) / 2:g} for a {height}x{width} image, got {border!r}")

    def mean(region: np.ndarray) -> tuple[float, float]:
        a, b = region.reshape(-1, 2).astype(np.float64).mean(axis=0)
        return float(a), float(b)

    return BorderFrame(
        border=int(border),
        inside=mean(ab[border:-border, border:-border]),
        top=mean(ab[:border]),
        bottom=mean(ab[-border:]),
        left=mean(ab[:, :border]),
        right=mean(ab[:, -border:]),
    )


def draw_border_frame(ab: np.ndarray, lightness: float, ab_limit: float = 40.0, title: str | None = None) -> Figure:
    """The a and b a model paints on a flat picture, and b down the middle column.

    Args:
        ab: float ``(S, S, 2)`` from :func:`flat_input_response`.
        lightness: the flat input's ``L`` (for the titles).
        ab_limit: the a and b panels run from ``-ab_limit`` (black) to ``+ab_limit`` (white).
    """
    ab = _check_ab_image(ab, "draw_border_frame")
    figure, axes = plt.subplots(1, 3, figsize=(12.5, 4.3), gridspec_kw={"width_ratios": (1, 1, 1.3)}, layout="constrained")
    for axis, channel, name in ((axes[0], 0, "a"), (axes[1], 1, "b")):
        shown = axis.imshow(ab[..., channel], cmap="gray", vmin=-ab_limit, vmax=ab_limit)
        axis.set_title(f"predicted {name} for a flat L = {lightness:g}", fontsize=10)
        axis.set_xticks([])
        axis.set_yticks([])
    figure.colorbar(shown, ax=axes[:2], orientation="horizontal", fraction=0.05, pad=0.04,
                    label=f"ab units (-{ab_limit:g} black, 0 mid gray, +{ab_limit:g} white)")
    middle = ab.shape[1] // 2
    rows = np.arange(ab.shape[0])
    axes[2].plot(rows, ab[:, middle, 1], color="#2e86c1", lw=1.4, label=f"b, column {middle}")
    axes[2].plot(rows, ab[:, middle, 0], color="#c0392b", lw=1.4, label=f"a, column {middle}")
    for edge in range(0, ab.shape[0] + 1, 8):
        axes[2].axvline(edge, color="#dddddd", lw=0.6, zorder=0)
    axes[2].set_xlim(0, ab.shape[0] - 1)
    axes[2].set_xlabel("row (top = 0); thin lines every 8 px")
    axes[2].set_ylabel("ab units")
    axes[2].legend(frameon=False, fontsize=9)
    axes[2].spines[["top", "right"]].set_visible(False)
    axes[2].set_title("down the middle column", fontsize=10)
    figure.suptitle(title or f"A flat gray input (L = {lightness:g}) gets colour, and a frame at its edges", fontsize=11)
    return figure


def checkerboard_example(side: int = 4, kernel_size: int = 3) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Double a flat grid of ones two ways, every weight equal: the checkerboard of ``nn.ConvTranspose2d``.

    1. ``nn.ConvTranspose2d(1, 1, kernel_size, stride=2)`` (a "deconvolution") with every
       weight ``4 / kernel_size**2`` (so the total weight per input is 4, one per output
       pixel), padded to give exactly ``2 * side``. Each output pixel sums the kernels
       that overlap it: with ``kernel_size=3`` one or two per direction, so the inside
       alternates 4/9, 8/9 and 16/9 in a checkerboard. With ``kernel_size=4`` (a
       multiple of the stride) every inside pixel gets two per direction: flat 1.
    2. ``nn.Upsample(scale_factor=2)`` (nearest) then ``nn.Conv2d(1, 1, 3, padding=1)``
       with every weight 1/9, the paper's decoder step: the inside is flat 1.

    Both are lower along the edges: the zero padding counts as input.

    Args:
        side: the input is ``side`` x ``side`` ones (>= 2).
        kernel_size: the transposed convolution's kernel (2..8); the
            up-sample-and-convolve path always uses 3 x 3.

    Returns:
        ``(grid (side, side), transposed (2 side, 2 side), upsample_conv (2 side, 2 side))``,
        float32 numpy arrays.

    >>> _, transposed, upsampled = checkerboard_example(side=2)
    >>> (transposed * 9 / 4).round(3).tolist()[1]
    [2.0, 4.0, 2.0, 2.0]
    >>> (upsampled * 9).round(3).tolist()[1]
    [6.0, 9.0, 9.0, 6.0]
    """
    if isinstance(side, bool) or not isinstance(side, (int, np.integer)) or side < 2:
        raise ValueError(f"checkerboard_example: expected an integer side >= 2, got {side!r}")
    if isinstance(kernel_size, bool) or not isinstance(kernel_size, (int, np.integer)) or not 2 <= kernel_size <= 8:
        raise ValueError(f"checkerboard_example: expected an integer kernel_size in 2..8, got {kernel_size!r}")
    padding = (kernel_size - 1) // 2
    transposed_conv = nn.ConvTranspose2d(1, 1, kernel_size, stride=2, padding=padding,
                                         output_padding=2 - kernel_size + 2 * padding, bias=False)
    upsample_conv = nn.Sequential(nn.Upsample(scale_factor=2), nn.Conv2d(1, 1, 3, padding=1, bias=False))
    with torch.no_grad():
        transposed_conv.weight.fill_(4.0 / kernel_size**2)
        upsample_conv[1].weight.fill_(1.0 / 9.0)
        grid = torch.ones(1, 1, int(side), int(side))
        transposed = transposed_conv(grid)[0, 0]
        upsampled = upsample_conv(grid)[0, 0]
    return grid[0, 0].numpy(), transposed.numpy(), upsampled.numpy()


def draw_checkerboard(grid: np.ndarray, transposed: np.ndarray, upsampled: np.ndarray, kernel_size: int = 3) -> Figure:
    """Draw :func:`checkerboard_example`: the input and both doublings, each value printed in its cell.

    The cells are shaded by value on one scale (white 0, dark 2), so the transposed
    convolution's checkerboard shows at a glance.
    """
    colour_map = plt.get_cmap("Blues")

    def colours(values: np.ndarray) -> list[list[tuple]]:
        return [[colour_map(min(float(v), 2.0) / 2.0 * 0.8) for v in row] for row in values]

    panels = (
        (grid, "input: ones"),
        (transposed, f"ConvTranspose2d({kernel_size}x{kernel_size}, stride 2)"),
        (upsampled, "Upsample(x2) + Conv2d(3x3)"),
    )
    gap = 1.2
    total = sum(values.shape[1] for values, _ in panels) + gap * (len(panels) - 1)
    height = max(values.shape[0] for values, _ in panels)
    figure, axis = plt.subplots(figsize=(0.62 * total + 0.4, 0.62 * height + 1.2))
    left = 0.0
    for values, label in panels:
        top = (height - values.shape[0]) / 2
        _draw_grid(axis, torch.from_numpy(np.round(values, 2)), left, top, colours(values), cell=1.0)
        axis.text(left + values.shape[1] / 2, -0.4, label, ha="center", va="bottom", fontsize=12)
        left += values.shape[1] + gap
    for text in axis.texts:
        text.set_fontsize(9)
    axis.set_xlim(-0.2, total + 0.2)
    axis.set_ylim(height + 0.2, -1.4)
    axis.set_aspect("equal")
    axis.axis("off")
    figure.tight_layout()
    return figure
