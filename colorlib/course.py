"""Regenerate the course's figures by running its notebooks headlessly.

Each notebook owns its figures and saves them to ``figures/`` (see
:func:`colorlib.plot.save_figure`), so "regenerate every figure" means "run every
notebook": no figure code lives twice. ``colorlib figures`` and ``make course`` call
:func:`run_notebooks`.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from .config import PROFILE_ENV, get_profile, repo_root
from .files import atomic_write

__all__ = ["notebook_paths", "run_notebook", "run_notebooks", "register_cli"]


def notebook_paths(folder: Path | None = None) -> list[Path]:
    """The course notebooks, ``NN_*.ipynb`` in lesson order.

    Raises:
        FileNotFoundError: no notebooks folder (colorlib installed outside the repository).
    """
    if folder is None:
        root = repo_root()
        if root is None:
            raise FileNotFoundError(
                "cannot find the course's notebooks/ folder: run from a clone of the course "
                "repository or pass --notebooks DIR"
            )
        folder = root / "notebooks"
    return sorted(p for p in Path(folder).glob("[0-9][0-9]_*.ipynb"))


def run_notebook(path: Path, in_place: bool = False, timeout_s: int = 900) -> float:
    """Execute one notebook top to bottom in its own folder; return the seconds it took.

    With ``in_place`` the executed notebook (fresh outputs) is written back, atomically.
    """
    import nbformat
    from nbclient import NotebookClient

    notebook = nbformat.read(path, as_version=4)
    started = time.perf_counter()
    NotebookClient(
        notebook,
        timeout=timeout_s,
        kernel_name="python3",
        record_timing=False,  # no per-cell timestamps: re-running leaves no noise in git diffs
        resources={"metadata": {"path": str(path.parent)}},
    ).execute()
    if in_place:
        atomic_write(path, lambda name: nbformat.write(notebook, name))
    return time.perf_counter() - started


def run_notebooks(paths: list[Path], in_place: bool = False) -> dict[str, float]:
    """Execute notebooks in order (stopping at the first failure); ``{name: seconds}``."""
    timings = {}
    for path in paths:
        print(f"running {path.name} ...", flush=True)
        timings[path.name] = run_notebook(path, in_place=in_place)
        print(f"  {path.name}: {timings[path.name]:.0f} s", flush=True)
    return timings


def _command(args: argparse.Namespace) -> int:
    if args.profile:
        os.environ[PROFILE_ENV] = args.profile  # the kernels inherit it
    profile = get_profile()
    paths = notebook_paths(args.notebooks)
    if args.only:
        paths = [p for p in paths if any(p.name.startswith(prefix) for prefix in args.only)]
    print(f"profile: {profile.name}; {len(paths)} notebooks")
    run_notebooks(paths, in_place=args.in_place)
    return 0


def register_cli(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "figures",
        help="regenerate every figure in figures/ by running the notebooks headlessly",
        description="Run the course notebooks in order; each saves its figures to figures/.",
    )
    parser.add_argument("--profile", choices=["quick", "paper"], help="overrides COLORLIB_PROFILE")
    parser.add_argument("--in-place", action="store_true", help="write the fresh outputs back into the notebooks")
    parser.add_argument("--notebooks", type=Path, help="the notebooks folder (default: the repository's)")
    parser.add_argument("--only", nargs="+", metavar="NN", help="run only notebooks whose names start so (01 03 ...)")
    parser.set_defaults(handler=_command)
