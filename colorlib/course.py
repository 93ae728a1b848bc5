"""Running the course: its notebooks, executed headlessly, top to bottom.

Each notebook owns its figures and saves them to ``figures/`` (see
:func:`colorlib.lessons.plot.save_figure`), so "regenerate every figure" means "run every
notebook": no figure code lives twice. ``colorlib figures`` and ``make course`` call
:func:`run_notebook` for each of :func:`notebook_paths`.
"""

from __future__ import annotations

import json
import re
import subprocess
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from .config import repo_root
from .files import atomic_write

__all__ = [
    "NOTEBOOK_NAME",
    "is_course_notebook",
    "notebook_paths",
    "BRANCH",
    "github_repository",
    "course_repository",
    "install_cell",
    "colab_url",
    "binder_url",
    "badges",
    "set_links",
    "WIDGET_NOTE",
    "is_widget_output",
    "static_twin_side",
    "widget_note",
    "tidy_widget_outputs",
    "strip_widget_state",
    "tidy_notebook",
    "run_notebook",
    "LESSON_TIMES_FILE",
    "read_lesson_times",
    "write_lesson_times",
    "record_run_time",
    "duration_text",
    "time_line",
    "set_time_line",
    "readme_with_times",
]


#: A course notebook's file name: a lesson ``NN_<name>.ipynb`` (01, 02, ...) or an appendix
#: ``AN_<name>.ipynb`` (A1, A2, ...). Names sort in course order: the lessons by number, then the
#: appendices (``"A"`` sorts after every digit).
NOTEBOOK_NAME = re.compile(r"(?:\d\d|A\d)_\w+\.ipynb")


def is_course_notebook(name: str) -> bool:
    """Whether a file name is a lesson's or an appendix's (not a solutions notebook, not a scratch file).

    >>> [is_course_notebook(n) for n in ("05_evaluation.ipynb", "A1_checkpoints.ipynb", "scratch.ipynb")]
    [True, True, False]
    >>> is_course_notebook("05_evaluation_solutions.ipynb")
    False
    """
    return NOTEBOOK_NAME.fullmatch(name) is not None and not name.endswith("_solutions.ipynb")


