"""Navigation, tables of contents, run times and the HTML site, from notebooks/series.json.

``python -m helpers.navigation`` rewrites the prev / index / next cells of every notebook, the
index notebook's table, the README's table and the instructor guide's timing table;
``--timings`` first copies the latest measured run times from build/results.jsonl into the
list; ``--site DIR`` turns the HTML pages of executed notebooks into a linked site and checks it.
tests/test_navigation.py fails when a generated file is out of date.
"""

from __future__ import annotations

import argparse
import html
import json
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import nbformat

from helpers.results import read_results
from helpers.series import NOTEBOOK_DIR, ROOT

SERIES_FILE = NOTEBOOK_DIR / "series.json"
README = ROOT / "README.md"
GUIDE = ROOT / "docs" / "instructor_guide.md"
MARKERS = {
    "toc": ("<!-- toc:start (generated: python -m helpers.navigation) -->", "<!-- toc:end -->"),
    "timings": (
        "<!-- timings:start (generated: python -m helpers.navigation) -->",
        "<!-- timings:end -->",
    ),
    "results": (
        "<!-- results:start (generated: python -m helpers.navigation) -->",
        "<!-- results:end -->",
    ),
}
NAV_TAGS = ("nav-top", "nav-bottom")


def load_series() -> dict[str, Any]:
    return json.loads(SERIES_FILE.read_text(encoding="utf-8"))


def _label(entry: dict[str, Any]) -> str:
    return f"{entry['file'][:2]} {entry['short']}"


def nav_line(position: int, entries: list[dict[str, Any]]) -> str:
    """← previous · Index · **current** · next →, as markdown links between notebooks."""
    parts = []
    if position > 0:
        previous = entries[position - 1]
        parts.append(f"[← {_label(previous)}]({previous['file']})")
    if position > 1:
        parts.append(f"[Index]({entries[0]['file']})")
    parts.append(f"**{_label(entries[position])}**")
    if position + 1 < len(entries):
        following = entries[position + 1]
        parts.append(f"[{_label(following)} →]({following['file']})")
    return " · ".join(parts)


def format_seconds(seconds: float | None) -> str:
    if seconds is None:
        return "not yet measured"
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.0f} min"


def run_time(series: dict[str, Any], stem: str, mode: str) -> float | None:
    return series["run_seconds"].get(stem, {}).get(mode)


def toc_table(series: dict[str, Any], link_prefix: str = "") -> str:
    """The table of notebooks: number, link, what it teaches, measured quick / full run time."""
    rows = ["| # | notebook | you learn | quick / full run time |", "|---|---|---|---|"]
    for entry in series["notebooks"][1:]:
        stem = entry["file"].removesuffix(".ipynb")
        times = " / ".join(format_seconds(run_time(series, stem, m)) for m in ("quick", "full"))
        rows.append(
            f"| {entry['file'][:2]} | [{entry['short']}]({link_prefix}{entry['file']}) "
            f"| {entry['teaches']} | {times} |"
        )
    return "\n".join(rows)


def timings_table(series: dict[str, Any]) -> str:
    """Quick and full run time per notebook, in seconds, with the totals."""
    rows = ["| notebook | quick mode | full mode |", "|---|---|---|"]
    totals = {"quick": 0.0, "full": 0.0}
    for entry in series["notebooks"]:
        stem = entry["file"].removesuffix(".ipynb")
        cells = []
        for mode in ("quick", "full"):
            seconds = run_time(series, stem, mode)
            totals[mode] += seconds or 0.0
            cells.append(format_seconds(seconds))
        rows.append(f"| {_label(entry)} | {cells[0]} | {cells[1]} |")
    quick, full = (format_seconds(totals[mode]) for mode in ("quick", "full"))
    rows.append(f"| **whole series** | {quick} | {full} |")
    return "\n".join(rows)


def _tagged(cell, tag: str) -> bool:
    return tag in cell.get("metadata", {}).get("tags", [])


def render_notebook(path: Path, position: int, series: dict[str, Any]) -> str:
    """The notebook's text with its navigation cells (and the index's table) regenerated."""
    notebook = nbformat.read(path, as_version=4)
    line = nav_line(position, series["notebooks"])
    times = [
        f"{m} mode {format_seconds(run_time(series, path.stem, m))}" for m in ("quick", "full")
    ]
    header = f"{line}\n\n*Run time on 2 CPU cores, measured: {' · '.join(times)}.*"
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
    notebook.cells = [top, *cells, bottom]
    return nbformat.writes(notebook) + "\n"


def replace_between(text: str, kind: str, body: str) -> str:
    start, end = MARKERS[kind]
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.S)
    if not pattern.search(text):
        raise ValueError(f"markers for {kind!r} not found")
    return pattern.sub(lambda _: f"{start}\n{body}\n{end}", text)


