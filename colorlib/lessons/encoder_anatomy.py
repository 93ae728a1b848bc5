"""The encoder taken apart (notebook 02): the paper's Figure 2 table rebuilt from the live
network, Figures 3 and 4 on numeric grids, feature maps, receptive fields, and the
feature-map browser with its static twin.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from functools import lru_cache
from typing import Sequence

import ipywidgets as widgets
import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, Rectangle
from torch import nn
from torchvision.models import resnet18

from ..model import ENCODER_CHILDREN, eval_mode
from .layers import describe_module, kernel_text, pair
from .plot import png_bytes

__all__ = [
    "encoder_layer_names",
    "LayerRow",
    "layer_table",
    "format_layer_table",
    "draw_layer_table",
    "MAX_POOL_EXAMPLE",
    "max_pool_example",
    "upsample_example",
    "draw_max_pool",
    "draw_upsample",
    "ShapeRow",
    "trace_shapes",
    "format_shape_trace",
    "encoder_feature_maps",
    "draw_feature_maps",
    "receptive_fields",
    "FeatureMapChannel",
    "FeatureMapBrowser",
    "draw_feature_map_browser",
]


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


def layer_table(model: nn.Module | None = None, *, input_size: int = 224) -> list[LayerRow]:
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
    try:
        with eval_mode(model), torch.no_grad():
            device = next(model.parameters()).device
            logits = model(torch.zeros(1, model.conv1.in_channels, input_size, input_size, device=device))
    finally:
        for handle in handles:
            handle.remove()

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


def draw_layer_table(rows: Sequence[LayerRow], *, title: str | None = None) -> Figure:
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
        color = "#cde8c8" if row.kept else ("#eef3fb" if row.name == "input" else "white")
        cells = (row.name, row.output_size, "\n".join(row.operations) or "-", "\n".join(row.modules) or "-")
        for (_, left, span), text in zip(columns, cells):
            axis.add_patch(Rectangle((left, top), span, height, facecolor=color, edgecolor="black", lw=0.6))
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


#: The 4x4 example of notebook 02 (hand-worked result of a 2x2 max pool, stride 2:
#: ``[[8, 5], [9, 7]]``).
MAX_POOL_EXAMPLE = ((3, 1, 0, 2), (4, 8, 5, 1), (2, 0, 7, 6), (1, 9, 3, 4))


_WINDOW_COLORS = ("#f6c8c8", "#c8daf6", "#cdeccd", "#f8e3b8", "#e2cdf2", "#c9eef0", "#f3d1e6", "#dfe6c3", "#d7d7d7")


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


def upsample_example(values=((3,),), *, scale_factor: int = 2, mode: str = "nearest") -> tuple[torch.Tensor, torch.Tensor]:
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


def _draw_grid(axis, grid: torch.Tensor, left: float, top: float, colors, bold=None, cell: float = 1.0) -> None:
    rows, columns = grid.shape
    for r in range(rows):
        for c in range(columns):
            strong = bold is not None and bool(bold[r][c])
            axis.add_patch(Rectangle((left + c * cell, top + r * cell), cell, cell, facecolor=colors[r][c],
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
    window_color = [[_WINDOW_COLORS[((r // 2) * (columns // 2) + c // 2) % len(_WINDOW_COLORS)]
                      for c in range(columns)] for r in range(rows)]
    winner_set = {int(i) for i in winners.flatten()}
    bold = [[r * columns + c in winner_set for c in range(columns)] for r in range(rows)]
    pooled_color = [[window_color[2 * r][2 * c] for c in range(columns // 2)] for r in range(rows // 2)]
    gap = 2.5
    figure, axis = plt.subplots(figsize=(0.9 * (columns + gap + columns / 2) + 0.4, 0.9 * rows + 0.9))
    _draw_grid(axis, grid, 0, 0, window_color, bold)
    offset = (rows - rows / 2) / 2
    _draw_grid(axis, pooled, columns + gap, offset, pooled_color, [[True] * (columns // 2)] * (rows // 2))
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


def draw_upsample(examples: Sequence[tuple[torch.Tensor, torch.Tensor]], *, label: str = "nn.Upsample(scale_factor=2)") -> Figure:
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
        colors = [[_WINDOW_COLORS[(r * columns + c) % len(_WINDOW_COLORS)] for c in range(columns)] for r in range(rows)]
        big_colors = [[colors[r // scale][c // scale] for c in range(upsampled.shape[1])] for r in range(upsampled.shape[0])]
        top = (height - rows) / 2
        _draw_grid(axis, grid, left, top, colors)
        axis.text(left + columns / 2, top + rows + 0.4, f"{rows}x{columns}", ha="center", va="top", fontsize=11)
        right = left + columns + gap
        _arrow(axis, (left + columns + 0.25, height / 2), (right - 0.25, height / 2), label.replace("(", "(\n", 1) if len(label) > 20 else label)
        top_big = (height - upsampled.shape[0]) / 2
        _draw_grid(axis, upsampled, right, top_big, big_colors)
        axis.text(right + upsampled.shape[1] / 2, top_big + upsampled.shape[0] + 0.4,
                  f"{upsampled.shape[0]}x{upsampled.shape[1]}", ha="center", va="top", fontsize=11)
        left = right + upsampled.shape[1] + spacing
    axis.set_xlim(-0.2, left - spacing + 0.2)
    axis.set_ylim(height + 1.0, -1.2)
    axis.set_aspect("equal")
    axis.axis("off")
    figure.tight_layout()
    return figure


@dataclass(frozen=True)
class ShapeRow:
    """One layer of a traced ``nn.Sequential``: its name, what it is, its output shape (C, H, W)."""

    name: str
    layer: str
    output_shape: tuple[int, ...]


def trace_shapes(sequential: nn.Sequential, inputs: torch.Tensor, *, names: Sequence[str] | None = None) -> list[ShapeRow]:
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


def draw_feature_maps(image: np.ndarray, maps: dict[str, torch.Tensor], *, channels: int = 4, title: str | None = None) -> Figure:
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


@dataclass(frozen=True)
class FeatureMapChannel:
    """One channel of one feature map, as :class:`FeatureMapBrowser` describes it.

    Attributes:
        layer: the layer's name (``"layer2"``).
        channel: the channel's index, 0..channels - 1.
        channels, height, width: the layer's output shape (C, h, w).
        minimum, maximum: the channel's smallest and largest value.
        active_share: the share of its h x w positions with a value above 0, 0..1.
        activity_rank: 1 for the layer's most active channel (largest ``active_share``),
            ``channels`` for the least active.
    """

    layer: str
    channel: int
    channels: int
    height: int
    width: int
    minimum: float
    maximum: float
    active_share: float
    activity_rank: int


class FeatureMapBrowser(widgets.VBox):
    """Browse the encoder's feature maps: a layer menu and a channel slider.

    Shows the network's input beside one channel of one layer's output, drawn with
    the ``magma`` colour map on the channel's own scale (black = its minimum, light
    yellow = its maximum), and a line with the channel's measures
    (:class:`FeatureMapChannel`). Static twin: :func:`draw_feature_map_browser`.

    Args:
        maps: ``{layer name: feature map (C, h, w)}`` (tensors or arrays), e.g.
            :func:`colorlib.lessons.encoder_anatomy.encoder_feature_maps`.
        lightness: the input, ``L`` (H, W) in 0..100, shown beside the map.
        display_size: about how many pixels wide each picture is shown (maps are
            enlarged by whole factors, pixel by pixel).

    Attributes:
        layer_menu: ``Dropdown`` of the layer names.
        channel_slider: ``IntSlider`` 0..C - 1 (its maximum follows the layer).
        input_image, image: the ``Image`` widgets (input, chosen channel).
        summary: an ``HTML`` line with the channel's measures.
        channel: the :class:`FeatureMapChannel` on display.
    """

    def __init__(self, maps: dict, lightness: np.ndarray, display_size: int = 224) -> None:
        if not isinstance(maps, dict) or not maps:
            raise ValueError("FeatureMapBrowser: expected maps as a non-empty {layer name: (C, h, w)} dict")
        self.maps: dict[str, np.ndarray] = {}
        for name, feature_map in maps.items():
            array = np.asarray(feature_map.detach().cpu() if isinstance(feature_map, torch.Tensor) else feature_map)
            if array.ndim != 3 or 0 in array.shape or not np.issubdtype(array.dtype, np.floating):
                raise ValueError(
                    f"FeatureMapBrowser: expected {name!r} as a float feature map (C, h, w), "
                    f"got {array.dtype} shape {array.shape}"
                )
            self.maps[str(name)] = array
        lightness = np.asarray(lightness)
        if lightness.ndim != 2 or not np.issubdtype(lightness.dtype, np.number):
            raise ValueError(f"FeatureMapBrowser: expected lightness L as an (H, W) array in 0..100, got shape {lightness.shape}")
        if isinstance(display_size, bool) or not isinstance(display_size, (int, np.integer)) or display_size < 1:
            raise ValueError(f"FeatureMapBrowser: expected display_size as a positive number of pixels, got {display_size!r}")
        self.lightness = lightness
        self.display_size = int(display_size)
        first = next(iter(self.maps))
        self.layer_menu = widgets.Dropdown(options=list(self.maps), value=first, description="layer")
        self.channel_slider = widgets.IntSlider(
            value=0, min=0, max=self.maps[first].shape[0] - 1, description="channel",
            layout=widgets.Layout(width="420px"),
        )
        gray = np.round(np.clip(lightness, 0.0, 100.0) * 2.55).astype(np.uint8)
        self.input_image = widgets.Image(
            value=png_bytes(np.repeat(gray[..., None], 3, axis=-1), scale=max(1, round(self.display_size / gray.shape[1]))),
            format="png",
        )
        self.image = widgets.Image(format="png")
        self.summary = widgets.HTML()
        super().__init__(children=[
            widgets.HBox([self.layer_menu, self.channel_slider]),
            widgets.HBox([self.input_image, self.image]),
            self.summary,
        ])
        self.layer_menu.observe(self._layer_changed, names="value")
        self.channel_slider.observe(self._update, names="value")
        self._update()

    def _check(self, layer: str, channel: int) -> np.ndarray:
        if layer not in self.maps:
            raise ValueError(f"FeatureMapBrowser: unknown layer {layer!r}; expected one of {', '.join(self.maps)}")
        channels = self.maps[layer].shape[0]
        if isinstance(channel, bool) or not isinstance(channel, (int, np.integer)) or not 0 <= channel < channels:
            raise ValueError(f"FeatureMapBrowser: expected a channel in 0..{channels - 1} for {layer}, got {channel!r}")
        return self.maps[layer][channel]

    def channels_by_activity(self, layer: str) -> list[int]:
        """The layer's channels, most active first (share of positions above 0; ties by index)."""
        self._check(layer, 0)
        shares = (self.maps[layer] > 0).mean(axis=(1, 2))
        return [int(c) for c in np.lexsort((np.arange(len(shares)), -shares))]

    def describe(self, layer: str, channel: int) -> FeatureMapChannel:
        """The measures of ``channel`` of ``layer`` (see :class:`FeatureMapChannel`)."""
        values = self._check(layer, channel)
        channels, height, width = self.maps[layer].shape
        return FeatureMapChannel(
            layer=layer, channel=int(channel), channels=channels, height=height, width=width,
            minimum=float(values.min()), maximum=float(values.max()),
            active_share=float((values > 0).mean()),
            activity_rank=self.channels_by_activity(layer).index(int(channel)) + 1,
        )

    def view(self, layer: str, channel: int) -> np.ndarray:
        """The picture of one channel: uint8 RGB (h, w, 3), ``magma`` from its minimum to its maximum.

        A constant channel (all zeros after a ReLU, say) is drawn black.
        """
        values = self._check(layer, channel).astype(np.float64)
        low, high = values.min(), values.max()
        scaled = (values - low) / (high - low) if high > low else np.zeros_like(values)
        return np.round(matplotlib.colormaps["magma"](scaled)[..., :3] * 255).astype(np.uint8)

    def show(self, layer: str, channel: int) -> FeatureMapChannel:
        """Set the menu and the slider (as a reader would) and return what is on display."""
        self._check(layer, channel)
        self.layer_menu.value = layer
        self.channel_slider.value = channel
        return self.channel

    def _layer_changed(self, change: dict | None = None) -> None:
        channels = self.maps[self.layer_menu.value].shape[0]
        if self.channel_slider.value > channels - 1:
            self.channel_slider.value = channels - 1  # before the maximum shrinks: one redraw
        self.channel_slider.max = channels - 1
        self._update()

    def _update(self, change: dict | None = None) -> None:
        layer, channel = self.layer_menu.value, self.channel_slider.value
        self.channel = facts = self.describe(layer, channel)
        self.image.value = png_bytes(self.view(layer, channel), scale=max(1, round(self.display_size / facts.width)))
        text = (
            f"{layer}: {facts.channels} channels of {facts.height} x {facts.width}; channel {channel}: "
            f"values {facts.minimum:.2f} .. {facts.maximum:.2f}, above 0 at {100 * facts.active_share:.0f}% "
            f"of positions (rank {facts.activity_rank} of {facts.channels} by activity)"
        )
        self.summary.value = f'<span style="font-family:monospace">{html.escape(text)}</span>'


