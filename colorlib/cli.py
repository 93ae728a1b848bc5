"""The ``colorlib`` command: every subcommand, its options and its messages, in one place.

Library modules neither print nor parse arguments; this module does both. Each handler
imports the library modules it needs when it runs, so ``colorlib --version`` and
``colorlib --help`` answer without loading torch (a few hundred milliseconds instead of
seconds).

Exit status: 0 success; 1 a failure at run time (a download that failed, a photo that
could not be colorized, a diverged training run); 2 bad arguments or input (argparse's own
convention: an unknown option, a missing file, an unknown model name).
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from dataclasses import Field, fields
from pathlib import Path
from typing import Callable

from . import __version__
from . import datasets
from .config import FIELD_CHOICES, PROFILES, TrainSettings, field_help

__all__ = ["build_parser", "main"]

PROFILE_NAMES = tuple(PROFILES)
#: What ``colorlib download`` fetches: the course's data sets, and Places205 (the paper profile's).
DATASET_NAMES = (*datasets.DATASET_NAMES, "places205")


class UsageError(Exception):
    """Bad arguments or input: reported on stderr, exit status 2."""


def _err(command: str, message: str) -> None:
    print(f"colorlib {command}: {' '.join(str(message).split())}", file=sys.stderr)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def _image_side(text: str) -> int:
    value = _positive_int(text)
    if value % 8:
        raise argparse.ArgumentTypeError(f"expected a side divisible by 8 (128, 224, ...), got {value}")
    return value


# --------------------------------------------------------------------------------------
# colorlib figures
# --------------------------------------------------------------------------------------


def _figures(args: argparse.Namespace) -> int:
    from .config import PROFILE_ENV, get_profile
    from .course import notebook_paths, read_lesson_times, readme_with_times, run_notebook, write_lesson_times

    if args.profile:
        os.environ[PROFILE_ENV] = args.profile  # the notebook kernels inherit it; this process ends soon
    try:
        paths = notebook_paths(args.notebooks)
    except FileNotFoundError as error:
        raise UsageError(error) from error
    if args.only:
        paths = [p for p in paths if any(p.name.startswith(prefix) for prefix in args.only)]
    print(f"profile: {get_profile().name}; {len(paths)} notebooks", flush=True)
    folder = paths[0].parent if paths else None
    # Lesson times are recorded only for the course's own run (in place, the default profile).
    times = read_lesson_times(folder) if args.in_place and folder is not None and get_profile().name == "quick" else None
    for path in paths:
        print(f"running {path.name} ...", flush=True)
        seconds = run_notebook(path, in_place=args.in_place, times=times)
        print(f"  {path.name}: {seconds:.0f} s", flush=True)
        if times is not None:
            write_lesson_times(folder, times)
    readme = folder.parent / "README.md" if times is not None else None
    if readme is not None and readme.exists():
        text = readme.read_text(encoding="utf-8")
        updated = readme_with_times(text, times)
        if updated != text:
            readme.write_text(updated, encoding="utf-8")
    return 0


def _add_figures(subparsers) -> None:
    parser = subparsers.add_parser(
        "figures",
        help="regenerate every figure in figures/ by running the notebooks headlessly",
        description="Run the course notebooks in order; each saves its figures to figures/.",
    )
    parser.add_argument("--profile", choices=PROFILE_NAMES, help="overrides COLORLIB_PROFILE")
    parser.add_argument("--in-place", action="store_true", help="write the fresh outputs back into the notebooks")
    parser.add_argument("--notebooks", type=Path, help="the notebooks folder (default: the repository's)")
    parser.add_argument("--only", nargs="+", metavar="NN", help="run only notebooks whose names start so (01 03 A1 ...)")
    parser.set_defaults(handler=_figures)


# --------------------------------------------------------------------------------------
# colorlib tidy
# --------------------------------------------------------------------------------------


def _tidy(args: argparse.Namespace) -> int:
    from .course import tidy_notebook

    missing = [str(path) for path in args.notebooks if not path.is_file()]
    if missing:
        raise UsageError(f"expected executed .ipynb files, cannot find {', '.join(missing)}")
    for path in args.notebooks:
        print(f"{path}: {'tidied' if tidy_notebook(path) else 'unchanged'}", flush=True)
    return 0


def _add_tidy(subparsers) -> None:
    parser = subparsers.add_parser(
        "tidy",
        help="tidy executed notebooks' widget outputs without running them",
        description="Replace each widget output's Python repr with a note on where its static twin is, "
        "and drop widget state; files that need nothing are left untouched (as `colorlib figures "
        "--in-place` writes them).",
    )
    parser.add_argument("notebooks", nargs="+", type=Path, metavar="NOTEBOOK", help="executed .ipynb files")
    parser.set_defaults(handler=_tidy)


# --------------------------------------------------------------------------------------
# colorlib download
# --------------------------------------------------------------------------------------


def _download(args: argparse.Namespace) -> int:
    if args.dataset == "places205":
        from .places205 import DEFAULT_URL, TRAIN_LIST, VALIDATION_LIST, prepare_places205
        from .config import data_dir

        root = Path(args.root) if args.root else data_dir()
        split = prepare_places205(root, url=args.url or DEFAULT_URL, progress=not args.no_progress)
        print(
            f"Places205: {len(split.train):,} training and {len(split.validation):,} validation images "
            f"(lists {TRAIN_LIST} and {VALIDATION_LIST} in {root})"
        )
        return 0
    from .datasets import download_dataset, dataset_files

    if args.url:
        raise UsageError("--url applies to places205 only; set COLORLIB_MIRROR to fetch other data sets from a mirror")
    folder = download_dataset(args.dataset, root=args.root, progress=not args.no_progress)
    count = len(dataset_files(args.dataset, root=args.root, download=False))
    print(f"{args.dataset}: {count:,} photos in {folder}")
    return 0


def _add_download(subparsers) -> None:
    parser = subparsers.add_parser(
        "download",
        help="download a data set: landscapes, caltech101 (training), kodak24 (test), places205 (the paper's)",
        description=(
            "Download a data set into the cache (COLORLIB_CACHE) or --root. landscapes, caltech101 "
            "and kodak24 are fetched file by file, each checked against its sha256; a second run fetches only "
            "what is missing. places205 is the paper's 2.3 GB archive (resumable), extracted safely "
            "and split like the paper (the first 1,000 files in sorted order for validation)."
        ),
    )
    parser.add_argument("dataset", choices=DATASET_NAMES)
    parser.add_argument("--root", help="folder to download into (default: the cache; places205: COLORLIB_DATA)")
    parser.add_argument("--url", help="places205 only: another location of the archive")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    parser.set_defaults(handler=_download)


# --------------------------------------------------------------------------------------
# colorlib credits
# --------------------------------------------------------------------------------------


def _credits(args: argparse.Namespace) -> int:
    from .credits import write_credits

    path = write_credits(args.output)
    print(f"wrote {path}")
    return 0


def _add_credits(subparsers) -> None:
    parser = subparsers.add_parser(
        "credits",
        help="write CREDITS.md: title, photographer, licence and source of every photo the course uses",
    )
    parser.add_argument("-o", "--output", type=Path, default=Path("CREDITS.md"), help="the file to write (CREDITS.md)")
    parser.set_defaults(handler=_credits)


# --------------------------------------------------------------------------------------
# colorlib train
# --------------------------------------------------------------------------------------


#: Older spellings of ``colorlib train``'s options, still accepted.
_TRAIN_ALIASES = {"learning_rate": ("--lr",), "input_size": ("--size", "--image-size"), "num_workers": ("--workers",)}
_TYPES: dict[str, Callable[[str], object]] = {"int": int, "float": float, "str": str}


def _train(args: argparse.Namespace) -> int:
    from .train import TrainConfig, train

    overrides = {f.name: getattr(args, f.name) for f in fields(TrainSettings) if f.name != "name"}
    try:
        config = TrainConfig.for_command_line(args.profile, resume=args.resume, **overrides)
    except ValueError as error:
        raise UsageError(error) from error
    rank0 = int(os.environ.get("RANK", "0")) == 0
    result = train(config, resume=args.resume, overwrite=args.overwrite, progress=not args.no_progress,
                   log=print if rank0 else None)
    if rank0:
        print(result.summary())
        print(f"checkpoints: {result.best_checkpoint} (best), {result.last_checkpoint} (last); history: {result.history_file}")
    return 0


def _add_setting(parser: argparse.ArgumentParser, setting: Field, help_text: str) -> None:
    """``--field-name`` for one field of :class:`colorlib.config.TrainSettings` (``--x/--no-x`` for a
    bool); default ``None``: the profile's value (or, resuming, the stored one)."""
    flags = [f"--{setting.name.replace('_', '-')}", *_TRAIN_ALIASES.get(setting.name, ())]
    kind = str(setting.type).replace(" | None", "")
    help_text = re.sub(r":\w+:`~?([\w.]+)`", r"\1", help_text).replace("``", "").replace("%", "%%")
    if kind == "bool":
        parser.add_argument(*flags, dest=setting.name, action=argparse.BooleanOptionalAction, default=None,
                            help=help_text)
    else:
        parser.add_argument(*flags, dest=setting.name, type=_TYPES[kind], choices=FIELD_CHOICES.get(setting.name),
                            help=help_text)


