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

FAST = ["01_fundamentals", "02_planar", "04_realnvp", "05_glow", "06_evaluation"]


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


@pytest.mark.parametrize("assignment", FAST)
def test_model_answers_pass_every_public_check(assignment):
    ns = namespace(assignment)
    for ex in exercises().values():
        if ex.assignment == assignment:
            outcome = run_check(ex.check, DirectStudent(ns), seed=123)
            assert outcome.passed, (ex.id, outcome)


@pytest.mark.parametrize("exercise_id, edits, message", [
    ("01_fundamentals/ex2-tests", {"ex2-solution": [WRONG_LOGDET]}, "off by a constant +0.6931 = log 2"),
    ("01_fundamentals/ex1-tests", {"ex1-solution": [(" - math.log(abs(a))", "")]}, "You left out the Jacobian term"),
    ("01_fundamentals/ex3-tests", {"ex3-solution": [("* h * h", "")]}, "midpoint rule"),
    ("02_planar/ex1-tests", {"ex1-solution": [("u = self.u_hat()\n", "u = self.u\n")]}, "not self.u"),
    ("02_planar/ex2-tests", {"ex2-solution": [("return log_pz + ld", "return log_pz")]}, "left out the log-det"),
    ("04_realnvp/ex1-tests", {"ex1-solution": [("nll_nats + num_dims * math.log(n_bins)", "nll_nats")]},
     "dequantization term"),
    ("05_glow/ex1-tests", {"ex1-solution": [("hw = z.shape[2] * z.shape[3]", "hw = 1")]}, "H·W = "),
    ("06_evaluation/ex1-tests", {"ex1-solution": [(" + 0.5 * (b == a).double()", "")]}, "Ties (equal scores) count ½"),
])
def test_typical_mistakes_get_a_message_that_names_them(exercise_id, edits, message):
    ns = namespace(exercise_id.split("/")[0], edits)
    outcome = run_check(exercises()[exercise_id].check, DirectStudent(ns), seed=5)
    assert not outcome.passed and message in outcome.message, outcome


def test_unanswered_exercise_fails_with_the_learner_error_not_a_traceback(capsys):
    ns = namespace("01_fundamentals")
    def log_prob_affine_1d(x, a, b):
        raise NotImplementedError()
    ns["log_prob_affine_1d"] = log_prob_affine_1d
    with pytest.raises(CheckFailed) as info:
        check_exercise("01_fundamentals/ex1-tests", ns)
    assert "raised NotImplementedError" in str(info.value)
    assert info.value._render_traceback_()[0].startswith("\x1b[0;31m✗")
    del ns["log_prob_affine_1d"]
    with pytest.raises(CheckFailed, match="is not defined"):
        check_exercise("01_fundamentals/ex1-tests", ns)


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
