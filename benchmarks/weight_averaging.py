"""The quick profile's moving average of the weights against the weights as trained, seed by seed.

Each seed trains the quick main run once (``weight_average_decay=0.99``). A callback keeps
the weights as trained at the end of every epoch, with their own validation loss, so both
recipes come from one trajectory of optimizer steps:

- **averaged**: what the run keeps, the average at its best epoch (by the average's
  validation loss);
- **as trained**: the recipe without averaging, the weights at their best epoch (by their
  own validation loss).

Prints the mean AuC of both on the validation split (where the choice is made) and on
Kodak24 at half size (lesson 07's photos, the test set), per seed, with the mean, standard
deviation and range over the seeds, beside gray and the training photos' mean ab measured
in the same run.

    python benchmarks/weight_averaging.py                       # seeds 0 1 2 on the CPU: about 12 minutes on 2 cores
    python benchmarks/weight_averaging.py --seeds 0 1 2 3 4 5 6 7 8 9 --device cuda

A benchmark, not a test.
"""

from __future__ import annotations

import argparse
import copy

import numpy as np
import torch

import colorlib
from colorlib import evaluate, splits
from colorlib.callbacks import Callback
from colorlib.config import get_profile, run_dir
from colorlib.lessons.loss_experiment import experiment_photos
from colorlib.model import DecoderOnly
from colorlib.train import TrainConfig, train, validate


class WeightsAsTrained(Callback):
    """The weights as trained at the end of every epoch, and their validation loss."""

    def begin_run(self, run) -> None:
        self.run, self.states, self.val_losses = run, [], []

    def after_epoch(self, entry: dict) -> None:
        run = self.run
        learner = DecoderOnly(run.model) if run.config.cache_features else run.model
        self.val_losses.append(validate(learner, run.batches(run.val_loader), run.loss_fn)[0])
        self.states.append({k: v.detach().to("cpu", copy=True) for k, v in run.model.state_dict().items()})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--device", default="cpu", help="cpu (default) or cuda")
    args = parser.parse_args()
    torch.set_num_threads(2)
    profile = get_profile("quick")
    validation = evaluate.photo_set(splits.course_photos_split()[1]).images
    test = experiment_photos()

    def scores(colorizer) -> tuple[float, float]:
        return evaluate.mean_auc(colorizer, validation), evaluate.mean_auc(colorizer, test)

    baselines = {"gray (ab = 0)": scores(evaluate.gray_colorizer),
                 "mean ab of the training photos": scores(evaluate.constant_ab_colorizer(evaluate.training_mean_ab(profile)))}
    arms: dict[str, list[tuple[float, float]]] = {"averaged": [], "as trained": []}
    print(f"{len(validation)} validation photos, {len(test)} Kodak24 photos at half size; mean AuC %")
    print(f"{'':<34}{'validation':>11}{'Kodak24/2':>11}")
    for name, (on_val, on_test) in baselines.items():
        print(f"{name:<34}{on_val:>11.2f}{on_test:>11.2f}")
    for seed in args.seeds:
        config = TrainConfig.from_profile(profile, seed=seed, device=args.device, amp=False,
                                          out=run_dir(f"bench-averaging-seed{seed}"))
        as_trained = WeightsAsTrained()
        result = train(config, overwrite=True, progress=False, callbacks=[as_trained])
        averaged = colorlib.load_pretrained(result.best_checkpoint)
        trained = copy.deepcopy(averaged)
        best = int(np.argmin(as_trained.val_losses))
        trained.load_state_dict(as_trained.states[best])
        for arm, model, epoch in (("averaged", averaged, result.best_epoch), ("as trained", trained, best + 1)):
            arms[arm].append(scores(evaluate.model_colorizer(model)))
            on_val, on_test = arms[arm][-1]
            print(f"{f'seed {seed}, {arm} (epoch {epoch})':<34}{on_val:>11.2f}{on_test:>11.2f}", flush=True)
    mean_ab_test = baselines["mean ab of the training photos"][1]
    for arm, values in arms.items():
        table = np.array(values)
        print(f"{arm}: validation {table[:, 0].mean():.2f} (sd {table[:, 0].std(ddof=1) if len(table) > 1 else 0:.2f}, "
              f"{table[:, 0].min():.2f} to {table[:, 0].max():.2f}); Kodak24/2 {table[:, 1].mean():.2f} "
              f"(sd {table[:, 1].std(ddof=1) if len(table) > 1 else 0:.2f}, {table[:, 1].min():.2f} to {table[:, 1].max():.2f}); "
              f"{int((table[:, 1] > mean_ab_test).sum())} of {len(table)} seeds above the mean ab on Kodak24/2")
    gain = np.array(arms["averaged"]) - np.array(arms["as trained"])
    print(f"averaged minus as trained, seed by seed: validation {np.round(gain[:, 0], 2).tolist()}, "
          f"Kodak24/2 {np.round(gain[:, 1], 2).tolist()}")


if __name__ == "__main__":
    main()
