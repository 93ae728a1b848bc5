"""Training speed: the input pipeline beside the training step, and ours beside a plain reference.

Default (CPU, the quick profile's size, batch 32), all measured in this run:

1. input pipeline: JPEG decode + random resized crop + flip in a DataLoader, then the
   per-batch Lab conversion (``colorlib.data``), in images/s;
2. our training step: the paper's network with the frozen encoder (decoder-only
   gradients), Adam, MSE;
3. a plain reference step: the same layers (ResNet-18 children 0..5 + the decoder),
   everything trainable, Adam, full backward;
4. end to end: the DataLoader feeding our step.

It prints ``ours / reference`` and ``pipeline / step`` (the pipeline must not be the
bottleneck: the ratio should be well above 1). Each figure is given for the median and
the best timed block: on a shared CPU other processes slow some blocks down, and the
compared measurements are interleaved block by block so that a busy moment hits both.

``--paper``: the paper profile's shapes (224x224, batch 64) on the best device
(``cuda`` when there is one) with bfloat16 autocast and ``channels_last``
(``--compile`` adds ``torch.compile``), synthetic uint8 batches already on the device,
plus the JPEG pipeline with ``--workers`` processes; it prints images/s and the time
that 100 epochs of 40,000 images would take. The script runs unchanged on a GPU
machine; on a CPU it says so and runs fewer steps.

    python benchmarks/train_speed.py                 # CPU figures
    python benchmarks/train_speed.py --paper         # on a GPU machine
    python benchmarks/train_speed.py --paper --compile --workers 12
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import nn
from torchvision.models import resnet18

from colorlib.config import get_profile
from colorlib.data import ImageFolderDataset, rgb_batch_to_lightness_ab
from colorlib.losses import make_loss
from colorlib.model import make_decoder, make_encoder
from colorlib.samples import sample_photos
from colorlib.batches import make_loader
from colorlib.distributed import choose_device
from colorlib.train import train_step
from colorlib.weights import build_colorization_net

PAPER_IMAGES = 40_000
PAPER_EPOCHS = 100


def synthetic_jpeg_folder(folder: Path, count: int, side: int = 256) -> list[Path]:
    """``count`` photo-like 256x256 JPEGs (crops of the sample photos), like Places205's files."""
    photos = list(sample_photos().values())
    rng = np.random.default_rng(0)
    paths = []
    for index in range(count):
        photo = photos[index % len(photos)]
        top = rng.integers(0, photo.shape[0] - side // 2)
        left = rng.integers(0, photo.shape[1] - side // 2)
        crop = Image.fromarray(photo[top:top + side, left:left + side]).resize((side, side))
        path = folder / f"{index:05d}.jpg"
        crop.save(path, quality=90)
        paths.append(path)
    return paths


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


class Speed:
    """Per-block timings of one measured thing; images/s from the median and the best block.

    On a shared CPU other processes slow some blocks down; the median and the best block
    say how much. Measurements that are compared are interleaved block by block, so that
    a busy moment hits both of them.
    """

    def __init__(self, images_per_block: int) -> None:
        self.images_per_block = images_per_block
        self.seconds: list[float] = []

    def timed(self, device: torch.device, work) -> None:
        synchronize(device)
        started = time.perf_counter()
        work()
        synchronize(device)
        self.seconds.append(time.perf_counter() - started)

    @property
    def median(self) -> float:
        return self.images_per_block / float(np.median(self.seconds))

    @property
    def best(self) -> float:
        return self.images_per_block / min(self.seconds)


def cycling(loader):
    """Batches of ``loader`` forever (a new epoch when one ends)."""
    while True:
        yield from loader


def make_step(model: nn.Module, device: torch.device, amp: bool, channels_last: bool, compile_model: bool):
    """One training step on a uint8 batch: Lab conversion, then the library's own
    :func:`colorlib.train.train_step` (forward, MSE, backward, Adam)."""
    model = model.to(device, memory_format=torch.channels_last if channels_last else torch.contiguous_format)
    optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=0.01)
    network = torch.compile(model) if compile_model else model
    loss_fn = make_loss("mse").to(device)

    def step(rgb: torch.Tensor) -> torch.Tensor:
        inputs, ab = rgb_batch_to_lightness_ab(rgb, device=device, channels_last=channels_last)
        return train_step(network, inputs, ab, loss_fn, optimizer, amp=amp)

    return step


def plain_reference() -> nn.Module:
    """ResNet-18 children 0..5 (one input channel) + the decoder, every parameter trainable."""
    return nn.Sequential(make_encoder(resnet18(weights=None)), make_decoder()).train()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--paper", action="store_true", help="224x224, batch 64, GPU settings (bf16, channels_last)")
    parser.add_argument("--compile", action="store_true", help="torch.compile the model (paper mode)")
    parser.add_argument("--steps", type=int, help="timed training steps (default: 6 on CPU, 50 on GPU)")
    parser.add_argument("--workers", type=int, help="data-loader workers (default: 0 on CPU, 8 on GPU)")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda")
    args = parser.parse_args()

    device = choose_device(args.device)
    on_gpu = device.type == "cuda"
    size, batch = (224, 64) if args.paper else (get_profile("quick").input_size, 32)
    amp = channels_last = on_gpu
    steps = args.steps or (50 if on_gpu else (3 if args.paper else 6))
    workers = args.workers if args.workers is not None else (8 if on_gpu else 0)
    torch.manual_seed(0)
    name = torch.cuda.get_device_name(device) if on_gpu else f"CPU, {torch.get_num_threads()} threads"
    print(f"device: {device} ({name}); {size}x{size}, batch {batch}; bf16 autocast {amp}, "
          f"channels_last {channels_last}, torch.compile {args.compile}; data-loader workers {workers}")
    if args.paper and not on_gpu:
        print("no GPU here: the paper mode runs on the CPU with few steps; run it on a GPU machine for the real figure")

    block = 10 if on_gpu else 1  # steps per timed block (a host sync per block)
    with tempfile.TemporaryDirectory() as folder:
        files = synthetic_jpeg_folder(Path(folder), count=max(4 * batch, 128))
        loader = make_loader(ImageFolderDataset(files, size, train=True), batch, shuffle=True,
                             num_workers=workers, pin_memory=on_gpu, drop_last=True)
        batches = cycling(loader)
        rgb = torch.randint(0, 256, (batch, 3, size, size), dtype=torch.uint8, device=device)  # synthetic, on the device
        steps_ours = make_step(build_colorization_net("random"), device, amp, channels_last, args.compile)
        steps_e2e = make_step(build_colorization_net("random"), device, amp, channels_last, args.compile)
        steps_reference = None if args.paper else make_step(plain_reference(), device, amp, channels_last, False)

        def pipeline_block() -> None:
            for _ in range(block):
                rgb_batch_to_lightness_ab(next(batches).rgb, device=device)

        def ours_block() -> None:
            for _ in range(block):
                steps_ours(rgb)

        def e2e_block() -> None:
            for _ in range(block):
                steps_e2e(next(batches).rgb)

        def reference_block() -> None:
            for _ in range(block):
                steps_reference(rgb)

        measured = {"pipeline": (pipeline_block, Speed(block * batch)), "ours": (ours_block, Speed(block * batch)),
                    "end to end": (e2e_block, Speed(block * batch))}
        if steps_reference is not None:
            measured["reference"] = (reference_block, Speed(block * batch))
        for work, _ in measured.values():  # warm-up: workers, cuDNN autotuning, compilation
            for _ in range(3 if args.compile else 1):
                work()
        # With worker processes the loader fills its prefetch queue while other blocks
        # run, so the loader-fed measurements run alone, one after the other.
        alone = ("pipeline", "end to end") if workers > 0 else ()
        for name in alone:
            work, speed = measured[name]
            for _ in range(steps):
                speed.timed(device, work)
        for _ in range(steps):
            for name, (work, speed) in measured.items():
                if name not in alone:
                    speed.timed(device, work)

    pipeline, ours, e2e = (measured[k][1] for k in ("pipeline", "ours", "end to end"))
    reference = measured["reference"][1] if "reference" in measured else None
    print(f"{'images/s':<42} {'median':>9} {'best':>9}")
    print(f"{'input pipeline (decode, crop, Lab)':<42} {pipeline.median:9.1f} {pipeline.best:9.1f}")
    print(f"{'training step, ours (frozen encoder)':<42} {ours.median:9.1f} {ours.best:9.1f}   synthetic batch on the device")
    if reference is not None:
        print(f"{'training step, plain reference':<42} {reference.median:9.1f} {reference.best:9.1f}   all trainable, full backward")
    print(f"{'end to end, ours (pipeline + step)':<42} {e2e.median:9.1f} {e2e.best:9.1f}")
    if reference is not None:
        print(f"ratio ours / reference:        {ours.median / reference.median:6.2f}x (median), "
              f"{ours.best / reference.best:.2f}x (best)   goal: >= 1")
    print(f"ratio pipeline / our step:     {pipeline.median / ours.median:6.2f}x (median)   "
          "> 1: the pipeline is not the bottleneck")
    if args.paper:
        for label, speed in (("training step (synthetic data)", ours.median), ("end to end (JPEG pipeline)", e2e.median)):
            minutes = PAPER_EPOCHS * PAPER_IMAGES / speed / 60
            print(f"projected {PAPER_EPOCHS} epochs x {PAPER_IMAGES:,} images, {label}: {minutes:,.1f} min "
                  f"({PAPER_IMAGES / speed:,.1f} s per epoch; goal: <= 15 min, i.e. >= 4,500 images/s)")


if __name__ == "__main__":
    main()
