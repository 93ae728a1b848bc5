"""Training the paper's network: MSE on the scaled ab, Adam, checkpoints, resume, DDP.

The paper's recipe (:data:`colorlib.config.PROFILES` ``"paper"``): MSE between the
predicted and the true ``(ab + 128) / 255``, Adam with learning rate 0.01, batch 64,
100 epochs at 224x224 on 40,000 Places205 photos, the ResNet part frozen. The quick
profile runs the same code on crops of the offline sample photos in about a minute.

:func:`train` writes into its output folder:

- ``last.pth`` after every epoch and ``best.pth`` whenever the validation loss is the
  lowest so far: dicts ``{"format": CHECKPOINT_FORMAT, "model", "optimizer", "epoch",
  "step", "rng", "config", "history", ...}`` of plain types and tensors, written
  atomically (temporary file, then ``os.replace``), loadable with
  ``torch.load(weights_only=True)`` and by :func:`colorlib.load_pretrained`;
- ``history.json``: per epoch the training loss, validation loss, images/s, seconds
  and learning rate, plus the counts of skipped files.

Robustness: ``resume=True`` continues from ``last.pth`` (a run killed at any moment
loses at most the epoch in progress, and no epoch is recorded twice); each epoch draws
its randomness from ``(seed, epoch)``, so a resumed run does exactly what the
uninterrupted run would have done, and seeded CPU runs repeat bit for bit. (With
data-loader worker processes, ``num_workers`` > 0, the crops are drawn by the workers,
which are seeded once when they start: the data order still follows ``(seed, epoch)``
but a resumed run's crops differ.) A NaN or infinite loss raises
:class:`TrainingDivergedError` before anything is saved, so the last good checkpoint
stays intact.

Speed: the colour conversion runs per batch on the training device
(:func:`colorlib.data.rgb_batch_to_network`); on a GPU the forward pass runs under
bfloat16 autocast with ``channels_last`` tensors, optionally ``torch.compile``\\ d.

Several processes: launched by ``torchrun`` (``WORLD_SIZE`` > 1), :func:`train` joins
the process group (NCCL on GPUs, Gloo on CPUs), wraps the model in
``DistributedDataParallel`` and gives each process its share of every epoch; process 0
writes the files.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import time
import warnings
from contextlib import nullcontext
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, Dataset, DistributedSampler, Subset
from tqdm.auto import tqdm

from . import __version__
from .config import Profile, get_profile, repo_root
from .color import ab_to_target
from .files import atomic_write
from .data import CropBatch, build_datasets, collate_crops, rgb_batch_to_network
from .model import DOWNSAMPLING_FACTOR, ColorizationNet, build_colorization_net
from .weights import CHECKPOINT_FORMAT, safe_torch_load

__all__ = [
    "TrainConfig",
    "TrainResult",
    "TrainingDivergedError",
    "HISTORY_FORMAT",
    "choose_device",
    "make_loader",
    "evaluate",
    "mean_target",
    "constant_prediction_loss",
    "mse_to_ab_rmse",
    "train",
    "register_cli",
]

#: ``format`` entry of ``history.json``.
HISTORY_FORMAT = "colorlib-history-v1"
LAST_CHECKPOINT = "last.pth"
BEST_CHECKPOINT = "best.pth"
HISTORY_FILE = "history.json"


class TrainingDivergedError(RuntimeError):
    """The loss became NaN or infinite; the last good checkpoint was left untouched."""


@dataclass
class TrainConfig:
    """Everything one training run needs; plain types only (it is saved in checkpoints).

    Attributes:
        profile: the profile the defaults came from (``"quick"`` or ``"paper"``).
        image_size: crop side in pixels (divisible by 8).
        epochs: train until this many epochs are complete (counting resumed ones).
        batch_size: images per optimizer step (per process under torchrun).
        learning_rate: Adam's learning rate.
        train_images: at most this many training images (crops for ``"samples"``).
        val_images: at most this many validation images.
        data: ``"samples"``, ``"places205"`` or a folder (see :func:`colorlib.data.build_datasets`).
        out: output folder for ``last.pth``, ``best.pth`` and ``history.json``.
        seed: seeds the decoder's initialisation and every epoch's randomness.
        max_steps: stop after this many optimizer steps in all (``None``: no limit).
        encoder_weights: ``"released"``, ``"imagenet"`` or ``"random"`` (see
            :func:`colorlib.model.build_colorization_net`).
        freeze_encoder: keep the ResNet part fixed (the paper's setting).
        start_from_gray: start the decoder's last convolution with zero weights and the
            bias of ``ab = 0``, so that the untrained network predicts gray (its loss is the
            gray baseline's) instead of random colours. Not in the authors' code (PyTorch's
            default initialisation): on by default in the quick profile only, where it
            saves most of a short run's steps.
        device: ``"auto"`` (a GPU when there is one), ``"cpu"``, ``"cuda"``, ``"cuda:1"``, ``"mps"``.
        num_workers: data-loader worker processes.
        compile: run the model through ``torch.compile``.
        amp: bfloat16 autocast (``None``: on for CUDA, off elsewhere).
        channels_last: ``channels_last`` memory format (``None``: on for CUDA).
    """

    profile: str
    image_size: int
    epochs: int
    batch_size: int
    learning_rate: float
    train_images: int
    val_images: int
    data: str
    out: str
    seed: int = 0
    max_steps: int | None = None
    encoder_weights: str = "released"
    freeze_encoder: bool = True
    start_from_gray: bool = False
    device: str = "auto"
    num_workers: int = 0
    compile: bool = False
    amp: bool | None = None
    channels_last: bool | None = None

    @classmethod
    def from_profile(cls, profile: str | Profile | None = None, **overrides) -> "TrainConfig":
        """The configuration of a profile (default: ``COLORLIB_PROFILE``), with overrides (``None`` values ignored).

        The default output folder is ``<repo>/runs/<profile>`` (``runs/<profile>`` outside
        the repository); the default encoder is the released checkpoint's in the quick
        profile (offline) and torchvision's ImageNet weights in the paper profile;
        ``start_from_gray`` is on in the quick profile only.
        """
        chosen = profile if isinstance(profile, Profile) else get_profile(profile)
        root = repo_root()
        values = dict(
            profile=chosen.name,
            image_size=chosen.image_size,
            epochs=chosen.epochs,
            batch_size=chosen.batch_size,
            learning_rate=chosen.learning_rate,
            train_images=chosen.train_images,
            val_images=chosen.val_images,
            data=chosen.data,
            out=str((root / "runs" / chosen.name) if root is not None else Path("runs") / chosen.name),
            device=chosen.device,
            num_workers=chosen.num_workers,
            encoder_weights="released" if chosen.data == "samples" else "imagenet",
            start_from_gray=chosen.name == "quick",
        )
        known = {f.name for f in fields(cls)}
        unknown = set(overrides) - known
        if unknown:
            raise ValueError(f"TrainConfig: unknown settings {sorted(unknown)}; expected some of {sorted(known)}")
        values.update({k: (os.fspath(v) if isinstance(v, Path) else v) for k, v in overrides.items() if v is not None})
        return cls(**values)

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

    def to_dict(self) -> dict:
        """The configuration as a plain dict."""
        return asdict(self)


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


# --------------------------------------------------------------------------------------
# Files.
# --------------------------------------------------------------------------------------


def _save_checkpoint(checkpoint: dict, path: Path) -> None:
    atomic_write(path, lambda name: torch.save(checkpoint, name))


def _save_json(data: dict, path: Path) -> None:
    def write(name: str) -> None:
        with open(name, "w", encoding="utf-8") as out:
            json.dump(data, out, indent=2)
            out.write("\n")

    atomic_write(path, write)


# --------------------------------------------------------------------------------------
# Loading data, evaluating.
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
) -> DataLoader:
    """A DataLoader of :class:`colorlib.data.CropBatch` es (uint8 crops) with colorlib's collate.

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
        collate_fn=collate_crops,
        pin_memory=pin_memory,
        drop_last=drop_last,
        generator=generator,
        **extra,
    )


def _autocast(device: torch.device, enabled: bool):
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=enabled)


