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
from dataclasses import asdict, dataclass, fields
from pathlib import Path

#: The losses a run can train with (:func:`colorlib.losses.make_loss` builds them).
LOSS_NAMES: tuple[str, ...] = ("mse", "l1", "classification")
#: Where the encoder's starting weights come from (:func:`colorlib.weights.build_colorization_net`).
ENCODER_SOURCES: tuple[str, ...] = ("released", "imagenet", "random")

PROFILE_ENV = "COLORLIB_PROFILE"
CACHE_ENV = "COLORLIB_CACHE"
DATA_ENV = "COLORLIB_DATA"


@dataclass(frozen=True)
class Profile:
    """Sizes, epochs, data and training policy for one way of running the course.

    Every per-profile choice lives here (and nowhere else): :class:`colorlib.train.TrainConfig`
    is a profile plus the settings of one run.

    Attributes:
        name: ``"quick"`` or ``"paper"``.
        input_size: side of the square network input in pixels (divisible by 8).
        epochs: training epochs.
        batch_size: training batch size.
        learning_rate: Adam's learning rate (the paper: 0.01).
        train_images: at most this many training photos.
        val_images: at most this many validation photos.
        data: ``"landscapes"`` (the course's photos), ``"course"`` (the landscapes and the
            Caltech-101 subset, stratified: :mod:`colorlib.splits`), ``"places205"`` (the
            paper's), ``"samples"`` (a few offline sample photos) or a folder.
        device: ``"cpu"`` or ``"auto"`` (a GPU when there is one).
        num_workers: data-loader worker processes.
        encoder_weights: ``"released"`` (the encoder of the authors' checkpoint: ImageNet
            filters, batch-norm statistics adapted by their training; offline),
            ``"imagenet"`` (torchvision's, downloaded) or ``"random"``.
        freeze_encoder: keep the ResNet part fixed (the authors' code did; the paper
            does not say).
        encoder_as_the_authors: with ``freeze_encoder``, freeze it as the authors' code did
            in effect: batch-norm statistics adapting, ``conv1`` trainable (see
            :meth:`colorlib.model.ColorizationNet.freeze_encoder`). Not with ``cache_features``.
        input_normalisation: standardise ``L / 100`` with ImageNet's gray mean and std
            before the encoder (the paper feeds it as it is).
        start_from_gray: start the last convolution at "predict gray" (not in the authors'
            code; saves most of a short run's steps).
        loss: ``"mse"`` (the paper), ``"l1"`` or ``"classification"`` (notebook 07).
        rebalance: classification only: Zhang et al.'s class rebalancing.
        score_downsample: classification only: score the logits at ``1 / score_downsample``
            of the photo's resolution, as Zhang et al. did (4: the logits average-pooled
            to a quarter, a quarter of the soft encoding's work); 1 scores every pixel.
        cache_features: encode ``views_per_photo`` random crops of every training photo
            once with the frozen encoder and train the decoder on the stored features:
            the crops are drawn once instead of every epoch, and each step costs only the
            decoder. Needs ``freeze_encoder``.
        views_per_photo: crops stored per photo with ``cache_features``.
        hints: train a network that takes colour hints (Zhang et al. 2017): every step
            draws fresh simulated hints from the batch's true colours (none for about 1
            photo in 8, so it also learns to colorize alone), seeded by the run's seed
            and the step; validation uses one fixed seeded set. A regression loss only
            (mse or l1).
        weight_average_decay: validate, keep and return an exponential moving average of the
            weights (each step: ``average = decay * average + (1 - decay) * weights``, over
            about ``1 / (1 - decay)`` steps) instead of the weights as the last step left
            them; 0: the weights as trained (the paper).
    """

    name: str
    input_size: int
    epochs: int
    batch_size: int
    learning_rate: float
    train_images: int
    val_images: int
    data: str
    device: str
    num_workers: int
    encoder_weights: str = "imagenet"
    freeze_encoder: bool = True
    encoder_as_the_authors: bool = False
    input_normalisation: bool = False
    start_from_gray: bool = False
    loss: str = "mse"
    rebalance: bool = False
    score_downsample: int = 4
    cache_features: bool = False
    views_per_photo: int = 4
    hints: bool = False
    weight_average_decay: float = 0.0

    def to_dict(self) -> dict:
        """The profile as a plain dict (for JSON files and checkpoints)."""
        return asdict(self)



