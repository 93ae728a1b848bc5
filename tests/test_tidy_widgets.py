"""Committed widget outputs say where their static twin is, not a Python repr, and the same
bytes come out of every run (``colorlib.course.tidy_widget_outputs``, ``colorlib tidy``)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import ipywidgets
import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from colorlib import cli
from colorlib.course import WIDGET_VIEW, is_widget_output, tidy_notebook, tidy_widget_outputs, widget_note

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
COMMITTED = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb")) + sorted((NOTEBOOKS / "solutions").glob("*.ipynb"))
# What GitHub would show for a widget: its class's repr, ``AbPlaneWidget(children=...``.
WIDGET_REPR = re.compile(r"^(?:\w*Widget|\w*Box|interactive|\w+(?=\(children=))\(")
PNG = "iVBORw0KGgo="  # any base64 text: only the output's kind matters here


def _widget_output(widget: ipywidgets.Widget, *, execution_count: int = 1) -> nbformat.NotebookNode:
    """The execute_result a kernel sends for ``widget``: its repr and its view (a random model id)."""
    return new_output(
        "execute_result",
        data={"text/plain": repr(widget), WIDGET_VIEW: {"version_major": 2, "version_minor": 0, "model_id": widget.model_id}},
        execution_count=execution_count,
    )


def _lesson(widget: ipywidgets.Widget, *, twin: str | None) -> nbformat.NotebookNode:
    """A section with a widget cell and, below or above it (or nowhere), a figure."""

    def figure() -> nbformat.NotebookNode:
        return new_code_cell("figure", execution_count=2, outputs=[new_output("display_data", data={"image/png": PNG, "text/plain": "<Figure>"})])

    cells = [new_markdown_cell("## The slider"), new_code_cell("widget", execution_count=1, outputs=[_widget_output(widget)])]
    if twin == "below":
        cells.append(figure())
    elif twin == "above":
        cells.insert(1, figure())
    cells += [new_markdown_cell("## Next section"), figure()]  # another section's figure is no twin
    for number, cell in enumerate(cells):
        cell.id = f"cell-{number}"  # as committed notebooks keep theirs (new cells get random ids)
    notebook = new_notebook(cells=cells)
    notebook.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {widget.model_id: {}}}}
    return notebook


@pytest.mark.parametrize("twin", ["below", "above", None])
def test_a_widget_output_is_rewritten_to_a_note_that_points_at_its_static_twin(twin):
    slider = ipywidgets.VBox([ipywidgets.FloatSlider(value=50.0, description="L")])
    notebook = tidy_widget_outputs(_lesson(slider, twin=twin))
    cell = next(cell for cell in notebook.cells if cell.source == "widget")
    assert cell.outputs[0].data == {"text/plain": widget_note(twin)}
    assert "widgets" not in notebook.metadata
    note = cell.outputs[0].data["text/plain"]
    assert note.startswith("Interactive widget: run this notebook in Jupyter")
    assert (f"the static figure {twin}" in note) if twin else ("static figure" not in note)


def test_two_runs_of_a_widget_notebook_leave_the_same_bytes(tmp_path):
    # Each run gives the widgets new random model ids; the tidied files must not differ.
    paths = []
    for run in ("first", "second"):
        widget = ipywidgets.IntSlider(value=16, description="row")
        notebook = tidy_widget_outputs(_lesson(widget, twin="below"))
        path = tmp_path / f"{run}.ipynb"
        nbformat.write(notebook, path)
        paths.append(path)
    assert paths[0].read_bytes() == paths[1].read_bytes()
    assert b"model_id" not in paths[0].read_bytes()


def test_tidying_a_file_twice_changes_nothing_the_second_time(tmp_path):
    path = tmp_path / "lesson.ipynb"
    nbformat.write(_lesson(ipywidgets.HBox([ipywidgets.Dropdown(options=["relu", "layer1"])]), twin="below"), path)
    assert tidy_notebook(path) is True
    once = path.read_bytes()
    assert tidy_notebook(path) is False
    assert path.read_bytes() == once


def test_an_executed_notebook_whose_widget_state_was_stripped_is_tidied_too(tmp_path):
    # Notebooks committed before the tidying kept only the repr: recognised by its text.
    notebook = _lesson(ipywidgets.FloatSlider(value=0.38), twin="below")
    output = notebook.cells[1].outputs[0]
    del output.data[WIDGET_VIEW]
    assert output.data["text/plain"] == "FloatSlider(value=0.38)"
    tidy_widget_outputs(notebook)
    assert output.data == {"text/plain": widget_note("below")}


@pytest.mark.parametrize(
    "text", ["Result(value=3)", "ColorView(lightness=50.0, a=0.0)", "<Figure size 640x480 with 1 Axes>", "tensor([1., 2.])"]
)
def test_other_reprs_are_left_as_they_are(text):
    assert not is_widget_output(new_output("execute_result", data={"text/plain": text}, execution_count=1))


def test_colorlib_tidy_reports_each_file_and_exits_2_on_a_missing_one(tmp_path, capsys):
    path = tmp_path / "lesson.ipynb"
    nbformat.write(_lesson(ipywidgets.VBox(), twin=None), path)
    assert cli.main(["tidy", str(path)]) == 0
    assert cli.main(["tidy", str(path)]) == 0
    assert capsys.readouterr().out == f"{path}: tidied\n{path}: unchanged\n"
    assert cli.main(["tidy", str(tmp_path / "missing.ipynb")]) == 2
    assert "expected executed .ipynb files, cannot find" in capsys.readouterr().err


def _outputs(notebook: Path) -> list[tuple[dict, dict]]:
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    return [(cell, output) for cell in cells for output in cell.get("outputs", [])]


@pytest.mark.parametrize("notebook", COMMITTED, ids=lambda p: p.name)
def test_no_committed_output_is_a_widget_repr(notebook):
    for cell, output in _outputs(notebook):
        text = "".join(output.get("data", {}).get("text/plain", ""))
        assert not WIDGET_REPR.match(text), f"{notebook.name}: run `colorlib tidy {notebook.name}`: {text[:80]}"
        if text.startswith("Interactive widget:"):
            # nbval-lax compares only marked cells: a marked widget cell would compare this note with a live repr.
            assert "NBVAL_CHECK_OUTPUT" not in "".join(cell["source"])
