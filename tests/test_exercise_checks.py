"""The exercise checks of flowkit.course.checks, in the learner's transport (DirectStudent).

Model answers (the source notebooks' solutions) pass every public check; typical mistakes get
the message that names them; the check never raises anything but its verdict.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import torch

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


# ---------------------------------------------------------------------------------------------
# 07 · the free-energy estimator: its cases' answers, and a message for each kind of wrong value
# ---------------------------------------------------------------------------------------------
def _free_energy(log_w, in_a, in_b):
    return float(torch.logsumexp(log_w[in_a], 0) - torch.logsumexp(log_w[in_b], 0))


@pytest.mark.parametrize("seed", range(20))
def test_free_energy_cases_have_the_library_answer_and_distinct_slips(seed):
    import math

    import flowkit as fk
    from flowkit.course.checks.ex07_at_work import cases

    for case in cases(np.random.default_rng(seed)):
        a, b = torch.tensor(case.in_a), torch.tensor(case.in_b)
        assert a.any() and b.any() and not (a & b).any(), case.name
        want = float(fk.metrics.free_energy_difference(torch.tensor(case.log_w), a, b))
        assert case.expected == pytest.approx(want, rel=1e-12, abs=1e-12), case.name
        for wrong in case.known:   # a typical slip is never mistaken for the answer
            assert abs(wrong - case.expected) > 0.1, (case.name, wrong)
    first = cases(np.random.default_rng(seed))[0]     # equal weights: ΔF is log(n_A / n_B) by construction
    assert first.expected == pytest.approx(math.log(first.in_a.sum() / first.in_b.sum()), abs=1e-12)


def _one_element(log_w, in_a, in_b):
    return torch.logsumexp(log_w[in_a], 0, keepdim=True) - torch.logsumexp(log_w[in_b], 0, keepdim=True)


FREE_ENERGY_ANSWERS = {
    "float": (_free_energy, None),
    "0-dim tensor": (lambda lw, a, b: torch.tensor(_free_energy(lw, a, b)), None),
    "one-element tensor": (_one_element, None),
    "vector": (lambda lw, a, b: torch.zeros(2),
               "return one number (a float or a 0-dim tensor), got a float32 tensor of shape (2,)"),
    "exception": (lambda lw, a, b: lw[10_000], "your function raised IndexError: index 10000 is out of bounds"),
    "not a function": (3.0, "your function raised TypeError"),
    "outside A counted in A": (lambda lw, a, b: _free_energy(lw, ~b, b), "a sample outside region A was counted in A"),
    "a wrong number": (lambda lw, a, b: _free_energy(lw, a, b) + 0.01, "expected ΔF = "),
}


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("name", list(FREE_ENERGY_ANSWERS))
def test_free_energy_check_accepts_any_one_number_and_names_what_is_off(name, seed):
    fn, says = FREE_ENERGY_ANSWERS[name]
    outcome = run_check(exercises()["07_at_work/ex1-tests"].check, DirectStudent({"free_energy_difference": fn}),
                        seed=seed)
    assert outcome.passed == (says is None), outcome
    if says is not None:
        assert outcome.kind == "fail" and outcome.message.startswith("case '") and says in outcome.message, outcome
