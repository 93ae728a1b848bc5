"""How fast is colorlib's sRGB -> Lab conversion? Compared, in the same run, with
scikit-image (one image at a time, the way the authors' data pipeline called it) and
kornia (batched, on torch tensors).

The workload: a batch of 64 random sRGB images of 224x224 (the paper's input size),
float32. colorlib and kornia convert the batch tensor (64, 3, 224, 224) in one call;
scikit-image converts the same pixels as 64 numpy arrays (224, 224, 3) in a loop.

The script first checks that the three agree (a fast wrong answer is worth nothing),
then times them: the converters take turns, round after round, so that all of them see
the same load on a shared machine, and each keeps its best time (the least disturbed).
It prints images per second and the ratios against scikit-image, then does the same
for the way back, Lab -> sRGB (colorlib.lab_to_rgb, skimage.color.lab2rgb,
kornia.color.lab_to_rgb).

    python benchmarks/lab_speed.py [--batch 64] [--size 224] [--repeats 9] [--threads N]

Not a test: the numbers depend on the machine and on what else runs on it. torch uses
all cores by default (--threads 1 compares one core with one core); scikit-image uses
one. The course's goal on a 2-core CPU is colorlib at least 2x scikit-image.
"""

from __future__ import annotations

import argparse
import time
from typing import Callable

import kornia.color
import numpy as np
import skimage.color
import torch

import colorlib.color


def best_seconds(works: dict[str, Callable[[], object]], repeats: int) -> dict[str, float]:
    """``{name: fastest seconds}`` over ``repeats`` rounds in which every work runs once
    (after one warm-up round), taking turns so that all see the same machine load."""
    best = {name: float("inf") for name in works}
    for round_ in range(repeats + 1):
        for name, work in works.items():
            started = time.perf_counter()
            work()
            if round_:
                best[name] = min(best[name], time.perf_counter() - started)
    return best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batch", type=int, default=64, help="images per batch (64)")
    parser.add_argument("--size", type=int, default=224, help="image side in pixels (224)")
    parser.add_argument("--repeats", type=int, default=9, help="timed rounds, best kept (9)")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    generator = torch.Generator().manual_seed(0)
    batch = torch.rand(args.batch, 3, args.size, args.size, generator=generator)
    images = [np.ascontiguousarray(image) for image in batch.permute(0, 2, 3, 1).numpy()]

    def run_colorlib() -> torch.Tensor:
        return colorlib.color.rgb_to_lab(batch)

    def run_skimage() -> list[np.ndarray]:
        return [skimage.color.rgb2lab(image) for image in images]

    def run_kornia() -> torch.Tensor:
        return kornia.color.rgb_to_lab(batch)

    # Agreement first: a fast wrong answer is worth nothing.
    ours = run_colorlib()
    reference = torch.from_numpy(np.stack(run_skimage())).permute(0, 3, 1, 2)
    theirs = run_kornia()
    print(f"workload: {args.batch} images of {args.size}x{args.size}, float32, "
          f"torch threads: {torch.get_num_threads()}")
    print(f"max |colorlib - scikit-image| = {(ours - reference).abs().max().item():.2e} (L, a, b units)")
    print(f"max |kornia   - colorlib|     = {(theirs - ours).abs().max().item():.2e} (L, a, b units)")

    forward = {
        "scikit-image (loop)": run_skimage,
        "colorlib (batched)": run_colorlib,
        "kornia (batched)": run_kornia,
    }
    report("sRGB -> Lab", best_seconds(forward, args.repeats), args.batch)

    # The way back, on the Lab of the same images.
    lab = ours
    lab_images = [np.ascontiguousarray(image) for image in lab.permute(0, 2, 3, 1).numpy()]
    back = colorlib.color.lab_to_rgb(lab)
    print(f"\nmax |lab_to_rgb(rgb_to_lab(x)) - x| = {(back - batch).abs().max().item():.2e}")
    backward = {
        "scikit-image (loop)": lambda: [skimage.color.lab2rgb(image) for image in lab_images],
        "colorlib (batched)": lambda: colorlib.color.lab_to_rgb(lab),
        "kornia (batched)": lambda: kornia.color.lab_to_rgb(lab),
    }
    report("Lab -> sRGB", best_seconds(backward, args.repeats), args.batch)
    return 0


def report(title: str, seconds: dict[str, float], images: int) -> None:
    """Print a table of timings with images/s and the ratio to scikit-image."""
    baseline = seconds["scikit-image (loop)"]
    print(f"\n{title}\n{'converter':<22}{'seconds':>9}{'images/s':>11}{'vs scikit-image':>17}")
    for name, value in seconds.items():
        print(f"{name:<22}{value:>9.3f}{images / value:>11.1f}{baseline / value:>16.2f}x")


if __name__ == "__main__":
    raise SystemExit(main())
