"""pyproject.toml holds the dependency ranges; environment.yml mirrors them; requirements.lock pins
one complete, tested set inside them."""

import tomllib
from importlib import metadata

import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from series_tools import ROOT

PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
DECLARED = PROJECT["dependencies"] + [
    requirement
    for extra in ("jax", "dev")
    for requirement in PROJECT["optional-dependencies"][extra]
]


def locked() -> dict[str, Requirement]:
    lines = (ROOT / "requirements.lock").read_text().splitlines()
    pins = [Requirement(line) for line in lines if line and not line.startswith("#")]
    return {canonicalize_name(pin.name): pin for pin in pins}


def dependency_closure(requirements: list[str]) -> set[str]:
    """Every distribution these requirements pull in here (markers and extras evaluated)."""
    todo, seen = [Requirement(r) for r in requirements], set()
    while todo:
        requirement = todo.pop()
        key = (canonicalize_name(requirement.name), frozenset(requirement.extras))
        if key in seen:
            continue
        seen.add(key)
        environments = [{"extra": e} for e in requirement.extras] or [{"extra": ""}]
        for line in metadata.requires(requirement.name) or []:
            needed = Requirement(line)
            if not needed.marker or any(needed.marker.evaluate(e) for e in environments):
                todo.append(needed)
    return {name for name, _ in seen}


def test_environment_yml_mirrors_pyproject():
    environment = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda = [d for d in environment["dependencies"] if isinstance(d, str)]
    (pip_section,) = [d["pip"] for d in environment["dependencies"] if isinstance(d, dict)]
    assert "python=3.11" in conda and "pip" in conda
    assert pip_section[-1] == "-e .[jax,dev]", "environment.yml must install the project editable"
    assert pip_section[:-1] == DECLARED, "environment.yml drifted from pyproject.toml"


def test_keras_is_recent_enough_for_keras_hub():
    assert "keras>=3.15" in PROJECT["dependencies"]  # keras-hub 0.32 requires it


def test_the_lock_pins_exact_versions_inside_pyprojects_ranges():
    pins = locked()
    assert canonicalize_name(PROJECT["name"]) not in pins and "pip" not in pins
    for pin in pins.values():
        assert len(pin.specifier) == 1 and next(iter(pin.specifier)).operator == "==", str(pin)
    for line in DECLARED:
        wanted = Requirement(line)
        pin = pins.get(canonicalize_name(wanted.name))
        assert pin, f"{wanted.name} is in pyproject.toml but not in requirements.lock"
        version = next(iter(pin.specifier)).version
        assert wanted.specifier.contains(version, prereleases=True), f"{pin} breaks {line}"
        assert pin.marker == wanted.marker, f"{pin} must keep the marker of {line}"


def test_the_lock_is_the_whole_dependency_tree():
    needed = dependency_closure(DECLARED)
    pinned = set(locked())
    assert not needed - pinned, f"missing from requirements.lock: {sorted(needed - pinned)}"
    assert not pinned - needed, f"needed by nothing in pyproject.toml: {sorted(pinned - needed)}"
