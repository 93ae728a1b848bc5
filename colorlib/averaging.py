"""The weights a run keeps: a moving average of the weights as trained.

Adam at a constant learning rate never settles: each step moves the weights a little way
along one batch's gradient, so the weights after the last step sit somewhere in a cloud
around where the recent steps were heading, a different spot for every seed. The average
of the recent steps' weights sits nearer the cloud's centre (Polyak and Juditsky, 1992).
An exponential moving average keeps one copy of the network and costs one multiply-add
per weight and step::

    average = decay * average + (1 - decay) * weights      # after every optimizer step

so a step's weights count with weight ``(1 - decay) * decay ** age``: the average spans
about ``1 / (1 - decay)`` steps (100 for 0.99). The first update copies the weights.
Batch-norm statistics are averaged the same way. :func:`colorlib.train.train` validates,
saves (as the checkpoint's ``model``) and returns the average when the profile's
``weight_average_decay`` is above 0; the weights as trained travel beside it in ``last.pth``
(``trained_model``), so that a resumed run goes on exactly.

>>> network = nn.Linear(1, 1, bias=False)
>>> average = weight_average(network, decay=0.5)
>>> for value in (2.0, 4.0, 4.0):  # three steps' weights
...     _ = network.weight.data.fill_(value)
...     average.update_parameters(network)
>>> float(average.module.weight.detach())  # 2, then 0.5 * 2 + 0.5 * 4 = 3, then 0.5 * 3 + 0.5 * 4
3.5
"""

from __future__ import annotations

from torch import nn
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

from .checkpointing import cpu_state_dict

__all__ = ["weight_average", "averaging_entries"]


def weight_average(network: nn.Module, *, decay: float, checkpoint: dict | None = None) -> AveragedModel:
    """An exponential moving average of ``network``'s weights and buffers (a copy of it, on its device).

    Args:
        network: the network as the optimizer trains it.
        decay: each update keeps ``decay`` of the average (0 < decay < 1).
        checkpoint: a ``last.pth`` dict to resume from: its ``model`` is the average when it
            has ``averaged_steps`` (:func:`averaging_entries`); otherwise the average starts
            at the next update.

    Returns:
        A :class:`torch.optim.swa_utils.AveragedModel`: call ``update_parameters(network)``
        after every optimizer step; ``.module`` is the averaged network.

    Raises:
        ValueError: ``decay`` outside (0, 1).
    """
    if not 0 < decay < 1:
        raise ValueError(f"weight_average: expected 0 < decay < 1 (0.99, say), got {decay}")
    averaged = AveragedModel(network, multi_avg_fn=get_ema_multi_avg_fn(decay), use_buffers=True)
    if checkpoint is not None and "averaged_steps" in checkpoint:
        averaged.module.load_state_dict(checkpoint["model"])
        averaged.n_averaged.fill_(checkpoint["averaged_steps"])
    return averaged


def averaging_entries(averaged: AveragedModel, trained: nn.Module) -> dict:
    """What a checkpoint holds beside the average (its ``model``): the weights as trained
    (``trained_model``, on the CPU) and how many updates the average has had (``averaged_steps``)."""
    return {"trained_model": cpu_state_dict(trained),
            "averaged_steps": int(averaged.n_averaged)}
