"""Training the paper's network: the loss on ab, Adam, checkpoints, resume, DDP.

The paper's recipe (:data:`colorlib.config.PROFILES` ``"paper"``): MSE between the
predicted and the true ``(ab + 128) / 255``, Adam with learning rate 0.01, 100 epochs at
224x224 on 40,000 Places205 photos; the authors' code (not the paper) adds batch 64 and a
frozen ResNet part. The quick profile runs the same loop on the course's landscape photos
in about three minutes on a laptop CPU.

The loop is a few small functions that a notebook can call and show:

- :func:`train_step`: forward, loss, backward, optimizer step, for one batch;
- :func:`train_epoch`: :func:`train_step` over a loader, the mean loss;
- :func:`validate`: the mean loss over a loader, without gradients;
- :func:`save_checkpoint` / :func:`load_checkpoint`: atomic, ``weights_only`` files;
- :func:`train`: all of it with resume, history, divergence checks and DDP. It owns the
  process while it runs: it seeds the global random generators, and on a GPU it sets
  cuDNN's autotuner and TF32 (left set afterwards).

Batches are pairs ``(inputs, ab)``: ``inputs`` is ``L / 100`` ``(N, 1, H, W)``, or, with
``cache_features``, the frozen encoder's output ``(N, 128, H/8, W/8)`` computed once for
``views_per_photo`` random crops of each photo (:func:`encode_photos`); ``ab`` is the
true ab ``(N, 2, H, W)`` in ab units. The loss
(:mod:`colorlib.losses`) turns the network's raw output and the true ab into a number.

:func:`train` writes into its output folder:

- ``last.pth`` after every epoch and ``best.pth`` whenever the validation loss is the
  lowest so far: dicts ``{"format": CHECKPOINT_FORMAT, "model", "optimizer", "epoch",
  "step", "rng", "config", "meta", "loss_state", "history", ...}`` of plain types and
  tensors, written atomically, loadable with ``torch.load(weights_only=True)`` and by
  :func:`colorlib.load_pretrained` (``meta`` records the input size, input convention,
  loss and profile: the model it loads knows them);
- ``history.json``: per epoch the training loss, validation loss, images/s, seconds
  and learning rate, plus the counts of skipped files.

Robustness: ``resume=True`` continues from ``last.pth`` (a run killed at any moment
loses at most the epoch in progress, and no epoch is recorded twice); each epoch draws
its randomness from ``(seed, epoch)``, so a resumed run does exactly what the
uninterrupted run would have done, and seeded CPU runs repeat bit for bit. A NaN or
infinite loss raises :class:`TrainingDivergedError` before anything is saved.

Several processes: launched by ``torchrun`` (``WORLD_SIZE`` > 1), :func:`train` joins
the process group (NCCL on GPUs, Gloo on CPUs), wraps the model in
``DistributedDataParallel`` and gives each process its share of every epoch; process 0
writes the files.
"""

from __future__ import annotations

import json
import math
import os
import random
import time
import warnings
from contextlib import nullcontext
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Callable, Iterable, Iterator, Sequence

import numpy as np
import torch
import torch.distributed as dist
from torch import nn
from torch.utils.data import (
    DataLoader,
    Dataset,
    DistributedSampler,
    Subset,
    TensorDataset,
)
from tqdm.auto import tqdm

from .bins import ab_bins, bin_prior, soft_encode
from .color import ab_to_target
from .config import Profile, get_profile, run_dir
from .data import CropBatch, build_datasets, collate_crops, rgb_batch_to_lightness_ab
from .files import atomic_write
from .losses import ColorLoss, make_loss
from .model import DOWNSAMPLING_FACTOR, IMAGENET_GRAY, ColorizationNet
from .weights import (
    CHECKPOINT_FORMAT,
    build_colorization_net,
    safe_torch_load,
)

__all__ = [
    "HISTORY_FORMAT",
    "LAST_CHECKPOINT",
    "BEST_CHECKPOINT",
    "HISTORY_FILE",
    "TrainingDivergedError",
    "TrainConfig",
    "TrainResult",
    "choose_device",
    "make_loader",
    "encode_photos",
    "train_step",
    "train_epoch",
    "validate",
    "save_checkpoint",
    "load_checkpoint",
    "start_from_gray",
    "train",
]


