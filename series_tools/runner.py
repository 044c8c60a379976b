"""Execute notebooks with papermill, in full mode or with the quick values beside each knob.

Full mode sets no time limit on a cell: a training cell on a slow laptop may legitimately run
for an hour, and the notebooks show their own progress. Quick mode (the tests) keeps a generous
limit, so a hang fails instead of blocking CI. A notebook that fails leaves its executed copy,
up to the failing cell, where the learner can open it, and the runner says how to resume.
"""

from __future__ import annotations

import ast
import contextlib
import os
import re
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
from jupyter_client.manager import AsyncKernelManager
from jupyter_core.paths import jupyter_runtime_dir

from series_tools import BUILD_DIR, notebooks
from series_tools.results import RECORD_ENV, RESULTS_PATH, record_run_time

QUICK_MARK = "# quick:"
QUICK_CELL_TIMEOUT_S = 1800  # quick mode only; full mode has no per-cell limit
MODELS_ENV = "SERIES_MODELS_DIR"  # where helpers.inference keeps the saved models
XLA_QUICK = "--xla_backend_optimization_level=0"  # XLA compiles without LLVM's optimisations


def quick_compilation() -> dict[str, str]:
    """Quick mode runs a few steps per model, so compiling dominates: XLA (JAX's compiler)
    skips LLVM's optimisations and compiles about twice as fast (measured: 13.6 s against
    5.9 s for notebook 10's model). Full mode keeps the defaults."""
    return {"XLA_FLAGS": f"{os.environ.get('XLA_FLAGS', '')} {XLA_QUICK}".strip()}


class NotebookFailed(RuntimeError):
    """A notebook stopped with an error; the message names it, the cell and how to go on."""


class LocalKernelManager(AsyncKernelManager):
    """A kernel reached over local sockets (IPC), not TCP: nothing to encrypt, nothing to warn.
    Each kernel gets its own socket names, so kernels started side by side never collide."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.transport = "ipc"
        folder = Path(jupyter_runtime_dir())
        folder.mkdir(parents=True, exist_ok=True)
        self.ip = str(folder / f"kernel-{uuid.uuid4().hex[:12]}-ipc")


def parameters_cells(path: Path) -> list[Any]:
    """The cells tagged ``parameters`` (a well-formed notebook has exactly one)."""
    notebook = nbformat.read(path, as_version=4)
    return [c for c in notebook.cells if "parameters" in c.get("metadata", {}).get("tags", [])]


def parameter_names(path: Path) -> list[str]:
    """The UPPER_CASE knobs of a notebook's parameters cell, in order."""
    (cell,) = parameters_cells(path)
    return re.findall(r"^([A-Z][A-Z0-9_]*)\s*=", cell.source, flags=re.M)


def quick_parameters(path: Path) -> dict[str, Any]:
    """Quick-mode values documented beside each knob, e.g. ``EPOCHS = 15  # quick: 1``."""
    (cell,) = parameters_cells(path)
    quick = {}
    for line in cell.source.splitlines():
        if QUICK_MARK in line:
            name = line.split("=", 1)[0].strip()
            quick[name] = ast.literal_eval(line.split(QUICK_MARK, 1)[1].strip())
    return quick


@contextlib.contextmanager
def environment(**variables: str | None) -> Iterator[None]:
    """Set (or, for None, unset) environment variables for the kernels started inside the
    block (they inherit them)."""
    saved = {name: os.environ.get(name) for name in variables}
    for name, value in variables.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def run_notebook(
    path: Path,
    output: Path,
    quick: bool,
    seed: int | None = None,
    results: Path | None = RESULTS_PATH,
) -> float:
    """Execute one notebook with papermill (quick or full mode, optionally another SEED) and
    record its results in ``results``; return its wall time in seconds. With ``results=None``
    the kernel runs as in JupyterLab: it records nothing and writes no published artefact."""
    import papermill

    parameters = quick_parameters(path) if quick else {}
    if seed is not None and "SEED" in parameter_names(path):
        parameters["SEED"] = seed
    output.parent.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    try:
        compilation = quick_compilation() if quick else {}
        with environment(**{RECORD_ENV: str(results) if results else None}, **compilation):
            papermill.execute_notebook(
                str(path),
                str(output),
                parameters=parameters,
                kernel_name="python3",
                cwd=str(path.parent),
                execution_timeout=QUICK_CELL_TIMEOUT_S if quick else None,
                progress_bar=sys.stderr.isatty(),
                kernel_manager_class=LocalKernelManager,
            )
    finally:
        if output.is_file():  # also the partial copy of a failed run, for the learner to open
            tidy_streams(output)
    return time.perf_counter() - start


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


def output_dir(mode: str, seed: int | None = None) -> Path:
    """build/<mode> for the series' own runs; build/<mode>-seed<N> for a run with another seed,
    which keeps its models, export and results record there too."""
    return BUILD_DIR / (mode if seed is None else f"{mode}-seed{seed}")


def executed_path(path: Path, mode: str, seed: int | None = None) -> Path:
    """Where ``run_series`` keeps the executed copy of a notebook."""
    return output_dir(mode, seed) / path.name


def failure_message(
    path: Path,
    output: Path,
    error: Exception,
    rest: list[Path],
    mode: str = "full",
    seed: int | None = None,
) -> str:
    """Which notebook and cell failed, where its partial copy is, and how to resume."""
    cell = getattr(error, "exec_count", None)
    what = f"{getattr(error, 'ename', type(error).__name__)}: {getattr(error, 'evalue', error)}"
    where = f"in cell [{cell}]" if cell is not None else "before it finished"
    command = "run" if mode == "full" else mode
    seeded = f" --seed {seed}" if seed is not None else ""
    resume = f"{command}{seeded} " + " ".join(p.name[:2] for p in [path, *rest])
    return (
        f"\n{path.name} failed {where}: {str(what).strip()[:500]}\n"
        f"Its executed copy, up to the failing cell, is {output} (open it to see the cell and "
        f"its error). Once fixed, resume with: python -m series_tools {resume}"
    )


def run_series(mode: str, only: list[str] | None = None, seed: int | None = None) -> Path:
    """Run the series (or the notebooks whose names start with ``only``) and record run times;
    return the folder of the executed notebooks. A failure stops the run with a message."""
    chosen = [p for p in notebooks() if not only or any(p.stem.startswith(o) for o in only)]
    if not chosen:
        raise SystemExit(f"no notebook matches {only}; see notebooks/series.json")
    folder = output_dir(mode, seed)
    results = RESULTS_PATH if seed is None else folder / RESULTS_PATH.name
    models = {} if seed is None else {MODELS_ENV: str(folder / "models")}
    with environment(**models):
        for position, path in enumerate(chosen):
            output = executed_path(path, mode, seed)
            label = f"[{mode}{'' if seed is None else f', seed {seed}'}]"
            print(f"{label} {path.name} ...", flush=True)
            try:
                seconds = run_notebook(path, output, mode == "quick", seed, results)
            except Exception as error:  # papermill's execution error, or a cell timeout
                message = failure_message(path, output, error, chosen[position + 1 :], mode, seed)
                raise NotebookFailed(message) from None
            record_run_time(path.stem, mode, seconds, path=results)
            print(f"{label} {path.name} done in {seconds:.0f} s", flush=True)
    return folder
