"""Loss speed: a classification training step against an MSE step, measured in one run.

The decoder trained on stored encoder features (``cache_features``) at the quick
profile's size (64 x 64 input, so features (32, 128, 8, 8), batch 32), one
:func:`colorlib.train.train_step` (forward, loss, backward, Adam) per timed block:

1. MSE (the paper's loss): the baseline;
2. classification scoring every pixel (``score_downsample=1``): each pixel's nearest
   bins found by brute force over all 262, the 262 logits scored at 64 x 64;
3. classification scoring at a quarter (``score_downsample=4``), the full output pooled,
   the nearest bins looked up on the grid;
4. the same, the decoder outputting the pooled logits (``pooled_decoder_output``): what
   ``colorlib train`` runs by default (the profile's ``score_downsample`` is 4, as
   Zhang et al. scored).

Blocks are interleaved so that a busy moment on a shared CPU hits all; it prints the
median and best seconds per step and the ratio of medians to MSE (goal: <= 2 for 4).

    python benchmarks/loss_speed.py [--repeats 7]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from colorlib.config import get_profile
from colorlib.losses import make_loss
from colorlib.model import make_decoder, pooled_decoder_output
from colorlib.train import train_step


class _Pooled(torch.nn.Module):
    def __init__(self, decoder: torch.nn.Module, pool: int) -> None:
        super().__init__()
        self.decoder, self.pool = decoder, pool

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return pooled_decoder_output(self.decoder, features, pool=self.pool)


def make_step(loss_name: str, features: torch.Tensor, ab: torch.Tensor, *, score_downsample: int = 1,
              pooled: bool = False):
    loss = make_loss(loss_name, score_downsample=score_downsample)
    decoder = make_decoder(loss.output_channels).train()
    network = _Pooled(decoder, score_downsample) if pooled else decoder
    optimizer = torch.optim.Adam(decoder.parameters(), lr=1e-3)

    def step() -> None:
        train_step(network, features, ab, loss, optimizer)

    return step


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7, help="timed steps of each kind")
    args = parser.parse_args()
    profile = get_profile("quick")
    size, batch = profile.input_size, 32
    torch.manual_seed(0)
    features = torch.randn(batch, 128, size // 8, size // 8)
    ab = torch.rand(batch, 2, size, size) * 160 - 80  # any ab: the encoding's cost does not depend on it
    steps = {
        "mse": make_step("mse", features, ab),
        "classification, every pixel": make_step("classification", features, ab),
        "classification, quarter, output pooled": make_step("classification", features, ab, score_downsample=4),
        "classification, quarter, pooled decoder (train's default)": make_step(
            "classification", features, ab, score_downsample=profile.score_downsample, pooled=True),
    }
    seconds: dict[str, list[float]] = {name: [] for name in steps}
    for step in steps.values():  # warm-up
        step()
    for _ in range(args.repeats):
        for name, step in steps.items():
            started = time.perf_counter()
            step()
            seconds[name].append(time.perf_counter() - started)
    print(f"decoder on features {tuple(features.shape)} ({size}x{size} input), batch {batch}, "
          f"CPU {torch.get_num_threads()} threads, {args.repeats} steps each")
    baseline = float(np.median(seconds["mse"]))
    print(f"{'training step':<56} {'median s':>9} {'best s':>9} {'/ mse':>7}")
    for name, values in seconds.items():
        median = float(np.median(values))
        print(f"{name:<56} {median:9.3f} {min(values):9.3f} {median / baseline:6.1f}x")


if __name__ == "__main__":
    main()
