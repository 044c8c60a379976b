"""Run every numbered notebook through papermill in its documented quick mode."""

import re

import pytest
from papermill.exceptions import PapermillExecutionError

from helpers import series

ANSI = re.compile(r"\x1b\[[0-9;]*m")


@pytest.mark.parametrize("path", series.notebooks(), ids=lambda p: p.stem)
def test_notebook_runs_in_quick_mode(path, tmp_path):
    try:
        series.run_notebook(path, tmp_path / path.name, quick=True)
    except PapermillExecutionError as error:
        trace = ANSI.sub("", "\n".join(error.traceback[-8:]))
        pytest.fail(f"{path.name}, cell {error.exec_count}: {error.ename}: {error.evalue}\n{trace}")
