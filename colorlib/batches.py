"""Training batches: loaders of photo crops, photos as ``(L / 100, ab)``, stored encoder features.

:func:`make_loader` gives batches of uint8 crops (:class:`colorlib.data.CropBatch`);
``_photo_batches`` turns them into ``(L / 100, ab)`` pairs on the training device and
notes the files it had to skip (``_SkipLog``: grayscale photos have no color to learn,
unreadable files are named in one warning). With a frozen encoder,
:func:`encode_photos` computes the encoder's features once and ``_tensor_batches``
serves them instead of photos. ``_hinted_batches`` adds simulated colour hints to each
batch's inputs, for a network that takes them. :func:`epoch_order` is the order in which
an epoch visits the training items.
"""

from __future__ import annotations

import warnings
from typing import Callable, Iterator, Sequence

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, TensorDataset

from .data import CropBatch, collate_crops, rgb_batch_to_lightness_ab
from .distributed import gather_objects
from .hints import simulated_hint_maps
from .model import ColorizationNet

__all__ = ["make_loader", "epoch_order", "encode_photos"]

Batch = tuple[torch.Tensor, torch.Tensor]


def make_loader(
    dataset: Dataset,
    batch_size: int,
    *,
    shuffle: bool = False,
    seed: int = 0,
    num_workers: int = 0,
    pin_memory: bool = False,
    sampler: torch.utils.data.Sampler | None = None,
    drop_last: bool = False,
    collate_fn: Callable | None = collate_crops,
) -> DataLoader:
    """A DataLoader of :class:`colorlib.data.CropBatch` es (uint8 crops ``(N, H, W, 3)``) with
    colorlib's collate (``collate_fn=None``: torch's default, for a ``TensorDataset`` of
    stored features).

    ``shuffle`` draws the order from a generator seeded with ``seed`` (ignored with a
    ``sampler``); workers are kept alive between epochs and prefetch batches.
    """
    generator = torch.Generator().manual_seed(seed)
    extra = {"persistent_workers": True, "prefetch_factor": 4} if num_workers > 0 else {}
    return DataLoader(
        dataset,
        batch_size=batch_size,
        shuffle=shuffle if sampler is None else False,
        sampler=sampler,
        num_workers=num_workers,
        collate_fn=collate_fn,
        pin_memory=pin_memory,
        drop_last=drop_last,
        generator=generator,
        **extra,
    )


def epoch_order(size: int, *, seed: int, epoch: int) -> torch.Tensor:
    """The order in which :func:`colorlib.train.train` visits the training set in ``epoch`` (one process).

    A fresh permutation every epoch, drawn from a generator seeded with ``seed + epoch``:
    what the run's sampler (torch's ``DistributedSampler(shuffle=True, seed=seed)`` after
    ``set_epoch(epoch)``) draws, written out so that a loop of one's own (lesson 04) can
    visit the stored crops in the library's order. Epochs count from 1. Under DDP each
    process takes every ``world``-th index of this order (padded to a multiple of ``world``).

    Args:
        size: the number of training items (stored crops, or photos), at least 1.
        seed: the run's seed (``TrainConfig.seed``), 0 or more.
        epoch: the epoch, 1 for the first.

    Returns:
        int64 ``(size,)``: a permutation of ``0 .. size - 1``, the same for the same arguments.

    Raises:
        ValueError: a ``size`` below 1 or a negative ``seed`` or ``epoch``.
    """
    if size < 1:
        raise ValueError(f"epoch_order: expected at least one item, got size={size}")
    if seed < 0 or epoch < 0:
        raise ValueError(f"epoch_order: expected a seed and an epoch of 0 or more, got seed={seed}, epoch={epoch}")
    return torch.randperm(size, generator=torch.Generator().manual_seed(seed + epoch))