def expected_files() -> dict[Path, str]:
    """Every generated file with the text it should have now."""
    series = load_series()
    files = {
        NOTEBOOK_DIR / entry["file"]: render_notebook(NOTEBOOK_DIR / entry["file"], i, series)
        for i, entry in enumerate(series["notebooks"])
    }
    readme = replace_between(
        README.read_text(encoding="utf-8"), "toc", toc_table(series, "notebooks/")
    )
    files[README] = replace_between(readme, "results", results_table(series))
    files[GUIDE] = replace_between(
        GUIDE.read_text(encoding="utf-8"), "timings", timings_table(series)
    )
    return files


def stale() -> list[str]:
    """The generated files that differ from what the list says they should be."""
    return [
        str(path.relative_to(ROOT))
        for path, text in expected_files().items()
        if path.read_text(encoding="utf-8") != text
    ]


RESULT_FIELDS = ("macro_f1", "micro_f1", "related_macro_f1", "seed_total", "train_seconds",
                 "latency_ms", "messages_per_second")  # fmt: skip


def update_timings() -> None:
    """Copy into series.json, from build/results.jsonl, the latest run time per notebook and
    mode, and the latest full-mode test result (or speed) per notebook and model."""
    series = load_series()
    results = series.setdefault("results", {})
    for row in read_results():
        if row.get("model") == "whole_notebook":
            series["run_seconds"].setdefault(row["notebook"], {})[row["mode"]] = row["run_seconds"]
        elif row.get("mode") == "full" and row.get("split", "test") == "test":
            kept = {field: row[field] for field in RESULT_FIELDS if field in row}
            results[f"{row['notebook']} · {row['model']}"] = kept
    text = json.dumps(series, indent=2, ensure_ascii=False) + "\n"
    SERIES_FILE.write_text(text, encoding="utf-8")


def results_table(series: dict[str, Any]) -> str:
    """The latest full-mode results on the official test split, as the notebooks recorded them."""
    results = series.get("results", {})
    if not results:
        return "No full run recorded yet: run `make run`, then `make timings`."
    fields = [f for f in RESULT_FIELDS if any(f in row for row in results.values())]
    rows = ["| notebook · model | " + " | ".join(fields) + " |", "|---" * (len(fields) + 1) + "|"]
    for name, row in results.items():
        rows.append(f"| {name} | " + " | ".join(str(row.get(f, "")) for f in fields) + " |")
    return "\n".join(rows)


def build_site(html_dir: Path) -> list[str]:
    """Link the notebook pages to each other, add index.html, return what does not resolve."""
    series = load_series()
    for page in html_dir.glob("[0-9][0-9]_*.html"):
        body = page.read_text(encoding="utf-8")
        page.write_text(
            re.sub(r'href="(\d\d_[a-z0-9_]+)\.ipynb', r'href="\1.html', body), encoding="utf-8"
        )
    rows = "".join(
        f'<li><a href="{entry["file"].replace(".ipynb", ".html")}">{html.escape(_label(entry))}</a>'
        f" — {html.escape(entry['teaches'])}</li>"
        for entry in series["notebooks"]
    )
    (html_dir / "index.html").write_text(
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(series['title'])}"
        f"</title></head><body><h1>{html.escape(series['title'])}</h1><ol start='0'>{rows}</ol>"
        "</body></html>",
        encoding="utf-8",
    )
    return check_site(html_dir)


class _References(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.images: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "a" and values.get("href"):
            self.links.append(values["href"])
        if tag == "img":
            self.images.append(values.get("src") or "")


def check_site(html_dir: Path) -> list[str]:
    """Problems in a built site: missing pages, local links to nothing, empty or missing images."""
    series = load_series()
    problems = [
        f"missing page {entry['file'].replace('.ipynb', '.html')}"
        for entry in series["notebooks"]
        if not (html_dir / entry["file"].replace(".ipynb", ".html")).is_file()
    ]
    for page in sorted(html_dir.glob("*.html")):
        references = _References()
        references.feed(page.read_text(encoding="utf-8"))
        for link in references.links:
            target = link.split("#", 1)[0]
            if target and not re.match(r"[a-z]+:", target) and not (html_dir / target).is_file():
                problems.append(f"{page.name}: link to missing {link}")
        for source in references.images:
            embedded = source.startswith("data:image/") and len(source) > 200
            if not embedded and not (source and (html_dir / source).is_file()):
                problems.append(f"{page.name}: image {source[:40]!r} does not resolve")
    return problems


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timings", action="store_true", help="first copy measured run times")
    parser.add_argument("--site", type=Path, help="link and check the HTML pages in this folder")
    args = parser.parse_args(argv)
    if args.site:
        problems = build_site(args.site)
        if problems:
            raise SystemExit("the HTML site does not resolve:\n" + "\n".join(problems))
        print(f"site ready: {args.site / 'index.html'}")
        return
    if args.timings:
        update_timings()
    for path, text in expected_files().items():
        if path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
            print(f"updated {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
