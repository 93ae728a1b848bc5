"""Training the paper's network: the loss on ab, Adam, checkpoints, resume, DDP.

The paper's recipe (:data:`colorlib.config.PROFILES` ``"paper"``): MSE between the
predicted and the true ``(ab + 128) / 255``, Adam with learning rate 0.01, 100 epochs at
224x224 on 40,000 Places205 photos; the authors' code (not the paper) adds batch 64 and a
frozen ResNet part. The quick profile: the same loop on the course's photos, minutes on 2 cores.

The loop is a few small functions that a notebook can call and show:

- :func:`train_step`: forward, loss, backward, optimizer step, for one batch;
- :func:`train_epoch`: :func:`train_step` over a loader, the mean loss;
- :func:`validate`: the mean loss over a loader, without gradients;
- :func:`epoch_order` (of :mod:`colorlib.batches`): the order in which an epoch visits the training items;
- :func:`train`: all of it with resume, history, divergence checks and DDP. It owns the
  process while it runs: it seeds the global random generators, and on a GPU it sets
  cuDNN's autotuner and TF32 (left set afterwards).

Batches are pairs ``(inputs, ab)``: ``inputs`` is ``L / 100`` ``(N, 1, H, W)``, or, with
``cache_features``, the frozen encoder's output ``(N, 128, H/8, W/8)`` computed once for
``views_per_photo`` random crops of each photo (:func:`encode_photos`; only the decoder
then runs, in training and in validation alike); ``ab`` is the true ab ``(N, 2, H, W)``
in ab units. With ``hints`` (a network that takes colour hints), ``inputs`` is the pair
``(inputs, hints)``: hints ``(N, 3, H, W)`` simulated afresh from ``ab`` at every step
(:func:`colorlib.hints.simulated_hint_maps`, seeded by the run's seed and the step), the
same ones at every validation. The loss (:mod:`colorlib.losses`) turns the network's raw output and the
true ab into a number.

:func:`train` writes into its output folder (:mod:`colorlib.checkpointing`):

- ``last.pth`` after every epoch and ``best.pth`` whenever the validation loss is the
  lowest so far (of the weights' moving average, :mod:`colorlib.averaging`, if asked):
  dicts ``{"format": CHECKPOINT_FORMAT, "model", "optimizer", "epoch", "step", "rng",
  "config", "meta", "loss_state", "history", ...}`` of plain types and tensors, written
  atomically, loadable with ``torch.load(weights_only=True)`` and by
  :func:`colorlib.load_pretrained` (``meta``: input size and convention, loss, profile);
- ``history.json``: per epoch the training loss, validation loss, images/s, seconds
  and learning rate, plus the counts of skipped files.

Robustness: ``resume=True`` continues from ``last.pth`` (a run killed at any moment
loses at most the epoch in progress, and no epoch is recorded twice); each epoch draws
its randomness from ``(seed, epoch)``, so a resumed run does exactly what the
uninterrupted run would have done, and seeded CPU runs repeat bit for bit. A NaN or
infinite loss raises :class:`~colorlib.callbacks.TrainingDivergedError` before anything
is saved.

Several processes: launched by ``torchrun`` (``WORLD_SIZE`` > 1), :func:`train` joins
the process group (:mod:`colorlib.distributed`), wraps what learns in
``DistributedDataParallel`` and gives each process its share of every epoch; process 0
writes the files.
"""

from __future__ import annotations

import math
import os
import random
import time
from contextlib import nullcontext
from dataclasses import MISSING, dataclass, field, fields
from pathlib import Path
from typing import Callable, Iterable, Iterator, Sequence

import numpy as np
import torch
import torch.distributed as dist
from torch import nn
from torch.optim.swa_utils import AveragedModel
from torch.utils.data import DataLoader, Dataset, DistributedSampler, Subset, TensorDataset

from .averaging import averaging_entries, weight_average
from .batches import Batch, _hinted_batches, _photo_batches, _SkipLog, _tensor_batches, encode_photos, epoch_order, make_loader
from .callbacks import Callback, LogLines, ProgressBars, StopOnDivergence
from .checkpointing import (BEST_CHECKPOINT, HISTORY_FILE, HISTORY_FORMAT, LAST_CHECKPOINT, RunProgress,
                            cpu_state_dict, load_checkpoint, restore_rng_states, rng_states, save_run_files)
