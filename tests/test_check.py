"""helpers.check: every notebook has self-checking exercises whose solutions prove both ways."""

import re

import nbformat
import pytest

from helpers import check
from series_tools import notebooks

NUMBERED = [p for p in notebooks() if p.name[:2] != "00"]


@pytest.mark.parametrize("path", NUMBERED, ids=lambda p: p.stem)
def test_each_notebook_has_three_checked_exercises_and_solutions(path):
    sources = [c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]
    code = "\n".join(sources)
    keys = sorted(set(re.findall(r'check\("(\d\d\.\d)"', code)))
    assert len(keys) >= 3 and all(key.startswith(path.name[:2]) for key in keys)
    assert all(key in check.EXERCISES for key in keys)
    unanswered = [s for s in sources if re.search(r"^answer_\d+ = None", s, re.M)]
    assert len(unanswered) >= 3, "each exercise starts unanswered"
    refused = re.search(r'assert not check\(\s*"\d\d\.\d", .*deliberately_wrong=True', code, re.S)
    assert refused, "the solutions show a wrong answer being refused"
    assert all(f'assert check("{key}"' in code for key in keys), "every exercise has a solution"


def test_every_exercise_is_used_by_its_notebook():
    used = set()
    for path in NUMBERED:
        cells = nbformat.read(path, as_version=4).cells
        used |= set(re.findall(r'check\("(\d\d\.\d)"', "\n".join(c.source for c in cells)))
    assert used == set(check.EXERCISES)


@pytest.mark.parametrize("key", sorted(check.EXERCISES))
def test_unanswered_and_nonsense_answers_are_graded_wrong_without_crashing(key, capsys):
    assert check.check(key, None) is False
    assert "not answered yet" in capsys.readouterr().out
    for nonsense in ("nonsense", -1, [object()]):
        assert check.check(key, nonsense) is False
    assert "Hint:" in capsys.readouterr().out


def test_feedback_never_prints_the_answer(capsys):
    check.check("07.1", 0.5)
    check.check("11.3", 300)
    printed = capsys.readouterr().out
    assert "0.35" not in printed and "64" not in printed


def test_unknown_exercise_is_a_clear_error():
    with pytest.raises(KeyError, match="no exercise '99.9'"):
        check.check("99.9", 1)
