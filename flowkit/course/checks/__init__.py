"""Checks of the course exercises: immediate feedback in the notebook, and the grader's verdict.

In a notebook, after an exercise cell::

    from flowkit.course.checks import check_exercise
    check_exercise("01_fundamentals/ex2-tests")      # ✓ ... or ✗ what is off, and by how much

``make grade`` runs **the same check functions** in the grader's own process, talking to the
learner's code in a sandboxed kernel through a channel that carries only plain data (see
:mod:`.student`, :mod:`.wire`), and adds hidden checks that live with the grader. How to write
a check: :mod:`.registry`.
"""

from __future__ import annotations

import importlib
import inspect

from .registry import EXERCISES, Exercise, Outcome, exercise, fresh_seed, run_check
from .student import DirectStudent, Student, StudentError
from .verdict import CheckFailed
from .wire import ChannelError, Fn, Lib, Name, Remote, Tensor

__all__ = ["check_exercise", "get_exercise", "exercises", "Student", "DirectStudent", "StudentError",
           "CheckFailed", "ChannelError", "Exercise", "Outcome", "exercise", "run_check",
           "Tensor", "Remote", "Lib", "Name", "Fn"]

MODULES = ("ex01_fundamentals", "ex02_planar", "ex03_coupling", "ex04_realnvp", "ex05_glow", "ex06_evaluation")


def exercises() -> dict[str, Exercise]:
    """Every registered exercise, by id (``"assignment/grade_id"``)."""
    for name in MODULES:
        importlib.import_module(f"{__name__}.{name}")
    return dict(EXERCISES)


def get_exercise(exercise_id: str) -> Exercise:
    if not isinstance(exercise_id, str):
        raise TypeError(f"exercise_id must be a str such as '01_fundamentals/ex1-tests', got {type(exercise_id).__name__}")
    known = exercises()
    if exercise_id not in known:
        raise ValueError(f"no exercise {exercise_id!r}; known: {', '.join(sorted(known))}")
    return known[exercise_id]


def check_exercise(exercise_id: str, namespace: dict | None = None, *, seed: int | None = None) -> Outcome:
    """Check the learner's answer to ``exercise_id`` in ``namespace`` (default: the caller's globals).

    Prints ``✓ title: note`` when it holds; otherwise raises :class:`CheckFailed` whose message
    says what is off (IPython shows just that message, no traceback).
    """
    ex = get_exercise(exercise_id)
    if namespace is None:
        frame = inspect.currentframe()
        namespace = frame.f_back.f_globals if frame is not None and frame.f_back is not None else {}
    outcome = run_check(ex.check, DirectStudent(namespace), fresh_seed() if seed is None else seed)
    if not outcome.passed:
        raise CheckFailed(outcome.message)
    print(f"✓ {ex.title}" + (f": {outcome.message}" if outcome.message else ""))
    return outcome