def _validation_sums(
    model: nn.Module,
    loader: DataLoader,
    device: torch.device,
    amp: bool = False,
    channels_last: bool = False,
    on_skip: Callable[[CropBatch], None] | None = None,
) -> torch.Tensor:
    """``[sum of squared errors, number of values]`` over ``loader`` (float64, on ``device``)."""
    sums = torch.zeros(2, dtype=torch.float64, device=device)
    was_training = model.training
    model.eval()
    with torch.inference_mode():
        for batch in loader:
            if on_skip is not None:
                on_skip(batch)
            if len(batch) == 0:
                continue
            inputs, targets = rgb_batch_to_network(batch.rgb, device, channels_last)
            with _autocast(device, amp):
                prediction = model(inputs)
            sums[0] += F.mse_loss(prediction.float(), targets, reduction="sum").double()
            sums[1] += targets.numel()
    model.train(was_training)
    return sums


def evaluate(
    model: nn.Module,
    loader: DataLoader,
    device: torch.device | str | None = None,
    amp: bool = False,
    channels_last: bool = False,
) -> float:
    """Mean squared error of ``model`` over every ab value of ``loader``'s images, on the target scale.

    The training loss of the paper: ``mean((predicted - (ab + 128) / 255) ** 2)``; see
    :func:`mse_to_ab_rmse` for ab units. ``device`` defaults to the model's.
    """
    device = torch.device(device) if device is not None else next(model.parameters()).device
    sums = _validation_sums(model, loader, device, amp, channels_last)
    if sums[1] == 0:
        raise ValueError("evaluate: the loader yielded no images")
    return float(sums[0] / sums[1])