from .color import ab_to_target
from .config import FIELD_CHOICES, NAMED_DATA, PROFILES, Profile, TrainSettings, get_profile, run_dir
from .data import build_datasets, collate_crops
from .feature_store import kept_features
from .distributed import barrier, broadcast_buffers, choose_device, global_mean, start_process_group
from .bins import ab_bins, bin_prior, soft_encode
from .losses import SCORE_DOWNSAMPLES, ColorLoss, make_loss
from .model import DOWNSAMPLING_FACTOR, IMAGENET_GRAY, ColorizationNet, DecoderOnly, eval_mode
from .warm_start import warm_start
from .weights import CHECKPOINT_FORMAT, build_colorization_net

__all__ = [
    "TrainConfig",
    "TrainResult",
    "train_step",
    "train_epoch",
    "validate",
    "start_from_gray",
    "epoch_order",
    "train",
]

@dataclass(frozen=True)
class TrainConfig(TrainSettings):
    """The settings of one run: a :class:`~colorlib.config.Profile` plus the run's own
    fields (:class:`~colorlib.config.TrainSettings`: ``out``, ``seed``, ``max_steps``,
    ``compile``, ``amp``, ``channels_last``), checked. Plain types: saved in checkpoints.

    Every field of the profile (``input_size``, ``epochs``, ``batch_size``,
    ``learning_rate``, ``data``, ``loss``, ``cache_features``, ...) keeps its meaning; the
    profile's ``name`` is the profile the defaults came from. :meth:`recipe` leaves out
    the machine settings (:data:`colorlib.config.MACHINE_FIELDS`).

    Raises:
        ValueError: a bad value (the message starts with the field's name).
    """

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
        """A configuration from :meth:`to_dict` (a checkpoint's ``config``); unknown keys are ignored.

        Fields missing from ``values`` (a checkpoint of an older colorlib) take the value
        of the stored profile ``name`` when it is ``quick`` or ``paper``, else the field's
        default; the environment (``COLORLIB_PROFILE``) plays no part.

        Raises:
            ValueError: a field without a default is missing and the profile is not known.
        """
        renamed = dict(values)
        if "profile" in renamed and "name" not in renamed:  # checkpoints of colorlib 0.1
            renamed["name"] = renamed.pop("profile")
        if "loss" in renamed and "score_downsample" not in renamed:  # before the field: every pixel scored
            renamed["score_downsample"] = 1
        if "loss" in renamed and "weight_average_decay" not in renamed:  # before the field: the weights as trained
            renamed["weight_average_decay"] = 0.0
        if "image_size" in renamed and "input_size" not in renamed:  # the network's input side, before its one name
            renamed["input_size"] = renamed.pop("image_size")
        name = renamed.get("name")
        base = {**PROFILES[name].to_dict(), "out": str(run_dir(name))} if name in PROFILES else {}
        settings = {**base, **{k: v for k, v in renamed.items() if k in {f.name for f in fields(cls)}}}
        missing = [f.name for f in fields(cls) if f.name not in settings and f.default is MISSING]
        if missing:
            raise ValueError(f"TrainConfig: {missing} missing from stored settings of profile {name!r}")
        return cls(**settings)

    @classmethod
    def for_command_line(cls, profile: str | None, *, resume: bool = False, **overrides) -> "TrainConfig":
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
        if self.input_size < DOWNSAMPLING_FACTOR or self.input_size % DOWNSAMPLING_FACTOR:
            raise ValueError(f"input_size: expected a multiple of {DOWNSAMPLING_FACTOR} (224, 128, ...), got {self.input_size}")
        for name in ("epochs", "batch_size", "train_images", "val_images", "views_per_photo"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name}: expected a positive number, got {getattr(self, name)}")
        if self.num_workers < 0:
            raise ValueError(f"num_workers: expected 0 or more, got {self.num_workers}")
        if self.max_steps is not None and self.max_steps < 1:
            raise ValueError(f"max_steps: expected a positive number or None, got {self.max_steps}")
        if not (self.learning_rate > 0 and math.isfinite(self.learning_rate)):
            raise ValueError(f"learning_rate: expected a positive finite number, got {self.learning_rate}")
        for name, allowed in FIELD_CHOICES.items():
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name}: expected one of {', '.join(map(repr, allowed))}, got {getattr(self, name)!r}")
        if self.score_downsample not in SCORE_DOWNSAMPLES:
            raise ValueError(f"score_downsample: expected one of {SCORE_DOWNSAMPLES}, got {self.score_downsample!r}")
        if not 0 <= self.weight_average_decay < 1:
            raise ValueError(f"weight_average_decay: expected 0 <= decay < 1 (0: no averaging; 0.99, say), got {self.weight_average_decay}")
        if self.rebalance and self.loss != "classification":
            raise ValueError("rebalance: class rebalancing applies to the classification loss only")
        if self.hints and self.loss == "classification":
            raise ValueError("hints: a network that takes hints trains with a regression loss (mse or l1), not classification")
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
        best_val_loss: lowest validation loss so far (target scale).
        best_epoch: the epoch that reached it.
        out: the output folder.
        skipped_grayscale: grayscale photos skipped (no color to learn).
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


