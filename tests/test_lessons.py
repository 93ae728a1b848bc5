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

import pytest

from colorlib.course import INSTALL_CELL, badges, notebook_paths

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
LESSONS = notebook_paths(NOTEBOOKS)


def _cells(path: Path) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


def _text(cell: dict) -> str:
    return "".join(cell["source"])


def test_the_course_has_lessons_01_to_07():
    assert [p.name[:2] for p in LESSONS] == ["01", "02", "03", "04", "05", "06", "07"]


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda p: p.name[:2])
def test_a_lesson_opens_with_links_objectives_prerequisites_and_time(lesson):
    cells = _cells(lesson)
    top = _text(cells[0])
    assert cells[0]["cell_type"] == "markdown" and top.startswith("# ")
    assert badges(lesson.name) in top
    objectives = re.search(r"\*\*What you will learn\*\*\n((?:- .*\n?)+)", top)
    assert objectives and 3 <= len(objectives.group(1).strip().splitlines()) <= 5
    assert "**You need:**" in top and re.search(r"\*\*Time:\*\* about \d+ minutes", top)


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda p: p.name[:2])
def test_the_first_code_cell_installs_colorlib_only_where_it_is_missing(lesson):
    first_code = next(cell for cell in _cells(lesson) if cell["cell_type"] == "code")
    assert _text(first_code) == INSTALL_CELL


def test_the_install_cell_does_nothing_where_colorlib_is_installed():
    # pip would fail here (no network to GitHub): the cell must not call it at all.
    guard = "import subprocess\ndef refuse(*a, **k):\n    raise SystemExit('pip was called')\nsubprocess.check_call = refuse\n"
    finished = subprocess.run([sys.executable, "-c", guard + INSTALL_CELL], capture_output=True, text=True)
    assert finished.returncode == 0, finished.stderr


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda p: p.name[:2])
def test_a_lesson_ends_with_recap_exercises_solutions_and_navigation(lesson):
    cells = _cells(lesson)
    markdown = [_text(cell) for cell in cells if cell["cell_type"] == "markdown"]
    tail = "\n".join(markdown[-3:])
    assert "## Recap" in tail and "## Exercises" in tail
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


def test_every_lesson_has_its_solutions_and_nothing_else_is_there():
    solutions = sorted(p.name for p in (NOTEBOOKS / "solutions").glob("*.ipynb"))
    assert solutions == [f"{p.stem}_solutions.ipynb" for p in LESSONS]