PROFILES: dict[str, Profile] = {
    # A lesson on a 2-core laptop CPU, offline, in minutes: the course's photos (landscapes
    # and Caltech-101, split by photographer and category), the frozen encoder's features
    # of 4 crops per photo computed once, the decoder trained on them for 3 epochs: about
    # 3 minutes on 2 cores (benchmarks/train_quick_seeds.py).
    "quick": Profile(
        name="quick",
        input_size=64,
        epochs=3,
        batch_size=32,
        learning_rate=0.003,
        train_images=10_000,
        val_images=10_000,
        data="course",
        device="cpu",
        num_workers=0,
        encoder_weights="released",
        start_from_gray=True,
        cache_features=True,
        # Adam at a constant rate leaves the last step's weights noisy: their average over
        # the last ~100 steps (of 1,449) scored higher on the validation photos for each of
        # three seeds, and the seeds agree more (benchmarks/weight_averaging.py; README).
        weight_average_decay=0.99,
    ),
    # The paper: Places205 subset (40,000 train / 1,000 validation), 224x224, 100 epochs.
    "paper": Profile(
        name="paper",
        input_size=224,
        epochs=100,
        batch_size=64,
        learning_rate=0.01,
        train_images=40_000,
        val_images=1_000,
        data="places205",
        device="auto",
        num_workers=8,
        encoder_weights="imagenet",
    ),
}


#: What the lessons' short experiments change in each profile (keys are :class:`Profile`
#: fields), so that every profile runs them and none restates them:
#:
#: - ``"ablation"``: lesson 04's ablations and extra seeds: a few epochs on one stored crop
#:   per photo;
#: - ``"loss_experiment"``: lesson 07's four losses over seeds: the main run's recipe
#:   (a classification step scores at a quarter of the resolution and costs about 1.5
#:   MSE steps: benchmarks/loss_speed.py);
#: - ``"hints"``: lesson 08's hint network, started from the main run's decoder
#:   (``init_from``): in the quick profile one stored crop per photo, 6 epochs and a third
#:   of the main run's learning rate (the decoder is trained already: smaller steps keep
#:   more of its colouring without hints; 6 epochs and this rate did better than 3 epochs
#:   and the main run's rate on the validation photos), so that a first run of the lesson
#:   trains it in about two minutes on 2 cores; in the paper profile the main run's recipe.
#:
#: They are not :class:`Profile` fields: a field would become a flag of ``colorlib train``
#: and part of every run's recipe, while these only say how the lessons build their runs.
EXPERIMENTS: dict[str, dict[str, dict[str, int | float]]] = {
    "quick": {
        "ablation": {"epochs": 3, "views_per_photo": 1},
        "loss_experiment": {},
        "hints": {"epochs": 6, "views_per_photo": 1, "learning_rate": 0.001},
    },
    "paper": {
        "ablation": {"epochs": 3, "views_per_photo": 1},
        "loss_experiment": {},
        "hints": {},
    },
}


def experiment_settings(profile: Profile, experiment: str) -> dict[str, int | float]:
    """The changes that ``experiment`` (a key of :data:`EXPERIMENTS`' rows) makes to ``profile``.

    >>> experiment_settings(get_profile("quick"), "ablation")
    {'epochs': 3, 'views_per_photo': 1}

    Raises:
        ValueError: a profile or experiment that :data:`EXPERIMENTS` does not list.
    """
    rows = EXPERIMENTS.get(profile.name)
    if rows is None:
        raise ValueError(f"experiment_settings: expected a profile in {sorted(EXPERIMENTS)}, got {profile.name!r}")
    if experiment not in rows:
        raise ValueError(f"experiment_settings: expected an experiment in {sorted(rows)}, got {experiment!r}")
    return dict(rows[experiment])