def _seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)


def _epoch_seed(seed: int, epoch: int, rank: int) -> int:
    """A distinct, reproducible seed per (run seed, epoch, process)."""
    return (seed * 1_000_003 + epoch * 10_007 + rank * 101) % (2**63)


# --------------------------------------------------------------------------------------
# The loop, one piece at a time.
# --------------------------------------------------------------------------------------


def train_step(
    network: nn.Module,
    inputs: torch.Tensor | tuple[torch.Tensor, ...],
    ab: torch.Tensor,
    loss_fn: ColorLoss,
    optimizer: torch.optim.Optimizer,
    *,
    amp: bool = False,
) -> torch.Tensor:
    """One optimizer step on one batch; returns the batch's loss (a detached float32 scalar).

    Args:
        network: what learns, in training mode: a :class:`ColorizationNet` taking
            ``L / 100`` ``(N, 1, H, W)`` in 0..1, or only its decoder taking the encoder's
            features ``(N, 128, H/8, W/8)`` (``cache_features``); either may be wrapped in
            DDP or ``torch.compile``. Its output: ``(N, C, H, W)``, the loss's raw output.
        inputs: what ``network`` takes, float32, on its device; a tuple is passed as
            separate arguments (``(features, hints)`` for a network that takes hints).
        ab: the true ab ``(N, 2, H, W)`` float32 in ab units, about -128..127.
        loss_fn: a loss of :mod:`colorlib.losses` (``make_loss("mse")`` is the paper's).
        optimizer: Adam over the trainable parameters, say.
        amp: run the forward pass under bfloat16 autocast (GPUs); the loss is computed
            in float32.
    """
    with torch.autocast(device_type=ab.device.type, dtype=torch.bfloat16, enabled=amp):
        output = network(*inputs) if isinstance(inputs, tuple) else network(inputs)
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
    *,
    amp: bool = False,
    max_steps: int | None = None,
    on_step: Callable[[int, float], None] | None = None,
) -> tuple[float, int, int]:
    """:func:`train_step` over ``batches`` of ``(inputs, ab)``; returns ``(mean loss, images, steps)``.

    The mean is weighted by batch size (NaN when ``batches`` is empty). ``max_steps``
    stops early; ``on_step(steps so far, mean loss so far)`` is called after every step
    (a progress bar, a divergence check).
    """
    network.train()
    total = None
    images = steps = 0
    for inputs, ab in batches:
        loss = train_step(network, inputs, ab, loss_fn, optimizer, amp=amp)
        total = loss.double() * len(ab) if total is None else total + loss.double() * len(ab)
        images += len(ab)
        steps += 1
        if on_step is not None:
            on_step(steps, float(total / images))
        if max_steps is not None and steps >= max_steps:
            break
    return (float(total / images) if images else float("nan")), images, steps


def validate(network: nn.Module, batches: Iterable[Batch], loss_fn: ColorLoss, *, amp: bool = False) -> tuple[float, int]:
    """The loss over ``batches`` of ``(inputs, ab)`` (as :func:`train_step`'s) without
    gradients, in eval mode: ``(mean loss per image, images)``; NaN for no batch.

    The network's mode is restored afterwards.
    """
    total, images = 0.0, 0
    with eval_mode(network), torch.inference_mode():
        for inputs, ab in batches:
            with torch.autocast(device_type=ab.device.type, dtype=torch.bfloat16, enabled=amp):
                output = network(*inputs) if isinstance(inputs, tuple) else network(inputs)
            total += float(loss_fn(output.float(), ab)) * len(ab)
            images += len(ab)
    return (total / images if images else float("nan")), images


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


