"""Lesson times: one file (``notebooks/lesson_times.json``) that ``make course`` measures into
and that the lessons' "**Time:**" lines and README's lesson table are written from."""

from __future__ import annotations

import json

import nbformat
import pytest

from colorlib import course


def _lesson(first_cell: str) -> nbformat.NotebookNode:
    return nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(first_cell),
                                           nbformat.v4.new_code_cell("1 + 1")])


def test_times_round_trip_through_the_file(tmp_path):
    assert course.read_lesson_times(tmp_path) == {}
    times = {"02_encoder": {"study_minutes": 40, "run_seconds": 70}, "01_lab": {"study_minutes": 45}}
    course.write_lesson_times(tmp_path, times)
    assert course.read_lesson_times(tmp_path) == times
    assert list(json.loads((tmp_path / course.LESSON_TIMES_FILE).read_text())["lessons"]) == ["01_lab", "02_encoder"]
    (tmp_path / course.LESSON_TIMES_FILE).write_text('{"lessons": {}}')
    with pytest.raises(ValueError, match="lesson-times file"):
        course.read_lesson_times(tmp_path)


def test_a_new_measurement_replaces_the_stored_one_beyond_the_tolerance_or_where_its_words_change():
    times = {}
    assert course.record_run_time(times, "04_training", 200.4) and times["04_training"]["run_seconds"] == 200
    assert not course.record_run_time(times, "04_training", 209)       # +4.5 %, "about 3 minutes" still: kept
    assert not course.record_run_time(times, "04_training", 151)       # -24.5 %, "about 3 minutes" still: kept
    assert course.record_run_time(times, "04_training", 249) and times["04_training"]["run_seconds"] == 249  # "about 4"
    assert course.record_run_time(times, "04_training", 320) and times["04_training"]["run_seconds"] == 320  # +28.5 %
    times = {"08_hints": {"run_seconds": 57}}                             # "under a minute"
    assert not course.record_run_time(times, "08_hints", 62)           # "about 1 minute", but +8.8 %: kept
    assert course.record_run_time(times, "08_hints", 66) and times["08_hints"]["run_seconds"] == 66  # +15.8 %: the words change
    with pytest.raises(ValueError, match="seconds"):
        course.record_run_time(times, "04_training", float("nan"))


def test_the_time_paragraph_is_replaced_or_added():
    lesson = _lesson("# 01 · Lab\n\nIntro.\n\n**Time:** about 30 minutes (a guess),\nover two lines.\n\n**You need:** nothing.")
    course.set_time_line(lesson, {"study_minutes": 45, "run_seconds": 30})
    assert lesson.cells[0].source == ("# 01 · Lab\n\nIntro.\n\n**Time:** about 45 minutes to study; the notebook runs in "
                                      "under a minute on a 2-core CPU (measured by `make course`).\n\n**You need:** nothing.")
    bare = _lesson("# 02 · Encoder\n\nIntro.")
    course.set_time_line(bare, {"run_seconds": 130})
    assert bare.cells[0].source.endswith("\n\n**Time:** the notebook runs in about 2 minutes on a 2-core CPU "
                                         "(measured by `make course`).")
    untouched = _lesson("# 03\n\n**Time:** as it was.")
    assert course.set_time_line(untouched, None).cells[0].source == "# 03\n\n**Time:** as it was."


def test_readme_rows_take_their_time_from_the_file():
    readme = ("Intro | not a table\n\n| notebook | what you learn | time | paper figures |\n| --- | --- | --- | --- |\n"
              "| [01 Lab](notebooks/01_lab.ipynb) | colour | ~30 min | Figure 1 |\n"
              "| [02 Encoder](notebooks/02_encoder.ipynb) | features | ~40 min |  |\n\nAfter the table.")
    times = {"01_lab": {"study_minutes": 45, "run_seconds": 95}}
    written = course.readme_with_times(readme, times).splitlines()
    assert written[4] == "| [01 Lab](notebooks/01_lab.ipynb) | colour | 45 min to study, runs in about 2 minutes | Figure 1 |"
    assert written[5] == "| [02 Encoder](notebooks/02_encoder.ipynb) | features | ~40 min |  |"  # no entry: left alone
    assert written[0] == "Intro | not a table" and written[-1] == "After the table."


def test_a_lesson_that_trains_says_so_in_both_places():
    entry = {"study_minutes": 30, "run_seconds": 200, "trains": True}
    assert course.time_line(entry).endswith(" Its first run also trains the lesson's models, for several minutes more; "
                                            "`runs/` keeps them for the next.")
    row = "| notebook | what | time |\n| --- | --- | --- |\n| [04](notebooks/04_training.ipynb) | training | ? |"
    assert course.readme_with_times(row, {"04_training": entry}).splitlines()[-1] == (
        "| [04](notebooks/04_training.ipynb) | training | 30 min to study, runs in about 3 minutes, "
        "its first run trains for several minutes more |")
