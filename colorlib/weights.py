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
import hashlib
import os
import pickle
import re
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn
from torchvision.models.resnet import BasicBlock
from tqdm.auto import tqdm

from .config import cache_dir
from .model import ColorizationNet

__all__ = [
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
    "CHECKPOINT_FORMAT",
]

PAPER_REPOSITORY_URL = (
    "https://github.com/fanboqia/CSIT5910-Machine-Learning/raw/"
    "658b1b9d4c28db416ee8f59c9d302c1beb92ea8b/saved_models/"
)
#: Set this to a mirror (``http://host/path/``) to fetch the authors' files from elsewhere.
WEIGHTS_URL_ENV = "COLORLIB_WEIGHTS_URL"
#: ``format`` entry of the checkpoints that :mod:`colorlib.train` writes.
CHECKPOINT_FORMAT = "colorlib-checkpoint-v1"


@dataclass(frozen=True)
class RemoteFile:
    """A file to download: its name in the cache, where it lives, and its sha256.

    ``sha256`` is the full digest (64 hex digits) whenever it is known. Some publishers
    give only a prefix, in the torch.hub convention ``<name>-<first hex digits>.pth``
    that ``torch.hub.load_state_dict_from_url(check_hash=True)`` checks (Zhang et al.'s
    ``colorization_release_v2-9b330a0b.pth``); then ``sha256`` may be that prefix, at
    least 8 hex digits, and only those digits are compared. A prefix catches truncated
    and corrupt downloads but is too short to rule out a deliberate forgery: replace it
    with the full digest once one is verified.
    """

    filename: str
    url: str
    sha256: str

    def __post_init__(self) -> None:
        if not (8 <= len(self.sha256) <= 64 and all(c in "0123456789abcdef" for c in self.sha256)):
            raise ValueError(
                f"RemoteFile {self.filename}: sha256 must be 8 to 64 lowercase hex digits "
                f"(the full digest, or a prefix of it), got {self.sha256!r}"
            )

    def matches(self, digest: str) -> bool:
        """Whether a file's full sha256 ``digest`` is the expected one (or starts with the prefix)."""
        return digest.startswith(self.sha256)


def _paper_file(filename: str, sha256: str) -> RemoteFile:
    return RemoteFile(filename, PAPER_REPOSITORY_URL + filename, sha256)


PAPER_CHECKPOINTS: dict[str, RemoteFile] = {
    "paper": _paper_file("model100.pth", "e9351fd19297de4a39df075ee3f5011cad9a18a79e09fa800b2236dc0ee5d6ed"),
    "paper-epoch40": _paper_file("model40.pth", "852cf40c21637773854a80ec7314d3ed1bc7dc9f5f98b90dc4d9604b0f8e9790"),
    "paper-epoch90": _paper_file("model90.pth", "cfa6f1446ee6678dc14b86b07e7a05672a0f4f6e43bb9a4521b4980ccfff4993"),
}


class WeightsUnavailableError(RuntimeError):
    """A checkpoint is neither in the cache nor downloadable (no network, say)."""


class UnsafeCheckpointError(ValueError):
    """A checkpoint needs something outside the allow-list to load."""


# --------------------------------------------------------------------------------------
# Downloading into the cache.
# --------------------------------------------------------------------------------------


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def cached_path(remote: RemoteFile, cache: Path | None = None) -> Path:
    """Where ``remote`` lives in the cache (whether or not it is there yet)."""
    return (cache if cache is not None else cache_dir()) / remote.filename