#: ``format`` entry of ``history.json``.
HISTORY_FORMAT = "colorlib-history-v1"
LAST_CHECKPOINT = "last.pth"
BEST_CHECKPOINT = "best.pth"
HISTORY_FILE = "history.json"

Batch = tuple[torch.Tensor, torch.Tensor]


class TrainingDivergedError(RuntimeError):
    """The loss became NaN or infinite; the last good checkpoint was left untouched."""


@dataclass(frozen=True)
class TrainConfig(Profile):
    """A :class:`~colorlib.config.Profile` plus the settings of one run (plain types: saved in checkpoints).

    Every field of the profile (``image_size``, ``epochs``, ``batch_size``,
    ``learning_rate``, ``data``, ``loss``, ``cache_features``, ...) keeps its meaning; the
    profile's ``name`` is the profile the defaults came from. Added here:

    Attributes:
        out: output folder for ``last.pth``, ``best.pth`` and ``history.json``.
        seed: seeds the decoder's initialisation and every epoch's randomness.
        max_steps: stop after this many optimizer steps in all (``None``: no limit).
        compile: run the model through ``torch.compile``.
        amp: bfloat16 autocast (``None``: on for CUDA, off elsewhere).
        channels_last: ``channels_last`` memory format (``None``: on for CUDA).
    """

    out: str = "runs/quick"
    seed: int = 0
    max_steps: int | None = None
    compile: bool = False
    amp: bool | None = None
    channels_last: bool | None = None

    @classmethod
    def from_profile(cls, profile: str | Profile | None = None, **overrides) -> "TrainConfig":
        """The configuration of a profile (default: ``COLORLIB_PROFILE``), with overrides (``None`` values ignored).

        The default output folder is ``<repo>/runs/<profile>`` (``runs/<profile>`` outside
        the repository).

        Raises:
            ValueError: an unknown setting or a bad value.
        """
        chosen = profile if isinstance(profile, Profile) else get_profile(profile)
        values = {f.name: getattr(chosen, f.name) for f in fields(Profile)}
        values["out"] = str(run_dir(chosen.name))
        known = {f.name for f in fields(cls)}
        unknown = set(overrides) - known
        if unknown:
            raise ValueError(f"TrainConfig: unknown settings {sorted(unknown)}; expected some of {sorted(known)}")
        values.update({k: (os.fspath(v) if isinstance(v, Path) else v) for k, v in overrides.items() if v is not None})
        return cls(**values)

    @classmethod
    def from_dict(cls, values: dict) -> "TrainConfig":
        """A configuration from :meth:`to_dict` (a checkpoint's ``config``); unknown keys are ignored."""
        known = {f.name for f in fields(cls)}
        renamed = dict(values)
        if "profile" in renamed and "name" not in renamed:  # checkpoints of colorlib 0.1
            renamed["name"] = renamed.pop("profile")
        base = cls.from_profile(renamed.get("name") if renamed.get("name") in ("quick", "paper") else None)
        return cls(**{**base.to_dict(), **{k: v for k, v in renamed.items() if k in known}})

    @classmethod
    def for_command_line(cls, profile: str | None, resume: bool = False, **overrides) -> "TrainConfig":
        """What ``colorlib train`` runs: a profile with overrides, or, when resuming without
        ``--profile``, the stored settings of ``<out>/last.pth`` with the overrides on top."""
        out = overrides.get("out") or cls.from_profile(profile).out
        last = Path(out) / LAST_CHECKPOINT
        if resume and last.exists() and profile is None:
            stored = load_checkpoint(last).get("config", {})
            changed = {k: v for k, v in overrides.items() if v is not None}
            return cls.from_dict({**stored, **changed})
        return cls.from_profile(profile, **overrides)

    def __post_init__(self) -> None:
        if self.image_size < DOWNSAMPLING_FACTOR or self.image_size % DOWNSAMPLING_FACTOR:
            raise ValueError(f"image_size: expected a multiple of {DOWNSAMPLING_FACTOR} (224, 128, ...), got {self.image_size}")
        for name in ("epochs", "batch_size", "train_images", "val_images"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name}: expected a positive number, got {getattr(self, name)}")
        if self.max_steps is not None and self.max_steps < 1:
            raise ValueError(f"max_steps: expected a positive number or None, got {self.max_steps}")
        if not (self.learning_rate > 0 and math.isfinite(self.learning_rate)):
            raise ValueError(f"learning_rate: expected a positive finite number, got {self.learning_rate}")
        if self.encoder_weights not in ("released", "imagenet", "random"):
            raise ValueError(f"encoder_weights: expected 'released', 'imagenet' or 'random', got {self.encoder_weights!r}")
        if self.loss not in ("mse", "l1", "classification"):
            raise ValueError(f"loss: expected 'mse', 'l1' or 'classification', got {self.loss!r}")
        if self.rebalance and self.loss != "classification":
            raise ValueError("rebalance: class rebalancing applies to the classification loss only")
        if self.cache_features and (not self.freeze_encoder or self.encoder_as_the_authors):
            raise ValueError("cache_features: the encoder's features can be stored only when the encoder is frozen "
                             "(with its batch norm in eval mode: not with encoder_as_the_authors)")

    @property
    def profile(self) -> str:
        """The name of the profile the defaults came from."""
        return self.name


