"""Training on real photographs (notebook 04): constant-colour baselines, where a
training step's time goes, and what the learner's own training loop needs: its data (the
stored features of a small run), the library's first epoch to check it against, a loss
curve that redraws every epoch and a filmstrip of the colours epoch after epoch.
"""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
from matplotlib.figure import Figure
from torch import nn
from torch.utils.data import (
    DataLoader,
    Dataset,
)

from ..batches import _photo_batches, make_loader
from ..callbacks import Callback
from ..color import ab_to_target, lab_to_rgb, target_to_ab
from ..config import Profile, run_dir
from ..data import build_datasets, rgb_batch_to_lightness_ab
from ..distributed import choose_device
from ..losses import make_loss
from ..metrics import mean_chroma
from ..model import IMAGENET_GRAY, ColorizationNet, DecoderOnly, eval_mode
from ..train import TrainConfig, _stored_features, train, train_step
from ..weights import build_colorization_net
from .plot import save_figure

__all__ = [
    "constant_prediction_loss",
    "time_training_parts",
    "LOOP_PHOTOS",
    "FILMSTRIP_FIGURE",
    "loop_config",
    "stored_features",
    "library_first_epoch",
    "LiveLossCurve",
    "Filmstrip",
    "filmstrip_photos",
]

#: Training photos of the learner's own loop (one stored crop each, evenly spread over the
#: categories): about half of the course's photos, about ten seconds an epoch on 2 cores.
LOOP_PHOTOS = 2_000

#: The filmstrip of the learner's loop (``figures/``): the colours of a few validation photos epoch after epoch.
FILMSTRIP_FIGURE = "04_filmstrip.png"


