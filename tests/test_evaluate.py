"""Baselines, the metrics table and ``colorlib evaluate``; and the toy MSE-dullness experiment."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from PIL import Image

from colorlib import cli, evaluate, metrics
from colorlib.color import lab_to_rgb, rgb_to_lab
from colorlib.config import get_profile
from colorlib.splits import course_photos_split, evenly_spaced
from colorlib.images import load_image
from colorlib.lessons import dullness, evaluation
from colorlib.model import ColorizationNet
from colorlib.weights import CHECKPOINT_FORMAT

#: Measured with this code (``colorlib evaluate``): the released model and gray on Kodak24.
PAPER_AND_GRAY_AUC = (90.2, 88.8)


def two_color_photo(ab_left=(40.0, 20.0), ab_right=(-20.0, -30.0), lightness=60.0, size=(16, 24)) -> np.ndarray:
    """uint8 RGB: left half one Lab colour, right half another, same lightness."""
    lab = np.empty(size + (3,))
    lab[..., 0] = lightness
    lab[:, : size[1] // 2, 1:] = ab_left
    lab[:, size[1] // 2 :, 1:] = ab_right
    return np.round(lab_to_rgb(lab) * 255).astype(np.uint8)


# --------------------------------------------------------------------------------------
# Baselines.
# --------------------------------------------------------------------------------------


def test_gray_baseline_keeps_lightness_and_removes_color():
    photo = two_color_photo()
    gray = evaluate.gray_colorizer(photo)
    assert gray.dtype == np.uint8 and gray.shape == photo.shape
    lightness = lambda image: rgb_to_lab(image / 255.0)[..., 0]  # noqa: E731
    np.testing.assert_allclose(lightness(gray), lightness(photo), atol=0.5)
    assert metrics.mean_chroma(metrics.ab_of(gray)) < 0.5
    assert metrics.colorfulness(gray) < 0.5


def test_mean_ab_by_hand_and_the_constant_baseline():
    photo = two_color_photo()
    a, b = evaluate.mean_ab([photo])
    # Half the pixels (40, 20), half (-20, -30): the mean is (10, -5), up to 8-bit rounding.
    assert a == pytest.approx(10.0, abs=0.5) and b == pytest.approx(-5.0, abs=0.5)
    painted = evaluate.constant_ab_colorizer((a, b))(photo)
    np.testing.assert_allclose(metrics.ab_of(painted).reshape(-1, 2).mean(axis=0), (a, b), atol=0.7)
    with pytest.raises(ValueError, match="at least one image"):
        evaluate.mean_ab([])


@pytest.mark.needs_data
def test_training_mean_ab_of_the_quick_profile_is_the_course_photos_training_mean():
    a, b = evaluate.training_mean_ab(get_profile("quick"), max_images=20)
    files = evenly_spaced(course_photos_split()[0], count=20)  # landscapes and Caltech-101 in their shares
    photos_ab = [metrics.ab_of(load_image(path)) for path in files]
    pixels = np.concatenate([ab.reshape(-1, 2) for ab in photos_ab])
    assert (a, b) == pytest.approx(tuple(pixels.mean(axis=0)))
    colors = evaluate.training_photo_colors(get_profile("quick"), max_images=20)  # the same pass: also the chroma
    assert colors.mean_ab == (a, b) and colors.photos == 20
    assert colors.mean_chroma == pytest.approx(np.mean([np.hypot(ab[..., 0], ab[..., 1]).mean() for ab in photos_ab]))


def test_training_photo_colors_are_kept_in_the_cache_and_measured_again_for_other_photos(tmp_path, monkeypatch):
    import dataclasses

    monkeypatch.setenv("COLORLIB_CACHE", str(tmp_path / "cache"))
    folder = tmp_path / "photos"
    folder.mkdir()
    Image.fromarray(np.full((8, 8, 3), (200, 60, 30), np.uint8)).save(folder / "orange.png")
    Image.fromarray(np.full((8, 24, 3), (30, 60, 200), np.uint8)).save(folder / "blue.png")
    profile = dataclasses.replace(get_profile("quick"), data=str(folder))
    first = evaluate.training_photo_colors(profile)
    expected = evaluate.photo_colors(load_image(path) for path in sorted(folder.iterdir()))
    assert first == expected and first.photos == 2
    records = list((tmp_path / "cache" / "photo-colors").glob("*.json"))
    assert len(records) == 1 and json.loads(records[0].read_text())["format"] == evaluate.PHOTO_COLORS_FORMAT
    # A new process (the per-process memo cleared) reads the record: change it to see it read.
    evaluate._training_photo_colors.cache_clear()
    kept = json.loads(records[0].read_text())
    records[0].write_text(json.dumps({**kept, "mean_chroma": 99.0}))
    assert evaluate.training_photo_colors(profile).mean_chroma == 99.0
    # A broken record is measured again and rewritten.
    evaluate._training_photo_colors.cache_clear()
    records[0].write_text("{not json")
    assert evaluate.training_photo_colors(profile) == expected
    # Other photos (a third one) get their own record.
    evaluate._training_photo_colors.cache_clear()
    Image.fromarray(np.full((8, 8, 3), 128, np.uint8)).save(folder / "gray.png")
    assert evaluate.training_photo_colors(profile).photos == 3
    assert len(list((tmp_path / "cache" / "photo-colors").glob("*.json"))) == 2
    evaluate._training_photo_colors.cache_clear()


@pytest.mark.needs_data
def test_the_test_set_is_kodak24_whole():
    images = evaluate.evaluation_images()
    assert len(images) == 24 and images[0].name == "kodim01.png"
    assert {image.rgb.shape for image in images} == {(512, 768, 3), (768, 512, 3)}
    assert len({image.rgb.tobytes() for image in images}) == 24


def test_gray_photos_are_skipped_and_unreadable_files_named(tmp_path):
    Image.fromarray(two_color_photo()).save(tmp_path / "colour.png")
    Image.fromarray(np.full((16, 16), 90, dtype=np.uint8)).save(tmp_path / "gray.png")
    (tmp_path / "notes.png").write_text("not an image")
    photos = evaluate.photo_set(sorted(tmp_path.iterdir()))
    assert [image.name for image in photos.images] == ["colour.png"]
    assert photos.skipped_gray == ["gray.png"]
    assert len(photos.unreadable) == 1 and "notes.png" in photos.unreadable[0]
    assert photos.describe() == "1 photos (skipped: 1 gray, 1 unreadable)"


# --------------------------------------------------------------------------------------
# Scoring and the table.
# --------------------------------------------------------------------------------------


def test_image_metrics_of_the_truth_and_of_gray():
    photo = two_color_photo()
    perfect = evaluate.image_metrics(photo, photo)
    assert perfect["auc"] == 100.0 and perfect["psnr"] == math.inf and perfect["ssim"] == pytest.approx(1.0)
    assert perfect["colorfulness"] == perfect["true_colorfulness"] > 10
    gray = evaluate.image_metrics(evaluate.gray_colorizer(photo), photo)
    # Gray's ab error is each pixel's chroma: AuC = 100 * mean(1 - chroma / 150).
    true_chroma = metrics.chroma(metrics.ab_of(photo))
    assert gray["auc"] == pytest.approx(100 * np.mean(1 - true_chroma / 150), abs=0.3)
    assert gray["chroma"] < 0.5 and gray["true_chroma"] == pytest.approx(true_chroma.mean())


def test_evaluate_colorizer_summary_and_table():
    images = [evaluate.EvaluationImage("one", two_color_photo()), evaluate.EvaluationImage("two", two_color_photo((0, 50), (30, 0)))]
    result = evaluate.evaluate_colorizer("gray", evaluate.gray_colorizer, images)
    assert result.image_names == ["one", "two"] and len(result.predictions) == 2
    assert result.per_image["auc"].shape == (2,)
    summary = result.summary()
    assert summary["auc"] == pytest.approx(result.per_image["auc"].mean())
    assert summary["colorfulness_ratio"] == pytest.approx(summary["colorfulness"] / summary["true_colorfulness"])
    table = evaluate.metrics_table({"gray": summary})
    lines = table.splitlines()
    assert lines[0].split() == ["AuC", "%", "PSNR", "dB", "SSIM", "colourful.", "ratio", "chroma"]
    assert lines[1].split()[:5] == ["ground", "truth", "100.0", "inf", "1.000"]
    assert lines[2].split()[0] == "gray" and lines[2].split()[1] == f"{summary['auc']:.1f}"
    with pytest.raises(ValueError, match="shaped like the input"):
        evaluate.evaluate_colorizer("broken", lambda image: image[:4], images)


@pytest.mark.needs_data
def test_comparison_grid_layout_and_no_blank_row():
    images = evaluate.evaluation_images()[:7]
    rgbs = [image.rgb for image in images]
    figure = evaluation.plot_comparison_grid(images, {"ours": rgbs})
    axes = np.array(figure.axes).reshape(4, 5)  # two blocks of two rows
    assert axes[0, 0].get_ylabel() == "ground truth" and axes[1, 0].get_ylabel() == "ours"
    assert len(axes[1, 0].images) == 1 and not axes[3, 4].axison  # block 2 has two photos only
    with pytest.raises(ValueError, match="leave a colorizer"):
        evaluation.plot_comparison_grid(images, {"ours": rgbs, "Zhang et al.": None})


# --------------------------------------------------------------------------------------
# colorlib evaluate.
# --------------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.needs_data
def test_cli_evaluate_paper_model_on_the_test_set(tmp_path, capsys):
    target = tmp_path / "out" / "numbers.json"
    assert cli.main(["evaluate", "--model", "paper", "--json", str(target)]) == 0
    out = capsys.readouterr().out
    assert "24 photos (skipped: 0 gray, 0 unreadable), Kodak24, the test set" in out
    assert "network input 224x224" in out  # the released weights' own input size
    rows = {line.split()[0]: line.split() for line in out.splitlines() if line.startswith(("gray", "paper"))}
    assert set(rows) == {"gray", "paper"}
    saved = json.loads(target.read_text())
    assert len(saved["images"]) == 24 and saved["size"] == 224
    paper, gray = saved["summary"]["paper"], saved["summary"]["gray (ab = 0)"]
    # The measured numbers (notebook 05): the released model beats gray on AuC but keeps
    # only about half of the photos' colourfulness.
    assert (round(paper["auc"], 1), round(gray["auc"], 1)) == PAPER_AND_GRAY_AUC
    assert 0.4 < paper["colorfulness_ratio"] < 0.6 and gray["colorfulness_ratio"] < 0.01
    assert rows["paper"][1] == f"{paper['auc']:.1f}"
    assert len(saved["per_image"]["paper"]["auc"]) == 24


def test_cli_evaluate_a_checkpoint_on_a_folder_with_a_gray_photo(tmp_path, capsys):
    folder = tmp_path / "photos"
    folder.mkdir()
    Image.fromarray(two_color_photo(size=(40, 60))).save(folder / "a.png")
    Image.fromarray(two_color_photo((0, 60), (50, 0), size=(50, 50))).save(folder / "b.jpg")
    Image.fromarray(np.full((40, 40), 120, dtype=np.uint8)).save(folder / "gray.png")
    torch.manual_seed(0)
    checkpoint = tmp_path / "tiny.pth"
    torch.save({"format": CHECKPOINT_FORMAT, "model": ColorizationNet().state_dict(), "config": {"image_size": 32}},
               checkpoint)
    assert cli.main(["evaluate", "--model", str(checkpoint), "--data", str(folder), "--json", str(tmp_path / "n.json")]) == 0
    captured = capsys.readouterr()
    assert "2 photos (skipped: 1 gray, 0 unreadable)" in captured.out and "network input 32x32" in captured.out
    assert "skipped gray.png: a gray photo" in captured.err
    summary = json.loads((tmp_path / "n.json").read_text())["summary"]
    assert all(math.isfinite(value) for row in summary.values() for value in row.values())  # no PSNR of inf


@pytest.mark.needs_data
def test_cli_evaluate_reports_bad_input(tmp_path, capsys):
    assert cli.main(["evaluate", "--model", str(tmp_path / "missing.pth")]) == 2
    assert "no checkpoint at" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert cli.main(["evaluate", "--data", str(tmp_path / "empty")]) == 2
    assert "no colour photo to evaluate" in capsys.readouterr().err
    assert cli.main(["evaluate", "--data", str(tmp_path / "nowhere")]) == 2
    assert "not a folder" in capsys.readouterr().err


# --------------------------------------------------------------------------------------
# The MSE-dullness experiment (colorlib.lessons.dullness).
# --------------------------------------------------------------------------------------


def test_closed_form_mean_minimises_the_expected_squared_error():
    colors = np.array([dullness.TOY_RED_AB, dullness.TOY_BLUE_AB])
    half = np.array([0.5, 0.5])
    mean = dullness.mse_optimal_color(colors, half)
    np.testing.assert_allclose(mean, [45.0, -5.0])
    distance_squared = ((colors[0] - colors[1]) ** 2).sum()  # 50^2 + 110^2
    assert dullness.expected_squared_error(mean, colors, half) == pytest.approx(distance_squared / 4)
    assert dullness.expected_squared_error(colors[0], colors, half) == pytest.approx(distance_squared / 2)
    rng = np.random.default_rng(0)
    for other in rng.normal(20, 40, size=(50, 2)):  # no other colour does better
        assert dullness.expected_squared_error(other, colors, half) >= dullness.expected_squared_error(mean, colors, half)
    # The mean is dull: about half the chroma of either colour.
    assert np.hypot(*mean) < 0.75 * min(np.hypot(*colors[0]), np.hypot(*colors[1]))
    with pytest.raises(ValueError, match="sum to 1"):
        dullness.mse_optimal_color(colors, np.array([0.5, 0.6]))


def test_closed_form_loss_by_hand():
    images = dullness.make_toy_images(count=4, size=16)
    object_fraction = float(images.object_mask.float().mean())
    # On objects the mean is off by half the red-blue distance in every image: 3650 per
    # pixel over both channels, so 1825 per channel value, on the (ab / 100)^2 scale.
    assert dullness.closed_form_loss(images) == pytest.approx(object_fraction * 1825 / 100**2)


def test_toy_images_are_half_red_half_blue_with_identical_inputs():
    images = dullness.make_toy_images(count=8, size=16)
    half = 4
    assert images.is_red.tolist() == [True] * half + [False] * half
    torch.testing.assert_close(images.lightness[:half], images.lightness[half:])  # L cannot tell
    object_ab = images.ab.permute(0, 2, 3, 1)[images.object_mask[:, 0]]
    red = (object_ab == torch.tensor(dullness.TOY_RED_AB)).all(dim=1).sum()
    blue = (object_ab == torch.tensor(dullness.TOY_BLUE_AB)).all(dim=1).sum()
    assert red == blue == len(object_ab) // 2
    assert images.rgb().shape == (8, 16, 16, 3)


def test_a_small_mse_network_converges_to_the_dull_mean():
    images = dullness.make_toy_images()
    result = dullness.train_toy_regressor(images, steps=200)
    learned = result.object_ab[-1]
    np.testing.assert_allclose(learned, [45.0, -5.0], atol=4.0)
    assert np.hypot(*learned) < 50 < np.hypot(*dullness.TOY_BLUE_AB)
    # Its loss reaches the least possible one, that of the mean (within 15 %).
    minimum = dullness.closed_form_loss(images)
    assert minimum <= result.losses[-1] < 1.15 * minimum


def test_a_small_classifier_keeps_both_colors_and_its_mode_is_vivid():
    result = dullness.train_toy_classifier(dullness.make_toy_images(), steps=150)
    p_red, p_blue = result.probability_of(dullness.TOY_RED_AB), result.probability_of(dullness.TOY_BLUE_AB)
    assert 0.3 < p_red < 0.7 and 0.3 < p_blue < 0.7
    mean = dullness.summarise_distribution(result.object_probabilities, result.bins)
    mode = dullness.summarise_distribution(result.object_probabilities, result.bins, temperature=0)
    np.testing.assert_allclose(mean, [45.0, -5.0], atol=8.0)  # the distribution's mean: dull again
    assert tuple(mode) in (dullness.TOY_RED_AB, dullness.TOY_BLUE_AB)  # its mode: one vivid colour


def test_summarise_distribution_by_hand():
    bins = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 20.0]])
    p = np.array([0.2, 0.5, 0.3])
    np.testing.assert_allclose(dullness.summarise_distribution(p, bins), [5.0, 6.0])
    np.testing.assert_allclose(dullness.summarise_distribution(p, bins, temperature=1.0), [5.0, 6.0])
    np.testing.assert_allclose(dullness.summarise_distribution(p, bins, temperature=0), [10.0, 0.0])
    sharp = p**2 / (p**2).sum()  # T = 0.5
    np.testing.assert_allclose(dullness.summarise_distribution(p, bins, temperature=0.5), sharp @ bins)


# --------------------------------------------------------------------------------------
# Lesson 06's toy: how AuC and PSNR score one answer; a toy world where L tells red from blue.
# --------------------------------------------------------------------------------------


def test_with_object_lightness_changes_only_the_objects_lightness():
    images = dullness.make_toy_images(count=8)
    told_apart = dullness.with_object_lightness(images, 50, 35)
    object_lightness = told_apart.lightness[told_apart.object_mask]
    assert {round(float(value), 4) for value in object_lightness} == {0.5, 0.35}
    red_objects = told_apart.object_mask & told_apart.is_red.view(-1, 1, 1, 1)
    assert torch.all(told_apart.lightness[red_objects] == 0.5)
    assert torch.equal(told_apart.lightness[~told_apart.object_mask], images.lightness[~images.object_mask])
    assert torch.equal(told_apart.ab, images.ab) and torch.equal(images.lightness[images.object_mask], torch.full_like(object_lightness, 0.5))
    with pytest.raises(ValueError, match="0..100"):
        dullness.with_object_lightness(images, 50, 120)


def test_mse_gives_each_object_its_vivid_color_once_the_input_tells_them_apart():
    images = dullness.make_toy_images()
    told_apart = dullness.with_object_lightness(images, 50, 35)
    colors = dullness.predicted_object_colors(dullness.train_toy_regressor(told_apart, steps=200, seed=0), told_apart)
    np.testing.assert_allclose(colors["red"], dullness.TOY_RED_AB, atol=5.0)
    np.testing.assert_allclose(colors["blue"], dullness.TOY_BLUE_AB, atol=5.0)
    # Same lightness: one answer for both, the dull mean.
    same = dullness.predicted_object_colors(dullness.train_toy_regressor(images, steps=200, seed=0), images)
    np.testing.assert_allclose(same["red"], same["blue"], atol=1e-4)
    np.testing.assert_allclose(same["red"], [45.0, -5.0], atol=4.0)
