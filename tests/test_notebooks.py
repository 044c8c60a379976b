"""Run every notebook of the series through papermill in its documented quick mode."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from conftest import LAB_RUN, NEEDS, RESULTS_AT_START, group_of
from jupyter_server.services.contents.filemanager import FileContentsManager

from series_tools import ROOT, notebooks
from series_tools.bootstrap import define_notebook_filter
from series_tools.lab import SERVER_CONFIG
from series_tools.results import RESULTS_PATH


def recorded_rows(executed_notebook: Path) -> list[dict]:
    """The rows the cell tagged ``record-results`` printed (one JSON object per line)."""
    notebook = nbformat.read(executed_notebook, as_version=4)
    (cell,) = [c for c in notebook.cells if "record-results" in c.metadata.get("tags", [])]
    text = "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def grouped(path: Path):
    """The notebook as a test parameter, on the worker of its group (a chain runs in order)."""
    return pytest.param(path, marks=pytest.mark.xdist_group(group_of(path)), id=path.stem)


@pytest.mark.parametrize("path", [grouped(path) for path in notebooks()])
def test_notebook_runs_in_quick_mode(path, executed, tmp_path_factory):
    """Every notebook, in quick mode, with its own asserts. LAB_RUN runs as a learner's
    JupyterLab does: it records nothing, replaces nothing the series ships, and saving it
    changes nothing git sees."""
    for number in NEEDS.get(path.name[:2], ()):  # run by the other worker, or here if alone
        executed(next(path.parent.glob(f"{number}_*.ipynb")), wait=True)
    output = executed(path)
    text = output.read_text()
    if path.name[:2] == "09":  # it trains on JAX whatever the backend of the other notebooks
        assert "Keras backend: jax" in text
        splits = {row["split"] for row in recorded_rows(output)}
        assert splits == {"validation_cross_fitted", "test"}
    if path.name[:2] == LAB_RUN:
        assert "Not recorded" in text
        assert (RESULTS_PATH.read_bytes() if RESULTS_PATH.is_file() else None) == RESULTS_AT_START
        assert not (output.parent.parent / "export-quick").exists(), "it replaced the export"
        assert (output.parent.parent / "lab" / "export-quick").is_dir()
        repository = tmp_path_factory.mktemp("repository")
        assert_saving_it_changes_nothing_git_sees(path, output, repository)


def assert_saving_it_changes_nothing_git_sees(path: Path, executed: Path, repository: Path):
    """Save the executed notebook over the tracked one through the Jupyter server's contents
    manager, as Lab does, in a repository set up as `make setup` sets up this one: git sees
    no change (the filter strips the outputs, the save hook lets git see that)."""
    (repository / path.parent.name).mkdir(parents=True)
    for name in (".gitattributes", ".gitignore"):
        shutil.copy(ROOT / name, repository)
    tracked = repository / path.parent.name / path.name
    shutil.copy(path, tracked)

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-C", str(repository), *args], check=True, capture_output=True, text=True
        ).stdout

    git("init", "-q")
    define_notebook_filter(Path(sys.executable), repository)
    git("add", ".")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "clean")
    saved = nbformat.read(executed, as_version=4)  # papermill's own bookkeeping, which Lab lacks
    saved.cells = [
        c for c in saved.cells if "injected-parameters" not in c.metadata.get("tags", [])
    ]
    saved.metadata.pop("papermill")
    for cell in saved.cells:
        cell.metadata.pop("papermill", None)
        if cell.metadata.get("tags") == []:
            del cell.metadata["tags"]
    assert any(cell.get("outputs") for cell in saved.cells)
    hook = SERVER_CONFIG["FileContentsManager"]["post_save_hook"]
    manager = FileContentsManager(root_dir=str(repository), post_save_hook=hook)
    manager.save({"type": "notebook", "format": "json", "content": saved}, f"notebooks/{path.name}")
    assert nbformat.read(tracked, as_version=4) == saved, "the outputs stay in the learner's file"
    assert git("status", "--porcelain") == ""
    assert git("diff") == ""
