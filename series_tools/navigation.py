"""Navigation cells, tables of contents, run times and results tables, from notebooks/series.json.

:func:`refresh` copies the latest measured run times and full-mode test results from
build/results.jsonl into series.json, then rewrites every generated part: the prev / index / next
cells of each notebook, the index notebook's table, the README's tables and the instructor
guide's timings. tests/test_navigation.py fails when a generated part is out of date.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import nbformat

from series_tools import MODES, ROOT, SERIES_FILE, load_series, notebooks
from series_tools.results import latest_run_times, latest_test_results, read_results

README = ROOT / "README.md"
GUIDE = ROOT / "docs" / "instructor_guide.md"
NAV_TAGS = ("nav-top", "nav-bottom")
NO_RESULTS = "No full run recorded yet: run `make run`."
RESULTS_HEADING = (
    "## Results of the latest full run\n\nEach notebook's last table, on the official test "
    "split (`make run` records them; a notebook run by hand records nothing).\n\n"
)
SLOWER = "A slower machine may need twice as long or more; in full mode nothing stops a long cell."
# The results tables' columns: (recorded field, column title, decimals; None: as recorded)
QUALITY = (
    ("macro_f1", "macro F1", 3),
    ("micro_f1", "micro F1", 3),
    ("related_macro_f1", "`related` macro F1", 3),
    ("blog_total", "blog total", 2),
)
SPEED = (
    ("train_seconds", "training (s)", 0),
    ("samples_per_second", "training samples/s", 0),
    ("backend", "backend", None),
    ("messages_per_second", "served messages/s", 0),
    ("latency_ms", "one message (ms)", 1),
)
MODELS = {  # what each recorded model is ("07:bilstm": in notebook 07), for the results tables
    "bilstm": "the BiLSTM with 35 + 1 heads (05), every threshold 0.5",
    "07:bilstm": "05's BiLSTM with the decision rules 07 chose for it on validation",
    "tfidf_logreg": "the baseline: TF-IDF + logistic regressions",
    "ensemble": "BiLSTM and baseline averaged, the weight chosen on validation",
    "encoder_heads": "the frozen pretrained encoder under 36 heads",
    "final_blend": "the frozen encoder's heads blended with the baseline",
    "finetuned_heads": "the fine-tuned encoder (09) under 36 heads",
    "finetuned_blend": "the fine-tuned heads blended with the baseline",
    "11:final_blend": "the final model (chosen on validation in 08 or 09), in Keras",
    "11:onnx_fp32": "the final model on ONNX Runtime, 32-bit floats",
    "11:onnx_int8": "the final model on ONNX Runtime, int8 weights",
}


def label(entry: dict[str, Any]) -> str:
    """``01 Multi-label vs multiclass``: the number and the short name of a listed notebook."""
    return f"{entry['file'][:2]} {entry['short']}"


def nav_line(position: int, entries: list[dict[str, Any]]) -> str:
    """← previous · Index · **current** · next →, as markdown links between notebooks."""
    parts = []
    if position > 0:
        previous = entries[position - 1]
        parts.append(f"[← {label(previous)}]({previous['file']})")
    if position > 1:
        parts.append(f"[Index]({entries[0]['file']})")
    parts.append(f"**{label(entries[position])}**")
    if position + 1 < len(entries):
        following = entries[position + 1]
        parts.append(f"[{label(following)} →]({following['file']})")
    return " · ".join(parts)


def format_seconds(seconds: float | None) -> str:
    if seconds is None:
        return "not yet measured"
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.0f} min"


def run_time(series: dict[str, Any], stem: str, mode: str) -> float | None:
    return series.get("run_seconds", {}).get(stem, {}).get(mode)


def toc_table(series: dict[str, Any], link_prefix: str = "") -> str:
    """The table of notebooks: number, link, what it teaches, measured quick / full run time."""
    rows = ["| # | notebook | you learn | quick / full run time |", "|---|---|---|---|"]
    for entry in series["notebooks"][1:]:
        stem = entry["file"].removesuffix(".ipynb")
        times = " / ".join(format_seconds(run_time(series, stem, m)) for m in MODES)
        rows.append(
            f"| {entry['file'][:2]} | [{entry['short']}]({link_prefix}{entry['file']}) "
            f"| {entry['teaches']} | {times} |"
        )
    return "\n".join(rows)


def timings_table(series: dict[str, Any]) -> str:
    """Quick and full run time per notebook, with the totals."""
    rows = ["| notebook | quick mode | full mode |", "|---|---|---|"]
    totals = dict.fromkeys(MODES, 0.0)
    for entry in series["notebooks"]:
        stem = entry["file"].removesuffix(".ipynb")
        cells = []
        for mode in MODES:
            seconds = run_time(series, stem, mode)
            totals[mode] += seconds or 0.0
            cells.append(format_seconds(seconds))
        rows.append(f"| {label(entry)} | {' | '.join(cells)} |")
    rows.append(f"| **whole series** | {' | '.join(format_seconds(totals[m]) for m in MODES)} |")
    return "\n".join(rows)


def _scores(metrics: dict[str, Any]) -> tuple:
    return tuple(metrics.get(field) for field, _, _ in QUALITY)


def _cell(value: Any, digits: int | None) -> str:
    if value is None:
        return ""
    return f"{value:,.{digits}f}" if digits is not None else str(value)


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in rows])


def results_table(results: dict[str, dict[str, dict[str, Any]]], empty: str) -> str:
    """Two tables from the test-split results: quality per model (a model whose scores equal
    another's in the same notebook says so), then training and serving speed per model."""
    quality, speed = [], []
    for notebook, models in results.items():
        seen: dict[tuple, str] = {}
        for model, metrics in models.items():
            name = f"{notebook[:2]} · {model}"
            what = MODELS.get(f"{notebook[:2]}:{model}", MODELS.get(model, ""))
            if any(metrics.get(field) is not None for field, _, _ in QUALITY):
                same = seen.setdefault(_scores(metrics), model)
                if same != model:
                    what += f" (the same scores as {same} here)"
                cells = [_cell(metrics.get(field), digits) for field, _, digits in QUALITY]
                quality.append([name, what, *cells])
            if any(metrics.get(field) is not None for field, _, _ in SPEED):
                speed.append([name, *(_cell(metrics.get(f), d) for f, _, d in SPEED)])
    if not quality and not speed:
        return empty
    parts = []
    if quality:
        header = ["# · model", "what it is", *(title for _, title, _ in QUALITY)]
        parts.append("**Quality on the test split**\n\n" + _table(header, quality))
    if speed:
        header = ["# · model", *(title for _, title, _ in SPEED)]
        parts.append("**Speed** (2-core CPU)\n\n" + _table(header, speed))
    return "\n\n".join(parts)


def _tagged(cell: Any, tag: str) -> bool:
    return tag in cell.get("metadata", {}).get("tags", [])


def render_notebook(path: Path, position: int, series: dict[str, Any]) -> str:
    """The notebook's text with its navigation cells (and the index's table) regenerated."""
    notebook = nbformat.read(path, as_version=4)
    line = nav_line(position, series["notebooks"])
    times = [f"{m} mode {format_seconds(run_time(series, path.stem, m))}" for m in MODES]
    header = f"{line}\n\n*Run time measured on a 2-core CPU machine: {' · '.join(times)}. {SLOWER}*"
    cells = [c for c in notebook.cells if not any(_tagged(c, tag) for tag in NAV_TAGS)]
    top = nbformat.v4.new_markdown_cell(
        header if position else line, metadata={"tags": ["nav-top"]}, id=f"{path.name[:2]}-nav-top"
    )
    bottom = nbformat.v4.new_markdown_cell(
        f"---\n{line}", metadata={"tags": ["nav-bottom"]}, id=f"{path.name[:2]}-nav-bottom"
    )
    for cell in cells:
        if _tagged(cell, "toc"):
            cell.source = "## The notebooks\n\n" + toc_table(series)
        if _tagged(cell, "results"):
            cell.source = RESULTS_HEADING + results_table(series.get("results", {}), NO_RESULTS)
    notebook.cells = [top, *cells, bottom]
    return nbformat.writes(notebook) + "\n"


def replace_between(text: str, kind: str, body: str) -> str:
    """Replace what lies between the lines ``<!-- kind:start ... -->`` and ``<!-- kind:end -->``."""
    pattern = re.compile(rf"(<!-- {kind}:start[^>]*-->\n).*?(<!-- {kind}:end -->)", re.S)
    if not pattern.search(text):
        raise ValueError(f"markers for {kind!r} not found")
    return pattern.sub(lambda found: f"{found[1]}{body}\n{found[2]}", text)


def expected_files(series: dict[str, Any]) -> dict[Path, str]:
    """Every generated file with the text it should have for this series listing."""
    files = {path: render_notebook(path, i, series) for i, path in enumerate(notebooks(series))}
    readme = README.read_text(encoding="utf-8")
    readme = replace_between(readme, "toc", toc_table(series, "notebooks/"))
    files[README] = replace_between(
        readme, "results", results_table(series.get("results", {}), NO_RESULTS)
    )
    guide = GUIDE.read_text(encoding="utf-8")
    files[GUIDE] = replace_between(guide, "timings", timings_table(series))
    return files


def stale() -> list[str]:
    """The generated files that differ from what series.json says they should be."""
    return [
        str(path.relative_to(ROOT))
        for path, text in expected_files(load_series()).items()
        if path.read_text(encoding="utf-8") != text
    ]


def with_measurements(series: dict[str, Any], rows: list[dict[str, Any]]) -> dict[str, Any]:
    """series.json updated with the latest run times and full-mode test results in ``rows``;
    notebooks no longer listed are dropped."""
    listed = [path.stem for path in notebooks(series)]
    times = {stem: dict(modes) for stem, modes in series.get("run_seconds", {}).items()}
    for stem, measured in latest_run_times(rows).items():
        times.setdefault(stem, {}).update(measured)
    results = {**series.get("results", {}), **latest_test_results(rows, "full")}
    return {
        **series,
        "run_seconds": {stem: times[stem] for stem in listed if stem in times},
        "results": {stem: results[stem] for stem in listed if stem in results},
    }


def refresh() -> None:
    """Copy the measurements into series.json, then rewrite every generated part that changed."""
    series = with_measurements(load_series(), read_results())
    files = {SERIES_FILE: json.dumps(series, indent=2, ensure_ascii=False) + "\n"}
    files.update(expected_files(series))
    for path, text in files.items():
        if path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
            print(f"updated {path.relative_to(ROOT)}")
