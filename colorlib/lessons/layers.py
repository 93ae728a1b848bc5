"""Describing layers and counting parameters (notebooks 02 and 03, and appendix A1).
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

__all__ = [
    "pair",
    "kernel_text",
    "describe_module",
    "ParameterCounts",
    "parameter_counts",
]


def pair(value) -> tuple[int, int]:
    """``3 -> (3, 3)``; a pair stays a pair (PyTorch's ``kernel_size``, ``stride``, ...)."""
    return tuple(value) if isinstance(value, (tuple, list)) else (value, value)


def kernel_text(module: nn.Module) -> str:
    """``"3x3"``: a convolution's or pooling's kernel size."""
    height, width = pair(module.kernel_size)
    return f"{height}x{width}"


def describe_module(module: nn.Module) -> str:
    """One short line for a layer: ``"Conv2d(128->64, 3x3, stride 1)"``, ``"Upsample(x2, nearest)"``."""
    if isinstance(module, nn.Conv2d):
        return f"Conv2d({module.in_channels}->{module.out_channels}, {kernel_text(module)}, stride {pair(module.stride)[0]})"
    if isinstance(module, nn.BatchNorm2d):
        return f"BatchNorm2d({module.num_features})"
    if isinstance(module, nn.Upsample):
        return f"Upsample(x{module.scale_factor:g}, {module.mode})"
    if isinstance(module, nn.MaxPool2d):
        return f"MaxPool2d({kernel_text(module)}, stride {pair(module.stride)[0]})"
    if isinstance(module, nn.Sequential):
        return f"{len(module)} x {type(module[0]).__name__}"
    return type(module).__name__


@dataclass(frozen=True)
class ParameterCounts:
    """Numbers of values in a module.

    Attributes:
        trainable: parameter values with ``requires_grad`` (what the optimiser changes).
        frozen: parameter values without ``requires_grad``.
        float_buffers: floating-point buffer values (batch-norm running means and
            variances; integer counters such as ``num_batches_tracked`` are left out).
    """

    trainable: int
    frozen: int
    float_buffers: int

    @property
    def parameters(self) -> int:
        """All parameter values, trainable or frozen."""
        return self.trainable + self.frozen

    @property
    def float_values(self) -> int:
        """Parameters plus floating-point buffers: every float stored in a checkpoint."""
        return self.parameters + self.float_buffers


def parameter_counts(module: nn.Module) -> ParameterCounts:
    """Count a module's trainable and frozen parameters and its float buffers."""
    if not isinstance(module, nn.Module):
        raise ValueError(f"parameter_counts: expected an nn.Module, got {type(module).__name__}")
    trainable = sum(p.numel() for p in module.parameters() if p.requires_grad)
    frozen = sum(p.numel() for p in module.parameters() if not p.requires_grad)
    buffers = sum(b.numel() for b in module.buffers() if b.is_floating_point())
    return ParameterCounts(trainable, frozen, buffers)