@dataclass
class TrainResult:
    """What :func:`train` returns.

    Attributes:
        model: the trained network (unwrapped, in eval mode, on the training device).
        history: one dict per completed epoch (see ``history.json``).
        best_val_loss: lowest validation MSE so far (target scale).
        best_epoch: the epoch that reached it.
        out: the output folder.
        skipped_grayscale: grayscale photos skipped (no colour to learn).
        skipped_unreadable: ``"path (reason)"`` of unreadable files skipped.
    """

    model: ColorizationNet
    history: list[dict]
    best_val_loss: float | None
    best_epoch: int | None
    out: Path
    skipped_grayscale: list[str] = field(default_factory=list)
    skipped_unreadable: list[str] = field(default_factory=list)

    @property
    def last_checkpoint(self) -> Path:
        return self.out / LAST_CHECKPOINT

    @property
    def best_checkpoint(self) -> Path:
        return self.out / BEST_CHECKPOINT

    @property
    def history_file(self) -> Path:
        return self.out / HISTORY_FILE

    def summary(self) -> str:
        """One paragraph: epochs, losses, and the counts of skipped files."""
        if not self.history:
            return "no epoch was trained"
        last = self.history[-1]
        return (
            f"{len(self.history)} epochs: train loss {last['train_loss']:.5f}, validation loss "
            f"{last['val_loss']:.5f} (best {self.best_val_loss:.5f} at epoch {self.best_epoch}); "
            f"skipped {len(self.skipped_grayscale)} grayscale images and "
            f"{len(self.skipped_unreadable)} unreadable files"
        )


# --------------------------------------------------------------------------------------
# Devices, processes, seeds.
# --------------------------------------------------------------------------------------


def choose_device(preference: str = "auto") -> torch.device:
    """``"auto"``: the CUDA GPU of this process (``LOCAL_RANK`` under torchrun) if any, else Apple's MPS, else the CPU.

    Raises:
        ValueError: a device that this machine does not have.
    """
    if preference == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)) % torch.cuda.device_count())
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        device = torch.device(preference)
    except RuntimeError as error:
        raise ValueError(f"device: expected 'auto', 'cpu', 'cuda', 'cuda:N' or 'mps', got {preference!r}") from error
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError("device: 'cuda' was asked for but torch sees no CUDA GPU (use --device auto or cpu)")
    if device.type == "cuda" and device.index is None:
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)) % torch.cuda.device_count())
    return device


