"""The exercise checks of flowkit.course.checks, in the learner's transport (DirectStudent).

Model answers (the source notebooks' solutions) pass every public check; typical mistakes get
the message that names them; the check never raises anything but its verdict.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
import numpy as np
import pytest

from flowkit.course.checks import CheckFailed, DirectStudent, Tensor, check_exercise, exercises, run_check
from flowkit.course.checks.wire import ChannelError, WireLimits, loads

sys.path.insert(0, str(Path(__file__).resolve().parent))
from grader_class import WRONG_LOGDET, solved  # noqa: E402

def namespace(assignment: str, edits: dict | None = None) -> dict:
    nb = solved(assignment)
    ns: dict = {}
    for c in nb.cells:
        meta = c.metadata.get("nbgrader", {})
        if c.cell_type != "code" or meta.get("grade") or "plt." in c.source:
            continue
        src = c.source
        for old, new in (edits or {}).get(meta.get("grade_id"), []):
            src = src.replace(old, new)
        exec(compile(src, meta.get("grade_id", "cell"), "exec"), ns)
    return ns


@pytest.mark.parametrize("assignment", ["01_fundamentals", "04_realnvp", "05_glow"])
def test_source_notebook_answers_pass_every_public_check(assignment):
    ns = namespace(assignment)
    for ex in exercises().values():
        if ex.assignment == assignment:
            outcome = run_check(ex.check, DirectStudent(ns), seed=123)
            assert outcome.passed, (ex.id, outcome)


def test_a_wrong_answer_is_printed_and_does_not_stop_the_notebook(capsys, monkeypatch):
    monkeypatch.delenv("FLOWKIT_STRICT_CHECKS", raising=False)
    ns = namespace("01_fundamentals", {"ex2-solution": [WRONG_LOGDET]})
    assert check_exercise("01_fundamentals/ex2-tests", ns) is None
    out = capsys.readouterr().out
    assert out.startswith("✗ Your turn 2 · ScaleShift") and "off by a constant +0.6931 = log 2" in out


def test_strict_mode_raises_the_message_alone(monkeypatch):
    monkeypatch.setenv("FLOWKIT_STRICT_CHECKS", "1")
    ns = namespace("01_fundamentals", {"ex2-solution": [WRONG_LOGDET]})
    with pytest.raises(CheckFailed, match="off by a constant") as info:
        check_exercise("01_fundamentals/ex2-tests", ns)
    assert info.value._render_traceback_()[0].startswith("\x1b[0;31m✗")


def test_unanswered_exercise_says_not_done_yet_not_a_traceback(capsys, monkeypatch):
    monkeypatch.delenv("FLOWKIT_STRICT_CHECKS", raising=False)
    ns = namespace("01_fundamentals")

    def log_prob_affine_1d(x, a, b):
        raise NotImplementedError()
    ns["log_prob_affine_1d"] = log_prob_affine_1d
    check_exercise("01_fundamentals/ex1-tests", ns)
    assert "not done yet: log_prob_affine_1d(…) still raises NotImplementedError" in capsys.readouterr().out
    del ns["log_prob_affine_1d"]
    check_exercise("01_fundamentals/ex1-tests", ns)
    assert "is not defined" in capsys.readouterr().out


def test_a_check_leaves_the_notebooks_random_state_alone():
    import random

    import torch

    ns = namespace("01_fundamentals")
    torch.manual_seed(5)
    np.random.seed(5)
    random.seed(5)
    expected = (torch.rand(1).item(), np.random.rand(), random.random())
    torch.manual_seed(5)
    np.random.seed(5)
    random.seed(5)
    check_exercise("01_fundamentals/ex2-tests", ns, strict=True)
    assert (torch.rand(1).item(), np.random.rand(), random.random()) == expected


def test_lying_objects_cannot_cross_the_wire():
    class Liar(float):
        def __eq__(self, other):
            return True
    ns = {"f": lambda: Liar(3.0), "g": lambda: [[1.0] * 3] * 2}
    student = DirectStudent(ns)
    value = student.call("f")
    assert type(value) is float and value == 3.0 and not value == 4.0
    assert student.call("g") == [[1.0] * 3] * 2


@pytest.mark.parametrize("text", ['{"ok": ' + "[" * 50 + "]" * 50 + "}", '{"ok": {"x": 1}}', "not json",
                                  '{"ok": {"$tensor": [1, 2], "dtype": "float64", "shape": [3]}}',
                                  '{"ok": {"$tensor": [1], "dtype": "float128", "shape": [1]}}', "x" * 100])
def test_malformed_replies_are_refused(text):
    from flowkit.course.checks.student import parse_reply

    with pytest.raises(ChannelError):
        parse_reply(text, WireLimits(max_bytes=90, max_depth=12))


def test_tensors_round_trip_exactly():
    values = np.array([[1.5, -2.0], [np.inf, np.nan]])
    got = loads('{"$tensor": [[1.5, -2.0], [Infinity, NaN]], "dtype": "float32", "shape": [2, 2]}')
    assert isinstance(got, Tensor) and got.dtype == "float32"
    assert np.array_equal(got.values, values, equal_nan=True)
