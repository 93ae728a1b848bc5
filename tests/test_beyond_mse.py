"""colorlib.lessons.beyond_mse: lesson 07's scoring (downscaled photos, score_colors,
score_colorizer, seed_table) on two tiny photos whose numbers are worked out by hand and
checked against scikit-image.

The two photos (8 x 8):

- "red|blue": left half pure red (255, 0, 0), right half pure blue (0, 0, 255); the
  colorizer answers mid-gray (128, 128, 128) everywhere.
- "gray": mid-gray (128, 128, 128); the colorizer answers (138, 128, 128), a faint red.

Their CIELAB ab (scikit-image, D65): red (80.09, 67.20), chroma 104.55; blue (79.19, -107.86),
chroma 133.80; gray (0.00, 0.00); (138, 128, 128) (3.78, 1.37), chroma 4.02.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from skimage.color import rgb2lab
from skimage.metrics import peak_signal_noise_ratio

from colorlib.evaluate import EvaluationImage
from colorlib.lessons.beyond_mse import (
    LOSS_TABLE_COLUMNS,
    ScoredColors,
    downscaled,
    score_colorizer,
    score_colors,
    seed_table,
)

RED, BLUE, GRAY, FAINT_RED = (255, 0, 0), (0, 0, 255), (128, 128, 128), (138, 128, 128)


def _photo(left, right=None, side: int = 8) -> np.ndarray:
    rgb = np.empty((side, side, 3), dtype=np.uint8)
    rgb[:, : side // 2] = left
    rgb[:, side // 2 :] = left if right is None else right
    return rgb


@pytest.fixture
def photos() -> list[EvaluationImage]:
    return [EvaluationImage("red|blue", _photo(RED, BLUE)), EvaluationImage("gray", _photo(GRAY), seen_in_training=True)]


@pytest.fixture
def predictions() -> list[np.ndarray]:
    return [_photo(GRAY), _photo(FAINT_RED)]


def _ab(rgb: np.ndarray) -> np.ndarray:
    return rgb2lab(rgb)[..., 1:]


def _paper_auc(predicted: np.ndarray, truth: np.ndarray) -> float:
    """The paper's AuC: the fraction of pixels within each threshold 0, 1, ..., 150 of the truth, averaged, in %."""
    errors = np.linalg.norm(_ab(predicted) - _ab(truth), axis=-1).ravel()
    return 100 * float(np.mean([(errors <= t).mean() for t in range(151)]))


# --------------------------------------------------------------------------------------
# score_colours and score_colorizer.
# --------------------------------------------------------------------------------------


def test_score_colors_hand_worked(photos, predictions):
    scores = score_colors(predictions, photos)
    assert set(scores) == {"auc", "rebalanced_auc", "psnr", "colorfulness", "true_colorfulness",
                           "colorfulness_ratio", "chroma", "true_chroma", "chroma_spread", "true_chroma_spread"}
    # AuC: a pixel with ab error e scores 1 - e / 150. red|blue: errors 104.55 and 133.80
    # (gray answered) -> 30.30 % and 10.80 %, mean 20.55 %; gray: error 4.02 -> 97.32 %.
    auc_red, auc_blue, auc_gray = 100 * (1 - 104.551 / 150), 100 * (1 - 133.804 / 150), 100 * (1 - 4.0196 / 150)
    assert scores["auc"] == pytest.approx(((auc_red + auc_blue) / 2 + auc_gray) / 2, abs=1e-3)
    assert scores["auc"] == pytest.approx(58.934, abs=1e-3)
    # Rebalanced: three occupied bins of the truth (red, blue, gray), each counts a third.
    assert scores["rebalanced_auc"] == pytest.approx((auc_red + auc_blue + auc_gray) / 3, abs=1e-3)
    assert scores["rebalanced_auc"] == pytest.approx(46.138, abs=1e-3)
    # PSNR: red|blue vs gray, squared errors 127^2, 128^2, 128^2 per pixel -> MSE 16,299,
    # 10 log10(255^2 / 16299) = 6.009 dB; gray vs (138, 128, 128): MSE 100 / 3 -> 32.902 dB.
    assert scores["psnr"] == pytest.approx((10 * math.log10(255**2 / 16299) + 10 * math.log10(255**2 * 3 / 100)) / 2)
    assert scores["psnr"] == pytest.approx(19.456, abs=1e-3)
    # Colourfulness (Hasler and Suesstrunk): half red, half blue: rg = 255 | 0, yb = 127.5 | -255,
    # std 127.5 and 191.25, means 127.5 and -63.75 -> 229.854 + 0.3 * 142.549 = 272.619.
    # (138, 128, 128): rg = 10, yb = 5, no spread -> 0.3 * sqrt(125) = 3.354. Gray: 0.
    true_m = math.hypot(127.5, 191.25) + 0.3 * math.hypot(127.5, 63.75)
    assert scores["true_colorfulness"] == pytest.approx((true_m + 0) / 2)
    assert scores["colorfulness"] == pytest.approx((0 + 0.3 * math.sqrt(125)) / 2)
    assert scores["colorfulness_ratio"] == pytest.approx(0.3 * math.sqrt(125) / true_m)
    assert scores["colorfulness_ratio"] == pytest.approx(0.012304, abs=1e-6)
    # Chroma: predicted gray ~0 and 4.02; true (104.55 + 133.80) / 2 and ~0.
    assert scores["chroma"] == pytest.approx(4.0196 / 2, abs=2e-3)
    assert scores["true_chroma"] == pytest.approx((104.551 + 133.804) / 4, abs=2e-3)
    # Chroma spread: half the pixels 104.55, half 133.80 -> sd (133.80 - 104.55) / 2 = 14.63;
    # the gray photo 0: mean 7.31. Both predictions are uniform (gray, one tint): 0.
    assert scores["true_chroma_spread"] == pytest.approx((133.804 - 104.551) / 4, abs=2e-3)
    assert scores["chroma_spread"] == pytest.approx(0.0, abs=2e-3)


