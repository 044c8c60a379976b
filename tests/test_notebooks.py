"""Run every numbered notebook through papermill in its documented quick mode."""

import json
from pathlib import Path

import nbformat
import pytest
from conftest import execute

from helpers import series


def printed_metrics(executed_notebook: Path) -> dict:
    """The JSON printed by the cell tagged ``test-metrics``."""
    notebook = nbformat.read(executed_notebook, as_version=4)
    (cell,) = [c for c in notebook.cells if "test-metrics" in c.metadata.get("tags", [])]
    text = "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")
    return json.loads(text)


@pytest.mark.parametrize("path", series.notebooks(), ids=lambda p: p.stem)
def test_notebook_runs_in_quick_mode(path, executed):
    executed(path)


def test_training_is_reproducible_on_cpu(executed, tmp_path):
    """Two quick runs of notebook 05 with the same seed print identical test metrics."""
    path = series.NOTEBOOK_DIR / "05_multi_output_lstm.ipynb"
    first = printed_metrics(executed(path))
    second = printed_metrics(execute(path, tmp_path / "second_run.ipynb"))
    assert first == second
    assert {"macro_f1", "micro_f1", "related_macro_f1", "mean_test_probability"} <= set(first)
