"""The quick profile's main run for three seeds, and the Kodak24 table beside the baselines.

Trains ``colorlib train`` 's quick configuration (the landscapes' training split, 64x64,
stored encoder features, 8 epochs) once per seed, keeps each run's best epoch (chosen on
the validation split, never on the test set) and prints, for the validation split and for
Kodak24 (the test set), the mean AuC of: gray, the training photos' mean ab, the authors'
released model and the quick model per seed, with the seeds' mean and spread. The
baselines are measured in the same run, so the table reads as differences.

    python benchmarks/train_quick_seeds.py               # seeds 0 1 2 into runs/bench-quick-seedN
    python benchmarks/train_quick_seeds.py --seeds 0 1 2 3 4

A benchmark, not a test: it takes about ten minutes on two cores.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

import colorlib
from colorlib import datasets, evaluate
from colorlib.config import get_profile, run_dir
from colorlib.train import TrainConfig, train


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = parser.parse_args()
    torch.set_num_threads(2)
    profile = get_profile("quick")
    validation = evaluate.photo_set(datasets.landscapes_split()[1]).images
    test = evaluate.evaluation_images()
    colorizers = {
        "gray (ab = 0)": evaluate.gray_colorizer,
        "mean ab of the training photos": evaluate.constant_ab_colorizer(evaluate.training_mean_ab(profile)),
        "released model (224)": evaluate.model_colorizer(colorlib.load_pretrained("paper", progress=False)),
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
    print(f"{len(validation)} validation photos (landscapes, other photographers), {len(test)} test photos (Kodak24)")
    print(f"{'mean AuC %':<40}{'validation':>11}{'Kodak24':>9}")
    for name, (on_val, on_test) in rows.items():
        print(f"{name:<40}{on_val:>11.2f}{on_test:>9.2f}")
    print(f"{'quick: mean over seeds':<40}{quick[:, 0].mean():>11.2f}{quick[:, 1].mean():>9.2f}")
    print(f"{'quick: spread (max - min)':<40}{np.ptp(quick[:, 0]):>11.2f}{np.ptp(quick[:, 1]):>9.2f}")
    gray_val, gray_test = rows["gray (ab = 0)"]
    print(f"quick minus gray: validation {quick[:, 0].mean() - gray_val:+.2f}, Kodak24 {quick[:, 1].mean() - gray_test:+.2f}; "
          f"released minus gray on Kodak24 {rows['released model (224)'][1] - gray_test:+.2f}")
    print("training time per seed: " + ", ".join(f"seed {s}: {t:.0f} s" for s, t in seconds.items()))


if __name__ == "__main__":
    main()
