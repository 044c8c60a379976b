"""Notebook hygiene: one parameters cell with quick values, no outputs, python3 kernel, no gaps."""

import re

import nbformat
import pytest

from helpers import series

NOTEBOOKS = series.notebooks()


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
    assert len(series.parameters_cells(path)) == 1, "exactly one cell tagged 'parameters'"
    (parameters,) = series.parameters_cells(path)
    names = re.findall(r"^([A-Z][A-Z0-9_]*)\s*=", parameters.source, flags=re.M)
    assert names, "the parameters cell holds UPPER_CASE knobs"
    assert set(series.quick_parameters(path)) <= set(names)
