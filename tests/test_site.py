"""The Jupyter Book site of the executed series: pages, links and images resolve; search works."""

import pytest

from series_tools import notebooks, site


@pytest.mark.xdist_group("tensorflow")  # it reads the notebooks that worker executed
def test_the_site_of_the_executed_series_resolves(executed, tmp_path):
    problems = site.build([executed(path) for path in notebooks()], tmp_path, "quick")
    assert problems == []
    pages = tmp_path / "site"
    index = (pages / "index.html").read_text()
    assert all(f'href="{path.stem}.html"' in index for path in notebooks())
    assert "class_weight" in (pages / "searchindex.js").read_text()
    assert any((pages / "_images").glob("*.png")), "the notebooks' figures"


def test_the_sidebar_follows_the_series(tmp_path):
    toc = site.book_toc({"title": "t", "notebooks": [{"file": "00_a.ipynb", "short": "A"}]})
    assert toc["chapters"] == [{"file": "00_a", "title": "00 A"}]
    assert site.book_config({"title": "t"})["execute"] == {"execute_notebooks": "off"}


def test_a_broken_site_is_reported(tmp_path):
    first = notebooks()[0].with_suffix(".html").name
    (tmp_path / first).write_text('<a href="nowhere.html">x</a><img src="_images/missing.png">')
    problems = site.check_site(tmp_path)
    assert "missing index.html" in problems and "missing searchindex.js" in problems
    assert f"{first}: link to missing nowhere.html" in problems
    assert f"{first}: image '_images/missing.png' does not resolve" in problems
