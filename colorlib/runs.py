"""The course's training runs: where each one lives, the lessons' experiments, reusing a finished run.

One module owns every run folder's name, so that the lesson that trains a model and the
lesson that offers it agree:

- :func:`course_model_path`: the main run of a profile (lesson 04, ``colorlib train``),
  ``runs/<profile>/best.pth``;
- :func:`loss_run_dir`: one run of the loss experiment (lesson 07),
  ``runs/<profile>-<loss>[-rebalanced]-seed<N>``;
- :func:`hint_run_dir`: the network that takes colour hints (lesson 08),
  ``runs/<profile>-hints-seed<N>``, started from the main run (:func:`hint_run_config`);
- :func:`course_model_candidates`: what the photo lesson (09) offers, built from the first two.

:func:`train_or_reuse` trains a run unless its folder already holds the finished run of
the same recipe, so that running a lesson again costs nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from .checkpointing import BEST_CHECKPOINT, LAST_CHECKPOINT, load_checkpoint
from .config import LOSS_NAMES, Profile, experiment_settings, get_profile, run_dir
from .train import TrainConfig, TrainResult, train
from .weights import (
    PAPER_WEIGHTS,
    load_pretrained,
)

__all__ = [
    "ModelCandidate",
    "course_model_candidates",
    "course_model_path",
    "loss_run_dir",
    "hint_run_dir",
    "hint_run_config",
    "LOSS_VARIANTS",
    "loss_experiment_config",
    "train_or_reuse",
    "has_finished_run",
]


@dataclass(frozen=True)
class ModelCandidate:
    """A model that notebook 09 can offer, if it exists.

    Attributes:
        label: its name in the menu.
        source: a name of :data:`colorlib.weights.PAPER_WEIGHTS` (``"paper"``: downloaded
            on first use) or the path of a checkpoint file (``runs/quick/best.pth``).
        how_to_get: one line saying how to make it exist, shown while it does not.
    """

    label: str
    source: str | Path
    how_to_get: str = ""

    @property
    def available(self) -> bool:
        """A registered name always is (it downloads); a path is when the file exists."""
        if isinstance(self.source, str) and self.source in PAPER_WEIGHTS:
            return True
        return Path(self.source).is_file()


def course_model_candidates(*, profile: Profile | None = None) -> list[ModelCandidate]:
    """The models of the course, in menu order: the released one, notebook 04's, notebook 07's.

    Args:
        profile: whose runs to look for (default :func:`colorlib.get_profile`).
    """
    profile = profile or get_profile()
    return [
        ModelCandidate("released model (the paper's authors)", "paper", "downloaded on first use"),
        ModelCandidate(
            f"quick MSE model (notebook 04, profile {profile.name})",
            course_model_path(profile),
            "run notebook 04 (or `colorlib train`) to make it",
        ),
        ModelCandidate(
            "classification model (notebook 07)",
            loss_run_dir("classification", rebalance=True, seed=0, profile=profile) / BEST_CHECKPOINT,
            "run notebook 07 to make it",
        ),
    ]


def course_model_path(profile: Profile | None = None) -> Path:
    """Where notebook 04 (``colorlib train``) leaves the profile's best model:
    ``<repo>/runs/<profile>/best.pth`` (it may not exist yet)."""
    return run_dir((profile or get_profile()).name) / BEST_CHECKPOINT


def loss_run_dir(loss: str, *, rebalance: bool = False, seed: int = 0, profile: Profile | None = None) -> Path:
    """The folder of one of notebook 07's runs: ``<repo>/runs/<profile>-<loss>[-rebalanced]-seed<N>``,
    except the MSE run of seed 0 when the experiment is the main run's recipe (the quick
    profile): that is the main run, ``<repo>/runs/<profile>``.

    Its ``best.pth`` is what :func:`colorlib.load_pretrained` loads; e.g. the seed-0
    rebalanced classification model of the quick profile is
    ``runs/quick-classification-rebalanced-seed0/best.pth``.

    Raises:
        ValueError: an unknown loss, rebalancing for a regression loss, a negative seed.
    """
    if loss not in LOSS_NAMES:
        raise ValueError(f"loss_run_dir: expected a loss in {LOSS_NAMES}, got {loss!r}")
    if rebalance and loss != "classification":
        raise ValueError("loss_run_dir: class rebalancing applies to the classification loss only")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"loss_run_dir: expected a seed >= 0, got {seed!r}")
    profile = profile or get_profile()
    if loss == "mse" and seed == 0 and not experiment_settings(profile, "loss_experiment"):
        return run_dir(profile.name)  # the experiment is the main run's recipe: its seed 0 is the main run
    return run_dir(profile.name).parent / f"{profile.name}-{loss}{'-rebalanced' if rebalance else ''}-seed{seed}"


#: Notebook 07's rows: name -> (loss, rebalance). Only the loss and the output head differ.
LOSS_VARIANTS: dict[str, tuple[str, bool]] = {
    "MSE (the paper)": ("mse", False),
    "L1": ("l1", False),
    "classification": ("classification", False),
    "classification + rebalancing": ("classification", True),
}




def loss_experiment_config(loss: str, *, rebalance: bool = False, seed: int = 0,
                           profile: Profile | None = None) -> TrainConfig:
    """The training settings of one of notebook 07's runs.

    The profile's settings as :data:`colorlib.config.EXPERIMENTS` changes them for the
    ``"loss_experiment"``, the loss, rebalancing and seed, and :func:`loss_run_dir` as the
    output folder. Every run
    shares the frozen encoder, the decoder trunk, the data and the epochs; the seed draws
    the stored crops, the decoder's initialisation and the batch order.

    Raises:
        ValueError: as :func:`loss_run_dir`.
    """
    profile = profile or get_profile()
    folder = loss_run_dir(loss, rebalance=rebalance, seed=seed, profile=profile)
    settings = experiment_settings(profile, "loss_experiment")
    return TrainConfig.from_profile(profile, loss=loss, rebalance=rebalance, seed=seed, out=folder, **settings)


def hint_run_dir(*, seed: int = 0, profile: Profile | None = None) -> Path:
    """The folder of lesson 08's network that takes colour hints: ``<repo>/runs/<profile>-hints-seed<N>``.

    Raises:
        ValueError: a negative seed.
    """
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"hint_run_dir: expected a seed >= 0, got {seed!r}")
    profile = profile or get_profile()
    return run_dir(profile.name).parent / f"{profile.name}-hints-seed{seed}"


def hint_run_config(*, seed: int = 0, profile: Profile | None = None) -> TrainConfig:
    """The training settings of lesson 08's hint network: the profile's settings as
    :data:`colorlib.config.EXPERIMENTS` changes them for ``"hints"`` (in the quick profile
    one stored crop per photo, 6 epochs, learning rate 0.001), with ``hints`` (fresh simulated hints at every
    step), its decoder started from the main run's best model (:func:`course_model_path`,
    as a path relative to the repository, so that the recipe is the same on every machine)
    with the hint channels at zero (:mod:`colorlib.warm_start`), and :func:`hint_run_dir`
    as the output folder.

    The main run must exist first (``train_or_reuse(TrainConfig.from_profile(profile))``).
    """
    profile = profile or get_profile()
    start = course_model_path(profile)
    root = run_dir(profile.name).parent.parent
    init_from = start.relative_to(root).as_posix() if start.is_relative_to(root) else str(start)
    settings = experiment_settings(profile, "hints")
    return TrainConfig.from_profile(profile, hints=True, init_from=init_from, seed=seed,
                                    out=hint_run_dir(seed=seed, profile=profile), **settings)


def train_or_reuse(
    config: TrainConfig,
    *,
    progress: bool = False,
    log: Callable[[str], None] | None = None,
) -> TrainResult:
    """Train ``config`` unless ``<config.out>`` already holds the finished run of the same recipe.

    A notebook that trains calls this instead of :func:`train`, so that running it again
    costs nothing. ``<out>/last.pth`` decides:

    - it records the same recipe (:meth:`~colorlib.config.TrainSettings.recipe`: every
      field but the machine's, :data:`~colorlib.config.MACHINE_FIELDS`, so another device
      or number of workers reuses the run) and
      all ``config.epochs`` epochs (or ``config.max_steps`` steps), and ``best.pth`` is
      there: nothing is trained; the result is read from the files;
    - the same recipe, unfinished (the run was interrupted): it is resumed;
    - another recipe, or no run at all: the run is trained from scratch (a run of another
      recipe in the folder is replaced).

    Args:
        config: the run's settings; ``config.out`` names the run's folder.
        progress: progress bars while training.
        log: called with one line saying what was done (reused, resumed, trained,
            replaced), then with :func:`train`'s line per epoch; ``None``: silent.

    Returns:
        A :class:`TrainResult`, the same either way: ``model`` is the last epoch's network
        (in eval mode, on the CPU when reused), ``history`` one dict per epoch with the
        ``seconds`` each took when it was trained.

    Raises:
        ValueError: ``<out>/last.pth`` is not a colorlib training checkpoint (it is left alone).
        TrainingDivergedError, FileExistsError: as :func:`train`.

    A tiny run on the offline sample photos, trained once and then reused:

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     tiny = TrainConfig.from_profile("quick", out=folder, data="samples", input_size=32, epochs=1,
    ...                                     batch_size=4, train_images=4, val_images=2, device="cpu",
    ...                                     encoder_weights="random", cache_features=False)
    ...     said = []
    ...     first = train_or_reuse(tiny, log=said.append)
    ...     again = train_or_reuse(tiny, log=said.append)
    ...     print(said[0].split(": ")[1], "|", said[-1].split(": ")[1], "|", again.history == first.history)
    training | reusing the finished run (1 epochs) | True
    """
    if not isinstance(config, TrainConfig):
        raise ValueError(f"train_or_reuse: expected a TrainConfig, got {type(config).__name__}")
    out = Path(config.out)
    last_path, best_path = out / LAST_CHECKPOINT, out / BEST_CHECKPOINT
    say = log if log is not None else (lambda line: None)
    if not last_path.exists():
        say(f"{out.name}: training")
        return train(config, overwrite=True, progress=progress, log=log)
    try:
        checkpoint = load_checkpoint(last_path)
    except ValueError as error:
        raise ValueError(
            f"train_or_reuse: {last_path} is not a colorlib training checkpoint; delete it or choose another "
            f"output folder ({error})"
        ) from error
    stored = TrainConfig.from_dict(checkpoint.get("config", {})).recipe()
    if stored != config.recipe():
        changed = sorted(key for key, value in config.recipe().items() if stored.get(key) != value)
        say(f"{out.name}: the run there has other settings ({', '.join(changed)}): training again")
        return train(config, overwrite=True, progress=progress, log=log)
    completed = int(checkpoint["epoch"])
    if not (_is_finished(checkpoint, config) and best_path.exists()):
        say(f"{out.name}: resuming after epoch {completed}")
        return train(config, resume=True, progress=progress, log=log)
    say(f"{out.name}: reusing the finished run ({completed} epochs)")
    return _finished_run(checkpoint, last_path)


def has_finished_run(config: TrainConfig) -> bool:
    """Whether ``<config.out>`` holds the finished run of ``config``'s recipe: what
    :func:`train_or_reuse` would only read (a folder that is not a run counts as no run)."""
    out = Path(config.out)
    if not (out / LAST_CHECKPOINT).exists() or not (out / BEST_CHECKPOINT).exists():
        return False
    try:
        checkpoint = load_checkpoint(out / LAST_CHECKPOINT)
    except ValueError:
        return False
    if TrainConfig.from_dict(checkpoint.get("config", {})).recipe() != config.recipe():
        return False
    return _is_finished(checkpoint, config)


def _is_finished(checkpoint: dict, config: TrainConfig) -> bool:
    """Whether the run of ``checkpoint`` (its ``last.pth``, loaded) did all of ``config``'s epochs or steps."""
    completed, steps = int(checkpoint["epoch"]), int(checkpoint["step"])
    return completed >= config.epochs or (config.max_steps is not None and steps >= config.max_steps)


def _finished_run(checkpoint: dict, last_path: Path) -> TrainResult:
    """The :class:`TrainResult` of a finished run, read from its ``last.pth`` (already loaded)."""
    skipped = checkpoint.get("skipped", {})
    return TrainResult(
        model=load_pretrained(last_path),
        history=list(checkpoint["history"]),
        best_val_loss=checkpoint["best_val_loss"],
        best_epoch=checkpoint["best_epoch"],
        out=last_path.parent,
        skipped_grayscale=list(skipped.get("grayscale", [])),
        skipped_unreadable=list(skipped.get("unreadable", [])),
    )