# --------------------------------------------------------------------------------------
# The whole run: set-up, epochs, the end of an epoch.
# --------------------------------------------------------------------------------------


@dataclass
class _Training:
    """A run set up by :func:`_prepare`: what the epochs use and change."""

    config: TrainConfig
    device: torch.device
    rank: int
    out: Path
    model: ColorizationNet  # the whole network: what is saved and returned
    network: nn.Module  # what learns (the model, or its decoder on stored features) as the optimizer steps it (DDP, compile)
    ddp: nn.parallel.DistributedDataParallel | None
    loss_fn: ColorLoss
    optimizer: torch.optim.Optimizer
    sampler: DistributedSampler
    train_loader: DataLoader
    val_loader: DataLoader
    amp: bool
    channels_last: bool
    progress: RunProgress
    skips: _SkipLog
    averaged: AveragedModel | None  # the moving average of the weights (weight_average_decay > 0), or None
    kept: ColorizationNet  # the network validated, saved as "model" and returned: the model, or its average
    validated: nn.Module  # what learns, over the kept weights

    def batches(self, loader: DataLoader, *, step: int | None = None) -> Iterator[Batch]:
        """``(inputs, ab)`` on the device: stored features, or ``L / 100`` of the loader's photos; with
        ``hints``, ``((inputs, hints), ab)``, hints seeded by the step for training (the steps
        from ``step``), the same every time for validation (``step=None``)."""
        batches = (_tensor_batches(loader, self.device) if self.config.cache_features
                   else _photo_batches(loader, self.device, self.channels_last, self.skips))
        if not self.config.hints:
            return batches
        return _hinted_batches(batches, seed=(self.config.seed % 2**64, self.rank, int(step is None)), first=step or 0)


def _output_folder(config: TrainConfig, *, resume: bool, overwrite: bool) -> Path:
    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    if (out / LAST_CHECKPOINT).exists() and not (resume or overwrite):
        raise FileExistsError(
            f"{out} already holds a training run ({LAST_CHECKPOINT}): resume it (--resume) or start again (--overwrite)"
        )
    return out


def _make_loss(config: TrainConfig, train_set: Dataset) -> ColorLoss:
    options = {"score_downsample": config.score_downsample} if config.loss == "classification" else {}
    if not config.rebalance:
        return make_loss(config.loss, **options)
    # The prior: how often each ab bin occurs among the training photos' pixels.
    if isinstance(train_set, TensorDataset):
        ab_batches: Iterable[torch.Tensor] = (train_set.tensors[1][i : i + 64].float() for i in range(0, len(train_set), 64))
    else:
        ab_batches = (ab for _, ab in _photo_batches(make_loader(train_set, 32), torch.device("cpu"), False, None))
    return make_loss(config.loss, rebalance=True, prior=bin_prior(ab_batches, ab_bins()), **options)


def _model_and_data(config: TrainConfig, device: torch.device) -> tuple[ColorizationNet, ColorLoss, Dataset, Dataset]:
    """The network with the loss's output head, its encoder frozen as configured (the one
    place), the loss, and the data sets (photos, or their stored features)."""
    # Data first (the classification loss's prior is measured on it), then the model.
    _seed_everything(config.seed)
    train_set, val_set = build_datasets(config.data, config.input_size, config.train_images, config.val_images, seed=config.seed)
    model = build_colorization_net(config.encoder_weights, freeze_encoder=config.freeze_encoder,
                                   input_size=config.input_size, takes_hints=config.hints)
    if config.input_normalisation:
        model.input_normalisation = IMAGENET_GRAY
    if config.cache_features:
        train_set, val_set = _stored_features(config, model, train_set, val_set, device)
    loss_fn = _make_loss(config, train_set).to(device)
    model = _with_loss(model, loss_fn, config)
    model.freeze_encoder(config.freeze_encoder, as_the_authors=config.encoder_as_the_authors)
    return model, loss_fn, train_set, val_set


#: The last run's stored features and what decided them, reused by a later run in the same process
#: (lesson 07's losses of one seed; :func:`colorlib.lessons.training.stored_features`, lesson 04).
_LAST_STORED_FEATURES: dict[tuple, tuple[TensorDataset, TensorDataset]] = {}


