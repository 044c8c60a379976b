"""The machinery that runs, checks and publishes the notebook series (not part of the lessons).

Standard library only at import time, so ``python -m series_tools.bootstrap`` runs before .venv
exists; notebooks import only :mod:`series_tools.results`, in their last cell.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK_DIR = ROOT / "notebooks"
SERIES_FILE = NOTEBOOK_DIR / "series.json"
BUILD_DIR = ROOT / "build"
MODES = ("quick", "full")


def load_series(path: Path = SERIES_FILE) -> dict[str, Any]:
    """notebooks/series.json: the title, the notebooks in order, measured run times and results."""
    return json.loads(path.read_text(encoding="utf-8"))


def notebooks(series: dict[str, Any] | None = None) -> list[Path]:
    """The notebooks in series order, as notebooks/series.json lists them."""
    entries = (series or load_series())["notebooks"]
    return [NOTEBOOK_DIR / entry["file"] for entry in entries]