def mean_target(loader: DataLoader) -> torch.Tensor:
    """The mean training target ``(ab + 128) / 255`` over all pixels of ``loader``: float ``(2,)``.

    Predicting this constant everywhere is the best constant guess under MSE (the
    "mean ab" baseline).
    """
    total = torch.zeros(2, dtype=torch.float64)
    count = 0
    for batch in loader:
        if len(batch):
            _, targets = rgb_batch_to_network(batch.rgb)
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
    for batch in loader:
        if len(batch):
            _, targets = rgb_batch_to_network(batch.rgb)
            total += float(((targets - constant) ** 2).sum(dtype=torch.float64))
            count += targets.numel()
    if count == 0:
        raise ValueError("constant_prediction_loss: the loader yielded no images")
    return total / count


def mse_to_ab_rmse(mse: float) -> float:
    """A loss on the target scale ``(ab + 128) / 255`` as a root-mean-square error in ab units: ``sqrt(mse) * 255``."""
    if mse < 0:
        raise ValueError(f"mse_to_ab_rmse: expected a non-negative MSE, got {mse}")
    return math.sqrt(mse) * 255.0


# --------------------------------------------------------------------------------------
# Training.
# --------------------------------------------------------------------------------------


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


def _history_document(config: TrainConfig, history: list[dict], skips: _SkipLog, best: tuple) -> dict:
    return {
        "format": HISTORY_FORMAT,
        "config": config.to_dict(),
        "epochs": history,
        "best_epoch": best[1],
        "best_val_loss": best[0],
        "skipped_grayscale": len(skips.grayscale),
        "skipped_unreadable": len(skips.unreadable),
    }


