"""The series as a whole: find the notebooks, read their quick-mode values, run them with papermill.

Used by ``make run`` / ``make quick`` (``python -m helpers.series``) and by the test harness, so
the notebook list and the quick-mode values have one definition.
"""

from __future__ import annotations

import argparse
import ast
import time
from pathlib import Path
from typing import Any

import nbformat

from helpers.results import record_result

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK_DIR = ROOT / "notebooks"
BUILD_DIR = ROOT / "build"
QUICK_MARK = "# quick:"
CELL_TIMEOUT_S = 900


def notebooks() -> list[Path]:
    """The numbered notebooks (NN_snake_case.ipynb), in series order."""
    return sorted(NOTEBOOK_DIR.glob("[0-9][0-9]_*.ipynb"))


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
    return time.perf_counter() - start


def export_html(executed: Path, html_dir: Path) -> Path:
    """Write an HTML copy of an executed notebook, figures embedded."""
    from nbconvert import HTMLExporter

    body, _ = HTMLExporter(embed_images=True).from_filename(str(executed))
    html_dir.mkdir(parents=True, exist_ok=True)
    target = html_dir / f"{executed.stem}.html"
    target.write_text(body, encoding="utf-8")
    return target


def main(argv: list[str] | None = None) -> None:
    """Run every notebook into build/, keep the executed copies and an HTML copy of each."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="use each notebook's quick values")
    parser.add_argument("only", nargs="*", help="run only these notebooks (e.g. 05 or 05_multi...)")
    args = parser.parse_args(argv)
    mode = "quick" if args.quick else "full"
    chosen = [
        p for p in notebooks() if not args.only or any(p.stem.startswith(o) for o in args.only)
    ]
    if not chosen:
        raise SystemExit(f"no notebook matches {args.only}; see notebooks/")
    for path in chosen:
        executed = BUILD_DIR / mode / path.name
        print(f"[{mode}] {path.name} ...", flush=True)
        seconds = run_notebook(path, executed, quick=args.quick)
        export_html(executed, BUILD_DIR / mode / "html")
        record_result(path.stem, model="whole_notebook", mode=mode, run_seconds=round(seconds, 1))
        print(f"[{mode}] {path.name} done in {seconds:.0f} s -> {executed}", flush=True)


if __name__ == "__main__":
    main()
