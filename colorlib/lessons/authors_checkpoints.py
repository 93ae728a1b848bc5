"""What the authors' released checkpoint files contain: checkpoint forensics (appendix A1).

Each file is opened the safe way (:func:`colorlib.weights.load_authors_module`: an
allow-list, no pickle code runs). :func:`describe_checkpoint` lists what one file holds;
:func:`compare_checkpoints` compares the files tensor by tensor (they differ only in
their batch-norm running statistics); :func:`module_tree` outlines a module.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import torch
from torch import nn

from ..weights import load_authors_module
from .layers import ParameterCounts, describe_module, parameter_counts

__all__ = [
    "CheckpointFacts",
    "describe_checkpoint",
    "module_tree",
    "TensorDifference",
    "compare_checkpoints",
]


@dataclass(frozen=True)
class CheckpointFacts:
    """Facts read from one of the authors' checkpoint files (loaded the safe way).

    Attributes:
        file_name: the file's name (no folder).
        pickled_globals: the classes the pickle refers to, read without unpickling.
        children: the module's top-level attributes and their classes.
        counts: trainable / frozen parameters and float buffers, as stored.
        conv1_in_channels: the ``in_channels`` attribute stored with the first convolution.
        conv1_weight_shape: the shape of its weight.
        batches_tracked: the batch-norm ``num_batches_tracked`` counters (one value if
            all agree).
        upsample_modes: the ``mode`` of every ``nn.Upsample``.
    """

    file_name: str
    pickled_globals: tuple[str, ...]
    children: tuple[tuple[str, str], ...]
    counts: ParameterCounts
    conv1_in_channels: int
    conv1_weight_shape: tuple[int, ...]
    batches_tracked: tuple[int, ...]
    upsample_modes: tuple[str, ...]


def describe_checkpoint(path: str | os.PathLike) -> CheckpointFacts:
    """Open one of the authors' ``model*.pth`` files safely and report what it holds.

    The pickle's global names are listed with
    ``torch.serialization.get_unsafe_globals_in_checkpoint`` (no unpickling; PyTorch 2.5 or
    later, as :func:`colorlib.weights.safe_torch_load` needs anyway); the module
    itself comes from :func:`colorlib.weights.load_authors_module` (allow-list, no code
    from the file runs).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"describe_checkpoint: no file {path.name}")
    globals_ = tuple(sorted(torch.serialization.get_unsafe_globals_in_checkpoint(path)))
    module = load_authors_module(path)
    first_conv = next(m for m in module.modules() if isinstance(m, nn.Conv2d))
    counters = sorted({int(b) for name, b in module.named_buffers() if name.endswith("num_batches_tracked")})
    return CheckpointFacts(
        file_name=path.name,
        pickled_globals=globals_,
        children=tuple((name, type(child).__name__) for name, child in module.named_children()),
        counts=parameter_counts(module),
        conv1_in_channels=first_conv.in_channels,
        conv1_weight_shape=tuple(first_conv.weight.shape),
        batches_tracked=tuple(counters),
        upsample_modes=tuple(m.mode for m in module.modules() if isinstance(m, nn.Upsample)),
    )


def module_tree(module: nn.Module, *, max_depth: int = 2) -> str:
    """A compact outline of a module: one line per sub-module down to ``max_depth``,
    with its parameter count (``midlevel_resnet.4  Sequential  147,968``)."""
    lines = []
    for name, child in module.named_modules():
        depth = 0 if not name else name.count(".") + 1
        if depth == 0 or depth > max_depth:
            continue
        count = sum(p.numel() for p in child.parameters())
        label = describe_module(child) if depth == max_depth else type(child).__name__
        lines.append(f"{'  ' * (depth - 1)}{name:<{24 - 2 * (depth - 1)}}{label:<40}{count:>9,}")
    return "\n".join(lines)


@dataclass(frozen=True)
class TensorDifference:
    """One entry of the checkpoints' state dicts compared across files.

    Attributes:
        name: the state-dict key (``"upsample.1.running_mean"``).
        kind: ``"parameter"`` or ``"buffer"``.
        identical: bit-identical in every file.
        max_abs_difference: the largest absolute difference to the first file.
    """

    name: str
    kind: str
    identical: bool
    max_abs_difference: float


def compare_checkpoints(paths: Sequence[str | os.PathLike]) -> list[TensorDifference]:
    """Compare the authors' checkpoint files tensor by tensor (each loaded the safe way).

    Returns:
        One :class:`TensorDifference` per state-dict entry, in state-dict order.

    Raises:
        ValueError: fewer than two files, or files whose entries differ in name or shape.
    """
    if len(paths) < 2:
        raise ValueError("compare_checkpoints: expected at least two checkpoint files")
    modules = [load_authors_module(path) for path in paths]
    states = [module.state_dict() for module in modules]
    parameter_names = {name for name, _ in modules[0].named_parameters()}
    first = states[0]
    for path, state in zip(paths[1:], states[1:]):
        if list(state) != list(first) or any(state[k].shape != first[k].shape for k in first):
            raise ValueError(f"compare_checkpoints: {Path(path).name} does not have the same tensors as {Path(paths[0]).name}")
    rows = []
    for name, reference in first.items():
        others = [state[name] for state in states[1:]]
        identical = all(torch.equal(reference, other) for other in others)
        difference = max(float((other.double() - reference.double()).abs().max()) for other in others)
        rows.append(TensorDifference(name, "parameter" if name in parameter_names else "buffer", identical, difference))
    return rows
