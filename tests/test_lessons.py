"""Every lesson is a lesson: links to run it where learners are, objectives, recap, exercises
with worked solutions, navigation; committed executed, with no error and no machine path.

The notebooks themselves run under nbval (``make test``); this file checks their shape.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from colorlib.course import (badges, course_repository, install_cell, notebook_paths, read_lesson_times,
                             readme_with_times, set_links, time_line)

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
LESSONS = notebook_paths(NOTEBOOKS)


def _cells(path: Path) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


def _text(cell: dict) -> str:
    return "".join(cell["source"])


def test_the_course_has_its_lessons_in_order_then_the_appendix():
    assert [p.name[:2] for p in LESSONS] == ["01", "02", "03", "04", "05", "06", "07", "08", "09", "A1"]


def test_notebook_paths_lists_lessons_by_number_then_appendices_and_nothing_else(tmp_path):
    for name in ("10_later.ipynb", "02_early.ipynb", "A2_more.ipynb", "A1_forensics.ipynb",
                 "scratch.ipynb", "B1_not_an_appendix.ipynb", "2_short.ipynb", "03_x_solutions.ipynb"):
        (tmp_path / name).write_text("{}", encoding="utf-8")
    assert [p.name for p in notebook_paths(tmp_path)] == [
        "02_early.ipynb", "10_later.ipynb", "A1_forensics.ipynb", "A2_more.ipynb"]
    appendix_only = tmp_path / "appendix_only"
    appendix_only.mkdir()
    (appendix_only / "A1_forensics.ipynb").write_text("{}", encoding="utf-8")
    with pytest.raises(FileNotFoundError, match="no lesson notebooks"):
        notebook_paths(appendix_only)


def test_an_appendix_gets_badges_like_a_lesson_and_a_solutions_notebook_none():
    for name, badged in (("A1_forensics.ipynb", True), ("A1_forensics_solutions.ipynb", False)):
        notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# A1 · Appendix\n\nText.")])
        set_links(notebook, name, repository="fork/course")
        assert ("colab.research.google.com/github/fork/course/blob/main/notebooks/" + name in notebook.cells[0].source) == badged


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda p: p.name[:2])
def test_a_lesson_opens_with_links_objectives_prerequisites_and_time(lesson):
    cells = _cells(lesson)
    top = _text(cells[0])
    assert cells[0]["cell_type"] == "markdown" and top.startswith("# ")
    assert badges(lesson.name, repository=_linked_repository(lesson)) in top
    objectives = re.search(r"\*\*What you will learn\*\*\n((?:- .*\n?)+)", top)
    assert objectives and 3 <= len(objectives.group(1).strip().splitlines()) <= 5
    assert "**You need:**" in top and re.search(r"\*\*Time:\*\* about \d+ minutes", top)


def _linked_repository(lesson: Path) -> str | None:
    """The GitHub repository a committed lesson's Colab badge points to, or None without badges."""
    found = re.search(r"colab\.research\.google\.com/github/([\w.-]+/[\w.-]+)/blob/", _text(_cells(lesson)[0]))
    return found.group(1) if found else None


def test_every_lesson_links_to_the_same_repository_or_none():
    # make course points the links at the checkout's GitHub remote (a fork gets its own) and
    # leaves them out where there is none; the committed lessons agree with each other.
    assert len({_linked_repository(lesson) for lesson in LESSONS}) == 1
    assert "colorlib-course/colorizing-grayscale-photographs" not in {_linked_repository(l) for l in LESSONS}


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda p: p.name[:2])
def test_the_first_code_cell_installs_colorlib_only_where_it_is_missing(lesson):
    first_code = next(cell for cell in _cells(lesson) if cell["cell_type"] == "code")
    assert _text(first_code) == install_cell(_linked_repository(lesson))


@pytest.mark.parametrize("repository", ["someone/course", None])
def test_the_install_cell_does_nothing_where_colorlib_is_installed(repository):
    # pip would fail here (no network to GitHub): the cell must not call it at all.
    guard = "import subprocess\ndef refuse(*a, **k):\n    raise SystemExit('pip was called')\nsubprocess.check_call = refuse\n"
    finished = subprocess.run([sys.executable, "-c", guard + install_cell(repository)], capture_output=True, text=True)
    assert finished.returncode == 0, finished.stderr


