"""Run every notebook of the series through papermill in its documented quick mode."""

import json
from pathlib import Path

import nbformat
import pytest
from conftest import execute

from series_tools import NOTEBOOK_DIR, load_series, notebooks

TIMING = ("seconds", "per_second", "latency_ms", "timestamp")


def recorded_rows(executed_notebook: Path) -> list[dict]:
    """The rows the cell tagged ``record-results`` printed (one JSON object per line)."""
    notebook = nbformat.read(executed_notebook, as_version=4)
    (cell,) = [c for c in notebook.cells if "record-results" in c.metadata.get("tags", [])]
    text = "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def without_timings(row: dict) -> dict:
    return {k: v for k, v in row.items() if not any(mark in k for mark in TIMING)}


MODEL_NOTEBOOKS = [path for path in notebooks() if path.name >= "05"]


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


@pytest.mark.xdist_group("tensorflow")
def test_training_is_reproducible_on_cpu(executed, tmp_path):
    """Two quick runs of notebook 05 with the same seed record identical results."""
    (entry,) = [e for e in load_series()["notebooks"] if e["file"].startswith("05_")]
    path = NOTEBOOK_DIR / entry["file"]
    first = [without_timings(row) for row in recorded_rows(executed(path))]
    second = [without_timings(row) for row in recorded_rows(execute(path, tmp_path / path.name))]
    assert first == second
    assert first and all({"model", "split"} <= set(row) for row in first)
    assert any("macro_f1" in row and row["split"] == "test" for row in first)