def download(
    remote: RemoteFile,
    cache: Path | None = None,
    progress: bool = True,
    timeout_s: float = 30.0,
) -> Path:
    """Return the cached copy of ``remote``, downloading it first if needed.

    A cached file is used when its sha256 matches. Otherwise the file is streamed into
    a temporary file beside its final place (with a progress bar), its sha256 checked,
    and only then renamed into place, so an interrupted or corrupt download never
    leaves a file under the final name.

    Raises:
        WeightsUnavailableError: the server cannot be reached or answered an error.
        ValueError: the downloaded file's sha256 does not match (the partial file is removed).
    """
    target = cached_path(remote, cache)
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists():
        if remote.matches(_sha256(target)):
            return target
        target.unlink()  # a stale or corrupt copy: fetch it again
    handle, temporary_name = tempfile.mkstemp(prefix=f".{remote.filename}.", suffix=".part", dir=target.parent)
    temporary = Path(temporary_name)
    digest = hashlib.sha256()
    try:
        with os.fdopen(handle, "wb") as out:
            try:
                response = urllib.request.urlopen(remote.url, timeout=timeout_s)
            except (urllib.error.URLError, OSError) as error:
                raise WeightsUnavailableError(
                    f"cannot download {remote.filename} from {remote.url}: {error}. "
                    f"Without a network, copy {remote.filename} into {target.parent} "
                    "(the cache folder, COLORLIB_CACHE)."
                ) from error
            with response:
                total = int(response.headers.get("Content-Length") or 0) or None
                with tqdm(total=total, unit="B", unit_scale=True, desc=remote.filename, disable=not progress) as bar:
                    for chunk in iter(lambda: response.read(1 << 16), b""):
                        out.write(chunk)
                        digest.update(chunk)
                        bar.update(len(chunk))
        if not remote.matches(digest.hexdigest()):
            expected = remote.sha256 if len(remote.sha256) == 64 else f"one starting with {remote.sha256}"
            raise ValueError(
                f"{remote.filename} from {remote.url} has sha256 {digest.hexdigest()}, "
                f"expected {expected}; the download was discarded"
            )
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)
    return target


def _paper_remote(name: str) -> RemoteFile:
    remote = PAPER_CHECKPOINTS[name]
    mirror = os.environ.get(WEIGHTS_URL_ENV)
    if mirror:
        remote = RemoteFile(remote.filename, mirror.rstrip("/") + "/" + remote.filename, remote.sha256)
    return remote


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


def load_pretrained(name_or_path: str | os.PathLike = "paper", progress: bool = True) -> ColorizationNet:
    """A trained :class:`ColorizationNet` in eval mode, on the CPU.

    Args:
        name_or_path: ``"paper"`` (the authors' 100-epoch checkpoint),
            ``"paper-epoch40"``, ``"paper-epoch90"``; or the path of a checkpoint
            written by :mod:`colorlib.train` (or of one of the authors' files).
        progress: show a progress bar while downloading.

    Raises:
        WeightsUnavailableError: a named checkpoint is not cached and cannot be downloaded.
        UnsafeCheckpointError: the file needs classes outside the allow-list.
        FileNotFoundError: a path that does not exist.
        ValueError: an unknown name or a file that is no colorization checkpoint.
    """
    name = os.fspath(name_or_path)
    if name in PAPER_CHECKPOINTS:
        path = download(_paper_remote(name), progress=progress)
    else:
        path = Path(name)
        if not path.exists():
            if not path.suffix and os.sep not in name and "/" not in name:
                raise ValueError(
                    f"unknown checkpoint name {name!r}: expected one of "
                    f"{', '.join(PAPER_CHECKPOINTS)}, or the path of a checkpoint file"
                )
            raise FileNotFoundError(f"no checkpoint at {name}")
    loaded = safe_torch_load(path)
    if isinstance(loaded, _AuthorsColorizationNet):
        state = _authors_state_to_ours(loaded.state_dict())
    elif isinstance(loaded, dict) and loaded.get("format") == CHECKPOINT_FORMAT and isinstance(loaded.get("model"), dict):
        state = loaded["model"]
    else:
        raise ValueError(
            f"{path} is neither one of the authors' checkpoints nor a colorlib training "
            f"checkpoint (a dict with format={CHECKPOINT_FORMAT!r})"
        )
    net = ColorizationNet(freeze_encoder=True)
    try:
        net.load_state_dict(state)
    except RuntimeError as error:  # missing, unexpected or mis-shaped tensors
        first_line = str(error).splitlines()[0]
        raise ValueError(f"{path}: its weights do not fit ColorizationNet ({first_line})") from error
    return net.eval()