def _add_train(subparsers) -> None:
    parser = subparsers.add_parser(
        "train",
        help="train the paper's network (quick profile: minutes on a CPU; paper profile: Places205 on a GPU)",
        description=(
            "Train the colorization network with the paper's recipe (MSE on the scaled ab, Adam, "
            "frozen ResNet part). Defaults come from the profile (COLORLIB_PROFILE or --profile); "
            "every setting can be overridden with --setting-name (--lr, --size or --image-size, and --workers are "
            "--learning-rate, --input-size and --num-workers). Bad values exit with status 2. "
            "Runs under torchrun for several GPUs or processes."
        ),
    )
    parser.add_argument("--profile", choices=PROFILE_NAMES, help="defaults to use (default: COLORLIB_PROFILE or quick)")
    described = field_help(TrainSettings)
    for setting in fields(TrainSettings):
        if setting.name != "name":  # the profile's name: --profile
            _add_setting(parser, setting, described.get(setting.name, ""))
    parser.add_argument("--resume", action="store_true", help="continue the run in --out from last.pth")
    parser.add_argument("--overwrite", action="store_true", help="start again even if --out holds a run")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    parser.set_defaults(handler=_train)


# --------------------------------------------------------------------------------------
# colorlib colorize
# --------------------------------------------------------------------------------------


