"""JupyterLab for the series: the settings `make setup` writes into .venv, and a save hook.

A learner's saved outputs never reach git: the nbstripout filter (.gitattributes) strips them
from what git stores and diffs. But git trusts a file's recorded size before its content, so a
notebook saved with outputs still reads "modified" in `git status`, and `git pull` refuses to
replace it. After each save, :func:`after_save` lets git look again at a tracked notebook whose
stored form did not change (only its outputs did), and the working copy is clean again.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

# Every Jupyter server started from .venv: kernels on local sockets (no "TCP without
# encryption" warning), the save hook below.
SERVER_CONFIG = {
    "KernelManager": {"transport": "ipc"},
    "FileContentsManager": {"post_save_hook": "series_tools.lab.after_save"},
}
# JupyterLab's settings for everyone using .venv: no news or update prompts.
LAB_OVERRIDES = {
    "@jupyterlab/apputils-extension:notification": {"fetchNews": "false", "checkForUpdates": False}
}


def _git(folder: Path, *args: str) -> int:
    return subprocess.run(["git", "-C", str(folder), *args], capture_output=True).returncode


def after_save(model: dict[str, Any], os_path: str, **_: Any) -> None:
    """Once a notebook is saved: if git tracks it and its stored form is unchanged, refresh
    git's record of the file (`git add` of an unchanged file changes nothing else)."""
    path = Path(os_path)
    if model.get("type") != "notebook":
        return
    tracked = _git(path.parent, "ls-files", "--error-unmatch", "--", path.name) == 0
    if tracked and _git(path.parent, "diff", "--quiet", "--", path.name) == 0:
        _git(path.parent, "add", "--", path.name)
