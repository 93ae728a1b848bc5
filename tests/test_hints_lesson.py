"""colorlib.lessons.hints_lesson (lesson 08) and colorlib.warm_start, on small photos whose
answers are known: a photo of two flat halves (red | blue, of different lightness), where
Levin et al.'s propagation of one true hint per half gives back the photo's colours, and
small untrained networks whose outputs can be compared exactly.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from colorlib import runs
from colorlib.color import rgb_to_lab
from colorlib.config import experiment_settings, get_profile
from colorlib.evaluate import EvaluationImage
from colorlib.hints import Hint
from colorlib.inference import HintColorizer
from colorlib.metrics import ab_of
from colorlib.model import HINT_FEATURES, ColorizationNet
from colorlib.lessons import hints_lesson
from colorlib.train import TrainConfig
from colorlib.warm_start import copy_decoder, resolve_init_path, warm_start


def _halves(height: int = 24, width: int = 32) -> np.ndarray:
    """Left half red (200, 30, 30), right half blue (30, 60, 200): different L and ab."""
    rgb = np.empty((height, width, 3), dtype=np.uint8)
    rgb[:, : width // 2] = (200, 30, 30)
    rgb[:, width // 2 :] = (30, 60, 200)
    return rgb


def _nets(size: int = 32) -> tuple[ColorizationNet, ColorizationNet]:
    torch.manual_seed(0)
    automatic = ColorizationNet(input_size=size).eval()
    torch.manual_seed(1)
    hinted = ColorizationNet(input_size=size, takes_hints=True).eval()
    hinted.encoder.load_state_dict(automatic.encoder.state_dict())
    return automatic, hinted


# --- warm start --------------------------------------------------------------------------


def test_copy_decoder_zeroes_the_hint_channels_and_matches_the_automatic_model_without_hints():
    automatic, hinted = _nets()
    copy_decoder(hinted, automatic)
    first = hinted.decoder[0].weight
    assert first.shape[1] == automatic.decoder[0].weight.shape[1] + HINT_FEATURES
    assert torch.equal(first[:, -HINT_FEATURES:], torch.zeros_like(first[:, -HINT_FEATURES:]))
    assert torch.equal(first[:, :-HINT_FEATURES], automatic.decoder[0].weight)
    lightness = torch.rand(2, 1, 32, 32)
    with torch.no_grad():
        assert torch.allclose(hinted(lightness), automatic(lightness), atol=1e-5)
        # A hint changes nothing yet (its weights are zero) ...
        hints = torch.zeros(2, 3, 32, 32)
        hints[:, :2, 10:14, 10:14], hints[:, 2, 10:14, 10:14] = 60.0, 1.0
        assert torch.allclose(hinted(lightness, hints), automatic(lightness), atol=1e-5)


def test_copy_decoder_refuses_another_head():
    automatic, _ = _nets()
    other = ColorizationNet(input_size=32)
    other.decoder[-2] = torch.nn.Conv2d(32, 5, 3, padding=1)
    with pytest.raises(ValueError, match=r"11\.weight is \(2, 32, 3, 3\) in the source"):
        copy_decoder(other, automatic)


def test_warm_start_reads_a_checkpoint_and_names_a_missing_one(tmp_path):
    automatic, hinted = _nets()
    with pytest.raises(FileNotFoundError, match="no checkpoint at"):
        warm_start(hinted, tmp_path / "missing.pth")
    assert resolve_init_path(tmp_path / "x.pth") == tmp_path / "x.pth"
    assert resolve_init_path("runs/quick/best.pth").parts[-3:] == ("runs", "quick", "best.pth")


def test_a_tiny_run_started_from_a_trained_decoder(tmp_path):
    """init_from in a real (tiny) run: its first state is the source's decoder; the recipe holds the path."""
    base = TrainConfig.from_profile("quick", out=tmp_path / "base", data="samples", input_size=32, epochs=1,
                                    batch_size=4, train_images=4, val_images=2, device="cpu",
                                    encoder_weights="random", cache_features=False, freeze_encoder=True)
    trained = runs.train_or_reuse(base)
    hinted = TrainConfig.from_profile("quick", out=tmp_path / "hinted", data="samples", input_size=32, epochs=1,
                                      batch_size=4, train_images=4, val_images=2, device="cpu", max_steps=1,
                                      encoder_weights="random", cache_features=False, hints=True,
                                      learning_rate=1e-12, init_from=str(trained.best_checkpoint))
    assert hinted.recipe()["init_from"] == str(trained.best_checkpoint)
    result = runs.train_or_reuse(hinted)
    source = trained.model.decoder[0].weight
    started = result.model.decoder[0].weight.detach()
    assert torch.allclose(started[:, :-HINT_FEATURES], source, atol=1e-6)
    assert started[:, -HINT_FEATURES:].abs().max() < 1e-6


