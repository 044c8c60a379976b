"""Execute notebooks with papermill, in full mode or with the quick values beside each knob."""

from __future__ import annotations

import ast
import time
from pathlib import Path
from typing import Any

import nbformat

from series_tools import BUILD_DIR, notebooks
from series_tools.results import record_run_time

QUICK_MARK = "# quick:"
CELL_TIMEOUT_S = 900


def parameters_cells(path: Path) -> list[Any]:
    """The cells tagged ``parameters`` (a well-formed notebook has exactly one)."""
    notebook = nbformat.read(path, as_version=4)
    return [c for c in notebook.cells if "parameters" in c.get("metadata", {}).get("tags", [])]


def quick_parameters(path: Path) -> dict[str, Any]:
    """Quick-mode values documented beside each knob, e.g. ``EPOCHS = 15  # quick: 1``."""
    (cell,) = parameters_cells(path)
    quick = {}
    for line in cell.source.splitlines():
        if QUICK_MARK in line:
            name = line.split("=", 1)[0].strip()
            quick[name] = ast.literal_eval(line.split(QUICK_MARK, 1)[1].strip())
    return quick


def run_notebook(path: Path, output: Path, quick: bool) -> float:
    """Execute one notebook with papermill (quick or full mode); return its wall time in seconds."""
    import papermill

    output.parent.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    papermill.execute_notebook(
        str(path),
        str(output),
        parameters=quick_parameters(path) if quick else {},
        kernel_name="python3",
        cwd=str(path.parent),
        execution_timeout=CELL_TIMEOUT_S,
        progress_bar=False,
    )
    seconds = time.perf_counter() - start
    tidy_streams(output)
    return seconds


def tidy_streams(path: Path) -> None:
    """Merge each cell's consecutive stream outputs and apply carriage returns, as a live
    notebook shows them: a progress bar keeps its last state instead of one line per update."""
    from nbconvert.preprocessors import CoalesceStreamsPreprocessor

    notebook = nbformat.read(path, as_version=4)
    CoalesceStreamsPreprocessor().preprocess(notebook, {})
    for cell in notebook.cells:  # a bar's closing newline is left alone: drop blank streams
        if "outputs" in cell:
            cell.outputs = [o for o in cell.outputs if o.output_type != "stream" or o.text.strip()]
    nbformat.write(notebook, path)


def executed_path(path: Path, mode: str) -> Path:
    """Where ``run_series`` keeps the executed copy of a notebook: build/<mode>/<name>."""
    return BUILD_DIR / mode / path.name


def run_series(mode: str, only: list[str] | None = None) -> None:
    """Run the series (or the notebooks whose names start with ``only``), recording run times."""
    chosen = [p for p in notebooks() if not only or any(p.stem.startswith(o) for o in only)]
    if not chosen:
        raise SystemExit(f"no notebook matches {only}; see notebooks/series.json")
    for path in chosen:
        print(f"[{mode}] {path.name} ...", flush=True)
        seconds = run_notebook(path, executed_path(path, mode), quick=mode == "quick")
        record_run_time(path.stem, mode, seconds)
        print(f"[{mode}] {path.name} done in {seconds:.0f} s", flush=True)
