"""Running the course: its notebooks, executed headlessly, top to bottom.

Each notebook owns its figures and saves them to ``figures/`` (see
:func:`colorlib.lessons.plot.save_figure`), so "regenerate every figure" means "run every
notebook": no figure code lives twice. ``colorlib figures`` and ``make course`` call
:func:`run_notebook` for each of :func:`notebook_paths`.
"""

from __future__ import annotations

import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from .config import repo_root
from .files import atomic_write

__all__ = [
    "notebook_paths",
    "REPOSITORY",
    "INSTALL_CELL",
    "colab_url",
    "binder_url",
    "badges",
    "strip_widget_state",
    "run_notebook",
]


def notebook_paths(folder: Path | None = None) -> list[Path]:
    """The course notebooks, ``NN_*.ipynb`` in lesson order.

    Raises:
        FileNotFoundError: no notebooks folder (colorlib installed outside the repository,
            or ``folder`` does not exist), or a folder without ``NN_*.ipynb`` notebooks.
    """
    if folder is None:
        root = repo_root()
        if root is None:
            raise FileNotFoundError(
                "cannot find the course's notebooks/ folder: run from a clone of the course "
                "repository or pass --notebooks DIR"
            )
        folder = root / "notebooks"
    if not Path(folder).is_dir():
        raise FileNotFoundError(f"cannot find the notebooks folder {folder}: expected a folder of NN_*.ipynb lessons")
    paths = sorted(p for p in Path(folder).glob("[0-9][0-9]_*.ipynb"))
    if not paths:
        raise FileNotFoundError(f"no lesson notebooks (NN_*.ipynb) in {folder}")
    return paths


#: The course's public repository on GitHub (owner/name): the lessons' Colab and Binder
#: links and their install cell point here.
REPOSITORY = "colorlib-course/colorizing-grayscale-photographs"
BRANCH = "main"

#: The first code cell of every lesson: on Colab or Binder, install colorlib from the
#: repository when it is missing; where it is installed (here, in CI) it does nothing.
INSTALL_CELL = f"""\
# On Colab or Binder: install colorlib when it is missing (does nothing where it is installed).
import importlib.util, subprocess, sys
if importlib.util.find_spec("colorlib") is None:
    subprocess.check_call([sys.executable, "-m", "pip", "install", "-q", "git+https://github.com/{REPOSITORY}@{BRANCH}"])"""


def colab_url(notebook: str) -> str:
    """Open ``notebooks/<notebook>`` in Google Colab."""
    return f"https://colab.research.google.com/github/{REPOSITORY}/blob/{BRANCH}/notebooks/{notebook}"


def binder_url(notebook: str) -> str:
    """Open ``notebooks/<notebook>`` on mybinder.org (built from environment.yml)."""
    return f"https://mybinder.org/v2/gh/{REPOSITORY}/{BRANCH}?labpath=notebooks%2F{notebook}"


def badges(notebook: str) -> str:
    """The Markdown line with the "Open in Colab" and "Binder" badges of one lesson."""
    return (
        f"[![Open in Colab](https://colab.research.google.com/assets/colab-badge.svg)]({colab_url(notebook)}) "
        f"[![Binder](https://mybinder.org/badge_logo.svg)]({binder_url(notebook)})"
    )


WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def strip_widget_state(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Remove what makes a re-run differ: widget models (random ids) and their state.

    A widget's output keeps its ``text/plain`` line; on GitHub, where widgets never
    render, the static figure beside each widget is what readers see. Changes
    ``notebook`` in place and returns it.
    """
    notebook.metadata.pop("widgets", None)
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            data = output.get("data")
            if data is not None and WIDGET_VIEW in data:
                del data[WIDGET_VIEW]
    return notebook


def run_notebook(path: Path, *, in_place: bool = False, timeout_s: int = 900) -> float:
    """Execute one notebook top to bottom in its own folder; return the seconds it took.

    With ``in_place`` the executed notebook (fresh outputs, no widget state: see
    :func:`strip_widget_state`) is written back, atomically, so that running the course
    twice leaves the same bytes.
    """
    notebook = nbformat.read(path, as_version=4)
    started = time.perf_counter()
    NotebookClient(
        notebook,
        timeout=timeout_s,
        kernel_name="python3",
        record_timing=False,  # no per-cell timestamps: re-running leaves no noise in git diffs
        store_widget_state=False,
        coalesce_streams=True,  # one stream output per cell, however the kernel split the prints
        resources={"metadata": {"path": str(path.parent)}},
    ).execute()
    strip_widget_state(notebook)
    if in_place:
        atomic_write(path, lambda name: nbformat.write(notebook, name))
    return time.perf_counter() - started