def train(
    config: TrainConfig | None = None,
    resume: bool = False,
    overwrite: bool = False,
    progress: bool = True,
    verbose: bool = True,
) -> TrainResult:
    """Train a :class:`ColorizationNet` with the paper's recipe; see the module docstring.

    Args:
        config: the run's settings (default: ``TrainConfig.from_profile()``).
        resume: continue from ``<out>/last.pth`` (a fresh start when there is none). The
            given ``config`` applies from there on (more epochs, another learning rate).
        overwrite: start afresh even though ``<out>`` already holds a run.
        progress: tqdm bars for epochs and batches.
        verbose: print one line per epoch.

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
        return _train(config, device, rank, world, resume, overwrite, progress and rank == 0, verbose and rank == 0)
    finally:
        if started_group:
            dist.destroy_process_group()


def _train(
    config: TrainConfig,
    device: torch.device,
    rank: int,
    world: int,
    resume: bool,
    overwrite: bool,
    progress: bool,
    verbose: bool,
) -> TrainResult:
    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    last_path, best_path, history_path = out / LAST_CHECKPOINT, out / BEST_CHECKPOINT, out / HISTORY_FILE
    if last_path.exists() and not (resume or overwrite):
        raise FileExistsError(
            f"{out} already holds a training run ({LAST_CHECKPOINT}): resume it (--resume) or start again (--overwrite)"
        )
    if rank == 0:  # temporary files of a write that was killed half-way
        for name in (LAST_CHECKPOINT, BEST_CHECKPOINT, HISTORY_FILE):
            for stale in out.glob(f".{name}.*.tmp"):
                stale.unlink(missing_ok=True)
    on_gpu = device.type == "cuda"
    amp = on_gpu if config.amp is None else config.amp
    channels_last = on_gpu if config.channels_last is None else config.channels_last
    if on_gpu:
        torch.backends.cudnn.benchmark = True
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True

    # Model and optimizer (same seed on every process: identical initial decoders).
    _seed_everything(config.seed)
    model = build_colorization_net(config.encoder_weights, freeze_encoder=config.freeze_encoder)
    if config.start_from_gray:
        _start_from_gray(model)
    model = model.to(device, memory_format=torch.channels_last if channels_last else torch.contiguous_format)
    optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=config.learning_rate)

    history: list[dict] = []
    best_val_loss: float | None = None
    best_epoch: int | None = None
    completed, step = 0, 0
    skips = _SkipLog()
    if resume and last_path.exists():
        checkpoint = safe_torch_load(last_path)
        if not isinstance(checkpoint, dict) or checkpoint.get("format") != CHECKPOINT_FORMAT:
            raise ValueError(f"{last_path} is not a colorlib training checkpoint")
        model.load_state_dict(checkpoint["model"])
        optimizer.load_state_dict(checkpoint["optimizer"])
        for group in optimizer.param_groups:
            group["lr"] = config.learning_rate
        completed, step = int(checkpoint["epoch"]), int(checkpoint["step"])
        history = list(checkpoint["history"])
        best_val_loss, best_epoch = checkpoint["best_val_loss"], checkpoint["best_epoch"]
        skips = _SkipLog(checkpoint["skipped"]["grayscale"], checkpoint["skipped"]["unreadable"])
        _restore_rng_states(checkpoint["rng"])
        if verbose:
            print(f"resuming after epoch {completed} (step {step})")

    # Data.
    train_set, val_set = build_datasets(config.data, config.image_size, config.train_images, config.val_images, config.seed)
    sampler = DistributedSampler(train_set, num_replicas=world, rank=rank, shuffle=True, seed=config.seed)
    train_loader = make_loader(
        train_set, config.batch_size, sampler=sampler, num_workers=config.num_workers,
        pin_memory=on_gpu, drop_last=config.compile and len(sampler) >= config.batch_size,
    )
    val_share = Subset(val_set, list(range(rank, len(val_set), world)))
    val_loader = make_loader(val_share, config.batch_size, num_workers=config.num_workers, pin_memory=on_gpu)

    network: nn.Module = model
    ddp: nn.parallel.DistributedDataParallel | None = None
    if world > 1:
        ddp = nn.parallel.DistributedDataParallel(model, device_ids=[device.index] if on_gpu else None)
        network = ddp
    if config.compile:
        network = torch.compile(network)

    def save_best_last(epoch: int) -> None:
        checkpoint = {
            "format": CHECKPOINT_FORMAT,
            "model": {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()},
            "optimizer": optimizer.state_dict(),
            "epoch": epoch,
            "step": step,
            "history": history,
            "best_val_loss": best_val_loss,
            "best_epoch": best_epoch,
            "skipped": {"grayscale": list(skips.grayscale), "unreadable": list(skips.unreadable)},
            "rng": _rng_states(),
            "config": config.to_dict(),
            "colorlib_version": __version__,
        }
        # Order matters for SIGKILL: best first, then last, then the JSON copy of the
        # history. Killed in between, a resume re-runs this epoch identically.
        if best_epoch == epoch:
            _save_checkpoint(checkpoint, best_path)
        _save_checkpoint(checkpoint, last_path)
        _save_json(_history_document(config, history, skips, (best_val_loss, best_epoch)), history_path)

    check_every = 25 if on_gpu else 1  # a host sync per check: rare on GPUs
    epochs = tqdm(range(completed + 1, config.epochs + 1), desc="epochs", disable=not progress,
                  initial=completed, total=config.epochs)
    for epoch in epochs:
        if config.max_steps is not None and step >= config.max_steps:
            break
        _seed_everything(_epoch_seed(config.seed, epoch, rank))
        sampler.set_epoch(epoch)
        network.train()
        started = time.perf_counter()
        running = torch.zeros(2, dtype=torch.float64, device=device)  # [sum of loss * n, n]
        batches = tqdm(train_loader, desc=f"epoch {epoch}", leave=False, disable=not progress)
        # Under DDP a process whose batch was all unreadable files skips a step; join()
        # lets the others finish the epoch without waiting for it.
        uneven = ddp.join() if ddp is not None else nullcontext()
        with uneven:
            for batch_index, batch in enumerate(batches, start=1):
                skips.add(batch)
                if len(batch) == 0:
                    continue
                inputs, targets = rgb_batch_to_network(batch.rgb, device, channels_last)
                with _autocast(device, amp):
                    prediction = network(inputs)
                loss = F.mse_loss(prediction.float(), targets)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                step += 1
                running[0] += loss.detach().double() * len(batch)
                running[1] += len(batch)
                if batch_index % check_every == 0:
                    mean_so_far = float(running[0] / running[1])
                    if not math.isfinite(mean_so_far) and world == 1:  # under DDP: decided together below
                        _diverged(epoch, step, completed, last_path)
                    batches.set_postfix(loss=f"{mean_so_far:.5f}")
                if config.max_steps is not None and step >= config.max_steps:
                    break
        if on_gpu:
            torch.cuda.synchronize(device)
        train_seconds = time.perf_counter() - started
        if _distributed():
            dist.all_reduce(running)
        if running[1] == 0:
            raise ValueError(f"epoch {epoch}: no training image could be read (see the warning above)")
        train_loss = float(running[0] / running[1])
        if not math.isfinite(train_loss):
            _diverged(epoch, step, completed, last_path)

        if _distributed():  # every process validates rank 0's batch-norm statistics
            for buffer in model.buffers():
                dist.broadcast(buffer, src=0)
        sums = _validation_sums(model, val_loader, device, amp, channels_last, on_skip=skips.add)
        if _distributed():
            dist.all_reduce(sums)
        if sums[1] == 0:
            raise ValueError(f"epoch {epoch}: no validation image could be read")
        val_loss = float(sums[0] / sums[1])
        if not math.isfinite(val_loss):
            _diverged(epoch, step, completed, last_path)
        skips.merge_from_all_processes()

        images = int(running[1])
        seconds = time.perf_counter() - started
        record = {
            "epoch": epoch,
            "train_loss": train_loss,
            "val_loss": val_loss,
            "images_per_s": images / train_seconds,
            "seconds": seconds,
            "lr": optimizer.param_groups[0]["lr"],
            "steps": step,
            "train_images": images,
        }
        history.append(record)
        if best_val_loss is None or val_loss < best_val_loss:
            best_val_loss, best_epoch = val_loss, epoch
        completed = epoch
        if rank == 0:
            save_best_last(epoch)
            skips.warn_new()
        if _distributed():
            dist.barrier()
        if verbose:
            message = (
                f"epoch {epoch:3d}/{config.epochs}: train loss {train_loss:.5f}, validation loss "
                f"{val_loss:.5f}, {record['images_per_s']:.0f} images/s, {seconds:.1f} s"
            )
            if progress:
                tqdm.write(message)
            else:
                print(message, flush=True)
    epochs.close()
    model.eval()
    return TrainResult(
        model=model,
        history=history,
        best_val_loss=best_val_loss,
        best_epoch=best_epoch,
        out=out,
        skipped_grayscale=list(skips.grayscale),
        skipped_unreadable=list(skips.unreadable),
    )


def _start_from_gray(model: ColorizationNet) -> None:
    """Zero the last convolution's weights and set its bias to the target of ab = 0 (128/255)."""
    last = [m for m in model.decoder if isinstance(m, nn.Conv2d)][-1]
    with torch.no_grad():
        last.weight.zero_()
        last.bias.fill_(float(ab_to_target(torch.tensor(0.0))))


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
# Command line.
# --------------------------------------------------------------------------------------

