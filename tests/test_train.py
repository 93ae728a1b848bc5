"""Training: checkpoints, history, resume after SIGKILL, NaN stop, reproducibility, skipped files, DDP.

Runs are tiny (32x32 crops, a few images, a randomly initialised encoder) so that the
whole file takes well under a minute on two cores.
"""

from __future__ import annotations

import copy
import json
import math
import os
import signal
import subprocess
import sys
import textwrap
import time
import warnings
from dataclasses import fields, replace
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from skimage.color import rgb2lab

from colorlib import cli
from colorlib.batches import encode_photos, make_loader
from colorlib.callbacks import Callback, TrainingDivergedError
from colorlib.checkpointing import RunProgress
from colorlib.color import ab_to_target, mse_to_ab_rmse
from colorlib.config import FIELD_CHOICES, MACHINE_FIELDS, PROFILES, Profile
from colorlib.data import build_datasets, rgb_batch_to_lightness_ab
from colorlib.distributed import choose_device, global_mean
from colorlib.lessons import training as lesson
from colorlib.lessons.training import constant_prediction_loss
from colorlib.losses import make_loss
from colorlib.model import ColorizationNet
from colorlib.train import TrainConfig, epoch_order, start_from_gray, train, train_step, validate
from colorlib.weights import CHECKPOINT_FORMAT, build_colorization_net, load_pretrained

REPO = Path(__file__).resolve().parent.parent


def _tiny(out: Path, **changes) -> TrainConfig:
    settings = dict(
        out=out, input_size=32, epochs=2, batch_size=4, train_images=8, val_images=4,
        data="samples", encoder_weights="random", device="cpu", num_workers=0, seed=0, cache_features=False,
    )
    settings.update(changes)
    return TrainConfig.from_profile("quick", **settings)


def _weights(path: Path) -> dict[str, torch.Tensor]:
    return torch.load(path, map_location="cpu", weights_only=True)["model"]