def _stored_features(config: TrainConfig, model: ColorizationNet, train_set: Dataset, val_set: Dataset,
                     device: torch.device) -> tuple[TensorDataset, TensorDataset]:
    """The training and validation sets encoded by the frozen encoder (:func:`encode_photos`),
    or a previous run's (in this process, or kept in the cache: :mod:`colorlib.feature_store`)
    when it encoded the same photos, crops and encoder. Only named data sets are kept (a folder may change). The key holds the seed (it decides the
    crops and a random encoder's weights); encoding forks the generator, so reuse changes nothing."""
    def encode() -> tuple[TensorDataset, TensorDataset]:
        return (encode_photos(model, train_set, views=config.views_per_photo, seed=config.seed, device=device),
                encode_photos(model, val_set, views=1, device=device))

    if config.data not in NAMED_DATA:  # a folder may change between runs: encode it afresh
        return encode()
    key = (config.data, config.input_size, config.train_images, config.val_images, config.views_per_photo,
           config.seed, config.encoder_weights, config.input_normalisation, str(device))
    if key not in _LAST_STORED_FEATURES:
        _LAST_STORED_FEATURES.clear()  # one entry: a few hundred MB at most; on disk for other processes
        _LAST_STORED_FEATURES[key] = encode() if config.data == "samples" else kept_features(key, (train_set, val_set), encode)
    return _LAST_STORED_FEATURES[key]


def _loaders(config: TrainConfig, train_set: Dataset, val_set: Dataset, *, rank: int, world: int,
             pin_memory: bool) -> tuple[DistributedSampler, DataLoader, DataLoader]:
    """This process's share of the data: its sampler of the training set, the training and validation loaders."""
    collate = None if config.cache_features else collate_crops
    sampler = DistributedSampler(train_set, num_replicas=world, rank=rank, shuffle=True, seed=config.seed)
    train_loader = make_loader(train_set, config.batch_size, sampler=sampler, num_workers=config.num_workers,
                               pin_memory=pin_memory, collate_fn=collate,
                               drop_last=config.compile and len(sampler) >= config.batch_size)
    val_share = Subset(val_set, list(range(rank, len(val_set), world)))
    val_loader = make_loader(val_share, config.batch_size, num_workers=config.num_workers, pin_memory=pin_memory,
                             collate_fn=collate)
    return sampler, train_loader, val_loader


def _resume(checkpoint: dict, model: ColorizationNet, optimizer: torch.optim.Optimizer,
            learning_rate: float) -> tuple[RunProgress, _SkipLog]:
    """Load ``last.pth`` into ``model`` and ``optimizer`` (at ``learning_rate`` from now on) and the global generators."""
    model.load_state_dict(checkpoint.get("trained_model", checkpoint["model"]))
    optimizer.load_state_dict(checkpoint["optimizer"])
    for group in optimizer.param_groups:
        group["lr"] = learning_rate
    restore_rng_states(checkpoint["rng"])
    return RunProgress.from_checkpoint(checkpoint), _SkipLog(**checkpoint["skipped"])


def _prepare(config: TrainConfig, device: torch.device, *, rank: int, world: int, resume: bool,
             overwrite: bool) -> _Training:
    """Everything a run needs before its first epoch, resumed from ``<out>/last.pth`` if asked."""
    out = _output_folder(config, resume=resume, overwrite=overwrite)
    on_gpu = device.type == "cuda"
    channels_last = on_gpu if config.channels_last is None else config.channels_last
    if on_gpu:
        torch.backends.cudnn.benchmark = True
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    model, loss_fn, train_set, val_set = _model_and_data(config, device)
    model = model.to(device, memory_format=torch.channels_last if channels_last else torch.contiguous_format)
    optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=config.learning_rate)
    progress, skips, checkpoint = RunProgress(), _SkipLog(), None
    if resume and (out / LAST_CHECKPOINT).exists():
        checkpoint = load_checkpoint(out / LAST_CHECKPOINT)
        progress, skips = _resume(checkpoint, model, optimizer, config.learning_rate)
    decay = config.weight_average_decay
    averaged = weight_average(model, decay=decay, checkpoint=checkpoint) if decay > 0 else None
    sampler, train_loader, val_loader = _loaders(config, train_set, val_set, rank=rank, world=world, pin_memory=on_gpu)

    def as_learner(network: ColorizationNet) -> nn.Module:
        pool = getattr(loss_fn, "score_downsample", 1)
        return DecoderOnly(network, score_downsample=pool) if config.cache_features else network

    learner = as_learner(model)
    ddp = nn.parallel.DistributedDataParallel(learner, device_ids=[device.index] if on_gpu else None) if world > 1 else None
    network = ddp or learner
    return _Training(config=config, device=device, rank=rank, out=out, model=model,
                     network=torch.compile(network) if config.compile else network, ddp=ddp, loss_fn=loss_fn,
                     optimizer=optimizer, sampler=sampler, train_loader=train_loader, val_loader=val_loader,
                     amp=on_gpu if config.amp is None else config.amp, channels_last=channels_last,
                     progress=progress, skips=skips, averaged=averaged, kept=model if averaged is None else averaged.module,
                     validated=learner if averaged is None else as_learner(averaged.module))


