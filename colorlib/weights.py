"""Downloading, caching and safely loading checkpoints.

The authors published three trained checkpoints (epochs 40, 90 and 100) in their
repository. :func:`load_pretrained` downloads one on first use, checks its sha256,
keeps it flat in the cache folder under its own name (``model100.pth``, ...; see
:func:`colorlib.config.cache_dir`) and loads it without running pickle code:

* ``torch.load(weights_only=True)`` only rebuilds tensors, dicts, lists and the
  classes on an explicit allow-list;
* the authors' files are whole pickled ``nn.Module`` objects whose class was
  ``__main__.ColorizationNet``; a small stand-in class is registered under that name,
  so nothing from the file decides what code runs;
* anything outside the allow-list is refused with :class:`UnsafeCheckpointError`.
"""

from __future__ import annotations

import collections
import os
import pickle
import re
import socket
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import torch
from torch import nn
from torchvision.models import ResNet18_Weights, resnet18
from torchvision.models.resnet import BasicBlock

from .config import ENCODER_SOURCES, cache_dir
from .hub import ChecksumError, DownloadError, RemoteFile, fetch
from .model import ColorizationNet, make_encoder
from .losses import loss_from_state
from .modelz import ModelZ

__all__ = [
    "Weights",
    "PAPER_WEIGHTS",
    "PAPER_CHECKPOINTS",
    "PAPER_REPOSITORY_URL",
    "RemoteFile",
    "WeightsUnavailableError",
    "UnsafeCheckpointError",
    "download",
    "is_cached",
    "cached_path",
    "safe_torch_load",
    "load_authors_module",
    "load_pretrained",
    "build_colorization_net",
    "checkpoint_metadata",
    "MODELZ_WEIGHTS",
    "load_modelz",
    "load_modelz_or_none",
    "CHECKPOINT_FORMAT",
]

PAPER_REPOSITORY_URL = (
    "https://github.com/fanboqia/CSIT5910-Machine-Learning/raw/"
    "658b1b9d4c28db416ee8f59c9d302c1beb92ea8b/saved_models/"
)
#: ``format`` entry of the checkpoints that :mod:`colorlib.train` writes.
CHECKPOINT_FORMAT = "colorlib-checkpoint-v1"


@dataclass(frozen=True)
class Weights:
    """A published set of trained weights and what it takes to use them (torchvision's idea).

    Attributes:
        name: the registry name (``"paper"``, ...).
        remote: the file to download (address, sha256, size).
        input_size: the side of the square input the network was trained at.
        input_convention: ``"luma"`` (the authors fed ``skimage.color.rgb2gray``) or
            ``"L/100"`` (colorlib's trainer).
        loss: the training loss (``"mse"``, ``"l1"``, ``"classification"``).
        profile: the recipe (``"paper"`` for the authors' run).
        epochs: the epochs the file was saved after.
    """

    name: str
    remote: RemoteFile
    input_size: int
    input_convention: str
    loss: str
    profile: str
    epochs: int
    meta: dict = field(default_factory=dict)


def _paper_weights(name: str, filename: str, sha256: str, size: int, epochs: int) -> Weights:
    remote = RemoteFile(filename, PAPER_REPOSITORY_URL + filename, sha256, size)
    return Weights(name, remote, input_size=224, input_convention="luma", loss="mse", profile="paper", epochs=epochs)


#: The authors' three released checkpoints (their repository, pinned commit).
PAPER_WEIGHTS: dict[str, Weights] = {
    "paper": _paper_weights(
        "paper", "model100.pth", "e9351fd19297de4a39df075ee3f5011cad9a18a79e09fa800b2236dc0ee5d6ed", 3_715_532, 100
    ),
    "paper-epoch40": _paper_weights(
        "paper-epoch40", "model40.pth", "852cf40c21637773854a80ec7314d3ed1bc7dc9f5f98b90dc4d9604b0f8e9790", 3_715_272, 40
    ),
    "paper-epoch90": _paper_weights(
        "paper-epoch90", "model90.pth", "cfa6f1446ee6678dc14b86b07e7a05672a0f4f6e43bb9a4521b4980ccfff4993", 3_715_530, 90
    ),
}
#: name -> the file to download (kept for the lessons that list them).
PAPER_CHECKPOINTS: dict[str, RemoteFile] = {name: w.remote for name, w in PAPER_WEIGHTS.items()}

