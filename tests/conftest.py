"""Shared fixtures: each notebook is executed once per test session, in quick mode."""

import os
import re
import time
from pathlib import Path

import pytest
from papermill.exceptions import PapermillExecutionError

from series_tools import runner
from series_tools.results import RESULTS_PATH

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


# The notebooks run on the two workers of `make test` in groups (tests/test_notebooks.py), in
# this order: "encoder" (08 > 09 > 11, each using the models the one before saved; 11 also
# waits for 07's BiLSTM) on one worker; "bilstm" (05 > 07), then "others", on the other.
GROUPS = {"encoder": ("08", "09", "11"), "bilstm": ("05", "07")}
LAB_RUN = "11"  # runs as a learner's JupyterLab runs it (no record, no published export)
NEEDS = {"11": ("05", "07")}  # notebooks of another group whose saved models it loads
RESULTS_AT_START = RESULTS_PATH.read_bytes() if RESULTS_PATH.is_file() else None  # published
WAIT_S = 1800  # how long a test waits for the other worker's notebooks (quick mode's cell limit)


def group_of(path: Path) -> str:
    """The group a notebook runs in: its chain's, or "others"."""
    return next((name for name, chain in GROUPS.items() if path.name[:2] in chain), "others")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The notebook groups first, the longest chain at the head: each worker starts on its
    group at once (`--no-loadscope-reorder` keeps this order) and unit tests fill in after."""
    order = [*GROUPS, "others"]

    def rank(item: pytest.Item) -> int:
        marker = item.get_closest_marker("xdist_group")
        group = marker.args[0] if marker else ""
        return order.index(group) if group in order else len(order)

    items.sort(key=rank)


def shared_dir(tmp_path_factory) -> Path:
    """A folder both xdist workers of this session see (their base temps' parent)."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


@pytest.fixture(scope="session")
def executed(tmp_path_factory):
    """Each notebook runs once per session, its models in a folder of the session (never
    build/models), LAB_RUN as a learner's JupyterLab runs it; tests that need an
    output share that run, whichever worker made it. ``executed(path, wait=True)``, under
    xdist, waits for the other worker to run it instead of running it twice."""
    folder = shared_dir(tmp_path_factory) / "executed"

    def run(path: Path, wait: bool = False) -> Path:
        output = folder / path.stem / path.name
        done = output.with_suffix(".done")
        if done.exists():
            return output
        if wait and os.environ.get("PYTEST_XDIST_WORKER"):
            wait_for(done, path)
            return output
        output.parent.mkdir(parents=True, exist_ok=True)
        try:
            with runner.environment(SERIES_MODELS_DIR=str(folder / "models")):
                execute(path, output, as_in_lab=path.name[:2] == LAB_RUN)
        except BaseException:
            output.with_suffix(".failed").touch()  # a test waiting for it fails now
            raise
        done.touch()
        return output

    return run


def wait_for(done: Path, path: Path) -> None:
    """Wait until ``done`` exists: the other worker finished ``path``."""
    deadline = time.monotonic() + WAIT_S
    while not done.exists():
        if done.with_suffix(".failed").exists():
            pytest.fail(f"{path.name} failed on the other worker (see its test)")
        if time.monotonic() > deadline:
            pytest.fail(f"{path.name} was not executed by the other worker within {WAIT_S} s")
        time.sleep(2)


@pytest.fixture
def data_dir(tmp_path) -> Path:
    """An empty data/ folder: where fetch() caches, isolated per test."""
    folder = tmp_path / "data"
    folder.mkdir()
    return folder