def _colorize(args: argparse.Namespace) -> int:
    from concurrent.futures import ThreadPoolExecutor

    from .images import find_images, image_pixels, load_image  # numpy and Pillow: no torch yet

    # Loading torch and the model takes seconds on one core. The other core decodes the
    # first photos meanwhile (Pillow lets go of the GIL while it decodes);
    # colorize_paths takes them from here, in its own order.
    ahead, budget = {}, 48_000_000  # pixels decoded ahead: four 12-megapixel photos, or one of 48
    early = ThreadPoolExecutor(max_workers=1, thread_name_prefix="colorlib-read-ahead")
    for path in (path for given in args.inputs
                 for path in (find_images(given, recursive=args.recursive) if given.is_dir() else [given])):
        pixels = image_pixels(path)
        if pixels is None or pixels > min(budget, args.max_pixels):
            break  # the rest is read in turn; the errors are colorize_paths' to report
        budget -= pixels
        ahead[path] = early.submit(load_image, path, max_pixels=args.max_pixels)
    early.shutdown(wait=False)

    def read(path: Path):
        decoded = ahead.pop(path, None)
        return load_image(path, max_pixels=args.max_pixels) if decoded is None else decoded.result()

    hints = None
    if args.hints is not None:  # checked before the model loads: a bad entry is named at once
        photo, hints = _photo_and_hints(args, read)
        read = lambda path: photo  # noqa: E731 - the one photo, read once

    from .colorize_files import colorize_paths
    from .weights import load_pretrained

    try:
        model = load_pretrained(args.model, progress=False)
    except (ValueError, OSError) as error:
        raise UsageError(f"cannot load the model {args.model}: {error}") from error
    if hints is not None and not model.takes_hints:
        raise UsageError(f"--hints: the model {args.model} does not take colour hints (it was trained without them); "
                         "use a checkpoint of `colorlib train --hints`")
    try:  # bad arguments are found here, before any photo is read
        outcomes = colorize_paths(
            args.inputs, args.output, model, input_size=args.input_size, recursive=args.recursive,
            output_format=args.format, max_pixels=args.max_pixels, temperature=args.temperature, read=read,
            hints=hints,
        )
    except (ValueError, OSError) as error:
        raise UsageError(error) from error
    failures = 0
    for outcome in outcomes:
        if outcome.error is None:
            print(f"{outcome.source} -> {outcome.target}")
        else:
            failures += 1
            _err("colorize", f"error: {outcome.error}")
    return 1 if failures else 0


