"""Run every notebook of the series through papermill in its documented quick mode."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from conftest import execute
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


# On JAX: the model notebooks with backend-specific paths (compiled training, KerasHub,
# per-shape compiles, export from another backend); 06 and 07 use the same Keras API as 05
# and run on TensorFlow above, which keeps `make test` within its 10-minute budget.
MODEL_NOTEBOOKS = [path for path in notebooks() if path.name[:2] in ("05", "08", "09")]


@pytest.mark.xdist_group("tensorflow")  # one worker runs them in order: each uses the last's
@pytest.mark.parametrize("path", notebooks(), ids=lambda p: p.stem)
def test_notebook_runs_in_quick_mode(path, executed):
    executed(path)


@pytest.mark.xdist_group("jax")  # the other worker, with its own models folder
@pytest.mark.parametrize("path", MODEL_NOTEBOOKS, ids=lambda p: p.stem)
def test_model_notebook_runs_on_jax(path, monkeypatch, tmp_path_factory):
    """The model notebooks again with KERAS_BACKEND=jax, the same asserts included."""
    folder = tmp_path_factory.getbasetemp() / "jax"
    monkeypatch.setenv("KERAS_BACKEND", "jax")
    monkeypatch.setenv("SERIES_MODELS_DIR", str(folder / "models"))
    as_in_lab = path.name.startswith("09")  # the last one runs as a learner's JupyterLab does
    published = RESULTS_PATH.read_bytes() if RESULTS_PATH.is_file() else None
    output = execute(path, folder / path.name, as_in_lab=as_in_lab)
    assert "Keras backend: jax" in output.read_text()
    if path.name.startswith("05"):  # the results record says which backend trained the model
        assert [row["backend"] for row in recorded_rows(output)] == ["jax"]
    if as_in_lab:
        assert "Not recorded" in output.read_text()
        assert (RESULTS_PATH.read_bytes() if RESULTS_PATH.is_file() else None) == published
        assert not (folder / "export-quick").exists(), "a learner's run replaced the export"
        assert (folder / "lab" / "export-quick").is_dir()
        assert_saving_it_changes_nothing_git_sees(path, output, folder / "repository")


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
