"""The results record: one JSON object per result in build/results.jsonl (DESIGN.md)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

RESULTS_PATH = Path(__file__).resolve().parent.parent / "build" / "results.jsonl"
MODES = ("quick", "full")


def record_result(
    notebook: str, model: str, mode: str, path: Path = RESULTS_PATH, **fields: Any
) -> dict[str, Any]:
    """Append one result (metrics, timings) with a UTC timestamp; return what was written."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    row = {"notebook": notebook, "model": model, "mode": mode, **fields}
    row["timestamp"] = datetime.now(UTC).isoformat(timespec="seconds")
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as out:
        out.write(json.dumps(row) + "\n")
    return row


def read_results(path: Path = RESULTS_PATH) -> list[dict[str, Any]]:
    """Every recorded result, oldest first; an empty list when nothing was recorded yet."""
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
