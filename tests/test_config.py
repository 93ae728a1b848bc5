"""colorlib.config: profiles, the environment variables, the folders, the recipe and the field choices."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import pytest

from colorlib import config
from colorlib.config import (
    ENCODER_SOURCES,
    FIELD_CHOICES,
    LOSS_NAMES,
    MACHINE_FIELDS,
    PROFILES,
    TrainSettings,
    cache_dir,
    figures_dir,
    get_profile,
    run_dir,
)

# --------------------------------------------------------------------------------------
# Profiles and COLORLIB_PROFILE.
# --------------------------------------------------------------------------------------


def test_unknown_profile_is_a_clear_value_error(monkeypatch):
    monkeypatch.delenv("COLORLIB_PROFILE", raising=False)
    with pytest.raises(ValueError, match=r"unknown profile 'bad': expected one of \['paper', 'quick'\]") as caught:
        get_profile("bad")
    assert "COLORLIB_PROFILE=quick" in str(caught.value)
    monkeypatch.setenv("COLORLIB_PROFILE", "laptop")
    with pytest.raises(ValueError, match="unknown profile 'laptop'"):
        get_profile()


def test_colorlib_profile_chooses_the_profile_ignoring_case_and_spaces(monkeypatch):
    monkeypatch.delenv("COLORLIB_PROFILE", raising=False)
    assert get_profile() is PROFILES["quick"]  # the default
    monkeypatch.setenv("COLORLIB_PROFILE", "PAPER")
    assert get_profile() is PROFILES["paper"]
    assert get_profile().input_size == 224 and get_profile().epochs == 100
    monkeypatch.setenv("COLORLIB_PROFILE", " Quick\n")
    assert get_profile().name == "quick" and get_profile().input_size == 64
    # A name given in the call wins over the environment.
    monkeypatch.setenv("COLORLIB_PROFILE", "paper")
    assert get_profile("Quick") is PROFILES["quick"]


# --------------------------------------------------------------------------------------
# The folders.
# --------------------------------------------------------------------------------------


def test_cache_dir_is_colorlib_cache_then_xdg_then_home(tmp_path, monkeypatch):
    monkeypatch.setenv("COLORLIB_CACHE", str(tmp_path / "mine" / "weights"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() == tmp_path / "mine" / "weights" and cache_dir().is_dir()  # created
    monkeypatch.delenv("COLORLIB_CACHE")
    assert cache_dir() == tmp_path / "xdg" / "colorlib" and cache_dir().is_dir()
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache_dir() == tmp_path / "home" / ".cache" / "colorlib" and cache_dir().is_dir()
    monkeypatch.setenv("COLORLIB_CACHE", "~/elsewhere")  # ~ is expanded
    assert cache_dir() == tmp_path / "home" / "elsewhere"


def test_data_dir_is_colorlib_data_or_places205_in_the_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("COLORLIB_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("COLORLIB_DATA", raising=False)
    assert config.data_dir() == tmp_path / "cache" / "places205"
    monkeypatch.setenv("COLORLIB_DATA", str(tmp_path / "big-disk"))
    assert config.data_dir() == tmp_path / "big-disk"


def test_run_and_figures_folders_inside_the_clone():
    root = Path(config.__file__).resolve().parent.parent
    assert config.repo_root() == root and (root / "notebooks").is_dir()
    assert run_dir("quick") == root / "runs" / "quick"
    assert figures_dir() == root / "figures"


def test_run_and_figures_folders_outside_a_clone(tmp_path, monkeypatch):
    monkeypatch.setattr(config, "repo_root", lambda: None)  # an installed package: no notebooks/ beside it
    monkeypatch.chdir(tmp_path)
    assert run_dir("paper") == tmp_path / "runs" / "paper"
    assert not (tmp_path / "runs").exists()  # run_dir does not create it
    assert figures_dir() == tmp_path / "figures" and (tmp_path / "figures").is_dir()  # figures_dir does


# --------------------------------------------------------------------------------------
# The recipe and the choices.
# --------------------------------------------------------------------------------------


def test_recipe_is_every_field_but_the_machine_ones():
    settings = TrainSettings(**{**PROFILES["quick"].to_dict(), "out": "runs/x", "seed": 3, "compile": True})
    recipe = settings.recipe()
    assert set(recipe) == {f.name for f in fields(TrainSettings)} - MACHINE_FIELDS
    assert MACHINE_FIELDS == {"out", "device", "num_workers", "compile", "amp", "channels_last"}
    assert recipe["seed"] == 3 and recipe["learning_rate"] == 0.003 and recipe["input_size"] == 64
    # Two runs that differ only in where and how fast they run have the same recipe ...
    elsewhere = TrainSettings(**{**settings.to_dict(), "out": "/tmp/y", "device": "cuda", "num_workers": 8,
                                 "compile": False, "amp": True, "channels_last": True})
    assert elsewhere.recipe() == recipe
    # ... and any other field changes it.
    assert TrainSettings(**{**settings.to_dict(), "seed": 4}).recipe() != recipe


def test_field_choices_are_the_loss_names_and_encoder_sources():
    assert LOSS_NAMES == ("mse", "l1", "classification")
    assert ENCODER_SOURCES == ("released", "imagenet", "random")
    assert FIELD_CHOICES == {"loss": LOSS_NAMES, "encoder_weights": ENCODER_SOURCES}
    for name in FIELD_CHOICES:
        assert name in {f.name for f in fields(TrainSettings)}
    # Every profile uses one of the offered values.
    for profile in PROFILES.values():
        assert profile.loss in FIELD_CHOICES["loss"]
        assert profile.encoder_weights in FIELD_CHOICES["encoder_weights"]


def test_field_help_describes_every_field_in_one_line():
    described = config.field_help()
    assert set(described) == {f.name for f in fields(TrainSettings)}
    assert described["seed"] == "seeds the decoder's initialisation and every epoch's randomness."
    assert described["input_size"].startswith("side of the square network input in pixels")
    assert all("\n" not in text and text for text in described.values())

