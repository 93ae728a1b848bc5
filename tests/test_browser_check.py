"""The pieces of ``scripts/browser_check.py`` that run without a browser (``make browser-check``
itself needs Chromium and Playwright, and is not part of ``make test``)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

REPOSITORY = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("browser_check", REPOSITORY / "scripts" / "browser_check.py")
browser_check = importlib.util.module_from_spec(_spec)
sys.modules.setdefault("browser_check", browser_check)  # its dataclasses look their module up there
_spec.loader.exec_module(browser_check)


def test_the_check_opens_every_lesson_whose_committed_outputs_show_a_widget():
    lessons = browser_check.select_notebooks(None, folder=REPOSITORY / "notebooks")
    assert [p.name[:2] for p in lessons] == ["01", "02", "03", "07", "08", "09"]


def test_the_check_clicks_the_class_the_hint_widget_puts_on_its_picture():
    from colorlib.lessons.hints_lesson import CLICK_TARGET

    assert browser_check.CLICK_TARGET == CLICK_TARGET


def test_a_choice_is_a_lesson_prefix_or_a_notebook_file(tmp_path):
    other = tmp_path / "scratch.ipynb"
    other.write_text("{}", encoding="utf-8")
    chosen = browser_check.select_notebooks(["03", str(other)], folder=REPOSITORY / "notebooks")
    assert [p.name for p in chosen] == ["03_upsampling_decoder.ipynb", "scratch.ipynb"]
    with pytest.raises(browser_check.CheckError, match=r"expected a lesson with widgets \(01, 02, 03, 07, 08, 09\)"):
        browser_check.select_notebooks(["05"], folder=REPOSITORY / "notebooks")


def test_a_missing_chromium_says_how_to_install_it(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))  # nothing on it
    monkeypatch.delenv(browser_check.CHROMIUM_ENV, raising=False)
    with pytest.raises(browser_check.CheckError, match="apt-get install chromium"):
        browser_check.find_chromium()
    with pytest.raises(browser_check.CheckError, match="expected an executable Chromium"):
        browser_check.find_chromium(override=str(tmp_path / "chrome"))
