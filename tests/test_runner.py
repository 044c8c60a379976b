"""series_tools.runner on tiny notebooks: parameters, another seed, recording, failures."""

import json
import os

import nbformat
import pytest

from series_tools import results, runner


def notebook(path, *sources, parameters="SEED = 42\nSTEPS = 10  # quick: 1"):
    cells = [nbformat.v4.new_code_cell(parameters, metadata={"tags": ["parameters"]})]
    cells += [nbformat.v4.new_code_cell(source) for source in sources]
    book = nbformat.v4.new_notebook(cells=cells)
    book.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(book, path)
    return path


def printed(path) -> str:
    cells = nbformat.read(path, as_version=4).cells
    return "".join(o.get("text", "") for c in cells if c.cell_type == "code" for o in c.outputs)


def test_quick_values_and_another_seed_reach_the_notebook(tmp_path):
    source = notebook(tmp_path / "01_a.ipynb", "print(SEED, STEPS)")
    runner.run_notebook(source, tmp_path / "out.ipynb", quick=True, seed=7, results=tmp_path / "r")
    assert "7 1" in printed(tmp_path / "out.ipynb")


def test_the_runner_names_the_results_record_for_the_kernel(tmp_path):
    code = "import os; print(os.environ['SERIES_RESULTS_FILE'])"
    source = notebook(tmp_path / "01_a.ipynb", code)
    record = tmp_path / "record.jsonl"
    runner.run_notebook(source, tmp_path / "out.ipynb", quick=False, results=record)
    assert str(record) in printed(tmp_path / "out.ipynb")
    assert results.RECORD_ENV not in os.environ  # restored afterwards


def test_a_seed_run_has_its_own_folder():
    assert runner.output_dir("full").name == "full"
    assert runner.output_dir("full", 7).name == "full-seed7"


def test_a_failing_notebook_leaves_its_partial_copy_and_says_how_to_resume(tmp_path):
    source = notebook(tmp_path / "05_a.ipynb", "print('before')", "1 / 0", "print('never')")
    output = tmp_path / "out" / "05_a.ipynb"
    with pytest.raises(Exception) as raised:
        runner.run_notebook(source, output, quick=False, results=tmp_path / "r")
    assert "before" in printed(output) and "never" not in printed(output)
    later = [tmp_path / "06_b.ipynb", tmp_path / "07_c.ipynb"]
    message = runner.failure_message(source, output, raised.value, later)
    assert "05_a.ipynb failed in cell" in message and "ZeroDivisionError" in message
    assert str(output) in message and "python -m series_tools run 05 06 07" in message
    quick = runner.failure_message(source, output, raised.value, [], "quick")
    seeded = runner.failure_message(source, output, raised.value, later[:1], "full", 7)
    assert "python -m series_tools quick 05" in quick
    assert "python -m series_tools run --seed 7 05 06" in seeded


def test_full_mode_sets_no_cell_time_limit(tmp_path, monkeypatch):
    seen = {}

    def execute_notebook(*args, **kwargs):
        seen.update(kwargs)

    monkeypatch.setattr("papermill.execute_notebook", execute_notebook)
    source = notebook(tmp_path / "01_a.ipynb", "pass")
    runner.run_notebook(source, tmp_path / "out.ipynb", quick=False, results=tmp_path / "r")
    assert seen["execution_timeout"] is None
    runner.run_notebook(source, tmp_path / "out.ipynb", quick=True, results=tmp_path / "r")
    assert seen["execution_timeout"] == runner.QUICK_CELL_TIMEOUT_S
    assert json.loads(json.dumps(seen["parameters"])) == {"STEPS": 1}
