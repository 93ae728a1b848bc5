"""A network that takes colour hints: the model, its training, colorizing with hints, the command."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from colorlib import cli
from colorlib.batches import _hinted_batches
from colorlib.color import ab_to_target
from colorlib.data import rgb_batch_to_lightness_ab
from colorlib.hints import Hint, hint_maps, read_hints, simulated_hint_maps
from colorlib.images import resize
from colorlib.inference import HintColorizer, colorize, network_input, predict_ab
from colorlib.model import HINT_CHANNELS, HINT_SPREADS, ColorizationNet, HintDecoder, hints_at, make_decoder, spread_hints
from colorlib.samples import sample_photo
from colorlib.train import TrainConfig, train
from colorlib.weights import load_pretrained

NO_HINTS_MESSAGE = "does not take colour hints"


def _tiny(out: Path, **changes) -> TrainConfig:
    settings = dict(out=out, input_size=32, epochs=2, batch_size=4, train_images=8, val_images=4, data="samples",
                    encoder_weights="random", device="cpu", num_workers=0, seed=0, cache_features=True,
                    views_per_photo=1, hints=True)
    return TrainConfig.from_profile("quick", **{**settings, **changes})


@pytest.fixture(scope="module")
def hint_run(tmp_path_factory):
    """A tiny hint network trained on stored features (samples, 32 x 32, 4 steps)."""
    return train(_tiny(tmp_path_factory.mktemp("hint-run")), progress=False)


def _photo(height=48, width=64, seed=0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)


# --------------------------------------------------------------------------------------
# The model.
# --------------------------------------------------------------------------------------


def test_without_hints_the_network_is_the_papers_and_with_them_only_three_convolutions_widen():
    plain, hinted = ColorizationNet().state_dict(), ColorizationNet(takes_hints=True).state_dict()
    assert type(make_decoder()) is nn.Sequential and not ColorizationNet().takes_hints
    assert list(plain) == list(hinted)  # the same names, in the same order
    widened = {k: (tuple(plain[k].shape), tuple(hinted[k].shape)) for k in plain if plain[k].shape != hinted[k].shape}
    # 9 channels more each: a, b and the mask, then a, b and nearness of each of the two spreads
    assert widened == {"decoder.0.weight": ((128, 128, 3, 3), (128, 137, 3, 3)),
                       "decoder.4.weight": ((64, 128, 3, 3), (64, 137, 3, 3)),
                       "decoder.8.weight": ((32, 64, 3, 3), (32, 73, 3, 3))}


def test_the_authors_checkpoint_still_loads_as_a_network_without_hints():
    model = load_pretrained("paper", progress=False)
    assert not model.takes_hints and type(model.decoder) is nn.Sequential


def test_hints_at_shrinks_the_mask_by_its_maximum_and_the_ab_by_the_mean_of_the_hinted_pixels():
    hints = torch.zeros(1, 3, 4, 4)
    hints[0, :, 0, 0] = torch.tensor([64.0, -32.0, 1.0])
    hints[0, :, 1, 1] = torch.tensor([0.0, 32.0, 1.0])  # same 2 x 2 block: the mean of the two
    hints[0, :2, 3, 3] = torch.tensor([100.0, 100.0])   # no mask there: ignored
    small = hints_at(hints, (2, 2))
    assert small[0, :3, 0, 0].tolist() == [0.25, 0.0, 1.0]
    assert small[0, 2].tolist() == [[1.0, 0.0], [0.0, 0.0]] and small[0, :2, 1, 1].tolist() == [0.0, 0.0]
    same = hints_at(hints, (4, 4))
    assert same[0, :2, 0, 0].tolist() == [0.5, -0.25] and same[0, :2, 3, 3].tolist() == [0.0, 0.0]
    assert torch.equal(small[:, 3:], torch.cat([spread_hints(small[:, :2], small[:, 2:3], width=w) for w in HINT_SPREADS], 1))
    with pytest.raises(ValueError, match="whole factor"):
        hints_at(hints, (3, 3))


def test_spread_hints_is_the_gaussian_weighted_mean_of_the_hints_worked_by_hand():
    """Two hints on one row of 1 x 5 pixels, width 0.2 (sigma = 1 pixel): pixel 2 lies 2 from
    the first hint and 1 from the second, so its weights are e^-2 and e^-0.5."""
    ab, mask = torch.zeros(1, 2, 1, 5, dtype=torch.float64), torch.zeros(1, 1, 1, 5, dtype=torch.float64)
    ab[0, :, 0, 0], mask[0, 0, 0, 0] = torch.tensor([10.0, 0.0]), 1.0
    ab[0, :, 0, 3], mask[0, 0, 0, 3] = torch.tensor([-20.0, 40.0]), 1.0
    spread = spread_hints(ab, mask, width=0.2)
    near, far = math.exp(-0.5), math.exp(-2.0)
    expected_a = (far * 10.0 + near * -20.0) / (far + near)
    assert spread[0, 0, 0, 2].item() == pytest.approx(expected_a, rel=1e-12)
    assert spread[0, 1, 0, 2].item() == pytest.approx(near * 40.0 / (far + near), rel=1e-12)
    assert spread[0, 2, 0, 2].item() == pytest.approx(1 - math.exp(-(far + near)), rel=1e-12)
    assert spread[0, :2, 0, 0].tolist() == pytest.approx([(10.0 + math.exp(-4.5) * -20.0) / (1 + math.exp(-4.5)),
                                                          math.exp(-4.5) * 40.0 / (1 + math.exp(-4.5))], rel=1e-12)
    assert torch.equal(spread_hints(ab, torch.zeros_like(mask), width=0.2), torch.zeros(1, 3, 1, 5, dtype=torch.float64))
    with pytest.raises(ValueError, match="width > 0"):
        spread_hints(ab, mask, width=0.0)
    with pytest.raises(ValueError, match=r"mask \(N, 1, h, w\)"):
        spread_hints(ab, mask[:, :, :, :3], width=0.2)


def test_an_all_zero_mask_gives_the_same_output_whatever_the_ab_map_and_a_hint_changes_it():
    torch.manual_seed(0)
    model = ColorizationNet(takes_hints=True).eval()
    assert isinstance(model.decoder, HintDecoder) and model.takes_hints
    lightness = torch.rand(2, 1, 32, 32)
    hints = torch.zeros(2, HINT_CHANNELS, 32, 32)
    hints[:, :2] = torch.randn(2, 2, 32, 32) * 60
    with torch.inference_mode():
        alone = model(lightness)
        assert torch.equal(model(lightness, hints=hints), alone)
        assert torch.equal(model(lightness, hints=torch.zeros_like(hints)), alone)
        hints[:, 2, 10:13, 10:13] = 1.0
        assert not torch.equal(model(lightness, hints=hints), alone)
        with pytest.raises(ValueError, match="hints shaped"):
            model(lightness, hints=hints[:, :, :16, :16])


def test_hints_for_a_network_without_them_are_refused_everywhere():
    plain = ColorizationNet(input_size=32).eval()
    hint = Hint(3, 4, (20.0, 10.0))
    with pytest.raises(ValueError, match=NO_HINTS_MESSAGE):
        plain(torch.rand(1, 1, 32, 32), hints=torch.zeros(1, 3, 32, 32))
    for call in (lambda: colorize(_photo(), plain, hints=[hint]), lambda: predict_ab(_photo(), plain, hints=[]),
                 lambda: HintColorizer(_photo(), plain)):
        with pytest.raises(ValueError, match=NO_HINTS_MESSAGE):
            call()
    with pytest.raises(ValueError, match="outside the 48x64 photo"):
        colorize(_photo(), ColorizationNet(input_size=32, takes_hints=True), hints=[Hint(48, 0, (0, 0))])


# --------------------------------------------------------------------------------------
# Training.
# --------------------------------------------------------------------------------------


def test_hinted_batches_draw_fresh_hints_each_step_and_the_same_ones_for_the_same_seed_and_step():
    ab = torch.full((2, 2, 16, 16), 30.0)
    batches = [(torch.zeros(2, 128, 2, 2), ab)] * 3

    def hints_of(seed, first):
        return [inputs[1] for inputs, _ in _hinted_batches(iter(batches), seed=seed, first=first)]

    first = hints_of((0, 0, 0), 5)
    assert all(torch.equal(a, b) for a, b in zip(first, hints_of((0, 0, 0), 5)))
    assert torch.equal(first[1], hints_of((0, 0, 0), 6)[0])  # step 6 is step 6, whichever batch it starts
    assert not torch.equal(first[0], first[1]) and not torch.equal(first[0], hints_of((1, 0, 0), 5)[0])
    expected = simulated_hint_maps(ab, seed=np.random.default_rng([0, 0, 0, 5]))
    assert torch.equal(first[0], torch.cat(expected, dim=1))


def test_a_tiny_hint_run_repeats_exactly_and_its_checkpoint_loads_as_a_hint_network(hint_run, tmp_path):
    again = train(_tiny(tmp_path / "again"), progress=False)
    first, second = (torch.load(r.last_checkpoint, weights_only=True) for r in (hint_run, again))
    assert first["model"].keys() == second["model"].keys()
    assert all(torch.equal(first["model"][k], second["model"][k]) for k in first["model"])
    assert [e["val_loss"] for e in hint_run.history] == [e["val_loss"] for e in again.history]
    assert first["meta"]["takes_hints"] is True and first["config"]["hints"] is True
    loaded = load_pretrained(hint_run.best_checkpoint, progress=False)
    assert loaded.takes_hints and loaded.input_size == 32
    plain = train(_tiny(tmp_path / "plain", hints=False, epochs=1), progress=False)
    assert not load_pretrained(plain.last_checkpoint, progress=False).takes_hints
    assert torch.load(plain.last_checkpoint, weights_only=True)["meta"]["takes_hints"] is False


def test_a_hint_run_on_photos_without_stored_features_trains_too(tmp_path):
    result = train(_tiny(tmp_path / "photos", cache_features=False, epochs=1), progress=False)
    assert result.model.takes_hints and np.isfinite(result.history[0]["val_loss"])


def test_hints_train_with_a_regression_loss_only():
    with pytest.raises(ValueError, match="hints: .*regression loss"):
        _tiny(Path("unused"), loss="classification")
    assert _tiny(Path("unused"), loss="l1").hints


def test_a_hint_network_learns_to_use_the_hints():
    """One photo's lightness with two colourings, its own and the opposite (-ab): without a
    hint nothing says which, with hints the network tells them apart."""
    torch.manual_seed(0)
    model = ColorizationNet(input_size=32, takes_hints=True)
    rgb = resize(sample_photo("coffee"), 32, 32)
    lightness, ab = rgb_batch_to_lightness_ab(torch.from_numpy(rgb[None].copy()).permute(0, 3, 1, 2),
                                              device=torch.device("cpu"), channels_last=False)
    lightness, ab = lightness.expand(2, -1, -1, -1), torch.cat([ab, -ab])
    with torch.no_grad():
        features = model.encode(lightness)
    optimizer = torch.optim.Adam(model.decoder.parameters(), lr=3e-3)
    model.decoder.train()
    for step in range(400):  # about 5 s on a busy 2-core CPU
        ab_maps, masks = simulated_hint_maps(ab, seed=np.random.default_rng([0, step]))
        loss = nn.functional.mse_loss(model.decode(features, torch.cat([ab_maps, masks], 1)), ab_to_target(ab))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.eval()
    ab_maps, masks = simulated_hint_maps(ab, seed=123, count=4)
    with torch.inference_mode():
        hinted = model.predict_ab(lightness, hints=torch.cat([ab_maps, masks], 1))
        alone = model.predict_ab(lightness)
    at_hints = masks.expand_as(ab) > 0
    error_hinted, error_alone = ((p - ab).abs() for p in (hinted, alone))
    assert error_hinted[at_hints].mean() < 0.5 * error_alone[at_hints].mean()
    assert error_hinted[~at_hints].mean() < 0.6 * error_alone[~at_hints].mean()  # the hint spreads


# --------------------------------------------------------------------------------------
# Colorizing with hints.
# --------------------------------------------------------------------------------------


def test_colorize_with_hints_agrees_with_the_hint_colorizer_and_no_hint_is_the_automatic_result(hint_run):
    model, photo = hint_run.model, _photo()
    hints = [Hint(10, 20, (60.0, -40.0), patch_size=9), Hint(40, 50, (-30.0, 70.0), patch_size=5)]
    colorizer = HintColorizer(photo, model)
    with_hints = colorize(photo, model, hints=hints)
    assert np.array_equal(colorizer.colorize(hints), with_hints)
    assert np.array_equal(colorizer.colorize(), colorize(photo, model))
    assert np.array_equal(colorize(photo, model, hints=[]), colorize(photo, model))
    maps = torch.cat(hint_maps(hints, height=32, width=32, from_size=(48, 64)))[None]
    with torch.inference_mode():
        direct = model.eval().predict_ab(network_input([photo], 32), hints=maps)[0]
    assert torch.equal(colorizer.predict_ab(hints), direct)
    assert predict_ab(photo, model, hints=hints).shape == (48, 64, 2)


# --------------------------------------------------------------------------------------
# The command.
# --------------------------------------------------------------------------------------


def _exit_status(argv: list[str]) -> int:
    try:
        return cli.main(argv)
    except SystemExit as stop:
        return stop.code


@pytest.fixture()
def photo_file(tmp_path) -> Path:
    path = tmp_path / "photo.png"
    Image.fromarray(_photo(40, 60)).save(path)
    return path


def _hints_file(tmp_path: Path, entries: list) -> Path:
    path = tmp_path / "hints.json"
    path.write_text(json.dumps({"hints": entries}), encoding="utf-8")
    return path


def test_colorize_with_a_hints_file_writes_the_photo_as_colorize_would(hint_run, photo_file, tmp_path, capsys):
    hints = _hints_file(tmp_path, [{"row": 5, "column": 7, "color": "#ff0000", "patch": 5},
                                   {"row": 30, "column": 40, "ab": [-20, 40]}])
    status = _exit_status(["colorize", str(photo_file), "-o", str(tmp_path / "out"), "--hints", str(hints),
                           "--model", str(hint_run.best_checkpoint)])
    assert status == 0, capsys.readouterr().err
    written = np.asarray(Image.open(tmp_path / "out" / "photo.png"))
    model = load_pretrained(hint_run.best_checkpoint, progress=False)
    expected = colorize(photo_file, model, hints=read_hints(hints, photo_height=40, photo_width=60))
    assert np.array_equal(written, expected)


@pytest.mark.parametrize("entry, named", [
    ({"row": 40, "column": 0, "ab": [0, 0]}, 'hints.json, entry 1: "row" 40 is outside the photo'),
    ({"row": 1, "column": 1, "color": "red"}, 'hints.json, entry 1: "color" must be a colour written "#rrggbb"'),
    ({"row": 1, "column": 1, "ab": [0, 0], "colour": "#ffffff"}, "hints.json, entry 1: unknown key 'colour'"),
])
def test_a_bad_hints_file_exits_2_naming_the_entry(photo_file, tmp_path, capsys, entry, named):
    hints = _hints_file(tmp_path, [{"row": 0, "column": 0, "ab": [10, 10]}, entry])
    status = _exit_status(["colorize", str(photo_file), "-o", str(tmp_path / "out"), "--hints", str(hints)])
    error = capsys.readouterr().err
    assert status == 2 and named in error, error
    assert not (tmp_path / "out").exists()


def test_hints_with_a_model_that_does_not_take_them_or_with_a_folder_exit_2(photo_file, tmp_path, capsys):
    hints = _hints_file(tmp_path, [{"row": 0, "column": 0, "ab": [10, 10]}])
    assert _exit_status(["colorize", str(photo_file), "-o", str(tmp_path / "out"), "--hints", str(hints)]) == 2
    assert "the model paper does not take colour hints" in capsys.readouterr().err
    assert _exit_status(["colorize", str(tmp_path), "-o", str(tmp_path / "out"), "--hints", str(hints)]) == 2
    assert "exactly one image file" in capsys.readouterr().err
    assert _exit_status(["colorize", str(photo_file), "-o", str(tmp_path / "out"), "--hints",
                         str(tmp_path / "missing.json")]) == 2
    assert "cannot read" in capsys.readouterr().err


def test_the_options_are_in_the_help(capsys):
    assert _exit_status(["train", "--help"]) == 0
    train_help = " ".join(capsys.readouterr().out.split())
    assert "--hints, --no-hints" in train_help and "takes colour hints" in train_help
    assert _exit_status(["colorize", "--help"]) == 0
    colorize_help = " ".join(capsys.readouterr().out.split())
    assert "--hints HINTS.json" in colorize_help and "any other model is refused" in colorize_help
