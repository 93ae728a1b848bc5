"""colorlib.runs: where every run lives (the folder a lesson writes is the folder the next
one offers) and train_or_reuse (train once, then reuse, resume or replace)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from colorlib import config
from colorlib.checkpointing import load_checkpoint, save_checkpoint
from colorlib.config import (
    EXPERIMENTS,
    LOSS_NAMES,
    PROFILES,
    experiment_settings,
    get_profile,
)
from colorlib.runs import (
    LOSS_VARIANTS,
    course_model_candidates,
    course_model_path,
    loss_experiment_config,
    loss_run_dir,
    train_or_reuse,
)
from colorlib.train import TrainConfig, train

TINY = dict(input_size=32, epochs=2, batch_size=4, train_images=8, val_images=4,
            data="samples", encoder_weights="random", device="cpu", num_workers=0, seed=0, cache_features=False)


def _tiny(out: Path, **changes) -> TrainConfig:
    return TrainConfig.from_profile("quick", **{**TINY, "out": out, **changes})


def _weights(path: Path) -> dict[str, torch.Tensor]:
    return torch.load(path, map_location="cpu", weights_only=True)["model"]


def _same_weights(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


@pytest.fixture
def clone(tmp_path, monkeypatch):
    """A course repository at ``tmp_path``: every run folder goes under ``tmp_path / "runs"``."""
    monkeypatch.setattr(config, "repo_root", lambda: tmp_path)
    return tmp_path


# --------------------------------------------------------------------------------------
# Run folders: what one lesson writes is what the next one offers.
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(PROFILES))
def test_lesson_09_offers_the_models_lessons_04_and_07_write(name, clone):
    profile = get_profile(name)
    released, course, classification = course_model_candidates(profile=profile)
    assert released.source == "paper" and released.available
    # Notebook 04 (colorlib train) writes to TrainConfig.from_profile's default folder.
    assert Path(TrainConfig.from_profile(profile).out) == course.source.parent == course_model_path(profile).parent
    assert course.source == clone / "runs" / name / "best.pth"
    # Notebook 07 trains loss_experiment_config(...) and lesson 09 offers its seed-0 rebalanced run.
    folder = loss_run_dir("classification", rebalance=True, seed=0, profile=profile)
    assert classification.source == folder / "best.pth"
    assert Path(loss_experiment_config("classification", rebalance=True, seed=0, profile=profile).out) == folder
    assert folder == clone / "runs" / f"{name}-classification-rebalanced-seed0"
    assert not course.available and not classification.available
    folder.mkdir(parents=True)
    (folder / "best.pth").write_bytes(b"")
    assert classification.available


def test_training_writes_the_model_course_model_path_points_to(clone):
    profile = get_profile("quick")
    candidate = course_model_candidates(profile=profile)[1]
    assert not candidate.available
    result = train(TrainConfig.from_profile("quick", **TINY), progress=False)  # the default output folder
    assert result.best_checkpoint == course_model_path(profile) == clone / "runs" / "quick" / "best.pth"
    assert candidate.available and course_model_path(profile).is_file()


def test_every_loss_run_has_its_own_folder_and_settings(clone):
    quick, paper = get_profile("quick"), get_profile("paper")
    folders = {loss_run_dir(loss, rebalance=rebalance, seed=seed, profile=quick)
               for loss, rebalance in LOSS_VARIANTS.values() for seed in (0, 1)}
    assert len(folders) == 8
    assert {f.name for f in folders if f.name.endswith("seed1")} == {
        "quick-mse-seed1", "quick-l1-seed1", "quick-classification-seed1", "quick-classification-rebalanced-seed1"}
    # The quick experiment is the main run's recipe, so its MSE run of seed 0 is the main run.
    assert EXPERIMENTS["quick"]["loss_experiment"] == {}
    assert loss_run_dir("mse", seed=0, profile=quick) == course_model_path(quick).parent == clone / "runs" / "quick"
    assert loss_experiment_config("mse", seed=0, profile=quick).recipe() == TrainConfig.from_profile(quick).recipe()
    for loss in LOSS_NAMES:
        settings = loss_experiment_config(loss, seed=3, profile=quick)
        assert (settings.loss, settings.seed, settings.rebalance) == (loss, 3, False)
        main_run = TrainConfig.from_profile(quick, loss=loss, seed=3).recipe()
        assert settings.recipe() == main_run  # only the loss and seed differ from the main run
        assert Path(settings.out) == loss_run_dir(loss, seed=3, profile=quick)
    on_paper = loss_experiment_config("mse", profile=paper)
    assert (on_paper.input_size, on_paper.epochs) == (224, 100)  # the paper profile keeps its own settings
    assert loss_run_dir("mse", seed=0, profile=paper) == clone / "runs" / "paper"  # the paper profile alike


def test_every_experiment_changes_only_profile_fields_in_every_profile():
    for name, profile in PROFILES.items():
        assert set(EXPERIMENTS[name]) == {"ablation", "loss_experiment", "hints"}
        for experiment in EXPERIMENTS[name]:
            changes = experiment_settings(profile, experiment)
            TrainConfig.from_profile(profile, **changes)  # every key is a setting with a valid value
    assert experiment_settings(get_profile("quick"), "ablation") == {"epochs": 3, "views_per_photo": 1}
    with pytest.raises(ValueError, match="expected an experiment in"):
        experiment_settings(get_profile("quick"), "ablations")


@pytest.mark.parametrize(
    "args, message",
    [
        (("ce", {}), "expected a loss in"),
        (("mse", {"rebalance": True}), "classification loss only"),
        (("l1", {"seed": -1}), "expected a seed >= 0, got -1"),
        (("l1", {"seed": True}), "expected a seed >= 0, got True"),
    ],
)
def test_loss_run_dir_rejects_bad_arguments(args, message):
    loss, options = args
    with pytest.raises(ValueError, match=message):
        loss_run_dir(loss, **options)
    with pytest.raises(ValueError, match=message):
        loss_experiment_config(loss, **options)


# --------------------------------------------------------------------------------------
# train_or_reuse (moved here from tests/test_train.py with the function).
# --------------------------------------------------------------------------------------


def test_train_or_reuse_trains_once_then_reuses_resumes_or_replaces(tmp_path):
    out = tmp_path / "run"
    lines: list[str] = []
    first = train_or_reuse(_tiny(out), log=lines.append)
    assert lines[0] == "run: training" and len(first.history) == 2
    stamp = (out / "last.pth").stat().st_mtime_ns
    # A finished run of the same settings, even with another output path written in it: nothing is trained.
    lines.clear()
    again = train_or_reuse(_tiny(out), log=lines.append)
    assert lines == ["run: reusing the finished run (2 epochs)"]
    assert (out / "last.pth").stat().st_mtime_ns == stamp
    assert again.history == first.history and again.best_epoch == first.best_epoch
    assert again.best_val_loss == first.best_val_loss and again.best_checkpoint == out / "best.pth"
    assert _same_weights(again.model.state_dict(), _weights(out / "last.pth")) and not again.model.training
    # A 2-epoch run interrupted after epoch 1 (its last.pth then): resumed, it ends as the uninterrupted run.
    interrupted = tmp_path / "interrupted"
    train(_tiny(interrupted, epochs=1), progress=False)
    checkpoint = load_checkpoint(interrupted / "last.pth")
    checkpoint["config"]["epochs"] = 2
    save_checkpoint(checkpoint, interrupted / "last.pth")
    lines.clear()
    resumed = train_or_reuse(_tiny(interrupted), log=lines.append)
    assert lines[0] == "interrupted: resuming after epoch 1"
    assert [e["epoch"] for e in resumed.history] == [1, 2]
    assert [e["val_loss"] for e in resumed.history] == [e["val_loss"] for e in first.history]
    # Other settings: trained again from scratch, replacing the run.
    lines.clear()
    other = train_or_reuse(_tiny(out, learning_rate=0.001), log=lines.append)
    assert lines[0] == "run: the run there has other settings (learning_rate): training again"
    assert load_checkpoint(out / "last.pth")["config"]["learning_rate"] == 0.001 and len(other.history) == 2
    # A file that is no training checkpoint is left alone, with a clear error.
    (tmp_path / "odd").mkdir()
    (tmp_path / "odd" / "last.pth").write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="not a colorlib training checkpoint"):
        train_or_reuse(_tiny(tmp_path / "odd"))
    assert (tmp_path / "odd" / "last.pth").read_bytes() == b"not a checkpoint"
    with pytest.raises(ValueError, match="expected a TrainConfig"):
        train_or_reuse({"epochs": 2})


def test_a_stored_recipe_is_the_same_experiment_when_only_a_newer_default_field_is_missing():
    from colorlib import runs
    from colorlib.lessons.loss_experiment import same_recipe

    recipe = runs.loss_experiment_config("mse", seed=1).recipe()
    older = {key: value for key, value in recipe.items() if key != "init_from"}  # written before the field
    assert older != recipe and same_recipe(older, recipe)
    assert not same_recipe({**recipe, "epochs": recipe["epochs"] + 1}, recipe)
    assert not same_recipe({**older, "init_from": "runs/quick/best.pth"}, recipe)
    assert not same_recipe({"input_size": "big"}, recipe)