@dataclass(frozen=True)
class TrainSettings(Profile):
    """The fields of :class:`colorlib.train.TrainConfig`: a profile plus the settings of one run.

    Plain data that imports no torch, so that ``colorlib train``'s options can be made
    from its fields without loading the training code; :class:`~colorlib.train.TrainConfig`
    adds the checks and the constructors.

    Attributes:
        out: output folder for ``last.pth``, ``best.pth`` and ``history.json``.
        seed: seeds the decoder's initialisation and every epoch's randomness.
        max_steps: stop after this many optimizer steps in all (``None``: no limit).
        compile: run the model through ``torch.compile``.
        amp: bfloat16 autocast (``None``: on for CUDA, off elsewhere).
        channels_last: ``channels_last`` memory format (``None``: on for CUDA).
        init_from: start the decoder from this checkpoint's decoder (a path; relative paths
            from the repository), the hint channels' weights at zero
            (:mod:`colorlib.warm_start`); ``None``: a fresh decoder.
    """

    out: str = "runs/quick"
    seed: int = 0
    max_steps: int | None = None
    compile: bool = False
    amp: bool | None = None
    channels_last: bool | None = None
    init_from: str | None = None

    def recipe(self) -> dict:
        """The fields that decide what is learned: :meth:`to_dict` without :data:`MACHINE_FIELDS`.

        Two runs with equal recipes are the same experiment, wherever and however fast
        they ran.
        """
        return {k: v for k, v in self.to_dict().items() if k not in MACHINE_FIELDS}


#: The fields of :class:`TrainSettings` that say how and where a run is carried out, not
#: what it learns: the output folder, the device, the data-loader processes and the
#: speed-ups (``torch.compile``, bfloat16 autocast, the memory format). Everything else
#: is the recipe (:meth:`TrainSettings.recipe`). ``amp`` counts as a machine setting like
#: ``device``: both change the arithmetic's rounding, not the experiment.
MACHINE_FIELDS: frozenset[str] = frozenset({"out", "device", "num_workers", "compile", "amp", "channels_last"})

#: The data sets ``data`` names (anything else is a folder of photos): see
#: :func:`colorlib.data.build_datasets`.
NAMED_DATA: tuple[str, ...] = ("landscapes", "course", "places205", "samples")

#: The allowed values of the fields that take one of a few words.
FIELD_CHOICES: dict[str, tuple[str, ...]] = {
    "encoder_weights": ENCODER_SOURCES,
    "loss": LOSS_NAMES,
}


def field_help(settings: type = TrainSettings) -> dict[str, str]:
    """Each field's description, one line each, read from the ``Attributes:`` sections of
    the docstrings of ``settings`` and its bases (the one place the fields are described)."""
    described: dict[str, str] = {}
    for cls in reversed(settings.__mro__):
        name = None
        for line in (cls.__doc__ or "").partition("Attributes:")[2].splitlines():
            head, colon, text = line.strip().partition(": ")
            if colon and line.startswith(" " * 8) and not line.startswith(" " * 9) and head.isidentifier():
                name, described[head] = head, text
            elif name and line.startswith(" " * 12):
                described[name] += " " + line.strip()
            elif line.strip():
                name = None
    known = {f.name for f in fields(settings)}
    return {k: v for k, v in described.items() if k in known}


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


def run_dir(name: str) -> Path:
    """Where a training run of profile ``name`` is kept: ``<repo>/runs/<name>`` (``runs/<name>``
    in the current folder outside the repository). Not created here."""
    root = repo_root()
    return (root if root is not None else Path.cwd()) / "runs" / name


def figures_dir() -> Path:
    """Where figures are saved: ``<repo>/figures`` (or ``./figures`` outside the repository)."""
    root = repo_root()
    path = (root if root is not None else Path.cwd()) / "figures"
    path.mkdir(parents=True, exist_ok=True)
    return path
