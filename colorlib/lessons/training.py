"""Training on real photographs (notebook 04): constant-colour baselines and where a
training step's time goes.
"""

from __future__ import annotations

import time
from typing import Sequence

import numpy as np
import torch
from torch.utils.data import (
    DataLoader,
    Dataset,
)

from ..batches import _photo_batches, make_loader
from ..color import ab_to_target
from ..data import rgb_batch_to_lightness_ab
from ..losses import make_loss
from ..model import ColorizationNet
from ..train import _DecoderOnly, train_step

__all__ = [
    "mean_target",
    "constant_prediction_loss",
    "time_training_parts",
]


def mean_target(loader: DataLoader) -> torch.Tensor:
    """The mean training target ``(ab + 128) / 255`` over all pixels of ``loader``: float ``(2,)``.

    Predicting this constant everywhere is the best constant guess under MSE (the
    "mean ab" baseline).
    """
    total = torch.zeros(2, dtype=torch.float64)
    count = 0
    for _, ab in _photo_batches(loader, torch.device("cpu"), False, None):
        targets = ab_to_target(ab)
        total += targets.double().sum(dim=(0, 2, 3))
        count += targets[:, 0].numel()
    if count == 0:
        raise ValueError("mean_target: the loader yielded no images")
    return (total / count).float()


def constant_prediction_loss(loader: DataLoader, target: torch.Tensor | Sequence[float]) -> float:
    """MSE of predicting one constant target ``(2,)`` (ab scaled as ``(ab + 128) / 255``) for every pixel.

    ``target = ab_to_target(torch.zeros(2))`` is the "ab = 0" (gray) baseline,
    ``target = mean_target(train_loader)`` the "mean ab" one.
    """
    constant = torch.as_tensor(target, dtype=torch.float32).view(1, 2, 1, 1)
    total, count = 0.0, 0
    for _, ab in _photo_batches(loader, torch.device("cpu"), False, None):
        targets = ab_to_target(ab)
        total += float(((targets - constant) ** 2).sum(dtype=torch.float64))
        count += targets.numel()
    if count == 0:
        raise ValueError("constant_prediction_loss: the loader yielded no images")
    return total / count


def time_training_parts(model: ColorizationNet, dataset: Dataset, *, batch_size: int = 32, batches: int = 3) -> dict[str, float]:
    """Where a training step's time goes, in seconds per batch (median of ``batches``).

    Parts: ``"read and crop"`` (the data loader: decode, random crop, flip),
    ``"to Lab"`` (:func:`colorlib.data.rgb_batch_to_lightness_ab`), ``"encoder forward"``
    (frozen, no gradients) and ``"decoder step"`` (forward, MSE, backward, Adam). Storing
    the encoder's features (``cache_features``) removes all but the last from every epoch
    after the first.
    """
    loss_fn = make_loss("mse")
    optimizer = torch.optim.Adam([p for p in model.decoder.parameters()], lr=1e-4)
    decoder = _DecoderOnly(model).train()
    times: dict[str, list[float]] = {"read and crop": [], "to Lab": [], "encoder forward": [], "decoder step": []}
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        loader = iter(make_loader(dataset, batch_size, shuffle=True))
        for _ in range(batches):
            started = time.perf_counter()
            batch = next(loader)
            converted = time.perf_counter()
            lightness, ab = rgb_batch_to_lightness_ab(batch.rgb)
            encoded = time.perf_counter()
            with torch.no_grad():
                features = model.encode(lightness)
            stepped = time.perf_counter()
            train_step(decoder, features, ab, loss_fn, optimizer)
            done = time.perf_counter()
            for name, seconds in zip(times, (converted - started, encoded - converted, stepped - encoded, done - stepped)):
                times[name].append(seconds)
    return {name: float(np.median(values)) for name, values in times.items()}