def notebook_paths(folder: Path | None = None) -> list[Path]:
    """The course notebooks in course order: the lessons ``NN_*.ipynb`` by number, then the
    appendices ``AN_*.ipynb``. A number the course does not have (yet) is simply absent: the
    order, and the lessons' navigation that follows it, skip it.

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
    paths = sorted(p for p in Path(folder).glob("*.ipynb") if is_course_notebook(p.name))
    if not any(p.name[0].isdigit() for p in paths):
        raise FileNotFoundError(f"no lesson notebooks (NN_*.ipynb) in {folder}")
    return paths


#: The branch the lessons' links and install cell point to.
BRANCH = "main"

_GITHUB_REMOTE = re.compile(r"(?:https://github\.com/|git@github\.com:|ssh://git@github\.com/)([\w.-]+)/([\w.-]+?)(?:\.git)?/?")


def github_repository(url: str | None) -> str | None:
    """``owner/name`` of a GitHub remote URL, or ``None`` for any other URL (or none).

    >>> github_repository("https://github.com/someone/colorizing-grayscale-photographs.git")
    'someone/colorizing-grayscale-photographs'
    >>> github_repository("git@github.com:someone/course.git"), github_repository("/home/me/course")
    ('someone/course', None)
    """
    match = _GITHUB_REMOTE.fullmatch((url or "").strip())
    return f"{match.group(1)}/{match.group(2)}" if match else None


def course_repository(root: Path | None = None) -> str | None:
    """The GitHub repository (``owner/name``) this checkout was cloned from: its ``origin``
    remote, so that a fork's lessons link to the fork. ``None`` where there is no GitHub
    remote (no git, no remote, a local clone): then the lessons carry no Colab or Binder link."""
    root = root or repo_root()
    if root is None:
        return None
    try:
        found = subprocess.run(["git", "-C", str(root), "config", "--get", "remote.origin.url"],
                               capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return github_repository(found.stdout)


def install_cell(repository: str | None) -> str:
    """The first code cell of every lesson. With a GitHub ``repository``: on Colab or Binder,
    install colorlib from it when it is missing (where it is installed, as here and in CI, it
    does nothing). Without one: say how to install the course, and stop if it is missing."""
    if repository is None:
        return (
            "# colorlib comes with the course's repository: `make install` there (pip install -e .).\n"
            "import importlib.util\n"
            "if importlib.util.find_spec(\"colorlib\") is None:\n"
            "    raise ModuleNotFoundError(\"colorlib is not installed: run `make install` in the course's folder\")"
        )
    return (
        "# On Colab or Binder: install colorlib when it is missing (does nothing where it is installed).\n"
        "import importlib.util, subprocess, sys\n"
        "if importlib.util.find_spec(\"colorlib\") is None:\n"
        f"    subprocess.check_call([sys.executable, \"-m\", \"pip\", \"install\", \"-q\", \"git+https://github.com/{repository}@{BRANCH}\"])"
    )


def colab_url(notebook: str, *, repository: str) -> str:
    """Open ``notebooks/<notebook>`` of ``repository`` (``owner/name``) in Google Colab."""
    return f"https://colab.research.google.com/github/{repository}/blob/{BRANCH}/notebooks/{notebook}"


def binder_url(notebook: str, *, repository: str) -> str:
    """Open ``notebooks/<notebook>`` of ``repository`` on mybinder.org (built from environment.yml)."""
    return f"https://mybinder.org/v2/gh/{repository}/{BRANCH}?labpath=notebooks%2F{notebook}"


def badges(notebook: str, *, repository: str | None) -> str:
    """The Markdown line with the "Open in Colab" and "Binder" badges of one lesson; empty
    without a GitHub ``repository``."""
    if repository is None:
        return ""
    return (
        f"[![Open in Colab](https://colab.research.google.com/assets/colab-badge.svg)]({colab_url(notebook, repository=repository)}) "
        f"[![Binder](https://mybinder.org/badge_logo.svg)]({binder_url(notebook, repository=repository)})"
    )


_BADGE_LINE = re.compile(r"^\[!\[Open in Colab\].*$\n?\n?", re.M)
_INSTALL_HEADS = ("# On Colab or Binder: install colorlib", "# colorlib comes with the course's repository")


def set_links(notebook: nbformat.NotebookNode, name: str, *, repository: str | None) -> nbformat.NotebookNode:
    """Point a lesson's badges (under its title) and install cell (its first code cell) to
    ``repository``, or drop the badges and use the offline install cell where it is ``None``.
    Only a lesson or an appendix (:func:`is_course_notebook`: ``NN_<name>.ipynb``,
    ``AN_<name>.ipynb``, not a solutions notebook) gets badges; notebooks without a title
    cell or install cell are left as they are."""
    cells = notebook.cells
    lesson = is_course_notebook(name)
    if lesson and cells and cells[0].cell_type == "markdown" and cells[0].source.startswith("# "):
        title, _, rest = cells[0].source.partition("\n\n")
        rest = _BADGE_LINE.sub("", rest, count=1)
        line = badges(name, repository=repository)
        cells[0].source = f"{title}\n\n{line}\n\n{rest}" if line else f"{title}\n\n{rest}"
    first_code = next((cell for cell in cells if cell.cell_type == "code"), None)
    if first_code is not None and first_code.source.startswith(_INSTALL_HEADS):
        first_code.source = install_cell(repository)
    return notebook


WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"

#: What a committed widget output says instead of the widget's Python repr
#: (``AbPlaneWidget(children=(FloatSlider(...``), which is all GitHub would show.
WIDGET_NOTE = "Interactive widget: run this notebook in Jupyter to use it."
_TWIN_NOTES = {
    "below": " Where widgets do not render, the static figure below stands in for it.",
    "above": " Where widgets do not render, the static figure above stands in for it.",
    None: "",
}
_IMAGES = ("image/png", "image/jpeg", "image/svg+xml")
# An ipywidgets repr: ``ClassName(`` then the traits that differ from their defaults. A
# subclass (``AbPlaneWidget``) is known by its container's ``children=(`` or a control's
# ``layout=Layout(`` / ``style=...Style(``; ipywidgets' own classes by their name.
_REPR_NAME = re.compile(r"^([A-Za-z_]\w*)\(")
_WIDGET_TRAITS = re.compile(r"\b(?:children=\(|layout=Layout\(|style=\w*Style\()")


#: ipywidgets' own classes, known by name (the core does not import ipywidgets).
IPYWIDGETS_NAMES: frozenset[str] = frozenset({
    "Accordion", "AppLayout", "BoundedFloatText", "BoundedIntText", "Box", "Button", "Checkbox", "ColorPicker",
    "Combobox", "DatePicker", "Dropdown", "FileUpload", "FloatLogSlider", "FloatProgress", "FloatRangeSlider",
    "FloatSlider", "FloatText", "GridBox", "GridspecLayout", "HBox", "HTML", "HTMLMath", "Image", "IntProgress",
    "IntRangeSlider", "IntSlider", "IntText", "Label", "Output", "Password", "Play", "RadioButtons", "Select",
    "SelectMultiple", "SelectionRangeSlider", "SelectionSlider", "Stack", "Tab", "TagsInput", "Text", "Textarea",
    "ToggleButton", "ToggleButtons", "TwoByTwoLayout", "VBox", "Valid", "interactive",
})


def _is_widget_repr(text: str) -> bool:
    name = _REPR_NAME.match(text)
    return bool(name) and (name.group(1) in IPYWIDGETS_NAMES or bool(_WIDGET_TRAITS.search(text)))


def _plain_text(data: dict) -> str:
    text = data.get("text/plain", "")
    return "".join(text) if isinstance(text, list) else text


def is_widget_output(output: dict) -> bool:
    """Whether a code cell's output displays an ipywidget.

    True for a fresh output (it carries the widget view), for an executed notebook whose
    widget state is already stripped (its ``text/plain`` is an ipywidgets repr such as
    ``VBox(children=(...``), and for an output already tidied to :data:`WIDGET_NOTE`.
    """
    data = output.get("data")
    if output.get("output_type") not in ("execute_result", "display_data") or not data:
        return False
    if WIDGET_VIEW in data:
        return True
    if set(data) != {"text/plain"}:
        return False
    text = _plain_text(data)
    return text.startswith(WIDGET_NOTE) or _is_widget_repr(text)


def _has_image(cell: dict) -> bool:
    return any(kind in output.get("data", {}) for output in cell.get("outputs", []) for kind in _IMAGES)


def _is_heading(cell: dict) -> bool:
    return cell.get("cell_type") == "markdown" and any(line.startswith("#") for line in cell.get("source", "").splitlines())


def static_twin_side(cells: list, index: int) -> str | None:
    """Where the static figure that stands in for the widget of ``cells[index]`` is.

    ``"below"``: a later cell of the same section (up to the next Markdown heading) shows
    an image; else ``"above"``: an earlier cell of the section does; else ``None``.
    """
    for position in range(index + 1, len(cells)):
        if _is_heading(cells[position]):
            break
        if _has_image(cells[position]):
            return "below"
    for position in range(index - 1, -1, -1):
        if _has_image(cells[position]):
            return "above"
        if _is_heading(cells[position]):
            break
    return None


def widget_note(side: str | None) -> str:
    """The sentence a committed widget output shows (see :func:`tidy_widget_outputs`).

    >>> widget_note("below")
    'Interactive widget: run this notebook in Jupyter to use it. Where widgets do not render, the static figure below stands in for it.'
    """
    return WIDGET_NOTE + _TWIN_NOTES[side]


def tidy_widget_outputs(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Make a notebook's widget outputs readable where widgets do not render, reproducibly.

    Removes the widget models and views (random ids, per-run state) and replaces each
    widget output's ``text/plain`` (a Python repr like ``AbPlaneWidget(children=...``,
    which GitHub would show) with :func:`widget_note`: run it in Jupyter, and where its
    static twin figure is. Works on fresh outputs and on notebooks executed before (their
    widget views already stripped); tidying twice changes nothing. Changes ``notebook``
    in place and returns it.
    """
    notebook.metadata.pop("widgets", None)
    cells = notebook.cells
    for index, cell in enumerate(cells):
        for output in cell.get("outputs", []):
            if is_widget_output(output):
                output["data"] = nbformat.from_dict({"text/plain": widget_note(static_twin_side(cells, index))})
    return notebook


def strip_widget_state(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Remove what makes a re-run differ: widget models (random ids) and their state.

    Kept for callers of the earlier name: the same as :func:`tidy_widget_outputs`.
    """
    return tidy_widget_outputs(notebook)


def tidy_notebook(path: Path) -> bool:
    """Tidy the widget outputs of an executed notebook file without running it.

    See :func:`tidy_widget_outputs`. Writes the file (atomically) only when something
    changed; returns whether it did.
    """
    text = Path(path).read_text(encoding="utf-8")
    notebook = tidy_widget_outputs(nbformat.reads(text, as_version=4))
    tidied = nbformat.writes(notebook)
    tidied += "" if tidied.endswith("\n") else "\n"  # as nbformat.write ends a file
    if tidied == text:
        return False
    atomic_write(Path(path), lambda name: Path(name).write_text(tidied, encoding="utf-8"))
    return True


def run_notebook(path: Path, *, in_place: bool = False, timeout_s: int = 900,
                 times: dict[str, dict[str, float]] | None = None) -> float:
    """Execute one notebook top to bottom in its own folder; return the seconds it took.

    The lesson's links first point to this checkout's GitHub remote, or go where it has
    none (:func:`set_links`). With ``in_place`` the executed notebook (fresh outputs, no
    widget state: see :func:`tidy_widget_outputs`) is written back, atomically, so that running the course
    twice leaves the same bytes. With ``times`` (:func:`read_lesson_times`), a lesson's
    measured time is recorded there (:func:`record_run_time`) and its "**Time:**" line
    rewritten from it (:func:`set_time_line`); solutions notebooks are not timed.
    """
    notebook = nbformat.read(path, as_version=4)
    set_links(notebook, path.name, repository=course_repository())
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
    seconds = time.perf_counter() - started
    tidy_widget_outputs(notebook)
    if times is not None and not path.stem.endswith("_solutions"):
        record_run_time(times, path.stem, seconds)
        set_time_line(notebook, times[path.stem])
    if in_place:
        atomic_write(path, lambda name: nbformat.write(notebook, name))
    return seconds


# --------------------------------------------------------------------------------------
# How long each lesson takes: one file, read by the lesson headers and README.
# --------------------------------------------------------------------------------------

#: The one place a lesson's time is written, in the notebooks folder: per lesson (file
#: stem), ``study_minutes`` (an estimate for reading and the exercises, set by hand),
#: ``run_seconds`` (measured by ``make course``, with the lesson's runs already in
#: ``runs/``) and ``trains`` (true where a first run trains the lesson's models). The lessons' "**Time:**" lines and
#: README's lesson table are written from it.
LESSON_TIMES_FILE = "lesson_times.json"
_TIMES_FORMAT = "colorlib-lesson-times-v1"
#: A measured time replaces the stored one only when it moves by more than this share,
#: so that running the course twice leaves the file, the headers and README unchanged.
RUN_TIME_TOLERANCE = 0.25
#: ... or by more than this share where the Time line's words would change.
RUN_TIME_TEXT_TOLERANCE = 0.1


def read_lesson_times(folder: Path) -> dict[str, dict[str, float]]:
    """The lessons' times from ``folder / LESSON_TIMES_FILE``: ``{stem: {"study_minutes",
    "run_seconds"}}``; empty when there is no file.

    Raises:
        ValueError: a file that is not a lesson-times file.
    """
    path = Path(folder) / LESSON_TIMES_FILE
    if not path.exists():
        return {}
    document = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(document, dict) or document.get("format") != _TIMES_FORMAT:
        raise ValueError(f"{path}: expected a lesson-times file (format {_TIMES_FORMAT!r})")
    return {stem: dict(entry) for stem, entry in document["lessons"].items()}


def write_lesson_times(folder: Path, times: dict[str, dict[str, float]]) -> None:
    """Write ``times`` (as :func:`read_lesson_times` returns them) to ``folder / LESSON_TIMES_FILE``, sorted."""
    document = {"format": _TIMES_FORMAT,
                "lessons": {stem: {key: times[stem][key] for key in sorted(times[stem])} for stem in sorted(times)}}
    text = json.dumps(document, indent=1) + "\n"
    atomic_write(Path(folder) / LESSON_TIMES_FILE, lambda name: Path(name).write_text(text, encoding="utf-8"))


def record_run_time(times: dict[str, dict[str, float]], stem: str, seconds: float, *,
                    tolerance: float = RUN_TIME_TOLERANCE) -> bool:
    """Store a measured run time of lesson ``stem`` in ``times`` if it differs from the stored
    one by more than ``tolerance`` (a share), or by more than :data:`RUN_TIME_TEXT_TOLERANCE`
    where the lesson's Time line would then read otherwise (57 s is "under a minute", 70 s
    "about 1 minute"); return whether it was stored.

    >>> times = {"01_lab": {"study_minutes": 45, "run_seconds": 100}}
    >>> record_run_time(times, "01_lab", 110), times["01_lab"]["run_seconds"]
    (False, 100)
    >>> record_run_time(times, "01_lab", 140.4), times["01_lab"]["run_seconds"]
    (True, 140)
    >>> times = {"08_hints": {"run_seconds": 57}}
    >>> record_run_time(times, "08_hints", 62), record_run_time(times, "08_hints", 70), times["08_hints"]["run_seconds"]
    (False, True, 70)
    """
    if not seconds >= 0:
        raise ValueError(f"record_run_time: expected seconds >= 0, got {seconds!r}")
    entry = times.setdefault(stem, {})
    stored = entry.get("run_seconds")
    if stored is not None:
        moved = abs(seconds - stored) / max(stored, 1)
        same_text = duration_text(seconds) == duration_text(stored)
        if moved <= tolerance and (same_text or moved <= RUN_TIME_TEXT_TOLERANCE):
            return False
    entry["run_seconds"] = int(round(seconds))
    return True


def duration_text(seconds: float) -> str:
    """A run time as a reader wants it.

    >>> duration_text(42), duration_text(75), duration_text(400)
    ('under a minute', 'about 1 minute', 'about 7 minutes')
    """
    if seconds < 60:
        return "under a minute"
    minutes = round(seconds / 60)
    return f"about {minutes} minute{'s' if minutes != 1 else ''}"


def time_line(entry: dict[str, float]) -> str:
    """A lesson header's "**Time:**" line from its :func:`read_lesson_times` entry.

    >>> time_line({"study_minutes": 45, "run_seconds": 95})
    '**Time:** about 45 minutes to study; the notebook runs in about 2 minutes on a 2-core CPU (measured by `make course`).'
    """
    study, run = entry.get("study_minutes"), entry.get("run_seconds")
    parts = [f"about {study:g} minutes to study" if study is not None else None,
             f"the notebook runs in {duration_text(run)} on a 2-core CPU (measured by `make course`)" if run is not None else None]
    line = "**Time:** " + "; ".join(part for part in parts if part) + "."
    if entry.get("trains"):
        line += " Its first run also trains the lesson's models, for several minutes more; `runs/` keeps them for the next."
    return line


_TIME_PARAGRAPH = re.compile(r"^\*\*Time:\*\*.*?(?=\n\n|\Z)", re.S | re.M)


def set_time_line(notebook: nbformat.NotebookNode, entry: dict[str, float] | None) -> nbformat.NotebookNode:
    """Replace the "**Time:**" paragraph of a lesson's first cell with :func:`time_line`
    (added at the end of the cell where there is none); nothing without an ``entry``."""
    cells = notebook.cells
    if not entry or not cells or cells[0].cell_type != "markdown":
        return notebook
    line = time_line(entry)
    source = cells[0].source
    cells[0].source = (_TIME_PARAGRAPH.sub(lambda _: line, source, count=1) if _TIME_PARAGRAPH.search(source)
                       else f"{source.rstrip()}\n\n{line}")
    return notebook


def readme_with_times(text: str, times: dict[str, dict[str, float]]) -> str:
    """README's text with the "time" cell of each lesson's row (the row linking to
    ``notebooks/<stem>.ipynb``) rewritten from ``times``: "45 min to study, runs in about 2 minutes".

    The lesson table's header must have a column named ``time``.
    """
    lines = text.split("\n")
    column = None
    for number, line in enumerate(lines):
        if not line.startswith("|"):  # a table ends at its first line that is not a row
            column = None
            continue
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if "time" in cells:
            column = cells.index("time")
            continue
        if column is None:
            continue
        stem = next((s for s in times if f"(notebooks/{s}.ipynb)" in line), None)
        if stem is None or len(cells) <= column:
            continue
        entry = times[stem]
        parts = [f"{entry['study_minutes']:g} min to study" if "study_minutes" in entry else None,
                 f"runs in {duration_text(entry['run_seconds'])}" if "run_seconds" in entry else None,
                 "its first run trains for several minutes more" if entry.get("trains") else None]
        cells[column] = ", ".join(part for part in parts if part)
        lines[number] = "| " + " | ".join(cells) + " |"
    return "\n".join(lines)