def test_links_follow_the_remote_and_vanish_without_one(tmp_path):
    lesson = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("# 09 · A lesson\n\n[![Open in Colab](x)](y) [![Binder](z)](w)\n\nText."),
        nbformat.v4.new_code_cell(install_cell("old/place")),
    ])
    set_links(lesson, "09_a_lesson.ipynb", repository="fork/course")
    assert lesson.cells[0].source == f"# 09 · A lesson\n\n{badges('09_a_lesson.ipynb', repository='fork/course')}\n\nText."
    assert "colab.research.google.com/github/fork/course/blob/main/notebooks/09_a_lesson.ipynb" in lesson.cells[0].source
    assert "git+https://github.com/fork/course@main" in lesson.cells[1].source
    set_links(lesson, "09_a_lesson.ipynb", repository=None)
    assert lesson.cells[0].source == "# 09 · A lesson\n\nText."
    assert lesson.cells[1].source == install_cell(None) and "github" not in lesson.cells[1].source
    set_links(lesson, "09_a_lesson.ipynb", repository="fork/course")  # and back
    assert "colab.research.google.com/github/fork/course/blob/main" in lesson.cells[0].source
    # The remote of a real checkout: a GitHub URL gives owner/name, a local path none.
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / "notebooks").mkdir()
    assert course_repository(tmp_path) is None
    subprocess.run(["git", "-C", str(tmp_path), "remote", "add", "origin", "https://github.com/fork/course.git"], check=True)
    assert course_repository(tmp_path) == "fork/course"


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda p: p.name[:2])
def test_a_lesson_ends_with_recap_exercises_solutions_and_navigation(lesson):
    cells = _cells(lesson)
    markdown = [_text(cell) for cell in cells if cell["cell_type"] == "markdown"]
    tail = "\n".join(markdown[-3:])
    assert "## Recap" in tail and "## Exercises" in tail
    assert re.search(r"\nWorked solutions: \[solutions/[^\n]*\Z", markdown[-2].rstrip()), "the solutions link follows the exercises"
    exercises = re.search(r"## Exercises\n(.*?)(?:\n## |\Z)", tail, re.S).group(1)
    assert 3 <= len(re.findall(r"^\d+\. ", exercises, re.M)) <= 5
    solutions = f"solutions/{lesson.stem}_solutions.ipynb"
    assert solutions in tail and (NOTEBOOKS / solutions).is_file()
    index = LESSONS.index(lesson)
    if index > 0:
        assert f"({LESSONS[index - 1].name})" in markdown[-1] and "Previous" in markdown[-1]
    if index < len(LESSONS) - 1:
        assert f"({LESSONS[index + 1].name})" in markdown[-1] and "Next" in markdown[-1]


@pytest.mark.parametrize("notebook", LESSONS + sorted((NOTEBOOKS / "solutions").glob("*.ipynb")), ids=lambda p: p.name)
def test_committed_executed_without_errors_paths_or_widget_state(notebook):
    document = json.loads(notebook.read_text(encoding="utf-8"))
    code = [cell for cell in document["cells"] if cell["cell_type"] == "code"]
    assert all(cell.get("execution_count") for cell in code), "commit the notebook executed"
    outputs = [output for cell in code for output in cell.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    assert "widgets" not in document["metadata"]  # no per-run widget ids (colorlib.course.strip_widget_state)
    assert not re.search(r"/(work|tmp|root|home)/[A-Za-z]", notebook.read_text(encoding="utf-8"))
    # nbval's markers are cell tags (nbval-check-output), out of the learner's code.
    assert not [cell for cell in code if re.search(r"^\s*#\s*NBVAL_", _text(cell), re.M)]


def test_every_committed_figure_is_one_that_a_notebook_writes():
    """A PNG in figures/ that no notebook (nor the lessons wing, which names the paper's figures)
    writes any more would never be regenerated by `make course`, and would drift."""
    sources = [*NOTEBOOKS.rglob("*.ipynb"), *(NOTEBOOKS.parent / "colorlib" / "lessons").glob("*.py")]
    text = "".join(path.read_text(encoding="utf-8") for path in sources)
    figures = sorted((NOTEBOOKS.parent / "figures").glob("*.png"))
    assert len(figures) > 30 and [png.name for png in figures if png.name not in text] == []


def test_every_lesson_has_its_solutions_and_nothing_else_is_there():
    solutions = sorted(p.name for p in (NOTEBOOKS / "solutions").glob("*.ipynb"))
    assert solutions == [f"{p.stem}_solutions.ipynb" for p in LESSONS]


def test_lesson_times_come_from_one_file_that_headers_and_readme_follow():
    # make course measures each lesson into notebooks/lesson_times.json and writes the lessons'
    # Time lines and README's time column from it: the three agree.
    times = read_lesson_times(NOTEBOOKS)
    assert sorted(times) == sorted(lesson.stem for lesson in LESSONS)
    for lesson in LESSONS:
        entry = times[lesson.stem]
        assert entry["study_minutes"] > 0 and entry["run_seconds"] > 0, lesson.name
        assert time_line(entry) in _text(_cells(lesson)[0]), lesson.name
    readme = (NOTEBOOKS.parent / "README.md").read_text(encoding="utf-8")
    assert readme_with_times(readme, times) == readme
    assert all(f"(notebooks/{lesson.name})" in readme for lesson in LESSONS)
