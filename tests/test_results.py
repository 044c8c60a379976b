"""The results record: what notebooks append, what they print, what the tables read back."""

import json

import pytest

from series_tools import results


def test_record_results_appends_and_prints_each_row(tmp_path, capsys):
    path = tmp_path / "results.jsonl"
    rows = [{"model": "lstm", "split": s, "macro_f1": 0.4} for s in ("validation", "test")]
    results.record_results("05_lstm", "quick", rows, path=path)
    printed = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert printed == results.read_results(path)
    assert [r["split"] for r in printed] == ["validation", "test"]
    assert {
        "notebook": "05_lstm",
        "mode": "quick",
        "timestamp": printed[0]["timestamp"],
    }.items() <= printed[0].items()


def test_record_results_rejects_incomplete_rows_and_unknown_modes(tmp_path):
    with pytest.raises(ValueError, match="model"):
        results.record_results("05_lstm", "full", [{"macro_f1": 0.4}], path=tmp_path / "r.jsonl")
    with pytest.raises(ValueError, match="mode"):
        results.record_results(
            "05_lstm", "fast", [{"model": "m", "split": "test"}], path=tmp_path / "r.jsonl"
        )


def test_the_runner_records_run_times(tmp_path):
    path = tmp_path / "results.jsonl"
    results.record_run_time("01_intro", "full", 7.04, path=path)
    results.record_run_time("01_intro", "full", 8.0, path=path)
    assert results.latest_run_times(results.read_results(path)) == {"01_intro": {"full": 8.0}}