def _start_distributed(device: torch.device) -> tuple[int, int, bool]:
    """``(rank, world size, whether we started the group)``; joins torchrun's group when WORLD_SIZE > 1."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return 0, 1, False
    if dist.is_initialized():
        return dist.get_rank(), dist.get_world_size(), False
    backend = "nccl" if device.type == "cuda" else "gloo"
    if device.type == "cuda":
        torch.cuda.set_device(device)
    dist.init_process_group(backend=backend)
    return dist.get_rank(), dist.get_world_size(), True


def _distributed() -> bool:
    return dist.is_available() and dist.is_initialized()


def _seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)


def _epoch_seed(seed: int, epoch: int, rank: int) -> int:
    """A distinct, reproducible seed per (run seed, epoch, process)."""
    return (seed * 1_000_003 + epoch * 10_007 + rank * 101) % (2**63)


# --------------------------------------------------------------------------------------
# Loading data, baselines.
# --------------------------------------------------------------------------------------


def make_loader(
    dataset: Dataset,
    batch_size: int,
    shuffle: bool = False,
    seed: int = 0,
    num_workers: int = 0,
    pin_memory: bool = False,
    sampler=None,
    drop_last: bool = False,
    collate_fn: Callable | None = collate_crops,
) -> DataLoader:
    """A DataLoader of :class:`colorlib.data.CropBatch` es (uint8 crops) with colorlib's collate
    (``collate_fn=None``: torch's default, for a ``TensorDataset`` of stored features).

    ``shuffle`` draws the order from a generator seeded with ``seed``; workers are kept
    alive between epochs and prefetch batches.
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
        if _distributed():
            gathered: list = [None] * dist.get_world_size()
            dist.all_gather_object(gathered, (list(self.grayscale), list(self.unreadable)))
            for grayscale, unreadable in gathered:
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


# --------------------------------------------------------------------------------------
# Batches: photos through the data loader, or stored encoder features.
# --------------------------------------------------------------------------------------


def _photo_batches(loader: DataLoader, device: torch.device, channels_last: bool, skips: "_SkipLog | None") -> Iterator[Batch]:
    """``(L/100, ab)`` pairs on ``device`` from a loader of :class:`~colorlib.data.CropBatch` es."""
    for batch in loader:
        if skips is not None:
            skips.add(batch)
        if len(batch):
            yield rgb_batch_to_lightness_ab(batch.rgb, device, channels_last)


def _tensor_batches(loader: DataLoader, device: torch.device) -> Iterator[Batch]:
    for features, ab in loader:
        yield features.to(device, non_blocking=True).float(), ab.to(device, non_blocking=True).float()


def encode_photos(
    model: ColorizationNet,
    dataset: Dataset,
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
            deterministic centre crop (then use ``views=1``).
        views: passes over the dataset (crops stored per photo).
        seed: seeds the random crops (the global generator is left as it was).
        batch_size: photos per encoder call.
        device: where to run the encoder.

    Returns:
        A ``TensorDataset`` of ``(features float16 (M, 128, s/8, s/8), ab float16
        (M, 2, s, s))`` on the CPU; ``M`` is ``views`` times the number of readable colour
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
        raise ValueError("encode_photos: no readable colour photo in the dataset")
    return TensorDataset(torch.cat(features), torch.cat(abs_))


# --------------------------------------------------------------------------------------
# The loop, one piece at a time.
# --------------------------------------------------------------------------------------


def _forward(network: nn.Module, inputs: torch.Tensor, from_features: bool) -> torch.Tensor:
    """``network(inputs)``, or only its decoder for stored encoder features."""
    return network.decoder(inputs) if from_features else network(inputs)


def train_step(
    network: nn.Module,
    inputs: torch.Tensor,
    ab: torch.Tensor,
    loss_fn: ColorLoss,
    optimizer: torch.optim.Optimizer,
    from_features: bool = False,
    amp: bool = False,
) -> torch.Tensor:
    """One optimizer step on one batch; returns the batch's loss (a detached scalar).

    Args:
        network: a :class:`ColorizationNet` (or its DDP wrapper) in training mode.
        inputs: ``L / 100`` ``(N, 1, H, W)``; or, with ``from_features``, the encoder's
            output ``(N, 128, H/8, W/8)`` (only the decoder runs).
        ab: the true ab ``(N, 2, H, W)`` in ab units, about -128..127.
        loss_fn: a loss of :mod:`colorlib.losses` (``make_loss("mse")`` is the paper's).
        optimizer: Adam over the trainable parameters, say.
        amp: run the forward pass under bfloat16 autocast (GPUs).
    """
    with torch.autocast(device_type=inputs.device.type, dtype=torch.bfloat16, enabled=amp):
        output = _forward(network, inputs, from_features)
    loss = loss_fn(output.float(), ab)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    return loss.detach()


def train_epoch(
    network: nn.Module,
    batches: Iterable[Batch],
    loss_fn: ColorLoss,
    optimizer: torch.optim.Optimizer,
    from_features: bool = False,
    amp: bool = False,
    max_steps: int | None = None,
    on_step: Callable[[int, float], None] | None = None,
) -> tuple[float, int, int]:
    """:func:`train_step` over ``batches``; returns ``(mean loss, images, steps)``.

    The mean is weighted by batch size. ``max_steps`` stops early; ``on_step(step, mean
    so far)`` is called after every step (a progress bar, a divergence check).
    """
    network.train()
    total = None
    images = steps = 0
    for inputs, ab in batches:
        loss = train_step(network, inputs, ab, loss_fn, optimizer, from_features, amp)
        total = loss.double() * len(ab) if total is None else total + loss.double() * len(ab)
        images += len(ab)
        steps += 1
        if on_step is not None:
            on_step(steps, float(total / images))
        if max_steps is not None and steps >= max_steps:
            break
    return (float(total / images) if images else float("nan")), images, steps


def validate(network: nn.Module, batches: Iterable[Batch], loss_fn: ColorLoss, from_features: bool = False,
             amp: bool = False) -> tuple[float, int]:
    """The loss over ``batches`` without gradients, in eval mode: ``(mean loss per image, images)``.

    The model's mode is restored afterwards.
    """
    was_training = network.training
    network.eval()
    total, images = 0.0, 0
    with torch.inference_mode():
        for inputs, ab in batches:
            with torch.autocast(device_type=inputs.device.type, dtype=torch.bfloat16, enabled=amp):
                output = _forward(network, inputs, from_features)
            total += float(loss_fn(output.float(), ab)) * len(ab)
            images += len(ab)
    network.train(was_training)
    return (total / images if images else float("nan")), images


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


def start_from_gray(model: ColorizationNet) -> None:
    """Make an untrained decoder predict gray (ab = 0) everywhere, whatever its loss.

    The last convolution's weights are zeroed; its bias is set so that the decoded output
    is ab = 0: the target of ab = 0 (128/255) for regression, and for classification the
    logits of a distribution peaked on the bins nearest to ab = 0 (their soft encoding).
    """
    last = [m for m in model.decoder if isinstance(m, nn.Conv2d)][-1]
    with torch.no_grad():
        last.weight.zero_()
        if model.output_decoder is None or model.output_decoder.output_channels == 2:
            last.bias.fill_(float(ab_to_target(torch.tensor(0.0))))
        else:
            from_gray = soft_encode(torch.zeros(1, 2, 1, 1), model.output_decoder.bins)[0, :, 0, 0]
            last.bias.copy_(torch.log(from_gray.clamp_min(1e-4)))


def _rng_states() -> dict:
    """Random generator states as tensors and plain types (loadable with weights_only)."""
    numpy_state = np.random.get_state()
    return {
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "numpy": {
            "keys": torch.from_numpy(numpy_state[1].astype(np.int64)),
            "position": int(numpy_state[2]),
            "has_gauss": int(numpy_state[3]),
            "cached_gaussian": float(numpy_state[4]),
        },
        "python": [random.getstate()[0], list(random.getstate()[1]), random.getstate()[2]],
    }


def _restore_rng_states(states: dict) -> None:
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


def _save_json(data: dict, path: Path) -> None:
    text = json.dumps(data, indent=2) + "\n"
    atomic_write(path, lambda name: Path(name).write_text(text, encoding="utf-8"))


# --------------------------------------------------------------------------------------
# The whole run.
# --------------------------------------------------------------------------------------


@dataclass
class _Run:
    """Everything that changes during a run (and is saved in its checkpoints)."""

    history: list[dict] = field(default_factory=list)
    best_val_loss: float | None = None
    best_epoch: int | None = None
    completed: int = 0
    step: int = 0


def _history_document(config: TrainConfig, run: _Run, skips: "_SkipLog") -> dict:
    return {
        "format": HISTORY_FORMAT,
        "config": config.to_dict(),
        "epochs": run.history,
        "best_epoch": run.best_epoch,
        "best_val_loss": run.best_val_loss,
        "skipped_grayscale": len(skips.grayscale),
        "skipped_unreadable": len(skips.unreadable),
    }


def _checkpoint(config: TrainConfig, model: ColorizationNet, optimizer, loss_fn: ColorLoss, run: _Run,
                skips: "_SkipLog") -> dict:
    return {
        "format": CHECKPOINT_FORMAT,
        "model": {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()},
        "optimizer": optimizer.state_dict(),
        "epoch": run.completed,
        "step": run.step,
        "history": run.history,
        "best_val_loss": run.best_val_loss,
        "best_epoch": run.best_epoch,
        "skipped": {"grayscale": list(skips.grayscale), "unreadable": list(skips.unreadable)},
        "rng": _rng_states(),
        "config": config.to_dict(),
        "meta": {"input_size": config.image_size, "input_convention": "L/100", "loss": config.loss,
                 "profile": config.name, "input_normalisation": model.input_normalisation},
        "loss_state": {k: (v.detach().cpu() if isinstance(v, torch.Tensor) else v) for k, v in loss_fn.state().items()},
    }


def _make_loss(config: TrainConfig, train_set: Dataset) -> ColorLoss:
    if not config.rebalance:
        return make_loss(config.loss)
    # The prior: how often each ab bin occurs among the training photos' pixels.
    if isinstance(train_set, TensorDataset):
        ab_batches: Iterable[torch.Tensor] = (train_set.tensors[1][i : i + 64].float() for i in range(0, len(train_set), 64))
    else:
        ab_batches = (ab for _, ab in _photo_batches(make_loader(train_set, 32), torch.device("cpu"), False, None))
    return make_loss(config.loss, rebalance=True, prior=bin_prior(ab_batches, ab_bins()))


def train(
    config: TrainConfig | None = None,
    resume: bool = False,
    overwrite: bool = False,
    progress: bool = True,
    log: Callable[[str], None] | None = None,
) -> TrainResult:
    """Train a :class:`ColorizationNet`; see the module docstring. Owns the process while it runs.

    Args:
        config: the run's settings (default: ``TrainConfig.from_profile()``).
        resume: continue from ``<out>/last.pth`` (a fresh start when there is none). The
            given ``config`` applies from there on (more epochs, another learning rate).
        overwrite: start afresh even though ``<out>`` already holds a run.
        progress: tqdm bars for epochs and batches.
        log: called with one line per epoch (``print``, say); ``None``: silent.

    Returns:
        A :class:`TrainResult`.

    Raises:
        FileExistsError: ``<out>`` holds a run and neither ``resume`` nor ``overwrite`` was given.
        TrainingDivergedError: the loss became NaN or infinite (nothing of that epoch is saved).
        ValueError: bad settings or data.
    """
    config = config if config is not None else TrainConfig.from_profile()
    device = choose_device(config.device)
    rank, world, started_group = _start_distributed(device)
    try:
        return _train(config, device, rank, world, resume, overwrite, progress and rank == 0,
                      log if rank == 0 else None)
    finally:
        if started_group:
            dist.destroy_process_group()


def _train(config: TrainConfig, device: torch.device, rank: int, world: int, resume: bool, overwrite: bool,
           progress: bool, log: Callable[[str], None] | None) -> TrainResult:
    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    last_path, best_path, history_path = out / LAST_CHECKPOINT, out / BEST_CHECKPOINT, out / HISTORY_FILE
    if last_path.exists() and not (resume or overwrite):
        raise FileExistsError(
            f"{out} already holds a training run ({LAST_CHECKPOINT}): resume it (--resume) or start again (--overwrite)"
        )
    on_gpu = device.type == "cuda"
    amp = on_gpu if config.amp is None else config.amp
    channels_last = on_gpu if config.channels_last is None else config.channels_last
    if on_gpu:
        torch.backends.cudnn.benchmark = True
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True

    # Data first (the classification loss's prior is measured on it), then the model.
    _seed_everything(config.seed)
    train_set, val_set = build_datasets(config.data, config.image_size, config.train_images, config.val_images, config.seed)
    model = build_colorization_net(config.encoder_weights, freeze_encoder=config.freeze_encoder,
                                   input_size=config.image_size)
    model.freeze_encoder(config.freeze_encoder, as_the_authors=config.encoder_as_the_authors)
    if config.input_normalisation:
        model.input_normalisation = IMAGENET_GRAY
    if config.cache_features:
        train_set = encode_photos(model, train_set, views=config.views_per_photo, seed=config.seed, device=device)
        val_set = encode_photos(model, val_set, views=1, device=device)
    loss_fn = _make_loss(config, train_set).to(device)
    model = _with_loss(model, loss_fn, config)
    model = model.to(device, memory_format=torch.channels_last if channels_last else torch.contiguous_format)
    optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=config.learning_rate)

    run, skips = _Run(), _SkipLog()
    if resume and last_path.exists():
        checkpoint = load_checkpoint(last_path)
        model.load_state_dict(checkpoint["model"])
        optimizer.load_state_dict(checkpoint["optimizer"])
        for group in optimizer.param_groups:
            group["lr"] = config.learning_rate
        run = _Run(list(checkpoint["history"]), checkpoint["best_val_loss"], checkpoint["best_epoch"],
                   int(checkpoint["epoch"]), int(checkpoint["step"]))
        skips = _SkipLog(checkpoint["skipped"]["grayscale"], checkpoint["skipped"]["unreadable"])
        _restore_rng_states(checkpoint["rng"])
        if log is not None:
            log(f"resuming after epoch {run.completed} (step {run.step})")

    collate = None if config.cache_features else collate_crops
    sampler = DistributedSampler(train_set, num_replicas=world, rank=rank, shuffle=True, seed=config.seed)
    train_loader = make_loader(train_set, config.batch_size, sampler=sampler, num_workers=config.num_workers,
                               pin_memory=on_gpu, collate_fn=collate,
                               drop_last=config.compile and len(sampler) >= config.batch_size)
    val_share = Subset(val_set, list(range(rank, len(val_set), world)))
    val_loader = make_loader(val_share, config.batch_size, num_workers=config.num_workers, pin_memory=on_gpu,
                             collate_fn=collate)

    def batches(loader: DataLoader) -> Iterator[Batch]:
        if config.cache_features:
            return _tensor_batches(loader, device)
        return _photo_batches(loader, device, channels_last, skips)

    # What the optimizer steps through: the decoder alone when the features are stored.
    network: nn.Module = _DecoderOnly(model) if config.cache_features else model
    ddp = None
    if world > 1:
        network = ddp = nn.parallel.DistributedDataParallel(network, device_ids=[device.index] if on_gpu else None)
    if config.compile:
        network = torch.compile(network)

    epochs = tqdm(range(run.completed + 1, config.epochs + 1), desc="epochs", disable=not progress,
                  initial=run.completed, total=config.epochs)
    for epoch in epochs:
        if config.max_steps is not None and run.step >= config.max_steps:
            break
        _seed_everything(_epoch_seed(config.seed, epoch, rank))
        sampler.set_epoch(epoch)
        started = time.perf_counter()
        bar = tqdm(desc=f"epoch {epoch}", total=len(train_loader), leave=False, disable=not progress)

        def on_step(steps: int, mean_so_far: float) -> None:
            bar.update(1)
            if steps % (25 if on_gpu else 1) == 0:
                if not math.isfinite(mean_so_far) and world == 1:  # under DDP: decided together below
                    _diverged(epoch, run.step + steps, run.completed, last_path)
                bar.set_postfix(loss=f"{mean_so_far:.5f}")

        remaining = None if config.max_steps is None else config.max_steps - run.step
        # Under DDP a process whose batch was all unreadable files skips a step; join()
        # lets the others finish the epoch without waiting for it.
        with (ddp.join() if ddp is not None else nullcontext()):
            train_loss, images, steps = train_epoch(network, batches(train_loader), loss_fn, optimizer,
                                                    amp=amp, max_steps=remaining, on_step=on_step)
        bar.close()
        run.step += steps
        if on_gpu:
            torch.cuda.synchronize(device)
        train_seconds = time.perf_counter() - started
        running = torch.tensor([train_loss * images if images else 0.0, images], dtype=torch.float64, device=device)
        if _distributed():
            dist.all_reduce(running)
        if running[1] == 0:
            raise ValueError(f"epoch {epoch}: no training image could be read (see the warning above)")
        train_loss = float(running[0] / running[1])
        if not math.isfinite(train_loss):
            _diverged(epoch, run.step, run.completed, last_path)

        if _distributed():  # every process validates rank 0's batch-norm statistics
            for buffer in model.buffers():
                dist.broadcast(buffer, src=0)
        val_mean, val_images = validate(model, batches(val_loader), loss_fn, config.cache_features, amp)
        sums = torch.tensor([val_mean * val_images if val_images else 0.0, val_images], dtype=torch.float64, device=device)
        if _distributed():
            dist.all_reduce(sums)
        if sums[1] == 0:
            raise ValueError(f"epoch {epoch}: no validation image could be read")
        val_loss = float(sums[0] / sums[1])
        if not math.isfinite(val_loss):
            _diverged(epoch, run.step, run.completed, last_path)
        skips.merge_from_all_processes()

        images = int(running[1])
        record = {
            "epoch": epoch,
            "train_loss": train_loss,
            "val_loss": val_loss,
            "images_per_s": images / train_seconds,
            "seconds": time.perf_counter() - started,
            "lr": optimizer.param_groups[0]["lr"],
            "steps": run.step,
            "train_images": images,
        }
        run.history.append(record)
        if run.best_val_loss is None or val_loss < run.best_val_loss:
            run.best_val_loss, run.best_epoch = val_loss, epoch
        run.completed = epoch
        if rank == 0:
            checkpoint = _checkpoint(config, model, optimizer, loss_fn, run, skips)
            # Order matters for SIGKILL: best first, then last, then the JSON copy of the
            # history. Killed in between, a resume re-runs this epoch identically.
            if run.best_epoch == epoch:
                save_checkpoint(checkpoint, best_path)
            save_checkpoint(checkpoint, last_path)
            _save_json(_history_document(config, run, skips), history_path)
            skips.warn_new()
        if _distributed():
            dist.barrier()
        if log is not None:
            log(f"epoch {epoch:3d}/{config.epochs}: train loss {train_loss:.5f}, validation loss "
                f"{val_loss:.5f}, {record['images_per_s']:.0f} images/s, {record['seconds']:.1f} s")
    epochs.close()
    model.eval()
    return TrainResult(model=model, history=run.history, best_val_loss=run.best_val_loss, best_epoch=run.best_epoch,
                       out=out, skipped_grayscale=list(skips.grayscale), skipped_unreadable=list(skips.unreadable))


class _DecoderOnly(nn.Module):
    """The decoder of a model as a module of its own (what DDP wraps when features are stored)."""

    def __init__(self, model: ColorizationNet) -> None:
        super().__init__()
        self.decoder = model.decoder

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.decoder(features)


def _with_loss(model: ColorizationNet, loss_fn: ColorLoss, config: TrainConfig) -> ColorizationNet:
    """``model`` with the output head and decoder of ``loss_fn`` (a fresh last layer for Q logits)."""
    if loss_fn.output_channels != 2:
        fresh = ColorizationNet(decoder=loss_fn, input_size=config.image_size)
        fresh.freeze_encoder(config.freeze_encoder, as_the_authors=config.encoder_as_the_authors)
        fresh.input_normalisation = model.input_normalisation
        fresh.encoder.load_state_dict(model.encoder.state_dict())
        fresh.decoder[:-2].load_state_dict(model.decoder[:-2].state_dict())
        model = fresh.train()
    else:
        model.__dict__["output_decoder"] = loss_fn if config.loss != "mse" else None
    if config.start_from_gray:
        start_from_gray(model)
    return model


def _diverged(epoch: int, step: int, completed: int, last_path: Path) -> None:
    kept = (
        f"the last good checkpoint, after epoch {completed}, is {last_path}"
        if completed else "no checkpoint was written yet"
    )
    raise TrainingDivergedError(
        f"training stopped: the loss became NaN or infinite in epoch {epoch} (step {step}); {kept}. "
        "Lower the learning rate (--lr) and resume (--resume)."
    )


# --------------------------------------------------------------------------------------
# Reusing finished runs (notebooks 04 and 06).
# --------------------------------------------------------------------------------------
# (Appended here; its import belongs with the ones at the top of the module.)


