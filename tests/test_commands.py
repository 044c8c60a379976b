"""Make is optional: each target wraps ``python -m series_tools``, which starts with no packages."""

import re
import subprocess
import sys

from series_tools import ROOT
from series_tools.__main__ import parser

MAKEFILE = (ROOT / "Makefile").read_text()


def test_every_make_target_is_a_thin_wrapper_over_the_python_entry_point():
    recipes = dict(re.findall(r"^([a-z]+):[^\n]*\n\t([^\n]+)", MAKEFILE, flags=re.M))
    recipes.pop("clean")
    for target, recipe in recipes.items():
        assert recipe == f"$(PY) -m series_tools {target}", recipe
        assert parser().parse_args([target]).command == target
    assert "$(PYTHON) -m series_tools setup" in MAKEFILE


def test_setup_reruns_when_the_lock_or_pyproject_change():
    assert re.search(r"^\$\(STAMP\): requirements\.lock pyproject\.toml$", MAKEFILE, flags=re.M)


def test_the_entry_point_and_bootstrap_need_only_the_standard_library():
    code = (
        "import sys; import series_tools.__main__, series_tools.bootstrap; "
        "assert not {'yaml', 'nbformat', 'packaging'} & set(sys.modules)"
    )
    done = subprocess.run([sys.executable, "-S", "-c", code], cwd=ROOT, capture_output=True)
    assert done.returncode == 0, done.stderr.decode()