def _photo_and_hints(args: argparse.Namespace, read: Callable) -> tuple:
    """The one photo of ``colorlib colorize --hints`` and its hints, read and checked (:func:`colorlib.hints.read_hints`)."""
    from .hints import read_hints

    if len(args.inputs) != 1 or args.inputs[0].is_dir():
        raise UsageError("--hints: hints belong to one photo; give exactly one image file (not a folder)")
    try:
        photo = read(args.inputs[0])
    except (ValueError, OSError) as error:
        raise UsageError(f"{args.inputs[0]}: {error}") from error
    try:
        return photo, read_hints(args.hints, photo_height=photo.shape[0], photo_width=photo.shape[1])
    except OSError as error:
        raise UsageError(f"--hints: cannot read {args.hints}: {error.strerror or error}") from error
    except ValueError as error:
        raise UsageError(f"--hints: {error}") from error


def _add_colorize(subparsers) -> None:
    parser = subparsers.add_parser(
        "colorize",
        help="colorize photos (files or folders) with a trained network",
        description=(
            "Colorize each image IN (a file, or every image in a folder) at its own resolution. "
            "A file IN/name.ext is written to OUTDIR/name.ext; a folder DIR keeps its name and layout "
            "(DIR/sub/name.ext -> OUTDIR/DIR/sub/name.ext). JPEG stays JPEG, PNG stays PNG, other "
            "formats become PNG (see --format). A name already taken in the run, or an input's own "
            "file, gets -2, -3, ... before its ending; inputs are never overwritten. A file that "
            "cannot be read is reported on stderr in one line and skipped; the exit status is then 1."
        ),
    )
    parser.add_argument("inputs", nargs="+", type=Path, metavar="IN", help="image files or folders")
    parser.add_argument("-o", "--output", type=Path, required=True, metavar="OUTDIR", help="folder for the results")
    parser.add_argument("--model", default="paper", metavar="NAME|PATH",
                        help="'paper' (default), 'paper-epoch40', 'paper-epoch90', or a training checkpoint file")
    parser.add_argument("--input-size", "--size", dest="input_size", type=_image_side,
                        help="network input side (default: the model's own)")
    parser.add_argument("--recursive", action="store_true", help="descend into the folders' subfolders")
    parser.add_argument("--format", choices=["keep", "png", "jpg"], default="keep",
                        help="output format: keep the input's (default), png or jpg")
    parser.add_argument("--max-pixels", type=_positive_int, default=MAX_PIXELS_DEFAULT,
                        help=f"refuse images above this many pixels (default {MAX_PIXELS_DEFAULT:,})")
    parser.add_argument("--temperature", type=float, metavar="T",
                        help="annealed-mean temperature of a classification model, a number > 0 "
                             "(Zhang et al.: 0.38; lower is more vivid; default: the model's own)")
    parser.add_argument("--hints", type=Path, metavar="HINTS.json",
                        help='colour hints for the one photo IN, a JSON file: {"hints": [{"row": 10, "column": 20, '
                             '"color": "#rrggbb" (or "ab": [a, b]), "patch": 3}, ...]}, points in pixels of the photo '
                             "(row 0 at the top). Needs a model trained with `colorlib train --hints`; any other "
                             "model is refused (exit status 2), as is a bad entry (named by its index)")
    parser.set_defaults(handler=_colorize)


