"""Notebook hygiene (one parameters cell with quick values, no outputs, python3 kernel, no gaps),
and the two rooms: helpers/ holds only what notebooks import, never the series machinery."""

import re

import nbformat
import pytest

from series_tools import ROOT, notebooks, runner

NOTEBOOKS = notebooks()


def test_notebooks_are_numbered_without_gaps():
    numbers = [int(p.name[:2]) for p in NOTEBOOKS]
    assert numbers == list(range(len(NOTEBOOKS))), [p.name for p in NOTEBOOKS]
    assert all(re.fullmatch(r"\d\d_[a-z0-9_]+\.ipynb", p.name) for p in NOTEBOOKS)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_hygiene(path):
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    assert notebook.metadata.kernelspec.name == "python3"
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert not cell.outputs and cell.execution_count is None, "commit without outputs"
            assert "!pip" not in cell.source and "sys.path" not in cell.source
    assert len(runner.parameters_cells(path)) == 1, "exactly one cell tagged 'parameters'"
    names = runner.parameter_names(path)
    assert names, "the parameters cell holds UPPER_CASE knobs"
    assert set(runner.quick_parameters(path)) <= set(names)


@pytest.mark.parametrize("path", sorted((ROOT / "helpers").glob("*.py")), ids=lambda p: p.stem)
def test_helpers_leave_running_the_series_to_series_tools(path):
    source = path.read_text(encoding="utf-8")
    for name in ("series_tools", "papermill", "nbconvert"):
        assert name not in source, f"{path.name} mentions {name}: that belongs in series_tools/"
