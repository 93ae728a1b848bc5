"""Lesson 07's experiment over seeds: four losses trained with the main run's recipe, each
scored on Kodak24, the classifiers at two temperatures; and the file that keeps the scores.

Twelve runs (four losses, three seeds) take about half an hour on two cores, more than a
lesson should make its reader wait. So the lesson trains seed 0 of each loss itself and
reads the other seeds from ``results/loss_experiment-<profile>.json``, which
``make results`` (``scripts/loss_experiment.py``) writes by training
or reusing every run. Each entry records the run's recipe: an entry whose recipe is not
the current one is never used, and a run present in ``runs/`` always wins over the file.
The lesson checks that its own seed 0 gives the file's numbers.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from .. import metrics, runs
from ..bins import ANNEALED_MEAN_TEMPERATURE
from ..config import Profile, get_profile, repo_root
from ..evaluate import EvaluationImage, evaluation_images, model_colorizer
from ..train import TrainConfig
from ..weights import load_pretrained
from .beyond_mse import downscaled, score_colors

__all__ = [
    "TEMPERATURES",
    "row_names",
    "results_file",
    "score_run",
    "loss_experiment",
    "write_results",
    "experiment_photos",
    "same_recipe",
]

#: The temperatures at which the classifiers are scored: Zhang et al.'s annealed mean, and
#: T = 1 (the plain mean of the predicted distribution).
TEMPERATURES: tuple[float, ...] = (ANNEALED_MEAN_TEMPERATURE, 1.0)


def row_names(variant: str) -> list[str]:
    """The table's rows for one of :data:`colorlib.runs.LOSS_VARIANTS`: one for a regression
    loss, one per temperature for a classifier.

    >>> row_names("L1"), row_names("classification")
    (['L1'], ['classification, T = 0.38', 'classification, T = 1'])
    """
    loss, _ = runs.LOSS_VARIANTS[variant]
    if loss != "classification":
        return [variant]
    return [f"{variant}, T = {temperature:g}" for temperature in TEMPERATURES]


def results_file(profile: Profile | None = None) -> Path:
    """``<repo>/results/loss_experiment-<profile>.json``: the experiment's scores, committed."""
    root = repo_root() or Path.cwd()
    return root / "results" / f"loss_experiment-{(profile or get_profile()).name}.json"


def experiment_photos() -> list[EvaluationImage]:
    """The experiment's test photos: Kodak24, whole, at half size (384 x 256 or 256 x 384)."""
    return downscaled(evaluation_images(), factor=2)


def score_run(variant: str, checkpoint: str | Path, photos: Sequence[EvaluationImage], *,
              true_ab: Sequence[np.ndarray] | None = None) -> dict[str, dict[str, float]]:
    """Score one run's best model: ``{row name: score_colors(...)}`` (:func:`row_names`)."""
    model = load_pretrained(checkpoint)
    loss, _ = runs.LOSS_VARIANTS[variant]
    true_ab = [metrics.ab_of(photo.rgb) for photo in photos] if true_ab is None else true_ab
    options = [{"temperature": t} for t in TEMPERATURES] if loss == "classification" else [{}]
    scored = {}
    for row, option in zip(row_names(variant), options):
        colorizer = model_colorizer(model, **option)
        scored[row] = score_colors([colorizer(photo.rgb) for photo in photos], photos, true_ab=true_ab)
    return scored


def _stored_entries(path: Path) -> dict[str, dict]:
    if not path.is_file():
        return {}
    try:
        return json.loads(path.read_text())["runs"]
    except (ValueError, KeyError) as error:
        raise ValueError(f"loss_experiment: {path} is not a results file of this experiment ({error}); "
                         f"delete it or run `make results`") from error


