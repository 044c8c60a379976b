"""Run every notebook of the series through papermill in its documented quick mode."""

import json
from pathlib import Path

import nbformat
import pytest
from conftest import execute

from series_tools import notebooks


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
    output = execute(path, folder / path.name)
    assert "Keras backend: jax" in output.read_text()
    if path.name.startswith("05"):  # the results record says which backend trained the model
        assert [row["backend"] for row in recorded_rows(output)] == ["jax"]
