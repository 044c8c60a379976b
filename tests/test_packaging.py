"""pyproject.toml is the one source of truth for dependencies; environment.yml must mirror it."""

import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def test_environment_yml_mirrors_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = project["dependencies"] + project["optional-dependencies"]["dev"]
    environment = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda = [d for d in environment["dependencies"] if isinstance(d, str)]
    (pip_section,) = [d["pip"] for d in environment["dependencies"] if isinstance(d, dict)]
    assert "python=3.11" in conda and "pip" in conda
    assert pip_section[-1] == "-e .[dev]", "environment.yml must install the project editable"
    assert pip_section[:-1] == declared, "environment.yml drifted from pyproject.toml"


def test_keras_pin_excludes_the_broken_release():
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    assert "keras>=3.12,!=3.14.0" in deps