def test_score_colors_agrees_with_scikit_image_and_the_papers_auc(photos, predictions):
    scores = score_colors(predictions, photos)
    skimage_psnr = [peak_signal_noise_ratio(image.rgb, p, data_range=255) for p, image in zip(predictions, photos)]
    assert scores["psnr"] == pytest.approx(np.mean(skimage_psnr), rel=1e-12)
    exact = [100 * np.clip(1 - np.linalg.norm(_ab(p) - _ab(image.rgb), axis=-1) / 150, 0, 1).mean()
             for p, image in zip(predictions, photos)]
    assert scores["auc"] == pytest.approx(np.mean(exact), abs=2e-3)  # colorlib's Lab vs scikit-image's
    # The paper sums the curve at the integer thresholds 0..150: within a third of a point.
    # A pixel with error e counts at the thresholds ceil(e)..150: red 105..150 (46 of 151),
    # blue 134..150 (17), gray 5..150 (146): ((46 + 17) / 2 / 151 + 146 / 151) / 2 = 58.775 %.
    paper = np.mean([_paper_auc(p, image.rgb) for p, image in zip(predictions, photos)])
    assert paper == pytest.approx(100 * ((46 + 17) / 2 / 151 + 146 / 151) / 2) == pytest.approx(58.775, abs=1e-3)
    assert abs(scores["auc"] - paper) < 1 / 3
    chroma = [np.hypot(*np.moveaxis(_ab(p), -1, 0)).mean() for p in predictions]
    assert scores["chroma"] == pytest.approx(np.mean(chroma), abs=2e-3)


def test_perfect_colors_score_the_ground_truth(photos):
    scores = score_colors([image.rgb.copy() for image in photos], photos)
    assert scores["auc"] == scores["rebalanced_auc"] == 100.0
    assert scores["psnr"] == math.inf and scores["colorfulness_ratio"] == pytest.approx(1.0)


def test_score_colors_precomputed_truth_gives_the_same_numbers(photos, predictions):
    true_ab = [_ab(image.rgb) for image in photos]
    with_truth = score_colors(predictions, photos, true_ab=true_ab)
    assert with_truth == pytest.approx(score_colors(predictions, photos), abs=2e-3)


def test_score_colors_rejects_mismatched_input(photos, predictions):
    with pytest.raises(ValueError, match="one prediction per photo"):
        score_colors(predictions[:1], photos)
    with pytest.raises(ValueError, match="at least one"):
        score_colors([], [])
    with pytest.raises(ValueError, match="one true ab per photo, got 1 for 2"):
        score_colors(predictions, photos, true_ab=[np.zeros((8, 8, 2))])
    with pytest.raises(ValueError, match=r"the prediction for gray is \(4, 8, 3\)"):
        score_colors([predictions[0], predictions[1][:4]], photos)


def test_score_colorizer_runs_the_colorizer_on_every_photo(photos):
    seen = []

    def gray_world(rgb: np.ndarray) -> np.ndarray:
        seen.append(rgb.shape)
        return np.full_like(rgb, 128)

    scored = score_colorizer("gray world", gray_world, photos)
    assert isinstance(scored, ScoredColors) and scored.name == "gray world"
    assert seen == [(8, 8, 3), (8, 8, 3)]
    assert all((p == 128).all() for p in scored.predictions)
    assert scored.scores == score_colors(scored.predictions, photos)
    # Gray for the gray photo is exact (100 %); red|blue as in the hand-worked test (20.55 %).
    assert scored.scores["colorfulness"] == 0.0
    assert scored.scores["auc"] == pytest.approx((100 * (1 - 104.551 / 150) + 100 * (1 - 133.804 / 150)) / 4 + 100 / 2, abs=1e-3)


# --------------------------------------------------------------------------------------
# downscaled.
# --------------------------------------------------------------------------------------


