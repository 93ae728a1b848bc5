"""A training run's files: ``last.pth``, ``best.pth``, ``history.json``, and the random state they keep.

A training checkpoint is a dict of plain types and tensors, loadable with
``torch.load(weights_only=True)`` (:func:`load_checkpoint` does so and checks its
``format``); :func:`colorlib.train.train` writes it with :func:`save_run_files`: atomically,
``best.pth`` first, then ``last.pth``, then ``history.json``, so that a run killed at any
moment resumes from a consistent ``last.pth``. :class:`RunProgress` is the part of a
checkpoint that says how far the run got; :func:`rng_states` the part that makes a
resumed run draw the same random numbers as an uninterrupted one.
"""

from __future__ import annotations

import json
import os
import random
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from .files import atomic_write
from .weights import CHECKPOINT_FORMAT, safe_torch_load

__all__ = [
    "HISTORY_FORMAT",
    "LAST_CHECKPOINT",
    "BEST_CHECKPOINT",
    "HISTORY_FILE",
    "RunProgress",
    "save_checkpoint",
    "load_checkpoint",
    "save_run_files",
    "rng_states",
    "restore_rng_states",
    "cpu_state_dict",
]

#: ``format`` entry of ``history.json``.
HISTORY_FORMAT = "colorlib-history-v1"
LAST_CHECKPOINT = "last.pth"
BEST_CHECKPOINT = "best.pth"
HISTORY_FILE = "history.json"


@dataclass
class RunProgress:
    """How far a run got: what changes from epoch to epoch besides the weights.

    Attributes:
        history: one dict per completed epoch (``epoch``, ``train_loss``, ``val_loss``,
            ``images_per_s``, ``seconds``, ``lr``, ``steps``, ``train_images``).
        best_val_loss: the lowest validation loss so far (``None`` before the first epoch).
        best_epoch: the epoch that reached it.
        completed: the number of the last completed epoch (0: none).
        step: optimizer steps taken in all.
    """

    history: list[dict] = field(default_factory=list)
    best_val_loss: float | None = None
    best_epoch: int | None = None
    completed: int = 0
    step: int = 0

    @classmethod
    def from_checkpoint(cls, checkpoint: dict) -> "RunProgress":
        """The progress stored in a training checkpoint (see :meth:`entries`)."""
        return cls(list(checkpoint["history"]), checkpoint["best_val_loss"], checkpoint["best_epoch"],
                   int(checkpoint["epoch"]), int(checkpoint["step"]))

    def entries(self) -> dict:
        """The checkpoint's entries for this progress: ``epoch``, ``step``, ``history``, ``best_*``."""
        return {"epoch": self.completed, "step": self.step, "history": self.history,
                "best_val_loss": self.best_val_loss, "best_epoch": self.best_epoch}

    def record(self, entry: dict) -> bool:
        """Add a completed epoch's entry (its ``epoch`` and ``val_loss`` are read); whether it is the best so far."""
        self.history.append(entry)
        self.completed = entry["epoch"]
        if self.best_val_loss is None or entry["val_loss"] < self.best_val_loss:
            self.best_val_loss, self.best_epoch = entry["val_loss"], entry["epoch"]
            return True
        return False


def save_checkpoint(checkpoint: dict, path: str | os.PathLike) -> Path:
    """Write a checkpoint dict atomically (temporary file, then rename): never a half-written file."""
    return atomic_write(path, lambda name: torch.save(checkpoint, name))


def load_checkpoint(path: str | os.PathLike) -> dict:
    """A colorlib training checkpoint, loaded the safe way (``weights_only``).

    Raises:
        ValueError: not a colorlib training checkpoint.
    """
    checkpoint = safe_torch_load(path)
    if not isinstance(checkpoint, dict) or checkpoint.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(f"{os.fspath(path)} is not a colorlib training checkpoint")
    return checkpoint


def save_run_files(out: str | os.PathLike, checkpoint: dict, history: dict, *, best: bool) -> None:
    """Write an epoch's files into ``out``: ``best.pth`` (when ``best``), ``last.pth``, ``history.json``.

    The order matters for a SIGKILL: killed in between, ``last.pth`` still describes the
    previous epoch, a resume runs this one again identically and writes the same files.

    Args:
        out: the run's folder (existing).
        checkpoint: the training checkpoint (``format`` :data:`~colorlib.weights.CHECKPOINT_FORMAT`).
        history: the JSON document of ``history.json`` (``format`` :data:`HISTORY_FORMAT`).
        best: whether this epoch has the lowest validation loss so far.
    """
    out = Path(out)
    if best:
        save_checkpoint(checkpoint, out / BEST_CHECKPOINT)
    save_checkpoint(checkpoint, out / LAST_CHECKPOINT)
    text = json.dumps(history, indent=2) + "\n"
    atomic_write(out / HISTORY_FILE, lambda name: Path(name).write_text(text, encoding="utf-8"))


def cpu_state_dict(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    """``module``'s state dict as a checkpoint stores it: every tensor detached and copied to
    the CPU, so that later steps do not change what was saved and any machine can load it.

    >>> weights = cpu_state_dict(torch.nn.Linear(2, 1))
    >>> sorted(weights), weights["weight"].device.type, weights["weight"].requires_grad
    (['bias', 'weight'], 'cpu', False)
    """
    return {key: value.detach().to("cpu", copy=True) for key, value in module.state_dict().items()}


def rng_states() -> dict:
    """The global random generators' states (torch, CUDA, numpy, Python) as tensors and
    plain types: a checkpoint's ``rng`` entry, loadable with ``weights_only``."""
    numpy_state = np.random.get_state()
    python_state = random.getstate()
    return {
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "numpy": {
            "keys": torch.from_numpy(numpy_state[1].astype(np.int64)),
            "position": int(numpy_state[2]),
            "has_gauss": int(numpy_state[3]),
            "cached_gaussian": float(numpy_state[4]),
        },
        "python": [python_state[0], list(python_state[1]), python_state[2]],
    }


def restore_rng_states(states: dict) -> None:
    """Set the global random generators to :func:`rng_states`' ``states`` (CUDA's only when
    this machine has the same number of GPUs)."""
    torch.set_rng_state(states["torch"])
    if states.get("cuda") and torch.cuda.is_available() and len(states["cuda"]) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(states["cuda"])
    numpy_state = states["numpy"]
    np.random.set_state(
        ("MT19937", numpy_state["keys"].numpy().astype(np.uint32), numpy_state["position"],
         numpy_state["has_gauss"], numpy_state["cached_gaussian"])
    )
    version, internal, gauss = states["python"]
    random.setstate((version, tuple(internal), gauss))
