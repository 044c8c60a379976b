"""The Jupyter Book site of the executed series: pages, links and images resolve; search works."""

import pytest
from conftest import GROUPS, group_of

from series_tools import notebooks, site

SITE_GROUP = next(iter(GROUPS))  # runs after that chain; waits for the other worker's notebooks


@pytest.mark.xdist_group(SITE_GROUP)
def test_the_site_of_the_executed_series_resolves(executed, tmp_path):
    pages = [executed(path, wait=group_of(path) != SITE_GROUP) for path in notebooks()]
    problems = site.build(pages, tmp_path, "quick")
    assert problems == []
    pages = tmp_path / "site"
    home = (pages / f"{notebooks()[0].stem}.html").read_text()  # index.html sends one there
    assert notebooks()[0].stem in (pages / "index.html").read_text()
    assert all(f'href="{path.stem}.html"' in home for path in notebooks()[1:])
    assert "Results of the latest full run" in home
    assert "series.css" in home, "the stylesheet that widens the column"
    assert "class_weight" in (pages / "searchindex.js").read_text()
    assert any((pages / "_images").glob("*.png")), "the notebooks' figures"


def test_the_sidebar_follows_the_series(tmp_path):
    entries = [{"file": "00_a.ipynb", "short": "A"}, {"file": "01_b.ipynb", "short": "B"}]
    toc = site.book_toc({"title": "t", "notebooks": entries})
    assert toc["root"] == "00_a", "one index page: the index notebook is the home page"
    assert toc["chapters"] == [{"file": "01_b", "title": "01 B"}]
    assert site.book_config({"title": "t"})["execute"] == {"execute_notebooks": "off"}


def test_a_broken_site_is_reported(tmp_path):
    first = notebooks()[0].with_suffix(".html").name
    (tmp_path / first).write_text('<a href="nowhere.html">x</a><img src="_images/missing.png">')
    problems = site.check_site(tmp_path)
    assert "missing index.html" in problems and "missing searchindex.js" in problems
    assert f"{first}: link to missing nowhere.html" in problems
    assert f"{first}: image '_images/missing.png' does not resolve" in problems


def test_the_site_is_served_on_localhost(tmp_path):
    import threading
    import urllib.request

    (tmp_path / "index.html").write_text("<p>home</p>")
    server = threading.Thread(target=site.serve, args=(tmp_path, 8765), daemon=True)
    server.start()
    page = None
    for _ in range(50):
        try:
            page = urllib.request.urlopen("http://127.0.0.1:8765/index.html", timeout=1).read()
            break
        except OSError:
            threading.Event().wait(0.1)
    assert page == b"<p>home</p>"
