"""Where training runs: the device of this process and, under ``torchrun``, the process group.

:func:`choose_device` picks the device (a CUDA GPU per process under ``torchrun``, Apple's
MPS, or the CPU). :func:`start_process_group` joins ``torchrun``'s group when
``WORLD_SIZE`` > 1 (NCCL on GPUs, Gloo on CPUs). The collective helpers
(:func:`global_mean`, :func:`broadcast_buffers`, :func:`gather_objects`, :func:`barrier`)
do the plain single-process thing when no group is running, so the training loop calls
them unconditionally.
"""

from __future__ import annotations

import os
from typing import Any

import torch
import torch.distributed as dist
from torch import nn

__all__ = [
    "choose_device",
    "start_process_group",
    "is_distributed",
    "global_mean",
    "broadcast_buffers",
    "gather_objects",
    "barrier",
]

_DEVICE_CHOICES = "'auto', 'cpu', 'cuda', 'cuda:N' or 'mps'"


def _local_gpu() -> torch.device:
    """The CUDA GPU of this process: ``LOCAL_RANK`` (0 outside torchrun) modulo the GPU count."""
    return torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)) % torch.cuda.device_count())


def choose_device(preference: str = "auto") -> torch.device:
    """The device to train on.

    Args:
        preference: ``"auto"``: the CUDA GPU of this process (``LOCAL_RANK`` under
            torchrun, modulo the number of GPUs) if any, else Apple's MPS, else the CPU;
            ``"cuda"`` (without an index): the GPU of this process likewise; or any
            device torch knows (``"cpu"``, ``"cuda:1"``, ``"mps"``).

    Returns:
        A ``torch.device``; a CUDA device always carries its index.

    Raises:
        ValueError: a name torch does not know, or CUDA on a machine without a CUDA GPU.
    """
    if preference == "auto":
        if torch.cuda.is_available():
            return _local_gpu()
        mps = getattr(torch.backends, "mps", None)
        return torch.device("mps") if mps is not None and mps.is_available() else torch.device("cpu")
    try:
        device = torch.device(preference)
    except RuntimeError as error:
        raise ValueError(f"device: expected {_DEVICE_CHOICES}, got {preference!r}") from error
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError("device: 'cuda' was asked for but torch sees no CUDA GPU (use --device auto or cpu)")
    return _local_gpu() if device.type == "cuda" and device.index is None else device


def start_process_group(device: torch.device) -> tuple[int, int, bool]:
    """Join torchrun's process group when ``WORLD_SIZE`` > 1.

    Returns:
        ``(rank, world size, started)``: ``(0, 1, False)`` for a single process;
        ``started`` is true when this call created the group (the caller then destroys it
        with ``torch.distributed.destroy_process_group``).
    """
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return 0, 1, False
    if dist.is_initialized():
        return dist.get_rank(), dist.get_world_size(), False
    if device.type == "cuda":
        torch.cuda.set_device(device)
    dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    return dist.get_rank(), dist.get_world_size(), True


def is_distributed() -> bool:
    """Whether a process group is running."""
    return dist.is_available() and dist.is_initialized()


def global_mean(total: float, count: int, device: torch.device) -> tuple[float, int]:
    """The mean over all processes of a quantity summed to ``total`` over ``count`` items here.

    Args:
        total: this process's sum (a mean loss times its number of images, say).
        count: the number of items summed here (0 allowed).
        device: where the all-reduce runs (the training device: NCCL needs the GPU).

    Returns:
        ``(sum of totals / sum of counts, sum of counts)`` in float64 arithmetic; the mean
        is NaN when no process had an item.
    """
    sums = torch.tensor([total if count else 0.0, count], dtype=torch.float64, device=device)
    if is_distributed():
        dist.all_reduce(sums)
    all_items = int(sums[1])
    return (float(sums[0] / sums[1]) if all_items else float("nan")), all_items


def broadcast_buffers(module: nn.Module, *, source: int = 0) -> None:
    """Copy process ``source``'s buffers (batch-norm running statistics) into every process's ``module``."""
    if is_distributed():
        for buffer in module.buffers():
            dist.broadcast(buffer, src=source)


def gather_objects(item: Any) -> list[Any]:
    """Every process's ``item`` (picklable), in rank order; ``[item]`` for a single process."""
    if not is_distributed():
        return [item]
    gathered: list[Any] = [None] * dist.get_world_size()
    dist.all_gather_object(gathered, item)
    return gathered


def barrier() -> None:
    """Wait for every process (nothing to wait for in a single process)."""
    if is_distributed():
        dist.barrier()