_CLI_TO_CONFIG = {
    "epochs": "epochs",
    "max_steps": "max_steps",
    "lr": "learning_rate",
    "batch_size": "batch_size",
    "size": "image_size",
    "data": "data",
    "out": "out",
    "seed": "seed",
    "encoder_weights": "encoder_weights",
    "device": "device",
    "workers": "num_workers",
    "train_images": "train_images",
    "val_images": "val_images",
    "start_from_gray": "start_from_gray",
}


def _config_from_args(args: argparse.Namespace) -> TrainConfig:
    overrides = {key: getattr(args, name) for name, key in _CLI_TO_CONFIG.items()}
    if args.compile:
        overrides["compile"] = True
    out = Path(args.out) if args.out else Path(TrainConfig.from_profile(args.profile).out)
    last = out / LAST_CHECKPOINT
    if args.resume and last.exists() and args.profile is None:
        # Resuming: the stored settings, except what the command line says now.
        stored = safe_torch_load(last).get("config", {})
        base = TrainConfig(**{k: v for k, v in stored.items() if k in {f.name for f in fields(TrainConfig)}})
        changed = {k: v for k, v in overrides.items() if v is not None}
        return TrainConfig(**{**base.to_dict(), **changed})
    return TrainConfig.from_profile(args.profile, **overrides)


