"""A static site of the executed series, built by Jupyter Book 1.x without re-running anything.

:func:`build` copies the executed notebooks into ``<out>/book`` beside a generated ``_toc.yml``
(series order, the index notebook as the home page), ``_config.yml`` and a stylesheet, renders
them into ``<out>/site`` with Sphinx's full-text search, and returns every warning and every
page, link or image that does not resolve. :func:`serve` serves a built site on localhost, where
the search can fetch the pages it quotes (a browser forbids that to a page opened from disk).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import yaml

from series_tools import load_series, notebooks
from series_tools.navigation import label, render_notebook

EXTERNAL = re.compile(r"^([a-z][a-z0-9+.-]*:|//)", re.I)
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def book_config(series: dict[str, Any]) -> dict[str, Any]:
    """Jupyter Book's _config.yml: render the stored outputs, never execute, no online extras."""
    return {
        "title": series["title"],
        "author": "",
        "copyright": "",
        "only_build_toc_files": True,
        "execute": {"execute_notebooks": "off"},
        "html": {"home_page_in_navbar": True, "use_multitoc_numbering": False},
        "sphinx": {
            "extra_extensions": ["sphinx-mathjax-offline"],  # formulas render without a network
            "recursive_update": True,
            "config": {
                "html_show_copyright": False,
                "html_show_sphinx": False,
                # one search field (PyData 0.17 adds a second, in a header Book Theme hides not),
                # and the notebooks' own navigation lines instead of a second prev / next footer
                "html_theme_options": {"navbar_persistent": [], "show_prev_next": False},
            },
        },
    }


def book_toc(series: dict[str, Any]) -> dict[str, Any]:
    """Jupyter Book's _toc.yml: the index notebook as the home page, then the others in order."""
    first, *rest = series["notebooks"]
    chapters = [
        {"file": entry["file"].removesuffix(".ipynb"), "title": label(entry)} for entry in rest
    ]
    return {"format": "jb-book", "root": first["file"].removesuffix(".ipynb"), "chapters": chapters}


STYLE = """\
/* The series' code and logs are up to 100 characters wide: a wider column, and long output
   lines wrap instead of hiding behind a sideways scroll. */
.bd-page-width { max-width: 100rem; }
.bd-main .bd-content .bd-article-container { max-width: 100%; }
div.cell_output pre, div.output pre { white-space: pre-wrap; overflow-wrap: anywhere; }
div.cell_output table { font-size: 0.85em; }
"""


def write_book(executed: list[Path], book: Path) -> None:
    """A fresh Jupyter Book source folder: the executed notebooks, the settings, a stylesheet."""
    series = load_series()
    shutil.rmtree(book, ignore_errors=True)
    (book / "_static").mkdir(parents=True)
    position = {path.name: i for i, path in enumerate(notebooks(series))}
    for path in executed:  # outputs as executed; run times in the header as measured since
        rendered = render_notebook(path, position[path.name], series)
        (book / path.name).write_text(rendered, encoding="utf-8")
    for name, settings in (("_config.yml", book_config(series)), ("_toc.yml", book_toc(series))):
        (book / name).write_text(yaml.safe_dump(settings, sort_keys=False), encoding="utf-8")
    (book / "_static" / "series.css").write_text(STYLE, encoding="utf-8")


def _jupyter_book() -> str:
    """The ``jupyter-book`` command installed beside this Python (bin/ or Scripts\\)."""
    found = shutil.which("jupyter-book", path=str(Path(sys.executable).parent))
    if not found:
        raise SystemExit("jupyter-book is missing: run `python -m series_tools setup`")
    return found


def build(executed: list[Path], out: Path, mode: str) -> list[str]:
    """Render executed notebooks into ``out/site``; return warnings and what does not resolve."""
    missing = [path.name for path in executed if not path.is_file()]
    if missing:
        return [f"not executed in {mode} mode yet: {', '.join(missing)}"]
    book, site = out / "book", out / "site"
    write_book(executed, book)
    command = [_jupyter_book(), "build", str(book), "--path-output", str(book), "--quiet"]
    done = subprocess.run(command, capture_output=True, text=True)
    problems = [ANSI.sub("", line) for line in done.stderr.splitlines() if line.strip()]
    if done.returncode:
        return [*problems, f"jupyter-book failed:\n{done.stdout[-2000:]}"]
    shutil.rmtree(site, ignore_errors=True)
    (book / "_build" / "html").rename(site)
    return problems + check_site(site)


class _References(HTMLParser):
    """The local targets a page points at: links, images, stylesheets and scripts."""

    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.images: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag in ("a", "link"):
            self.links.append(values.get("href") or "")
        if tag == "script":
            self.links.append(values.get("src") or "")
        if tag == "img":
            self.images.append(values.get("src") or "")


def _resolves(page: Path, target: str) -> bool:
    local = re.split(r"[?#]", target, maxsplit=1)[0]
    return not local or bool(EXTERNAL.match(local)) or (page.parent / local).is_file()


def check_site(site: Path) -> list[str]:
    """Problems in a built site: missing pages or search, local links or images to nothing."""
    expected = ["index.html", "search.html", "searchindex.js"]
    expected += [path.with_suffix(".html").name for path in notebooks()]
    problems = [f"missing {name}" for name in expected if not (site / name).is_file()]
    for page in sorted(site.glob("*.html")):
        references = _References()
        references.feed(page.read_text(encoding="utf-8"))
        problems += [
            f"{page.name}: link to missing {link}"
            for link in references.links
            if not _resolves(page, link)
        ]
        problems += [
            f"{page.name}: image {source[:40]!r} does not resolve"
            for source in references.images
            if not (source and _resolves(page, source))
        ]
    return problems


def serve(site: Path, port: int = 8000) -> None:
    """Serve a built site at http://127.0.0.1:PORT/ until Ctrl+C."""
    import functools
    import http.server

    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(site))
    with http.server.ThreadingHTTPServer(("127.0.0.1", port), handler) as server:
        print(f"serving {site} at http://127.0.0.1:{port}/ (Ctrl+C stops)", flush=True)
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            print("stopped")