def test_downscaled_halves_each_side_and_keeps_names():
    photos = [EvaluationImage("red|blue", _photo(RED, BLUE, side=16)), EvaluationImage("faint", _photo(FAINT_RED, side=16), True)]
    smaller = downscaled(photos)
    assert [(p.name, p.seen_in_training, p.rgb.shape, p.rgb.dtype.name) for p in smaller] == [
        ("red|blue", False, (8, 8, 3), "uint8"), ("faint", True, (8, 8, 3), "uint8")]
    assert (smaller[1].rgb == FAINT_RED).all()  # a flat photo stays exactly flat
    assert (smaller[0].rgb[:, :3] == RED).all() and (smaller[0].rgb[:, 5:] == BLUE).all()  # away from the edge
    assert downscaled(photos, factor=1)[0].rgb is photos[0].rgb
    assert downscaled(photos, factor=2)[0].rgb.shape == downscaled([photos[0]], factor=2)[0].rgb.shape
    assert photos[0].rgb.shape == (16, 16, 3)  # the originals are untouched


@pytest.mark.parametrize("factor", [0, -2, 2.0, True, "2"])
def test_downscaled_rejects_a_factor_that_is_not_a_positive_integer(factor):
    with pytest.raises(ValueError, match="expected an integer factor >= 1"):
        downscaled([EvaluationImage("x", _photo(RED, side=16))], factor=factor)


def test_downscaled_rejects_a_photo_that_would_vanish():
    with pytest.raises(ValueError, match=r"tiny \(14x14\) is too small to shrink 2 times"):
        downscaled([EvaluationImage("tiny", _photo(RED, side=14))], factor=2)


# --------------------------------------------------------------------------------------
# seed_table.
# --------------------------------------------------------------------------------------


def _run(auc, rebalanced, psnr, ratio, chroma, spread=5.0):
    return {"auc": auc, "rebalanced_auc": rebalanced, "psnr": psnr, "colorfulness_ratio": ratio,
            "chroma": chroma, "chroma_spread": spread, "true_chroma": 20.0, "true_chroma_spread": 9.0,
            "true_colorfulness": 40.0}


def test_seed_table_mean_and_range_of_three_seeds():
    table = seed_table({
        "MSE": [_run(70.0, 50.0, 23.0, 0.40, 10.0), _run(72.0, 54.0, 24.0, 0.50, 12.0),
                _run(71.0, 55.0, 23.6, 0.42, 14.0, spread=8.0)],
        "gray": [_run(60.0, 40.0, 21.0, 0.0, 0.0, spread=0.0)],
    })
    # Three seeds: the mean and (min to max): AuC 70, 72, 71 -> 71.0 (70.0 to 72.0); rebal.
    # 50, 54, 55 -> 53.0; PSNR 23, 24, 23.6 -> 23.53; ratio 0.4, 0.5, 0.42 -> 0.44;
    # chroma 10, 12, 14 -> 12.0; spread 5, 5, 8 -> 6.0. One run: the value alone.
    # The ground truth: 100 %, inf dB, ratio 1, the true chroma and its spread.
    assert table.splitlines() == [
        "                            AuC %         rebal. AuC %                 PSNR dB"
        "     colourful. ratio               chroma         chroma sd",
        "ground truth                100.0                100.0                     inf"
        "                 1.00                 20.0               9.0",
        "MSE           71.0 (70.0 to 72.0)  53.0 (50.0 to 55.0)  23.53 (23.00 to 24.00)"
        "  0.44 (0.40 to 0.50)  12.0 (10.0 to 14.0)  6.0 (5.0 to 8.0)",
        "gray                         60.0                 40.0                   21.00"
        "                 0.00                  0.0               0.0",
    ]
    assert [heading for heading, _ in LOSS_TABLE_COLUMNS.values()] == [
        "AuC %", "rebal. AuC %", "PSNR dB", "colourful. ratio", "chroma", "chroma sd"]


def test_seed_table_other_columns_and_no_ground_truth():
    table = seed_table({"L1": [{"psnr": 20.0}, {"psnr": 22.0}, {"psnr": 27.0}]},
                       columns={"psnr": ("dB", 1)}, ground_truth=False)
    # mean 23.0, from 20 to 27
    assert table.splitlines() == ["                               dB", "L1            23.0 (20.0 to 27.0)"]


def test_seed_table_rejects_empty_rows_and_missing_keys():
    with pytest.raises(ValueError, match="at least one row"):
        seed_table({})
    with pytest.raises(ValueError, match="each with at least one run"):
        seed_table({"MSE": []})
    with pytest.raises(ValueError, match=r"row 'MSE' lacks \['chroma', 'chroma_spread', 'psnr'\]"):
        seed_table({"MSE": [{"auc": 1.0, "rebalanced_auc": 1.0, "colorfulness_ratio": 1.0}]})