#: The network's input size when nothing else says: the paper's.
PAPER_INPUT_SIZE = PAPER_WEIGHTS["paper"].input_size

#: Both kinds of download failure, for callers that only report them.
WeightsUnavailableError = DownloadError


class UnsafeCheckpointError(ValueError):
    """A checkpoint needs something outside the allow-list to load."""


def cached_path(remote: RemoteFile, *, cache: Path | None = None) -> Path:
    """Where ``remote`` lives in the cache (whether or not it is there yet)."""
    return (cache if cache is not None else cache_dir()) / remote.filename


def download(remote: RemoteFile, *, cache: Path | None = None, progress: bool = True, timeout_s: float = 30.0) -> Path:
    """The verified cached copy of ``remote`` (:func:`colorlib.hub.fetch` into the cache folder).

    Raises:
        colorlib.hub.DownloadError: the server cannot be reached (the message says where
            to copy the file by hand).
        colorlib.hub.ChecksumError: the file's sha256 or size is wrong (it was discarded).
    """
    return fetch(remote, cached_path(remote, cache=cache), progress=progress, timeout_s=timeout_s)


def is_cached(name: str) -> bool:
    """Whether the authors' checkpoint ``name`` (``"paper"``, ...) is already in the cache."""
    return cached_path(PAPER_CHECKPOINTS[name]).exists()


# --------------------------------------------------------------------------------------
# Loading without running pickle code.
# --------------------------------------------------------------------------------------


class _AuthorsColorizationNet(nn.Module):
    """Stand-in for the authors' ``__main__.ColorizationNet``: their attribute names and forward."""

    def forward(self, gray: torch.Tensor) -> torch.Tensor:  # pragma: no cover - trivial
        return self.upsample(self.midlevel_resnet(gray))


_ALLOWED_GLOBALS: list = [
    (_AuthorsColorizationNet, "__main__.ColorizationNet"),
    nn.Conv2d,
    nn.BatchNorm2d,
    nn.ReLU,
    nn.MaxPool2d,
    nn.Upsample,
    nn.Sequential,
    BasicBlock,
    collections.OrderedDict,
    set,
]


def _refused_global(message: str) -> str | None:
    """The global that torch's weights-only unpickler refused, if that is what ``message`` says."""
    found = re.search(r"GLOBAL ([\w.]+)", message)
    return found.group(1) if found else None


def safe_torch_load(path: str | os.PathLike) -> object:
    """``torch.load`` with ``weights_only=True`` and the allow-list of the authors' files.

    Raises:
        UnsafeCheckpointError: the file needs a global outside the allow-list (it
            could run arbitrary code if loaded with plain ``torch.load``).
        ValueError: the file is not a torch checkpoint at all (an image, a text file,
            a truncated download, ...).
        FileNotFoundError: no file at ``path``.
    """
    name = os.fspath(path)
    try:
        with torch.serialization.safe_globals(_ALLOWED_GLOBALS):
            return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        refused = _refused_global(str(error))
        if refused is None:  # not a pickle torch understands: an image, a plain pickle, ...
            raise ValueError(
                f"{name} is not a torch checkpoint (torch's weights-only unpickler cannot read it)"
            ) from error
        raise UnsafeCheckpointError(
            f"refusing to load {name}: it needs {refused}, which is outside colorlib's "
            "allow-list of safe classes, so loading it could run arbitrary code"
        ) from error
    except (FileNotFoundError, IsADirectoryError):
        raise
    except (RuntimeError, KeyError, EOFError, OSError, ValueError) as error:
        # torch reports unreadable files in many ways: a truncated zip (RuntimeError), a
        # text file (KeyError on a bogus pickle protocol), an empty file (EOFError), ...
        detail = f"{type(error).__name__}: {' '.join(str(error).split())}"[:200]
        raise ValueError(f"{name} is not a readable torch checkpoint ({detail})") from error