class _SkipLog:
    """Files skipped during training; warns once per newly seen batch of unreadable files."""

    def __init__(self, grayscale: Sequence[str] = (), unreadable: Sequence[str] = ()) -> None:
        self.grayscale = dict.fromkeys(grayscale)
        self.unreadable = dict.fromkeys(unreadable)
        self.reported = set(self.unreadable)

    def add(self, batch: CropBatch) -> None:
        self.grayscale.update(dict.fromkeys(batch.grayscale))
        self.unreadable.update(dict.fromkeys(batch.unreadable))

    def merge_from_all_processes(self) -> None:
        for grayscale, unreadable in gather_objects((list(self.grayscale), list(self.unreadable))):
            self.grayscale.update(dict.fromkeys(grayscale))
            self.unreadable.update(dict.fromkeys(unreadable))

    def warn_new(self) -> None:
        new = [entry for entry in self.unreadable if entry not in self.reported]
        if new:
            self.reported.update(new)
            listing = "\n  ".join(new)
            warnings.warn(
                f"skipped {len(new)} unreadable, truncated or non-image files:\n  {listing}",
                UserWarning,
                stacklevel=3,
            )

    def entries(self) -> dict:
        """The checkpoint's ``skipped`` entry."""
        return {"grayscale": list(self.grayscale), "unreadable": list(self.unreadable)}


def _photo_batches(loader: DataLoader, device: torch.device, channels_last: bool, skips: "_SkipLog | None") -> Iterator[Batch]:
    """``(L/100, ab)`` pairs on ``device`` from a loader of :class:`~colorlib.data.CropBatch` es."""
    for batch in loader:
        if skips is not None:
            skips.add(batch)
        if len(batch):
            yield rgb_batch_to_lightness_ab(batch.rgb, device=device, channels_last=channels_last)


def _tensor_batches(loader: DataLoader, device: torch.device) -> Iterator[Batch]:
    for features, ab in loader:
        yield features.to(device, non_blocking=True).float(), ab.to(device, non_blocking=True).float()


def _hinted_batches(batches: Iterator[Batch], *, seed: Sequence[int], first: int = 0) -> Iterator[tuple]:
    """``((inputs, hints), ab)`` for each ``(inputs, ab)``: hints ``(N, 3, H, W)`` simulated from
    ``ab`` (:func:`colorlib.hints.simulated_hint_maps`), batch ``i`` from the generator seeded
    with ``[*seed, first + i]``: the same hints for the same seed and step on every run."""
    for index, (inputs, ab) in enumerate(batches):
        ab_maps, masks = simulated_hint_maps(ab, seed=np.random.default_rng([*seed, first + index]))
        yield (inputs, torch.cat([ab_maps, masks], dim=1)), ab


def encode_photos(
    model: ColorizationNet,
    dataset: Dataset,
    *,
    views: int = 1,
    seed: int = 0,
    batch_size: int = 64,
    device: torch.device | str = "cpu",
) -> TensorDataset:
    """Run every photo of ``dataset`` through the frozen encoder once and keep the result.

    The decoder is all that learns when the encoder is frozen, and a frozen encoder in
    eval mode gives the same features for the same crop every time: computing them once
    turns each later training step into a decoder step. The price: the crops are drawn
    once (``views`` of each photo), not anew every epoch.

    Args:
        model: a :class:`ColorizationNet` (its encoder is used, in eval mode).
        dataset: items of :class:`~colorlib.data.ImageFolderDataset`: with ``train=True``
            each pass draws a new random resized crop and flip; with ``train=False`` the
            deterministic center crop (then use ``views=1``).
        views: passes over the dataset (crops stored per photo).
        seed: seeds the random crops (the global generator is left as it was).
        batch_size: photos per encoder call.
        device: where to run the encoder.

    Returns:
        A ``TensorDataset`` of ``(features float16 (M, 128, s/8, s/8), ab float16
        (M, 2, s, s))`` on the CPU; ``M`` is ``views`` times the number of readable color
        photos. float16 halves the memory; the values are used in float32.
    """
    if views < 1:
        raise ValueError(f"encode_photos: expected at least one view per photo, got {views}")
    features, abs_ = [], []
    model.encoder.eval().to(device)
    with torch.random.fork_rng(devices=[]), torch.inference_mode():
        torch.manual_seed(seed)
        for _ in range(views):
            for lightness, ab in _photo_batches(make_loader(dataset, batch_size), torch.device(device), False, None):
                features.append(model.encode(lightness).to("cpu", torch.float16))
                abs_.append(ab.to("cpu", torch.float16))
    if not features:
        raise ValueError("encode_photos: no readable color photo in the dataset")
    return TensorDataset(torch.cat(features), torch.cat(abs_))
