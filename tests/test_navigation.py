"""Generated navigation and tables are current; the HTML site of the executed series resolves."""

from helpers import navigation, series


def test_series_list_matches_the_notebooks_on_disk():
    listed = [entry["file"] for entry in navigation.load_series()["notebooks"]]
    assert listed == [path.name for path in series.notebooks()]


def test_generated_navigation_and_tables_are_current():
    stale = navigation.stale()
    assert not stale, f"out of date: {stale}; run `.venv/bin/python -m helpers.navigation`"


def test_navigation_links_previous_index_and_next():
    entries = navigation.load_series()["notebooks"]
    middle = navigation.nav_line(3, entries)
    assert middle.startswith("[← 02 ") and "[Index](00_index.ipynb)" in middle
    assert middle.endswith("(04_tokenization_and_sequences.ipynb)")
    assert "→" not in navigation.nav_line(len(entries) - 1, entries)


def test_timings_come_from_the_results_record(tmp_path, monkeypatch):
    row = {"notebook": "01_multilabel_vs_multiclass", "model": "whole_notebook", "mode": "full"}
    row["run_seconds"] = 12.3
    listing = tmp_path / "series.json"
    listing.write_text(navigation.SERIES_FILE.read_text())
    monkeypatch.setattr(navigation, "SERIES_FILE", listing)
    monkeypatch.setattr(navigation, "read_results", lambda: [row])
    navigation.update_timings()
    updated = navigation.load_series()
    assert updated["run_seconds"]["01_multilabel_vs_multiclass"]["full"] == 12.3
    assert "| 01 Multi-label vs multiclass |" in navigation.timings_table(updated)


def test_the_html_site_of_the_executed_series_resolves(executed, tmp_path):
    html_dir = tmp_path / "html"
    for path in series.notebooks():
        series.export_html(executed(path), html_dir)
    assert navigation.build_site(html_dir) == []
    index = (html_dir / "index.html").read_text()
    assert all(f"{p.stem}.html" in index for p in series.notebooks())
    page = (html_dir / "02_exploring_the_dataset.html").read_text()
    assert 'href="03_text_cleaning.html"' in page and "data:image/png;base64," in page


def test_a_broken_site_is_reported(tmp_path):
    (tmp_path / "01_multilabel_vs_multiclass.html").write_text(
        '<a href="nowhere.html">x</a><img src="missing.png">'
    )
    problems = navigation.check_site(tmp_path)
    assert any("missing page 00_index.html" in p for p in problems)
    assert any("link to missing nowhere.html" in p for p in problems)
    assert any("image 'missing.png' does not resolve" in p for p in problems)
