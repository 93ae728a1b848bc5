"""The quick profile's main run for three seeds, and the Kodak24 table beside the baselines.

Trains ``colorlib train`` 's quick configuration (the course's photos: landscapes and
Caltech-101, stratified split; 64x64, 4 stored crops per photo, 3 epochs) once per seed,
keeps each run's best epoch (chosen on the validation split, never on the test set) and
prints, for the validation split and for Kodak24 (the test set), the mean AuC of: gray,
the training photos' mean ab, the authors' released model at 224 and at 64, and the quick
model per seed, with the seeds' mean and range, and each run's wall-clock time (goal: at
most 4 minutes on a quiet 2-core machine). The baselines are measured in the same run, so
the table reads as differences.

    python benchmarks/train_quick_seeds.py               # seeds 0 1 2 into runs/bench-quick-seedN
    python benchmarks/train_quick_seeds.py --seeds 0 1 2 3 4

A benchmark, not a test: it takes about ten minutes on two cores; run it on a quiet machine.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

import colorlib
import colorlib.train
from colorlib import evaluate, splits
from colorlib.config import get_profile, run_dir
from colorlib.train import TrainConfig, train


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = parser.parse_args()
    torch.set_num_threads(2)
    # Time a first run: every seed encodes its crops, even where the cache keeps a run's features.
    colorlib.train.kept_features = lambda key, datasets, encode: encode()
    profile = get_profile("quick")
    validation = evaluate.photo_set(splits.course_photos_split()[1]).images
    test = evaluate.evaluation_images()
    colorizers = {
        "gray (ab = 0)": evaluate.gray_colorizer,
        "mean ab of the training photos": evaluate.constant_ab_colorizer(evaluate.training_mean_ab(profile)),
        "released model (224)": evaluate.model_colorizer(colorlib.load_pretrained("paper", progress=False)),
        f"released model ({profile.input_size})": evaluate.model_colorizer(
            colorlib.load_pretrained("paper", progress=False), input_size=profile.input_size),
    }
    seconds = {}
    for seed in args.seeds:
        started = time.perf_counter()
        config = TrainConfig.from_profile(profile, seed=seed, out=run_dir(f"bench-quick-seed{seed}"))
        result = train(config, overwrite=True, progress=False)
        seconds[seed] = time.perf_counter() - started
        colorizers[f"quick, seed {seed} (best epoch {result.best_epoch})"] = evaluate.model_colorizer(
            colorlib.load_pretrained(result.best_checkpoint))
    rows = {name: (evaluate.mean_auc(c, validation), evaluate.mean_auc(c, test)) for name, c in colorizers.items()}
    quick = np.array([value for name, value in rows.items() if name.startswith("quick")])
    print(f"{len(validation)} validation photos (the course's split), {len(test)} test photos (Kodak24)")
    print(f"{'mean AuC %':<40}{'validation':>11}{'Kodak24':>9}")
    for name, (on_val, on_test) in rows.items():
        print(f"{name:<40}{on_val:>11.2f}{on_test:>9.2f}")
    print(f"{'quick: mean over seeds':<40}{quick[:, 0].mean():>11.2f}{quick[:, 1].mean():>9.2f}")
    print(f"{'quick: lowest seed':<40}{quick[:, 0].min():>11.2f}{quick[:, 1].min():>9.2f}")
    print(f"{'quick: highest seed':<40}{quick[:, 0].max():>11.2f}{quick[:, 1].max():>9.2f}")
    gray_val, gray_test = rows["gray (ab = 0)"]
    print(f"quick minus gray: validation {quick[:, 0].mean() - gray_val:+.2f}, Kodak24 {quick[:, 1].mean() - gray_test:+.2f}; "
          f"released minus gray on Kodak24 {rows['released model (224)'][1] - gray_test:+.2f}")
    baselines = max(rows["gray (ab = 0)"][1], rows["mean ab of the training photos"][1])
    print(f"every seed beats gray and the mean ab on Kodak24: {bool((quick[:, 1] > baselines).all())}")
    print("training time per seed (wall clock, photos read and features stored included): "
          + ", ".join(f"seed {s}: {t:.0f} s" for s, t in seconds.items()) + " (goal: <= 240 s on a quiet machine)")


if __name__ == "__main__":
    main()