def test_hint_run_config_is_the_main_recipe_with_hints_from_the_main_run_and_its_experiment_settings():
    config = runs.hint_run_config(seed=2)
    main = TrainConfig.from_profile()
    assert config.hints and config.seed == 2 and config.init_from == "runs/quick/best.pth"
    assert runs.hint_run_dir(seed=2).name == "quick-hints-seed2" == config.out.split("/")[-1]
    cheaper = experiment_settings(get_profile("quick"), "hints")
    assert cheaper and cheaper["views_per_photo"] < main.views_per_photo  # cheap enough for a first run in CI
    assert {k: getattr(config, k) for k in cheaper} == cheaper
    different = {k for k, v in config.recipe().items() if main.recipe()[k] != v}
    assert different == {"hints", "init_from", "seed"} | {k for k, v in cheaper.items() if getattr(main, k) != v}
    on_paper = runs.hint_run_config(profile=get_profile("paper"))
    assert (on_paper.epochs, on_paper.input_size) == (100, 224)  # the paper profile keeps its own recipe
    with pytest.raises(ValueError, match="seed"):
        runs.hint_run_dir(seed=-1)


# --- hints and Levin's propagation ----------------------------------------------------------


def test_placed_hints_are_nested_true_and_seeded():
    photo = _halves()
    ten = hints_lesson.placed_hints(photo, count=10, seed=3, photo_index=1)
    assert hints_lesson.placed_hints(photo, count=4, seed=3, photo_index=1) == ten[:4]
    assert hints_lesson.placed_hints(photo, count=10, seed=3, photo_index=2) != ten
    true_ab = ab_of(photo)
    for hint in ten:
        expected = true_ab[hint.row, hint.column]  # a patch inside one half: that half's colour
        if hint.column + hint.patch_size // 2 < 16 or hint.column - hint.patch_size // 2 >= 16:
            assert np.allclose(hint.ab, expected, atol=1e-3)


def test_levin_colorize_keeps_each_half_nearer_its_own_hint():
    """One true hint per half: each half's colour stays nearer its own hint's than the other's
    (the edge holds most of it back: sigma_r adapts to the window, so some colour leaks), and
    the hinted pixels keep their colour."""
    photo = _halves()
    true_ab = ab_of(photo)
    red, blue = true_ab[12, 4], true_ab[12, 28]
    result = ab_of(hints_lesson.levin_colorize(photo, [Hint(12, 4, tuple(red)), Hint(12, 28, tuple(blue))]))
    for half, own, other in ((result[:, :16], red, blue), (result[:, 16:], blue, red)):
        distances = np.linalg.norm(half - own, axis=-1), np.linalg.norm(half - other, axis=-1)
        assert (distances[0] < distances[1]).all()
    assert np.allclose(result[12, 4], red, atol=1.5) and np.allclose(result[12, 28], blue, atol=1.5)
    gray = hints_lesson.levin_colorize(photo, [])
    assert np.abs(ab_of(gray)).max() < 1.0