def _train_steps(run: _Training, epoch: int, callbacks: Sequence[Callback]) -> tuple[float, int]:
    """The epoch's optimizer steps in this process: ``(summed loss, images)``."""
    config = run.config
    _seed_everything(_epoch_seed(config.seed, epoch, run.rank))
    run.sampler.set_epoch(epoch)

    def on_step(steps: int, mean_loss: float) -> None:
        if run.averaged is not None:
            run.averaged.update_parameters(run.model)
        for callback in callbacks:
            callback.after_step(epoch, steps, mean_loss)

    remaining = None if config.max_steps is None else config.max_steps - run.progress.step
    # Under DDP a process whose batch was all unreadable files skips a step; join() lets
    # the others finish the epoch without waiting for it.
    with run.ddp.join() if run.ddp is not None else nullcontext():
        mean, images, steps = train_epoch(run.network, run.batches(run.train_loader, step=run.progress.step), run.loss_fn, run.optimizer,
                                          amp=run.amp, max_steps=remaining, on_step=on_step)
    run.progress.step += steps
    if run.device.type == "cuda":
        torch.cuda.synchronize(run.device)
    return mean * images, images


def _epoch_loss(total: float, count: int, run: _Training, epoch: int, what: str,
                callbacks: Sequence[Callback]) -> tuple[float, int]:
    """The loss over all processes (:func:`~colorlib.distributed.global_mean`), shown to the callbacks."""
    loss, images = global_mean(total, count, run.device)
    if images == 0:
        raise ValueError(f"epoch {epoch}: no {what} image could be read"
                         + (" (see the warning above)" if what == "training" else ""))
    for callback in callbacks:
        callback.after_loss(epoch, loss)
    return loss, images


def _end_epoch(run: _Training, epoch: int, train_total: float, train_images: int, started: float,
               callbacks: Sequence[Callback]) -> dict:
    """Reduce, validate, record the epoch and save its files (process 0); returns the history entry."""
    train_seconds = time.perf_counter() - started
    train_loss, images = _epoch_loss(train_total, train_images, run, epoch, "training", callbacks)
    broadcast_buffers(run.model)  # every process validates (and saves) process 0's batch-norm statistics
    if run.averaged is not None:  # the average's own statistics; without it, kept is the model: done above
        broadcast_buffers(run.kept)
    val_mean, val_images = validate(run.validated, run.batches(run.val_loader), run.loss_fn, amp=run.amp)
    val_loss, _ = _epoch_loss(val_mean * val_images, val_images, run, epoch, "validation", callbacks)
    run.skips.merge_from_all_processes()
    entry = {"epoch": epoch, "train_loss": train_loss, "val_loss": val_loss, "images_per_s": images / train_seconds,
             "seconds": time.perf_counter() - started, "lr": run.optimizer.param_groups[0]["lr"],
             "steps": run.progress.step, "train_images": images}
    best = run.progress.record(entry)
    if run.rank == 0:
        save_run_files(run.out, _checkpoint(run), _history_document(run), best=best)
        run.skips.warn_new()
    barrier()
    return entry


def _checkpoint(run: _Training) -> dict:
    config, model = run.config, run.kept
    return {
        "format": CHECKPOINT_FORMAT,
        "model": cpu_state_dict(model),
        **({} if run.averaged is None else averaging_entries(run.averaged, run.model)),
        "optimizer": run.optimizer.state_dict(),
        **run.progress.entries(),
        "skipped": run.skips.entries(),
        "rng": rng_states(),
        "config": config.to_dict(),
        "meta": {"input_size": config.input_size, "input_convention": "L/100", "loss": config.loss,
                 "profile": config.name, "input_normalisation": model.input_normalisation,
                 "takes_hints": model.takes_hints},
        "loss_state": {k: (v.detach().cpu() if isinstance(v, torch.Tensor) else v) for k, v in run.loss_fn.state().items()},
    }


