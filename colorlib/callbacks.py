"""What watches a training run: progress bars, log lines, the divergence check (fastai-style callbacks).

:func:`colorlib.train.train` calls every hook of each :class:`Callback` in its list at
fixed points of the loop; a hook gets plain numbers (the epoch, the steps so far, a loss,
the epoch's history entry) and, in ``begin_run``, the run itself (attributes
``config``, ``progress``: a :class:`~colorlib.checkpointing.RunProgress`, ``out``,
``train_loader``). A callback stops the run by raising.
"""

from __future__ import annotations

import math
from typing import Any, Callable

from tqdm.auto import tqdm

from .checkpointing import LAST_CHECKPOINT

__all__ = ["TrainingDivergedError", "Callback", "ProgressBars", "LogLines", "StopOnDivergence"]


class TrainingDivergedError(RuntimeError):
    """The loss became NaN or infinite; the last good checkpoint was left untouched."""


class Callback:
    """What watches the loop (fastai-style): each hook does nothing unless overridden.

    Hooks run in this order: ``begin_run`` once; per epoch ``begin_epoch``, ``after_step``
    after every optimizer step, ``after_loss`` for the epoch's training loss and then
    its validation loss (reduced over all processes), ``after_epoch`` once the epoch's
    files are written; ``end_run`` once the loop is over.
    """

    def begin_run(self, run: Any) -> None: ...
    def begin_epoch(self, epoch: int) -> None: ...
    def after_step(self, epoch: int, steps: int, mean_loss: float) -> None: ...
    def after_loss(self, epoch: int, loss: float) -> None: ...
    def after_epoch(self, entry: dict) -> None: ...
    def end_run(self) -> None: ...


class ProgressBars(Callback):
    """tqdm bars: one over the epochs, one over each epoch's batches with the mean loss so far."""

    def __init__(self, *, every: int) -> None:
        self.every, self.steps_per_epoch, self.epochs, self.batches = every, 0, None, None

    def begin_run(self, run: Any) -> None:
        self.steps_per_epoch = len(run.train_loader)
        self.epochs = tqdm(desc="epochs", initial=run.progress.completed, total=run.config.epochs)

    def begin_epoch(self, epoch: int) -> None:
        self.batches = tqdm(desc=f"epoch {epoch}", total=self.steps_per_epoch, leave=False)

    def after_step(self, epoch: int, steps: int, mean_loss: float) -> None:
        self.batches.update(1)
        if steps % self.every == 0:
            self.batches.set_postfix(loss=f"{mean_loss:.5f}")

    def after_epoch(self, entry: dict) -> None:
        self.batches.close()
        self.epochs.update(1)

    def end_run(self) -> None:
        self.epochs.close()


class LogLines(Callback):
    """``log`` a line when resuming and one per epoch (losses, images/s, seconds)."""

    def __init__(self, log: Callable[[str], None], *, epochs: int) -> None:
        self.log, self.epochs = log, epochs

    def begin_run(self, run: Any) -> None:
        if run.progress.completed:
            self.log(f"resuming after epoch {run.progress.completed} (step {run.progress.step})")

    def after_epoch(self, entry: dict) -> None:
        self.log(f"epoch {entry['epoch']:3d}/{self.epochs}: train loss {entry['train_loss']:.5f}, validation loss "
                 f"{entry['val_loss']:.5f}, {entry['images_per_s']:.0f} images/s, {entry['seconds']:.1f} s")


class StopOnDivergence(Callback):
    """Raise :class:`TrainingDivergedError` as soon as a loss is NaN or infinite, before
    anything of the epoch is saved. The running mean is checked every ``every`` steps in
    a single process (under DDP the processes decide together, on the reduced losses)."""

    def __init__(self, *, every: int, single_process: bool) -> None:
        self.every, self.single_process, self.run = every, single_process, None

    def begin_run(self, run: Any) -> None:
        self.run = run

    def after_step(self, epoch: int, steps: int, mean_loss: float) -> None:
        if self.single_process and steps % self.every == 0 and not math.isfinite(mean_loss):
            self._stop(epoch, self.run.progress.step + steps)

    def after_loss(self, epoch: int, loss: float) -> None:
        if not math.isfinite(loss):
            self._stop(epoch, self.run.progress.step)

    def _stop(self, epoch: int, step: int) -> None:
        completed = self.run.progress.completed
        kept = (f"the last good checkpoint, after epoch {completed}, is {self.run.out / LAST_CHECKPOINT}"
                if completed else "no checkpoint was written yet")
        raise TrainingDivergedError(
            f"training stopped: the loss became NaN or infinite in epoch {epoch} (step {step}); {kept}. "
            "Lower the learning rate (--learning-rate) and resume (--resume)."
        )