def load_authors_module(path: str | os.PathLike) -> nn.Module:
    """The authors' own pickled module, unpickled the safe way, in eval mode.

    Its attributes are the authors' (``midlevel_resnet``, ``upsample``) and its forward
    is theirs; it takes luma or ``L/100`` (N, 1, H, W) and returns ab targets (N, 2, H, W).
    """
    module = safe_torch_load(path)
    if not isinstance(module, _AuthorsColorizationNet):
        raise ValueError(f"{os.fspath(path)} is not one of the authors' pickled ColorizationNet modules")
    return module.eval()


def _authors_state_to_ours(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    renamed = {}
    for key, value in state.items():
        key = key.replace("midlevel_resnet.", "encoder.", 1).replace("upsample.", "decoder.", 1)
        renamed[key] = value
    return renamed


def checkpoint_metadata(checkpoint: dict) -> dict:
    """What a colorlib training checkpoint says about its network.

    Returns:
        ``{"input_size", "input_convention", "loss", "profile", "takes_hints"}``.
        Checkpoints written before this record existed give their config's ``input_size``
        (``image_size`` in colorlib 0.1), ``"mse"`` and their config's ``hints`` (``False``
        before hint networks existed).
    """
    meta = dict(checkpoint.get("meta") or {})
    config = checkpoint.get("config") or {}
    meta.setdefault("input_size", config.get("input_size", config.get("image_size")))
    meta.setdefault("input_convention", "L/100")
    meta.setdefault("loss", config.get("loss", "mse"))
    meta.setdefault("profile", config.get("profile"))
    meta.setdefault("takes_hints", bool(config.get("hints", False)))
    return meta


def _resolve(name_or_path: str | os.PathLike, progress: bool) -> tuple[Path, Weights | None]:
    name = os.fspath(name_or_path)
    if name in PAPER_WEIGHTS:
        return download(PAPER_WEIGHTS[name].remote, progress=progress), PAPER_WEIGHTS[name]
    path = Path(name)
    if not path.exists():
        if not path.suffix and os.sep not in name and "/" not in name:
            raise ValueError(
                f"unknown checkpoint name {name!r}: expected one of "
                f"{', '.join(PAPER_WEIGHTS)}, or the path of a checkpoint file"
            )
        raise FileNotFoundError(f"no checkpoint at {name}")
    return path, None


def load_pretrained(name_or_path: str | os.PathLike = "paper", *, progress: bool = True) -> ColorizationNet:
    """A trained :class:`ColorizationNet` in eval mode, on the CPU, that knows its input size.

    Args:
        name_or_path: ``"paper"`` (the authors' 100-epoch checkpoint),
            ``"paper-epoch40"``, ``"paper-epoch90"`` (:data:`PAPER_WEIGHTS`); or the
            path of a checkpoint written by :mod:`colorlib.train` (any loss), or of one
            of the authors' files.
        progress: show a progress bar while downloading.

    Returns:
        The network, with ``input_size``, ``input_convention``, (for a classification
        model) its ``output_decoder`` and (for a checkpoint of ``colorlib train --hints``)
        a decoder that takes colour hints (``takes_hints``) set from the checkpoint.

    Raises:
        colorlib.hub.DownloadError: a named checkpoint is not cached and cannot be downloaded.
        UnsafeCheckpointError: the file needs classes outside the allow-list.
        FileNotFoundError: a path that does not exist.
        ValueError: an unknown name or a file that is no colorization checkpoint.
    """
    path, registered = _resolve(name_or_path, progress)
    loaded = safe_torch_load(path)
    decoder = None
    if isinstance(loaded, _AuthorsColorizationNet):
        state = _authors_state_to_ours(loaded.state_dict())
        meta = {"input_size": PAPER_INPUT_SIZE, "input_convention": "luma"}
        if registered is not None:
            meta = {"input_size": registered.input_size, "input_convention": registered.input_convention}
    elif isinstance(loaded, dict) and loaded.get("format") == CHECKPOINT_FORMAT and isinstance(loaded.get("model"), dict):
        state = loaded["model"]
        meta = checkpoint_metadata(loaded)
        if loaded.get("loss_state"):
            decoder = loss_from_state(loaded["loss_state"])
    else:
        raise ValueError(
            f"{path} is neither one of the authors' checkpoints nor a colorlib training "
            f"checkpoint (a dict with format={CHECKPOINT_FORMAT!r})"
        )
    net = ColorizationNet(
        freeze_encoder=True, decoder=decoder, input_size=meta.get("input_size"),
        input_convention=meta.get("input_convention", "L/100"), takes_hints=bool(meta.get("takes_hints")),
    )
    if meta.get("input_normalisation"):
        net.input_normalisation = tuple(meta["input_normalisation"])
    try:
        net.load_state_dict(state)
    except RuntimeError as error:  # missing, unexpected or mis-shaped tensors
        first_line = str(error).splitlines()[0]
        raise ValueError(f"{path}: its weights do not fit ColorizationNet ({first_line})") from error
    return net.eval()


# --------------------------------------------------------------------------------------
# A network to train: the encoder from ImageNet, the released checkpoint, or nothing.
# --------------------------------------------------------------------------------------


def _imagenet_resnet18(timeout_s: float) -> nn.Module:
    """torchvision's ImageNet ResNet-18, downloaded by torchvision on first use.

    torchvision's downloader takes no timeout, so the process-wide socket default is set
    for the call and restored afterwards.
    """
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(timeout_s)  # never hang on a half-open network
    try:
        return resnet18(weights=ResNet18_Weights.IMAGENET1K_V1)
    finally:
        socket.setdefaulttimeout(previous)


def build_colorization_net(
    encoder_weights: Literal["imagenet", "released", "random"] = "imagenet",
    *,
    freeze_encoder: bool = True,
    decoder=None,
    input_size: int | None = None,
    download_timeout_s: float = 20.0,
    takes_hints: bool = False,
) -> ColorizationNet:
    """A :class:`ColorizationNet` whose encoder starts from pretrained weights.

    Args:
        encoder_weights:
            - ``"imagenet"``: torchvision's ``ResNet18_Weights.IMAGENET1K_V1``
              (downloaded by torchvision into its own cache on first use). With no
              network and no cached copy, a warning is issued and the fallback is the
              encoder of the authors' released checkpoint if it is in colorlib's cache
              (it holds the same ImageNet filters, summed to one channel; only its
              batch-norm statistics moved during the authors' training), or a random
              initialisation otherwise.
            - ``"released"``: the encoder of the authors' released checkpoint
              (``load_pretrained("paper")``; no torchvision download).
            - ``"random"``: no pretrained weights.
        freeze_encoder: see :class:`ColorizationNet`.
        decoder: the output decoder (a loss of :mod:`colorlib.losses`); ``None``: MSE.
        input_size: recorded on the model (the size it will be trained at).
        download_timeout_s: socket timeout for torchvision's download.
        takes_hints: a decoder that also takes colour hints (:class:`~colorlib.model.HintDecoder`).

    Returns:
        A model in training mode; the decoder is randomly initialised.
    """
    if encoder_weights not in ENCODER_SOURCES:
        raise ValueError(f"encoder_weights: expected one of {', '.join(map(repr, ENCODER_SOURCES))}, got {encoder_weights!r}")
    net = ColorizationNet(freeze_encoder=freeze_encoder, decoder=decoder, input_size=input_size, takes_hints=takes_hints)
    if encoder_weights == "imagenet":
        try:
            net.encoder = make_encoder(_imagenet_resnet18(download_timeout_s))
        except Exception as error:  # URLError, timeouts, a corrupt partial file, ...
            fallback = "a random initialisation"
            if is_cached("paper"):
                try:
                    released = load_pretrained("paper", progress=False)
                except (ValueError, OSError, DownloadError, ChecksumError):
                    pass  # a corrupt cached copy that cannot be fetched again offline
                else:
                    net.encoder.load_state_dict(released.encoder.state_dict())
                    fallback = "the encoder of the released checkpoint (same ImageNet filters)"
            warnings.warn(
                f"ImageNet weights for ResNet-18 are not available ({type(error).__name__}: "
                f"{error}); using {fallback} instead. Connect to the network once, or put "
                "resnet18-f37072fd.pth into torch's hub cache, to get them.",
                RuntimeWarning,
                stacklevel=2,
            )
    elif encoder_weights == "released":
        net.encoder.load_state_dict(load_pretrained("paper").encoder.state_dict())
    net.freeze_encoder(freeze_encoder)
    return net.train()


# --------------------------------------------------------------------------------------
# Zhang et al.'s released ECCV16 weights (ModelZ).
# --------------------------------------------------------------------------------------

_MODELZ_FILENAME = "colorization_release_v2-9b330a0b.pth"
#: The authors' released ECCV16 weights (a plain state dict, 128,976,165 bytes).
#:
#: Pinned by the file's full sha256 and its size, as two independent sources give them;
#: the file name keeps torch.hub's convention of carrying the digest's first 8 hex digits
#: (``9b330a0b``). A file with any other byte is refused (:class:`colorlib.hub.ChecksumError`)
#: before it is loaded, and loading uses ``weights_only=True`` (tensors only, no pickle code).
MODELZ_WEIGHTS = RemoteFile(
    filename=_MODELZ_FILENAME,
    url="https://colorizers.s3.us-east-2.amazonaws.com/" + _MODELZ_FILENAME,
    sha256="9b330a0bae53f4ded77b1e23defbf78beaa09c10ebc4c4999e8e4f4a160b93f9",
    size=128_976_165,
)


# --------------------------------------------------------------------------------------
# The released weights.
# --------------------------------------------------------------------------------------


def load_modelz(
    path: str | os.PathLike | None = None,
    *,
    temperature: float | None = None,
    progress: bool = True,
    remote: RemoteFile | None = None,
) -> ModelZ:
    """ModelZ with the authors' released weights, in eval mode, on the CPU.

    Args:
        path: a local copy of the state dict; by default the file is downloaded once
            into colorlib's cache (``COLORLIB_CACHE``) and checked there.
        temperature: see :class:`ModelZ`.
        progress: show a progress bar while downloading.
        remote: where to download from (default :data:`MODELZ_WEIGHTS`; ``COLORLIB_MIRROR`` applies).

    Raises:
        WeightsUnavailableError: not cached and cannot be downloaded (offline).
        UnsafeCheckpointError: the file holds more than tensors.
        ValueError: the file is not a ModelZ state dict (names or shapes differ).
    """
    if path is None:
        path = download(remote if remote is not None else MODELZ_WEIGHTS, progress=progress)
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no ModelZ weights at {path}")
    state = safe_torch_load(path)
    model = ModelZ(temperature=temperature)
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ValueError(f"{path.name} is not a state dict of tensors (ModelZ's released file is one)")
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as error:
        details = " ".join(str(error).split())
        raise ValueError(f"{path.name} does not fit ModelZ: {details}") from error
    return model.eval()


def load_modelz_or_none(temperature: float | None = None, *, progress: bool = False) -> ModelZ | None:
    """:func:`load_modelz`, or ``None`` when its weights can be neither found nor downloaded.

    For notebooks: every ModelZ cell checks for ``None`` and says so
    (:data:`colorlib.modelz.MODELZ_OFFLINE_MESSAGE`), so a notebook runs to the end
    without a network.
    """
    try:
        return load_modelz(temperature=temperature, progress=progress)
    except WeightsUnavailableError:
        return None
