"""Generated navigation and tables are current and come from series.json and the results record."""

from series_tools import load_series, navigation, notebooks


def test_series_list_matches_the_notebooks_on_disk():
    on_disk = sorted(p.name for p in notebooks()[0].parent.glob("[0-9][0-9]_*.ipynb"))
    assert [path.name for path in notebooks()] == on_disk


def test_generated_navigation_and_tables_are_current():
    stale = navigation.stale()
    assert not stale, f"out of date: {stale}; run `.venv/bin/python -m series_tools timings`"


def test_navigation_links_previous_index_and_next():
    entries = load_series()["notebooks"]
    middle = navigation.nav_line(3, entries)
    assert middle.startswith(f"[← {navigation.label(entries[2])}]")
    assert f"[Index]({entries[0]['file']})" in middle
    assert middle.endswith(f"({entries[4]['file']})")
    assert "→" not in navigation.nav_line(len(entries) - 1, entries)


def test_measurements_are_the_latest_full_run_on_test():
    series = load_series()
    first, second = (p.stem for p in notebooks(series)[1:3])
    old = {"notebook": first, "mode": "full", "timestamp": "2025-01-01T00:00:00+00:00"}
    new = {**old, "timestamp": "2025-02-01T00:00:00+00:00"}
    rows = [
        {**old, "model": "gone", "split": "test", "macro_f1": 0.1},
        {**new, "model": "lstm", "split": "test", "macro_f1": 0.5, "blog_total": 25.0},
        {**new, "model": "lstm", "split": "validation", "macro_f1": 0.9},
        {**new, "mode": "quick", "model": "lstm", "split": "test", "macro_f1": 0.2},
        {**new, "notebook": "99_not_listed", "model": "x", "split": "test", "macro_f1": 1.0},
        {**new, "notebook": second, "run_seconds": 12.3},
    ]
    updated = navigation.with_measurements(series, rows)
    assert updated["results"][first] == {"lstm": {"macro_f1": 0.5, "blog_total": 25.0}}
    assert "99_not_listed" not in updated["results"]
    assert updated["run_seconds"][second]["full"] == 12.3
    assert f"| {navigation.label(series['notebooks'][2])} | " in navigation.timings_table(updated)


def test_results_tables_split_quality_and_speed_and_explain_twins():
    baseline = {"macro_f1": 0.51, "micro_f1": 0.6556, "related_macro_f1": 0.6, "blog_total": 26.756}
    results = {
        "07_x": {"tfidf_logreg": baseline, "ensemble": dict(baseline)},
        "11_y": {"bilstm": {"messages_per_second": 3296.0, "latency_ms": 8.94}, "m": {}},
    }
    quality, speed = navigation.results_table(results, empty="none").split("**Speed**")
    rows = quality.splitlines()
    assert (
        "| 07 · tfidf_logreg | the baseline: TF-IDF + logistic regressions | 0.510 | 0.656 |"
        in ("\n".join(rows))
    )
    assert "(the same scores as tfidf_logreg here) | 0.510" in quality
    assert "| 11 · bilstm |  |  |  | 3,296 | 8.9 |" in speed
    assert "11 · m" not in quality + speed
    assert navigation.results_table({}, empty="none") == "none"
