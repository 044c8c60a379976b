"""The project's .venv, with nothing but the standard library: create it from requirements.lock,
or write the lock from it. ``python -m series_tools setup`` and ``make setup`` call :func:`setup`.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import venv
from pathlib import Path

from series_tools import ROOT

VENV = ROOT / ".venv"
LOCK = ROOT / "requirements.lock"
PYPROJECT = ROOT / "pyproject.toml"
STAMP = VENV / ".installed"
KERNEL_NAME = "Python 3 (series .venv)"  # the notebooks' stored kernelspec says the same
KERNEL = ["--sys-prefix", "--name", "python3", "--display-name", KERNEL_NAME]
# The git filter (.gitattributes names it): outputs and run counts never reach a commit or diff
STRIP = ["-m", "nbstripout", "--keep-id"]
UV = "uv==0.13.9"  # installs the lock; pip is the fallback
LOCK_HEADER = """\
# Every package of a tested .venv, pinned: `make setup` installs exactly these, then the project.
# pyproject.toml keeps the ranges. Regenerate after changing dependencies:
#   pip install -e ".[jax,dev]" into .venv, then `python -m series_tools lock` (or `make lock`).
"""


def venv_python(root: Path = VENV) -> Path:
    """The Python inside a virtual environment (Scripts\\python.exe on Windows)."""
    return root / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def up_to_date() -> bool:
    """Whether .venv was set up after the last change to the lock and pyproject.toml."""
    inputs = (LOCK, PYPROJECT)
    return STAMP.is_file() and all(STAMP.stat().st_mtime >= p.stat().st_mtime for p in inputs)


def _run(*command: str | Path) -> None:
    print("+", " ".join(map(str, command)), flush=True)
    subprocess.run(list(map(str, command)), check=True)


def setup() -> Path:
    """Create .venv (once), install the lock, the project (editable) and a python3 kernel;
    then (every time, it is cheap) Lab's settings and the git filter for notebooks."""
    python = venv_python()
    if not up_to_date():
        install(python)
    configure(python)
    return python


def configure(python: Path) -> None:
    """JupyterLab's settings and the Jupyter server's in .venv (series_tools.lab), and the
    nbstripout filter in .git/config."""
    from series_tools.lab import LAB_OVERRIDES, SERVER_CONFIG

    settings = {
        VENV / "share" / "jupyter" / "lab" / "settings" / "overrides.json": LAB_OVERRIDES,
        VENV / "etc" / "jupyter" / "jupyter_server_config.json": SERVER_CONFIG,
    }
    for path, values in settings.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values, indent=1) + "\n", encoding="utf-8")
    if (ROOT / ".git").exists() and shutil.which("git"):
        define_notebook_filter(python, ROOT)


def define_notebook_filter(python: Path, repository: Path) -> None:
    """Define, in ``repository``'s .git/config, the nbstripout filter that .gitattributes
    names: git stores and diffs notebooks without outputs, whatever the working copy holds."""
    command = " ".join(f'"{part}"' for part in (python.as_posix(), *STRIP))
    settings = {
        "filter.nbstripout.clean": command,
        "filter.nbstripout.smudge": "cat",
        "diff.ipynb.textconv": f"{command} -t",
    }
    for key, value in settings.items():
        subprocess.run(["git", "-C", str(repository), "config", key, value], check=True)


def install(python: Path) -> None:
    """Create .venv if needed, install the lock, the project (editable) and the kernel.

    uv installs the lock (about 15 s, against about 2 min for pip); where uv cannot be
    installed or fails, pip does the same job. Both write the bytecode now (about 30 s more):
    without it, every kernel and process recompiles TensorFlow & co. from source (about 20 s
    each) wherever PYTHONDONTWRITEBYTECODE is set, as it is on this project's machines.
    """
    if sys.version_info < (3, 11):  # noqa: UP036 (any python3 may start the bootstrap)
        raise SystemExit(f"Python 3.11 or newer is needed, this is {sys.version.split()[0]}")
    if not python.exists():
        venv.EnvBuilder(with_pip=True).create(VENV)
    pip = (python, "-m", "pip", "--disable-pip-version-check")
    try:
        _run(*pip, "install", "--quiet", UV)
        uv = (python, "-m", "uv", "pip", "install", "--quiet", "--python", python)
        _run(*uv, "--compile-bytecode", "-r", LOCK)
        _run(*uv, "--no-deps", "-e", ROOT)
    except subprocess.CalledProcessError:
        print("uv could not install the lock; installing it with pip instead", flush=True)
        _run(*pip, "install", "--quiet", "-r", LOCK)
        _run(*pip, "install", "--quiet", "--no-deps", "-e", ROOT)
    _run(python, "-m", "ipykernel", "install", *KERNEL)
    STAMP.touch()


def write_lock(python: Path) -> None:
    """Pin every package installed for ``python`` except pip, uv and the project itself; a pin keeps
    the environment marker of its line in pyproject.toml (e.g. not on Windows)."""
    import tomllib

    project = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"]
    declared = [*project["dependencies"], *project["optional-dependencies"]["dev"]]
    markers = {_name(line): line.split(";", 1)[1].strip() for line in declared if ";" in line}
    command = [str(python), "-m", "pip", "list", "--format=freeze", "--exclude-editable"]
    listed = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    pins = [
        f"{line}; {markers[_name(line)]}" if _name(line) in markers else line
        for line in sorted(listed.splitlines(), key=_name)
        if _name(line) not in {"pip", "uv", _name(project["name"])}
    ]
    LOCK.write_text(LOCK_HEADER + "\n".join(pins) + "\n", encoding="utf-8")
    print(f"wrote {len(pins)} pins to {LOCK.relative_to(ROOT)}")


def _name(requirement: str) -> str:
    """The normalised project name at the start of a requirement line (PEP 503)."""
    return re.sub(r"[-_.]+", "-", re.match(r"[A-Za-z0-9._-]+", requirement)[0]).lower()