def _history_document(run: _Training) -> dict:
    return {"format": HISTORY_FORMAT, "config": run.config.to_dict(), "epochs": run.progress.history,
            "best_epoch": run.progress.best_epoch, "best_val_loss": run.progress.best_val_loss,
            "skipped_grayscale": len(run.skips.grayscale), "skipped_unreadable": len(run.skips.unreadable)}


def train(
    config: TrainConfig | None = None,
    *,
    resume: bool = False,
    overwrite: bool = False,
    progress: bool = True,
    log: Callable[[str], None] | None = None,
    callbacks: Sequence[Callback] = (),
) -> TrainResult:
    """Train a :class:`ColorizationNet`; see the module docstring. Owns the process while it runs.

    Args:
        config: the run's settings (default: ``TrainConfig.from_profile()``).
        resume: continue from ``<out>/last.pth`` (a fresh start when there is none). The
            given ``config`` applies from there on (more epochs, another learning rate).
        overwrite: start afresh even though ``<out>`` already holds a run.
        progress: tqdm bars for epochs and batches (process 0 only).
        log: called with one line per epoch (``print``, say; process 0 only); ``None``: silent.
        callbacks: more :class:`~colorlib.callbacks.Callback` s, called in every process
            after the divergence check, the progress bars and the log lines.

    Returns:
        A :class:`TrainResult`.

    Raises:
        FileExistsError: ``<out>`` holds a run and neither ``resume`` nor ``overwrite`` was given.
        colorlib.callbacks.TrainingDivergedError: the loss became NaN or infinite (nothing
            of that epoch is saved).
        ValueError: bad settings or data.
    """
    config = config if config is not None else TrainConfig.from_profile()
    device = choose_device(config.device)
    rank, world, started_group = start_process_group(device)
    try:
        run = _prepare(config, device, rank=rank, world=world, resume=resume, overwrite=overwrite)
        every = 25 if device.type == "cuda" else 1  # a GPU should not wait for the loss at every step
        watchers: list[Callback] = [StopOnDivergence(every=every, single_process=world == 1)]
        if progress and rank == 0:
            watchers.append(ProgressBars(every=every))
        if log is not None and rank == 0:
            watchers.append(LogLines(log, epochs=config.epochs))
        return _run_epochs(run, [*watchers, *callbacks])
    finally:
        if started_group:
            dist.destroy_process_group()


def _run_epochs(run: _Training, callbacks: Sequence[Callback]) -> TrainResult:
    """The epochs from the one after ``run.progress.completed`` to ``config.epochs`` (or ``max_steps``)."""
    for callback in callbacks:
        callback.begin_run(run)
    config = run.config
    for epoch in range(run.progress.completed + 1, config.epochs + 1):
        if config.max_steps is not None and run.progress.step >= config.max_steps:
            break
        for callback in callbacks:
            callback.begin_epoch(epoch)
        started = time.perf_counter()
        train_total, images = _train_steps(run, epoch, callbacks)
        entry = _end_epoch(run, epoch, train_total, images, started, callbacks)
        for callback in callbacks:
            callback.after_epoch(entry)
    for callback in callbacks:
        callback.end_run()
    run.kept.eval()
    return TrainResult(model=run.kept, history=run.progress.history, best_val_loss=run.progress.best_val_loss,
                       best_epoch=run.progress.best_epoch, out=run.out, skipped_grayscale=list(run.skips.grayscale),
                       skipped_unreadable=list(run.skips.unreadable))


def _with_loss(model: ColorizationNet, loss_fn: ColorLoss, config: TrainConfig) -> ColorizationNet:
    """``model`` with the output head and decoder of ``loss_fn`` (a fresh last layer for Q logits)."""
    if loss_fn.output_channels != 2:
        fresh = ColorizationNet(decoder=loss_fn, input_size=config.input_size)
        fresh.input_normalisation = model.input_normalisation
        fresh.encoder.load_state_dict(model.encoder.state_dict())
        fresh.decoder[:-2].load_state_dict(model.decoder[:-2].state_dict())
        model = fresh.train()
    else:
        model.__dict__["output_decoder"] = loss_fn if config.loss != "mse" else None
    if config.start_from_gray:
        start_from_gray(model)
    if config.init_from is not None:  # after start_from_gray: the copied decoder replaces it
        warm_start(model, config.init_from)
    return model