# --------------------------------------------------------------------------------------
# colorlib evaluate
# --------------------------------------------------------------------------------------


def _evaluate(args: argparse.Namespace) -> int:
    from .evaluate import evaluate_command

    try:
        report = evaluate_command(args.model, data=args.data, input_size=args.input_size, json_path=args.json,
                                  max_pixels=args.max_pixels)
    except (FileNotFoundError, ValueError) as error:
        raise UsageError(error) from error
    for line in report.problems:
        _err("evaluate", line)
    print(report.text)
    return 0


def _add_evaluate(subparsers) -> None:
    parser = subparsers.add_parser(
        "evaluate",
        help="the metrics table of a model (AuC, PSNR, SSIM, colourfulness) beside the gray baseline",
        description=(
            "Colorize a folder of colour photos with a model and print AuC, PSNR, SSIM, "
            "colourfulness and chroma, beside the gray baseline (ab = 0). Gray photos are "
            "skipped and counted; unreadable files are named."
        ),
    )
    parser.add_argument("--model", default="paper", help="paper, paper-epoch40, paper-epoch90 or a checkpoint path (default: paper)")
    parser.add_argument("--data", help="a folder of colour photos, or kodak24 (default: kodak24, the test set)")
    parser.add_argument("--json", help="also write the numbers (summary and per image) to this JSON file")
    parser.add_argument("--input-size", "--size", dest="input_size", type=_image_side,
                        help="network input side (default: the model's own)")
    parser.add_argument("--max-pixels", type=_positive_int, default=MAX_PIXELS_DEFAULT,
                        help=f"refuse images above this many pixels (default {MAX_PIXELS_DEFAULT:,})")
    parser.set_defaults(handler=_evaluate)


# --------------------------------------------------------------------------------------
# The parser and main.
# --------------------------------------------------------------------------------------

#: The default pixel limit, repeated from colorlib.images.DEFAULT_MAX_PIXELS so that
#: building the parser imports neither Pillow nor numpy (tests/test_cli.py checks they agree).
MAX_PIXELS_DEFAULT = 80_000_000

_SUBCOMMANDS: tuple[Callable, ...] = (_add_figures, _add_tidy, _add_download, _add_credits, _add_train, _add_colorize, _add_evaluate)


def build_parser() -> argparse.ArgumentParser:
    """The ``colorlib`` argument parser (building it imports no heavy library)."""
    parser = argparse.ArgumentParser(
        prog="colorlib",
        description="Colorizing grayscale photographs with a CNN: the course's command line.",
    )
    parser.add_argument("--version", action="version", version=f"colorlib {__version__}")
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND", dest="command")
    for add in _SUBCOMMANDS:
        add(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run ``colorlib`` with ``argv`` (default: ``sys.argv[1:]``); return the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "handler"):
        parser.print_help(sys.stderr)
        return 2
    try:
        return int(args.handler(args) or 0)
    except UsageError as error:
        _err(args.command, error)
        return 2
    except KeyboardInterrupt:
        _err(args.command, "interrupted")
        return 130
    except (OSError, RuntimeError, ValueError) as error:  # downloads, training, data
        _err(args.command, f"{type(error).__name__}: {error}")
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
