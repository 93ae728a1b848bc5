"""The course's one switch: ``COLORLIB_PROFILE=quick|paper``, and the folders it uses.

Every notebook and every ``colorlib`` command asks :func:`get_profile` for its sizes,
epochs and data, so that the same code runs a lesson on a laptop CPU in minutes
(``quick``, the default) or the paper's full training on a GPU (``paper``).

Other environment variables read here:

- ``COLORLIB_CACHE``: where downloaded weights live (default: the user cache folder,
  ``$XDG_CACHE_HOME/colorlib`` or ``~/.cache/colorlib``).
- ``COLORLIB_DATA``: where the Places205 subset is unpacked for the paper profile
  (default: ``<cache>/places205``).
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, replace
from pathlib import Path

PROFILE_ENV = "COLORLIB_PROFILE"
CACHE_ENV = "COLORLIB_CACHE"
DATA_ENV = "COLORLIB_DATA"


@dataclass(frozen=True)
class Profile:
    """Sizes, epochs and data for one way of running the course.

    Attributes:
        name: ``"quick"`` or ``"paper"``.
        image_size: side of the square network input in pixels (divisible by 8).
        epochs: training epochs.
        batch_size: training batch size.
        learning_rate: Adam's learning rate (the paper: 0.01).
        train_images: images in the training set (crops, in the quick profile).
        val_images: images in the validation set.
        data: ``"samples"`` (offline sample photos) or ``"places205"``.
        device: ``"cpu"`` or ``"auto"`` (a GPU when there is one).
        num_workers: data-loader worker processes.
    """

    name: str
    image_size: int
    epochs: int
    batch_size: int
    learning_rate: float
    train_images: int
    val_images: int
    data: str
    device: str
    num_workers: int

    def to_dict(self) -> dict:
        """The profile as a plain dict (for JSON files and checkpoints)."""
        return asdict(self)

    def override(self, **changes) -> "Profile":
        """A copy with some fields changed; ``None`` values are ignored."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})


PROFILES: dict[str, Profile] = {
    # A lesson on a 2-core laptop CPU, offline, in minutes.
    "quick": Profile(
        name="quick",
        image_size=128,
        epochs=6,
        batch_size=16,
        learning_rate=0.003,
        train_images=192,
        val_images=8,
        data="samples",
        device="cpu",
        num_workers=0,
    ),
    # The paper: Places205 subset (40,000 train / 1,000 validation), 224x224, 100 epochs.
    "paper": Profile(
        name="paper",
        image_size=224,
        epochs=100,
        batch_size=64,
        learning_rate=0.01,
        train_images=40_000,
        val_images=1_000,
        data="places205",
        device="auto",
        num_workers=8,
    ),
}


def get_profile(name: str | None = None) -> Profile:
    """Return the profile called ``name``, or the one ``COLORLIB_PROFILE`` names (default ``quick``).

    Raises:
        ValueError: the name is not one of ``quick`` or ``paper``.
    """
    chosen = name if name is not None else os.environ.get(PROFILE_ENV, "quick")
    chosen = chosen.strip().lower()
    if chosen not in PROFILES:
        raise ValueError(
            f"unknown profile {chosen!r}: expected one of {sorted(PROFILES)} "
            f"(set {PROFILE_ENV}=quick or {PROFILE_ENV}=paper)"
        )
    return PROFILES[chosen]


def cache_dir() -> Path:
    """The folder for downloaded weights (``COLORLIB_CACHE`` or the user cache folder).

    Files are kept flat under their own names (``model100.pth``, ...), so copying them
    there by hand is a valid way to fill the cache. The folder is created if missing.
    """
    configured = os.environ.get(CACHE_ENV)
    if configured:
        path = Path(configured).expanduser()
    else:
        base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
        path = Path(base) / "colorlib"
    path.mkdir(parents=True, exist_ok=True)
    return path


def data_dir() -> Path:
    """The folder the Places205 subset is unpacked into (``COLORLIB_DATA`` or ``<cache>/places205``)."""
    configured = os.environ.get(DATA_ENV)
    return Path(configured).expanduser() if configured else cache_dir() / "places205"


def repo_root() -> Path | None:
    """The course repository that holds this package (its ``notebooks/`` folder), if any."""
    here = Path(__file__).resolve().parent.parent
    return here if (here / "notebooks").is_dir() else None


def figures_dir() -> Path:
    """Where figures are saved: ``<repo>/figures`` (or ``./figures`` outside the repository)."""
    root = repo_root()
    path = (root if root is not None else Path.cwd()) / "figures"
    path.mkdir(parents=True, exist_ok=True)
    return path