def _same_weights(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def _batches(dataset, batch_size=4):
    for batch in make_loader(dataset, batch_size):
        yield rgb_batch_to_lightness_ab(batch.rgb)


def _subprocess_env() -> dict:
    env = dict(os.environ, OMP_NUM_THREADS="1", MPLBACKEND="Agg", PYTHONWARNINGS="ignore")
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")])
    return env


# --------------------------------------------------------------------------------------
# Configuration, devices, baselines.
# --------------------------------------------------------------------------------------


def test_config_comes_from_the_profile_with_overrides(tmp_path):
    paper = TrainConfig.from_profile("paper")
    assert (paper.input_size, paper.epochs, paper.batch_size, paper.learning_rate) == (224, 100, 64, 0.01)
    assert (paper.train_images, paper.val_images, paper.data, paper.device) == (40_000, 1_000, "places205", "auto")
    assert paper.encoder_weights == "imagenet" and paper.freeze_encoder
    quick = TrainConfig.from_profile("quick", epochs=None, learning_rate=0.002)
    assert quick.encoder_weights == "released" and quick.learning_rate == 0.002
    assert quick.epochs == PROFILES["quick"].epochs  # None leaves the profile's value
    assert (quick.data, quick.cache_features, quick.loss) == ("course", True, "mse")
    assert (quick.input_size, quick.views_per_photo, quick.epochs, quick.score_downsample) == (64, 4, 3, 4)
    assert Path(quick.out).parts[-2:] == ("runs", "quick")
    # A run's configuration is its profile plus run settings: no field is restated.
    assert isinstance(quick, Profile) and quick.profile == "quick"
    assert TrainConfig.from_dict(quick.to_dict()) == quick
    with pytest.raises(ValueError, match="classification loss only"):
        TrainConfig.from_profile("quick", rebalance=True)
    with pytest.raises(ValueError, match="encoder is frozen"):
        TrainConfig.from_profile("quick", freeze_encoder=False)
    with pytest.raises(ValueError, match="multiple of 8"):
        TrainConfig.from_profile("quick", input_size=100)
    with pytest.raises(ValueError, match="unknown settings"):
        TrainConfig.from_profile("quick", learning_rat=0.1)
    with pytest.raises(ValueError, match="learning_rate"):
        TrainConfig.from_profile("quick", learning_rate=float("nan"))


def test_choose_device_takes_each_branch(monkeypatch):
    monkeypatch.delenv("LOCAL_RANK", raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    assert choose_device("auto") == torch.device("cpu")
    assert choose_device("cpu") == torch.device("cpu")
    with pytest.raises(ValueError, match="no CUDA GPU"):
        choose_device("cuda")
    with pytest.raises(ValueError, match="expected 'auto', 'cpu'"):
        choose_device("gpu-please")
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)
    assert choose_device("auto") == torch.device("mps")
    # CUDA wins over MPS; under torchrun each process takes GPU LOCAL_RANK modulo the GPU count.
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    assert choose_device("auto") == torch.device("cuda", 0)
    monkeypatch.setenv("LOCAL_RANK", "3")
    assert choose_device("auto") == torch.device("cuda", 1)
    assert choose_device("cuda") == torch.device("cuda", 1)
    assert choose_device("cuda:0") == torch.device("cuda", 0)  # an explicit index is kept


def test_one_process_global_mean_and_run_progress():
    assert global_mean(6.0, 3, torch.device("cpu")) == (2.0, 3)
    mean, count = global_mean(float("nan") * 0, 0, torch.device("cpu"))  # no image here: not a NaN sum
    assert math.isnan(mean) and count == 0
    progress = RunProgress()
    assert progress.record({"epoch": 1, "val_loss": 0.5}) and progress.record({"epoch": 2, "val_loss": 0.4})
    assert not progress.record({"epoch": 3, "val_loss": 0.45})
    assert (progress.best_epoch, progress.best_val_loss, progress.completed) == (2, 0.4, 3)
    assert RunProgress.from_checkpoint({**progress.entries(), "step": 7}) == RunProgress(progress.history, 0.4, 2, 3, 7)


def test_recipe_leaves_out_the_machine_settings():
    assert MACHINE_FIELDS < {f.name for f in fields(TrainConfig)}
    base = TrainConfig.from_profile("quick", out="runs/a")
    moved = TrainConfig.from_profile("quick", out="elsewhere", device="cuda", num_workers=8, compile=True, amp=True,
                                     channels_last=True)
    assert moved.recipe() == base.recipe() and moved.to_dict() != base.to_dict()
    assert set(base.to_dict()) - set(base.recipe()) == MACHINE_FIELDS
    for change in ({"learning_rate": 0.01}, {"seed": 1}, {"epochs": 5}, {"views_per_photo": 2}, {"max_steps": 5}):
        assert TrainConfig.from_profile("quick", out="runs/a", **change).recipe() != base.recipe(), change


def test_from_dict_does_not_depend_on_the_environment(monkeypatch):
    quick = TrainConfig.from_profile("quick", epochs=3)
    stored = quick.to_dict()
    del stored["learning_rate"], stored["views_per_photo"]  # a checkpoint of an older colorlib
    for profile in ("quick", "paper"):
        monkeypatch.setenv("COLORLIB_PROFILE", profile)
        loaded = TrainConfig.from_dict(stored)
        assert loaded.learning_rate == PROFILES["quick"].learning_rate == 0.003 and loaded.epochs == 3
        custom = TrainConfig.from_dict({**quick.to_dict(), "name": "custom"})
        assert custom.name == "custom" and custom.recipe() == {**quick.recipe(), "name": "custom"}
        with pytest.raises(ValueError, match="learning_rate"):
            TrainConfig.from_dict({**stored, "name": "custom"})


def test_from_dict_reads_the_input_side_under_its_old_name():
    stored = TrainConfig.from_profile("quick", input_size=32).to_dict()
    stored["image_size"] = stored.pop("input_size")  # checkpoints written before the one name
    assert TrainConfig.from_dict(stored).input_size == 32
    both = {**stored, "input_size": 48}  # the current name wins
    assert TrainConfig.from_dict(both).input_size == 48


def test_baselines_by_hand(tmp_path):
    color = np.array([200, 60, 30], dtype=np.uint8)  # an orange
    (tmp_path / "train").mkdir()
    (tmp_path / "val").mkdir()
    Image.fromarray(np.full((40, 40, 3), color)).save(tmp_path / "val" / "orange.png")
    Image.fromarray(np.full((40, 40, 3), color)).save(tmp_path / "train" / "orange.png")
    Image.fromarray(np.full((40, 40, 3), (30, 60, 200), dtype=np.uint8)).save(tmp_path / "train" / "blue.png")
    _, val_set = build_datasets(tmp_path, input_size=16, train_images=8, val_images=8)
    a, b = rgb2lab(color / 255.0)[1:]
    gray = constant_prediction_loss(make_loader(val_set, 4), ab_to_target(torch.zeros(2)))
    assert gray == pytest.approx(((a / 255) ** 2 + (b / 255) ** 2) / 2, rel=1e-4)
    blue_ab = rgb2lab(np.array([30, 60, 200]) / 255.0)[1:]
    between = ab_to_target(torch.tensor((np.array([a, b]) + blue_ab) / 2, dtype=torch.float32))  # orange and blue's mean
    expected = ((ab_to_target(torch.tensor([a, b], dtype=torch.float32)) - between) ** 2).mean()
    assert constant_prediction_loss(make_loader(val_set, 4), between) == pytest.approx(float(expected), rel=1e-4)
    assert mse_to_ab_rmse(0.0025) == pytest.approx(12.75)
    assert mse_to_ab_rmse(0.0) == 0.0


# --------------------------------------------------------------------------------------
# Checkpoints, history, reproducibility, resume.
# --------------------------------------------------------------------------------------


def test_checkpoints_history_and_load_pretrained(tmp_path):
    out = tmp_path / "run"
    result = train(_tiny(out), progress=False)
    checkpoint = torch.load(out / "last.pth", map_location="cpu", weights_only=True)  # plain types only
    assert checkpoint["format"] == CHECKPOINT_FORMAT
    assert checkpoint["epoch"] == 2 and checkpoint["step"] == 4
    assert set(checkpoint) == {"format", "model", "optimizer", "epoch", "step", "history", "best_val_loss", "best_epoch",
                               "skipped", "rng", "config", "meta", "loss_state", "trained_model", "averaged_steps"}
    assert set(checkpoint["rng"]) == {"torch", "cuda", "numpy", "python"}
    assert checkpoint["skipped"] == {"grayscale": [], "unreadable": []}
    assert checkpoint["config"]["input_size"] == 32 and checkpoint["config"]["out"] == str(out)
    history = json.loads((out / "history.json").read_text())
    assert [e["epoch"] for e in history["epochs"]] == [1, 2]
    for entry in history["epochs"]:
        assert set(entry) >= {"train_loss", "val_loss", "images_per_s", "seconds", "lr"}
        assert entry["lr"] == checkpoint["config"]["learning_rate"] and entry["train_images"] == 8 and entry["images_per_s"] > 0
    best_epoch = min(history["epochs"], key=lambda e: e["val_loss"])["epoch"]
    assert torch.load(out / "best.pth", weights_only=True)["epoch"] == best_epoch == result.best_epoch
    assert not list(out.glob(".*.tmp"))  # atomic writes leave no temporary files

    loaded = load_pretrained(out / "last.pth")
    assert _same_weights(loaded.state_dict(), checkpoint["model"])
    assert not loaded.training
    # The checkpoint carries what the network needs: its input size, convention and loss.
    assert checkpoint["meta"] == {"input_size": 32, "input_convention": "L/100", "loss": "mse", "profile": "quick",
                                  "input_normalisation": None, "takes_hints": False}
    assert (loaded.input_size, loaded.input_convention, loaded.loss_name) == (32, "L/100", "mse")
    # The returned model is the last one; its validation loss is the last epoch's.
    _, val_set = build_datasets("samples", 32, 8, 4)
    val_loss, images = validate(loaded, _batches(val_set), make_loss("mse"))
    assert images == 4 and val_loss == pytest.approx(history["epochs"][-1]["val_loss"], rel=1e-5)

    with pytest.raises(FileExistsError, match="--resume"):
        train(_tiny(out), progress=False)


def test_seeded_runs_repeat_exactly(tmp_path):
    first = train(_tiny(tmp_path / "a", epochs=1), progress=False)
    second = train(_tiny(tmp_path / "b", epochs=1), progress=False)
    other = train(_tiny(tmp_path / "c", epochs=1, seed=1), progress=False)
    assert _same_weights(_weights(tmp_path / "a" / "last.pth"), _weights(tmp_path / "b" / "last.pth"))
    assert first.history[0]["train_loss"] == second.history[0]["train_loss"]
    assert not _same_weights(_weights(tmp_path / "a" / "last.pth"), _weights(tmp_path / "c" / "last.pth"))
    assert other.history[0]["train_loss"] != first.history[0]["train_loss"]


def test_resume_continues_exactly_like_an_uninterrupted_run(tmp_path):
    straight = train(_tiny(tmp_path / "straight", epochs=3), progress=False)
    train(_tiny(tmp_path / "split", epochs=1), progress=False)
    resumed = train(_tiny(tmp_path / "split", epochs=3), resume=True, progress=False)
    assert [e["epoch"] for e in resumed.history] == [1, 2, 3]
    assert [e["val_loss"] for e in resumed.history] == [e["val_loss"] for e in straight.history]
    assert _same_weights(_weights(tmp_path / "straight" / "last.pth"), _weights(tmp_path / "split" / "last.pth"))


def test_a_run_killed_with_sigkill_resumes_without_repeating_epochs(tmp_path):
    out = tmp_path / "killed"
    command = [
        sys.executable, "-m", "colorlib.cli", "train", "--data", "samples", "--out", str(out),
        "--epochs", "1000", "--size", "32", "--batch-size", "4", "--train-images", "8",
        "--val-images", "4", "--encoder-weights", "random", "--device", "cpu", "--no-progress",
        "--no-cache-features",
    ]
    process = subprocess.Popen(command, env=_subprocess_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    history_file = out / "history.json"
    deadline = time.monotonic() + 120
    seen = 0
    while time.monotonic() < deadline and process.poll() is None:
        if history_file.exists():
            seen = len(json.loads(history_file.read_text())["epochs"])
            if seen >= 2:
                break
        time.sleep(0.02)
    assert process.poll() is None, process.stderr.read().decode()
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    process.stderr.close()

    last = torch.load(out / "last.pth", weights_only=True)
    assert last["epoch"] >= seen  # at most the epoch in progress was lost
    assert [e["epoch"] for e in last["history"]] == list(range(1, last["epoch"] + 1))
    target = last["epoch"] + 1
    code = cli.main(["train", "--out", str(out), "--resume", "--epochs", str(target), "--no-progress"])
    assert code == 0
    history = json.loads(history_file.read_text())
    assert [e["epoch"] for e in history["epochs"]] == list(range(1, target + 1))
    assert history["config"]["input_size"] == 32  # the stored settings were reused


def test_a_nan_loss_stops_and_keeps_the_last_good_checkpoint(tmp_path):
    out = tmp_path / "run"
    train(_tiny(out, epochs=1), progress=False)
    files = {name: (out / name).read_bytes() for name in ("last.pth", "best.pth", "history.json")}
    with pytest.raises(TrainingDivergedError, match=r"NaN or infinite in epoch 2.*after epoch 1"):
        train(_tiny(out, epochs=2, learning_rate=1e30), resume=True, progress=False)
    assert {name: (out / name).read_bytes() for name in files} == files
    good = load_pretrained(out / "last.pth")
    assert all(torch.isfinite(v).all() for v in good.state_dict().values() if v.is_floating_point())


def test_bad_and_grayscale_files_are_skipped_counted_and_warned_once(tmp_path):
    data = tmp_path / "photos"
    (data / "train").mkdir(parents=True)
    (data / "val").mkdir()
    rng = np.random.default_rng(0)
    for index in range(6):
        Image.fromarray(rng.integers(0, 256, (40, 40, 3), dtype=np.uint8)).save(data / "train" / f"c{index}.png")
    for index in range(2):
        Image.fromarray(rng.integers(0, 256, (40, 40, 3), dtype=np.uint8)).save(data / "val" / f"v{index}.png")
    Image.fromarray(np.full((40, 40), 100, dtype=np.uint8)).save(data / "train" / "gray_l.png")
    Image.fromarray(np.full((40, 40, 3), 100, dtype=np.uint8)).save(data / "train" / "gray_rgb.jpg")
    (data / "train" / "fake.png").write_text("not an image at all")
    jpeg = data / "train" / "cut.jpg"
    Image.fromarray(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(jpeg)
    jpeg.write_bytes(jpeg.read_bytes()[:300])

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = train(_tiny(tmp_path / "run", data=str(data), epochs=2, train_images=100), progress=False)
    ours = [w for w in caught if "unreadable" in str(w.message)]
    assert len(ours) == 1
    message = str(ours[0].message)
    assert "skipped 2 unreadable" in message and "fake.png" in message and "cut.jpg" in message
    assert sorted(Path(p).name for p in result.skipped_grayscale) == ["gray_l.png", "gray_rgb.jpg"]
    assert len(result.skipped_unreadable) == 2
    assert "skipped 2 grayscale images and 2 unreadable files" in result.summary()
    assert all(e["train_images"] == 6 for e in result.history)
    history = json.loads((tmp_path / "run" / "history.json").read_text())
    assert (history["skipped_grayscale"], history["skipped_unreadable"]) == (2, 2)


# --------------------------------------------------------------------------------------
# The loop's pieces, stored features, other losses.
# --------------------------------------------------------------------------------------


def test_train_step_lowers_the_loss_of_its_batch():
    torch.manual_seed(0)
    model = build_colorization_net("random", input_size=32)
    loss_fn = make_loss("mse")
    rgb = torch.from_numpy(np.random.default_rng(0).integers(0, 256, (4, 3, 32, 32), dtype=np.uint8))
    inputs, ab = rgb_batch_to_lightness_ab(rgb)
    optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=1e-3)
    losses = [float(train_step(model, inputs, ab, loss_fn, optimizer)) for _ in range(5)]
    assert losses[-1] < losses[0]
    # MSE on the paper's scale: the first loss is that of the initial output against (ab + 128) / 255.
    assert losses[0] > 0 and all(math.isfinite(value) for value in losses)


def test_stored_features_give_the_same_loss_as_the_photos():
    torch.manual_seed(0)
    model = build_colorization_net("random", input_size=32).eval()
    _, val_set = build_datasets("samples", 32, 4, 4)
    stored = encode_photos(model, val_set)
    features, ab = stored.tensors
    assert features.shape == (4, 128, 4, 4) and ab.shape == (4, 2, 32, 32) and features.dtype == torch.float16
    loss_fn = make_loss("mse")
    from_photos, _ = validate(model, _batches(val_set), loss_fn)
    from_features, images = validate(model.decoder, [(features[:4].float(), ab[:4].float())], loss_fn)
    assert images == 4 and from_features == pytest.approx(from_photos, rel=2e-3)  # float16 storage


def test_stored_training_views_are_random_crops_drawn_from_the_seed():
    model = build_colorization_net("random", input_size=32).eval()
    train_set, _ = build_datasets("samples", 32, 3, 2)
    first = encode_photos(model, train_set, views=2, seed=5).tensors[1]
    again = encode_photos(model, train_set, views=2, seed=5).tensors[1]
    other = encode_photos(model, train_set, views=2, seed=6).tensors[1]
    assert first.shape == (6, 2, 32, 32)
    assert torch.equal(first, again) and not torch.equal(first, other)
    assert not torch.equal(first[:3], first[3:])  # the second pass drew other crops


def test_a_quick_run_on_stored_features_resumes_exactly(tmp_path):
    config = dict(cache_features=True, encoder_weights="random")
    straight = train(_tiny(tmp_path / "straight", epochs=2, **config), progress=False)
    train(_tiny(tmp_path / "split", epochs=1, **config), progress=False)
    resumed = train(_tiny(tmp_path / "split", epochs=2, **config), resume=True, progress=False)
    assert [e["val_loss"] for e in resumed.history] == [e["val_loss"] for e in straight.history]
    # views_per_photo random crops of each of the 8 photos, stored once.
    assert straight.history[0]["train_images"] == 8 * PROFILES["quick"].views_per_photo


def test_a_classification_run_records_its_bins_and_decodes_them(tmp_path):
    result = train(_tiny(tmp_path / "cls", epochs=1, loss="classification", rebalance=True), progress=False)
    checkpoint = torch.load(tmp_path / "cls" / "last.pth", weights_only=True)
    assert checkpoint["loss_state"]["name"] == "classification" and checkpoint["meta"]["loss"] == "classification"
    loaded = load_pretrained(tmp_path / "cls" / "last.pth")
    bins = loaded.output_decoder.bins
    assert loaded.decoder[-2].out_channels == len(bins) and loaded.loss_name == "classification"
    assert torch.equal(bins, checkpoint["loss_state"]["bins"])
    lightness = torch.rand(1, 1, 32, 32)
    torch.set_grad_enabled(False)
    try:
        ab = loaded.predict_ab(lightness, temperature=0.38)
        warmer = loaded.predict_ab(lightness, temperature=1.0)
    finally:
        torch.set_grad_enabled(True)
    assert ab.shape == (1, 2, 32, 32) and float(ab.abs().max()) < 128
    assert not torch.allclose(warmer, ab)
    assert math.isfinite(result.history[0]["val_loss"])


@pytest.mark.needs_data
def test_the_authors_encoder_adapts_its_batch_norm_and_trains_conv1(tmp_path):
    config = _tiny(tmp_path / "authors", epochs=1, encoder_weights="released", encoder_as_the_authors=True)
    before = build_colorization_net("released").encoder.state_dict()
    train(config, progress=False)
    after = torch.load(tmp_path / "authors" / "last.pth", weights_only=True)["model"]
    assert not torch.equal(after["encoder.1.running_mean"], before["1.running_mean"])  # statistics drifted
    assert not torch.equal(after["encoder.0.weight"], before["0.weight"])  # conv1 learnt
    assert torch.equal(after["encoder.4.0.conv1.weight"], before["4.0.conv1.weight"])  # the rest stayed
    with pytest.raises(ValueError, match="not with encoder_as_the_authors"):
        _tiny(tmp_path / "x", cache_features=True, encoder_as_the_authors=True)


def test_a_normalised_input_is_recorded_and_restored(tmp_path):
    train(_tiny(tmp_path / "norm", epochs=1, input_normalisation=True), progress=False)
    model = load_pretrained(tmp_path / "norm" / "last.pth")
    assert model.input_normalisation == (0.449, 0.226)
    x = torch.rand(1, 1, 32, 32)
    with torch.no_grad():
        assert torch.equal(model.encode(x), model.encoder((x - 0.449) / 0.226))


def test_start_from_gray_predicts_gray_for_every_loss():
    lightness = torch.rand(2, 1, 32, 32)
    for loss_fn in (None, make_loss("l1"), make_loss("classification")):
        model = ColorizationNet(decoder=loss_fn).eval()
        start_from_gray(model)
        ab = model.predict_ab(lightness)
        assert float(ab.detach().abs().max()) < 1.0  # the soft-encoded ab = 0 decodes to within a unit of gray


# --------------------------------------------------------------------------------------
# The GPU code path on the CPU, the command line, several processes.
# --------------------------------------------------------------------------------------


def test_bfloat16_autocast_and_channels_last_path(tmp_path):
    result = train(
        _tiny(tmp_path / "amp", epochs=1, amp=True, channels_last=True, max_steps=2), progress=False
    )
    plain = train(_tiny(tmp_path / "fp32", epochs=1, max_steps=2), progress=False)
    assert result.history[0]["steps"] == 2 and result.history[0]["train_images"] == 8
    # bfloat16 keeps about 3 significant digits: the same run's loss agrees to a few percent.
    assert result.history[0]["train_loss"] == pytest.approx(plain.history[0]["train_loss"], rel=0.05)
    assert load_pretrained(tmp_path / "amp" / "best.pth").decoder[0].weight.is_contiguous()


def test_the_train_command(tmp_path, capsys):
    out = tmp_path / "cli"
    arguments = [
        "train", "--data", "samples", "--out", str(out), "--epochs", "3", "--max-steps", "3",
        "--size", "32", "--batch-size", "4", "--train-images", "8", "--val-images", "4",
        "--encoder-weights", "random", "--device", "cpu", "--lr", "0.005", "--no-progress",
        "--no-cache-features",
    ]
    assert cli.main(arguments) == 0
    printed = capsys.readouterr().out
    assert "skipped 0 grayscale images and 0 unreadable files" in printed
    history = json.loads((out / "history.json").read_text())
    assert [e["steps"] for e in history["epochs"]] == [2, 3]  # --max-steps stops inside epoch 2
    assert history["config"]["learning_rate"] == 0.005
    assert cli.main(arguments) == 1  # the folder holds a run: no silent overwrite (a run-time failure)
    captured = capsys.readouterr()
    assert "already holds a training run" in captured.err and captured.out == ""
    assert cli.main(["train", "--size", "30", "--out", str(tmp_path / "x"), "--no-progress"]) == 2  # bad arguments
    assert "input_size: expected a multiple of 8" in capsys.readouterr().err
    assert not (tmp_path / "x" / "last.pth").exists()


def test_every_train_setting_has_its_option():
    parser = cli.build_parser()
    for setting in fields(TrainConfig):
        if setting.name == "name":  # the profile the defaults come from
            assert parser.parse_args(["train", "--profile", "paper"]).profile == "paper"
            continue
        flag = "--" + setting.name.replace("_", "-")
        kind = str(setting.type).replace(" | None", "")
        if kind == "bool":
            assert getattr(parser.parse_args(["train", flag]), setting.name) is True, flag
            assert getattr(parser.parse_args(["train", "--no-" + flag[2:]]), setting.name) is False, flag
        else:
            word = FIELD_CHOICES.get(setting.name, ("some-words",))[-1]
            text, value = {"int": ("3", 3), "float": ("0.5", 0.5), "str": (word, word)}[kind]
            assert getattr(parser.parse_args(["train", flag, text]), setting.name) == value, flag
        assert getattr(parser.parse_args(["train"]), setting.name) is None  # not given: the profile's value
    old = parser.parse_args(["train", "--lr", "0.02", "--size", "64", "--workers", "2"])
    assert (old.learning_rate, old.input_size, old.num_workers) == (0.02, 64, 2)


def test_bad_train_options_exit_with_status_2(tmp_path, capsys):
    out = str(tmp_path / "bad")
    assert cli.main(["train", "--epochs", "0", "--out", out, "--no-progress"]) == 2
    assert capsys.readouterr().err.strip() == "colorlib train: epochs: expected a positive number, got 0"
    assert cli.main(["train", "--views-per-photo", "0", "--out", out]) == 2
    assert "views_per_photo: expected a positive number" in capsys.readouterr().err
    for arguments in (["--learning-rate", "fast"], ["--loss", "huber"], ["--epochs", "2.5"]):
        with pytest.raises(SystemExit) as bad:  # argparse's own check of the type or choice
            cli.main(["train", *arguments, "--out", out])
        assert bad.value.code == 2 and arguments[0] in capsys.readouterr().err
    assert not Path(out).exists() or not any(Path(out).iterdir())


def test_a_callback_sees_every_step_and_epoch(tmp_path):
    class Recorder(Callback):
        def __init__(self):
            self.events = []

        def begin_epoch(self, epoch):
            self.events.append(("epoch", epoch))

        def after_step(self, epoch, steps, mean_loss):
            self.events.append(("step", epoch, steps))

        def after_loss(self, epoch, loss):
            self.events.append(("loss", epoch, loss))

        def after_epoch(self, entry):
            self.events.append(("end", entry["epoch"], entry["train_loss"], entry["val_loss"]))

    recorder = Recorder()
    result = train(_tiny(tmp_path / "run"), progress=False, callbacks=[recorder])
    first, second = result.history
    assert recorder.events == [
        ("epoch", 1), ("step", 1, 1), ("step", 1, 2), ("loss", 1, first["train_loss"]), ("loss", 1, first["val_loss"]),
        ("end", 1, first["train_loss"], first["val_loss"]),
        ("epoch", 2), ("step", 2, 1), ("step", 2, 2), ("loss", 2, second["train_loss"]), ("loss", 2, second["val_loss"]),
        ("end", 2, second["train_loss"], second["val_loss"]),
    ]


@pytest.mark.slow
def test_distributed_data_parallel_on_two_cpu_processes(tmp_path, closed_port):
    script = tmp_path / "ddp_run.py"
    script.write_text(textwrap.dedent(
        f"""
        import os, torch
        import torch.distributed as dist
        from colorlib.train import TrainConfig, train
        out = {str(tmp_path / "run")!r}
        config = TrainConfig.from_profile(
            "quick", out=out, input_size=32, epochs=1, max_steps=2, batch_size=2, train_images=8,
            val_images=3, data="samples", encoder_weights="random", device="cpu", seed=0, cache_features=False)
        result = train(config, progress=False)
        rank = int(os.environ["RANK"])
        torch.save({{"state": result.model.state_dict(), "world": int(os.environ["WORLD_SIZE"]),
                    "history": result.history}}, os.path.join(out, f"rank{{rank}}.pt"))
        """
    ))
    command = [
        sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2",
        "--master_addr", "127.0.0.1", "--master_port", str(closed_port), str(script),
    ]
    finished = subprocess.run(command, env=_subprocess_env(), capture_output=True, text=True, timeout=240)
    assert finished.returncode == 0, finished.stderr[-3000:]
    ranks = [torch.load(tmp_path / "run" / f"rank{r}.pt", weights_only=True) for r in (0, 1)]
    assert [r["world"] for r in ranks] == [2, 2]
    assert _same_weights(ranks[0]["state"], ranks[1]["state"])  # both processes hold the same model
    # Two steps of 2 images on each of 2 processes: 8 images in the epoch's record.
    assert ranks[0]["history"][0]["train_images"] == 8 and ranks[0]["history"][0]["steps"] == 2
    losses = [[(e["train_loss"], e["val_loss"]) for e in r["history"]] for r in ranks]
    assert losses[0] == losses[1]  # both processes report the all-reduced losses
    # The step changed the decoder (the same seed gave both processes the same start).
    torch.manual_seed(0)
    initial = build_colorization_net("random").state_dict()
    assert not torch.equal(initial["decoder.0.weight"], ranks[0]["state"]["decoder.0.weight"])
    assert torch.equal(initial["encoder.0.weight"], ranks[0]["state"]["encoder.0.weight"])  # frozen
    assert _same_weights(_weights(tmp_path / "run" / "last.pth"), ranks[0]["state"])


def test_decoder_only_scores_a_quarter_resolution_loss_on_pooled_logits_exactly():
    from colorlib.model import DecoderOnly, make_decoder, pooled_decoder_output

    torch.manual_seed(0)
    model = ColorizationNet(decoder=make_loss("classification"))
    features = torch.randn(2, 128, 4, 4, dtype=torch.float64)
    decoder = model.decoder.double().eval()
    for pool in (2, 4, 8):
        expected = torch.nn.functional.avg_pool2d(decoder(features), pool)
        torch.testing.assert_close(pooled_decoder_output(decoder, features, pool=pool), expected, rtol=1e-12, atol=1e-12)
    learner = DecoderOnly(model, score_downsample=4)
    assert learner(features).shape == (2, 262, 8, 8) and DecoderOnly(model).pool == 1
    with pytest.raises(ValueError, match="even"):
        pooled_decoder_output(decoder, features, pool=3)
    with pytest.raises(ValueError, match="Upsample"):
        pooled_decoder_output(make_decoder()[:-1], features.float(), pool=4)


def test_a_classification_run_scores_at_a_quarter_unless_told(tmp_path):
    quarter = train(_tiny(tmp_path / "q", epochs=1, loss="classification"), progress=False)
    every_pixel = train(_tiny(tmp_path / "p", epochs=1, loss="classification", score_downsample=1), progress=False)
    stored = {name: torch.load(tmp_path / name / "last.pth", weights_only=True) for name in ("q", "p")}
    assert stored["q"]["loss_state"]["score_downsample"] == 4 and stored["q"]["config"]["score_downsample"] == 4
    assert stored["p"]["loss_state"]["score_downsample"] == 1
    # Same seed, same crops and start: only where the loss is scored differs.
    assert quarter.history[0]["train_loss"] != every_pixel.history[0]["train_loss"]
    # A stored configuration from before the field scored every pixel.
    old = {k: v for k, v in stored["q"]["config"].items() if k != "score_downsample"}
    assert TrainConfig.from_dict(old).score_downsample == 1
    with pytest.raises(ValueError, match=r"score_downsample: expected one of \(1, 2, 4, 8\), got 3"):
        _tiny(tmp_path / "bad", score_downsample=3)


def test_runs_of_the_same_photos_crops_and_encoder_share_their_stored_features(tmp_path, monkeypatch):
    from colorlib import train as training_module

    encoded = []
    real_encode = training_module.encode_photos
    monkeypatch.setattr(training_module, "encode_photos", lambda *a, **k: encoded.append(k["views"]) or real_encode(*a, **k))
    monkeypatch.setattr(training_module, "_LAST_STORED_FEATURES", {})
    first = train(_tiny(tmp_path / "mse", epochs=1, cache_features=True), progress=False)
    train(_tiny(tmp_path / "l1", epochs=1, loss="l1", cache_features=True), progress=False)
    assert len(encoded) == 2  # training and validation sets, once for both runs
    again = train(_tiny(tmp_path / "mse-again", epochs=1, cache_features=True), progress=False)
    training_module._LAST_STORED_FEATURES.clear()
    fresh = train(_tiny(tmp_path / "mse-fresh", epochs=1, cache_features=True), progress=False)
    assert len(encoded) == 4  # encoded anew only after the store was emptied
    assert first.history[0]["val_loss"] == again.history[0]["val_loss"] == fresh.history[0]["val_loss"]
    train(_tiny(tmp_path / "other-seed", epochs=1, seed=1, cache_features=True), progress=False)
    assert len(encoded) == 6  # another seed draws other crops


# --------------------------------------------------------------------------------------
# The order of an epoch, and a loop written by hand (lesson 04) against train().
# --------------------------------------------------------------------------------------


def test_epoch_order_is_a_seeded_permutation_per_epoch():
    first = epoch_order(50, seed=3, epoch=1)
    assert first.dtype == torch.int64 and sorted(first.tolist()) == list(range(50))
    assert torch.equal(first, epoch_order(50, seed=3, epoch=1))
    assert not torch.equal(first, epoch_order(50, seed=3, epoch=2))
    assert torch.equal(epoch_order(50, seed=3, epoch=2), epoch_order(50, seed=4, epoch=1))  # seed + epoch decides
    for size, seed, epoch in ((0, 0, 1), (5, -1, 1), (5, 0, -1)):
        with pytest.raises(ValueError, match="epoch_order"):
            epoch_order(size, seed=seed, epoch=epoch)


class _Start(Callback):
    """Notes the run's starting decoder, its stored training tensors and its sampler's orders."""

    def begin_run(self, run):
        self.decoder = copy.deepcopy(run.model.decoder)
        self.features, self.ab = run.train_loader.dataset.tensors
        self.orders = []
        for epoch in (1, 2):
            run.sampler.set_epoch(epoch)
            self.orders.append(list(run.sampler))


def _loop_by_hand(decoder, features, ab, *, batch_size, lr, seed, epoch=1) -> float:
    """Lesson 04's loop for one epoch: the mean training loss."""
    optimizer = torch.optim.Adam(decoder.parameters(), lr=lr)
    order = epoch_order(len(features), seed=seed, epoch=epoch)
    decoder.train()
    total = 0.0
    for first in range(0, len(order), batch_size):
        batch = order[first:first + batch_size]
        loss = torch.nn.functional.mse_loss(decoder(features[batch].float()), ab_to_target(ab[batch].float()))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        total += loss.item() * len(batch)
    return total / len(order)


def test_a_loop_written_by_hand_in_epoch_order_gives_trains_first_epoch(tmp_path):
    start = _Start()
    config = _tiny(tmp_path / "run", epochs=1, cache_features=True, batch_size=3)  # 32 crops: a last batch of 2
    result = train(config, progress=False, callbacks=[start])
    assert start.orders == [epoch_order(len(start.features), seed=config.seed, epoch=e).tolist() for e in (1, 2)]
    by_hand = _loop_by_hand(start.decoder, start.features, start.ab, batch_size=config.batch_size,
                            lr=config.learning_rate, seed=config.seed)
    assert by_hand == pytest.approx(result.history[0]["train_loss"], rel=1e-12, abs=0)
    other_order = _loop_by_hand(copy.deepcopy(start.decoder), start.features, start.ab, batch_size=config.batch_size,
                                lr=config.learning_rate, seed=config.seed, epoch=2)
    assert other_order != pytest.approx(result.history[0]["train_loss"], rel=1e-6)  # the check can tell orders apart


def test_lesson_04_stored_features_are_the_runs_and_its_epoch_starts_where_it_is_told(tmp_path, monkeypatch):
    from colorlib import train as training_module

    monkeypatch.setattr(training_module, "_LAST_STORED_FEATURES", {})
    config = _tiny(tmp_path / "loop", epochs=1, cache_features=True, views_per_photo=1, weight_average_decay=0)
    state = torch.get_rng_state()
    train_features, train_ab, val_features, val_ab = lesson.stored_features(config)
    assert torch.equal(torch.get_rng_state(), state)  # the global generator untouched
    assert train_features.shape == (8, 128, 4, 4) and train_ab.shape == (8, 2, 32, 32)
    assert val_features.shape == (4, 128, 4, 4) and val_ab.shape == (4, 2, 32, 32)
    assert train_features.dtype == train_ab.dtype == torch.float16
    torch.manual_seed(1)
    model = build_colorization_net("random", input_size=32)
    start_from_gray(model)
    start = copy.deepcopy(model.decoder.state_dict())
    entry = lesson.library_first_epoch(config, start, train_features=train_features)  # the run trains on these very tensors
    by_hand = _loop_by_hand(model.decoder, train_features, train_ab, batch_size=config.batch_size,
                            lr=config.learning_rate, seed=config.seed)
    assert entry["epoch"] == 1 and by_hand == pytest.approx(entry["train_loss"], rel=1e-12, abs=0)
    assert entry["val_loss"] == pytest.approx(validate(model.decoder, [(val_features.float(), val_ab.float())], make_loss("mse"))[0],
                                              rel=1e-5)  # one batch here, config.batch_size there
    with pytest.raises(ValueError, match="its own features"):
        lesson.library_first_epoch(config, start, train_features=train_features.clone())
    training_module._LAST_STORED_FEATURES.clear()  # train() encodes afresh: the same crops and (random) encoder
    fresh = _Start()
    train(replace(config, out=str(tmp_path / "fresh")), progress=False, callbacks=[fresh])
    assert torch.equal(fresh.features, train_features) and torch.equal(fresh.ab, train_ab)
    with pytest.raises(ValueError, match="cache_features"):
        lesson.stored_features(_tiny(tmp_path / "photos", cache_features=False))


def test_lesson_04_loop_config_is_the_profiles_recipe_on_fewer_crops():
    config = lesson.loop_config(PROFILES["quick"])
    quick = PROFILES["quick"]
    assert (config.input_size, config.batch_size, config.learning_rate, config.seed) == (quick.input_size, quick.batch_size, quick.learning_rate, 0)
    assert (config.train_images, config.views_per_photo, config.epochs, config.device) == (lesson.LOOP_PHOTOS, 1, 3, "cpu")
    assert config.cache_features and config.start_from_gray and Path(config.out).name == "quick-your-loop"
    assert config.weight_average_decay == 0 and quick.weight_average_decay  # the plain loop: the weights as trained


def test_lesson_04_live_curve_and_filmstrip(tmp_path, monkeypatch):
    from colorlib import config as config_module

    monkeypatch.setattr(config_module, "repo_root", lambda: None)
    monkeypatch.chdir(tmp_path)
    curve = lesson.LiveLossCurve(start_val_loss=0.004, references={"gray": 0.0044}, epochs=2, title="t")
    curve.add({"epoch": 1, "train_loss": 0.01, "val_loss": 0.0038, "step_losses": [0.004, 0.05, 0.006]})
    curve.add({"epoch": 2, "train_loss": 0.005, "val_loss": 0.0036})
    assert curve.val == [(0, 0.004), (1, 0.0038), (2, 0.0036)] and [x for x, _ in curve.steps] == pytest.approx([1 / 3, 2 / 3, 1])
    assert curve.figure.axes[0].get_yscale() == "log"
    torch.manual_seed(0)
    model = build_colorization_net("random", input_size=32)
    start_from_gray(model)
    rgb = torch.from_numpy(np.random.default_rng(0).integers(0, 256, (2, 3, 32, 32), dtype=np.uint8))
    filmstrip = lesson.Filmstrip(model, rgb)
    filmstrip.add("epoch 1", model.decoder.train())
    assert model.decoder.training  # its mode restored
    chroma = filmstrip.mean_chroma()
    assert list(chroma) == ["epoch 1", "truth"] and chroma["epoch 1"] == pytest.approx(0.0, abs=1e-3)  # gray start
    by_hand = float(torch.sqrt((filmstrip.ab**2).sum(dim=1)).mean())  # random colours: far from gray
    assert by_hand > 10 and chroma["truth"] == pytest.approx(by_hand, rel=1e-5)
    assert filmstrip.rows["epoch 1"].shape == (2, 32, 32, 3)
    figure = filmstrip.figure(titles=["a", "b"])
    assert len(figure.axes) == 3 * 2  # gray input, epoch 1, truth
    assert filmstrip.save(figure) == tmp_path / "figures" / lesson.FILMSTRIP_FIGURE


def test_lesson_04_filmstrip_photos_are_the_most_colourful_candidates():
    config = _tiny(Path("unused"), val_images=6)
    rgb, names = lesson.filmstrip_photos(config, count=2, candidates=6)
    assert rgb.shape == (2, 3, 32, 32) and rgb.dtype == torch.uint8 and len(names) == 2
    _, val_set = build_datasets("samples", 32, 8, 6)
    chroma = sorted(float(torch.linalg.vector_norm(rgb_batch_to_lightness_ab(val_set[i]["rgb"][None])[1], dim=1).mean())
                    for i in range(6))
    shown = [float(torch.linalg.vector_norm(rgb_batch_to_lightness_ab(photo[None])[1], dim=1).mean()) for photo in rgb]
    assert shown == pytest.approx(chroma[::-1][:2])


# --------------------------------------------------------------------------------------
# The weights a run keeps: a moving average of the weights as trained (colorlib.averaging).
# --------------------------------------------------------------------------------------


class _StepWeights(Callback):
    """The whole network's weights and buffers after every optimizer step."""

    def begin_run(self, run):
        self.model, self.states = run.model, []

    def after_step(self, epoch, steps, mean_loss):
        self.states.append({k: v.detach().clone() for k, v in self.model.state_dict().items()})


def test_a_run_keeps_the_moving_average_of_its_weights_computed_by_hand(tmp_path):
    decay = 0.9
    steps = _StepWeights()
    result = train(_tiny(tmp_path / "run", weight_average_decay=decay), progress=False, callbacks=[steps])
    last = torch.load(tmp_path / "run" / "last.pth", map_location="cpu", weights_only=True)
    assert len(steps.states) == 4 and last["averaged_steps"] == 4  # 2 epochs of 2 steps
    assert _same_weights(last["trained_model"], steps.states[-1])  # the weights as trained ride along
    name = "decoder.0.weight"
    by_hand = steps.states[0][name].double()  # the first update copies
    for state in steps.states[1:]:
        by_hand = decay * by_hand + (1 - decay) * state[name].double()
    torch.testing.assert_close(last["model"][name].double(), by_hand, rtol=1e-5, atol=1e-7)
    assert not torch.allclose(last["model"][name], steps.states[-1][name])  # the average is not the last step
    assert torch.equal(result.model.state_dict()[name], last["model"][name])  # train() returns the average
    assert torch.equal(load_pretrained(tmp_path / "run" / "last.pth").state_dict()[name], last["model"][name])


def test_without_averaging_the_run_keeps_the_weights_as_trained(tmp_path):
    steps = _StepWeights()
    train(_tiny(tmp_path / "run", epochs=1, weight_average_decay=0), progress=False, callbacks=[steps])
    last = torch.load(tmp_path / "run" / "last.pth", map_location="cpu", weights_only=True)
    assert "trained_model" not in last and "averaged_steps" not in last
    assert _same_weights(last["model"], steps.states[-1])


def test_a_resumed_run_goes_on_averaging_exactly(tmp_path):
    straight = train(_tiny(tmp_path / "straight", epochs=3, weight_average_decay=0.9), progress=False)
    train(_tiny(tmp_path / "split", epochs=1, weight_average_decay=0.9), progress=False)
    resumed = train(_tiny(tmp_path / "split", epochs=3, weight_average_decay=0.9), resume=True, progress=False)
    assert [e["val_loss"] for e in resumed.history] == [e["val_loss"] for e in straight.history]
    first, second = (torch.load(p / "last.pth", map_location="cpu", weights_only=True)
                     for p in (tmp_path / "straight", tmp_path / "split"))
    assert _same_weights(first["model"], second["model"]) and _same_weights(first["trained_model"], second["trained_model"])
    assert first["averaged_steps"] == second["averaged_steps"] == 6


def test_weight_average_decay_is_checked_and_absent_from_older_recipes():
    with pytest.raises(ValueError, match="weight_average_decay"):
        TrainConfig.from_profile("quick", weight_average_decay=1.0)
    assert PROFILES["quick"].weight_average_decay == 0.99 and PROFILES["paper"].weight_average_decay == 0
    stored = TrainConfig.from_profile("quick").to_dict()
    del stored["weight_average_decay"]  # a run stored before the field did not average
    assert TrainConfig.from_dict(stored).weight_average_decay == 0
