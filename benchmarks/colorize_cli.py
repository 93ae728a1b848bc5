"""How fast is ``colorlib colorize`` as a user meets it, and how much memory does it take?

The command line is timed end to end, as a separate process (start-up, model loading,
reading, colorizing, encoding, writing), against the in-process baseline measured in
the same run: :func:`colorlib.colorize` on the same photos in an already started Python
with the model loaded (no start-up, nothing written).

Workloads, made on the spot in a temporary folder (seeded, smooth gradients plus noise,
JPEG quality 90):

- ``--photos`` (4) photos of ``--width`` x ``--height`` (4000 x 3000, 12 megapixels);
- one photo of ``--big-width`` x ``--big-height`` (8000 x 6000, 48 megapixels);
- one 64 x 64 photo: the fixed cost of starting the command (Python, torch, the model).

Peak memory is each process's own maximum resident set (``ru_maxrss`` from
``os.wait4``), so every measurement runs in a fresh process, the in-process baseline
too. Linux counts in a child's ``ru_maxrss`` the peak of the process that started it
(the child begins as a copy of it), so this script makes the photos in a child process
of their own and stays small itself. On a CUDA build of torch, importing torch and
torchvision alone takes the best part of a gigabyte; the table shows that fixed cost
and what the photos add above it.

    python benchmarks/colorize_cli.py [--model paper] [--photos 4] [--repeats 2]

Not a test: the numbers depend on the machine and on what else runs on it (the load
average is printed). The course's goals on a 2-core CPU: ``colorlib --version`` under
0.3 s; four 12-megapixel JPEGs in at most 6 s end to end; at most 1 GB for a
48-megapixel photo.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image


def synthetic_photo(height: int, width: int, seed: int) -> np.ndarray:
    """A photo-like uint8 RGB (height, width, 3): smooth colour gradients, soft shapes, noise.

    Made band by band so that a 48-megapixel photo needs no float copy of itself.
    """
    rng = np.random.default_rng(seed)
    result = np.empty((height, width, 3), dtype=np.uint8)
    columns = np.linspace(0.0, 1.0, width, dtype=np.float32)[None, :]
    phase = rng.uniform(0, 2 * np.pi, 3).astype(np.float32)
    band = 500
    for top in range(0, height, band):
        rows = np.linspace(top / height, min(top + band, height) / height, min(band, height - top), endpoint=False,
                           dtype=np.float32)[:, None]
        waves = np.sin(6 * columns + 4 * rows + phase[:, None, None]) * 40  # (3, rows, width)
        base = np.stack([60 + 150 * rows + 0 * columns, 80 + 120 * columns + 0 * rows, 170 - 110 * rows * columns])
        noise = rng.normal(0.0, 5.0, size=(3, rows.shape[0], width)).astype(np.float32)
        result[top : top + rows.shape[0]] = np.clip(base + waves + noise, 0, 255).astype(np.uint8).transpose(1, 2, 0)
    return result


def write_jpeg(path: Path, rgb: np.ndarray) -> Path:
    Image.fromarray(rgb).save(path, format="JPEG", quality=90)
    return path


def make_photos(work: Path, args: argparse.Namespace) -> None:
    """The workloads, in ``work/photos``, ``work/big`` and ``work/tiny`` (run in a child process)."""
    photos, big, tiny = work / "photos", work / "big", work / "tiny"
    for folder in (photos, big, tiny):
        folder.mkdir()
    for index in range(args.photos):
        write_jpeg(photos / f"photo{index + 1}.jpg", synthetic_photo(args.height, args.width, seed=index))
    write_jpeg(big / "big.jpg", synthetic_photo(args.big_height, args.big_width, seed=100))
    write_jpeg(tiny / "tiny.jpg", synthetic_photo(64, 64, seed=200))


def colorlib_command() -> list[str]:
    """The installed ``colorlib`` script beside this Python, else ``python -m colorlib.cli``."""
    script = Path(sys.executable).with_name("colorlib")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "colorlib.cli"]


def run_measured(command: list[str]) -> dict:
    """Run ``command``; its wall seconds, CPU seconds, peak memory (MB), exit status, output."""
    with tempfile.TemporaryFile() as stdout, tempfile.TemporaryFile() as stderr:
        start = time.perf_counter()
        process = subprocess.Popen(command, stdout=stdout, stderr=stderr)
        # wait4 gives this child's own resource usage (RUSAGE_CHILDREN would take the
        # maximum over every child so far).
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - start
        process.returncode = os.waitstatus_to_exitcode(status)
        stdout.seek(0)
        stderr.seek(0)
        return {
            "wall_s": wall,
            "cpu_s": usage.ru_utime + usage.ru_stime,
            "peak_mb": usage.ru_maxrss / 1024,  # kilobytes on Linux
            "status": process.returncode,
            "stdout": stdout.read().decode(errors="replace"),
            "stderr": stderr.read().decode(errors="replace"),
        }


def best_of(command: list[str], repeats: int) -> dict:
    runs = [run_measured(command) for _ in range(repeats)]
    for run in runs:
        if run["status"] != 0:
            raise SystemExit(f"{' '.join(command)} failed ({run['status']}):\n{run['stderr']}")
    return min(runs, key=lambda run: run["wall_s"])


def in_process_child(model_name: str, photos: list[str]) -> None:
    """The baseline, run as ``--in-process``: colorize the photos in memory, print JSON."""
    started = time.perf_counter()
    from colorlib.inference import colorize
    from colorlib.weights import load_pretrained

    model = load_pretrained(model_name, progress=False)
    ready = time.perf_counter()
    for photo in photos:
        colorize(photo, model)
    done = time.perf_counter()
    print(json.dumps({"startup_s": ready - started, "colorize_s": done - ready}))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="paper", help="the model the command loads (paper)")
    parser.add_argument("--photos", type=int, default=4, help="number of 12-megapixel photos (4)")
    parser.add_argument("--width", type=int, default=4000)
    parser.add_argument("--height", type=int, default=3000)
    parser.add_argument("--big-width", type=int, default=8000)
    parser.add_argument("--big-height", type=int, default=6000)
    parser.add_argument("--repeats", type=int, default=2, help="timed runs of the command, best kept (2)")
    parser.add_argument("--format", choices=["keep", "png", "jpg"], default="keep", help="the command's --format")
    parser.add_argument("--in-process", nargs="+", metavar="PHOTO", help=argparse.SUPPRESS)
    parser.add_argument("--make-photos", metavar="FOLDER", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.in_process:
        in_process_child(args.model, args.in_process)
        return 0
    if args.make_photos:
        make_photos(Path(args.make_photos), args)
        return 0

    command = colorlib_command()
    work = Path(tempfile.mkdtemp(prefix="colorlib-bench-"))
    try:
        photos, big, tiny = work / "photos", work / "big", work / "tiny"
        made = subprocess.run([sys.executable, __file__, *sys.argv[1:], "--make-photos", str(work)],
                              capture_output=True, text=True)
        if made.returncode != 0:
            raise SystemExit(f"making the photos failed:\n{made.stderr}")
        photo_files = sorted(str(p) for p in photos.iterdir())
        megapixels = args.width * args.height / 1e6
        big_megapixels = args.big_width * args.big_height / 1e6

        def colorize_command(folder: Path, out: str) -> list[str]:
            return [*command, "colorize", str(folder), "-o", str(work / out), "--model", args.model, "--format", args.format]

        version = best_of([*command, "--version"], 3)
        fixed = best_of(colorize_command(tiny, "out-tiny"), 1)
        many = best_of(colorize_command(photos, "out-photos"), args.repeats)
        single = best_of(colorize_command(big, "out-big"), 1)
        baseline = run_measured([sys.executable, __file__, "--model", args.model, "--in-process", *photo_files])
        baseline_big = run_measured([sys.executable, __file__, "--model", args.model, "--in-process", str(big / "big.jpg")])
        for run in (baseline, baseline_big):
            if run["status"] != 0:
                raise SystemExit(f"the in-process baseline failed:\n{run['stderr']}")
        inner = json.loads(baseline["stdout"].strip().splitlines()[-1])
        inner_big = json.loads(baseline_big["stdout"].strip().splitlines()[-1])

        written = sorted((work / "out-photos" / "photos").iterdir())
        print(f"colorlib colorize, end to end ({' '.join(command[-1:])}, --model {args.model}, --format {args.format})")
        print(f"CPUs: {os.cpu_count()}, load average: {os.getloadavg()[0]:.1f} (above the CPU count, other programs slow the times)")
        print(f"  colorlib --version                      {version['wall_s']:6.2f} s                 (goal < 0.3 s)")
        print(f"  start-up only (one 64x64 photo)          {fixed['wall_s']:6.2f} s   peak {fixed['peak_mb']:6.0f} MB   "
              f"(the fixed cost; CPU {fixed['cpu_s']:.1f} s)")
        print(
            f"  {args.photos} x {megapixels:.0f} MP JPEG -> {written[0].suffix[1:].upper():4}           "
            f"{many['wall_s']:6.2f} s   peak {many['peak_mb']:6.0f} MB   (+{many['peak_mb'] - fixed['peak_mb']:.0f} MB; "
            f"CPU {many['cpu_s']:.1f} s; goal <= 6 s)"
        )
        print(
            f"  1 x {big_megapixels:.0f} MP JPEG                         {single['wall_s']:6.2f} s   peak {single['peak_mb']:6.0f} MB   "
            f"(+{single['peak_mb'] - fixed['peak_mb']:.0f} MB; CPU {single['cpu_s']:.1f} s; goal <= 1000 MB)"
        )
        print("in-process baseline (colorlib.colorize in memory, model loaded, nothing written):")
        print(
            f"  {args.photos} x {megapixels:.0f} MP                              {inner['colorize_s']:6.2f} s   peak "
            f"{baseline['peak_mb']:6.0f} MB   (start-up {inner['startup_s']:.2f} s not counted)"
        )
        print(f"  1 x {big_megapixels:.0f} MP                               {inner_big['colorize_s']:6.2f} s   peak {baseline_big['peak_mb']:6.0f} MB")
        # Start-up runs on one core, so its CPU time is about its wall time on an idle
        # machine; the photos' work is spread over every core.
        work_cpu = many["cpu_s"] - fixed["cpu_s"]
        print(
            f"  estimate for an idle machine: {fixed['cpu_s']:.1f} s start-up + {work_cpu:.1f} CPU s of photos / "
            f"{os.cpu_count()} CPUs = {fixed['cpu_s'] + work_cpu / os.cpu_count():.1f} s"
        )
        print("ratios, command / in-process:")
        print(
            f"  {args.photos} x {megapixels:.0f} MP: {many['wall_s'] / inner['colorize_s']:.2f}x the time "
            f"({(many['wall_s'] - fixed['wall_s']) / inner['colorize_s']:.2f}x without the start-up), "
            f"{many['peak_mb'] / baseline['peak_mb']:.2f}x the memory"
        )
        print(
            f"  1 x {big_megapixels:.0f} MP: {single['wall_s'] / inner_big['colorize_s']:.2f}x the time, "
            f"{single['peak_mb'] / baseline_big['peak_mb']:.2f}x the memory"
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
