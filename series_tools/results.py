"""The results record: one JSON object per line in build/results.jsonl.

Notebooks append their metrics with :func:`record_results` (their last cell), but only when the
series runner executes them: it names the record in ``$SERIES_RESULTS_FILE``. A notebook run by
hand in JupyterLab prints one line saying it recorded nothing, so a learner's run (on a busy
laptop, say) never changes the published numbers. The runner appends each notebook's run time;
navigation and the site read the latest of both.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from series_tools import BUILD_DIR, MODES

RESULTS_PATH = BUILD_DIR / "results.jsonl"
RUN_FIELDS = ("notebook", "mode", "model", "split", "timestamp")
RECORD_ENV = "SERIES_RESULTS_FILE"  # set by the runner for the kernels it starts


def _append(rows: list[dict[str, Any]], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as out:
        out.writelines(json.dumps(row) + "\n" for row in rows)


def _stamped(notebook: str, mode: str, fields: dict[str, Any], timestamp: str) -> dict[str, Any]:
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    return {"notebook": notebook, "mode": mode, **fields, "timestamp": timestamp}


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def record_results(
    notebook: str, mode: str, rows: list[dict[str, Any]], path: Path | None = None
) -> None:
    """Append one row per model and split (its metrics, timings) to ``path`` (by default the
    record the runner names) and print each as a JSON line; outside the runner, record nothing."""
    timestamp = _now()
    for row in rows:
        if not {"model", "split"} <= set(row):
            raise ValueError(f"every row needs 'model' and 'split', got {sorted(row)}")
    stamped = [_stamped(notebook, mode, row, timestamp) for row in rows]
    target = path or os.environ.get(RECORD_ENV)
    if not target:
        print(
            "Not recorded: this run was not started by the series runner (make run), so the "
            "published results stay as they were."
        )
        return
    _append(stamped, Path(target))
    for row in stamped:
        print(json.dumps(row))


def record_run_time(notebook: str, mode: str, seconds: float, path: Path = RESULTS_PATH) -> None:
    """Append how long one whole notebook took to run (the runner calls this)."""
    _append([_stamped(notebook, mode, {"run_seconds": round(seconds, 1)}, _now())], path)


def read_results(path: Path = RESULTS_PATH) -> list[dict[str, Any]]:
    """Every recorded row, oldest first; an empty list when nothing was recorded yet."""
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def latest_run_times(rows: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """The latest run time per notebook and mode: ``{notebook: {mode: seconds}}``."""
    times: dict[str, dict[str, float]] = {}
    for row in rows:
        if "run_seconds" in row:
            times.setdefault(row["notebook"], {})[row["mode"]] = row["run_seconds"]
    return times


def latest_test_results(rows: list[dict[str, Any]], mode: str) -> dict[str, dict[str, Any]]:
    """Test-split rows (and training-speed rows, which have ``epoch_seconds``) of each
    notebook's latest run in ``mode``: {notebook: {model: metrics}}."""
    latest: dict[str, str] = {}
    for row in rows:
        if "model" in row and row["mode"] == mode:
            latest[row["notebook"]] = max(latest.get(row["notebook"], ""), row["timestamp"])
    results: dict[str, dict[str, Any]] = {}
    for row in rows:
        latest_run = row["mode"] == mode and row["timestamp"] == latest.get(row["notebook"])
        if latest_run and (row.get("split") == "test" or "epoch_seconds" in row):
            metrics = {k: v for k, v in row.items() if k not in RUN_FIELDS}
            results.setdefault(row["notebook"], {})[row["model"]] = metrics
    return results
