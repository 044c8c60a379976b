"""The results record: what notebooks append, what they print, what the tables read back."""

import json

import nbformat
import pytest

from series_tools import results, runner


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


def test_a_progress_bar_keeps_only_its_last_state(tmp_path):
    path = tmp_path / "bar.ipynb"
    cell = nbformat.v4.new_code_cell("")
    cell.outputs = [
        nbformat.v4.new_output("stream", name="stderr", text="\rencoding:   0%| 0/9"),
        nbformat.v4.new_output("stream", name="stderr", text="\rencoding:  50%| 4/9"),
        nbformat.v4.new_output("stream", name="stderr", text="\rencoding: 100%| 9/9\n"),
        nbformat.v4.new_output("stream", name="stdout", text="done\n"),
        nbformat.v4.new_output("stream", name="stderr", text="\n"),
    ]
    nbformat.write(nbformat.v4.new_notebook(cells=[cell]), path)
    runner.tidy_streams(path)
    outputs = nbformat.read(path, as_version=4).cells[0].outputs
    assert [o.text for o in outputs] == ["encoding: 100%| 9/9\n", "done\n"]


def test_outside_the_runner_nothing_is_recorded(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv(results.RECORD_ENV, raising=False)
    results.record_results("05_lstm", "full", [{"model": "m", "split": "test", "macro_f1": 0.4}])
    assert "Not recorded" in capsys.readouterr().out
    monkeypatch.setenv(results.RECORD_ENV, str(tmp_path / "r.jsonl"))
    results.record_results("05_lstm", "full", [{"model": "m", "split": "test", "macro_f1": 0.4}])
    assert [row["macro_f1"] for row in results.read_results(tmp_path / "r.jsonl")] == [0.4]