def loss_experiment(
    *,
    seeds: Sequence[int],
    variants: Sequence[str] | None = None,
    profile: Profile | None = None,
    photos: Sequence[EvaluationImage] | None = None,
    train: bool = False,
    stored: Path | None = None,
    log: Callable[[str], None] | None = None,
) -> tuple[dict[str, list[dict[str, float]]], dict[str, dict]]:
    """Every loss of :data:`colorlib.runs.LOSS_VARIANTS` over ``seeds``, scored on ``photos``.

    For each run: a finished run of the same recipe in its folder is scored; else, with
    ``train``, it is trained (:func:`colorlib.runs.train_or_reuse`) and scored; else the
    entry of ``stored`` (:func:`results_file`) with the same recipe is used; else it is
    trained after all. Seeds are the outer loop, so that the four runs of a seed share
    their stored encoder features.

    Args:
        seeds: the seeds, e.g. ``(0, 1, 2)``.
        variants: names of :data:`colorlib.runs.LOSS_VARIANTS` (default: all four).
        profile: default :func:`colorlib.get_profile`.
        photos: default :func:`experiment_photos`.
        train: train the runs that are missing instead of reading them from ``stored``.
        stored: a results file (default :func:`results_file`).
        log: called with one line per run saying where its scores came from.

    Returns:
        ``(rows, entries)``: ``rows`` maps each row name (:func:`row_names`) to one score
        dict per seed (:func:`colorlib.lessons.beyond_mse.score_colors`); ``entries`` maps
        ``"<variant>, seed <N>"`` to ``{"recipe", "scores", "source"}`` (``source``:
        ``"run"`` or ``"file"``), what :func:`write_results` keeps.
    """
    profile = profile or get_profile()
    photos = experiment_photos() if photos is None else list(photos)
    true_ab = [metrics.ab_of(photo.rgb) for photo in photos]
    kept = _stored_entries(stored or results_file(profile))
    say = log or (lambda line: None)
    variants = list(runs.LOSS_VARIANTS) if variants is None else list(variants)
    unknown = [v for v in variants if v not in runs.LOSS_VARIANTS]
    if unknown:
        raise ValueError(f"loss_experiment: expected variants among {list(runs.LOSS_VARIANTS)}, got {unknown}")
    rows: dict[str, list[dict[str, float]]] = {row: [] for v in variants for row in row_names(v)}
    entries: dict[str, dict] = {}
    for seed in seeds:
        for variant in variants:
            loss, rebalance = runs.LOSS_VARIANTS[variant]
            config = runs.loss_experiment_config(loss, rebalance=rebalance, seed=seed, profile=profile)
            key, recipe = f"{variant}, seed {seed}", config.recipe()
            entry = kept.get(key)
            if not train and not runs.has_finished_run(config) and entry and same_recipe(entry["recipe"], recipe):
                scores, source = entry["scores"], "file"
            else:
                result = runs.train_or_reuse(config)
                scores, source = score_run(variant, result.best_checkpoint, photos, true_ab=true_ab), "run"
            say(f"{key}: {'scored its run' if source == 'run' else 'read from ' + (stored or results_file(profile)).name}")
            entries[key] = {"recipe": recipe, "scores": scores, "source": source}
            for row, value in scores.items():
                rows[row].append(value)
    return rows, entries


def write_results(path: Path, entries: dict[str, dict]) -> None:
    """Write ``entries`` (:func:`loss_experiment`'s second result) as the results file:
    sorted keys, numbers rounded to 6 decimals, so that the same runs write the same bytes."""

    def rounded(value):
        if isinstance(value, float):
            return round(value, 6)
        if isinstance(value, dict):
            return {k: rounded(v) for k, v in value.items()}
        if isinstance(value, list):
            return [rounded(v) for v in value]
        return value

    document = {
        "about": "Lesson 07's loss experiment: Kodak24 at half size, scored by "
                 "colorlib.lessons.beyond_mse.score_colors; written by `make results`.",
        "runs": {key: {"recipe": e["recipe"], "scores": rounded(e["scores"])} for key, e in entries.items()},
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=1, sort_keys=True) + "\n")


def same_recipe(stored: dict, recipe: dict) -> bool:
    """Whether a recipe stored in a results file and ``recipe`` (:meth:`TrainConfig.recipe`)
    are the same experiment.

    Both are read as :meth:`colorlib.train.TrainConfig.from_dict` reads a stored run, so a
    recipe written before a field existed takes the value that the field's absence meant
    (a new field at its default changes nothing); a recipe that cannot be read is not the same.
    """
    try:
        return TrainConfig.from_dict(stored).recipe() == TrainConfig.from_dict(recipe).recipe()
    except (TypeError, ValueError):
        return False