def constant_prediction_loss(loader: DataLoader, target: torch.Tensor | Sequence[float]) -> float:
    """MSE of predicting one constant target ``(2,)`` (ab scaled as ``(ab + 128) / 255``) for every pixel.

    ``target = ab_to_target(torch.zeros(2))`` is the "ab = 0" (gray) baseline,
    ``target = ab_to_target(torch.tensor(evaluate.training_mean_ab()))`` the "mean ab" one
    (:func:`colorlib.evaluate.training_mean_ab`).
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
    decoder = DecoderOnly(model).train()
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


# --------------------------------------------------------------------------------------
# The learner's own loop: its data, the library's epoch to check it against, the pictures.
# --------------------------------------------------------------------------------------


def loop_config(profile: Profile, *, epochs: int = 3) -> TrainConfig:
    """The settings of the learner's loop in lesson 04: ``profile``'s recipe on one stored
    crop of each of :data:`LOOP_PHOTOS` training photos (evenly spread over the
    categories) and every validation photo, ``epochs`` epochs, keeping the weights as
    trained (``weight_average_decay=0``: the loop's last step is what it validates), on
    the CPU (so that the library's epoch, run by :func:`library_first_epoch`, does the same
    arithmetic as the learner's loop); its run folder ``runs/<profile>-your-loop``.
    """
    return TrainConfig.from_profile(profile, out=run_dir(f"{profile.name}-your-loop"), epochs=epochs,
                                    train_images=min(LOOP_PHOTOS, profile.train_images), views_per_photo=1,
                                    cache_features=True, device="cpu", num_workers=0, compile=False, amp=False,
                                    weight_average_decay=0.0)


def stored_features(config: TrainConfig) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """The frozen encoder's features that ``train(config)`` stores (``cache_features``), and the true ab.

    The same tensors as the run's: :func:`colorlib.train.train` with this ``config``, later in
    the same process, finds them already encoded and trains on these very tensors. The
    global random generators are left as they were.

    Returns:
        ``(train_features, train_ab, val_features, val_ab)``, float16 on the CPU: features
        ``(M, 128, s/8, s/8)`` and ab ``(M, 2, s, s)`` in ab units (about -128..127), ``s``
        the input size; ``M`` is ``views_per_photo`` random crops of each readable colour
        training photo, and one centre crop of each validation photo.

    Raises:
        ValueError: ``config`` does not store features.
    """
    if not config.cache_features:
        raise ValueError("stored_features: expected a config with cache_features=True")
    train_set, val_set = build_datasets(config.data, config.input_size, config.train_images, config.val_images,
                                        seed=config.seed)
    with torch.random.fork_rng(devices=[]):  # building a network draws weights: the run's draws, from its seed
        torch.manual_seed(config.seed)
        model = build_colorization_net(config.encoder_weights, input_size=config.input_size)
    if config.input_normalisation:
        model.input_normalisation = IMAGENET_GRAY
    stored_train, stored_val = _stored_features(config, model, train_set, val_set, choose_device(config.device))
    return (*stored_train.tensors, *stored_val.tensors)


class _StartFrom(Callback):
    """Loads a decoder's weights into the run before its first step, and notes what the run trains on."""

    def __init__(self, decoder_state: dict[str, torch.Tensor]) -> None:
        self.decoder_state = decoder_state
        self.train_tensors: tuple[torch.Tensor, ...] = ()

    def begin_run(self, run: Any) -> None:
        run.model.decoder.load_state_dict(self.decoder_state)  # the optimizer holds these very parameters
        self.train_tensors = tuple(run.train_loader.dataset.tensors)


def library_first_epoch(config: TrainConfig, decoder_state: dict[str, torch.Tensor], *,
                        train_features: torch.Tensor | None = None) -> dict:
    """The library's first epoch of ``config``, from a given decoder: :func:`colorlib.train.train`
    for one epoch (into ``config.out``, replacing what is there), its decoder loaded with
    ``decoder_state`` before the first step. Its Adam, its batch order
    (:func:`colorlib.train.epoch_order`), its steps and its validation are the library's.

    Args:
        config: the settings (:func:`loop_config`); ``cache_features`` needed.
        decoder_state: the decoder's ``state_dict()`` to start from (the learner's start).
        train_features: when given, the run must train on this very tensor
            (:func:`stored_features` of ``config``): else ``ValueError``.

    Returns:
        The run's history entry of epoch 1: ``train_loss`` (the mean over the epoch's steps),
        ``val_loss``, ``seconds``, ...
    """
    if not config.cache_features:
        raise ValueError("library_first_epoch: expected a config with cache_features=True")
    start = _StartFrom(decoder_state)
    result = train(replace(config, epochs=1, max_steps=None), overwrite=True, progress=False, callbacks=[start])
    if train_features is not None and start.train_tensors[0] is not train_features:
        raise ValueError("library_first_epoch: the run encoded its own features, not the ones given")
    return result.history[0]


class LiveLossCurve:
    """A loss plot that redraws in place every time an epoch is added (a notebook's display handle).

    ``curve.add(entry)`` takes the loop's history entry: ``epoch``, ``train_loss``,
    ``val_loss`` and, if there, ``step_losses`` (every step's loss, drawn as a thin line
    across the epoch). The y axis is logarithmic: the first steps' losses can be ten
    times the rest. ``curve.figure`` is a matplotlib figure outside pyplot, shown only
    through the handle; outside a notebook nothing is displayed.

    Args:
        start_val_loss: the validation loss before the first step (drawn at epoch 0).
        references: horizontal lines, ``{label: loss}``.
        epochs: the x axis runs from 0 to ``epochs``.
        title: the plot's title.
    """

    def __init__(self, *, start_val_loss: float, references: dict[str, float], epochs: int, title: str) -> None:
        from IPython.display import display

        self.epochs = epochs
        self.steps: list[tuple[float, float]] = []
        self.train: list[tuple[int, float]] = []
        self.val: list[tuple[int, float]] = [(0, start_val_loss)]
        self.references = dict(references)
        self.title = title
        self.figure = Figure(figsize=(7.5, 4))
        self._draw()
        self.handle = display(self.figure, display_id=True)

    def add(self, entry: dict) -> None:
        epoch, losses = entry["epoch"], entry.get("step_losses", [])
        self.steps += [(epoch - 1 + (step + 1) / len(losses), loss) for step, loss in enumerate(losses)]
        self.train.append((epoch, entry["train_loss"]))
        self.val.append((epoch, entry["val_loss"]))
        self._draw()
        if self.handle is not None:
            self.handle.update(self.figure)

    def _draw(self) -> None:
        self.figure.clear()
        axis = self.figure.add_subplot()
        for (label, loss), style in zip(self.references.items(), ("--", ":", "-.", (0, (1, 3)))):
            axis.axhline(loss, color="0.4", linestyle=style, lw=1, label=label)
        if self.steps:
            axis.plot(*zip(*self.steps), "-", color="tab:blue", lw=0.6, alpha=0.45, label="training loss of each step")
        if self.train:
            axis.plot(*zip(*self.train), "o-", color="tab:blue", label="training loss, mean over the epoch")
        axis.plot(*zip(*self.val), "s-", color="tab:orange", label="validation loss after the epoch")
        axis.set_yscale("log")
        axis.set_xlim(-0.1, self.epochs + 0.1)
        axis.set_xticks(range(self.epochs + 1))
        axis.set_xlabel("epoch")
        axis.set_ylabel("MSE on (ab + 128) / 255 (log scale)")
        axis.set_title(self.title, fontsize=10)
        axis.grid(alpha=0.3, which="both")
        axis.legend(fontsize=7, loc="upper right")
        self.figure.tight_layout()


def filmstrip_photos(config: TrainConfig, *, count: int = 3, candidates: int = 24) -> tuple[torch.Tensor, list[str]]:
    """The ``count`` most colourful (highest mean chroma) of ``candidates`` validation photos
    spread evenly over ``config``'s validation split, as the network sees them (the centre
    crop at the input size): uint8 ``(count, 3, s, s)`` and their folders' names (the category)."""
    _, val_set = build_datasets(config.data, config.input_size, config.train_images, config.val_images, seed=config.seed)
    chosen = []
    for index in np.linspace(0, len(val_set) - 1, min(candidates, len(val_set))).round().astype(int):
        item = val_set[int(index)]
        if item["rgb"] is None:  # unreadable or grayscale
            continue
        _, ab = rgb_batch_to_lightness_ab(item["rgb"][None])
        chosen.append((float(torch.linalg.vector_norm(ab, dim=1).mean()), item))
    chosen = sorted(chosen, key=lambda pair: -pair[0])[:count]
    if len(chosen) < count:
        raise ValueError(f"filmstrip_photos: expected {count} readable colour photos, found {len(chosen)}")
    return torch.stack([item["rgb"] for _, item in chosen]), [Path(item["path"]).parent.name for _, item in chosen]


class Filmstrip:
    """The colours a decoder gives a few photos, epoch after epoch: rows the gray input, each
    recorded state of the decoder, the truth; columns the photos.

    Args:
        model: a :class:`~colorlib.model.ColorizationNet` whose (frozen) encoder makes the
            photos' features once.
        rgb: uint8 ``(N, 3, s, s)``, the photos' crops at the network's input size.
    """

    def __init__(self, model: ColorizationNet, rgb: torch.Tensor) -> None:
        self.lightness, self.ab = rgb_batch_to_lightness_ab(rgb)  # L / 100 (N, 1, s, s), ab (N, 2, s, s)
        with torch.inference_mode():
            self.features = model.eval().encode(self.lightness)
        self.rows: dict[str, np.ndarray] = {}
        self.row_ab: dict[str, torch.Tensor] = {}

    def _rgb(self, ab: torch.Tensor) -> np.ndarray:
        """``(N, s, s, 3)`` float sRGB in 0..1 of the photos' L with ``ab``."""
        return lab_to_rgb(torch.cat([self.lightness * 100, ab], dim=1)).permute(0, 2, 3, 1).numpy()

    def add(self, label: str, decoder: nn.Module) -> None:
        """Record the colours ``decoder`` gives the photos now (in eval mode; its mode is restored)."""
        with eval_mode(decoder), torch.inference_mode():
            self.row_ab[label] = target_to_ab(decoder(self.features))
            self.rows[label] = self._rgb(self.row_ab[label])

    def mean_chroma(self) -> dict[str, float]:
        """The mean chroma (distance of (a, b) from gray, ab units) over the photos' pixels: each recorded row, then ``"truth"``."""
        rows = {**self.row_ab, "truth": self.ab}  # every photo the same size: the mean of the photos' means
        return {label: float(mean_chroma(ab.permute(0, 2, 3, 1).numpy()).mean()) for label, ab in rows.items()}

    def figure(self, *, titles: Sequence[str] | None = None, size: float = 1.5) -> Figure:
        """The filmstrip (a pyplot figure): the gray input, the recorded rows, the truth."""
        import matplotlib.pyplot as plt

        rows = {"gray input (L)": self._rgb(torch.zeros_like(self.ab)), **self.rows, "truth": self._rgb(self.ab)}
        count = len(self.lightness)
        figure, axes = plt.subplots(len(rows), count, figsize=(size * count + 1.3, size * len(rows)), squeeze=False)
        for row, (label, images) in enumerate(rows.items()):
            for column in range(count):
                axis = axes[row, column]
                axis.imshow(images[column])
                axis.set_xticks([])
                axis.set_yticks([])
                if column == 0:
                    axis.set_ylabel(label, fontsize=8, rotation=0, ha="right", va="center")
                if row == 0 and titles is not None:
                    axis.set_title(titles[column], fontsize=8)
        figure.tight_layout()
        return figure

    def save(self, figure: Figure) -> Path:
        """``figures/`` :data:`FILMSTRIP_FIGURE`."""
        return save_figure(figure, FILMSTRIP_FIGURE)
