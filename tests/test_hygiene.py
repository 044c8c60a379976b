"""Notebook hygiene (one parameters cell with quick values, no outputs, python3 kernel, no gaps),
and the two rooms: helpers/ holds only what notebooks import, never the series machinery."""

import re
import subprocess

import nbformat
import pytest
from ipykernel.ipkernel import IPythonKernel

from series_tools import ROOT, notebooks, runner
from series_tools.bootstrap import KERNEL_NAME

NOTEBOOKS = notebooks()


def test_notebooks_are_numbered_without_gaps():
    numbers = [int(p.name[:2]) for p in NOTEBOOKS]
    assert numbers == list(range(len(NOTEBOOKS))), [p.name for p in NOTEBOOKS]
    assert all(re.fullmatch(r"\d\d_[a-z0-9_]+\.ipynb", p.name) for p in NOTEBOOKS)


def as_git_stores_it(path):
    """The notebook as `git add` would store it: through the nbstripout filter where `make
    setup` has defined it (a learner's saved outputs never reach a commit), else as on disk."""

    def git(*args):
        return subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True)

    clean = git("config", "--get", "filter.nbstripout.clean").stdout.strip()
    named = git("check-attr", "filter", "--", str(path)).stdout.strip().endswith("nbstripout")
    if not (clean and named):
        return nbformat.read(path, as_version=4)
    stored = subprocess.run(clean, shell=True, stdin=path.open("rb"), capture_output=True)
    return nbformat.reads(stored.stdout.decode("utf-8"), as_version=4)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_hygiene(path):
    notebook = as_git_stores_it(path)
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


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_metadata_is_what_the_kernel_writes(path):
    """JupyterLab marks a notebook modified when the kernel's metadata differs from the stored;
    the stored one is what the project's kernel writes (on the Python 3.11 our machines run)."""
    metadata = nbformat.read(path, as_version=4).metadata
    assert metadata.kernelspec == {
        "display_name": KERNEL_NAME,
        "language": "python",
        "name": "python3",
    }
    kernel = dict(IPythonKernel.language_info)
    assert metadata.language_info.pop("version").rsplit(".", 1)[0] == "3.11"
    assert metadata.language_info == {k: v for k, v in kernel.items() if k != "version"}