def draw_feature_map_browser(browser: FeatureMapBrowser, *, layers: Sequence[str] | None = None) -> Figure:
    """The static twin of :class:`FeatureMapBrowser`: three settings of the slider per layer.

    For each layer, the pictures the browser shows for its most active channel, a
    median one and its least active one (by the share of positions above 0), each
    titled with that share; the input is in the first column.

    Args:
        browser: the browser (its maps and input).
        layers: the layers to show, one row each (default: all of the browser's).
    """
    layers = list(browser.maps) if layers is None else list(layers)
    if not layers:
        raise ValueError("draw_feature_map_browser: expected at least one layer name")
    figure, axes = plt.subplots(len(layers), 4, figsize=(9.6, 2.55 * len(layers)), squeeze=False)
    for row, layer in enumerate(layers):
        order = browser.channels_by_activity(layer)
        picks = (("most active", order[0]), ("median", order[len(order) // 2]), ("least active", order[-1]))
        axes[row, 0].axis("off")
        if row == 0:
            axes[0, 0].imshow(browser.lightness, cmap="gray", vmin=0, vmax=100)
            axes[0, 0].set_title(f"input L {browser.lightness.shape[0]}x{browser.lightness.shape[1]}", fontsize=9)
        for column, (label, channel) in enumerate(picks, start=1):
            facts = browser.describe(layer, channel)
            axis = axes[row, column]
            axis.imshow(browser.view(layer, channel), interpolation="nearest")
            axis.set_title(f"ch {channel}, {label}: >0 at {100 * facts.active_share:.0f}%", fontsize=9)
            axis.set_xticks([])
            axis.set_yticks([])
        shape = browser.maps[layer].shape
        axes[row, 1].set_ylabel(f"{layer}\n{shape[1]}x{shape[2]}x{shape[0]}", fontsize=10, fontweight="bold")
    figure.suptitle("Feature maps, each channel on its own scale (magma: black = its minimum)", fontsize=11)
    figure.tight_layout()
    return figure


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
