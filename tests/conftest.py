"""Shared fixtures: each notebook is executed once per test session, in quick mode."""

import re
from pathlib import Path

import pytest
from papermill.exceptions import PapermillExecutionError

from series_tools import runner

ANSI = re.compile(r"\x1b\[[0-9;]*m")


def execute(path: Path, output: Path, as_in_lab: bool = False) -> Path:
    """Run one notebook in quick mode; fail with the failing cell's error, not a stack of noise.
    Results go to a record beside the output, never to build/results.jsonl; ``as_in_lab`` runs
    it as a learner's JupyterLab does, without the runner's record."""
    results = None if as_in_lab else output.parent / "results.jsonl"
    try:
        runner.run_notebook(path, output, quick=True, results=results)
    except PapermillExecutionError as error:
        trace = ANSI.sub("", "\n".join(error.traceback[-8:]))
        pytest.fail(f"{path.name}, cell {error.exec_count}: {error.ename}: {error.evalue}\n{trace}")
    return output


@pytest.fixture(scope="session")
def executed(tmp_path_factory):
    """Each notebook runs once per session; tests that need its output share that run."""
    runs: dict[Path, Path] = {}

    def run(path: Path) -> Path:
        if path not in runs:
            runs[path] = execute(path, tmp_path_factory.mktemp(path.stem) / path.name)
        return runs[path]

    return run


@pytest.fixture
def data_dir(tmp_path) -> Path:
    """An empty data/ folder: where fetch() caches, isolated per test."""
    folder = tmp_path / "data"
    folder.mkdir()
    return folder