def _command(args: argparse.Namespace) -> int:
    try:
        config = _config_from_args(args)
        result = train(config, resume=args.resume, overwrite=args.overwrite, progress=not args.no_progress)
    except (TrainingDivergedError, FileExistsError, FileNotFoundError, ValueError) as error:
        print(f"colorlib train: {error}", flush=True)
        return 1
    if int(os.environ.get("RANK", "0")) == 0:
        print(result.summary())
        print(f"checkpoints: {result.best_checkpoint} (best), {result.last_checkpoint} (last); history: {result.out / HISTORY_FILE}")
    return 0


def register_cli(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "train",
        help="train the paper's network (quick profile: a minute on a CPU; paper profile: Places205 on a GPU)",
        description=(
            "Train the colorization network with the paper's recipe (MSE on the scaled ab, Adam, "
            "lr 0.01, frozen ResNet part). Defaults come from the profile (COLORLIB_PROFILE or --profile); "
            "every value can be overridden. Runs under torchrun for several GPUs or processes."
        ),
    )
    parser.add_argument("--profile", choices=["quick", "paper"], help="defaults to use (default: COLORLIB_PROFILE or quick)")
    parser.add_argument("--data", help="'samples', 'places205' or a folder of images")
    parser.add_argument("--out", help="output folder for last.pth, best.pth, history.json (default: runs/<profile>)")
    parser.add_argument("--epochs", type=int, help="train until this many epochs are complete")
    parser.add_argument("--max-steps", type=int, help="stop after this many optimizer steps")
    parser.add_argument("--lr", type=float, help="Adam's learning rate (paper: 0.01)")
    parser.add_argument("--batch-size", type=int, help="images per step (per process under torchrun)")
    parser.add_argument("--size", type=int, help="crop side in pixels, a multiple of 8 (paper: 224)")
    parser.add_argument("--train-images", type=int, help="at most this many training images")
    parser.add_argument("--val-images", type=int, help="at most this many validation images")
    parser.add_argument("--seed", type=int, help="random seed (default 0)")
    parser.add_argument("--encoder-weights", choices=["released", "imagenet", "random"], help="where the frozen encoder comes from")
    parser.add_argument("--start-from-gray", action=argparse.BooleanOptionalAction, default=None,
                        help="start the decoder's output at gray (ab = 0); default: on in the quick profile only")
    parser.add_argument("--device", help="auto (default), cpu, cuda, cuda:N or mps")
    parser.add_argument("--workers", type=int, help="data-loader worker processes")
    parser.add_argument("--compile", action="store_true", help="torch.compile the model (GPU)")
    parser.add_argument("--resume", action="store_true", help="continue the run in --out from last.pth")
    parser.add_argument("--overwrite", action="store_true", help="start again even if --out holds a run")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    parser.set_defaults(handler=_command)