def test_hint_experiment_scores_levin_and_the_network_on_the_same_hints():
    automatic, hinted = _nets()
    photos = [EvaluationImage("halves", _halves()), EvaluationImage("wide", _halves(16, 40))]
    experiment = hints_lesson.hint_experiment(photos, hinted, references={"automatic": automatic},
                                              counts=(0, 2, 6), seeds=(0, 1))
    levin, network = hints_lesson.METHODS
    assert experiment.counts == (0, 2, 6) and experiment.seeds == (0, 1)
    assert all(len(experiment.scores[m][c]) == 2 for m in hints_lesson.METHODS for c in (0, 2, 6))
    assert experiment.mean(levin, 0, "colorfulness") < 0.5                      # no hint: gray
    assert experiment.mean(levin, 6, "auc") > experiment.mean(levin, 0, "auc")  # true hints help
    assert experiment.hints[1][0][:2] == hints_lesson.placed_hints(photos[0].rgb, count=2, seed=1, photo_index=0)
    table = hints_lesson.hint_table(experiment)
    assert "hint network, 6 hints" in table and "automatic, no hint" in table and "ground truth" in table
    with pytest.raises(ValueError):
        hints_lesson.hint_experiment([], hinted)


def test_one_hint_per_object_with_a_network_that_copies_hints():
    """A network started from gray with zero hint weights ignores hints: both answers are gray."""
    _, hinted = _nets(64)
    with torch.no_grad():
        last = hinted.decoder[-2]
        last.weight.zero_()
        last.bias.fill_(128 / 255)  # ab = 0
    result = hints_lesson.one_hint_per_object(hinted, count=4)
    assert result.true_ab.shape == (4, 2)
    assert result.chroma_ratio_without < 0.01 and result.chroma_ratio_with < 0.01
    assert abs(result.error_with - result.error_without) < 1e-3


def test_hex_and_ab_round_trip():
    ab = hints_lesson.hex_to_ab("#c81e1e")
    lightness = float(rgb_to_lab(np.array([[[200, 30, 30]]]) / 255.0)[0, 0, 0])
    assert hints_lesson.ab_to_hex(ab, lightness=lightness) == "#c81e1e"
    with pytest.raises(ValueError):
        hints_lesson.hex_to_ab("red")


# --- the widget ----------------------------------------------------------------------------


def test_hint_explorer_click_colour_patch_remove_and_method():
    _, hinted = _nets()
    photo = _halves()
    explorer = hints_lesson.HintExplorer(photo, hinted, default_color="truth", scale=2)
    assert explorer.hints == [] and explorer.selected is None
    assert hints_lesson.CLICK_TARGET in explorer.picture._dom_classes
    before = explorer.picture.value
    explorer._on_click({"dataX": 8, "dataY": 6, "type": "click"})  # a click in pixels of the shown picture
    assert len(explorer.hints) == 1 and explorer.selected == 0
    hint = explorer.hints[0]
    assert (hint.row, hint.column) == (6, 8) and np.allclose(hint.ab, ab_of(photo)[6, 8], atol=1e-3)
    assert explorer.picture.value != before
    explorer.patch.value = 7
    assert explorer.hints[0].patch_size == 7
    explorer.picker.value = "#1e3cc8"
    assert np.allclose(explorer.hints[0].ab, hints_lesson.hex_to_ab("#1e3cc8"))
    # The network's colours come from HintColorizer with the same hints.
    assert np.array_equal(explorer.result, HintColorizer(explorer.photo, hinted).colorize(explorer.hints))
    explorer.method.value = "Levin"
    assert np.array_equal(explorer.result, hints_lesson.levin_colorize(explorer.photo, explorer.hints))
    assert "Levin: 1 hint;" in explorer.status.value
    explorer.add_hint(20, 30)
    explorer.chooser.value = 0
    assert explorer.selected == 0 and explorer.patch.value == 7
    explorer.remove_selected()
    assert len(explorer.hints) == 1 and explorer.hints[0].column == 30 and explorer.selected == 0
    explorer.remove_selected()
    assert explorer.hints == [] and explorer.selected is None
    with pytest.raises(ValueError, match="default_color"):
        hints_lesson.HintExplorer(photo, hinted, default_color="blue")


def test_hint_explorer_default_colour_is_the_prediction():
    _, hinted = _nets()
    explorer = hints_lesson.HintExplorer(_halves(), hinted)
    predicted = rgb_to_lab(explorer.result[5:6, 9:10] / 255.0)[0, 0, 1:]
    hint = explorer.add_hint(5, 9)
    assert np.allclose(hint.ab, predicted, atol=1e-6)
